//! LZF compression in liblzf's format, as RDB strings use it (Redis's `lzf_c.c` and
//! `lzf_d.c`).
//!
//! The format is a sequence of
//! - literal runs: a control byte `000LLLLL` (run length − 1, at most 32) and the bytes;
//! - back references: `LLLooooo [LLLLLLLL] oooooooo`: match length − 2 in the top three
//!   bits (7 means an extra length byte follows), a 13-bit distance − 1.
//!
//! The compressor finds matches through a hash table of the last position of every
//! 3-byte sequence. The table lives per thread and is never cleared between calls: a
//! stale entry is only a candidate, used after its bytes are compared, so reuse is safe
//! and saves zeroing it for every short string.

use std::cell::RefCell;

/// Hash table size (log2).
const HLOG: u32 = 14;
/// Longest distance a back reference can reach.
const MAX_OFF: usize = 1 << 13;
/// Longest match a back reference can copy.
const MAX_REF: usize = (1 << 8) + (1 << 3);
/// Longest literal run.
const MAX_LIT: usize = 1 << 5;

std::thread_local! {
    static TABLE: RefCell<Vec<u32>> = RefCell::new(vec![0; 1 << HLOG]);
}

#[inline]
fn hash(b: &[u8], i: usize) -> usize {
    let v = u32::from(b[i]) << 16 | u32::from(b[i + 1]) << 8 | u32::from(b[i + 2]);
    (v.wrapping_mul(2_654_435_761) >> (32 - HLOG)) as usize
}

/// Appends the LZF compression of `input` to `out` if it takes at most `max_out` bytes;
/// returns the compressed length, or `None` (with `out` unchanged) if it does not fit or
/// the input is too large to compress.
pub fn compress(input: &[u8], out: &mut Vec<u8>, max_out: usize) -> Option<usize> {
    if input.is_empty() || u32::try_from(input.len()).is_err() {
        return None;
    }
    let base = out.len();
    out.reserve(max_out.min(input.len() + input.len() / 32 + 1));
    let fits = TABLE.with(|t| {
        let mut table = t.borrow_mut();
        compress_with(&mut table, input, out, base + max_out)
    });
    if fits {
        Some(out.len() - base)
    } else {
        out.truncate(base);
        None
    }
}

fn compress_with(table: &mut [u32], input: &[u8], out: &mut Vec<u8>, limit: usize) -> bool {
    let n = input.len();
    // Position in `out` of the current literal run's control byte, and the run's length.
    let mut ctrl = out.len();
    out.push(0);
    let mut lit = 0usize;
    let mut ip = 0usize;
    while ip + 2 < n {
        let h = hash(input, ip);
        let r = table[h] as usize;
        table[h] = ip as u32;
        if r < ip && ip - r <= MAX_OFF && input[r..r + 3] == input[ip..ip + 3] {
            let max_len = (n - ip).min(MAX_REF);
            let mut len = 3;
            while len < max_len && input[r + len] == input[ip + len] {
                len += 1;
            }
            // Close the literal run (or drop its unused control byte).
            if lit > 0 {
                out[ctrl] = (lit - 1) as u8;
            } else {
                out.pop();
            }
            let off = ip - r - 1;
            let l = len - 2;
            if l < 7 {
                out.push(((off >> 8) + (l << 5)) as u8);
            } else {
                out.push(((off >> 8) + (7 << 5)) as u8);
                out.push((l - 7) as u8);
            }
            out.push(off as u8);
            // Remember the positions inside the match, for later matches.
            let end = ip + len;
            let mut p = ip + 1;
            while p < end && p + 2 < n {
                table[hash(input, p)] = p as u32;
                p += 1;
            }
            ip = end;
            ctrl = out.len();
            out.push(0);
            lit = 0;
        } else {
            push_literal(out, input[ip], &mut ctrl, &mut lit);
            ip += 1;
        }
        if out.len() > limit {
            return false;
        }
    }
    for &byte in &input[ip..] {
        push_literal(out, byte, &mut ctrl, &mut lit);
    }
    if lit > 0 {
        out[ctrl] = (lit - 1) as u8;
    } else {
        out.pop();
    }
    out.len() <= limit
}

