//! Blocking commands against a 4-shard server: replies when data is there, timeouts,
//! error texts, first-come-first-served wake-ups from other connections and threads,
//! keys on several shards, BLMOVE across shards, WRONGTYPE while waiting, disconnects,
//! CLIENT UNBLOCK, pipelined input after a blocked command, no lost elements when
//! timeouts race with pushes, and no CPU spent while blocked.
//! Replies and errors were checked against Redis 7.0.15.

mod common;

use std::time::{Duration, Instant};

use common::{Raw, SYNTAX, Server, WRONGTYPE, bulk, cmd, cmdv, encode_command, key_on, shard_of};

const NIL_ARRAY: &str = "*-1\r\n";
const NIL: &str = "$-1\r\n";

fn arr(items: &[&str]) -> String {
    let mut out = format!("*{}\r\n", items.len());
    for i in items {
        out.push_str(&bulk(i));
    }
    out
}

fn raw(srv: &Server) -> Raw {
    let r = srv.raw();
    r.stream.set_read_timeout(Some(Duration::from_secs(20))).expect("timeout");
    r
}

/// Sends a command without reading its reply.
fn send(r: &mut Raw, line: &str) {
    let args: Vec<&[u8]> = line.split(' ').map(str::as_bytes).collect();
    r.send(&encode_command(&args));
}

fn read(r: &mut Raw) -> String {
    String::from_utf8_lossy(&r.read_reply()).into_owned()
}

fn info_field(r: &mut Raw, field: &str) -> i64 {
    let text = cmd(r, "INFO clients");
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in {text}"))
}

