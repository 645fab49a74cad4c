//! Redis-compatible configuration: `redis.conf`-style files, `--name value`
//! command-line options, CONFIG GET / CONFIG SET, and a thread-shared view.
//!
//! Directive names, value syntax, defaults, ranges and error texts follow
//! Redis 7.0/7.2 (`config.c`). The directive table, and which directives
//! CONFIG SET may change, are in `directives.rs`.
//!
//! Typical use:
//!
//! ```ignore
//! let config = match config::parse_env_args() {
//!     Ok(config::CommandLine::Run { config, file: _ }) => config,
//!     Ok(config::CommandLine::Help) => { print!("{}", config::usage()); return }
//!     Ok(config::CommandLine::Version) => { println!("tallkv {}", env!("CARGO_PKG_VERSION")); return }
//!     Err(err) => { eprintln!("{err}"); std::process::exit(1) }
//! };
//! let shared = config::SharedConfig::new(config);
//! // CONFIG SET on any thread:
//! shared.update(|c| c.set(&pairs))?;
//! // CONFIG GET:
//! let reply = shared.snapshot().get(&patterns);
//! ```

mod directives;
mod error;
pub mod glob;
mod load;
mod parse;
mod runtime;
mod shared;
#[cfg(test)]
mod tests;

pub use error::{ConfigError, ErrorOrigin};
pub use glob::glob_match;
pub use load::{CommandLine, parse_command_line, parse_env_args, usage};
pub use shared::{ConfigReader, SharedConfig};

