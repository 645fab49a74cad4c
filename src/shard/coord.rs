//! The one coordination mechanism for work that spans shards.
//!
//! Multi-key commands whose keys sit on several shards (and, later, MULTI/EXEC, Lua
//! scripts and blocking commands) run as a [`Tx`]: the coordinating connection *holds*
//! every shard involved, does its work on them, and lets them go.
//!
//! **Holding.** Each shard has a [`Gate`]: free, or held by one transaction. While held,
//! the shard runs only that transaction's requests; every other request — a plain
//! command from a local connection, a forwarded one, another transaction's Acquire — is
//! parked in one FIFO queue and taken in order when the holder releases it. A command
//! whose keys are all on one shard never holds anything: it checks that the gate is free
//! (one `Cell` read) and runs.
//!
//! **Order.** A transaction acquires its shards one at a time in ascending shard index,
//! waiting for each grant before asking for the next, and releases them all at the end.
//! One that needs another shard later (a script touching a key it did not declare,
//! [`Tx::add`]) waits for it only if it lies above every shard it holds; otherwise it
//! takes it only if it is free at that moment (`TryAcquire`, which never waits).
//!
//! **Why it cannot deadlock.** A transaction waits only for a shard with a higher index
//! than every shard it already holds (a `TryAcquire` is answered at once, granted or not). A cycle of waiting transactions would need one of
//! them to wait for a lower-indexed shard held by another — impossible. Requests that are
//! not transactions hold nothing, so they cannot be part of a cycle either; they just
//! wait in the queue. The channel loops never wait on a full channel while handling a
//! request (see `node`), so channels add no waiting edge of their own.
//!
//! **Atomicity.** Every observer of more than one shard is itself a transaction, and two
//! transactions sharing a shard are serialized at the lowest shard they share (the later
//! one cannot pass it until the earlier one has released everything), so no client sees
//! half of a multi-shard write.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use super::node::{Node, Parked, ShardState, ShardUnavailable, Work};

/// A transaction id, unique across the server (shard index in the top 16 bits).
pub type TxId = u64;

/// The bit of a [`TxId`] that marks a Lua script's transaction: requests waiting behind
/// one that has run past `busy-reply-threshold` are answered `-BUSY`.
pub const SCRIPT_TX: TxId = 1 << 47;

/// How many of a transaction's shards left journal records (shared by its shards; see
/// [`crate::persist::journal`]): the number of parts its group record has.
pub type TxWriters = Arc<AtomicU32>;

/// Whether a shard is free or held, and who waits for it.
#[derive(Default)]
pub struct Gate {
    holder: Cell<Option<TxId>>,
    /// The holder's count of journaling shards, and whether this shard is in it.
    writers: RefCell<Option<TxWriters>>,
    counted: Cell<bool>,
    /// When the holder took the shard (Unix ms).
    held_since: Cell<i64>,
    parked: RefCell<VecDeque<Parked>>,
}

impl Gate {
    /// Whether a request of transaction `tx` (or of none) may run now.
    pub fn allows(&self, tx: Option<TxId>) -> bool {
        match self.holder.get() {
            // Parked requests are drained as soon as the gate frees, so a free gate has none waiting.
            None => true,
            Some(holder) => tx == Some(holder),
        }
    }

    /// Whether nobody holds the shard.
    pub fn is_free(&self) -> bool {
        self.holder.get().is_none()
    }

    /// Takes the shard for `tx` if free; true if `tx` holds it now.
    pub fn try_take(&self, tx: TxId) -> bool {
        match self.holder.get() {
            None => {
                self.holder.set(Some(tx));
                if tx & SCRIPT_TX != 0 {
                    self.held_since.set(crate::util::now_ms());
                }
                true
            }
            Some(holder) => holder == tx,
        }
    }

    /// As [`Gate::try_take`], remembering the transaction's count of journaling shards.
    pub fn try_take_for(&self, tx: TxId, writers: &TxWriters) -> bool {
        let free = self.holder.get().is_none();
        let taken = self.try_take(tx);
        if free && taken {
            *self.writers.borrow_mut() = Some(writers.clone());
            self.counted.set(false);
        }
        taken
    }

    /// Counts this shard among the holder's journaling shards (once per transaction).
    pub fn count_writer(&self) {
        if self.counted.get() {
            return;
        }
        if let Some(writers) = self.writers.borrow().as_ref() {
            writers.fetch_add(1, Ordering::AcqRel);
            self.counted.set(true);
        }
    }

    /// How long (ms) a script's transaction has held the shard, if one holds it.
    pub fn held_by_script_for(&self, now_ms: i64) -> Option<i64> {
        match self.holder.get() {
            Some(holder) if holder & SCRIPT_TX != 0 => Some(now_ms - self.held_since.get()),
            _ => None,
        }
    }

    /// Lets go of the shard if `tx` holds it; true if it did.
    pub fn release(&self, tx: TxId) -> bool {
        if self.holder.get() == Some(tx) {
            self.holder.set(None);
            self.writers.borrow_mut().take();
            true
        } else {
            false
        }
    }

    /// Queues a request until the shard is free.
    pub(crate) fn park(&self, parked: Parked) {
        self.parked.borrow_mut().push_back(parked);
    }

