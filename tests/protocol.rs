//! The wire protocol against the real binary: inline commands, pipelining, binary
//! safety, RESP errors, and abuse that must leave the server up for everyone else.

mod common;

use common::{Server, encode_command};

#[test]
fn inline_commands_work_like_telnet() {
    let server = Server::start(&[]);
    let mut raw = server.raw();
    raw.send(b"SET greeting \"hello world\"\r\n");
    assert_eq!(raw.read_reply(), b"+OK\r\n");
    raw.send(b"GET greeting\n");
    assert_eq!(raw.read_reply(), b"$11\r\nhello world\r\n");
    raw.send(b"\r\n   \r\nPING\r\n");
    assert_eq!(raw.read_reply(), b"+PONG\r\n", "empty lines get no reply");
    raw.send(b"SET k 'it''s'\r\n");
    assert_eq!(raw.read_reply(), b"-ERR Protocol error: unbalanced quotes in request\r\n");
    assert!(raw.is_closed());
}

#[test]
fn errors_for_unknown_commands_and_arity_use_redis_text() {
    let server = Server::start(&[]);
    let mut raw = server.raw();
    assert_eq!(
        raw.cmd(&[b"NOSUCH", b"a", b"b"]),
        b"-ERR unknown command 'NOSUCH', with args beginning with: 'a' 'b' \r\n".to_vec()
    );
    assert_eq!(raw.cmd(&[b"nosuch"]), b"-ERR unknown command 'nosuch', with args beginning with: \r\n".to_vec());
    assert_eq!(raw.cmd(&[b"GET"]), b"-ERR wrong number of arguments for 'get' command\r\n".to_vec());
    assert_eq!(raw.cmd(&[b"get", b"a", b"b"]), b"-ERR wrong number of arguments for 'get' command\r\n".to_vec());
    // The connection stays usable after command errors.
    assert_eq!(raw.cmd(&[b"PING"]), b"+PONG\r\n".to_vec());
}

#[test]
fn a_pipeline_of_ten_thousand_commands_answers_in_order() {
    let server = Server::start_sharded();
    let mut raw = server.raw();
    let mut batch = Vec::new();
    for i in 0..10_000 {
        let key = format!("key:{i}");
        let value = format!("value:{i}");
        batch.extend(encode_command(&[b"SET", key.as_bytes(), value.as_bytes()]));
        batch.extend(encode_command(&[b"GET", key.as_bytes()]));
    }
    let writer_stream = raw.stream.try_clone().expect("clone");
    let writer = std::thread::spawn(move || {
        let mut stream = writer_stream;
        std::io::Write::write_all(&mut stream, &batch).expect("write pipeline");
    });
    for i in 0..10_000 {
        assert_eq!(raw.read_reply(), b"+OK\r\n", "reply {i} to SET");
        let value = format!("value:{i}");
        let expected = format!("${}\r\n{value}\r\n", value.len());
        assert_eq!(raw.read_reply(), expected.as_bytes(), "reply {i} to GET");
    }
    writer.join().expect("writer");
}

#[test]
fn keys_and_values_are_binary_safe() {
    let server = Server::start_sharded();
    let mut conn = server.client();
    let all_bytes: Vec<u8> = (0..=255u8).collect();
    let key: Vec<u8> = b"bin\r\n\0key".iter().copied().chain(all_bytes.iter().copied()).collect();
    redis::cmd("SET").arg(&key).arg(&all_bytes).query::<()>(&mut conn).expect("set");
    let back: Vec<u8> = redis::cmd("GET").arg(&key).query(&mut conn).expect("get");
    assert_eq!(back, all_bytes);
    let mut raw = server.raw();
    let reply = raw.cmd(&[b"GET", &key]);
    let mut expected = b"$256\r\n".to_vec();
    expected.extend_from_slice(&all_bytes);
    expected.extend_from_slice(b"\r\n");
    assert_eq!(reply, expected);
}

#[test]
fn a_large_value_arriving_in_pieces_is_stored_whole() {
    let server = Server::start(&[]);
    let mut raw = server.raw();
    let value = vec![b'x'; 8 * 1024 * 1024];
    let frame = encode_command(&[b"SET", b"big", &value]);
    for chunk in frame.chunks(100_000) {
        raw.send(chunk);
    }
    assert_eq!(raw.read_reply(), b"+OK\r\n");
    let reply = raw.cmd(&[b"GET", b"big"]);
    assert_eq!(&reply[..11], b"$8388608\r\nx");
    assert_eq!(reply.len(), 10 + value.len() + 2);
}

/// Sends `bytes` on a fresh connection and returns the reply and whether the server closed it.
fn abuse(server: &Server, bytes: &[u8]) -> (Vec<u8>, bool) {
    let mut raw = server.raw();
    raw.send(bytes);
    let reply = raw.read_reply();
    let closed = raw.is_closed();
    (reply, closed)
}

