//! Redis 7 functions: FCALL, FCALL_RO, FUNCTION LOAD / DELETE / FLUSH / LIST / DUMP /
//! RESTORE / STATS / KILL.
//!
//! Libraries live in every thread's Lua engine ([`crate::script::function`]): a change
//! (LOAD, DELETE, FLUSH, RESTORE) holds every shard — so changes are applied in one order
//! everywhere and never while a function runs on keys of a shard — checks and applies it
//! on this thread, then applies it on every other one, so FCALL works from any connection.
//! A function runs as EVAL does (see [`super::scripting`]): it takes its turn on the
//! engine, holds the shards of its declared keys, and its `redis.call`s run inside that
//! transaction; keys it did not declare are handled the same way.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Instant;

use bytes::Bytes;

use super::scripting::{Host, ScriptInputs, engine};
use crate::command::{CmdError, CmdResult, CommandImpl, Flags, Handler, LocalFuture};
use crate::config::glob::glob_match;
use crate::protocol::{Args, OwnedArgs, Reply};
use crate::script::function::{Library, RestorePolicy, flag_names};
use crate::script::{HostReply, LogLevel, ScriptHost};
use crate::server::Session;
use crate::util::join_all;
use crate::util::num::parse_canonical_i64;

/// The commands this file implements.
pub const COMMANDS: &[CommandImpl] = &[
    CommandImpl { name: "fcall", handler: Handler::Async(fcall) },
    CommandImpl { name: "fcall_ro", handler: Handler::Async(fcall_ro) },
    CommandImpl { name: "function|load", handler: Handler::Async(function_load) },
    CommandImpl { name: "function|delete", handler: Handler::Async(function_delete) },
    CommandImpl { name: "function|flush", handler: Handler::Async(function_flush) },
    CommandImpl { name: "function|list", handler: Handler::Async(function_list) },
    CommandImpl { name: "function|dump", handler: Handler::Async(function_dump) },
    CommandImpl { name: "function|restore", handler: Handler::Async(function_restore) },
    CommandImpl { name: "function|stats", handler: Handler::Async(function_stats) },
    CommandImpl { name: "function|kill", handler: Handler::Async(function_kill) },
];

/// The function running on this thread (a function suspended on another shard's reply
/// can be seen by FUNCTION STATS and stopped by FUNCTION KILL).
struct Running {
    name: String,
    command: Vec<Bytes>,
    started: Instant,
    /// It ran a write command: killing it would leave a half-done write.
    wrote: bool,
}

thread_local! {
    static RUNNING: RefCell<Option<Running>> = const { RefCell::new(None) };
}

/// Clears [`RUNNING`] when the run ends (or its future is dropped).
struct RunningGuard;

impl Drop for RunningGuard {
    fn drop(&mut self) {
        RUNNING.with(|r| *r.borrow_mut() = None);
    }
}

/// FCALL function numkeys [key ...] [arg ...]: runs a loaded function.
fn fcall<'a>(s: &'a mut Session, args: Args<'a>) -> LocalFuture<'a, CmdResult> {
    Box::pin(fcall_generic(s, args, false))
}

/// FCALL_RO function numkeys [key ...] [arg ...]: runs a loaded function flagged no-writes.
fn fcall_ro<'a>(s: &'a mut Session, args: Args<'a>) -> LocalFuture<'a, CmdResult> {
    Box::pin(fcall_generic(s, args, true))
}

async fn fcall_generic(s: &mut Session, args: Args<'_>, read_only: bool) -> CmdResult {
    let engine = engine();
    let Some(callable) = engine.function(args.get(1)) else {
        return Err(CmdError::from_static("ERR Function not found"));
    };
    let numkeys = parse_canonical_i64(args.get(2)).ok_or(CmdError::from_static("ERR Bad number of keys provided"))?;
    let inputs = ScriptInputs::new(args, numkeys)?;
    if read_only && !callable.flags.no_writes {
        return Err(CmdError::from_static("ERR Can not execute a script with write flag using *_ro command."));
    }
    // The turn first, then the shards: a function waiting for its turn holds nothing.
    let turn = engine.function_turn(&callable).await;
    let id = format!("function:{}", callable.name);
    let node = s.node.clone();
    let tx = inputs.hold(s, &id).await?;
    super::scripting::start_run(s, &engine);
    let host = Host::new(s, tx, read_only || callable.flags.no_writes, Rc::from(id));
    let host = FunctionHost { host, node: node.clone() };
    RUNNING.with(|r| {
        *r.borrow_mut() = Some(Running {
            name: callable.name.clone(),
            command: args.iter().map(Bytes::copy_from_slice).collect(),
            started: Instant::now(),
            wrote: false,
        })
    });
    let _running = RunningGuard;
    Ok(engine.run_function(&callable, &turn, inputs.keys(), inputs.argv(), Rc::new(host)).await)
}

