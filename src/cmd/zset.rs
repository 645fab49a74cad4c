//! Sorted set commands: ZADD ZINCRBY ZREM ZCARD ZSCORE ZMSCORE ZRANK ZREVRANK ZRANGE
//! ZRANGESTORE ZREVRANGE ZRANGEBYSCORE ZREVRANGEBYSCORE ZRANGEBYLEX ZREVRANGEBYLEX ZCOUNT
//! ZLEXCOUNT ZREMRANGEBYRANK ZREMRANGEBYSCORE ZREMRANGEBYLEX ZPOPMIN ZPOPMAX ZMPOP ZUNION
//! ZINTER ZDIFF ZUNIONSTORE ZINTERSTORE ZDIFFSTORE ZINTERCARD ZRANDMEMBER ZSCAN.
//!
//! Every command follows Redis 7.0's `t_zset.c` (ZRANK/ZREVRANK WITHSCORE as in 7.2): the
//! same order of checks, the same replies and reply types (scores are doubles: RESP3
//! doubles, RESP2 bulk strings in `%.17g`; WITHSCORES pairs nest in RESP3 only), and the
//! same encodings (see [`crate::types::zset`]). A sorted set left empty is deleted; a STORE
//! with an empty result deletes the destination. Multi-key commands gather their keys when
//! they span shards.

use bytes::Bytes;

use super::arg::{int_arg, is_opt, parse_scan_cursor, scan_options};
use crate::command::error::{NOT_FLOAT, SYNTAX, WRONG_TYPE};
use crate::command::{CmdError, CmdResult, CommandImpl, Handler, MultiShard};
use crate::config::glob::glob_match;
use crate::protocol::{Args, Reply};
use crate::shard::KeyCtx;
use crate::shard::notify::{GENERIC, KEY_MISS, ZSET};
use crate::types::zset::ZSetLimits;
use crate::types::{Value, ZSetValue};
use crate::util::num::{format_double, parse_canonical_i64, parse_f64};

/// A keyed command; the multi-key ones gather their keys when they span shards.
const fn keyed(name: &'static str, run: crate::command::KeyedFn) -> CommandImpl {
    CommandImpl { name, handler: Handler::Keyed { run, multi: MultiShard::Gather } }
}

/// The zset family's commands.
pub const COMMANDS: &[CommandImpl] = &[
    keyed("zadd", zadd),
    keyed("zincrby", zincrby),
    keyed("zrem", zrem),
    keyed("zcard", zcard),
    keyed("zscore", zscore),
    keyed("zmscore", zmscore),
    keyed("zrank", zrank),
    keyed("zrevrank", zrevrank),
    keyed("zrange", zrange),
    keyed("zrangestore", zrangestore),
    keyed("zrevrange", zrevrange),
    keyed("zrangebyscore", zrangebyscore),
    keyed("zrevrangebyscore", zrevrangebyscore),
    keyed("zrangebylex", zrangebylex),
    keyed("zrevrangebylex", zrevrangebylex),
    keyed("zcount", zcount),
    keyed("zlexcount", zlexcount),
    keyed("zremrangebyrank", zremrangebyrank),
    keyed("zremrangebyscore", zremrangebyscore),
    keyed("zremrangebylex", zremrangebylex),
    keyed("zpopmin", zpopmin),
    keyed("zpopmax", zpopmax),
    keyed("zmpop", zmpop),
    keyed("zunion", zunion),
    keyed("zinter", zinter),
    keyed("zdiff", zdiff),
    keyed("zunionstore", zunionstore),
    keyed("zinterstore", zinterstore),
    keyed("zdiffstore", zdiffstore),
    keyed("zintercard", zintercard),
    keyed("zrandmember", zrandmember),
    keyed("zscan", zscan),
];

/// Most members ZRANDMEMBER with a negative count repeats into one reply: Redis streams
/// such a reply; tallkv builds it in memory, so it bounds it.
const MAX_REPEATED_MEMBERS: u64 = 1 << 24;

fn limits(ctx: &KeyCtx<'_>) -> ZSetLimits {
    ZSetLimits { max_entries: ctx.cfg.zset_max_listpack_entries(), max_value: ctx.cfg.zset_max_listpack_value() }
}

/// The sorted set under `key` for reading: `Ok(None)` if absent, WRONGTYPE if not a zset.
fn read_zset<'c>(ctx: &'c mut KeyCtx<'_>, key: &[u8]) -> Result<Option<&'c ZSetValue>, CmdError> {
    match ctx.read(key) {
        None => Ok(None),
        Some(entry) => match &entry.value {
            Value::ZSet(z) => Ok(Some(z)),
            _ => Err(WRONG_TYPE),
        },
    }
}

