//! Per-core state: the databases of one shard, the context a command runs in, the node
//! that joins the shards over channels, and the coordination mechanism ([`coord`]).

pub mod blocking;
pub mod coord;
pub mod db;
pub mod node;
pub mod notify;
pub mod slot;
pub mod snapshot;
pub mod watch;

use std::sync::Arc;

pub use db::{Access, AccessMode, Db, Entry, EntryMut, Key};
pub use node::{Node, ShardState};

use crate::command::{CmdError, error::WRONG_TYPE};
use crate::config::Config;
use crate::types::{StrValue, Value};

/// Every database of one shard, with the shard's keyspace statistics.
pub struct Keyspace {
    /// Databases 0..databases.
    pub dbs: Vec<Db>,
    /// Reads that found their key.
    pub hits: u64,
    /// Reads that did not.
    pub misses: u64,
    /// Changes since start (Redis's `dirty`).
    pub dirty: u64,
    /// Keyspace notifications recorded and not yet published (see [`notify`]).
    pub events: Vec<notify::Event>,
    /// The notification classes the databases record with (synced from the configuration).
    pub notify: u32,
    /// Waiters of blocked clients queued on keys of this shard (see [`blocking`]).
    pub waiters: usize,
    /// Journal records of the commands run here, not yet handed to the shard's journal
    /// writer; `None` when the shard keeps no journal (see [`crate::persist::journal`]).
    pub journal: Option<Box<crate::persist::journal::Pending>>,
}

impl Keyspace {
    /// `count` empty databases.
    pub fn new(count: usize) -> Keyspace {
        Keyspace {
            dbs: (0..count).map(|_| Db::default()).collect(),
            hits: 0,
            misses: 0,
            dirty: 0,
            events: Vec::new(),
            notify: 0,
            waiters: 0,
            journal: None,
        }
    }

    /// Keys removed by expiry, over all databases.
    pub fn expired_keys(&self) -> u64 {
        self.dbs.iter().map(|d| d.expired_keys).sum()
    }
}

/// What a keyed command runs against: one shard's keyspace (or a gathered view of
/// several shards' keys), the selected database and the command's clock.
pub struct KeyCtx<'a> {
    /// The databases.
    pub ks: &'a mut Keyspace,
    /// The selected database.
    pub db: usize,
    /// Clock and access tracking for this command.
    pub access: Access,
    /// Configuration of the thread running the command.
    pub cfg: &'a Config,
}

impl<'a> KeyCtx<'a> {
    /// A context for database `db` of `ks`, for a command running at `now_ms`.
    pub fn new(ks: &'a mut Keyspace, db: usize, cfg: &'a Config, no_touch: bool, now_ms: i64) -> KeyCtx<'a> {
        let access = Access { now_ms, mode: access_mode(cfg), no_touch };
        let classes = cfg.notify_classes();
        if ks.notify != classes {
            ks.set_notify_classes(classes);
        }
        KeyCtx { ks, db, access, cfg }
    }

    /// Records keyspace event `event` of class `class` (a [`notify`] flag) for `key` in the
    /// selected database, if the configuration selects the class. Every change to a key
    /// comes through here, so it also marks the key's watchers (WATCH).
    #[inline]
    pub fn notify(&mut self, class: u32, event: &'static str, key: &[u8]) {
        if self.cfg.notify_classes() & class != 0 {
            self.ks.record_event(event, self.db, key);
        }
        self.ks.dbs[self.db].watched.touch(key);
    }

    /// As [`KeyCtx::notify`], for database `db` (MOVE, COPY ... DB).
    #[inline]
    pub fn notify_db(&mut self, class: u32, event: &'static str, db: usize, key: &[u8]) {
        if self.cfg.notify_classes() & class != 0 {
            self.ks.record_event(event, db, key);
        }
        if let Some(database) = self.ks.dbs.get_mut(db) {
            database.watched.touch(key);
        }
    }

    /// The selected database.
    pub fn db(&mut self) -> &mut Db {
        &mut self.ks.dbs[self.db]
    }

    /// The command's time in Unix milliseconds.
    pub fn now_ms(&self) -> i64 {
        self.access.now_ms
    }

    /// Looks `key` up for reading, counting a keyspace hit or miss.
    pub fn read(&mut self, key: &[u8]) -> Option<&Entry> {
        let access = self.access;
        let ks = &mut *self.ks;
        let entry = ks.dbs[self.db].read(key, &access);
        if entry.is_some() {
            ks.hits += 1;
        } else {
            ks.misses += 1;
        }
        entry
    }

    /// Looks `key` up for change.
    pub fn write(&mut self, key: &[u8]) -> Option<EntryMut<'_>> {
        let access = self.access;
        self.ks.dbs[self.db].get_mut(key, &access)
    }

    /// The string under `key` for reading: `Ok(None)` if absent, WRONGTYPE if not a string.
    pub fn read_str(&mut self, key: &[u8]) -> Result<Option<&StrValue>, CmdError> {
        match self.read(key) {
            None => Ok(None),
            Some(entry) => match &entry.value {
                Value::Str(s) => Ok(Some(s)),
                #[allow(unreachable_patterns)]
                _ => Err(WRONG_TYPE),
            },
        }
    }

    /// Stores `value` under `key`, dropping any TTL.
    pub fn set(&mut self, key: &[u8], value: Value) {
        let access = self.access;
        self.ks.dbs[self.db].set(key, value, &access);
    }

    /// Deletes `key` if it holds a collection left with no elements, as Redis does after
    /// removing the last element (a `del` event, after the command's own).
    pub fn delete_if_empty(&mut self, key: &[u8]) {
        let now = self.now_ms();
        let db = &mut self.ks.dbs[self.db];
        if db.peek(key, now).is_some_and(|e| e.value.is_empty_collection()) {
            db.remove(key);
            self.notify(notify::GENERIC, "del", key);
        }
    }

    /// Whether the command's writes are journaled (see [`KeyCtx::journal_as`]).
    #[inline]
    pub fn journaling(&self) -> bool {
        self.ks.journal.is_some()
    }

    /// Journals `argv` (in the selected database, at the command's time) instead of the
    /// command as sent: for a write whose effect its arguments do not determine (SPOP).
    /// Each call adds one record; nothing happens when the shard keeps no journal.
    pub fn journal_as(&mut self, argv: &[&[u8]]) {
        if let Some(pending) = self.ks.journal.as_deref_mut() {
            pending.replace(self.db, self.access.now_ms, argv.iter().copied());
        }
    }

    /// Counts `n` changes to the dataset.
    pub fn dirty(&mut self, n: u64) {
        self.ks.dirty += n;
    }
}

/// The access tracking `maxmemory-policy` asks for.
pub fn access_mode(cfg: &Config) -> AccessMode {
    if cfg.maxmemory_policy_is_lfu() {
        AccessMode::Lfu { log_factor: cfg.lfu_log_factor(), decay_minutes: cfg.lfu_decay_time() }
    } else {
        AccessMode::Lru
    }
}

/// A configuration snapshot shared by reference.
pub type ConfigRef = Arc<Config>;
