//! Command families, one file each. Every file lists the commands it implements in a
//! `COMMANDS` table; [`all_impls`] joins them for the registry.

pub mod aof;
pub mod arg;
pub mod bitmap;
pub mod blocking;
pub mod cas;
pub mod command;
pub mod connection;
pub mod dump;
pub mod function;
pub mod geo;
pub mod hash;
pub mod hyperloglog;
pub mod keyspace;
pub mod list;
pub mod persistence;
pub mod pubsub;
pub mod scripting;
pub mod server;
pub mod set;
pub mod sort;
pub mod string;
pub mod transaction;
pub mod zset;

use crate::command::CommandImpl;

/// Every implemented command of every family.
pub fn all_impls() -> Vec<&'static CommandImpl> {
    [
        aof::COMMANDS,
        bitmap::COMMANDS,
        blocking::COMMANDS,
        cas::COMMANDS,
        command::COMMANDS,
        connection::COMMANDS,
        dump::COMMANDS,
        function::COMMANDS,
        geo::COMMANDS,
        hash::COMMANDS,
        keyspace::COMMANDS,
        list::COMMANDS,
        persistence::COMMANDS,
        pubsub::COMMANDS,
        scripting::COMMANDS,
        server::COMMANDS,
        set::COMMANDS,
        sort::COMMANDS,
        string::COMMANDS,
        transaction::COMMANDS,
        zset::COMMANDS,
        hyperloglog::COMMANDS,
    ]
    .into_iter()
    .flatten()
    .collect()
}