/// Stores `result` under `dst` (deleting `dst` when empty), replying with its size;
/// `event` is the command's keyspace event.
fn store(ctx: &mut KeyCtx<'_>, dst: &[u8], result: ZSetValue, event: &'static str) -> CmdResult {
    let len = result.len() as i64;
    if len > 0 {
        ctx.set(dst, Value::ZSet(Box::new(result)));
        ctx.notify(ZSET, event, dst);
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

/// A sorted set built from entries.
/// Like Redis's stores, a result too big for a listpack is a skiplist from the start.
fn build(entries: Vec<(f64, Bytes)>, limits: ZSetLimits) -> ZSetValue {
    let mut z = ZSetValue::new();
    let longest = entries.iter().map(|(_, m)| m.len()).max().unwrap_or(0);
    if entries.len() > limits.max_entries || longest > limits.max_value {
        z.convert_to_skiplist();
    }
    for (s, m) in entries {
        z.insert(s, &m, limits);
    }
    z
}

/// Entries as a reply: members, or (member, score) pairs.
fn entries_reply(entries: Vec<(f64, Bytes)>, withscores: bool) -> Reply {
    if withscores {
        Reply::Pairs(entries.into_iter().map(|(s, m)| (Reply::Bulk(m), Reply::Double(s))).collect())
    } else {
        Reply::Array(entries.into_iter().map(|(_, m)| Reply::Bulk(m)).collect())
    }
}

/// A score argument as Redis's `getDoubleFromObject` reads it (no overflow to infinity).
fn score_arg(arg: &[u8]) -> Option<f64> {
    let v = parse_f64(arg)?;
    if v.is_infinite() && !arg.to_ascii_lowercase().windows(3).any(|w| w == b"inf") {
        return None;
    }
    Some(v)
}

/// A range bound as `zslParseRange` reads it with `strtod` (leading spaces and an empty
/// string, read as 0, are accepted).
fn range_f64(arg: &[u8]) -> Option<f64> {
    let start = arg.iter().position(|c| !c.is_ascii_whitespace()).unwrap_or(arg.len());
    let text = &arg[start..];
    if text.is_empty() {
        return if start == 0 { Some(0.0) } else { None };
    }
    parse_f64(text)
}

/// A score range: `min`/`max` with exclusivity.
#[derive(Clone, Copy)]
struct ScoreRange {
    min: f64,
    minex: bool,
    max: f64,
    maxex: bool,
}

impl ScoreRange {
    fn parse(min: &[u8], max: &[u8]) -> Result<ScoreRange, CmdError> {
        let bound = |a: &[u8]| match a.first() {
            Some(b'(') => range_f64(&a[1..]).map(|v| (v, true)),
            _ => range_f64(a).map(|v| (v, false)),
        };
        match (bound(min), bound(max)) {
            (Some((min, minex)), Some((max, maxex))) => Ok(ScoreRange { min, minex, max, maxex }),
            _ => Err(CmdError::from_static("ERR min or max is not a float")),
        }
    }

    /// The ranks `[lo, hi)` in range.
    fn ranks(&self, z: &ZSetValue) -> (usize, usize) {
        let lo = z.partition_point(|s, _| if self.minex { s <= self.min } else { s < self.min });
        let hi = z.partition_point(|s, _| if self.maxex { s < self.max } else { s <= self.max });
        (lo, hi.max(lo))
    }
}

/// One end of a lex range.
enum LexBound {
    NegInf,
    PosInf,
    Incl(Vec<u8>),
    Excl(Vec<u8>),
}

impl LexBound {
    fn parse(a: &[u8]) -> Option<LexBound> {
        match a.first() {
            Some(b'+') if a.len() == 1 => Some(LexBound::PosInf),
            Some(b'-') if a.len() == 1 => Some(LexBound::NegInf),
            Some(b'(') => Some(LexBound::Excl(a[1..].to_vec())),
            Some(b'[') => Some(LexBound::Incl(a[1..].to_vec())),
            _ => None,
        }
    }

    fn gte_min(&self, m: &[u8]) -> bool {
        match self {
            LexBound::NegInf => true,
            LexBound::PosInf => false,
            LexBound::Incl(v) => m >= v.as_slice(),
            LexBound::Excl(v) => m > v.as_slice(),
        }
    }

    fn lte_max(&self, m: &[u8]) -> bool {
        match self {
            LexBound::NegInf => false,
            LexBound::PosInf => true,
            LexBound::Incl(v) => m <= v.as_slice(),
            LexBound::Excl(v) => m < v.as_slice(),
        }
    }
}

/// A lex range.
struct LexRange {
    min: LexBound,
    max: LexBound,
}

impl LexRange {
    fn parse(min: &[u8], max: &[u8]) -> Result<LexRange, CmdError> {
        match (LexBound::parse(min), LexBound::parse(max)) {
            (Some(min), Some(max)) => Ok(LexRange { min, max }),
            _ => Err(CmdError::from_static("ERR min or max not valid string range item")),
        }
    }

    /// The ranks `[lo, hi)` in range, walked forward (or backward with `rev`). Members
    /// with different scores are not in lexicographical order: a listpack is then scanned
    /// linearly as Redis scans it, so even such calls give Redis's answer; a skiplist is
    /// binary searched (Redis's answer there depends on its random levels).
    fn ranks(&self, z: &ZSetValue, rev: bool) -> (usize, usize) {
        if z.encoding() != "listpack" {
            let lo = z.partition_point(|_, m| !self.min.gte_min(m));
            let hi = z.partition_point(|_, m| self.max.lte_max(m));
            return (lo, hi.max(lo));
        }
        let members: Vec<&[u8]> = z.iter().map(|(_, m)| m).collect();
        let (Some(first), Some(last)) = (members.first(), members.last()) else { return (0, 0) };
        if !self.min.gte_min(last) || !self.max.lte_max(first) {
            return (0, 0);
        }
        if rev {
            let Some(end) = members.iter().rposition(|m| self.max.lte_max(m)) else { return (0, 0) };
            if !self.min.gte_min(members[end]) {
                return (0, 0);
            }
            let lo = members[..end].iter().rposition(|m| !self.min.gte_min(m)).map_or(0, |i| i + 1);
            (lo, end + 1)
        } else {
            let Some(lo) = members.iter().position(|m| self.min.gte_min(m)) else { return (0, 0) };
            if !self.max.lte_max(members[lo]) {
                return (0, 0);
            }
            let hi = members[lo..].iter().position(|m| !self.max.lte_max(m)).map_or(members.len(), |i| lo + i);
            (lo, hi)
        }
    }
}

/// ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member [score member ...]: adds or updates
/// members; replies with the number added (or changed with CH), or the new score with INCR.
fn zadd(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    zadd_generic(ctx, args, false)
}

/// ZINCRBY key increment member: adds `increment` to the member's score, replying the new score.
fn zincrby(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    zadd_generic(ctx, args, true)
}

/// Redis's `zaddGenericCommand`.
fn zadd_generic(ctx: &mut KeyCtx<'_>, args: Args<'_>, mut incr: bool) -> CmdResult {
    let key = args.get(1);
    let (mut nx, mut xx, mut ch, mut gt, mut lt) = (false, false, false, false, false);
    let mut idx = 2;
    while idx < args.len() {
        let a = args.get(idx);
        if is_opt(a, "nx") {
            nx = true;
        } else if is_opt(a, "xx") {
            xx = true;
        } else if is_opt(a, "ch") {
            ch = true;
        } else if is_opt(a, "incr") {
            incr = true;
        } else if is_opt(a, "gt") {
            gt = true;
        } else if is_opt(a, "lt") {
            lt = true;
        } else {
            break;
        }
        idx += 1;
    }
    let elements = args.len() - idx;
    if elements % 2 == 1 || elements == 0 {
        return Err(SYNTAX);
    }
    let elements = elements / 2;
    if incr && elements > 1 {
        return Err(CmdError::from_static("ERR INCR option supports a single increment-element pair"));
    }
    if nx && xx {
        return Err(CmdError::from_static("ERR XX and NX options at the same time are not compatible"));
    }
    if (nx && (gt || lt)) || (gt && lt) {
        return Err(CmdError::from_static("ERR GT, LT, and/or NX options at the same time are not compatible"));
    }
    let mut pairs = Vec::with_capacity(elements);
    for j in 0..elements {
        let score = score_arg(args.get(idx + 2 * j)).ok_or(NOT_FLOAT)?;
        pairs.push((score, args.get(idx + 2 * j + 1)));
    }
    let limits = limits(ctx);
    // (added, updated, processed, last new score)
    let apply = |z: &mut ZSetValue| -> Result<(i64, i64, i64, f64), CmdError> {
        let (mut added, mut updated, mut processed, mut newscore) = (0, 0, 0, 0.0);
        for &(score, member) in &pairs {
            match z.score(member) {
                Some(cur) => {
                    if nx {
                        continue;
                    }
                    let mut score = score;
                    if incr {
                        score += cur;
                        if score.is_nan() {
                            return Err(CmdError::from_static("ERR resulting score is not a number (NaN)"));
                        }
                    }
                    if (lt && score >= cur) || (gt && score <= cur) {
                        continue;
                    }
                    newscore = score;
                    processed += 1;
                    if score != cur {
                        z.insert(score, member, limits);
                        updated += 1;
                    }
                }
                None => {
                    if xx {
                        continue;
                    }
                    z.insert(score, member, limits);
                    added += 1;
                    processed += 1;
                    newscore = score;
                }
            }
        }
        Ok((added, updated, processed, newscore))
    };
    let existing = match ctx.write(key) {
        None => None,
        Some(mut entry) => match &mut entry.value {
            Value::ZSet(z) => Some(apply(z)?),
            _ => return Err(WRONG_TYPE),
        },
    };
    let (added, updated, processed, newscore) = match existing {
        Some(r) => r,
        None if xx => (0, 0, 0, 0.0),
        None => {
            let mut z = ZSetValue::new();
            let r = apply(&mut z)?;
            if !z.is_empty() {
                ctx.set(key, Value::ZSet(Box::new(z)));
            }
            r
        }
    };
    if added + updated > 0 {
        ctx.notify(ZSET, if incr { "zincr" } else { "zadd" }, key);
    }
    ctx.dirty((added + updated) as u64);
    Ok(if incr {
        if processed > 0 { Reply::Double(newscore) } else { Reply::Nil }
    } else {
        Reply::Int(if ch { added + updated } else { added })
    })
}

/// ZREM key member [member ...]: removes members, replying how many were there.
fn zrem(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    let key = args.get(1);
    let removed = {
        let Some(mut entry) = ctx.write(key) else { return Ok(Reply::Int(0)) };
        let Value::ZSet(z) = &mut entry.value else { return Err(WRONG_TYPE) };
        let mut removed = 0i64;
        for m in args.iter_from(2) {
            if z.remove(m).is_some() {
                removed += 1;
                if z.is_empty() {
                    break;
                }
            }
        }
        removed
    };
    if removed > 0 {
        ctx.notify(ZSET, "zrem", key);
    }
    ctx.delete_if_empty(key);
    ctx.dirty(removed as u64);
    Ok(Reply::Int(removed))
}

/// ZCARD key: the number of members.
fn zcard(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    Ok(Reply::Int(read_zset(ctx, args.get(1))?.map_or(0, |z| z.len() as i64)))
}

/// ZSCORE key member: the member's score, or nil.
fn zscore(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    Ok(match read_zset(ctx, args.get(1))?.and_then(|z| z.score(args.get(2))) {
        Some(s) => Reply::Double(s),
        None => Reply::Nil,
    })
}

/// ZMSCORE key member [member ...]: each member's score, or nil.
fn zmscore(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    let z = read_zset(ctx, args.get(1))?;
    Ok(Reply::Array(
        args.iter_from(2)
            .map(|m| match z.and_then(|z| z.score(m)) {
                Some(s) => Reply::Double(s),
                None => Reply::Nil,
            })
            .collect(),
    ))
}

/// ZRANK key member [WITHSCORE]: the member's rank by ascending score (and its score).
fn zrank(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    zrank_generic(ctx, args, false)
}

/// ZREVRANK key member [WITHSCORE]: the member's rank by descending score (and its score).
fn zrevrank(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    zrank_generic(ctx, args, true)
}

fn zrank_generic(ctx: &mut KeyCtx<'_>, args: Args<'_>, rev: bool) -> CmdResult {
    if args.len() > 4 {
        return Err(CmdError::arity(if rev { "zrevrank" } else { "zrank" }));
    }
    let withscore = args.len() == 4;
    if withscore && !is_opt(args.get(3), "withscore") {
        return Err(SYNTAX);
    }
    let null = if withscore { Reply::NilArray } else { Reply::Nil };
    let Some(z) = read_zset(ctx, args.get(1))? else { return Ok(null) };
    let Some((rank, score)) = z.rank(args.get(2)) else { return Ok(null) };
    let rank = if rev { z.len() - 1 - rank } else { rank } as i64;
    Ok(if withscore { Reply::Array(vec![Reply::Int(rank), Reply::Double(score)]) } else { Reply::Int(rank) })
}

/// How a range is given.
#[derive(Clone, Copy, PartialEq)]
enum RangeType {
    Rank,
    Score,
    Lex,
}

/// A parsed range.
enum RangeSpec {
    Rank(i64, i64),
    Score(ScoreRange),
    Lex(LexRange),
}

/// The entries of `z` in a range, in reply order.
fn collect_range(z: &ZSetValue, spec: &RangeSpec, rev: bool, offset: i64, limit: i64) -> Vec<(f64, Bytes)> {
    let llen = z.len() as i64;
    let (lo, hi) = match spec {
        RangeSpec::Rank(start, end) => {
            let mut start = if *start < 0 { llen + start } else { *start };
            let mut end = if *end < 0 { llen + end } else { *end };
            if start < 0 {
                start = 0;
            }
            if start > end || start >= llen {
                return Vec::new();
            }
            if end >= llen {
                end = llen - 1;
            }
            let n = (end - start + 1) as usize;
            let first = if rev { (llen - 1 - start) as usize } else { start as usize };
            return z.range(first, n, rev).into_owned();
        }
        RangeSpec::Score(r) => r.ranks(z),
        RangeSpec::Lex(r) => r.ranks(z, rev),
    };
    if offset < 0 {
        return Vec::new();
    }
    let n = hi - lo;
    let skip = usize::try_from(offset).unwrap_or(usize::MAX);
    if skip >= n {
        return Vec::new();
    }
    let take = if limit < 0 { n - skip } else { (n - skip).min(usize::try_from(limit).unwrap_or(usize::MAX)) };
    let first = if rev { hi - 1 - skip } else { lo + skip };
    z.range(first, take, rev).into_owned()
}

/// Redis's `zrangeGenericCommand`: the range arguments start at `start` (the source key).
fn zrange_generic(
    ctx: &mut KeyCtx<'_>,
    args: Args<'_>,
    start: usize,
    dst: Option<&[u8]>,
    mut rangetype: Option<RangeType>,
    mut rev: Option<bool>,
) -> CmdResult {
    let key = args.get(start);
    let (mut minidx, mut maxidx) = (start + 1, start + 2);
    let mut withscores = false;
    let (mut offset, mut limit) = (0i64, -1i64);
    let mut j = start + 3;
    while j < args.len() {
        let a = args.get(j);
        let left = args.len() - j - 1;
        if dst.is_none() && is_opt(a, "withscores") {
            withscores = true;
        } else if is_opt(a, "limit") && left >= 2 {
            offset = int_arg(args.get(j + 1))?;
            limit = int_arg(args.get(j + 2))?;
            j += 2;
        } else if rev.is_none() && is_opt(a, "rev") {
            rev = Some(true);
        } else if rangetype.is_none() && is_opt(a, "bylex") {
            rangetype = Some(RangeType::Lex);
        } else if rangetype.is_none() && is_opt(a, "byscore") {
            rangetype = Some(RangeType::Score);
        } else {
            return Err(SYNTAX);
        }
        j += 1;
    }
    let rev = rev.unwrap_or(false);
    let rangetype = rangetype.unwrap_or(RangeType::Rank);
    if limit != -1 && rangetype == RangeType::Rank {
        return Err(CmdError::from_static(
            "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
        ));
    }
    if withscores && rangetype == RangeType::Lex {
        return Err(CmdError::from_static("ERR syntax error, WITHSCORES not supported in combination with BYLEX"));
    }
    if rev && rangetype != RangeType::Rank {
        std::mem::swap(&mut minidx, &mut maxidx);
    }
    let spec = match rangetype {
        RangeType::Rank => RangeSpec::Rank(int_arg(args.get(minidx))?, int_arg(args.get(maxidx))?),
        RangeType::Score => RangeSpec::Score(ScoreRange::parse(args.get(minidx), args.get(maxidx))?),
        RangeType::Lex => RangeSpec::Lex(LexRange::parse(args.get(minidx), args.get(maxidx))?),
    };
    let entries = match read_zset(ctx, key)? {
        Some(z) => collect_range(z, &spec, rev, offset, limit),
        None => Vec::new(),
    };
    match dst {
        Some(dst) => {
            let limits = limits(ctx);
            store(ctx, dst, build(entries, limits), "zrangestore")
        }
        None => Ok(entries_reply(entries, withscores)),
    }
}

/// ZRANGE key start stop [BYSCORE|BYLEX] [REV] [LIMIT offset count] [WITHSCORES]: a range of members.
fn zrange(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    zrange_generic(ctx, args, 1, None, None, None)
}

/// ZRANGESTORE dst src min max [BYSCORE|BYLEX] [REV] [LIMIT offset count]: stores a range, replying its size.
fn zrangestore(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    zrange_generic(ctx, args, 2, Some(args.get(1)), None, None)
}

/// ZREVRANGE key start stop [WITHSCORES]: a range of members by rank, highest first.
fn zrevrange(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    zrange_generic(ctx, args, 1, None, Some(RangeType::Rank), Some(true))
}

/// ZRANGEBYSCORE key min max [WITHSCORES] [LIMIT offset count]: members with scores in range.
fn zrangebyscore(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    zrange_generic(ctx, args, 1, None, Some(RangeType::Score), Some(false))
}

/// ZREVRANGEBYSCORE key max min [WITHSCORES] [LIMIT offset count]: the same, highest first.
fn zrevrangebyscore(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    zrange_generic(ctx, args, 1, None, Some(RangeType::Score), Some(true))
}

/// ZRANGEBYLEX key min max [LIMIT offset count]: members in a lexicographical range.
fn zrangebylex(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    zrange_generic(ctx, args, 1, None, Some(RangeType::Lex), Some(false))
}

/// ZREVRANGEBYLEX key max min [LIMIT offset count]: the same, in reverse order.
fn zrevrangebylex(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    zrange_generic(ctx, args, 1, None, Some(RangeType::Lex), Some(true))
}

/// ZCOUNT key min max: the number of members with scores in range.
fn zcount(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    let range = ScoreRange::parse(args.get(2), args.get(3))?;
    Ok(Reply::Int(read_zset(ctx, args.get(1))?.map_or(0, |z| {
        let (lo, hi) = range.ranks(z);
        (hi - lo) as i64
    })))
}

/// ZLEXCOUNT key min max: the number of members in a lexicographical range.
fn zlexcount(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    let range = LexRange::parse(args.get(2), args.get(3))?;
    Ok(Reply::Int(read_zset(ctx, args.get(1))?.map_or(0, |z| {
        let (lo, hi) = range.ranks(z, false);
        (hi - lo) as i64
    })))
}

/// Redis's `zremrangeGenericCommand`.
fn zremrange_generic(ctx: &mut KeyCtx<'_>, args: Args<'_>, spec: RangeSpec) -> CmdResult {
    let event = match spec {
        RangeSpec::Rank(..) => "zremrangebyrank",
        RangeSpec::Score(_) => "zremrangebyscore",
        RangeSpec::Lex(_) => "zremrangebylex",
    };
    let key = args.get(1);
    let removed = {
        let Some(mut entry) = ctx.write(key) else { return Ok(Reply::Int(0)) };
        let Value::ZSet(z) = &mut entry.value else { return Err(WRONG_TYPE) };
        let (lo, hi) = match &spec {
            RangeSpec::Rank(start, end) => {
                let llen = z.len() as i64;
                let mut start = if *start < 0 { llen + start } else { *start };
                let mut end = if *end < 0 { llen + end } else { *end };
                if start < 0 {
                    start = 0;
                }
                if start > end || start >= llen {
                    return Ok(Reply::Int(0));
                }
                if end >= llen {
                    end = llen - 1;
                }
                (start as usize, (end + 1) as usize)
            }
            RangeSpec::Score(r) => r.ranks(z),
            RangeSpec::Lex(r) => r.ranks(z, false),
        };
        z.remove_range(lo, hi - lo).len()
    };
    if removed > 0 {
        ctx.notify(ZSET, event, key);
    }
    ctx.delete_if_empty(key);
    ctx.dirty(removed as u64);
    Ok(Reply::Int(removed as i64))
}

/// ZREMRANGEBYRANK key start stop: removes members by rank, replying how many.
fn zremrangebyrank(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    let spec = RangeSpec::Rank(int_arg(args.get(2))?, int_arg(args.get(3))?);
    zremrange_generic(ctx, args, spec)
}

/// ZREMRANGEBYSCORE key min max: removes members with scores in range, replying how many.
fn zremrangebyscore(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    let spec = RangeSpec::Score(ScoreRange::parse(args.get(2), args.get(3))?);
    zremrange_generic(ctx, args, spec)
}

/// ZREMRANGEBYLEX key min max: removes members in a lexicographical range, replying how many.
fn zremrangebylex(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    let spec = RangeSpec::Lex(LexRange::parse(args.get(2), args.get(3))?);
    zremrange_generic(ctx, args, spec)
}

/// A key and the entries popped from it.
type Popped<'k> = (&'k [u8], Vec<(f64, Bytes)>);

/// Pops up to `count` entries from the first non-empty sorted set among `keys` (lowest
/// scores first, or highest with `max`): the key and the entries, or `None`.
pub(crate) fn zpop_generic<'k>(
    ctx: &mut KeyCtx<'_>,
    keys: &[&'k [u8]],
    max: bool,
    count: usize,
) -> Result<Option<Popped<'k>>, CmdError> {
    for &key in keys {
        let popped = {
            let Some(mut entry) = ctx.write(key) else { continue };
            let Value::ZSet(z) = &mut entry.value else { return Err(WRONG_TYPE) };
            let n = count.min(z.len());
            if max {
                let mut v = z.remove_range(z.len() - n, n);
                v.reverse();
                v
            } else {
                z.remove_range(0, n)
            }
        };
        if !popped.is_empty() {
            ctx.notify(ZSET, if max { "zpopmax" } else { "zpopmin" }, key);
        }
        ctx.delete_if_empty(key);
        ctx.dirty(popped.len() as u64);
        return Ok(Some((key, popped)));
    }
    Ok(None)
}

