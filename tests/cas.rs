//! Compare-and-set without scripts against a 4-shard server: SET's IFEQ/IFNE/IFDEQ/IFDNE,
//! DELEX and DIGEST (Redis 8.4's semantics), and INCRBYBOUNDED (tallkv's own). Exact
//! replies and errors, keyspace events, and lock and stock-counter patterns raced by
//! concurrent clients.

mod common;

use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};

use common::{NOT_INT, Raw, SYNTAX, Server, WRONGTYPE, bulk, cmd, cmdv, key_on, make_non_string};

const OK: &str = "+OK\r\n";
const NIL: &str = "$-1\r\n";
const BAD_DIGEST: &str = "-ERR must be exactly 16 hexadecimal characters\r\n";
const OVERFLOW: &str = "-ERR increment or decrement would overflow\r\n";
const BELOW_MIN: &str = "-ERR increment would take the value below MIN\r\n";
const ABOVE_MAX: &str = "-ERR increment would take the value above MAX\r\n";
const MIN_ABOVE_MAX: &str = "-ERR MIN can't be greater than MAX\r\n";

/// Asserts the exact raw reply of a command.
#[track_caller]
fn check(r: &mut Raw, args: &[&str], expected: &str) {
    assert_eq!(cmdv(r, args), expected, "{args:?}");
}

fn int(n: i64) -> String {
    format!(":{n}\r\n")
}

/// Asserts that `key` has a TTL set to 100 s a moment ago (99 under a slow machine).
#[track_caller]
fn assert_ttl_near_100(r: &mut Raw, key: &str) {
    let reply = cmdv(r, &["TTL", key]);
    assert!(reply == int(100) || reply == int(99), "TTL {key}: {reply:?}");
}

/// The XXH3-64 digest of `data` as Redis's DIGEST prints it, computed independently.
fn xxh3_hex(data: &[u8]) -> String {
    format!("{:016x}", xxhash_rust::xxh3::xxh3_64(data))
}

/// The digest DIGEST returns for `key`.
fn digest_of(r: &mut Raw, key: &str) -> String {
    let reply = cmdv(r, &["DIGEST", key]);
    let text = reply.strip_prefix("$16\r\n").and_then(|t| t.strip_suffix("\r\n"));
    text.unwrap_or_else(|| panic!("DIGEST {key}: {reply:?}")).to_string()
}

#[test]
fn digest_replies() {
    let server = Server::start_sharded();
    let mut r = server.raw();
    check(&mut r, &["SET", "greeting", "Hello world"], OK);
    // The example of Redis's DIGEST documentation.
    check(&mut r, &["DIGEST", "greeting"], &bulk("b6acb9d84a38ff74"));
    check(&mut r, &["DIGEST", "missing"], NIL);
    // Leading zeros are kept (the value of redis/redis#14496 hashes to 0x00006c38adf31777).
    let long = "v8lf0c11xh8ymlqztfd3eeq16kfn4sspw7fqmnuuq3k3t75em5wdizgcdw7uc26nnf961u2jkfzkjytls2kwlj7626sd";
    check(&mut r, &["SET", "zeros", long], OK);
    check(&mut r, &["DIGEST", "zeros"], &bulk("00006c38adf31777"));
    // Every encoding digests the bytes GET returns: int, embstr, raw, empty, binary.
    check(&mut r, &["SET", "n", "12345"], OK);
    check(&mut r, &["OBJECT", "ENCODING", "n"], &bulk("int"));
    check(&mut r, &["SET", "s", "123"], OK);
    check(&mut r, &["APPEND", "s", "45"], &int(5));
    check(&mut r, &["OBJECT", "ENCODING", "s"], &bulk("raw"));
    assert_eq!(digest_of(&mut r, "n"), xxh3_hex(b"12345"));
    assert_eq!(digest_of(&mut r, "s"), xxh3_hex(b"12345"));
    check(&mut r, &["SET", "neg", "-7"], OK);
    assert_eq!(digest_of(&mut r, "neg"), xxh3_hex(b"-7"));
    check(&mut r, &["SET", "empty", ""], OK);
    assert_eq!(digest_of(&mut r, "empty"), xxh3_hex(b""));
    let big = "x".repeat(100_000);
    check(&mut r, &["SET", "big", &big], OK);
    assert_eq!(digest_of(&mut r, "big"), xxh3_hex(big.as_bytes()));
    let binary = r.cmd(&[b"SET", b"bin", b"a\0b\r\n\xff"]);
    assert_eq!(binary, OK.as_bytes());
    assert_eq!(digest_of(&mut r, "bin"), xxh3_hex(b"a\0b\r\n\xff"));
    // Errors.
    assert!(make_non_string(&mut r, "list"));
    check(&mut r, &["DIGEST", "list"], WRONGTYPE);
    check(&mut r, &["DIGEST"], "-ERR wrong number of arguments for 'digest' command\r\n");
    check(&mut r, &["DIGEST", "a", "b"], "-ERR wrong number of arguments for 'digest' command\r\n");
}

