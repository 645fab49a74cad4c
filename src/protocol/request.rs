//! The request parser: client bytes in, argument ranges out, the way Redis 7.0 reads them.
//!
//! This follows `processInputBuffer`, `processMultibulkBuffer` and `processInlineBuffer` of
//! Redis 7.0's `networking.c`, quirks included, and replies with the same error texts:
//!
//! * A request whose first byte is `*` is a multibulk: `*<n>\r\n` then `n` times
//!   `$<len>\r\n<len bytes>\r\n`. Every other request is an inline one: one line up to `\n`
//!   (a `\r` before it is dropped), split into words like `sdssplitargs` does.
//! * A header line (`*<n>` or `$<len>`) ends at its first `\r`; the byte after that `\r` is
//!   skipped whatever it is, and so are the two bytes after a bulk's data: Redis never
//!   checks that they are `\n` or `\r\n`.
//! * Redis looks for line ends with `strchr`, which stops at a NUL byte: a NUL before the end
//!   of a header line or an inline line means the line never ends, and the request waits
//!   until more than [`Limits::max_inline_len`] bytes are buffered, then fails with "too big
//!   ... string" / "too big inline request". Bulk data is binary-safe (any byte, NUL included).
//! * `*0`, `*-1` (any count `<= 0`), an empty inline line and a line of blanks are requests
//!   with no arguments: Redis skips them without a reply, and the caller should too.
//! * The "too big" checks apply, as in Redis, to everything buffered from the start of the
//!   line when no line end has been found yet, so where exactly they trigger depends on how
//!   the bytes were split into reads (Redis reads 16 KiB at a time).
//!
//! The parser keeps the state of the frame in progress as offsets from the frame's first
//! byte, so the caller may move its unconsumed bytes to the start of its buffer between
//! calls, and a request arriving in many pieces costs work proportional to its size.
//!
//! Typical use in a connection loop:
//!
//! ```ignore
//! loop {
//!     match parser.parse(&buf[start..], &limits, &mut spans, &mut scratch) {
//!         Parsed::Request { consumed } => {
//!             let base = if parser.args_in_scratch() { &scratch[..] } else { &buf[start..] };
//!             if !spans.is_empty() {
//!                 run(Args::new(base, &spans));
//!             }
//!             start += consumed;
//!         }
//!         Parsed::Incomplete => break, // read more; keep buf[start..]
//!         Parsed::Error(text) => { reply(format!("-ERR {text}\r\n")); close(); break }
//!     }
//! }
//! ```

use std::ops::Range;

use crate::util::splitargs::{split_args_into, split_plain};

/// Size limits, from the server configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// The longest bulk accepted (`proto-max-bulk-len`, 512 MiB by default).
    pub max_bulk_len: usize,
    /// How much may be buffered without finding the end of an inline request or of a
    /// `*`/`$` header line (Redis's `PROTO_INLINE_MAX_SIZE`, 64 KiB).
    pub max_inline_len: usize,
    /// The largest multibulk count accepted (Redis: `INT_MAX`).
    pub max_multibulk_len: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits { max_bulk_len: 512 * 1024 * 1024, max_inline_len: 64 * 1024, max_multibulk_len: i32::MAX as usize }
    }
}

/// What one call to [`RequestParser::parse`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    /// A whole request, `consumed` bytes long from the start of the buffer given. Its
    /// arguments are in the spans; no spans means a request Redis skips without a reply
    /// (`*0`, `*-1`, an empty or blank inline line).
    Request { consumed: usize },
    /// More bytes are needed; call again with the same bytes and more after them.
    Incomplete,
    /// A protocol error: the connection replies `-ERR <text>` and closes. The text is
    /// Redis's, e.g. `Protocol error: invalid bulk length`.
    Error(String),
}

/// How far a search for a header line's end got.
enum Line {
    /// The line's `\r` is at this offset, and the byte after it is there too.
    Found(usize),
    /// The `\r` is there but not yet the byte after it.
    NeedMore,
    /// No `\r` (or a NUL stopped the search).
    NotFound,
}

/// An incremental parser for one connection's requests.
#[derive(Debug, Default)]
pub struct RequestParser {
    /// Whether the multibulk count of the frame in progress has been read.
    in_multibulk: bool,
    /// Arguments still to read in the multibulk in progress.
    remaining: usize,
    /// The declared length of the bulk in progress, once its `$` line has been read.
    bulk_len: Option<usize>,
    /// Offset, from the frame's first byte, of the next thing to read.
    pos: usize,
    /// Offset up to which a line search has looked without finding the line's end (or the
    /// NUL that stopped it); never before `pos`.
    scan: usize,
    /// The length of the buffer at the last call, for [`RequestParser::bytes_wanted`].
    seen: usize,
    /// The argument spans of the multibulk in progress.
    spans: Vec<Range<usize>>,
    /// Whether the last request's spans index `scratch` rather than the buffer.
    in_scratch: bool,
    /// Whether the connection still has to authenticate (Redis then refuses counts above 10
    /// and bulks above 16384 bytes).
    auth_required: bool,
}

