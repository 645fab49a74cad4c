//! Startup and the per-thread server: one pinned glommio executor per shard, each with
//! its own io_uring, its own listening socket on the shared port (SO_REUSEPORT), its own
//! connections, and the channel loops and timers of its shard.

pub mod clients;
pub mod conn;
pub mod dispatch;
pub mod log;
pub mod pubsub;
pub mod readiness;
pub mod session;

use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use glommio::channels::channel_mesh::MeshBuilder;
use glommio::net::TcpListener;
use glommio::{Latency, LocalExecutorBuilder, Placement, Shares};

pub use session::Session;

use crate::command::Registry;
use crate::config::{Config, SharedConfig};
use crate::shard::Node;
use crate::shard::node::{Request, Response};
use readiness::Readiness;

/// Capacity of each channel between two shards.
const CHANNEL_CAPACITY: usize = 1024;

/// State shared by every thread. Configuration and counters only: no keyspace data.
pub struct Shared {
    /// The live configuration.
    pub config: SharedConfig,
    /// Number of shards (threads).
    pub shards: usize,
    /// The next CLIENT ID.
    pub next_client_id: AtomicU64,
    /// Connected clients over all threads.
    pub connected_clients: AtomicUsize,
    /// Set to stop the server now: every thread exits (SHUTDOWN, or a signal once the
    /// save at shutdown is done).
    pub shutdown: Arc<AtomicBool>,
    /// Set by SIGTERM/SIGINT; shard 0's cron saves as SHUTDOWN would, then sets `shutdown`.
    pub signalled: Arc<AtomicBool>,
    /// Snapshot status (SAVE, BGSAVE, `save` rules, INFO persistence).
    pub save_status: crate::persist::status::SaveStatus,
    /// Why write commands are refused (`-MISCONF`), if they are: see [`dispatch::write_refusal`].
    pub write_refusal: crate::persist::journal::WriteRefusal,
    /// What the journal loaded at startup, taken by each shard as it starts (`appendonly yes`).
    pub journal_startup: crate::persist::load::Startup,
    /// When the server started.
    pub started: Instant,
    /// Unix ms at start.
    pub started_unix_ms: i64,
    /// Random run id (40 hex characters), as Redis's `run_id`.
    pub run_id: String,
    /// The config file given at startup, if any.
    pub config_file: Option<String>,
    /// The port actually listened on.
    pub port: u16,
    /// The executable's path.
    pub executable: String,
    /// Per thread: how many scripts and functions it runs have not ended yet (an EVAL and
    /// an FCALL can both be under way). A shard still held by a script that ended (its
    /// release on the way) makes requests wait instead of answering `-BUSY`.
    pub scripts_running: Box<[AtomicUsize]>,
}

impl Shared {
    /// Asks every thread to stop.
    pub fn request_shutdown(&self) {
        self.shutdown.store(true, Ordering::SeqCst);
    }
}

/// The CPUs this process may run on (honouring `taskset`), from /proc/self/status.
fn allowed_cpus() -> Vec<usize> {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let list = status.lines().find_map(|l| l.strip_prefix("Cpus_allowed_list:")).map(str::trim).unwrap_or("");
    let mut cpus = Vec::new();
    for part in list.split(',').filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => {
                if let (Ok(a), Ok(b)) = (a.parse::<usize>(), b.parse::<usize>()) {
                    cpus.extend(a..=b);
                }
            }
            None => {
                if let Ok(c) = part.parse() {
                    cpus.push(c);
                }
            }
        }
    }
    if cpus.is_empty() {
        cpus = (0..std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)).collect();
    }
    cpus
}

