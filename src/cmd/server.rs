//! Server commands.

use crate::command::CommandImpl;

/// The server family's commands.
pub const COMMANDS: &[CommandImpl] = &[];
