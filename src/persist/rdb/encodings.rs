//! Decoders for the compact blobs Redis stores inside RDB strings: ziplists, listpacks,
//! intsets and zipmaps. Each checks its header against the blob and every bound, so a
//! corrupt blob is an error, never a panic or an out-of-bounds read.

use super::RdbError;

/// One element of a ziplist or listpack.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Elem<'a> {
    /// A string element.
    Str(&'a [u8]),
    /// An integer element.
    Int(i64),
}

pub use crate::util::num::{IntBuf, int_text};

impl<'a> Elem<'a> {
    /// The element's bytes (an integer as decimal text, written into `buf`).
    pub fn bytes<'s>(&self, buf: &'s mut IntBuf) -> &'s [u8]
    where
        'a: 's,
    {
        match *self {
            Elem::Str(s) => s,
            Elem::Int(n) => int_text(n, buf),
        }
    }
}

fn bad(what: &str) -> RdbError {
    RdbError::Invalid(format!("corrupt {what}"))
}

fn le_u16(b: &[u8]) -> u16 {
    u16::from_le_bytes([b[0], b[1]])
}

fn le_u32(b: &[u8]) -> u32 {
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

/// `n` bytes at `pos` of `data`, or the corruption error for `what`.
fn slice<'a>(data: &'a [u8], pos: usize, n: usize, what: &str) -> Result<&'a [u8], RdbError> {
    pos.checked_add(n).and_then(|end| data.get(pos..end)).ok_or_else(|| bad(what))
}

/// Sign-extends the low `bits` bits of `v`.
fn sign_extend(v: u64, bits: u32) -> i64 {
    let shift = 64 - bits;
    ((v << shift) as i64) >> shift
}

// ---------------------------------------------------------------------------------------
// Ziplist

/// The elements of a ziplist (`ziplist.c`).
pub struct Ziplist<'a> {
    data: &'a [u8],
    pos: usize,
    count: usize,
    header_count: u16,
    done: bool,
}

impl<'a> Ziplist<'a> {
    /// Checks the header of `data` and returns an iterator over its elements.
    pub fn new(data: &'a [u8]) -> Result<Ziplist<'a>, RdbError> {
        const WHAT: &str = "ziplist";
        if data.len() < 11 || le_u32(data) as usize != data.len() || data[data.len() - 1] != 0xff {
            return Err(bad(WHAT));
        }
        let tail = le_u32(&data[4..]) as usize;
        if tail >= data.len() {
            return Err(bad(WHAT));
        }
        Ok(Ziplist { data, pos: 10, count: 0, header_count: le_u16(&data[8..]), done: false })
    }

    /// The number of elements the header announces (`u16::MAX`: too many to count there).
    pub fn header_count(&self) -> u16 {
        self.header_count
    }

    fn entry(&mut self) -> Result<Option<Elem<'a>>, RdbError> {
        const WHAT: &str = "ziplist";
        let d = self.data;
        let mut p = self.pos;
        let first = *d.get(p).ok_or_else(|| bad(WHAT))?;
        if first == 0xff {
            if p != d.len() - 1 || (self.header_count != u16::MAX && usize::from(self.header_count) != self.count) {
                return Err(bad(WHAT));
            }
            return Ok(None);
        }
        // The previous entry's length: 1 byte, or 0xfe and 4 bytes.
        p += match first {
            0..=253 => 1,
            254 => 5,
            _ => return Err(bad(WHAT)),
        };
        let enc = *d.get(p).ok_or_else(|| bad(WHAT))?;
        let elem = match enc >> 6 {
            0 => {
                let len = usize::from(enc & 0x3f);
                let s = slice(d, p + 1, len, WHAT)?;
                p += 1 + len;
                Elem::Str(s)
            }
            1 => {
                let b = slice(d, p + 1, 1, WHAT)?;
                let len = (usize::from(enc & 0x3f) << 8) | usize::from(b[0]);
                let s = slice(d, p + 2, len, WHAT)?;
                p += 2 + len;
                Elem::Str(s)
            }
            2 => {
                let b = slice(d, p + 1, 4, WHAT)?;
                let len = u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize;
                let s = slice(d, p + 5, len, WHAT)?;
                p += 5 + len;
                Elem::Str(s)
            }
            _ => {
                let (size, value) = match enc {
                    0xc0 => {
                        (2, i64::from(i16::from_le_bytes(slice(d, p + 1, 2, WHAT)?.try_into().map_err(|_| bad(WHAT))?)))
                    }
                    0xd0 => {
                        (4, i64::from(i32::from_le_bytes(slice(d, p + 1, 4, WHAT)?.try_into().map_err(|_| bad(WHAT))?)))
                    }
                    0xe0 => (8, i64::from_le_bytes(slice(d, p + 1, 8, WHAT)?.try_into().map_err(|_| bad(WHAT))?)),
                    0xf0 => {
                        let b = slice(d, p + 1, 3, WHAT)?;
                        (3, sign_extend(u64::from(b[0]) | u64::from(b[1]) << 8 | u64::from(b[2]) << 16, 24))
                    }
                    0xfe => (1, i64::from(slice(d, p + 1, 1, WHAT)?[0] as i8)),
                    0xf1..=0xfd => (0, i64::from(enc & 0x0f) - 1),
                    _ => return Err(bad(WHAT)),
                };
                p += 1 + size;
                Elem::Int(value)
            }
        };
        self.pos = p;
        self.count += 1;
        Ok(Some(elem))
    }
}

