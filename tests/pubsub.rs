//! Pub/Sub: every command's reply shapes (RESP2 and RESP3), delivery across shard
//! threads, ordering, PUBSUB counts, subscribe mode, RESET, disconnect cleanup and the
//! output-buffer limit.

mod common;

use std::time::{Duration, Instant};

use common::{Raw, Server, bulk, cmd, cmdv};

/// Connections enough that, spread over 4 threads by the kernel, they sit on several.
const CONNS: usize = 12;

fn push3(kind: char, a: &str, b: &str, n: i64) -> String {
    format!("{kind}3\r\n{}{}:{n}\r\n", bulk(a), bulk(b))
}

fn sub_reply(a: &str, b: &str, n: i64) -> String {
    push3('*', a, b, n)
}

fn message(channel: &str, payload: &str) -> String {
    format!("*3\r\n{}{}{}", bulk("message"), bulk(channel), bulk(payload))
}

fn pmessage(pattern: &str, channel: &str, payload: &str) -> String {
    format!("*4\r\n{}{}{}{}", bulk("pmessage"), bulk(pattern), bulk(channel), bulk(payload))
}

fn read(r: &mut Raw) -> String {
    String::from_utf8_lossy(&r.read_reply()).into_owned()
}

/// Sends a command without reading its reply.
fn send(r: &mut Raw, line: &str) {
    let args: Vec<&[u8]> = line.split(' ').map(str::as_bytes).collect();
    r.send(&common::encode_command(&args));
}

/// `n` connections that each sent `line` and read its `replies` confirmations.
fn subscribers(srv: &Server, n: usize, line: &str, replies: usize) -> Vec<Raw> {
    (0..n)
        .map(|_| {
            let mut r = srv.raw();
            send(&mut r, line);
            for _ in 0..replies {
                read(&mut r);
            }
            r
        })
        .collect()
}

/// Polls `line` until it returns `want` (state that settles after a disconnect).
fn eventually(r: &mut Raw, line: &str, want: &str) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let got = cmd(r, line);
        if got == want {
            return;
        }
        assert!(Instant::now() < deadline, "{line}: still {got:?}, want {want:?}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn subscribe_confirms_each_channel_with_the_running_count() {
    let srv = Server::start(&["--threads", "4"]);
    let mut s = srv.raw();
    send(&mut s, "SUBSCRIBE a b a");
    assert_eq!(read(&mut s), sub_reply("subscribe", "a", 1));
    assert_eq!(read(&mut s), sub_reply("subscribe", "b", 2));
    assert_eq!(read(&mut s), sub_reply("subscribe", "a", 2));
    send(&mut s, "PSUBSCRIBE p*");
    assert_eq!(read(&mut s), sub_reply("psubscribe", "p*", 3));
    // Shard channels have their own count.
    send(&mut s, "SSUBSCRIBE s1 s2");
    assert_eq!(read(&mut s), sub_reply("ssubscribe", "s1", 1));
    assert_eq!(read(&mut s), sub_reply("ssubscribe", "s2", 2));
    send(&mut s, "UNSUBSCRIBE b nope");
    assert_eq!(read(&mut s), sub_reply("unsubscribe", "b", 2));
    assert_eq!(read(&mut s), sub_reply("unsubscribe", "nope", 2));
    send(&mut s, "UNSUBSCRIBE");
    assert_eq!(read(&mut s), sub_reply("unsubscribe", "a", 1));
    send(&mut s, "PUNSUBSCRIBE");
    assert_eq!(read(&mut s), sub_reply("punsubscribe", "p*", 0));
    // Nothing left of that kind: one confirmation with a null name.
    send(&mut s, "PUNSUBSCRIBE");
    assert_eq!(read(&mut s), "*3\r\n$12\r\npunsubscribe\r\n$-1\r\n:0\r\n");
    send(&mut s, "SUNSUBSCRIBE s2");
    assert_eq!(read(&mut s), sub_reply("sunsubscribe", "s2", 1));
    send(&mut s, "SUNSUBSCRIBE");
    assert_eq!(read(&mut s), sub_reply("sunsubscribe", "s1", 0));
    send(&mut s, "SUNSUBSCRIBE");
    assert_eq!(read(&mut s), "*3\r\n$12\r\nsunsubscribe\r\n$-1\r\n:0\r\n");
    send(&mut s, "UNSUBSCRIBE");
    assert_eq!(read(&mut s), "*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n");
    // Out of subscribe mode: anything goes again.
    assert_eq!(cmd(&mut s, "SET k v"), "+OK\r\n");
    assert_eq!(cmd(&mut s, "SUBSCRIBE"), "-ERR wrong number of arguments for 'subscribe' command\r\n");
}

