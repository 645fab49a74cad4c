//! The table of every directive tallkv knows, with its type, range,
//! default rendering and whether CONFIG SET may change it.
//!
//! Three groups of directives live here:
//!
//! * **Implemented** ones (`Bool`, `Int`, `Enum`, `Str`, `List` kinds): stored
//!   in [`Config`] and visible to CONFIG GET.
//! * **Inert** ones, for features tallkv does not have yet: only the value
//!   that leaves the feature off is accepted (`appendonly no`, `save ""`,
//!   `maxmemory 0`, `requirepass ""`...). Any other value is refused with
//!   "'appendonly yes' is not supported yet: persistence is not implemented
//!   in this tallkv version". CONFIG GET shows the inert value.
//! * **Unsupported** ones: Redis directives of features tallkv lacks, with
//!   no value worth accepting. Every use is refused with the same kind of
//!   message, and CONFIG GET does not list them.
//!
//! Anything else is unknown ("Bad directive or wrong number of arguments").
//!
//! Mutability follows Redis 7, except that `port` and `bind` (mutable in
//! Redis) are immutable in tallkv because the listeners cannot be moved
//! live yet, and `threads` (tallkv's own) is startup-only. `dir` and
//! `dbfilename` are "protected" as in Redis: CONFIG SET may change them only
//! when `enable-protected-configs` is `yes` (or `local` for a local client).

use std::path::Path;

use super::error::io_reason;
use super::parse::{parse_bool, parse_i64, parse_memory, parse_strtoll, quote_arg};
use super::{AppendFsync, Config, LogLevel, MaxmemoryPolicy, OutputBufferLimit, ProtectedAction, SnapshotFormat};

/// Redis's `INT_MAX`.
const INT_MAX: i128 = i32::MAX as i128;
/// Redis's `INT_MIN`.
const INT_MIN: i128 = i32::MIN as i128;
/// Redis's `UINT_MAX`.
const UINT_MAX: i128 = u32::MAX as i128;
/// Redis's `LONG_MAX` / `LLONG_MAX` (64-bit platforms).
const LONG_MAX: i128 = i64::MAX as i128;
/// Redis's `ULLONG_MAX`.
const ULLONG_MAX: i128 = u64::MAX as i128;
/// Most addresses a `bind` directive takes (Redis's `CONFIG_BINDADDR_MAX`).
const MAX_BIND_ADDRESSES: usize = 16;
/// Most worker threads `threads` accepts.
const MAX_THREADS: i128 = 1024;

/// Whether CONFIG SET may change a directive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// CONFIG SET may change it.
    Mutable,
    /// Startup only (config file or command line).
    Immutable,
    /// CONFIG SET may change it only if `enable-protected-configs` allows.
    Protected,
}

/// Why a value of an inert or unsupported directive is refused.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Reason {
    /// "... is not supported yet: {0} is not implemented in this tallkv version".
    NotImplemented(&'static str),
    /// "... is not supported: {0}".
    Custom(&'static str),
}

/// How the value of an inert directive is parsed before being compared with
/// the single accepted value.
#[derive(Debug, Clone, Copy)]
pub(crate) enum InertType {
    /// `yes` / `no`.
    Bool,
    /// An integer (or a memory value when `memory`) within `min..=max`.
    Int { min: i128, max: i128, memory: bool },
    /// One of the names, case-insensitively.
    Enum(&'static [&'static str]),
    /// Any string.
    Str,
    /// `replicaof host port` or `replicaof no one`.
    ReplicaOf,
}

/// The type of a directive, with the accessors of its field in [`Config`].
pub(crate) enum Kind {
    /// `yes` / `no`.
    Bool { get: fn(&Config) -> bool, set: fn(&mut Config, bool) },
    /// An integer within `min..=max`; with `memory`, a memory value such as
    /// `1gb` (and no sign).
    Int { min: i128, max: i128, memory: bool, get: fn(&Config) -> i128, set: fn(&mut Config, i128) },
    /// One of `names` (case-insensitive); `set` receives the name from
    /// `names` (lower case).
    Enum { names: &'static [&'static str], get: fn(&Config) -> &'static str, set: fn(&mut Config, &str) },
    /// A string, validated by `set`.
    Str { get: fn(&Config) -> String, set: fn(&mut Config, &str) -> Result<(), String> },
    /// Several arguments (`bind`).
    List { get: fn(&Config) -> String, set: fn(&mut Config, &[String]) -> Result<(), String> },
    /// A feature tallkv lacks: only `value` (the rendering of the parsed
    /// argument that keeps the feature off) is accepted.
    Inert { ty: InertType, value: &'static str, reason: Reason },
    /// A feature tallkv lacks, refused whatever the value.
    Unsupported { reason: Reason },
}

/// One directive of the table.
pub(crate) struct Directive {
    /// The canonical (lower-case) name.
    pub(crate) name: &'static str,
    /// An older name that works everywhere the canonical name does.
    pub(crate) alias: Option<&'static str>,
    /// Whether CONFIG SET may change it.
    pub(crate) access: Access,
    /// Its type.
    pub(crate) kind: Kind,
}

impl Directive {
    /// The canonical name, then the alias if any.
    pub(crate) fn names(&self) -> impl Iterator<Item = &'static str> {
        std::iter::once(self.name).chain(self.alias)
    }

    /// True when the directive takes several arguments (on a config line,
    /// or as one space-separated CONFIG SET value).
    pub(crate) fn is_multi(&self) -> bool {
        matches!(self.kind, Kind::List { .. } | Kind::Inert { ty: InertType::ReplicaOf, .. })
    }

