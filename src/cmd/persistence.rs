//! Persistence commands: SAVE, BGSAVE, LASTSAVE, and INFO's persistence section.
//!
//! Snapshots are fork-free and per shard (see [`crate::persist::save`]): SAVE waits for
//! the snapshot to be on disk, but unlike Redis's SAVE it does not stop other clients.

use std::fmt::Write as _;

use bytes::Bytes;

use crate::command::error::SYNTAX;
use crate::command::{CmdError, CmdResult, CommandImpl, Handler, LocalFuture};
use crate::persist::journal::AofStats;
use crate::persist::save::{self, SaveError};
use crate::protocol::{Args, Reply};
use crate::server::Session;

/// The persistence family's commands.
pub const COMMANDS: &[CommandImpl] = &[
    CommandImpl { name: "save", handler: Handler::Async(save_cmd) },
    CommandImpl { name: "bgsave", handler: Handler::Async(bgsave) },
    CommandImpl { name: "lastsave", handler: Handler::Local(lastsave) },
];

/// Redis's reply when a snapshot is already being written.
const IN_PROGRESS: &str = "ERR Background save already in progress";
/// Redis's BGSAVE reply while a journal rewrite runs.
const REWRITE_RUNNING_BGSAVE: &str = "ERR Another child process is active (AOF?): can't BGSAVE right now. \
     Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible.";
/// SAVE's reply while a journal rewrite runs (Redis would save synchronously; tallkv's
/// shards take one snapshot at a time).
const REWRITE_RUNNING_SAVE: &str = "ERR Background append only file rewriting in progress";

/// SAVE: writes a snapshot of every database and replies when it is on disk.
fn save_cmd<'a>(s: &'a mut Session, _args: Args<'a>) -> LocalFuture<'a, CmdResult> {
    Box::pin(async move {
        match save::save(&s.node).await {
            Ok(()) => Ok(Reply::Ok),
            Err(SaveError::InProgress) => Err(CmdError::from_static(IN_PROGRESS)),
            Err(SaveError::RewriteRunning) => Err(CmdError::from_static(REWRITE_RUNNING_SAVE)),
            // Redis answers a failed SAVE with a bare "-ERR"; the log says why.
            Err(SaveError::Failed(_)) => Err(CmdError::from_static("ERR")),
        }
    })
}

/// BGSAVE [SCHEDULE]: starts writing a snapshot in the background.
fn bgsave<'a>(s: &'a mut Session, args: Args<'a>) -> LocalFuture<'a, CmdResult> {
    Box::pin(async move {
        if args.len() > 2 || (args.len() == 2 && !args.get(1).eq_ignore_ascii_case(b"schedule")) {
            return Err(SYNTAX);
        }
        let schedule = args.len() == 2;
        match save::start_background_save(&s.node).await {
            Ok(()) => Ok(Reply::Simple(Bytes::from_static(b"Background saving started"))),
            Err(SaveError::RewriteRunning) if schedule => {
                s.node.shared.save_status.update(|st| st.bgsave_scheduled = true);
                Ok(Reply::Simple(Bytes::from_static(b"Background saving scheduled")))
            }
            Err(SaveError::RewriteRunning) => Err(CmdError::from_static(REWRITE_RUNNING_BGSAVE)),
            Err(_) => Err(CmdError::from_static(IN_PROGRESS)),
        }
    })
}

/// LASTSAVE: the Unix time of the last successful snapshot.
fn lastsave(s: &mut Session, _args: Args<'_>) -> CmdResult {
    Ok(Reply::Int(s.node.shared.save_status.state().last_save))
}

