//! Hash commands against a 4-shard server: exact reply bytes (RESP2 and RESP3), error
//! texts, OBJECT ENCODING conversions (listpack to hashtable), HSCAN and HRANDFIELD,
//! WRONGTYPE both ways, keyspace commands on hashes across shards, and a 100k-field hash.
//! Every expected reply below was checked against Redis 7.0.15.

mod common;

use std::collections::HashSet;

use common::{NOT_INT, Raw, SYNTAX, Server, WRONGTYPE, bulk, cmdv, encode_command, key_on, shard_of};

/// Asserts the exact raw reply of a command.
#[track_caller]
fn check(r: &mut Raw, args: &[&str], expected: &str) {
    assert_eq!(cmdv(r, args), expected, "{args:?}");
}

fn int(n: i64) -> String {
    format!(":{n}\r\n")
}

/// A flat RESP2 array of bulk strings.
fn bulks(items: &[&str]) -> String {
    let mut out = format!("*{}\r\n", items.len());
    for item in items {
        out.push_str(&bulk(item));
    }
    out
}

fn err(text: &str) -> String {
    format!("-{text}\r\n")
}

const OK: &str = "+OK\r\n";
const NIL: &str = "$-1\r\n";
const EMPTY_ARRAY: &str = "*0\r\n";
const NOT_FLOAT: &str = "-ERR value is not a valid float\r\n";

fn encoding(r: &mut Raw, key: &str) -> String {
    cmdv(r, &["OBJECT", "ENCODING", key])
}

/// Switches the connection to RESP3 with HELLO 3.
fn resp3(r: &mut Raw) {
    let hello = r.cmd(&[b"HELLO", b"3"]);
    assert!(hello.starts_with(b"%"), "HELLO 3 answers a map: {:?}", String::from_utf8_lossy(&hello));
}

/// The integer of an integer reply.
fn int_of(reply: &str) -> i64 {
    reply.trim_start_matches(':').trim_end().parse().expect("integer reply")
}

/// Splits a flat RESP2 array of bulk strings into its items.
fn parse_bulks(reply: &str) -> Vec<String> {
    let mut lines = reply.split("\r\n");
    let header = lines.next().expect("header");
    assert!(header.starts_with('*'), "array expected: {reply:?}");
    let n: usize = header[1..].parse().expect("array length");
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let len = lines.next().expect("bulk header");
        assert!(len.starts_with('$'), "bulk expected: {reply:?}");
        out.push(lines.next().expect("bulk body").to_string());
    }
    out
}

/// The cursor and the items of an HSCAN reply.
fn parse_scan(reply: &str) -> (String, Vec<String>) {
    let rest = reply.strip_prefix("*2\r\n").expect("two-element scan reply");
    let (cursor_len, rest) = rest.split_once("\r\n").expect("cursor header");
    let len: usize = cursor_len[1..].parse().expect("cursor length");
    let cursor = rest[..len].to_string();
    (cursor, parse_bulks(&rest[len + 2..]))
}

