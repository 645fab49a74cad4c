//! The script cache: scripts by SHA1, EVAL-only ones in a bounded LRU.
//!
//! Scripts loaded with SCRIPT LOAD are pinned until SCRIPT FLUSH. Scripts only ever seen by
//! EVAL live in an LRU of at most [`EVAL_SCRIPTS_MAX`] entries (as Redis 7.4 does), so EVAL
//! of endlessly many distinct scripts does not grow memory without bound. A pinned script
//! never enters the LRU; SCRIPT LOAD of a script in the LRU takes it out and pins it.

use indexmap::IndexMap;
use std::collections::HashMap;

/// How many EVAL-only scripts are kept (Redis 7.4's `LRU_LIST_LENGTH`).
pub const EVAL_SCRIPTS_MAX: usize = 500;

/// One cached script: its compiled form and the size of its body.
#[derive(Debug)]
pub struct Entry<T> {
    pub value: T,
    pub body_len: usize,
    pub pinned: bool,
}

/// Cached scripts by lowercase hex SHA1.
#[derive(Debug)]
pub struct ScriptCache<T> {
    entries: HashMap<String, Entry<T>, ahash::RandomState>,
    /// EVAL-only scripts, least recently used first.
    lru: IndexMap<String, ()>,
    capacity: usize,
    body_bytes: usize,
}

impl<T> Default for ScriptCache<T> {
    fn default() -> Self {
        ScriptCache::with_capacity(EVAL_SCRIPTS_MAX)
    }
}

impl<T> ScriptCache<T> {
    /// A cache keeping at most `capacity` EVAL-only scripts.
    pub fn with_capacity(capacity: usize) -> Self {
        ScriptCache { entries: HashMap::default(), lru: IndexMap::new(), capacity: capacity.max(1), body_bytes: 0 }
    }

    /// The script with this SHA, marking an EVAL-only one as recently used.
    pub fn get(&mut self, sha: &str) -> Option<&T> {
        let entry = self.entries.get(sha)?;
        if !entry.pinned
            && let Some(index) = self.lru.get_index_of(sha)
        {
            let last = self.lru.len() - 1;
            self.lru.move_index(index, last);
        }
        Some(&entry.value)
    }

    /// The script with this SHA, without touching the LRU.
    pub fn peek(&self, sha: &str) -> Option<&T> {
        self.entries.get(sha).map(|e| &e.value)
    }

    /// Whether a script with this SHA is cached (no LRU update, as SCRIPT EXISTS).
    pub fn contains(&self, sha: &str) -> bool {
        self.entries.contains_key(sha)
    }

    /// Adds a script. `pinned` for SCRIPT LOAD (kept until flush); otherwise it enters the LRU,
    /// evicting the least recently used EVAL-only script when the LRU is full. Adding a script
    /// already cached only updates its pinning and recency; the value is not replaced.
    /// Returns the SHAs evicted.
    pub fn insert(&mut self, sha: String, value: T, body_len: usize, pinned: bool) -> Vec<String> {
        if let Some(entry) = self.entries.get_mut(&sha) {
            if pinned && !entry.pinned {
                entry.pinned = true;
                self.lru.shift_remove(&sha);
            } else if !entry.pinned
                && let Some(index) = self.lru.get_index_of(&sha)
            {
                let last = self.lru.len() - 1;
                self.lru.move_index(index, last);
            }
            return Vec::new();
        }
        let mut evicted = Vec::new();
        if !pinned {
            while self.lru.len() >= self.capacity {
                let Some((old, ())) = self.lru.shift_remove_index(0) else { break };
                if let Some(entry) = self.entries.remove(&old) {
                    self.body_bytes -= entry.body_len;
                }
                evicted.push(old);
            }
            self.lru.insert(sha.clone(), ());
        }
        self.body_bytes += body_len;
        self.entries.insert(sha, Entry { value, body_len, pinned });
        evicted
    }

    /// Pins a cached script (SCRIPT LOAD of a script EVAL already cached).
    pub fn pin(&mut self, sha: &str) -> bool {
        match self.entries.get_mut(sha) {
            Some(entry) => {
                entry.pinned = true;
                self.lru.shift_remove(sha);
                true
            }
            None => false,
        }
    }

    /// Number of cached scripts.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no script is cached.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Number of EVAL-only scripts (in the LRU).
    pub fn eval_len(&self) -> usize {
        self.lru.len()
    }

    /// Total size of the cached bodies (for INFO's `used_memory_scripts`-style figures).
    pub fn body_bytes(&self) -> usize {
        self.body_bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eval_scripts_are_bounded_lru() {
        let mut c = ScriptCache::with_capacity(3);
        for i in 0..3 {
            assert!(c.insert(format!("s{i}"), i, 10, false).is_empty());
        }
        assert_eq!(c.get("s0"), Some(&0)); // s0 becomes most recent
        assert_eq!(c.insert("s3".into(), 3, 10, false), vec!["s1".to_string()]);
        assert!(!c.contains("s1"));
        assert!(c.contains("s0") && c.contains("s2") && c.contains("s3"));
        assert_eq!(c.len(), 3);
        assert_eq!(c.body_bytes(), 30);
        for i in 4..1000 {
            c.insert(format!("s{i}"), i, 10, false);
        }
        assert_eq!(c.len(), 3);
        assert_eq!(c.eval_len(), 3);
    }

    #[test]
    fn loaded_scripts_are_pinned() {
        let mut c = ScriptCache::with_capacity(2);
        c.insert("loaded".into(), 0, 1, true);
        c.insert("e1".into(), 1, 1, false);
        c.insert("e2".into(), 2, 1, false);
        assert!(c.pin("e1"));
        assert_eq!(c.eval_len(), 1);
        for i in 0..10 {
            c.insert(format!("x{i}"), i, 1, false);
        }
        assert!(c.contains("loaded") && c.contains("e1") && !c.contains("e2"));
        assert_eq!(c.len(), 4);
        // SCRIPT LOAD of an EVAL-cached script pins it.
        c.insert("x9".into(), 99, 1, true);
        assert_eq!(c.eval_len(), 1);
        assert_eq!(c.get("x9"), Some(&9));
    }
}