#[test]
fn publish_reaches_subscribers_on_every_thread() {
    let srv = Server::start(&["--threads", "4"]);
    let mut subs = subscribers(&srv, CONNS, "SUBSCRIBE news other", 2);
    let mut publisher = srv.raw();
    assert_eq!(cmd(&mut publisher, "PUBLISH news hello"), format!(":{CONNS}\r\n"));
    assert_eq!(cmd(&mut publisher, "PUBLISH nobody hello"), ":0\r\n");
    assert_eq!(cmd(&mut publisher, "PUBLISH other world"), format!(":{CONNS}\r\n"));
    for s in &mut subs {
        assert_eq!(read(s), message("news", "hello"));
        assert_eq!(read(s), message("other", "world"));
    }
    // Binary-safe payloads.
    let payload: &[u8] = b"a\r\nb\0c";
    let reply = publisher.cmd(&[b"PUBLISH", b"news", payload]);
    assert_eq!(reply, format!(":{CONNS}\r\n").into_bytes());
    let mut want = b"*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$6\r\n".to_vec();
    want.extend_from_slice(payload);
    want.extend_from_slice(b"\r\n");
    for s in &mut subs {
        assert_eq!(s.read_reply(), want);
    }
}

#[test]
fn patterns_match_as_globs_and_add_to_exact_subscriptions() {
    let srv = Server::start(&["--threads", "4"]);
    let mut subs = subscribers(&srv, 6, "PSUBSCRIBE news.* h?llo [ab]x", 3);
    let mut both = srv.raw();
    send(&mut both, "SUBSCRIBE news.art");
    read(&mut both);
    send(&mut both, "PSUBSCRIBE news.*");
    read(&mut both);
    let mut p = srv.raw();
    assert_eq!(cmd(&mut p, "PUBLISH news.art x"), ":8\r\n");
    assert_eq!(cmd(&mut p, "PUBLISH hallo y"), ":6\r\n");
    assert_eq!(cmd(&mut p, "PUBLISH bx z"), ":6\r\n");
    assert_eq!(cmd(&mut p, "PUBLISH cx z"), ":0\r\n");
    assert_eq!(cmd(&mut p, "PUBLISH news x"), ":0\r\n");
    for s in &mut subs {
        assert_eq!(read(s), pmessage("news.*", "news.art", "x"));
        assert_eq!(read(s), pmessage("h?llo", "hallo", "y"));
        assert_eq!(read(s), pmessage("[ab]x", "bx", "z"));
    }
    assert_eq!(read(&mut both), message("news.art", "x"));
    assert_eq!(read(&mut both), pmessage("news.*", "news.art", "x"));
}

