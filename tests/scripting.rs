//! EVAL / EVALSHA / EVAL_RO / EVALSHA_RO / SCRIPT LOAD, EXISTS, FLUSH against a 4-shard
//! server: errors as Redis 7.0.15 words them, scripts whose keys span shards (atomic for
//! concurrent readers), keys a script did not declare, scripts cached on one thread and
//! run from another, the bounded EVAL cache, scripts inside MULTI, blocked clients, and
//! runs that start from their client's state (the script session is reused).

mod common;

use std::time::{Duration, Instant};

use common::{Raw, Server, bulk, cmd, cmdv, encode_command, key_on};

const OK: &str = "+OK\r\n";

fn raw(srv: &Server) -> Raw {
    let r = srv.raw();
    r.stream.set_read_timeout(Some(Duration::from_secs(20))).expect("timeout");
    r
}

fn sha1_of(r: &mut Raw, body: &str) -> String {
    let reply = cmdv(r, &["SCRIPT", "LOAD", body]);
    reply.split("\r\n").nth(1).expect("a sha").to_string()
}

#[test]
fn eval_basics_and_errors() {
    let srv = Server::start_sharded();
    let mut r = raw(&srv);
    assert_eq!(cmdv(&mut r, &["EVAL", "return 1", "-1"]), "-ERR Number of keys can't be negative\r\n");
    assert_eq!(
        cmdv(&mut r, &["EVAL", "return 1", "2", "a"]),
        "-ERR Number of keys can't be greater than number of args\r\n"
    );
    assert_eq!(cmdv(&mut r, &["EVAL", "return 1", "x"]), "-ERR value is not an integer or out of range\r\n");
    assert_eq!(
        cmdv(&mut r, &["EVALSHA", "0000000000000000000000000000000000000000", "0"]),
        "-NOSCRIPT No matching script. Please use EVAL.\r\n"
    );
    let set = "return redis.call('set', KEYS[1], ARGV[1])";
    assert_eq!(cmdv(&mut r, &["EVAL", set, "1", "k", "v"]), OK);
    assert_eq!(
        cmdv(&mut r, &["EVAL_RO", set, "1", "k", "v"]),
        "-ERR Write commands are not allowed from read-only scripts. script: 55b22c0d0cedf3866879ce7c854970626dcef0c3, on @user_script:1.\r\n"
    );
    assert_eq!(
        cmdv(&mut r, &["EVAL", "return redis.call('nosuch')", "0"]),
        "-ERR Unknown Redis command called from script script: 206396248e12c6e742fd7296250433c8d7343b74, on @user_script:1.\r\n"
    );
    assert_eq!(
        cmdv(&mut r, &["EVAL", "return redis.call('get')", "0"]),
        "-ERR Wrong number of args calling Redis command from script script: f187dee77f607f7cff00bbabc9df38507582c78d, on @user_script:1.\r\n"
    );
    assert_eq!(
        cmdv(&mut r, &["EVAL", "return redis.call('multi')", "0"]),
        "-ERR This Redis command is not allowed from script script: c329a1a294be6bf95b44144f7502610661ae925a, on @user_script:1.\r\n"
    );
    // Replies convert as Redis converts them; pcall turns an error into a value.
    assert_eq!(
        cmdv(&mut r, &["EVAL", "return {1,2,{3,'x'},false,true}", "0"]),
        format!("*5\r\n:1\r\n:2\r\n*2\r\n:3\r\n{}$-1\r\n:1\r\n", bulk("x"))
    );
    assert_eq!(
        cmdv(&mut r, &["EVAL", "return redis.pcall('incr', KEYS[1])", "1", "k"]),
        "-ERR value is not an integer or out of range\r\n"
    );
    // SELECT inside a script does not change the client's database.
    assert_eq!(cmdv(&mut r, &["EVAL", "redis.call('select', 5) return redis.call('get', 'k')", "0"]), "$-1\r\n");
    assert_eq!(cmd(&mut r, "GET k"), bulk("v"));
    // EVALSHA_RO and scripts flagged no-writes.
    let sha = sha1_of(&mut r, "return redis.call('get', KEYS[1])");
    assert_eq!(cmdv(&mut r, &["EVALSHA_RO", &sha, "1", "k"]), bulk("v"));
    assert_eq!(cmdv(&mut r, &["EVALSHA", &sha.to_uppercase(), "1", "k"]), bulk("v"));
    let flagged = "#!lua flags=no-writes\nreturn redis.call('set', KEYS[1], 'x')";
    assert!(
        cmdv(&mut r, &["EVAL", flagged, "1", "k"])
            .starts_with("-ERR Write commands are not allowed from read-only scripts.")
    );
    // Blocking commands do not block inside a script (Redis 7.2; 7.0 refused them).
    assert_eq!(cmdv(&mut r, &["EVAL", "return redis.call('blpop', KEYS[1], 0)", "1", "nothing"]), "$-1\r\n");
}

