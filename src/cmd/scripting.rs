//! Lua scripts: EVAL, EVALSHA, EVAL_RO, EVALSHA_RO, SCRIPT LOAD / EXISTS / FLUSH.
//!
//! Each shard thread has its own Lua engine ([`crate::script::Engine`]). A script runs on
//! the thread of the connection that sent it, as a transaction of the one coordination
//! mechanism: before it starts, it holds the shards of its declared KEYS (only those: a
//! script whose keys sit on one shard pauses that shard alone); every `redis.call` then
//! runs on its key's shard inside that transaction, so the script is atomic. A call for a
//! held shard of this thread runs at once ([`run_now`]: no future, the script is not
//! suspended); a call for another shard suspends the script until its reply arrives.
//!
//! **Keys a script did not declare.** Many libraries read or write keys they did not pass
//! in KEYS. A call whose key is on a shard the script does not hold adds that shard to the
//! transaction: at once if it lies above every shard held (ascending order, so it cannot
//! deadlock), otherwise only if nobody holds it, retried for up to 100 ms. What it costs:
//! one round trip per newly held shard, and, when the shard is busy and out of order, the
//! script fails with an error (Redis scripts do not roll back; neither do these) and its
//! SHA is remembered on this thread, so from its next run on it holds every shard from
//! the start — atomic, at the price of pausing the whole server for its run.
//!
//! SCRIPT LOAD compiles on every thread; EVALSHA of a script another thread compiled
//! (e.g. sent with EVAL on another connection) fetches its text from that thread.

use std::cell::RefCell;
use std::collections::HashSet;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::command::error::NOT_INTEGER;
use crate::command::{CmdError, CmdResult, Command, CommandImpl, Flags, Handler, LocalFuture};
use crate::protocol::{Args, OwnedArgs, Reply};
use crate::script::{BusyControl, Engine, HostReply, LogLevel, Prepared, ScriptHost, ScriptSource, host_errors};
use crate::server::Session;
use crate::server::clients::ClientHandle;
use crate::server::dispatch::{resolve, run_now, run_resolved};
use crate::server::session::Held;
use crate::shard::coord::Tx;
use crate::shard::slot::key_shard;
use crate::util::join_all;
use crate::util::num::parse_canonical_i64;

/// The commands this file implements.
pub const COMMANDS: &[CommandImpl] = &[
    CommandImpl { name: "eval", handler: Handler::Async(eval) },
    CommandImpl { name: "evalsha", handler: Handler::Async(evalsha) },
    CommandImpl { name: "eval_ro", handler: Handler::Async(eval_ro) },
    CommandImpl { name: "evalsha_ro", handler: Handler::Async(evalsha_ro) },
    CommandImpl { name: "script|load", handler: Handler::Async(script_load) },
    CommandImpl { name: "script|exists", handler: Handler::Async(script_exists) },
    CommandImpl { name: "script|flush", handler: Handler::Async(script_flush) },
    CommandImpl { name: "script|kill", handler: Handler::Local(script_kill) },
];

/// A thread's running-script state, for SCRIPT KILL from any thread.
struct Running {
    busy: Arc<BusyControl>,
    /// Whether the running script (or function) has written.
    wrote: Arc<AtomicBool>,
}

/// Every thread's running-script state (one entry per thread, added when its engine starts).
static RUNNING: Mutex<Vec<Running>> = Mutex::new(Vec::new());

thread_local! {
    /// This thread's Lua engine.
    static ENGINE: Rc<Engine> = {
        let engine = Rc::new(Engine::new());
        let running = Running { busy: engine.busy(), wrote: WROTE.with(Arc::clone) };
        RUNNING.lock().unwrap_or_else(|e| e.into_inner()).push(running);
        engine
    };
    /// Whether the script running on this thread has written (SCRIPT KILL answers UNKILLABLE).
    static WROTE: Arc<AtomicBool> = Arc::new(AtomicBool::new(false));
    /// Whether this thread's engine checks for shutdown while a script runs.
    static WATCHES_SHUTDOWN: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    /// Scripts (by SHA) seen touching keys they did not declare: they hold every shard.
    static UNDECLARED: RefCell<HashSet<String, ahash::RandomState>> = RefCell::new(HashSet::default());
}

