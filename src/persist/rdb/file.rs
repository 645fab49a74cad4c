//! Whole Redis RDB files: a streaming reader over any `std::io::Read` and a writer to
//! any `std::io::Write`.
//!
//! A file is `REDIS` and a 4-digit version, then opcodes and key entries, then EOF (255)
//! and a CRC-64 of everything before it (0 when the writer had `rdbchecksum no`):
//! - AUX (250): a string pair of metadata (`redis-ver`, `ctime`, ...);
//! - RESIZEDB (251): hash table size hints for the current database;
//! - EXPIRETIME_MS (252, 8 bytes LE) / EXPIRETIME (253, 4 bytes LE seconds): the next
//!   key's absolute expiry;
//! - SELECTDB (254): the database of the keys that follow;
//! - FUNCTION2 (245): a function library's code;
//! - IDLE (248) / FREQ (249): the next key's LRU idle seconds / LFU counter;
//! - a value type byte: a key string and the value ([`super::read_value`]).
//!
//! The reader parses from a buffer and, when an item runs past the buffered bytes
//! ([`RdbError::Truncated`]), reads more (at least doubling) and parses the item again,
//! so a value of any size is read in amortized linear time without a second decoder.
//! Errors carry the byte offset of the item that failed.

use std::io::{self, Read, Write};

use super::{LoadLimits, RDB_MAX_READ_VERSION, RDB_VERSION, RdbError, array, byte, is_value_type, read_length};
use super::{read_string, read_value_with, take, write_length, write_string, write_value_opts};
use crate::types::Value;
use crate::util::crc64::crc64;

/// The next key's expiry in milliseconds (8 bytes LE).
pub const OPCODE_EXPIRETIME_MS: u8 = 252;
/// The next key's expiry in seconds (4 bytes LE).
pub const OPCODE_EXPIRETIME: u8 = 253;
/// Database selection.
pub const OPCODE_SELECTDB: u8 = 254;
/// End of file (a CRC-64 follows from version 5 on).
pub const OPCODE_EOF: u8 = 255;
/// Size hints for the current database.
pub const OPCODE_RESIZEDB: u8 = 251;
/// An auxiliary metadata field.
pub const OPCODE_AUX: u8 = 250;
/// The next key's LFU counter.
pub const OPCODE_FREQ: u8 = 249;
/// The next key's LRU idle time in seconds.
pub const OPCODE_IDLE: u8 = 248;
/// Module auxiliary data.
pub const OPCODE_MODULE_AUX: u8 = 247;
/// A function library in the 7.0 release candidates' format.
pub const OPCODE_FUNCTION_PRE_GA: u8 = 246;
/// A function library (its code as a string).
pub const OPCODE_FUNCTION2: u8 = 245;

/// One item of an RDB file.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    /// An auxiliary metadata field (`redis-ver`, `ctime`, `used-mem`, `aof-base`, ...).
    Aux {
        /// The field name.
        key: Vec<u8>,
        /// Its value.
        value: Vec<u8>,
    },
    /// The keys that follow belong to database `0`.
    SelectDb(usize),
    /// Size hints for the current database.
    ResizeDb {
        /// Number of keys.
        db_size: u64,
        /// Number of keys with an expiry.
        expires_size: u64,
    },
    /// A key.
    Entry {
        /// Its database.
        db: usize,
        /// The key.
        key: Vec<u8>,
        /// The value.
        value: Value,
        /// Absolute expiry in Unix milliseconds, or -1 for none (an expiry in the past is
        /// reported as is: the loader decides).
        expire_at_ms: i64,
        /// LRU idle seconds, when the file records them.
        idle: Option<u64>,
        /// LFU counter, when the file records it.
        freq: Option<u8>,
    },
    /// A function library's code (`#!lua name=...`).
    Function(Vec<u8>),
}

/// Why an RDB file could not be read.
#[derive(Debug)]
pub enum RdbFileError {
    /// Reading failed.
    Io(io::Error),
    /// The data is malformed or unsupported at byte `offset`.
    Data {
        /// Offset of the item that failed, from the start of the file.
        offset: u64,
        /// What is wrong.
        error: RdbError,
    },
}

impl std::fmt::Display for RdbFileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RdbFileError::Io(e) => write!(f, "{e}"),
            RdbFileError::Data { offset, error } => write!(f, "{error} at offset {offset}"),
        }
    }
}

impl std::error::Error for RdbFileError {}

impl From<io::Error> for RdbFileError {
    fn from(e: io::Error) -> RdbFileError {
        RdbFileError::Io(e)
    }
}

