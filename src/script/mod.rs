//! The Lua scripting engine: Redis 7.0's EVAL semantics on a vendored Lua 5.1 (mlua).
//!
//! One [`Engine`] per shard thread (a Lua VM is not `Send`): keep it in a thread-local
//! `Rc<Engine>`. The engine compiles and caches scripts ([`cache`]), parses shebangs
//! ([`shebang`]), sandboxes the globals as Redis does (`sandbox.lua`), provides `redis.*`,
//! the libraries Redis ships (`string`, `table`, `math`, `cjson`, `cmsgpack`, `bit`,
//! `struct`), and converts values both ways ([`convert`]).
//!
//! The server side of `redis.call`/`redis.pcall` is a [`ScriptHost`]. Its answer is a reply
//! at once ([`HostReply::Now`], a command on a shard this thread holds: no allocation, no
//! suspension) or a future ([`HostReply::Later`], a command another shard runs). For a
//! future, the `redis.call` primitive returns a marker and the sandbox yields it up to
//! [`Vm::drive`], which awaits the future and resumes the script with the reply where it
//! was. The script runs in a Lua thread of its own for that, reused from run to run, so a
//! run allocates no thread. The hot path of a run (resuming, `KEYS`/`ARGV`, `redis.call`)
//! is on Lua's C API, in [`raw`].
//!
//! # Using it (for the EVAL/EVALSHA/FCALL wiring)
//! ```ignore
//! let engine = Engine::new();                          // per shard thread
//! let prepared = engine.prepare(ScriptSource::Body(body))?;  // or ::Sha(sha); Err is the reply
//! // check prepared.flags (no_writes for EVAL_RO, allow_oom, no_cluster, ...) here
//! let reply = engine.run_prepared(&prepared, keys, argv, host).await;
//! engine.load(body)          // SCRIPT LOAD -> Ok(sha) or Err(reply)
//! engine.exists(sha)         // SCRIPT EXISTS
//! engine.flush()             // SCRIPT FLUSH: a new VM, an empty cache
//! engine.busy().kill()       // SCRIPT KILL (from any thread: the control is an Arc)
//! ```
//!
//! # Busy scripts
//! Every [`HOOK_INSTRUCTIONS`] Lua instructions a hook checks the engine's [`BusyControl`]:
//! once [`BusyControl::kill`] was called, the script fails with
//! `ERR Script killed by user with SCRIPT KILL...` (and keeps failing: `pcall` cannot catch
//! it). The hook also calls the closure installed with [`Engine::set_tick`] with the time
//! the script has been running, so the caller can publish a "busy" state (to answer other
//! clients with `BUSY`) once `busy-reply-threshold` passes. The hook cannot suspend the
//! script (Lua 5.1 hooks cannot yield), so a CPU-bound script holds its shard's thread
//! until it ends or is killed from another thread through the `Arc<BusyControl>`.

pub mod cache;
pub mod convert;
pub mod function;
mod libs;
mod raw;
pub mod shebang;
#[cfg(test)]
mod tests;

use crate::protocol::{OwnedArgs, Reply};
use bytes::Bytes;
use cache::ScriptCache;
use mlua::{Function, HookTriggers, Lua, LuaOptions, MultiValue, StdLib, Table, Thread, Value, VmState};
use shebang::ScriptFlags;
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Poll, Waker};
use std::time::Duration;

/// The Lua collector's pause: a new cycle starts when the heap reaches this percentage of
/// its live size after the last one.
const GC_PAUSE: i32 = 400;

/// How many Lua instructions run between two checks of the busy hook (Redis's 100000).
pub const HOOK_INSTRUCTIONS: u32 = 100_000;

/// The error a killed script ends with.
pub const KILLED_ERROR: &str = "ERR Script killed by user with SCRIPT KILL...";

/// Error texts the host's `call` should return for commands scripts may not run (Redis's).
pub mod host_errors {
    pub const UNKNOWN_COMMAND: &str = "ERR Unknown Redis command called from script";
    pub const WRONG_ARITY: &str = "ERR Wrong number of args calling Redis command from script";
    pub const NOT_ALLOWED: &str = "ERR This Redis command is not allowed from script";
    pub const WRITE_IN_READ_ONLY: &str = "ERR Write commands are not allowed from read-only scripts.";
    pub const NOSCRIPT: &str = "NOSCRIPT No matching script. Please use EVAL.";
    pub const INVALID_ACL_COMMAND: &str = "ERR Invalid command passed to redis.acl_check_cmd()";
}

/// `redis.log` levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    Debug,
    Verbose,
    Notice,
    Warning,
}

/// Writes a `redis.log` line to the server's log.
pub fn log_to_server(level: LogLevel, message: &[u8]) {
    use crate::server::log::{Level, log};
    let level = match level {
        LogLevel::Debug => Level::Debug,
        LogLevel::Verbose => Level::Verbose,
        LogLevel::Notice => Level::Notice,
        LogLevel::Warning => Level::Warning,
    };
    log(level, &String::from_utf8_lossy(message));
}

