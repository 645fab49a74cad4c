//! Keyspace commands (Redis's "generic" group): DEL, EXISTS, TYPE, RENAME, COPY, MOVE,
//! the EXPIRE and TTL families, KEYS, SCAN, RANDOMKEY, DBSIZE, FLUSHDB, FLUSHALL, SWAPDB
//! and OBJECT.
//!
//! Commands on keys run on the keys' shard (or gathered, see `MultiShard`); the
//! server-wide ones (KEYS, SCAN, RANDOMKEY, DBSIZE, FLUSHDB, FLUSHALL, SWAPDB) run on the
//! connection and visit every shard, holding them all when the change must be atomic.

use bytes::Bytes;

use super::arg::parse_scan_cursor;
use crate::command::error::{DB_INDEX_OUT_OF_RANGE, NO_SUCH_KEY, NOT_INTEGER, SYNTAX};
use crate::command::{CmdError, CmdResult, CommandImpl, Handler, LocalFuture, MultiShard};
use crate::config::MaxmemoryPolicy;
use crate::config::glob::glob_match;
use crate::protocol::{Args, Reply};
use crate::server::Session;
use crate::shard::db::{NO_EXPIRE, idle_seconds, lfu_decayed};
use crate::shard::notify::GENERIC;
use crate::shard::{Entry, KeyCtx, ShardState};
use crate::types::{StrValue, Value};
use crate::util::join_all;
use crate::util::num::parse_canonical_i64;

/// The keyspace family's commands.
pub const COMMANDS: &[CommandImpl] = &[
    CommandImpl { name: "del", handler: Handler::Keyed { run: del, multi: MultiShard::SumInts } },
    CommandImpl { name: "unlink", handler: Handler::Keyed { run: del, multi: MultiShard::SumInts } },
    CommandImpl { name: "exists", handler: Handler::Keyed { run: exists, multi: MultiShard::SumInts } },
    CommandImpl { name: "touch", handler: Handler::Keyed { run: touch, multi: MultiShard::SumInts } },
    CommandImpl { name: "type", handler: Handler::Keyed { run: type_cmd, multi: MultiShard::Gather } },
    CommandImpl { name: "rename", handler: Handler::Keyed { run: rename, multi: MultiShard::Gather } },
    CommandImpl { name: "renamenx", handler: Handler::Keyed { run: renamenx, multi: MultiShard::Gather } },
    CommandImpl { name: "copy", handler: Handler::Keyed { run: copy, multi: MultiShard::GatherDbs(copy_dbs) } },
    CommandImpl { name: "move", handler: Handler::Keyed { run: move_cmd, multi: MultiShard::Gather } },
    CommandImpl { name: "expire", handler: Handler::Keyed { run: expire, multi: MultiShard::Gather } },
    CommandImpl { name: "pexpire", handler: Handler::Keyed { run: pexpire, multi: MultiShard::Gather } },
    CommandImpl { name: "expireat", handler: Handler::Keyed { run: expireat, multi: MultiShard::Gather } },
    CommandImpl { name: "pexpireat", handler: Handler::Keyed { run: pexpireat, multi: MultiShard::Gather } },
    CommandImpl { name: "ttl", handler: Handler::Keyed { run: ttl, multi: MultiShard::Gather } },
    CommandImpl { name: "pttl", handler: Handler::Keyed { run: pttl, multi: MultiShard::Gather } },
    CommandImpl { name: "expiretime", handler: Handler::Keyed { run: expiretime, multi: MultiShard::Gather } },
    CommandImpl { name: "pexpiretime", handler: Handler::Keyed { run: pexpiretime, multi: MultiShard::Gather } },
    CommandImpl { name: "persist", handler: Handler::Keyed { run: persist, multi: MultiShard::Gather } },
    CommandImpl { name: "keys", handler: Handler::Async(keys) },
    CommandImpl { name: "scan", handler: Handler::Async(scan) },
    CommandImpl { name: "randomkey", handler: Handler::Async(randomkey) },
    CommandImpl { name: "dbsize", handler: Handler::Async(dbsize) },
    CommandImpl { name: "flushdb", handler: Handler::Async(flushdb) },
    CommandImpl { name: "flushall", handler: Handler::Async(flushall) },
    CommandImpl { name: "swapdb", handler: Handler::Async(swapdb) },
    CommandImpl {
        name: "object|encoding",
        handler: Handler::Keyed { run: object_encoding, multi: MultiShard::Gather },
    },
    CommandImpl { name: "object|freq", handler: Handler::Keyed { run: object_freq, multi: MultiShard::Gather } },
    CommandImpl {
        name: "object|idletime",
        handler: Handler::Keyed { run: object_idletime, multi: MultiShard::Gather },
    },
    CommandImpl {
        name: "object|refcount",
        handler: Handler::Keyed { run: object_refcount, multi: MultiShard::Gather },
    },
    CommandImpl { name: "object|help", handler: Handler::Local(object_help) },
];

