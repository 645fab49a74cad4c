//! A script run's hot path on Lua's C API: the one module of tallkv with `unsafe`.
//!
//! # Why
//! Through mlua, every `redis.call` made a `MultiValue`, a registry reference per argument
//! (and a shared counter per string read), and pushed its three results back the same way;
//! `KEYS` and `ARGV` cost a registry reference per value; and resuming a script went
//! through a runner coroutine (to catch its errors as values, which mlua's resume turns
//! into strings). Together about a third of the CPU of a small EVALSHA script outside the
//! command itself (BENCHMARKS.md, issue 4). Here:
//! - [`start`] sets a run's `KEYS` and `ARGV` (tables reused from run to run) and the
//!   sandbox's per-run state straight on the script's thread, and [`start`] and [`resume`]
//!   run it with `lua_resume`, handing back what it returned (a string or a number as a
//!   reply at once), raised or yielded;
//! - [`call_primitive`], `redis.call`'s primitive, reads the arguments off the Lua stack
//!   and pushes the common replies (bulk, integer, nil, status, an array of bulks and
//!   integers) straight onto it.
//!
//! Everything else goes back to safe code:
//! - arguments that are not strings or numbers, no arguments, or no running script: it
//!   returns the [`SLOW`] marker before running anything, and the sandbox calls
//!   `P.bad_call`, which builds Redis's error;
//! - any other reply (errors, maps, nested arrays...), or a script killed meanwhile: the
//!   reply is kept in [`Shared::finishing`] and it returns the [`FINISH`] marker, and the
//!   sandbox calls `P.finish`, which converts it with [`super::finish_call`];
//! - a reply to wait for: as the mlua primitive did, it sets [`Shared::waiting`] and
//!   returns the pending marker (the sandbox asks `P.locate` for the call's line first).
//!
//! # Why it is sound
//! - **Resuming.** `lua_resume` never raises: the script's errors come back as its status,
//!   with the error value on the thread's stack. The thread is one of this VM's (the same
//!   global state, as `lua_xmove` requires), and it is new, reset or suspended by a yield
//!   of the script (Lua checks that and fails the resume otherwise). Moving values between
//!   the thread and mlua happens inside mlua's `exec_raw`, in protected mode, and the
//!   closures it runs hold nothing to drop.
//! - **Before a run.** [`start`] works on the thread's stack, which holds only the
//!   script's function, and leaves it so. The registry references in [`Refs`] are made
//!   once per VM and never released, so they always name the same tables; refilling
//!   `KEYS`/`ARGV` allocates only strings and table parts (see "No long jumps" below).
//! - **The `Shared` pointer.** The closure's upvalue points into an `Rc<Shared>` that the
//!   Lua state itself keeps alive as app data ([`super::build`] sets it, nothing removes
//!   it), so it is valid whenever Lua can call the closure. `Shared` is only ever used
//!   through shared references and its `RefCell`/`Cell` fields.
//! - **The stack.** A C function gets `LUA_MINSTACK` (20) free slots; these push at most
//!   three values, plus two while filling an array table. [`start`] asks for eight slots
//!   on the thread first and uses at most seven.
//! - **`lua_next`.** [`refill`] starts its traversal at key n, which it has just set (or
//!   at nil), so the key is in the table and `lua_next` does not raise; during it only
//!   existing fields are set (to nil), as Lua allows.
//! - **Strings read.** `lua_tolstring` on a value of type string returns a pointer to
//!   `len` bytes owned by that string, alive while it sits on the stack (the whole call);
//!   the bytes are copied into the argument buffer at once.
//! - **No long jumps over Rust frames with destructors.** The Lua functions called here
//!   raise errors only when memory runs out: the VM has no memory limit, and mlua's
//!   allocator aborts the process rather than fail (it returns null only for a request
//!   above `isize::MAX` bytes, which no value here comes near). The collector steps they
//!   may run call no finalizer that can raise (the sandbox exposes no way to set `__gc`).
//!   Pushing happens only after every check, so nothing is left half-pushed.
//! - **No unwinding into C.** A panic inside (a bug) aborts the process instead of
//!   unwinding through Lua's C frames.

