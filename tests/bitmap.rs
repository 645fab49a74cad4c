//! Bitmap commands: SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD, BITFIELD_RO,
//! checked byte for byte against Redis 7.0's replies.

mod common;

use common::{NOT_INT, SYNTAX, Server, WRONGTYPE, bulk_bytes, cmd, make_non_string};

const OFFSET_ERR: &str = "-ERR bit offset is not an integer or out of range\r\n";
const BIT_ERR: &str = "-ERR bit is not an integer or out of range\r\n";
const TYPE_ERR: &str =
    "-ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.\r\n";
/// A bitwise operation on one byte of each operand.
type ByteOp = fn(u8, u8) -> u8;

/// BITOP's multi-source operations and what they do to one byte.
const BYTE_OPS: [(&str, ByteOp); 3] = [("AND", |p, q| p & q), ("OR", |p, q| p | q), ("XOR", |p, q| p ^ q)];

#[test]
fn setbit_and_getbit() {
    let server = Server::start_sharded();
    let mut r = server.raw();
    // A new key is created, as long as the addressed byte; the reply is the old bit.
    assert_eq!(cmd(&mut r, "SETBIT k 7 1"), ":0\r\n");
    assert_eq!(r.cmd(&[b"GET", b"k"]), bulk_bytes(b"\x01"));
    assert_eq!(cmd(&mut r, "OBJECT ENCODING k"), "$3\r\nraw\r\n");
    assert_eq!(cmd(&mut r, "SETBIT k 7 1"), ":1\r\n");
    assert_eq!(cmd(&mut r, "SETBIT k 7 0"), ":1\r\n");
    assert_eq!(cmd(&mut r, "SETBIT k 7 0"), ":0\r\n");
    assert_eq!(cmd(&mut r, "SETBIT k 0 1"), ":0\r\n");
    assert_eq!(cmd(&mut r, "SETBIT k 17 1"), ":0\r\n");
    assert_eq!(r.cmd(&[b"GET", b"k"]), bulk_bytes(b"\x80\x00\x40"));
    assert_eq!(cmd(&mut r, "GETBIT k 0"), ":1\r\n");
    assert_eq!(cmd(&mut r, "GETBIT k 1"), ":0\r\n");
    assert_eq!(cmd(&mut r, "GETBIT k 17"), ":1\r\n");
    // Past the end and on a missing key: 0, and nothing is created.
    assert_eq!(cmd(&mut r, "GETBIT k 100"), ":0\r\n");
    assert_eq!(cmd(&mut r, "GETBIT nokey 4294967295"), ":0\r\n");
    assert_eq!(cmd(&mut r, "EXISTS nokey"), ":0\r\n");

    // Clearing a bit past the end still grows the string with zeros.
    assert_eq!(cmd(&mut r, "SETBIT k 39 0"), ":0\r\n");
    assert_eq!(r.cmd(&[b"GET", b"k"]), bulk_bytes(b"\x80\x00\x40\x00\x00"));

    // An integer value is changed through its text and becomes raw.
    assert_eq!(cmd(&mut r, "SET n 12"), "+OK\r\n");
    assert_eq!(cmd(&mut r, "OBJECT ENCODING n"), "$3\r\nint\r\n");
    assert_eq!(cmd(&mut r, "GETBIT n 2"), ":1\r\n"); // '1' = 0x31
    assert_eq!(cmd(&mut r, "GETBIT n 0"), ":0\r\n");
    assert_eq!(cmd(&mut r, "OBJECT ENCODING n"), "$3\r\nint\r\n");
    assert_eq!(cmd(&mut r, "SETBIT n 6 1"), ":0\r\n");
    assert_eq!(r.cmd(&[b"GET", b"n"]), bulk_bytes(b"32"));
    assert_eq!(cmd(&mut r, "OBJECT ENCODING n"), "$3\r\nraw\r\n");
    // An embstr becomes raw too, even when the bit does not change.
    assert_eq!(cmd(&mut r, "SET e abc"), "+OK\r\n");
    assert_eq!(cmd(&mut r, "SETBIT e 1 1"), ":1\r\n");
    assert_eq!(cmd(&mut r, "OBJECT ENCODING e"), "$3\r\nraw\r\n");

    // SETBIT keeps the TTL.
    assert_eq!(cmd(&mut r, "SET t hello PX 100000"), "+OK\r\n");
    assert_eq!(cmd(&mut r, "SETBIT t 0 1"), ":0\r\n");
    let ttl = cmd(&mut r, "PTTL t");
    assert!(ttl.starts_with(':') && !ttl.starts_with(":-"), "{ttl}");
    assert_eq!(r.cmd(&[b"GET", b"t"]), bulk_bytes(b"\xe8ello"));

    // Binary values with NUL and high bytes.
    assert_eq!(r.cmd(&[b"SET", b"bin", b"\x00\xff\x00"]), b"+OK\r\n");
    assert_eq!(cmd(&mut r, "GETBIT bin 8"), ":1\r\n");
    assert_eq!(cmd(&mut r, "GETBIT bin 7"), ":0\r\n");
    assert_eq!(cmd(&mut r, "SETBIT bin 23 1"), ":0\r\n");
    assert_eq!(cmd(&mut r, "SETBIT bin 8 0"), ":1\r\n");
    assert_eq!(r.cmd(&[b"GET", b"bin"]), bulk_bytes(b"\x00\x7f\x01"));

    // Errors: offset first, then the bit value.
    assert_eq!(cmd(&mut r, "SETBIT k -1 1"), OFFSET_ERR);
    assert_eq!(cmd(&mut r, "SETBIT k x 1"), OFFSET_ERR);
    assert_eq!(cmd(&mut r, "SETBIT k 1.5 1"), OFFSET_ERR);
    assert_eq!(cmd(&mut r, "SETBIT k x 5"), OFFSET_ERR);
    assert_eq!(cmd(&mut r, "SETBIT k 1 2"), BIT_ERR);
    assert_eq!(cmd(&mut r, "SETBIT k 1 -1"), BIT_ERR);
    assert_eq!(cmd(&mut r, "SETBIT k 1 x"), BIT_ERR);
    assert_eq!(cmd(&mut r, "SETBIT k 1 01"), BIT_ERR);
    assert_eq!(cmd(&mut r, "GETBIT k -1"), OFFSET_ERR);
    assert_eq!(cmd(&mut r, "GETBIT k 007"), OFFSET_ERR);
    assert_eq!(cmd(&mut r, "GETBIT k #1"), OFFSET_ERR);
    assert_eq!(cmd(&mut r, "SETBIT k 1"), "-ERR wrong number of arguments for 'setbit' command\r\n");
    assert_eq!(cmd(&mut r, "GETBIT k"), "-ERR wrong number of arguments for 'getbit' command\r\n");
}