#[test]
fn set_get_and_field_commands() {
    let server = Server::start_sharded();
    let mut r = server.raw();
    check(&mut r, &["HSET", "h", "a", "1", "b", "2", "c", "3"], &int(3));
    check(&mut r, &["HSET", "h", "a", "10", "d", "4"], &int(1));
    check(&mut r, &["HSET", "h", "a", "1", "d"], &err("ERR wrong number of arguments for 'hset' command"));
    check(&mut r, &["HSET", "h", "a"], &err("ERR wrong number of arguments for 'hset' command"));
    check(&mut r, &["HMSET", "h", "a", "1", "e", "5"], OK);
    check(&mut r, &["HMSET", "h", "a"], &err("ERR wrong number of arguments for 'hmset' command"));
    check(&mut r, &["HSETNX", "h", "a", "9"], &int(0));
    check(&mut r, &["HSETNX", "h", "z", "9"], &int(1));
    check(&mut r, &["HSETNX", "new", "f", "v"], &int(1));
    check(&mut r, &["HGET", "h", "a"], &bulk("1"));
    check(&mut r, &["HGET", "h", "nope"], NIL);
    check(&mut r, &["HGET", "nokey", "a"], NIL);
    check(&mut r, &["HMGET", "h", "a", "nope", "b"], &format!("*3\r\n{}{NIL}{}", bulk("1"), bulk("2")));
    check(&mut r, &["HMGET", "nokey", "a", "b"], &format!("*2\r\n{NIL}{NIL}"));
    check(&mut r, &["HLEN", "h"], &int(6));
    check(&mut r, &["HLEN", "nokey"], &int(0));
    check(&mut r, &["HEXISTS", "h", "a"], &int(1));
    check(&mut r, &["HEXISTS", "h", "q"], &int(0));
    check(&mut r, &["HEXISTS", "nokey", "q"], &int(0));
    check(&mut r, &["HSTRLEN", "h", "a"], &int(1));
    check(&mut r, &["HSET", "h", "long", "hello world"], &int(1));
    check(&mut r, &["HSTRLEN", "h", "long"], &int(11));
    check(&mut r, &["HSTRLEN", "h", "q"], &int(0));
    check(&mut r, &["HSTRLEN", "nokey", "q"], &int(0));
    // A listpack keeps insertion order, as Redis's does.
    check(&mut r, &["HKEYS", "h"], &bulks(&["a", "b", "c", "d", "e", "z", "long"]));
    check(&mut r, &["HVALS", "h"], &bulks(&["1", "2", "3", "4", "5", "9", "hello world"]));
    check(
        &mut r,
        &["HGETALL", "h"],
        &bulks(&["a", "1", "b", "2", "c", "3", "d", "4", "e", "5", "z", "9", "long", "hello world"]),
    );
    check(&mut r, &["HKEYS", "nokey"], EMPTY_ARRAY);
    check(&mut r, &["HVALS", "nokey"], EMPTY_ARRAY);
    check(&mut r, &["HGETALL", "nokey"], EMPTY_ARRAY);
    // HDEL removes in place and deletes the key with its last field.
    check(&mut r, &["HDEL", "h", "nope"], &int(0));
    check(&mut r, &["HDEL", "h", "b", "b", "d"], &int(2));
    check(&mut r, &["HKEYS", "h"], &bulks(&["a", "c", "e", "z", "long"]));
    check(&mut r, &["HDEL", "nokey", "a"], &int(0));
    check(&mut r, &["HDEL", "h", "a", "c", "e", "z", "long", "extra"], &int(5));
    check(&mut r, &["EXISTS", "h"], &int(0));
    check(&mut r, &["HLEN", "h"], &int(0));
    // Binary-safe fields and values.
    let field: &[u8] = b"f\0\r\nx";
    let value: &[u8] = b"\xff\0v\r\n";
    assert_eq!(r.cmd(&[b"HSET", b"bin", field, value]), b":1\r\n");
    assert_eq!(r.cmd(&[b"HGET", b"bin", field]), common::bulk_bytes(value));
    // Empty field and value.
    check(&mut r, &["HSET", "e", "", ""], &int(1));
    check(&mut r, &["HGET", "e", ""], "$0\r\n\r\n");
    check(&mut r, &["HEXISTS", "e", ""], &int(1));
}

#[test]
fn resp3_reply_types() {
    let server = Server::start_sharded();
    let mut r = server.raw();
    resp3(&mut r);
    check(&mut r, &["HSET", "h", "a", "1", "b", "2"], &int(2));
    check(&mut r, &["HGETALL", "h"], &format!("%2\r\n{}{}{}{}", bulk("a"), bulk("1"), bulk("b"), bulk("2")));
    check(&mut r, &["HGETALL", "nokey"], "%0\r\n");
    check(&mut r, &["HKEYS", "h"], &bulks(&["a", "b"]));
    check(&mut r, &["HVALS", "nokey"], EMPTY_ARRAY);
    check(&mut r, &["HGET", "h", "x"], "_\r\n");
    check(&mut r, &["HMGET", "h", "x", "a"], &format!("*2\r\n_\r\n{}", bulk("1")));
    check(&mut r, &["HINCRBYFLOAT", "h", "a", "0.5"], &bulk("1.5"));
    check(&mut r, &["HINCRBY", "h", "b", "3"], &int(5));
    check(&mut r, &["HRANDFIELD", "nokey"], "_\r\n");
    check(&mut r, &["HRANDFIELD", "nokey", "3"], EMPTY_ARRAY);
    check(&mut r, &["HSET", "one", "f", "v"], &int(1));
    let pair = format!("*2\r\n{}{}", bulk("f"), bulk("v"));
    check(&mut r, &["HRANDFIELD", "one", "-2", "WITHVALUES"], &format!("*2\r\n{pair}{pair}"));
    check(&mut r, &["HRANDFIELD", "one", "1", "withvalues"], &format!("*1\r\n{pair}"));
    check(&mut r, &["HRANDFIELD", "one", "5", "withvalues"], &format!("*1\r\n{pair}"));
    check(&mut r, &["HRANDFIELD", "one", "-2"], &bulks(&["f", "f"]));
    check(&mut r, &["HRANDFIELD", "one", "0", "withvalues"], EMPTY_ARRAY);
    check(&mut r, &["HSCAN", "one", "0"], &format!("*2\r\n{}{}", bulk("0"), bulks(&["f", "v"])));
}

