//! lua-cjson 2.1.0 as Redis ships it: `cjson.encode`, `cjson.decode`, `cjson.null` and the
//! configuration functions, with lua-cjson's outputs and error texts.

use super::{LibResult, arg_error, check_integer, check_string, func, type_name};
use mlua::{LightUserData, Lua, Table, Value};
use std::cell::RefCell;
use std::rc::Rc;

const INT_MAX: i64 = i32::MAX as i64;

#[derive(Debug, Clone)]
struct Config {
    sparse_convert: bool,
    sparse_ratio: i64,
    sparse_safe: i64,
    encode_max_depth: i64,
    decode_max_depth: i64,
    precision: i64,
    keep_buffer: bool,
    /// 0 off, 1 on, 2 "null".
    encode_invalid_numbers: u8,
    decode_invalid_numbers: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            sparse_convert: false,
            sparse_ratio: 2,
            sparse_safe: 10,
            encode_max_depth: 1000,
            decode_max_depth: 1000,
            precision: 14,
            keep_buffer: true,
            encode_invalid_numbers: 0,
            decode_invalid_numbers: true,
        }
    }
}

fn null() -> Value {
    Value::LightUserData(LightUserData(std::ptr::null_mut()))
}

fn is_null(v: &Value) -> bool {
    matches!(v, Value::LightUserData(p) if p.0.is_null())
}

/// A raw cjson module with its own configuration (`cjson` itself and `cjson.new()`).
pub fn module(lua: &Lua) -> mlua::Result<Table> {
    let cfg = Rc::new(RefCell::new(Config::default()));
    let t = lua.create_table()?;
    let c = cfg.clone();
    t.raw_set(
        "encode",
        func(lua, move |lua, args| {
            if args.len() != 1 {
                return Ok(Err(arg_error(1, "encode", "expected 1 argument")));
            }
            let cfg = c.borrow().clone();
            let mut out = Vec::new();
            Ok(match encode(&cfg, &args[0], 0, &mut out) {
                Ok(()) => Ok(vec![Value::String(lua.create_string(&out)?)]),
                Err(e) => Err(e),
            })
        })?,
    )?;
    let c = cfg.clone();
    t.raw_set(
        "decode",
        func(lua, move |lua, args| {
            if args.len() != 1 {
                return Ok(Err(arg_error(1, "decode", "expected 1 argument")));
            }
            let text = match check_string(args, 1, "decode") {
                Ok(t) => t,
                Err(e) => return Ok(Err(e)),
            };
            let cfg = c.borrow().clone();
            decode(lua, &cfg, &text)
        })?,
    )?;
    let c = cfg.clone();
    t.raw_set(
        "encode_sparse_array",
        func(lua, move |_, args| {
            Ok((|| {
                arg_count(args, 3)?;
                let mut cfg = c.borrow_mut();
                if let Some(v) = enum_option(args, 1, "encode_sparse_array", &["off", "on"])? {
                    cfg.sparse_convert = v == 1;
                }
                if let Some(v) = int_option(args, 2, "encode_sparse_array", 0, INT_MAX)? {
                    cfg.sparse_ratio = v;
                }
                if let Some(v) = int_option(args, 3, "encode_sparse_array", 0, INT_MAX)? {
                    cfg.sparse_safe = v;
                }
                Ok(vec![
                    Value::Boolean(cfg.sparse_convert),
                    Value::Number(cfg.sparse_ratio as f64),
                    Value::Number(cfg.sparse_safe as f64),
                ])
            })())
        })?,
    )?;
    for (name, which) in [("encode_max_depth", 0), ("decode_max_depth", 1), ("encode_number_precision", 2)] {
        let c = cfg.clone();
        t.raw_set(
            name,
            func(lua, move |_, args| {
                Ok((|| {
                    arg_count(args, 1)?;
                    let mut cfg = c.borrow_mut();
                    let max = if which == 2 { 14 } else { INT_MAX };
                    let slot = match which {
                        0 => &mut cfg.encode_max_depth,
                        1 => &mut cfg.decode_max_depth,
                        _ => &mut cfg.precision,
                    };
                    if let Some(v) = int_option(args, 1, name, 1, max)? {
                        *slot = v;
                    }
                    Ok(vec![Value::Number(*slot as f64)])
                })())
            })?,
        )?;
    }
    let c = cfg.clone();
    t.raw_set(
        "encode_keep_buffer",
        func(lua, move |_, args| {
            Ok((|| {
                arg_count(args, 1)?;
                let mut cfg = c.borrow_mut();
                if let Some(v) = enum_option(args, 1, "encode_keep_buffer", &["off", "on"])? {
                    cfg.keep_buffer = v == 1;
                }
                Ok(vec![Value::Boolean(cfg.keep_buffer)])
            })())
        })?,
    )?;
    let c = cfg.clone();
    t.raw_set(
        "encode_invalid_numbers",
        func(lua, move |lua, args| {
            Ok((|| {
                arg_count(args, 1)?;
                let mut cfg = c.borrow_mut();
                if let Some(v) = enum_option(args, 1, "encode_invalid_numbers", &["off", "on", "null"])? {
                    cfg.encode_invalid_numbers = v;
                }
                Ok(vec![match cfg.encode_invalid_numbers {
                    0 => Value::Boolean(false),
                    1 => Value::Boolean(true),
                    _ => Value::String(lua.create_string("null").map_err(|e| e.to_string())?),
                }])
            })())
        })?,
    )?;
    let c = cfg;
    t.raw_set(
        "decode_invalid_numbers",
        func(lua, move |_, args| {
            Ok((|| {
                arg_count(args, 1)?;
                let mut cfg = c.borrow_mut();
                if let Some(v) = enum_option(args, 1, "decode_invalid_numbers", &["off", "on"])? {
                    cfg.decode_invalid_numbers = v == 1;
                }
                Ok(vec![Value::Boolean(cfg.decode_invalid_numbers)])
            })())
        })?,
    )?;
    t.raw_set("null", null())?;
    t.raw_set("_NAME", "cjson")?;
    t.raw_set("_VERSION", "2.1.0")?;
    Ok(t)
}

