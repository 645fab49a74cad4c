//! One shard's journal writer: an append buffer, and the task that writes it to the file
//! through io_uring (glommio's `BufferedFile`), group-committing whatever accumulated while
//! the previous write and fsync ran.
//!
//! Positions are byte offsets in the file: `appended` is where the buffer ends, `written`
//! what the kernel has, `durable` what an fsync covered. With `appendfsync always` the
//! shard holds back every response while `durable < appended` ([`crate::shard::Node`]
//! defers them and [`Writer::run`] lets them go after each fsync), and a connection waits
//! for `durable` before writing its replies ([`wait_for_acks`]). With `everysec` a second
//! task fsyncs once a second, never in the way of requests; with `no` nothing fsyncs.
//!
//! Positions are logical: they keep growing across files. A journal rewrite switches the
//! writer to a new file in one synchronous step ([`Writer::switch`]): what was appended
//! before it still goes to the old file ("retiring"), which is fsynced and closed once it
//! has everything; the new file gets the rest. A file offset is `position - origin`.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use glommio::io::BufferedFile;

use super::format;
use crate::config::AppendFsync;
use crate::shard::Node;

/// A shard's journal writer state (lives on the shard's [`Node`]).
pub struct Writer {
    shard: usize,
    file: RefCell<Rc<BufferedFile>>,
    path: RefCell<String>,
    /// The current file's offset of a position is `position - origin`.
    origin: Cell<u64>,
    /// The file a switch left, until everything before the switch is written and fsynced.
    retiring: RefCell<Option<Retiring>>,
    finished: Cell<bool>,
    buf: RefCell<Vec<u8>>,
    appended: Cell<u64>,
    written: Cell<u64>,
    durable: Cell<u64>,
    fsync: Cell<AppendFsync>,
    wake: RefCell<Option<Waker>>,
    progress: RefCell<Vec<Waker>>,
    failing: Cell<bool>,
    stopped: Cell<bool>,
}

/// The file a [`Writer::switch`] left.
struct Retiring {
    file: Rc<BufferedFile>,
    origin: u64,
    /// The position of the switch: everything before it belongs to this file.
    end: u64,
}

/// The text Redis's `strerror` gives for a glommio I/O error.
pub fn error_text<T>(e: glommio::GlommioError<T>) -> String {
    let io: std::io::Error = match e {
        glommio::GlommioError::EnhancedIoError { source, .. } => source,
        other => other.into(),
    };
    strerror(&io)
}

/// `strerror` of an I/O error: "File too large", without Rust's " (os error 27)".
pub fn strerror(e: &std::io::Error) -> String {
    let text = match e.raw_os_error() {
        Some(code) => std::io::Error::from_raw_os_error(code).to_string(),
        None => e.to_string(),
    };
    match text.find(" (os error") {
        Some(at) => text[..at].to_string(),
        None => text,
    }
}

impl Writer {
    /// A writer appending to `file` (named `path`) from offset `len`, its current valid end.
    pub fn new(shard: usize, file: BufferedFile, path: String, len: u64, fsync: AppendFsync) -> Writer {
        Writer {
            shard,
            file: RefCell::new(Rc::new(file)),
            path: RefCell::new(path),
            origin: Cell::new(0),
            retiring: RefCell::new(None),
            finished: Cell::new(false),
            buf: RefCell::new(Vec::new()),
            appended: Cell::new(len),
            written: Cell::new(len),
            durable: Cell::new(len),
            fsync: Cell::new(fsync),
            wake: RefCell::new(None),
            progress: RefCell::new(Vec::new()),
            failing: Cell::new(false),
            stopped: Cell::new(false),
        }
    }

    /// Opens an existing journal file `path` (created with its header, fsynced) to switch
    /// to ([`Writer::switch`]); its length is the header's.
    pub async fn open_new_file(path: &str) -> Result<BufferedFile, String> {
        glommio::io::OpenOptions::new()
            .write(true)
            .buffered_open(path)
            .await
            .map_err(|e| format!("Can't open the journal file {path}: {}", error_text(e)))
    }

    /// Switches to `file` (named `path`, holding only its header): everything appended
    /// from now on goes there; what was appended before still goes to the current file,
    /// which is fsynced and closed once written. False (nothing done) while a previous
    /// switch's file is still retiring.
    pub fn switch(&self, file: BufferedFile, path: String) -> bool {
        if self.retiring.borrow().is_some() {
            return false;
        }
        let end = self.appended.get();
        let old = self.file.replace(Rc::new(file));
        self.path.replace(path);
        let origin = self.origin.replace(end - format::HEADER_LEN);
        *self.retiring.borrow_mut() = Some(Retiring { file: old, origin, end });
        self.kick();
        true
    }

