//! Keyspace notifications (`notify-keyspace-events`): configuration, and the events of
//! every command family in Redis 7.0.15's names and order (sequences checked against the
//! real server), expired events from lazy and active expiry, the `keymiss` and `new`
//! classes, cross-shard commands and subscribers on another thread.

mod common;

use std::time::Duration;

use common::{Raw, Server, bulk, cmd, cmdv, key_on};

/// Parses a RESP array of bulk strings.
fn parse_bulks(bytes: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(bytes).into_owned();
    let mut lines = text.split("\r\n");
    let head = lines.next().unwrap_or("");
    assert!(head.starts_with('*') || head.starts_with('>'), "not an array: {text:?}");
    let mut out = Vec::new();
    while let Some(line) = lines.next() {
        if line.starts_with('$') {
            out.push(lines.next().unwrap_or("").to_string());
        }
    }
    out
}

/// A subscriber to every keyspace and keyevent channel.
struct Watch {
    r: Raw,
}

impl Watch {
    /// Sets `flags` and subscribes a new connection to `__key*__:*`.
    fn new(srv: &Server, flags: &str) -> Watch {
        let mut c = srv.raw();
        assert_eq!(cmdv(&mut c, &["CONFIG", "SET", "notify-keyspace-events", flags]), "+OK\r\n");
        let mut r = srv.raw();
        let reply = cmd(&mut r, "PSUBSCRIBE __key*__:*");
        assert!(reply.contains("psubscribe"), "{reply:?}");
        Watch { r }
    }

    /// The next message as (channel, payload).
    fn next(&mut self) -> (String, String) {
        let parts = parse_bulks(&self.r.read_reply());
        assert_eq!(parts[0], "pmessage", "{parts:?}");
        (parts[2].clone(), parts[3].clone())
    }

    /// The next `n` keyevent notifications as "db event key" (keyspace ones are checked
    /// against them and skipped when both K and E are set).
    fn events(&mut self, n: usize) -> Vec<String> {
        let mut out = Vec::new();
        while out.len() < n {
            let (channel, payload) = self.next();
            if let Some(rest) = channel.strip_prefix("__keyevent@") {
                let (db, event) = rest.split_once("__:").expect("keyevent channel");
                out.push(format!("{db} {event} {payload}"));
            }
        }
        out
    }

    /// Asserts that nothing else arrives before the event `marker` produces.
    fn expect(&mut self, srv: &Server, want: &[&str]) {
        let got = self.events(want.len());
        assert_eq!(got, want);
        // A marker write: the next event must be its own.
        let mut c = srv.raw();
        cmd(&mut c, "SET zz-marker 1");
        loop {
            let next = self.events(1).remove(0);
            assert!(next.ends_with(" zz-marker"), "extra event {next:?} after {want:?}");
            if next == "0 set zz-marker" {
                break;
            }
        }
    }
}

/// Runs each space-separated command on a fresh connection (`""` is an empty argument).
fn run(srv: &Server, lines: &[&str]) {
    let mut c = srv.raw();
    for line in lines {
        let args: Vec<&str> = line.split(' ').map(|a| if a == "\"\"" { "" } else { a }).collect();
        let reply = cmdv(&mut c, &args);
        assert!(!reply.starts_with('-'), "{line}: {reply}");
    }
}

fn single() -> Server {
    Server::start(&["--threads", "1"])
}

#[test]
fn config_parses_and_renders_like_redis() {
    let srv = single();
    let mut c = srv.raw();
    let get = |c: &mut Raw| cmd(c, "CONFIG GET notify-keyspace-events");
    assert_eq!(get(&mut c), format!("*2\r\n{}{}", bulk("notify-keyspace-events"), bulk("")));
    for (set, shown) in [("KEA", "AKE"), ("AKEnm", "AKEm"), ("gxK$", "g$xK"), ("tdnezhsl", "lshzetdn"), ("", "")] {
        assert_eq!(cmdv(&mut c, &["CONFIG", "SET", "notify-keyspace-events", set]), "+OK\r\n");
        assert_eq!(get(&mut c), format!("*2\r\n{}{}", bulk("notify-keyspace-events"), bulk(shown)), "{set}");
    }
    assert_eq!(
        cmd(&mut c, "CONFIG SET notify-keyspace-events Kq"),
        "-ERR CONFIG SET failed (possibly related to argument 'notify-keyspace-events') - Invalid event class character. Use 'Ag$lshzxeKEtmdn'.\r\n"
    );
    // A startup flag works too.
    let srv = Server::start(&["--threads", "1", "--notify-keyspace-events", "Elg"]);
    let mut c = srv.raw();
    assert_eq!(
        cmd(&mut c, "CONFIG GET notify-keyspace-events"),
        format!("*2\r\n{}{}", bulk("notify-keyspace-events"), bulk("glE"))
    );
}

