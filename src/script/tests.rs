//! Unit tests with a mock host; expected outputs are what Redis 7.0.15 replies.

use super::*;
use crate::protocol::{Reply, encode};
use std::collections::HashMap;
use std::task::{Context, Poll};

/// A HashMap-backed fake of the command dispatch.
#[derive(Default)]
struct Mock {
    data: RefCell<HashMap<Bytes, Bytes>>,
    logs: RefCell<Vec<(LogLevel, Vec<u8>)>>,
    calls: Cell<usize>,
}

/// A future that is pending once before completing (a command on another shard).
struct Later(Option<Reply>, bool);

impl Future for Later {
    type Output = Reply;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Reply> {
        if !self.1 {
            self.1 = true;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        Poll::Ready(self.0.take().unwrap_or(Reply::Nil))
    }
}

impl Mock {
    fn exec(&self, args: &[Bytes]) -> Reply {
        self.calls.set(self.calls.get() + 1);
        let name = String::from_utf8_lossy(&args[0]).to_ascii_lowercase();
        let mut data = self.data.borrow_mut();
        match (name.as_str(), args.len()) {
            ("get", 2) => data.get(&args[1]).cloned().map_or(Reply::Nil, Reply::Bulk),
            ("set", 3) => {
                data.insert(args[1].clone(), args[2].clone());
                Reply::Ok
            }
            ("incr", 2) => {
                let cur = data.get(&args[1]).cloned().unwrap_or_else(|| Bytes::from_static(b"0"));
                match std::str::from_utf8(&cur).ok().and_then(|s| s.parse::<i64>().ok()) {
                    Some(n) => {
                        data.insert(args[1].clone(), Bytes::from((n + 1).to_string()));
                        Reply::Int(n + 1)
                    }
                    None => Reply::error("ERR value is not an integer or out of range"),
                }
            }
            ("ping", 1) => Reply::simple("PONG"),
            ("hgetall", 2) => {
                Reply::Map(vec![(Reply::bulk(b"a"), Reply::bulk(b"1")), (Reply::bulk(b"b"), Reply::bulk(b"2"))])
            }
            ("smembers", 2) => Reply::Set(vec![Reply::bulk(b"x")]),
            ("zscore", 3) => Reply::Double(1.5),
            ("exists", 2) => Reply::Int(1),
            ("lpop", 2) => Reply::Nil,
            ("lrange", _) => Reply::Array(vec![Reply::bulk(b"a"), Reply::Int(2)]),
            ("holes", _) => Reply::Array(vec![Reply::bulk(b"a"), Reply::Nil, Reply::Array(vec![Reply::Int(1)])]),
            ("echo", 2) => Reply::Bulk(args[1].clone()),
            ("wrongtype", _) => Reply::error("WRONGTYPE Operation against a key holding the wrong kind of value"),
            ("get" | "set" | "incr", _) => Reply::error(host_errors::WRONG_ARITY),
            ("eval", _) => Reply::error(host_errors::NOT_ALLOWED),
            ("remote", _) => Reply::Nil,
            _ => Reply::error(host_errors::UNKNOWN_COMMAND),
        }
    }
}

impl ScriptHost for Mock {
    fn call(&self, args: &crate::protocol::OwnedArgs, _resp: u8) -> HostReply {
        let args: Vec<Bytes> = args.view().iter().map(Bytes::copy_from_slice).collect();
        if args[0].eq_ignore_ascii_case(b"remote") {
            // Pending once, then runs like a local command.
            let rest: Vec<Bytes> = args[1..].to_vec();
            return HostReply::Later(Box::pin(Later(Some(self.exec(&rest)), false)));
        }
        HostReply::Now(self.exec(&args))
    }

    fn log(&self, level: LogLevel, message: &[u8]) {
        self.logs.borrow_mut().push((level, message.to_vec()));
    }

