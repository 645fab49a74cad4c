//! Differential check of the request parser against a real Redis 7.0.
//!
//!     redis-server --port 6397 --save '' --daemonize yes
//!     cargo run --release --bin redis_diff -- 127.0.0.1:6397 [cases] [seed]
//!
//! Each case is a random mix of multibulk and inline requests (ECHO and PING with random
//! arguments, quotes and escapes, empty requests, CRLFs replaced by other bytes, garbage),
//! small enough for Redis to read in one go. It is sent to Redis on a fresh connection, which is
//! then half-closed; Redis's replies are compared with what the parser's requests should get:
//! the echoed argument, PONG, an arity or unknown-command error, or `-ERR <protocol error>`
//! with the connection closing after it.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};

use tallkv::protocol::request::encode_request;
use tallkv::protocol::{Limits, Parsed, RequestParser};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick(&mut self, s: &[u8]) -> u8 {
        s[self.below(s.len())]
    }
}

fn generate(r: &mut Rng) -> Vec<u8> {
    const INLINE: &[u8] = b"abcxyzAF019 \t\"'\\\\xnrtba\r\x0b\x0c\xc3\xff\"'";
    const PROTO: &[u8] = b"*$\r\n0123456789-+ \"'\\\0xPINGECHO\xff";
    let mut out = Vec::new();
    for _ in 0..1 + r.below(6) {
        match r.below(9) {
            0 | 1 => {
                let arg: Vec<u8> = (0..r.below(20)).map(|_| r.next() as u8).collect();
                out.extend(encode_request(&[if r.below(2) == 0 { b"ECHO" } else { b"echo" }, &arg]));
            }
            2 => out.extend(encode_request(&[b"PING"])),
            3 | 4 => {
                out.extend_from_slice(if r.below(3) == 0 { b" ECHO " } else { b"ECHO " });
                for _ in 0..r.below(16) {
                    let c = r.pick(INLINE);
                    out.push(c);
                }
                out.extend_from_slice(if r.below(2) == 0 { b"\n" } else { b"\r\n" });
            }
            5 => {
                let empty: [&[u8]; 6] = [b"*0\r\n", b"*-1\r\n", b"\r\n", b"\n", b"  \t\n", b"*-7\r\n"];
                out.extend_from_slice(empty[r.below(empty.len())]);
            }
            6 => {
                let mut frame = encode_request(&[b"ECHO", b"hi\r\n"]);
                for b in frame.iter_mut() {
                    if (*b == b'\r' || *b == b'\n') && r.below(3) == 0 {
                        *b = r.pick(b"xy\r\n*$");
                    }
                }
                out.extend(frame);
            }
            7 => {
                for _ in 0..r.below(12) {
                    let c = r.pick(PROTO);
                    out.push(c);
                }
            }
            _ => out.extend(encode_request(&[b"PING", b"a b"])),
        }
    }
    if r.below(4) == 0 && !out.is_empty() {
        let i = r.below(out.len());
        out[i] = r.pick(PROTO);
    }
    out
}

/// Splits Redis's output into top-level replies (only simple ones occur here).
fn replies(mut b: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    while !b.is_empty() {
        let Some(cr) = b.windows(2).position(|w| w == b"\r\n") else {
            out.push(b.to_vec());
            break;
        };
        let mut end = cr + 2;
        if b[0] == b'$'
            && let Some(n) = std::str::from_utf8(&b[1..cr]).ok().and_then(|t| t.parse::<usize>().ok())
        {
            end = (cr + 2 + n + 2).min(b.len());
        }
        out.push(b[..end].to_vec());
        b = &b[end..];
    }
    out
}

const UNKNOWN: &[u8] = b"-ERR unknown command";

/// The replies Redis should send for `input`, going by the parser.
fn expected(input: &[u8]) -> Vec<Vec<u8>> {
    let mut parser = RequestParser::new();
    let limits = Limits::default();
    let (mut spans, mut scratch) = (Vec::new(), Vec::new());
    let mut start = 0;
    let mut out = Vec::new();
    let bulk = |a: &[u8]| [format!("${}\r\n", a.len()).as_bytes(), a, b"\r\n"].concat();
    loop {
        match parser.parse(&input[start..], &limits, &mut spans, &mut scratch) {
            Parsed::Request { consumed } => {
                let base: &[u8] = if parser.args_in_scratch() { &scratch } else { &input[start..] };
                let args: Vec<&[u8]> = spans.iter().map(|r| &base[r.clone()]).collect();
                start += consumed;
                if args.is_empty() {
                    continue;
                }
                out.push(match (&args[0].to_ascii_lowercase()[..], args.len()) {
                    (b"echo", 2) | (b"ping", 2) => bulk(args[1]),
                    (b"ping", 1) => b"+PONG\r\n".to_vec(),
                    (b"echo", _) => b"-ERR wrong number of arguments for 'echo' command\r\n".to_vec(),
                    (b"ping", _) => b"-ERR wrong number of arguments for 'ping' command\r\n".to_vec(),
                    _ => UNKNOWN.to_vec(),
                });
            }
            Parsed::Incomplete => return out,
            Parsed::Error(text) => {
                // Redis sends the offending byte raw; the parser gives it as a Latin-1 char.
                let text: Vec<u8> = text.chars().map(|c| c as u32 as u8).collect();
                out.push([&b"-ERR "[..], &text, b"\r\n"].concat());
                return out;
            }
        }
    }
}

fn main() {
    let mut argv = std::env::args().skip(1);
    let addr = argv.next().unwrap_or_else(|| "127.0.0.1:6397".to_string());
    let cases: usize = argv.next().and_then(|s| s.parse().ok()).unwrap_or(10_000);
    let seed: u64 = argv.next().and_then(|s| s.parse().ok()).unwrap_or(0x9e37_79b9_7f4a_7c15);
    let mut rng = Rng(seed.max(1));
    let (mut compared, mut protocol_errors) = (0, 0);
    for case in 0..cases {
        let input = generate(&mut rng);
        let mut conn = TcpStream::connect(&addr).expect("connect to Redis");
        conn.write_all(&input).expect("write");
        conn.shutdown(Shutdown::Write).expect("shutdown");
        let mut output = Vec::new();
        conn.read_to_end(&mut output).expect("read");
        let got = replies(&output);
        let want = expected(&input);
        let same = got.len() == want.len()
            && got.iter().zip(&want).all(|(g, w)| if w == UNKNOWN { g.starts_with(w) } else { g == w });
        if !same {
            let show = |v: &[Vec<u8>]| v.iter().map(|f| String::from_utf8_lossy(f).into_owned()).collect::<Vec<_>>();
            eprintln!("case {case} (seed {seed}): input {:?}", String::from_utf8_lossy(&input));
            eprintln!("  redis:  {:?}", show(&got));
            eprintln!("  parser: {:?}", show(&want));
            std::process::exit(1);
        }
        compared += want.len();
        protocol_errors += want.iter().filter(|w| w.starts_with(b"-ERR Protocol")).count();
    }
    println!("{cases} cases agree: {compared} replies, {protocol_errors} protocol errors");
}
