//! Snapshots of the whole server: SAVE, BGSAVE, `save` rules, the save at shutdown, and
//! loading the last snapshot at startup.
//!
//! **Taking one.** The coordinator holds every shard through the one coordination
//! mechanism ([`crate::shard::coord`]) just long enough to start each shard's snapshot
//! (`Keyspace::snapshot_begin`, a flip of one parity bit): that instant is the snapshot's
//! point in time, the same for every shard, so no cross-shard transaction is ever half in
//! it. Then each shard writes its own file on its own thread while it keeps serving;
//! entries changed meanwhile are copied just before they change (see
//! [`crate::persist::snapshot`]). No fork, no pause beyond the hold.
//!
//! **Files.** With `snapshot-format tallkv`, `<dbfilename>` is a small manifest naming one
//! file per shard (`<dbfilename>.<generation>.<i>of<n>.tkv`) and, when functions exist,
//! `<dbfilename>.<generation>.functions`. Every file is written, fsynced and only then
//! named by a new manifest (written to a temp file, fsynced, renamed over the old one, the
//! directory fsynced); files of older generations are deleted after. A crash at any point
//! leaves the previous manifest and its files loadable. With `snapshot-format rdb`,
//! `<dbfilename>` is one Redis-loadable RDB file, converted from the per-shard files.
//!
//! **Loading.** At startup each shard reads the manifest: with the same shard count it
//! loads its own file; otherwise every shard reads every file and keeps the entries whose
//! slot it owns. A `<dbfilename>` that is a Redis RDB (or `--import-rdb PATH`) is read by
//! every shard the same way.

use std::path::{Path, PathBuf};
use std::rc::Rc;

use super::manifest::write_atomically;
use super::rdb::LoadLimits;
use super::snapshot::{self, LoadedItem};
use crate::config::SnapshotFormat;
use crate::server::log;
use crate::shard::coord::Tx;
use crate::shard::{Entry, Node};
use crate::util::join_all;

/// First line of a tallkv snapshot manifest.
const MANIFEST_MAGIC: &str = "tallkv-snapshot 1";

/// Seconds to wait before a `save` rule retries after a failed snapshot (Redis's
/// CONFIG_BGSAVE_RETRY_DELAY).
const RETRY_DELAY_SECONDS: i64 = 5;

pub use super::status::{SaveState, SaveStatus};

/// Why a snapshot could not be started or failed.
#[derive(Debug, Clone, PartialEq)]
pub enum SaveError {
    /// Another snapshot is being written.
    InProgress,
    /// A journal rewrite is running (its snapshot holds the shards' snapshot slot).
    RewriteRunning,
    /// Writing failed; the message says why.
    Failed(String),
}

/// Takes a snapshot of every shard and writes it under `dbfilename`; returns when the
/// files are durable and named by the manifest. Clients keep being served meanwhile.
pub async fn save(node: &Rc<Node>) -> Result<(), SaveError> {
    let cut = begin(node).await?;
    finish(node, cut).await
}

/// Starts a snapshot (BGSAVE, `save` rules): returns once its point in time is fixed, as
/// Redis's BGSAVE returns after the fork; the files are written in the background.
pub async fn start_background_save(node: &Rc<Node>) -> Result<(), SaveError> {
    let cut = begin(node).await?;
    let node = node.clone();
    glommio::spawn_local(async move {
        let _ = finish(&node, cut).await;
    })
    .detach();
    Ok(())
}

/// Runs [`save`] in a task of its own (`save` rules, a scheduled BGSAVE).
fn spawn_save(node: &Rc<Node>) {
    let node = node.clone();
    glommio::spawn_local(async move {
        let _ = save(&node).await;
    })
    .detach();
}

/// A snapshot whose point in time is fixed: every shard's snapshot has begun.
pub struct Cut {
    began: std::time::Instant,
    generation: i64,
    dirty_at_cut: u64,
    functions: Vec<u8>,
}

