//! Command errors as values, with Redis 7's exact texts.

use bytes::Bytes;

use crate::protocol::Reply;

/// An error reply: the full text, code included (`ERR ...`, `WRONGTYPE ...`).
#[derive(Debug, Clone, PartialEq)]
pub struct CmdError(pub Bytes);

/// What a command returns: its reply, or an error reply.
pub type CmdResult = Result<Reply, CmdError>;

impl From<CmdError> for Reply {
    fn from(e: CmdError) -> Reply {
        Reply::Error(e.0)
    }
}

impl CmdError {
    /// An error from static text, code included.
    pub const fn from_static(text: &'static str) -> CmdError {
        CmdError(Bytes::from_static(text.as_bytes()))
    }

    /// An error from owned text, code included.
    pub fn msg(text: impl Into<String>) -> CmdError {
        CmdError(Bytes::from(text.into()))
    }

    /// `ERR <text>`.
    pub fn err(text: impl AsRef<str>) -> CmdError {
        CmdError::msg(format!("ERR {}", text.as_ref()))
    }

    /// `ERR wrong number of arguments for '<name>' command`.
    pub fn arity(name: &str) -> CmdError {
        CmdError::msg(format!("ERR wrong number of arguments for '{name}' command"))
    }

    /// `ERR invalid expire time in '<name>' command`.
    pub fn invalid_expire(name: &str) -> CmdError {
        CmdError::msg(format!("ERR invalid expire time in '{name}' command"))
    }

    /// `ERR unknown subcommand '<sub>'. Try <CMD> HELP.`
    pub fn unknown_subcommand(sub: &[u8], command: &str) -> CmdError {
        CmdError::msg(format!(
            "ERR unknown subcommand '{}'. Try {} HELP.",
            truncate_lossy(sub, 128),
            command.to_ascii_uppercase()
        ))
    }

    /// The text of the error.
    pub fn text(&self) -> &[u8] {
        &self.0
    }
}

/// Text of at most `max` bytes, lossily decoded (for error messages that quote arguments).
pub fn truncate_lossy(text: &[u8], max: usize) -> String {
    String::from_utf8_lossy(&text[..text.len().min(max)]).into_owned()
}

/// `WRONGTYPE Operation against a key holding the wrong kind of value`.
pub const WRONG_TYPE: CmdError =
    CmdError::from_static("WRONGTYPE Operation against a key holding the wrong kind of value");
/// `ERR value is not an integer or out of range`.
pub const NOT_INTEGER: CmdError = CmdError::from_static("ERR value is not an integer or out of range");
/// `ERR value is not a valid float`.
pub const NOT_FLOAT: CmdError = CmdError::from_static("ERR value is not a valid float");
/// `ERR syntax error`.
pub const SYNTAX: CmdError = CmdError::from_static("ERR syntax error");
/// `ERR increment or decrement would overflow`.
pub const OVERFLOW: CmdError = CmdError::from_static("ERR increment or decrement would overflow");
/// `ERR no such key`.
pub const NO_SUCH_KEY: CmdError = CmdError::from_static("ERR no such key");
/// `ERR DB index is out of range`.
pub const DB_INDEX_OUT_OF_RANGE: CmdError = CmdError::from_static("ERR DB index is out of range");
/// `ERR index out of range`.
pub const INDEX_OUT_OF_RANGE: CmdError = CmdError::from_static("ERR index out of range");
/// `ERR string exceeds maximum allowed size (proto-max-bulk-len)`.
pub const STRING_TOO_LONG: CmdError =
    CmdError::from_static("ERR string exceeds maximum allowed size (proto-max-bulk-len)");
/// `ERR timeout is not an integer or out of range`.
pub const TIMEOUT_NOT_INTEGER: CmdError = CmdError::from_static("ERR timeout is not an integer or out of range");
