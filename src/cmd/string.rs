//! String commands: GET, SET, ...

use crate::command::{CmdResult, CommandImpl, Handler, MultiShard};
use crate::protocol::{Args, Reply};
use crate::shard::KeyCtx;
use crate::types::{StrValue, Value};

/// The string family's commands.
pub const COMMANDS: &[CommandImpl] = &[
    CommandImpl { name: "get", handler: Handler::Keyed { run: get, multi: MultiShard::Gather } },
    CommandImpl { name: "set", handler: Handler::Keyed { run: set, multi: MultiShard::Gather } },
    CommandImpl { name: "mget", handler: Handler::Keyed { run: mget, multi: MultiShard::PerKeyArray } },
    CommandImpl { name: "mset", handler: Handler::Keyed { run: mset, multi: MultiShard::AllOk } },
];

/// GET key: the string value of key, or nil.
fn get(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    Ok(match ctx.read_str(args.get(1))? {
        Some(s) => Reply::Bulk(s.to_bytes()),
        None => Reply::Nil,
    })
}

/// SET key value: sets the string value of key.
fn set(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    ctx.set(args.get(1), Value::Str(StrValue::from_bytes(args.get(2))));
    ctx.dirty(1);
    Ok(Reply::Ok)
}

/// MGET key [key ...]: the values of every key.
fn mget(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    let mut out = Vec::with_capacity(args.len() - 1);
    for key in args.iter_from(1) {
        out.push(match ctx.read_str(key) {
            Ok(Some(s)) => Reply::Bulk(s.to_bytes()),
            _ => Reply::Nil,
        });
    }
    Ok(Reply::Array(out))
}

/// MSET key value [key value ...]: sets every key.
fn mset(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    let mut i = 1;
    while i + 1 < args.len() {
        ctx.set(args.get(i), Value::Str(StrValue::from_bytes(args.get(i + 1))));
        i += 2;
    }
    ctx.dirty(((args.len() - 1) / 2) as u64);
    Ok(Reply::Ok)
}