/// Runs the server until SIGTERM, SIGINT or SHUTDOWN. Returns an error message if it cannot start.
pub fn run(config: Config, config_file: Option<String>) -> Result<(), String> {
    let cpus = allowed_cpus();
    let pin = config.pin_threads();
    let shards = if config.threads() == 0 { cpus.len() } else { config.threads() };
    let shutdown = Arc::new(AtomicBool::new(false));
    let signalled = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(signal, signalled.clone())
            .map_err(|e| format!("cannot install signal handler: {e}"))?;
    }
    let mut config = config;
    fit_maxclients_to_open_file_limit(&mut config, shards)?;
    let port = config.port();
    let bind = config.bind();
    log::set_level(&config.loglevel().to_string());
    if !config.logfile().is_empty() {
        log::set_file(config.logfile())?;
    }
    if let Ok(started_in) = std::env::current_dir() {
        config.resolve_import_rdb(&started_in);
    }
    std::env::set_current_dir(config.dir()).map_err(|e| format!("Can't chdir to '{}': {e}", config.dir()))?;
    if !config.pidfile().is_empty() {
        std::fs::write(config.pidfile(), format!("{}\n", std::process::id()))
            .map_err(|e| format!("Failed to write PID file: {e}"))?;
    }
    let pidfile = config.pidfile().to_string();
    let journal_startup = if config.appendonly() {
        let snapshot = Arc::new(config.clone());
        crate::persist::load::load_at_startup(&snapshot, shards)?
    } else {
        crate::persist::load::Startup::default()
    };
    let shared = Arc::new(Shared {
        config: SharedConfig::new(config),
        shards,
        next_client_id: AtomicU64::new(1),
        connected_clients: AtomicUsize::new(0),
        shutdown,
        signalled,
        save_status: crate::persist::status::SaveStatus::new(shards, crate::util::now_ms() / 1000),
        write_refusal: Default::default(),
        journal_startup,
        started: Instant::now(),
        started_unix_ms: crate::util::now_ms(),
        run_id: (0..5).map(|_| format!("{:08x}", crate::util::rand_u64() as u32)).collect(),
        config_file,
        port,
        executable: std::env::current_exe().map(|p| p.display().to_string()).unwrap_or_default(),
        scripts_running: (0..shards).map(|_| AtomicUsize::new(0)).collect(),
    });
    check_ports_free(&bind, port)?;
    let requests: MeshBuilder<Request, _> = MeshBuilder::full(shards, CHANNEL_CAPACITY);
    let responses: MeshBuilder<Response, _> = MeshBuilder::full(shards, CHANNEL_CAPACITY);
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<(), String>>();
    let mut handles = Vec::new();
    for shard in 0..shards {
        let shared = shared.clone();
        let requests = requests.clone();
        let responses = responses.clone();
        let ready = ready_tx.clone();
        let bind = bind.clone();
        let placement = if pin { Placement::Fixed(cpus[shard % cpus.len()]) } else { Placement::Unbound };
        let start = move || async move {
            let result = shard_main(shard, shared.clone(), requests, responses, &bind, port, ready).await;
            if let Err(e) = result {
                log::log(log::Level::Warning, &format!("shard {shard}: {e}"));
                shared.request_shutdown();
            }
        };
        let name = format!("tallkv-shard-{shard}");
        // A CPU that cannot be pinned (offline, taken away) must not stop the server:
        // that shard then runs unpinned.
        let handle = match LocalExecutorBuilder::new(placement).name(&name).spawn(start.clone()) {
            Ok(handle) => handle,
            Err(e) if pin => {
                log::log(log::Level::Warning, &format!("cannot pin shard {shard} ({e}); it runs unpinned"));
                LocalExecutorBuilder::new(Placement::Unbound)
                    .name(&name)
                    .spawn(start)
                    .map_err(|e| format!("cannot start shard {shard}: {e}"))?
            }
            Err(e) => return Err(format!("cannot start shard {shard}: {e}")),
        };
        handles.push(handle);
    }
    drop(ready_tx);
    let mut failure = None;
    for _ in 0..shards {
        match ready_rx.recv() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                failure.get_or_insert(e);
            }
            Err(_) => {
                failure.get_or_insert_with(|| "a shard stopped during startup".to_string());
                break;
            }
        }
    }
    shared.save_status.update(|s| s.loaded = true);
    if let Some(e) = failure {
        shared.request_shutdown();
        for handle in handles {
            let _ = handle.join();
        }
        return Err(e);
    }
    log::log(
        log::Level::Notice,
        &format!(
            "tallkv {} ready to accept connections on {}:{} with {} shard(s)",
            env!("CARGO_PKG_VERSION"),
            bind.join(","),
            port,
            shards
        ),
    );
    for handle in handles {
        let _ = handle.join();
    }
    if !pidfile.is_empty() {
        let _ = std::fs::remove_file(&pidfile);
    }
    log::log(log::Level::Warning, "tallkv is now ready to exit, bye bye...");
    Ok(())
}

