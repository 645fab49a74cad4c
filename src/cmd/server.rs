//! Server commands: INFO, CONFIG GET/SET/RESETSTAT/HELP and SHUTDOWN.
//!
//! INFO gathers its counters from every shard with `run_on` and prints Redis's sections
//! and field names; fields for features tallkv does not have (persistence, replicas,
//! modules' own sections, ...) are left out rather than invented. CONFIG goes through the
//! shared configuration store, so a CONFIG SET on one thread is seen by every thread.

use std::fmt::Write as _;
use std::sync::atomic::Ordering;

use bytes::Bytes;

use super::connection::{REDIS_VERSION, help_reply};
use crate::command::error::SYNTAX;
use crate::command::{CmdError, CmdResult, CommandImpl, Handler, LocalFuture};
use crate::persist::save::ShutdownSave;
use crate::protocol::{Args, Reply};
use crate::server::Session;
use crate::server::clients::ReplyMode;
use crate::shard::ShardState;
use crate::util::join_all;

/// The server family's commands.
pub const COMMANDS: &[CommandImpl] = &[
    CommandImpl { name: "info", handler: Handler::Async(info) },
    CommandImpl { name: "config|get", handler: Handler::Local(config_get) },
    CommandImpl { name: "config|set", handler: Handler::Local(config_set) },
    CommandImpl { name: "config|resetstat", handler: Handler::Async(config_resetstat) },
    CommandImpl { name: "config|help", handler: Handler::Local(config_help) },
    CommandImpl { name: "shutdown", handler: Handler::Async(shutdown) },
];

/// Memory counted for the server itself besides the data (`used_memory_startup`).
const BASELINE_MEMORY: usize = 1024 * 1024;

// ---------------------------------------------------------------------------------------
// INFO

/// INFO's sections in Redis's order: (name as requested, title).
const SECTIONS: &[(&str, &str)] = &[
    ("server", "Server"),
    ("clients", "Clients"),
    ("memory", "Memory"),
    ("persistence", "Persistence"),
    ("stats", "Stats"),
    ("replication", "Replication"),
    ("cpu", "CPU"),
    ("module_list", "Modules"),
    ("cluster", "Cluster"),
    ("keyspace", "Keyspace"),
];

/// The sections INFO shows without arguments (and for `default`), as Redis 7 names them.
const DEFAULT_SECTIONS: &[&str] = &[
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "module_list",
    "errorstats",
    "cluster",
    "keyspace",
];

/// One shard's counters, copied out for INFO.
#[derive(Debug, Default, Clone)]
struct ShardStats {
    commands: u64,
    connections: u64,
    rejected: u64,
    net_input: u64,
    net_output: u64,
    ops_rate: u64,
    input_rate: u64,
    output_rate: u64,
    hits: u64,
    misses: u64,
    expired: u64,
    used_bytes: usize,
    /// (keys, keys with a TTL) per database.
    dbs: Vec<(usize, usize)>,
    max_input_buffer: usize,
    max_output_buffer: usize,
    /// Connections waiting in a blocking command.
    blocked_clients: usize,
    /// Keys some client waits on.
    blocking_keys: usize,
    /// Each shard's journal status, by shard.
    aof: Vec<crate::persist::journal::AofStats>,
    /// Each shard's key count, by shard.
    shard_keys: Vec<usize>,
}