/// A host's answer to one `redis.call`.
pub enum HostReply {
    /// The reply, computed at once.
    Now(Reply),
    /// The reply once the future completes; the script is suspended meanwhile.
    Later(Pin<Box<dyn Future<Output = Reply>>>),
}

/// The server side of a running script, implemented by the command dispatch.
pub trait ScriptHost {
    /// Runs one command from `redis.call`/`redis.pcall` (argument 0 is the command name) and
    /// returns its reply; refusals are [`Reply::Error`] with Redis's texts ([`host_errors`]).
    /// `resp` is the protocol the script chose with `redis.setresp` (2 or 3); the engine
    /// already converts the reply accordingly, so most hosts can ignore it.
    fn call(&self, args: &OwnedArgs, resp: u8) -> HostReply;

    /// `redis.log(level, ...)`: the message is the arguments joined by spaces.
    fn log(&self, _level: LogLevel, _message: &[u8]) {}

    /// `redis.set_repl(flags)` (0 none, 1 AOF, 2 replicas, 3 both).
    fn set_repl(&self, _flags: u8) {}

    /// `redis.acl_check_cmd(cmd, args...)`: whether the user may run the command. An unknown
    /// command is `Err(host_errors::INVALID_ACL_COMMAND)` (any full error text).
    fn acl_check_cmd(&self, _args: &[Bytes]) -> Result<bool, String> {
        Ok(true)
    }
}

/// What to run: a script body (EVAL) or the SHA1 of a cached one (EVALSHA).
#[derive(Debug, Clone, Copy)]
pub enum ScriptSource<'a> {
    Body(&'a [u8]),
    Sha(&'a [u8]),
}

/// A compiled script ready to run, with the flags of its shebang.
#[derive(Clone)]
pub struct Prepared {
    /// Lowercase hex SHA1 of the body.
    pub sha: Rc<str>,
    pub flags: ScriptFlags,
    func: Function,
    vm: Rc<Vm>,
    /// The last non-blank line of the body (where errors of a final tail call are placed).
    last_line: usize,
}

impl std::fmt::Debug for Prepared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prepared").field("sha", &self.sha).field("flags", &self.flags).finish()
    }
}

/// Busy-script state shared with other threads: SCRIPT KILL sets the kill flag.
#[derive(Debug, Default)]
pub struct BusyControl {
    kill: AtomicBool,
    running: AtomicBool,
    started_ms: AtomicU64,
}

impl BusyControl {
    /// Asks the running script to stop; false when no script is running.
    pub fn kill(&self) -> bool {
        if !self.running.load(Ordering::Acquire) {
            return false;
        }
        self.kill.store(true, Ordering::Release);
        true
    }

    /// Whether a script is running.
    pub fn is_running(&self) -> bool {
        self.running.load(Ordering::Acquire)
    }

    /// Whether the running script was asked to stop.
    pub fn is_killed(&self) -> bool {
        self.kill.load(Ordering::Acquire)
    }

    /// How long the running script has been running.
    pub fn running_for(&self) -> Option<Duration> {
        if !self.is_running() {
            return None;
        }
        let started = self.started_ms.load(Ordering::Acquire);
        Some(Duration::from_millis((crate::util::now_ms().max(0) as u64).saturating_sub(started)))
    }

    fn start(&self) {
        self.kill.store(false, Ordering::Release);
        self.started_ms.store(crate::util::now_ms().max(0) as u64, Ordering::Release);
        self.running.store(true, Ordering::Release);
    }

    fn stop(&self) {
        self.running.store(false, Ordering::Release);
        self.kill.store(false, Ordering::Release);
    }
}

type Tick = Rc<RefCell<Option<Box<dyn FnMut(Duration)>>>>;

/// The scripting engine of one shard thread.
pub struct Engine {
    vm: RefCell<Rc<Vm>>,
    busy: Arc<BusyControl>,
    tick: Tick,
    eval_capacity: usize,
    /// FUNCTION libraries: a VM of their own (SCRIPT FLUSH does not touch them).
    functions: function::Functions,
}

impl Default for Engine {
    fn default() -> Self {
        Engine::new()
    }
}

impl Engine {
    /// A new engine with a fresh VM.
    pub fn new() -> Engine {
        Engine::with_eval_capacity(cache::EVAL_SCRIPTS_MAX)
    }

    /// A new engine keeping at most `capacity` EVAL-only scripts.
    pub fn with_eval_capacity(capacity: usize) -> Engine {
        let busy = Arc::new(BusyControl::default());
        let tick: Tick = Rc::new(RefCell::new(None));
        let vm = Vm::new(busy.clone(), tick.clone(), capacity);
        let functions = function::Functions::new();
        Engine { vm: RefCell::new(Rc::new(vm)), busy, tick, eval_capacity: capacity, functions }
    }

    /// The busy-script control (SCRIPT KILL, "is a script running and for how long").
    pub fn busy(&self) -> Arc<BusyControl> {
        self.busy.clone()
    }

    /// Installs (or removes) the closure the busy hook calls every [`HOOK_INSTRUCTIONS`]
    /// instructions with the time the running script has been running.
    pub fn set_tick(&self, tick: Option<Box<dyn FnMut(Duration)>>) {
        *self.tick.borrow_mut() = tick;
    }

