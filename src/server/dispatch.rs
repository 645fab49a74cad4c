//! From a parsed request to a reply: look the command up, check arity, find its keys,
//! and run it where they live — here, on one other shard, or across several.

use std::collections::BTreeMap;

use crate::command::{
    CmdError, CmdResult, Command, Flags, Handler, KeyedFn, MultiShard, Registry, error::truncate_lossy,
};
use crate::persist::journal;
use crate::protocol::{Args, OwnedArgs, Reply};
use crate::shard::watch::WatchedKeys;
use crate::shard::{Entry, Key, KeyCtx, Keyspace, slot::key_shard};
use crate::util::join_all;

use super::Session;
use super::clients::ReplyMode;

/// Runs one request, already resolved by [`route`], and returns its reply. Inside MULTI,
/// queues it instead (`+QUEUED`), except the commands that act on the transaction itself.
pub async fn dispatch(session: &mut Session, resolved: Result<&Command, CmdError>, args: Args<'_>) -> Reply {
    if let Some(reply) = queue_in_multi(session, &resolved, args) {
        return reply;
    }
    run_resolved(session, resolved, args).await
}

/// As [`dispatch`], when that needs no waiting (see [`run_now`]); `None` if it does. The
/// common case (a command on this thread's free shard) then builds no future: a command's
/// future is large, and moving it costs more than running GET.
pub fn dispatch_now(session: &mut Session, resolved: &Result<&Command, CmdError>, args: Args<'_>) -> Option<Reply> {
    if let Some(reply) = queue_in_multi(session, resolved, args) {
        return Some(reply);
    }
    match resolved {
        Ok(cmd) => run_now(session, cmd, args),
        Err(e) => Some(e.clone().into()),
    }
}

/// Inside MULTI, queues the request and returns its reply (`+QUEUED` or an error that
/// aborts the transaction); `None` outside MULTI and for the commands that act on it.
fn queue_in_multi(session: &mut Session, resolved: &Result<&Command, CmdError>, args: Args<'_>) -> Option<Reply> {
    let multi = session.multi.as_mut()?;
    match resolved {
        Err(e) => {
            multi.aborted = true;
            Some(e.clone().into())
        }
        Ok(cmd) if !matches!(cmd.spec.name, "exec" | "discard" | "multi" | "watch" | "quit" | "reset") => {
            if cmd.flags.contains(Flags::NO_MULTI) {
                multi.aborted = true;
                return Some(Reply::error("ERR Command not allowed inside a transaction"));
            }
            multi.queued.push(args.to_owned_args());
            session.handle.info.borrow_mut().multi = multi.queued.len() as i64;
            Some(Reply::simple("QUEUED"))
        }
        Ok(_) => None,
    }
}

/// Runs one request (never queued), e.g. a command EXEC runs.
pub async fn run_resolved(session: &mut Session, resolved: Result<&Command, CmdError>, args: Args<'_>) -> Reply {
    let result = match resolved {
        Ok(cmd) => run(session, cmd, args).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(reply) => reply,
        Err(e) => e.into(),
    }
}

/// Resolves the command (and subcommand) named by `args`, with Redis's errors.
pub fn resolve<'r>(registry: &'r Registry, args: Args<'_>) -> Result<&'r Command, CmdError> {
    let Some(mut cmd) = registry.get(args.get(0)) else {
        return Err(unknown_command(args));
    };
    if !cmd.subcommands.is_empty() {
        if args.len() >= 2 {
            let sub = String::from_utf8_lossy(args.get(1)).to_ascii_lowercase();
            match cmd.subcommands.get(&sub) {
                Some(found) => cmd = found,
                None => return Err(CmdError::unknown_subcommand(args.get(1), cmd.spec.name)),
            }
        } else if cmd.handler.is_none() {
            return Err(CmdError::arity(&cmd.full_name));
        }
    }
    if !cmd.arity_ok(args.len()) {
        return Err(CmdError::arity(&cmd.full_name));
    }
    Ok(cmd)
}

async fn run(session: &mut Session, cmd: &Command, args: Args<'_>) -> CmdResult {
    let Some(handler) = cmd.handler else {
        return Err(CmdError::arity(&cmd.full_name));
    };
    start(session, cmd)?;
    match handler {
        Handler::Local(f) => f(session, args),
        Handler::Async(f) => f(session, args).await,
        Handler::Keyed { run, multi } => run_keyed(session, cmd, run, multi, args).await,
    }
}

