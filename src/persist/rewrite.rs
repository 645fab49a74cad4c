//! Journal rewrites (BGREWRITEAOF, `CONFIG SET appendonly yes|no`): each shard's journal
//! is compacted into a base snapshot plus a fresh journal, without blocking, as Redis 7's
//! multi-part AOF does.
//!
//! **Steps.** (1) Per shard, a new journal file is created (header, fsynced) and opened on
//! the shard's thread. (2) The manifest is rewritten to name the old files plus the new
//! journals, so a crash from here on replays old journals then new ones. (3) Every shard
//! is held at once ([`Tx::begin`]) and, in ONE synchronous step per shard, starts its
//! snapshot ([`crate::shard::Keyspace::snapshot_begin`]) and switches its journal to the
//! new file ([`Writer::switch`]): the snapshot holds exactly what the old journals hold.
//! (4) Released, each shard writes its base with [`snapshot::write_shard`] on its own
//! thread while it keeps serving. (5) The manifest is replaced by one naming the new bases
//! and journals (temp file, fsync, rename, directory fsync) and (6) the old files are
//! deleted. A crash before (5) loads the state of (2); after it, the new one.
//!
//! A rewrite and a snapshot (BGSAVE) share each shard's one snapshot slot, so they never
//! run at once: a BGREWRITEAOF during a BGSAVE is scheduled and started by shard 0's cron
//! ([`check`]) when the snapshot is done; a BGSAVE SCHEDULE during a rewrite is picked up
//! by [`crate::persist::save::check_save_rules`] after it.
//!
//! With journaling off, a rewrite writes only the bases (and a manifest naming them).
//! `CONFIG SET appendonly yes` starts journaling through a rewrite (the bases capture the
//! data that exists); `appendonly no` stops it on every shard (the files stay).

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::time::Duration;

use glommio::io::BufferedFile;

use super::journal::{AofStats, Writer, format};
use super::manifest::{Generation, Manifest, Paths, ShardFile};
use super::save::{functions_are_empty, remove_files, run_blocking};
use super::snapshot;
use super::status::SaveState;
use crate::server::log::{self, Level};
use crate::shard::Node;
use crate::shard::coord::Tx;
use crate::util::join_all;

thread_local! {
    /// The new journal file opened on this shard's thread, waiting for the switch.
    static PREPARED: RefCell<Option<(BufferedFile, String)>> = const { RefCell::new(None) };
}

/// What BGREWRITEAOF did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Requested {
    /// The rewrite started.
    Started,
    /// A snapshot is running: the rewrite starts when it is done.
    Scheduled,
}

/// A rewrite is running already.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AlreadyRunning;

/// BGREWRITEAOF: starts a rewrite in the background on this thread, or schedules it
/// while a snapshot runs.
pub fn request(node: &Rc<Node>) -> Result<Requested, AlreadyRunning> {
    let outcome = node.shared.save_status.update(|s| {
        if s.aof_rewrite_in_progress {
            return Err(AlreadyRunning);
        }
        if s.in_progress {
            s.aof_rewrite_scheduled = true;
            return Ok(Requested::Scheduled);
        }
        mark_started(s);
        Ok(Requested::Started)
    })?;
    if outcome == Requested::Started {
        spawn(node);
    }
    Ok(outcome)
}

fn mark_started(s: &mut super::status::SaveState) {
    s.aof_rewrite_in_progress = true;
    s.aof_rewrite_scheduled = false;
    s.aof_rewrite_started = crate::util::now_ms() / 1000;
}

fn spawn(node: &Rc<Node>) {
    let node = node.clone();
    glommio::spawn_local(async move { run(&node).await }).detach();
}

/// Called by shard 0's cron: starts a scheduled rewrite once no snapshot runs, and
/// follows `CONFIG SET appendonly` (a rewrite to start journaling, or stopping it).
pub fn check(node: &Rc<Node>) {
    let config = node.config();
    let status = &node.shared.save_status;
    let state = status.state();
    if !state.loaded || state.aof_rewrite_in_progress {
        return;
    }
    if !config.appendonly() && state.aof_on {
        status.update(|s| s.aof_on = false);
        let node = node.clone();
        glommio::spawn_local(async move { stop_journaling(&node).await }).detach();
        return;
    }
    let wanted = state.aof_rewrite_scheduled || (config.appendonly() && !state.aof_on) || grown_enough(node, &state);
    if !wanted {
        return;
    }
    let start = status.update(|s| {
        if s.in_progress || s.aof_rewrite_in_progress {
            s.aof_rewrite_scheduled = true;
            return false;
        }
        mark_started(s);
        true
    });
    if start {
        spawn(node);
    }
}

