//! Sorted set commands against a 4-shard server. The transcripts below (every command,
//! option, error text and reply type, in RESP2 and RESP3, score formatting, encoding
//! transitions, cross-shard multi-key commands) were recorded from Redis 7.0.15 and are
//! compared byte for byte; ZRANK/ZREVRANK WITHSCORE follow Redis 7.2. The hand-written
//! tests cover what a transcript cannot: random replies, ZSCAN over a skiplist, and a
//! 100k-member sorted set checked against a sorted model.

mod common;

use std::collections::{BTreeSet, HashMap};

use common::{Raw, Server, WRONGTYPE, bulk, cmdv, shard_of};

/// Runs a transcript on a fresh connection; an empty expectation is not compared.
fn run_transcript(r: &mut Raw, transcript: &[(&[&str], &str)]) {
    for (args, expected) in transcript {
        let reply = cmdv(r, args);
        if !expected.is_empty() {
            assert_eq!(reply, *expected, "{args:?}");
        }
    }
}

#[test]
fn basics_match_redis() {
    let server = Server::start_sharded();
    run_transcript(&mut server.raw(), BASICS);
}

#[test]
fn removals_pops_and_set_operations_match_redis() {
    let server = Server::start_sharded();
    run_transcript(&mut server.raw(), REMOVALS_AND_SET_OPS);
}

#[test]
fn resp3_replies_and_encodings_match_redis() {
    let server = Server::start_sharded();
    run_transcript(&mut server.raw(), RESP3);
}

#[test]
fn cross_shard_commands_match_redis() {
    let shards: BTreeSet<usize> =
        ["a", "b", "c", "d", "e", "f", "g", "h", "q", "r"].iter().map(|k| shard_of(k)).collect();
    assert!(shards.len() >= 3, "the transcript's keys span shards");
    let server = Server::start_sharded();
    run_transcript(&mut server.raw(), CROSS_SHARD);
}

#[test]
fn rank_withscore_in_resp3() {
    let server = Server::start_sharded();
    let mut r = server.raw();
    cmdv(&mut r, &["HELLO", "3"]);
    assert_eq!(cmdv(&mut r, &["ZADD", "z", "1.5", "a", "2", "b"]), ":2\r\n");
    assert_eq!(cmdv(&mut r, &["ZRANK", "z", "a", "WITHSCORE"]), "*2\r\n:0\r\n,1.5\r\n");
    assert_eq!(cmdv(&mut r, &["ZREVRANK", "z", "a", "withscore"]), "*2\r\n:1\r\n,1.5\r\n");
    assert_eq!(cmdv(&mut r, &["ZRANK", "z", "x", "WITHSCORE"]), "_\r\n");
    assert_eq!(cmdv(&mut r, &["ZRANK", "z", "x"]), "_\r\n");
}

#[test]
fn wrongtype_both_ways() {
    let server = Server::start_sharded();
    let mut r = server.raw();
    cmdv(&mut r, &["ZADD", "z", "1", "a"]);
    for args in [&["GET", "z"][..], &["LPUSH", "z", "x"], &["SADD", "z", "x"], &["HSET", "z", "f", "v"], &["INCR", "z"]]
    {
        assert_eq!(cmdv(&mut r, args), WRONGTYPE, "{args:?}");
    }
    cmdv(&mut r, &["LPUSH", "l", "x"]);
    for args in [
        &["ZADD", "l", "1", "a"][..],
        &["ZINCRBY", "l", "1", "a"],
        &["ZRANGE", "l", "0", "-1"],
        &["ZRANGESTORE", "d", "l", "0", "-1"],
        &["ZUNIONSTORE", "d", "1", "l"],
        &["ZPOPMIN", "l"],
        &["ZMPOP", "1", "l", "MIN"],
        &["ZSCAN", "l", "0"],
        &["ZRANDMEMBER", "l"],
        &["ZMSCORE", "l", "a"],
    ] {
        assert_eq!(cmdv(&mut r, args), WRONGTYPE, "{args:?}");
    }
    assert_eq!(cmdv(&mut r, &["TYPE", "z"]), "+zset\r\n");
}

/// The bulk strings of a flat array reply.
fn bulks(reply: &str) -> Vec<String> {
    let mut lines = reply.split("\r\n");
    let header = lines.next().expect("a header");
    assert!(header.starts_with('*'), "not an array: {reply:?}");
    let n: usize = header[1..].parse().expect("a length");
    (0..n)
        .map(|_| {
            let len = lines.next().expect("bulk header");
            assert!(len.starts_with('$'), "not a bulk: {reply:?}");
            lines.next().expect("bulk data").to_string()
        })
        .collect()
}

#[test]
fn randmember_samples() {
    let server = Server::start_sharded();
    let mut r = server.raw();
    let mut args = vec!["ZADD".to_string(), "z".to_string()];
    for i in 0..200 {
        args.push(i.to_string());
        args.push(format!("m{i}"));
    }
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_eq!(cmdv(&mut r, &argv), ":200\r\n");
    assert_eq!(cmdv(&mut r, &["OBJECT", "ENCODING", "z"]), bulk("skiplist"));
    for count in ["1", "5", "150", "199"] {
        let got = bulks(&cmdv(&mut r, &["ZRANDMEMBER", "z", count]));
        let distinct: BTreeSet<&String> = got.iter().collect();
        assert_eq!(got.len(), count.parse::<usize>().unwrap());
        assert_eq!(distinct.len(), got.len(), "distinct members");
        assert!(got.iter().all(|m| m.starts_with('m')));
    }
    let got = bulks(&cmdv(&mut r, &["ZRANDMEMBER", "z", "-500"]));
    assert_eq!(got.len(), 500);
    let got = bulks(&cmdv(&mut r, &["ZRANDMEMBER", "z", "-7", "WITHSCORES"]));
    assert_eq!(got.len(), 14);
    for pair in got.chunks(2) {
        assert_eq!(format!("m{}", pair[1]), pair[0], "score matches member");
    }
    let one = cmdv(&mut r, &["ZRANDMEMBER", "z"]);
    assert!(one.starts_with("$") && one.contains("\r\nm"), "{one}");
    cmdv(&mut r, &["HELLO", "3"]);
    let reply = cmdv(&mut r, &["ZRANDMEMBER", "z", "2", "WITHSCORES"]);
    assert!(reply.starts_with("*2\r\n*2\r\n$"), "{reply}");
    assert_eq!(reply.matches("\r\n,").count(), 2, "{reply}");
}

#[test]
fn zscan_walks_a_skiplist() {
    let server = Server::start_sharded();
    let mut r = server.raw();
    let mut args = vec!["ZADD".to_string(), "z".to_string()];
    for i in 0..500 {
        args.push(format!("{}.5", i));
        args.push(format!("m{i}"));
    }
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_eq!(cmdv(&mut r, &argv), ":500\r\n");
    let mut seen: HashMap<String, String> = HashMap::new();
    let mut cursor = "0".to_string();
    let mut steps = 0;
    loop {
        let reply = cmdv(&mut r, &["ZSCAN", "z", &cursor, "COUNT", "7"]);
        let (head, rest) = reply.split_at(reply.find("*").unwrap() + 4);
        assert!(head.starts_with("*2\r\n"), "{reply}");
        let mut lines = rest.split("\r\n");
        lines.next();
        cursor = lines.next().unwrap().to_string();
        let body = &reply[reply.find(&format!("{cursor}\r\n*")).unwrap() + cursor.len() + 2..];
        let items = bulks(body);
        assert!(items.len() <= 14);
        for pair in items.chunks(2) {
            seen.insert(pair[0].clone(), pair[1].clone());
        }
        steps += 1;
        if cursor == "0" {
            break;
        }
    }
    assert!(steps > 10, "COUNT bounds each step");
    assert_eq!(seen.len(), 500);
    assert!(seen.iter().all(|(m, s)| s.ends_with(".5") && format!("m{}", &s[..s.len() - 2]) == *m));
    let reply = cmdv(&mut r, &["ZSCAN", "z", "0", "MATCH", "m49*", "COUNT", "1000"]);
    let items = bulks(&reply[reply.find("\r\n*").unwrap() + 2..]);
    assert_eq!(items.len(), 22, "m49 and m490..m499 with their scores");
}

