//! Blocking pops: BLPOP BRPOP BLMOVE BRPOPLPUSH BLMPOP BZPOPMIN BZPOPMAX BZMPOP.
//!
//! A blocking command runs in three steps on the client's connection:
//! 1. **Attempt**: the non-blocking form runs like any keyed command — on the keys' shard,
//!    or across shards through the coordination mechanism (gathering the keys). If some
//!    key had something to pop, that is the reply.
//! 2. **Register**: otherwise the client leaves a waiter on every key, on each key's shard
//!    ([`crate::shard::blocking`]). A key that received something between the attempt and
//!    the registration is marked ready at once, so no wake-up is missed.
//! 3. **Wait**: the connection awaits its result slot, the timeout, or an interruption
//!    (CLIENT UNBLOCK, the client closing the socket, CLIENT KILL), costing no CPU. The
//!    shard that serves it runs the pop there, first come first served, and sends the
//!    reply back; BLMOVE whose destination is on another shard is woken to run step 1
//!    again instead, so that its move stays atomic across the two shards.

use std::sync::Arc;
use std::time::Duration;

use crate::command::error::SYNTAX;
use crate::command::{CmdError, CmdResult, CommandImpl, Handler, KeyedFn, LocalFuture, MultiShard};
use crate::protocol::{Args, Reply};
use crate::server::Session;
use crate::server::clients::Interrupt;
use crate::server::dispatch::run_keyed;
use crate::shard::blocking::{self, ServeFn, Ticket, WaitKind, Waiter, Wake};
use crate::shard::slot::key_shard;
use crate::shard::{Key, KeyCtx};
use crate::util::long_double::LongDouble;
use crate::util::num::parse_f64;

use super::list::{list_exists_for_write, lmove_generic, mpop_key, parse_mpop, pop_n, position_arg};
use super::zset::{parse_zmpop, zmpop_reply, zpop_generic};

/// The commands this file implements.
pub const COMMANDS: &[CommandImpl] = &[
    CommandImpl { name: "blpop", handler: Handler::Async(blpop) },
    CommandImpl { name: "brpop", handler: Handler::Async(brpop) },
    CommandImpl { name: "blmove", handler: Handler::Async(blmove) },
    CommandImpl { name: "brpoplpush", handler: Handler::Async(brpoplpush) },
    CommandImpl { name: "blmpop", handler: Handler::Async(blmpop) },
    CommandImpl { name: "bzpopmin", handler: Handler::Async(bzpopmin) },
    CommandImpl { name: "bzpopmax", handler: Handler::Async(bzpopmax) },
    CommandImpl { name: "bzmpop", handler: Handler::Async(bzmpop) },
];

/// How one blocking command pops.
struct Blocking {
    /// The kind of value it pops.
    kind: WaitKind,
    /// The non-blocking attempt over all its keys, in order; `Reply::Nil` when no key had
    /// anything to pop.
    attempt: KeyedFn,
    /// Runs the pop for a waiter on a ready key of the waiter's shard.
    serve: ServeFn,
    /// The reply when the timeout passes.
    timed_out: Reply,
}

/// Parses a timeout in seconds as Redis 7.0 does: a long double, times 1000, rounded up
/// to whole milliseconds and converted to a 64-bit integer (where anything out of range
/// becomes negative); 0 waits forever.
fn parse_timeout(arg: &[u8]) -> Result<Option<Duration>, CmdError> {
    let not_a_float = || CmdError::from_static("ERR timeout is not a float or out of range");
    let parsed = LongDouble::parse(arg).ok_or_else(not_a_float)?;
    let seconds = match parsed {
        LongDouble::Inf { negative } => {
            if negative {
                f64::NEG_INFINITY
            } else {
                f64::INFINITY
            }
        }
        LongDouble::Nan => return Err(not_a_float()),
        LongDouble::Finite { negative, mantissa, exp } => {
            let magnitude = mantissa as f64 * 2f64.powi(exp);
            if negative { -magnitude } else { magnitude }
        }
    };
    // Plain decimal text parses exactly as a double; keep that value when it exists.
    let seconds = parse_f64(arg).unwrap_or(seconds);
    let millis = (seconds * 1000.0).ceil();
    // x86's conversion gives i64::MIN for anything that does not fit.
    let millis =
        if (-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&millis) { millis as i64 } else { i64::MIN };
    if millis < 0 {
        return Err(CmdError::from_static("ERR timeout is negative"));
    }
    Ok((millis > 0).then(|| Duration::from_millis(millis as u64)))
}