/// Whether the journals grew enough since the last rewrite (or startup) for an automatic
/// one: by `auto-aof-rewrite-percentage` percent of that size, and past
/// `auto-aof-rewrite-min-size` in all (Redis's rule; a percentage of 0 turns it off).
fn grown_enough(node: &Node, state: &SaveState) -> bool {
    let config = node.config();
    let percentage = config.auto_aof_rewrite_percentage();
    if !state.aof_on || percentage == 0 || state.in_progress {
        return false;
    }
    let status = &node.shared.save_status;
    let current = state.aof_base_bytes + status.journal_bytes();
    let Some(base) = state.aof_rewrite_base_size else {
        // First look after startup: measure the bases the manifest names, then start counting.
        let paths = Paths::new(config.appenddirname(), config.appendfilename());
        let base_bytes = base_files_bytes(&paths);
        status.update(|s| {
            s.aof_base_bytes = base_bytes;
            s.aof_rewrite_base_size = Some(base_bytes + status.journal_bytes());
        });
        return false;
    };
    if current < config.auto_aof_rewrite_min_size() {
        return false;
    }
    let growth = (current * 100 / base.max(1)).saturating_sub(100);
    if growth < percentage {
        return false;
    }
    log::log(Level::Notice, &format!("Starting automatic rewriting of AOF on {growth}% growth"));
    true
}

/// Bytes of the base snapshots the manifest names (0 without a manifest).
fn base_files_bytes(paths: &Paths) -> u64 {
    let Ok(Some(manifest)) = Manifest::read(&paths.manifest()) else { return 0 };
    let mut total = 0;
    for generation in &manifest.generations {
        for files in &generation.shards {
            for file in files {
                if let ShardFile::Base(name) = file {
                    total += std::fs::metadata(paths.file(name)).map(|m| m.len()).unwrap_or(0);
                }
            }
        }
    }
    total
}

/// Runs one rewrite and records how it went.
async fn run(node: &Rc<Node>) {
    let began = std::time::Instant::now();
    log::log(Level::Notice, "Background append only file rewriting started");
    let result = rewrite(node).await;
    let seconds = began.elapsed().as_secs() as i64;
    node.shared.save_status.update(|s| {
        s.aof_rewrite_in_progress = false;
        s.aof_rewrite_started = -1;
        s.aof_last_rewrite_duration = seconds;
        match &result {
            Ok(()) => {
                s.aof_last_rewrite_ok = true;
                s.aof_rewrites += 1;
                s.aof_rewrite_failures = 0;
            }
            Err(_) => {
                s.aof_last_rewrite_ok = false;
                s.aof_rewrite_failures += 1;
            }
        }
    });
    match result {
        Ok(()) => log::log(
            Level::Notice,
            &format!("Background AOF rewrite finished successfully ({} ms)", began.elapsed().as_millis()),
        ),
        Err(e) => log::log(Level::Warning, &format!("Background AOF rewrite failed: {e}")),
    }
}

type TaskFuture<T> = Pin<Box<dyn Future<Output = T>>>;

