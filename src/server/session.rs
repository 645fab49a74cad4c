//! One connection's state: selected database, protocol version, reply mode, and the
//! node of the thread serving it.

use std::rc::Rc;
use std::sync::Arc;

use crate::command::Registry;
use crate::config::Config;
use crate::shard::Node;

use super::clients::{ClientHandle, ReplyMode};

/// A connection as commands see it.
pub struct Session {
    /// The node of the thread serving the connection.
    pub node: Rc<Node>,
    /// The connection's shared handle (what CLIENT LIST shows).
    pub handle: Rc<ClientHandle>,
    /// Close the connection once the current replies are written (QUIT, protocol errors, SHUTDOWN).
    pub close_after_reply: bool,
}

impl Session {
    /// A session for a new connection.
    pub fn new(node: Rc<Node>, handle: Rc<ClientHandle>) -> Session {
        Session { node, handle, close_after_reply: false }
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
