//! String commands against a 4-shard server: exact reply bytes (RESP2 and RESP3), error
//! texts, OBJECT ENCODING after each kind of write, TTL handling, binary safety and the
//! cross-shard paths (MGET/MSET split per shard, MSETNX and LCS gathered).
//! Every expected reply below was checked against Redis 7.0.15.

mod common;

use std::time::Duration;

use common::{NOT_INT, Raw, SHARDS, SYNTAX, Server, WRONGTYPE, bulk, cmdv, key_on, make_non_string, now_ms, shard_of};

/// One key per shard.
fn keys_on_every_shard(prefix: &str) -> Vec<String> {
    (0..SHARDS).map(|s| key_on(s, prefix)).collect()
}

/// Asserts the exact raw reply of a command.
#[track_caller]
fn check(r: &mut Raw, args: &[&str], expected: &str) {
    assert_eq!(cmdv(r, args), expected, "{args:?}");
}

fn int(n: i64) -> String {
    format!(":{n}\r\n")
}

const OK: &str = "+OK\r\n";
const NIL: &str = "$-1\r\n";
const EMPTY: &str = "$0\r\n\r\n";
const NOT_FLOAT: &str = "-ERR value is not a valid float\r\n";
const TOO_LONG: &str = "-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n";

fn invalid_expire(command: &str) -> String {
    format!("-ERR invalid expire time in '{command}' command\r\n")
}

fn encoding(r: &mut Raw, key: &str) -> String {
    cmdv(r, &["OBJECT", "ENCODING", key])
}

fn ttl(r: &mut Raw, key: &str) -> i64 {
    let reply = cmdv(r, &["TTL", key]);
    reply.trim_start_matches(':').trim_end().parse().expect("integer TTL")
}

fn pttl(r: &mut Raw, key: &str) -> i64 {
    let reply = cmdv(r, &["PTTL", key]);
    reply.trim_start_matches(':').trim_end().parse().expect("integer PTTL")
}

/// Switches the connection to RESP3 with HELLO 3.
fn resp3(r: &mut Raw) {
    let hello = r.cmd(&[b"HELLO", b"3"]);
    assert!(hello.starts_with(b"%"), "HELLO 3 answers a map: {:?}", String::from_utf8_lossy(&hello));
}

#[test]
fn get_and_set_basics() {
    let server = Server::start_sharded();
    let mut r = server.raw();
    check(&mut r, &["GET", "k"], NIL);
    check(&mut r, &["SET", "k", "hello"], OK);
    check(&mut r, &["GET", "k"], &bulk("hello"));
    check(&mut r, &["SET", "k", "world"], OK);
    check(&mut r, &["GET", "k"], &bulk("world"));
    check(&mut r, &["SET", "k", ""], OK);
    check(&mut r, &["GET", "k"], EMPTY);
    check(&mut r, &["SET", "n", "-123"], OK);
    check(&mut r, &["GET", "n"], &bulk("-123"));
    check(&mut r, &["SET", "k"], "-ERR wrong number of arguments for 'set' command\r\n");
    check(&mut r, &["GET"], "-ERR wrong number of arguments for 'get' command\r\n");
    check(&mut r, &["GET", "a", "b"], "-ERR wrong number of arguments for 'get' command\r\n");
    // Lower/mixed case command names.
    check(&mut r, &["sEt", "k", "v"], OK);
    check(&mut r, &["get", "k"], &bulk("v"));
}

#[test]
fn set_encodings_match_redis() {
    let server = Server::start_sharded();
    let mut r = server.raw();
    let cases = [
        ("12", "int"),
        ("-9223372036854775808", "int"),
        ("9223372036854775807", "int"),
        ("9223372036854775808", "embstr"),
        ("007", "embstr"),
        ("-0", "embstr"),
        ("+1", "embstr"),
        ("1.5", "embstr"),
        ("hello", "embstr"),
    ];
    for (value, expected) in cases {
        check(&mut r, &["SET", "e", value], OK);
        check(&mut r, &["OBJECT", "ENCODING", "e"], &bulk(expected));
        check(&mut r, &["GET", "e"], &bulk(value));
    }
    let v44 = "x".repeat(44);
    let v45 = "x".repeat(45);
    check(&mut r, &["SET", "e", &v44], OK);
    assert_eq!(encoding(&mut r, "e"), bulk("embstr"));
    check(&mut r, &["SET", "e", &v45], OK);
    assert_eq!(encoding(&mut r, "e"), bulk("raw"));
    // Every whole-value write encodes like SET.
    check(&mut r, &["GETSET", "e", "12"], &bulk(&v45));
    assert_eq!(encoding(&mut r, "e"), bulk("int"));
    check(&mut r, &["SETEX", "e", "100", "13"], OK);
    assert_eq!(encoding(&mut r, "e"), bulk("int"));
    check(&mut r, &["PSETEX", "e", "100000", "abc"], OK);
    assert_eq!(encoding(&mut r, "e"), bulk("embstr"));
    check(&mut r, &["SETNX", "f", "13"], ":1\r\n");
    assert_eq!(encoding(&mut r, "f"), bulk("int"));
    check(&mut r, &["MSET", "f", "14", "g", "hello"], OK);
    assert_eq!(encoding(&mut r, "f"), bulk("int"));
    assert_eq!(encoding(&mut r, "g"), bulk("embstr"));
    check(&mut r, &["MSETNX", "h", "15", "i", &v45], ":1\r\n");
    assert_eq!(encoding(&mut r, "h"), bulk("int"));
    assert_eq!(encoding(&mut r, "i"), bulk("raw"));
    check(&mut r, &["GETEX", "g", "PERSIST"], &bulk("hello"));
    assert_eq!(encoding(&mut r, "g"), bulk("embstr"));
}

