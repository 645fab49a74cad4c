//! FUNCTION libraries (Redis 7.0): loading, the per-engine registry, and its DUMP payload.
//!
//! Libraries live in a Lua VM of their own (SCRIPT FLUSH does not touch them; FUNCTION
//! FLUSH starts a new one), built with the same sandbox as EVAL's but with `@user_function`
//! as the chunk name. A library body starts with `#!lua name=<lib>`; it runs once, at
//! load, while the read-only globals point at a load-time API (only `redis.register_function`,
//! `redis.log`, the `redis.LOG_*` constants and `redis.REDIS_VERSION[_NUM]`, as in Redis
//! 7.0) instead of the runtime one; the callbacks it registers see the runtime globals when
//! they run, because Lua closures keep the globals table, not what it points at. A callback
//! is called as `callback(keys, args)` (no `KEYS`/`ARGV` globals). A load running longer
//! than [`LOAD_TIMEOUT`] fails with `FUNCTION LOAD timeout`.
//!
//! The registry is kept as the libraries' source code ([`Library::code`]): that is what
//! FUNCTION DUMP serializes ([`dump_payload`], Redis's format: per library the opcode
//! `RDB_OPCODE_FUNCTION2` and the code as an RDB string, then the RDB version and a CRC-64)
//! and what a later snapshot or a replica would load again.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use mlua::{Function, MultiValue, Table, Value};

use super::shebang::ScriptFlags;
use super::{BusyControl, Engine, GateTurn, LogLevel, RunCtx, ScriptHost, Tick, Vm, convert, note_location};
use crate::protocol::Reply;
use crate::util::crc64::crc64;

/// How long a library's load may run (Redis's `LOAD_TIMEOUT_MS`).
pub const LOAD_TIMEOUT: Duration = Duration::from_millis(500);

/// `RDB_OPCODE_FUNCTION2`: one library in a payload.
pub const RDB_OPCODE_FUNCTION2: u8 = 245;
/// `RDB_OPCODE_FUNCTION_PRE_GA`: the 7.0 release candidates' format, refused.
pub const RDB_OPCODE_FUNCTION_PRE_GA: u8 = 246;
/// The RDB version of Redis 7.0 payloads.
pub const RDB_VERSION: u16 = 10;

/// The function flags, in the order Redis lists them.
const FLAG_NAMES: [&str; 5] = ["no-writes", "allow-oom", "allow-stale", "no-cluster", "allow-cross-slot-keys"];

const NAME_RULES: &str =
    "Library names can only contain letters, numbers, or underscores(_) and must be at least one character long";

/// One registered function.
pub struct FunctionDef {
    pub name: String,
    pub description: Option<Bytes>,
    pub flags: ScriptFlags,
    callback: Function,
    /// The line errors name when the failing frame is gone (a tail call).
    fallback_line: usize,
}

/// One library: its name, its full source (shebang included) and its functions in the
/// order they were registered.
pub struct Library {
    pub name: String,
    pub code: Bytes,
    pub functions: Vec<Rc<FunctionDef>>,
}

/// The flags of a function as Redis names them, in Redis's order.
pub fn flag_names(flags: &ScriptFlags) -> Vec<&'static str> {
    let set = [flags.no_writes, flags.allow_oom, flags.allow_stale, flags.no_cluster, flags.allow_cross_slot_keys];
    FLAG_NAMES.iter().zip(set).filter(|(_, on)| *on).map(|(name, _)| *name).collect()
}

/// Libraries by name and functions by name.
#[derive(Default, Clone)]
struct Libraries {
    libs: BTreeMap<String, Rc<Library>>,
    funcs: HashMap<String, (Rc<FunctionDef>, String)>,
}

impl Libraries {
    fn remove(&mut self, name: &str) -> Option<Rc<Library>> {
        let lib = self.libs.remove(name)?;
        for f in &lib.functions {
            self.funcs.remove(&f.name);
        }
        Some(lib)
    }

