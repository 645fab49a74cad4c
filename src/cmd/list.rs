//! List commands (non-blocking): LPUSH/RPUSH(X), LPOP/RPOP, LLEN, LRANGE, LINDEX, LSET,
//! LINSERT, LREM, LTRIM, LPOS, LMOVE, RPOPLPUSH, LMPOP.
//!
//! Each follows Redis 7's `t_list.c`: the same order of checks (argument parsing, key
//! lookup, type check), the same replies and error texts. An emptied list is deleted.
//! LMOVE, RPOPLPUSH and LMPOP gather their keys when they span shards.

use super::arg::{int_arg, is_opt};
use crate::command::error::{INDEX_OUT_OF_RANGE, NO_SUCH_KEY, SYNTAX, WRONG_TYPE};
use crate::command::{CmdError, CmdResult, CommandImpl, Handler, MultiShard};
use crate::protocol::{Args, Reply};
use crate::shard::KeyCtx;
use crate::shard::notify::LIST;
use crate::types::{ListValue, Value};

const fn keyed(name: &'static str, run: crate::command::KeyedFn) -> CommandImpl {
    CommandImpl { name, handler: Handler::Keyed { run, multi: MultiShard::Gather } }
}

/// The list family's commands.
pub const COMMANDS: &[CommandImpl] = &[
    keyed("lpush", lpush),
    keyed("rpush", rpush),
    keyed("lpushx", lpushx),
    keyed("rpushx", rpushx),
    keyed("lpop", lpop),
    keyed("rpop", rpop),
    keyed("llen", llen),
    keyed("lrange", lrange),
    keyed("lindex", lindex),
    keyed("lset", lset),
    keyed("linsert", linsert),
    keyed("lrem", lrem),
    keyed("ltrim", ltrim),
    keyed("lpos", lpos),
    keyed("lmove", lmove),
    keyed("rpoplpush", rpoplpush),
    keyed("lmpop", lmpop),
];

/// `ERR value is out of range, must be positive`.
const MUST_BE_POSITIVE: &str = "value is out of range, must be positive";

/// The list in `value`, or WRONGTYPE.
fn as_list(value: &Value) -> Result<&ListValue, CmdError> {
    match value {
        Value::List(l) => Ok(l),
        _ => Err(WRONG_TYPE),
    }
}

/// The list under `key` for reading (hit/miss counted): `Ok(None)` if absent.
fn read_list<'c>(ctx: &'c mut KeyCtx<'_>, key: &[u8]) -> Result<Option<&'c ListValue>, CmdError> {
    match ctx.read(key) {
        None => Ok(None),
        Some(entry) => as_list(&entry.value).map(Some),
    }
}

/// Whether `key` exists and holds a list (WRONGTYPE if it holds something else).
pub(crate) fn list_exists_for_write(ctx: &mut KeyCtx<'_>, key: &[u8]) -> Result<bool, CmdError> {
    match ctx.write(key) {
        None => Ok(false),
        Some(entry) => as_list(&entry.value).map(|_| true),
    }
}

/// Runs `f` on the list under `key` (which must exist and be a list). The caller records
/// its event, then deletes the key if the list became empty ([`KeyCtx::delete_if_empty`]).
fn with_list<R>(ctx: &mut KeyCtx<'_>, key: &[u8], f: impl FnOnce(&mut ListValue, i32) -> R) -> Option<R> {
    let fill = ctx.cfg.list_max_listpack_size();
    let mut entry = ctx.write(key)?;
    let Value::List(list) = &mut entry.value else { return None };
    Some(f(list, fill))
}

/// The event of a push at the head (`left`) or tail.
fn push_event(left: bool) -> &'static str {
    if left { "lpush" } else { "rpush" }
}

/// The event of a pop from the head (`left`) or tail.
fn pop_event(left: bool) -> &'static str {
    if left { "lpop" } else { "rpop" }
}

/// A C `long` argument parsed as Redis's `getLongFromObjectOrReply`.
fn long_arg(arg: &[u8]) -> Result<i64, CmdError> {
    int_arg(arg)
}

/// `getPositiveLongFromObjectOrReply` with Redis's message `msg` (also for a non-integer).
fn positive_arg(arg: &[u8], msg: &str) -> Result<i64, CmdError> {
    range_arg(arg, 0, i64::MAX, Some(msg))
}

