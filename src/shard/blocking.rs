//! Clients blocked on keys (BLPOP, BZPOPMIN, BLMOVE, ...): the shard's side.
//!
//! A blocked client leaves a [`Waiter`] in the queue of every key it waits on, on the
//! shard owning that key; the queues are first come, first served. When a key is created
//! (or replaced) while someone waits on it, the database marks it ready
//! ([`BlockedKeys::signal`]); once the shard's commands are done and no transaction holds
//! it ([`crate::shard::Node::after_commands`]), [`serve_ready`] runs each ready key's
//! waiters in order against the key, as Redis's `handleClientsBlockedOnKeys` does, and
//! the results travel back to the waiting connections over the response mesh.
//!
//! **One winner.** A client waiting on keys of several shards has one [`Ticket`] shared by
//! all its waiters. A shard serves a waiter only after moving the ticket from waiting to
//! served (an atomic compare-and-swap), so two shards never both serve it; a timeout or
//! CLIENT UNBLOCK moves it to gone the same way, and a connection that loses that race
//! knows a result is already on its way and waits for it, so a popped element is never
//! dropped. Waiters whose ticket is no longer waiting are skipped and removed.
//!
//! **Readiness without side effects.** Before claiming a ticket, the shard checks that
//! the key holds a value of the kind the waiter pops (a list, a sorted set): collections
//! are never empty, so that check is enough for the serve function to succeed.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use super::db::Key;
use super::{KeyCtx, ShardState};
use crate::protocol::{Args, OwnedArgs, Reply};
use crate::types::Value;

const WAITING: u8 = 0;
const SERVED: u8 = 1;
const GONE: u8 = 2;

/// A blocked client's claim ticket, shared by its waiters on every shard.
#[derive(Debug, Default)]
pub struct Ticket {
    state: AtomicU8,
}

impl Ticket {
    /// Whether nobody has served or cancelled it yet.
    pub fn is_waiting(&self) -> bool {
        self.state.load(Ordering::Acquire) == WAITING
    }

    /// Takes the ticket for serving; false if it was served or cancelled already.
    fn claim(&self) -> bool {
        self.state.compare_exchange(WAITING, SERVED, Ordering::AcqRel, Ordering::Acquire).is_ok()
    }

    /// Cancels the wait (timeout, CLIENT UNBLOCK, disconnect); false if a shard claimed
    /// it first, in which case its result is on the way.
    pub fn cancel(&self) -> bool {
        self.state.compare_exchange(WAITING, GONE, Ordering::AcqRel, Ordering::Acquire).is_ok()
    }
}

/// What a blocked client is woken with.
#[derive(Debug)]
pub enum Wake {
    /// The command ran for it on the key's shard: this is its reply.
    Reply(Reply),
    /// The key is ready, but the command needs other shards too (BLMOVE to a list on
    /// another shard): the client runs it again itself, through the coordination mechanism.
    Retry,
}

/// The kind of value a waiter pops.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum WaitKind {
    /// A list.
    List,
    /// A sorted set.
    ZSet,
}

impl WaitKind {
    /// Whether `value` is of this kind.
    pub fn matches(self, value: &Value) -> bool {
        matches!((self, value), (WaitKind::List, Value::List(_)) | (WaitKind::ZSet, Value::ZSet(_)))
    }
}

/// Runs a blocked command for a waiter on a ready key: the key holds a value of the
/// waiter's kind. Gets the command's arguments as the client sent them.
pub type ServeFn = fn(&mut KeyCtx<'_>, &[u8], Args<'_>) -> Wake;

/// A blocked client waiting on one key.
pub struct Waiter {
    /// Shared with the client's waiters on other keys and shards.
    pub ticket: Arc<Ticket>,
    /// The shard serving the client's connection.
    pub origin: usize,
    /// The request id the connection awaits its result under.
    pub slot: u64,
    /// What the key must hold.
    pub kind: WaitKind,
    /// What to run when it does.
    pub serve: ServeFn,
    /// The command as sent.
    pub args: Arc<OwnedArgs>,
    /// CLIENT NO-TOUCH of the client.
    pub no_touch: bool,
}

/// One database's blocked keys: a FIFO of waiters per key, and the keys made ready since
/// the last serving.
#[derive(Default)]
pub struct BlockedKeys {
    queues: HashMap<Key, VecDeque<Waiter>, ahash::RandomState>,
    ready: Vec<Key>,
}

impl BlockedKeys {
    /// Marks `key` ready if someone waits on it (called whenever a key is stored).
    pub fn signal(&mut self, key: &[u8]) {
        if !self.queues.is_empty() && self.queues.contains_key(key) && !self.ready.iter().any(|k| &k[..] == key) {
            self.ready.push(key.into());
        }
    }

    /// Marks every waited-on key ready that `exists` says exists (SWAPDB).
    pub fn signal_all(&mut self, mut exists: impl FnMut(&[u8]) -> bool) {
        let keys: Vec<Key> = self.queues.keys().filter(|k| exists(k)).cloned().collect();
        for key in keys {
            self.signal(&key);
        }
    }

    /// Whether some key waits to be served.
    pub fn has_ready(&self) -> bool {
        !self.ready.is_empty()
    }

    /// The number of keys somebody waits on.
    pub fn keys_len(&self) -> usize {
        self.queues.len()
    }
}

/// Queues `waiter` on `key` of database `db`, behind the clients already waiting there.
pub fn block(state: &mut ShardState, db: usize, key: &[u8], waiter: Waiter) {
    let Some(database) = state.keyspace.dbs.get_mut(db) else { return };
    database.blocked.queues.entry(key.into()).or_default().push_back(waiter);
    state.keyspace.waiters += 1;
}

