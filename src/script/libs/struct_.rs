//! Roberto Ierusalimschy's `struct` library as Redis ships it: `struct.pack`,
//! `struct.unpack`, `struct.size` on x86-64 sizes (short 2, int 4, long 8, size_t 8).

use super::{LibResult, arg_error, check_number, check_string, func, opt_integer};
use mlua::{Lua, Table, Value};

const MAXINTSIZE: usize = 32;
const MAXALIGN: usize = 8;

#[derive(Clone, Copy)]
struct Header {
    little: bool,
    align: usize,
}

fn getnum(fmt: &[u8], i: &mut usize, default: usize) -> Result<usize, String> {
    if !fmt.get(*i).is_some_and(|b| b.is_ascii_digit()) {
        return Ok(default);
    }
    let mut a: usize = 0;
    while let Some(&d) = fmt.get(*i).filter(|b| b.is_ascii_digit()) {
        let d = usize::from(d - b'0');
        if a > (i32::MAX as usize) / 10 || a * 10 > (i32::MAX as usize) - d {
            return Err("integral size overflow".to_string());
        }
        a = a * 10 + d;
        *i += 1;
    }
    Ok(a)
}

fn optsize(opt: u8, fmt: &[u8], i: &mut usize) -> Result<usize, String> {
    Ok(match opt {
        b'B' | b'b' => 1,
        b'H' | b'h' => 2,
        b'L' | b'l' | b'T' => 8,
        b'f' => 4,
        b'd' => 8,
        b'x' => 1,
        b'c' => getnum(fmt, i, 1)?,
        b'i' | b'I' => {
            let sz = getnum(fmt, i, 4)?;
            if sz > MAXINTSIZE {
                return Err(format!("integral size {sz} is larger than limit of {MAXINTSIZE}"));
            }
            sz
        }
        _ => 0,
    })
}

fn gettoalign(len: usize, h: &Header, opt: u8, size: usize) -> usize {
    if size == 0 || opt == b'c' {
        return 0;
    }
    let align = if size > h.align { h.align } else { size };
    (align - (len & (align - 1))) & (align - 1)
}

fn controloptions(opt: u8, fmt: &[u8], i: &mut usize, h: &mut Header, fname: &str) -> Result<(), String> {
    match opt {
        b' ' => Ok(()),
        b'>' => {
            h.little = false;
            Ok(())
        }
        b'<' => {
            h.little = true;
            Ok(())
        }
        b'!' => {
            let a = getnum(fmt, i, MAXALIGN)?;
            if !a.is_power_of_two() {
                return Err(format!("alignment {a} is not a power of 2"));
            }
            h.align = a;
            Ok(())
        }
        other => Err(arg_error(1, fname, &format!("invalid format option '{}'", other as char))),
    }
}

/// The format string up to its first NUL (the C library reads a C string).
fn format_arg(args: &[Value], fname: &str) -> Result<Vec<u8>, String> {
    let mut fmt = check_string(args, 1, fname)?;
    if let Some(nul) = fmt.iter().position(|&b| b == 0) {
        fmt.truncate(nul);
    }
    Ok(fmt)
}

fn pack(lua: &Lua, args: &[Value]) -> mlua::Result<LibResult> {
    let r = (|| -> Result<Vec<u8>, String> {
        let fmt = format_arg(args, "pack")?;
        let mut h = Header { little: true, align: 1 };
        let mut arg = 2;
        let mut out: Vec<u8> = Vec::new();
        let mut i = 0;
        while i < fmt.len() {
            let opt = fmt[i];
            i += 1;
            let mut size = optsize(opt, &fmt, &mut i)?;
            let toalign = gettoalign(out.len(), &h, opt, size);
            out.resize(out.len() + toalign, 0);
            match opt {
                b'b' | b'B' | b'h' | b'H' | b'l' | b'L' | b'T' | b'i' | b'I' => {
                    let n = check_number(args, arg, "pack")?;
                    arg += 1;
                    let mut value: u64 =
                        if n < 0.0 { super::super::convert::truncate_number(n) as u64 } else { n as u64 };
                    let mut buf = vec![0u8; size];
                    if h.little {
                        for slot in buf.iter_mut() {
                            *slot = value as u8;
                            value = value.checked_shr(8).unwrap_or(0);
                        }
                    } else {
                        for slot in buf.iter_mut().rev() {
                            *slot = value as u8;
                            value = value.checked_shr(8).unwrap_or(0);
                        }
                    }
                    out.extend_from_slice(&buf);
                }
                b'x' => out.push(0),
                b'f' => {
                    let f = check_number(args, arg, "pack")? as f32;
                    arg += 1;
                    out.extend_from_slice(&if h.little { f.to_le_bytes() } else { f.to_be_bytes() });
                }
                b'd' => {
                    let d = check_number(args, arg, "pack")?;
                    arg += 1;
                    out.extend_from_slice(&if h.little { d.to_le_bytes() } else { d.to_be_bytes() });
                }
                b'c' | b's' => {
                    let s = check_string(args, arg, "pack")?;
                    arg += 1;
                    if size == 0 {
                        size = s.len();
                    }
                    if s.len() < size {
                        return Err(arg_error(arg, "pack", "string too short"));
                    }
                    out.extend_from_slice(&s[..size]);
                    if opt == b's' {
                        out.push(0);
                    }
                }
                _ => controloptions(opt, &fmt, &mut i, &mut h, "pack")?,
            }
        }
        Ok(out)
    })();
    Ok(match r {
        Ok(bytes) => Ok(vec![Value::String(lua.create_string(&bytes)?)]),
        Err(e) => Err(e),
    })
}

