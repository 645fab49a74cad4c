//! BGREWRITEAOF and runtime `CONFIG SET appendonly`: the journal compacts into per-shard
//! bases plus fresh journals, restarts load them (with any `--threads`), and a kill -9 at
//! any moment of a rewrite leaves a loadable state.

mod common;

use std::time::{Duration, Instant};

use common::{Server, cmd, fresh_dir};

fn start(dir: &std::path::Path, threads: &str, extra: &[&str]) -> Server {
    let d = dir.to_str().unwrap();
    let mut args = vec!["--dir", d, "--threads", threads];
    args.extend_from_slice(extra);
    Server::start(&args)
}

fn journal_bytes(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir.join("appendonlydir"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "jrnl"))
        .map(|p| std::fs::metadata(p).unwrap().len())
        .sum()
}

fn manifest(dir: &std::path::Path) -> String {
    std::fs::read_to_string(dir.join("appendonlydir/appendonly.aof.manifest")).unwrap_or_default()
}

/// Waits until INFO persistence says no rewrite runs (up to 20 s).
fn wait_rewrite_done(r: &mut common::Raw) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        let info = cmd(r, "INFO persistence");
        if info.contains("aof_rewrite_in_progress:0") && info.contains("aof_rewrite_scheduled:0") {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("the rewrite did not finish");
}

/// Loads `n` keys `key:<i>` = `<i>` with pipelined MSETs of 500 keys.
fn populate(r: &mut common::Raw, n: usize) {
    let mut sent = 0;
    let mut batch = Vec::new();
    for start in (0..n).step_by(500) {
        let mut args: Vec<String> = vec!["MSET".into()];
        for i in start..(start + 500).min(n) {
            args.push(format!("key:{i}"));
            args.push(i.to_string());
        }
        let refs: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        batch.extend_from_slice(&common::encode_command(&refs));
        sent += 1;
        if sent % 50 == 0 {
            r.send(&batch);
            batch.clear();
            for _ in 0..50 {
                assert_eq!(r.read_reply(), b"+OK\r\n");
            }
        }
    }
    r.send(&batch);
    for _ in 0..sent % 50 {
        assert_eq!(r.read_reply(), b"+OK\r\n");
    }
}

