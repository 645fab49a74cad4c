//! Keyspace commands (Redis's "generic" group) against a 4-shard server: exact replies,
//! reply types and error texts, and the cross-shard paths.

mod common;

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::{Raw, SHARDS, Server, bulk, cmd, cmdv, key_on, shard_of};

/// The elements of a flat RESP2 array of bulk strings.
fn bulk_items(reply: &str) -> Vec<String> {
    let mut lines = reply.split("\r\n");
    let header = lines.next().unwrap_or("");
    assert!(header.starts_with('*'), "not an array: {reply:?}");
    let mut out = Vec::new();
    while let Some(line) = lines.next() {
        if line.starts_with('$') {
            out.push(lines.next().unwrap_or("").to_string());
        }
    }
    out
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[test]
fn del_unlink_exists_touch_across_shards() {
    let server = Server::start_sharded();
    let mut r = server.raw();
    let keys: Vec<String> = (0..SHARDS).map(|s| key_on(s, "k")).collect();
    for k in &keys {
        assert_eq!(cmd(&mut r, &format!("SET {k} v")), "+OK\r\n");
    }
    let all = keys.join(" ");
    assert_eq!(cmd(&mut r, &format!("EXISTS {all}")), ":4\r\n");
    assert_eq!(cmd(&mut r, &format!("EXISTS {all} {all} nosuchkey")), ":8\r\n");
    assert_eq!(cmd(&mut r, &format!("EXISTS {} {}", keys[0], keys[0])), ":2\r\n");
    assert_eq!(cmd(&mut r, "EXISTS nosuchkey"), ":0\r\n");
    assert_eq!(cmd(&mut r, &format!("TOUCH {all} nosuchkey")), ":4\r\n");
    assert_eq!(cmd(&mut r, &format!("TOUCH {} {}", keys[1], keys[1])), ":2\r\n");
    assert_eq!(cmd(&mut r, "TOUCH nosuchkey"), ":0\r\n");
    // DEL across shards, a key named twice counts once.
    assert_eq!(cmd(&mut r, &format!("DEL {} {} {} nosuchkey", keys[0], keys[1], keys[0])), ":2\r\n");
    assert_eq!(cmd(&mut r, &format!("EXISTS {all}")), ":2\r\n");
    assert_eq!(cmd(&mut r, &format!("UNLINK {all}")), ":2\r\n");
    assert_eq!(cmd(&mut r, &format!("EXISTS {all}")), ":0\r\n");
    assert_eq!(cmd(&mut r, "DEL nosuchkey"), ":0\r\n");
    assert_eq!(cmd(&mut r, "UNLINK nosuchkey"), ":0\r\n");
    assert_eq!(cmd(&mut r, "DEL"), "-ERR wrong number of arguments for 'del' command\r\n");
    assert_eq!(cmd(&mut r, "EXISTS"), "-ERR wrong number of arguments for 'exists' command\r\n");
    // Hash-tagged keys share a shard.
    assert_eq!(shard_of("{t}a"), shard_of("{t}b"));
    assert_eq!(cmd(&mut r, "MSET {t}a 1 {t}b 2"), "+OK\r\n");
    assert_eq!(cmd(&mut r, "DEL {t}a {t}b {t}c"), ":2\r\n");
}

#[test]
fn type_replies_with_status() {
    let server = Server::start_sharded();
    let mut r = server.raw();
    cmd(&mut r, "SET s hello");
    cmd(&mut r, "SET n 12");
    assert_eq!(cmd(&mut r, "TYPE s"), "+string\r\n");
    assert_eq!(cmd(&mut r, "TYPE n"), "+string\r\n");
    assert_eq!(cmd(&mut r, "TYPE nosuchkey"), "+none\r\n");
    assert_eq!(cmd(&mut r, "TYPE"), "-ERR wrong number of arguments for 'type' command\r\n");
}

#[test]
fn rename_and_renamenx() {
    let server = Server::start_sharded();
    let mut r = server.raw();
    let a = key_on(0, "src");
    let b = key_on(3, "dst");
    let c = key_on(1, "other");
    assert_ne!(shard_of(&a), shard_of(&b));

    // Errors and the same-key case.
    assert_eq!(cmd(&mut r, &format!("RENAME {a} {b}")), "-ERR no such key\r\n");
    assert_eq!(cmd(&mut r, &format!("RENAMENX {a} {b}")), "-ERR no such key\r\n");
    assert_eq!(cmd(&mut r, &format!("RENAME {a} {a}")), "-ERR no such key\r\n");
    assert_eq!(cmd(&mut r, &format!("RENAMENX {a} {a}")), "-ERR no such key\r\n");
    cmd(&mut r, &format!("SET {a} v1"));
    assert_eq!(cmd(&mut r, &format!("RENAME {a} {a}")), "+OK\r\n");
    assert_eq!(cmd(&mut r, &format!("RENAMENX {a} {a}")), ":0\r\n");
    assert_eq!(cmd(&mut r, &format!("GET {a}")), bulk("v1"));
    assert_eq!(cmd(&mut r, "RENAME x"), "-ERR wrong number of arguments for 'rename' command\r\n");

    // Cross-shard rename keeps the TTL.
    assert_eq!(cmd(&mut r, &format!("PEXPIRE {a} 100000")), ":1\r\n");
    assert_eq!(cmd(&mut r, &format!("RENAME {a} {b}")), "+OK\r\n");
    assert_eq!(cmd(&mut r, &format!("EXISTS {a}")), ":0\r\n");
    assert_eq!(cmd(&mut r, &format!("GET {b}")), bulk("v1"));
    let pttl: i64 = cmd(&mut r, &format!("PTTL {b}")).trim()[1..].parse().unwrap();
    assert!((90_000..=100_000).contains(&pttl), "pttl {pttl}");

    // Rename over an existing key replaces it (and its TTL).
    cmd(&mut r, &format!("SET {c} v2"));
    assert_eq!(cmd(&mut r, &format!("RENAME {c} {b}")), "+OK\r\n");
    assert_eq!(cmd(&mut r, &format!("GET {b}")), bulk("v2"));
    assert_eq!(cmd(&mut r, &format!("TTL {b}")), ":-1\r\n");
    assert_eq!(cmd(&mut r, &format!("EXISTS {c}")), ":0\r\n");

    // RENAMENX: 0 when the destination exists, 1 otherwise.
    cmd(&mut r, &format!("SET {a} v3"));
    assert_eq!(cmd(&mut r, &format!("RENAMENX {a} {b}")), ":0\r\n");
    assert_eq!(cmd(&mut r, &format!("GET {a}")), bulk("v3"));
    assert_eq!(cmd(&mut r, &format!("GET {b}")), bulk("v2"));
    assert_eq!(cmd(&mut r, &format!("RENAMENX {a} {c}")), ":1\r\n");
    assert_eq!(cmd(&mut r, &format!("GET {c}")), bulk("v3"));
    assert_eq!(cmd(&mut r, &format!("EXISTS {a}")), ":0\r\n");

    // Same shard (hash tags).
    cmd(&mut r, "SET {t}x 1");
    assert_eq!(cmd(&mut r, "PEXPIRE {t}x 50000"), ":1\r\n");
    assert_eq!(cmd(&mut r, "RENAME {t}x {t}y"), "+OK\r\n");
    assert_eq!(cmd(&mut r, "GET {t}y"), bulk("1"));
    assert_ne!(cmd(&mut r, "PTTL {t}y"), ":-1\r\n");
    assert_eq!(cmd(&mut r, "RENAMENX {t}y {t}x"), ":1\r\n");
    assert_eq!(cmd(&mut r, "OBJECT ENCODING {t}x"), bulk("int"));
}

#[test]
fn rename_across_shards_is_atomic_for_readers() {
    // A value ping-pongs between two keys on different shards; a reader doing
    // cross-shard EXISTS must always see exactly one of them.
    let server = Server::start_sharded();
    let a = key_on(0, "pp");
    let b = key_on(2, "pp");
    let mut w = server.raw();
    cmd(&mut w, &format!("SET {a} v"));
    let stop = Arc::new(AtomicBool::new(false));
    let reader = {
        let stop = stop.clone();
        let mut r = server.raw();
        let line = format!("EXISTS {a} {b}");
        std::thread::spawn(move || {
            let mut checks = 0;
            while !stop.load(Ordering::SeqCst) {
                assert_eq!(cmd(&mut r, &line), ":1\r\n");
                checks += 1;
            }
            checks
        })
    };
    for i in 0..500 {
        let (from, to) = if i % 2 == 0 { (&a, &b) } else { (&b, &a) };
        assert_eq!(cmd(&mut w, &format!("RENAME {from} {to}")), "+OK\r\n");
    }
    stop.store(true, Ordering::SeqCst);
    assert!(reader.join().unwrap() > 0);
}

#[test]
fn copy_with_db_and_replace() {
    let server = Server::start_sharded();
    let mut r = server.raw();
    let a = key_on(1, "copysrc");
    let b = key_on(2, "copydst");

    assert_eq!(cmd(&mut r, &format!("COPY {a} {b}")), ":0\r\n");
    assert_eq!(cmd(&mut r, &format!("COPY {a} {a}")), "-ERR source and destination objects are the same\r\n");
    assert_eq!(cmd(&mut r, &format!("COPY {a} {a} DB 0")), "-ERR source and destination objects are the same\r\n");
    assert_eq!(cmd(&mut r, &format!("COPY {a} {b} DB 16")), "-ERR DB index is out of range\r\n");
    assert_eq!(cmd(&mut r, &format!("COPY {a} {b} DB -1")), "-ERR DB index is out of range\r\n");
    assert_eq!(cmd(&mut r, &format!("COPY {a} {b} DB x")), "-ERR value is not an integer or out of range\r\n");
    assert_eq!(
        cmd(&mut r, &format!("COPY {a} {b} DB 99999999999")),
        "-ERR value is out of range, value must between -2147483648 and 2147483647\r\n"
    );
    assert_eq!(
        cmd(&mut r, &format!("COPY {a} {b} DB 2147483648")),
        "-ERR value is out of range, value must between -2147483648 and 2147483647\r\n"
    );
    assert_eq!(
        cmd(&mut r, &format!("COPY {a} {b} DB 99999999999999999999")),
        "-ERR value is not an integer or out of range\r\n"
    );
    assert_eq!(cmd(&mut r, &format!("COPY {a} {b} DB")), "-ERR syntax error\r\n");
    assert_eq!(cmd(&mut r, &format!("COPY {a} {b} FOO")), "-ERR syntax error\r\n");
    assert_eq!(cmd(&mut r, "COPY x"), "-ERR wrong number of arguments for 'copy' command\r\n");

    // Cross-shard copy keeps the value, its encoding and its TTL; the source stays.
    let long = "x".repeat(60);
    cmd(&mut r, &format!("SET {a} {long}"));
    cmd(&mut r, &format!("PEXPIRE {a} 100000"));
    assert_eq!(cmd(&mut r, &format!("COPY {a} {b}")), ":1\r\n");
    assert_eq!(cmd(&mut r, &format!("GET {b}")), bulk(&long));
    assert_eq!(cmd(&mut r, &format!("GET {a}")), bulk(&long));
    assert_eq!(cmd(&mut r, &format!("OBJECT ENCODING {b}")), bulk("raw"));
    let pttl: i64 = cmd(&mut r, &format!("PTTL {b}")).trim()[1..].parse().unwrap();
    assert!((90_000..=100_000).contains(&pttl), "pttl {pttl}");

    // Existing destination: 0 without REPLACE, replaced with it.
    cmd(&mut r, &format!("SET {a} 42"));
    assert_eq!(cmd(&mut r, &format!("COPY {a} {b}")), ":0\r\n");
    assert_eq!(cmd(&mut r, &format!("GET {b}")), bulk(&long));
    assert_eq!(cmd(&mut r, &format!("COPY {a} {b} replace")), ":1\r\n");
    assert_eq!(cmd(&mut r, &format!("GET {b}")), bulk("42"));
    assert_eq!(cmd(&mut r, &format!("TTL {b}")), ":-1\r\n");
    assert_eq!(cmd(&mut r, &format!("OBJECT ENCODING {b}")), bulk("int"));

    // To another database: same name allowed; cross-shard too.
    assert_eq!(cmd(&mut r, &format!("COPY {a} {a} DB 3")), ":1\r\n");
    assert_eq!(cmd(&mut r, &format!("COPY {a} {b} db 3 REPLACE")), ":1\r\n");
    assert_eq!(cmd(&mut r, &format!("COPY {a} {b} DB 3")), ":0\r\n");
    assert_eq!(cmd(&mut r, "SELECT 3"), "+OK\r\n");
    assert_eq!(cmd(&mut r, &format!("GET {a}")), bulk("42"));
    assert_eq!(cmd(&mut r, &format!("GET {b}")), bulk("42"));
    assert_eq!(cmd(&mut r, "DBSIZE"), ":2\r\n");
    // And back from database 3 to database 0 over an existing key.
    cmd(&mut r, &format!("SET {b} from3"));
    assert_eq!(cmd(&mut r, &format!("COPY {b} {a} DB 0 REPLACE")), ":1\r\n");
    assert_eq!(cmd(&mut r, "SELECT 0"), "+OK\r\n");
    assert_eq!(cmd(&mut r, &format!("GET {a}")), bulk("from3"));
    assert_eq!(cmd(&mut r, "DBSIZE"), ":2\r\n");
}

#[test]
fn select_and_move() {
    let server = Server::start_sharded();
    let mut r = server.raw();
    assert_eq!(cmd(&mut r, "MOVE k 1"), ":0\r\n");
    cmd(&mut r, "SET k v");
    cmd(&mut r, "PEXPIRE k 100000");
    assert_eq!(cmd(&mut r, "MOVE k 0"), "-ERR source and destination objects are the same\r\n");
    assert_eq!(cmd(&mut r, "MOVE k 16"), "-ERR DB index is out of range\r\n");
    assert_eq!(cmd(&mut r, "MOVE k -1"), "-ERR DB index is out of range\r\n");
    assert_eq!(cmd(&mut r, "MOVE k abc"), "-ERR value is not an integer or out of range\r\n");
    assert_eq!(
        cmd(&mut r, "MOVE k -2147483649"),
        "-ERR value is out of range, value must between -2147483648 and 2147483647\r\n"
    );
    assert_eq!(cmd(&mut r, "MOVE k"), "-ERR wrong number of arguments for 'move' command\r\n");
    assert_eq!(cmd(&mut r, "MOVE k 5"), ":1\r\n");
    assert_eq!(cmd(&mut r, "EXISTS k"), ":0\r\n");
    assert_eq!(cmd(&mut r, "SELECT 5"), "+OK\r\n");
    assert_eq!(cmd(&mut r, "GET k"), bulk("v"));
    let pttl: i64 = cmd(&mut r, "PTTL k").trim()[1..].parse().unwrap();
    assert!((90_000..=100_000).contains(&pttl), "pttl {pttl}");
    // The target already has the key: 0, nothing moves.
    cmd(&mut r, "SELECT 0");
    cmd(&mut r, "SET k other");
    assert_eq!(cmd(&mut r, "MOVE k 5"), ":0\r\n");
    assert_eq!(cmd(&mut r, "GET k"), bulk("other"));
    cmd(&mut r, "SELECT 5");
    assert_eq!(cmd(&mut r, "GET k"), bulk("v"));
    assert_eq!(cmd(&mut r, "MOVE k 0"), ":0\r\n");
    assert_eq!(cmd(&mut r, "MOVE k 5"), "-ERR source and destination objects are the same\r\n");
    // Another connection still sits in database 0.
    let mut other = server.raw();
    assert_eq!(cmd(&mut other, "GET k"), bulk("other"));
    // Keys on every shard move.
    for s in 0..SHARDS {
        let k = key_on(s, "mv");
        cmd(&mut other, &format!("SET {k} {s}"));
        assert_eq!(cmd(&mut other, &format!("MOVE {k} 7")), ":1\r\n");
    }
    assert_eq!(cmd(&mut other, "SELECT 7"), "+OK\r\n");
    assert_eq!(cmd(&mut other, "DBSIZE"), ":4\r\n");
}

#[test]
fn keys_over_all_shards() {
    let server = Server::start_sharded();
    let mut r = server.raw();
    assert_eq!(cmd(&mut r, "KEYS *"), "*0\r\n");
    let names: Vec<String> = ('a'..='z').map(|c| format!("key:{c}")).collect();
    let shards: HashSet<usize> = names.iter().map(|k| shard_of(k)).collect();
    assert_eq!(shards.len(), SHARDS, "test keys span every shard");
    for k in &names {
        cmd(&mut r, &format!("SET {k} 1"));
    }
    cmd(&mut r, "SET other 1");
    assert_eq!(sorted(bulk_items(&cmd(&mut r, "KEYS key:*"))), names);
    assert_eq!(bulk_items(&cmd(&mut r, "KEYS *")).len(), 27);
    assert_eq!(sorted(bulk_items(&cmd(&mut r, "KEYS key:[a-c]"))), vec!["key:a", "key:b", "key:c"]);
    assert_eq!(bulk_items(&cmd(&mut r, "KEYS key:?")).len(), 26);
    assert_eq!(bulk_items(&cmd(&mut r, "KEYS ot*er")), vec!["other"]);
    assert_eq!(cmd(&mut r, "KEYS nomatch*"), "*0\r\n");
    // Matching is case-sensitive.
    assert_eq!(cmd(&mut r, "KEYS KEY:*"), "*0\r\n");
    // Expired keys are not listed.
    cmd(&mut r, "PEXPIRE key:a 1");
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(bulk_items(&cmd(&mut r, "KEYS key:*")).len(), 25);
    // Only the selected database.
    cmd(&mut r, "SELECT 1");
    assert_eq!(cmd(&mut r, "KEYS *"), "*0\r\n");
    assert_eq!(cmd(&mut r, "KEYS"), "-ERR wrong number of arguments for 'keys' command\r\n");
}

/// Runs a full SCAN with `extra` options and returns every key it produced (with repeats).
fn full_scan(conn: &mut redis::Connection, extra: &[&str]) -> Vec<String> {
    let mut cursor = "0".to_string();
    let mut out = Vec::new();
    let mut calls = 0;
    loop {
        let mut c = redis::cmd("SCAN");
        c.arg(&cursor);
        for e in extra {
            c.arg(*e);
        }
        let (next, keys): (String, Vec<String>) = c.query(conn).unwrap();
        out.extend(keys);
        calls += 1;
        assert!(calls < 1_000_000, "scan does not end");
        if next == "0" {
            return out;
        }
        cursor = next;
    }
}

#[test]
fn scan_options_and_errors() {
    let server = Server::start_sharded();
    let mut r = server.raw();
    assert_eq!(cmd(&mut r, "SCAN 0"), "*2\r\n$1\r\n0\r\n*0\r\n");
    for (line, err) in [
        ("SCAN abc", "-ERR invalid cursor\r\n"),
        ("SCAN 0x1", "-ERR invalid cursor\r\n"),
        ("SCAN 18446744073709551616", "-ERR invalid cursor\r\n"),
        ("SCAN 0 COUNT 0", "-ERR syntax error\r\n"),
        ("SCAN 0 COUNT -1", "-ERR syntax error\r\n"),
        ("SCAN 0 COUNT abc", "-ERR value is not an integer or out of range\r\n"),
        ("SCAN 0 MATCH", "-ERR syntax error\r\n"),
        ("SCAN 0 FOO bar", "-ERR syntax error\r\n"),
        ("SCAN 0 TYPE", "-ERR syntax error\r\n"),
        ("SCAN", "-ERR wrong number of arguments for 'scan' command\r\n"),
    ] {
        assert_eq!(cmd(&mut r, line), err, "{line}");
    }
    assert_eq!(cmdv(&mut r, &["SCAN", " 1"]), "-ERR invalid cursor\r\n");
    // Cursors C's strtoul accepts.
    assert_eq!(cmdv(&mut r, &["SCAN", ""]), "*2\r\n$1\r\n0\r\n*0\r\n");
    assert_eq!(cmd(&mut r, "SCAN 000"), "*2\r\n$1\r\n0\r\n*0\r\n");
    assert_eq!(cmd(&mut r, "SCAN +0"), "*2\r\n$1\r\n0\r\n*0\r\n");

    let mut conn = server.client();
    for i in 0..300 {
        cmd(&mut r, &format!("SET user:{i} x"));
        cmd(&mut r, &format!("SET item:{i} y"));
    }
    // A small keyspace comes back whole in one call with a large COUNT.
    let reply = cmd(&mut r, "SCAN 0 COUNT 100000");
    assert!(reply.starts_with("*2\r\n$1\r\n0\r\n*600\r\n"), "{}", &reply[..40]);

    let all = full_scan(&mut conn, &[]);
    assert_eq!(all.iter().collect::<HashSet<_>>().len(), 600);
    let users = full_scan(&mut conn, &["MATCH", "user:*", "COUNT", "7"]);
    let users: HashSet<String> = users.into_iter().collect();
    assert_eq!(users.len(), 300);
    assert!(users.iter().all(|k| k.starts_with("user:")));
    let few = full_scan(&mut conn, &["match", "item:1?", "count", "1000"]);
    assert_eq!(sorted(few), (10..20).map(|i| format!("item:{i}")).collect::<Vec<_>>());
    assert_eq!(full_scan(&mut conn, &["TYPE", "string"]).iter().collect::<HashSet<_>>().len(), 600);
    assert_eq!(full_scan(&mut conn, &["TYPE", "STRING", "COUNT", "3"]).iter().collect::<HashSet<_>>().len(), 600);
    assert!(full_scan(&mut conn, &["TYPE", "list"]).is_empty());
    assert!(full_scan(&mut conn, &["TYPE", "nosuchtype"]).is_empty());
    assert!(full_scan(&mut conn, &["MATCH", "user:*", "TYPE", "hash"]).is_empty());

    // COUNT bounds the work per call: small counts take many calls, each returning a cursor.
    let (next, keys): (String, Vec<String>) = redis::cmd("SCAN").arg(0).arg("COUNT").arg(5).query(&mut conn).unwrap();
    assert_ne!(next, "0");
    assert!(keys.len() <= 5);
    // A cursor past the last shard ends the scan.
    let (next, _): (String, Vec<String>) = redis::cmd("SCAN").arg(4095).query(&mut conn).unwrap();
    assert_eq!(next, "0");
    // Expired keys are not returned.
    cmd(&mut r, "PEXPIRE user:1 1");
    std::thread::sleep(Duration::from_millis(20));
    assert!(!full_scan(&mut conn, &["MATCH", "user:1"]).contains(&"user:1".to_string()));
    // Only the selected database.
    redis::cmd("SELECT").arg(2).query::<()>(&mut conn).unwrap();
    assert!(full_scan(&mut conn, &[]).is_empty());
}

#[test]
fn scan_returns_every_stable_key_despite_concurrent_changes() {
    let server = Server::start_sharded();
    let mut conn = server.client();
    let mut pipe = redis::pipe();
    for i in 0..3000 {
        pipe.cmd("SET").arg(format!("stable:{i}")).arg(i).ignore();
    }
    pipe.query::<()>(&mut conn).unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let churn = {
        let stop = stop.clone();
        let mut c = server.client();
        std::thread::spawn(move || {
            let mut n: u64 = 0;
            while !stop.load(Ordering::SeqCst) {
                let mut pipe = redis::pipe();
                for j in 0..20 {
                    pipe.cmd("SET").arg(format!("tmp:{}", n + j)).arg(1).ignore();
                }
                if n >= 100 {
                    for j in 0..20 {
                        pipe.cmd("DEL").arg(format!("tmp:{}", n - 100 + j)).ignore();
                    }
                }
                pipe.query::<()>(&mut c).unwrap();
                n += 20;
            }
            n
        })
    };
    let mut seen = HashSet::new();
    let mut cursor = "0".to_string();
    let mut calls = 0;
    loop {
        let (next, keys): (String, Vec<String>) =
            redis::cmd("SCAN").arg(&cursor).arg("COUNT").arg(17).query(&mut conn).unwrap();
        seen.extend(keys);
        calls += 1;
        if next == "0" {
            break;
        }
        cursor = next;
    }
    stop.store(true, Ordering::SeqCst);
    let churned = churn.join().unwrap();
    assert!(churned > 0 && calls > 10);
    for i in 0..3000 {
        assert!(seen.contains(&format!("stable:{i}")), "scan missed stable:{i}");
    }
    // MATCH during a full scan: same guarantee.
    let stable = full_scan(&mut conn, &["MATCH", "stable:*", "COUNT", "50"]);
    assert_eq!(stable.into_iter().collect::<HashSet<_>>().len(), 3000);
}

#[test]
fn randomkey_dbsize_flushdb_flushall() {
    let server = Server::start_sharded();
    let mut r = server.raw();
    assert_eq!(cmd(&mut r, "RANDOMKEY"), "$-1\r\n");
    assert_eq!(cmd(&mut r, "DBSIZE"), ":0\r\n");
    let names: Vec<String> = ('a'..='z').map(String::from).collect();
    for k in &names {
        cmd(&mut r, &format!("SET {k} 1"));
    }
    assert_eq!(cmd(&mut r, "DBSIZE"), ":26\r\n");
    let mut picked = HashSet::new();
    for _ in 0..300 {
        let reply = cmd(&mut r, "RANDOMKEY");
        let key = reply.split("\r\n").nth(1).unwrap().to_string();
        assert!(names.contains(&key), "{reply:?}");
        picked.insert(key);
    }
    let shards: HashSet<usize> = picked.iter().map(|k| shard_of(k)).collect();
    assert_eq!(shards.len(), SHARDS, "RANDOMKEY picks from every shard");
    assert!(picked.len() > 15);
    assert_eq!(cmd(&mut r, "RANDOMKEY x"), "-ERR wrong number of arguments for 'randomkey' command\r\n");
    assert_eq!(cmd(&mut r, "DBSIZE x"), "-ERR wrong number of arguments for 'dbsize' command\r\n");

    // Database 1 holds keys too; FLUSHDB empties only the selected one.
    cmd(&mut r, "SELECT 1");
    for k in &names[..5] {
        cmd(&mut r, &format!("SET {k} 1"));
    }
    assert_eq!(cmd(&mut r, "DBSIZE"), ":5\r\n");
    cmd(&mut r, "SELECT 0");
    assert_eq!(cmd(&mut r, "FLUSHDB FOO"), "-ERR syntax error\r\n");
    assert_eq!(cmd(&mut r, "FLUSHDB SYNC ASYNC"), "-ERR syntax error\r\n");
    assert_eq!(cmd(&mut r, "FLUSHDB"), "+OK\r\n");
    assert_eq!(cmd(&mut r, "DBSIZE"), ":0\r\n");
    assert_eq!(cmd(&mut r, "RANDOMKEY"), "$-1\r\n");
    cmd(&mut r, "SELECT 1");
    assert_eq!(cmd(&mut r, "DBSIZE"), ":5\r\n");
    assert_eq!(cmd(&mut r, "FLUSHDB async"), "+OK\r\n");
    assert_eq!(cmd(&mut r, "DBSIZE"), ":0\r\n");
    cmd(&mut r, "SET x 1");
    assert_eq!(cmd(&mut r, "FLUSHDB sync"), "+OK\r\n");
    assert_eq!(cmd(&mut r, "DBSIZE"), ":0\r\n");

    // FLUSHALL empties every database on every shard.
    for db in [0, 1, 9] {
        cmd(&mut r, &format!("SELECT {db}"));
        for k in &names {
            cmd(&mut r, &format!("SET {k} 1"));
        }
    }
    assert_eq!(cmd(&mut r, "FLUSHALL FOO"), "-ERR syntax error\r\n");
    assert_eq!(cmd(&mut r, "FLUSHALL SYNC ASYNC"), "-ERR syntax error\r\n");
    assert_eq!(cmd(&mut r, "DBSIZE"), ":26\r\n");
    assert_eq!(cmd(&mut r, "FLUSHALL"), "+OK\r\n");
    for db in [0, 1, 9] {
        cmd(&mut r, &format!("SELECT {db}"));
        assert_eq!(cmd(&mut r, "DBSIZE"), ":0\r\n");
        assert_eq!(cmd(&mut r, "KEYS *"), "*0\r\n");
    }
    cmd(&mut r, "SET a 1");
    assert_eq!(cmd(&mut r, "FLUSHALL ASYNC"), "+OK\r\n");
    assert_eq!(cmd(&mut r, "DBSIZE"), ":0\r\n");
    cmd(&mut r, "SET a 1");
    assert_eq!(cmd(&mut r, "flushall sync"), "+OK\r\n");
    assert_eq!(cmd(&mut r, "DBSIZE"), ":0\r\n");
}

#[test]
fn flushall_is_atomic_across_shards() {
    // A reader checking keys on two shards never sees one flushed and the other not.
    let server = Server::start_sharded();
    let a = key_on(0, "fa");
    let b = key_on(3, "fb");
    let mut w = server.raw();
    let stop = Arc::new(AtomicBool::new(false));
    let reader = {
        let stop = stop.clone();
        let mut r = server.raw();
        let line = format!("EXISTS {a} {b}");
        std::thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                let reply = cmd(&mut r, &line);
                assert!(reply == ":0\r\n" || reply == ":2\r\n", "saw half a FLUSHALL: {reply:?}");
            }
        })
    };
    for _ in 0..300 {
        assert_eq!(cmd(&mut w, &format!("MSET {a} 1 {b} 2")), "+OK\r\n");
        assert_eq!(cmd(&mut w, "FLUSHALL"), "+OK\r\n");
    }
    stop.store(true, Ordering::SeqCst);
    reader.join().unwrap();
}