impl<'a> Iterator for Ziplist<'a> {
    type Item = Result<Elem<'a>, RdbError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let r = self.entry();
        if !matches!(r, Ok(Some(_))) {
            self.done = true;
        }
        r.transpose()
    }
}

// ---------------------------------------------------------------------------------------
// Listpack

/// The elements of a listpack (`listpack.c`).
pub struct Listpack<'a> {
    data: &'a [u8],
    pos: usize,
    count: usize,
    header_count: u16,
    done: bool,
}

/// Bytes of a listpack entry's back-length field for an entry of `len` bytes.
fn backlen_size(len: usize) -> usize {
    if len <= 127 {
        1
    } else if len < 16383 {
        2
    } else if len < 2_097_151 {
        3
    } else if len < 268_435_455 {
        4
    } else {
        5
    }
}

impl<'a> Listpack<'a> {
    /// Checks the header of `data` and returns an iterator over its elements.
    pub fn new(data: &'a [u8]) -> Result<Listpack<'a>, RdbError> {
        if data.len() < 7 || le_u32(data) as usize != data.len() || data[data.len() - 1] != 0xff {
            return Err(bad("listpack"));
        }
        Ok(Listpack { data, pos: 6, count: 0, header_count: le_u16(&data[4..]), done: false })
    }

    /// The number of elements the header announces (`u16::MAX`: too many to count there).
    pub fn header_count(&self) -> u16 {
        self.header_count
    }

    fn entry(&mut self) -> Result<Option<Elem<'a>>, RdbError> {
        const WHAT: &str = "listpack";
        let d = self.data;
        let p = self.pos;
        let b = *d.get(p).ok_or_else(|| bad(WHAT))?;
        let int = |n: usize| -> Result<u64, RdbError> {
            let bytes = slice(d, p + 1, n, WHAT)?;
            Ok(bytes.iter().rev().fold(0u64, |acc, &x| (acc << 8) | u64::from(x)))
        };
        let (elem, size) = if b & 0x80 == 0 {
            (Elem::Int(i64::from(b & 0x7f)), 1)
        } else if b & 0xc0 == 0x80 {
            let len = usize::from(b & 0x3f);
            (Elem::Str(slice(d, p + 1, len, WHAT)?), 1 + len)
        } else if b & 0xe0 == 0xc0 {
            let low = slice(d, p + 1, 1, WHAT)?[0];
            (Elem::Int(sign_extend(u64::from(b & 0x1f) << 8 | u64::from(low), 13)), 2)
        } else if b & 0xf0 == 0xe0 {
            let low = slice(d, p + 1, 1, WHAT)?[0];
            let len = usize::from(b & 0x0f) << 8 | usize::from(low);
            (Elem::Str(slice(d, p + 2, len, WHAT)?), 2 + len)
        } else {
            match b {
                0xf0 => {
                    let len = le_u32(slice(d, p + 1, 4, WHAT)?) as usize;
                    (Elem::Str(slice(d, p + 5, len, WHAT)?), 5 + len)
                }
                0xf1 => (Elem::Int(sign_extend(int(2)?, 16)), 3),
                0xf2 => (Elem::Int(sign_extend(int(3)?, 24)), 4),
                0xf3 => (Elem::Int(sign_extend(int(4)?, 32)), 5),
                0xf4 => (Elem::Int(int(8)? as i64), 9),
                0xff => {
                    if p != d.len() - 1
                        || (self.header_count != u16::MAX && usize::from(self.header_count) != self.count)
                    {
                        return Err(bad(WHAT));
                    }
                    return Ok(None);
                }
                _ => return Err(bad(WHAT)),
            }
        };
        let next = p + size + backlen_size(size);
        if next >= d.len() {
            return Err(bad(WHAT));
        }
        self.pos = next;
        self.count += 1;
        Ok(Some(elem))
    }
}

