//! Connection commands: PING, ECHO, QUIT, RESET, SELECT, AUTH, HELLO, the CLIENT
//! subcommands, TIME and CLUSTER KEYSLOT.
//!
//! Every connection lives on one thread and is listed in that thread's
//! [`ClientRegistry`](crate::server::clients::ClientRegistry); CLIENT LIST and CLIENT
//! KILL visit every thread's registry with `run_on`, so they see (and close) connections
//! served anywhere. Replies and error texts are Redis 7.2's.

use bytes::Bytes;

use crate::command::error::{DB_INDEX_OUT_OF_RANGE, NOT_INTEGER, SYNTAX, truncate_lossy};
use crate::command::{CmdError, CmdResult, CommandImpl, Handler, LocalFuture, Registry};
use crate::protocol::{Args, Reply};
use crate::server::Session;
use crate::server::clients::{ClientInfo, Interrupt, ReplyMode};
use crate::shard::ShardState;
use crate::util::join_all;
use crate::util::num::parse_canonical_i64;

/// The version HELLO and INFO report.
pub const REDIS_VERSION: &str = "7.2.0";

/// The connection family's commands.
pub const COMMANDS: &[CommandImpl] = &[
    CommandImpl { name: "ping", handler: Handler::Local(ping) },
    CommandImpl { name: "echo", handler: Handler::Local(echo) },
    CommandImpl { name: "quit", handler: Handler::Local(quit) },
    CommandImpl { name: "reset", handler: Handler::Local(reset) },
    CommandImpl { name: "select", handler: Handler::Local(select) },
    CommandImpl { name: "auth", handler: Handler::Local(auth) },
    CommandImpl { name: "hello", handler: Handler::Local(hello) },
    CommandImpl { name: "time", handler: Handler::Local(time) },
    CommandImpl { name: "cluster|keyslot", handler: Handler::Local(cluster_keyslot) },
    CommandImpl { name: "client|id", handler: Handler::Local(client_id) },
    CommandImpl { name: "client|setname", handler: Handler::Local(client_setname) },
    CommandImpl { name: "client|getname", handler: Handler::Local(client_getname) },
    CommandImpl { name: "client|list", handler: Handler::Async(client_list) },
    CommandImpl { name: "client|info", handler: Handler::Local(client_info) },
    CommandImpl { name: "client|kill", handler: Handler::Async(client_kill) },
    CommandImpl { name: "client|unblock", handler: Handler::Async(client_unblock) },
    CommandImpl { name: "client|reply", handler: Handler::Local(client_reply) },
    CommandImpl { name: "client|setinfo", handler: Handler::Local(client_setinfo) },
    CommandImpl { name: "client|no-evict", handler: Handler::Local(client_no_evict) },
    CommandImpl { name: "client|no-touch", handler: Handler::Local(client_no_touch) },
    CommandImpl { name: "client|help", handler: Handler::Local(client_help) },
];

/// `WRONGPASS ...`: AUTH or HELLO AUTH with a bad user or password.
const WRONGPASS: CmdError = CmdError::from_static("WRONGPASS invalid username-password pair or user is disabled.");

/// PING [message]: answers PONG, or the message; in RESP2 subscribe mode, `["pong", message]`.
fn ping(session: &mut Session, args: Args<'_>) -> CmdResult {
    if args.len() > 2 {
        return Err(CmdError::arity("ping"));
    }
    if crate::server::pubsub::in_resp2_subscribe_mode(session) {
        let message = if args.len() == 2 { Reply::bulk(args.get(1)) } else { Reply::bulk_static("") };
        return Ok(Reply::Array(vec![Reply::bulk_static("pong"), message]));
    }
    match args.len() {
        1 => Ok(Reply::simple("PONG")),
        _ => Ok(Reply::bulk(args.get(1))),
    }
}

/// ECHO message: answers the message.
fn echo(_session: &mut Session, args: Args<'_>) -> CmdResult {
    Ok(Reply::bulk(args.get(1)))
}

/// QUIT: answers OK and closes the connection.
fn quit(session: &mut Session, _args: Args<'_>) -> CmdResult {
    session.close_after_reply = true;
    Ok(Reply::Ok)
}

