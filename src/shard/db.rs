//! One database of one shard: keys, values, expiry times and access metadata.
//!
//! Keys live in an insertion-ordered hash map (`IndexMap`). Removal swaps the last
//! entry into the hole, which is what makes [`Db::scan`] keep Redis's SCAN guarantee
//! with a plain integer cursor: the cursor walks positions from the top down, and a
//! removal only ever moves the *last* entry (already visited) to a lower position.
//! Keys with a TTL are also kept in `volatile`, so the active expiry cycle samples
//! only keys that can expire.

use ahash::RandomState;
use indexmap::{IndexMap, IndexSet};

use super::notify;
use super::snapshot::{DbSnapshot, Detached, Preserved, SAVED_BIT};
use crate::types::Value;

/// A key as stored: inline when short, else its own exact-size allocation (never a slice
/// of a read buffer).
pub type Key = crate::types::CompactBytes;

/// "No expiry" in [`Entry::expire_at`].
pub const NO_EXPIRE: i64 = -1;

/// Bytes of bookkeeping counted per key on top of key and value bytes (map slot,
/// entry header, allocation headers): an estimate for `used_memory`.
const ENTRY_OVERHEAD: usize = 64;

/// A value with its expiry time and access metadata.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The value.
    pub value: Value,
    /// Absolute expiry in Unix milliseconds, or [`NO_EXPIRE`].
    pub expire_at: i64,
    /// LRU clock (seconds, bits 0..24) or LFU data (16-bit minutes, 8-bit counter), per
    /// `maxmemory-policy`. Bit 31 belongs to snapshots ([`super::snapshot`]): change access
    /// data only through [`Access::touch`] or [`Entry::set_access`], which keep it.
    pub access: u32,
}

impl Entry {
    /// A new entry with no expiry.
    pub fn new(value: Value) -> Entry {
        Entry { value, expire_at: NO_EXPIRE, access: 0 }
    }

    /// Whether the entry has expired at `now_ms` (Redis: expired once now > when).
    pub fn is_expired(&self, now_ms: i64) -> bool {
        self.expire_at != NO_EXPIRE && now_ms > self.expire_at
    }

    /// Replaces the LRU/LFU data (RESTORE's IDLETIME/FREQ), keeping the snapshot bit.
    pub fn set_access(&mut self, access: u32) {
        self.access = (self.access & SAVED_BIT) | (access & !SAVED_BIT);
    }
}

/// How a command's key accesses update access metadata.
#[derive(Debug, Clone, Copy)]
pub struct Access {
    /// The command's time, Unix milliseconds.
    pub now_ms: i64,
    /// LRU or LFU tracking.
    pub mode: AccessMode,
    /// CLIENT NO-TOUCH: reads leave access metadata alone.
    pub no_touch: bool,
}

/// Which access metadata `maxmemory-policy` asks for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AccessMode {
    /// Idle time (LRU policies and noeviction).
    Lru,
    /// Logarithmic access frequency (LFU policies).
    Lfu {
        /// `lfu-log-factor`.
        log_factor: u32,
        /// `lfu-decay-time` in minutes.
        decay_minutes: u32,
    },
}

impl Access {
    /// Access metadata for a key created now.
    pub fn fresh(&self) -> u32 {
        match self.mode {
            AccessMode::Lru => lru_clock(self.now_ms),
            AccessMode::Lfu { .. } => (lfu_minutes(self.now_ms) << 8) | LFU_INIT_VAL,
        }
    }

    /// Updates `access` for a key being used now.
    pub fn touch(&self, access: &mut u32) {
        if self.no_touch {
            return;
        }
        let saved = *access & SAVED_BIT;
        match self.mode {
            AccessMode::Lru => *access = saved | lru_clock(self.now_ms),
            AccessMode::Lfu { log_factor, decay_minutes } => {
                let counter = lfu_decayed(*access, self.now_ms, decay_minutes);
                let counter = lfu_log_incr(counter, log_factor, self.now_ms);
                *access = saved | (lfu_minutes(self.now_ms) << 8) | counter;
            }
        }
    }
}

