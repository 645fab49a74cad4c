//! The journal file format: a header, then checksummed records.
//!
//! ```text
//! header:  magic "TKVJRNL\n" | version u16 | shard u16 | shards u16 | reserved u16   (16 bytes)
//! record:  len u32 | !len u32 | crc64 u64 | body (len bytes)
//!          !len guards the length: a damaged length is corruption, never mistaken for a
//!          record cut short at the end of the file (which would drop the rest silently);
//!          crc64 = CRC64 (Redis's Jones polynomial) over the 4 length bytes, then the body
//! body:    kind u8, then
//!   COMMAND (1): db u32 | time_ms i64 | argc u32 | argc × (len u32 | bytes)
//!   GROUP   (2): tx u64 | participants u32 | count u32 | count × (len u32 | COMMAND body)
//! ```
//! Everything is little-endian. A COMMAND is one write as its argv, with the database it
//! ran in and the time (Unix ms) it ran at. A GROUP is one shard's part of a transaction
//! (MULTI/EXEC, a script, a cross-shard command): it is applied only when every one of the
//! `participants` shards has its part (see the parent module).

use std::io::Read;

use crate::util::crc64::crc64;

/// The first 8 bytes of every journal file.
pub const MAGIC: &[u8; 8] = b"TKVJRNL\n";
/// The format version this build writes and reads.
pub const VERSION: u16 = 2;
/// Bytes of the file header.
pub const HEADER_LEN: u64 = 16;
/// Bytes before a record's body (length, its complement and checksum).
pub const RECORD_HEAD: u64 = 16;

const KIND_COMMAND: u8 = 1;
const KIND_GROUP: u8 = 2;

/// The file header for shard `shard` of `shards`.
pub fn header(shard: usize, shards: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN as usize);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&(shard as u16).to_le_bytes());
    out.extend_from_slice(&(shards as u16).to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

/// Appends a COMMAND body (with its inner length prefix) to `out`.
pub fn push_command<'a>(out: &mut Vec<u8>, db: usize, time_ms: i64, argv: impl Iterator<Item = &'a [u8]>) {
    let at = out.len();
    out.extend_from_slice(&0u32.to_le_bytes());
    out.push(KIND_COMMAND);
    out.extend_from_slice(&(db as u32).to_le_bytes());
    out.extend_from_slice(&time_ms.to_le_bytes());
    let argc_at = out.len();
    out.extend_from_slice(&0u32.to_le_bytes());
    let mut argc = 0u32;
    for arg in argv {
        out.extend_from_slice(&(arg.len() as u32).to_le_bytes());
        out.extend_from_slice(arg);
        argc += 1;
    }
    out[argc_at..argc_at + 4].copy_from_slice(&argc.to_le_bytes());
    let len = (out.len() - at - 4) as u32;
    out[at..at + 4].copy_from_slice(&len.to_le_bytes());
}

/// Appends one framed record (length, checksum, body) to `out`.
pub fn frame(out: &mut Vec<u8>, body: &[u8]) {
    let len = (body.len() as u32).to_le_bytes();
    let crc = crc64(crc64(0, &len), body);
    out.extend_from_slice(&len);
    out.extend_from_slice(&(!(body.len() as u32)).to_le_bytes());
    out.extend_from_slice(&crc.to_le_bytes());
    out.extend_from_slice(body);
}

/// Appends every COMMAND of `bodies` (inner-length-prefixed, as [`push_command`] writes
/// them) as its own framed record.
pub fn frame_each(out: &mut Vec<u8>, bodies: &[u8]) {
    let mut rest = bodies;
    while rest.len() >= 4 {
        let len = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        let Some(body) = rest.get(4..4 + len) else { break };
        frame(out, body);
        rest = &rest[4 + len..];
    }
}

