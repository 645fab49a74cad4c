//! Bitmap commands: SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD, BITFIELD_RO.
//!
//! A bitmap is a string read as bits, bit 0 being the most significant bit of the first
//! byte. Bits past the end of a string read as zero; writes grow the string with zero
//! bytes, never past what `proto-max-bulk-len` allows for a bit offset (Redis's
//! `bit offset is not an integer or out of range`). Argument checks come in Redis 7.0's
//! order, so the first error a request earns is the one Redis would give.

use super::arg::{c_str, int_arg};
use crate::command::error::{NOT_INTEGER, SYNTAX, WRONG_TYPE};
use crate::command::{CmdError, CmdResult, CommandImpl, Handler, MultiShard};
use crate::protocol::{Args, Reply};
use crate::shard::KeyCtx;
use crate::shard::notify::{GENERIC, STRING};
use crate::types::{StrValue, Value};
use crate::util::num;

/// The bitmap family's commands.
pub const COMMANDS: &[CommandImpl] = &[
    CommandImpl { name: "setbit", handler: Handler::Keyed { run: setbit, multi: MultiShard::Gather } },
    CommandImpl { name: "getbit", handler: Handler::Keyed { run: getbit, multi: MultiShard::Gather } },
    CommandImpl { name: "bitcount", handler: Handler::Keyed { run: bitcount, multi: MultiShard::Gather } },
    CommandImpl { name: "bitpos", handler: Handler::Keyed { run: bitpos, multi: MultiShard::Gather } },
    CommandImpl { name: "bitop", handler: Handler::Keyed { run: bitop, multi: MultiShard::Gather } },
    CommandImpl { name: "bitfield", handler: Handler::Keyed { run: bitfield, multi: MultiShard::Gather } },
    CommandImpl { name: "bitfield_ro", handler: Handler::Keyed { run: bitfield_ro, multi: MultiShard::Gather } },
];

/// `ERR bit offset is not an integer or out of range`.
const BIT_OFFSET: CmdError = CmdError::from_static("ERR bit offset is not an integer or out of range");
/// `ERR bit is not an integer or out of range` (SETBIT's value).
const BIT_VALUE: CmdError = CmdError::from_static("ERR bit is not an integer or out of range");
/// `ERR The bit argument must be 1 or 0.` (BITPOS).
const BIT_ARGUMENT: CmdError = CmdError::from_static("ERR The bit argument must be 1 or 0.");
/// BITOP NOT with other than one source.
const BITOP_NOT_ONE_SOURCE: CmdError = CmdError::from_static("ERR BITOP NOT must be called with a single source key.");
/// A BITFIELD type other than i1..i64, u1..u63.
const BITFIELD_TYPE: CmdError = CmdError::from_static(
    "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.",
);
/// An OVERFLOW other than WRAP, SAT, FAIL.
const BITFIELD_OVERFLOW: CmdError = CmdError::from_static("ERR Invalid OVERFLOW type specified");
/// BITFIELD_RO with SET or INCRBY.
const BITFIELD_RO_GET_ONLY: CmdError = CmdError::from_static("ERR BITFIELD_RO only supports the GET subcommand");

/// SETBIT key offset value: sets or clears one bit, growing the string as needed; the bit's old value.
fn setbit(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    let key = args.get(1);
    let offset = bit_offset(ctx, args.get(2), None)?;
    let on = match num::parse_canonical_i64(args.get(3)) {
        Some(v @ (0 | 1)) => v == 1,
        _ => return Err(BIT_VALUE),
    };
    let byte = (offset >> 3) as usize;
    let mask = 0x80u8 >> (offset & 7);
    let limit = ctx.cfg.proto_max_bulk_len();
    let existing = match ctx.write(key) {
        Some(mut entry) => {
            let bytes = string_mut(&mut entry.value)?.make_raw();
            let grown = grow_zeroed(bytes, byte + 1, limit);
            let old = bytes[byte] & mask != 0;
            let changed = grown || old != on;
            if on {
                bytes[byte] |= mask;
            } else {
                bytes[byte] &= !mask;
            }
            Some((old, changed))
        }
        None => None,
    };
    if let Some((old, changed)) = existing {
        if changed {
            ctx.notify(STRING, "setbit", key);
            ctx.dirty(1);
        }
        return Ok(Reply::Int(i64::from(old)));
    }
    let mut bytes = vec![0u8; byte + 1];
    if on {
        bytes[byte] |= mask;
    }
    ctx.set(key, Value::Str(StrValue::Raw(bytes)));
    ctx.notify(STRING, "setbit", key);
    ctx.dirty(1);
    Ok(Reply::Int(0))
}