#[test]
fn incrby_and_incrbyfloat() {
    let server = Server::start_sharded();
    let mut r = server.raw();
    check(&mut r, &["HINCRBY", "h", "n", "5"], &int(5));
    check(&mut r, &["HINCRBY", "h", "n", "-7"], &int(-2));
    check(&mut r, &["HGET", "h", "n"], &bulk("-2"));
    check(&mut r, &["HINCRBY", "h", "n", "abc"], NOT_INT);
    check(&mut r, &["HINCRBY", "h", "n", "1.5"], NOT_INT);
    check(&mut r, &["HINCRBY", "nokey", "n", "abc"], NOT_INT);
    check(&mut r, &["EXISTS", "nokey"], &int(0));
    check(&mut r, &["HSET", "h", "max", "9223372036854775807", "min", "-9223372036854775808", "s", "hello"], &int(3));
    check(&mut r, &["HINCRBY", "h", "max", "1"], &err("ERR increment or decrement would overflow"));
    check(&mut r, &["HINCRBY", "h", "min", "-1"], &err("ERR increment or decrement would overflow"));
    check(&mut r, &["HINCRBY", "h", "max", "-1"], &int(9223372036854775806));
    check(&mut r, &["HINCRBY", "h", "s", "1"], &err("ERR hash value is not an integer"));
    check(&mut r, &["HSET", "h", "sp", " 1"], &int(1));
    check(&mut r, &["HINCRBY", "h", "sp", "1"], &err("ERR hash value is not an integer"));

    check(&mut r, &["HINCRBYFLOAT", "h", "f", "10.5e3"], &bulk("10500"));
    check(&mut r, &["HINCRBYFLOAT", "h", "f", "-5.0e3"], &bulk("5500"));
    // Long-double arithmetic, byte for byte as Redis prints it.
    check(&mut r, &["HINCRBYFLOAT", "h", "f", "0.1"], &bulk("5500.10000000000000009"));
    check(&mut r, &["HINCRBYFLOAT", "h", "g", "0x10"], &bulk("16"));
    check(&mut r, &["HINCRBYFLOAT", "h", "n", "1.5"], &bulk("-0.5"));
    check(&mut r, &["HINCRBYFLOAT", "h", "x", "3.0"], &bulk("3"));
    check(&mut r, &["HGET", "h", "x"], &bulk("3"));
    let reply = cmdv(&mut r, &["HINCRBYFLOAT", "h", "x", "1e300"]);
    assert!(reply.starts_with("$301\r\n10000000000000000000089973240795591938705239442732"), "{reply:?}");
    check(&mut r, &["HINCRBYFLOAT", "h", "f", "abc"], NOT_FLOAT);
    check(&mut r, &["HINCRBYFLOAT", "h", "f", "nan"], NOT_FLOAT);
    check(&mut r, &["HINCRBYFLOAT", "h", "f", "inf"], &err("ERR value is NaN or Infinity"));
    check(&mut r, &["HINCRBYFLOAT", "h", "f", "-inf"], &err("ERR value is NaN or Infinity"));
    check(&mut r, &["HINCRBYFLOAT", "h", "s", "1"], &err("ERR hash value is not a float"));
    check(&mut r, &["HSET", "big", "x", "1.7976931348623157e308"], &int(1));
    let reply = cmdv(&mut r, &["HINCRBYFLOAT", "big", "x", "1.7976931348623157e308"]);
    assert!(reply.starts_with("$309\r\n359538626972463139991842093548208868096772893888658356970628"), "{reply:?}");
    check(&mut r, &["HSET", "big", "y", "1e4932"], &int(1));
    check(&mut r, &["HINCRBYFLOAT", "big", "y", "1e4932"], &err("ERR increment would produce NaN or Infinity"));
    check(&mut r, &["HINCRBYFLOAT", "big", "y", "-1e4932"], &bulk("0"));
    check(&mut r, &["HINCRBYFLOAT", "nokey", "f", "x"], NOT_FLOAT);
    check(&mut r, &["EXISTS", "nokey"], &int(0));
}

