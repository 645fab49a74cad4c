//! Crash tests: kill -9 under concurrent write load, restart on the same `--dir`, and
//! check what the journal promised survived (`appendfsync always`: every acknowledged
//! write; `everysec`: every acknowledged write too, after a process crash; transactions: all or nothing).

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::{Server, cmd, fresh_dir};

/// A client that reports connection loss as an error instead of panicking (the server
/// is killed under it).
struct Client {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

/// A parsed reply: just what these tests need.
#[derive(Debug, Clone, PartialEq)]
enum Reply {
    Status(String),
    Error(String),
    Int(i64),
    Bulk(Option<Vec<u8>>),
    Array(Vec<Reply>),
}

impl Client {
    fn connect(port: u16) -> Client {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        stream.set_nodelay(true).unwrap();
        Client { reader: BufReader::new(stream.try_clone().unwrap()), writer: stream }
    }

    fn call(&mut self, args: &[&[u8]]) -> std::io::Result<Reply> {
        self.writer.write_all(&common::encode_command(args))?;
        self.read()
    }

    fn call_str(&mut self, args: &[&str]) -> std::io::Result<Reply> {
        let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        self.call(&args)
    }

    fn read(&mut self) -> std::io::Result<Reply> {
        let mut line = String::new();
        if self.reader.read_line(&mut line)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let line = line.trim_end_matches("\r\n");
        let (kind, rest) = line.split_at(1);
        let bad = || std::io::Error::new(std::io::ErrorKind::InvalidData, "bad reply");
        Ok(match kind {
            "+" => Reply::Status(rest.to_string()),
            "-" => Reply::Error(rest.to_string()),
            ":" => Reply::Int(rest.parse().map_err(|_| bad())?),
            "$" => {
                let n: i64 = rest.parse().map_err(|_| bad())?;
                if n < 0 {
                    Reply::Bulk(None)
                } else {
                    let mut data = vec![0u8; n as usize + 2];
                    std::io::Read::read_exact(&mut self.reader, &mut data)?;
                    data.truncate(n as usize);
                    Reply::Bulk(Some(data))
                }
            }
            "*" => {
                let n: i64 = rest.parse().map_err(|_| bad())?;
                let mut items = Vec::new();
                for _ in 0..n.max(0) {
                    items.push(self.read()?);
                }
                Reply::Array(items)
            }
            _ => return Err(bad()),
        })
    }
}

fn int(reply: &Reply) -> i64 {
    match reply {
        Reply::Int(n) => *n,
        Reply::Bulk(Some(b)) => std::str::from_utf8(b).unwrap().parse().unwrap(),
        Reply::Bulk(None) => 0,
        other => panic!("not an integer: {other:?}"),
    }
}

fn start(dir: &std::path::Path, fsync: &str) -> Server {
    Server::start(&["--dir", dir.to_str().unwrap(), "--appendonly", "yes", "--appendfsync", fsync, "--threads", "4"])
}

/// What one writer thread had acknowledged when the server died.
#[derive(Default)]
struct Acks {
    /// Per counter: the last value INCR returned.
    counters: Vec<i64>,
    /// Unique keys SET, each with when its OK arrived.
    keys: Vec<(String, Instant)>,
    /// The RPUSH sequence numbers acknowledged, in order.
    pushed: Vec<u64>,
}

/// Runs `threads` writers against `port` until `stop`; each logs what was acknowledged.
fn write_load(port: u16, threads: usize, stop: Arc<AtomicBool>) -> Vec<std::thread::JoinHandle<Acks>> {
    (0..threads)
        .map(|t| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut acks = Acks { counters: vec![0; 8], ..Acks::default() };
                let mut c = Client::connect(port);
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let counter = (n % 8) as usize;
                    let key = format!("c{t}:{counter}");
                    match c.call_str(&["INCR", &key]) {
                        Ok(Reply::Int(v)) => acks.counters[counter] = v,
                        _ => break,
                    }
                    let key = format!("u{t}:{n}");
                    match c.call_str(&["SET", &key, &n.to_string()]) {
                        Ok(Reply::Status(s)) if s == "OK" => acks.keys.push((key, Instant::now())),
                        _ => break,
                    }
                    match c.call_str(&["RPUSH", &format!("l{t}"), &n.to_string()]) {
                        Ok(Reply::Int(_)) => acks.pushed.push(n),
                        _ => break,
                    }
                    n += 1;
                }
                acks
            })
        })
        .collect()
}

/// Checks that every counter, key and list element `acks` (thread `t`) acknowledged is on
/// the restarted server.
fn check_acks(c: &mut Client, t: usize, acks: &Acks) {
    for (i, &acked) in acks.counters.iter().enumerate() {
        let have = int(&c.call_str(&["GET", &format!("c{t}:{i}")]).unwrap());
        assert!(have >= acked, "counter c{t}:{i}: {have} < acknowledged {acked}");
    }
    for (key, _) in &acks.keys {
        assert_eq!(c.call_str(&["EXISTS", key]).unwrap(), Reply::Int(1), "acknowledged key {key} is missing");
    }
    let list = c.call_str(&["LRANGE", &format!("l{t}"), "0", "-1"]).unwrap();
    let Reply::Array(items) = list else { panic!("LRANGE: {list:?}") };
    let have: Vec<u64> = items.iter().map(|i| int(i) as u64).collect();
    assert!(have.len() >= acks.pushed.len(), "list l{t}: {} < {}", have.len(), acks.pushed.len());
    assert_eq!(&have[..acks.pushed.len()], &acks.pushed[..], "list l{t} lost or reordered acknowledged elements");
}

