//! Key → slot (Redis Cluster's CRC16, honouring `{hash tags}`) → shard.

/// The number of hash slots, as in Redis Cluster.
pub const SLOTS: usize = 16384;

/// CRC16-CCITT (XModem), the checksum Redis Cluster uses for key slots: one table lookup
/// per byte.
pub fn crc16(data: &[u8]) -> u16 {
    data.iter().fold(0u16, |crc, &byte| (crc << 8) ^ CRC16_TABLE[usize::from((crc >> 8) as u8 ^ byte)])
}

/// The CRC16 (polynomial 0x1021) of each byte value, as the top byte of the message.
const CRC16_TABLE: [u16; 256] = {
    let mut table = [0u16; 256];
    let mut i = 0;
    while i < 256 {
        let mut crc = (i as u16) << 8;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 0x8000 != 0 { (crc << 1) ^ 0x1021 } else { crc << 1 };
            bit += 1;
        }
        table[i] = crc;
        i += 1;
    }
    table
};

/// The slot of `key`: CRC16 of the key, or of the first non-empty `{...}` tag in it.
pub fn key_slot(key: &[u8]) -> u16 {
    let hashed = match key.iter().position(|&c| c == b'{') {
        Some(open) => match key[open + 1..].iter().position(|&c| c == b'}') {
            Some(len) if len > 0 => &key[open + 1..open + 1 + len],
            _ => key,
        },
        None => key,
    };
    crc16(hashed) & (SLOTS as u16 - 1)
}

/// The shard that owns `slot` when there are `shards` shards: contiguous slot ranges.
pub fn slot_shard(slot: u16, shards: usize) -> usize {
    usize::from(slot) * shards / SLOTS
}

/// The shard that owns `key` (with one shard, without hashing the key).
pub fn key_shard(key: &[u8], shards: usize) -> usize {
    if shards == 1 {
        return 0;
    }
    slot_shard(key_slot(key), shards)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_redis_cluster() {
        // Values from CLUSTER KEYSLOT on Redis.
        assert_eq!(crc16(b"123456789"), 0x31C3);
        assert_eq!(key_slot(b"foo"), 12182);
        assert_eq!(key_slot(b"bar"), 5061);
        assert_eq!(key_slot(b"{user1000}.following"), key_slot(b"user1000"));
        assert_eq!(key_slot(b"foo{}{bar}"), key_slot(b"foo{}{bar}"));
        assert_eq!(key_slot(b"foo{{bar}}zap"), key_slot(b"{bar"));
        assert_eq!(key_slot(b""), 0);
    }

    #[test]
    fn table_crc_matches_the_bitwise_definition() {
        fn bitwise(data: &[u8]) -> u16 {
            let mut crc: u16 = 0;
            for &byte in data {
                crc ^= u16::from(byte) << 8;
                for _ in 0..8 {
                    crc = if crc & 0x8000 != 0 { (crc << 1) ^ 0x1021 } else { crc << 1 };
                }
            }
            crc
        }
        let data: Vec<u8> = (0..=255u8).chain((0..=255u8).rev()).collect();
        for start in 0..data.len() {
            assert_eq!(crc16(&data[start..]), bitwise(&data[start..]));
        }
    }

    #[test]
    fn shards_cover_all_slots() {
        for shards in 1..=8 {
            assert_eq!(slot_shard(0, shards), 0);
            assert_eq!(slot_shard(16383, shards), shards - 1);
        }
    }
}
