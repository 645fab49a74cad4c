//! Connection commands against a 4-shard server: PING, ECHO, QUIT, RESET, SELECT, AUTH,
//! HELLO, the CLIENT subcommands, TIME and CLUSTER KEYSLOT. Exact bytes, reply types and
//! error texts; CLIENT LIST / KILL across the threads serving the connections.

mod common;

use std::time::Duration;

use common::{Raw, Server, bulk, cmd, cmdv, text_of};

/// Sends a command without reading any reply.
fn send(r: &mut Raw, line: &str) {
    let args: Vec<&[u8]> = line.split(' ').map(str::as_bytes).collect();
    r.send(&common::encode_command(&args));
}

/// The value of `field=` in a CLIENT LIST line.
fn field<'a>(line: &'a str, name: &str) -> &'a str {
    let prefix = format!("{name}=");
    line.trim_end()
        .split(' ')
        .find_map(|f| f.strip_prefix(prefix.as_str()))
        .unwrap_or_else(|| panic!("no {name} in {line}"))
}

/// This connection's CLIENT ID.
fn client_id(r: &mut Raw) -> u64 {
    let reply = cmd(r, "CLIENT ID");
    reply.trim_start_matches(':').trim_end().parse().expect("an integer id")
}

/// The CLIENT LIST lines.
fn client_list(r: &mut Raw) -> Vec<String> {
    text_of(&cmd(r, "CLIENT LIST")).lines().map(str::to_string).collect()
}

#[test]
fn ping_echo_quit() {
    let server = Server::start_sharded();
    let mut r = server.raw();
    assert_eq!(cmd(&mut r, "PING"), "+PONG\r\n");
    assert_eq!(cmd(&mut r, "ping hello"), bulk("hello"));
    assert_eq!(cmd(&mut r, "PING a b"), "-ERR wrong number of arguments for 'ping' command\r\n");
    assert_eq!(cmd(&mut r, "ECHO hi"), bulk("hi"));
    assert_eq!(cmdv(&mut r, &["ECHO", ""]), "$0\r\n\r\n");
    assert_eq!(cmd(&mut r, "ECHO"), "-ERR wrong number of arguments for 'echo' command\r\n");
    assert_eq!(cmd(&mut r, "ECHO a b"), "-ERR wrong number of arguments for 'echo' command\r\n");
    assert_eq!(cmd(&mut r, "QUIT"), "+OK\r\n");
    assert!(r.is_closed());
}

#[test]
fn hello_switches_replies_to_resp3_and_back() {
    let server = Server::start_sharded();
    let mut r = server.raw();
    let id = client_id(&mut r);
    let map_body = |proto: u8| {
        format!(
            "$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$5\r\n7.2.0\r\n$5\r\nproto\r\n:{proto}\r\n\
             $2\r\nid\r\n:{id}\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n\
             $7\r\nmodules\r\n*0\r\n"
        )
    };
    // Without a version: describes the server in the current protocol.
    assert_eq!(cmd(&mut r, "HELLO"), format!("*14\r\n{}", map_body(2)));
    assert_eq!(cmd(&mut r, "GET nosuchkey"), "$-1\r\n");
    // HELLO 3 answers with a RESP3 map, and every later reply is RESP3.
    assert_eq!(cmd(&mut r, "HELLO 3"), format!("%7\r\n{}", map_body(3)));
    assert_eq!(cmd(&mut r, "GET nosuchkey"), "_\r\n");
    assert_eq!(cmd(&mut r, "CONFIG GET hz"), "%1\r\n$2\r\nhz\r\n$2\r\n10\r\n");
    assert!(cmd(&mut r, "CLIENT INFO").starts_with('='));
    assert_eq!(cmd(&mut r, "HELLO"), format!("%7\r\n{}", map_body(3)));
    // A failed HELLO leaves the protocol alone.
    assert_eq!(cmd(&mut r, "HELLO 2 SETNAME"), "-ERR Syntax error in HELLO option 'SETNAME'\r\n");
    assert_eq!(cmd(&mut r, "GET nosuchkey"), "_\r\n");
    // Back to RESP2.
    assert_eq!(cmd(&mut r, "HELLO 2"), format!("*14\r\n{}", map_body(2)));
    assert_eq!(cmd(&mut r, "GET nosuchkey"), "$-1\r\n");
    assert_eq!(cmd(&mut r, "CONFIG GET hz"), "*2\r\n$2\r\nhz\r\n$2\r\n10\r\n");
}