impl ShardStats {
    fn of(state: &ShardState) -> ShardStats {
        let mut stats = ShardStats {
            commands: state.commands_processed,
            connections: state.connections_received,
            rejected: state.rejected_connections,
            net_input: state.net_input_bytes,
            net_output: state.net_output_bytes,
            ops_rate: state.rates.ops.per_second(),
            input_rate: state.rates.net_input.per_second(),
            output_rate: state.rates.net_output.per_second(),
            hits: state.keyspace.hits,
            misses: state.keyspace.misses,
            expired: state.keyspace.expired_keys(),
            used_bytes: state.keyspace.dbs.iter().map(|d| d.used_bytes()).sum(),
            dbs: state.keyspace.dbs.iter().map(|d| (d.len(), d.volatile_len())).collect(),
            ..ShardStats::default()
        };
        for handle in state.clients.iter() {
            let info = handle.info.borrow();
            stats.max_input_buffer = stats.max_input_buffer.max(info.qbuf + info.qbuf_free);
            stats.max_output_buffer = stats.max_output_buffer.max(info.obl);
            stats.blocked_clients += usize::from(info.blocked);
        }
        stats.blocking_keys = state.keyspace.dbs.iter().map(|d| d.blocked.keys_len()).sum();
        stats.aof = vec![state.aof.clone()];
        stats.shard_keys = vec![state.keyspace.dbs.iter().map(|d| d.len()).sum()];
        stats
    }

    fn add(&mut self, other: &ShardStats) {
        self.commands += other.commands;
        self.connections += other.connections;
        self.rejected += other.rejected;
        self.net_input += other.net_input;
        self.net_output += other.net_output;
        self.ops_rate += other.ops_rate;
        self.input_rate += other.input_rate;
        self.output_rate += other.output_rate;
        self.hits += other.hits;
        self.misses += other.misses;
        self.expired += other.expired;
        self.used_bytes += other.used_bytes;
        if self.dbs.len() < other.dbs.len() {
            self.dbs.resize(other.dbs.len(), (0, 0));
        }
        for (total, db) in self.dbs.iter_mut().zip(&other.dbs) {
            total.0 += db.0;
            total.1 += db.1;
        }
        self.max_input_buffer = self.max_input_buffer.max(other.max_input_buffer);
        self.max_output_buffer = self.max_output_buffer.max(other.max_output_buffer);
        self.blocked_clients += other.blocked_clients;
        self.blocking_keys += other.blocking_keys;
        self.aof.extend(other.aof.iter().cloned());
        self.shard_keys.extend(other.shard_keys.iter().copied());
    }
}

/// Every shard's counters, summed.
async fn gather_stats(session: &Session) -> Result<ShardStats, CmdError> {
    let node = &session.node;
    let futures: Vec<_> = (0..node.shards)
        .map(|shard| node.run_on(shard, session.tx_id(), |state: &mut ShardState| ShardStats::of(state)))
        .collect();
    let mut total = ShardStats::default();
    for stats in join_all(futures).await {
        total.add(&stats?);
    }
    Ok(total)
}

/// Which sections a request asks for.
fn requested_sections(args: Args<'_>) -> (Vec<String>, bool) {
    if args.len() == 1 {
        return (DEFAULT_SECTIONS.iter().map(|s| s.to_string()).collect(), false);
    }
    let mut names = Vec::new();
    let mut all = false;
    for arg in args.iter_from(1) {
        if arg.eq_ignore_ascii_case(b"default") {
            names.extend(DEFAULT_SECTIONS.iter().map(|s| s.to_string()));
        } else if arg.eq_ignore_ascii_case(b"all") || arg.eq_ignore_ascii_case(b"everything") {
            all = true;
        } else {
            names.push(String::from_utf8_lossy(arg).to_ascii_lowercase());
        }
    }
    (names, all)
}

