//! The wire protocol: requests in, replies out.
//!
//! Requests are parsed by our own incremental parser ([`request`]) rather than by the
//! redis-protocol crate: a server must reproduce Redis's exact protocol error texts,
//! refuse an oversized bulk or multibulk header before buffering it, accept inline
//! commands (which redis-protocol does not parse), and resume a half-received frame
//! without re-scanning it. The redis-protocol crate is the independent reference the
//! property tests check our encoder and parser against (`protocol/tests.rs`).

pub mod args;
pub mod reply;
pub mod request;

#[cfg(test)]
mod tests;

pub use args::{Args, OwnedArgs};
pub use reply::{Reply, encode};
pub use request::{Limits, Parsed, RequestParser};
