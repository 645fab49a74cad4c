//! List values: a deque of compact byte blocks.
//!
//! Elements are packed into blocks of at most [`BLOCK_CAP`] bytes (a single larger element
//! gets a block of its own). Each element is stored as a forward varint length, its bytes,
//! and the same varint written backwards, so a block can be walked from either end. A block
//! keeps a gap at its front (`start`) so pushes and pops at the head are O(1) too. Index and
//! range operations skip whole blocks by their element counts.
//!
//! The encoding OBJECT ENCODING reports follows Redis 7.2: `listpack` while the list would
//! fit one listpack within `list-max-listpack-size`, `quicklist` after it grew past that,
//! and back to `listpack` once it shrinks to half the limit. The listpack size is estimated
//! with Redis's entry sizes, kept up to date in O(1) per change.

use std::collections::VecDeque;

/// Bytes per block (a single larger element gets its own block).
const BLOCK_CAP: usize = 4096;
/// Bookkeeping bytes counted per block for memory accounting.
const BLOCK_OVERHEAD: usize = 48;
/// A listpack's header and end bytes.
const LP_HEADER: usize = 7;

#[derive(Debug, Clone, Default)]
struct Block {
    /// Element bytes live at `buf[start..]`; `buf[..start]` is free room for head pushes.
    buf: Vec<u8>,
    start: usize,
    count: usize,
}

fn varint_len(mut n: usize) -> usize {
    let mut len = 1;
    while n >= 0x80 {
        n >>= 7;
        len += 1;
    }
    len
}

fn write_varint(out: &mut Vec<u8>, mut n: usize) {
    while n >= 0x80 {
        out.push((n as u8 & 0x7f) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// Encoded size of an element of `len` bytes.
fn enc_len(len: usize) -> usize {
    2 * varint_len(len) + len
}

/// Appends the encoding of `data` to `out`.
fn encode(out: &mut Vec<u8>, data: &[u8]) {
    let mark = out.len();
    write_varint(out, data.len());
    let header_end = out.len();
    out.extend_from_slice(data);
    for i in (mark..header_end).rev() {
        let b = out[i];
        out.push(b);
    }
}

/// Reads a forward varint at `pos`: (value, bytes used).
fn read_fwd(buf: &[u8], pos: usize) -> (usize, usize) {
    let mut n = 0usize;
    let mut shift = 0;
    let mut i = pos;
    loop {
        let b = buf[i];
        n |= ((b & 0x7f) as usize) << shift;
        i += 1;
        if b & 0x80 == 0 {
            return (n, i - pos);
        }
        shift += 7;
    }
}

/// Reads a backward varint ending just before `end`: (value, bytes used).
fn read_back(buf: &[u8], end: usize) -> (usize, usize) {
    let mut n = 0usize;
    let mut shift = 0;
    let mut i = end;
    loop {
        i -= 1;
        let b = buf[i];
        n |= ((b & 0x7f) as usize) << shift;
        if b & 0x80 == 0 {
            return (n, end - i);
        }
        shift += 7;
    }
}

impl Block {
    fn used(&self) -> usize {
        self.buf.len() - self.start
    }

    /// The element starting at byte `pos` and the position of the next one.
    fn entry_at(&self, pos: usize) -> (&[u8], usize) {
        let (len, h) = read_fwd(&self.buf, pos);
        let data_start = pos + h;
        (&self.buf[data_start..data_start + len], data_start + len + h)
    }

    /// The element ending at byte `end` and its start position.
    fn entry_before(&self, end: usize) -> (&[u8], usize) {
        let (len, h) = read_back(&self.buf, end);
        let data_end = end - h;
        (&self.buf[data_end - len..data_end], data_end - len - h)
    }

    /// Byte offset of element `i` (counting from the nearer end).
    fn offset_of(&self, i: usize) -> usize {
        if i <= self.count / 2 {
            let mut pos = self.start;
            for _ in 0..i {
                pos = self.entry_at(pos).1;
            }
            pos
        } else {
            let mut pos = self.buf.len();
            for _ in i..self.count {
                pos = self.entry_before(pos).1;
            }
            pos
        }
    }

    fn push_back(&mut self, data: &[u8]) {
        let want = self.buf.len() + enc_len(data.len());
        if want > self.buf.capacity() {
            // Double, but never past one block: Vec's own doubling would leave a full
            // 4 KiB block in an allocation of up to 8 KiB.
            let cap = (self.buf.capacity() * 2).clamp(64, BLOCK_CAP).max(want);
            self.buf.reserve_exact(cap - self.buf.len());
        }
        encode(&mut self.buf, data);
        self.count += 1;
    }

    fn push_front(&mut self, data: &[u8]) {
        let need = enc_len(data.len());
        if self.start < need {
            let used = self.used();
            let gap = (used + need).max(64).min(BLOCK_CAP.saturating_sub(used)).max(need);
            let mut buf = Vec::with_capacity(gap + used);
            buf.resize(gap, 0);
            buf.extend_from_slice(&self.buf[self.start..]);
            self.buf = buf;
            self.start = gap;
        }
        let mut tmp = Vec::with_capacity(need);
        encode(&mut tmp, data);
        self.start -= need;
        self.buf[self.start..self.start + need].copy_from_slice(&tmp);
        self.count += 1;
    }

    fn iter(&self) -> BlockIter<'_> {
        BlockIter { block: self, front: self.start, back: self.buf.len() }
    }
}

struct BlockIter<'a> {
    block: &'a Block,
    front: usize,
    back: usize,
}

impl<'a> Iterator for BlockIter<'a> {
    type Item = &'a [u8];
    fn next(&mut self) -> Option<&'a [u8]> {
        if self.front >= self.back {
            return None;
        }
        let (data, next) = self.block.entry_at(self.front);
        self.front = next;
        Some(data)
    }
}

