//! The node: what one thread owns (its shard's state) and how it talks to the others.
//!
//! Threads are joined by two glommio channel meshes: one carries [`Request`]s, the other
//! [`Response`]s. A request is a closure to run on the owning shard's state; its reply
//! comes back on the response mesh, keyed by a request id, and completes a local one-shot
//! slot that the waiting connection awaits. The loops that receive requests never wait
//! on a send (responses go out with `try_send`, or in a spawned task when the channel is
//! momentarily full) and the loops that receive responses never send at all, so bounded
//! channels cannot deadlock. Requests from one thread to one shard arrive in the order
//! they were sent, even when the channel is full (a backlog per target shard): pub/sub
//! messages and keyspace events rely on it.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll, Waker};

use glommio::channels::channel_mesh::Senders;

use super::Keyspace;
use super::coord::{Gate, TxId, TxWriters};

use crate::command::{CmdError, Registry};
use crate::config::{Config, SharedConfig};
use crate::server::Shared;
use crate::server::clients::ClientRegistry;

/// A value of any sendable type: what a closure run on another shard returns.
pub type AnyBox = Box<dyn Any + Send>;
/// A closure to run on a shard's state.
pub type ShardFn = Box<dyn FnOnce(&mut ShardState) -> AnyBox + Send>;

/// What a request asks of the shard.
pub enum Work {
    /// Run a closure on the shard's state (allowed when the shard is free or held by the request's transaction).
    Run(ShardFn),
    /// Hold the shard for the request's transaction (granted in arrival order). Carries
    /// the transaction's count of shards that journaled something.
    Acquire(TxWriters),
    /// Hold the shard for the request's transaction if it is free now; never waits
    /// (replies whether it was granted).
    TryAcquire(TxWriters),
    /// The holding transaction is done: append this shard's journal records as its part
    /// of a group record of this many participants, and reply once that is written.
    Commit(u32),
    /// Let go of the shard.
    Release,
    /// Run a closure even while the shard is held by a transaction. For state outside the
    /// keyspace only (pub/sub subscriptions, blocked clients): it must not read or change keys.
    Unheld(ShardFn),
    /// Start a task on the shard's thread (see [`Node::run_task_on`]); runs with no borrow
    /// of the shard's state, since glommio may run a new task at once.
    Spawn(Box<dyn FnOnce() + Send>),
}

/// A request sent to another shard.
pub struct Request {
    /// The sending shard.
    pub from: usize,
    /// Request id, unique on the sending shard; 0 for requests that want no reply.
    pub id: u64,
    /// The transaction it belongs to, if any.
    pub tx: Option<TxId>,
    /// What to do.
    pub work: Work,
}

/// The reply to a request.
pub struct Response {
    /// The request id.
    pub id: u64,
    /// The closure's result (unit for Acquire).
    pub result: AnyBox,
}

/// Where a request's result goes.
enum ReplyTo {
    /// Back over the response mesh to shard `from`.
    Remote { from: usize, id: u64 },
    /// To a slot on this thread.
    Local { id: u64 },
    /// Nowhere (Release).
    Nobody,
}

/// A request waiting for the shard to be released.
pub(crate) struct Parked {
    tx: Option<TxId>,
    work: Work,
    reply: ReplyTo,
}

/// Everything this thread owns: its shard's keyspace, its clients, its counters.
pub struct ShardState {
    /// This shard's index.
    pub id: usize,
    /// The databases.
    pub keyspace: Keyspace,
    /// This thread's configuration snapshot.
    pub config: Arc<Config>,
    /// The connections this thread serves.
    pub clients: ClientRegistry,
    /// Commands processed on this thread.
    pub commands_processed: u64,
    /// Connections accepted on this thread.
    pub connections_received: u64,
    /// Connections refused (maxclients) on this thread.
    pub rejected_connections: u64,
    /// Bytes read from clients.
    pub net_input_bytes: u64,
    /// Bytes written to clients.
    pub net_output_bytes: u64,
    /// Instantaneous rates (INFO's `instantaneous_*`), sampled by the cron.
    pub rates: Rates,
    /// This thread's Pub/Sub subscription tables.
    pub pubsub: crate::server::pubsub::PubSub,
    /// This shard's journal status (INFO persistence).
    pub aof: crate::persist::journal::AofStats,
}