use super::{HostReply, Shared, Waiting};
use crate::protocol::Reply;
use mlua::{Function, IntoLuaMulti, Lua, Table, Thread, Value, ffi};
use std::os::raw::{c_int, c_void};
use std::rc::Rc;

/// Returned in place of `raise` when the call must go through `P.bad_call` (nothing ran).
pub(super) static SLOW: u8 = 1;
/// Returned in place of `raise` when `P.finish` must convert the kept reply.
pub(super) static FINISH: u8 = 2;

/// The marker `mark` as a light userdata value for the sandbox.
pub(super) fn marker(mark: &'static u8) -> mlua::Value {
    mlua::Value::LightUserData(mlua::LightUserData(std::ptr::from_ref(mark).cast_mut().cast()))
}

/// The `redis.call` primitive: `(raise, command, args...)` -> `(raise_now, value, status)`,
/// or one of the markers (see the module doc).
pub(super) fn call_primitive(lua: &Lua, shared: &Rc<Shared>) -> mlua::Result<Function> {
    let ptr = Rc::as_ptr(shared).cast_mut().cast::<c_void>();
    // SAFETY: pushes a light userdata and a C closure over it (see the module doc for why
    // the pointer stays valid); exec_raw runs this in protected mode and pops the function.
    unsafe {
        lua.exec_raw::<Function>((), |state| {
            ffi::lua_pushlightuserdata(state, ptr);
            ffi::lua_pushcclosure(state, call_c, 1);
        })
    }
}

/// How a script's thread stopped: it returned (its first value, as a reply when it is a
/// string or a number, else as a value to convert), raised (the error value), or yielded
/// (a `redis.call` waiting for its reply).
pub(super) enum Resumed {
    Replied(Reply),
    Returned(Value),
    Raised(Value),
    Yielded,
}

/// Registry references to what the driver sets before each run: the table behind the
/// read-only globals (for `KEYS` and `ARGV`), the sandbox's `run_state`, and the `KEYS`
/// and `ARGV` tables, reused from run to run (see [`refill`]).
pub(super) struct Refs {
    content: c_int,
    run_state: c_int,
    keys: c_int,
    argv: c_int,
}

impl Refs {
    /// References to `content` and `run_state` (kept for the VM's life), and two new tables.
    pub(super) fn new(lua: &Lua, content: &Table, run_state: &Table) -> mlua::Result<Refs> {
        // SAFETY: exec_raw runs this in protected mode with (content, run_state) on the
        // stack; luaL_ref pops the top value into the registry; the four references are
        // pushed as the results.
        let (content, run_state, keys, argv): (c_int, c_int, c_int, c_int) = unsafe {
            lua.exec_raw((content, run_state), |state| {
                let run_state = ffi::luaL_ref(state, ffi::LUA_REGISTRYINDEX);
                let content = ffi::luaL_ref(state, ffi::LUA_REGISTRYINDEX);
                ffi::lua_createtable(state, 0, 0);
                let keys = ffi::luaL_ref(state, ffi::LUA_REGISTRYINDEX);
                ffi::lua_createtable(state, 0, 0);
                let argv = ffi::luaL_ref(state, ffi::LUA_REGISTRYINDEX);
                for reference in [content, run_state, keys, argv] {
                    ffi::lua_pushinteger(state, ffi::lua_Integer::from(reference));
                }
            })?
        };
        Ok(Refs { content, run_state, keys, argv })
    }
}

/// A script run's keys and arguments.
#[derive(Clone, Copy)]
pub(super) struct Inputs<'a> {
    pub(super) keys: &'a [&'a [u8]],
    pub(super) argv: &'a [&'a [u8]],
}