/// ZPOPMIN key [count]: removes and returns the lowest-scoring members with their scores.
fn zpopmin(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    zpop_minmax(ctx, args, false)
}

/// ZPOPMAX key [count]: removes and returns the highest-scoring members with their scores.
fn zpopmax(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    zpop_minmax(ctx, args, true)
}

fn zpop_minmax(ctx: &mut KeyCtx<'_>, args: Args<'_>, max: bool) -> CmdResult {
    if args.len() > 3 {
        return Err(SYNTAX);
    }
    let count = match args.try_get(2) {
        Some(a) => match parse_canonical_i64(a) {
            Some(n) if n >= 0 => Some(n),
            _ => return Err(CmdError::from_static("ERR value is out of range, must be positive")),
        },
        None => None,
    };
    if count == Some(0) {
        // Redis type-checks the key before answering a count of 0.
        read_zset(ctx, args.get(1))?;
        return Ok(Reply::Array(Vec::new()));
    }
    let n = count.map_or(1, |n| usize::try_from(n).unwrap_or(usize::MAX));
    let Some((_, popped)) = zpop_generic(ctx, &[args.get(1)], max, n)? else { return Ok(Reply::Array(Vec::new())) };
    Ok(if count.is_some() {
        entries_reply(popped, true)
    } else {
        Reply::Array(popped.into_iter().flat_map(|(s, m)| [Reply::Bulk(m), Reply::Double(s)]).collect())
    })
}

