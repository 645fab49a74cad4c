//! Connection commands: PING, ECHO, QUIT, SELECT, ...

use bytes::Bytes;

use crate::command::error::DB_INDEX_OUT_OF_RANGE;
use crate::command::{CmdError, CmdResult, CommandImpl, Handler};
use crate::protocol::{Args, Reply};
use crate::server::Session;

/// The connection family's commands.
pub const COMMANDS: &[CommandImpl] = &[
    CommandImpl { name: "ping", handler: Handler::Local(ping) },
    CommandImpl { name: "echo", handler: Handler::Local(echo) },
    CommandImpl { name: "quit", handler: Handler::Local(quit) },
    CommandImpl { name: "select", handler: Handler::Local(select) },
];

/// PING [message]: answers PONG, or the message.
fn ping(_session: &mut Session, args: Args<'_>) -> CmdResult {
    match args.len() {
        1 => Ok(Reply::simple("PONG")),
        2 => Ok(Reply::bulk(args.get(1))),
        _ => Err(CmdError::arity("ping")),
    }
}

/// ECHO message: answers the message.
fn echo(_session: &mut Session, args: Args<'_>) -> CmdResult {
    Ok(Reply::bulk(args.get(1)))
}

/// QUIT: answers OK and closes the connection.
fn quit(session: &mut Session, _args: Args<'_>) -> CmdResult {
    session.close_after_reply = true;
    Ok(Reply::Ok)
}

/// SELECT index: selects the database for this connection.
fn select(session: &mut Session, args: Args<'_>) -> CmdResult {
    let index = crate::util::num::parse_canonical_i64(args.get(1))
        .ok_or_else(|| CmdError::from_static("ERR value is not an integer or out of range"))?;
    if index < 0 || index as usize >= session.config().databases() {
        return Err(DB_INDEX_OUT_OF_RANGE);
    }
    session.set_db(index as usize);
    let _ = Bytes::new();
    Ok(Reply::Ok)
}
