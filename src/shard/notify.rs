//! Keyspace notifications (`notify-keyspace-events`), as Redis 7.0 sends them.
//!
//! Effects are values: a command records what it did with [`KeyCtx::notify`] (one integer
//! test on the configuration when notifications are off), lazy and active expiry and key
//! creation are recorded by the database itself ([`Db`] keeps a small buffer, filled only
//! when the matching class is selected), and the shard publishes everything recorded once
//! the command, batch or closure is done ([`publish`], from `Node::after_commands`).
//! Each event goes to `__keyspace@<db>__:<key>` (message: the event name) when `K` is
//! set and to `__keyevent@<db>__:<event>` (message: the key) when `E` is set.
//!
//! [`KeyCtx::notify`]: super::KeyCtx::notify
//! [`Db`]: super::Db

use super::node::Node;
use super::{Key, Keyspace};

/// `K`: publish on `__keyspace@<db>__:<key>`.
pub const KEYSPACE: u32 = 1 << 0;
/// `E`: publish on `__keyevent@<db>__:<event>`.
pub const KEYEVENT: u32 = 1 << 1;
/// `g`: generic commands (DEL, EXPIRE, RENAME...).
pub const GENERIC: u32 = 1 << 2;
/// `$`: string commands.
pub const STRING: u32 = 1 << 3;
/// `l`: list commands.
pub const LIST: u32 = 1 << 4;
/// `s`: set commands.
pub const SET: u32 = 1 << 5;
/// `h`: hash commands.
pub const HASH: u32 = 1 << 6;
/// `z`: sorted set commands.
pub const ZSET: u32 = 1 << 7;
/// `x`: expired events.
pub const EXPIRED: u32 = 1 << 8;
/// `e`: evicted events.
pub const EVICTED: u32 = 1 << 9;
/// `t`: stream commands.
pub const STREAM: u32 = 1 << 10;
/// `m`: key misses.
pub const KEY_MISS: u32 = 1 << 11;
/// `d`: module key type events.
pub const MODULE: u32 = 1 << 13;
/// `n`: new keys.
pub const NEW: u32 = 1 << 14;
/// `A`: alias for `g$lshzxetd`.
pub const ALL: u32 = GENERIC | STRING | LIST | SET | HASH | ZSET | EXPIRED | EVICTED | STREAM | MODULE;

/// Parses a `notify-keyspace-events` value as Redis does; `None` on a character that
/// is not a class.
pub fn parse_flags(classes: &str) -> Option<u32> {
    let mut flags = 0;
    for c in classes.bytes() {
        flags |= match c {
            b'A' => ALL,
            b'g' => GENERIC,
            b'$' => STRING,
            b'l' => LIST,
            b's' => SET,
            b'h' => HASH,
            b'z' => ZSET,
            b'x' => EXPIRED,
            b'e' => EVICTED,
            b'K' => KEYSPACE,
            b'E' => KEYEVENT,
            b't' => STREAM,
            b'm' => KEY_MISS,
            b'd' => MODULE,
            b'n' => NEW,
            _ => return None,
        };
    }
    Some(flags)
}

/// Redis's CONFIG SET error for a bad class character.
pub const INVALID_CLASS: &str = "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.";

/// Renders flags as CONFIG GET shows them (Redis's canonical order; `A` hides `n`).
pub fn render_flags(flags: u32) -> String {
    let mut out = String::new();
    if flags & ALL == ALL {
        out.push('A');
    } else {
        for (bit, c) in [
            (GENERIC, 'g'),
            (STRING, '$'),
            (LIST, 'l'),
            (SET, 's'),
            (HASH, 'h'),
            (ZSET, 'z'),
            (EXPIRED, 'x'),
            (EVICTED, 'e'),
            (STREAM, 't'),
            (MODULE, 'd'),
            (NEW, 'n'),
        ] {
            if flags & bit != 0 {
                out.push(c);
            }
        }
    }
    for (bit, c) in [(KEYSPACE, 'K'), (KEYEVENT, 'E'), (KEY_MISS, 'm')] {
        if flags & bit != 0 {
            out.push(c);
        }
    }
    out
}

