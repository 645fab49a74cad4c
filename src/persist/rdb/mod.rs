//! Redis's RDB value encoding (`rdb.c`): lengths, strings, every value type Redis 7.x
//! writes, and DUMP payloads. [`file`](mod@file) reads and writes whole RDB files with it.
//!
//! Writing uses plain encodings every Redis since 2.x loads (and that load fastest here):
//! STRING (integer-encoded when the text is a small canonical integer, LZF-compressed when
//! that saves bytes), LIST, SET or SET_INTSET, ZSET_2 (binary doubles, ascending) and HASH.
//! Reading accepts every encoding Redis 7.0 and 7.2 write: ziplists, listpacks, intsets,
//! quicklists (both versions, plain and packed nodes) and the zipmaps of old files. Streams
//! and module values are refused with a clear error.
//!
//! Values are read from a byte slice that the reader advances (`&mut &[u8]`); running
//! out of input is [`RdbError::Truncated`], which lets a streaming reader fetch more bytes
//! and try again. Nothing here panics on bad input.

pub mod encodings;
pub mod file;

use std::cmp::Ordering;

use crate::types::hash::HashLimits;
use crate::types::set::{Member, SetLimits};
use crate::types::zset::{ZSetLimits, cmp_entry};
use crate::types::{HashValue, ListValue, SetValue, StrValue, Value, ZSetValue};
use crate::util::crc64::crc64;
use crate::util::lzf;
use crate::util::num::parse_canonical_i64;
use encodings::{Elem, IntBuf, Listpack, Ziplist};

/// The RDB version tallkv writes (Redis 7.0's; Redis 7.0 refuses 11).
pub const RDB_VERSION: u16 = 10;
/// The newest RDB version tallkv reads (Redis 7.2's).
pub const RDB_MAX_READ_VERSION: u16 = 11;

/// A string.
pub const TYPE_STRING: u8 = 0;
/// A list as a plain sequence of strings.
pub const TYPE_LIST: u8 = 1;
/// A set as a plain sequence of strings.
pub const TYPE_SET: u8 = 2;
/// A sorted set with scores as text.
pub const TYPE_ZSET: u8 = 3;
/// A hash as a plain sequence of field and value strings.
pub const TYPE_HASH: u8 = 4;
/// A sorted set with binary scores.
pub const TYPE_ZSET_2: u8 = 5;
/// A module value (7.0 release candidates).
pub const TYPE_MODULE_PRE_GA: u8 = 6;
/// A module value.
pub const TYPE_MODULE_2: u8 = 7;
/// A hash as a zipmap (Redis < 2.6).
pub const TYPE_HASH_ZIPMAP: u8 = 9;
/// A list as one ziplist.
pub const TYPE_LIST_ZIPLIST: u8 = 10;
/// A set of integers as an intset.
pub const TYPE_SET_INTSET: u8 = 11;
/// A sorted set as a ziplist.
pub const TYPE_ZSET_ZIPLIST: u8 = 12;
/// A hash as a ziplist.
pub const TYPE_HASH_ZIPLIST: u8 = 13;
/// A list as a quicklist of ziplists.
pub const TYPE_LIST_QUICKLIST: u8 = 14;
/// A stream.
pub const TYPE_STREAM_LISTPACKS: u8 = 15;
/// A hash as a listpack.
pub const TYPE_HASH_LISTPACK: u8 = 16;
/// A sorted set as a listpack.
pub const TYPE_ZSET_LISTPACK: u8 = 17;
/// A list as a quicklist of listpacks and plain nodes.
pub const TYPE_LIST_QUICKLIST_2: u8 = 18;
/// A stream (Redis 7.0).
pub const TYPE_STREAM_LISTPACKS_2: u8 = 19;
/// A set as a listpack (Redis 7.2).
pub const TYPE_SET_LISTPACK: u8 = 20;
/// A stream (Redis 7.2).
pub const TYPE_STREAM_LISTPACKS_3: u8 = 21;