/// ZMPOP's (and BZMPOP's) options, parsed from `numkeys` at argument `first` on.
pub(crate) struct ZmpopArgs {
    /// Argument positions of the keys.
    pub keys: std::ops::Range<usize>,
    /// MAX (true) or MIN.
    pub max: bool,
    /// COUNT, 1 if absent.
    pub count: usize,
}

/// Parses `numkeys key [key ...] MIN|MAX [COUNT count]` starting at argument `first`.
pub(crate) fn parse_zmpop(args: Args<'_>, first: usize) -> Result<ZmpopArgs, CmdError> {
    let numkeys = match parse_canonical_i64(args.get(first)) {
        Some(n) if n >= 1 => n as u64,
        _ => return Err(CmdError::from_static("ERR numkeys should be greater than 0")),
    };
    let where_idx = numkeys.saturating_add(first as u64 + 1);
    if where_idx >= args.len() as u64 {
        return Err(SYNTAX);
    }
    let where_idx = where_idx as usize;
    let max = if is_opt(args.get(where_idx), "min") {
        false
    } else if is_opt(args.get(where_idx), "max") {
        true
    } else {
        return Err(SYNTAX);
    };
    let mut count: Option<usize> = None;
    let mut j = where_idx + 1;
    while j < args.len() {
        if count.is_none() && is_opt(args.get(j), "count") && j + 1 < args.len() {
            j += 1;
            count = match parse_canonical_i64(args.get(j)) {
                Some(n) if n >= 1 => Some(usize::try_from(n).unwrap_or(usize::MAX)),
                _ => return Err(CmdError::from_static("ERR count should be greater than 0")),
            };
        } else {
            return Err(SYNTAX);
        }
        j += 1;
    }
    Ok(ZmpopArgs { keys: first + 1..where_idx, max, count: count.unwrap_or(1) })
}