/// Initial LFU counter of a new key (Redis's `LFU_INIT_VAL`).
const LFU_INIT_VAL: u32 = 5;

/// Seconds clock used for LRU, 24 bits like Redis's.
fn lru_clock(now_ms: i64) -> u32 {
    ((now_ms / 1000) as u32) & 0xFF_FFFF
}

/// Seconds a key with LRU metadata `access` has been idle.
pub fn idle_seconds(access: u32, now_ms: i64) -> u64 {
    let now = lru_clock(now_ms);
    let then = access & 0xFF_FFFF;
    if now >= then { u64::from(now - then) } else { u64::from(now + (0xFF_FFFF - then)) }
}

fn lfu_minutes(now_ms: i64) -> u32 {
    ((now_ms / 60_000) as u32) & 0xFFFF
}

/// The LFU counter of `access` after decay, as OBJECT FREQ reports it.
pub fn lfu_decayed(access: u32, now_ms: i64, decay_minutes: u32) -> u32 {
    let then = (access >> 8) & 0xFFFF;
    let now = lfu_minutes(now_ms);
    let elapsed = if now >= then { now - then } else { 65535 - then + now };
    let periods = elapsed.checked_div(decay_minutes).unwrap_or(0);
    let counter = access & 0xFF;
    counter.saturating_sub(periods)
}

fn lfu_log_incr(counter: u32, log_factor: u32, now_ms: i64) -> u32 {
    if counter == 255 {
        return 255;
    }
    // A cheap pseudo-random number from the clock's low bits is enough for this estimate.
    let r = (crate::util::rand_u64() % 1_000_000) as f64 / 1_000_000.0;
    let _ = now_ms;
    let base = counter.saturating_sub(LFU_INIT_VAL) as f64;
    let p = 1.0 / (base * f64::from(log_factor) + 1.0);
    if r < p { counter + 1 } else { counter }
}

/// One database.
#[derive(Default)]
pub struct Db {
    entries: IndexMap<Key, Entry, RandomState>,
    volatile: IndexSet<Key, RandomState>,
    used_bytes: usize,
    /// Keys removed by expiry (lazy or active) since start, for INFO `expired_keys`.
    pub expired_keys: u64,
    /// Keyspace events the database records itself (expired, new, keymiss).
    pub events: super::notify::DbEvents,
    /// Clients blocked on keys of this database.
    pub blocked: super::blocking::BlockedKeys,
    /// Clients watching keys of this database (WATCH).
    pub watched: super::watch::WatchedKeys,
    /// The value of [`SAVED_BIT`] in `access` that marks an entry "already saved" by the
    /// running snapshot (or, with none running, every entry). Flipped by each snapshot.
    parity: u32,
    /// The running snapshot's state for this database; `None` when no snapshot runs.
    snap: Option<Box<DbSnapshot>>,
}

/// A mutable borrow of one entry that keeps the database's memory estimate right when dropped.
pub struct EntryMut<'a> {
    entry: &'a mut Entry,
    used_bytes: &'a mut usize,
    before: usize,
}

impl std::ops::Deref for EntryMut<'_> {
    type Target = Entry;
    fn deref(&self) -> &Entry {
        self.entry
    }
}

impl std::ops::DerefMut for EntryMut<'_> {
    fn deref_mut(&mut self) -> &mut Entry {
        self.entry
    }
}

impl Drop for EntryMut<'_> {
    fn drop(&mut self) {
        let after = self.entry.value.mem_size();
        *self.used_bytes = (*self.used_bytes + after).saturating_sub(self.before);
    }
}

fn entry_size(key: &[u8], entry: &Entry) -> usize {
    key.len() + entry.value.mem_size() + ENTRY_OVERHEAD
}

