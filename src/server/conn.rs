//! The connection loop: read what has arrived, run every complete request in it, write
//! all their replies with one write.

use std::rc::Rc;
use std::sync::atomic::Ordering;

use futures_lite::AsyncWriteExt;
use glommio::net::TcpStream;

use super::clients::{ClientHandle, ClientInfo, Interrupt, ReplyMode};
use super::dispatch::{self, RemoteBatch, Route};
use super::readiness::{Readiness, Registration};
use super::{Session, pubsub};
use crate::command::{CmdError, Command, Flags};
use crate::protocol::{Args, Limits, Parsed, Reply, RequestParser, encode};
use crate::shard::Node;

/// Size of a fresh read buffer.
const READ_CHUNK: usize = 16 * 1024;
/// Replies are written out once this many bytes wait, even mid-pipeline.
const FLUSH_AT: usize = 64 * 1024;

/// Serves one connection until it closes.
pub async fn serve(node: Rc<Node>, readiness: Rc<Readiness>, stream: TcpStream) {
    let shared = node.shared.clone();
    let config = node.config();
    let connected = shared.connected_clients.fetch_add(1, Ordering::SeqCst) + 1;
    node.state.borrow_mut().connections_received += 1;
    let mut stream = stream;
    if connected > config.maxclients() {
        shared.connected_clients.fetch_sub(1, Ordering::SeqCst);
        node.state.borrow_mut().rejected_connections += 1;
        let _ = stream.write_all(b"-ERR max number of clients reached\r\n").await;
        return;
    }
    let _ = stream.set_nodelay(true);
    let registration = match readiness.register(&stream) {
        Ok(registration) => registration,
        Err(e) => {
            shared.connected_clients.fetch_sub(1, Ordering::SeqCst);
            super::log::log(super::log::Level::Warning, &format!("Error registering a client connection: {e}"));
            return;
        }
    };
    let now = crate::util::now_ms();
    let info = ClientInfo {
        id: shared.next_client_id.fetch_add(1, Ordering::SeqCst),
        addr: stream.peer_addr().map(|a| a.to_string()).unwrap_or_default(),
        laddr: stream.local_addr().map(|a| a.to_string()).unwrap_or_default(),
        fd: std::os::fd::AsRawFd::as_raw_fd(&stream),
        name: None,
        created_ms: now,
        last_interaction_ms: now,
        db: 0,
        resp: 2,
        last_cmd: None,
        lib_name: None,
        lib_ver: None,
        no_evict: false,
        no_touch: false,
        reply_mode: ReplyMode::On,
        qbuf: 0,
        qbuf_free: 0,
        obl: 0,
        shard: node.id,
        blocked: false,
        sub: 0,
        psub: 0,
        ssub: 0,
        multi: -1,
    };
    let id = info.id;
    let handle = Rc::new(ClientHandle::new(info));
    node.state.borrow_mut().clients.add(handle.clone());
    let mut session = Session::new(node.clone(), handle);
    let input = Input { readiness: &readiness, registration: &registration };
    let _ = connection_loop(&mut session, &mut stream, &input).await;
    readiness.deregister(&stream, registration);
    session.discard_transaction();
    pubsub::unsubscribe_all(&node, &session.handle);
    let _ = stream.close().await;
    node.state.borrow_mut().clients.remove(id);
    shared.connected_clients.fetch_sub(1, Ordering::SeqCst);
}

/// Where a connection's input comes from: its socket, read when the thread's epoll
/// instance reports it readable.
struct Input<'a> {
    readiness: &'a Readiness,
    registration: &'a Registration,
}

impl Input<'_> {
    async fn read(&self, stream: &TcpStream, buf: &mut [u8]) -> std::io::Result<usize> {
        self.readiness.read(self.registration, stream, buf).await
    }
}

