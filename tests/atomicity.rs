//! Multi-key commands whose keys sit on different shards are atomic: no client ever
//! observes half of an MSET, MSETNX sets all or none, RENAME never loses or duplicates.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::Server;
use redis::Commands;

/// Keys spread over every shard of a four-shard server (CRC16 slots differ widely).
fn spread_keys(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("atomic:{i}")).collect()
}

#[test]
fn readers_never_see_half_of_an_mset_across_shards() {
    let server = Server::start_sharded();
    let keys = spread_keys(8);
    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for w in 0..2 {
        let mut conn = server.client();
        let keys = keys.clone();
        let stop = stop.clone();
        writers.push(std::thread::spawn(move || {
            let mut round = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let value = format!("w{w}-{round}");
                let pairs: Vec<(&str, &str)> = keys.iter().map(|k| (k.as_str(), value.as_str())).collect();
                let _: () = conn.mset(&pairs).expect("mset");
                round += 1;
            }
            round
        }));
    }
    let mut readers = Vec::new();
    for _ in 0..2 {
        let mut conn = server.client();
        let keys = keys.clone();
        readers.push(std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(2);
            let mut checks = 0;
            while Instant::now() < deadline {
                let values: Vec<Option<String>> = conn.mget(&keys).expect("mget");
                let first = &values[0];
                assert!(values.iter().all(|v| v == first), "torn read: {values:?}");
                checks += 1;
            }
            checks
        }));
    }
    let checks: usize = readers.into_iter().map(|r| r.join().expect("reader")).sum();
    stop.store(true, Ordering::Relaxed);
    let writes: u64 = writers.into_iter().map(|w| w.join().expect("writer")).sum();
    assert!(checks > 10 && writes > 10, "checks {checks}, writes {writes}");
}

#[test]
fn msetnx_sets_all_or_none_across_shards() {
    let server = Server::start_sharded();
    let mut threads = Vec::new();
    // Each client tries to claim overlapping key sets; every claimed set must be whole.
    for c in 0..4 {
        let mut conn = server.client();
        threads.push(std::thread::spawn(move || {
            let mut won = Vec::new();
            for round in 0..200 {
                let keys: Vec<String> = (0..4).map(|k| format!("claim:{}:{}", round, (c + k) % 6)).collect();
                let pairs: Vec<(&str, String)> = keys.iter().map(|k| (k.as_str(), format!("c{c}"))).collect();
                let set: bool = redis::cmd("MSETNX").arg(&pairs).query(&mut conn).expect("msetnx");
                if set {
                    won.push((round, keys));
                }
            }
            (c, won)
        }));
    }
    let mut conn = server.client();
    for thread in threads {
        let (c, won) = thread.join().expect("client");
        for (round, keys) in won {
            let values: Vec<Option<String>> = conn.mget(&keys).expect("mget");
            for v in values {
                assert_eq!(v.as_deref(), Some(format!("c{c}").as_str()), "round {round}: half-claimed set");
            }
        }
    }
}

#[test]
fn concurrent_cross_shard_renames_never_lose_a_value() {
    let server = Server::start_sharded();
    let mut conn = server.client();
    let slots: Vec<String> = spread_keys(6);
    // One token moves between keys; at any time exactly one key holds it.
    let _: () = conn.set(&slots[0], "token").expect("set");
    let mut movers = Vec::new();
    for m in 0..3 {
        let mut conn = server.client();
        let slots = slots.clone();
        movers.push(std::thread::spawn(move || {
            let mut moved = 0;
            for i in 0..300 {
                let from = &slots[(i + m) % slots.len()];
                let to = &slots[(i + m + 1) % slots.len()];
                // 1 when moved; 0 or "no such key" when another mover got there first.
                if let Ok(1) = redis::cmd("RENAMENX").arg(from).arg(to).query::<i64>(&mut conn) {
                    moved += 1;
                }
            }
            moved
        }));
    }
    let mut observer = server.client();
    for _ in 0..200 {
        let values: Vec<Option<String>> = observer.mget(&slots).expect("mget");
        let holders = values.iter().filter(|v| v.is_some()).count();
        assert_eq!(holders, 1, "token count {holders}: {values:?}");
    }
    let moved: usize = movers.into_iter().map(|m| m.join().expect("mover")).sum();
    assert!(moved > 0, "no rename succeeded");
    let values: Vec<Option<String>> = conn.mget(&slots).expect("mget");
    assert_eq!(values.iter().filter(|v| v.as_deref() == Some("token")).count(), 1);
}

#[test]
fn keys_on_one_shard_and_across_shards_agree() {
    let server = Server::start_sharded();
    let mut conn = server.client();
    // Hash-tagged keys share a shard; the others spread. Both paths give the same answers.
    let tagged: Vec<String> = (0..5).map(|i| format!("{{t}}:{i}")).collect();
    let spread = spread_keys(5);
    for keys in [&tagged, &spread] {
        let pairs: Vec<(&str, usize)> = keys.iter().enumerate().map(|(i, k)| (k.as_str(), i)).collect();
        let _: () = conn.mset(&pairs).expect("mset");
        let values: Vec<usize> = conn.mget(keys).expect("mget");
        assert_eq!(values, vec![0, 1, 2, 3, 4]);
        let deleted: usize = conn.del(keys).expect("del");
        assert_eq!(deleted, 5);
        let values: Vec<Option<usize>> = conn.mget(keys).expect("mget");
        assert!(values.iter().all(Option::is_none));
    }
}