/// This thread's Lua engine (FUNCTION libraries live in it too).
pub(crate) fn engine() -> Rc<Engine> {
    ENGINE.with(Rc::clone)
}

/// Whether the script or function `id` was seen touching keys it did not declare, so it
/// holds every shard from the start.
pub(crate) fn holds_everything(id: &str) -> bool {
    UNDECLARED.with(|u| u.borrow().contains(id))
}

/// How long a script waits for the shard of an undeclared key held by someone else.
const UNDECLARED_WAIT: Duration = Duration::from_millis(100);

/// EVAL script numkeys [key ...] [arg ...]: runs a Lua script.
fn eval<'a>(s: &'a mut Session, args: Args<'a>) -> LocalFuture<'a, CmdResult> {
    Box::pin(eval_generic(s, args, false, false))
}

/// EVALSHA sha1 numkeys [key ...] [arg ...]: runs a cached Lua script.
fn evalsha<'a>(s: &'a mut Session, args: Args<'a>) -> LocalFuture<'a, CmdResult> {
    Box::pin(eval_generic(s, args, true, false))
}

/// EVAL_RO script numkeys [key ...] [arg ...]: runs a Lua script that may not write.
fn eval_ro<'a>(s: &'a mut Session, args: Args<'a>) -> LocalFuture<'a, CmdResult> {
    Box::pin(eval_generic(s, args, false, true))
}

/// EVALSHA_RO sha1 numkeys [key ...] [arg ...]: runs a cached Lua script that may not write.
fn evalsha_ro<'a>(s: &'a mut Session, args: Args<'a>) -> LocalFuture<'a, CmdResult> {
    Box::pin(eval_generic(s, args, true, true))
}

async fn eval_generic(s: &mut Session, args: Args<'_>, by_sha: bool, read_only: bool) -> CmdResult {
    let numkeys = parse_canonical_i64(args.get(2)).ok_or(NOT_INTEGER)?;
    let inputs = ScriptInputs::new(args, numkeys)?;
    let engine = engine();
    let prepared = match prepare(s, &engine, args.get(1), by_sha).await? {
        Ok(prepared) => prepared,
        Err(reply) => return Ok(reply),
    };
    // The turn first, then the shards: a script waiting for its turn holds nothing.
    let turn = engine.script_turn(&prepared).await;
    let tx = inputs.hold(s, &prepared.sha).await?;
    start_run(s, &engine);
    let host = Host::new(s, tx, read_only || prepared.flags.no_writes, prepared.sha.clone());
    Ok(engine.run_in_turn(&prepared, &turn, inputs.keys(), inputs.argv(), Rc::new(host)).await)
}

/// The keys and arguments of EVAL or FCALL (`script numkeys key... arg...`).
pub(crate) struct ScriptInputs<'a> {
    /// The keys, then the arguments.
    values: Vec<&'a [u8]>,
    numkeys: usize,
}