async fn connection_loop(session: &mut Session, stream: &mut TcpStream, input: &Input<'_>) -> std::io::Result<()> {
    let node = session.node.clone();
    let handle = session.handle.clone();
    let mut buf = vec![0u8; READ_CHUNK];
    let (mut start, mut end) = (0usize, 0usize);
    let mut parser = RequestParser::new();
    let mut spans = Vec::new();
    let mut scratch = Vec::new();
    let mut out: Vec<u8> = Vec::with_capacity(READ_CHUNK);
    let mut early: Vec<u8> = Vec::new();
    let registry = node.registry.clone();
    loop {
        if end == buf.len() {
            if start > 0 {
                buf.copy_within(start..end, 0);
                end -= start;
                start = 0;
            }
            if end == buf.len() {
                let limit = node.config().client_query_buffer_limit();
                if buf.len() >= limit {
                    // Redis closes a client whose query buffer passes the limit, without a reply.
                    return Ok(());
                }
                let grown = (buf.len() * 2).min(limit).max(buf.len() + 1);
                buf.resize(grown, 0);
            }
        }
        // Input, pending Pub/Sub messages or the kill switch; `race` picks fairly, so a
        // flood of either cannot starve the other.
        let read = futures_lite::future::race(async { Some(input.read(stream, &mut buf[end..]).await) }, async {
            futures_lite::future::or(handle.killed(), pubsub::pending(&handle)).await;
            None
        })
        .await;
        let n = match read {
            Some(result) => result?,
            None if handle.is_killed() => return Ok(()),
            None => {
                // Pub/Sub messages wait: write them, then wait again.
                pubsub::write_pending(&node, &handle, stream).await?;
                continue;
            }
        };
        if n == 0 {
            return Ok(());
        }
        end += n;
        node.refresh_clock();
        node.state.borrow_mut().net_input_bytes += n as u64;
        let limits = {
            let config = node.config();
            Limits {
                max_bulk_len: config.proto_max_bulk_len(),
                max_inline_len: 64 * 1024,
                max_multibulk_len: i32::MAX as usize,
            }
        };
        // Consecutive commands for one other shard wait here and travel together.
        let mut batch: Option<RemoteBatch> = None;
        loop {
            match parser.parse(&buf[start..end], &limits, &mut spans, &mut scratch) {
                Parsed::Request { consumed } => {
                    let args = if parser.args_in_scratch() {
                        Args::new(&scratch, &spans)
                    } else {
                        Args::new(&buf[start..end], &spans)
                    };
                    if args.is_empty() {
                        start += consumed;
                        continue;
                    }
                    match (pubsub::route(session, &registry, args), &mut batch) {
                        (Route::Batch(command), Some(pending))
                            if command.shard == pending.shard && pending.len() < dispatch::MAX_BATCH =>
                        {
                            pending.push(command);
                        }
                        (route, _) => {
                            if let Some(pending) = batch.take() {
                                run_batch(session, pending, &mut out).await;
                            }
                            match route {
                                Route::Batch(command) => batch = Some(command.into_batch()),
                                Route::Here(resolved) => {
                                    let mark = out.len();
                                    if resolved.as_ref().is_ok_and(|c| c.flags.contains(Flags::BLOCKING)) {
                                        let limit = node.config().client_query_buffer_limit();
                                        execute_watching(
                                            session, resolved, args, &mut out, stream, input, &mut early, limit,
                                        )
                                        .await;
                                    } else if !execute_now(session, &resolved, args, &mut out) {
                                        execute(session, resolved, args, &mut out).await;
                                    }
                                    pubsub::splice_pending(&handle, &mut out, mark);
                                }
                            }
                        }
                    }
                    start += consumed;
                    if !early.is_empty() {
                        // Input that arrived while a command was blocked: parse it next.
                        if buf.len() - end < early.len() {
                            buf.resize(end + early.len(), 0);
                        }
                        buf[end..end + early.len()].copy_from_slice(&early);
                        end += early.len();
                        node.state.borrow_mut().net_input_bytes += early.len() as u64;
                        early.clear();
                    }
                    if handle.is_gone() {
                        return Ok(());
                    }
                    if session.close_after_reply || handle.is_killed() {
                        flush(&node, stream, &mut out).await?;
                        return Ok(());
                    }
                    if out.len() >= FLUSH_AT {
                        flush(&node, stream, &mut out).await?;
                    }
                }
                Parsed::Incomplete => break,
                Parsed::Error(message) => {
                    if let Some(pending) = batch.take() {
                        run_batch(session, pending, &mut out).await;
                    }
                    out.extend_from_slice(b"-ERR ");
                    out.extend_from_slice(message.as_bytes());
                    out.extend_from_slice(b"\r\n");
                    flush(&node, stream, &mut out).await?;
                    return Ok(());
                }
            }
        }
        if let Some(pending) = batch.take() {
            run_batch(session, pending, &mut out).await;
        }
        if start == end {
            start = 0;
            end = 0;
            if buf.len() > 4 * READ_CHUNK {
                buf = vec![0u8; READ_CHUNK];
            }
        }
        if !out.is_empty() {
            // Let the other connections with input run first, then write: replies then go
            // out in a burst, as Redis writes them before it sleeps, and a client reading
            // many connections is woken once per burst instead of once per connection.
            futures_lite::future::yield_now().await;
        }
        flush(&node, stream, &mut out).await?;
        let mut info = handle.info.borrow_mut();
        info.qbuf = end - start;
        info.qbuf_free = buf.len() - end;
    }
}