/// Claims the snapshot slot and fixes the point in time: holds every shard at once while
/// each begins its snapshot.
async fn begin(node: &Rc<Node>) -> Result<Cut, SaveError> {
    let status = &node.shared.save_status;
    let now = crate::util::now_ms() / 1000;
    let claimed = status.update(|s| {
        if s.in_progress {
            return Err(SaveError::InProgress);
        }
        if s.aof_rewrite_in_progress {
            return Err(SaveError::RewriteRunning);
        }
        s.in_progress = true;
        s.current_started = now;
        s.last_try = now;
        Ok(())
    });
    claimed?;
    let began = std::time::Instant::now();
    match cut(node).await {
        Ok((dirty_at_cut, functions)) => Ok(Cut { began, generation: crate::util::now_ms(), dirty_at_cut, functions }),
        Err(e) => Err(SaveError::Failed(record_outcome(node, began, Err(e)).err().unwrap_or_default())),
    }
}

/// Writes the files of a snapshot begun by [`begin`], names them in the manifest and
/// records the outcome.
async fn finish(node: &Rc<Node>, cut: Cut) -> Result<(), SaveError> {
    let began = cut.began;
    let result = write_snapshot(node, cut).await;
    record_outcome(node, began, result).map_err(SaveError::Failed)
}

/// Records a snapshot's outcome in the status (and the write refusal it implies).
fn record_outcome(node: &Rc<Node>, began: std::time::Instant, result: Result<Written, String>) -> Result<(), String> {
    let duration = began.elapsed().as_secs() as i64;
    node.shared.save_status.update(|s| {
        s.in_progress = false;
        s.current_started = -1;
        s.last_duration = duration;
        match &result {
            Ok(done) => {
                s.last_ok = true;
                s.last_error = None;
                s.last_save = crate::util::now_ms() / 1000;
                s.saves += 1;
                s.dirty_at_last_save = done.dirty_at_cut;
                s.last_keys = done.keys;
                s.last_bytes = done.bytes;
            }
            Err(e) => {
                s.last_ok = false;
                s.last_error = Some(e.clone());
            }
        }
    });
    update_write_refusal(node);
    match result {
        Ok(done) => {
            log::log(
                log::Level::Notice,
                &format!(
                    "DB saved on disk ({} keys, {} bytes, {} ms)",
                    done.keys,
                    done.bytes,
                    began.elapsed().as_millis()
                ),
            );
            Ok(())
        }
        Err(e) => {
            log::log(log::Level::Warning, &format!("Background saving error: {e}"));
            Err(e)
        }
    }
}

/// Redis's refusal of writes after a failed snapshot (`stop-writes-on-bgsave-error`).
const BGSAVE_MISCONF: &str = "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to \
     persist to disk. Commands that may modify the data set are disabled, because this instance is configured to \
     report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the \
     Redis logs for details about the RDB error.";

/// Refuses writes while the last snapshot failed, `save` rules exist and
/// `stop-writes-on-bgsave-error` is yes (Redis's condition); lifts the refusal otherwise.
fn update_write_refusal(node: &Node) {
    let config = node.config();
    let failed = !node.shared.save_status.state().last_ok;
    let refuse = failed && config.stop_writes_on_bgsave_error() && !config.save_rules().is_empty();
    if refuse {
        node.shared.write_refusal.set("rdb", BGSAVE_MISCONF.to_string());
    } else {
        node.shared.write_refusal.clear("rdb");
    }
}

/// What SHUTDOWN (or a signal) asks about saving.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ShutdownSave {
    /// Save if `save` rules are configured (SHUTDOWN, SIGTERM, SIGINT).
    Default,
    /// Always save (SHUTDOWN SAVE).
    Save,
    /// Never save (SHUTDOWN NOSAVE).
    NoSave,
}

/// Saves before the server stops, as Redis's prepareForShutdown does: with `save` rules
/// configured (or SHUTDOWN SAVE) a snapshot is written first, waiting for one already
/// running. An error means the server must keep running (unless the caller forces it).
pub async fn save_before_shutdown(node: &Rc<Node>, mode: ShutdownSave) -> Result<(), String> {
    let wanted = match mode {
        ShutdownSave::NoSave => false,
        ShutdownSave::Save => true,
        ShutdownSave::Default => !node.config().save_rules().is_empty(),
    };
    if !wanted {
        return Ok(());
    }
    log::log(log::Level::Notice, "Saving the final snapshot before exiting.");
    loop {
        match save(node).await {
            Ok(()) => return Ok(()),
            Err(SaveError::InProgress | SaveError::RewriteRunning) => {
                glommio::timer::sleep(std::time::Duration::from_millis(10)).await
            }
            Err(SaveError::Failed(e)) => {
                log::log(log::Level::Warning, "Error trying to save the DB, can't exit.");
                return Err(e);
            }
        }
    }
}

