//! Expiry: the EXPIRE/TTL families with their options and errors, lazy expiry on access,
//! and active expiry reclaiming keys nobody reads.

mod common;

use std::time::{Duration, Instant};

use common::{Raw, Server, cmd, now_ms, shard_of};

/// An integer reply's value.
fn int(r: &mut Raw, line: &str) -> i64 {
    let reply = cmd(r, line);
    assert!(reply.starts_with(':'), "{line}: {reply:?}");
    reply.trim()[1..].parse().unwrap()
}

/// A field of `INFO <section>`, if the server has INFO and reports it.
fn info_field(conn: &mut redis::Connection, section: &str, field: &str) -> Option<u64> {
    let text: String = redis::cmd("INFO").arg(section).query(conn).ok()?;
    text.lines().find_map(|line| line.strip_prefix(&format!("{field}:")).and_then(|v| v.trim().parse().ok()))
}

#[test]
fn ttl_pttl_expiretime_and_persist() {
    let server = Server::start_sharded();
    let mut r = server.raw();
    for c in ["TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME"] {
        assert_eq!(cmd(&mut r, &format!("{c} nosuchkey")), ":-2\r\n", "{c}");
    }
    cmd(&mut r, "SET k v");
    for c in ["TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME"] {
        assert_eq!(cmd(&mut r, &format!("{c} k")), ":-1\r\n", "{c}");
    }
    assert_eq!(cmd(&mut r, "PERSIST k"), ":0\r\n");
    assert_eq!(cmd(&mut r, "PERSIST nosuchkey"), ":0\r\n");

    let before = now_ms();
    assert_eq!(cmd(&mut r, "PEXPIRE k 100300"), ":1\r\n");
    let after = now_ms();
    let pttl = int(&mut r, "PTTL k");
    assert!((99_000..=100_300).contains(&pttl), "pttl {pttl}");
    // TTL rounds to the nearest second.
    assert_eq!(cmd(&mut r, "TTL k"), ":100\r\n");
    let at = int(&mut r, "PEXPIRETIME k");
    assert!((before + 100_300..=after + 100_300).contains(&at), "pexpiretime {at}");
    assert_eq!(int(&mut r, "EXPIRETIME k"), (at + 500) / 1000);

    assert_eq!(cmd(&mut r, "PERSIST k"), ":1\r\n");
    assert_eq!(cmd(&mut r, "TTL k"), ":-1\r\n");
    assert_eq!(cmd(&mut r, "PERSIST k"), ":0\r\n");
    assert_eq!(cmd(&mut r, "GET k"), "$1\r\nv\r\n");

    // Absolute times.
    let at = now_ms() / 1000 + 1000;
    assert_eq!(cmd(&mut r, &format!("EXPIREAT k {at}")), ":1\r\n");
    assert_eq!(int(&mut r, "EXPIRETIME k"), at);
    assert_eq!(int(&mut r, "PEXPIRETIME k"), at * 1000);
    let ttl = int(&mut r, "TTL k");
    assert!((998..=1000).contains(&ttl), "ttl {ttl}");
    let at_ms = now_ms() + 50_000;
    assert_eq!(cmd(&mut r, &format!("PEXPIREAT k {at_ms}")), ":1\r\n");
    assert_eq!(int(&mut r, "PEXPIRETIME k"), at_ms);
    assert_eq!(cmd(&mut r, "EXPIRE k 30"), ":1\r\n");
    let ttl = int(&mut r, "TTL k");
    assert!((29..=30).contains(&ttl), "ttl {ttl}");

    // Setting a value drops the TTL.
    cmd(&mut r, "SET k v2");
    assert_eq!(cmd(&mut r, "TTL k"), ":-1\r\n");

    for c in ["TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME", "PERSIST"] {
        assert_eq!(cmd(&mut r, c), format!("-ERR wrong number of arguments for '{}' command\r\n", c.to_lowercase()));
    }
}

