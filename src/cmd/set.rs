//! Set commands: SADD SREM SISMEMBER SMISMEMBER SCARD SMEMBERS SPOP SRANDMEMBER SMOVE
//! SINTER SINTERCARD SINTERSTORE SUNION SUNIONSTORE SDIFF SDIFFSTORE SSCAN.
//!
//! Every command follows Redis 7.2's `t_set.c`: the same order of checks (so the same
//! error wins when several apply), the same replies and reply types (RESP3 sets for
//! SMEMBERS, SPOP with a count, SINTER/SUNION/SDIFF), and the same encodings for the
//! sets they create (see [`crate::types::set`]). A set left empty is deleted.
//! The multi-key commands gather their keys when they span shards.

use bytes::Bytes;

use super::arg::{int_arg, is_opt, parse_scan_cursor, scan_options};
use crate::command::error::{SYNTAX, WRONG_TYPE};
use crate::command::{CmdError, CmdResult, CommandImpl, Handler, MultiShard};
use crate::config::glob::glob_match;
use crate::protocol::{Args, Reply};
use crate::shard::KeyCtx;
use crate::shard::notify::{GENERIC, KEY_MISS, SET};
use crate::types::set::{Member, SetLimits};
use crate::types::{SetValue, Value};
use crate::util::num::parse_canonical_i64;

/// A keyed command; the multi-key ones gather their keys when they span shards.
const fn keyed(name: &'static str, run: crate::command::KeyedFn) -> CommandImpl {
    CommandImpl { name, handler: Handler::Keyed { run, multi: MultiShard::Gather } }
}

/// The set family's commands.
pub const COMMANDS: &[CommandImpl] = &[
    keyed("sadd", sadd),
    keyed("srem", srem),
    keyed("sismember", sismember),
    keyed("smismember", smismember),
    keyed("scard", scard),
    keyed("smembers", smembers),
    keyed("spop", spop),
    keyed("srandmember", srandmember),
    keyed("smove", smove),
    keyed("sinter", sinter),
    keyed("sintercard", sintercard),
    keyed("sinterstore", sinterstore),
    keyed("sunion", sunion),
    keyed("sunionstore", sunionstore),
    keyed("sdiff", sdiff),
    keyed("sdiffstore", sdiffstore),
    keyed("sscan", sscan),
];

/// Most members SRANDMEMBER with a negative count repeats into one reply: Redis streams
/// such a reply; tallkv builds it in memory, so it bounds it.
const MAX_REPEATED_MEMBERS: u64 = 1 << 24;

/// SPOP keeps popping one member at a time while `remaining * SPOP_MOVE_STRATEGY_MUL > count`.
const SPOP_MOVE_STRATEGY_MUL: u64 = 5;

fn limits(ctx: &KeyCtx<'_>) -> SetLimits {
    SetLimits::from_config(ctx.cfg)
}

/// The set under `key` for reading (counts a hit or miss): `Ok(None)` if absent.
fn read_set<'c>(ctx: &'c mut KeyCtx<'_>, key: &[u8]) -> Result<Option<&'c SetValue>, CmdError> {
    match ctx.read(key) {
        None => Ok(None),
        Some(entry) => match &entry.value {
            Value::Set(s) => Ok(Some(s)),
            _ => Err(WRONG_TYPE),
        },
    }
}

/// The set under `key` without touching statistics (a key already looked up and type-checked).
fn peek_set<'c>(ctx: &'c mut KeyCtx<'_>, key: &[u8]) -> Option<&'c SetValue> {
    let now = ctx.now_ms();
    match ctx.db().peek(key, now) {
        Some(entry) => match &entry.value {
            Value::Set(s) => Some(s),
            _ => None,
        },
        None => None,
    }
}

/// A reply of members as bulk strings in a RESP3 set.
fn set_reply<'m>(members: impl Iterator<Item = Member<'m>>) -> Reply {
    Reply::Set(members.map(|m| Reply::Bulk(m.to_bytes())).collect())
}

/// SADD key member [member ...]: adds members, replying how many were new.
fn sadd(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    let key = args.get(1);
    let limits = limits(ctx);
    let hint = args.len() - 2;
    let mut added = 0i64;
    let existed = match ctx.write(key) {
        Some(mut entry) => {
            let Value::Set(set) = &mut entry.value else { return Err(WRONG_TYPE) };
            set.maybe_convert(hint, limits);
            for m in args.iter_from(2) {
                added += i64::from(set.add(m, limits));
            }
            true
        }
        None => false,
    };
    if !existed {
        let mut set = SetValue::create(args.get(2), hint, limits);
        for m in args.iter_from(2) {
            added += i64::from(set.add(m, limits));
        }
        ctx.set(key, Value::Set(Box::new(set)));
    }
    if added > 0 {
        ctx.notify(SET, "sadd", key);
    }
    ctx.dirty(added as u64);
    Ok(Reply::Int(added))
}