/// Whether `ty` is an RDB value type (Redis's `rdbIsObjectType`).
pub fn is_value_type(ty: u8) -> bool {
    matches!(ty, 0..=7 | 9..=21)
}

/// Why RDB data could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RdbError {
    /// The data ends before the value does.
    Truncated,
    /// A collection with no elements (Redis refuses it in a DUMP payload and skips it in
    /// a file).
    EmptyKey,
    /// A value type tallkv does not store (streams, modules).
    Unsupported(String),
    /// Malformed data.
    Invalid(String),
    /// A DUMP payload whose RDB version is too new or whose checksum is wrong.
    BadPayload,
}

impl std::fmt::Display for RdbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RdbError::Truncated => f.write_str("unexpected end of RDB data"),
            RdbError::EmptyKey => f.write_str("empty collection value"),
            RdbError::Unsupported(what) | RdbError::Invalid(what) => f.write_str(what),
            RdbError::BadPayload => f.write_str("DUMP payload version or checksum are wrong"),
        }
    }
}

impl std::error::Error for RdbError {}

fn invalid(what: impl Into<String>) -> RdbError {
    RdbError::Invalid(what.into())
}

/// The encoding thresholds loaded values are built with (Redis converts loaded values to
/// the encodings its configuration asks for; so does tallkv).
#[derive(Debug, Clone, Copy)]
pub struct LoadLimits {
    /// `hash-max-listpack-*`.
    pub hash: HashLimits,
    /// `set-max-intset-entries`, `set-max-listpack-*`.
    pub set: SetLimits,
    /// `zset-max-listpack-*`.
    pub zset: ZSetLimits,
    /// `list-max-listpack-size`.
    pub list_fill: i32,
}

impl Default for LoadLimits {
    /// Redis's defaults.
    fn default() -> LoadLimits {
        LoadLimits {
            hash: HashLimits { max_entries: 512, max_value: 64 },
            set: SetLimits { intset_entries: 512, listpack_entries: 128, listpack_value: 64 },
            zset: ZSetLimits { max_entries: 128, max_value: 64 },
            list_fill: -2,
        }
    }
}