/// Bytes read from the source at a time, at least.
const READ_CHUNK: usize = 256 * 1024;

/// A streaming RDB file reader: call [`RdbReader::next_item`] (or iterate) until `None`,
/// which comes after the EOF opcode and a matching checksum.
pub struct RdbReader<R: Read> {
    src: R,
    buf: Vec<u8>,
    /// Consumed bytes of `buf`.
    pos: usize,
    /// Bytes of `buf` already folded into `crc`.
    crc_pos: usize,
    /// File offset of `buf[0]`.
    base: u64,
    src_done: bool,
    crc: u64,
    version: u16,
    limits: LoadLimits,
    db: usize,
    expire_at: i64,
    idle: Option<u64>,
    freq: Option<u8>,
    finished: bool,
    empty_keys: u64,
}

impl<R: Read> RdbReader<R> {
    /// Reads and checks the header (`REDIS` and a version up to 11); values are built with
    /// Redis's default encoding thresholds.
    pub fn new(src: R) -> Result<RdbReader<R>, RdbFileError> {
        RdbReader::with_limits(src, LoadLimits::default())
    }

    /// As [`RdbReader::new`], building values with the thresholds `limits`.
    pub fn with_limits(src: R, limits: LoadLimits) -> Result<RdbReader<R>, RdbFileError> {
        let mut reader = RdbReader {
            src,
            buf: Vec::new(),
            pos: 0,
            crc_pos: 0,
            base: 0,
            src_done: false,
            crc: 0,
            version: 0,
            limits,
            db: 0,
            expire_at: -1,
            idle: None,
            freq: None,
            finished: false,
            empty_keys: 0,
        };
        let header = reader.parse(|input| Ok(take(input, 9)?.to_vec()))?;
        let bad = |error: RdbError| RdbFileError::Data { offset: 0, error };
        if &header[..5] != b"REDIS" {
            return Err(bad(RdbError::Invalid("not an RDB file (no REDIS signature)".into())));
        }
        let version = std::str::from_utf8(&header[5..]).ok().and_then(|v| v.parse::<u16>().ok());
        match version {
            Some(v) if (1..=RDB_MAX_READ_VERSION).contains(&v) => reader.version = v,
            _ => {
                let text = String::from_utf8_lossy(&header[5..]).into_owned();
                return Err(bad(RdbError::Invalid(format!("can't handle RDB format version {text}"))));
            }
        }
        Ok(reader)
    }

    /// The file's RDB version.
    pub fn version(&self) -> u16 {
        self.version
    }

    /// The offset of the next unread byte.
    pub fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    /// How many empty collections were skipped (Redis skips them too).
    pub fn empty_keys_skipped(&self) -> u64 {
        self.empty_keys
    }

    /// Runs `f` on the unread bytes; on `Truncated`, reads more and runs it again.
    fn parse<T>(&mut self, f: impl Fn(&mut &[u8]) -> Result<T, RdbError>) -> Result<T, RdbFileError> {
        loop {
            let mut input = &self.buf[self.pos..];
            match f(&mut input) {
                Ok(v) => {
                    self.pos = self.buf.len() - input.len();
                    return Ok(v);
                }
                Err(RdbError::Truncated) if !self.src_done => self.fill()?,
                Err(error) => return Err(RdbFileError::Data { offset: self.offset(), error }),
            }
        }
    }

