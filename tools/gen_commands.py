#!/usr/bin/env python3
"""Generate src/command/generated.rs from Redis 7.2's command metadata.

Usage:
    python3 tools/gen_commands.py [--check] [DIR ...]

Each DIR holds one JSON file per command or subcommand, in the shape of Redis's
src/commands/*.json. Without DIR, ../shared/redis-commands (relative to the repository
root) is read, then tools/extra-commands: the commands tallkv declares itself (newer
Redis commands such as DELEX and DIGEST, SET with its 8.4 arguments, and tallkv's own
INCRBYBOUNDED). With several DIRs, a command in a later one replaces the same command in
an earlier one. With --check, nothing is written; the exit status says whether
generated.rs is up to date.

The output is `pub static COMMANDS: &[CommandSpec]` (see src/command/spec.rs): every
top-level command sorted by name, each with its subcommands sorted by name, with the
derived data Redis computes at startup folded in, so the server needs no JSON at run time:

* flags: `command_flags` in lower case, in Redis's flag-bit order, plus `movablekeys` when
  `populateCommandLegacyRangeSpec` would set it. Flags COMMAND INFO hides on purpose
  (`may_replicate`, `sentinel`, `only_sentinel`, `protected`, `touches_arbitrary_keys`)
  are kept here; the COMMAND reply leaves them out.
* acl_categories: the explicit categories plus the implicit ones of
  `setImplicitACLCategories`, as `@name`, in the order of Redis's category table.
* tips lower case; key spec flags upper case in Redis's key-flag order; argument names
  lower case, tokens upper case, display texts lower case (as Redis's own generator).

Standard library only; the output is deterministic.
"""

import argparse
import glob
import json
import os
import sys

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_DIR = os.path.join(REPO_ROOT, "..", "shared", "redis-commands")
EXTRA_DIR = os.path.join(REPO_ROOT, "tools", "extra-commands")
OUTPUT = os.path.join(REPO_ROOT, "src", "command", "generated.rs")

# Command flags in the order of their bits in Redis's server.h (CMD_WRITE = 1<<0 ...),
# which is also the order COMMAND INFO prints them in.
COMMAND_FLAGS = [
    "write",
    "readonly",
    "denyoom",
    "module",
    "admin",
    "pubsub",
    "noscript",
    "blocking",
    "loading",
    "stale",
    "skip_monitor",
    "skip_slowlog",
    "asking",
    "fast",
    "no_auth",
    "may_replicate",
    "sentinel",
    "only_sentinel",
    "no_mandatory_keys",
    "protected",
    "module_getkeys",
    "module_no_cluster",
    "no_async_loading",
    "no_multi",
    "movablekeys",
    "allow_busy",
    "module_getchannels",
    "touches_arbitrary_keys",
]

# Redis's ACLCommandCategories table, in order.
ACL_CATEGORIES = [
    "keyspace",
    "read",
    "write",
    "set",
    "sortedset",
    "list",
    "hash",
    "string",
    "bitmap",
    "hyperloglog",
    "geo",
    "stream",
    "pubsub",
    "admin",
    "fast",
    "slow",
    "blocking",
    "dangerous",
    "connection",
    "transaction",
    "scripting",
]

# Key spec flags in the order COMMAND INFO prints them.
KEY_FLAGS = [
    "RO",
    "RW",
    "OW",
    "RM",
    "ACCESS",
    "UPDATE",
    "INSERT",
    "DELETE",
    "NOT_KEY",
    "INCOMPLETE",
    "VARIABLE_FLAGS",
]

DOC_FLAGS = ["deprecated", "syscmd"]

ARG_TYPES = [
    "string",
    "integer",
    "double",
    "key",
    "pattern",
    "unix-time",
    "pure-token",
    "oneof",
    "block",
]


class GenError(Exception):
    pass