#[test]
fn hello_options_and_errors() {
    let server = Server::start_sharded();
    let mut r = server.raw();
    assert_eq!(cmd(&mut r, "HELLO 1"), "-NOPROTO unsupported protocol version\r\n");
    assert_eq!(cmd(&mut r, "HELLO 4"), "-NOPROTO unsupported protocol version\r\n");
    assert_eq!(cmd(&mut r, "HELLO -3"), "-NOPROTO unsupported protocol version\r\n");
    for bad in ["x", "3.0", "+3", "03", ""] {
        assert_eq!(
            cmdv(&mut r, &["HELLO", bad]),
            "-ERR Protocol version is not an integer or out of range\r\n",
            "HELLO {bad:?}"
        );
    }
    assert_eq!(cmd(&mut r, "HELLO 3 foo"), "-ERR Syntax error in HELLO option 'foo'\r\n");
    assert_eq!(cmd(&mut r, "HELLO 3 AUTH default"), "-ERR Syntax error in HELLO option 'AUTH'\r\n");
    assert_eq!(
        cmdv(&mut r, &["HELLO", "3", "SETNAME", "a b"]),
        "-ERR Client names cannot contain spaces, newlines or special characters.\r\n"
    );
    assert_eq!(
        cmd(&mut r, "HELLO 3 AUTH bob secret"),
        "-WRONGPASS invalid username-password pair or user is disabled.\r\n"
    );
    // Still RESP2 after all those failures.
    assert_eq!(cmd(&mut r, "GET nosuchkey"), "$-1\r\n");
    // The default user has no password: any password authenticates it.
    let reply = cmd(&mut r, "HELLO 3 AUTH default whatever SETNAME conn1");
    assert!(reply.starts_with("%7\r\n"), "{reply}");
    assert_eq!(cmd(&mut r, "CLIENT GETNAME"), bulk("conn1"));
    assert_eq!(cmd(&mut r, "hello 2 setname conn2 auth default x"), cmd(&mut r, "HELLO"));
    assert_eq!(cmd(&mut r, "CLIENT GETNAME"), bulk("conn2"));
}

#[test]
fn auth_errors_without_a_password() {
    let server = Server::start_sharded();
    let mut r = server.raw();
    assert_eq!(
        cmd(&mut r, "AUTH secret"),
        "-ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?\r\n"
    );
    assert_eq!(cmd(&mut r, "AUTH default anything"), "+OK\r\n");
    assert_eq!(
        cmd(&mut r, "AUTH DEFAULT anything"),
        "-WRONGPASS invalid username-password pair or user is disabled.\r\n"
    );
    assert_eq!(cmd(&mut r, "AUTH bob secret"), "-WRONGPASS invalid username-password pair or user is disabled.\r\n");
    assert_eq!(cmd(&mut r, "AUTH a b c"), "-ERR syntax error\r\n");
    assert_eq!(cmd(&mut r, "AUTH"), "-ERR wrong number of arguments for 'auth' command\r\n");
}