    /// The value as CONFIG GET shows it, or `None` when CONFIG GET does not
    /// list this directive.
    pub(crate) fn render(&self, config: &Config) -> Option<String> {
        match &self.kind {
            Kind::Bool { get, .. } => Some(yes_no(get(config)).to_string()),
            Kind::Int { get, .. } => Some(get(config).to_string()),
            Kind::Enum { get, .. } => Some(get(config).to_string()),
            Kind::Str { get, .. } | Kind::List { get, .. } => Some(get(config)),
            Kind::Inert { value, .. } => Some((*value).to_string()),
            Kind::Unsupported { .. } => None,
        }
    }

    /// Validates `values` and stores them in `config`. `used_name` is the
    /// name the user wrote (canonical or alias, lower case), for messages.
    /// Returns the reason on error, in Redis's words where it has some.
    pub(crate) fn apply(&self, config: &mut Config, used_name: &str, values: &[String]) -> Result<(), String> {
        if let Kind::Unsupported { reason } = &self.kind {
            return Err(refusal(used_name, values, *reason));
        }
        if !self.is_multi() && values.len() != 1 {
            return Err("wrong number of arguments".to_string());
        }
        let first = values.first().map(String::as_str).unwrap_or("");
        match &self.kind {
            Kind::Bool { set, .. } => {
                let value = parse_bool(first).ok_or_else(bool_error)?;
                set(config, value);
            }
            Kind::Int { min, max, memory, set, .. } => {
                let value = parse_number(first, *memory)?;
                check_range(value, *min, *max)?;
                set(config, value);
            }
            Kind::Enum { names, set, .. } => {
                let name = parse_enum(first, names)?;
                set(config, name);
            }
            Kind::Str { set, .. } => set(config, first)?,
            Kind::List { set, .. } => set(config, values)?,
            Kind::Inert { ty, value, reason } => {
                let canonical = canonical_inert(*ty, values)?;
                if canonical != *value {
                    return Err(refusal(used_name, values, *reason));
                }
            }
            Kind::Unsupported { .. } => {}
        }
        Ok(())
    }
}

/// Finds a directive by canonical name or alias (`name` in lower case).
/// Returns the directive and the table name that matched.
pub(crate) fn lookup(name: &str) -> Option<(&'static Directive, &'static str)> {
    DIRECTIVES.iter().find_map(|directive| {
        directive.names().find(|candidate| *candidate == name).map(|matched| (directive, matched))
    })
}

/// `yes` or `no`.
fn yes_no(value: bool) -> &'static str {
    if value { "yes" } else { "no" }
}

/// Redis's error for a bad boolean.
fn bool_error() -> String {
    "argument must be 'yes' or 'no'".to_string()
}

/// Parses an integer (`memory`: a memory value) with Redis's error texts.
fn parse_number(text: &str, memory: bool) -> Result<i128, String> {
    if memory {
        parse_memory(text).map(i128::from).ok_or_else(|| "argument must be a memory value".to_string())
    } else {
        parse_i64(text).map(i128::from).ok_or_else(|| "argument couldn't be parsed into an integer".to_string())
    }
}

/// Redis's range check and its error text.
fn check_range(value: i128, min: i128, max: i128) -> Result<(), String> {
    if value < min || value > max {
        return Err(format!("argument must be between {min} and {max} inclusive"));
    }
    Ok(())
}

/// Finds `text` among `names` case-insensitively, with Redis's error text.
fn parse_enum(text: &str, names: &'static [&'static str]) -> Result<&'static str, String> {
    names
        .iter()
        .find(|name| name.eq_ignore_ascii_case(text))
        .copied()
        .ok_or_else(|| format!("argument(s) must be one of the following: {}", names.join(", ")))
}

/// The refusal message of an inert or unsupported directive.
fn refusal(name: &str, values: &[String], reason: Reason) -> String {
    let mut line = name.to_string();
    for value in values {
        line.push(' ');
        line.push_str(&quote_arg(value));
    }
    match reason {
        Reason::NotImplemented(feature) => {
            format!("'{line}' is not supported yet: {feature} is not implemented in this tallkv version")
        }
        Reason::Custom(text) => format!("'{line}' is not supported: {text}"),
    }
}

/// Parses the arguments of an inert directive and renders them the way
/// CONFIG GET would, to compare with the accepted value.
fn canonical_inert(ty: InertType, values: &[String]) -> Result<String, String> {
    let first = values.first().map(String::as_str).unwrap_or("");
    match ty {
        InertType::Bool => parse_bool(first).map(|b| yes_no(b).to_string()).ok_or_else(bool_error),
        InertType::Int { min, max, memory } => {
            let value = parse_number(first, memory)?;
            check_range(value, min, max)?;
            Ok(value.to_string())
        }
        InertType::Enum(names) => parse_enum(first, names).map(str::to_string),
        InertType::Str => Ok(first.to_string()),
        InertType::ReplicaOf => {
            if values.len() != 2 {
                return Err("wrong number of arguments".to_string());
            }
            if values[0].eq_ignore_ascii_case("no") && values[1].eq_ignore_ascii_case("one") {
                return Ok(String::new());
            }
            Ok(format!("{} {}", values[0], values[1]))
        }
    }
}

/// Parses `save` arguments like Redis's `setConfigSaveOption`: a single
/// empty argument means "no rules"; otherwise pairs of seconds (>= 1) and
/// changes (>= 0).
fn parse_save(values: &[String]) -> Result<Vec<(i64, i64)>, String> {
    let values: &[String] = if values.len() == 1 && values[0].is_empty() { &[] } else { values };
    let invalid = || "Invalid save parameters".to_string();
    if !values.len().is_multiple_of(2) {
        return Err(invalid());
    }
    let mut rules = Vec::with_capacity(values.len() / 2);
    for pair in values.chunks(2) {
        let seconds = parse_strtoll(&pair[0]).ok_or_else(invalid)?;
        let changes = parse_strtoll(&pair[1]).ok_or_else(invalid)?;
        if seconds < 1 || changes < 0 {
            return Err(invalid());
        }
        rules.push((seconds, changes));
    }
    Ok(rules)
}