/// SREM key member [member ...]: removes members, replying how many were there.
fn srem(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    let key = args.get(1);
    let removed = {
        let Some(mut entry) = ctx.write(key) else { return Ok(Reply::Int(0)) };
        let Value::Set(set) = &mut entry.value else { return Err(WRONG_TYPE) };
        let mut removed = 0i64;
        for m in args.iter_from(2) {
            if set.remove(m) {
                removed += 1;
                if set.is_empty() {
                    break;
                }
            }
        }
        removed
    };
    if removed > 0 {
        ctx.notify(SET, "srem", key);
    }
    ctx.delete_if_empty(key);
    ctx.dirty(removed as u64);
    Ok(Reply::Int(removed))
}

/// SISMEMBER key member: 1 if member is in the set, else 0.
fn sismember(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    Ok(Reply::Int(read_set(ctx, args.get(1))?.is_some_and(|s| s.contains(args.get(2))).into()))
}

/// SMISMEMBER key member [member ...]: 1 or 0 for each member.
fn smismember(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    let set = read_set(ctx, args.get(1))?;
    Ok(Reply::Array(args.iter_from(2).map(|m| Reply::Int(set.is_some_and(|s| s.contains(m)).into())).collect()))
}

/// SCARD key: the number of members.
fn scard(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    Ok(Reply::Int(read_set(ctx, args.get(1))?.map_or(0, |s| s.len() as i64)))
}

/// SMEMBERS key: every member (sorted for an intset), as a RESP3 set.
fn smembers(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    Ok(match read_set(ctx, args.get(1))? {
        Some(set) => set_reply(set.iter()),
        None => Reply::Set(Vec::new()),
    })
}

/// SPOP key [count]: removes and returns a random member, or `count` distinct ones as a set.
fn spop(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    if args.len() > 3 {
        return Err(SYNTAX);
    }
    let key = args.get(1);
    if args.len() == 3 {
        return spop_count(ctx, key, args.get(2));
    }
    let popped = {
        let Some(mut entry) = ctx.write(key) else { return Ok(Reply::Nil) };
        let Value::Set(set) = &mut entry.value else { return Err(WRONG_TYPE) };
        set.pop_random()
    };
    if let Some(member) = &popped {
        ctx.notify(SET, "spop", key);
        // The member was chosen at random: journal what was removed.
        ctx.journal_as(&[b"SREM", key, member]);
    }
    ctx.delete_if_empty(key);
    Ok(match popped {
        Some(m) => {
            ctx.dirty(1);
            Reply::Bulk(m)
        }
        None => Reply::Nil,
    })
}

/// SPOP key count.
fn spop_count(ctx: &mut KeyCtx<'_>, key: &[u8], count_arg: &[u8]) -> CmdResult {
    let count = match parse_canonical_i64(count_arg) {
        Some(n) if n >= 0 => n as u64,
        _ => return Err(CmdError::err("value is out of range, must be positive")),
    };
    let limits = limits(ctx);
    let popped: Vec<Bytes> = {
        let Some(mut entry) = ctx.write(key) else { return Ok(Reply::Set(Vec::new())) };
        let Value::Set(set) = &mut entry.value else { return Err(WRONG_TYPE) };
        if count == 0 {
            return Ok(Reply::Set(Vec::new()));
        }
        let size = set.len() as u64;
        if count >= size {
            let all = set.iter().map(|m| m.to_bytes()).collect();
            **set = SetValue::new_intset();
            all
        } else {
            let remaining = size - count;
            if remaining * SPOP_MOVE_STRATEGY_MUL > count {
                (0..count).filter_map(|_| set.pop_random()).collect()
            } else {
                set.pop_most(remaining as usize, limits)
            }
        }
    };
    if !popped.is_empty() {
        ctx.notify(SET, "spop", key);
        if ctx.journaling() {
            // The members were chosen at random: journal what was removed.
            let mut argv: Vec<&[u8]> = vec![b"SREM", key];
            argv.extend(popped.iter().map(|m| m.as_ref()));
            ctx.journal_as(&argv);
        }
    }
    ctx.delete_if_empty(key);
    ctx.dirty(popped.len() as u64);
    Ok(Reply::Set(popped.into_iter().map(Reply::Bulk).collect()))
}