impl RequestParser {
    /// A parser at the start of a connection.
    pub fn new() -> RequestParser {
        RequestParser::default()
    }

    /// Says whether the client still has to authenticate: Redis 7.0 then refuses a multibulk
    /// count above 10 ("unauthenticated multibulk length") and a bulk above 16384 bytes
    /// ("unauthenticated bulk length"). Off by default.
    pub fn set_auth_required(&mut self, required: bool) {
        self.auth_required = required;
    }

    /// Forgets the frame in progress (when the caller throws its buffer away).
    pub fn reset(&mut self) {
        self.in_multibulk = false;
        self.remaining = 0;
        self.bulk_len = None;
        self.pos = 0;
        self.scan = 0;
        self.seen = 0;
        self.spans.clear();
    }

    /// Whether part of a request has been read and the rest is awaited.
    pub fn in_progress(&self) -> bool {
        self.in_multibulk || self.pos > 0 || self.scan > 0
    }

    /// Whether the spans of the last [`Parsed::Request`] index `scratch` (an inline request
    /// with quotes, whose arguments had to be unescaped) rather than the buffer.
    pub fn args_in_scratch(&self) -> bool {
        self.in_scratch
    }

    /// How many more bytes the frame in progress needs, beyond those given to the last call,
    /// when that is known: while a declared bulk is awaited (the count covers the bulk and
    /// its CRLF, not the arguments after it). The declared length is the client's word: grow
    /// the buffer as bytes arrive, by at most a bounded chunk at a time.
    pub fn bytes_wanted(&self) -> Option<usize> {
        let len = self.bulk_len?;
        let end = self.pos.saturating_add(len).saturating_add(2);
        Some(end.saturating_sub(self.seen))
    }

    /// Parses the next request from `buf`, which starts at the first unconsumed byte and holds
    /// the same bytes as at the last call (plus any that arrived since) while a frame is in
    /// progress.
    ///
    /// On [`Parsed::Request`], `spans` is replaced by the ranges of the request's arguments,
    /// within `buf`, or within `scratch` if [`RequestParser::args_in_scratch`] says so. On
    /// [`Parsed::Incomplete`] they are left alone; on [`Parsed::Error`] they may hold anything.
    pub fn parse(
        &mut self,
        buf: &[u8],
        limits: &Limits,
        spans: &mut Vec<Range<usize>>,
        scratch: &mut Vec<u8>,
    ) -> Parsed {
        if self.pos > buf.len() || self.scan > buf.len() {
            // The caller broke the contract (the frame's bytes shrank): start over.
            self.reset();
        }
        self.seen = buf.len();
        let Some(&first) = buf.first() else {
            return Parsed::Incomplete;
        };
        let result = if first == b'*' {
            self.parse_multibulk(buf, limits, spans)
        } else {
            self.parse_inline(buf, limits, spans, scratch)
        };
        if !matches!(result, Parsed::Incomplete) {
            self.reset();
        }
        result
    }