#[test]
fn offsets_near_the_limits_are_refused_cleanly() {
    let server = Server::start_sharded();
    let mut r = server.raw();
    // The default proto-max-bulk-len (512mb) allows bit offsets below 2^32.
    for offset in ["4294967296", "9223372036854775807", "9223372036854775808", "18446744073709551616"] {
        assert_eq!(cmd(&mut r, &format!("SETBIT k {offset} 1")), OFFSET_ERR);
        assert_eq!(cmd(&mut r, &format!("GETBIT k {offset}")), OFFSET_ERR);
        assert_eq!(cmd(&mut r, &format!("BITFIELD k SET u8 {offset} 1")), OFFSET_ERR);
        assert_eq!(cmd(&mut r, &format!("BITFIELD k GET u8 {offset}")), OFFSET_ERR);
    }
    // `#n` is n times the width: #536870912 * 8 = 2^32.
    assert_eq!(cmd(&mut r, "BITFIELD k SET u8 #536870912 1"), OFFSET_ERR);
    assert_eq!(cmd(&mut r, "BITFIELD k GET i64 #67108864"), OFFSET_ERR);
    assert_eq!(cmd(&mut r, "BITFIELD k SET i64 #9223372036854775807 1"), OFFSET_ERR);
    assert_eq!(cmd(&mut r, "BITFIELD k GET u8 #-1"), OFFSET_ERR);
    // Reads at the last allowed offset touch no memory.
    assert_eq!(cmd(&mut r, "GETBIT k 4294967295"), ":0\r\n");
    assert_eq!(cmd(&mut r, "BITFIELD k GET u8 4294967295 GET i64 #67108863"), "*2\r\n:0\r\n:0\r\n");
    assert_eq!(cmd(&mut r, "BITFIELD_RO k GET u63 4294967295"), "*1\r\n:0\r\n");
    assert_eq!(cmd(&mut r, "EXISTS k"), ":0\r\n");
    assert_eq!(cmd(&mut r, "PING"), "+PONG\r\n");
}

#[test]
fn offsets_follow_proto_max_bulk_len() {
    let server = Server::start(&["--threads", "4", "--proto-max-bulk-len", "1mb"]);
    let mut r = server.raw();
    // The last bit of a 1mb string is allowed, one more is not.
    assert_eq!(cmd(&mut r, "SETBIT k 8388608 1"), OFFSET_ERR);
    assert_eq!(cmd(&mut r, "EXISTS k"), ":0\r\n");
    assert_eq!(cmd(&mut r, "SETBIT k 8388607 1"), ":0\r\n");
    let mut conn = server.client();
    let value: Vec<u8> = redis::cmd("GET").arg("k").query(&mut conn).unwrap();
    assert_eq!(value.len(), 1024 * 1024);
    assert_eq!(value[value.len() - 1], 1);
    assert_eq!(cmd(&mut r, "BITCOUNT k"), ":1\r\n");
    assert_eq!(cmd(&mut r, "BITPOS k 1"), ":8388607\r\n");
    assert_eq!(cmd(&mut r, "BITPOS k 0 -1"), ":8388600\r\n");
    assert_eq!(cmd(&mut r, "BITPOS k 0 0 -1 BIT"), ":0\r\n");
    assert_eq!(cmd(&mut r, "BITPOS k 1 -1 -1 BIT"), ":8388607\r\n");
    assert_eq!(cmd(&mut r, "BITFIELD k SET u8 #1048576 1"), OFFSET_ERR);
    assert_eq!(cmd(&mut r, "BITFIELD k GET u8 8388608"), OFFSET_ERR);
    assert_eq!(cmd(&mut r, "BITFIELD k GET u8 8388607"), "*1\r\n:128\r\n");
    assert_eq!(cmd(&mut r, "GETBIT k 8388608"), OFFSET_ERR);
}

