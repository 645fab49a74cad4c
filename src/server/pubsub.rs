//! Pub/Sub across shard threads, shared nothing.
//!
//! Every thread keeps its own subscription tables ([`Tables`], in
//! [`ShardState::pubsub`](crate::shard::ShardState)): for each channel, pattern and shard
//! channel, the clients *this thread serves* that subscribed to it. Subscribing and
//! unsubscribing therefore never leave the connection's thread.
//!
//! Publishing goes to every thread: PUBLISH and SPUBLISH send a closure to each shard with
//! [`Node::run_unheld`] (it runs even while a transaction holds the shard: subscriptions
//! are not keyspace state), all at once; each shard appends the encoded message to the
//! outgoing queue ([`Subscriber`]) of its matching clients, wakes their connections, and
//! returns how many it reached; the reply is the sum. [`publish_from_shard`] does the same
//! without waiting (keyspace notifications), with [`Node::post_unheld`].
//!
//! Ordering: messages from one publisher reach every subscriber in publish order. The
//! request channel between two shards is FIFO, and a connection awaits each PUBLISH
//! before it runs its next command, so the shard-side closures of two PUBLISHes of one
//! connection run in order on every shard; [`publish_from_shard`] posts to one shard in
//! order too. (Keep it that way: a PUBLISH must not be answered before every shard ran
//! its part.)
//!
//! The connection loop waits for socket input, for pending messages ([`pending`]) and for
//! its kill switch at once, so an idle subscriber costs nothing; pending messages are
//! written with [`write_pending`], which counts what the socket has not taken yet. A
//! subscriber whose unwritten output passes the `client-output-buffer-limit` of the
//! `pubsub` class (hard limit, or soft limit for longer than its seconds) is
//! disconnected, as Redis does, instead of growing memory.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use futures_lite::AsyncWriteExt;
use glommio::net::TcpStream;
use indexmap::{IndexMap, IndexSet};

use super::Session;
use super::clients::{ClientHandle, ReplyMode};
use super::dispatch::{self, Route};
use crate::command::{CmdError, Command, Registry};
use crate::config::glob::glob_match;
use crate::protocol::{Args, Reply, encode};
use crate::shard::{Node, ShardState};

/// The three kinds of subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// SUBSCRIBE: exact channel names (PUBLISH).
    Channel,
    /// PSUBSCRIBE: glob patterns (PUBLISH).
    Pattern,
    /// SSUBSCRIBE: shard channels (SPUBLISH).
    Shard,
}

impl Kind {
    fn index(self) -> usize {
        match self {
            Kind::Channel => 0,
            Kind::Pattern => 1,
            Kind::Shard => 2,
        }
    }

    fn subscribe_name(self) -> &'static str {
        match self {
            Kind::Channel => "subscribe",
            Kind::Pattern => "psubscribe",
            Kind::Shard => "ssubscribe",
        }
    }

    fn unsubscribe_name(self) -> &'static str {
        match self {
            Kind::Channel => "unsubscribe",
            Kind::Pattern => "punsubscribe",
            Kind::Shard => "sunsubscribe",
        }
    }
}

/// The `pubsub` class of `client-output-buffer-limit`: bytes (0 = no limit) and seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OutputLimit {
    /// Disconnect as soon as this many bytes wait.
    pub hard: u64,
    /// Disconnect when this many bytes wait for longer than `soft_seconds`.
    pub soft: u64,
    /// How long the soft limit may be passed.
    pub soft_seconds: u64,
}

/// A connection's side of Pub/Sub: what it subscribed to and the messages waiting to be
/// written to it. Lives in its [`ClientHandle`].
#[derive(Default)]
pub struct Subscriber {
    /// Subscriptions by kind ([`Kind::index`]), in subscription order.
    subs: RefCell<[IndexSet<Bytes, ahash::RandomState>; 3]>,
    /// Encoded messages not yet handed to the socket.
    queue: RefCell<Vec<u8>>,
    /// Bytes handed to the socket write that it has not taken yet.
    unwritten: Cell<usize>,
    /// When the soft output limit was first passed (Unix ms), 0 when under it.
    soft_since: Cell<i64>,
    /// The connection task waiting for messages.
    waker: RefCell<Option<Waker>>,
}

