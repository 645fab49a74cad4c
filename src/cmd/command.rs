//! The COMMAND family: COMMAND, COUNT, LIST, INFO, DOCS, GETKEYS, GETKEYSANDFLAGS, HELP.
//!
//! Replies are built from the generated metadata ([`CommandSpec`]) the way Redis 7.2's
//! `addReplyCommandInfo` / `addReplyCommandDocs` write them, limited to the commands and
//! subcommands tallkv implements (the registry). Redis lists commands in hash-table order;
//! tallkv lists them sorted by name.

use bytes::Bytes;

use crate::command::error::SYNTAX;
use crate::command::keys;
use crate::command::{
    ArgSpec, BeginSearch, CmdError, CmdResult, Command, CommandImpl, CommandSpec, FindKeys, Handler, KeySpec, Registry,
};
use crate::config::glob::glob_match;
use crate::protocol::{Args, Reply};
use crate::server::Session;

/// The COMMAND handlers.
pub const COMMANDS: &[CommandImpl] = &[
    CommandImpl { name: "command", handler: Handler::Local(command) },
    CommandImpl { name: "command|count", handler: Handler::Local(count) },
    CommandImpl { name: "command|list", handler: Handler::Local(list) },
    CommandImpl { name: "command|info", handler: Handler::Local(info) },
    CommandImpl { name: "command|docs", handler: Handler::Local(docs) },
    CommandImpl { name: "command|getkeys", handler: Handler::Local(getkeys) },
    CommandImpl { name: "command|getkeysandflags", handler: Handler::Local(getkeysandflags) },
    CommandImpl { name: "command|help", handler: Handler::Local(help) },
];

/// `COMMAND`: every implemented command's info entry.
fn command(session: &mut Session, args: Args<'_>) -> CmdResult {
    if args.len() > 1 {
        return Err(CmdError::unknown_subcommand(args.get(1), "command"));
    }
    Ok(all_info(session.registry()))
}

/// `COMMAND COUNT`.
fn count(session: &mut Session, _args: Args<'_>) -> CmdResult {
    Ok(Reply::Int(session.registry().len() as i64))
}

/// `COMMAND LIST [FILTERBY MODULE name|ACLCAT category|PATTERN pattern]`.
fn list(session: &mut Session, args: Args<'_>) -> CmdResult {
    command_list(session.registry(), args)
}

/// `COMMAND INFO [name ...]`.
fn info(session: &mut Session, args: Args<'_>) -> CmdResult {
    Ok(command_info(session.registry(), args))
}

/// `COMMAND DOCS [name ...]`.
fn docs(session: &mut Session, args: Args<'_>) -> CmdResult {
    Ok(command_docs(session.registry(), args))
}

/// `COMMAND GETKEYS command [arg ...]`.
fn getkeys(session: &mut Session, args: Args<'_>) -> CmdResult {
    command_getkeys(session.registry(), args, false)
}

/// `COMMAND GETKEYSANDFLAGS command [arg ...]`.
fn getkeysandflags(session: &mut Session, args: Args<'_>) -> CmdResult {
    command_getkeys(session.registry(), args, true)
}

/// `COMMAND HELP`.
fn help(_session: &mut Session, args: Args<'_>) -> CmdResult {
    Ok(help_reply(args.get(0)))
}

// ---------------------------------------------------------------------------------------
// Subcommand bodies over the registry (testable without a session).

/// COMMAND / COMMAND INFO without names: every implemented command.
pub fn all_info(registry: &Registry) -> Reply {
    Reply::Array(sorted_commands(registry).into_iter().map(command_info_entry).collect())
}

/// COMMAND INFO: `args` is the whole request (`COMMAND INFO name ...`).
pub fn command_info(registry: &Registry, args: Args<'_>) -> Reply {
    if args.len() <= 2 {
        return all_info(registry);
    }
    Reply::Array(
        args.iter_from(2)
            .map(|name| match lookup_by_name(registry, name) {
                Some(cmd) => command_info_entry(cmd),
                None => Reply::Nil,
            })
            .collect(),
    )
}

/// COMMAND DOCS: `args` is the whole request (`COMMAND DOCS name ...`). Unknown names are
/// left out.
pub fn command_docs(registry: &Registry, args: Args<'_>) -> Reply {
    let commands: Vec<&Command> = if args.len() <= 2 {
        sorted_commands(registry)
    } else {
        args.iter_from(2).filter_map(|name| lookup_by_name(registry, name)).collect()
    };
    Reply::Map(
        commands.into_iter().map(|cmd| (Reply::bulk_string(full_name(cmd.spec)), command_docs_map(cmd))).collect(),
    )
}

/// COMMAND LIST: `args` is the whole request.
pub fn command_list(registry: &Registry, args: Args<'_>) -> CmdResult {
    let mut filter = None;
    let mut i = 2;
    while i < args.len() {
        let more = args.len() - 1 - i;
        if args.get(i).eq_ignore_ascii_case(b"filterby") && more == 2 {
            let kind = args.get(i + 1);
            let arg = args.get(i + 2);
            filter = Some(if kind.eq_ignore_ascii_case(b"module") {
                ListFilter::Module
            } else if kind.eq_ignore_ascii_case(b"aclcat") {
                ListFilter::AclCat(arg)
            } else if kind.eq_ignore_ascii_case(b"pattern") {
                ListFilter::Pattern(arg)
            } else {
                return Err(SYNTAX);
            });
            i += 3;
        } else {
            return Err(SYNTAX);
        }
    }
    let mut names = Vec::new();
    for cmd in sorted_commands(registry) {
        if filter.as_ref().is_none_or(|f| f.accepts(cmd.spec)) {
            names.push(Reply::bulk_string(full_name(cmd.spec)));
        }
        for sub in sorted_subcommands(cmd) {
            if filter.as_ref().is_none_or(|f| f.accepts(sub.spec)) {
                names.push(Reply::bulk_string(full_name(sub.spec)));
            }
        }
    }
    Ok(Reply::Array(names))
}

/// A COMMAND LIST filter.
enum ListFilter<'a> {
    /// Commands of a module: tallkv has no modules, so none.
    Module,
    /// Commands in an ACL category, named without `@` (any case).
    AclCat(&'a [u8]),
    /// Commands whose full name matches a glob pattern (any case).
    Pattern(&'a [u8]),
}

impl ListFilter<'_> {
    fn accepts(&self, spec: &CommandSpec) -> bool {
        match self {
            ListFilter::Module => false,
            ListFilter::AclCat(cat) => spec
                .acl_categories
                .iter()
                .any(|c| c.strip_prefix('@').is_some_and(|c| c.as_bytes().eq_ignore_ascii_case(cat))),
            ListFilter::Pattern(pattern) => glob_match(pattern, full_name(spec).as_bytes(), true),
        }
    }
}