/// Writes from `clients` threads, kills the server with -9 mid-load, restarts it on the
/// same `--dir` and checks that every acknowledged write is there.
fn kill_9_under_load_keeps_every_acknowledged_write(fsync: &str, clients: usize) {
    let dir = fresh_dir(&format!("crash-{fsync}"));
    let mut srv = start(&dir, fsync);
    let stop = Arc::new(AtomicBool::new(false));
    let handles = write_load(srv.port, clients, stop.clone());
    std::thread::sleep(Duration::from_millis(1500));
    srv.kill_hard();
    stop.store(true, Ordering::Relaxed);
    let acks: Vec<Acks> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let total: usize = acks.iter().map(|a| a.keys.len()).sum();
    assert!(total > 50, "too little load to mean anything: {total}");
    drop(srv);
    let srv = start(&dir, fsync);
    let mut c = Client::connect(srv.port);
    for (t, a) in acks.iter().enumerate() {
        check_acks(&mut c, t, a);
    }
    drop(srv);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn kill_9_with_appendfsync_always_keeps_every_acknowledged_write() {
    kill_9_under_load_keeps_every_acknowledged_write("always", 4);
}

/// With `everysec` a record is handed to the kernel before its reply goes out (as Redis
/// writes before it replies), so a process crash loses nothing acknowledged; only an OS
/// crash can lose the last second that was not fsynced (not testable here).
#[test]
fn kill_9_with_everysec_keeps_every_acknowledged_write() {
    kill_9_under_load_keeps_every_acknowledged_write("everysec", 3);
}

#[test]
fn kill_9_during_multi_exec_and_eval_keeps_transactions_whole() {
    let dir = fresh_dir("crash-tx");
    let mut srv = start(&dir, "always");
    // Accounts on every shard; each transaction moves 1 from an `a` account to a `b`
    // account on another shard and counts itself, so sum(a) + sum(b) is constant and
    // sum(b) equals the number of applied transactions.
    let accounts: Vec<(String, String)> = (0..4)
        .map(|s| (common::key_on(s, &format!("a{s}-")), common::key_on((s + 1) % 4, &format!("b{s}-"))))
        .collect();
    {
        let mut r = srv.raw();
        for (a, _) in &accounts {
            assert_eq!(cmd(&mut r, &format!("SET {a} 1000000")), "+OK\r\n");
        }
    }
    let stop = Arc::new(AtomicBool::new(false));
    let handles: Vec<_> = (0..4)
        .map(|t| {
            let stop = stop.clone();
            let accounts = accounts.clone();
            let port = srv.port;
            std::thread::spawn(move || {
                let mut c = Client::connect(port);
                let counter = common::key_on((t + 2) % 4, &format!("tx{t}-"));
                let mut acked = 0i64;
                let mut n = 0usize;
                while !stop.load(Ordering::Relaxed) {
                    let (a, b) = &accounts[(t + n) % accounts.len()];
                    let ok = if n.is_multiple_of(2) {
                        let steps: [&[&str]; 5] =
                            [&["MULTI"], &["DECRBY", a, "1"], &["INCRBY", b, "1"], &["INCR", &counter], &["EXEC"]];
                        let mut last = None;
                        for step in steps {
                            match c.call_str(step) {
                                Ok(r) => last = Some(r),
                                Err(_) => {
                                    last = None;
                                    break;
                                }
                            }
                        }
                        matches!(last, Some(Reply::Array(ref items)) if items.len() == 3)
                    } else {
                        let script = "redis.call('decrby', KEYS[1], 1); redis.call('incrby', KEYS[2], 1); \
                                      return redis.call('incr', KEYS[3])";
                        matches!(c.call_str(&["EVAL", script, "3", a, b, &counter]), Ok(Reply::Int(_)))
                    };
                    if !ok {
                        break;
                    }
                    acked += 1;
                    n += 1;
                }
                (counter, acked)
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(1500));
    srv.kill_hard();
    stop.store(true, Ordering::Relaxed);
    let counted: Vec<(String, i64)> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert!(counted.iter().map(|(_, n)| n).sum::<i64>() > 20, "too little load: {counted:?}");
    drop(srv);
    let srv = start(&dir, "always");
    let mut c = Client::connect(srv.port);
    let mut sum_a = 0;
    let mut sum_b = 0;
    for (a, b) in &accounts {
        sum_a += int(&c.call_str(&["GET", a]).unwrap());
        sum_b += int(&c.call_str(&["GET", b]).unwrap());
    }
    let mut applied = 0;
    for (counter, acked) in &counted {
        let have = int(&c.call_str(&["GET", counter]).unwrap());
        assert!(have >= *acked, "{counter}: {have} applied < {acked} acknowledged");
        applied += have;
    }
    assert_eq!(sum_a + sum_b, 4 * 1_000_000, "a transaction was applied in part");
    assert_eq!(sum_b, applied, "a transaction was applied in part");
    drop(srv);
    let _ = std::fs::remove_dir_all(&dir);
}
