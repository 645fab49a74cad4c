//! Point-in-time snapshots of one shard's keyspace, taken while writes go on, without fork.
//!
//! Serialize-before-modify: [`Keyspace::snapshot_begin`] flips a parity bit per database
//! (bit 31 of [`Entry::access`], [`SAVED_BIT`]), which makes every entry present "unsaved"
//! at no cost. From then on:
//! - a walker ([`Keyspace::snapshot_step`]) visits the tables from the top down in small
//!   steps, hands each unsaved entry to the writer by reference and marks it saved;
//! - every change to an entry (an overwrite, a change through [`super::EntryMut`], a TTL
//!   change, a removal, an expiry, FLUSHDB, SWAPDB) first saves the entry as it was into
//!   the *preserved* queue, if it is still unsaved, and marks it saved. A removed or
//!   overwritten entry is moved there, a changed one copied; a flushed table is handed to
//!   the snapshot whole, which goes on walking it;
//! - entries created during the snapshot get the current parity: saved, so not part of it.
//!
//! Each entry present at the start is thus handed over exactly once, either by the walker
//! or through [`Keyspace::take_preserved`], in its state at the start. The walk cannot
//! miss one for the reason [`Db::scan`] cannot: removals move the *last* entry into the
//! hole and inserts append, so an entry below the cursor never moves above it. Extra
//! memory is what changed during the snapshot (the preserved entries the writer has not
//! taken yet, and flushed tables until walked), never a copy of the data set. With no
//! snapshot running, a change costs one predictable branch (`snap.is_none()`).
//!
//! Expired entries not reclaimed yet are part of the snapshot like any other, with their
//! TTL: whoever loads it decides what expired.

use super::Keyspace;
use super::db::{Db, Entry, Key};

/// The bit of [`Entry::access`] that says whether the entry is saved for the running
/// snapshot (compared with the database's parity; LRU/LFU data use bits 0..24).
pub const SAVED_BIT: u32 = 1 << 31;

/// An entry saved aside because it changed or left during the snapshot: its state when
/// the snapshot began.
#[derive(Debug, Clone)]
pub struct Preserved {
    /// The database it was in when the snapshot began.
    pub db: usize,
    /// Its key.
    pub key: Key,
    /// Its entry as it was (value, expiry).
    pub entry: Entry,
}

/// A table emptied by FLUSHDB/FLUSHALL during the snapshot, still to be walked.
pub(crate) struct Detached {
    /// The table.
    pub(crate) table: indexmap::IndexMap<Key, Entry, ahash::RandomState>,
    /// Positions below this one are still to be walked.
    pub(crate) cursor: usize,
}

/// The running snapshot's state in one database.
pub(crate) struct DbSnapshot {
    /// The database the live table was in when the snapshot began (SWAPDB moves this
    /// state along with the table).
    pub(crate) origin: usize,
    /// Positions of the live table below this one are still to be walked.
    pub(crate) cursor: usize,
    /// Flushed tables still to be walked.
    pub(crate) detached: Vec<Detached>,
    /// Entries saved aside by changes, not yet taken by the writer.
    pub(crate) preserved: Vec<Preserved>,
}

impl DbSnapshot {
    /// The state of a snapshot starting on a table of `len` entries that was database `origin`.
    pub(crate) fn new(origin: usize, len: usize) -> DbSnapshot {
        DbSnapshot { origin, cursor: len, detached: Vec::new(), preserved: Vec::new() }
    }
}

/// What [`Keyspace::snapshot_step`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Entries are left to walk.
    More,
    /// The snapshot is complete (or none was running): every entry was handed over.
    Done,
}

impl Keyspace {
    /// Starts a point-in-time snapshot of every database (O(databases), no walk): the
    /// snapshot holds exactly the entries present now, in their current state. False if
    /// a snapshot is already running (one at a time per shard).
    pub fn snapshot_begin(&mut self) -> bool {
        if self.snapshot_running() {
            return false;
        }
        for (index, db) in self.dbs.iter_mut().enumerate() {
            db.snapshot_begin(index);
        }
        true
    }

    /// Whether a snapshot is running on this shard.
    pub fn snapshot_running(&self) -> bool {
        self.dbs.iter().any(Db::snapshot_running)
    }