/// COMMAND GETKEYS / GETKEYSANDFLAGS: `args` is the whole request
/// (`COMMAND GETKEYS cmd arg ...`).
pub fn command_getkeys(registry: &Registry, args: Args<'_>, with_flags: bool) -> CmdResult {
    let target = lookup_for_getkeys(registry, args);
    let Some(cmd) = target else {
        return Err(CmdError::from_static("ERR Invalid command specified"));
    };
    let spec = cmd.spec;
    if spec.key_specs.is_empty() {
        return Err(CmdError::from_static("ERR The command has no key arguments"));
    }
    let argc = args.len() as i64 - 2;
    let arity = i64::from(spec.arity);
    if (arity > 0 && arity != argc) || argc < -arity {
        return Err(CmdError::from_static("ERR Invalid number of arguments specified for command"));
    }
    let owned = OwnedTail::new(args, 2);
    let keys = get_keys(spec, owned.view());
    if keys.is_empty() {
        return if spec.flags.contains(&"no_mandatory_keys") {
            Ok(Reply::Array(Vec::new()))
        } else {
            Err(CmdError::from_static("ERR Invalid arguments specified for command"))
        };
    }
    Ok(Reply::Array(
        keys.iter()
            .map(|k| {
                let key = Reply::bulk(args.get(k.pos + 2));
                if with_flags { Reply::Array(vec![key, key_flags_reply(k.flags)]) } else { key }
            })
            .collect(),
    ))
}

/// COMMAND HELP's lines; `name` is the command name as the client typed it.
pub fn help_reply(name: &[u8]) -> Reply {
    const LINES: &[&str] = &[
        "(no subcommand)",
        "    Return details about all Redis commands.",
        "COUNT",
        "    Return the total number of commands in this Redis server.",
        "LIST",
        "    Return a list of all commands in this Redis server.",
        "INFO [<command-name> ...]",
        "    Return details about multiple Redis commands.",
        "    If no command names are given, documentation details for all",
        "    commands are returned.",
        "DOCS [<command-name> ...]",
        "    Return documentation details about multiple Redis commands.",
        "    If no command names are given, documentation details for all",
        "    commands are returned.",
        "GETKEYS <full-command>",
        "    Return the keys from a full Redis command.",
        "GETKEYSANDFLAGS <full-command>",
        "    Return the keys and the access flags from a full Redis command.",
        "HELP",
        "    Prints this help.",
    ];
    let mut lines = Vec::with_capacity(LINES.len() + 1);
    let head = format!(
        "{} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        String::from_utf8_lossy(name).to_ascii_uppercase()
    );
    lines.push(Reply::Simple(Bytes::from(head)));
    lines.extend(LINES.iter().map(|l| Reply::simple(l)));
    Reply::Array(lines)
}

// ---------------------------------------------------------------------------------------
// Lookups.

/// Implemented top-level commands, sorted by name.
fn sorted_commands(registry: &Registry) -> Vec<&Command> {
    let mut commands: Vec<&Command> = registry.iter().collect();
    commands.sort_by(|a, b| a.spec.name.cmp(b.spec.name));
    commands
}

/// A container's implemented subcommands, sorted by name.
fn sorted_subcommands(cmd: &Command) -> Vec<&Command> {
    let mut subs: Vec<&Command> = cmd.subcommands.values().collect();
    subs.sort_by(|a, b| a.spec.name.cmp(b.spec.name));
    subs
}

/// A subcommand of `cmd` by name (any case).
fn subcommand<'r>(cmd: &'r Command, name: &[u8]) -> Option<&'r Command> {
    let name = std::str::from_utf8(name).ok()?.to_ascii_lowercase();
    cmd.subcommands.get(&name)
}

/// Redis's `lookupCommandBySds`: `name` or `container|sub` (any case), strictly.
pub fn lookup_by_name<'r>(registry: &'r Registry, name: &[u8]) -> Option<&'r Command> {
    let mut parts = name.split(|&b| b == b'|');
    let top = parts.next()?;
    let sub = parts.next();
    if parts.next().is_some() {
        return None;
    }
    let cmd = registry.get(top)?;
    match sub {
        None => Some(cmd),
        Some(_) if cmd.subcommands.is_empty() => None,
        Some(sub) => subcommand(cmd, sub),
    }
}

/// Redis's `lookupCommand` on the arguments after `COMMAND GETKEYS`: a container with
/// subcommands given more than its name resolves to the named subcommand.
fn lookup_for_getkeys<'r>(registry: &'r Registry, args: Args<'_>) -> Option<&'r Command> {
    let cmd = registry.get(args.try_get(2)?)?;
    if args.len() == 3 || cmd.subcommands.is_empty() {
        return Some(cmd);
    }
    subcommand(cmd, args.get(3))
}

// ---------------------------------------------------------------------------------------
// COMMAND INFO entries.

/// A command's full name: `get`, `object|encoding`.
pub fn full_name(spec: &CommandSpec) -> String {
    match spec.container {
        Some(container) => format!("{container}|{}", spec.name),
        None => spec.name.to_string(),
    }
}

/// The COMMAND INFO entry of an implemented command, with its implemented subcommands.
fn command_info_entry(cmd: &Command) -> Reply {
    let subs: Vec<&CommandSpec> = sorted_subcommands(cmd).into_iter().map(|c| c.spec).collect();
    info_entry(cmd.spec, &subs)
}

/// The COMMAND INFO entry of `spec` (Redis 7's ten fields), listing `subcommands`.
pub fn info_entry(spec: &CommandSpec, subcommands: &[&CommandSpec]) -> Reply {
    let (first, last, step) = legacy_range(spec);
    let subs = if subcommands.is_empty() {
        Reply::Set(Vec::new())
    } else {
        Reply::Array(subcommands.iter().map(|s| info_entry(s, &[])).collect())
    };
    Reply::Array(vec![
        Reply::bulk_string(full_name(spec)),
        Reply::Int(i64::from(spec.arity)),
        Reply::Set(spec.flags.iter().filter(|f| !HIDDEN_FLAGS.contains(f)).map(|f| Reply::simple(f)).collect()),
        Reply::Int(first),
        Reply::Int(last),
        Reply::Int(step),
        Reply::Set(spec.acl_categories.iter().map(|c| Reply::simple(c)).collect()),
        Reply::Set(spec.tips.iter().map(|t| Reply::bulk_static(t)).collect()),
        Reply::Set(spec.key_specs.iter().map(key_spec_map).collect()),
        subs,
    ])
}