/// Starts `thread` (new or reset, its function pushed): sets the sandbox's per-run state
/// (`run_state[1] = 0`, and `KEYS`/`ARGV` from `inputs` if the run has them; a function's
/// run has none) and resumes it.
pub(super) fn start(lua: &Lua, thread: &Thread, refs: &Refs, inputs: Option<Inputs<'_>>) -> mlua::Result<Resumed> {
    let thread_state = thread.state();
    // SAFETY: see the module doc ("Resuming", "Before a run"); the thread is not running
    // and holds only its function, which this leaves on its stack alone.
    unsafe {
        let base = ffi::lua_gettop(thread_state);
        ffi::lua_checkstack(thread_state, 8);
        ffi::lua_rawgeti_(thread_state, ffi::LUA_REGISTRYINDEX, refs.run_state);
        ffi::lua_pushinteger(thread_state, 0);
        ffi::lua_rawseti_(thread_state, -2, 1);
        ffi::lua_settop(thread_state, base);
        if let Some(Inputs { keys, argv }) = inputs {
            ffi::lua_rawgeti_(thread_state, ffi::LUA_REGISTRYINDEX, refs.content);
            let content = ffi::lua_gettop(thread_state);
            for (name, reference, values) in [(&b"KEYS"[..], refs.keys, keys), (&b"ARGV"[..], refs.argv, argv)] {
                push_bytes(thread_state, name);
                refill(thread_state, reference, values.iter().copied());
                ffi::lua_rawset(thread_state, content);
            }
            ffi::lua_settop(thread_state, base);
        }
        let status = ffi::lua_resume_(thread_state, 0);
        stopped(lua, thread_state, status)
    }
}

/// Resumes `thread`, suspended by a yield of the script, with `args`.
pub(super) fn resume(lua: &Lua, thread: &Thread, args: impl IntoLuaMulti) -> mlua::Result<Resumed> {
    let thread_state = thread.state();
    // SAFETY: see the module doc ("Resuming"): exec_raw pushed `args` on `state` and they
    // move to the thread, whose yielded values were cleared when it stopped.
    unsafe {
        let nargs: c_int = lua.exec_raw(args, |state| {
            let nargs = ffi::lua_gettop(state);
            ffi::lua_checkstack(thread_state, nargs + 1);
            ffi::lua_xmove(state, thread_state, nargs);
            ffi::lua_pushinteger(state, ffi::lua_Integer::from(nargs));
        })?;
        let status = ffi::lua_resume_(thread_state, nargs);
        stopped(lua, thread_state, status)
    }
}

/// What the thread left after `lua_resume` answered `status`, its stack emptied (but for a
/// raised error, which leaves the thread dead). Safety: the thread just stopped.
unsafe fn stopped(lua: &Lua, thread_state: *mut ffi::lua_State, status: c_int) -> mlua::Result<Resumed> {
    unsafe {
        match status {
            ffi::LUA_OK => {
                if ffi::lua_gettop(thread_state) == 0 {
                    return Ok(Resumed::Returned(Value::Nil));
                }
                ffi::lua_settop(thread_state, 1);
                let reply = match ffi::lua_type(thread_state, 1) {
                    ffi::LUA_TSTRING => Some(Reply::Bulk(bytes::Bytes::copy_from_slice(stack_bytes(thread_state, 1)))),
                    ffi::LUA_TNUMBER => {
                        Some(Reply::Int(super::convert::truncate_number(ffi::lua_tonumber(thread_state, 1))))
                    }
                    _ => None,
                };
                match reply {
                    Some(reply) => {
                        ffi::lua_settop(thread_state, 0);
                        Ok(Resumed::Replied(reply))
                    }
                    None => Ok(Resumed::Returned(take_top(lua, thread_state)?)),
                }
            }
            ffi::LUA_YIELD => {
                ffi::lua_settop(thread_state, 0);
                Ok(Resumed::Yielded)
            }
            _ => Ok(Resumed::Raised(take_top(lua, thread_state)?)),
        }
    }
}

/// Moves the value on top of the thread's stack into an mlua value. Safety: the thread is
/// not running and has a value on top.
unsafe fn take_top(lua: &Lua, thread_state: *mut ffi::lua_State) -> mlua::Result<Value> {
    // SAFETY: exec_raw's stack gets the value, which becomes its result.
    unsafe { lua.exec_raw((), |state| ffi::lua_xmove(thread_state, state, 1)) }
}

