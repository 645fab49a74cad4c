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
//! commands, so the commands of a transaction work on related keys) and
//! `__seq_int__` becomes the request's index 0, 1, 2, ... (12 digits; with -n N
//! every index below N is used exactly once over all connections).
//!
//! Output on stdout: redis-benchmark's `--csv` format (header line and one data
//! line: requests/s and latency avg/min/p50/p95/p99/max in ms; the latency of a
//! request is the time from writing its pipeline batch to reading its last
//! reply). A summary goes to stderr (with `-q` only if there were error replies). Exit status 1 on error replies (unless
//! `--allow-errors`), 2 on usage or connection errors.
//!
//! Example (5-command transactions, 50 connections, 16 per pipeline):
//!   txbench -p 6379 -c 50 -P 16 -n 1000000 -r 100000 --multi -- \
//!     INCR 'tx:__rand_int__:n' ';' SET 'tx:__rand_int__:s' v ';' GET 'tx:__rand_int__:s' ...

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::process::exit;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

const USAGE: &str = "usage: txbench [-h host] [-p port] [-c connections] [-P pipeline] \
[-n requests | -d seconds] [-r keyspace] [--multi] [--name name] [--allow-errors] [-q] \
-- CMD ARG... [';' CMD ARG...]";

#[derive(Clone)]
enum Piece {
    Lit(Vec<u8>),
    Rand,
    Seq,
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
    commands: Vec<Vec<Arg>>,
}

fn usage(msg: &str) -> ! {
    eprintln!("txbench: {msg}\n{USAGE}");
    exit(2)
}

fn parse_arg(s: &str) -> Arg {
    let mut out = Vec::new();
    let mut rest = s;
    loop {
        let r = rest.find("__rand_int__");
        let q = rest.find("__seq_int__");
        let (pos, piece, len) = match (r, q) {
            (None, None) => break,
            (Some(a), Some(b)) if b < a => (b, Piece::Seq, "__seq_int__".len()),
            (Some(a), _) => (a, Piece::Rand, "__rand_int__".len()),
            (None, Some(b)) => (b, Piece::Seq, "__seq_int__".len()),
        };
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

fn push_command(buf: &mut Vec<u8>, cmd: &[Arg], rand: u64, seq: u64, scratch: &mut Vec<u8>) {
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
    errors: u64,
    first_error: Option<String>,
}

fn note_error(stats: &mut Stats, what: String) {
    if stats.first_error.is_none() {
        stats.first_error = Some(what);
    }
}

fn run_conn(cfg: &Config, next: &AtomicU64, stop: &AtomicBool, id: u64) -> io::Result<Stats> {
    let stream = TcpStream::connect((cfg.host.as_str(), cfg.port))?;
    stream.set_nodelay(true)?;
    let mut writer = stream.try_clone()?;
    let mut rd = Reader { stream, buf: vec![0; 64 * 1024], start: 0, end: 0 };
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (id + 1).wrapping_mul(0xD1B5_4A32_D192_ED03));
    let mut stats = Stats::default();
    let mut out = Vec::with_capacity(64 * 1024);
    let mut scratch = Vec::new();
    let ncmd = cfg.commands.len();
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
            let rand = rng.next() % cfg.keyspace;
            if cfg.multi {
                out.extend_from_slice(b"*1\r\n$5\r\nMULTI\r\n");
            }
            for cmd in &cfg.commands {
                push_command(&mut out, cmd, rand, seq, &mut scratch);
            }
            if cfg.multi {
                out.extend_from_slice(b"*1\r\n$4\r\nEXEC\r\n");
            }
        }
        let t0 = Instant::now();
        writer.write_all(&out)?;
        for _ in 0..count {
            if cfg.multi {
                let mut errs = 0;
                match rd.reply(&mut errs)? {
                    Reply::Status(s) if s == b"OK" => {}
                    _ => {
                        stats.errors += 1;
                        note_error(&mut stats, "MULTI did not reply +OK".into());
                    }
                }
                for _ in 0..ncmd {
                    let mut e = 0;
                    match rd.reply(&mut e)? {
                        Reply::Status(s) if s == b"QUEUED" => {}
                        Reply::Error(m) => {
                            stats.errors += 1;
                            note_error(&mut stats, format!("queued command: -{}", String::from_utf8_lossy(&m)));
                        }
                        _ => {
                            stats.errors += 1;
                            note_error(&mut stats, "queued command did not reply +QUEUED".into());
                        }
                    }
                }
                let mut e = 0;
                match rd.reply(&mut e)? {
                    Reply::Array(n) if n == ncmd as i64 => {
                        if e > 0 {
                            stats.errors += e;
                            note_error(&mut stats, format!("{e} error(s) inside an EXEC reply"));
                        }
                    }
                    Reply::Error(m) => {
                        stats.errors += 1;
                        note_error(&mut stats, format!("EXEC: -{}", String::from_utf8_lossy(&m)));
                    }
                    _ => {
                        stats.errors += 1;
                        note_error(&mut stats, format!("EXEC did not reply an array of {ncmd}"));
                    }
                }
            } else {
                for _ in 0..ncmd {
                    let mut e = 0;
                    if let Reply::Error(m) = rd.reply(&mut e)? {
                        note_error(&mut stats, format!("-{}", String::from_utf8_lossy(&m)));
                    }
                    stats.errors += e;
                }
            }
            stats.latencies_ns.push(t0.elapsed().as_nanos() as u64);
        }
    }
    Ok(stats)
}

fn pct(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let idx = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[idx.clamp(1, sorted.len()) - 1] as f64 / 1e6
}

fn main() {
    let cfg = Arc::new(parse_config());
    let next = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    let handles: Vec<_> = (0..cfg.conns)
        .map(|id| {
            let (cfg, next, stop) = (Arc::clone(&cfg), Arc::clone(&next), Arc::clone(&stop));
            thread::spawn(move || {
                let r = run_conn(&cfg, &next, &stop, id as u64);
                if r.is_err() {
                    // make the other connections stop soon too
                    stop.store(true, Ordering::Relaxed);
                }
                r
            })
        })
        .collect();
    if let Some(d) = cfg.duration {
        while start.elapsed() < d && !handles.iter().all(|h| h.is_finished()) {
            thread::sleep(Duration::from_millis(5));
        }
        stop.store(true, Ordering::Relaxed);
    }
    let mut lat = Vec::new();
    let (mut errors, mut first_error, mut io_error) = (0u64, None, None);
    for h in handles {
        match h.join() {
            Ok(Ok(s)) => {
                lat.extend(s.latencies_ns);
                errors += s.errors;
                first_error = first_error.or(s.first_error);
            }
            Ok(Err(e)) => io_error = io_error.or(Some(e.to_string())),
            Err(_) => io_error = io_error.or(Some("a connection thread panicked".into())),
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    if let Some(e) = io_error {
        eprintln!("txbench: connection error: {e}");
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
        eprintln!(
            "txbench: {done} {} in {elapsed:.3} s = {rps:.0}/s, {} connections, pipeline {}, {errors} error replies",
            if cfg.multi { "transactions" } else { "requests" },
            cfg.conns,
            cfg.pipeline
        );
    }
    if errors > 0 {
        eprintln!("txbench: first error: {}", first_error.unwrap_or_default());
        if !cfg.allow_errors {
            exit(1);
        }
    }
}