#[test]
fn hrandfield() {
    let server = Server::start_sharded();
    let mut r = server.raw();
    check(&mut r, &["HRANDFIELD", "nokey"], NIL);
    check(&mut r, &["HRANDFIELD", "nokey", "5"], EMPTY_ARRAY);
    check(&mut r, &["HRANDFIELD", "nokey", "-5", "withvalues"], EMPTY_ARRAY);
    check(&mut r, &["HRANDFIELD", "nokey", "0"], EMPTY_ARRAY);
    check(&mut r, &["HRANDFIELD", "nokey", "x"], NOT_INT);
    check(&mut r, &["HRANDFIELD", "nokey", "1", "foo"], SYNTAX);
    check(&mut r, &["HRANDFIELD", "nokey", "1", "withvalues", "x"], SYNTAX);
    check(
        &mut r,
        &["HRANDFIELD", "nokey", "-9223372036854775808"],
        &err("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"),
    );
    check(&mut r, &["HRANDFIELD", "nokey", "9223372036854775807", "withvalues"], &err("ERR value is out of range"));
    check(&mut r, &["HRANDFIELD", "nokey", "-4611686018427387904", "withvalues"], &err("ERR value is out of range"));
    check(&mut r, &["HRANDFIELD", "nokey", "4611686018427387903", "withvalues"], EMPTY_ARRAY);

    let fields: Vec<String> = (0..20).map(|i| format!("f{i}")).collect();
    let mut hset: Vec<&str> = vec!["HSET", "h"];
    let values: Vec<String> = (0..20).map(|i| format!("v{i}")).collect();
    for (f, v) in fields.iter().zip(&values) {
        hset.push(f);
        hset.push(v);
    }
    check(&mut r, &hset, &int(20));
    let all: HashSet<String> = fields.iter().cloned().collect();
    // No count: one bulk field.
    let one = cmdv(&mut r, &["HRANDFIELD", "h"]);
    assert!(all.contains(&parse_bulks(&format!("*1\r\n{one}"))[0]));
    // Positive count below the size: distinct fields.
    for count in [1, 5, 10, 19] {
        let got = parse_bulks(&cmdv(&mut r, &["HRANDFIELD", "h", &count.to_string()]));
        assert_eq!(got.len(), count);
        let distinct: HashSet<_> = got.iter().cloned().collect();
        assert_eq!(distinct.len(), count);
        assert!(distinct.is_subset(&all));
    }
    // Count at least the size: the whole hash in order.
    check(&mut r, &["HRANDFIELD", "h", "20"], &bulks(&fields.iter().map(String::as_str).collect::<Vec<_>>()));
    check(&mut r, &["HRANDFIELD", "h", "100"], &bulks(&fields.iter().map(String::as_str).collect::<Vec<_>>()));
    // Negative count: exactly that many, repeats allowed.
    let got = parse_bulks(&cmdv(&mut r, &["HRANDFIELD", "h", "-100"]));
    assert_eq!(got.len(), 100);
    assert!(got.iter().all(|f| all.contains(f)));
    // WITHVALUES in RESP2: flat field, value pairs.
    let got = parse_bulks(&cmdv(&mut r, &["HRANDFIELD", "h", "-7", "WITHVALUES"]));
    assert_eq!(got.len(), 14);
    for pair in got.chunks(2) {
        assert_eq!(pair[1], pair[0].replace('f', "v"));
    }
    let got = parse_bulks(&cmdv(&mut r, &["HRANDFIELD", "h", "5", "withvalues"]));
    assert_eq!(got.len(), 10);
    let got = parse_bulks(&cmdv(&mut r, &["HRANDFIELD", "h", "50", "withvalues"]));
    assert_eq!(got.len(), 40);
    // WITHVALUES in RESP3: an array of [field, value] arrays.
    resp3(&mut r);
    let reply = cmdv(&mut r, &["HRANDFIELD", "h", "3", "withvalues"]);
    assert!(reply.starts_with("*3\r\n*2\r\n$"), "{reply:?}");
    assert_eq!(reply.matches("*2\r\n").count(), 3);
}

