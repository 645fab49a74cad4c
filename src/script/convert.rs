//! Conversions between Lua values and replies, as Redis 7.0's `redisProtocolToLuaType`
//! (a command's reply handed to the script) and `luaReplyToRedisReply` (the script's
//! return value handed to the client).

use crate::protocol::{OwnedArgs, Reply};
use bytes::Bytes;
use mlua::{Lua, Table, Value};

/// How deep nested tables may go in a script's return value before the innermost becomes
/// `ERR reached lua stack limit`. Redis 7.0 reaches it at depth 7995 (its 8000-slot Lua C
/// stack); we stop at 1000 so encoding and dropping the nested reply (both recursive) stay
/// well within a 2 MB thread stack.
pub const MAX_REPLY_DEPTH: usize = 1000;

/// The text of the error table Redis's `luaPushErrorBuff` builds from `buf`: `-CODE msg`
/// keeps its code, a text without a leading `-` (or without a space after the code) gets
/// `ERR`; CR/LF are trimmed from both ends of the message.
pub fn error_text(buf: &[u8]) -> Vec<u8> {
    let (code, msg): (&[u8], &[u8]) = match buf.strip_prefix(b"-") {
        Some(rest) => match rest.iter().position(|&b| b == b' ') {
            Some(sp) => (&rest[..sp], &rest[sp + 1..]),
            None => (b"ERR", rest),
        },
        None => (b"ERR", buf),
    };
    let start = msg.iter().position(|&b| b != b'\r' && b != b'\n').unwrap_or(msg.len());
    let end = msg.iter().rposition(|&b| b != b'\r' && b != b'\n').map_or(start, |e| e + 1);
    let mut out = Vec::with_capacity(code.len() + 1 + end - start);
    out.extend_from_slice(code);
    out.push(b' ');
    out.extend_from_slice(&msg[start..end]);
    out
}

/// An error table `{err = text}` as `luaPushErrorBuff` builds it from `buf`.
pub fn error_table(lua: &Lua, buf: &[u8]) -> mlua::Result<Table> {
    let t = lua.create_table_with_capacity(0, 2)?;
    t.raw_set("err", lua.create_string(error_text(buf))?)?;
    Ok(t)
}

/// Appends a Lua number to redis.call's arguments: `%.17g`, as Redis formats numbers passed
/// to redis.call, with a shortcut for an integral number below 10^17 (which `%.17g`
/// writes as its digits).
pub fn push_number_arg(argv: &mut OwnedArgs, n: f64) {
    if n.fract() == 0.0 && n.abs() < 1e17 && !(n == 0.0 && n.is_sign_negative()) {
        argv.push(crate::util::num::int_text(n as i64, &mut Default::default()));
    } else {
        argv.push(crate::util::num::format_double(n).as_bytes());
    }
}

/// A Lua number converted to an integer reply as C's `(long long)` cast does on x86-64:
/// truncation toward zero, and `i64::MIN` for NaN, infinities and out-of-range values.
pub fn truncate_number(n: f64) -> i64 {
    if !(-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&n) { i64::MIN } else { n as i64 }
}