/// `ERR source and destination objects are the same`.
const SAME_OBJECT: CmdError = CmdError::from_static("ERR source and destination objects are the same");

/// Redis's `OBJ_SHARED_REFCOUNT`: the reference count OBJECT REFCOUNT reports for shared objects.
const SHARED_REFCOUNT: i64 = i32::MAX as i64;

/// Redis's `OBJ_SHARED_INTEGERS`: integers below this are shared objects.
const SHARED_INTEGERS: i64 = 10_000;

/// Bits of a SCAN cursor that hold the shard index.
const SCAN_SHARD_BITS: u32 = 12;

/// Looks `key` up without touching its access metadata, counting a keyspace hit or miss
/// (Redis's `lookupKeyReadWithFlags(..., LOOKUP_NOTOUCH)`; a miss is a `keymiss` event).
fn peek_counted<'c>(ctx: &'c mut KeyCtx<'_>, key: &[u8]) -> Option<&'c Entry> {
    peek_counted_with(ctx, key, true)
}

/// As [`peek_counted`]; `keymiss` events only when `notify_miss` (OBJECT has none).
fn peek_counted_with<'c>(ctx: &'c mut KeyCtx<'_>, key: &[u8], notify_miss: bool) -> Option<&'c Entry> {
    let now = ctx.now_ms();
    let db = ctx.db;
    let ks = &mut *ctx.ks;
    let entry = if notify_miss { ks.dbs[db].peek_read(key, now) } else { ks.dbs[db].peek(key, now) };
    if entry.is_some() {
        ks.hits += 1;
    } else {
        ks.misses += 1;
    }
    entry
}

/// Whether `key` is live, looked up for writing (Redis's `lookupKeyWrite`: touches, no statistics).
fn exists_for_write(ctx: &mut KeyCtx<'_>, key: &[u8]) -> bool {
    ctx.write(key).is_some()
}

/// `ERR value is out of range, value must between -2147483648 and 2147483647`.
const NOT_INT_RANGE: CmdError =
    CmdError::from_static("ERR value is out of range, value must between -2147483648 and 2147483647");

/// Parses an `int`-sized integer argument as Redis's `getIntFromObjectOrReply` does: a
/// non-integer or out-of-range argument gives `msg` if given, else Redis's default errors.
fn parse_int(arg: &[u8], msg: Option<CmdError>) -> Result<i64, CmdError> {
    let Some(n) = parse_canonical_i64(arg) else {
        return Err(msg.unwrap_or(NOT_INTEGER));
    };
    if i32::try_from(n).is_err() {
        return Err(msg.unwrap_or(NOT_INT_RANGE));
    }
    Ok(n)
}

/// A database index from `arg` (MOVE, COPY ... DB): integer errors as `getIntFromObjectOrReply`,
/// then `ERR DB index is out of range`.
fn parse_db_index(arg: &[u8], databases: usize) -> Result<usize, CmdError> {
    let n = parse_int(arg, None)?;
    if n < 0 || n as usize >= databases {
        return Err(DB_INDEX_OUT_OF_RANGE);
    }
    Ok(n as usize)
}

/// DEL key [key ...] (also UNLINK): removes the keys; the number removed.
fn del(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    let now = ctx.now_ms();
    let mut removed = 0;
    for key in args.iter_from(1) {
        if let Some(entry) = ctx.db().take(key, now) {
            crate::util::lazyfree::release(entry.value);
            ctx.notify(GENERIC, "del", key);
            removed += 1;
        }
    }
    ctx.dirty(removed as u64);
    Ok(Reply::Int(removed))
}

