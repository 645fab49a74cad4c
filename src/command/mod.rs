//! The command table: Redis's metadata (generated) joined with tallkv's handlers.
//!
//! `generated.rs` is written by `tools/gen_commands.py` from Redis 7.2's command JSON
//! and declares every command's arity, flags and key specifications once. Each family
//! file in `src/cmd/` lists the handlers it implements ([`CommandImpl`]); [`Registry`]
//! joins the two. Commands without a handler are absent: clients get
//! `-ERR unknown command`, and COMMAND does not list them.

pub mod error;
pub mod generated;
pub mod keys;
pub mod spec;

use std::collections::HashMap;

pub use error::{CmdError, CmdResult};
pub use spec::{ArgSpec, BeginSearch, CommandSpec, FindKeys, KeySpec};

use crate::protocol::Args;
use crate::server::Session;
use crate::shard::KeyCtx;

/// A boxed future local to one thread.
pub type LocalFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + 'a>>;

/// A handler that runs on the shard owning the command's keys: synchronous, touches one shard.
pub type KeyedFn = fn(&mut KeyCtx<'_>, Args<'_>) -> CmdResult;
/// A handler that runs on the connection, synchronously, and touches no keys.
pub type LocalFn = fn(&mut Session, Args<'_>) -> CmdResult;
/// A handler that runs on the connection and may await other shards.
pub type AsyncFn = for<'a> fn(&'a mut Session, Args<'a>) -> LocalFuture<'a, CmdResult>;

/// How a keyed command runs when its keys sit on more than one shard.
#[derive(Clone, Copy)]
pub enum MultiShard {
    /// The involved shards are held; their keys' entries are gathered into one temporary
    /// keyspace, the handler runs there, and every gathered key is written back.
    Gather,
    /// As `Gather`, also gathering the keys from the databases the function names
    /// (COPY ... DB n).
    GatherDbs(fn(Args<'_>, usize) -> Result<Vec<usize>, CmdError>),
    /// Each shard runs the command on its own keys; integer replies are summed (DEL, EXISTS).
    SumInts,
    /// Each shard runs the command on its own keys; array replies are put back in key
    /// order (MGET).
    PerKeyArray,
    /// Each shard runs the command on its own keys; the reply is `+OK` (MSET).
    AllOk,
}

/// How a command is carried out.
#[derive(Clone, Copy)]
pub enum Handler {
    /// On the shard that owns the keys.
    Keyed {
        /// The shard-side operation.
        run: KeyedFn,
        /// What to do when the keys span shards.
        multi: MultiShard,
    },
    /// On the connection, synchronously.
    Local(LocalFn),
    /// On the connection, asynchronously.
    Async(AsyncFn),
}

/// One command implemented by a family file.
pub struct CommandImpl {
    /// The command's name in lower case; a subcommand as `container|sub` (`"object|encoding"`).
    pub name: &'static str,
    /// Its handler.
    pub handler: Handler,
}

/// Command flags tallkv acts on, from the metadata.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Flags(u32);

impl Flags {
    /// Changes data.
    pub const WRITE: Flags = Flags(1);
    /// Only reads data.
    pub const READONLY: Flags = Flags(1 << 1);
    /// May grow memory.
    pub const DENYOOM: Flags = Flags(1 << 2);
    /// Administrative.
    pub const ADMIN: Flags = Flags(1 << 3);
    /// Pub/sub.
    pub const PUBSUB: Flags = Flags(1 << 4);
    /// Not allowed in scripts.
    pub const NOSCRIPT: Flags = Flags(1 << 5);
    /// May block.
    pub const BLOCKING: Flags = Flags(1 << 6);
    /// Allowed while loading.
    pub const LOADING: Flags = Flags(1 << 7);
    /// Allowed on a stale replica.
    pub const STALE: Flags = Flags(1 << 8);
    /// Skipped by MONITOR.
    pub const SKIP_MONITOR: Flags = Flags(1 << 9);
    /// Skipped by SLOWLOG.
    pub const SKIP_SLOWLOG: Flags = Flags(1 << 10);
    /// Fast command.
    pub const FAST: Flags = Flags(1 << 11);
    /// Allowed before authentication.
    pub const NO_AUTH: Flags = Flags(1 << 12);
    /// Not allowed inside MULTI.
    pub const NO_MULTI: Flags = Flags(1 << 13);
    /// Keys cannot be found from key specs alone.
    pub const MOVABLE_KEYS: Flags = Flags(1 << 14);
    /// Allowed while the client is in RESP2 subscribe mode... (Redis: allowed in subscribe context).
    pub const ALLOW_BUSY: Flags = Flags(1 << 15);

    /// Whether every flag of `other` is set.
    pub fn contains(self, other: Flags) -> bool {
        self.0 & other.0 == other.0
    }

    fn from_names(names: &[&str]) -> Flags {
        let mut bits = 0;
        for name in names {
            bits |= match *name {
                "write" => Self::WRITE.0,
                "readonly" => Self::READONLY.0,
                "denyoom" => Self::DENYOOM.0,
                "admin" => Self::ADMIN.0,
                "pubsub" => Self::PUBSUB.0,
                "noscript" => Self::NOSCRIPT.0,
                "blocking" => Self::BLOCKING.0,
                "loading" => Self::LOADING.0,
                "stale" => Self::STALE.0,
                "skip_monitor" => Self::SKIP_MONITOR.0,
                "skip_slowlog" => Self::SKIP_SLOWLOG.0,
                "fast" => Self::FAST.0,
                "no_auth" => Self::NO_AUTH.0,
                "no_multi" => Self::NO_MULTI.0,
                "movablekeys" => Self::MOVABLE_KEYS.0,
                "allow_busy" => Self::ALLOW_BUSY.0,
                _ => 0,
            };
        }
        Flags(bits)
    }
}

/// A command as the server runs it: metadata, flags, handler, subcommands.
pub struct Command {
    /// The metadata.
    pub spec: &'static CommandSpec,
    /// Full lower-case name (`"get"`, `"object|encoding"`).
    pub full_name: String,
    /// Flags from the metadata.
    pub flags: Flags,
    /// The handler; a container whose subcommands carry the handlers has none.
    pub handler: Option<Handler>,
    /// Implemented subcommands by lower-case name.
    pub subcommands: HashMap<String, Command, ahash::RandomState>,
    /// Index in the registry's command list (for per-command statistics).
    pub id: usize,
    /// For commands with exactly one key at a fixed position (GET, SET, INCR...), that
    /// position: routing then needs no key search.
    pub single_key: Option<usize>,
}

impl Command {
    /// Whether `argc` (command name included) fits the arity.
    pub fn arity_ok(&self, argc: usize) -> bool {
        let arity = self.spec.arity;
        if arity >= 0 { argc == arity as usize } else { argc >= (-arity) as usize }
    }

    /// The command's keys' argument positions.
    pub fn key_positions(&self, args: Args<'_>) -> keys::KeyPositions {
        keys::find(self.spec, args)
    }

    /// Calls `f` with the argument index of each key; without allocating for a command
    /// whose one key is at a fixed position.
    pub fn for_each_key(&self, args: Args<'_>, mut f: impl FnMut(usize)) {
        match self.single_key.filter(|&p| p < args.len()) {
            Some(pos) => f(pos),
            None => self.key_positions(args).positions.into_iter().for_each(f),
        }
    }
}

/// Every implemented command, by lower-case name.
pub struct Registry {
    commands: HashMap<String, Command, ahash::RandomState>,
    /// Full names by id, for per-command statistics.
    names: Vec<String>,
}

impl Registry {
    /// Joins the generated metadata with the handlers of every family file.
    pub fn build() -> Registry {
        Registry::from_parts(generated::COMMANDS, &crate::cmd::all_impls())
    }

    /// Joins `specs` with `impls`: commands and subcommands without a handler are left out.
    pub fn from_parts(specs: &'static [CommandSpec], impls: &[&'static CommandImpl]) -> Registry {
        let handlers: HashMap<&str, Handler> = impls.iter().map(|i| (i.name, i.handler)).collect();
        let mut registry = Registry { commands: HashMap::default(), names: Vec::new() };
        for spec in specs {
            let mut subcommands = HashMap::default();
            for sub in spec.subcommands {
                let full = format!("{}|{}", spec.name, sub.name);
                if let Some(handler) = handlers.get(full.as_str()) {
                    let id = registry.names.len();
                    registry.names.push(full.clone());
                    subcommands.insert(
                        sub.name.to_string(),
                        Command {
                            spec: sub,
                            flags: Flags::from_names(sub.flags),
                            full_name: full,
                            handler: Some(*handler),
                            subcommands: HashMap::default(),
                            id,
                            single_key: keys::single_key_position(sub),
                        },
                    );
                }
            }
            let handler = handlers.get(spec.name).copied();
            if handler.is_none() && subcommands.is_empty() {
                continue;
            }
            let id = registry.names.len();
            registry.names.push(spec.name.to_string());
            registry.commands.insert(
                spec.name.to_string(),
                Command {
                    spec,
                    flags: Flags::from_names(spec.flags),
                    full_name: spec.name.to_string(),
                    handler,
                    subcommands,
                    id,
                    single_key: keys::single_key_position(spec),
                },
            );
        }
        registry
    }

    /// The command named `name` (any case).
    pub fn get(&self, name: &[u8]) -> Option<&Command> {
        let mut lower = [0u8; 32];
        if name.len() > lower.len() {
            return None;
        }
        for (d, s) in lower.iter_mut().zip(name) {
            *d = s.to_ascii_lowercase();
        }
        let lower = std::str::from_utf8(&lower[..name.len()]).ok()?;
        self.commands.get(lower)
    }

    /// Every implemented top-level command.
    pub fn iter(&self) -> impl Iterator<Item = &Command> {
        self.commands.values()
    }

    /// The number of implemented top-level commands (COMMAND COUNT).
    pub fn len(&self) -> usize {
        self.commands.len()
    }

    /// Whether no command is implemented.
    pub fn is_empty(&self) -> bool {
        self.commands.is_empty()
    }

    /// The number of command ids (commands and subcommands).
    pub fn id_count(&self) -> usize {
        self.names.len()
    }

    /// The full name of command `id`.
    pub fn name_of(&self, id: usize) -> &str {
        self.names.get(id).map(String::as_str).unwrap_or("")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_handler_names_a_command_in_the_metadata() {
        for imp in crate::cmd::all_impls() {
            let (top, sub) = match imp.name.split_once('|') {
                Some((t, s)) => (t, Some(s)),
                None => (imp.name, None),
            };
            let spec = generated::COMMANDS.iter().find(|c| c.name == top);
            let spec = spec.unwrap_or_else(|| panic!("{} is not in the metadata", imp.name));
            if let Some(sub) = sub {
                assert!(spec.subcommands.iter().any(|s| s.name == sub), "{} is not in the metadata", imp.name);
            }
        }
    }

    #[test]
    fn registry_has_implemented_commands_only() {
        let registry = Registry::build();
        assert!(registry.get(b"GET").is_some());
        assert!(registry.get(b"gEt").is_some());
        assert!(registry.get(b"nosuchcommand").is_none());
        let names: std::collections::HashSet<&str> =
            crate::cmd::all_impls().iter().map(|i| i.name.split('|').next().unwrap_or("")).collect();
        for command in registry.iter() {
            assert!(names.contains(command.spec.name), "{} has no handler", command.spec.name);
        }
    }
}