#[test]
fn scripts_spanning_shards_are_atomic() {
    let srv = Server::start_sharded();
    let keys: Vec<String> = (0..4).map(|s| key_on(s, "sk")).collect();
    let mut setup = raw(&srv);
    let script = "for i, k in ipairs(KEYS) do redis.call('incr', k) end return #KEYS";
    let sha = sha1_of(&mut setup, script);
    let deadline = Instant::now() + Duration::from_secs(2);
    let writers: Vec<_> = (0..3)
        .map(|_| {
            let mut r = raw(&srv);
            let (keys, sha) = (keys.clone(), sha.clone());
            std::thread::spawn(move || {
                let mut n = 0;
                while Instant::now() < deadline {
                    let mut args = vec!["EVALSHA", sha.as_str(), "4"];
                    args.extend(keys.iter().map(String::as_str));
                    assert_eq!(cmdv(&mut r, &args), ":4\r\n");
                    n += 1;
                }
                n
            })
        })
        .collect();
    let mut reader = raw(&srv);
    let mget = format!("MGET {}", keys.join(" "));
    while Instant::now() < deadline {
        let reply = cmd(&mut reader, &mget);
        let values: Vec<&str> = reply.split("\r\n").filter(|l| !l.starts_with(['*', '$']) && !l.is_empty()).collect();
        assert!(values.windows(2).all(|w| w[0] == w[1]), "torn read {values:?}");
    }
    let total: i64 = writers.into_iter().map(|w| w.join().expect("writer")).sum();
    for k in &keys {
        assert_eq!(cmd(&mut setup, &format!("GET {k}")), bulk(&total.to_string()));
    }
}

#[test]
fn keys_a_script_did_not_declare_still_work() {
    let srv = Server::start_sharded();
    let mut r = raw(&srv);
    let declared = key_on(0, "decl");
    let hidden: Vec<String> = (0..4).map(|s| key_on(s, "hidden")).collect();
    // Writes keys on every shard while declaring one (or none), twice.
    let script = "for i = 1, #ARGV do redis.call('rpush', ARGV[i], 'x') end return redis.call('llen', ARGV[1])";
    for round in 1..=2 {
        let mut args = vec!["EVAL", script, "1", declared.as_str()];
        args.extend(hidden.iter().map(String::as_str));
        assert_eq!(cmdv(&mut r, &args), format!(":{}\r\n", 2 * round - 1));
        let mut args = vec!["EVAL", script, "0"];
        args.extend(hidden.iter().rev().map(String::as_str));
        assert_eq!(cmdv(&mut r, &args), format!(":{}\r\n", 2 * round));
    }
    for k in &hidden {
        assert_eq!(cmd(&mut r, &format!("LLEN {k}")), ":4\r\n");
    }
    // Commands that touch every shard work too.
    assert_eq!(cmdv(&mut r, &["EVAL", "return redis.call('dbsize')", "0"]), ":4\r\n");
}

#[test]
fn the_script_cache_is_shared_by_every_thread() {
    let srv = Server::start_sharded();
    let mut conns: Vec<Raw> = (0..8).map(|_| raw(&srv)).collect();
    // SCRIPT LOAD on one connection: EVALSHA works on every connection (every thread).
    let loaded = sha1_of(&mut conns[0], "return 'loaded'");
    assert_eq!(loaded, tallkv::script::sha1_hex(b"return 'loaded'"));
    for c in conns.iter_mut() {
        assert_eq!(cmdv(c, &["EVALSHA", &loaded, "0"]), bulk("loaded"));
    }
    // A script sent with EVAL on one connection runs by SHA on every other one.
    let evaled = tallkv::script::sha1_hex(b"return 'evaled'");
    assert_eq!(cmdv(&mut conns[1], &["EVAL", "return 'evaled'", "0"]), bulk("evaled"));
    for c in conns.iter_mut() {
        assert_eq!(cmdv(c, &["EVALSHA", &evaled, "0"]), bulk("evaled"));
    }
    let missing = "ffffffffffffffffffffffffffffffffffffffff";
    assert_eq!(cmdv(&mut conns[2], &["SCRIPT", "EXISTS", &evaled, missing, &loaded]), "*3\r\n:1\r\n:0\r\n:1\r\n");
    assert_eq!(cmdv(&mut conns[3], &["SCRIPT", "FLUSH", "x"]), "-ERR SCRIPT FLUSH only support SYNC|ASYNC option\r\n");
    assert_eq!(cmdv(&mut conns[3], &["SCRIPT", "FLUSH", "ASYNC"]), OK);
    for c in conns.iter_mut() {
        for sha in [&evaled, &loaded] {
            assert_eq!(cmdv(c, &["EVALSHA", sha, "0"]), "-NOSCRIPT No matching script. Please use EVAL.\r\n");
        }
    }
    // Endlessly many distinct EVAL scripts do not all stay cached; loaded ones do.
    let pinned = sha1_of(&mut conns[4], "return 'pinned'");
    assert_eq!(cmdv(&mut conns[4], &["EVAL", "return 'first'", "0"]), bulk("first"));
    for i in 0..600 {
        assert_eq!(cmdv(&mut conns[4], &["EVAL", &format!("return {i}"), "0"]), format!(":{i}\r\n"));
    }
    let first = tallkv::script::sha1_hex(b"return 'first'");
    assert_eq!(cmdv(&mut conns[4], &["SCRIPT", "EXISTS", &first, &pinned]), "*2\r\n:0\r\n:1\r\n");
}