#[test]
fn bitcount() {
    let server = Server::start_sharded();
    let mut r = server.raw();
    assert_eq!(cmd(&mut r, "SET s foobar"), "+OK\r\n");
    assert_eq!(cmd(&mut r, "BITCOUNT s"), ":26\r\n");
    assert_eq!(cmd(&mut r, "BITCOUNT s 0 0"), ":4\r\n");
    assert_eq!(cmd(&mut r, "BITCOUNT s 1 1"), ":6\r\n");
    assert_eq!(cmd(&mut r, "BITCOUNT s 1 1 BYTE"), ":6\r\n");
    assert_eq!(cmd(&mut r, "BITCOUNT s 5 30 BIT"), ":17\r\n");
    assert_eq!(cmd(&mut r, "BITCOUNT s 5 30 bit"), ":17\r\n");
    assert_eq!(cmd(&mut r, "BITCOUNT s 0 -1 bit"), ":26\r\n");
    assert_eq!(cmd(&mut r, "BITCOUNT s 1 1 BIT"), ":1\r\n");
    assert_eq!(cmd(&mut r, "BITCOUNT s 0 0 BIT"), ":0\r\n");
    assert_eq!(cmd(&mut r, "BITCOUNT s -2 -1"), ":7\r\n");
    assert_eq!(cmd(&mut r, "BITCOUNT s -100 100"), ":26\r\n");
    assert_eq!(cmd(&mut r, "BITCOUNT s 3 1"), ":0\r\n");
    assert_eq!(cmd(&mut r, "BITCOUNT s 6 10"), ":0\r\n");
    assert_eq!(cmd(&mut r, "BITCOUNT s -1 -2"), ":0\r\n");
    // Redis 7.0 answers 0 for a negative reversed range before reading the unit.
    assert_eq!(cmd(&mut r, "BITCOUNT s -1 -2 foo"), ":0\r\n");
    assert_eq!(cmd(&mut r, "BITCOUNT s 0 1 foo"), SYNTAX);
    assert_eq!(cmd(&mut r, "BITCOUNT s 1"), SYNTAX);
    assert_eq!(cmd(&mut r, "BITCOUNT s 1 2 BIT x"), SYNTAX);
    assert_eq!(cmd(&mut r, "BITCOUNT s a 1"), NOT_INT);
    assert_eq!(cmd(&mut r, "BITCOUNT s 1 a"), NOT_INT);
    // A missing key counts 0 before its arguments are read (Redis 7.0).
    assert_eq!(cmd(&mut r, "BITCOUNT nokey"), ":0\r\n");
    assert_eq!(cmd(&mut r, "BITCOUNT nokey a b"), ":0\r\n");
    assert_eq!(cmd(&mut r, "BITCOUNT nokey 1"), ":0\r\n");
    // Empty strings and integers.
    assert_eq!(cmd(&mut r, "SET empty "), "+OK\r\n");
    assert_eq!(cmd(&mut r, "BITCOUNT empty"), ":0\r\n");
    assert_eq!(cmd(&mut r, "BITCOUNT empty 0 -1"), ":0\r\n");
    assert_eq!(cmd(&mut r, "SET n 255"), "+OK\r\n");
    assert_eq!(cmd(&mut r, "BITCOUNT n"), ":11\r\n");
    // Binary and long values (the word-at-a-time path).
    let mut long = vec![0xffu8; 1000];
    long.extend_from_slice(&[0x0f; 999]);
    long[500] = 0;
    assert_eq!(r.cmd(&[b"SET", b"long", &long]), b"+OK\r\n");
    assert_eq!(cmd(&mut r, "BITCOUNT long"), format!(":{}\r\n", 999 * 8 + 999 * 4));
    assert_eq!(cmd(&mut r, "BITCOUNT long 3 1500"), format!(":{}\r\n", 996 * 8 + 501 * 4));
    assert_eq!(cmd(&mut r, "BITCOUNT long 13 12003 BIT"), format!(":{}\r\n", 3 + 997 * 8 + 500 * 4));
}

