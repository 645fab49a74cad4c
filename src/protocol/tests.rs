//! Property tests for the protocol: requests parse back to the arguments they encode, and
//! replies decode, with the independent `redis-protocol` crate, to the values they encode.

use std::collections::HashSet;

use bytes::Bytes;
use proptest::collection::vec;
use proptest::prelude::*;
use redis_protocol::resp2::types::OwnedFrame as Frame2;
use redis_protocol::resp3::types::{OwnedFrame as Frame3, VerbatimStringFormat};

use crate::protocol::request::encode_request;
use crate::protocol::{Limits, Parsed, Reply, RequestParser, encode};

// ---------------------------------------------------------------------------------------------
// Requests

/// The arguments as slices, for [`encode_request`].
fn as_slices(args: &[Vec<u8>]) -> Vec<&[u8]> {
    args.iter().map(Vec::as_slice).collect()
}

/// An inline request with every argument double-quoted and every byte written as `\xHH`.
fn encode_inline_escaped(args: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, arg) in args.iter().enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        out.push(b'"');
        for b in arg {
            out.extend_from_slice(format!("\\x{b:02x}").as_bytes());
        }
        out.push(b'"');
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// Parses one request from `buf` with a fresh parser.
fn parse_once(buf: &[u8]) -> (Parsed, Vec<Vec<u8>>) {
    let mut parser = RequestParser::new();
    let (mut spans, mut scratch) = (Vec::new(), Vec::new());
    let parsed = parser.parse(buf, &Limits::default(), &mut spans, &mut scratch);
    let base: &[u8] = if parser.args_in_scratch() { &scratch } else { buf };
    let args = match parsed {
        Parsed::Request { .. } => spans.iter().map(|r| base[r.clone()].to_vec()).collect(),
        _ => Vec::new(),
    };
    (parsed, args)
}

fn args_strategy() -> impl Strategy<Value = Vec<Vec<u8>>> {
    let arg = prop_oneof![
        vec(any::<u8>(), 0..40),
        // Bytes that look like protocol.
        vec(prop::sample::select(b"*$\r\n0123456789-\0".to_vec()), 0..20),
    ];
    vec(arg, 0..8)
}

