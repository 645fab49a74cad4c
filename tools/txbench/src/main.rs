//! txbench: a small closed-loop load generator for a Redis-protocol server, for the
//! tests of tools/bench_core.sh that redis-benchmark cannot express.
//!
//! A *request* is a fixed sequence of commands; with `--multi` it is sent as one
//! transaction, `MULTI`, the commands, `EXEC`, and counts as one request (the
//! replies must be `+OK`, one `+QUEUED` per command and an EXEC array with one
//! element per command). Each connection (one thread each, blocking I/O) sends
//! `-P` requests back to back, then reads all their replies, and repeats.
//!
//! In arguments, `__rand_int__` becomes a random number in [0, -r) as 12 digits
//! (as in redis-benchmark, but one value per request, shared by all its
//! commands, so the commands of a transaction work on related keys),
//! `__seq_int__` becomes the request's index 0, 1, 2, ... (12 digits; with -n N
//! every index below N is used exactly once over all connections), and
//! `__rand_hex_N__` becomes N fresh random hex digits (each occurrence its own;
//! incompressible-ish values, e.g. `SET key:__seq_int__ __rand_hex_100__`).
//!
//! Open loop (`--rate R`): instead of each connection waiting for its replies
//! before sending more, one sender thread sends request k at its intended time
//! start + k/R (round robin over the connections, whether or not earlier replies
//! came back), and one reader thread per connection reads the replies. The latency
//! of a request is measured from its *intended* send time, so a server stall
//! counts for every request that should have been sent during it (no coordinated
//! omission). `-P` must be 1 with `--rate`.
//!
//! Output on stdout: redis-benchmark's `--csv` format (header line and one data
//! line: requests/s and latency avg/min/p50/p95/p99/max in ms; the latency of a
//! request is the time from writing its pipeline batch, or from its intended send
//! time with `--rate`, to reading its last reply). A summary with p99.9 goes to
//! stderr (with `-q` only if there were error replies). `--latency-out FILE`
//! writes one record per request: three little-endian u64, the intended send time
//! (ns since the Unix epoch), the latency from it and the latency from the actual
//! send (ns). `--stdin-stop` also stops the run when stdin reaches end of file
//! (for scripts that stop the load at an event). Exit status 1 on error replies
//! (unless `--allow-errors`), 2 on usage or connection errors.
//!
//! Example (5-command transactions, 50 connections, 16 per pipeline):
//!   txbench -p 6379 -c 50 -P 16 -n 1000000 -r 100000 --multi -- \
//!     INCR 'tx:__rand_int__:n' ';' SET 'tx:__rand_int__:s' v ';' GET 'tx:__rand_int__:s' ...

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::process::exit;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const USAGE: &str = "usage: txbench [-h host] [-p port] [-c connections] [-P pipeline] \
[-n requests | -d seconds] [-r keyspace] [--rate requests/s] [--multi] [--name name] \
[--latency-out file] [--stdin-stop] [--allow-errors] [-q] -- CMD ARG... [';' CMD ARG...]";

#[derive(Clone)]
enum Piece {
    Lit(Vec<u8>),
    Rand,
    Seq,
    RandHex(usize),
}

type Arg = Vec<Piece>;

struct Config {
    host: String,
    port: u16,
    conns: usize,
    pipeline: u64,
    requests: Option<u64>,
    duration: Option<Duration>,
    keyspace: u64,
    multi: bool,
    name: String,
    allow_errors: bool,
    quiet: bool,
    rate: Option<f64>,
    latency_out: Option<String>,
    stdin_stop: bool,
    commands: Vec<Vec<Arg>>,
}

fn usage(msg: &str) -> ! {
    eprintln!("txbench: {msg}\n{USAGE}");
    exit(2)
}

/// The next placeholder in `s`: (position, piece, length of its text).
fn next_placeholder(s: &str) -> Option<(usize, Piece, usize)> {
    let mut best: Option<(usize, Piece, usize)> = None;
    let mut consider = |found: Option<(usize, Piece, usize)>| {
        if let Some(f) = found
            && best.as_ref().is_none_or(|b| f.0 < b.0)
        {
            best = Some(f);
        }
    };
    consider(s.find("__rand_int__").map(|p| (p, Piece::Rand, "__rand_int__".len())));
    consider(s.find("__seq_int__").map(|p| (p, Piece::Seq, "__seq_int__".len())));
    let mut from = 0;
    while let Some(off) = s[from..].find("__rand_hex_") {
        let p = from + off;
        let digits: String = s[p + 11..].chars().take_while(|c| c.is_ascii_digit()).collect();
        if !digits.is_empty() && s[p + 11 + digits.len()..].starts_with("__") {
            let n: usize = digits.parse().unwrap_or_else(|_| usage(&format!("bad length in {s}")));
            consider(Some((p, Piece::RandHex(n), 11 + digits.len() + 2)));
            break;
        }
        from = p + 1;
    }
    best
}