    /// Whether a previous switch's file is still retiring (see [`Writer::switch`]).
    pub fn is_switching(&self) -> bool {
        self.retiring.borrow().is_some()
    }

    /// Bytes of the current file (header included), as far as written.
    pub fn file_len(&self) -> u64 {
        self.written.get().max(self.origin.get() + format::HEADER_LEN) - self.origin.get()
    }

    /// The current file's path.
    pub fn path(&self) -> String {
        self.path.borrow().clone()
    }

    /// Completes when the writing task ended (after [`Writer::stop`]).
    pub fn finished(self: &Rc<Self>) -> impl Future<Output = ()> + use<> {
        let writer = self.clone();
        std::future::poll_fn(move |cx| {
            if writer.finished.get() {
                return Poll::Ready(());
            }
            writer.progress.borrow_mut().push(cx.waker().clone());
            Poll::Pending
        })
    }

    /// Opens (creating it with a header if new) the journal file `path` for shard `shard`
    /// of `shards`, to append from offset `valid_len` (the file is cut there first).
    pub async fn open(
        shard: usize,
        shards: usize,
        path: &str,
        valid_len: Option<u64>,
        fsync: AppendFsync,
    ) -> Result<Writer, String> {
        let file = glommio::io::OpenOptions::new()
            .write(true)
            .create(true)
            .buffered_open(path)
            .await
            .map_err(|e| format!("Can't open the journal file {path}: {}", error_text(e)))?;
        let len = match valid_len {
            Some(len) => {
                let size = file.file_size().await.map_err(|e| format!("{path}: {}", error_text(e)))?;
                if size != len {
                    file.truncate(len).await.map_err(|e| format!("Can't truncate {path}: {}", error_text(e)))?;
                }
                len
            }
            None => {
                let header = format::header(shard, shards);
                let n = header.len() as u64;
                file.truncate(0).await.map_err(|e| format!("{path}: {}", error_text(e)))?;
                let wrote =
                    file.write_at(header, 0).await.map_err(|e| format!("Can't write {path}: {}", error_text(e)))?;
                if wrote as u64 != n {
                    return Err(format!("Can't write {path}: short write"));
                }
                file.fdatasync().await.map_err(|e| format!("Can't fsync {path}: {}", error_text(e)))?;
                n
            }
        };
        Ok(Writer::new(shard, file, path.to_string(), len, fsync))
    }

    /// Where the buffer ends (file offset).
    pub fn appended(&self) -> u64 {
        self.appended.get()
    }

    /// What the kernel has.
    pub fn written(&self) -> u64 {
        self.written.get()
    }

    /// What an fsync covered.
    pub fn durable(&self) -> u64 {
        self.durable.get()
    }

    /// Whether the policy is `appendfsync always`.
    pub fn always(&self) -> bool {
        self.fsync.get() == AppendFsync::Always
    }

    /// Follows a CONFIG SET of `appendfsync`.
    pub fn set_fsync(&self, fsync: AppendFsync) {
        if self.fsync.replace(fsync) != fsync {
            self.kick();
        }
    }

    /// Asks the writing task to write what is left, fsync and end (server shutdown).
    pub fn stop(&self) {
        self.stopped.set(true);
        self.kick();
    }

    /// Whether responses must wait now: for records not yet fsynced under `always`, and
    /// for records not yet handed to the kernel under `everysec` and `no` (so a process
    /// crash never loses an acknowledged write, as with Redis, which writes before it
    /// replies; only an OS crash can lose what was not fsynced).
    #[inline]
    pub fn must_defer(&self) -> bool {
        !self.has_reached(self.appended.get(), self.always())
    }

    fn kick(&self) {
        if let Some(waker) = self.wake.borrow_mut().take() {
            waker.wake();
        }
    }

    fn advanced(&self) {
        for waker in self.progress.borrow_mut().drain(..) {
            waker.wake();
        }
    }

    /// Appends every pending COMMAND body as its own record.
    pub fn append_records(&self, bodies: &[u8]) {
        let mut buf = self.buf.borrow_mut();
        let before = buf.len();
        format::frame_each(&mut buf, bodies);
        self.appended.set(self.appended.get() + (buf.len() - before) as u64);
        drop(buf);
        self.kick();
    }

    /// Appends one GROUP record (a transaction's part on this shard).
    pub fn append_group(&self, tx: u64, participants: u32, count: u32, bodies: &[u8]) {
        let mut buf = self.buf.borrow_mut();
        let before = buf.len();
        format::frame_group(&mut buf, tx, participants, count, bodies);
        self.appended.set(self.appended.get() + (buf.len() - before) as u64);
        drop(buf);
        self.kick();
    }

