//! Transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH.
//!
//! MULTI starts queuing: every later command except EXEC, DISCARD, MULTI, WATCH, QUIT and
//! RESET is checked (unknown command, arity, `no-multi`) and queued with `+QUEUED`, or
//! refused — which makes EXEC answer EXECABORT (see `dispatch`).
//!
//! EXEC holds, through the one coordination mechanism, every shard its queued commands
//! need (their keys' shards, and the watched keys' shards; all shards when a queued command
//! is not a plain keyed one, e.g. FLUSHALL, KEYS or SORT with patterns), checks the WATCH
//! flag while holding them, then runs the commands in order, each on its shard, with the
//! shards held by this one transaction: nobody sees a state between two of them, and
//! shards it does not need keep serving everyone else. Blocked clients woken by its
//! writes are served when it lets the shards go.

use std::rc::Rc;

use crate::command::{CmdError, CmdResult, CommandImpl, Handler, LocalFuture};
use crate::protocol::{Args, Reply};
use crate::server::Session;
use crate::server::dispatch::{resolve, run_now, run_resolved};
use crate::server::session::Multi;
use crate::shard::Key;
use crate::shard::coord::Tx;
use crate::shard::slot::key_shard;

/// The commands this file implements.
pub const COMMANDS: &[CommandImpl] = &[
    CommandImpl { name: "multi", handler: Handler::Local(multi) },
    CommandImpl { name: "exec", handler: Handler::Async(exec) },
    CommandImpl { name: "discard", handler: Handler::Local(discard) },
    CommandImpl { name: "watch", handler: Handler::Async(watch) },
    CommandImpl { name: "unwatch", handler: Handler::Local(unwatch) },
];

/// MULTI: starts queuing commands for EXEC.
fn multi(s: &mut Session, _args: Args<'_>) -> CmdResult {
    if s.multi.is_some() {
        return Err(CmdError::from_static("ERR MULTI calls can not be nested"));
    }
    s.multi = Some(Multi::default());
    s.handle.info.borrow_mut().multi = 0;
    Ok(Reply::Ok)
}

/// DISCARD: drops the queued commands and forgets watched keys.
fn discard(s: &mut Session, _args: Args<'_>) -> CmdResult {
    if s.multi.is_none() {
        return Err(CmdError::from_static("ERR DISCARD without MULTI"));
    }
    s.discard_transaction();
    Ok(Reply::Ok)
}

/// UNWATCH: forgets every watched key.
fn unwatch(s: &mut Session, _args: Args<'_>) -> CmdResult {
    s.unwatch();
    Ok(Reply::Ok)
}

/// WATCH key [key ...]: EXEC will fail if any of the keys changes before it runs.
fn watch<'a>(s: &'a mut Session, args: Args<'a>) -> LocalFuture<'a, CmdResult> {
    Box::pin(async move {
        if s.multi.is_some() {
            return Err(CmdError::from_static("ERR WATCH inside MULTI is not allowed"));
        }
        let db = s.db();
        let node = s.node.clone();
        for key in args.iter_from(1) {
            let key = Key::from(key);
            if s.watch.keys.iter().any(|(d, k)| *d == db && *k == key) {
                continue;
            }
            let flag = s.watch.flag.clone();
            let registered = key.clone();
            node.run_on(key_shard(&key, node.shards), s.tx_id(), move |state| {
                let now = crate::util::now_ms();
                if let Some(database) = state.keyspace.dbs.get_mut(db) {
                    // A key already expired is gone for the watcher: its removal is no change.
                    database.contains(&registered, now);
                    database.watched.watch(&registered, &flag);
                }
            })
            .await?;
            s.watch.keys.push((db, key));
        }
        Ok(Reply::Ok)
    })
}

/// EXEC: runs the queued commands atomically and replies with their replies, or nil if a
/// watched key changed.
fn exec<'a>(s: &'a mut Session, _args: Args<'a>) -> LocalFuture<'a, CmdResult> {
    Box::pin(async move {
        let Some(multi) = s.multi.take() else {
            return Err(CmdError::from_static("ERR EXEC without MULTI"));
        };
        s.handle.info.borrow_mut().multi = -1;
        if multi.aborted {
            s.unwatch();
            return Err(CmdError::from_static("EXECABORT Transaction discarded because of previous errors."));
        }
        let node = s.node.clone();
        let registry = node.registry.clone();
        // The shards to hold: every queued command's keys and every watched key.
        let mut shards: Vec<usize> = s.watch.keys.iter().map(|(_, key)| key_shard(key, node.shards)).collect();
        let resolved: Vec<_> = multi.queued.iter().map(|queued| resolve(&registry, queued.view())).collect();
        for (queued, cmd) in multi.queued.iter().zip(&resolved) {
            let args = queued.view();
            let Ok(cmd) = cmd else { continue };
            match cmd.handler {
                Some(Handler::Keyed { .. }) => {
                    cmd.for_each_key(args, |pos| shards.push(key_shard(args.get(pos), node.shards)))
                }
                Some(Handler::Local(_)) | None => {}
                Some(Handler::Async(_)) => shards.extend(0..node.shards),
            }
        }
        let tx = Tx::begin(&node, shards).await?;
        if watched_key_changed(s, &tx).await? {
            drop(tx);
            s.unwatch();
            return Ok(Reply::NilArray);
        }
        s.tx = Some(Rc::new(tx));
        let mut replies = Vec::with_capacity(multi.queued.len());
        for (queued, cmd) in multi.queued.iter().zip(resolved) {
            let now = match &cmd {
                Ok(cmd) => run_now(s, cmd, queued.view()),
                Err(_) => None,
            };
            let reply = match now {
                Some(reply) => reply,
                // Boxed: EXEC's own future stays small for the common case above.
                None => Box::pin(run_resolved(s, cmd, queued.view())).await,
            };
            replies.push(reply);
        }
        // Dropping the last reference releases the shards (and serves blocked clients).
        s.tx = None;
        s.unwatch();
        Ok(Reply::Array(replies))
    })
}

/// Whether a watched key changed (or expired) since WATCH; the shards are held.
async fn watched_key_changed(s: &Session, tx: &Tx) -> Result<bool, CmdError> {
    if s.watch.flag.load(std::sync::atomic::Ordering::Acquire) {
        return Ok(true);
    }
    for (db, key) in &s.watch.keys {
        let (db, key) = (*db, key.clone());
        let expired = tx
            .run(key_shard(&key, s.node.shards), move |state| {
                let now = crate::util::now_ms();
                state.keyspace.dbs.get(db).is_some_and(|database| database.is_expired(&key, now))
            })
            .await?;
        if expired {
            return Ok(true);
        }
    }
    Ok(s.watch.flag.load(std::sync::atomic::Ordering::Acquire))
}