#[test]
fn select_switches_databases_and_checks_the_index() {
    let server = Server::start_sharded();
    let mut r = server.raw();
    assert_eq!(cmd(&mut r, "SET k zero"), "+OK\r\n");
    assert_eq!(cmd(&mut r, "SELECT 15"), "+OK\r\n");
    assert_eq!(cmd(&mut r, "GET k"), "$-1\r\n");
    assert_eq!(cmd(&mut r, "SET k fifteen"), "+OK\r\n");
    assert_eq!(field(&text_of(&cmd(&mut r, "CLIENT INFO")), "db"), "15");
    assert_eq!(cmd(&mut r, "SELECT 0"), "+OK\r\n");
    assert_eq!(cmd(&mut r, "GET k"), bulk("zero"));
    assert_eq!(cmd(&mut r, "SELECT 16"), "-ERR DB index is out of range\r\n");
    assert_eq!(cmd(&mut r, "SELECT -1"), "-ERR DB index is out of range\r\n");
    assert_eq!(
        cmd(&mut r, "SELECT 99999999999"),
        "-ERR value is out of range, value must between -2147483648 and 2147483647\r\n"
    );
    for bad in ["abc", "1.5", "01", "", "99999999999999999999"] {
        assert_eq!(cmdv(&mut r, &["SELECT", bad]), "-ERR value is not an integer or out of range\r\n", "{bad:?}");
    }
    assert_eq!(cmd(&mut r, "SELECT"), "-ERR wrong number of arguments for 'select' command\r\n");
    assert_eq!(cmd(&mut r, "GET k"), bulk("zero"));
}

#[test]
fn reset_restores_a_fresh_connection() {
    let server = Server::start_sharded();
    let mut r = server.raw();
    assert_eq!(cmd(&mut r, "SELECT 3"), "+OK\r\n");
    assert_eq!(cmd(&mut r, "CLIENT SETNAME me"), "+OK\r\n");
    assert_eq!(cmd(&mut r, "CLIENT SETINFO LIB-NAME mylib"), "+OK\r\n");
    assert_eq!(cmd(&mut r, "CLIENT NO-EVICT on"), "+OK\r\n");
    assert_eq!(cmd(&mut r, "CLIENT NO-TOUCH on"), "+OK\r\n");
    assert!(cmd(&mut r, "HELLO 3").starts_with('%'));
    let before = text_of(&cmd(&mut r, "CLIENT INFO"));
    assert_eq!(field(&before, "flags"), "eT");
    send(&mut r, "CLIENT REPLY OFF");
    // Replies are off, but RESET turns them back on and is answered.
    assert_eq!(cmd(&mut r, "RESET"), "+RESET\r\n");
    let after = text_of(&cmd(&mut r, "CLIENT INFO"));
    assert_eq!(field(&after, "db"), "0");
    assert_eq!(field(&after, "name"), "");
    assert_eq!(field(&after, "resp"), "2");
    assert_eq!(field(&after, "flags"), "N");
    // The library name describes the client library and survives RESET.
    assert_eq!(field(&after, "lib-name"), "mylib");
    assert_eq!(cmd(&mut r, "GET nosuchkey"), "$-1\r\n");
    assert_eq!(cmd(&mut r, "CLIENT GETNAME"), "$-1\r\n");
    assert_eq!(cmd(&mut r, "RESET x"), "-ERR wrong number of arguments for 'reset' command\r\n");
}

