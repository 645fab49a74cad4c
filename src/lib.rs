//! tallkv: a Redis-compatible key-value server where one thread per core owns a slice
//! of the keyspace, on io_uring.
//!
//! # A tour, in reading order
//! 1. [`config`] — directives with Redis's names, from a redis.conf-style file and
//!    `--name value` flags; CONFIG GET/SET logic.
//! 2. [`server`] — startup: one pinned glommio executor per shard, each accepting its own
//!    connections on the shared port (SO_REUSEPORT); the connection loop
//!    ([`server::conn`]) reads, runs every complete request, writes all replies at once.
//! 3. [`protocol`] — requests parsed incrementally with Redis's limits and error texts;
//!    replies are values ([`protocol::Reply`]) encoded as RESP2 or RESP3.
//! 4. [`command`] — the table generated from Redis's command metadata (arity, flags, key
//!    specs), joined with the handlers the family files declare.
//! 5. [`server::dispatch`] — routing: a key maps to a slot (CRC16, hash tags) and the slot
//!    to a shard. A command whose keys are all local runs at once; one whose keys are on
//!    one other shard is forwarded as a closure over the channel mesh ([`shard::node`]);
//!    one whose keys span shards runs through the one coordination mechanism
//!    ([`shard::coord`]).
//! 6. [`shard`] — a shard's databases ([`shard::db`]): keys, values, TTLs, lazy and active
//!    expiry, an incremental SCAN cursor; the clients blocked on its keys
//!    ([`shard::blocking`]), the WATCH flags ([`shard::watch`]) and the keyspace events its
//!    commands record ([`shard::notify`]).
//! 7. [`cmd`] — one file per command family; each command's doc comment says what it does.
//! 8. [`types`] — value structures with no protocol knowledge.
//! 9. [`script`] — the Lua scripting engine (Redis 7.0 EVAL semantics on vendored Lua 5.1):
//!    sandbox, `redis.*`, the libraries Redis ships, the script cache.
//! 10. [`persist`] — persistence, per shard and without fork: the Redis RDB codec
//!     ([`persist::rdb`]), fork-free snapshots ([`shard::snapshot`] marks and walks entries,
//!     [`persist::snapshot`] writes the per-shard files, [`persist::save`] runs SAVE/BGSAVE and
//!     loads at startup), the journal ([`persist::journal`], its manifest, startup replay and
//!     [`persist::rewrite`]).

pub mod cmd;
pub mod command;
pub mod config;
pub mod persist;
pub mod protocol;
pub mod script;
pub mod server;
pub mod shard;
pub mod types;
pub mod util;
