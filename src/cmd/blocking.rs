//! Blocking pops: BLPOP BRPOP BLMOVE BRPOPLPUSH BLMPOP BZPOPMIN BZPOPMAX BZMPOP.

use crate::command::CommandImpl;

/// The commands this file implements.
pub const COMMANDS: &[CommandImpl] = &[];