/// ZMPOP's reply for entries popped from `key`: `[key, [[member, score], ...]]`.
pub(crate) fn zmpop_reply(key: &[u8], popped: Vec<(f64, Bytes)>) -> Reply {
    Reply::Array(vec![
        Reply::bulk(key),
        Reply::Array(popped.into_iter().map(|(s, m)| Reply::Array(vec![Reply::Bulk(m), Reply::Double(s)])).collect()),
    ])
}

/// ZMPOP numkeys key [key ...] MIN|MAX [COUNT count]: pops from the first non-empty sorted
/// set, replying with its name and the popped members with scores.
fn zmpop(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    let parsed = parse_zmpop(args, 1)?;
    let keys: Vec<&[u8]> = parsed.keys.map(|i| args.get(i)).collect();
    Ok(match zpop_generic(ctx, &keys, parsed.max, parsed.count)? {
        Some((key, popped)) => zmpop_reply(key, popped),
        None => Reply::NilArray,
    })
}

/// Union, intersection or difference.
#[derive(Clone, Copy, PartialEq)]
enum SetOp {
    Union,
    Inter,
    Diff,
}

/// How scores combine.
#[derive(Clone, Copy)]
enum Aggregate {
    Sum,
    Min,
    Max,
}

impl Aggregate {
    /// Redis's `zunionInterAggregate`.
    fn apply(self, target: &mut f64, val: f64) {
        match self {
            Aggregate::Sum => {
                *target += val;
                if target.is_nan() {
                    *target = 0.0;
                }
            }
            Aggregate::Min => {
                if val < *target {
                    *target = val;
                }
            }
            Aggregate::Max => {
                if val > *target {
                    *target = val;
                }
            }
        }
    }
}

