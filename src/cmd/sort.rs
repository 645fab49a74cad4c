//! SORT and SORT_RO, as Redis 7's `sort.c`: the same option parsing (and errors), the
//! same LIMIT clamping, numeric (`strtod`) and ALPHA ordering with Redis's tie breaks,
//! `BY nosort` (a pattern without `*`) keeping a list's or sorted set's own order with
//! LIMIT applied directly, `BY`/`GET` patterns with `*` substitution and `->field`, and
//! STORE writing a list.
//!
//! # Cross-shard design
//!
//! Both commands run on the connection ([`Handler::Async`]). The options are parsed
//! first, so a syntax error touches no shard. Then the command decides which shards it
//! needs:
//!
//! * The keys a `BY` or `GET` pattern names are made from the *elements* of the sorted
//!   key, so they are not declared and may live on any shard. When a pattern can read
//!   other keys (a `BY` pattern with `*` that is used to sort, or a `GET` pattern other
//!   than `#` that contains `*`), the command holds **every** shard through one
//!   [`Tx`] for its whole run.
//! * Otherwise it needs only the source key's shard and, for STORE, the destination's.
//!   When that is a single shard (no patterns, destination on the source's shard, or one
//!   shard in all), the whole command runs as one closure there, like a keyed command.
//!
//! While the shards are held, the source is read on its shard, the `BY` values are
//! fetched with one closure per shard carrying all of that shard's keys (the shards run
//! them concurrently), the elements are sorted and LIMIT applied here, the `GET` values
//! are fetched the same way, and STORE writes the destination with one closure on its
//! shard; then the transaction is dropped and the shards released.
//!
//! **Cost.** Holding every shard stops all other work on the server (every other
//! command, local or forwarded, is parked) for the duration of the command: one acquire
//! round trip per shard in ascending order, then up to four rounds of closures (source,
//! `BY` values, `GET` values, STORE) plus the sort itself. A SORT with patterns over a
//! large key is therefore a server-wide pause, as it is a pause of Redis's single thread.
//!
//! **Atomicity.** Because every shard the command could read or write is held from
//! before the source is read until after the destination is written, no other client
//! can change a weight, a `GET` key, the source or the destination in between, and no
//! client observes the destination before the whole result is in place: the command is
//! as atomic as Redis's. Holding all shards (rather than the shards of the keys the
//! patterns turn out to name) is what makes this possible without knowing those keys in
//! advance; shards are acquired in ascending order, so this cannot deadlock with other
//! transactions (see [`crate::shard::coord`]).

use std::cmp::Ordering;
use std::collections::BTreeMap;

use bytes::Bytes;

use super::arg::{c_str, int_arg, is_opt};
use crate::command::error::{SYNTAX, WRONG_TYPE};
use crate::command::{CmdError, CmdResult, CommandImpl, Handler, LocalFuture};
use crate::persist::journal;
use crate::protocol::{Args, OwnedArgs, Reply};
use crate::server::Session;
use crate::shard::coord::Tx;
use crate::shard::notify;
use crate::shard::slot::key_shard;
use crate::shard::{KeyCtx, ShardState};
use crate::types::{ListValue, Value};
use crate::util::join_all;

/// The commands this file implements.
pub const COMMANDS: &[CommandImpl] = &[
    CommandImpl { name: "sort", handler: Handler::Async(sort) },
    CommandImpl { name: "sort_ro", handler: Handler::Async(sort_ro) },
];

/// `ERR One or more scores can't be converted into double`.
const NOT_DOUBLE: CmdError = CmdError::from_static("ERR One or more scores can't be converted into double");

/// SORT key [BY pattern] [LIMIT offset count] [GET pattern ...] [ASC|DESC] [ALPHA] [STORE destination]: sorts a list, set or sorted set.
fn sort<'a>(s: &'a mut Session, args: Args<'a>) -> LocalFuture<'a, CmdResult> {
    Box::pin(sort_generic(s, args, false))
}

/// SORT_RO key [BY pattern] [LIMIT offset count] [GET pattern ...] [ASC|DESC] [ALPHA]: SORT without STORE.
fn sort_ro<'a>(s: &'a mut Session, args: Args<'a>) -> LocalFuture<'a, CmdResult> {
    Box::pin(sort_generic(s, args, true))
}