#[test]
fn scripts_inside_multi_and_blocked_clients() {
    let srv = Server::start_sharded();
    let mut r = raw(&srv);
    let q = key_on(2, "sq");
    assert_eq!(cmd(&mut r, "MULTI"), OK);
    assert_eq!(cmdv(&mut r, &["EVAL", "return redis.call('rpush', KEYS[1], 'a', 'b')", "1", &q]), "+QUEUED\r\n");
    assert_eq!(cmd(&mut r, &format!("LPOP {q}")), "+QUEUED\r\n");
    assert_eq!(cmd(&mut r, "EXEC"), format!("*2\r\n:2\r\n{}", bulk("a")));
    // A blocked client is served once the script is done, with what the script left.
    let mut waiter = raw(&srv);
    waiter.send(&encode_command(&[b"BLPOP", b"sw", b"0"]));
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cmd(&mut r, "INFO clients").contains("blocked_clients:1") {
        assert!(Instant::now() < deadline, "never blocked");
        std::thread::sleep(Duration::from_millis(5));
    }
    let script =
        "redis.call('rpush', KEYS[1], 'gone') redis.call('lpop', KEYS[1]) return redis.call('rpush', KEYS[1], 'kept')";
    assert_eq!(cmdv(&mut r, &["EVAL", script, "1", "sw"]), ":1\r\n");
    assert_eq!(String::from_utf8_lossy(&waiter.read_reply()), format!("*2\r\n{}{}", bulk("sw"), bulk("kept")));
}

#[test]
fn every_script_run_starts_from_its_clients_state() {
    // One thread, so every run reuses the same script session.
    let srv = Server::start(&["--threads", "1"]);
    let (mut a, mut b) = (raw(&srv), raw(&srv));
    assert_eq!(cmd(&mut b, "SELECT 3"), OK);
    // SELECT inside a script lasts for that run only.
    let in5 = "redis.call('select', 5) return redis.call('set', KEYS[1], 'in5')";
    assert_eq!(cmdv(&mut a, &["EVAL", in5, "1", "k"]), OK);
    assert_eq!(cmdv(&mut a, &["EVAL", "return redis.call('set', KEYS[1], 'in0')", "1", "k"]), OK);
    assert_eq!(cmdv(&mut b, &["EVAL", "return redis.call('set', KEYS[1], 'in3')", "1", "k"]), OK);
    assert_eq!(cmd(&mut a, "GET k"), bulk("in0"));
    assert_eq!(cmd(&mut b, "GET k"), bulk("in3"));
    assert_eq!(cmd(&mut a, "SELECT 5"), OK);
    assert_eq!(cmd(&mut a, "GET k"), bulk("in5"));
    // A protocol chosen with redis.setresp lasts for that run only.
    assert_eq!(cmd(&mut a, "HSET h f v"), ":1\r\n");
    let map = "redis.setresp(3) local m = redis.call('hgetall', KEYS[1]) return m['map']['f']";
    assert_eq!(cmdv(&mut a, &["EVAL", map, "1", "h"]), bulk("v"));
    let flat = "return redis.call('hgetall', KEYS[1])";
    assert_eq!(cmdv(&mut a, &["EVAL", flat, "1", "h"]), "*2\r\n$1\r\nf\r\n$1\r\nv\r\n");
    // A script that fails leaves nothing behind for the next one.
    let fails = "redis.call('select', 7) error('boom')";
    assert!(cmdv(&mut a, &["EVAL", fails, "0"]).starts_with("-ERR user_script:1: boom"));
    assert_eq!(cmdv(&mut a, &["EVAL", "return redis.call('get', KEYS[1])", "1", "k"]), bulk("in5"));
}