impl Subscriber {
    /// The number of subscriptions of `kind`.
    pub fn count(&self, kind: Kind) -> usize {
        self.subs.borrow()[kind.index()].len()
    }

    /// Channels plus patterns: the count SUBSCRIBE and PSUBSCRIBE replies carry.
    fn classic_count(&self) -> usize {
        self.count(Kind::Channel) + self.count(Kind::Pattern)
    }

    /// Whether the connection has any subscription (Redis's `CLIENT_PUBSUB` flag).
    pub fn is_subscribed(&self) -> bool {
        self.subs.borrow().iter().any(|s| !s.is_empty())
    }

    /// Bytes waiting to be written: queued plus handed to the socket and not yet taken.
    pub fn pending_bytes(&self) -> usize {
        self.queue.borrow().len() + self.unwritten.get()
    }

    fn push(&self, frame: &[u8], resp3: bool) {
        let mut queue = self.queue.borrow_mut();
        if resp3 {
            queue.push(b'>');
            queue.extend_from_slice(&frame[1..]);
        } else {
            queue.extend_from_slice(frame);
        }
        drop(queue);
        if let Some(waker) = self.waker.borrow_mut().take() {
            waker.wake();
        }
    }
}

/// Subscribers of one name: client id → handle, in subscription order.
type Subscribers = IndexMap<u64, Rc<ClientHandle>, ahash::RandomState>;

/// One thread's subscription tables: for each name, the clients of this thread that
/// subscribed to it.
#[derive(Default)]
pub struct Tables {
    by_kind: [HashMap<Bytes, Subscribers, ahash::RandomState>; 3],
}

impl Tables {
    /// The names of `kind` that have subscribers here, filtered by an optional glob.
    fn names(&self, kind: Kind, pattern: Option<&[u8]>) -> Vec<Bytes> {
        self.by_kind[kind.index()]
            .keys()
            .filter(|name| pattern.is_none_or(|p| glob_match(p, name, false)))
            .cloned()
            .collect()
    }

    /// How many clients here subscribed to `name` of `kind`.
    fn subscribers(&self, kind: Kind, name: &[u8]) -> usize {
        self.by_kind[kind.index()].get(name).map_or(0, IndexMap::len)
    }

    fn add(&mut self, kind: Kind, name: Bytes, client: &Rc<ClientHandle>) {
        let id = client.info.borrow().id;
        self.by_kind[kind.index()].entry(name).or_default().insert(id, client.clone());
    }

    fn remove(&mut self, kind: Kind, name: &[u8], id: u64) {
        let map = &mut self.by_kind[kind.index()];
        if let Some(subscribers) = map.get_mut(name) {
            subscribers.shift_remove(&id);
            if subscribers.is_empty() {
                map.remove(name);
            }
        }
    }

    /// Queues `message` on `channel` for every matching client of this thread and returns
    /// how many messages were queued. `shard` selects SPUBLISH (shard channels) over
    /// PUBLISH (channels and patterns).
    fn deliver(&self, shard: bool, channel: &[u8], message: &[u8], limit: OutputLimit, now_ms: i64) -> usize {
        let mut reached = 0;
        let exact = if shard { Kind::Shard } else { Kind::Channel };
        if let Some(subscribers) = self.by_kind[exact.index()].get(channel) {
            let head: &[u8] = if shard { b"smessage" } else { b"message" };
            let frame = frame(&[head, channel, message]);
            for client in subscribers.values() {
                reached += usize::from(queue_for(client, &frame, limit, now_ms));
            }
        }
        if !shard {
            for (pattern, subscribers) in &self.by_kind[Kind::Pattern.index()] {
                if !glob_match(pattern, channel, false) {
                    continue;
                }
                let frame = frame(&[b"pmessage", pattern, channel, message]);
                for client in subscribers.values() {
                    reached += usize::from(queue_for(client, &frame, limit, now_ms));
                }
            }
        }
        reached
    }
}