    fn acl_check_cmd(&self, args: &[Bytes]) -> Result<bool, String> {
        if args[0].eq_ignore_ascii_case(b"nosuch") {
            return Err(host_errors::INVALID_ACL_COMMAND.to_string());
        }
        Ok(true)
    }
}

fn run_with(engine: &Engine, host: &Rc<Mock>, script: &str, keys: &[&str], argv: &[&str]) -> Reply {
    let keys: Vec<&[u8]> = keys.iter().map(|k| k.as_bytes()).collect();
    let argv: Vec<&[u8]> = argv.iter().map(|k| k.as_bytes()).collect();
    let host: Rc<dyn ScriptHost> = host.clone();
    futures_lite::future::block_on(engine.run(ScriptSource::Body(script.as_bytes()), &keys, &argv, host))
}

fn eval(script: &str) -> Reply {
    let engine = Engine::new();
    run_with(&engine, &Rc::new(Mock::default()), script, &[], &[])
}

/// The reply as RESP2 text.
fn r2(reply: &Reply) -> String {
    let mut out = Vec::new();
    encode(reply, false, &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// The reply as RESP3 text.
fn r3(reply: &Reply) -> String {
    let mut out = Vec::new();
    encode(reply, true, &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

fn e2(script: &str) -> String {
    r2(&eval(script))
}

/// Redis's error text for a script failing on `line`.
fn script_err(msg: &str, script: &str, line: usize) -> String {
    format!("-{msg} script: {}, on @user_script:{line}.\r\n", sha1_hex(script.as_bytes()))
}

#[test]
fn lua_to_reply_rules() {
    assert_eq!(e2("return 3.99"), ":3\r\n");
    assert_eq!(e2("return -3.99"), ":-3\r\n");
    assert_eq!(e2("return 0/0"), ":-9223372036854775808\r\n");
    assert_eq!(e2("return 1/0"), ":-9223372036854775808\r\n");
    assert_eq!(e2("return 1e300"), ":-9223372036854775808\r\n");
    assert_eq!(e2("return 9007199254740993"), ":9007199254740992\r\n");
    assert_eq!(e2("return {1,2,3,nil,5}"), "*3\r\n:1\r\n:2\r\n:3\r\n");
    assert_eq!(e2("return {1,'a',true,false,{2}}"), "*5\r\n:1\r\n$1\r\na\r\n:1\r\n$-1\r\n*1\r\n:2\r\n");
    assert_eq!(e2("return true"), ":1\r\n");
    assert_eq!(e2("return false"), "$-1\r\n");
    assert_eq!(e2("return nil"), "$-1\r\n");
    assert_eq!(e2("return {err='boom'}"), "-boom\r\n");
    assert_eq!(e2("return {err=''}"), "-\r\n");
    assert_eq!(e2("return {err='x\\r\\ny\\r\\n'}"), "-x  y\r\n");
    assert_eq!(e2("return {ok='x'}"), "+x\r\n");
    assert_eq!(e2("return redis.status_reply('a\\r\\nb')"), "+a  b\r\n");
    assert_eq!(e2("return redis.error_reply('boom')"), "-ERR boom\r\n");
    assert_eq!(e2("return redis.error_reply('-boom')"), "-ERR boom\r\n");
    assert_eq!(e2("return redis.error_reply('MY boom')"), "-MY boom\r\n");
    assert_eq!(e2("return redis.status_reply(1)"), "-ERR wrong number or type of arguments\r\n");
    assert_eq!(e2("return redis.error_reply()"), "-ERR wrong number or type of arguments\r\n");
    assert_eq!(e2("return {1, {ok='fine'}, {err='bad'}}"), "*3\r\n:1\r\n+fine\r\n-bad\r\n");
    // RESP3 shapes from a script, as RESP2 and RESP3 clients get them.
    let map = eval("return {map={a=1}}");
    assert_eq!((r2(&map), r3(&map)), ("*2\r\n$1\r\na\r\n:1\r\n".into(), "%1\r\n$1\r\na\r\n:1\r\n".into()));
    let set = eval("return {set={a=true}}");
    assert_eq!((r2(&set), r3(&set)), ("*1\r\n$1\r\na\r\n".into(), "~1\r\n$1\r\na\r\n".into()));
    let d = eval("return {double=3.5}");
    assert_eq!((r2(&d), r3(&d)), ("$3\r\n3.5\r\n".into(), ",3.5\r\n".into()));
    assert_eq!(e2("return {double=0.1}"), "$19\r\n0.10000000000000001\r\n");
    let v = eval("return {verbatim_string={format='txt',string='hi'}}");
    assert_eq!((r2(&v), r3(&v)), ("$2\r\nhi\r\n".into(), "=6\r\ntxt:hi\r\n".into()));
    assert_eq!(e2("return {big_number='123'}"), "$3\r\n123\r\n");
    let b = eval("redis.setresp(3) return {true, false}");
    assert_eq!((r2(&b), r3(&b)), ("*2\r\n:1\r\n:0\r\n".into(), "*2\r\n#t\r\n#f\r\n".into()));
    assert_eq!(r3(&eval("return false")), "_\r\n");
}

#[test]
fn self_referencing_table_hits_stack_limit() {
    let reply = eval("local t={} t[1]=t return t");
    let text = r2(&reply);
    assert_eq!(text.matches("*1\r\n").count(), convert::MAX_REPLY_DEPTH);
    assert!(text.ends_with("-ERR reached lua stack limit\r\n"));
}

#[test]
fn redis_call_resp2_and_resp3() {
    let engine = Engine::new();
    let host = Rc::new(Mock::default());
    let run = |s: &str| r2(&run_with(&engine, &host, s, &["k"], &["v"]));
    assert_eq!(run("return redis.call('set', KEYS[1], ARGV[1])"), "+OK\r\n");
    assert_eq!(run("return redis.call('get', KEYS[1])"), "$1\r\nv\r\n");
    assert_eq!(run("return type(redis.call('get','nokey'))"), "$7\r\nboolean\r\n");
    assert_eq!(run("redis.setresp(3) return type(redis.call('get','nokey'))"), "$3\r\nnil\r\n");
    assert_eq!(run("return redis.call('hgetall','h')"), "*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n");
    let m = run_with(&engine, &host, "redis.setresp(3) return redis.call('hgetall','h')", &[], &[]);
    assert_eq!(r3(&m), "%2\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n");
    assert_eq!(
        run("redis.setresp(3) local r = redis.call('hgetall','h') return {r.map.a, r.map.b}"),
        "*2\r\n$1\r\n1\r\n$1\r\n2\r\n"
    );
    assert_eq!(
        run("redis.setresp(3) local r = redis.call('smembers','st') return tostring(r.set.x)"),
        "$4\r\ntrue\r\n"
    );
    assert_eq!(
        run("redis.setresp(3) local r = redis.call('zscore','z','m') return {type(r), tostring(r.double)}"),
        "*2\r\n$5\r\ntable\r\n$3\r\n1.5\r\n"
    );
    assert_eq!(run("return redis.call('zscore','z','m')"), "$3\r\n1.5\r\n");
    let d = run_with(&engine, &host, "redis.setresp(3) return redis.call('zscore','z','m')", &[], &[]);
    assert_eq!((r2(&d), r3(&d)), ("$3\r\n1.5\r\n".into(), ",1.5\r\n".into()));
    assert_eq!(r3(&run_with(&engine, &host, "redis.setresp(3) return redis.call('lpop','l')", &[], &[])), "_\r\n");
    assert_eq!(run("return redis.call('ping')"), "+PONG\r\n");
    assert_eq!(run("return {1, redis.call('ping')}"), "*2\r\n:1\r\n+PONG\r\n");
    // Numbers as arguments are written with %.17g.
    assert_eq!(run("redis.call('set', 1.5, 0.1) return redis.call('get', '1.5')"), "$19\r\n0.10000000000000001\r\n");
    assert_eq!(run("redis.call('set', 'n', 3) return redis.call('incr', 'n')"), ":4\r\n");
}

/// Replies redis.call's primitive pushes itself (bulk, integer, nil, status, flat arrays)
/// and the ones it leaves to the converting path give the script the same values.
#[test]
fn redis_call_fast_and_converted_replies() {
    let engine = Engine::new();
    let host = Rc::new(Mock::default());
    let run = |s: &str| r2(&run_with(&engine, &host, s, &[], &[]));
    assert_eq!(
        run("local r = redis.call('lrange','l') return {type(r), #r, r[1], type(r[2])}"),
        "*4\r\n$5\r\ntable\r\n:2\r\n$1\r\na\r\n$6\r\nnumber\r\n"
    );
    assert_eq!(
        run("local r = redis.call('holes','l') return {#r, r[1], tostring(r[2]), r[3][1]}"),
        "*4\r\n:3\r\n$1\r\na\r\n$5\r\nfalse\r\n:1\r\n"
    );
    assert_eq!(run("return redis.call('lrange','l')"), "*2\r\n$1\r\na\r\n:2\r\n");
    assert_eq!(run("local r = redis.call('ping') return {type(r), r.ok}"), "*2\r\n$5\r\ntable\r\n$4\r\nPONG\r\n");
    assert_eq!(run("local r = redis.pcall('set','a','b') return r.ok"), "$2\r\nOK\r\n");
    assert_eq!(run("return redis.call('echo', '')"), "$0\r\n\r\n");
    // Numbers as arguments are written with %.17g, integral ones too (Redis 7.0.15's output).
    assert_eq!(
        run(
            "return {redis.call('echo', 2^53), redis.call('echo', -0.0), redis.call('echo', 1e17), redis.call('echo', -7), \
             redis.call('echo', 123456789012345678), redis.call('echo', 12345678901234567)}"
        ),
        "*6\r\n$16\r\n9007199254740992\r\n$2\r\n-0\r\n$5\r\n1e+17\r\n$2\r\n-7\r\n\
         $22\r\n1.2345678901234568e+17\r\n$17\r\n12345678901234568\r\n"
    );
    // A reply waited for, failing: raised at the line of the call.
    host.data.borrow_mut().insert(Bytes::from_static(b"s"), Bytes::from_static(b"x"));
    let s = "local a = 1\nlocal r = redis.call('remote', 'incr', 's')\nreturn r";
    assert_eq!(run(s), script_err("ERR value is not an integer or out of range", s, 2));
    assert_eq!(run("return redis.pcall('remote', 'incr', 's')"), "-ERR value is not an integer or out of range\r\n");
}

#[test]
fn redis_call_errors() {
    let engine = Engine::new();
    let host = Rc::new(Mock::default());
    host.data.borrow_mut().insert(Bytes::from_static(b"s"), Bytes::from_static(b"hello"));
    let check = |s: &str, expected: String| assert_eq!(r2(&run_with(&engine, &host, s, &[], &[])), expected, "{s}");
    let s = "return redis.call('incr','s')";
    check(s, script_err("ERR value is not an integer or out of range", s, 1));
    check("return redis.pcall('incr','s')", "-ERR value is not an integer or out of range\r\n".into());
    check(
        "local r = redis.pcall('incr','s') return type(r) .. tostring(r.err)",
        "$48\r\ntableERR value is not an integer or out of range\r\n".into(),
    );
    let s = "local x = 1\nlocal r = redis.call('nosuch')\nreturn r";
    check(s, script_err("ERR Unknown Redis command called from script", s, 2));
    let s = "local r = redis.call() return r";
    check(s, script_err("ERR Please specify at least one argument for this redis lib call", s, 1));
    let s = "local r = redis.call({}) return r";
    check(s, script_err("ERR Lua redis lib command arguments must be strings or integers", s, 1));
    let s = "local r = redis.call('get', {}) return r";
    check(s, script_err("ERR Lua redis lib command arguments must be strings or integers", s, 1));
    check("return redis.pcall()", "-ERR Please specify at least one argument for this redis lib call\r\n".into());
    let s = "local r = redis.call('wrongtype') return r";
    check(s, script_err("WRONGTYPE Operation against a key holding the wrong kind of value", s, 1));
    // pcall catches the error table.
    check(
        "local ok, e = pcall(redis.call, 'incr', 's') return {tostring(ok), e.err}",
        "*2\r\n$5\r\nfalse\r\n$43\r\nERR value is not an integer or out of range\r\n".into(),
    );
    check(
        "local ok, e = pcall(function() return redis.call('incr', 's') end) return e.err",
        "$43\r\nERR value is not an integer or out of range\r\n".into(),
    );
}

#[test]
fn runtime_errors_have_redis_format() {
    let check = |s: &str, msg: &str, line: usize| assert_eq!(e2(s), script_err(msg, s, line), "{s}");
    check("return x", "ERR user_script:1: Script attempted to access nonexistent global variable 'x'", 1);
    check("local a = 1\nx = 1", "ERR user_script:2: Attempt to modify a readonly table", 2);
    check("error('boom')", "ERR user_script:1: boom", 1);
    check("redis.x = 1", "ERR user_script:1: Attempt to modify a readonly table", 1);
    check("string.x = 1", "ERR user_script:1: Attempt to modify a readonly table", 1);
    check("_G.x = 1", "ERR user_script:1: Attempt to modify a readonly table", 1);
    check("rawset(_G,'x',1)", "ERR Attempt to modify a readonly table", 1);
    check("setmetatable(_G, nil)", "ERR Attempt to modify a readonly table", 1);
    // The strings' metatable and the string table behind it are read-only too.
    check("getmetatable('').__index.x = 1", "ERR user_script:1: Attempt to modify a readonly table", 1);
    check("getmetatable('').__index = nil", "ERR user_script:1: Attempt to modify a readonly table", 1);
    check("rawset(getmetatable(''), 'x', 1)", "ERR Attempt to modify a readonly table", 1);
    check("setmetatable(getmetatable(''), nil)", "ERR Attempt to modify a readonly table", 1);
    check("return os", "ERR user_script:1: Script attempted to access nonexistent global variable 'os'", 1);
    check("return string.rep()", "ERR user_script:1: bad argument #1 to 'rep' (string expected, got no value)", 1);
    check("return redis.setresp()", "ERR redis.setresp() requires one argument.", 1);
    check("return redis.setresp(4)", "ERR RESP version must be 2 or 3.", 1);
    check("return redis.log()", "ERR redis.log() requires two arguments or more.", 1);
    check("return redis.log(99, 'x')", "ERR Invalid debug level.", 1);
    check("return redis.set_repl()", "ERR redis.set_repl() requires two arguments.", 1);
    check(
        "return redis.set_repl(99)",
        "ERR Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.",
        1,
    );
    check("return redis.sha1hex()", "ERR wrong number of arguments", 1);
    check("return redis.acl_check_cmd()", "ERR Please specify at least one argument for this redis lib call", 1);
    check("return redis.acl_check_cmd('nosuch')", "ERR Invalid command passed to redis.acl_check_cmd()", 1);
    check("coroutine.yield(1) return 2", "ERR attempt to yield across metamethod/C-call boundary", 1);
    assert_eq!(
        e2("return 'abc' .."),
        "-ERR Error compiling script (new function): user_script:1: unexpected symbol near '<eof>'\r\n"
    );
    assert!(e2("return load('return 1')()").contains("bad argument #1 to 'load' (function expected, got string)"));
}

#[test]
fn sandbox_globals() {
    assert_eq!(e2("local t={} for k,v in pairs(_G) do t[#t+1]=k end table.sort(t) return table.concat(t, ' ')"), {
        let names = "ARGV KEYS _G _VERSION __redis__err__handler assert bit cjson cmsgpack collectgarbage coroutine error gcinfo getmetatable ipairs load loadstring math next pairs pcall rawequal rawget rawset redis select setmetatable string struct table tonumber tostring type unpack xpcall";
        format!("${}\r\n{names}\r\n", names.len())
    });
    let lib = |name: &str| {
        e2(&format!("local t={{}} for k,v in pairs({name}) do t[#t+1]=k end table.sort(t) return table.concat(t, ' ')"))
    };
    let expect = |s: &str| format!("${}\r\n{s}\r\n", s.len());
    assert_eq!(lib("bit"), expect("arshift band bnot bor bswap bxor lshift rol ror rshift tobit tohex"));
    assert_eq!(lib("struct"), expect("pack size unpack"));
    assert_eq!(lib("cmsgpack"), expect("_COPYRIGHT _DESCRIPTION _NAME _VERSION pack unpack unpack_limit unpack_one"));
    assert_eq!(
        lib("cjson"),
        expect(
            "_NAME _VERSION decode decode_invalid_numbers decode_max_depth encode encode_invalid_numbers encode_keep_buffer encode_max_depth encode_number_precision encode_sparse_array new null"
        )
    );
    assert_eq!(
        lib("redis"),
        expect(
            "LOG_DEBUG LOG_NOTICE LOG_VERBOSE LOG_WARNING REDIS_VERSION REDIS_VERSION_NUM REPL_ALL REPL_AOF REPL_NONE REPL_REPLICA REPL_SLAVE acl_check_cmd breakpoint call debug error_reply log pcall replicate_commands set_repl setresp sha1hex status_reply"
        )
    );
    assert_eq!(lib("coroutine"), expect("create resume running status wrap yield"));
    assert_eq!(e2("return getmetatable(_G)"), "$-1\r\n");
    assert_eq!(
        e2("return {getmetatable('').__index == string, ('abc'):upper(), type(getmetatable('x'))}"),
        "*3\r\n:1\r\n$3\r\nABC\r\n$5\r\ntable\r\n"
    );
    assert_eq!(e2("return rawget(string, 'rep') ~= nil"), ":1\r\n");
    assert_eq!(e2("local f = loadstring('return 1') return f()"), ":1\r\n");
    assert_eq!(e2("return KEYS[1]"), "$-1\r\n");
    assert_eq!(e2("return _VERSION"), "$7\r\nLua 5.1\r\n");
    assert_eq!(e2("return {pcall(1)}"), "*2\r\n$-1\r\n$30\r\nattempt to call a number value\r\n");
    assert_eq!(
        e2("return {xpcall(function() error('x') end, function(e) return 'h:' .. e end)}"),
        "*2\r\n$-1\r\n$18\r\nh:user_script:1: x\r\n"
    );
    assert_eq!(
        e2(
            "local co = coroutine.wrap(function(a) local b = coroutine.yield(a + 1) return b * 2 end) return {co(1), co(5)}"
        ),
        "*2\r\n:2\r\n:10\r\n"
    );
    assert_eq!(e2("return redis.sha1hex('')"), "$40\r\nda39a3ee5e6b4b0d3255bfef95601890afd80709\r\n");
    assert_eq!(e2("return redis.sha1hex(12)"), "$40\r\n7b52009b64fd0a2a49e6d8a939753077792b0554\r\n");
    assert_eq!(
        e2(
            "return {redis.REPL_ALL, redis.REPL_AOF, redis.REPL_NONE, redis.REPL_REPLICA, redis.REPL_SLAVE, redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, redis.LOG_WARNING}"
        ),
        "*9\r\n:3\r\n:1\r\n:0\r\n:2\r\n:2\r\n:0\r\n:1\r\n:2\r\n:3\r\n"
    );
    assert_eq!(e2("return redis.replicate_commands()"), ":1\r\n");
    assert_eq!(e2("return redis.breakpoint()"), "$-1\r\n");
    assert_eq!(
        e2("return tostring(0.1) .. ' ' .. tostring(1e20) .. ' ' .. string.format('%d', 3.7)"),
        "$11\r\n0.1 1e+20 3\r\n"
    );
}

#[test]
fn keys_argv_and_log() {
    let engine = Engine::new();
    let host = Rc::new(Mock::default());
    assert_eq!(
        r2(&run_with(&engine, &host, "return {KEYS[1], KEYS[2], ARGV[1], #ARGV}", &["a", "b"], &["x"])),
        "*4\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nx\r\n:1\r\n"
    );
    assert_eq!(r2(&run_with(&engine, &host, "KEYS[1]='x' return KEYS[1]", &["a"], &[])), "$1\r\nx\r\n");
    run_with(&engine, &host, "redis.log(redis.LOG_WARNING, 'x', 1, 2.5, {})", &[], &[]);
    assert_eq!(host.logs.borrow().as_slice(), &[(LogLevel::Warning, b"x 1 2.5".to_vec())]);
}

#[test]
fn runs_in_a_row_share_nothing_but_the_cache() {
    // The script's Lua thread and the KEYS and ARGV tables are reused from run to run:
    // runs that fail, wait, change KEYS or ARGV (entries, other keys, metatable, a table
    // filled beyond what is reused) or pass many arguments must leave nothing behind.
    let engine = Engine::new();
    let host = Rc::new(Mock::default());
    let run = |s: &str, keys: &[&str], argv: &[&str]| r2(&run_with(&engine, &host, s, keys, argv));
    let many: Vec<String> = (0..300).map(|i| i.to_string()).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    let (many_keys, many_argv) = many.split_at(100);
    let last = many[many.len() - 1];
    let shape = "return {#KEYS, #ARGV, KEYS[1] or 'none', ARGV[#ARGV] or 'none'}";
    for round in 1..=3 {
        assert_eq!(run(shape, &["k"], &["a", "b"]), "*4\r\n:1\r\n:2\r\n$1\r\nk\r\n$1\r\nb\r\n");
        assert!(run("error('boom')", &[], &[]).starts_with("-ERR user_script:1: boom"));
        let changes = "KEYS[5] = 'x' ARGV.extra = 1 return redis.call('remote', 'incr', 'n')";
        assert_eq!(run(changes, &["k"], &[]), format!(":{round}\r\n"));
        assert_eq!(run(shape, &[], &[]), "*4\r\n:0\r\n:0\r\n$4\r\nnone\r\n$4\r\nnone\r\n");
        assert_eq!(run("return ARGV.extra", &[], &[]), "$-1\r\n");
        let expected =
            format!("*4\r\n:{}\r\n:{}\r\n$1\r\n0\r\n${}\r\n{last}\r\n", many_keys.len(), many_argv.len(), last.len());
        assert_eq!(run(shape, many_keys, many_argv), expected);
        assert!(run("coroutine.yield(1)", &[], &[]).contains("attempt to yield across metamethod/C-call boundary"));
        let messy = "KEYS[1] = nil KEYS[0] = 'z' KEYS[1.5] = 1 ARGV[3] = 'c' \
                     setmetatable(ARGV, {__index = function() return 'meta' end}) return #ARGV";
        assert_eq!(run(messy, &["k"], &["a", "b"]), ":3\r\n");
        let probe = "local n = 0 for _ in pairs(KEYS) do n = n + 1 end \
                     return {n, #ARGV, tostring(KEYS[0]), tostring(ARGV[9]), tostring(getmetatable(ARGV))}";
        assert_eq!(run(probe, &["k"], &["a"]), "*5\r\n:1\r\n:1\r\n$3\r\nnil\r\n$3\r\nnil\r\n$3\r\nnil\r\n");
        assert_eq!(run("for i = 1, 1000 do ARGV[i] = i end ARGV.x = 1 return #ARGV", &[], &["a"]), ":1000\r\n");
        assert_eq!(run(probe, &[], &["a", "b"]), "*5\r\n:0\r\n:2\r\n$3\r\nnil\r\n$3\r\nnil\r\n$3\r\nnil\r\n");
        assert_eq!(run("KEYS.x = 1 return 1", &["k"], &[]), ":1\r\n");
        assert_eq!(run("return KEYS.x", &["k"], &[]), "$-1\r\n");
        assert!(run("local t = setmetatable({}, {__index = function() return redis.call('remote', 'get', 'n') end}) return t.x", &[], &[]).starts_with("-"));
    }
}

#[test]
fn math_random_is_redis_lrand48() {
    let engine = Engine::new();
    let host = Rc::new(Mock::default());
    let s = "return math.random(100) .. ' ' .. math.random(100) .. ' ' .. math.random()";
    assert_eq!(r2(&run_with(&engine, &host, s, &[], &[])), "$22\r\n40 85 0.35333609737146\r\n");
    assert_eq!(r2(&run_with(&engine, &host, s, &[], &[])), "$22\r\n45 32 0.88642843341754\r\n");
    assert_eq!(r2(&run_with(&engine, &host, "math.randomseed(3) return math.random(100)", &[], &[])), ":79\r\n");
    let s = "return math.random(0)";
    assert_eq!(
        r2(&run_with(&engine, &host, s, &[], &[])),
        script_err("ERR user_script:1: bad argument #1 to 'random' (interval is empty)", s, 1)
    );
}

#[test]
fn pending_calls_resume_inside_pcall_and_coroutines() {
    let engine = Engine::new();
    let host = Rc::new(Mock::default());
    let run = |s: &str| r2(&run_with(&engine, &host, s, &[], &[]));
    assert_eq!(run("redis.call('remote', 'set', 'a', '1') return redis.call('remote', 'incr', 'a')"), ":2\r\n");
    assert_eq!(
        run("local ok, v = pcall(redis.call, 'remote', 'incr', 'a') return {tostring(ok), v}"),
        "*2\r\n$4\r\ntrue\r\n:3\r\n"
    );
    assert_eq!(run("local ok, v = pcall(function() return redis.call('remote', 'incr', 'a') end) return v"), ":4\r\n");
    assert_eq!(
        run(
            "local co = coroutine.wrap(function() coroutine.yield(redis.call('remote', 'incr', 'a')) return 0 end) return co()"
        ),
        ":5\r\n"
    );
    let s = "local v = redis.call('remote', 'wrongtype') return v";
    assert_eq!(run(s), script_err("WRONGTYPE Operation against a key holding the wrong kind of value", s, 1));
}

#[test]
fn cache_flags_and_evalsha() {
    let engine = Engine::with_eval_capacity(3);
    let host = Rc::new(Mock::default());
    let sha = engine.load(b"return 'loaded'").unwrap();
    assert_eq!(sha, sha1_hex(b"return 'loaded'"));
    let dynh: Rc<dyn ScriptHost> = host.clone();
    let by_sha = |sha: &str| {
        futures_lite::future::block_on(engine.run(ScriptSource::Sha(sha.as_bytes()), &[], &[], dynh.clone()))
    };
    assert_eq!(r2(&by_sha(&sha.to_uppercase())), "$6\r\nloaded\r\n");
    for i in 0..50 {
        run_with(&engine, &host, &format!("return {i}"), &[], &[]);
    }
    assert_eq!(engine.cache_stats().0, 4);
    assert!(engine.exists(sha.as_bytes()));
    assert!(engine.exists(sha1_hex(b"return 49").as_bytes()));
    assert!(!engine.exists(sha1_hex(b"return 0").as_bytes()));
    assert_eq!(r2(&by_sha(&sha1_hex(b"return 0"))), "-NOSCRIPT No matching script. Please use EVAL.\r\n");
    let p = engine.prepare(ScriptSource::Body(b"#!lua flags=no-writes,allow-stale\nreturn x")).unwrap();
    assert!(p.flags.no_writes && p.flags.allow_stale && !p.flags.eval_compat_mode);
    let reply = futures_lite::future::block_on(engine.run_prepared(&p, &[], &[], dynh.clone()));
    assert_eq!(
        r2(&reply),
        script_err(
            "ERR user_script:2: Script attempted to access nonexistent global variable 'x'",
            "#!lua flags=no-writes,allow-stale\nreturn x",
            2
        )
    );
    assert_eq!(
        engine.prepare(ScriptSource::Body(b"#!lua flags=foo\nreturn 1")).unwrap_err(),
        Reply::error("ERR Unexpected flag in script shebang: foo")
    );
    engine.flush();
    assert!(!engine.exists(sha.as_bytes()));
    assert_eq!(engine.cache_stats().0, 0);
    assert_eq!(r2(&run_with(&engine, &host, "return 1", &[], &[])), ":1\r\n");
}

#[test]
fn kill_flag_stops_a_busy_script() {
    let engine = Engine::new();
    let host = Rc::new(Mock::default());
    let busy = engine.busy();
    let ticks = Rc::new(Cell::new(0u32));
    let t = ticks.clone();
    let b = busy.clone();
    engine.set_tick(Some(Box::new(move |_elapsed| {
        t.set(t.get() + 1);
        if t.get() == 3 {
            assert!(b.kill());
        }
    })));
    let s = "local i = 0\nwhile true do pcall(function() i = i + 1 end) end";
    let reply = run_with(&engine, &host, s, &[], &[]);
    assert!(r2(&reply).starts_with("-ERR Script killed by user with SCRIPT KILL... script: "), "{}", r2(&reply));
    assert!(ticks.get() >= 3);
    assert!(!busy.is_running());
    assert!(!busy.kill());
    assert_eq!(r2(&run_with(&engine, &host, "return 1", &[], &[])), ":1\r\n");
}

#[test]
fn cjson_matches_redis() {
    let s = |x: &str| format!("${}\r\n{x}\r\n", x.len());
    assert_eq!(
        e2(r#"return cjson.encode({1,2,'a/b',{x=1.5},cjson.null,true,'"\\\n\1\127é'})"#),
        s(r#"[1,2,"a\/b",{"x":1.5},null,true,"\"\\\n\u0001\u007fé"]"#)
    );
    assert_eq!(e2("return cjson.encode({a=1,b={},c={n=0.1}})"), s(r#"{"a":1,"c":{"n":0.1},"b":{}}"#));
    assert_eq!(e2("return cjson.encode({[1]=1,[3]=3})"), s("[1,null,3]"));
    assert_eq!(e2("return cjson.encode({[1]=1,x=3})"), s(r#"{"1":1,"x":3}"#));
    assert_eq!(e2("return cjson.encode(123456789012345678)"), s("1.2345678901235e+17"));
    assert_eq!(e2("return cjson.encode(3.14159265358979)"), s("3.1415926535898"));
    let err = |script: &str, msg: &str| {
        assert_eq!(e2(script), script_err(&format!("ERR user_script:1: {msg}"), script, 1), "{script}")
    };
    err("return cjson.encode({[1]=1,[30]=3})", "Cannot serialise table: excessively sparse array");
    err("return cjson.encode(1/0)", "Cannot serialise number: must not be NaN or Inf");
    err("return cjson.encode(function() end)", "Cannot serialise function: type not supported");
    err("return cjson.decode('x')", "Expected value but found invalid token at character 1");
    err("return cjson.decode('[1,2')", "Expected comma or array end but found T_END at character 5");
    err("return cjson.decode('{\"a\" 1}')", "Expected colon but found T_NUMBER at character 6");
    err("return cjson.decode('')", "Expected value but found T_END at character 1");
    err("return cjson.decode('[1] x')", "Expected the end but found invalid token at character 5");
    err("return cjson.decode('nul')", "Expected value but found invalid token at character 1");
    err("return cjson.decode('\"abc')", "Expected value but found unexpected end of string at character 5");
    err("return cjson.decode('{1:2}')", "Expected object key string but found T_NUMBER at character 2");
    err("return cjson.decode('[1,]')", "Expected value but found T_ARR_END at character 4");
    assert_eq!(e2("return cjson.decode(123)"), ":123\r\n");
    assert_eq!(
        e2(
            r#"local t = cjson.decode('{"a":[1,2,{"b":null}],"c":"\\u00e9\\n","d":1e2,"e":true}') return {t.a[1], t.a[3].b == cjson.null, t.c, t.d, tostring(t.e)}"#
        ),
        "*5\r\n:1\r\n:1\r\n$3\r\né\n\r\n:100\r\n$4\r\ntrue\r\n"
    );
    assert_eq!(
        e2("return cjson.encode(cjson.decode('{\"k\":[true,false,null,\"\\\\ud83d\\\\ude00\"]}'))"),
        s("{\"k\":[true,false,null,\"😀\"]}")
    );
    assert_eq!(
        e2("local c = cjson.new() c.encode_number_precision(3) return c.encode(3.14159) .. cjson.encode(3.14159)"),
        s("3.143.14159")
    );
}

#[test]
fn bit_matches_redis() {
    assert_eq!(
        e2(
            "return {bit.tobit(0xffffffff), bit.tohex(255), bit.tohex(-1, -4), bit.tohex(255, 2), bit.bnot(0), bit.band(7, 3, 2), bit.bor(1,2,4), bit.bxor(5,3), bit.lshift(1, 31), bit.rshift(-1, 28), bit.arshift(-256, 4), bit.rol(0x12345678, 8), bit.ror(0x12345678, 8), bit.bswap(0x12345678), bit.tobit(2^32+5), bit.tohex(0x12345678, -8)}"
        ),
        "*16\r\n:-1\r\n$8\r\n000000ff\r\n$4\r\nFFFF\r\n$2\r\nff\r\n:-1\r\n:2\r\n:7\r\n:6\r\n:-2147483648\r\n:15\r\n:-16\r\n:878082066\r\n:2014458966\r\n:2018915346\r\n:5\r\n$8\r\n12345678\r\n"
    );
    let s = "return bit.tohex()";
    assert_eq!(
        e2(s),
        script_err("ERR user_script:1: bad argument #1 to 'tohex' (number expected, got no value)", s, 1)
    );
}

const HEX: &str =
    "local function hex(s) return (s:gsub('.', function(c) return string.format('%02x', c:byte()) end)) end ";

fn bulk(s: &str) -> String {
    format!("${}\r\n{s}\r\n", s.len())
}

#[test]
fn struct_matches_redis() {
    let h = |s: &str| e2(&format!("{HEX}{s}"));
    assert_eq!(
        h(
            "return hex(struct.pack('>I2', 258) .. struct.pack('<i4', -2) .. struct.pack('b', 1) .. struct.pack('s', 'hi') .. struct.pack('c3', 'xyz') .. struct.pack('d', 1.5) .. struct.pack('!4 b i4', 1, 2) .. struct.pack('>f h l', 0.5, -3, 7))"
        ),
        bulk("0102feffffff0168690078797a000000000000f83f01000000020000003f000000fffd0000000000000007")
    );
    assert_eq!(
        e2("return {struct.size('>I2i4'), struct.size('!8 b d'), struct.unpack('>I2', 'ab')}"),
        "*4\r\n:6\r\n:16\r\n:24930\r\n:3\r\n"
    );
    assert_eq!(
        e2("return {struct.unpack('>I2 c2 b', 'ab' .. 'cd' .. '\\255')}"),
        "*4\r\n:24930\r\n$2\r\ncd\r\n:-1\r\n:6\r\n"
    );
    assert_eq!(e2("return {struct.unpack('b c0', '\\3abcd')}"), "*2\r\n$3\r\nabc\r\n:5\r\n");
    assert_eq!(e2("return {struct.unpack('s i', 'hi\\0' .. struct.pack('i', 7))}"), "*3\r\n$2\r\nhi\r\n:7\r\n:8\r\n");
    let err = |script: &str, msg: &str| {
        assert_eq!(e2(script), script_err(&format!("ERR user_script:1: {msg}"), script, 1), "{script}")
    };
    err("return struct.size('s')", "bad argument #1 to 'size' (option 's' has no fixed size)");
    err("return struct.unpack('i4', 'ab')", "bad argument #2 to 'unpack' (data string too short)");
    err("return struct.pack('q')", "bad argument #1 to 'pack' (invalid format option 'q')");
}

#[test]
fn cmsgpack_matches_redis() {
    assert_eq!(
        e2(&format!(
            "{HEX}return hex(cmsgpack.pack(1, -1, 'abc', {{1,2}}, {{a=1}}, true, 1.5, 300, -300, 70000, 2^40, 0.1, -33, string.rep('x', 40), {{}}))"
        )),
        bulk(
            "01ffa361626392010281a16101c3ca3fc00000cd012cd1fed4ce00011170cf0000010000000000cb3fb999999999999ad0dfd9287878787878787878787878787878787878787878787878787878787878787878787878787878787890"
        )
    );
    assert_eq!(
        e2("local a, b, c = cmsgpack.unpack(cmsgpack.pack({1,2,{a='b'}}, 'x', -70000)) return {a[1], a[3].a, b, c}"),
        "*4\r\n:1\r\n$1\r\nb\r\n$1\r\nx\r\n:-70000\r\n"
    );
    assert_eq!(e2("return {cmsgpack.unpack_one(cmsgpack.pack(1,2,3))}"), "*2\r\n:1\r\n:1\r\n");
    assert_eq!(e2("return {cmsgpack.unpack_one(cmsgpack.pack(1,2,3), 1)}"), "*2\r\n:2\r\n:2\r\n");
    assert_eq!(e2("return {cmsgpack.unpack_limit(cmsgpack.pack(1,2,3), 2)}"), "*3\r\n:2\r\n:1\r\n:2\r\n");
    assert_eq!(
        e2(&format!("{HEX}local t = {{}} t[1] = t return hex(cmsgpack.pack(t))")),
        bulk("91919191919191919191919191919191c0")
    );
    let err = |script: &str, msg: &str| {
        assert_eq!(e2(script), script_err(&format!("ERR user_script:1: {msg}"), script, 1), "{script}")
    };
    err("return cmsgpack.unpack('\\193')", "Bad data format in input.");
    err("return cmsgpack.unpack('\\205\\1')", "Missing bytes in input.");
    err("return cmsgpack.pack()", "bad argument #0 to 'pack' (MessagePack pack needs input.)");
    // pcall hands the script the message as a string.
    assert_eq!(
        e2("local ok, e = pcall(cjson.decode, '{') return {tostring(ok), e}"),
        "*2\r\n$5\r\nfalse\r\n$57\r\nExpected object key string but found T_END at character 2\r\n"
    );
    assert_eq!(
        e2("local ok, e = pcall(function() return cjson.decode('{') end) return {tostring(ok), e}"),
        "*2\r\n$5\r\nfalse\r\n$72\r\nuser_script:1: Expected object key string but found T_END at character 2\r\n"
    );
}