#[test]
fn keyspace_and_keyevent_channels_and_class_filter() {
    let srv = single();
    let mut w = Watch::new(&srv, "K$");
    run(&srv, &["SET a 1", "LPUSH l x", "INCR a"]);
    // Only K: keyspace channel, event as payload; the list event is filtered out.
    assert_eq!(w.next(), ("__keyspace@0__:a".to_string(), "set".to_string()));
    assert_eq!(w.next(), ("__keyspace@0__:a".to_string(), "incrby".to_string()));
    let mut c = srv.raw();
    cmd(&mut c, "CONFIG SET notify-keyspace-events KEA");
    cmd(&mut c, "SELECT 3");
    cmd(&mut c, "DEL l2");
    cmd(&mut c, "RPUSH l2 y");
    assert_eq!(w.next(), ("__keyspace@3__:l2".to_string(), "rpush".to_string()));
    assert_eq!(w.next(), ("__keyevent@3__:rpush".to_string(), "l2".to_string()));
    // Classes without K or E publish nothing.
    cmd(&mut c, "CONFIG SET notify-keyspace-events A");
    cmd(&mut c, "RPUSH l2 z");
    cmd(&mut c, "CONFIG SET notify-keyspace-events E$");
    cmd(&mut c, "SET b 1");
    assert_eq!(w.next(), ("__keyevent@3__:set".to_string(), "b".to_string()));
}

#[test]
fn string_events() {
    let srv = single();
    let mut w = Watch::new(&srv, "KEA");
    run(
        &srv,
        &[
            "SET a 1",
            "SET a 2 NX",
            "SET a 4 GET EX 100",
            "SET a 5 KEEPTTL",
            "SETNX c 1",
            "SETEX c 10 x",
            "PSETEX c 100000 y",
            "GETSET c z",
            "GETDEL c",
            "GETDEL c",
            "SET d v",
            "GETEX d",
            "GETEX d EX 100",
            "GETEX d PERSIST",
            "GETEX d PXAT 1",
            "MSET a 1 b 2",
            "MSETNX a 1 e 2",
            "APPEND f x",
            "INCR g",
            "DECRBY g 5",
            "INCRBYFLOAT g 1.5",
            "SETRANGE h 0 ab",
            "SETRANGE h 0 \"\"",
        ],
    );
    w.expect(
        &srv,
        &[
            "0 set a",
            "0 set a",
            "0 expire a",
            "0 set a",
            "0 set c",
            "0 set c",
            "0 expire c",
            "0 set c",
            "0 expire c",
            "0 set c",
            "0 del c",
            "0 set d",
            "0 expire d",
            "0 persist d",
            "0 del d",
            "0 set a",
            "0 set b",
            "0 append f",
            "0 incrby g",
            "0 incrby g",
            "0 incrbyfloat g",
            "0 setrange h",
        ],
    );
}