/// Command flags Redis keeps but COMMAND INFO does not show ("hidden on purpose").
const HIDDEN_FLAGS: &[&str] = &[
    "may_replicate",
    "sentinel",
    "only_sentinel",
    "protected",
    "module_getkeys",
    "module_no_cluster",
    "module_getchannels",
    "touches_arbitrary_keys",
];

/// The legacy `(first key, last key, step)` of COMMAND INFO, as Redis's
/// `populateCommandLegacyRangeSpec` glues it from the key specs: one index+range spec is
/// taken as is; otherwise consecutive index+range specs of step 1 are joined, and the
/// rest ignored. `(0, 0, 0)` when nothing fits.
pub fn legacy_range(spec: &CommandSpec) -> (i64, i64, i64) {
    let specs = spec.key_specs;
    if let [only] = specs
        && let (BeginSearch::Index(pos), FindKeys::Range { last_key, step, .. }) = (only.begin_search, only.find_keys)
    {
        let last = if last_key >= 0 { last_key + pos } else { last_key };
        return (i64::from(pos), i64::from(last), i64::from(step));
    }
    let mut first = i32::MAX;
    let mut last: i32 = 0;
    let mut prev_last: i32 = 0;
    for ks in specs {
        let (BeginSearch::Index(pos), FindKeys::Range { last_key, step, .. }) = (ks.begin_search, ks.find_keys) else {
            continue;
        };
        if step != 1 || (prev_last != 0 && prev_last != pos - 1) {
            continue;
        }
        first = first.min(pos);
        let abs_last = if last_key >= 0 { last_key + pos } else { last_key };
        // Redis compares these as unsigned, so a "from the end" index wins.
        last = (last as u32).max(abs_last as u32) as i32;
        prev_last = last;
    }
    if first == i32::MAX {
        return (0, 0, 0);
    }
    (i64::from(first), i64::from(last), 1)
}

/// A key spec as COMMAND INFO shows it.
pub fn key_spec_map(ks: &KeySpec) -> Reply {
    let mut map = Vec::with_capacity(4);
    if !ks.notes.is_empty() {
        map.push((Reply::bulk_static("notes"), Reply::bulk_static(ks.notes)));
    }
    map.push((Reply::bulk_static("flags"), key_flags_reply(ks.flags)));
    let (kind, spec) = match ks.begin_search {
        BeginSearch::Index(pos) => ("index", vec![(Reply::bulk_static("index"), Reply::Int(i64::from(pos)))]),
        BeginSearch::Keyword { keyword, start_from } => (
            "keyword",
            vec![
                (Reply::bulk_static("keyword"), Reply::bulk_static(keyword)),
                (Reply::bulk_static("startfrom"), Reply::Int(i64::from(start_from))),
            ],
        ),
        BeginSearch::Unknown => ("unknown", Vec::new()),
    };
    map.push((Reply::bulk_static("begin_search"), typed_spec(kind, spec)));
    let (kind, spec) = match ks.find_keys {
        FindKeys::Range { last_key, step, limit } => (
            "range",
            vec![
                (Reply::bulk_static("lastkey"), Reply::Int(i64::from(last_key))),
                (Reply::bulk_static("keystep"), Reply::Int(i64::from(step))),
                (Reply::bulk_static("limit"), Reply::Int(i64::from(limit))),
            ],
        ),
        FindKeys::KeyNum { key_num_idx, first_key, step } => (
            "keynum",
            vec![
                (Reply::bulk_static("keynumidx"), Reply::Int(i64::from(key_num_idx))),
                (Reply::bulk_static("firstkey"), Reply::Int(i64::from(first_key))),
                (Reply::bulk_static("keystep"), Reply::Int(i64::from(step))),
            ],
        ),
        FindKeys::Unknown => ("unknown", Vec::new()),
    };
    map.push((Reply::bulk_static("find_keys"), typed_spec(kind, spec)));
    Reply::Map(map)
}

fn typed_spec(kind: &'static str, spec: Vec<(Reply, Reply)>) -> Reply {
    Reply::Map(vec![
        (Reply::bulk_static("type"), Reply::bulk_static(kind)),
        (Reply::bulk_static("spec"), Reply::Map(spec)),
    ])
}

/// Key spec flags in Redis's order and spelling: `RO`, `RW`, `OW`, `RM` upper case, the
/// others lower case.
const KEY_FLAGS: &[(&str, &str)] = &[
    ("RO", "RO"),
    ("RW", "RW"),
    ("OW", "OW"),
    ("RM", "RM"),
    ("ACCESS", "access"),
    ("UPDATE", "update"),
    ("INSERT", "insert"),
    ("DELETE", "delete"),
    ("NOT_KEY", "not_key"),
    ("INCOMPLETE", "incomplete"),
    ("VARIABLE_FLAGS", "variable_flags"),
];

/// A set of key flags (given upper case, in any order) as Redis writes them.
fn key_flags_reply(flags: &[&str]) -> Reply {
    Reply::Set(
        KEY_FLAGS
            .iter()
            .filter(|(upper, _)| flags.iter().any(|f| f.eq_ignore_ascii_case(upper)))
            .map(|(_, shown)| Reply::simple(shown))
            .collect(),
    )
}

// ---------------------------------------------------------------------------------------
// COMMAND DOCS maps.

/// The COMMAND DOCS map of an implemented command, with its implemented subcommands.
fn command_docs_map(cmd: &Command) -> Reply {
    let subs: Vec<&CommandSpec> = sorted_subcommands(cmd).into_iter().map(|c| c.spec).collect();
    docs_map(cmd.spec, &subs)
}

/// The COMMAND DOCS map of `spec`: the fields Redis writes, those without a value left out.
pub fn docs_map(spec: &CommandSpec, subcommands: &[&CommandSpec]) -> Reply {
    let mut map = Vec::with_capacity(10);
    let mut text = |key: &'static str, value: &'static str| {
        if !value.is_empty() {
            map.push((Reply::bulk_static(key), Reply::bulk_static(value)));
        }
    };
    text("summary", spec.summary);
    text("since", spec.since);
    map.push((Reply::bulk_static("group"), Reply::bulk_static(spec.group)));
    if !spec.complexity.is_empty() {
        map.push((Reply::bulk_static("complexity"), Reply::bulk_static(spec.complexity)));
    }
    if !spec.doc_flags.is_empty() {
        let flags = ["deprecated", "syscmd"].into_iter().filter(|f| spec.doc_flags.contains(f));
        map.push((Reply::bulk_static("doc_flags"), Reply::Set(flags.map(Reply::simple).collect())));
    }
    if !spec.deprecated_since.is_empty() {
        map.push((Reply::bulk_static("deprecated_since"), Reply::bulk_static(spec.deprecated_since)));
    }
    if !spec.replaced_by.is_empty() {
        map.push((Reply::bulk_static("replaced_by"), Reply::bulk_static(spec.replaced_by)));
    }
    if !spec.history.is_empty() {
        let history = spec
            .history
            .iter()
            .map(|(version, change)| Reply::Array(vec![Reply::bulk_static(version), Reply::bulk_static(change)]));
        map.push((Reply::bulk_static("history"), Reply::Set(history.collect())));
    }
    if !spec.arguments.is_empty() {
        map.push((Reply::bulk_static("arguments"), args_reply(spec.arguments)));
    }
    if !subcommands.is_empty() {
        let subs = subcommands.iter().map(|s| (Reply::bulk_string(full_name(s)), docs_map(s, &[])));
        map.push((Reply::bulk_static("subcommands"), Reply::Map(subs.collect())));
    }
    Reply::Map(map)
}