/// Defines a configuration enum with its Redis names (in the order Redis
/// lists them in error messages).
macro_rules! config_enum {
    (
        $(#[$meta:meta])*
        $name:ident { $( $(#[$vmeta:meta])* $variant:ident => $text:literal ),+ $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $name {
            /// The Redis names of all values, in Redis's order.
            pub const NAMES: &'static [&'static str] = &[$($text),+];

            /// The Redis name of this value (as CONFIG GET shows it).
            pub fn as_str(self) -> &'static str {
                match self {
                    $( $name::$variant => $text, )+
                }
            }

            /// Parses a Redis name, case-insensitively.
            pub fn from_name(name: &str) -> Option<Self> {
                $(
                    if name.eq_ignore_ascii_case($text) {
                        return Some($name::$variant);
                    }
                )+
                None
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

/// One class of `client-output-buffer-limit`: hard and soft limits in bytes (0: none)
/// and how many seconds the soft limit may be passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputBufferLimit {
    /// Bytes at which the client is closed at once.
    pub hard: u64,
    /// Bytes the client may stay above for `soft_seconds`.
    pub soft: u64,
    /// Seconds above the soft limit before the client is closed.
    pub soft_seconds: u64,
}

impl OutputBufferLimit {
    /// The classes in Redis's order: `normal`, `slave`, `pubsub`.
    pub const CLASSES: [&'static str; 3] = ["normal", "slave", "pubsub"];
    /// Index of the `pubsub` class.
    pub const PUBSUB: usize = 2;
    /// Redis's defaults: `normal 0 0 0 slave 256mb 64mb 60 pubsub 32mb 8mb 60`.
    pub const DEFAULTS: [OutputBufferLimit; 3] = [
        OutputBufferLimit { hard: 0, soft: 0, soft_seconds: 0 },
        OutputBufferLimit { hard: 256 << 20, soft: 64 << 20, soft_seconds: 60 },
        OutputBufferLimit { hard: 32 << 20, soft: 8 << 20, soft_seconds: 60 },
    ];
}

config_enum! {
    /// `loglevel`: how much the server logs, from most to least verbose.
    LogLevel {
        /// Everything, for development.
        Debug => "debug",
        /// Much useful information.
        Verbose => "verbose",
        /// Moderately verbose, for production (the default).
        Notice => "notice",
        /// Only very important or critical messages.
        Warning => "warning",
        /// Nothing at all (Redis 7.2).
        Nothing => "nothing",
    }
}

config_enum! {
    /// `maxmemory-policy`: how keys are evicted when `maxmemory` is reached.
    MaxmemoryPolicy {
        /// LRU among keys with an expire.
        VolatileLru => "volatile-lru",
        /// LFU among keys with an expire.
        VolatileLfu => "volatile-lfu",
        /// Random among keys with an expire.
        VolatileRandom => "volatile-random",
        /// Nearest expire time first.
        VolatileTtl => "volatile-ttl",
        /// LRU among all keys.
        AllkeysLru => "allkeys-lru",
        /// LFU among all keys.
        AllkeysLfu => "allkeys-lfu",
        /// Random among all keys.
        AllkeysRandom => "allkeys-random",
        /// Never evict; refuse writes instead (the default).
        Noeviction => "noeviction",
    }
}

config_enum! {
    /// `appendfsync`: when the append-only file is fsynced.
    AppendFsync {
        /// Once per second (the default).
        Everysec => "everysec",
        /// After every write.
        Always => "always",
        /// Left to the operating system.
        No => "no",
    }
}

config_enum! {
    /// `snapshot-format` (tallkv's own): what SAVE and BGSAVE write.
    SnapshotFormat {
        /// One file per shard in tallkv's format, written in parallel (the default).
        Tallkv => "tallkv",
        /// A single Redis-loadable RDB file.
        Rdb => "rdb",
    }
}

config_enum! {
    /// `enable-debug-command` / `enable-protected-configs`: who may use a
    /// protected feature.
    ProtectedAction {
        /// Nobody (the default).
        No => "no",
        /// Everybody.
        Yes => "yes",
        /// Only clients connected from a local address.
        Local => "local",
    }
}

impl MaxmemoryPolicy {
    /// True for the LFU policies (`allkeys-lfu`, `volatile-lfu`).
    pub fn is_lfu(self) -> bool {
        matches!(self, MaxmemoryPolicy::AllkeysLfu | MaxmemoryPolicy::VolatileLfu)
    }
}

impl ProtectedAction {
    /// True when a client (local or not, as told) may use the feature.
    pub fn allows(self, client_is_local: bool) -> bool {
        match self {
            ProtectedAction::No => false,
            ProtectedAction::Yes => true,
            ProtectedAction::Local => client_is_local,
        }
    }
}

/// The current value of every directive tallkv implements.
///
/// Build it with [`parse_command_line`] (or [`Config::default`] plus
/// [`Config::load_file`] / [`Config::load_str`]), query it with the typed
/// accessors, and serve CONFIG GET / SET with [`Config::get`] and
/// [`Config::set`]. Share it between threads with [`SharedConfig`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    config_file: Option<String>,
    bind: Vec<String>,
    port: u16,
    protected_mode: bool,
    tcp_backlog: u32,
    timeout: u32,
    tcp_keepalive: u32,
    maxclients: u32,
    threads: usize,
    pin_threads: bool,
    databases: usize,
    dir: String,
    loglevel: LogLevel,
    logfile: String,
    pidfile: String,
    hz: u32,
    enable_debug_command: ProtectedAction,
    enable_protected_configs: ProtectedAction,
    proto_max_bulk_len: u64,
    client_query_buffer_limit: u64,
    client_output_buffer_limit: [OutputBufferLimit; 3],
    busy_reply_threshold: u64,
    latency_tracking: bool,
    maxmemory_policy: MaxmemoryPolicy,
    maxmemory_samples: u32,
    lfu_log_factor: u32,
    lfu_decay_time: u32,
    active_expire_effort: u32,
    lazyfree_lazy_eviction: bool,
    lazyfree_lazy_expire: bool,
    lazyfree_lazy_server_del: bool,
    lazyfree_lazy_user_del: bool,
    lazyfree_lazy_user_flush: bool,
    activerehashing: bool,
    appendonly: bool,
    appendfsync: AppendFsync,
    save: Vec<(i64, i64)>,
    /// Whether a `save` line was already read during startup (later lines add rules).
    pub(crate) save_read_at_startup: bool,
    aof_load_truncated: bool,
    stop_writes_on_bgsave_error: bool,
    rdbcompression: bool,
    rdbchecksum: bool,
    snapshot_format: SnapshotFormat,
    import_rdb: String,
    auto_aof_rewrite_percentage: u64,
    auto_aof_rewrite_min_size: u64,
    dbfilename: String,
    appendfilename: String,
    appenddirname: String,
    list_max_listpack_size: i32,
    list_compress_depth: u32,
    hash_max_listpack_entries: u64,
    hash_max_listpack_value: u64,
    set_max_intset_entries: u64,
    set_max_listpack_entries: u64,
    set_max_listpack_value: u64,
    zset_max_listpack_entries: u64,
    zset_max_listpack_value: u64,
    hll_sparse_max_bytes: u64,
    stream_node_max_bytes: u64,
    stream_node_max_entries: u64,
    notify_keyspace_events: u32,
    notify_classes: u32,
}

impl Default for Config {
    /// Redis's defaults, except `bind 127.0.0.1`; `dir` is the current
    /// working directory.
    fn default() -> Self {
        let dir = std::env::current_dir().map(|d| d.to_string_lossy().into_owned()).unwrap_or_else(|_| ".".to_string());
        Config {
            config_file: None,
            bind: vec!["127.0.0.1".to_string()],
            port: 6379,
            protected_mode: true,
            tcp_backlog: 511,
            timeout: 0,
            tcp_keepalive: 300,
            maxclients: 10000,
            threads: 0,
            pin_threads: true,
            databases: 16,
            dir,
            loglevel: LogLevel::Notice,
            logfile: String::new(),
            pidfile: String::new(),
            hz: 10,
            enable_debug_command: ProtectedAction::No,
            enable_protected_configs: ProtectedAction::No,
            proto_max_bulk_len: 512 * 1024 * 1024,
            client_query_buffer_limit: 1024 * 1024 * 1024,
            client_output_buffer_limit: OutputBufferLimit::DEFAULTS,
            busy_reply_threshold: 5000,
            latency_tracking: true,
            maxmemory_policy: MaxmemoryPolicy::Noeviction,
            maxmemory_samples: 5,
            lfu_log_factor: 10,
            lfu_decay_time: 1,
            active_expire_effort: 1,
            lazyfree_lazy_eviction: false,
            lazyfree_lazy_expire: false,
            lazyfree_lazy_server_del: false,
            lazyfree_lazy_user_del: false,
            lazyfree_lazy_user_flush: false,
            activerehashing: true,
            appendonly: false,
            appendfsync: AppendFsync::Everysec,
            save: vec![(3600, 1), (300, 100), (60, 10000)],
            save_read_at_startup: false,
            aof_load_truncated: true,
            stop_writes_on_bgsave_error: true,
            rdbcompression: true,
            rdbchecksum: true,
            snapshot_format: SnapshotFormat::Tallkv,
            import_rdb: String::new(),
            auto_aof_rewrite_percentage: 100,
            auto_aof_rewrite_min_size: 64 << 20,
            dbfilename: "dump.rdb".to_string(),
            appendfilename: "appendonly.aof".to_string(),
            appenddirname: "appendonlydir".to_string(),
            list_max_listpack_size: -2,
            list_compress_depth: 0,
            hash_max_listpack_entries: 512,
            hash_max_listpack_value: 64,
            set_max_intset_entries: 512,
            set_max_listpack_entries: 128,
            set_max_listpack_value: 64,
            zset_max_listpack_entries: 128,
            zset_max_listpack_value: 64,
            hll_sparse_max_bytes: 3000,
            stream_node_max_bytes: 4096,
            stream_node_max_entries: 100,
            notify_keyspace_events: 0,
            notify_classes: 0,
        }
    }
}

/// Converts a stored count to `usize`, saturating (only matters on 32-bit).
fn to_usize(value: u64) -> usize {
    usize::try_from(value).unwrap_or(usize::MAX)
}

impl Config {
    /// Absolute path of the config file given on the command line, if any
    /// (for INFO's `config_file` and CONFIG REWRITE).
    pub fn config_file(&self) -> Option<&str> {
        self.config_file.as_deref()
    }

    /// `port`: TCP port to listen on (6379). 0 means "no TCP listener" in
    /// Redis. Immutable in tallkv.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `bind`: addresses to listen on (default `127.0.0.1`), as written:
    /// `*` means all IPv4 addresses, `::*` all IPv6 ones, and a leading `-`
    /// marks an address whose binding may fail (Redis semantics). Never
    /// empty. Immutable in tallkv.
    pub fn bind(&self) -> Vec<String> {
        self.bind.clone()
    }

    /// `threads`: number of worker threads (tallkv's own directive); 0 (the
    /// default) means one per available core. Startup only.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// `pin-threads` (ours, startup only): pin shard i to the i-th CPU the process may
    /// run on, modulo their count (yes); `no` leaves the threads to the OS scheduler.
    pub fn pin_threads(&self) -> bool {
        self.pin_threads
    }

    /// `dir`: the data directory, an absolute path (default: the working
    /// directory at startup). The process working directory is not changed
    /// by the config module.
    pub fn dir(&self) -> String {
        self.dir.clone()
    }

    /// `databases`: number of logical databases (16).
    pub fn databases(&self) -> usize {
        self.databases
    }

    /// `loglevel` (notice).
    pub fn loglevel(&self) -> LogLevel {
        self.loglevel
    }

    /// `logfile`: log file path; "" (the default) means standard output.
    pub fn logfile(&self) -> &str {
        &self.logfile
    }

    /// `pidfile`: where to write the process id; "" (the default) means
    /// do not write one.
    pub fn pidfile(&self) -> &str {
        &self.pidfile
    }

    /// `maxclients`: most simultaneous clients (10000).
    pub fn maxclients(&self) -> usize {
        self.maxclients as usize
    }

    /// `timeout`: close a client idle for this many seconds; 0 (the
    /// default) means never.
    pub fn timeout(&self) -> u64 {
        u64::from(self.timeout)
    }

    /// `tcp-keepalive`: TCP keepalive period in seconds, 0 = off (300).
    pub fn tcp_keepalive(&self) -> u64 {
        u64::from(self.tcp_keepalive)
    }

    /// `tcp-backlog`: listen(2) backlog (511).
    pub fn tcp_backlog(&self) -> u32 {
        self.tcp_backlog
    }

    /// `protected-mode` (yes).
    pub fn protected_mode(&self) -> bool {
        self.protected_mode
    }

    /// `hz`: background task frequency, always within 1..=500 (10).
    pub fn hz(&self) -> u32 {
        self.hz
    }

    /// `proto-max-bulk-len`: largest bulk string a client may send, in
    /// bytes (512mb; at least 1mb).
    pub fn proto_max_bulk_len(&self) -> usize {
        to_usize(self.proto_max_bulk_len)
    }

    /// `client-query-buffer-limit`: largest query buffer of a client, in
    /// bytes (1gb; at least 1mb).
    pub fn client_query_buffer_limit(&self) -> usize {
        to_usize(self.client_query_buffer_limit)
    }

    /// `client-output-buffer-limit` of the `pubsub` class (32mb hard, 8mb soft for 60 s).
    pub fn client_output_buffer_limit_pubsub(&self) -> crate::server::pubsub::OutputLimit {
        let class = self.client_output_buffer_limit[OutputBufferLimit::PUBSUB];
        crate::server::pubsub::OutputLimit { hard: class.hard, soft: class.soft, soft_seconds: class.soft_seconds }
    }

    /// `busy-reply-threshold` (alias `lua-time-limit`), milliseconds (5000).
    pub fn busy_reply_threshold(&self) -> u64 {
        self.busy_reply_threshold
    }

    /// `latency-tracking` (yes).
    pub fn latency_tracking(&self) -> bool {
        self.latency_tracking
    }

    /// `enable-debug-command` (no).
    pub fn enable_debug_command(&self) -> ProtectedAction {
        self.enable_debug_command
    }

    /// `enable-protected-configs` (no).
    pub fn enable_protected_configs(&self) -> ProtectedAction {
        self.enable_protected_configs
    }

    /// `maxmemory`: always 0 (no limit) in this version.
    pub fn maxmemory(&self) -> u64 {
        0
    }

    /// `maxmemory-policy` (noeviction).
    pub fn maxmemory_policy(&self) -> MaxmemoryPolicy {
        self.maxmemory_policy
    }

    /// True when `maxmemory-policy` is an LFU policy (`allkeys-lfu` or
    /// `volatile-lfu`), so keys must track access frequency, not idle time.
    pub fn maxmemory_policy_is_lfu(&self) -> bool {
        self.maxmemory_policy.is_lfu()
    }

    /// `maxmemory-samples` (5).
    pub fn maxmemory_samples(&self) -> u32 {
        self.maxmemory_samples
    }

    /// `lfu-log-factor` (10).
    pub fn lfu_log_factor(&self) -> u32 {
        self.lfu_log_factor
    }

    /// `lfu-decay-time`, minutes (1).
    pub fn lfu_decay_time(&self) -> u32 {
        self.lfu_decay_time
    }

    /// `active-expire-effort`: 1..=10 (1).
    pub fn active_expire_effort(&self) -> u32 {
        self.active_expire_effort
    }

    /// `lazyfree-lazy-eviction` (no).
    pub fn lazyfree_lazy_eviction(&self) -> bool {
        self.lazyfree_lazy_eviction
    }

    /// `lazyfree-lazy-expire` (no).
    pub fn lazyfree_lazy_expire(&self) -> bool {
        self.lazyfree_lazy_expire
    }

    /// `lazyfree-lazy-server-del` (no).
    pub fn lazyfree_lazy_server_del(&self) -> bool {
        self.lazyfree_lazy_server_del
    }

    /// `lazyfree-lazy-user-del` (no).
    pub fn lazyfree_lazy_user_del(&self) -> bool {
        self.lazyfree_lazy_user_del
    }

    /// `lazyfree-lazy-user-flush` (no).
    pub fn lazyfree_lazy_user_flush(&self) -> bool {
        self.lazyfree_lazy_user_flush
    }

    /// `activerehashing` (yes).
    pub fn activerehashing(&self) -> bool {
        self.activerehashing
    }

    /// `daemonize`: always false in this version.
    pub fn daemonize(&self) -> bool {
        false
    }

    /// `requirepass`: always "" (no password) in this version.
    pub fn requirepass(&self) -> &str {
        ""
    }

    /// `appendonly` (no): whether every shard keeps a journal.
    pub fn appendonly(&self) -> bool {
        self.appendonly
    }

    /// `save` rules: (seconds, changes) pairs; a snapshot is taken when at least `changes`
    /// writes happened in the last `seconds` (default: 3600 1, 300 100, 60 10000).
    pub fn save_rules(&self) -> &[(i64, i64)] {
        &self.save
    }

    /// The `save` rules, for the config loader.
    pub(crate) fn save_rules_mut(&mut self) -> &mut Vec<(i64, i64)> {
        &mut self.save
    }

    /// `aof-load-truncated` (yes): a journal whose last record is cut short loads without it.
    pub fn aof_load_truncated(&self) -> bool {
        self.aof_load_truncated
    }

    /// `stop-writes-on-bgsave-error` (yes): refuse writes while the last snapshot failed.
    pub fn stop_writes_on_bgsave_error(&self) -> bool {
        self.stop_writes_on_bgsave_error
    }

    /// `rdbcompression` (yes): LZF-compress long strings in RDB output.
    pub fn rdbcompression(&self) -> bool {
        self.rdbcompression
    }

    /// `rdbchecksum` (yes): end RDB output with a CRC64 (0 when off, as Redis writes).
    pub fn rdbchecksum(&self) -> bool {
        self.rdbchecksum
    }

    /// `import-rdb` (tallkv's own, startup only): a Redis RDB file to load at startup
    /// instead of the last snapshot ("" = none).
    pub fn import_rdb(&self) -> &str {
        &self.import_rdb
    }

    /// `auto-aof-rewrite-percentage` (100): rewrite the journals once they grew by this
    /// percentage of their size after the last rewrite (0 = never automatically).
    pub fn auto_aof_rewrite_percentage(&self) -> u64 {
        self.auto_aof_rewrite_percentage
    }

    /// `auto-aof-rewrite-min-size` (64mb): no automatic rewrite below this size.
    pub fn auto_aof_rewrite_min_size(&self) -> u64 {
        self.auto_aof_rewrite_min_size
    }

    /// Makes a relative `import-rdb` path absolute against `base` (the directory the
    /// server was started from, before it changes to `dir`).
    pub fn resolve_import_rdb(&mut self, base: &std::path::Path) {
        if !self.import_rdb.is_empty() && std::path::Path::new(&self.import_rdb).is_relative() {
            self.import_rdb = base.join(&self.import_rdb).display().to_string();
        }
    }

    /// `snapshot-format` (tallkv): per-shard tallkv files or one Redis RDB.
    pub fn snapshot_format(&self) -> SnapshotFormat {
        self.snapshot_format
    }

    /// `appendfsync` (everysec).
    pub fn appendfsync(&self) -> AppendFsync {
        self.appendfsync
    }

    /// `dbfilename` (dump.rdb).
    pub fn dbfilename(&self) -> &str {
        &self.dbfilename
    }

    /// `appendfilename` (appendonly.aof).
    pub fn appendfilename(&self) -> &str {
        &self.appendfilename
    }

    /// `appenddirname` (appendonlydir).
    pub fn appenddirname(&self) -> &str {
        &self.appenddirname
    }

    /// `list-max-listpack-size` (alias `list-max-ziplist-size`): positive =
    /// most entries per node, -1..-5 = node size limit 4kb..64kb (-2).
    pub fn list_max_listpack_size(&self) -> i32 {
        self.list_max_listpack_size
    }

    /// `list-compress-depth` (0).
    pub fn list_compress_depth(&self) -> u32 {
        self.list_compress_depth
    }

    /// `hash-max-listpack-entries` (alias `hash-max-ziplist-entries`, 512).
    pub fn hash_max_listpack_entries(&self) -> usize {
        to_usize(self.hash_max_listpack_entries)
    }

    /// `hash-max-listpack-value` (alias `hash-max-ziplist-value`, 64).
    pub fn hash_max_listpack_value(&self) -> usize {
        to_usize(self.hash_max_listpack_value)
    }

    /// `set-max-intset-entries` (512).
    pub fn set_max_intset_entries(&self) -> usize {
        to_usize(self.set_max_intset_entries)
    }

    /// `set-max-listpack-entries` (128).
    pub fn set_max_listpack_entries(&self) -> usize {
        to_usize(self.set_max_listpack_entries)
    }

    /// `set-max-listpack-value` (64).
    pub fn set_max_listpack_value(&self) -> usize {
        to_usize(self.set_max_listpack_value)
    }

    /// `zset-max-listpack-entries` (alias `zset-max-ziplist-entries`, 128).
    pub fn zset_max_listpack_entries(&self) -> usize {
        to_usize(self.zset_max_listpack_entries)
    }

    /// `zset-max-listpack-value` (alias `zset-max-ziplist-value`, 64).
    pub fn zset_max_listpack_value(&self) -> usize {
        to_usize(self.zset_max_listpack_value)
    }

    /// `hll-sparse-max-bytes` (3000).
    pub fn hll_sparse_max_bytes(&self) -> usize {
        to_usize(self.hll_sparse_max_bytes)
    }

    /// `stream-node-max-bytes` (4096).
    pub fn stream_node_max_bytes(&self) -> usize {
        to_usize(self.stream_node_max_bytes)
    }

    /// `stream-node-max-entries` (100).
    pub fn stream_node_max_entries(&self) -> u64 {
        self.stream_node_max_entries
    }

    /// `notify-keyspace-events` as flags (see [`crate::shard::notify`]); 0 by default.
    pub fn notify_keyspace_events(&self) -> u32 {
        self.notify_keyspace_events
    }

    /// The notification classes to record: the flags, or 0 when neither `K` nor `E` is set.
    #[inline]
    pub fn notify_classes(&self) -> u32 {
        self.notify_classes
    }

    /// Sets `notify-keyspace-events` from flags.
    fn set_notify_keyspace_events(&mut self, flags: u32) {
        self.notify_keyspace_events = flags;
        self.notify_classes = crate::shard::notify::active_classes(flags);
    }
}