/// INFO [section ...]: server information and statistics, in Redis's sections
/// (`default`, `all` and `everything` as in Redis 7).
fn info<'a>(s: &'a mut Session, args: Args<'a>) -> LocalFuture<'a, CmdResult> {
    Box::pin(async move {
        let (names, all) = requested_sections(args);
        let wanted: Vec<&str> = SECTIONS
            .iter()
            .map(|(name, _)| *name)
            .filter(|name| all || names.iter().any(|n| n == name || (*name == "module_list" && n == "modules")))
            .collect();
        let needs_stats =
            wanted.iter().any(|n| matches!(*n, "clients" | "memory" | "persistence" | "stats" | "keyspace"));
        let stats = if needs_stats { gather_stats(s).await? } else { ShardStats::default() };
        let pubsub =
            if wanted.contains(&"stats") { crate::server::pubsub::info_counts(&s.node).await? } else { (0, 0, 0) };
        let mut out = String::new();
        for (name, title) in SECTIONS {
            if !wanted.contains(name) {
                continue;
            }
            if !out.is_empty() {
                out.push_str("\r\n");
            }
            let _ = write!(out, "# {title}\r\n");
            let mut fields: Vec<(&str, String)> = Vec::new();
            match *name {
                "server" => server_section(s, &mut fields),
                "clients" => clients_section(s, &stats, &mut fields),
                "memory" => memory_section(s, &stats, &mut fields),
                "persistence" => {
                    super::persistence::info_section(s, &stats.aof, &stats.shard_keys, &mut out);
                }
                "stats" => stats_section(&stats, pubsub, &mut fields),
                "replication" => replication_section(&mut fields),
                "cpu" => cpu_section(&mut fields),
                "cluster" => fields.push(("cluster_enabled", "0".to_string())),
                "keyspace" => {
                    for (i, (keys, expires)) in stats.dbs.iter().enumerate() {
                        if *keys > 0 {
                            let _ = write!(out, "db{i}:keys={keys},expires={expires},avg_ttl=0\r\n");
                        }
                    }
                }
                _ => {}
            }
            for (field, value) in fields {
                let _ = write!(out, "{field}:{value}\r\n");
            }
        }
        Ok(Reply::Verbatim("txt", Bytes::from(out)))
    })
}