/// A RESP2 array of bulk strings (a RESP3 push frame once its first byte is `>`).
fn frame(items: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + items.iter().map(|i| i.len() + 16).sum::<usize>());
    out.extend_from_slice(format!("*{}\r\n", items.len()).as_bytes());
    for item in items {
        out.extend_from_slice(format!("${}\r\n", item.len()).as_bytes());
        out.extend_from_slice(item);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Queues `frame` for `client` unless it is closing; disconnects it when its output
/// passes the limit. Returns whether the message was queued.
fn queue_for(client: &Rc<ClientHandle>, frame: &[u8], limit: OutputLimit, now_ms: i64) -> bool {
    if client.is_killed() {
        return false;
    }
    let resp3 = client.info.borrow().resp == 3;
    let sub = &client.pubsub;
    sub.push(frame, resp3);
    let used = sub.pending_bytes() as u64;
    let hard = limit.hard > 0 && used >= limit.hard;
    let mut soft = false;
    if limit.soft > 0 && used >= limit.soft {
        let since = sub.soft_since.get();
        if since == 0 {
            sub.soft_since.set(now_ms);
        } else {
            soft = (now_ms - since) / 1000 > limit.soft_seconds as i64;
        }
    } else {
        sub.soft_since.set(0);
    }
    if hard || soft {
        close_for_output_limit(client);
    }
    true
}

/// Drops a client's pending output and closes it, with Redis's log line.
fn close_for_output_limit(client: &Rc<ClientHandle>) {
    let line = {
        let info = client.info.borrow();
        format!("id={} addr={} laddr={} fd={} name={}", info.id, info.addr, info.laddr, info.fd, {
            info.name.as_ref().map(|n| String::from_utf8_lossy(n).into_owned()).unwrap_or_default()
        })
    };
    crate::server::log::log(
        crate::server::log::Level::Warning,
        &format!("Client {line} scheduled to be closed ASAP for overcoming of output buffer limits."),
    );
    let sub = &client.pubsub;
    *sub.queue.borrow_mut() = Vec::new();
    sub.soft_since.set(0);
    client.kill();
}

/// The `pubsub` output limit of this thread's configuration.
fn output_limit(node: &Node) -> OutputLimit {
    node.config().client_output_buffer_limit_pubsub()
}

/// Delivers `message` on `channel` (as PUBLISH does) to matching subscribers on every
/// shard, this one included, without waiting: other shards get it through
/// [`Node::post_unheld`], so messages posted to one shard keep their order; this shard's
/// subscribers get it at once. Safe to call while this shard's state is borrowed.
pub fn publish_from_shard(node: &Node, channel: &[u8], message: &[u8]) {
    // Not `node.config()`: refreshing the snapshot would borrow the state mutably. The
    // thread's snapshot is refreshed before every command.
    let limit = match node.state.try_borrow() {
        Ok(state) => state.config.client_output_buffer_limit_pubsub(),
        Err(_) => node.config_store().snapshot().client_output_buffer_limit_pubsub(),
    };
    let now = node.now_ms();
    if node.shards > 1 {
        let channel = Bytes::copy_from_slice(channel);
        let message = Bytes::copy_from_slice(message);
        for shard in (0..node.shards).filter(|&s| s != node.id) {
            let (channel, message) = (channel.clone(), message.clone());
            node.post_unheld(shard, move |state: &mut ShardState| {
                state.pubsub.deliver(false, &channel, &message, limit, crate::util::now_ms());
            });
        }
    }
    let tables = match node.state.try_borrow() {
        Ok(state) => Some(state.pubsub.0.clone()),
        Err(_) => LOCAL_TABLES.with(|t| t.borrow().upgrade()),
    };
    if let Some(tables) = tables {
        tables.borrow().deliver(false, channel, message, limit, now);
    }
}

thread_local! {
    /// This thread's tables, for a local delivery asked for while the shard state is borrowed.
    static LOCAL_TABLES: RefCell<Weak<RefCell<Tables>>> = const { RefCell::new(Weak::new()) };
}

/// A thread's Pub/Sub state, kept in its [`ShardState`].
pub struct PubSub(Rc<RefCell<Tables>>);

impl Default for PubSub {
    fn default() -> PubSub {
        PubSub::new()
    }
}

impl PubSub {
    /// Empty tables for the calling thread.
    pub fn new() -> PubSub {
        let tables = Rc::new(RefCell::new(Tables::default()));
        LOCAL_TABLES.with(|t| *t.borrow_mut() = Rc::downgrade(&tables));
        PubSub(tables)
    }

    /// Queues a message for this thread's matching clients; returns how many it reached.
    pub fn deliver(&self, shard: bool, channel: &[u8], message: &[u8], limit: OutputLimit, now_ms: i64) -> usize {
        self.0.borrow().deliver(shard, channel, message, limit, now_ms)
    }

    /// The number of distinct names of `kind` with subscribers on this thread.
    pub fn len(&self, kind: Kind) -> usize {
        self.0.borrow().by_kind[kind.index()].len()
    }

    /// Whether this thread has no subscription at all.
    pub fn is_empty(&self) -> bool {
        self.0.borrow().by_kind.iter().all(HashMap::is_empty)
    }
}

/// The count a (un)subscribe confirmation of `kind` carries.
fn running_count(sub: &Subscriber, kind: Kind) -> usize {
    match kind {
        Kind::Shard => sub.count(Kind::Shard),
        _ => sub.classic_count(),
    }
}

/// Copies the subscription counts into what CLIENT LIST shows.
fn update_info(handle: &ClientHandle) {
    let sub = &handle.pubsub;
    let mut info = handle.info.borrow_mut();
    info.sub = sub.count(Kind::Channel);
    info.psub = sub.count(Kind::Pattern);
    info.ssub = sub.count(Kind::Shard);
}

/// A command that answers with several replies (one confirmation per channel): every one
/// but the last is queued ahead of the command's own reply (the connection loop writes
/// what was queued while a command ran before that command's reply), the last is returned.
/// As in Redis (its `CLIENT_PUSHING`), confirmations are sent even under CLIENT REPLY OFF
/// or SKIP: then all of them are queued, and the returned one is not sent.
fn several(session: &Session, mut replies: Vec<Reply>) -> Reply {
    let replies_on = session.reply_mode() == ReplyMode::On;
    let last = if replies_on { replies.pop().unwrap_or(Reply::Nil) } else { Reply::Nil };
    if !replies.is_empty() {
        let resp3 = session.resp3();
        let mut queue = session.handle.pubsub.queue.borrow_mut();
        for reply in &replies {
            encode(reply, resp3, &mut queue);
        }
    }
    last
}

fn confirmation(name: &'static str, channel: Option<&[u8]>, count: usize) -> Reply {
    Reply::Push(vec![Reply::bulk_static(name), channel.map_or(Reply::Nil, Reply::bulk), Reply::Int(count as i64)])
}

/// SUBSCRIBE / PSUBSCRIBE / SSUBSCRIBE: subscribes the connection to `names` of `kind` on
/// its thread's tables; one confirmation per name, with the running count.
pub fn subscribe(session: &mut Session, kind: Kind, names: &[&[u8]]) -> Reply {
    let handle = session.handle.clone();
    let mut replies = Vec::with_capacity(names.len());
    {
        let state = session.node.state.borrow();
        let mut tables = state.pubsub.0.borrow_mut();
        for &name in names {
            let added = handle.pubsub.subs.borrow_mut()[kind.index()].insert(Bytes::copy_from_slice(name));
            if added {
                tables.add(kind, Bytes::copy_from_slice(name), &handle);
            }
            replies.push(confirmation(kind.subscribe_name(), Some(name), running_count(&handle.pubsub, kind)));
        }
    }
    update_info(&handle);
    several(session, replies)
}

/// UNSUBSCRIBE / PUNSUBSCRIBE / SUNSUBSCRIBE: unsubscribes from `names` of `kind` (from
/// every one of that kind when none are given); one confirmation per name, or one with a
/// null name when there was nothing to unsubscribe from.
pub fn unsubscribe(session: &mut Session, kind: Kind, names: &[&[u8]]) -> Reply {
    let handle = session.handle.clone();
    let names: Vec<Bytes> = if names.is_empty() {
        handle.pubsub.subs.borrow()[kind.index()].iter().cloned().collect()
    } else {
        names.iter().map(|n| Bytes::copy_from_slice(n)).collect()
    };
    let mut replies = Vec::with_capacity(names.len().max(1));
    {
        let state = session.node.state.borrow();
        let mut tables = state.pubsub.0.borrow_mut();
        let id = handle.info.borrow().id;
        for name in &names {
            if handle.pubsub.subs.borrow_mut()[kind.index()].shift_remove(name) {
                tables.remove(kind, name, id);
            }
            replies.push(confirmation(kind.unsubscribe_name(), Some(name), running_count(&handle.pubsub, kind)));
        }
    }
    if replies.is_empty() {
        replies.push(confirmation(kind.unsubscribe_name(), None, running_count(&handle.pubsub, kind)));
    }
    update_info(&handle);
    several(session, replies)
}

/// Drops every subscription of the connection and its pending messages (RESET, disconnect).
pub fn unsubscribe_all(node: &Node, handle: &ClientHandle) {
    let id = handle.info.borrow().id;
    let subs = std::mem::take(&mut *handle.pubsub.subs.borrow_mut());
    if subs.iter().any(|s| !s.is_empty()) {
        let state = node.state.borrow();
        let mut tables = state.pubsub.0.borrow_mut();
        for kind in [Kind::Channel, Kind::Pattern, Kind::Shard] {
            for name in &subs[kind.index()] {
                tables.remove(kind, name, id);
            }
        }
    }
    *handle.pubsub.queue.borrow_mut() = Vec::new();
    handle.pubsub.soft_since.set(0);
    update_info(handle);
}

/// Whether the connection is in RESP2 subscribe mode (only subscribe commands, PING,
/// QUIT and RESET allowed).
pub fn in_resp2_subscribe_mode(session: &Session) -> bool {
    !session.resp3() && session.handle.pubsub.is_subscribed()
}

/// Commands allowed in RESP2 subscribe mode.
const ALLOWED_WHEN_SUBSCRIBED: &[&str] =
    &["ping", "subscribe", "ssubscribe", "unsubscribe", "sunsubscribe", "psubscribe", "punsubscribe", "quit", "reset"];

/// [`dispatch::route`], refusing in RESP2 subscribe mode what Redis refuses there.
pub fn route<'r>(session: &Session, registry: &'r Registry, args: Args<'_>) -> Route<'r> {
    if in_resp2_subscribe_mode(session) {
        let resolved: Result<&Command, CmdError> = dispatch::resolve(registry, args);
        if let Ok(cmd) = resolved
            && !ALLOWED_WHEN_SUBSCRIBED.contains(&cmd.spec.name)
        {
            return Route::Here(Err(CmdError::msg(format!(
                "ERR Can't execute '{}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context",
                cmd.full_name
            ))));
        }
    }
    dispatch::route(session, registry, args)
}

/// PUBLISH (`shard == false`) or SPUBLISH: delivers on every shard at once and returns how
/// many clients received the message.
pub async fn publish(session: &Session, shard: bool, channel: &[u8], message: &[u8]) -> Result<usize, CmdError> {
    let node = &session.node;
    let limit = output_limit(node);
    let channel = Bytes::copy_from_slice(channel);
    let message = Bytes::copy_from_slice(message);
    let futures: Vec<_> = (0..node.shards)
        .map(|s| {
            let (channel, message) = (channel.clone(), message.clone());
            node.run_unheld(s, move |state: &mut ShardState| {
                state.pubsub.deliver(shard, &channel, &message, limit, crate::util::now_ms())
            })
        })
        .collect();
    let mut total = 0;
    for reached in crate::util::join_all(futures).await {
        total += reached?;
    }
    Ok(total)
}

/// Runs `f` on every shard's tables and returns the results in shard order.
async fn gather<T, F>(node: &Node, f: F) -> Result<Vec<T>, CmdError>
where
    T: Send + 'static,
    F: Fn(&Tables) -> T + Send + Clone + 'static,
{
    let futures: Vec<_> = (0..node.shards)
        .map(|s| {
            let f = f.clone();
            node.run_unheld(s, move |state: &mut ShardState| f(&state.pubsub.0.borrow()))
        })
        .collect();
    let mut out = Vec::with_capacity(node.shards);
    for result in crate::util::join_all(futures).await {
        out.push(result?);
    }
    Ok(out)
}

/// The distinct names of `kind` with subscribers on any shard, matching `pattern` if given.
pub async fn names(node: &Node, kind: Kind, pattern: Option<&[u8]>) -> Result<Vec<Bytes>, CmdError> {
    let pattern = pattern.map(Bytes::copy_from_slice);
    let per_shard = gather(node, move |t: &Tables| t.names(kind, pattern.as_deref())).await?;
    let mut all: IndexSet<Bytes, ahash::RandomState> = IndexSet::default();
    for names in per_shard {
        all.extend(names);
    }
    Ok(all.into_iter().collect())
}

/// For each of `channels`, how many clients over all shards subscribed to it as `kind`.
pub async fn numsub(node: &Node, kind: Kind, channels: Vec<Bytes>) -> Result<Vec<usize>, CmdError> {
    let count = channels.len();
    let per_shard =
        gather(node, move |t: &Tables| channels.iter().map(|c| t.subscribers(kind, c)).collect::<Vec<_>>()).await?;
    let mut totals = vec![0; count];
    for counts in per_shard {
        for (total, n) in totals.iter_mut().zip(counts) {
            *total += n;
        }
    }
    Ok(totals)
}

/// INFO's `pubsub_channels`, `pubsub_patterns` and `pubsubshard_channels`: distinct names
/// over all shards.
pub async fn info_counts(node: &Node) -> Result<(usize, usize, usize), CmdError> {
    let mut counts = [0; 3];
    for kind in [Kind::Channel, Kind::Pattern, Kind::Shard] {
        // One shard's names need no merging.
        counts[kind.index()] =
            if node.shards == 1 { node.state.borrow().pubsub.len(kind) } else { names(node, kind, None).await?.len() };
    }
    Ok((counts[0], counts[1], counts[2]))
}

/// A future that completes when messages wait to be written to the connection.
pub fn pending(handle: &Rc<ClientHandle>) -> Pending {
    Pending(handle.clone())
}

/// See [`pending`].
pub struct Pending(Rc<ClientHandle>);

impl Future for Pending {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let sub = &self.0.pubsub;
        if !sub.queue.borrow().is_empty() {
            return Poll::Ready(());
        }
        *sub.waker.borrow_mut() = Some(cx.waker().clone());
        Poll::Pending
    }
}