#[test]
fn swapdb_swaps_every_shard() {
    let server = Server::start_sharded();
    let mut r = server.raw();
    let names: Vec<String> = ('a'..='z').map(|c| format!("{c}0")).collect();
    for k in &names {
        cmd(&mut r, &format!("SET {k} zero"));
    }
    cmd(&mut r, "SELECT 1");
    cmd(&mut r, "SET only1 one");
    cmd(&mut r, "PEXPIRE only1 100000");
    cmd(&mut r, "SELECT 0");
    assert_eq!(cmd(&mut r, "SWAPDB 0 1"), "+OK\r\n");
    assert_eq!(cmd(&mut r, "DBSIZE"), ":1\r\n");
    assert_eq!(cmd(&mut r, "GET only1"), bulk("one"));
    assert_ne!(cmd(&mut r, "PTTL only1"), ":-1\r\n");
    cmd(&mut r, "SELECT 1");
    assert_eq!(cmd(&mut r, "DBSIZE"), ":26\r\n");
    assert_eq!(sorted(bulk_items(&cmd(&mut r, "KEYS *"))), names);
    // A client in another database sees the swap too.
    let mut other = server.raw();
    cmd(&mut other, "SELECT 1");
    assert_eq!(cmd(&mut other, "SWAPDB 1 0"), "+OK\r\n");
    assert_eq!(cmd(&mut other, "DBSIZE"), ":1\r\n");
    assert_eq!(cmd(&mut r, "DBSIZE"), ":1\r\n");
    assert_eq!(cmd(&mut r, "SWAPDB 1 1"), "+OK\r\n");
    assert_eq!(cmd(&mut r, "DBSIZE"), ":1\r\n");
    for (line, err) in [
        ("SWAPDB a 1", "-ERR invalid first DB index\r\n"),
        ("SWAPDB 1 a", "-ERR invalid second DB index\r\n"),
        ("SWAPDB a b", "-ERR invalid first DB index\r\n"),
        ("SWAPDB 99999999999 1", "-ERR invalid first DB index\r\n"),
        ("SWAPDB 1 16", "-ERR DB index is out of range\r\n"),
        ("SWAPDB -1 0", "-ERR DB index is out of range\r\n"),
        ("SWAPDB 0", "-ERR wrong number of arguments for 'swapdb' command\r\n"),
    ] {
        assert_eq!(cmd(&mut r, line), err, "{line}");
    }
}