/// RESET: back to a fresh connection's state (database 0, RESP2, no name, replies on,
/// no-evict and no-touch off, no subscriptions); answers `+RESET`. The library name and
/// version stay.
fn reset(session: &mut Session, _args: Args<'_>) -> CmdResult {
    crate::server::pubsub::unsubscribe_all(&session.node, &session.handle);
    session.discard_transaction();
    {
        let mut info = session.handle.info.borrow_mut();
        info.db = 0;
        info.resp = 2;
        info.name = None;
        info.no_evict = false;
        info.no_touch = false;
        // Redis clears "replies off" and "skip the next reply"; a skip that applies to
        // this very command (SKIP was the previous command) still applies.
        if matches!(info.reply_mode, ReplyMode::Off) {
            info.reply_mode = ReplyMode::On;
        }
    }
    Ok(Reply::simple("RESET"))
}

/// SELECT index: selects the database for this connection.
fn select(session: &mut Session, args: Args<'_>) -> CmdResult {
    let index = parse_canonical_i64(args.get(1)).ok_or(NOT_INTEGER)?;
    if i32::try_from(index).is_err() {
        return Err(CmdError::err(format!("value is out of range, value must between {} and {}", i32::MIN, i32::MAX)));
    }
    if index < 0 || index as usize >= session.config().databases() {
        return Err(DB_INDEX_OUT_OF_RANGE);
    }
    session.set_db(index as usize);
    Ok(Reply::Ok)
}

/// Checks `username`/`password` against the only user, `default` (whose password is
/// `requirepass`; none means any password is accepted).
fn authenticate(session: &Session, username: &[u8], password: &[u8]) -> Result<(), CmdError> {
    if username != b"default" {
        return Err(WRONGPASS);
    }
    let config = session.config();
    let required = config.requirepass();
    if required.is_empty() || required.as_bytes() == password { Ok(()) } else { Err(WRONGPASS) }
}

/// AUTH [username] password: authenticates the connection.
fn auth(session: &mut Session, args: Args<'_>) -> CmdResult {
    match args.len() {
        2 => {
            if session.config().requirepass().is_empty() {
                return Err(CmdError::from_static(
                    "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?",
                ));
            }
            authenticate(session, b"default", args.get(1))?;
        }
        3 => authenticate(session, args.get(1), args.get(2))?,
        _ => return Err(SYNTAX),
    }
    Ok(Reply::Ok)
}

/// HELLO [protover [AUTH username password] [SETNAME clientname]]: switches the protocol
/// version, optionally authenticating and naming the connection, and describes the server.
fn hello(session: &mut Session, args: Args<'_>) -> CmdResult {
    let mut version = None;
    let mut next = 1;
    if args.len() >= 2 {
        let v = parse_canonical_i64(args.get(1))
            .ok_or_else(|| CmdError::from_static("ERR Protocol version is not an integer or out of range"))?;
        if !(2..=3).contains(&v) {
            return Err(CmdError::from_static("NOPROTO unsupported protocol version"));
        }
        version = Some(v as u8);
        next = 2;
    }
    let mut credentials = None;
    let mut name = None;
    let mut j = next;
    while j < args.len() {
        let opt = args.get(j);
        let more = args.len() - 1 - j;
        if opt.eq_ignore_ascii_case(b"auth") && more >= 2 {
            credentials = Some((args.get(j + 1), args.get(j + 2)));
            j += 3;
        } else if opt.eq_ignore_ascii_case(b"setname") && more >= 1 {
            let value = args.get(j + 1);
            validate_client_name(value)?;
            name = Some(value);
            j += 2;
        } else {
            return Err(CmdError::err(format!("Syntax error in HELLO option '{}'", truncate_lossy(opt, 128))));
        }
    }
    if let Some((user, pass)) = credentials {
        authenticate(session, user, pass)?;
    }
    if let Some(name) = name {
        set_client_name(session, name);
    }
    if let Some(v) = version {
        session.set_resp(v);
    }
    let resp = session.handle.info.borrow().resp;
    Ok(Reply::Map(vec![
        (Reply::bulk_static("server"), Reply::bulk_static("redis")),
        (Reply::bulk_static("version"), Reply::bulk_static(REDIS_VERSION)),
        (Reply::bulk_static("proto"), Reply::Int(i64::from(resp))),
        (Reply::bulk_static("id"), Reply::Int(session.id() as i64)),
        (Reply::bulk_static("mode"), Reply::bulk_static("standalone")),
        (Reply::bulk_static("role"), Reply::bulk_static("master")),
        (Reply::bulk_static("modules"), Reply::Array(Vec::new())),
    ]))
}