#[test]
fn set_with_value_conditions() {
    let server = Server::start_sharded();
    let mut r = server.raw();
    check(&mut r, &["SET", "k", "old"], OK);
    // IFEQ: only when the value is exactly the argument.
    check(&mut r, &["SET", "k", "new", "IFEQ", "other"], NIL);
    check(&mut r, &["GET", "k"], &bulk("old"));
    check(&mut r, &["SET", "k", "new", "IFEQ", "OLD"], NIL);
    check(&mut r, &["SET", "k", "new", "ifeq", "old"], OK);
    check(&mut r, &["GET", "k"], &bulk("new"));
    // IFNE: only when it differs.
    check(&mut r, &["SET", "k", "newer", "IFNE", "new"], NIL);
    check(&mut r, &["GET", "k"], &bulk("new"));
    check(&mut r, &["SET", "k", "newer", "IfNe", "something"], OK);
    check(&mut r, &["GET", "k"], &bulk("newer"));
    // A missing key: IFEQ does not create it, IFNE does.
    check(&mut r, &["SET", "absent", "v", "IFEQ", "v"], NIL);
    check(&mut r, &["EXISTS", "absent"], &int(0));
    check(&mut r, &["SET", "absent", "v", "IFNE", "v"], OK);
    check(&mut r, &["GET", "absent"], &bulk("v"));
    // Integer-encoded values compare as their decimal text.
    check(&mut r, &["SET", "n", "10"], OK);
    check(&mut r, &["SET", "n", "11", "IFEQ", "010"], NIL);
    check(&mut r, &["SET", "n", "11", "IFEQ", "10"], OK);
    check(&mut r, &["GET", "n"], &bulk("11"));
    // Binary-safe and empty values.
    check(&mut r, &["SET", "e", ""], OK);
    check(&mut r, &["SET", "e", "x", "IFEQ", ""], OK);
    check(&mut r, &["GET", "e"], &bulk("x"));
}

#[test]
fn set_with_digest_conditions() {
    let server = Server::start_sharded();
    let mut r = server.raw();
    check(&mut r, &["SET", "k", "v1"], OK);
    let d1 = digest_of(&mut r, "k");
    assert_eq!(d1, xxh3_hex(b"v1"));
    let other = xxh3_hex(b"something else");
    check(&mut r, &["SET", "k", "v2", "IFDEQ", &other], NIL);
    check(&mut r, &["GET", "k"], &bulk("v1"));
    check(&mut r, &["SET", "k", "v2", "IFDEQ", &d1], OK);
    check(&mut r, &["GET", "k"], &bulk("v2"));
    // Case-insensitive, like Redis 8.4.
    let d2 = digest_of(&mut r, "k");
    check(&mut r, &["SET", "k", "v3", "IFDEQ", &d2.to_ascii_uppercase()], OK);
    let d3 = digest_of(&mut r, "k");
    check(&mut r, &["SET", "k", "v4", "IFDNE", &d3.to_ascii_uppercase()], NIL);
    check(&mut r, &["SET", "k", "v4", "IFDNE", &d3], NIL);
    check(&mut r, &["SET", "k", "v4", "IFDNE", &d1], OK);
    check(&mut r, &["GET", "k"], &bulk("v4"));
    // Missing key: IFDEQ does not create, IFDNE does.
    check(&mut r, &["SET", "absent", "v", "IFDEQ", &d1], NIL);
    check(&mut r, &["EXISTS", "absent"], &int(0));
    check(&mut r, &["SET", "absent", "v", "IFDNE", &d1], OK);
    check(&mut r, &["GET", "absent"], &bulk("v"));
    // A digest must be exactly 16 characters, whether or not the key exists.
    for bad in ["", "abc", "b6acb9d84a38ff7", "b6acb9d84a38ff744", "0x6acb9d84a38ff74a"] {
        check(&mut r, &["SET", "k", "x", "IFDEQ", bad], BAD_DIGEST);
        check(&mut r, &["SET", "nokey", "x", "IFDNE", bad], BAD_DIGEST);
    }
    check(&mut r, &["GET", "k"], &bulk("v4"));
    check(&mut r, &["EXISTS", "nokey"], &int(0));
    // 16 characters that are not hex are accepted but match no digest, as in Redis.
    check(&mut r, &["SET", "k", "x", "IFDEQ", "zzzzzzzzzzzzzzzz"], NIL);
    check(&mut r, &["SET", "k", "x", "IFDNE", "zzzzzzzzzzzzzzzz"], OK);
}