    fn current(&self) -> Rc<Vm> {
        self.vm.borrow().clone()
    }

    /// Compiles (or finds in the cache) the script to run. `Err` is the reply to send:
    /// `NOSCRIPT ...` for an unknown SHA, a shebang error, or a compile error.
    pub fn prepare(&self, source: ScriptSource<'_>) -> Result<Prepared, Reply> {
        let vm = self.current();
        let body = match source {
            ScriptSource::Body(body) => body,
            ScriptSource::Sha(sha) => {
                let mut lower = [0u8; 40];
                let sha = (sha.len() == lower.len())
                    .then(|| {
                        for (l, b) in lower.iter_mut().zip(sha) {
                            *l = b.to_ascii_lowercase();
                        }
                        std::str::from_utf8(&lower).ok()
                    })
                    .flatten();
                return match sha.and_then(|sha| vm.cache.borrow_mut().get(sha).map(|c| c.prepared(&vm))) {
                    Some(prepared) => Ok(prepared),
                    None => Err(Reply::error(host_errors::NOSCRIPT)),
                };
            }
        };
        let sha = sha1_hex(body);
        if let Some(compiled) = vm.cache.borrow_mut().get(&sha) {
            return Ok(compiled.prepared(&vm));
        }
        let compiled = vm.compile(&sha, body)?;
        let prepared = compiled.prepared(&vm);
        let evicted = vm.cache.borrow_mut().insert(sha, compiled, body.len(), false);
        for old in evicted {
            let _ = vm.lua.unset_named_registry_value(&format!("f_{old}"));
        }
        Ok(prepared)
    }

    /// SCRIPT LOAD: compiles and pins the script; returns its SHA1.
    pub fn load(&self, body: &[u8]) -> Result<String, Reply> {
        let vm = self.current();
        let sha = sha1_hex(body);
        if vm.cache.borrow_mut().pin(&sha) {
            return Ok(sha);
        }
        let compiled = vm.compile(&sha, body)?;
        vm.cache.borrow_mut().insert(sha.clone(), compiled, body.len(), true);
        Ok(sha)
    }

    /// The text of the cached script `sha` (case-insensitive), if this engine has it.
    pub fn body(&self, sha: &[u8]) -> Option<Vec<u8>> {
        let sha = String::from_utf8_lossy(sha).to_ascii_lowercase();
        self.current().cache.borrow().peek(&sha).map(|compiled| compiled.body.to_vec())
    }

    /// SCRIPT EXISTS for one SHA (case-insensitive).
    pub fn exists(&self, sha: &[u8]) -> bool {
        let sha = String::from_utf8_lossy(sha).to_ascii_lowercase();
        self.current().cache.borrow().contains(&sha)
    }

    /// SCRIPT FLUSH: drops every script and starts a new VM.
    pub fn flush(&self) {
        let vm = Vm::new(self.busy.clone(), self.tick.clone(), self.eval_capacity);
        *self.vm.borrow_mut() = Rc::new(vm);
    }

    /// Number of cached scripts and the total size of their bodies.
    pub fn cache_stats(&self) -> (usize, usize) {
        let vm = self.current();
        let cache = vm.cache.borrow();
        (cache.len(), cache.body_bytes())
    }

    /// Memory used by the Lua VM, in bytes (`used_memory_lua`).
    pub fn vm_memory(&self) -> usize {
        self.current().lua.used_memory()
    }

    /// EVAL/EVALSHA in one step: [`Engine::prepare`] then [`Engine::run_prepared`].
    pub async fn run(
        &self,
        source: ScriptSource<'_>,
        keys: &[&[u8]],
        argv: &[&[u8]],
        host: Rc<dyn ScriptHost>,
    ) -> Reply {
        match self.prepare(source) {
            Ok(prepared) => self.run_prepared(&prepared, keys, argv, host).await,
            Err(reply) => reply,
        }
    }

    /// Waits for the script VM's turn (scripts of one engine run one at a time). Take it
    /// before holding shards, so a script waiting for its turn holds nothing.
    pub async fn script_turn(&self, prepared: &Prepared) -> ScriptTurn {
        let turn = prepared.vm.gate.acquire().await;
        // Released by `ScriptTurn`'s drop instead.
        std::mem::forget(turn);
        ScriptTurn(prepared.vm.clone())
    }

    /// Runs a prepared script during its turn ([`Engine::script_turn`]).
    pub async fn run_in_turn(
        &self,
        prepared: &Prepared,
        _turn: &ScriptTurn,
        keys: &[&[u8]],
        argv: &[&[u8]],
        host: Rc<dyn ScriptHost>,
    ) -> Reply {
        prepared.vm.run(prepared, keys, argv, host, &self.busy).await
    }

    /// Runs a prepared script with `KEYS` and `ARGV`; returns the reply for the client.
    /// Scripts of one engine run one at a time (a second one waits for the first to end).
    pub async fn run_prepared(
        &self,
        prepared: &Prepared,
        keys: &[&[u8]],
        argv: &[&[u8]],
        host: Rc<dyn ScriptHost>,
    ) -> Reply {
        let vm = prepared.vm.clone();
        let _turn = vm.gate.acquire().await;
        vm.run(prepared, keys, argv, host, &self.busy).await
    }
}

