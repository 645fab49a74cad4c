//! Hash values: a compact pair list for small hashes (Redis's `listpack` encoding) that
//! turns into a hash table (`hashtable`) once it grows past `hash-max-listpack-entries`
//! fields or stores a field or value longer than `hash-max-listpack-value` bytes, exactly
//! when Redis 7.0 converts. A hash table never converts back, as in Redis.
//!
//! The pair list keeps insertion order and removes in place, so replies list fields in the
//! order Redis's listpack does. The table removes by swapping the last entry into the hole,
//! which keeps `HashValue::scan_table`'s top-down position cursor safe (see `Db::scan`).

use ahash::RandomState;
use indexmap::IndexMap;

use super::CompactBytes;

/// Bytes per pair of the pair list (two `CompactBytes`).
const LISTPACK_PAIR: usize = 2 * std::mem::size_of::<CompactBytes>();
/// Bytes per entry of the table: the pair, its cached hash and index slot (estimate).
const TABLE_ENTRY: usize = LISTPACK_PAIR + 24;
/// Largest listpack Redis lets grow (`LISTPACK_MAX_SAFETY_SIZE`).
const LISTPACK_MAX_SAFETY_SIZE: usize = 1 << 30;

/// The thresholds of the compact encoding (`hash-max-listpack-entries`, `hash-max-listpack-value`).
#[derive(Debug, Clone, Copy)]
pub struct HashLimits {
    /// Most fields a listpack holds.
    pub max_entries: usize,
    /// Longest field or value a listpack holds.
    pub max_value: usize,
}

#[derive(Debug, Clone)]
enum Repr {
    Listpack(Vec<(CompactBytes, CompactBytes)>),
    Table(IndexMap<CompactBytes, CompactBytes, RandomState>),
}

/// A hash value.
#[derive(Debug, Clone)]
pub struct HashValue {
    repr: Repr,
    /// Sum of the pairs' out-of-line bytes.
    heap: usize,
    /// Sum of the fields' and values' lengths.
    raw: usize,
}

impl Default for HashValue {
    fn default() -> HashValue {
        HashValue { repr: Repr::Listpack(Vec::new()), heap: 0, raw: 0 }
    }
}

impl PartialEq for HashValue {
    fn eq(&self, other: &HashValue) -> bool {
        self.len() == other.len() && self.iter().all(|(f, v)| other.get(f) == Some(v))
    }
}

fn pair_sizes(field: &CompactBytes, value: &CompactBytes) -> (usize, usize) {
    (field.heap_size() + value.heap_size(), field.len() + value.len())
}

impl HashValue {
    /// An empty hash (listpack-encoded).
    pub fn new() -> HashValue {
        HashValue::default()
    }