/// Samples of a running total, turned into a per-second rate the way Redis's
/// `trackInstantaneousMetric` does: one sample every 100 ms, averaged over the last 16.
#[derive(Debug, Default, Clone)]
pub struct RateMeter {
    samples: [u64; 16],
    next: usize,
    last_total: u64,
    last_ms: i64,
}

impl RateMeter {
    /// Records the running `total` at `now_ms`; ignored if less than 100 ms passed since the last sample.
    pub fn sample(&mut self, total: u64, now_ms: i64) {
        if self.last_ms == 0 {
            // The first call starts the clock; the total counted from 0 (server start or reset).
            self.last_ms = now_ms;
            return;
        }
        if total < self.last_total {
            self.last_ms = now_ms;
            self.last_total = total;
            return;
        }
        let elapsed = now_ms - self.last_ms;
        if elapsed < 100 {
            return;
        }
        self.samples[self.next] = (total - self.last_total).saturating_mul(1000) / elapsed as u64;
        self.next = (self.next + 1) % self.samples.len();
        self.last_ms = now_ms;
        self.last_total = total;
    }

    /// The average per-second rate over the recent samples.
    pub fn per_second(&self) -> u64 {
        self.samples.iter().sum::<u64>() / self.samples.len() as u64
    }
}

/// A shard's instantaneous rates: commands, bytes read, bytes written.
#[derive(Debug, Default, Clone)]
pub struct Rates {
    /// Commands per second.
    pub ops: RateMeter,
    /// Bytes read per second.
    pub net_input: RateMeter,
    /// Bytes written per second.
    pub net_output: RateMeter,
}

impl ShardState {
    /// Samples the instantaneous rates (called by the cron every 50-100 ms).
    pub fn sample_rates(&mut self, now_ms: i64) {
        self.rates.ops.sample(self.commands_processed, now_ms);
        self.rates.net_input.sample(self.net_input_bytes, now_ms);
        self.rates.net_output.sample(self.net_output_bytes, now_ms);
    }

    /// CONFIG RESETSTAT: zeroes this shard's statistics counters.
    pub fn reset_stats(&mut self) {
        self.commands_processed = 0;
        self.connections_received = 0;
        self.rejected_connections = 0;
        self.net_input_bytes = 0;
        self.net_output_bytes = 0;
        self.rates = Rates::default();
        self.keyspace.hits = 0;
        self.keyspace.misses = 0;
        for db in &mut self.keyspace.dbs {
            db.expired_keys = 0;
        }
    }
}

/// Why a request to a shard got no result.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ShardUnavailable {
    /// The server is shutting down.
    ShuttingDown,
    /// A script holding the shard has run past `busy-reply-threshold`.
    Busy,
}

/// Redis's reply while a script is busy.
pub const BUSY: &str = "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.";

impl From<ShardUnavailable> for CmdError {
    fn from(e: ShardUnavailable) -> CmdError {
        match e {
            ShardUnavailable::ShuttingDown => {
                CmdError::from_static("ERR shard unavailable: the server is shutting down")
            }
            ShardUnavailable::Busy => CmdError::from_static(BUSY),
        }
    }
}

