//! `tallkv check-journal [--fix] FILE`: validates a journal file and, with `--fix`,
//! truncates it at the first bad or cut-short record after saying what it drops.

use super::format::{self, ScanError};

/// Runs the subcommand with its arguments (after `check-journal`); returns the exit code
/// and prints its report to stdout (errors to stderr).
pub fn run(args: &[String]) -> i32 {
    let mut fix = false;
    let mut file = None;
    for arg in args {
        match arg.as_str() {
            "--fix" => fix = true,
            "-h" | "--help" => {
                println!("Usage: tallkv check-journal [--fix] <file.jrnl>");
                return 0;
            }
            other if file.is_none() => file = Some(other.to_string()),
            _ => {
                eprintln!("Usage: tallkv check-journal [--fix] <file.jrnl>");
                return 1;
            }
        }
    }
    let Some(file) = file else {
        eprintln!("Usage: tallkv check-journal [--fix] <file.jrnl>");
        return 1;
    };
    let path = std::path::Path::new(&file);
    let len = match std::fs::metadata(path) {
        Ok(meta) => meta.len(),
        Err(e) => {
            eprintln!("Cannot open {file}: {e}");
            return 1;
        }
    };
    let mut records = 0u64;
    let result = format::scan_path(path, true, |_, _| {
        records += 1;
        Ok(())
    });
    let (cut, why) = match result {
        Ok((_, scan)) => match scan.truncated_at {
            None => {
                println!("Journal {file} is valid: {} records, {len} bytes", scan.records);
                return 0;
            }
            Some(at) => (at, "the last record is cut short".to_string()),
        },
        Err(ScanError::Corrupt { offset, what }) => (offset, format!("{what} in the record at offset {offset}")),
        Err(ScanError::BadHeader(e)) => {
            eprintln!("{file}: {e}; not repairable by truncation");
            return 1;
        }
        Err(e) => {
            eprintln!("{}", e.describe(&file));
            return 1;
        }
    };
    let dropped = len - cut;
    let later = frames_after(path, cut, len);
    println!(
        "Journal {file}: {records} valid records up to offset {cut}; {why}. \
         Truncating there drops {dropped} bytes (offset {cut} to {len}: {later} record(s))"
    );
    if !fix {
        println!("Run with --fix to truncate {file} at offset {cut}");
        return 1;
    }
    let truncated = std::fs::OpenOptions::new().write(true).open(path).and_then(|f| {
        f.set_len(cut)?;
        f.sync_all()
    });
    match truncated {
        Ok(()) => {
            println!("Successfully truncated {file} to {cut} bytes: the journal is valid now");
            0
        }
        Err(e) => {
            eprintln!("Failed to truncate {file}: {e}");
            1
        }
    }
}

/// How many records the bytes from `from` to `len` frame (the first counted even if its
/// length field is garbage).
fn frames_after(path: &std::path::Path, from: u64, len: u64) -> u64 {
    let Ok(bytes) = std::fs::read(path) else { return 1 };
    let mut at = from as usize;
    let mut count = 0;
    while (at as u64) < len {
        count += 1;
        let Some(head) = bytes.get(at..at + 4) else { break };
        let body = u32::from_le_bytes([head[0], head[1], head[2], head[3]]) as usize;
        at = at.saturating_add(format::RECORD_HEAD as usize).saturating_add(body);
    }
    count
}