/// The classes whose events are recorded under `flags`: none unless `K` or `E` is set
/// (Redis publishes nothing then), so "off" is a single zero.
pub fn active_classes(flags: u32) -> u32 {
    if flags & (KEYSPACE | KEYEVENT) == 0 { 0 } else { flags }
}

/// One event waiting to be published.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// The event's name (`set`, `del`, `expired`...).
    pub event: &'static str,
    /// The database index.
    pub db: usize,
    /// The key.
    pub key: Key,
}

/// Events recorded by one database itself (expiry, key creation), waiting to join the
/// keyspace's buffer in order.
#[derive(Debug, Default)]
pub struct DbEvents {
    /// The active classes (see [`active_classes`]), synced from the configuration.
    pub classes: u32,
    /// `(event, key)` in the order they happened.
    pub pending: Vec<(&'static str, Key)>,
}

impl DbEvents {
    /// Records `event` for `key` if `class` is selected.
    #[inline]
    pub fn record(&mut self, class: u32, event: &'static str, key: &[u8]) {
        if self.classes & class != 0 {
            self.pending.push((event, key.into()));
        }
    }
}

impl Keyspace {
    /// Sets the active classes of the keyspace and its databases (what the databases
    /// recorded so far joins the keyspace's buffer, so none is left behind when off).
    pub fn set_notify_classes(&mut self, classes: u32) {
        self.collect_db_events();
        self.notify = classes;
        for db in &mut self.dbs {
            db.events.classes = classes;
        }
    }

    /// Moves the events the databases recorded themselves into the keyspace's buffer.
    pub fn collect_db_events(&mut self) {
        for (index, db) in self.dbs.iter_mut().enumerate() {
            for (event, key) in db.events.pending.drain(..) {
                self.events.push(Event { event, db: index, key });
            }
        }
    }

    /// Records `event` for `key` in database `db` (the class was already checked),
    /// after any event the databases recorded first.
    pub fn record_event(&mut self, event: &'static str, db: usize, key: &[u8]) {
        self.collect_db_events();
        self.events.push(Event { event, db, key: key.into() });
    }

    /// Takes every recorded event, in order.
    pub fn take_events(&mut self) -> Vec<Event> {
        self.collect_db_events();
        std::mem::take(&mut self.events)
    }
}

/// Publishes every event the shard's keyspace recorded (called after commands run on
/// the shard and after the cron's active expiry). Costs one borrow and a few integer
/// tests when notifications are off (the databases hold no pending event then).
pub fn publish(node: &Node) {
    let events = {
        let Ok(mut state) = node.state.try_borrow_mut() else { return };
        let classes = state.config.notify_classes();
        let ks = &mut state.keyspace;
        if ks.notify != classes {
            ks.set_notify_classes(classes);
        }
        if classes == 0 && ks.events.is_empty() {
            return;
        }
        ks.take_events()
    };
    publish_events(node, events);
}

/// Publishes `events` from this shard on the keyspace and keyevent channels the
/// configuration selects.
pub fn publish_events(node: &Node, events: Vec<Event>) {
    if events.is_empty() {
        return;
    }
    let flags = node.state.borrow().config.notify_keyspace_events();
    for e in events {
        if flags & KEYSPACE != 0 {
            let mut channel = format!("__keyspace@{}__:", e.db).into_bytes();
            channel.extend_from_slice(&e.key);
            crate::server::pubsub::publish_from_shard(node, &channel, e.event.as_bytes());
        }
        if flags & KEYEVENT != 0 {
            let channel = format!("__keyevent@{}__:{}", e.db, e.event);
            crate::server::pubsub::publish_from_shard(node, channel.as_bytes(), &e.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_render_like_redis() {
        assert_eq!(render_flags(parse_flags("KEA").unwrap()), "AKE");
        assert_eq!(render_flags(parse_flags("AKEnm").unwrap()), "AKEm");
        assert_eq!(render_flags(parse_flags("gxK$").unwrap()), "g$xK");
        assert_eq!(render_flags(parse_flags("tdnezhsl").unwrap()), "lshzetdn");
        assert_eq!(render_flags(parse_flags("").unwrap()), "");
        assert_eq!(parse_flags("Kq"), None);
        assert_eq!(active_classes(parse_flags("A").unwrap()), 0);
        assert_eq!(active_classes(parse_flags("Kg").unwrap()), KEYSPACE | GENERIC);
    }
}
