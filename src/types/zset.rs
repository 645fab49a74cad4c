//! Sorted set values.
//!
//! Members are kept ordered by (score, member bytes), Redis's order, in a chunked sorted
//! vector: `Vec` of chunks of at most [`CHUNK_MAX`] entries. Finding a position is a binary
//! search over the chunks' last entries then inside one chunk (O(log N)); an insert or
//! removal shifts at most one chunk (O(CHUNK_MAX)); a rank is a prefix sum over the chunk
//! lengths (O(N / CHUNK_MAX), about 4000 additions for a million members), as is going to a
//! rank. The `listpack` encoding is that structure alone (member lookup is a linear scan,
//! bounded by `zset-max-listpack-entries`); the `skiplist` encoding adds a member → score
//! hash map for O(1) lookup. That map is insertion-ordered (`IndexMap`) and removal swaps
//! the last entry into the hole, so [`ZSetValue::scan`] keeps Redis's SCAN guarantee the
//! way `Db::scan` does. A set converts to `skiplist` like Redis's: once it has more
//! than `zset-max-listpack-entries` members or a member longer than
//! `zset-max-listpack-value` bytes; it never converts back. Scores are never NaN.
//!
//! Memory: members are [`CompactBytes`] (up to 22 bytes inline, no allocation), one copy
//! in the order and one in the map; two inline copies cost less than one allocation.
//! A full chunk receiving an entry at its end (or start) gets a fresh neighbour instead of
//! being halved (a B-tree's rightmost split), so ascending or descending inserts, the
//! common case (timestamps, counters), fill chunks completely; chunks never grow past
//! [`CHUNK_MAX`] entries, so their capacity never exceeds it either.

use super::CompactBytes;
use ahash::RandomState;
use bytes::Bytes;
use indexmap::IndexMap;
use indexmap::map::Entry as MapEntry;
use std::cmp::Ordering;
use std::mem::size_of;

/// Most entries in one chunk (a power of two: a chunk grown by doubling ends up with
/// exactly this capacity).
const CHUNK_MAX: usize = 256;

/// One entry of the order: score and member.
type Entry = (f64, CompactBytes);
/// A run of consecutive entries in order.
type Chunk = Vec<Entry>;

/// Estimated unused chunk capacity per entry (chunks filled by appends are full, chunks
/// split by inserts in the middle are half to fully used).
const CHUNK_SLACK: usize = 4;
/// Estimated bytes per entry of the member map: the entry (hash, member, score) plus its
/// hash index slot and control byte at a typical load (measured: 100k members, RSS).
const DICT_ENTRY: usize = size_of::<u64>() + size_of::<CompactBytes>() + size_of::<f64>() + 12;
/// Estimated allocator overhead of a member too long to be stored inline.
const HEAP_OVERHEAD: usize = 16;

/// The listpack thresholds (`zset-max-listpack-entries`, `zset-max-listpack-value`).
#[derive(Debug, Clone, Copy)]
pub struct ZSetLimits {
    /// Most members a listpack holds.
    pub max_entries: usize,
    /// Longest member a listpack holds.
    pub max_value: usize,
}

/// Redis's order: by score, then by member bytes.
pub fn cmp_entry(a_score: f64, a_member: &[u8], b_score: f64, b_member: &[u8]) -> Ordering {
    match a_score.partial_cmp(&b_score) {
        Some(Ordering::Equal) | None => a_member.cmp(b_member),
        Some(o) => o,
    }
}

/// Bytes a member costs outside its `CompactBytes`.
fn heap_cost(m: &CompactBytes) -> usize {
    match m.heap_size() {
        0 => 0,
        n => n + HEAP_OVERHEAD,
    }
}

/// Owned bytes of a member leaving the set (a long member's allocation is reused).
fn into_bytes(m: CompactBytes) -> Bytes {
    match m {
        CompactBytes::Heap(b) => Bytes::from(b),
        inline => Bytes::copy_from_slice(&inline),
    }
}

