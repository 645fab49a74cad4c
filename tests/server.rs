//! Server commands against a 4-shard server: INFO sections and fields aggregated from
//! every shard, CONFIG GET/SET/RESETSTAT/HELP (changes seen by every thread), SHUTDOWN
//! and SIGTERM.

mod common;

use std::time::Duration;

use common::{Raw, SHARDS, Server, bulk, cmd, cmdv, shard_of, text_of};

/// INFO's text for `line` (e.g. "INFO stats").
fn info(r: &mut Raw, line: &str) -> String {
    text_of(&cmd(r, line))
}

/// A field of an INFO text.
fn info_field(text: &str, name: &str) -> String {
    let prefix = format!("{name}:");
    text.split("\r\n")
        .find_map(|l| l.strip_prefix(prefix.as_str()))
        .unwrap_or_else(|| panic!("no {name} in INFO:\n{text}"))
        .to_string()
}

fn info_num(text: &str, name: &str) -> u64 {
    info_field(text, name).parse().unwrap_or_else(|_| panic!("{name} is not a number"))
}

/// The section titles of an INFO text, in order.
fn titles(text: &str) -> Vec<String> {
    text.split("\r\n").filter_map(|l| l.strip_prefix("# ")).map(str::to_string).collect()
}

#[test]
fn info_sections_and_their_format() {
    let server = Server::start_sharded();
    let mut r = server.raw();
    let default =
        ["Server", "Clients", "Memory", "Persistence", "Stats", "Replication", "CPU", "Modules", "Cluster", "Keyspace"];
    let all = info(&mut r, "INFO");
    assert_eq!(titles(&all), default);
    assert_eq!(titles(&info(&mut r, "INFO default")), default);
    assert_eq!(titles(&info(&mut r, "INFO all")), default);
    assert_eq!(titles(&info(&mut r, "INFO EVERYTHING")), default);
    // Sections are separated by one empty line; lines end with CRLF.
    assert!(all.starts_with("# Server\r\nredis_version:7.2.0\r\n"), "{all}");
    assert!(all.contains("\r\n\r\n# Clients\r\n"));
    assert!(all.ends_with("# Keyspace\r\n"), "{all:?}");
    for line in all.split("\r\n").filter(|l| !l.is_empty() && !l.starts_with('#')) {
        assert!(line.contains(':') && !line.contains('\n'), "{line:?}");
    }

    // Chosen sections, any case, in Redis's order whatever the order asked.
    assert_eq!(titles(&info(&mut r, "INFO keyspace SERVER")), ["Server", "Keyspace"]);
    assert_eq!(titles(&info(&mut r, "INFO cpu cpu")), ["CPU"]);
    assert_eq!(info(&mut r, "INFO cluster"), "# Cluster\r\ncluster_enabled:0\r\n");
    assert_eq!(info(&mut r, "INFO modules"), "# Modules\r\n");
    assert_eq!(info(&mut r, "INFO module_list"), "# Modules\r\n");
    assert_eq!(info(&mut r, "INFO keyspace"), "# Keyspace\r\n");
    assert_eq!(cmd(&mut r, "INFO nosuchsection"), "$0\r\n\r\n");
    assert_eq!(titles(&info(&mut r, "INFO nosuch replication")), ["Replication"]);

    // RESP3: a verbatim string.
    assert!(cmd(&mut r, "HELLO 3").starts_with('%'));
    let reply = cmd(&mut r, "INFO cluster");
    assert_eq!(reply, "=34\r\ntxt:# Cluster\r\ncluster_enabled:0\r\n\r\n");
}