    fn insert(&mut self, lib: Rc<Library>) {
        for f in &lib.functions {
            self.funcs.insert(f.name.clone(), (f.clone(), lib.name.clone()));
        }
        self.libs.insert(lib.name.clone(), lib);
    }
}

/// What FUNCTION RESTORE does with the libraries already loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestorePolicy {
    /// Add the payload's libraries; fail if one already exists.
    Append,
    /// Drop every library first.
    Flush,
    /// Replace libraries of the same name.
    Replace,
}

/// The functions VM and what loading needs in it.
struct FnVm {
    vm: Rc<Vm>,
    /// `pcall` of the sandbox: runs a library body, returns (ok, error).
    pcall: Function,
    /// `bind(f, keys, args)`: a function of no arguments calling `f(keys, args)`.
    bind: Function,
    /// The load-time API the globals point at while a library loads.
    load_env: Table,
    /// The functions of the library being loaded (`None` outside a load).
    pending: Rc<RefCell<Option<Vec<Rc<FunctionDef>>>>>,
}

/// The FUNCTION side of an [`Engine`].
pub(super) struct Functions {
    vm: RefCell<Rc<FnVm>>,
    busy: Arc<BusyControl>,
    loading: Rc<Cell<bool>>,
    libs: RefCell<Libraries>,
}