#[test]
fn bitpos() {
    let server = Server::start_sharded();
    let mut r = server.raw();
    // The documented examples.
    assert_eq!(r.cmd(&[b"SET", b"mykey", b"\xff\xf0\x00"]), b"+OK\r\n");
    assert_eq!(cmd(&mut r, "BITPOS mykey 0"), ":12\r\n");
    assert_eq!(r.cmd(&[b"SET", b"mykey", b"\x00\xff\xf0"]), b"+OK\r\n");
    assert_eq!(cmd(&mut r, "BITPOS mykey 1 0"), ":8\r\n");
    assert_eq!(cmd(&mut r, "BITPOS mykey 1 2"), ":16\r\n");
    assert_eq!(cmd(&mut r, "BITPOS mykey 1 2 -1 BYTE"), ":16\r\n");
    assert_eq!(cmd(&mut r, "BITPOS mykey 1 7 15 BIT"), ":8\r\n");
    assert_eq!(r.cmd(&[b"SET", b"mykey", b"\x00\x00\x00"]), b"+OK\r\n");
    assert_eq!(cmd(&mut r, "BITPOS mykey 1"), ":-1\r\n");
    assert_eq!(cmd(&mut r, "BITPOS mykey 1 7 -3 BIT"), ":-1\r\n");

    // Clear bits past the end: without an end the string reads as zero-padded on the right;
    // with an end, the range has no clear bit.
    assert_eq!(r.cmd(&[b"SET", b"ones", b"\xff\xff\xff"]), b"+OK\r\n");
    assert_eq!(cmd(&mut r, "BITPOS ones 0"), ":24\r\n");
    assert_eq!(cmd(&mut r, "BITPOS ones 0 1"), ":24\r\n");
    assert_eq!(cmd(&mut r, "BITPOS ones 0 -1"), ":24\r\n");
    assert_eq!(cmd(&mut r, "BITPOS ones 0 0 -1"), ":-1\r\n");
    assert_eq!(cmd(&mut r, "BITPOS ones 0 0 2 BYTE"), ":-1\r\n");
    assert_eq!(cmd(&mut r, "BITPOS ones 0 0 23 BIT"), ":-1\r\n");
    assert_eq!(cmd(&mut r, "BITPOS ones 0 5 100"), ":-1\r\n");
    assert_eq!(cmd(&mut r, "BITPOS ones 1 1"), ":8\r\n");
    assert_eq!(cmd(&mut r, "BITPOS ones 1 3"), ":-1\r\n");
    assert_eq!(cmd(&mut r, "BITPOS ones 0 3"), ":-1\r\n");

    // Bit ranges with partial first and last bytes.
    assert_eq!(r.cmd(&[b"SET", b"ff", b"\xff\xf0\x00"]), b"+OK\r\n");
    assert_eq!(cmd(&mut r, "BITPOS ff 0 0 11 bit"), ":-1\r\n");
    assert_eq!(cmd(&mut r, "BITPOS ff 0 0 12 bit"), ":12\r\n");
    assert_eq!(cmd(&mut r, "BITPOS ff 0 3 7 BIT"), ":-1\r\n");
    assert_eq!(cmd(&mut r, "BITPOS ff 1 7 15 bit"), ":7\r\n");
    assert_eq!(cmd(&mut r, "BITPOS ff 1 12 23 bit"), ":-1\r\n");
    assert_eq!(cmd(&mut r, "BITPOS ff 0 20 23 bit"), ":20\r\n");
    assert_eq!(cmd(&mut r, "BITPOS ff 0 -5 -1 bit"), ":19\r\n");
    assert_eq!(cmd(&mut r, "BITPOS ff 1 -100 -1 bit"), ":0\r\n");
    assert_eq!(cmd(&mut r, "BITPOS ff 0 100 200 bit"), ":-1\r\n");
    assert_eq!(cmd(&mut r, "BITPOS ff 0 2 1"), ":-1\r\n");

    // A missing key is all zeros, answered before the range is read (Redis 7.0).
    assert_eq!(cmd(&mut r, "BITPOS nokey 0"), ":0\r\n");
    assert_eq!(cmd(&mut r, "BITPOS nokey 1"), ":-1\r\n");
    assert_eq!(cmd(&mut r, "BITPOS nokey 1 a b c"), ":-1\r\n");
    // An empty string has no bit at all.
    assert_eq!(cmd(&mut r, "SET empty "), "+OK\r\n");
    assert_eq!(cmd(&mut r, "BITPOS empty 0"), ":-1\r\n");
    assert_eq!(cmd(&mut r, "BITPOS empty 1"), ":-1\r\n");
    // An integer is searched through its text: "0" = 0x30.
    assert_eq!(cmd(&mut r, "SET n 0"), "+OK\r\n");
    assert_eq!(cmd(&mut r, "BITPOS n 1"), ":2\r\n");

    // Long runs (the word-skipping path).
    let mut long = vec![0u8; 777];
    long[700] = 0x04;
    assert_eq!(r.cmd(&[b"SET", b"zeros", &long]), b"+OK\r\n");
    assert_eq!(cmd(&mut r, "BITPOS zeros 1"), format!(":{}\r\n", 700 * 8 + 5));
    assert_eq!(cmd(&mut r, "BITPOS zeros 1 13 5602 BIT"), ":-1\r\n");
    assert_eq!(cmd(&mut r, "BITPOS zeros 1 13 5605 BIT"), ":5605\r\n");
    assert_eq!(cmd(&mut r, "BITPOS zeros 0 9"), ":72\r\n");
    let ones = vec![0xffu8; 777];
    assert_eq!(r.cmd(&[b"SET", b"ones", &ones]), b"+OK\r\n");
    assert_eq!(cmd(&mut r, "BITPOS ones 0"), format!(":{}\r\n", 777 * 8));
    assert_eq!(cmd(&mut r, "BITPOS ones 0 3 -1"), ":-1\r\n");

    // Errors.
    assert_eq!(cmd(&mut r, "BITPOS ff 2"), "-ERR The bit argument must be 1 or 0.\r\n");
    assert_eq!(cmd(&mut r, "BITPOS nokey -1"), "-ERR The bit argument must be 1 or 0.\r\n");
    assert_eq!(cmd(&mut r, "BITPOS ff x"), NOT_INT);
    assert_eq!(cmd(&mut r, "BITPOS ff 1 a"), NOT_INT);
    assert_eq!(cmd(&mut r, "BITPOS ff 1 0 a"), NOT_INT);
    assert_eq!(cmd(&mut r, "BITPOS ff 1 0 1 foo"), SYNTAX);
    assert_eq!(cmd(&mut r, "BITPOS ff 1 0 a foo"), SYNTAX);
    assert_eq!(cmd(&mut r, "BITPOS ff 1 0 1 BIT x"), SYNTAX);
    assert_eq!(cmd(&mut r, "BITPOS ff"), "-ERR wrong number of arguments for 'bitpos' command\r\n");
}

