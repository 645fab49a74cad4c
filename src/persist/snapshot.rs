//! tallkv's per-shard snapshot file: what one shard held at one point in time.
//!
//! A snapshot is taken without fork while the shard goes on serving (see
//! [`crate::shard::snapshot`]): the caller starts it on every shard at one consistent
//! point ([`Keyspace::snapshot_begin`]), then [`write_shard`] runs on each shard's own
//! thread and streams that shard's entries to a file in small steps, yielding to the
//! executor between them.
//!
//! # Format (version 1; integers little-endian)
//!
//! ```text
//! header   "TALLKVSNAP" | version u32 | shard u32 | shards u32 | created_ms i64 | crc64 u64
//! block*   kind u8 | payload length u64 | payload | crc64 u64 (of kind, length and payload)
//! ```
//!
//! Block kinds:
//! - [`KIND_ENTRIES`] (about 64 KiB each): entry count u32, then per entry
//!   `db u16 | slot u16 | expire_at i64 (-1: none) | RDB type u8 | key | value`, key and
//!   value in Redis's RDB string and value encodings ([`crate::persist::rdb`]).
//! - [`KIND_FUNCTIONS`]: a FUNCTION DUMP payload (the function libraries), opaque here.
//! - [`KIND_END`], last: the number of databases u16, then entries per database u64 each,
//!   then the number of entry blocks u64. The file ends right after it.
//!
//! Every block is checksummed (Redis's CRC-64), so corruption is found and reported with
//! the file name and the offset of the block; a file without its end block was cut short
//! (snapshots are written whole, then renamed, so that is an error too). Entries carry
//! their hash slot, so a server started with another number of shards can send each to
//! the shard that owns it. Expired entries not reclaimed when the snapshot began are in
//! the file with their TTL; the loader hands them over as they are (a journal tail replayed
//! after the snapshot runs each record at the time it ran, when they were still alive).

use std::cell::RefCell;
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::persist::rdb::{self, LoadLimits, RdbError};
use crate::shard::db::{Entry, NO_EXPIRE};
use crate::shard::snapshot::Step;
use crate::shard::{Keyspace, Node};
use crate::util::crc64::crc64;

/// The first bytes of every snapshot file.
pub const MAGIC: &[u8; 10] = b"TALLKVSNAP";
/// The format version written (and the only one read).
pub const FORMAT_VERSION: u32 = 1;
/// A block of entries.
pub const KIND_ENTRIES: u8 = 1;
/// A block holding a FUNCTION DUMP payload.
pub const KIND_FUNCTIONS: u8 = 2;
/// The last block: counts.
pub const KIND_END: u8 = 0xFF;

/// Bytes of the file header.
const HEADER_LEN: usize = MAGIC.len() + 4 + 4 + 4 + 8 + 8;
/// Bytes before a block's payload (kind, length).
const BLOCK_HEAD: usize = 1 + 8;
/// Bytes of a block's checksum.
const BLOCK_CRC: usize = 8;
/// Bytes of an entry's fixed part (db, slot, expiry, type).
const ENTRY_FIXED: usize = 2 + 2 + 8 + 1;
/// An entries block is sealed once its payload reaches this size.
const BLOCK_TARGET: usize = 64 << 10;
/// Sealed blocks are written to the file in writes of about this size.
const WRITE_TARGET: usize = 1 << 20;
/// Table positions walked between two looks at the clock.
const STEP_POSITIONS: usize = 64;
/// The longest the writer keeps the shard busy before yielding to its other tasks.
const SLICE: Duration = Duration::from_micros(500);

/// What the file says about itself, written in its header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnapshotMeta {
    /// The shard whose entries the file holds.
    pub shard: usize,
    /// How many shards the server had.
    pub shards: usize,
    /// When the snapshot was taken (Unix ms).
    pub created_ms: i64,
}

/// What [`write_shard`] wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SnapshotStats {
    /// Entries written.
    pub entries: u64,
    /// Entries written per database.
    pub per_db: Vec<u64>,
    /// Of those, entries that changed during the snapshot and were saved aside first.
    pub preserved: u64,
    /// Entry blocks written.
    pub blocks: u64,
    /// Bytes of the file.
    pub bytes: u64,
}

/// What [`read_shard_file`] found in a file's header and end block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotInfo {
    /// The shard and shard count, and the creation time, from the header.
    pub meta: SnapshotMeta,
    /// The format version.
    pub version: u32,
    /// Entries read.
    pub entries: u64,
    /// Entries read per database (as many databases as the writer had).
    pub per_db: Vec<u64>,
    /// Whether the file holds function libraries.
    pub functions: bool,
    /// Bytes of the file.
    pub bytes: u64,
}

/// One thing read from a snapshot file.
#[derive(Debug)]
pub enum LoadedItem {
    /// An entry (expired ones included: see the module documentation). Its access data
    /// is 0; the loader sets what its eviction policy wants.
    Entry {
        /// Its database.
        db: usize,
        /// The hash slot of its key ([`crate::shard::slot::key_slot`]).
        slot: u16,
        /// Its key.
        key: Vec<u8>,
        /// Its value and expiry.
        entry: Entry,
    },
    /// A FUNCTION DUMP payload with the function libraries.
    Functions(Vec<u8>),
}

/// Why a snapshot file could not be written or read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SnapshotError {
    /// [`write_shard`] was called on a shard with no snapshot running.
    NotStarted,
    /// An I/O error (`op` says what was being done).
    Io {
        /// The file.
        path: PathBuf,
        /// What failed ("create", "write", "read", "fsync", ...).
        op: &'static str,
        /// The system's error.
        message: String,
    },
    /// The file is not a valid snapshot: what is wrong, and where.
    Corrupt {
        /// The file.
        path: PathBuf,
        /// The byte offset of the block (or header) at fault.
        offset: u64,
        /// What is wrong.
        what: String,
    },
    /// The loader's sink refused an item read at `offset`.
    Sink {
        /// The file.
        path: PathBuf,
        /// The offset of the block holding the item.
        offset: u64,
        /// The sink's error.
        message: String,
    },
}