proptest! {
    #[test]
    fn requests_parse_back_to_their_arguments(args in args_strategy()) {
        let frame = encode_request(&as_slices(&args));
        let (parsed, got) = parse_once(&frame);
        prop_assert_eq!(parsed, Parsed::Request { consumed: frame.len() });
        prop_assert_eq!(got, args);
    }

    #[test]
    fn every_strict_prefix_of_a_request_is_incomplete(args in args_strategy()) {
        let frame = encode_request(&as_slices(&args));
        for cut in 0..frame.len() {
            prop_assert_eq!(parse_once(&frame[..cut]).0, Parsed::Incomplete, "prefix {}", cut);
        }
        // The same parser, given ever longer prefixes, resumes and ends with the request.
        let mut parser = RequestParser::new();
        let limits = Limits::default();
        let (mut spans, mut scratch) = (Vec::new(), Vec::new());
        for cut in 0..frame.len() {
            prop_assert_eq!(
                parser.parse(&frame[..cut], &limits, &mut spans, &mut scratch),
                Parsed::Incomplete
            );
        }
        prop_assert_eq!(
            parser.parse(&frame, &limits, &mut spans, &mut scratch),
            Parsed::Request { consumed: frame.len() }
        );
        let got: Vec<Vec<u8>> = spans.iter().map(|r| frame[r.clone()].to_vec()).collect();
        prop_assert_eq!(got, args);
    }

    #[test]
    fn pipelines_split_anywhere_parse_the_same(
        requests in vec(args_strategy(), 1..6),
        cuts in vec(any::<prop::sample::Index>(), 0..6),
    ) {
        let mut data = Vec::new();
        for args in &requests {
            data.extend(encode_request(&as_slices(args)));
        }
        let mut cuts: Vec<usize> = cuts.iter().map(|c| c.index(data.len() + 1)).collect();
        cuts.push(data.len());
        cuts.sort_unstable();
        // Feed the pieces, moving the unconsumed tail to the front as a connection does.
        let mut parser = RequestParser::new();
        let limits = Limits::default();
        let (mut spans, mut scratch) = (Vec::new(), Vec::new());
        let mut buf = Vec::new();
        let mut got = Vec::new();
        let mut fed = 0;
        for cut in cuts {
            buf.extend_from_slice(&data[fed..cut]);
            fed = cut;
            loop {
                match parser.parse(&buf, &limits, &mut spans, &mut scratch) {
                    Parsed::Request { consumed } => {
                        got.push(spans.iter().map(|r| buf[r.clone()].to_vec()).collect::<Vec<_>>());
                        buf.drain(..consumed);
                    }
                    Parsed::Incomplete => break,
                    Parsed::Error(e) => prop_assert!(false, "error {}", e),
                }
            }
        }
        prop_assert!(buf.is_empty());
        prop_assert_eq!(got, requests);
    }

    #[test]
    fn escaped_inline_requests_parse_back(args in vec(vec(any::<u8>(), 0..20), 1..6)) {
        let line = encode_inline_escaped(&args);
        let (parsed, got) = parse_once(&line);
        prop_assert_eq!(parsed, Parsed::Request { consumed: line.len() });
        prop_assert_eq!(got, args);
        for cut in 0..line.len() {
            prop_assert_eq!(parse_once(&line[..cut]).0, Parsed::Incomplete, "prefix {}", cut);
        }
    }

    #[test]
    fn plain_inline_requests_parse_back(
        words in vec(vec(prop::sample::select(b"abcXYZ019_:*$-\x0b\xff".to_vec()), 1..10), 1..6),
        blanks in vec(prop::sample::select(vec![" ", "\t", "  ", " \t "]), 6),
    ) {
        // A word may not start with a vertical tab (it would be skipped as a blank).
        let words: Vec<Vec<u8>> =
            words.into_iter().map(|w| if w[0] == 0x0b { [b"v", &w[..]].concat() } else { w }).collect();
        let mut line = Vec::new();
        for (i, w) in words.iter().enumerate() {
            line.extend_from_slice(blanks[i].as_bytes());
            line.extend_from_slice(w);
        }
        line.extend_from_slice(b" \n");
        let (parsed, got) = parse_once(&line);
        prop_assert_eq!(parsed, Parsed::Request { consumed: line.len() });
        prop_assert_eq!(got, words);
    }

    #[test]
    fn arbitrary_bytes_never_panic(data in vec(any::<u8>(), 0..200), sizes in vec(1usize..16, 1..4)) {
        let limits = Limits { max_bulk_len: 100, max_inline_len: 50, max_multibulk_len: 20 };
        let mut parser = RequestParser::new();
        let (mut spans, mut scratch) = (Vec::new(), Vec::new());
        let mut buf = Vec::new();
        let mut fed = 0;
        let mut i = 0;
        'feed: while fed < data.len() {
            let n = sizes[i % sizes.len()].min(data.len() - fed);
            i += 1;
            buf.extend_from_slice(&data[fed..fed + n]);
            fed += n;
            loop {
                match parser.parse(&buf, &limits, &mut spans, &mut scratch) {
                    Parsed::Request { consumed } => {
                        prop_assert!(consumed > 0 && consumed <= buf.len());
                        let base: &[u8] = if parser.args_in_scratch() { &scratch } else { &buf };
                        for r in &spans {
                            prop_assert!(r.start <= r.end && r.end <= base.len());
                        }
                        if let Some(wanted) = parser.bytes_wanted() {
                            prop_assert!(wanted <= 102);
                        }
                        buf.drain(..consumed);
                    }
                    Parsed::Incomplete => break,
                    Parsed::Error(_) => break 'feed,
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Replies

/// Text as `encode` writes a simple string or an error: CR and LF become spaces.
fn one_line(text: &[u8]) -> Vec<u8> {
    text.iter().map(|&c| if c == b'\r' || c == b'\n' { b' ' } else { c }).collect()
}

fn double_strategy() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>(),
        prop::sample::select(vec![0.0, -0.0, 1.5, 3.0, f64::INFINITY, f64::NEG_INFINITY, f64::NAN]),
        (-1_000_000i64..1_000_000).prop_map(|n| n as f64 / 100.0),
    ]
}

/// Replies that can be map keys and set members in RESP3 (redis-protocol refuses aggregate
/// keys; doubles are left out because -0 and 0 are equal but hash apart there).
fn key_strategy() -> impl Strategy<Value = Reply> {
    prop_oneof![
        vec(any::<u8>(), 0..12).prop_map(|b| Reply::Bulk(Bytes::from(b))),
        vec(any::<u8>(), 0..12).prop_map(|b| Reply::Simple(Bytes::from(b))),
        any::<i64>().prop_map(Reply::Int),
        any::<bool>().prop_map(Reply::Bool),
        Just(Reply::Ok),
        Just(Reply::Nil),
    ]
}

fn leaf_strategy() -> impl Strategy<Value = Reply> {
    prop_oneof![
        key_strategy(),
        "[ -~\r\n]{0,20}".prop_map(|t| Reply::Error(Bytes::from(format!("ERR {t}")))),
        Just(Reply::NilArray),
        double_strategy().prop_map(Reply::Double),
        (prop::sample::select(vec!["txt", "mkd"]), vec(any::<u8>(), 0..16))
            .prop_map(|(f, t)| Reply::Verbatim(f, Bytes::from(t))),
    ]
}

/// Keeps the first of the items whose RESP3 encodings are equal (they decode equal, and the
/// decoder's hash maps and sets would merge them).
fn distinct<T>(items: Vec<T>, key: impl Fn(&T) -> &Reply) -> Vec<T> {
    let mut seen = HashSet::new();
    items
        .into_iter()
        .filter(|item| {
            let mut out = Vec::new();
            encode(key(item), true, &mut out);
            seen.insert(out)
        })
        .collect()
}

fn reply_strategy() -> impl Strategy<Value = Reply> {
    leaf_strategy().prop_recursive(3, 40, 5, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..5).prop_map(Reply::Array),
            vec((key_strategy(), inner.clone()), 0..5).prop_map(|pairs| Reply::Map(distinct(pairs, |(k, _)| k))),
            vec(key_strategy(), 0..5).prop_map(|items| Reply::Set(distinct(items, |k| k))),
            vec(inner, 0..5).prop_map(Reply::Push),
        ]
    })
}