#[test]
fn bitop() {
    let server = Server::start_sharded();
    let mut r = server.raw();
    assert_eq!(r.cmd(&[b"SET", b"{t}a", b"\xff\x0f\x01"]), b"+OK\r\n");
    assert_eq!(r.cmd(&[b"SET", b"{t}b", b"\x0f\xff"]), b"+OK\r\n");
    assert_eq!(r.cmd(&[b"SET", b"{t}c", b"\x01"]), b"+OK\r\n");
    assert_eq!(cmd(&mut r, "BITOP AND {t}d {t}a {t}b"), ":3\r\n");
    assert_eq!(r.cmd(&[b"GET", b"{t}d"]), bulk_bytes(b"\x0f\x0f\x00"));
    assert_eq!(cmd(&mut r, "OBJECT ENCODING {t}d"), "$3\r\nraw\r\n");
    assert_eq!(cmd(&mut r, "BITOP or {t}d {t}a {t}b {t}c"), ":3\r\n");
    assert_eq!(r.cmd(&[b"GET", b"{t}d"]), bulk_bytes(b"\xff\xff\x01"));
    assert_eq!(cmd(&mut r, "BITOP Xor {t}d {t}a {t}b {t}c"), ":3\r\n");
    assert_eq!(r.cmd(&[b"GET", b"{t}d"]), bulk_bytes(b"\xf1\xf0\x01"));
    assert_eq!(cmd(&mut r, "BITOP NOT {t}d {t}a"), ":3\r\n");
    assert_eq!(r.cmd(&[b"GET", b"{t}d"]), bulk_bytes(b"\x00\xf0\xfe"));
    // In place: the destination is one of the sources.
    assert_eq!(cmd(&mut r, "BITOP NOT {t}a {t}a"), ":3\r\n");
    assert_eq!(r.cmd(&[b"GET", b"{t}a"]), bulk_bytes(b"\x00\xf0\xfe"));
    // Missing sources read as empty strings; AND with one is all zeros.
    assert_eq!(cmd(&mut r, "BITOP AND {t}d {t}b {t}none"), ":2\r\n");
    assert_eq!(r.cmd(&[b"GET", b"{t}d"]), bulk_bytes(b"\x00\x00"));
    assert_eq!(cmd(&mut r, "BITOP OR {t}d {t}none {t}c"), ":1\r\n");
    assert_eq!(r.cmd(&[b"GET", b"{t}d"]), bulk_bytes(b"\x01"));
    // Integers are operated on through their text.
    assert_eq!(cmd(&mut r, "SET {t}n 12"), "+OK\r\n");
    assert_eq!(cmd(&mut r, "BITOP XOR {t}d {t}n {t}c"), ":2\r\n");
    assert_eq!(r.cmd(&[b"GET", b"{t}d"]), bulk_bytes(b"02"));
    // The destination loses its TTL and any old value.
    assert_eq!(cmd(&mut r, "PEXPIRE {t}d 100000"), ":1\r\n");
    assert_eq!(cmd(&mut r, "BITOP OR {t}d {t}c"), ":1\r\n");
    assert_eq!(cmd(&mut r, "PTTL {t}d"), ":-1\r\n");
    // An empty result deletes the destination.
    assert_eq!(cmd(&mut r, "BITOP OR {t}d {t}none {t}none2"), ":0\r\n");
    assert_eq!(cmd(&mut r, "EXISTS {t}d"), ":0\r\n");
    assert_eq!(cmd(&mut r, "BITOP NOT {t}d {t}none"), ":0\r\n");
    assert_eq!(cmd(&mut r, "EXISTS {t}d"), ":0\r\n");
    assert_eq!(cmd(&mut r, "SET {t}e "), "+OK\r\n");
    assert_eq!(cmd(&mut r, "SET {t}d x"), "+OK\r\n");
    assert_eq!(cmd(&mut r, "BITOP AND {t}d {t}e"), ":0\r\n");
    assert_eq!(cmd(&mut r, "EXISTS {t}d"), ":0\r\n");
    // Long values (the vectorised path), with different lengths.
    let x: Vec<u8> = (0..1000u32).map(|i| (i * 7) as u8).collect();
    let y: Vec<u8> = (0..777u32).map(|i| (i * 13 + 5) as u8).collect();
    assert_eq!(r.cmd(&[b"SET", b"{t}x", &x]), b"+OK\r\n");
    assert_eq!(r.cmd(&[b"SET", b"{t}y", &y]), b"+OK\r\n");
    let at = |v: &[u8], i: usize| v.get(i).copied().unwrap_or(0);
    for (op, f) in BYTE_OPS {
        assert_eq!(cmd(&mut r, &format!("BITOP {op} {{t}}d {{t}}x {{t}}y")), ":1000\r\n");
        let expected: Vec<u8> = (0..1000).map(|i| f(at(&x, i), at(&y, i))).collect();
        assert_eq!(r.cmd(&[b"GET", b"{t}d"]), bulk_bytes(&expected), "{op}");
        assert_eq!(cmd(&mut r, &format!("BITOP {op} {{t}}d {{t}}y {{t}}x")), ":1000\r\n");
        assert_eq!(r.cmd(&[b"GET", b"{t}d"]), bulk_bytes(&expected), "{op} reversed");
    }
    // Errors.
    assert_eq!(cmd(&mut r, "BITOP NOT {t}d {t}a {t}b"), "-ERR BITOP NOT must be called with a single source key.\r\n");
    assert_eq!(cmd(&mut r, "BITOP NAND {t}d {t}a"), SYNTAX);
    assert_eq!(cmd(&mut r, "BITOP foo {t}d {t}a {t}b"), SYNTAX);
    assert_eq!(cmd(&mut r, "BITOP AND {t}d"), "-ERR wrong number of arguments for 'bitop' command\r\n");
}

#[test]
fn bitop_across_shards() {
    use tallkv::shard::slot::key_shard;
    let server = Server::start_sharded();
    let mut r = server.raw();
    let keys = ["a", "b", "c", "d", "e", "f", "g", "h"];
    let shards: std::collections::HashSet<usize> = keys.iter().map(|k| key_shard(k.as_bytes(), 4)).collect();
    assert!(shards.len() >= 3, "the keys should span shards: {shards:?}");
    let (dest, srcs) = (keys[0], &keys[1..]);
    assert!(srcs.iter().any(|k| key_shard(k.as_bytes(), 4) != key_shard(dest.as_bytes(), 4)));
    let values: Vec<Vec<u8>> =
        (0..srcs.len()).map(|i| (0..(10 + i * 9)).map(|j| (j * 31 + i * 17) as u8).collect()).collect();
    for (key, value) in srcs.iter().zip(&values) {
        assert_eq!(r.cmd(&[b"SET", key.as_bytes(), value]), b"+OK\r\n");
    }
    let maxlen = values.iter().map(Vec::len).max().unwrap_or(0);
    let at = |v: &[u8], i: usize| v.get(i).copied().unwrap_or(0);
    for (op, f) in BYTE_OPS {
        let line = format!("BITOP {op} {dest} {}", srcs.join(" "));
        assert_eq!(cmd(&mut r, &line), format!(":{maxlen}\r\n"));
        let expected: Vec<u8> =
            (0..maxlen).map(|i| values[1..].iter().fold(at(&values[0], i), |acc, v| f(acc, at(v, i)))).collect();
        assert_eq!(r.cmd(&[b"GET", dest.as_bytes()]), bulk_bytes(&expected), "{op}");
        assert_eq!(cmd(&mut r, &format!("OBJECT ENCODING {dest}")), "$3\r\nraw\r\n");
    }
    // The sources are unchanged and still readable on their own shards.
    for (key, value) in srcs.iter().zip(&values) {
        assert_eq!(r.cmd(&[b"GET", key.as_bytes()]), bulk_bytes(value));
    }
    // NOT from another shard.
    let other = srcs.iter().find(|k| key_shard(k.as_bytes(), 4) != key_shard(dest.as_bytes(), 4)).unwrap();
    let idx = srcs.iter().position(|k| k == other).unwrap();
    assert_eq!(cmd(&mut r, &format!("BITOP NOT {dest} {other}")), format!(":{}\r\n", values[idx].len()));
    let inverted: Vec<u8> = values[idx].iter().map(|v| !v).collect();
    assert_eq!(r.cmd(&[b"GET", dest.as_bytes()]), bulk_bytes(&inverted));
    // An empty result deletes a destination on another shard than the sources.
    assert_eq!(cmd(&mut r, &format!("BITOP AND {dest} {other} nothing-here")), format!(":{}\r\n", values[idx].len()));
    assert_eq!(cmd(&mut r, &format!("BITOP OR {dest} x y z")), ":0\r\n");
    assert_eq!(cmd(&mut r, &format!("EXISTS {dest}")), ":0\r\n");
    // Errors across shards.
    assert_eq!(
        cmd(&mut r, &format!("BITOP NOT {dest} {}", srcs.join(" "))),
        "-ERR BITOP NOT must be called with a single source key.\r\n"
    );
    assert_eq!(cmd(&mut r, &format!("BITOP FOO {dest} {}", srcs.join(" "))), SYNTAX);
}