/// `getRangeLongFromObjectOrReply(min, max, msg)`: `msg` (if given) for a non-integer or
/// out-of-range value, else Redis's default texts.
fn range_arg(arg: &[u8], min: i64, max: i64, msg: Option<&str>) -> Result<i64, CmdError> {
    let n = match msg {
        Some(m) => int_arg(arg).map_err(|_| CmdError::err(m))?,
        None => int_arg(arg)?,
    };
    if n < min || n > max {
        return Err(match msg {
            Some(m) => CmdError::err(m),
            None => CmdError::err(format!("value is out of range, must be between {min} and {max}")),
        });
    }
    Ok(n)
}

/// LEFT or RIGHT (true for LEFT), else `ERR syntax error`.
pub(crate) fn position_arg(arg: &[u8]) -> Result<bool, CmdError> {
    if is_opt(arg, "left") {
        Ok(true)
    } else if is_opt(arg, "right") {
        Ok(false)
    } else {
        Err(SYNTAX)
    }
}

/// Pushes `values` at the head (`left`) or tail of `list`, converting encodings as Redis does.
fn push_values(list: &mut ListValue, fill: i32, left: bool, values: &[&[u8]]) {
    let bytes = values.iter().map(|v| v.len()).sum();
    list.grow_check(fill, bytes, values.len());
    for v in values {
        if left {
            list.push_front(v);
        } else {
            list.push_back(v);
        }
    }
}

// ---------------------------------------------------------------------------------------
// Push.

fn push_generic(ctx: &mut KeyCtx<'_>, args: Args<'_>, left: bool, only_existing: bool) -> CmdResult {
    let key = args.get(1);
    let exists = list_exists_for_write(ctx, key)?;
    if !exists {
        if only_existing {
            return Ok(Reply::Int(0));
        }
        ctx.set(key, Value::List(Box::new(ListValue::new())));
    }
    let pushed = (args.len() - 2) as u64;
    let len = with_list(ctx, key, |list, fill| {
        let values: Vec<&[u8]> = args.iter_from(2).collect();
        push_values(list, fill, left, &values);
        list.len()
    })
    .unwrap_or(0);
    ctx.notify(LIST, push_event(left), key);
    ctx.dirty(pushed);
    Ok(Reply::Int(len as i64))
}

/// LPUSH key element [element ...]: prepends elements, creating the list; replies the length.
fn lpush(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    push_generic(ctx, args, true, false)
}

/// RPUSH key element [element ...]: appends elements, creating the list; replies the length.
fn rpush(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    push_generic(ctx, args, false, false)
}

/// LPUSHX key element [element ...]: prepends elements only if the list exists.
fn lpushx(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    push_generic(ctx, args, true, true)
}

/// RPUSHX key element [element ...]: appends elements only if the list exists.
fn rpushx(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    push_generic(ctx, args, false, true)
}

// ---------------------------------------------------------------------------------------
// Pop.

/// Pops up to `count` elements from one end of the list under `key` (which must be a
/// non-empty list), deleting the key when emptied.
pub(crate) fn pop_n(ctx: &mut KeyCtx<'_>, key: &[u8], left: bool, count: usize) -> Vec<Reply> {
    let out = pop_raw(ctx, key, left, count);
    if !out.is_empty() {
        ctx.notify(LIST, pop_event(left), key);
    }
    ctx.delete_if_empty(key);
    out
}

/// Pops up to `count` elements, leaving an emptied list in place and recording no event.
fn pop_raw(ctx: &mut KeyCtx<'_>, key: &[u8], left: bool, count: usize) -> Vec<Reply> {
    let out = with_list(ctx, key, |list, fill| {
        let n = count.min(list.len());
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            let v = if left { list.pop_front() } else { list.pop_back() };
            if let Some(v) = v {
                out.push(Reply::Bulk(v.into()));
            }
        }
        list.shrink_check(fill);
        out
    })
    .unwrap_or_default();
    ctx.dirty(out.len() as u64);
    out
}