#[test]
fn set_options_and_errors() {
    let server = Server::start_sharded();
    let mut r = server.raw();
    // NX / XX.
    check(&mut r, &["SET", "k", "v", "XX"], NIL);
    check(&mut r, &["EXISTS", "k"], ":0\r\n");
    check(&mut r, &["SET", "k", "v", "NX"], OK);
    check(&mut r, &["SET", "k", "w", "NX"], NIL);
    check(&mut r, &["GET", "k"], &bulk("v"));
    check(&mut r, &["SET", "k", "w", "xx"], OK);
    check(&mut r, &["GET", "k"], &bulk("w"));
    check(&mut r, &["SET", "k", "v", "nx", "NX"], NIL);
    // GET: the old value whether or not the write happens.
    check(&mut r, &["SET", "k", "x", "GET"], &bulk("w"));
    check(&mut r, &["SET", "k", "y", "get", "GET"], &bulk("x"));
    check(&mut r, &["SET", "k", "z", "NX", "GET"], &bulk("y"));
    check(&mut r, &["GET", "k"], &bulk("y"));
    check(&mut r, &["SET", "new", "1", "NX", "GET"], NIL);
    check(&mut r, &["GET", "new"], &bulk("1"));
    check(&mut r, &["SET", "new2", "1", "XX", "GET"], NIL);
    check(&mut r, &["EXISTS", "new2"], ":0\r\n");
    check(&mut r, &["SET", "n", "42"], OK);
    check(&mut r, &["SET", "n", "x", "GET"], &bulk("42"));
    // Syntax errors.
    for bad in [
        &["SET", "k", "v", "NX", "XX"][..],
        &["SET", "k", "v", "XX", "NX"],
        &["SET", "k", "v", "EX", "1", "PX", "1"],
        &["SET", "k", "v", "EX", "1", "EXAT", "1"],
        &["SET", "k", "v", "PXAT", "1", "PX", "1"],
        &["SET", "k", "v", "KEEPTTL", "EX", "5"],
        &["SET", "k", "v", "EX", "5", "KEEPTTL"],
        &["SET", "k", "v", "EX"],
        &["SET", "k", "v", "PX"],
        &["SET", "k", "v", "EXAT"],
        &["SET", "k", "v", "PXAT"],
        &["SET", "k", "v", "PERSIST"],
        &["SET", "k", "v", "foo"],
        &["SET", "k", "v", "EX", "abc", "NX", "XX"],
    ] {
        check(&mut r, bad, SYNTAX);
    }
    check(&mut r, &["GET", "k"], &bulk("y"));
    // Expiry values.
    check(&mut r, &["SET", "k", "v", "EX", "abc"], NOT_INT);
    check(&mut r, &["SET", "k", "v", "EX", "1.5"], NOT_INT);
    check(&mut r, &["SET", "k", "v", "EX", "+10"], NOT_INT);
    check(&mut r, &["SET", "k", "v", "EX", "010"], NOT_INT);
    for (opt, value) in [
        ("EX", "0"),
        ("EX", "-1"),
        ("PX", "0"),
        ("PX", "-5"),
        ("EXAT", "0"),
        ("PXAT", "-1"),
        ("EX", "9223372036854775807"),
        ("EX", "9223372036854775"),
        ("PX", "9223372036854775807"),
        ("EXAT", "9223372036854775807"),
    ] {
        check(&mut r, &["SET", "k", "v", opt, value], &invalid_expire("set"));
    }
    check(&mut r, &["GET", "k"], &bulk("y"));
    // Large but valid deadlines.
    check(&mut r, &["SET", "k", "v", "EX", "9223372036854"], OK);
    check(&mut r, &["SET", "k", "v", "PX", "9223372036854775"], OK);
    check(&mut r, &["SET", "k", "v", "EXAT", "9223372036854775"], OK);
    check(&mut r, &["SET", "k", "v", "PXAT", "9223372036854775807"], OK);
    // Repeating the same expiry option keeps the last value.
    check(&mut r, &["SET", "k", "v", "EX", "10", "EX", "100"], OK);
    assert!((99..=100).contains(&ttl(&mut r, "k")));
    // An absolute time in the past: the write happens and the key is gone at once.
    check(&mut r, &["SET", "k", "v", "PXAT", "1"], OK);
    check(&mut r, &["GET", "k"], NIL);
    check(&mut r, &["SET", "k", "old"], OK);
    check(&mut r, &["SET", "k", "v", "EXAT", "1", "GET"], &bulk("old"));
    check(&mut r, &["EXISTS", "k"], ":0\r\n");
    // The option bytes are compared as C strings: "NX\0junk" is NX.
    check(&mut r, &["SET", "nul", "1"], OK);
    let reply = r.cmd(&[b"SET", b"nul", b"2", b"NX\0junk"]);
    assert_eq!(reply, b"$-1\r\n");
}

#[test]
fn set_ttl_handling() {
    let server = Server::start_sharded();
    let mut r = server.raw();
    check(&mut r, &["SET", "k", "v", "EX", "100"], OK);
    assert!((99..=100).contains(&ttl(&mut r, "k")));
    check(&mut r, &["SET", "k", "v", "PX", "100000"], OK);
    assert!((99_000..=100_000).contains(&pttl(&mut r, "k")));
    let at = now_ms() / 1000 + 200;
    check(&mut r, &["SET", "k", "v", "EXAT", &at.to_string()], OK);
    assert!((198..=200).contains(&ttl(&mut r, "k")));
    let at = now_ms() + 300_000;
    check(&mut r, &["SET", "k", "v", "PXAT", &at.to_string()], OK);
    assert!((298_000..=300_000).contains(&pttl(&mut r, "k")));
    // KEEPTTL keeps it, a plain SET drops it.
    check(&mut r, &["SET", "k", "w", "KEEPTTL"], OK);
    assert!(pttl(&mut r, "k") > 290_000);
    check(&mut r, &["SET", "k", "x", "KEEPTTL", "GET"], &bulk("w"));
    assert!(pttl(&mut r, "k") > 290_000);
    check(&mut r, &["SET", "k", "y", "GET"], &bulk("x"));
    assert_eq!(ttl(&mut r, "k"), -1);
    // NX/XX with an expiry.
    check(&mut r, &["SET", "k", "z", "XX", "EX", "50"], OK);
    assert!((49..=50).contains(&ttl(&mut r, "k")));
    check(&mut r, &["SET", "k", "z", "NX", "EX", "500"], NIL);
    assert!((49..=50).contains(&ttl(&mut r, "k")));
    // KEEPTTL on a key without one, and on a missing key.
    check(&mut r, &["SET", "p", "1"], OK);
    check(&mut r, &["SET", "p", "2", "KEEPTTL"], OK);
    assert_eq!(ttl(&mut r, "p"), -1);
    check(&mut r, &["SET", "q", "1", "KEEPTTL"], OK);
    assert_eq!(ttl(&mut r, "q"), -1);
}