// ---------------------------------------------------------------------------------------
// BLPOP / BRPOP: `key [key ...] timeout`.

/// BLPOP, BRPOP, BZPOPMIN and BZPOPMAX: `key [key ...] timeout`.
async fn keys_then_timeout(s: &mut Session, args: Args<'_>, how: &'static Blocking) -> CmdResult {
    let timeout = parse_timeout(args.get(args.len() - 1))?;
    block(s, args, how, 1..args.len() - 1, timeout).await
}

/// Pops one element from the first non-empty list among `args[1..len-1]`.
fn attempt_pop(ctx: &mut KeyCtx<'_>, args: Args<'_>, left: bool) -> CmdResult {
    for i in 1..args.len() - 1 {
        let key = args.get(i);
        if list_exists_for_write(ctx, key)? {
            return Ok(pop_reply(ctx, key, left));
        }
    }
    Ok(Reply::Nil)
}

/// `[key, element]` popped from the list under `key`.
fn pop_reply(ctx: &mut KeyCtx<'_>, key: &[u8], left: bool) -> Reply {
    let element = pop_n(ctx, key, left, 1).pop().unwrap_or(Reply::Nil);
    Reply::Array(vec![Reply::bulk(key), element])
}

fn attempt_blpop(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    attempt_pop(ctx, args, true)
}

fn attempt_brpop(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    attempt_pop(ctx, args, false)
}

fn serve_blpop(ctx: &mut KeyCtx<'_>, key: &[u8], _args: Args<'_>) -> Wake {
    Wake::Reply(pop_reply(ctx, key, true))
}

fn serve_brpop(ctx: &mut KeyCtx<'_>, key: &[u8], _args: Args<'_>) -> Wake {
    Wake::Reply(pop_reply(ctx, key, false))
}

const BLPOP: Blocking =
    Blocking { kind: WaitKind::List, attempt: attempt_blpop, serve: serve_blpop, timed_out: Reply::NilArray };
const BRPOP: Blocking =
    Blocking { kind: WaitKind::List, attempt: attempt_brpop, serve: serve_brpop, timed_out: Reply::NilArray };

/// BLPOP key [key ...] timeout: pops the first element of the first non-empty list, waiting for one.
fn blpop<'a>(s: &'a mut Session, args: Args<'a>) -> LocalFuture<'a, CmdResult> {
    Box::pin(keys_then_timeout(s, args, &BLPOP))
}

/// BRPOP key [key ...] timeout: pops the last element of the first non-empty list, waiting for one.
fn brpop<'a>(s: &'a mut Session, args: Args<'a>) -> LocalFuture<'a, CmdResult> {
    Box::pin(keys_then_timeout(s, args, &BRPOP))
}

// ---------------------------------------------------------------------------------------
// BLMOVE source destination LEFT|RIGHT LEFT|RIGHT timeout / BRPOPLPUSH source destination timeout.

/// The directions of a BLMOVE or BRPOPLPUSH: (from the left, to the left).
fn move_directions(args: Args<'_>) -> Result<(bool, bool), CmdError> {
    if args.len() == 4 { Ok((false, true)) } else { Ok((position_arg(args.get(3))?, position_arg(args.get(4))?)) }
}

fn attempt_move(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    let (from_left, to_left) = move_directions(args)?;
    lmove_generic(ctx, args.get(1), args.get(2), from_left, to_left)
}

fn serve_move(ctx: &mut KeyCtx<'_>, key: &[u8], args: Args<'_>) -> Wake {
    let Ok((from_left, to_left)) = move_directions(args) else { return Wake::Reply(SYNTAX.into()) };
    match lmove_generic(ctx, key, args.get(2), from_left, to_left) {
        Ok(reply) => Wake::Reply(reply),
        Err(e) => Wake::Reply(e.into()),
    }
}

/// A BLMOVE whose destination is on another shard: the client moves the element itself.
fn serve_retry(_ctx: &mut KeyCtx<'_>, _key: &[u8], _args: Args<'_>) -> Wake {
    Wake::Retry
}

const BLMOVE: Blocking =
    Blocking { kind: WaitKind::List, attempt: attempt_move, serve: serve_move, timed_out: Reply::Nil };

/// BLMOVE source destination LEFT|RIGHT LEFT|RIGHT timeout: LMOVE, waiting for an element.
fn blmove<'a>(s: &'a mut Session, args: Args<'a>) -> LocalFuture<'a, CmdResult> {
    Box::pin(async move {
        move_directions(args)?;
        let timeout = parse_timeout(args.get(5))?;
        block(s, args, &BLMOVE, 1..2, timeout).await
    })
}