impl fmt::Display for SnapshotError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SnapshotError::NotStarted => f.write_str("no snapshot was started on this shard"),
            SnapshotError::Io { path, op, message } => write!(f, "{op} {}: {message}", path.display()),
            SnapshotError::Corrupt { path, offset, what } => {
                write!(f, "bad snapshot file {} at offset {offset}: {what}", path.display())
            }
            SnapshotError::Sink { path, offset, message } => {
                write!(f, "loading {} (block at offset {offset}): {message}", path.display())
            }
        }
    }
}

impl std::error::Error for SnapshotError {}

fn io_error(path: &Path, op: &'static str, e: impl fmt::Display) -> SnapshotError {
    SnapshotError::Io { path: path.to_path_buf(), op, message: e.to_string() }
}

// ---------------------------------------------------------------------------------------
// Encoding

/// The file header.
fn encode_header(meta: &SnapshotMeta, out: &mut Vec<u8>) {
    let start = out.len();
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&(meta.shard as u32).to_le_bytes());
    out.extend_from_slice(&(meta.shards as u32).to_le_bytes());
    out.extend_from_slice(&meta.created_ms.to_le_bytes());
    let crc = crc64(0, &out[start..]);
    out.extend_from_slice(&crc.to_le_bytes());
}

/// Appends a whole block of `kind` with `payload`.
fn encode_block(kind: u8, payload: &[u8], out: &mut Vec<u8>) {
    let start = out.len();
    out.push(kind);
    out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    out.extend_from_slice(payload);
    let crc = crc64(0, &out[start..]);
    out.extend_from_slice(&crc.to_le_bytes());
}

/// Builds entry blocks: entries go into the open block, sealed blocks into `out`.
struct Encoder {
    /// Sealed blocks not written yet.
    out: Vec<u8>,
    /// The open block's payload (starting with a placeholder for the entry count).
    block: Vec<u8>,
    /// Entries in the open block.
    in_block: u32,
    stats: SnapshotStats,
}

impl Encoder {
    fn new(databases: usize) -> Encoder {
        let mut encoder = Encoder {
            out: Vec::with_capacity(WRITE_TARGET + BLOCK_TARGET * 2),
            block: Vec::with_capacity(BLOCK_TARGET * 2),
            in_block: 0,
            stats: SnapshotStats { per_db: vec![0; databases], ..SnapshotStats::default() },
        };
        encoder.block.extend_from_slice(&0u32.to_le_bytes());
        encoder
    }

    /// Adds one entry of database `db`.
    fn entry(&mut self, db: usize, key: &[u8], entry: &Entry) {
        let block = &mut self.block;
        block.extend_from_slice(&(db as u16).to_le_bytes());
        block.extend_from_slice(&crate::shard::slot::key_slot(key).to_le_bytes());
        block.extend_from_slice(&entry.expire_at.to_le_bytes());
        let type_at = block.len();
        block.push(0);
        rdb::write_string_opts(key, block, false);
        block[type_at] = rdb::write_value_opts(&entry.value, block, false);
        self.in_block += 1;
        self.stats.entries += 1;
        if let Some(count) = self.stats.per_db.get_mut(db) {
            *count += 1;
        }
        if self.block.len() >= BLOCK_TARGET || self.in_block == u32::MAX {
            self.seal();
        }
    }

    /// Closes the open block (if it holds entries) into `out`.
    fn seal(&mut self) {
        if self.in_block == 0 {
            return;
        }
        self.block[..4].copy_from_slice(&self.in_block.to_le_bytes());
        encode_block(KIND_ENTRIES, &self.block, &mut self.out);
        self.block.clear();
        self.block.extend_from_slice(&0u32.to_le_bytes());
        self.in_block = 0;
        self.stats.blocks += 1;
    }

    /// Seals the last entries and appends the end block.
    fn finish(&mut self) {
        self.seal();
        let mut payload = Vec::with_capacity(2 + 8 * self.stats.per_db.len() + 8);
        payload.extend_from_slice(&(self.stats.per_db.len() as u16).to_le_bytes());
        for count in &self.stats.per_db {
            payload.extend_from_slice(&count.to_le_bytes());
        }
        payload.extend_from_slice(&self.stats.blocks.to_le_bytes());
        encode_block(KIND_END, &payload, &mut self.out);
    }
}

// ---------------------------------------------------------------------------------------
// Writing

/// Where the writer finds the shard's keyspace: borrowed only inside synchronous steps.
trait KeyspaceHost {
    fn with_keyspace<R>(&self, f: impl FnOnce(&mut Keyspace) -> R) -> R;
    /// Abandons the snapshot if the keyspace can be borrowed now (from a destructor).
    fn try_abort(&self);
}

impl KeyspaceHost for Node {
    fn with_keyspace<R>(&self, f: impl FnOnce(&mut Keyspace) -> R) -> R {
        f(&mut self.state.borrow_mut().keyspace)
    }

    fn try_abort(&self) {
        if let Ok(mut state) = self.state.try_borrow_mut() {
            state.keyspace.snapshot_abort();
        }
    }
}

impl KeyspaceHost for RefCell<Keyspace> {
    fn with_keyspace<R>(&self, f: impl FnOnce(&mut Keyspace) -> R) -> R {
        f(&mut self.borrow_mut())
    }

    fn try_abort(&self) {
        if let Ok(mut ks) = self.try_borrow_mut() {
            ks.snapshot_abort();
        }
    }
}

/// Abandons the snapshot if the writer is dropped before it finished (a cancelled task).
struct AbortGuard<'a, H: KeyspaceHost> {
    host: &'a H,
    armed: bool,
}

impl<H: KeyspaceHost> Drop for AbortGuard<'_, H> {
    fn drop(&mut self) {
        if self.armed {
            self.host.try_abort();
        }
    }
}