#[test]
fn bitfield_get_set_incrby() {
    let server = Server::start_sharded();
    let mut r = server.raw();
    // Missing key: GET only reads zeros and creates nothing.
    assert_eq!(cmd(&mut r, "BITFIELD k GET u8 0 GET i64 100"), "*2\r\n:0\r\n:0\r\n");
    assert_eq!(cmd(&mut r, "EXISTS k"), ":0\r\n");
    assert_eq!(cmd(&mut r, "BITFIELD k"), "*0\r\n");
    assert_eq!(cmd(&mut r, "BITFIELD k OVERFLOW SAT"), "*0\r\n");
    assert_eq!(cmd(&mut r, "EXISTS k"), ":0\r\n");
    // SET replies with the old value; the string grows to the farthest written bit.
    assert_eq!(cmd(&mut r, "BITFIELD k SET u5 7 23 GET u5 7 GET u8 0 GET u8 8"), "*4\r\n:0\r\n:23\r\n:1\r\n:112\r\n");
    assert_eq!(r.cmd(&[b"GET", b"k"]), bulk_bytes(b"\x01\x70"));
    assert_eq!(cmd(&mut r, "OBJECT ENCODING k"), "$3\r\nraw\r\n");
    assert_eq!(
        cmd(&mut r, "BITFIELD k SET i8 #1 -1 GET i8 #1 GET u8 #1 GET i4 12"),
        "*4\r\n:112\r\n:-1\r\n:255\r\n:-1\r\n"
    );
    // INCRBY replies with the new value; subcommands are case-insensitive.
    assert_eq!(cmd(&mut r, "bitfield k incrby u8 0 10 Incrby i8 #1 -5 get u8 0"), "*3\r\n:11\r\n:-6\r\n:11\r\n");
    // OVERFLOW WRAP (the default).
    assert_eq!(cmd(&mut r, "BITFIELD w SET u8 0 255 INCRBY u8 0 10"), "*2\r\n:0\r\n:9\r\n");
    assert_eq!(cmd(&mut r, "BITFIELD w INCRBY u8 0 -10 SET i8 0 127 INCRBY i8 0 1"), "*3\r\n:255\r\n:-1\r\n:-128\r\n");
    assert_eq!(
        cmd(&mut r, "BITFIELD w SET u8 0 -1 GET u8 0 SET i8 0 200 GET i8 0"),
        "*4\r\n:128\r\n:255\r\n:-1\r\n:-56\r\n"
    );
    // OVERFLOW SAT.
    assert_eq!(
        cmd(&mut r, "BITFIELD s OVERFLOW SAT SET u8 0 -1 SET i8 8 200 SET i8 8 -200 INCRBY u8 0 -300 INCRBY u8 0 1000"),
        "*5\r\n:0\r\n:0\r\n:127\r\n:0\r\n:255\r\n"
    );
    assert_eq!(cmd(&mut r, "BITFIELD s GET i8 8"), "*1\r\n:-128\r\n");
    // OVERFLOW FAIL: nil and no write; it applies to the following operations only.
    assert_eq!(
        cmd(
            &mut r,
            "BITFIELD f SET u2 0 3 INCRBY u2 0 1 OVERFLOW FAIL INCRBY u2 0 5 INCRBY u2 0 -1 SET u2 0 4 GET u2 0"
        ),
        "*6\r\n:0\r\n:0\r\n$-1\r\n$-1\r\n$-1\r\n:0\r\n"
    );
    assert_eq!(
        cmd(&mut r, "BITFIELD f SET u2 0 3 OVERFLOW FAIL INCRBY u2 0 1 OVERFLOW WRAP INCRBY u2 0 1"),
        "*3\r\n:0\r\n$-1\r\n:0\r\n"
    );
    assert_eq!(cmd(&mut r, "BITFIELD f OVERFLOW FAIL INCRBY u2 0 2 INCRBY u2 0 -1"), "*2\r\n:2\r\n:1\r\n");
    assert_eq!(cmd(&mut r, "BITFIELD f OVERFLOW FAIL INCRBY u2 0 2 SET u2 0 3"), "*2\r\n:3\r\n:3\r\n");
    // A key is created even when every write is refused.
    assert_eq!(cmd(&mut r, "BITFIELD created OVERFLOW FAIL INCRBY u2 0 10"), "*1\r\n$-1\r\n");
    assert_eq!(r.cmd(&[b"GET", b"created"]), bulk_bytes(b"\x00"));
    // i64 and u63 limits.
    assert_eq!(
        cmd(
            &mut r,
            "BITFIELD z INCRBY i64 0 9223372036854775807 INCRBY i64 0 1 OVERFLOW SAT INCRBY i64 0 -1 INCRBY i64 0 -9223372036854775808 INCRBY i64 0 -5"
        ),
        "*5\r\n:9223372036854775807\r\n:-9223372036854775808\r\n:-9223372036854775808\r\n:-9223372036854775808\r\n:-9223372036854775808\r\n"
    );
    assert_eq!(
        cmd(&mut r, "BITFIELD z OVERFLOW FAIL INCRBY i64 0 -1 SET i64 0 9223372036854775807 INCRBY i64 0 1 GET i64 0"),
        "*4\r\n$-1\r\n:-9223372036854775808\r\n$-1\r\n:9223372036854775807\r\n"
    );
    assert_eq!(
        cmd(
            &mut r,
            "BITFIELD u SET u63 0 9223372036854775807 INCRBY u63 0 1 OVERFLOW SAT INCRBY u63 0 -1 SET u63 0 -5 GET u63 0"
        ),
        "*5\r\n:0\r\n:0\r\n:0\r\n:0\r\n:9223372036854775807\r\n"
    );
    assert_eq!(
        cmd(&mut r, "BITFIELD u OVERFLOW WRAP INCRBY i1 0 1 INCRBY u1 0 1 SET i1 0 -1"),
        "*3\r\n:0\r\n:1\r\n:-1\r\n"
    );
    // Unaligned wide fields spanning 9 bytes.
    assert_eq!(
        cmd(&mut r, "BITFIELD wide SET i64 3 -2 GET i64 3 GET u63 4 GET u8 0 GET u8 64"),
        "*5\r\n:0\r\n:-2\r\n:9223372036854775806\r\n:31\r\n:192\r\n"
    );
    // An integer value is read through its text; only writes make it raw.
    assert_eq!(cmd(&mut r, "SET n 12"), "+OK\r\n");
    assert_eq!(cmd(&mut r, "BITFIELD n GET u8 0 GET u8 8 GET u8 16"), "*3\r\n:49\r\n:50\r\n:0\r\n");
    assert_eq!(cmd(&mut r, "OBJECT ENCODING n"), "$3\r\nint\r\n");
    assert_eq!(cmd(&mut r, "BITFIELD n SET u8 8 51"), "*1\r\n:50\r\n");
    assert_eq!(r.cmd(&[b"GET", b"n"]), bulk_bytes(b"13"));
    assert_eq!(cmd(&mut r, "OBJECT ENCODING n"), "$3\r\nraw\r\n");
    // A write keeps the TTL.
    assert_eq!(cmd(&mut r, "PEXPIRE n 100000"), ":1\r\n");
    assert_eq!(cmd(&mut r, "BITFIELD n INCRBY u8 8 1"), "*1\r\n:52\r\n");
    let ttl = cmd(&mut r, "PTTL n");
    assert!(ttl.starts_with(':') && !ttl.starts_with(":-"), "{ttl}");
    // Binary values.
    assert_eq!(r.cmd(&[b"SET", b"bin", b"\x00\xff\x80"]), b"+OK\r\n");
    assert_eq!(cmd(&mut r, "BITFIELD bin GET i16 4 GET u4 #5 SET u4 #0 15"), "*3\r\n:4088\r\n:0\r\n:0\r\n");
    assert_eq!(r.cmd(&[b"GET", b"bin"]), bulk_bytes(b"\xf0\xff\x80"));
    // `#n` multiplies by the width and wraps as Redis does: 2305843009213693953 * 8 = 2^64 + 8.
    assert_eq!(cmd(&mut r, "BITFIELD bin GET u8 #2305843009213693953"), "*1\r\n:255\r\n");

    // RESP3: a refused write is a null.
    assert!(cmd(&mut r, "HELLO 3").starts_with('%'));
    assert_eq!(cmd(&mut r, "BITFIELD f OVERFLOW FAIL INCRBY u2 0 1 GET u2 0"), "*2\r\n_\r\n:3\r\n");
}

