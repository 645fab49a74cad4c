//! Persistence: the Redis RDB codec, fork-free per-shard snapshots and per-shard journals.
pub mod journal;
pub mod load;
pub mod manifest;
pub mod rdb;
pub mod rdb_export;
pub mod rewrite;
pub mod save;
pub mod snapshot;
pub mod status;