const HELPER: &str = r#"
local where, rt = ...
-- Locals: while a library loads, global lookups go to the load-time API.
local error, tostring, setmetatable, pcall = error, tostring, setmetatable, pcall
local function missing(_, k)
  error(where() .. "Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 0)
end
local function readonly()
  error(where() .. 'Attempt to modify a readonly table', 0)
end
local function api(register)
  local real = {
    register_function = function(...)
      local raise, v = register(...)
      if raise then error(v, 0) end
    end,
    log = rt.log,
    LOG_DEBUG = rt.LOG_DEBUG, LOG_VERBOSE = rt.LOG_VERBOSE, LOG_NOTICE = rt.LOG_NOTICE,
    LOG_WARNING = rt.LOG_WARNING, REDIS_VERSION = rt.REDIS_VERSION, REDIS_VERSION_NUM = rt.REDIS_VERSION_NUM,
  }
  local redis = setmetatable({}, {
    __index = function(t, k)
      local v = real[k]
      if v == nil then missing(t, k) end
      return v
    end,
    __newindex = readonly,
  })
  return setmetatable({ redis = redis }, { __index = missing, __newindex = readonly })
end
local function bind(f, keys, args)
  return function() return (f(keys, args)) end
end
return api, bind, pcall
"#;

/// The host of a library's load: only `redis.log` reaches it.
struct LoadHost;

impl ScriptHost for LoadHost {
    fn call(&self, _args: &crate::protocol::OwnedArgs, _resp: u8) -> super::HostReply {
        super::HostReply::Now(Reply::error(super::host_errors::NOT_ALLOWED))
    }

    fn log(&self, level: LogLevel, message: &[u8]) {
        super::log_to_server(level, message);
    }
}

impl Functions {
    pub(super) fn new() -> Functions {
        let busy = Arc::new(BusyControl::default());
        let loading = Rc::new(Cell::new(false));
        let vm = new_fn_vm(&busy, &loading);
        Functions { vm: RefCell::new(vm), busy, loading, libs: RefCell::new(Libraries::default()) }
    }

    fn current(&self) -> Rc<FnVm> {
        self.vm.borrow().clone()
    }

    /// Runs a library body in the load-time environment; Err is the text after `ERR `.
    fn create(&self, name: &str, code: &[u8], body_offset: usize) -> Result<Library, String> {
        let fvm = self.current();
        let vm = &fvm.vm;
        let chunk = match vm.lua.load(&code[body_offset..]).set_name("@user_function").into_function() {
            Ok(f) => f,
            Err(mlua::Error::SyntaxError { message, .. }) => {
                return Err(format!("Error compiling function: {message}"));
            }
            Err(e) => return Err(format!("Error compiling function: {e}")),
        };
        let Some(meta) = vm.lua.globals().metatable() else {
            return Err("Error registering functions: the globals have no metatable".to_string());
        };
        *fvm.pending.borrow_mut() = Some(Vec::new());
        *vm.shared.run.borrow_mut() = Some(RunCtx { host: Rc::new(LoadHost), resp: 2 });
        let _ = meta.raw_set("__index", &fvm.load_env);
        self.busy.start();
        self.loading.set(true);
        let outcome = fvm.pcall.call::<(bool, Value)>(chunk);
        let killed = self.busy.is_killed();
        self.loading.set(false);
        self.busy.stop();
        let _ = meta.raw_set("__index", &vm.globals);
        *vm.shared.run.borrow_mut() = None;
        let functions = fvm.pending.borrow_mut().take().unwrap_or_default();
        if killed {
            return Err("Error registering functions: ERR FUNCTION LOAD timeout".to_string());
        }
        let err = match outcome {
            Ok((true, _)) => None,
            Ok((false, err)) => Some(err),
            Err(e) => Some(Value::String(vm.lua.create_string(super::error_message(&e)).map_err(|e| e.to_string())?)),
        };
        if let Some(err) = err {
            let text = match err {
                Value::Table(t) => match t.raw_get::<Value>("err") {
                    Ok(Value::String(s)) => s.to_string_lossy(),
                    _ => "ERR unknown error".to_string(),
                },
                Value::String(s) => format!("ERR {}", s.to_string_lossy()),
                other => format!("ERR {}", other.type_name()),
            };
            return Err(format!("Error registering functions: {text}"));
        }
        Ok(Library { name: name.to_string(), code: Bytes::copy_from_slice(code), functions })
    }

    /// FUNCTION LOAD into `libs`: Ok(library name) or the error text after `ERR `.
    fn load_into(&self, libs: &mut Libraries, code: &[u8], replace: bool) -> Result<String, String> {
        let (name, offset) = parse_metadata(code)?;
        if !valid_name(name.as_bytes()) {
            return Err(NAME_RULES.to_string());
        }
        if libs.libs.contains_key(&name) && !replace {
            return Err(format!("Library '{name}' already exists"));
        }
        let lib = self.create(&name, code, offset)?;
        if lib.functions.is_empty() {
            return Err("No functions registered".to_string());
        }
        for f in &lib.functions {
            if let Some((_, owner)) = libs.funcs.get(&f.name)
                && *owner != name
            {
                return Err(format!("Function {} already exists", f.name));
            }
        }
        libs.remove(&name);
        libs.insert(Rc::new(lib));
        Ok(name)
    }
}

fn new_fn_vm(busy: &Arc<BusyControl>, loading: &Rc<Cell<bool>>) -> Rc<FnVm> {
    let (b, l) = (busy.clone(), loading.clone());
    let tick: Tick = Rc::new(RefCell::new(Some(Box::new(move |elapsed: Duration| {
        if l.get() && elapsed >= LOAD_TIMEOUT {
            b.kill();
        }
    }))));
    let vm = Rc::new(Vm::with_chunk(busy.clone(), tick, 1, "user_function"));
    let pending = Rc::new(RefCell::new(None));
    match build_helpers(&vm, &pending) {
        Ok((pcall, bind, load_env)) => Rc::new(FnVm { vm, pcall, bind, load_env, pending }),
        // Only fails if Lua runs out of memory while the server starts a VM.
        Err(e) => panic!("cannot create the Lua functions VM: {e}"),
    }
}

type Pending = Rc<RefCell<Option<Vec<Rc<FunctionDef>>>>>;

fn build_helpers(vm: &Vm, pending: &Pending) -> mlua::Result<(Function, Function, Table)> {
    let lua = &vm.lua;
    let sh = vm.shared.clone();
    let where_ = lua.create_function(move |lua, ()| Ok(note_location(lua, &sh).unwrap_or_default()))?;
    let runtime_redis: Value = vm.globals.raw_get("redis")?;
    let (api, bind, pcall): (Function, Function, Function) =
        lua.load(HELPER).set_name("=tallkv_functions").call((where_, runtime_redis))?;
    let pending = pending.clone();
    let register = lua.create_function(move |lua, args: MultiValue| {
        let fail = |text: &str| Ok((true, Value::Table(convert::error_table(lua, text.as_bytes())?)));
        let mut slot = pending.borrow_mut();
        let Some(registered) = slot.as_mut() else {
            return fail("redis.register_function can only be called on FUNCTION LOAD command");
        };
        let parsed = match args.len() {
            1 => named_args(&args[0]),
            2 => positional_args(&args[0], &args[1]),
            _ => Err("wrong number of arguments to redis.register_function"),
        };
        let (name, callback, description, flags) = match parsed {
            Ok(parts) => parts,
            Err(text) => return fail(text),
        };
        if !valid_name(name.as_bytes()) {
            return fail(NAME_RULES);
        }
        if registered.iter().any(|f| f.name == name) {
            return fail("Function already exists in the library");
        }
        let info = callback.info();
        let fallback_line = match (info.line_defined, info.last_line_defined) {
            (Some(first), Some(last)) if last > first + 1 => last - 1,
            (Some(first), _) => first,
            _ => 1,
        };
        registered.push(Rc::new(FunctionDef { name, description, flags, callback, fallback_line }));
        Ok((false, Value::Nil))
    })?;
    let load_env: Table = api.call(register)?;
    Ok((pcall, bind, load_env))
}

type Registration = (String, Function, Option<Bytes>, ScriptFlags);

/// `lua_isstring` + `lua_tostring`: strings and numbers.
fn lua_string(v: &Value) -> Option<Vec<u8>> {
    match v {
        Value::String(s) => Some(s.as_bytes().to_vec()),
        Value::Number(n) => Some(crate::util::num::format_g(*n, 14).into_bytes()),
        Value::Integer(n) => Some(n.to_string().into_bytes()),
        _ => None,
    }
}

fn positional_args(name: &Value, callback: &Value) -> Result<Registration, &'static str> {
    let Some(name) = lua_string(name) else {
        return Err("first argument to redis.register_function must be a string");
    };
    let Value::Function(callback) = callback else {
        return Err("second argument to redis.register_function must be a function");
    };
    Ok((String::from_utf8_lossy(&name).into_owned(), callback.clone(), None, ScriptFlags::default()))
}

