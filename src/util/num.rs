//! Numbers the way Redis reads and writes them.

/// Parses a canonical signed 64-bit decimal integer, with Redis's `string2ll` rules:
/// no sign other than a leading `-`, no leading zeros, no spaces, at most 20 bytes.
pub fn parse_canonical_i64(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (negative, digits) = match s[0] {
        b'-' => (true, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || digits[0] == b'0' {
        return None;
    }
    let value = parse_digits(digits)?;
    if negative {
        if value > i64::MAX as u64 + 1 { None } else { Some((value as i64).wrapping_neg()) }
    } else {
        i64::try_from(value).ok()
    }
}

/// Parses an unsigned decimal integer with the same canonical rules.
pub fn parse_canonical_u64(s: &[u8]) -> Option<u64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    if s[0] == b'0' {
        return None;
    }
    parse_digits(s)
}

/// The value of a run of ASCII decimal digits (leading zeros allowed, the empty run reads
/// as 0); `None` if a byte is not a digit or the value does not fit in 64 bits.
#[inline]
pub fn parse_digits(digits: &[u8]) -> Option<u64> {
    let mut value: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        value = value.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
    }
    Some(value)
}

/// Parses a double as Redis's `string2d`/`strtold` accept it for commands: decimal or
/// exponent notation, `inf`/`+inf`/`-inf` (any case); never NaN, no surrounding spaces.
pub fn parse_f64(s: &[u8]) -> Option<f64> {
    if s.is_empty() || s[0].is_ascii_whitespace() || s[s.len() - 1].is_ascii_whitespace() {
        return None;
    }
    let text = std::str::from_utf8(s).ok()?;
    let lower = text.to_ascii_lowercase();
    let value = match lower.as_str() {
        "inf" | "+inf" | "infinity" | "+infinity" => f64::INFINITY,
        "-inf" | "-infinity" => f64::NEG_INFINITY,
        _ => {
            // Rust accepts "nan", "infinity" and such spellings; Redis accepts only the above.
            if lower.contains("nan") || lower.contains("inf") {
                return None;
            }
            lower.parse::<f64>().ok()?
        }
    };
    if value.is_nan() { None } else { Some(value) }
}

/// The magnitude of a hexadecimal float after its `0x`, as C's `strtod` reads it (`1.8p3`,
/// `.8`, `ff`; infinite when it overflows); `None` if malformed or if a nonzero value
/// underflows to zero.
pub fn hex_float_magnitude(s: &[u8]) -> Option<f64> {
    let (mant, exp) = match s.iter().position(|&c| c == b'p' || c == b'P') {
        Some(p) => (&s[..p], Some(&s[p + 1..])),
        None => (s, None),
    };
    let (mut value, mut scale, mut digits, mut point, mut nonzero) = (0u128, 0i64, 0, false, false);
    for &c in mant {
        if c == b'.' && !point {
            point = true;
            continue;
        }
        let d = char::from(c).to_digit(16)?;
        digits += 1;
        nonzero |= d != 0;
        if value >> 120 == 0 {
            value = value * 16 + u128::from(d);
            if point {
                scale -= 4;
            }
        } else if !point {
            scale += 4;
        }
    }
    if digits == 0 {
        return None;
    }
    if let Some(e) = exp {
        let (eneg, edigits) = match e.first() {
            Some(b'-') => (true, &e[1..]),
            Some(b'+') => (false, &e[1..]),
            _ => (false, e),
        };
        if edigits.is_empty() || !edigits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let n = edigits.iter().fold(0i64, |acc, &c| (acc * 10 + i64::from(c - b'0')).min(100_000));
        scale += if eneg { -n } else { n };
    }
    let mut v = value as f64;
    let mut s = scale.clamp(-5000, 5000);
    while s != 0 {
        let step = s.clamp(-1000, 1000);
        v *= 2f64.powi(step as i32);
        s -= step;
    }
    if v == 0.0 && nonzero {
        return None;
    }
    Some(v)
}

/// Appends the decimal text of `n`.
pub fn push_i64(out: &mut Vec<u8>, n: i64) {
    out.extend_from_slice(int_text(n, &mut IntBuf::default()));
}

/// Room for an integer's decimal text.
pub type IntBuf = [u8; 20];

/// The decimal text of `n`, written into `buf` (no allocation).
pub fn int_text(n: i64, buf: &mut IntBuf) -> &[u8] {
    let mut v = n.unsigned_abs();
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    if n < 0 {
        i -= 1;
        buf[i] = b'-';
    }
    &buf[i..]
}

