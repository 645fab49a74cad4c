//! A slow Lua script stalls only what it holds: on a 4-thread server, while a script
//! loops on one shard, GETs served by other threads for keys of other shards keep
//! answering; past `busy-reply-threshold` a command needing the script's shard gets
//! `-BUSY`; SCRIPT KILL stops a script that has not written (`-UNKILLABLE` otherwise,
//! `-NOTBUSY` when none runs); SHUTDOWN NOSAVE still stops the server.

mod common;

use std::time::{Duration, Instant};

use common::{Raw, Server, cmd, encode_command, shard_of};

const BUSY: &str = "-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.\r\n";

fn raw(srv: &Server) -> Raw {
    let r = srv.raw();
    r.stream.set_read_timeout(Some(Duration::from_secs(30))).expect("timeout");
    r
}

/// The thread serving the connection (INFO's `tallkv_thread`).
fn thread_of(r: &mut Raw) -> usize {
    let info = cmd(r, "INFO server");
    info.lines().find_map(|l| l.strip_prefix("tallkv_thread:")).and_then(|v| v.trim().parse().ok()).expect("thread")
}

/// Connections until one is served by a thread satisfying `want`.
fn conn_where(srv: &Server, want: impl Fn(usize) -> bool) -> (Raw, usize) {
    for _ in 0..200 {
        let mut r = raw(srv);
        let t = thread_of(&mut r);
        if want(t) {
            return (r, t);
        }
    }
    panic!("no connection landed on a wanted thread");
}

fn key_on_shard(shard: usize, prefix: &str) -> String {
    (0..).map(|n| format!("{prefix}{n}")).find(|k| shard_of(k) == shard).expect("a key")
}

#[test]
fn a_busy_script_stalls_only_its_shard_and_can_be_killed() {
    let srv = Server::start(&["--threads", "4", "--busy-reply-threshold", "200"]);
    let (mut script_conn, t) = conn_where(&srv, |_| true);
    let x = (t + 1) % 4; // the shard the script holds (not its own thread's)
    let y = (t + 2) % 4; // a shard nobody holds, served by a thread that is not busy
    let (mut other, _) = conn_where(&srv, |u| u != t);
    let held = key_on_shard(x, "held");
    let free = key_on_shard(y, "free");
    assert_eq!(cmd(&mut other, "SCRIPT KILL"), "-NOTBUSY No scripts in execution right now.\r\n");
    assert_eq!(cmd(&mut other, &format!("SET {free} v")), "+OK\r\n");

    // A script that only reads, then loops until killed.
    let body = "redis.call('get', KEYS[1]) while true do end";
    script_conn.send(&encode_command(&[b"EVAL", body.as_bytes(), b"1", held.as_bytes()]));
    std::thread::sleep(Duration::from_millis(300));
    // Other shards keep answering, quickly.
    let mut slowest = Duration::ZERO;
    for _ in 0..50 {
        let started = Instant::now();
        assert_eq!(cmd(&mut other, &format!("GET {free}")), "$1\r\nv\r\n");
        slowest = slowest.max(started.elapsed());
    }
    assert!(slowest < Duration::from_secs(1), "a GET on a free shard took {slowest:?}");
    // The script's shard answers BUSY.
    assert_eq!(cmd(&mut other, &format!("GET {held}")), BUSY);
    assert_eq!(cmd(&mut other, "SCRIPT KILL"), "+OK\r\n");
    let reply = String::from_utf8_lossy(&script_conn.read_reply()).into_owned();
    assert!(reply.contains("Script killed by user with SCRIPT KILL"), "{reply}");
    assert_eq!(cmd(&mut other, &format!("GET {held}")), "$-1\r\n");
    assert_eq!(cmd(&mut script_conn, "PING"), "+PONG\r\n");
}

#[test]
fn a_script_that_wrote_is_unkillable_but_shutdown_nosave_stops_the_server() {
    let mut srv = Server::start(&["--threads", "4", "--busy-reply-threshold", "100"]);
    let (mut script_conn, t) = conn_where(&srv, |_| true);
    let (mut other, _) = conn_where(&srv, |u| u != t);
    let held = key_on_shard((t + 1) % 4, "written");
    let body = "redis.call('set', KEYS[1], 'x') while true do end";
    script_conn.send(&encode_command(&[b"EVAL", body.as_bytes(), b"1", held.as_bytes()]));
    std::thread::sleep(Duration::from_millis(250));
    assert_eq!(
        cmd(&mut other, "SCRIPT KILL"),
        "-UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.\r\n"
    );
    other.send(&encode_command(&[b"SHUTDOWN", b"NOSAVE"]));
    assert!(srv.wait_exit(Duration::from_secs(10)).is_some(), "SHUTDOWN NOSAVE did not stop the server");
}
