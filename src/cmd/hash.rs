//! Hash commands: HSET/HMSET/HSETNX, HGET/HMGET, HDEL, HEXISTS, HLEN, HSTRLEN, HKEYS,
//! HVALS, HGETALL, HINCRBY, HINCRBYFLOAT, HRANDFIELD, HSCAN.
//!
//! Every command follows Redis 7.0's `t_hash.c`: the same order of checks (so the same
//! error wins when several apply), the same replies and reply types, and the same encoding
//! conversions (`listpack` to `hashtable`) for OBJECT ENCODING.

use std::collections::HashSet;

use bytes::Bytes;

use super::arg::{int_arg, is_opt, parse_scan_cursor, scan_options};
use crate::command::error::{NOT_FLOAT, OVERFLOW, SYNTAX, WRONG_TYPE};
use crate::command::{CmdError, CmdResult, CommandImpl, Handler, MultiShard};
use crate::config::glob::glob_match;
use crate::protocol::{Args, Reply};
use crate::shard::KeyCtx;
use crate::shard::notify::{GENERIC, HASH};
use crate::types::hash::HashLimits;
use crate::types::{HashValue, Value};
use crate::util::long_double::LongDouble;
use crate::util::num::parse_canonical_i64;

/// A single-key command (`Gather` is never used).
const fn keyed(name: &'static str, run: crate::command::KeyedFn) -> CommandImpl {
    CommandImpl { name, handler: Handler::Keyed { run, multi: MultiShard::Gather } }
}

/// The hash family's commands.
pub const COMMANDS: &[CommandImpl] = &[
    keyed("hset", hset),
    keyed("hmset", hmset),
    keyed("hsetnx", hsetnx),
    keyed("hget", hget),
    keyed("hmget", hmget),
    keyed("hdel", hdel),
    keyed("hexists", hexists),
    keyed("hlen", hlen),
    keyed("hstrlen", hstrlen),
    keyed("hkeys", hkeys),
    keyed("hvals", hvals),
    keyed("hgetall", hgetall),
    keyed("hincrby", hincrby),
    keyed("hincrbyfloat", hincrbyfloat),
    keyed("hrandfield", hrandfield),
    keyed("hscan", hscan),
];

/// Most elements HRANDFIELD with a negative count returns (Redis has no bound; the reply
/// is built in memory here, so a larger count is refused).
const MAX_RANDOM_REPLY: u64 = 1 << 24;

/// The listpack thresholds from the configuration.
fn limits(ctx: &KeyCtx<'_>) -> HashLimits {
    HashLimits { max_entries: ctx.cfg.hash_max_listpack_entries(), max_value: ctx.cfg.hash_max_listpack_value() }
}

/// The hash under `key` for reading: `Ok(None)` if absent, WRONGTYPE if not a hash.
fn read_hash<'c>(ctx: &'c mut KeyCtx<'_>, key: &[u8]) -> Result<Option<&'c HashValue>, CmdError> {
    match ctx.read(key) {
        None => Ok(None),
        Some(entry) => match &entry.value {
            Value::Hash(h) => Ok(Some(h)),
            _ => Err(WRONG_TYPE),
        },
    }
}

/// Runs `f` on the hash under `key`, creating an empty one if absent (Redis's
/// `hashTypeLookupWriteOrCreate`; a created hash is stored only if `f` leaves it non-empty).
fn with_hash_or_create<R>(
    ctx: &mut KeyCtx<'_>,
    key: &[u8],
    f: impl FnOnce(&mut HashValue, HashLimits) -> Result<R, CmdError>,
) -> Result<R, CmdError> {
    let limits = limits(ctx);
    if let Some(mut entry) = ctx.write(key) {
        return match &mut entry.value {
            Value::Hash(h) => f(h, limits),
            _ => Err(WRONG_TYPE),
        };
    }
    let mut hash = HashValue::new();
    let result = f(&mut hash, limits)?;
    if !hash.is_empty() {
        ctx.set(key, Value::Hash(Box::new(hash)));
    }
    Ok(result)
}

/// HSET key field value [field value ...]: sets fields; replies with the number of new fields.
fn hset(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    hset_generic(ctx, args, "hset").map(Reply::Int)
}

/// HMSET key field value [field value ...]: sets fields; replies OK.
fn hmset(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    hset_generic(ctx, args, "hmset").map(|_| Reply::Ok)
}

/// HSET/HMSET: the number of fields created.
fn hset_generic(ctx: &mut KeyCtx<'_>, args: Args<'_>, name: &str) -> Result<i64, CmdError> {
    if args.len() % 2 == 1 {
        return Err(CmdError::arity(name));
    }
    let created = with_hash_or_create(ctx, args.get(1), |h, limits| {
        h.try_conversion(args.iter_from(2), limits);
        let mut created = 0;
        let mut i = 2;
        while i + 1 < args.len() {
            created += i64::from(h.set(args.get(i), args.get(i + 1), limits));
            i += 2;
        }
        Ok(created)
    })?;
    ctx.notify(HASH, "hset", args.get(1));
    ctx.dirty(((args.len() - 2) / 2) as u64);
    Ok(created)
}