// ---------------------------------------------------------------------------------------
// Options and patterns.

/// A `BY`/`GET` pattern with a `*`: `prefix*suffix`, optionally `->field`.
#[derive(Clone, Debug, PartialEq)]
struct Pattern {
    prefix: Bytes,
    suffix: Bytes,
    field: Option<Bytes>,
}

impl Pattern {
    /// Parses `pattern` as Redis's `lookupKeyByPattern` does; `None` if it has no `*`
    /// (C-string semantics: the search for `*` and `->` stops at a NUL byte).
    fn parse(pattern: &[u8]) -> Option<Pattern> {
        let cs = c_str(pattern);
        let star = cs.iter().position(|&c| c == b'*')?;
        let after = &cs[star + 1..];
        let arrow = after.windows(2).position(|w| w == b"->").map(|i| star + 1 + i);
        match arrow {
            Some(f) if f + 2 < cs.len() => Some(Pattern {
                prefix: Bytes::copy_from_slice(&pattern[..star]),
                suffix: Bytes::copy_from_slice(&pattern[star + 1..f]),
                field: Some(Bytes::copy_from_slice(&pattern[f + 2..])),
            }),
            _ => Some(Pattern {
                prefix: Bytes::copy_from_slice(&pattern[..star]),
                suffix: Bytes::copy_from_slice(&pattern[star + 1..]),
                field: None,
            }),
        }
    }

    /// The lookup this pattern makes for element `elem`.
    fn lookup(&self, elem: &[u8]) -> Lookup {
        let mut key = Vec::with_capacity(self.prefix.len() + elem.len() + self.suffix.len());
        key.extend_from_slice(&self.prefix);
        key.extend_from_slice(elem);
        key.extend_from_slice(&self.suffix);
        Lookup { key, field: self.field.clone() }
    }
}

/// One GET operation.
#[derive(Clone, Debug, PartialEq)]
enum GetOp {
    /// `GET #`: the element itself.
    Elem,
    /// A pattern without `*`: always nil (Redis does not read a fixed key).
    Nil,
    /// A pattern naming a key (and maybe a hash field) per element.
    Key(Pattern),
}

impl GetOp {
    fn parse(pattern: &[u8]) -> GetOp {
        if c_str(pattern) == b"#" { GetOp::Elem } else { Pattern::parse(pattern).map_or(GetOp::Nil, GetOp::Key) }
    }
}

/// The parsed options.
#[derive(Clone, Debug)]
struct Opts {
    desc: bool,
    alpha: bool,
    limit_start: i64,
    limit_count: i64,
    store: Option<Bytes>,
    /// The last BY pattern, if it has a `*`.
    by: Option<Pattern>,
    /// Whether any BY pattern had no `*` (Redis's `dontsort`, sticky).
    dontsort: bool,
    gets: Vec<GetOp>,
}

impl Opts {
    /// Parses the options after the key, in Redis's order and with its errors.
    fn parse(args: Args<'_>, readonly: bool) -> Result<Opts, CmdError> {
        let mut o = Opts {
            desc: false,
            alpha: false,
            limit_start: 0,
            limit_count: -1,
            store: None,
            by: None,
            dontsort: false,
            gets: Vec::new(),
        };
        let mut j = 2;
        while j < args.len() {
            let left = args.len() - j - 1;
            let arg = args.get(j);
            if is_opt(arg, "asc") {
                o.desc = false;
            } else if is_opt(arg, "desc") {
                o.desc = true;
            } else if is_opt(arg, "alpha") {
                o.alpha = true;
            } else if is_opt(arg, "limit") && left >= 2 {
                o.limit_start = int_arg(args.get(j + 1))?;
                o.limit_count = int_arg(args.get(j + 2))?;
                j += 2;
            } else if !readonly && is_opt(arg, "store") && left >= 1 {
                o.store = Some(Bytes::copy_from_slice(args.get(j + 1)));
                j += 1;
            } else if is_opt(arg, "by") && left >= 1 {
                o.by = Pattern::parse(args.get(j + 1));
                if o.by.is_none() {
                    o.dontsort = true;
                }
                j += 1;
            } else if is_opt(arg, "get") && left >= 1 {
                o.gets.push(GetOp::parse(args.get(j + 1)));
                j += 1;
            } else {
                return Err(SYNTAX);
            }
            j += 1;
        }
        Ok(o)
    }

