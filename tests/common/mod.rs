//! Test harness: starts the real `tallkv` binary on a free port and talks to it with the
//! `redis` crate or raw bytes.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::{Duration, Instant};

/// A running server, killed when dropped.
pub struct Server {
    child: Child,
    /// The port it listens on.
    pub port: u16,
    /// Its working directory (`--dir`, given before the test's own arguments so a test's
    /// `--dir` wins): a fresh temp directory, removed when dropped.
    pub dir: std::path::PathBuf,
}

static NEXT_DIR: AtomicU16 = AtomicU16::new(0);

/// A fresh, empty directory under the system temp dir for one server.
pub fn fresh_dir(name: &str) -> std::path::PathBuf {
    let n = NEXT_DIR.fetch_add(1, Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!("tallkv-test-{}-{name}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

static NEXT_PORT: AtomicU16 = AtomicU16::new(0);

/// A port that nothing listens on right now. Ports are handed out from a per-process
/// range so parallel tests in one binary do not collide, and each is checked free.
pub fn free_port() -> u16 {
    let base = 20000 + (std::process::id() % 2000) as u16 * 20;
    loop {
        let offset = NEXT_PORT.fetch_add(1, Ordering::SeqCst);
        let port = base.wrapping_add(offset % 20_000);
        if port < 1024 {
            continue;
        }
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

impl Server {
    /// Starts tallkv with `args` (e.g. `["--threads", "4"]`) and waits until it answers PING.
    pub fn start(args: &[&str]) -> Server {
        Server::start_with_file(None, args)
    }

    /// Starts tallkv with a config file (the first argument, as redis-server takes it) and `args`.
    pub fn start_with_file(file: Option<&str>, args: &[&str]) -> Server {
        Server::start_from(|port, dir| {
            let mut command = Command::new(env!("CARGO_BIN_EXE_tallkv"));
            command.args(file).arg("--port").arg(port.to_string()).arg("--dir").arg(dir).args(args);
            command
        })
    }

    /// Starts tallkv from a shell that first runs `prelude` (e.g. `ulimit -Sn 200`).
    pub fn start_after_shell(prelude: &str, args: &[&str]) -> Server {
        Server::start_from(|port, dir| {
            let mut command = Command::new("sh");
            let dir = dir.display();
            let script = format!("{prelude}; exec \"$0\" --port {port} --dir '{dir}' \"$@\"");
            command.arg("-c").arg(script).arg(env!("CARGO_BIN_EXE_tallkv")).args(args);
            command
        })
    }

    /// Starts the command `make(port)` builds on a free port and waits until it answers PING.
    fn start_from(make: impl Fn(u16, &std::path::Path) -> Command) -> Server {
        let dir = fresh_dir("server");
        for _ in 0..5 {
            let port = free_port();
            let mut child = make(port, &dir).stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("start tallkv");
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                if ping(port) {
                    return Server { child, port, dir };
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("tallkv did not start");
    }

    /// Starts tallkv with four shards (cross-shard paths run even on two cores).
    pub fn start_sharded() -> Server {
        Server::start(&["--threads", "4"])
    }

    /// A connection through the `redis` crate.
    pub fn client(&self) -> redis::Connection {
        let client = redis::Client::open(format!("redis://127.0.0.1:{}/", self.port)).expect("client");
        let conn = client.get_connection().expect("connect");
        conn.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
        conn
    }

    /// A raw socket to the server.
    pub fn raw(&self) -> Raw {
        let stream = TcpStream::connect(("127.0.0.1", self.port)).expect("connect");
        stream.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
        Raw { stream }
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Waits for the process to exit on its own, up to `timeout`; its exit status if it did.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// Kills the server with SIGKILL (kill -9) and waits for it: no shutdown code runs.
    pub fn kill_hard(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn ping(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    if stream.write_all(b"PING\r\n").is_err() {
        return false;
    }
    let mut buf = [0u8; 7];
    stream.read_exact(&mut buf).is_ok() && &buf == b"+PONG\r\n"
}

/// Runs the tallkv binary with `args` to completion (for startup errors); (exit success, stdout+stderr).
pub fn run_to_exit(args: &[&str]) -> (bool, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_tallkv")).args(args).output().expect("run tallkv");
    let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&output.stderr));
    (output.status.success(), text)
}

/// A raw connection for byte-exact protocol checks.
pub struct Raw {
    /// The socket.
    pub stream: TcpStream,
}

impl Raw {
    /// Sends bytes.
    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("send");
    }

    /// Reads exactly `n` bytes.
    pub fn read_exact(&mut self, n: usize) -> Vec<u8> {
        let mut buf = vec![0u8; n];
        self.stream.read_exact(&mut buf).expect("read");
        buf
    }

    /// Reads one whole RESP reply (of any type, nested) and returns its bytes.
    pub fn read_reply(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        self.read_value(&mut out);
        out
    }

    fn read_line(&mut self, out: &mut Vec<u8>) -> Vec<u8> {
        let mut line = Vec::new();
        let mut byte = [0u8; 1];
        loop {
            self.stream.read_exact(&mut byte).expect("read line");
            line.push(byte[0]);
            if line.ends_with(b"\r\n") {
                break;
            }
        }
        out.extend_from_slice(&line);
        line
    }

    fn read_value(&mut self, out: &mut Vec<u8>) {
        let line = self.read_line(out);
        let body = &line[1..line.len() - 2];
        let n: i64 = std::str::from_utf8(body).ok().and_then(|s| s.parse().ok()).unwrap_or(0);
        match line[0] {
            b'$' | b'=' | b'!' if n >= 0 => {
                let data = self.read_exact(n as usize + 2);
                out.extend_from_slice(&data);
            }
            b'*' | b'~' | b'>' => {
                for _ in 0..n.max(0) {
                    self.read_value(out);
                }
            }
            b'%' | b'|' => {
                for _ in 0..2 * n.max(0) {
                    self.read_value(out);
                }
            }
            _ => {}
        }
    }

    /// Sends a command as a RESP array and returns the raw reply.
    pub fn cmd(&mut self, args: &[&[u8]]) -> Vec<u8> {
        self.send(&encode_command(args));
        self.read_reply()
    }

    /// Whether the server closed the connection (reads EOF within the timeout).
    pub fn is_closed(&mut self) -> bool {
        let mut buf = [0u8; 64];
        matches!(self.stream.read(&mut buf), Ok(0) | Err(_))
    }
}

/// A command encoded as a RESP array of bulk strings.
pub fn encode_command(args: &[&[u8]]) -> Vec<u8> {
    tallkv::protocol::request::encode_request(args)
}

/// Runs a command with the `redis` crate and returns its value.
pub fn query(conn: &mut redis::Connection, args: &[&str]) -> redis::Value {
    let mut cmd = redis::cmd(args[0]);
    for arg in &args[1..] {
        cmd.arg(*arg);
    }
    cmd.query::<redis::Value>(conn).expect("query")
}

/// Runs a command and returns the error text (code and message), or panics if it succeeded.
pub fn query_err(conn: &mut redis::Connection, args: &[&str]) -> String {
    let mut cmd = redis::cmd(args[0]);
    for arg in &args[1..] {
        cmd.arg(*arg);
    }
    match cmd.query::<redis::Value>(conn) {
        Ok(v) => panic!("expected an error from {args:?}, got {v:?}"),
        Err(e) => {
            let code = e.code().unwrap_or("");
            let detail = e.detail().unwrap_or("");
            if code.is_empty() { e.to_string() } else { format!("{code} {detail}") }
        }
    }
}

/// The number of shards of a [`Server::start_sharded`] server.
pub const SHARDS: usize = 4;

/// The shard owning `key` on a [`Server::start_sharded`] server.
pub fn shard_of(key: &str) -> usize {
    tallkv::shard::slot::key_shard(key.as_bytes(), SHARDS)
}

/// The first key `<prefix><n>` owned by `shard` on a [`Server::start_sharded`] server.
pub fn key_on(shard: usize, prefix: &str) -> String {
    (0..).map(|n| format!("{prefix}{n}")).find(|k| shard_of(k) == shard).expect("some key lands on every shard")
}

/// Sends a command given as space-separated words and returns the raw reply as text.
pub fn cmd(r: &mut Raw, line: &str) -> String {
    let args: Vec<&str> = line.split(' ').collect();
    cmdv(r, &args)
}

/// Sends a command given as separate arguments and returns the raw reply as text.
pub fn cmdv(r: &mut Raw, args: &[&str]) -> String {
    let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
    String::from_utf8_lossy(&r.cmd(&args)).into_owned()
}

/// The exact RESP reply for bulk string `s`, as text.
pub fn bulk(s: &str) -> String {
    format!("${}\r\n{s}\r\n", s.len())
}

/// The exact RESP reply for bulk string `data`.
pub fn bulk_bytes(data: &[u8]) -> Vec<u8> {
    let mut out = format!("${}\r\n", data.len()).into_bytes();
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
    out
}

/// The text of a bulk or verbatim reply.
pub fn text_of(reply: &str) -> String {
    let (_, rest) = reply.split_once("\r\n").expect("a header line");
    let body = rest.strip_suffix("\r\n").expect("a terminated body");
    match reply.as_bytes()[0] {
        b'$' => body.to_string(),
        b'=' => body.strip_prefix("txt:").expect("txt format").to_string(),
        _ => panic!("not a bulk or verbatim reply: {reply:?}"),
    }
}

/// The current Unix time in milliseconds.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock after 1970").as_millis() as i64
}

/// Makes `key` hold a value of another type than string with the first of LPUSH, SADD,
/// HSET, ZADD and XADD the server implements (asserting it succeeds); false if it has none.
pub fn make_non_string(r: &mut Raw, key: &str) -> bool {
    for args in [
        &["LPUSH", key, "a"][..],
        &["SADD", key, "a"],
        &["HSET", key, "f", "v"],
        &["ZADD", key, "1", "a"],
        &["XADD", key, "*", "f", "v"],
    ] {
        let reply = cmdv(r, args);
        if !reply.starts_with("-ERR unknown command") {
            assert!(!reply.starts_with('-'), "{args:?}: {reply}");
            return true;
        }
    }
    false
}

/// `-ERR syntax error`.
pub const SYNTAX: &str = "-ERR syntax error\r\n";
/// The error for an argument that is not an integer (or out of range).
pub const NOT_INT: &str = "-ERR value is not an integer or out of range\r\n";
/// The error for a command against a key of the wrong type.
pub const WRONGTYPE: &str = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";

/// The real redis-server (Debian's package, installed by `tools/install-test-deps.sh`) on
/// a free port, for interoperability tests; killed when dropped.
pub struct RealRedis {
    child: Child,
    /// The port it listens on.
    pub port: u16,
    /// A directory it owns (removed when dropped), when it was not given one.
    own_dir: Option<std::path::PathBuf>,
}

impl RealRedis {
    /// Starts redis-server in a fresh directory of its own with `args`, or `None` (with a
    /// note) if it is not installed.
    pub fn start(args: &[&str]) -> Option<RealRedis> {
        let dir = fresh_dir("real-redis");
        let mut redis = RealRedis::start_in(&dir, args)?;
        redis.own_dir = Some(dir);
        Some(redis)
    }

    /// Starts redis-server in `dir` with `args` (e.g. `--dbfilename x.rdb`), waiting until
    /// it has loaded its data; `None` (with a note) if it is not installed.
    pub fn start_in(dir: &std::path::Path, args: &[&str]) -> Option<RealRedis> {
        if Command::new("redis-server").arg("--version").output().is_err() {
            eprintln!("note: redis-server is not on PATH (run tools/install-test-deps.sh); skipping interop checks");
            return None;
        }
        for _ in 0..5 {
            let port = free_port();
            let mut child = Command::new("redis-server")
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
                .arg("--dir")
                .arg(dir)
                .args(args)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start redis-server");
            let deadline = Instant::now() + Duration::from_secs(20);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    let server = RealRedis { child, port, own_dir: None };
                    // Redis answers -LOADING until its data is in.
                    let mut c = server.client();
                    while redis::cmd("PING").query::<String>(&mut c).is_err() && Instant::now() < deadline {
                        std::thread::sleep(Duration::from_millis(20));
                    }
                    return Some(server);
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("redis-server did not start");
    }

    /// A connection through the `redis` crate.
    pub fn client(&self) -> redis::Connection {
        let client = redis::Client::open(format!("redis://127.0.0.1:{}/", self.port)).expect("client");
        let conn = client.get_connection().expect("connect");
        conn.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
        conn
    }
}

impl Drop for RealRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(dir) = &self.own_dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}