#[test]
fn small_px_values_expire() {
    let server = Server::start_sharded();
    let mut r = server.raw();
    check(&mut r, &["SET", "a", "1", "PX", "80"], OK);
    check(&mut r, &["PSETEX", "b", "80", "2"], OK);
    check(&mut r, &["SET", "c", "3"], OK);
    check(&mut r, &["GETEX", "c", "PX", "80"], &bulk("3"));
    let at = now_ms() + 80;
    check(&mut r, &["SET", "d", "4", "PXAT", &at.to_string()], OK);
    check(&mut r, &["SET", "e", "5", "PX", "80"], OK);
    check(&mut r, &["SET", "e", "6", "KEEPTTL"], OK);
    check(&mut r, &["SET", "f", "10", "PX", "80"], OK);
    check(&mut r, &["INCR", "f"], ":11\r\n");
    check(&mut r, &["SET", "g", "5", "PX", "80"], OK);
    check(&mut r, &["SET", "g", "6"], OK);
    check(&mut r, &["SET", "h", "5", "PX", "80"], OK);
    check(&mut r, &["GETSET", "h", "7"], &bulk("5"));
    check(&mut r, &["SET", "i", "5", "PX", "80"], OK);
    check(&mut r, &["APPEND", "i", "x"], ":2\r\n");
    check(&mut r, &["SET", "j", "5", "PX", "80"], OK);
    check(&mut r, &["GETEX", "j", "PERSIST"], &bulk("5"));
    for k in ["a", "b", "c", "d", "e", "f", "i"] {
        assert!(pttl(&mut r, k) > 0, "{k} has a TTL");
    }
    check(&mut r, &["MGET", "a", "b", "c", "d"], "*4\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n$1\r\n4\r\n");
    std::thread::sleep(Duration::from_millis(150));
    check(
        &mut r,
        &["MGET", "a", "b", "c", "d", "e", "f", "i"],
        "*7\r\n$-1\r\n$-1\r\n$-1\r\n$-1\r\n$-1\r\n$-1\r\n$-1\r\n",
    );
    // Without a TTL: kept.
    check(&mut r, &["MGET", "g", "h", "j"], "*3\r\n$1\r\n6\r\n$1\r\n7\r\n$1\r\n5\r\n");
}

#[test]
fn setnx_setex_psetex() {
    let server = Server::start_sharded();
    let mut r = server.raw();
    check(&mut r, &["SETNX", "s", "1"], ":1\r\n");
    check(&mut r, &["SETNX", "s", "2"], ":0\r\n");
    check(&mut r, &["GET", "s"], &bulk("1"));
    check(&mut r, &["SETEX", "s", "10", "v"], OK);
    assert!((9..=10).contains(&ttl(&mut r, "s")));
    check(&mut r, &["GET", "s"], &bulk("v"));
    check(&mut r, &["SETEX", "s", "0", "v"], &invalid_expire("setex"));
    check(&mut r, &["SETEX", "s", "-1", "v"], &invalid_expire("setex"));
    check(&mut r, &["SETEX", "s", "9223372036854775", "v"], &invalid_expire("setex"));
    check(&mut r, &["SETEX", "s", "abc", "v"], NOT_INT);
    check(&mut r, &["SETEX", "s", "1.5", "v"], NOT_INT);
    check(&mut r, &["PSETEX", "s", "100000", "w"], OK);
    assert!((99_000..=100_000).contains(&pttl(&mut r, "s")));
    check(&mut r, &["PSETEX", "s", "0", "v"], &invalid_expire("psetex"));
    check(&mut r, &["PSETEX", "s", "9223372036854775807", "v"], &invalid_expire("psetex"));
    check(&mut r, &["PSETEX", "s", "x", "v"], NOT_INT);
    check(&mut r, &["GET", "s"], &bulk("w"));
    check(&mut r, &["SETEX", "s", "10"], "-ERR wrong number of arguments for 'setex' command\r\n");
    check(&mut r, &["SETNX", "s"], "-ERR wrong number of arguments for 'setnx' command\r\n");
}

#[test]
fn getset_getdel_getex() {
    let server = Server::start_sharded();
    let mut r = server.raw();
    check(&mut r, &["GETSET", "k", "a"], NIL);
    check(&mut r, &["GETSET", "k", "b"], &bulk("a"));
    check(&mut r, &["SET", "k", "c", "EX", "100"], OK);
    check(&mut r, &["GETSET", "k", "d"], &bulk("c"));
    assert_eq!(ttl(&mut r, "k"), -1, "GETSET drops the TTL");
    check(&mut r, &["GETDEL", "k"], &bulk("d"));
    check(&mut r, &["GETDEL", "k"], NIL);
    check(&mut r, &["EXISTS", "k"], ":0\r\n");
    check(&mut r, &["SET", "n", "7"], OK);
    check(&mut r, &["GETDEL", "n"], &bulk("7"));

    check(&mut r, &["SET", "g", "v"], OK);
    check(&mut r, &["GETEX", "g"], &bulk("v"));
    assert_eq!(ttl(&mut r, "g"), -1);
    check(&mut r, &["GETEX", "g", "EX", "100"], &bulk("v"));
    assert!((99..=100).contains(&ttl(&mut r, "g")));
    check(&mut r, &["GETEX", "g"], &bulk("v"));
    assert!((99..=100).contains(&ttl(&mut r, "g")), "plain GETEX keeps the TTL");
    check(&mut r, &["GETEX", "g", "PERSIST"], &bulk("v"));
    assert_eq!(ttl(&mut r, "g"), -1);
    check(&mut r, &["GETEX", "g", "persist", "PERSIST"], &bulk("v"));
    check(&mut r, &["GETEX", "g", "PX", "100000"], &bulk("v"));
    assert!((99_000..=100_000).contains(&pttl(&mut r, "g")));
    let at = now_ms() / 1000 + 1000;
    check(&mut r, &["GETEX", "g", "EXAT", &at.to_string()], &bulk("v"));
    assert!((998..=1000).contains(&ttl(&mut r, "g")));
    let at = now_ms() + 500_000;
    check(&mut r, &["GETEX", "g", "PXAT", &at.to_string()], &bulk("v"));
    assert!((498..=500).contains(&ttl(&mut r, "g")));
    check(&mut r, &["GETEX", "g", "EX", "10", "EX", "20"], &bulk("v"));
    assert!((19..=20).contains(&ttl(&mut r, "g")));
    check(&mut r, &["GETEX", "g", "EXAT", "9223372036854775"], &bulk("v"));
    check(&mut r, &["GETEX", "g", "PXAT", "9223372036854775807"], &bulk("v"));
    for bad in [
        &["GETEX", "g", "PERSIST", "EX", "10"][..],
        &["GETEX", "g", "EX", "10", "PERSIST"],
        &["GETEX", "g", "EX", "10", "PX", "10"],
        &["GETEX", "g", "NX"],
        &["GETEX", "g", "XX"],
        &["GETEX", "g", "KEEPTTL"],
        &["GETEX", "g", "GET"],
        &["GETEX", "g", "EX"],
        &["GETEX", "g", "foo"],
        &["GETEX", "missing", "foo"],
    ] {
        check(&mut r, bad, SYNTAX);
    }
    check(&mut r, &["GETEX", "g", "EX", "0"], &invalid_expire("getex"));
    check(&mut r, &["GETEX", "g", "EX", "-1"], &invalid_expire("getex"));
    check(&mut r, &["GETEX", "g", "EX", "9223372036854775"], &invalid_expire("getex"));
    check(&mut r, &["GETEX", "g", "PX", "9223372036854775807"], &invalid_expire("getex"));
    check(&mut r, &["GETEX", "g", "EX", "abc"], NOT_INT);
    // A missing key answers nil before the expiry is validated.
    check(&mut r, &["GETEX", "missing"], NIL);
    check(&mut r, &["GETEX", "missing", "EX", "abc"], NIL);
    check(&mut r, &["GETEX", "missing", "EX", "0"], NIL);
    // An absolute time already past deletes the key after replying.
    check(&mut r, &["GETEX", "g", "EXAT", "1"], &bulk("v"));
    check(&mut r, &["EXISTS", "g"], ":0\r\n");
    check(&mut r, &["SET", "g", "w"], OK);
    check(&mut r, &["GETEX", "g", "PXAT", "1"], &bulk("w"));
    check(&mut r, &["EXISTS", "g"], ":0\r\n");
}

