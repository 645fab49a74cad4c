//! List commands against a 4-shard server: exact reply bytes (RESP2 and RESP3), error
//! texts, OBJECT ENCODING transitions, block boundaries checked against a model, a 1M
//! element list, cross-shard LMOVE/RPOPLPUSH/LMPOP and WRONGTYPE both ways.
//! Replies were checked against Redis 7.0.15 (encodings follow Redis 7.2's docs).

mod common;

use std::collections::VecDeque;

use common::{NOT_INT, Raw, SYNTAX, Server, WRONGTYPE, bulk, cmd, cmdv, key_on, shard_of};

#[track_caller]
fn check(r: &mut Raw, line: &str, expected: &str) {
    assert_eq!(cmd(r, line), expected, "{line}");
}

fn int(n: i64) -> String {
    format!(":{n}\r\n")
}

/// An array reply of bulk strings.
fn arr(items: &[&str]) -> String {
    let mut out = format!("*{}\r\n", items.len());
    for i in items {
        out.push_str(&bulk(i));
    }
    out
}

/// An array reply of integers.
fn ints(items: &[i64]) -> String {
    let mut out = format!("*{}\r\n", items.len());
    for i in items {
        out.push_str(&int(*i));
    }
    out
}

const OK: &str = "+OK\r\n";
const NIL: &str = "$-1\r\n";
const NIL_ARRAY: &str = "*-1\r\n";
const EMPTY: &str = "*0\r\n";

fn resp3(r: &mut Raw) {
    let hello = r.cmd(&[b"HELLO", b"3"]);
    assert!(hello.starts_with(b"%"));
}

#[test]
fn push_len_range_index() {
    let server = Server::start_sharded();
    let mut r = server.raw();
    check(&mut r, "LPUSH l a b c", &int(3));
    check(&mut r, "RPUSH l d e", &int(5));
    check(&mut r, "LRANGE l 0 -1", &arr(&["c", "b", "a", "d", "e"]));
    check(&mut r, "LLEN l", &int(5));
    check(&mut r, "LLEN nope", &int(0));
    check(&mut r, "LPUSHX nope a", &int(0));
    check(&mut r, "RPUSHX nope a", &int(0));
    check(&mut r, "EXISTS nope", &int(0));
    check(&mut r, "LPUSHX l x", &int(6));
    check(&mut r, "RPUSHX l y z", &int(8));
    check(&mut r, "LRANGE l -100 100", &arr(&["x", "c", "b", "a", "d", "e", "y", "z"]));
    check(&mut r, "LRANGE l 1 2", &arr(&["c", "b"]));
    check(&mut r, "LRANGE l -2 -1", &arr(&["y", "z"]));
    check(&mut r, "LRANGE l 5 2", EMPTY);
    check(&mut r, "LRANGE l 8 10", EMPTY);
    check(&mut r, "LRANGE l x 1", NOT_INT);
    check(&mut r, "LRANGE l 0 y", NOT_INT);
    check(&mut r, "LRANGE nope 0 -1", EMPTY);
    check(&mut r, "LRANGE nope x -1", NOT_INT);
    check(&mut r, "LRANGE l 0 9223372036854775807", &arr(&["x", "c", "b", "a", "d", "e", "y", "z"]));
    check(&mut r, "LRANGE l -9223372036854775808 0", &arr(&["x"]));
    check(&mut r, "LINDEX l 0", &bulk("x"));
    check(&mut r, "LINDEX l -1", &bulk("z"));
    check(&mut r, "LINDEX l 100", NIL);
    check(&mut r, "LINDEX l -100", NIL);
    check(&mut r, "LINDEX l -9223372036854775808", NIL);
    check(&mut r, "LINDEX l x", NOT_INT);
    check(&mut r, "LINDEX nope 0", NIL);
    check(&mut r, "LINDEX nope x", NIL);
    check(&mut r, "LPUSH", "-ERR wrong number of arguments for 'lpush' command\r\n");
    check(&mut r, "RPUSH k", "-ERR wrong number of arguments for 'rpush' command\r\n");
    // Binary-safe elements.
    assert_eq!(r.cmd(&[b"RPUSH", b"bin", b"a\0b\r\nc", b""]), b":2\r\n");
    assert_eq!(r.cmd(&[b"LRANGE", b"bin", b"0", b"-1"]), b"*2\r\n$6\r\na\0b\r\nc\r\n$0\r\n\r\n");
    // RESP3: nil is `_`.
    resp3(&mut r);
    check(&mut r, "LINDEX l 100", "_\r\n");
    check(&mut r, "LINDEX nope 0", "_\r\n");
    check(&mut r, "LRANGE nope 0 -1", EMPTY);
}

