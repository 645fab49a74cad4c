//! SORT and SORT_RO against a 4-shard server: exact reply bytes (RESP2 and RESP3), option
//! parsing and errors, numeric and ALPHA order with Redis's tie breaks, LIMIT clamping,
//! BY nosort, BY/GET patterns whose keys live on other shards than the source, STORE to
//! another shard, and atomicity against concurrent cross-shard writes. Every expected
//! reply was checked against Redis 7.0.15.

mod common;

use common::{NOT_INT, Raw, SYNTAX, Server, WRONGTYPE, bulk, cmd, cmdv, key_on, shard_of};

#[track_caller]
fn check(r: &mut Raw, args: &[&str], expected: &str) {
    assert_eq!(cmdv(r, args), expected, "{args:?}");
}

/// An array of bulk strings; `None` is a RESP2 null bulk.
fn arr(items: &[Option<&str>]) -> String {
    let mut out = format!("*{}\r\n", items.len());
    for item in items {
        match item {
            Some(s) => out.push_str(&bulk(s)),
            None => out.push_str("$-1\r\n"),
        }
    }
    out
}

/// An array of bulk strings, all present.
fn bulks(items: &[&str]) -> String {
    arr(&items.iter().map(|s| Some(*s)).collect::<Vec<_>>())
}

fn int(n: i64) -> String {
    format!(":{n}\r\n")
}

const NOT_DOUBLE: &str = "-ERR One or more scores can't be converted into double\r\n";

/// An element `<prefix><n>` such that `<pattern_prefix><element>` lives on `shard`.
fn elem_for(shard: usize, prefix: &str, pattern_prefix: &str) -> String {
    (0..)
        .map(|n| format!("{prefix}{n}"))
        .find(|e| shard_of(&format!("{pattern_prefix}{e}")) == shard)
        .expect("some key lands on every shard")
}

#[test]
fn numeric_alpha_and_ties() {
    let srv = Server::start(&["--threads", "4"]);
    let mut r = srv.raw();
    check(&mut r, &["RPUSH", "l", "3", "1", "2", "10", "1"], &int(5));
    check(&mut r, &["SORT", "l"], &bulks(&["1", "1", "2", "3", "10"]));
    check(&mut r, &["SORT", "l", "DESC"], &bulks(&["10", "3", "2", "1", "1"]));
    check(&mut r, &["SORT", "l", "ALPHA"], &bulks(&["1", "1", "10", "2", "3"]));
    check(&mut r, &["SORT", "l", "alpha", "desc"], &bulks(&["3", "2", "10", "1", "1"]));
    check(&mut r, &["SORT_RO", "l", "ASC", "ALPHA", "DESC"], &bulks(&["3", "2", "10", "1", "1"]));
    // Equal scores are ordered by the elements' bytes; strtod accepts these spellings.
    check(&mut r, &["RPUSH", "n", "1.0", "1", "01", "", " 2", "0x10", "-inf", "inf", "Infinity", ".5", "+3"], &int(11));
    check(&mut r, &["SORT", "n"], &bulks(&["-inf", "", ".5", "01", "1", "1.0", " 2", "+3", "0x10", "Infinity", "inf"]));
    check(
        &mut r,
        &["SORT", "n", "DESC"],
        &bulks(&["inf", "Infinity", "0x10", "+3", " 2", "1.0", "1", "01", ".5", "", "-inf"]),
    );
    // Not a number, trailing space, NaN, overflow, underflow.
    for bad in ["abc", "2 ", "nan", "1e400", "1e-400", "1e-310", "1e", "."] {
        cmdv(&mut r, &["DEL", "b"]);
        check(&mut r, &["RPUSH", "b", "1", bad], &int(2));
        check(&mut r, &["SORT", "b"], NOT_DOUBLE);
        let mut alpha = ["1", bad];
        alpha.sort();
        check(&mut r, &["SORT", "b", "ALPHA"], &bulks(&alpha));
    }
    // Sets and sorted sets.
    check(&mut r, &["SADD", "s", "5", "3", "9", "1"], &int(4));
    check(&mut r, &["SORT", "s"], &bulks(&["1", "3", "5", "9"]));
    check(&mut r, &["SADD", "sa", "c", "a", "b"], &int(3));
    check(&mut r, &["SORT", "sa", "ALPHA", "DESC"], &bulks(&["c", "b", "a"]));
    check(&mut r, &["SORT", "sa"], NOT_DOUBLE);
    check(&mut r, &["ZADD", "z", "3", "1", "1", "30", "2", "20"], &int(3));
    check(&mut r, &["SORT", "z"], &bulks(&["1", "20", "30"]));
    check(&mut r, &["SORT", "z", "ALPHA", "DESC"], &bulks(&["30", "20", "1"]));
}