/// BRPOPLPUSH source destination timeout: RPOPLPUSH, waiting for an element.
fn brpoplpush<'a>(s: &'a mut Session, args: Args<'a>) -> LocalFuture<'a, CmdResult> {
    Box::pin(async move {
        let timeout = parse_timeout(args.get(3))?;
        block(s, args, &BLMOVE, 1..2, timeout).await
    })
}

// ---------------------------------------------------------------------------------------
// BLMPOP timeout numkeys key [key ...] LEFT|RIGHT [COUNT count].

fn attempt_blmpop(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    let parsed = parse_mpop(args, 2)?;
    for i in parsed.keys {
        if let Some(reply) = mpop_key(ctx, args.get(i), parsed.left, parsed.count)? {
            return Ok(reply);
        }
    }
    Ok(Reply::Nil)
}

fn serve_blmpop(ctx: &mut KeyCtx<'_>, key: &[u8], args: Args<'_>) -> Wake {
    let reply = parse_mpop(args, 2).and_then(|p| mpop_key(ctx, key, p.left, p.count));
    match reply {
        Ok(Some(reply)) => Wake::Reply(reply),
        Ok(None) => Wake::Reply(Reply::NilArray),
        Err(e) => Wake::Reply(e.into()),
    }
}

const BLMPOP: Blocking =
    Blocking { kind: WaitKind::List, attempt: attempt_blmpop, serve: serve_blmpop, timed_out: Reply::NilArray };

/// BLMPOP timeout numkeys key [key ...] LEFT|RIGHT [COUNT count]: LMPOP, waiting for an element.
fn blmpop<'a>(s: &'a mut Session, args: Args<'a>) -> LocalFuture<'a, CmdResult> {
    Box::pin(async move {
        let timeout = parse_timeout(args.get(1))?;
        let parsed = parse_mpop(args, 2)?;
        block(s, args, &BLMPOP, parsed.keys, timeout).await
    })
}

// ---------------------------------------------------------------------------------------
// BZPOPMIN / BZPOPMAX key [key ...] timeout.

/// Pops the lowest (or highest) member of the first non-empty sorted set among
/// `args[1..len-1]`: `[key, member, score]`.
fn attempt_zpop(ctx: &mut KeyCtx<'_>, args: Args<'_>, max: bool) -> CmdResult {
    let keys: Vec<&[u8]> = (1..args.len() - 1).map(|i| args.get(i)).collect();
    Ok(match zpop_generic(ctx, &keys, max, 1)? {
        Some((key, popped)) => zpop_reply(key, popped),
        None => Reply::Nil,
    })
}

fn zpop_reply(key: &[u8], popped: Vec<(f64, bytes::Bytes)>) -> Reply {
    let mut items = vec![Reply::bulk(key)];
    for (score, member) in popped {
        items.push(Reply::Bulk(member));
        items.push(Reply::Double(score));
    }
    Reply::Array(items)
}

fn serve_zpop(ctx: &mut KeyCtx<'_>, key: &[u8], max: bool) -> Wake {
    match zpop_generic(ctx, &[key], max, 1) {
        Ok(Some((key, popped))) => Wake::Reply(zpop_reply(key, popped)),
        Ok(None) => Wake::Reply(Reply::NilArray),
        Err(e) => Wake::Reply(e.into()),
    }
}

fn attempt_bzpopmin(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    attempt_zpop(ctx, args, false)
}

fn attempt_bzpopmax(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    attempt_zpop(ctx, args, true)
}

fn serve_bzpopmin(ctx: &mut KeyCtx<'_>, key: &[u8], _args: Args<'_>) -> Wake {
    serve_zpop(ctx, key, false)
}

fn serve_bzpopmax(ctx: &mut KeyCtx<'_>, key: &[u8], _args: Args<'_>) -> Wake {
    serve_zpop(ctx, key, true)
}

const BZPOPMIN: Blocking =
    Blocking { kind: WaitKind::ZSet, attempt: attempt_bzpopmin, serve: serve_bzpopmin, timed_out: Reply::NilArray };
const BZPOPMAX: Blocking =
    Blocking { kind: WaitKind::ZSet, attempt: attempt_bzpopmax, serve: serve_bzpopmax, timed_out: Reply::NilArray };

