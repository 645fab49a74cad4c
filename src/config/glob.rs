//! Redis-compatible glob matching (`stringmatchlen` from Redis's `util.c`).
//!
//! Used by CONFIG GET here, and meant to be reused by KEYS, SCAN MATCH,
//! PSUBSCRIBE and friends, so it reproduces Redis's behaviour byte for byte,
//! including its quirks:
//!
//! * `*` matches any sequence, `?` any single byte, `[abc]`, `[^abc]`,
//!   `[a-z]` (a reversed range such as `[z-a]` is accepted) and `\x` matches
//!   `x` literally, also inside brackets.
//! * An unterminated class such as `[ab` behaves as if it was closed at the
//!   end of the pattern. In `[a-]` the `-` makes a range from `a` to `]`.
//! * An empty text is only matched by the empty pattern: `*` does NOT match
//!   an empty key. Redis's KEYS and SCAN special-case the pattern `*` (they
//!   skip matching entirely), and callers that want the same must do so too.
//! * Range bounds are compared as C `char`s (signed on x86-64), exactly as
//!   the real server does on that platform.
//!
//! Complexity is protected the way Redis does it: a failed `*` expansion
//! stops all the enclosing `*` from trying longer matches (so `a*a*a*...b`
//! against a long string is polynomial, not exponential), and more than 1000
//! nested `*` never match.

/// Nesting depth at which matching gives up (same limit as Redis).
const MAX_NESTING: u32 = 1000;

/// Returns true when `text` matches the glob `pattern`, like Redis's
/// `stringmatchlen(pattern, text, nocase)`.
///
/// With `nocase`, ASCII letters are compared case-insensitively (bytes
/// outside ASCII are compared exactly, and so is a `\`-escaped byte inside
/// a `[...]` class, as in Redis).
pub fn glob_match(pattern: &[u8], text: &[u8], nocase: bool) -> bool {
    let mut skip_longer_matches = false;
    match_impl(pattern, text, nocase, &mut skip_longer_matches, 0)
}

/// Lower-cases an ASCII letter given as a C `int` (as `tolower` in the C
/// locale does); other values are returned unchanged.
fn lower(c: i32) -> i32 {
    if (i32::from(b'A')..=i32::from(b'Z')).contains(&c) { c + 32 } else { c }
}

/// A byte seen as a signed C `char` promoted to `int`.
fn as_c_char(b: u8) -> i32 {
    i32::from(b as i8)
}

/// Compares two bytes, case-insensitively for ASCII letters when `nocase`.
fn same_byte(a: u8, b: u8, nocase: bool) -> bool {
    if nocase { a.eq_ignore_ascii_case(&b) } else { a == b }
}

/// The recursive matcher; a direct transcription of Redis's
/// `stringmatchlen_impl`, with slices instead of pointer + length.
fn match_impl(mut pattern: &[u8], mut text: &[u8], nocase: bool, skip_longer_matches: &mut bool, nesting: u32) -> bool {
    // Protection against abusive patterns.
    if nesting > MAX_NESTING {
        return false;
    }

    while let (Some(&p0), Some(&t0)) = (pattern.first(), text.first()) {
        match p0 {
            b'*' => {
                while pattern.len() >= 2 && pattern[1] == b'*' {
                    pattern = &pattern[1..];
                }
                if pattern.len() == 1 {
                    return true;
                }
                while !text.is_empty() {
                    if match_impl(&pattern[1..], text, nocase, skip_longer_matches, nesting + 1) {
                        return true;
                    }
                    if *skip_longer_matches {
                        return false;
                    }
                    text = &text[1..];
                }
                // The rest of the pattern matches nowhere in the rest of the
                // text: the enclosing `*` need not try longer expansions.
                *skip_longer_matches = true;
                return false;
            }
            b'?' => {
                text = &text[1..];
            }
            b'[' => {
                pattern = &pattern[1..];
                let negate = pattern.first() == Some(&b'^');
                if negate {
                    pattern = &pattern[1..];
                }
                let mut matched = false;
                // An unterminated class ends with the pattern.
                while let Some(&c) = pattern.first() {
                    if c == b'\\' && pattern.len() >= 2 {
                        pattern = &pattern[1..];
                        if pattern[0] == t0 {
                            matched = true;
                        }
                    } else if c == b']' {
                        break;
                    } else if pattern.len() >= 3 && pattern[1] == b'-' {
                        let mut start = as_c_char(pattern[0]);
                        let mut end = as_c_char(pattern[2]);
                        let mut ch = as_c_char(t0);
                        if start > end {
                            std::mem::swap(&mut start, &mut end);
                        }
                        if nocase {
                            start = lower(start);
                            end = lower(end);
                            ch = lower(ch);
                        }
                        pattern = &pattern[2..];
                        if ch >= start && ch <= end {
                            matched = true;
                        }
                    } else if same_byte(c, t0, nocase) {
                        matched = true;
                    }
                    pattern = &pattern[1..];
                }
                if negate {
                    matched = !matched;
                }
                if !matched {
                    return false;
                }
                text = &text[1..];
            }
            _ => {
                if p0 == b'\\' && pattern.len() >= 2 {
                    pattern = &pattern[1..];
                }
                if !same_byte(pattern[0], t0, nocase) {
                    return false;
                }
                text = &text[1..];
            }
        }
        // Consume the pattern byte the branch above ended on (the class
        // branch may already have reached the end of the pattern).
        if !pattern.is_empty() {
            pattern = &pattern[1..];
        }
        if text.is_empty() {
            while pattern.first() == Some(&b'*') {
                pattern = &pattern[1..];
            }
            break;
        }
    }
    pattern.is_empty() && text.is_empty()
}