/// Renders `save` rules as CONFIG GET does ("3600 1 300 100").
fn render_save(config: &Config) -> String {
    let words: Vec<String> =
        config.save.iter().flat_map(|(seconds, changes)| [seconds.to_string(), changes.to_string()]).collect();
    words.join(" ")
}

/// Sets `save` rules. At startup, the first `save` line replaces the default rules and
/// later lines add to them, as in Redis; CONFIG SET replaces them all.
fn set_save(config: &mut Config, values: &[String]) -> Result<(), String> {
    let rules = parse_save(values)?;
    config.save = rules;
    Ok(())
}

/// Sets `bind`: 1 to 16 addresses, kept as written (`*`, `::*` and a
/// leading `-` keep their Redis meaning for the listener code).
fn set_bind(config: &mut Config, values: &[String]) -> Result<(), String> {
    if values.len() > MAX_BIND_ADDRESSES {
        return Err("Too many bind addresses specified.".to_string());
    }
    if values.is_empty() || (values.len() == 1 && values[0].is_empty()) {
        return Err("bind needs at least one address: tallkv has no unix socket to listen on instead".to_string());
    }
    config.bind = values.to_vec();
    Ok(())
}

/// `client-output-buffer-limit` as CONFIG GET shows it: every class, limits in bytes.
fn render_output_buffer_limit(config: &Config) -> String {
    let mut words = Vec::new();
    for (name, class) in OutputBufferLimit::CLASSES.iter().zip(config.client_output_buffer_limit.iter()) {
        words.push(format!("{name} {} {} {}", class.hard, class.soft, class.soft_seconds));
    }
    words.join(" ")
}

/// Sets `client-output-buffer-limit` like Redis's `setConfigClientOutputBufferLimitOption`:
/// groups of `class hard soft seconds`, all checked before any is applied; classes not
/// named keep their limits.
fn set_output_buffer_limit(config: &mut Config, values: &[String]) -> Result<(), String> {
    if values.is_empty() || (values.len() == 1 && values[0].is_empty()) {
        // As Redis: an empty CONFIG SET value changes nothing.
        return Ok(());
    }
    if !values.len().is_multiple_of(4) {
        return Err("Wrong number of arguments in buffer limit configuration.".to_string());
    }
    let mut updated = config.client_output_buffer_limit;
    for group in values.chunks(4) {
        let class = match group[0].to_ascii_lowercase().as_str() {
            "normal" => 0,
            "slave" | "replica" => 1,
            "pubsub" => OutputBufferLimit::PUBSUB,
            _ => return Err("Invalid client class specified in buffer limit configuration.".to_string()),
        };
        let invalid = || "Error in hard, soft or soft_seconds setting in buffer limit configuration.".to_string();
        let hard = parse_memory(&group[1]).ok_or_else(invalid)?;
        let soft = parse_memory(&group[2]).ok_or_else(invalid)?;
        let seconds = parse_strtoll(&group[3]).filter(|s| *s >= 0).ok_or_else(invalid)?;
        updated[class] = OutputBufferLimit { hard, soft, soft_seconds: seconds as u64 };
    }
    config.client_output_buffer_limit = updated;
    Ok(())
}

/// Sets `dir`: must be an existing directory; a relative path is taken from
/// the current `dir` (as Redis, which `chdir`s on each `dir`). Stored as an
/// absolute canonical path. The process working directory is not changed.
fn set_dir(config: &mut Config, value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Err("No such file or directory".to_string());
    }
    let candidate = Path::new(&config.dir).join(value);
    let metadata = std::fs::metadata(&candidate).map_err(|e| io_reason(&e))?;
    if !metadata.is_dir() {
        return Err("Not a directory".to_string());
    }
    let absolute = std::fs::canonicalize(&candidate).map_err(|e| io_reason(&e))?;
    config.dir = absolute.to_string_lossy().into_owned();
    Ok(())
}

/// True when `value` names a file in the data directory (no `/` or `\`),
/// like Redis's `pathIsBaseName`.
fn is_base_name(value: &str) -> bool {
    !value.contains('/') && !value.contains('\\')
}

/// Sets `dbfilename` (Redis's `isValidDBfilename`).
fn set_dbfilename(config: &mut Config, value: &str) -> Result<(), String> {
    if !is_base_name(value) {
        return Err("dbfilename can't be a path, just a filename".to_string());
    }
    config.dbfilename = value.to_string();
    Ok(())
}

/// Sets `appendfilename` (Redis's `isValidAOFfilename`).
fn set_appendfilename(config: &mut Config, value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Err("appendfilename can't be empty".to_string());
    }
    if !is_base_name(value) {
        return Err("appendfilename can't be a path, just a filename".to_string());
    }
    config.appendfilename = value.to_string();
    Ok(())
}

/// Sets `appenddirname` (Redis's `isValidAOFdirname`).
fn set_appenddirname(config: &mut Config, value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Err("appenddirname can't be empty".to_string());
    }
    if !is_base_name(value) {
        return Err("appenddirname can't be a path, just a dirname".to_string());
    }
    config.appenddirname = value.to_string();
    Ok(())
}

/// Shorthand for an unsupported directive without alias.
const fn unsupported(name: &'static str, feature: &'static str) -> Directive {
    Directive {
        name,
        alias: None,
        access: Access::Mutable,
        kind: Kind::Unsupported { reason: Reason::NotImplemented(feature) },
    }
}

/// Shorthand for an unsupported directive with an alias.
const fn unsupported_alias(name: &'static str, alias: &'static str, feature: &'static str) -> Directive {
    Directive {
        name,
        alias: Some(alias),
        access: Access::Mutable,
        kind: Kind::Unsupported { reason: Reason::NotImplemented(feature) },
    }
}