#[test]
fn shard_channels_are_separate_from_channels() {
    let srv = Server::start(&["--threads", "4"]);
    let mut shard_subs = subscribers(&srv, 6, "SSUBSCRIBE orders {x}a", 2);
    let mut plain = subscribers(&srv, 2, "SUBSCRIBE orders", 1);
    let mut pattern = subscribers(&srv, 2, "PSUBSCRIBE *", 1);
    let mut p = srv.raw();
    assert_eq!(cmd(&mut p, "SPUBLISH orders o1"), ":6\r\n");
    assert_eq!(cmd(&mut p, "SPUBLISH {x}a o2"), ":6\r\n");
    assert_eq!(cmd(&mut p, "PUBLISH orders o3"), ":4\r\n");
    for s in &mut shard_subs {
        assert_eq!(read(s), format!("*3\r\n{}{}{}", bulk("smessage"), bulk("orders"), bulk("o1")));
        assert_eq!(read(s), format!("*3\r\n{}{}{}", bulk("smessage"), bulk("{x}a"), bulk("o2")));
    }
    for s in &mut plain {
        assert_eq!(read(s), message("orders", "o3"));
    }
    for s in &mut pattern {
        assert_eq!(read(s), pmessage("*", "orders", "o3"));
    }
    assert_eq!(sorted_array(&cmd(&mut p, "PUBSUB SHARDCHANNELS")), "*2\r\n$6\r\norders\r\n$4\r\n{x}a\r\n");
    assert_eq!(cmd(&mut p, "PUBSUB SHARDCHANNELS ord*"), "*1\r\n$6\r\norders\r\n");
    assert_eq!(
        cmd(&mut p, "PUBSUB SHARDNUMSUB orders {x}a none"),
        "*6\r\n$6\r\norders\r\n:6\r\n$4\r\n{x}a\r\n:6\r\n$4\r\nnone\r\n:0\r\n"
    );
    assert_eq!(cmd(&mut p, "PUBSUB NUMSUB orders"), "*2\r\n$6\r\norders\r\n:2\r\n");
}

/// An array of bulk strings with its items sorted (PUBSUB CHANNELS has no order).
fn sorted_array(reply: &str) -> String {
    let mut lines: Vec<&str> = reply.split("\r\n").collect();
    let header = lines.remove(0);
    lines.pop();
    let mut items: Vec<(String, String)> = lines.chunks(2).map(|c| (c[0].to_string(), c[1].to_string())).collect();
    items.sort_by(|a, b| a.1.cmp(&b.1));
    let mut out = format!("{header}\r\n");
    for (len, item) in items {
        out.push_str(&format!("{len}\r\n{item}\r\n"));
    }
    out
}

#[test]
fn messages_from_one_publisher_arrive_in_order() {
    let srv = Server::start(&["--threads", "4"]);
    let mut subs = subscribers(&srv, 8, "SUBSCRIBE seq", 1);
    let mut p = srv.raw();
    // One by one, then pipelined.
    for i in 0..200 {
        assert_eq!(cmdv(&mut p, &["PUBLISH", "seq", &i.to_string()]), ":8\r\n");
    }
    let mut pipeline = Vec::new();
    for i in 200..1000 {
        pipeline.extend(common::encode_command(&[b"PUBLISH", b"seq", i.to_string().as_bytes()]));
    }
    p.send(&pipeline);
    for _ in 200..1000 {
        assert_eq!(read(&mut p), ":8\r\n");
    }
    for s in &mut subs {
        for i in 0..1000 {
            assert_eq!(read(s), message("seq", &i.to_string()));
        }
    }
}