    /// Whether the command may read keys other than the source (through BY or GET).
    fn reads_other_keys(&self) -> bool {
        (!self.dontsort && self.by.is_some()) || self.gets.iter().any(|g| matches!(g, GetOp::Key(_)))
    }
}

// ---------------------------------------------------------------------------------------
// Reading.

/// A key (and maybe hash field) a pattern names.
struct Lookup {
    key: Vec<u8>,
    field: Option<Bytes>,
}

/// Redis's `lookupKeyByPattern` after the substitution: the string under the key, or the
/// hash field's value; `None` if missing or of another type. Counts a hit or miss.
fn lookup(ctx: &mut KeyCtx<'_>, l: &Lookup) -> Option<Bytes> {
    let entry = ctx.read(&l.key)?;
    match (&entry.value, &l.field) {
        (Value::Str(s), None) => Some(s.to_bytes()),
        (Value::Hash(h), Some(field)) => h.get(field).map(Bytes::copy_from_slice),
        _ => None,
    }
}

/// Runs `lookups` on one shard.
fn lookup_all(ctx: &mut KeyCtx<'_>, lookups: &[Lookup]) -> Vec<Option<Bytes>> {
    lookups.iter().map(|l| lookup(ctx, l)).collect()
}

/// The source's elements, loaded as Redis loads its sort vector, with the adjusted plan.
struct Loaded {
    elems: Vec<Bytes>,
    start: i64,
    end: i64,
    dontsort: bool,
    alpha: bool,
    by: Option<Pattern>,
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    List,
    Set,
    ZSet,
}

/// Reads the source key (hit/miss counted; WRONGTYPE for a non-collection; a missing key
/// is an empty list) and loads the elements to sort.
fn load(ctx: &mut KeyCtx<'_>, key: &[u8], o: &Opts) -> Result<Loaded, CmdError> {
    let mut dontsort = o.dontsort;
    let mut alpha = o.alpha;
    let mut by = o.by.clone();
    let mut elems = Vec::new();
    let (start, end, kind) = {
        let value = ctx.read(key).map(|e| &e.value);
        let (kind, len) = match value {
            None => (Kind::List, 0),
            Some(Value::List(l)) => (Kind::List, l.len()),
            Some(Value::Set(s)) => (Kind::Set, s.len()),
            Some(Value::ZSet(z)) => (Kind::ZSet, z.len()),
            Some(_) => return Err(WRONG_TYPE),
        };
        // A set has no order of its own: when storing, sort it (ALPHA) to get a stable result.
        if dontsort && kind == Kind::Set && o.store.is_some() {
            dontsort = false;
            alpha = true;
            by = None;
        }
        let len = len as i64;
        let mut start = o.limit_start.max(0);
        let mut end = if o.limit_count < 0 {
            len - 1
        } else {
            (i128::from(start) + i128::from(o.limit_count) - 1).min(i128::from(i64::MAX)) as i64
        };
        if start >= len {
            start = len - 1;
            end = len - 2;
        }
        if end >= len {
            end = len - 1;
        }
        let ranged = kind != Kind::Set && dontsort && (start != 0 || end != len - 1);
        let take = if ranged { (end - start + 1).max(0) as usize } else { len as usize };
        match value {
            // An empty range of an unsorted list loads nothing.
            Some(Value::List(_)) if dontsort && end < start => {}
            Some(Value::List(l)) if dontsort => {
                let skip = start as usize;
                if o.desc {
                    elems.extend(l.iter().rev().skip(skip).take(take).map(Bytes::copy_from_slice));
                } else {
                    elems.extend(l.iter().skip(skip).take(take).map(Bytes::copy_from_slice));
                }
                end -= start;
                start = 0;
            }
            Some(Value::List(l)) => elems.extend(l.iter().map(Bytes::copy_from_slice)),
            Some(Value::Set(s)) => elems.extend(s.iter().map(|m| m.to_bytes())),
            Some(Value::ZSet(z)) if dontsort => {
                if take > 0 {
                    let range = if o.desc {
                        z.range((len - 1 - start) as usize, take, true)
                    } else {
                        z.range(start as usize, take, false)
                    };
                    elems.extend(range.map(|(_, m)| Bytes::copy_from_slice(m)));
                }
                end -= start;
                start = 0;
            }
            Some(Value::ZSet(z)) => elems.extend(z.iter().map(|(_, m)| Bytes::copy_from_slice(m))),
            _ => {}
        }
        (start, end, kind)
    };
    if kind == Kind::ZSet {
        // Redis converts a listpack sorted set to a skiplist for SORT (destructively).
        if let Some(mut entry) = ctx.write(key)
            && let Value::ZSet(z) = &mut entry.value
            && z.encoding() != "skiplist"
        {
            z.convert_to_skiplist();
        }
    }
    Ok(Loaded { elems, start, end, dontsort, alpha, by })
}