/// File descriptors kept for listeners, rings and channels besides clients (Redis keeps 32;
/// each shard also holds its io_uring, eventfd and epoll descriptors).
fn reserved_fds(shards: usize) -> u64 {
    32 + 17 * shards as u64
}

/// The soft limit on open files, from /proc/self/limits.
fn open_file_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    let soft = line.trim_start_matches("Max open files").split_whitespace().next()?;
    if soft == "unlimited" { Some(u64::MAX) } else { soft.parse().ok() }
}

/// Lowers `maxclients` when the open-file limit cannot hold that many clients, as Redis
/// does, with a warning saying so.
fn fit_maxclients_to_open_file_limit(config: &mut Config, shards: usize) -> Result<(), String> {
    let Some(limit) = open_file_limit() else {
        return Ok(());
    };
    let wanted = config.maxclients() as u64 + reserved_fds(shards);
    if wanted <= limit {
        return Ok(());
    }
    let fitting = limit.saturating_sub(reserved_fds(shards));
    if fitting == 0 {
        return Err(format!(
            "Your open file limit ({limit}) is too low to serve any client with {shards} shard(s); raise it with 'ulimit -n'."
        ));
    }
    log::log(
        log::Level::Warning,
        &format!(
            "You requested maxclients of {} requiring at least {wanted} max file descriptors. \
             Server can't set maximum open files to {wanted} because of OS error: the limit is {limit}. \
             Current maxclients of {} has been reduced to {fitting} to compensate for low ulimit.",
            config.maxclients(),
            config.maxclients()
        ),
    );
    config.set(&[(b"maxclients".as_slice(), fitting.to_string().as_bytes())])
}

/// Refuses to start when another process already listens on the port. The shards bind
/// with SO_REUSEPORT, which would otherwise let a second server silently share the port;
/// a plain bind (without it) fails whenever anyone holds the address.
fn check_ports_free(bind: &[String], port: u16) -> Result<(), String> {
    for addr in bind {
        let text = if addr.contains(':') { format!("[{addr}]:{port}") } else { format!("{addr}:{port}") };
        std::net::TcpListener::bind(text.as_str())
            .map_err(|e| format!("Could not create server TCP listening socket {addr}:{port}: bind: {e}"))?;
    }
    Ok(())
}

