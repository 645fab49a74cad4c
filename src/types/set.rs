//! Set values, with Redis 7.2's three encodings and its conversion rules (`t_set.c`):
//!
//! - `intset`: a sorted `Vec<i64>` while every member is a canonical integer and the set
//!   holds at most `set-max-intset-entries` members;
//! - `listpack`: a small `Vec` of members while the set holds at most
//!   `set-max-listpack-entries` members of at most `set-max-listpack-value` bytes;
//! - `hashtable`: an `IndexSet` otherwise.
//!
//! Conversions happen exactly where Redis makes them (creation with a size hint, adds,
//! SADD's size hint); a set never converts back to a smaller encoding on removal.

use ahash::RandomState;
use bytes::Bytes;
use indexmap::IndexSet;

use super::CompactBytes;
use crate::util::num::{i64_len, parse_canonical_i64, push_i64};

/// The encoding thresholds from the configuration.
#[derive(Debug, Clone, Copy)]
pub struct SetLimits {
    /// `set-max-intset-entries` (capped at 2^30 as Redis's `intsetMaxEntries`).
    pub intset_entries: usize,
    /// `set-max-listpack-entries`.
    pub listpack_entries: usize,
    /// `set-max-listpack-value`.
    pub listpack_value: usize,
}

impl SetLimits {
    /// The limits of `cfg`.
    pub fn from_config(cfg: &crate::config::Config) -> SetLimits {
        SetLimits {
            intset_entries: cfg.set_max_intset_entries().min(1 << 30),
            listpack_entries: cfg.set_max_listpack_entries(),
            listpack_value: cfg.set_max_listpack_value(),
        }
    }
}

/// Per-member bookkeeping counted on top of member bytes in a hashtable.
const HT_ENTRY_OVERHEAD: usize = 16;

/// How the members are stored.
#[derive(Debug, Clone)]
enum Enc {
    IntSet(Vec<i64>),
    Listpack(Vec<CompactBytes>),
    Hashtable(IndexSet<CompactBytes, RandomState>),
}

/// A set value.
#[derive(Debug, Clone)]
pub struct SetValue {
    enc: Enc,
    /// Heap bytes of the members' own allocations (long members), kept for an O(1) `mem_size`.
    member_heap: usize,
}

impl Default for SetValue {
    fn default() -> SetValue {
        SetValue::new_intset()
    }
}

impl PartialEq for SetValue {
    fn eq(&self, other: &SetValue) -> bool {
        self.len() == other.len() && self.iter().all(|m| other.contains_member(&m))
    }
}

/// One member as iteration yields it: an integer of an intset or stored bytes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Member<'a> {
    /// An intset member.
    Int(i64),
    /// A listpack or hashtable member.
    Str(&'a [u8]),
}

impl Member<'_> {
    /// The member's bytes as a new buffer.
    pub fn to_bytes(&self) -> Bytes {
        match self {
            Member::Int(n) => {
                let mut out = Vec::with_capacity(20);
                push_i64(&mut out, *n);
                Bytes::from(out)
            }
            Member::Str(s) => Bytes::copy_from_slice(s),
        }
    }

    /// The member's bytes as an owned vector.
    pub fn to_vec(&self) -> Vec<u8> {
        match self {
            Member::Int(n) => {
                let mut out = Vec::with_capacity(20);
                push_i64(&mut out, *n);
                out
            }
            Member::Str(s) => s.to_vec(),
        }
    }
}

impl SetValue {
    /// An empty intset (what SINTERSTORE and SUNIONSTORE start from).
    pub fn new_intset() -> SetValue {
        SetValue { enc: Enc::IntSet(Vec::new()), member_heap: 0 }
    }

    /// An empty listpack set.
    pub fn new_listpack() -> SetValue {
        SetValue { enc: Enc::Listpack(Vec::new()), member_heap: 0 }
    }

    /// An empty hashtable set with room for `capacity` members.
    pub fn new_hashtable(capacity: usize) -> SetValue {
        let set = IndexSet::with_capacity_and_hasher(capacity.min(1 << 20), RandomState::new());
        SetValue { enc: Enc::Hashtable(set), member_heap: 0 }
    }

    /// An empty set for a first member `first` and about `size_hint` members: Redis's
    /// `setTypeCreate`.
    pub fn create(first: &[u8], size_hint: usize, limits: SetLimits) -> SetValue {
        if parse_canonical_i64(first).is_some() && size_hint <= limits.intset_entries {
            SetValue::new_intset()
        } else if size_hint <= limits.listpack_entries {
            SetValue::new_listpack()
        } else {
            SetValue::new_hashtable(size_hint)
        }
    }