/// One thread's view of the server.
pub struct Node {
    /// This shard's index.
    pub id: usize,
    /// How many shards there are.
    pub shards: usize,
    /// This shard's state; borrowed only in synchronous sections, never across an await.
    pub state: RefCell<ShardState>,
    /// The command table.
    pub registry: Rc<Registry>,
    /// State shared by all threads (configuration, client ids, shutdown).
    pub shared: Arc<Shared>,
    pub(crate) gate: Gate,
    requests: Rc<Senders<Request>>,
    responses: Rc<Senders<Response>>,
    pending: Rc<RefCell<HashMap<u64, Rc<Slot>, ahash::RandomState>>>,
    /// Requests waiting for room in the channel to each shard, in the order they were
    /// sent; while one waits, later requests to that shard queue behind it.
    backlog: Rc<RefCell<Vec<std::collections::VecDeque<Request>>>>,
    next_id: Cell<u64>,
    config_version: Cell<u64>,
    clock_ms: Cell<i64>,
    clock_uses: Cell<u32>,
    /// The shard's journal writer (`appendonly yes`).
    journal: RefCell<Option<Rc<crate::persist::journal::Writer>>>,
    /// Responses held back until the journal reaches a position: (position, fsynced too, to whom, what).
    deferred: RefCell<Vec<(u64, bool, ReplyTo, AnyBox)>>,
    /// Transactions this thread coordinates that are committing their journal parts.
    commits: Cell<usize>,
    commit_waiters: RefCell<Vec<Waker>>,
}

/// How many commands may share one reading of the clock (see [`Node::now_ms`]).
const CLOCK_REUSE: u32 = 16;

impl Node {
    /// A node for shard `id` of `shards`.
    pub fn new(
        id: usize,
        shards: usize,
        shared: Arc<Shared>,
        registry: Rc<Registry>,
        requests: Senders<Request>,
        responses: Senders<Response>,
    ) -> Node {
        let (version, config) = shared.config.snapshot_with_version();
        Node {
            id,
            shards,
            state: RefCell::new(ShardState {
                id,
                keyspace: Keyspace::new(config.databases()),
                config,
                clients: ClientRegistry::default(),
                commands_processed: 0,
                connections_received: 0,
                rejected_connections: 0,
                net_input_bytes: 0,
                net_output_bytes: 0,
                rates: Rates::default(),
                pubsub: crate::server::pubsub::PubSub::new(),
                aof: Default::default(),
            }),
            registry,
            shared,
            gate: Gate::default(),
            requests: Rc::new(requests),
            responses: Rc::new(responses),
            pending: Rc::new(RefCell::new(HashMap::default())),
            backlog: Rc::new(RefCell::new((0..shards).map(|_| std::collections::VecDeque::new()).collect())),
            next_id: Cell::new(1),
            config_version: Cell::new(version),
            clock_ms: Cell::new(crate::util::now_ms()),
            clock_uses: Cell::new(0),
            journal: RefCell::new(None),
            deferred: RefCell::new(Vec::new()),
            commits: Cell::new(0),
            commit_waiters: RefCell::new(Vec::new()),
        }
    }

    /// The time for a command, Unix ms. Reading the clock was 7% of a shard's CPU at high
    /// pipeline depth, so one reading serves up to 16 commands of a batch; the connection
    /// loop calls [`Node::refresh_clock`] after every read, so it is never older than the batch.
    pub fn now_ms(&self) -> i64 {
        let uses = self.clock_uses.get();
        if uses == 0 {
            self.clock_ms.set(crate::util::now_ms());
        }
        self.clock_uses.set((uses + 1) % CLOCK_REUSE);
        self.clock_ms.get()
    }

    /// Makes the next [`Node::now_ms`] read the clock.
    pub fn refresh_clock(&self) {
        self.clock_uses.set(0);
    }

    /// The shared configuration store.
    pub fn config_store(&self) -> &SharedConfig {
        &self.shared.config
    }

    /// This thread's configuration snapshot, refreshed if CONFIG SET changed it.
    pub fn config(&self) -> Arc<Config> {
        self.refresh_config();
        self.state.borrow().config.clone()
    }

    /// Takes a new configuration snapshot if the shared one changed (one atomic load otherwise).
    pub fn refresh_config(&self) {
        if self.shared.config.version() != self.config_version.get() {
            let (version, config) = self.shared.config.snapshot_with_version();
            self.config_version.set(version);
            self.state.borrow_mut().config = config;
        }
    }