/// Lowercase hex SHA1 of `data`.
pub fn sha1_hex(data: &[u8]) -> String {
    sha1_smol::Sha1::from(data).digest().to_string()
}

/// Per-run state the Rust primitives of the sandbox read.
pub(crate) struct Shared {
    run: RefCell<Option<RunCtx>>,
    /// The `redis.call` whose reply the suspended script waits for.
    waiting: RefCell<Option<Waiting>>,
    /// The arguments of the running `redis.call` (a buffer reused from call to call).
    call_args: RefCell<OwnedArgs>,
    /// A reply the `redis.call` primitive left for `P.finish` to convert: (reply, raise, resp).
    finishing: RefCell<Option<(Reply, bool, u8)>>,
    /// Where the last error raised by a `redis.*` primitive was raised: (source, line).
    location: RefCell<Option<(String, usize)>>,
    kill_raised: Cell<bool>,
    busy: Arc<BusyControl>,
    pub(crate) rand: Cell<u64>,
}

struct RunCtx {
    host: Rc<dyn ScriptHost>,
    resp: u8,
}

/// A `redis.call` waiting for a [`HostReply::Later`].
struct Waiting {
    reply: Pin<Box<dyn Future<Output = Reply>>>,
    /// Whether an error reply raises (`redis.call`) rather than returns (`redis.pcall`).
    raise: bool,
    /// Where the call was made (source, line), noted before suspending when it may raise.
    location: Option<(String, usize)>,
}

/// What the `redis.call` primitive returns when the reply must be waited for: the sandbox
/// yields it up to [`Vm::drive`]. Only its address matters.
static PENDING_MARK: u8 = 0;

fn pending_marker() -> Value {
    raw::marker(&PENDING_MARK)
}
struct Compiled {
    sha: Rc<str>,
    func: Function,
    flags: ScriptFlags,
    /// The script's text, so another thread can compile it too (EVALSHA elsewhere).
    body: Rc<[u8]>,
    /// The last non-blank line of the body.
    last_line: usize,
}

impl Compiled {
    /// The script ready to run in `vm`.
    fn prepared(&self, vm: &Rc<Vm>) -> Prepared {
        Prepared {
            sha: self.sha.clone(),
            flags: self.flags,
            func: self.func.clone(),
            vm: vm.clone(),
            last_line: self.last_line,
        }
    }
}

struct Vm {
    lua: Lua,
    /// What the driver sets before each run (see [`raw::start`]).
    refs: raw::Refs,
    /// A finished script thread kept for the next run.
    spare_script: RefCell<Option<Thread>>,
    globals: Table,
    cache: RefCell<ScriptCache<Compiled>>,
    shared: Rc<Shared>,
    gate: Gate,
    /// The chunk name of user code without its `@` (`user_script`, `user_function`).
    chunk: &'static str,
}

const SANDBOX: &str = include_str!("sandbox.lua");

impl Vm {
    fn new(busy: Arc<BusyControl>, tick: Tick, capacity: usize) -> Vm {
        Vm::with_chunk(busy, tick, capacity, "user_script")
    }

    fn with_chunk(busy: Arc<BusyControl>, tick: Tick, capacity: usize, chunk: &'static str) -> Vm {
        let shared = Rc::new(Shared {
            run: RefCell::new(None),
            waiting: RefCell::new(None),
            call_args: RefCell::new(OwnedArgs::default()),
            finishing: RefCell::new(None),
            location: RefCell::new(None),
            kill_raised: Cell::new(false),
            busy,
            rand: Cell::new(libs::RAND48_SEED),
        });
        // Building the sandbox only fails if Lua runs out of memory at startup.
        let (lua, refs, globals) = match build(&shared, tick) {
            Ok(parts) => parts,
            Err(e) => panic!("cannot create the Lua scripting VM: {e}"),
        };
        Vm {
            lua,
            refs,
            spare_script: RefCell::new(None),
            globals,
            cache: RefCell::new(ScriptCache::with_capacity(capacity)),
            shared,
            gate: Gate::default(),
            chunk,
        }
    }

    fn compile(&self, sha: &str, body: &[u8]) -> Result<Compiled, Reply> {
        let shebang = shebang::parse(body).map_err(Reply::error)?;
        let code = &body[shebang.len..];
        match self.lua.load(code).set_name("@user_script").into_function() {
            Ok(func) => {
                // Like Redis, the compiled function is registered as `f_<sha>`.
                let _ = self.lua.set_named_registry_value(&format!("f_{sha}"), &func);
                let last_line = body
                    .split(|&b| b == b'\n')
                    .enumerate()
                    .filter(|(_, line)| line.iter().any(|b| !b.is_ascii_whitespace()))
                    .last()
                    .map_or(1, |(i, _)| i + 1);
                Ok(Compiled { sha: Rc::from(sha), func, flags: shebang.flags, body: Rc::from(body), last_line })
            }
            Err(mlua::Error::SyntaxError { message, .. }) => {
                Err(Reply::error(format!("ERR Error compiling script (new function): {message}")))
            }
            Err(e) => Err(Reply::error(format!("ERR Error compiling script (new function): {e}"))),
        }
    }

