//! Snapshots: SAVE, BGSAVE, LASTSAVE, `save` rules, the save at shutdown, loading at
//! startup (also with another `--threads`), the Redis RDB format both ways with the real
//! redis-server, write refusal after a failed snapshot, and point-in-time consistency.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{RealRedis, Server, cmd, free_port, fresh_dir};
use redis::Commands;

fn dir_arg(dir: &Path) -> String {
    dir.display().to_string()
}

/// Starts tallkv on `dir` with `args` (no `save` rules unless `args` give some).
fn start_on(dir: &Path, args: &[&str]) -> Server {
    let dir = dir_arg(dir);
    let mut all = vec!["--dir", dir.as_str(), "--save", ""];
    all.extend_from_slice(args);
    Server::start(&all)
}

/// Waits until `done` holds, up to 10 s.
fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if done() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("timed out waiting for {what}");
}

fn info_field(conn: &mut redis::Connection, name: &str) -> String {
    let info: String = redis::cmd("INFO").arg("persistence").query(conn).expect("info");
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .unwrap_or_else(|| panic!("no {name} in {info}"))
        .trim()
        .to_string()
}

/// Fills every type, a TTL, two databases and a function library.
fn fill(conn: &mut redis::Connection) {
    let _: () = conn.set("str", "hello").unwrap();
    let _: () = conn.set("int", 12345).unwrap();
    let _: () = redis::cmd("SET").arg("ttl").arg("v").arg("EX").arg(1000).query(conn).unwrap();
    let _: () = conn.rpush("list", &["a", "b", "c"]).unwrap();
    let _: () = conn.hset_multiple("hash", &[("f1", "v1"), ("f2", "v2")]).unwrap();
    let _: () = conn.sadd("set", &["x", "y", "z"]).unwrap();
    let _: () = conn.sadd("intset", &[1, 2, 3]).unwrap();
    let _: () = redis::cmd("ZADD").arg("zset").arg(1.5).arg("m1").arg(-2).arg("m2").query(conn).unwrap();
    let _: () = redis::cmd("PFADD").arg("hll").arg("a").arg("b").query(conn).unwrap();
    for i in 0..200 {
        let _: () = conn.set(format!("k{i}"), i).unwrap();
    }
    let _: () = redis::cmd("SELECT").arg(5).query(conn).unwrap();
    let _: () = conn.set("in5", "five").unwrap();
    let _: () = redis::cmd("SELECT").arg(0).query(conn).unwrap();
    let _: String = redis::cmd("FUNCTION")
        .arg("LOAD")
        .arg("#!lua name=snaplib\nredis.register_function('snapf', function() return 'snap' end)")
        .query(conn)
        .unwrap();
}

/// Checks what [`fill`] wrote.
fn check(conn: &mut redis::Connection) {
    let s: String = conn.get("str").unwrap();
    assert_eq!(s, "hello");
    let n: i64 = conn.get("int").unwrap();
    assert_eq!(n, 12345);
    let ttl: i64 = conn.ttl("ttl").unwrap();
    assert!((900..=1000).contains(&ttl), "ttl {ttl}");
    let l: Vec<String> = conn.lrange("list", 0, -1).unwrap();
    assert_eq!(l, ["a", "b", "c"]);
    let h: std::collections::BTreeMap<String, String> = conn.hgetall("hash").unwrap();
    assert_eq!(h.len(), 2);
    assert_eq!(h["f2"], "v2");
    let mut members: Vec<String> = conn.smembers("set").unwrap();
    members.sort();
    assert_eq!(members, ["x", "y", "z"]);
    let z: Vec<(String, f64)> = conn.zrange_withscores("zset", 0, -1).unwrap();
    assert_eq!(z, [("m2".to_string(), -2.0), ("m1".to_string(), 1.5)]);
    let count: i64 = redis::cmd("PFCOUNT").arg("hll").query(conn).unwrap();
    assert_eq!(count, 2);
    for i in [0, 99, 199] {
        let v: i64 = conn.get(format!("k{i}")).unwrap();
        assert_eq!(v, i);
    }
    let _: () = redis::cmd("SELECT").arg(5).query(conn).unwrap();
    let v: String = conn.get("in5").unwrap();
    assert_eq!(v, "five");
    let _: () = redis::cmd("SELECT").arg(0).query(conn).unwrap();
    let f: String = redis::cmd("FCALL").arg("snapf").arg(0).query(conn).unwrap();
    assert_eq!(f, "snap");
    let size: i64 = redis::cmd("DBSIZE").query(conn).unwrap();
    assert_eq!(size, 209);
}