#[test]
fn mget_mset_msetnx_across_shards() {
    let server = Server::start_sharded();
    let mut r = server.raw();
    let keys = keys_on_every_shard("m");
    let shards: std::collections::HashSet<usize> = keys.iter().map(|k| shard_of(k)).collect();
    assert_eq!(shards.len(), SHARDS);
    let mut mset = vec!["MSET"];
    let values = ["v0", "1", "", "v3"];
    for (k, v) in keys.iter().zip(values) {
        mset.push(k);
        mset.push(v);
    }
    check(&mut r, &mset, OK);
    let mut mget = vec!["MGET", "missing"];
    mget.extend(keys.iter().map(String::as_str));
    mget.push(&keys[0]);
    check(&mut r, &mget, "*6\r\n$-1\r\n$2\r\nv0\r\n$1\r\n1\r\n$0\r\n\r\n$2\r\nv3\r\n$2\r\nv0\r\n");
    assert_eq!(encoding(&mut r, &keys[1]), bulk("int"));
    // The same key twice: the last value wins.
    check(&mut r, &["MSET", &keys[0], "a", &keys[1], "b", &keys[0], "c"], OK);
    check(&mut r, &["MGET", &keys[0], &keys[1]], "*2\r\n$1\r\nc\r\n$1\r\nb\r\n");
    // MSET drops TTLs.
    check(&mut r, &["SET", &keys[2], "x", "EX", "100"], OK);
    check(&mut r, &["MSET", &keys[2], "y", &keys[3], "z"], OK);
    assert_eq!(ttl(&mut r, &keys[2]), -1);
    // Odd argument counts: the arity error, and nothing written, even across shards.
    for args in
        [&["MSET", &keys[0], "1", &keys[1]][..], &["MSET", &keys[0]], &["MSET", &keys[0], "1", &keys[1], "2", &keys[2]]]
    {
        check(&mut r, args, "-ERR wrong number of arguments for 'mset' command\r\n");
    }
    check(&mut r, &["MGET", &keys[0], &keys[1]], "*2\r\n$1\r\nc\r\n$1\r\nb\r\n");

    // MSETNX: all or nothing across shards.
    let fresh = keys_on_every_shard("n");
    let mut msetnx = vec!["MSETNX"];
    for k in &fresh {
        msetnx.push(k);
        msetnx.push("new");
    }
    msetnx.push(&keys[3]);
    msetnx.push("clobber");
    check(&mut r, &msetnx, ":0\r\n");
    let mut mget = vec!["MGET"];
    mget.extend(fresh.iter().map(String::as_str));
    mget.push(&keys[3]);
    check(&mut r, &mget, "*5\r\n$-1\r\n$-1\r\n$-1\r\n$-1\r\n$1\r\nz\r\n");
    msetnx.truncate(msetnx.len() - 2);
    check(&mut r, &msetnx, ":1\r\n");
    mget.pop();
    check(&mut r, &mget, "*4\r\n$3\r\nnew\r\n$3\r\nnew\r\n$3\r\nnew\r\n$3\r\nnew\r\n");
    check(&mut r, &msetnx, ":0\r\n");
    check(&mut r, &["MSETNX", &fresh[0], "1", &fresh[1]], "-ERR wrong number of arguments for 'msetnx' command\r\n");
    check(&mut r, &["MSETNX", "x1{t}", "1", "x2{t}", "2"], ":1\r\n");
    check(&mut r, &["MSETNX", "x1{t}", "1", "x3{t}", "2"], ":0\r\n");
    check(&mut r, &["EXISTS", "x3{t}"], ":0\r\n");
    // An expired key does not block MSETNX.
    check(&mut r, &["SET", &fresh[0], "v", "PX", "20"], OK);
    std::thread::sleep(Duration::from_millis(40));
    check(&mut r, &["MSETNX", &fresh[0], "again", &key_on(1, "o"), "x"], ":1\r\n");
    check(&mut r, &["GET", &fresh[0]], &bulk("again"));
    check(&mut r, &["MGET"], "-ERR wrong number of arguments for 'mget' command\r\n");
}

#[test]
fn append_and_strlen() {
    let server = Server::start_sharded();
    let mut r = server.raw();
    check(&mut r, &["STRLEN", "a"], ":0\r\n");
    check(&mut r, &["APPEND", "a", "12"], ":2\r\n");
    assert_eq!(encoding(&mut r, "a"), bulk("int"));
    check(&mut r, &["STRLEN", "a"], ":2\r\n");
    check(&mut r, &["APPEND", "a", "3"], ":3\r\n");
    assert_eq!(encoding(&mut r, "a"), bulk("raw"));
    check(&mut r, &["GET", "a"], &bulk("123"));
    check(&mut r, &["INCR", "a"], ":124\r\n");
    assert_eq!(encoding(&mut r, "a"), bulk("int"));
    check(&mut r, &["APPEND", "b", "hello"], ":5\r\n");
    assert_eq!(encoding(&mut r, "b"), bulk("embstr"));
    check(&mut r, &["APPEND", "b", ""], ":5\r\n");
    assert_eq!(encoding(&mut r, "b"), bulk("raw"));
    check(&mut r, &["APPEND", "b", " world"], ":11\r\n");
    check(&mut r, &["GET", "b"], &bulk("hello world"));
    check(&mut r, &["STRLEN", "b"], ":11\r\n");
    check(&mut r, &["SET", "n", "-123"], OK);
    check(&mut r, &["STRLEN", "n"], ":4\r\n");
    check(&mut r, &["SET", "big", &"x".repeat(45)], OK);
    check(&mut r, &["APPEND", "big", "y"], ":46\r\n");
    check(&mut r, &["SET", "t", "v", "EX", "100"], OK);
    check(&mut r, &["APPEND", "t", "w"], ":2\r\n");
    assert!((99..=100).contains(&ttl(&mut r, "t")), "APPEND keeps the TTL");
    check(&mut r, &["APPEND", "t"], "-ERR wrong number of arguments for 'append' command\r\n");
}