    fn next_request_id(&self) -> u64 {
        let id = self.next_id.get();
        self.next_id.set(id.wrapping_add(1).max(1));
        id
    }

    /// A new transaction id, unique across the server.
    pub(crate) fn new_tx_id(&self) -> TxId {
        (self.id as u64) << 48 | (self.next_request_id() & 0x7FFF_FFFF_FFFF)
    }

    /// A new transaction id for a script (see [`super::coord::SCRIPT_TX`]).
    pub(crate) fn new_script_tx_id(&self) -> TxId {
        self.new_tx_id() | super::coord::SCRIPT_TX
    }

    /// Whether the shard is held by a script running past `busy-reply-threshold`.
    fn held_by_busy_script(&self) -> bool {
        let threshold = self.state.borrow().config.busy_reply_threshold();
        let Some(held_ms) = self.gate.held_by_script_for(crate::util::now_ms()) else {
            return false;
        };
        // A script that has ended but whose release has not arrived yet is not busy.
        let origin = self.gate.holder().map_or(0, |tx| (tx >> 48) as usize);
        held_ms >= threshold as i64
            && self.shared.scripts_running.get(origin).is_some_and(|running| running.load(Ordering::Acquire) > 0)
    }

    /// Answers every request waiting for this shard with `-BUSY` if a script has held it
    /// past `busy-reply-threshold` (called by the cron, as Redis answers clients while a
    /// script runs).
    pub fn refuse_parked_if_busy(&self) {
        if !self.held_by_busy_script() {
            return;
        }
        let mut waiting = Vec::new();
        while let Some(parked) = self.gate.unpark() {
            waiting.push(parked);
        }
        for parked in waiting {
            self.respond(parked.reply, Box::new(ShardUnavailable::Busy));
        }
    }

    /// Whether a command of transaction `tx` (or of none) may run on this shard now.
    pub fn gate_allows(&self, tx: Option<TxId>) -> bool {
        self.gate.allows(tx)
    }

    /// Runs `f` on shard `shard`'s state and returns its result. On this thread, with the
    /// shard free (or held by `tx`), it runs at once; otherwise it waits its turn.
    pub async fn run_on<T, F>(&self, shard: usize, tx: Option<TxId>, f: F) -> Result<T, ShardUnavailable>
    where
        T: Send + 'static,
        F: FnOnce(&mut ShardState) -> T + Send + 'static,
    {
        if shard == self.id && self.gate.allows(tx) {
            self.refresh_config();
            let result = f(&mut self.state.borrow_mut());
            self.after_commands();
            return Ok(result);
        }
        let work = Work::Run(Box::new(move |state: &mut ShardState| Box::new(f(state)) as AnyBox));
        let result = self.request(shard, tx, work).await?;
        result.downcast::<T>().map(|b| *b).map_err(|_| ShardUnavailable::ShuttingDown)
    }

    /// Sends `work` to `shard` (or parks it here) and waits for its result.
    pub(crate) async fn request(&self, shard: usize, tx: Option<TxId>, work: Work) -> Result<AnyBox, ShardUnavailable> {
        let id = self.next_request_id();
        let slot = Rc::new(Slot::default());
        self.pending.borrow_mut().insert(id, slot.clone());
        if shard == self.id {
            self.handle(tx, work, ReplyTo::Local { id });
        } else {
            self.send(shard, Request { from: self.id, id, tx, work });
        }
        let result = SlotFuture(slot).await?;
        if let Some(e) = result.downcast_ref::<ShardUnavailable>() {
            return Err(*e);
        }
        Ok(result)
    }