/// GETBIT key offset: the bit at offset (0 past the end or for a missing key).
fn getbit(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    let offset = bit_offset(ctx, args.get(2), None)?;
    let Some(s) = ctx.read_str(args.get(1))? else {
        return Ok(Reply::Int(0));
    };
    let bit = s.with_bytes(|b| get_bit(b, offset));
    Ok(Reply::Int(i64::from(bit)))
}

/// BITCOUNT key [start end [BYTE|BIT]]: the number of set bits, in the whole string or a range.
fn bitcount(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    // Redis 7.0 looks the key up before reading the range.
    let Some(s) = ctx.read_str(args.get(1))? else {
        return Ok(Reply::Int(0));
    };
    s.with_bytes(|b| {
        let len = b.len() as i64;
        let (first, last) = match args.len() {
            2 => {
                if b.is_empty() {
                    return Ok(Reply::Int(0));
                }
                (0, len as u64 * 8 - 1)
            }
            4 | 5 => {
                let start = int_arg(args.get(2))?;
                let end = int_arg(args.get(3))?;
                if start < 0 && end < 0 && start > end {
                    return Ok(Reply::Int(0));
                }
                let bit_unit = args.len() == 5 && parse_unit(args.get(4))?;
                match bit_range(start, end, len, bit_unit) {
                    Some(range) => range,
                    None => return Ok(Reply::Int(0)),
                }
            }
            _ => return Err(SYNTAX),
        };
        Ok(Reply::Int(count_bits(b, first, last) as i64))
    })
}

/// BITPOS key bit [start [end [BYTE|BIT]]]: the position of the first bit set to 0 or 1.
///
/// A missing key is all zeros (0 for a clear bit, -1 for a set one). Looking for a clear
/// bit without an end treats the string as padded with zeros on the right; with an end,
/// -1 means the range holds none.
fn bitpos(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    let bit = match num::parse_canonical_i64(args.get(2)) {
        Some(b @ (0 | 1)) => b == 1,
        Some(_) => return Err(BIT_ARGUMENT),
        None => return Err(NOT_INTEGER),
    };
    // Redis 7.0 answers for a missing key before reading the range.
    let Some(s) = ctx.read_str(args.get(1))? else {
        return Ok(Reply::Int(if bit { -1 } else { 0 }));
    };
    s.with_bytes(|b| {
        let len = b.len() as i64;
        let mut end_given = false;
        let range = match args.len() {
            3 => {
                if b.is_empty() {
                    None
                } else {
                    Some((0, len as u64 * 8 - 1))
                }
            }
            4..=6 => {
                let start = int_arg(args.get(3))?;
                let bit_unit = args.len() == 6 && parse_unit(args.get(5))?;
                let end = if args.len() >= 5 {
                    end_given = true;
                    int_arg(args.get(4))?
                } else {
                    len - 1
                };
                bit_range(start, end, len, bit_unit)
            }
            _ => return Err(SYNTAX),
        };
        let Some((first, last)) = range else {
            return Ok(Reply::Int(-1));
        };
        let pos = match find_bit(b, first, last, bit) {
            Some(pos) => pos as i64,
            None if bit || end_given => -1,
            // Past the end of the range: the zero padding on the right.
            None => last as i64 + 1,
        };
        Ok(Reply::Int(pos))
    })
}