#[test]
fn client_id_names_and_library_info() {
    let server = Server::start_sharded();
    let mut a = server.raw();
    let mut b = server.raw();
    let (ia, ib) = (client_id(&mut a), client_id(&mut b));
    assert!(ia >= 1 && ib >= 1 && ia != ib);
    assert_eq!(cmd(&mut a, "CLIENT GETNAME"), "$-1\r\n");
    assert_eq!(cmd(&mut a, "CLIENT SETNAME worker-1"), "+OK\r\n");
    assert_eq!(cmd(&mut a, "CLIENT GETNAME"), bulk("worker-1"));
    for bad in ["a b", "a\nb", "tab\there", "caf\u{e9}"] {
        assert_eq!(
            cmdv(&mut a, &["CLIENT", "SETNAME", bad]),
            "-ERR Client names cannot contain spaces, newlines or special characters.\r\n",
            "{bad:?}"
        );
    }
    assert_eq!(cmd(&mut a, "CLIENT GETNAME"), bulk("worker-1"));
    assert_eq!(cmdv(&mut a, &["CLIENT", "SETNAME", ""]), "+OK\r\n");
    assert_eq!(cmd(&mut a, "CLIENT GETNAME"), "$-1\r\n");
    assert_eq!(cmd(&mut a, "CLIENT SETNAME"), "-ERR wrong number of arguments for 'client|setname' command\r\n");

    assert_eq!(cmd(&mut a, "CLIENT SETINFO lib-name redis-rs"), "+OK\r\n");
    assert_eq!(cmd(&mut a, "CLIENT SETINFO LIB-VER 1.2.3"), "+OK\r\n");
    let info = text_of(&cmd(&mut a, "CLIENT INFO"));
    assert_eq!(field(&info, "lib-name"), "redis-rs");
    assert_eq!(field(&info, "lib-ver"), "1.2.3");
    assert_eq!(cmd(&mut a, "CLIENT SETINFO lib-foo x"), "-ERR Unrecognized option 'lib-foo'\r\n");
    assert_eq!(
        cmdv(&mut a, &["CLIENT", "SETINFO", "Lib-Name", "a b"]),
        "-ERR Lib-Name cannot contain spaces, newlines or special characters.\r\n"
    );
    assert_eq!(cmdv(&mut a, &["CLIENT", "SETINFO", "lib-ver", ""]), "+OK\r\n");
    assert_eq!(field(&text_of(&cmd(&mut a, "CLIENT INFO")), "lib-ver"), "");
    assert_eq!(
        cmd(&mut a, "CLIENT SETINFO lib-name"),
        "-ERR wrong number of arguments for 'client|setinfo' command\r\n"
    );
}

#[test]
fn client_info_and_list_lines() {
    let server = Server::start_sharded();
    let mut r = server.raw();
    let id = client_id(&mut r);
    let local = r.stream.local_addr().expect("local addr").to_string();
    let info = text_of(&cmd(&mut r, "CLIENT INFO"));
    let names: Vec<&str> = info.trim_end().split(' ').map(|f| f.split('=').next().unwrap_or("")).collect();
    assert_eq!(
        names,
        [
            "id",
            "addr",
            "laddr",
            "fd",
            "name",
            "age",
            "idle",
            "flags",
            "db",
            "sub",
            "psub",
            "ssub",
            "multi",
            "qbuf",
            "qbuf-free",
            "argv-mem",
            "multi-mem",
            "rbs",
            "rbp",
            "obl",
            "oll",
            "omem",
            "tot-mem",
            "events",
            "cmd",
            "user",
            "redir",
            "resp",
            "lib-name",
            "lib-ver"
        ]
    );
    assert_eq!(field(&info, "id"), id.to_string());
    assert_eq!(field(&info, "addr"), local);
    assert_eq!(field(&info, "laddr"), format!("127.0.0.1:{}", server.port));
    assert_eq!(field(&info, "cmd"), "client|info");
    assert_eq!(field(&info, "argv-mem"), "10");
    assert_eq!(field(&info, "user"), "default");
    assert_eq!(field(&info, "multi"), "-1");
    assert_eq!(field(&info, "resp"), "2");
    // A bulk string ending in a newline in RESP2, verbatim text in RESP3.
    let raw = cmd(&mut r, "CLIENT INFO");
    assert!(raw.starts_with('$') && raw.ends_with("\n\r\n"), "{raw:?}");

    // A connection that has not sent a command yet shows cmd=NULL.
    let mut idle = server.raw();
    std::thread::sleep(Duration::from_millis(50));
    let lines = client_list(&mut r);
    assert_eq!(lines.len(), 2);
    let fresh = lines.iter().find(|l| field(l, "id") != id.to_string()).expect("the other connection");
    assert_eq!(field(fresh, "cmd"), "NULL");
    assert_eq!(field(fresh, "argv-mem"), "0");
    let mine = lines.iter().find(|l| field(l, "id") == id.to_string()).expect("this connection");
    assert_eq!(field(mine, "cmd"), "client|list");
    let other_id = client_id(&mut idle);

    // Filters.
    assert_eq!(client_list_with(&mut r, "CLIENT LIST TYPE normal").len(), 2);
    assert_eq!(client_list_with(&mut r, "CLIENT LIST TYPE NORMAL").len(), 2);
    for empty in ["master", "replica", "slave", "pubsub"] {
        assert_eq!(cmd(&mut r, &format!("CLIENT LIST TYPE {empty}")), "$0\r\n\r\n", "{empty}");
    }
    assert_eq!(cmd(&mut r, "CLIENT LIST TYPE foo"), "-ERR Unknown client type 'foo'\r\n");
    let by_id = client_list_with(&mut r, &format!("CLIENT LIST ID {other_id} 999999 {id} {other_id}"));
    let ids: Vec<String> = by_id.iter().map(|l| field(l, "id").to_string()).collect();
    assert_eq!(ids, [other_id.to_string(), id.to_string(), other_id.to_string()]);
    assert_eq!(cmd(&mut r, "CLIENT LIST ID 0 -5"), "$0\r\n\r\n");
    assert_eq!(cmd(&mut r, "CLIENT LIST ID 1 abc"), "-ERR Invalid client ID\r\n");
    assert_eq!(cmd(&mut r, "CLIENT LIST ID 1 TYPE normal"), "-ERR Invalid client ID\r\n");
    assert_eq!(cmd(&mut r, "CLIENT LIST ID"), "-ERR syntax error\r\n");
    assert_eq!(cmd(&mut r, "CLIENT LIST TYPE"), "-ERR syntax error\r\n");
    assert_eq!(cmd(&mut r, "CLIENT LIST TYPE normal ID 1"), "-ERR syntax error\r\n");
    assert_eq!(cmd(&mut r, "CLIENT LIST foo"), "-ERR syntax error\r\n");
    assert_eq!(cmd(&mut r, "CLIENT INFO x"), "-ERR wrong number of arguments for 'client|info' command\r\n");

    // RESP3: verbatim text.
    assert!(cmd(&mut r, "HELLO 3").starts_with('%'));
    let raw = cmd(&mut r, "CLIENT LIST");
    assert!(raw.starts_with('=') && raw.contains("\r\ntxt:id="), "{raw:?}");
    assert!(field(&text_of(&cmd(&mut r, "CLIENT INFO")), "resp") == "3");
}