impl Db {
    /// The number of keys, expired-but-not-yet-reclaimed ones included (as Redis's DBSIZE).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the database holds no keys.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The number of keys with a TTL.
    pub fn volatile_len(&self) -> usize {
        self.volatile.len()
    }

    /// Estimated bytes used by keys and values.
    pub fn used_bytes(&self) -> usize {
        self.used_bytes
    }

    /// Removes `key` if it has expired; true if it did.
    fn expire_if_needed(&mut self, key: &[u8], now_ms: i64) -> bool {
        self.entries.get_index_of(key).is_some_and(|i| self.live_position(i, now_ms).is_none())
    }

    /// The position of `key`'s live entry with one hash lookup; an expired entry is removed.
    fn live_index(&mut self, key: &[u8], now_ms: i64) -> Option<usize> {
        let index = self.entries.get_index_of(key)?;
        self.live_position(index, now_ms)
    }

    /// `Some(index)` if the entry at `index` is live; otherwise removes it (lazy expiry).
    fn live_position(&mut self, index: usize, now_ms: i64) -> Option<usize> {
        let expired = self.entries.get_index(index).is_some_and(|(_, e)| e.is_expired(now_ms));
        if !expired {
            return Some(index);
        }
        if let Some((stored_key, entry)) = self.entries.swap_remove_index(index) {
            self.used_bytes = self.used_bytes.saturating_sub(entry_size(&stored_key, &entry));
            self.volatile.swap_remove(&stored_key);
            self.expired_keys += 1;
            self.events.record(notify::EXPIRED, "expired", &stored_key);
            self.watched.touch(&stored_key);
            self.dispose(stored_key, entry);
        }
        None
    }

    /// As [`Db::get`], for a command's read: a miss is a `keymiss` event.
    pub fn read(&mut self, key: &[u8], access: &Access) -> Option<&Entry> {
        let Some(index) = self.live_index(key, access.now_ms) else {
            self.events.record(notify::KEY_MISS, "keymiss", key);
            return None;
        };
        let (_, entry) = self.entries.get_index_mut(index)?;
        access.touch(&mut entry.access);
        Some(entry)
    }

    /// The live entry under `key`, updating its access metadata (a read by a command).
    pub fn get(&mut self, key: &[u8], access: &Access) -> Option<&Entry> {
        let index = self.live_index(key, access.now_ms)?;
        let (_, entry) = self.entries.get_index_mut(index)?;
        access.touch(&mut entry.access);
        Some(entry)
    }

    /// Whether `key` holds an entry whose time has passed but that nothing removed yet.
    pub fn is_expired(&self, key: &[u8], now_ms: i64) -> bool {
        self.entries.get(key).is_some_and(|e| e.is_expired(now_ms))
    }

    /// Whether `key` holds a live entry, without touching access metadata.
    pub fn contains(&mut self, key: &[u8], now_ms: i64) -> bool {
        self.live_index(key, now_ms).is_some()
    }

    /// The live entry under `key` without touching access metadata (OBJECT, TTL, TYPE...).
    pub fn peek(&mut self, key: &[u8], now_ms: i64) -> Option<&Entry> {
        let index = self.live_index(key, now_ms)?;
        self.entries.get_index(index).map(|(_, e)| e)
    }

    /// As [`Db::peek`], for a command's read (EXISTS, TYPE, TTL): a miss is a `keymiss` event.
    pub fn peek_read(&mut self, key: &[u8], now_ms: i64) -> Option<&Entry> {
        let Some(index) = self.live_index(key, now_ms) else {
            self.events.record(notify::KEY_MISS, "keymiss", key);
            return None;
        };
        self.entries.get_index(index).map(|(_, e)| e)
    }