#[test]
fn pops() {
    let server = Server::start_sharded();
    let mut r = server.raw();
    check(&mut r, "RPUSH p a b c d e", &int(5));
    check(&mut r, "LPOP p", &bulk("a"));
    check(&mut r, "RPOP p", &bulk("e"));
    check(&mut r, "LPOP p 0", EMPTY);
    check(&mut r, "LPOP p -1", "-ERR value is out of range, must be positive\r\n");
    check(&mut r, "LPOP p x", "-ERR value is out of range, must be positive\r\n");
    check(&mut r, "LPOP p 1 2", "-ERR wrong number of arguments for 'lpop' command\r\n");
    check(&mut r, "RPOP p 1 2", "-ERR wrong number of arguments for 'rpop' command\r\n");
    check(&mut r, "LPOP nope", NIL);
    check(&mut r, "RPOP nope", NIL);
    check(&mut r, "LPOP nope 0", NIL_ARRAY);
    check(&mut r, "RPOP nope 2", NIL_ARRAY);
    check(&mut r, "LPOP nope -1", "-ERR value is out of range, must be positive\r\n");
    check(&mut r, "RPOP p 2", &arr(&["d", "c"]));
    check(&mut r, "LPOP p 10", &arr(&["b"]));
    check(&mut r, "EXISTS p", &int(0));
    check(&mut r, "RPUSH p a", &int(1));
    check(&mut r, "RPOP p", &bulk("a"));
    check(&mut r, "EXISTS p", &int(0));
    resp3(&mut r);
    check(&mut r, "LPOP nope", "_\r\n");
    check(&mut r, "LPOP nope 1", "_\r\n");
    check(&mut r, "RPUSH p a", &int(1));
    check(&mut r, "LPOP p 0", EMPTY);
    check(&mut r, "LPOP p 5", &arr(&["a"]));
}

#[test]
fn lset_linsert() {
    let server = Server::start_sharded();
    let mut r = server.raw();
    check(&mut r, "LSET nope 0 a", "-ERR no such key\r\n");
    check(&mut r, "LSET nope x a", "-ERR no such key\r\n");
    check(&mut r, "RPUSH l a b c", &int(3));
    check(&mut r, "LSET l 3 a", "-ERR index out of range\r\n");
    check(&mut r, "LSET l -4 a", "-ERR index out of range\r\n");
    check(&mut r, "LSET l x a", NOT_INT);
    check(&mut r, "LSET l -1 C", OK);
    check(&mut r, "LSET l 0 A", OK);
    check(&mut r, "LRANGE l 0 -1", &arr(&["A", "b", "C"]));
    check(&mut r, "LINSERT l BEFORE b x", &int(4));
    check(&mut r, "LINSERT l after b y", &int(5));
    check(&mut r, "LINSERT l AFTER C z", &int(6));
    check(&mut r, "LINSERT l BEFORE A w", &int(7));
    check(&mut r, "LRANGE l 0 -1", &arr(&["w", "A", "x", "b", "y", "C", "z"]));
    check(&mut r, "LINSERT l AFTER zzz q", &int(-1));
    check(&mut r, "LINSERT l MIDDLE b q", SYNTAX);
    check(&mut r, "LINSERT nope BEFORE a b", &int(0));
    check(&mut r, "LINSERT nope MIDDLE a b", SYNTAX);
    check(&mut r, "EXISTS nope", &int(0));
    check(&mut r, "LINSERT k BEFORE a", "-ERR wrong number of arguments for 'linsert' command\r\n");
    // The first pivot wins.
    check(&mut r, "RPUSH d p p", &int(2));
    check(&mut r, "LINSERT d AFTER p n", &int(3));
    check(&mut r, "LRANGE d 0 -1", &arr(&["p", "n", "p"]));
}