#[test]
fn counters() {
    let server = Server::start_sharded();
    let mut r = server.raw();
    check(&mut r, &["INCR", "c"], ":1\r\n");
    check(&mut r, &["INCR", "c"], ":2\r\n");
    check(&mut r, &["DECR", "c"], ":1\r\n");
    check(&mut r, &["INCRBY", "c", "10"], ":11\r\n");
    check(&mut r, &["DECRBY", "c", "20"], ":-9\r\n");
    check(&mut r, &["GET", "c"], &bulk("-9"));
    assert_eq!(encoding(&mut r, "c"), bulk("int"));
    check(&mut r, &["DECR", "d"], ":-1\r\n");
    check(&mut r, &["DECRBY", "e", "5"], ":-5\r\n");
    check(&mut r, &["INCRBY", "e", "9223372036854775807"], ":9223372036854775802\r\n");
    check(&mut r, &["INCRBY", "e", "-9223372036854775808"], ":-6\r\n");
    check(&mut r, &["INCRBY", "f", "-9223372036854775808"], ":-9223372036854775808\r\n");
    // Overflow.
    check(&mut r, &["SET", "o", "9223372036854775807"], OK);
    check(&mut r, &["INCR", "o"], "-ERR increment or decrement would overflow\r\n");
    check(&mut r, &["INCRBY", "o", "1"], "-ERR increment or decrement would overflow\r\n");
    check(&mut r, &["SET", "o", "-9223372036854775808"], OK);
    check(&mut r, &["DECR", "o"], "-ERR increment or decrement would overflow\r\n");
    check(&mut r, &["DECRBY", "o", "-9223372036854775808"], "-ERR decrement would overflow\r\n");
    check(&mut r, &["DECRBY", "missing", "-9223372036854775808"], "-ERR decrement would overflow\r\n");
    check(&mut r, &["GET", "o"], &bulk("-9223372036854775808"));
    // Values and increments that are not integers.
    for value in ["abc", " 1", "1 ", "007", "-0", "+1", "1.5", "", "9223372036854775808"] {
        check(&mut r, &["SET", "x", value], OK);
        check(&mut r, &["INCR", "x"], NOT_INT);
        check(&mut r, &["DECRBY", "x", "1"], NOT_INT);
    }
    for by in ["abc", "1.5", "-0", "01", "+1", "", "9223372036854775808"] {
        check(&mut r, &["INCRBY", "c", by], NOT_INT);
        check(&mut r, &["DECRBY", "c", by], NOT_INT);
    }
    // A raw value holding digits counts, and the result is an int again.
    check(&mut r, &["SET", "a", "5"], OK);
    check(&mut r, &["APPEND", "a", "0"], ":2\r\n");
    check(&mut r, &["INCR", "a"], ":51\r\n");
    assert_eq!(encoding(&mut r, "a"), bulk("int"));
    // TTL kept.
    check(&mut r, &["SET", "t", "1", "EX", "100"], OK);
    check(&mut r, &["INCRBY", "t", "5"], ":6\r\n");
    assert!((99..=100).contains(&ttl(&mut r, "t")));
    check(&mut r, &["INCR", "t", "1"], "-ERR wrong number of arguments for 'incr' command\r\n");
}

#[test]
fn incrbyfloat_matches_redis_long_double_text() {
    let server = Server::start_sharded();
    let mut r = server.raw();
    let steps = [
        ("f", "10.5", "10.5"),
        ("f", "0.1", "10.6"),
        ("g", "0.1", "0.1"),
        ("g", "0.2", "0.3"),
        ("h", "3.0e3", "3000"),
        ("h", "1e-5", "3000.00001000000000007"),
        ("i", "10000000000.1", "10000000000.09999999962747097"),
        ("j", "1.1", "1.1"),
        ("j", "2.2", "3.3"),
        ("k", "5", "5"),
        ("k", "-5", "0"),
        ("k", "-0.0", "0"),
        ("l", "0x10", "16"),
        ("l", "+1.5", "17.5"),
        ("l", ".5", "18"),
        ("l", "5.", "23"),
        ("m", "1.23e-10", "0.000000000123"),
        ("n", "1e-400", "0"),
        ("o", "-2.5", "-2.5"),
        ("p", "-1e-18", "0"),
    ];
    for (key, by, expected) in steps {
        check(&mut r, &["INCRBYFLOAT", key, by], &bulk(expected));
        check(&mut r, &["GET", key], &bulk(expected));
    }
    // Existing values: integers, floats in any notation.
    check(&mut r, &["SET", "v", "9223372036854775807"], OK);
    check(&mut r, &["INCRBYFLOAT", "v", "1"], &bulk("9223372036854775808"));
    check(&mut r, &["SET", "v", "1e3"], OK);
    check(&mut r, &["INCRBYFLOAT", "v", "0"], &bulk("1000"));
    // The result is stored as text (embstr), never as an int.
    assert_eq!(encoding(&mut r, "v"), bulk("embstr"));
    assert_eq!(encoding(&mut r, "k"), bulk("embstr"));
    let big = "1".repeat(50);
    check(&mut r, &["INCRBYFLOAT", "w", &big], &bulk("11111111111111111111157189290920927820784081043456"));
    assert_eq!(encoding(&mut r, "w"), bulk("raw"));
    check(&mut r, &["INCRBYFLOAT", "x", &"1".repeat(44)], &bulk("11111111111111111111226513933120909116178432"));
    assert_eq!(encoding(&mut r, "x"), bulk("embstr"));
    // Errors.
    for by in ["abc", "nan", " 1", "1 ", "", "1e5000", "1e-5000", "1_0", "0x", "1e"] {
        check(&mut r, &["INCRBYFLOAT", "f", by], NOT_FLOAT);
    }
    for by in ["inf", "-inf", "INFINITY"] {
        check(&mut r, &["INCRBYFLOAT", "f", by], "-ERR increment would produce NaN or Infinity\r\n");
    }
    check(&mut r, &["SET", "bad", "abc"], OK);
    check(&mut r, &["INCRBYFLOAT", "bad", "1"], NOT_FLOAT);
    check(&mut r, &["SET", "inf", "inf"], OK);
    check(&mut r, &["INCRBYFLOAT", "inf", "1"], "-ERR increment would produce NaN or Infinity\r\n");
    check(&mut r, &["GET", "f"], &bulk("10.6"));
    // TTL kept.
    check(&mut r, &["SET", "t", "1", "EX", "100"], OK);
    check(&mut r, &["INCRBYFLOAT", "t", "1.5"], &bulk("2.5"));
    assert!((99..=100).contains(&ttl(&mut r, "t")));
    // RESP3: still a bulk string.
    resp3(&mut r);
    check(&mut r, &["INCRBYFLOAT", "t", "0.5"], &bulk("3"));
}