/// TIME: the server's clock as [unix seconds, microseconds].
fn time(_session: &mut Session, _args: Args<'_>) -> CmdResult {
    let us = crate::util::now_us();
    Ok(Reply::Array(vec![
        Reply::bulk_string((us / 1_000_000).to_string()),
        Reply::bulk_string((us % 1_000_000).to_string()),
    ]))
}

/// CLUSTER KEYSLOT key: the hash slot of the key (CRC16 of the key or its `{tag}`).
fn cluster_keyslot(_session: &mut Session, args: Args<'_>) -> CmdResult {
    Ok(Reply::Int(i64::from(crate::shard::slot::key_slot(args.get(2)))))
}

// ---------------------------------------------------------------------------------------
// CLIENT

/// CLIENT ID: this connection's id.
fn client_id(session: &mut Session, _args: Args<'_>) -> CmdResult {
    Ok(Reply::Int(session.id() as i64))
}

/// Redis's check for client names and library names/versions: printable ASCII, no spaces.
fn printable_no_spaces(value: &[u8]) -> bool {
    value.iter().all(|&c| (b'!'..=b'~').contains(&c))
}

/// Checks a client name as Redis does (empty is allowed: it clears the name).
fn validate_client_name(name: &[u8]) -> Result<(), CmdError> {
    if printable_no_spaces(name) {
        Ok(())
    } else {
        Err(CmdError::from_static("ERR Client names cannot contain spaces, newlines or special characters."))
    }
}

/// Sets (or with an empty name clears) the connection's name.
fn set_client_name(session: &Session, name: &[u8]) {
    session.handle.info.borrow_mut().name = if name.is_empty() { None } else { Some(Bytes::copy_from_slice(name)) };
}

/// CLIENT SETNAME name: names the connection (an empty name clears it).
fn client_setname(session: &mut Session, args: Args<'_>) -> CmdResult {
    let name = args.get(2);
    validate_client_name(name)?;
    set_client_name(session, name);
    Ok(Reply::Ok)
}

/// CLIENT GETNAME: the connection's name, or nil.
fn client_getname(session: &mut Session, _args: Args<'_>) -> CmdResult {
    Ok(match &session.handle.info.borrow().name {
        Some(name) => Reply::Bulk(name.clone()),
        None => Reply::Nil,
    })
}

/// CLIENT SETINFO LIB-NAME|LIB-VER value: records the client library's name or version.
fn client_setinfo(session: &mut Session, args: Args<'_>) -> CmdResult {
    let attr = args.get(2);
    let value = args.get(3);
    let is_name = if attr.eq_ignore_ascii_case(b"lib-name") {
        true
    } else if attr.eq_ignore_ascii_case(b"lib-ver") {
        false
    } else {
        return Err(CmdError::err(format!("Unrecognized option '{}'", truncate_lossy(attr, 128))));
    };
    if !printable_no_spaces(value) {
        return Err(CmdError::err(format!(
            "{} cannot contain spaces, newlines or special characters.",
            truncate_lossy(attr, 128)
        )));
    }
    let stored = if value.is_empty() { None } else { Some(Bytes::copy_from_slice(value)) };
    let mut info = session.handle.info.borrow_mut();
    if is_name {
        info.lib_name = stored;
    } else {
        info.lib_ver = stored;
    }
    Ok(Reply::Ok)
}

/// Parses `ON` / `OFF` (any case), else a syntax error.
fn on_off(arg: &[u8]) -> Result<bool, CmdError> {
    if arg.eq_ignore_ascii_case(b"on") {
        Ok(true)
    } else if arg.eq_ignore_ascii_case(b"off") {
        Ok(false)
    } else {
        Err(SYNTAX)
    }
}

/// CLIENT NO-EVICT ON|OFF: exempts the connection from client eviction.
fn client_no_evict(session: &mut Session, args: Args<'_>) -> CmdResult {
    let on = on_off(args.get(2))?;
    session.handle.info.borrow_mut().no_evict = on;
    Ok(Reply::Ok)
}

