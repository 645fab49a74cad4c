//! LuaBitOp 1.0 (`bit`): 32-bit operations on Lua numbers, results as signed 32-bit values.

use super::{LibResult, check_number, func};
use mlua::{Lua, Table, Value};

/// A number normalized to 32 bits as LuaBitOp does (adding 2^52+2^51 and taking the low
/// word: rounding to nearest, then wrapping modulo 2^32).
pub fn tobit(x: f64) -> u32 {
    (x + 6_755_399_441_055_744.0).to_bits() as u32
}

fn arg(args: &[Value], n: usize, fname: &str) -> Result<u32, String> {
    check_number(args, n, fname).map(tobit)
}

fn out(b: u32) -> LibResult {
    Ok(vec![Value::Number(f64::from(b as i32))])
}

fn unary(lua: &Lua, t: &Table, name: &'static str, op: fn(u32) -> u32) -> mlua::Result<()> {
    t.raw_set(name, func(lua, move |_, args| Ok(arg(args, 1, name).and_then(|b| out(op(b)))))?)
}

fn fold(lua: &Lua, t: &Table, name: &'static str, op: fn(u32, u32) -> u32) -> mlua::Result<()> {
    t.raw_set(
        name,
        func(lua, move |_, args| {
            Ok((|| {
                let mut acc = arg(args, 1, name)?;
                for i in 2..=args.len() {
                    acc = op(acc, arg(args, i, name)?);
                }
                out(acc)
            })())
        })?,
    )
}

fn shift(lua: &Lua, t: &Table, name: &'static str, op: fn(u32, u32) -> u32) -> mlua::Result<()> {
    t.raw_set(
        name,
        func(lua, move |_, args| {
            Ok((|| {
                let b = arg(args, 1, name)?;
                let n = arg(args, 2, name)? & 31;
                out(op(b, n))
            })())
        })?,
    )
}

/// The raw `bit` table.
pub fn module(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    unary(lua, &t, "tobit", |b| b)?;
    unary(lua, &t, "bnot", |b| !b)?;
    unary(lua, &t, "bswap", u32::swap_bytes)?;
    fold(lua, &t, "band", |a, b| a & b)?;
    fold(lua, &t, "bor", |a, b| a | b)?;
    fold(lua, &t, "bxor", |a, b| a ^ b)?;
    shift(lua, &t, "lshift", |b, n| b << n)?;
    shift(lua, &t, "rshift", |b, n| b >> n)?;
    shift(lua, &t, "arshift", |b, n| ((b as i32) >> n) as u32)?;
    shift(lua, &t, "rol", |b, n| b.rotate_left(n))?;
    shift(lua, &t, "ror", |b, n| b.rotate_right(n))?;
    t.raw_set(
        "tohex",
        func(lua, |lua, args| {
            Ok((|| {
                let mut b = arg(args, 1, "tohex")?;
                let mut n: i32 = match args.get(1) {
                    None | Some(Value::Nil) => 8,
                    Some(_) => tobit(check_number(args, 2, "tohex")?) as i32,
                };
                let digits: &[u8] = if n < 0 {
                    n = n.wrapping_neg();
                    b"0123456789ABCDEF"
                } else {
                    b"0123456789abcdef"
                };
                let n = (n as u32).min(8) as usize;
                let mut buf = vec![0u8; n];
                for slot in buf.iter_mut().rev() {
                    *slot = digits[(b & 15) as usize];
                    b >>= 4;
                }
                Ok(vec![Value::String(lua.create_string(&buf).map_err(|e| e.to_string())?)])
            })())
        })?,
    )?;
    Ok(t)
}
