//! Geo commands: GEOADD GEODIST GEOHASH GEOPOS GEOSEARCH GEOSEARCHSTORE GEORADIUS
//! GEORADIUSBYMEMBER GEORADIUS_RO GEORADIUSBYMEMBER_RO.
//!
//! Positions live in sorted sets, the score being the 52-bit interleaved geohash, as in
//! Redis's `geo.c` (7.0): the same order of checks, error texts, reply shapes (distances
//! are bulk strings with four decimals, coordinates "human" doubles) and search (the
//! nine cells of [`crate::types::geohash::search_cells`], points filtered by distance).
//! The STORE variants gather source and destination when they sit on different shards.

use bytes::Bytes;

use super::arg::{int_arg, is_opt};
use crate::command::error::{NOT_FLOAT, SYNTAX, WRONG_TYPE};
use crate::command::{CmdError, CmdResult, CommandImpl, Handler, MultiShard};
use crate::protocol::{Args, Reply};
use crate::shard::KeyCtx;
use crate::shard::notify::{GENERIC, ZSET};
use crate::types::geohash::{self, Shape, ShapeKind};
use crate::types::zset::ZSetLimits;
use crate::types::{Value, ZSetValue};
use crate::util::num::parse_f64;

const fn keyed(name: &'static str, run: crate::command::KeyedFn) -> CommandImpl {
    CommandImpl { name, handler: Handler::Keyed { run, multi: MultiShard::Gather } }
}

/// The geo family's commands.
pub const COMMANDS: &[CommandImpl] = &[
    keyed("geoadd", geoadd),
    keyed("geodist", geodist),
    keyed("geohash", geohash_cmd),
    keyed("geopos", geopos),
    keyed("geosearch", geosearch),
    keyed("geosearchstore", geosearchstore),
    keyed("georadius", georadius),
    keyed("georadiusbymember", georadiusbymember),
    keyed("georadius_ro", georadius_ro),
    keyed("georadiusbymember_ro", georadiusbymember_ro),
];

/// A double as Redis's `getDoubleFromObject` reads it (`strtod`: no overflow, no underflow
/// to zero, no NaN).
fn double_arg(arg: &[u8]) -> Option<f64> {
    let Some(v) = parse_f64(arg) else { return hex_f64(arg) };
    let lower = arg.to_ascii_lowercase();
    if v.is_infinite() && !lower.windows(3).any(|w| w == b"inf") {
        return None;
    }
    if v == 0.0 {
        let mantissa = lower.split(|&c| c == b'e').next().unwrap_or(&[]);
        if mantissa.iter().any(|c| (b'1'..=b'9').contains(c)) {
            return None;
        }
    }
    Some(v)
}

/// A hexadecimal float as C's `strtod` reads it (`0x1.8p3`); `None` if malformed, or if it
/// overflows or underflows to zero (`ERANGE`).
fn hex_f64(arg: &[u8]) -> Option<f64> {
    let (neg, rest) = match arg.first() {
        Some(b'-') => (true, &arg[1..]),
        Some(b'+') => (false, &arg[1..]),
        _ => (false, arg),
    };
    let rest = rest.strip_prefix(b"0x").or_else(|| rest.strip_prefix(b"0X"))?;
    let v = crate::util::num::hex_float_magnitude(rest)?;
    if v.is_infinite() {
        return None;
    }
    Some(if neg { -v } else { v })
}

/// `extractLongLatOrReply`.
fn lon_lat(lon: &[u8], lat: &[u8]) -> Result<(f64, f64), CmdError> {
    let lon = double_arg(lon).ok_or(NOT_FLOAT)?;
    let lat = double_arg(lat).ok_or(NOT_FLOAT)?;
    if !(geohash::LONG_MIN..=geohash::LONG_MAX).contains(&lon) || !(geohash::LAT_MIN..=geohash::LAT_MAX).contains(&lat)
    {
        return Err(CmdError::err(format!("invalid longitude,latitude pair {lon:.6},{lat:.6}")));
    }
    Ok((lon, lat))
}