/// A sorted set value.
#[derive(Debug, Clone, Default)]
pub struct ZSetValue {
    chunks: Vec<Chunk>,
    len: usize,
    /// Member → score, present in the `skiplist` encoding only. Insertion-ordered;
    /// removals use `swap_remove` (see [`ZSetValue::scan`]).
    dict: Option<IndexMap<CompactBytes, f64, RandomState>>,
    /// Sum of [`heap_cost`] over the members (one copy).
    heap_bytes: usize,
}

impl PartialEq for ZSetValue {
    fn eq(&self, other: &Self) -> bool {
        self.len == other.len && self.iter().eq(other.iter())
    }
}

impl ZSetValue {
    /// An empty sorted set in the `listpack` encoding.
    pub fn new() -> ZSetValue {
        ZSetValue::default()
    }

    /// The encoding OBJECT ENCODING reports.
    pub fn encoding(&self) -> &'static str {
        if self.dict.is_some() { "skiplist" } else { "listpack" }
    }

    /// Approximate heap bytes used.
    pub fn mem_size(&self) -> usize {
        let order =
            self.len * (size_of::<Entry>() + CHUNK_SLACK) + self.heap_bytes + self.chunks.len() * size_of::<Chunk>();
        match self.dict {
            Some(_) => order + self.len * DICT_ENTRY + self.heap_bytes,
            None => order,
        }
    }

    /// The number of members.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are no members.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The score of `member`.
    pub fn score(&self, member: &[u8]) -> Option<f64> {
        match &self.dict {
            Some(d) => d.get(member).copied(),
            None => self.iter().find(|(_, m)| *m == member).map(|(s, _)| s),
        }
    }

    /// Converts to the skiplist encoding now (a result known to exceed the listpack limits).
    pub fn convert_to_skiplist(&mut self) {
        self.maybe_convert(usize::MAX, usize::MAX, ZSetLimits { max_entries: 0, max_value: 0 });
    }

    /// Converts to the skiplist encoding if a set of `len` members or a member of
    /// `member_len` bytes exceeds the listpack limits.
    fn maybe_convert(&mut self, len: usize, member_len: usize, limits: ZSetLimits) {
        if self.dict.is_none() && (len > limits.max_entries || member_len > limits.max_value) {
            let mut d = IndexMap::with_capacity_and_hasher(self.len + 1, RandomState::new());
            for (s, m) in self.chunks.iter().flatten() {
                d.insert(m.clone(), *s);
            }
            self.dict = Some(d);
        }
    }

    /// Sets `member`'s score (adding it if new): the previous score, if any.
    pub fn insert(&mut self, score: f64, member: &[u8], limits: ZSetLimits) -> Option<f64> {
        self.maybe_convert(self.len + 1, member.len(), limits);
        let key = CompactBytes::new(member);
        let new_member = match &mut self.dict {
            // One hash lookup: the map entry is updated in place once the order agrees.
            Some(d) => match d.entry(key) {
                MapEntry::Occupied(mut e) => {
                    let old = *e.get();
                    if old != score {
                        let Some(m) = remove_ordered(&mut self.chunks, old, member) else { return Some(old) };
                        insert_ordered(&mut self.chunks, score, m);
                        e.insert(score);
                    }
                    return Some(old);
                }
                MapEntry::Vacant(e) => {
                    let new_member = e.key().clone();
                    e.insert(score);
                    new_member
                }
            },
            None => {
                // A listpack stores an integral score as an integer: -0 reads back as 0.
                let score = if score == 0.0 { 0.0 } else { score };
                if let Some(old) = self.score(member) {
                    if old != score
                        && let Some(m) = remove_ordered(&mut self.chunks, old, member)
                    {
                        insert_ordered(&mut self.chunks, score, m);
                    }
                    return Some(old);
                }
                self.heap_bytes += heap_cost(&key);
                self.len += 1;
                insert_ordered(&mut self.chunks, score, key);
                return None;
            }
        };
        self.heap_bytes += heap_cost(&new_member);
        self.len += 1;
        insert_ordered(&mut self.chunks, score, new_member);
        None
    }

    /// Removes `member`: its score, if it was there.
    pub fn remove(&mut self, member: &[u8]) -> Option<f64> {
        let score = self.score(member)?;
        let m = remove_ordered(&mut self.chunks, score, member)?;
        if let Some(d) = &mut self.dict {
            d.swap_remove(member);
        }
        self.heap_bytes -= heap_cost(&m);
        self.len -= 1;
        Some(score)
    }

    /// The 0-based rank of `member` with its score.
    pub fn rank(&self, member: &[u8]) -> Option<(usize, f64)> {
        let score = self.score(member)?;
        let r = self.partition_point(|s, m| cmp_entry(s, m, score, member) == Ordering::Less);
        Some((r, score))
    }

    /// The entry at rank `rank`.
    pub fn get(&self, rank: usize) -> Option<(f64, &[u8])> {
        let (ci, off) = self.locate(rank)?;
        self.chunks.get(ci).and_then(|c| c.get(off)).map(|(s, m)| (*s, m.as_slice()))
    }

    /// Every entry in ascending order.
    pub fn iter(&self) -> impl Iterator<Item = (f64, &[u8])> + '_ {
        self.chunks.iter().flatten().map(|(s, m)| (*s, m.as_slice()))
    }

    /// `count` entries from rank `start`, ascending (`rev == false`) or descending.
    pub fn range(&self, start: usize, count: usize, rev: bool) -> RangeIter<'_> {
        let count = if start < self.len { count.min(if rev { start + 1 } else { self.len - start }) } else { 0 };
        let (ci, off) = self.locate(start).unwrap_or((0, 0));
        RangeIter { z: self, ci, off, remaining: count, rev }
    }

    /// The number of leading entries (in order) for which `pred` holds; `pred` must hold
    /// for a prefix of the order and fail after it.
    pub fn partition_point(&self, pred: impl Fn(f64, &[u8]) -> bool) -> usize {
        let ci = self.chunks.partition_point(|c| c.last().is_some_and(|(s, m)| pred(*s, m)));
        let before: usize = self.chunks[..ci].iter().map(Vec::len).sum();
        match self.chunks.get(ci) {
            Some(c) => before + c.partition_point(|(s, m)| pred(*s, m)),
            None => before,
        }
    }

    /// Removes the `count` entries from rank `start`, returning them in order.
    pub fn remove_range(&mut self, start: usize, count: usize) -> Vec<(f64, Bytes)> {
        let mut out = Vec::with_capacity(count.min(self.len));
        let Some((mut ci, mut off)) = self.locate(start) else { return out };
        let mut remaining = count.min(self.len - start);
        while remaining > 0 && ci < self.chunks.len() {
            let chunk = &mut self.chunks[ci];
            let take = (chunk.len() - off).min(remaining);
            for (s, m) in chunk.drain(off..off + take) {
                if let Some(d) = &mut self.dict {
                    d.swap_remove(m.as_slice());
                }
                self.heap_bytes -= heap_cost(&m);
                out.push((s, into_bytes(m)));
            }
            remaining -= take;
            if chunk.is_empty() {
                self.chunks.remove(ci);
            } else {
                ci += 1;
            }
            off = 0;
        }
        self.len -= out.len();
        out
    }

    /// One step of ZSCAN: in the `skiplist` encoding, visits up to `count` positions of
    /// the member map below `cursor` (0 = start from the top) and returns the next cursor
    /// (0 = done); a `listpack` is visited whole, in order, returning 0 (as Redis does).
    ///
    /// Guarantee (Redis's, same scheme as `Db::scan`): a member present from the start to
    /// the end of a full scan is visited at least once. Positions are walked downward;
    /// adding a member appends it above the start, changing a score keeps its position, and
    /// removing moves the last entry (already visited, or above the start) into the hole.
    pub fn scan(&self, cursor: u64, count: usize, mut visit: impl FnMut(f64, &[u8])) -> u64 {
        let Some(d) = &self.dict else {
            for (s, m) in self.iter() {
                visit(s, m);
            }
            return 0;
        };
        let len = d.len() as u64;
        let mut pos = if cursor == 0 || cursor > len { len } else { cursor };
        let mut steps = 0;
        while pos > 0 && steps < count.max(1) {
            pos -= 1;
            steps += 1;
            if let Some((m, s)) = d.get_index(pos as usize) {
                visit(*s, m);
            }
        }
        pos
    }

    /// (chunk, offset) of rank `rank`.
    fn locate(&self, mut rank: usize) -> Option<(usize, usize)> {
        if rank >= self.len {
            return None;
        }
        for (ci, c) in self.chunks.iter().enumerate() {
            if rank < c.len() {
                return Some((ci, rank));
            }
            rank -= c.len();
        }
        None
    }
}