    async fn run(
        &self,
        prepared: &Prepared,
        keys: &[&[u8]],
        argv: &[&[u8]],
        host: Rc<dyn ScriptHost>,
        busy: &BusyControl,
    ) -> Reply {
        let inputs = Some(raw::Inputs { keys, argv });
        self.run_func(prepared.func.clone(), inputs, &prepared.sha, prepared.last_line, host, busy).await
    }

    /// Runs `func` (no arguments) as a script named `name` (its SHA, or a function's name);
    /// `fallback_line` is the line errors name when the failing frame is gone.
    async fn run_func(
        &self,
        func: Function,
        inputs: Option<raw::Inputs<'_>>,
        name: &str,
        fallback_line: usize,
        host: Rc<dyn ScriptHost>,
        busy: &BusyControl,
    ) -> Reply {
        *self.shared.run.borrow_mut() = Some(RunCtx { host, resp: 2 });
        *self.shared.location.borrow_mut() = None;
        self.shared.kill_raised.set(false);
        busy.start();
        // Ends the run even if this future is dropped while the script is suspended.
        let _end = RunEnd { shared: &self.shared, busy };
        let outcome = self.drive(func, inputs).await;
        let resp = self.shared.run.borrow().as_ref().map_or(2, |r| r.resp);
        match outcome {
            Ok(raw::Resumed::Replied(reply)) => reply,
            Ok(raw::Resumed::Returned(value)) => convert::lua_to_reply(value, resp),
            Ok(raw::Resumed::Raised(err)) => self.error_reply(name, err, fallback_line),
            Ok(raw::Resumed::Yielded) => Reply::error("ERR the script is still running"),
            Err(e) => self.error_reply(name, Value::Error(Box::new(e)), fallback_line),
        }
    }

    /// Runs `func` in a thread of its own, with `KEYS` and `ARGV` from `inputs` if given,
    /// until it ends, awaiting the replies it waits for: how it ended (returned or raised;
    /// never `Yielded`).
    async fn drive(&self, func: Function, inputs: Option<raw::Inputs<'_>>) -> mlua::Result<raw::Resumed> {
        let script = self.thread_for(&self.spare_script, func)?;
        let mut stopped = raw::start(&self.lua, &script, &self.refs, inputs)?;
        loop {
            match stopped {
                raw::Resumed::Yielded => {}
                raw::Resumed::Raised(_) => return Ok(stopped),
                ended => {
                    *self.spare_script.borrow_mut() = Some(script);
                    return Ok(ended);
                }
            }
            // The script yields only for a redis.call waiting for its reply.
            let Some(waiting) = self.shared.waiting.borrow_mut().take() else {
                return Err(mlua::Error::runtime("attempt to yield across metamethod/C-call boundary"));
            };
            let reply = waiting.reply.await;
            let resp = self.shared.run.borrow().as_ref().map_or(2, |r| r.resp);
            let location = waiting.location;
            let result = finish_call(&self.lua, &self.shared, &reply, resp, waiting.raise, || location);
            let resumed = match result {
                Ok(values) => values,
                // Killed while it waited: raised where the script called.
                Err(_) => (Value::Boolean(true), Value::String(self.lua.create_string(KILLED_ERROR)?), false),
            };
            stopped = raw::resume(&self.lua, &script, resumed)?;
        }
    }

    /// A thread set to run `func`: the spare one if there is one, else a new one.
    fn thread_for(&self, spare: &RefCell<Option<Thread>>, func: Function) -> mlua::Result<Thread> {
        if let Some(thread) = spare.borrow_mut().take()
            && thread.reset(func.clone()).is_ok()
        {
            return Ok(thread);
        }
        self.lua.create_thread(func)
    }

    /// The reply for a script that failed with `err`, in Redis 7.0's format:
    /// `<message> script: <sha>, on @user_script:<line>.`
    fn error_reply(&self, sha: &str, err: Value, fallback_line: usize) -> Reply {
        let user = format!("@{}", self.chunk);
        let mut location = self.shared.location.borrow_mut().take();
        let msg: Vec<u8> = if self.shared.kill_raised.get() {
            KILLED_ERROR.as_bytes().to_vec()
        } else {
            match &err {
                Value::Table(t) => match t.raw_get::<Value>("err") {
                    Ok(Value::String(s)) => s.as_bytes().to_vec(),
                    _ => b"ERR unknown error".to_vec(),
                },
                Value::String(s) => {
                    let s = s.as_bytes().to_vec();
                    if let Some(line) = prefix_line(&s, self.chunk) {
                        location = Some((user.clone(), line));
                    }
                    [b"ERR ".as_slice(), &s].concat()
                }
                Value::Number(n) => format!("ERR {}", crate::util::num::format_g(*n, 14)).into_bytes(),
                Value::Integer(n) => format!("ERR {n}").into_bytes(),
                Value::Nil => b"ERR nil".to_vec(),
                Value::Boolean(b) => format!("ERR {b}").into_bytes(),
                Value::Error(e) => {
                    let msg = error_message(e);
                    if location.is_none()
                        && let Some(line) = prefix_line(msg.as_bytes(), self.chunk)
                    {
                        location = Some((user.clone(), line));
                    }
                    format!("ERR {msg}").into_bytes()
                }
                other => format!("ERR {}", other.type_name()).into_bytes(),
            }
        };
        let mut text = msg;
        // A script that tail-called the failing function (`return redis.call(...)`) has no
        // frame left to tell the line: Lua 5.1 replaced it. The last line of the body is
        // where such a final `return` usually is.
        let location = location.or(Some((user, fallback_line)));
        if let Some((source, line)) = location {
            text.extend_from_slice(format!(" script: {sha}, on {source}:{line}.").as_bytes());
        }
        while matches!(text.last(), Some(b'\r' | b'\n')) {
            text.pop();
        }
        for b in &mut text {
            if *b == b'\r' || *b == b'\n' {
                *b = b' ';
            }
        }
        Reply::Error(Bytes::from(text))
    }
}