#[test]
fn set_condition_option_rules() {
    let server = Server::start_sharded();
    let mut r = server.raw();
    check(&mut r, &["SET", "k", "v"], OK);
    let d = digest_of(&mut r, "k");
    // The conditions share one slot with NX and XX: any two together is a syntax error.
    for args in [
        &["SET", "k", "x", "IFEQ", "v", "NX"][..],
        &["SET", "k", "x", "NX", "IFEQ", "v"],
        &["SET", "k", "x", "XX", "IFNE", "v"],
        &["SET", "k", "x", "IFDEQ", &d, "XX"],
        &["SET", "k", "x", "IFEQ", "v", "IFNE", "w"],
        &["SET", "k", "x", "IFEQ", "v", "IFEQ", "v"],
        &["SET", "k", "x", "IFEQ"],
        &["SET", "k", "x", "IFDNE"],
        &["SET", "k", "x", "GET", "IFEQ"],
        &["SET", "k", "x", "IFXX", "v"],
    ] {
        check(&mut r, args, SYNTAX);
    }
    check(&mut r, &["GET", "k"], &bulk("v"));
    // A syntax error wins over a bad digest met later.
    check(&mut r, &["SET", "k", "x", "NX", "IFDEQ", "short"], SYNTAX);

    // GET returns the old value whether or not the condition held.
    check(&mut r, &["SET", "k", "x", "IFEQ", "nope", "GET"], &bulk("v"));
    check(&mut r, &["GET", "k"], &bulk("v"));
    check(&mut r, &["SET", "k", "x", "GET", "IFEQ", "v"], &bulk("v"));
    check(&mut r, &["GET", "k"], &bulk("x"));
    check(&mut r, &["SET", "nokey", "x", "IFEQ", "v", "GET"], NIL);
    check(&mut r, &["EXISTS", "nokey"], &int(0));
    check(&mut r, &["SET", "nokey", "y", "IFNE", "v", "GET"], NIL);
    check(&mut r, &["GET", "nokey"], &bulk("y"));

    // Expiry options apply when the condition holds, and only then.
    check(&mut r, &["SET", "t", "a"], OK);
    check(&mut r, &["SET", "t", "b", "IFEQ", "zzz", "EX", "100"], NIL);
    check(&mut r, &["TTL", "t"], &int(-1));
    check(&mut r, &["SET", "t", "b", "IFEQ", "a", "EX", "100"], OK);
    assert_ttl_near_100(&mut r, "t");
    check(&mut r, &["SET", "t", "c", "IFNE", "zzz", "KEEPTTL"], OK);
    assert_ttl_near_100(&mut r, "t");
    check(&mut r, &["SET", "t", "d", "IFEQ", "c"], OK);
    check(&mut r, &["TTL", "t"], &int(-1));
    // An invalid expiry is reported before the condition is looked at.
    check(&mut r, &["SET", "t", "e", "IFEQ", "nope", "EX", "0"], "-ERR invalid expire time in 'set' command\r\n");
    check(&mut r, &["SET", "t", "e", "IFEQ", "d", "PX", "abc"], NOT_INT);

    // A key of another type: WRONGTYPE for every condition, and the key is untouched.
    assert!(make_non_string(&mut r, "list"));
    for cond in ["IFEQ", "IFNE"] {
        check(&mut r, &["SET", "list", "x", cond, "a"], WRONGTYPE);
        check(&mut r, &["SET", "list", "x", cond, "a", "GET"], WRONGTYPE);
    }
    for cond in ["IFDEQ", "IFDNE"] {
        check(&mut r, &["SET", "list", "x", cond, &d], WRONGTYPE);
    }
    let kind = cmd(&mut r, "TYPE list");
    assert_ne!(kind, "+string\r\n");
    // Plain SET still overwrites any type.
    check(&mut r, &["SET", "list", "x"], OK);
    check(&mut r, &["GET", "list"], &bulk("x"));
}