#[test]
fn expire_options_and_errors() {
    let server = Server::start_sharded();
    let mut r = server.raw();
    assert_eq!(cmd(&mut r, "EXPIRE nosuchkey 100"), ":0\r\n");
    assert_eq!(cmd(&mut r, "EXPIRE nosuchkey 100 NX"), ":0\r\n");
    cmd(&mut r, "SET k v");
    // NX: only without a TTL.
    assert_eq!(cmd(&mut r, "EXPIRE k 100 NX"), ":1\r\n");
    assert_eq!(cmd(&mut r, "EXPIRE k 200 nx"), ":0\r\n");
    assert_eq!(cmd(&mut r, "TTL k"), ":100\r\n");
    // XX: only with a TTL.
    assert_eq!(cmd(&mut r, "EXPIRE k 150 XX"), ":1\r\n");
    assert_eq!(cmd(&mut r, "TTL k"), ":150\r\n");
    cmd(&mut r, "SET plain v");
    assert_eq!(cmd(&mut r, "EXPIRE plain 100 XX"), ":0\r\n");
    assert_eq!(cmd(&mut r, "TTL plain"), ":-1\r\n");
    // GT: only a later expiry; no TTL counts as infinite, so GT never applies to it.
    assert_eq!(cmd(&mut r, "EXPIRE k 100 GT"), ":0\r\n");
    assert_eq!(cmd(&mut r, "EXPIRE k 149 GT"), ":0\r\n");
    assert_eq!(cmd(&mut r, "EXPIRE k 300 GT"), ":1\r\n");
    assert_eq!(cmd(&mut r, "TTL k"), ":300\r\n");
    assert_eq!(cmd(&mut r, "EXPIRE plain 100 GT"), ":0\r\n");
    assert_eq!(cmd(&mut r, "TTL plain"), ":-1\r\n");
    // LT: only an earlier expiry; applies to a key without TTL.
    assert_eq!(cmd(&mut r, "EXPIRE k 400 LT"), ":0\r\n");
    assert_eq!(cmd(&mut r, "EXPIRE k 200 lt"), ":1\r\n");
    assert_eq!(cmd(&mut r, "TTL k"), ":200\r\n");
    assert_eq!(cmd(&mut r, "EXPIRE plain 100 LT"), ":1\r\n");
    assert_eq!(cmd(&mut r, "TTL plain"), ":100\r\n");
    // XX with GT/LT combine.
    assert_eq!(cmd(&mut r, "PEXPIRE k 100000 XX LT"), ":1\r\n");
    assert_eq!(cmd(&mut r, "PEXPIRE k 50000 XX GT"), ":0\r\n");
    assert_eq!(cmd(&mut r, "TTL k"), ":100\r\n");
    // The same options on the absolute forms.
    let later = now_ms() / 1000 + 500;
    assert_eq!(cmd(&mut r, &format!("EXPIREAT k {later} GT")), ":1\r\n");
    assert_eq!(cmd(&mut r, &format!("EXPIREAT k {later} NX")), ":0\r\n");
    assert_eq!(cmd(&mut r, &format!("PEXPIREAT k {} LT", later * 1000 + 1)), ":0\r\n");
    assert_eq!(cmd(&mut r, &format!("PEXPIREAT k {} LT", later * 1000 - 1000)), ":1\r\n");
    assert_eq!(int(&mut r, "EXPIRETIME k"), later - 1);

    for (line, err) in [
        ("EXPIRE k 10 foo", "-ERR Unsupported option foo\r\n"),
        ("EXPIRE k abc foo", "-ERR Unsupported option foo\r\n"),
        ("EXPIRE k 10 nx xx", "-ERR NX and XX, GT or LT options at the same time are not compatible\r\n"),
        ("EXPIRE k abc nx xx", "-ERR NX and XX, GT or LT options at the same time are not compatible\r\n"),
        ("EXPIRE k 10 nx gt", "-ERR NX and XX, GT or LT options at the same time are not compatible\r\n"),
        ("PEXPIRE k 10 LT NX", "-ERR NX and XX, GT or LT options at the same time are not compatible\r\n"),
        ("EXPIRE k 10 gt lt", "-ERR GT and LT options at the same time are not compatible\r\n"),
        ("EXPIREAT k 10 XX GT LT", "-ERR GT and LT options at the same time are not compatible\r\n"),
        ("EXPIRE k abc", "-ERR value is not an integer or out of range\r\n"),
        ("EXPIRE k 1.5", "-ERR value is not an integer or out of range\r\n"),
        ("PEXPIRE k 99999999999999999999", "-ERR value is not an integer or out of range\r\n"),
        ("EXPIRE k 9223372036854775807", "-ERR invalid expire time in 'expire' command\r\n"),
        ("EXPIRE k -9223372036854775807", "-ERR invalid expire time in 'expire' command\r\n"),
        ("EXPIRE k 9223372036854776", "-ERR invalid expire time in 'expire' command\r\n"),
        ("PEXPIRE k 9223372036854775807", "-ERR invalid expire time in 'pexpire' command\r\n"),
        ("EXPIREAT k 9223372036854775807", "-ERR invalid expire time in 'expireat' command\r\n"),
        ("EXPIRE k", "-ERR wrong number of arguments for 'expire' command\r\n"),
        ("PEXPIREAT k", "-ERR wrong number of arguments for 'pexpireat' command\r\n"),
    ] {
        assert_eq!(cmd(&mut r, line), err, "{line}");
    }
    // Errors leave the key alone; an error on a missing key is still an error.
    assert_eq!(int(&mut r, "EXPIRETIME k"), later - 1);
    assert_eq!(cmd(&mut r, "EXPIRE nosuchkey 10 foo"), "-ERR Unsupported option foo\r\n");
    // PEXPIREAT takes any time that fits.
    assert_eq!(cmd(&mut r, "PEXPIREAT k 9223372036854775807"), ":1\r\n");
    assert_eq!(cmd(&mut r, "PEXPIRETIME k"), ":9223372036854775807\r\n");
    assert_eq!(cmd(&mut r, "EXISTS k"), ":1\r\n");
}

