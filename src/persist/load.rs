//! Startup with `appendonly yes`: load every shard's data from the journal manifest,
//! then hand each shard its keyspace and the journal file it appends to.
//!
//! Generations are replayed oldest first. Within a generation every shard's files are
//! read on a thread of their own, in parallel, in two passes: the first checks every
//! record and collects the ids of multi-shard group records, the second replays, applying
//! a group only if every participant's part is present (an incomplete group is what a
//! crash during a commit leaves; it is skipped with a log line). When a generation's shard
//! count differs from the state's, the state is redistributed by slot first, so a restart
//! with another `--threads` loads the same data and starts a new generation.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use super::journal::format::{self, Command, Record, Scan, ScanError};
use super::manifest::{Generation, Manifest, Paths, ShardFile};
use crate::command::{Handler, Registry};
use crate::config::Config;
use crate::protocol::OwnedArgs;
use crate::server::log::{self, Level};
use crate::shard::slot::key_shard;
use crate::shard::{KeyCtx, Keyspace};

/// What one shard starts with.
pub struct ShardStart {
    /// Its data.
    pub keyspace: Keyspace,
    /// The journal file it appends to (path relative to `dir`).
    pub file: String,
    /// The file's valid length (it is cut there), or `None` to create it.
    pub valid_len: Option<u64>,
}

/// What loading produced, taken by each shard's thread as it starts (empty with
/// `appendonly no`).
#[derive(Default)]
pub struct Startup {
    shards: Mutex<Vec<Option<ShardStart>>>,
    /// FUNCTION commands found in the journal, in order; every thread replays them.
    pub functions: Vec<Vec<Vec<u8>>>,
}

impl Startup {
    /// Takes shard `shard`'s part (once).
    pub fn take(&self, shard: usize) -> Option<ShardStart> {
        let mut shards = self.shards.lock().unwrap_or_else(|e| e.into_inner());
        shards.get_mut(shard).and_then(Option::take)
    }
}

/// Loads the journal named by the manifest under `config`'s `appenddirname` (relative to
/// the working directory, which is `dir`) for `shards` shards. Creates the directory and
/// a new generation (manifest written) when needed.
pub fn load_at_startup(config: &Arc<Config>, shards: usize) -> Result<Startup, String> {
    let paths = Paths::new(config.appenddirname(), config.appendfilename());
    std::fs::create_dir_all(&paths.dir)
        .map_err(|e| format!("Can't create the journal directory {}: {e}", paths.dir.display()))?;
    let started = std::time::Instant::now();
    let mut manifest = Manifest::read(&paths.manifest())?.unwrap_or_default();
    let mut spaces: Vec<Keyspace> = Vec::new();
    let mut functions = Vec::new();
    // Per shard of the last generation: the valid end of its last journal file.
    let mut ends: Vec<Option<u64>> = Vec::new();
    for generation in &manifest.generations {
        let count = generation.shard_count();
        spaces = if spaces.is_empty() {
            (0..count).map(|_| Keyspace::new(config.databases())).collect()
        } else {
            redistribute(spaces, count, config.databases())
        };
        let (loaded, found, last_ends) = load_generation(config, &paths, generation, spaces)?;
        spaces = loaded;
        functions.extend(found);
        ends = last_ends;
    }
    let keys: usize = spaces.iter().map(|ks| ks.dbs.iter().map(|d| d.len()).sum::<usize>()).sum();
    let reuse = manifest.generations.last().is_some_and(|g| {
        g.shard_count() == shards && g.shards.iter().all(|files| matches!(files.last(), Some(ShardFile::Journal(_))))
    });
    let mut files = Vec::with_capacity(shards);
    if reuse {
        let Some(last) = manifest.generations.last() else { return Err("empty manifest".into()) };
        for (shard, shard_files) in last.shards.iter().enumerate() {
            let Some(ShardFile::Journal(name)) = shard_files.last() else { return Err("bad manifest".into()) };
            files.push((paths.file(name), ends.get(shard).copied().flatten()));
        }
    } else {
        let number = manifest.next_generation_number();
        let mut generation = Generation::default();
        for shard in 0..shards {
            let name = paths.journal_name(number, shard, shards);
            generation.shards.push(vec![ShardFile::Journal(name.clone())]);
            files.push((paths.file(&name), None));
        }
        manifest.generations.push(generation);
        // A new generation's files are created empty (with their header) before the
        // manifest names them, so the manifest never names a missing file.
        for (shard, (path, _)) in files.iter().enumerate() {
            super::manifest::write_atomically(path, &format::header(shard, shards))?;
        }
        for (_, end) in files.iter_mut() {
            *end = Some(format::HEADER_LEN);
        }
        manifest.write(&paths.manifest())?;
    }
    if spaces.len() != shards {
        spaces = if spaces.is_empty() {
            (0..shards).map(|_| Keyspace::new(config.databases())).collect()
        } else {
            redistribute(spaces, shards, config.databases())
        };
    }
    if !manifest.generations.is_empty() && keys > 0 {
        log::log(
            Level::Notice,
            &format!("DB loaded from the journal: {keys} keys in {:.3} seconds", started.elapsed().as_secs_f64()),
        );
    }
    let mut starts = Vec::with_capacity(shards);
    for (keyspace, (path, valid_len)) in spaces.into_iter().zip(files) {
        starts.push(Some(ShardStart { keyspace, file: path.display().to_string(), valid_len }));
    }
    Ok(Startup { shards: Mutex::new(starts), functions })
}