    /// The live entry under `key` for change, updating access metadata.
    pub fn get_mut(&mut self, key: &[u8], access: &Access) -> Option<EntryMut<'_>> {
        let index = self.live_index(key, access.now_ms)?;
        let (stored_key, entry) = self.entries.get_index_mut(index)?;
        if let Some(snap) = self.snap.as_mut() {
            preserve_copy(snap, self.parity, stored_key, entry);
        }
        access.touch(&mut entry.access);
        let before = entry.value.mem_size();
        Some(EntryMut { entry, used_bytes: &mut self.used_bytes, before })
    }

    /// Stores `value` under `key`, replacing any value and dropping any TTL (as SET does).
    pub fn set(&mut self, key: &[u8], value: Value, access: &Access) {
        self.insert(key, Entry { value, expire_at: NO_EXPIRE, access: access.fresh() });
    }

    /// Stores `value` under `key`, keeping an existing live key's TTL (SET KEEPTTL, SETRANGE...).
    pub fn set_keep_ttl(&mut self, key: &[u8], value: Value, access: &Access) {
        let expire_at = match self.peek(key, access.now_ms) {
            Some(e) => e.expire_at,
            None => NO_EXPIRE,
        };
        self.insert(key, Entry { value, expire_at, access: access.fresh() });
    }

    /// Stores a whole entry (value, TTL, access data) under `key`, replacing what was there.
    pub fn insert(&mut self, key: &[u8], mut entry: Entry) {
        self.blocked.signal(key);
        // Not part of a running snapshot: it did not exist when the snapshot began.
        entry.access = (entry.access & !SAVED_BIT) | self.parity;
        let size = entry_size(key, &entry);
        let volatile = entry.expire_at != NO_EXPIRE;
        match self.entries.get_full_mut(key) {
            Some((_, stored_key, old)) => {
                let old_size = key.len() + old.value.mem_size() + ENTRY_OVERHEAD;
                let was_volatile = old.expire_at != NO_EXPIRE;
                let replaced = std::mem::replace(old, entry);
                match self.snap.as_mut() {
                    Some(snap) if replaced.access & SAVED_BIT != self.parity => {
                        snap.preserved.push(Preserved { db: snap.origin, key: stored_key.clone(), entry: replaced });
                    }
                    _ => crate::util::lazyfree::release(replaced.value),
                }
                self.used_bytes = (self.used_bytes + size).saturating_sub(old_size);
                if was_volatile && !volatile {
                    self.volatile.swap_remove(key);
                } else if volatile && !was_volatile {
                    self.volatile.insert(key.into());
                }
            }
            None => {
                self.events.record(notify::NEW, "new", key);
                self.entries.insert(key.into(), entry);
                self.used_bytes += size;
                if volatile {
                    self.volatile.insert(key.into());
                }
            }
        }
    }

    /// Makes room for `additional` more keys (loading a snapshot of known size).
    pub fn reserve(&mut self, additional: usize) {
        self.entries.reserve(additional);
    }

    /// Stores an entry read from a snapshot at startup: one hash lookup, no events, no
    /// waiters or snapshot to serve. A key already present (a file naming it twice) is
    /// replaced.
    pub fn insert_loaded(&mut self, key: &[u8], mut entry: Entry) {
        entry.access = (entry.access & !SAVED_BIT) | self.parity;
        let size = entry_size(key, &entry);
        let volatile = entry.expire_at != NO_EXPIRE;
        let (_, old) = self.entries.insert_full(key.into(), entry);
        self.used_bytes += size;
        if let Some(old) = old {
            self.used_bytes = self.used_bytes.saturating_sub(entry_size(key, &old));
            if old.expire_at != NO_EXPIRE && !volatile {
                self.volatile.swap_remove(key);
            }
        }
        if volatile {
            self.volatile.insert(key.into());
        }
    }

    /// Stores a whole entry like [`Db::insert`] without a `new` event: a key moved
    /// between keyspaces by the coordination mechanism, not created.
    pub fn insert_quiet(&mut self, key: &[u8], entry: Entry) {
        let classes = std::mem::take(&mut self.events.classes);
        self.insert(key, entry);
        self.events.classes = classes;
    }

    /// Removes `key`, returning its entry (expired or not).
    pub fn remove(&mut self, key: &[u8]) -> Option<Entry> {
        let (stored_key, mut entry) = self.detach(key)?;
        if let Some(snap) = self.snap.as_mut() {
            preserve_copy(snap, self.parity, &stored_key, &mut entry);
        }
        Some(entry)
    }

    /// Takes `key`'s entry out of the tables, keeping the memory estimate and the
    /// volatile set right; the caller disposes of it.
    fn detach(&mut self, key: &[u8]) -> Option<(Key, Entry)> {
        let (stored_key, entry) = self.entries.swap_remove_entry(key)?;
        self.used_bytes = self.used_bytes.saturating_sub(entry_size(&stored_key, &entry));
        if entry.expire_at != NO_EXPIRE {
            self.volatile.swap_remove(key);
        }
        Some((stored_key, entry))
    }

    /// Gets rid of an entry taken out of the tables: the running snapshot keeps it if it
    /// was not saved yet (moved, not copied); otherwise it is freed.
    fn dispose(&mut self, key: Key, entry: Entry) {
        match self.snap.as_mut() {
            Some(snap) if entry.access & SAVED_BIT != self.parity => {
                snap.preserved.push(Preserved { db: snap.origin, key, entry });
            }
            _ => crate::util::lazyfree::release(entry.value),
        }
    }

    /// Removes `key` if live, returning its entry.
    pub fn take(&mut self, key: &[u8], now_ms: i64) -> Option<Entry> {
        if self.expire_if_needed(key, now_ms) {
            return None;
        }
        self.remove(key)
    }

    /// Sets the absolute expiry of a live `key` (Unix ms, or [`NO_EXPIRE`]); false if no such key.
    pub fn set_expire(&mut self, key: &[u8], expire_at: i64, now_ms: i64) -> bool {
        if self.expire_if_needed(key, now_ms) {
            return false;
        }
        let Some((_, stored_key, entry)) = self.entries.get_full_mut(key) else {
            return false;
        };
        if let Some(snap) = self.snap.as_mut() {
            preserve_copy(snap, self.parity, stored_key, entry);
        }
        let was_volatile = entry.expire_at != NO_EXPIRE;
        entry.expire_at = expire_at;
        if expire_at == NO_EXPIRE && was_volatile {
            self.volatile.swap_remove(key);
        } else if expire_at != NO_EXPIRE && !was_volatile {
            self.volatile.insert(key.into());
        }
        true
    }

    /// Removes every key. While a snapshot runs, the old table goes to the snapshot, which
    /// goes on walking it (no copy).
    pub fn clear(&mut self) {
        self.watched.touch_all();
        let entries = std::mem::take(&mut self.entries);
        let volatile = std::mem::take(&mut self.volatile);
        self.used_bytes = 0;
        if let Some(snap) = self.snap.as_mut() {
            let cursor = std::mem::take(&mut snap.cursor).min(entries.len());
            if cursor > 0 {
                snap.detached.push(Detached { table: entries, cursor });
                release_table(IndexMap::default(), volatile);
                return;
            }
        }
        release_table(entries, volatile);
    }

    /// Swaps the contents of two databases (SWAPDB). A running snapshot's state goes
    /// with the tables, so each table is still saved as the database it was in when the
    /// snapshot began.
    pub fn swap_contents(&mut self, other: &mut Db) {
        std::mem::swap(&mut self.entries, &mut other.entries);
        std::mem::swap(&mut self.volatile, &mut other.volatile);
        std::mem::swap(&mut self.used_bytes, &mut other.used_bytes);
        std::mem::swap(&mut self.snap, &mut other.snap);
        self.watched.touch_all();
        other.watched.touch_all();
        let (mine, theirs) = (&self.entries, &other.entries);
        self.blocked.signal_all(|key| mine.contains_key(key));
        other.blocked.signal_all(|key| theirs.contains_key(key));
    }

    /// A random live key, or `None` if the database is empty. Expired keys met on the
    /// way are reclaimed; the number of tries is bounded like Redis's.
    pub fn random_key(&mut self, now_ms: i64) -> Option<Key> {
        for _ in 0..100 {
            if self.entries.is_empty() {
                return None;
            }
            let i = (crate::util::rand_u64() % self.entries.len() as u64) as usize;
            let (key, entry) = self.entries.get_index(i)?;
            if !entry.is_expired(now_ms) {
                return Some(key.clone());
            }
            let key = key.clone();
            if let Some((stored_key, entry)) = self.detach(&key) {
                self.dispose(stored_key, entry);
            }
            self.expired_keys += 1;
            self.events.record(notify::EXPIRED, "expired", &key);
        }
        // Mostly expired keys: give any key, as Redis does after many tries.
        self.entries.get_index(0).map(|(k, _)| k.clone())
    }

    /// One step of SCAN: visits up to `count` positions below `cursor` (0 = start from the
    /// top), calling `visit` with each live key and entry; returns the next cursor (0 = done).
    ///
    /// Guarantee (Redis's): a key present from the start to the end of a full scan is
    /// visited at least once. Positions are walked downward from the top; inserting appends
    /// above the start, and removing moves the last entry, which was already visited or is
    /// above the start, into the hole; so a key never jumps from below the cursor to above it.
    pub fn scan(&mut self, cursor: u64, count: usize, now_ms: i64, mut visit: impl FnMut(&Key, &Entry)) -> u64 {
        let len = self.entries.len() as u64;
        let mut pos = if cursor == 0 || cursor > len { len } else { cursor };
        let mut steps = 0;
        while pos > 0 && steps < count.max(1) {
            pos -= 1;
            steps += 1;
            if let Some((key, entry)) = self.entries.get_index(pos as usize)
                && !entry.is_expired(now_ms)
            {
                visit(key, entry);
            }
        }
        pos
    }

    /// Every live key, for KEYS (expired keys are skipped, not reclaimed).
    pub fn for_each_live(&self, now_ms: i64, mut visit: impl FnMut(&Key, &Entry)) {
        for (key, entry) in &self.entries {
            if !entry.is_expired(now_ms) {
                visit(key, entry);
            }
        }
    }

    /// One pass of active expiry: samples up to `samples` keys with a TTL at random and
    /// removes the expired ones. Returns (sampled, expired).
    pub fn expire_sample(&mut self, samples: usize, now_ms: i64) -> (usize, usize) {
        let mut sampled = 0;
        let mut expired = 0;
        for _ in 0..samples {
            if self.volatile.is_empty() {
                break;
            }
            let i = (crate::util::rand_u64() % self.volatile.len() as u64) as usize;
            let Some(key) = self.volatile.get_index(i).cloned() else {
                break;
            };
            sampled += 1;
            let is_expired = self.entries.get(&key).is_some_and(|e| e.is_expired(now_ms));
            if is_expired {
                self.watched.touch(&key);
                if let Some((stored_key, entry)) = self.detach(&key) {
                    self.dispose(stored_key, entry);
                }
                self.expired_keys += 1;
                self.events.record(notify::EXPIRED, "expired", &key);
                expired += 1;
            }
        }
        (sampled, expired)
    }

    /// Gives memory back after mass removal: shrinks the tables when they are mostly empty,
    /// as Redis resizes its dictionaries (below 1/8 full here, to avoid thrashing).
    pub fn shrink_if_sparse(&mut self) {
        if self.entries.capacity() > 64 && self.entries.len() * 8 < self.entries.capacity() {
            self.entries.shrink_to_fit();
        }
        if self.volatile.capacity() > 64 && self.volatile.len() * 8 < self.volatile.capacity() {
            self.volatile.shrink_to_fit();
        }
    }
}