    /// The encoding OBJECT ENCODING reports.
    pub fn encoding(&self) -> &'static str {
        match self.enc {
            Enc::IntSet(_) => "intset",
            Enc::Listpack(_) => "listpack",
            Enc::Hashtable(_) => "hashtable",
        }
    }

    /// Whether the set is stored as an intset.
    pub fn is_intset(&self) -> bool {
        matches!(self.enc, Enc::IntSet(_))
    }

    /// Whether the set is stored as a hashtable.
    pub fn is_hashtable(&self) -> bool {
        matches!(self.enc, Enc::Hashtable(_))
    }

    /// Approximate heap bytes used.
    pub fn mem_size(&self) -> usize {
        let per_member = match &self.enc {
            Enc::IntSet(_) => 8,
            Enc::Listpack(_) => std::mem::size_of::<CompactBytes>(),
            Enc::Hashtable(_) => std::mem::size_of::<CompactBytes>() + HT_ENTRY_OVERHEAD,
        };
        self.len() * per_member + self.member_heap
    }

    /// The number of members.
    pub fn len(&self) -> usize {
        match &self.enc {
            Enc::IntSet(v) => v.len(),
            Enc::Listpack(v) => v.len(),
            Enc::Hashtable(s) => s.len(),
        }
    }

    /// Whether the set has no members.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether `member` is in the set.
    pub fn contains(&self, member: &[u8]) -> bool {
        match &self.enc {
            Enc::IntSet(v) => parse_canonical_i64(member).is_some_and(|n| v.binary_search(&n).is_ok()),
            Enc::Listpack(v) => v.iter().any(|m| m.as_slice() == member),
            Enc::Hashtable(s) => s.contains(member),
        }
    }

    /// Whether `member` (possibly an integer of another set) is in the set.
    pub fn contains_member(&self, member: &Member<'_>) -> bool {
        match (member, &self.enc) {
            (Member::Int(n), Enc::IntSet(v)) => v.binary_search(n).is_ok(),
            (Member::Int(n), _) => {
                let mut buf = Vec::with_capacity(20);
                push_i64(&mut buf, *n);
                self.contains(&buf)
            }
            (Member::Str(s), _) => self.contains(s),
        }
    }

    /// SADD's pre-conversion (`setTypeMaybeConvert`): a set about to receive `size_hint`
    /// members converts to a hashtable when that many would not fit its encoding.
    pub fn maybe_convert(&mut self, size_hint: usize, limits: SetLimits) {
        let convert = match &self.enc {
            Enc::IntSet(_) => size_hint > limits.intset_entries,
            Enc::Listpack(_) => size_hint > limits.listpack_entries,
            Enc::Hashtable(_) => false,
        };
        if convert {
            self.convert_to_hashtable(size_hint);
        }
    }

    /// Adds `member`; true if it was not there (`setTypeAdd`, conversions included).
    pub fn add(&mut self, member: &[u8], limits: SetLimits) -> bool {
        match &mut self.enc {
            Enc::IntSet(v) => {
                if let Some(n) = parse_canonical_i64(member) {
                    match v.binary_search(&n) {
                        Ok(_) => false,
                        Err(pos) => {
                            v.insert(pos, n);
                            if v.len() > limits.intset_entries {
                                self.convert_to_hashtable(0);
                            }
                            true
                        }
                    }
                } else {
                    // Listpack if every member (as text) and the new one fit, else hashtable.
                    let max_len = match (v.first(), v.last()) {
                        (Some(&lo), Some(&hi)) => i64_len(lo).max(i64_len(hi)),
                        _ => 0,
                    };
                    let fits = v.len() < limits.listpack_entries
                        && member.len() <= limits.listpack_value
                        && max_len <= limits.listpack_value;
                    if fits {
                        self.convert_to_listpack();
                    } else {
                        self.convert_to_hashtable(0);
                    }
                    self.push_new(member);
                    true
                }
            }
            Enc::Listpack(v) => {
                if v.iter().any(|m| m.as_slice() == member) {
                    return false;
                }
                if !(v.len() < limits.listpack_entries && member.len() <= limits.listpack_value) {
                    self.convert_to_hashtable(0);
                }
                self.push_new(member);
                true
            }
            Enc::Hashtable(s) => {
                if s.contains(member) {
                    return false;
                }
                self.push_new(member);
                true
            }
        }
    }

    /// Adds `member`, an element of another set, with the same rules as [`SetValue::add`].
    pub fn add_member(&mut self, member: &Member<'_>, limits: SetLimits) -> bool {
        match member {
            Member::Int(n) => {
                if let Enc::IntSet(v) = &mut self.enc {
                    return match v.binary_search(n) {
                        Ok(_) => false,
                        Err(pos) => {
                            v.insert(pos, *n);
                            if v.len() > limits.intset_entries {
                                self.convert_to_hashtable(0);
                            }
                            true
                        }
                    };
                }
                let mut buf = Vec::with_capacity(20);
                push_i64(&mut buf, *n);
                self.add(&buf, limits)
            }
            Member::Str(s) => self.add(s, limits),
        }
    }

    /// Appends a member known to be absent to a listpack or hashtable.
    fn push_new(&mut self, member: &[u8]) {
        let compact = CompactBytes::new(member);
        self.member_heap += compact.heap_size();
        match &mut self.enc {
            Enc::Listpack(v) => v.push(compact),
            Enc::Hashtable(s) => {
                s.insert(compact);
            }
            Enc::IntSet(_) => {}
        }
    }

    /// Removes `member`; true if it was there.
    pub fn remove(&mut self, member: &[u8]) -> bool {
        match &mut self.enc {
            Enc::IntSet(v) => match parse_canonical_i64(member).map(|n| v.binary_search(&n)) {
                Some(Ok(pos)) => {
                    v.remove(pos);
                    true
                }
                _ => false,
            },
            Enc::Listpack(v) => match v.iter().position(|m| m.as_slice() == member) {
                Some(pos) => {
                    let gone = v.remove(pos);
                    self.member_heap = self.member_heap.saturating_sub(gone.heap_size());
                    true
                }
                None => false,
            },
            Enc::Hashtable(s) => match s.swap_remove_full(member) {
                Some((_, gone)) => {
                    self.member_heap = self.member_heap.saturating_sub(gone.heap_size());
                    true
                }
                None => false,
            },
        }
    }

    /// Removes `member`, an element of another set; true if it was there.
    pub fn remove_member(&mut self, member: &Member<'_>) -> bool {
        match (member, &mut self.enc) {
            (Member::Int(n), Enc::IntSet(v)) => match v.binary_search(n) {
                Ok(pos) => {
                    v.remove(pos);
                    true
                }
                Err(_) => false,
            },
            (Member::Int(_), _) => self.remove(&member.to_vec()),
            (Member::Str(s), _) => self.remove(s),
        }
    }

    fn convert_to_listpack(&mut self) {
        if let Enc::IntSet(v) = &self.enc {
            let members: Vec<CompactBytes> = v.iter().map(|n| CompactBytes::new(&Member::Int(*n).to_vec())).collect();
            self.enc = Enc::Listpack(members);
        }
    }

    fn convert_to_hashtable(&mut self, size_hint: usize) {
        let capacity = self.len().max(size_hint).min(1 << 20);
        let mut set: IndexSet<CompactBytes, RandomState> =
            IndexSet::with_capacity_and_hasher(capacity, RandomState::new());
        match std::mem::replace(&mut self.enc, Enc::IntSet(Vec::new())) {
            Enc::IntSet(v) => {
                for n in v {
                    set.insert(CompactBytes::new(&Member::Int(n).to_vec()));
                }
            }
            Enc::Listpack(v) => set.extend(v),
            Enc::Hashtable(s) => set = s,
        }
        self.enc = Enc::Hashtable(set);
    }

    /// The member at position `i` of the encoding's order (`i < len()`).
    pub fn get_index(&self, i: usize) -> Option<Member<'_>> {
        match &self.enc {
            Enc::IntSet(v) => v.get(i).map(|n| Member::Int(*n)),
            Enc::Listpack(v) => v.get(i).map(|m| Member::Str(m.as_slice())),
            Enc::Hashtable(s) => s.get_index(i).map(|m| Member::Str(m.as_slice())),
        }
    }

    /// A random member, or `None` if the set is empty.
    pub fn random_member(&self) -> Option<Member<'_>> {
        let len = self.len();
        if len == 0 {
            return None;
        }
        self.get_index(random_below(len))
    }

    /// Removes and returns a random member.
    pub fn pop_random(&mut self) -> Option<Bytes> {
        let len = self.len();
        if len == 0 {
            return None;
        }
        let i = random_below(len);
        match &mut self.enc {
            Enc::IntSet(v) => Some(Member::Int(v.remove(i)).to_bytes()),
            Enc::Listpack(v) => {
                let gone = v.swap_remove(i);
                self.member_heap = self.member_heap.saturating_sub(gone.heap_size());
                Some(Bytes::copy_from_slice(&gone))
            }
            Enc::Hashtable(s) => {
                let gone = s.swap_remove_index(i)?;
                self.member_heap = self.member_heap.saturating_sub(gone.heap_size());
                Some(Bytes::copy_from_slice(&gone))
            }
        }
    }

    /// Every member, in the encoding's order (sorted for an intset).
    pub fn iter(&self) -> impl Iterator<Item = Member<'_>> + '_ {
        (0..self.len()).filter_map(move |i| self.get_index(i))
    }

    /// `count` distinct random positions (`count < len()`), in random order.
    pub fn random_positions(&self, count: usize) -> Vec<usize> {
        let len = self.len();
        if count.saturating_mul(3) > len {
            // Partial Fisher-Yates over every position.
            let mut positions: Vec<usize> = (0..len).collect();
            for i in 0..count.min(len) {
                let j = i + random_below(len - i);
                positions.swap(i, j);
            }
            positions.truncate(count);
            positions
        } else {
            let mut seen = std::collections::HashSet::with_capacity(count);
            let mut out = Vec::with_capacity(count);
            while out.len() < count {
                let i = random_below(len);
                if seen.insert(i) {
                    out.push(i);
                }
            }
            out
        }
    }

    /// SPOP with a count when most of the set goes (Redis's case 3): keeps `remaining`
    /// random members in a new set (an intset stays an intset; a listpack or hashtable is
    /// rebuilt from a listpack with the usual add rules) and returns the popped members.
    pub fn pop_most(&mut self, remaining: usize, limits: SetLimits) -> Vec<Bytes> {
        let keep = self.random_positions(remaining);
        let mut keep_flags = vec![false; self.len()];
        for &i in &keep {
            keep_flags[i] = true;
        }
        let mut next = match &self.enc {
            Enc::IntSet(_) => SetValue::new_intset(),
            _ => SetValue::new_listpack(),
        };
        for &i in &keep {
            if let Some(m) = self.get_index(i) {
                next.add_member(&m, limits);
            }
        }
        let popped =
            self.iter().zip(keep_flags).filter(|(_, kept)| !kept).map(|(m, _)| m.to_bytes()).collect::<Vec<_>>();
        *self = next;
        popped
    }

    /// One step of SSCAN over a hashtable: visits up to `count` positions below `cursor`
    /// (0 = from the top), returning the next cursor (0 = done). Same guarantee as
    /// `Db::scan`: removal moves only the last member into the hole.
    pub fn scan(&self, cursor: u64, count: usize, mut visit: impl FnMut(Member<'_>)) -> u64 {
        let len = self.len() as u64;
        let mut pos = if cursor == 0 || cursor > len { len } else { cursor };
        let mut steps = 0;
        while pos > 0 && steps < count.max(1) {
            pos -= 1;
            steps += 1;
            if let Some(m) = self.get_index(pos as usize) {
                visit(m);
            }
        }
        pos
    }
}