/// Appends one framed GROUP record holding `count` COMMAND bodies.
pub fn frame_group(out: &mut Vec<u8>, tx: u64, participants: u32, count: u32, bodies: &[u8]) {
    let mut body = Vec::with_capacity(17 + bodies.len());
    body.push(KIND_GROUP);
    body.extend_from_slice(&tx.to_le_bytes());
    body.extend_from_slice(&participants.to_le_bytes());
    body.extend_from_slice(&count.to_le_bytes());
    body.extend_from_slice(bodies);
    frame(out, &body);
}

/// One decoded write.
#[derive(Debug, Clone, PartialEq)]
pub struct Command {
    /// The database it ran in.
    pub db: usize,
    /// When it ran, Unix ms.
    pub time_ms: i64,
    /// Its arguments, command name first.
    pub argv: Vec<Vec<u8>>,
}

/// One decoded record.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    /// A write outside any transaction.
    Command(Command),
    /// One shard's part of a transaction.
    Group {
        /// The transaction id (unique across the server while it runs).
        tx: u64,
        /// How many shards wrote a part.
        participants: u32,
        /// This part's writes, in order.
        commands: Vec<Command>,
    },
}

fn take<'a>(input: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
    if input.len() < n {
        return None;
    }
    let (head, rest) = input.split_at(n);
    *input = rest;
    Some(head)
}