#[test]
fn option_errors_and_types() {
    let srv = Server::start(&["--threads", "4"]);
    let mut r = srv.raw();
    check(&mut r, &["RPUSH", "l", "2", "1"], &int(2));
    check(&mut r, &["SET", "str", "x"], "+OK\r\n");
    check(&mut r, &["HSET", "h", "f", "v"], &int(1));
    for args in [
        &["SORT", "l", "LIMIT", "1"][..],
        &["SORT", "l", "GET"],
        &["SORT", "l", "BY"],
        &["SORT", "l", "STORE"],
        &["SORT", "l", "foo"],
        &["SORT", "l", "LIMIT", "0", "1", "LIMIT"],
        &["SORT_RO", "l", "STORE", "x"],
        // Options are parsed before the key is looked up.
        &["SORT", "str", "foo"],
        &["SORT_RO", "nokey", "STORE", "x"],
    ] {
        check(&mut r, args, SYNTAX);
    }
    check(&mut r, &["SORT", "l", "LIMIT", "a", "1"], NOT_INT);
    check(&mut r, &["SORT", "l", "LIMIT", "0", "1.5"], NOT_INT);
    check(&mut r, &["SORT", "l", "LIMIT", "01", "1"], NOT_INT);
    check(&mut r, &["SORT", "str", "LIMIT", "x", "1"], NOT_INT);
    check(&mut r, &["SORT", "str"], WRONGTYPE);
    check(&mut r, &["SORT_RO", "h", "ALPHA"], WRONGTYPE);
    check(&mut r, &["SORT", "str", "STORE", "dst"], WRONGTYPE);
    check(&mut r, &["EXISTS", "dst"], &int(0));
    check(&mut r, &["SORT", "l"], &bulks(&["1", "2"]));
    check(&mut r, &["SORT", "nokey"], "*0\r\n");
    check(&mut r, &["SORT_RO", "nokey", "BY", "w_*", "GET", "#", "LIMIT", "0", "5"], "*0\r\n");
    check(&mut r, &["SORT", "sort"], "*0\r\n");
}

#[test]
fn limit_clamping() {
    let srv = Server::start(&["--threads", "4"]);
    let mut r = srv.raw();
    check(&mut r, &["RPUSH", "l", "3", "1", "2", "10"], &int(4));
    let max = "9223372036854775807";
    let min = "-9223372036854775808";
    for (limit, expected) in [
        (["1", "2"], &["2", "3"][..]),
        (["-5", "2"], &["1", "2"]),
        (["1", "-1"], &["2", "3", "10"]),
        (["2", "0"], &[]),
        (["10", "2"], &[]),
        (["4", "1"], &[]),
        (["3", "5"], &["10"]),
        (["2", max], &["3", "10"]),
        (["0", max], &["1", "2", "3", "10"]),
        ([max, max], &[]),
        ([min, "1"], &["1"]),
        (["0", min], &["1", "2", "3", "10"]),
    ] {
        check(&mut r, &["SORT", "l", "LIMIT", limit[0], limit[1]], &bulks(expected));
    }
    check(&mut r, &["SORT", "l", "LIMIT", "1", "2", "DESC"], &bulks(&["3", "2"]));
    check(&mut r, &["SORT", "nokey", "LIMIT", "1", "2"], "*0\r\n");
}