/// SRANDMEMBER key [count]: a random member; with a count, up to `count` distinct members,
/// or with a negative count exactly `-count` members that may repeat.
fn srandmember(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    if args.len() > 3 {
        return Err(SYNTAX);
    }
    let key = args.get(1);
    if args.len() == 2 {
        return Ok(match read_set(ctx, key)?.and_then(|s| s.random_member()) {
            Some(m) => Reply::Bulk(m.to_bytes()),
            None => Reply::Nil,
        });
    }
    let count = int_arg(args.get(2))?;
    if count == i64::MIN {
        return Err(CmdError::err(format!("value is out of range, value must between {} and {}", -i64::MAX, i64::MAX)));
    }
    let unique = count >= 0;
    let n = count.unsigned_abs();
    if !unique && n > MAX_REPEATED_MEMBERS {
        return Err(CmdError::err(format!(
            "value is out of range, value must between -{MAX_REPEATED_MEMBERS} and {}",
            i64::MAX
        )));
    }
    let Some(set) = read_set(ctx, key)? else { return Ok(Reply::Array(Vec::new())) };
    if n == 0 {
        return Ok(Reply::Array(Vec::new()));
    }
    let size = set.len() as u64;
    if !unique || n == 1 {
        return Ok(Reply::Array(
            (0..n).filter_map(|_| set.random_member()).map(|m| Reply::Bulk(m.to_bytes())).collect(),
        ));
    }
    if n >= size {
        return Ok(Reply::Array(set.iter().map(|m| Reply::Bulk(m.to_bytes())).collect()));
    }
    let positions = set.random_positions(n as usize);
    Ok(Reply::Array(
        positions.into_iter().filter_map(|i| set.get_index(i)).map(|m| Reply::Bulk(m.to_bytes())).collect(),
    ))
}

/// SMOVE source destination member: moves member between sets; 1 if it was moved.
fn smove(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    let (src, dst, member) = (args.get(1), args.get(2), args.get(3));
    let limits = limits(ctx);
    let dst_exists = ctx.write(dst).map(|entry| matches!(entry.value, Value::Set(_)));
    let src_is_member = {
        let Some(entry) = ctx.write(src) else { return Ok(Reply::Int(0)) };
        let Value::Set(set) = &entry.value else { return Err(WRONG_TYPE) };
        set.contains(member)
    };
    if dst_exists == Some(false) {
        return Err(WRONG_TYPE);
    }
    if src == dst {
        return Ok(Reply::Int(src_is_member.into()));
    }
    if !src_is_member {
        return Ok(Reply::Int(0));
    }
    if let Some(mut entry) = ctx.write(src)
        && let Value::Set(set) = &mut entry.value
    {
        set.remove(member);
    }
    ctx.notify(SET, "srem", src);
    ctx.delete_if_empty(src);
    ctx.dirty(1);
    let added = match ctx.write(dst) {
        Some(mut entry) => match &mut entry.value {
            Value::Set(set) => Some(set.add(member, limits)),
            _ => Some(false),
        },
        None => None,
    };
    match added {
        Some(added) => {
            if added {
                ctx.notify(SET, "sadd", dst);
            }
            ctx.dirty(u64::from(added));
        }
        None => {
            let mut set = SetValue::create(member, 1, limits);
            set.add(member, limits);
            ctx.set(dst, Value::Set(Box::new(set)));
            ctx.notify(SET, "sadd", dst);
            ctx.dirty(1);
        }
    }
    Ok(Reply::Int(1))
}

/// Looks each key up (as a read, or as a write for the STORE forms) and type-checks it:
/// the sizes of the sets, `None` for a missing key.
fn lookup_sets(ctx: &mut KeyCtx<'_>, keys: &[&[u8]], write: bool) -> Result<Vec<Option<usize>>, CmdError> {
    let mut sizes = Vec::with_capacity(keys.len());
    for key in keys {
        let size = if write {
            let size = match ctx.write(key) {
                None => None,
                Some(entry) => match &entry.value {
                    Value::Set(s) => Some(s.len()),
                    _ => return Err(WRONG_TYPE),
                },
            };
            if size.is_none() {
                // Redis 7.0 looks the sources of the STORE forms up as reads.
                ctx.notify(KEY_MISS, "keymiss", key);
            }
            size
        } else {
            read_set(ctx, key)?.map(SetValue::len)
        };
        sizes.push(size);
    }
    Ok(sizes)
}