/// Marks `key` ready if it already holds what its waiters pop (a client registering
/// after a failed attempt, when something may have arrived in between).
pub fn signal_if_present(state: &mut ShardState, db: usize, key: &[u8]) {
    let now = crate::util::now_ms();
    let Some(database) = state.keyspace.dbs.get_mut(db) else { return };
    if database.peek(key, now).is_some() {
        database.blocked.signal(key);
    }
}

/// Removes `ticket`'s waiters from `keys` of database `db` (the client was served or gave up).
pub fn unblock(state: &mut ShardState, db: usize, keys: &[Key], ticket: &Arc<Ticket>) {
    let Some(database) = state.keyspace.dbs.get_mut(db) else { return };
    let mut removed = 0;
    for key in keys {
        if let Some(queue) = database.blocked.queues.get_mut(key) {
            let before = queue.len();
            queue.retain(|w| !Arc::ptr_eq(&w.ticket, ticket));
            removed += before - queue.len();
            if queue.is_empty() {
                database.blocked.queues.remove(key);
            }
        }
    }
    state.keyspace.waiters -= removed;
}

/// The non-blocking command a served blocked pop amounts to on `key` (what the journal
/// records): BLPOP → LPOP key, BLMOVE → LMOVE, BLMPOP → LMPOP 1 key ..., and so on.
pub fn nonblocking_form(key: &[u8], args: Args<'_>) -> Option<Vec<Vec<u8>>> {
    let name = args.try_get(0)?.to_ascii_lowercase();
    let v = |s: &[u8]| s.to_vec();
    Some(match name.as_slice() {
        b"blpop" => vec![v(b"LPOP"), v(key)],
        b"brpop" => vec![v(b"RPOP"), v(key)],
        b"bzpopmin" => vec![v(b"ZPOPMIN"), v(key)],
        b"bzpopmax" => vec![v(b"ZPOPMAX"), v(key)],
        // BLMOVE source destination wherefrom whereto timeout
        b"blmove" => vec![v(b"LMOVE"), v(key), v(args.try_get(2)?), v(args.try_get(3)?), v(args.try_get(4)?)],
        // BRPOPLPUSH source destination timeout
        b"brpoplpush" => vec![v(b"RPOPLPUSH"), v(key), v(args.try_get(2)?)],
        // BLMPOP timeout numkeys key... LEFT|RIGHT [COUNT n] / BZMPOP ... MIN|MAX [COUNT n]
        b"blmpop" | b"bzmpop" => {
            let numkeys: usize = std::str::from_utf8(args.try_get(2)?).ok()?.parse().ok()?;
            let mut argv = vec![if name == b"blmpop" { v(b"LMPOP") } else { v(b"ZMPOP") }, v(b"1"), v(key)];
            argv.extend(args.iter_from(3 + numkeys).map(v));
            argv
        }
        _ => return None,
    })
}

/// A result for a waiting connection: (its shard, its request id, what it gets).
pub type Delivery = (usize, u64, Wake);

/// Serves the waiters of every ready key, first come first served, for as long as each
/// key holds something to pop; returns the results to send.
pub fn serve_ready(state: &mut ShardState) -> Vec<Delivery> {
    let mut out = Vec::new();
    let config = state.config.clone();
    let now = crate::util::now_ms();
    for db in 0..state.keyspace.dbs.len() {
        while let Some(key) = state.keyspace.dbs[db].blocked.ready.pop() {
            let Some(mut queue) = state.keyspace.dbs[db].blocked.queues.remove(&key) else { continue };
            let mut dropped = 0;
            while let Some(waiter) = queue.front() {
                if !waiter.ticket.is_waiting() {
                    queue.pop_front();
                    dropped += 1;
                    continue;
                }
                let kind = waiter.kind;
                let ready = state.keyspace.dbs[db].peek(&key, now).is_some_and(|e| kind.matches(&e.value));
                if !ready {
                    break;
                }
                let Some(waiter) = queue.pop_front() else { break };
                dropped += 1;
                if !waiter.ticket.claim() {
                    continue;
                }
                let args = waiter.args.view();
                let wake = crate::persist::journal::run_recorded(
                    &mut state.keyspace,
                    &config,
                    db,
                    waiter.no_touch,
                    now,
                    args,
                    |ctx| {
                        let wake = (waiter.serve)(ctx, &key, args);
                        if ctx.journaling() && matches!(wake, Wake::Reply(_)) {
                            // Journal the pop as its non-blocking form on the served key.
                            match nonblocking_form(&key, args) {
                                Some(argv) => {
                                    let parts: Vec<&[u8]> = argv.iter().map(Vec::as_slice).collect();
                                    ctx.journal_as(&parts);
                                }
                                None => {
                                    ctx.ks.journal.as_deref_mut().into_iter().for_each(|p| p.replace_with_nothing())
                                }
                            }
                        }
                        wake
                    },
                );
                let retry = matches!(wake, Wake::Retry);
                out.push((waiter.origin, waiter.slot, wake));
                if retry {
                    // The client pops through the coordination mechanism; the key is
                    // signalled again when it writes it back.
                    break;
                }
            }
            state.keyspace.waiters -= dropped;
            if !queue.is_empty() {
                let blocked = &mut state.keyspace.dbs[db].blocked;
                match blocked.queues.get_mut(&key) {
                    // Waiters queued while serving (none today) go behind the older ones.
                    Some(newer) => {
                        queue.append(newer);
                        *newer = queue;
                    }
                    None => {
                        blocked.queues.insert(key, queue);
                    }
                }
            }
        }
    }
    out
}