async fn rewrite(node: &Rc<Node>) -> Result<(), String> {
    let config = node.config();
    let shards = node.shards;
    let paths = Paths::new(config.appenddirname(), config.appendfilename());
    let journaling = node.shared.save_status.state().aof_on;
    // Journal after the rewrite: every shard switches (or, CONFIG SET appendonly yes, starts).
    let enable = journaling || config.appendonly();
    let stamp = crate::util::now_ms();
    let prefix = paths.prefix.clone();
    let journal_names: Vec<String> = (0..shards).map(|i| format!("{prefix}.{stamp}.{i}of{shards}.jrnl")).collect();
    let base_names: Vec<String> = (0..shards).map(|i| format!("{prefix}.{stamp}.{i}of{shards}.base")).collect();

    // (1) New journal files, fsynced with their header; the old manifest.
    let old = {
        let paths = paths.clone();
        let names = if enable { journal_names.clone() } else { Vec::new() };
        run_blocking(move || {
            std::fs::create_dir_all(&paths.dir)
                .map_err(|e| format!("Can't create the journal directory {}: {e}", paths.dir.display()))?;
            for (shard, name) in names.iter().enumerate() {
                super::manifest::write_atomically(&paths.file(name), &format::header(shard, shards))?;
            }
            Manifest::read(&paths.manifest())
        })
        .await?
    };
    if enable {
        let mut opens = Vec::new();
        for (shard, name) in journal_names.iter().enumerate() {
            let path = paths.file(name).display().to_string();
            opens.push(node.run_task_on(shard, move |node: Rc<Node>| {
                Box::pin(async move {
                    // A previous switch's old file must be retired before the next switch.
                    while node.journal().is_some_and(|w| w.is_switching()) {
                        glommio::timer::sleep(Duration::from_millis(1)).await;
                    }
                    let file = Writer::open_new_file(&path).await?;
                    PREPARED.with(|p| *p.borrow_mut() = Some((file, path)));
                    Ok(())
                }) as TaskFuture<Result<(), String>>
            }));
        }
        let opened = join_all(opens).await;
        let failure = opened.into_iter().find_map(|r| match r {
            Ok(Ok(())) => None,
            Ok(Err(e)) => Some(e),
            Err(e) => Some(format!("a shard is unavailable: {e:?}")),
        });
        if let Some(e) = failure {
            discard(node, &paths, &journal_names, &base_names).await;
            return Err(e);
        }
    }

    // (2) The old files plus the new journals, in load order.
    let mut old_files: Vec<String> = Vec::new();
    if let Some(manifest) = &old {
        for generation in &manifest.generations {
            for files in &generation.shards {
                for file in files {
                    let (ShardFile::Base(name) | ShardFile::Journal(name)) = file;
                    old_files.push(name.clone());
                }
            }
        }
    }
    if journaling && let Some(manifest) = &old {
        let mut next = manifest.clone();
        match next.generations.last_mut() {
            Some(last) if last.shard_count() == shards => {
                for (files, name) in last.shards.iter_mut().zip(&journal_names) {
                    files.push(ShardFile::Journal(name.clone()));
                }
            }
            _ => {
                discard(node, &paths, &journal_names, &base_names).await;
                return Err("the journal manifest does not match the running shards".into());
            }
        }
        let path = paths.manifest();
        if let Err(e) = run_blocking(move || next.write(&path)).await {
            discard(node, &paths, &journal_names, &base_names).await;
            return Err(e);
        }
    }

    // (3) The point in time: every shard starts its snapshot and switches its journal.
    let tx = match Tx::begin(node, 0..shards).await {
        Ok(tx) => tx,
        Err(e) => {
            discard(node, &paths, &journal_names, &base_names).await;
            return Err(format!("cannot hold the shards: {e:?}"));
        }
    };
    let mut steps = Vec::new();
    for _ in 0..shards {
        steps.push(None);
    }
    let fsync = config.appendfsync();
    let mut begins = Vec::new();
    for shard in 0..shards {
        begins.push(tx.run(shard, move |state| -> Result<(), String> {
            let node = Node::current().ok_or("no shard on this thread")?;
            if !state.keyspace.snapshot_begin() {
                return Err("a snapshot is already running on a shard".into());
            }
            if !enable {
                return Ok(());
            }
            let Some((file, path)) = PREPARED.with(|p| p.borrow_mut().take()) else {
                return Err("the new journal file was not opened".into());
            };
            match node.journal() {
                Some(writer) => {
                    // Records of earlier commands still waiting belong to the old file.
                    if let Some(pending) = state.keyspace.journal.as_deref_mut()
                        && !pending.is_empty()
                    {
                        let (bodies, _) = pending.take();
                        writer.append_records(&bodies);
                    }
                    if !writer.switch(file, path.clone()) {
                        return Err("the journal is still switching files".into());
                    }
                }
                None => {
                    let writer = Rc::new(Writer::new(node.id, file, path.clone(), format::HEADER_LEN, fsync));
                    state.keyspace.journal = Some(Box::default());
                    node.set_journal(writer.clone());
                    glommio::spawn_local(Writer::run_everysec(node.clone(), writer.clone())).detach();
                    glommio::spawn_local(Writer::run(node.clone(), writer)).detach();
                    state.aof = AofStats { enabled: true, last_write_ok: true, ..AofStats::default() };
                }
            }
            state.aof.file = path;
            state.aof.current_size = format::HEADER_LEN;
            state.aof.base_size = format::HEADER_LEN;
            Ok(())
        }));
    }
    let begun = join_all(begins).await;
    let functions = crate::cmd::scripting::engine().function_dump();
    drop(tx);
    let mut failure = None;
    for (shard, result) in begun.into_iter().enumerate() {
        match result {
            Ok(Ok(())) => steps[shard] = Some(()),
            Ok(Err(e)) => failure = Some(e),
            Err(e) => failure = Some(format!("shard {shard} unavailable: {e:?}")),
        }
    }
    if enable {
        node.shared.save_status.update(|s| s.aof_on = true);
    }
    if let Some(e) = failure {
        // Shards whose snapshot began must walk it to its end; writing nowhere does that.
        abandon_snapshots(node, &steps).await;
        return Err(e);
    }

    // (4) Each shard writes its base on its own thread.
    let shard0_functions = (!functions_are_empty(&functions)).then_some(functions);
    let base_paths = base_names.iter().map(|name| paths.file(name)).collect();
    let mut base_bytes = 0;
    let failure =
        snapshot::write_all_shards(node, base_paths, stamp, shard0_functions).await.into_iter().find_map(|result| {
            match result {
                Ok(stats) => {
                    base_bytes += stats.bytes;
                    None
                }
                Err(e) => Some(e),
            }
        });
    if let Some(e) = failure {
        // The manifest of step (2) stays: old journals then new ones.
        remove_files(base_names.iter().map(|n| paths.file(n)).collect()).await;
        return Err(e);
    }

    // (5) The new manifest: bases and new journals only. (6) The old files go.
    let mut generation = Generation::default();
    for shard in 0..shards {
        let mut files = vec![ShardFile::Base(base_names[shard].clone())];
        if enable {
            files.push(ShardFile::Journal(journal_names[shard].clone()));
        }
        generation.shards.push(files);
    }
    let manifest = Manifest { generations: vec![generation] };
    let dir = paths.dir.clone();
    let path = paths.manifest();
    let keep: Vec<String> = base_names.iter().chain(journal_names.iter()).cloned().collect();
    run_blocking(move || {
        super::manifest::sync_dir(&dir)?;
        manifest.write(&path)?;
        for name in old_files.iter().filter(|n| !keep.contains(n)) {
            let _ = std::fs::remove_file(dir.join(name));
        }
        Ok(())
    })
    .await?;
    // Growth is measured from here: the new journals hold only their headers (the sizes
    // the shards published last are the old journals' until their crons run again).
    let status = &node.shared.save_status;
    status.reset_journal_bytes();
    status.update(|s| {
        s.aof_base_bytes = base_bytes;
        s.aof_rewrite_base_size = Some(base_bytes);
    });
    Ok(())
}