#[test]
fn malformed_requests_get_redis_errors_and_close_the_connection() {
    let server = Server::start_sharded();
    let cases: &[(&[u8], &[u8])] = &[
        (b"*abc\r\n", b"-ERR Protocol error: invalid multibulk length\r\n"),
        (b"*1\r\n:5\r\n", b"-ERR Protocol error: expected '$', got ':'\r\n"),
        (b"*1\r\n$abc\r\n", b"-ERR Protocol error: invalid bulk length\r\n"),
        (b"*1\r\n$-5\r\n", b"-ERR Protocol error: invalid bulk length\r\n"),
        (b"*1\r\n$99999999999\r\n", b"-ERR Protocol error: invalid bulk length\r\n"),
        (b"*3000000000\r\n", b"-ERR Protocol error: invalid multibulk length\r\n"),
    ];
    for (input, expected) in cases {
        let (reply, closed) = abuse(&server, input);
        assert_eq!(reply, *expected, "reply to {:?}", String::from_utf8_lossy(input));
        assert!(closed, "connection closed after {:?}", String::from_utf8_lossy(input));
    }
    // Everyone else is still served.
    let mut raw = server.raw();
    assert_eq!(raw.cmd(&[b"PING"]), b"+PONG\r\n".to_vec());
}

#[test]
fn bulk_length_above_proto_max_bulk_len_is_refused_before_buffering() {
    let server = Server::start(&["--proto-max-bulk-len", "1mb"]);
    let (reply, closed) = abuse(&server, b"*2\r\n$3\r\nGET\r\n$2000000\r\n");
    assert_eq!(reply, b"-ERR Protocol error: invalid bulk length\r\n");
    assert!(closed);
}

#[test]
fn huge_declared_sizes_allocate_nothing_up_front() {
    let mut server = Server::start(&[]);
    let rss_before = rss_kb(server.pid());
    let mut holders = Vec::new();
    for _ in 0..20 {
        let mut raw = server.raw();
        // A multibulk of two billion arguments and a 500 MB bulk, announced but never sent.
        raw.send(b"*2000000000\r\n$500000000\r\nabc");
        holders.push(raw);
    }
    let mut raw = server.raw();
    assert_eq!(raw.cmd(&[b"PING"]), b"+PONG\r\n".to_vec());
    let rss_after = rss_kb(server.pid());
    assert!(rss_after < rss_before + 50 * 1024, "RSS grew from {rss_before} kB to {rss_after} kB");
    drop(holders);
    assert!(server.is_running());
}

#[test]
fn truncated_frames_and_garbage_leave_the_server_up() {
    let mut server = Server::start_sharded();
    let truncated: &[&[u8]] = &[b"*3\r\n$3\r\nSET\r\n$1\r\na", b"*2\r\n$3\r\nGE", b"*", b"$", b"\r\n\r\n"];
    for input in truncated {
        let mut raw = server.raw();
        raw.send(input);
        drop(raw);
    }
    // Deterministic garbage: a simple xorshift stream of bytes.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for _ in 0..50 {
        let mut garbage = Vec::with_capacity(512);
        for _ in 0..512 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            garbage.push(x as u8);
        }
        let mut raw = server.raw();
        let _ = std::io::Write::write_all(&mut raw.stream, &garbage);
        drop(raw);
    }
    assert!(server.is_running());
    let mut raw = server.raw();
    assert_eq!(raw.cmd(&[b"SET", b"still", b"alive"]), b"+OK\r\n".to_vec());
    assert_eq!(raw.cmd(&[b"GET", b"still"]), b"$5\r\nalive\r\n".to_vec());
}

fn rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

#[test]
fn pipelines_mixing_shards_errors_and_state_changes_answer_in_order() {
    let server = Server::start_sharded();
    let mut raw = server.raw();
    let keys: Vec<String> = (0..40).map(|i| format!("mix:{i}")).collect();
    let mut batch = Vec::new();
    let mut expected: Vec<Vec<u8>> = Vec::new();
    for (i, key) in keys.iter().enumerate() {
        batch.extend(encode_command(&[b"SET", key.as_bytes(), i.to_string().as_bytes()]));
        expected.push(b"+OK\r\n".to_vec());
        if i % 7 == 3 {
            batch.extend(encode_command(&[b"GET"]));
            expected.push(b"-ERR wrong number of arguments for 'get' command\r\n".to_vec());
        }
    }
    // Database 1 from here on: commands queued for another shard before SELECT still run in db 0.
    batch.extend(encode_command(&[b"SELECT", b"1"]));
    expected.push(b"+OK\r\n".to_vec());
    for key in &keys {
        batch.extend(encode_command(&[b"GET", key.as_bytes()]));
        expected.push(b"$-1\r\n".to_vec());
    }
    batch.extend(encode_command(&[b"SELECT", b"0"]));
    expected.push(b"+OK\r\n".to_vec());
    for (i, key) in keys.iter().enumerate() {
        batch.extend(encode_command(&[b"INCR", key.as_bytes()]));
        expected.push(format!(":{}\r\n", i + 1).into_bytes());
    }
    // Replies switched off mid-pipeline are not sent, then switched back on.
    batch.extend(encode_command(&[b"CLIENT", b"REPLY", b"OFF"]));
    for key in &keys {
        batch.extend(encode_command(&[b"INCR", key.as_bytes()]));
    }
    batch.extend(encode_command(&[b"CLIENT", b"REPLY", b"ON"]));
    expected.push(b"+OK\r\n".to_vec());
    for (i, key) in keys.iter().enumerate() {
        batch.extend(encode_command(&[b"GET", key.as_bytes()]));
        let value = (i + 2).to_string();
        expected.push(format!("${}\r\n{value}\r\n", value.len()).into_bytes());
    }
    raw.send(&batch);
    for (n, want) in expected.iter().enumerate() {
        assert_eq!(raw.read_reply(), *want, "reply {n}");
    }
}