impl LoadLimits {
    /// The thresholds of `cfg`.
    pub fn from_config(cfg: &crate::config::Config) -> LoadLimits {
        LoadLimits {
            hash: HashLimits { max_entries: cfg.hash_max_listpack_entries(), max_value: cfg.hash_max_listpack_value() },
            set: SetLimits::from_config(cfg),
            zset: ZSetLimits { max_entries: cfg.zset_max_listpack_entries(), max_value: cfg.zset_max_listpack_value() },
            list_fill: cfg.list_max_listpack_size(),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Primitives

/// The next `n` bytes of `input`.
#[inline]
pub(crate) fn take<'a>(input: &mut &'a [u8], n: usize) -> Result<&'a [u8], RdbError> {
    if input.len() < n {
        return Err(RdbError::Truncated);
    }
    let (head, rest) = input.split_at(n);
    *input = rest;
    Ok(head)
}

/// The next byte of `input`.
#[inline]
pub(crate) fn byte(input: &mut &[u8]) -> Result<u8, RdbError> {
    let (&b, rest) = input.split_first().ok_or(RdbError::Truncated)?;
    *input = rest;
    Ok(b)
}

pub(crate) fn array<const N: usize>(input: &mut &[u8]) -> Result<[u8; N], RdbError> {
    let mut a = [0u8; N];
    a.copy_from_slice(take(input, N)?);
    Ok(a)
}

/// Appends the RDB length encoding of `len`.
pub fn write_length(len: u64, out: &mut Vec<u8>) {
    if len < 1 << 6 {
        out.push(len as u8);
    } else if len < 1 << 14 {
        out.extend_from_slice(&[0x40 | (len >> 8) as u8, len as u8]);
    } else if let Ok(len) = u32::try_from(len) {
        out.push(0x80);
        out.extend_from_slice(&len.to_be_bytes());
    } else {
        out.push(0x81);
        out.extend_from_slice(&len.to_be_bytes());
    }
}

/// A length field: a length, or the kind of a specially encoded string (`11xxxxxx`).
enum LenField {
    Len(u64),
    Encoded(u8),
}

fn read_len_field(input: &mut &[u8]) -> Result<LenField, RdbError> {
    let b = byte(input)?;
    Ok(match b >> 6 {
        0 => LenField::Len(u64::from(b & 0x3f)),
        1 => LenField::Len(u64::from(b & 0x3f) << 8 | u64::from(byte(input)?)),
        2 => match b {
            0x80 => LenField::Len(u64::from(u32::from_be_bytes(array(input)?))),
            0x81 => LenField::Len(u64::from_be_bytes(array(input)?)),
            _ => return Err(invalid(format!("unknown length encoding {b:#04x}"))),
        },
        _ => LenField::Encoded(b & 0x3f),
    })
}

/// Reads an RDB length.
pub fn read_length(input: &mut &[u8]) -> Result<u64, RdbError> {
    match read_len_field(input)? {
        LenField::Len(n) => Ok(n),
        LenField::Encoded(_) => Err(invalid("string encoding where a length was expected")),
    }
}

/// A length used as a count or size in memory.
fn read_usize(input: &mut &[u8]) -> Result<usize, RdbError> {
    usize::try_from(read_length(input)?).map_err(|_| invalid("length too large"))
}

/// An RDB string as stored, before decompression.
enum RawStr<'a> {
    Bytes(&'a [u8]),
    Int(i64),
    Lzf { data: &'a [u8], len: usize },
}

fn read_raw_str<'a>(input: &mut &'a [u8]) -> Result<RawStr<'a>, RdbError> {
    match read_len_field(input)? {
        LenField::Len(n) => {
            let n = usize::try_from(n).map_err(|_| RdbError::Truncated)?;
            Ok(RawStr::Bytes(take(input, n)?))
        }
        LenField::Encoded(0) => Ok(RawStr::Int(i64::from(byte(input)? as i8))),
        LenField::Encoded(1) => Ok(RawStr::Int(i64::from(i16::from_le_bytes(array(input)?)))),
        LenField::Encoded(2) => Ok(RawStr::Int(i64::from(i32::from_le_bytes(array(input)?)))),
        LenField::Encoded(3) => {
            let clen = read_usize(input)?;
            let len = read_usize(input)?;
            let data = take(input, clen)?;
            // LZF expands at most 264 bytes per 2-byte reference: a bigger claim is corrupt
            // (and must not make us allocate it).
            if len > clen.saturating_mul(132).saturating_add(64) {
                return Err(invalid("corrupt LZF string length"));
            }
            Ok(RawStr::Lzf { data, len })
        }
        LenField::Encoded(kind) => Err(invalid(format!("unknown string encoding {kind}"))),
    }
}

/// Reads an RDB string into `scratch` when it must be decoded, else borrows it from `input`.
fn read_bytes<'r, 'i: 'r>(input: &mut &'i [u8], scratch: &'r mut Vec<u8>) -> Result<&'r [u8], RdbError> {
    match read_raw_str(input)? {
        RawStr::Bytes(b) => Ok(b),
        RawStr::Int(n) => {
            scratch.clear();
            let mut buf = IntBuf::default();
            scratch.extend_from_slice(encodings::int_text(n, &mut buf));
            Ok(scratch)
        }
        RawStr::Lzf { data, len } => {
            scratch.clear();
            if !lzf::decompress_into(data, len, scratch) {
                return Err(invalid("corrupt LZF string"));
            }
            Ok(scratch)
        }
    }
}

/// Reads an RDB string (plain, integer-encoded or LZF-compressed).
pub fn read_string(input: &mut &[u8]) -> Result<Vec<u8>, RdbError> {
    match read_raw_str(input)? {
        RawStr::Bytes(b) => Ok(b.to_vec()),
        RawStr::Int(n) => {
            let mut buf = IntBuf::default();
            Ok(encodings::int_text(n, &mut buf).to_vec())
        }
        RawStr::Lzf { data, len } => lzf::decompress(data, len).ok_or_else(|| invalid("corrupt LZF string")),
    }
}