fn pop_generic(ctx: &mut KeyCtx<'_>, args: Args<'_>, left: bool) -> CmdResult {
    if args.len() > 3 {
        let name = String::from_utf8_lossy(args.get(0)).to_ascii_lowercase();
        return Err(CmdError::arity(&name));
    }
    let count = match args.try_get(2) {
        Some(arg) => Some(positive_arg(arg, MUST_BE_POSITIVE)?),
        None => None,
    };
    let key = args.get(1);
    if !list_exists_for_write(ctx, key)? {
        return Ok(if count.is_some() { Reply::NilArray } else { Reply::Nil });
    }
    match count {
        None => Ok(pop_n(ctx, key, left, 1).pop().unwrap_or(Reply::Nil)),
        Some(0) => Ok(Reply::Array(Vec::new())),
        Some(n) => Ok(Reply::Array(pop_n(ctx, key, left, n as usize))),
    }
}

/// LPOP key [count]: removes and returns the first element(s).
fn lpop(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    pop_generic(ctx, args, true)
}

/// RPOP key [count]: removes and returns the last element(s).
fn rpop(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    pop_generic(ctx, args, false)
}

// ---------------------------------------------------------------------------------------
// Reads.

/// LLEN key: the length of the list (0 if absent).
fn llen(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    Ok(Reply::Int(read_list(ctx, args.get(1))?.map_or(0, |l| l.len() as i64)))
}

/// Resolves a Redis start/end range against `len`: `None` when empty.
fn resolve_range(start: i64, end: i64, len: usize) -> Option<(usize, usize)> {
    let llen = len as i64;
    let mut start = if start < 0 { llen.saturating_add(start) } else { start };
    let mut end = if end < 0 { llen.saturating_add(end) } else { end };
    if start < 0 {
        start = 0;
    }
    if start > end || start >= llen {
        return None;
    }
    if end >= llen {
        end = llen - 1;
    }
    Some((start as usize, end as usize))
}

/// LRANGE key start stop: the elements in the inclusive range.
fn lrange(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    let start = long_arg(args.get(2))?;
    let end = long_arg(args.get(3))?;
    let Some(list) = read_list(ctx, args.get(1))? else { return Ok(Reply::Array(Vec::new())) };
    Ok(Reply::Array(match resolve_range(start, end, list.len()) {
        None => Vec::new(),
        Some((s, e)) => list.range(s, e).map(Reply::bulk).collect(),
    }))
}

/// The position an index (negative from the tail) names in a list of `len`.
fn resolve_index(index: i64, len: usize) -> Option<usize> {
    let i = if index < 0 { (len as i64).checked_add(index)? } else { index };
    if i < 0 || i >= len as i64 { None } else { Some(i as usize) }
}

/// LINDEX key index: the element at index, or nil.
fn lindex(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    let Some(list) = read_list(ctx, args.get(1))? else { return Ok(Reply::Nil) };
    let index = long_arg(args.get(2))?;
    Ok(match resolve_index(index, list.len()).and_then(|i| list.get(i)) {
        Some(v) => Reply::bulk(v),
        None => Reply::Nil,
    })
}

/// LPOS key element [RANK rank] [COUNT num] [MAXLEN len]: positions of matching elements.
fn lpos(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    let element = args.get(2);
    let mut rank: i64 = 1;
    let mut count: i64 = -1;
    let mut maxlen: i64 = 0;
    let mut j = 3;
    while j < args.len() {
        let opt = args.get(j);
        let more = j + 1 < args.len();
        if is_opt(opt, "rank") && more {
            j += 1;
            rank = range_arg(args.get(j), -i64::MAX, i64::MAX, None)?;
            if rank == 0 {
                return Err(CmdError::err(
                    "RANK can't be zero: use 1 to start from the first match, 2 from the second ... \
                     or use negative to start from the end of the list",
                ));
            }
        } else if is_opt(opt, "count") && more {
            j += 1;
            count = positive_arg(args.get(j), "COUNT can't be negative")?;
        } else if is_opt(opt, "maxlen") && more {
            j += 1;
            maxlen = positive_arg(args.get(j), "MAXLEN can't be negative")?;
        } else {
            return Err(SYNTAX);
        }
        j += 1;
    }
    let from_tail = rank < 0;
    let rank = rank.unsigned_abs();
    let Some(list) = read_list(ctx, args.get(1))? else {
        return Ok(if count != -1 { Reply::Array(Vec::new()) } else { Reply::Nil });
    };
    let len = list.len();
    let maxlen = if maxlen == 0 { usize::MAX } else { maxlen as usize };
    let mut matches: u64 = 0;
    let mut found = Vec::new();
    let iter: Box<dyn Iterator<Item = &[u8]>> =
        if from_tail { Box::new(list.iter().rev()) } else { Box::new(list.iter()) };
    for (index, e) in iter.take(maxlen).enumerate() {
        if e != element {
            continue;
        }
        matches += 1;
        if matches < rank {
            continue;
        }
        let pos = if from_tail { len - index - 1 } else { index };
        found.push(Reply::Int(pos as i64));
        if count == -1 || (count != 0 && matches - rank + 1 >= count as u64) {
            break;
        }
    }
    if count != -1 { Ok(Reply::Array(found)) } else { Ok(found.pop().unwrap_or(Reply::Nil)) }
}