/// Checks the `save` rules (called by shard 0's cron): starts a background snapshot when
/// one of them is met, as Redis's serverCron does.
pub fn check_save_rules(node: &Rc<Node>) {
    let config = node.config();
    let rules = config.save_rules();
    let status = &node.shared.save_status;
    let state = status.state();
    if !state.last_ok {
        // The configuration may have changed since the failure.
        update_write_refusal(node);
    }
    if state.in_progress || state.aof_rewrite_in_progress || !state.loaded {
        return;
    }
    if state.bgsave_scheduled {
        status.update(|s| s.bgsave_scheduled = false);
        spawn_save(node);
        return;
    }
    if rules.is_empty() {
        return;
    }
    let now = crate::util::now_ms() / 1000;
    let changes = status.changes_since_last_save();
    let retry_allowed = state.last_ok || now - state.last_try > RETRY_DELAY_SECONDS;
    let due = rules.iter().any(|&(seconds, min_changes)| {
        changes >= min_changes as u64 && now - state.last_save > seconds && retry_allowed
    });
    if due {
        let rule = rules
            .iter()
            .find(|&&(seconds, min_changes)| changes >= min_changes as u64 && now - state.last_save > seconds);
        if let Some((seconds, min_changes)) = rule {
            log::log(log::Level::Notice, &format!("{min_changes} changes in {seconds} seconds. Saving..."));
        }
        spawn_save(node);
    }
}

/// What a finished snapshot wrote.
struct Written {
    keys: u64,
    bytes: u64,
    dirty_at_cut: u64,
}

/// The per-shard file of generation `generation`.
fn shard_file_name(dbfilename: &str, generation: i64, shard: usize, shards: usize) -> String {
    format!("{dbfilename}.{generation}.{shard}of{shards}.tkv")
}

/// Holds every shard and begins its snapshot: the snapshot's point in time. Returns the
/// sum of the shards' `dirty` counters then, and the function libraries then.
async fn cut(node: &Rc<Node>) -> Result<(u64, Vec<u8>), String> {
    let shards = node.shards;
    let tx = Tx::begin(node, 0..shards).await.map_err(|e| format!("cannot hold the shards: {e:?}"))?;
    let mut begins = Vec::new();
    for shard in 0..shards {
        begins.push(tx.run(shard, |state| state.keyspace.snapshot_begin().then_some(state.keyspace.dirty)));
    }
    let mut dirty_at_cut = 0;
    let mut failure = None;
    let mut begun = Vec::new();
    for (shard, result) in join_all(begins).await.into_iter().enumerate() {
        match result {
            Ok(Some(dirty)) => {
                dirty_at_cut += dirty;
                begun.push(shard);
            }
            Ok(None) => failure = Some(format!("shard {shard} is already taking a snapshot")),
            Err(e) => failure = Some(format!("cannot start the snapshot: {e:?}")),
        }
    }
    if failure.is_some() {
        // Give the shards that did begin their snapshot slot back.
        let aborts: Vec<_> =
            begun.iter().map(|&shard| tx.run(shard, |state| state.keyspace.snapshot_abort())).collect();
        let _ = join_all(aborts).await;
    }
    let functions = crate::cmd::scripting::engine().function_dump();
    drop(tx);
    match failure {
        Some(e) => Err(e),
        None => Ok((dirty_at_cut, functions)),
    }
}