/// The bitwise operations of BITOP.
#[derive(Clone, Copy, PartialEq)]
enum BitOp {
    And,
    Or,
    Xor,
    Not,
}

/// BITOP AND|OR|XOR|NOT destkey key [key ...]: stores the bitwise operation over the
/// sources (missing ones read as empty, shorter ones padded with zeros) in destkey and
/// returns its length; an empty result deletes destkey.
fn bitop(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    let name = c_str(args.get(1));
    let op = if name.eq_ignore_ascii_case(b"and") {
        BitOp::And
    } else if name.eq_ignore_ascii_case(b"or") {
        BitOp::Or
    } else if name.eq_ignore_ascii_case(b"xor") {
        BitOp::Xor
    } else if name.eq_ignore_ascii_case(b"not") {
        BitOp::Not
    } else {
        return Err(SYNTAX);
    };
    if op == BitOp::Not && args.len() != 4 {
        return Err(BITOP_NOT_ONE_SOURCE);
    }
    let mut result: Vec<u8> = Vec::new();
    for (i, key) in args.iter_from(3).enumerate() {
        let source = ctx.read_str(key)?;
        let mut folded = |src: &[u8]| {
            if i == 0 {
                result.extend_from_slice(src);
                if op == BitOp::Not {
                    for byte in result.iter_mut() {
                        *byte = !*byte;
                    }
                }
            } else {
                fold_source(&mut result, src, op);
            }
        };
        match source {
            Some(s) => s.with_bytes(folded),
            None => folded(&[]),
        }
    }
    let dest = args.get(2);
    let len = result.len();
    if len > 0 {
        ctx.set(dest, Value::Str(StrValue::Raw(result)));
        ctx.notify(STRING, "set", dest);
        ctx.dirty(1);
    } else {
        let now = ctx.now_ms();
        if ctx.db().take(dest, now).is_some() {
            ctx.notify(GENERIC, "del", dest);
            ctx.dirty(1);
        }
    }
    Ok(Reply::Int(len as i64))
}

/// Folds one more source (not the first) into a BITOP result.
fn fold_source(result: &mut Vec<u8>, src: &[u8], op: BitOp) {
    if src.len() > result.len() {
        // Earlier sources read as zeros past their ends.
        result.resize(src.len(), 0);
    }
    let (head, tail) = result.split_at_mut(src.len());
    match op {
        BitOp::And => {
            head.iter_mut().zip(src).for_each(|(r, s)| *r &= s);
            tail.fill(0);
        }
        BitOp::Or => head.iter_mut().zip(src).for_each(|(r, s)| *r |= s),
        BitOp::Xor => head.iter_mut().zip(src).for_each(|(r, s)| *r ^= s),
        // NOT has a single source.
        BitOp::Not => {}
    }
}

/// BITFIELD key [GET type offset | SET type offset value | INCRBY type offset increment |
/// OVERFLOW WRAP|SAT|FAIL ...]: reads and writes integers of any width at any bit offset;
/// one reply per GET/SET/INCRBY (nil where OVERFLOW FAIL refused a write).
fn bitfield(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    bitfield_generic(ctx, args, false)
}

/// BITFIELD_RO key [GET type offset ...]: BITFIELD limited to GET.
fn bitfield_ro(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    bitfield_generic(ctx, args, true)
}

/// What a BITFIELD operation does.
#[derive(Clone, Copy, PartialEq)]
enum FieldOp {
    Get,
    Set,
    IncrBy,
}

/// BITFIELD's OVERFLOW behaviours.
#[derive(Clone, Copy, PartialEq)]
enum Overflow {
    Wrap,
    Sat,
    Fail,
}

/// One parsed BITFIELD operation.
struct Field {
    op: FieldOp,
    signed: bool,
    bits: u32,
    offset: u64,
    /// SET's value or INCRBY's increment.
    value: i64,
    overflow: Overflow,
}

