//! Keyspace commands.

use crate::command::CommandImpl;

/// The keyspace family's commands.
pub const COMMANDS: &[CommandImpl] = &[];