/// The script host of a function: EVAL's, noting whether the function wrote.
struct FunctionHost {
    host: Host,
    node: Rc<crate::shard::Node>,
}

impl ScriptHost for FunctionHost {
    fn call(&self, args: &OwnedArgs, resp: u8) -> HostReply {
        let writes = args
            .view()
            .try_get(0)
            .and_then(|name| self.node.registry.get(name))
            .is_some_and(|cmd| cmd.flags.contains(Flags::WRITE));
        let note_write = move |reply: &Reply| {
            if writes && !reply.is_error() {
                RUNNING.with(|r| {
                    if let Some(running) = r.borrow_mut().as_mut() {
                        running.wrote = true;
                    }
                });
            }
        };
        match self.host.call(args, resp) {
            HostReply::Now(reply) => {
                note_write(&reply);
                HostReply::Now(reply)
            }
            HostReply::Later(call) => HostReply::Later(Box::pin(async move {
                let reply = call.await;
                note_write(&reply);
                reply
            })),
        }
    }

    fn log(&self, level: LogLevel, message: &[u8]) {
        self.host.log(level, message);
    }

    fn set_repl(&self, flags: u8) {
        self.host.set_repl(flags);
    }

    fn acl_check_cmd(&self, args: &[Bytes]) -> Result<bool, String> {
        self.host.acl_check_cmd(args)
    }
}