fn parse_arg(s: &str) -> Arg {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some((pos, piece, len)) = next_placeholder(rest) {
        if pos > 0 {
            out.push(Piece::Lit(rest.as_bytes()[..pos].to_vec()));
        }
        out.push(piece);
        rest = &rest[pos + len..];
    }
    if !rest.is_empty() || out.is_empty() {
        out.push(Piece::Lit(rest.as_bytes().to_vec()));
    }
    out
}

fn parse_config() -> Config {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut cfg = Config {
        host: "127.0.0.1".into(),
        port: 6379,
        conns: 50,
        pipeline: 1,
        requests: None,
        duration: None,
        keyspace: 100_000,
        multi: false,
        name: String::new(),
        allow_errors: false,
        quiet: false,
        rate: None,
        latency_out: None,
        stdin_stop: false,
        commands: Vec::new(),
    };
    let mut i = 0;
    let value = |i: &mut usize, flag: &str| -> String {
        *i += 1;
        args.get(*i).cloned().unwrap_or_else(|| usage(&format!("{flag} needs a value")))
    };
    fn num<T: std::str::FromStr>(s: &str, flag: &str) -> T {
        s.parse().unwrap_or_else(|_| usage(&format!("bad value for {flag}: {s}")))
    }
    while i < args.len() {
        let a = args[i].as_str();
        match a {
            "-h" => cfg.host = value(&mut i, a),
            "-p" => cfg.port = num(&value(&mut i, a), a),
            "-c" => cfg.conns = num(&value(&mut i, a), a),
            "-P" => cfg.pipeline = num(&value(&mut i, a), a),
            "-n" => cfg.requests = Some(num(&value(&mut i, a), a)),
            "-d" => cfg.duration = Some(Duration::from_secs_f64(num(&value(&mut i, a), a))),
            "-r" => cfg.keyspace = num(&value(&mut i, a), a),
            "--multi" => cfg.multi = true,
            "--name" => cfg.name = value(&mut i, a),
            "--allow-errors" => cfg.allow_errors = true,
            "-q" => cfg.quiet = true,
            "--rate" => cfg.rate = Some(num(&value(&mut i, a), a)),
            "--latency-out" => cfg.latency_out = Some(value(&mut i, a)),
            "--stdin-stop" => cfg.stdin_stop = true,
            "--help" => {
                println!("{USAGE}");
                exit(0)
            }
            "--" => {
                i += 1;
                break;
            }
            _ => usage(&format!("unknown option {a}")),
        }
        i += 1;
    }
    let mut cur: Vec<Arg> = Vec::new();
    for a in &args[i.min(args.len())..] {
        if a == ";" {
            if !cur.is_empty() {
                cfg.commands.push(std::mem::take(&mut cur));
            }
        } else {
            cur.push(parse_arg(a));
        }
    }
    if !cur.is_empty() {
        cfg.commands.push(cur);
    }
    if cfg.commands.is_empty() {
        usage("no command given");
    }
    if cfg.conns == 0 || cfg.pipeline == 0 || cfg.keyspace == 0 {
        usage("-c, -P and -r must be positive");
    }
    if let Some(r) = cfg.rate {
        if !(r.is_finite() && r > 0.0) {
            usage("--rate must be positive");
        }
        if cfg.pipeline != 1 {
            usage("--rate needs -P 1 (each request is sent at its own time)");
        }
    }
    match (cfg.requests, cfg.duration) {
        (Some(_), Some(_)) => usage("give -n or -d, not both"),
        (None, None) => cfg.requests = Some(100_000),
        _ => {}
    }
    if cfg.name.is_empty() {
        let first: Vec<String> = cfg
            .commands
            .iter()
            .map(|c| match c.first().and_then(|a| a.first()) {
                Some(Piece::Lit(b)) => String::from_utf8_lossy(b).into_owned(),
                _ => "?".into(),
            })
            .collect();
        cfg.name = if cfg.multi { format!("MULTI {} EXEC", first.join(" ")) } else { first.join(" ") };
    }
    cfg
}