#[test]
fn getrange_and_substr() {
    let server = Server::start_sharded();
    let mut r = server.raw();
    check(&mut r, &["SET", "s", "Hello World"], OK);
    let cases = [
        ("0", "3", "Hell"),
        ("-3", "-1", "rld"),
        ("0", "-1", "Hello World"),
        ("10", "100", "d"),
        ("5", "3", ""),
        ("-1", "-5", ""),
        ("-100", "-50", "H"),
        ("-100", "-200", ""),
        ("-100", "5", "Hello "),
        ("0", "0", "H"),
        ("11", "12", ""),
        ("-1", "-1", "d"),
        ("3", "-100", ""),
        ("9223372036854775807", "9223372036854775807", ""),
        ("-9223372036854775808", "-1", "Hello World"),
        ("-9223372036854775808", "9223372036854775807", "Hello World"),
    ];
    for (start, end, expected) in cases {
        check(&mut r, &["GETRANGE", "s", start, end], &bulk(expected));
        check(&mut r, &["SUBSTR", "s", start, end], &bulk(expected));
    }
    check(&mut r, &["GETRANGE", "s", "a", "1"], NOT_INT);
    check(&mut r, &["GETRANGE", "s", "1", "a"], NOT_INT);
    check(&mut r, &["GETRANGE", "s", "1.5", "2"], NOT_INT);
    check(&mut r, &["GETRANGE", "missing", "0", "-1"], EMPTY);
    check(&mut r, &["GETRANGE", "missing", "a", "-1"], NOT_INT);
    check(&mut r, &["SET", "e", ""], OK);
    check(&mut r, &["GETRANGE", "e", "0", "-1"], EMPTY);
    check(&mut r, &["SET", "i", "12345"], OK);
    check(&mut r, &["GETRANGE", "i", "1", "2"], &bulk("23"));
    check(&mut r, &["GETRANGE", "i", "-2", "-1"], &bulk("45"));
    check(&mut r, &["GETRANGE", "s", "0"], "-ERR wrong number of arguments for 'getrange' command\r\n");
}

#[test]
fn setrange() {
    let server = Server::start_sharded();
    let mut r = server.raw();
    // Empty value on a missing key: 0, key not created.
    check(&mut r, &["SETRANGE", "r", "0", ""], ":0\r\n");
    check(&mut r, &["SETRANGE", "r", "5", ""], ":0\r\n");
    check(&mut r, &["EXISTS", "r"], ":0\r\n");
    check(&mut r, &["SETRANGE", "r", "-1", "x"], "-ERR offset is out of range\r\n");
    check(&mut r, &["SETRANGE", "r", "-1", ""], "-ERR offset is out of range\r\n");
    check(&mut r, &["SETRANGE", "r", "a", "x"], NOT_INT);
    check(&mut r, &["SETRANGE", "r", "9223372036854775808", "x"], NOT_INT);
    check(&mut r, &["SETRANGE", "r", "536870912", "x"], TOO_LONG);
    check(&mut r, &["SETRANGE", "r", "9223372036854775807", "x"], TOO_LONG);
    check(&mut r, &["SETRANGE", "r", "536870911", ""], ":0\r\n");
    check(&mut r, &["EXISTS", "r"], ":0\r\n");
    // Zero padding on create.
    check(&mut r, &["SETRANGE", "r", "3", "ab"], ":5\r\n");
    assert_eq!(r.cmd(&[b"GET", b"r"]), b"$5\r\n\0\0\0ab\r\n");
    assert_eq!(encoding(&mut r, "r"), bulk("raw"));
    // Overwrite inside, extend past the end.
    check(&mut r, &["SET", "s", "Hello World"], OK);
    check(&mut r, &["SETRANGE", "s", "6", "Redis"], ":11\r\n");
    check(&mut r, &["GET", "s"], &bulk("Hello Redis"));
    check(&mut r, &["SETRANGE", "s", "13", "!"], ":14\r\n");
    assert_eq!(r.cmd(&[b"GET", b"s"]), b"$14\r\nHello Redis\0\0!\r\n");
    // Encodings: a change makes it raw; an empty value changes nothing.
    check(&mut r, &["SET", "n", "12"], OK);
    check(&mut r, &["SETRANGE", "n", "0", ""], ":2\r\n");
    assert_eq!(encoding(&mut r, "n"), bulk("int"));
    check(&mut r, &["SETRANGE", "n", "0", "3"], ":2\r\n");
    assert_eq!(encoding(&mut r, "n"), bulk("raw"));
    check(&mut r, &["GET", "n"], &bulk("32"));
    check(&mut r, &["SET", "h", "hello"], OK);
    check(&mut r, &["SETRANGE", "h", "1", ""], ":5\r\n");
    assert_eq!(encoding(&mut r, "h"), bulk("embstr"));
    // Bounds on an existing key.
    check(&mut r, &["SETRANGE", "h", "536870912", ""], ":5\r\n");
    check(&mut r, &["SETRANGE", "h", "536870911", "xx"], TOO_LONG);
    check(&mut r, &["GET", "h"], &bulk("hello"));
    // TTL kept.
    check(&mut r, &["SET", "t", "abc", "EX", "100"], OK);
    check(&mut r, &["SETRANGE", "t", "1", "X"], ":3\r\n");
    assert!((99..=100).contains(&ttl(&mut r, "t")));
}

#[test]
fn proto_max_bulk_len_bounds_append_setrange_and_lcs() {
    let server = Server::start_sharded();
    let mut r = server.raw();
    let mb = 1024 * 1024;
    let big = vec![b'a'; mb];
    assert_eq!(r.cmd(&[b"SET", b"big", &big]), b"+OK\r\n");
    check(&mut r, &["CONFIG", "SET", "proto-max-bulk-len", "1mb"], OK);
    check(&mut r, &["APPEND", "big", "x"], TOO_LONG);
    check(&mut r, &["APPEND", "big", ""], &int(mb as i64));
    check(&mut r, &["SETRANGE", "big", &mb.to_string(), "x"], TOO_LONG);
    check(&mut r, &["SETRANGE", "big", &(mb - 1).to_string(), "x"], &int(mb as i64));
    check(&mut r, &["SETRANGE", "new", &mb.to_string(), "x"], TOO_LONG);
    check(&mut r, &["STRLEN", "big"], &int(mb as i64));
    // LCS's table: (len+1)^2 * 4 bytes must stay within proto-max-bulk-len.
    let (ka, kb) = (key_on(0, "l"), key_on(3, "l"));
    check(&mut r, &["SET", &ka, &"A".repeat(600)], OK);
    check(&mut r, &["SET", &kb, &"A".repeat(600)], OK);
    check(
        &mut r,
        &["LCS", &ka, &kb, "LEN"],
        "-ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len\r\n",
    );
    check(&mut r, &["SET", &ka, &"A".repeat(500)], OK);
    check(&mut r, &["SET", &kb, &"A".repeat(500)], OK);
    check(&mut r, &["LCS", &ka, &kb, "LEN"], ":500\r\n");
}