#[test]
fn by_nosort_keeps_native_order() {
    let srv = Server::start(&["--threads", "4"]);
    let mut r = srv.raw();
    check(&mut r, &["RPUSH", "l", "c", "a", "d", "b"], &int(4));
    check(&mut r, &["SORT", "l", "BY", "nosort"], &bulks(&["c", "a", "d", "b"]));
    check(&mut r, &["SORT", "l", "BY", "nosort", "DESC"], &bulks(&["b", "d", "a", "c"]));
    check(&mut r, &["SORT", "l", "BY", "nosort", "LIMIT", "1", "2"], &bulks(&["a", "d"]));
    check(&mut r, &["SORT", "l", "BY", "nosort", "DESC", "LIMIT", "1", "2"], &bulks(&["d", "a"]));
    check(&mut r, &["SORT", "l", "BY", "nosort", "LIMIT", "2", "9223372036854775807"], &bulks(&["d", "b"]));
    // Any BY pattern without '*' means no sort, and it sticks even if a later BY has one.
    check(&mut r, &["SORT", "l", "BY", "nosort", "BY", "w_*", "ALPHA"], &bulks(&["c", "a", "d", "b"]));
    check(&mut r, &["SORT", "l", "BY", "w_*", "BY", "fixed"], &bulks(&["c", "a", "d", "b"]));
    // Without a sort, scores are not read: no conversion error.
    check(&mut r, &["SORT", "l", "BY", "nosort", "GET", "#"], &bulks(&["c", "a", "d", "b"]));
    // A sorted set keeps its score order, with LIMIT taken directly from it.
    let members = ["m0", "5", "m1", "3", "m2", "1", "m3", "4", "m4", "2", "m5", "9"];
    let mut zadd = vec!["ZADD", "z"];
    for pair in members.chunks(2) {
        zadd.push(pair[1]);
        zadd.push(pair[0]);
    }
    check(&mut r, &zadd, &int(6));
    check(&mut r, &["SORT", "z", "BY", "nosort"], &bulks(&["m2", "m4", "m1", "m3", "m0", "m5"]));
    check(&mut r, &["SORT", "z", "BY", "nosort", "LIMIT", "1", "3"], &bulks(&["m4", "m1", "m3"]));
    check(&mut r, &["SORT", "z", "BY", "nosort", "DESC", "LIMIT", "1", "3"], &bulks(&["m0", "m3", "m1"]));
    check(&mut r, &["SORT", "z", "BY", "nosort", "DESC", "LIMIT", "-3", "2"], &bulks(&["m5", "m0"]));
    check(&mut r, &["SORT", "z", "BY", "nosort", "LIMIT", "5", "10"], &bulks(&["m5"]));
    check(&mut r, &["SORT", "z", "BY", "nosort", "LIMIT", "6", "10"], "*0\r\n");
    check(&mut r, &["SORT_RO", "z", "BY", "nosort", "LIMIT", "0", "0"], "*0\r\n");
    // SORT converts the sorted set to a skiplist, as Redis does.
    check(&mut r, &["OBJECT", "ENCODING", "z"], &bulk("skiplist"));
    // A set stored without a sort is sorted ALPHA so that the result is deterministic.
    check(&mut r, &["SADD", "s", "b", "10", "a", "2"], &int(4));
    check(&mut r, &["SORT", "s", "BY", "nosort", "STORE", "dst"], &int(4));
    check(&mut r, &["LRANGE", "dst", "0", "-1"], &bulks(&["10", "2", "a", "b"]));
    check(&mut r, &["SORT", "s", "BY", "nosort", "DESC", "LIMIT", "1", "2", "STORE", "dst"], &int(2));
    check(&mut r, &["LRANGE", "dst", "0", "-1"], &bulks(&["a", "2"]));
}