    /// Walks up to `budget` table positions (at least one), handing each entry of the
    /// snapshot found there to `visit(db, key, entry)` by reference. When every database
    /// is walked the snapshot ends: the entries still preserved are handed to `visit` too
    /// and [`Step::Done`] is returned. Entries handed over by [`Keyspace::take_preserved`]
    /// are not handed again.
    pub fn snapshot_step(&mut self, budget: usize, mut visit: impl FnMut(usize, &Key, &Entry)) -> Step {
        if !self.snapshot_running() {
            return Step::Done;
        }
        let mut left = budget.max(1);
        // From the first database each time: SWAPDB can move unwalked tables anywhere.
        for db in &mut self.dbs {
            let (walked, complete) = db.snapshot_walk(left, &mut visit);
            left -= walked;
            if !complete {
                return Step::More;
            }
        }
        for db in &mut self.dbs {
            db.snapshot_end(&mut visit);
        }
        Step::Done
    }

    /// The entries saved aside by changes since the last call (their state when the
    /// snapshot began), with the database each was in then. The writer drains this
    /// between steps, which bounds the memory a snapshot holds.
    pub fn take_preserved(&mut self) -> Vec<Preserved> {
        let mut out = Vec::new();
        for db in &mut self.dbs {
            db.snapshot_take_preserved(&mut out);
        }
        out
    }