#[test]
fn delex_replies() {
    let server = Server::start_sharded();
    let mut r = server.raw();
    // No condition: DEL of one key, of any type.
    check(&mut r, &["SET", "k", "v"], OK);
    check(&mut r, &["DELEX", "k"], &int(1));
    check(&mut r, &["DELEX", "k"], &int(0));
    assert!(make_non_string(&mut r, "list"));
    check(&mut r, &["DELEX", "list"], &int(1));
    check(&mut r, &["EXISTS", "list"], &int(0));

    // IFEQ / IFNE.
    check(&mut r, &["SET", "k", "v"], OK);
    check(&mut r, &["DELEX", "k", "IFEQ", "w"], &int(0));
    check(&mut r, &["DELEX", "k", "IFNE", "v"], &int(0));
    check(&mut r, &["GET", "k"], &bulk("v"));
    check(&mut r, &["DELEX", "k", "ifeq", "v"], &int(1));
    check(&mut r, &["EXISTS", "k"], &int(0));
    check(&mut r, &["SET", "k", "v"], OK);
    check(&mut r, &["DELEX", "k", "IFNE", "w"], &int(1));
    check(&mut r, &["EXISTS", "k"], &int(0));
    check(&mut r, &["SET", "n", "42"], OK);
    check(&mut r, &["DELEX", "n", "IFEQ", "42"], &int(1));

    // IFDEQ / IFDNE.
    check(&mut r, &["SET", "k", "v"], OK);
    let d = digest_of(&mut r, "k");
    let other = xxh3_hex(b"w");
    check(&mut r, &["DELEX", "k", "IFDEQ", &other], &int(0));
    check(&mut r, &["DELEX", "k", "IFDNE", &d], &int(0));
    check(&mut r, &["DELEX", "k", "IFDNE", &d.to_ascii_uppercase()], &int(0));
    check(&mut r, &["DELEX", "k", "IFDEQ", &d.to_ascii_uppercase()], &int(1));
    check(&mut r, &["SET", "k", "v"], OK);
    check(&mut r, &["DELEX", "k", "IFDNE", &other], &int(1));
    check(&mut r, &["EXISTS", "k"], &int(0));

    // A missing key is never deleted, whatever the condition.
    for cond in [["IFEQ", "v"], ["IFNE", "v"], ["IFDEQ", &d], ["IFDNE", &d]] {
        check(&mut r, &["DELEX", "nokey", cond[0], cond[1]], &int(0));
    }

    // Errors.
    assert!(make_non_string(&mut r, "list"));
    for cond in [["IFEQ", "v"], ["IFNE", "v"], ["IFDEQ", &d], ["IFDNE", &d]] {
        check(&mut r, &["DELEX", "list", cond[0], cond[1]], WRONGTYPE);
    }
    check(&mut r, &["EXISTS", "list"], &int(1));
    check(&mut r, &["SET", "k", "v"], OK);
    check(&mut r, &["DELEX", "k", "IFDEQ", "abc"], BAD_DIGEST);
    check(&mut r, &["DELEX", "nokey", "IFDNE", "abc"], BAD_DIGEST);
    check(&mut r, &["DELEX", "k", "IFEQ"], SYNTAX);
    check(&mut r, &["DELEX", "k", "IFEQ", "v", "extra"], SYNTAX);
    check(&mut r, &["DELEX", "k", "NX", "v"], SYNTAX);
    check(&mut r, &["DELEX", "k", "v"], SYNTAX);
    check(&mut r, &["DELEX"], "-ERR wrong number of arguments for 'delex' command\r\n");
    check(&mut r, &["GET", "k"], &bulk("v"));
}