/// Inserts an entry (not present) in order.
fn insert_ordered(chunks: &mut Vec<Chunk>, score: f64, member: CompactBytes) {
    let less = |s: f64, m: &[u8]| cmp_entry(s, m, score, &member) == Ordering::Less;
    let Some(last) = chunks.len().checked_sub(1) else {
        chunks.push(vec![(score, member)]);
        return;
    };
    // The first chunk whose last entry is not below the new one, or the last chunk.
    let ci = chunks.partition_point(|c| c.last().is_some_and(|(s, m)| less(*s, m))).min(last);
    let chunk = &mut chunks[ci];
    let pos = chunk.partition_point(|(s, m)| less(*s, m));
    if chunk.len() < CHUNK_MAX {
        chunk.insert(pos, (score, member));
        return;
    }
    if pos == chunk.len() {
        // Past the end of the last chunk (appending): a fresh chunk, this one stays full.
        chunks.insert(ci + 1, vec![(score, member)]);
    } else if pos == 0 {
        // Before the start: the end of the previous chunk if it has room, else a fresh one.
        match ci.checked_sub(1).and_then(|p| chunks.get_mut(p)) {
            Some(prev) if prev.len() < CHUNK_MAX => prev.push((score, member)),
            _ => chunks.insert(ci, vec![(score, member)]),
        }
    } else {
        // In the middle: halve it.
        let mut tail = chunk.split_off(CHUNK_MAX / 2);
        if pos <= CHUNK_MAX / 2 {
            chunk.insert(pos, (score, member));
        } else {
            tail.insert(pos - CHUNK_MAX / 2, (score, member));
        }
        chunks.insert(ci + 1, tail);
    }
}