def rust_str(text):
    """A Rust string literal for `text`, ASCII only."""
    out = ['"']
    for ch in text:
        code = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif code < 0x20 or code == 0x7F or code > 0x7E:
            out.append("\\u{%x}" % code)
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def str_list(items):
    return "&[" + ", ".join(rust_str(i) for i in items) + "]"


def ordered(values, order, what, where):
    """`values` sorted by their position in `order`; unknown values are an error."""
    for v in values:
        if v not in order:
            raise GenError("%s: unknown %s %r" % (where, what, v))
    return sorted(set(values), key=order.index)


def opt_str(desc, field):
    """Redis's get_optional_desc_string: a missing or empty field is absent."""
    value = desc.get(field)
    return value if value else ""


# ---------------------------------------------------------------------------------------
# Derived data, as Redis computes it at startup.


def movable_keys(key_specs):
    """Whether populateCommandLegacyRangeSpec sets CMD_MOVABLE_KEYS (native commands)."""
    if not key_specs:
        return False

    def is_index_range(ks):
        return "index" in ks["begin_search"] and "range" in ks["find_keys"]

    if len(key_specs) == 1 and is_index_range(key_specs[0]):
        return "INCOMPLETE" in key_specs[0]["flags"]

    movable = False
    found = False
    prev_lastkey = 0
    lastkey = 0
    for ks in key_specs:
        if not is_index_range(ks):
            movable = True
            continue
        pos = ks["begin_search"]["index"]["pos"]
        rng = ks["find_keys"]["range"]
        if rng["step"] != 1 or (prev_lastkey and prev_lastkey != pos - 1):
            movable = True
            continue
        if "INCOMPLETE" in ks["flags"]:
            movable = True
        found = True
        abs_last = rng["lastkey"]
        if abs_last >= 0:
            abs_last += pos
        # Redis compares as unsigned so that negative (from the end) wins.
        lastkey = max(lastkey & 0xFFFFFFFF, abs_last & 0xFFFFFFFF)
        if lastkey >= 0x80000000:
            lastkey -= 0x100000000
        prev_lastkey = lastkey
    if not found:
        movable = True
    return movable


def command_flags(desc, where):
    flags = [f.lower() for f in desc.get("command_flags", [])]
    if movable_keys(desc.get("key_specs", [])):
        flags.append("movablekeys")
    return ordered(flags, COMMAND_FLAGS, "command flag", where)


def acl_categories(desc, flags, where):
    cats = set(ordered([c.lower() for c in desc.get("acl_categories", [])], ACL_CATEGORIES, "ACL category", where))
    if "write" in flags:
        cats.add("write")
    if "readonly" in flags and "scripting" not in cats:
        cats.add("read")
    if "admin" in flags:
        cats.update(["admin", "dangerous"])
    if "pubsub" in flags:
        cats.add("pubsub")
    if "fast" in flags:
        cats.add("fast")
    if "blocking" in flags:
        cats.add("blocking")
    if "fast" not in cats:
        cats.add("slow")
    return ["@" + c for c in ACL_CATEGORIES if c in cats]


# ---------------------------------------------------------------------------------------
# Rust output.


def key_spec_code(ks, where):
    flags = ordered(ks.get("flags", []), KEY_FLAGS, "key spec flag", where)
    bs = ks["begin_search"]
    if "index" in bs:
        begin = "BeginSearch::Index(%d)" % bs["index"]["pos"]
    elif "keyword" in bs:
        begin = "BeginSearch::Keyword { keyword: %s, start_from: %d }" % (
            rust_str(bs["keyword"]["keyword"]),
            bs["keyword"]["startfrom"],
        )
    elif "unknown" in bs:
        begin = "BeginSearch::Unknown"
    else:
        raise GenError("%s: bad begin_search %r" % (where, bs))
    fk = ks["find_keys"]
    if "range" in fk:
        r = fk["range"]
        find = "FindKeys::Range { last_key: %d, step: %d, limit: %d }" % (r["lastkey"], r["step"], r["limit"])
    elif "keynum" in fk:
        k = fk["keynum"]
        find = "FindKeys::KeyNum { key_num_idx: %d, first_key: %d, step: %d }" % (
            k["keynumidx"],
            k["firstkey"],
            k["step"],
        )
    elif "unknown" in fk:
        find = "FindKeys::Unknown"
    else:
        raise GenError("%s: bad find_keys %r" % (where, fk))
    return "KeySpec { flags: %s, begin_search: %s, find_keys: %s, notes: %s }" % (
        str_list(flags),
        begin,
        find,
        rust_str(opt_str(ks, "notes")),
    )


