//! Unit tests of the configuration module.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::directives::{DIRECTIVES, Kind};
use super::parse::{parse_i64, parse_memory, quote_arg, split_args, split_spaces};
use super::*;

// ---------------------------------------------------------------- helpers

/// Parses a command line given as string slices.
fn cli(args: &[&str]) -> Result<CommandLine, ConfigError> {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    parse_command_line(&args)
}

/// Parses a command line that must succeed and run.
fn cli_config(args: &[&str]) -> Config {
    match cli(args) {
        Ok(CommandLine::Run { config, .. }) => config,
        other => panic!("unexpected result {other:?}"),
    }
}

/// Parses a command line that must fail.
fn cli_error(args: &[&str]) -> ConfigError {
    match cli(args) {
        Err(err) => err,
        other => panic!("unexpected success {other:?}"),
    }
}

/// Loads config text that must be valid.
fn conf(text: &str) -> Config {
    let mut config = Config::default();
    if let Err(err) = config.load_str(text, "test.conf") {
        panic!("unexpected error:\n{err}");
    }
    config
}

/// Loads config text that must fail.
fn conf_error(text: &str) -> ConfigError {
    let mut config = Config::default();
    match config.load_str(text, "test.conf") {
        Err(err) => err,
        Ok(()) => panic!("unexpected success for {text:?}"),
    }
}

/// CONFIG GET with string patterns.
fn get(config: &Config, patterns: &[&str]) -> Vec<(String, String)> {
    let patterns: Vec<&[u8]> = patterns.iter().map(|p| p.as_bytes()).collect();
    config.get(&patterns)
}

/// CONFIG GET of one exact name, which must exist.
fn get1(config: &Config, name: &str) -> String {
    let reply = get(config, &[name]);
    assert_eq!(reply.len(), 1, "CONFIG GET {name} gave {reply:?}");
    reply[0].1.clone()
}

/// CONFIG SET with string pairs.
fn set(config: &mut Config, pairs: &[(&str, &str)]) -> Result<(), String> {
    let pairs: Vec<(&[u8], &[u8])> = pairs.iter().map(|(n, v)| (n.as_bytes(), v.as_bytes())).collect();
    config.set(&pairs)
}

/// A fresh empty temporary directory.
fn temp_dir() -> PathBuf {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("tallkv-config-test-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create temp dir");
    dir
}

/// Writes `text` to `dir/name` and returns the path as a string.
fn write_file(dir: &std::path::Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write temp file");
    path.to_string_lossy().into_owned()
}

/// Splits a line into UTF-8 arguments (test helper).
fn split(line: &str) -> Option<Vec<String>> {
    split_args(line.as_bytes()).map(|args| args.into_iter().map(|a| String::from_utf8_lossy(&a).into_owned()).collect())
}

// ------------------------------------------------------------------- glob

#[test]
fn glob_basics() {
    assert!(glob_match(b"*", b"anything", false));
    assert!(glob_match(b"h?llo", b"hello", false));
    assert!(glob_match(b"h*llo", b"heeeello", false));
    assert!(glob_match(b"h[ae]llo", b"hallo", false));
    assert!(!glob_match(b"h[ae]llo", b"hillo", false));
    assert!(glob_match(b"h[^e]llo", b"hallo", false));
    assert!(!glob_match(b"h[^e]llo", b"hello", false));
    assert!(glob_match(b"h[a-b]llo", b"hbllo", false));
    assert!(glob_match(b"h[b-a]llo", b"hallo", false), "reversed range");
    assert!(glob_match(b"h\\*llo", b"h*llo", false));
    assert!(!glob_match(b"h\\*llo", b"hello", false));
    assert!(glob_match(b"[\\]]", b"]", false));
    assert!(glob_match(b"a*", b"a", false));
    assert!(glob_match(b"a**", b"a", false));
    assert!(!glob_match(b"a?", b"a", false));
    assert!(glob_match(b"", b"", false));
    assert!(!glob_match(b"", b"a", false));
    assert!(!glob_match(b"abc", b"ab", false));
    assert!(!glob_match(b"ab", b"abc", false));
}

#[test]
fn glob_redis_quirks() {
    // An empty text only matches the empty pattern (KEYS special-cases "*").
    assert!(!glob_match(b"*", b"", false));
    assert!(!glob_match(b"**", b"", false));
    // An unterminated class ends with the pattern.
    assert!(glob_match(b"[a", b"a", false));
    assert!(glob_match(b"x[ab", b"xb", false));
    // In "[a-]" the '-' makes a range from 'a' down to ']'.
    assert!(glob_match(b"[a-]", b"]", false));
    assert!(glob_match(b"[a-]", b"_", false));
    assert!(!glob_match(b"[a-]", b"-", false));
    // A trailing backslash matches itself.
    assert!(glob_match(b"a\\", b"a\\", false));
    // Non-ASCII bytes are signed chars in ranges, as on x86-64 Redis.
    assert!(glob_match(b"[\xe9-a]", b"\x01", false));
}

#[test]
fn glob_nocase() {
    assert!(glob_match(b"HELLO", b"hello", true));
    assert!(!glob_match(b"HELLO", b"hello", false));
    assert!(glob_match(b"h[A-C]llo", b"hbllo", true));
    assert!(glob_match(b"*MAX*", b"maxmemory", true));
    assert!(glob_match(b"h[E]llo", b"hello", true));
}

#[test]
fn glob_pathological_patterns_finish_fast() {
    let text = vec![b'a'; 10_000];
    let mut pattern = Vec::new();
    for _ in 0..30 {
        pattern.extend_from_slice(b"a*");
    }
    pattern.push(b'b');
    let start = Instant::now();
    assert!(!glob_match(&pattern, &text, false));
    assert!(!glob_match(&pattern, &text, true));
    let mut question = Vec::new();
    for _ in 0..30 {
        question.extend_from_slice(b"*?");
    }
    question.push(b'b');
    assert!(!glob_match(&question, &text, false));
    assert!(start.elapsed() < Duration::from_secs(2), "took {:?}", start.elapsed());
}

#[test]
fn glob_nesting_limit() {
    // More than 1000 nested '*' never match (Redis's protection), without
    // overflowing the stack.
    let mut pattern = Vec::new();
    for _ in 0..1200 {
        pattern.extend_from_slice(b"a*");
    }
    let text = vec![b'a'; 1300];
    assert!(!glob_match(&pattern, &text, false));
    let mut small = Vec::new();
    for _ in 0..10 {
        small.extend_from_slice(b"a*");
    }
    assert!(glob_match(&small, &text, false));
}

// ------------------------------------------------------------ parse utils