/// The innermost message of an mlua error (callback wrappers removed).
fn error_message(e: &mlua::Error) -> String {
    match e {
        mlua::Error::CallbackError { cause, .. } => error_message(cause),
        mlua::Error::RuntimeError(msg) => msg.clone(),
        other => other.to_string(),
    }
}

/// The line of a `user_script:N: ...` message (`chunk` is `user_script` or `user_function`).
fn prefix_line(msg: &[u8], chunk: &str) -> Option<usize> {
    let rest = msg.strip_prefix(chunk.as_bytes())?.strip_prefix(b":")?;
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 || rest.get(digits) != Some(&b':') {
        return None;
    }
    std::str::from_utf8(&rest[..digits]).ok()?.parse().ok()
}

/// The nearest frame of user code (not C, not an internal `=` chunk): (source, short source, line).
fn user_frame(lua: &Lua) -> Option<(String, String, usize)> {
    for level in 1..64 {
        let frame = lua.inspect_stack(level, |d| {
            let s = d.source();
            let source = s.source.as_deref().unwrap_or("").to_string();
            let short = s.short_src.as_deref().unwrap_or("").to_string();
            (s.what, source, short, d.current_line())
        })?;
        let (what, source, short, line) = frame;
        if what == "C" || source.starts_with('=') {
            continue;
        }
        if let Some(line) = line {
            return Some((source, short, line));
        }
    }
    None
}

/// Where the running user code is: (source, line) of [`user_frame`].
fn call_site(lua: &Lua) -> Option<(String, usize)> {
    user_frame(lua).map(|(source, _, line)| (source, line))
}

pub(crate) fn note_location(lua: &Lua, shared: &Shared) -> Option<String> {
    let (source, short, line) = user_frame(lua)?;
    *shared.location.borrow_mut() = Some((source, line));
    Some(format!("{short}:{line}: "))
}