/// Snapshot primitives (see [`super::snapshot`] for the whole mechanism).
impl Db {
    /// Starts a snapshot of this database, saved as database `origin`: every entry
    /// present becomes "unsaved" (one flip of the parity, no walk).
    pub(super) fn snapshot_begin(&mut self, origin: usize) {
        self.parity ^= SAVED_BIT;
        self.snap = Some(Box::new(DbSnapshot::new(origin, self.entries.len())));
    }

    /// Whether a snapshot runs on this database.
    pub fn snapshot_running(&self) -> bool {
        self.snap.is_some()
    }

    /// Walks up to `budget` positions of this database's tables from the top down,
    /// handing each entry not saved yet to `visit` (with the database it is saved as) and
    /// marking it saved. Returns the positions walked and whether the walk is complete.
    pub(super) fn snapshot_walk(
        &mut self,
        budget: usize,
        visit: &mut impl FnMut(usize, &Key, &Entry),
    ) -> (usize, bool) {
        let parity = self.parity;
        let Some(snap) = self.snap.as_mut() else {
            return (0, true);
        };
        let origin = snap.origin;
        let mut walked = 0;
        // Tables detached by FLUSHDB/FLUSHALL first: nothing changes them any more.
        while let Some(table) = snap.detached.last_mut() {
            while table.cursor > 0 && walked < budget {
                table.cursor -= 1;
                walked += 1;
                if let Some((key, entry)) = table.table.get_index(table.cursor)
                    && entry.access & SAVED_BIT != parity
                {
                    visit(origin, key, entry);
                }
            }
            if table.cursor > 0 {
                return (walked, false);
            }
            if let Some(done) = snap.detached.pop() {
                release_table(done.table, IndexSet::default());
            }
        }
        // Removals move the last entry into the hole, and inserts append: walking down from
        // the length at the start, an entry present then is never moved above the cursor
        // before it is walked (the argument of [`Db::scan`]).
        snap.cursor = snap.cursor.min(self.entries.len());
        while snap.cursor > 0 && walked < budget {
            snap.cursor -= 1;
            walked += 1;
            if let Some((key, entry)) = self.entries.get_index_mut(snap.cursor)
                && entry.access & SAVED_BIT != parity
            {
                entry.access ^= SAVED_BIT;
                visit(origin, key, entry);
            }
        }
        (walked, snap.cursor == 0)
    }