/// Splits a ZSCAN reply into its cursor and its flat member/score list.
fn scan_reply(reply: &str) -> (String, Vec<String>) {
    let mut parts = reply.splitn(4, "\r\n");
    assert_eq!(parts.next(), Some("*2"), "{reply:?}");
    parts.next();
    let cursor = parts.next().expect("a cursor").to_string();
    (cursor, bulks(parts.next().expect("an array")))
}

#[test]
fn zscan_returns_every_stable_member_despite_churn() {
    // Redis's SCAN guarantee: a member present from the start to the end of a full scan
    // is returned at least once, even while other members are added (here with the lowest
    // scores, which shifts every rank) and removed (which moves entries) between calls.
    let server = Server::start_sharded();
    let mut r = server.raw();
    for batch in 0..10 {
        let mut args = vec!["ZADD".to_string(), "z".to_string()];
        for i in batch * 1000..(batch + 1) * 1000 {
            args.push(i.to_string());
            args.push(format!("s{i}"));
        }
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        assert_eq!(cmdv(&mut r, &argv), ":1000\r\n");
    }
    // Some churn members exist before the scan starts, so removals hit low positions too.
    for i in 0..200 {
        cmdv(&mut r, &["ZADD", "z", "-1", &format!("c{i}")]);
    }
    assert_eq!(cmdv(&mut r, &["OBJECT", "ENCODING", "z"]), "$8\r\nskiplist\r\n");
    let mut seen = BTreeSet::new();
    let mut churn: Vec<usize> = (0..200).collect();
    let mut next_churn = 200;
    let mut state = 7u64;
    let mut cursor = "0".to_string();
    let mut calls = 0;
    loop {
        let (next, items) = scan_reply(&cmdv(&mut r, &["ZSCAN", "z", &cursor, "COUNT", "10"]));
        assert!(items.len() <= 20, "COUNT 10 bounds each step of a skiplist");
        for pair in items.chunks(2) {
            if let Some(i) = pair[0].strip_prefix('s') {
                assert_eq!(pair[1], i, "a stable member's score is its number");
                seen.insert(pair[0].clone());
            }
        }
        calls += 1;
        cursor = next;
        if cursor == "0" {
            break;
        }
        // Between calls: add two members with scores below every stable member, and
        // remove one churn member chosen at random.
        for _ in 0..2 {
            let score = -((lcg(&mut state) % 1000) as i64) - 1;
            assert_eq!(cmdv(&mut r, &["ZADD", "z", &score.to_string(), &format!("c{next_churn}")]), ":1\r\n");
            churn.push(next_churn);
            next_churn += 1;
        }
        let victim = churn.swap_remove(lcg(&mut state) as usize % churn.len());
        assert_eq!(cmdv(&mut r, &["ZREM", "z", &format!("c{victim}")]), ":1\r\n");
    }
    assert!(calls >= 1000, "10k members at COUNT 10 take at least 1000 calls, took {calls}");
    let missing: Vec<_> = (0..10_000).map(|i| format!("s{i}")).filter(|m| !seen.contains(m)).collect();
    assert!(
        missing.is_empty(),
        "{} stable members never returned, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );
    assert_eq!(cmdv(&mut r, &["ZCARD", "z"]), format!(":{}\r\n", 10_000 + churn.len()));
}

/// A deterministic pseudo-random sequence.
fn lcg(state: &mut u64) -> u64 {
    *state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    *state >> 33
}

fn fmt_score(s: f64) -> String {
    format!("{s}")
}

#[test]
fn large_sorted_set_matches_a_sorted_model() {
    let server = Server::start_sharded();
    let mut r = server.raw();
    let mut state = 42u64;
    let mut model: Vec<(f64, String)> = Vec::with_capacity(100_000);
    for batch in 0..100 {
        let mut args = vec!["ZADD".to_string(), "big".to_string()];
        for i in 0..1000 {
            let score = (lcg(&mut state) % 4000) as f64 / 4.0;
            let member = format!("m{:06}", batch * 1000 + i);
            args.push(fmt_score(score));
            args.push(member.clone());
            model.push((score, member));
        }
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        assert_eq!(cmdv(&mut r, &argv), ":1000\r\n");
    }
    model.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap().then_with(|| a.1.cmp(&b.1)));
    assert_eq!(cmdv(&mut r, &["ZCARD", "big"]), ":100000\r\n");
    assert_eq!(cmdv(&mut r, &["OBJECT", "ENCODING", "big"]), bulk("skiplist"));
    for _ in 0..200 {
        let i = (lcg(&mut state) % 100_000) as usize;
        let (score, member) = &model[i];
        assert_eq!(cmdv(&mut r, &["ZRANK", "big", member]), format!(":{i}\r\n"));
        assert_eq!(cmdv(&mut r, &["ZREVRANK", "big", member]), format!(":{}\r\n", 99_999 - i));
        assert_eq!(cmdv(&mut r, &["ZSCORE", "big", member]), bulk(&fmt_score(*score)));
    }
    for _ in 0..50 {
        let start = (lcg(&mut state) % 100_000) as usize;
        let end = (start + 20).min(99_999);
        let got = bulks(&cmdv(&mut r, &["ZRANGE", "big", &start.to_string(), &end.to_string(), "WITHSCORES"]));
        let want: Vec<String> = model[start..=end].iter().flat_map(|(s, m)| [m.clone(), fmt_score(*s)]).collect();
        assert_eq!(got, want);
        let got = bulks(&cmdv(&mut r, &["ZREVRANGE", "big", &start.to_string(), &end.to_string()]));
        let want: Vec<String> = model[99_999 - end..=99_999 - start].iter().rev().map(|(_, m)| m.clone()).collect();
        assert_eq!(got, want);
        let lo = (lcg(&mut state) % 1000) as f64;
        let hi = lo + 3.0;
        let in_range: Vec<&(f64, String)> = model.iter().filter(|(s, _)| *s > lo && *s <= hi).collect();
        assert_eq!(
            cmdv(&mut r, &["ZCOUNT", "big", &format!("({lo}"), &hi.to_string()]),
            format!(":{}\r\n", in_range.len())
        );
        let got =
            bulks(&cmdv(&mut r, &["ZRANGEBYSCORE", "big", &format!("({lo}"), &hi.to_string(), "LIMIT", "5", "10"]));
        let want: Vec<String> = in_range.iter().skip(5).take(10).map(|(_, m)| m.clone()).collect();
        assert_eq!(got, want);
        let got =
            bulks(&cmdv(&mut r, &["ZREVRANGEBYSCORE", "big", &hi.to_string(), &format!("({lo}"), "LIMIT", "3", "4"]));
        let want: Vec<String> = in_range.iter().rev().skip(3).take(4).map(|(_, m)| m.clone()).collect();
        assert_eq!(got, want);
    }
    // Remove a middle block and the extremes, then check ranks again.
    assert_eq!(cmdv(&mut r, &["ZREMRANGEBYRANK", "big", "40000", "49999"]), ":10000\r\n");
    model.drain(40_000..50_000);
    let popped = cmdv(&mut r, &["ZPOPMIN", "big", "3"]);
    let want: String = model.drain(..3).map(|(s, m)| bulk(&m) + &bulk(&fmt_score(s))).collect();
    assert_eq!(popped, format!("*6\r\n{want}"));
    let popped = bulks(&cmdv(&mut r, &["ZPOPMAX", "big"]));
    let last = model.pop().unwrap();
    assert_eq!(popped, vec![last.1, fmt_score(last.0)]);
    assert_eq!(cmdv(&mut r, &["ZCARD", "big"]), format!(":{}\r\n", model.len()));
    for _ in 0..100 {
        let i = (lcg(&mut state) % model.len() as u64) as usize;
        assert_eq!(cmdv(&mut r, &["ZRANK", "big", &model[i].1]), format!(":{i}\r\n"));
    }
    let got = bulks(&cmdv(&mut r, &["ZRANGE", "big", "-5", "-1"]));
    let want: Vec<String> = model[model.len() - 5..].iter().map(|(_, m)| m.clone()).collect();
    assert_eq!(got, want);
}

