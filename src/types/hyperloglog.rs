//! HyperLogLog in Redis's own byte format, so values move between Redis and tallkv unchanged.
//!
//! A value is a 16-byte header (`HYLL`, encoding byte: 0 dense / 1 sparse, 3 unused bytes,
//! 8-byte little-endian cached cardinality whose last byte's top bit marks it stale) followed
//! by either 16384 six-bit registers (dense) or run-length opcodes (sparse: ZERO `00xxxxxx`,
//! XZERO `01xxxxxx yyyyyyyy`, VAL `1vvvvvxx`). Hashing (MurmurHash64A, seed 0xadc83b19),
//! register choice (P = 14, Q = 50), sparse updates (including run merging) and the
//! cardinality estimator (Ertl's, with Redis's `hllSigma`/`hllTau`) follow `hyperloglog.c`
//! step by step so the bytes and counts match.

/// Header length.
pub const HDR_SIZE: usize = 16;
/// Precision: bits of the hash that pick the register.
const P: u32 = 14;
/// Bits of the hash left for the run of zeros.
const Q: usize = 50;
/// Number of registers.
pub const REGISTERS: usize = 1 << P;
/// Mask for the register index.
const P_MASK: u64 = (REGISTERS as u64) - 1;
/// Bits per dense register.
const BITS: usize = 6;
/// Largest register value.
const REGISTER_MAX: u8 = (1 << BITS) - 1;
/// Length of a dense value.
pub const DENSE_SIZE: usize = HDR_SIZE + (REGISTERS * BITS).div_ceil(8);
/// Encoding byte of a dense value.
pub const DENSE: u8 = 0;
/// Encoding byte of a sparse value.
pub const SPARSE: u8 = 1;
/// Largest value a sparse VAL opcode holds.
const SPARSE_VAL_MAX_VALUE: u8 = 32;
/// Longest run a VAL opcode covers.
const SPARSE_VAL_MAX_LEN: usize = 4;
/// Longest run a ZERO opcode covers.
const SPARSE_ZERO_MAX_LEN: usize = 64;
/// Longest run an XZERO opcode covers.
const SPARSE_XZERO_MAX_LEN: usize = 16384;
/// Redis's alpha for the estimator.
const ALPHA_INF: f64 = 0.721_347_520_444_481_7;

/// The value is corrupted (Redis's `INVALIDOBJ Corrupted HLL object detected`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Corrupted;

/// Whether `data` passes Redis's `isHLLObjectOrReply` checks (magic, encoding, dense length).
pub fn is_valid(data: &[u8]) -> bool {
    data.len() >= HDR_SIZE
        && &data[..4] == b"HYLL"
        && data[4] <= SPARSE
        && (data[4] != DENSE || data.len() == DENSE_SIZE)
}

/// A new, empty HLL as Redis's `createHLLObject` makes it (sparse, one XZERO).
pub fn new_sparse() -> Vec<u8> {
    let mut v = Vec::with_capacity(HDR_SIZE + 2);
    v.extend_from_slice(b"HYLL");
    v.push(SPARSE);
    v.extend_from_slice(&[0; 11]);
    let mut aux = REGISTERS;
    while aux > 0 {
        let x = aux.min(SPARSE_XZERO_MAX_LEN);
        push_xzero(&mut v, x);
        aux -= x;
    }
    v
}

/// Marks the cached cardinality stale.
pub fn invalidate_cache(data: &mut [u8]) {
    data[15] |= 0x80;
}

/// The cached cardinality if it is valid.
pub fn cached_card(data: &[u8]) -> Option<u64> {
    if data[15] & 0x80 != 0 {
        return None;
    }
    let mut b = [0u8; 8];
    b.copy_from_slice(&data[8..16]);
    Some(u64::from_le_bytes(b))
}

/// Stores `card` as the cached cardinality.
pub fn set_cached_card(data: &mut [u8], card: u64) {
    data[8..16].copy_from_slice(&card.to_le_bytes());
}

