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
    /// Whether the connection waits in a blocking command (flag `b`).
    pub blocked: bool,
    /// Commands queued in MULTI, -1 outside MULTI (CLIENT LIST `multi=`, flag `x`).
    pub multi: i64,
    /// Channels subscribed to (SUBSCRIBE).
    pub sub: usize,
    /// Patterns subscribed to (PSUBSCRIBE).
    pub psub: usize,
    /// Shard channels subscribed to (SSUBSCRIBE).
    pub ssub: usize,
}

impl ClientInfo {
    /// Makes this (the info of a script's session, reused from run to run) a copy of the
    /// info of `from`, the client running the script, reusing this one's string buffers.
    pub fn copy_for_script(&mut self, from: &ClientInfo) {
        let mut addr = std::mem::take(&mut self.addr);
        let mut laddr = std::mem::take(&mut self.laddr);
        addr.clone_from(&from.addr);
        laddr.clone_from(&from.laddr);
        *self = ClientInfo {
            addr,
            laddr,
            name: from.name.clone(),
            lib_name: from.lib_name.clone(),
            lib_ver: from.lib_ver.clone(),
            ..*from
        };
    }
}

/// A connection's shared handle: its info and the switch that closes it.
pub struct ClientHandle {
    /// What CLIENT LIST shows.
    pub info: RefCell<ClientInfo>,
    /// Its subscriptions and the Pub/Sub messages waiting to be written to it.
    pub pubsub: crate::server::pubsub::Subscriber,
    killed: Cell<bool>,
    waker: RefCell<Option<Waker>>,
    /// Why a blocking command must stop waiting, once something says so.
    interrupt: Cell<Option<Interrupt>>,
    interrupt_waker: RefCell<Option<Waker>>,
}

/// Why a blocked command stops waiting before its key is ready or its timeout passes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Interrupt {
    /// CLIENT UNBLOCK id TIMEOUT: reply as if the timeout had passed.
    UnblockTimeout,
    /// CLIENT UNBLOCK id ERROR: reply `-UNBLOCKED`.
    UnblockError,
    /// The client closed the connection, or it is being closed.
    Gone,
}

impl ClientHandle {
    /// A handle for a new connection.
    pub fn new(info: ClientInfo) -> ClientHandle {
        ClientHandle {
            info: RefCell::new(info),
            pubsub: crate::server::pubsub::Subscriber::default(),
            killed: Cell::new(false),
            waker: RefCell::new(None),
            interrupt: Cell::new(None),
            interrupt_waker: RefCell::new(None),
        }
    }

    /// Marks the connection as waiting in a blocking command, or not any more.
    pub fn set_blocked(&self, blocked: bool) {
        self.info.borrow_mut().blocked = blocked;
        if blocked {
            // A stale CLIENT UNBLOCK must not cut the next wait short; a closed client stays gone.
            if self.interrupt.get() != Some(Interrupt::Gone) {
                self.interrupt.set(None);
            }
        }
    }

    /// Whether the connection waits in a blocking command.
    pub fn is_blocked(&self) -> bool {
        self.info.borrow().blocked
    }

    /// Stops a blocking command's wait (CLIENT UNBLOCK, disconnect).
    pub fn interrupt(&self, why: Interrupt) {
        if self.interrupt.get() != Some(Interrupt::Gone) {
            self.interrupt.set(Some(why));
        }
        if let Some(waker) = self.interrupt_waker.borrow_mut().take() {
            waker.wake();
        }
    }

    /// Whether the client went away (closed its side while a command was blocked).
    pub fn is_gone(&self) -> bool {
        self.interrupt.get() == Some(Interrupt::Gone)
    }

    /// A future that completes when a blocking command must stop waiting.
    pub fn interrupted(self: &Rc<Self>) -> Interrupted {
        Interrupted(self.clone())
    }

    /// Asks the connection to close (CLIENT KILL, timeout, shutdown).
    pub fn kill(&self) {
        self.killed.set(true);
        if let Some(waker) = self.waker.borrow_mut().take() {
            waker.wake();
        }
        self.interrupt(Interrupt::Gone);
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

/// Completes when [`ClientHandle::interrupt`] is called (or the connection is killed).
pub struct Interrupted(Rc<ClientHandle>);

impl Future for Interrupted {
    type Output = Interrupt;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Interrupt> {
        match self.0.interrupt.get() {
            Some(why) => Poll::Ready(why),
            None => {
                *self.0.interrupt_waker.borrow_mut() = Some(cx.waker().clone());
                Poll::Pending
            }
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
