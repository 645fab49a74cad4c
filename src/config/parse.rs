//! Low-level value parsing shared by the config file, the command line and
//! CONFIG SET, each function mirroring the Redis helper named in its doc.

/// Splits a line into arguments exactly as Redis's `sdssplitargs` does.
///
/// Arguments are separated by blanks; `"double quoted"` arguments understand
/// the escapes `\n \r \t \b \a \xHH` (any other escaped byte stands for
/// itself, so `\\` and `\"` work), `'single quoted'` ones only `\'`. A
/// closing quote must be followed by a blank or the end of the line.
/// Returns `None` for unbalanced quotes (or a closing quote glued to the
/// next argument), which Redis reports as "Unbalanced quotes".
///
/// As in C, a NUL byte ends the line.
pub fn split_args(line: &[u8]) -> Option<Vec<Vec<u8>>> {
    let end = line.iter().position(|&b| b == 0).unwrap_or(line.len());
    let line = &line[..end];
    // `at(i)` plays the role of `*(p+i)` on a NUL-terminated C string.
    let at = |i: usize| line.get(i).copied().unwrap_or(0);

    let mut args = Vec::new();
    let mut i = 0;
    loop {
        // Skip blanks (C's isspace: space, \t, \n, \v, \f, \r).
        while i < line.len() && is_c_space(line[i]) {
            i += 1;
        }
        if i >= line.len() {
            return Some(args);
        }
        let mut current = Vec::new();
        let mut in_double = false;
        let mut in_single = false;
        let mut done = false;
        while !done {
            let c = at(i);
            if in_double {
                if c == b'\\' && at(i + 1) == b'x' && is_hex(at(i + 2)) && is_hex(at(i + 3)) {
                    current.push(hex_value(at(i + 2)) * 16 + hex_value(at(i + 3)));
                    i += 3;
                } else if c == b'\\' && at(i + 1) != 0 {
                    i += 1;
                    current.push(match at(i) {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 0x08,
                        b'a' => 0x07,
                        other => other,
                    });
                } else if c == b'"' {
                    // The closing quote must be followed by a space or
                    // nothing at all.
                    if at(i + 1) != 0 && !is_c_space(at(i + 1)) {
                        return None;
                    }
                    done = true;
                } else if c == 0 {
                    return None; // unterminated quotes
                } else {
                    current.push(c);
                }
            } else if in_single {
                if c == b'\\' && at(i + 1) == b'\'' {
                    i += 1;
                    current.push(b'\'');
                } else if c == b'\'' {
                    if at(i + 1) != 0 && !is_c_space(at(i + 1)) {
                        return None;
                    }
                    done = true;
                } else if c == 0 {
                    return None; // unterminated quotes
                } else {
                    current.push(c);
                }
            } else {
                match c {
                    b' ' | b'\n' | b'\r' | b'\t' | 0 => done = true,
                    b'"' => in_double = true,
                    b'\'' => in_single = true,
                    other => current.push(other),
                }
            }
            if at(i) != 0 {
                i += 1;
            }
        }
        args.push(current);
    }
}

/// C's `isspace` in the C locale.
fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// True for an ASCII hexadecimal digit.
fn is_hex(b: u8) -> bool {
    b.is_ascii_hexdigit()
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

/// Renders an argument so that [`split_args`] reads it back unchanged:
/// as is when it is a plain word, otherwise double-quoted with escapes like
/// Redis's `sdscatrepr`. Used to show command-line options in errors.
pub fn quote_arg(arg: &str) -> String {
    let plain = !arg.is_empty() && arg.bytes().all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\'' && b != b'\\');
    if plain {
        return arg.to_string();
    }
    let mut out = String::with_capacity(arg.len() + 2);
    out.push('"');
    for ch in arg.chars() {
        match ch {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            c if c.is_ascii_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Parses a strict decimal integer like Redis's `string2ll`: an optional
/// `-`, no `+`, no spaces, no leading zeros (except "0" itself), at most
/// 20 characters, within the `i64` range.
pub fn parse_i64(s: &str) -> Option<i64> {
    let bytes = s.as_bytes();
    if bytes.is_empty() || bytes.len() >= 21 {
        return None;
    }
    if bytes == b"0" {
        return Some(0);
    }
    let (negative, digits) = match bytes.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, bytes),
    };
    match digits.first() {
        Some(b'1'..=b'9') => {}
        _ => return None,
    }
    let mut value: u64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        value = value.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    if negative {
        if value > i64::MAX as u64 + 1 {
            return None;
        }
        Some((value as i64).wrapping_neg())
    } else {
        i64::try_from(value).ok()
    }
}

/// Parses a memory value like Redis's `memtoull`: digits followed by an
/// optional case-insensitive unit `b`, `k` (1000), `kb` (1024), `m`, `mb`,
/// `g`, `gb`. No sign, no spaces, no fractions.
///
/// As in Redis, no digits at all (`""`, `"kb"`) reads as 0 and a number too
/// large for 64 bits reads as `u64::MAX` (so range checks report it). Unlike
/// Redis, multiplying by the unit saturates instead of wrapping around.
pub fn parse_memory(s: &str) -> Option<u64> {
    let digits_end = s.bytes().position(|b| !b.is_ascii_digit()).unwrap_or(s.len());
    let (digits, unit) = s.split_at(digits_end);
    let multiplier: u64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1024,
        "m" => 1000 * 1000,
        "mb" => 1024 * 1024,
        "g" => 1000 * 1000 * 1000,
        "gb" => 1024 * 1024 * 1024,
        _ => return None,
    };
    let mut value: u64 = 0;
    for d in digits.bytes() {
        value = value.saturating_mul(10).saturating_add(u64::from(d - b'0'));
    }
    Some(value.saturating_mul(multiplier))
}

/// Parses `yes`/`no` case-insensitively like Redis's `yesnotoi`.
pub fn parse_bool(s: &str) -> Option<bool> {
    if s.eq_ignore_ascii_case("yes") {
        Some(true)
    } else if s.eq_ignore_ascii_case("no") {
        Some(false)
    } else {
        None
    }
}

/// Reads a whole string as a number the way Redis checks `save` parameters
/// (`strtoll` + "nothing left over"): leading blanks and a sign are allowed,
/// the empty string reads as 0, overflow saturates.
pub fn parse_strtoll(s: &str) -> Option<i64> {
    if s.is_empty() {
        return Some(0);
    }
    let rest = s.trim_start_matches(|c: char| c.is_ascii() && is_c_space(c as u8));
    let (negative, digits) = if let Some(d) = rest.strip_prefix('-') {
        (true, d)
    } else if let Some(d) = rest.strip_prefix('+') {
        (false, d)
    } else {
        (false, rest)
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut value: i64 = 0;
    for d in digits.bytes() {
        let d = i64::from(d - b'0');
        value = if negative {
            value.saturating_mul(10).saturating_sub(d)
        } else {
            value.saturating_mul(10).saturating_add(d)
        };
    }
    Some(value)
}

/// Splits a CONFIG SET value of a multi-argument directive on single
/// spaces, like Redis's `sdssplitlen(value, " ")`: the empty string gives
/// no arguments, and consecutive spaces give empty arguments.
pub fn split_spaces(s: &str) -> Vec<String> {
    if s.is_empty() {
        return Vec::new();
    }
    s.split(' ').map(str::to_string).collect()
}