/// xorshift64*: per-thread pseudo-random numbers, no dependencies.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

fn push_bulk(buf: &mut Vec<u8>, data: &[u8]) {
    buf.push(b'$');
    buf.extend_from_slice(data.len().to_string().as_bytes());
    buf.extend_from_slice(b"\r\n");
    buf.extend_from_slice(data);
    buf.extend_from_slice(b"\r\n");
}

fn push_command(buf: &mut Vec<u8>, cmd: &[Arg], rand: u64, seq: u64, rng: &mut Rng, scratch: &mut Vec<u8>) {
    buf.push(b'*');
    buf.extend_from_slice(cmd.len().to_string().as_bytes());
    buf.extend_from_slice(b"\r\n");
    for arg in cmd {
        scratch.clear();
        for p in arg {
            match p {
                Piece::Lit(b) => scratch.extend_from_slice(b),
                Piece::Rand => scratch.extend_from_slice(format!("{rand:012}").as_bytes()),
                Piece::Seq => scratch.extend_from_slice(format!("{seq:012}").as_bytes()),
                Piece::RandHex(n) => {
                    const HEX: &[u8; 16] = b"0123456789abcdef";
                    let mut left = *n;
                    while left > 0 {
                        let mut r = rng.next();
                        for _ in 0..left.min(16) {
                            scratch.push(HEX[(r & 15) as usize]);
                            r >>= 4;
                        }
                        left -= left.min(16);
                    }
                }
            }
        }
        push_bulk(buf, scratch);
    }
}

/// Buffered RESP2 reply reader.
struct Reader {
    stream: TcpStream,
    buf: Vec<u8>,
    start: usize,
    end: usize,
}

/// The shape of one reply; arrays are read whole and their errors counted.
enum Reply {
    Status(Vec<u8>),
    Error(Vec<u8>),
    Other,
    Array(i64),
}

fn bad(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.to_string())
}

impl Reader {
    fn fill(&mut self) -> io::Result<()> {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.end == self.buf.len() {
            self.buf.resize(self.buf.len() * 2, 0);
        }
        let n = self.stream.read(&mut self.buf[self.end..])?;
        if n == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "server closed the connection"));
        }
        self.end += n;
        Ok(())
    }

    fn line(&mut self) -> io::Result<Vec<u8>> {
        let mut scanned = self.start;
        loop {
            if let Some(off) = self.buf[scanned..self.end].windows(2).position(|w| w == b"\r\n") {
                let line = self.buf[self.start..scanned + off].to_vec();
                self.start = scanned + off + 2;
                return Ok(line);
            }
            scanned = self.end.saturating_sub(1).max(self.start);
            let rel = scanned - self.start;
            self.fill()?;
            scanned = self.start + rel;
        }
    }

    fn skip(&mut self, mut n: usize) -> io::Result<()> {
        while n > 0 {
            if self.start == self.end {
                self.fill()?;
            }
            let k = n.min(self.end - self.start);
            self.start += k;
            n -= k;
        }
        Ok(())
    }

    /// Reads one reply; `errors` counts error replies at any depth.
    fn reply(&mut self, errors: &mut u64) -> io::Result<Reply> {
        let line = self.line()?;
        let (kind, rest) = line.split_first().ok_or_else(|| bad("empty reply line"))?;
        let int = |r: &[u8]| -> io::Result<i64> {
            std::str::from_utf8(r).ok().and_then(|s| s.parse().ok()).ok_or_else(|| bad("bad length"))
        };
        match kind {
            b'+' => Ok(Reply::Status(rest.to_vec())),
            b'-' => {
                *errors += 1;
                Ok(Reply::Error(rest.to_vec()))
            }
            b':' => Ok(Reply::Other),
            b'$' => {
                let n = int(rest)?;
                if n >= 0 {
                    self.skip(n as usize + 2)?;
                }
                Ok(Reply::Other)
            }
            b'*' => {
                let n = int(rest)?;
                for _ in 0..n.max(0) {
                    self.reply(errors)?;
                }
                Ok(Reply::Array(n))
            }
            _ => Err(bad("unexpected reply type (RESP2 expected)")),
        }
    }
}

#[derive(Default)]
struct Stats {
    latencies_ns: Vec<u64>,
    /// With `--latency-out`: (intended send, ns since the epoch; latency from it; from the send).
    records: Vec<[u64; 3]>,
    errors: u64,
    first_error: Option<String>,
    /// Open loop: the largest delay of an actual send behind its intended time.
    max_send_lag_ns: u64,
}