#[test]
fn lrem_ltrim() {
    let server = Server::start_sharded();
    let mut r = server.raw();
    check(&mut r, "RPUSH r a b a c a d a", &int(7));
    check(&mut r, "LREM r 2 a", &int(2));
    check(&mut r, "LRANGE r 0 -1", &arr(&["b", "c", "a", "d", "a"]));
    check(&mut r, "LREM r -1 a", &int(1));
    check(&mut r, "LRANGE r 0 -1", &arr(&["b", "c", "a", "d"]));
    check(&mut r, "LREM r 0 a", &int(1));
    check(&mut r, "LREM r 0 zz", &int(0));
    check(&mut r, "LRANGE r 0 -1", &arr(&["b", "c", "d"]));
    check(&mut r, "LREM r x a", NOT_INT);
    check(&mut r, "LREM nope 1 a", &int(0));
    check(&mut r, "LREM nope x a", NOT_INT);
    check(&mut r, "LREM r 0 b", &int(1));
    check(&mut r, "LREM r -5 c", &int(1));
    check(&mut r, "LREM r 5 d", &int(1));
    check(&mut r, "EXISTS r", &int(0));
    check(&mut r, "RPUSH t 1 2 3 4 5", &int(5));
    check(&mut r, "LTRIM t 1 -2", OK);
    check(&mut r, "LRANGE t 0 -1", &arr(&["2", "3", "4"]));
    check(&mut r, "LTRIM t -100 100", OK);
    check(&mut r, "LRANGE t 0 -1", &arr(&["2", "3", "4"]));
    check(&mut r, "LTRIM t 2 2", OK);
    check(&mut r, "LRANGE t 0 -1", &arr(&["4"]));
    check(&mut r, "LTRIM t x 1", NOT_INT);
    check(&mut r, "LTRIM t 0 y", NOT_INT);
    check(&mut r, "LTRIM t 5 1", OK);
    check(&mut r, "EXISTS t", &int(0));
    check(&mut r, "LTRIM nope 0 1", OK);
    check(&mut r, "LTRIM nope x 1", NOT_INT);
}

#[test]
fn lpos() {
    let server = Server::start_sharded();
    let mut r = server.raw();
    check(&mut r, "RPUSH q a b c 1 2 3 c c", &int(8));
    check(&mut r, "LPOS q c", &int(2));
    check(&mut r, "LPOS q c RANK 2", &int(6));
    check(&mut r, "LPOS q c RANK -1", &int(7));
    check(&mut r, "LPOS q c RANK -2", &int(6));
    check(&mut r, "LPOS q c RANK 100", NIL);
    check(&mut r, "LPOS q c RANK 100 COUNT 1", EMPTY);
    check(&mut r, "LPOS q c COUNT 0", &ints(&[2, 6, 7]));
    check(&mut r, "LPOS q c COUNT 2", &ints(&[2, 6]));
    check(&mut r, "LPOS q c COUNT 2 RANK -1", &ints(&[7, 6]));
    check(&mut r, "LPOS q c COUNT 0 RANK 2", &ints(&[6, 7]));
    check(&mut r, "LPOS q c MAXLEN 2", NIL);
    check(&mut r, "LPOS q c MAXLEN 3 COUNT 0", &ints(&[2]));
    check(&mut r, "LPOS q c RANK -1 MAXLEN 2 COUNT 0", &ints(&[7, 6]));
    check(&mut r, "LPOS q c rank 1 RANK 2", &int(6));
    check(&mut r, "LPOS q zz", NIL);
    check(&mut r, "LPOS q zz COUNT 1", EMPTY);
    check(
        &mut r,
        "LPOS q c RANK 0",
        "-ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list\r\n",
    );
    check(&mut r, "LPOS q c COUNT -1", "-ERR COUNT can't be negative\r\n");
    check(&mut r, "LPOS q c COUNT x", "-ERR COUNT can't be negative\r\n");
    check(&mut r, "LPOS q c MAXLEN -1", "-ERR MAXLEN can't be negative\r\n");
    check(&mut r, "LPOS q c RANK x", NOT_INT);
    check(
        &mut r,
        "LPOS q c RANK -9223372036854775808",
        "-ERR value is out of range, must be between -9223372036854775807 and 9223372036854775807\r\n",
    );
    check(&mut r, "LPOS q c RANK -9223372036854775807", NIL);
    check(&mut r, "LPOS q c FOO", SYNTAX);
    check(&mut r, "LPOS q c RANK", SYNTAX);
    check(&mut r, "LPOS nope a", NIL);
    check(&mut r, "LPOS nope a COUNT 1", EMPTY);
    check(
        &mut r,
        "LPOS nope a RANK 0",
        "-ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list\r\n",
    );
    resp3(&mut r);
    check(&mut r, "LPOS q zz", "_\r\n");
    check(&mut r, "LPOS nope zz", "_\r\n");
}