/// EXISTS key [key ...]: how many of the keys exist (a key named twice counts twice).
fn exists(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    let mut found = 0;
    for key in args.iter_from(1) {
        if peek_counted(ctx, key).is_some() {
            found += 1;
        }
    }
    Ok(Reply::Int(found))
}

/// TOUCH key [key ...]: updates the keys' access time (even under CLIENT NO-TOUCH); how many exist.
fn touch(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    ctx.access.no_touch = false;
    let mut found = 0;
    for key in args.iter_from(1) {
        if ctx.read(key).is_some() {
            found += 1;
        }
    }
    Ok(Reply::Int(found))
}

/// TYPE key: the type of the key's value as a status reply, `none` if absent.
fn type_cmd(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    Ok(match peek_counted(ctx, args.get(1)) {
        Some(entry) => Reply::simple(entry.value.type_name()),
        None => Reply::simple("none"),
    })
}

/// RENAME key newkey: renames the key, replacing newkey, keeping the TTL.
fn rename(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    rename_generic(ctx, args, false)
}

/// RENAMENX key newkey: renames the key only if newkey does not exist; 1 if renamed.
fn renamenx(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    rename_generic(ctx, args, true)
}

fn rename_generic(ctx: &mut KeyCtx<'_>, args: Args<'_>, nx: bool) -> CmdResult {
    let (src, dst) = (args.get(1), args.get(2));
    let done = if nx { Reply::Int(1) } else { Reply::Ok };
    if !exists_for_write(ctx, src) {
        return Err(NO_SUCH_KEY);
    }
    if src == dst {
        return Ok(if nx { Reply::Int(0) } else { Reply::Ok });
    }
    let now = ctx.now_ms();
    if nx && exists_for_write(ctx, dst) {
        return Ok(Reply::Int(0));
    }
    let Some(entry) = ctx.db().take(src, now) else {
        return Err(NO_SUCH_KEY);
    };
    // Redis deletes an existing destination and adds the key anew (a `new` event).
    ctx.db().remove(dst);
    ctx.db().insert(dst, entry);
    ctx.notify(GENERIC, "rename_from", src);
    ctx.notify(GENERIC, "rename_to", dst);
    ctx.dirty(1);
    Ok(done)
}

/// The databases COPY touches: the selected one and the `DB` option's (for gathering
/// across shards). Bad options are reported by the command itself.
fn copy_dbs(args: Args<'_>, db: usize) -> Result<Vec<usize>, CmdError> {
    let mut dbs = vec![db];
    let mut j = 3;
    while j < args.len() {
        if args.get(j).eq_ignore_ascii_case(b"db") && j + 1 < args.len() {
            if let Ok(n) = parse_int(args.get(j + 1), None)
                && n >= 0
                && !dbs.contains(&(n as usize))
            {
                dbs.push(n as usize);
            }
            j += 2;
        } else {
            j += 1;
        }
    }
    Ok(dbs)
}

/// COPY source destination [DB destination-db] [REPLACE]: copies the value (and TTL); 1 if copied.
fn copy(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    let (src, dst) = (args.get(1), args.get(2));
    let mut replace = false;
    let mut dst_db = ctx.db;
    let mut j = 3;
    while j < args.len() {
        let opt = args.get(j);
        if opt.eq_ignore_ascii_case(b"replace") {
            replace = true;
        } else if opt.eq_ignore_ascii_case(b"db") && j + 1 < args.len() {
            dst_db = parse_db_index(args.get(j + 1), ctx.ks.dbs.len())?;
            j += 1;
        } else {
            return Err(SYNTAX);
        }
        j += 1;
    }
    if dst_db == ctx.db && src == dst {
        return Err(SAME_OBJECT);
    }
    let (value, expire_at) = match ctx.read(src) {
        Some(entry) => (entry.value.clone(), entry.expire_at),
        None => return Ok(Reply::Int(0)),
    };
    let now = ctx.now_ms();
    let access = ctx.access;
    let target = &mut ctx.ks.dbs[dst_db];
    if target.contains(dst, now) && !replace {
        return Ok(Reply::Int(0));
    }
    target.remove(dst);
    target.insert(dst, Entry { value, expire_at, access: access.fresh() });
    ctx.notify_db(GENERIC, "copy_to", dst_db, dst);
    ctx.dirty(1);
    Ok(Reply::Int(1))
}