/// Builds a sandboxed VM: (lua, what the driver sets before each run, the table behind the
/// read-only globals).
fn build(shared: &Rc<Shared>, tick: Tick) -> mlua::Result<(Lua, raw::Refs, Table)> {
    let lua = Lua::new_with(StdLib::TABLE | StdLib::STRING | StdLib::MATH, LuaOptions::new())?;
    // A script run leaves a little garbage (key strings, replies); collecting only once the
    // heap is 4x its live size (Lua's default: 2x) halves the collector's share of a short
    // script's CPU, at a cost of a few hundred KB per VM.
    lua.gc_set_mode(mlua::state::GcMode::Incremental(mlua::state::GcIncParams::default().pause(GC_PAUSE)));
    lua.set_app_data(shared.clone());
    let p = lua.create_table()?;
    p.raw_set("pending", pending_marker())?;
    {
        let sh = shared.clone();
        p.raw_set("where", lua.create_function(move |lua, ()| Ok(note_location(lua, &sh).unwrap_or_default()))?)?;
        let sh = shared.clone();
        p.raw_set(
            "note",
            lua.create_function(move |lua, ()| {
                note_location(lua, &sh);
                Ok(())
            })?,
        )?;
        let sh = shared.clone();
        p.raw_set(
            "clear_where",
            lua.create_function(move |_, ()| {
                *sh.location.borrow_mut() = None;
                Ok(())
            })?,
        )?;
        let sh = shared.clone();
        p.raw_set("is_killed", lua.create_function(move |_, ()| Ok(sh.busy.is_killed()))?)?;
    }
    p.raw_set("call", raw::call_primitive(&lua, shared)?)?;
    p.raw_set("slow", raw::marker(&raw::SLOW))?;
    p.raw_set("finish_mark", raw::marker(&raw::FINISH))?;
    p.raw_set("bad_call", bad_call(&lua, shared)?)?;
    {
        let sh = shared.clone();
        p.raw_set(
            "finish",
            lua.create_function(move |lua, ()| {
                let Some((reply, raise, resp)) = sh.finishing.borrow_mut().take() else {
                    return Err(mlua::Error::runtime("ERR no reply to finish"));
                };
                finish_call(lua, &sh, &reply, resp, raise, || call_site(lua))
            })?,
        )?;
        let sh = shared.clone();
        p.raw_set(
            "locate",
            lua.create_function(move |lua, ()| {
                if let Some(waiting) = sh.waiting.borrow_mut().as_mut()
                    && waiting.raise
                    && waiting.location.is_none()
                {
                    waiting.location = call_site(lua);
                }
                Ok(())
            })?,
        )?;
    }
    // A Rust error caught by the sandbox's pcall becomes its message, as a C error would be.
    p.raw_set(
        "error_value",
        lua.create_function(|lua, v: Value| match v {
            Value::Error(e) => Ok(Value::String(lua.create_string(error_message(&e))?)),
            other => Ok(other),
        })?,
    )?;
    p.raw_set(
        "error_text",
        lua.create_function(|lua, s: mlua::LuaString| lua.create_string(convert::error_text(&s.as_bytes())))?,
    )?;
    p.raw_set("sha1hex", lua.create_function(|_, s: mlua::LuaString| Ok(sha1_hex(&s.as_bytes())))?)?;
    {
        let sh = shared.clone();
        p.raw_set(
            "log",
            lua.create_function(move |_, args: MultiValue| {
                let mut it = args.into_iter();
                let level = match it.next() {
                    Some(Value::Number(n)) if n >= 3.0 => LogLevel::Warning,
                    Some(Value::Number(n)) if n >= 2.0 => LogLevel::Notice,
                    Some(Value::Number(n)) if n >= 1.0 => LogLevel::Verbose,
                    Some(Value::Integer(3)) => LogLevel::Warning,
                    Some(Value::Integer(2)) => LogLevel::Notice,
                    Some(Value::Integer(1)) => LogLevel::Verbose,
                    _ => LogLevel::Debug,
                };
                let mut msg = Vec::new();
                let mut first = true;
                for v in it {
                    let piece = match &v {
                        Value::String(s) => s.as_bytes().to_vec(),
                        Value::Number(n) => crate::util::num::format_g(*n, 14).into_bytes(),
                        Value::Integer(n) => n.to_string().into_bytes(),
                        _ => continue,
                    };
                    if !first {
                        msg.push(b' ');
                    }
                    first = false;
                    msg.extend_from_slice(&piece);
                }
                let host = sh.run.borrow().as_ref().map(|r| r.host.clone());
                if let Some(host) = host {
                    host.log(level, &msg);
                }
                Ok(())
            })?,
        )?;
        let sh = shared.clone();
        p.raw_set(
            "setresp",
            lua.create_function(move |_, v: f64| {
                if let Some(run) = sh.run.borrow_mut().as_mut() {
                    run.resp = if v == 3.0 { 3 } else { 2 };
                }
                Ok(())
            })?,
        )?;
        let sh = shared.clone();
        p.raw_set(
            "set_repl",
            lua.create_function(move |_, v: f64| {
                let host = sh.run.borrow().as_ref().map(|r| r.host.clone());
                if let Some(host) = host {
                    host.set_repl(v as u8);
                }
                Ok(())
            })?,
        )?;
        let sh = shared.clone();
        p.raw_set(
            "acl_check_cmd",
            lua.create_function(move |lua, args: MultiValue| {
                let mut argv = OwnedArgs::default();
                if let Some(table) = command_args(lua, args, &mut argv)? {
                    note_location(lua, &sh);
                    return Ok((true, Value::Table(table)));
                }
                let host = sh.run.borrow().as_ref().map(|r| r.host.clone());
                let argv: Vec<Bytes> = argv.view().iter().map(Bytes::copy_from_slice).collect();
                let verdict = host.map_or(Ok(true), |h| h.acl_check_cmd(&argv));
                match verdict {
                    Ok(allowed) => Ok((false, Value::Boolean(allowed))),
                    Err(text) => {
                        note_location(lua, &sh);
                        let t = lua.create_table()?;
                        t.raw_set("err", lua.create_string(&text)?)?;
                        Ok((true, Value::Table(t)))
                    }
                }
            })?,
        )?;
    }
    let version = crate::cmd::connection::REDIS_VERSION;
    p.raw_set("version", version)?;
    p.raw_set("version_num", version_num(version))?;
    p.raw_set("libs", libs::register(&lua, shared)?)?;
    p.raw_set("cjson_new", lua.create_function(|lua, ()| libs::cjson::module(lua))?)?;

    let (globals, run_state): (Table, Table) =
        lua.load(SANDBOX).set_name("=tallkv_sandbox").call((lua.globals(), p))?;

    let sh = shared.clone();
    lua.set_global_hook(HookTriggers::new().every_nth_instruction(HOOK_INSTRUCTIONS), move |lua, _| {
        if sh.busy.is_killed() {
            if !sh.kill_raised.get() {
                note_location(lua, &sh);
            }
            sh.kill_raised.set(true);
            return Err(mlua::Error::runtime(KILLED_ERROR));
        }
        if let Some(elapsed) = sh.busy.running_for()
            && let Ok(mut tick) = tick.try_borrow_mut()
            && let Some(tick) = tick.as_mut()
        {
            tick(elapsed);
        }
        Ok(VmState::Continue)
    })?;
    let refs = raw::Refs::new(&lua, &globals, &run_state)?;
    Ok((lua, refs, globals))
}