#[test]
fn lmove_rpoplpush_lmpop_same_shard() {
    let server = Server::start_sharded();
    let mut r = server.raw();
    check(&mut r, "RPUSH {t}m1 a b c", &int(3));
    check(&mut r, "LMOVE {t}m1 {t}m2 LEFT RIGHT", &bulk("a"));
    check(&mut r, "LMOVE {t}m1 {t}m2 right left", &bulk("c"));
    check(&mut r, "LRANGE {t}m2 0 -1", &arr(&["c", "a"]));
    check(&mut r, "LMOVE {t}m1 {t}m2 UP LEFT", SYNTAX);
    check(&mut r, "LMOVE {t}m1 {t}m2 LEFT UP", SYNTAX);
    check(&mut r, "LMOVE {t}nope {t}m2 LEFT LEFT", NIL);
    check(&mut r, "LMOVE {t}nope {t}m2 UP LEFT", SYNTAX);
    check(&mut r, "RPUSH {t}m1 x", &int(2));
    check(&mut r, "LMOVE {t}m1 {t}m1 LEFT RIGHT", &bulk("b"));
    check(&mut r, "LRANGE {t}m1 0 -1", &arr(&["x", "b"]));
    check(&mut r, "LMOVE {t}m1 {t}m2 LEFT LEFT", &bulk("x"));
    check(&mut r, "LMOVE {t}m1 {t}m2 LEFT LEFT", &bulk("b"));
    check(&mut r, "EXISTS {t}m1", &int(0));
    check(&mut r, "RPOPLPUSH {t}m2 {t}m3", &bulk("a"));
    check(&mut r, "RPOPLPUSH {t}nope {t}m3", NIL);
    check(&mut r, "LRANGE {t}m3 0 -1", &arr(&["a"]));
    check(&mut r, "RPOPLPUSH {t}m2 {t}m2", &bulk("c"));
    check(&mut r, "LRANGE {t}m2 0 -1", &arr(&["c", "b", "x"]));
    // One element moved onto itself.
    check(&mut r, "RPOPLPUSH {t}m3 {t}m3", &bulk("a"));
    check(&mut r, "LRANGE {t}m3 0 -1", &arr(&["a"]));

    check(&mut r, "LMPOP 1 {t}m2 LEFT", "*2\r\n$5\r\n{t}m2\r\n*1\r\n$1\r\nc\r\n");
    check(&mut r, "LMPOP 2 {t}nope {t}m2 RIGHT COUNT 5", "*2\r\n$5\r\n{t}m2\r\n*2\r\n$1\r\nx\r\n$1\r\nb\r\n");
    check(&mut r, "EXISTS {t}m2", &int(0));
    check(&mut r, "LMPOP 2 {t}nope {t}m2 RIGHT", NIL_ARRAY);
    check(&mut r, "LMPOP 0 {t}m3 LEFT", "-ERR numkeys should be greater than 0\r\n");
    check(&mut r, "LMPOP -1 {t}m3 LEFT", "-ERR numkeys should be greater than 0\r\n");
    check(&mut r, "LMPOP x {t}m3 LEFT", "-ERR numkeys should be greater than 0\r\n");
    check(&mut r, "LMPOP 5 {t}m3 LEFT", SYNTAX);
    check(&mut r, "LMPOP 1 {t}m3 UP", SYNTAX);
    check(&mut r, "LMPOP 1 {t}m3 LEFT COUNT 0", "-ERR count should be greater than 0\r\n");
    check(&mut r, "LMPOP 1 {t}m3 LEFT COUNT -1", "-ERR count should be greater than 0\r\n");
    check(&mut r, "LMPOP 1 {t}m3 LEFT COUNT x", "-ERR count should be greater than 0\r\n");
    check(&mut r, "LMPOP 1 {t}m3 LEFT COUNT 1 COUNT 2", SYNTAX);
    check(&mut r, "LMPOP 1 {t}m3 LEFT FOO", SYNTAX);
    check(&mut r, "LMPOP 1 {t}m3 LEFT COUNT", SYNTAX);
    check(&mut r, "LMPOP 1 {t}m3 left count 1", "*2\r\n$5\r\n{t}m3\r\n*1\r\n$1\r\na\r\n");
    resp3(&mut r);
    check(&mut r, "LMPOP 1 {t}m3 LEFT", "_\r\n");
    check(&mut r, "LMOVE {t}nope {t}m2 LEFT LEFT", "_\r\n");
}