/// How many leftover entries a reused `KEYS`/`ARGV` table may have had cleared before it is
/// replaced by a new one instead (so a script that filled it does not keep it large).
const REUSE_LEFTOVERS_MAX: usize = 64;

/// Pushes the table registered as `reference` holding exactly `values` as its array: the
/// same table as the last run (no allocation) with the run's values written and anything
/// else the last script left in it removed, metatable included; a new table (registered
/// in its place) after a script left more than [`REUSE_LEFTOVERS_MAX`] entries. Reusing
/// is safe because a script cannot keep a reference to the table past its run: everything
/// it could store one in is read-only. Safety: `reference` is a table; five free slots.
unsafe fn refill<'a>(
    state: *mut ffi::lua_State,
    reference: c_int,
    values: impl ExactSizeIterator<Item = &'a [u8]> + Clone,
) {
    unsafe {
        let n = values.len();
        ffi::lua_rawgeti_(state, ffi::LUA_REGISTRYINDEX, reference);
        let table = ffi::lua_gettop(state);
        fill(state, table, values.clone());
        // Leftovers: every key after n (the rest of the array part, then the hash part).
        let mut leftovers = 0;
        if n == 0 {
            ffi::lua_pushnil(state);
        } else {
            ffi::lua_pushinteger(state, n as ffi::lua_Integer);
        }
        while ffi::lua_next(state, table) != 0 {
            // Stack: table, key, value. Clearing an existing field is allowed mid-traversal.
            ffi::lua_pop(state, 1);
            ffi::lua_pushvalue(state, -1);
            ffi::lua_pushnil(state);
            ffi::lua_rawset(state, table);
            leftovers += 1;
        }
        if ffi::lua_getmetatable(state, table) != 0 {
            ffi::lua_pop(state, 1);
            ffi::lua_pushnil(state);
            ffi::lua_setmetatable(state, table);
        }
        if leftovers > REUSE_LEFTOVERS_MAX {
            ffi::lua_pop(state, 1);
            ffi::lua_createtable(state, c_int::try_from(n).unwrap_or(0), 0);
            fill(state, ffi::lua_gettop(state), values);
            ffi::lua_pushvalue(state, -1);
            ffi::lua_rawseti_(state, ffi::LUA_REGISTRYINDEX, reference);
        }
    }
}

/// Writes `values` at 1..n of the table at absolute index `table`. Safety: two free slots.
unsafe fn fill<'a>(state: *mut ffi::lua_State, table: c_int, values: impl Iterator<Item = &'a [u8]>) {
    for (i, value) in values.enumerate() {
        unsafe {
            push_bytes(state, value);
            ffi::lua_rawseti_(state, table, c_int::try_from(i + 1).unwrap_or(c_int::MAX));
        }
    }
}

/// Runs a C function's body; a panic (a bug) aborts instead of unwinding into Lua's C code.
fn abort_on_panic(body: impl FnOnce() -> c_int) -> c_int {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(body)) {
        Ok(results) => results,
        Err(_) => std::process::abort(),
    }
}

unsafe extern "C-unwind" fn call_c(state: *mut ffi::lua_State) -> c_int {
    // SAFETY: the upvalue is the pointer call_primitive set (valid, see the module doc).
    let shared = unsafe { &*ffi::lua_touserdata(state, ffi::lua_upvalueindex(1)).cast::<Shared>() };
    // SAFETY: `state` is the calling thread's state, as Lua passes it to a C function.
    abort_on_panic(|| unsafe { call_on_stack(state, shared) })
}

