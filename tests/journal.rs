//! The per-shard journal (`appendonly yes`): restarts recover every write.

mod common;

use common::{Server, cmd, fresh_dir, run_to_exit};

fn start(dir: &std::path::Path, threads: &str, extra: &[&str]) -> Server {
    let d = dir.to_str().unwrap();
    let mut args = vec!["--dir", d, "--appendonly", "yes", "--threads", threads];
    args.extend_from_slice(extra);
    Server::start(&args)
}

/// Runs the server; `Some((success, output))` if it exits within 3 s, `None` (killed) if
/// it started and kept running.
fn run_briefly(args: &[&str]) -> Option<(bool, String)> {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_tallkv"))
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
    while std::time::Instant::now() < deadline {
        if child.try_wait().unwrap().is_some() {
            let output = child.wait_with_output().unwrap();
            let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
            text.push_str(&String::from_utf8_lossy(&output.stderr));
            return Some((output.status.success(), text));
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

fn journal_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(dir.join("appendonlydir"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "jrnl"))
        .collect();
    files.sort();
    files
}

#[test]
fn restart_recovers_types_ttls_transactions_scripts_and_cross_shard_writes() {
    let dir = fresh_dir("journal-restart");
    {
        let srv = start(&dir, "4", &[]);
        let mut r = srv.raw();
        assert_eq!(cmd(&mut r, "SET s hello"), "+OK\r\n");
        assert_eq!(cmd(&mut r, "SET ttl v EX 1000"), "+OK\r\n");
        assert_eq!(cmd(&mut r, "SET gone v PX 150"), "+OK\r\n");
        assert_eq!(cmd(&mut r, "RPUSH l a b c"), ":3\r\n");
        assert_eq!(cmd(&mut r, "HSET h f1 v1 f2 v2"), ":2\r\n");
        assert_eq!(cmd(&mut r, "SADD set a b c d e f"), ":6\r\n");
        assert_eq!(cmd(&mut r, "ZADD z 1 one 2 two"), ":2\r\n");
        assert_eq!(cmd(&mut r, "SELECT 3"), "+OK\r\n");
        assert_eq!(cmd(&mut r, "SET in3 x"), "+OK\r\n");
        assert_eq!(cmd(&mut r, "SELECT 0"), "+OK\r\n");
        cmd(&mut r, "SPOP set");
        cmd(&mut r, "SPOP set 2");
        assert_eq!(cmd(&mut r, "MSET k1 1 k2 2 k3 3 k4 4"), "+OK\r\n");
        assert_eq!(cmd(&mut r, "MULTI"), "+OK\r\n");
        cmd(&mut r, "INCR k1");
        cmd(&mut r, "INCR k2");
        cmd(&mut r, "DEL k3");
        assert_eq!(cmd(&mut r, "EXEC"), "*3\r\n:2\r\n:3\r\n:1\r\n");
        assert_eq!(
            common::cmdv(&mut r, &["EVAL", "redis.call('incr','k4'); return redis.call('incr','k4')", "0"]),
            ":6\r\n"
        );
        assert_eq!(cmd(&mut r, "RENAME s renamed"), "+OK\r\n");
        assert_eq!(cmd(&mut r, "EXPIRE renamed 5000"), ":1\r\n");
        std::thread::sleep(std::time::Duration::from_millis(1100));
        // Kill -9 (Server's drop): everysec has written everything by now.
    }
    let srv = start(&dir, "4", &[]);
    let mut r = srv.raw();
    let set_left = cmd(&mut r, "SCARD set");
    assert_eq!(set_left, ":3\r\n");
    let members = cmd(&mut r, "SMEMBERS set");
    {
        // The journal must have what was popped, not the SPOP: the same members are left.
        let srv2_members = members.clone();
        assert!(srv2_members.starts_with("*3"));
    }
    assert_eq!(cmd(&mut r, "GET s"), "$-1\r\n");
    assert_eq!(cmd(&mut r, "GET renamed"), "$5\r\nhello\r\n");
    let ttl: i64 = cmd(&mut r, "TTL renamed").trim_start_matches(':').trim().parse().unwrap();
    assert!(ttl > 4900 && ttl <= 5000, "{ttl}");
    let ttl: i64 = cmd(&mut r, "TTL ttl").trim_start_matches(':').trim().parse().unwrap();
    assert!(ttl > 900 && ttl <= 1000, "{ttl}");
    assert_eq!(cmd(&mut r, "EXISTS gone"), ":0\r\n");
    assert_eq!(cmd(&mut r, "LRANGE l 0 -1"), "*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n");
    assert_eq!(cmd(&mut r, "HGET h f2"), "$2\r\nv2\r\n");
    assert_eq!(cmd(&mut r, "ZSCORE z two"), "$1\r\n2\r\n");
    assert_eq!(cmd(&mut r, "MGET k1 k2 k3 k4"), "*4\r\n$1\r\n2\r\n$1\r\n3\r\n$-1\r\n$1\r\n6\r\n");
    assert_eq!(cmd(&mut r, "SELECT 3"), "+OK\r\n");
    assert_eq!(cmd(&mut r, "GET in3"), "$1\r\nx\r\n");
    drop(r);
    drop(srv);
    // Another thread count loads the same data, then keeps journaling.
    {
        let srv = start(&dir, "2", &[]);
        let mut r = srv.raw();
        assert_eq!(cmd(&mut r, "SMEMBERS set"), members);
        assert_eq!(
            cmd(&mut r, "MGET k1 k2 k3 k4 renamed"),
            "*5\r\n$1\r\n2\r\n$1\r\n3\r\n$-1\r\n$1\r\n6\r\n$5\r\nhello\r\n"
        );
        assert_eq!(cmd(&mut r, "SET after-reshard yes"), "+OK\r\n");
        assert_eq!(cmd(&mut r, "FLUSHDB"), "+OK\r\n");
        assert_eq!(cmd(&mut r, "SET survivor 1"), "+OK\r\n");
        std::thread::sleep(std::time::Duration::from_millis(1100));
    }
    let srv = start(&dir, "3", &[]);
    let mut r = srv.raw();
    assert_eq!(cmd(&mut r, "DBSIZE"), ":1\r\n");
    assert_eq!(cmd(&mut r, "GET survivor"), "$1\r\n1\r\n");
    assert_eq!(cmd(&mut r, "SELECT 3"), "+OK\r\n");
    assert_eq!(cmd(&mut r, "GET in3"), "$1\r\nx\r\n");
    drop(r);
    drop(srv);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn truncated_tail_loads_corrupt_middle_fails_and_check_journal_repairs() {
    let dir = fresh_dir("journal-corrupt");
    {
        let srv = start(&dir, "1", &["--appendfsync", "always"]);
        let mut r = srv.raw();
        for i in 0..20 {
            assert_eq!(cmd(&mut r, &format!("SET key{i} value{i}")), "+OK\r\n");
        }
    }
    let file = journal_files(&dir).pop().unwrap();
    let bytes = std::fs::read(&file).unwrap();
    let d = dir.to_str().unwrap();
    // Cut at many offsets: always loads (prefix of the writes) or, with
    // aof-load-truncated no, fails with the documented error.
    let mut seed = 0x9e3779b97f4a7c15u64;
    for round in 0..12 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let cut = 16 + (seed as usize % (bytes.len() - 16));
        std::fs::write(&file, &bytes[..cut]).unwrap();
        if round % 3 == 0
            && let Some((ok, text)) = run_briefly(&[
                "--dir",
                d,
                "--appendonly",
                "yes",
                "--threads",
                "1",
                "--port",
                "0",
                "--aof-load-truncated",
                "no",
            ])
        {
            assert!(!ok && text.contains("Unexpected end of journal file"), "{text}");
            continue;
        }
        let srv = start(&dir, "1", &[]);
        let mut r = srv.raw();
        let n: usize = cmd(&mut r, "DBSIZE").trim_start_matches(':').trim().parse().unwrap();
        for i in 0..n {
            assert_eq!(cmd(&mut r, &format!("GET key{i}")), format!("${}\r\nvalue{i}\r\n", format!("value{i}").len()));
        }
    }
    // A corrupt record in the middle stops startup, naming the file and offset.
    let mut bad = bytes.clone();
    // A byte inside the body of the third record (not a length field).
    let mut at = 16usize;
    for _ in 0..2 {
        at += 16 + u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
    }
    bad[at + 16 + 5] ^= 0x55;
    std::fs::write(&file, &bad).unwrap();
    let (ok, text) =
        run_briefly(&["--dir", d, "--appendonly", "yes", "--threads", "1", "--port", "0"]).expect("it must fail");
    assert!(!ok);
    assert!(text.contains("Bad journal file") && text.contains("at offset"), "{text}");
    assert!(text.contains(file.file_name().unwrap().to_str().unwrap()), "{text}");
    let path = file.to_str().unwrap();
    let (ok, text) = run_to_exit(&["check-journal", path]);
    assert!(!ok && text.contains("Truncating there drops"), "{text}");
    let (ok, text) = run_to_exit(&["check-journal", "--fix", path]);
    assert!(ok && text.contains("Successfully truncated"), "{text}");
    let (ok, _) = run_to_exit(&["check-journal", path]);
    assert!(ok);
    let srv = start(&dir, "1", &[]);
    let mut r = srv.raw();
    let n: i64 = cmd(&mut r, "DBSIZE").trim_start_matches(':').trim().parse().unwrap();
    assert!(n > 0 && n < 20, "{n}");
    drop(r);
    drop(srv);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn write_errors_turn_writes_into_misconf_and_reads_still_work() {
    let dir = fresh_dir("journal-efbig");
    let d = dir.to_str().unwrap().to_string();
    // 8 blocks of 512 bytes: the journal can grow to 4 KiB.
    let srv =
        Server::start_after_shell("trap '' XFSZ; ulimit -f 8", &["--dir", &d, "--appendonly", "yes", "--threads", "2"]);
    let mut r = srv.raw();
    assert_eq!(cmd(&mut r, "SET small 1"), "+OK\r\n");
    let big = "x".repeat(1000);
    let mut refused = None;
    for i in 0..40 {
        let reply = cmd(&mut r, &format!("SET big{i} {big}"));
        if reply.starts_with("-MISCONF") {
            refused = Some(reply);
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(30));
    }
    let refused = refused.expect("writes were never refused");
    assert_eq!(refused, "-MISCONF Errors writing to the AOF file: File too large\r\n");
    assert_eq!(cmd(&mut r, "GET small"), "$1\r\n1\r\n");
    assert!(cmd(&mut r, "SET other 1").starts_with("-MISCONF"));
    drop(r);
    drop(srv);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn function_libraries_survive_restarts_and_rewrites() {
    let dir = fresh_dir("journal-functions");
    let lib = |name: &str, reply: &str| {
        format!(
            "#!lua name={name}\nredis.register_function('{name}_f', function(keys) return redis.call('incr', keys[1]) .. '{reply}' end)"
        )
    };
    // `always`: the test kills the server right after its last reply.
    let always = ["--appendfsync", "always"];
    {
        let srv = start(&dir, "3", &always);
        let mut r = srv.raw();
        for (name, reply) in [("keep", "-kept"), ("gone", "-gone"), ("changed", "-v1")] {
            assert_eq!(common::cmdv(&mut r, &["FUNCTION", "LOAD", &lib(name, reply)]), common::bulk(name));
        }
        assert_eq!(common::cmdv(&mut r, &["FUNCTION", "DELETE", "gone"]), "+OK\r\n");
        assert_eq!(
            common::cmdv(&mut r, &["FUNCTION", "LOAD", "REPLACE", &lib("changed", "-v2")]),
            common::bulk("changed")
        );
        assert_eq!(cmd(&mut r, "FCALL keep_f 1 counter"), common::bulk("1-kept"));
    }
    for round in 0..2 {
        let srv = start(&dir, if round == 0 { "3" } else { "2" }, &always);
        let mut r = srv.raw();
        assert_eq!(
            cmd(&mut r, "FCALL keep_f 1 counter"),
            common::bulk(&format!("{}-kept", round + 2)),
            "round {round}"
        );
        assert_eq!(cmd(&mut r, "FCALL changed_f 1 other"), common::bulk(&format!("{}-v2", round + 1)));
        assert_eq!(cmd(&mut r, "FCALL gone_f 0"), "-ERR Function not found\r\n");
        if round == 0 {
            // After a rewrite the libraries live in the base snapshot.
            assert_eq!(cmd(&mut r, "BGREWRITEAOF"), "+Background append only file rewriting started\r\n");
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
            while !cmd(&mut r, "INFO persistence").contains("aof_rewrite_in_progress:0") {
                assert!(std::time::Instant::now() < deadline, "rewrite did not finish");
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