/// Appends `n` as an integer-encoded string if it fits 32 bits (`rdbEncodeInteger`).
fn write_int_encoded(n: i64, out: &mut Vec<u8>) -> bool {
    if let Ok(v) = i8::try_from(n) {
        out.extend_from_slice(&[0xc0, v as u8]);
    } else if let Ok(v) = i16::try_from(n) {
        out.push(0xc1);
        out.extend_from_slice(&v.to_le_bytes());
    } else if let Ok(v) = i32::try_from(n) {
        out.push(0xc2);
        out.extend_from_slice(&v.to_le_bytes());
    } else {
        return false;
    }
    true
}

/// Appends the integer `n` as an RDB string: integer-encoded, or its decimal text.
fn write_int_string(n: i64, out: &mut Vec<u8>) {
    if !write_int_encoded(n, out) {
        let mut buf = IntBuf::default();
        let text = encodings::int_text(n, &mut buf);
        write_length(text.len() as u64, out);
        out.extend_from_slice(text);
    }
}

/// Appends `bytes` as an RDB string, as Redis with `rdbcompression yes` does: a short
/// canonical integer is integer-encoded, a string above 20 bytes LZF-compressed when that
/// saves at least 4 bytes, anything else plain.
pub fn write_string(bytes: &[u8], out: &mut Vec<u8>) {
    write_string_opts(bytes, out, true);
}

/// As [`write_string`]; `compress` false never tries LZF (faster, larger).
pub fn write_string_opts(bytes: &[u8], out: &mut Vec<u8>, compress: bool) {
    if bytes.len() <= 11
        && let Some(n) = parse_canonical_i64(bytes)
        && write_int_encoded(n, out)
    {
        return;
    }
    if compress && bytes.len() > 20 && try_write_lzf(bytes, out) {
        return;
    }
    write_length(bytes.len() as u64, out);
    out.extend_from_slice(bytes);
}

/// Appends `bytes` LZF-compressed if the result is at most `len - 4` bytes (`rdbSaveLzfStringObject`).
fn try_write_lzf(bytes: &[u8], out: &mut Vec<u8>) -> bool {
    // The compressed data goes after a header whose size depends on its length: compress
    // after room for the largest header, then move it down.
    let mark = out.len();
    let header_max = 1 + 9 + 9;
    out.resize(mark + header_max, 0);
    let Some(clen) = lzf::compress(bytes, out, bytes.len() - 4) else {
        out.truncate(mark);
        return false;
    };
    let mut header = Vec::with_capacity(header_max);
    header.push(0xc3);
    write_length(clen as u64, &mut header);
    write_length(bytes.len() as u64, &mut header);
    let data_start = mark + header_max;
    out.copy_within(data_start..data_start + clen, mark + header.len());
    out[mark..mark + header.len()].copy_from_slice(&header);
    out.truncate(mark + header.len() + clen);
    true
}

// ---------------------------------------------------------------------------------------
// Values: writing

/// Appends the RDB encoding of `value` (without the type byte) and returns its RDB type,
/// to be stored before the key. Strings are compressed as [`write_string`] does.
pub fn write_value(value: &Value, out: &mut Vec<u8>) -> u8 {
    write_value_opts(value, out, true)
}