#[test]
fn by_and_get_patterns_across_shards() {
    let srv = Server::start(&["--threads", "4"]);
    let mut r = srv.raw();
    let src = key_on(0, "src");
    // Elements whose weight keys (w_<e>) live on shards 1, 2 and 3, and whose hash keys
    // (h_<e>) and GET keys (o_<e>) are spread too.
    let a = elem_for(1, "a", "w_");
    let b = elem_for(2, "b", "w_");
    let c = elem_for(3, "c", "w_");
    let d = elem_for(0, "d", "w_");
    let shards: std::collections::BTreeSet<usize> =
        [&a, &b, &c].iter().flat_map(|e| [shard_of(&format!("h_{e}")), shard_of(&format!("o_{e}"))]).collect();
    assert!(shards.len() >= 2, "hash and GET keys should span shards");
    check(&mut r, &["RPUSH", &src, &a, &b, &c, &d], &int(4));
    let (wa, wb, wc) = (format!("w_{a}"), format!("w_{b}"), format!("w_{c}"));
    check(&mut r, &["MSET", &wa, "3", &wb, "1", &wc, "2"], "+OK\r\n");
    // d has no weight: it scores 0.
    check(&mut r, &["SORT", &src, "BY", "w_*"], &bulks(&[&d, &b, &c, &a]));
    check(&mut r, &["SORT", &src, "BY", "w_*", "DESC"], &bulks(&[&a, &c, &b, &d]));
    check(&mut r, &["SORT_RO", &src, "BY", "w_*", "LIMIT", "1", "2"], &bulks(&[&b, &c]));
    // ALPHA by pattern: a missing weight sorts first.
    check(&mut r, &["MSET", &wa, "b", &wb, "c", &wc, "a"], "+OK\r\n");
    check(&mut r, &["SORT", &src, "BY", "w_*", "ALPHA"], &bulks(&[&d, &c, &a, &b]));
    check(&mut r, &["SORT", &src, "BY", "w_*"], NOT_DOUBLE);
    // Hash fields through '->'; a missing hash or field, or a key of the wrong type, weighs nothing.
    let (ha, hb, hc) = (format!("h_{a}"), format!("h_{b}"), format!("h_{c}"));
    check(&mut r, &["HSET", &ha, "f", "30", "g", "x"], &int(2));
    check(&mut r, &["HSET", &hb, "f", "10"], &int(1));
    check(&mut r, &["RPUSH", &hc, "f"], &int(1));
    check(&mut r, &["SORT", &src, "BY", "h_*->f"], &bulks(&[&c, &d, &b, &a]));
    check(&mut r, &["SORT", &src, "BY", "h_*->g", "ALPHA", "DESC"], &bulks(&[&a, &b, &c, &d]));
    // A pattern naming a hash without a field, or a string with a field, reads nothing.
    check(&mut r, &["SORT", &src, "BY", "h_*", "GET", "h_*", "GET", "w_*->f"], &arr(&[None; 8]));
    // GET: the element, string keys, hash fields, nil for anything missing or without '*'.
    let (oa, oc) = (format!("o_{a}"), format!("o_{c}"));
    check(&mut r, &["MSET", &oa, "A", &oc, "C"], "+OK\r\n");
    check(
        &mut r,
        &["SORT", &src, "BY", "h_*->f", "GET", "#", "GET", "o_*", "GET", "h_*->f", "GET", "fixed"],
        &arr(&[
            Some(&c),
            Some("C"),
            None,
            None,
            Some(&d),
            None,
            None,
            None,
            Some(&b),
            None,
            Some("10"),
            None,
            Some(&a),
            Some("A"),
            Some("30"),
            None,
        ]),
    );
    check(&mut r, &["SORT_RO", &src, "BY", "nosort", "GET", "o_*", "LIMIT", "0", "1"], &arr(&[Some("A")]));
    // '->' with nothing after it is part of the key name.
    check(&mut r, &["SET", &format!("o_{a}->"), "arrow"], "+OK\r\n");
    check(&mut r, &["SORT", &src, "BY", "nosort", "GET", "o_*->", "LIMIT", "0", "1"], &arr(&[Some("arrow")]));
    // BY '*' sorts by the element itself read as a key.
    check(&mut r, &["SORT", &src, "BY", "*", "ALPHA", "LIMIT", "0", "1"], &bulks(&[&a]));
}