/// A list of documented arguments, as COMMAND DOCS shows it.
pub fn args_reply(args: &[ArgSpec]) -> Reply {
    Reply::Array(args.iter().map(arg_map).collect())
}

fn arg_map(arg: &ArgSpec) -> Reply {
    let container = arg.kind == "oneof" || arg.kind == "block";
    let mut map = Vec::with_capacity(8);
    map.push((Reply::bulk_static("name"), Reply::bulk_static(arg.name)));
    map.push((Reply::bulk_static("type"), Reply::bulk_static(arg.kind)));
    if !container {
        let display = if arg.display.is_empty() { arg.name } else { arg.display };
        map.push((Reply::bulk_static("display_text"), Reply::bulk_static(display)));
    }
    if arg.key_spec_index != -1 {
        map.push((Reply::bulk_static("key_spec_index"), Reply::Int(i64::from(arg.key_spec_index))));
    }
    for (key, value) in [
        ("token", arg.token),
        ("summary", arg.summary),
        ("since", arg.since),
        ("deprecated_since", arg.deprecated_since),
    ] {
        if !value.is_empty() {
            map.push((Reply::bulk_static(key), Reply::bulk_static(value)));
        }
    }
    if !arg.flags.is_empty() {
        let flags = ["optional", "multiple", "multiple_token"].into_iter().filter(|f| arg.flags.contains(f));
        map.push((Reply::bulk_static("flags"), Reply::Set(flags.map(Reply::simple).collect())));
    }
    if container {
        map.push((Reply::bulk_static("arguments"), args_reply(arg.arguments)));
    }
    Reply::Map(map)
}

// ---------------------------------------------------------------------------------------
// GETKEYS.

/// One key GETKEYS reports: its argument index and its flags (upper case names).
#[derive(Debug, Clone, PartialEq)]
pub struct KeyRef {
    /// Index of the key among the command's arguments (0 is the command name).
    pub pos: usize,
    /// The key's flags, as the key spec (or Redis's getkeys function) gives them.
    pub flags: &'static [&'static str],
}

/// The keys of `args` (command name first) for `spec`, as Redis's
/// `getKeysFromCommandWithSpecs` finds them: from the key specs when they are reliable
/// (positions from [`keys::find`]), otherwise from the command's own key function.
/// Empty when Redis finds no keys.
pub fn get_keys(spec: &'static CommandSpec, args: Args<'_>) -> Vec<KeyRef> {
    let has_key_spec = spec.key_specs.iter().any(|ks| !has_flag(ks.flags, "NOT_KEY"));
    let has_variable_flags = spec.key_specs.iter().any(|ks| has_flag(ks.flags, "VARIABLE_FLAGS"));
    if has_key_spec
        && !has_variable_flags
        && let Some(keys) = keys_from_specs(spec, args)
    {
        return keys;
    }
    keys_from_function(spec, args)
}

fn has_flag(flags: &[&str], flag: &str) -> bool {
    flags.iter().any(|f| f.eq_ignore_ascii_case(flag))
}

/// Redis's `getKeysUsingKeySpecs`: `None` when a spec cannot be followed (an unknown or
/// incomplete spec, a bad key count, a range past the arguments), as Redis then falls back
/// to the command's key function.
fn keys_from_specs(spec: &'static CommandSpec, args: Args<'_>) -> Option<Vec<KeyRef>> {
    let argc = args.len() as i64;
    let mut out = Vec::new();
    for ks in spec.key_specs {
        if has_flag(ks.flags, "NOT_KEY") {
            continue;
        }
        let first = match ks.begin_search {
            BeginSearch::Index(pos) => i64::from(pos),
            BeginSearch::Keyword { keyword, start_from } => {
                match keyword_position(args, keyword, start_from) {
                    Some(i) => i + 1,
                    None => continue, // keyword absent: no keys from this spec
                }
            }
            BeginSearch::Unknown => return None,
        };
        let (first, last) = match ks.find_keys {
            FindKeys::Range { last_key, limit, .. } => {
                let last = if last_key >= 0 {
                    first + i64::from(last_key)
                } else if limit == 0 {
                    argc + i64::from(last_key)
                } else {
                    first + ((argc - first) / i64::from(limit) + i64::from(last_key))
                };
                (first, last)
            }
            FindKeys::KeyNum { key_num_idx, first_key, .. } => {
                if i64::from(key_num_idx) >= argc {
                    return None;
                }
                let count = args
                    .try_get((first + i64::from(key_num_idx)) as usize)
                    .and_then(crate::util::num::parse_canonical_i64)
                    .filter(|&n| n >= 0)?;
                let first = first + i64::from(first_key);
                (first, first.saturating_add(count) - 1)
            }
            FindKeys::Unknown => return None,
        };
        if last >= argc || last < first || first >= argc {
            return None;
        }
        let one = CommandSpec { key_specs: std::slice::from_ref(ks), ..*spec };
        out.extend(keys::find(&one, args).positions.into_iter().map(|pos| KeyRef { pos, flags: ks.flags }));
        if has_flag(ks.flags, "INCOMPLETE") {
            return None;
        }
    }
    Some(out)
}

/// Where a key spec's keyword is, searched as Redis does: forward from `start_from`
/// (not looking at the last argument), or backward from `argc + start_from`.
fn keyword_position(args: Args<'_>, keyword: &str, start_from: i32) -> Option<i64> {
    let argc = args.len() as i64;
    let (start, end) =
        if start_from > 0 { (i64::from(start_from), argc - 1) } else { (argc + i64::from(start_from), 0) };
    let mut i = start;
    while i != end {
        if i >= argc || i < 1 {
            break;
        }
        if args.get(i as usize).eq_ignore_ascii_case(keyword.as_bytes()) {
            return Some(i);
        }
        i += if start <= end { 1 } else { -1 };
    }
    None
}