/// As [`write_value`]; `compress` false never tries LZF on strings.
pub fn write_value_opts(value: &Value, out: &mut Vec<u8>, compress: bool) -> u8 {
    match value {
        Value::Str(s) => {
            match s {
                StrValue::Int(n) => write_int_string(*n, out),
                StrValue::Embedded(b) => write_string_opts(b, out, compress),
                StrValue::Raw(v) => write_string_opts(v, out, compress),
            }
            TYPE_STRING
        }
        Value::List(list) => {
            write_length(list.len() as u64, out);
            for e in list.iter() {
                write_string_opts(e, out, compress);
            }
            TYPE_LIST
        }
        Value::Set(set) => {
            if set.is_intset() {
                let ints = || {
                    set.iter().map(|m| match m {
                        Member::Int(n) => n,
                        Member::Str(_) => 0,
                    })
                };
                let mut blob = Vec::new();
                encodings::write_intset(ints, set.len(), &mut blob);
                write_length(blob.len() as u64, out);
                out.extend_from_slice(&blob);
                TYPE_SET_INTSET
            } else {
                write_length(set.len() as u64, out);
                for m in set.iter() {
                    match m {
                        Member::Int(n) => write_int_string(n, out),
                        Member::Str(s) => write_string_opts(s, out, compress),
                    }
                }
                TYPE_SET
            }
        }
        Value::ZSet(zset) => {
            write_length(zset.len() as u64, out);
            for (score, member) in zset.iter() {
                write_string_opts(member, out, compress);
                out.extend_from_slice(&score.to_le_bytes());
            }
            TYPE_ZSET_2
        }
        Value::Hash(hash) => {
            write_length(hash.len() as u64, out);
            for (field, value) in hash.iter() {
                write_string_opts(field, out, compress);
                write_string_opts(value, out, compress);
            }
            TYPE_HASH
        }
    }
}

// ---------------------------------------------------------------------------------------
// Values: reading

/// Decodes a value of RDB type `ty` from `input` (advancing it), with Redis's default
/// encoding thresholds.
pub fn read_value(ty: u8, input: &mut &[u8]) -> Result<Value, RdbError> {
    read_value_with(ty, input, &LoadLimits::default())
}