fn named_args(arg: &Value) -> Result<Registration, &'static str> {
    let Value::Table(t) = arg else {
        return Err(
            "calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments).",
        );
    };
    let (mut name, mut callback, mut description, mut flags) = (None, None, None, ScriptFlags::default());
    for pair in t.clone().pairs::<Value, Value>() {
        let Ok((key, value)) = pair else { return Err("unknown argument given to redis.register_function") };
        let Some(key) = lua_string(&key) else {
            return Err("named argument key given to redis.register_function is not a string");
        };
        if key.eq_ignore_ascii_case(b"function_name") {
            let Some(v) = lua_string(&value) else {
                return Err("function_name argument given to redis.register_function must be a string");
            };
            name = Some(String::from_utf8_lossy(&v).into_owned());
        } else if key.eq_ignore_ascii_case(b"description") {
            let Some(v) = lua_string(&value) else {
                return Err("description argument given to redis.register_function must be a string");
            };
            description = Some(Bytes::from(v));
        } else if key.eq_ignore_ascii_case(b"callback") {
            let Value::Function(f) = value else {
                return Err("callback argument given to redis.register_function must be a function");
            };
            callback = Some(f);
        } else if key.eq_ignore_ascii_case(b"flags") {
            let Value::Table(list) = value else {
                return Err("flags argument to redis.register_function must be a table representing function flags");
            };
            flags = read_flags(&list).ok_or("unknown flag given")?;
        } else {
            return Err("unknown argument given to redis.register_function");
        }
    }
    let Some(name) = name else { return Err("redis.register_function must get a function name argument") };
    let Some(callback) = callback else { return Err("redis.register_function must get a callback argument") };
    Ok((name, callback, description, flags))
}