fn bitfield_generic(ctx: &mut KeyCtx<'_>, args: Args<'_>, read_only_command: bool) -> CmdResult {
    let mut fields = Vec::new();
    let mut overflow = Overflow::Wrap;
    let mut highest_write: Option<u64> = None;
    let mut j = 2;
    while j < args.len() {
        let remaining = args.len() - j - 1;
        let sub = c_str(args.get(j));
        let op = if sub.eq_ignore_ascii_case(b"get") && remaining >= 2 {
            FieldOp::Get
        } else if sub.eq_ignore_ascii_case(b"set") && remaining >= 3 {
            FieldOp::Set
        } else if sub.eq_ignore_ascii_case(b"incrby") && remaining >= 3 {
            FieldOp::IncrBy
        } else if sub.eq_ignore_ascii_case(b"overflow") && remaining >= 1 {
            let kind = c_str(args.get(j + 1));
            overflow = if kind.eq_ignore_ascii_case(b"wrap") {
                Overflow::Wrap
            } else if kind.eq_ignore_ascii_case(b"sat") {
                Overflow::Sat
            } else if kind.eq_ignore_ascii_case(b"fail") {
                Overflow::Fail
            } else {
                return Err(BITFIELD_OVERFLOW);
            };
            j += 2;
            continue;
        } else {
            return Err(SYNTAX);
        };
        let (signed, bits) = field_type(args.get(j + 1))?;
        let offset = bit_offset(ctx, args.get(j + 2), Some(bits))?;
        let mut value = 0;
        if op != FieldOp::Get {
            let last = offset + u64::from(bits) - 1;
            highest_write = Some(highest_write.map_or(last, |h| h.max(last)));
            value = int_arg(args.get(j + 3))?;
        }
        fields.push(Field { op, signed, bits, offset, value, overflow });
        j += if op == FieldOp::Get { 3 } else { 4 };
    }

    let key = args.get(1);
    let Some(highest) = highest_write else {
        // Only reads: the key is not created, and an integer value is read as its text.
        let value = ctx.read_str(key)?;
        let replies = match value {
            Some(s) => s.with_bytes(|b| fields.iter().map(|f| Reply::Int(read_field(b, f))).collect()),
            None => fields.iter().map(|f| Reply::Int(read_field(&[], f))).collect(),
        };
        return Ok(Reply::Array(replies));
    };
    if read_only_command {
        return Err(BITFIELD_RO_GET_ONLY);
    }

    let need = (highest >> 3) as usize + 1;
    let limit = ctx.cfg.proto_max_bulk_len();
    let (replies, changes) = if let Some(mut entry) = ctx.write(key) {
        let bytes = string_mut(&mut entry.value)?.make_raw();
        let grown = grow_zeroed(bytes, need, limit);
        run_fields(bytes, &fields, grown)
    } else {
        // Redis creates the key even when every write is refused by OVERFLOW FAIL.
        let mut bytes = vec![0u8; need];
        let result = run_fields(&mut bytes, &fields, true);
        ctx.set(key, Value::Str(StrValue::Raw(bytes)));
        result
    };
    if changes > 0 {
        ctx.notify(STRING, "setbit", key);
        ctx.dirty(changes);
    }
    Ok(Reply::Array(replies))
}

