//! The libraries Redis ships that vendored Lua 5.1 lacks, in Rust: `cjson`, `cmsgpack`,
//! `bit`, `struct`, and Redis's deterministic `math.random`.
//!
//! Errors are raised with the script's position (`user_script:1: ...`), as a `luaL_error`
//! from C would be; the sandbox's `pcall` hands scripts the message as a string.

pub mod bit;
pub mod cjson;
pub mod cmsgpack;
pub mod struct_;

use super::Shared;
use mlua::{Function, Lua, MultiValue, Table, Value};
use std::rc::Rc;

/// A library function's outcome: its results, or the error message.
pub type LibResult = Result<Vec<Value>, String>;

/// The raw library tables handed to the sandbox.
pub(crate) fn register(lua: &Lua, shared: &Rc<Shared>) -> mlua::Result<Table> {
    let libs = lua.create_table()?;
    libs.raw_set("cjson", cjson::module(lua)?)?;
    libs.raw_set("bit", bit::module(lua)?)?;
    libs.raw_set("struct", struct_::module(lua)?)?;
    libs.raw_set("cmsgpack", cmsgpack::module(lua)?)?;
    let math = lua.create_table()?;
    let sh = shared.clone();
    math.raw_set("random", func(lua, move |_, args| random(&sh, args))?)?;
    let sh = shared.clone();
    math.raw_set(
        "randomseed",
        func(lua, move |_, args| {
            Ok(check_int(args, 1, "randomseed").map(|seed| {
                sh.rand.set(srand48(seed));
                Vec::new()
            }))
        })?,
    )?;
    libs.raw_set("math", math)?;
    Ok(libs)
}

/// A library function from a closure over the arguments. An error is raised as a Lua
/// error whose message carries the caller's position (`user_script:1: ...`), as C's
/// `luaL_error` does; the function is a C function, so a script's `return f(...)` tail call
/// keeps the script's frame for that position.
pub(crate) fn func<F>(lua: &Lua, f: F) -> mlua::Result<Function>
where
    F: Fn(&Lua, &[Value]) -> mlua::Result<LibResult> + 'static,
{
    lua.create_function(move |lua, args: MultiValue| {
        let args: Vec<Value> = args.into_iter().collect();
        match f(lua, &args)? {
            Ok(values) => Ok(MultiValue::from_vec(values)),
            Err(msg) => {
                let prefix = lua
                    .app_data_ref::<Rc<Shared>>()
                    .and_then(|shared| super::note_location(lua, &shared))
                    .unwrap_or_default();
                Err(mlua::Error::runtime(format!("{prefix}{msg}")))
            }
        }
    })
}

/// Lua's name for the type of argument `n` (1-based), `no value` when absent.
pub fn type_name(args: &[Value], n: usize) -> &'static str {
    match args.get(n - 1) {
        None => "no value",
        Some(Value::Nil) => "nil",
        Some(Value::Boolean(_)) => "boolean",
        Some(Value::Number(_) | Value::Integer(_)) => "number",
        Some(Value::String(_)) => "string",
        Some(Value::Table(_)) => "table",
        Some(Value::Function(_)) => "function",
        Some(Value::Thread(_)) => "thread",
        Some(_) => "userdata",
    }
}

/// `bad argument #n to 'fname' (msg)`.
pub fn arg_error(n: usize, fname: &str, msg: &str) -> String {
    format!("bad argument #{n} to '{fname}' ({msg})")
}

/// A string read as a Lua 5.1 number (`lua_tonumber`): decimal or `0x` hex, blanks around.
pub fn str_to_number(s: &[u8]) -> Option<f64> {
    let text = std::str::from_utf8(s).ok()?;
    let t = text.trim_matches(|c: char| c.is_ascii_whitespace());
    if t.is_empty() {
        return None;
    }
    let (neg, body) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    if let Some(hex) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        let v = u64::from_str_radix(hex, 16).ok()? as f64;
        return Some(if neg { -v } else { v });
    }
    if !body.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-')) {
        // strtod also reads inf/nan.
        let lower = body.to_ascii_lowercase();
        if !matches!(lower.as_str(), "inf" | "infinity" | "nan") {
            return None;
        }
    }
    t.parse::<f64>().ok()
}