/// The BY lookups for every element (only when sorting by a pattern).
fn by_lookups(l: &Loaded) -> Vec<Lookup> {
    match &l.by {
        Some(p) if !l.dontsort => l.elems.iter().map(|e| p.lookup(e)).collect(),
        _ => Vec::new(),
    }
}

// ---------------------------------------------------------------------------------------
// Sorting.

/// One element with what it sorts by.
struct Item {
    elem: Bytes,
    score: f64,
    cmp: Option<Bytes>,
}

/// `strcoll` in the C (and C.UTF-8) locale: `strcmp`, which stops at a NUL byte.
fn coll(a: &[u8], b: &[u8]) -> Ordering {
    c_str(a).cmp(c_str(b))
}

/// Redis's `sortCompare`.
fn compare(a: &Item, b: &Item, alpha: bool, by_pattern: bool, store: bool) -> Ordering {
    if !alpha {
        if a.score > b.score {
            Ordering::Greater
        } else if a.score < b.score {
            Ordering::Less
        } else {
            a.elem.cmp(&b.elem)
        }
    } else if by_pattern {
        match (&a.cmp, &b.cmp) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Less,
            (Some(_), None) => Ordering::Greater,
            (Some(x), Some(y)) => {
                if store {
                    x.cmp(y)
                } else {
                    coll(x, y)
                }
            }
        }
    } else if store {
        a.elem.cmp(&b.elem)
    } else {
        coll(&a.elem, &b.elem)
    }
}

/// Sorts the loaded elements (unless `dontsort`) with their BY values, as Redis does
/// (a stable sort for the whole vector, Redis's partial quicksort when BY and LIMIT
/// narrow the range), and returns the elements of the LIMIT range.
fn sort_range(l: Loaded, by_vals: Vec<Option<Bytes>>, desc: bool, store: bool) -> Result<Vec<Bytes>, CmdError> {
    let Loaded { elems, start, end, dontsort, alpha, by } = l;
    let mut elems = elems;
    if !dontsort {
        let by_pattern = by.is_some();
        let mut items = Vec::with_capacity(elems.len());
        let mut by_vals = by_vals.into_iter();
        let mut error = false;
        for elem in elems {
            let mut item = Item { elem, score: 0.0, cmp: None };
            let by_val = if by_pattern { by_vals.next().flatten() } else { Some(item.elem.clone()) };
            if let Some(v) = by_val {
                if alpha {
                    if by_pattern {
                        item.cmp = Some(v);
                    }
                } else {
                    match strtod_score(&v) {
                        Some(score) => item.score = score,
                        None => error = true,
                    }
                }
            }
            items.push(item);
        }
        if error {
            return Err(NOT_DOUBLE);
        }
        let cmp = |a: &Item, b: &Item| {
            let c = compare(a, b, alpha, by_pattern, store);
            if desc { c.reverse() } else { c }
        };
        if by_pattern && (start != 0 || end != items.len() as i64 - 1) {
            pqsort(&mut items, &cmp, start, end);
        } else {
            items.sort_by(cmp);
        }
        elems = items.into_iter().map(|i| i.elem).collect();
    }
    if end < start || start < 0 {
        return Ok(Vec::new());
    }
    let (start, end) = (start as usize, end as usize);
    Ok(elems.into_iter().skip(start).take(end + 1 - start).collect())
}