/// MOVE key db: moves the key to another database of this server; 1 if moved.
fn move_cmd(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    let key = args.get(1);
    let target = parse_db_index(args.get(2), ctx.ks.dbs.len())?;
    if target == ctx.db {
        return Err(SAME_OBJECT);
    }
    if !exists_for_write(ctx, key) {
        return Ok(Reply::Int(0));
    }
    let now = ctx.now_ms();
    if ctx.ks.dbs[target].contains(key, now) {
        return Ok(Reply::Int(0));
    }
    let Some(entry) = ctx.db().take(key, now) else {
        return Ok(Reply::Int(0));
    };
    ctx.ks.dbs[target].insert(key, entry);
    ctx.notify(GENERIC, "move_from", key);
    ctx.notify_db(GENERIC, "move_to", target, key);
    ctx.dirty(1);
    Ok(Reply::Int(1))
}

/// EXPIRE key seconds [NX|XX|GT|LT]: sets a TTL in seconds; 1 if set (or the key deleted).
fn expire(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    let now = ctx.now_ms();
    expire_generic(ctx, args, now, true, "expire")
}

/// PEXPIRE key milliseconds [NX|XX|GT|LT]: sets a TTL in milliseconds.
fn pexpire(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    let now = ctx.now_ms();
    expire_generic(ctx, args, now, false, "pexpire")
}

/// EXPIREAT key unix-seconds [NX|XX|GT|LT]: sets an absolute expiry in seconds.
fn expireat(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    expire_generic(ctx, args, 0, true, "expireat")
}

/// PEXPIREAT key unix-ms [NX|XX|GT|LT]: sets an absolute expiry in milliseconds.
fn pexpireat(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    expire_generic(ctx, args, 0, false, "pexpireat")
}

/// Redis's `expireGenericCommand`: options, overflow checks, NX/XX/GT/LT, past times delete.
fn expire_generic(ctx: &mut KeyCtx<'_>, args: Args<'_>, base: i64, seconds: bool, name: &str) -> CmdResult {
    let (mut nx, mut xx, mut gt, mut lt) = (false, false, false, false);
    for opt in args.iter_from(3) {
        if opt.eq_ignore_ascii_case(b"nx") {
            nx = true;
        } else if opt.eq_ignore_ascii_case(b"xx") {
            xx = true;
        } else if opt.eq_ignore_ascii_case(b"gt") {
            gt = true;
        } else if opt.eq_ignore_ascii_case(b"lt") {
            lt = true;
        } else {
            return Err(CmdError::err(format!("Unsupported option {}", String::from_utf8_lossy(opt))));
        }
    }
    if nx && (xx || gt || lt) {
        return Err(CmdError::from_static("ERR NX and XX, GT or LT options at the same time are not compatible"));
    }
    if gt && lt {
        return Err(CmdError::from_static("ERR GT and LT options at the same time are not compatible"));
    }
    let mut when = parse_canonical_i64(args.get(2)).ok_or(NOT_INTEGER)?;
    if seconds {
        when = when.checked_mul(1000).ok_or_else(|| CmdError::invalid_expire(name))?;
    }
    if when > i64::MAX - base {
        return Err(CmdError::invalid_expire(name));
    }
    when += base;

    let key = args.get(1);
    let now = ctx.now_ms();
    let current = match ctx.write(key) {
        Some(entry) => entry.expire_at,
        None => return Ok(Reply::Int(0)),
    };
    let has_ttl = current != NO_EXPIRE;
    if (nx && has_ttl)
        || (xx && !has_ttl)
        || (gt && (!has_ttl || when <= current))
        || (lt && has_ttl && when >= current)
    {
        return Ok(Reply::Int(0));
    }
    if when <= now {
        ctx.db().take(key, now);
        ctx.notify(GENERIC, "del", key);
    } else {
        ctx.db().set_expire(key, when, now);
        ctx.notify(GENERIC, "expire", key);
    }
    ctx.dirty(1);
    Ok(Reply::Int(1))
}