#[test]
fn pubsub_counts_are_aggregated_over_threads() {
    let srv = Server::start(&["--threads", "4"]);
    let _a = subscribers(&srv, CONNS, "SUBSCRIBE c1 c2", 2);
    let _b = subscribers(&srv, 3, "SUBSCRIBE c3", 1);
    let _p = subscribers(&srv, CONNS, "PSUBSCRIBE p1* p2*", 2);
    let _s = subscribers(&srv, 5, "SSUBSCRIBE s1", 1);
    let mut r = srv.raw();
    assert_eq!(
        cmd(&mut r, "PUBSUB NUMSUB c1 c2 c3 c4 p1*"),
        format!(
            "*10\r\n$2\r\nc1\r\n:{CONNS}\r\n$2\r\nc2\r\n:{CONNS}\r\n$2\r\nc3\r\n:3\r\n$2\r\nc4\r\n:0\r\n$3\r\np1*\r\n:0\r\n"
        )
    );
    assert_eq!(cmd(&mut r, "PUBSUB NUMSUB"), "*0\r\n");
    assert_eq!(cmd(&mut r, "PUBSUB SHARDNUMSUB"), "*0\r\n");
    // Patterns count once however many clients (and threads) subscribed to them.
    assert_eq!(cmd(&mut r, "PUBSUB NUMPAT"), ":2\r\n");
    assert_eq!(sorted_array(&cmd(&mut r, "PUBSUB CHANNELS")), "*3\r\n$2\r\nc1\r\n$2\r\nc2\r\n$2\r\nc3\r\n");
    assert_eq!(sorted_array(&cmd(&mut r, "PUBSUB CHANNELS c[12]")), "*2\r\n$2\r\nc1\r\n$2\r\nc2\r\n");
    assert_eq!(cmd(&mut r, "PUBSUB CHANNELS x*"), "*0\r\n");
    assert_eq!(cmd(&mut r, "PUBSUB SHARDNUMSUB s1"), "*2\r\n$2\r\ns1\r\n:5\r\n");
    let info = cmd(&mut r, "INFO stats");
    assert!(info.contains("pubsub_channels:3\r\n"), "{info}");
    assert!(info.contains("pubsub_patterns:2\r\n"), "{info}");
    assert!(info.contains("pubsubshard_channels:1\r\n"), "{info}");
    // Errors as Redis.
    assert_eq!(
        cmd(&mut r, "PUBSUB CHANNELS a b"),
        "-ERR unknown subcommand or wrong number of arguments for 'channels'. Try PUBSUB HELP.\r\n"
    );
    assert_eq!(
        cmd(&mut r, "PUBSUB SHARDCHANNELS a b"),
        "-ERR unknown subcommand or wrong number of arguments for 'shardchannels'. Try PUBSUB HELP.\r\n"
    );
    assert_eq!(cmd(&mut r, "PUBSUB NUMPAT x"), "-ERR wrong number of arguments for 'pubsub|numpat' command\r\n");
    assert_eq!(cmd(&mut r, "PUBSUB foo"), "-ERR unknown subcommand 'foo'. Try PUBSUB HELP.\r\n");
    assert!(cmd(&mut r, "PUBSUB HELP").starts_with("*14\r\n+PUBSUB <subcommand> [<arg> [value] [opt] ...]."));
}

#[test]
fn resp2_subscribe_mode_allows_only_subscribe_commands_ping_quit_reset() {
    let srv = Server::start(&["--threads", "4"]);
    let mut s = srv.raw();
    send(&mut s, "SUBSCRIBE x");
    read(&mut s);
    for (line, name) in
        [("GET k", "get"), ("SET k v", "set"), ("CLIENT LIST", "client|list"), ("PUBLISH x y", "publish")]
    {
        assert_eq!(
            cmd(&mut s, line),
            format!(
                "-ERR Can't execute '{name}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n"
            )
        );
    }
    // Unknown commands and arity errors come first, as in Redis.
    assert!(cmd(&mut s, "NOSUCH").starts_with("-ERR unknown command 'NOSUCH'"));
    assert_eq!(cmd(&mut s, "GET"), "-ERR wrong number of arguments for 'get' command\r\n");
    assert_eq!(cmd(&mut s, "PING"), "*2\r\n$4\r\npong\r\n$0\r\n\r\n");
    assert_eq!(cmd(&mut s, "PING hi"), "*2\r\n$4\r\npong\r\n$2\r\nhi\r\n");
    send(&mut s, "PSUBSCRIBE y*");
    assert_eq!(read(&mut s), sub_reply("psubscribe", "y*", 2));
    send(&mut s, "UNSUBSCRIBE");
    assert_eq!(read(&mut s), sub_reply("unsubscribe", "x", 1));
    // Still in subscribe mode: a pattern is left.
    assert!(cmd(&mut s, "GET k").starts_with("-ERR Can't execute 'get'"));
    send(&mut s, "PUNSUBSCRIBE");
    assert_eq!(read(&mut s), sub_reply("punsubscribe", "y*", 0));
    assert_eq!(cmd(&mut s, "PING"), "+PONG\r\n");
    assert_eq!(cmd(&mut s, "GET k"), "$-1\r\n");
    // A shard subscription alone is subscribe mode too; QUIT is allowed.
    send(&mut s, "SSUBSCRIBE z");
    read(&mut s);
    assert!(cmd(&mut s, "GET k").starts_with("-ERR Can't execute 'get'"));
    assert_eq!(cmd(&mut s, "QUIT"), "+OK\r\n");
    assert!(s.is_closed());
}