/// Appends one literal byte to the run whose control byte is at `ctrl` (holding `lit`
/// bytes so far); a full run is closed and a new one opened.
fn push_literal(out: &mut Vec<u8>, byte: u8, ctrl: &mut usize, lit: &mut usize) {
    out.push(byte);
    *lit += 1;
    if *lit == MAX_LIT {
        out[*ctrl] = (MAX_LIT - 1) as u8;
        *ctrl = out.len();
        out.push(0);
        *lit = 0;
    }
}

/// Appends the decompression of `input` to `out`, which must come to exactly `out_len`
/// bytes; false if the input is malformed (then `out` may hold a partial result).
pub fn decompress_into(input: &[u8], out_len: usize, out: &mut Vec<u8>) -> bool {
    let base = out.len();
    let Some(end) = base.checked_add(out_len) else { return false };
    out.reserve(out_len);
    let mut ip = 0;
    while ip < input.len() {
        let ctrl = usize::from(input[ip]);
        ip += 1;
        if ctrl < 32 {
            let run = ctrl + 1;
            let Some(lit) = input.get(ip..ip + run) else { return false };
            if out.len() + run > end {
                return false;
            }
            out.extend_from_slice(lit);
            ip += run;
        } else {
            let mut len = ctrl >> 5;
            if len == 7 {
                let Some(&extra) = input.get(ip) else { return false };
                len += usize::from(extra);
                ip += 1;
            }
            let Some(&low) = input.get(ip) else { return false };
            let back = ((ctrl & 0x1f) << 8) + usize::from(low) + 1;
            ip += 1;
            len += 2;
            if back > out.len() - base || out.len() + len > end {
                return false;
            }
            let start = out.len() - back;
            if back >= len {
                out.extend_from_within(start..start + len);
            } else {
                for i in 0..len {
                    let b = out[start + i];
                    out.push(b);
                }
            }
        }
    }
    out.len() == end
}

/// The decompression of `input`, which must come to exactly `out_len` bytes; `None` if
/// the input is malformed.
pub fn decompress(input: &[u8], out_len: usize) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    decompress_into(input, out_len, &mut out).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(data: &[u8]) {
        let mut out = vec![7u8];
        let Some(clen) = compress(data, &mut out, data.len() + data.len() / 16 + 8) else {
            panic!("did not compress {} bytes", data.len());
        };
        assert_eq!(out.len(), clen + 1);
        assert_eq!(decompress(&out[1..], data.len()).as_deref(), Some(data));
    }

    #[test]
    fn round_trips() {
        round_trip(b"a");
        round_trip(b"abc");
        round_trip(&[b'x'; 1000]);
        round_trip(b"hello hello hello hello world world world");
        let mut seed = 99u64;
        let noise: Vec<u8> = (0..70_000)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                (seed % 7) as u8 + b'a'
            })
            .collect();
        round_trip(&noise);
        let text: Vec<u8> = (0..20_000).flat_map(|i: u32| format!("key:{i}:value;").into_bytes()).collect();
        round_trip(&text);
        // Compresses well.
        let mut out = Vec::new();
        assert!(compress(&text, &mut out, text.len() / 2).is_some());
    }

    #[test]
    fn respects_the_limit() {
        let mut out = vec![1, 2];
        let random: Vec<u8> = (0..64u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 7) as u8).collect();
        assert_eq!(compress(&random, &mut out, 60), None);
        assert_eq!(out, [1, 2]);
    }

    #[test]
    fn rejects_malformed_input() {
        assert_eq!(decompress(&[0x20, 0x00], 3), None); // back reference before the start
        assert_eq!(decompress(&[0x05, b'a'], 6), None); // literal run cut short
        assert_eq!(decompress(&[0x00, b'a'], 2), None); // wrong length
        assert_eq!(decompress(&[0x00, b'a', 0x20, 0x00], 4), Some(b"aaaa".to_vec()));
    }
}