fn read_flags(list: &Table) -> Option<ScriptFlags> {
    let mut flags = ScriptFlags::default();
    for i in 1.. {
        let v: Value = list.raw_get(i).ok()?;
        if v.is_nil() {
            break;
        }
        let flag = lua_string(&v)?;
        match FLAG_NAMES.iter().position(|f| flag.eq_ignore_ascii_case(f.as_bytes()))? {
            0 => flags.no_writes = true,
            1 => flags.allow_oom = true,
            2 => flags.allow_stale = true,
            3 => flags.no_cluster = true,
            _ => flags.allow_cross_slot_keys = true,
        }
    }
    Some(flags)
}

/// Letters, digits and underscores, at least one.
fn valid_name(name: &[u8]) -> bool {
    !name.is_empty() && name.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'_')
}

/// Parses `#!<engine> name=<lib>` (Redis's `functionExtractLibMetaData`): the library name
/// and where the body starts (the newline ending the shebang, so line numbers hold).
fn parse_metadata(code: &[u8]) -> Result<(String, usize), String> {
    if !code.starts_with(b"#!") {
        return Err("Missing library metadata".to_string());
    }
    let Some(end) = code.iter().position(|&b| b == b'\n') else {
        return Err("Invalid library metadata".to_string());
    };
    let parts = match crate::util::splitargs::split_args(&code[..end]) {
        Some(parts) if !parts.is_empty() => parts,
        _ => return Err("Invalid library metadata".to_string()),
    };
    let engine = parts[0].get(2..).unwrap_or_default().to_vec();
    let mut name: Option<Vec<u8>> = None;
    for part in &parts[1..] {
        if part.len() >= 5 && part[..5].eq_ignore_ascii_case(b"name=") {
            if name.is_some() {
                return Err("Invalid metadata value, name argument was given multiple times".to_string());
            }
            name = Some(part[5..].to_vec());
            continue;
        }
        return Err(format!("Invalid metadata value given: {}", String::from_utf8_lossy(part)));
    }
    let Some(name) = name else { return Err("Library name was not given".to_string()) };
    if !valid_name(&name) {
        return Err(NAME_RULES.to_string());
    }
    if !engine.eq_ignore_ascii_case(b"lua") {
        return Err(format!("Engine '{}' not found", String::from_utf8_lossy(&engine)));
    }
    Ok((String::from_utf8_lossy(&name).into_owned(), end))
}

/// A function looked up for FCALL, ready to run.
pub struct Callable {
    pub name: String,
    pub flags: ScriptFlags,
    def: Rc<FunctionDef>,
    fvm: Rc<FnVm>,
}

/// The turn of one function run on its VM (functions of one engine run one at a time).
pub struct Turn(Rc<FnVm>);

impl Drop for Turn {
    fn drop(&mut self) {
        drop(GateTurn(&self.0.vm.gate));
    }
}

fn err_reply(text: String) -> Reply {
    Reply::error(format!("ERR {text}"))
}

impl Engine {
    /// FUNCTION LOAD (with REPLACE or not): the library's name, or the error reply.
    pub fn function_load(&self, code: &[u8], replace: bool) -> Result<String, Reply> {
        let f = &self.functions;
        let mut libs = f.libs.borrow().clone();
        let name = f.load_into(&mut libs, code, replace).map_err(err_reply)?;
        *f.libs.borrow_mut() = libs;
        Ok(name)
    }