/// Moves every live entry of `spaces` to the shard owning its slot among `count`.
fn redistribute(spaces: Vec<Keyspace>, count: usize, databases: usize) -> Vec<Keyspace> {
    let mut out: Vec<Keyspace> = (0..count).map(|_| Keyspace::new(databases)).collect();
    let now = crate::util::now_ms();
    for mut ks in spaces {
        for (d, db) in ks.dbs.iter_mut().enumerate() {
            let mut keys = Vec::with_capacity(db.len());
            db.for_each_live(now, |key, _| keys.push(key.clone()));
            for key in keys {
                if let Some(entry) = db.remove(&key)
                    && let Some(target) = out[key_shard(&key, count)].dbs.get_mut(d)
                {
                    target.insert_quiet(&key, entry);
                }
            }
        }
    }
    out
}

/// The result of loading one generation: the keyspaces, FUNCTION records, and per shard
/// the valid end of its last journal file.
type GenerationLoad = (Vec<Keyspace>, Vec<Vec<Vec<u8>>>, Vec<Option<u64>>);

/// One shard's part of a [`GenerationLoad`].
type ShardLoad = (Keyspace, Vec<Vec<Vec<u8>>>, Option<u64>);

fn load_generation(
    config: &Arc<Config>,
    paths: &Paths,
    generation: &Generation,
    spaces: Vec<Keyspace>,
) -> Result<GenerationLoad, String> {
    let allow_truncated = config.aof_load_truncated();
    // Pass 1: check every file and count each multi-shard group's parts.
    let scans: Vec<Result<HashMap<u64, u32>, String>> = std::thread::scope(|scope| {
        let handles: Vec<_> = generation
            .shards
            .iter()
            .map(|files| {
                scope.spawn(move || {
                    let mut groups: HashMap<u64, u32> = HashMap::new();
                    for file in files {
                        let ShardFile::Journal(name) = file else { continue };
                        let path = paths.file(name);
                        let mut seen_here: Vec<u64> = Vec::new();
                        format::scan_path(&path, allow_truncated, |_, record| {
                            if let Record::Group { tx, participants, .. } = record
                                && participants > 1
                            {
                                seen_here.push(tx);
                            }
                            Ok(())
                        })
                        .map_err(|e| e.describe(&path.display().to_string()))?;
                        for tx in seen_here {
                            *groups.entry(tx).or_default() += 1;
                        }
                    }
                    Ok(groups)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or_else(|_| Err("a loader thread failed".into()))).collect()
    });
    let mut parts: HashMap<u64, u32> = HashMap::new();
    for scan in scans {
        for (tx, n) in scan? {
            *parts.entry(tx).or_default() += n;
        }
    }
    let parts = Arc::new(parts);
    // Pass 2: replay, shard by shard in parallel.
    let results: Vec<Result<ShardLoad, String>> = std::thread::scope(|scope| {
        let handles: Vec<_> = generation
            .shards
            .iter()
            .zip(spaces)
            .map(|(files, ks)| {
                let parts = parts.clone();
                scope.spawn(move || replay_shard(config, paths, files, ks, &parts))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or_else(|_| Err("a loader thread failed".into()))).collect()
    });
    let mut spaces = Vec::new();
    let mut functions = Vec::new();
    let mut ends = Vec::new();
    for result in results {
        let (ks, found, end) = result?;
        spaces.push(ks);
        functions.extend(found);
        ends.push(end);
    }
    Ok((spaces, functions, ends))
}

/// Replays one shard's files into `ks`; returns it, the FUNCTION records found and the
/// valid end of the last journal file (before a dropped tail or incomplete group).
fn replay_shard(
    config: &Arc<Config>,
    paths: &Paths,
    files: &[ShardFile],
    mut ks: Keyspace,
    parts: &HashMap<u64, u32>,
) -> Result<ShardLoad, String> {
    let registry = Registry::build();
    let mut functions = Vec::new();
    let mut end = None;
    for file in files {
        let name = match file {
            ShardFile::Journal(name) => name,
            ShardFile::Base(name) => {
                load_base(config, &paths.file(name), &mut ks, &mut functions)?;
                continue;
            }
        };
        let path = paths.file(name);
        let shown = path.display().to_string();
        // Offset of a trailing group that was skipped as incomplete.
        let mut skipped_tail: Option<u64> = None;
        let (_, scan) = format::scan_path(&path, config.aof_load_truncated(), |offset, record| {
            match record {
                Record::Command(command) => {
                    skipped_tail = None;
                    apply(&mut ks, &registry, config, command, &mut functions)
                }
                Record::Group { tx, participants, commands } => {
                    let present = if participants <= 1 { 1 } else { parts.get(&tx).copied().unwrap_or(0) };
                    if present < participants {
                        log::log(
                            Level::Warning,
                            &format!(
                                "Skipping an incomplete transaction in {shown} at offset {offset}: {present} of its {participants} parts were written before the server stopped"
                            ),
                        );
                        skipped_tail = Some(offset);
                        return Ok(());
                    }
                    skipped_tail = None;
                    for command in commands {
                        apply(&mut ks, &registry, config, command, &mut functions)?;
                    }
                    Ok(())
                }
            }
        })
        .map_err(|e| e.describe(&shown))?;
        report_truncation(&shown, &scan);
        ks.events.clear();
        end = Some(skipped_tail.unwrap_or(scan.valid_len));
    }
    ks.dirty = 0;
    ks.hits = 0;
    ks.misses = 0;
    Ok((ks, functions, end))
}

/// Loads a base snapshot (helper B's per-shard format, written by a journal rewrite) into
/// `ks`: its entries as they are (the journal after it replays at recorded times), its
/// function libraries as a FUNCTION RESTORE ... FLUSH record.
fn load_base(config: &Config, path: &Path, ks: &mut Keyspace, functions: &mut Vec<Vec<Vec<u8>>>) -> Result<(), String> {
    let limits = crate::persist::rdb::LoadLimits::from_config(config);
    let access = crate::shard::Access {
        now_ms: crate::util::now_ms(),
        mode: crate::shard::access_mode(config),
        no_touch: false,
    };
    let databases = ks.dbs.len();
    crate::persist::snapshot::read_shard_file_with(path, &limits, |item| match item {
        crate::persist::snapshot::LoadedItem::Entry { db, key, mut entry, .. } => {
            let Some(target) = ks.dbs.get_mut(db) else {
                return Err(format!("the base holds database {db}, but databases is {databases}"));
            };
            entry.access = access.fresh();
            target.insert_quiet(&key, entry);
            Ok(())
        }
        crate::persist::snapshot::LoadedItem::Functions(payload) => {
            functions.push(vec![b"FUNCTION".to_vec(), b"RESTORE".to_vec(), payload, b"FLUSH".to_vec()]);
            Ok(())
        }
    })
    .map_err(|e| e.to_string())?;
    Ok(())
}

fn report_truncation(file: &str, scan: &Scan) {
    if let Some(at) = scan.truncated_at {
        log::log(
            Level::Warning,
            &format!(
                "!!! Warning: short read while loading the journal {file}: the last record (offset {at}, {} bytes) was cut short. Loaded anyway because aof-load-truncated is enabled; the file is truncated there",
                scan.file_len - at
            ),
        );
    }
}

/// Applies one journaled command to `ks`, as it ran at its recorded time.
fn apply(
    ks: &mut Keyspace,
    registry: &Registry,
    config: &Config,
    command: Command,
    functions: &mut Vec<Vec<Vec<u8>>>,
) -> Result<(), String> {
    let Command { db, time_ms, argv } = command;
    if db >= ks.dbs.len() {
        return Err(format!("a record for database {db}, but databases is {}", ks.dbs.len()));
    }
    let name = argv.first().map(|n| n.to_ascii_lowercase()).unwrap_or_default();
    match name.as_slice() {
        b"flushdb" => ks.dbs[db].clear(),
        b"flushall" => ks.dbs.iter_mut().for_each(|d| d.clear()),
        b"swapdb" => {
            let index = |i: usize| -> Option<usize> { std::str::from_utf8(argv.get(i)?).ok()?.parse().ok() };
            match (index(1), index(2)) {
                (Some(a), Some(b)) if a < ks.dbs.len() && b < ks.dbs.len() => {
                    let (a, b) = (a.min(b), a.max(b));
                    if a != b {
                        let (low, high) = ks.dbs.split_at_mut(b);
                        low[a].swap_contents(&mut high[0]);
                    }
                }
                _ => return Err("a SWAPDB record with bad database indexes".into()),
            }
        }
        b"function" => functions.push(argv),
        _ => {
            let args = OwnedArgs::from_slices(&argv);
            let view = args.view();
            let cmd = crate::server::dispatch::resolve(registry, view)
                .map_err(|e| format!("cannot replay a record: {}", String::from_utf8_lossy(e.text())))?;
            let Some(Handler::Keyed { run, .. }) = cmd.handler else {
                return Err(format!("cannot replay a record of '{}'", String::from_utf8_lossy(&name)));
            };
            let mut ctx = KeyCtx::new(ks, db, config, true, time_ms);
            let _ = run(&mut ctx, view);
        }
    }
    Ok(())
}

/// On shard `node`'s thread at startup: installs its loaded keyspace, opens its journal
/// file and starts the writing tasks. Returns the writer task (awaited at shutdown).
pub async fn install(node: &std::rc::Rc<crate::shard::Node>) -> Result<Option<glommio::task::JoinHandle<()>>, String> {
    let Some(start) = node.shared.journal_startup.take(node.id) else { return Ok(None) };
    let config = node.config();
    let writer =
        crate::persist::journal::Writer::open(node.id, node.shards, &start.file, start.valid_len, config.appendfsync())
            .await?;
    let writer = std::rc::Rc::new(writer);
    {
        let mut state = node.state.borrow_mut();
        let mut keyspace = start.keyspace;
        keyspace.journal = Some(Box::default());
        state.keyspace = keyspace;
        state.aof = crate::persist::journal::AofStats {
            enabled: true,
            last_write_ok: true,
            current_size: writer.appended(),
            base_size: writer.appended(),
            file: start.file.clone(),
            ..Default::default()
        };
    }
    for argv in &node.shared.journal_startup.functions {
        if let Err(e) = crate::cmd::function::replay(argv) {
            log::log(Level::Warning, &format!("Replaying a journaled FUNCTION command failed: {e}"));
        }
    }
    node.set_journal(writer.clone());
    node.shared.save_status.update(|s| s.aof_on = true);
    glommio::spawn_local(crate::persist::journal::Writer::run_everysec(node.clone(), writer.clone())).detach();
    Ok(Some(glommio::spawn_local(crate::persist::journal::Writer::run(node.clone(), writer)).detach()))
}

/// Whether the journal directory of `config` has a manifest (a journal to load).
pub fn has_journal(config: &Config) -> bool {
    Paths::new(config.appenddirname(), config.appendfilename()).manifest().exists()
}

/// Checks that `path` is a journal file of this format (for `check-journal`).
pub fn scan_file(path: &Path, allow_truncated: bool) -> Result<((usize, usize), Scan), ScanError> {
    format::scan_path(path, allow_truncated, |_, _| Ok(()))
}