    /// Drops consumed bytes and reads at least as many new bytes as are buffered.
    fn fill(&mut self) -> Result<(), RdbFileError> {
        self.crc = crc64(self.crc, &self.buf[self.crc_pos..self.pos]);
        self.buf.drain(..self.pos);
        self.base += self.pos as u64;
        self.pos = 0;
        self.crc_pos = 0;
        let want = self.buf.len().max(READ_CHUNK);
        let start = self.buf.len();
        self.buf.resize(start + want, 0);
        let mut filled = start;
        while filled < start + want {
            match self.src.read(&mut self.buf[filled..]) {
                Ok(0) => {
                    self.src_done = true;
                    break;
                }
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.buf.truncate(filled);
                    return Err(e.into());
                }
            }
        }
        self.buf.truncate(filled);
        Ok(())
    }

    /// The next item; `None` after the EOF opcode (and a matching checksum).
    pub fn next_item(&mut self) -> Result<Option<Item>, RdbFileError> {
        while !self.finished {
            let start = self.offset();
            let at = |error: RdbError| RdbFileError::Data { offset: start, error };
            let op = self.parse(byte)?;
            match op {
                OPCODE_AUX => {
                    let (key, value) = self.parse(|i| Ok((read_string(i)?, read_string(i)?)))?;
                    return Ok(Some(Item::Aux { key, value }));
                }
                OPCODE_RESIZEDB => {
                    let (db_size, expires_size) = self.parse(|i| Ok((read_length(i)?, read_length(i)?)))?;
                    return Ok(Some(Item::ResizeDb { db_size, expires_size }));
                }
                OPCODE_EXPIRETIME_MS => {
                    self.expire_at = self.parse(|i| Ok(i64::from_le_bytes(array(i)?)))?;
                }
                OPCODE_EXPIRETIME => {
                    let secs = self.parse(|i| Ok(i32::from_le_bytes(array(i)?)))?;
                    self.expire_at = i64::from(secs) * 1000;
                }
                OPCODE_SELECTDB => {
                    let db = self.parse(read_length)?;
                    self.db = usize::try_from(db).map_err(|_| at(RdbError::Invalid(format!("bad database {db}"))))?;
                    return Ok(Some(Item::SelectDb(self.db)));
                }
                OPCODE_IDLE => self.idle = Some(self.parse(read_length)?),
                OPCODE_FREQ => self.freq = Some(self.parse(byte)?),
                OPCODE_FUNCTION2 => return Ok(Some(Item::Function(self.parse(read_string)?))),
                OPCODE_FUNCTION_PRE_GA => {
                    return Err(at(RdbError::Unsupported("pre-GA function format not supported".into())));
                }
                OPCODE_MODULE_AUX => {
                    return Err(at(RdbError::Unsupported("module auxiliary data is not supported".into())));
                }
                OPCODE_EOF => {
                    self.finish_checksum(start)?;
                    self.finished = true;
                }
                ty if is_value_type(ty) => {
                    let limits = self.limits;
                    let entry = self.parse(|i| {
                        let key = read_string(i)?;
                        match read_value_with(ty, i, &limits) {
                            Ok(v) => Ok(Some((key, v))),
                            Err(RdbError::EmptyKey) => Ok(None),
                            Err(e) => Err(e),
                        }
                    });
                    let entry = entry.map_err(|e| match e {
                        RdbFileError::Data { error, .. } => at(error),
                        io => io,
                    })?;
                    let expire_at_ms = std::mem::replace(&mut self.expire_at, -1);
                    let idle = self.idle.take();
                    let freq = self.freq.take();
                    match entry {
                        Some((key, value)) => {
                            return Ok(Some(Item::Entry { db: self.db, key, value, expire_at_ms, idle, freq }));
                        }
                        None => self.empty_keys += 1,
                    }
                }
                other => return Err(at(RdbError::Invalid(format!("unknown RDB opcode or value type {other}")))),
            }
        }
        Ok(None)
    }

    /// After the EOF opcode at `eof_at`: checks the CRC-64 (files of version 5 on carry one;
    /// 0 means the writer did not compute it).
    fn finish_checksum(&mut self, eof_at: u64) -> Result<(), RdbFileError> {
        if self.version < 5 {
            return Ok(());
        }
        // The checksum covers everything up to and including the EOF opcode.
        self.crc = crc64(self.crc, &self.buf[self.crc_pos..self.pos]);
        self.crc_pos = self.pos;
        let stored = self.parse(|i| Ok(u64::from_le_bytes(array(i)?)))?;
        if stored != 0 && stored != self.crc {
            return Err(RdbFileError::Data {
                offset: eof_at,
                error: RdbError::Invalid(format!(
                    "wrong RDB checksum: stored {stored:016x}, computed {:016x}",
                    self.crc
                )),
            });
        }
        Ok(())
    }
}

impl<R: Read> Iterator for RdbReader<R> {
    type Item = Result<Item, RdbFileError>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.next_item() {
            Ok(Some(item)) => Some(Ok(item)),
            Ok(None) => None,
            Err(e) => {
                self.finished = true;
                Some(Err(e))
            }
        }
    }
}

/// Bytes buffered before a write to the destination.
const WRITE_CHUNK: usize = 1 << 20;

/// An RDB file writer (RDB version 10, which Redis 7.0 and later load): header on
/// creation, then items, then [`RdbWriter::finish`] for EOF and the checksum.
pub struct RdbWriter<W: Write> {
    dst: W,
    buf: Vec<u8>,
    crc: u64,
    written: u64,
    db: Option<usize>,
    compress: bool,
    checksum: bool,
}