#[test]
fn bitfield_errors() {
    let server = Server::start_sharded();
    let mut r = server.raw();
    for bad in ["i65", "u64", "u0", "i0", "I8", "U8", "8", "x8", "i", "u", "i-8", "u+8", "i08", "i8x"] {
        assert_eq!(cmd(&mut r, &format!("BITFIELD k GET {bad} 0")), TYPE_ERR, "{bad}");
        assert_eq!(cmd(&mut r, &format!("BITFIELD k SET {bad} 0 1")), TYPE_ERR, "{bad}");
    }
    assert_eq!(cmd(&mut r, "BITFIELD k GET  0"), TYPE_ERR);
    assert_eq!(cmd(&mut r, "BITFIELD k GET u8 -1"), OFFSET_ERR);
    assert_eq!(cmd(&mut r, "BITFIELD k GET u8 x"), OFFSET_ERR);
    assert_eq!(cmd(&mut r, "BITFIELD k GET u8 #"), OFFSET_ERR);
    assert_eq!(cmd(&mut r, "BITFIELD k GET u8 ##1"), OFFSET_ERR);
    assert_eq!(cmd(&mut r, "BITFIELD k GET u8 1.0"), OFFSET_ERR);
    assert_eq!(cmd(&mut r, "BITFIELD k SET i8 0 x"), NOT_INT);
    assert_eq!(cmd(&mut r, "BITFIELD k INCRBY i8 0 9223372036854775808"), NOT_INT);
    assert_eq!(cmd(&mut r, "BITFIELD k OVERFLOW foo"), "-ERR Invalid OVERFLOW type specified\r\n");
    assert_eq!(cmd(&mut r, "BITFIELD k OVERFLOW"), SYNTAX);
    assert_eq!(cmd(&mut r, "BITFIELD k GET i8"), SYNTAX);
    assert_eq!(cmd(&mut r, "BITFIELD k SET i8 0"), SYNTAX);
    assert_eq!(cmd(&mut r, "BITFIELD k INCRBY i8 0"), SYNTAX);
    assert_eq!(cmd(&mut r, "BITFIELD k foo"), SYNTAX);
    assert_eq!(cmd(&mut r, "BITFIELD k GET u8 0 bar 1 2"), SYNTAX);
    // The first bad operation is reported and nothing runs.
    assert_eq!(cmd(&mut r, "BITFIELD k SET u8 0 1 GET i99 0"), TYPE_ERR);
    assert_eq!(cmd(&mut r, "EXISTS k"), ":0\r\n");
    assert_eq!(cmd(&mut r, "BITFIELD"), "-ERR wrong number of arguments for 'bitfield' command\r\n");
}