#[test]
fn hscan() {
    let server = Server::start_sharded();
    let mut r = server.raw();
    check(&mut r, &["HSCAN", "nokey", "0"], &format!("*2\r\n{}*0\r\n", bulk("0")));
    check(&mut r, &["HSCAN", "nokey", "0", "garbage"], &format!("*2\r\n{}*0\r\n", bulk("0")));
    check(&mut r, &["HSCAN", "nokey", "x"], &err("ERR invalid cursor"));
    check(&mut r, &["HSCAN", "nokey", " 1"], &err("ERR invalid cursor"));
    check(&mut r, &["HSCAN", "nokey", "18446744073709551616"], &err("ERR invalid cursor"));
    check(&mut r, &["HSET", "small", "a", "1", "b", "2", "ab", "3"], &int(3));
    // A listpack is returned whole, whatever the cursor and count.
    let whole = format!("*2\r\n{}{}", bulk("0"), bulks(&["a", "1", "b", "2", "ab", "3"]));
    check(&mut r, &["HSCAN", "small", "0"], &whole);
    check(&mut r, &["HSCAN", "small", "0", "COUNT", "1"], &whole);
    check(&mut r, &["HSCAN", "small", "7"], &whole);
    check(
        &mut r,
        &["HSCAN", "small", "0", "MATCH", "a*"],
        &format!("*2\r\n{}{}", bulk("0"), bulks(&["a", "1", "ab", "3"])),
    );
    check(&mut r, &["HSCAN", "small", "0", "match", "*"], &whole);
    check(&mut r, &["HSCAN", "small", "0", "match", "zz"], &format!("*2\r\n{}*0\r\n", bulk("0")));
    check(&mut r, &["HSCAN", "small", "0", "count", "0"], SYNTAX);
    check(&mut r, &["HSCAN", "small", "0", "count", "-1"], SYNTAX);
    check(&mut r, &["HSCAN", "small", "0", "count", "abc"], NOT_INT);
    check(&mut r, &["HSCAN", "small", "0", "count"], SYNTAX);
    check(&mut r, &["HSCAN", "small", "0", "match"], SYNTAX);
    check(&mut r, &["HSCAN", "small", "0", "type", "hash"], SYNTAX);
    check(&mut r, &["HSCAN", "small", "x"], &err("ERR invalid cursor"));

    // A hash table is walked in steps; every field comes back exactly once without churn.
    let mut hset: Vec<String> = vec!["HSET".into(), "big".into()];
    for i in 0..1000 {
        hset.push(format!("field:{i}"));
        hset.push(format!("{i}"));
    }
    let hset: Vec<&str> = hset.iter().map(String::as_str).collect();
    check(&mut r, &hset, &int(1000));
    assert_eq!(encoding(&mut r, "big"), bulk("hashtable"));
    let mut seen = HashSet::new();
    let mut cursor = "0".to_string();
    let mut steps = 0;
    loop {
        let (next, items) = parse_scan(&cmdv(&mut r, &["HSCAN", "big", &cursor, "COUNT", "50"]));
        assert!(items.len() <= 100);
        for pair in items.chunks(2) {
            assert_eq!(pair[0], format!("field:{}", pair[1]));
            assert!(seen.insert(pair[0].clone()), "duplicate {}", pair[0]);
        }
        steps += 1;
        cursor = next;
        if cursor == "0" {
            break;
        }
    }
    assert_eq!(seen.len(), 1000);
    assert!(steps >= 20, "walked in steps: {steps}");
    // MATCH filters fields on a hash table; churn between steps loses no stable field.
    let mut matched = HashSet::new();
    let mut cursor = "0".to_string();
    let mut round = 0;
    loop {
        let (next, items) = parse_scan(&cmdv(&mut r, &["HSCAN", "big", &cursor, "MATCH", "field:1*", "COUNT", "30"]));
        for pair in items.chunks(2) {
            assert!(pair[0].starts_with("field:1"));
            matched.insert(pair[0].clone());
        }
        check(&mut r, &["HSET", "big", &format!("tmp{round}"), "x"], &int(1));
        if round > 2 {
            check(&mut r, &["HDEL", "big", &format!("tmp{}", round - 2)], &int(1));
        }
        round += 1;
        cursor = next;
        if cursor == "0" {
            break;
        }
    }
    assert_eq!(matched.len(), 111, "field:1, field:10..19, field:100..199");
}

