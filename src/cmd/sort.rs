//! SORT and SORT_RO.

use crate::command::CommandImpl;

/// The commands this file implements.
pub const COMMANDS: &[CommandImpl] = &[];