/// One shard's thread: joins the meshes, starts its channel loops, its timer and its
/// listeners, and runs until shutdown.
async fn shard_main(
    shard: usize,
    shared: Arc<Shared>,
    requests: MeshBuilder<Request, glommio::channels::channel_mesh::Full>,
    responses: MeshBuilder<Response, glommio::channels::channel_mesh::Full>,
    bind: &[String],
    port: u16,
    ready: std::sync::mpsc::Sender<Result<(), String>>,
) -> Result<(), String> {
    let (request_senders, mut request_receivers) =
        requests.join().await.map_err(|_| "cannot join the request mesh".to_string())?;
    let (response_senders, mut response_receivers) =
        responses.join().await.map_err(|_| "cannot join the response mesh".to_string())?;
    let registry = Rc::new(Registry::build());
    let node = Rc::new(Node::new(shard, shared.shards, shared.clone(), registry, request_senders, response_senders));
    Node::make_current(&node);
    for (_, receiver) in response_receivers.streams() {
        let node = node.clone();
        glommio::spawn_local(async move {
            while let Some(response) = receiver.recv().await {
                node.deliver(response.id, response.result);
            }
        })
        .detach();
    }
    // Load the data before serving anyone.
    let config = node.config();
    if !config.appendonly() {
        let import = (!config.import_rdb().is_empty()).then(|| std::path::PathBuf::from(config.import_rdb()));
        if let Err(e) = crate::persist::save::load_at_startup(&node, import.as_deref()) {
            let message = format!("Fatal error loading the snapshot: {e}");
            let _ = ready.send(Err(message.clone()));
            return Err(message);
        }
    }
    // appendonly yes: this shard's data, loaded from the journal in `run`, and its writer.
    let journal_task = match crate::persist::load::install(&node).await {
        Ok(task) => task,
        Err(e) => {
            let message = format!("Fatal error opening the journal: {e}");
            let _ = ready.send(Err(message.clone()));
            return Err(message);
        }
    };
    // Only now serve other shards' requests: a command forwarded by a shard that already
    // listens must not run on the placeholder keyspace `install` replaces (it would be lost).
    for (_, receiver) in request_receivers.streams() {
        let node = node.clone();
        glommio::spawn_local(async move {
            while let Some(request) = receiver.recv().await {
                node.handle_remote(request);
            }
        })
        .detach();
    }
    let mut listeners = Vec::new();
    for addr in bind {
        let addr_text = if addr.contains(':') { format!("[{addr}]:{port}") } else { format!("{addr}:{port}") };
        match TcpListener::bind(addr_text.as_str()) {
            Ok(listener) => listeners.push(listener),
            Err(e) => {
                let message = format!("Could not create server TCP listening socket {addr}:{port}: bind: {e}");
                let _ = ready.send(Err(message.clone()));
                return Err(message);
            }
        }
    }
    let readiness = match Readiness::new() {
        Ok(readiness) => readiness,
        Err(e) => {
            let message = format!("Could not create the epoll instance for client input: {e}");
            let _ = ready.send(Err(message.clone()));
            return Err(message);
        }
    };
    readiness.install();
    for listener in listeners {
        glommio::spawn_local(accept_loop(node.clone(), readiness.clone(), listener)).detach();
    }
    let _ = ready.send(Ok(()));
    let background = glommio::executor().create_task_queue(Shares::Static(100), Latency::NotImportant, "cron");
    let cron_node = node.clone();
    let cron = glommio::spawn_local_into(cron::run(cron_node), background).map_err(|e| e.to_string())?;
    cron.await;
    // Stop: write and fsync what the journal holds.
    if let Some(writer) = node.journal() {
        writer.stop();
        // It may be a writer CONFIG SET appendonly yes started (not `journal_task`).
        writer.finished().await;
    }
    if let Some(task) = journal_task {
        task.await;
    }
    // Stop: close every connection this thread serves.
    let handles: Vec<_> = node.state.borrow().clients.iter().cloned().collect();
    for handle in handles {
        handle.kill();
    }
    glommio::timer::sleep(Duration::from_millis(10)).await;
    Ok(())
}

async fn accept_loop(node: Rc<Node>, readiness: Rc<Readiness>, listener: TcpListener) {
    let mut last_error_log: Option<Instant> = None;
    loop {
        match listener.accept().await {
            Ok(stream) => {
                glommio::spawn_local(conn::serve(node.clone(), readiness.clone(), stream)).detach();
            }
            Err(e) => {
                // Out of file descriptors and the like: say so at most once a second, retry soon.
                if last_error_log.is_none_or(|at| at.elapsed() >= Duration::from_secs(1)) {
                    log::log(log::Level::Warning, &format!("Error accepting a client connection: {e}"));
                    last_error_log = Some(Instant::now());
                }
                glommio::timer::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

pub mod cron;