/// Argument `n` as a number (`luaL_checknumber`).
pub fn check_number(args: &[Value], n: usize, fname: &str) -> Result<f64, String> {
    match args.get(n - 1) {
        Some(Value::Number(x)) => Ok(*x),
        Some(Value::Integer(x)) => Ok(*x as f64),
        Some(Value::String(s)) => match str_to_number(&s.as_bytes()) {
            Some(x) => Ok(x),
            None => Err(arg_error(n, fname, &format!("number expected, got {}", type_name(args, n)))),
        },
        _ => Err(arg_error(n, fname, &format!("number expected, got {}", type_name(args, n)))),
    }
}

/// Argument `n` as a C int (`luaL_checkint`: truncation of the number).
pub fn check_int(args: &[Value], n: usize, fname: &str) -> Result<i32, String> {
    Ok(c_int_cast(check_number(args, n, fname)?))
}

/// Argument `n` as an integer (`luaL_checkinteger`).
pub fn check_integer(args: &[Value], n: usize, fname: &str) -> Result<i64, String> {
    Ok(super::convert::truncate_number(check_number(args, n, fname)?))
}

/// Optional integer argument (`luaL_optinteger`).
pub fn opt_integer(args: &[Value], n: usize, fname: &str, default: i64) -> Result<i64, String> {
    match args.get(n - 1) {
        None | Some(Value::Nil) => Ok(default),
        _ => check_integer(args, n, fname),
    }
}

/// `(int)` of a double as x86-64 does (out of range gives `i32::MIN`).
pub fn c_int_cast(x: f64) -> i32 {
    let t = super::convert::truncate_number(x);
    i32::try_from(t).unwrap_or(t as i32)
}

/// Argument `n` as a string (`luaL_checklstring`: numbers are converted with `%.14g`).
pub fn check_string(args: &[Value], n: usize, fname: &str) -> Result<Vec<u8>, String> {
    match args.get(n - 1) {
        Some(Value::String(s)) => Ok(s.as_bytes().to_vec()),
        Some(Value::Number(x)) => Ok(number_to_string(*x).into_bytes()),
        Some(Value::Integer(x)) => Ok(x.to_string().into_bytes()),
        _ => Err(arg_error(n, fname, &format!("string expected, got {}", type_name(args, n)))),
    }
}

/// A number as Lua 5.1's `tostring` writes it (`%.14g`).
pub fn number_to_string(x: f64) -> String {
    if x.is_nan() {
        return if x.is_sign_negative() { "-nan" } else { "nan" }.to_string();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf" } else { "-inf" }.to_string();
    }
    crate::util::num::format_g(x, 14)
}

/// Redis's `redisLrand48` state after `redisSrand48(seed)`.
pub fn srand48(seed: i32) -> u64 {
    ((seed as u32 as u64) << 16) | 0x330E
}

/// The initial `redisLrand48` state.
pub const RAND48_SEED: u64 = 0x1234_ABCD_330E;

/// Redis's `redisLrand48`: the next 31-bit value of the 48-bit LCG.
pub fn lrand48(state: &std::cell::Cell<u64>) -> i32 {
    let x = state.get().wrapping_mul(0x5_DEEC_E66D).wrapping_add(0xB) & ((1u64 << 48) - 1);
    state.set(x);
    (x >> 17) as i32
}

fn random(shared: &Shared, args: &[Value]) -> mlua::Result<LibResult> {
    const MAX: i32 = i32::MAX;
    let r = f64::from(lrand48(&shared.rand) % MAX) / f64::from(MAX);
    let value = match args.len() {
        0 => r,
        1 => {
            let u = match check_int(args, 1, "random") {
                Ok(u) => u,
                Err(e) => return Ok(Err(e)),
            };
            if u < 1 {
                return Ok(Err(arg_error(1, "random", "interval is empty")));
            }
            (r * f64::from(u)).floor() + 1.0
        }
        2 => {
            let (l, u) = match (check_int(args, 1, "random"), check_int(args, 2, "random")) {
                (Ok(l), Ok(u)) => (l, u),
                (Err(e), _) | (_, Err(e)) => return Ok(Err(e)),
            };
            if l > u {
                return Ok(Err(arg_error(2, "random", "interval is empty")));
            }
            (r * (f64::from(u) - f64::from(l) + 1.0)).floor() + f64::from(l)
        }
        _ => return Ok(Err("wrong number of arguments".to_string())),
    };
    Ok(Ok(vec![Value::Number(value)]))
}