/// Runs `cmd` at once if that needs no waiting (a command of this thread, or a keyed one
/// whose keys are all on this thread's shard while the shard lets the session run) and
/// returns its reply; `None` if it must go through [`run_resolved`]. For scripts, whose
/// calls then need no future.
pub fn run_now(session: &mut Session, cmd: &Command, args: Args<'_>) -> Option<Reply> {
    let result = match cmd.handler? {
        Handler::Local(f) => start(session, cmd).and_then(|()| f(session, args)),
        Handler::Keyed { run, .. } => {
            let node = &session.node;
            match spread(cmd, args, node.shards, node.id) {
                Spread::One(target) if target == node.id && node.gate_allows(session.tx_id()) => {}
                _ => return None,
            }
            start(session, cmd).and_then(|()| run_here(node, run, args, session.db(), session.no_touch()))
        }
        Handler::Async(_) => return None,
    };
    Some(result.unwrap_or_else(Into::into))
}

/// What every command does before it runs: note it as the client's last command, and
/// refuse a write while persistence is failing.
fn start(session: &Session, cmd: &Command) -> Result<(), CmdError> {
    session.handle.info.borrow_mut().last_cmd = Some(cmd.id);
    if cmd.flags.contains(Flags::WRITE)
        && let Some(refused) = write_refusal(&session.node.shared)
    {
        return Err(refused);
    }
    Ok(())
}

/// The error write commands get while persistence is failing (`-MISCONF ...`), if it is:
/// one atomic load when all is well.
#[inline]
pub fn write_refusal(shared: &super::Shared) -> Option<CmdError> {
    shared.write_refusal.check()
}

/// Runs a keyed command: on this shard, on the one shard owning all its keys, or across
/// shards through the coordination mechanism.
pub(crate) async fn run_keyed(
    session: &Session,
    cmd: &Command,
    run: KeyedFn,
    multi: MultiShard,
    args: Args<'_>,
) -> CmdResult {
    let node = &session.node;
    let db = session.db();
    let no_touch = session.no_touch();
    let keys = match spread(cmd, args, node.shards, node.id) {
        Spread::One(target) => return run_on_one_shard(session, target, run, args, db, no_touch).await,
        Spread::Many(keys) => keys,
    };
    match multi {
        MultiShard::SumInts | MultiShard::PerKeyArray | MultiShard::AllOk => {
            // A last key whose group is cut short (MSET a 1 b) is Redis's arity error, and no
            // shard may run its part first.
            if keys.positions.last().is_some_and(|&pos| pos + keys.span > args.len()) {
                return Err(CmdError::arity(&cmd.full_name));
            }
            split(session, run, multi, args, &keys.positions, keys.span, db, no_touch).await
        }
        MultiShard::Gather => gather(session, cmd, run, args, &keys.positions, vec![db], db, no_touch).await,
        MultiShard::GatherDbs(dbs) => {
            let dbs = dbs(args, db)?;
            gather(session, cmd, run, args, &keys.positions, dbs, db, no_touch).await
        }
    }
}

/// Where a keyed command's keys are.
enum Spread {
    /// All on this shard (a command without keys: the caller's own).
    One(usize),
    /// On several shards.
    Many(crate::command::keys::KeyPositions),
}

/// Which shards `cmd`'s keys are on; `own` is this thread's shard.
fn spread(cmd: &Command, args: Args<'_>, shards: usize, own: usize) -> Spread {
    // One key at a fixed position needs no key search and no allocation.
    if let Some(pos) = cmd.single_key.filter(|&p| p < args.len()) {
        return Spread::One(key_shard(args.get(pos), shards));
    }
    let keys = cmd.key_positions(args);
    let mut target = None;
    for &pos in &keys.positions {
        let shard = key_shard(args.get(pos), shards);
        match target {
            None => target = Some(shard),
            Some(t) if t != shard => return Spread::Many(keys),
            Some(_) => {}
        }
    }
    Spread::One(target.unwrap_or(own))
}

/// Runs a keyed command on this thread's shard, which lets the caller run now.
fn run_here(node: &crate::shard::Node, run: KeyedFn, args: Args<'_>, db: usize, no_touch: bool) -> CmdResult {
    node.refresh_config();
    let result = {
        let mut state = node.state.borrow_mut();
        let state = &mut *state;
        journal::run_keyed(&mut state.keyspace, &state.config, db, no_touch, node.now_ms(), run, args)
    };
    node.after_commands();
    result
}