const RO_ACCESS: &[&str] = &["RO", "ACCESS"];
const OW_UPDATE: &[&str] = &["OW", "UPDATE"];
const RW_ACCESS_UPDATE: &[&str] = &["RW", "ACCESS", "UPDATE"];
const RW_ACCESS_DELETE: &[&str] = &["RW", "ACCESS", "DELETE"];

/// The keys Redis's per-command key functions (`setGetKeys`, `sortGetKeys`, ...) find,
/// for commands whose key specs are not enough. Commands without one find no keys.
fn keys_from_function(spec: &CommandSpec, args: Args<'_>) -> Vec<KeyRef> {
    let argc = args.len();
    let arg = |i: usize| args.get(i);
    let key = |pos: usize, flags: &'static [&'static str]| KeyRef { pos, flags };
    if spec.container.is_some() {
        return Vec::new();
    }
    match spec.name {
        "set" => {
            let get = (3..argc).any(|i| arg(i).eq_ignore_ascii_case(b"get"));
            vec![key(1, if get { RW_ACCESS_UPDATE } else { OW_UPDATE })]
        }
        "bitfield" => {
            let mut readonly = true;
            let mut i = 2;
            while i < argc {
                let remaining = argc - i - 1;
                let a = arg(i);
                if a.eq_ignore_ascii_case(b"get") && remaining >= 2 {
                    i += 2;
                } else if (a.eq_ignore_ascii_case(b"set") || a.eq_ignore_ascii_case(b"incrby")) && remaining >= 3 {
                    readonly = false;
                    break;
                } else if a.eq_ignore_ascii_case(b"overflow") && remaining >= 1 {
                    i += 1;
                } else {
                    readonly = false;
                    break;
                }
                i += 1;
            }
            vec![key(1, if readonly { RO_ACCESS } else { RW_ACCESS_UPDATE })]
        }
        "sort" => {
            let mut keys = vec![key(1, RO_ACCESS)];
            let mut store = None;
            let mut i = 2;
            while i < argc {
                let a = arg(i);
                if a.eq_ignore_ascii_case(b"limit") {
                    i += 2;
                } else if a.eq_ignore_ascii_case(b"get") || a.eq_ignore_ascii_case(b"by") {
                    i += 1;
                } else if a.eq_ignore_ascii_case(b"store") && i + 1 < argc {
                    // The last STORE wins, as in SORT itself.
                    store = Some(i + 1);
                }
                i += 1;
            }
            keys.extend(store.map(|pos| key(pos, OW_UPDATE)));
            keys
        }
        "sort_ro" => vec![key(1, RO_ACCESS)],
        "migrate" => {
            let (mut first, mut num) = (3, 1);
            let mut i = 6;
            while i < argc {
                let a = arg(i);
                if a.eq_ignore_ascii_case(b"keys") {
                    if !arg(3).is_empty() {
                        return Vec::new();
                    }
                    first = i + 1;
                    num = argc - first;
                    break;
                } else if a.eq_ignore_ascii_case(b"auth") {
                    i += 1;
                } else if a.eq_ignore_ascii_case(b"auth2") {
                    i += 2;
                }
                i += 1;
            }
            (first..first + num).map(|pos| key(pos, RW_ACCESS_DELETE)).collect()
        }
        "eval" | "evalsha" | "eval_ro" | "evalsha_ro" | "fcall" | "fcall_ro" | "blmpop" | "bzmpop" => {
            generic_keys(args, 0, 2, 3)
        }
        "zunion" | "zinter" | "zdiff" | "zintercard" | "sintercard" | "lmpop" | "zmpop" => generic_keys(args, 0, 1, 2),
        "zunionstore" | "zinterstore" | "zdiffstore" => generic_keys(args, 1, 2, 3),
        // GEORADIUS*, XREAD* and the rest: the key specs always answer first.
        _ => Vec::new(),
    }
}

/// Redis's `genericGetKeys` (step 1): a count read with `atoi` at `count_at`, that many
/// keys from `first_at`, then the key at `store_at` if not 0. The flags are empty.
fn generic_keys(args: Args<'_>, store_at: usize, count_at: usize, first_at: usize) -> Vec<KeyRef> {
    let argc = args.len() as i64;
    let num = i64::from(atoi(args.try_get(count_at).unwrap_or(b"")));
    if num < 1 || num > argc - first_at as i64 {
        return Vec::new();
    }
    let mut keys: Vec<KeyRef> = (0..num as usize).map(|i| KeyRef { pos: first_at + i, flags: &[] }).collect();
    if store_at != 0 {
        keys.push(KeyRef { pos: store_at, flags: &[] });
    }
    keys
}

