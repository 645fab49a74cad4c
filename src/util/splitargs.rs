//! Redis's `sdssplitargs`: a line split into arguments, with double and single quotes.
//!
//! Used by the configuration reader (config file lines, `--name value` command-line options,
//! multi-argument directive values) and by the request parser (inline requests).

use std::ops::Range;

/// C's `isspace` in the C locale: space, `\t`, `\n`, `\v`, `\f`, `\r`.
pub fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// What ends an unquoted word in `sdssplitargs` (narrower than `isspace`: a vertical tab or
/// form feed inside a word belongs to it, while leading ones are skipped as blanks).
fn ends_word(b: u8) -> bool {
    matches!(b, b' ' | b'\n' | b'\r' | b'\t')
}

/// Whether a closing quote may be followed by `next` (0 standing for the end of the line):
/// only a blank or the end may follow it.
fn may_follow_quote(next: u8) -> bool {
    next == 0 || is_c_space(next)
}

/// The value of an ASCII hexadecimal digit (0 for anything else).
fn hex_value(b: u8) -> u8 {
    match b {
        b'0'..=b'9' => b - b'0',
        b'a'..=b'f' => b - b'a' + 10,
        b'A'..=b'F' => b - b'A' + 10,
        _ => 0,
    }
}

/// `sdssplitargs` for a line without quotes and without NUL bytes: every word is a run of
/// the line itself, so `spans` (cleared first) index `line`. Allocates nothing beyond the
/// spans.
pub fn split_plain(line: &[u8], spans: &mut Vec<Range<usize>>) {
    spans.clear();
    let mut p = 0;
    while p < line.len() {
        if is_c_space(line[p]) {
            p += 1;
            continue;
        }
        let start = p;
        while p < line.len() && !ends_word(line[p]) {
            p += 1;
        }
        spans.push(start..p);
        // The terminator (if any) is skipped with the blanks.
    }
}

/// Splits `line` exactly as Redis's `sdssplitargs` does, appending each argument's
/// (unescaped) bytes to `out` and its range within `out` to `spans`. Nothing is cleared
/// first. Returns false for unbalanced quotes (or a closing quote glued to the next
/// argument), which Redis reports as "Unbalanced quotes"; `spans` and `out` then hold the
/// arguments read so far.
///
/// Arguments are separated by blanks; `"double quoted"` arguments understand the escapes
/// `\n \r \t \b \a \xHH` (any other escaped byte stands for itself, so `\\` and `\"` work),
/// `'single quoted'` ones only `\'`. A closing quote must be followed by a blank or the end
/// of the line. Blanks before an argument are C's `isspace`; an unquoted argument ends at a
/// space, `\t`, `\n` or `\r` only. As in C, a NUL byte ends the line.
pub fn split_args_into(line: &[u8], spans: &mut Vec<Range<usize>>, out: &mut Vec<u8>) -> bool {
    // `at(i)` plays the role of `*(p+i)` on a NUL-terminated C string.
    let at = |i: usize| line.get(i).copied().unwrap_or(0);
    let mut p = 0;
    loop {
        while at(p) != 0 && is_c_space(at(p)) {
            p += 1;
        }
        if at(p) == 0 {
            return true;
        }
        let start = out.len();
        // The quote the argument is in at `p`, if any.
        let mut quote: Option<u8> = None;
        loop {
            let c = at(p);
            let mut done = false;
            match quote {
                Some(b'"')
                    if c == b'\\'
                        && at(p + 1) == b'x'
                        && at(p + 2).is_ascii_hexdigit()
                        && at(p + 3).is_ascii_hexdigit() =>
                {
                    out.push(hex_value(at(p + 2)) * 16 + hex_value(at(p + 3)));
                    p += 3;
                }
                Some(b'"') if c == b'\\' && at(p + 1) != 0 => {
                    p += 1;
                    out.push(match at(p) {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 0x08,
                        b'a' => 0x07,
                        other => other,
                    });
                }
                Some(b'\'') if c == b'\\' && at(p + 1) == b'\'' => {
                    p += 1;
                    out.push(b'\'');
                }
                Some(q) if c == q => {
                    if !may_follow_quote(at(p + 1)) {
                        return false;
                    }
                    done = true;
                }
                Some(_) if c == 0 => return false, // unterminated quotes
                Some(_) => out.push(c),
                None => match c {
                    0 => done = true,
                    b'"' | b'\'' => quote = Some(c),
                    c if ends_word(c) => done = true,
                    c => out.push(c),
                },
            }
            if at(p) != 0 {
                p += 1;
            }
            if done {
                break;
            }
        }
        spans.push(start..out.len());
    }
}

/// [`split_args_into`] returning one vector per argument, or `None` for unbalanced quotes.
pub fn split_args(line: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut spans = Vec::new();
    let mut out = Vec::new();
    if !split_args_into(line, &mut spans, &mut out) {
        return None;
    }
    Some(spans.into_iter().map(|r| out[r].to_vec()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &[u8]) -> Option<Vec<Vec<u8>>> {
        split_args(line)
    }

    #[test]
    fn a_nul_ends_the_line() {
        assert_eq!(words(b"a b\0c d"), Some(vec![b"a".to_vec(), b"b".to_vec()]));
        assert_eq!(words(b"a\0"), Some(vec![b"a".to_vec()]));
        assert_eq!(words(b"\0a"), Some(vec![]));
        // Inside quotes, the NUL is the end of the line: the quotes are unbalanced.
        assert_eq!(words(b"\"ab\0\" c"), None);
        assert_eq!(words(b"'ab\0' c"), None);
        // A closing quote followed by a NUL is at the end of the line.
        assert_eq!(words(b"\"ab\"\0c"), Some(vec![b"ab".to_vec()]));
        // A backslash before the NUL escapes nothing.
        assert_eq!(words(b"\"a\\\0\""), None);
        assert_eq!(words(b"\"\\x4\0\""), None);
    }

    #[test]
    fn appends_to_what_is_there() {
        let mut spans = vec![0..1, 1..2];
        let mut out = b"xy".to_vec();
        assert!(split_args_into(b"a 'b c'", &mut spans, &mut out));
        assert_eq!(spans, vec![0..1, 1..2, 2..3, 3..6]);
        assert_eq!(out, b"xyab c");
    }

    #[test]
    fn plain_agrees_with_the_general_split() {
        for line in [&b""[..], b"   ", b"a", b" a  b\tc\r\nd ", b"\x0ba\x0bb\x0c c", b"\xff\xfe x", b"\r\r a\rb"] {
            // Whatever the spans held is replaced.
            let mut spans = vec![7..9, 1..2];
            split_plain(line, &mut spans);
            let plain: Vec<Vec<u8>> = spans.into_iter().map(|r| line[r].to_vec()).collect();
            assert_eq!(Some(plain), split_args(line), "{line:?}");
        }
    }
}