#[test]
fn resp3_subscribers_get_push_messages_and_run_any_command() {
    let srv = Server::start(&["--threads", "4"]);
    let mut subs: Vec<Raw> = (0..6)
        .map(|_| {
            let mut r = srv.raw();
            assert!(cmd(&mut r, "HELLO 3").starts_with('%'));
            send(&mut r, "SUBSCRIBE chan");
            assert_eq!(read(&mut r), push3('>', "subscribe", "chan", 1));
            r
        })
        .collect();
    let mut p = srv.raw();
    assert_eq!(cmd(&mut p, "PUBLISH chan one"), ":6\r\n");
    let push = |payload: &str| format!(">3\r\n{}{}{}", bulk("message"), bulk("chan"), bulk(payload));
    for (i, s) in subs.iter_mut().enumerate() {
        assert_eq!(read(s), push("one"));
        // Normal commands work, in RESP3.
        assert_eq!(cmdv(s, &["SET", &format!("k{i}"), "v"]), "+OK\r\n");
        assert_eq!(cmdv(s, &["GET", &format!("k{i}")]), "$1\r\nv\r\n");
        assert_eq!(cmd(s, "PING"), "+PONG\r\n");
        assert_eq!(cmd(s, "GET nokey"), "_\r\n");
    }
    // A message published while a subscriber is mid-conversation lands between replies.
    assert_eq!(cmd(&mut p, "PUBLISH chan two"), ":6\r\n");
    for s in &mut subs {
        // The push was queued before ECHO ran, so it comes first.
        send(s, "ECHO e");
        assert_eq!(read(s), push("two"));
        assert_eq!(read(s), bulk("e"));
    }
    // Publishing to itself: the message comes before PUBLISH's own reply, as in Redis.
    let s = &mut subs[0];
    send(s, "PUBLISH chan self");
    assert_eq!(read(s), push("self"));
    assert_eq!(read(s), ":6\r\n");
    for other in &mut subs[1..] {
        assert_eq!(read(other), push("self"));
    }
    let s = &mut subs[0];
    send(s, "UNSUBSCRIBE");
    assert_eq!(read(s), push3('>', "unsubscribe", "chan", 0));
    send(s, "UNSUBSCRIBE");
    assert_eq!(read(s), ">3\r\n$11\r\nunsubscribe\r\n_\r\n:0\r\n");
}