    /// Sends `request` to another shard without waiting. Requests from this thread to one
    /// shard arrive in the order they were sent: when the channel is full, the request
    /// (and every later one to that shard) waits in a backlog that one task drains in
    /// order. A request that cannot be delivered (shutdown) completes with [`ShardUnavailable`].
    fn send(&self, shard: usize, request: Request) {
        let mut backlog = self.backlog.borrow_mut();
        if backlog[shard].is_empty() {
            let id = request.id;
            match self.requests.try_send_to(shard, request) {
                Ok(()) => return,
                Err(glommio::GlommioError::WouldBlock(glommio::ResourceType::Channel(request))) => {
                    backlog[shard].push_back(request);
                }
                Err(_) => {
                    let slot = self.pending.borrow_mut().remove(&id);
                    if let Some(slot) = slot {
                        slot.fill(Box::new(ShardUnavailable::ShuttingDown));
                    }
                    return;
                }
            }
            let senders = self.requests.clone();
            let queue = self.backlog.clone();
            let pending = self.pending.clone();
            glommio::spawn_local(async move {
                loop {
                    let next = queue.borrow_mut()[shard].pop_front();
                    let Some(request) = next else { break };
                    let id = request.id;
                    if senders.send_to(shard, request).await.is_err() && id != 0 {
                        // The slot lives on this thread; fill it so the requester wakes.
                        let slot = pending.borrow_mut().remove(&id);
                        if let Some(slot) = slot {
                            slot.fill(Box::new(ShardUnavailable::ShuttingDown));
                        }
                    }
                }
            })
            .detach();
        } else {
            backlog[shard].push_back(request);
        }
    }

    /// Sends `work` to `shard` without waiting for a reply (Release).
    pub(crate) fn notify(&self, shard: usize, tx: Option<TxId>, work: Work) {
        if shard == self.id {
            self.handle(tx, work, ReplyTo::Nobody);
            return;
        }
        self.send(shard, Request { from: self.id, id: 0, tx, work });
    }

    /// Handles a request that arrived from another shard.
    pub fn handle_remote(&self, request: Request) {
        let reply =
            if request.id == 0 { ReplyTo::Nobody } else { ReplyTo::Remote { from: request.from, id: request.id } };
        self.handle(request.tx, request.work, reply);
    }

    /// Completes the local request `id` with `result` (a response arrived).
    pub fn deliver(&self, id: u64, result: AnyBox) {
        let slot = self.pending.borrow_mut().remove(&id);
        if let Some(slot) = slot {
            slot.fill(result);
        }
    }

    /// Applies a request to this shard: runs it, grants it, releases, or parks it until the
    /// shard is free. Parked requests are taken in arrival order.
    fn handle(&self, tx: Option<TxId>, work: Work, reply: ReplyTo) {
        match work {
            Work::Run(f) => {
                if self.gate.allows(tx) {
                    self.refresh_config();
                    let result = f(&mut self.state.borrow_mut());
                    self.note_tx_records();
                    // The records go to the writer before the response, so `respond`
                    // holds it back until they are durable (appendfsync always).
                    if self.gate.is_free() {
                        self.write_pending_records();
                    }
                    self.respond(reply, result);
                    self.after_commands();
                } else if self.held_by_busy_script() {
                    self.respond(reply, Box::new(ShardUnavailable::Busy));
                } else {
                    self.gate.park(Parked { tx, work: Work::Run(f), reply });
                }
            }
            Work::Acquire(writers) => match tx {
                Some(t) if self.gate.try_take_for(t, &writers) => self.respond(reply, Box::new(())),
                Some(_) if self.held_by_busy_script() => self.respond(reply, Box::new(ShardUnavailable::Busy)),
                Some(_) => self.gate.park(Parked { tx, work: Work::Acquire(writers), reply }),
                None => self.respond(reply, Box::new(())),
            },
            Work::TryAcquire(writers) => {
                let granted = tx.is_some_and(|t| self.gate.try_take_for(t, &writers));
                self.respond(reply, Box::new(granted));
            }
            Work::Commit(participants) => {
                if !self.gate.allows(tx) {
                    self.gate.park(Parked { tx, work: Work::Commit(participants), reply });
                    return;
                }
                let (bodies, count) = {
                    let mut state = self.state.borrow_mut();
                    match state.keyspace.journal.as_deref_mut() {
                        Some(pending) => pending.take(),
                        None => (Vec::new(), 0),
                    }
                };
                match (self.journal(), tx) {
                    (Some(writer), Some(t)) if count > 0 => {
                        writer.append_group(t, participants, count, &bodies);
                        let target = writer.appended();
                        let durable = writer.always();
                        self.respond_at(target, durable, reply, Box::new(()));
                    }
                    _ => self.respond(reply, Box::new(())),
                }
            }
            Work::Release => {
                if let Some(t) = tx
                    && self.gate.release(t)
                {
                    self.after_commands();
                    self.drain_parked();
                }
            }
            Work::Spawn(start) => start(),
            Work::Unheld(f) => {
                let result = f(&mut self.state.borrow_mut());
                self.respond(reply, result);
            }
        }
    }