/// Removes the entry (`score`, `member`) from the order: its member, if it was there.
fn remove_ordered(chunks: &mut Vec<Chunk>, score: f64, member: &[u8]) -> Option<CompactBytes> {
    let less = |s: f64, m: &[u8]| cmp_entry(s, m, score, member) == Ordering::Less;
    let ci = chunks.partition_point(|c| c.last().is_some_and(|(s, m)| less(*s, m)));
    let chunk = chunks.get_mut(ci)?;
    let pos = chunk.partition_point(|(s, m)| less(*s, m));
    if chunk.get(pos).is_none_or(|(_, m)| m.as_slice() != member) {
        return None;
    }
    let (_, m) = chunk.remove(pos);
    if chunk.is_empty() {
        chunks.remove(ci);
    }
    Some(m)
}

/// Entries of a rank range, see [`ZSetValue::range`].
pub struct RangeIter<'a> {
    z: &'a ZSetValue,
    ci: usize,
    off: usize,
    remaining: usize,
    rev: bool,
}

impl RangeIter<'_> {
    /// The remaining entries with owned members, all copied into one shared buffer: one
    /// allocation for a reply instead of one per member. (Every member keeps the whole
    /// buffer alive, so this is for replies, not for values kept in a key.)
    pub fn into_owned(self) -> Vec<(f64, Bytes)> {
        let mut spans = Vec::with_capacity(self.remaining);
        let mut buf = Vec::with_capacity(self.remaining * 16);
        for (s, m) in self {
            let start = buf.len();
            buf.extend_from_slice(m);
            spans.push((s, start, buf.len()));
        }
        let buf = Bytes::from(buf);
        spans.into_iter().map(|(s, start, end)| (s, buf.slice(start..end))).collect()
    }
}