/// Stores `result` under `dst` (deleting `dst` when empty), replying with its size;
/// `event` is the command's keyspace event.
fn store(ctx: &mut KeyCtx<'_>, dst: &[u8], result: SetValue, event: &'static str) -> CmdResult {
    let len = result.len() as i64;
    if len > 0 {
        ctx.set(dst, Value::Set(Box::new(result)));
        ctx.notify(SET, event, dst);
        ctx.dirty(1);
    } else {
        let now = ctx.now_ms();
        if ctx.db().take(dst, now).is_some() {
            ctx.notify(GENERIC, "del", dst);
            ctx.dirty(1);
        }
    }
    Ok(Reply::Int(len))
}

/// What an intersection produces.
enum InterOut<'a> {
    Members,
    Card(u64),
    Store(&'a [u8]),
}

/// Redis's `sinterGenericCommand`.
fn inter_generic(ctx: &mut KeyCtx<'_>, keys: &[&[u8]], out: InterOut<'_>) -> CmdResult {
    let sizes = lookup_sets(ctx, keys, matches!(out, InterOut::Store(_)))?;
    let limits = limits(ctx);
    let mut found: Vec<Vec<u8>> = Vec::new();
    if sizes.iter().all(Option::is_some) {
        let mut order: Vec<usize> = (0..keys.len()).collect();
        order.sort_by_key(|&i| sizes[i]);
        let first = keys[order[0]];
        if let Some(set) = peek_set(ctx, first) {
            found = set.iter().map(|m| m.to_vec()).collect();
        }
        for &i in &order[1..] {
            if keys[i] == first || found.is_empty() {
                continue;
            }
            if let Some(set) = peek_set(ctx, keys[i]) {
                found.retain(|m| set.contains(m));
            }
        }
    }
    match out {
        InterOut::Members => Ok(Reply::Set(found.into_iter().map(|m| Reply::Bulk(Bytes::from(m))).collect())),
        InterOut::Card(limit) => {
            let n = found.len() as u64;
            Ok(Reply::Int(if limit > 0 { n.min(limit) } else { n } as i64))
        }
        InterOut::Store(dst) => {
            let mut result = SetValue::new_intset();
            for m in &found {
                result.add(m, limits);
            }
            store(ctx, dst, result, "sinterstore")
        }
    }
}

/// SINTER key [key ...]: the members present in every set.
fn sinter(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    let keys: Vec<&[u8]> = args.iter_from(1).collect();
    inter_generic(ctx, &keys, InterOut::Members)
}

/// SINTERSTORE destination key [key ...]: stores the intersection, replying with its size.
fn sinterstore(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    let keys: Vec<&[u8]> = args.iter_from(2).collect();
    inter_generic(ctx, &keys, InterOut::Store(args.get(1)))
}

/// SINTERCARD numkeys key [key ...] [LIMIT limit]: the size of the intersection, counting
/// up to `limit` (0 = no limit).
fn sintercard(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    let numkeys = match parse_canonical_i64(args.get(1)) {
        Some(n) if n >= 1 => n as u64,
        _ => return Err(CmdError::err("numkeys should be greater than 0")),
    };
    if numkeys > (args.len() - 2) as u64 {
        return Err(CmdError::err("Number of keys can't be greater than number of args"));
    }
    let numkeys = numkeys as usize;
    let mut limit = 0u64;
    let mut j = 2 + numkeys;
    while j < args.len() {
        if is_opt(args.get(j), "limit") && j + 1 < args.len() {
            j += 1;
            limit = match parse_canonical_i64(args.get(j)) {
                Some(n) if n >= 0 => n as u64,
                _ => return Err(CmdError::err("LIMIT can't be negative")),
            };
        } else {
            return Err(SYNTAX);
        }
        j += 1;
    }
    let keys: Vec<&[u8]> = args.iter_from(2).take(numkeys).collect();
    inter_generic(ctx, &keys, InterOut::Card(limit))
}

/// Union or difference.
#[derive(Clone, Copy, PartialEq)]
enum Op {
    Union,
    Diff,
}

