//! Command families, one file each. Every file lists the commands it implements in a
//! `COMMANDS` table; [`all_impls`] joins them for the registry.

pub mod command;
pub mod connection;
pub mod string;

use crate::command::CommandImpl;

/// Every implemented command of every family.
pub fn all_impls() -> Vec<&'static CommandImpl> {
    [command::COMMANDS, connection::COMMANDS, string::COMMANDS].into_iter().flatten().collect()
}