#[test]
fn cross_shard_moves() {
    let server = Server::start_sharded();
    let mut r = server.raw();
    let keys: Vec<String> = (0..4).map(|s| key_on(s, "list")).collect();
    for (s, k) in keys.iter().enumerate() {
        assert_eq!(shard_of(k), s);
    }
    let (a, b, c, d) = (&keys[0], &keys[1], &keys[2], &keys[3]);
    check(&mut r, &format!("RPUSH {a} 1 2 3"), &int(3));
    check(&mut r, &format!("LMOVE {a} {b} LEFT RIGHT"), &bulk("1"));
    check(&mut r, &format!("LMOVE {a} {b} RIGHT LEFT"), &bulk("3"));
    check(&mut r, &format!("LRANGE {b} 0 -1"), &arr(&["3", "1"]));
    check(&mut r, &format!("LRANGE {a} 0 -1"), &arr(&["2"]));
    check(&mut r, &format!("RPOPLPUSH {a} {c}"), &bulk("2"));
    check(&mut r, &format!("EXISTS {a}"), &int(0));
    check(&mut r, &format!("RPOPLPUSH {a} {c}"), NIL);
    check(&mut r, &format!("LRANGE {c} 0 -1"), &arr(&["2"]));
    check(&mut r, &format!("LMPOP 3 {a} {d} {b} RIGHT COUNT 5"), &format!("*2\r\n{}{}", bulk(b), arr(&["1", "3"])));
    check(&mut r, &format!("EXISTS {b}"), &int(0));
    check(&mut r, &format!("LMPOP 2 {a} {b} LEFT"), NIL_ARRAY);
    // WRONGTYPE on the destination leaves the source alone.
    check(&mut r, &format!("SET {d} v"), OK);
    check(&mut r, &format!("LMOVE {c} {d} LEFT LEFT"), WRONGTYPE);
    check(&mut r, &format!("RPOPLPUSH {c} {d}"), WRONGTYPE);
    check(&mut r, &format!("LRANGE {c} 0 -1"), &arr(&["2"]));
    check(&mut r, &format!("LMPOP 2 {a} {d} LEFT"), WRONGTYPE);
    check(&mut r, &format!("LMPOP 2 {c} {d} LEFT"), &format!("*2\r\n{}{}", bulk(c), arr(&["2"])));
    check(&mut r, &format!("GET {d}"), &bulk("v"));
    // TTL of the destination is kept; the source's survives a partial pop.
    check(&mut r, &format!("RPUSH {a} x y"), &int(2));
    check(&mut r, &format!("RPUSH {b} z"), &int(1));
    check(&mut r, &format!("EXPIRE {a} 1000"), &int(1));
    check(&mut r, &format!("EXPIRE {b} 1000"), &int(1));
    check(&mut r, &format!("LMOVE {a} {b} LEFT LEFT"), &bulk("x"));
    check(&mut r, &format!("TTL {a}"), &int(1000));
    check(&mut r, &format!("TTL {b}"), &int(1000));
}

#[test]
fn wrongtype_both_ways() {
    let server = Server::start_sharded();
    let mut r = server.raw();
    check(&mut r, "SET s v", OK);
    for line in [
        "LPUSH s a",
        "RPUSH s a",
        "LPUSHX s a",
        "RPUSHX s a",
        "LPOP s",
        "RPOP s",
        "LPOP s 0",
        "LLEN s",
        "LRANGE s 0 -1",
        "LINDEX s 0",
        "LSET s 0 a",
        "LINSERT s BEFORE a b",
        "LREM s 0 a",
        "LTRIM s 0 1",
        "LPOS s a",
        "LMOVE s s LEFT LEFT",
        "RPOPLPUSH s s",
        "LMPOP 1 s LEFT",
    ] {
        check(&mut r, line, WRONGTYPE);
    }
    check(&mut r, "GET s", &bulk("v"));
    check(&mut r, "RPUSH l a", &int(1));
    check(&mut r, "GET l", WRONGTYPE);
    check(&mut r, "APPEND l x", WRONGTYPE);
    check(&mut r, "INCR l", WRONGTYPE);
    check(&mut r, "TYPE l", "+list\r\n");
    check(&mut r, "RPOPLPUSH l s", WRONGTYPE);
    check(&mut r, "LLEN l", &int(1));
}

