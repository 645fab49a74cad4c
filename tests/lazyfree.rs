//! Large values are freed on a background thread: DEL, UNLINK, an overwrite and FLUSHALL
//! of big collections answer at once and INFO's `lazyfreed_objects` counts them; small
//! values are freed in place.

mod common;

use std::time::{Duration, Instant};

use common::{Raw, Server, cmd, cmdv};

fn memory_field(r: &mut Raw, field: &str) -> u64 {
    let text = cmd(r, "INFO memory");
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in {text}"))
}

/// Waits until `lazyfreed_objects` reaches `n` and nothing is pending.
fn wait_freed(r: &mut Raw, n: u64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while memory_field(r, "lazyfreed_objects") < n || memory_field(r, "lazyfree_pending_objects") != 0 {
        assert!(Instant::now() < deadline, "lazy free never finished");
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(memory_field(r, "lazyfreed_objects"), n);
}

/// Fills `key` with `n` elements using `command` (SADD, RPUSH, ...) in batches.
fn fill(r: &mut Raw, command: &str, key: &str, n: usize, pairs: bool) {
    let mut i = 0;
    while i < n {
        let mut args = vec![command.to_string(), key.to_string()];
        for j in i..(i + 1000).min(n) {
            if pairs {
                args.push(j.to_string());
            }
            args.push(format!("e{j}"));
        }
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        assert!(cmdv(r, &refs).starts_with(':'));
        i += 1000;
    }
}

#[test]
fn big_values_are_freed_in_the_background() {
    let srv = Server::start(&["--threads", "2"]);
    let mut r = srv.raw();
    assert_eq!(memory_field(&mut r, "lazyfreed_objects"), 0);
    fill(&mut r, "SADD", "bigset", 100_000, false);
    fill(&mut r, "RPUSH", "biglist", 100_000, false);
    fill(&mut r, "ZADD", "bigzset", 20_000, true);
    assert_eq!(cmd(&mut r, "UNLINK bigset"), ":1\r\n");
    assert_eq!(cmd(&mut r, "DEL biglist"), ":1\r\n");
    wait_freed(&mut r, 2);
    // An overwrite frees the old value the same way.
    assert_eq!(cmd(&mut r, "SET bigzset now-a-string"), "+OK\r\n");
    wait_freed(&mut r, 3);
    // Small values are dropped in place.
    assert_eq!(cmd(&mut r, "RPUSH small a b c"), ":3\r\n");
    assert_eq!(cmd(&mut r, "DEL small bigzset"), ":2\r\n");
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(memory_field(&mut r, "lazyfreed_objects"), 3);
    // A database with many keys is emptied at once and freed behind.
    let mut args = vec!["MSET".to_string()];
    for i in 0..2000 {
        args.push(format!("k{i}"));
        args.push("v".into());
    }
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_eq!(cmdv(&mut r, &refs), "+OK\r\n");
    assert_eq!(cmd(&mut r, "FLUSHALL"), "+OK\r\n");
    assert_eq!(cmd(&mut r, "DBSIZE"), ":0\r\n");
    let deadline = Instant::now() + Duration::from_secs(10);
    while memory_field(&mut r, "lazyfreed_objects") < 4 {
        assert!(Instant::now() < deadline, "flushed keys never freed");
        std::thread::sleep(Duration::from_millis(10));
    }
}
