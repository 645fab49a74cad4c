//! DUMP and RESTORE, against the real redis-server where it matters: values dumped by
//! Redis 7 restore into tallkv (4 shards) and back, error texts and reply types match
//! Redis's, and the options (REPLACE, ABSTTL, IDLETIME, FREQ) behave as Redis's do.
//!
//! Tests that need `redis-server` print a note and return when it is not on PATH
//! (`tools/install-test-deps.sh` installs it).

mod common;

use common::{RealRedis, Server};
use tallkv::util::crc64::crc64;

fn run(conn: &mut redis::Connection, args: &[&[u8]]) -> redis::RedisResult<redis::Value> {
    let mut cmd = redis::cmd(std::str::from_utf8(args[0]).expect("command name"));
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query(conn)
}

fn ok(conn: &mut redis::Connection, args: &[&[u8]]) -> redis::Value {
    run(conn, args)
        .unwrap_or_else(|e| panic!("{:?}: {e}", args.iter().map(|a| String::from_utf8_lossy(a)).collect::<Vec<_>>()))
}

/// The reply as text: errors as `CODE detail`, the rest in a stable debug form.
fn reply_text(conn: &mut redis::Connection, args: &[&[u8]]) -> String {
    match run(conn, args) {
        Ok(v) => format!("{v:?}"),
        Err(e) => match (e.code(), e.detail()) {
            (Some(code), Some(detail)) => format!("-{code} {detail}"),
            _ => format!("-{e}"),
        },
    }
}

fn dump(conn: &mut redis::Connection, key: &str) -> Option<Vec<u8>> {
    redis::cmd("DUMP").arg(key).query(conn).expect("DUMP")
}

/// The key's type and contents in a comparable form (sets and hashes sorted).
fn contents(conn: &mut redis::Connection, key: &str) -> (String, Vec<Vec<u8>>) {
    let ty: String = redis::cmd("TYPE").arg(key).query(conn).expect("TYPE");
    let q = |args: &[&str], conn: &mut redis::Connection| -> Vec<Vec<u8>> {
        let mut cmd = redis::cmd(args[0]);
        for a in &args[1..] {
            cmd.arg(*a);
        }
        cmd.query(conn).expect("read")
    };
    let items = match ty.as_str() {
        "string" => vec![redis::cmd("GET").arg(key).query::<Vec<u8>>(conn).expect("GET")],
        "list" => q(&["LRANGE", key, "0", "-1"], conn),
        "set" => {
            let mut m = q(&["SMEMBERS", key], conn);
            m.sort();
            m
        }
        "zset" => q(&["ZRANGE", key, "0", "-1", "WITHSCORES"], conn),
        "hash" => {
            let flat = q(&["HGETALL", key], conn);
            let mut pairs: Vec<Vec<u8>> =
                flat.chunks(2).map(|p| [p[0].clone(), b"=".to_vec(), p[1].clone()].concat()).collect();
            pairs.sort();
            pairs
        }
        "none" => Vec::new(),
        other => panic!("unexpected type {other}"),
    };
    (ty, items)
}