/// `extractUnitOrReply`: metres per unit.
fn unit(arg: &[u8]) -> Result<f64, CmdError> {
    if is_opt(arg, "m") {
        Ok(1.0)
    } else if is_opt(arg, "km") {
        Ok(1000.0)
    } else if is_opt(arg, "ft") {
        Ok(0.3048)
    } else if is_opt(arg, "mi") {
        Ok(1609.34)
    } else {
        Err(CmdError::from_static("ERR unsupported unit provided. please use M, KM, FT, MI"))
    }
}

/// `extractDistanceOrReply`: (radius, metres per unit).
fn distance_arg(radius: &[u8], u: &[u8]) -> Result<(f64, f64), CmdError> {
    let r = double_arg(radius).ok_or(CmdError::from_static("ERR need numeric radius"))?;
    if r < 0.0 {
        return Err(CmdError::from_static("ERR radius cannot be negative"));
    }
    Ok((r, unit(u)?))
}

/// A distance as `addReplyDoubleDistance` writes it.
fn dist_reply(d: f64) -> Reply {
    Reply::Bulk(Bytes::from(format!("{d:.4}")))
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

fn limits(ctx: &KeyCtx<'_>) -> ZSetLimits {
    ZSetLimits { max_entries: ctx.cfg.zset_max_listpack_entries(), max_value: ctx.cfg.zset_max_listpack_value() }
}

/// GEOADD key [NX|XX] [CH] longitude latitude member [...]: adds or updates positions,
/// replying how many members were added (or changed, with CH).
fn geoadd(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    let key = args.get(1);
    let (mut nx, mut xx, mut ch) = (false, false, false);
    let mut idx = 2;
    while idx < args.len() {
        let a = args.get(idx);
        if is_opt(a, "nx") {
            nx = true;
        } else if is_opt(a, "xx") {
            xx = true;
        } else if is_opt(a, "ch") {
            ch = true;
        } else {
            break;
        }
        idx += 1;
    }
    let rest = args.len() - idx;
    if !rest.is_multiple_of(3) || (nx && xx) || rest == 0 {
        return Err(SYNTAX);
    }
    let mut pairs = Vec::with_capacity(rest / 3);
    for j in (idx..args.len()).step_by(3) {
        let (lon, lat) = lon_lat(args.get(j), args.get(j + 1))?;
        pairs.push((geohash::encode_score(lon, lat) as f64, args.get(j + 2)));
    }
    let limits = limits(ctx);
    let apply = |z: &mut ZSetValue| {
        let (mut added, mut updated) = (0i64, 0i64);
        for &(score, member) in &pairs {
            match z.score(member) {
                Some(cur) => {
                    if !nx && score != cur {
                        z.insert(score, member, limits);
                        updated += 1;
                    }
                }
                None => {
                    if !xx {
                        z.insert(score, member, limits);
                        added += 1;
                    }
                }
            }
        }
        (added, updated)
    };
    let existing = match ctx.write(key) {
        None => None,
        Some(mut entry) => match &mut entry.value {
            Value::ZSet(z) => Some(apply(z)),
            _ => return Err(WRONG_TYPE),
        },
    };
    let (added, updated) = match existing {
        Some(r) => r,
        None if xx => (0, 0),
        None => {
            let mut z = ZSetValue::new();
            let r = apply(&mut z);
            if !z.is_empty() {
                ctx.set(key, Value::ZSet(Box::new(z)));
            }
            r
        }
    };
    if added + updated > 0 {
        ctx.notify(ZSET, "zadd", key);
    }
    ctx.dirty((added + updated) as u64);
    Ok(Reply::Int(if ch { added + updated } else { added }))
}

/// GEODIST key member1 member2 [M|KM|FT|MI]: the distance between two members.
fn geodist(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    let to_meter = match args.len() {
        5 => unit(args.get(4))?,
        n if n > 5 => return Err(SYNTAX),
        _ => 1.0,
    };
    let Some(z) = read_zset(ctx, args.get(1))? else { return Ok(Reply::Nil) };
    let (Some(s1), Some(s2)) = (z.score(args.get(2)), z.score(args.get(3))) else { return Ok(Reply::Nil) };
    let (lon1, lat1) = geohash::decode_score(s1);
    let (lon2, lat2) = geohash::decode_score(s2);
    Ok(dist_reply(geohash::distance(lon1, lat1, lon2, lat2) / to_meter))
}

/// GEOHASH key [member ...]: the members' 11-character geohash strings.
fn geohash_cmd(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    let z = read_zset(ctx, args.get(1))?;
    let out = args
        .iter_from(2)
        .map(|m| match z.and_then(|z| z.score(m)) {
            Some(s) => Reply::bulk(&geohash::standard_hash(s)),
            None => Reply::Nil,
        })
        .collect();
    Ok(Reply::Array(out))
}

/// GEOPOS key [member ...]: the members' longitude and latitude.
fn geopos(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    let z = read_zset(ctx, args.get(1))?;
    let out = args
        .iter_from(2)
        .map(|m| match z.and_then(|z| z.score(m)) {
            Some(s) => {
                let (lon, lat) = geohash::decode_score(s);
                Reply::Array(vec![Reply::HumanDouble(lon), Reply::HumanDouble(lat)])
            }
            None => Reply::NilArray,
        })
        .collect();
    Ok(Reply::Array(out))
}

/// Which command of the search family runs (Redis's `georadiusGeneric` flags).
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Radius { ro: bool },
    ByMember { ro: bool },
    Search,
    SearchStore,
}