#[test]
fn lcs_shapes_resp2_and_resp3() {
    let server = Server::start_sharded();
    let mut r = server.raw();
    // The two keys on different shards: LCS gathers them.
    let (k1, k2) = (key_on(1, "lcs"), key_on(2, "lcs"));
    check(&mut r, &["SET", &k1, "ohmytext"], OK);
    check(&mut r, &["SET", &k2, "mynewtext"], OK);
    check(&mut r, &["LCS", &k1, &k2], &bulk("mytext"));
    check(&mut r, &["LCS", &k1, &k2, "LEN"], ":6\r\n");
    let idx = "*4\r\n$7\r\nmatches\r\n*2\r\n*2\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n*2\r\n*2\r\n:2\r\n:3\r\n*2\r\n:0\r\n:1\r\n$3\r\nlen\r\n:6\r\n";
    check(&mut r, &["LCS", &k1, &k2, "IDX"], idx);
    check(&mut r, &["LCS", &k1, &k2, "idx", "MINMATCHLEN", "-5"], idx);
    check(
        &mut r,
        &["LCS", &k1, &k2, "IDX", "MINMATCHLEN", "4"],
        "*4\r\n$7\r\nmatches\r\n*1\r\n*2\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n$3\r\nlen\r\n:6\r\n",
    );
    check(
        &mut r,
        &["LCS", &k1, &k2, "IDX", "MINMATCHLEN", "4", "WITHMATCHLEN"],
        "*4\r\n$7\r\nmatches\r\n*1\r\n*3\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n:4\r\n$3\r\nlen\r\n:6\r\n",
    );
    let with_len =
        "*2\r\n*3\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n:4\r\n*3\r\n*2\r\n:2\r\n:3\r\n*2\r\n:0\r\n:1\r\n:2\r\n";
    check(
        &mut r,
        &["LCS", &k1, &k2, "IDX", "WITHMATCHLEN"],
        &format!("*4\r\n$7\r\nmatches\r\n{with_len}$3\r\nlen\r\n:6\r\n"),
    );
    check(&mut r, &["LCS", &k1, &k2, "LEN", "WITHMATCHLEN"], ":6\r\n");
    check(&mut r, &["LCS", &k1, &k2, "LEN", "MINMATCHLEN", "3"], ":6\r\n");
    // Missing keys are empty strings.
    check(&mut r, &["LCS", &k1, "missing"], EMPTY);
    check(&mut r, &["LCS", &k1, "missing", "LEN"], ":0\r\n");
    check(&mut r, &["LCS", "missing", &k1, "IDX"], "*4\r\n$7\r\nmatches\r\n*0\r\n$3\r\nlen\r\n:0\r\n");
    // Integers are compared as text.
    check(&mut r, &["SET", "n1{x}", "12345"], OK);
    check(&mut r, &["SET", "n2{x}", "2345"], OK);
    check(
        &mut r,
        &["LCS", "n1{x}", "n2{x}", "IDX", "WITHMATCHLEN"],
        "*4\r\n$7\r\nmatches\r\n*1\r\n*3\r\n*2\r\n:1\r\n:4\r\n*2\r\n:0\r\n:3\r\n:4\r\n$3\r\nlen\r\n:4\r\n",
    );
    // Errors.
    let both = "-ERR If you want both the length and indexes, please just use IDX.\r\n";
    check(&mut r, &["LCS", &k1, &k2, "LEN", "IDX"], both);
    check(&mut r, &["LCS", &k1, &k2, "IDX", "LEN"], both);
    check(&mut r, &["LCS", &k1, &k2, "MINMATCHLEN"], SYNTAX);
    check(&mut r, &["LCS", &k1, &k2, "MINMATCHLEN", "x"], NOT_INT);
    check(&mut r, &["LCS", &k1, &k2, "foo"], SYNTAX);
    check(&mut r, &["LCS", &k1, &k2, "LEN", "IDX", "foo"], SYNTAX);
    check(&mut r, &["LCS", &k1], "-ERR wrong number of arguments for 'lcs' command\r\n");
    // RESP3: IDX is a map; nil and the rest unchanged.
    resp3(&mut r);
    check(
        &mut r,
        &["LCS", &k1, &k2, "IDX", "WITHMATCHLEN"],
        &format!("%2\r\n$7\r\nmatches\r\n{with_len}$3\r\nlen\r\n:6\r\n"),
    );
    check(&mut r, &["LCS", &k1, &k2, "IDX", "MINMATCHLEN", "100"], "%2\r\n$7\r\nmatches\r\n*0\r\n$3\r\nlen\r\n:6\r\n");
    check(&mut r, &["LCS", &k1, &k2, "LEN"], ":6\r\n");
    check(&mut r, &["LCS", &k1, &k2], &bulk("mytext"));
}

#[test]
fn resp3_nulls() {
    let server = Server::start_sharded();
    let mut r = server.raw();
    resp3(&mut r);
    let (a, b) = (key_on(0, "r"), key_on(3, "r"));
    check(&mut r, &["GET", &a], "_\r\n");
    check(&mut r, &["SET", &a, "1"], OK);
    check(&mut r, &["MGET", &b, &a], "*2\r\n_\r\n$1\r\n1\r\n");
    check(&mut r, &["SET", &a, "2", "NX"], "_\r\n");
    check(&mut r, &["SET", &b, "2", "NX", "GET"], "_\r\n");
    check(&mut r, &["SET", "x", "1", "XX"], "_\r\n");
    check(&mut r, &["GETSET", "y", "1"], "_\r\n");
    check(&mut r, &["GETDEL", "z"], "_\r\n");
    check(&mut r, &["GETEX", "z", "PERSIST"], "_\r\n");
    check(&mut r, &["SET", &a, "3", "GET"], &bulk("1"));
}