// ---------------------------------------------------------------------------------------
// In-place changes.

/// LSET key index element: replaces the element at index.
fn lset(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    let key = args.get(1);
    if !list_exists_for_write(ctx, key)? {
        return Err(NO_SUCH_KEY);
    }
    let index = long_arg(args.get(2))?;
    let value = args.get(3);
    let done = with_list(ctx, key, |list, fill| {
        list.grow_check(fill, value.len(), 1);
        let ok = resolve_index(index, list.len()).is_some_and(|i| list.set(i, value));
        if ok {
            list.shrink_check(fill);
        }
        ok
    })
    .unwrap_or(false);
    if !done {
        return Err(INDEX_OUT_OF_RANGE);
    }
    ctx.notify(LIST, "lset", key);
    ctx.dirty(1);
    Ok(Reply::Ok)
}

/// LINSERT key BEFORE|AFTER pivot element: inserts next to the first pivot; the new length,
/// -1 without pivot, 0 without key.
fn linsert(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    let after = if is_opt(args.get(2), "after") {
        true
    } else if is_opt(args.get(2), "before") {
        false
    } else {
        return Err(SYNTAX);
    };
    let key = args.get(1);
    if !list_exists_for_write(ctx, key)? {
        return Ok(Reply::Int(0));
    }
    let (pivot, value) = (args.get(3), args.get(4));
    let result = with_list(ctx, key, |list, fill| {
        list.grow_check(fill, value.len(), 1);
        let pos = list.iter().position(|e| e == pivot)?;
        list.insert(if after { pos + 1 } else { pos }, value);
        Some(list.len())
    })
    .flatten();
    Ok(match result {
        Some(len) => {
            ctx.notify(LIST, "linsert", key);
            ctx.dirty(1);
            Reply::Int(len as i64)
        }
        None => Reply::Int(-1),
    })
}

/// LREM key count element: removes matching elements (count > 0 from the head, < 0 from
/// the tail, 0 all); replies how many.
fn lrem(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    let count = long_arg(args.get(2))?;
    let key = args.get(1);
    if !list_exists_for_write(ctx, key)? {
        return Ok(Reply::Int(0));
    }
    let element = args.get(3);
    let removed = with_list(ctx, key, |list, fill| {
        let n = list.remove_matching(element, count);
        list.shrink_check(fill);
        n
    })
    .unwrap_or(0);
    if removed > 0 {
        ctx.notify(LIST, "lrem", key);
        ctx.delete_if_empty(key);
    }
    ctx.dirty(removed as u64);
    Ok(Reply::Int(removed as i64))
}

/// LTRIM key start stop: keeps only the inclusive range.
fn ltrim(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    let start = long_arg(args.get(2))?;
    let end = long_arg(args.get(3))?;
    let key = args.get(1);
    if !list_exists_for_write(ctx, key)? {
        return Ok(Reply::Ok);
    }
    let removed = with_list(ctx, key, |list, fill| {
        let len = list.len();
        let (front, back) = match resolve_range(start, end, len) {
            None => (len, 0),
            Some((s, e)) => (s, len - e - 1),
        };
        list.trim(front, back);
        list.shrink_check(fill);
        front + back
    })
    .unwrap_or(0);
    ctx.notify(LIST, "ltrim", key);
    ctx.delete_if_empty(key);
    ctx.dirty(removed as u64);
    Ok(Reply::Ok)
}

// ---------------------------------------------------------------------------------------
// Moves.