    /// Moves the entries saved aside by changes (their state when the snapshot began) to `out`.
    pub(super) fn snapshot_take_preserved(&mut self, out: &mut Vec<Preserved>) {
        if let Some(snap) = self.snap.as_mut() {
            out.append(&mut snap.preserved);
        }
    }

    /// Ends this database's part of the snapshot (its walk is complete), handing the
    /// entries still preserved to `visit`.
    pub(super) fn snapshot_end(&mut self, visit: &mut impl FnMut(usize, &Key, &Entry)) {
        let Some(snap) = self.snap.take() else {
            return;
        };
        let snap = *snap;
        for detached in snap.detached {
            release_table(detached.table, IndexSet::default());
        }
        for p in snap.preserved {
            visit(p.db, &p.key, &p.entry);
            crate::util::lazyfree::release(p.entry.value);
        }
    }

    /// Abandons the snapshot on this database: marks every entry not walked yet as saved
    /// (the next snapshot flips the parity again) and frees what the snapshot kept.
    /// Costs one pass over the entries not walked yet.
    pub(super) fn snapshot_abort(&mut self) {
        let Some(snap) = self.snap.take() else {
            return;
        };
        let parity = self.parity;
        let end = snap.cursor.min(self.entries.len());
        if let Some(unwalked) = self.entries.get_range_mut(..end) {
            for (_, entry) in unwalked.iter_mut() {
                entry.access = (entry.access & !SAVED_BIT) | parity;
            }
        }
        let snap = *snap;
        for detached in snap.detached {
            release_table(detached.table, IndexSet::default());
        }
        if !snap.preserved.is_empty() {
            crate::util::lazyfree::release_in_background(Box::new(snap.preserved));
        }
    }