/// The length of the decimal text of `n`.
pub fn i64_len(n: i64) -> usize {
    let mut v = n.unsigned_abs();
    let mut len = if n < 0 { 2 } else { 1 };
    while v >= 10 {
        v /= 10;
        len += 1;
    }
    len
}

/// Formats a double as Redis 7.0 replies with it (`%.17g`; `inf`, `-inf`, `nan`).
pub fn format_double(d: f64) -> String {
    if d.is_nan() {
        return "nan".to_string();
    }
    if d.is_infinite() {
        return if d > 0.0 { "inf" } else { "-inf" }.to_string();
    }
    format_g(d, 17)
}

/// Formats `d` like C's `printf("%.{precision}g", d)` for finite values.
pub fn format_g(d: f64, precision: usize) -> String {
    if d == 0.0 {
        return if d.is_sign_negative() { "-0" } else { "0" }.to_string();
    }
    let precision = precision.max(1);
    // Scientific form with the requested significant digits tells the exponent after rounding.
    let sci = format!("{:.*e}", precision - 1, d);
    let (mantissa, exponent) = match sci.split_once('e') {
        Some((m, e)) => (m, e.parse::<i32>().unwrap_or(0)),
        None => (sci.as_str(), 0),
    };
    if exponent < -4 || exponent >= precision as i32 {
        let mantissa = trim_fraction_zeros(mantissa);
        let sign = if exponent < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exponent.abs())
    } else {
        let decimals = (precision as i32 - 1 - exponent).max(0) as usize;
        trim_fraction_zeros(&format!("{:.*}", decimals, d)).to_string()
    }
}

/// Formats a long-double result as INCRBYFLOAT and HINCRBYFLOAT do (`%.17Lf`, trailing zeros
/// trimmed): Rust has no long double, so the shortest text that reads back as the same f64 is used,
/// in plain (never exponent) notation.
pub fn format_incr_float(d: f64) -> String {
    let text = format!("{d}");
    if text.contains('e') || text.contains('E') { trim_fraction_zeros(&format!("{d:.17}")).to_string() } else { text }
}

fn trim_fraction_zeros(s: &str) -> &str {
    if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.') } else { s }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_integers() {
        assert_eq!(parse_canonical_i64(b"0"), Some(0));
        assert_eq!(parse_canonical_i64(b"-1"), Some(-1));
        assert_eq!(parse_canonical_i64(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_canonical_i64(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_canonical_i64(b"9223372036854775808"), None);
        for bad in [&b"01"[..], b"-0", b"+1", b" 1", b"1 ", b"", b"-", b"1a"] {
            assert_eq!(parse_canonical_i64(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn digit_runs() {
        assert_eq!(parse_digits(b""), Some(0));
        assert_eq!(parse_digits(b"007"), Some(7));
        assert_eq!(parse_digits(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_digits(b"18446744073709551616"), None);
        assert_eq!(parse_digits(b"1x"), None);
        assert_eq!(parse_digits(b"-1"), None);
    }

    #[test]
    fn integer_text() {
        for n in [0, 7, -7, 10, 12345, i64::MAX, i64::MIN] {
            let mut out = Vec::new();
            push_i64(&mut out, n);
            assert_eq!(out, n.to_string().as_bytes());
            assert_eq!(i64_len(n), n.to_string().len());
        }
    }

    #[test]
    fn doubles_like_printf_g17() {
        assert_eq!(format_double(1.5), "1.5");
        assert_eq!(format_double(1.1), "1.1000000000000001");
        assert_eq!(format_double(3.0), "3");
        assert_eq!(format_double(-0.0), "-0");
        assert_eq!(format_double(1e20), "1e+20");
        assert_eq!(format_double(1.5e-7), "1.4999999999999999e-07");
        assert_eq!(format_double(f64::INFINITY), "inf");
        assert_eq!(format_double(f64::NEG_INFINITY), "-inf");
        assert_eq!(format_double(123456789.0), "123456789");
    }

    #[test]
    fn incr_float_text() {
        assert_eq!(format_incr_float(10.6), "10.6");
        assert_eq!(format_incr_float(3.0), "3");
        assert_eq!(format_incr_float(5.0e3), "5000");
    }

    #[test]
    fn parse_doubles() {
        assert_eq!(parse_f64(b"1.5"), Some(1.5));
        assert_eq!(parse_f64(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_f64(b"+inf"), Some(f64::INFINITY));
        assert_eq!(parse_f64(b"nan"), None);
        assert_eq!(parse_f64(b" 1"), None);
        assert_eq!(parse_f64(b""), None);
        assert_eq!(parse_f64(b"1e3"), Some(1000.0));
    }
}