    /// Runs `f` on shard `shard`'s state even if a transaction holds it (see [`Work::Unheld`]).
    pub async fn run_unheld<T, F>(&self, shard: usize, f: F) -> Result<T, ShardUnavailable>
    where
        T: Send + 'static,
        F: FnOnce(&mut ShardState) -> T + Send + 'static,
    {
        if shard == self.id {
            return Ok(f(&mut self.state.borrow_mut()));
        }
        let work = Work::Unheld(Box::new(move |state: &mut ShardState| Box::new(f(state)) as AnyBox));
        let result = self.request(shard, None, work).await?;
        result.downcast::<T>().map(|b| *b).map_err(|_| ShardUnavailable::ShuttingDown)
    }

    /// Runs `f` on shard `shard`'s state even if a transaction holds it, without waiting
    /// for it to finish; messages to one shard run in the order they were posted.
    pub fn post_unheld<F>(&self, shard: usize, f: F)
    where
        F: FnOnce(&mut ShardState) + Send + 'static,
    {
        let work = Work::Unheld(Box::new(move |state: &mut ShardState| {
            f(state);
            Box::new(()) as AnyBox
        }));
        self.notify(shard, None, work);
    }

    /// What a shard does after running commands on its keyspace, once it is not held by a
    /// transaction (so a MULTI or script's writes count only once they are all done):
    /// serve clients blocked on keys that became ready, then publish the keyspace events
    /// the commands recorded.
    pub fn after_commands(&self) {
        if !self.gate.is_free() {
            self.note_tx_records();
            return;
        }
        self.write_pending_records();
        let deliveries = {
            let mut state = self.state.borrow_mut();
            if state.keyspace.waiters == 0 || !state.keyspace.dbs.iter().any(|db| db.blocked.has_ready()) {
                Vec::new()
            } else {
                super::blocking::serve_ready(&mut state)
            }
        };
        if !deliveries.is_empty() {
            // The served pops' records go out before their replies.
            self.write_pending_records();
        }
        for (origin, slot, wake) in deliveries {
            self.respond(ReplyTo::Remote { from: origin, id: slot }, Box::new(wake));
        }
        super::notify::publish(self);
    }

    /// Runs the future `make` builds on shard `shard`'s thread, as a task of its own (so
    /// it may await I/O while the shard keeps serving), and returns its output. For work
    /// a shard does in the background on its own state: writing its snapshot file. The
    /// future must not hold a borrow of the shard's state across an await.
    pub async fn run_task_on<T, F>(self: &Rc<Self>, shard: usize, make: F) -> Result<T, ShardUnavailable>
    where
        T: Send + 'static,
        F: FnOnce(Rc<Node>) -> Pin<Box<dyn Future<Output = T>>> + Send + 'static,
    {
        if shard == self.id {
            return Ok(make(self.clone()).await);
        }
        let (slot, done) = self.open_slot();
        let origin = self.id;
        let start = move || {
            glommio::spawn_local(async move {
                let Some(node) = Node::current() else { return };
                let output = make(node.clone()).await;
                node.respond(ReplyTo::Remote { from: origin, id: slot }, Box::new(output));
            })
            .detach();
        };
        self.notify(shard, None, Work::Spawn(Box::new(start)));
        let result = done.await?;
        if let Some(e) = result.downcast_ref::<ShardUnavailable>() {
            return Err(*e);
        }
        result.downcast::<T>().map(|b| *b).map_err(|_| ShardUnavailable::ShuttingDown)
    }