#[test]
fn reset_leaves_subscribe_mode() {
    let srv = Server::start(&["--threads", "4"]);
    let mut s = srv.raw();
    send(&mut s, "SUBSCRIBE a");
    read(&mut s);
    send(&mut s, "PSUBSCRIBE b*");
    read(&mut s);
    send(&mut s, "SSUBSCRIBE c");
    read(&mut s);
    assert_eq!(cmd(&mut s, "RESET"), "+RESET\r\n");
    assert_eq!(cmd(&mut s, "PING"), "+PONG\r\n");
    assert_eq!(cmd(&mut s, "GET k"), "$-1\r\n");
    let mut r = srv.raw();
    assert_eq!(cmd(&mut r, "PUBSUB NUMSUB a"), "*2\r\n$1\r\na\r\n:0\r\n");
    assert_eq!(cmd(&mut r, "PUBSUB NUMPAT"), ":0\r\n");
    assert_eq!(cmd(&mut r, "PUBSUB SHARDNUMSUB c"), "*2\r\n$1\r\nc\r\n:0\r\n");
    assert_eq!(cmd(&mut r, "PUBLISH a x"), ":0\r\n");
    // RESP3 subscriber: RESET also goes back to RESP2.
    assert!(cmd(&mut s, "HELLO 3").starts_with('%'));
    send(&mut s, "SUBSCRIBE a");
    assert_eq!(read(&mut s), push3('>', "subscribe", "a", 1));
    assert_eq!(cmd(&mut s, "RESET"), "+RESET\r\n");
    assert_eq!(cmd(&mut r, "PUBLISH a x"), ":0\r\n");
    assert_eq!(cmd(&mut s, "PING"), "+PONG\r\n");
}

#[test]
fn client_list_shows_subscriptions() {
    let srv = Server::start(&["--threads", "4"]);
    let mut s = srv.raw();
    let id = cmd(&mut s, "CLIENT ID");
    let id = id.trim_start_matches(':').trim_end();
    send(&mut s, "SUBSCRIBE a b");
    read(&mut s);
    read(&mut s);
    send(&mut s, "PSUBSCRIBE p");
    read(&mut s);
    send(&mut s, "SSUBSCRIBE s");
    read(&mut s);
    let mut r = srv.raw();
    let list = common::text_of(&cmdv(&mut r, &["CLIENT", "LIST", "ID", id]));
    assert!(list.contains(" flags=P "), "{list}");
    assert!(list.contains(" sub=2 psub=1 ssub=1 "), "{list}");
    let list = common::text_of(&cmd(&mut r, "CLIENT LIST TYPE pubsub"));
    assert_eq!(list.lines().count(), 1, "{list}");
    assert!(list.contains(&format!("id={id} ")), "{list}");
    let mine = common::text_of(&cmd(&mut r, "CLIENT INFO"));
    assert!(mine.contains(" flags=N ") && mine.contains(" sub=0 psub=0 ssub=0 "), "{mine}");
}

#[test]
fn disconnected_subscribers_are_unsubscribed_everywhere() {
    let srv = Server::start(&["--threads", "4"]);
    let subs = subscribers(&srv, CONNS, "SUBSCRIBE gone", 1);
    let psubs = subscribers(&srv, CONNS, "PSUBSCRIBE gone*", 1);
    let ssubs = subscribers(&srv, CONNS, "SSUBSCRIBE gone", 1);
    let mut r = srv.raw();
    assert_eq!(cmd(&mut r, "PUBSUB NUMSUB gone"), format!("*2\r\n$4\r\ngone\r\n:{CONNS}\r\n"));
    drop(subs);
    drop(psubs);
    drop(ssubs);
    eventually(&mut r, "PUBSUB NUMSUB gone", "*2\r\n$4\r\ngone\r\n:0\r\n");
    eventually(&mut r, "PUBSUB NUMPAT", ":0\r\n");
    eventually(&mut r, "PUBSUB SHARDNUMSUB gone", "*2\r\n$4\r\ngone\r\n:0\r\n");
    assert_eq!(cmd(&mut r, "PUBLISH gone x"), ":0\r\n");
    assert_eq!(cmd(&mut r, "PUBSUB CHANNELS"), "*0\r\n");
}