/// An input of a set operation.
#[derive(Clone, Copy)]
struct Src<'a> {
    key: &'a [u8],
    /// 0 when missing.
    len: usize,
    present: bool,
    weight: f64,
}

/// The score of `member` in an input (a set's members score 1).
fn src_score(ctx: &mut KeyCtx<'_>, key: &[u8], member: &[u8]) -> Option<f64> {
    let now = ctx.now_ms();
    match ctx.db().peek(key, now).map(|e| &e.value) {
        Some(Value::ZSet(z)) => z.score(member),
        Some(Value::Set(s)) => s.contains(member).then_some(1.0),
        _ => None,
    }
}

/// Every (member, score) of an input.
fn src_entries(ctx: &mut KeyCtx<'_>, key: &[u8]) -> Vec<(Bytes, f64)> {
    let now = ctx.now_ms();
    match ctx.db().peek(key, now).map(|e| &e.value) {
        Some(Value::ZSet(z)) => z.iter().map(|(s, m)| (Bytes::copy_from_slice(m), s)).collect(),
        Some(Value::Set(s)) => s.iter().map(|m| (m.to_bytes(), 1.0)).collect(),
        _ => Vec::new(),
    }
}

/// What a set operation produces.
enum OpOut<'a> {
    Reply,
    Store(&'a [u8]),
    Card,
}