#[test]
fn alpha_by_ties_follow_redis() {
    let srv = Server::start(&["--threads", "4"]);
    let mut r = srv.raw();
    let elems = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l"];
    let mut push = vec!["RPUSH", "t"];
    push.extend(elems);
    check(&mut r, &push, &int(12));
    check(&mut r, &["MSET", "w_a", "1", "w_c", "1", "w_e", "1", "w_g", "1", "w_i", "1", "w_k", "1"], "+OK\r\n");
    // The whole vector: a stable sort.
    check(
        &mut r,
        &["SORT", "t", "BY", "w_*", "ALPHA"],
        &bulks(&["b", "d", "f", "h", "j", "l", "a", "c", "e", "g", "i", "k"]),
    );
    // BY with a LIMIT that narrows the range: Redis's partial quicksort orders the ties.
    check(&mut r, &["SORT", "t", "BY", "w_*", "ALPHA", "LIMIT", "2", "5"], &bulks(&["b", "j", "f", "l", "g"]));
    check(&mut r, &["SORT", "t", "BY", "w_*", "ALPHA", "DESC", "LIMIT", "1", "4"], &bulks(&["c", "e", "g", "i"]));
}

#[test]
fn store_across_shards() {
    let srv = Server::start(&["--threads", "4"]);
    let mut r = srv.raw();
    let src = key_on(1, "src");
    let dst = key_on(2, "dst");
    let same = key_on(1, "same");
    check(&mut r, &["RPUSH", &src, "3", "1", "2"], &int(3));
    check(&mut r, &["SET", &dst, "old"], "+OK\r\n");
    check(&mut r, &["EXPIRE", &dst, "100"], &int(1));
    check(&mut r, &["SORT", &src, "STORE", &dst], &int(3));
    check(&mut r, &["LRANGE", &dst, "0", "-1"], &bulks(&["1", "2", "3"]));
    check(&mut r, &["TTL", &dst], &int(-1));
    check(&mut r, &["TYPE", &dst], "+list\r\n");
    check(&mut r, &["SORT", &src, "DESC", "LIMIT", "0", "2", "STORE", &same], &int(2));
    check(&mut r, &["LRANGE", &same, "0", "-1"], &bulks(&["3", "2"]));
    // GET with STORE: one element per GET, a missing value stored as an empty string.
    let e1 = elem_for(3, "e", "g_");
    let e2 = elem_for(0, "e", "g_");
    let list = key_on(3, "list");
    check(&mut r, &["RPUSH", &list, &e2, &e1], &int(2));
    check(&mut r, &["SET", &format!("g_{e1}"), "one"], "+OK\r\n");
    check(&mut r, &["SORT", &list, "BY", "nosort", "GET", "g_*", "GET", "#", "STORE", &dst], &int(4));
    check(&mut r, &["LRANGE", &dst, "0", "-1"], &bulks(&["", &e2, "one", &e1]));
    // An empty result deletes the destination.
    check(&mut r, &["SORT", &src, "LIMIT", "5", "1", "STORE", &dst], &int(0));
    check(&mut r, &["EXISTS", &dst], &int(0));
    check(&mut r, &["SORT", "nokey", "STORE", &same], &int(0));
    check(&mut r, &["EXISTS", &same], &int(0));
    // A conversion error stores nothing.
    check(&mut r, &["RPUSH", &list, "x"], &int(3));
    check(&mut r, &["SORT", &list, "STORE", &dst], NOT_DOUBLE);
    check(&mut r, &["EXISTS", &dst], &int(0));
    // Storing over the source itself.
    check(&mut r, &["SORT", &src, "DESC", "STORE", &src], &int(3));
    check(&mut r, &["LRANGE", &src, "0", "-1"], &bulks(&["3", "2", "1"]));
    // Keyspace statistics count the source and every pattern lookup.
    check(&mut r, &["CONFIG", "RESETSTAT"], "+OK\r\n");
    check(
        &mut r,
        &["SORT", &list, "BY", "nosort", "GET", "g_*", "GET", "#"],
        &arr(&[None, Some(&e2), Some("one"), Some(&e1), None, Some("x")]),
    );
    let info = cmd(&mut r, "INFO stats");
    assert!(info.contains("keyspace_hits:2\r\n"), "{info}");
    assert!(info.contains("keyspace_misses:2\r\n"), "{info}");
}