    /// `processMultibulkBuffer`.
    fn parse_multibulk(&mut self, buf: &[u8], limits: &Limits, spans: &mut Vec<Range<usize>>) -> Parsed {
        if !self.in_multibulk {
            let cr = match self.find_line(buf) {
                Line::Found(cr) => cr,
                Line::NeedMore => return Parsed::Incomplete,
                Line::NotFound => {
                    if buf.len() > limits.max_inline_len {
                        return error("Protocol error: too big mbulk count string");
                    }
                    return Parsed::Incomplete;
                }
            };
            let count = match crate::util::num::parse_canonical_i64(&buf[1..cr]) {
                Some(n) if n <= i64::try_from(limits.max_multibulk_len).unwrap_or(i64::MAX) => n,
                _ => return error("Protocol error: invalid multibulk length"),
            };
            if count > 10 && self.auth_required {
                return error("Protocol error: unauthenticated multibulk length");
            }
            self.pos = cr + 2;
            self.scan = self.pos;
            if count <= 0 {
                spans.clear();
                self.in_scratch = false;
                return Parsed::Request { consumed: self.pos };
            }
            // The count is at most max_multibulk_len, which fits in usize.
            self.remaining = count as usize;
            self.in_multibulk = true;
            self.spans.clear();
            self.spans.reserve(self.remaining.min(1024));
        }

        while self.remaining > 0 {
            let len = match self.bulk_len {
                Some(len) => len,
                None => {
                    let cr = match self.find_line(buf) {
                        Line::Found(cr) => cr,
                        Line::NeedMore => return Parsed::Incomplete,
                        Line::NotFound => {
                            if buf.len() - self.pos > limits.max_inline_len {
                                return error("Protocol error: too big bulk count string");
                            }
                            return Parsed::Incomplete;
                        }
                    };
                    let tag = buf[self.pos];
                    if tag != b'$' {
                        // addReplyErrorFormat turns CR and LF into spaces.
                        let shown = match tag {
                            b'\r' | b'\n' => ' ',
                            other => char::from(other),
                        };
                        return Parsed::Error(format!("Protocol error: expected '$', got '{shown}'"));
                    }
                    let len = crate::util::num::parse_canonical_i64(&buf[self.pos + 1..cr])
                        .and_then(|n| usize::try_from(n).ok())
                        .filter(|&n| n <= limits.max_bulk_len);
                    let Some(len) = len else {
                        return error("Protocol error: invalid bulk length");
                    };
                    if len > 16384 && self.auth_required {
                        return error("Protocol error: unauthenticated bulk length");
                    }
                    self.pos = cr + 2;
                    self.scan = self.pos;
                    self.bulk_len = Some(len);
                    len
                }
            };
            // The data and the two bytes Redis takes as its CRLF.
            if buf.len() - self.pos < len.saturating_add(2) {
                return Parsed::Incomplete;
            }
            self.spans.push(self.pos..self.pos + len);
            self.pos += len + 2;
            self.scan = self.pos;
            self.bulk_len = None;
            self.remaining -= 1;
        }

        std::mem::swap(spans, &mut self.spans);
        self.spans.clear();
        self.in_scratch = false;
        Parsed::Request { consumed: self.pos }
    }

    /// Finds the `\r` ending the header line at `self.pos` as Redis's `strchr` does (a NUL
    /// stops the search), resuming where the last search stopped.
    fn find_line(&mut self, buf: &[u8]) -> Line {
        let from = self.scan.max(self.pos);
        match buf[from..].iter().position(|&b| b == b'\r' || b == 0) {
            Some(i) => {
                let at = from + i;
                // Stay on the NUL or the CR: a NUL stops every later search too.
                self.scan = at;
                if buf[at] == 0 {
                    Line::NotFound
                } else if at + 1 < buf.len() {
                    Line::Found(at)
                } else {
                    Line::NeedMore
                }
            }
            None => {
                self.scan = buf.len();
                Line::NotFound
            }
        }
    }

    /// `processInlineBuffer`.
    fn parse_inline(
        &mut self,
        buf: &[u8],
        limits: &Limits,
        spans: &mut Vec<Range<usize>>,
        scratch: &mut Vec<u8>,
    ) -> Parsed {
        let from = self.scan;
        let newline = match buf[from..].iter().position(|&b| b == b'\n' || b == 0) {
            Some(i) if buf[from + i] == b'\n' => from + i,
            found => {
                // No newline yet, or a NUL before it (where strchr stops for good).
                self.scan = found.map_or(buf.len(), |i| from + i);
                if buf.len() > limits.max_inline_len {
                    return error("Protocol error: too big inline request");
                }
                return Parsed::Incomplete;
            }
        };
        let mut end = newline;
        if end > 0 && buf[end - 1] == b'\r' {
            end -= 1;
        }
        // The line holds no NUL (the search above stops at one), as split_plain requires;
        // a line with quotes is unescaped into `scratch`, one without is split in place.
        let line = &buf[..end];
        let in_scratch = line.iter().any(|&b| b == b'"' || b == b'\'');
        if in_scratch {
            spans.clear();
            scratch.clear();
            if !split_args_into(line, spans, scratch) {
                return error("Protocol error: unbalanced quotes in request");
            }
        } else {
            split_plain(line, spans);
        }
        self.in_scratch = in_scratch;
        Parsed::Request { consumed: newline + 1 }
    }
}