#[test]
fn binary_safe_keys_and_values() {
    let server = Server::start_sharded();
    let mut r = server.raw();
    let all: Vec<u8> = (0..=255u8).collect();
    let mut key = b"bin\r\n\0key".to_vec();
    key.extend_from_slice(&all);
    let mut value = b"\r\n$3\r\n*1\r\n".to_vec();
    value.extend_from_slice(&all);
    value.extend_from_slice(&all);
    assert_eq!(r.cmd(&[b"SET", &key, &value]), b"+OK\r\n");
    let mut expected = format!("${}\r\n", value.len()).into_bytes();
    expected.extend_from_slice(&value);
    expected.extend_from_slice(b"\r\n");
    assert_eq!(r.cmd(&[b"GET", &key]), expected);
    assert_eq!(r.cmd(&[b"STRLEN", &key]), format!(":{}\r\n", value.len()).into_bytes());
    assert_eq!(r.cmd(&[b"APPEND", &key, b"\0\r\n"]), format!(":{}\r\n", value.len() + 3).into_bytes());
    assert_eq!(r.cmd(&[b"GETRANGE", &key, b"-3", b"-1"]), b"$3\r\n\0\r\n\r\n");
    assert_eq!(r.cmd(&[b"SETRANGE", &key, b"0", b"\n\r"]), format!(":{}\r\n", value.len() + 3).into_bytes());
    assert_eq!(r.cmd(&[b"GETRANGE", &key, b"0", b"3"]), b"$4\r\n\n\r$3\r\n");
    // Keys differing only in high or zero bytes are distinct, wherever they land.
    let keys: Vec<Vec<u8>> = (0..=255u8).map(|b| vec![b'k', b, 0, b'\n']).collect();
    let mut mset: Vec<&[u8]> = vec![b"MSET"];
    let values: Vec<Vec<u8>> = (0..=255u8).map(|b| vec![b, b'\r', b'\n', 255 - b]).collect();
    for (k, v) in keys.iter().zip(&values) {
        mset.push(k);
        mset.push(v);
    }
    assert_eq!(r.cmd(&mset), b"+OK\r\n");
    let mut mget: Vec<&[u8]> = vec![b"MGET"];
    mget.extend(keys.iter().map(Vec::as_slice));
    let mut expected = b"*256\r\n".to_vec();
    for v in &values {
        expected.extend_from_slice(b"$4\r\n");
        expected.extend_from_slice(v);
        expected.extend_from_slice(b"\r\n");
    }
    assert_eq!(r.cmd(&mget), expected);
    assert_eq!(r.cmd(&[b"GETDEL", &keys[255]]), [b"$4\r\n".as_slice(), &values[255], b"\r\n"].concat());
    assert_eq!(r.cmd(&[b"GET", &keys[255]]), b"$-1\r\n");
    assert_eq!(r.cmd(&[b"GET", &keys[254]]), [b"$4\r\n".as_slice(), &values[254], b"\r\n"].concat());
    // LCS over binary values.
    assert_eq!(r.cmd(&[b"SET", b"b1", b"\0\x01\r\n\xff"]), b"+OK\r\n");
    assert_eq!(r.cmd(&[b"SET", b"b2", b"\x01\r\xff\n"]), b"+OK\r\n");
    assert_eq!(r.cmd(&[b"LCS", b"b1", b"b2"]), b"$3\r\n\x01\r\xff\r\n");
}

#[test]
fn one_megabyte_value() {
    let server = Server::start_sharded();
    let mut r = server.raw();
    let value: Vec<u8> = (0..1024 * 1024).map(|i| (i % 251) as u8).collect();
    assert_eq!(r.cmd(&[b"SET", b"big", &value]), b"+OK\r\n");
    let reply = r.cmd(&[b"GET", b"big"]);
    let header = format!("${}\r\n", value.len());
    assert_eq!(&reply[..header.len()], header.as_bytes());
    assert_eq!(&reply[header.len()..reply.len() - 2], value.as_slice());
    check(&mut r, &["STRLEN", "big"], &int(value.len() as i64));
    assert_eq!(encoding(&mut r, "big"), bulk("raw"));
    check(&mut r, &["APPEND", "big", "xyz"], &int(value.len() as i64 + 3));
    assert_eq!(
        r.cmd(&[b"GETRANGE", b"big", b"-4", b"-1"]),
        [b"$4\r\n".as_slice(), &value[value.len() - 1..], b"xyz\r\n"].concat()
    );
    check(&mut r, &["SETRANGE", "big", "2000000", "end"], ":2000003\r\n");
    check(&mut r, &["GETRANGE", "big", "1999999", "-1"], "$4\r\n\0end\r\n");
    let mid = r.cmd(&[b"GETRANGE", b"big", b"1000", b"1009"]);
    assert_eq!(mid, [b"$10\r\n".as_slice(), &value[1000..1010], b"\r\n"].concat());
    // Across shards through MSET/MGET.
    let (a, b) = (key_on(0, "big"), key_on(2, "big"));
    assert_eq!(r.cmd(&[b"MSET", a.as_bytes(), &value, b.as_bytes(), &value[..1000]]), b"+OK\r\n");
    let reply = r.cmd(&[b"MGET", b.as_bytes(), a.as_bytes()]);
    let mut expected = b"*2\r\n$1000\r\n".to_vec();
    expected.extend_from_slice(&value[..1000]);
    expected.extend_from_slice(format!("\r\n${}\r\n", value.len()).as_bytes());
    expected.extend_from_slice(&value);
    expected.extend_from_slice(b"\r\n");
    assert_eq!(reply, expected);
}

#[test]
fn wrong_type_errors() {
    let server = Server::start_sharded();
    let mut r = server.raw();
    let other = key_on(3, "s");
    if !make_non_string(&mut r, "l") || !make_non_string(&mut r, &other) {
        eprintln!("no non-string type is implemented yet: WRONGTYPE paths not exercised");
        return;
    }
    for args in [
        &["GET", "l"][..],
        &["SET", "l", "x", "GET"],
        &["SET", "l", "x", "NX", "GET"],
        &["SET", "l", "x", "XX", "GET"],
        &["GETSET", "l", "x"],
        &["GETDEL", "l"],
        &["GETEX", "l"],
        &["GETEX", "l", "EX", "0"],
        &["APPEND", "l", "x"],
        &["STRLEN", "l"],
        &["INCR", "l"],
        &["DECR", "l"],
        &["INCRBY", "l", "1"],
        &["DECRBY", "l", "1"],
        &["INCRBYFLOAT", "l", "1"],
        &["GETRANGE", "l", "0", "1"],
        &["SUBSTR", "l", "0", "1"],
        &["SETRANGE", "l", "0", "x"],
        &["SETRANGE", "l", "0", ""],
    ] {
        check(&mut r, args, WRONGTYPE);
    }
    // Argument errors come first where Redis checks them first.
    check(&mut r, &["GETEX", "l", "foo"], SYNTAX);
    check(&mut r, &["SET", "l", "x", "EX", "0", "GET"], &invalid_expire("set"));
    check(&mut r, &["INCRBY", "l", "x"], NOT_INT);
    check(&mut r, &["GETRANGE", "l", "x", "1"], NOT_INT);
    check(&mut r, &["SETRANGE", "l", "-1", "x"], "-ERR offset is out of range\r\n");
    // Not errors: MGET answers nil, SETNX/MSETNX see an existing key, SET overwrites.
    check(&mut r, &["SET", "s", "v"], OK);
    check(&mut r, &["MGET", "s", "l", &other], "*3\r\n$1\r\nv\r\n$-1\r\n$-1\r\n");
    check(&mut r, &["SETNX", "l", "x"], ":0\r\n");
    check(&mut r, &["MSETNX", "fresh", "1", "l", "x"], ":0\r\n");
    let lcs_err = "-ERR The specified keys must contain string values\r\n";
    check(&mut r, &["LCS", "s", "l"], lcs_err);
    check(&mut r, &["LCS", &other, "s", "IDX"], lcs_err);
    check(&mut r, &["LCS", "l", "s", "foo"], lcs_err);
    check(&mut r, &["SET", "l", "now a string"], OK);
    check(&mut r, &["GET", "l"], &bulk("now a string"));
    check(&mut r, &["SETEX", &other, "100", "v"], OK);
    check(&mut r, &["TYPE", &other], "+string\r\n");
}