async fn write_snapshot(node: &Rc<Node>, cut: Cut) -> Result<Written, String> {
    let config = node.config();
    let dir = std::env::current_dir().map_err(|e| format!("cannot read the working directory: {e}"))?;
    let dbfilename = config.dbfilename().to_string();
    let shards = node.shards;
    let generation = cut.generation;
    let functions = cut.functions;
    let dirty_at_cut = cut.dirty_at_cut;
    let mut failure = None;
    let paths = (0..shards).map(|shard| dir.join(shard_file_name(&dbfilename, generation, shard, shards))).collect();
    let mut keys = 0;
    let mut bytes = 0;
    let mut files = Vec::new();
    let mut counts = Vec::new();
    for (shard, result) in snapshot::write_all_shards(node, paths, generation, None).await.into_iter().enumerate() {
        match result {
            Ok(stats) => {
                keys += stats.entries;
                bytes += stats.bytes;
                counts.push(stats.per_db);
                files.push(shard_file_name(&dbfilename, generation, shard, shards));
            }
            Err(e) => failure = Some(e),
        }
    }
    let format = config.snapshot_format();
    let compress = config.rdbcompression();
    let finished = match failure {
        Some(e) => Err(e),
        None => {
            let dir2 = dir.clone();
            let dbfilename2 = dbfilename.clone();
            let files2 = files.clone();
            run_blocking(move || {
                let functions_file = if functions_are_empty(&functions) {
                    None
                } else {
                    let name = format!("{dbfilename2}.{generation}.functions");
                    write_atomically(&dir2.join(&name), &functions)?;
                    Some(name)
                };
                match format {
                    SnapshotFormat::Tallkv => {
                        let manifest = render_manifest(shards, generation, &files2, &counts, functions_file.as_deref());
                        write_atomically(&dir2.join(&dbfilename2), manifest.as_bytes())?;
                        Ok(())
                    }
                    SnapshotFormat::Rdb => {
                        let paths: Vec<PathBuf> = files2.iter().map(|f| dir2.join(f)).collect();
                        let result =
                            super::rdb_export::write_rdb(&paths, &functions, &dir2.join(&dbfilename2), compress);
                        // The per-shard files were only a step towards the RDB file.
                        for path in &paths {
                            let _ = std::fs::remove_file(path);
                        }
                        if let Some(name) = &functions_file {
                            let _ = std::fs::remove_file(dir2.join(name));
                        }
                        result
                    }
                }
            })
            .await
        }
    };
    // Deleting a file of gigabytes takes the file system a while: never on a shard's thread.
    match finished {
        Ok(()) => {
            let _ = run_blocking(move || {
                remove_older_generations(&dir, &dbfilename, generation);
                Ok(())
            })
            .await;
            Ok(Written { keys, bytes, dirty_at_cut })
        }
        Err(e) => {
            remove_files(files.iter().map(|file| dir.join(file)).collect()).await;
            Err(e)
        }
    }
}

/// An empty FUNCTION DUMP payload holds no library.
pub(super) fn functions_are_empty(payload: &[u8]) -> bool {
    crate::script::function::parse_payload(payload).is_ok_and(|codes| codes.is_empty())
}

/// The manifest naming a snapshot's files.
fn render_manifest(
    shards: usize,
    generation: i64,
    files: &[String],
    counts: &[Vec<u64>],
    functions: Option<&str>,
) -> String {
    let mut text = format!("{MANIFEST_MAGIC}\nshards {shards}\ngeneration {generation}\n");
    for (shard, file) in files.iter().enumerate() {
        text.push_str(&format!("shard {shard} {file}\n"));
    }
    // Keys per database of each shard's file, so a loader can size its tables up front.
    for (shard, per_db) in counts.iter().enumerate() {
        let words: Vec<String> = per_db.iter().map(u64::to_string).collect();
        text.push_str(&format!("counts {shard} {}\n", words.join(" ")));
    }
    if let Some(name) = functions {
        text.push_str(&format!("functions {name}\n"));
    }
    text
}

/// A parsed snapshot manifest.
#[derive(Debug, PartialEq)]
pub struct Manifest {
    /// The shard count the snapshot was taken with.
    pub shards: usize,
    /// The per-shard files, by shard.
    pub files: Vec<String>,
    /// The function libraries' file, if any.
    pub functions: Option<String>,
    /// Keys per database in each shard's file, when the manifest says (by shard).
    pub counts: Vec<Vec<u64>>,
}