impl<W: Write> RdbWriter<W> {
    /// Starts a file on `dst`: writes the `REDIS0010` header. Strings are LZF-compressed
    /// when that saves space and the file is checksummed, as Redis does by default.
    pub fn new(dst: W) -> io::Result<RdbWriter<W>> {
        let mut w = RdbWriter {
            dst,
            buf: Vec::with_capacity(WRITE_CHUNK + 4096),
            crc: 0,
            written: 0,
            db: None,
            compress: true,
            checksum: true,
        };
        w.buf.extend_from_slice(format!("REDIS{RDB_VERSION:04}").as_bytes());
        Ok(w)
    }

    /// `rdbcompression`: whether strings may be LZF-compressed.
    pub fn set_compression(&mut self, on: bool) {
        self.compress = on;
    }

    /// `rdbchecksum`: whether the file ends with a real CRC-64 (else 0, as Redis writes).
    pub fn set_checksum(&mut self, on: bool) {
        self.checksum = on;
    }

    /// Bytes produced so far (written or buffered).
    pub fn bytes_written(&self) -> u64 {
        self.written + self.buf.len() as u64
    }

    fn maybe_flush(&mut self) -> io::Result<()> {
        if self.buf.len() >= WRITE_CHUNK { self.flush_buf() } else { Ok(()) }
    }

    fn flush_buf(&mut self) -> io::Result<()> {
        if self.checksum {
            self.crc = crc64(self.crc, &self.buf);
        }
        self.dst.write_all(&self.buf)?;
        self.written += self.buf.len() as u64;
        self.buf.clear();
        Ok(())
    }

    /// Writes an auxiliary field.
    pub fn aux(&mut self, key: &[u8], value: &[u8]) -> io::Result<()> {
        self.buf.push(OPCODE_AUX);
        write_string(key, &mut self.buf);
        write_string(value, &mut self.buf);
        self.maybe_flush()
    }

    /// Writes the auxiliary fields Redis starts its files with: `redis-ver`, `redis-bits`,
    /// `ctime` (Unix seconds), `used-mem` and `aof-base` (whether the file is an AOF base).
    pub fn standard_aux(&mut self, ctime_s: i64, used_mem: u64, aof_base: bool) -> io::Result<()> {
        self.aux(b"redis-ver", crate::cmd::connection::REDIS_VERSION.as_bytes())?;
        self.aux(b"redis-bits", b"64")?;
        self.aux(b"ctime", ctime_s.to_string().as_bytes())?;
        self.aux(b"used-mem", used_mem.to_string().as_bytes())?;
        self.aux(b"aof-base", if aof_base { b"1" } else { b"0" })
    }

    /// Writes a function library's code (FUNCTION2).
    pub fn function(&mut self, code: &[u8]) -> io::Result<()> {
        self.buf.push(OPCODE_FUNCTION2);
        write_string(code, &mut self.buf);
        self.maybe_flush()
    }

    /// Selects database `db` for the entries that follow, with optional size hints
    /// (keys, keys with an expiry). [`RdbWriter::entry`] selects by itself when needed.
    pub fn select_db(&mut self, db: usize, sizes: Option<(u64, u64)>) -> io::Result<()> {
        self.buf.push(OPCODE_SELECTDB);
        write_length(db as u64, &mut self.buf);
        if let Some((keys, expires)) = sizes {
            self.buf.push(OPCODE_RESIZEDB);
            write_length(keys, &mut self.buf);
            write_length(expires, &mut self.buf);
        }
        self.db = Some(db);
        self.maybe_flush()
    }

    /// Writes a key of database `db` with its value and absolute expiry (Unix ms, or -1).
    pub fn entry(&mut self, db: usize, key: &[u8], value: &Value, expire_at_ms: i64) -> io::Result<()> {
        if self.db != Some(db) {
            self.select_db(db, None)?;
        }
        if expire_at_ms != -1 {
            self.buf.push(OPCODE_EXPIRETIME_MS);
            self.buf.extend_from_slice(&expire_at_ms.to_le_bytes());
        }
        let type_at = self.buf.len();
        self.buf.push(0);
        write_string(key, &mut self.buf);
        self.buf[type_at] = write_value_opts(value, &mut self.buf, self.compress);
        self.maybe_flush()
    }