#[test]
fn info_server_clients_replication_cpu_fields() {
    let server = Server::start_sharded();
    let mut r = server.raw();
    let text = info(&mut r, "INFO server");
    assert_eq!(info_field(&text, "redis_version"), "7.2.0");
    assert_eq!(info_field(&text, "redis_mode"), "standalone");
    assert!(info_field(&text, "os").starts_with("Linux "));
    assert_eq!(info_field(&text, "arch_bits"), "64");
    assert_eq!(info_num(&text, "process_id"), u64::from(server.pid()));
    let run_id = info_field(&text, "run_id");
    assert_eq!(run_id.len(), 40);
    assert!(run_id.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(info_num(&text, "tcp_port"), u64::from(server.port));
    assert!(info_num(&text, "uptime_in_seconds") < 60);
    assert_eq!(info_num(&text, "uptime_in_days"), 0);
    assert_eq!(info_num(&text, "hz"), 10);
    assert!(info_field(&text, "executable").ends_with("tallkv"));
    assert_eq!(info_field(&text, "config_file"), "");
    assert_eq!(info_field(&text, "tallkv_version"), env!("CARGO_PKG_VERSION"));
    assert_eq!(info_num(&text, "tallkv_shards"), SHARDS as u64);
    assert_eq!(info_field(&text, "listener0"), format!("name=tcp,bind=127.0.0.1,port={}", server.port));
    let now_us = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_micros() as u64;
    assert!(info_num(&text, "server_time_usec").abs_diff(now_us) < 5_000_000);
    // The run id stays the same.
    assert_eq!(info_field(&info(&mut r, "INFO server"), "run_id"), run_id);

    // Connections on every thread are counted.
    let mut others: Vec<Raw> = (0..7).map(|_| server.raw()).collect();
    for o in &mut others {
        assert_eq!(cmd(o, "PING"), "+PONG\r\n");
    }
    let text = info(&mut r, "INFO clients");
    assert_eq!(info_num(&text, "connected_clients"), 8);
    assert_eq!(info_num(&text, "maxclients"), 10000);
    assert_eq!(info_num(&text, "blocked_clients"), 0);
    drop(others);

    let text = info(&mut r, "INFO replication");
    assert_eq!(info_field(&text, "role"), "master");
    assert_eq!(info_num(&text, "connected_slaves"), 0);

    let text = info(&mut r, "INFO cpu");
    for name in ["used_cpu_sys", "used_cpu_user", "used_cpu_sys_children", "used_cpu_user_children"] {
        let value = info_field(&text, name);
        let (secs, micros) = value.split_once('.').expect("seconds.micros");
        assert!(secs.parse::<u64>().is_ok() && micros.len() == 6, "{name}:{value}");
    }
}

#[test]
fn info_keyspace_and_memory_count_every_shard() {
    let server = Server::start_sharded();
    let mut r = server.raw();
    let before = info_num(&info(&mut r, "INFO memory"), "used_memory");
    let keys: Vec<String> = ('a'..='z').map(|c| c.to_string()).collect();
    let shards: std::collections::HashSet<usize> = keys.iter().map(|k| shard_of(k)).collect();
    assert_eq!(shards.len(), SHARDS);
    for k in &keys {
        assert_eq!(cmd(&mut r, &format!("SET {k} value")), "+OK\r\n");
    }
    assert_eq!(cmd(&mut r, "SELECT 2"), "+OK\r\n");
    for k in ["a", "m", "z"] {
        assert_eq!(cmd(&mut r, &format!("SET {k} v EX 1000")), "+OK\r\n");
    }
    assert_eq!(cmd(&mut r, "SET q v"), "+OK\r\n");
    assert_eq!(
        info(&mut r, "INFO keyspace"),
        "# Keyspace\r\ndb0:keys=26,expires=0,avg_ttl=0\r\ndb2:keys=4,expires=3,avg_ttl=0\r\n"
    );

    // Memory grows with the data.
    let big = "x".repeat(200_000);
    assert_eq!(cmdv(&mut r, &["SET", "big", &big]), "+OK\r\n");
    let text = info(&mut r, "INFO memory");
    let used = info_num(&text, "used_memory");
    assert!(used >= before + 200_000, "{before} -> {used}");
    assert!(info_num(&text, "used_memory_dataset") >= 200_000);
    assert_eq!(used, info_num(&text, "used_memory_startup") + info_num(&text, "used_memory_dataset"));
    let human = info_field(&text, "used_memory_human");
    assert!(human.ends_with('M') || human.ends_with('K'), "{human}");
    assert!(info_num(&text, "used_memory_rss") > 0);
    assert!(info_num(&text, "total_system_memory") > 0);
    assert_eq!(info_num(&text, "maxmemory"), 0);
    assert_eq!(info_field(&text, "maxmemory_human"), "0B");
    assert_eq!(info_field(&text, "maxmemory_policy"), "noeviction");
}

#[test]
fn info_stats_and_config_resetstat() {
    let server = Server::start_sharded();
    let mut r = server.raw();
    for k in ["a", "b", "c", "d", "e", "f"] {
        assert_eq!(cmd(&mut r, &format!("SET {k} 1")), "+OK\r\n");
        assert_eq!(cmd(&mut r, &format!("GET {k}")), bulk("1"));
        assert_eq!(cmd(&mut r, &format!("GET missing-{k}")), "$-1\r\n");
    }
    assert_eq!(cmd(&mut r, "SET short v PX 1"), "+OK\r\n");
    std::thread::sleep(Duration::from_millis(5));
    assert_eq!(cmd(&mut r, "GET short"), "$-1\r\n");
    let text = info(&mut r, "INFO stats");
    assert_eq!(info_num(&text, "keyspace_hits"), 6);
    assert_eq!(info_num(&text, "keyspace_misses"), 7);
    assert_eq!(info_num(&text, "expired_keys"), 1);
    assert!(info_num(&text, "total_commands_processed") >= 20);
    assert!(info_num(&text, "total_connections_received") >= 1);
    assert!(info_num(&text, "total_net_input_bytes") > 200);
    assert!(info_num(&text, "total_net_output_bytes") > 50);
    assert_eq!(info_num(&text, "rejected_connections"), 0);
    for name in ["instantaneous_input_kbps", "instantaneous_output_kbps"] {
        assert!(info_field(&text, name).parse::<f64>().is_ok(), "{name}");
    }

    // A burst of commands shows in the instantaneous rate.
    let mut pipeline = Vec::new();
    for _ in 0..3000 {
        pipeline.extend_from_slice(b"PING\r\n");
    }
    r.send(&pipeline);
    let replies = r.read_exact(3000 * 7);
    assert!(replies.starts_with(b"+PONG\r\n"));
    std::thread::sleep(Duration::from_millis(300));
    let text = info(&mut r, "INFO stats");
    assert!(info_num(&text, "instantaneous_ops_per_sec") > 0, "{text}");

    assert_eq!(cmd(&mut r, "CONFIG RESETSTAT"), "+OK\r\n");
    let text = info(&mut r, "INFO stats");
    assert_eq!(info_num(&text, "keyspace_hits"), 0);
    assert_eq!(info_num(&text, "keyspace_misses"), 0);
    assert_eq!(info_num(&text, "expired_keys"), 0);
    assert!(info_num(&text, "total_commands_processed") <= 2);
    assert_eq!(info_num(&text, "total_connections_received"), 0);
    assert_eq!(cmd(&mut r, "CONFIG RESETSTAT x"), "-ERR wrong number of arguments for 'config|resetstat' command\r\n");
}

#[test]
fn config_get_patterns_and_aliases() {
    let server = Server::start_sharded();
    let mut r = server.raw();
    assert_eq!(cmd(&mut r, "CONFIG GET maxmemory"), "*2\r\n$9\r\nmaxmemory\r\n$1\r\n0\r\n");
    // The name comes back as written.
    assert_eq!(cmd(&mut r, "CONFIG GET MAXMEMORY"), "*2\r\n$9\r\nMAXMEMORY\r\n$1\r\n0\r\n");
    assert_eq!(cmd(&mut r, "CONFIG GET maxmemory hz"), "*4\r\n$9\r\nmaxmemory\r\n$1\r\n0\r\n$2\r\nhz\r\n$2\r\n10\r\n");
    assert_eq!(cmd(&mut r, "CONFIG GET nosuchparameter"), "*0\r\n");
    // An alias answers under its own name.
    assert_eq!(
        cmd(&mut r, "CONFIG GET hash-max-ziplist-entries"),
        "*2\r\n$24\r\nhash-max-ziplist-entries\r\n$3\r\n512\r\n"
    );
    // Globs match names and aliases, each reported once.
    let reply = cmd(&mut r, "CONFIG GET *max-*-entries* hash-max-listpack-entries");
    for name in ["hash-max-ziplist-entries", "hash-max-listpack-entries", "zset-max-listpack-entries"] {
        assert_eq!(reply.matches(&format!("\r\n{name}\r\n")).count(), 1, "{name} in {reply}");
    }
    let reply = cmd(&mut r, "CONFIG GET maxmemory-*");
    assert!(reply.contains("maxmemory-policy\r\n$10\r\nnoeviction\r\n"), "{reply}");
    assert!(reply.contains("maxmemory-samples\r\n"), "{reply}");
    assert_eq!(cmd(&mut r, "CONFIG GET"), "-ERR wrong number of arguments for 'config|get' command\r\n");
    // RESP3: a map.
    assert!(cmd(&mut r, "HELLO 3").starts_with('%'));
    assert_eq!(cmd(&mut r, "CONFIG GET maxmemory hz"), "%2\r\n$9\r\nmaxmemory\r\n$1\r\n0\r\n$2\r\nhz\r\n$2\r\n10\r\n");
    assert_eq!(cmd(&mut r, "CONFIG GET nosuchparameter"), "%0\r\n");
}

#[test]
fn config_set_all_or_nothing_and_errors() {
    let server = Server::start_sharded();
    let mut r = server.raw();
    assert_eq!(cmd(&mut r, "CONFIG SET hz 20 maxmemory-samples 7"), "+OK\r\n");
    assert_eq!(cmd(&mut r, "CONFIG GET hz"), "*2\r\n$2\r\nhz\r\n$2\r\n20\r\n");
    assert_eq!(cmd(&mut r, "CONFIG GET maxmemory-samples"), "*2\r\n$17\r\nmaxmemory-samples\r\n$1\r\n7\r\n");
    assert_eq!(info_num(&info(&mut r, "INFO server"), "hz"), 20);
    // One bad value: nothing changes.
    let reply = cmd(&mut r, "CONFIG SET hz 30 maxmemory-samples notanumber");
    assert!(
        reply.starts_with("-ERR CONFIG SET failed (possibly related to argument 'maxmemory-samples') - "),
        "{reply}"
    );
    assert_eq!(cmd(&mut r, "CONFIG GET hz"), "*2\r\n$2\r\nhz\r\n$2\r\n20\r\n");
    assert_eq!(
        cmd(&mut r, "CONFIG SET hz 20 hz 30"),
        "-ERR CONFIG SET failed (possibly related to argument 'hz') - duplicate parameter\r\n"
    );
    assert_eq!(cmd(&mut r, "CONFIG SET hz 20 maxclients"), "-ERR syntax error\r\n");
    assert_eq!(cmd(&mut r, "CONFIG SET hz"), "-ERR wrong number of arguments for 'config|set' command\r\n");
    assert_eq!(
        cmd(&mut r, "CONFIG SET foo bar"),
        "-ERR Unknown option or number of arguments for CONFIG SET - 'foo'\r\n"
    );
    assert_eq!(
        cmd(&mut r, "CONFIG SET databases 4"),
        "-ERR CONFIG SET failed (possibly related to argument 'databases') - can't set immutable config\r\n"
    );
    assert_eq!(cmd(&mut r, "CONFIG GET databases"), "*2\r\n$9\r\ndatabases\r\n$2\r\n16\r\n");

    let help = cmd(&mut r, "CONFIG HELP");
    assert!(help.starts_with("*9\r\n+CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n"), "{help}");
    assert!(
        help.contains("+GET <pattern>\r\n")
            && help.contains("+RESETSTAT\r\n")
            && help.ends_with("+    Prints this help.\r\n")
    );
    assert_eq!(cmd(&mut r, "CONFIG foo"), "-ERR unknown subcommand 'foo'. Try CONFIG HELP.\r\n");
    assert_eq!(cmd(&mut r, "CONFIG"), "-ERR wrong number of arguments for 'config' command\r\n");
}

#[test]
fn config_set_is_seen_by_every_thread() {
    let server = Server::start_sharded();
    let mut admin = server.raw();
    let mut conns: Vec<Raw> = (0..8).map(|_| server.raw()).collect();
    assert_eq!(cmd(&mut admin, "CONFIG SET maxclients 5000 hz 25"), "+OK\r\n");
    for c in &mut conns {
        assert_eq!(cmd(c, "CONFIG GET maxclients"), "*2\r\n$10\r\nmaxclients\r\n$4\r\n5000\r\n");
        assert_eq!(info_num(&info(c, "INFO server"), "hz"), 25);
        assert_eq!(info_num(&info(c, "INFO clients"), "maxclients"), 5000);
    }
    // Keys on every shard: their threads use the new policy (OBJECT FREQ needs an LFU policy).
    for c in ('a'..='z').map(|c| c.to_string()) {
        assert_eq!(cmd(&mut admin, &format!("SET {c} v")), "+OK\r\n");
    }
    assert!(cmd(&mut admin, "OBJECT FREQ a").starts_with("-ERR An LFU maxmemory policy is not selected"));
    assert_eq!(cmd(&mut conns[0], "CONFIG SET maxmemory-policy allkeys-lfu"), "+OK\r\n");
    for (i, k) in ('a'..='z').map(|c| c.to_string()).enumerate() {
        let conn = &mut conns[i % 8];
        let reply = cmd(conn, &format!("OBJECT FREQ {k}"));
        assert!(reply.starts_with(':'), "OBJECT FREQ {k} on shard {}: {reply}", shard_of(&k));
    }
    assert_eq!(info_field(&info(&mut admin, "INFO memory"), "maxmemory_policy"), "allkeys-lfu");
}

#[test]
fn shutdown_options_and_errors() {
    let mut server = Server::start_sharded();
    let mut r = server.raw();
    assert_eq!(cmd(&mut r, "SHUTDOWN ABORT"), "-ERR No shutdown in progress.\r\n");
    assert_eq!(cmd(&mut r, "SHUTDOWN foo"), "-ERR syntax error\r\n");
    assert_eq!(cmd(&mut r, "SHUTDOWN SAVE NOSAVE"), "-ERR syntax error\r\n");
    assert_eq!(cmd(&mut r, "SHUTDOWN ABORT NOW"), "-ERR syntax error\r\n");
    assert_eq!(cmd(&mut r, "SHUTDOWN NOSAVE ABORT"), "-ERR syntax error\r\n");
    // A save that fails (here: `dbfilename` names a directory) keeps the server running.
    std::fs::create_dir_all(server.dir.join("dump.rdb")).expect("dir");
    assert_eq!(cmd(&mut r, "SHUTDOWN SAVE"), "-ERR Errors trying to SHUTDOWN. Check logs.\r\n");
    assert!(server.is_running());
    // Other connections, on other threads, are closed too.
    let mut others: Vec<Raw> = (0..6).map(|_| server.raw()).collect();
    for o in &mut others {
        assert_eq!(cmd(o, "PING"), "+PONG\r\n");
    }
    // No reply: the connection is closed and the process exits.
    r.send(&common::encode_command(&[b"SHUTDOWN", b"NOSAVE", b"NOW"]));
    assert!(r.is_closed());
    for o in &mut others {
        assert!(o.is_closed());
    }
    assert!(server.wait_exit(Duration::from_secs(10)).is_some(), "still running after SHUTDOWN");
}

#[test]
fn shutdown_save_force_stops_anyway() {
    let mut server = Server::start_sharded();
    let mut r = server.raw();
    r.send(&common::encode_command(&[b"shutdown", b"save", b"force"]));
    assert!(r.is_closed());
    assert!(server.wait_exit(Duration::from_secs(10)).is_some());
}

#[test]
fn sigterm_stops_the_server() {
    let mut server = Server::start_sharded();
    let mut r = server.raw();
    assert_eq!(cmd(&mut r, "PING"), "+PONG\r\n");
    let status =
        std::process::Command::new("kill").arg("-TERM").arg(server.pid().to_string()).status().expect("run kill");
    assert!(status.success());
    let exit = server.wait_exit(Duration::from_secs(10)).expect("exited after SIGTERM");
    assert!(exit.success(), "{exit:?}");
    assert!(r.is_closed());
}