/// HSETNX key field value: sets the field only if it does not exist; 1 if set, else 0.
fn hsetnx(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    let (field, value) = (args.get(2), args.get(3));
    let set = with_hash_or_create(ctx, args.get(1), |h, limits| {
        if h.contains(field) {
            return Ok(false);
        }
        h.try_conversion([field, value], limits);
        h.set(field, value, limits);
        Ok(true)
    })?;
    if set {
        ctx.notify(HASH, "hset", args.get(1));
        ctx.dirty(1);
    }
    Ok(Reply::Int(i64::from(set)))
}

/// HGET key field: the field's value, or nil.
fn hget(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    Ok(match read_hash(ctx, args.get(1))?.and_then(|h| h.get(args.get(2))) {
        Some(v) => Reply::bulk(v),
        None => Reply::Nil,
    })
}

/// HMGET key field [field ...]: the fields' values (nil for missing ones).
fn hmget(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    let hash = read_hash(ctx, args.get(1))?;
    Ok(Reply::Array(
        args.iter_from(2)
            .map(|f| match hash.and_then(|h| h.get(f)) {
                Some(v) => Reply::bulk(v),
                None => Reply::Nil,
            })
            .collect(),
    ))
}

/// HDEL key field [field ...]: removes fields (the key when none is left); the number removed.
fn hdel(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    let key = args.get(1);
    let (deleted, emptied) = {
        let Some(mut entry) = ctx.write(key) else {
            return Ok(Reply::Int(0));
        };
        let Value::Hash(h) = &mut entry.value else {
            return Err(WRONG_TYPE);
        };
        let mut deleted = 0;
        for field in args.iter_from(2) {
            if h.remove(field) {
                deleted += 1;
                if h.is_empty() {
                    break;
                }
            }
        }
        (deleted, h.is_empty())
    };
    if deleted > 0 {
        ctx.notify(HASH, "hdel", key);
    }
    if emptied {
        ctx.db().remove(key);
        ctx.notify(GENERIC, "del", key);
    }
    ctx.dirty(deleted);
    Ok(Reply::Int(deleted as i64))
}

/// HEXISTS key field: 1 if the field exists, else 0.
fn hexists(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    let exists = read_hash(ctx, args.get(1))?.is_some_and(|h| h.contains(args.get(2)));
    Ok(Reply::Int(i64::from(exists)))
}

/// HLEN key: the number of fields.
fn hlen(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    Ok(Reply::Int(read_hash(ctx, args.get(1))?.map_or(0, |h| h.len()) as i64))
}

/// HSTRLEN key field: the length of the field's value (0 if missing).
fn hstrlen(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    let len = read_hash(ctx, args.get(1))?.and_then(|h| h.get(args.get(2))).map_or(0, |v| v.len());
    Ok(Reply::Int(len as i64))
}

/// HKEYS key: every field.
fn hkeys(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    let hash = read_hash(ctx, args.get(1))?;
    Ok(Reply::Array(hash.map_or_else(Vec::new, |h| h.iter().map(|(f, _)| Reply::bulk(f)).collect())))
}

/// HVALS key: every value.
fn hvals(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    let hash = read_hash(ctx, args.get(1))?;
    Ok(Reply::Array(hash.map_or_else(Vec::new, |h| h.iter().map(|(_, v)| Reply::bulk(v)).collect())))
}

/// HGETALL key: every field and value (a map in RESP3).
fn hgetall(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    let hash = read_hash(ctx, args.get(1))?;
    Ok(Reply::Map(hash.map_or_else(Vec::new, |h| h.iter().map(|(f, v)| (Reply::bulk(f), Reply::bulk(v))).collect())))
}

/// HINCRBY key field increment: adds to the field's integer value; the new value.
fn hincrby(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    let incr = int_arg(args.get(3))?;
    let field = args.get(2);
    let value = with_hash_or_create(ctx, args.get(1), |h, limits| {
        let current = match h.get(field) {
            Some(v) => parse_canonical_i64(v).ok_or_else(|| CmdError::err("hash value is not an integer"))?,
            None => 0,
        };
        let value = current.checked_add(incr).ok_or(OVERFLOW)?;
        h.set(field, value.to_string().as_bytes(), limits);
        Ok(value)
    })?;
    ctx.notify(HASH, "hincrby", args.get(1));
    ctx.dirty(1);
    Ok(Reply::Int(value))
}