/// Redis's `pqsort`: a BSD quicksort that only recurses into parts overlapping the
/// range `lrange..=rrange` (so equal elements end up as Redis orders them).
fn pqsort<T>(v: &mut [T], cmp: &impl Fn(&T, &T) -> Ordering, lrange: i64, rrange: i64) {
    pqsort_part(v, 0, v.len(), cmp, lrange, rrange);
}

fn med3<T>(v: &[T], a: usize, b: usize, c: usize, cmp: &impl Fn(&T, &T) -> Ordering) -> usize {
    if cmp(&v[a], &v[b]) == Ordering::Less {
        if cmp(&v[b], &v[c]) == Ordering::Less {
            b
        } else if cmp(&v[a], &v[c]) == Ordering::Less {
            c
        } else {
            a
        }
    } else if cmp(&v[b], &v[c]) == Ordering::Greater {
        b
    } else if cmp(&v[a], &v[c]) == Ordering::Less {
        a
    } else {
        c
    }
}

fn vecswap<T>(v: &mut [T], a: usize, b: usize, n: usize) {
    for i in 0..n {
        v.swap(a + i, b + i);
    }
}

/// Whether the part `lo..lo+n` lies entirely outside the wanted range.
fn outside(lo: usize, n: usize, lrange: i64, rrange: i64) -> bool {
    let (l, r) = (lo as i64, (lo + n) as i64 - 1);
    (lrange < l && rrange < l) || (lrange > r && rrange > r)
}

fn pqsort_part<T>(v: &mut [T], mut a: usize, mut n: usize, cmp: &impl Fn(&T, &T) -> Ordering, lr: i64, rr: i64) {
    loop {
        if n < 7 {
            for pm in a + 1..a + n {
                let mut pl = pm;
                while pl > a && cmp(&v[pl - 1], &v[pl]) == Ordering::Greater {
                    v.swap(pl, pl - 1);
                    pl -= 1;
                }
            }
            return;
        }
        let mut pm = a + n / 2;
        if n > 7 {
            let mut pl = a;
            let mut pn = a + n - 1;
            if n > 40 {
                let d = n / 8;
                pl = med3(v, pl, pl + d, pl + 2 * d, cmp);
                pm = med3(v, pm - d, pm, pm + d, cmp);
                pn = med3(v, pn - 2 * d, pn - d, pn, cmp);
            }
            pm = med3(v, pl, pm, pn, cmp);
        }
        v.swap(a, pm);
        let (mut pa, mut pb) = (a + 1, a + 1);
        let (mut pc, mut pd) = (a + n - 1, a + n - 1);
        loop {
            while pb <= pc {
                let c = cmp(&v[pb], &v[a]);
                if c == Ordering::Greater {
                    break;
                }
                if c == Ordering::Equal {
                    v.swap(pa, pb);
                    pa += 1;
                }
                pb += 1;
            }
            while pb <= pc {
                let c = cmp(&v[pc], &v[a]);
                if c == Ordering::Less {
                    break;
                }
                if c == Ordering::Equal {
                    v.swap(pc, pd);
                    pd -= 1;
                }
                pc -= 1;
            }
            if pb > pc {
                break;
            }
            v.swap(pb, pc);
            pb += 1;
            pc -= 1;
        }
        let pn = a + n;
        let r = (pa - a).min(pb - pa);
        vecswap(v, a, pb - r, r);
        let r = (pd - pc).min(pn - pd - 1);
        vecswap(v, pb, pn - r, r);
        let r = pb - pa;
        if r > 1 && !outside(a, r, lr, rr) {
            pqsort_part(v, a, r, cmp, lr, rr);
        }
        let r = pd - pc;
        if r > 1 {
            a = pn - r;
            n = r;
            if !outside(a, n, lr, rr) {
                continue;
            }
        }
        return;
    }
}

