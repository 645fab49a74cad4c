//! Pub/Sub: SUBSCRIBE, PSUBSCRIBE, SSUBSCRIBE and their UNSUBSCRIBEs, PUBLISH, SPUBLISH, PUBSUB.

use crate::command::CommandImpl;

/// The commands this file implements.
pub const COMMANDS: &[CommandImpl] = &[];