/// As [`read_value`], building values with the thresholds `limits`.
pub fn read_value_with(ty: u8, input: &mut &[u8], limits: &LoadLimits) -> Result<Value, RdbError> {
    let mut scratch = Vec::new();
    match ty {
        TYPE_STRING => read_str_value(input),
        TYPE_LIST => {
            let len = read_length(input)?;
            if len == 0 {
                return Err(RdbError::EmptyKey);
            }
            let mut list = ListValue::new();
            for _ in 0..len {
                list.push_back(read_bytes(input, &mut scratch)?);
            }
            list.grow_check(limits.list_fill, 0, 0);
            Ok(Value::List(Box::new(list)))
        }
        TYPE_SET => {
            let len = read_usize(input)?;
            if len == 0 {
                return Err(RdbError::EmptyKey);
            }
            let mut set: Option<SetValue> = None;
            for _ in 0..len {
                let member = read_bytes(input, &mut scratch)?;
                let s = set.get_or_insert_with(|| SetValue::create(member, len, limits.set));
                if !s.add(member, limits.set) {
                    return Err(invalid("Duplicate set members detected"));
                }
            }
            set.map(|s| Value::Set(Box::new(s))).ok_or(RdbError::EmptyKey)
        }
        TYPE_ZSET | TYPE_ZSET_2 => {
            let len = read_usize(input)?;
            if len == 0 {
                return Err(RdbError::EmptyKey);
            }
            let mut loader = ZSetLoader::with_capacity(len.min(input.len()));
            for _ in 0..len {
                let member = read_bytes(input, &mut scratch)?;
                let score =
                    if ty == TYPE_ZSET_2 { f64::from_le_bytes(array(input)?) } else { read_text_double(input)? };
                loader.push(score, member)?;
            }
            loader.finish(limits.zset)
        }
        TYPE_HASH => {
            let len = read_length(input)?;
            if len == 0 {
                return Err(RdbError::EmptyKey);
            }
            let mut hash = HashValue::new();
            let mut scratch2 = Vec::new();
            for _ in 0..len {
                let field = read_bytes(input, &mut scratch)?;
                let value = read_bytes(input, &mut scratch2)?;
                if !hash.set(field, value, limits.hash) {
                    return Err(invalid("Duplicate hash fields detected"));
                }
            }
            Ok(Value::Hash(Box::new(hash)))
        }
        TYPE_HASH_ZIPMAP => {
            let blob = read_bytes(input, &mut scratch)?;
            let mut hash = HashValue::new();
            for (field, value) in encodings::zipmap(blob)? {
                if !hash.set(field, value, limits.hash) {
                    return Err(invalid("Duplicate hash fields detected"));
                }
            }
            if hash.is_empty() {
                return Err(RdbError::EmptyKey);
            }
            Ok(Value::Hash(Box::new(hash)))
        }
        TYPE_LIST_ZIPLIST => {
            let blob = read_bytes(input, &mut scratch)?;
            let mut list = ListValue::new();
            push_elems(&mut list, Ziplist::new(blob)?)?;
            finish_list(list, limits)
        }
        TYPE_LIST_QUICKLIST | TYPE_LIST_QUICKLIST_2 => {
            let nodes = read_length(input)?;
            let mut list = ListValue::new();
            for _ in 0..nodes {
                let container = if ty == TYPE_LIST_QUICKLIST_2 { read_length(input)? } else { 2 };
                let blob = read_bytes(input, &mut scratch)?;
                match (ty, container) {
                    (TYPE_LIST_QUICKLIST, _) => push_elems(&mut list, Ziplist::new(blob)?)?,
                    (_, 1) => list.push_back(blob),
                    (_, 2) => push_elems(&mut list, Listpack::new(blob)?)?,
                    _ => return Err(invalid(format!("unknown quicklist node container {container}"))),
                }
            }
            finish_list(list, limits)
        }
        TYPE_SET_INTSET => {
            let blob = read_bytes(input, &mut scratch)?;
            let members = encodings::intset(blob)?;
            if members.is_empty() {
                return Err(RdbError::EmptyKey);
            }
            let mut set = if members.len() > limits.set.intset_entries {
                SetValue::new_hashtable(members.len())
            } else {
                SetValue::new_intset()
            };
            for n in members {
                set.add_member(&Member::Int(n), limits.set);
            }
            Ok(Value::Set(Box::new(set)))
        }
        TYPE_SET_LISTPACK => {
            let blob = read_bytes(input, &mut scratch)?;
            let lp = Listpack::new(blob)?;
            let hint = usize::from(lp.header_count());
            let mut set: Option<SetValue> = None;
            let mut buf = IntBuf::default();
            for elem in lp {
                let member = elem?.bytes(&mut buf);
                let s = set.get_or_insert_with(|| SetValue::create(member, hint, limits.set));
                if !s.add(member, limits.set) {
                    return Err(invalid("Duplicate set members detected"));
                }
            }
            set.map(|s| Value::Set(Box::new(s))).ok_or(RdbError::EmptyKey)
        }
        TYPE_ZSET_ZIPLIST | TYPE_ZSET_LISTPACK => {
            let blob = read_bytes(input, &mut scratch)?;
            let elems: Box<dyn Iterator<Item = Result<Elem<'_>, RdbError>>> =
                if ty == TYPE_ZSET_ZIPLIST { Box::new(Ziplist::new(blob)?) } else { Box::new(Listpack::new(blob)?) };
            let mut loader = ZSetLoader::with_capacity(0);
            let mut member: Option<Elem<'_>> = None;
            let mut buf = IntBuf::default();
            for elem in elems {
                let elem = elem?;
                match member.take() {
                    None => member = Some(elem),
                    Some(m) => {
                        let score = match elem {
                            Elem::Int(n) => n as f64,
                            Elem::Str(s) => parse_score_text(s)?,
                        };
                        loader.push(score, m.bytes(&mut buf))?;
                    }
                }
            }
            if member.is_some() {
                return Err(invalid("sorted set listpack with an odd number of elements"));
            }
            loader.finish(limits.zset)
        }
        TYPE_HASH_ZIPLIST | TYPE_HASH_LISTPACK => {
            let blob = read_bytes(input, &mut scratch)?;
            let elems: Box<dyn Iterator<Item = Result<Elem<'_>, RdbError>>> =
                if ty == TYPE_HASH_ZIPLIST { Box::new(Ziplist::new(blob)?) } else { Box::new(Listpack::new(blob)?) };
            let mut hash = HashValue::new();
            let mut field: Option<Elem<'_>> = None;
            let (mut fbuf, mut vbuf) = (IntBuf::default(), IntBuf::default());
            for elem in elems {
                let elem = elem?;
                match field.take() {
                    None => field = Some(elem),
                    Some(f) => {
                        if !hash.set(f.bytes(&mut fbuf), elem.bytes(&mut vbuf), limits.hash) {
                            return Err(invalid("Duplicate hash fields detected"));
                        }
                    }
                }
            }
            if field.is_some() {
                return Err(invalid("hash listpack with an odd number of elements"));
            }
            if hash.is_empty() {
                return Err(RdbError::EmptyKey);
            }
            Ok(Value::Hash(Box::new(hash)))
        }
        TYPE_STREAM_LISTPACKS | TYPE_STREAM_LISTPACKS_2 | TYPE_STREAM_LISTPACKS_3 => {
            Err(RdbError::Unsupported("stream values are not supported yet".to_string()))
        }
        TYPE_MODULE_PRE_GA | TYPE_MODULE_2 => Err(RdbError::Unsupported("module values are not supported".to_string())),
        _ => Err(invalid(format!("unknown RDB value type {ty}"))),
    }
}