    /// Writes EOF and the checksum, flushes, and returns the destination.
    pub fn finish(mut self) -> io::Result<W> {
        self.buf.push(OPCODE_EOF);
        if self.checksum {
            self.crc = crc64(self.crc, &self.buf);
        }
        let crc = if self.checksum { self.crc } else { 0 };
        self.buf.extend_from_slice(&crc.to_le_bytes());
        self.dst.write_all(&self.buf)?;
        self.written += self.buf.len() as u64;
        self.buf.clear();
        self.dst.flush()?;
        Ok(self.dst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{ListValue, StrValue};

    /// A file and the offset of its first key's type byte.
    fn sample_at() -> (Vec<u8>, usize) {
        let mut w = RdbWriter::new(Vec::new()).unwrap();
        w.standard_aux(1_700_000_000, 12345, false).unwrap();
        w.function(b"#!lua name=lib\nredis.register_function('f', function() return 1 end)").unwrap();
        w.select_db(0, Some((2, 1))).unwrap();
        let first = w.bytes_written() as usize;
        w.entry(0, b"a", &Value::Str(StrValue::from_bytes(b"1")), -1).unwrap();
        w.entry(0, b"b", &Value::Str(StrValue::from_bytes(&[b'x'; 1000])), 1_900_000_000_000).unwrap();
        let big: Vec<String> = (0..100_000).map(|i| format!("element {i}")).collect();
        w.entry(3, b"l", &Value::List(Box::new(ListValue::from_items(big.iter().map(|s| s.as_bytes())))), -1).unwrap();
        (w.finish().unwrap(), first)
    }

    fn sample() -> Vec<u8> {
        sample_at().0
    }

    #[test]
    fn writes_and_reads_back() {
        let data = sample();
        assert_eq!(&data[..9], b"REDIS0010");
        // A tiny source read size exercises the refill-and-retry path.
        struct Dribble<'a>(&'a [u8]);
        impl Read for Dribble<'_> {
            fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
                let n = out.len().min(self.0.len()).min(7);
                out[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        for items in [
            RdbReader::new(&data[..]).unwrap().collect::<Result<Vec<_>, _>>().unwrap(),
            RdbReader::new(Dribble(&data)).unwrap().collect::<Result<Vec<_>, _>>().unwrap(),
        ] {
            let aux: Vec<&Item> = items.iter().filter(|i| matches!(i, Item::Aux { .. })).collect();
            assert_eq!(aux.len(), 5);
            assert!(items.contains(&Item::Aux { key: b"ctime".to_vec(), value: b"1700000000".to_vec() }));
            assert!(items.iter().any(|i| matches!(i, Item::Function(code) if code.starts_with(b"#!lua name=lib"))));
            let entries: Vec<(usize, &[u8], i64)> = items
                .iter()
                .filter_map(|i| match i {
                    Item::Entry { db, key, expire_at_ms, .. } => Some((*db, &key[..], *expire_at_ms)),
                    _ => None,
                })
                .collect();
            assert_eq!(entries, vec![(0, &b"a"[..], -1), (0, &b"b"[..], 1_900_000_000_000), (3, &b"l"[..], -1)]);
            let Some(Item::Entry { value: Value::List(l), .. }) = items.last() else { panic!("no list") };
            assert_eq!(l.len(), 100_000);
            assert_eq!(l.get(99_999), Some(&b"element 99999"[..]));
        }
    }

    #[test]
    fn checksum_and_truncation_errors_have_offsets() {
        let (data, first) = sample_at();
        let mut bad = data.clone();
        let n = bad.len();
        bad[n - 3] ^= 1;
        let err = RdbReader::new(&bad[..]).unwrap().collect::<Result<Vec<_>, _>>().unwrap_err();
        assert!(err.to_string().contains("wrong RDB checksum"), "{err}");
        // Checksum 0: not checked.
        let mut zero = data.clone();
        zero[n - 8..].fill(0);
        assert!(RdbReader::new(&zero[..]).unwrap().collect::<Result<Vec<_>, _>>().is_ok());
        // Cut anywhere: an error, never a panic.
        for cut in (9..data.len() - 1)
            .step_by(data.len() / 25)
            .chain((9..200).step_by(7))
            .chain([data.len() - 1, data.len() - 9])
        {
            let r = RdbReader::new(&data[..cut]).and_then(|r| r.collect::<Result<Vec<_>, _>>());
            match r {
                Err(RdbFileError::Data { offset, error: RdbError::Truncated }) => assert!(offset <= cut as u64),
                other => panic!("cut at {cut}: {other:?}"),
            }
        }
        let err = RdbReader::new(&b"REDIS0012"[..]).err().unwrap();
        assert!(err.to_string().contains("can't handle RDB format version 0012"), "{err}");
        let mut corrupt = data.clone();
        // The first key's type byte made unknown: the error names its offset.
        corrupt[first] = 100;
        let err = RdbReader::new(&corrupt[..]).unwrap().collect::<Result<Vec<_>, _>>().unwrap_err();
        assert!(matches!(err, RdbFileError::Data { offset, .. } if offset == first as u64), "{err}");
    }
}