/// Redis's `zunionInterDiffGenericCommand`; `numkeys_idx` is where numkeys is.
fn zset_op(ctx: &mut KeyCtx<'_>, args: Args<'_>, numkeys_idx: usize, out: OpOut<'_>, op: SetOp) -> CmdResult {
    let name = match (&out, op) {
        (OpOut::Card, _) => "zintercard",
        (OpOut::Store(_), SetOp::Union) => "zunionstore",
        (OpOut::Store(_), SetOp::Inter) => "zinterstore",
        (OpOut::Store(_), SetOp::Diff) => "zdiffstore",
        (OpOut::Reply, SetOp::Union) => "zunion",
        (OpOut::Reply, SetOp::Inter) => "zinter",
        (OpOut::Reply, SetOp::Diff) => "zdiff",
    };
    let card_only = matches!(out, OpOut::Card);
    let is_store = matches!(out, OpOut::Store(_));
    let setnum = int_arg(args.get(numkeys_idx))?;
    if setnum < 1 {
        return Err(CmdError::err(format!("at least 1 input key is needed for '{name}' command")));
    }
    if setnum > (args.len() - numkeys_idx - 1) as i64 {
        return Err(SYNTAX);
    }
    let setnum = setnum as usize;
    let mut srcs: Vec<Src<'_>> = Vec::with_capacity(setnum);
    for key in args.iter_from(numkeys_idx + 1).take(setnum) {
        let found = if is_store {
            let found = match ctx.write(key) {
                None => None,
                Some(entry) => match &entry.value {
                    Value::ZSet(z) => Some(z.len()),
                    Value::Set(s) => Some(s.len()),
                    _ => return Err(WRONG_TYPE),
                },
            };
            if found.is_none() {
                // Redis 7.0 looks the sources of the STORE forms up as reads.
                ctx.notify(KEY_MISS, "keymiss", key);
            }
            found
        } else {
            match ctx.read(key) {
                None => None,
                Some(entry) => match &entry.value {
                    Value::ZSet(z) => Some(z.len()),
                    Value::Set(s) => Some(s.len()),
                    _ => return Err(WRONG_TYPE),
                },
            }
        };
        srcs.push(Src { key, len: found.unwrap_or(0), present: found.is_some(), weight: 1.0 });
    }
    let mut aggregate = Aggregate::Sum;
    let mut withscores = false;
    let mut limit: u64 = 0;
    let mut j = numkeys_idx + 1 + setnum;
    while j < args.len() {
        let remaining = args.len() - j;
        let a = args.get(j);
        if op != SetOp::Diff && !card_only && remaining > setnum && is_opt(a, "weights") {
            j += 1;
            for src in srcs.iter_mut() {
                src.weight = score_arg(args.get(j)).ok_or(CmdError::from_static("ERR weight value is not a float"))?;
                j += 1;
            }
        } else if op != SetOp::Diff && !card_only && remaining >= 2 && is_opt(a, "aggregate") {
            let b = args.get(j + 1);
            aggregate = if is_opt(b, "sum") {
                Aggregate::Sum
            } else if is_opt(b, "min") {
                Aggregate::Min
            } else if is_opt(b, "max") {
                Aggregate::Max
            } else {
                return Err(SYNTAX);
            };
            j += 2;
        } else if !is_store && !card_only && is_opt(a, "withscores") {
            withscores = true;
            j += 1;
        } else if card_only && remaining >= 2 && is_opt(a, "limit") {
            limit = match parse_canonical_i64(args.get(j + 1)) {
                Some(n) if n >= 0 => n as u64,
                _ => return Err(CmdError::from_static("ERR LIMIT can't be negative")),
            };
            j += 2;
        } else {
            return Err(SYNTAX);
        }
    }
    let mut result: Vec<(Bytes, f64)> = Vec::new();
    match op {
        SetOp::Inter => {
            srcs.sort_by_key(|s| s.len);
            if srcs[0].len > 0 {
                let first = srcs[0];
                for (member, s0) in src_entries(ctx, first.key) {
                    let mut score = first.weight * s0;
                    if score.is_nan() {
                        score = 0.0;
                    }
                    let mut all = true;
                    for src in &srcs[1..] {
                        if src.key == first.key {
                            aggregate.apply(&mut score, s0 * src.weight);
                        } else if let Some(v) = src_score(ctx, src.key, &member) {
                            aggregate.apply(&mut score, v * src.weight);
                        } else {
                            all = false;
                            break;
                        }
                    }
                    if all {
                        result.push((member, score));
                        if card_only && limit > 0 && result.len() as u64 >= limit {
                            break;
                        }
                    }
                }
            }
        }
        SetOp::Union => {
            let mut index: std::collections::HashMap<Bytes, usize> = std::collections::HashMap::new();
            for src in &srcs {
                if src.len == 0 {
                    continue;
                }
                for (member, s) in src_entries(ctx, src.key) {
                    let mut score = src.weight * s;
                    if score.is_nan() {
                        score = 0.0;
                    }
                    match index.get(&member) {
                        Some(&i) => aggregate.apply(&mut result[i].1, score),
                        None => {
                            index.insert(member.clone(), result.len());
                            result.push((member, score));
                        }
                    }
                }
            }
        }
        SetOp::Diff => {
            let first = srcs[0];
            let same = srcs[1..].iter().any(|s| s.present && s.key == first.key);
            if first.len > 0 && !same {
                for (member, s) in src_entries(ctx, first.key) {
                    let mut found = false;
                    for src in &srcs[1..] {
                        if src.len > 0 && src_score(ctx, src.key, &member).is_some() {
                            found = true;
                            break;
                        }
                    }
                    if !found {
                        result.push((member, s));
                    }
                }
            }
        }
    }
    if card_only {
        return Ok(Reply::Int(result.len() as i64));
    }
    let limits = limits(ctx);
    let z = build(result.into_iter().map(|(m, s)| (s, m)).collect(), limits);
    match out {
        OpOut::Store(dst) => store(ctx, dst, z, name),
        _ => Ok(entries_reply(z.iter().map(|(s, m)| (s, Bytes::copy_from_slice(m))).collect(), withscores)),
    }
}

/// ZUNION numkeys key [key ...] [WEIGHTS w ...] [AGGREGATE SUM|MIN|MAX] [WITHSCORES]: the union.
fn zunion(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    zset_op(ctx, args, 1, OpOut::Reply, SetOp::Union)
}

/// ZINTER numkeys key [key ...] [WEIGHTS w ...] [AGGREGATE SUM|MIN|MAX] [WITHSCORES]: the intersection.
fn zinter(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    zset_op(ctx, args, 1, OpOut::Reply, SetOp::Inter)
}

/// ZDIFF numkeys key [key ...] [WITHSCORES]: members of the first set in none of the others.
fn zdiff(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    zset_op(ctx, args, 1, OpOut::Reply, SetOp::Diff)
}