/// Runs a command whose keys all live on `target`: at once when that is this shard and
/// nothing holds it, otherwise forwarded (or queued) as a closure.
async fn run_on_one_shard(
    session: &Session,
    target: usize,
    run: KeyedFn,
    args: Args<'_>,
    db: usize,
    no_touch: bool,
) -> CmdResult {
    let node = &session.node;
    let tx = session.tx_id();
    if target == node.id && node.gate_allows(tx) {
        return run_here(node, run, args, db, no_touch);
    }
    let owned = args.to_owned_args();
    node.run_on(target, tx, move |state| {
        journal::run_keyed(&mut state.keyspace, &state.config, db, no_touch, crate::util::now_ms(), run, owned.view())
    })
    .await?
}

/// Most commands one forwarded batch carries.
pub const MAX_BATCH: usize = 64;

/// Consecutive pipelined commands of one connection that all run on the same other
/// shard: they travel as one message and come back as one, in order.
pub struct RemoteBatch {
    /// The shard that runs them.
    pub shard: usize,
    commands: Vec<(KeyedFn, OwnedArgs)>,
    last_command: usize,
}

impl RemoteBatch {
    /// How many commands the batch holds.
    pub fn len(&self) -> usize {
        self.commands.len()
    }

    /// Whether the batch holds no command.
    pub fn is_empty(&self) -> bool {
        self.commands.is_empty()
    }

    /// Adds a command [`route`] sent to the same shard.
    pub fn push(&mut self, command: Forwardable) {
        self.commands.push((command.run, command.args));
        self.last_command = command.id;
    }
}

/// A command that may join a [`RemoteBatch`].
pub struct Forwardable {
    /// The shard owning all its keys.
    pub shard: usize,
    run: KeyedFn,
    args: OwnedArgs,
    id: usize,
}

impl Forwardable {
    /// A batch that starts with this command.
    pub fn into_batch(self) -> RemoteBatch {
        let mut batch = RemoteBatch { shard: self.shard, commands: Vec::new(), last_command: self.id };
        batch.push(self);
        batch
    }
}

/// Where a request goes.
pub enum Route<'r> {
    /// Into a batch for another shard.
    Batch(Forwardable),
    /// Through [`dispatch`] on this connection, with the command resolved (or the error
    /// resolving it gave).
    Here(Result<&'r Command, CmdError>),
}

/// Resolves the command in `args` once and decides where it runs: a keyed command whose
/// keys all live on one shard other than this one, sent while replies are on, may join a
/// batch; anything else (errors included) runs here, one by one.
pub fn route<'r>(session: &Session, registry: &'r Registry, args: Args<'_>) -> Route<'r> {
    let resolved = resolve(registry, args);
    let node = &session.node;
    let Ok(cmd) = resolved else {
        return Route::Here(resolved);
    };
    let Some(Handler::Keyed { run, .. }) = cmd.handler else {
        return Route::Here(resolved);
    };
    if node.shards == 1 || session.reply_mode() != ReplyMode::On || session.multi.is_some() {
        return Route::Here(resolved);
    }
    if cmd.flags.contains(Flags::WRITE) && write_refusal(&node.shared).is_some() {
        // Refused where it is run, with the error.
        return Route::Here(resolved);
    }
    let shard = match cmd.single_key.filter(|&p| p < args.len()) {
        Some(pos) => Some(key_shard(args.get(pos), node.shards)),
        None => {
            let keys = cmd.key_positions(args);
            let cut_short = keys.positions.last().is_some_and(|&pos| pos + keys.span > args.len());
            match keys.positions.split_first() {
                Some((&first, rest)) if !cut_short => {
                    let shard = key_shard(args.get(first), node.shards);
                    rest.iter().all(|&pos| key_shard(args.get(pos), node.shards) == shard).then_some(shard)
                }
                _ => None,
            }
        }
    };
    match shard {
        Some(shard) if shard != node.id => {
            Route::Batch(Forwardable { shard, run, args: args.to_owned_args(), id: cmd.id })
        }
        _ => Route::Here(resolved),
    }
}