    /// The node of the shard this thread runs (set by [`Node::make_current`] at startup).
    pub fn current() -> Option<Rc<Node>> {
        CURRENT.with(|current| current.borrow().clone())
    }

    /// Makes `node` what [`Node::current`] returns on this thread.
    pub fn make_current(node: &Rc<Node>) {
        CURRENT.with(|current| *current.borrow_mut() = Some(node.clone()));
    }

    /// A new result slot this thread can be woken through by any shard (a blocked
    /// client): its request id, and the future that completes when it is filled.
    pub fn open_slot(&self) -> (u64, impl Future<Output = Result<AnyBox, ShardUnavailable>> + use<>) {
        let id = self.next_request_id();
        let slot = Rc::new(Slot::default());
        self.pending.borrow_mut().insert(id, slot.clone());
        (id, SlotFuture(slot))
    }

    /// Forgets a slot from [`Node::open_slot`] that nobody will fill.
    pub fn close_slot(&self, id: u64) {
        self.pending.borrow_mut().remove(&id);
    }

    /// Runs parked requests in order until the queue is empty or one of them takes the shard.
    fn drain_parked(&self) {
        while self.gate.is_free() {
            let Some(parked) = self.gate.unpark() else {
                break;
            };
            self.handle(parked.tx, parked.work, parked.reply);
        }
    }

    /// The shard's journal writer, if `appendonly yes`.
    #[inline]
    pub fn journal(&self) -> Option<Rc<crate::persist::journal::Writer>> {
        self.journal.borrow().clone()
    }

    /// Installs the shard's journal writer (startup, or `CONFIG SET appendonly yes`
    /// through a rewrite); false if one is installed already.
    pub fn set_journal(&self, writer: Rc<crate::persist::journal::Writer>) -> bool {
        let mut journal = self.journal.borrow_mut();
        if journal.is_some() {
            return false;
        }
        *journal = Some(writer);
        true
    }

    /// Removes the shard's journal writer (`CONFIG SET appendonly no`, once it wrote
    /// everything) and sends every response still held back for it.
    pub fn clear_journal(&self) {
        self.journal.borrow_mut().take();
        let held: Vec<_> = self.deferred.borrow_mut().drain(..).collect();
        for (_, _, reply, result) in held {
            self.respond_now(reply, result);
        }
    }

    /// Hands the records of the commands just run (shard free) to the journal writer.
    #[inline]
    fn write_pending_records(&self) {
        let Some(writer) = self.journal() else { return };
        let mut state = self.state.borrow_mut();
        let Some(pending) = state.keyspace.journal.as_deref_mut() else { return };
        if pending.is_empty() {
            return;
        }
        let (bodies, _) = pending.take();
        drop(state);
        writer.append_records(&bodies);
    }

    /// While a transaction holds the shard: the first time it leaves journal records
    /// here, counts this shard among the transaction's writers (before any reply goes
    /// back, so the count is final when the transaction commits).
    #[inline]
    fn note_tx_records(&self) {
        if self.journal.borrow().is_none() || self.gate.is_free() {
            return;
        }
        let has_records = self.state.borrow().keyspace.journal.as_deref().is_some_and(|p| !p.is_empty());
        if has_records {
            self.gate.count_writer();
        }
    }

    /// Sends `result` once the journal has `target` written (and fsynced, if `durable`).
    fn respond_at(&self, target: u64, durable: bool, reply: ReplyTo, result: AnyBox) {
        match self.journal() {
            Some(writer) if !writer.has_reached(target, durable) => {
                self.deferred.borrow_mut().push((target, durable, reply, result));
            }
            _ => self.respond_now(reply, result),
        }
    }