#[test]
fn save_and_restart_with_the_same_and_other_thread_counts() {
    let dir = fresh_dir("snap-restart");
    {
        let server = start_on(&dir, &["--threads", "4"]);
        let mut conn = server.client();
        fill(&mut conn);
        let before: i64 = redis::cmd("LASTSAVE").query(&mut conn).unwrap();
        eventually("changes to be counted", || {
            info_field(&mut conn, "rdb_changes_since_last_save").parse::<u64>().unwrap() > 0
        });
        let ok: String = redis::cmd("SAVE").query(&mut conn).unwrap();
        assert_eq!(ok, "OK");
        let after: i64 = redis::cmd("LASTSAVE").query(&mut conn).unwrap();
        assert!(after >= before);
        assert_eq!(info_field(&mut conn, "rdb_last_bgsave_status"), "ok");
        assert_eq!(info_field(&mut conn, "rdb_saves"), "1");
        eventually("the dirty count to be published", || info_field(&mut conn, "rdb_changes_since_last_save") == "0");
        // Killed without a save at exit: only the snapshot holds the data.
        let _: () = conn.set("after-save", "lost").unwrap();
    }
    for threads in ["4", "2", "3", "1"] {
        let server = start_on(&dir, &["--threads", threads]);
        let mut conn = server.client();
        check(&mut conn);
        let lost: Option<String> = conn.get("after-save").unwrap();
        assert_eq!(lost, None, "threads {threads}");
        assert_eq!(info_field(&mut conn, "rdb_last_load_keys_loaded"), "210", "threads {threads}");
    }
    // Only the newest generation's files are kept.
    let files: Vec<String> =
        std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert_eq!(files.iter().filter(|f| f.ends_with(".tkv")).count(), 4, "{files:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bgsave_is_a_point_in_time_view_while_writes_go_on() {
    let dir = fresh_dir("snap-pit");
    let keys = 100_000;
    {
        let server = start_on(&dir, &["--threads", "2"]);
        let mut conn = server.client();
        let mut pipe = redis::pipe();
        for i in 0..keys {
            pipe.cmd("SET").arg(format!("key:{i}")).arg(format!("old:{i}")).ignore();
        }
        let _: () = pipe.query(&mut conn).unwrap();
        let reply: String = redis::cmd("BGSAVE").query(&mut conn).unwrap();
        assert_eq!(reply, "Background saving started");
        // Everything written after BGSAVE answered is outside the snapshot.
        let mut pipe = redis::pipe();
        for i in 0..keys {
            if i % 3 == 0 {
                pipe.cmd("DEL").arg(format!("key:{i}")).ignore();
            } else {
                pipe.cmd("SET").arg(format!("key:{i}")).arg(format!("new:{i}")).ignore();
            }
            pipe.cmd("SET").arg(format!("extra:{i}")).arg("x").ignore();
        }
        let _: () = pipe.query(&mut conn).unwrap();
        eventually("BGSAVE to finish", || info_field(&mut conn, "rdb_bgsave_in_progress") == "0");
        assert_eq!(info_field(&mut conn, "rdb_last_bgsave_status"), "ok");
    }
    let server = start_on(&dir, &["--threads", "2"]);
    let mut conn = server.client();
    let size: i64 = redis::cmd("DBSIZE").query(&mut conn).unwrap();
    assert_eq!(size, keys);
    for i in (0..keys).step_by(997) {
        let v: String = conn.get(format!("key:{i}")).unwrap();
        assert_eq!(v, format!("old:{i}"));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn save_rules_shutdown_and_signals_save() {
    let dir = fresh_dir("snap-rules");
    {
        let server = start_on(&dir, &["--threads", "2", "--save", "1 1"]);
        let mut conn = server.client();
        let before: i64 = redis::cmd("LASTSAVE").query(&mut conn).unwrap();
        let _: () = conn.set("by-rule", "1").unwrap();
        eventually("a snapshot from the save rule", || {
            let now: i64 = redis::cmd("LASTSAVE").query(&mut conn).unwrap();
            now > before && info_field(&mut conn, "rdb_saves") == "1"
        });
    }
    {
        let server = start_on(&dir, &["--threads", "2"]);
        let mut conn = server.client();
        let v: String = conn.get("by-rule").unwrap();
        assert_eq!(v, "1");
    }
    // SHUTDOWN with save rules saves; SHUTDOWN NOSAVE does not.
    {
        let mut server = start_on(&dir, &["--threads", "2", "--save", "3600 1"]);
        let mut r = server.raw();
        assert_eq!(cmd(&mut r, "SET at-shutdown yes"), "+OK\r\n");
        r.send(&common::encode_command(&[b"SHUTDOWN"]));
        assert!(r.is_closed());
        assert!(server.wait_exit(Duration::from_secs(10)).is_some());
    }
    {
        let mut server = start_on(&dir, &["--threads", "2"]);
        let mut r = server.raw();
        assert_eq!(cmd(&mut r, "GET at-shutdown"), "$3\r\nyes\r\n");
        assert_eq!(cmd(&mut r, "SET not-saved yes"), "+OK\r\n");
        r.send(&common::encode_command(&[b"SHUTDOWN", b"NOSAVE"]));
        assert!(server.wait_exit(Duration::from_secs(10)).is_some());
    }
    // SIGTERM with save rules saves before exiting.
    {
        let mut server = start_on(&dir, &["--threads", "2", "--save", "3600 1"]);
        let mut r = server.raw();
        assert_eq!(cmd(&mut r, "GET not-saved"), "$-1\r\n");
        assert_eq!(cmd(&mut r, "SET at-sigterm yes"), "+OK\r\n");
        let status = Command::new("kill").arg("-TERM").arg(server.pid().to_string()).status().unwrap();
        assert!(status.success());
        let exit = server.wait_exit(Duration::from_secs(10)).expect("exits");
        assert!(exit.success());
    }
    let server = start_on(&dir, &["--threads", "1"]);
    let mut r = server.raw();
    assert_eq!(cmd(&mut r, "GET at-sigterm"), "$3\r\nyes\r\n");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_failed_snapshot_refuses_writes_until_one_succeeds() {
    let dir = fresh_dir("snap-misconf");
    let server = start_on(&dir, &["--threads", "2", "--save", "3600 1"]);
    let mut r = server.raw();
    assert_eq!(cmd(&mut r, "SET k v"), "+OK\r\n");
    // `dbfilename` names a directory: the manifest cannot be written.
    std::fs::create_dir_all(dir.join("dump.rdb")).unwrap();
    assert_eq!(cmd(&mut r, "SAVE"), "-ERR\r\n");
    assert_eq!(cmd(&mut r, "BGSAVE"), "+Background saving started\r\n");
    let mut conn = server.client();
    eventually("the failed BGSAVE", || info_field(&mut conn, "rdb_bgsave_in_progress") == "0");
    assert_eq!(info_field(&mut conn, "rdb_last_bgsave_status"), "err");
    let refused = cmd(&mut r, "SET k2 v");
    assert!(refused.starts_with("-MISCONF Redis is configured to save RDB snapshots"), "{refused}");
    assert_eq!(cmd(&mut r, "GET k"), "$1\r\nv\r\n");
    // Turning the option off lifts the refusal; so does a successful snapshot.
    assert_eq!(cmd(&mut r, "CONFIG SET stop-writes-on-bgsave-error no"), "+OK\r\n");
    eventually("writes to be allowed", || cmd(&mut r, "SET k3 v") == "+OK\r\n");
    assert_eq!(cmd(&mut r, "CONFIG SET stop-writes-on-bgsave-error yes"), "+OK\r\n");
    eventually("writes to be refused again", || cmd(&mut r, "SET k4 v").starts_with("-MISCONF"));
    std::fs::remove_dir(dir.join("dump.rdb")).unwrap();
    assert_eq!(cmd(&mut r, "SAVE"), "+OK\r\n");
    assert_eq!(cmd(&mut r, "SET k5 v"), "+OK\r\n");
    // No temp files are left behind by the failures.
    let leftovers: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|f| f.contains("tmp") || f.starts_with("temp-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn command_errors_match_redis() {
    let server = Server::start(&["--save", ""]);
    let mut r = server.raw();
    assert_eq!(cmd(&mut r, "BGSAVE foo"), "-ERR syntax error\r\n");
    assert_eq!(cmd(&mut r, "SAVE x"), "-ERR wrong number of arguments for 'save' command\r\n");
    assert_eq!(cmd(&mut r, "LASTSAVE x"), "-ERR wrong number of arguments for 'lastsave' command\r\n");
    assert!(cmd(&mut r, "LASTSAVE").starts_with(':'));
    assert_eq!(cmd(&mut r, "BGSAVE SCHEDULE"), "+Background saving started\r\n");
}

#[test]
fn a_corrupt_snapshot_stops_startup_naming_the_file() {
    let dir = fresh_dir("snap-corrupt");
    {
        let server = start_on(&dir, &["--threads", "1"]);
        let mut conn = server.client();
        for i in 0..1000 {
            let _: () = conn.set(format!("k{i}"), "value").unwrap();
        }
        let _: String = redis::cmd("SAVE").query(&mut conn).unwrap();
    }
    let file = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "tkv"))
        .expect("a shard file");
    let mut data = std::fs::read(&file).unwrap();
    let middle = data.len() / 2;
    data[middle] ^= 0x55;
    std::fs::write(&file, &data).unwrap();
    let dir_text = dir_arg(&dir);
    let (ok, output) = common::run_to_exit(&["--port", &free_port().to_string(), "--dir", &dir_text, "--save", ""]);
    assert!(!ok);
    let name = file.file_name().unwrap().to_string_lossy().into_owned();
    assert!(output.contains(&name) && output.contains("offset"), "{output}");
    let _ = std::fs::remove_dir_all(&dir);
}

// ---------------------------------------------------------------------------------------
// Redis interoperability (needs the real redis-server: tools/install-test-deps.sh)

#[test]
fn rdb_files_move_both_ways_with_redis() {
    let dir = fresh_dir("snap-rdb");
    // tallkv writes a Redis RDB file...
    {
        let server = start_on(&dir, &["--threads", "4", "--snapshot-format", "rdb"]);
        let mut conn = server.client();
        fill(&mut conn);
        let _: String = redis::cmd("SAVE").query(&mut conn).unwrap();
    }
    assert!(std::fs::read(dir.join("dump.rdb")).unwrap().starts_with(b"REDIS0010"));
    // ... which Redis loads ...
    let Some(redis) = RealRedis::start_in(&dir, &["--dbfilename", "dump.rdb"]) else { return };
    let mut conn = redis.client();
    check(&mut conn);
    // ... and Redis's own file (written by SAVE) loads into tallkv, as `dbfilename` ...
    let _: () = conn.set("from-redis", "yes").unwrap();
    let big: Vec<String> = (0..1000).map(|i| format!("member{i}")).collect();
    let _: () = conn.sadd("bigset", &big).unwrap();
    let _: String = redis::cmd("SAVE").query(&mut conn).unwrap();
    drop(conn);
    drop(redis);
    {
        let server = start_on(&dir, &["--threads", "3"]);
        let mut conn = server.client();
        check_redis_additions(&mut conn);
    }
    // ... or through --import-rdb, from anywhere.
    let other = fresh_dir("snap-import");
    std::fs::rename(dir.join("dump.rdb"), other.join("from-redis.rdb")).unwrap();
    let import = dir_arg(&other.join("from-redis.rdb"));
    let server = start_on(&dir, &["--threads", "2", "--import-rdb", &import]);
    let mut conn = server.client();
    check_redis_additions(&mut conn);
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&other);
}

fn check_redis_additions(conn: &mut redis::Connection) {
    let _: () = redis::cmd("SELECT").arg(0).query(conn).unwrap();
    let v: String = conn.get("from-redis").unwrap();
    assert_eq!(v, "yes");
    let n: i64 = conn.scard("bigset").unwrap();
    assert_eq!(n, 1000);
    let size: i64 = redis::cmd("DBSIZE").query(conn).unwrap();
    assert_eq!(size, 211);
    let f: String = redis::cmd("FCALL").arg("snapf").arg(0).query(conn).unwrap();
    assert_eq!(f, "snap");
}