impl Stats {
    fn record(&mut self, clock: &Clock, keep: bool, intended: Instant, sent: Instant, done: Instant) {
        let lat = done.duration_since(intended).as_nanos() as u64;
        self.latencies_ns.push(lat);
        if keep {
            self.records.push([clock.epoch_ns(intended), lat, done.duration_since(sent).as_nanos() as u64]);
        }
    }
}

fn note_error(stats: &mut Stats, what: String) {
    if stats.first_error.is_none() {
        stats.first_error = Some(what);
    }
}

/// Converts instants to ns since the Unix epoch (for `--latency-out`).
struct Clock {
    start: Instant,
    start_epoch_ns: u64,
}

impl Clock {
    fn new() -> Clock {
        let start_epoch_ns = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0);
        Clock { start: Instant::now(), start_epoch_ns }
    }

    fn epoch_ns(&self, t: Instant) -> u64 {
        self.start_epoch_ns + t.saturating_duration_since(self.start).as_nanos() as u64
    }
}

/// Appends one request (its commands, in MULTI/EXEC with `--multi`) to `out`.
fn push_request(cfg: &Config, out: &mut Vec<u8>, rng: &mut Rng, seq: u64, scratch: &mut Vec<u8>) {
    let rand = rng.next() % cfg.keyspace;
    if cfg.multi {
        out.extend_from_slice(b"*1\r\n$5\r\nMULTI\r\n");
    }
    for cmd in &cfg.commands {
        push_command(out, cmd, rand, seq, rng, scratch);
    }
    if cfg.multi {
        out.extend_from_slice(b"*1\r\n$4\r\nEXEC\r\n");
    }
}

/// Reads the replies of one request and counts its error replies in `stats`.
fn read_request(cfg: &Config, rd: &mut Reader, stats: &mut Stats) -> io::Result<()> {
    let ncmd = cfg.commands.len();
    if cfg.multi {
        let mut errs = 0;
        match rd.reply(&mut errs)? {
            Reply::Status(s) if s == b"OK" => {}
            _ => {
                stats.errors += 1;
                note_error(stats, "MULTI did not reply +OK".into());
            }
        }
        for _ in 0..ncmd {
            let mut e = 0;
            match rd.reply(&mut e)? {
                Reply::Status(s) if s == b"QUEUED" => {}
                Reply::Error(m) => {
                    stats.errors += 1;
                    note_error(stats, format!("queued command: -{}", String::from_utf8_lossy(&m)));
                }
                _ => {
                    stats.errors += 1;
                    note_error(stats, "queued command did not reply +QUEUED".into());
                }
            }
        }
        let mut e = 0;
        match rd.reply(&mut e)? {
            Reply::Array(n) if n == ncmd as i64 => {
                if e > 0 {
                    stats.errors += e;
                    note_error(stats, format!("{e} error(s) inside an EXEC reply"));
                }
            }
            Reply::Error(m) => {
                stats.errors += 1;
                note_error(stats, format!("EXEC: -{}", String::from_utf8_lossy(&m)));
            }
            _ => {
                stats.errors += 1;
                note_error(stats, format!("EXEC did not reply an array of {ncmd}"));
            }
        }
    } else {
        for _ in 0..ncmd {
            let mut e = 0;
            if let Reply::Error(m) = rd.reply(&mut e)? {
                note_error(stats, format!("-{}", String::from_utf8_lossy(&m)));
            }
            stats.errors += e;
        }
    }
    Ok(())
}

fn connect(cfg: &Config) -> io::Result<(TcpStream, Reader)> {
    let stream = TcpStream::connect((cfg.host.as_str(), cfg.port))?;
    stream.set_nodelay(true)?;
    let writer = stream.try_clone()?;
    Ok((writer, Reader { stream, buf: vec![0; 64 * 1024], start: 0, end: 0 }))
}

fn conn_rng(id: u64) -> Rng {
    Rng(0x9E37_79B9_7F4A_7C15 ^ (id + 1).wrapping_mul(0xD1B5_4A32_D192_ED03))
}