fn arg_count(args: &[Value], max: usize) -> Result<(), String> {
    if args.len() > max {
        return Err(arg_error(max + 1, "", "found too many arguments"));
    }
    Ok(())
}

fn int_option(args: &[Value], n: usize, fname: &str, min: i64, max: i64) -> Result<Option<i64>, String> {
    match args.get(n - 1) {
        None | Some(Value::Nil) => Ok(None),
        Some(_) => {
            let v = check_integer(args, n, fname)?;
            if v < min || v > max {
                return Err(arg_error(1, fname, &format!("expected integer between {min} and {max}")));
            }
            Ok(Some(v))
        }
    }
}

fn enum_option(args: &[Value], n: usize, fname: &str, options: &[&str]) -> Result<Option<u8>, String> {
    match args.get(n - 1) {
        None | Some(Value::Nil) => Ok(None),
        Some(Value::Boolean(b)) => Ok(Some(u8::from(*b))),
        Some(Value::String(s)) => {
            let s = s.as_bytes();
            match options.iter().position(|o| o.as_bytes() == &s[..]) {
                Some(i) => Ok(Some(i as u8)),
                None => Err(arg_error(n, fname, &format!("invalid option '{}'", String::from_utf8_lossy(&s)))),
            }
        }
        Some(_) => Err(arg_error(n, fname, &format!("string expected, got {}", type_name(args, n)))),
    }
}

fn lua_type_name(v: &Value) -> &'static str {
    type_name(std::slice::from_ref(v), 1)
}