/// C's `atoi` as glibc has it: `(int) strtol(s, NULL, 10)`.
fn atoi(s: &[u8]) -> i32 {
    let mut i = 0;
    while i < s.len() && matches!(s[i], b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r') {
        i += 1;
    }
    let negative = match s.get(i) {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let mut value: i64 = 0;
    while let Some(d) = s.get(i).filter(|c| c.is_ascii_digit()) {
        value = value.saturating_mul(10).saturating_add(i64::from(d - b'0'));
        i += 1;
    }
    let value = if negative { value.saturating_neg() } else { value };
    value as i32
}

/// The arguments from `start` on, as their own argument list (GETKEYS's target command).
struct OwnedTail(crate::protocol::OwnedArgs);

impl OwnedTail {
    fn new(args: Args<'_>, start: usize) -> OwnedTail {
        OwnedTail(crate::protocol::OwnedArgs::from_slices(args.iter_from(start)))
    }

    fn view(&self) -> Args<'_> {
        self.0.view()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::generated::COMMANDS as SPECS;
    use crate::protocol::OwnedArgs;

    fn spec(name: &str) -> &'static CommandSpec {
        let (top, sub) = match name.split_once('|') {
            Some((t, s)) => (t, Some(s)),
            None => (name, None),
        };
        let top = SPECS.iter().find(|c| c.name == top).unwrap_or_else(|| panic!("no spec for {name}"));
        match sub {
            None => top,
            Some(sub) => top.subcommands.iter().find(|c| c.name == sub).unwrap_or_else(|| panic!("no spec for {name}")),
        }
    }

    fn owned(args: &[&str]) -> OwnedArgs {
        OwnedArgs::from_slices(args.iter().map(|a| a.as_bytes()))
    }

    fn bulk(s: &str) -> Reply {
        Reply::bulk(s.as_bytes())
    }

    fn simple(s: &str) -> Reply {
        Reply::Simple(Bytes::copy_from_slice(s.as_bytes()))
    }

    fn simples(items: &[&str]) -> Reply {
        Reply::Set(items.iter().map(|s| simple(s)).collect())
    }

    fn range_spec(flags: &[&str], index: i64, last: i64, step: i64, limit: i64) -> Reply {
        Reply::Map(vec![
            (bulk("flags"), simples(flags)),
            (
                bulk("begin_search"),
                Reply::Map(vec![
                    (bulk("type"), bulk("index")),
                    (bulk("spec"), Reply::Map(vec![(bulk("index"), Reply::Int(index))])),
                ]),
            ),
            (
                bulk("find_keys"),
                Reply::Map(vec![
                    (bulk("type"), bulk("range")),
                    (
                        bulk("spec"),
                        Reply::Map(vec![
                            (bulk("lastkey"), Reply::Int(last)),
                            (bulk("keystep"), Reply::Int(step)),
                            (bulk("limit"), Reply::Int(limit)),
                        ]),
                    ),
                ]),
            ),
        ])
    }

    fn map_get<'a>(map: &'a Reply, key: &str) -> Option<&'a Reply> {
        match map {
            Reply::Map(pairs) => pairs.iter().find(|(k, _)| *k == bulk(key)).map(|(_, v)| v),
            _ => panic!("not a map: {map:?}"),
        }
    }

    fn map_keys(map: &Reply) -> Vec<String> {
        match map {
            Reply::Map(pairs) => pairs
                .iter()
                .map(|(k, _)| match k {
                    Reply::Bulk(b) => String::from_utf8_lossy(b).into_owned(),
                    other => panic!("key {other:?}"),
                })
                .collect(),
            _ => panic!("not a map: {map:?}"),
        }
    }

    /// A registry of the COMMAND family and a few others (the handler kind does not matter).
    fn registry(names: &[&'static str]) -> Registry {
        fn dummy(_: &mut Session, _: Args<'_>) -> CmdResult {
            Ok(Reply::Ok)
        }
        let extra: Vec<&'static CommandImpl> = names
            .iter()
            .map(|&name| &*Box::leak(Box::new(CommandImpl { name, handler: Handler::Local(dummy) })))
            .collect();
        let impls: Vec<&'static CommandImpl> = COMMANDS.iter().chain(extra).collect();
        Registry::from_parts(SPECS, &impls)
    }

    fn request(args: &[&str]) -> OwnedArgs {
        owned(args)
    }

    #[test]
    fn get_info_entry_matches_redis() {
        let expected = Reply::Array(vec![
            bulk("get"),
            Reply::Int(2),
            simples(&["readonly", "fast"]),
            Reply::Int(1),
            Reply::Int(1),
            Reply::Int(1),
            simples(&["@read", "@string", "@fast"]),
            Reply::Set(vec![]),
            Reply::Set(vec![range_spec(&["RO", "access"], 1, 0, 1, 0)]),
            Reply::Set(vec![]),
        ]);
        assert_eq!(info_entry(spec("get"), &[]), expected);
    }

    #[test]
    fn get_info_bytes_match_redis_in_resp2_and_resp3() {
        // `COMMAND INFO get` as a real redis-server 7 writes it.
        let resp2: &[u8] = b"*1\r\n*10\r\n$3\r\nget\r\n:2\r\n*2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n*3\r\n\
            +@read\r\n+@string\r\n+@fast\r\n*0\r\n*1\r\n*6\r\n$5\r\nflags\r\n*2\r\n+RO\r\n+access\r\n\
            $12\r\nbegin_search\r\n*4\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n*2\r\n$5\r\nindex\r\n:1\r\n\
            $9\r\nfind_keys\r\n*4\r\n$4\r\ntype\r\n$5\r\nrange\r\n$4\r\nspec\r\n*6\r\n$7\r\nlastkey\r\n:0\r\n\
            $7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n:0\r\n*0\r\n";
        let resp3: &[u8] = b"*1\r\n*10\r\n$3\r\nget\r\n:2\r\n~2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n~3\r\n\
            +@read\r\n+@string\r\n+@fast\r\n~0\r\n~1\r\n%3\r\n$5\r\nflags\r\n~2\r\n+RO\r\n+access\r\n\
            $12\r\nbegin_search\r\n%2\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n%1\r\n$5\r\nindex\r\n:1\r\n\
            $9\r\nfind_keys\r\n%2\r\n$4\r\ntype\r\n$5\r\nrange\r\n$4\r\nspec\r\n%3\r\n$7\r\nlastkey\r\n:0\r\n\
            $7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n:0\r\n~0\r\n";
        let reply = Reply::Array(vec![info_entry(spec("get"), &[])]);
        for (resp3_on, expected) in [(false, resp2), (true, resp3)] {
            let mut out = Vec::new();
            crate::protocol::encode(&reply, resp3_on, &mut out);
            assert_eq!(String::from_utf8_lossy(&out), String::from_utf8_lossy(expected));
        }
    }

    #[test]
    fn mset_info_entry_matches_redis() {
        let entry = info_entry(spec("mset"), &[]);
        let Reply::Array(fields) = entry else { panic!() };
        assert_eq!(fields[1], Reply::Int(-3));
        assert_eq!(fields[2], simples(&["write", "denyoom"]));
        assert_eq!(&fields[3..6], &[Reply::Int(1), Reply::Int(-1), Reply::Int(2)]);
        assert_eq!(fields[6], simples(&["@write", "@string", "@slow"]));
        assert_eq!(
            fields[7],
            Reply::Set(vec![bulk("request_policy:multi_shard"), bulk("response_policy:all_succeeded")])
        );
        assert_eq!(fields[8], Reply::Set(vec![range_spec(&["OW", "update"], 1, -1, 2, 0)]));
    }

    #[test]
    fn set_info_has_notes_first_and_no_movablekeys() {
        let Reply::Array(fields) = info_entry(spec("set"), &[]) else { panic!() };
        assert_eq!(fields[2], simples(&["write", "denyoom"]));
        let Reply::Set(specs) = &fields[8] else { panic!() };
        assert_eq!(map_keys(&specs[0]), ["notes", "flags", "begin_search", "find_keys"]);
        assert_eq!(map_get(&specs[0], "flags"), Some(&simples(&["RW", "access", "update", "variable_flags"])));
    }

    #[test]
    fn movablekeys_and_legacy_ranges() {
        let flags = |name: &str| spec(name).flags.to_vec();
        assert!(flags("sort").contains(&"movablekeys"));
        assert!(flags("zunionstore").contains(&"movablekeys"));
        assert!(flags("eval").contains(&"movablekeys"));
        assert!(flags("migrate").contains(&"movablekeys"));
        assert!(!flags("set").contains(&"movablekeys"));
        assert!(!flags("mset").contains(&"movablekeys"));
        assert!(!flags("rename").contains(&"movablekeys"));
        assert_eq!(legacy_range(spec("sort")), (1, 1, 1));
        assert_eq!(legacy_range(spec("zunionstore")), (1, 1, 1));
        assert_eq!(legacy_range(spec("rename")), (1, 2, 1));
        assert_eq!(legacy_range(spec("smove")), (1, 2, 1));
        assert_eq!(legacy_range(spec("del")), (1, -1, 1));
        assert_eq!(legacy_range(spec("blpop")), (1, -2, 1));
        assert_eq!(legacy_range(spec("eval")), (0, 0, 0));
        assert_eq!(legacy_range(spec("ping")), (0, 0, 0));
        assert_eq!(legacy_range(spec("object|encoding")), (2, 2, 1));
    }

    #[test]
    fn hidden_flags_are_not_shown() {
        let Reply::Array(fields) = info_entry(spec("client|kill"), &[]) else { panic!() };
        assert_eq!(fields[0], bulk("client|kill"));
        assert_eq!(fields[2], simples(&["admin", "noscript", "loading", "stale"]));
        assert_eq!(fields[6], simples(&["@admin", "@slow", "@dangerous", "@connection"]));
    }

    #[test]
    fn container_info_lists_given_subcommands() {
        let object = spec("object");
        let encoding = spec("object|encoding");
        let Reply::Array(fields) = info_entry(object, &[encoding]) else { panic!() };
        assert_eq!(fields[0], bulk("object"));
        assert_eq!(fields[2], Reply::Set(vec![]));
        assert_eq!(fields[6], simples(&["@slow"]));
        assert_eq!(fields[9], Reply::Array(vec![info_entry(encoding, &[])]));
        let Reply::Array(fields) = info_entry(object, &[]) else { panic!() };
        assert_eq!(fields[9], Reply::Set(vec![]));
    }

    #[test]
    fn set_docs_match_redis() {
        let docs = docs_map(spec("set"), &[]);
        assert_eq!(map_keys(&docs), ["summary", "since", "group", "complexity", "history", "arguments"]);
        assert_eq!(map_get(&docs, "group"), Some(&bulk("string")));
        let Some(Reply::Set(history)) = map_get(&docs, "history") else { panic!() };
        assert_eq!(history.len(), 4);
        assert_eq!(
            history[0],
            Reply::Array(vec![bulk("2.6.12"), bulk("Added the `EX`, `PX`, `NX` and `XX` options.")])
        );
        let Some(Reply::Array(args)) = map_get(&docs, "arguments") else { panic!() };
        assert_eq!(args.len(), 5);
        assert_eq!(
            args[0],
            Reply::Map(vec![
                (bulk("name"), bulk("key")),
                (bulk("type"), bulk("key")),
                (bulk("display_text"), bulk("key")),
                (bulk("key_spec_index"), Reply::Int(0)),
            ])
        );
        assert_eq!(
            args[3],
            Reply::Map(vec![
                (bulk("name"), bulk("get")),
                (bulk("type"), bulk("pure-token")),
                (bulk("display_text"), bulk("get")),
                (bulk("token"), bulk("GET")),
                (bulk("since"), bulk("6.2.0")),
                (bulk("flags"), simples(&["optional"])),
            ])
        );
        // A oneof: no display_text, nested arguments last.
        assert_eq!(map_keys(&args[2]), ["name", "type", "since", "flags", "arguments"]);
        let Some(Reply::Array(nested)) = map_get(&args[4], "arguments") else { panic!() };
        assert_eq!(
            nested[0],
            Reply::Map(vec![
                (bulk("name"), bulk("seconds")),
                (bulk("type"), bulk("integer")),
                (bulk("display_text"), bulk("seconds")),
                (bulk("token"), bulk("EX")),
                (bulk("since"), bulk("2.6.12")),
            ])
        );
    }

    #[test]
    fn deprecated_docs_and_subcommand_docs() {
        let docs = docs_map(spec("getset"), &[]);
        assert_eq!(
            map_keys(&docs),
            ["summary", "since", "group", "complexity", "doc_flags", "deprecated_since", "replaced_by", "arguments"]
        );
        assert_eq!(map_get(&docs, "doc_flags"), Some(&simples(&["deprecated"])));
        let object = docs_map(spec("object"), &[spec("object|freq")]);
        let Some(Reply::Map(subs)) = map_get(&object, "subcommands") else { panic!() };
        assert_eq!(subs[0].0, bulk("object|freq"));
        // A command without arguments or history has neither field.
        assert_eq!(map_keys(&docs_map(spec("command|count"), &[])), ["summary", "since", "group", "complexity"]);
    }

    fn keys_of(args: &[&str]) -> Vec<(String, Vec<&'static str>)> {
        let a = owned(args);
        let s = SPECS.iter().find(|c| c.name == args[0]).unwrap();
        get_keys(s, a.view()).into_iter().map(|k| (args[k.pos].to_string(), k.flags.to_vec())).collect()
    }

    fn names(keys: Vec<(String, Vec<&'static str>)>) -> Vec<String> {
        keys.into_iter().map(|(k, _)| k).collect()
    }

    #[test]
    fn getkeys_follows_redis() {
        assert_eq!(names(keys_of(&["mset", "a", "1", "b", "2"])), ["a", "b"]);
        assert_eq!(names(keys_of(&["bitop", "and", "d", "a", "b"])), ["d", "a", "b"]);
        assert_eq!(keys_of(&["bitop", "and", "d", "a"])[0].1, ["OW", "UPDATE"]);
        assert_eq!(names(keys_of(&["sort", "l"])), ["l"]);
        assert_eq!(names(keys_of(&["sort", "l", "store", "d", "by", "x", "get", "y", "limit", "0", "1"])), ["l", "d"]);
        assert_eq!(names(keys_of(&["sort", "l", "by", "store"])), ["l"]);
        assert_eq!(keys_of(&["set", "k", "v"]), [("k".to_string(), vec!["OW", "UPDATE"])]);
        assert_eq!(keys_of(&["set", "k", "v", "GET"]), [("k".to_string(), vec!["RW", "ACCESS", "UPDATE"])]);
        assert_eq!(keys_of(&["bitfield", "k", "get", "u8", "0"])[0].1, ["RO", "ACCESS"]);
        assert_eq!(keys_of(&["bitfield", "k", "set", "u8", "0", "1"])[0].1, ["RW", "ACCESS", "UPDATE"]);
        assert_eq!(names(keys_of(&["zunionstore", "d", "2", "a", "b"])), ["d", "a", "b"]);
        assert!(keys_of(&["zunionstore", "d", "5", "a", "b"]).is_empty());
        assert!(keys_of(&["zunionstore", "d", "0", "a"]).is_empty());
        // Redis falls back to atoi() when the count is not canonical; the store key goes last.
        assert_eq!(names(keys_of(&["zunionstore", "d", "1x", "a"])), ["a", "d"]);
        assert!(keys_of(&["eval", "s", "0"]).is_empty());
        assert_eq!(names(keys_of(&["eval", "s", "2", "a", "b", "c"])), ["a", "b"]);
        assert_eq!(names(keys_of(&["xread", "streams", "a", "b", "0", "0"])), ["a", "b"]);
        assert!(keys_of(&["xread", "count", "1", "streams", "a"]).is_empty());
        assert_eq!(names(keys_of(&["georadius", "k", "1", "2", "3", "m", "store", "d"])), ["k", "d"]);
        assert_eq!(names(keys_of(&["georadius", "k", "1", "2", "3", "m", "store"])), ["k"]);
        assert_eq!(names(keys_of(&["migrate", "h", "p", "k", "0", "0"])), ["k"]);
        assert_eq!(names(keys_of(&["migrate", "h", "p", "", "0", "0", "keys", "a", "b"])), ["a", "b"]);
        assert_eq!(keys_of(&["del", "a"])[0].1, ["RM", "DELETE"]);
    }

    #[test]
    fn getkeys_replies_and_errors() {
        let reg = registry(&["get", "mset", "ping", "eval", "object|encoding", "client|kill"]);
        let run = |args: &[&str], flags: bool| {
            let r = request(args);
            command_getkeys(&reg, r.view(), flags)
        };
        assert_eq!(
            run(&["command", "getkeys", "mset", "a", "1", "b", "2"], false),
            Ok(Reply::Array(vec![bulk("a"), bulk("b")]))
        );
        assert_eq!(
            run(&["command", "getkeysandflags", "GET", "k"], true),
            Ok(Reply::Array(vec![Reply::Array(vec![bulk("k"), simples(&["RO", "access"])])]))
        );
        assert_eq!(run(&["command", "getkeys", "Object", "Encoding", "k"], false), Ok(Reply::Array(vec![bulk("k")])));
        let err = |text: &'static str| Err(CmdError::from_static(text));
        assert_eq!(run(&["command", "getkeys", "nosuch", "a"], false), err("ERR Invalid command specified"));
        assert_eq!(run(&["command", "getkeys", "set", "a", "b"], false), err("ERR Invalid command specified"));
        assert_eq!(run(&["command", "getkeys", "object", "nosuch", "k"], false), err("ERR Invalid command specified"));
        assert_eq!(run(&["command", "getkeys", "ping", "x"], false), err("ERR The command has no key arguments"));
        assert_eq!(
            run(&["command", "getkeys", "client", "kill", "x"], false),
            err("ERR The command has no key arguments")
        );
        assert_eq!(
            run(&["command", "getkeys", "get", "a", "b"], false),
            err("ERR Invalid number of arguments specified for command")
        );
        assert_eq!(
            run(&["command", "getkeys", "object", "encoding"], false),
            err("ERR Invalid number of arguments specified for command")
        );
        assert_eq!(run(&["command", "getkeys", "eval", "s", "0"], false), Ok(Reply::Array(vec![])));
        assert_eq!(
            run(&["command", "getkeys", "mset", "a"], false),
            err("ERR Invalid number of arguments specified for command")
        );
    }

    #[test]
    fn info_docs_list_count_over_the_registry() {
        let reg = registry(&["get", "set", "object|encoding", "object|freq"]);
        let r = request(&[
            "command",
            "info",
            "GET",
            "Object|Encoding",
            "object|nosuch",
            "get|",
            "|",
            "object|encoding|x",
            "",
        ]);
        let Reply::Array(entries) = command_info(&reg, r.view()) else { panic!() };
        assert_eq!(entries.len(), 7);
        assert_eq!(entries[0], info_entry(spec("get"), &[]));
        assert_eq!(entries[1], info_entry(spec("object|encoding"), &[]));
        assert!(entries[2..].iter().all(|e| *e == Reply::Nil));

        let r = request(&["command", "info"]);
        let Reply::Array(all) = command_info(&reg, r.view()) else { panic!() };
        assert_eq!(all.len(), reg.len());
        let object = all.iter().find(|e| matches!(e, Reply::Array(f) if f[0] == bulk("object"))).unwrap();
        let Reply::Array(fields) = object else { panic!() };
        let Reply::Array(subs) = &fields[9] else { panic!() };
        assert_eq!(subs.len(), 2);

        let r = request(&["command", "docs", "nosuch", "OBJECT|freq", "get"]);
        let docs = command_docs(&reg, r.view());
        assert_eq!(map_keys(&docs), ["object|freq", "get"]);

        let r = request(&["command", "list"]);
        let Ok(Reply::Array(names)) = command_list(&reg, r.view()) else { panic!() };
        assert!(names.contains(&bulk("command|info")));
        assert!(names.contains(&bulk("object|encoding")));
        assert!(names.contains(&bulk("get")));
        let r = request(&["command", "list", "FILTERBY", "pattern", "OBJ*"]);
        assert_eq!(
            command_list(&reg, r.view()),
            Ok(Reply::Array(vec![bulk("object"), bulk("object|encoding"), bulk("object|freq")]))
        );
        let r = request(&["command", "list", "filterby", "aclcat", "Read"]);
        assert_eq!(
            command_list(&reg, r.view()),
            Ok(Reply::Array(vec![bulk("get"), bulk("object|encoding"), bulk("object|freq")]))
        );
        let r = request(&["command", "list", "filterby", "aclcat", "@read"]);
        assert_eq!(command_list(&reg, r.view()), Ok(Reply::Array(vec![])));
        let r = request(&["command", "list", "filterby", "module", "x"]);
        assert_eq!(command_list(&reg, r.view()), Ok(Reply::Array(vec![])));
        for bad in [
            &["command", "list", "x"][..],
            &["command", "list", "filterby", "foo", "x"],
            &["command", "list", "filterby", "aclcat"],
        ] {
            assert_eq!(command_list(&reg, request(bad).view()), Err(SYNTAX));
        }
    }

    #[test]
    fn help_lines() {
        let Reply::Array(lines) = help_reply(b"command") else { panic!() };
        assert_eq!(lines.len(), 21);
        assert_eq!(lines[0], simple("COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"));
        assert_eq!(lines[20], simple("    Prints this help."));
    }

    #[test]
    fn generated_metadata_is_consistent() {
        for top in SPECS {
            assert!(top.container.is_none());
            for sub in top.subcommands {
                assert_eq!(sub.container, Some(top.name));
                assert!(sub.subcommands.is_empty());
            }
        }
        assert!(SPECS.windows(2).all(|w| w[0].name < w[1].name));
        assert_eq!(spec("command|getkeys").arity, -3);
        assert_eq!(spec("client|no-touch").container, Some("client"));
    }
}