/// Writes this shard's snapshot to `path` (created or truncated) and fsyncs it; returns
/// what it wrote. Runs on the shard's own thread, after the caller started the snapshot
/// with [`Keyspace::snapshot_begin`]; serves as the snapshot's walker until it is done,
/// in steps of at most about half a millisecond, yielding to the shard's other tasks
/// between them. On an error the snapshot is still walked to its end (without writing)
/// so the shard is ready for the next one. Temp names, renames and directory fsyncs are
/// the caller's; a file left incomplete by an error is removed.
pub async fn write_shard(node: &Node, path: &Path, meta: SnapshotMeta) -> Result<SnapshotStats, SnapshotError> {
    write_from(node, path, meta, None).await
}

/// As [`write_shard`], with the function libraries (a FUNCTION DUMP payload) in the file.
pub async fn write_shard_with_functions(
    node: &Node,
    path: &Path,
    meta: SnapshotMeta,
    functions: &[u8],
) -> Result<SnapshotStats, SnapshotError> {
    write_from(node, path, meta, Some(functions)).await
}

/// Has every shard write its own file, on its own thread and at the same time, once each
/// shard's snapshot has begun (SAVE/BGSAVE and journal rewrites): shard `i` writes
/// `paths[i]`, shard 0's file also holds `shard0_functions` if given. Returns each shard's
/// outcome, by shard.
pub async fn write_all_shards(
    node: &std::rc::Rc<Node>,
    paths: Vec<std::path::PathBuf>,
    created_ms: i64,
    shard0_functions: Option<Vec<u8>>,
) -> Vec<Result<SnapshotStats, String>> {
    let shards = paths.len();
    let mut writes = Vec::with_capacity(shards);
    for (shard, path) in paths.into_iter().enumerate() {
        let functions = if shard == 0 { shard0_functions.clone() } else { None };
        let meta = SnapshotMeta { shard, shards, created_ms };
        writes.push(node.run_task_on(shard, move |node: std::rc::Rc<Node>| {
            Box::pin(async move {
                let written = match &functions {
                    Some(payload) => write_shard_with_functions(&node, &path, meta, payload).await,
                    None => write_shard(&node, &path, meta).await,
                };
                written.map_err(|e| e.to_string())
            }) as std::pin::Pin<Box<dyn std::future::Future<Output = Result<SnapshotStats, String>>>>
        }));
    }
    crate::util::join_all(writes)
        .await
        .into_iter()
        .enumerate()
        .map(|(shard, result)| result.unwrap_or_else(|e| Err(format!("shard {shard} is unavailable: {e:?}"))))
        .collect()
}

async fn write_from<H: KeyspaceHost>(
    host: &H,
    path: &Path,
    meta: SnapshotMeta,
    functions: Option<&[u8]>,
) -> Result<SnapshotStats, SnapshotError> {
    // glommio polls a spawned task at once, maybe inside its spawner's borrow of the
    // shard's state: touch the keyspace only from the second poll on.
    yield_now().await;
    let (running, databases) = host.with_keyspace(|ks| (ks.snapshot_running(), ks.dbs.len()));
    if !running {
        return Err(SnapshotError::NotStarted);
    }
    let mut guard = AbortGuard { host, armed: true };
    let result = write_steps(host, path, meta, functions, databases).await;
    if result.is_err() {
        // Finish the walk without writing: cheap, and never a long pause.
        loop {
            let step = host.with_keyspace(|ks| {
                for p in ks.take_preserved() {
                    crate::util::lazyfree::release(p.entry.value);
                }
                let start = Instant::now();
                loop {
                    if ks.snapshot_step(STEP_POSITIONS * 16, |_, _, _| {}) == Step::Done {
                        return Step::Done;
                    }
                    if start.elapsed() >= SLICE {
                        return Step::More;
                    }
                }
            });
            if step == Step::Done {
                break;
            }
            yield_now().await;
        }
    }
    guard.armed = false;
    result
}

/// Lets every other task of the shard run, and the executor poll its sockets and its
/// channels from other shards. A task that only yields stays runnable, and glommio polls
/// I/O only once no task is runnable or its preemption timer (100 ms) fires: requests
/// forwarded from other shards waited for the whole snapshot (p50 of seconds in
/// BENCHMARKS.md's first run). A timer of 1 µs makes the writer wait for the next poll.
async fn yield_now() {
    glommio::timer::sleep(Duration::from_micros(1)).await;
}

async fn write_steps<H: KeyspaceHost>(
    host: &H,
    path: &Path,
    meta: SnapshotMeta,
    functions: Option<&[u8]>,
    databases: usize,
) -> Result<SnapshotStats, SnapshotError> {
    let file = glommio::io::BufferedFile::create(path).await.map_err(|e| io_error(path, "create", e))?;
    let mut pos = 0u64;
    let mut encoder = Encoder::new(databases);
    encode_header(&meta, &mut encoder.out);
    if let Some(payload) = functions {
        encode_block(KIND_FUNCTIONS, payload, &mut encoder.out);
    }
    let result = async {
        loop {
            let done = host.with_keyspace(|ks| {
                let start = Instant::now();
                for p in ks.take_preserved() {
                    encoder.entry(p.db, &p.key, &p.entry);
                    encoder.stats.preserved += 1;
                    crate::util::lazyfree::release(p.entry.value);
                }
                while encoder.out.len() < WRITE_TARGET {
                    let step = ks.snapshot_step(STEP_POSITIONS, |db, key, entry| encoder.entry(db, key, entry));
                    if step == Step::Done {
                        return true;
                    }
                    if start.elapsed() >= SLICE {
                        break;
                    }
                }
                false
            });
            if done {
                encoder.finish();
            }
            if done || encoder.out.len() >= WRITE_TARGET {
                let chunk = std::mem::replace(&mut encoder.out, Vec::with_capacity(WRITE_TARGET + BLOCK_TARGET * 2));
                pos += write_all(&file, path, chunk, pos).await?;
            }
            if done {
                return Ok(());
            }
            yield_now().await;
        }
    }
    .await;
    let result = match result {
        Ok(()) => file.fdatasync().await.map_err(|e| io_error(path, "fsync", e)),
        Err(e) => Err(e),
    };
    if result.is_err() {
        // A partial file is of no use to anyone.
        let _ = file.remove().await;
    }
    let closed = file.close().await.map_err(|e| io_error(path, "close", e));
    result?;
    closed?;
    encoder.stats.bytes = pos;
    Ok(encoder.stats)
}