/// Applies a change of the libraries: holds every shard, runs `change` on this thread's
/// engine and, if it succeeds, on every other thread's. The reply is this thread's result.
async fn change_everywhere<T, F>(s: &Session, args: Args<'_>, change: F) -> Result<Result<T, Reply>, CmdError>
where
    T: Send + 'static,
    F: Fn() -> Result<T, Reply> + Clone + Send + 'static,
{
    let node = &s.node;
    let held = s.hold(0..node.shards).await?;
    let result = change();
    if result.is_ok() {
        // Journaled once, by shard 0; every thread replays it at startup.
        let argv: Vec<Vec<u8>> = args.iter().map(<[u8]>::to_vec).collect();
        held.run(0, move |state| {
            let parts: Vec<&[u8]> = argv.iter().map(Vec::as_slice).collect();
            crate::persist::journal::record(&mut state.keyspace, 0, crate::util::now_ms(), &parts);
        })
        .await?;
        let futures: Vec<_> = (0..node.shards)
            .filter(|&shard| shard != node.id)
            .map(|shard| {
                let change = change.clone();
                held.run(shard, move |_| change().is_ok())
            })
            .collect();
        for applied in join_all(futures).await {
            applied?;
        }
    }
    drop(held);
    Ok(result)
}

/// FUNCTION LOAD [REPLACE] function-code: loads a library; replies its name.
fn function_load<'a>(s: &'a mut Session, args: Args<'a>) -> LocalFuture<'a, CmdResult> {
    Box::pin(async move {
        let mut replace = false;
        let mut pos = 2;
        while pos < args.len() - 1 {
            let option = args.get(pos);
            pos += 1;
            if option.eq_ignore_ascii_case(b"replace") {
                replace = true;
                continue;
            }
            return Err(CmdError::msg(format!("ERR Unknown option given: {}", String::from_utf8_lossy(option))));
        }
        let code = args.get(pos).to_vec();
        let result = change_everywhere(s, args, move || engine().function_load(&code, replace)).await?;
        Ok(match result {
            Ok(name) => Reply::Bulk(Bytes::from(name)),
            Err(reply) => reply,
        })
    })
}

/// FUNCTION DELETE library-name: deletes a library and its functions.
fn function_delete<'a>(s: &'a mut Session, args: Args<'a>) -> LocalFuture<'a, CmdResult> {
    Box::pin(async move {
        let name = args.get(2).to_vec();
        let result = change_everywhere(s, args, move || engine().function_delete(&name)).await?;
        Ok(result.map_or_else(|reply| reply, |()| Reply::Ok))
    })
}

/// FUNCTION FLUSH [ASYNC|SYNC]: deletes every library.
fn function_flush<'a>(s: &'a mut Session, args: Args<'a>) -> LocalFuture<'a, CmdResult> {
    Box::pin(async move {
        if args.len() > 3 {
            return Err(subcommand_syntax_error(args));
        }
        if args.len() == 3 && !args.get(2).eq_ignore_ascii_case(b"sync") && !args.get(2).eq_ignore_ascii_case(b"async")
        {
            return Err(CmdError::from_static("ERR FUNCTION FLUSH only supports SYNC|ASYNC option"));
        }
        change_everywhere(s, args, || {
            engine().function_flush();
            Ok(())
        })
        .await?
        .map_or_else(Ok, |()| Ok(Reply::Ok))
    })
}

/// FUNCTION DUMP: the serialized libraries (Redis's payload format).
fn function_dump<'a>(_s: &'a mut Session, _args: Args<'a>) -> LocalFuture<'a, CmdResult> {
    Box::pin(async move { Ok(Reply::Bulk(Bytes::from(engine().function_dump()))) })
}

/// FUNCTION RESTORE serialized-value [FLUSH|APPEND|REPLACE]: loads the libraries of a payload.
fn function_restore<'a>(s: &'a mut Session, args: Args<'a>) -> LocalFuture<'a, CmdResult> {
    Box::pin(async move {
        if args.len() > 4 {
            return Err(subcommand_syntax_error(args));
        }
        let policy = match args.try_get(3) {
            None => RestorePolicy::Append,
            Some(p) if p.eq_ignore_ascii_case(b"append") => RestorePolicy::Append,
            Some(p) if p.eq_ignore_ascii_case(b"flush") => RestorePolicy::Flush,
            Some(p) if p.eq_ignore_ascii_case(b"replace") => RestorePolicy::Replace,
            Some(_) => {
                return Err(CmdError::from_static(
                    "ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.",
                ));
            }
        };
        let payload = args.get(2).to_vec();
        let result = change_everywhere(s, args, move || engine().function_restore(&payload, policy)).await?;
        Ok(result.map_or_else(|reply| reply, |()| Reply::Ok))
    })
}

/// Applies a journaled FUNCTION LOAD/DELETE/FLUSH/RESTORE to this thread's engine
/// (startup replay; the command was checked when it first ran).
pub fn replay(argv: &[Vec<u8>]) -> Result<(), String> {
    let sub = argv.get(1).map(|s| s.to_ascii_lowercase()).unwrap_or_default();
    let last = argv.last().cloned().unwrap_or_default();
    let failed = |reply: Reply| format!("{reply:?}");
    match sub.as_slice() {
        b"load" => {
            let replace = argv.len() > 3 && argv[2].eq_ignore_ascii_case(b"replace");
            engine().function_load(&last, replace).map(|_| ()).map_err(failed)
        }
        b"delete" => engine().function_delete(&last).map_err(failed),
        b"flush" => {
            engine().function_flush();
            Ok(())
        }
        b"restore" => {
            let policy = match argv.get(3) {
                Some(p) if p.eq_ignore_ascii_case(b"flush") => RestorePolicy::Flush,
                Some(p) if p.eq_ignore_ascii_case(b"replace") => RestorePolicy::Replace,
                _ => RestorePolicy::Append,
            };
            let payload = argv.get(2).cloned().unwrap_or_default();
            engine().function_restore(&payload, policy).map_err(failed)
        }
        _ => Err(format!("unknown FUNCTION subcommand '{}'", String::from_utf8_lossy(&sub))),
    }
}

/// FUNCTION LIST [LIBRARYNAME pattern] [WITHCODE]: the libraries and their functions.
fn function_list<'a>(_s: &'a mut Session, args: Args<'a>) -> LocalFuture<'a, CmdResult> {
    Box::pin(async move {
        let mut with_code = false;
        let mut pattern: Option<&[u8]> = None;
        let mut i = 2;
        while i < args.len() {
            let arg = args.get(i);
            if !with_code && arg.eq_ignore_ascii_case(b"withcode") {
                with_code = true;
            } else if pattern.is_none() && arg.eq_ignore_ascii_case(b"libraryname") {
                i += 1;
                let Some(p) = args.try_get(i) else {
                    return Err(CmdError::from_static("ERR library name argument was not given"));
                };
                pattern = Some(p);
            } else {
                return Err(CmdError::msg(format!("ERR Unknown argument {}", String::from_utf8_lossy(arg))));
            }
            i += 1;
        }
        let libs = engine().libraries();
        let listed = libs
            .iter()
            .filter(|lib| pattern.is_none_or(|p| glob_match(p, lib.name.as_bytes(), false)))
            .map(|lib| library_reply(lib, with_code))
            .collect();
        Ok(Reply::Array(listed))
    })
}

fn bulk(s: &str) -> Reply {
    Reply::Bulk(Bytes::copy_from_slice(s.as_bytes()))
}

fn library_reply(lib: &Library, with_code: bool) -> Reply {
    let functions = lib
        .functions
        .iter()
        .map(|f| {
            Reply::Map(vec![
                (bulk("name"), bulk(&f.name)),
                (bulk("description"), f.description.clone().map_or(Reply::Nil, Reply::Bulk)),
                (
                    bulk("flags"),
                    Reply::Set(
                        flag_names(&f.flags)
                            .into_iter()
                            .map(|n| Reply::Simple(Bytes::from_static(n.as_bytes())))
                            .collect(),
                    ),
                ),
            ])
        })
        .collect();
    let mut fields = vec![
        (bulk("library_name"), bulk(&lib.name)),
        (bulk("engine"), bulk("LUA")),
        (bulk("functions"), Reply::Array(functions)),
    ];
    if with_code {
        fields.push((bulk("library_code"), Reply::Bulk(lib.code.clone())));
    }
    Reply::Map(fields)
}

/// What a thread reports about the function running on it: (name, command, milliseconds).
type RunningInfo = Option<(String, Vec<Bytes>, u64)>;

/// FUNCTION STATS: the running function (if any) and the library and function counts.
fn function_stats<'a>(s: &'a mut Session, _args: Args<'a>) -> LocalFuture<'a, CmdResult> {
    Box::pin(async move {
        let node = &s.node;
        let futures: Vec<_> = (0..node.shards)
            .map(|shard| {
                node.run_unheld(shard, |_| -> RunningInfo {
                    RUNNING.with(|r| {
                        r.borrow().as_ref().map(|run| {
                            (run.name.clone(), run.command.clone(), run.started.elapsed().as_millis() as u64)
                        })
                    })
                })
            })
            .collect();
        let mut running = Reply::Nil;
        for info in join_all(futures).await {
            if let Some((name, command, ms)) = info? {
                running = Reply::Map(vec![
                    (bulk("name"), bulk(&name)),
                    (bulk("command"), Reply::Array(command.into_iter().map(Reply::Bulk).collect())),
                    (bulk("duration_ms"), Reply::Int(ms as i64)),
                ]);
                break;
            }
        }
        let (libraries, functions) = engine().function_counts();
        let lua = Reply::Map(vec![
            (bulk("libraries_count"), Reply::Int(libraries as i64)),
            (bulk("functions_count"), Reply::Int(functions as i64)),
        ]);
        Ok(Reply::Map(vec![(bulk("running_script"), running), (bulk("engines"), Reply::Map(vec![(bulk("LUA"), lua)]))]))
    })
}

/// What FUNCTION KILL found on one thread.
#[derive(Clone, Copy, PartialEq, Eq)]
enum KillOutcome {
    Idle,
    Killed,
    Unkillable,
}

/// FUNCTION KILL: stops a running function that has not written yet.
fn function_kill<'a>(s: &'a mut Session, _args: Args<'a>) -> LocalFuture<'a, CmdResult> {
    Box::pin(async move {
        let node = &s.node;
        let futures: Vec<_> = (0..node.shards)
            .map(|shard| {
                node.run_unheld(shard, |_| {
                    RUNNING.with(|r| match r.borrow().as_ref() {
                        None => KillOutcome::Idle,
                        Some(run) if run.wrote => KillOutcome::Unkillable,
                        Some(_) if engine().function_busy().kill() => KillOutcome::Killed,
                        Some(_) => KillOutcome::Idle,
                    })
                })
            })
            .collect();
        let mut outcomes = Vec::new();
        for outcome in join_all(futures).await {
            outcomes.push(outcome?);
        }
        if outcomes.contains(&KillOutcome::Killed) {
            Ok(Reply::Ok)
        } else if outcomes.contains(&KillOutcome::Unkillable) {
            Err(CmdError::from_static(
                "UNKILLABLE Sorry the script already executed write commands against the dataset. \
                 You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.",
            ))
        } else {
            Err(CmdError::from_static("NOTBUSY No scripts in execution right now."))
        }
    })
}

/// Redis's error for a subcommand given the wrong arguments.
fn subcommand_syntax_error(args: Args<'_>) -> CmdError {
    CmdError::msg(format!(
        "ERR unknown subcommand or wrong number of arguments for '{}'. Try FUNCTION HELP.",
        String::from_utf8_lossy(args.get(1))
    ))
}