impl<'a> Iterator for Listpack<'a> {
    type Item = Result<Elem<'a>, RdbError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let r = self.entry();
        if !matches!(r, Ok(Some(_))) {
            self.done = true;
        }
        r.transpose()
    }
}

// ---------------------------------------------------------------------------------------
// Intset

/// The members of an intset (`intset.c`): checked to be strictly ascending.
pub fn intset(data: &[u8]) -> Result<Vec<i64>, RdbError> {
    const WHAT: &str = "intset";
    if data.len() < 8 {
        return Err(bad(WHAT));
    }
    let width = le_u32(data) as usize;
    let len = le_u32(&data[4..]) as usize;
    if !matches!(width, 2 | 4 | 8) || len.checked_mul(width).and_then(|n| n.checked_add(8)) != Some(data.len()) {
        return Err(bad(WHAT));
    }
    let mut out = Vec::with_capacity(len);
    for c in data[8..].chunks_exact(width) {
        let v = match width {
            2 => i64::from(i16::from_le_bytes([c[0], c[1]])),
            4 => i64::from(i32::from_le_bytes([c[0], c[1], c[2], c[3]])),
            _ => i64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]),
        };
        if out.last().is_some_and(|&last| last >= v) {
            return Err(bad(WHAT));
        }
        out.push(v);
    }
    Ok(out)
}

/// Appends the intset encoding of the ascending `members` (`len` of them) to `out`.
pub fn write_intset<I: Iterator<Item = i64>>(members: impl Fn() -> I, len: usize, out: &mut Vec<u8>) {
    let (lo, hi) = members().fold((0i64, 0i64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let width: usize = if lo >= i64::from(i16::MIN) && hi <= i64::from(i16::MAX) {
        2
    } else if lo >= i64::from(i32::MIN) && hi <= i64::from(i32::MAX) {
        4
    } else {
        8
    };
    out.reserve(8 + width * len);
    out.extend_from_slice(&(width as u32).to_le_bytes());
    out.extend_from_slice(&(len as u32).to_le_bytes());
    for v in members() {
        match width {
            2 => out.extend_from_slice(&(v as i16).to_le_bytes()),
            4 => out.extend_from_slice(&(v as i32).to_le_bytes()),
            _ => out.extend_from_slice(&v.to_le_bytes()),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Zipmap

/// A field and its value.
pub type Pair<'a> = (&'a [u8], &'a [u8]);

/// The (field, value) pairs of a zipmap (`zipmap.c`, RDB_TYPE_HASH_ZIPMAP of Redis < 2.6).
pub fn zipmap(data: &[u8]) -> Result<Vec<Pair<'_>>, RdbError> {
    const WHAT: &str = "zipmap";
    let mut pairs = Vec::new();
    let mut p = 1; // zmlen
    let read_len = |p: &mut usize| -> Result<Option<usize>, RdbError> {
        let b = *data.get(*p).ok_or_else(|| bad(WHAT))?;
        match b {
            0..=253 => {
                *p += 1;
                Ok(Some(usize::from(b)))
            }
            254 => {
                let v = le_u32(slice(data, *p + 1, 4, WHAT)?) as usize;
                *p += 5;
                Ok(Some(v))
            }
            255 => Ok(None),
        }
    };
    loop {
        let Some(klen) = read_len(&mut p)? else {
            if p != data.len() - 1 {
                return Err(bad(WHAT));
            }
            return Ok(pairs);
        };
        let key = slice(data, p, klen, WHAT)?;
        p += klen;
        let vlen = read_len(&mut p)?.ok_or_else(|| bad(WHAT))?;
        let free = usize::from(*data.get(p).ok_or_else(|| bad(WHAT))?);
        p += 1;
        let value = slice(data, p, vlen, WHAT)?;
        p += vlen + free;
        pairs.push((key, value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn int_text_formats() {
        let mut b = IntBuf::default();
        assert_eq!(int_text(0, &mut b), b"0");
        assert_eq!(int_text(-5, &mut b), b"-5");
        assert_eq!(int_text(i64::MIN, &mut b), b"-9223372036854775808");
        assert_eq!(int_text(i64::MAX, &mut b), b"9223372036854775807");
    }

    #[test]
    fn intset_round_trip_and_checks() {
        for values in [vec![1i64, 2, 3], vec![-40000, 5], vec![i64::MIN, 0, i64::MAX]] {
            let mut out = Vec::new();
            write_intset(|| values.iter().copied(), values.len(), &mut out);
            assert_eq!(intset(&out).unwrap(), values);
        }
        let mut out = Vec::new();
        write_intset(|| [3i64, 1].into_iter(), 2, &mut out);
        assert!(intset(&out).is_err(), "unsorted");
        assert!(intset(&out[..9]).is_err(), "short");
    }
}