#[test]
fn object_subcommands() {
    let server = Server::start_sharded();
    let mut r = server.raw();
    cmd(&mut r, "SET int 12345");
    cmd(&mut r, "SET small 7");
    cmd(&mut r, "SET big 10000");
    cmd(&mut r, "SET neg -1");
    cmd(&mut r, "SET emb hello");
    let long = "y".repeat(45);
    cmd(&mut r, &format!("SET raw {long}"));
    assert_eq!(cmd(&mut r, "OBJECT ENCODING int"), bulk("int"));
    assert_eq!(cmd(&mut r, "OBJECT ENCODING emb"), bulk("embstr"));
    assert_eq!(cmd(&mut r, "OBJECT ENCODING raw"), bulk("raw"));
    assert_eq!(cmd(&mut r, "object encoding nosuchkey"), "$-1\r\n");
    assert_eq!(cmd(&mut r, "OBJECT REFCOUNT small"), ":2147483647\r\n");
    assert_eq!(cmd(&mut r, "OBJECT REFCOUNT big"), ":1\r\n");
    assert_eq!(cmd(&mut r, "OBJECT REFCOUNT neg"), ":1\r\n");
    assert_eq!(cmd(&mut r, "OBJECT REFCOUNT emb"), ":1\r\n");
    assert_eq!(cmd(&mut r, "OBJECT REFCOUNT nosuchkey"), "$-1\r\n");
    // Idle time counts whole seconds of a clock, so a fresh key may read 1 across a tick.
    assert!(idle_of(&mut r, "emb") <= 1);
    assert_eq!(cmd(&mut r, "OBJECT IDLETIME nosuchkey"), "$-1\r\n");
    assert_eq!(
        cmd(&mut r, "OBJECT FREQ emb"),
        "-ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.\r\n"
    );
    assert_eq!(cmd(&mut r, "OBJECT FREQ nosuchkey"), "$-1\r\n");
    assert_eq!(cmd(&mut r, "OBJECT FOO emb"), "-ERR unknown subcommand 'FOO'. Try OBJECT HELP.\r\n");
    assert_eq!(cmd(&mut r, "OBJECT ENCODING"), "-ERR wrong number of arguments for 'object|encoding' command\r\n");
    assert_eq!(cmd(&mut r, "OBJECT ENCODING a b"), "-ERR wrong number of arguments for 'object|encoding' command\r\n");
    assert_eq!(cmd(&mut r, "OBJECT"), "-ERR wrong number of arguments for 'object' command\r\n");

    let help = cmd(&mut r, "OBJECT HELP");
    let lines: Vec<&str> = help.split("\r\n").collect();
    assert_eq!(lines[0], "*15");
    assert_eq!(lines[1], "+OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:");
    assert_eq!(lines[2], "+ENCODING <key>");
    assert_eq!(lines[14], "+HELP");
    assert_eq!(lines[15], "+    Prints this help.");
    assert!(lines[1..16].iter().all(|l| l.starts_with('+')));
    assert_eq!(cmd(&mut r, "OBJECT HELP x"), "-ERR wrong number of arguments for 'object|help' command\r\n");

    // OBJECT, TYPE, TTL and EXISTS leave the access time alone; GET updates it.
    std::thread::sleep(Duration::from_millis(2100));
    for line in ["OBJECT ENCODING emb", "OBJECT REFCOUNT emb", "TYPE emb", "TTL emb", "EXISTS emb", "OBJECT FREQ emb"] {
        cmd(&mut r, line);
    }
    let idle = idle_of(&mut r, "emb");
    assert!(idle >= 2, "idle {idle}");
    cmd(&mut r, "GET emb");
    assert!(idle_of(&mut r, "emb") <= 1, "GET resets the idle time");
    // Under CLIENT NO-TOUCH reads leave it alone, but TOUCH still updates it.
    let mut quiet = server.raw();
    assert_eq!(cmd(&mut quiet, "CLIENT NO-TOUCH ON"), "+OK\r\n");
    assert_eq!(cmd(&mut quiet, "GET raw"), bulk(&long));
    let idle = idle_of(&mut r, "raw");
    assert!(idle >= 2, "idle {idle}");
    assert_eq!(cmd(&mut quiet, "TOUCH raw nosuchkey"), ":1\r\n");
    assert!(idle_of(&mut r, "raw") <= 1, "TOUCH resets the idle time");
}