/// Commands that build one key of every type and encoding Redis 7.0 has (with the
/// default thresholds): `(key, command)`.
fn population() -> Vec<(String, Vec<String>)> {
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let mut p: Vec<(String, Vec<String>)> = Vec::new();
    let mut add = |key: &str, cmd: Vec<String>| p.push((key.to_string(), cmd));
    add("str:small", s(&["SET", "str:small", "hello"]));
    add("str:int8", s(&["SET", "str:int8", "-12"]));
    add("str:int16", s(&["SET", "str:int16", "30000"]));
    add("str:int32", s(&["SET", "str:int32", "-2000000000"]));
    add("str:int64", s(&["SET", "str:int64", "9000000000000000000"]));
    add("str:empty", s(&["SET", "str:empty", ""]));
    add("str:lzf", s(&["SET", "str:lzf", &"compress me! ".repeat(500)]));
    let noise: String =
        (0..3000u32).map(|i| char::from(b'!' + ((i.wrapping_mul(2_654_435_761) >> 9) % 90) as u8)).collect();
    add("str:noise", s(&["SET", "str:noise", &noise]));
    add("hll", s(&["PFADD", "hll", "a", "b", "c", "d"]));
    let mut list = s(&["RPUSH", "list:small", "a", "1", "-300", "70000", "5000000000", "hello"]);
    add("list:small", std::mem::take(&mut list));
    let mut big = s(&["RPUSH", "list:big"]);
    big.extend((0..5000).map(|i| if i % 2 == 0 { i.to_string() } else { format!("element-{i}") }));
    add("list:big", big);
    let mut long = s(&["RPUSH", "list:long-elements"]);
    long.extend((0..20).map(|i| format!("{i}:{}", "x".repeat(3000))));
    add("list:long-elements", long);
    add("set:int16", s(&["SADD", "set:int16", "1", "-2", "300"]));
    add("set:int32", s(&["SADD", "set:int32", "1", "70000", "-100000"]));
    add("set:int64", s(&["SADD", "set:int64", "1", "5000000000", "-9223372036854775808"]));
    let mut bigint = s(&["SADD", "set:many-ints"]);
    bigint.extend((0..1000).map(|i| (i * 7).to_string()));
    add("set:many-ints", bigint);
    add("set:small", s(&["SADD", "set:small", "a", "bb", "1"]));
    let mut bigset = s(&["SADD", "set:big"]);
    bigset.extend((0..1000).map(|i| format!("member-{i}")));
    add("set:big", bigset);
    add("zset:small", s(&["ZADD", "zset:small", "1", "a", "2.5", "b", "-3", "c", "inf", "top", "-inf", "bottom"]));
    let mut bigz = s(&["ZADD", "zset:big"]);
    for i in 0..600 {
        bigz.push(format!("{}", f64::from(i % 37) * 1.25 - 10.0));
        bigz.push(format!("m{i}"));
    }
    add("zset:big", bigz);
    add("zset:long-member", s(&["ZADD", "zset:long-member", "1", &"m".repeat(100), "2", "short"]));
    add("hash:small", s(&["HSET", "hash:small", "f1", "v1", "f2", "123", "n", "-7"]));
    let mut bigh = s(&["HSET", "hash:big"]);
    for i in 0..600 {
        bigh.push(format!("field-{i}"));
        bigh.push(if i % 3 == 0 { i.to_string() } else { format!("value-{i}") });
    }
    add("hash:big", bigh);
    add("hash:long-value", s(&["HSET", "hash:long-value", "f", &"v".repeat(200)]));
    p
}

fn populate(conn: &mut redis::Connection) -> Vec<String> {
    let mut keys = Vec::new();
    for (key, cmd) in population() {
        let args: Vec<&[u8]> = cmd.iter().map(|a| a.as_bytes()).collect();
        ok(conn, &args);
        keys.push(key);
    }
    keys
}

#[test]
fn values_dumped_by_redis_restore_into_tallkv() {
    let Some(real) = RealRedis::start(&["--enable-debug-command", "yes"]) else { return };
    let mut redis = real.client();
    // Elements of 1000 bytes and more become plain quicklist nodes.
    ok(&mut redis, &[b"DEBUG", b"QUICKLIST-PACKED-THRESHOLD", b"1000"]);
    let keys = populate(&mut redis);
    let srv = Server::start(&["--threads", "4"]);
    let mut tallkv = srv.client();
    for key in &keys {
        let payload = dump(&mut redis, key).expect("dumped");
        let restored = format!("copy:{key}");
        assert_eq!(ok(&mut tallkv, &[b"RESTORE", restored.as_bytes(), b"0", &payload]), redis::Value::Okay, "{key}");
        assert_eq!(contents(&mut tallkv, &restored), contents(&mut redis, key), "{key}");
        // And back: tallkv's DUMP of it restores into Redis.
        let again = dump(&mut tallkv, &restored).expect("dumped by tallkv");
        ok(&mut redis, &[b"RESTORE", restored.as_bytes(), b"0", &again]);
        assert_eq!(contents(&mut redis, &restored), contents(&mut redis, key), "{key} back in Redis");
    }
    // The HyperLogLog is still one.
    let n: i64 = redis::cmd("PFCOUNT").arg("copy:hll").query(&mut tallkv).expect("PFCOUNT");
    assert_eq!(n, 4);
}