/// Deterministic xorshift generator.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

#[test]
fn encodings() {
    let server = Server::start_sharded();
    let mut r = server.raw();
    let v100 = "x".repeat(100);
    check(&mut r, "RPUSH e a", &int(1));
    check(&mut r, "OBJECT ENCODING e", &bulk("listpack"));
    check(&mut r, "DEL e", &int(1));
    // Entries of 100 bytes take 103 listpack bytes: 79 fit in 8 KiB, the 80th does not.
    for i in 1..=79 {
        check(&mut r, &format!("RPUSH e {v100}"), &int(i));
    }
    check(&mut r, "OBJECT ENCODING e", &bulk("listpack"));
    check(&mut r, &format!("RPUSH e {v100}"), &int(80));
    check(&mut r, "OBJECT ENCODING e", &bulk("quicklist"));
    // Back to listpack at half the limit (39 entries).
    check(&mut r, "LTRIM e 0 39", OK);
    check(&mut r, "OBJECT ENCODING e", &bulk("quicklist"));
    check(&mut r, "RPOP e", &bulk(&v100));
    check(&mut r, "OBJECT ENCODING e", &bulk("listpack"));
    // One big element.
    let big = "y".repeat(10_000);
    check(&mut r, &format!("LPUSH b {big}"), &int(1));
    check(&mut r, "OBJECT ENCODING b", &bulk("quicklist"));
    check(&mut r, "LSET b 0 small", OK);
    check(&mut r, "OBJECT ENCODING b", &bulk("listpack"));
    check(&mut r, &format!("LINSERT b BEFORE small {big}"), &int(2));
    check(&mut r, "OBJECT ENCODING b", &bulk("quicklist"));
    check(&mut r, &format!("LREM b 0 {big}"), &int(1));
    check(&mut r, "OBJECT ENCODING b", &bulk("listpack"));
    // A count limit.
    check(&mut r, "CONFIG SET list-max-listpack-size 4", OK);
    check(&mut r, "RPUSH c 1 2 3 4", &int(4));
    check(&mut r, "OBJECT ENCODING c", &bulk("listpack"));
    check(&mut r, "RPUSH c 5", &int(5));
    check(&mut r, "OBJECT ENCODING c", &bulk("quicklist"));
    check(&mut r, "LPOP c 2", &arr(&["1", "2"]));
    check(&mut r, "OBJECT ENCODING c", &bulk("quicklist"));
    check(&mut r, "LPOP c", &bulk("3"));
    check(&mut r, "OBJECT ENCODING c", &bulk("listpack"));
    check(&mut r, "CONFIG SET list-max-listpack-size -2", OK);
    // LMOVE converts the destination.
    check(&mut r, &format!("RPUSH {{m}}src {big}"), &int(1));
    check(&mut r, "RPUSH {m}dst a", &int(1));
    check(&mut r, "LMOVE {m}src {m}dst LEFT LEFT", &bulk(&big));
    check(&mut r, "OBJECT ENCODING {m}dst", &bulk("quicklist"));
}