/// BZPOPMIN key [key ...] timeout: pops the lowest-scoring member of the first non-empty sorted set, waiting for one.
fn bzpopmin<'a>(s: &'a mut Session, args: Args<'a>) -> LocalFuture<'a, CmdResult> {
    Box::pin(keys_then_timeout(s, args, &BZPOPMIN))
}

/// BZPOPMAX key [key ...] timeout: pops the highest-scoring member of the first non-empty sorted set, waiting for one.
fn bzpopmax<'a>(s: &'a mut Session, args: Args<'a>) -> LocalFuture<'a, CmdResult> {
    Box::pin(keys_then_timeout(s, args, &BZPOPMAX))
}

// ---------------------------------------------------------------------------------------
// BZMPOP timeout numkeys key [key ...] MIN|MAX [COUNT count].

fn attempt_bzmpop(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    let parsed = parse_zmpop(args, 2)?;
    let keys: Vec<&[u8]> = parsed.keys.map(|i| args.get(i)).collect();
    Ok(match zpop_generic(ctx, &keys, parsed.max, parsed.count)? {
        Some((key, popped)) => zmpop_reply(key, popped),
        None => Reply::Nil,
    })
}

fn serve_bzmpop(ctx: &mut KeyCtx<'_>, key: &[u8], args: Args<'_>) -> Wake {
    let popped = parse_zmpop(args, 2).and_then(|p| zpop_generic(ctx, &[key], p.max, p.count));
    match popped {
        Ok(Some((key, popped))) => Wake::Reply(zmpop_reply(key, popped)),
        Ok(None) => Wake::Reply(Reply::NilArray),
        Err(e) => Wake::Reply(e.into()),
    }
}

const BZMPOP: Blocking =
    Blocking { kind: WaitKind::ZSet, attempt: attempt_bzmpop, serve: serve_bzmpop, timed_out: Reply::NilArray };

/// BZMPOP timeout numkeys key [key ...] MIN|MAX [COUNT count]: ZMPOP, waiting for a member.
fn bzmpop<'a>(s: &'a mut Session, args: Args<'a>) -> LocalFuture<'a, CmdResult> {
    Box::pin(async move {
        let timeout = parse_timeout(args.get(1))?;
        let parsed = parse_zmpop(args, 2)?;
        block(s, args, &BZMPOP, parsed.keys, timeout).await
    })
}

// ---------------------------------------------------------------------------------------
// The common part: attempt, register, wait.

/// How a wait ended.
enum Ended {
    Woken(Result<Wake, CmdError>),
    TimedOut,
    Interrupted(Interrupt),
}

