//! String commands: GET, SET and its variants, MGET/MSET/MSETNX, counters (INCR...,
//! INCRBYFLOAT), APPEND, STRLEN, GETRANGE/SUBSTR, SETRANGE, GETEX, GETDEL, GETSET, LCS.
//!
//! Every command follows Redis 7's `t_string.c`: the same order of checks (so the same
//! error wins when several apply), the same replies, and the same value encodings
//! (`int`, `embstr`, `raw`) for OBJECT ENCODING.

use bytes::Bytes;

use super::arg::{int_arg, is_opt};
use super::cas::{Cond, cond_holds};
use crate::command::error::{NOT_FLOAT, NOT_INTEGER, OVERFLOW, STRING_TOO_LONG, SYNTAX, WRONG_TYPE};
use crate::command::{CmdError, CmdResult, CommandImpl, Handler, MultiShard};
use crate::protocol::{Args, Reply};
use crate::shard::KeyCtx;
use crate::shard::db::NO_EXPIRE;
use crate::shard::notify::{GENERIC, STRING};
use crate::types::{StrValue, Value};
use crate::util::long_double::LongDouble;

/// A keyed command; the multi-key ones among them gather their keys when they span shards.
const fn keyed(name: &'static str, run: crate::command::KeyedFn) -> CommandImpl {
    CommandImpl { name, handler: Handler::Keyed { run, multi: MultiShard::Gather } }
}

/// The string family's commands.
pub const COMMANDS: &[CommandImpl] = &[
    keyed("get", get),
    keyed("set", set),
    keyed("setnx", setnx),
    keyed("setex", setex),
    keyed("psetex", psetex),
    keyed("getset", getset),
    keyed("getdel", getdel),
    keyed("getex", getex),
    CommandImpl { name: "mget", handler: Handler::Keyed { run: mget, multi: MultiShard::PerKeyArray } },
    CommandImpl { name: "mset", handler: Handler::Keyed { run: mset, multi: MultiShard::AllOk } },
    keyed("msetnx", msetnx),
    keyed("append", append),
    keyed("strlen", strlen),
    keyed("incr", incr),
    keyed("decr", decr),
    keyed("incrby", incrby),
    keyed("decrby", decrby),
    keyed("incrbyfloat", incrbyfloat),
    keyed("getrange", getrange),
    keyed("substr", getrange),
    keyed("setrange", setrange),
    keyed("lcs", lcs),
];

/// The string in `value`, or WRONGTYPE.
fn as_str_mut(value: &mut Value) -> Result<&mut StrValue, CmdError> {
    match value {
        Value::Str(s) => Ok(s),
        #[allow(unreachable_patterns)]
        _ => Err(WRONG_TYPE),
    }
}

/// The string value under `key` as a bulk reply, or nil: Redis's `getGenericCommand`
/// (a read: counts a keyspace hit or miss; WRONGTYPE for other types).
fn get_reply(ctx: &mut KeyCtx<'_>, key: &[u8]) -> CmdResult {
    Ok(match ctx.read_str(key)? {
        Some(s) => Reply::Bulk(s.to_bytes()),
        None => Reply::Nil,
    })
}

/// Whether `key` exists, looked up as Redis's `lookupKeyWrite` does (no hit/miss counted).
fn exists_for_write(ctx: &mut KeyCtx<'_>, key: &[u8]) -> bool {
    ctx.write(key).is_some()
}

// ---------------------------------------------------------------------------------------
// Extended SET / GETEX options.

const OPT_NX: u16 = 1;
const OPT_XX: u16 = 1 << 1;
const OPT_EX: u16 = 1 << 2;
const OPT_PX: u16 = 1 << 3;
const OPT_KEEPTTL: u16 = 1 << 4;
const OPT_GET: u16 = 1 << 5;
const OPT_EXAT: u16 = 1 << 6;
const OPT_PXAT: u16 = 1 << 7;
const OPT_PERSIST: u16 = 1 << 8;