impl<'a> ScriptInputs<'a> {
    /// Splits `args` after `numkeys` (already parsed from argument 2) keys, with Redis's errors.
    pub(crate) fn new(args: Args<'a>, numkeys: i64) -> Result<ScriptInputs<'a>, CmdError> {
        if numkeys > (args.len() - 3) as i64 {
            return Err(CmdError::from_static("ERR Number of keys can't be greater than number of args"));
        }
        if numkeys < 0 {
            return Err(CmdError::from_static("ERR Number of keys can't be negative"));
        }
        Ok(ScriptInputs { values: args.iter_from(3).collect(), numkeys: numkeys as usize })
    }

    pub(crate) fn keys(&self) -> &[&'a [u8]] {
        &self.values[..self.numkeys]
    }

    pub(crate) fn argv(&self) -> &[&'a [u8]] {
        &self.values[self.numkeys..]
    }

    /// Holds the shards of the keys (every shard for a script or function `id` seen
    /// touching keys it did not declare), or uses EXEC's transaction inside EXEC.
    pub(crate) async fn hold(&self, s: &Session, id: &str) -> Result<Rc<Tx>, CmdError> {
        let shards = s.node.shards;
        let everywhere = holds_everything(id);
        let all = (0..shards).filter(|_| everywhere);
        let declared = self.keys().iter().filter(|_| !everywhere).map(|k| key_shard(k, shards));
        Ok(match s.hold_for_script(all.chain(declared)).await? {
            Held::Own(tx) => Rc::new(tx),
            Held::Exec(tx) => tx,
        })
    }
}

/// Before a script or function runs on this thread: clears its "wrote" flag and, once per
/// thread, makes the engine stop a running script when the server shuts down (SHUTDOWN
/// NOSAVE must work even while a script loops).
pub(crate) fn start_run(s: &Session, engine: &Engine) {
    WROTE.with(|w| w.store(false, Ordering::Release));
    if !WATCHES_SHUTDOWN.with(|w| w.replace(true)) {
        let shared = s.node.shared.clone();
        let busy = engine.busy();
        engine.set_tick(Some(Box::new(move |_| {
            if shared.shutdown.load(Ordering::SeqCst) {
                busy.kill();
            }
        })));
    }
}

/// SCRIPT KILL: stops the running script if it has not written yet.
fn script_kill(_s: &mut Session, _args: Args<'_>) -> CmdResult {
    let running = RUNNING.lock().unwrap_or_else(|e| e.into_inner());
    let Some(script) = running.iter().find(|r| r.busy.is_running()) else {
        return Err(CmdError::from_static("NOTBUSY No scripts in execution right now."));
    };
    if script.wrote.load(Ordering::Acquire) {
        return Err(CmdError::from_static(
            "UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait \
             the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.",
        ));
    }
    script.busy.kill();
    Ok(Reply::Ok)
}

/// Compiles or finds the script: by text (EVAL), or by SHA in this thread's cache or,
/// failing that, another thread's. `Ok(Err(reply))` is an error reply for the client.
async fn prepare(
    s: &Session,
    engine: &Engine,
    script: &[u8],
    by_sha: bool,
) -> Result<Result<Prepared, Reply>, CmdError> {
    if !by_sha {
        return Ok(engine.prepare(ScriptSource::Body(script)));
    }
    let missing = match engine.prepare(ScriptSource::Sha(script)) {
        Ok(prepared) => return Ok(Ok(prepared)),
        Err(reply) => reply,
    };
    let node = &s.node;
    let futures: Vec<_> = (0..node.shards)
        .filter(|&shard| shard != node.id)
        .map(|shard| {
            let sha = script.to_vec();
            node.run_unheld(shard, move |_| ENGINE.with(|e| e.body(&sha)))
        })
        .collect();
    for body in join_all(futures).await {
        if let Some(body) = body? {
            return Ok(engine.prepare(ScriptSource::Body(&body)));
        }
    }
    Ok(Err(missing))
}

/// The server side of a running script: runs its `redis.call`s inside its transaction.
pub(crate) struct Host {
    inner: Rc<HostInner>,
}

struct HostInner {
    /// A session of its own (SELECT inside a script does not change the client's
    /// database), running in the script's transaction.
    /// Taken out while a call runs (calls of one script never overlap).
    session: RefCell<Option<Session>>,
    node: Rc<crate::shard::Node>,
    tx: Rc<Tx>,
    read_only: bool,
    sha: Rc<str>,
}

thread_local! {
    /// The sessions of ended script runs, for the next runs to reuse.
    static SPARE_SESSIONS: RefCell<Vec<Session>> = const { RefCell::new(Vec::new()) };
}

impl Host {
    /// A host running in `tx`; `sha` names the script (or function) for the undeclared-keys set.
    pub(crate) fn new(parent: &Session, tx: Rc<Tx>, read_only: bool, sha: Rc<str>) -> Host {
        let session = match SPARE_SESSIONS.with(|spare| spare.borrow_mut().pop()) {
            Some(session) => {
                session.handle.info.borrow_mut().copy_for_script(&parent.handle.info.borrow());
                session
            }
            None => {
                let info = parent.handle.info.borrow().clone();
                Session::new(parent.node.clone(), Rc::new(ClientHandle::new(info)))
            }
        };
        let mut session = session;
        session.tx = Some(tx.clone());
        // A script runs from now until this host drops (see `Drop for HostInner`).
        parent.node.shared.scripts_running[parent.node.id].fetch_add(1, Ordering::AcqRel);
        let node = parent.node.clone();
        Host { inner: Rc::new(HostInner { session: RefCell::new(Some(session)), node, tx, read_only, sha }) }
    }
}

impl Drop for HostInner {
    /// Marks the thread's script as ended, and keeps the session for the next run (the
    /// script's commands left nothing in it but its database and protocol, which the next
    /// run sets again).
    fn drop(&mut self) {
        // The script has ended: from now on its shards are only waiting for their release
        // (sent when the transaction drops, after this).
        self.node.shared.scripts_running[self.node.id].fetch_sub(1, Ordering::AcqRel);
        if let Some(mut session) = self.session.borrow_mut().take()
            && session.multi.is_none()
            && session.watch.keys.is_empty()
        {
            session.tx = None;
            session.close_after_reply = false;
            SPARE_SESSIONS.with(|spare| spare.borrow_mut().push(session));
        }
    }
}

impl HostInner {
    /// Makes sure the transaction holds every shard `cmd` needs (see the module doc).
    async fn hold_for(&self, cmd: &Command, args: Args<'_>) -> Result<(), Reply> {
        let shards = self.node.shards;
        let mut needed: Vec<usize> = match cmd.handler {
            Some(Handler::Keyed { .. }) => {
                let mut needed = Vec::new();
                cmd.for_each_key(args, |pos| needed.push(key_shard(args.get(pos), shards)));
                needed
            }
            Some(Handler::Async(_)) => (0..shards).collect(),
            Some(Handler::Local(_)) | None => Vec::new(),
        };
        needed.sort_unstable();
        needed.dedup();
        for shard in needed {
            if self.tx.holds(shard) {
                continue;
            }
            UNDECLARED.with(|u| u.borrow_mut().insert(self.sha.to_string()));
            let deadline = Instant::now() + UNDECLARED_WAIT;
            loop {
                match self.tx.add(shard).await {
                    Ok(true) => break,
                    Ok(false) if Instant::now() < deadline => glommio::timer::sleep(Duration::from_millis(1)).await,
                    Ok(false) => {
                        return Err(Reply::error(
                            "ERR a key the script did not declare lives on a shard another transaction holds; \
                             declare it in KEYS (this script holds every shard from its next run on)",
                        ));
                    }
                    Err(e) => return Err(CmdError::from(e).into()),
                }
            }
        }
        Ok(())
    }
}

impl HostInner {
    /// The command `args` names, or the error a script gets for it.
    fn command(&self, args: Args<'_>) -> Result<&Command, Reply> {
        if args.is_empty() {
            return Err(Reply::error(host_errors::UNKNOWN_COMMAND));
        }
        let cmd = match resolve(&self.node.registry, args) {
            Ok(cmd) => cmd,
            Err(e) if e.text().starts_with(b"ERR unknown command") => {
                return Err(Reply::error(host_errors::UNKNOWN_COMMAND));
            }
            Err(e) if e.text().starts_with(b"ERR wrong number of arguments") => {
                return Err(Reply::error(host_errors::WRONG_ARITY));
            }
            Err(e) => return Err(e.into()),
        };
        if cmd.flags.contains(Flags::NOSCRIPT) {
            return Err(Reply::error(host_errors::NOT_ALLOWED));
        }
        if self.read_only && cmd.flags.contains(Flags::WRITE) {
            return Err(Reply::error(host_errors::WRITE_IN_READ_ONLY));
        }
        Ok(cmd)
    }