/// Whether `text` is a double equal to `d` (NaN matching NaN, and the sign of zero kept).
fn same_double(text: &[u8], d: f64) -> bool {
    match std::str::from_utf8(text).ok().and_then(|t| t.parse::<f64>().ok()) {
        Some(got) => (got.is_nan() && d.is_nan()) || got.to_bits() == d.to_bits(),
        None => false,
    }
}

/// Whether the RESP2 frame is what `reply` means in RESP2.
fn matches_resp2(reply: &Reply, frame: &Frame2) -> bool {
    let all = |items: &[Reply], frames: &[Frame2]| {
        items.len() == frames.len() && items.iter().zip(frames).all(|(r, f)| matches_resp2(r, f))
    };
    match (reply, frame) {
        (Reply::Ok, Frame2::SimpleString(s)) => s == b"OK",
        (Reply::Simple(t), Frame2::SimpleString(s)) => *s == one_line(t),
        (Reply::Error(t), Frame2::Error(s)) => s.as_bytes() == one_line(t),
        (Reply::Int(n), Frame2::Integer(m)) => n == m,
        (Reply::Bulk(b), Frame2::BulkString(s)) => b[..] == s[..],
        (Reply::Nil | Reply::NilArray, Frame2::Null) => true,
        (Reply::Array(items) | Reply::Set(items) | Reply::Push(items), Frame2::Array(frames)) => all(items, frames),
        (Reply::Map(pairs), Frame2::Array(frames)) => {
            let flat: Vec<Reply> = pairs.iter().flat_map(|(k, v)| [k.clone(), v.clone()]).collect();
            all(&flat, frames)
        }
        (Reply::Double(d), Frame2::BulkString(s)) => same_double(s, *d),
        (Reply::Bool(b), Frame2::Integer(n)) => *n == i64::from(*b),
        (Reply::Verbatim(_, t), Frame2::BulkString(s)) => t[..] == s[..],
        _ => false,
    }
}

/// A RESP3 value in a comparable form: maps and sets sorted, doubles by their bits.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Value {
    Simple(Vec<u8>),
    Error(Vec<u8>),
    Int(i64),
    Bulk(Vec<u8>),
    Null,
    Array(Vec<Value>),
    Map(Vec<(Value, Value)>),
    Set(Vec<Value>),
    Double(u64),
    Bool(bool),
    Verbatim(&'static str, Vec<u8>),
    Push(Vec<Value>),
    Other(String),
}

fn double_bits(d: f64) -> u64 {
    if d.is_nan() { f64::NAN.to_bits() } else { d.to_bits() }
}