/// `7.2.0` as Redis's `REDIS_VERSION_NUM` (0x070200).
fn version_num(version: &str) -> i64 {
    let mut parts = version.split('.').map(|p| p.parse::<i64>().unwrap_or(0));
    let (a, b, c) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    (a << 16) | (b << 8) | c
}

/// The arguments of redis.call as command arguments, or the error table Redis raises.
/// Fills `argv` (emptied first) with the arguments of redis.call; `Some` is the error table
/// Redis raises instead.
fn command_args(lua: &Lua, args: MultiValue, argv: &mut OwnedArgs) -> mlua::Result<Option<Table>> {
    argv.clear();
    if args.is_empty() {
        return Ok(Some(convert::error_table(lua, b"Please specify at least one argument for this redis lib call")?));
    }
    for v in args {
        match v {
            Value::String(s) => argv.push(&s.as_bytes()),
            Value::Number(n) => convert::push_number_arg(argv, n),
            Value::Integer(n) => convert::push_number_arg(argv, n as f64),
            _ => {
                return Ok(Some(convert::error_table(
                    lua,
                    b"Lua redis lib command arguments must be strings or integers",
                )?));
            }
        }
    }
    Ok(None)
}

/// What redis.call answers when its primitive ran nothing ([`raw`]'s slow marker): the
/// error for arguments that are missing or of the wrong type, or for a call outside a
/// script, as `(raise_now, error table)`.
fn bad_call(lua: &Lua, shared: &Rc<Shared>) -> mlua::Result<Function> {
    let shared = shared.clone();
    lua.create_function(move |lua: &Lua, args: MultiValue| {
        let mut args = args;
        let raise = matches!(args.pop_front(), Some(Value::Boolean(true)));
        let table = match command_args(lua, args, &mut OwnedArgs::default())? {
            Some(table) => {
                if raise {
                    note_location(lua, &shared);
                }
                table
            }
            None => convert::error_table(lua, b"redis.call called outside a script")?,
        };
        Ok((raise, table))
    })
}

/// A command's reply as redis.call's `(raise_now, value, status)`: a status reply comes as
/// its text with `status` set, and the sandbox makes the `{ok = text}` table (cheaper in
/// Lua than through the API). `location` tells where the call was made, asked only if an
/// error will be raised. Err if the script was killed meanwhile.
fn finish_call(
    lua: &Lua,
    shared: &Shared,
    reply: &Reply,
    resp: u8,
    raise: bool,
    location: impl FnOnce() -> Option<(String, usize)>,
) -> mlua::Result<(Value, Value, bool)> {
    // Killed while it waited for the reply (FUNCTION KILL from another thread).
    if shared.busy.is_killed() {
        if !shared.kill_raised.get() {
            note_location(lua, shared);
        }
        shared.kill_raised.set(true);
        return Err(mlua::Error::runtime(KILLED_ERROR));
    }
    let (value, status) = match reply {
        Reply::Ok => (Value::String(lua.create_string("OK")?), true),
        Reply::Simple(text) => (Value::String(lua.create_string(text)?), true),
        _ => (convert::reply_to_lua(lua, reply, resp)?, false),
    };
    let failed = reply.is_error();
    if raise
        && failed
        && let Some(location) = location()
    {
        *shared.location.borrow_mut() = Some(location);
    }
    Ok((Value::Boolean(raise && failed), value, status))
}

/// Clears the per-run state when a run ends (or its future is dropped).
struct RunEnd<'a> {
    shared: &'a Shared,
    busy: &'a BusyControl,
}

impl Drop for RunEnd<'_> {
    fn drop(&mut self) {
        self.busy.stop();
        *self.shared.run.borrow_mut() = None;
        self.shared.waiting.borrow_mut().take();
    }
}

/// Runs scripts of one VM one at a time.
#[derive(Default)]
struct Gate {
    busy: Cell<bool>,
    waiters: RefCell<VecDeque<Waker>>,
}

struct GateTurn<'a>(&'a Gate);

/// The turn of one script run on its VM (see [`Engine::script_turn`]).
pub struct ScriptTurn(Rc<Vm>);

impl Drop for ScriptTurn {
    fn drop(&mut self) {
        drop(GateTurn(&self.0.gate));
    }
}

impl Drop for GateTurn<'_> {
    fn drop(&mut self) {
        self.0.busy.set(false);
        if let Some(w) = self.0.waiters.borrow_mut().pop_front() {
            w.wake();
        }
    }
}

impl Gate {
    async fn acquire(&self) -> GateTurn<'_> {
        std::future::poll_fn(|cx| {
            if self.busy.get() {
                self.waiters.borrow_mut().push_back(cx.waker().clone());
                Poll::Pending
            } else {
                self.busy.set(true);
                Poll::Ready(())
            }
        })
        .await;
        GateTurn(self)
    }
}
