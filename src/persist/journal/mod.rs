//! The per-shard journal (`appendonly yes`): every write a shard runs is appended to its
//! own file, from its own thread, through io_uring.
//!
//! **What is journaled.** A keyed command whose run raised [`Keyspace::dirty`] is recorded
//! as its argv with the database and the time (Unix ms) it ran at ([`run_keyed`], the one
//! function every keyed path runs handlers through). Replay runs the record through the
//! same handler with `KeyCtx::new(ks, db, cfg, true, time)`, so relative TTLs, lazy expiry
//! and existence checks replay exactly. A command whose effect is not a function of its
//! arguments and the data (SPOP) records what it did instead ([`KeyCtx::journal_as`]);
//! a served blocked pop records its non-blocking form; a command run in a gathered
//! temporary keyspace records its write-back per shard (`DEL`, `RESTORE ... ABSTTL`).
//! FLUSHDB, FLUSHALL and SWAPDB are journaled by every shard; FUNCTION changes by shard 0.
//!
//! **Where records wait.** A command's records go to [`Keyspace::journal`] ([`Pending`]).
//! When the shard is free after its commands ([`crate::shard::Node::after_commands`]),
//! they become plain records in the shard's [`Writer`] buffer. While a transaction holds
//! the shard (EXEC, a script, a cross-shard command) they stay there until the transaction
//! commits: it asks every shard that wrote for its part ([`crate::shard::node::Work::Commit`]),
//! each appends its records as ONE group record carrying the transaction id and how many
//! shards wrote, and only when every part has been handed to the kernel are the shards
//! released. A kill -9 can therefore leave an incomplete group only at the tails of the
//! journals, and startup applies a group only if every participant's part is there.
//!
//! **Writing** ([`writer`]): one task per shard writes whatever accumulated (group commit)
//! and, with `appendfsync always`, fsyncs before any reply that depends on it goes out.
//! See [`format`](mod@format) for the bytes, [`crate::persist::manifest`] for the files and
//! [`crate::persist::load`] for startup.

pub mod check;
pub mod format;
pub mod writer;

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

pub use writer::Writer;

use crate::command::{CmdError, CmdResult, KeyedFn};
use crate::config::Config;
use crate::protocol::Args;
use crate::shard::{KeyCtx, Keyspace};

/// The records of commands run on a shard, not yet handed to its writer.
#[derive(Debug, Default)]
pub struct Pending {
    /// COMMAND bodies, each with its inner length prefix ([`format::push_command`]).
    bodies: Vec<u8>,
    /// How many bodies.
    count: u32,
    /// Records the running command asked to journal instead of itself.
    replaced: Option<(Vec<u8>, u32)>,
}

impl Pending {
    /// Whether no record waits.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Takes the waiting records: (bodies, count).
    pub fn take(&mut self) -> (Vec<u8>, u32) {
        (std::mem::take(&mut self.bodies), std::mem::replace(&mut self.count, 0))
    }

    /// Adds a record of `argv` run in `db` at `time_ms`.
    pub fn push<'a>(&mut self, db: usize, time_ms: i64, argv: impl Iterator<Item = &'a [u8]>) {
        format::push_command(&mut self.bodies, db, time_ms, argv);
        self.count += 1;
    }

    /// Makes the running command journal `argv` (one more record) instead of itself.
    pub fn replace<'a>(&mut self, db: usize, time_ms: i64, argv: impl Iterator<Item = &'a [u8]>) {
        let (bodies, count) = self.replaced.get_or_insert_with(Default::default);
        format::push_command(bodies, db, time_ms, argv);
        *count += 1;
    }

    /// Makes the running command journal nothing (unless [`Pending::replace`] adds records).
    pub fn replace_with_nothing(&mut self) {
        self.replaced.get_or_insert_with(Default::default);
    }
}

/// Runs keyed handler `run` on `ks` (database `db`, at `now_ms`) and journals it if it
/// changed the data. Every keyed path runs handlers through here (or [`run_recorded`]).
#[inline]
pub fn run_keyed(
    ks: &mut Keyspace,
    cfg: &Config,
    db: usize,
    no_touch: bool,
    now_ms: i64,
    run: KeyedFn,
    args: Args<'_>,
) -> CmdResult {
    run_recorded(ks, cfg, db, no_touch, now_ms, args, |ctx| run(ctx, args))
}

