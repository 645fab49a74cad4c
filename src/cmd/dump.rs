//! DUMP and RESTORE: a key's value serialized in Redis's DUMP payload format (RDB value
//! encoding, RDB version, CRC-64; see [`crate::persist::rdb`]), so values move between
//! tallkv and Redis in both directions.

use super::arg::{int_arg, is_opt};
use crate::command::error::SYNTAX;
use crate::command::{CmdError, CmdResult, CommandImpl, Handler, MultiShard};
use crate::persist::rdb::{self, LoadLimits, RdbError};
use crate::protocol::{Args, Reply};
use crate::shard::db::{AccessMode, NO_EXPIRE};
use crate::shard::notify::GENERIC;
use crate::shard::{Entry, KeyCtx};

/// The DUMP/RESTORE commands.
pub const COMMANDS: &[CommandImpl] = &[
    CommandImpl { name: "dump", handler: Handler::Keyed { run: dump, multi: MultiShard::Gather } },
    CommandImpl { name: "restore", handler: Handler::Keyed { run: restore, multi: MultiShard::Gather } },
];

/// `BUSYKEY Target key name already exists.`
const BUSY_KEY: CmdError = CmdError::from_static("BUSYKEY Target key name already exists.");
/// `ERR DUMP payload version or checksum are wrong`.
const BAD_PAYLOAD: CmdError = CmdError::from_static("ERR DUMP payload version or checksum are wrong");
/// `ERR Bad data format`.
const BAD_DATA: CmdError = CmdError::from_static("ERR Bad data format");

/// Redis's `LRU_CLOCK_MAX`.
const LRU_CLOCK_MAX: i64 = (1 << 24) - 1;

/// DUMP key: the key's value serialized (nil if the key does not exist).
fn dump(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    Ok(match ctx.read(args.get(1)) {
        Some(entry) => Reply::Bulk(rdb::dump_payload(&entry.value).into()),
        None => Reply::Nil,
    })
}

/// The options of RESTORE after its payload.
struct RestoreOpts {
    replace: bool,
    absttl: bool,
    idle: Option<i64>,
    freq: Option<i64>,
}

/// Parses RESTORE's options as Redis's `restoreCommand` does (IDLETIME and FREQ exclude
/// each other: the second is a syntax error).
fn restore_opts(args: Args<'_>) -> Result<RestoreOpts, CmdError> {
    let mut opts = RestoreOpts { replace: false, absttl: false, idle: None, freq: None };
    let mut j = 4;
    while j < args.len() {
        let opt = args.get(j);
        let has_value = j + 1 < args.len();
        if is_opt(opt, "replace") {
            opts.replace = true;
        } else if is_opt(opt, "absttl") {
            opts.absttl = true;
        } else if is_opt(opt, "idletime") && has_value && opts.freq.is_none() {
            let idle = int_arg(args.get(j + 1))?;
            if idle < 0 {
                return Err(CmdError::from_static("ERR Invalid IDLETIME value, must be >= 0"));
            }
            opts.idle = Some(idle);
            j += 1;
        } else if is_opt(opt, "freq") && has_value && opts.idle.is_none() {
            let freq = int_arg(args.get(j + 1))?;
            if !(0..=255).contains(&freq) {
                return Err(CmdError::from_static("ERR Invalid FREQ value, must be >= 0 and <= 255"));
            }
            opts.freq = Some(freq);
            j += 1;
        } else {
            return Err(SYNTAX);
        }
        j += 1;
    }
    Ok(opts)
}

/// RESTORE key ttl serialized-value [REPLACE] [ABSTTL] [IDLETIME seconds] [FREQ frequency]:
/// creates the key from a DUMP payload (ttl in ms, 0 for none; absolute with ABSTTL).
fn restore(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    let opts = restore_opts(args)?;
    let key = args.get(1);
    if !opts.replace && ctx.write(key).is_some() {
        return Err(BUSY_KEY);
    }
    let ttl = int_arg(args.get(2))?;
    if ttl < 0 {
        return Err(CmdError::from_static("ERR Invalid TTL value, must be >= 0"));
    }
    let limits = LoadLimits::from_config(ctx.cfg);
    let value = match rdb::parse_dump_payload_with(args.get(3), &limits) {
        Ok(value) => value,
        Err(RdbError::BadPayload) => return Err(BAD_PAYLOAD),
        Err(_) => return Err(BAD_DATA),
    };
    let deleted = opts.replace
        && ctx.db().remove(key).is_some_and(|old| {
            crate::util::lazyfree::release(old.value);
            true
        });
    let now = ctx.now_ms();
    // Redis adds the relative TTL in C arithmetic: an overflow wraps into the past.
    let expire_at = match ttl {
        0 => NO_EXPIRE,
        t if opts.absttl => t,
        t => t.wrapping_add(now),
    };
    if expire_at != NO_EXPIRE && expire_at <= now {
        crate::util::lazyfree::release(value);
        if deleted {
            ctx.notify(GENERIC, "del", key);
            ctx.dirty(1);
        }
        return Ok(Reply::Ok);
    }
    let access = access_for(ctx, &opts);
    ctx.db().insert(key, Entry { value, expire_at, access });
    ctx.notify(GENERIC, "restore", key);
    ctx.dirty(1);
    Ok(Reply::Ok)
}

/// The access metadata of a restored key (Redis's `objectSetLRUOrLFU`): FREQ under an LFU
/// policy, IDLETIME under an LRU one, otherwise a fresh key's.
fn access_for(ctx: &KeyCtx<'_>, opts: &RestoreOpts) -> u32 {
    let fresh = ctx.access.fresh();
    match (ctx.access.mode, opts.freq, opts.idle) {
        (AccessMode::Lfu { .. }, Some(freq), _) => (fresh & !0xff) | freq as u32,
        (AccessMode::Lru, _, Some(idle)) => {
            let clock = i64::from(fresh);
            // `lru_idle * 1000 / LRU_CLOCK_RESOLUTION` in C arithmetic.
            let idle = idle.wrapping_mul(1000) / 1000;
            let mut abs = clock.wrapping_sub(idle);
            if abs < 0 {
                abs = (clock + LRU_CLOCK_MAX / 2) % LRU_CLOCK_MAX;
            }
            (abs & LRU_CLOCK_MAX) as u32
        }
        _ => fresh,
    }
}