    /// Abandons the running snapshot (a failed write): frees what it kept and marks
    /// every entry saved so the next snapshot starts clean. Costs one pass over the
    /// entries not walked yet; a writer that can wait should rather finish the walk in
    /// steps with a visitor that ignores the entries.
    pub fn snapshot_abort(&mut self) {
        for db in &mut self.dbs {
            db.snapshot_abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::shard::db::{Access, AccessMode, NO_EXPIRE};
    use crate::types::{ListValue, StrValue, Value};

    /// A deterministic xorshift generator for the model tests.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            let mut x = self.0;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            self.0 = x;
            x
        }

        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    fn access(now_ms: i64) -> Access {
        Access { now_ms, mode: AccessMode::Lru, no_touch: false }
    }

    fn s(v: &[u8]) -> Value {
        Value::Str(StrValue::from_bytes(v))
    }

    /// What a snapshot must hold: (db, key) → (value, expire_at).
    type Model = HashMap<(usize, Vec<u8>), (Value, i64)>;

    fn model_of(ks: &Keyspace) -> Model {
        let mut model = Model::new();
        for (d, db) in ks.dbs.iter().enumerate() {
            // Every entry, expired or not: for_each_live at the earliest time sees them all.
            db.for_each_live(i64::MIN, |k, e| {
                model.insert((d, k.to_vec()), (e.value.clone(), e.expire_at));
            });
        }
        model
    }

    fn collect(out: &mut Model, db: usize, key: &Key, entry: &Entry) {
        let previous = out.insert((db, key.to_vec()), (entry.value.clone(), entry.expire_at));
        assert!(previous.is_none(), "entry {db}/{:?} handed over twice", String::from_utf8_lossy(key));
    }

    fn random_value(rng: &mut Rng, tag: u64) -> Value {
        if rng.below(3) == 0 {
            let mut list = ListValue::new();
            for i in 0..rng.below(5) + 1 {
                list.push_back(format!("e{tag}-{i}").as_bytes());
            }
            Value::List(Box::new(list))
        } else {
            s(format!("v{tag}").as_bytes())
        }
    }

    /// One random change to the keyspace at time `now`.
    fn random_op(ks: &mut Keyspace, rng: &mut Rng, now: i64, tag: u64, keys: u64) {
        let dbs = ks.dbs.len() as u64;
        let d = rng.below(dbs) as usize;
        let key = format!("k{}", rng.below(keys)).into_bytes();
        let a = access(now);
        let db = &mut ks.dbs[d];
        match rng.below(100) {
            0..=24 => db.set(&key, random_value(rng, tag), &a),
            25..=29 => db.set_keep_ttl(&key, random_value(rng, tag), &a),
            30..=39 => {
                db.remove(&key);
            }
            40..=44 => {
                db.take(&key, now);
            }
            45..=54 => {
                let when = if rng.below(4) == 0 { NO_EXPIRE } else { now + rng.below(40) as i64 - 10 };
                db.set_expire(&key, when, now);
            }
            55..=64 => {
                if let Some(mut entry) = db.get_mut(&key, &a) {
                    match &mut entry.value {
                        Value::List(list) => list.push_back(format!("pushed{tag}").as_bytes()),
                        Value::Str(_) => entry.value = s(format!("changed{tag}").as_bytes()),
                        _ => {}
                    }
                }
            }
            65..=69 => {
                // Reads: lazy expiry, access metadata.
                db.get(&key, &a);
                db.contains(&key, now);
            }
            70..=72 => {
                db.expire_sample(5, now);
            }
            73..=74 => {
                db.random_key(now);
            }
            75 => {
                if rng.below(4) == 0 {
                    db.clear();
                }
            }
            76 => {
                let other = rng.below(dbs) as usize;
                if other != d {
                    let (low, high) = ks.dbs.split_at_mut(d.max(other));
                    low[d.min(other)].swap_contents(&mut high[0]);
                }
            }
            77..=81 => {
                // MOVE-like: take out of one database, insert into another.
                let other = rng.below(dbs) as usize;
                if let Some(entry) = ks.dbs[d].take(&key, now) {
                    ks.dbs[other].insert(&key, entry);
                }
            }
            82..=84 => {
                let entry = Entry { value: random_value(rng, tag), expire_at: now + 50, access: a.fresh() };
                db.insert_quiet(&key, entry);
            }
            85 => db.shrink_if_sparse(),
            _ => {
                // New keys, so inserts append during the walk.
                let key = format!("n{tag}").into_bytes();
                db.set(&key, random_value(rng, tag), &a);
            }
        }
    }

    /// Runs one snapshot under random churn and checks it holds exactly the keyspace at its start.
    fn run_model(seed: u64, keys: u64, preload: u64, ops_per_step: u64, budget: usize) {
        let mut rng = Rng(seed);
        let mut ks = Keyspace::new(4);
        let mut now = 1_000;
        let mut tag = 0;
        for _ in 0..preload {
            tag += 1;
            random_op(&mut ks, &mut rng, now, tag, keys);
        }
        for round in 0..3 {
            // Some churn between snapshots too (the parity must come back clean).
            for _ in 0..50 {
                tag += 1;
                random_op(&mut ks, &mut rng, now, tag, keys);
            }
            let expected = model_of(&ks);
            assert!(ks.snapshot_begin());
            assert!(!ks.snapshot_begin(), "one snapshot at a time");
            let mut got = Model::new();
            let mut steps = 0;
            loop {
                for _ in 0..rng.below(ops_per_step + 1) {
                    tag += 1;
                    now += rng.below(3) as i64;
                    random_op(&mut ks, &mut rng, now, tag, keys);
                }
                if rng.below(2) == 0 {
                    for p in ks.take_preserved() {
                        collect(&mut got, p.db, &p.key, &p.entry);
                    }
                }
                steps += 1;
                let step =
                    ks.snapshot_step(1 + rng.below(budget as u64) as usize, |d, k, e| collect(&mut got, d, k, e));
                if step == Step::Done {
                    break;
                }
                assert!(steps < 1_000_000, "the walk must end");
            }
            assert!(!ks.snapshot_running());
            assert!(ks.take_preserved().is_empty());
            assert_eq!(got.len(), expected.len(), "seed {seed} round {round}");
            for (k, v) in &expected {
                assert_eq!(got.get(k), Some(v), "seed {seed} round {round}: {k:?}");
            }
            // Every entry is saved again once the snapshot is over.
            for db in &ks.dbs {
                db.for_each_live(i64::MIN, |k, _| assert_eq!(db.is_saved(k), Some(true)));
            }
        }
    }

    #[test]
    fn snapshot_holds_exactly_the_state_at_begin() {
        for seed in 1..=60 {
            run_model(seed * 7919, 64, 300, 6, 8);
        }
    }

    #[test]
    fn snapshot_under_heavy_churn_and_tiny_steps() {
        for seed in 1..=20 {
            run_model(seed * 104_729 + 3, 400, 2_000, 40, 3);
        }
    }

    #[test]
    fn snapshot_with_no_changes_walks_everything_once() {
        let mut ks = Keyspace::new(16);
        let a = access(0);
        for i in 0..1000 {
            ks.dbs[i % 16].set(format!("k{i}").as_bytes(), s(b"v"), &a);
        }
        let expected = model_of(&ks);
        assert!(ks.snapshot_begin());
        let mut got = Model::new();
        let mut steps = 0;
        while ks.snapshot_step(100, |d, k, e| collect(&mut got, d, k, e)) == Step::More {
            steps += 1;
        }
        assert_eq!(got, expected);
        assert!((9..=11).contains(&steps), "{steps} steps of 100 for 1000 keys");
        assert_eq!(ks.snapshot_step(100, |_, _, _| panic!("no snapshot")), Step::Done);
    }

    #[test]
    fn changes_copy_or_move_only_unsaved_entries() {
        let mut ks = Keyspace::new(1);
        let a = access(0);
        for i in 0..10 {
            ks.dbs[0].set(format!("k{i}").as_bytes(), s(b"old"), &a);
        }
        assert!(ks.snapshot_begin());
        // Overwrite: the old entry is preserved once, later overwrites preserve nothing.
        ks.dbs[0].set(b"k1", s(b"new"), &a);
        ks.dbs[0].set(b"k1", s(b"newer"), &a);
        // A key created during the snapshot is not part of it.
        ks.dbs[0].set(b"fresh", s(b"x"), &a);
        ks.dbs[0].remove(b"fresh");
        let preserved = ks.take_preserved();
        assert_eq!(preserved.len(), 1);
        assert_eq!(
            (preserved[0].db, preserved[0].key.to_vec(), &preserved[0].entry.value),
            (0, b"k1".to_vec(), &s(b"old"))
        );
        let mut got = Model::new();
        while ks.snapshot_step(3, |d, k, e| collect(&mut got, d, k, e)) == Step::More {}
        // The walker hands over the other nine: k1 was handed over already.
        assert_eq!(got.len(), 9);
        assert!(!got.contains_key(&(0, b"k1".to_vec())));
    }

    #[test]
    fn flush_during_snapshot_hands_the_table_over() {
        let mut ks = Keyspace::new(2);
        let a = access(0);
        for i in 0..500 {
            ks.dbs[0].set(format!("k{i}").as_bytes(), s(b"v"), &a);
        }
        let expected = model_of(&ks);
        assert!(ks.snapshot_begin());
        let mut got = Model::new();
        assert_eq!(ks.snapshot_step(100, |d, k, e| collect(&mut got, d, k, e)), Step::More);
        ks.dbs[0].clear();
        ks.dbs[0].set(b"after", s(b"x"), &a);
        // Nothing was copied by the flush.
        assert!(ks.take_preserved().is_empty());
        while ks.snapshot_step(100, |d, k, e| collect(&mut got, d, k, e)) == Step::More {}
        assert_eq!(got, expected);
    }

    #[test]
    fn abort_leaves_a_clean_state_for_the_next_snapshot() {
        let mut ks = Keyspace::new(2);
        let a = access(0);
        for i in 0..300 {
            ks.dbs[i % 2].set(format!("k{i}").as_bytes(), s(b"v"), &a);
        }
        assert!(ks.snapshot_begin());
        ks.snapshot_step(50, |_, _, _| {});
        ks.dbs[1].set(b"k1", s(b"changed"), &a);
        ks.snapshot_abort();
        assert!(!ks.snapshot_running());
        for db in &ks.dbs {
            db.for_each_live(i64::MIN, |k, _| assert_eq!(db.is_saved(k), Some(true)));
        }
        let expected = model_of(&ks);
        assert!(ks.snapshot_begin());
        let mut got = Model::new();
        while ks.snapshot_step(64, |d, k, e| collect(&mut got, d, k, e)) == Step::More {}
        assert_eq!(got, expected);
    }

    #[test]
    fn access_updates_keep_the_saved_bit() {
        let mut ks = Keyspace::new(1);
        let lru = access(5_000);
        let lfu = Access { now_ms: 5_000, mode: AccessMode::Lfu { log_factor: 10, decay_minutes: 1 }, no_touch: false };
        ks.dbs[0].set(b"k", s(b"v"), &lru);
        assert!(ks.snapshot_begin());
        assert_eq!(ks.dbs[0].is_saved(b"k"), Some(false));
        ks.dbs[0].get(b"k", &lru);
        ks.dbs[0].get(b"k", &lfu);
        assert_eq!(ks.dbs[0].is_saved(b"k"), Some(false), "reads do not save or unmark");
        let entry = ks.dbs[0].peek(b"k", 5_000).map(|e| e.access).unwrap_or(0);
        assert!(crate::shard::db::lfu_decayed(entry, 5_000, 1) <= 255);
        let mut got = Model::new();
        while ks.snapshot_step(10, |d, k, e| collect(&mut got, d, k, e)) == Step::More {}
        assert_eq!(got.len(), 1);
        assert_eq!(ks.dbs[0].is_saved(b"k"), Some(true));
    }
}
