//! WATCH: which clients watch which keys of one database, and marking them when a key
//! changes.
//!
//! A client's WATCH leaves its flag (shared by every key it watches, on every shard)
//! under each watched key of the key's shard. Anything that changes a key — a command
//! (every change records a keyspace event through [`crate::shard::KeyCtx::notify`], which
//! also touches watchers), expiry, FLUSHDB/FLUSHALL, SWAPDB — sets the flags of its
//! watchers; EXEC then fails for them. Clearing the map when nobody watches costs one
//! emptiness check per change.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::db::Key;

/// A client's "a watched key changed" flag.
pub type WatchFlag = Arc<AtomicBool>;

/// One database's watched keys.
#[derive(Default)]
pub struct WatchedKeys {
    flags: HashMap<Key, Vec<WatchFlag>, ahash::RandomState>,
    /// Keys changed in a temporary keyspace (a cross-shard command gathers its keys into
    /// one), to touch on their own shards afterwards; `None` in a shard's own databases.
    recorded: Option<Vec<Key>>,
}

impl WatchedKeys {
    /// A map that records the keys touched instead of marking watchers.
    pub fn recording() -> WatchedKeys {
        WatchedKeys { flags: HashMap::default(), recorded: Some(Vec::new()) }
    }

    /// Marks the watchers of `key` (a change to it).
    #[inline]
    pub fn touch(&mut self, key: &[u8]) {
        if let Some(recorded) = &mut self.recorded {
            if !recorded.iter().any(|k| &k[..] == key) {
                recorded.push(key.into());
            }
            return;
        }
        if self.flags.is_empty() {
            return;
        }
        if let Some(flags) = self.flags.get(key) {
            for flag in flags {
                flag.store(true, Ordering::Release);
            }
        }
    }

    /// Marks every watcher of this database (FLUSHDB, SWAPDB).
    pub fn touch_all(&mut self) {
        for flags in self.flags.values() {
            for flag in flags {
                flag.store(true, Ordering::Release);
            }
        }
    }

    /// The keys a recording map saw changed.
    pub fn take_recorded(&mut self) -> Vec<Key> {
        self.recorded.as_mut().map(std::mem::take).unwrap_or_default()
    }

    /// Adds `flag` as a watcher of `key`.
    pub fn watch(&mut self, key: &[u8], flag: &WatchFlag) {
        let flags = self.flags.entry(key.into()).or_default();
        if !flags.iter().any(|f| Arc::ptr_eq(f, flag)) {
            flags.push(flag.clone());
        }
    }

    /// Removes `flag` from the watchers of `key`.
    pub fn unwatch(&mut self, key: &[u8], flag: &WatchFlag) {
        if let Some(flags) = self.flags.get_mut(key) {
            flags.retain(|f| !Arc::ptr_eq(f, flag));
            if flags.is_empty() {
                self.flags.remove(key);
            }
        }
    }

    /// The number of keys somebody watches (INFO `watching_keys`-style counts).
    pub fn len(&self) -> usize {
        self.flags.len()
    }

    /// Whether nobody watches a key of this database.
    pub fn is_empty(&self) -> bool {
        self.flags.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn touching_marks_only_the_watchers_of_that_key() {
        let mut w = WatchedKeys::default();
        let (a, b) = (WatchFlag::default(), WatchFlag::default());
        w.watch(b"k", &a);
        w.watch(b"j", &b);
        w.touch(b"other");
        assert!(!a.load(Ordering::Acquire) && !b.load(Ordering::Acquire));
        w.touch(b"k");
        assert!(a.load(Ordering::Acquire) && !b.load(Ordering::Acquire));
        w.unwatch(b"j", &b);
        w.touch_all();
        assert!(!b.load(Ordering::Acquire));
        assert_eq!(w.len(), 1);
        let mut r = WatchedKeys::recording();
        r.touch(b"x");
        r.touch(b"x");
        assert_eq!(r.take_recorded(), vec![Key::from(&b"x"[..])]);
    }
}
