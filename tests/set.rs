//! Set commands against a 4-shard server: exact reply bytes (RESP2 and RESP3), error
//! texts, OBJECT ENCODING transitions (intset, listpack, hashtable as Redis 7.2), the
//! cross-shard paths (SMOVE, SINTER*, SUNION*, SDIFF* gathered), random sampling and a
//! large set. Replies and errors were checked against Redis 7.0.15 (encodings follow 7.2,
//! which added listpack sets).

mod common;

use std::collections::BTreeSet;

use common::{NOT_INT, Raw, SYNTAX, Server, WRONGTYPE, bulk, cmdv, key_on};

#[track_caller]
fn check(r: &mut Raw, args: &[&str], expected: &str) {
    assert_eq!(cmdv(r, args), expected, "{args:?}");
}

fn int(n: i64) -> String {
    format!(":{n}\r\n")
}

/// An array (or RESP3 set, with `prefix` `~`) of bulk strings, in order.
fn bulks(prefix: char, items: &[&str]) -> String {
    let mut out = format!("{prefix}{}\r\n", items.len());
    for item in items {
        out.push_str(&bulk(item));
    }
    out
}

fn arr(items: &[&str]) -> String {
    bulks('*', items)
}

/// The bulk strings of a flat array or set reply, in reply order.
fn members(reply: &str) -> Vec<String> {
    let mut lines = reply.split("\r\n");
    let header = lines.next().expect("a header");
    assert!(header.starts_with('*') || header.starts_with('~'), "not an array: {reply:?}");
    let n: usize = header[1..].parse().expect("a length");
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let len = lines.next().expect("a bulk header");
        assert!(len.starts_with('$'), "not a bulk: {reply:?}");
        out.push(lines.next().expect("bulk data").to_string());
    }
    out
}

fn sorted(reply: &str) -> Vec<String> {
    let mut m = members(reply);
    m.sort();
    m
}

