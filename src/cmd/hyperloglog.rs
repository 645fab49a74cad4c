//! HyperLogLog commands: PFADD, PFCOUNT, PFMERGE.
//!
//! An HLL is a plain string in Redis's own format (see [`crate::types::hyperloglog`]), so
//! GET/SET move it between Redis and tallkv unchanged. A string that is not an HLL gets
//! Redis's `WRONGTYPE Key is not a valid HyperLogLog string value.`, a damaged one
//! `INVALIDOBJ Corrupted HLL object detected`.

use crate::command::error::WRONG_TYPE;
use crate::command::{CmdError, CmdResult, CommandImpl, Handler, MultiShard};
use crate::protocol::{Args, Reply};
use crate::shard::KeyCtx;
use crate::shard::notify::STRING;
use crate::types::hyperloglog::{self as hll, Corrupted, REGISTERS};
use crate::types::{StrValue, Value};

/// The hyperloglog family's commands.
pub const COMMANDS: &[CommandImpl] = &[
    CommandImpl { name: "pfadd", handler: Handler::Keyed { run: pfadd, multi: MultiShard::Gather } },
    CommandImpl { name: "pfcount", handler: Handler::Keyed { run: pfcount, multi: MultiShard::Gather } },
    CommandImpl { name: "pfmerge", handler: Handler::Keyed { run: pfmerge, multi: MultiShard::Gather } },
];

/// A string that is not an HLL.
const NOT_HLL: CmdError = CmdError::from_static("WRONGTYPE Key is not a valid HyperLogLog string value.");
/// A damaged HLL.
const INVALID_HLL: CmdError = CmdError::from_static("INVALIDOBJ Corrupted HLL object detected");

impl From<Corrupted> for CmdError {
    fn from(_: Corrupted) -> CmdError {
        INVALID_HLL
    }
}

/// The HLL bytes of a value, checked as Redis's `isHLLObjectOrReply` does.
fn hll_str(value: &Value) -> Result<&StrValue, CmdError> {
    #[allow(unreachable_patterns)]
    let s = match value {
        Value::Str(s) => s,
        _ => return Err(WRONG_TYPE),
    };
    // An integer-encoded string is never an HLL (nor is its text).
    if matches!(s, StrValue::Int(_)) || !s.with_bytes(hll::is_valid) {
        return Err(NOT_HLL);
    }
    Ok(s)
}

/// The HLL bytes of a value for change (made `raw`), checked as [`hll_str`].
fn hll_mut(value: &mut Value) -> Result<&mut Vec<u8>, CmdError> {
    hll_str(value)?;
    match value {
        Value::Str(s) => Ok(s.make_raw()),
        #[allow(unreachable_patterns)]
        _ => Err(WRONG_TYPE),
    }
}

/// PFADD key [element ...]: adds elements (creating the key); 1 if a register changed, else 0.
fn pfadd(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    let key = args.get(1);
    let sparse_max = ctx.cfg.hll_sparse_max_bytes();
    let mut updated = 0u64;
    let outcome = if let Some(mut entry) = ctx.write(key) {
        let data = hll_mut(&mut entry.value)?;
        add_all(data, &args, sparse_max, &mut updated)
    } else {
        let mut data = hll::new_sparse();
        updated += 1;
        let outcome = add_all(&mut data, &args, sparse_max, &mut updated);
        ctx.set(key, Value::Str(StrValue::Raw(data)));
        outcome
    };
    outcome?;
    if updated > 0 {
        ctx.notify(STRING, "pfadd", key);
        ctx.dirty(updated);
    }
    Ok(Reply::Int(i64::from(updated > 0)))
}

/// Adds PFADD's elements to `data`, counting changes; the cache is invalidated on change.
fn add_all(data: &mut Vec<u8>, args: &Args<'_>, sparse_max: usize, updated: &mut u64) -> Result<(), CmdError> {
    let mut result = Ok(());
    for i in 2..args.len() {
        match hll::add(data, args.get(i), sparse_max) {
            Ok(true) => *updated += 1,
            Ok(false) => {}
            Err(e) => {
                result = Err(e.into());
                break;
            }
        }
    }
    if result.is_ok() && *updated > 0 {
        hll::invalidate_cache(data);
    }
    result
}

/// PFCOUNT key [key ...]: the estimated cardinality of one HLL (cached in the value) or of
/// the union of several.
fn pfcount(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    if args.len() > 2 {
        let mut max = Box::new([0u8; REGISTERS]);
        merge_keys(ctx, &args, 1, &mut max)?;
        return Ok(Reply::Int(hll::count_raw(&max) as i64));
    }
    let key = args.get(1);
    let Some(entry) = ctx.read(key) else {
        return Ok(Reply::Int(0));
    };
    let s = hll_str(&entry.value)?;
    let (cached, card) = s.with_bytes(|b| match hll::cached_card(b) {
        Some(c) => Ok((true, c)),
        None => hll::count(b).map(|c| (false, c)),
    })?;
    if !cached {
        if let Some(mut entry) = ctx.write(key) {
            hll::set_cached_card(hll_mut(&mut entry.value)?, card);
        }
        ctx.dirty(1);
    }
    Ok(Reply::Int(card as i64))
}

/// Raises `max` to the registers of the HLLs at `args[from..]` (missing keys are empty).
/// Whether any of them is dense.
fn merge_keys(ctx: &mut KeyCtx<'_>, args: &Args<'_>, from: usize, max: &mut [u8; REGISTERS]) -> Result<bool, CmdError> {
    let mut dense = false;
    for i in from..args.len() {
        let Some(entry) = ctx.read(args.get(i)) else {
            continue;
        };
        let s = hll_str(&entry.value)?;
        s.with_bytes(|b| {
            dense |= b[4] == hll::DENSE;
            hll::merge_into(max, b)
        })?;
    }
    Ok(dense)
}

/// PFMERGE destkey [sourcekey ...]: stores the union of the HLLs (destkey included) in destkey.
fn pfmerge(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    let mut max = Box::new([0u8; REGISTERS]);
    let use_dense = merge_keys(ctx, &args, 1, &mut max)?;
    let key = args.get(1);
    let sparse_max = ctx.cfg.hll_sparse_max_bytes();
    let write = |data: &mut Vec<u8>| -> Result<(), CmdError> {
        if use_dense {
            hll::sparse_to_dense(data)?;
        }
        for (i, &m) in max.iter().enumerate() {
            if m != 0 {
                // Redis ignores a failure here: the sources were checked above.
                let _ = hll::set_register(data, i, m, sparse_max);
            }
        }
        hll::invalidate_cache(data);
        Ok(())
    };
    let outcome = if let Some(mut entry) = ctx.write(key) {
        write(hll_mut(&mut entry.value)?)
    } else {
        let mut data = hll::new_sparse();
        let outcome = write(&mut data);
        ctx.set(key, Value::Str(StrValue::Raw(data)));
        outcome
    };
    outcome?;
    ctx.notify(STRING, "pfadd", key);
    ctx.dirty(1);
    Ok(Reply::Ok)
}