/// Runs a blocking command whose waited-on keys are at `keys` (argument positions).
async fn block(
    s: &mut Session,
    args: Args<'_>,
    how: &'static Blocking,
    keys: std::ops::Range<usize>,
    timeout: Option<Duration>,
) -> CmdResult {
    let Some(cmd) = s.registry().get(args.get(0)) else { return Err(SYNTAX) };
    let deadline = timeout.map(|t| std::time::Instant::now() + t);
    let node = s.node.clone();
    let db = s.db();
    let no_touch = s.no_touch();
    let owned = Arc::new(args.to_owned_args());
    let keys: Vec<Key> = keys.map(|i| Key::from(args.get(i))).collect();
    // BLMOVE to a list on another shard is served by running the attempt again.
    let serve = match cmd.spec.name {
        "blmove" | "brpoplpush" if key_shard(args.get(1), node.shards) != key_shard(args.get(2), node.shards) => {
            serve_retry as ServeFn
        }
        _ => how.serve,
    };
    loop {
        let reply = run_keyed(s, cmd, how.attempt, MultiShard::Gather, args).await?;
        if reply != Reply::Nil {
            return Ok(reply);
        }
        // Inside EXEC a blocking command does not block: it times out at once, as in Redis.
        if s.handle.is_gone() || s.tx.is_some() {
            return Ok(how.timed_out.clone());
        }
        // Register on every shard owning a key; a key that filled in the meantime is
        // marked ready there and served at once.
        let ticket = Arc::new(Ticket::default());
        let (slot, result) = node.open_slot();
        let mut by_shard: Vec<(usize, Vec<Key>)> = Vec::new();
        for key in &keys {
            let shard = key_shard(key, node.shards);
            match by_shard.iter_mut().find(|(s, _)| *s == shard) {
                Some((_, list)) if !list.contains(key) => list.push(key.clone()),
                Some(_) => {}
                None => by_shard.push((shard, vec![key.clone()])),
            }
        }
        let origin = node.id;
        for (shard, shard_keys) in &by_shard {
            let (ticket, owned, shard_keys) = (ticket.clone(), owned.clone(), shard_keys.clone());
            node.run_on(*shard, None, move |state| {
                for key in &shard_keys {
                    let waiter = Waiter {
                        ticket: ticket.clone(),
                        origin,
                        slot,
                        kind: how.kind,
                        serve,
                        args: owned.clone(),
                        no_touch,
                    };
                    blocking::block(state, db, key, waiter);
                    blocking::signal_if_present(state, db, key);
                }
            })
            .await?;
        }
        s.handle.set_blocked(true);
        let mut result = std::pin::pin!(result);
        let ended = {
            let woken = async { Ended::Woken(result.as_mut().await.map_err(CmdError::from).and_then(as_wake)) };
            let timer = async {
                match deadline {
                    Some(at) => {
                        glommio::timer::sleep(at.saturating_duration_since(std::time::Instant::now())).await;
                        Ended::TimedOut
                    }
                    None => futures_lite::future::pending().await,
                }
            };
            let interrupted = async { Ended::Interrupted(s.handle.interrupted().await) };
            futures_lite::future::or(woken, futures_lite::future::or(timer, interrupted)).await
        };
        s.handle.set_blocked(false);
        let wake = match ended {
            Ended::Woken(wake) => wake,
            Ended::TimedOut | Ended::Interrupted(_) if ticket.cancel() => {
                node.close_slot(slot);
                forget(&node, db, &by_shard, &ticket);
                return match ended {
                    Ended::Interrupted(Interrupt::UnblockError) => {
                        Err(CmdError::from_static("UNBLOCKED client unblocked via CLIENT UNBLOCK"))
                    }
                    _ => Ok(how.timed_out.clone()),
                };
            }
            // A shard claimed the ticket first: its result is on the way, and must not be lost.
            Ended::TimedOut | Ended::Interrupted(_) => result.as_mut().await.map_err(CmdError::from).and_then(as_wake),
        };
        forget(&node, db, &by_shard, &ticket);
        match wake? {
            Wake::Reply(reply) => return Ok(reply),
            Wake::Retry => {
                if deadline.is_some_and(|at| std::time::Instant::now() >= at) {
                    // Run the move once more even at the deadline: the key was ready.
                    let reply = run_keyed(s, cmd, how.attempt, MultiShard::Gather, args).await?;
                    return Ok(if reply == Reply::Nil { how.timed_out.clone() } else { reply });
                }
            }
        }
    }
}

/// The result a shard sent to a blocked client's slot.
fn as_wake(result: crate::shard::node::AnyBox) -> Result<Wake, CmdError> {
    result.downcast::<Wake>().map(|w| *w).map_err(|_| CmdError::from_static("ERR internal error: unexpected wake-up"))
}

/// Removes a finished wait's waiters from every shard it registered on.
fn forget(node: &crate::shard::Node, db: usize, by_shard: &[(usize, Vec<Key>)], ticket: &Arc<Ticket>) {
    for (shard, keys) in by_shard {
        let (keys, ticket) = (keys.clone(), ticket.clone());
        node.post_unheld(*shard, move |state| blocking::unblock(state, db, &keys, &ticket));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_parse_as_redis_7_0() {
        let ms = |t: &str| parse_timeout(t.as_bytes()).map(|d| d.map(|d| d.as_millis() as u64));
        assert_eq!(ms("0"), Ok(None));
        assert_eq!(ms("1.5"), Ok(Some(1500)));
        assert_eq!(ms("0.0001"), Ok(Some(1)));
        assert_eq!(ms("1e-10"), Ok(Some(1)));
        assert_eq!(ms("-0.0001"), Ok(None));
        assert_eq!(ms("0x10"), Ok(Some(16000)));
        let negative = Err(CmdError::from_static("ERR timeout is negative"));
        assert_eq!(ms("-1"), negative);
        assert_eq!(ms("inf"), negative);
        assert_eq!(ms("1e30"), negative);
        assert_eq!(ms("9223372036854776"), negative);
        let not_float = Err(CmdError::from_static("ERR timeout is not a float or out of range"));
        assert_eq!(ms("abc"), not_float);
        assert_eq!(ms(" 1"), not_float);
        assert_eq!(ms("nan"), not_float);
        assert_eq!(ms(""), not_float);
    }
}