fn strs(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn encoding(r: &mut Raw, key: &str) -> String {
    let reply = cmdv(r, &["OBJECT", "ENCODING", key]);
    common::text_of(&reply)
}

fn sadd(r: &mut Raw, key: &str, items: &[String]) -> String {
    let mut args = vec!["SADD", key];
    args.extend(items.iter().map(String::as_str));
    cmdv(r, &args)
}

fn resp3(r: &mut Raw) {
    let hello = r.cmd(&[b"HELLO", b"3"]);
    assert!(hello.starts_with(b"%"), "HELLO 3 answers a map");
}

#[test]
fn add_remove_membership_and_cardinality() {
    let server = Server::start_sharded();
    let mut r = server.raw();
    check(&mut r, &["SADD", "s", "3", "1", "2", "1"], &int(3));
    check(&mut r, &["SMEMBERS", "s"], &arr(&["1", "2", "3"]));
    check(&mut r, &["SADD", "s", "2", "a"], &int(1));
    check(&mut r, &["SCARD", "s"], &int(4));
    check(&mut r, &["SISMEMBER", "s", "a"], &int(1));
    check(&mut r, &["SISMEMBER", "s", "x"], &int(0));
    check(&mut r, &["SISMEMBER", "nokey", "x"], &int(0));
    check(&mut r, &["SMISMEMBER", "s", "a", "x", "1"], "*3\r\n:1\r\n:0\r\n:1\r\n");
    check(&mut r, &["SMISMEMBER", "nokey", "a"], "*1\r\n:0\r\n");
    check(&mut r, &["SREM", "s", "a", "1", "zz"], &int(2));
    check(&mut r, &["SREM", "nokey", "a"], &int(0));
    check(&mut r, &["SMEMBERS", "nokey"], "*0\r\n");
    check(&mut r, &["SCARD", "nokey"], &int(0));
    // A set left empty is deleted.
    check(&mut r, &["SREM", "s", "2", "3", "2"], &int(2));
    check(&mut r, &["EXISTS", "s"], &int(0));
    // Integers are compared as text: "01", "+1" and "-0" are other members than 1.
    check(&mut r, &["SADD", "z", "01", "+1", "-0", "1"], &int(4));
    check(&mut r, &["SISMEMBER", "z", "1"], &int(1));
    check(&mut r, &["SISMEMBER", "z", "01"], &int(1));
    check(&mut r, &["SISMEMBER", "z", "001"], &int(0));
    // Intsets reply in numeric order.
    check(&mut r, &["SADD", "n", "-5", "10", "3", "-100"], &int(4));
    check(&mut r, &["SMEMBERS", "n"], &arr(&["-100", "-5", "3", "10"]));
    // Binary-safe members.
    assert_eq!(r.cmd(&[b"SADD", b"bin", b"a\0b", b"\r\n"]), b":2\r\n");
    assert_eq!(r.cmd(&[b"SISMEMBER", b"bin", b"a\0b"]), b":1\r\n");
    assert_eq!(r.cmd(&[b"SISMEMBER", b"bin", b"a"]), b":0\r\n");
    check(&mut r, &["SADD", "s"], "-ERR wrong number of arguments for 'sadd' command\r\n");
    check(&mut r, &["SMISMEMBER", "s"], "-ERR wrong number of arguments for 'smismember' command\r\n");
}

#[test]
fn wrongtype_both_ways() {
    let server = Server::start_sharded();
    let mut r = server.raw();
    check(&mut r, &["SET", "str", "v"], "+OK\r\n");
    for args in [
        &["SADD", "str", "a"][..],
        &["SREM", "str", "a"],
        &["SCARD", "str"],
        &["SISMEMBER", "str", "a"],
        &["SMISMEMBER", "str", "a"],
        &["SMEMBERS", "str"],
        &["SPOP", "str"],
        &["SPOP", "str", "1"],
        &["SRANDMEMBER", "str"],
        &["SRANDMEMBER", "str", "1"],
        &["SSCAN", "str", "0"],
        &["SSCAN", "str", "0", "bogus"],
        &["SINTER", "nokey", "str"],
        &["SINTERCARD", "2", "nokey", "str"],
        &["SINTERSTORE", "d", "nokey", "str"],
        &["SUNION", "nokey", "str"],
        &["SUNIONSTORE", "d", "str"],
        &["SDIFF", "nokey", "str"],
        &["SDIFFSTORE", "d", "nokey", "str"],
    ] {
        check(&mut r, args, WRONGTYPE);
    }
    check(&mut r, &["GET", "str"], &bulk("v"));
    // And a set under string commands.
    check(&mut r, &["SADD", "set", "a"], &int(1));
    check(&mut r, &["GET", "set"], WRONGTYPE);
    check(&mut r, &["APPEND", "set", "x"], WRONGTYPE);
    check(&mut r, &["TYPE", "set"], "+set\r\n");
    // SMOVE: a missing source wins over a wrong-type destination; otherwise WRONGTYPE.
    check(&mut r, &["SMOVE", "nokey", "str", "a"], &int(0));
    check(&mut r, &["SMOVE", "set", "str", "a"], WRONGTYPE);
    check(&mut r, &["SMOVE", "str", "set", "a"], WRONGTYPE);
    check(&mut r, &["SMEMBERS", "set"], &arr(&["a"]));
    // STORE forms overwrite a destination of another type.
    check(&mut r, &["SUNIONSTORE", "str", "set"], &int(1));
    check(&mut r, &["TYPE", "str"], "+set\r\n");
    check(&mut r, &["SET", "str", "v"], "+OK\r\n");
    check(&mut r, &["SINTERSTORE", "str", "nokey"], &int(0));
    check(&mut r, &["EXISTS", "str"], &int(0));
}

#[test]
fn spop_and_srandmember() {
    let server = Server::start_sharded();
    let mut r = server.raw();
    check(&mut r, &["SPOP", "nokey"], "$-1\r\n");
    check(&mut r, &["SPOP", "nokey", "3"], "*0\r\n");
    check(&mut r, &["SRANDMEMBER", "nokey"], "$-1\r\n");
    check(&mut r, &["SRANDMEMBER", "nokey", "3"], "*0\r\n");
    check(&mut r, &["SRANDMEMBER", "nokey", "x"], NOT_INT);
    let positive = "-ERR value is out of range, must be positive\r\n";
    check(&mut r, &["SPOP", "nokey", "-1"], positive);
    check(&mut r, &["SPOP", "nokey", "x"], positive);
    check(&mut r, &["SADD", "s", "1", "2", "3"], &int(3));
    check(&mut r, &["SPOP", "s", "1", "2"], SYNTAX);
    check(&mut r, &["SRANDMEMBER", "s", "1", "2"], SYNTAX);
    check(
        &mut r,
        &["SRANDMEMBER", "s", "-9223372036854775808"],
        "-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807\r\n",
    );
    check(&mut r, &["SRANDMEMBER", "s", "9223372036854775808"], NOT_INT);
    check(&mut r, &["SRANDMEMBER", "s", "9223372036854775807"], &arr(&["1", "2", "3"]));
    // tallkv builds replies in memory, so repeated sampling is bounded (Redis streams it).
    check(
        &mut r,
        &["SRANDMEMBER", "s", "-16777217"],
        "-ERR value is out of range, value must between -16777216 and 9223372036854775807\r\n",
    );
    check(&mut r, &["SRANDMEMBER", "s", "0"], "*0\r\n");
    check(&mut r, &["SPOP", "s", "0"], "*0\r\n");
    // Counts at least the size return everything (sorted for an intset); SPOP deletes.
    check(&mut r, &["SRANDMEMBER", "s", "3"], &arr(&["1", "2", "3"]));
    check(&mut r, &["SRANDMEMBER", "s", "100"], &arr(&["1", "2", "3"]));
    check(&mut r, &["SPOP", "s", "4"], &arr(&["1", "2", "3"]));
    check(&mut r, &["EXISTS", "s"], &int(0));
    // Single SPOP until empty.
    check(&mut r, &["SADD", "s", "a", "b"], &int(2));
    let mut popped: Vec<String> = (0..2).map(|_| common::text_of(&cmdv(&mut r, &["SPOP", "s"]))).collect();
    popped.sort();
    assert_eq!(popped, strs(&["a", "b"]));
    check(&mut r, &["EXISTS", "s"], &int(0));
    check(&mut r, &["SPOP", "s"], "$-1\r\n");

    // Distinct samples, repeated samples, and every member eventually, for each encoding.
    for (key, items) in [
        ("ints", (0..20).map(|i| i.to_string()).collect::<Vec<_>>()),
        ("lp", (0..20).map(|i| format!("m{i}")).collect()),
        ("ht", (0..300).map(|i| format!("m{i}")).collect()),
    ] {
        sadd(&mut r, key, &items);
        let all: BTreeSet<String> = items.iter().cloned().collect();
        let mut seen = BTreeSet::new();
        for _ in 0..400 {
            let m = common::text_of(&cmdv(&mut r, &["SRANDMEMBER", key]));
            assert!(all.contains(&m));
            seen.insert(m);
        }
        for _ in 0..50 {
            let sample = members(&cmdv(&mut r, &["SRANDMEMBER", key, "7"]));
            assert_eq!(sample.len(), 7);
            let distinct: BTreeSet<String> = sample.iter().cloned().collect();
            assert_eq!(distinct.len(), 7, "{key}: distinct members");
            assert!(distinct.is_subset(&all));
            seen.extend(distinct);
            let repeated = members(&cmdv(&mut r, &["SRANDMEMBER", key, "-30"]));
            assert_eq!(repeated.len(), 30);
            assert!(repeated.iter().all(|m| all.contains(m)));
            seen.extend(repeated);
        }
        // Keep sampling until every member has come up (each round draws 3000 members;
        // a member missed by 40 rounds has probability below 1e-100).
        for _ in 0..40 {
            if seen == all {
                break;
            }
            seen.extend(members(&cmdv(&mut r, &["SRANDMEMBER", key, "-3000"])));
        }
        assert_eq!(seen, all, "{key}: every member is eventually sampled");
        // Large negative counts repeat members of a small set.
        assert_eq!(members(&cmdv(&mut r, &["SRANDMEMBER", "ints", "-1000"])).len(), 1000);

        // SPOP in both strategies (few popped; most popped) removes exactly what it returns.
        let few = members(&cmdv(&mut r, &["SPOP", key, "2"]));
        let most_count = items.len() - 2 - 3;
        let most = members(&cmdv(&mut r, &["SPOP", key, &most_count.to_string()]));
        assert_eq!(few.len(), 2);
        assert_eq!(most.len(), most_count);
        let rest = members(&cmdv(&mut r, &["SMEMBERS", key]));
        assert_eq!(rest.len(), 3);
        let mut union: Vec<String> = few.into_iter().chain(most).chain(rest).collect();
        union.sort();
        union.dedup();
        assert_eq!(union.len(), items.len(), "{key}: popped and left members partition the set");
    }
    // SPOP of most of a hashtable rebuilds the rest as a small encoding (Redis 7.2).
    check(&mut r, &["OBJECT", "ENCODING", "ht"], &bulk("listpack"));
    check(&mut r, &["OBJECT", "ENCODING", "ints"], &bulk("intset"));
    // SPOP until empty deletes; every member is eventually popped.
    let mut seen = BTreeSet::new();
    for _ in 0..200 {
        sadd(&mut r, "p", &strs(&["a", "b", "c", "d"]));
        seen.insert(common::text_of(&cmdv(&mut r, &["SPOP", "p"])));
    }
    assert_eq!(seen, ["a", "b", "c", "d"].iter().map(|s| s.to_string()).collect());
}

#[test]
fn encodings_follow_redis_7_2() {
    let server = Server::start_sharded();
    let mut r = server.raw();
    // intset -> listpack -> hashtable.
    check(&mut r, &["SADD", "s", "1", "2"], &int(2));
    assert_eq!(encoding(&mut r, "s"), "intset");
    check(&mut r, &["SADD", "s", "abc"], &int(1));
    assert_eq!(encoding(&mut r, "s"), "listpack");
    check(&mut r, &["SADD", "s", &"x".repeat(65)], &int(1));
    assert_eq!(encoding(&mut r, "s"), "hashtable");
    // Removing never converts back.
    check(&mut r, &["SREM", "s", &"x".repeat(65), "abc"], &int(2));
    assert_eq!(encoding(&mut r, "s"), "hashtable");
    // A long first member goes straight to a hashtable; 64 bytes still fit a listpack.
    check(&mut r, &["SADD", "long", &"x".repeat(64)], &int(1));
    assert_eq!(encoding(&mut r, "long"), "listpack");
    check(&mut r, &["SADD", "long2", &"x".repeat(65)], &int(1));
    assert_eq!(encoding(&mut r, "long2"), "hashtable");

    // Thresholds from CONFIG SET.
    check(&mut r, &["CONFIG", "SET", "set-max-intset-entries", "3"], "+OK\r\n");
    check(&mut r, &["SADD", "i", "1", "2", "3"], &int(3));
    assert_eq!(encoding(&mut r, "i"), "intset");
    check(&mut r, &["SADD", "i", "4"], &int(1));
    assert_eq!(encoding(&mut r, "i"), "hashtable", "an intset past its limit becomes a hashtable");
    // Created with more members than the intset limit: a listpack (7.2's setTypeCreate).
    check(&mut r, &["SADD", "j", "1", "2", "3", "4"], &int(4));
    assert_eq!(encoding(&mut r, "j"), "listpack");
    check(&mut r, &["CONFIG", "SET", "set-max-intset-entries", "512"], "+OK\r\n");

    check(&mut r, &["CONFIG", "SET", "set-max-listpack-entries", "4"], "+OK\r\n");
    check(&mut r, &["SADD", "l", "a", "b", "c", "d"], &int(4));
    assert_eq!(encoding(&mut r, "l"), "listpack");
    check(&mut r, &["SADD", "l", "e"], &int(1));
    assert_eq!(encoding(&mut r, "l"), "hashtable");
    // SADD's argument count alone converts, duplicates included.
    check(&mut r, &["SADD", "l2", "a"], &int(1));
    check(&mut r, &["SADD", "l2", "a", "a", "a", "a", "a"], &int(0));
    assert_eq!(encoding(&mut r, "l2"), "hashtable");
    // An intset with too many members for a listpack goes to a hashtable on a string.
    check(&mut r, &["SADD", "i2", "1", "2", "3", "4"], &int(4));
    assert_eq!(encoding(&mut r, "i2"), "intset");
    check(&mut r, &["SADD", "i2", "x"], &int(1));
    assert_eq!(encoding(&mut r, "i2"), "hashtable");
    check(&mut r, &["SADD", "i3", "1", "2", "3"], &int(3));
    check(&mut r, &["SADD", "i3", "x"], &int(1));
    assert_eq!(encoding(&mut r, "i3"), "listpack");
    check(&mut r, &["CONFIG", "SET", "set-max-listpack-entries", "128"], "+OK\r\n");

    check(&mut r, &["CONFIG", "SET", "set-max-listpack-value", "3"], "+OK\r\n");
    check(&mut r, &["SADD", "v", "abc"], &int(1));
    assert_eq!(encoding(&mut r, "v"), "listpack");
    check(&mut r, &["SADD", "v", "abcd"], &int(1));
    assert_eq!(encoding(&mut r, "v"), "hashtable");
    // Intset members longer than the value limit as text keep a string out of a listpack.
    check(&mut r, &["SADD", "w", "12345"], &int(1));
    check(&mut r, &["SADD", "w", "a"], &int(1));
    assert_eq!(encoding(&mut r, "w"), "hashtable");
    check(&mut r, &["CONFIG", "SET", "set-max-listpack-value", "64"], "+OK\r\n");

    // Default limits: 512 integers stay an intset, 513 do not; 128 strings a listpack, 129 not.
    let ints: Vec<String> = (0..512).map(|i| i.to_string()).collect();
    sadd(&mut r, "big", &ints);
    assert_eq!(encoding(&mut r, "big"), "intset");
    check(&mut r, &["SADD", "big", "512"], &int(1));
    assert_eq!(encoding(&mut r, "big"), "hashtable");
    let words: Vec<String> = (0..128).map(|i| format!("w{i}")).collect();
    sadd(&mut r, "words", &words);
    assert_eq!(encoding(&mut r, "words"), "listpack");
    check(&mut r, &["SADD", "words", "w128"], &int(1));
    assert_eq!(encoding(&mut r, "words"), "hashtable");

    // Stored results are built member by member from an intset.
    check(&mut r, &["SADD", "a", "1", "2", "x"], &int(3));
    check(&mut r, &["SADD", "b", "1", "2", "3"], &int(3));
    check(&mut r, &["SINTERSTORE", "d", "a", "b"], &int(2));
    assert_eq!(encoding(&mut r, "d"), "intset");
    check(&mut r, &["SUNIONSTORE", "d", "a", "b"], &int(4));
    assert_eq!(encoding(&mut r, "d"), "listpack");
    check(&mut r, &["SDIFFSTORE", "d", "b", "a"], &int(1));
    assert_eq!(encoding(&mut r, "d"), "intset");
    check(&mut r, &["SUNIONSTORE", "d", "big", "a"], &int(514));
    assert_eq!(encoding(&mut r, "d"), "hashtable");
    // SMOVE creates its destination for the member.
    check(&mut r, &["SMOVE", "a", "m1", "1"], &int(1));
    assert_eq!(encoding(&mut r, "m1"), "intset");
    check(&mut r, &["SMOVE", "a", "m2", "x"], &int(1));
    assert_eq!(encoding(&mut r, "m2"), "listpack");
}

#[test]
fn set_algebra_and_cross_shard() {
    let server = Server::start_sharded();
    let mut r = server.raw();
    // Keys on four different shards.
    let (a, b, c, d) = (key_on(0, "a"), key_on(1, "b"), key_on(2, "c"), key_on(3, "d"));
    check(&mut r, &["SADD", &a, "1", "2", "3", "4"], &int(4));
    check(&mut r, &["SADD", &b, "2", "3", "4", "5"], &int(4));
    check(&mut r, &["SADD", &c, "3", "4", "5", "6", "x"], &int(5));
    check(&mut r, &["SINTER", &a, &b], &arr(&["2", "3", "4"]));
    assert_eq!(sorted(&cmdv(&mut r, &["SINTER", &a, &b, &c])), strs(&["3", "4"]));
    check(&mut r, &["SINTER", &a, "nokey"], "*0\r\n");
    check(&mut r, &["SINTER", &a, &a], &arr(&["1", "2", "3", "4"]));
    check(&mut r, &["SINTERCARD", "3", &a, &b, &c], &int(2));
    check(&mut r, &["SINTERCARD", "3", &a, &b, &c, "LIMIT", "1"], &int(1));
    check(&mut r, &["SINTERCARD", "3", &a, &b, &c, "limit", "0"], &int(2));
    check(&mut r, &["SINTERCARD", "2", &a, &b, "LIMIT", "0", "LIMIT", "2"], &int(2));
    check(&mut r, &["SINTERCARD", "1", "nokey"], &int(0));
    check(&mut r, &["SUNION", &a, &b], &arr(&["1", "2", "3", "4", "5"]));
    assert_eq!(sorted(&cmdv(&mut r, &["SUNION", &a, &c, "nokey"])), strs(&["1", "2", "3", "4", "5", "6", "x"]));
    check(&mut r, &["SDIFF", &a, &b], &arr(&["1"]));
    check(&mut r, &["SDIFF", &a, &b, &c], &arr(&["1"]));
    assert_eq!(sorted(&cmdv(&mut r, &["SDIFF", &c, &a])), strs(&["5", "6", "x"]));
    check(&mut r, &["SDIFF", &a, &a], "*0\r\n");
    check(&mut r, &["SDIFF", "nokey", &a], "*0\r\n");
    check(&mut r, &["SDIFF", &a, "nokey"], &arr(&["1", "2", "3", "4"]));
    // The second algorithm (first set much larger than the others).
    let ints: Vec<String> = (0..100).map(|i| i.to_string()).collect();
    sadd(&mut r, &d, &ints);
    assert_eq!(members(&cmdv(&mut r, &["SDIFF", &d, &a, &b])).len(), 95);

    // STORE forms, the destination on yet another shard or among the sources.
    check(&mut r, &["SINTERSTORE", &d, &a, &b], &int(3));
    check(&mut r, &["SMEMBERS", &d], &arr(&["2", "3", "4"]));
    check(&mut r, &["SUNIONSTORE", &d, &a, &c], &int(7));
    assert_eq!(sorted(&cmdv(&mut r, &["SMEMBERS", &d])), strs(&["1", "2", "3", "4", "5", "6", "x"]));
    check(&mut r, &["SDIFFSTORE", &d, &a, &b], &int(1));
    check(&mut r, &["SMEMBERS", &d], &arr(&["1"]));
    check(&mut r, &["SDIFFSTORE", &a, &a, &b], &int(1));
    check(&mut r, &["SMEMBERS", &a], &arr(&["1"]));
    check(&mut r, &["SADD", &a, "2", "3", "4"], &int(3));
    // Empty results delete the destination.
    check(&mut r, &["SINTERSTORE", &d, &a, "nokey"], &int(0));
    check(&mut r, &["EXISTS", &d], &int(0));
    check(&mut r, &["SADD", &d, "z"], &int(1));
    check(&mut r, &["SDIFFSTORE", &d, &a, &a], &int(0));
    check(&mut r, &["EXISTS", &d], &int(0));
    check(&mut r, &["SADD", &d, "z"], &int(1));
    check(&mut r, &["SUNIONSTORE", &d, "nokey"], &int(0));
    check(&mut r, &["EXISTS", &d], &int(0));

    // SMOVE across shards.
    check(&mut r, &["SMOVE", &a, &b, "1"], &int(1));
    check(&mut r, &["SISMEMBER", &a, "1"], &int(0));
    check(&mut r, &["SISMEMBER", &b, "1"], &int(1));
    check(&mut r, &["SMOVE", &a, &b, "2"], &int(1));
    check(&mut r, &["SMOVE", &a, &b, "99"], &int(0));
    check(&mut r, &["SMOVE", &a, &d, "3"], &int(1));
    check(&mut r, &["SMEMBERS", &d], &arr(&["3"]));
    check(&mut r, &["SMOVE", &a, &a, "4"], &int(1));
    check(&mut r, &["SMOVE", &a, &a, "99"], &int(0));
    check(&mut r, &["SMOVE", &a, &b, "4"], &int(1));
    // The emptied source is deleted.
    check(&mut r, &["EXISTS", &a], &int(0));
    check(&mut r, &["SMOVE", &a, &b, "4"], &int(0));
    check(&mut r, &["SCARD", &b], &int(5));

    // A TTL on the source survives a gathered command; the STORE destination loses its own.
    check(&mut r, &["PEXPIRE", &b, "100000"], &int(1));
    check(&mut r, &["SINTERSTORE", &c, &b, &c], &int(3));
    let ttl = cmdv(&mut r, &["PTTL", &b]);
    assert!(ttl.starts_with(':') && !ttl.starts_with(":-"), "{ttl}");
    check(&mut r, &["PTTL", &c], &int(-1));

    // Same-shard keys with a hash tag.
    check(&mut r, &["SADD", "{t}1", "a", "b"], &int(2));
    check(&mut r, &["SADD", "{t}2", "b", "c"], &int(2));
    check(&mut r, &["SINTER", "{t}1", "{t}2"], &arr(&["b"]));
    check(&mut r, &["SMOVE", "{t}1", "{t}2", "a"], &int(1));
    assert_eq!(sorted(&cmdv(&mut r, &["SMEMBERS", "{t}2"])), strs(&["a", "b", "c"]));
}

#[test]
fn sintercard_errors() {
    let server = Server::start_sharded();
    let mut r = server.raw();
    let numkeys = "-ERR numkeys should be greater than 0\r\n";
    check(&mut r, &["SINTERCARD", "0", "a"], numkeys);
    check(&mut r, &["SINTERCARD", "x", "a"], numkeys);
    check(&mut r, &["SINTERCARD", "-1", "a"], numkeys);
    check(&mut r, &["SINTERCARD", "3", "a", "b"], "-ERR Number of keys can't be greater than number of args\r\n");
    check(&mut r, &["SINTERCARD", "2", "a"], "-ERR Number of keys can't be greater than number of args\r\n");
    check(&mut r, &["SINTERCARD", "1", "a", "LIMIT"], SYNTAX);
    check(&mut r, &["SINTERCARD", "1", "a", "LIMIT", "-1"], "-ERR LIMIT can't be negative\r\n");
    check(&mut r, &["SINTERCARD", "1", "a", "LIMIT", "x"], "-ERR LIMIT can't be negative\r\n");
    check(&mut r, &["SINTERCARD", "1", "a", "FOO", "1"], SYNTAX);
    check(&mut r, &["SINTERCARD", "1"], "-ERR wrong number of arguments for 'sintercard' command\r\n");
}

#[test]
fn sscan_small_and_hashtable() {
    let server = Server::start_sharded();
    let mut r = server.raw();
    check(&mut r, &["SADD", "n", "-5", "10", "3", "-100"], &int(4));
    let scan = |items: &[&str]| format!("*2\r\n$1\r\n0\r\n{}", arr(items));
    check(&mut r, &["SSCAN", "n", "0"], &scan(&["-100", "-5", "3", "10"]));
    check(&mut r, &["SSCAN", "n", "0", "MATCH", "-*"], &scan(&["-100", "-5"]));
    check(&mut r, &["SSCAN", "n", "0", "COUNT", "1", "MATCH", "*"], &scan(&["-100", "-5", "3", "10"]));
    check(&mut r, &["SSCAN", "n", "18446744073709551615"], &scan(&["-100", "-5", "3", "10"]));
    check(&mut r, &["SSCAN", "n", "-1"], &scan(&["-100", "-5", "3", "10"]));
    check(&mut r, &["SSCAN", "n", "18446744073709551616"], "-ERR invalid cursor\r\n");
    check(&mut r, &["SSCAN", "n", " 0"], "-ERR invalid cursor\r\n");
    check(&mut r, &["SSCAN", "n", "x"], "-ERR invalid cursor\r\n");
    check(&mut r, &["SSCAN", "n", "0", "COUNT", "0"], SYNTAX);
    check(&mut r, &["SSCAN", "n", "0", "COUNT", "x"], NOT_INT);
    check(&mut r, &["SSCAN", "n", "0", "COUNT"], SYNTAX);
    check(&mut r, &["SSCAN", "n", "0", "TYPE", "set"], SYNTAX);
    check(&mut r, &["SSCAN", "nokey", "0", "bogus"], &scan(&[]));
    check(&mut r, &["SSCAN", "nokey", "x"], "-ERR invalid cursor\r\n");
    check(&mut r, &["SADD", "lp", "a", "b", "c"], &int(3));
    check(&mut r, &["SSCAN", "lp", "0", "match", "a"], &scan(&["a"]));

    // A hashtable is walked with a cursor; a full walk sees every member once even while
    // members are removed.
    let items: Vec<String> = (0..1000).map(|i| format!("m{i}")).collect();
    sadd(&mut r, "ht", &items);
    let mut cursor = "0".to_string();
    let mut seen = BTreeSet::new();
    let mut steps = 0;
    loop {
        let reply = cmdv(&mut r, &["SSCAN", "ht", &cursor, "COUNT", "50"]);
        let mut lines = reply.split("\r\n");
        assert_eq!(lines.next(), Some("*2"));
        lines.next();
        cursor = lines.next().expect("cursor").to_string();
        let rest: Vec<&str> = lines.collect();
        let found = members(&rest.join("\r\n"));
        assert!(found.len() <= 50);
        seen.extend(found);
        if steps == 3 {
            check(&mut r, &["SREM", "ht", "m999", "m998"], &int(2));
        }
        steps += 1;
        if cursor == "0" {
            break;
        }
    }
    assert!(steps >= 20, "{steps} steps");
    for i in 0..998 {
        assert!(seen.contains(&format!("m{i}")), "m{i} not seen");
    }
    let reply = cmdv(&mut r, &["SSCAN", "ht", "0", "MATCH", "m1??", "COUNT", "10000"]);
    let matched = members(reply.splitn(4, "\r\n").nth(3).expect("array"));
    assert_eq!(matched.len(), 100);
}

#[test]
fn resp3_reply_types() {
    let server = Server::start_sharded();
    let mut r = server.raw();
    resp3(&mut r);
    check(&mut r, &["SADD", "s", "1", "2"], &int(2));
    check(&mut r, &["SADD", "t", "2", "3"], &int(2));
    check(&mut r, &["SMEMBERS", "s"], &bulks('~', &["1", "2"]));
    check(&mut r, &["SMEMBERS", "nokey"], "~0\r\n");
    check(&mut r, &["SINTER", "s", "t"], &bulks('~', &["2"]));
    check(&mut r, &["SINTER", "s", "nokey"], "~0\r\n");
    check(&mut r, &["SUNION", "s", "t"], &bulks('~', &["1", "2", "3"]));
    check(&mut r, &["SDIFF", "s", "t"], &bulks('~', &["1"]));
    check(&mut r, &["SPOP", "nokey", "2"], "~0\r\n");
    check(&mut r, &["SPOP", "s", "0"], "~0\r\n");
    check(&mut r, &["SPOP", "nokey"], "_\r\n");
    check(&mut r, &["SRANDMEMBER", "nokey"], "_\r\n");
    check(&mut r, &["SRANDMEMBER", "s", "0"], "*0\r\n");
    check(&mut r, &["SRANDMEMBER", "nokey", "5"], "*0\r\n");
    check(&mut r, &["SRANDMEMBER", "s", "5"], &arr(&["1", "2"]));
    check(&mut r, &["SMISMEMBER", "s", "1", "9"], "*2\r\n:1\r\n:0\r\n");
    check(&mut r, &["SISMEMBER", "s", "1"], &int(1));
    check(&mut r, &["SINTERCARD", "1", "s"], &int(2));
    check(&mut r, &["SSCAN", "nokey", "0"], "*2\r\n$1\r\n0\r\n*0\r\n");
    check(&mut r, &["SPOP", "s", "5"], &bulks('~', &["1", "2"]));
}

#[test]
fn large_set() {
    let server = Server::start_sharded();
    let mut r = server.raw();
    for chunk in 0..10 {
        let items: Vec<String> = (chunk * 10_000..(chunk + 1) * 10_000).map(|i| format!("member:{i}")).collect();
        assert_eq!(sadd(&mut r, "big", &items), int(10_000));
    }
    check(&mut r, &["SCARD", "big"], &int(100_000));
    assert_eq!(encoding(&mut r, "big"), "hashtable");
    check(&mut r, &["SISMEMBER", "big", "member:99999"], &int(1));
    check(&mut r, &["SREM", "big", "member:0", "member:1"], &int(2));
    check(&mut r, &["SCARD", "big"], &int(99_998));
    assert_eq!(members(&cmdv(&mut r, &["SRANDMEMBER", "big", "1000"])).len(), 1000);
    check(&mut r, &["SADD", "small", "member:5", "member:500", "member:0", "nope"], &int(4));
    check(&mut r, &["SINTERCARD", "2", "big", "small"], &int(2));
    check(&mut r, &["SINTER", "big", "small"], &arr(&["member:5", "member:500"]));
    let other = key_on(2, "o");
    check(&mut r, &["SUNIONSTORE", &other, "big", "small"], &int(100_000));
    check(&mut r, &["SDIFFSTORE", &other, &other, "big"], &int(2));
    assert_eq!(sorted(&cmdv(&mut r, &["SMEMBERS", &other])), strs(&["member:0", "nope"]));
    assert_eq!(members(&cmdv(&mut r, &["SMEMBERS", "big"])).len(), 99_998);
    assert_eq!(members(&cmdv(&mut r, &["SPOP", "big", "1000"])).len(), 1000);
    check(&mut r, &["SCARD", "big"], &int(98_998));
    assert_eq!(members(&cmdv(&mut r, &["SPOP", "big", "98000"])).len(), 98_000);
    check(&mut r, &["SCARD", "big"], &int(998));
}