impl DoubleEndedIterator for BlockIter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        if self.front >= self.back {
            return None;
        }
        let (data, prev) = self.block.entry_before(self.back);
        self.back = prev;
        Some(data)
    }
}

/// Size of `data` as a listpack entry (Redis's encodings: small integers packed, strings
/// with a 1, 2 or 5 byte header, plus the back length).
fn lp_entry_size(data: &[u8]) -> usize {
    if data.len() <= 20
        && let Some(v) = crate::util::num::parse_canonical_i64(data)
    {
        let enc = if (0..=127).contains(&v) {
            1
        } else if (-4096..=4095).contains(&v) {
            2
        } else if i16::try_from(v).is_ok() {
            3
        } else if (-(1 << 23)..(1 << 23)).contains(&v) {
            4
        } else if i32::try_from(v).is_ok() {
            5
        } else {
            9
        };
        return enc + 1;
    }
    let len = data.len();
    let enc = if len < 64 {
        1 + len
    } else if len < 4096 {
        2 + len
    } else {
        5 + len
    };
    let back = if enc <= 127 {
        1
    } else if enc < 16383 {
        2
    } else if enc < 2_097_151 {
        3
    } else if enc < 268_435_455 {
        4
    } else {
        5
    };
    enc + back
}

/// Redis's `quicklistNodeLimit`: (size limit, count limit) for `list-max-listpack-size`.
fn node_limit(fill: i32) -> (usize, usize) {
    if fill >= 0 {
        (usize::MAX, if fill == 0 { 1 } else { fill as usize })
    } else {
        let sizes = [4096usize, 8192, 16384, 32768, 65536];
        let i = ((-(fill as i64)) - 1).clamp(0, 4) as usize;
        (sizes[i], usize::MAX)
    }
}

/// Redis's `quicklistNodeExceedsLimit`.
fn exceeds_limit(fill: i32, size: usize, count: usize) -> bool {
    let (sz, cnt) = node_limit(fill);
    if sz != usize::MAX { size > sz } else { size > 8192 || count > cnt }
}

/// A list value.
#[derive(Debug, Clone, Default)]
pub struct ListValue {
    blocks: VecDeque<Block>,
    len: usize,
    /// Sum of the blocks' buffer lengths.
    bytes: usize,
    /// Estimated size as one listpack.
    lp_bytes: usize,
    /// Whether the list is `quicklist`-encoded.
    quick: bool,
}