/// A STRING value: integers stay integers, long strings keep their decoded buffer.
fn read_str_value(input: &mut &[u8]) -> Result<Value, RdbError> {
    let s = match read_raw_str(input)? {
        RawStr::Int(n) => StrValue::from_int(n),
        RawStr::Bytes(b) => StrValue::from_bytes(b),
        RawStr::Lzf { data, len } => {
            let bytes = lzf::decompress(data, len).ok_or_else(|| invalid("corrupt LZF string"))?;
            if bytes.len() > 44 { StrValue::Raw(bytes) } else { StrValue::from_bytes(&bytes) }
        }
    };
    Ok(Value::Str(s))
}

/// Appends every element of a ziplist or listpack to `list`.
fn push_elems<'a>(
    list: &mut ListValue,
    elems: impl Iterator<Item = Result<Elem<'a>, RdbError>>,
) -> Result<(), RdbError> {
    let mut buf = IntBuf::default();
    for elem in elems {
        list.push_back(elem?.bytes(&mut buf));
    }
    Ok(())
}

fn finish_list(mut list: ListValue, limits: &LoadLimits) -> Result<Value, RdbError> {
    if list.is_empty() {
        return Err(RdbError::EmptyKey);
    }
    list.grow_check(limits.list_fill, 0, 0);
    Ok(Value::List(Box::new(list)))
}

/// A score written as text (RDB_TYPE_ZSET): a length byte (253 nan, 254 +inf, 255 -inf)
/// and that many bytes of `%.17g` text.
fn read_text_double(input: &mut &[u8]) -> Result<f64, RdbError> {
    match byte(input)? {
        253 => Err(invalid("Zset with NAN score detected")),
        254 => Ok(f64::INFINITY),
        255 => Ok(f64::NEG_INFINITY),
        len => parse_score_text(take(input, usize::from(len))?),
    }
}

/// A score stored as text in a ziplist, listpack or RDB_TYPE_ZSET (C's `strtod`).
fn parse_score_text(text: &[u8]) -> Result<f64, RdbError> {
    let parsed = std::str::from_utf8(text).ok().and_then(|t| match t.to_ascii_lowercase().as_str() {
        "inf" | "+inf" | "infinity" | "+infinity" => Some(f64::INFINITY),
        "-inf" | "-infinity" => Some(f64::NEG_INFINITY),
        lower if lower.contains("nan") => None,
        lower => lower.parse::<f64>().ok(),
    });
    match parsed {
        Some(s) if !s.is_nan() => Ok(s),
        _ => Err(invalid("invalid sorted set score")),
    }
}