fn server_section(s: &Session, fields: &mut Vec<(&'static str, String)>) {
    let shared = &s.node.shared;
    let config = s.config();
    let uptime = shared.started.elapsed().as_secs();
    let read = |path: &str| std::fs::read_to_string(path).map(|t| t.trim().to_string()).unwrap_or_default();
    let os = format!(
        "{} {} {}",
        match read("/proc/sys/kernel/ostype") {
            t if t.is_empty() => std::env::consts::OS.to_string(),
            t => t,
        },
        read("/proc/sys/kernel/osrelease"),
        std::env::consts::ARCH
    );
    let config_file =
        config.config_file().map(str::to_string).or_else(|| shared.config_file.clone()).unwrap_or_default();
    let mut listener = String::from("name=tcp");
    for addr in config.bind() {
        let _ = write!(listener, ",bind={addr}");
    }
    let _ = write!(listener, ",port={}", shared.port);
    fields.extend([
        ("redis_version", REDIS_VERSION.to_string()),
        ("redis_git_sha1", "00000000".to_string()),
        ("redis_git_dirty", "0".to_string()),
        ("redis_mode", "standalone".to_string()),
        ("os", os),
        ("arch_bits", usize::BITS.to_string()),
        ("monotonic_clock", "POSIX clock_gettime".to_string()),
        ("multiplexing_api", "io_uring".to_string()),
        ("process_id", std::process::id().to_string()),
        ("process_supervised", "no".to_string()),
        ("run_id", shared.run_id.clone()),
        ("tcp_port", shared.port.to_string()),
        ("server_time_usec", crate::util::now_us().to_string()),
        ("uptime_in_seconds", uptime.to_string()),
        ("uptime_in_days", (uptime / 86400).to_string()),
        ("hz", config.hz().to_string()),
        ("configured_hz", config.hz().to_string()),
        ("executable", shared.executable.clone()),
        ("config_file", config_file),
        ("io_threads_active", "0".to_string()),
        ("listener0", listener),
        ("tallkv_version", env!("CARGO_PKG_VERSION").to_string()),
        ("tallkv_shards", s.node.shards.to_string()),
        ("tallkv_thread", s.node.id.to_string()),
    ]);
}

fn clients_section(s: &Session, stats: &ShardStats, fields: &mut Vec<(&'static str, String)>) {
    let shared = &s.node.shared;
    fields.extend([
        ("connected_clients", shared.connected_clients.load(Ordering::SeqCst).to_string()),
        ("cluster_connections", "0".to_string()),
        ("maxclients", s.config().maxclients().to_string()),
        ("client_recent_max_input_buffer", stats.max_input_buffer.to_string()),
        ("client_recent_max_output_buffer", stats.max_output_buffer.to_string()),
        ("blocked_clients", stats.blocked_clients.to_string()),
        ("tracking_clients", "0".to_string()),
        ("clients_in_timeout_table", "0".to_string()),
        ("total_blocking_keys", stats.blocking_keys.to_string()),
        ("total_blocking_keys_on_nokey", "0".to_string()),
    ]);
}

fn memory_section(s: &Session, stats: &ShardStats, fields: &mut Vec<(&'static str, String)>) {
    let config = s.config();
    let used = BASELINE_MEMORY + stats.used_bytes;
    let rss = proc_kib("/proc/self/status", "VmRSS:") * 1024;
    let system = proc_kib("/proc/meminfo", "MemTotal:") * 1024;
    let dataset_perc = if stats.used_bytes > 0 { 100.0 } else { 0.0 };
    let maxmemory = config.maxmemory();
    fields.extend([
        ("used_memory", used.to_string()),
        ("used_memory_human", bytes_to_human(used as u64)),
        ("used_memory_rss", rss.to_string()),
        ("used_memory_rss_human", bytes_to_human(rss)),
        ("used_memory_overhead", BASELINE_MEMORY.to_string()),
        ("used_memory_startup", BASELINE_MEMORY.to_string()),
        ("used_memory_dataset", stats.used_bytes.to_string()),
        ("used_memory_dataset_perc", format!("{dataset_perc:.2}%")),
        ("total_system_memory", system.to_string()),
        ("total_system_memory_human", bytes_to_human(system)),
        ("maxmemory", maxmemory.to_string()),
        ("maxmemory_human", bytes_to_human(maxmemory)),
        ("maxmemory_policy", config.maxmemory_policy().to_string()),
        ("mem_fragmentation_ratio", format!("{:.2}", rss as f64 / used as f64)),
        ("mem_allocator", "libc".to_string()),
        ("lazyfree_pending_objects", crate::util::lazyfree::pending().to_string()),
        ("lazyfreed_objects", crate::util::lazyfree::freed().to_string()),
    ]);
}

/// `pubsub` holds the distinct channels, patterns and shard channels subscribed to.
fn stats_section(stats: &ShardStats, pubsub: (usize, usize, usize), fields: &mut Vec<(&'static str, String)>) {
    fields.extend([
        ("total_connections_received", stats.connections.to_string()),
        ("total_commands_processed", stats.commands.to_string()),
        ("instantaneous_ops_per_sec", stats.ops_rate.to_string()),
        ("total_net_input_bytes", stats.net_input.to_string()),
        ("total_net_output_bytes", stats.net_output.to_string()),
        ("instantaneous_input_kbps", format!("{:.2}", stats.input_rate as f64 / 1024.0)),
        ("instantaneous_output_kbps", format!("{:.2}", stats.output_rate as f64 / 1024.0)),
        ("rejected_connections", stats.rejected.to_string()),
        ("expired_keys", stats.expired.to_string()),
        ("keyspace_hits", stats.hits.to_string()),
        ("keyspace_misses", stats.misses.to_string()),
        ("pubsub_channels", pubsub.0.to_string()),
        ("pubsub_patterns", pubsub.1.to_string()),
        ("pubsubshard_channels", pubsub.2.to_string()),
    ]);
}

fn replication_section(fields: &mut Vec<(&'static str, String)>) {
    fields.extend([
        ("role", "master".to_string()),
        ("connected_slaves", "0".to_string()),
        ("master_failover_state", "no-failover".to_string()),
        ("master_repl_offset", "0".to_string()),
        ("repl_backlog_active", "0".to_string()),
    ]);
}

fn cpu_section(fields: &mut Vec<(&'static str, String)>) {
    let (user, sys, child_user, child_sys) = cpu_ticks();
    fields.extend([
        ("used_cpu_sys", ticks_to_seconds(sys)),
        ("used_cpu_user", ticks_to_seconds(user)),
        ("used_cpu_sys_children", ticks_to_seconds(child_sys)),
        ("used_cpu_user_children", ticks_to_seconds(child_user)),
    ]);
}

/// A `Name:  N kB` value from a /proc file, in KiB (0 if unreadable).
fn proc_kib(path: &str, field: &str) -> u64 {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|text| {
            text.lines()
                .find_map(|l| l.strip_prefix(field))
                .and_then(|rest| rest.split_whitespace().next().and_then(|n| n.parse().ok()))
        })
        .unwrap_or(0)
}

/// (user, system, children's user, children's system) CPU time of the process, in clock
/// ticks, from /proc/self/stat.
fn cpu_ticks() -> (u64, u64, u64, u64) {
    let text = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which may hold spaces) start at field 3 (state).
    let rest = text.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<u64> = rest.split_whitespace().map(|f| f.parse().unwrap_or(0)).collect();
    let at = |i: usize| fields.get(i).copied().unwrap_or(0);
    (at(11), at(12), at(13), at(14))
}

/// Clock ticks (USER_HZ, 100 per second on Linux) as Redis's `%ld.%06ld` seconds.
fn ticks_to_seconds(ticks: u64) -> String {
    let micros = ticks * 10_000;
    format!("{}.{:06}", micros / 1_000_000, micros % 1_000_000)
}

/// Redis's `bytesToHuman`.
pub fn bytes_to_human(n: u64) -> String {
    const UNITS: &[(u64, &str)] = &[(1 << 10, "K"), (1 << 20, "M"), (1 << 30, "G"), (1 << 40, "T"), (1 << 50, "P")];
    if n < 1024 {
        return format!("{n}B");
    }
    for (i, (size, unit)) in UNITS.iter().enumerate() {
        let next = UNITS.get(i + 1).map(|(s, _)| *s).unwrap_or(1 << 60);
        if n < next {
            return format!("{:.2}{unit}", n as f64 / *size as f64);
        }
    }
    format!("{n}B")
}

// ---------------------------------------------------------------------------------------
// CONFIG

/// CONFIG GET parameter [parameter ...]: the matching directives and their values.
fn config_get(session: &mut Session, args: Args<'_>) -> CmdResult {
    let patterns: Vec<&[u8]> = args.iter_from(2).collect();
    let pairs = session.config().get(&patterns);
    Ok(Reply::Map(
        pairs.into_iter().map(|(name, value)| (Reply::bulk_string(name), Reply::bulk_string(value))).collect(),
    ))
}

/// Whether the connection comes from 127.0.0.1 or ::1 (Redis's "local client").
fn is_local_client(session: &Session) -> bool {
    let addr = session.handle.info.borrow().addr.clone();
    match addr.parse::<std::net::SocketAddr>() {
        Ok(a) => match a.ip() {
            std::net::IpAddr::V4(ip) => ip == std::net::Ipv4Addr::LOCALHOST,
            std::net::IpAddr::V6(ip) => ip == std::net::Ipv6Addr::LOCALHOST,
        },
        Err(_) => false,
    }
}

/// CONFIG SET parameter value [parameter value ...]: sets every pair or none; every
/// thread sees the change.
fn config_set(session: &mut Session, args: Args<'_>) -> CmdResult {
    if !args.len().is_multiple_of(2) {
        return Err(SYNTAX);
    }
    let pairs: Vec<(&[u8], &[u8])> = (2..args.len()).step_by(2).map(|i| (args.get(i), args.get(i + 1))).collect();
    let local = is_local_client(session);
    session.node.config_store().update(|config| config.set_from_client(&pairs, local)).map_err(CmdError::msg)?;
    session.node.refresh_config();
    Ok(Reply::Ok)
}

/// CONFIG RESETSTAT: zeroes the statistics INFO reports, on every shard.
fn config_resetstat<'a>(s: &'a mut Session, _args: Args<'a>) -> LocalFuture<'a, CmdResult> {
    Box::pin(async move {
        let node = &s.node;
        let futures: Vec<_> = (0..node.shards)
            .map(|shard| node.run_on(shard, s.tx_id(), |state: &mut ShardState| state.reset_stats()))
            .collect();
        for result in join_all(futures).await {
            result?;
        }
        Ok(Reply::Ok)
    })
}

/// CONFIG HELP.
fn config_help(_session: &mut Session, args: Args<'_>) -> CmdResult {
    Ok(help_reply(
        args.get(0),
        &[
            "GET <pattern>",
            "    Return parameters matching the glob-like <pattern> and their values.",
            "SET <directive> <value>",
            "    Set the configuration <directive> to <value>.",
            "RESETSTAT",
            "    Reset statistics reported by the INFO command.",
        ],
    ))
}

// ---------------------------------------------------------------------------------------
// SHUTDOWN

/// SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT]: saves (with `save` rules or SAVE) and
/// stops the server; the connection is closed without a reply. A failed save keeps the
/// server running unless FORCE is given. ABORT has nothing to abort since a shutdown
/// never waits for replicas.
fn shutdown<'a>(session: &'a mut Session, args: Args<'a>) -> LocalFuture<'a, CmdResult> {
    Box::pin(async move {
        let (mut nosave, mut save, mut force, mut abort, mut now) = (false, false, false, false, false);
        for arg in args.iter_from(1) {
            if arg.eq_ignore_ascii_case(b"nosave") {
                nosave = true;
            } else if arg.eq_ignore_ascii_case(b"save") {
                save = true;
            } else if arg.eq_ignore_ascii_case(b"now") {
                now = true;
            } else if arg.eq_ignore_ascii_case(b"force") {
                force = true;
            } else if arg.eq_ignore_ascii_case(b"abort") {
                abort = true;
            } else {
                return Err(SYNTAX);
            }
        }
        if (abort && (nosave || save || now || force)) || (nosave && save) {
            return Err(SYNTAX);
        }
        if abort {
            return Err(CmdError::err("No shutdown in progress."));
        }
        crate::server::log::log(crate::server::log::Level::Warning, "User requested shutdown...");
        let mode = if nosave {
            ShutdownSave::NoSave
        } else if save {
            ShutdownSave::Save
        } else {
            ShutdownSave::Default
        };
        if crate::persist::save::save_before_shutdown(&session.node, mode).await.is_err() && !force {
            return Err(CmdError::err("Errors trying to SHUTDOWN. Check logs."));
        }
        session.node.shared.request_shutdown();
        // Like Redis, the connection gets no reply: it is closed as the server stops.
        session.set_reply_mode(ReplyMode::Off);
        session.close_after_reply = true;
        Ok(Reply::Ok)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_sizes_like_redis() {
        assert_eq!(bytes_to_human(0), "0B");
        assert_eq!(bytes_to_human(1023), "1023B");
        assert_eq!(bytes_to_human(1024), "1.00K");
        assert_eq!(bytes_to_human(1_138_480), "1.09M");
        assert_eq!(bytes_to_human(25_276_502_016), "23.54G");
        assert_eq!(bytes_to_human(3 << 40), "3.00T");
    }

    #[test]
    fn ticks_print_as_seconds() {
        assert_eq!(ticks_to_seconds(0), "0.000000");
        assert_eq!(ticks_to_seconds(123), "1.230000");
    }
}