    /// Runs `f` with the script's session, set to protocol `resp`.
    fn with_session<T>(&self, resp: u8, f: impl FnOnce(&mut Session) -> T) -> Result<T, Reply> {
        let Some(mut session) = self.session.borrow_mut().take() else {
            return Err(Reply::error("ERR a script ran two commands at once"));
        };
        session.set_resp(resp);
        let result = f(&mut session);
        *self.session.borrow_mut() = Some(session);
        Ok(result)
    }
}

impl ScriptHost for Host {
    fn call(&self, args: &OwnedArgs, resp: u8) -> HostReply {
        let cmd = match self.inner.command(args.view()) {
            Ok(cmd) => cmd,
            Err(reply) => return HostReply::Now(reply),
        };
        if cmd.flags.contains(Flags::WRITE) {
            WROTE.with(|w| w.store(true, Ordering::Release));
        }
        // At once, without a future, when it runs on this thread's shard and the script
        // holds that shard (or it is no keyed command).
        let held_here = !matches!(cmd.handler, Some(Handler::Keyed { .. })) || self.inner.tx.holds(self.inner.node.id);
        if held_here {
            match self.inner.with_session(resp, |session| run_now(session, cmd, args.view())) {
                Ok(Some(reply)) => return HostReply::Now(reply),
                Ok(None) => {}
                Err(reply) => return HostReply::Now(reply),
            }
        }
        let inner = self.inner.clone();
        let args = args.clone();
        HostReply::Later(Box::pin(async move {
            let view = args.view();
            let cmd = match inner.command(view) {
                Ok(cmd) => cmd,
                Err(reply) => return reply,
            };
            if let Err(reply) = inner.hold_for(cmd, view).await {
                return reply;
            }
            let Some(mut session) = inner.session.borrow_mut().take() else {
                return Reply::error("ERR a script ran two commands at once");
            };
            session.set_resp(resp);
            let reply = run_resolved(&mut session, Ok(cmd), view).await;
            *inner.session.borrow_mut() = Some(session);
            reply
        }))
    }