async fn flush(node: &Node, stream: &mut TcpStream, out: &mut Vec<u8>) -> std::io::Result<()> {
    if out.is_empty() {
        return Ok(());
    }
    // appendfsync always: no reply before the journal records it depends on are durable.
    if node.journal().is_some() {
        crate::persist::journal::writer::wait_for_acks(node).await;
    }
    stream.write_all(out).await?;
    node.state.borrow_mut().net_output_bytes += out.len() as u64;
    out.clear();
    if out.capacity() > 4 * FLUSH_AT {
        *out = Vec::with_capacity(READ_CHUNK);
    }
    Ok(())
}

/// Runs a batch of forwarded commands and appends their replies.
async fn run_batch(session: &mut Session, batch: RemoteBatch, out: &mut Vec<u8>) {
    let count = batch.len() as u64;
    let replies = dispatch::run_batch(session, batch).await;
    session.node.state.borrow_mut().commands_processed += count;
    session.handle.info.borrow_mut().last_interaction_ms = session.node.now_ms();
    let resp3 = session.resp3();
    for reply in &replies {
        encode(reply, resp3, out);
    }
}

/// Runs a blocking command while still reading the socket: input that arrives meanwhile
/// is kept in `early` (up to `limit` bytes), and a closed socket interrupts the wait so a
/// client that disconnects is forgotten at once.
#[allow(clippy::too_many_arguments)]
async fn execute_watching(
    session: &mut Session,
    resolved: Result<&Command, CmdError>,
    args: Args<'_>,
    out: &mut Vec<u8>,
    stream: &TcpStream,
    input: &Input<'_>,
    early: &mut Vec<u8>,
    limit: usize,
) {
    let handle = session.handle.clone();
    let watch = async {
        let mut chunk = vec![0u8; 4096];
        loop {
            if early.len() >= limit {
                futures_lite::future::pending::<()>().await;
            }
            match input.read(stream, &mut chunk).await {
                Ok(0) | Err(_) => {
                    handle.interrupt(Interrupt::Gone);
                    futures_lite::future::pending::<()>().await;
                }
                Ok(n) => early.extend_from_slice(&chunk[..n]),
            }
        }
    };
    futures_lite::future::or(execute(session, resolved, args, out), watch).await;
}

/// Runs one request and appends its reply, honouring CLIENT REPLY.
async fn execute(session: &mut Session, resolved: Result<&Command, CmdError>, args: Args<'_>, out: &mut Vec<u8>) {
    let before = reply_mode_before(session);
    let reply = dispatch::dispatch(session, resolved, args).await;
    reply_after(session, before, &reply, out);
}

/// As [`execute`] when the request needs no waiting (see [`dispatch::dispatch_now`]); false
/// (and nothing done) otherwise. The common case, without building `execute`'s future:
/// a command's future is large, and moving it costs more than running GET.
fn execute_now(
    session: &mut Session,
    resolved: &Result<&Command, CmdError>,
    args: Args<'_>,
    out: &mut Vec<u8>,
) -> bool {
    let mode = session.reply_mode();
    let before = reply_mode_before(session);
    match dispatch::dispatch_now(session, resolved, args) {
        Some(reply) => {
            reply_after(session, before, &reply, out);
            true
        }
        None => {
            // Not run: `execute` decides the reply mode again.
            session.set_reply_mode(mode);
            false
        }
    }
}

/// The CLIENT REPLY mode a command starts in (a SKIP from the previous command applies
/// to this one).
fn reply_mode_before(session: &Session) -> ReplyMode {
    let before = session.reply_mode();
    if before == ReplyMode::Skip {
        // CLIENT REPLY SKIP was the previous command: this command's reply is skipped.
        session.set_reply_mode(ReplyMode::SkipThis);
        return ReplyMode::SkipThis;
    }
    before
}

/// After a command: counts it and appends its reply unless CLIENT REPLY says otherwise.
fn reply_after(session: &Session, before: ReplyMode, reply: &Reply, out: &mut Vec<u8>) {
    {
        let mut state = session.node.state.borrow_mut();
        state.commands_processed += 1;
    }
    session.handle.info.borrow_mut().last_interaction_ms = session.node.now_ms();
    let after = session.reply_mode();
    let send = match before {
        ReplyMode::On => after == ReplyMode::On,
        ReplyMode::Off => after == ReplyMode::On,
        ReplyMode::Skip | ReplyMode::SkipThis => {
            // As Redis: the skip ends with this command, unless the command changed the
            // mode (CLIENT REPLY ON is answered, SKIP skips the next one too, OFF stays off).
            if after == ReplyMode::SkipThis {
                session.set_reply_mode(ReplyMode::On);
            }
            after == ReplyMode::On
        }
    };
    if send {
        encode(reply, session.resp3(), out);
    }
}
