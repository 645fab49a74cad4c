//! The server log, in Redis's line format (`pid:M 21 Nov 2026 22:51:17.393 * message`),
//! to stdout or to `logfile`, filtered by `loglevel`.

use std::io::Write;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Mutex, OnceLock};

/// Severity of a log line, as Redis's levels.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub enum Level {
    /// `debug` (`.`).
    Debug = 0,
    /// `verbose` (`-`).
    Verbose = 1,
    /// `notice` (`*`).
    Notice = 2,
    /// `warning` (`#`).
    Warning = 3,
}

static MIN_LEVEL: AtomicU8 = AtomicU8::new(Level::Notice as u8);
/// The log file, when `logfile` names one (a file handle shared by threads: not keyspace data).
static LOG_FILE: OnceLock<Mutex<std::fs::File>> = OnceLock::new();

/// Sets the lowest level written (`loglevel`; `nothing` silences the log).
pub fn set_level(name: &str) {
    let level = match name {
        "debug" => 0,
        "verbose" => 1,
        "notice" => 2,
        "warning" => 3,
        _ => 4,
    };
    MIN_LEVEL.store(level, Ordering::Relaxed);
}

/// Sends the log to `path` (appending) instead of stdout.
pub fn set_file(path: &str) -> Result<(), String> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| format!("Can't open the log file: {e}"))?;
    let _ = LOG_FILE.set(Mutex::new(file));
    Ok(())
}

/// Writes one log line at `level`.
pub fn log(level: Level, message: &str) {
    if (level as u8) < MIN_LEVEL.load(Ordering::Relaxed) {
        return;
    }
    let mark = match level {
        Level::Debug => '.',
        Level::Verbose => '-',
        Level::Notice => '*',
        Level::Warning => '#',
    };
    let line = format!("{}:M {} {mark} {message}\n", std::process::id(), timestamp(crate::util::now_ms()));
    match LOG_FILE.get() {
        Some(file) => {
            if let Ok(mut file) = file.lock() {
                let _ = file.write_all(line.as_bytes());
            }
        }
        None => {
            let _ = std::io::stdout().write_all(line.as_bytes());
        }
    }
}

/// `21 Nov 2026 22:51:17.393` in UTC.
fn timestamp(ms: i64) -> String {
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let secs = ms.div_euclid(1000);
    let (days, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{day:02} {} {year} {:02}:{:02}:{:02}.{:03}",
        MONTHS[(month - 1) as usize],
        rest / 3600,
        (rest / 60) % 60,
        rest % 60,
        ms.rem_euclid(1000)
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn timestamps_are_civil_dates() {
        assert_eq!(super::timestamp(0), "01 Jan 1970 00:00:00.000");
        assert_eq!(super::timestamp(1_795_301_477_393), "21 Nov 2026 22:51:17.393");
    }
}