/// A command as client libraries send it, the form [`RequestParser::parse`] reads first: a
/// multibulk of one bulk string per argument. (The server itself never sends requests; tests
/// and tools build their input with this.)
pub fn encode_request(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for arg in args {
        out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
    out
}

fn error(text: &str) -> Parsed {
    Parsed::Error(text.to_string())
}

#[cfg(test)]
mod unit_tests {
    use super::*;

    /// One parse outcome: a request's arguments, or an error text.
    #[derive(Debug, Clone, PartialEq)]
    enum Event {
        Request(Vec<Vec<u8>>),
        Error(String),
    }

    /// Takes every complete request from `buf`, as the connection loop does.
    fn drain(parser: &mut RequestParser, buf: &mut Vec<u8>, limits: &Limits, events: &mut Vec<Event>) -> bool {
        let mut spans = Vec::new();
        let mut scratch = Vec::new();
        loop {
            match parser.parse(buf, limits, &mut spans, &mut scratch) {
                Parsed::Request { consumed } => {
                    assert!(consumed > 0 && consumed <= buf.len());
                    let base: &[u8] = if parser.args_in_scratch() { &scratch } else { buf };
                    events.push(Event::Request(spans.iter().map(|r| base[r.clone()].to_vec()).collect()));
                    // Compact, as the caller may.
                    buf.drain(..consumed);
                }
                Parsed::Incomplete => return true,
                Parsed::Error(text) => {
                    events.push(Event::Error(text));
                    return false;
                }
            }
        }
    }

    /// Feeds `data` in chunks of the given sizes (cycled); returns the events and whether
    /// bytes were left over (a request in progress).
    fn feed_chunks(data: &[u8], sizes: &[usize], limits: &Limits) -> (Vec<Event>, usize) {
        let mut parser = RequestParser::new();
        let mut buf = Vec::new();
        let mut events = Vec::new();
        let mut offset = 0;
        let mut i = 0;
        while offset < data.len() {
            let n = sizes[i % sizes.len()].max(1).min(data.len() - offset);
            i += 1;
            buf.extend_from_slice(&data[offset..offset + n]);
            offset += n;
            if !drain(&mut parser, &mut buf, limits, &mut events) {
                return (events, 0);
            }
        }
        (events, buf.len())
    }

    fn parse_all(data: &[u8]) -> (Vec<Event>, usize) {
        feed_chunks(data, &[usize::MAX], &Limits::default())
    }

    fn req(args: &[&[u8]]) -> Event {
        Event::Request(args.iter().map(|a| a.to_vec()).collect())
    }

    fn err(text: &str) -> Event {
        Event::Error(text.to_string())
    }

    /// The single outcome of `data`, asserting nothing is left over.
    fn one(data: &[u8]) -> Event {
        let (events, left) = parse_all(data);
        assert_eq!(events.len(), 1, "{events:?}");
        assert_eq!(left, 0);
        events.into_iter().next().unwrap()
    }

    /// Whether `data` leaves the parser waiting, with no event.
    fn waits(data: &[u8]) -> bool {
        let (events, left) = parse_all(data);
        events.is_empty() && left == data.len()
    }

    #[test]
    fn multibulk_requests() {
        assert_eq!(one(b"*1\r\n$4\r\nPING\r\n"), req(&[b"PING"]));
        assert_eq!(one(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n"), req(&[b"SET", b"k", b""]));
        let (events, left) = parse_all(b"*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\n");
        assert_eq!(events, vec![req(&[b"PING"]), req(&[b"ECHO", b"hi"])]);
        assert_eq!(left, 0);
    }

    #[test]
    fn empty_and_negative_multibulks_are_requests_without_arguments() {
        for frame in [&b"*0\r\n"[..], b"*-1\r\n", b"*-100\r\n"] {
            assert_eq!(one(frame), req(&[]), "{frame:?}");
        }
        let (events, left) = parse_all(b"*0\r\n*-1\r\n*1\r\n$4\r\nPING\r\n");
        assert_eq!(events, vec![req(&[]), req(&[]), req(&[b"PING"])]);
        assert_eq!(left, 0);
    }

    #[test]
    fn invalid_multibulk_length() {
        let text = "Protocol error: invalid multibulk length";
        for frame in [
            &b"*x\r\n"[..],
            b"*\r\n",
            b"*-0\r\n",
            b"*01\r\n",
            b"*+1\r\n",
            b"* 1\r\n",
            b"*1 \r\n",
            b"*2147483648\r\n",
            b"*99999999999999999999\r\n",
            b"*100000000000000000000\r\n",
        ] {
            assert_eq!(one(frame), err(text), "{frame:?}");
        }
        assert!(waits(b"*2147483647\r\n"));
        let limits = Limits { max_multibulk_len: 3, ..Limits::default() };
        let (events, _) = feed_chunks(b"*4\r\n", &[100], &limits);
        assert_eq!(events, vec![err(text)]);
    }

    #[test]
    fn too_big_mbulk_count_string() {
        let mut frame = b"*1".to_vec();
        frame.resize(65536, b'1');
        assert!(waits(&frame));
        frame.push(b'1');
        assert_eq!(one(&frame), err("Protocol error: too big mbulk count string"));
        // With the CR there, a long count is merely invalid.
        frame.extend_from_slice(b"\r\n");
        assert_eq!(one(&frame), err("Protocol error: invalid multibulk length"));
    }

    #[test]
    fn expected_dollar() {
        assert_eq!(one(b"*1\r\nX\r\n"), err("Protocol error: expected '$', got 'X'"));
        assert_eq!(one(b"*1\r\n:1\r\n"), err("Protocol error: expected '$', got ':'"));
        // CR and LF are shown as spaces.
        assert_eq!(one(b"*1\r\n\r\n"), err("Protocol error: expected '$', got ' '"));
        assert_eq!(one(b"*1\r\n\nab\r\n"), err("Protocol error: expected '$', got ' '"));
        // Redis sends the raw byte; a String can only carry it as the Latin-1 character.
        assert_eq!(one(b"*1\r\n\xff\r\n"), err("Protocol error: expected '$', got '\u{ff}'"));
        // The tag is checked only once its whole line is there.
        assert!(waits(b"*1\r\nX"));
        assert!(waits(b"*1\r\nX\r"));
        assert_eq!(one(b"*2\r\n$1\r\na\r\n*1\r\n"), err("Protocol error: expected '$', got '*'"));
    }

    #[test]
    fn invalid_bulk_length() {
        let text = "Protocol error: invalid bulk length";
        for frame in [
            &b"*1\r\n$-1\r\n"[..],
            b"*1\r\n$-0\r\n",
            b"*1\r\n$x\r\n",
            b"*1\r\n$\r\n",
            b"*1\r\n$01\r\n",
            b"*1\r\n$536870913\r\n",
            b"*1\r\n$9223372036854775808\r\n",
        ] {
            assert_eq!(one(frame), err(text), "{frame:?}");
        }
        assert!(waits(b"*1\r\n$536870912\r\n"));
        let limits = Limits { max_bulk_len: 5, ..Limits::default() };
        let (events, _) = feed_chunks(b"*2\r\n$5\r\nhello\r\n$6\r\n", &[100], &limits);
        assert_eq!(events, vec![err(text)]);
    }

    #[test]
    fn too_big_bulk_count_string() {
        let mut frame = b"*1\r\n$".to_vec();
        frame.resize(4 + 65536, b'1');
        assert!(waits(&frame));
        frame.push(b'1');
        assert_eq!(one(&frame), err("Protocol error: too big bulk count string"));
    }

    #[test]
    fn unauthenticated_limits() {
        let mut parser = RequestParser::new();
        parser.set_auth_required(true);
        let limits = Limits::default();
        let (mut spans, mut scratch) = (Vec::new(), Vec::new());
        assert_eq!(
            parser.parse(b"*11\r\n", &limits, &mut spans, &mut scratch),
            Parsed::Error("Protocol error: unauthenticated multibulk length".into())
        );
        assert_eq!(parser.parse(b"*10\r\n$16384\r\n", &limits, &mut spans, &mut scratch), Parsed::Incomplete);
        parser.reset();
        assert_eq!(
            parser.parse(b"*1\r\n$16385\r\n", &limits, &mut spans, &mut scratch),
            Parsed::Error("Protocol error: unauthenticated bulk length".into())
        );
        parser.set_auth_required(false);
        assert_eq!(parser.parse(b"*11\r\n", &limits, &mut spans, &mut scratch), Parsed::Incomplete);
    }

    #[test]
    fn line_ends_and_bulk_trailers_are_not_checked() {
        // Redis skips the byte after a header's CR and the two bytes after a bulk.
        assert_eq!(one(b"*1\rX$4\r\nPING\r\n"), req(&[b"PING"]));
        assert_eq!(one(b"*1\r\n$4\rxPINGab"), req(&[b"PING"]));
        let (events, left) = parse_all(b"*1\r\n$4\r\nPINGxx*1\r\n$4\r\nPING\r\n");
        assert_eq!(events, vec![req(&[b"PING"]), req(&[b"PING"])]);
        assert_eq!(left, 0);
        // The header's CR needs one more byte before the line counts.
        assert!(waits(b"*1\r"));
        assert!(waits(b"*1\r\n$4\r"));
        assert!(waits(b"*1\r\n$4\r\nPING\r"));
    }

    #[test]
    fn nul_in_a_line_never_ends_it() {
        // strchr stops at the NUL: Redis waits, then fails once too much is buffered.
        assert!(waits(b"*1\r\n$3\0\r\nfoo\r\n"));
        assert!(waits(b"*1\0\r\n"));
        assert!(waits(b"GET a\0b\nPING\r\n"));
        let mut frame = b"*1\0".to_vec();
        frame.resize(70000, b'\n');
        assert_eq!(one(&frame), err("Protocol error: too big mbulk count string"));
        let mut frame = b"*1\r\n$3\0\r\n".to_vec();
        frame.resize(70000, b'\r');
        assert_eq!(one(&frame), err("Protocol error: too big bulk count string"));
        let mut frame = b"GET\0".to_vec();
        frame.resize(70000, b'\n');
        assert_eq!(one(&frame), err("Protocol error: too big inline request"));
        // The NUL keeps stopping the search as more bytes arrive.
        let mut frame = b"*1\r\n$3\0\r\nfoo\r\n".to_vec();
        frame.resize(65540, b'\n');
        let (events, left) = feed_chunks(&frame, &[1, 7, 100], &Limits::default());
        assert_eq!((events, left), (vec![], frame.len()));
    }

    #[test]
    fn binary_payloads() {
        let all: Vec<u8> = (0..=255u8).collect();
        let args: [&[u8]; 5] = [b"SET", b"\0\r\n", &all, b"\r\n\r\n$3\r\n", b"*1\r\n"];
        assert_eq!(one(&encode_request(&args)), req(&args));
        let nuls = [0u8; 1000];
        assert_eq!(one(&encode_request(&[&nuls])), req(&[&nuls]));
    }

    #[test]
    fn inline_requests() {
        assert_eq!(one(b"PING\r\n"), req(&[b"PING"]));
        assert_eq!(one(b"PING\n"), req(&[b"PING"]));
        assert_eq!(one(b"SET  k\tv \r\n"), req(&[b"SET", b"k", b"v"]));
        // Only one CR is dropped; a CR inside the line ends a word.
        assert_eq!(one(b"ECHO a\r\r\n"), req(&[b"ECHO", b"a"]));
        assert_eq!(one(b"ECHO a\rb\r\n"), req(&[b"ECHO", b"a", b"b"]));
        // A vertical tab or form feed is a blank before a word but part of it inside.
        assert_eq!(one(b"ECHO \x0bx\r\n"), req(&[b"ECHO", b"x"]));
        assert_eq!(one(b"ECHO a\x0bb\x0c\r\n"), req(&[b"ECHO", b"a\x0bb\x0c"]));
        // Bytes above 127 are word bytes.
        assert_eq!(one(b"ECHO \xff\xfe\n"), req(&[b"ECHO", b"\xff\xfe"]));
        // Empty and blank lines are requests without arguments.
        for line in [&b"\n"[..], b"\r\n", b"   \t \r\n", b"\x0b\x0c\n"] {
            assert_eq!(one(line), req(&[]), "{line:?}");
        }
        let (events, left) = parse_all(b"\r\n\nPING\nGET k\r\nSET");
        assert_eq!(events, vec![req(&[]), req(&[]), req(&[b"PING"]), req(&[b"GET", b"k"])]);
        assert_eq!(left, 3);
    }

    #[test]
    fn inline_quotes() {
        let cases: &[(&[u8], &[&[u8]])] = &[
            (b"ECHO \"a\\x41\\n\\q\"\r\n", &[b"ECHO", b"aA\nq"]),
            (b"ECHO \"\\n\\r\\t\\b\\a\\\\\\\"\"\n", &[b"ECHO", b"\n\r\t\x08\x07\\\""]),
            (b"ECHO \"\\x4\"\r\n", &[b"ECHO", b"x4"]),
            (b"ECHO \"\\xfF\\x00\"\r\n", &[b"ECHO", b"\xff\x00"]),
            (b"ECHO a\"b c\"\r\n", &[b"ECHO", b"ab c"]),
            (b"ECHO \"a\"\x0b\r\n", &[b"ECHO", b"a"]),
            (b"ECHO \"\"\r\n", &[b"ECHO", b""]),
            (b"ECHO ''\r\n", &[b"ECHO", b""]),
            (b"ECHO \"a\rb\"\r\n", &[b"ECHO", b"a\rb"]),
            (b"ECHO 'a\\\\b'\r\n", &[b"ECHO", b"a\\\\b"]),
            (b"ECHO 'it\\'s' \"x y\"\tz\n", &[b"ECHO", b"it's", b"x y", b"z"]),
            (b"ECHO 'a\"b'\n", &[b"ECHO", b"a\"b"]),
            (b"ECHO 'a\\'b'\r\n", &[b"ECHO", b"a'b"]),
            (b"ECHO \"a'b\"\n", &[b"ECHO", b"a'b"]),
            (b"'SET' k v\n", &[b"SET", b"k", b"v"]),
        ];
        for (line, args) in cases {
            assert_eq!(one(line), req(args), "{:?}", String::from_utf8_lossy(line));
        }
        let text = "Protocol error: unbalanced quotes in request";
        for line in [
            &b"ECHO 'a'b'\r\n"[..],
            b"ECHO \"ab\"c\r\n",
            b"ECHO 'ab'c\r\n",
            b"ECHO \"ab\r\n",
            b"ECHO 'ab\r\n",
            b"ECHO \"\\\r\n",
            b"ECHO \"\\\"\n",
            b"\"\n",
        ] {
            assert_eq!(one(line), err(text), "{:?}", String::from_utf8_lossy(line));
        }
    }

    #[test]
    fn args_in_scratch_only_for_quoted_lines() {
        let mut parser = RequestParser::new();
        let limits = Limits::default();
        let (mut spans, mut scratch) = (Vec::new(), Vec::new());
        let buf = b"ECHO \"x\"\nECHO y\n";
        assert_eq!(parser.parse(buf, &limits, &mut spans, &mut scratch), Parsed::Request { consumed: 9 });
        assert!(parser.args_in_scratch());
        assert_eq!(spans, vec![0..4, 4..5]);
        assert_eq!(scratch, b"ECHOx");
        assert_eq!(parser.parse(&buf[9..], &limits, &mut spans, &mut scratch), Parsed::Request { consumed: 7 });
        assert!(!parser.args_in_scratch());
        assert_eq!(spans, vec![0..4, 5..6]);
    }

    #[test]
    fn too_big_inline_request() {
        let mut line = vec![b'x'; 65536];
        assert!(waits(&line));
        line.push(b'x');
        assert_eq!(one(&line), err("Protocol error: too big inline request"));
        // A newline already buffered is found however far it is, as in Redis.
        line.resize(70000, b'x');
        line.push(b'\n');
        assert!(one(&line) == req(&[&line[..70000]]));
        // Read 16 KiB at a time, as Redis reads, a line is refused once more than 64 KiB
        // is buffered without its newline (here at 80 KiB), not before.
        let (events, _) = feed_chunks(&line, &[16384], &Limits::default());
        assert!(events == vec![req(&[&line[..70000]])]);
        line.truncate(70000);
        line.resize(90000, b'x');
        line.push(b'\n');
        let (events, _) = feed_chunks(&line, &[16384], &Limits::default());
        assert_eq!(events, vec![err("Protocol error: too big inline request")]);
    }

    #[test]
    fn garbage_after_a_request_errors_then() {
        let mut data = encode_request(&[b"PING"]);
        data.extend_from_slice(b"*1\r\n$x\r\n");
        let (events, _) = parse_all(&data);
        assert_eq!(events, vec![req(&[b"PING"]), err("Protocol error: invalid bulk length")]);
    }

    /// A mixed pipeline, and every way to cut it in two, gives the same events.
    #[test]
    fn every_split_point_gives_the_same_result() {
        let mut data = Vec::new();
        data.extend_from_slice(&encode_request(&[b"SET", b"key", b"v\r\nal\0ue"]));
        data.extend_from_slice(b"*0\r\n");
        data.extend_from_slice(b"GET \"k\\x41\" 'x y'\r\n");
        data.extend_from_slice(b"\r\n");
        data.extend_from_slice(&encode_request(&[b"", b"a"]));
        data.extend_from_slice(b"*-1\r\nPING\n");
        data.extend_from_slice(&encode_request(&[b"MSET", b"a", b"1", b"b", b"22"]));
        let (whole, left) = parse_all(&data);
        assert_eq!(whole.len(), 8);
        assert_eq!(left, 0);
        for cut in 0..=data.len() {
            let (events, left) = feed_chunks(&data, &[cut, usize::MAX], &Limits::default());
            assert_eq!((&events, left), (&whole, 0), "cut at {cut}");
        }
        for size in 1..=9 {
            let (events, left) = feed_chunks(&data, &[size], &Limits::default());
            assert_eq!((&events, left), (&whole, 0), "chunks of {size}");
        }
        // Each strict prefix of the first frame is incomplete, and the frame parses whole.
        let frame = encode_request(&[b"SET", b"key", b"value"]);
        for cut in 0..frame.len() {
            assert!(waits(&frame[..cut]), "prefix {cut}");
        }
        // The same with the parser state carried over without compaction.
        let mut parser = RequestParser::new();
        let limits = Limits::default();
        let (mut spans, mut scratch) = (Vec::new(), Vec::new());
        for cut in 0..frame.len() {
            assert_eq!(parser.parse(&frame[..cut], &limits, &mut spans, &mut scratch), Parsed::Incomplete);
        }
        assert_eq!(parser.parse(&frame, &limits, &mut spans, &mut scratch), Parsed::Request { consumed: frame.len() });
        assert_eq!(spans, vec![8..11, 17..20, 26..31]);
    }

    #[test]
    fn huge_declared_lengths_reserve_nothing() {
        let mut parser = RequestParser::new();
        let limits = Limits::default();
        let (mut spans, mut scratch) = (Vec::new(), Vec::new());
        let buf = b"*2147483647\r\n$536870912\r\nabc";
        assert_eq!(parser.parse(buf, &limits, &mut spans, &mut scratch), Parsed::Incomplete);
        assert!(parser.spans.capacity() <= 1024);
        assert_eq!(parser.bytes_wanted(), Some(536870912 + 2 - 3));
        // A caller whose buffer holds the frame plus the next 100 bytes sees the count shrink.
        let mut parser = RequestParser::new();
        let mut buf = b"*2\r\n$3\r\nGET\r\n$10\r\n".to_vec();
        assert_eq!(parser.bytes_wanted(), None);
        assert_eq!(parser.parse(&buf, &limits, &mut spans, &mut scratch), Parsed::Incomplete);
        assert_eq!(parser.bytes_wanted(), Some(12));
        buf.extend_from_slice(b"0123456789\r");
        assert_eq!(parser.parse(&buf, &limits, &mut spans, &mut scratch), Parsed::Incomplete);
        assert_eq!(parser.bytes_wanted(), Some(1));
        buf.push(b'\n');
        assert_eq!(parser.parse(&buf, &limits, &mut spans, &mut scratch), Parsed::Request { consumed: buf.len() });
        assert_eq!(parser.bytes_wanted(), None);
    }

    #[test]
    fn garbage_never_panics() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let alphabet = b"*$\r\n0123456789-+\"' \t\\x\0aZ\xff";
        let limits = Limits { max_bulk_len: 64, max_inline_len: 32, max_multibulk_len: 16 };
        for _ in 0..20000 {
            let len = (next() % 64) as usize;
            let data: Vec<u8> = (0..len)
                .map(|_| {
                    let r = next();
                    if r % 4 == 0 { (r >> 8) as u8 } else { alphabet[(r >> 8) as usize % alphabet.len()] }
                })
                .collect();
            let sizes = [(next() % 8) as usize + 1, (next() % 8) as usize + 1];
            let (events, left) = feed_chunks(&data, &sizes, &limits);
            // Chunking may only change where "too big" errors trigger.
            let (whole, whole_left) = feed_chunks(&data, &[usize::MAX], &limits);
            let too_big = |e: &Vec<Event>| e.iter().any(|e| matches!(e, Event::Error(t) if t.contains("too big")));
            if !too_big(&events) && !too_big(&whole) {
                assert_eq!((events, left), (whole, whole_left), "{data:?}");
            }
        }
    }

    #[test]
    fn a_big_bulk_in_small_chunks_costs_linear_work() {
        let value = vec![b'v'; 32 << 20];
        let frame = encode_request(&[b"SET", b"k", &value]);
        let start = std::time::Instant::now();
        let (events, left) = feed_chunks(&frame, &[4096], &Limits::default());
        assert_eq!(left, 0);
        assert_eq!(events.len(), 1);
        // 8192 calls; re-scanning the bulk each time would take minutes.
        assert!(start.elapsed() < std::time::Duration::from_secs(20));
        // A long header line fed a byte at a time is scanned once, too.
        let mut line = vec![b'x'; 60000];
        line.push(b'\n');
        let (events, _) = feed_chunks(&line, &[1], &Limits::default());
        assert_eq!(events.len(), 1);
    }

    #[test]
    fn a_pipeline_of_many_requests() {
        let mut data = Vec::new();
        for i in 0..10_000 {
            if i % 2 == 0 {
                data.extend_from_slice(&encode_request(&[b"SET", format!("k{i}").as_bytes(), b"v"]));
            } else {
                data.extend_from_slice(format!("GET k{i}\r\n").as_bytes());
            }
        }
        let mut parser = RequestParser::new();
        let limits = Limits::default();
        let (mut spans, mut scratch) = (Vec::new(), Vec::new());
        let mut start = 0;
        let mut count = 0;
        while let Parsed::Request { consumed } = parser.parse(&data[start..], &limits, &mut spans, &mut scratch) {
            assert_eq!(&data[start..][spans[1].clone()], format!("k{count}").as_bytes());
            start += consumed;
            count += 1;
        }
        assert_eq!((count, start), (10_000, data.len()));
    }
}