    /// Whether the entry under `key` is marked saved for the running snapshot (tests).
    #[cfg(test)]
    pub(super) fn is_saved(&self, key: &[u8]) -> Option<bool> {
        self.entries.get(key).map(|e| e.access & SAVED_BIT == self.parity)
    }
}

/// Saves a copy of `entry` for the running snapshot if it was not saved yet, marking it
/// saved: called before the entry changes or leaves the table.
#[cold]
#[inline(never)]
fn preserve_copy(snap: &mut DbSnapshot, parity: u32, key: &Key, entry: &mut Entry) {
    if entry.access & SAVED_BIT != parity {
        entry.access ^= SAVED_BIT;
        snap.preserved.push(Preserved { db: snap.origin, key: key.clone(), entry: entry.clone() });
    }
}

/// Frees a detached table, in the background when it is large.
fn release_table(entries: IndexMap<Key, Entry, RandomState>, volatile: IndexSet<Key, RandomState>) {
    if entries.len() > crate::util::lazyfree::THRESHOLD {
        crate::util::lazyfree::release_in_background(Box::new((entries, volatile)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::StrValue;

    fn access(now_ms: i64) -> Access {
        Access { now_ms, mode: AccessMode::Lru, no_touch: false }
    }

    fn s(v: &[u8]) -> Value {
        Value::Str(StrValue::from_bytes(v))
    }

    #[test]
    fn entries_stay_small() {
        // Every lookup touches an entry: growing it costs cache misses on the hot path
        // (collections live behind a Box in `Value` for this reason).
        assert!(std::mem::size_of::<Entry>() <= 48, "Entry is {} bytes", std::mem::size_of::<Entry>());
    }

    #[test]
    fn set_get_remove_and_expiry() {
        let mut db = Db::default();
        let a = access(1000);
        db.set(b"k", s(b"v"), &a);
        assert!(db.get(b"k", &a).is_some());
        assert!(db.set_expire(b"k", 1500, 1000));
        assert_eq!(db.volatile_len(), 1);
        assert!(db.get(b"k", &access(1500)).is_some(), "alive while now == when");
        assert!(db.get(b"k", &access(1501)).is_none());
        assert_eq!(db.len(), 0);
        assert_eq!(db.volatile_len(), 0);
        assert_eq!(db.expired_keys, 1);
        assert_eq!(db.used_bytes(), 0);
    }

    #[test]
    fn scan_visits_every_stable_key_despite_churn() {
        let mut db = Db::default();
        let a = access(0);
        for i in 0..1000 {
            db.set(format!("stable{i}").as_bytes(), s(b"x"), &a);
        }
        let mut seen = std::collections::HashSet::new();
        let mut cursor = 0;
        let mut round = 0;
        loop {
            cursor = db.scan(cursor, 10, 0, |k, _| {
                seen.insert(k.clone());
            });
            // Churn between calls: add and remove other keys.
            for j in 0..5 {
                db.set(format!("tmp{round}-{j}").as_bytes(), s(b"y"), &a);
            }
            if round > 2 {
                for j in 0..5 {
                    db.remove(format!("tmp{}-{j}", round - 2).as_bytes());
                }
            }
            round += 1;
            if cursor == 0 {
                break;
            }
        }
        for i in 0..1000 {
            assert!(seen.contains(format!("stable{i}").as_bytes()), "missed stable{i}");
        }
    }

    #[test]
    fn active_expiry_reclaims() {
        let mut db = Db::default();
        let a = access(0);
        for i in 0..1000 {
            let k = format!("k{i}");
            db.set(k.as_bytes(), s(b"x"), &a);
            db.set_expire(k.as_bytes(), 10, 0);
        }
        let mut total = 0;
        while db.volatile_len() > 0 {
            total += db.expire_sample(20, 100).1;
        }
        assert_eq!(total, 1000);
        assert_eq!(db.len(), 0);
    }
}