/// Writes `chunk` at `pos` through io_uring; the number of bytes written. A write to a
/// regular file is short only when the disk is full (or on a hard error): an error here.
async fn write_all(
    file: &glommio::io::BufferedFile,
    path: &Path,
    chunk: Vec<u8>,
    pos: u64,
) -> Result<u64, SnapshotError> {
    let len = chunk.len();
    let written = file.write_at(chunk, pos).await.map_err(|e| io_error(path, "write", e))?;
    if written < len {
        return Err(io_error(path, "write", format!("short write ({written} of {len} bytes; disk full?)")));
    }
    Ok(len as u64)
}

// ---------------------------------------------------------------------------------------
// Reading

/// Reads the snapshot file at `path`, handing each entry and function payload to `sink`
/// in file order, with Redis's default encoding thresholds for the values built. Blocking
/// reads (startup, before serving). Any damage is an error naming the file and offset;
/// nothing is guessed. An error from `sink` stops the load.
pub fn read_shard_file<E: fmt::Display>(
    path: &Path,
    sink: impl FnMut(LoadedItem) -> Result<(), E>,
) -> Result<SnapshotInfo, SnapshotError> {
    read_shard_file_with(path, &LoadLimits::default(), sink)
}

/// As [`read_shard_file`], building values with the encoding thresholds `limits`.
pub fn read_shard_file_with<E: fmt::Display>(
    path: &Path,
    limits: &LoadLimits,
    mut sink: impl FnMut(LoadedItem) -> Result<(), E>,
) -> Result<SnapshotInfo, SnapshotError> {
    let file = std::fs::File::open(path).map_err(|e| io_error(path, "open", e))?;
    let size = file.metadata().map_err(|e| io_error(path, "stat", e))?.len();
    let mut reader = std::io::BufReader::with_capacity(1 << 20, file);
    let corrupt = |offset: u64, what: String| SnapshotError::Corrupt { path: path.to_path_buf(), offset, what };
    let cut_short = |offset: u64, what: &str| corrupt(offset, format!("the file ends inside {what} (cut short)"));

    let mut header = [0u8; HEADER_LEN];
    let got = read_fully(&mut reader, &mut header, path)?;
    let magic_seen = got.min(MAGIC.len());
    if header[..magic_seen] != MAGIC[..magic_seen] || got == 0 {
        return Err(corrupt(0, "not a tallkv snapshot file (bad magic)".to_string()));
    }
    if got < HEADER_LEN {
        return Err(cut_short(0, "the header"));
    }
    if header[..MAGIC.len()] != MAGIC[..] {
        return Err(corrupt(0, "not a tallkv snapshot file (bad magic)".to_string()));
    }
    let (fields, crc) = header.split_at(HEADER_LEN - 8);
    if crc64(0, fields) != le_u64(crc) {
        return Err(corrupt(0, "header checksum mismatch".to_string()));
    }
    let version = le_u32(&fields[10..14]);
    if version != FORMAT_VERSION {
        return Err(corrupt(0, format!("unsupported format version {version} (this build reads {FORMAT_VERSION})")));
    }
    let meta = SnapshotMeta {
        shard: le_u32(&fields[14..18]) as usize,
        shards: le_u32(&fields[18..22]) as usize,
        created_ms: le_u64(&fields[22..30]) as i64,
    };

    let mut offset = HEADER_LEN as u64;
    let mut per_db: Vec<u64> = Vec::new();
    let mut entries = 0u64;
    let mut blocks = 0u64;
    let mut functions = false;
    let mut payload = Vec::new();
    loop {
        let block_at = offset;
        let mut head = [0u8; BLOCK_HEAD];
        if read_fully(&mut reader, &mut head, path)? < BLOCK_HEAD {
            return Err(corrupt(
                block_at,
                if block_at == size {
                    "the file ends without its end block (cut short)".to_string()
                } else {
                    "the file ends inside a block header (cut short)".to_string()
                },
            ));
        }
        let kind = head[0];
        let len = le_u64(&head[1..]);
        let body_at = block_at + BLOCK_HEAD as u64;
        let room = size.saturating_sub(body_at);
        if len.saturating_add(BLOCK_CRC as u64) > room {
            return Err(corrupt(
                block_at,
                format!("a block of {len} bytes runs past the end of the file (cut short or corrupt)"),
            ));
        }
        let len = len as usize;
        payload.clear();
        payload.resize(len, 0);
        let mut crc_bytes = [0u8; BLOCK_CRC];
        if read_fully(&mut reader, &mut payload, path)? < len
            || read_fully(&mut reader, &mut crc_bytes, path)? < BLOCK_CRC
        {
            return Err(cut_short(block_at, "a block"));
        }
        if crc64(crc64(0, &head), &payload) != le_u64(&crc_bytes) {
            return Err(corrupt(block_at, "block checksum mismatch".to_string()));
        }
        offset = body_at + (len + BLOCK_CRC) as u64;
        let sink_error =
            |e: E| SnapshotError::Sink { path: path.to_path_buf(), offset: block_at, message: e.to_string() };
        match kind {
            KIND_ENTRIES => {
                blocks += 1;
                let mut input: &[u8] = &payload;
                let count =
                    read_entry_count(&mut input).ok_or_else(|| corrupt(block_at, "empty entries block".into()))?;
                for n in 0..count {
                    let at = body_at + (len - input.len()) as u64;
                    let bad = |e: RdbError| corrupt(block_at, format!("entry {n} (at offset {at}): {e}"));
                    let Some((fixed, rest)) = input.split_at_checked(ENTRY_FIXED) else {
                        return Err(bad(RdbError::Truncated));
                    };
                    input = rest;
                    let db = usize::from(u16::from_le_bytes([fixed[0], fixed[1]]));
                    let slot = u16::from_le_bytes([fixed[2], fixed[3]]);
                    let expire_at = le_u64(&fixed[4..12]) as i64;
                    let ty = fixed[12];
                    let key = rdb::read_string(&mut input).map_err(bad)?;
                    let value = rdb::read_value_with(ty, &mut input, limits);
                    if expire_at < NO_EXPIRE {
                        return Err(bad(RdbError::Invalid(format!("bad expiry time {expire_at}"))));
                    }
                    if per_db.len() <= db {
                        per_db.resize(db + 1, 0);
                    }
                    per_db[db] += 1;
                    let value = match value {
                        Ok(value) => value,
                        // Redis skips an empty collection in a file; so does this loader.
                        Err(RdbError::EmptyKey) => continue,
                        Err(e) => return Err(bad(e)),
                    };
                    entries += 1;
                    let entry = Entry { value, expire_at, access: 0 };
                    sink(LoadedItem::Entry { db, slot, key, entry }).map_err(sink_error)?;
                }
                if !input.is_empty() {
                    return Err(corrupt(block_at, format!("{} bytes after the block's last entry", input.len())));
                }
            }
            KIND_FUNCTIONS => {
                functions = true;
                sink(LoadedItem::Functions(std::mem::take(&mut payload))).map_err(sink_error)?;
            }
            KIND_END => {
                check_end_block(&payload, &per_db, blocks).map_err(|what| corrupt(block_at, what))?;
                if offset != size {
                    return Err(corrupt(offset, format!("{} bytes after the end block", size - offset)));
                }
                let databases = usize::from(u16::from_le_bytes([payload[0], payload[1]]));
                per_db.resize(databases, 0);
                return Ok(SnapshotInfo { meta, version, entries, per_db, functions, bytes: size });
            }
            other => return Err(corrupt(block_at, format!("unknown block kind {other}"))),
        }
    }
}