#[test]
fn encoding_conversions() {
    let server = Server::start_sharded();
    let mut r = server.raw();
    check(&mut r, &["CONFIG", "SET", "hash-max-listpack-entries", "4"], OK);
    check(&mut r, &["CONFIG", "SET", "hash-max-listpack-value", "8"], OK);
    check(&mut r, &["HSET", "h", "a", "1", "b", "2", "c", "3", "d", "4"], &int(4));
    assert_eq!(encoding(&mut r, "h"), bulk("listpack"));
    // Repeated fields do not count twice.
    check(&mut r, &["HSET", "h", "a", "1", "a", "1", "a", "1", "a", "1", "a", "1"], &int(0));
    assert_eq!(encoding(&mut r, "h"), bulk("listpack"));
    check(&mut r, &["HSET", "h", "e", "5"], &int(1));
    assert_eq!(encoding(&mut r, "h"), bulk("hashtable"));
    // Never converts back.
    check(&mut r, &["HDEL", "h", "a", "b", "c", "d"], &int(4));
    assert_eq!(encoding(&mut r, "h"), bulk("hashtable"));
    check(&mut r, &["HGETALL", "h"], &bulks(&["e", "5"]));

    // Values and fields longer than hash-max-listpack-value.
    check(&mut r, &["HSET", "v", "f", "12345678"], &int(1));
    assert_eq!(encoding(&mut r, "v"), bulk("listpack"));
    check(&mut r, &["HSET", "v", "f", "123456789"], &int(0));
    assert_eq!(encoding(&mut r, "v"), bulk("hashtable"));
    check(&mut r, &["HSET", "k", "123456789", "v"], &int(1));
    assert_eq!(encoding(&mut r, "k"), bulk("hashtable"));
    check(&mut r, &["HMSET", "m", "a", "1", "b", "123456789"], OK);
    assert_eq!(encoding(&mut r, "m"), bulk("hashtable"));
    // HSETNX converts only when it sets.
    check(&mut r, &["HSET", "nx", "a", "1"], &int(1));
    check(&mut r, &["HSETNX", "nx", "a", "123456789"], &int(0));
    assert_eq!(encoding(&mut r, "nx"), bulk("listpack"));
    check(&mut r, &["HSETNX", "nx", "b", "123456789"], &int(1));
    assert_eq!(encoding(&mut r, "nx"), bulk("hashtable"));
    // HINCRBY/HINCRBYFLOAT convert on a long field or a long result.
    check(&mut r, &["HINCRBYFLOAT", "fl", "123456789", "1"], &bulk("1"));
    assert_eq!(encoding(&mut r, "fl"), bulk("hashtable"));
    check(&mut r, &["HSET", "fv", "a", "1"], &int(1));
    check(&mut r, &["HINCRBYFLOAT", "fv", "a", "0.5"], &bulk("1.5"));
    assert_eq!(encoding(&mut r, "fv"), bulk("listpack"));
    check(&mut r, &["HINCRBYFLOAT", "fv", "a", "0.000001"], &bulk("1.500001"));
    assert_eq!(encoding(&mut r, "fv"), bulk("listpack"));
    check(&mut r, &["HINCRBYFLOAT", "fv", "a", "0.0000001"], &bulk("1.5000011"));
    assert_eq!(encoding(&mut r, "fv"), bulk("hashtable"));
    check(&mut r, &["HINCRBY", "iv", "a", "99999999"], &int(99999999));
    assert_eq!(encoding(&mut r, "iv"), bulk("listpack"));
    check(&mut r, &["HINCRBY", "iv", "a", "1"], &int(100000000));
    assert_eq!(encoding(&mut r, "iv"), bulk("hashtable"));
    check(&mut r, &["HINCRBY", "ie", "a", "1"], &int(1));
    for f in ["b", "c", "d"] {
        check(&mut r, &["HINCRBY", "ie", f, "1"], &int(1));
    }
    assert_eq!(encoding(&mut r, "ie"), bulk("listpack"));
    check(&mut r, &["HINCRBY", "ie", "e", "1"], &int(1));
    assert_eq!(encoding(&mut r, "ie"), bulk("hashtable"));

    // Defaults as Redis reports them.
    check(&mut r, &["CONFIG", "SET", "hash-max-listpack-entries", "512"], OK);
    check(&mut r, &["CONFIG", "SET", "hash-max-listpack-value", "64"], OK);
    let long = "x".repeat(64);
    check(&mut r, &["HSET", "d", "f", &long], &int(1));
    assert_eq!(encoding(&mut r, "d"), bulk("listpack"));
    check(&mut r, &["HSET", "d", "g", &format!("{long}x")], &int(1));
    assert_eq!(encoding(&mut r, "d"), bulk("hashtable"));
    assert_eq!(encoding(&mut r, "nokey"), NIL);
}