#[test]
fn keyspace_command_events() {
    let srv = single();
    let mut w = Watch::new(&srv, "KEA");
    run(
        &srv,
        &[
            "SET a 1",
            "SET b 2",
            "DEL a b nokey",
            "SET a 1",
            "RENAME a b",
            "RENAMENX b a",
            "COPY a d",
            "COPY a d",
            "COPY a d REPLACE",
            "COPY a d DB 1",
            "MOVE d 2",
            "EXPIRE a 100",
            "EXPIRE a 100 NX",
            "PERSIST a",
            "PERSIST a",
            "EXPIRE a -1",
            "SET e 1",
            "SWAPDB 0 3",
            "FLUSHALL",
        ],
    );
    w.expect(
        &srv,
        &[
            "0 set a",
            "0 set b",
            "0 del a",
            "0 del b",
            "0 set a",
            "0 rename_from a",
            "0 rename_to b",
            "0 rename_from b",
            "0 rename_to a",
            "0 copy_to d",
            "0 copy_to d",
            "1 copy_to d",
            "0 move_from d",
            "2 move_to d",
            "0 expire a",
            "0 persist a",
            "0 del a",
            "0 set e",
        ],
    );
}

#[test]
fn list_events() {
    let srv = single();
    let mut w = Watch::new(&srv, "KEA");
    run(
        &srv,
        &[
            "LPUSH l a b c",
            "RPUSHX l d",
            "LPUSHX nol e",
            "LPOP l",
            "RPOP l 0",
            "LSET l 0 x",
            "LINSERT l BEFORE x y",
            "LINSERT l BEFORE zz y",
            "LREM l 1 y",
            "LTRIM l 5 10",
            "RPUSH l a b",
            "LMOVE l l2 LEFT RIGHT",
            "RPOPLPUSH l l2",
            "LMPOP 2 nol l2 LEFT COUNT 5",
            "RPUSH m a",
            "RPOPLPUSH m m",
        ],
    );
    w.expect(
        &srv,
        &[
            "0 lpush l",
            "0 rpush l",
            "0 lpop l",
            "0 lset l",
            "0 linsert l",
            "0 lrem l",
            "0 ltrim l",
            "0 del l",
            "0 rpush l",
            "0 rpush l2",
            "0 lpop l",
            "0 lpush l2",
            "0 rpop l",
            "0 del l",
            "0 lpop l2",
            "0 del l2",
            "0 rpush m",
            "0 lpush m",
            "0 rpop m",
        ],
    );
}

#[test]
fn hash_events() {
    let srv = single();
    let mut w = Watch::new(&srv, "KEA");
    run(
        &srv,
        &[
            "HSET h a 1 b 2",
            "HMSET h c 3",
            "HSETNX h a 5",
            "HSETNX h z 5",
            "HDEL h nope",
            "HDEL h a",
            "HINCRBY h n 5",
            "HINCRBYFLOAT h f 1.5",
            "HDEL h b c z n f",
        ],
    );
    w.expect(
        &srv,
        &["0 hset h", "0 hset h", "0 hset h", "0 hdel h", "0 hincrby h", "0 hincrbyfloat h", "0 hdel h", "0 del h"],
    );
}

#[test]
fn set_events() {
    let srv = single();
    let mut w = Watch::new(&srv, "KEA");
    run(
        &srv,
        &[
            "SADD s a b c",
            "SADD s a",
            "SREM s a nope",
            "SPOP s 0",
            "SPOP s 10",
            "SADD s a b",
            "SADD t c",
            "SMOVE s t a",
            "SMOVE s t nope",
            "SMOVE s t b",
            "SADD s1 a b",
            "SADD s2 b c",
            "SINTERSTORE d s1 s2",
            "SUNIONSTORE d s1 s2",
            "SDIFFSTORE d s1 s1",
        ],
    );
    w.expect(
        &srv,
        &[
            "0 sadd s",
            "0 srem s",
            "0 spop s",
            "0 del s",
            "0 sadd s",
            "0 sadd t",
            "0 srem s",
            "0 sadd t",
            "0 srem s",
            "0 del s",
            "0 sadd t",
            "0 sadd s1",
            "0 sadd s2",
            "0 sinterstore d",
            "0 sunionstore d",
            "0 del d",
        ],
    );
}