/// Waits until `n` clients are blocked.
fn wait_blocked(r: &mut Raw, n: i64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while info_field(r, "blocked_clients") != n {
        assert!(Instant::now() < deadline, "never saw {n} blocked clients");
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn client_id(r: &mut Raw) -> String {
    cmd(r, "CLIENT ID").trim_start_matches(':').trim().to_string()
}

#[test]
fn data_already_there_is_served_at_once() {
    let srv = Server::start_sharded();
    let mut r = raw(&srv);
    let (a, b) = (key_on(0, "a"), key_on(1, "b"));
    assert_eq!(cmd(&mut r, &format!("RPUSH {b} x y z")), ":3\r\n");
    // The first non-empty key in argument order, across shards.
    assert_eq!(cmd(&mut r, &format!("BLPOP {a} {b} 0")), arr(&[&b, "x"]));
    assert_eq!(cmd(&mut r, &format!("BRPOP {a} {b} 0")), arr(&[&b, "z"]));
    assert_eq!(cmd(&mut r, &format!("RPUSH {a} 1 2")), ":2\r\n");
    assert_eq!(cmd(&mut r, &format!("BLPOP {a} {b} 0")), arr(&[&a, "1"]));
    assert_eq!(cmd(&mut r, &format!("BLMPOP 0 2 {b} {a} RIGHT COUNT 5")), format!("*2\r\n{}{}", bulk(&b), arr(&["y"])));
    assert_eq!(cmd(&mut r, &format!("BLMOVE {a} {b} LEFT RIGHT 0")), bulk("2"));
    assert_eq!(cmd(&mut r, &format!("BRPOPLPUSH {b} {a} 0")), bulk("2"));
    assert_eq!(cmd(&mut r, &format!("LRANGE {a} 0 -1")), arr(&["2"]));
    let (z1, z2) = (key_on(2, "z"), key_on(3, "z"));
    assert_eq!(cmd(&mut r, &format!("ZADD {z2} 1 m1 2 m2 3.5 m3")), ":3\r\n");
    assert_eq!(cmd(&mut r, &format!("BZPOPMIN {z1} {z2} 0")), arr(&[&z2, "m1", "1"]));
    assert_eq!(cmd(&mut r, &format!("BZPOPMAX {z1} {z2} 0")), arr(&[&z2, "m3", "3.5"]));
    assert_eq!(
        cmd(&mut r, &format!("BZMPOP 0 2 {z1} {z2} MIN COUNT 3")),
        format!("*2\r\n{}*1\r\n{}", bulk(&z2), arr(&["m2", "2"]))
    );
    assert_eq!(cmd(&mut r, &format!("EXISTS {z2}")), ":0\r\n");
    // RESP3: scores are doubles, timeouts are nulls.
    assert!(cmd(&mut r, "HELLO 3").starts_with('%'));
    assert_eq!(cmd(&mut r, &format!("ZADD {z1} 2.5 m")), ":1\r\n");
    assert_eq!(cmd(&mut r, &format!("BZPOPMIN {z1} 0")), format!("*3\r\n{}{},2.5\r\n", bulk(&z1), bulk("m")));
    assert_eq!(cmd(&mut r, "BLPOP nokey 0.01"), "_\r\n");
    assert_eq!(cmd(&mut r, &format!("BLMOVE nokey {b} LEFT LEFT 0.01")), "_\r\n");
}

#[test]
fn timeouts_and_errors() {
    let srv = Server::start_sharded();
    let mut r = raw(&srv);
    let started = Instant::now();
    assert_eq!(cmd(&mut r, "BLPOP nothing 0.2"), NIL_ARRAY);
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(190), "returned after {waited:?}");
    assert_eq!(cmd(&mut r, "BRPOP n1 n2 n3 0.01"), NIL_ARRAY);
    assert_eq!(cmd(&mut r, "BLMPOP 0.01 2 n1 n2 LEFT"), NIL_ARRAY);
    assert_eq!(cmd(&mut r, "BZPOPMIN n1 0.01"), NIL_ARRAY);
    assert_eq!(cmd(&mut r, "BZMPOP 0.01 1 n1 MAX"), NIL_ARRAY);
    assert_eq!(cmd(&mut r, "BLMOVE n1 n2 LEFT LEFT 0.01"), NIL);
    assert_eq!(cmd(&mut r, "BRPOPLPUSH n1 n2 0.01"), NIL);
    // Redis 7.0 rounds up to whole milliseconds, and a value that rounds to 0 waits forever
    // unless it is positive.
    assert_eq!(cmd(&mut r, "BLPOP nothing 0.0001"), NIL_ARRAY);

    let not_float = "-ERR timeout is not a float or out of range\r\n";
    let negative = "-ERR timeout is negative\r\n";
    assert_eq!(cmd(&mut r, "BLPOP k abc"), not_float);
    assert_eq!(cmdv(&mut r, &["BLPOP", "k", " 1"]), not_float);
    assert_eq!(cmd(&mut r, "BLPOP k nan"), not_float);
    assert_eq!(cmd(&mut r, "BLPOP k -1"), negative);
    assert_eq!(cmd(&mut r, "BLPOP k inf"), negative);
    assert_eq!(cmd(&mut r, "BLPOP k 1e30"), negative);
    assert_eq!(cmd(&mut r, "BZPOPMAX k -0.5"), negative);
    assert_eq!(cmd(&mut r, "BLPOP k"), "-ERR wrong number of arguments for 'blpop' command\r\n");
    assert_eq!(cmd(&mut r, "BRPOPLPUSH a b"), "-ERR wrong number of arguments for 'brpoplpush' command\r\n");
    assert_eq!(cmd(&mut r, "BLMOVE a b UP LEFT abc"), SYNTAX);
    assert_eq!(cmd(&mut r, "BLMOVE a b LEFT LEFT abc"), not_float);
    assert_eq!(cmd(&mut r, "BLMPOP 0 0 l LEFT"), "-ERR numkeys should be greater than 0\r\n");
    assert_eq!(cmd(&mut r, "BLMPOP abc 1 l LEFT"), not_float);
    assert_eq!(cmd(&mut r, "BLMPOP 0 1 l MIDDLE"), SYNTAX);
    assert_eq!(cmd(&mut r, "BZMPOP 0 1 z min count 0"), "-ERR count should be greater than 0\r\n");
    assert_eq!(cmd(&mut r, "BZMPOP 0 3 z MIN"), SYNTAX);

    // WRONGTYPE when the key holds something else: before waiting, in argument order.
    assert_eq!(cmd(&mut r, "SET s x"), "+OK\r\n");
    assert_eq!(cmd(&mut r, "BLPOP s 0"), WRONGTYPE);
    assert_eq!(cmd(&mut r, "BLPOP nothing s 0"), WRONGTYPE);
    assert_eq!(cmd(&mut r, "BZPOPMIN s 0"), WRONGTYPE);
    assert_eq!(cmd(&mut r, "BLMOVE s d LEFT LEFT 0"), WRONGTYPE);
    assert_eq!(cmd(&mut r, "RPUSH l 1"), ":1\r\n");
    assert_eq!(cmd(&mut r, "BLMOVE l s LEFT LEFT 0"), WRONGTYPE);
    assert_eq!(cmd(&mut r, "LRANGE l 0 -1"), arr(&["1"]));
    assert_eq!(cmd(&mut r, "BZPOPMIN l 0"), WRONGTYPE);
}

#[test]
fn waiters_are_served_first_come_first_served_from_any_connection() {
    let srv = Server::start_sharded();
    let mut admin = raw(&srv);
    let key = key_on(2, "queue");
    let mut waiters: Vec<Raw> = (0..5).map(|_| raw(&srv)).collect();
    for (i, w) in waiters.iter_mut().enumerate() {
        send(w, &format!("BLPOP {key} 0"));
        wait_blocked(&mut admin, i as i64 + 1);
    }
    assert_eq!(info_field(&mut admin, "total_blocking_keys"), 1);
    assert!(cmd(&mut admin, "CLIENT LIST").contains("flags=b "));
    // Pushes from several connections (on whatever threads they landed).
    for i in 0..5 {
        let mut pusher = raw(&srv);
        assert_eq!(cmd(&mut pusher, &format!("RPUSH {key} e{i}")), ":1\r\n");
    }
    for (i, w) in waiters.iter_mut().enumerate() {
        assert_eq!(read(w), arr(&[&key, &format!("e{i}")]), "waiter {i}");
    }
    assert_eq!(cmd(&mut admin, &format!("EXISTS {key}")), ":0\r\n");
    assert_eq!(info_field(&mut admin, "blocked_clients"), 0);
    assert_eq!(info_field(&mut admin, "total_blocking_keys"), 0);

    // One push of several elements serves several waiters in order.
    for (i, w) in waiters.iter_mut().take(3).enumerate() {
        send(w, &format!("BRPOP {key} 0"));
        wait_blocked(&mut admin, i as i64 + 1);
    }
    assert_eq!(cmd(&mut admin, &format!("RPUSH {key} a b c d")), ":4\r\n");
    for (w, expected) in waiters.iter_mut().zip(["d", "c", "b"]) {
        assert_eq!(read(w), arr(&[&key, expected]));
    }
    assert_eq!(cmd(&mut admin, &format!("LRANGE {key} 0 -1")), arr(&["a"]));
}

#[test]
fn a_waiter_on_keys_of_several_shards_is_served_once() {
    let srv = Server::start_sharded();
    let mut admin = raw(&srv);
    let keys: Vec<String> = (0..4).map(|s| key_on(s, "multi")).collect();
    let mut w = raw(&srv);
    send(&mut w, &format!("BLPOP {} 0", keys.join(" ")));
    wait_blocked(&mut admin, 1);
    assert_eq!(info_field(&mut admin, "total_blocking_keys"), 4);
    assert_eq!(cmd(&mut admin, &format!("RPUSH {} v", keys[3])), ":1\r\n");
    assert_eq!(read(&mut w), arr(&[&keys[3], "v"]));
    // The waiters on the other shards are gone: a later push stays in its list.
    assert_eq!(cmd(&mut admin, &format!("RPUSH {} w", keys[0])), ":1\r\n");
    assert_eq!(cmd(&mut admin, &format!("LLEN {}", keys[0])), ":1\r\n");
    let deadline = Instant::now() + Duration::from_secs(5);
    while info_field(&mut admin, "total_blocking_keys") != 0 {
        assert!(Instant::now() < deadline, "waiters left behind");
        std::thread::sleep(Duration::from_millis(5));
    }

    // Sorted sets on several shards, woken by ZADD on another connection.
    let zkeys: Vec<String> = (0..4).map(|s| key_on(s, "zmulti")).collect();
    send(&mut w, &format!("BZMPOP 0 4 {} MAX COUNT 2", zkeys.join(" ")));
    wait_blocked(&mut admin, 1);
    assert_eq!(cmd(&mut admin, &format!("ZADD {} 1 a 2 b 3 c", zkeys[1])), ":3\r\n");
    assert_eq!(read(&mut w), format!("*2\r\n{}*2\r\n{}{}", bulk(&zkeys[1]), arr(&["c", "3"]), arr(&["b", "2"])));
    assert_eq!(cmd(&mut admin, &format!("ZCARD {}", zkeys[1])), ":1\r\n");
}

#[test]
fn keys_created_by_any_write_wake_waiters() {
    let srv = Server::start_sharded();
    let mut admin = raw(&srv);
    let (src, dst) = (key_on(0, "src"), key_on(1, "dst"));
    let mut w = raw(&srv);
    // RENAME across shards creates the waited-on key.
    send(&mut w, &format!("BLPOP {dst} 0"));
    wait_blocked(&mut admin, 1);
    assert_eq!(cmd(&mut admin, &format!("RPUSH {src} moved")), ":1\r\n");
    assert_eq!(cmd(&mut admin, &format!("RENAME {src} {dst}")), "+OK\r\n");
    assert_eq!(read(&mut w), arr(&[&dst, "moved"]));
    // LMOVE across shards into the waited-on key.
    send(&mut w, &format!("BRPOP {dst} 0"));
    wait_blocked(&mut admin, 1);
    assert_eq!(cmd(&mut admin, &format!("RPUSH {src} one")), ":1\r\n");
    assert_eq!(cmd(&mut admin, &format!("LMOVE {src} {dst} LEFT LEFT")), bulk("one"));
    assert_eq!(read(&mut w), arr(&[&dst, "one"]));
    // A waiter in another database is not woken by a push in this one.
    assert_eq!(cmd(&mut w, "SELECT 1"), "+OK\r\n");
    send(&mut w, &format!("BLPOP {dst} 0"));
    wait_blocked(&mut admin, 1);
    assert_eq!(cmd(&mut admin, &format!("RPUSH {dst} db0")), ":1\r\n");
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(info_field(&mut admin, "blocked_clients"), 1);
    // ...but SWAPDB brings the list into its database.
    assert_eq!(cmd(&mut admin, "SWAPDB 0 1"), "+OK\r\n");
    assert_eq!(read(&mut w), arr(&[&dst, "db0"]));
}

#[test]
fn a_key_of_the_wrong_type_keeps_the_client_waiting() {
    let srv = Server::start_sharded();
    let mut admin = raw(&srv);
    let mut w = raw(&srv);
    send(&mut w, "BLPOP wt 0");
    wait_blocked(&mut admin, 1);
    assert_eq!(cmd(&mut admin, "SET wt string"), "+OK\r\n");
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(info_field(&mut admin, "blocked_clients"), 1);
    assert_eq!(cmd(&mut admin, "DEL wt"), ":1\r\n");
    assert_eq!(cmd(&mut admin, "ZADD wt 1 m"), ":1\r\n");
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(info_field(&mut admin, "blocked_clients"), 1);
    assert_eq!(cmd(&mut admin, "DEL wt"), ":1\r\n");
    assert_eq!(cmd(&mut admin, "LPUSH wt finally"), ":1\r\n");
    assert_eq!(read(&mut w), arr(&["wt", "finally"]));
}

#[test]
fn blmove_within_and_across_shards() {
    let srv = Server::start_sharded();
    let mut admin = raw(&srv);
    let src = key_on(0, "bsrc");
    let same = (0..).map(|n| format!("{{{src}}}d{n}")).next().expect("a key");
    assert_eq!(shard_of(&same), shard_of(&src));
    let other = key_on(3, "bdst");
    for dst in [&same, &other] {
        let mut w = raw(&srv);
        send(&mut w, &format!("BLMOVE {src} {dst} RIGHT LEFT 0"));
        wait_blocked(&mut admin, 1);
        assert_eq!(cmd(&mut admin, &format!("RPUSH {src} a b")), ":2\r\n");
        assert_eq!(read(&mut w), bulk("b"), "to {dst}");
        assert_eq!(cmd(&mut admin, &format!("LRANGE {dst} 0 -1")), arr(&["b"]));
        assert_eq!(cmd(&mut admin, &format!("LRANGE {src} 0 -1")), arr(&["a"]));
        assert_eq!(cmd(&mut admin, &format!("DEL {src} {dst}")), ":2\r\n");
        // BRPOPLPUSH with two waiters: both are served, in order.
        let mut w2 = raw(&srv);
        send(&mut w, &format!("BRPOPLPUSH {src} {dst} 0"));
        wait_blocked(&mut admin, 1);
        send(&mut w2, &format!("BRPOPLPUSH {src} {dst} 0"));
        wait_blocked(&mut admin, 2);
        assert_eq!(cmd(&mut admin, &format!("RPUSH {src} x y")), ":2\r\n");
        assert_eq!(read(&mut w), bulk("y"));
        assert_eq!(read(&mut w2), bulk("x"));
        assert_eq!(cmd(&mut admin, &format!("LRANGE {dst} 0 -1")), arr(&["x", "y"]));
        assert_eq!(cmd(&mut admin, &format!("DEL {dst}")), ":1\r\n");
    }
}

#[test]
fn a_client_that_disconnects_is_forgotten() {
    let srv = Server::start_sharded();
    let mut admin = raw(&srv);
    {
        let mut w = raw(&srv);
        send(&mut w, "BLPOP gone 0");
        wait_blocked(&mut admin, 1);
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while info_field(&mut admin, "blocked_clients") != 0 || info_field(&mut admin, "total_blocking_keys") != 0 {
        assert!(Instant::now() < deadline, "the closed client still waits");
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(cmd(&mut admin, "RPUSH gone kept"), ":1\r\n");
    assert_eq!(cmd(&mut admin, "LRANGE gone 0 -1"), arr(&["kept"]));
    assert_eq!(info_field(&mut admin, "connected_clients"), 1);
}

#[test]
fn client_unblock() {
    let srv = Server::start_sharded();
    let mut admin = raw(&srv);
    let mut w = raw(&srv);
    let id = client_id(&mut w);
    assert_eq!(cmd(&mut admin, &format!("CLIENT UNBLOCK {id}")), ":0\r\n");
    send(&mut w, "BLPOP ub 0");
    wait_blocked(&mut admin, 1);
    assert_eq!(cmd(&mut admin, &format!("CLIENT UNBLOCK {id}")), ":1\r\n");
    assert_eq!(read(&mut w), NIL_ARRAY);
    send(&mut w, "BLMOVE ub other LEFT LEFT 0");
    wait_blocked(&mut admin, 1);
    assert_eq!(cmd(&mut admin, &format!("CLIENT UNBLOCK {id} TIMEOUT")), ":1\r\n");
    assert_eq!(read(&mut w), NIL);
    send(&mut w, "BZPOPMIN ub 0");
    wait_blocked(&mut admin, 1);
    assert_eq!(cmd(&mut admin, &format!("CLIENT UNBLOCK {id} error")), ":1\r\n");
    assert_eq!(read(&mut w), "-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n");
    assert_eq!(
        cmd(&mut admin, &format!("CLIENT UNBLOCK {id} later")),
        "-ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR\r\n"
    );
    assert_eq!(cmd(&mut admin, "CLIENT UNBLOCK abc"), "-ERR value is not an integer or out of range\r\n");
    assert_eq!(cmd(&mut admin, "CLIENT UNBLOCK 999999"), ":0\r\n");
    // The unblocked client works normally, and a stale unblock does not cut its next wait short.
    assert_eq!(cmd(&mut w, "PING"), "+PONG\r\n");
    assert_eq!(cmd(&mut w, "BLPOP ub 0.1"), NIL_ARRAY);
    assert_eq!(info_field(&mut admin, "total_blocking_keys"), 0);
}

#[test]
fn input_pipelined_after_a_blocking_command_runs_after_it() {
    let srv = Server::start_sharded();
    let mut admin = raw(&srv);
    let mut w = raw(&srv);
    let mut batch = encode_command(&[b"BLPOP", b"pipe", b"0"]);
    batch.extend(encode_command(&[b"ECHO", b"after"]));
    w.send(&batch);
    wait_blocked(&mut admin, 1);
    // More input while blocked is kept, not lost.
    w.send(&encode_command(&[b"LLEN", b"pipe"]));
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(cmd(&mut admin, "RPUSH pipe one two"), ":2\r\n");
    assert_eq!(read(&mut w), arr(&["pipe", "one"]));
    assert_eq!(read(&mut w), bulk("after"));
    assert_eq!(read(&mut w), ":1\r\n");
}

#[test]
fn no_element_is_lost_when_timeouts_race_with_pushes() {
    let srv = Server::start_sharded();
    let keys: Vec<String> = (0..4).map(|s| key_on(s, "race")).collect();
    let total = 400;
    let consumers: Vec<_> = (0..6)
        .map(|_| {
            let mut r = raw(&srv);
            let line = format!("BLPOP {} 0.001", keys.join(" "));
            std::thread::spawn(move || {
                let mut got = 0;
                let deadline = Instant::now() + Duration::from_secs(3);
                while Instant::now() < deadline {
                    let reply = cmd(&mut r, &line);
                    if reply != NIL_ARRAY {
                        assert!(reply.starts_with("*2\r\n"), "{reply}");
                        got += 1;
                    }
                }
                got
            })
        })
        .collect();
    let mut pusher = raw(&srv);
    for i in 0..total {
        let key = &keys[i % keys.len()];
        assert!(cmd(&mut pusher, &format!("RPUSH {key} {i}")).starts_with(':'));
        if i % 50 == 0 {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    let popped: i64 = consumers.into_iter().map(|c| c.join().expect("consumer")).sum();
    let left: i64 = keys
        .iter()
        .map(|k| cmd(&mut pusher, &format!("LLEN {k}")).trim_start_matches(':').trim().parse::<i64>().unwrap_or(-1))
        .sum();
    assert_eq!(popped + left, total as i64, "popped {popped}, left {left}");
}

/// CPU time (user + system) the server process has used, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("stat");
    let after_name = &stat[stat.rfind(')').expect("comm") + 2..];
    let fields: Vec<&str> = after_name.split(' ').collect();
    fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime")
}

#[test]
fn blocked_clients_cost_no_cpu() {
    let srv = Server::start_sharded();
    let mut admin = raw(&srv);
    let mut waiters: Vec<Raw> = (0..50).map(|_| raw(&srv)).collect();
    for (i, w) in waiters.iter_mut().enumerate() {
        send(w, &format!("BLPOP idle{i} 0"));
    }
    wait_blocked(&mut admin, 50);
    let before = cpu_ticks(srv.pid());
    std::thread::sleep(Duration::from_secs(1));
    let used = cpu_ticks(srv.pid()) - before;
    // 100 ticks = one core busy for the whole second; the shards' timers take a few.
    assert!(used < 15, "{used} ticks of CPU in 1 s with 50 blocked clients");
    assert_eq!(cmd(&mut admin, "RPUSH idle7 v"), ":1\r\n");
    assert_eq!(read(&mut waiters[7]), arr(&["idle7", "v"]));
}