/// A command's reply as the value redis.call hands the script, for the protocol the script
/// chose with `redis.setresp` (2 or 3).
pub fn reply_to_lua(lua: &Lua, reply: &Reply, resp: u8) -> mlua::Result<Value> {
    let resp3 = resp == 3;
    Ok(match reply {
        Reply::Ok => single(lua, "ok", Value::String(lua.create_string("OK")?))?,
        Reply::Simple(s) => single(lua, "ok", Value::String(lua.create_string(s)?))?,
        Reply::Error(e) => {
            let mut buf = Vec::with_capacity(e.len() + 1);
            buf.push(b'-');
            buf.extend_from_slice(e);
            let t = error_table(lua, &buf)?;
            t.raw_set("ignore_error_stats_update", true)?;
            Value::Table(t)
        }
        Reply::Int(n) => Value::Number(*n as f64),
        Reply::Bulk(b) => Value::String(lua.create_string(b)?),
        Reply::Nil | Reply::NilArray => {
            if resp3 {
                Value::Nil
            } else {
                Value::Boolean(false)
            }
        }
        Reply::Array(items) | Reply::Push(items) => array(lua, items.iter(), resp)?,
        Reply::Set(items) => {
            if resp3 {
                let set = lua.create_table_with_capacity(0, items.len())?;
                for item in items {
                    let key = reply_to_lua(lua, item, resp)?;
                    if !matches!(key, Value::Nil) {
                        set.raw_set(key, true)?;
                    }
                }
                single(lua, "set", Value::Table(set))?
            } else {
                array(lua, items.iter(), resp)?
            }
        }
        Reply::Map(pairs) => {
            if resp3 {
                let map = lua.create_table_with_capacity(0, pairs.len())?;
                for (k, v) in pairs {
                    let key = reply_to_lua(lua, k, resp)?;
                    if !matches!(key, Value::Nil) {
                        map.raw_set(key, reply_to_lua(lua, v, resp)?)?;
                    }
                }
                single(lua, "map", Value::Table(map))?
            } else {
                array(lua, pairs.iter().flat_map(|(k, v)| [k, v]), resp)?
            }
        }
        Reply::Pairs(pairs) => {
            if resp3 {
                let t = lua.create_table_with_capacity(pairs.len(), 0)?;
                for (i, (a, b)) in pairs.iter().enumerate() {
                    t.raw_set(i + 1, array(lua, [a, b].into_iter(), resp)?)?;
                }
                Value::Table(t)
            } else {
                array(lua, pairs.iter().flat_map(|(k, v)| [k, v]), resp)?
            }
        }
        Reply::Double(d) | Reply::HumanDouble(d) => {
            if resp3 {
                single(lua, "double", Value::Number(*d))?
            } else {
                let mut out = Vec::new();
                crate::protocol::encode(reply, false, &mut out);
                // A RESP2 double is a bulk string: `$len\r\ntext\r\n`.
                let text =
                    out.iter().position(|&b| b == b'\n').map(|nl| &out[nl + 1..out.len() - 2]).unwrap_or_default();
                Value::String(lua.create_string(text)?)
            }
        }
        Reply::Bool(b) => {
            if resp3 {
                Value::Boolean(*b)
            } else {
                Value::Number(if *b { 1.0 } else { 0.0 })
            }
        }
        Reply::Verbatim(format, text) => {
            if resp3 {
                let v = lua.create_table_with_capacity(0, 2)?;
                v.raw_set("format", *format)?;
                v.raw_set("string", lua.create_string(text)?)?;
                single(lua, "verbatim_string", Value::Table(v))?
            } else {
                Value::String(lua.create_string(text)?)
            }
        }
    })
}

fn single(lua: &Lua, key: &str, value: Value) -> mlua::Result<Value> {
    let t = lua.create_table_with_capacity(0, 1)?;
    t.raw_set(key, value)?;
    Ok(Value::Table(t))
}

fn array<'a>(lua: &Lua, items: impl Iterator<Item = &'a Reply>, resp: u8) -> mlua::Result<Value> {
    let t = lua.create_table()?;
    for (i, item) in items.enumerate() {
        t.raw_set(i + 1, reply_to_lua(lua, item, resp)?)?;
    }
    Ok(Value::Table(t))
}

/// Maps CR and LF to spaces and trims them from the end, as Redis does for status and
/// error texts a script returns.
fn one_line(text: &[u8], trim_end: bool) -> Bytes {
    let mut out: Vec<u8> = text.to_vec();
    if trim_end {
        while matches!(out.last(), Some(b'\r' | b'\n')) {
            out.pop();
        }
    }
    for b in &mut out {
        if *b == b'\r' || *b == b'\n' {
            *b = b' ';
        }
    }
    Bytes::from(out)
}

/// A `verbatim_string` format as the `&'static str` [`Reply::Verbatim`] holds: three
/// characters, padded with spaces, as Redis's `addReplyVerbatim` writes them.
fn verbatim_format(format: &[u8]) -> &'static str {
    let mut f = [b' '; 3];
    for (slot, &b) in f.iter_mut().zip(format.iter().take_while(|&&b| b != 0)) {
        *slot = b;
    }
    match &f {
        b"txt" => "txt",
        b"mkd" => "mkd",
        _ => intern_format(f),
    }
}

/// Interns a verbatim format other than `txt`/`mkd` (bounded: after 256 distinct formats,
/// further ones are written as `txt`).
fn intern_format(f: [u8; 3]) -> &'static str {
    use std::sync::Mutex;
    static FORMATS: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());
    let text = String::from_utf8_lossy(&f).into_owned();
    let Ok(mut formats) = FORMATS.lock() else { return "txt" };
    if let Some(found) = formats.iter().find(|s| **s == text) {
        return found;
    }
    if formats.len() >= 256 {
        return "txt";
    }
    let leaked: &'static str = Box::leak(text.into_boxed_str());
    formats.push(leaked);
    leaked
}

enum Kind {
    Array,
    Map,
    Set,
}

struct Frame {
    kind: Kind,
    pending: std::vec::IntoIter<Value>,
    out: Vec<Reply>,
}

enum Step {
    Leaf(Reply),
    Open(Frame),
}