#[test]
fn rewrite_compacts_keeps_writes_during_it_and_loads_with_any_thread_count() {
    let dir = fresh_dir("rewrite-basic");
    {
        let srv = start(&dir, "4", &["--appendonly", "yes"]);
        let mut r = srv.raw();
        for round in 0..40 {
            for k in 0..25 {
                assert_eq!(cmd(&mut r, &format!("SET k{k} round{round}-{}", "x".repeat(50))), "+OK\r\n");
            }
        }
        assert_eq!(cmd(&mut r, "RPUSH list a b c"), ":3\r\n");
        assert_eq!(cmd(&mut r, "SET ttl v EX 1000"), "+OK\r\n");
        assert_eq!(cmd(&mut r, "SELECT 5"), "+OK\r\n");
        assert_eq!(cmd(&mut r, "HSET h f v"), ":1\r\n");
        assert_eq!(cmd(&mut r, "SELECT 0"), "+OK\r\n");
        std::thread::sleep(Duration::from_millis(1100));
        let before = journal_bytes(&dir);
        assert_eq!(cmd(&mut r, "BGREWRITEAOF"), "+Background append only file rewriting started\r\n");
        // Writes while the rewrite runs go to the new journals.
        let mut during = srv.raw();
        for i in 0..50 {
            assert_eq!(cmd(&mut during, &format!("SET during{i} {i}")), "+OK\r\n");
        }
        wait_rewrite_done(&mut r);
        assert_eq!(cmd(&mut r, "SET after yes"), "+OK\r\n");
        assert_eq!(cmd(&mut r, "INCR k0-counter"), ":1\r\n");
        std::thread::sleep(Duration::from_millis(1100));
        let text = manifest(&dir);
        assert_eq!(text.matches("\nbase ").count(), 4, "{text}");
        assert_eq!(text.matches("\njournal ").count(), 4, "{text}");
        let after = journal_bytes(&dir);
        assert!(after * 4 < before, "the journal did not shrink: {before} -> {after}");
        let info = cmd(&mut r, "INFO persistence");
        assert!(info.contains("aof_rewrites:1") && info.contains("aof_last_bgrewrite_status:ok"), "{info}");
    }
    // kill -9 (Server's drop), restart with the same and with other thread counts.
    for threads in ["4", "3", "1"] {
        let srv = start(&dir, threads, &["--appendonly", "yes"]);
        let mut r = srv.raw();
        assert_eq!(cmd(&mut r, "GET k7"), format!("$58\r\nround39-{}\r\n", "x".repeat(50)), "threads {threads}");
        assert_eq!(cmd(&mut r, "GET during49"), "$2\r\n49\r\n");
        assert_eq!(cmd(&mut r, "GET after"), "$3\r\nyes\r\n");
        assert_eq!(cmd(&mut r, "GET k0-counter"), "$1\r\n1\r\n");
        assert_eq!(cmd(&mut r, "LRANGE list 0 -1"), "*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n");
        let ttl: i64 = cmd(&mut r, "TTL ttl").trim_start_matches(':').trim().parse().unwrap();
        assert!(ttl > 900 && ttl <= 1000, "{ttl}");
        assert_eq!(cmd(&mut r, "SELECT 5"), "+OK\r\n");
        assert_eq!(cmd(&mut r, "HGET h f"), "$1\r\nv\r\n");
        assert_eq!(cmd(&mut r, "SELECT 0"), "+OK\r\n");
        assert_eq!(cmd(&mut r, "DBSIZE"), ":79\r\n");
    }
    // A rewrite after a restart with another thread count compacts every generation.
    {
        let srv = start(&dir, "2", &["--appendonly", "yes", "--appendfsync", "always"]);
        let mut r = srv.raw();
        assert_eq!(cmd(&mut r, "BGREWRITEAOF"), "+Background append only file rewriting started\r\n");
        wait_rewrite_done(&mut r);
        assert_eq!(cmd(&mut r, "SET last 1"), "+OK\r\n");
        let text = manifest(&dir);
        assert_eq!(text.matches("generation ").count(), 1, "{text}");
        assert_eq!(text.matches("\nbase ").count(), 2, "{text}");
    }
    let srv = start(&dir, "4", &["--appendonly", "yes"]);
    let mut r = srv.raw();
    assert_eq!(cmd(&mut r, "DBSIZE"), ":80\r\n");
    assert_eq!(
        cmd(&mut r, "MGET last during0 k24"),
        format!("*3\r\n$1\r\n1\r\n$1\r\n0\r\n$58\r\nround39-{}\r\n", "x".repeat(50))
    );
    // Only the files the manifest names are left.
    let names: Vec<String> = std::fs::read_dir(dir.join("appendonlydir"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let text = manifest(&dir);
    for name in names.iter().filter(|n| !n.ends_with(".manifest")) {
        assert!(text.contains(name.as_str()), "{name} is not in the manifest:\n{text}");
    }
    drop(r);
    drop(srv);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bgsave_and_bgrewriteaof_schedule_each_other() {
    let dir = fresh_dir("rewrite-schedule");
    let srv = start(&dir, "2", &["--appendonly", "yes"]);
    let mut r = srv.raw();
    populate(&mut r, 200_000);
    // A rewrite while a snapshot runs is scheduled, and runs after it.
    assert_eq!(cmd(&mut r, "BGSAVE"), "+Background saving started\r\n");
    assert_eq!(cmd(&mut r, "BGREWRITEAOF"), "+Background append only file rewriting scheduled\r\n");
    assert!(cmd(&mut r, "INFO persistence").contains("aof_rewrite_scheduled:1"));
    wait_rewrite_done(&mut r);
    let info = cmd(&mut r, "INFO persistence");
    assert!(info.contains("aof_rewrites:1"), "{info}");
    // A snapshot while a rewrite runs: refused, or scheduled with SCHEDULE.
    assert_eq!(cmd(&mut r, "BGREWRITEAOF"), "+Background append only file rewriting started\r\n");
    assert_eq!(cmd(&mut r, "BGREWRITEAOF"), "-ERR Background append only file rewriting already in progress\r\n");
    assert!(cmd(&mut r, "BGSAVE").starts_with("-ERR Another child process is active (AOF?)"));
    assert_eq!(cmd(&mut r, "BGSAVE SCHEDULE"), "+Background saving scheduled\r\n");
    wait_rewrite_done(&mut r);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let info = cmd(&mut r, "INFO persistence");
        if info.contains("rdb_bgsave_in_progress:0") && dir.join("dump.rdb").exists() {
            break;
        }
        assert!(Instant::now() < deadline, "the scheduled BGSAVE did not run: {info}");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(cmd(&mut r, "INFO persistence").contains("aof_rewrites:2"));
    drop(r);
    drop(srv);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn kill_9_during_a_rewrite_leaves_a_loadable_state_with_every_acknowledged_write() {
    let dir = fresh_dir("rewrite-crash");
    let n = 200_000;
    for attempt in 0..3u64 {
        let mut srv = start(&dir, "4", &["--appendonly", "yes", "--appendfsync", "always"]);
        let mut r = srv.raw();
        if attempt == 0 {
            populate(&mut r, n);
        }
        assert_eq!(cmd(&mut r, "BGREWRITEAOF"), "+Background append only file rewriting started\r\n");
        // Acknowledged writes while it runs, then kill -9 at a different moment each time.
        let mut acked = Vec::new();
        let until = Instant::now() + Duration::from_millis(30 + attempt * 120);
        let mut i = 0;
        while Instant::now() < until {
            let key = format!("crash{attempt}:{i}");
            assert_eq!(cmd(&mut r, &format!("SET {key} {i}")), "+OK\r\n");
            acked.push(key);
            i += 1;
        }
        assert_eq!(cmd(&mut r, &format!("SET key:{attempt} changed")), "+OK\r\n");
        srv.kill_hard();
        drop(srv);
        let srv = start(&dir, "4", &["--appendonly", "yes"]);
        let mut r = srv.raw();
        for key in &acked {
            assert_ne!(cmd(&mut r, &format!("EXISTS {key}")), ":0\r\n", "{key} lost (attempt {attempt})");
        }
        assert_eq!(cmd(&mut r, &format!("GET key:{attempt}")), "$7\r\nchanged\r\n");
        assert_eq!(cmd(&mut r, "GET key:199999"), "$6\r\n199999\r\n");
        let size: usize = cmd(&mut r, "DBSIZE").trim_start_matches(':').trim().parse().unwrap();
        assert!(size >= n + acked.len(), "{size}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn config_set_appendonly_starts_and_stops_journaling() {
    let dir = fresh_dir("rewrite-config");
    {
        let srv = start(&dir, "4", &[]);
        let mut r = srv.raw();
        for i in 0..100 {
            assert_eq!(cmd(&mut r, &format!("SET before{i} {i}")), "+OK\r\n");
        }
        assert_eq!(cmd(&mut r, "CONFIG SET appendonly yes"), "+OK\r\n");
        let deadline = Instant::now() + Duration::from_secs(10);
        while !cmd(&mut r, "INFO persistence").contains("aof_rewrites:1") {
            assert!(Instant::now() < deadline, "no rewrite after CONFIG SET appendonly yes");
            std::thread::sleep(Duration::from_millis(10));
        }
        wait_rewrite_done(&mut r);
        assert_eq!(cmd(&mut r, "CONFIG SET appendfsync always"), "+OK\r\n");
        assert_eq!(cmd(&mut r, "SET journaled 1"), "+OK\r\n");
        std::thread::sleep(Duration::from_millis(1100));
        assert_eq!(manifest(&dir).matches("\nbase ").count(), 4);
        assert!(journal_bytes(&dir) > 4 * 16);
    }
    {
        // The base holds what existed before journaling started; the journal the rest.
        let srv = start(&dir, "2", &["--appendonly", "yes"]);
        let mut r = srv.raw();
        assert_eq!(cmd(&mut r, "DBSIZE"), ":101\r\n");
        assert_eq!(cmd(&mut r, "GET before99"), "$2\r\n99\r\n");
        assert_eq!(cmd(&mut r, "CONFIG SET appendonly no"), "+OK\r\n");
        let deadline = Instant::now() + Duration::from_secs(10);
        while !cmd(&mut r, "INFO persistence").contains("aof_enabled:0") {
            assert!(Instant::now() < deadline, "journaling did not stop");
            std::thread::sleep(Duration::from_millis(10));
        }
        std::thread::sleep(Duration::from_millis(200));
        let size = journal_bytes(&dir);
        assert_eq!(cmd(&mut r, "SET not-journaled 1"), "+OK\r\n");
        std::thread::sleep(Duration::from_millis(1100));
        assert_eq!(journal_bytes(&dir), size);
    }
    let srv = start(&dir, "4", &["--appendonly", "yes"]);
    let mut r = srv.raw();
    assert_eq!(cmd(&mut r, "EXISTS journaled not-journaled"), ":1\r\n");
    drop(r);
    drop(srv);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_journals_rewrite_themselves_once_they_grow_enough() {
    let dir = fresh_dir("auto-rewrite");
    let srv = start(
        &dir,
        "2",
        &["--appendonly", "yes", "--auto-aof-rewrite-min-size", "256kb", "--auto-aof-rewrite-percentage", "100"],
    );
    let mut r = srv.raw();
    assert_eq!(
        cmd(&mut r, "CONFIG GET auto-aof-rewrite-min-size"),
        "*2\r\n$25\r\nauto-aof-rewrite-min-size\r\n$6\r\n262144\r\n"
    );
    // Overwrite the same keys until the journals pass the minimum: the first automatic
    // rewrite compacts them into bases of a few kilobytes.
    let value = "v".repeat(100);
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut rounds = 0;
    loop {
        let mut batch = Vec::new();
        for i in 0..200 {
            batch.extend_from_slice(&common::encode_command(&[b"SET", format!("k{i}").as_bytes(), value.as_bytes()]));
        }
        r.send(&batch);
        for _ in 0..200 {
            assert_eq!(r.read_reply(), b"+OK\r\n".to_vec());
        }
        rounds += 1;
        let info = cmd(&mut r, "INFO persistence");
        if info.contains("aof_rewrites:1") {
            break;
        }
        assert!(Instant::now() < deadline, "no automatic rewrite after {rounds} rounds: {info}");
    }
    wait_rewrite_done(&mut r);
    assert!(manifest(&dir).contains(".base"), "{}", manifest(&dir));
    assert!(journal_bytes(&dir) < 256 * 1024, "the new journals are small");
    // Growth is measured from the rewritten size: no second rewrite right away.
    std::thread::sleep(Duration::from_millis(500));
    assert!(cmd(&mut r, "INFO persistence").contains("aof_rewrites:1"));
    assert_eq!(cmd(&mut r, "CONFIG SET auto-aof-rewrite-percentage 0"), "+OK\r\n");
    drop(srv);
    let srv = start(&dir, "2", &["--appendonly", "yes"]);
    let mut r = srv.raw();
    assert_eq!(cmd(&mut r, "DBSIZE"), ":200\r\n");
    assert_eq!(cmd(&mut r, "GET k7"), format!("$100\r\n{value}\r\n"));
    drop(srv);
    let _ = std::fs::remove_dir_all(&dir);
}