/// Runs BITFIELD's operations in order on a string long enough for every write; the
/// replies and the number of changes (`grown`: every write counts as one).
fn run_fields(bytes: &mut [u8], fields: &[Field], grown: bool) -> (Vec<Reply>, u64) {
    let mut replies = Vec::with_capacity(fields.len());
    let mut changes = 0;
    for f in fields {
        if f.op == FieldOp::Get {
            replies.push(Reply::Int(read_field(bytes, f)));
            continue;
        }
        let old = get_unsigned(bytes, f.offset, f.bits);
        let outcome = if f.signed {
            let old = sign_extend(old, f.bits);
            let (overflowed, new, reply) = if f.op == FieldOp::IncrBy {
                match signed_overflow(old, f.value, f.bits, f.overflow) {
                    Some(limit) => (true, limit, limit),
                    None => {
                        let new = old.wrapping_add(f.value);
                        (false, new, new)
                    }
                }
            } else {
                match signed_overflow(f.value, 0, f.bits, f.overflow) {
                    Some(limit) => (true, limit, old),
                    None => (false, f.value, old),
                }
            };
            (overflowed, new as u64, old as u64, reply)
        } else {
            let (overflowed, new, reply) = if f.op == FieldOp::IncrBy {
                match unsigned_overflow(old, f.value, f.bits, f.overflow) {
                    Some(limit) => (true, limit, limit),
                    None => {
                        let new = old.wrapping_add(f.value as u64);
                        (false, new, new)
                    }
                }
            } else {
                match unsigned_overflow(f.value as u64, 0, f.bits, f.overflow) {
                    Some(limit) => (true, limit, old),
                    None => (false, f.value as u64, old),
                }
            };
            (overflowed, new, old, reply as i64)
        };
        let (overflowed, new, old, reply) = outcome;
        if overflowed && f.overflow == Overflow::Fail {
            replies.push(Reply::Nil);
            continue;
        }
        replies.push(Reply::Int(reply));
        set_unsigned(bytes, f.offset, f.bits, new);
        if grown || old != new {
            changes += 1;
        }
    }
    (replies, changes)
}

/// A BITFIELD GET: the field read from `bytes`, zeros past the end.
fn read_field(bytes: &[u8], f: &Field) -> i64 {
    let raw = get_unsigned(bytes, f.offset, f.bits);
    if f.signed { sign_extend(raw, f.bits) } else { raw as i64 }
}

/// Redis's `checkUnsignedBitfieldOverflow`: `None` if `value + incr` fits in `bits`
/// unsigned bits, otherwise the value to store instead (WRAP: wrapped, SAT: the limit;
/// FAIL: unused).
fn unsigned_overflow(value: u64, incr: i64, bits: u32, overflow: Overflow) -> Option<u64> {
    let max = if bits == 64 { u64::MAX } else { (1u64 << bits) - 1 };
    let max_incr = max.wrapping_sub(value) as i64;
    let min_incr = value.wrapping_neg() as i64;
    let wrapped = || {
        let mask = if bits == 64 { 0 } else { u64::MAX << bits };
        value.wrapping_add(incr as u64) & !mask
    };
    if value > max || (incr > 0 && incr > max_incr) {
        Some(if overflow == Overflow::Sat { max } else { wrapped() })
    } else if incr < 0 && incr < min_incr {
        Some(if overflow == Overflow::Sat { 0 } else { wrapped() })
    } else {
        None
    }
}

/// Redis's `checkSignedBitfieldOverflow`: `None` if `value + incr` fits in `bits` signed
/// bits, otherwise the value to store instead (WRAP: wrapped, SAT: the limit; FAIL: unused).
fn signed_overflow(value: i64, incr: i64, bits: u32, overflow: Overflow) -> Option<i64> {
    let max = if bits == 64 { i64::MAX } else { (1i64 << (bits - 1)) - 1 };
    let min = -max - 1;
    let max_incr = (max as u64).wrapping_sub(value as u64) as i64;
    let min_incr = min.wrapping_sub(value);
    let wrapped = || {
        let mut c = (value as u64).wrapping_add(incr as u64);
        if bits < 64 {
            let mask = u64::MAX << bits;
            if c & (1u64 << (bits - 1)) != 0 {
                c |= mask;
            } else {
                c &= !mask;
            }
        }
        c as i64
    };
    if value > max || (bits != 64 && incr > max_incr) || (value >= 0 && incr > 0 && incr > max_incr) {
        Some(if overflow == Overflow::Sat { max } else { wrapped() })
    } else if value < min || (bits != 64 && incr < min_incr) || (value < 0 && incr < 0 && incr < min_incr) {
        Some(if overflow == Overflow::Sat { min } else { wrapped() })
    } else {
        None
    }
}