/// Parses a snapshot manifest; an error says what is wrong.
pub fn parse_manifest(text: &str) -> Result<Manifest, String> {
    let mut lines = text.lines();
    if lines.next() != Some(MANIFEST_MAGIC) {
        return Err("not a tallkv snapshot manifest (bad first line)".to_string());
    }
    let mut shards = None;
    let mut files: Vec<Option<String>> = Vec::new();
    let mut functions = None;
    let mut counts = Vec::new();
    for (n, line) in lines.enumerate() {
        let words: Vec<&str> = line.split(' ').collect();
        let bad = || format!("bad manifest line {}: {line:?}", n + 2);
        match words.as_slice() {
            ["shards", count] => {
                let count: usize = count.parse().map_err(|_| bad())?;
                if count == 0 || count > 65536 {
                    return Err(bad());
                }
                shards = Some(count);
                files = vec![None; count];
            }
            ["generation", _] => {}
            ["shard", index, file] => {
                let index: usize = index.parse().map_err(|_| bad())?;
                let slot = files.get_mut(index).ok_or_else(bad)?;
                *slot = Some(checked_file_name(file).ok_or_else(bad)?);
            }
            ["functions", file] => functions = Some(checked_file_name(file).ok_or_else(bad)?),
            ["counts", shard, per_db @ ..] => {
                let shard: usize = shard.parse().map_err(|_| bad())?;
                let per_db: Option<Vec<u64>> = per_db.iter().map(|c| c.parse().ok()).collect();
                if counts.len() <= shard {
                    counts.resize(shard + 1, Vec::new());
                }
                counts[shard] = per_db.ok_or_else(bad)?;
            }
            [""] => {}
            _ => return Err(bad()),
        }
    }
    let shards = shards.ok_or("manifest names no shard count")?;
    let files: Option<Vec<String>> = files.into_iter().collect();
    let files = files.ok_or("manifest does not name a file for every shard")?;
    Ok(Manifest { shards, files, functions, counts })
}

/// A file name from a manifest, refused if it could leave the directory.
fn checked_file_name(name: &str) -> Option<String> {
    (!name.is_empty() && !name.contains('/') && name != "." && name != "..").then(|| name.to_string())
}

/// Deletes snapshot files of generations other than `keep`.
fn remove_older_generations(dir: &Path, dbfilename: &str, keep: i64) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let prefix = format!("{dbfilename}.");
    let current = format!("{dbfilename}.{keep}.");
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix(&prefix) else { continue };
        let ours = rest.ends_with(".tkv") || rest.ends_with(".functions");
        let generation = rest.split('.').next().is_some_and(|g| g.chars().all(|c| c.is_ascii_digit()));
        if ours && generation && !name.starts_with(&current) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Deletes `files` on a thread of its own: deleting a file of gigabytes takes the file
/// system a while, never to be spent on a shard's thread.
pub async fn remove_files(files: Vec<PathBuf>) {
    let _ = run_blocking(move || {
        for file in files {
            let _ = std::fs::remove_file(file);
        }
        Ok(())
    })
    .await;
}