#[test]
fn sorted_set_events() {
    let srv = single();
    let mut w = Watch::new(&srv, "KEA");
    run(
        &srv,
        &[
            "ZADD z 1 a 2 b 3 c",
            "ZADD z 1 a",
            "ZADD z INCR 2 a",
            "ZINCRBY z 1 a",
            "ZREM z nope",
            "ZREM z c",
            "ZREMRANGEBYRANK z 5 6",
            "ZREMRANGEBYRANK z 0 0",
            "ZADD z 1 q 2 r",
            "ZREMRANGEBYSCORE z 2 2",
            "ZREMRANGEBYLEX z - +",
            "ZADD z 1 a 2 b",
            "ZPOPMIN z",
            "ZPOPMAX z 0",
            "ZPOPMAX z 5",
            "ZADD s1 1 a 2 b",
            "ZADD s2 1 b",
            "ZUNIONSTORE d 2 s1 s2",
            "ZINTERSTORE d 2 s1 noz",
            "ZDIFFSTORE d 2 s1 s2",
            "ZRANGESTORE d s1 0 -1",
        ],
    );
    w.expect(
        &srv,
        &[
            "0 zadd z",
            "0 zincr z",
            "0 zincr z",
            "0 zrem z",
            "0 zremrangebyrank z",
            "0 zadd z",
            "0 zremrangebyscore z",
            "0 zremrangebylex z",
            "0 del z",
            "0 zadd z",
            "0 zpopmin z",
            "0 zpopmax z",
            "0 del z",
            "0 zadd s1",
            "0 zadd s2",
            "0 zunionstore d",
            "0 del d",
            "0 zdiffstore d",
            "0 zrangestore d",
        ],
    );
}

#[test]
fn geo_hll_and_bitmap_events() {
    let srv = single();
    let mut w = Watch::new(&srv, "KEA");
    run(
        &srv,
        &[
            "GEOADD g 13.361389 38.115556 Palermo 15.087269 37.502669 Catania",
            "GEOADD g 13.361389 38.115556 Palermo",
            "GEOSEARCHSTORE d g FROMLONLAT 15 37 BYRADIUS 200 km",
            "GEOSEARCHSTORE d g FROMLONLAT 0 0 BYRADIUS 1 km",
            "GEORADIUS g 15 37 200 km STORE d2",
            "PFADD h a b",
            "PFADD h a",
            "PFMERGE h4 h",
            "SETBIT b 7 1",
            "SETBIT b 7 1",
            "SETBIT b 7 0",
            "BITOP AND d3 b b",
            "BITOP AND d3 nob1 nob2",
            "BITFIELD bf SET u8 0 255",
            "BITFIELD bf GET u8 0",
            "BITFIELD bf OVERFLOW FAIL INCRBY u8 0 1",
        ],
    );
    w.expect(
        &srv,
        &[
            "0 zadd g",
            "0 geosearchstore d",
            "0 del d",
            "0 georadiusstore d2",
            "0 pfadd h",
            "0 pfadd h4",
            "0 setbit b",
            "0 setbit b",
            "0 set d3",
            "0 del d3",
            "0 setbit bf",
        ],
    );
}

#[test]
fn keymiss_and_new_classes() {
    let srv = single();
    let mut w = Watch::new(&srv, "KEAnm");
    run(
        &srv,
        &[
            "GET nokey",
            "EXISTS nokey",
            "TYPE nokey",
            "OBJECT ENCODING nokey",
            "LPOP nokey",
            "SET a 1",
            "SET a 2",
            "RENAME a b",
            "SUNIONSTORE d nos1 b2",
            "PFMERGE h5",
            "HGET noh f",
        ],
    );
    w.expect(
        &srv,
        &[
            "0 keymiss nokey",
            "0 keymiss nokey",
            "0 keymiss nokey",
            "0 new a",
            "0 set a",
            "0 set a",
            "0 new b",
            "0 rename_from a",
            "0 rename_to b",
            "0 keymiss nos1",
            "0 keymiss b2",
            "0 keymiss h5",
            "0 new h5",
            "0 pfadd h5",
            "0 keymiss noh",
        ],
    );
}