#[test]
fn values_dumped_by_tallkv_restore_into_redis() {
    let Some(real) = RealRedis::start(&[]) else { return };
    let mut redis = real.client();
    let srv = Server::start(&["--threads", "4"]);
    let mut tallkv = srv.client();
    let keys = populate(&mut tallkv);
    for key in &keys {
        let payload = dump(&mut tallkv, key).expect("dumped");
        assert_eq!(ok(&mut redis, &[b"RESTORE", key.as_bytes(), b"0", &payload]), redis::Value::Okay, "{key}");
        assert_eq!(contents(&mut redis, key), contents(&mut tallkv, key), "{key}");
    }
    // Redis converts restored values to its configured encodings, as from its own dumps.
    let enc = |conn: &mut redis::Connection, key: &str| -> String {
        redis::cmd("OBJECT").arg("ENCODING").arg(key).query(conn).expect("OBJECT")
    };
    assert_eq!(enc(&mut redis, "hash:small"), "listpack");
    assert_eq!(enc(&mut redis, "hash:big"), "hashtable");
    assert_eq!(enc(&mut redis, "zset:big"), "skiplist");
    assert_eq!(enc(&mut redis, "set:int16"), "intset");
    assert_eq!(enc(&mut redis, "str:int16"), "int");
}

/// A payload with a correct footer around `body`.
fn payload(body: &[u8], version: u16) -> Vec<u8> {
    let mut out = body.to_vec();
    out.extend_from_slice(&version.to_le_bytes());
    let crc = crc64(0, &out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

#[test]
fn replies_and_errors_match_redis() {
    let Some(real) = RealRedis::start(&[]) else { return };
    let mut redis = real.client();
    let srv = Server::start(&["--threads", "4"]);
    let mut tallkv = srv.client();
    let good = payload(&[0, 5, b'h', b'e', b'l', b'l', b'o'], 10);
    let mut bad_crc = good.clone();
    let last = bad_crc.len() - 1;
    bad_crc[last] ^= 0x55;
    let v12 = payload(&[0, 1, b'x'], 12);
    let v11 = payload(&[0, 1, b'x'], 11);
    let garbage = payload(&[0, 0x7f, b'x'], 10);
    let unknown_type = payload(&[8, 1, b'x'], 10);
    let empty_set = payload(&[2, 0], 10);
    let far = (common::now_ms() + 3_600_000).to_string();
    let cases: Vec<Vec<&[u8]>> = vec![
        vec![b"SET", b"busy", b"x"],
        vec![b"RESTORE", b"busy", b"0", &good],
        vec![b"RESTORE", b"busy", b"abc", &good],
        vec![b"RESTORE", b"new", b"abc", &good],
        vec![b"RESTORE", b"new", b"-1", &good],
        vec![b"RESTORE", b"new", b"0", b"short"],
        vec![b"RESTORE", b"new", b"0", &bad_crc],
        vec![b"RESTORE", b"new", b"0", &v12],
        vec![b"RESTORE", b"new", b"0", &garbage],
        vec![b"RESTORE", b"new", b"0", &unknown_type],
        vec![b"RESTORE", b"new", b"0", &empty_set],
        vec![b"RESTORE", b"new", b"0", &good, b"foo"],
        vec![b"RESTORE", b"new", b"0", &good, b"idletime"],
        vec![b"RESTORE", b"new", b"0", &good, b"idletime", b"-1"],
        vec![b"RESTORE", b"new", b"0", &good, b"idletime", b"x"],
        vec![b"RESTORE", b"new", b"0", &good, b"freq", b"256"],
        vec![b"RESTORE", b"new", b"0", &good, b"freq", b"-1"],
        vec![b"RESTORE", b"new", b"0", &good, b"idletime", b"1", b"freq", b"3"],
        vec![b"RESTORE", b"new", b"0", &good, b"freq", b"1", b"idletime", b"3"],
        vec![b"RESTORE", b"new", b"0", &good, b"REPLACE", b"ABSTTL", b"IDLETIME", b"10"],
        vec![b"GET", b"new"],
        vec![b"OBJECT", b"IDLETIME", b"new"],
        vec![b"RESTORE", b"new", b"0", &good],
        vec![b"RESTORE", b"busy", b"1", &good, b"REPLACE", b"ABSTTL"],
        vec![b"EXISTS", b"busy"],
        vec![b"RESTORE", b"past", b"1", &good, b"ABSTTL"],
        vec![b"EXISTS", b"past"],
        vec![b"RESTORE", b"overflow", b"9223372036854775807", &good],
        vec![b"EXISTS", b"overflow"],
        vec![b"RESTORE", b"abs", far.as_bytes(), &good, b"ABSTTL"],
        vec![b"PEXPIRETIME", b"abs"],
        vec![b"DUMP", b"missing"],
        vec![b"RESTORE"],
        vec![b"DUMP"],
        vec![b"DUMP", b"a", b"b"],
    ];
    // Redis 7.0 refuses RDB 11 (Redis 7.2) payloads; tallkv takes them.
    assert_eq!(ok(&mut tallkv, &[b"RESTORE", b"v11", b"0", &v11]), redis::Value::Okay);
    for case in &cases {
        let ours = reply_text(&mut tallkv, case);
        let theirs = reply_text(&mut redis, case);
        let shown: Vec<String> = case.iter().map(|a| String::from_utf8_lossy(a).chars().take(20).collect()).collect();
        assert_eq!(ours, theirs, "{shown:?}");
    }
}

#[test]
fn ttl_idle_and_freq() {
    let srv = Server::start(&["--threads", "4"]);
    let mut c = srv.client();
    ok(&mut c, &[b"SET", b"src", b"value"]);
    let p = dump(&mut c, "src").expect("dump");
    ok(&mut c, &[b"RESTORE", b"ttl", b"5000", &p]);
    let pttl: i64 = redis::cmd("PTTL").arg("ttl").query(&mut c).expect("PTTL");
    assert!((4000..=5000).contains(&pttl), "{pttl}");
    ok(&mut c, &[b"RESTORE", b"idle", b"0", &p, b"IDLETIME", b"12345"]);
    let idle: i64 = redis::cmd("OBJECT").arg("IDLETIME").arg("idle").query(&mut c).expect("IDLETIME");
    assert!((12345..=12347).contains(&idle), "{idle}");
    ok(&mut c, &[b"CONFIG", b"SET", b"maxmemory-policy", b"allkeys-lfu"]);
    ok(&mut c, &[b"RESTORE", b"freq", b"0", &p, b"FREQ", b"200"]);
    let freq: i64 = redis::cmd("OBJECT").arg("FREQ").arg("freq").query(&mut c).expect("FREQ");
    assert_eq!(freq, 200);
    // Without FREQ a restored key starts like a new one.
    ok(&mut c, &[b"RESTORE", b"fresh", b"0", &p]);
    let freq: i64 = redis::cmd("OBJECT").arg("FREQ").arg("fresh").query(&mut c).expect("FREQ");
    assert_eq!(freq, 5);
    // DUMP counts as a read (keyspace hits).
    let info: String = redis::cmd("INFO").arg("stats").query(&mut c).expect("INFO");
    assert!(info.contains("keyspace_hits:"), "{info}");
}

#[test]
fn restore_events() {
    let srv = Server::start(&["--threads", "4"]);
    let mut c = srv.client();
    ok(&mut c, &[b"CONFIG", b"SET", b"notify-keyspace-events", b"KEAn"]);
    ok(&mut c, &[b"SET", b"src", b"value"]);
    let p = dump(&mut c, "src").expect("dump");
    let mut sub = srv.raw();
    assert!(common::cmd(&mut sub, "PSUBSCRIBE __keyevent@0__:*").contains("psubscribe"));
    ok(&mut c, &[b"RESTORE", b"k", b"0", &p]);
    ok(&mut c, &[b"RESTORE", b"k", b"0", &p, b"REPLACE"]);
    ok(&mut c, &[b"RESTORE", b"k", b"1", &p, b"REPLACE", b"ABSTTL"]);
    ok(&mut c, &[b"RESTORE", b"gone", b"1", &p, b"ABSTTL"]);
    ok(&mut c, &[b"SET", b"marker", b"1"]);
    let mut events = Vec::new();
    loop {
        let reply = String::from_utf8_lossy(&sub.read_reply()).into_owned();
        // *4 $8 pmessage $pattern $channel $key: the channel is the 6th line.
        let channel = reply.split("\r\n").nth(6).unwrap_or("").trim_start_matches("__keyevent@0__:").to_string();
        let key = reply.split("\r\n").nth(8).unwrap_or("").to_string();
        if key == "marker" {
            break;
        }
        events.push(format!("{channel} {key}"));
    }
    // As Redis 7.0: REPLACE adds the key anew; a restore already expired deletes it.
    assert_eq!(events, ["new k", "restore k", "new k", "restore k", "del k"]);
}