#[test]
fn wrongtype_both_ways() {
    let server = Server::start_sharded();
    let mut r = server.raw();
    check(&mut r, &["SET", "s", "v"], OK);
    for args in [
        &["HSET", "s", "a", "1"][..],
        &["HMSET", "s", "a", "1"],
        &["HSETNX", "s", "a", "1"],
        &["HGET", "s", "a"],
        &["HMGET", "s", "a"],
        &["HDEL", "s", "a"],
        &["HEXISTS", "s", "a"],
        &["HLEN", "s"],
        &["HSTRLEN", "s", "a"],
        &["HKEYS", "s"],
        &["HVALS", "s"],
        &["HGETALL", "s"],
        &["HINCRBY", "s", "a", "1"],
        &["HINCRBYFLOAT", "s", "a", "1"],
        &["HRANDFIELD", "s"],
        &["HRANDFIELD", "s", "1"],
        &["HSCAN", "s", "0"],
    ] {
        check(&mut r, args, WRONGTYPE);
    }
    // Argument errors found before the key is looked up win over WRONGTYPE.
    check(&mut r, &["HSET", "s", "a"], &err("ERR wrong number of arguments for 'hset' command"));
    check(&mut r, &["HINCRBY", "s", "a", "x"], NOT_INT);
    check(&mut r, &["HINCRBYFLOAT", "s", "a", "x"], NOT_FLOAT);
    check(&mut r, &["HRANDFIELD", "s", "1", "foo"], SYNTAX);
    check(&mut r, &["HSCAN", "s", "x"], &err("ERR invalid cursor"));
    check(&mut r, &["GET", "s"], &bulk("v"));

    check(&mut r, &["HSET", "h", "a", "1"], &int(1));
    for args in
        [&["GET", "h"][..], &["APPEND", "h", "x"], &["INCR", "h"], &["STRLEN", "h"], &["GETRANGE", "h", "0", "1"]]
    {
        check(&mut r, args, WRONGTYPE);
    }
    check(&mut r, &["SET", "h", "x"], OK);
    check(&mut r, &["TYPE", "h"], "+string\r\n");
}