#[test]
fn expire_in_the_past_deletes() {
    let server = Server::start_sharded();
    let mut r = server.raw();
    for (i, line) in
        ["EXPIRE {} -1", "PEXPIRE {} 0", "EXPIREAT {} 1", "PEXPIREAT {} 1000", "EXPIRE {} 0"].iter().enumerate()
    {
        let key = format!("k{i}");
        cmd(&mut r, &format!("SET {key} v"));
        assert_eq!(cmd(&mut r, &line.replace("{}", &key)), ":1\r\n", "{line}");
        assert_eq!(cmd(&mut r, &format!("EXISTS {key}")), ":0\r\n", "{line}");
        assert_eq!(cmd(&mut r, &format!("TTL {key}")), ":-2\r\n", "{line}");
    }
    // Options still apply first: GT never passes for a key without TTL.
    cmd(&mut r, "SET g v");
    assert_eq!(cmd(&mut r, "EXPIRE g -1 GT"), ":0\r\n");
    assert_eq!(cmd(&mut r, "EXISTS g"), ":1\r\n");
    assert_eq!(cmd(&mut r, "EXPIRE g -1 LT"), ":1\r\n");
    assert_eq!(cmd(&mut r, "EXISTS g"), ":0\r\n");
    assert_eq!(cmd(&mut r, "DBSIZE"), ":0\r\n");
}

#[test]
fn lazy_expiry_on_access() {
    let server = Server::start_sharded();
    let mut r = server.raw();
    // Keys on every shard, each read by a different command after expiring.
    let readers = ["GET", "EXISTS", "TTL", "TYPE", "OBJECT ENCODING", "PTTL", "PERSIST", "EXPIRE"];
    let mut keys = Vec::new();
    for (i, _) in readers.iter().enumerate() {
        let key = format!("lazy{i}");
        cmd(&mut r, &format!("SET {key} v"));
        assert_eq!(cmd(&mut r, &format!("PEXPIRE {key} 300")), ":1\r\n");
        keys.push(key);
    }
    assert!(keys.iter().map(|k| shard_of(k)).collect::<std::collections::HashSet<_>>().len() > 1);
    assert_eq!(cmd(&mut r, "GET lazy0"), "$1\r\nv\r\n");
    std::thread::sleep(Duration::from_millis(400));
    let expected = ["$-1\r\n", ":0\r\n", ":-2\r\n", "+none\r\n", "$-1\r\n", ":-2\r\n", ":0\r\n", ":0\r\n"];
    for ((reader, key), want) in readers.iter().zip(&keys).zip(expected) {
        let line = if *reader == "EXPIRE" { format!("EXPIRE {key} 100") } else { format!("{reader} {key}") };
        assert_eq!(cmd(&mut r, &line), want, "{line}");
    }
    assert_eq!(cmd(&mut r, "KEYS lazy*"), "*0\r\n");
}

