//! Starting and stopping: a redis.conf-style file, `--name value` options, startup errors
//! that name the directive, and clean stops on SIGTERM/SIGINT.

mod common;

use std::time::Duration;

use common::{Server, run_to_exit};

/// A fresh directory under the system temp dir, removed when dropped.
struct TempDir(std::path::PathBuf);

impl TempDir {
    fn join(&self, name: &str) -> std::path::PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn temp_dir(name: &str) -> TempDir {
    let dir = std::env::temp_dir().join(format!("tallkv-startup-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    TempDir(dir)
}

#[test]
fn a_config_file_with_comments_quotes_and_include_is_applied() {
    let dir = temp_dir("file");
    let included = dir.join("limits.conf");
    std::fs::write(&included, "# limits\nproto-max-bulk-len 1mb\n").expect("write include");
    let main = dir.join("tallkv.conf");
    std::fs::write(
        &main,
        format!("# a comment\n\n  databases 4   \ntimeout \"0\"\nloglevel 'warning'\ninclude {}\n", included.display()),
    )
    .expect("write config");
    let server = Server::start_with_file(main.to_str(), &["--threads", "2"]);
    let mut raw = server.raw();
    assert_eq!(raw.cmd(&[b"SELECT", b"3"]), b"+OK\r\n".to_vec());
    assert_eq!(raw.cmd(&[b"SELECT", b"4"]), b"-ERR DB index is out of range\r\n".to_vec());
    // The included file's limit is in force.
    let mut big = server.raw();
    big.send(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2000000\r\n");
    assert_eq!(big.read_reply(), b"-ERR Protocol error: invalid bulk length\r\n");
}

#[test]
fn command_line_options_override_the_file() {
    let dir = temp_dir("override");
    let main = dir.join("tallkv.conf");
    std::fs::write(&main, "databases 2\n").expect("write config");
    let server = Server::start_with_file(main.to_str(), &["--databases", "8"]);
    let mut raw = server.raw();
    assert_eq!(raw.cmd(&[b"SELECT", b"7"]), b"+OK\r\n".to_vec());
}

#[test]
fn an_unknown_directive_stops_startup_naming_it_and_its_line() {
    let dir = temp_dir("bad");
    let main = dir.join("bad.conf");
    std::fs::write(&main, "port 7000\nnosuchdirective yes\n").expect("write config");
    let (ok, output) = run_to_exit(&[main.to_str().expect("path")]);
    assert!(!ok, "startup should fail: {output}");
    assert!(output.contains("FATAL CONFIG FILE ERROR"), "{output}");
    assert!(output.contains("line 2"), "{output}");
    assert!(output.contains(">>> 'nosuchdirective yes'"), "{output}");
    assert!(output.contains("Bad directive or wrong number of arguments"), "{output}");
}

#[test]
fn a_bad_value_on_the_command_line_stops_startup_naming_it() {
    let (ok, output) = run_to_exit(&["--port", "99999"]);
    assert!(!ok);
    assert!(output.contains(">>> 'port 99999'"), "{output}");
    assert!(output.contains("argument must be between 0 and 65535 inclusive"), "{output}");
    let (ok, output) = run_to_exit(&["--threads", "many"]);
    assert!(!ok);
    assert!(output.contains("threads"), "{output}");
}

#[test]
fn multi_value_directives_parse_and_unsupported_features_are_refused_clearly() {
    // Snapshot rules take several values, in one argument or several.
    let server = Server::start(&["--save", "900", "1", "300", "10"]);
    let mut raw = server.raw();
    assert_eq!(raw.cmd(&[b"CONFIG", b"GET", b"save"]), b"*2\r\n$4\r\nsave\r\n$12\r\n900 1 300 10\r\n".to_vec());
    drop(server);
    // Replication parses as several values but names a missing feature.
    let args = ["--replicaof", "127.0.0.1", "6379"];
    let (ok, output) = run_to_exit(&args);
    assert!(!ok, "{args:?} should be refused: {output}");
    assert!(output.contains("not supported yet"), "{args:?}: {output}");
}

#[test]
fn help_and_version() {
    let (ok, output) = run_to_exit(&["--version"]);
    assert!(ok);
    assert!(output.contains("tallkv"), "{output}");
    let (ok, output) = run_to_exit(&["--help"]);
    assert!(ok);
    assert!(output.to_lowercase().contains("usage"), "{output}");
}

#[test]
fn sigterm_and_sigint_stop_the_server_cleanly() {
    for signal in ["-TERM", "-INT"] {
        let mut server = Server::start_sharded();
        let mut conn = server.raw();
        assert_eq!(conn.cmd(&[b"PING"]), b"+PONG\r\n".to_vec());
        let status =
            std::process::Command::new("kill").arg(signal).arg(server.pid().to_string()).status().expect("kill");
        assert!(status.success());
        let exit = server.wait_exit(Duration::from_secs(10)).expect("server stops after the signal");
        assert!(exit.success(), "exit status {exit:?}");
    }
}

#[test]
fn pidfile_is_written_and_removed() {
    let dir = temp_dir("pid");
    let pidfile = dir.join("tallkv.pid");
    let mut server = Server::start(&["--pidfile", pidfile.to_str().expect("path")]);
    let written = std::fs::read_to_string(&pidfile).expect("pidfile exists");
    assert_eq!(written.trim(), server.pid().to_string());
    let _ = std::process::Command::new("kill").arg(server.pid().to_string()).status();
    server.wait_exit(Duration::from_secs(10)).expect("stops");
    assert!(!pidfile.exists(), "pidfile removed at exit");
}

#[test]
fn a_port_in_use_stops_startup_with_redis_message() {
    let server = Server::start(&[]);
    let port = server.port.to_string();
    let (ok, output) = run_to_exit(&["--port", &port]);
    assert!(!ok);
    assert!(output.contains("Could not create server TCP listening socket"), "{output}");
}

#[test]
fn maxclients_is_lowered_to_fit_the_open_file_limit() {
    // 200 descriptors, less 32 + 17 per shard kept for listeners, rings, channels and epoll.
    let server = Server::start_after_shell("ulimit -Sn 200", &["--threads", "2", "--maxclients", "1000"]);
    let mut raw = server.raw();
    assert_eq!(raw.cmd(&[b"CONFIG", b"GET", b"maxclients"]), b"*2\r\n$10\r\nmaxclients\r\n$3\r\n134\r\n".to_vec());
}

#[test]
fn threads_can_be_left_unpinned() {
    let server = Server::start(&["--threads", "3", "--pin-threads", "no"]);
    let mut raw = server.raw();
    assert_eq!(raw.cmd(&[b"CONFIG", b"GET", b"pin-threads"]), b"*2\r\n$11\r\npin-threads\r\n$2\r\nno\r\n".to_vec());
    assert_eq!(raw.cmd(&[b"MSET", b"a", b"1", b"b", b"2", b"c", b"3"]), b"+OK\r\n".to_vec());
    assert_eq!(raw.cmd(&[b"MGET", b"a", b"b", b"c"]), b"*3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n".to_vec());
}