/// Redis's `sunionDiffGenericCommand`.
fn union_diff_generic(ctx: &mut KeyCtx<'_>, keys: &[&[u8]], dst: Option<&[u8]>, op: Op) -> CmdResult {
    let sizes = lookup_sets(ctx, keys, dst.is_some())?;
    let limits = limits(ctx);
    // Without a destination, a result with any non-intset input starts as a hashtable.
    let mut all_intsets = true;
    if dst.is_none() {
        for (key, size) in keys.iter().zip(&sizes) {
            if size.is_some() && peek_set(ctx, key).is_some_and(|s| !s.is_intset()) {
                all_intsets = false;
            }
        }
    }
    let mut result = if all_intsets { SetValue::new_intset() } else { SetValue::new_hashtable(0) };
    match op {
        Op::Union => {
            for (key, size) in keys.iter().zip(&sizes) {
                if size.is_none() {
                    continue;
                }
                if let Some(set) = peek_set(ctx, key) {
                    for m in set.iter() {
                        result.add_member(&m, limits);
                    }
                }
            }
        }
        Op::Diff => {
            let same_set = keys[1..].iter().zip(&sizes[1..]).any(|(k, s)| s.is_some() && *k == keys[0]);
            if let Some(size0) = sizes[0]
                && !same_set
            {
                let present: Vec<usize> = sizes.iter().flatten().copied().collect();
                let algo_one_work = (size0 as u64 * present.len() as u64) / 2;
                let algo_two_work: u64 = present.iter().map(|&s| s as u64).sum();
                if algo_one_work <= algo_two_work {
                    // Members of the first set found in no other set.
                    let mut found: Vec<Vec<u8>> =
                        peek_set(ctx, keys[0]).map(|s| s.iter().map(|m| m.to_vec()).collect()).unwrap_or_default();
                    for (key, size) in keys[1..].iter().zip(&sizes[1..]) {
                        if size.is_none() || found.is_empty() {
                            continue;
                        }
                        if let Some(set) = peek_set(ctx, key) {
                            found.retain(|m| !set.contains(m));
                        }
                    }
                    for m in &found {
                        result.add(m, limits);
                    }
                } else {
                    // The first set, less every member of the others.
                    if let Some(set) = peek_set(ctx, keys[0]) {
                        for m in set.iter() {
                            result.add_member(&m, limits);
                        }
                    }
                    for (key, size) in keys[1..].iter().zip(&sizes[1..]) {
                        if size.is_none() {
                            continue;
                        }
                        if result.is_empty() {
                            break;
                        }
                        if let Some(set) = peek_set(ctx, key) {
                            for m in set.iter() {
                                result.remove_member(&m);
                            }
                        }
                    }
                }
            }
        }
    }
    match dst {
        Some(dst) => store(ctx, dst, result, if op == Op::Union { "sunionstore" } else { "sdiffstore" }),
        None => Ok(set_reply(result.iter())),
    }
}

/// SUNION key [key ...]: the members of any of the sets.
fn sunion(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    let keys: Vec<&[u8]> = args.iter_from(1).collect();
    union_diff_generic(ctx, &keys, None, Op::Union)
}

/// SUNIONSTORE destination key [key ...]: stores the union, replying with its size.
fn sunionstore(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    let keys: Vec<&[u8]> = args.iter_from(2).collect();
    union_diff_generic(ctx, &keys, Some(args.get(1)), Op::Union)
}

/// SDIFF key [key ...]: the members of the first set that are in none of the others.
fn sdiff(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    let keys: Vec<&[u8]> = args.iter_from(1).collect();
    union_diff_generic(ctx, &keys, None, Op::Diff)
}

/// SDIFFSTORE destination key [key ...]: stores the difference, replying with its size.
fn sdiffstore(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    let keys: Vec<&[u8]> = args.iter_from(2).collect();
    union_diff_generic(ctx, &keys, Some(args.get(1)), Op::Diff)
}

/// SSCAN key cursor [MATCH pattern] [COUNT count]: one step over the members. Small
/// encodings return every member with cursor 0, as Redis does.
fn sscan(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    let cursor = parse_scan_cursor(args.get(2)).ok_or(CmdError::from_static("ERR invalid cursor"))?;
    let Some(set) = read_set(ctx, args.get(1))? else {
        return Ok(Reply::Array(vec![Reply::bulk_static("0"), Reply::Array(Vec::new())]));
    };
    let (count, pattern) = scan_options(args, 3)?;
    let mut found = Vec::new();
    let mut visit = |m: Member<'_>| {
        let bytes = m.to_bytes();
        if pattern.is_none_or(|p| glob_match(p, &bytes, false)) {
            found.push(Reply::Bulk(bytes));
        }
    };
    let next = if set.is_hashtable() {
        set.scan(cursor, usize::try_from(count).unwrap_or(usize::MAX), &mut visit)
    } else {
        set.iter().for_each(&mut visit);
        0
    };
    Ok(Reply::Array(vec![Reply::bulk_string(next.to_string()), Reply::Array(found)]))
}