/// Feature names used in refusals.
const PERSISTENCE: &str = "persistence";
/// Feature names used in refusals.
const REPLICATION: &str = "replication";
/// Feature names used in refusals.
const CLUSTER: &str = "cluster mode";
/// Feature names used in refusals.
const TLS: &str = "TLS";
/// Feature names used in refusals.
const ACL: &str = "ACL";
/// Feature names used in refusals.
const DEFRAG: &str = "active defragmentation";

/// Every directive tallkv knows, in the order CONFIG GET lists them.
pub(crate) static DIRECTIVES: &[Directive] = &[
    // ----- Network -----
    Directive {
        name: "bind",
        alias: None,
        access: Access::Immutable,
        kind: Kind::List { get: |c| c.bind.join(" "), set: set_bind },
    },
    Directive {
        name: "port",
        alias: None,
        access: Access::Immutable,
        kind: Kind::Int {
            min: 0,
            max: 65535,
            memory: false,
            get: |c| i128::from(c.port),
            set: |c, v| c.port = v as u16,
        },
    },
    Directive {
        name: "protected-mode",
        alias: None,
        access: Access::Mutable,
        kind: Kind::Bool { get: |c| c.protected_mode, set: |c, v| c.protected_mode = v },
    },
    Directive {
        name: "tcp-backlog",
        alias: None,
        access: Access::Immutable,
        kind: Kind::Int {
            min: 0,
            max: INT_MAX,
            memory: false,
            get: |c| i128::from(c.tcp_backlog),
            set: |c, v| c.tcp_backlog = v as u32,
        },
    },
    Directive {
        name: "timeout",
        alias: None,
        access: Access::Mutable,
        kind: Kind::Int {
            min: 0,
            max: INT_MAX,
            memory: false,
            get: |c| i128::from(c.timeout),
            set: |c, v| c.timeout = v as u32,
        },
    },
    Directive {
        name: "tcp-keepalive",
        alias: None,
        access: Access::Mutable,
        kind: Kind::Int {
            min: 0,
            max: INT_MAX,
            memory: false,
            get: |c| i128::from(c.tcp_keepalive),
            set: |c, v| c.tcp_keepalive = v as u32,
        },
    },
    Directive {
        name: "maxclients",
        alias: None,
        access: Access::Mutable,
        kind: Kind::Int {
            min: 1,
            max: UINT_MAX,
            memory: false,
            get: |c| i128::from(c.maxclients),
            set: |c, v| c.maxclients = v as u32,
        },
    },
    // ----- Server -----
    Directive {
        name: "threads",
        alias: None,
        access: Access::Immutable,
        kind: Kind::Int {
            min: 0,
            max: MAX_THREADS,
            memory: false,
            get: |c| c.threads as i128,
            set: |c, v| c.threads = v as usize,
        },
    },
    Directive {
        name: "pin-threads",
        alias: None,
        access: Access::Immutable,
        kind: Kind::Bool { get: |c| c.pin_threads, set: |c, v| c.pin_threads = v },
    },
    Directive {
        name: "io-threads",
        alias: None,
        access: Access::Immutable,
        kind: Kind::Inert {
            ty: InertType::Int { min: 1, max: 128, memory: false },
            value: "1",
            reason: Reason::Custom("tallkv runs one thread per core; set the number of threads with --threads"),
        },
    },
    Directive {
        name: "databases",
        alias: None,
        access: Access::Immutable,
        kind: Kind::Int {
            min: 1,
            max: INT_MAX,
            memory: false,
            get: |c| c.databases as i128,
            set: |c, v| c.databases = v as usize,
        },
    },
    Directive {
        name: "dir",
        alias: None,
        access: Access::Protected,
        kind: Kind::Str { get: |c| c.dir.clone(), set: set_dir },
    },
    Directive {
        name: "loglevel",
        alias: None,
        access: Access::Mutable,
        kind: Kind::Enum {
            names: LogLevel::NAMES,
            get: |c| c.loglevel.as_str(),
            set: |c, name| {
                if let Some(level) = LogLevel::from_name(name) {
                    c.loglevel = level;
                }
            },
        },
    },
    Directive {
        name: "logfile",
        alias: None,
        access: Access::Immutable,
        kind: Kind::Str {
            get: |c| c.logfile.clone(),
            set: |c, v| {
                c.logfile = v.to_string();
                Ok(())
            },
        },
    },
    Directive {
        name: "pidfile",
        alias: None,
        access: Access::Immutable,
        kind: Kind::Str {
            get: |c| c.pidfile.clone(),
            set: |c, v| {
                c.pidfile = v.to_string();
                Ok(())
            },
        },
    },
    Directive {
        name: "daemonize",
        alias: None,
        access: Access::Immutable,
        kind: Kind::Inert { ty: InertType::Bool, value: "no", reason: Reason::NotImplemented("running as a daemon") },
    },
    Directive {
        name: "supervised",
        alias: None,
        access: Access::Immutable,
        kind: Kind::Inert {
            ty: InertType::Enum(&["upstart", "systemd", "auto", "no"]),
            value: "no",
            reason: Reason::NotImplemented("supervision by upstart or systemd"),
        },
    },
    Directive {
        name: "hz",
        alias: None,
        access: Access::Mutable,
        kind: Kind::Int {
            min: 0,
            max: INT_MAX,
            memory: false,
            get: |c| i128::from(c.hz),
            // Redis accepts any non-negative value and clamps it to 1..=500.
            set: |c, v| c.hz = v.clamp(1, 500) as u32,
        },
    },
    Directive {
        name: "enable-debug-command",
        alias: None,
        access: Access::Immutable,
        kind: Kind::Enum {
            names: ProtectedAction::NAMES,
            get: |c| c.enable_debug_command.as_str(),
            set: |c, name| {
                if let Some(v) = ProtectedAction::from_name(name) {
                    c.enable_debug_command = v;
                }
            },
        },
    },
    Directive {
        name: "enable-protected-configs",
        alias: None,
        access: Access::Immutable,
        kind: Kind::Enum {
            names: ProtectedAction::NAMES,
            get: |c| c.enable_protected_configs.as_str(),
            set: |c, name| {
                if let Some(v) = ProtectedAction::from_name(name) {
                    c.enable_protected_configs = v;
                }
            },
        },
    },
    Directive {
        name: "proto-max-bulk-len",
        alias: None,
        access: Access::Mutable,
        kind: Kind::Int {
            min: 1024 * 1024,
            max: LONG_MAX,
            memory: true,
            get: |c| i128::from(c.proto_max_bulk_len),
            set: |c, v| c.proto_max_bulk_len = v as u64,
        },
    },
    Directive {
        name: "client-query-buffer-limit",
        alias: None,
        access: Access::Mutable,
        kind: Kind::Int {
            min: 1024 * 1024,
            max: LONG_MAX,
            memory: true,
            get: |c| i128::from(c.client_query_buffer_limit),
            set: |c, v| c.client_query_buffer_limit = v as u64,
        },
    },
    Directive {
        name: "client-output-buffer-limit",
        alias: None,
        access: Access::Mutable,
        kind: Kind::List { get: render_output_buffer_limit, set: set_output_buffer_limit },
    },
    Directive {
        name: "busy-reply-threshold",
        alias: Some("lua-time-limit"),
        access: Access::Mutable,
        kind: Kind::Int {
            min: 0,
            max: LONG_MAX,
            memory: false,
            get: |c| i128::from(c.busy_reply_threshold),
            set: |c, v| c.busy_reply_threshold = v as u64,
        },
    },
    Directive {
        name: "latency-tracking",
        alias: None,
        access: Access::Mutable,
        kind: Kind::Bool { get: |c| c.latency_tracking, set: |c, v| c.latency_tracking = v },
    },
    Directive {
        name: "requirepass",
        alias: None,
        access: Access::Mutable,
        kind: Kind::Inert { ty: InertType::Str, value: "", reason: Reason::NotImplemented("authentication") },
    },
    // ----- Memory, eviction, expiry -----
    Directive {
        name: "maxmemory",
        alias: None,
        access: Access::Mutable,
        kind: Kind::Inert {
            ty: InertType::Int { min: 0, max: ULLONG_MAX, memory: true },
            value: "0",
            reason: Reason::NotImplemented("the memory limit (maxmemory)"),
        },
    },
    Directive {
        name: "maxmemory-policy",
        alias: None,
        access: Access::Mutable,
        kind: Kind::Enum {
            names: MaxmemoryPolicy::NAMES,
            get: |c| c.maxmemory_policy.as_str(),
            set: |c, name| {
                if let Some(v) = MaxmemoryPolicy::from_name(name) {
                    c.maxmemory_policy = v;
                }
            },
        },
    },
    Directive {
        name: "maxmemory-samples",
        alias: None,
        access: Access::Mutable,
        kind: Kind::Int {
            min: 1,
            max: INT_MAX,
            memory: false,
            get: |c| i128::from(c.maxmemory_samples),
            set: |c, v| c.maxmemory_samples = v as u32,
        },
    },
    Directive {
        name: "lfu-log-factor",
        alias: None,
        access: Access::Mutable,
        kind: Kind::Int {
            min: 0,
            max: INT_MAX,
            memory: false,
            get: |c| i128::from(c.lfu_log_factor),
            set: |c, v| c.lfu_log_factor = v as u32,
        },
    },
    Directive {
        name: "lfu-decay-time",
        alias: None,
        access: Access::Mutable,
        kind: Kind::Int {
            min: 0,
            max: INT_MAX,
            memory: false,
            get: |c| i128::from(c.lfu_decay_time),
            set: |c, v| c.lfu_decay_time = v as u32,
        },
    },
    Directive {
        name: "active-expire-effort",
        alias: None,
        access: Access::Mutable,
        kind: Kind::Int {
            min: 1,
            max: 10,
            memory: false,
            get: |c| i128::from(c.active_expire_effort),
            set: |c, v| c.active_expire_effort = v as u32,
        },
    },
    Directive {
        name: "lazyfree-lazy-eviction",
        alias: None,
        access: Access::Mutable,
        kind: Kind::Bool { get: |c| c.lazyfree_lazy_eviction, set: |c, v| c.lazyfree_lazy_eviction = v },
    },
    Directive {
        name: "lazyfree-lazy-expire",
        alias: None,
        access: Access::Mutable,
        kind: Kind::Bool { get: |c| c.lazyfree_lazy_expire, set: |c, v| c.lazyfree_lazy_expire = v },
    },
    Directive {
        name: "lazyfree-lazy-server-del",
        alias: None,
        access: Access::Mutable,
        kind: Kind::Bool { get: |c| c.lazyfree_lazy_server_del, set: |c, v| c.lazyfree_lazy_server_del = v },
    },
    Directive {
        name: "lazyfree-lazy-user-del",
        alias: None,
        access: Access::Mutable,
        kind: Kind::Bool { get: |c| c.lazyfree_lazy_user_del, set: |c, v| c.lazyfree_lazy_user_del = v },
    },
    Directive {
        name: "lazyfree-lazy-user-flush",
        alias: None,
        access: Access::Mutable,
        kind: Kind::Bool { get: |c| c.lazyfree_lazy_user_flush, set: |c, v| c.lazyfree_lazy_user_flush = v },
    },
    Directive {
        name: "activerehashing",
        alias: None,
        access: Access::Mutable,
        kind: Kind::Bool { get: |c| c.activerehashing, set: |c, v| c.activerehashing = v },
    },
    // ----- Persistence -----
    Directive {
        name: "save",
        alias: None,
        access: Access::Mutable,
        kind: Kind::List { get: render_save, set: set_save },
    },
    Directive {
        name: "appendonly",
        alias: None,
        access: Access::Mutable,
        kind: Kind::Bool { get: |c| c.appendonly, set: |c, v| c.appendonly = v },
    },
    Directive {
        name: "aof-load-truncated",
        alias: None,
        access: Access::Mutable,
        kind: Kind::Bool { get: |c| c.aof_load_truncated, set: |c, v| c.aof_load_truncated = v },
    },
    Directive {
        name: "stop-writes-on-bgsave-error",
        alias: None,
        access: Access::Mutable,
        kind: Kind::Bool { get: |c| c.stop_writes_on_bgsave_error, set: |c, v| c.stop_writes_on_bgsave_error = v },
    },
    Directive {
        name: "rdbcompression",
        alias: None,
        access: Access::Mutable,
        kind: Kind::Bool { get: |c| c.rdbcompression, set: |c, v| c.rdbcompression = v },
    },
    Directive {
        name: "rdbchecksum",
        alias: None,
        access: Access::Immutable,
        kind: Kind::Bool { get: |c| c.rdbchecksum, set: |c, v| c.rdbchecksum = v },
    },
    Directive {
        name: "auto-aof-rewrite-percentage",
        alias: None,
        access: Access::Mutable,
        kind: Kind::Int {
            min: 0,
            max: INT_MAX,
            memory: false,
            get: |c| c.auto_aof_rewrite_percentage as i128,
            set: |c, v| c.auto_aof_rewrite_percentage = v as u64,
        },
    },
    Directive {
        name: "auto-aof-rewrite-min-size",
        alias: None,
        access: Access::Mutable,
        kind: Kind::Int {
            min: 0,
            max: i64::MAX as i128,
            memory: true,
            get: |c| c.auto_aof_rewrite_min_size as i128,
            set: |c, v| c.auto_aof_rewrite_min_size = v as u64,
        },
    },
    Directive {
        name: "import-rdb",
        alias: None,
        access: Access::Immutable,
        kind: Kind::Str {
            get: |c| c.import_rdb.clone(),
            set: |c, v| {
                c.import_rdb = v.to_string();
                Ok(())
            },
        },
    },
    Directive {
        name: "snapshot-format",
        alias: None,
        access: Access::Mutable,
        kind: Kind::Enum {
            names: SnapshotFormat::NAMES,
            get: |c| c.snapshot_format.as_str(),
            set: |c, name| {
                if let Some(v) = SnapshotFormat::from_name(name) {
                    c.snapshot_format = v;
                }
            },
        },
    },
    Directive {
        name: "appendfsync",
        alias: None,
        access: Access::Mutable,
        kind: Kind::Enum {
            names: AppendFsync::NAMES,
            get: |c| c.appendfsync.as_str(),
            set: |c, name| {
                if let Some(v) = AppendFsync::from_name(name) {
                    c.appendfsync = v;
                }
            },
        },
    },
    Directive {
        name: "dbfilename",
        alias: None,
        access: Access::Protected,
        kind: Kind::Str { get: |c| c.dbfilename.clone(), set: set_dbfilename },
    },
    Directive {
        name: "appendfilename",
        alias: None,
        access: Access::Immutable,
        kind: Kind::Str { get: |c| c.appendfilename.clone(), set: set_appendfilename },
    },
    Directive {
        name: "appenddirname",
        alias: None,
        access: Access::Immutable,
        kind: Kind::Str { get: |c| c.appenddirname.clone(), set: set_appenddirname },
    },
    // ----- Replication, cluster, security (off values only) -----
    Directive {
        name: "replicaof",
        alias: Some("slaveof"),
        access: Access::Immutable,
        kind: Kind::Inert { ty: InertType::ReplicaOf, value: "", reason: Reason::NotImplemented(REPLICATION) },
    },
    Directive {
        name: "cluster-enabled",
        alias: None,
        access: Access::Immutable,
        kind: Kind::Inert { ty: InertType::Bool, value: "no", reason: Reason::NotImplemented(CLUSTER) },
    },
    Directive {
        name: "tls-port",
        alias: None,
        access: Access::Mutable,
        kind: Kind::Inert {
            ty: InertType::Int { min: 0, max: 65535, memory: false },
            value: "0",
            reason: Reason::NotImplemented(TLS),
        },
    },
    Directive {
        name: "aclfile",
        alias: None,
        access: Access::Immutable,
        kind: Kind::Inert { ty: InertType::Str, value: "", reason: Reason::NotImplemented(ACL) },
    },
    Directive {
        name: "notify-keyspace-events",
        alias: None,
        access: Access::Mutable,
        kind: Kind::Str {
            get: |c| crate::shard::notify::render_flags(c.notify_keyspace_events),
            set: |c, v| {
                let flags = crate::shard::notify::parse_flags(v)
                    .ok_or_else(|| crate::shard::notify::INVALID_CLASS.to_string())?;
                c.set_notify_keyspace_events(flags);
                Ok(())
            },
        },
    },
    // ----- Data structure encodings -----
    Directive {
        name: "list-max-listpack-size",
        alias: Some("list-max-ziplist-size"),
        access: Access::Mutable,
        kind: Kind::Int {
            min: INT_MIN,
            max: INT_MAX,
            memory: false,
            get: |c| i128::from(c.list_max_listpack_size),
            set: |c, v| c.list_max_listpack_size = v as i32,
        },
    },
    Directive {
        name: "list-compress-depth",
        alias: None,
        access: Access::Mutable,
        kind: Kind::Int {
            min: 0,
            max: INT_MAX,
            memory: false,
            get: |c| i128::from(c.list_compress_depth),
            set: |c, v| c.list_compress_depth = v as u32,
        },
    },
    Directive {
        name: "hash-max-listpack-entries",
        alias: Some("hash-max-ziplist-entries"),
        access: Access::Mutable,
        kind: Kind::Int {
            min: 0,
            max: LONG_MAX,
            memory: false,
            get: |c| i128::from(c.hash_max_listpack_entries),
            set: |c, v| c.hash_max_listpack_entries = v as u64,
        },
    },
    Directive {
        name: "hash-max-listpack-value",
        alias: Some("hash-max-ziplist-value"),
        access: Access::Mutable,
        kind: Kind::Int {
            min: 0,
            max: LONG_MAX,
            memory: true,
            get: |c| i128::from(c.hash_max_listpack_value),
            set: |c, v| c.hash_max_listpack_value = v as u64,
        },
    },
    Directive {
        name: "set-max-intset-entries",
        alias: None,
        access: Access::Mutable,
        kind: Kind::Int {
            min: 0,
            max: LONG_MAX,
            memory: false,
            get: |c| i128::from(c.set_max_intset_entries),
            set: |c, v| c.set_max_intset_entries = v as u64,
        },
    },
    Directive {
        name: "set-max-listpack-entries",
        alias: None,
        access: Access::Mutable,
        kind: Kind::Int {
            min: 0,
            max: LONG_MAX,
            memory: false,
            get: |c| i128::from(c.set_max_listpack_entries),
            set: |c, v| c.set_max_listpack_entries = v as u64,
        },
    },
    Directive {
        name: "set-max-listpack-value",
        alias: None,
        access: Access::Mutable,
        kind: Kind::Int {
            min: 0,
            max: LONG_MAX,
            memory: false,
            get: |c| i128::from(c.set_max_listpack_value),
            set: |c, v| c.set_max_listpack_value = v as u64,
        },
    },
    Directive {
        name: "zset-max-listpack-entries",
        alias: Some("zset-max-ziplist-entries"),
        access: Access::Mutable,
        kind: Kind::Int {
            min: 0,
            max: LONG_MAX,
            memory: false,
            get: |c| i128::from(c.zset_max_listpack_entries),
            set: |c, v| c.zset_max_listpack_entries = v as u64,
        },
    },
    Directive {
        name: "zset-max-listpack-value",
        alias: Some("zset-max-ziplist-value"),
        access: Access::Mutable,
        kind: Kind::Int {
            min: 0,
            max: LONG_MAX,
            memory: true,
            get: |c| i128::from(c.zset_max_listpack_value),
            set: |c, v| c.zset_max_listpack_value = v as u64,
        },
    },
    Directive {
        name: "hll-sparse-max-bytes",
        alias: None,
        access: Access::Mutable,
        kind: Kind::Int {
            min: 0,
            max: LONG_MAX,
            memory: true,
            get: |c| i128::from(c.hll_sparse_max_bytes),
            set: |c, v| c.hll_sparse_max_bytes = v as u64,
        },
    },
    Directive {
        name: "stream-node-max-bytes",
        alias: None,
        access: Access::Mutable,
        kind: Kind::Int {
            min: 0,
            max: LONG_MAX,
            memory: true,
            get: |c| i128::from(c.stream_node_max_bytes),
            set: |c, v| c.stream_node_max_bytes = v as u64,
        },
    },
    Directive {
        name: "stream-node-max-entries",
        alias: None,
        access: Access::Mutable,
        kind: Kind::Int {
            min: 0,
            max: LONG_MAX,
            memory: false,
            get: |c| i128::from(c.stream_node_max_entries),
            set: |c, v| c.stream_node_max_entries = v as u64,
        },
    },
    // ----- Redis directives of features tallkv does not have -----
    unsupported("user", ACL),
    unsupported("acllog-max-len", ACL),
    unsupported("acl-pubsub-default", ACL),
    unsupported("masteruser", REPLICATION),
    unsupported("masterauth", REPLICATION),
    unsupported_alias("replica-serve-stale-data", "slave-serve-stale-data", REPLICATION),
    unsupported_alias("replica-read-only", "slave-read-only", REPLICATION),
    unsupported_alias("replica-priority", "slave-priority", REPLICATION),
    unsupported_alias("replica-lazy-flush", "slave-lazy-flush", REPLICATION),
    unsupported_alias("replica-ignore-maxmemory", "slave-ignore-maxmemory", REPLICATION),
    unsupported_alias("replica-announce-ip", "slave-announce-ip", REPLICATION),
    unsupported_alias("replica-announce-port", "slave-announce-port", REPLICATION),
    unsupported("replica-announced", REPLICATION),
    unsupported("replica-ignore-disk-write-errors", REPLICATION),
    unsupported_alias("repl-ping-replica-period", "repl-ping-slave-period", REPLICATION),
    unsupported("repl-timeout", REPLICATION),
    unsupported("repl-backlog-size", REPLICATION),
    unsupported("repl-backlog-ttl", REPLICATION),
    unsupported("repl-diskless-sync", REPLICATION),
    unsupported("repl-diskless-sync-delay", REPLICATION),
    unsupported("repl-diskless-sync-max-replicas", REPLICATION),
    unsupported("repl-diskless-load", REPLICATION),
    unsupported("repl-disable-tcp-nodelay", REPLICATION),
    unsupported_alias("min-replicas-to-write", "min-slaves-to-write", REPLICATION),
    unsupported_alias("min-replicas-max-lag", "min-slaves-max-lag", REPLICATION),
    unsupported("propagation-error-behavior", REPLICATION),
    unsupported("bind-source-addr", REPLICATION),
    unsupported("rdb-del-sync-files", PERSISTENCE),
    unsupported("rdb-save-incremental-fsync", PERSISTENCE),
    unsupported("rdb-key-save-delay", PERSISTENCE),
    unsupported("key-load-delay", PERSISTENCE),
    unsupported("loading-process-events-interval-bytes", PERSISTENCE),
    unsupported("no-appendfsync-on-rewrite", PERSISTENCE),
    unsupported("aof-rewrite-incremental-fsync", PERSISTENCE),
    unsupported("aof-use-rdb-preamble", PERSISTENCE),
    unsupported("aof-timestamp-enabled", PERSISTENCE),
    unsupported("aof-disable-auto-gc", PERSISTENCE),
    unsupported("bgsave_cpulist", PERSISTENCE),
    unsupported("aof_rewrite_cpulist", PERSISTENCE),
    unsupported("sanitize-dump-payload", "DUMP/RESTORE"),
    unsupported("cluster-config-file", CLUSTER),
    unsupported("cluster-node-timeout", CLUSTER),
    unsupported("cluster-port", CLUSTER),
    unsupported("cluster-announce-ip", CLUSTER),
    unsupported("cluster-announce-port", CLUSTER),
    unsupported("cluster-announce-bus-port", CLUSTER),
    unsupported("cluster-announce-tls-port", CLUSTER),
    unsupported("cluster-announce-hostname", CLUSTER),
    unsupported("cluster-announce-human-nodename", CLUSTER),
    unsupported_alias("cluster-replica-validity-factor", "cluster-slave-validity-factor", CLUSTER),
    unsupported_alias("cluster-replica-no-failover", "cluster-slave-no-failover", CLUSTER),
    unsupported("cluster-migration-barrier", CLUSTER),
    unsupported("cluster-allow-replica-migration", CLUSTER),
    unsupported("cluster-require-full-coverage", CLUSTER),
    unsupported("cluster-allow-reads-when-down", CLUSTER),
    unsupported("cluster-allow-pubsubshard-when-down", CLUSTER),
    unsupported("cluster-link-sendbuf-limit", CLUSTER),
    unsupported("cluster-preferred-endpoint-type", CLUSTER),
    unsupported("cluster-ping-interval", CLUSTER),
    unsupported("tls-cert-file", TLS),
    unsupported("tls-key-file", TLS),
    unsupported("tls-key-file-pass", TLS),
    unsupported("tls-client-cert-file", TLS),
    unsupported("tls-client-key-file", TLS),
    unsupported("tls-client-key-file-pass", TLS),
    unsupported("tls-dh-params-file", TLS),
    unsupported("tls-ca-cert-file", TLS),
    unsupported("tls-ca-cert-dir", TLS),
    unsupported("tls-protocols", TLS),
    unsupported("tls-ciphers", TLS),
    unsupported("tls-ciphersuites", TLS),
    unsupported("tls-prefer-server-ciphers", TLS),
    unsupported("tls-session-caching", TLS),
    unsupported("tls-session-cache-size", TLS),
    unsupported("tls-session-cache-timeout", TLS),
    unsupported("tls-cluster", TLS),
    unsupported("tls-replication", TLS),
    unsupported("tls-auth-clients", TLS),
    unsupported("slowlog-log-slower-than", "the slow log"),
    unsupported("slowlog-max-len", "the slow log"),
    unsupported("latency-monitor-threshold", "the latency monitor"),
    unsupported("latency-tracking-info-percentiles", "choosing the latency percentiles"),
    unsupported("activedefrag", DEFRAG),
    unsupported("active-defrag-ignore-bytes", DEFRAG),
    unsupported("active-defrag-threshold-lower", DEFRAG),
    unsupported("active-defrag-threshold-upper", DEFRAG),
    unsupported("active-defrag-cycle-min", DEFRAG),
    unsupported("active-defrag-cycle-max", DEFRAG),
    unsupported("active-defrag-max-scan-fields", DEFRAG),
    unsupported("jemalloc-bg-thread", "jemalloc tuning"),
    unsupported("maxmemory-clients", "client eviction"),
    unsupported("maxmemory-eviction-tenacity", "eviction tuning"),
    unsupported("tracking-table-max-keys", "client-side caching"),
    unsupported("unixsocket", "listening on a unix socket"),
    unsupported("unixsocketperm", "listening on a unix socket"),
    unsupported("syslog-enabled", "logging to syslog"),
    unsupported("syslog-ident", "logging to syslog"),
    unsupported("syslog-facility", "logging to syslog"),
    unsupported("always-show-logo", "the startup logo"),
    unsupported("set-proc-title", "setting the process title"),
    unsupported("proc-title-template", "setting the process title"),
    unsupported("oom-score-adj", "adjusting the OOM score"),
    unsupported("oom-score-adj-values", "adjusting the OOM score"),
    unsupported("disable-thp", "transparent huge pages control"),
    unsupported("server_cpulist", "CPU affinity"),
    unsupported("bio_cpulist", "CPU affinity"),
    unsupported("crash-log-enabled", "crash reporting"),
    unsupported("crash-memcheck-enabled", "crash reporting"),
    unsupported("use-exit-on-panic", "crash reporting"),
    unsupported("watchdog-period", "the software watchdog"),
    unsupported("socket-mark-id", "socket marking"),
    unsupported("shutdown-on-sigint", "shutdown options"),
    unsupported("shutdown-on-sigterm", "shutdown options"),
    unsupported("shutdown-timeout", "shutdown options"),
    unsupported("ignore-warnings", "startup warnings"),
    unsupported("dynamic-hz", "dynamic hz"),
    unsupported("io-threads-do-reads", "Redis-style I/O threads"),
    unsupported("enable-module-command", "modules"),
    unsupported("loadmodule", "modules"),
    unsupported("locale-collate", "locale settings"),
    unsupported("sentinel", "Sentinel"),
];