#[test]
fn resp3_replies() {
    let srv = Server::start(&["--threads", "4"]);
    let mut r = srv.raw();
    assert!(cmd(&mut r, "HELLO 3").starts_with('%'));
    check(&mut r, &["RPUSH", "l", "b", "a"], &int(2));
    check(&mut r, &["SET", "o_a", "A"], "+OK\r\n");
    check(
        &mut r,
        &["SORT", "l", "ALPHA", "GET", "o_*", "GET", "#"],
        &format!("*4\r\n{}{}_\r\n{}", bulk("A"), bulk("a"), bulk("b")),
    );
    check(&mut r, &["SORT_RO", "nokey"], "*0\r\n");
    check(&mut r, &["SORT", "l", "ALPHA", "STORE", "d"], &int(2));
    check(&mut r, &["SORT", "l"], NOT_DOUBLE);
}

#[test]
fn atomic_against_cross_shard_writes() {
    let srv = Server::start(&["--threads", "4"]);
    let mut r = srv.raw();
    let src = key_on(0, "src");
    // Weights on three other shards, written together by one cross-shard MSET.
    let elems: Vec<String> = (1..4).map(|s| elem_for(s, "e", "w_")).collect();
    let weights: Vec<String> = elems.iter().map(|e| format!("w_{e}")).collect();
    let mut push = vec!["RPUSH", src.as_str()];
    push.extend(elems.iter().map(String::as_str));
    check(&mut r, &push, &int(3));
    let mut mset = vec!["MSET"];
    for k in &weights {
        mset.push(k);
        mset.push("-1");
    }
    check(&mut r, &mset, "+OK\r\n");
    let writer = {
        let mut w = srv.raw();
        let weights = weights.clone();
        std::thread::spawn(move || {
            for i in 0..300 {
                let v = i.to_string();
                let mut mset = vec!["MSET"];
                for k in &weights {
                    mset.push(k);
                    mset.push(&v);
                }
                assert_eq!(cmdv(&mut w, &mset), "+OK\r\n");
            }
        })
    };
    // Every SORT sees the three weights from one MSET: all equal.
    for _ in 0..300 {
        let reply = cmdv(&mut r, &["SORT", &src, "BY", "w_*", "GET", "w_*"]);
        let values: Vec<&str> = reply.split("\r\n").skip(2).step_by(2).take(3).collect();
        assert!(reply.starts_with("*3\r\n$"), "{reply:?}");
        assert!(values.windows(2).all(|w| w[0] == w[1]), "torn read: {reply:?}");
    }
    writer.join().expect("writer");
    check(&mut r, &["SORT", &src, "BY", "w_*", "GET", "w_*", "LIMIT", "0", "1"], &bulks(&["299"]));
}
