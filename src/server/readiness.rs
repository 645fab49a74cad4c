//! Which client sockets of one shard thread have input, learnt from one epoll instance,
//! the way Redis learns it.
//!
//! Why not glommio's own `read`: it arms a one-shot io_uring poll on the socket after each
//! read, so at pipeline depth 1 every request pays for arming a poll, a wake-up that runs
//! io_uring task work, and a completion. Here each socket is registered once, edge-triggered:
//! the kernel's wake-up only puts the socket on the epoll ready list. The executor collects
//! the list with one `epoll_wait` per loop, without waiting, and watches the epoll
//! descriptor with an io_uring poll only while it sleeps (the vendored glommio's
//! `set_external_poller`). A read is then one `recv`, as in Redis.
//!
//! Edge-triggered means a socket is reported again only when new input arrives after it
//! was reported. So a socket stays marked ready until a `recv` shows it drained: one that
//! fills less than the buffer, or answers EAGAIN. Input arriving between the report and the
//! `recv` can make a report stale; it then costs one `recv` answering EAGAIN, nothing more.

use std::cell::RefCell;
use std::future::poll_fn;
use std::io;
use std::os::fd::{AsFd, AsRawFd};
use std::rc::Rc;
use std::task::{Poll, Waker};

use glommio::net::TcpStream;
use nix::errno::Errno;
use nix::sys::epoll::{Epoll, EpollCreateFlags, EpollEvent, EpollFlags};
use nix::sys::socket::{MsgFlags, recv};

/// How many readiness reports one `epoll_wait` collects.
const EVENTS_PER_WAIT: usize = 256;

/// One shard thread's epoll instance and what it knows of each registered socket.
pub struct Readiness {
    epoll: Epoll,
    sockets: RefCell<Sockets>,
    /// Where `epoll_wait` writes its reports.
    events: RefCell<Vec<EpollEvent>>,
}

/// Registered sockets by token (the index, which is also the epoll event's data).
#[derive(Default)]
struct Sockets {
    entries: Vec<Entry>,
    free: Vec<usize>,
}

#[derive(Default)]
struct Entry {
    /// The socket may have input: the next read tries `recv`.
    ready: bool,
    /// The reader waiting for input.
    waker: Option<Waker>,
}

/// A socket's place in a [`Readiness`]: pass it to [`Readiness::read`], and release it
/// with [`Readiness::deregister`] before the socket closes.
pub struct Registration {
    token: usize,
}

impl Readiness {
    /// A new epoll instance for this thread; [`Readiness::install`] makes it report.
    pub fn new() -> io::Result<Rc<Self>> {
        let epoll = Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC)?;
        Ok(Rc::new(Readiness {
            epoll,
            sockets: RefCell::new(Sockets::default()),
            events: RefCell::new(vec![EpollEvent::empty(); EVENTS_PER_WAIT]),
        }))
    }

    /// Registers `stream` for input reports.
    pub fn register(&self, stream: &TcpStream) -> io::Result<Registration> {
        let token = {
            let mut sockets = self.sockets.borrow_mut();
            // A fresh socket may have input already: the first read tries.
            let entry = Entry { ready: true, waker: None };
            match sockets.free.pop() {
                Some(token) => {
                    sockets.entries[token] = entry;
                    token
                }
                None => {
                    sockets.entries.push(entry);
                    sockets.entries.len() - 1
                }
            }
        };
        let flags = EpollFlags::EPOLLIN | EpollFlags::EPOLLRDHUP | EpollFlags::EPOLLET;
        if let Err(e) = self.epoll.add(stream.as_fd(), EpollEvent::new(flags, token as u64)) {
            self.release(token);
            return Err(e.into());
        }
        Ok(Registration { token })
    }

    /// Stops reports for `stream` and frees its token.
    pub fn deregister(&self, stream: &TcpStream, registration: Registration) {
        // Deleting removes any report still queued for the socket, so the token can be
        // reused at once. It fails only if the socket was never added, which `register`
        // rules out.
        let _ = self.epoll.delete(stream.as_fd());
        self.release(registration.token);
    }

    fn release(&self, token: usize) {
        let mut sockets = self.sockets.borrow_mut();
        sockets.entries[token] = Entry::default();
        sockets.free.push(token);
    }

    /// Reads what `stream` has into `buf`, waiting until it has something; 0 means the
    /// peer closed.
    pub async fn read(&self, registration: &Registration, stream: &TcpStream, buf: &mut [u8]) -> io::Result<usize> {
        let fd = stream.as_raw_fd();
        poll_fn(|cx| {
            let mut sockets = self.sockets.borrow_mut();
            let entry = &mut sockets.entries[registration.token];
            while entry.ready {
                match recv(fd, buf, MsgFlags::MSG_DONTWAIT) {
                    Ok(n) => {
                        // Less than asked for: the socket is drained for now.
                        if n < buf.len() {
                            entry.ready = false;
                        }
                        return Poll::Ready(Ok(n));
                    }
                    Err(Errno::EAGAIN) => entry.ready = false,
                    Err(Errno::EINTR) => {}
                    Err(e) => return Poll::Ready(Err(e.into())),
                }
            }
            match &entry.waker {
                Some(waker) if waker.will_wake(cx.waker()) => {}
                _ => entry.waker = Some(cx.waker().clone()),
            }
            Poll::Pending
        })
        .await
    }

    /// Makes this thread's executor collect the reports (see [`Readiness::poll`]).
    pub fn install(self: &Rc<Self>) {
        let readiness = self.clone();
        glommio::executor().set_external_poller(self.epoll.0.as_raw_fd(), Box::new(move || readiness.poll()));
    }

    /// Collects the reports waiting on the epoll instance, without waiting, and wakes
    /// the readers of the sockets they name; returns how many it woke. The executor
    /// calls this once per loop, and watches the epoll descriptor only while it sleeps.
    fn poll(&self) -> usize {
        let mut events = self.events.borrow_mut();
        let mut woken = 0;
        loop {
            let count = match self.epoll.wait(&mut events, 0) {
                Ok(count) => count,
                Err(Errno::EINTR) => continue,
                // Cannot happen for a valid epoll descriptor and buffer.
                Err(_) => return woken,
            };
            let mut sockets = self.sockets.borrow_mut();
            for event in &events[..count] {
                if let Some(entry) = sockets.entries.get_mut(event.data() as usize) {
                    entry.ready = true;
                    if let Some(waker) = entry.waker.take() {
                        waker.wake();
                        woken += 1;
                    }
                }
            }
            if count < events.len() {
                return woken;
            }
        }
    }
}
