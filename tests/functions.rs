//! FCALL / FCALL_RO and FUNCTION LOAD, DELETE, FLUSH, LIST, DUMP, RESTORE, STATS, KILL
//! against a 4-shard server: errors as Redis 7.0.15 words them, the RESP2 and RESP3 shapes
//! of LIST and STATS, libraries loaded on one connection and called from others, functions
//! whose keys span shards, and a DUMP payload captured from Redis 7.0.15.

mod common;

use std::time::{Duration, Instant};

use common::{Raw, Server, bulk, cmdv, key_on};

const OK: &str = "+OK\r\n";

fn raw(srv: &Server) -> Raw {
    let r = srv.raw();
    r.stream.set_read_timeout(Some(Duration::from_secs(20))).expect("timeout");
    r
}

fn lib(name: &str, body: &str) -> String {
    format!("#!lua name={name}\n{body}")
}

fn load_err(r: &mut Raw, body: &str) -> String {
    let reply = cmdv(r, &["FUNCTION", "LOAD", &lib("t", body)]);
    // Nothing stays loaded after a failed load.
    assert_eq!(cmdv(r, &["FUNCTION", "DELETE", "t"]), "-ERR Library not found\r\n");
    reply
}

fn unhex(hex: &str) -> Vec<u8> {
    (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex")).collect()
}

/// FUNCTION DUMP of Redis 7.0.15 holding two libraries: `second` (s1) and `dumped` (dget,
/// flagged no-writes with a description, and dset), the latter LZF-compressed.
const REDIS_PAYLOAD: &str = "f5404b23216c7561206e616d653d7365636f6e640a72656469732e72656769737465725f66756e6374696f6e28277331272c2066756e6374696f6e28292072657475726e202773312720656e6429f5c340b841111f23216c7561206e616d653d64756d7065640a72656469732e7265676973746572095f66756e6374696f6e7bc008005f602c102764676574272c2063616c6c6261636b3dc01e0c286b657973292072657475726e2006404c40240128278030401e1f5b315d2920656e642c20666c6167733d7b276e6f2d777269746573277d2c2064056573637269704075003d4035012061403501277de00f9a0328276473608ce00483042c20617267e00d89802da0898027a0920164290a005c03e27a59280017";

#[test]
fn functions_load_on_one_connection_and_run_from_every_other() {
    let srv = Server::start_sharded();
    let mut conns: Vec<Raw> = (0..8).map(|_| raw(&srv)).collect();
    let code = lib(
        "mylib",
        "redis.register_function('echo', function(keys, args) return {keys, args} end)\n\
         redis.register_function('put', function(keys, args)\n\
           for i, k in ipairs(keys) do redis.call('set', k, args[i]) end\n\
           return #keys\n\
         end)\n\
         redis.register_function{function_name='get2', callback=function(keys) \
           return {redis.call('get', keys[1]), redis.call('get', keys[2])} end, flags={'no-writes'}}\n\
         redis.register_function('undeclared', function(keys, args) return redis.call('set', args[1], args[2]) end)",
    );
    assert_eq!(cmdv(&mut conns[0], &["FUNCTION", "LOAD", &code]), bulk("mylib"));
    for (i, c) in conns.iter_mut().enumerate() {
        let (a, b) = (key_on(i % 4, &format!("a{i}-")), key_on((i + 1) % 4, &format!("b{i}-")));
        assert_eq!(cmdv(c, &["FCALL", "echo", "1", &a, "x"]), format!("*2\r\n*1\r\n{}*1\r\n{}", bulk(&a), bulk("x")));
        assert_eq!(cmdv(c, &["FCALL", "put", "2", &a, &b, "va", "vb"]), ":2\r\n");
        assert_eq!(cmdv(c, &["FCALL_RO", "get2", "2", &a, &b]), format!("*2\r\n{}{}", bulk("va"), bulk("vb")));
    }
    // Written keys are visible from any connection.
    let a3 = key_on(3, "a3-");
    assert_eq!(cmdv(&mut conns[5], &["GET", &a3]), bulk("va"));
    // A key the function did not declare, on every shard.
    for shard in 0..4 {
        let k = key_on(shard, "undeclared-");
        assert_eq!(cmdv(&mut conns[shard], &["FCALL", "undeclared", "0", &k, "u"]), OK);
        assert_eq!(cmdv(&mut conns[7 - shard], &["GET", &k]), bulk("u"));
    }
    // Delete and replace apply everywhere too.
    assert_eq!(
        cmdv(
            &mut conns[3],
            &[
                "FUNCTION",
                "LOAD",
                "REPLACE",
                &lib("mylib", "redis.register_function('echo', function() return 'v2' end)")
            ]
        ),
        bulk("mylib")
    );
    for c in conns.iter_mut() {
        assert_eq!(cmdv(c, &["FCALL", "echo", "0"]), bulk("v2"));
        assert_eq!(cmdv(c, &["FCALL", "put", "0"]), "-ERR Function not found\r\n");
    }
    assert_eq!(cmdv(&mut conns[6], &["FUNCTION", "DELETE", "mylib"]), OK);
    for c in conns.iter_mut() {
        assert_eq!(cmdv(c, &["FCALL", "echo", "0"]), "-ERR Function not found\r\n");
        assert_eq!(cmdv(c, &["FUNCTION", "LIST"]), "*0\r\n");
    }
}

#[test]
fn cross_shard_function_is_atomic_for_readers() {
    let srv = Server::start_sharded();
    let mut w = raw(&srv);
    let code = lib(
        "bank",
        "redis.register_function('move', function(keys)\n\
           redis.call('decr', keys[1])\n\
           redis.call('incr', keys[2])\n\
           return 1\n\
         end)\n\
         redis.register_function{function_name='total', flags={'no-writes'}, callback=function(keys)\n\
           return tonumber(redis.call('get', keys[1])) + tonumber(redis.call('get', keys[2]))\n\
         end}",
    );
    assert_eq!(cmdv(&mut w, &["FUNCTION", "LOAD", &code]), bulk("bank"));
    let (a, b) = (key_on(0, "acct-a-"), key_on(3, "acct-b-"));
    assert_eq!(cmdv(&mut w, &["MSET", &a, "1000", &b, "0"]), OK);
    let reader = {
        let (a, b) = (a.clone(), b.clone());
        let mut r = raw(&srv);
        std::thread::spawn(move || {
            for _ in 0..200 {
                assert_eq!(cmdv(&mut r, &["FCALL_RO", "total", "2", &a, &b]), ":1000\r\n");
            }
        })
    };
    for _ in 0..200 {
        assert_eq!(cmdv(&mut w, &["FCALL", "move", "2", &a, &b]), ":1\r\n");
    }
    reader.join().expect("reader");
    assert_eq!(cmdv(&mut w, &["GET", &b]), bulk("200"));
}

#[test]
fn load_errors_as_redis() {
    let srv = Server::start_sharded();
    let mut r = raw(&srv);
    let reg = "Error registering functions: ERR";
    let cases: &[(&str, String)] = &[
        ("return 1", "No functions registered".into()),
        (
            "redis.register_function('a-b', function() end)",
            format!(
                "{reg} Library names can only contain letters, numbers, or underscores(_) and must be at least one character long"
            ),
        ),
        (
            "redis.register_function('f1')",
            format!(
                "{reg} calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments)."
            ),
        ),
        (
            "redis.call('ping')",
            format!("{reg} user_function:2: Script attempted to access nonexistent global variable 'call'"),
        ),
        (
            "local x = string.format('a')",
            format!("{reg} user_function:2: Script attempted to access nonexistent global variable 'string'"),
        ),
        (
            "redis.setresp(3)",
            format!("{reg} user_function:2: Script attempted to access nonexistent global variable 'setresp'"),
        ),
        ("x = 5", format!("{reg} user_function:2: Attempt to modify a readonly table")),
        ("local x = nil + 1", format!("{reg} user_function:2: attempt to perform arithmetic on a nil value")),
        ("syntax error here", "Error compiling function: user_function:2: '=' expected near 'error'".into()),
        (
            "redis.register_function{function_name='z', callback=function() end, flags='no-writes'}",
            format!("{reg} flags argument to redis.register_function must be a table representing function flags"),
        ),
        (
            "redis.register_function{function_name='z', callback=function() end, flags={'bad'}}",
            format!("{reg} unknown flag given"),
        ),
        (
            "redis.register_function{function_name='z', callback=5}",
            format!("{reg} callback argument given to redis.register_function must be a function"),
        ),
        (
            "redis.register_function{function_name='z', callback=function() end, foo=1}",
            format!("{reg} unknown argument given to redis.register_function"),
        ),
        (
            "redis.register_function{function_name='z'}",
            format!("{reg} redis.register_function must get a callback argument"),
        ),
        (
            "redis.register_function{callback=function() end}",
            format!("{reg} redis.register_function must get a function name argument"),
        ),
        (
            "redis.register_function('z', function() end, 3)",
            format!("{reg} wrong number of arguments to redis.register_function"),
        ),
        (
            "redis.register_function('z', 5)",
            format!("{reg} second argument to redis.register_function must be a function"),
        ),
        (
            "redis.register_function(true, function() end)",
            format!("{reg} first argument to redis.register_function must be a string"),
        ),
        (
            "redis.register_function('z', function() end) redis.register_function('z', function() end)",
            format!("{reg} Function already exists in the library"),
        ),
        ("redis.log(1)", format!("{reg} redis.log() requires two arguments or more.")),
    ];
    for (body, expected) in cases {
        assert_eq!(load_err(&mut r, body), format!("-ERR {expected}\r\n"), "{body}");
    }
    for (code, expected) in [
        ("return 1", "Missing library metadata"),
        ("#!lua name=x", "Invalid library metadata"),
        ("#!py name=x\n", "Engine 'py' not found"),
        ("#!lua name=x foo=bar\n", "Invalid metadata value given: foo=bar"),
        ("#!lua\n", "Library name was not given"),
        (
            "#!lua name=\n",
            "Library names can only contain letters, numbers, or underscores(_) and must be at least one character long",
        ),
    ] {
        assert_eq!(cmdv(&mut r, &["FUNCTION", "LOAD", code]), format!("-ERR {expected}\r\n"), "{code}");
    }
    assert_eq!(cmdv(&mut r, &["FUNCTION", "LOAD", "REPLACE"]), "-ERR Missing library metadata\r\n");
    assert_eq!(cmdv(&mut r, &["FUNCTION", "LOAD", "foo", "x"]), "-ERR Unknown option given: foo\r\n");

    // Allowed at load: register_function (positional and named), log, the constants.
    let ok = "redis.log(redis.LOG_NOTICE, 'loading', redis.REDIS_VERSION)\n\
              redis.register_function('f1', function() return 1 end)\n\
              redis.register_function{function_name='F_2', callback=function() return 2 end, flags={'NO-WRITES', 'allow-oom'}, description='two'}";
    assert_eq!(cmdv(&mut r, &["FUNCTION", "LOAD", &lib("lib1", ok)]), bulk("lib1"));
    assert_eq!(cmdv(&mut r, &["FUNCTION", "LOAD", &lib("lib1", ok)]), "-ERR Library 'lib1' already exists\r\n");
    assert_eq!(
        cmdv(&mut r, &["FUNCTION", "LOAD", &lib("lib2", "redis.register_function('f1', function() end)")]),
        "-ERR Function f1 already exists\r\n"
    );
    // REPLACE keeps the old library when the new one fails.
    assert_eq!(
        cmdv(&mut r, &["FUNCTION", "LOAD", "REPLACE", &lib("lib1", "return 1")]),
        "-ERR No functions registered\r\n"
    );
    assert_eq!(cmdv(&mut r, &["FCALL", "F_2", "0"]), ":2\r\n");
    // A load that runs too long.
    let start = Instant::now();
    assert_eq!(load_err(&mut r, "while true do end"), format!("-ERR {reg} FUNCTION LOAD timeout\r\n"));
    assert!(start.elapsed() < Duration::from_secs(5));
    assert_eq!(cmdv(&mut r, &["FCALL", "f1", "0"]), ":1\r\n");
}

#[test]
fn fcall_errors_as_redis() {
    let srv = Server::start_sharded();
    let mut r = raw(&srv);
    let code = lib(
        "errs",
        "redis.register_function('err1', function(keys, args) return redis.call('nosuch') end)\n\
         redis.register_function('err2', function(keys, args)\n\
           local x = nil + 1\n\
           return x\n\
         end)\n\
         redis.register_function('err3', function() error('boom') end)\n\
         redis.register_function('usekeys', function() return KEYS end)\n\
         redis.register_function('again', function() return redis.register_function('x', function() end) end)\n\
         redis.register_function('w', function(keys, args) return redis.call('set', keys[1], args[1]) end)\n\
         redis.register_function{function_name='ro', callback=function(keys) return redis.call('get', keys[1]) end, flags={'no-writes'}}\n\
         redis.register_function{function_name='rowrite', callback=function(keys) return redis.call('set', keys[1], 'x') end, flags={'no-writes'}}\n\
         redis.register_function('two', function() return 1, 2 end)",
    );
    assert_eq!(cmdv(&mut r, &["FUNCTION", "LOAD", &code]), bulk("errs"));
    for (args, expected) in [
        (vec!["FCALL", "nosuch", "0"], "-ERR Function not found"),
        (vec!["FCALL", "nosuch", "x"], "-ERR Function not found"),
        (vec!["FCALL_RO", "nosuch", "0"], "-ERR Function not found"),
        (vec!["FCALL", "w", "x"], "-ERR Bad number of keys provided"),
        (vec!["FCALL", "w", "-1"], "-ERR Number of keys can't be negative"),
        (vec!["FCALL", "w", "2", "a"], "-ERR Number of keys can't be greater than number of args"),
        (vec!["FCALL"], "-ERR wrong number of arguments for 'fcall' command"),
        (
            vec!["FCALL", "err1", "0"],
            "-ERR Unknown Redis command called from script script: err1, on @user_function:2.",
        ),
        (
            vec!["FCALL", "err2", "0"],
            "-ERR user_function:4: attempt to perform arithmetic on a nil value script: err2, on @user_function:4.",
        ),
        (vec!["FCALL", "err3", "0"], "-ERR user_function:7: boom script: err3, on @user_function:7."),
        (
            vec!["FCALL", "usekeys", "0"],
            "-ERR user_function:8: Script attempted to access nonexistent global variable 'KEYS' script: usekeys, on @user_function:8.",
        ),
        (
            vec!["FCALL", "again", "0"],
            "-ERR user_function:9: attempt to call field 'register_function' (a nil value) script: again, on @user_function:9.",
        ),
        (vec!["FCALL_RO", "w", "1", "k", "v"], "-ERR Can not execute a script with write flag using *_ro command."),
        (
            vec!["FCALL", "rowrite", "1", "k"],
            "-ERR Write commands are not allowed from read-only scripts. script: rowrite, on @user_function:12.",
        ),
        (
            vec!["FCALL_RO", "rowrite", "1", "k"],
            "-ERR Write commands are not allowed from read-only scripts. script: rowrite, on @user_function:12.",
        ),
    ] {
        assert_eq!(cmdv(&mut r, &args), format!("{expected}\r\n"), "{args:?}");
    }
    assert_eq!(cmdv(&mut r, &["FCALL", "w", "1", "k", "v"]), OK);
    assert_eq!(cmdv(&mut r, &["FCALL_RO", "ro", "1", "k"]), bulk("v"));
    assert_eq!(cmdv(&mut r, &["FCALL", "ro", "1", "k"]), bulk("v"));
    assert_eq!(cmdv(&mut r, &["FCALL", "two", "0"]), ":1\r\n");
    // Inside MULTI.
    assert_eq!(cmdv(&mut r, &["MULTI"]), OK);
    assert_eq!(cmdv(&mut r, &["FCALL", "w", "1", "k", "m"]), "+QUEUED\r\n");
    assert_eq!(cmdv(&mut r, &["FCALL_RO", "ro", "1", "k"]), "+QUEUED\r\n");
    assert_eq!(cmdv(&mut r, &["EXEC"]), format!("*2\r\n{OK}{}", bulk("m")));
}

#[test]
fn list_and_stats_in_resp2_and_resp3() {
    let srv = Server::start_sharded();
    let mut r = raw(&srv);
    let code = lib(
        "lib2",
        "redis.register_function('x1', function() return 1 end)\n\
         redis.register_function{function_name='x2', callback=function() return 2 end, flags={'allow-oom', 'no-writes'}, description='dd'}",
    );
    assert_eq!(cmdv(&mut r, &["FUNCTION", "LOAD", &code]), bulk("lib2"));
    let other = lib("other", "redis.register_function('o1', function() return 1 end)");
    assert_eq!(cmdv(&mut r, &["FUNCTION", "LOAD", &other]), bulk("other"));
    let x1 = format!("*6\r\n{}{}{}$-1\r\n{}*0\r\n", bulk("name"), bulk("x1"), bulk("description"), bulk("flags"));
    let x2 = format!(
        "*6\r\n{}{}{}{}{}*2\r\n+no-writes\r\n+allow-oom\r\n",
        bulk("name"),
        bulk("x2"),
        bulk("description"),
        bulk("dd"),
        bulk("flags")
    );
    let head =
        format!("{}{}{}{}{}", bulk("library_name"), bulk("lib2"), bulk("engine"), bulk("LUA"), bulk("functions"));
    let expected = format!("*1\r\n*6\r\n{head}*2\r\n{x1}{x2}");
    assert_eq!(cmdv(&mut r, &["FUNCTION", "LIST", "LIBRARYNAME", "lib*"]), expected);
    assert_eq!(cmdv(&mut r, &["FUNCTION", "LIST", "LIBRARYNAME", "lib"]), "*0\r\n");
    let with_code = format!("*1\r\n*8\r\n{head}*2\r\n{x1}{x2}{}{}", bulk("library_code"), bulk(&code));
    assert_eq!(cmdv(&mut r, &["FUNCTION", "LIST", "withcode", "libraryname", "l?b2"]), with_code);
    let all = cmdv(&mut r, &["FUNCTION", "LIST"]);
    assert!(all.starts_with("*2\r\n") && all.contains("other") && all.contains("lib2"), "{all}");
    for (args, expected) in [
        (vec!["FUNCTION", "LIST", "foo"], "-ERR Unknown argument foo"),
        (vec!["FUNCTION", "LIST", "LIBRARYNAME"], "-ERR library name argument was not given"),
        (vec!["FUNCTION", "LIST", "WITHCODE", "WITHCODE"], "-ERR Unknown argument WITHCODE"),
        (vec!["FUNCTION", "LIST", "LIBRARYNAME", "a", "LIBRARYNAME", "b"], "-ERR Unknown argument LIBRARYNAME"),
        (vec!["FUNCTION", "STATS", "x"], "-ERR wrong number of arguments for 'function|stats' command"),
    ] {
        assert_eq!(cmdv(&mut r, &args), format!("{expected}\r\n"), "{args:?}");
    }
    let stats2 = format!(
        "*4\r\n{}$-1\r\n{}*2\r\n{}*4\r\n{}:2\r\n{}:3\r\n",
        bulk("running_script"),
        bulk("engines"),
        bulk("LUA"),
        bulk("libraries_count"),
        bulk("functions_count")
    );
    assert_eq!(cmdv(&mut r, &["FUNCTION", "STATS"]), stats2);

    assert!(cmdv(&mut r, &["HELLO", "3"]).starts_with('%'));
    let x1 = format!("%3\r\n{}{}{}_\r\n{}~0\r\n", bulk("name"), bulk("x1"), bulk("description"), bulk("flags"));
    let x2 = format!(
        "%3\r\n{}{}{}{}{}~2\r\n+no-writes\r\n+allow-oom\r\n",
        bulk("name"),
        bulk("x2"),
        bulk("description"),
        bulk("dd"),
        bulk("flags")
    );
    assert_eq!(
        cmdv(&mut r, &["FUNCTION", "LIST", "WITHCODE", "LIBRARYNAME", "lib2"]),
        format!("*1\r\n%4\r\n{head}*2\r\n{x1}{x2}{}{}", bulk("library_code"), bulk(&code))
    );
    let stats3 = format!(
        "%2\r\n{}_\r\n{}%1\r\n{}%2\r\n{}:2\r\n{}:3\r\n",
        bulk("running_script"),
        bulk("engines"),
        bulk("LUA"),
        bulk("libraries_count"),
        bulk("functions_count")
    );
    assert_eq!(cmdv(&mut r, &["FUNCTION", "STATS"]), stats3);
}

#[test]
fn delete_flush_and_kill() {
    let srv = Server::start_sharded();
    let mut conns: Vec<Raw> = (0..4).map(|_| raw(&srv)).collect();
    let code = lib("d", "redis.register_function('fd', function() return 'd' end)");
    assert_eq!(cmdv(&mut conns[0], &["FUNCTION", "LOAD", &code]), bulk("d"));
    assert_eq!(cmdv(&mut conns[1], &["FUNCTION", "DELETE", "nosuch"]), "-ERR Library not found\r\n");
    assert_eq!(
        cmdv(&mut conns[1], &["FUNCTION", "DELETE"]),
        "-ERR wrong number of arguments for 'function|delete' command\r\n"
    );
    assert_eq!(cmdv(&mut conns[1], &["FUNCTION", "DELETE", "d"]), OK);
    assert_eq!(cmdv(&mut conns[2], &["FUNCTION", "DELETE", "d"]), "-ERR Library not found\r\n");
    assert_eq!(cmdv(&mut conns[2], &["FUNCTION", "LOAD", &code]), bulk("d"));
    assert_eq!(
        cmdv(&mut conns[3], &["FUNCTION", "FLUSH", "foo"]),
        "-ERR FUNCTION FLUSH only supports SYNC|ASYNC option\r\n"
    );
    assert_eq!(
        cmdv(&mut conns[3], &["FUNCTION", "FLUSH", "sync", "x"]),
        "-ERR unknown subcommand or wrong number of arguments for 'FLUSH'. Try FUNCTION HELP.\r\n"
    );
    assert_eq!(cmdv(&mut conns[3], &["FCALL", "fd", "0"]), bulk("d"));
    assert_eq!(cmdv(&mut conns[3], &["FUNCTION", "FLUSH", "ASYNC"]), OK);
    for c in conns.iter_mut() {
        assert_eq!(cmdv(c, &["FCALL", "fd", "0"]), "-ERR Function not found\r\n");
    }
    assert_eq!(cmdv(&mut conns[0], &["FUNCTION", "LOAD", &code]), bulk("d"));
    assert_eq!(cmdv(&mut conns[0], &["FUNCTION", "FLUSH"]), OK);
    assert_eq!(cmdv(&mut conns[1], &["FUNCTION", "LIST"]), "*0\r\n");
    // SCRIPT FLUSH does not touch functions; FUNCTION FLUSH does not touch scripts.
    assert_eq!(cmdv(&mut conns[0], &["FUNCTION", "LOAD", &code]), bulk("d"));
    assert_eq!(cmdv(&mut conns[0], &["SCRIPT", "FLUSH"]), OK);
    assert_eq!(cmdv(&mut conns[1], &["FCALL", "fd", "0"]), bulk("d"));
    assert_eq!(cmdv(&mut conns[0], &["FUNCTION", "KILL"]), "-NOTBUSY No scripts in execution right now.\r\n");
    assert_eq!(
        cmdv(&mut conns[0], &["FUNCTION", "KILL", "x"]),
        "-ERR wrong number of arguments for 'function|kill' command\r\n"
    );
}

#[test]
fn dump_restore_round_trip_and_redis_payload() {
    let srv = Server::start_sharded();
    let mut conns: Vec<Raw> = (0..4).map(|_| raw(&srv)).collect();
    // No libraries: the same bytes Redis 7.0.15 sends.
    let empty = conns[0].cmd(&[b"FUNCTION", b"DUMP"]);
    assert_eq!(empty, [b"$10\r\n".as_slice(), &unhex("0a005d9b5c400f7fa2da"), b"\r\n"].concat());

    // Redis's payload (LZF-compressed library included) restores here.
    let payload = unhex(REDIS_PAYLOAD);
    assert_eq!(conns[0].cmd(&[b"FUNCTION", b"RESTORE", &payload]), OK.as_bytes());
    for (i, c) in conns.iter_mut().enumerate() {
        let k = key_on(i, "restored-");
        assert_eq!(cmdv(c, &["FCALL", "dset", "1", &k, "v"]), OK);
        assert_eq!(cmdv(c, &["FCALL_RO", "dget", "1", &k]), bulk("v"));
        assert_eq!(cmdv(c, &["FCALL", "s1", "0"]), bulk("s1"));
    }
    let listed = cmdv(&mut conns[1], &["FUNCTION", "LIST", "LIBRARYNAME", "dumped"]);
    assert!(listed.contains(&format!("{}{}", bulk("description"), bulk("get a key"))), "{listed}");
    assert_eq!(
        conns[1].cmd(&[b"FUNCTION", b"RESTORE", &payload]),
        b"-ERR Library dumped already exists\r\n".as_slice()
    );
    assert_eq!(
        conns[1].cmd(&[b"FUNCTION", b"RESTORE", &payload, b"APPEND"]),
        b"-ERR Library dumped already exists\r\n".as_slice()
    );
    assert_eq!(conns[1].cmd(&[b"FUNCTION", b"RESTORE", &payload, b"replace"]), OK.as_bytes());

    // Our own DUMP -> FLUSH -> RESTORE.
    let dump = conns[2].cmd(&[b"FUNCTION", b"DUMP"]);
    let header_end = dump.iter().position(|&b| b == b'\n').expect("bulk header") + 1;
    let ours = dump[header_end..dump.len() - 2].to_vec();
    assert_eq!(cmdv(&mut conns[2], &["FUNCTION", "FLUSH"]), OK);
    assert_eq!(cmdv(&mut conns[3], &["FCALL", "s1", "0"]), "-ERR Function not found\r\n");
    assert_eq!(conns[2].cmd(&[b"FUNCTION", b"RESTORE", &ours]), OK.as_bytes());
    assert_eq!(cmdv(&mut conns[3], &["FCALL", "s1", "0"]), bulk("s1"));
    assert_eq!(conns[2].cmd(&[b"FUNCTION", b"DUMP"]), dump);

    // FLUSH policy replaces everything; a function clash aborts the whole restore.
    let clash = lib("clash", "redis.register_function('s1', function() return 'clash' end)");
    assert_eq!(cmdv(&mut conns[0], &["FUNCTION", "FLUSH"]), OK);
    assert_eq!(cmdv(&mut conns[0], &["FUNCTION", "LOAD", &clash]), bulk("clash"));
    assert_eq!(
        conns[0].cmd(&[b"FUNCTION", b"RESTORE", &ours, b"REPLACE"]),
        b"-ERR Function s1 already exists\r\n".as_slice()
    );
    assert_eq!(cmdv(&mut conns[1], &["FCALL", "dget", "1", "x"]), "-ERR Function not found\r\n");
    assert_eq!(conns[0].cmd(&[b"FUNCTION", b"RESTORE", &ours, b"FLUSH"]), OK.as_bytes());
    assert_eq!(cmdv(&mut conns[1], &["FCALL", "s1", "0"]), bulk("s1"));
    assert!(!cmdv(&mut conns[1], &["FUNCTION", "LIST"]).contains("clash"));

    // Broken payloads and arguments.
    let bad = "-ERR DUMP payload version or checksum are wrong\r\n".as_bytes();
    let mut flipped = ours.clone();
    flipped[5] ^= 1;
    assert_eq!(conns[0].cmd(&[b"FUNCTION", b"RESTORE", &flipped]), bad);
    assert_eq!(conns[0].cmd(&[b"FUNCTION", b"RESTORE", b"short"]), bad);
    assert_eq!(conns[0].cmd(&[b"FUNCTION", b"RESTORE", b""]), bad);
    assert_eq!(
        cmdv(&mut conns[0], &["FUNCTION", "RESTORE", "x", "foo"]),
        "-ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.\r\n"
    );
    assert_eq!(
        cmdv(&mut conns[0], &["FUNCTION", "RESTORE", "x", "FLUSH", "y"]),
        "-ERR unknown subcommand or wrong number of arguments for 'RESTORE'. Try FUNCTION HELP.\r\n"
    );
    assert_eq!(
        cmdv(&mut conns[0], &["FUNCTION", "DUMP", "x"]),
        "-ERR wrong number of arguments for 'function|dump' command\r\n"
    );
}