#[test]
fn expired_events_from_lazy_and_active_expiry() {
    let srv = single();
    let mut w = Watch::new(&srv, "KEAm");
    let mut c = srv.raw();
    // Lazy: the read finds the key expired (expired, then the read's keymiss).
    cmd(&mut c, "SET lazy v PX 30");
    std::thread::sleep(Duration::from_millis(60));
    assert_eq!(cmd(&mut c, "GET lazy"), "$-1\r\n");
    let got = w.events(4);
    assert_eq!(got[..2], ["0 set lazy", "0 expire lazy"]);
    assert_eq!(got[2..], ["0 expired lazy", "0 keymiss lazy"]);
    // Active: nobody touches the keys; the cron removes them.
    for i in 0..3 {
        cmd(&mut c, &format!("SET act{i} v PX 20"));
    }
    let mut got = w.events(9);
    got.sort();
    let mut want: Vec<String> = (0..3)
        .flat_map(|i| [format!("0 set act{i}"), format!("0 expire act{i}"), format!("0 expired act{i}")])
        .collect();
    want.sort();
    assert_eq!(got, want);
    assert_eq!(cmd(&mut c, "DBSIZE"), ":0\r\n");
}

#[test]
fn cross_shard_rename_events_reach_a_subscriber_on_every_thread() {
    let srv = Server::start(&["--threads", "4"]);
    let src = key_on(0, "src");
    let dst = key_on(3, "dst");
    // Subscribers on several connections (the kernel spreads them over the threads).
    let mut c = srv.raw();
    cmd(&mut c, "CONFIG SET notify-keyspace-events KEA");
    let mut watchers: Vec<Watch> = (0..8)
        .map(|_| {
            let mut r = srv.raw();
            assert!(cmd(&mut r, "PSUBSCRIBE __keyevent*__:*").contains("psubscribe"));
            Watch { r }
        })
        .collect();
    cmdv(&mut c, &["SET", &src, "v"]);
    assert_eq!(cmdv(&mut c, &["RENAME", &src, &dst]), "+OK\r\n");
    let k = key_on(1, "k");
    let other = key_on(2, "k");
    cmdv(&mut c, &["MSET", &k, "1", &other, "2"]);
    cmdv(&mut c, &["DEL", &k, &other]);
    for w in &mut watchers {
        let got = w.events(7);
        // One publisher's events come in order; across publishers only the set matters.
        let from = got.iter().position(|e| *e == format!("0 rename_from {src}")).expect("rename_from");
        assert_eq!(got[from + 1], format!("0 rename_to {dst}"));
        let mut got = got.clone();
        got.sort();
        let mut want = vec![
            format!("0 set {src}"),
            format!("0 rename_from {src}"),
            format!("0 rename_to {dst}"),
            format!("0 set {k}"),
            format!("0 set {other}"),
            format!("0 del {k}"),
            format!("0 del {other}"),
        ];
        want.sort();
        assert_eq!(got, want);
    }
}

#[test]
fn events_are_off_by_default() {
    let srv = single();
    let mut r = srv.raw();
    assert!(cmd(&mut r, "PSUBSCRIBE *").contains("psubscribe"));
    let mut c = srv.raw();
    cmd(&mut c, "SET a 1");
    cmd(&mut c, "DEL a");
    cmd(&mut c, "PUBLISH marker m");
    // The first message is the marker: no notification was sent.
    let parts = parse_bulks(&r.read_reply());
    assert_eq!(parts, ["pmessage", "*", "marker", "m"]);
}

#[test]
fn sort_store_and_served_blocking_pops_notify() {
    let srv = single();
    let mut w = Watch::new(&srv, "KEA");
    run(&srv, &["RPUSH src 3 1 2", "SORT src STORE dst", "SORT nosuch STORE dst"]);
    w.expect(&srv, &["0 rpush src", "0 sortstore dst", "0 del dst"]);
    // A pop served to a blocked client notifies like the non-blocking pop.
    let mut blocked = srv.raw();
    blocked.send(&common::encode_command(&[b"BLPOP", b"bq", b"0"]));
    let mut admin = srv.raw();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !cmd(&mut admin, "INFO clients").contains("blocked_clients:1") {
        assert!(std::time::Instant::now() < deadline, "never blocked");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    run(&srv, &["RPUSH bq x"]);
    assert!(String::from_utf8_lossy(&blocked.read_reply()).contains("x"));
    w.expect(&srv, &["0 rpush bq", "0 lpop bq", "0 del bq"]);
}