/// Closed loop: one connection sends `-P` requests, reads their replies, repeats.
fn run_conn(cfg: &Config, clock: &Clock, next: &AtomicU64, stop: &AtomicBool, id: u64) -> io::Result<Stats> {
    let (mut writer, mut rd) = connect(cfg)?;
    let mut rng = conn_rng(id);
    let mut stats = Stats::default();
    let keep = cfg.latency_out.is_some();
    let mut out = Vec::with_capacity(64 * 1024);
    let mut scratch = Vec::new();
    loop {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let first = next.fetch_add(cfg.pipeline, Ordering::Relaxed);
        let count = match cfg.requests {
            Some(n) if first >= n => break,
            Some(n) => cfg.pipeline.min(n - first),
            None => cfg.pipeline,
        };
        out.clear();
        for seq in first..first + count {
            push_request(cfg, &mut out, &mut rng, seq, &mut scratch);
        }
        let t0 = Instant::now();
        writer.write_all(&out)?;
        for _ in 0..count {
            read_request(cfg, &mut rd, &mut stats)?;
            stats.record(clock, keep, t0, t0, Instant::now());
        }
    }
    Ok(stats)
}

/// Open loop: the calling thread sends request k at start + k/rate on connection
/// k % conns; one reader thread per connection reads the replies in order and
/// measures each from its intended send time. Returns one Stats per connection.
fn run_open_loop(cfg: &Arc<Config>, clock: &Arc<Clock>, stop: &AtomicBool) -> Vec<io::Result<Stats>> {
    let rate = cfg.rate.unwrap_or(1.0);
    let mut writers = Vec::new();
    let mut queues = Vec::new();
    let mut readers = Vec::new();
    for _ in 0..cfg.conns {
        let (w, mut rd) = match connect(cfg) {
            Ok(c) => c,
            Err(e) => return vec![Err(e)],
        };
        // a reply that never comes must not hang the run
        if let Err(e) = rd.stream.set_read_timeout(Some(Duration::from_secs(60))) {
            return vec![Err(e)];
        }
        let (tx, rx) = mpsc::channel::<(Instant, Instant)>();
        let (cfg, clock) = (Arc::clone(cfg), Arc::clone(clock));
        readers.push(thread::spawn(move || -> io::Result<Stats> {
            let mut stats = Stats::default();
            let keep = cfg.latency_out.is_some();
            // ends when the sender is dropped and every sent request is answered
            for (intended, sent) in rx {
                read_request(&cfg, &mut rd, &mut stats)?;
                stats.record(&clock, keep, intended, sent, Instant::now());
            }
            Ok(stats)
        }));
        writers.push(w);
        queues.push(tx);
    }
    let mut rng = conn_rng(0);
    let mut out = Vec::with_capacity(4096);
    let mut scratch = Vec::new();
    let interval_ns = 1e9 / rate;
    let start = Instant::now();
    let mut max_lag = 0u64;
    let mut send_error = None;
    let mut k: u64 = 0;
    loop {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        if let Some(n) = cfg.requests
            && k >= n
        {
            break;
        }
        let intended = start + Duration::from_nanos((k as f64 * interval_ns) as u64);
        if let Some(d) = cfg.duration
            && intended.duration_since(start) >= d
        {
            break;
        }
        let now = Instant::now();
        if intended > now {
            thread::sleep(intended - now);
        }
        let c = (k % cfg.conns as u64) as usize;
        out.clear();
        push_request(cfg, &mut out, &mut rng, k, &mut scratch);
        let sent = Instant::now();
        max_lag = max_lag.max(sent.saturating_duration_since(intended).as_nanos() as u64);
        // queued before the write, so the reader always finds it
        if queues[c].send((intended, sent)).is_err() {
            break; // that reader failed; its error is reported below
        }
        if let Err(e) = writers[c].write_all(&out) {
            send_error = Some(e);
            break;
        }
        k += 1;
    }
    drop(queues);
    let mut results: Vec<io::Result<Stats>> = readers
        .into_iter()
        .map(|h| h.join().unwrap_or_else(|_| Err(io::Error::other("a reader thread panicked"))))
        .collect();
    if let Some(Ok(s)) = results.first_mut() {
        s.max_send_lag_ns = max_lag;
    }
    if let Some(e) = send_error {
        results.push(Err(e));
    }
    results
}

fn pct(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let idx = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[idx.clamp(1, sorted.len()) - 1] as f64 / 1e6
}