/// MurmurHash64A as Redis uses it (little-endian blocks).
pub fn murmur64a(key: &[u8], seed: u64) -> u64 {
    const M: u64 = 0xc6a4_a793_5bd1_e995;
    const R: u32 = 47;
    let mut h = seed ^ (key.len() as u64).wrapping_mul(M);
    let mut chunks = key.chunks_exact(8);
    for c in &mut chunks {
        let mut b = [0u8; 8];
        b.copy_from_slice(c);
        let mut k = u64::from_le_bytes(b);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h ^= k;
        h = h.wrapping_mul(M);
    }
    let tail = chunks.remainder();
    if !tail.is_empty() {
        for (i, &b) in tail.iter().enumerate() {
            h ^= u64::from(b) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> R;
    h = h.wrapping_mul(M);
    h ^= h >> R;
    h
}

/// Redis's `hllPatLen`: the register an element goes to and its run length (1..=Q+1).
pub fn pat_len(ele: &[u8]) -> (usize, u8) {
    let mut hash = murmur64a(ele, 0xadc8_3b19);
    let index = (hash & P_MASK) as usize;
    hash >>= P;
    hash |= 1u64 << Q;
    (index, hash.trailing_zeros() as u8 + 1)
}

/// Byte at `i`, or 0 past the end (Redis reads the sds terminator there).
fn at(data: &[u8], i: usize) -> u8 {
    data.get(i).copied().unwrap_or(0)
}

/// Dense register `reg` of `regs` (the bytes after the header).
fn dense_get(regs: &[u8], reg: usize) -> u8 {
    let byte = reg * BITS / 8;
    let fb = (reg * BITS) & 7;
    let b0 = u32::from(at(regs, byte));
    let b1 = u32::from(at(regs, byte + 1));
    (((b0 >> fb) | (b1 << (8 - fb))) & u32::from(REGISTER_MAX)) as u8
}

/// Sets dense register `reg` to `val`.
fn dense_put(regs: &mut [u8], reg: usize, val: u8) {
    let byte = reg * BITS / 8;
    let fb = (reg * BITS) & 7;
    let v = u32::from(val);
    let max = u32::from(REGISTER_MAX);
    if let Some(b) = regs.get_mut(byte) {
        *b &= !((max << fb) as u8);
        *b |= (v << fb) as u8;
    }
    if let Some(b) = regs.get_mut(byte + 1) {
        *b &= !((max >> (8 - fb)) as u8);
        *b |= (v >> (8 - fb)) as u8;
    }
}

/// Redis's `hllDenseSet`: raises the register if `count` is larger; whether it changed.
fn dense_set(regs: &mut [u8], reg: usize, count: u8) -> bool {
    if count > dense_get(regs, reg) {
        dense_put(regs, reg, count);
        true
    } else {
        false
    }
}

/// Appends an XZERO opcode for `len` zero registers.
fn push_xzero(v: &mut Vec<u8>, len: usize) {
    let l = len - 1;
    v.push((l >> 8) as u8 | 0x40);
    v.push((l & 0xff) as u8);
}

/// A sparse opcode: (is XZERO, is VAL, run length, value, opcode length).
fn sparse_op(data: &[u8], p: usize) -> (bool, bool, usize, u8, usize) {
    let b = data[p];
    if b & 0xc0 == 0 {
        (false, false, usize::from(b & 0x3f) + 1, 0, 1)
    } else if b & 0xc0 == 0x40 {
        let len = ((usize::from(b & 0x3f) << 8) | usize::from(at(data, p + 1))) + 1;
        (true, false, len, 0, 2)
    } else {
        (false, true, usize::from(b & 3) + 1, ((b >> 2) & 0x1f) + 1, 1)
    }
}

/// A VAL opcode byte.
fn val_op(val: u8, len: usize) -> u8 {
    ((val - 1) << 2) | (len as u8 - 1) | 0x80
}

/// Appends a ZERO or XZERO opcode for `len` zero registers, as Redis picks.
fn push_zeros(seq: &mut Vec<u8>, len: usize) {
    if len > SPARSE_ZERO_MAX_LEN {
        push_xzero(seq, len);
    } else {
        seq.push((len - 1) as u8);
    }
}

/// Redis's `hllSparseToDense`; a dense value is left alone.
pub fn sparse_to_dense(data: &mut Vec<u8>) -> Result<(), Corrupted> {
    if data[4] == DENSE {
        return Ok(());
    }
    let mut dense = vec![0u8; DENSE_SIZE];
    dense[..HDR_SIZE].copy_from_slice(&data[..HDR_SIZE]);
    dense[4] = DENSE;
    let mut idx = 0usize;
    let mut p = HDR_SIZE;
    while p < data.len() {
        let (_, is_val, runlen, val, oplen) = sparse_op(data, p);
        if is_val {
            if runlen + idx > REGISTERS {
                break;
            }
            for i in idx..idx + runlen {
                dense_put(&mut dense[HDR_SIZE..], i, val);
            }
        }
        idx += runlen;
        p += oplen;
    }
    if idx != REGISTERS {
        return Err(Corrupted);
    }
    *data = dense;
    Ok(())
}

/// Redis's `hllSparseSet`: sets register `index` to `count` if larger, promoting to dense
/// when the value can't be held sparse or the string would pass `sparse_max`. Whether a
/// register changed.
fn sparse_set(data: &mut Vec<u8>, index: usize, count: u8, sparse_max: usize) -> Result<bool, Corrupted> {
    if count > SPARSE_VAL_MAX_VALUE {
        return promote(data, index, count);
    }
    let end = data.len();
    let mut p = HDR_SIZE;
    let mut first = 0usize;
    let mut prev: Option<usize> = None;
    let mut found = None;
    while p < end {
        let op = sparse_op(data, p);
        if index < first + op.2 {
            found = Some(op);
            break;
        }
        prev = Some(p);
        p += op.4;
        first += op.2;
    }
    let Some((is_xzero, is_val, runlen, curval, oplen)) = found else {
        return Err(Corrupted);
    };
    let is_zero = !is_xzero && !is_val;
    let mut end = end;
    let mut simple = false;
    if is_val {
        if curval >= count {
            return Ok(false);
        }
        if runlen == 1 {
            data[p] = val_op(count, 1);
            simple = true;
        }
    }
    if !simple && is_zero && runlen == 1 {
        data[p] = val_op(count, 1);
        simple = true;
    }
    if !simple {
        let last = first + runlen - 1;
        let mut seq = Vec::with_capacity(5);
        if is_val {
            if index != first {
                seq.push(val_op(curval, index - first));
            }
            seq.push(val_op(count, 1));
            if index != last {
                seq.push(val_op(curval, last - index));
            }
        } else {
            if index != first {
                push_zeros(&mut seq, index - first);
            }
            seq.push(val_op(count, 1));
            if index != last {
                push_zeros(&mut seq, last - index);
            }
        }
        let new_len = (data.len() + seq.len()).saturating_sub(oplen);
        if seq.len() > oplen && new_len > sparse_max {
            return promote(data, index, count);
        }
        let old_end = (p + oplen).min(data.len());
        data.splice(p..old_end, seq);
        data.truncate(new_len);
        end = data.len();
    }
    // Merge adjacent VAL opcodes of equal value, scanning up to 5 opcodes from prev.
    let mut p = prev.unwrap_or(HDR_SIZE);
    let mut scan = 5;
    while p < end && scan > 0 {
        scan -= 1;
        let b = data[p];
        if b & 0xc0 == 0x40 {
            p += 2;
            continue;
        } else if b & 0xc0 == 0 {
            p += 1;
            continue;
        }
        if p + 1 < end && data[p + 1] & 0x80 != 0 {
            let (_, _, l1, v1, _) = sparse_op(data, p);
            let (_, _, l2, v2, _) = sparse_op(data, p + 1);
            if v1 == v2 && l1 + l2 <= SPARSE_VAL_MAX_LEN {
                data[p + 1] = val_op(v1, l1 + l2);
                data.remove(p);
                end -= 1;
                continue;
            }
        }
        p += 1;
    }
    invalidate_cache(data);
    Ok(true)
}

/// Converts to dense and sets the register there (Redis's `promote:` path).
fn promote(data: &mut Vec<u8>, index: usize, count: u8) -> Result<bool, Corrupted> {
    sparse_to_dense(data)?;
    Ok(dense_set(&mut data[HDR_SIZE..], index, count))
}

/// Redis's `hllAdd`: adds an element; whether a register changed.
pub fn add(data: &mut Vec<u8>, ele: &[u8], sparse_max: usize) -> Result<bool, Corrupted> {
    let (index, count) = pat_len(ele);
    set_register(data, index, count, sparse_max)
}

/// Raises register `index` to `count` in either encoding; whether it changed.
pub fn set_register(data: &mut Vec<u8>, index: usize, count: u8, sparse_max: usize) -> Result<bool, Corrupted> {
    match data[4] {
        DENSE => Ok(dense_set(&mut data[HDR_SIZE..], index, count)),
        SPARSE => sparse_set(data, index, count, sparse_max),
        _ => Err(Corrupted),
    }
}

/// Redis's `hllMerge`: raises `max[i]` to each register of the value.
pub fn merge_into(max: &mut [u8; REGISTERS], data: &[u8]) -> Result<(), Corrupted> {
    if data[4] == DENSE {
        let regs = &data[HDR_SIZE..];
        for (i, m) in max.iter_mut().enumerate() {
            let v = dense_get(regs, i);
            if v > *m {
                *m = v;
            }
        }
        return Ok(());
    }
    let mut i = 0usize;
    let mut p = HDR_SIZE;
    while p < data.len() {
        let (_, is_val, runlen, val, oplen) = sparse_op(data, p);
        if is_val {
            if runlen + i > REGISTERS {
                break;
            }
            for m in &mut max[i..i + runlen] {
                if val > *m {
                    *m = val;
                }
            }
        }
        i += runlen;
        p += oplen;
    }
    if i != REGISTERS { Err(Corrupted) } else { Ok(()) }
}

/// Redis's `hllCount` of a valid value; a sparse value whose runs don't cover all
/// registers is corrupted.
pub fn count(data: &[u8]) -> Result<u64, Corrupted> {
    let mut histo = [0u64; 64];
    if data[4] == DENSE {
        let regs = &data[HDR_SIZE..];
        for i in 0..REGISTERS {
            histo[usize::from(dense_get(regs, i))] += 1;
        }
    } else {
        let mut idx = 0usize;
        let mut p = HDR_SIZE;
        while p < data.len() {
            let (_, _, runlen, val, oplen) = sparse_op(data, p);
            idx = idx.saturating_add(runlen);
            histo[usize::from(val)] = histo[usize::from(val)].saturating_add(runlen as u64);
            p += oplen;
        }
        if idx != REGISTERS {
            return Err(Corrupted);
        }
    }
    Ok(estimate(&histo))
}

/// The cardinality of raw registers (one byte each), as PFCOUNT with several keys computes it.
pub fn count_raw(regs: &[u8; REGISTERS]) -> u64 {
    let mut histo = [0u64; 64];
    for &r in regs {
        histo[usize::from(r & 63)] += 1;
    }
    estimate(&histo)
}

/// Ertl's estimator as Redis computes it from the register histogram.
fn estimate(histo: &[u64; 64]) -> u64 {
    let m = REGISTERS as f64;
    let mut z = m * tau((m - histo[Q + 1] as f64) / m);
    for j in (1..=Q).rev() {
        z += histo[j] as f64;
        z *= 0.5;
    }
    z += m * sigma(histo[0] as f64 / m);
    (ALPHA_INF * m * m / z).round() as u64
}

/// Redis's `hllSigma`.
fn sigma(mut x: f64) -> f64 {
    if x == 1.0 {
        return f64::INFINITY;
    }
    let mut y = 1.0;
    let mut z = x;
    loop {
        x *= x;
        let prev = z;
        z += x * y;
        y += y;
        if prev == z {
            return z;
        }
    }
}

/// Redis's `hllTau`.
fn tau(mut x: f64) -> f64 {
    if x == 0.0 || x == 1.0 {
        return 0.0;
    }
    let mut y = 1.0;
    let mut z = 1.0 - x;
    loop {
        x = x.sqrt();
        let prev = z;
        y *= 0.5;
        z -= (1.0 - x) * (1.0 - x) * y;
        if prev == z {
            return z / 3.0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_value_matches_redis() {
        let v = new_sparse();
        assert_eq!(v, b"HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x7f\xff".to_vec());
        assert!(is_valid(&v));
        assert_eq!(count(&v), Ok(0));
    }

    #[test]
    fn sparse_and_dense_agree() {
        let mut s = new_sparse();
        for i in 0..2000u32 {
            add(&mut s, i.to_string().as_bytes(), usize::MAX).unwrap();
        }
        assert_eq!(s[4], SPARSE);
        let mut d = s.clone();
        sparse_to_dense(&mut d).unwrap();
        assert_eq!(d.len(), DENSE_SIZE);
        assert_eq!(count(&s), count(&d));
        let mut m1 = [0u8; REGISTERS];
        let mut m2 = [0u8; REGISTERS];
        merge_into(&mut m1, &s).unwrap();
        merge_into(&mut m2, &d).unwrap();
        assert_eq!(m1, m2);
        for (i, &m) in m1.iter().enumerate() {
            assert_eq!(dense_get(&d[HDR_SIZE..], i), m);
        }
    }

    #[test]
    fn register_above_sparse_max_promotes() {
        let mut v = new_sparse();
        assert_eq!(set_register(&mut v, 5, 32, 3000), Ok(true));
        assert_eq!(v[4], SPARSE);
        assert_eq!(set_register(&mut v, 5, 32, 3000), Ok(false));
        assert_eq!(set_register(&mut v, 9, 33, 3000), Ok(true));
        assert_eq!(v[4], DENSE);
        assert_eq!(v.len(), DENSE_SIZE);
        assert_eq!((dense_get(&v[HDR_SIZE..], 5), dense_get(&v[HDR_SIZE..], 9)), (32, 33));
        // The last register sits at the very end of the dense bytes.
        assert_eq!(set_register(&mut v, REGISTERS - 1, 63, 3000), Ok(true));
        assert_eq!(dense_get(&v[HDR_SIZE..], REGISTERS - 1), 63);
        assert_eq!(dense_get(&v[HDR_SIZE..], REGISTERS - 2), 0);
    }

    #[test]
    fn murmur_matches_redis_registers() {
        // Redis: PFADD of "a" into an empty HLL sets one register (checked via the sparse bytes).
        let mut v = new_sparse();
        assert_eq!(add(&mut v, b"a", 3000), Ok(true));
        assert_eq!(count(&v), Ok(1));
    }

    #[test]
    fn truncated_sparse_is_corrupted() {
        let mut v = new_sparse();
        v.pop();
        v.pop();
        assert_eq!(count(&v), Err(Corrupted));
        assert_eq!(add(&mut v, b"a", 3000), Err(Corrupted));
    }
}
