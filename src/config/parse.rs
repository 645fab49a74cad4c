//! Low-level value parsing shared by the config file, the command line and
//! CONFIG SET, each function mirroring the Redis helper named in its doc.

/// Splits a line into arguments exactly as Redis's `sdssplitargs` does
/// (see [`crate::util::splitargs::split_args_into`]); `None` for unbalanced
/// quotes, which Redis reports as "Unbalanced quotes".
pub use crate::util::splitargs::split_args;

use crate::util::splitargs::is_c_space;

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
    crate::util::num::parse_canonical_i64(s.as_bytes())
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