fn write_records(path: &str, all: &[Vec<[u64; 3]>]) -> io::Result<()> {
    let mut merged: Vec<[u64; 3]> = all.iter().flatten().copied().collect();
    merged.sort_unstable_by_key(|r| r[0]);
    let mut out = Vec::with_capacity(merged.len() * 24);
    for r in merged {
        for v in r {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    std::fs::write(path, out)
}

fn main() {
    let cfg = Arc::new(parse_config());
    let clock = Arc::new(Clock::new());
    let next = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    if cfg.stdin_stop {
        let stop = Arc::clone(&stop);
        thread::spawn(move || {
            let mut sink = [0u8; 256];
            let mut stdin = io::stdin();
            while let Ok(n) = stdin.read(&mut sink) {
                if n == 0 {
                    break;
                }
            }
            stop.store(true, Ordering::Relaxed);
        });
    }
    let start = Instant::now();
    let results: Vec<io::Result<Stats>> = if cfg.rate.is_some() {
        // -d bounds the intended send times; the sender checks it itself
        run_open_loop(&cfg, &clock, &stop)
    } else {
        let handles: Vec<_> = (0..cfg.conns)
            .map(|id| {
                let (cfg, clock, next, stop) =
                    (Arc::clone(&cfg), Arc::clone(&clock), Arc::clone(&next), Arc::clone(&stop));
                thread::spawn(move || {
                    let r = run_conn(&cfg, &clock, &next, &stop, id as u64);
                    if r.is_err() {
                        // make the other connections stop soon too
                        stop.store(true, Ordering::Relaxed);
                    }
                    r
                })
            })
            .collect();
        if let Some(d) = cfg.duration {
            while start.elapsed() < d && !handles.iter().all(|h| h.is_finished()) && !stop.load(Ordering::Relaxed) {
                thread::sleep(Duration::from_millis(5));
            }
            stop.store(true, Ordering::Relaxed);
        }
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err(io::Error::other("a connection thread panicked"))))
            .collect()
    };
    let mut lat = Vec::new();
    let mut records = Vec::new();
    let (mut errors, mut first_error, mut io_error, mut max_lag) = (0u64, None, None, 0u64);
    for r in results {
        match r {
            Ok(s) => {
                lat.extend(s.latencies_ns);
                records.push(s.records);
                errors += s.errors;
                first_error = first_error.or(s.first_error);
                max_lag = max_lag.max(s.max_send_lag_ns);
            }
            Err(e) => io_error = io_error.or(Some(e.to_string())),
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    if let Some(e) = io_error {
        eprintln!("txbench: connection error: {e}");
        exit(2);
    }
    if let Some(path) = &cfg.latency_out
        && let Err(e) = write_records(path, &records)
    {
        eprintln!("txbench: cannot write {path}: {e}");
        exit(2);
    }
    lat.sort_unstable();
    let done = lat.len() as u64;
    let rps = done as f64 / elapsed;
    let avg = if lat.is_empty() { 0.0 } else { lat.iter().sum::<u64>() as f64 / lat.len() as f64 / 1e6 };
    println!(
        "\"test\",\"rps\",\"avg_latency_ms\",\"min_latency_ms\",\"p50_latency_ms\",\"p95_latency_ms\",\"p99_latency_ms\",\"max_latency_ms\""
    );
    println!(
        "\"{}\",\"{:.2}\",\"{:.3}\",\"{:.3}\",\"{:.3}\",\"{:.3}\",\"{:.3}\",\"{:.3}\"",
        cfg.name.replace('"', "'"),
        rps,
        avg,
        pct(&lat, 0.0),
        pct(&lat, 50.0),
        pct(&lat, 95.0),
        pct(&lat, 99.0),
        pct(&lat, 100.0)
    );
    let _ = io::stdout().flush();
    if !cfg.quiet || errors > 0 {
        let mode = match cfg.rate {
            Some(r) => format!(
                "open loop at {r:.0}/s (latency from the intended send time; sender at most {:.3} ms late)",
                max_lag as f64 / 1e6
            ),
            None => format!("pipeline {}", cfg.pipeline),
        };
        eprintln!(
            "txbench: {done} {} in {elapsed:.3} s = {rps:.0}/s, {} connections, {mode}, {errors} error replies; \
             latency ms p50 {:.3} p99 {:.3} p99.9 {:.3} max {:.3}",
            if cfg.multi { "transactions" } else { "requests" },
            cfg.conns,
            pct(&lat, 50.0),
            pct(&lat, 99.0),
            pct(&lat, 99.9),
            pct(&lat, 100.0)
        );
    }
    if errors > 0 {
        eprintln!("txbench: first error: {}", first_error.unwrap_or_default());
        if !cfg.allow_errors {
            exit(1);
        }
    }
}