#[test]
fn keys_expiring_between_commands() {
    let server = Server::start_sharded();
    let mut r = server.raw();
    let (a, b) = ("exp:a", "exp:z");
    cmd(&mut r, &format!("SET {a} 1"));
    cmd(&mut r, &format!("SET {b} 2"));
    cmd(&mut r, "SET survivor 3");
    assert_eq!(cmd(&mut r, &format!("PEXPIRE {a} 30")), ":1\r\n");
    assert_eq!(cmd(&mut r, &format!("PEXPIRE {b} 30")), ":1\r\n");
    std::thread::sleep(Duration::from_millis(60));
    assert_eq!(cmd(&mut r, &format!("RENAME {a} new")), "-ERR no such key\r\n");
    assert_eq!(cmd(&mut r, &format!("RENAMENX {a} new")), "-ERR no such key\r\n");
    assert_eq!(cmd(&mut r, &format!("COPY {b} new")), ":0\r\n");
    assert_eq!(cmd(&mut r, &format!("MOVE {b} 1")), ":0\r\n");
    assert_eq!(cmd(&mut r, &format!("DEL {a} {b} survivor")), ":1\r\n");
    assert_eq!(cmd(&mut r, &format!("EXISTS {a} {b} new")), ":0\r\n");
    // A renamed key keeps expiring on time at its new name (across shards).
    cmd(&mut r, "SET src v");
    cmd(&mut r, "PEXPIRE src 50");
    assert_eq!(cmd(&mut r, "RENAME src dst"), "+OK\r\n");
    assert_ne!(shard_of("src"), shard_of("dst"));
    assert_eq!(cmd(&mut r, "EXISTS dst"), ":1\r\n");
    // An expired key can be the target of a rename or copy.
    cmd(&mut r, "SET old v");
    cmd(&mut r, "PEXPIRE old 50");
    std::thread::sleep(Duration::from_millis(80));
    assert_eq!(cmd(&mut r, "EXISTS dst"), ":0\r\n");
    cmd(&mut r, "SET fresh v");
    assert_eq!(cmd(&mut r, "RENAMENX fresh old"), ":1\r\n");
    assert_eq!(cmd(&mut r, "TTL old"), ":-1\r\n");
    cmd(&mut r, "SET gone v");
    cmd(&mut r, "PEXPIRE gone 20");
    std::thread::sleep(Duration::from_millis(40));
    assert_eq!(cmd(&mut r, "COPY old gone"), ":1\r\n");
    assert_eq!(cmd(&mut r, "TTL gone"), ":-1\r\n");
}

#[test]
fn active_expiry_reclaims_unread_keys() {
    let server = Server::start_sharded();
    let mut conn = server.client();
    let memory_before = info_field(&mut conn, "memory", "used_memory");
    let expired_before = info_field(&mut conn, "stats", "expired_keys");
    const KEYS: usize = 100_000;
    const WRITERS: usize = 16;
    // SET ... PX when the server has it (one command per key), else SET then PEXPIRE.
    let set_px = redis::cmd("SET").arg("probe").arg("v").arg("PX").arg(100_000).query::<()>(&mut conn).is_ok()
        && redis::cmd("PTTL").arg("probe").query::<i64>(&mut conn).unwrap() > 0;
    redis::cmd("DEL").arg("probe").query::<()>(&mut conn).unwrap();
    // Several connections in parallel: with 4 shards, most keys are on another shard than
    // the connection's, and each such command waits for a round trip.
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let mut c = server.client();
            std::thread::spawn(move || {
                let keys: Vec<usize> = (w..KEYS).step_by(WRITERS).collect();
                for chunk in keys.chunks(2500) {
                    let mut pipe = redis::pipe();
                    for i in chunk {
                        let key = format!("volatile:{i}");
                        if set_px {
                            pipe.cmd("SET").arg(&key).arg("some value").arg("PX").arg(1000).ignore();
                        } else {
                            pipe.cmd("SET").arg(&key).arg("some value").ignore();
                            pipe.cmd("PEXPIRE").arg(&key).arg(1000).ignore();
                        }
                    }
                    pipe.query::<()>(&mut c).unwrap();
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    redis::cmd("SET").arg("persistent").arg("x").query::<()>(&mut conn).unwrap();
    let dbsize: usize = redis::cmd("DBSIZE").query(&mut conn).unwrap();
    assert!(dbsize > 1 && dbsize <= KEYS + 1, "dbsize {dbsize}");
    let memory_peak = info_field(&mut conn, "memory", "used_memory");

    let deadline = Instant::now() + Duration::from_secs(10);
    let mut dbsize = usize::MAX;
    while Instant::now() < deadline {
        dbsize = redis::cmd("DBSIZE").query(&mut conn).unwrap();
        if dbsize == 1 {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(dbsize, 1, "active expiry left keys behind");
    let keys: Vec<String> = redis::cmd("KEYS").arg("*").query(&mut conn).unwrap();
    assert_eq!(keys, vec!["persistent".to_string()]);

    if let (Some(before), Some(after)) = (expired_before, info_field(&mut conn, "stats", "expired_keys")) {
        assert!(after >= before + (KEYS as u64) * 9 / 10, "expired_keys {before} -> {after}");
    }
    if let (Some(before), Some(peak), Some(after)) =
        (memory_before, memory_peak, info_field(&mut conn, "memory", "used_memory"))
    {
        assert!(peak > before, "used_memory did not grow: {before} -> {peak}");
        let grown = peak - before;
        assert!(after < before + grown / 10, "used_memory {before} -> {peak} -> {after}");
    }
}