/// Runs a batch on its shard (one message there, one back) and returns the replies in order.
pub async fn run_batch(session: &Session, batch: RemoteBatch) -> Vec<Reply> {
    let db = session.db();
    let no_touch = session.no_touch();
    let count = batch.commands.len();
    session.handle.info.borrow_mut().last_cmd = Some(batch.last_command);
    let commands = batch.commands;
    let results = session
        .node
        .run_on(batch.shard, None, move |state| {
            let now = crate::util::now_ms();
            let mut replies = Vec::with_capacity(commands.len());
            for (run, args) in commands {
                replies.push(
                    match journal::run_keyed(&mut state.keyspace, &state.config, db, no_touch, now, run, args.view()) {
                        Ok(reply) => reply,
                        Err(e) => e.into(),
                    },
                );
            }
            replies
        })
        .await;
    match results {
        Ok(replies) => replies,
        Err(e) => vec![Reply::from(CmdError::from(e)); count],
    }
}

/// Runs the command on each shard with that shard's keys, all shards held, and combines
/// the replies.
#[allow(clippy::too_many_arguments)]
async fn split(
    session: &Session,
    run: KeyedFn,
    multi: MultiShard,
    args: Args<'_>,
    positions: &[usize],
    span: usize,
    db: usize,
    no_touch: bool,
) -> CmdResult {
    let node = &session.node;
    let first = positions[0];
    let after_keys = positions[positions.len() - 1] + span;
    // shard -> (indexes into `positions`, the shard's own command)
    let mut parts: BTreeMap<usize, (Vec<usize>, OwnedArgs)> = BTreeMap::new();
    for (i, &pos) in positions.iter().enumerate() {
        let shard = key_shard(args.get(pos), node.shards);
        let part = parts.entry(shard).or_insert_with(|| {
            let mut owned = OwnedArgs::default();
            for arg in args.iter().take(first) {
                owned.push(arg);
            }
            (Vec::new(), owned)
        });
        part.0.push(i);
        for j in pos..(pos + span).min(args.len()) {
            part.1.push(args.get(j));
        }
    }
    for part in parts.values_mut() {
        for arg in args.iter_from(after_keys) {
            part.1.push(arg);
        }
    }
    let tx = session.hold(parts.keys().copied()).await?;
    let mut order = Vec::new();
    let mut futures = Vec::new();
    for (shard, (indexes, owned)) in parts {
        order.push(indexes);
        futures.push(tx.run(shard, move |state| {
            journal::run_keyed(
                &mut state.keyspace,
                &state.config,
                db,
                no_touch,
                crate::util::now_ms(),
                run,
                owned.view(),
            )
        }));
    }
    let results = join_all(futures).await;
    drop(tx);
    let mut replies = Vec::with_capacity(results.len());
    for result in results {
        replies.push(result??);
    }
    match multi {
        MultiShard::SumInts => {
            let mut total = 0i64;
            for reply in replies {
                if let Reply::Int(n) = reply {
                    total += n;
                }
            }
            Ok(Reply::Int(total))
        }
        MultiShard::PerKeyArray => {
            let mut merged: Vec<Reply> = vec![Reply::Nil; positions.len()];
            for (indexes, reply) in order.into_iter().zip(replies) {
                if let Reply::Array(items) = reply {
                    for (i, item) in indexes.into_iter().zip(items) {
                        merged[i] = item;
                    }
                }
            }
            Ok(Reply::Array(merged))
        }
        _ => Ok(Reply::Ok),
    }
}