/// Random operations across many blocks, checked against a VecDeque model.
#[test]
fn model_across_blocks() {
    let server = Server::start_sharded();
    let mut c = server.client();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut model: VecDeque<Vec<u8>> = VecDeque::new();
    let key = "model";
    let mut counter = 0u64;
    let mut value = |rng: &mut Rng| -> Vec<u8> {
        counter += 1;
        let size = match rng.below(10) {
            0 => 300 + rng.below(200),
            1 => 5000 + rng.below(3000),
            2 => 0,
            _ => rng.below(30),
        };
        let mut v = format!("{counter}:").into_bytes();
        v.extend((0..size).map(|i| b'a' + (i % 26) as u8));
        if rng.below(4) == 0 {
            v = (rng.below(3) as u64).to_string().into_bytes(); // repeated small values for LREM/LPOS
        }
        v
    };
    // Grow a list over many blocks first.
    for _ in 0..40 {
        let vals: Vec<Vec<u8>> = (0..50).map(|_| value(&mut rng)).collect();
        let _: i64 = redis::cmd("RPUSH").arg(key).arg(&vals).query(&mut c).unwrap();
        model.extend(vals);
    }
    for step in 0..3000 {
        let len = model.len();
        match rng.below(12) {
            0 => {
                let v = value(&mut rng);
                let n: usize = redis::cmd("LPUSH").arg(key).arg(&v).query(&mut c).unwrap();
                model.push_front(v);
                assert_eq!(n, model.len());
            }
            1 => {
                let v = value(&mut rng);
                let n: usize = redis::cmd("RPUSH").arg(key).arg(&v).query(&mut c).unwrap();
                model.push_back(v);
                assert_eq!(n, model.len());
            }
            2 => {
                let n = 1 + rng.below(5);
                let got: Option<Vec<Vec<u8>>> = redis::cmd("LPOP").arg(key).arg(n).query(&mut c).unwrap();
                let want: Vec<Vec<u8>> = (0..n.min(len)).filter_map(|_| model.pop_front()).collect();
                assert_eq!(got.unwrap_or_default(), want);
            }
            3 => {
                let got: Option<Vec<u8>> = redis::cmd("RPOP").arg(key).query(&mut c).unwrap();
                assert_eq!(got, model.pop_back());
            }
            4 if len > 0 => {
                let i = rng.below(len) as i64 - if rng.below(2) == 0 { len as i64 } else { 0 };
                let got: Option<Vec<u8>> = redis::cmd("LINDEX").arg(key).arg(i).query(&mut c).unwrap();
                let idx = if i < 0 { (len as i64 + i) as usize } else { i as usize };
                assert_eq!(got.as_ref(), model.get(idx));
            }
            5 if len > 0 => {
                let i = rng.below(len);
                let v = value(&mut rng);
                let _: () = redis::cmd("LSET").arg(key).arg(i).arg(&v).query(&mut c).unwrap();
                model[i] = v;
            }
            6 if len > 0 => {
                let pivot = model[rng.below(len)].clone();
                let v = value(&mut rng);
                let after = rng.below(2) == 0;
                let n: i64 = redis::cmd("LINSERT")
                    .arg(key)
                    .arg(if after { "AFTER" } else { "BEFORE" })
                    .arg(&pivot)
                    .arg(&v)
                    .query(&mut c)
                    .unwrap();
                let pos = model.iter().position(|e| *e == pivot).unwrap();
                model.insert(if after { pos + 1 } else { pos }, v);
                assert_eq!(n as usize, model.len());
            }
            7 => {
                let target = (rng.below(3) as u64).to_string().into_bytes();
                let count = rng.below(5) as i64 - 2;
                let n: usize = redis::cmd("LREM").arg(key).arg(count).arg(&target).query(&mut c).unwrap();
                let limit = if count == 0 { usize::MAX } else { count.unsigned_abs() as usize };
                let mut idx: Vec<usize> = if count >= 0 {
                    (0..model.len()).filter(|&i| model[i] == target).take(limit).collect()
                } else {
                    (0..model.len()).rev().filter(|&i| model[i] == target).take(limit).collect()
                };
                idx.sort_unstable();
                for &i in idx.iter().rev() {
                    model.remove(i);
                }
                assert_eq!(n, idx.len());
            }
            8 if len > 10 && step % 10 == 0 => {
                let s = rng.below(5) as i64;
                let e = -(rng.below(5) as i64) - 1;
                let _: () = redis::cmd("LTRIM").arg(key).arg(s).arg(e).query(&mut c).unwrap();
                let keep_end = (len as i64 + e) as usize;
                model = model
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| *i >= s as usize && *i <= keep_end)
                    .map(|(_, v)| v.clone())
                    .collect();
            }
            9 if len > 0 => {
                let target = (rng.below(3) as u64).to_string().into_bytes();
                let got: Vec<i64> = redis::cmd("LPOS")
                    .arg(key)
                    .arg(&target)
                    .arg("RANK")
                    .arg(-2)
                    .arg("COUNT")
                    .arg(3)
                    .query(&mut c)
                    .unwrap();
                let want: Vec<i64> =
                    (0..len).rev().filter(|&i| model[i] == target).skip(1).take(3).map(|i| i as i64).collect();
                assert_eq!(got, want);
            }
            10 if len > 0 => {
                let s = rng.below(len);
                let e = s + rng.below(200);
                let got: Vec<Vec<u8>> = redis::cmd("LRANGE").arg(key).arg(s).arg(e).query(&mut c).unwrap();
                let want: Vec<Vec<u8>> = model.iter().skip(s).take(e - s + 1).cloned().collect();
                assert_eq!(got, want);
            }
            _ => {}
        }
        if model.is_empty() {
            let n: i64 = redis::cmd("EXISTS").arg(key).query(&mut c).unwrap();
            assert_eq!(n, 0);
        }
        if step % 500 == 0 {
            let got: Vec<Vec<u8>> = redis::cmd("LRANGE").arg(key).arg(0).arg(-1).query(&mut c).unwrap();
            assert!(model == got, "step {step}");
        }
    }
    let got: Vec<Vec<u8>> = redis::cmd("LRANGE").arg(key).arg(0).arg(-1).query(&mut c).unwrap();
    assert!(model == got);
}