/// A score as Redis reads it with `strtod`: `None` if the text is not entirely a number
/// (leading whitespace allowed, an empty string is 0), overflows or underflows
/// (`ERANGE`, subnormals included), or is NaN.
fn strtod_score(text: &[u8]) -> Option<f64> {
    let s = c_str(text);
    if s.is_empty() {
        return Some(0.0);
    }
    let body = &s[s.iter().position(|c| !matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r'))?..];
    let (neg, rest) = match body.first() {
        Some(b'-') => (true, &body[1..]),
        Some(b'+') => (false, &body[1..]),
        _ => (false, body),
    };
    let lower = rest.to_ascii_lowercase();
    let magnitude = if lower == b"inf" || lower == b"infinity" {
        return Some(if neg { f64::NEG_INFINITY } else { f64::INFINITY });
    } else if let Some(hex) = lower.strip_prefix(b"0x") {
        crate::util::num::hex_float_magnitude(hex)?
    } else {
        decimal_magnitude(&lower)?
    };
    if magnitude.is_infinite() || magnitude.is_nan() || (magnitude != 0.0 && magnitude < f64::MIN_POSITIVE) {
        return None;
    }
    Some(if neg { -magnitude } else { magnitude })
}

/// An unsigned decimal float (`1`, `1.5`, `.5`, `1.`, `1e-3`); `None` if malformed or
/// if a nonzero value underflows to zero.
fn decimal_magnitude(s: &[u8]) -> Option<f64> {
    let (mant, exp) = match s.iter().position(|&c| c == b'e') {
        Some(p) => (&s[..p], Some(&s[p + 1..])),
        None => (s, None),
    };
    let mut digits = 0;
    let mut point = false;
    for &c in mant {
        match c {
            b'0'..=b'9' => digits += 1,
            b'.' if !point => point = true,
            _ => return None,
        }
    }
    if digits == 0 {
        return None;
    }
    if let Some(e) = exp {
        let e = e.strip_prefix(b"-").or_else(|| e.strip_prefix(b"+")).unwrap_or(e);
        if e.is_empty() || !e.iter().all(u8::is_ascii_digit) {
            return None;
        }
    }
    let value: f64 = std::str::from_utf8(s).ok()?.parse().ok()?;
    if value == 0.0 && mant.iter().any(|c| (b'1'..=b'9').contains(c)) {
        return None;
    }
    Some(value)
}

// ---------------------------------------------------------------------------------------
// Output.

/// The GET lookups for the output elements, in order.
fn get_lookups(out: &[Bytes], gets: &[GetOp]) -> Vec<Lookup> {
    let mut lookups = Vec::new();
    for elem in out {
        for op in gets {
            if let GetOp::Key(p) = op {
                lookups.push(p.lookup(elem));
            }
        }
    }
    lookups
}

/// The output values: the elements, or for each element one value per GET operation.
fn assemble(out: Vec<Bytes>, gets: &[GetOp], get_vals: Vec<Option<Bytes>>) -> Vec<Option<Bytes>> {
    if gets.is_empty() {
        return out.into_iter().map(Some).collect();
    }
    let mut vals = get_vals.into_iter();
    let mut values = Vec::with_capacity(out.len() * gets.len());
    for elem in &out {
        for op in gets {
            values.push(match op {
                GetOp::Elem => Some(elem.clone()),
                GetOp::Nil => None,
                GetOp::Key(_) => vals.next().flatten(),
            });
        }
    }
    values
}

/// The reply for the values (no STORE).
fn reply(values: Vec<Option<Bytes>>) -> Reply {
    Reply::Array(values.into_iter().map(|v| v.map_or(Reply::Nil, Reply::Bulk)).collect())
}

/// STORE: writes the values as a list under `dst` (a missing value as an empty string),
/// or deletes `dst` if there are none; counts the changes; replies the count.
fn store(ctx: &mut KeyCtx<'_>, dst: &[u8], values: Vec<Option<Bytes>>) -> Reply {
    let n = values.len();
    if ctx.journaling() {
        // BY/GET patterns may read keys of other shards: journal the result, not the SORT.
        ctx.journal_as(&[b"DEL", dst]);
        if n > 0 {
            let mut argv: Vec<&[u8]> = vec![b"RPUSH", dst];
            argv.extend(values.iter().map(|v| v.as_deref().unwrap_or_default()));
            ctx.journal_as(&argv);
        }
    }
    if n > 0 {
        let fill = ctx.cfg.list_max_listpack_size();
        let mut list = ListValue::new();
        list.grow_check(fill, values.iter().map(|v| v.as_ref().map_or(0, Bytes::len)).sum(), n);
        for v in &values {
            list.push_back(v.as_deref().unwrap_or_default());
        }
        ctx.set(dst, Value::List(Box::new(list)));
        ctx.notify(notify::LIST, "sortstore", dst);
        ctx.dirty(n as u64);
    } else {
        let now = ctx.now_ms();
        if let Some(entry) = ctx.db().take(dst, now) {
            crate::util::lazyfree::release(entry.value);
            ctx.notify(notify::GENERIC, "del", dst);
            ctx.dirty(1);
        }
    }
    Reply::Int(n as i64)
}

// ---------------------------------------------------------------------------------------
// Running.

async fn sort_generic(s: &Session, args: Args<'_>, readonly: bool) -> CmdResult {
    let opts = Opts::parse(args, readonly)?;
    let node = s.node.clone();
    let (db, no_touch) = (s.db(), s.no_touch());
    let src = Bytes::copy_from_slice(args.get(1));
    let src_shard = key_shard(&src, node.shards);
    let mut shards: Vec<usize> = if opts.reads_other_keys() { (0..node.shards).collect() } else { vec![src_shard] };
    if let Some(dst) = &opts.store {
        shards.push(key_shard(dst, node.shards));
    }
    shards.sort_unstable();
    shards.dedup();
    if shards.len() == 1 {
        return node
            .run_on(src_shard, s.tx_id(), move |state: &mut ShardState| {
                let (ks, cfg, now) = (&mut state.keyspace, &state.config, crate::util::now_ms());
                journal::run_recorded(ks, cfg, db, no_touch, now, OwnedArgs::default().view(), |ctx| {
                    sort_on_one_shard(ctx, &src, &opts)
                })
            })
            .await?;
    }
    let tx = s.hold(shards).await?;
    let result = sort_held(&tx, node.shards, db, no_touch, src, opts).await;
    drop(tx);
    result
}

/// The whole command on the one shard that holds every key it touches.
fn sort_on_one_shard(ctx: &mut KeyCtx<'_>, src: &[u8], o: &Opts) -> CmdResult {
    let loaded = load(ctx, src, o)?;
    let by_vals = lookup_all(ctx, &by_lookups(&loaded));
    let out = sort_range(loaded, by_vals, o.desc, o.store.is_some())?;
    let get_vals = lookup_all(ctx, &get_lookups(&out, &o.gets));
    let values = assemble(out, &o.gets, get_vals);
    Ok(match &o.store {
        Some(dst) => store(ctx, dst, values),
        None => reply(values),
    })
}

/// The command with its shards held by `tx`: source on its shard, pattern lookups one
/// closure per shard (concurrently), sorting here, STORE on the destination's shard.
async fn sort_held(tx: &Tx, shards: usize, db: usize, no_touch: bool, src: Bytes, o: Opts) -> CmdResult {
    let opts = o.clone();
    let loaded = tx
        .run(key_shard(&src, shards), move |state: &mut ShardState| {
            let (ks, cfg, now) = (&mut state.keyspace, &state.config, crate::util::now_ms());
            journal::run_recorded(ks, cfg, db, no_touch, now, OwnedArgs::default().view(), |ctx| load(ctx, &src, &opts))
        })
        .await??;
    let by_vals = fetch(tx, shards, db, no_touch, by_lookups(&loaded)).await?;
    let out = sort_range(loaded, by_vals, o.desc, o.store.is_some())?;
    let get_vals = fetch(tx, shards, db, no_touch, get_lookups(&out, &o.gets)).await?;
    let values = assemble(out, &o.gets, get_vals);
    match o.store {
        Some(dst) => Ok(tx
            .run(key_shard(&dst, shards), move |state: &mut ShardState| {
                let (ks, cfg, now) = (&mut state.keyspace, &state.config, crate::util::now_ms());
                journal::run_recorded(ks, cfg, db, no_touch, now, OwnedArgs::default().view(), |ctx| {
                    store(ctx, &dst, values)
                })
            })
            .await?),
        None => Ok(reply(values)),
    }
}

/// Runs `lookups` on the shards owning their keys (held by `tx`), one closure per shard,
/// concurrently; the values in the order given.
async fn fetch(
    tx: &Tx,
    shards: usize,
    db: usize,
    no_touch: bool,
    lookups: Vec<Lookup>,
) -> Result<Vec<Option<Bytes>>, CmdError> {
    let count = lookups.len();
    let mut groups: BTreeMap<usize, (Vec<usize>, Vec<Lookup>)> = BTreeMap::new();
    for (i, l) in lookups.into_iter().enumerate() {
        let group = groups.entry(key_shard(&l.key, shards)).or_default();
        group.0.push(i);
        group.1.push(l);
    }
    let mut order = Vec::with_capacity(groups.len());
    let mut futures = Vec::with_capacity(groups.len());
    for (shard, (indexes, lookups)) in groups {
        order.push(indexes);
        futures.push(tx.run(shard, move |state: &mut ShardState| {
            let (ks, cfg, now) = (&mut state.keyspace, &state.config, crate::util::now_ms());
            journal::run_recorded(ks, cfg, db, no_touch, now, OwnedArgs::default().view(), |ctx| {
                lookup_all(ctx, &lookups)
            })
        }));
    }
    let mut values = vec![None; count];
    for (indexes, result) in order.into_iter().zip(join_all(futures).await) {
        for (i, v) in indexes.into_iter().zip(result?) {
            values[i] = v;
        }
    }
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_parse_like_strtod() {
        assert_eq!(strtod_score(b""), Some(0.0));
        assert_eq!(strtod_score(b" 2"), Some(2.0));
        assert_eq!(strtod_score(b"2 "), None);
        assert_eq!(strtod_score(b" "), None);
        assert_eq!(strtod_score(b"0x10"), Some(16.0));
        assert_eq!(strtod_score(b"0x"), None);
        assert_eq!(strtod_score(b"1e400"), None);
        assert_eq!(strtod_score(b"1e-400"), None);
        assert_eq!(strtod_score(b"1e-310"), None);
        assert_eq!(strtod_score(b"-Infinity"), Some(f64::NEG_INFINITY));
        assert_eq!(strtod_score(b"nan"), None);
        assert_eq!(strtod_score(b"1e"), None);
        assert_eq!(strtod_score(b"1."), Some(1.0));
        assert_eq!(strtod_score(b".5"), Some(0.5));
        assert_eq!(strtod_score(b"+3"), Some(3.0));
        assert_eq!(strtod_score(b"."), None);
        assert_eq!(strtod_score(b"5\0junk"), Some(5.0));
        assert_eq!(strtod_score(b"0e-500"), Some(0.0));
    }

    #[test]
    fn patterns_split_like_redis() {
        let p = Pattern::parse(b"w_*->f").expect("a star");
        assert_eq!(p.lookup(b"x").key, b"w_x");
        assert_eq!(p.field.as_deref(), Some(&b"f"[..]));
        let p = Pattern::parse(b"w_*->").expect("a star");
        assert_eq!(p.lookup(b"x").key, b"w_x->");
        assert_eq!(p.field, None);
        assert!(Pattern::parse(b"nosort").is_none());
        assert_eq!(GetOp::parse(b"#"), GetOp::Elem);
        assert_eq!(GetOp::parse(b"fixed"), GetOp::Nil);
    }

    #[test]
    fn pqsort_sorts_the_range() {
        let data: Vec<u32> = (0..200u32).map(|i| (i * 7919) % 211).collect();
        let mut full = data.clone();
        full.sort();
        let mut part = data.clone();
        pqsort(&mut part, &|a: &u32, b: &u32| a.cmp(b), 50, 80);
        assert_eq!(&part[50..=80], &full[50..=80]);
        let mut all = data;
        pqsort(&mut all, &|a: &u32, b: &u32| a.cmp(b), 0, 199);
        assert_eq!(all, full);
    }
}