/// The `bits`-wide unsigned integer at bit `offset`, most significant bit first; bits
/// past the end of `bytes` read as zero.
fn get_unsigned(bytes: &[u8], offset: u64, bits: u32) -> u64 {
    let mut value = 0u64;
    for i in 0..u64::from(bits) {
        let bit = get_bit(bytes, offset + i);
        value = (value << 1) | u64::from(bit);
    }
    value
}

/// Writes the low `bits` bits of `value` at bit `offset`; `bytes` must reach that far.
fn set_unsigned(bytes: &mut [u8], offset: u64, bits: u32, value: u64) {
    for i in 0..u64::from(bits) {
        let pos = offset + i;
        let Some(byte) = bytes.get_mut((pos >> 3) as usize) else {
            return;
        };
        let mask = 0x80u8 >> (pos & 7);
        if value >> (u64::from(bits) - 1 - i) & 1 == 1 {
            *byte |= mask;
        } else {
            *byte &= !mask;
        }
    }
}

/// `raw`, a `bits`-wide two's complement integer, as an i64.
fn sign_extend(raw: u64, bits: u32) -> i64 {
    if bits < 64 && raw & (1u64 << (bits - 1)) != 0 { (raw | (u64::MAX << bits)) as i64 } else { raw as i64 }
}

/// The bit at `offset` (false past the end).
fn get_bit(bytes: &[u8], offset: u64) -> bool {
    usize::try_from(offset >> 3)
        .ok()
        .and_then(|i| bytes.get(i))
        .is_some_and(|byte| byte & (0x80u8 >> (offset & 7)) != 0)
}

/// The string in `value` for change, or WRONGTYPE.
fn string_mut(value: &mut Value) -> Result<&mut StrValue, CmdError> {
    #[allow(unreachable_patterns)]
    match value {
        Value::Str(s) => Ok(s),
        _ => Err(WRONG_TYPE),
    }
}

/// Grows `bytes` with zeros to `len` bytes, reserving a little extra the way Redis's
/// `sdsMakeRoomFor` does (never past `limit` unless `len` itself is); whether it grew.
fn grow_zeroed(bytes: &mut Vec<u8>, len: usize, limit: usize) -> bool {
    if bytes.len() >= len {
        return false;
    }
    if len > bytes.capacity() {
        const MB: usize = 1024 * 1024;
        let greedy = if len < MB { len * 2 } else { len.saturating_add(MB) };
        let target = greedy.min(limit).max(len);
        bytes.reserve_exact(target - bytes.len());
    }
    bytes.resize(len, 0);
    true
}

/// A bit offset argument, as Redis's `getBitOffsetFromArgument`: a non-negative integer
/// whose byte lies within `proto-max-bulk-len`; with `hash_bits` (BITFIELD), `#n` means
/// n times the field width.
fn bit_offset(ctx: &KeyCtx<'_>, arg: &[u8], hash_bits: Option<u32>) -> Result<u64, CmdError> {
    let (text, multiplier) = match (arg.first(), hash_bits) {
        (Some(b'#'), Some(bits)) => (&arg[1..], Some(bits)),
        _ => (arg, None),
    };
    let mut offset = num::parse_canonical_i64(text).ok_or(BIT_OFFSET)?;
    if let Some(bits) = multiplier {
        // Redis multiplies without an overflow check; this keeps its (wrapping) result.
        offset = offset.wrapping_mul(i64::from(bits));
    }
    let limit = i64::try_from(ctx.cfg.proto_max_bulk_len()).unwrap_or(i64::MAX);
    if offset < 0 || (offset >> 3) >= limit {
        return Err(BIT_OFFSET);
    }
    Ok(offset as u64)
}