#[test]
fn incrbybounded_replies() {
    let server = Server::start_sharded();
    let mut r = server.raw();
    // Without bounds it is INCRBY.
    check(&mut r, &["INCRBYBOUNDED", "c", "5"], &int(5));
    check(&mut r, &["INCRBYBOUNDED", "c", "-7"], &int(-2));
    check(&mut r, &["GET", "c"], &bulk("-2"));
    check(&mut r, &["OBJECT", "ENCODING", "c"], &bulk("int"));

    // A stock that never goes negative: the step is refused, never clamped.
    check(&mut r, &["SET", "stock", "3"], OK);
    check(&mut r, &["INCRBYBOUNDED", "stock", "-2", "MIN", "0"], &int(1));
    check(&mut r, &["INCRBYBOUNDED", "stock", "-2", "MIN", "0"], BELOW_MIN);
    check(&mut r, &["GET", "stock"], &bulk("1"));
    check(&mut r, &["INCRBYBOUNDED", "stock", "-1", "min", "0"], &int(0));
    check(&mut r, &["INCRBYBOUNDED", "stock", "-1", "MIN", "0"], BELOW_MIN);
    check(&mut r, &["GET", "stock"], &bulk("0"));
    // MAX, both bounds in either order, inclusive bounds.
    check(&mut r, &["INCRBYBOUNDED", "stock", "10", "MAX", "10"], &int(10));
    check(&mut r, &["INCRBYBOUNDED", "stock", "1", "MAX", "10"], ABOVE_MAX);
    check(&mut r, &["INCRBYBOUNDED", "stock", "1", "max", "12", "MIN", "0"], &int(11));
    check(&mut r, &["INCRBYBOUNDED", "stock", "-11", "MIN", "0", "MAX", "12"], &int(0));
    check(&mut r, &["INCRBYBOUNDED", "stock", "0", "MIN", "0", "MAX", "0"], &int(0));
    // The last of a repeated bound wins.
    check(&mut r, &["INCRBYBOUNDED", "stock", "5", "MAX", "1", "MAX", "5"], &int(5));
    check(&mut r, &["GET", "stock"], &bulk("5"));

    // Only the result is checked: a value already outside the bounds may move back in,
    // and a step that leaves it outside is refused (even a zero step).
    check(&mut r, &["SET", "out", "-5"], OK);
    check(&mut r, &["INCRBYBOUNDED", "out", "1", "MIN", "0"], BELOW_MIN);
    check(&mut r, &["INCRBYBOUNDED", "out", "0", "MIN", "0"], BELOW_MIN);
    check(&mut r, &["INCRBYBOUNDED", "out", "7", "MIN", "0"], &int(2));

    // A missing key starts at 0, which need not lie within the bounds; a refused step
    // does not create the key.
    check(&mut r, &["INCRBYBOUNDED", "new", "-1", "MIN", "0"], BELOW_MIN);
    check(&mut r, &["INCRBYBOUNDED", "new", "5", "MAX", "3"], ABOVE_MAX);
    check(&mut r, &["INCRBYBOUNDED", "new", "5", "MIN", "10"], BELOW_MIN);
    check(&mut r, &["EXISTS", "new"], &int(0));
    check(&mut r, &["INCRBYBOUNDED", "new", "15", "MIN", "10", "MAX", "20"], &int(15));

    // The TTL is kept, as INCRBY keeps it.
    check(&mut r, &["SET", "ttl", "1", "EX", "100"], OK);
    check(&mut r, &["INCRBYBOUNDED", "ttl", "1", "MAX", "10"], &int(2));
    assert_ttl_near_100(&mut r, "ttl");

    // INCRBY's errors, in INCRBY's order.
    check(&mut r, &["SET", "max", &i64::MAX.to_string()], OK);
    check(&mut r, &["INCRBYBOUNDED", "max", "1"], OVERFLOW);
    check(&mut r, &["INCRBYBOUNDED", "max", "1", "MAX", "5"], OVERFLOW);
    check(&mut r, &["SET", "min", &i64::MIN.to_string()], OK);
    check(&mut r, &["INCRBYBOUNDED", "min", "-1", "MIN", "0"], OVERFLOW);
    check(&mut r, &["SET", "text", "abc"], OK);
    check(&mut r, &["INCRBYBOUNDED", "text", "1"], NOT_INT);
    check(&mut r, &["SET", "spaced", " 1"], OK);
    check(&mut r, &["INCRBYBOUNDED", "spaced", "1"], NOT_INT);
    check(&mut r, &["INCRBYBOUNDED", "c", "1.5"], NOT_INT);
    check(&mut r, &["INCRBYBOUNDED", "c", "01"], NOT_INT);
    assert!(make_non_string(&mut r, "list"));
    check(&mut r, &["INCRBYBOUNDED", "list", "1"], WRONGTYPE);

    // Argument errors come before the key is looked at.
    check(&mut r, &["INCRBYBOUNDED", "list", "1", "MIN", "5", "MAX", "4"], MIN_ABOVE_MAX);
    check(&mut r, &["INCRBYBOUNDED", "c", "1", "MIN", "x"], NOT_INT);
    check(&mut r, &["INCRBYBOUNDED", "c", "1", "MAX", "9223372036854775808"], NOT_INT);
    check(&mut r, &["INCRBYBOUNDED", "c", "1", "MIN"], SYNTAX);
    check(&mut r, &["INCRBYBOUNDED", "c", "1", "MIN", "0", "MAX"], SYNTAX);
    check(&mut r, &["INCRBYBOUNDED", "c", "1", "FLOOR", "0"], SYNTAX);
    check(&mut r, &["INCRBYBOUNDED", "c"], "-ERR wrong number of arguments for 'incrbybounded' command\r\n");
    check(&mut r, &["GET", "c"], &bulk("-2"));
}