/// The entry count at the start of an entries block.
fn read_entry_count(input: &mut &[u8]) -> Option<u32> {
    let (count, rest) = input.split_at_checked(4)?;
    *input = rest;
    Some(le_u32(count))
}

/// Checks the end block's counts against what was read.
fn check_end_block(payload: &[u8], per_db: &[u64], blocks: u64) -> Result<(), String> {
    let Some((databases, rest)) = payload.split_at_checked(2) else {
        return Err("end block too short".to_string());
    };
    let databases = usize::from(u16::from_le_bytes([databases[0], databases[1]]));
    if rest.len() != databases * 8 + 8 {
        return Err("end block has the wrong size".to_string());
    }
    if per_db.len() > databases {
        return Err(format!("entries of database {} but the file says {databases} databases", per_db.len() - 1));
    }
    for db in 0..databases {
        let expected = le_u64(&rest[db * 8..db * 8 + 8]);
        let read = per_db.get(db).copied().unwrap_or(0);
        if expected != read {
            return Err(format!("database {db}: the end block counts {expected} entries, the blocks hold {read}"));
        }
    }
    let expected_blocks = le_u64(&rest[databases * 8..]);
    if expected_blocks != blocks {
        return Err(format!("the end block counts {expected_blocks} entry blocks, the file holds {blocks}"));
    }
    Ok(())
}

/// Fills `buf` as far as the file goes; the number of bytes read (short at the end of the file).
fn read_fully(reader: &mut impl Read, buf: &mut [u8], path: &Path) -> Result<usize, SnapshotError> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(io_error(path, "read", e)),
        }
    }
    Ok(filled)
}

fn le_u32(b: &[u8]) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[..4]);
    u32::from_le_bytes(a)
}