    /// Sends the held-back responses whose journal position is reached (the writer calls
    /// this after each write and fsync).
    pub fn release_deferred(&self) {
        let Some(writer) = self.journal() else { return };
        let ready: Vec<(ReplyTo, AnyBox)> = {
            let mut deferred = self.deferred.borrow_mut();
            if deferred.is_empty() {
                return;
            }
            let mut ready = Vec::new();
            let mut i = 0;
            while i < deferred.len() {
                let (target, durable) = (deferred[i].0, deferred[i].1);
                if writer.has_reached(target, durable) {
                    let (_, _, reply, result) = deferred.remove(i);
                    ready.push((reply, result));
                } else {
                    i += 1;
                }
            }
            ready
        };
        for (reply, result) in ready {
            self.respond_now(reply, result);
        }
    }

    /// Marks a transaction of this thread as committing its journal parts.
    pub(crate) fn commit_started(&self) {
        self.commits.set(self.commits.get() + 1);
    }

    /// Marks a commit from [`Node::commit_started`] as done.
    pub(crate) fn commit_finished(&self) {
        self.commits.set(self.commits.get().saturating_sub(1));
        if self.commits.get() == 0 {
            for waker in self.commit_waiters.borrow_mut().drain(..) {
                waker.wake();
            }
        }
    }

    /// Completes when no transaction of this thread is committing its journal parts.
    pub fn commits_done(&self) -> impl Future<Output = ()> + '_ {
        std::future::poll_fn(move |cx| {
            if self.commits.get() == 0 {
                Poll::Ready(())
            } else {
                self.commit_waiters.borrow_mut().push(cx.waker().clone());
                Poll::Pending
            }
        })
    }

    fn respond(&self, reply: ReplyTo, result: AnyBox) {
        if let ReplyTo::Remote { .. } = reply {
            // Nothing is acknowledged before its records are in the file (fsynced too, with
            // appendfsync always). A borrow, not a clone of the writer: this runs for every
            // response to another shard.
            let hold_at = self.journal.borrow().as_ref().filter(|w| w.must_defer()).map(|w| (w.appended(), w.always()));
            if let Some((target, durable)) = hold_at {
                self.deferred.borrow_mut().push((target, durable, reply, result));
                return;
            }
        }
        self.respond_now(reply, result);
    }

    fn respond_now(&self, reply: ReplyTo, result: AnyBox) {
        match reply {
            ReplyTo::Nobody => {}
            ReplyTo::Local { id } => self.deliver(id, result),
            ReplyTo::Remote { from, id } if from == self.id => self.deliver(id, result),
            ReplyTo::Remote { from, id } => {
                let response = Response { id, result };
                if let Err(glommio::GlommioError::WouldBlock(glommio::ResourceType::Channel(response))) =
                    self.responses.try_send_to(from, response)
                {
                    let senders = self.responses.clone();
                    glommio::spawn_local(async move {
                        let _ = senders.send_to(from, response).await;
                    })
                    .detach();
                }
            }
        }
    }
}

thread_local! {
    /// This thread's node, for tasks started on it by another shard ([`Node::run_task_on`]).
    static CURRENT: RefCell<Option<Rc<Node>>> = const { RefCell::new(None) };
}

/// A one-shot slot a waiting connection awaits.
#[derive(Default)]
struct Slot {
    value: RefCell<Option<AnyBox>>,
    waker: RefCell<Option<Waker>>,
}

impl Slot {
    fn fill(&self, value: AnyBox) {
        *self.value.borrow_mut() = Some(value);
        if let Some(waker) = self.waker.borrow_mut().take() {
            waker.wake();
        }
    }
}

struct SlotFuture(Rc<Slot>);

impl Future for SlotFuture {
    type Output = Result<AnyBox, ShardUnavailable>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Some(value) = self.0.value.borrow_mut().take() {
            return Poll::Ready(Ok(value));
        }
        *self.0.waker.borrow_mut() = Some(cx.waker().clone());
        Poll::Pending
    }
}