impl<'a> Iterator for RangeIter<'a> {
    type Item = (f64, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        if self.remaining == 0 {
            return None;
        }
        let chunk = self.z.chunks.get(self.ci)?;
        let (s, m) = chunk.get(self.off)?;
        self.remaining -= 1;
        if self.rev {
            if self.off == 0 {
                if self.ci == 0 {
                    self.remaining = 0;
                } else {
                    self.ci -= 1;
                    self.off = self.z.chunks[self.ci].len().saturating_sub(1);
                }
            } else {
                self.off -= 1;
            }
        } else {
            self.off += 1;
            if self.off >= chunk.len() {
                self.ci += 1;
                self.off = 0;
            }
        }
        Some((*s, m.as_slice()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: ZSetLimits = ZSetLimits { max_entries: 4, max_value: 5 };

    #[test]
    fn order_rank_and_conversion() {
        let mut z = ZSetValue::new();
        assert_eq!(z.insert(2.0, b"b", LIMITS), None);
        assert_eq!(z.insert(1.0, b"c", LIMITS), None);
        assert_eq!(z.insert(1.0, b"a", LIMITS), None);
        assert_eq!(z.encoding(), "listpack");
        let order: Vec<_> = z.iter().map(|(_, m)| m.to_vec()).collect();
        assert_eq!(order, vec![b"a".to_vec(), b"c".to_vec(), b"b".to_vec()]);
        assert_eq!(z.rank(b"b"), Some((2, 2.0)));
        assert_eq!(z.insert(0.5, b"b", LIMITS), Some(2.0));
        assert_eq!(z.rank(b"b"), Some((0, 0.5)));
        z.insert(3.0, b"toolong", LIMITS);
        assert_eq!(z.encoding(), "skiplist");
        assert_eq!(z.score(b"toolong"), Some(3.0));
        assert_eq!(z.remove(b"a"), Some(1.0));
        assert_eq!(z.len(), 3);
        let rev: Vec<_> = z.range(2, 10, true).map(|(s, _)| s).collect();
        assert_eq!(rev, vec![3.0, 1.0, 0.5]);
    }

    #[test]
    fn scan_keeps_stable_members_despite_churn() {
        let limits = ZSetLimits { max_entries: 16, max_value: 64 };
        let mut z = ZSetValue::new();
        z.insert(1.0, b"a", limits);
        z.insert(2.0, b"b", limits);
        let mut all = Vec::new();
        assert_eq!(z.scan(0, 1, |s, m| all.push((s, m.to_vec()))), 0, "a listpack is visited whole");
        assert_eq!(all, vec![(1.0, b"a".to_vec()), (2.0, b"b".to_vec())]);
        for i in 0..1000 {
            z.insert(f64::from(i), format!("s{i}").as_bytes(), limits);
        }
        assert_eq!(z.encoding(), "skiplist");
        let mut seen = std::collections::HashSet::new();
        let (mut cursor, mut step) = (0, 0);
        loop {
            cursor = z.scan(cursor, 7, |_, m| {
                seen.insert(m.to_vec());
            });
            if cursor == 0 {
                break;
            }
            step += 1;
            z.insert(-f64::from(step), format!("c{step}").as_bytes(), limits);
            z.remove(format!("c{}", step / 2).as_bytes());
            if step % 3 == 0 {
                z.remove_range(0, 1);
            }
        }
        assert!((0..1000).all(|i| seen.contains(format!("s{i}").as_bytes())));
    }

    #[test]
    fn many_members_chunks() {
        let limits = ZSetLimits { max_entries: 128, max_value: 64 };
        let mut z = ZSetValue::new();
        for i in (0..5000).rev() {
            z.insert(f64::from(i % 100), format!("m{i:05}").as_bytes(), limits);
        }
        assert_eq!(z.len(), 5000);
        let mut model: Vec<(f64, String)> = (0..5000).map(|i| (f64::from(i % 100), format!("m{i:05}"))).collect();
        model.sort_by(|a, b| cmp_entry(a.0, a.1.as_bytes(), b.0, b.1.as_bytes()));
        for (r, (s, m)) in model.iter().enumerate().step_by(37) {
            assert_eq!(z.rank(m.as_bytes()), Some((r, *s)));
            assert_eq!(z.get(r).map(|(_, m)| m.to_vec()), Some(m.as_bytes().to_vec()));
        }
        let removed = z.remove_range(100, 1000);
        assert_eq!(removed.len(), 1000);
        model.drain(100..1100);
        assert!(z.iter().map(|(_, m)| m.to_vec()).eq(model.iter().map(|(_, m)| m.as_bytes().to_vec())));
        let back: Vec<_> = z.range(3999, 4000, true).map(|(_, m)| m.to_vec()).collect();
        assert_eq!(back.len(), 4000);
        assert_eq!(back[3999], model[0].1.as_bytes());
    }

    #[test]
    fn ascending_and_descending_inserts_fill_chunks() {
        let limits = ZSetLimits { max_entries: 128, max_value: 64 };
        for descending in [false, true] {
            let mut z = ZSetValue::new();
            for i in 0..10_000 {
                let n = if descending { 10_000 - i } else { i };
                z.insert(f64::from(n), format!("element:{n}").as_bytes(), limits);
            }
            let full = z.chunks.iter().filter(|c| c.len() == CHUNK_MAX && c.capacity() == CHUNK_MAX).count();
            assert_eq!(full, 10_000 / CHUNK_MAX, "descending: {descending}");
            assert_eq!(z.chunks.len(), 10_000usize.div_ceil(CHUNK_MAX));
            assert!(z.iter().zip(z.iter().skip(1)).all(|(a, b)| cmp_entry(a.0, a.1, b.0, b.1) == Ordering::Less));
        }
    }

    #[test]
    fn random_churn_matches_a_model() {
        let limits = ZSetLimits { max_entries: 128, max_value: 30 };
        let mut z = ZSetValue::new();
        let mut model = std::collections::BTreeMap::new();
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for step in 0..20_000 {
            let r = next();
            let id = r % 3000;
            // Some members are too long to be stored inline.
            let member = if id % 7 == 0 { format!("long-member-{id:040}") } else { format!("m{id}") };
            let score = ((r >> 20) % 500) as f64;
            if r >> 60 < 11 {
                let old = z.insert(score, member.as_bytes(), limits);
                assert_eq!(old, model.insert(member, score));
            } else if r >> 60 < 15 {
                assert_eq!(z.remove(member.as_bytes()), model.remove(&member));
            } else {
                let start = (r >> 8) as usize % (z.len() + 1);
                for (s, m) in z.remove_range(start, 5) {
                    assert_eq!(model.remove(std::str::from_utf8(&m).unwrap_or_default()), Some(s));
                }
            }
            assert_eq!(z.len(), model.len());
            assert!(z.chunks.iter().all(|c| !c.is_empty() && c.len() <= CHUNK_MAX && c.capacity() <= CHUNK_MAX));
            if step % 997 == 0 {
                let mut sorted: Vec<(f64, &String)> = model.iter().map(|(m, s)| (*s, m)).collect();
                sorted.sort_by(|a, b| cmp_entry(a.0, a.1.as_bytes(), b.0, b.1.as_bytes()));
                assert!(z.iter().eq(sorted.iter().map(|(s, m)| (*s, m.as_bytes()))));
                for (r, (s, m)) in sorted.iter().enumerate().step_by(13) {
                    assert_eq!(z.rank(m.as_bytes()), Some((r, *s)));
                    assert_eq!(z.score(m.as_bytes()), Some(*s));
                }
                let heap: usize = model.keys().map(|m| if m.len() > 22 { m.len() + HEAP_OVERHEAD } else { 0 }).sum();
                assert_eq!(z.heap_bytes, heap);
            }
        }
        assert_eq!(z.encoding(), "skiplist");
    }
}