fn le_u64(b: &[u8]) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[..8]);
    u64::from_le_bytes(a)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::rc::Rc;

    use super::*;
    use crate::persist::rdb::LoadLimits;
    use crate::shard::db::{Access, AccessMode};
    use crate::types::{HashValue, ListValue, SetValue, StrValue, Value, ZSetValue};

    /// A scratch directory removed when dropped.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(name: &str) -> TempDir {
            let dir = std::env::temp_dir().join(format!("tallkv-snapshot-{}-{name}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).expect("temp dir");
            TempDir(dir)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn access(now_ms: i64) -> Access {
        Access { now_ms, mode: AccessMode::Lru, no_touch: false }
    }

    /// A value in a form that does not depend on its encoding: type and sorted elements.
    #[derive(Debug, Clone, PartialEq)]
    enum Canon {
        Str(Vec<u8>),
        List(Vec<Vec<u8>>),
        Hash(Vec<(Vec<u8>, Vec<u8>)>),
        Set(Vec<Vec<u8>>),
        ZSet(Vec<(u64, Vec<u8>)>),
    }

    fn canon(value: &Value) -> Canon {
        match value {
            Value::Str(s) => Canon::Str(s.to_bytes().to_vec()),
            Value::List(l) => Canon::List(l.iter().map(<[u8]>::to_vec).collect()),
            Value::Hash(h) => {
                let mut v: Vec<_> = h.iter().map(|(f, v)| (f.to_vec(), v.to_vec())).collect();
                v.sort();
                Canon::Hash(v)
            }
            Value::Set(s) => {
                let mut v: Vec<_> = s.iter().map(|m| m.to_vec()).collect();
                v.sort();
                Canon::Set(v)
            }
            Value::ZSet(z) => Canon::ZSet(z.iter().map(|(score, m)| (score.to_bits(), m.to_vec())).collect()),
        }
    }

    /// (db, key) → (canonical value, expire_at).
    type Model = BTreeMap<(usize, Vec<u8>), (Canon, i64)>;

    fn model_of(ks: &Keyspace) -> Model {
        let mut model = Model::new();
        for (d, db) in ks.dbs.iter().enumerate() {
            db.for_each_live(i64::MIN, |k, e| {
                model.insert((d, k.to_vec()), (canon(&e.value), e.expire_at));
            });
        }
        model
    }

    fn read_model(path: &Path) -> Result<(Model, SnapshotInfo, Vec<Vec<u8>>), SnapshotError> {
        let mut model = Model::new();
        let mut functions = Vec::new();
        let info = read_shard_file(path, |item| -> Result<(), String> {
            match item {
                LoadedItem::Entry { db, slot, key, entry } => {
                    assert_eq!(slot, crate::shard::slot::key_slot(&key));
                    let previous = model.insert((db, key), (canon(&entry.value), entry.expire_at));
                    assert!(previous.is_none(), "an entry read twice");
                }
                LoadedItem::Functions(payload) => functions.push(payload),
            }
            Ok(())
        })?;
        Ok((model, info, functions))
    }

    /// Every kind of value in several encodings, with and without TTLs.
    fn every_type(ks: &mut Keyspace) {
        let a = access(1_000);
        let hash_limits = LoadLimits::default().hash;
        let set_limits = LoadLimits::default().set;
        let zset_limits = LoadLimits::default().zset;
        for db in [0usize, 3, 15] {
            let d = &mut ks.dbs[db];
            d.set(b"int", Value::Str(StrValue::from_int(-123_456_789_012)), &a);
            d.set(b"small-int", Value::Str(StrValue::from_bytes(b"12")), &a);
            d.set(b"str", Value::Str(StrValue::from_bytes(b"hello")), &a);
            d.set(b"empty", Value::Str(StrValue::from_bytes(b"")), &a);
            d.set(b"long", Value::Str(StrValue::from_bytes(&b"abcdefgh".repeat(200))), &a);
            d.set(b"binary", Value::Str(StrValue::from_bytes(&(0..=255u8).collect::<Vec<_>>())), &a);
            let items: Vec<Vec<u8>> = (0..300).map(|i| format!("item{i}").into_bytes()).collect();
            d.set(b"list", Value::List(Box::new(ListValue::from_items(items.iter().map(|v| v.as_slice())))), &a);
            d.set(b"short-list", Value::List(Box::new(ListValue::from_items([&b"x"[..], b"7"]))), &a);
            for (name, n) in [(&b"small-hash"[..], 5), (b"big-hash", 500)] {
                let mut h = HashValue::new();
                for i in 0..n {
                    h.set(format!("f{i}").as_bytes(), format!("v{i}").as_bytes(), hash_limits);
                }
                d.set(name, Value::Hash(Box::new(h)), &a);
            }
            for (name, members) in [
                (&b"intset"[..], (0..50).map(|i| (i * 1_000_003).to_string()).collect::<Vec<_>>()),
                (b"small-set", (0..10).map(|i| format!("m{i}")).collect()),
                (b"big-set", (0..1_000).map(|i| format!("member{i}")).collect()),
            ] {
                let mut set = SetValue::create(members[0].as_bytes(), members.len(), set_limits);
                for m in &members {
                    set.add(m.as_bytes(), set_limits);
                }
                d.set(name, Value::Set(Box::new(set)), &a);
            }
            for (name, n) in [(&b"small-zset"[..], 7), (b"big-zset", 400)] {
                let mut z = ZSetValue::new();
                for i in 0..n {
                    z.insert(f64::from(i) * 1.5 - 3.25, format!("z{i}").as_bytes(), zset_limits);
                }
                z.insert(f64::INFINITY, b"inf", zset_limits);
                z.insert(f64::NEG_INFINITY, b"-inf", zset_limits);
                d.set(name, Value::ZSet(Box::new(z)), &a);
            }
            d.set_expire(b"str", 9_999_999_999_999, 1_000);
            d.set_expire(b"big-hash", 5_000_000_000_000, 1_000);
            d.set_expire(b"list", 4_000_000_000_000, 1_000);
            // Expired but not reclaimed: saved with its TTL.
            d.set_expire(b"small-set", 1_500, 1_000);
        }
    }

    fn run<T>(future: impl std::future::Future<Output = T> + 'static) -> T
    where
        T: Send + 'static,
    {
        glommio::LocalExecutorBuilder::default().make().expect("executor").run(future)
    }

    fn meta() -> SnapshotMeta {
        SnapshotMeta { shard: 2, shards: 4, created_ms: 1_700_000_000_123 }
    }

    /// Writes a snapshot of a keyspace filled by `fill` to `path`; returns the model at begin.
    fn write_file(path: &Path, fill: fn(&mut Keyspace), functions: Option<Vec<u8>>) -> (Model, SnapshotStats) {
        let path = path.to_path_buf();
        run(async move {
            let cell = Rc::new(RefCell::new(Keyspace::new(16)));
            fill(&mut cell.borrow_mut());
            let expected = model_of(&cell.borrow());
            assert!(cell.borrow_mut().snapshot_begin());
            let stats = write_from(&*cell, &path, meta(), functions.as_deref()).await.expect("write");
            assert!(!cell.borrow().snapshot_running());
            (expected, stats)
        })
    }

    #[test]
    fn round_trip_every_type_with_ttls() {
        let dir = TempDir::new("round-trip");
        let path = dir.0.join("shard.tkv");
        let (expected, stats) = write_file(&path, every_type, Some(b"function payload".to_vec()));
        assert_eq!(stats.entries, expected.len() as u64);
        assert_eq!(stats.bytes, std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0));
        let (got, info, functions) = read_model(&path).expect("read");
        assert_eq!(got, expected);
        assert_eq!(functions, vec![b"function payload".to_vec()]);
        assert_eq!(info.meta, meta());
        assert_eq!(info.version, FORMAT_VERSION);
        assert_eq!(info.entries, expected.len() as u64);
        assert_eq!(info.per_db.len(), 16);
        assert_eq!(info.per_db[3], (expected.len() / 3) as u64);
        assert!(info.functions);
        assert_eq!(info.bytes, stats.bytes);
        // The expired entry is there, with its TTL, for the loader to judge.
        assert_eq!(got[&(15, b"small-set".to_vec())].1, 1_500);
    }

    #[test]
    fn empty_keyspace_round_trips() {
        let dir = TempDir::new("empty");
        let path = dir.0.join("empty.tkv");
        let (expected, stats) = write_file(&path, |_| {}, None);
        assert!(expected.is_empty());
        assert_eq!(stats.entries, 0);
        let (got, info, functions) = read_model(&path).expect("read");
        assert!(got.is_empty() && functions.is_empty());
        assert_eq!(info.per_db, vec![0; 16]);
        assert!(!info.functions);
    }

    fn many_keys(ks: &mut Keyspace) {
        let a = access(1_000);
        for i in 0..20_000 {
            let value = format!("value-{i}-{}", "x".repeat(i % 97));
            ks.dbs[i % 3].set(format!("key:{i}").as_bytes(), Value::Str(StrValue::from_bytes(value.as_bytes())), &a);
        }
    }

    /// The block offsets of a snapshot file (header excluded), from its lengths.
    fn block_offsets(bytes: &[u8]) -> Vec<(usize, u8, usize)> {
        let mut out = Vec::new();
        let mut at = HEADER_LEN;
        while at < bytes.len() {
            let len = le_u64(&bytes[at + 1..at + 9]) as usize;
            out.push((at, bytes[at], len));
            at += BLOCK_HEAD + len + BLOCK_CRC;
        }
        out
    }

    #[test]
    fn a_corrupt_byte_is_reported_with_the_file_and_block_offset() {
        let dir = TempDir::new("corrupt");
        let path = dir.0.join("corrupt.tkv");
        write_file(&path, many_keys, None);
        let good = std::fs::read(&path).expect("read file");
        let blocks = block_offsets(&good);
        assert!(blocks.iter().filter(|b| b.1 == KIND_ENTRIES).count() >= 8, "several blocks");
        for &(at, kind, len) in blocks.iter().step_by(3) {
            // A byte in the middle of the block's payload.
            let target = at + BLOCK_HEAD + len / 2;
            let mut bad = good.clone();
            bad[target] ^= 0x5A;
            std::fs::write(&path, &bad).expect("write file");
            match read_model(&path) {
                Err(SnapshotError::Corrupt { path: p, offset, what }) => {
                    assert_eq!(p, path);
                    assert_eq!(offset, at as u64, "kind {kind}: {what}");
                    assert!(what.contains("checksum"), "{what}");
                }
                other => panic!("corruption at {target} not found: {other:?}"),
            }
        }
        // In the header.
        let mut bad = good.clone();
        bad[15] ^= 1;
        std::fs::write(&path, &bad).expect("write file");
        let err = read_model(&path).expect_err("bad header");
        assert!(matches!(err, SnapshotError::Corrupt { offset: 0, .. }), "{err}");
        let text = err.to_string();
        assert!(text.contains("corrupt.tkv") && text.contains("offset 0"), "{text}");
        // Not a snapshot at all.
        std::fs::write(&path, b"REDIS0010 and more bytes than a header holds....").expect("write file");
        let err = read_model(&path).expect_err("not a snapshot");
        assert!(err.to_string().contains("bad magic"), "{err}");
        // A block removed whole (checksums fine): the end block's counts catch it.
        let (at, _, len) = blocks[1];
        let mut bad = good[..at].to_vec();
        bad.extend_from_slice(&good[at + BLOCK_HEAD + len + BLOCK_CRC..]);
        std::fs::write(&path, &bad).expect("write file");
        let err = read_model(&path).expect_err("missing block");
        assert!(err.to_string().contains("end block counts"), "{err}");
        // Bytes after the end block.
        let mut bad = good.clone();
        bad.push(0);
        std::fs::write(&path, &bad).expect("write file");
        let err = read_model(&path).expect_err("trailing byte");
        assert!(err.to_string().contains("after the end block"), "{err}");
    }

    #[test]
    fn a_file_cut_short_anywhere_is_an_error() {
        let dir = TempDir::new("truncated");
        let path = dir.0.join("cut.tkv");
        write_file(&path, every_type, Some(b"fn".to_vec()));
        let good = std::fs::read(&path).expect("read file");
        assert!(read_model(&path).is_ok());
        let mut cuts: Vec<usize> = (0..good.len()).step_by(97).collect();
        for (at, _, len) in block_offsets(&good) {
            cuts.extend([at, at + 1, at + BLOCK_HEAD, at + BLOCK_HEAD + len, at + BLOCK_HEAD + len + BLOCK_CRC - 1]);
        }
        cuts.push(good.len() - 1);
        for cut in cuts {
            std::fs::write(&path, &good[..cut]).expect("write file");
            match read_model(&path) {
                Err(SnapshotError::Corrupt { what, .. }) => {
                    assert!(what.contains("cut short") || what.contains("bad magic"), "cut at {cut}: {what}")
                }
                other => panic!("cut at {cut} of {}: {other:?}", good.len()),
            }
        }
    }

    #[test]
    fn the_sink_can_stop_the_load() {
        let dir = TempDir::new("sink");
        let path = dir.0.join("sink.tkv");
        write_file(&path, many_keys, None);
        let mut seen = 0;
        let err = read_shard_file(&path, |_| {
            seen += 1;
            if seen == 10 { Err("database 99 does not exist") } else { Ok(()) }
        })
        .expect_err("sink error");
        assert!(matches!(&err, SnapshotError::Sink { offset, .. } if *offset == HEADER_LEN as u64), "{err:?}");
        assert!(err.to_string().contains("database 99 does not exist"));
    }

    #[test]
    fn writing_needs_a_started_snapshot() {
        let dir = TempDir::new("not-started");
        let path = dir.0.join("x.tkv");
        let result = run(async move {
            let cell = RefCell::new(Keyspace::new(16));
            write_from(&cell, &path, meta(), None).await
        });
        assert_eq!(result, Err(SnapshotError::NotStarted));
    }

    #[test]
    fn a_failed_write_leaves_the_shard_ready_for_the_next_snapshot() {
        let dir = TempDir::new("failed");
        let bad_path = dir.0.join("no-such-dir").join("x.tkv");
        let good_path = dir.0.join("ok.tkv");
        let (err, expected) = run(async move {
            let cell = RefCell::new(Keyspace::new(16));
            many_keys(&mut cell.borrow_mut());
            assert!(cell.borrow_mut().snapshot_begin());
            let err = write_from(&cell, &bad_path, meta(), None).await;
            assert!(!cell.borrow().snapshot_running());
            let expected = model_of(&cell.borrow());
            assert!(cell.borrow_mut().snapshot_begin());
            write_from(&cell, &good_path, meta(), None).await.expect("second snapshot");
            (err, expected)
        });
        assert!(matches!(err, Err(SnapshotError::Io { op: "create", .. })), "{err:?}");
        let (got, _, _) = read_model(&dir.0.join("ok.tkv")).expect("read");
        assert_eq!(got, expected);
    }

    #[test]
    fn a_cancelled_writer_abandons_the_snapshot() {
        let dir = TempDir::new("cancelled");
        let first = dir.0.join("first.tkv");
        let second = dir.0.join("second.tkv");
        let expected = run(async move {
            let cell = RefCell::new(Keyspace::new(16));
            many_keys(&mut cell.borrow_mut());
            assert!(cell.borrow_mut().snapshot_begin());
            {
                let mut writer = std::pin::pin!(write_from(&cell, &first, meta(), None));
                for _ in 0..5 {
                    assert!(futures_lite::future::poll_once(&mut writer).await.is_none());
                    futures_lite::future::yield_now().await;
                }
                // Dropped here, unfinished.
            }
            assert!(!cell.borrow().snapshot_running());
            cell.borrow_mut().dbs[1].set(b"later", Value::Str(StrValue::from_bytes(b"x")), &access(5));
            let expected = model_of(&cell.borrow());
            assert!(cell.borrow_mut().snapshot_begin());
            write_from(&cell, &second, meta(), None).await.expect("second snapshot");
            expected
        });
        let (got, _, _) = read_model(&dir.0.join("second.tkv")).expect("read");
        assert_eq!(got, expected);
    }

    /// The point-in-time guarantee end to end: a writer task and a task changing the
    /// keyspace take turns on one executor; the file holds exactly the state at begin.
    #[test]
    fn the_file_holds_the_state_at_begin_while_writes_go_on() {
        let dir = TempDir::new("concurrent");
        let path = dir.0.join("live.tkv");
        let (expected, stats, after) = run(async move {
            let cell = Rc::new(RefCell::new(Keyspace::new(16)));
            many_keys(&mut cell.borrow_mut());
            every_type(&mut cell.borrow_mut());
            let expected = model_of(&cell.borrow());
            assert!(cell.borrow_mut().snapshot_begin());
            let done = Rc::new(std::cell::Cell::new(false));
            let mutator = {
                let cell = cell.clone();
                let done = done.clone();
                glommio::spawn_local(async move {
                    let mut round = 0u64;
                    let mut rng = 0x9E37_79B9_7F4A_7C15u64;
                    while !done.get() {
                        {
                            let mut ks = cell.borrow_mut();
                            let a = access(2_000 + round as i64);
                            for _ in 0..50 {
                                rng ^= rng << 13;
                                rng ^= rng >> 7;
                                rng ^= rng << 17;
                                let i = (rng % 21_000) as usize;
                                let db = i % 3;
                                let key = format!("key:{i}");
                                match rng % 7 {
                                    0 => {
                                        ks.dbs[db].set(key.as_bytes(), Value::Str(StrValue::from_int(round as i64)), &a)
                                    }
                                    1 => drop(ks.dbs[db].remove(key.as_bytes())),
                                    2 => drop(ks.dbs[db].set_expire(key.as_bytes(), 2_500, 2_000)),
                                    3 => {
                                        if let Some(mut e) = ks.dbs[0].get_mut(b"big-hash", &a)
                                            && let Value::Hash(h) = &mut e.value
                                        {
                                            h.set(format!("r{round}").as_bytes(), b"x", LoadLimits::default().hash);
                                        }
                                    }
                                    4 if round % 40 == 39 => {
                                        let (low, high) = ks.dbs.split_at_mut(1);
                                        low[0].swap_contents(&mut high[0]);
                                    }
                                    5 if round == 60 => ks.dbs[2].clear(),
                                    _ => drop(ks.dbs[db].get(key.as_bytes(), &access(3_000))),
                                }
                            }
                        }
                        round += 1;
                        futures_lite::future::yield_now().await;
                    }
                    round
                })
            };
            let stats = write_from(&*cell, &path, meta(), None).await.expect("write");
            done.set(true);
            let rounds = mutator.await;
            let after = model_of(&cell.borrow());
            assert!(rounds > 20, "the writer yielded only {rounds} times");
            (expected, stats, after)
        });
        assert!(stats.preserved > 0, "changes were saved aside: {stats:?}");
        assert_ne!(after, expected, "the keyspace changed during the snapshot");
        let (got, _, _) = read_model(&dir.0.join("live.tkv")).expect("read");
        assert_eq!(got.len(), expected.len());
        assert!(got == expected, "the file differs from the state at begin");
    }
}
