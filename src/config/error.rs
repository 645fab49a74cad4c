//! The startup configuration error, displayed like Redis's
//! `*** FATAL CONFIG FILE ERROR ***` block.

use std::fmt;

/// Where a startup configuration error was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorOrigin {
    /// A line of a configuration file (1-based line number).
    File {
        /// The file path as it was given (config file or `include`).
        path: String,
        /// The 1-based line number.
        line: usize,
    },
    /// A `--name value...` option of the command line.
    CommandLine {
        /// The option name, without the leading `--`.
        option: String,
    },
    /// Not tied to a line (unreadable main config file, bad arguments).
    Other,
}

/// A configuration error found at startup (config file or command line).
///
/// `Display` gives the full multi-line report to print on stderr before
/// exiting, e.g.:
///
/// ```text
/// *** FATAL CONFIG FILE ERROR (tallkv) ***
/// Reading the configuration file 'tallkv.conf', at line 2
/// >>> 'port 99999'
/// argument must be between 0 and 65535 inclusive
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    origin: ErrorOrigin,
    text: String,
    reason: String,
}

impl ConfigError {
    /// An error at `line` (1-based) of the file `path`, whose content was
    /// `text`.
    pub fn in_file(path: &str, line: usize, text: &str, reason: impl Into<String>) -> Self {
        ConfigError {
            origin: ErrorOrigin::File { path: path.to_string(), line },
            text: text.to_string(),
            reason: reason.into(),
        }
    }

    /// An error in the command-line option `--option`, shown as `text`
    /// (the option written as a config line, e.g. `port 99999`).
    pub fn in_command_line(option: &str, text: &str, reason: impl Into<String>) -> Self {
        ConfigError {
            origin: ErrorOrigin::CommandLine { option: option.to_string() },
            text: text.to_string(),
            reason: reason.into(),
        }
    }

    /// An error not tied to a particular line or option.
    pub fn other(reason: impl Into<String>) -> Self {
        ConfigError { origin: ErrorOrigin::Other, text: String::new(), reason: reason.into() }
    }

    /// Where the error was found.
    pub fn origin(&self) -> &ErrorOrigin {
        &self.origin
    }

    /// The offending line or option, written as a config line (empty for
    /// [`ErrorOrigin::Other`]).
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Why it is wrong, in Redis's words where Redis has some (e.g.
    /// `argument must be 'yes' or 'no'`).
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "*** FATAL CONFIG FILE ERROR (tallkv) ***")?;
        match &self.origin {
            ErrorOrigin::File { path, line } => {
                writeln!(f, "Reading the configuration file '{path}', at line {line}")?;
                writeln!(f, ">>> '{}'", self.text)?;
            }
            ErrorOrigin::CommandLine { option } => {
                writeln!(f, "Reading the configuration in the command line arguments, at option --{option}")?;
                writeln!(f, ">>> '{}'", self.text)?;
            }
            ErrorOrigin::Other => {}
        }
        write!(f, "{}", self.reason)
    }
}

impl std::error::Error for ConfigError {}

/// The message of an I/O error without Rust's " (os error N)" suffix, so it
/// reads like C's `strerror` (e.g. "No such file or directory").
pub(crate) fn io_reason(err: &std::io::Error) -> String {
    let text = err.to_string();
    match text.find(" (os error ") {
        Some(pos) => text[..pos].to_string(),
        None => text,
    }
}