/// Undoes step (1): drops the opened files and deletes the new ones.
async fn discard(node: &Rc<Node>, paths: &Paths, journals: &[String], bases: &[String]) {
    let mut drops = Vec::new();
    for shard in 0..node.shards {
        drops.push(node.run_task_on(shard, |_node: Rc<Node>| {
            Box::pin(async {
                PREPARED.with(|p| p.borrow_mut().take());
            }) as TaskFuture<()>
        }));
    }
    join_all(drops).await;
    let names: Vec<String> = journals.iter().chain(bases).cloned().collect();
    remove_files(names.iter().map(|n| paths.file(n)).collect()).await;
}

/// Walks the snapshots begun on the shards marked in `begun` to their end without writing.
async fn abandon_snapshots(node: &Rc<Node>, begun: &[Option<()>]) {
    let mut walks = Vec::new();
    for (shard, started) in begun.iter().enumerate() {
        if started.is_none() {
            continue;
        }
        walks.push(node.run_on(shard, None, |state: &mut crate::shard::ShardState| {
            state.keyspace.snapshot_abort();
        }));
    }
    join_all(walks).await;
}

/// `CONFIG SET appendonly no`: every shard stops journaling once what it appended is
/// written and fsynced; the files stay (a later `appendonly yes` rewrites them).
async fn stop_journaling(node: &Rc<Node>) {
    let mut stops = Vec::new();
    for shard in 0..node.shards {
        stops.push(node.run_task_on(shard, |node: Rc<Node>| {
            Box::pin(async move {
                let Some(writer) = node.journal() else { return };
                {
                    let mut state = node.state.borrow_mut();
                    if let Some(pending) = state.keyspace.journal.as_deref_mut()
                        && !pending.is_empty()
                    {
                        let (bodies, _) = pending.take();
                        writer.append_records(&bodies);
                    }
                    state.keyspace.journal = None;
                    state.aof.enabled = false;
                }
                writer.stop();
                writer.finished().await;
                node.clear_journal();
            }) as TaskFuture<()>
        }));
    }
    join_all(stops).await;
    log::log(Level::Notice, "Journaling stopped (appendonly no): the journal files stay as they are");
}