fn client_list_with(r: &mut Raw, line: &str) -> Vec<String> {
    text_of(&cmd(r, line)).lines().map(str::to_string).collect()
}

#[test]
fn client_list_and_kill_reach_every_thread() {
    let server = Server::start_sharded();
    let mut admin = server.raw();
    let mut others: Vec<Raw> = (0..12).map(|_| server.raw()).collect();
    let ids: Vec<u64> = others.iter_mut().map(client_id).collect();
    let listed: Vec<String> = client_list(&mut admin).iter().map(|l| field(l, "id").to_string()).collect();
    assert_eq!(listed.len(), 13);
    for id in &ids {
        assert!(listed.contains(&id.to_string()), "{id} not listed");
    }
    // Kill each connection by id: with 4 shards they are spread over the threads.
    for (conn, id) in others.iter_mut().zip(&ids).take(6) {
        assert_eq!(cmd(&mut admin, &format!("CLIENT KILL ID {id}")), ":1\r\n");
        assert!(conn.is_closed(), "client {id} still open");
    }
    assert_eq!(cmd(&mut admin, &format!("CLIENT KILL ID {}", ids[0])), ":0\r\n");
    // The rest by type: SKIPME defaults to yes, so the admin connection survives.
    assert_eq!(cmd(&mut admin, "CLIENT KILL TYPE normal"), ":6\r\n");
    for conn in others.iter_mut().skip(6) {
        assert!(conn.is_closed());
    }
    assert_eq!(cmd(&mut admin, "PING"), "+PONG\r\n");
    // Closed connections leave the list.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while client_list(&mut admin).len() != 1 {
        assert!(std::time::Instant::now() < deadline, "killed connections still listed");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn client_kill_filters_and_errors() {
    let server = Server::start_sharded();
    let mut admin = server.raw();
    let mut victim = server.raw();
    let victim_id = client_id(&mut victim);
    let victim_addr = victim.stream.local_addr().expect("addr").to_string();
    let laddr = format!("127.0.0.1:{}", server.port);

    assert_eq!(cmd(&mut admin, "CLIENT KILL 1.2.3.4:5"), "-ERR No such client\r\n");
    assert_eq!(cmd(&mut admin, "CLIENT KILL ID 0"), "-ERR client-id should be greater than 0\r\n");
    assert_eq!(cmd(&mut admin, "CLIENT KILL ID abc"), "-ERR client-id should be greater than 0\r\n");
    assert_eq!(cmd(&mut admin, "CLIENT KILL ID 999999"), ":0\r\n");
    assert_eq!(cmd(&mut admin, "CLIENT KILL TYPE foo"), "-ERR Unknown client type 'foo'\r\n");
    assert_eq!(cmd(&mut admin, "CLIENT KILL USER bob"), "-ERR No such user 'bob'\r\n");
    assert_eq!(cmd(&mut admin, "CLIENT KILL SKIPME maybe"), "-ERR syntax error\r\n");
    assert_eq!(cmd(&mut admin, "CLIENT KILL foo bar"), "-ERR syntax error\r\n");
    assert_eq!(cmd(&mut admin, "CLIENT KILL ID 1 SKIPME"), "-ERR syntax error\r\n");
    assert_eq!(cmd(&mut admin, "CLIENT KILL MAXAGE x"), "-ERR maxage is not an integer or out of range\r\n");
    assert_eq!(cmd(&mut admin, "CLIENT KILL"), "-ERR wrong number of arguments for 'client|kill' command\r\n");
    for none in ["master", "replica", "slave", "pubsub"] {
        assert_eq!(cmd(&mut admin, &format!("CLIENT KILL TYPE {none}")), ":0\r\n");
    }
    assert_eq!(cmd(&mut admin, "CLIENT KILL ADDR 1.2.3.4:5"), ":0\r\n");
    assert_eq!(cmd(&mut admin, "CLIENT KILL LADDR 1.2.3.4:5"), ":0\r\n");
    // Nobody is an hour old.
    assert_eq!(cmd(&mut admin, "CLIENT KILL MAXAGE 3600"), ":0\r\n");
    // Filters combine: the victim's address but a different id matches nobody.
    assert_eq!(cmd(&mut admin, &format!("CLIENT KILL ADDR {victim_addr} ID 999999")), ":0\r\n");
    assert_eq!(cmd(&mut victim, "PING"), "+PONG\r\n");
    assert_eq!(
        cmd(&mut admin, &format!("CLIENT KILL ADDR {victim_addr} LADDR {laddr} USER default ID {victim_id}")),
        ":1\r\n"
    );
    assert!(victim.is_closed());

    // The old form names an address and answers OK.
    let mut victim = server.raw();
    assert_eq!(cmd(&mut victim, "PING"), "+PONG\r\n");
    let addr = victim.stream.local_addr().expect("addr").to_string();
    assert_eq!(cmd(&mut admin, &format!("CLIENT KILL {addr}")), "+OK\r\n");
    assert!(victim.is_closed());

    // SKIPME no: the caller may kill itself; it still gets its reply.
    let mut me = server.raw();
    let my_id = client_id(&mut me);
    assert_eq!(cmd(&mut me, &format!("CLIENT KILL ID {my_id}")), ":0\r\n");
    assert_eq!(cmd(&mut me, &format!("CLIENT KILL ID {my_id} SKIPME no")), ":1\r\n");
    assert!(me.is_closed());
    // The old form does not skip the caller either.
    let mut me = server.raw();
    let addr = me.stream.local_addr().expect("addr").to_string();
    assert_eq!(cmd(&mut me, &format!("CLIENT KILL {addr}")), "+OK\r\n");
    assert!(me.is_closed());
    assert_eq!(cmd(&mut admin, "PING"), "+PONG\r\n");
}

#[test]
fn client_kill_maxage() {
    let server = Server::start_sharded();
    let mut old = server.raw();
    assert_eq!(cmd(&mut old, "PING"), "+PONG\r\n");
    std::thread::sleep(Duration::from_millis(2100));
    let mut admin = server.raw();
    let mut young = server.raw();
    assert_eq!(cmd(&mut young, "PING"), "+PONG\r\n");
    assert_eq!(cmd(&mut admin, "CLIENT KILL MAXAGE 2"), ":1\r\n");
    assert!(old.is_closed());
    assert_eq!(cmd(&mut young, "PING"), "+PONG\r\n");
}

#[test]
fn client_reply_off_skip_on() {
    let server = Server::start_sharded();
    let mut r = server.raw();
    // OFF: nothing is answered until ON, which is.
    send(&mut r, "CLIENT REPLY OFF");
    send(&mut r, "SET k v");
    send(&mut r, "GET k");
    send(&mut r, "CLIENT REPLY foo");
    assert_eq!(cmd(&mut r, "CLIENT REPLY ON"), "+OK\r\n");
    assert_eq!(cmd(&mut r, "GET k"), bulk("v"));
    // SKIP: the next command is not answered.
    send(&mut r, "CLIENT REPLY SKIP");
    send(&mut r, "ECHO skipped");
    assert_eq!(cmd(&mut r, "ECHO shown"), bulk("shown"));
    // SKIP twice in a row skips the command after the second one too.
    send(&mut r, "CLIENT REPLY SKIP");
    send(&mut r, "CLIENT REPLY SKIP");
    send(&mut r, "ECHO skipped");
    assert_eq!(cmd(&mut r, "ECHO shown"), bulk("shown"));
    // ON right after SKIP is answered.
    send(&mut r, "CLIENT REPLY SKIP");
    assert_eq!(cmd(&mut r, "CLIENT REPLY ON"), "+OK\r\n");
    // SKIP while OFF changes nothing.
    send(&mut r, "CLIENT REPLY OFF");
    send(&mut r, "CLIENT REPLY SKIP");
    send(&mut r, "ECHO hidden");
    assert_eq!(cmd(&mut r, "CLIENT REPLY ON"), "+OK\r\n");
    assert_eq!(cmd(&mut r, "CLIENT REPLY foo"), "-ERR syntax error\r\n");
    // Skipped RESET: a skip that applies to RESET itself still applies.
    send(&mut r, "CLIENT REPLY SKIP");
    send(&mut r, "RESET");
    assert_eq!(cmd(&mut r, "PING"), "+PONG\r\n");
}

#[test]
fn client_no_evict_no_touch_and_help() {
    let server = Server::start_sharded();
    let mut r = server.raw();
    assert_eq!(cmd(&mut r, "CLIENT NO-EVICT on"), "+OK\r\n");
    assert_eq!(field(&text_of(&cmd(&mut r, "CLIENT INFO")), "flags"), "e");
    assert_eq!(cmd(&mut r, "CLIENT NO-TOUCH ON"), "+OK\r\n");
    assert_eq!(field(&text_of(&cmd(&mut r, "CLIENT INFO")), "flags"), "eT");
    assert_eq!(cmd(&mut r, "CLIENT NO-EVICT off"), "+OK\r\n");
    assert_eq!(cmd(&mut r, "CLIENT NO-TOUCH Off"), "+OK\r\n");
    assert_eq!(field(&text_of(&cmd(&mut r, "CLIENT INFO")), "flags"), "N");
    assert_eq!(cmd(&mut r, "CLIENT NO-EVICT maybe"), "-ERR syntax error\r\n");
    assert_eq!(cmd(&mut r, "CLIENT NO-TOUCH maybe"), "-ERR syntax error\r\n");
    assert_eq!(cmd(&mut r, "CLIENT"), "-ERR wrong number of arguments for 'client' command\r\n");
    assert_eq!(cmd(&mut r, "CLIENT foo"), "-ERR unknown subcommand 'foo'. Try CLIENT HELP.\r\n");
    let help = cmd(&mut r, "client help");
    assert!(help.starts_with("*"), "{help}");
    assert!(help.contains("+CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n"));
    for line in ["+REPLY (ON|OFF|SKIP)\r\n", "+SETINFO <option> <value>\r\n", "+HELP\r\n", "+    Prints this help.\r\n"]
    {
        assert!(help.contains(line), "{line}");
    }
}

#[test]
fn time_and_cluster_keyslot() {
    let server = Server::start_sharded();
    let mut r = server.raw();
    let reply = cmd(&mut r, "TIME");
    let parts: Vec<&str> = reply.split("\r\n").collect();
    assert_eq!(parts[0], "*2");
    let secs: u64 = parts[2].parse().expect("seconds");
    let micros: u64 = parts[4].parse().expect("microseconds");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs();
    assert!(secs.abs_diff(now) <= 2);
    assert!(micros < 1_000_000);
    assert_eq!(cmd(&mut r, "TIME x"), "-ERR wrong number of arguments for 'time' command\r\n");

    assert_eq!(cmd(&mut r, "CLUSTER KEYSLOT foo"), ":12182\r\n");
    assert_eq!(cmd(&mut r, "CLUSTER KEYSLOT somekey"), ":11058\r\n");
    assert_eq!(cmd(&mut r, "CLUSTER KEYSLOT {user1000}.following"), cmd(&mut r, "CLUSTER KEYSLOT user1000"));
    assert_eq!(cmd(&mut r, "CLUSTER KEYSLOT foo{}{bar}"), ":8363\r\n");
    assert_eq!(cmd(&mut r, "CLUSTER KEYSLOT"), "-ERR wrong number of arguments for 'cluster|keyslot' command\r\n");
    assert_eq!(cmd(&mut r, "CLUSTER INFO"), "-ERR unknown subcommand 'INFO'. Try CLUSTER HELP.\r\n");
}

/// Input is read as it arrives, however it is cut, on connections that come and go: a
/// request sent a few bytes at a time with pauses, a pipeline far larger than one read,
/// and connections opened and closed in between (each thread reuses the readiness slots
/// of closed connections), all answered on every thread.
#[test]
fn input_is_read_however_it_arrives_on_connections_that_come_and_go() {
    let server = Server::start_sharded();
    let mut keep: Vec<Raw> = (0..8).map(|_| server.raw()).collect();
    for round in 0..3 {
        // Connections that close at once free their slots for the next ones.
        for _ in 0..50 {
            let mut gone = server.raw();
            assert_eq!(gone.cmd(&[b"PING"]), b"+PONG\r\n".to_vec());
        }
        for (i, r) in keep.iter_mut().enumerate() {
            // A request in pieces, with pauses longer than a read takes.
            let key = format!("piece:{round}:{i}");
            let request = format!("*3\r\n$3\r\nSET\r\n${}\r\n{key}\r\n$5\r\nvalue\r\n", key.len());
            for piece in request.as_bytes().chunks(7) {
                r.send(piece);
                std::thread::sleep(Duration::from_millis(2));
            }
            assert_eq!(r.read_reply(), b"+OK\r\n".to_vec());
            // A pipeline of 5000 commands (about 150 KB, many reads' worth).
            let mut pipeline = Vec::new();
            for n in 0..5000 {
                let arg = format!("{round}-{i}-{n}");
                pipeline.extend_from_slice(format!("*2\r\n$4\r\nECHO\r\n${}\r\n{arg}\r\n", arg.len()).as_bytes());
            }
            r.send(&pipeline);
            for n in 0..5000 {
                let arg = format!("{round}-{i}-{n}");
                assert_eq!(r.read_reply(), format!("${}\r\n{arg}\r\n", arg.len()).into_bytes());
            }
            assert_eq!(cmd(r, &format!("GET {key}")), bulk("value"));
        }
    }
    // The kept connections and a fresh one still see everything.
    let mut fresh = server.raw();
    assert_eq!(cmd(&mut fresh, "GET piece:2:7"), bulk("value"));
    keep.clear();
}