#[test]
fn keyspace_commands_across_shards() {
    let server = Server::start_sharded();
    let mut r = server.raw();
    let src = key_on(0, "src");
    let other = key_on(1, "dst");
    let third = key_on(2, "ren");
    assert_ne!(shard_of(&src), shard_of(&other));
    check(&mut r, &["HSET", &src, "a", "1", "b", "2"], &int(2));
    check(&mut r, &["TYPE", &src], "+hash\r\n");
    check(&mut r, &["COPY", &src, &other], &int(1));
    check(&mut r, &["TYPE", &other], "+hash\r\n");
    check(&mut r, &["HGETALL", &other], &bulks(&["a", "1", "b", "2"]));
    // The copy is independent.
    check(&mut r, &["HSET", &other, "c", "3"], &int(1));
    check(&mut r, &["HLEN", &src], &int(2));
    check(&mut r, &["COPY", &src, &other], &int(0));
    check(&mut r, &["COPY", &src, &other, "REPLACE"], &int(1));
    check(&mut r, &["HLEN", &other], &int(2));
    check(&mut r, &["RENAME", &src, &third], OK);
    check(&mut r, &["EXISTS", &src], &int(0));
    check(&mut r, &["HGET", &third, "b"], &bulk("2"));
    check(&mut r, &["OBJECT", "ENCODING", &third], &bulk("listpack"));
    check(&mut r, &["DEL", &third, &other, "nokey"], &int(2));
    check(&mut r, &["DBSIZE"], &int(0));

    // A hash-table hash keeps its encoding and contents across shards.
    let mut hset: Vec<String> = vec!["HSET".into(), src.clone()];
    for i in 0..600 {
        hset.push(format!("f{i}"));
        hset.push(format!("v{i}"));
    }
    let hset: Vec<&str> = hset.iter().map(String::as_str).collect();
    check(&mut r, &hset, &int(600));
    check(&mut r, &["COPY", &src, &other], &int(1));
    check(&mut r, &["OBJECT", "ENCODING", &other], &bulk("hashtable"));
    check(&mut r, &["HGET", &other, "f599"], &bulk("v599"));
    check(&mut r, &["RENAME", &other, &third], OK);
    check(&mut r, &["HLEN", &third], &int(600));
    check(&mut r, &["UNLINK", &src, &third], &int(2));
    // Expiry applies to hashes.
    check(&mut r, &["HSET", "t", "a", "1"], &int(1));
    check(&mut r, &["PEXPIRE", "t", "1"], &int(1));
    std::thread::sleep(std::time::Duration::from_millis(5));
    check(&mut r, &["HGET", "t", "a"], NIL);
    check(&mut r, &["HSET", "t", "a", "1"], &int(1));
    check(&mut r, &["TTL", "t"], &int(-1));
}

fn used_memory(r: &mut Raw) -> i64 {
    let info = cmdv(r, &["INFO", "memory"]);
    let line = info.lines().find(|l| l.starts_with("used_memory:")).expect("used_memory line");
    line["used_memory:".len()..].trim().parse().expect("number")
}

#[test]
fn hundred_thousand_fields_by_pipeline() {
    let server = Server::start_sharded();
    let mut r = server.raw();
    let before = used_memory(&mut r);
    let mut batch = Vec::new();
    for i in 0..100_000 {
        let field = format!("field:{i}");
        let value = format!("value:{i}");
        batch.extend_from_slice(&encode_command(&[b"HSET", b"big", field.as_bytes(), value.as_bytes()]));
    }
    r.send(&batch);
    let replies = r.read_exact(4 * 100_000);
    assert!(replies.chunks(4).all(|c| c == b":1\r\n"), "every HSET created a field");
    check(&mut r, &["HLEN", "big"], &int(100_000));
    assert_eq!(encoding(&mut r, "big"), bulk("hashtable"));
    check(&mut r, &["HGET", "big", "field:99999"], &bulk("value:99999"));
    check(&mut r, &["HSTRLEN", "big", "field:12345"], &int(11));
    let during = used_memory(&mut r);
    assert!(during - before > 100_000 * 20, "used_memory grew: {before} -> {during}");
    let mut client = server.client();
    let all: Vec<String> = redis::cmd("HKEYS").arg("big").query(&mut client).expect("hkeys");
    assert_eq!(all.len(), 100_000);
    let count: usize = all.iter().collect::<HashSet<_>>().len();
    assert_eq!(count, 100_000);
    let map: std::collections::HashMap<String, String> =
        redis::cmd("HGETALL").arg("big").query(&mut client).expect("hgetall");
    assert_eq!(map.len(), 100_000);
    assert_eq!(map["field:777"], "value:777");
    let mut cursor = "0".to_string();
    let mut seen = 0;
    loop {
        let (next, items) = parse_scan(&cmdv(&mut r, &["HSCAN", "big", &cursor, "COUNT", "1000"]));
        seen += items.len() / 2;
        cursor = next;
        if cursor == "0" {
            break;
        }
    }
    assert_eq!(seen, 100_000);
    assert_eq!(int_of(&cmdv(&mut r, &["DEL", "big"])), 1);
    let after = used_memory(&mut r);
    assert!(after < during - 100_000 * 20, "used_memory fell: {during} -> {after}");
}