def arg_code(arg, indent, where):
    name = arg["name"].lower()
    kind = arg["type"]
    if kind not in ARG_TYPES:
        raise GenError("%s: unknown argument type %r" % (where, kind))
    flags = [f for f in ("optional", "multiple", "multiple_token") if arg.get(f, False)]
    subargs = arg.get("arguments", [])
    if kind in ("oneof", "block"):
        display = ""
        if not subargs:
            raise GenError("%s: %s argument %r without arguments" % (where, kind, name))
    else:
        display = arg.get("display", "").lower()
        if subargs:
            raise GenError("%s: %s argument %r with arguments" % (where, kind, name))
    head = "ArgSpec { name: %s, kind: %s, display: %s, token: %s, summary: %s, since: %s, deprecated_since: %s, key_spec_index: %d, flags: %s, arguments: " % (
        rust_str(name),
        rust_str(kind),
        rust_str(display),
        rust_str(opt_str(arg, "token").upper()),
        rust_str(opt_str(arg, "summary")),
        rust_str(opt_str(arg, "since")),
        rust_str(opt_str(arg, "deprecated_since")),
        arg.get("key_spec_index", -1),
        str_list(flags),
    )
    if not subargs:
        return head + "&[] }"
    return head + args_block(subargs, indent, where + " " + name) + " }"


def args_block(args, indent, where):
    if not args:
        return "&[]"
    pad = " " * (indent + 4)
    lines = ["&["]
    for arg in args:
        lines.append(pad + arg_code(arg, indent + 4, where) + ",")
    lines.append(" " * indent + "]")
    return "\n".join(lines)


def command_code(name, desc, subcommands, indent):
    where = name if not desc.get("container") else "%s|%s" % (desc["container"].lower(), name)
    pad = " " * indent
    fpad = " " * (indent + 4)
    flags = command_flags(desc, where)
    cats = acl_categories(desc, flags, where)
    tips = [t.lower() for t in desc.get("command_tips", [])]
    doc_flags = ordered([f.lower() for f in desc.get("doc_flags", [])], DOC_FLAGS, "doc flag", where)
    container = desc.get("container")
    out = [pad + "CommandSpec {"]

    def field(key, value):
        out.append("%s%s: %s," % (fpad, key, value))

    field("name", rust_str(name))
    field("container", "Some(%s)" % rust_str(container.lower()) if container else "None")
    field("summary", rust_str(opt_str(desc, "summary")))
    field("since", rust_str(opt_str(desc, "since")))
    field("group", rust_str(desc["group"]))
    field("complexity", rust_str(opt_str(desc, "complexity")))
    field("arity", "%d" % desc["arity"])
    field("flags", str_list(flags))
    field("acl_categories", str_list(cats))
    field("tips", str_list(tips))
    specs = desc.get("key_specs", [])
    if specs:
        out.append(fpad + "key_specs: &[")
        for i, ks in enumerate(specs):
            out.append(fpad + "    " + key_spec_code(ks, "%s key spec %d" % (where, i)) + ",")
        out.append(fpad + "],")
    else:
        field("key_specs", "&[]")
    field("arguments", args_block(desc.get("arguments", []), indent + 4, where))
    history = desc.get("history", [])
    if history:
        out.append(fpad + "history: &[")
        for version, text in history:
            out.append("%s    (%s, %s)," % (fpad, rust_str(version), rust_str(text)))
        out.append(fpad + "],")
    else:
        field("history", "&[]")
    field("doc_flags", str_list(doc_flags))
    field("deprecated_since", rust_str(opt_str(desc, "deprecated_since")))
    field("replaced_by", rust_str(opt_str(desc, "replaced_by")))
    if subcommands:
        out.append(fpad + "subcommands: &[")
        for sub_name, sub_desc in subcommands:
            out.append(command_code(sub_name, sub_desc, [], indent + 8))
        out.append(fpad + "],")
    else:
        field("subcommands", "&[]")
    out.append(pad + "},")
    return "\n".join(out)


