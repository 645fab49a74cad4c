//! MULTI / EXEC / DISCARD / WATCH / UNWATCH against a 4-shard server: exact replies and
//! errors (checked against Redis 7.0.15), EXECABORT, runtime errors, WATCH aborts from
//! other clients, expiry, flushes and cross-shard writes, atomicity of cross-shard EXEC
//! under concurrent readers, optimistic-locking races, and blocked clients served after
//! the transaction commits.

mod common;

use std::time::{Duration, Instant};

use common::{Raw, Server, bulk, cmd, encode_command, key_on};

const OK: &str = "+OK\r\n";
const QUEUED: &str = "+QUEUED\r\n";

fn raw(srv: &Server) -> Raw {
    let r = srv.raw();
    r.stream.set_read_timeout(Some(Duration::from_secs(20))).expect("timeout");
    r
}

fn read(r: &mut Raw) -> String {
    String::from_utf8_lossy(&r.read_reply()).into_owned()
}

#[test]
fn queueing_and_errors() {
    let srv = Server::start_sharded();
    let mut r = raw(&srv);
    assert_eq!(cmd(&mut r, "EXEC"), "-ERR EXEC without MULTI\r\n");
    assert_eq!(cmd(&mut r, "DISCARD"), "-ERR DISCARD without MULTI\r\n");
    assert_eq!(cmd(&mut r, "MULTI"), OK);
    assert_eq!(cmd(&mut r, "MULTI"), "-ERR MULTI calls can not be nested\r\n");
    assert_eq!(cmd(&mut r, "WATCH x"), "-ERR WATCH inside MULTI is not allowed\r\n");
    assert_eq!(cmd(&mut r, "SET a 1"), QUEUED);
    let mut other = raw(&srv);
    let list = cmd(&mut other, "CLIENT LIST");
    assert!(list.contains("flags=x ") && list.contains("multi=1 "), "{list}");
    assert_eq!(cmd(&mut r, "NOSUCH"), "-ERR unknown command 'NOSUCH', with args beginning with: \r\n");
    assert_eq!(cmd(&mut r, "GET"), "-ERR wrong number of arguments for 'get' command\r\n");
    assert_eq!(cmd(&mut r, "EXEC"), "-EXECABORT Transaction discarded because of previous errors.\r\n");
    assert_eq!(cmd(&mut r, "EXISTS a"), ":0\r\n");

    // A runtime error fails only its own command.
    let (a, b) = (key_on(0, "ta"), key_on(3, "tb"));
    assert_eq!(cmd(&mut r, "MULTI"), OK);
    for line in [
        format!("SET {a} 1"),
        format!("INCR {a}"),
        format!("LPUSH {a} x"),
        "PING".to_string(),
        format!("MSET {a} 10 {b} 20"),
        format!("MGET {a} {b}"),
        "BLPOP nothing 0".to_string(),
        "SET x 1 EX 0".to_string(),
    ] {
        assert_eq!(cmd(&mut r, &line), QUEUED, "{line}");
    }
    let list = cmd(&mut other, "CLIENT LIST");
    assert!(list.contains("multi=8 "), "{list}");
    assert_eq!(
        cmd(&mut r, "EXEC"),
        format!(
            "*8\r\n+OK\r\n:2\r\n-WRONGTYPE Operation against a key holding the wrong kind of value\r\n+PONG\r\n+OK\r\n*2\r\n{}{}*-1\r\n-ERR invalid expire time in 'set' command\r\n",
            bulk("10"),
            bulk("20")
        )
    );
    assert!(!cmd(&mut other, "CLIENT LIST").contains("flags=x "));
    assert_eq!(cmd(&mut r, "MULTI"), OK);
    assert_eq!(cmd(&mut r, "EXEC"), "*0\r\n");

    // DISCARD and RESET drop the queue.
    assert_eq!(cmd(&mut r, "MULTI"), OK);
    assert_eq!(cmd(&mut r, "SET dropped 1"), QUEUED);
    assert_eq!(cmd(&mut r, "DISCARD"), OK);
    assert_eq!(cmd(&mut r, "MULTI"), OK);
    assert_eq!(cmd(&mut r, "SET dropped 1"), QUEUED);
    assert_eq!(cmd(&mut r, "RESET"), "+RESET\r\n");
    assert_eq!(cmd(&mut r, "EXEC"), "-ERR EXEC without MULTI\r\n");
    assert_eq!(cmd(&mut r, "EXISTS dropped"), ":0\r\n");
    assert_eq!(cmd(&mut r, "WATCH"), "-ERR wrong number of arguments for 'watch' command\r\n");

    // Commands that touch every shard run inside EXEC too.
    assert_eq!(cmd(&mut r, "MULTI"), OK);
    for line in ["DBSIZE", "FLUSHALL", "DBSIZE", "KEYS *"] {
        assert_eq!(cmd(&mut r, line), QUEUED);
    }
    assert_eq!(cmd(&mut r, "EXEC"), "*4\r\n:2\r\n+OK\r\n:0\r\n*0\r\n");
}