/// What `reply` should decode to in RESP3.
fn expected_resp3(reply: &Reply) -> Value {
    let list = |items: &[Reply]| items.iter().map(expected_resp3).collect::<Vec<_>>();
    match reply {
        Reply::Ok => Value::Simple(b"OK".to_vec()),
        Reply::Simple(t) => Value::Simple(one_line(t)),
        Reply::Error(t) => Value::Error(one_line(t)),
        Reply::Int(n) => Value::Int(*n),
        Reply::Bulk(b) => Value::Bulk(b.to_vec()),
        Reply::Nil | Reply::NilArray => Value::Null,
        Reply::Array(items) => Value::Array(list(items)),
        Reply::Map(pairs) => {
            let mut pairs: Vec<_> = pairs.iter().map(|(k, v)| (expected_resp3(k), expected_resp3(v))).collect();
            pairs.sort();
            Value::Map(pairs)
        }
        Reply::Set(items) => {
            let mut items = list(items);
            items.sort();
            Value::Set(items)
        }
        Reply::Double(d) | Reply::HumanDouble(d) => Value::Double(double_bits(*d)),
        Reply::Bool(b) => Value::Bool(*b),
        Reply::Verbatim(format, t) => Value::Verbatim(format, t.to_vec()),
        Reply::Push(items) => Value::Push(list(items)),
        Reply::Pairs(pairs) => {
            Value::Array(pairs.iter().map(|(a, b)| Value::Array(vec![expected_resp3(a), expected_resp3(b)])).collect())
        }
    }
}

/// The comparable form of a decoded RESP3 frame.
fn decoded_resp3(frame: &Frame3) -> Value {
    let list = |frames: &[Frame3]| frames.iter().map(decoded_resp3).collect::<Vec<_>>();
    match frame {
        Frame3::SimpleString { data, attributes: None } => Value::Simple(data.clone()),
        Frame3::SimpleError { data, attributes: None } => Value::Error(data.as_bytes().to_vec()),
        Frame3::Number { data, attributes: None } => Value::Int(*data),
        Frame3::BlobString { data, attributes: None } => Value::Bulk(data.clone()),
        Frame3::Null => Value::Null,
        Frame3::Array { data, attributes: None } => Value::Array(list(data)),
        Frame3::Map { data, attributes: None } => {
            let mut pairs: Vec<_> = data.iter().map(|(k, v)| (decoded_resp3(k), decoded_resp3(v))).collect();
            pairs.sort();
            Value::Map(pairs)
        }
        Frame3::Set { data, attributes: None } => {
            let mut items: Vec<_> = data.iter().map(decoded_resp3).collect();
            items.sort();
            Value::Set(items)
        }
        Frame3::Double { data, attributes: None } => Value::Double(double_bits(*data)),
        Frame3::Boolean { data, attributes: None } => Value::Bool(*data),
        Frame3::VerbatimString { data, format, attributes: None } => Value::Verbatim(
            match format {
                VerbatimStringFormat::Text => "txt",
                VerbatimStringFormat::Markdown => "mkd",
            },
            data.clone(),
        ),
        Frame3::Push { data, attributes: None } => Value::Push(list(data)),
        other => Value::Other(format!("{other:?}")),
    }
}

proptest! {
    #[test]
    fn resp2_replies_decode_to_their_values(reply in reply_strategy()) {
        let mut out = Vec::new();
        encode(&reply, false, &mut out);
        let decoded = redis_protocol::resp2::decode::decode(&out);
        let Ok(Some((frame, consumed))) = decoded else {
            return Err(TestCaseError::fail(format!("{decoded:?} for {:?}", String::from_utf8_lossy(&out))));
        };
        prop_assert_eq!(consumed, out.len());
        prop_assert!(matches_resp2(&reply, &frame), "{:?} decoded as {:?}", reply, frame);
        for cut in 0..out.len() {
            let prefix = redis_protocol::resp2::decode::decode(&out[..cut]);
            prop_assert!(matches!(prefix, Ok(None)), "prefix {}: {:?}", cut, prefix);
        }
    }

    #[test]
    fn resp3_replies_decode_to_their_values(reply in reply_strategy()) {
        let mut out = Vec::new();
        encode(&reply, true, &mut out);
        let decoded = redis_protocol::resp3::decode::complete::decode(&out);
        let Ok(Some((frame, consumed))) = decoded else {
            return Err(TestCaseError::fail(format!("{decoded:?} for {:?}", String::from_utf8_lossy(&out))));
        };
        prop_assert_eq!(consumed, out.len());
        prop_assert_eq!(decoded_resp3(&frame), expected_resp3(&reply));
        for cut in 0..out.len() {
            let prefix = redis_protocol::resp3::decode::complete::decode(&out[..cut]);
            prop_assert!(matches!(prefix, Ok(None)), "prefix {}: {:?}", cut, prefix);
        }
    }
}