/// ZUNIONSTORE destination numkeys key [key ...] [WEIGHTS ...] [AGGREGATE ...]: stores the union.
fn zunionstore(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    zset_op(ctx, args, 2, OpOut::Store(args.get(1)), SetOp::Union)
}

/// ZINTERSTORE destination numkeys key [key ...] [WEIGHTS ...] [AGGREGATE ...]: stores the intersection.
fn zinterstore(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    zset_op(ctx, args, 2, OpOut::Store(args.get(1)), SetOp::Inter)
}

/// ZDIFFSTORE destination numkeys key [key ...]: stores the difference.
fn zdiffstore(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    zset_op(ctx, args, 2, OpOut::Store(args.get(1)), SetOp::Diff)
}

/// ZINTERCARD numkeys key [key ...] [LIMIT limit]: the size of the intersection, up to `limit`.
fn zintercard(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    zset_op(ctx, args, 1, OpOut::Card, SetOp::Inter)
}

/// A random number in `0..n` (`n > 0`).
fn random_below(n: usize) -> usize {
    (crate::util::rand_u64() % n as u64) as usize
}

/// ZRANDMEMBER key [count [WITHSCORES]]: a random member; with a count, up to `count`
/// distinct members, or `-count` members that may repeat.
fn zrandmember(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    if args.len() == 2 {
        return Ok(match read_zset(ctx, args.get(1))? {
            Some(z) if !z.is_empty() => match z.get(random_below(z.len())) {
                Some((_, m)) => Reply::bulk(m),
                None => Reply::Nil,
            },
            _ => Reply::Nil,
        });
    }
    let count = int_arg(args.get(2))?;
    if count == i64::MIN {
        return Err(CmdError::err(format!("value is out of range, value must between {} and {}", -i64::MAX, i64::MAX)));
    }
    if args.len() > 4 || (args.len() == 4 && !is_opt(args.get(3), "withscores")) {
        return Err(SYNTAX);
    }
    let withscores = args.len() == 4;
    if withscores && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&count) {
        return Err(CmdError::from_static("ERR value is out of range"));
    }
    let unique = count >= 0;
    let n = count.unsigned_abs();
    if !unique && n > MAX_REPEATED_MEMBERS {
        return Err(CmdError::err(format!(
            "value is out of range, value must between -{MAX_REPEATED_MEMBERS} and {}",
            i64::MAX
        )));
    }
    let Some(z) = read_zset(ctx, args.get(1))? else { return Ok(Reply::Array(Vec::new())) };
    if n == 0 || z.is_empty() {
        return Ok(Reply::Array(Vec::new()));
    }
    let size = z.len();
    if (!unique || n == 1) && n <= (size / 64) as u64 {
        // A few picks: look each up by rank instead of listing the set.
        let picked =
            (0..n).filter_map(|_| z.get(random_below(size))).map(|(s, m)| (s, Bytes::copy_from_slice(m))).collect();
        return Ok(entries_reply(picked, withscores));
    }
    let all: Vec<(f64, &[u8])> = z.iter().collect();
    let picked: Vec<(f64, Bytes)> = if !unique || n == 1 {
        (0..n).map(|_| all[random_below(size)]).map(|(s, m)| (s, Bytes::copy_from_slice(m))).collect()
    } else if n >= size as u64 {
        // The whole set, walked from the top as Redis's iterator does.
        all.iter().rev().map(|&(s, m)| (s, Bytes::copy_from_slice(m))).collect()
    } else {
        let mut positions: Vec<usize> = (0..size).collect();
        let n = n as usize;
        for i in 0..n {
            let j = i + random_below(size - i);
            positions.swap(i, j);
        }
        positions[..n].iter().map(|&i| (all[i].0, Bytes::copy_from_slice(all[i].1))).collect()
    };
    Ok(entries_reply(picked, withscores))
}

/// A score as ZSCAN returns it: a listpack holds an integral score within
/// ±`LLONG_MAX / 2` as an integer (Redis's `double2ll`) and returns its digits.
fn scan_score(s: f64, listpack: bool) -> String {
    const HALF: f64 = (i64::MAX / 2) as f64;
    if listpack && (-HALF..=HALF).contains(&s) && s == s.trunc() {
        return (s as i64).to_string();
    }
    format_double(s)
}

/// ZSCAN key cursor [MATCH pattern] [COUNT count]: one step over the members and scores.
/// A listpack returns everything with cursor 0, as Redis does; a skiplist's member map
/// is walked by position from the top (see `ZSetValue::scan`).
fn zscan(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    let cursor = parse_scan_cursor(args.get(2)).ok_or(CmdError::from_static("ERR invalid cursor"))?;
    let Some(z) = read_zset(ctx, args.get(1))? else {
        return Ok(Reply::Array(vec![Reply::bulk_static("0"), Reply::Array(Vec::new())]));
    };
    let (count, pattern) = scan_options(args, 3)?;
    let mut found = Vec::new();
    let listpack = z.encoding() == "listpack";
    let mut visit = |s: f64, m: &[u8]| {
        if pattern.is_none_or(|p| glob_match(p, m, false)) {
            found.push(Reply::bulk(m));
            found.push(Reply::bulk_string(scan_score(s, listpack)));
        }
    };
    let next = z.scan(cursor, usize::try_from(count).unwrap_or(usize::MAX), &mut visit);
    Ok(Reply::Array(vec![Reply::bulk_string(next.to_string()), Reply::Array(found)]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_parsing() {
        assert_eq!(range_f64(b""), Some(0.0));
        assert_eq!(range_f64(b" 1.5"), Some(1.5));
        assert_eq!(range_f64(b"1 "), None);
        assert_eq!(score_arg(b"1e400"), None);
        assert_eq!(score_arg(b"-inf"), Some(f64::NEG_INFINITY));
        assert!(LexBound::parse(b"+x").is_none());
        assert!(matches!(LexBound::parse(b"(a"), Some(LexBound::Excl(_))));
    }
}
