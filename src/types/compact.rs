//! Byte strings that keep short contents inline, for keys and short string values.
//!
//! A lookup compares the stored key; an inline key sits in the same cache line as the
//! table entry, so a hit costs one memory access fewer than a key in its own allocation
//! (measured: CPU per INCR over 100k keys at pipeline depth 16 is dominated by these misses).

use std::borrow::Borrow;
use std::hash::{Hash, Hasher};
use std::ops::Deref;

/// Longest contents stored inline.
const INLINE_MAX: usize = 22;

/// Bytes stored inline when at most 22 long, otherwise in their own exact-size allocation.
#[derive(Clone)]
pub enum CompactBytes {
    /// Up to 22 bytes, in place.
    Inline {
        /// How many bytes of `data` are used.
        len: u8,
        /// The bytes.
        data: [u8; INLINE_MAX],
    },
    /// Longer contents.
    Heap(Box<[u8]>),
}

impl CompactBytes {
    /// A copy of `bytes`.
    pub fn new(bytes: &[u8]) -> CompactBytes {
        if bytes.len() <= INLINE_MAX {
            let mut data = [0u8; INLINE_MAX];
            data[..bytes.len()].copy_from_slice(bytes);
            CompactBytes::Inline { len: bytes.len() as u8, data }
        } else {
            CompactBytes::Heap(bytes.into())
        }
    }

    /// The contents.
    pub fn as_slice(&self) -> &[u8] {
        match self {
            CompactBytes::Inline { len, data } => &data[..usize::from(*len)],
            CompactBytes::Heap(b) => b,
        }
    }

    /// Bytes allocated outside the value itself.
    pub fn heap_size(&self) -> usize {
        match self {
            CompactBytes::Inline { .. } => 0,
            CompactBytes::Heap(b) => b.len(),
        }
    }
}

impl Deref for CompactBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl Borrow<[u8]> for CompactBytes {
    fn borrow(&self) -> &[u8] {
        self.as_slice()
    }
}

impl AsRef<[u8]> for CompactBytes {
    fn as_ref(&self) -> &[u8] {
        self.as_slice()
    }
}

// Hash and Eq must agree with `[u8]`'s, since maps keyed by CompactBytes are searched by `&[u8]`.
impl Hash for CompactBytes {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_slice().hash(state);
    }
}

impl PartialEq for CompactBytes {
    fn eq(&self, other: &CompactBytes) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for CompactBytes {}

impl std::fmt::Debug for CompactBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(self.as_slice()))
    }
}

impl From<&[u8]> for CompactBytes {
    fn from(bytes: &[u8]) -> CompactBytes {
        CompactBytes::new(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_inline_long_on_heap_same_hash_as_slices() {
        let state = ahash::RandomState::new();
        for len in [0, 1, 22, 23, 100] {
            let bytes: Vec<u8> = (0..len as u8).collect();
            let compact = CompactBytes::new(&bytes);
            assert_eq!(&*compact, &bytes[..]);
            assert_eq!(matches!(compact, CompactBytes::Inline { .. }), len <= 22);
            assert_eq!(state.hash_one(&compact), state.hash_one(&bytes[..]));
        }
        assert_eq!(std::mem::size_of::<CompactBytes>(), 24);
    }
}