    /// The oldest queued request.
    pub(crate) fn unpark(&self) -> Option<Parked> {
        self.parked.borrow_mut().pop_front()
    }

    /// The transaction holding the shard, if any.
    pub fn holder(&self) -> Option<TxId> {
        self.holder.get()
    }
}

/// A transaction holding a set of shards; released when dropped.
pub struct Tx {
    node: Rc<Node>,
    id: TxId,
    /// The shards to hold, ascending; the first `granted` of them are held (all of them
    /// once [`Tx::begin`] is done).
    held: RefCell<Vec<usize>>,
    granted: Cell<usize>,
    writers: TxWriters,
}

impl Tx {
    /// Holds `shards` (any order, duplicates allowed), acquiring them in ascending order.
    pub async fn begin(node: &Rc<Node>, shards: impl IntoIterator<Item = usize>) -> Result<Tx, ShardUnavailable> {
        Tx::begin_with_id(node, node.new_tx_id(), shards).await
    }

    /// As [`Tx::begin`], for a Lua script (whose shards answer `-BUSY` once it runs long).
    pub async fn begin_script(
        node: &Rc<Node>,
        shards: impl IntoIterator<Item = usize>,
    ) -> Result<Tx, ShardUnavailable> {
        Tx::begin_with_id(node, node.new_script_tx_id(), shards).await
    }

    async fn begin_with_id(
        node: &Rc<Node>,
        id: TxId,
        shards: impl IntoIterator<Item = usize>,
    ) -> Result<Tx, ShardUnavailable> {
        let mut wanted: Vec<usize> = shards.into_iter().collect();
        wanted.sort_unstable();
        wanted.dedup();
        let count = wanted.len();
        let tx = Tx {
            node: node.clone(),
            id,
            held: RefCell::new(wanted),
            granted: Cell::new(0),
            writers: TxWriters::default(),
        };
        for i in 0..count {
            let shard = tx.held.borrow()[i];
            // This thread's own shard, when free, is taken on the spot: the same grant the
            // request below would get, without its round through a result slot.
            if shard != node.id || !node.gate.try_take_for(tx.id, &tx.writers) {
                node.request(shard, Some(tx.id), Work::Acquire(tx.writers.clone())).await?;
            }
            tx.granted.set(i + 1);
        }
        Ok(tx)
    }

    /// The transaction's id.
    pub fn id(&self) -> TxId {
        self.id
    }

    /// The shards held, ascending.
    pub fn shards(&self) -> Vec<usize> {
        self.held.borrow()[..self.granted.get()].to_vec()
    }

    /// Runs `f` on a held shard.
    pub async fn run<T, F>(&self, shard: usize, f: F) -> Result<T, ShardUnavailable>
    where
        T: Send + 'static,
        F: FnOnce(&mut ShardState) -> T + Send + 'static,
    {
        self.node.run_on(shard, Some(self.id), f).await
    }

    /// Whether `shard` is held.
    pub fn holds(&self, shard: usize) -> bool {
        self.held.borrow()[..self.granted.get()].contains(&shard)
    }

    /// Adds `shard` to the held shards. Waiting for it is deadlock-free only when it is
    /// above every shard held (the ascending order above), so that is the only case that
    /// waits; otherwise the shard is taken only if free right now. True if held after.
    pub async fn add(&self, shard: usize) -> Result<bool, ShardUnavailable> {
        if self.holds(shard) {
            return Ok(true);
        }
        let above_all = self.held.borrow()[..self.granted.get()].iter().all(|&h| h < shard);
        let granted = if above_all {
            self.node.request(shard, Some(self.id), Work::Acquire(self.writers.clone())).await?;
            true
        } else {
            let reply = self.node.request(shard, Some(self.id), Work::TryAcquire(self.writers.clone())).await?;
            reply.downcast::<bool>().map(|b| *b).unwrap_or(false)
        };
        if granted {
            let mut held = self.held.borrow_mut();
            held.truncate(self.granted.get());
            held.push(shard);
            self.granted.set(held.len());
        }
        Ok(granted)
    }

    /// Releases every held shard.
    pub fn release(self) {
        drop(self);
    }
}

impl Drop for Tx {
    /// Releases the shards. If some of them journaled records for the transaction, first
    /// has every one of them append its part of the group record, and releases none until
    /// all parts are written (see [`crate::persist::journal`]); the shards stay held meanwhile.
    fn drop(&mut self) {
        let mut held: Vec<usize> = std::mem::take(&mut *self.held.borrow_mut());
        held.truncate(self.granted.get());
        let writers = self.writers.load(Ordering::Acquire);
        if writers == 0 {
            for shard in held {
                self.node.notify(shard, Some(self.id), Work::Release);
            }
            return;
        }
        let node = self.node.clone();
        let id = self.id;
        node.commit_started();
        glommio::spawn_local(async move {
            let parts: Vec<_> =
                held.iter().map(|&shard| node.request(shard, Some(id), Work::Commit(writers))).collect();
            let _ = crate::util::join_all(parts).await;
            for shard in held {
                node.notify(shard, Some(id), Work::Release);
            }
            node.commit_finished();
        })
        .detach();
    }
}