/// Keyspace events: SET with a condition → `set`, DELEX → `del`, INCRBYBOUNDED →
/// `incrby`; nothing when the condition fails or the bound refuses the step.
#[test]
fn keyspace_events() {
    let server = Server::start_sharded();
    let mut c = server.raw();
    check(&mut c, &["CONFIG", "SET", "notify-keyspace-events", "E$g"], OK);
    let mut sub = server.raw();
    let reply = cmd(&mut sub, "PSUBSCRIBE __keyevent@0__:*");
    assert!(reply.contains("psubscribe"), "{reply:?}");
    // One hash tag: events of one shard keep their order.
    check(&mut c, &["SET", "{e}k", "a"], OK);
    check(&mut c, &["SET", "{e}k", "b", "IFEQ", "zzz"], NIL);
    check(&mut c, &["SET", "{e}k", "b", "IFEQ", "a"], OK);
    check(&mut c, &["DELEX", "{e}k", "IFEQ", "zzz"], &int(0));
    check(&mut c, &["DELEX", "{e}k", "IFEQ", "b"], &int(1));
    check(&mut c, &["INCRBYBOUNDED", "{e}n", "-1", "MIN", "0"], BELOW_MIN);
    check(&mut c, &["INCRBYBOUNDED", "{e}n", "1", "MIN", "0"], &int(1));
    check(&mut c, &["DELEX", "{e}n"], &int(1));
    check(&mut c, &["SET", "{e}end", "1"], OK);
    let mut events = Vec::new();
    while events.last().map(String::as_str) != Some("set {e}end") {
        let reply = String::from_utf8_lossy(&sub.read_reply()).into_owned();
        let parts: Vec<&str> = reply.split("\r\n").collect();
        // *4 $8 pmessage $n pattern $n channel $n key
        let channel = parts[6].trim_start_matches("__keyevent@0__:");
        events.push(format!("{channel} {}", parts[8]));
    }
    assert_eq!(events, ["set {e}k", "set {e}k", "del {e}k", "incrby {e}n", "del {e}n", "set {e}end"]);
}