/// HINCRBYFLOAT key field increment: adds to the field's value in long-double precision;
/// the new value as a bulk string.
fn hincrbyfloat(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    let incr = LongDouble::parse(args.get(3)).ok_or(NOT_FLOAT)?;
    if !incr.is_finite() {
        return Err(CmdError::err("value is NaN or Infinity"));
    }
    let field = args.get(2);
    let text = with_hash_or_create(ctx, args.get(1), |h, limits| {
        let current = match h.get(field) {
            Some(v) => LongDouble::parse(v).ok_or_else(|| CmdError::err("hash value is not a float"))?,
            None => LongDouble::ZERO,
        };
        let sum = current + incr;
        if !sum.is_finite() {
            return Err(CmdError::err("increment would produce NaN or Infinity"));
        }
        let text = sum.to_human_string();
        h.set(field, text.as_bytes(), limits);
        Ok(text)
    })?;
    ctx.notify(HASH, "hincrbyfloat", args.get(1));
    ctx.dirty(1);
    Ok(Reply::bulk_string(text))
}

/// HRANDFIELD key [count [WITHVALUES]]: random fields (negative count: may repeat).
fn hrandfield(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    if args.len() < 3 {
        return Ok(match read_hash(ctx, args.get(1))? {
            Some(h) if !h.is_empty() => {
                let i = (crate::util::rand_u64() % h.len() as u64) as usize;
                h.get_index(i).map_or(Reply::Nil, |(f, _)| Reply::bulk(f))
            }
            _ => Reply::Nil,
        });
    }
    let count = int_arg(args.get(2))?;
    if count == i64::MIN {
        return Err(CmdError::err(format!("value is out of range, value must between {} and {}", -i64::MAX, i64::MAX)));
    }
    if args.len() > 4 || (args.len() == 4 && !is_opt(args.get(3), "withvalues")) {
        return Err(SYNTAX);
    }
    let with_values = args.len() == 4;
    if with_values && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&count) {
        return Err(CmdError::err("value is out of range"));
    }
    let Some(h) = read_hash(ctx, args.get(1))? else {
        return Ok(Reply::Array(Vec::new()));
    };
    let size = h.len();
    let wanted = count.unsigned_abs();
    if wanted == 0 || size == 0 {
        return Ok(Reply::Array(Vec::new()));
    }
    let indices: Vec<usize> = if count < 0 || wanted == 1 {
        if wanted > MAX_RANDOM_REPLY {
            return Err(CmdError::err("value is out of range"));
        }
        (0..wanted).map(|_| (crate::util::rand_u64() % size as u64) as usize).collect()
    } else if wanted >= size as u64 {
        (0..size).collect()
    } else {
        random_distinct(size, wanted as usize)
    };
    let pairs = indices.into_iter().filter_map(|i| h.get_index(i));
    Ok(if with_values {
        Reply::Pairs(pairs.map(|(f, v)| (Reply::bulk(f), Reply::bulk(v))).collect())
    } else {
        Reply::Array(pairs.map(|(f, _)| Reply::bulk(f)).collect())
    })
}

/// `count` distinct positions below `size` (count < size), in random order.
fn random_distinct(size: usize, count: usize) -> Vec<usize> {
    if count * 3 > size {
        // Partial Fisher-Yates over every position.
        let mut all: Vec<usize> = (0..size).collect();
        for i in 0..count {
            let j = i + (crate::util::rand_u64() % (size - i) as u64) as usize;
            all.swap(i, j);
        }
        all.truncate(count);
        all
    } else {
        let mut seen = HashSet::with_capacity(count);
        let mut out = Vec::with_capacity(count);
        while out.len() < count {
            let i = (crate::util::rand_u64() % size as u64) as usize;
            if seen.insert(i) {
                out.push(i);
            }
        }
        out
    }
}

/// HSCAN key cursor [MATCH pattern] [COUNT count]: one step of an incremental walk over
/// the fields; a listpack-encoded hash is returned whole with cursor 0, as Redis does.
fn hscan(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    let Some(cursor) = parse_scan_cursor(args.get(2)) else {
        return Err(CmdError::from_static("ERR invalid cursor"));
    };
    let Some(h) = read_hash(ctx, args.get(1))? else {
        return Ok(Reply::Array(vec![Reply::bulk_static("0"), Reply::Array(Vec::new())]));
    };
    let (count, pattern) = scan_options(args, 3)?;
    let mut items = Vec::new();
    let next = h.scan(cursor, usize::try_from(count).unwrap_or(usize::MAX), |f, v| {
        if pattern.is_none_or(|p| glob_match(p, f, false)) {
            items.push(Reply::Bulk(Bytes::copy_from_slice(f)));
            items.push(Reply::Bulk(Bytes::copy_from_slice(v)));
        }
    });
    Ok(Reply::Array(vec![Reply::bulk_string(next.to_string()), Reply::Array(items)]))
}