/// The body of [`call_c`]. Safety: `state` is a Lua thread running a C function.
unsafe fn call_on_stack(state: *mut ffi::lua_State, shared: &Shared) -> c_int {
    unsafe {
        let top = ffi::lua_gettop(state);
        let raise = ffi::lua_toboolean(state, 1) != 0;
        let ctx = shared.run.borrow().as_ref().map(|r| (r.host.clone(), r.resp));
        let Some((host, resp)) = ctx.filter(|_| top >= 2) else {
            return push_marker(state, &SLOW);
        };
        let mut argv = shared.call_args.take();
        argv.clear();
        for index in 2..=top {
            match ffi::lua_type(state, index) {
                ffi::LUA_TSTRING => argv.push(stack_bytes(state, index)),
                ffi::LUA_TNUMBER => super::convert::push_number_arg(&mut argv, ffi::lua_tonumber(state, index)),
                _ => {
                    shared.call_args.replace(argv);
                    return push_marker(state, &SLOW);
                }
            }
        }
        let answer = host.call(&argv, resp);
        shared.call_args.replace(argv);
        match answer {
            HostReply::Now(reply) => {
                if shared.busy.is_killed() || !pushable(&reply, true) {
                    *shared.finishing.borrow_mut() = Some((reply, raise, resp));
                    return push_marker(state, &FINISH);
                }
                let status = matches!(reply, Reply::Ok | Reply::Simple(_));
                ffi::lua_pushboolean(state, 0);
                push_reply(state, &reply, resp);
                ffi::lua_pushboolean(state, c_int::from(status));
                3
            }
            HostReply::Later(reply) => {
                *shared.waiting.borrow_mut() = Some(Waiting { reply, raise, location: None });
                push_marker(state, &super::PENDING_MARK)
            }
        }
    }
}

/// Whether [`push_reply`] handles `reply`: bulk, integer, nil, status, and (at the top) an
/// array of bulks and integers. A status pushes its text (the sandbox makes `{ok = text}`).
fn pushable(reply: &Reply, top: bool) -> bool {
    match reply {
        Reply::Bulk(_) | Reply::Int(_) => true,
        Reply::Ok | Reply::Simple(_) | Reply::Nil | Reply::NilArray => top,
        Reply::Array(items) => top && items.iter().all(|item| pushable(item, false)),
        _ => false,
    }
}

/// Pushes a [`pushable`] reply as [`super::convert::reply_to_lua`] converts it (a status
/// as its bare text). Safety: `state` has two free stack slots.
unsafe fn push_reply(state: *mut ffi::lua_State, reply: &Reply, resp: u8) {
    unsafe {
        match reply {
            Reply::Bulk(bytes) | Reply::Simple(bytes) => push_bytes(state, bytes),
            Reply::Ok => push_bytes(state, b"OK"),
            Reply::Int(n) => ffi::lua_pushnumber(state, *n as f64),
            Reply::Nil | Reply::NilArray if resp == 3 => ffi::lua_pushnil(state),
            Reply::Nil | Reply::NilArray => ffi::lua_pushboolean(state, 0),
            Reply::Array(items) => {
                ffi::lua_createtable(state, c_int::try_from(items.len()).unwrap_or(0), 0);
                for (i, item) in items.iter().enumerate() {
                    push_reply(state, item, resp);
                    ffi::lua_rawseti_(state, -2, c_int::try_from(i + 1).unwrap_or(c_int::MAX));
                }
            }
            _ => ffi::lua_pushnil(state),
        }
    }
}

/// The bytes of the string at `index`, valid while it stays on the stack. Safety: the
/// value at `index` is a string (so `lua_tolstring` converts nothing).
unsafe fn stack_bytes<'a>(state: *mut ffi::lua_State, index: c_int) -> &'a [u8] {
    unsafe {
        let mut len = 0usize;
        let ptr = ffi::lua_tolstring(state, index, &mut len);
        std::slice::from_raw_parts(ptr.cast::<u8>(), len)
    }
}

/// Safety: `state` has a free stack slot.
unsafe fn push_bytes(state: *mut ffi::lua_State, bytes: &[u8]) {
    unsafe {
        ffi::lua_pushlstring(state, bytes.as_ptr().cast(), bytes.len());
    }
}

/// Safety: `state` has a free stack slot.
unsafe fn push_marker(state: *mut ffi::lua_State, mark: &'static u8) -> c_int {
    unsafe {
        ffi::lua_pushlightuserdata(state, std::ptr::from_ref(mark).cast_mut().cast());
    }
    1
}
