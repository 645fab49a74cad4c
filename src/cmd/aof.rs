//! BGREWRITEAOF: compacts every shard's journal into a base snapshot plus a fresh
//! journal in the background (see [`crate::persist::rewrite`]).

use bytes::Bytes;

use crate::command::{CmdError, CmdResult, CommandImpl, Handler};
use crate::persist::rewrite::{self, Requested};
use crate::protocol::{Args, Reply};
use crate::server::Session;

/// The journal family's commands.
pub const COMMANDS: &[CommandImpl] = &[CommandImpl { name: "bgrewriteaof", handler: Handler::Local(bgrewriteaof) }];

/// BGREWRITEAOF: starts a journal rewrite, or schedules it while a snapshot runs.
fn bgrewriteaof(s: &mut Session, _args: Args<'_>) -> CmdResult {
    match rewrite::request(&s.node) {
        Ok(Requested::Started) => {
            Ok(Reply::Simple(Bytes::from_static(b"Background append only file rewriting started")))
        }
        Ok(Requested::Scheduled) => {
            Ok(Reply::Simple(Bytes::from_static(b"Background append only file rewriting scheduled")))
        }
        Err(_) => Err(CmdError::from_static("ERR Background append only file rewriting already in progress")),
    }
}