/// The TTL family: -2 if no key, -1 if no TTL, else the remaining (or absolute) time.
fn ttl_generic(ctx: &mut KeyCtx<'_>, args: Args<'_>, ms: bool, absolute: bool) -> CmdResult {
    let now = ctx.now_ms();
    let Some(entry) = peek_counted(ctx, args.get(1)) else {
        return Ok(Reply::Int(-2));
    };
    if entry.expire_at == NO_EXPIRE {
        return Ok(Reply::Int(-1));
    }
    let t = if absolute { entry.expire_at } else { entry.expire_at.saturating_sub(now) }.max(0);
    Ok(Reply::Int(if ms { t } else { t.saturating_add(500) / 1000 }))
}

/// TTL key: remaining time to live in seconds (-1 no TTL, -2 no key).
fn ttl(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    ttl_generic(ctx, args, false, false)
}

/// PTTL key: remaining time to live in milliseconds (-1 no TTL, -2 no key).
fn pttl(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    ttl_generic(ctx, args, true, false)
}

/// EXPIRETIME key: absolute expiry as a Unix time in seconds (-1 no TTL, -2 no key).
fn expiretime(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    ttl_generic(ctx, args, false, true)
}

/// PEXPIRETIME key: absolute expiry as a Unix time in milliseconds (-1 no TTL, -2 no key).
fn pexpiretime(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    ttl_generic(ctx, args, true, true)
}

/// PERSIST key: removes the key's TTL; 1 if it had one.
fn persist(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    let key = args.get(1);
    let current = match ctx.write(key) {
        Some(entry) => entry.expire_at,
        None => return Ok(Reply::Int(0)),
    };
    if current == NO_EXPIRE {
        return Ok(Reply::Int(0));
    }
    let now = ctx.now_ms();
    ctx.db().set_expire(key, NO_EXPIRE, now);
    ctx.notify(GENERIC, "persist", key);
    ctx.dirty(1);
    Ok(Reply::Int(1))
}

/// OBJECT ENCODING key: the internal representation of the key's value.
fn object_encoding(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    Ok(match peek_counted_with(ctx, args.get(2), false) {
        Some(entry) => Reply::bulk_static(entry.value.encoding()),
        None => Reply::Nil,
    })
}

/// OBJECT FREQ key: the key's logarithmic access frequency (LFU policies only).
fn object_freq(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    let lfu = ctx.cfg.maxmemory_policy_is_lfu();
    let decay = ctx.cfg.lfu_decay_time();
    let now = ctx.now_ms();
    let Some(entry) = peek_counted_with(ctx, args.get(2), false) else {
        return Ok(Reply::Nil);
    };
    if !lfu {
        return Err(CmdError::from_static(
            "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.",
        ));
    }
    Ok(Reply::Int(i64::from(lfu_decayed(entry.access, now, decay))))
}

/// OBJECT IDLETIME key: seconds since the key was last used (not under LFU policies).
fn object_idletime(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    let lfu = ctx.cfg.maxmemory_policy_is_lfu();
    let now = ctx.now_ms();
    let Some(entry) = peek_counted_with(ctx, args.get(2), false) else {
        return Ok(Reply::Nil);
    };
    if lfu {
        return Err(CmdError::from_static(
            "ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.",
        ));
    }
    Ok(Reply::Int(idle_seconds(entry.access, now) as i64))
}

/// OBJECT REFCOUNT key: the value's reference count (shared small integers report INT_MAX).
fn object_refcount(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    // Redis shares integers 0..10000 unless maxmemory is set with an LRU/LFU policy.
    let policy = ctx.cfg.maxmemory_policy();
    let lru_or_lfu = matches!(
        policy,
        MaxmemoryPolicy::VolatileLru
            | MaxmemoryPolicy::AllkeysLru
            | MaxmemoryPolicy::VolatileLfu
            | MaxmemoryPolicy::AllkeysLfu
    );
    let sharing = ctx.cfg.maxmemory() == 0 || !lru_or_lfu;
    let Some(entry) = peek_counted_with(ctx, args.get(2), false) else {
        return Ok(Reply::Nil);
    };
    let shared = sharing && matches!(&entry.value, Value::Str(StrValue::Int(n)) if (0..SHARED_INTEGERS).contains(n));
    Ok(Reply::Int(if shared { SHARED_REFCOUNT } else { 1 }))
}