/// A point found by a search.
struct Point {
    lon: f64,
    lat: f64,
    dist: f64,
    score: f64,
    member: Bytes,
}

/// The points of `z` inside `shape` (`membersOfAllNeighbors`), stopping at `limit` if non-zero.
fn search_points(z: &ZSetValue, shape: &Shape, limit: usize) -> Vec<Point> {
    let mut out = Vec::new();
    for cell in geohash::search_cells(shape) {
        if !out.is_empty() && limit > 0 && out.len() >= limit {
            break;
        }
        let (min, max) = geohash::cell_scores(cell);
        let (min, max) = (min as f64, max as f64);
        let start = z.partition_point(|s, _| s < min);
        for (score, member) in z.range(start, z.len() - start, false) {
            if score >= max {
                break;
            }
            let (lon, lat) = geohash::decode_score(score);
            if let Some(dist) = geohash::within(shape, lon, lat) {
                out.push(Point { lon, lat, dist, score, member: Bytes::copy_from_slice(member) });
            }
            if !out.is_empty() && limit > 0 && out.len() >= limit {
                break;
            }
        }
    }
    out
}

/// The position of `member` (`longLatFromMember`).
fn member_pos(z: &ZSetValue, member: &[u8]) -> Result<(f64, f64), CmdError> {
    z.score(member)
        .map(geohash::decode_score)
        .ok_or(CmdError::from_static("ERR could not decode requested zset member"))
}