/// CLIENT NO-TOUCH ON|OFF: the connection's commands leave keys' LRU/LFU data alone.
fn client_no_touch(session: &mut Session, args: Args<'_>) -> CmdResult {
    let on = on_off(args.get(2))?;
    session.handle.info.borrow_mut().no_touch = on;
    Ok(Reply::Ok)
}

/// CLIENT REPLY ON|OFF|SKIP: turns replies on or off, or skips the next command's reply.
/// OFF and SKIP are not answered; SKIP has no effect while replies are off.
fn client_reply(session: &mut Session, args: Args<'_>) -> CmdResult {
    let mode = args.get(2);
    if mode.eq_ignore_ascii_case(b"on") {
        session.set_reply_mode(ReplyMode::On);
    } else if mode.eq_ignore_ascii_case(b"off") {
        session.set_reply_mode(ReplyMode::Off);
    } else if mode.eq_ignore_ascii_case(b"skip") {
        if session.reply_mode() != ReplyMode::Off {
            session.set_reply_mode(ReplyMode::Skip);
        }
    } else {
        return Err(SYNTAX);
    }
    Ok(Reply::Ok)
}

/// CLIENT INFO: this connection's CLIENT LIST line.
fn client_info(session: &mut Session, args: Args<'_>) -> CmdResult {
    let info = session.handle.info.borrow().clone();
    let mut text = client_line(&info, session.registry(), crate::util::now_ms(), argv_mem(args));
    text.push('\n');
    Ok(Reply::Verbatim("txt", Bytes::from(text)))
}

/// Bytes of the current command's arguments (CLIENT LIST's `argv-mem` for the caller).
fn argv_mem(args: Args<'_>) -> usize {
    args.iter().map(<[u8]>::len).sum()
}

/// A client type as CLIENT LIST / CLIENT KILL name it.
#[derive(Debug, Clone, Copy, PartialEq)]
enum ClientType {
    Normal,
    Replica,
    Master,
    PubSub,
}

/// Redis's `getClientTypeByName`.
fn client_type_by_name(name: &[u8]) -> Result<ClientType, CmdError> {
    let lower = name.to_ascii_lowercase();
    match lower.as_slice() {
        b"normal" => Ok(ClientType::Normal),
        b"slave" | b"replica" => Ok(ClientType::Replica),
        b"pubsub" => Ok(ClientType::PubSub),
        b"master" => Ok(ClientType::Master),
        _ => Err(CmdError::err(format!("Unknown client type '{}'", truncate_lossy(name, 128)))),
    }
}

/// The type of a connection: `pubsub` while it has subscriptions (tallkv has no
/// replication), `normal` otherwise.
fn client_type(info: &ClientInfo) -> ClientType {
    if info.sub + info.psub + info.ssub > 0 { ClientType::PubSub } else { ClientType::Normal }
}

/// Copies of every live connection's info on every thread, by id.
async fn all_clients(session: &Session) -> Result<Vec<ClientInfo>, CmdError> {
    let node = &session.node;
    let futures: Vec<_> = (0..node.shards)
        .map(|shard| {
            node.run_unheld(shard, |state: &mut ShardState| {
                state.clients.iter().filter(|h| !h.is_killed()).map(|h| h.info.borrow().clone()).collect::<Vec<_>>()
            })
        })
        .collect();
    let mut all = Vec::new();
    for infos in join_all(futures).await {
        all.extend(infos?);
    }
    all.sort_by_key(|info| info.id);
    Ok(all)
}