    /// Waits until the file holds everything up to `target` (`durable`: fsynced too).
    pub fn reached(self: &Rc<Self>, target: u64, durable: bool) -> Reached {
        Reached { writer: self.clone(), target, durable }
    }

    /// Whether `target` is reached (see [`Writer::reached`]). While writes fail, a wait
    /// for "written" ends at once, as Redis with `everysec` still answers the commands it
    /// ran (new writes are refused with -MISCONF meanwhile); a wait for "durable"
    /// (`always`) lasts until the retry succeeds.
    pub fn has_reached(&self, target: u64, durable: bool) -> bool {
        if durable { self.durable.get() >= target } else { self.written.get() >= target || self.failing.get() }
    }

    /// The writing task: runs until the server stops, writing what accumulated, and
    /// with `always` fsyncing after each write; then writes the rest and fsyncs.
    pub async fn run(node: Rc<Node>, writer: Rc<Writer>) {
        loop {
            // A switch's old file: once it has everything, fsync and close it.
            let retire_end = writer.retiring.borrow().as_ref().map(|r| r.end);
            if let Some(end) = retire_end
                && writer.written.get() >= end
            {
                if !writer.sync_to(&node, end).await && writer.stopped.get() {
                    break;
                }
                continue;
            }
            let stopping = writer.stopped.get();
            let has_data = !writer.buf.borrow().is_empty();
            let needs_sync = writer.always() && writer.durable.get() < writer.written.get();
            if !has_data && !needs_sync {
                if stopping {
                    break;
                }
                Idle { writer: &writer }.await;
                continue;
            }
            if has_data && !writer.write_out(&node).await {
                glommio::timer::sleep(Duration::from_millis(if stopping { 10 } else { 1000 })).await;
                if stopping {
                    break;
                }
                continue;
            }
            if writer.always() && writer.durable.get() < writer.written.get() {
                let target = writer.written.get();
                writer.sync_to(&node, target).await;
            }
        }
        // Shutting down: make what was written durable (the retiring file first).
        while writer.durable.get() < writer.written.get() {
            if !writer.sync_to(&node, writer.written.get()).await {
                break;
            }
        }
        writer.finished.set(true);
        writer.advanced();
    }

    /// Writes the buffer at the end of the file; false (with the error recorded) on failure.
    async fn write_out(&self, node: &Node) -> bool {
        let start = self.written.get();
        // Up to a switch, bytes go to the retiring file; after it, to the current one.
        let (file, origin, limit) = match &*self.retiring.borrow() {
            Some(r) if start < r.end => (r.file.clone(), r.origin, Some((r.end - start) as usize)),
            _ => (self.file.borrow().clone(), self.origin.get(), None),
        };
        let mut data = std::mem::take(&mut *self.buf.borrow_mut());
        if let Some(limit) = limit
            && data.len() > limit
        {
            *self.buf.borrow_mut() = data.split_off(limit);
        }
        let mut done = 0usize;
        let mut failure = None;
        let mut chunk = data.clone();
        while done < data.len() {
            match file.write_at(chunk, start - origin + done as u64).await {
                Ok(0) => {
                    failure = Some("No space left on device".to_string());
                    break;
                }
                Ok(n) => {
                    done += n;
                    chunk = data[done..].to_vec();
                }
                Err(e) => {
                    failure = Some(error_text(e));
                    break;
                }
            }
        }
        if let Some(error) = failure {
            if done > 0 {
                // Take the partial record back out, as Redis does; if that fails too, the
                // bytes stay and count as written (a later load reports the tail).
                match file.truncate(start - origin).await {
                    Ok(()) => done = 0,
                    Err(_) => self.written.set(start + done as u64),
                }
            }
            let mut buf = self.buf.borrow_mut();
            let mut rest = data[done..].to_vec();
            rest.extend_from_slice(&buf);
            *buf = rest;
            drop(buf);
            self.fail(node, error);
            return false;
        }
        self.written.set(start + done as u64);
        self.recovered(node);
        {
            let mut state = node.state.borrow_mut();
            state.aof.current_size = self.file_len();
            state.aof.pending_bytes = self.buf.borrow().len() as u64;
            state.aof.unsynced_bytes = self.written.get() - self.durable.get();
        }
        self.advanced();
        node.release_deferred();
        true
    }