/// Runs blocking file work (whole-file conversions, directory fsyncs) on a thread of its
/// own and waits for it without blocking the shard's thread (polling every millisecond).
pub async fn run_blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> Result<T, String> {
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("tallkv-save".to_string())
        .spawn(move || {
            let _ = sender.send(f());
        })
        .map_err(|e| format!("cannot start a thread: {e}"))?;
    loop {
        match receiver.try_recv() {
            Ok(value) => return value,
            Err(std::sync::mpsc::TryRecvError::Empty) => {
                glommio::timer::sleep(std::time::Duration::from_millis(1)).await;
            }
            Err(std::sync::mpsc::TryRecvError::Disconnected) => {
                return Err("the background file thread stopped unexpectedly".to_string());
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Loading at startup

/// What a snapshot at `dbfilename` is.
enum Found {
    /// No file.
    Nothing,
    /// A tallkv manifest.
    Tallkv(Manifest),
    /// A Redis RDB file.
    Rdb(PathBuf),
}

fn find_snapshot(path: &Path) -> Result<Found, String> {
    let data = match std::fs::read(path) {
        Ok(data) => data,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Found::Nothing),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    if data.starts_with(b"REDIS") {
        return Ok(Found::Rdb(path.to_path_buf()));
    }
    let text = String::from_utf8(data)
        .map_err(|_| format!("{}: neither a tallkv manifest nor an RDB file", path.display()))?;
    parse_manifest(&text).map(Found::Tallkv).map_err(|e| format!("{}: {e}", path.display()))
}

/// Loads the last snapshot into this shard (startup, before any client is served):
/// `import` (`--import-rdb`) if given, else `<dbfilename>` in the working directory.
/// Returns the number of keys loaded.
pub fn load_at_startup(node: &Node, import: Option<&Path>) -> Result<u64, String> {
    let config = node.config();
    let found = match import {
        Some(path) => Found::Rdb(path.to_path_buf()),
        None => find_snapshot(Path::new(config.dbfilename()))?,
    };
    let shard = node.id;
    let shards = node.shards;
    let now = crate::util::now_ms();
    let databases = config.databases();
    let mut loaded = 0u64;
    let mut expired = 0u64;
    let mut state = node.state.borrow_mut();
    // A snapshot taken with this shard count: this shard reads only its own file, whose
    // entries are all its own and whose key counts size the tables up front. Otherwise
    // (another shard count, a Redis file) it reads everything and keeps its own slots.
    let own_file = match &found {
        Found::Tallkv(manifest) if manifest.shards == shards => {
            for (db, &count) in manifest.counts.get(shard).into_iter().flatten().enumerate() {
                if let Some(database) = state.keyspace.dbs.get_mut(db) {
                    database.reserve(count as usize);
                }
            }
            true
        }
        _ => false,
    };
    let access = crate::shard::Access { now_ms: now, mode: crate::shard::access_mode(&config), no_touch: false };
    let mut insert = |db: usize, key: &[u8], mut entry: Entry| -> Result<(), String> {
        if db >= databases {
            return Err(format!("the snapshot holds database {db}, but 'databases' is {databases}"));
        }
        if !own_file && crate::shard::slot::key_shard(key, shards) != shard {
            return Ok(());
        }
        if entry.is_expired(now) {
            expired += 1;
            return Ok(());
        }
        entry.access = access.fresh();
        state.keyspace.dbs[db].insert_loaded(key, entry);
        loaded += 1;
        Ok(())
    };
    let limits = LoadLimits::from_config(&config);
    match found {
        Found::Nothing => {}
        Found::Tallkv(manifest) => {
            let files = if own_file { manifest.files.get(shard..=shard).unwrap_or(&[]) } else { &manifest.files[..] };
            for file in files {
                snapshot::read_shard_file_with(Path::new(file), &limits, |item| match item {
                    LoadedItem::Entry { db, key, entry, .. } => insert(db, &key, entry),
                    _ => Ok(()),
                })
                .map_err(|e| e.to_string())?;
            }
            if let Some(file) = &manifest.functions {
                let payload = std::fs::read(file).map_err(|e| format!("cannot read {file}: {e}"))?;
                restore_functions(&payload)?;
            }
        }
        Found::Rdb(path) => {
            let functions = super::rdb_export::read_rdb(&path, limits, |db, key, entry| insert(db, key, entry))?;
            if let Some(payload) = functions {
                restore_functions(&payload)?;
            }
        }
    }
    drop(state);
    node.shared.save_status.update(|s| {
        s.load_loaded += loaded;
        s.load_expired += expired;
    });
    Ok(loaded)
}

/// Loads function libraries into this thread's engine.
fn restore_functions(payload: &[u8]) -> Result<(), String> {
    crate::cmd::scripting::engine()
        .function_restore(payload, crate::script::function::RestorePolicy::Append)
        .map_err(|e| format!("cannot load the function libraries: {e:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_round_trip_and_errors() {
        let files = vec!["dump.rdb.7.0of2.tkv".to_string(), "dump.rdb.7.1of2.tkv".to_string()];
        let counts = vec![vec![5, 0, 1], vec![7]];
        let text = render_manifest(2, 7, &files, &counts, Some("dump.rdb.7.functions"));
        let manifest = parse_manifest(&text).expect("parses");
        assert_eq!(manifest, Manifest { shards: 2, files, functions: Some("dump.rdb.7.functions".into()), counts });
        assert!(parse_manifest("REDIS0010").is_err());
        assert!(parse_manifest("tallkv-snapshot 1\nshards 2\nshard 0 a\n").unwrap_err().contains("every shard"));
        assert!(parse_manifest("tallkv-snapshot 1\nshards 1\nshard 0 ../etc/passwd\n").is_err());
        assert!(parse_manifest("tallkv-snapshot 1\nshards 1\nshard 3 a\n").is_err());
    }
}