fn encode_number(cfg: &Config, x: f64, out: &mut Vec<u8>, what: &Value) -> Result<(), String> {
    if !x.is_finite() {
        match cfg.encode_invalid_numbers {
            0 => return Err(format!("Cannot serialise {}: must not be NaN or Inf", lua_type_name(what))),
            1 => {
                out.extend_from_slice(if x.is_nan() {
                    b"NaN".as_slice()
                } else if x < 0.0 {
                    b"-Infinity"
                } else {
                    b"Infinity"
                });
                return Ok(());
            }
            _ => {
                out.extend_from_slice(b"null");
                return Ok(());
            }
        }
    }
    out.extend_from_slice(crate::util::num::format_g(x, cfg.precision as usize).as_bytes());
    Ok(())
}

fn encode_string(s: &[u8], out: &mut Vec<u8>) {
    out.push(b'"');
    for &c in s {
        match c {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'/' => out.extend_from_slice(b"\\/"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            8 => out.extend_from_slice(b"\\b"),
            12 => out.extend_from_slice(b"\\f"),
            0..=31 | 127 => out.extend_from_slice(format!("\\u{c:04x}").as_bytes()),
            _ => out.push(c),
        }
    }
    out.push(b'"');
}

fn encode(cfg: &Config, v: &Value, depth: i64, out: &mut Vec<u8>) -> Result<(), String> {
    match v {
        Value::String(s) => encode_string(&s.as_bytes(), out),
        Value::Number(x) => encode_number(cfg, *x, out, v)?,
        Value::Integer(n) => encode_number(cfg, *n as f64, out, v)?,
        Value::Boolean(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Nil => out.extend_from_slice(b"null"),
        v if is_null(v) => out.extend_from_slice(b"null"),
        Value::Table(t) => {
            let depth = depth + 1;
            if depth > cfg.encode_max_depth {
                return Err(format!("Cannot serialise, excessive nesting ({depth})"));
            }
            let len = array_length(cfg, t)?;
            if len > 0 {
                out.push(b'[');
                for i in 1..=len {
                    if i > 1 {
                        out.push(b',');
                    }
                    let item: Value = t.raw_get(i).map_err(|e| e.to_string())?;
                    encode(cfg, &item, depth, out)?;
                }
                out.push(b']');
            } else {
                out.push(b'{');
                let mut first = true;
                for pair in t.pairs::<Value, Value>() {
                    let (k, val) = pair.map_err(|e| e.to_string())?;
                    if !first {
                        out.push(b',');
                    }
                    first = false;
                    match &k {
                        Value::Number(_) | Value::Integer(_) => {
                            out.push(b'"');
                            let x = match k {
                                Value::Number(x) => x,
                                Value::Integer(n) => n as f64,
                                _ => 0.0,
                            };
                            encode_number(cfg, x, out, &k)?;
                            out.extend_from_slice(b"\":");
                        }
                        Value::String(s) => {
                            encode_string(&s.as_bytes(), out);
                            out.push(b':');
                        }
                        other => {
                            return Err(format!(
                                "Cannot serialise {}: table key must be a number or string",
                                lua_type_name(other)
                            ));
                        }
                    }
                    encode(cfg, &val, depth, out)?;
                }
                out.push(b'}');
            }
        }
        other => return Err(format!("Cannot serialise {}: type not supported", lua_type_name(other))),
    }
    Ok(())
}

/// lua-cjson's `lua_array_length`: the array length of a table with only positive integer
/// keys (0 for an object), or an error for an excessively sparse array.
fn array_length(cfg: &Config, t: &Table) -> Result<usize, String> {
    let mut max: f64 = 0.0;
    let mut items: f64 = 0.0;
    for pair in t.pairs::<Value, Value>() {
        let (k, _) = pair.map_err(|e| e.to_string())?;
        let k = match k {
            Value::Number(x) => x,
            Value::Integer(n) => n as f64,
            _ => return Ok(0),
        };
        if k.floor() == k && k >= 1.0 {
            if k > max {
                max = k;
            }
            items += 1.0;
        } else {
            return Ok(0);
        }
    }
    if cfg.sparse_ratio > 0 && max > items * cfg.sparse_ratio as f64 && max > cfg.sparse_safe as f64 {
        if !cfg.sparse_convert {
            return Err("Cannot serialise table: excessively sparse array".to_string());
        }
        return Ok(0);
    }
    Ok(max as usize)
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Tok {
    ObjBegin,
    ObjEnd,
    ArrBegin,
    ArrEnd,
    Str,
    Num(f64),
    Bool(bool),
    Null,
    Colon,
    Comma,
    End,
    Error(&'static str),
}

fn tok_name(t: &Tok) -> &'static str {
    match t {
        Tok::ObjBegin => "T_OBJ_BEGIN",
        Tok::ObjEnd => "T_OBJ_END",
        Tok::ArrBegin => "T_ARR_BEGIN",
        Tok::ArrEnd => "T_ARR_END",
        Tok::Str => "T_STRING",
        Tok::Num(_) => "T_NUMBER",
        Tok::Bool(_) => "T_BOOLEAN",
        Tok::Null => "T_NULL",
        Tok::Colon => "T_COLON",
        Tok::Comma => "T_COMMA",
        Tok::End => "T_END",
        Tok::Error(msg) => msg,
    }
}

struct Parser<'a> {
    data: &'a [u8],
    pos: usize,
    depth: i64,
    cfg: &'a Config,
    /// The last string token's text.
    string: Vec<u8>,
    /// Where the last token starts (or where its error is).
    index: usize,
}

impl Parser<'_> {
    fn at(&self, i: usize) -> u8 {
        self.data.get(i).copied().unwrap_or(0)
    }

    fn next(&mut self) -> Tok {
        while matches!(self.at(self.pos), b' ' | b'\t' | b'\n' | b'\r') && self.pos < self.data.len() {
            self.pos += 1;
        }
        self.index = self.pos;
        if self.pos >= self.data.len() {
            return Tok::End;
        }
        let c = self.data[self.pos];
        let single = match c {
            b'{' => Some(Tok::ObjBegin),
            b'}' => Some(Tok::ObjEnd),
            b'[' => Some(Tok::ArrBegin),
            b']' => Some(Tok::ArrEnd),
            b':' => Some(Tok::Colon),
            b',' => Some(Tok::Comma),
            _ => None,
        };
        if let Some(t) = single {
            self.pos += 1;
            return t;
        }
        if c == b'"' {
            return self.string_token();
        }
        let rest = &self.data[self.pos..];
        if c == b'-' || c.is_ascii_digit() {
            if !self.cfg.decode_invalid_numbers && self.invalid_number() {
                return Tok::Error("invalid number");
            }
            return self.number_token();
        }
        if rest.starts_with(b"true") {
            self.pos += 4;
            return Tok::Bool(true);
        }
        if rest.starts_with(b"false") {
            self.pos += 5;
            return Tok::Bool(false);
        }
        if rest.starts_with(b"null") {
            self.pos += 4;
            return Tok::Null;
        }
        if self.cfg.decode_invalid_numbers && self.invalid_number() {
            return self.number_token();
        }
        Tok::Error("invalid token")
    }

    /// lua-cjson's `json_is_invalid_number`: hex, octal-looking, inf and nan.
    fn invalid_number(&self) -> bool {
        let mut p = self.pos;
        if self.at(p) == b'-' {
            p += 1;
        }
        if self.at(p) == b'0' {
            let c2 = self.at(p + 1);
            return (c2 | 0x20) == b'x' || c2.is_ascii_digit();
        }
        if self.at(p) <= b'9' {
            return false;
        }
        let word = &self.data[p..self.data.len().min(p + 3)];
        word.eq_ignore_ascii_case(b"inf") || word.eq_ignore_ascii_case(b"nan")
    }

    fn number_token(&mut self) -> Tok {
        match strtod(&self.data[self.pos..]) {
            Some((x, used)) if used > 0 => {
                self.pos += used;
                Tok::Num(x)
            }
            _ => Tok::Error("invalid number"),
        }
    }

    fn string_token(&mut self) -> Tok {
        self.pos += 1;
        self.string.clear();
        loop {
            if self.pos >= self.data.len() {
                self.index = self.pos;
                return Tok::Error("unexpected end of string");
            }
            let c = self.data[self.pos];
            if c == b'"' {
                self.pos += 1;
                return Tok::Str;
            }
            if c != b'\\' {
                self.string.push(c);
                self.pos += 1;
                continue;
            }
            let e = self.at(self.pos + 1);
            let simple = match e {
                b'b' => Some(8u8),
                b'f' => Some(12),
                b'n' => Some(b'\n'),
                b'r' => Some(b'\r'),
                b't' => Some(b'\t'),
                b'"' => Some(b'"'),
                b'\\' => Some(b'\\'),
                b'/' => Some(b'/'),
                _ => None,
            };
            if let Some(ch) = simple {
                self.string.push(ch);
                self.pos += 2;
                continue;
            }
            if e != b'u' || !self.unicode_escape() {
                self.index = self.pos;
                return Tok::Error(if e == b'u' { "invalid unicode escape code" } else { "invalid escape code" });
            }
        }
    }

    fn hex4(&self, at: usize) -> Option<u32> {
        let digits = self.data.get(at..at + 4)?;
        let text = std::str::from_utf8(digits).ok()?;
        if !text.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        u32::from_str_radix(text, 16).ok()
    }

    /// `\uXXXX` (with a surrogate pair) at `pos`, appended as UTF-8.
    fn unicode_escape(&mut self) -> bool {
        let Some(mut cp) = self.hex4(self.pos + 2) else { return false };
        let mut len = 6;
        if (0xDC00..=0xDFFF).contains(&cp) {
            return false;
        }
        if (0xD800..=0xDBFF).contains(&cp) {
            if self.at(self.pos + 6) != b'\\' || self.at(self.pos + 7) != b'u' {
                return false;
            }
            let Some(low) = self.hex4(self.pos + 8) else { return false };
            if !(0xDC00..=0xDFFF).contains(&low) {
                return false;
            }
            cp = (((cp & 0x3FF) << 10) | (low & 0x3FF)) + 0x10000;
            len = 12;
        }
        let Some(ch) = char::from_u32(cp) else { return false };
        let mut buf = [0u8; 4];
        self.string.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
        self.pos += len;
        true
    }

    fn parse_error(&self, expected: &str, tok: &Tok) -> String {
        format!("Expected {expected} but found {} at character {}", tok_name(tok), self.index + 1)
    }

    fn descend(&mut self) -> Result<(), String> {
        self.depth += 1;
        if self.depth > self.cfg.decode_max_depth {
            return Err(format!("Found too many nested data structures ({}) at character {}", self.depth, self.pos));
        }
        Ok(())
    }

    fn value(&mut self, lua: &Lua, tok: Tok) -> mlua::Result<Result<Value, String>> {
        Ok(Ok(match tok {
            Tok::Str => Value::String(lua.create_string(&self.string)?),
            Tok::Num(x) => Value::Number(x),
            Tok::Bool(b) => Value::Boolean(b),
            Tok::Null => null(),
            Tok::ObjBegin => {
                if let Err(e) = self.descend() {
                    return Ok(Err(e));
                }
                let t = lua.create_table()?;
                let mut tok = self.next();
                if tok != Tok::ObjEnd {
                    loop {
                        if tok != Tok::Str {
                            return Ok(Err(self.parse_error("object key string", &tok)));
                        }
                        let key = lua.create_string(&self.string)?;
                        tok = self.next();
                        if tok != Tok::Colon {
                            return Ok(Err(self.parse_error("colon", &tok)));
                        }
                        tok = self.next();
                        let v = match self.value(lua, tok)? {
                            Ok(v) => v,
                            Err(e) => return Ok(Err(e)),
                        };
                        t.raw_set(key, v)?;
                        tok = self.next();
                        if tok == Tok::ObjEnd {
                            break;
                        }
                        if tok != Tok::Comma {
                            return Ok(Err(self.parse_error("comma or object end", &tok)));
                        }
                        tok = self.next();
                    }
                }
                self.depth -= 1;
                Value::Table(t)
            }
            Tok::ArrBegin => {
                if let Err(e) = self.descend() {
                    return Ok(Err(e));
                }
                let t = lua.create_table()?;
                let mut tok = self.next();
                if tok != Tok::ArrEnd {
                    let mut i = 1;
                    loop {
                        let v = match self.value(lua, tok)? {
                            Ok(v) => v,
                            Err(e) => return Ok(Err(e)),
                        };
                        t.raw_set(i, v)?;
                        i += 1;
                        tok = self.next();
                        if tok == Tok::ArrEnd {
                            break;
                        }
                        if tok != Tok::Comma {
                            return Ok(Err(self.parse_error("comma or array end", &tok)));
                        }
                        tok = self.next();
                    }
                }
                self.depth -= 1;
                Value::Table(t)
            }
            other => return Ok(Err(self.parse_error("value", &other))),
        }))
    }
}

/// C's `strtod` on a prefix of `s`: the value and how many bytes it used.
pub fn strtod(s: &[u8]) -> Option<(f64, usize)> {
    let mut i = 0;
    let neg = match s.first() {
        Some(b'-') => {
            i = 1;
            true
        }
        Some(b'+') => {
            i = 1;
            false
        }
        _ => false,
    };
    let rest = &s[i..];
    let lower: Vec<u8> = rest.iter().take(8).map(|b| b.to_ascii_lowercase()).collect();
    let sign = if neg { -1.0 } else { 1.0 };
    if lower.starts_with(b"infinity") {
        return Some((sign * f64::INFINITY, i + 8));
    }
    if lower.starts_with(b"inf") {
        return Some((sign * f64::INFINITY, i + 3));
    }
    if lower.starts_with(b"nan") {
        return Some((f64::NAN, i + 3));
    }
    if (lower.starts_with(b"0x")) && rest.get(2).is_some_and(|b| b.is_ascii_hexdigit()) {
        let digits = rest[2..].iter().take_while(|b| b.is_ascii_hexdigit()).count();
        let text = std::str::from_utf8(&rest[2..2 + digits]).ok()?;
        let v = text.bytes().fold(0f64, |acc, b| acc * 16.0 + f64::from((b as char).to_digit(16).unwrap_or(0)));
        return Some((sign * v, i + 2 + digits));
    }
    let mut j = 0;
    let int_digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    j += int_digits;
    let mut frac_digits = 0;
    if rest.get(j) == Some(&b'.') {
        frac_digits = rest[j + 1..].iter().take_while(|b| b.is_ascii_digit()).count();
        if int_digits > 0 || frac_digits > 0 {
            j += 1 + frac_digits;
        }
    }
    if int_digits == 0 && frac_digits == 0 {
        return None;
    }
    if matches!(rest.get(j), Some(b'e' | b'E')) {
        let mut k = j + 1;
        if matches!(rest.get(k), Some(b'+' | b'-')) {
            k += 1;
        }
        let exp_digits = rest[k.min(rest.len())..].iter().take_while(|b| b.is_ascii_digit()).count();
        if exp_digits > 0 {
            j = k + exp_digits;
        }
    }
    let text = std::str::from_utf8(&s[..i + j]).ok()?;
    let text = text.strip_suffix('.').unwrap_or(text);
    text.parse::<f64>().ok().map(|v| (v, i + j))
}

fn decode(lua: &Lua, cfg: &Config, text: &[u8]) -> mlua::Result<LibResult> {
    if text.len() >= 2 && (text[0] == 0 || text[1] == 0) {
        return Ok(Err("JSON parser does not support UTF-16 or UTF-32".to_string()));
    }
    let mut p = Parser { data: text, pos: 0, depth: 0, cfg, string: Vec::new(), index: 0 };
    let tok = p.next();
    let v = match p.value(lua, tok)? {
        Ok(v) => v,
        Err(e) => return Ok(Err(e)),
    };
    let tok = p.next();
    if tok != Tok::End {
        return Ok(Err(p.parse_error("the end", &tok)));
    }
    Ok(Ok(vec![v]))
}