#[test]
fn watch_aborts_exec_when_a_watched_key_changes() {
    let srv = Server::start_sharded();
    let mut r = raw(&srv);
    let mut other = raw(&srv);
    let w = key_on(2, "watched");
    let unrelated = key_on(1, "unrelated");
    // Untouched: EXEC runs.
    assert_eq!(cmd(&mut r, &format!("WATCH {w}")), OK);
    assert_eq!(cmd(&mut other, &format!("SET {unrelated} 1")), OK);
    assert_eq!(cmd(&mut r, "MULTI"), OK);
    assert_eq!(cmd(&mut r, &format!("SET {w} mine")), QUEUED);
    assert_eq!(cmd(&mut r, "EXEC"), "*1\r\n+OK\r\n");

    let abort = |r: &mut Raw, other: &mut Raw, change: &str| {
        assert_eq!(cmd(r, &format!("WATCH {w}")), OK);
        assert!(!cmd(other, change).starts_with('-'), "{change}");
        assert_eq!(cmd(r, "MULTI"), OK);
        assert_eq!(cmd(r, &format!("SET {w} mine")), QUEUED);
        assert_eq!(cmd(r, "EXEC"), "*-1\r\n", "after {change}");
    };
    abort(&mut r, &mut other, &format!("SET {w} theirs"));
    abort(&mut r, &mut other, &format!("DEL {w}"));
    assert_eq!(cmd(&mut other, &format!("LPUSH {{{w}}}x a")), ":1\r\n");
    abort(&mut r, &mut other, &format!("RENAME {{{w}}}x {w}"));
    abort(&mut r, &mut other, &format!("EXPIRE {w} 100"));
    abort(&mut r, &mut other, "FLUSHDB");
    abort(&mut r, &mut other, "SWAPDB 0 1");
    assert_eq!(cmd(&mut other, "SWAPDB 0 1"), OK);
    // A cross-shard command writing the key (through a temporary keyspace).
    let src = key_on(0, "src");
    assert_eq!(cmd(&mut other, &format!("SET {src} v")), OK);
    abort(&mut r, &mut other, &format!("RENAME {src} {w}"));
    assert_eq!(cmd(&mut other, &format!("SET {src} v")), OK);
    abort(&mut r, &mut other, &format!("COPY {src} {w} REPLACE"));
    // Reading it, or a write that changes nothing, does not abort.
    assert_eq!(cmd(&mut r, &format!("WATCH {w}")), OK);
    assert_eq!(cmd(&mut other, &format!("GET {w}")), bulk("v"));
    assert_eq!(cmd(&mut other, &format!("SET {w} x NX")), "$-1\r\n");
    assert_eq!(cmd(&mut r, "MULTI"), OK);
    assert_eq!(cmd(&mut r, &format!("GET {w}")), QUEUED);
    assert_eq!(cmd(&mut r, "EXEC"), format!("*1\r\n{}", bulk("v")));
    // Its own writes abort it too; UNWATCH forgets.
    assert_eq!(cmd(&mut r, &format!("WATCH {w}")), OK);
    assert_eq!(cmd(&mut r, &format!("SET {w} self")), OK);
    assert_eq!(cmd(&mut r, "MULTI"), OK);
    assert_eq!(cmd(&mut r, "EXEC"), "*-1\r\n");
    assert_eq!(cmd(&mut r, &format!("WATCH {w}")), OK);
    assert_eq!(cmd(&mut other, &format!("SET {w} theirs")), OK);
    assert_eq!(cmd(&mut r, "UNWATCH"), OK);
    assert_eq!(cmd(&mut r, "MULTI"), OK);
    assert_eq!(cmd(&mut r, "EXEC"), "*0\r\n");
    // Expiry counts as a change; RESP3 says null.
    assert_eq!(cmd(&mut r, "HELLO 3").chars().next(), Some('%'));
    assert_eq!(cmd(&mut other, &format!("SET {w} short PX 50")), OK);
    assert_eq!(cmd(&mut r, &format!("WATCH {w}")), OK);
    std::thread::sleep(Duration::from_millis(120));
    assert_eq!(cmd(&mut r, "MULTI"), OK);
    assert_eq!(cmd(&mut r, &format!("GET {w}")), QUEUED);
    assert_eq!(cmd(&mut r, "EXEC"), "_\r\n");
    // A key watched in another database is another key.
    assert_eq!(cmd(&mut r, "SELECT 5"), OK);
    assert_eq!(cmd(&mut r, &format!("WATCH {w}")), OK);
    assert_eq!(cmd(&mut other, &format!("SET {w} db0")), OK);
    assert_eq!(cmd(&mut r, "MULTI"), OK);
    assert_eq!(cmd(&mut r, "EXEC"), "*0\r\n");
}