pub(crate) fn lmove_generic(ctx: &mut KeyCtx<'_>, src: &[u8], dst: &[u8], from_left: bool, to_left: bool) -> CmdResult {
    if !list_exists_for_write(ctx, src)? {
        return Ok(Reply::Nil);
    }
    list_exists_for_write(ctx, dst)?;
    // Redis's order: pop without deleting, push (creating the destination), then the
    // push event, the pop event, and the source's deletion if emptied.
    let Some(Reply::Bulk(value)) = pop_raw(ctx, src, from_left, 1).pop() else { return Ok(Reply::Nil) };
    if !list_exists_for_write(ctx, dst)? {
        ctx.set(dst, Value::List(Box::new(ListValue::new())));
    }
    with_list(ctx, dst, |list, fill| push_values(list, fill, to_left, &[&value[..]]));
    ctx.notify(LIST, push_event(to_left), dst);
    ctx.notify(LIST, pop_event(from_left), src);
    ctx.delete_if_empty(src);
    ctx.dirty(1);
    Ok(Reply::Bulk(value))
}

/// LMOVE source destination LEFT|RIGHT LEFT|RIGHT: pops from one list, pushes to another.
fn lmove(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    let from_left = position_arg(args.get(3))?;
    let to_left = position_arg(args.get(4))?;
    lmove_generic(ctx, args.get(1), args.get(2), from_left, to_left)
}

/// RPOPLPUSH source destination: LMOVE source destination RIGHT LEFT.
fn rpoplpush(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    lmove_generic(ctx, args.get(1), args.get(2), false, true)
}

/// LMPOP's (and BLMPOP's) options, parsed from `numkeys` at argument `first` on.
pub(crate) struct MpopArgs {
    /// Argument positions of the keys.
    pub keys: std::ops::Range<usize>,
    /// LEFT (true) or RIGHT.
    pub left: bool,
    /// COUNT, 1 if absent.
    pub count: usize,
}

/// Parses `numkeys key [key ...] LEFT|RIGHT [COUNT count]` starting at argument `first`.
pub(crate) fn parse_mpop(args: Args<'_>, first: usize) -> Result<MpopArgs, CmdError> {
    let numkeys = range_arg(args.get(first), 1, i64::MAX, Some("numkeys should be greater than 0"))?;
    let where_idx = (numkeys as u64).saturating_add(first as u64 + 1);
    if where_idx >= args.len() as u64 {
        return Err(SYNTAX);
    }
    let where_idx = where_idx as usize;
    let left = position_arg(args.get(where_idx))?;
    let mut count: i64 = -1;
    let mut j = where_idx + 1;
    while j < args.len() {
        if count == -1 && is_opt(args.get(j), "count") && j + 1 < args.len() {
            j += 1;
            count = range_arg(args.get(j), 1, i64::MAX, Some("count should be greater than 0"))?;
        } else {
            return Err(SYNTAX);
        }
        j += 1;
    }
    let count = if count == -1 { 1 } else { count as usize };
    Ok(MpopArgs { keys: first + 1..where_idx, left, count })
}

/// Pops up to `count` elements from the list under `key`, if it exists:
/// `[key, [elements]]` (LMPOP's reply).
pub(crate) fn mpop_key(ctx: &mut KeyCtx<'_>, key: &[u8], left: bool, count: usize) -> Result<Option<Reply>, CmdError> {
    if !list_exists_for_write(ctx, key)? {
        return Ok(None);
    }
    let popped = pop_n(ctx, key, left, count);
    Ok(Some(Reply::Array(vec![Reply::bulk(key), Reply::Array(popped)])))
}

/// LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count]: pops from the first non-empty
/// list; replies `[key, [elements]]` or a null array.
fn lmpop(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    let parsed = parse_mpop(args, 1)?;
    for i in parsed.keys {
        if let Some(reply) = mpop_key(ctx, args.get(i), parsed.left, parsed.count)? {
            return Ok(reply);
        }
    }
    Ok(Reply::NilArray)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(resolve_range(0, -1, 3), Some((0, 2)));
        assert_eq!(resolve_range(-100, 100, 3), Some((0, 2)));
        assert_eq!(resolve_range(2, 1, 3), None);
        assert_eq!(resolve_range(3, 5, 3), None);
        assert_eq!(resolve_range(i64::MIN, i64::MAX, 3), Some((0, 2)));
        assert_eq!(resolve_index(-1, 3), Some(2));
        assert_eq!(resolve_index(-4, 3), None);
        assert_eq!(resolve_index(i64::MIN, 3), None);
    }
}