/// Lock release and renewal raced by clients on different connections (and shards):
/// only the owner's IFEQ succeeds.
#[test]
fn lock_release_and_renew_race() {
    let server = Server::start_sharded();
    const CLIENTS: usize = 8;
    const ROUNDS: usize = 40;
    // Locks on every shard, so most clients reach them through another shard.
    let locks: Vec<String> = (0..4).map(|s| key_on(s, "lock:")).collect();
    let barrier = Arc::new(Barrier::new(CLIENTS));
    let acquired = Arc::new(AtomicUsize::new(0));
    let released = Arc::new(AtomicUsize::new(0));
    let threads: Vec<_> = (0..CLIENTS)
        .map(|id| {
            let mut r = server.raw();
            let (barrier, acquired, released) = (barrier.clone(), acquired.clone(), released.clone());
            let locks = locks.clone();
            std::thread::spawn(move || {
                let token = format!("owner-{id}");
                for round in 0..ROUNDS {
                    let lock = &locks[round % locks.len()];
                    barrier.wait();
                    let mine = cmdv(&mut r, &["SET", lock, &token, "NX", "PX", "10000"]) == OK;
                    if mine {
                        acquired.fetch_add(1, Ordering::SeqCst);
                    }
                    barrier.wait();
                    // Everybody tries to renew, then to release, with their own token.
                    let renew = cmdv(&mut r, &["SET", lock, &token, "IFEQ", &token, "PX", "20000"]);
                    assert_eq!(renew, if mine { OK } else { NIL }, "renew by {token}");
                    let digest = xxh3_hex(token.as_bytes());
                    let reply = if id % 2 == 0 {
                        cmdv(&mut r, &["DELEX", lock, "IFEQ", &token])
                    } else {
                        cmdv(&mut r, &["DELEX", lock, "IFDEQ", &digest])
                    };
                    assert_eq!(reply, int(i64::from(mine)), "release by {token}");
                    if reply == int(1) {
                        released.fetch_add(1, Ordering::SeqCst);
                    }
                    barrier.wait();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("client thread");
    }
    assert_eq!(acquired.load(Ordering::SeqCst), ROUNDS, "one owner per round");
    assert_eq!(released.load(Ordering::SeqCst), ROUNDS, "only owners release");
    let mut r = server.raw();
    for lock in &locks {
        check(&mut r, &["EXISTS", lock], &int(0));
    }
}

/// Eight clients decrement one stock with MIN 0 until refused: exactly the initial
/// stock is handed out and the value never goes below 0.
#[test]
fn bounded_counter_under_concurrent_decrementers() {
    let server = Server::start_sharded();
    const STOCK: i64 = 2000;
    const CLIENTS: usize = 8;
    let key = key_on(2, "stock:");
    let mut r = server.raw();
    check(&mut r, &["SET", &key, &STOCK.to_string()], OK);
    let granted = Arc::new(AtomicI64::new(0));
    let barrier = Arc::new(Barrier::new(CLIENTS));
    let threads: Vec<_> = (0..CLIENTS)
        .map(|id| {
            let mut r = server.raw();
            let (key, granted, barrier) = (key.clone(), granted.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                // Odd clients take two at a time, so some steps are refused while one remains.
                let step = if id % 2 == 0 { 1 } else { 2 };
                let mut last = i64::MAX;
                loop {
                    let reply = cmdv(&mut r, &["INCRBYBOUNDED", &key, &(-step).to_string(), "MIN", "0"]);
                    if reply == BELOW_MIN {
                        break;
                    }
                    let value: i64 = reply.trim_start_matches(':').trim_end().parse().expect("integer reply");
                    assert!(value >= 0, "went below MIN: {value}");
                    assert!(value < last, "values only decrease");
                    last = value;
                    granted.fetch_add(step, Ordering::SeqCst);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("client thread");
    }
    let left: i64 = cmdv(&mut r, &["GET", &key]).split("\r\n").nth(1).expect("bulk").parse().expect("integer");
    assert!((0..=1).contains(&left), "left {left}");
    assert_eq!(granted.load(Ordering::SeqCst) + left, STOCK);
}

#[test]
fn command_metadata() {
    let server = Server::start_sharded();
    let mut conn = server.client();
    for (name, arity) in [("delex", -2), ("digest", 2), ("incrbybounded", -3), ("set", -3)] {
        let info = common::query(&mut conn, &["COMMAND", "INFO", name]);
        let text = format!("{info:?}");
        assert!(text.contains(&format!("int({arity})")) || text.contains(&format!("Int({arity})")), "{name}: {text}");
    }
    let mut r = server.raw();
    let keys = cmdv(&mut r, &["COMMAND", "GETKEYS", "DELEX", "k", "IFEQ", "v"]);
    assert_eq!(keys, format!("*1\r\n{}", bulk("k")));
    let docs = cmdv(&mut r, &["COMMAND", "DOCS", "set"]);
    assert!(docs.contains("IFDEQ") && docs.contains("ifdne-digest"), "{docs}");
}