#[test]
fn client_output_buffer_limit_directive() {
    let srv = Server::start(&["--threads", "4"]);
    let mut r = srv.raw();
    assert_eq!(
        cmd(&mut r, "CONFIG GET client-output-buffer-limit"),
        format!(
            "*2\r\n{}{}",
            bulk("client-output-buffer-limit"),
            bulk("normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60")
        )
    );
    assert_eq!(
        cmdv(&mut r, &["CONFIG", "SET", "client-output-buffer-limit", "replica 1k 2k 3 PUBSUB 1mb 1kb 5"]),
        "+OK\r\n"
    );
    assert_eq!(
        cmd(&mut r, "CONFIG GET client-output-buffer-limit"),
        format!(
            "*2\r\n{}{}",
            bulk("client-output-buffer-limit"),
            bulk("normal 0 0 0 slave 1000 2000 3 pubsub 1048576 1024 5")
        )
    );
    let prefix = "-ERR CONFIG SET failed (possibly related to argument 'client-output-buffer-limit') - ";
    for (value, reason) in [
        ("pubsub 1mb 2mb", "Wrong number of arguments in buffer limit configuration."),
        ("foo 1mb 2mb 3", "Invalid client class specified in buffer limit configuration."),
        ("master 1 2 3", "Invalid client class specified in buffer limit configuration."),
        ("pubsub 1x 2mb 3", "Error in hard, soft or soft_seconds setting in buffer limit configuration."),
        ("pubsub 1 2 -3", "Error in hard, soft or soft_seconds setting in buffer limit configuration."),
    ] {
        assert_eq!(
            cmdv(&mut r, &["CONFIG", "SET", "client-output-buffer-limit", value]),
            format!("{prefix}{reason}\r\n"),
            "{value}"
        );
    }
}

#[test]
fn a_subscriber_that_does_not_read_is_disconnected_at_the_output_limit() {
    let srv = Server::start(&["--threads", "4", "--client-output-buffer-limit", "pubsub 1mb 512kb 60"]);
    let mut p = srv.raw();
    let mut slow = srv.raw();
    send(&mut slow, "SUBSCRIBE big");
    read(&mut slow);
    let mut reader = srv.raw();
    send(&mut reader, "SUBSCRIBE big");
    read(&mut reader);
    let payload = vec![b'x'; 256 * 1024];
    let mut dropped = false;
    for _ in 0..400 {
        let reply = p.cmd(&[b"PUBLISH", b"big", &payload]);
        // The reading subscriber keeps up.
        let got = reader.read_reply();
        assert_eq!(got.len(), payload.len() + 37);
        if reply == b":1\r\n" {
            dropped = true;
            break;
        }
        assert_eq!(reply, b":2\r\n");
    }
    assert!(dropped, "the slow subscriber was never disconnected");
    eventually(&mut p, "PUBSUB NUMSUB big", "*2\r\n$3\r\nbig\r\n:1\r\n");
    // The slow subscriber finds its connection closed after what the kernel had taken.
    slow.stream.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
    let mut total = 0usize;
    let mut buf = vec![0u8; 1 << 16];
    loop {
        match std::io::Read::read(&mut slow.stream, &mut buf) {
            Ok(0) => break,
            Ok(n) => total += n,
            Err(e) => panic!("the slow subscriber was not closed: {e}"),
        }
    }
    assert!(total > 0);
    // The server is fine and the reader still subscribed.
    assert_eq!(cmd(&mut p, "PUBLISH big small"), ":1\r\n");
    assert_eq!(read(&mut reader), message("big", "small"));
}

#[test]
fn confirmations_and_messages_are_sent_even_with_replies_off() {
    let srv = Server::start(&["--threads", "4"]);
    let mut s = srv.raw();
    send(&mut s, "CLIENT REPLY OFF");
    send(&mut s, "SUBSCRIBE a b");
    assert_eq!(read(&mut s), sub_reply("subscribe", "a", 1));
    assert_eq!(read(&mut s), sub_reply("subscribe", "b", 2));
    // PING's reply is an ordinary one: not sent.
    send(&mut s, "PING");
    let mut p = srv.raw();
    assert_eq!(cmd(&mut p, "PUBLISH b z"), ":1\r\n");
    assert_eq!(read(&mut s), message("b", "z"));
}
