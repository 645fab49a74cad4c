//! Bitmap commands.

use crate::command::CommandImpl;

/// The bitmap family's commands.
pub const COMMANDS: &[CommandImpl] = &[];