    /// fsyncs the file, then marks everything up to `target` durable; false if it failed.
    /// While a switch's old file retires, that file is fsynced (up to the switch at most)
    /// and, once it is durable, closed. With `everysec`, counts a delayed fsync when it is
    /// still running after 2 s.
    async fn sync_to(&self, node: &Node, target: u64) -> bool {
        let (file, target, retiring) = match &*self.retiring.borrow() {
            Some(r) => (r.file.clone(), target.min(r.end), true),
            None => (self.file.borrow().clone(), target, false),
        };
        node.state.borrow_mut().aof.fsync_in_progress = true;
        let started = std::time::Instant::now();
        let mut counted = false;
        let sync = file.fdatasync();
        futures_lite::pin!(sync);
        let result = loop {
            let timer = glommio::timer::sleep(Duration::from_millis(500));
            match futures_lite::future::or(async { Some((&mut sync).await) }, async {
                timer.await;
                None
            })
            .await
            {
                Some(result) => break result,
                None if !counted && started.elapsed() >= Duration::from_secs(2) => {
                    counted = true;
                    node.state.borrow_mut().aof.delayed_fsync += 1;
                }
                None => {}
            }
        };
        node.state.borrow_mut().aof.fsync_in_progress = false;
        match result {
            Ok(()) => {
                if self.durable.get() < target {
                    self.durable.set(target);
                }
                if retiring {
                    let mut slot = self.retiring.borrow_mut();
                    if slot.as_ref().is_some_and(|r| target >= r.end) {
                        // Dropping the last handle closes the old file.
                        slot.take();
                    }
                }
                {
                    let mut state = node.state.borrow_mut();
                    state.aof.last_fsync_ms = crate::util::now_ms();
                    state.aof.unsynced_bytes = self.written.get() - self.durable.get();
                }
                self.advanced();
                node.release_deferred();
                true
            }
            Err(e) => {
                self.fail(node, error_text(e));
                glommio::timer::sleep(Duration::from_millis(if self.stopped.get() { 10 } else { 1000 })).await;
                false
            }
        }
    }

    /// The `everysec` task: fsyncs what was written once a second, in the background.
    pub async fn run_everysec(node: Rc<Node>, writer: Rc<Writer>) {
        loop {
            glommio::timer::sleep(Duration::from_secs(1)).await;
            if writer.stopped.get() || node.shared.shutdown.load(Ordering::Relaxed) {
                break;
            }
            if writer.fsync.get() != AppendFsync::Everysec {
                continue;
            }
            let target = writer.written.get();
            if writer.durable.get() < target {
                writer.sync_to(&node, target).await;
            }
        }
    }

    fn fail(&self, node: &Node, error: String) {
        {
            let mut state = node.state.borrow_mut();
            state.aof.last_write_ok = false;
            state.aof.last_write_error = Some(error.clone());
        }
        if !self.failing.replace(true) {
            crate::server::log::log(
                crate::server::log::Level::Warning,
                &format!("Error writing to the journal file {} (shard {}): {error}", self.path.borrow(), self.shard),
            );
        }
        node.shared
            .write_refusal
            .set(&format!("aof:{}", self.shard), format!("MISCONF Errors writing to the AOF file: {error}"));
        // Waits for "written" end while writes fail (see `has_reached`).
        self.advanced();
        node.release_deferred();
    }

    fn recovered(&self, node: &Node) {
        if self.failing.replace(false) {
            {
                let mut state = node.state.borrow_mut();
                state.aof.last_write_ok = true;
                state.aof.last_write_error = None;
            }
            crate::server::log::log(
                crate::server::log::Level::Warning,
                &format!("Journal write error on shard {} solved: the journal can be written again", self.shard),
            );
            node.shared.write_refusal.clear(&format!("aof:{}", self.shard));
        }
    }
}

/// Waits for data to write.
struct Idle<'a> {
    writer: &'a Writer,
}

impl Future for Idle<'_> {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let writer = self.writer;
        if !writer.buf.borrow().is_empty()
            || (writer.always() && writer.durable.get() < writer.written.get())
            || writer.retiring.borrow().is_some()
        {
            return Poll::Ready(());
        }
        if writer.stopped.get() {
            return Poll::Ready(());
        }
        *writer.wake.borrow_mut() = Some(cx.waker().clone());
        Poll::Pending
    }
}

/// Completes when a writer reaches a position (see [`Writer::reached`]).
pub struct Reached {
    writer: Rc<Writer>,
    target: u64,
    durable: bool,
}

impl Future for Reached {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.writer.has_reached(self.target, self.durable) {
            return Poll::Ready(());
        }
        self.writer.progress.borrow_mut().push(cx.waker().clone());
        Poll::Pending
    }
}

/// Before a connection writes its replies: waits until no transaction this thread
/// coordinates is still committing and this shard's journal holds everything appended so
/// far: fsynced with `appendfsync always`, written to the file (the kernel's page cache)
/// otherwise. Nothing to wait for without a journal.
pub async fn wait_for_acks(node: &Node) {
    let Some(writer) = node.journal() else { return };
    node.commits_done().await;
    let target = writer.appended();
    let durable = writer.always();
    if !writer.has_reached(target, durable) {
        writer.reached(target, durable).await;
    }
}