/// A BITFIELD type: `i1`..`i64` or `u1`..`u63`, as (signed, bits).
fn field_type(arg: &[u8]) -> Result<(bool, u32), CmdError> {
    let text = c_str(arg);
    let signed = match text.first() {
        Some(b'i') => true,
        Some(b'u') => false,
        _ => return Err(BITFIELD_TYPE),
    };
    match num::parse_canonical_i64(&text[1..]) {
        Some(bits @ 1..=64) if signed => Ok((true, bits as u32)),
        Some(bits @ 1..=63) if !signed => Ok((false, bits as u32)),
        _ => Err(BITFIELD_TYPE),
    }
}

/// BITCOUNT/BITPOS's unit: true for BIT, false for BYTE.
fn parse_unit(arg: &[u8]) -> Result<bool, CmdError> {
    let unit = c_str(arg);
    if unit.eq_ignore_ascii_case(b"bit") {
        Ok(true)
    } else if unit.eq_ignore_ascii_case(b"byte") {
        Ok(false)
    } else {
        Err(SYNTAX)
    }
}

/// A BITCOUNT/BITPOS range over a `len`-byte string, in bytes or bits, with negative
/// indexes from the end, clamped to the string: the first and last bit positions, or
/// `None` if empty.
fn bit_range(start: i64, end: i64, len: i64, bit_unit: bool) -> Option<(u64, u64)> {
    let total = if bit_unit { len * 8 } else { len };
    let mut start = if start < 0 { total + start } else { start };
    let mut end = if end < 0 { total + end } else { end };
    start = start.max(0);
    end = end.max(0);
    if end >= total {
        end = total - 1;
    }
    if start > end {
        return None;
    }
    let (start, end) = (start as u64, end as u64);
    Some(if bit_unit { (start, end) } else { (start * 8, end * 8 + 7) })
}

/// Set bits in `bytes` from bit `first` to bit `last`, both included and within `bytes`.
fn count_bits(bytes: &[u8], first: u64, last: u64) -> u64 {
    let (fbyte, lbyte) = ((first >> 3) as usize, (last >> 3) as usize);
    let Some(range) = bytes.get(fbyte..=lbyte) else {
        return 0;
    };
    let mut count = popcount(range);
    // Take out the bits of the edge bytes that lie outside the range.
    count -= u64::from((range[0] & !(0xFFu8 >> (first & 7))).count_ones());
    let after_last = (0xFFu16 >> ((last & 7) + 1)) as u8;
    count -= u64::from((range[range.len() - 1] & after_last).count_ones());
    count
}

/// The number of set bits in `bytes`, a 64-bit word at a time.
fn popcount(bytes: &[u8]) -> u64 {
    let (words, rest) = bytes.as_chunks::<8>();
    let mut counts = [0u64; 4];
    let (quads, single) = words.as_chunks::<4>();
    for quad in quads {
        for (count, word) in counts.iter_mut().zip(quad) {
            *count += u64::from(u64::from_ne_bytes(*word).count_ones());
        }
    }
    let mut total: u64 = counts.iter().sum();
    for word in single {
        total += u64::from(u64::from_ne_bytes(*word).count_ones());
    }
    for byte in rest {
        total += u64::from(byte.count_ones());
    }
    total
}