/// OBJECT HELP: the subcommands and what they do.
fn object_help(_session: &mut Session, args: Args<'_>) -> CmdResult {
    const LINES: &[&str] = &[
        "ENCODING <key>",
        "    Return the kind of internal representation used in order to store the value",
        "    associated with a <key>.",
        "FREQ <key>",
        "    Return the access frequency index of the <key>. The returned integer is",
        "    proportional to the logarithm of the recent access frequency of the key.",
        "IDLETIME <key>",
        "    Return the idle time of the <key>, that is the approximated number of",
        "    seconds elapsed since the last access to the key.",
        "REFCOUNT <key>",
        "    Return the number of references of the value associated with the specified",
        "    <key>.",
        "HELP",
        "    Prints this help.",
    ];
    let name = String::from_utf8_lossy(args.get(0)).to_ascii_uppercase();
    let mut out = Vec::with_capacity(LINES.len() + 1);
    out.push(Reply::Simple(Bytes::from(format!("{name} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"))));
    out.extend(LINES.iter().map(|line| Reply::simple(line)));
    Ok(Reply::Array(out))
}

/// KEYS pattern: every live key of the selected database matching the glob, over all shards.
fn keys<'a>(s: &'a mut Session, args: Args<'a>) -> LocalFuture<'a, CmdResult> {
    Box::pin(async move {
        let db = s.db();
        let pattern = args.get(1).to_vec();
        let all = pattern.as_slice() == b"*";
        let mut futures = Vec::with_capacity(s.node.shards);
        for shard in 0..s.node.shards {
            let pattern = pattern.clone();
            futures.push(s.node.run_on(shard, s.tx_id(), move |state: &mut ShardState| {
                let now = crate::util::now_ms();
                let mut out = Vec::new();
                if let Some(database) = state.keyspace.dbs.get(db) {
                    database.for_each_live(now, |key, _| {
                        if all || glob_match(&pattern, key, false) {
                            out.push(Bytes::copy_from_slice(key));
                        }
                    });
                }
                out
            }));
        }
        let mut replies = Vec::new();
        for found in join_all(futures).await {
            replies.extend(found?.into_iter().map(Reply::Bulk));
        }
        Ok(Reply::Array(replies))
    })
}

/// SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]: one step of an incremental walk
/// over the selected database. The cursor is `(position << 12) | shard`: shards are
/// walked in order, each with its own position cursor.
fn scan<'a>(s: &'a mut Session, args: Args<'a>) -> LocalFuture<'a, CmdResult> {
    Box::pin(async move {
        let Some(cursor) = parse_scan_cursor(args.get(1)) else {
            return Err(CmdError::from_static("ERR invalid cursor"));
        };
        let mut count: i64 = 10;
        let mut pattern: Option<Vec<u8>> = None;
        let mut type_name: Option<Vec<u8>> = None;
        let mut i = 2;
        while i < args.len() {
            let opt = args.get(i);
            let has_value = i + 1 < args.len();
            if opt.eq_ignore_ascii_case(b"count") && has_value {
                count = parse_canonical_i64(args.get(i + 1)).ok_or(NOT_INTEGER)?;
                if count < 1 {
                    return Err(SYNTAX);
                }
            } else if opt.eq_ignore_ascii_case(b"match") && has_value {
                let p = args.get(i + 1);
                pattern = if p == b"*" { None } else { Some(p.to_vec()) };
            } else if opt.eq_ignore_ascii_case(b"type") && has_value {
                type_name = Some(args.get(i + 1).to_vec());
            } else {
                return Err(SYNTAX);
            }
            i += 2;
        }
        let db = s.db();
        let shards = s.node.shards;
        let mut shard = (cursor & ((1 << SCAN_SHARD_BITS) - 1)) as usize;
        let mut pos = cursor >> SCAN_SHARD_BITS;
        let mut budget = usize::try_from(count).unwrap_or(usize::MAX);
        let mut found: Vec<Reply> = Vec::new();
        let next = loop {
            if shard >= shards {
                break 0;
            }
            let pattern = pattern.clone();
            let type_name = type_name.clone();
            let (keys, next_pos, used) = s
                .node
                .run_on(shard, s.tx_id(), move |state: &mut ShardState| {
                    let now = crate::util::now_ms();
                    let mut keys = Vec::new();
                    let Some(database) = state.keyspace.dbs.get_mut(db) else {
                        return (keys, 0, 0);
                    };
                    let len = database.len() as u64;
                    let start = if pos == 0 || pos > len { len } else { pos };
                    let next = database.scan(pos, budget, now, |key, entry| {
                        if let Some(p) = &pattern
                            && !glob_match(p, key, false)
                        {
                            return;
                        }
                        if let Some(t) = &type_name
                            && !entry.value.type_name().as_bytes().eq_ignore_ascii_case(t)
                        {
                            return;
                        }
                        keys.push(Bytes::copy_from_slice(key));
                    });
                    (keys, next, start.saturating_sub(next) as usize)
                })
                .await?;
            found.extend(keys.into_iter().map(Reply::Bulk));
            if next_pos != 0 {
                break (next_pos << SCAN_SHARD_BITS) | shard as u64;
            }
            shard += 1;
            pos = 0;
            budget = budget.saturating_sub(used);
            if shard >= shards {
                break 0;
            }
            if budget == 0 {
                break shard as u64;
            }
        };
        Ok(Reply::Array(vec![Reply::bulk_string(next.to_string()), Reply::Array(found)]))
    })
}