/// Redis's `georadiusGeneric`.
fn search_generic(ctx: &mut KeyCtx<'_>, args: Args<'_>, kind: Kind) -> CmdResult {
    let src_idx = if kind == Kind::SearchStore { 2 } else { 1 };
    let src = args.get(src_idx);
    let z = read_zset(ctx, src)?;
    let mut store: Option<&[u8]> = None;
    let mut storedist = false;
    let (mut lon, mut lat, mut conversion) = (0.0, 0.0, 1.0);
    let mut shape_kind = ShapeKind::Radius(0.0);
    let base = match kind {
        Kind::Radius { .. } => {
            (lon, lat) = lon_lat(args.get(2), args.get(3))?;
            let (r, c) = distance_arg(args.get(4), args.get(5))?;
            (shape_kind, conversion) = (ShapeKind::Radius(r), c);
            6
        }
        Kind::ByMember { .. } => {
            if let Some(z) = z {
                (lon, lat) = member_pos(z, args.get(2))?;
                let (r, c) = distance_arg(args.get(3), args.get(4))?;
                (shape_kind, conversion) = (ShapeKind::Radius(r), c);
            }
            5
        }
        Kind::Search => 2,
        Kind::SearchStore => {
            store = Some(args.get(1));
            3
        }
    };
    let search = matches!(kind, Kind::Search | Kind::SearchStore);
    let nostore = matches!(kind, Kind::Radius { ro: true } | Kind::ByMember { ro: true });
    let (mut withdist, mut withhash, mut withcoord, mut any) = (false, false, false, false);
    let (mut frommember, mut fromloc, mut byradius, mut bybox) = (false, false, false, false);
    let mut sort: Option<bool> = None; // Some(true) = DESC
    let mut count: i64 = 0;
    let remaining = args.len() - base;
    let mut i = 0;
    while i < remaining {
        let a = args.get(base + i);
        let has = |n: usize| i + n < remaining;
        let next = |n: usize| args.get(base + i + n);
        if is_opt(a, "withdist") {
            withdist = true;
        } else if is_opt(a, "withhash") {
            withhash = true;
        } else if is_opt(a, "withcoord") {
            withcoord = true;
        } else if is_opt(a, "any") {
            any = true;
        } else if is_opt(a, "asc") {
            sort = Some(false);
        } else if is_opt(a, "desc") {
            sort = Some(true);
        } else if is_opt(a, "count") && has(1) {
            count = int_arg(next(1))?;
            if count <= 0 {
                return Err(CmdError::from_static("ERR COUNT must be > 0"));
            }
            i += 1;
        } else if (is_opt(a, "store") || is_opt(a, "storedist")) && has(1) && !nostore && !search {
            store = Some(next(1));
            storedist = is_opt(a, "storedist");
            i += 1;
        } else if is_opt(a, "storedist") && kind == Kind::SearchStore {
            storedist = true;
            store = Some(args.get(1));
        } else if is_opt(a, "frommember") && has(1) && search && !fromloc {
            if let Some(z) = z {
                (lon, lat) = member_pos(z, next(1))?;
            }
            frommember = true;
            i += 1;
        } else if is_opt(a, "fromlonlat") && has(2) && search && !frommember {
            (lon, lat) = lon_lat(next(1), next(2))?;
            fromloc = true;
            i += 2;
        } else if is_opt(a, "byradius") && has(2) && search && !bybox {
            let (r, c) = distance_arg(next(1), next(2))?;
            (shape_kind, conversion) = (ShapeKind::Radius(r), c);
            byradius = true;
            i += 2;
        } else if is_opt(a, "bybox") && has(3) && search && !byradius {
            let w = double_arg(next(1)).ok_or(CmdError::from_static("ERR need numeric width"))?;
            let h = double_arg(next(2)).ok_or(CmdError::from_static("ERR need numeric height"))?;
            if h < 0.0 || w < 0.0 {
                return Err(CmdError::from_static("ERR height or width cannot be negative"));
            }
            conversion = unit(next(3))?;
            shape_kind = ShapeKind::Box(w, h);
            bybox = true;
            i += 3;
        } else {
            return Err(SYNTAX);
        }
        i += 1;
    }
    if store.is_some() && (withdist || withhash || withcoord) {
        let what = if kind == Kind::SearchStore { "GEOSEARCHSTORE" } else { "STORE option in GEORADIUS" };
        return Err(CmdError::err(format!("{what} is not compatible with WITHDIST, WITHHASH and WITHCOORD options")));
    }
    let name = String::from_utf8_lossy(args.get(0));
    if search && !(frommember || fromloc) {
        return Err(CmdError::err(format!("exactly one of FROMMEMBER or FROMLONLAT can be specified for {name}")));
    }
    if search && !(byradius || bybox) {
        return Err(CmdError::err(format!("exactly one of BYRADIUS and BYBOX can be specified for {name}")));
    }
    if any && count == 0 {
        return Err(CmdError::from_static("ERR the ANY argument requires COUNT argument"));
    }
    let Some(z) = z else {
        if let Some(dst) = store {
            let now = ctx.now_ms();
            if ctx.db().take(dst, now).is_some() {
                ctx.notify(GENERIC, "del", dst);
                ctx.dirty(1);
            }
            return Ok(Reply::Int(0));
        }
        return Ok(Reply::Array(Vec::new()));
    };
    if count != 0 && sort.is_none() && !any {
        sort = Some(false);
    }
    let shape = Shape { lon, lat, conversion, kind: shape_kind };
    let limit = if any { usize::try_from(count).unwrap_or(usize::MAX) } else { 0 };
    let mut points = search_points(z, &shape, limit);
    if points.is_empty() && store.is_none() {
        return Ok(Reply::Array(Vec::new()));
    }
    match sort {
        Some(false) => points.sort_by(|a, b| a.dist.total_cmp(&b.dist)),
        Some(true) => points.sort_by(|a, b| b.dist.total_cmp(&a.dist)),
        None => {}
    }
    if count > 0 {
        points.truncate(usize::try_from(count).unwrap_or(usize::MAX));
    }
    for p in &mut points {
        p.dist /= conversion;
    }
    let Some(dst) = store else {
        let options = usize::from(withdist) + usize::from(withhash) + usize::from(withcoord);
        let items = points
            .into_iter()
            .map(|p| {
                if options == 0 {
                    return Reply::Bulk(p.member);
                }
                let mut item = Vec::with_capacity(options + 1);
                item.push(Reply::Bulk(p.member));
                if withdist {
                    item.push(dist_reply(p.dist));
                }
                if withhash {
                    item.push(Reply::Int(p.score as i64));
                }
                if withcoord {
                    item.push(Reply::Array(vec![Reply::HumanDouble(p.lon), Reply::HumanDouble(p.lat)]));
                }
                Reply::Array(item)
            })
            .collect();
        return Ok(Reply::Array(items));
    };
    let n = points.len();
    if n > 0 {
        let limits = limits(ctx);
        let mut result = ZSetValue::new();
        for p in &points {
            result.insert(if storedist { p.dist } else { p.score }, &p.member, limits);
        }
        ctx.set(dst, Value::ZSet(Box::new(result)));
        ctx.notify(ZSET, if kind == Kind::SearchStore { "geosearchstore" } else { "georadiusstore" }, dst);
        ctx.dirty(n as u64);
    } else {
        let now = ctx.now_ms();
        if ctx.db().take(dst, now).is_some() {
            ctx.notify(GENERIC, "del", dst);
            ctx.dirty(1);
        }
    }
    Ok(Reply::Int(n as i64))
}