#[test]
fn bitfield_ro() {
    let server = Server::start_sharded();
    let mut r = server.raw();
    assert_eq!(r.cmd(&[b"SET", b"k", b"\x01\x70"]), b"+OK\r\n");
    assert_eq!(cmd(&mut r, "BITFIELD_RO k GET u5 7 GET i8 #1 get u16 0"), "*3\r\n:23\r\n:112\r\n:368\r\n");
    assert_eq!(cmd(&mut r, "BITFIELD_RO k"), "*0\r\n");
    assert_eq!(cmd(&mut r, "BITFIELD_RO nokey GET u8 0"), "*1\r\n:0\r\n");
    assert_eq!(cmd(&mut r, "EXISTS nokey"), ":0\r\n");
    let ro_err = "-ERR BITFIELD_RO only supports the GET subcommand\r\n";
    assert_eq!(cmd(&mut r, "BITFIELD_RO k SET u8 0 1"), ro_err);
    assert_eq!(cmd(&mut r, "BITFIELD_RO k GET u8 0 INCRBY u8 0 1"), ro_err);
    assert_eq!(cmd(&mut r, "BITFIELD_RO nokey SET u8 0 1"), ro_err);
    assert_eq!(cmd(&mut r, "EXISTS nokey"), ":0\r\n");
    assert_eq!(r.cmd(&[b"GET", b"k"]), bulk_bytes(b"\x01\x70"));
    // OVERFLOW is accepted (it changes nothing for GET); parse errors come first.
    assert_eq!(cmd(&mut r, "BITFIELD_RO k OVERFLOW FAIL GET u8 0"), "*1\r\n:1\r\n");
    assert_eq!(cmd(&mut r, "BITFIELD_RO k SET u64 0 1"), TYPE_ERR);
    assert_eq!(cmd(&mut r, "BITFIELD_RO k GET u8 -1"), OFFSET_ERR);
    assert_eq!(cmd(&mut r, "BITFIELD_RO k foo"), SYNTAX);
    assert_eq!(cmd(&mut r, "BITFIELD_RO"), "-ERR wrong number of arguments for 'bitfield_ro' command\r\n");
}

#[test]
fn wrong_type() {
    let server = Server::start_sharded();
    let mut r = server.raw();
    if !make_non_string(&mut r, "{t}l") {
        eprintln!("no non-string type is implemented yet: WRONGTYPE checks skipped");
        return;
    }
    assert_eq!(cmd(&mut r, "SET {t}s abc"), "+OK\r\n");
    assert_eq!(cmd(&mut r, "SETBIT {t}l 0 1"), WRONGTYPE);
    assert_eq!(cmd(&mut r, "GETBIT {t}l 0"), WRONGTYPE);
    assert_eq!(cmd(&mut r, "BITCOUNT {t}l"), WRONGTYPE);
    assert_eq!(cmd(&mut r, "BITCOUNT {t}l 0 1"), WRONGTYPE);
    // Redis 7.0 checks the type before the range.
    assert_eq!(cmd(&mut r, "BITCOUNT {t}l x y"), WRONGTYPE);
    assert_eq!(cmd(&mut r, "BITPOS {t}l 1"), WRONGTYPE);
    assert_eq!(cmd(&mut r, "BITPOS {t}l 1 x"), WRONGTYPE);
    assert_eq!(cmd(&mut r, "BITPOS {t}l 3"), "-ERR The bit argument must be 1 or 0.\r\n");
    assert_eq!(cmd(&mut r, "BITOP AND {t}d {t}s {t}l"), WRONGTYPE);
    assert_eq!(cmd(&mut r, "EXISTS {t}d"), ":0\r\n");
    // A destination of another type is replaced.
    assert_eq!(cmd(&mut r, "BITOP OR {t}l {t}s"), ":3\r\n");
    assert_eq!(cmd(&mut r, "TYPE {t}l"), "+string\r\n");
    assert!(make_non_string(&mut r, "{t}l2"));
    assert_eq!(cmd(&mut r, "BITFIELD {t}l2 GET u8 0"), WRONGTYPE);
    assert_eq!(cmd(&mut r, "BITFIELD {t}l2 SET u8 0 1"), WRONGTYPE);
    assert_eq!(cmd(&mut r, "BITFIELD_RO {t}l2 GET u8 0"), WRONGTYPE);
    // Argument errors come before the type check.
    assert_eq!(cmd(&mut r, "BITFIELD {t}l2 GET i8 x"), OFFSET_ERR);
    assert_eq!(cmd(&mut r, "SETBIT {t}l2 0 x"), BIT_ERR);
    assert_eq!(cmd(&mut r, "BITFIELD_RO {t}l2 SET u8 0 1"), "-ERR BITFIELD_RO only supports the GET subcommand\r\n");
}
