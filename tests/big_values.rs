//! 1M-element hashes, sets and sorted sets on a 4-shard server (the 1M-element list is in
//! tests/list.rs): loaded with pipelined commands, read back by member and by rank,
//! moved across shards, and deleted (freed in the background).

mod common;

use std::time::Duration;

use common::{Raw, Server, bulk, cmd, encode_command, key_on};

const N: usize = 1_000_000;
const BATCH: usize = 1000;

fn raw(srv: &Server) -> Raw {
    let r = srv.raw();
    r.stream.set_read_timeout(Some(Duration::from_secs(120))).expect("timeout");
    r
}

/// Sends `N / BATCH` commands built by `command(first, last)` in one pipeline and checks
/// every reply with `ok`.
fn load(r: &mut Raw, command: impl Fn(usize, usize) -> Vec<String>, ok: impl Fn(&str) -> bool) {
    let mut out = Vec::new();
    for first in (0..N).step_by(BATCH) {
        let args = command(first, first + BATCH);
        let refs: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        out.extend(encode_command(&refs));
    }
    r.send(&out);
    for _ in 0..N / BATCH {
        let reply = String::from_utf8_lossy(&r.read_reply()).into_owned();
        assert!(ok(&reply), "{reply}");
    }
}

#[test]
fn a_million_element_hash() {
    let srv = Server::start_sharded();
    let mut r = raw(&srv);
    let key = key_on(1, "bighash");
    load(
        &mut r,
        |a, b| {
            let mut args = vec!["HSET".to_string(), key.clone()];
            for i in a..b {
                args.push(format!("field:{i}"));
                args.push(format!("value:{i}"));
            }
            args
        },
        |reply| reply == format!(":{BATCH}\r\n"),
    );
    assert_eq!(cmd(&mut r, &format!("HLEN {key}")), format!(":{N}\r\n"));
    assert_eq!(cmd(&mut r, &format!("OBJECT ENCODING {key}")), bulk("hashtable"));
    assert_eq!(cmd(&mut r, &format!("HGET {key} field:765432")), bulk("value:765432"));
    assert_eq!(cmd(&mut r, &format!("HEXISTS {key} field:{N}")), ":0\r\n");
    assert_eq!(cmd(&mut r, &format!("HDEL {key} field:0 field:1 nosuch")), ":2\r\n");
    // Copied to a key on another shard, then both deleted.
    let copy = key_on(3, "bighash-copy");
    assert_eq!(cmd(&mut r, &format!("COPY {key} {copy}")), ":1\r\n");
    assert_eq!(cmd(&mut r, &format!("HLEN {copy}")), format!(":{}\r\n", N - 2));
    assert_eq!(cmd(&mut r, &format!("HGET {copy} field:999999")), bulk("value:999999"));
    assert_eq!(cmd(&mut r, &format!("DEL {key} {copy}")), ":2\r\n");
    assert_eq!(cmd(&mut r, "DBSIZE"), ":0\r\n");
}

#[test]
fn a_million_element_set() {
    let srv = Server::start_sharded();
    let mut r = raw(&srv);
    let (ints, strs) = (key_on(0, "bigints"), key_on(2, "bigstrs"));
    load(
        &mut r,
        |a, b| {
            let mut args = vec!["SADD".to_string(), ints.clone()];
            args.extend((a..b).map(|i| i.to_string()));
            args
        },
        |reply| reply == format!(":{BATCH}\r\n"),
    );
    load(
        &mut r,
        |a, b| {
            let mut args = vec!["SADD".to_string(), strs.clone()];
            args.extend((a..b).map(|i| format!("member:{i}")));
            args
        },
        |reply| reply == format!(":{BATCH}\r\n"),
    );
    assert_eq!(cmd(&mut r, &format!("SCARD {ints}")), format!(":{N}\r\n"));
    assert_eq!(cmd(&mut r, &format!("OBJECT ENCODING {ints}")), bulk("hashtable"));
    assert_eq!(cmd(&mut r, &format!("SISMEMBER {ints} 999999")), ":1\r\n");
    assert_eq!(cmd(&mut r, &format!("SISMEMBER {strs} member:123456")), ":1\r\n");
    assert_eq!(cmd(&mut r, &format!("SISMEMBER {strs} member:{N}")), ":0\r\n");
    // Cross-shard set algebra on a million elements each.
    let dst = key_on(3, "bigdst");
    assert_eq!(cmd(&mut r, &format!("SINTERCARD 2 {ints} {strs}")), ":0\r\n");
    assert_eq!(cmd(&mut r, &format!("SUNIONSTORE {dst} {ints} {strs}")), format!(":{}\r\n", 2 * N));
    assert_eq!(cmd(&mut r, &format!("SMOVE {strs} {ints} member:5")), ":1\r\n");
    assert_eq!(cmd(&mut r, &format!("SCARD {ints}")), format!(":{}\r\n", N + 1));
    assert_eq!(cmd(&mut r, &format!("UNLINK {ints} {strs} {dst}")), ":3\r\n");
    assert_eq!(cmd(&mut r, "DBSIZE"), ":0\r\n");
}

#[test]
fn a_million_element_sorted_set() {
    let srv = Server::start_sharded();
    let mut r = raw(&srv);
    let key = key_on(2, "bigz");
    load(
        &mut r,
        |a, b| {
            let mut args = vec!["ZADD".to_string(), key.clone()];
            for i in a..b {
                args.push(i.to_string());
                args.push(format!("member:{i}"));
            }
            args
        },
        |reply| reply == format!(":{BATCH}\r\n"),
    );
    assert_eq!(cmd(&mut r, &format!("ZCARD {key}")), format!(":{N}\r\n"));
    assert_eq!(cmd(&mut r, &format!("OBJECT ENCODING {key}")), bulk("skiplist"));
    assert_eq!(cmd(&mut r, &format!("ZRANK {key} member:654321")), ":654321\r\n");
    assert_eq!(cmd(&mut r, &format!("ZREVRANK {key} member:0")), format!(":{}\r\n", N - 1));
    assert_eq!(cmd(&mut r, &format!("ZSCORE {key} member:999999")), bulk("999999"));
    assert_eq!(
        cmd(&mut r, &format!("ZRANGE {key} 500000 500001")),
        format!("*2\r\n{}{}", bulk("member:500000"), bulk("member:500001"))
    );
    assert_eq!(cmd(&mut r, &format!("ZCOUNT {key} 1000 (2000")), ":1000\r\n");
    assert_eq!(cmd(&mut r, &format!("ZREMRANGEBYRANK {key} 0 99999")), ":100000\r\n");
    assert_eq!(cmd(&mut r, &format!("ZRANK {key} member:654321")), ":554321\r\n");
    let moved = key_on(0, "bigz-moved");
    assert_eq!(cmd(&mut r, &format!("RENAME {key} {moved}")), "+OK\r\n");
    assert_eq!(cmd(&mut r, &format!("ZCARD {moved}")), format!(":{}\r\n", N - 100_000));
    assert_eq!(cmd(&mut r, &format!("DEL {moved}")), ":1\r\n");
    assert_eq!(cmd(&mut r, "DBSIZE"), ":0\r\n");
}