/// ZADD flags and errors, ZINCRBY, ZSCORE, ZMSCORE, ZRANK, ZREM, WRONGTYPE, every ZRANGE form, ZCOUNT, ZLEXCOUNT (RESP2).
const BASICS: &[(&[&str], &str)] = &[
    (&["flushall"], "+OK\r\n"),
    (&["zadd", "z", "1", "a", "2", "b", "3", "c"], ":3\r\n"),
    (&["zadd", "z", "nx", "xx", "1", "a"], "-ERR XX and NX options at the same time are not compatible\r\n"),
    (&["zadd", "z", "gt", "lt", "1", "a"], "-ERR GT, LT, and/or NX options at the same time are not compatible\r\n"),
    (&["zadd", "z", "gt", "nx", "1", "a"], "-ERR GT, LT, and/or NX options at the same time are not compatible\r\n"),
    (&["zadd", "z", "incr", "1", "a", "2", "b"], "-ERR INCR option supports a single increment-element pair\r\n"),
    (&["zadd", "z", "1", "a", "2"], "-ERR syntax error\r\n"),
    (&["zadd", "z"], "-ERR wrong number of arguments for 'zadd' command\r\n"),
    (&["zadd", "z", "abc", "a"], "-ERR value is not a valid float\r\n"),
    (&["zadd", "z", "nan", "a"], "-ERR value is not a valid float\r\n"),
    (&["zadd", "z", "1e400", "a"], "-ERR value is not a valid float\r\n"),
    (&["zadd", "z", "inf", "x"], ":1\r\n"),
    (&["zadd", "z", "-inf", "y"], ":1\r\n"),
    (&["zadd", "z", "incr", "+inf", "x"], "$3\r\ninf\r\n"),
    (&["zadd", "z", "incr", "-inf", "x"], "-ERR resulting score is not a number (NaN)\r\n"),
    (&["zscore", "z", "x"], "$3\r\ninf\r\n"),
    (&["zadd", "z", "ch", "5", "a", "2", "b", "9", "d"], ":2\r\n"),
    (&["zadd", "z", "xx", "ch", "6", "a", "7", "new"], ":1\r\n"),
    (&["zadd", "z", "nx", "100", "a", "8", "e"], ":1\r\n"),
    (&["zadd", "z", "gt", "ch", "1", "a", "100", "b"], ":1\r\n"),
    (&["zadd", "z", "lt", "ch", "1", "a", "100", "c"], ":1\r\n"),
    (&["zadd", "z", "xx", "incr", "1", "nosuch"], "$-1\r\n"),
    (&["zadd", "z", "gt", "incr", "-1", "a"], "$-1\r\n"),
    (&["zadd", "z", "incr", "1.1", "f"], "$18\r\n1.1000000000000001\r\n"),
    (&["zscore", "z", "f"], "$18\r\n1.1000000000000001\r\n"),
    (&["zadd", "z", "1.1", "g"], ":1\r\n"),
    (
        &["zrange", "z", "0", "-1", "withscores"],
        "*18\r\n$1\r\ny\r\n$4\r\n-inf\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nf\r\n$18\r\n1.1000000000000001\r\n$1\r\ng\r\n$18\r\n1.1000000000000001\r\n$1\r\nc\r\n$1\r\n3\r\n$1\r\ne\r\n$1\r\n8\r\n$1\r\nd\r\n$1\r\n9\r\n$1\r\nb\r\n$3\r\n100\r\n$1\r\nx\r\n$3\r\ninf\r\n",
    ),
    (&["zincrby", "z", "2", "a"], "$1\r\n3\r\n"),
    (&["zincrby", "z", "abc", "a"], "-ERR value is not a valid float\r\n"),
    (&["zincrby", "z", "1", "a", "b"], "-ERR wrong number of arguments for 'zincrby' command\r\n"),
    (&["zincrby", "z", "nx", "1"], "-ERR syntax error\r\n"),
    (&["zincrby", "y", "3", "m"], "$1\r\n3\r\n"),
    (&["zscore", "y", "m"], "$1\r\n3\r\n"),
    (&["zscore", "nokey", "m"], "$-1\r\n"),
    (&["zscore", "z", "nomember"], "$-1\r\n"),
    (&["zmscore", "z", "a", "nomember", "b"], "*3\r\n$1\r\n3\r\n$-1\r\n$3\r\n100\r\n"),
    (&["zmscore", "nokey", "a", "b"], "*2\r\n$-1\r\n$-1\r\n"),
    (&["zcard", "z"], ":9\r\n"),
    (&["zcard", "nokey"], ":0\r\n"),
    (&["zrank", "z", "a"], ":3\r\n"),
    (&["zrank", "z", "nomember"], "$-1\r\n"),
    (&["zrank", "z", "a", "withscore"], "*2\r\n:3\r\n$1\r\n3\r\n"),
    (&["zrank", "z", "nomember", "withscore"], "*-1\r\n"),
    (&["zrank", "nokey", "a", "withscore"], "*-1\r\n"),
    (&["zrank", "z", "a", "withscores"], "-ERR syntax error\r\n"),
    (&["zrank", "z", "a", "withscore", "extra"], "-ERR wrong number of arguments for 'zrank' command\r\n"),
    (&["zrevrank", "z", "a", "withscore"], "*2\r\n:5\r\n$1\r\n3\r\n"),
    (&["zrevrank", "z", "a"], ":5\r\n"),
    (&["zrem", "z", "a", "nomember", "g"], ":2\r\n"),
    (&["zrem", "nokey", "a"], ":0\r\n"),
    (&["set", "s", "str"], "+OK\r\n"),
    (&["zadd", "s", "1", "a"], "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
    (&["zrange", "s", "0", "-1"], "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
    (&["zscore", "s", "a"], "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
    (&["zcard", "s"], "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
    (&["zrank", "s", "a"], "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
    (&["zincrby", "s", "1", "a"], "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
    (&["zrem", "s", "a"], "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
    (
        &["zrange", "z", "0", "-1"],
        "*7\r\n$1\r\ny\r\n$1\r\nf\r\n$1\r\nc\r\n$1\r\ne\r\n$1\r\nd\r\n$1\r\nb\r\n$1\r\nx\r\n",
    ),
    (
        &["zrange", "z", "0", "-1", "rev"],
        "*7\r\n$1\r\nx\r\n$1\r\nb\r\n$1\r\nd\r\n$1\r\ne\r\n$1\r\nc\r\n$1\r\nf\r\n$1\r\ny\r\n",
    ),
    (
        &["zrange", "z", "-3", "-1", "withscores"],
        "*6\r\n$1\r\nd\r\n$1\r\n9\r\n$1\r\nb\r\n$3\r\n100\r\n$1\r\nx\r\n$3\r\ninf\r\n",
    ),
    (&["zrange", "z", "5", "1"], "*0\r\n"),
    (&["zrange", "z", "100", "200"], "*0\r\n"),
    (&["zrange", "z", "a", "b"], "-ERR value is not an integer or out of range\r\n"),
    (
        &["zrange", "z", "0", "-1", "limit", "0", "1"],
        "-ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX\r\n",
    ),
    (&["zrange", "z", "0", "-1", "byscore"], "*0\r\n"),
    (
        &["zrange", "z", "-inf", "+inf", "byscore", "withscores"],
        "*14\r\n$1\r\ny\r\n$4\r\n-inf\r\n$1\r\nf\r\n$18\r\n1.1000000000000001\r\n$1\r\nc\r\n$1\r\n3\r\n$1\r\ne\r\n$1\r\n8\r\n$1\r\nd\r\n$1\r\n9\r\n$1\r\nb\r\n$3\r\n100\r\n$1\r\nx\r\n$3\r\ninf\r\n",
    ),
    (&["zrange", "z", "(1", "5", "byscore"], "*2\r\n$1\r\nf\r\n$1\r\nc\r\n"),
    (&["zrange", "z", "5", "(1", "byscore", "rev"], "*2\r\n$1\r\nc\r\n$1\r\nf\r\n"),
    (
        &["zrange", "z", "+inf", "-inf", "byscore", "rev", "limit", "1", "2", "withscores"],
        "*4\r\n$1\r\nb\r\n$3\r\n100\r\n$1\r\nd\r\n$1\r\n9\r\n",
    ),
    (&["zrange", "z", "-inf", "+inf", "byscore", "limit", "-1", "2"], "*0\r\n"),
    (
        &["zrange", "z", "-inf", "+inf", "byscore", "limit", "2", "-1"],
        "*5\r\n$1\r\nc\r\n$1\r\ne\r\n$1\r\nd\r\n$1\r\nb\r\n$1\r\nx\r\n",
    ),
    (&["zrange", "z", "-inf", "+inf", "byscore", "limit", "2", "0"], "*0\r\n"),
    (&["zrange", "z", "a", "b", "byscore"], "-ERR min or max is not a float\r\n"),
    (&["zrange", "z", "(a", "1", "byscore"], "-ERR min or max is not a float\r\n"),
    (
        &["zrange", "z", "-", "+", "bylex"],
        "*7\r\n$1\r\ny\r\n$1\r\nf\r\n$1\r\nc\r\n$1\r\ne\r\n$1\r\nd\r\n$1\r\nb\r\n$1\r\nx\r\n",
    ),
    (
        &["zrange", "z", "-", "+", "bylex", "withscores"],
        "-ERR syntax error, WITHSCORES not supported in combination with BYLEX\r\n",
    ),
    (&["zrange", "z", "a", "b", "bylex"], "-ERR min or max not valid string range item\r\n"),
    (&["zrange", "z", "[a", "(c", "bylex"], "*0\r\n"),
    (&["zrange", "z", "+", "-", "bylex", "rev", "limit", "0", "2"], "*2\r\n$1\r\nx\r\n$1\r\nb\r\n"),
    (&["zrange", "z", "0", "-1", "byscore", "bylex"], "-ERR syntax error\r\n"),
    (&["zrange", "z", "0", "-1", "rev", "rev"], "-ERR syntax error\r\n"),
    (
        &["zrange", "z", "0", "-1", "withscores", "withscores"],
        "*14\r\n$1\r\ny\r\n$4\r\n-inf\r\n$1\r\nf\r\n$18\r\n1.1000000000000001\r\n$1\r\nc\r\n$1\r\n3\r\n$1\r\ne\r\n$1\r\n8\r\n$1\r\nd\r\n$1\r\n9\r\n$1\r\nb\r\n$3\r\n100\r\n$1\r\nx\r\n$3\r\ninf\r\n",
    ),
    (&["zrange", "z", "0", "-1", "foo"], "-ERR syntax error\r\n"),
    (&["zrange", "z", "0", "-1", "limit", "0"], "-ERR syntax error\r\n"),
    (&["zrange", "z", "0", "-1", "byscore", "limit", "a", "1"], "-ERR value is not an integer or out of range\r\n"),
    (&["zrevrange", "z", "0", "1", "withscores"], "*4\r\n$1\r\nx\r\n$3\r\ninf\r\n$1\r\nb\r\n$3\r\n100\r\n"),
    (&["zrevrange", "z", "0", "1", "byscore"], "-ERR syntax error\r\n"),
    (
        &["zrangebyscore", "z", "-inf", "+inf", "withscores", "limit", "1", "1"],
        "*2\r\n$1\r\nf\r\n$18\r\n1.1000000000000001\r\n",
    ),
    (&["zrangebyscore", "z", "-inf", "+inf", "rev"], "-ERR syntax error\r\n"),
    (&["zrangebyscore", "z", "", ""], "*0\r\n"),
    (&["zrangebyscore", "z", " 1", "100"], "*5\r\n$1\r\nf\r\n$1\r\nc\r\n$1\r\ne\r\n$1\r\nd\r\n$1\r\nb\r\n"),
    (&["zrangebyscore", "z", "1 ", "100"], "-ERR min or max is not a float\r\n"),
    (&["zrangebyscore", "z", "(", "100"], "*5\r\n$1\r\nf\r\n$1\r\nc\r\n$1\r\ne\r\n$1\r\nd\r\n$1\r\nb\r\n"),
    (
        &["zrevrangebyscore", "z", "+inf", "-inf"],
        "*7\r\n$1\r\nx\r\n$1\r\nb\r\n$1\r\nd\r\n$1\r\ne\r\n$1\r\nc\r\n$1\r\nf\r\n$1\r\ny\r\n",
    ),
    (
        &["zrevrangebyscore", "z", "(9", "(1", "withscores"],
        "*6\r\n$1\r\ne\r\n$1\r\n8\r\n$1\r\nc\r\n$1\r\n3\r\n$1\r\nf\r\n$18\r\n1.1000000000000001\r\n",
    ),
    (
        &["zrangebylex", "z", "-", "+"],
        "*7\r\n$1\r\ny\r\n$1\r\nf\r\n$1\r\nc\r\n$1\r\ne\r\n$1\r\nd\r\n$1\r\nb\r\n$1\r\nx\r\n",
    ),
    (
        &["zrangebylex", "z", "-", "+", "withscores"],
        "-ERR syntax error, WITHSCORES not supported in combination with BYLEX\r\n",
    ),
    (&["zrangebylex", "z", "+a", "+"], "-ERR min or max not valid string range item\r\n"),
    (&["zrangebylex", "z", "[b", "[d", "limit", "1", "1"], "*0\r\n"),
    (&["zrevrangebylex", "z", "[d", "[b"], "*0\r\n"),
    (&["zrevrangebylex", "z", "+", "-", "limit", "0", "1"], "*1\r\n$1\r\nx\r\n"),
    (&["zcount", "z", "-inf", "+inf"], ":7\r\n"),
    (&["zcount", "z", "(1", "(9"], ":3\r\n"),
    (&["zcount", "z", "a", "b"], "-ERR min or max is not a float\r\n"),
    (&["zcount", "nokey", "0", "1"], ":0\r\n"),
    (&["zcount", "s", "0", "1"], "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
    (&["zlexcount", "z", "-", "+"], ":7\r\n"),
    (&["zlexcount", "z", "[b", "(d"], ":0\r\n"),
    (&["zlexcount", "z", "b", "d"], "-ERR min or max not valid string range item\r\n"),
    (&["zlexcount", "nokey", "-", "+"], ":0\r\n"),
];

/// ZREMRANGEBY*, ZPOPMIN/MAX, ZMPOP, ZUNION/ZINTER/ZDIFF(+STORE), ZINTERCARD, ZRANDMEMBER errors and whole-set replies, ZSCAN, ZRANGESTORE, score formatting (RESP2).
const REMOVALS_AND_SET_OPS: &[(&[&str], &str)] = &[
    (&["flushall"], "+OK\r\n"),
    (&["zadd", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e", "6", "f"], ":6\r\n"),
    (&["zremrangebyrank", "z", "a", "1"], "-ERR value is not an integer or out of range\r\n"),
    (&["zremrangebyrank", "z", "10", "20"], ":0\r\n"),
    (&["zremrangebyrank", "z", "-2", "-1"], ":2\r\n"),
    (&["zrange", "z", "0", "-1"], "*4\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n"),
    (&["zremrangebyscore", "z", "(1", "2"], ":1\r\n"),
    (&["zremrangebyscore", "z", "a", "2"], "-ERR min or max is not a float\r\n"),
    (&["zremrangebylex", "z", "a", "b"], "-ERR min or max not valid string range item\r\n"),
    (&["zremrangebylex", "z", "-", "[b"], ":1\r\n"),
    (&["zrange", "z", "0", "-1", "withscores"], "*4\r\n$1\r\nc\r\n$1\r\n3\r\n$1\r\nd\r\n$1\r\n4\r\n"),
    (&["zremrangebyrank", "z", "0", "-1"], ":2\r\n"),
    (&["exists", "z"], ":0\r\n"),
    (&["zremrangebyrank", "nokey", "0", "1"], ":0\r\n"),
    (&["set", "s", "x"], "+OK\r\n"),
    (&["zremrangebyrank", "s", "0", "1"], "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
    (&["zremrangebyscore", "s", "0", "1"], "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
    (&["zremrangebylex", "s", "-", "+"], "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
    (&["zadd", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e", "6", "f"], ":6\r\n"),
    (&["zpopmin", "z"], "*2\r\n$1\r\na\r\n$1\r\n1\r\n"),
    (&["zpopmax", "z"], "*2\r\n$1\r\nf\r\n$1\r\n6\r\n"),
    (&["zpopmin", "z", "2"], "*4\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n"),
    (&["zpopmax", "z", "0"], "*0\r\n"),
    (&["zpopmax", "z", "-1"], "-ERR value is out of range, must be positive\r\n"),
    (&["zpopmax", "z", "a"], "-ERR value is out of range, must be positive\r\n"),
    (&["zpopmax", "z", "1", "2"], "-ERR syntax error\r\n"),
    (&["zpopmax", "nokey"], "*0\r\n"),
    (&["zpopmax", "nokey", "2"], "*0\r\n"),
    (&["zpopmin", "s"], "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
    (&["zpopmin", "s", "0"], "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
    (&["zpopmax", "z", "10"], "*4\r\n$1\r\ne\r\n$1\r\n5\r\n$1\r\nd\r\n$1\r\n4\r\n"),
    (&["exists", "z"], ":0\r\n"),
    (&["zadd", "z", "1", "a", "2", "b", "3", "c"], ":3\r\n"),
    (&["zadd", "z2", "5", "x"], ":1\r\n"),
    (&["zmpop", "2", "nokey", "z", "min"], "*2\r\n$1\r\nz\r\n*1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n"),
    (
        &["zmpop", "2", "nokey", "z", "max", "count", "5"],
        "*2\r\n$1\r\nz\r\n*2\r\n*2\r\n$1\r\nc\r\n$1\r\n3\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n",
    ),
    (&["zmpop", "2", "nokey", "z", "max"], "*-1\r\n"),
    (&["zmpop", "2", "z", "z2", "min", "count", "2", "count", "3"], "-ERR syntax error\r\n"),
    (&["zmpop", "0", "z", "min"], "-ERR numkeys should be greater than 0\r\n"),
    (&["zmpop", "a", "z", "min"], "-ERR numkeys should be greater than 0\r\n"),
    (&["zmpop", "-1", "z", "min"], "-ERR numkeys should be greater than 0\r\n"),
    (&["zmpop", "1", "z", "mid"], "-ERR syntax error\r\n"),
    (&["zmpop", "1", "z", "min", "count", "0"], "-ERR count should be greater than 0\r\n"),
    (&["zmpop", "1", "z", "min", "count", "a"], "-ERR count should be greater than 0\r\n"),
    (&["zmpop", "1", "z", "min", "foo"], "-ERR syntax error\r\n"),
    (&["zmpop", "3", "z", "min"], "-ERR syntax error\r\n"),
    (&["zmpop", "1", "s", "min"], "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
    (&["zmpop", "2", "nokey", "s", "min"], "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
    (&["zmpop", "2", "z2", "s", "min"], "*2\r\n$2\r\nz2\r\n*1\r\n*2\r\n$1\r\nx\r\n$1\r\n5\r\n"),
    (&["zmpop", "1", "nokey", "min"], "*-1\r\n"),
    (&["flushall"], "+OK\r\n"),
    (&["zadd", "a", "1", "x", "2", "y", "3", "z"], ":3\r\n"),
    (&["zadd", "b", "10", "y", "20", "z", "30", "w"], ":3\r\n"),
    (&["sadd", "s", "y", "w", "q"], ":3\r\n"),
    (&["set", "str", "v"], "+OK\r\n"),
    (&["zunion", "2", "a", "b"], "*4\r\n$1\r\nx\r\n$1\r\ny\r\n$1\r\nz\r\n$1\r\nw\r\n"),
    (
        &["zunion", "2", "a", "b", "withscores"],
        "*8\r\n$1\r\nx\r\n$1\r\n1\r\n$1\r\ny\r\n$2\r\n12\r\n$1\r\nz\r\n$2\r\n23\r\n$1\r\nw\r\n$2\r\n30\r\n",
    ),
    (
        &["zunion", "2", "a", "b", "weights", "2", "3", "withscores"],
        "*8\r\n$1\r\nx\r\n$1\r\n2\r\n$1\r\ny\r\n$2\r\n34\r\n$1\r\nz\r\n$2\r\n66\r\n$1\r\nw\r\n$2\r\n90\r\n",
    ),
    (&["zunion", "2", "a", "b", "weights", "2", "withscores"], "-ERR weight value is not a float\r\n"),
    (&["zunion", "2", "a", "b", "weights", "2", "x"], "-ERR weight value is not a float\r\n"),
    (
        &["zunion", "2", "a", "b", "aggregate", "min", "withscores"],
        "*8\r\n$1\r\nx\r\n$1\r\n1\r\n$1\r\ny\r\n$1\r\n2\r\n$1\r\nz\r\n$1\r\n3\r\n$1\r\nw\r\n$2\r\n30\r\n",
    ),
    (
        &["zunion", "2", "a", "b", "aggregate", "max", "withscores"],
        "*8\r\n$1\r\nx\r\n$1\r\n1\r\n$1\r\ny\r\n$2\r\n10\r\n$1\r\nz\r\n$2\r\n20\r\n$1\r\nw\r\n$2\r\n30\r\n",
    ),
    (&["zunion", "2", "a", "b", "aggregate", "foo"], "-ERR syntax error\r\n"),
    (&["zunion", "2", "a", "b", "aggregate"], "-ERR syntax error\r\n"),
    (
        &["zunion", "3", "a", "b", "s", "withscores"],
        "*10\r\n$1\r\nq\r\n$1\r\n1\r\n$1\r\nx\r\n$1\r\n1\r\n$1\r\ny\r\n$2\r\n13\r\n$1\r\nz\r\n$2\r\n23\r\n$1\r\nw\r\n$2\r\n31\r\n",
    ),
    (&["zunion", "0", "a"], "-ERR at least 1 input key is needed for 'zunion' command\r\n"),
    (&["zunion", "-1", "a"], "-ERR at least 1 input key is needed for 'zunion' command\r\n"),
    (&["zunion", "x", "a"], "-ERR value is not an integer or out of range\r\n"),
    (&["zunion", "3", "a", "b"], "-ERR syntax error\r\n"),
    (&["zunion", "2", "a", "str"], "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
    (
        &["zunion", "2", "a", "str", "weights", "x"],
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
    ),
    (
        &["zunion", "2", "a", "nokey", "withscores"],
        "*6\r\n$1\r\nx\r\n$1\r\n1\r\n$1\r\ny\r\n$1\r\n2\r\n$1\r\nz\r\n$1\r\n3\r\n",
    ),
    (&["zinter", "2", "a", "b", "withscores"], "*4\r\n$1\r\ny\r\n$2\r\n12\r\n$1\r\nz\r\n$2\r\n23\r\n"),
    (&["zinter", "3", "a", "b", "s", "withscores"], "*2\r\n$1\r\ny\r\n$2\r\n13\r\n"),
    (
        &["zinter", "2", "a", "a", "withscores"],
        "*6\r\n$1\r\nx\r\n$1\r\n2\r\n$1\r\ny\r\n$1\r\n4\r\n$1\r\nz\r\n$1\r\n6\r\n",
    ),
    (
        &["zinter", "2", "a", "a", "weights", "1", "2", "withscores"],
        "*6\r\n$1\r\nx\r\n$1\r\n3\r\n$1\r\ny\r\n$1\r\n6\r\n$1\r\nz\r\n$1\r\n9\r\n",
    ),
    (
        &["zinter", "2", "a", "b", "weights", "1", "inf", "aggregate", "min", "withscores"],
        "*4\r\n$1\r\ny\r\n$1\r\n2\r\n$1\r\nz\r\n$1\r\n3\r\n",
    ),
    (&["zinter", "2", "a", "nokey"], "*0\r\n"),
    (
        &["zinter", "2", "a", "b", "aggregate", "max", "withscores"],
        "*4\r\n$1\r\ny\r\n$2\r\n10\r\n$1\r\nz\r\n$2\r\n20\r\n",
    ),
    (&["zdiff", "2", "a", "b", "withscores"], "*2\r\n$1\r\nx\r\n$1\r\n1\r\n"),
    (&["zdiff", "2", "b", "s", "withscores"], "*2\r\n$1\r\nz\r\n$2\r\n20\r\n"),
    (&["zdiff", "2", "a", "a"], "*0\r\n"),
    (&["zdiff", "1", "nokey"], "*0\r\n"),
    (&["zdiff", "2", "a", "b", "weights", "1", "2"], "-ERR syntax error\r\n"),
    (&["zdiff", "2", "a", "b", "aggregate", "sum"], "-ERR syntax error\r\n"),
    (&["zunionstore", "dst", "2", "a", "b"], ":4\r\n"),
    (
        &["zrange", "dst", "0", "-1", "withscores"],
        "*8\r\n$1\r\nx\r\n$1\r\n1\r\n$1\r\ny\r\n$2\r\n12\r\n$1\r\nz\r\n$2\r\n23\r\n$1\r\nw\r\n$2\r\n30\r\n",
    ),
    (&["zunionstore", "dst", "2", "a", "b", "withscores"], "-ERR syntax error\r\n"),
    (&["zinterstore", "dst", "2", "a", "b", "aggregate", "min"], ":2\r\n"),
    (&["zrange", "dst", "0", "-1", "withscores"], "*4\r\n$1\r\ny\r\n$1\r\n2\r\n$1\r\nz\r\n$1\r\n3\r\n"),
    (&["zdiffstore", "dst", "2", "a", "b"], ":1\r\n"),
    (&["zrange", "dst", "0", "-1", "withscores"], "*2\r\n$1\r\nx\r\n$1\r\n1\r\n"),
    (&["zdiffstore", "dst", "2", "a", "a"], ":0\r\n"),
    (&["exists", "dst"], ":0\r\n"),
    (&["zunionstore", "dst", "0", "a"], "-ERR at least 1 input key is needed for 'zunionstore' command\r\n"),
    (
        &["zinterstore", "dst", "2", "a", "str"],
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
    ),
    (&["zunionstore", "str", "2", "a", "b"], ":4\r\n"),
    (&["type", "str"], "+zset\r\n"),
    (&["zintercard", "2", "a", "b"], ":2\r\n"),
    (&["zintercard", "2", "a", "b", "limit", "1"], ":1\r\n"),
    (&["zintercard", "2", "a", "b", "limit", "0"], ":2\r\n"),
    (&["zintercard", "2", "a", "b", "limit", "-1"], "-ERR LIMIT can't be negative\r\n"),
    (&["zintercard", "2", "a", "b", "limit", "x"], "-ERR LIMIT can't be negative\r\n"),
    (&["zintercard", "0", "a"], "-ERR at least 1 input key is needed for 'zintercard' command\r\n"),
    (&["zintercard", "3", "a", "b"], "-ERR syntax error\r\n"),
    (&["zintercard", "2", "a", "b", "withscores"], "-ERR syntax error\r\n"),
    (&["zintercard", "2", "a", "str"], ":3\r\n"),
    (&["zintercard", "1", "s"], ":3\r\n"),
    (
        &["zunion", "2", "a", "b", "weights", "1", "-inf", "withscores"],
        "*8\r\n$1\r\nw\r\n$4\r\n-inf\r\n$1\r\ny\r\n$4\r\n-inf\r\n$1\r\nz\r\n$4\r\n-inf\r\n$1\r\nx\r\n$1\r\n1\r\n",
    ),
    (
        &["zunion", "2", "a", "b", "weights", "inf", "-inf", "withscores"],
        "*8\r\n$1\r\nw\r\n$4\r\n-inf\r\n$1\r\ny\r\n$1\r\n0\r\n$1\r\nz\r\n$1\r\n0\r\n$1\r\nx\r\n$3\r\ninf\r\n",
    ),
    (&["zinterstore", "d2", "2", "a", "b", "weights", "inf", "-inf"], ":2\r\n"),
    (&["zrange", "d2", "0", "-1", "withscores"], "*4\r\n$1\r\ny\r\n$1\r\n0\r\n$1\r\nz\r\n$1\r\n0\r\n"),
    (&["zrandmember", "nokey"], "$-1\r\n"),
    (&["zrandmember", "nokey", "5"], "*0\r\n"),
    (&["zrandmember", "nokey", "5", "withscores"], "*0\r\n"),
    (&["zrandmember", "a", "0"], "*0\r\n"),
    (&["zrandmember", "a", "10"], "*3\r\n$1\r\nz\r\n$1\r\ny\r\n$1\r\nx\r\n"),
    (
        &["zrandmember", "a", "10", "withscores"],
        "*6\r\n$1\r\nz\r\n$1\r\n3\r\n$1\r\ny\r\n$1\r\n2\r\n$1\r\nx\r\n$1\r\n1\r\n",
    ),
    (
        &["zrandmember", "a", "3", "withscores"],
        "*6\r\n$1\r\nz\r\n$1\r\n3\r\n$1\r\ny\r\n$1\r\n2\r\n$1\r\nx\r\n$1\r\n1\r\n",
    ),
    (&["zrandmember", "a", "x"], "-ERR value is not an integer or out of range\r\n"),
    (&["zrandmember", "a", "1", "foo"], "-ERR syntax error\r\n"),
    (&["zrandmember", "a", "1", "withscores", "x"], "-ERR syntax error\r\n"),
    (
        &["zrandmember", "a", "-9223372036854775808"],
        "-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807\r\n",
    ),
    (&["zrandmember", "a", "9223372036854775807", "withscores"], "-ERR value is out of range\r\n"),
    (&["zrandmember", "a", "-4611686018427387904", "withscores"], "-ERR value is out of range\r\n"),
    (&["zrandmember", "str", "x"], "-ERR value is not an integer or out of range\r\n"),
    (&["zrandmember", "-1", "str"], "-ERR value is not an integer or out of range\r\n"),
    (&["zscan", "a", "0"], "*2\r\n$1\r\n0\r\n*6\r\n$1\r\nx\r\n$1\r\n1\r\n$1\r\ny\r\n$1\r\n2\r\n$1\r\nz\r\n$1\r\n3\r\n"),
    (&["zscan", "a", "0", "match", "x*"], "*2\r\n$1\r\n0\r\n*2\r\n$1\r\nx\r\n$1\r\n1\r\n"),
    (&["zscan", "a", "0", "count", "0"], "-ERR syntax error\r\n"),
    (&["zscan", "a", "0", "count", "x"], "-ERR value is not an integer or out of range\r\n"),
    (&["zscan", "a", "x"], "-ERR invalid cursor\r\n"),
    (&["zscan", "a", "0", "foo"], "-ERR syntax error\r\n"),
    (&["zscan", "nokey", "0"], "*2\r\n$1\r\n0\r\n*0\r\n"),
    (
        &["zscan", "str", "0"],
        "*2\r\n$1\r\n0\r\n*8\r\n$1\r\nx\r\n$1\r\n1\r\n$1\r\ny\r\n$2\r\n12\r\n$1\r\nz\r\n$2\r\n23\r\n$1\r\nw\r\n$2\r\n30\r\n",
    ),
    (&["zrangestore", "dst", "a", "0", "-1"], ":3\r\n"),
    (
        &["zrange", "dst", "0", "-1", "withscores"],
        "*6\r\n$1\r\nx\r\n$1\r\n1\r\n$1\r\ny\r\n$1\r\n2\r\n$1\r\nz\r\n$1\r\n3\r\n",
    ),
    (&["zrangestore", "dst", "a", "(1", "+inf", "byscore", "limit", "0", "1"], ":1\r\n"),
    (&["zrange", "dst", "0", "-1", "withscores"], "*2\r\n$1\r\ny\r\n$1\r\n2\r\n"),
    (&["zrangestore", "dst", "a", "0", "-1", "withscores"], "-ERR syntax error\r\n"),
    (&["zrangestore", "dst", "a", "[x", "[y", "bylex", "rev"], ":0\r\n"),
    (&["zrangestore", "dst", "nokey", "0", "-1"], ":0\r\n"),
    (&["exists", "dst"], ":0\r\n"),
    (&["zrangestore", "dst", "a", "5", "10"], ":0\r\n"),
    (&["zrangestore", "dst", "str", "0", "-1"], ":4\r\n"),
    (
        &["zadd", "f", "1.1", "a", "0.1", "b", "-0", "c", "1e20", "d", "123456789012345678", "e", "3.0e-5", "f"],
        ":6\r\n",
    ),
    (
        &["zrange", "f", "0", "-1", "withscores"],
        "*12\r\n$1\r\nc\r\n$1\r\n0\r\n$1\r\nf\r\n$22\r\n3.0000000000000001e-05\r\n$1\r\nb\r\n$19\r\n0.10000000000000001\r\n$1\r\na\r\n$18\r\n1.1000000000000001\r\n$1\r\ne\r\n$22\r\n1.2345678901234568e+17\r\n$1\r\nd\r\n$5\r\n1e+20\r\n",
    ),
    (
        &["zscan", "f", "0"],
        "*2\r\n$1\r\n0\r\n*12\r\n$1\r\nc\r\n$1\r\n0\r\n$1\r\nf\r\n$22\r\n3.0000000000000001e-05\r\n$1\r\nb\r\n$19\r\n0.10000000000000001\r\n$1\r\na\r\n$18\r\n1.1000000000000001\r\n$1\r\ne\r\n$18\r\n123456789012345680\r\n$1\r\nd\r\n$5\r\n1e+20\r\n",
    ),
    (&["zadd", "f", "incr", "0.2", "b"], "$19\r\n0.30000000000000004\r\n"),
    (&["object", "encoding", "f"], "$8\r\nlistpack\r\n"),
];

/// RESP3 reply types (doubles, nested pairs, nulls) and encoding transitions; the first command (HELLO 3) is not compared.
const RESP3: &[(&[&str], &str)] = &[
    (&["hello", "3"], ""),
    (&["flushall"], "+OK\r\n"),
    (&["zadd", "z", "1", "a", "2", "b", "3", "c"], ":3\r\n"),
    (&["zadd", "z", "incr", "1.5", "a"], ",2.5\r\n"),
    (&["zadd", "z", "xx", "incr", "1", "nosuch"], "_\r\n"),
    (&["zincrby", "z", "1", "a"], ",3.5\r\n"),
    (&["zscore", "z", "a"], ",3.5\r\n"),
    (&["zscore", "z", "nosuch"], "_\r\n"),
    (&["zmscore", "z", "a", "nosuch"], "*2\r\n,3.5\r\n_\r\n"),
    (&["zrank", "z", "nosuch"], "_\r\n"),
    (
        &["zrange", "z", "0", "-1", "withscores"],
        "*3\r\n*2\r\n$1\r\nb\r\n,2\r\n*2\r\n$1\r\nc\r\n,3\r\n*2\r\n$1\r\na\r\n,3.5\r\n",
    ),
    (&["zrange", "z", "0", "-1"], "*3\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\na\r\n"),
    (&["zrange", "nokey", "0", "-1", "withscores"], "*0\r\n"),
    (
        &["zrangebyscore", "z", "-inf", "+inf", "withscores"],
        "*3\r\n*2\r\n$1\r\nb\r\n,2\r\n*2\r\n$1\r\nc\r\n,3\r\n*2\r\n$1\r\na\r\n,3.5\r\n",
    ),
    (&["zrevrangebyscore", "z", "+inf", "-inf", "withscores", "limit", "0", "1"], "*1\r\n*2\r\n$1\r\na\r\n,3.5\r\n"),
    (&["zpopmin", "z"], "*2\r\n$1\r\nb\r\n,2\r\n"),
    (&["zpopmin", "z", "1"], "*1\r\n*2\r\n$1\r\nc\r\n,3\r\n"),
    (&["zpopmax", "nokey"], "*0\r\n"),
    (&["zpopmax", "nokey", "1"], "*0\r\n"),
    (&["zadd", "z", "1", "a", "2", "b", "3", "c"], ":2\r\n"),
    (
        &["zmpop", "1", "z", "min", "count", "2"],
        "*2\r\n$1\r\nz\r\n*2\r\n*2\r\n$1\r\na\r\n,1\r\n*2\r\n$1\r\nb\r\n,2\r\n",
    ),
    (&["zmpop", "1", "nokey", "min"], "_\r\n"),
    (&["zunion", "1", "z", "withscores"], "*1\r\n*2\r\n$1\r\nc\r\n,3\r\n"),
    (&["zinter", "1", "z", "withscores"], "*1\r\n*2\r\n$1\r\nc\r\n,3\r\n"),
    (&["zdiff", "1", "z", "withscores"], "*1\r\n*2\r\n$1\r\nc\r\n,3\r\n"),
    (&["zrandmember", "z", "5", "withscores"], "*1\r\n*2\r\n$1\r\nc\r\n,3\r\n"),
    (&["zrandmember", "z", "-2"], "*2\r\n$1\r\nc\r\n$1\r\nc\r\n"),
    (&["zrandmember", "nokey"], "_\r\n"),
    (&["zrandmember", "nokey", "1"], "*0\r\n"),
    (&["zscan", "z", "0"], "*2\r\n$1\r\n0\r\n*2\r\n$1\r\nc\r\n$1\r\n3\r\n"),
    (&["zadd", "inf", "inf", "a", "-inf", "b"], ":2\r\n"),
    (&["zrange", "inf", "0", "-1", "withscores"], "*2\r\n*2\r\n$1\r\nb\r\n,-inf\r\n*2\r\n$1\r\na\r\n,inf\r\n"),
    (&["zscore", "inf", "a"], ",inf\r\n"),
    (&["object", "encoding", "z"], "$8\r\nlistpack\r\n"),
    (&["zadd", "big", "1", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"], ":1\r\n"),
    (&["object", "encoding", "big"], "$8\r\nskiplist\r\n"),
    (&["zadd", "big2", "1", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"], ":1\r\n"),
    (&["object", "encoding", "big2"], "$8\r\nlistpack\r\n"),
    (&["zrem", "big", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"], ":1\r\n"),
    (&["exists", "big"], ":0\r\n"),
    (&["config", "set", "zset-max-listpack-entries", "2"], "+OK\r\n"),
    (&["zadd", "e", "1", "a", "2", "b"], ":2\r\n"),
    (&["object", "encoding", "e"], "$8\r\nlistpack\r\n"),
    (&["zadd", "e", "3", "c"], ":1\r\n"),
    (&["object", "encoding", "e"], "$8\r\nskiplist\r\n"),
    (&["zpopmin", "e", "2"], "*2\r\n*2\r\n$1\r\na\r\n,1\r\n*2\r\n$1\r\nb\r\n,2\r\n"),
    (&["object", "encoding", "e"], "$8\r\nskiplist\r\n"),
    (&["zunionstore", "u", "1", "e"], ":1\r\n"),
    (&["object", "encoding", "u"], "$8\r\nlistpack\r\n"),
    (&["zadd", "u", "0", "x", "1", "y"], ":2\r\n"),
    (&["zrangestore", "r", "u", "0", "1"], ":2\r\n"),
    (&["object", "encoding", "r"], "$8\r\nlistpack\r\n"),
    (&["zrangestore", "r", "u", "0", "-1"], ":3\r\n"),
    (&["object", "encoding", "r"], "$8\r\nskiplist\r\n"),
    (&["config", "set", "zset-max-listpack-entries", "0"], "+OK\r\n"),
    (&["zadd", "zero", "1", "a"], ":1\r\n"),
    (&["object", "encoding", "zero"], "$8\r\nskiplist\r\n"),
    (&["zadd", "zero2", "-0", "a"], ":1\r\n"),
    (&["zscore", "zero2", "a"], ",-0\r\n"),
    (&["zscan", "zero2", "0"], "*2\r\n$1\r\n0\r\n*2\r\n$1\r\na\r\n$2\r\n-0\r\n"),
    (&["config", "set", "zset-max-listpack-entries", "128"], "+OK\r\n"),
    (&["config", "set", "zset-max-listpack-value", "64"], "+OK\r\n"),
    (&["zadd", "j", "1", "a"], ":1\r\n"),
    (&["zadd", "j", "1", "a", "2", "b"], ":1\r\n"),
    (&["zrevrank", "j", "b"], ":0\r\n"),
    (&["zrange", "j", "0", "0", "rev", "withscores"], "*1\r\n*2\r\n$1\r\nb\r\n,2\r\n"),
];

/// Multi-key commands whose keys (a, b, c, d, ...) sit on different shards.
const CROSS_SHARD: &[(&[&str], &str)] = &[
    (&["flushall"], "+OK\r\n"),
    (&["zadd", "a", "1", "x", "2", "y", "3", "z"], ":3\r\n"),
    (&["zadd", "b", "10", "y", "20", "z", "30", "w"], ":3\r\n"),
    (&["zadd", "c", "5", "z"], ":1\r\n"),
    (&["sadd", "d", "y", "z"], ":2\r\n"),
    (&["zunionstore", "e", "4", "a", "b", "c", "d", "weights", "1", "2", "3", "4", "aggregate", "max"], ":4\r\n"),
    (
        &["zrange", "e", "0", "-1", "withscores"],
        "*8\r\n$1\r\nx\r\n$1\r\n1\r\n$1\r\ny\r\n$2\r\n20\r\n$1\r\nz\r\n$2\r\n40\r\n$1\r\nw\r\n$2\r\n60\r\n",
    ),
    (&["zinterstore", "f", "4", "a", "b", "c", "d"], ":1\r\n"),
    (&["zrange", "f", "0", "-1", "withscores"], "*2\r\n$1\r\nz\r\n$2\r\n29\r\n"),
    (&["zdiffstore", "g", "2", "b", "a"], ":1\r\n"),
    (&["zrange", "g", "0", "-1", "withscores"], "*2\r\n$1\r\nw\r\n$2\r\n30\r\n"),
    (&["zrangestore", "h", "b", "0", "1"], ":2\r\n"),
    (&["zrange", "h", "0", "-1", "withscores"], "*4\r\n$1\r\ny\r\n$2\r\n10\r\n$1\r\nz\r\n$2\r\n20\r\n"),
    (
        &["zmpop", "3", "q", "r", "b", "max", "count", "2"],
        "*2\r\n$1\r\nb\r\n*2\r\n*2\r\n$1\r\nw\r\n$2\r\n30\r\n*2\r\n$1\r\nz\r\n$2\r\n20\r\n",
    ),
    (&["zrange", "b", "0", "-1", "withscores"], "*2\r\n$1\r\ny\r\n$2\r\n10\r\n"),
    (&["zmpop", "3", "q", "r", "b", "max", "count", "2"], "*2\r\n$1\r\nb\r\n*1\r\n*2\r\n$1\r\ny\r\n$2\r\n10\r\n"),
    (&["exists", "b"], ":0\r\n"),
    (&["zintercard", "4", "a", "b", "c", "d"], ":0\r\n"),
    (
        &["zunion", "3", "a", "c", "d", "withscores"],
        "*6\r\n$1\r\nx\r\n$1\r\n1\r\n$1\r\ny\r\n$1\r\n3\r\n$1\r\nz\r\n$1\r\n9\r\n",
    ),
    (&["zinter", "2", "a", "d"], "*2\r\n$1\r\ny\r\n$1\r\nz\r\n"),
    (&["zdiff", "3", "a", "c", "d", "withscores"], "*2\r\n$1\r\nx\r\n$1\r\n1\r\n"),
    (&["zunionstore", "a", "2", "a", "c"], ":3\r\n"),
    (
        &["zrange", "a", "0", "-1", "withscores"],
        "*6\r\n$1\r\nx\r\n$1\r\n1\r\n$1\r\ny\r\n$1\r\n2\r\n$1\r\nz\r\n$1\r\n8\r\n",
    ),
    (&["zinterstore", "e", "2", "a", "nokey"], ":0\r\n"),
    (&["exists", "e"], ":0\r\n"),
    (&["zrangestore", "c", "nokey", "0", "-1"], ":0\r\n"),
    (&["exists", "c"], ":0\r\n"),
    (&["set", "s", "x"], "+OK\r\n"),
    (&["zunionstore", "t", "2", "a", "s"], "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
    (&["zmpop", "2", "q", "s", "min"], "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
];
