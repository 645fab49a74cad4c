//! lua-cmsgpack 0.4.0 as Redis ships it: `cmsgpack.pack`, `unpack`, `unpack_one`,
//! `unpack_limit`.

use super::{LibResult, arg_error, check_integer, check_string, func, opt_integer};
use mlua::{Lua, Table, Value};

/// Tables nested deeper than this are packed as nil (lua-cmsgpack's guard against cycles).
const MAX_NESTING: usize = 16;
/// Nesting limit when unpacking (protects the Rust stack; Redis has none).
const MAX_UNPACK_DEPTH: usize = 1000;

fn encode_int(n: i64, out: &mut Vec<u8>) {
    if n >= 0 {
        if n <= 127 {
            out.push(n as u8);
        } else if n <= 0xff {
            out.extend_from_slice(&[0xcc, n as u8]);
        } else if n <= 0xffff {
            out.push(0xcd);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        } else if n <= 0xffff_ffff {
            out.push(0xce);
            out.extend_from_slice(&(n as u32).to_be_bytes());
        } else {
            out.push(0xcf);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    } else if n >= -32 {
        out.push(n as i8 as u8);
    } else if n >= -128 {
        out.extend_from_slice(&[0xd0, n as i8 as u8]);
    } else if n >= -32768 {
        out.push(0xd1);
        out.extend_from_slice(&(n as i16).to_be_bytes());
    } else if n >= -2_147_483_648 {
        out.push(0xd2);
        out.extend_from_slice(&(n as i32).to_be_bytes());
    } else {
        out.push(0xd3);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

fn encode_number(x: f64, out: &mut Vec<u8>) {
    if !x.is_infinite() && super::super::convert::truncate_number(x) as f64 == x {
        encode_int(x as i64, out);
    } else {
        let f = x as f32;
        if f64::from(f) == x {
            out.push(0xca);
            out.extend_from_slice(&f.to_be_bytes());
        } else {
            out.push(0xcb);
            out.extend_from_slice(&x.to_be_bytes());
        }
    }
}

fn encode_len(len: usize, small: u8, small_max: usize, codes: [u8; 2], out: &mut Vec<u8>) {
    if len <= small_max {
        out.push(small | len as u8);
    } else if len <= 0xffff {
        out.push(codes[0]);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(codes[1]);
        out.extend_from_slice(&(len as u32).to_be_bytes());
    }
}

fn encode(v: &Value, level: usize, out: &mut Vec<u8>) -> mlua::Result<()> {
    match v {
        Value::String(s) => {
            let s = s.as_bytes();
            let len = s.len();
            if len < 32 {
                out.push(0xa0 | len as u8);
            } else if len <= 0xff {
                out.extend_from_slice(&[0xd9, len as u8]);
            } else if len <= 0xffff {
                out.push(0xda);
                out.extend_from_slice(&(len as u16).to_be_bytes());
            } else {
                out.push(0xdb);
                out.extend_from_slice(&(len as u32).to_be_bytes());
            }
            out.extend_from_slice(&s);
        }
        Value::Boolean(b) => out.push(if *b { 0xc3 } else { 0xc2 }),
        Value::Number(x) => encode_number(*x, out),
        Value::Integer(n) => encode_int(*n, out),
        Value::Table(t) if level < MAX_NESTING => {
            let mut count = 0usize;
            let mut max = 0f64;
            let mut is_array = true;
            for pair in t.pairs::<Value, Value>() {
                let (k, _) = pair?;
                let n = match k {
                    Value::Number(n) => n,
                    Value::Integer(n) => n as f64,
                    _ => {
                        is_array = false;
                        break;
                    }
                };
                if n <= 0.0 || (n as i32) as f64 != n {
                    is_array = false;
                    break;
                }
                if n > max {
                    max = n;
                }
                count += 1;
            }
            if is_array && max as usize == count {
                let len = t.raw_len();
                encode_len(len, 0x90, 15, [0xdc, 0xdd], out);
                for i in 1..=len {
                    let item: Value = t.raw_get(i)?;
                    encode(&item, level + 1, out)?;
                }
            } else {
                let pairs: Vec<(Value, Value)> = t.pairs::<Value, Value>().collect::<mlua::Result<_>>()?;
                encode_len(pairs.len(), 0x80, 15, [0xde, 0xdf], out);
                for (k, val) in &pairs {
                    encode(k, level + 1, out)?;
                    encode(val, level + 1, out)?;
                }
            }
        }
        _ => out.push(0xc0),
    }
    Ok(())
}

enum Fail {
    Eof,
    BadFormat,
}

struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], Fail> {
        if self.data.len() - self.pos < n {
            return Err(Fail::Eof);
        }
        let s = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn be(&mut self, n: usize) -> Result<u64, Fail> {
        Ok(self.take(n)?.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
    }
}

fn decode(lua: &Lua, c: &mut Cursor<'_>, depth: usize) -> mlua::Result<Result<Value, Fail>> {
    if depth > MAX_UNPACK_DEPTH {
        return Ok(Err(Fail::BadFormat));
    }
    macro_rules! tri {
        ($e:expr) => {
            match $e {
                Ok(v) => v,
                Err(f) => return Ok(Err(f)),
            }
        };
    }
    let b = tri!(c.take(1))[0];
    let v = match b {
        0x00..=0x7f => Value::Number(f64::from(b)),
        0xe0..=0xff => Value::Number(f64::from(b as i8)),
        0x80..=0x8f => return decode_map(lua, c, usize::from(b & 0x0f), depth),
        0x90..=0x9f => return decode_array(lua, c, usize::from(b & 0x0f), depth),
        0xa0..=0xbf => Value::String(lua.create_string(tri!(c.take(usize::from(b & 0x1f))))?),
        0xc0 => Value::Nil,
        0xc2 => Value::Boolean(false),
        0xc3 => Value::Boolean(true),
        0xcc => Value::Number(tri!(c.be(1)) as f64),
        0xcd => Value::Number(tri!(c.be(2)) as f64),
        0xce => Value::Number(tri!(c.be(4)) as f64),
        0xcf => Value::Number(tri!(c.be(8)) as f64),
        0xd0 => Value::Number(f64::from(tri!(c.be(1)) as u8 as i8)),
        0xd1 => Value::Number(f64::from(tri!(c.be(2)) as u16 as i16)),
        0xd2 => Value::Number(f64::from(tri!(c.be(4)) as u32 as i32)),
        0xd3 => Value::Number(tri!(c.be(8)) as i64 as f64),
        0xca => Value::Number(f64::from(f32::from_bits(tri!(c.be(4)) as u32))),
        0xcb => Value::Number(f64::from_bits(tri!(c.be(8)))),
        0xd9 | 0xc4 => {
            let n = tri!(c.be(1)) as usize;
            Value::String(lua.create_string(tri!(c.take(n)))?)
        }
        0xda | 0xc5 => {
            let n = tri!(c.be(2)) as usize;
            Value::String(lua.create_string(tri!(c.take(n)))?)
        }
        0xdb | 0xc6 => {
            let n = tri!(c.be(4)) as usize;
            Value::String(lua.create_string(tri!(c.take(n)))?)
        }
        0xdc => {
            let n = tri!(c.be(2)) as usize;
            return decode_array(lua, c, n, depth);
        }
        0xdd => {
            let n = tri!(c.be(4)) as usize;
            return decode_array(lua, c, n, depth);
        }
        0xde => {
            let n = tri!(c.be(2)) as usize;
            return decode_map(lua, c, n, depth);
        }
        0xdf => {
            let n = tri!(c.be(4)) as usize;
            return decode_map(lua, c, n, depth);
        }
        _ => return Ok(Err(Fail::BadFormat)),
    };
    Ok(Ok(v))
}

fn decode_array(lua: &Lua, c: &mut Cursor<'_>, n: usize, depth: usize) -> mlua::Result<Result<Value, Fail>> {
    let t = lua.create_table()?;
    for i in 1..=n {
        match decode(lua, c, depth + 1)? {
            Ok(v) => t.raw_set(i, v)?,
            Err(f) => return Ok(Err(f)),
        }
    }
    Ok(Ok(Value::Table(t)))
}

fn decode_map(lua: &Lua, c: &mut Cursor<'_>, n: usize, depth: usize) -> mlua::Result<Result<Value, Fail>> {
    let t = lua.create_table()?;
    for _ in 0..n {
        let k = match decode(lua, c, depth + 1)? {
            Ok(v) => v,
            Err(f) => return Ok(Err(f)),
        };
        let v = match decode(lua, c, depth + 1)? {
            Ok(v) => v,
            Err(f) => return Ok(Err(f)),
        };
        let bad_key = match &k {
            Value::Nil => true,
            Value::Number(x) => x.is_nan(),
            _ => false,
        };
        if bad_key {
            return Ok(Err(Fail::BadFormat));
        }
        t.raw_set(k, v)?;
    }
    Ok(Ok(Value::Table(t)))
}

fn unpack_full(lua: &Lua, args: &[Value], fname: &str, limit: i64, offset: i64) -> mlua::Result<LibResult> {
    let data = match check_string(args, 1, fname) {
        Ok(d) => d,
        Err(e) => return Ok(Err(e)),
    };
    let decode_all = limit == 0 && offset == 0;
    if offset < 0 || limit < 0 {
        return Ok(Err(format!("Invalid request to unpack with offset of {offset} and limit of {}.", data.len())));
    }
    if offset as usize > data.len() {
        return Ok(Err(format!("Start offset {offset} greater than input length {}.", data.len())));
    }
    let limit = if decode_all { i64::MAX } else { limit };
    let mut c = Cursor { data: &data, pos: offset as usize };
    let mut out = Vec::new();
    let mut count = 0;
    while c.pos < data.len() && count < limit {
        match decode(lua, &mut c, 0)? {
            Ok(v) => out.push(v),
            Err(Fail::Eof) => return Ok(Err("Missing bytes in input.".to_string())),
            Err(Fail::BadFormat) => return Ok(Err("Bad data format in input.".to_string())),
        }
        count += 1;
    }
    if !decode_all {
        let next = if c.pos == data.len() { -1.0 } else { c.pos as f64 };
        out.insert(0, Value::Number(next));
    }
    Ok(Ok(out))
}

/// The raw `cmsgpack` table.
pub fn module(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.raw_set(
        "pack",
        func(lua, |lua, args| {
            if args.is_empty() {
                return Ok(Err(arg_error(0, "pack", "MessagePack pack needs input.")));
            }
            let mut out = Vec::new();
            for v in args {
                encode(v, 0, &mut out)?;
            }
            Ok(Ok(vec![Value::String(lua.create_string(&out)?)]))
        })?,
    )?;
    t.raw_set("unpack", func(lua, |lua, args| unpack_full(lua, args, "unpack", 0, 0))?)?;
    t.raw_set(
        "unpack_one",
        func(lua, |lua, args| match opt_integer(args, 2, "unpack_one", 0) {
            Ok(offset) => unpack_full(lua, args, "unpack_one", 1, offset),
            Err(e) => Ok(Err(e)),
        })?,
    )?;
    t.raw_set(
        "unpack_limit",
        func(lua, |lua, args| {
            let limit = match check_integer(args, 2, "unpack_limit") {
                Ok(l) => l,
                Err(e) => return Ok(Err(e)),
            };
            match opt_integer(args, 3, "unpack_limit", 0) {
                Ok(offset) => unpack_full(lua, args, "unpack_limit", limit, offset),
                Err(e) => Ok(Err(e)),
            }
        })?,
    )?;
    t.raw_set("_NAME", "cmsgpack")?;
    t.raw_set("_VERSION", "lua-cmsgpack 0.4.0")?;
    t.raw_set("_COPYRIGHT", "Copyright (C) 2012, Salvatore Sanfilippo")?;
    t.raw_set("_DESCRIPTION", "MessagePack C implementation for Lua")?;
    Ok(t)
}
