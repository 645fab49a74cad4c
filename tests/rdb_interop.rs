//! Whole RDB files both ways with the real redis-server: a file Redis's SAVE writes is
//! read by `RdbReader` with every key, database, TTL and function library; a file
//! `RdbWriter` writes is loaded by redis-server with the same contents.
//!
//! The tests print a note and return when `redis-server` is not on PATH
//! (`tools/install-test-deps.sh` installs it).

mod common;

use std::collections::BTreeMap;

use common::{RealRedis, fresh_dir};
use tallkv::persist::rdb::file::{Item, RdbReader, RdbWriter};
use tallkv::types::hash::HashLimits;
use tallkv::types::set::SetLimits;
use tallkv::types::zset::ZSetLimits;
use tallkv::types::{HashValue, ListValue, SetValue, StrValue, Value, ZSetValue};

fn q<T: redis::FromRedisValue>(conn: &mut redis::Connection, args: &[&str]) -> T {
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query(conn).unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

/// A value's contents in a comparable form: type and items (sets and hashes sorted).
fn value_contents(v: &Value) -> (String, Vec<Vec<u8>>) {
    let items = match v {
        Value::Str(s) => vec![s.with_bytes(|b| b.to_vec())],
        Value::List(l) => l.iter().map(|e| e.to_vec()).collect(),
        Value::Set(s) => {
            let mut m: Vec<Vec<u8>> = s.iter().map(|m| m.to_vec()).collect();
            m.sort();
            m
        }
        Value::ZSet(z) => {
            z.iter().flat_map(|(score, m)| [m.to_vec(), tallkv::util::num::format_double(score).into_bytes()]).collect()
        }
        Value::Hash(h) => {
            let mut p: Vec<Vec<u8>> = h.iter().map(|(f, v)| [f, b"=", v].concat()).collect();
            p.sort();
            p
        }
    };
    (v.type_name().to_string(), items)
}

/// The same, read from a server with commands.
fn server_contents(conn: &mut redis::Connection, key: &str) -> (String, Vec<Vec<u8>>) {
    let ty: String = q(conn, &["TYPE", key]);
    let items: Vec<Vec<u8>> = match ty.as_str() {
        "string" => vec![q(conn, &["GET", key])],
        "list" => q(conn, &["LRANGE", key, "0", "-1"]),
        "set" => {
            let mut m: Vec<Vec<u8>> = q(conn, &["SMEMBERS", key]);
            m.sort();
            m
        }
        "zset" => q(conn, &["ZRANGE", key, "0", "-1", "WITHSCORES"]),
        "hash" => {
            let flat: Vec<Vec<u8>> = q(conn, &["HGETALL", key]);
            let mut p: Vec<Vec<u8>> = flat.chunks(2).map(|p| [&p[0][..], b"=", &p[1][..]].concat()).collect();
            p.sort();
            p
        }
        other => panic!("unexpected type {other} for {key}"),
    };
    (ty, items)
}

/// Fills databases 0, 1 and 9 of Redis with every type and encoding, some keys with a
/// TTL; returns (db, key, expire-at-ms or -1).
fn fill_redis(conn: &mut redis::Connection) -> Vec<(usize, String, i64)> {
    let far = common::now_ms() + 3_600_000;
    let mut keys = Vec::new();
    for db in [0usize, 1, 9] {
        let _: () = q(conn, &["SELECT", &db.to_string()]);
        let k = |name: &str| format!("{name}:{db}");
        let _: () = q(conn, &["SET", &k("str"), "hello"]);
        let _: () = q(conn, &["SET", &k("int"), "-123456"]);
        let _: () = q(conn, &["SET", &k("big"), &"lzf lzf lzf ".repeat(1000)]);
        let _: i64 = q(conn, &["RPUSH", &k("list"), "a", "1", "b"]);
        let mut big = vec!["RPUSH".to_string(), k("biglist")];
        big.extend((0..3000).map(|i| format!("e{i}")));
        let _: i64 = q(conn, &big.iter().map(String::as_str).collect::<Vec<_>>());
        let _: i64 = q(conn, &["SADD", &k("intset"), "1", "2", "70000"]);
        let _: i64 = q(conn, &["SADD", &k("set"), "a", "b"]);
        let mut zs = vec!["ZADD".to_string(), k("bigzset")];
        for i in 0..300 {
            zs.push(format!("{}", f64::from(i) / 4.0));
            zs.push(format!("m{i}"));
        }
        let _: i64 = q(conn, &zs.iter().map(String::as_str).collect::<Vec<_>>());
        let _: i64 = q(conn, &["ZADD", &k("zset"), "1.5", "x", "-inf", "y"]);
        let _: i64 = q(conn, &["HSET", &k("hash"), "f", "v", "n", "12"]);
        let mut hs = vec!["HSET".to_string(), k("bighash")];
        for i in 0..600 {
            hs.push(format!("f{i}"));
            hs.push(format!("v{i}"));
        }
        let _: i64 = q(conn, &hs.iter().map(String::as_str).collect::<Vec<_>>());
        let _: i64 = q(conn, &["PEXPIREAT", &k("str"), &far.to_string()]);
        let _: i64 = q(conn, &["PEXPIREAT", &k("bighash"), &far.to_string()]);
        for name in ["str", "int", "big", "list", "biglist", "intset", "set", "bigzset", "zset", "hash", "bighash"] {
            let expire = if name == "str" || name == "bighash" { far } else { -1 };
            keys.push((db, k(name), expire));
        }
    }
    let _: () = q(conn, &["SELECT", "0"]);
    keys
}

const LIBRARY: &str = "#!lua name=mylib\nredis.register_function('myfunc', function(keys, args) return 1 end)";

#[test]
fn rdb_written_by_redis_save_reads_back() {
    let dir = fresh_dir("rdb-from-redis");
    let Some(real) = RealRedis::start_in(&dir, &[]) else { return };
    let mut conn = real.client();
    let keys = fill_redis(&mut conn);
    let _: String = q(&mut conn, &["FUNCTION", "LOAD", LIBRARY]);
    let _: () = q(&mut conn, &["SAVE"]);

    let file = std::fs::File::open(dir.join("dump.rdb")).expect("dump.rdb");
    let mut reader = RdbReader::new(std::io::BufReader::new(file)).expect("header");
    assert_eq!(reader.version(), 10);
    let mut entries = BTreeMap::new();
    let mut aux = BTreeMap::new();
    let mut functions = Vec::new();
    while let Some(item) = reader.next_item().expect("item") {
        match item {
            Item::Entry { db, key, value, expire_at_ms, .. } => {
                entries.insert((db, String::from_utf8(key).expect("key")), (value, expire_at_ms));
            }
            Item::Aux { key, value } => {
                aux.insert(String::from_utf8_lossy(&key).into_owned(), String::from_utf8_lossy(&value).into_owned());
            }
            Item::Function(code) => functions.push(code),
            Item::SelectDb(_) | Item::ResizeDb { .. } => {}
        }
    }
    assert_eq!(aux.get("redis-bits").map(String::as_str), Some("64"));
    assert!(aux.contains_key("redis-ver") && aux.contains_key("ctime"), "{aux:?}");
    assert_eq!(functions, vec![LIBRARY.as_bytes().to_vec()]);
    assert_eq!(entries.len(), keys.len());
    for (db, key, expire) in &keys {
        let (value, expire_at) = entries.get(&(*db, key.clone())).unwrap_or_else(|| panic!("{db} {key} missing"));
        assert_eq!(*expire_at, *expire, "{key}");
        let _: () = q(&mut conn, &["SELECT", &db.to_string()]);
        assert_eq!(value_contents(value), server_contents(&mut conn, key), "{db} {key}");
    }
}

/// Values of every type for the file tallkv writes.
fn our_values() -> Vec<(String, Value)> {
    let hl = HashLimits { max_entries: 512, max_value: 64 };
    let sl = SetLimits { intset_entries: 512, listpack_entries: 128, listpack_value: 64 };
    let zl = ZSetLimits { max_entries: 128, max_value: 64 };
    let mut v: Vec<(String, Value)> = vec![
        ("str".into(), Value::Str(StrValue::from_bytes(b"value"))),
        ("int".into(), Value::Str(StrValue::from_int(-77))),
        ("bigint".into(), Value::Str(StrValue::from_int(i64::MIN))),
        ("lzf".into(), Value::Str(StrValue::from_bytes("abc".repeat(5000).as_bytes()))),
    ];
    let items: Vec<String> = (0..4000).map(|i| format!("item{i}")).collect();
    v.push(("list".into(), Value::List(Box::new(ListValue::from_items(items.iter().map(|s| s.as_bytes()))))));
    let mut ints = SetValue::new_intset();
    for i in [-5i64, 0, 1 << 40] {
        ints.add(i.to_string().as_bytes(), sl);
    }
    v.push(("intset".into(), Value::Set(Box::new(ints))));
    let mut set = SetValue::new_hashtable(0);
    for i in 0..700 {
        set.add(format!("s{i}").as_bytes(), sl);
    }
    v.push(("set".into(), Value::Set(Box::new(set))));
    let mut z = ZSetValue::new();
    for i in 0..400 {
        z.insert(f64::from(i) * 0.75, format!("z{i}").as_bytes(), zl);
    }
    z.insert(f64::INFINITY, b"inf", zl);
    v.push(("zset".into(), Value::ZSet(Box::new(z))));
    let mut h = HashValue::new();
    for i in 0..50 {
        h.set(format!("h{i}").as_bytes(), format!("{i}").as_bytes(), hl);
    }
    v.push(("hash".into(), Value::Hash(Box::new(h))));
    v
}

#[test]
fn rdb_written_by_tallkv_loads_into_redis() {
    let dir = fresh_dir("rdb-to-redis");
    let now = common::now_ms();
    let mut w = RdbWriter::new(std::fs::File::create(dir.join("x.rdb")).expect("create")).expect("header");
    w.standard_aux(now / 1000, 1 << 20, false).expect("aux");
    w.function(LIBRARY.as_bytes()).expect("function");
    let values = our_values();
    for db in [0usize, 3, 15] {
        for (i, (name, value)) in values.iter().enumerate() {
            let expire = if i % 3 == 0 { now + 3_600_000 } else { -1 };
            w.entry(db, format!("{name}:{db}").as_bytes(), value, expire).expect("entry");
        }
        // Already expired: Redis drops it while loading.
        w.entry(db, format!("expired:{db}").as_bytes(), &values[0].1, now - 1000).expect("entry");
    }
    w.finish().expect("finish");

    let Some(real) = RealRedis::start_in(&dir, &["--dbfilename", "x.rdb"]) else { return };
    let mut conn = real.client();
    for db in [0usize, 3, 15] {
        let _: () = q(&mut conn, &["SELECT", &db.to_string()]);
        let size: usize = q(&mut conn, &["DBSIZE"]);
        assert_eq!(size, values.len(), "db {db}");
        for (i, (name, value)) in values.iter().enumerate() {
            let key = format!("{name}:{db}");
            assert_eq!(server_contents(&mut conn, &key), value_contents(value), "{key}");
            let ttl: i64 = q(&mut conn, &["PTTL", &key]);
            if i % 3 == 0 {
                assert!(ttl > 3_500_000, "{key} {ttl}");
            } else {
                assert_eq!(ttl, -1, "{key}");
            }
        }
    }
    let _: () = q(&mut conn, &["SELECT", "0"]);
    let n: i64 = q(&mut conn, &["FCALL", "myfunc", "0"]);
    assert_eq!(n, 1);
    // And tallkv's own reader agrees with what it wrote.
    let file = std::fs::File::open(dir.join("x.rdb")).expect("open");
    let count = RdbReader::new(file).expect("header").filter(|i| matches!(i, Ok(Item::Entry { .. }))).count();
    assert_eq!(count, 3 * (values.len() + 1));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn rdb_reader_names_the_offset_of_corruption() {
    let dir = fresh_dir("rdb-corrupt");
    let Some(real) = RealRedis::start_in(&dir, &[]) else { return };
    let mut conn = real.client();
    fill_redis(&mut conn);
    let _: () = q(&mut conn, &["SAVE"]);
    let mut data = std::fs::read(dir.join("dump.rdb")).expect("dump.rdb");
    drop(real);
    let _ = std::fs::remove_dir_all(&dir);
    // A flipped byte in the middle: the checksum (or the decoder) catches it.
    let mid = data.len() / 2;
    data[mid] ^= 0x40;
    let err = RdbReader::new(&data[..]).expect("header").collect::<Result<Vec<_>, _>>().unwrap_err();
    assert!(err.to_string().contains("offset"), "{err}");
    // Cut short: truncated, with an offset.
    let err = RdbReader::new(&data[..mid]).expect("header").collect::<Result<Vec<_>, _>>().unwrap_err();
    assert!(err.to_string().contains("unexpected end of RDB data at offset"), "{err}");
}