fn u32_of(input: &mut &[u8]) -> Option<u32> {
    take(input, 4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

fn u64_of(input: &mut &[u8]) -> Option<u64> {
    take(input, 8).map(|b| u64::from_le_bytes(b.try_into().unwrap_or([0; 8])))
}

fn command_of(mut body: &[u8]) -> Option<Command> {
    let input = &mut body;
    if take(input, 1)? != [KIND_COMMAND] {
        return None;
    }
    let db = u32_of(input)? as usize;
    let time_ms = u64_of(input)? as i64;
    let argc = u32_of(input)? as usize;
    if argc == 0 || argc > input.len() / 4 {
        return None;
    }
    let mut argv = Vec::with_capacity(argc);
    for _ in 0..argc {
        let len = u32_of(input)? as usize;
        argv.push(take(input, len)?.to_vec());
    }
    input.is_empty().then_some(Command { db, time_ms, argv })
}

/// Decodes a record body; `None` if it is malformed.
pub fn decode(body: &[u8]) -> Option<Record> {
    match *body.first()? {
        KIND_COMMAND => command_of(body).map(Record::Command),
        KIND_GROUP => {
            let mut input = &body[1..];
            let tx = u64_of(&mut input)?;
            let participants = u32_of(&mut input)?;
            let count = u32_of(&mut input)? as usize;
            if participants == 0 || count > input.len() / 4 {
                return None;
            }
            let mut commands = Vec::with_capacity(count);
            for _ in 0..count {
                let len = u32_of(&mut input)? as usize;
                commands.push(command_of(take(&mut input, len)?)?);
            }
            input.is_empty().then_some(Record::Group { tx, participants, commands })
        }
        _ => None,
    }
}

/// What a scan of one journal file found.
#[derive(Debug, Clone, PartialEq)]
pub struct Scan {
    /// The file's size.
    pub file_len: u64,
    /// Bytes up to the end of the last whole record (the header included).
    pub valid_len: u64,
    /// Whole records read.
    pub records: u64,
    /// The last record was cut short at this offset (a crash mid-write).
    pub truncated_at: Option<u64>,
}

/// Why a journal file cannot be read.
#[derive(Debug, Clone, PartialEq)]
pub enum ScanError {
    /// Not readable at all.
    Io(String),
    /// The header is missing or not a journal's.
    BadHeader(String),
    /// A record whose checksum or body is wrong, at this offset.
    Corrupt {
        /// Byte offset of the record's start.
        offset: u64,
        /// What is wrong.
        what: &'static str,
    },
    /// A record cut short and `aof-load-truncated no`.
    Truncated {
        /// Byte offset of the record's start.
        offset: u64,
    },
    /// The visitor refused a record.
    Apply {
        /// Byte offset of the record's start.
        offset: u64,
        /// Why.
        message: String,
    },
}

impl ScanError {
    /// The error as a log line naming `file`.
    pub fn describe(&self, file: &str) -> String {
        match self {
            ScanError::Io(e) => format!("Bad journal file {file}: {e}"),
            ScanError::BadHeader(e) => format!("Bad journal file {file}: {e}"),
            ScanError::Corrupt { offset, what } => format!(
                "Bad journal file {file} format at offset {offset}: {what}. Run 'tallkv check-journal --fix {file}' to repair it by truncation"
            ),
            ScanError::Truncated { offset } => format!(
                "Unexpected end of journal file {file} at offset {offset} (aof-load-truncated is no). Run 'tallkv check-journal --fix {file}' or set aof-load-truncated yes"
            ),
            ScanError::Apply { offset, message } => {
                format!("Bad journal file {file} at offset {offset}: {message}")
            }
        }
    }
}

/// Reads `reader` (a whole journal file of `file_len` bytes) record by record, calling
/// `visit(offset, record)` for each whole record. A record cut short at the end is an
/// error unless `allow_truncated`; a record with a bad checksum or body anywhere is an error.
/// Returns the file's header (shard, shards) and what the scan found.
pub fn scan(
    reader: impl Read,
    file_len: u64,
    allow_truncated: bool,
    mut visit: impl FnMut(u64, Record) -> Result<(), String>,
) -> Result<((usize, usize), Scan), ScanError> {
    let mut reader = std::io::BufReader::with_capacity(1 << 20, reader);
    let mut head = [0u8; HEADER_LEN as usize];
    if file_len < HEADER_LEN {
        return Err(ScanError::BadHeader("shorter than a journal header".into()));
    }
    reader.read_exact(&mut head).map_err(|e| ScanError::Io(e.to_string()))?;
    if &head[..8] != MAGIC {
        return Err(ScanError::BadHeader("not a tallkv journal (bad magic)".into()));
    }
    let version = u16::from_le_bytes([head[8], head[9]]);
    if version != VERSION {
        return Err(ScanError::BadHeader(format!("unsupported journal format version {version}")));
    }
    let shard = u16::from_le_bytes([head[10], head[11]]) as usize;
    let shards = u16::from_le_bytes([head[12], head[13]]) as usize;
    let mut offset = HEADER_LEN;
    let mut records = 0;
    let mut body = Vec::new();
    loop {
        if offset == file_len {
            break;
        }
        if file_len - offset < RECORD_HEAD {
            if allow_truncated {
                return Ok((
                    (shard, shards),
                    Scan { file_len, valid_len: offset, records, truncated_at: Some(offset) },
                ));
            }
            return Err(ScanError::Truncated { offset });
        }
        let mut rh = [0u8; RECORD_HEAD as usize];
        reader.read_exact(&mut rh).map_err(|e| ScanError::Io(e.to_string()))?;
        let len32 = u32::from_le_bytes([rh[0], rh[1], rh[2], rh[3]]);
        if u32::from_le_bytes([rh[4], rh[5], rh[6], rh[7]]) != !len32 {
            return Err(ScanError::Corrupt { offset, what: "damaged record length" });
        }
        let len = len32 as u64;
        let crc = u64::from_le_bytes(rh[8..16].try_into().unwrap_or([0; 8]));
        if file_len - offset - RECORD_HEAD < len {
            // A body that would end past the file (its length checked above) is what a
            // crash mid-write leaves: truncation.
            if allow_truncated {
                return Ok((
                    (shard, shards),
                    Scan { file_len, valid_len: offset, records, truncated_at: Some(offset) },
                ));
            }
            return Err(ScanError::Truncated { offset });
        }
        body.resize(len as usize, 0);
        reader.read_exact(&mut body).map_err(|e| ScanError::Io(e.to_string()))?;
        if crc64(crc64(0, &rh[..4]), &body) != crc {
            return Err(ScanError::Corrupt { offset, what: "checksum mismatch" });
        }
        let Some(record) = decode(&body) else {
            return Err(ScanError::Corrupt { offset, what: "malformed record" });
        };
        visit(offset, record).map_err(|message| ScanError::Apply { offset, message })?;
        offset += RECORD_HEAD + len;
        records += 1;
    }
    Ok(((shard, shards), Scan { file_len, valid_len: offset, records, truncated_at: None }))
}

/// Scans the journal file at `path` (see [`scan`]).
pub fn scan_path(
    path: &std::path::Path,
    allow_truncated: bool,
    visit: impl FnMut(u64, Record) -> Result<(), String>,
) -> Result<((usize, usize), Scan), ScanError> {
    let file = std::fs::File::open(path).map_err(|e| ScanError::Io(e.to_string()))?;
    let len = file.metadata().map_err(|e| ScanError::Io(e.to_string()))?.len();
    scan(file, len, allow_truncated, visit)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        let mut out = header(1, 4);
        let mut bodies = Vec::new();
        push_command(&mut bodies, 3, 1234, [b"SET".as_slice(), b"k", b"v"].into_iter());
        frame_each(&mut out, &bodies);
        let mut group = Vec::new();
        push_command(&mut group, 0, 5, [b"INCR".as_slice(), b"n"].into_iter());
        push_command(&mut group, 0, 5, [b"DEL".as_slice(), b"x"].into_iter());
        frame_group(&mut out, 99, 2, 2, &group);
        out
    }

    #[test]
    fn records_round_trip() {
        let file = sample();
        let mut seen = Vec::new();
        let (hdr, scan) = scan(&file[..], file.len() as u64, false, |_, r| {
            seen.push(r);
            Ok(())
        })
        .unwrap();
        assert_eq!(hdr, (1, 4));
        assert_eq!(scan.records, 2);
        assert_eq!(scan.valid_len, file.len() as u64);
        assert_eq!(
            seen[0],
            Record::Command(Command {
                db: 3,
                time_ms: 1234,
                argv: vec![b"SET".to_vec(), b"k".to_vec(), b"v".to_vec()]
            })
        );
        let Record::Group { tx, participants, commands } = &seen[1] else { panic!("not a group") };
        assert_eq!((*tx, *participants, commands.len()), (99, 2, 2));
    }

    #[test]
    fn every_truncation_loads_or_reports() {
        let file = sample();
        for cut in 0..file.len() {
            let result = scan(&file[..cut], cut as u64, true, |_, _| Ok(()));
            let at_boundary = match result {
                Ok((_, s)) => {
                    assert!(s.valid_len <= cut as u64);
                    s.valid_len == cut as u64
                }
                Err(ScanError::BadHeader(_)) => {
                    assert!(cut < HEADER_LEN as usize);
                    false
                }
                Err(e) => panic!("cut {cut}: {e:?}"),
            };
            // A cut between two records is a valid, shorter journal.
            if cut > HEADER_LEN as usize && cut < file.len() && !at_boundary {
                let strict = scan(&file[..cut], cut as u64, false, |_, _| Ok(()));
                assert!(matches!(strict, Err(ScanError::Truncated { .. })), "cut {cut}");
            }
        }
    }

    #[test]
    fn a_damaged_length_in_the_middle_is_corruption_not_truncation() {
        let mut file = sample();
        // The first record's length becomes huge: it would reach past the end of the file.
        file[HEADER_LEN as usize + 3] = 0x7f;
        let err = scan(&file[..], file.len() as u64, true, |_, _| Ok(())).unwrap_err();
        assert_eq!(err, ScanError::Corrupt { offset: HEADER_LEN, what: "damaged record length" });
    }

    #[test]
    fn a_flipped_byte_is_corruption_with_its_offset() {
        let mut file = sample();
        let at = HEADER_LEN as usize + RECORD_HEAD as usize + 3;
        file[at] ^= 0x40;
        let err = scan(&file[..], file.len() as u64, true, |_, _| Ok(())).unwrap_err();
        assert_eq!(err, ScanError::Corrupt { offset: HEADER_LEN, what: "checksum mismatch" });
    }
}