/// Moves the messages queued while a command ran in front of its reply, which starts at
/// `mark` in `out` (so a client's own confirmations and self-published messages come
/// before the command's reply, as in Redis).
pub fn splice_pending(handle: &ClientHandle, out: &mut Vec<u8>, mark: usize) {
    let mut queue = handle.pubsub.queue.borrow_mut();
    if queue.is_empty() {
        return;
    }
    if mark >= out.len() {
        out.append(&mut queue);
    } else {
        out.splice(mark..mark, queue.drain(..));
    }
}

/// Writes the messages queued so far to the socket (unless the connection is killed
/// meanwhile), counting what the socket has not taken yet against the output limit. The
/// connection loop then looks at its input again before writing what came meanwhile.
pub async fn write_pending(node: &Node, handle: &Rc<ClientHandle>, stream: &mut TcpStream) -> std::io::Result<()> {
    let sub = &handle.pubsub;
    let data = std::mem::take(&mut *sub.queue.borrow_mut());
    let mut written = 0;
    sub.unwritten.set(data.len());
    let result = loop {
        if written == data.len() || handle.is_killed() {
            break Ok(());
        }
        let chunk = &data[written..];
        let wrote = futures_lite::future::or(async { Some(stream.write(chunk).await) }, async {
            handle.killed().await;
            None
        })
        .await;
        match wrote {
            None => break Ok(()),
            Some(Ok(0)) => break Err(std::io::ErrorKind::WriteZero.into()),
            Some(Ok(n)) => {
                written += n;
                sub.unwritten.set(data.len() - written);
            }
            Some(Err(e)) => break Err(e),
        }
    };
    sub.unwritten.set(0);
    node.state.borrow_mut().net_output_bytes += written as u64;
    result
}