/// INFO's persistence section (Redis's field names; fork and copy-on-write fields are
/// left out: tallkv never forks), then one line per shard: `shard<i>:keys=..,aof_...`.
/// `aof` and `keys` hold each shard's journal status and key count, by shard.
pub(crate) fn info_section(s: &Session, aof: &[AofStats], keys: &[usize], out: &mut String) {
    let status = &s.node.shared.save_status;
    let state = status.state();
    let now = crate::util::now_ms() / 1000;
    let current = if state.in_progress { now - state.current_started } else { -1 };
    let rewrite_current = if state.aof_rewrite_in_progress { now - state.aof_rewrite_started } else { -1 };
    let enabled = state.aof_on;
    let write_ok = aof.iter().all(|a| a.last_write_ok || !a.enabled);
    let mut fields: Vec<(&str, String)> = vec![
        ("loading", u8::from(!state.loaded).to_string()),
        ("async_loading", "0".to_string()),
        ("rdb_changes_since_last_save", status.changes_since_last_save().to_string()),
        ("rdb_bgsave_in_progress", u8::from(state.in_progress).to_string()),
        ("rdb_last_save_time", state.last_save.to_string()),
        ("rdb_last_bgsave_status", ok_err(state.last_ok).to_string()),
        ("rdb_last_bgsave_time_sec", state.last_duration.to_string()),
        ("rdb_current_bgsave_time_sec", current.to_string()),
        ("rdb_saves", state.saves.to_string()),
        ("rdb_last_load_keys_expired", state.load_expired.to_string()),
        ("rdb_last_load_keys_loaded", state.load_loaded.to_string()),
        ("aof_enabled", u8::from(enabled).to_string()),
        ("aof_rewrite_in_progress", u8::from(state.aof_rewrite_in_progress).to_string()),
        ("aof_rewrite_scheduled", u8::from(state.aof_rewrite_scheduled).to_string()),
        ("aof_last_rewrite_time_sec", state.aof_last_rewrite_duration.to_string()),
        ("aof_current_rewrite_time_sec", rewrite_current.to_string()),
        ("aof_last_bgrewrite_status", ok_err(state.aof_last_rewrite_ok).to_string()),
        ("aof_rewrites", state.aof_rewrites.to_string()),
        ("aof_rewrites_consecutive_failures", state.aof_rewrite_failures.to_string()),
        ("aof_last_write_status", ok_err(write_ok).to_string()),
    ];
    if enabled {
        let sum = |f: fn(&AofStats) -> u64| aof.iter().map(f).sum::<u64>().to_string();
        fields.extend([
            ("aof_current_size", sum(|a| a.current_size)),
            ("aof_base_size", sum(|a| a.base_size)),
            ("aof_pending_rewrite", u8::from(state.aof_rewrite_scheduled).to_string()),
            ("aof_buffer_length", sum(|a| a.pending_bytes)),
            ("aof_pending_bio_fsync", aof.iter().filter(|a| a.fsync_in_progress).count().to_string()),
            ("aof_delayed_fsync", sum(|a| a.delayed_fsync)),
        ]);
    }
    fields.extend([
        ("tallkv_snapshot_format", s.config().snapshot_format().to_string()),
        ("tallkv_last_save_keys", state.last_keys.to_string()),
        ("tallkv_last_save_bytes", state.last_bytes.to_string()),
    ]);
    for (field, value) in fields {
        let _ = write!(out, "{field}:{value}\r\n");
    }
    for (shard, stats) in aof.iter().enumerate() {
        let _ = write!(out, "shard{shard}:keys={}", keys.get(shard).copied().unwrap_or(0));
        if stats.enabled {
            let _ = write!(
                out,
                ",aof_file={},aof_size={},aof_buffer={},aof_unsynced={},aof_last_write_status={},aof_delayed_fsync={},aof_last_fsync_ms={}",
                stats.file,
                stats.current_size,
                stats.pending_bytes,
                stats.unsynced_bytes,
                ok_err(stats.last_write_ok),
                stats.delayed_fsync,
                stats.last_fsync_ms
            );
        }
        out.push_str("\r\n");
    }
}

fn ok_err(ok: bool) -> &'static str {
    if ok { "ok" } else { "err" }
}