impl PartialEq for ListValue {
    fn eq(&self, other: &ListValue) -> bool {
        self.len == other.len && self.iter().eq(other.iter())
    }
}

impl ListValue {
    /// An empty list.
    pub fn new() -> ListValue {
        ListValue::default()
    }

    /// The encoding OBJECT ENCODING reports.
    pub fn encoding(&self) -> &'static str {
        if self.quick { "quicklist" } else { "listpack" }
    }

    /// Approximate heap bytes used.
    pub fn mem_size(&self) -> usize {
        self.bytes + self.blocks.len() * BLOCK_OVERHEAD + self.blocks.capacity() * std::mem::size_of::<Block>()
    }

    /// The number of elements.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the list has no elements.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Redis's `listTypeTryConvertListpack`: before adding elements of `add_bytes` total
    /// length and `add_count` in number, switches to `quicklist` if the listpack would
    /// exceed `list-max-listpack-size`.
    pub fn grow_check(&mut self, fill: i32, add_bytes: usize, add_count: usize) {
        let size = self.lp_bytes_now() + add_bytes;
        if !self.quick && exceeds_limit(fill, size, self.len + add_count) {
            self.quick = true;
        }
    }

    /// Redis's `listTypeTryConvertQuicklist` after a removal: back to `listpack` once the
    /// list fits half the limit.
    pub fn shrink_check(&mut self, fill: i32) {
        if !self.quick {
            return;
        }
        let (sz, cnt) = node_limit(fill);
        let size = self.lp_bytes_now();
        if size <= sz / 2 && self.len <= cnt / 2 {
            self.quick = false;
        }
    }

    fn lp_bytes_now(&self) -> usize {
        self.lp_bytes + LP_HEADER
    }

    fn added(&mut self, data: &[u8]) {
        self.len += 1;
        self.lp_bytes += lp_entry_size(data);
    }

    /// Appends `data` at the tail.
    pub fn push_back(&mut self, data: &[u8]) {
        let need = enc_len(data.len());
        match self.blocks.back_mut() {
            Some(b) if b.used() + need <= BLOCK_CAP => b.push_back(data),
            _ => {
                // A list that filled a block will likely fill the next one too.
                let capacity = if self.blocks.is_empty() { need } else { BLOCK_CAP.max(need) };
                let mut b = Block { buf: Vec::with_capacity(capacity), start: 0, count: 0 };
                b.push_back(data);
                self.blocks.push_back(b);
            }
        }
        self.bytes += need;
        self.added(data);
    }

    /// Prepends `data` at the head.
    pub fn push_front(&mut self, data: &[u8]) {
        let need = enc_len(data.len());
        let before = self.blocks.front().map_or(0, |b| b.buf.len());
        match self.blocks.front_mut() {
            Some(b) if b.used() + need <= BLOCK_CAP => {
                b.push_front(data);
                let after = b.buf.len();
                self.bytes = self.bytes + after - before;
            }
            _ => {
                let mut b = Block::default();
                b.push_back(data);
                self.bytes += b.buf.len();
                self.blocks.push_front(b);
            }
        }
        self.added(data);
    }

    /// Removes and returns the head element.
    pub fn pop_front(&mut self) -> Option<Vec<u8>> {
        let b = self.blocks.front_mut()?;
        let (data, next) = b.entry_at(b.start);
        let out = data.to_vec();
        b.start = next;
        b.count -= 1;
        if b.count == 0
            && let Some(b) = self.blocks.pop_front()
        {
            self.bytes -= b.buf.len();
        }
        self.len -= 1;
        self.lp_bytes -= lp_entry_size(&out);
        Some(out)
    }

    /// Removes and returns the tail element.
    pub fn pop_back(&mut self) -> Option<Vec<u8>> {
        let b = self.blocks.back_mut()?;
        let end = b.buf.len();
        let (data, prev) = b.entry_before(end);
        let out = data.to_vec();
        b.buf.truncate(prev);
        b.count -= 1;
        let empty = b.count == 0;
        self.bytes -= end - prev;
        if empty && let Some(b) = self.blocks.pop_back() {
            self.bytes -= b.buf.len();
        }
        self.len -= 1;
        self.lp_bytes -= lp_entry_size(&out);
        Some(out)
    }

    /// (block index, element index within it) of list index `i` (< len).
    fn locate(&self, mut i: usize) -> (usize, usize) {
        if i < self.len / 2 {
            for (bi, b) in self.blocks.iter().enumerate() {
                if i < b.count {
                    return (bi, i);
                }
                i -= b.count;
            }
        } else {
            let mut from_end = self.len - i;
            for bi in (0..self.blocks.len()).rev() {
                let c = self.blocks[bi].count;
                if from_end <= c {
                    return (bi, c - from_end);
                }
                from_end -= c;
            }
        }
        (0, 0)
    }

    /// Element `i` (0-based from the head).
    pub fn get(&self, i: usize) -> Option<&[u8]> {
        if i >= self.len {
            return None;
        }
        let (bi, ei) = self.locate(i);
        let b = &self.blocks[bi];
        Some(b.entry_at(b.offset_of(ei)).0)
    }

    /// Rebuilds block `bi` with element `ei` replaced (`Some`) or a new element inserted
    /// before it (`insert`), splitting it if it grows past the cap.
    fn rebuild_block(&mut self, bi: usize, ei: usize, data: &[u8], insert: bool) {
        let old = &self.blocks[bi];
        let mut items: Vec<&[u8]> = old.iter().collect();
        if insert {
            items.insert(ei, data);
        } else {
            items[ei] = data;
        }
        let mut new_blocks = Vec::new();
        let mut cur = Block::default();
        for item in items {
            if cur.count > 0 && cur.used() + enc_len(item.len()) > BLOCK_CAP {
                new_blocks.push(std::mem::take(&mut cur));
            }
            cur.push_back(item);
        }
        if cur.count > 0 {
            new_blocks.push(cur);
        }
        let old_len = self.blocks[bi].buf.len();
        let new_len: usize = new_blocks.iter().map(|b| b.buf.len()).sum();
        self.bytes = self.bytes + new_len - old_len;
        self.blocks.remove(bi);
        for (k, b) in new_blocks.into_iter().enumerate() {
            self.blocks.insert(bi + k, b);
        }
    }

    /// Replaces element `i`; false if out of range.
    pub fn set(&mut self, i: usize, data: &[u8]) -> bool {
        let Some(old) = self.get(i) else { return false };
        let old_lp = lp_entry_size(old);
        let (bi, ei) = self.locate(i);
        self.rebuild_block(bi, ei, data, false);
        self.lp_bytes = self.lp_bytes - old_lp + lp_entry_size(data);
        true
    }

    /// Inserts `data` before element `i` (`i == len` appends).
    pub fn insert(&mut self, i: usize, data: &[u8]) {
        if i >= self.len {
            self.push_back(data);
        } else if i == 0 {
            self.push_front(data);
        } else {
            let (bi, ei) = self.locate(i);
            self.rebuild_block(bi, ei, data, true);
            self.added(data);
        }
    }

    /// Every element from the head.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &[u8]> + '_ {
        self.blocks.iter().flat_map(|b| b.iter())
    }

    /// Elements `start..=end` (both < len, start <= end), from the head.
    pub fn range(&self, start: usize, end: usize) -> impl Iterator<Item = &[u8]> + '_ {
        let (bi, ei) = if start < self.len { self.locate(start) } else { (self.blocks.len(), 0) };
        self.blocks.iter().skip(bi).flat_map(|b| b.iter()).skip(ei).take(end + 1 - start)
    }

    /// Removes `front` elements from the head and `back` from the tail.
    pub fn trim(&mut self, front: usize, back: usize) {
        for _ in 0..front.min(self.len) {
            self.drop_front();
        }
        for _ in 0..back.min(self.len) {
            self.pop_back();
        }
    }

    fn drop_front(&mut self) {
        drop(self.pop_front());
    }

    /// Removes elements equal to `value`: all of them (`count == 0`), the first `count`
    /// (`count > 0`) or the last `-count`. Returns how many were removed.
    pub fn remove_matching(&mut self, value: &[u8], count: i64) -> usize {
        let limit = if count == 0 { usize::MAX } else { count.unsigned_abs().min(usize::MAX as u64) as usize };
        // Indices (from the head) of the elements to drop.
        let mut drop = Vec::new();
        if count >= 0 {
            for (i, e) in self.iter().enumerate() {
                if drop.len() >= limit {
                    break;
                }
                if e == value {
                    drop.push(i);
                }
            }
        } else {
            for (i, e) in self.iter().rev().enumerate() {
                if drop.len() >= limit {
                    break;
                }
                if e == value {
                    drop.push(self.len - 1 - i);
                }
            }
            drop.reverse();
        }
        if drop.is_empty() {
            return 0;
        }
        let removed = drop.len();
        let mut rebuilt = ListValue { quick: self.quick, ..ListValue::default() };
        let mut next_drop = drop.into_iter().peekable();
        for (i, e) in self.iter().enumerate() {
            if next_drop.peek() == Some(&i) {
                next_drop.next();
                continue;
            }
            rebuilt.push_back(e);
        }
        *self = rebuilt;
        removed
    }

    /// A list of `items` (for tests and loading).
    pub fn from_items<'a>(items: impl IntoIterator<Item = &'a [u8]>) -> ListValue {
        let mut l = ListValue::new();
        for i in items {
            l.push_back(i);
        }
        l
    }

    #[cfg(test)]
    fn check(&self) {
        assert_eq!(self.blocks.iter().map(|b| b.count).sum::<usize>(), self.len);
        assert_eq!(self.blocks.iter().map(|b| b.buf.len()).sum::<usize>(), self.bytes);
        assert!(self.blocks.iter().all(|b| b.count > 0));
        assert_eq!(self.iter().map(lp_entry_size).sum::<usize>(), self.lp_bytes);
        for b in &self.blocks {
            assert_eq!(b.iter().count(), b.count);
            assert!(b.iter().rev().eq(b.iter().collect::<Vec<_>>().into_iter().rev()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_check() {
        let mut l = ListValue::new();
        let mut m: VecDeque<Vec<u8>> = VecDeque::new();
        let mut seed = 12345u64;
        let mut rnd = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for step in 0..20000 {
            let r = rnd();
            let size = match r % 7 {
                0 => 300,
                1 => 5000,
                _ => (r % 20) as usize,
            };
            let v: Vec<u8> = (0..size).map(|k| (k as u64 + step) as u8).collect();
            match (r >> 8) % 9 {
                0 | 1 => {
                    l.push_back(&v);
                    m.push_back(v);
                }
                2 | 3 => {
                    l.push_front(&v);
                    m.push_front(v);
                }
                4 => assert_eq!(l.pop_front(), m.pop_front()),
                5 => assert_eq!(l.pop_back(), m.pop_back()),
                6 if !m.is_empty() => {
                    let i = (r >> 20) as usize % m.len();
                    assert!(l.set(i, &v));
                    m[i] = v;
                }
                7 => {
                    let i = (r >> 20) as usize % (m.len() + 1);
                    l.insert(i, &v);
                    m.insert(i, v);
                }
                8 if !m.is_empty() => {
                    let f = (r >> 20) as usize % 3;
                    let b = (r >> 30) as usize % 3;
                    l.trim(f, b);
                    for _ in 0..f.min(m.len()) {
                        m.pop_front();
                    }
                    for _ in 0..b.min(m.len()) {
                        m.pop_back();
                    }
                }
                _ => {}
            }
            assert_eq!(l.len(), m.len());
            if step % 500 == 0 {
                l.check();
                assert!(l.iter().eq(m.iter().map(|v| v.as_slice())));
                if !m.is_empty() {
                    let i = m.len() / 3;
                    assert_eq!(l.get(i), Some(m[i].as_slice()));
                    let n = l.range(i, m.len() - 1).count();
                    assert_eq!(n, m.len() - i);
                }
            }
        }
        l.check();
    }
}