/// The number of keys in database `db` of every shard.
async fn shard_sizes(s: &Session, db: usize) -> Result<Vec<usize>, CmdError> {
    let mut futures = Vec::with_capacity(s.node.shards);
    for shard in 0..s.node.shards {
        futures.push(
            s.node.run_on(shard, s.tx_id(), move |state: &mut ShardState| {
                state.keyspace.dbs.get(db).map_or(0, |d| d.len())
            }),
        );
    }
    let mut sizes = Vec::with_capacity(futures.len());
    for size in join_all(futures).await {
        sizes.push(size?);
    }
    Ok(sizes)
}

/// RANDOMKEY: a random key of the selected database (shards weighted by size), or nil.
fn randomkey<'a>(s: &'a mut Session, _args: Args<'a>) -> LocalFuture<'a, CmdResult> {
    Box::pin(async move {
        let db = s.db();
        // A shard may empty between counting and picking: count again a few times.
        for _ in 0..8 {
            let sizes = shard_sizes(s, db).await?;
            let total: usize = sizes.iter().sum();
            if total == 0 {
                return Ok(Reply::Nil);
            }
            let mut pick = (crate::util::rand_u64() % total as u64) as usize;
            let mut shard = 0;
            for (i, &size) in sizes.iter().enumerate() {
                if pick < size {
                    shard = i;
                    break;
                }
                pick -= size;
            }
            let key = s
                .node
                .run_on(shard, s.tx_id(), move |state: &mut ShardState| {
                    let now = crate::util::now_ms();
                    state.keyspace.dbs.get_mut(db).and_then(|d| d.random_key(now))
                })
                .await?;
            if let Some(key) = key {
                return Ok(Reply::Bulk(Bytes::copy_from_slice(&key)));
            }
        }
        Ok(Reply::Nil)
    })
}

/// DBSIZE: the number of keys in the selected database, over all shards.
fn dbsize<'a>(s: &'a mut Session, _args: Args<'a>) -> LocalFuture<'a, CmdResult> {
    Box::pin(async move {
        let db = s.db();
        let total: usize = shard_sizes(s, db).await?.iter().sum();
        Ok(Reply::Int(total as i64))
    })
}

/// Checks FLUSHDB/FLUSHALL's optional `ASYNC|SYNC` argument.
fn check_flush_args(args: Args<'_>) -> Result<(), CmdError> {
    match args.len() {
        1 => Ok(()),
        2 if args.get(1).eq_ignore_ascii_case(b"sync") || args.get(1).eq_ignore_ascii_case(b"async") => Ok(()),
        _ => Err(SYNTAX),
    }
}