fn getinteger(buf: &[u8], little: bool, signed: bool, size: usize) -> f64 {
    let mut l: u64 = 0;
    let mut push = |b: u8| {
        l = l.checked_shl(8).unwrap_or(0) | u64::from(b);
    };
    if little {
        buf.iter().rev().for_each(|&b| push(b));
    } else {
        buf.iter().for_each(|&b| push(b));
    }
    if !signed {
        return l as f64;
    }
    let shift = (size * 8).saturating_sub(1);
    let mask = if shift >= 64 { 0 } else { u64::MAX << shift };
    if l & mask != 0 {
        l |= mask;
    }
    (l as i64) as f64
}

fn unpack(lua: &Lua, args: &[Value]) -> mlua::Result<LibResult> {
    let fmt = match format_arg(args, "unpack") {
        Ok(f) => f,
        Err(e) => return Ok(Err(e)),
    };
    let data = match check_string(args, 2, "unpack") {
        Ok(d) => d,
        Err(e) => return Ok(Err(e)),
    };
    let ld = data.len();
    let start = match opt_integer(args, 3, "unpack", 1) {
        Ok(p) => p,
        Err(e) => return Ok(Err(e)),
    };
    let mut pos = (start - 1) as usize;
    if start < 1 || pos > ld {
        return Ok(Err(arg_error(3, "unpack", "offset must be 1 or greater")));
    }
    let mut h = Header { little: true, align: 1 };
    let mut results: Vec<Value> = Vec::new();
    let mut i = 0;
    while i < fmt.len() {
        let opt = fmt[i];
        i += 1;
        let mut size = match optsize(opt, &fmt, &mut i) {
            Ok(s) => s,
            Err(e) => return Ok(Err(e)),
        };
        pos += gettoalign(pos, &h, opt, size);
        if size > ld || pos > ld - size {
            return Ok(Err(arg_error(2, "unpack", "data string too short")));
        }
        match opt {
            b'b' | b'B' | b'h' | b'H' | b'l' | b'L' | b'T' | b'i' | b'I' => {
                let v = getinteger(&data[pos..pos + size], h.little, opt.is_ascii_lowercase(), size);
                results.push(Value::Number(v));
            }
            b'x' => {}
            b'f' => {
                let mut b = [0u8; 4];
                b.copy_from_slice(&data[pos..pos + 4]);
                let f = if h.little { f32::from_le_bytes(b) } else { f32::from_be_bytes(b) };
                results.push(Value::Number(f64::from(f)));
            }
            b'd' => {
                let mut b = [0u8; 8];
                b.copy_from_slice(&data[pos..pos + 8]);
                results.push(Value::Number(if h.little { f64::from_le_bytes(b) } else { f64::from_be_bytes(b) }));
            }
            b'c' => {
                if size == 0 {
                    let prev = match results.last() {
                        Some(Value::Number(n)) => *n,
                        Some(Value::String(s)) => match super::str_to_number(&s.as_bytes()) {
                            Some(n) => n,
                            None => return Ok(Err("format 'c0' needs a previous size".to_string())),
                        },
                        _ => return Ok(Err("format 'c0' needs a previous size".to_string())),
                    };
                    results.pop();
                    size = if prev > 0.0 { prev as usize } else { 0 };
                    if size > ld || pos > ld - size {
                        return Ok(Err(arg_error(2, "unpack", "data string too short")));
                    }
                }
                results.push(Value::String(lua.create_string(&data[pos..pos + size])?));
            }
            b's' => {
                let Some(e) = data[pos..].iter().position(|&b| b == 0) else {
                    return Ok(Err("unfinished string in data".to_string()));
                };
                results.push(Value::String(lua.create_string(&data[pos..pos + e])?));
                size = e + 1;
            }
            _ => {
                if let Err(e) = controloptions(opt, &fmt, &mut i, &mut h, "unpack") {
                    return Ok(Err(e));
                }
            }
        }
        pos += size;
    }
    results.push(Value::Number((pos + 1) as f64));
    Ok(Ok(results))
}

fn size(args: &[Value]) -> LibResult {
    let fmt = format_arg(args, "size")?;
    let mut h = Header { little: true, align: 1 };
    let mut pos = 0usize;
    let mut i = 0;
    while i < fmt.len() {
        let opt = fmt[i];
        i += 1;
        let size = optsize(opt, &fmt, &mut i)?;
        pos += gettoalign(pos, &h, opt, size);
        if opt == b's' {
            return Err(arg_error(1, "size", "option 's' has no fixed size"));
        } else if opt == b'c' && size == 0 {
            return Err(arg_error(1, "size", "option 'c0' has no fixed size"));
        }
        if !opt.is_ascii_alphanumeric() {
            controloptions(opt, &fmt, &mut i, &mut h, "size")?;
        }
        pos += size;
    }
    Ok(vec![Value::Number(pos as f64)])
}

/// The raw `struct` table.
pub fn module(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.raw_set("pack", func(lua, pack)?)?;
    t.raw_set("unpack", func(lua, unpack)?)?;
    t.raw_set("size", func(lua, |_, args| Ok(size(args)))?)?;
    Ok(t)
}