    /// FUNCTION DELETE: `ERR Library not found` if there is none by that name.
    pub fn function_delete(&self, name: &[u8]) -> Result<(), Reply> {
        let name = String::from_utf8_lossy(name);
        match self.functions.libs.borrow_mut().remove(&name) {
            Some(_) => Ok(()),
            None => Err(Reply::error("ERR Library not found")),
        }
    }

    /// FUNCTION FLUSH: drops every library and starts a new functions VM.
    pub fn function_flush(&self) {
        let f = &self.functions;
        *f.libs.borrow_mut() = Libraries::default();
        *f.vm.borrow_mut() = new_fn_vm(&f.busy, &f.loading);
    }

    /// The libraries, by name.
    pub fn libraries(&self) -> Vec<Rc<Library>> {
        self.functions.libs.borrow().libs.values().cloned().collect()
    }

    /// (libraries, functions) counts.
    pub fn function_counts(&self) -> (usize, usize) {
        let libs = self.functions.libs.borrow();
        (libs.libs.len(), libs.funcs.len())
    }

    /// FUNCTION DUMP: every library in Redis's payload format.
    pub fn function_dump(&self) -> Vec<u8> {
        let codes: Vec<Bytes> = self.functions.libs.borrow().libs.values().map(|l| l.code.clone()).collect();
        dump_payload(&codes)
    }

    /// FUNCTION RESTORE: loads a payload's libraries (all or none).
    pub fn function_restore(&self, payload: &[u8], policy: RestorePolicy) -> Result<(), Reply> {
        let codes = parse_payload(payload).map_err(err_reply)?;
        let f = &self.functions;
        let mut incoming = Libraries::default();
        for code in &codes {
            f.load_into(&mut incoming, code, false).map_err(err_reply)?;
        }
        let mut libs = match policy {
            RestorePolicy::Flush => Libraries::default(),
            _ => f.libs.borrow().clone(),
        };
        for name in incoming.libs.keys() {
            if libs.libs.contains_key(name) {
                if policy != RestorePolicy::Replace {
                    return Err(err_reply(format!("Library {name} already exists")));
                }
                libs.remove(name);
            }
        }
        for lib in incoming.libs.values() {
            for func in &lib.functions {
                if libs.funcs.contains_key(&func.name) {
                    return Err(err_reply(format!("Function {} already exists", func.name)));
                }
            }
        }
        for lib in incoming.libs.into_values() {
            libs.insert(lib);
        }
        *f.libs.borrow_mut() = libs;
        Ok(())
    }

    /// The function `name`, for FCALL.
    pub fn function(&self, name: &[u8]) -> Option<Callable> {
        let name = std::str::from_utf8(name).ok()?;
        let libs = self.functions.libs.borrow();
        let (def, _) = libs.funcs.get(name)?;
        Some(Callable { name: def.name.clone(), flags: def.flags, def: def.clone(), fvm: self.functions.current() })
    }

    /// Waits for the functions VM to be free (take it before holding shards, so a function
    /// waiting for its turn holds none).
    pub async fn function_turn(&self, callable: &Callable) -> Turn {
        let turn = callable.fvm.vm.gate.acquire().await;
        // The turn is released by `Turn`'s drop instead.
        std::mem::forget(turn);
        Turn(callable.fvm.clone())
    }

    /// Runs a function with its keys and arguments during its turn; the reply for the client.
    pub async fn run_function(
        &self,
        callable: &Callable,
        _turn: &Turn,
        keys: &[&[u8]],
        args: &[&[u8]],
        host: Rc<dyn ScriptHost>,
    ) -> Reply {
        let fvm = &callable.fvm;
        let lua = &fvm.vm.lua;
        let bound = (|| -> mlua::Result<Function> {
            let mut tables = Vec::with_capacity(2);
            for items in [keys, args] {
                let t = lua.create_table_with_capacity(items.len(), 0)?;
                for (i, item) in items.iter().enumerate() {
                    t.raw_set(i + 1, lua.create_string(item)?)?;
                }
                tables.push(t);
            }
            let args_t = tables.pop();
            let keys_t = tables.pop();
            fvm.bind.call((callable.def.callback.clone(), keys_t, args_t))
        })();
        match bound {
            Ok(func) => {
                let (name, line, busy) = (&callable.name, callable.def.fallback_line, &self.functions.busy);
                fvm.vm.run_func(func, None, name, line, host, busy).await
            }
            Err(e) => Reply::error(format!("ERR {e}")),
        }
    }