#[test]
fn million_elements() {
    let server = Server::start_sharded();
    let mut c = server.client();
    let total = 1_000_000usize;
    for batch in 0..10 {
        let mut pipe = redis::pipe();
        for cmd_no in 0..100 {
            let base = (batch * 100 + cmd_no) * 1000;
            let vals: Vec<String> = (base..base + 1000).map(|i| format!("e{i}")).collect();
            pipe.cmd("RPUSH").arg("big").arg(vals);
        }
        let lens: Vec<usize> = pipe.query(&mut c).unwrap();
        assert_eq!(lens.last().copied(), Some((batch + 1) * 100_000));
    }
    let n: usize = redis::cmd("LLEN").arg("big").query(&mut c).unwrap();
    assert_eq!(n, total);
    let enc: String = redis::cmd("OBJECT").arg("ENCODING").arg("big").query(&mut c).unwrap();
    assert_eq!(enc, "quicklist");
    let mut start = 0;
    while start < total {
        let got: Vec<String> = redis::cmd("LRANGE").arg("big").arg(start).arg(start + 49_999).query(&mut c).unwrap();
        assert_eq!(got.len(), 50_000);
        for (k, v) in got.iter().enumerate() {
            assert_eq!(*v, format!("e{}", start + k));
        }
        start += 50_000;
    }
    for i in [0usize, 1, 999, 1000, 4095, 123_457, 500_000, 999_998, 999_999] {
        let v: String = redis::cmd("LINDEX").arg("big").arg(i).query(&mut c).unwrap();
        assert_eq!(v, format!("e{i}"));
        let neg = i as i64 - total as i64;
        let v: String = redis::cmd("LINDEX").arg("big").arg(neg).query(&mut c).unwrap();
        assert_eq!(v, format!("e{i}"));
    }
    let _: () = redis::cmd("LSET").arg("big").arg(500_000).arg("mid").query(&mut c).unwrap();
    let n: i64 = redis::cmd("LINSERT").arg("big").arg("BEFORE").arg("mid").arg("new").query(&mut c).unwrap();
    assert_eq!(n, 1_000_001);
    let got: Vec<String> = redis::cmd("LRANGE").arg("big").arg(499_999).arg(500_001).query(&mut c).unwrap();
    assert_eq!(got, ["e499999", "new", "mid"]);
    let pos: i64 = redis::cmd("LPOS").arg("big").arg("e999999").query(&mut c).unwrap();
    assert_eq!(pos, 1_000_000);
    let _: () = redis::cmd("LTRIM").arg("big").arg(10).arg(-11).query(&mut c).unwrap();
    let n: usize = redis::cmd("LLEN").arg("big").query(&mut c).unwrap();
    assert_eq!(n, total + 1 - 20);
    let v: String = redis::cmd("LPOP").arg("big").query(&mut c).unwrap();
    assert_eq!(v, "e10");
    let v: String = redis::cmd("RPOP").arg("big").query(&mut c).unwrap();
    assert_eq!(v, "e999989");
}

#[test]
fn pipelined_raw_variadic_push_is_exact() {
    let server = Server::start_sharded();
    let mut r = server.raw();
    let key = key_on(2, "v");
    let mut args: Vec<&str> = vec!["RPUSH", &key];
    let vals: Vec<String> = (0..5000).map(|i| i.to_string()).collect();
    args.extend(vals.iter().map(String::as_str));
    assert_eq!(cmdv(&mut r, &args), int(5000));
    assert_eq!(cmdv(&mut r, &["LINDEX", &key, "4999"]), bulk("4999"));
    assert_eq!(cmdv(&mut r, &["LRANGE", &key, "2500", "2502"]), arr(&["2500", "2501", "2502"]));
}