/// Runs `f` in a [`KeyCtx`] on `ks` and, if the journal is on and `f` changed the data
/// (raised `dirty`) or asked for records of its own ([`KeyCtx::journal_as`]), records
/// `record` (or those) in the shard's pending records.
#[inline]
pub fn run_recorded<R>(
    ks: &mut Keyspace,
    cfg: &Config,
    db: usize,
    no_touch: bool,
    now_ms: i64,
    record: Args<'_>,
    f: impl FnOnce(&mut KeyCtx<'_>) -> R,
) -> R {
    if ks.journal.is_none() {
        return f(&mut KeyCtx::new(ks, db, cfg, no_touch, now_ms));
    }
    let before = ks.dirty;
    let result = f(&mut KeyCtx::new(ks, db, cfg, no_touch, now_ms));
    let changed = ks.dirty != before;
    if let Some(pending) = ks.journal.as_deref_mut() {
        match pending.replaced.take() {
            Some((bodies, count)) => {
                pending.bodies.extend_from_slice(&bodies);
                pending.count += count;
            }
            None if changed => pending.push(db, now_ms, record.iter()),
            None => {}
        }
    }
    result
}

/// Journals `argv` on `ks`'s shard (database `db`, at `now_ms`) if its journal is on: for
/// writes that are not keyed commands (FLUSHDB, FLUSHALL, SWAPDB, FUNCTION ...).
pub fn record(ks: &mut Keyspace, db: usize, now_ms: i64, argv: &[&[u8]]) {
    if let Some(pending) = ks.journal.as_deref_mut() {
        pending.push(db, now_ms, argv.iter().copied());
    }
}

/// Why writes are refused, server-wide: set by a shard whose journal cannot be written
/// (and by the lead's snapshot code for a failed BGSAVE), cleared when writing works again.
#[derive(Debug, Default)]
pub struct WriteRefusal {
    any: AtomicBool,
    /// source (e.g. "aof:3") -> the full error reply text.
    reasons: Mutex<BTreeMap<String, String>>,
}

impl WriteRefusal {
    /// Refuses writes because of `source`, with reply text `message` (e.g.
    /// `MISCONF Errors writing to the AOF file: File too large`).
    pub fn set(&self, source: &str, message: String) {
        let mut reasons = self.reasons.lock().unwrap_or_else(|e| e.into_inner());
        reasons.insert(source.to_string(), message);
        self.any.store(true, Ordering::Release);
    }

    /// Withdraws `source`'s refusal.
    pub fn clear(&self, source: &str) {
        let mut reasons = self.reasons.lock().unwrap_or_else(|e| e.into_inner());
        if reasons.remove(source).is_some() {
            self.any.store(!reasons.is_empty(), Ordering::Release);
        }
    }

    /// The error a write command gets now, if writes are refused (one atomic load otherwise).
    #[inline]
    pub fn check(&self) -> Option<CmdError> {
        if !self.any.load(Ordering::Acquire) {
            return None;
        }
        let reasons = self.reasons.lock().unwrap_or_else(|e| e.into_inner());
        reasons.values().next().map(|m| CmdError::msg(m.clone()))
    }
}

/// One shard's journal status, for INFO persistence (kept on [`crate::shard::ShardState`]).
#[derive(Debug, Clone, Default)]
pub struct AofStats {
    /// The shard keeps a journal.
    pub enabled: bool,
    /// The last write or fsync succeeded (INFO `aof_last_write_status:ok`).
    pub last_write_ok: bool,
    /// The error text of the last failed write or fsync (strerror), if the last one failed.
    pub last_write_error: Option<String>,
    /// Times an fsync was still running 2 s after it started (`aof_delayed_fsync`).
    pub delayed_fsync: u64,
    /// Bytes of the shard's current journal file (`aof_current_size` is their sum).
    pub current_size: u64,
    /// Bytes of the journal when the server started or the file was created (`aof_base_size`).
    pub base_size: u64,
    /// Bytes appended and not yet written (`aof_buffer_length`).
    pub pending_bytes: u64,
    /// Bytes written and not yet fsynced.
    pub unsynced_bytes: u64,
    /// An fsync is running.
    pub fsync_in_progress: bool,
    /// A journal rewrite runs on this shard (`aof_rewrite_in_progress`; always false:
    /// BGREWRITEAOF is not implemented yet).
    pub rewrite_in_progress: bool,
    /// Unix ms of the last successful fsync, 0 if none.
    pub last_fsync_ms: i64,
    /// The journal file being appended to, relative to `dir`.
    pub file: String,
}
