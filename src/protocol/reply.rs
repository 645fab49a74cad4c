//! Replies as values, and their encoding in RESP2 or RESP3.
//!
//! A command returns a [`Reply`] that says what it means (a map, a double, a null),
//! never how it is written; [`encode`] writes it for the protocol version the client
//! chose with HELLO, the way Redis 7 does (a RESP3 map becomes a flat RESP2 array, a
//! double becomes a bulk string, a boolean an integer, ...).

use bytes::Bytes;

/// A reply to one command, independent of the protocol version.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// `+OK`.
    Ok,
    /// A simple string: `+text`.
    Simple(Bytes),
    /// An error: `-CODE message`. The text holds the code (`ERR`, `WRONGTYPE`, ...).
    Error(Bytes),
    /// An integer: `:n`.
    Int(i64),
    /// A bulk string: `$len\r\ndata`.
    Bulk(Bytes),
    /// A null bulk string (`$-1` in RESP2, `_` in RESP3).
    Nil,
    /// A null array (`*-1` in RESP2, `_` in RESP3).
    NilArray,
    /// An array of replies.
    Array(Vec<Reply>),
    /// A map (RESP3 `%`); RESP2 writes it as a flat array of keys and values.
    Map(Vec<(Reply, Reply)>),
    /// A set (RESP3 `~`); RESP2 writes it as an array.
    Set(Vec<Reply>),
    /// A double (RESP3 `,`); RESP2 writes it as a bulk string.
    Double(f64),
    /// A boolean (RESP3 `#`); RESP2 writes it as the integer 1 or 0.
    Bool(bool),
    /// A verbatim string with its three-letter format (RESP3 `=`); RESP2 writes a bulk string.
    Verbatim(&'static str, Bytes),
    /// A push message (RESP3 `>`); RESP2 writes it as an array.
    Push(Vec<Reply>),
    /// Pairs (HRANDFIELD ... WITHVALUES): RESP3 writes an array of two-element arrays,
    /// RESP2 a flat array of both items of every pair.
    Pairs(Vec<(Reply, Reply)>),
    /// A double as Redis's `addReplyHumanLongDouble` writes it (GEOPOS, WITHCOORD): `%.17Lf`
    /// with trailing zeros (and a trailing point) removed, as a RESP2 bulk string or RESP3 `,`.
    HumanDouble(f64),
}

impl Reply {
    /// A simple string from static text.
    pub fn simple(text: &'static str) -> Reply {
        Reply::Simple(Bytes::from_static(text.as_bytes()))
    }

    /// An error from its full text, code included (`"ERR syntax error"`).
    pub fn error(text: impl Into<String>) -> Reply {
        Reply::Error(Bytes::from(text.into()))
    }

    /// A bulk string copied from a byte slice.
    pub fn bulk(data: &[u8]) -> Reply {
        Reply::Bulk(Bytes::copy_from_slice(data))
    }

    /// A bulk string from static text.
    pub fn bulk_static(text: &'static str) -> Reply {
        Reply::Bulk(Bytes::from_static(text.as_bytes()))
    }

    /// A bulk string holding an owned string.
    pub fn bulk_string(text: String) -> Reply {
        Reply::Bulk(Bytes::from(text))
    }

    /// An array of bulk strings.
    pub fn bulk_array<I, B>(items: I) -> Reply
    where
        I: IntoIterator<Item = B>,
        B: AsRef<[u8]>,
    {
        Reply::Array(items.into_iter().map(|b| Reply::bulk(b.as_ref())).collect())
    }

    /// Whether this reply is an error.
    pub fn is_error(&self) -> bool {
        matches!(self, Reply::Error(_))
    }
}

/// Writes `reply` to `out` in RESP2 (`resp3 == false`) or RESP3.
pub fn encode(reply: &Reply, resp3: bool, out: &mut Vec<u8>) {
    match reply {
        Reply::Ok => out.extend_from_slice(b"+OK\r\n"),
        Reply::Simple(s) => line(out, b'+', s),
        Reply::Error(e) => line(out, b'-', e),
        Reply::Int(n) => header(out, b':', *n),
        Reply::Bulk(b) => bulk(out, b),
        Reply::Nil => out.extend_from_slice(if resp3 { b"_\r\n" } else { b"$-1\r\n" }),
        Reply::NilArray => out.extend_from_slice(if resp3 { b"_\r\n" } else { b"*-1\r\n" }),
        Reply::Array(items) => {
            header(out, b'*', items.len() as i64);
            for item in items {
                encode(item, resp3, out);
            }
        }
        Reply::Map(pairs) => {
            if resp3 {
                header(out, b'%', pairs.len() as i64);
            } else {
                header(out, b'*', 2 * pairs.len() as i64);
            }
            for (k, v) in pairs {
                encode(k, resp3, out);
                encode(v, resp3, out);
            }
        }
        Reply::Pairs(pairs) => {
            if resp3 {
                header(out, b'*', pairs.len() as i64);
            } else {
                header(out, b'*', 2 * pairs.len() as i64);
            }
            for (a, b) in pairs {
                if resp3 {
                    out.extend_from_slice(b"*2\r\n");
                }
                encode(a, resp3, out);
                encode(b, resp3, out);
            }
        }
        Reply::Set(items) => {
            header(out, if resp3 { b'~' } else { b'*' }, items.len() as i64);
            for item in items {
                encode(item, resp3, out);
            }
        }
        Reply::Push(items) => {
            header(out, if resp3 { b'>' } else { b'*' }, items.len() as i64);
            for item in items {
                encode(item, resp3, out);
            }
        }
        Reply::Double(d) => {
            let text = crate::util::num::format_double(*d);
            if resp3 {
                line(out, b',', text.as_bytes());
            } else {
                bulk(out, text.as_bytes());
            }
        }
        Reply::HumanDouble(d) => {
            let text = if d.is_finite() {
                let text = format!("{d:.17}");
                if text.contains('.') { text.trim_end_matches('0').trim_end_matches('.').to_string() } else { text }
            } else if *d > 0.0 {
                "inf".to_string()
            } else {
                "-inf".to_string()
            };
            if resp3 {
                line(out, b',', text.as_bytes());
            } else {
                bulk(out, text.as_bytes());
            }
        }
        Reply::Bool(b) => {
            if resp3 {
                out.extend_from_slice(if *b { b"#t\r\n" } else { b"#f\r\n" });
            } else {
                out.extend_from_slice(if *b { b":1\r\n" } else { b":0\r\n" });
            }
        }
        Reply::Verbatim(format, text) => {
            if resp3 {
                header(out, b'=', (text.len() + 4) as i64);
                out.extend_from_slice(format.as_bytes());
                out.push(b':');
                out.extend_from_slice(text);
                out.extend_from_slice(b"\r\n");
            } else {
                bulk(out, text);
            }
        }
    }
}

/// `<prefix>text\r\n`, with any CR or LF in `text` replaced by a space so the line stays one line.
fn line(out: &mut Vec<u8>, prefix: u8, text: &[u8]) {
    out.push(prefix);
    out.extend(text.iter().map(|&c| if c == b'\r' || c == b'\n' { b' ' } else { c }));
    out.extend_from_slice(b"\r\n");
}

/// `<prefix><n>\r\n`.
fn header(out: &mut Vec<u8>, prefix: u8, n: i64) {
    out.push(prefix);
    crate::util::num::push_i64(out, n);
    out.extend_from_slice(b"\r\n");
}

/// `$<len>\r\n<data>\r\n`.
fn bulk(out: &mut Vec<u8>, data: &[u8]) {
    header(out, b'$', data.len() as i64);
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
}