/// Holds the shards of every key, gathers the keys' entries into a temporary keyspace,
/// runs the command there, and writes every gathered key back (for writing commands).
#[allow(clippy::too_many_arguments)]
async fn gather(
    session: &Session,
    cmd: &Command,
    run: KeyedFn,
    args: Args<'_>,
    positions: &[usize],
    dbs: Vec<usize>,
    db: usize,
    no_touch: bool,
) -> CmdResult {
    let node = &session.node;
    let config = node.config();
    let writes = cmd.flags.contains(Flags::WRITE);
    let mut keys_by_shard: BTreeMap<usize, Vec<Vec<u8>>> = BTreeMap::new();
    for &pos in positions {
        let key = args.get(pos);
        let keys = keys_by_shard.entry(key_shard(key, node.shards)).or_default();
        if !keys.iter().any(|k| k == key) {
            keys.push(key.to_vec());
        }
    }
    let tx = session.hold(keys_by_shard.keys().copied()).await?;
    let mut temp = Keyspace::new(config.databases());
    for database in &mut temp.dbs {
        // Changes made in the temporary keyspace mark watchers on the keys' own shards.
        database.watched = WatchedKeys::recording();
    }
    let mut futures = Vec::new();
    for (&shard, keys) in &keys_by_shard {
        let keys = keys.clone();
        let dbs = dbs.clone();
        futures.push(tx.run(shard, move |state| {
            let now = crate::util::now_ms();
            let mut out: Vec<(usize, Vec<u8>, Entry)> = Vec::new();
            for &d in &dbs {
                let Some(database) = state.keyspace.dbs.get_mut(d) else { continue };
                for key in &keys {
                    let entry = if writes { database.take(key, now) } else { database.peek(key, now).cloned() };
                    if let Some(entry) = entry {
                        out.push((d, key.clone(), entry));
                    }
                }
            }
            out
        }));
    }
    for gathered in join_all(futures).await {
        for (d, key, entry) in gathered? {
            temp.dbs[d].insert(&key, entry);
        }
    }
    let reply = {
        let mut ctx = KeyCtx::new(&mut temp, db, &config, no_touch, node.now_ms());
        run(&mut ctx, args)
    };
    if writes {
        let dirty = temp.dirty;
        let touched: Vec<(usize, Vec<Key>)> =
            temp.dbs.iter_mut().enumerate().map(|(d, database)| (d, database.watched.take_recorded())).collect();
        let mut futures = Vec::new();
        for (n, (&shard, keys)) in keys_by_shard.iter().enumerate() {
            let mut touch: Vec<(usize, Key)> = Vec::new();
            for (d, changed) in &touched {
                for key in changed.iter().filter(|k| key_shard(k, node.shards) == shard) {
                    touch.push((*d, key.clone()));
                }
            }
            let mut back: Vec<(usize, Vec<u8>, Entry)> = Vec::new();
            for &d in &dbs {
                for key in keys {
                    if let Some(entry) = temp.dbs.get_mut(d).and_then(|database| database.remove(key)) {
                        back.push((d, key.clone(), entry));
                    }
                }
            }
            let add_dirty = if n == 0 { dirty } else { 0 };
            let gathered: Vec<(usize, Vec<u8>)> =
                dbs.iter().flat_map(|&d| keys.iter().map(move |key| (d, key.clone()))).collect();
            let journal_it = dirty > 0;
            futures.push(tx.run(shard, move |state| {
                if journal_it && state.keyspace.journal.is_some() {
                    journal_write_back(&mut state.keyspace, &gathered, &back);
                }
                for (d, key, entry) in back {
                    state.keyspace.dbs[d].insert_quiet(&key, entry);
                }
                for (d, key) in touch {
                    state.keyspace.dbs[d].watched.touch(&key);
                }
                state.keyspace.dirty += add_dirty;
            }));
        }
        for result in join_all(futures).await {
            result?;
        }
    }
    crate::shard::notify::publish_events(node, temp.take_events());
    drop(tx);
    reply
}

/// Journals a gathered command's write-back on one shard: `RESTORE key <abs ms|0>
/// <payload> REPLACE ABSTTL` for each key written back, `DEL key` for each key gone.
fn journal_write_back(ks: &mut Keyspace, gathered: &[(usize, Vec<u8>)], back: &[(usize, Vec<u8>, Entry)]) {
    let now = crate::util::now_ms();
    for (d, key) in gathered {
        match back.iter().find(|(bd, bk, _)| bd == d && bk == key) {
            Some((_, _, entry)) => {
                let payload = crate::persist::rdb::dump_payload(&entry.value);
                let ttl = if entry.expire_at == crate::shard::db::NO_EXPIRE { 0 } else { entry.expire_at };
                let ttl = ttl.to_string();
                journal::record(ks, *d, now, &[b"RESTORE", key, ttl.as_bytes(), &payload, b"REPLACE", b"ABSTTL"]);
            }
            None => journal::record(ks, *d, now, &[b"DEL", key]),
        }
    }
}

/// Redis's unknown-command error, quoting the first arguments.
fn unknown_command(args: Args<'_>) -> CmdError {
    let mut quoted = String::new();
    for arg in args.iter_from(1) {
        if quoted.len() >= 128 {
            break;
        }
        let room = 128 - quoted.len();
        quoted.push_str(&format!("'{}' ", truncate_lossy(arg, room)));
    }
    CmdError::msg(format!(
        "ERR unknown command '{}', with args beginning with: {}",
        truncate_lossy(args.get(0), 128),
        quoted
    ))
}