/// A random number in `0..n` (`n > 0`).
fn random_below(n: usize) -> usize {
    (crate::util::rand_u64() % n as u64) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: SetLimits = SetLimits { intset_entries: 4, listpack_entries: 3, listpack_value: 5 };

    #[test]
    fn intset_to_listpack_to_hashtable() {
        let mut s = SetValue::create(b"3", 1, LIMITS);
        assert_eq!(s.encoding(), "intset");
        assert!(s.add(b"3", LIMITS));
        assert!(s.add(b"1", LIMITS));
        assert!(!s.add(b"1", LIMITS));
        assert_eq!(s.iter().map(|m| m.to_vec()).collect::<Vec<_>>(), vec![b"1".to_vec(), b"3".to_vec()]);
        assert!(s.add(b"abc", LIMITS));
        assert_eq!(s.encoding(), "listpack");
        assert!(s.contains(b"3") && s.contains(b"abc") && !s.contains(b"03"));
        assert!(s.add(b"x", LIMITS));
        assert_eq!(s.encoding(), "hashtable");
        assert_eq!(s.len(), 4);
        assert!(s.remove(b"1"));
        assert!(!s.remove(b"1"));
        assert_eq!(s.len(), 3);
    }

    #[test]
    fn intset_overflow_goes_to_hashtable_and_long_values_too() {
        let mut s = SetValue::create(b"1", 1, LIMITS);
        for n in 1..=5 {
            s.add(n.to_string().as_bytes(), LIMITS);
        }
        assert_eq!(s.encoding(), "hashtable");
        let mut s = SetValue::create(b"1", 1, LIMITS);
        s.add(b"1", LIMITS);
        s.add(b"toolong", LIMITS);
        assert_eq!(s.encoding(), "hashtable");
        let mut s = SetValue::create(b"-123456", 1, LIMITS);
        s.add(b"-123456", LIMITS);
        s.add(b"a", LIMITS);
        assert_eq!(s.encoding(), "hashtable", "intset members longer than the listpack value limit");
    }

    #[test]
    fn pop_and_mem_size() {
        let mut s = SetValue::create(b"a", 1, LIMITS);
        s.add(b"a", LIMITS);
        s.add(b"bb", LIMITS);
        assert!(s.mem_size() > 0);
        let popped = s.pop_most(1, LIMITS);
        assert_eq!(popped.len(), 1);
        assert_eq!(s.len(), 1);
        assert!(s.pop_random().is_some());
        assert!(s.pop_random().is_none());
    }
}
