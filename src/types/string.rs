//! Redis strings: an integer when the text is a canonical 64-bit integer, otherwise bytes.
//!
//! The three representations mirror Redis's encodings (`int`, `embstr`, `raw`) so
//! OBJECT ENCODING answers as Redis would: a value set whole is `int` or `embstr` (up to 44
//! bytes) or `raw`; one changed in place (APPEND, SETRANGE, SETBIT) becomes `raw`.

use super::CompactBytes;
use crate::util::num;

/// Longest string Redis stores as `embstr`.
const EMBSTR_MAX: usize = 44;

/// A string value.
#[derive(Debug, Clone, PartialEq)]
pub enum StrValue {
    /// A canonical decimal integer.
    Int(i64),
    /// Bytes set whole, up to 44 bytes (`embstr`).
    Embedded(CompactBytes),
    /// Bytes set whole above 44 bytes, or changed in place (`raw`).
    Raw(Vec<u8>),
}

impl StrValue {
    /// The value for bytes set whole (SET, MSET, ...), as Redis's `tryObjectEncoding` picks it.
    pub fn from_bytes(data: &[u8]) -> StrValue {
        if data.len() <= 20
            && let Some(n) = num::parse_canonical_i64(data)
        {
            return StrValue::Int(n);
        }
        if data.len() <= EMBSTR_MAX {
            StrValue::Embedded(CompactBytes::new(data))
        } else {
            StrValue::Raw(data.to_vec())
        }
    }

    /// The value as Redis's `createStringObject` makes it, never integer-encoded: `embstr`
    /// up to 44 bytes, otherwise `raw` (INCRBYFLOAT's result).
    pub fn from_bytes_no_int(data: &[u8]) -> StrValue {
        if data.len() <= EMBSTR_MAX {
            StrValue::Embedded(CompactBytes::new(data))
        } else {
            StrValue::Raw(data.to_vec())
        }
    }

    /// The value for an integer result (INCR, DECRBY, ...).
    pub fn from_int(n: i64) -> StrValue {
        StrValue::Int(n)
    }

    /// The bytes of the value (integers rendered in decimal).
    pub fn to_bytes(&self) -> bytes::Bytes {
        match self {
            StrValue::Int(n) => bytes::Bytes::copy_from_slice(num::int_text(*n, &mut num::IntBuf::default())),
            StrValue::Embedded(b) => bytes::Bytes::copy_from_slice(b),
            StrValue::Raw(v) => bytes::Bytes::copy_from_slice(v),
        }
    }

    /// Calls `f` with the bytes of the value, without allocating for byte values.
    pub fn with_bytes<R>(&self, f: impl FnOnce(&[u8]) -> R) -> R {
        match self {
            StrValue::Int(n) => f(num::int_text(*n, &mut num::IntBuf::default())),
            StrValue::Embedded(b) => f(b),
            StrValue::Raw(v) => f(v),
        }
    }

    /// The length in bytes of the value's text.
    pub fn len(&self) -> usize {
        match self {
            StrValue::Int(n) => num::i64_len(*n),
            StrValue::Embedded(b) => b.len(),
            StrValue::Raw(v) => v.len(),
        }
    }

    /// Whether the value is the empty string.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The value as an integer, if its text is one (Redis's `string2ll` rules).
    pub fn as_int(&self) -> Option<i64> {
        match self {
            StrValue::Int(n) => Some(*n),
            StrValue::Embedded(b) => num::parse_canonical_i64(b),
            StrValue::Raw(v) => num::parse_canonical_i64(v),
        }
    }

    /// The bytes for in-place change: converts to `raw` (as Redis does before APPEND/SETRANGE).
    pub fn make_raw(&mut self) -> &mut Vec<u8> {
        if !matches!(self, StrValue::Raw(_)) {
            let bytes = self.with_bytes(|b| b.to_vec());
            *self = StrValue::Raw(bytes);
        }
        match self {
            StrValue::Raw(v) => v,
            // Just converted above.
            _ => unreachable!("string was made raw"),
        }
    }

    /// OBJECT ENCODING's answer.
    pub fn encoding(&self) -> &'static str {
        match self {
            StrValue::Int(_) => "int",
            StrValue::Embedded(_) => "embstr",
            StrValue::Raw(_) => "raw",
        }
    }

    /// Approximate heap bytes used.
    pub fn mem_size(&self) -> usize {
        match self {
            StrValue::Int(_) => 0,
            StrValue::Embedded(b) => b.heap_size(),
            StrValue::Raw(v) => v.capacity(),
        }
    }
}