/// The script's return value as the reply to its caller, as `luaReplyToRedisReply`: strings
/// are bulk strings, numbers truncate to integers, `true` is 1 (RESP2 script) or a boolean
/// (after `redis.setresp(3)`), `false` is a null (RESP2) or a boolean, tables are checked
/// for `err`, `ok`, `double`, `big_number`, `verbatim_string`, `map` and `set` fields in that
/// order and otherwise read as an array up to the first nil.
pub fn lua_to_reply(value: Value, resp: u8) -> Reply {
    let mut stack: Vec<Frame> = Vec::new();
    let mut current = value;
    loop {
        let mut produced = match classify(current, resp, stack.len()) {
            Step::Leaf(reply) => Some(reply),
            Step::Open(frame) => {
                stack.push(frame);
                None
            }
        };
        loop {
            if let Some(reply) = produced.take() {
                match stack.last_mut() {
                    None => return reply,
                    Some(frame) => frame.out.push(reply),
                }
            }
            let Some(frame) = stack.last_mut() else { return Reply::Nil };
            if let Some(next) = frame.pending.next() {
                current = next;
                break;
            }
            let Some(done) = stack.pop() else { return Reply::Nil };
            produced = Some(finish(done));
        }
    }
}

fn finish(frame: Frame) -> Reply {
    match frame.kind {
        Kind::Array => Reply::Array(frame.out),
        Kind::Set => Reply::Set(frame.out),
        Kind::Map => {
            let mut pairs = Vec::with_capacity(frame.out.len() / 2);
            let mut it = frame.out.into_iter();
            while let (Some(k), Some(v)) = (it.next(), it.next()) {
                pairs.push((k, v));
            }
            Reply::Map(pairs)
        }
    }
}

fn classify(value: Value, resp: u8, depth: usize) -> Step {
    match value {
        Value::String(s) => Step::Leaf(Reply::Bulk(Bytes::copy_from_slice(&s.as_bytes()))),
        Value::Boolean(b) => {
            Step::Leaf(if resp == 2 { if b { Reply::Int(1) } else { Reply::Nil } } else { Reply::Bool(b) })
        }
        Value::Integer(n) => Step::Leaf(Reply::Int(n)),
        Value::Number(n) => Step::Leaf(Reply::Int(truncate_number(n))),
        Value::Table(t) => {
            if depth >= MAX_REPLY_DEPTH {
                return Step::Leaf(Reply::error("ERR reached lua stack limit"));
            }
            classify_table(t)
        }
        _ => Step::Leaf(Reply::Nil),
    }
}

fn classify_table(t: Table) -> Step {
    if let Ok(Value::String(e)) = t.raw_get::<Value>("err") {
        return Step::Leaf(Reply::Error(one_line(&e.as_bytes(), true)));
    }
    if let Ok(Value::String(s)) = t.raw_get::<Value>("ok") {
        return Step::Leaf(Reply::Simple(one_line(&s.as_bytes(), false)));
    }
    match t.raw_get::<Value>("double") {
        Ok(Value::Number(d)) => return Step::Leaf(Reply::Double(d)),
        Ok(Value::Integer(n)) => return Step::Leaf(Reply::Double(n as f64)),
        _ => {}
    }
    if let Ok(Value::String(s)) = t.raw_get::<Value>("big_number") {
        // Reply has no big-number variant: written as a bulk string (what RESP2 clients get).
        return Step::Leaf(Reply::Bulk(one_line(&s.as_bytes(), false)));
    }
    if let Ok(Value::Table(v)) = t.raw_get::<Value>("verbatim_string")
        && let Ok(Value::String(format)) = v.raw_get::<Value>("format")
        && let Ok(Value::String(text)) = v.raw_get::<Value>("string")
    {
        let format = verbatim_format(&format.as_bytes());
        return Step::Leaf(Reply::Verbatim(format, Bytes::copy_from_slice(&text.as_bytes())));
    }
    if let Ok(Value::Table(map)) = t.raw_get::<Value>("map") {
        let mut items = Vec::new();
        for (k, v) in map.pairs::<Value, Value>().flatten() {
            items.push(k);
            items.push(v);
        }
        return Step::Open(Frame { kind: Kind::Map, pending: items.into_iter(), out: Vec::new() });
    }
    if let Ok(Value::Table(set)) = t.raw_get::<Value>("set") {
        let items: Vec<Value> = set.pairs::<Value, Value>().flatten().map(|(k, _)| k).collect();
        return Step::Open(Frame { kind: Kind::Set, pending: items.into_iter(), out: Vec::new() });
    }
    let mut items = Vec::new();
    for i in 1.. {
        match t.raw_get::<Value>(i) {
            Ok(Value::Nil) | Err(_) => break,
            Ok(v) => items.push(v),
        }
    }
    Step::Open(Frame { kind: Kind::Array, pending: items.into_iter(), out: Vec::new() })
}
