//! Persistence: the Redis RDB codec, fork-free per-shard snapshots and per-shard journals.