/// OBJECT IDLETIME of `key`, in seconds.
fn idle_of(r: &mut Raw, key: &str) -> i64 {
    let reply = cmd(r, &format!("OBJECT IDLETIME {key}"));
    reply.trim().trim_start_matches(':').parse().unwrap_or_else(|_| panic!("idle time reply {reply:?}"))
}

#[test]
fn resp3_reply_types() {
    let server = Server::start_sharded();
    let mut r = server.raw();
    let hello = r.cmd(&[b"HELLO", b"3"]);
    assert!(hello.starts_with(b"%"), "{:?}", String::from_utf8_lossy(&hello));
    assert_eq!(cmd(&mut r, "RANDOMKEY"), "_\r\n");
    assert_eq!(cmd(&mut r, "OBJECT ENCODING nosuchkey"), "_\r\n");
    assert_eq!(cmd(&mut r, "OBJECT FREQ nosuchkey"), "_\r\n");
    assert_eq!(cmd(&mut r, "SCAN 0"), "*2\r\n$1\r\n0\r\n*0\r\n");
    assert_eq!(cmd(&mut r, "KEYS *"), "*0\r\n");
    cmd(&mut r, "SET k 1");
    assert_eq!(cmd(&mut r, "TYPE k"), "+string\r\n");
    assert_eq!(cmd(&mut r, "RANDOMKEY"), bulk("k"));
    assert_eq!(cmd(&mut r, "SCAN 0"), "*2\r\n$1\r\n0\r\n*1\r\n$1\r\nk\r\n");
    assert_eq!(cmd(&mut r, "OBJECT REFCOUNT k"), ":2147483647\r\n");
    assert_eq!(cmd(&mut r, "TTL k"), ":-1\r\n");
    assert_eq!(cmd(&mut r, "DBSIZE"), ":1\r\n");
    assert!(cmd(&mut r, "OBJECT HELP").starts_with("*15\r\n+OBJECT"));
}

#[test]
fn object_under_lfu() {
    let server = Server::start(&["--threads", "4", "--maxmemory-policy", "allkeys-lfu"]);
    let mut r = server.raw();
    cmd(&mut r, "SET k v");
    cmd(&mut r, "SET small 7");
    let freq: i64 = cmd(&mut r, "OBJECT FREQ k").trim()[1..].parse().unwrap();
    assert_eq!(freq, 5, "a new key starts at LFU_INIT_VAL");
    for _ in 0..50 {
        cmd(&mut r, "GET k");
    }
    let after: i64 = cmd(&mut r, "OBJECT FREQ k").trim()[1..].parse().unwrap();
    assert!(after > freq, "freq {after}");
    // OBJECT FREQ itself does not count as an access.
    for _ in 0..50 {
        cmd(&mut r, "OBJECT FREQ small");
    }
    assert_eq!(cmd(&mut r, "OBJECT FREQ small"), ":5\r\n");
    assert_eq!(
        cmd(&mut r, "OBJECT IDLETIME k"),
        "-ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.\r\n"
    );
    // Without maxmemory, small integers are shared whatever the policy.
    assert_eq!(cmd(&mut r, "OBJECT REFCOUNT small"), ":2147483647\r\n");
}