    fn log(&self, level: LogLevel, message: &[u8]) {
        crate::script::log_to_server(level, message);
    }
}

/// SCRIPT LOAD script: compiles the script on every thread and replies its SHA1.
fn script_load<'a>(s: &'a mut Session, args: Args<'a>) -> LocalFuture<'a, CmdResult> {
    Box::pin(async move {
        let body = args.get(2).to_vec();
        let sha = match engine().load(&body) {
            Ok(sha) => sha,
            Err(reply) => return Ok(reply),
        };
        let node = &s.node;
        let futures: Vec<_> = (0..node.shards)
            .filter(|&shard| shard != node.id)
            .map(|shard| {
                let body = body.clone();
                node.run_unheld(shard, move |_| ENGINE.with(|e| e.load(&body).is_ok()))
            })
            .collect();
        for loaded in join_all(futures).await {
            loaded?;
        }
        Ok(Reply::Bulk(Bytes::from(sha)))
    })
}

/// SCRIPT EXISTS sha1 [sha1 ...]: for each SHA, 1 if some thread has the script cached.
fn script_exists<'a>(s: &'a mut Session, args: Args<'a>) -> LocalFuture<'a, CmdResult> {
    Box::pin(async move {
        let shas: Vec<Vec<u8>> = args.iter_from(2).map(<[u8]>::to_vec).collect();
        let node = &s.node;
        let futures: Vec<_> = (0..node.shards)
            .map(|shard| {
                let shas = shas.clone();
                node.run_unheld(shard, move |_| {
                    ENGINE.with(|e| shas.iter().map(|sha| e.exists(sha)).collect::<Vec<_>>())
                })
            })
            .collect();
        let mut found = vec![false; shas.len()];
        for result in join_all(futures).await {
            for (f, exists) in found.iter_mut().zip(result?) {
                *f |= exists;
            }
        }
        Ok(Reply::Array(found.into_iter().map(|f| Reply::Int(i64::from(f))).collect()))
    })
}

/// SCRIPT FLUSH [ASYNC|SYNC]: drops every cached script on every thread.
fn script_flush<'a>(s: &'a mut Session, args: Args<'a>) -> LocalFuture<'a, CmdResult> {
    Box::pin(async move {
        let mode_ok = match args.len() {
            2 => true,
            3 => args.get(2).eq_ignore_ascii_case(b"sync") || args.get(2).eq_ignore_ascii_case(b"async"),
            _ => false,
        };
        if !mode_ok {
            return Err(CmdError::from_static("ERR SCRIPT FLUSH only support SYNC|ASYNC option"));
        }
        let node = &s.node;
        let futures: Vec<_> = (0..node.shards)
            .map(|shard| {
                node.run_unheld(shard, |_| {
                    ENGINE.with(|e| e.flush());
                    UNDECLARED.with(|u| u.borrow_mut().clear());
                })
            })
            .collect();
        for result in join_all(futures).await {
            result?;
        }
        Ok(Reply::Ok)
    })
}