def load(dirs):
    """Top-level commands and subcommands by lower-case name, later dirs winning."""
    tops = {}
    subs = {}
    for d in dirs:
        files = sorted(glob.glob(os.path.join(d, "*.json")))
        if not files:
            raise GenError("no command JSON files in %s" % d)
        for path in files:
            with open(path, encoding="utf-8") as f:
                doc = json.load(f)
            if not isinstance(doc, dict) or len(doc) != 1:
                raise GenError("%s: expected one command per file" % path)
            ((name, desc),) = doc.items()
            name = name.lower()
            container = desc.get("container")
            if container:
                subs.setdefault(container.lower(), {})[name] = desc
            else:
                tops[name] = desc
    for container in subs:
        if container not in tops:
            raise GenError("subcommands of %r, which is not a command" % container)
    return tops, subs


def generate(dirs, shown_dirs):
    tops, subs = load(dirs)
    out = [
        "// @generated by tools/gen_commands.py from Redis 7.2 command metadata and tallkv's own",
        "// (%s)." % ", ".join(shown_dirs),
        "// Do not edit by hand: change the generator or the metadata and run",
        "// `python3 tools/gen_commands.py` again.",
        "//",
        "// Redis's metadata is Copyright (c) 2006-2020, Salvatore Sanfilippo, distributed under",
        "// the BSD 3-clause licence (the COPYING file beside its JSON files); the files in",
        "// tools/extra-commands follow its format.",
        "",
        "use super::spec::*;",
        "",
        "/// Every Redis command and its subcommands, sorted by name.",
        "#[rustfmt::skip]",
        "#[allow(clippy::all)]",
        "pub static COMMANDS: &[CommandSpec] = &[",
    ]
    for name in sorted(tops):
        children = sorted(subs.get(name, {}).items())
        out.append(command_code(name, tops[name], children, 4))
    out.append("];")
    return "\n".join(out) + "\n"


def main():
    parser = argparse.ArgumentParser(description="Generate src/command/generated.rs from Redis command JSON.")
    parser.add_argument(
        "dirs",
        nargs="*",
        help="directories of command JSON files (default: ../shared/redis-commands tools/extra-commands)",
    )
    parser.add_argument("--check", action="store_true", help="only check that generated.rs is up to date")
    opts = parser.parse_args()
    dirs = opts.dirs or [DEFAULT_DIR, EXTRA_DIR]
    shown = []
    for d in dirs:
        rel = os.path.relpath(os.path.abspath(d), REPO_ROOT)
        shown.append((rel if not rel.startswith("../../") else os.path.basename(os.path.abspath(d))) + "/*.json")
    try:
        text = generate(dirs, shown)
    except (GenError, OSError, ValueError, KeyError) as e:
        print("gen_commands: %s" % e, file=sys.stderr)
        return 1
    if opts.check:
        try:
            with open(OUTPUT, encoding="utf-8") as f:
                current = f.read()
        except OSError:
            current = None
        if current != text:
            print("gen_commands: %s is out of date" % os.path.relpath(OUTPUT, REPO_ROOT), file=sys.stderr)
            return 1
        return 0
    with open(OUTPUT, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
