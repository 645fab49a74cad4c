//! Moving data to and from Redis: one Redis-loadable RDB file from a snapshot's per-shard
//! files (`snapshot-format rdb`), and loading a Redis RDB file at startup (`--import-rdb`,
//! or `dbfilename` naming one).

use std::io::{BufReader, BufWriter};
use std::path::{Path, PathBuf};

use super::rdb::LoadLimits;
use super::rdb::file::{Item, RdbReader, RdbWriter};
use super::snapshot::{self, LoadedItem};
use crate::shard::Entry;

/// Writes one Redis RDB file at `dest` holding every entry of the per-shard snapshot files
/// `shard_files` and the libraries of the FUNCTION DUMP payload `functions`. Crash-safe:
/// written to a temp file, fsynced, renamed over `dest`, the directory fsynced.
pub fn write_rdb(shard_files: &[PathBuf], functions: &[u8], dest: &Path, compress: bool) -> Result<(), String> {
    let dir = dest.parent().unwrap_or(Path::new("."));
    let name = dest.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let temp = dir.join(format!("{name}.tmp-rdb-{}", std::process::id()));
    let result = write_rdb_file(shard_files, functions, &temp, compress).and_then(|()| {
        std::fs::rename(&temp, dest).map_err(|e| format!("cannot rename {}: {e}", temp.display()))?;
        super::manifest::sync_dir(dir)
    });
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}

fn write_rdb_file(shard_files: &[PathBuf], functions: &[u8], path: &Path, compress: bool) -> Result<(), String> {
    let io = |e: std::io::Error| format!("cannot write {}: {e}", path.display());
    let file = std::fs::File::create(path).map_err(io)?;
    let mut writer = RdbWriter::new(BufWriter::with_capacity(1 << 20, file)).map_err(io)?;
    writer.set_compression(compress);
    writer.standard_aux(crate::util::now_ms() / 1000, 0, false).map_err(io)?;
    let codes = crate::script::function::parse_payload(functions)?;
    for code in &codes {
        writer.function(code).map_err(io)?;
    }
    // Entries are grouped by database inside each shard's file; the writer emits SELECTDB
    // whenever the database changes, which Redis's loader accepts in any order.
    for shard_file in shard_files {
        let mut failure = None;
        snapshot::read_shard_file(shard_file, |item| {
            if let LoadedItem::Entry { db, key, entry, .. } = item
                && let Err(e) = writer.entry(db, &key, &entry.value, entry.expire_at)
            {
                failure = Some(io(e));
                return Err("write failed");
            }
            Ok(())
        })
        .map_err(|e| failure.take().unwrap_or_else(|| e.to_string()))?;
    }
    let buffered = writer.finish().map_err(io)?;
    let file = buffered.into_inner().map_err(|e| io(e.into_error()))?;
    file.sync_all().map_err(io)?;
    Ok(())
}

/// Reads the Redis RDB file at `path`, calling `insert(db, key, entry)` for every key
/// (expired ones included: the caller drops them), and returns the FUNCTION DUMP payload of
/// its function libraries, if it has any. Errors name the file and the byte offset.
pub fn read_rdb(
    path: &Path,
    limits: LoadLimits,
    mut insert: impl FnMut(usize, &[u8], Entry) -> Result<(), String>,
) -> Result<Option<Vec<u8>>, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    let mut reader = RdbReader::with_limits(BufReader::with_capacity(1 << 20, file), limits)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let mut codes = Vec::new();
    while let Some(item) = reader.next_item().map_err(|e| format!("{}: {e}", path.display()))? {
        match item {
            Item::Entry { db, key, value, expire_at_ms, .. } => {
                let entry = Entry { value, expire_at: expire_at_ms, access: 0 };
                insert(db, &key, entry)?;
            }
            Item::Function(code) => codes.push(bytes::Bytes::from(code)),
            Item::Aux { .. } | Item::SelectDb(_) | Item::ResizeDb { .. } => {}
        }
    }
    Ok((!codes.is_empty()).then(|| crate::script::function::dump_payload(&codes)))
}