/// The position of the first bit equal to `bit` from bit `first` to bit `last` (both
/// included, within `bytes`), skipping whole 64-bit words that cannot hold it.
fn find_bit(bytes: &[u8], first: u64, last: u64, bit: bool) -> Option<u64> {
    let (fbyte, lbyte) = ((first >> 3) as usize, (last >> 3) as usize);
    let skip = if bit { 0 } else { u64::MAX };
    let mut i = fbyte;
    while i <= lbyte {
        if i > fbyte
            && i + 8 <= lbyte
            && let Some(word) = bytes.get(i..i + 8).and_then(|w| <&[u8; 8]>::try_from(w).ok())
            && u64::from_ne_bytes(*word) == skip
        {
            i += 8;
            continue;
        }
        let mut mask = 0xFFu8;
        if i == fbyte {
            mask &= 0xFF >> (first & 7);
        }
        if i == lbyte {
            mask &= 0xFF << (7 - (last & 7));
        }
        let byte = *bytes.get(i)?;
        let candidates = if bit { byte } else { !byte } & mask;
        if candidates != 0 {
            return Some(i as u64 * 8 + u64::from(candidates.leading_zeros()));
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn popcount_counts_every_length() {
        let data: Vec<u8> = (0..200u32).map(|i| (i * 37 + 11) as u8).collect();
        for len in 0..data.len() {
            let slow: u64 = data[..len].iter().map(|b| u64::from(b.count_ones())).sum();
            assert_eq!(popcount(&data[..len]), slow);
        }
    }

    #[test]
    fn count_bits_respects_edges() {
        let data = [0xFFu8, 0xFF, 0xFF];
        assert_eq!(count_bits(&data, 0, 23), 24);
        assert_eq!(count_bits(&data, 3, 3), 1);
        assert_eq!(count_bits(&data, 5, 17), 13);
    }

    #[test]
    fn find_bit_matches_a_bit_by_bit_scan() {
        let mut data = vec![0u8; 64];
        data[40] = 0x10;
        let ones = vec![0xFFu8; 64];
        for first in [0u64, 1, 7, 8, 9, 100] {
            for last in [first, first + 3, 320, 323, 511] {
                if last < first {
                    continue;
                }
                let slow1 = (first..=last).find(|&p| get_bit(&data, p));
                assert_eq!(find_bit(&data, first, last, true), slow1, "{first} {last}");
                let slow0 = (first..=last).find(|&p| !get_bit(&ones, p));
                assert_eq!(find_bit(&ones, first, last, false), slow0);
                let slow0 = (first..=last).find(|&p| !get_bit(&data, p));
                assert_eq!(find_bit(&data, first, last, false), slow0);
            }
        }
    }

    #[test]
    fn fields_round_trip() {
        let mut buf = vec![0u8; 10];
        set_unsigned(&mut buf, 7, 5, 23);
        assert_eq!(&buf[..2], &[0b0000_0001, 0b0111_0000]);
        assert_eq!(get_unsigned(&buf, 7, 5), 23);
        set_unsigned(&mut buf, 3, 64, u64::MAX - 5);
        assert_eq!(get_unsigned(&buf, 3, 64), u64::MAX - 5);
        assert_eq!(sign_extend(0b1111, 4), -1);
        assert_eq!(sign_extend(0b0111, 4), 7);
    }

    #[test]
    fn overflow_rules() {
        assert_eq!(unsigned_overflow(250, 10, 8, Overflow::Wrap), Some(4));
        assert_eq!(unsigned_overflow(250, 10, 8, Overflow::Sat), Some(255));
        assert_eq!(unsigned_overflow(5, -10, 8, Overflow::Sat), Some(0));
        assert_eq!(unsigned_overflow(5, -10, 8, Overflow::Wrap), Some(251));
        assert_eq!(unsigned_overflow(5, 10, 8, Overflow::Wrap), None);
        assert_eq!(signed_overflow(127, 1, 8, Overflow::Wrap), Some(-128));
        assert_eq!(signed_overflow(-128, -1, 8, Overflow::Sat), Some(-128));
        assert_eq!(signed_overflow(i64::MAX, 1, 64, Overflow::Wrap), Some(i64::MIN));
        assert_eq!(signed_overflow(i64::MIN, -1, 64, Overflow::Sat), Some(i64::MIN));
        assert_eq!(signed_overflow(-1, 1, 64, Overflow::Sat), None);
        assert_eq!(signed_overflow(200, 0, 8, Overflow::Wrap), Some(-56));
    }
}