#[test]
fn split_args_like_sdssplitargs() {
    assert_eq!(split("port 6379"), Some(vec!["port".into(), "6379".into()]));
    assert_eq!(split("  a   b  "), Some(vec!["a".into(), "b".into()]));
    assert_eq!(split(""), Some(vec![]));
    assert_eq!(split(r#"save "" x"#), Some(vec!["save".into(), "".into(), "x".into()]));
    assert_eq!(split(r#"a "b c" 'd e'"#), Some(vec!["a".into(), "b c".into(), "d e".into()]));
    assert_eq!(split(r#""\n\r\t\\\"\x41\q""#), Some(vec!["\n\r\t\\\"Aq".into()]));
    assert_eq!(split_args(br#""\b\a\xff""#), Some(vec![vec![0x08, 0x07, 0xff]]));
    assert_eq!(split(r"'it\'s'"), Some(vec!["it's".into()]));
    assert_eq!(split(r"'a\nb'"), Some(vec!["a\\nb".into()]));
    // Quotes glued inside a word join it.
    assert_eq!(split(r#"ab"c d""#), Some(vec!["abc d".into()]));
    // Unbalanced quotes and a closing quote glued to the next word fail.
    assert_eq!(split(r#""abc"#), None);
    assert_eq!(split("'abc"), None);
    assert_eq!(split(r#""a"b"#), None);
    assert_eq!(split("'a'b"), None);
}

#[test]
fn quote_arg_round_trips() {
    for arg in ["plain", "", "two words", "quo\"te", "back\\slash", "new\nline", "it's"] {
        let quoted = quote_arg(arg);
        assert_eq!(split(&quoted), Some(vec![arg.to_string()]), "{quoted}");
    }
    assert_eq!(quote_arg("99999"), "99999");
    assert_eq!(quote_arg(""), "\"\"");
}

#[test]
fn memory_units() {
    assert_eq!(parse_memory("0"), Some(0));
    assert_eq!(parse_memory("100"), Some(100));
    assert_eq!(parse_memory("5b"), Some(5));
    assert_eq!(parse_memory("1k"), Some(1000));
    assert_eq!(parse_memory("1kb"), Some(1024));
    assert_eq!(parse_memory("1m"), Some(1_000_000));
    assert_eq!(parse_memory("1mb"), Some(1024 * 1024));
    assert_eq!(parse_memory("1g"), Some(1_000_000_000));
    assert_eq!(parse_memory("1gb"), Some(1024 * 1024 * 1024));
    assert_eq!(parse_memory("2GB"), Some(2 * 1024 * 1024 * 1024));
    assert_eq!(parse_memory("3Kb"), Some(3 * 1024));
    assert_eq!(parse_memory("4M"), Some(4_000_000));
    for bad in ["1.5mb", "-1", "+1", " 1", "1 kb", "1tb", "1kbb", "x"] {
        assert_eq!(parse_memory(bad), None, "{bad:?}");
    }
    // Redis quirks: no digits reads as 0, overflow saturates.
    assert_eq!(parse_memory(""), Some(0));
    assert_eq!(parse_memory("kb"), Some(0));
    assert_eq!(parse_memory("18446744073709551615"), Some(u64::MAX));
    assert_eq!(parse_memory("99999999999999999999"), Some(u64::MAX));
    assert_eq!(parse_memory("17179869184gb"), Some(u64::MAX));
}

#[test]
fn strict_integers() {
    assert_eq!(parse_i64("0"), Some(0));
    assert_eq!(parse_i64("-5"), Some(-5));
    assert_eq!(parse_i64("9223372036854775807"), Some(i64::MAX));
    assert_eq!(parse_i64("-9223372036854775808"), Some(i64::MIN));
    for bad in ["", "-", "-0", "007", "+1", " 1", "1 ", "0x10", "1e3", "9223372036854775808", "1k"] {
        assert_eq!(parse_i64(bad), None, "{bad:?}");
    }
}

#[test]
fn split_spaces_like_sdssplitlen() {
    assert!(split_spaces("").is_empty());
    assert_eq!(split_spaces("900 1"), vec!["900", "1"]);
    assert_eq!(split_spaces("a  b"), vec!["a", "", "b"]);
}

// --------------------------------------------------------------- defaults

#[test]
fn defaults() {
    let config = Config::default();
    assert_eq!(config.port(), 6379);
    assert_eq!(config.bind(), vec!["127.0.0.1".to_string()]);
    assert_eq!(config.threads(), 0);
    let cwd = std::env::current_dir().expect("cwd");
    assert_eq!(config.dir(), cwd.to_string_lossy());
    assert_eq!(config.databases(), 16);
    assert_eq!(config.loglevel(), LogLevel::Notice);
    assert_eq!(config.logfile(), "");
    assert_eq!(config.maxclients(), 10000);
    assert_eq!(config.timeout(), 0);
    assert_eq!(config.tcp_keepalive(), 300);
    assert_eq!(config.tcp_backlog(), 511);
    assert_eq!(config.hz(), 10);
    assert_eq!(config.proto_max_bulk_len(), 512 * 1024 * 1024);
    assert_eq!(config.client_query_buffer_limit(), 1024 * 1024 * 1024);
    assert_eq!(config.maxmemory_policy(), MaxmemoryPolicy::Noeviction);
    assert_eq!(config.maxmemory_samples(), 5);
    assert_eq!(config.lfu_log_factor(), 10);
    assert_eq!(config.lfu_decay_time(), 1);
    assert_eq!(config.active_expire_effort(), 1);
    assert!(!config.lazyfree_lazy_user_del());
    assert!(!config.lazyfree_lazy_user_flush());
    assert!(!config.lazyfree_lazy_expire());
    assert!(!config.lazyfree_lazy_eviction());
    assert!(!config.lazyfree_lazy_server_del());
    assert!(config.protected_mode());
    assert!(!config.daemonize());
    assert_eq!(config.pidfile(), "");
    assert_eq!(config.requirepass(), "");
    assert_eq!(config.maxmemory(), 0);
    assert!(!config.appendonly());
    assert_eq!(config.appendfsync(), AppendFsync::Everysec);
    assert_eq!(config.dbfilename(), "dump.rdb");
    assert_eq!(config.appendfilename(), "appendonly.aof");
    assert_eq!(config.appenddirname(), "appendonlydir");
    assert_eq!(config.list_max_listpack_size(), -2);
    assert_eq!(config.list_compress_depth(), 0);
    assert_eq!(config.hash_max_listpack_entries(), 512);
    assert_eq!(config.hash_max_listpack_value(), 64);
    assert_eq!(config.set_max_intset_entries(), 512);
    assert_eq!(config.set_max_listpack_entries(), 128);
    assert_eq!(config.set_max_listpack_value(), 64);
    assert_eq!(config.zset_max_listpack_entries(), 128);
    assert_eq!(config.zset_max_listpack_value(), 64);
    assert_eq!(config.hll_sparse_max_bytes(), 3000);
    assert_eq!(config.stream_node_max_bytes(), 4096);
    assert_eq!(config.stream_node_max_entries(), 100);
    assert!(config.activerehashing());
    assert!(config.latency_tracking());
    assert_eq!(config.busy_reply_threshold(), 5000);
    assert_eq!(config.enable_debug_command(), ProtectedAction::No);
    assert_eq!(config.enable_protected_configs(), ProtectedAction::No);
    assert_eq!(config.config_file(), None);
}

#[test]
fn default_get_values_match_redis() {
    // Values as a stock redis-server 7.0 reports them (bind excepted).
    let config = Config::default();
    let expected = [
        ("bind", "127.0.0.1"),
        ("port", "6379"),
        ("save", "3600 1 300 100 60 10000"),
        ("appendonly", "no"),
        ("appendfsync", "everysec"),
        ("maxmemory", "0"),
        ("maxmemory-policy", "noeviction"),
        ("requirepass", ""),
        ("replicaof", ""),
        ("slaveof", ""),
        ("daemonize", "no"),
        ("supervised", "no"),
        ("io-threads", "1"),
        ("proto-max-bulk-len", "536870912"),
        ("client-query-buffer-limit", "1073741824"),
        ("hash-max-ziplist-entries", "512"),
        ("zset-max-ziplist-value", "64"),
        ("list-max-ziplist-size", "-2"),
        ("lua-time-limit", "5000"),
        ("notify-keyspace-events", ""),
        ("cluster-enabled", "no"),
        ("tls-port", "0"),
        ("aclfile", ""),
        ("enable-debug-command", "no"),
        ("enable-protected-configs", "no"),
        ("latency-tracking", "yes"),
        ("activerehashing", "yes"),
        ("loglevel", "notice"),
        ("logfile", ""),
        ("pidfile", ""),
        ("dbfilename", "dump.rdb"),
        ("appenddirname", "appendonlydir"),
        ("threads", "0"),
    ];
    for (name, value) in expected {
        assert_eq!(get1(&config, name), value, "{name}");
    }
}

// ------------------------------------------------------------ config file

#[test]
fn file_comments_blank_lines_quotes_and_case() {
    let config = conf(
        "# a comment\n\
         \n\
         \t  \n\
         PORT 7000\n\
         \x20  loglevel   \"verbose\"   \n\
         logfile '/tmp/tallkv log.txt'\n\
         MaxMemory-Policy ALLKEYS-LRU\r\n\
         timeout 30 \n\
         # port 1\n\
         dbfilename \"my\\x41.rdb\"\n",
    );
    assert_eq!(config.port(), 7000);
    assert_eq!(config.loglevel(), LogLevel::Verbose);
    assert_eq!(config.logfile(), "/tmp/tallkv log.txt");
    assert_eq!(config.maxmemory_policy(), MaxmemoryPolicy::AllkeysLru);
    assert_eq!(config.timeout(), 30);
    assert_eq!(config.dbfilename(), "myA.rdb");
}

#[test]
fn file_last_directive_wins() {
    let config = conf("port 7000\nport 7001\nbind 10.0.0.1\nbind 127.0.0.1 ::1\n");
    assert_eq!(config.port(), 7001);
    assert_eq!(config.bind(), vec!["127.0.0.1".to_string(), "::1".to_string()]);
}

#[test]
fn file_values_of_every_type() {
    let config = conf(
        "proto-max-bulk-len 1gb\n\
         client-query-buffer-limit 2mb\n\
         hash-max-ziplist-value 1kb\n\
         hash-max-ziplist-entries 10\n\
         list-max-ziplist-size -3\n\
         lua-time-limit 100\n\
         lazyfree-lazy-user-del YES\n\
         protected-mode No\n\
         appendfsync ALWAYS\n\
         hz 1000\n\
         threads 4\n\
         databases 32\n\
         enable-debug-command local\n\
         bind \"127.0.0.1 ::1\"\n\
         save \"\"\n\
         appendonly no\n\
         daemonize no\n\
         maxmemory 0gb\n\
         replicaof no one\n\
         list-max-ziplist-entries 512\n\
         lua-replicate-commands yes\n",
    );
    assert_eq!(config.proto_max_bulk_len(), 1 << 30);
    assert_eq!(config.client_query_buffer_limit(), 2 << 20);
    assert!(!config.maxmemory_policy_is_lfu());
    assert!(conf("maxmemory-policy volatile-lfu").maxmemory_policy_is_lfu());
    assert!(conf("maxmemory-policy allkeys-lfu").maxmemory_policy_is_lfu());
    assert_eq!(config.hash_max_listpack_value(), 1024);
    assert_eq!(config.hash_max_listpack_entries(), 10);
    assert_eq!(config.list_max_listpack_size(), -3);
    assert_eq!(config.busy_reply_threshold(), 100);
    assert!(config.lazyfree_lazy_user_del());
    assert!(!config.protected_mode());
    assert_eq!(config.appendfsync(), AppendFsync::Always);
    assert_eq!(config.hz(), 500, "hz is clamped to 500");
    assert_eq!(config.threads(), 4);
    assert_eq!(config.databases(), 32);
    assert_eq!(config.enable_debug_command(), ProtectedAction::Local);
    assert_eq!(config.bind(), vec!["127.0.0.1".to_string(), "::1".to_string()]);
    assert_eq!(conf("hz 0").hz(), 1, "hz is clamped to 1");
}

#[test]
fn file_error_display_matches_redis_form() {
    let err = conf_error("# first\nport 99999\n");
    assert_eq!(
        err.to_string(),
        "*** FATAL CONFIG FILE ERROR (tallkv) ***\n\
         Reading the configuration file 'test.conf', at line 2\n\
         >>> 'port 99999'\n\
         argument must be between 0 and 65535 inclusive"
    );
    assert_eq!(err.origin(), &ErrorOrigin::File { path: "test.conf".to_string(), line: 2 });
    assert_eq!(err.text(), "port 99999");
    assert_eq!(err.reason(), "argument must be between 0 and 65535 inclusive");
}

#[test]
fn file_error_reasons() {
    let cases = [
        ("foo bar", "Bad directive or wrong number of arguments"),
        ("rename-command FLUSHALL \"\"", "Bad directive or wrong number of arguments"),
        ("include", "Bad directive or wrong number of arguments"),
        ("list-max-ziplist-entries 1 2", "Bad directive or wrong number of arguments"),
        ("port 1 2", "wrong number of arguments"),
        ("port", "wrong number of arguments"),
        ("port \"6379", "Unbalanced quotes in configuration line"),
        ("port \"6379\"x", "Unbalanced quotes in configuration line"),
        ("port abc", "argument couldn't be parsed into an integer"),
        ("port -1", "argument must be between 0 and 65535 inclusive"),
        ("port 0x10", "argument couldn't be parsed into an integer"),
        ("timeout 2147483648", "argument must be between 0 and 2147483647 inclusive"),
        ("maxclients 0", "argument must be between 1 and 4294967295 inclusive"),
        ("active-expire-effort 11", "argument must be between 1 and 10 inclusive"),
        ("hz -1", "argument must be between 0 and 2147483647 inclusive"),
        ("databases 0", "argument must be between 1 and 2147483647 inclusive"),
        ("proto-max-bulk-len 1kb", "argument must be between 1048576 and 9223372036854775807 inclusive"),
        ("proto-max-bulk-len 1.5mb", "argument must be a memory value"),
        ("proto-max-bulk-len -1", "argument must be a memory value"),
        ("maxmemory 1xb", "argument must be a memory value"),
        ("activerehashing maybe", "argument must be 'yes' or 'no'"),
        ("daemonize maybe", "argument must be 'yes' or 'no'"),
        ("loglevel loud", "argument(s) must be one of the following: debug, verbose, notice, warning, nothing"),
        (
            "maxmemory-policy foo",
            "argument(s) must be one of the following: volatile-lru, volatile-lfu, \
             volatile-random, volatile-ttl, allkeys-lru, allkeys-lfu, allkeys-random, noeviction",
        ),
        ("appendfsync sometimes", "argument(s) must be one of the following: everysec, always, no"),
        ("save 900", "Invalid save parameters"),
        ("save 0 1", "Invalid save parameters"),
        ("save 900 -1", "Invalid save parameters"),
        ("save abc 1", "Invalid save parameters"),
        ("dbfilename a/b.rdb", "dbfilename can't be a path, just a filename"),
        ("appendfilename \"\"", "appendfilename can't be empty"),
        ("appenddirname x/y", "appenddirname can't be a path, just a dirname"),
        ("replicaof localhost", "wrong number of arguments"),
        ("bind \"\"", "bind needs at least one address: tallkv has no unix socket to listen on instead"),
        ("bind 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17", "Too many bind addresses specified."),
        ("threads 1025", "argument must be between 0 and 1024 inclusive"),
        ("dir /nonexistent/tallkv/dir", "No such file or directory"),
    ];
    for (line, reason) in cases {
        let err = conf_error(line);
        assert_eq!(err.reason(), reason, "for {line:?}");
        assert_eq!(err.text(), line);
    }
}

#[test]
fn file_unsupported_features_are_refused() {
    let cases = [
        (
            "requirepass secret",
            "'requirepass secret' is not supported yet: authentication is not implemented in this tallkv version",
        ),
        (
            "maxmemory 1gb",
            "'maxmemory 1gb' is not supported yet: the memory limit (maxmemory) is not implemented in this tallkv version",
        ),
        (
            "replicaof 127.0.0.1 6379",
            "'replicaof 127.0.0.1 6379' is not supported yet: replication is not implemented in this tallkv version",
        ),
        (
            "slaveof 127.0.0.1 6379",
            "'slaveof 127.0.0.1 6379' is not supported yet: replication is not implemented in this tallkv version",
        ),
        ("notify-keyspace-events KEq", "Invalid event class character. Use 'Ag$lshzxeKEtmdn'."),
        (
            "slowlog-log-slower-than 10000",
            "'slowlog-log-slower-than 10000' is not supported yet: the slow log is not implemented in this tallkv version",
        ),
        (
            "cluster-enabled yes",
            "'cluster-enabled yes' is not supported yet: cluster mode is not implemented in this tallkv version",
        ),
        (
            "user default on nopass ~* +@all",
            "'user default on nopass ~* +@all' is not supported yet: ACL is not implemented in this tallkv version",
        ),
        (
            "aclfile /etc/users.acl",
            "'aclfile /etc/users.acl' is not supported yet: ACL is not implemented in this tallkv version",
        ),
        ("tls-port 6380", "'tls-port 6380' is not supported yet: TLS is not implemented in this tallkv version"),
        (
            "daemonize yes",
            "'daemonize yes' is not supported yet: running as a daemon is not implemented in this tallkv version",
        ),
        (
            "supervised systemd",
            "'supervised systemd' is not supported yet: supervision by upstart or systemd is not implemented in this tallkv version",
        ),
        (
            "io-threads 4",
            "'io-threads 4' is not supported: tallkv runs one thread per core; set the number of threads with --threads",
        ),
    ];
    for (line, reason) in cases {
        assert_eq!(conf_error(line).reason(), reason, "for {line:?}");
    }
    // The values that keep those features off are accepted.
    conf(
        "appendonly NO\nsave \"\"\nrequirepass \"\"\nmaxmemory 0\nreplicaof NO ONE\n\
         notify-keyspace-events \"\"\ncluster-enabled no\naclfile \"\"\ntls-port 0\n\
         daemonize no\nsupervised NO\nio-threads 1\n",
    );
}

#[test]
fn file_line_numbers_count_comments_and_blanks() {
    let err = conf_error("# c\n\n  # indented comment\nport 1\n\nfoo\n");
    assert_eq!(err.origin(), &ErrorOrigin::File { path: "test.conf".to_string(), line: 6 });
    assert_eq!(err.reason(), "Bad directive or wrong number of arguments");
}

#[test]
fn file_include() {
    let dir = temp_dir();
    let other = write_file(&dir, "other.conf", "# included\nport 7002\ntimeout 9\n");
    let main = write_file(&dir, "main.conf", &format!("port 7001\ninclude {other}\ntimeout 10\n"));
    let mut config = Config::default();
    config.load_file(&main).expect("load");
    assert_eq!(config.port(), 7002, "included after port 7001");
    assert_eq!(config.timeout(), 10, "set after the include");

    // An error inside the included file names that file and its line.
    let bad = write_file(&dir, "bad.conf", "\nhz abc\n");
    let main = write_file(&dir, "main2.conf", &format!("port 7001\ninclude \"{bad}\"\n"));
    let err = Config::default().load_file(&main).expect_err("must fail");
    assert_eq!(err.origin(), &ErrorOrigin::File { path: bad.clone(), line: 2 });
    assert_eq!(err.text(), "hz abc");

    // A missing included file is reported at the include line.
    let missing = dir.join("missing.conf").to_string_lossy().into_owned();
    let main = write_file(&dir, "main3.conf", &format!("include {missing}\n"));
    let err = Config::default().load_file(&main).expect_err("must fail");
    assert_eq!(err.origin(), &ErrorOrigin::File { path: main.clone(), line: 1 });
    assert_eq!(err.reason(), format!("Fatal error, can't open config file '{missing}': No such file or directory"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn file_include_cycle_is_an_error() {
    let dir = temp_dir();
    let a = dir.join("a.conf").to_string_lossy().into_owned();
    let b = dir.join("b.conf").to_string_lossy().into_owned();
    write_file(&dir, "a.conf", &format!("port 1\ninclude {b}\n"));
    write_file(&dir, "b.conf", &format!("include {a}\n"));
    let err = Config::default().load_file(&a).expect_err("cycle");
    assert!(err.reason().contains("include nesting deeper than 16 levels"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn file_include_glob() {
    let dir = temp_dir();
    let conf_d = dir.join("conf.d");
    std::fs::create_dir_all(&conf_d).expect("mkdir");
    write_file(&conf_d, "10-port.conf", "port 7010\n");
    write_file(&conf_d, "20-port.conf", "port 7020\ntimeout 5\n");
    write_file(&conf_d, "ignored.txt", "port 1\n");
    let pattern = format!("{}/*.conf", conf_d.to_string_lossy());
    let main = write_file(&dir, "main.conf", &format!("include {pattern}\n"));
    let mut config = Config::default();
    config.load_file(&main).expect("load");
    assert_eq!(config.port(), 7020, "files are applied in sorted order");
    assert_eq!(config.timeout(), 5);
    // No match is not an error.
    let main = write_file(&dir, "none.conf", &format!("include {}/*.nothing\n", dir.to_string_lossy()));
    Config::default().load_file(&main).expect("no match is fine");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn missing_config_file() {
    let err = cli_error(&["/nonexistent/tallkv.conf"]);
    assert_eq!(err.origin(), &ErrorOrigin::Other);
    assert_eq!(
        err.to_string(),
        "*** FATAL CONFIG FILE ERROR (tallkv) ***\n\
         Fatal error, can't open config file '/nonexistent/tallkv.conf': No such file or directory"
    );
}

#[test]
fn dir_directive() {
    let dir = temp_dir();
    let sub = dir.join("data");
    std::fs::create_dir_all(&sub).expect("mkdir");
    let canonical_sub = std::fs::canonicalize(&sub).expect("canonicalize");
    let config = conf(&format!("dir {}\ndir data\n", dir.to_string_lossy()));
    assert_eq!(config.dir(), canonical_sub.to_string_lossy(), "relative to the previous dir");
    let file = write_file(&dir, "plain", "");
    assert_eq!(conf_error(&format!("dir {file}")).reason(), "Not a directory");
    let _ = std::fs::remove_dir_all(&dir);
}

// ----------------------------------------------------------- command line

#[test]
fn command_line_options() {
    let config = cli_config(&["--port", "7000", "--threads", "4", "--bind", "127.0.0.1", "::1"]);
    assert_eq!(config.port(), 7000);
    assert_eq!(config.threads(), 4);
    assert_eq!(config.bind(), vec!["127.0.0.1".to_string(), "::1".to_string()]);
    let config = cli_config(&[]);
    assert_eq!(config, Config::default());
    // Name and value in one argument, and a quoted multi-value argument.
    let config = cli_config(&["--port 7001", "--bind", "127.0.0.1 ::1"]);
    assert_eq!(config.port(), 7001);
    assert_eq!(config.bind(), vec!["127.0.0.1".to_string(), "::1".to_string()]);
    // Names are case-insensitive; options apply in order.
    let config = cli_config(&["--PORT", "1", "--port", "2"]);
    assert_eq!(config.port(), 2);
}

#[test]
fn save_lines_accumulate_at_startup() {
    // The first `save` line replaces the defaults; later lines add rules (redis.conf semantics).
    let config = conf("save 900 1\nsave 300 10\nsave 60 10000\n");
    assert_eq!(config.save_rules(), &[(900, 1), (300, 10), (60, 10000)]);
    let config = conf("save \"\"\n");
    assert!(config.save_rules().is_empty());
    let mut config = conf("save 900 1\nsave 300 10\n");
    set(&mut config, &[("save", "60 5")]).expect("set");
    assert_eq!(config.save_rules(), &[(60, 5)], "CONFIG SET replaces every rule");
    assert_eq!(Config::default().save_rules(), &[(3600, 1), (300, 100), (60, 10000)]);
    let config = conf("appendonly yes\naof-load-truncated no\nsnapshot-format rdb\n");
    assert!(config.appendonly());
    assert!(!config.aof_load_truncated());
    assert_eq!(get1(&config, "snapshot-format"), "rdb");
}

#[test]
fn command_line_save_forms() {
    cli_config(&["--save", ""]);
    cli_config(&["--save"]);
    cli_config(&["--save", "--port", "7000"]);
    let config = cli_config(&["--save", "--port", "7000"]);
    assert_eq!(config.port(), 7000);
    assert_eq!(cli_config(&["--save", ""]).save_rules(), &[] as &[(i64, i64)]);
    assert_eq!(cli_config(&["--save", "900", "1", "300", "10"]).save_rules(), &[(900, 1), (300, 10)]);
    assert_eq!(cli_config(&["--save", "900 1"]).save_rules(), &[(900, 1)]);
    assert_eq!(cli_error(&["--save", "900"]).reason(), "Invalid save parameters");
}

#[test]
fn command_line_replicaof_and_empty_values() {
    let err = cli_error(&["--replicaof", "127.0.0.1", "6379"]);
    assert_eq!(err.text(), "replicaof 127.0.0.1 6379");
    assert_eq!(
        err.reason(),
        "'replicaof 127.0.0.1 6379' is not supported yet: replication is not implemented in this tallkv version"
    );
    cli_config(&["--replicaof", "no", "one"]);
    let config = cli_config(&["--logfile", "", "--pidfile", "/tmp/x.pid"]);
    assert_eq!(config.logfile(), "");
    assert_eq!(config.pidfile(), "/tmp/x.pid");
    // The first value is taken even when it starts with "--" (Redis 7.0.1+).
    let config = cli_config(&["--logfile", "--weird", "--port", "7000"]);
    assert_eq!(config.logfile(), "--weird");
    assert_eq!(config.port(), 7000);
}

#[test]
fn command_line_errors() {
    let err = cli_error(&["--port", "99999"]);
    assert_eq!(
        err.to_string(),
        "*** FATAL CONFIG FILE ERROR (tallkv) ***\n\
         Reading the configuration in the command line arguments, at option --port\n\
         >>> 'port 99999'\n\
         argument must be between 0 and 65535 inclusive"
    );
    assert_eq!(err.origin(), &ErrorOrigin::CommandLine { option: "port".to_string() });
    assert_eq!(cli_error(&["--port"]).reason(), "wrong number of arguments");
    assert_eq!(cli_error(&["--port", "1", "2"]).text(), "port 1 2");
    assert_eq!(cli_error(&["--nosuch", "1"]).reason(), "Bad directive or wrong number of arguments");
    assert_eq!(cli_error(&["--daemonize", "yes"]).text(), "daemonize yes");
    assert_eq!(cli_error(&["--logfile", "a b", "c"]).text(), "logfile \"a b\" c");
    let err = cli_error(&["-x"]);
    assert_eq!(err.origin(), &ErrorOrigin::Other);
    assert_eq!(err.reason(), "unexpected argument -x: options are written --name value");
    assert_eq!(cli_error(&["-"]).reason(), "reading the configuration from standard input ('-') is not supported");
    assert_eq!(
        cli_error(&["--io-threads", "4"]).reason(),
        "'io-threads 4' is not supported: tallkv runs one thread per core; set the number of threads with --threads"
    );
}

#[test]
fn command_line_help_and_version() {
    for (args, expected) in [
        (&["-h"][..], CommandLine::Help),
        (&["--help"][..], CommandLine::Help),
        (&["-v"][..], CommandLine::Version),
        (&["--version"][..], CommandLine::Version),
        (&["--port", "1", "--help"][..], CommandLine::Help),
        (&["--port", "1", "--version"][..], CommandLine::Version),
    ] {
        assert_eq!(cli(args), Ok(expected), "{args:?}");
    }
    assert!(usage().contains("tallkv -h or --help"));
    // Help wins over a config file that cannot be read.
    assert_eq!(cli(&["/nonexistent/tallkv.conf", "--help"]), Ok(CommandLine::Help));
}

#[test]
fn command_line_file_then_options() {
    let dir = temp_dir();
    let file = write_file(&dir, "t.conf", "port 7000\ntimeout 5\n");
    let absolute = std::path::absolute(&file).expect("absolute").to_string_lossy().into_owned();
    match cli(&[&file, "--port", "7001"]) {
        Ok(CommandLine::Run { config, file }) => {
            assert_eq!(config.port(), 7001, "options apply after the file");
            assert_eq!(config.timeout(), 5);
            assert_eq!(config.config_file(), Some(absolute.as_str()));
            assert_eq!(file, Some(absolute.clone()));
        }
        other => panic!("unexpected {other:?}"),
    }
    match cli(&["--port", "7001"]) {
        Ok(CommandLine::Run { file, .. }) => assert_eq!(file, None),
        other => panic!("unexpected {other:?}"),
    }
    let file = write_file(&dir, "bad.conf", "port 7000\n\nhz x\n");
    let err = cli_error(&[&file, "--port", "7001"]);
    assert_eq!(err.origin(), &ErrorOrigin::File { path: file.clone(), line: 3 });
    // `include` works as an option too.
    let inc = write_file(&dir, "inc.conf", "timeout 77\n");
    assert_eq!(cli_config(&["--include", &inc]).timeout(), 77);
    let _ = std::fs::remove_dir_all(&dir);
}

// ------------------------------------------------------------- CONFIG GET

#[test]
fn get_exact_names_and_aliases() {
    let config = Config::default();
    assert_eq!(get(&config, &["port"]), vec![("port".into(), "6379".into())]);
    // The name is echoed as written.
    assert_eq!(get(&config, &["PORT"]), vec![("PORT".into(), "6379".into())]);
    assert_eq!(get(&config, &["hash-max-ziplist-entries"]), vec![("hash-max-ziplist-entries".into(), "512".into())]);
    assert_eq!(get(&config, &["nosuch"]), vec![]);
    // Unsupported directives are not listed.
    assert_eq!(get(&config, &["slowlog-log-slower-than"]), vec![]);
    assert_eq!(get(&config, &["rename-command"]), vec![]);
}

#[test]
fn get_globs_and_dedup() {
    let config = Config::default();
    assert_eq!(
        get(&config, &["*max-*-entries*"]),
        vec![
            ("hash-max-listpack-entries".into(), "512".into()),
            ("hash-max-ziplist-entries".into(), "512".into()),
            ("set-max-intset-entries".into(), "512".into()),
            ("set-max-listpack-entries".into(), "128".into()),
            ("zset-max-listpack-entries".into(), "128".into()),
            ("zset-max-ziplist-entries".into(), "128".into()),
        ]
    );
    // Several patterns, each name once.
    assert_eq!(
        get(&config, &["port", "PORT", "*ort", "p?rt"]),
        vec![
            ("port".into(), "6379".into()),
            ("active-expire-effort".into(), "1".into()),
            ("tls-port".into(), "0".into()),
        ]
    );
    assert_eq!(
        get(&config, &["[p]ort", "tls-port"]),
        vec![("port".into(), "6379".into()), ("tls-port".into(), "0".into())]
    );
    assert_eq!(get(&config, &["*AXMEMORY"]), vec![("maxmemory".into(), "0".into())]);
    assert_eq!(
        get(&config, &["lazyfree-lazy-user-*"]),
        vec![("lazyfree-lazy-user-del".into(), "no".into()), ("lazyfree-lazy-user-flush".into(), "no".into()),]
    );
    assert_eq!(
        get(&config, &["save", "bind"]),
        vec![("save".into(), "3600 1 300 100 60 10000".into()), ("bind".into(), "127.0.0.1".into())]
    );
    // `*` lists every visible name exactly once.
    let all = get(&config, &["*"]);
    let mut names: Vec<&str> = all.iter().map(|(n, _)| n.as_str()).collect();
    let count = names.len();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), count, "no duplicates");
    let visible: usize =
        DIRECTIVES.iter().filter(|d| !matches!(d.kind, Kind::Unsupported { .. })).map(|d| d.names().count()).sum();
    assert_eq!(count, visible);
}

// ------------------------------------------------------------- CONFIG SET

#[test]
fn set_values() {
    let mut config = Config::default();
    set(
        &mut config,
        &[
            ("timeout", "30"),
            ("maxmemory-policy", "ALLKEYS-LFU"),
            ("proto-max-bulk-len", "2mb"),
            ("activerehashing", "No"),
            ("hash-max-ziplist-entries", "99"),
            ("lua-time-limit", "7"),
            ("loglevel", "nothing"),
        ],
    )
    .expect("set");
    assert_eq!(config.timeout(), 30);
    assert_eq!(config.maxmemory_policy(), MaxmemoryPolicy::AllkeysLfu);
    assert_eq!(get1(&config, "maxmemory-policy"), "allkeys-lfu");
    assert_eq!(get1(&config, "proto-max-bulk-len"), "2097152");
    assert_eq!(get1(&config, "activerehashing"), "no");
    assert_eq!(get1(&config, "hash-max-listpack-entries"), "99");
    assert_eq!(get1(&config, "busy-reply-threshold"), "7");
    assert_eq!(config.loglevel(), LogLevel::Nothing);
    set(&mut config, &[("hz", "1000")]).expect("set");
    assert_eq!(get1(&config, "hz"), "500");
    set(&mut config, &[("hz", "0")]).expect("set");
    assert_eq!(get1(&config, "hz"), "1");
    // Alias and canonical name in the same call: both apply, last wins
    // (as redis-server 7.0 does).
    set(&mut config, &[("hash-max-ziplist-entries", "10"), ("hash-max-listpack-entries", "20")]).expect("set");
    assert_eq!(config.hash_max_listpack_entries(), 20);
    // The "off" values of missing features are accepted.
    set(
        &mut config,
        &[("save", ""), ("appendonly", "no"), ("maxmemory", "0"), ("requirepass", ""), ("notify-keyspace-events", "")],
    )
    .expect("set");
    set(&mut config, &[]).expect("nothing to set");
}

#[test]
fn set_is_all_or_nothing() {
    let mut config = Config::default();
    let before = config.clone();
    let err = set(&mut config, &[("timeout", "5"), ("maxmemory-samples", "abc")]).unwrap_err();
    assert_eq!(
        err,
        "ERR CONFIG SET failed (possibly related to argument 'maxmemory-samples') - \
         argument couldn't be parsed into an integer"
    );
    assert_eq!(config, before);
    let err = set(&mut config, &[("timeout", "5"), ("requirepass", "x")]).unwrap_err();
    assert!(err.contains("is not supported yet"), "{err}");
    assert_eq!(config, before);
}

#[test]
fn set_error_texts() {
    let mut config = Config::default();
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[("nonexist", "1")], "ERR Unknown option or number of arguments for CONFIG SET - 'nonexist'"),
        (&[("rename-command", "1")], "ERR Unknown option or number of arguments for CONFIG SET - 'rename-command'"),
        (
            &[("port", "7000")],
            "ERR CONFIG SET failed (possibly related to argument 'port') - can't set immutable config",
        ),
        (
            &[("DAEMONIZE", "yes")],
            "ERR CONFIG SET failed (possibly related to argument 'DAEMONIZE') - can't set immutable config",
        ),
        (
            &[("threads", "2")],
            "ERR CONFIG SET failed (possibly related to argument 'threads') - can't set immutable config",
        ),
        (
            &[("bind", "0.0.0.0")],
            "ERR CONFIG SET failed (possibly related to argument 'bind') - can't set immutable config",
        ),
        (
            &[("databases", "4")],
            "ERR CONFIG SET failed (possibly related to argument 'databases') - can't set immutable config",
        ),
        (
            &[("io-threads", "1")],
            "ERR CONFIG SET failed (possibly related to argument 'io-threads') - can't set immutable config",
        ),
        (
            &[("replicaof", "no one")],
            "ERR CONFIG SET failed (possibly related to argument 'replicaof') - can't set immutable config",
        ),
        (&[("dir", "/tmp")], "ERR CONFIG SET failed (possibly related to argument 'dir') - can't set protected config"),
        (
            &[("dbfilename", "x.rdb")],
            "ERR CONFIG SET failed (possibly related to argument 'dbfilename') - can't set protected config",
        ),
        (
            &[("timeout", "abc")],
            "ERR CONFIG SET failed (possibly related to argument 'timeout') - argument couldn't be parsed into an integer",
        ),
        (
            &[("TIMEOUT", "abc")],
            "ERR CONFIG SET failed (possibly related to argument 'timeout') - argument couldn't be parsed into an integer",
        ),
        (
            &[("hash-max-ziplist-entries", "abc")],
            "ERR CONFIG SET failed (possibly related to argument 'hash-max-ziplist-entries') - argument couldn't be parsed into an integer",
        ),
        (
            &[("timeout", "-1")],
            "ERR CONFIG SET failed (possibly related to argument 'timeout') - argument must be between 0 and 2147483647 inclusive",
        ),
        (
            &[("proto-max-bulk-len", "1000")],
            "ERR CONFIG SET failed (possibly related to argument 'proto-max-bulk-len') - argument must be between 1048576 and 9223372036854775807 inclusive",
        ),
        (
            &[("maxmemory", "1xb")],
            "ERR CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be a memory value",
        ),
        (
            &[("activerehashing", "maybe")],
            "ERR CONFIG SET failed (possibly related to argument 'activerehashing') - argument must be 'yes' or 'no'",
        ),
        (
            &[("maxmemory-policy", "foo")],
            "ERR CONFIG SET failed (possibly related to argument 'maxmemory-policy') - argument(s) must be one of the following: volatile-lru, volatile-lfu, volatile-random, volatile-ttl, allkeys-lru, allkeys-lfu, allkeys-random, noeviction",
        ),
        (
            &[("timeout", "10"), ("timeout", "20")],
            "ERR CONFIG SET failed (possibly related to argument 'timeout') - duplicate parameter",
        ),
        (
            &[("timeout", "10"), ("TIMEOUT", "20")],
            "ERR CONFIG SET failed (possibly related to argument 'TIMEOUT') - duplicate parameter",
        ),
        (
            &[("daemonize", "yes"), ("nonexist", "1")],
            "ERR CONFIG SET failed (possibly related to argument 'daemonize') - can't set immutable config",
        ),
        (
            &[("nonexist", "1"), ("daemonize", "yes")],
            "ERR Unknown option or number of arguments for CONFIG SET - 'nonexist'",
        ),
        (
            &[("timeout", "abc"), ("maxclients", "abc")],
            "ERR CONFIG SET failed (possibly related to argument 'timeout') - argument couldn't be parsed into an integer",
        ),
        (&[("save", "900")], "ERR CONFIG SET failed (possibly related to argument 'save') - Invalid save parameters"),
        (&[("save", "  ")], "ERR CONFIG SET failed (possibly related to argument 'save') - Invalid save parameters"),
        (
            &[("requirepass", "x")],
            "ERR CONFIG SET failed (possibly related to argument 'requirepass') - 'requirepass x' is not supported yet: authentication is not implemented in this tallkv version",
        ),
        (
            &[("maxmemory", "1gb")],
            "ERR CONFIG SET failed (possibly related to argument 'maxmemory') - 'maxmemory 1gb' is not supported yet: the memory limit (maxmemory) is not implemented in this tallkv version",
        ),
        (
            &[("notify-keyspace-events", "Exq")],
            "ERR CONFIG SET failed (possibly related to argument 'notify-keyspace-events') - Invalid event class character. Use 'Ag$lshzxeKEtmdn'.",
        ),
        (
            &[("slowlog-log-slower-than", "100")],
            "ERR CONFIG SET failed (possibly related to argument 'slowlog-log-slower-than') - 'slowlog-log-slower-than 100' is not supported yet: the slow log is not implemented in this tallkv version",
        ),
        (
            &[("slave-read-only", "yes")],
            "ERR CONFIG SET failed (possibly related to argument 'slave-read-only') - 'slave-read-only yes' is not supported yet: replication is not implemented in this tallkv version",
        ),
    ];
    for (pairs, expected) in cases {
        let before = config.clone();
        assert_eq!(set(&mut config, pairs).unwrap_err(), *expected, "{pairs:?}");
        assert_eq!(config, before);
    }
}

#[test]
fn set_protected_configs() {
    let dir = temp_dir();
    let dir_text = dir.to_string_lossy().into_owned();
    let mut config = conf("enable-protected-configs yes");
    set(&mut config, &[("dir", &dir_text), ("dbfilename", "x.rdb")]).expect("set");
    let canonical = std::fs::canonicalize(&dir).expect("canonicalize");
    assert_eq!(config.dir(), canonical.to_string_lossy());
    assert_eq!(config.dbfilename(), "x.rdb");
    assert_eq!(
        set(&mut config, &[("dir", "/nonexistent/tallkv")]).unwrap_err(),
        "ERR CONFIG SET failed (possibly related to argument 'dir') - No such file or directory"
    );
    assert_eq!(
        set(&mut config, &[("dbfilename", "a/b")]).unwrap_err(),
        "ERR CONFIG SET failed (possibly related to argument 'dbfilename') - dbfilename can't be a path, just a filename"
    );
    // `local` lets local clients only.
    let mut config = conf("enable-protected-configs local");
    let pairs: [(&[u8], &[u8]); 1] = [(b"dbfilename", b"y.rdb")];
    assert!(config.set_from_client(&pairs, false).is_err());
    config.set_from_client(&pairs, true).expect("local client");
    assert_eq!(config.dbfilename(), "y.rdb");
    let _ = std::fs::remove_dir_all(&dir);
}

// ----------------------------------------------------------------- table

#[test]
fn table_names_are_unique_and_lowercase() {
    let mut names: Vec<&str> = DIRECTIVES.iter().flat_map(|d| d.names()).collect();
    for name in &names {
        assert_eq!(*name, name.to_ascii_lowercase());
    }
    let count = names.len();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), count, "duplicate directive name");
}

#[test]
fn every_integer_directive_round_trips_its_bounds() {
    for directive in DIRECTIVES {
        if let Kind::Int { min, max, .. } = directive.kind {
            for bound in [min, max] {
                let mut config = Config::default();
                let line = format!("{} {bound}", directive.name);
                config.load_str(&line, "bounds.conf").unwrap_or_else(|e| panic!("{e}"));
                let expected = if directive.name == "hz" { bound.clamp(1, 500) } else { bound };
                assert_eq!(get1(&config, directive.name), expected.to_string(), "{line}");
            }
            let below = format!("{} {}", directive.name, min - 1);
            assert!(Config::default().load_str(&below, "b.conf").is_err(), "{below}");
        }
    }
}

// ----------------------------------------------------------- shared state

#[test]
fn shared_config_updates_are_seen_by_all_threads() {
    let shared = SharedConfig::new(Config::default());
    assert_eq!(shared.version(), 0);
    let mut reader = shared.reader();
    assert_eq!(reader.get().timeout(), 0);

    let writer = shared.clone();
    std::thread::spawn(move || {
        let pairs: [(&[u8], &[u8]); 1] = [(b"timeout", b"42")];
        writer.update(|c| c.set(&pairs)).expect("update");
    })
    .join()
    .expect("thread");
    assert_eq!(shared.version(), 1);
    assert_eq!(shared.snapshot().timeout(), 42);
    assert_eq!(reader.get().timeout(), 42);

    // A failed update changes nothing and keeps the version.
    let pairs: [(&[u8], &[u8]); 2] = [(b"timeout", b"7"), (b"port", b"1")];
    assert!(shared.update(|c| c.set(&pairs)).is_err());
    assert_eq!(shared.version(), 1);
    assert_eq!(shared.snapshot().timeout(), 42);
}

#[test]
fn shared_config_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync + Clone>() {}
    assert_send_sync::<SharedConfig>();
    fn assert_send<T: Send>() {}
    assert_send::<ConfigReader>();
}

#[test]
fn shared_config_concurrent_updates() {
    let shared = SharedConfig::new(Config::default());
    let threads: Vec<_> = (0..8)
        .map(|i| {
            let shared = shared.clone();
            std::thread::spawn(move || {
                for j in 0..50 {
                    let value = (i * 1000 + j).to_string();
                    let pairs: [(&[u8], &[u8]); 1] = [(b"timeout", value.as_bytes())];
                    shared.update(|c| c.set(&pairs)).expect("update");
                    let _ = shared.snapshot().timeout();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("thread");
    }
    assert_eq!(shared.version(), 400);
}

// ------------------------------------------------------------- robustness

/// A small deterministic xorshift generator for the robustness test.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }

    fn bytes(&mut self, alphabet: &[u8], max_len: usize) -> Vec<u8> {
        let len = self.below(max_len + 1);
        (0..len).map(|_| alphabet[self.below(alphabet.len())]).collect()
    }
}

#[test]
fn random_input_never_panics() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let names: Vec<&str> = DIRECTIVES.iter().flat_map(|d| d.names()).collect();
    let alphabet: &[u8] = b" \t\"'\\xa0F9-*?[]^#kmgb\n\r\x00\xff";
    for _ in 0..5000 {
        let name = names[rng.below(names.len())];
        let value = rng.bytes(alphabet, 12);
        // Config file line.
        let mut line = name.as_bytes().to_vec();
        line.push(b' ');
        line.extend_from_slice(&value);
        let mut config = Config::default();
        let _ = config.load_str(&String::from_utf8_lossy(&line), "fuzz.conf");
        // CONFIG SET and GET.
        let _ = config.set(&[(name.as_bytes(), value.as_slice())]);
        let _ = config.get(&[value.as_slice(), name.as_bytes()]);
        // Glob and argument splitting on arbitrary bytes.
        let text = rng.bytes(alphabet, 16);
        let _ = glob_match(&value, &text, rng.below(2) == 0);
        let _ = split_args(&value);
    }
}