/// CLIENT LIST [TYPE NORMAL|MASTER|REPLICA|PUBSUB] [ID id ...]: every connection's line.
fn client_list<'a>(s: &'a mut Session, args: Args<'a>) -> LocalFuture<'a, CmdResult> {
    Box::pin(async move {
        let mut type_filter = None;
        let mut ids: Option<Vec<i64>> = None;
        if args.len() == 4 && args.get(2).eq_ignore_ascii_case(b"type") {
            type_filter = Some(client_type_by_name(args.get(3))?);
        } else if args.len() > 3 && args.get(2).eq_ignore_ascii_case(b"id") {
            let mut list = Vec::with_capacity(args.len() - 3);
            for arg in args.iter_from(3) {
                list.push(parse_canonical_i64(arg).ok_or_else(|| CmdError::err("Invalid client ID"))?);
            }
            ids = Some(list);
        } else if args.len() != 2 {
            return Err(SYNTAX);
        }
        let clients = all_clients(s).await?;
        let now = crate::util::now_ms();
        let me = s.id();
        let my_argv = argv_mem(args);
        let registry = s.registry();
        let line = |info: &ClientInfo| {
            let mut text = client_line(info, registry, now, if info.id == me { my_argv } else { 0 });
            text.push('\n');
            text
        };
        let mut out = String::new();
        match ids {
            Some(ids) => {
                for id in ids {
                    if let Some(info) = clients.iter().find(|c| c.id as i64 == id) {
                        out.push_str(&line(info));
                    }
                }
            }
            None => {
                for info in clients.iter().filter(|c| type_filter.is_none_or(|t| client_type(c) == t)) {
                    out.push_str(&line(info));
                }
            }
        }
        Ok(Reply::Verbatim("txt", Bytes::from(out)))
    })
}

/// One CLIENT LIST line (without the newline), in Redis 7.2's field order.
pub fn client_line(info: &ClientInfo, registry: &Registry, now_ms: i64, argv_mem: usize) -> String {
    let mut flags = String::new();
    if info.sub + info.psub + info.ssub > 0 {
        flags.push('P');
    }
    if info.multi >= 0 {
        flags.push('x');
    }
    if info.blocked {
        flags.push('b');
    }
    if info.no_evict {
        flags.push('e');
    }
    if info.no_touch {
        flags.push('T');
    }
    if flags.is_empty() {
        flags.push('N');
    }
    let lossy = |b: &Option<Bytes>| b.as_ref().map(|v| String::from_utf8_lossy(v).into_owned()).unwrap_or_default();
    let cmd = match info.last_cmd {
        Some(id) => registry.name_of(id),
        None => "NULL",
    };
    // The connection's read buffer, its output buffer and the arguments in use.
    let rbs = REPLY_BUFFER_SIZE.max(info.obl);
    let tot_mem = info.qbuf + info.qbuf_free + rbs + argv_mem + CLIENT_OVERHEAD;
    format!(
        "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={} db={} sub={} psub={} ssub={} multi={} \
         qbuf={} qbuf-free={} argv-mem={} multi-mem=0 rbs={} rbp={} obl={} oll=0 omem=0 tot-mem={} events=r \
         cmd={} user=default redir=-1 resp={} lib-name={} lib-ver={}",
        info.id,
        info.addr,
        info.laddr,
        info.fd,
        lossy(&info.name),
        (now_ms / 1000 - info.created_ms / 1000).max(0),
        (now_ms / 1000 - info.last_interaction_ms / 1000).max(0),
        flags,
        info.db,
        info.sub,
        info.psub,
        info.ssub,
        info.multi,
        info.qbuf,
        info.qbuf_free,
        argv_mem,
        rbs,
        info.obl,
        info.obl,
        tot_mem,
        cmd,
        info.resp,
        lossy(&info.lib_name),
        lossy(&info.lib_ver),
    )
}

/// The size a connection's reply buffer starts with (the connection loop's first allocation).
const REPLY_BUFFER_SIZE: usize = 16 * 1024;
/// Bytes a connection's bookkeeping takes besides its buffers (estimate).
const CLIENT_OVERHEAD: usize = 1024;

/// CLIENT UNBLOCK client-id [TIMEOUT|ERROR]: ends another connection's blocking command
/// as if it timed out (or with `-UNBLOCKED`); 1 if it was blocked, else 0.
fn client_unblock<'a>(s: &'a mut Session, args: Args<'a>) -> LocalFuture<'a, CmdResult> {
    Box::pin(async move {
        if args.len() > 4 {
            return Err(SYNTAX);
        }
        let why = match args.try_get(3) {
            None => Interrupt::UnblockTimeout,
            Some(reason) if reason.eq_ignore_ascii_case(b"timeout") => Interrupt::UnblockTimeout,
            Some(reason) if reason.eq_ignore_ascii_case(b"error") => Interrupt::UnblockError,
            Some(_) => return Err(CmdError::err("CLIENT UNBLOCK reason should be TIMEOUT or ERROR")),
        };
        let id = parse_canonical_i64(args.get(2)).ok_or(NOT_INTEGER)?;
        let node = &s.node;
        let futures: Vec<_> = (0..node.shards)
            .map(|shard| {
                node.run_unheld(shard, move |state: &mut ShardState| {
                    let target = state.clients.iter().find(|h| h.info.borrow().id as i64 == id);
                    match target {
                        Some(handle) if handle.is_blocked() => {
                            handle.interrupt(why);
                            1
                        }
                        _ => 0,
                    }
                })
            })
            .collect();
        let mut unblocked = 0;
        for result in join_all(futures).await {
            unblocked += result?;
        }
        Ok(Reply::Int(unblocked.min(1)))
    })
}