/// Collects a sorted set's entries, then builds the value in ascending order (appends
/// are the cheap case of [`ZSetValue::insert`]; Redis writes big sets descending).
struct ZSetLoader {
    arena: Vec<u8>,
    entries: Vec<(f64, usize, usize)>,
}

impl ZSetLoader {
    fn with_capacity(n: usize) -> ZSetLoader {
        ZSetLoader { arena: Vec::new(), entries: Vec::with_capacity(n) }
    }

    fn push(&mut self, score: f64, member: &[u8]) -> Result<(), RdbError> {
        if score.is_nan() {
            return Err(invalid("Zset with NAN score detected"));
        }
        let start = self.arena.len();
        self.arena.extend_from_slice(member);
        self.entries.push((score, start, self.arena.len()));
        Ok(())
    }

    fn finish(self, limits: ZSetLimits) -> Result<Value, RdbError> {
        if self.entries.is_empty() {
            return Err(RdbError::EmptyKey);
        }
        let arena = &self.arena;
        let member = |&(_, s, e): &(f64, usize, usize)| &arena[s..e];
        let descending =
            self.entries.windows(2).all(|w| cmp_entry(w[0].0, member(&w[0]), w[1].0, member(&w[1])) != Ordering::Less);
        let mut zset = ZSetValue::new();
        if self.entries.len() > limits.max_entries {
            zset.convert_to_skiplist();
        }
        let mut add = |e: &(f64, usize, usize)| {
            if zset.insert(e.0, member(e), limits).is_some() {
                Err(invalid("Duplicate zset fields detected"))
            } else {
                Ok(())
            }
        };
        if descending {
            self.entries.iter().rev().try_for_each(&mut add)?;
        } else {
            self.entries.iter().try_for_each(&mut add)?;
        }
        Ok(Value::ZSet(Box::new(zset)))
    }
}

// ---------------------------------------------------------------------------------------
// DUMP payloads

/// DUMP's payload for `value`: RDB type, value, RDB version (2 bytes LE), CRC-64 (8 bytes LE).
pub fn dump_payload(value: &Value) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.mem_size().min(1 << 20) + 16);
    out.push(0);
    out[0] = write_value(value, &mut out);
    out.extend_from_slice(&RDB_VERSION.to_le_bytes());
    let crc = crc64(0, &out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// Checks a DUMP payload's footer (Redis's `verifyDumpPayload`): RDB version at most
/// [`RDB_MAX_READ_VERSION`], CRC-64 matching. Returns the body (type and value).
pub fn verify_dump_payload(payload: &[u8]) -> Result<&[u8], RdbError> {
    if payload.len() < 10 {
        return Err(RdbError::BadPayload);
    }
    let footer = payload.len() - 10;
    let version = u16::from_le_bytes([payload[footer], payload[footer + 1]]);
    let mut crc = [0u8; 8];
    crc.copy_from_slice(&payload[footer + 2..]);
    if version > RDB_MAX_READ_VERSION || crc64(0, &payload[..footer + 2]) != u64::from_le_bytes(crc) {
        return Err(RdbError::BadPayload);
    }
    Ok(&payload[..footer])
}

/// The value of a DUMP payload (Redis's default encoding thresholds).
pub fn parse_dump_payload(payload: &[u8]) -> Result<Value, RdbError> {
    parse_dump_payload_with(payload, &LoadLimits::default())
}

/// As [`parse_dump_payload`], building the value with the thresholds `limits`.
pub fn parse_dump_payload_with(payload: &[u8], limits: &LoadLimits) -> Result<Value, RdbError> {
    let mut body = verify_dump_payload(payload)?;
    let ty = byte(&mut body)?;
    if !is_value_type(ty) {
        return Err(invalid(format!("unknown RDB value type {ty}")));
    }
    read_value_with(ty, &mut body, limits)
}

#[cfg(test)]
mod tests;