/// Holds every shard and empties database `db` (or all of them) on each; atomic across shards.
async fn flush(s: &Session, db: Option<usize>) -> CmdResult {
    let tx = s.hold(0..s.node.shards).await?;
    let mut futures = Vec::with_capacity(s.node.shards);
    for shard in 0..s.node.shards {
        futures.push(tx.run(shard, move |state: &mut ShardState| {
            let keyspace = &mut state.keyspace;
            let mut removed = 0;
            for (i, database) in keyspace.dbs.iter_mut().enumerate() {
                if db.is_none_or(|d| d == i) {
                    removed += database.len() as u64;
                    database.clear();
                }
            }
            keyspace.dirty += removed;
            // Every shard journals its own flush.
            let now = crate::util::now_ms();
            match db {
                Some(d) => crate::persist::journal::record(keyspace, d, now, &[b"FLUSHDB"]),
                None => crate::persist::journal::record(keyspace, 0, now, &[b"FLUSHALL"]),
            }
        }));
    }
    for result in join_all(futures).await {
        result?;
    }
    drop(tx);
    Ok(Reply::Ok)
}

/// FLUSHDB [ASYNC|SYNC]: removes every key of the selected database.
fn flushdb<'a>(s: &'a mut Session, args: Args<'a>) -> LocalFuture<'a, CmdResult> {
    Box::pin(async move {
        check_flush_args(args)?;
        let db = s.db();
        flush(s, Some(db)).await
    })
}

/// FLUSHALL [ASYNC|SYNC]: removes every key of every database.
fn flushall<'a>(s: &'a mut Session, args: Args<'a>) -> LocalFuture<'a, CmdResult> {
    Box::pin(async move {
        check_flush_args(args)?;
        flush(s, None).await
    })
}

/// SWAPDB index1 index2: swaps two databases, on every shard at once.
fn swapdb<'a>(s: &'a mut Session, args: Args<'a>) -> LocalFuture<'a, CmdResult> {
    Box::pin(async move {
        let a = parse_int(args.get(1), Some(CmdError::from_static("ERR invalid first DB index")))?;
        let b = parse_int(args.get(2), Some(CmdError::from_static("ERR invalid second DB index")))?;
        let databases = s.config().databases() as i64;
        if a < 0 || a >= databases || b < 0 || b >= databases {
            return Err(DB_INDEX_OUT_OF_RANGE);
        }
        let (a, b) = (a.min(b) as usize, a.max(b) as usize);
        let tx = s.hold(0..s.node.shards).await?;
        let mut futures = Vec::with_capacity(s.node.shards);
        for shard in 0..s.node.shards {
            futures.push(tx.run(shard, move |state: &mut ShardState| {
                if a != b && b < state.keyspace.dbs.len() {
                    let (low, high) = state.keyspace.dbs.split_at_mut(b);
                    low[a].swap_contents(&mut high[0]);
                }
                let (first, second) = (a.to_string(), b.to_string());
                let now = crate::util::now_ms();
                crate::persist::journal::record(
                    &mut state.keyspace,
                    0,
                    now,
                    &[b"SWAPDB", first.as_bytes(), second.as_bytes()],
                );
                if shard == 0 {
                    state.keyspace.dirty += 1;
                }
            }));
        }
        for result in join_all(futures).await {
            result?;
        }
        drop(tx);
        Ok(Reply::Ok)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scan_cursor_parses_like_strtoul() {
        assert_eq!(parse_scan_cursor(b""), Some(0));
        assert_eq!(parse_scan_cursor(b"0"), Some(0));
        assert_eq!(parse_scan_cursor(b"007"), Some(7));
        assert_eq!(parse_scan_cursor(b"+5"), Some(5));
        assert_eq!(parse_scan_cursor(b"-1"), Some(u64::MAX));
        assert_eq!(parse_scan_cursor(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_scan_cursor(b"18446744073709551616"), None);
        assert_eq!(parse_scan_cursor(b" 1"), None);
        assert_eq!(parse_scan_cursor(b"1 "), None);
        assert_eq!(parse_scan_cursor(b"+"), None);
        assert_eq!(parse_scan_cursor(b"-"), None);
        assert_eq!(parse_scan_cursor(b"0x1"), None);
        assert_eq!(parse_scan_cursor(b"abc"), None);
    }

    #[test]
    fn copy_dbs_names_the_target_database() {
        let args = crate::protocol::OwnedArgs::from_slices(["copy", "a", "b", "DB", "3", "replace"]);
        assert_eq!(copy_dbs(args.view(), 0), Ok(vec![0, 3]));
        let args = crate::protocol::OwnedArgs::from_slices(["copy", "a", "b", "db", "x"]);
        assert_eq!(copy_dbs(args.view(), 1), Ok(vec![1]));
    }
}