/// Which connections CLIENT KILL closes.
#[derive(Clone, Default)]
struct KillFilter {
    addr: Option<Vec<u8>>,
    laddr: Option<Vec<u8>>,
    client_type: Option<ClientType>,
    id: Option<u64>,
    max_age: i64,
}

impl KillFilter {
    fn matches(&self, info: &ClientInfo, now_ms: i64) -> bool {
        if self.addr.as_ref().is_some_and(|a| a.as_slice() != info.addr.as_bytes()) {
            return false;
        }
        if self.laddr.as_ref().is_some_and(|a| a.as_slice() != info.laddr.as_bytes()) {
            return false;
        }
        if self.client_type.is_some_and(|t| t != client_type(info)) {
            return false;
        }
        if self.id.is_some_and(|id| id != info.id) {
            return false;
        }
        if self.max_age != 0 && now_ms / 1000 - info.created_ms / 1000 < self.max_age {
            return false;
        }
        true
    }
}

/// CLIENT KILL ip:port | CLIENT KILL [ID id] [TYPE type] [USER user] [ADDR ip:port]
/// [LADDR ip:port] [SKIPME yes|no] [MAXAGE seconds]: closes matching connections on
/// every thread. The old form answers OK or `No such client`; the new one the count.
fn client_kill<'a>(s: &'a mut Session, args: Args<'a>) -> LocalFuture<'a, CmdResult> {
    Box::pin(async move {
        let mut filter = KillFilter::default();
        let old_form = args.len() == 3;
        let mut skipme = true;
        if old_form {
            filter.addr = Some(args.get(2).to_vec());
            skipme = false;
        } else {
            let mut i = 2;
            while i < args.len() {
                let opt = args.get(i);
                if i + 1 >= args.len() {
                    return Err(SYNTAX);
                }
                let value = args.get(i + 1);
                if opt.eq_ignore_ascii_case(b"id") {
                    let id = parse_canonical_i64(value)
                        .filter(|&v| v >= 1)
                        .ok_or_else(|| CmdError::err("client-id should be greater than 0"))?;
                    filter.id = Some(id as u64);
                } else if opt.eq_ignore_ascii_case(b"type") {
                    filter.client_type = Some(client_type_by_name(value)?);
                } else if opt.eq_ignore_ascii_case(b"addr") {
                    filter.addr = Some(value.to_vec());
                } else if opt.eq_ignore_ascii_case(b"laddr") {
                    filter.laddr = Some(value.to_vec());
                } else if opt.eq_ignore_ascii_case(b"user") {
                    if value != b"default" {
                        return Err(CmdError::err(format!("No such user '{}'", truncate_lossy(value, 128))));
                    }
                } else if opt.eq_ignore_ascii_case(b"skipme") {
                    if value.eq_ignore_ascii_case(b"yes") {
                        skipme = true;
                    } else if value.eq_ignore_ascii_case(b"no") {
                        skipme = false;
                    } else {
                        return Err(SYNTAX);
                    }
                } else if opt.eq_ignore_ascii_case(b"maxage") {
                    filter.max_age = parse_canonical_i64(value)
                        .ok_or_else(|| CmdError::err("maxage is not an integer or out of range"))?;
                } else {
                    return Err(SYNTAX);
                }
                i += 2;
            }
        }
        let me = s.id();
        let node = &s.node;
        let futures: Vec<_> = (0..node.shards)
            .map(|shard| {
                let filter = filter.clone();
                node.run_unheld(shard, move |state: &mut ShardState| {
                    let now = crate::util::now_ms();
                    let mut killed = 0i64;
                    for handle in state.clients.iter() {
                        if handle.is_killed() {
                            continue;
                        }
                        let matched = {
                            let info = handle.info.borrow();
                            info.id != me && filter.matches(&info, now)
                        };
                        if matched {
                            handle.kill();
                            killed += 1;
                        }
                    }
                    killed
                })
            })
            .collect();
        let mut killed = 0i64;
        for count in join_all(futures).await {
            killed += count?;
        }
        if !skipme && filter.matches(&s.handle.info.borrow(), crate::util::now_ms()) {
            killed += 1;
            s.close_after_reply = true;
        }
        if old_form {
            if killed == 0 { Err(CmdError::err("No such client")) } else { Ok(Reply::Ok) }
        } else {
            Ok(Reply::Int(killed))
        }
    })
}

