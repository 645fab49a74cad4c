//! Argument parsing shared by the command families, with Redis's rules and error texts.

use crate::command::CmdError;
use crate::command::error::{NOT_INTEGER, SYNTAX};
use crate::protocol::Args;
use crate::util::num::{parse_canonical_i64, parse_digits};

/// An argument as C sees it: up to its first NUL byte (Redis compares options with
/// `strcasecmp` and character tests, which stop there).
pub fn c_str(arg: &[u8]) -> &[u8] {
    match arg.iter().position(|&b| b == 0) {
        Some(end) => &arg[..end],
        None => arg,
    }
}

/// Whether option `arg` is `name` (ASCII case-insensitive, C-string semantics).
pub fn is_opt(arg: &[u8], name: &str) -> bool {
    c_str(arg).eq_ignore_ascii_case(name.as_bytes())
}

/// An integer argument with Redis's `string2ll` rules, or `ERR value is not an integer or out of range`.
pub fn int_arg(arg: &[u8]) -> Result<i64, CmdError> {
    parse_canonical_i64(arg).ok_or(NOT_INTEGER)
}

/// A SCAN cursor as Redis's `parseScanCursorOrReply` reads it (C's `strtoul` in base 10,
/// no leading space, nothing after the digits, no overflow); `None` if invalid.
pub fn parse_scan_cursor(arg: &[u8]) -> Option<u64> {
    if arg.is_empty() {
        return Some(0);
    }
    if matches!(arg[0], b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r') {
        return None;
    }
    let (negative, digits) = match arg[0] {
        b'-' => (true, &arg[1..]),
        b'+' => (false, &arg[1..]),
        _ => (false, arg),
    };
    if digits.is_empty() {
        return None;
    }
    let value = parse_digits(digits)?;
    Some(if negative { value.wrapping_neg() } else { value })
}

/// The MATCH and COUNT options of HSCAN/SSCAN/ZSCAN from argument `start` on: the count
/// (default 10; below 1 is a syntax error, as Redis) and the pattern (`None` for `*`).
pub fn scan_options(args: Args<'_>, start: usize) -> Result<(i64, Option<&[u8]>), CmdError> {
    let mut count: i64 = 10;
    let mut pattern: Option<&[u8]> = None;
    let mut i = start;
    while i < args.len() {
        let has_value = i + 1 < args.len();
        if is_opt(args.get(i), "count") && has_value {
            count = parse_canonical_i64(args.get(i + 1)).ok_or(NOT_INTEGER)?;
            if count < 1 {
                return Err(SYNTAX);
            }
        } else if is_opt(args.get(i), "match") && has_value {
            let p = args.get(i + 1);
            pattern = if p == b"*" { None } else { Some(p) };
        } else {
            return Err(SYNTAX);
        }
        i += 2;
    }
    Ok((count, pattern))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c_strings_and_options() {
        assert_eq!(c_str(b"NX\0junk"), b"NX");
        assert!(is_opt(b"nx\0x", "NX"));
        assert!(!is_opt(b"NXX", "NX"));
        assert_eq!(int_arg(b"-5"), Ok(-5));
        assert_eq!(int_arg(b"05"), Err(NOT_INTEGER));
    }
}
