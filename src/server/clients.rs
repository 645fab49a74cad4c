//! The connections one thread serves, for CLIENT LIST / KILL / INFO and INFO clients.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use bytes::Bytes;

/// CLIENT REPLY's modes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ReplyMode {
    /// Replies are sent.
    On,
    /// No replies are sent.
    Off,
    /// The reply to the next command is not sent.
    Skip,
    /// The current command's reply is being skipped (SKIP was given by the previous command).
    SkipThis,
}

/// What CLIENT LIST shows about a connection.
#[derive(Debug, Clone)]
pub struct ClientInfo {
    /// CLIENT ID.
    pub id: u64,
    /// Peer address `ip:port`.
    pub addr: String,
    /// Local address `ip:port`.
    pub laddr: String,
    /// The socket's file descriptor.
    pub fd: i32,
    /// CLIENT SETNAME.
    pub name: Option<Bytes>,
    /// Connected since, Unix ms.
    pub created_ms: i64,
    /// Last command, Unix ms.
    pub last_interaction_ms: i64,
    /// Selected database.
    pub db: usize,
    /// Protocol version (2 or 3).
    pub resp: u8,
    /// Registry id of the last command (its name: `Registry::name_of`), `None` before the first.
    pub last_cmd: Option<usize>,
    /// CLIENT SETINFO LIB-NAME.
    pub lib_name: Option<Bytes>,
    /// CLIENT SETINFO LIB-VER.
    pub lib_ver: Option<Bytes>,
    /// CLIENT NO-EVICT.
    pub no_evict: bool,
    /// CLIENT NO-TOUCH.
    pub no_touch: bool,
    /// CLIENT REPLY mode.
    pub reply_mode: ReplyMode,
    /// Bytes in the query buffer.
    pub qbuf: usize,
    /// Free bytes in the query buffer.
    pub qbuf_free: usize,
    /// Bytes in the output buffer.
    pub obl: usize,
    /// Which shard (thread) serves the connection.
    pub shard: usize,
}

/// A connection's shared handle: its info and the switch that closes it.
pub struct ClientHandle {
    /// What CLIENT LIST shows.
    pub info: RefCell<ClientInfo>,
    killed: Cell<bool>,
    waker: RefCell<Option<Waker>>,
}

impl ClientHandle {
    /// A handle for a new connection.
    pub fn new(info: ClientInfo) -> ClientHandle {
        ClientHandle { info: RefCell::new(info), killed: Cell::new(false), waker: RefCell::new(None) }
    }

    /// Asks the connection to close (CLIENT KILL, timeout, shutdown).
    pub fn kill(&self) {
        self.killed.set(true);
        if let Some(waker) = self.waker.borrow_mut().take() {
            waker.wake();
        }
    }

    /// Whether the connection was asked to close.
    pub fn is_killed(&self) -> bool {
        self.killed.get()
    }

    /// A future that completes when the connection is asked to close.
    pub fn killed(self: &Rc<Self>) -> Killed {
        Killed(self.clone())
    }
}

/// Completes when [`ClientHandle::kill`] is called.
pub struct Killed(Rc<ClientHandle>);

impl Future for Killed {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0.killed.get() {
            Poll::Ready(())
        } else {
            *self.0.waker.borrow_mut() = Some(cx.waker().clone());
            Poll::Pending
        }
    }
}

/// The connections of one thread, by client id.
#[derive(Default)]
pub struct ClientRegistry {
    clients: BTreeMap<u64, Rc<ClientHandle>>,
}

impl ClientRegistry {
    /// Adds a connection.
    pub fn add(&mut self, handle: Rc<ClientHandle>) {
        let id = handle.info.borrow().id;
        self.clients.insert(id, handle);
    }

    /// Removes a connection.
    pub fn remove(&mut self, id: u64) {
        self.clients.remove(&id);
    }

    /// The number of connections.
    pub fn len(&self) -> usize {
        self.clients.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.clients.is_empty()
    }

    /// Every connection, by id.
    pub fn iter(&self) -> impl Iterator<Item = &Rc<ClientHandle>> {
        self.clients.values()
    }

    /// A copy of every connection's info, by id.
    pub fn infos(&self) -> Vec<ClientInfo> {
        self.clients.values().map(|h| h.info.borrow().clone()).collect()
    }
}
