//! Persistence: the Redis RDB codec, fork-free per-shard snapshots and per-shard journals.
//!
//! Reading order: [`rdb`] (values in Redis's encoding, used by every file and by
//! DUMP/RESTORE), [`snapshot`] (one shard's snapshot file; the marking and walking live in
//! [`crate::shard::snapshot`]), [`save`] (SAVE/BGSAVE across shards and loading them),
//! [`journal`] (records, writer, group commit), [`manifest`] and [`load`] (the journal's
//! files and startup replay), [`rewrite`] (BGREWRITEAOF), [`rdb_export`] (Redis RDB files
//! in and out), [`status`] (what INFO persistence reports).

pub mod journal;
pub mod load;
pub mod manifest;
pub mod rdb;
pub mod rdb_export;
pub mod rewrite;
pub mod save;
pub mod snapshot;
pub mod status;
