//! One connection's state: selected database, protocol version, reply mode, and the
//! node of the thread serving it.

use std::rc::Rc;
use std::sync::Arc;

use crate::command::Registry;
use crate::config::Config;
use crate::protocol::OwnedArgs;
use crate::shard::coord::{Tx, TxId};
use crate::shard::node::ShardUnavailable;
use crate::shard::slot::key_shard;
use crate::shard::watch::WatchFlag;
use crate::shard::{Key, Node};

use super::clients::{ClientHandle, ReplyMode};

/// A connection as commands see it.
pub struct Session {
    /// The node of the thread serving the connection.
    pub node: Rc<Node>,
    /// The connection's shared handle (what CLIENT LIST shows).
    pub handle: Rc<ClientHandle>,
    /// Close the connection once the current replies are written (QUIT, protocol errors, SHUTDOWN).
    pub close_after_reply: bool,
    /// Commands queued since MULTI, if the connection is in a transaction.
    pub multi: Option<Multi>,
    /// The keys WATCHed, and the flag their shards set when one changes.
    pub watch: Watch,
    /// The transaction EXEC holds while it runs the queued commands: every command it runs
    /// uses it instead of holding shards of its own.
    pub tx: Option<Rc<Tx>>,
}

/// A transaction being queued (MULTI ... EXEC).
#[derive(Default)]
pub struct Multi {
    /// The queued commands, as sent.
    pub queued: Vec<OwnedArgs>,
    /// A command was refused while queuing: EXEC answers EXECABORT.
    pub aborted: bool,
}

/// A connection's watched keys.
#[derive(Default)]
pub struct Watch {
    /// Set by a shard when a watched key changes.
    pub flag: WatchFlag,
    /// (database, key) of every watched key.
    pub keys: Vec<(usize, Key)>,
}

/// Shards held for a command: its own transaction, or the one EXEC holds.
pub enum Held {
    /// Acquired for this command; released when dropped.
    Own(Tx),
    /// EXEC's transaction, which holds every shard its commands need.
    Exec(Rc<Tx>),
}

impl std::ops::Deref for Held {
    type Target = Tx;
    fn deref(&self) -> &Tx {
        match self {
            Held::Own(tx) => tx,
            Held::Exec(tx) => tx,
        }
    }
}

impl Session {
    /// A session for a new connection.
    pub fn new(node: Rc<Node>, handle: Rc<ClientHandle>) -> Session {
        Session { node, handle, close_after_reply: false, multi: None, watch: Watch::default(), tx: None }
    }

    /// The transaction the connection's commands run in (inside EXEC), if any.
    pub fn tx_id(&self) -> Option<TxId> {
        self.tx.as_ref().map(|tx| tx.id())
    }

    /// Holds `shards` for a command: through the coordination mechanism, or — inside EXEC,
    /// which already holds every shard its commands need — EXEC's own transaction.
    pub async fn hold(&self, shards: impl IntoIterator<Item = usize>) -> Result<Held, ShardUnavailable> {
        self.hold_as(shards, false).await
    }

    /// As [`Session::hold`], for a Lua script: its shards answer `-BUSY` to others once it
    /// has run past `busy-reply-threshold`.
    pub async fn hold_for_script(&self, shards: impl IntoIterator<Item = usize>) -> Result<Held, ShardUnavailable> {
        self.hold_as(shards, true).await
    }

    async fn hold_as(&self, shards: impl IntoIterator<Item = usize>, script: bool) -> Result<Held, ShardUnavailable> {
        match &self.tx {
            Some(tx) => Ok(Held::Exec(tx.clone())),
            None if script => Ok(Held::Own(Tx::begin_script(&self.node, shards).await?)),
            None => Ok(Held::Own(Tx::begin(&self.node, shards).await?)),
        }
    }

    /// Forgets every watched key (UNWATCH, EXEC, DISCARD, RESET, disconnect).
    pub fn unwatch(&mut self) {
        let watch = std::mem::take(&mut self.watch);
        for (db, key) in watch.keys {
            let flag = watch.flag.clone();
            let shard = key_shard(&key, self.node.shards);
            self.node.post_unheld(shard, move |state| {
                if let Some(database) = state.keyspace.dbs.get_mut(db) {
                    database.watched.unwatch(&key, &flag);
                }
            });
        }
    }

    /// Leaves MULTI (if in it) and forgets watched keys.
    pub fn discard_transaction(&mut self) {
        self.multi = None;
        self.handle.info.borrow_mut().multi = -1;
        self.unwatch();
    }

    /// The command table.
    pub fn registry(&self) -> &Registry {
        &self.node.registry
    }

    /// This thread's configuration snapshot.
    pub fn config(&self) -> Arc<Config> {
        self.node.config()
    }

    /// The connection's client id.
    pub fn id(&self) -> u64 {
        self.handle.info.borrow().id
    }

    /// The selected database.
    pub fn db(&self) -> usize {
        self.handle.info.borrow().db
    }

    /// Selects database `db`.
    pub fn set_db(&self, db: usize) {
        self.handle.info.borrow_mut().db = db;
    }

    /// Whether the client speaks RESP3.
    pub fn resp3(&self) -> bool {
        self.handle.info.borrow().resp == 3
    }

    /// Sets the protocol version (2 or 3).
    pub fn set_resp(&self, version: u8) {
        self.handle.info.borrow_mut().resp = version;
    }

    /// CLIENT NO-TOUCH.
    pub fn no_touch(&self) -> bool {
        self.handle.info.borrow().no_touch
    }

    /// CLIENT REPLY mode.
    pub fn reply_mode(&self) -> ReplyMode {
        self.handle.info.borrow().reply_mode
    }

    /// Sets the CLIENT REPLY mode.
    pub fn set_reply_mode(&self, mode: ReplyMode) {
        self.handle.info.borrow_mut().reply_mode = mode;
    }
}
