//! Server-wide persistence status shared by every thread: counters and flags only.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Server-wide snapshot status (INFO persistence, LASTSAVE). Not keyspace data.
#[derive(Debug)]
pub struct SaveStatus {
    inner: Mutex<SaveState>,
    /// Each shard's `dirty` counter as its cron last saw it.
    dirty: Vec<AtomicU64>,
    /// Each shard's journal size in bytes as its cron last saw it.
    journal_bytes: Vec<AtomicU64>,
}

/// What [`SaveStatus`] guards.
#[derive(Debug, Clone)]
pub struct SaveState {
    /// A snapshot is being written.
    pub in_progress: bool,
    /// When the running snapshot started (Unix seconds), or -1.
    pub current_started: i64,
    /// Unix seconds of the last successful snapshot (server start until one is taken).
    pub last_save: i64,
    /// Unix seconds of the last attempt.
    pub last_try: i64,
    /// Whether the last snapshot succeeded.
    pub last_ok: bool,
    /// Why the last snapshot failed.
    pub last_error: Option<String>,
    /// Seconds the last snapshot took, or -1.
    pub last_duration: i64,
    /// Snapshots taken since start.
    pub saves: u64,
    /// The sum of the shards' `dirty` counters at the last successful snapshot's point in time.
    pub dirty_at_last_save: u64,
    /// Keys written by the last snapshot.
    pub last_keys: u64,
    /// Bytes written by the last snapshot.
    pub last_bytes: u64,
    /// Every shard is done loading.
    pub loaded: bool,
    /// Keys loaded at startup.
    pub load_loaded: u64,
    /// Keys found expired while loading at startup (not loaded).
    pub load_expired: u64,
    /// A journal rewrite (BGREWRITEAOF) is running. A shard runs one snapshot at a time,
    /// so a rewrite and a snapshot never overlap: whichever comes second is scheduled.
    pub aof_rewrite_in_progress: bool,
    /// A journal rewrite waits for the running snapshot to finish.
    pub aof_rewrite_scheduled: bool,
    /// A BGSAVE SCHEDULE waits for the running journal rewrite to finish.
    pub bgsave_scheduled: bool,
    /// When the running rewrite started (Unix seconds), or -1.
    pub aof_rewrite_started: i64,
    /// Seconds the last rewrite took, or -1.
    pub aof_last_rewrite_duration: i64,
    /// Whether the last rewrite succeeded.
    pub aof_last_rewrite_ok: bool,
    /// Rewrites done since start.
    pub aof_rewrites: u64,
    /// Rewrites that failed in a row.
    pub aof_rewrite_failures: u64,
    /// Bytes of the journal files plus their base snapshots right after the last rewrite
    /// (or at startup): the size `auto-aof-rewrite-percentage` measures growth against
    /// (Redis's `aof_rewrite_base_size`); `None` until first measured.
    pub aof_rewrite_base_size: Option<u64>,
    /// Bytes of the current base snapshots.
    pub aof_base_bytes: u64,
    /// Every shard journals its writes (set at startup with `appendonly yes`, and by the
    /// rewrite that `CONFIG SET appendonly yes` starts; cleared by `appendonly no`).
    pub aof_on: bool,
}

impl SaveStatus {
    /// The status of a server with `shards` shards that started at `now_unix`.
    pub fn new(shards: usize, now_unix: i64) -> SaveStatus {
        SaveStatus {
            inner: Mutex::new(SaveState {
                in_progress: false,
                current_started: -1,
                last_save: now_unix,
                last_try: 0,
                last_ok: true,
                last_error: None,
                last_duration: -1,
                saves: 0,
                dirty_at_last_save: 0,
                last_keys: 0,
                last_bytes: 0,
                loaded: false,
                load_loaded: 0,
                load_expired: 0,
                aof_rewrite_in_progress: false,
                aof_rewrite_scheduled: false,
                bgsave_scheduled: false,
                aof_rewrite_started: -1,
                aof_last_rewrite_duration: -1,
                aof_last_rewrite_ok: true,
                aof_rewrites: 0,
                aof_rewrite_failures: 0,
                aof_rewrite_base_size: None,
                aof_base_bytes: 0,
                aof_on: false,
            }),
            dirty: (0..shards).map(|_| AtomicU64::new(0)).collect(),
            journal_bytes: (0..shards).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    /// A copy of the status.
    pub fn state(&self) -> SaveState {
        match self.inner.lock() {
            Ok(state) => state.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Changes the status under its lock.
    pub fn update<T>(&self, f: impl FnOnce(&mut SaveState) -> T) -> T {
        match self.inner.lock() {
            Ok(mut state) => f(&mut state),
            Err(poisoned) => f(&mut poisoned.into_inner()),
        }
    }

    /// Whether a snapshot or a journal rewrite is running (the shards' one snapshot slot is taken).
    pub fn snapshot_running(&self) -> bool {
        let state = self.state();
        state.in_progress || state.aof_rewrite_in_progress
    }

    /// Records shard `shard`'s `dirty` counter (called by its cron).
    pub fn publish_dirty(&self, shard: usize, dirty: u64) {
        if let Some(slot) = self.dirty.get(shard) {
            slot.store(dirty, Ordering::Relaxed);
        }
    }

    /// Records shard `shard`'s journal size (called by its cron).
    pub fn publish_journal_bytes(&self, shard: usize, bytes: u64) {
        if let Some(slot) = self.journal_bytes.get(shard) {
            slot.store(bytes, Ordering::Relaxed);
        }
    }

    /// Forgets the published journal sizes (a rewrite replaced the journals).
    pub fn reset_journal_bytes(&self) {
        for slot in &self.journal_bytes {
            slot.store(0, Ordering::Relaxed);
        }
    }

    /// The journal files' bytes over all shards, as last published.
    pub fn journal_bytes(&self) -> u64 {
        self.journal_bytes.iter().map(|b| b.load(Ordering::Relaxed)).sum()
    }

    /// Changes since the last successful snapshot (INFO `rdb_changes_since_last_save`).
    pub fn changes_since_last_save(&self) -> u64 {
        let total: u64 = self.dirty.iter().map(|d| d.load(Ordering::Relaxed)).sum();
        total.saturating_sub(self.state().dirty_at_last_save)
    }
}