    /// The encoding OBJECT ENCODING reports.
    pub fn encoding(&self) -> &'static str {
        match self.repr {
            Repr::Listpack(_) => "listpack",
            Repr::Table(_) => "hashtable",
        }
    }

    /// Whether the hash uses the compact encoding.
    pub fn is_listpack(&self) -> bool {
        matches!(self.repr, Repr::Listpack(_))
    }

    /// Approximate heap bytes used.
    pub fn mem_size(&self) -> usize {
        let per_entry = if self.is_listpack() { LISTPACK_PAIR } else { TABLE_ENTRY };
        self.len() * per_entry + self.heap
    }

    /// The number of fields.
    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Listpack(v) => v.len(),
            Repr::Table(m) => m.len(),
        }
    }

    /// Whether the hash has no fields.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The value of `field`.
    pub fn get(&self, field: &[u8]) -> Option<&[u8]> {
        match &self.repr {
            Repr::Listpack(v) => v.iter().find(|(f, _)| &**f == field).map(|(_, v)| &**v),
            Repr::Table(m) => m.get(field).map(|v| &**v),
        }
    }

    /// Whether `field` exists.
    pub fn contains(&self, field: &[u8]) -> bool {
        self.get(field).is_some()
    }

    /// The field and value at position `index` (for random picks).
    pub fn get_index(&self, index: usize) -> Option<(&[u8], &[u8])> {
        match &self.repr {
            Repr::Listpack(v) => v.get(index).map(|(f, v)| (&**f, &**v)),
            Repr::Table(m) => m.get_index(index).map(|(f, v)| (&**f, &**v)),
        }
    }

    /// Every field and value, in the encoding's order.
    pub fn iter(&self) -> Box<dyn Iterator<Item = (&[u8], &[u8])> + '_> {
        match &self.repr {
            Repr::Listpack(v) => Box::new(v.iter().map(|(f, v)| (&**f, &**v))),
            Repr::Table(m) => Box::new(m.iter().map(|(f, v)| (&**f, &**v))),
        }
    }

    /// Converts to the hash table encoding (Redis's `hashTypeConvert`).
    fn convert(&mut self) {
        if let Repr::Listpack(v) = &mut self.repr {
            let pairs = std::mem::take(v);
            let mut map = IndexMap::with_capacity_and_hasher(pairs.len(), RandomState::new());
            map.extend(pairs);
            self.repr = Repr::Table(map);
        }
    }

    /// Redis's `hashTypeTryConversion` before HSET/HMSET/HSETNX store `args` (fields and
    /// values): converts if any is longer than the value limit, or if the listpack would
    /// pass its safety size.
    pub fn try_conversion<'a>(&mut self, args: impl IntoIterator<Item = &'a [u8]>, limits: HashLimits) {
        if !self.is_listpack() {
            return;
        }
        let mut sum = 0usize;
        for arg in args {
            if arg.len() > limits.max_value {
                self.convert();
                return;
            }
            sum = sum.saturating_add(arg.len());
        }
        if self.raw.saturating_add(sum) > LISTPACK_MAX_SAFETY_SIZE {
            self.convert();
        }
    }

    /// Sets `field` to `value` (Redis's `hashTypeSet`, conversions included); true if the
    /// field is new.
    pub fn set(&mut self, field: &[u8], value: &[u8], limits: HashLimits) -> bool {
        if self.is_listpack() && (field.len() > limits.max_value || value.len() > limits.max_value) {
            self.convert();
        }
        let new_value = CompactBytes::new(value);
        let created = match &mut self.repr {
            Repr::Listpack(v) => match v.iter_mut().find(|(f, _)| &**f == field) {
                Some((_, old)) => {
                    let old = std::mem::replace(old, new_value.clone());
                    self.heap = self.heap.saturating_sub(old.heap_size());
                    self.raw = self.raw.saturating_sub(old.len());
                    false
                }
                None => {
                    let field = CompactBytes::new(field);
                    self.heap += field.heap_size();
                    self.raw += field.len();
                    v.push((field, new_value.clone()));
                    true
                }
            },
            Repr::Table(m) => match m.get_mut(field) {
                Some(old) => {
                    let old = std::mem::replace(old, new_value.clone());
                    self.heap = self.heap.saturating_sub(old.heap_size());
                    self.raw = self.raw.saturating_sub(old.len());
                    false
                }
                None => {
                    let field = CompactBytes::new(field);
                    self.heap += field.heap_size();
                    self.raw += field.len();
                    m.insert(field, new_value.clone());
                    true
                }
            },
        };
        self.heap += new_value.heap_size();
        self.raw += new_value.len();
        if self.is_listpack() && self.len() > limits.max_entries {
            self.convert();
        }
        created
    }

    /// Removes `field`; true if it existed.
    pub fn remove(&mut self, field: &[u8]) -> bool {
        let removed = match &mut self.repr {
            Repr::Listpack(v) => v.iter().position(|(f, _)| &**f == field).map(|i| v.remove(i)),
            Repr::Table(m) => m.swap_remove_entry(field),
        };
        match removed {
            Some((f, v)) => {
                let (heap, raw) = pair_sizes(&f, &v);
                self.heap = self.heap.saturating_sub(heap);
                self.raw = self.raw.saturating_sub(raw);
                true
            }
            None => false,
        }
    }

    /// One step of HSCAN over a hash table: visits up to `count` positions below `cursor`
    /// (0 = start from the top), returns the next cursor (0 = done). Same guarantee and
    /// scheme as `Db::scan`. A listpack is visited whole, returning 0.
    pub fn scan(&self, cursor: u64, count: usize, mut visit: impl FnMut(&[u8], &[u8])) -> u64 {
        match &self.repr {
            Repr::Listpack(v) => {
                for (f, val) in v {
                    visit(f, val);
                }
                0
            }
            Repr::Table(m) => {
                let len = m.len() as u64;
                let mut pos = if cursor == 0 || cursor > len { len } else { cursor };
                let mut steps = 0;
                while pos > 0 && steps < count.max(1) {
                    pos -= 1;
                    steps += 1;
                    if let Some((f, val)) = m.get_index(pos as usize) {
                        visit(f, val);
                    }
                }
                pos
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: HashLimits = HashLimits { max_entries: 4, max_value: 8 };

    #[test]
    fn converts_on_entries_and_lengths_and_tracks_bytes() {
        let mut h = HashValue::new();
        for i in 0..4 {
            assert!(h.set(format!("f{i}").as_bytes(), b"v", LIMITS));
        }
        assert_eq!(h.encoding(), "listpack");
        assert!(!h.set(b"f0", b"w", LIMITS));
        assert_eq!(h.get(b"f0"), Some(&b"w"[..]));
        assert!(h.set(b"f4", b"v", LIMITS));
        assert_eq!(h.encoding(), "hashtable");
        for i in 0..5 {
            assert!(h.remove(format!("f{i}").as_bytes()));
        }
        assert_eq!(h.encoding(), "hashtable");
        assert_eq!((h.heap, h.raw, h.mem_size()), (0, 0, 0));

        let mut h = HashValue::new();
        h.set(b"a", b"123456789", LIMITS);
        assert_eq!(h.encoding(), "hashtable");
        let mut h = HashValue::new();
        h.try_conversion([&b"a"[..], &b"123456789"[..]], LIMITS);
        assert_eq!(h.encoding(), "hashtable");

        let long = [b'x'; 100];
        let mut h = HashValue::new();
        h.set(b"k", &long, HashLimits { max_entries: 4, max_value: 1000 });
        assert_eq!(h.raw, 101);
        assert_eq!(h.heap, 100);
        h.set(b"k", b"s", LIMITS);
        assert_eq!((h.raw, h.heap), (2, 0));
    }

    #[test]
    fn table_scan_visits_all() {
        let mut h = HashValue::new();
        for i in 0..100 {
            h.set(format!("f{i}").as_bytes(), b"v", LIMITS);
        }
        let mut seen = 0;
        let mut cursor = 0;
        loop {
            cursor = h.scan(cursor, 7, |_, _| seen += 1);
            if cursor == 0 {
                break;
            }
        }
        assert_eq!(seen, 100);
    }
}