    /// The busy control of running functions (FUNCTION KILL).
    pub fn function_busy(&self) -> Arc<BusyControl> {
        self.functions.busy.clone()
    }
}

// ---------------------------------------------------------------------------------------
// The DUMP payload.

fn rdb_len(out: &mut Vec<u8>, len: usize) {
    if len < 1 << 6 {
        out.push(len as u8);
    } else if len < 1 << 14 {
        out.push(0x40 | (len >> 8) as u8);
        out.push(len as u8);
    } else if let Ok(len) = u32::try_from(len) {
        out.push(0x80);
        out.extend_from_slice(&len.to_be_bytes());
    } else {
        out.push(0x81);
        out.extend_from_slice(&(len as u64).to_be_bytes());
    }
}

/// The payload of FUNCTION DUMP for these library codes.
pub fn dump_payload(codes: &[Bytes]) -> Vec<u8> {
    let mut out = Vec::new();
    for code in codes {
        out.push(RDB_OPCODE_FUNCTION2);
        rdb_len(&mut out, code.len());
        out.extend_from_slice(code);
    }
    out.extend_from_slice(&RDB_VERSION.to_le_bytes());
    let crc = crc64(0, &out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

const BAD_PAYLOAD: &str = "DUMP payload version or checksum are wrong";
const TRUNCATED: &str = "Failed loading library payload";

struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.data.len()).ok_or(TRUNCATED)?;
        let s = &self.data[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn byte(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }

    /// An RDB length: Ok((len, None)) or an encoded string kind Ok((0, Some(kind))).
    fn len(&mut self) -> Result<(usize, Option<u8>), String> {
        let b = self.byte()?;
        match b >> 6 {
            0 => Ok((usize::from(b & 0x3f), None)),
            1 => Ok(((usize::from(b & 0x3f) << 8) | usize::from(self.byte()?), None)),
            2 if b == 0x80 => {
                let v = self.take(4)?;
                Ok((u32::from_be_bytes([v[0], v[1], v[2], v[3]]) as usize, None))
            }
            2 if b == 0x81 => {
                let v = self.take(8)?;
                let n = u64::from_be_bytes([v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]]);
                Ok((usize::try_from(n).map_err(|_| TRUNCATED)?, None))
            }
            2 => Err(TRUNCATED.to_string()),
            _ => Ok((0, Some(b & 0x3f))),
        }
    }

    fn plain_len(&mut self) -> Result<usize, String> {
        match self.len()? {
            (n, None) => Ok(n),
            _ => Err(TRUNCATED.to_string()),
        }
    }

    /// An RDB string (plain, integer-encoded or LZF-compressed).
    fn string(&mut self) -> Result<Vec<u8>, String> {
        match self.len()? {
            (n, None) => Ok(self.take(n)?.to_vec()),
            (_, Some(0)) => Ok((self.byte()? as i8).to_string().into_bytes()),
            (_, Some(1)) => {
                let v = self.take(2)?;
                Ok(i16::from_le_bytes([v[0], v[1]]).to_string().into_bytes())
            }
            (_, Some(2)) => {
                let v = self.take(4)?;
                Ok(i32::from_le_bytes([v[0], v[1], v[2], v[3]]).to_string().into_bytes())
            }
            (_, Some(3)) => {
                let clen = self.plain_len()?;
                let ulen = self.plain_len()?;
                let compressed = self.take(clen)?;
                crate::util::lzf::decompress(compressed, ulen).ok_or_else(|| TRUNCATED.to_string())
            }
            _ => Err(TRUNCATED.to_string()),
        }
    }
}