/// Options of SET (`for_set`) or GETEX, parsed as Redis's `parseExtendedStringArgumentsOrReply`.
struct ExtOpts<'a> {
    flags: u16,
    /// The last expiry argument given.
    expire: Option<&'a [u8]>,
    /// SET's IFEQ/IFNE/IFDEQ/IFDNE condition (Redis 8.4), exclusive with NX and XX.
    cond: Option<Cond<'a>>,
}

impl ExtOpts<'_> {
    fn has(&self, flag: u16) -> bool {
        self.flags & flag != 0
    }
}

/// Parses SET's options (from argument 3) or GETEX's (from argument 2); `ERR syntax error` on any misuse.
fn parse_ext_opts(args: Args<'_>, for_set: bool) -> Result<ExtOpts<'_>, CmdError> {
    let mut flags = 0u16;
    let mut expire = None;
    let mut cond = None;
    let mut j = if for_set { 3 } else { 2 };
    let none_of = |flags: u16, mask: u16| flags & mask == 0;
    while j < args.len() {
        let opt = args.get(j);
        let next = args.try_get(j + 1);
        let mut takes_value = None;
        if is_opt(opt, "nx") && none_of(flags, OPT_XX) && cond.is_none() && for_set {
            flags |= OPT_NX;
        } else if is_opt(opt, "xx") && none_of(flags, OPT_NX) && cond.is_none() && for_set {
            flags |= OPT_XX;
        } else if for_set
            && Cond::is_option(opt)
            && none_of(flags, OPT_NX | OPT_XX)
            && cond.is_none()
            && let Some(arg) = next
        {
            cond = Cond::parse(opt, arg)?;
            j += 1;
        } else if is_opt(opt, "get") && for_set {
            flags |= OPT_GET;
        } else if is_opt(opt, "keepttl")
            && none_of(flags, OPT_PERSIST | OPT_EX | OPT_EXAT | OPT_PX | OPT_PXAT)
            && for_set
        {
            flags |= OPT_KEEPTTL;
        } else if is_opt(opt, "persist")
            && !for_set
            && none_of(flags, OPT_EX | OPT_EXAT | OPT_PX | OPT_PXAT | OPT_KEEPTTL)
        {
            flags |= OPT_PERSIST;
        } else if is_opt(opt, "ex")
            && none_of(flags, OPT_KEEPTTL | OPT_PERSIST | OPT_EXAT | OPT_PX | OPT_PXAT)
            && next.is_some()
        {
            takes_value = Some(OPT_EX);
        } else if is_opt(opt, "px")
            && none_of(flags, OPT_KEEPTTL | OPT_PERSIST | OPT_EX | OPT_EXAT | OPT_PXAT)
            && next.is_some()
        {
            takes_value = Some(OPT_PX);
        } else if is_opt(opt, "exat")
            && none_of(flags, OPT_KEEPTTL | OPT_PERSIST | OPT_EX | OPT_PX | OPT_PXAT)
            && next.is_some()
        {
            takes_value = Some(OPT_EXAT);
        } else if is_opt(opt, "pxat")
            && none_of(flags, OPT_KEEPTTL | OPT_PERSIST | OPT_EX | OPT_EXAT | OPT_PX)
            && next.is_some()
        {
            takes_value = Some(OPT_PXAT);
        } else {
            return Err(SYNTAX);
        }
        if let Some(flag) = takes_value {
            flags |= flag;
            expire = next;
            j += 1;
        }
        j += 1;
    }
    Ok(ExtOpts { flags, expire, cond })
}

/// The absolute expiry (Unix ms) an expiry argument asks for, as Redis's
/// `getExpireMillisecondsOrReply`: positive, no overflow in seconds-to-ms or in adding now.
fn expire_at_ms(arg: &[u8], seconds: bool, relative: bool, now_ms: i64, command: &str) -> Result<i64, CmdError> {
    let value = int_arg(arg)?;
    if value <= 0 || (seconds && value > i64::MAX / 1000) {
        return Err(CmdError::invalid_expire(command));
    }
    let ms = if seconds { value * 1000 } else { value };
    let at = if relative { ms.checked_add(now_ms) } else { Some(ms) };
    match at {
        Some(at) if at > 0 => Ok(at),
        _ => Err(CmdError::invalid_expire(command)),
    }
}

/// The absolute expiry of parsed options, if they carry one.
fn opts_expire_at(opts: &ExtOpts<'_>, now_ms: i64, command: &str) -> Result<Option<i64>, CmdError> {
    let Some(arg) = opts.expire else { return Ok(None) };
    let seconds = opts.has(OPT_EX) || opts.has(OPT_EXAT);
    let relative = opts.has(OPT_EX) || opts.has(OPT_PX);
    expire_at_ms(arg, seconds, relative, now_ms, command).map(Some)
}

// ---------------------------------------------------------------------------------------
// GET / SET and variants.

/// GET key: the string value of key, or nil.
fn get(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    get_reply(ctx, args.get(1))
}

/// The write shared by SET, SETNX, SETEX and PSETEX (Redis's `setGenericCommand`):
/// `reply_ok`/`reply_abort` are the replies when the value is set / not set because of
/// NX/XX or SET's IFEQ/IFNE/IFDEQ/IFDNE condition `cond` (WRONGTYPE if it meets another type).
#[allow(clippy::too_many_arguments)]
fn set_generic(
    ctx: &mut KeyCtx<'_>,
    key: &[u8],
    value: &[u8],
    flags: u16,
    cond: Option<&Cond<'_>>,
    expire_at: Option<i64>,
    reply_ok: Reply,
    reply_abort: Reply,
) -> CmdResult {
    let old = if flags & OPT_GET != 0 { Some(get_reply(ctx, key)?) } else { None };
    if flags & (OPT_NX | OPT_XX) != 0 {
        let found = exists_for_write(ctx, key);
        if (flags & OPT_NX != 0 && found) || (flags & OPT_XX != 0 && !found) {
            return Ok(old.unwrap_or(reply_abort));
        }
    }
    if let Some(cond) = cond
        && !cond_holds(ctx, key, cond)?
    {
        return Ok(old.unwrap_or(reply_abort));
    }
    let value = Value::Str(StrValue::from_bytes(value));
    if flags & OPT_KEEPTTL != 0 {
        let access = ctx.access;
        ctx.db().set_keep_ttl(key, value, &access);
    } else {
        ctx.set(key, value);
    }
    ctx.notify(STRING, "set", key);
    if let Some(at) = expire_at {
        let now = ctx.now_ms();
        ctx.db().set_expire(key, at, now);
        ctx.notify(GENERIC, "expire", key);
    }
    ctx.dirty(1);
    Ok(old.unwrap_or(reply_ok))
}

/// SET key value [NX|XX|IFEQ v|IFNE v|IFDEQ d|IFDNE d] [GET] [EX|PX|EXAT|PXAT t|KEEPTTL]: sets key, conditionally, with an expiry.
fn set(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    if args.len() == 3 {
        ctx.set(args.get(1), Value::Str(StrValue::from_bytes(args.get(2))));
        ctx.notify(STRING, "set", args.get(1));
        ctx.dirty(1);
        return Ok(Reply::Ok);
    }
    let opts = parse_ext_opts(args, true)?;
    let expire_at = opts_expire_at(&opts, ctx.now_ms(), "set")?;
    set_generic(ctx, args.get(1), args.get(2), opts.flags, opts.cond.as_ref(), expire_at, Reply::Ok, Reply::Nil)
}

/// SETNX key value: sets key only if it does not exist; 1 if set, 0 if not.
fn setnx(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    set_generic(ctx, args.get(1), args.get(2), OPT_NX, None, None, Reply::Int(1), Reply::Int(0))
}

/// SETEX key seconds value: sets key with a time to live in seconds.
fn setex(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    let at = expire_at_ms(args.get(2), true, true, ctx.now_ms(), "setex")?;
    set_generic(ctx, args.get(1), args.get(3), 0, None, Some(at), Reply::Ok, Reply::Nil)
}

/// PSETEX key milliseconds value: sets key with a time to live in milliseconds.
fn psetex(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    let at = expire_at_ms(args.get(2), false, true, ctx.now_ms(), "psetex")?;
    set_generic(ctx, args.get(1), args.get(3), 0, None, Some(at), Reply::Ok, Reply::Nil)
}

/// GETSET key value: sets key (dropping its TTL) and returns the old value, or nil.
fn getset(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    let old = get_reply(ctx, args.get(1))?;
    ctx.set(args.get(1), Value::Str(StrValue::from_bytes(args.get(2))));
    ctx.notify(STRING, "set", args.get(1));
    ctx.dirty(1);
    Ok(old)
}

/// GETDEL key: gets the value and deletes the key.
fn getdel(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    let key = args.get(1);
    let reply = get_reply(ctx, key)?;
    if !matches!(reply, Reply::Nil) {
        ctx.db().remove(key);
        ctx.notify(GENERIC, "del", key);
        ctx.dirty(1);
    }
    Ok(reply)
}

/// GETEX key [EX s|PX ms|EXAT ts|PXAT ms-ts|PERSIST]: gets the value and sets or removes its TTL.
fn getex(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    let opts = parse_ext_opts(args, false)?;
    let key = args.get(1);
    let reply = get_reply(ctx, key)?;
    if matches!(reply, Reply::Nil) {
        return Ok(reply);
    }
    let now = ctx.now_ms();
    let expire_at = opts_expire_at(&opts, now, "getex")?;
    if let Some(at) = expire_at {
        if (opts.has(OPT_EXAT) || opts.has(OPT_PXAT)) && at <= now {
            // An absolute time already past deletes the key.
            ctx.db().remove(key);
            ctx.notify(GENERIC, "del", key);
        } else {
            ctx.db().set_expire(key, at, now);
            ctx.notify(GENERIC, "expire", key);
        }
        ctx.dirty(1);
    } else if opts.has(OPT_PERSIST) {
        let had_ttl = ctx.db().peek(key, now).is_some_and(|e| e.expire_at != NO_EXPIRE);
        if had_ttl {
            ctx.db().set_expire(key, NO_EXPIRE, now);
            ctx.notify(GENERIC, "persist", key);
            ctx.dirty(1);
        }
    }
    Ok(reply)
}

// ---------------------------------------------------------------------------------------
// Multi-key.

/// MGET key [key ...]: the values of every key (nil for missing keys and other types).
fn mget(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    let mut out = Vec::with_capacity(args.len() - 1);
    for key in args.iter_from(1) {
        out.push(match ctx.read(key) {
            Some(entry) => match &entry.value {
                Value::Str(s) => Reply::Bulk(s.to_bytes()),
                #[allow(unreachable_patterns)]
                _ => Reply::Nil,
            },
            None => Reply::Nil,
        });
    }
    Ok(Reply::Array(out))
}

/// MSET key value [key value ...]: sets every key (dropping TTLs).
fn mset(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    if args.len().is_multiple_of(2) {
        return Err(CmdError::arity("mset"));
    }
    for i in (1..args.len()).step_by(2) {
        ctx.set(args.get(i), Value::Str(StrValue::from_bytes(args.get(i + 1))));
        ctx.notify(STRING, "set", args.get(i));
    }
    ctx.dirty(((args.len() - 1) / 2) as u64);
    Ok(Reply::Ok)
}

/// MSETNX key value [key value ...]: sets every key only if none exists; 1 if set, 0 if not.
fn msetnx(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    if args.len().is_multiple_of(2) {
        return Err(CmdError::arity("msetnx"));
    }
    for i in (1..args.len()).step_by(2) {
        if exists_for_write(ctx, args.get(i)) {
            return Ok(Reply::Int(0));
        }
    }
    for i in (1..args.len()).step_by(2) {
        ctx.set(args.get(i), Value::Str(StrValue::from_bytes(args.get(i + 1))));
        ctx.notify(STRING, "set", args.get(i));
    }
    ctx.dirty(((args.len() - 1) / 2) as u64);
    Ok(Reply::Int(1))
}

// ---------------------------------------------------------------------------------------
// In-place changes.

/// APPEND key value: appends to the string (creating it); the new length.
fn append(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    let (key, tail) = (args.get(1), args.get(2));
    let max = ctx.cfg.proto_max_bulk_len();
    let total = if let Some(mut entry) = ctx.write(key) {
        let s = as_str_mut(&mut entry.value)?;
        if s.len().saturating_add(tail.len()) > max {
            return Err(STRING_TOO_LONG);
        }
        let raw = s.make_raw();
        raw.extend_from_slice(tail);
        raw.len()
    } else {
        let value = StrValue::from_bytes(tail);
        let len = value.len();
        ctx.set(key, Value::Str(value));
        len
    };
    ctx.notify(STRING, "append", key);
    ctx.dirty(1);
    Ok(Reply::Int(total as i64))
}

/// STRLEN key: the length of the string, 0 if missing.
fn strlen(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    Ok(Reply::Int(ctx.read_str(args.get(1))?.map_or(0, |s| s.len()) as i64))
}

/// GETRANGE key start end (also SUBSTR): the substring between two inclusive offsets.
fn getrange(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    let mut start = int_arg(args.get(2))?;
    let mut end = int_arg(args.get(3))?;
    let Some(s) = ctx.read_str(args.get(1))? else {
        return Ok(Reply::Bulk(Bytes::new()));
    };
    if start < 0 && end < 0 && start > end {
        return Ok(Reply::Bulk(Bytes::new()));
    }
    let len = s.len() as i64;
    if start < 0 {
        start += len;
    }
    if end < 0 {
        end += len;
    }
    start = start.max(0);
    end = end.max(0);
    if end >= len {
        end = len - 1;
    }
    if start > end || len == 0 {
        return Ok(Reply::Bulk(Bytes::new()));
    }
    Ok(s.with_bytes(|b| Reply::bulk(&b[start as usize..=end as usize])))
}

/// SETRANGE key offset value: overwrites the string from offset, zero-padding; the new length.
fn setrange(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    let (key, value) = (args.get(1), args.get(3));
    let offset = int_arg(args.get(2))?;
    if offset < 0 {
        return Err(CmdError::err("offset is out of range"));
    }
    let max = ctx.cfg.proto_max_bulk_len() as u64;
    let too_long = (offset as u64).saturating_add(value.len() as u64) > max;
    let offset = offset as usize;
    let len = if let Some(mut entry) = ctx.write(key) {
        let s = as_str_mut(&mut entry.value)?;
        if value.is_empty() {
            return Ok(Reply::Int(s.len() as i64));
        }
        if too_long {
            return Err(STRING_TOO_LONG);
        }
        let raw = s.make_raw();
        let end = offset + value.len();
        if raw.len() < end {
            raw.resize(end, 0);
        }
        raw[offset..end].copy_from_slice(value);
        raw.len()
    } else {
        if value.is_empty() {
            return Ok(Reply::Int(0));
        }
        if too_long {
            return Err(STRING_TOO_LONG);
        }
        let mut raw = vec![0u8; offset + value.len()];
        raw[offset..].copy_from_slice(value);
        let len = raw.len();
        ctx.set(key, Value::Str(StrValue::Raw(raw)));
        len
    };
    ctx.notify(STRING, "setrange", key);
    ctx.dirty(1);
    Ok(Reply::Int(len as i64))
}

// ---------------------------------------------------------------------------------------
// Counters.

/// Adds `by` to the integer under `key` (0 if missing), keeping its TTL (Redis's `incrDecrCommand`).
fn incr_decr(ctx: &mut KeyCtx<'_>, key: &[u8], by: i64) -> CmdResult {
    let new = if let Some(mut entry) = ctx.write(key) {
        let current = as_str_mut(&mut entry.value)?.as_int().ok_or(NOT_INTEGER)?;
        let new = current.checked_add(by).ok_or(OVERFLOW)?;
        entry.value = Value::Str(StrValue::from_int(new));
        new
    } else {
        ctx.set(key, Value::Str(StrValue::from_int(by)));
        by
    };
    ctx.notify(STRING, "incrby", key);
    ctx.dirty(1);
    Ok(Reply::Int(new))
}

/// INCR key: adds 1 to the integer value; the new value.
fn incr(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    incr_decr(ctx, args.get(1), 1)
}

/// DECR key: subtracts 1 from the integer value; the new value.
fn decr(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    incr_decr(ctx, args.get(1), -1)
}

/// INCRBY key increment: adds increment to the integer value; the new value.
fn incrby(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    let by = int_arg(args.get(2))?;
    incr_decr(ctx, args.get(1), by)
}

/// DECRBY key decrement: subtracts decrement from the integer value; the new value.
fn decrby(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    let by = int_arg(args.get(2))?;
    if by == i64::MIN {
        return Err(CmdError::err("decrement would overflow"));
    }
    incr_decr(ctx, args.get(1), -by)
}

/// INCRBYFLOAT key increment: adds a float in long-double precision; the new value's text.
fn incrbyfloat(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    let key = args.get(1);
    let text = if let Some(mut entry) = ctx.write(key) {
        let current = match as_str_mut(&mut entry.value)? {
            StrValue::Int(n) => LongDouble::from_i64(*n),
            s => s.with_bytes(LongDouble::parse).ok_or(NOT_FLOAT)?,
        };
        let text = incr_float_text(current, args.get(2))?;
        entry.value = Value::Str(StrValue::from_bytes_no_int(text.as_bytes()));
        text
    } else {
        let text = incr_float_text(LongDouble::ZERO, args.get(2))?;
        ctx.set(key, Value::Str(StrValue::from_bytes_no_int(text.as_bytes())));
        text
    };
    ctx.notify(STRING, "incrbyfloat", key);
    ctx.dirty(1);
    Ok(Reply::bulk_string(text))
}

/// The text of `current + by` in long-double precision, with INCRBYFLOAT's errors.
fn incr_float_text(current: LongDouble, by: &[u8]) -> Result<String, CmdError> {
    let by = LongDouble::parse(by).ok_or(NOT_FLOAT)?;
    let sum = current + by;
    if !sum.is_finite() {
        return Err(CmdError::err("increment would produce NaN or Infinity"));
    }
    Ok(sum.to_human_string())
}

// ---------------------------------------------------------------------------------------
// LCS.

/// LCS key1 key2 [LEN] [IDX] [MINMATCHLEN n] [WITHMATCHLEN]: the longest common subsequence.
fn lcs(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    let a = lcs_operand(ctx, args.get(1));
    let b = lcs_operand(ctx, args.get(2));
    let (Some(a), Some(b)) = (a, b) else {
        return Err(CmdError::err("The specified keys must contain string values"));
    };
    let (mut get_len, mut get_idx, mut with_match_len) = (false, false, false);
    let mut min_match_len: i64 = 0;
    let mut j = 3;
    while j < args.len() {
        let opt = args.get(j);
        let more = j + 1 < args.len();
        if is_opt(opt, "idx") {
            get_idx = true;
        } else if is_opt(opt, "len") {
            get_len = true;
        } else if is_opt(opt, "withmatchlen") {
            with_match_len = true;
        } else if is_opt(opt, "minmatchlen") && more {
            min_match_len = int_arg(args.get(j + 1))?.max(0);
            j += 1;
        } else {
            return Err(SYNTAX);
        }
        j += 1;
    }
    if get_len && get_idx {
        return Err(CmdError::err("If you want both the length and indexes, please just use IDX."));
    }
    if a.len() >= u32::MAX as usize - 1 || b.len() >= u32::MAX as usize - 1 {
        return Err(CmdError::err("String too long for LCS"));
    }
    let (alen, blen) = (a.len(), b.len());
    let cells = (alen as u128 + 1) * (blen as u128 + 1);
    if cells * 4 > ctx.cfg.proto_max_bulk_len() as u128 {
        return Err(CmdError::err("Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len"));
    }
    let cells = cells as usize;
    let mut table: Vec<u32> = Vec::new();
    if table.try_reserve_exact(cells).is_err() {
        return Err(CmdError::err("Insufficient memory, failed allocating transient memory for LCS"));
    }
    table.resize(cells, 0);
    let width = blen + 1;
    for i in 1..=alen {
        for j in 1..=blen {
            table[i * width + j] = if a[i - 1] == b[j - 1] {
                table[(i - 1) * width + j - 1] + 1
            } else {
                table[(i - 1) * width + j].max(table[i * width + j - 1])
            };
        }
    }
    let total = table[alen * width + blen];
    let compute = get_idx || !get_len;
    let mut result = vec![0u8; if compute { total as usize } else { 0 }];
    let mut matches = Vec::new();
    // Ranges are found walking back from the end; `a_start == alen` means "no range open".
    let (mut a_start, mut a_end, mut b_start, mut b_end) = (alen, 0usize, 0usize, 0usize);
    let (mut i, mut j, mut idx) = (alen, blen, total as usize);
    while compute && i > 0 && j > 0 {
        let mut emit = false;
        if a[i - 1] == b[j - 1] {
            result[idx - 1] = a[i - 1];
            if a_start == alen {
                (a_start, a_end, b_start, b_end) = (i - 1, i - 1, j - 1, j - 1);
            } else if a_start == i && b_start == j {
                a_start -= 1;
                b_start -= 1;
            } else {
                emit = true;
            }
            if a_start == 0 || b_start == 0 {
                emit = true;
            }
            idx -= 1;
            i -= 1;
            j -= 1;
        } else {
            if table[(i - 1) * width + j] > table[i * width + j - 1] {
                i -= 1;
            } else {
                j -= 1;
            }
            if a_start != alen {
                emit = true;
            }
        }
        if emit {
            let match_len = a_end.wrapping_sub(a_start).wrapping_add(1);
            if get_idx && (min_match_len == 0 || match_len as u64 >= min_match_len as u64) {
                let mut item = vec![
                    Reply::Array(vec![Reply::Int(a_start as i64), Reply::Int(a_end as i64)]),
                    Reply::Array(vec![Reply::Int(b_start as i64), Reply::Int(b_end as i64)]),
                ];
                if with_match_len {
                    item.push(Reply::Int(match_len as i64));
                }
                matches.push(Reply::Array(item));
            }
            a_start = alen;
        }
    }
    Ok(if get_idx {
        Reply::Map(vec![
            (Reply::bulk_static("matches"), Reply::Array(matches)),
            (Reply::bulk_static("len"), Reply::Int(i64::from(total))),
        ])
    } else if get_len {
        Reply::Int(i64::from(total))
    } else {
        Reply::Bulk(Bytes::from(result))
    })
}

/// An LCS operand: the string's bytes (empty if missing), or `None` for another type.
fn lcs_operand(ctx: &mut KeyCtx<'_>, key: &[u8]) -> Option<Vec<u8>> {
    match ctx.read(key) {
        None => Some(Vec::new()),
        Some(entry) => match &entry.value {
            Value::Str(s) => Some(s.with_bytes(|b| b.to_vec())),
            #[allow(unreachable_patterns)]
            _ => None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{OwnedArgs, encode};

    fn opts(args: &[&str], for_set: bool) -> Result<u16, CmdError> {
        let owned = OwnedArgs::from_slices(args.iter().map(|a| a.as_bytes()));
        parse_ext_opts(owned.view(), for_set).map(|o| o.flags)
    }

    #[test]
    fn set_options_follow_redis_exclusions() {
        assert_eq!(opts(&["set", "k", "v", "nx", "get", "ex", "1"], true), Ok(OPT_NX | OPT_GET | OPT_EX));
        assert_eq!(opts(&["set", "k", "v", "ex", "1", "ex", "2"], true), Ok(OPT_EX));
        assert_eq!(opts(&["set", "k", "v", "nx", "nx"], true), Ok(OPT_NX));
        assert_eq!(opts(&["set", "k", "v", "nx\0junk"], true), Ok(OPT_NX));
        for bad in [
            &["set", "k", "v", "nx", "xx"][..],
            &["set", "k", "v", "ex", "1", "px", "1"],
            &["set", "k", "v", "keepttl", "ex", "1"],
            &["set", "k", "v", "pxat", "1", "keepttl"],
            &["set", "k", "v", "ex"],
            &["set", "k", "v", "persist"],
            &["set", "k", "v", "foo"],
        ] {
            assert_eq!(opts(bad, true), Err(SYNTAX), "{bad:?}");
        }
        assert_eq!(opts(&["getex", "k", "persist", "persist"], false), Ok(OPT_PERSIST));
        for bad in [
            &["getex", "k", "nx"][..],
            &["getex", "k", "get"],
            &["getex", "k", "keepttl"],
            &["getex", "k", "persist", "ex", "1"],
        ] {
            assert_eq!(opts(bad, false), Err(SYNTAX), "{bad:?}");
        }
    }

    #[test]
    fn set_conditions_exclude_nx_xx_and_each_other() {
        let cond = |args: &[&str]| {
            let owned = OwnedArgs::from_slices(args.iter().map(|a| a.as_bytes()));
            parse_ext_opts(owned.view(), true).map(|o| (o.flags, o.cond.map(|c| format!("{c:?}"))))
        };
        assert_eq!(cond(&["set", "k", "v", "ifeq", "a", "get"]), Ok((OPT_GET, Some(format!("{:?}", Cond::Eq(b"a"))))));
        for bad in [
            &["set", "k", "v", "ifeq", "a", "nx"][..],
            &["set", "k", "v", "xx", "ifne", "a"],
            &["set", "k", "v", "ifeq", "a", "ifdne", "0123456789abcdef"],
            &["set", "k", "v", "ifeq"],
        ] {
            assert_eq!(cond(bad), Err(SYNTAX), "{bad:?}");
        }
        assert!(cond(&["set", "k", "v", "ifdeq", "short"]).is_err());
        assert_eq!(opts(&["getex", "k", "ifeq", "a"], false), Err(SYNTAX));
    }

    #[test]
    fn expiry_bounds() {
        let now = 1_700_000_000_000;
        assert_eq!(expire_at_ms(b"10", true, true, now, "set"), Ok(now + 10_000));
        assert_eq!(expire_at_ms(b"5", false, false, now, "set"), Ok(5));
        assert_eq!(expire_at_ms(b"abc", true, true, now, "set"), Err(NOT_INTEGER));
        for (arg, seconds, relative) in [
            ("0", true, true),
            ("-1", false, false),
            ("9223372036854775807", true, false),
            ("9223372036854775", true, true),
            ("9223372036854775807", false, true),
        ] {
            assert_eq!(
                expire_at_ms(arg.as_bytes(), seconds, relative, now, "set"),
                Err(CmdError::invalid_expire("set")),
                "{arg}"
            );
        }
        assert_eq!(expire_at_ms(b"9223372036854775807", false, false, now, "set"), Ok(i64::MAX));
    }

    #[test]
    fn lcs_idx_reply_is_a_map_in_resp3() {
        let reply = Reply::Map(vec![
            (Reply::bulk_static("matches"), Reply::Array(vec![])),
            (Reply::bulk_static("len"), Reply::Int(0)),
        ]);
        let mut resp3 = Vec::new();
        encode(&reply, true, &mut resp3);
        assert_eq!(resp3, b"%2\r\n$7\r\nmatches\r\n*0\r\n$3\r\nlen\r\n:0\r\n");
        let mut resp2 = Vec::new();
        encode(&reply, false, &mut resp2);
        assert_eq!(resp2, b"*4\r\n$7\r\nmatches\r\n*0\r\n$3\r\nlen\r\n:0\r\n");
    }
}