#[test]
fn cross_shard_exec_is_atomic_for_concurrent_readers() {
    let srv = Server::start_sharded();
    let keys: Vec<String> = (0..4).map(|s| key_on(s, "atom")).collect();
    let mut setup = raw(&srv);
    for k in &keys {
        assert_eq!(cmd(&mut setup, &format!("SET {k} 0")), OK);
    }
    let deadline = Instant::now() + Duration::from_secs(2);
    let writers: Vec<_> = (0..3)
        .map(|_| {
            let mut r = raw(&srv);
            let keys = keys.clone();
            std::thread::spawn(move || {
                let mut n = 0;
                while Instant::now() < deadline {
                    let mut batch = encode_command(&[b"MULTI"]);
                    for k in &keys {
                        batch.extend(encode_command(&[b"INCR", k.as_bytes()]));
                    }
                    batch.extend(encode_command(&[b"EXEC"]));
                    r.send(&batch);
                    for _ in 0..=keys.len() {
                        read(&mut r);
                    }
                    assert!(read(&mut r).starts_with("*4\r\n"));
                    n += 1;
                }
                n
            })
        })
        .collect();
    let mut reader = raw(&srv);
    let mget = format!("MGET {}", keys.join(" "));
    let mut checks = 0;
    while Instant::now() < deadline {
        let reply = cmd(&mut reader, &mget);
        let values: Vec<&str> = reply.split("\r\n").filter(|l| !l.starts_with(['*', '$']) && !l.is_empty()).collect();
        assert!(values.windows(2).all(|w| w[0] == w[1]), "torn read {values:?}");
        checks += 1;
    }
    let total: i64 = writers.into_iter().map(|w| w.join().expect("writer")).sum();
    assert!(checks > 0 && total > 0);
    for k in &keys {
        assert_eq!(cmd(&mut setup, &format!("GET {k}")), bulk(&total.to_string()));
    }
}

#[test]
fn optimistic_locking_never_loses_an_update() {
    let srv = Server::start_sharded();
    let counter = key_on(3, "counter");
    let per_client = 40;
    let clients: Vec<_> = (0..4)
        .map(|_| {
            let mut r = raw(&srv);
            let counter = counter.clone();
            std::thread::spawn(move || {
                let mut done = 0;
                let mut retries = 0;
                while done < per_client {
                    assert_eq!(cmd(&mut r, &format!("WATCH {counter}")), OK);
                    let value: i64 = match cmd(&mut r, &format!("GET {counter}")).as_str() {
                        "$-1\r\n" => 0,
                        reply => reply.split("\r\n").nth(1).and_then(|v| v.parse().ok()).expect("a number"),
                    };
                    assert_eq!(cmd(&mut r, "MULTI"), OK);
                    assert_eq!(cmd(&mut r, &format!("SET {counter} {}", value + 1)), QUEUED);
                    match cmd(&mut r, "EXEC").as_str() {
                        "*1\r\n+OK\r\n" => done += 1,
                        "*-1\r\n" => retries += 1,
                        other => panic!("EXEC said {other:?}"),
                    }
                }
                retries
            })
        })
        .collect();
    for c in clients {
        c.join().expect("client");
    }
    let mut r = raw(&srv);
    assert_eq!(cmd(&mut r, &format!("GET {counter}")), bulk(&(4 * per_client).to_string()));
}

#[test]
fn blocked_clients_are_served_after_the_transaction_commits() {
    let srv = Server::start_sharded();
    let mut admin = raw(&srv);
    let q = key_on(1, "txq");
    let mut waiter = raw(&srv);
    waiter.send(&encode_command(&[b"BLPOP", q.as_bytes(), b"0"]));
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cmd(&mut admin, "INFO clients").contains("blocked_clients:1") {
        assert!(Instant::now() < deadline, "never blocked");
        std::thread::sleep(Duration::from_millis(5));
    }
    // The element pushed and popped inside one transaction never reaches the waiter.
    assert_eq!(cmd(&mut admin, "MULTI"), OK);
    assert_eq!(cmd(&mut admin, &format!("RPUSH {q} inside")), QUEUED);
    assert_eq!(cmd(&mut admin, &format!("LPOP {q}")), QUEUED);
    assert_eq!(cmd(&mut admin, &format!("RPUSH {q} after")), QUEUED);
    assert_eq!(cmd(&mut admin, "EXEC"), format!("*3\r\n:1\r\n{}:1\r\n", bulk("inside")));
    assert_eq!(read(&mut waiter), format!("*2\r\n{}{}", bulk(&q), bulk("after")));
    assert_eq!(cmd(&mut admin, &format!("EXISTS {q}")), ":0\r\n");
}