/// The library codes of a FUNCTION DUMP payload; Err is the error text after `ERR `.
pub fn parse_payload(payload: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    if payload.len() < 10 {
        return Err(BAD_PAYLOAD.to_string());
    }
    let footer = payload.len() - 10;
    let version = u16::from_le_bytes([payload[footer], payload[footer + 1]]);
    let crc = u64::from_le_bytes(payload[footer + 2..].try_into().map_err(|_| BAD_PAYLOAD)?);
    if version > RDB_VERSION || crc64(0, &payload[..footer + 2]) != crc {
        return Err(BAD_PAYLOAD.to_string());
    }
    let mut reader = Reader { data: &payload[..footer], pos: 0 };
    let mut codes = Vec::new();
    while reader.pos < footer {
        match reader.byte()? {
            RDB_OPCODE_FUNCTION2 => codes.push(reader.string()?),
            RDB_OPCODE_FUNCTION_PRE_GA => return Err("Pre-GA function format not supported".to_string()),
            _ => return Err("given type is not a function".to_string()),
        }
    }
    Ok(codes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc64_matches_redis() {
        assert_eq!(crc64(0, b"123456789"), 0xe9c6_d914_c4b8_d9ca);
        // FUNCTION DUMP of no libraries in Redis 7.0.15.
        assert_eq!(dump_payload(&[]), [0x0a, 0x00, 0x5d, 0x9b, 0x5c, 0x40, 0x0f, 0x7f, 0xa2, 0xda]);
    }

    #[test]
    fn parses_redis_lzf_payload() {
        let hex = "f5c340b841111f23216c7561206e616d653d64756d7065640a72656469732e7265676973746572095f66756e6374696f6e7bc008005f602c102764676574272c2063616c6c6261636b3dc01e0c286b657973292072657475726e2006404c40240128278030401e1f5b315d2920656e642c20666c6167733d7b276e6f2d777269746573277d2c2064056573637269704075003d4035012061403501277de00f9a0328276473608ce00483042c20617267e00d89802da0898027a0920164290a001737e02d286e5170";
        let payload: Vec<u8> =
            (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap()).collect();
        let codes = parse_payload(&payload).unwrap();
        assert_eq!(codes.len(), 1);
        let code = String::from_utf8(codes[0].clone()).unwrap();
        assert!(code.starts_with("#!lua name=dumped\nredis.register_function{function_name='dget'"), "{code}");
        assert!(code.ends_with("return redis.call('set', keys[1], args[1]) end)"), "{code}");
        assert_eq!(code.len(), 273);
        // Round trip through our own (uncompressed) encoding.
        let again = dump_payload(&[Bytes::from(codes[0].clone())]);
        assert_eq!(parse_payload(&again).unwrap(), codes);
        let mut bad = payload.clone();
        bad[3] ^= 1;
        assert_eq!(parse_payload(&bad).unwrap_err(), BAD_PAYLOAD);
    }

    #[test]
    fn metadata_errors() {
        assert_eq!(parse_metadata(b"return 1").unwrap_err(), "Missing library metadata");
        assert_eq!(parse_metadata(b"#!lua name=x").unwrap_err(), "Invalid library metadata");
        assert_eq!(parse_metadata(b"#!py name=x\n").unwrap_err(), "Engine 'py' not found");
        assert_eq!(parse_metadata(b"#!lua foo=1\n").unwrap_err(), "Invalid metadata value given: foo=1");
        assert_eq!(parse_metadata(b"#!lua\n").unwrap_err(), "Library name was not given");
        assert_eq!(parse_metadata(b"#!lua name=a-b\n").unwrap_err(), NAME_RULES);
        assert_eq!(parse_metadata(b"#!LUA NAME=ok_1\nx").unwrap(), ("ok_1".to_string(), 15));
    }
}