/// GEOSEARCH key FROMMEMBER m|FROMLONLAT lon lat BYRADIUS r unit|BYBOX w h unit [ASC|DESC]
/// [COUNT n [ANY]] [WITHCOORD] [WITHDIST] [WITHHASH]: members inside a circle or box.
fn geosearch(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    search_generic(ctx, args, Kind::Search)
}

/// GEOSEARCHSTORE dst src ... [STOREDIST]: GEOSEARCH stored into `dst`, replying its size.
fn geosearchstore(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    search_generic(ctx, args, Kind::SearchStore)
}

/// GEORADIUS key lon lat radius unit [...] [STORE k|STOREDIST k]: members within a radius of a point.
fn georadius(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    search_generic(ctx, args, Kind::Radius { ro: false })
}

/// GEORADIUSBYMEMBER key member radius unit [...] [STORE k|STOREDIST k]: members within a radius of a member.
fn georadiusbymember(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    search_generic(ctx, args, Kind::ByMember { ro: false })
}

/// GEORADIUS_RO key lon lat radius unit [...]: GEORADIUS without STORE.
fn georadius_ro(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    search_generic(ctx, args, Kind::Radius { ro: true })
}

/// GEORADIUSBYMEMBER_RO key member radius unit [...]: GEORADIUSBYMEMBER without STORE.
fn georadiusbymember_ro(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    search_generic(ctx, args, Kind::ByMember { ro: true })
}