/// CLIENT HELP: the subcommands tallkv implements, in Redis's words.
fn client_help(_session: &mut Session, args: Args<'_>) -> CmdResult {
    Ok(help_reply(
        args.get(0),
        &[
            "GETNAME",
            "    Return the name of the current connection.",
            "ID",
            "    Return the ID of the current connection.",
            "INFO",
            "    Return information about the current client connection.",
            "KILL <ip:port>",
            "    Kill connection made from <ip:port>.",
            "KILL <option> <value> [<option> <value> [...]]",
            "    Kill connections. Options are:",
            "    * ADDR (<ip:port>|<unixsocket>:0)",
            "      Kill connections made from the specified address",
            "    * LADDR (<ip:port>|<unixsocket>:0)",
            "      Kill connections made to specified local address",
            "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
            "      Kill connections by type.",
            "    * USER <username>",
            "      Kill connections authenticated by <username>.",
            "    * SKIPME (YES|NO)",
            "      Skip killing current connection (default: yes).",
            "    * ID <client-id>",
            "      Kill connections by client id.",
            "    * MAXAGE <maxage>",
            "      Kill connections older than the specified age.",
            "LIST [options ...]",
            "    Return information about client connections. Options:",
            "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
            "      Return clients of specified type.",
            "REPLY (ON|OFF|SKIP)",
            "    Control the replies sent to the current connection.",
            "SETNAME <name>",
            "    Assign the name <name> to the current connection.",
            "SETINFO <option> <value>",
            "    Set client meta attr. Options are:",
            "    * LIB-NAME: the client lib name.",
            "    * LIB-VER: the client lib version.",
            "NO-EVICT (ON|OFF)",
            "    Protect current client connection from eviction.",
            "NO-TOUCH (ON|OFF)",
            "    Will not touch LRU/LFU stats when this mode is on.",
        ],
    ))
}

/// Redis's `addReplyHelp`: a header naming the command, the lines, then HELP's own entry.
pub fn help_reply(command: &[u8], lines: &[&'static str]) -> Reply {
    let mut out = Vec::with_capacity(lines.len() + 3);
    out.push(Reply::Simple(Bytes::from(format!(
        "{} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        String::from_utf8_lossy(command).to_ascii_uppercase()
    ))));
    out.extend(lines.iter().map(|l| Reply::simple(l)));
    out.push(Reply::simple("HELP"));
    out.push(Reply::simple("    Prints this help."));
    Reply::Array(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_names_are_printable_ascii_without_spaces() {
        assert!(validate_client_name(b"").is_ok());
        assert!(validate_client_name(b"abc-1_2:~!").is_ok());
        assert!(validate_client_name(b"a b").is_err());
        assert!(validate_client_name(b"a\nb").is_err());
        assert!(validate_client_name("é".as_bytes()).is_err());
        assert!(validate_client_name(b"\x7f").is_err());
    }

    #[test]
    fn client_types_by_name() {
        assert!(client_type_by_name(b"NORMAL").is_ok_and(|t| t == ClientType::Normal));
        assert!(client_type_by_name(b"slave").is_ok_and(|t| t == ClientType::Replica));
        assert!(client_type_by_name(b"replica").is_ok_and(|t| t == ClientType::Replica));
        assert!(client_type_by_name(b"PubSub").is_ok_and(|t| t == ClientType::PubSub));
        assert!(client_type_by_name(b"master").is_ok_and(|t| t == ClientType::Master));
        assert!(client_type_by_name(b"foo").is_err());
    }
}
