#!/usr/bin/env python3
"""Helper of tools/bench_memory.sh: load one big key fast, and render the report.

Usage:
    tools/bench_memory.py load --port P --type list|hash|set|zset --elements N
                               [--batch B] [--window W] [--key KEY]
    tools/bench_memory.py report [--write] [--file BENCHMARKS.md] [RUN_DIR]

load: builds the commands in RESP and sends them pipelined over one TCP
connection (W commands written, then their W replies read, repeatedly), each
command adding B elements to ONE key:
    list  RPUSH mem:list element:<n> ...                 (n = 0 .. N-1)
    hash  HSET  mem:hash element:<n> value:<n> ...
    set   SADD  mem:set  element:<n> ...
    zset  ZADD  mem:zset <n> element:<n> ...
It returns once every reply has been read (so the server has executed every
command), checks that no reply is an error and that the replies account for
exactly N new elements, then checks the cardinality (LLEN/HLEN/SCARD/ZCARD)
and prints one line "load_s=<seconds> card=<N>".

report: renders the Markdown section from RUN_DIR (default: the newest
bench-results/memory-*), from its meta.txt and raw.csv; with --write it
replaces the text between <!-- bench_memory:begin --> and
<!-- bench_memory:end --> in BENCHMARKS.md (the markers are appended at the
end of the file if missing). Standard library only.
"""

import argparse
import csv
import socket
import statistics
import sys
import time
from pathlib import Path

sys.dont_write_bytecode = True  # no tools/__pycache__ from importing bench_report
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_report import display_path, read_meta, write_section  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
SECTION = "memory"
TYPES = {
    # type: (add command, cardinality command)
    "list": ("RPUSH", "LLEN"),
    "hash": ("HSET", "HLEN"),
    "set": ("SADD", "SCARD"),
    "zset": ("ZADD", "ZCARD"),
}


def resp(args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def element_args(kind, lo, hi):
    args = []
    for n in range(lo, hi):
        member = b"element:%d" % n
        if kind == "list" or kind == "set":
            args.append(member)
        elif kind == "hash":
            args += (member, b"value:%d" % n)
        else:
            args += (b"%d" % n, member)
    return args


class Conn:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def _line(self):
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                line, self.buf = self.buf[:i], self.buf[i + 2:]
                return line
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                raise SystemExit("connection closed by the server")
            self.buf += chunk

    def reply(self):
        """One reply: int, bytes, None, list, or an Exception for an error reply."""
        line = self._line()
        t, rest = line[:1], line[1:]
        if t == b":":
            return int(rest)
        if t == b"+":
            return rest
        if t == b"-":
            return RuntimeError(rest.decode(errors="replace"))
        if t == b"$":
            n = int(rest)
            if n < 0:
                return None
            while len(self.buf) < n + 2:
                chunk = self.sock.recv(1 << 16)
                if not chunk:
                    raise SystemExit("connection closed by the server")
                self.buf += chunk
            data, self.buf = self.buf[:n], self.buf[n + 2:]
            return data
        if t == b"*":
            n = int(rest)
            return None if n < 0 else [self.reply() for _ in range(n)]
        raise SystemExit(f"unexpected reply line: {line[:80]!r}")

    def call(self, *args):
        self.sock.sendall(resp([a if isinstance(a, bytes) else str(a).encode() for a in args]))
        return self.reply()


def cmd_load(a):
    add, card_cmd = TYPES[a.type]
    key = (a.key or f"mem:{a.type}").encode()
    conn = Conn(a.port)
    if conn.call("EXISTS", key) != 0:
        raise SystemExit(f"key {key.decode()} already exists on port {a.port}")
    # Build all commands before timing (and before the server sees any of them).
    cmds = []
    for lo in range(0, a.elements, a.batch):
        hi = min(lo + a.batch, a.elements)
        cmds.append(resp([add.encode(), key] + element_args(a.type, lo, hi)))
    added, last = 0, 0
    t0 = time.monotonic()
    for i in range(0, len(cmds), a.window):
        part = cmds[i:i + a.window]
        conn.sock.sendall(b"".join(part))
        for _ in part:
            r = conn.reply()
            if isinstance(r, Exception) or not isinstance(r, int):
                raise SystemExit(f"{add} failed on port {a.port}: {r!r}")
            added += r
            last = r
    load_s = time.monotonic() - t0
    # RPUSH replies with the new length, the others with the number of new elements.
    got = last if a.type == "list" else added
    if got != a.elements:
        raise SystemExit(f"{add} replies account for {got} elements, expected {a.elements}")
    card = conn.call(card_cmd, key)
    if card != a.elements:
        raise SystemExit(f"{card_cmd} {key.decode()} = {card!r}, expected {a.elements}")
    print(f"load_s={load_s:.3f} card={card}")


# ------------------------------------------------------------------ report ---

def fnum(s):
    try:
        return float(s)
    except (TypeError, ValueError):
        return None


def fmt_b(x):
    return "n/a" if x is None else f"{x:.1f}"


def fmt_ratio(vals, n_rounds):
    if not vals:
        return "n/a"
    s = f"{statistics.median(vals):.2f}"
    if len(vals) > 1:
        s += f" ({min(vals):.2f}–{max(vals):.2f})"
    if len(vals) < n_rounds:
        s += f" [{len(vals)}/{n_rounds} rounds]"
    return s


def med(vals):
    vals = [v for v in vals if v is not None]
    return statistics.median(vals) if vals else None


def render(run_dir):
    meta = read_meta(run_dir)
    shown = display_path(run_dir)
    with open(run_dir / "raw.csv", newline="") as f:
        raw = list(csv.DictReader(f))
    if not raw:
        raise SystemExit(f"{run_dir}/raw.csv has no measurements")
    types, data = [], {}  # type -> round -> server -> row
    for r in raw:
        if r["type"] not in types:
            types.append(r["type"])
        n = int(r["elements"])
        row = dict(r)
        row["n"] = n
        d_rss = fnum(r["rss_after"]) - fnum(r["rss_before"])
        row["rss_pe"] = d_rss / n
        um0, um1 = fnum(r["used_memory_before"]), fnum(r["used_memory_after"])
        row["um_pe"] = None if um0 is None or um1 is None else (um1 - um0) / n
        data.setdefault(r["type"], {}).setdefault(int(r["round"]), {})[r["server"]] = row
    n_rounds = max(int(r["round"]) for r in raw)
    elements = sorted({int(r["elements"]) for r in raw})

    out = []
    w = out.append
    w("## Memory per element: tallkv vs Redis, one key of "
      + " / ".join(f"{n:,}" for n in elements) + " elements per type")
    w("")
    w(f"- Date: {meta.get('date', '?')}")
    w(f"- Machine: {meta.get('nproc', '?')} CPUs, {meta.get('cpu_model', '?')}, "
      f"{meta.get('mem', '?')} RAM, kernel {meta.get('kernel', '?')}")
    tl = f"- tallkv: commit `{meta.get('commit', '?')}`"
    if meta.get("tallkv_version"):
        tl += f" (INFO: {meta['tallkv_version']})"
    w(tl)
    if meta.get("tallkv_cmd_overridden") == "1":
        w("  - **Note: `TALLKV_CMD` was overridden; the \"tallkv\" columns measure the "
          "command shown below, not the tallkv binary.**")
    w(f"- Redis: `{meta.get('redis_version', '?')}`")
    smoke = " (smoke run: fewer elements than the 1,000,000 of the target)" \
        if elements != [1000000] else ""
    w(f"- Rounds: {n_rounds}{smoke}. In each round and for each type, a fresh Redis and a "
      "fresh tallkv (both pinned to CPU "
      f"{meta.get('server_core', '0')}) each get ONE key holding all the elements, loaded "
      f"pipelined by `tools/bench_memory.py load` ({meta.get('batch', '?')} elements per "
      f"command, {meta.get('window', '?')} commands in flight), which returns after every "
      "reply has been read and the cardinality checked. Elements: list `RPUSH mem:list "
      "element:<n> ...`; hash `HSET mem:hash element:<n> value:<n> ...`; set `SADD mem:set "
      "element:<n> ...`; sorted set `ZADD mem:zset <n> element:<n> ...` (n = 0 .. N-1).")
    w(f"- Bytes per element = (VmRSS after − VmRSS before the load) / N, VmRSS from "
      f"/proc/PID/status, read {meta.get('settle', '?')} s after start-up and "
      f"{meta.get('settle', '?')} s after the load. Secondary: the same with INFO "
      "`used_memory` (Redis: allocator's count; tallkv: its own estimate of the data). "
      "Values are medians over rounds; ratios are tallkv/Redis per round, median "
      "(min–max). Ratio < 1: tallkv uses less.")
    w("")
    w("Commands:")
    w("")
    w("```sh")
    for k in ("redis_cmd", "tallkv_cmd", "load_cmd", "mem_cmd"):
        if k in meta:
            w(meta[k])
    w("```")
    w("")
    w("| type | N | Redis encoding | tallkv encoding | Redis B/elem (RSS) | tallkv B/elem (RSS) "
      "| RSS ratio | Redis B/elem (used_memory) | tallkv B/elem (used_memory) "
      "| used_memory ratio | Redis RSS after MiB | tallkv RSS after MiB |")
    w("|---|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    notes = []
    names = {"list": "list", "hash": "hash", "set": "set", "zset": "sorted set"}
    for t in types:
        rounds = data[t]
        per = {"redis": [], "tallkv": []}
        rss_r, um_r = [], []
        for rd, servers in sorted(rounds.items()):
            for s in per:
                if s in servers:
                    per[s].append(servers[s])
            r, k = servers.get("redis"), servers.get("tallkv")
            if r and k:
                if r["rss_pe"] > 0:
                    rss_r.append(k["rss_pe"] / r["rss_pe"])
                if r["um_pe"] and k["um_pe"] is not None:
                    um_r.append(k["um_pe"] / r["um_pe"])

        def enc(s):
            e = sorted({row["encoding"] for row in per[s]})
            return ", ".join(e) if e else "n/a"

        def m(s, key):
            return med([row[key] for row in per[s]])

        def mib(s):
            v = med([fnum(row["rss_after"]) for row in per[s]])
            return "n/a" if v is None else f"{v / 1048576:.1f}"
        n = ", ".join(sorted({f"{row['n']:,}" for s in per for row in per[s]}))
        w(f"| {names.get(t, t)} | {n} | {enc('redis')} | {enc('tallkv')} "
          f"| {fmt_b(m('redis', 'rss_pe'))} | {fmt_b(m('tallkv', 'rss_pe'))} "
          f"| {fmt_ratio(rss_r, n_rounds)} "
          f"| {fmt_b(m('redis', 'um_pe'))} | {fmt_b(m('tallkv', 'um_pe'))} "
          f"| {fmt_ratio(um_r, n_rounds)} | {mib('redis')} | {mib('tallkv')} |")
        for s in per:
            if len(per[s]) < n_rounds:
                notes.append(f"{t}: {s} measured in {len(per[s])} of {n_rounds} rounds.")
    load = []
    for t in types:
        for s in ("redis", "tallkv"):
            v = med([fnum(row["load_s"]) for row in
                     (data[t][rd].get(s) for rd in data[t]) if row])
            if v is not None:
                load.append(f"{t} {s} {v:.2f}")
    w("")
    w("Load time in s, median (client side, from the first command sent to the last reply "
      "read; commands prebuilt before): " + "; ".join(load) + ".")
    if notes:
        w("")
        w("Notes:")
        w("")
        for note in notes:
            w(f"- {note}")
    w("")
    w(f"Raw data: `{shown}/raw.csv` (not committed).")
    return "\n".join(out) + "\n"


def cmd_report(a):
    if a.run_dir:
        run_dir = Path(a.run_dir)
    else:
        runs = sorted((REPO / "bench-results").glob("memory-*/raw.csv"))
        if not runs:
            raise SystemExit("no bench-results/memory-*/raw.csv found; run tools/bench_memory.sh")
        run_dir = runs[-1].parent
    run_dir = run_dir.resolve()
    if not (run_dir / "raw.csv").exists():
        raise SystemExit(f"{run_dir}: no raw.csv")
    section = render(run_dir)
    sys.stdout.write(section)
    if a.write:
        write_section(Path(a.file), section, SECTION)
        print(f"\n[bench_memory] updated {a.file}", file=sys.stderr)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    lp = sub.add_parser("load", help="load one key with N elements")
    lp.add_argument("--port", type=int, required=True)
    lp.add_argument("--type", choices=sorted(TYPES), required=True)
    lp.add_argument("--elements", type=int, required=True)
    lp.add_argument("--batch", type=int, default=100, help="elements per command")
    lp.add_argument("--window", type=int, default=100, help="commands in flight")
    lp.add_argument("--key", help="default mem:<type>")
    rp = sub.add_parser("report", help="render (and --write) the Markdown section")
    rp.add_argument("run_dir", nargs="?", help="bench-results/memory-* (default: newest)")
    rp.add_argument("--write", action="store_true",
                    help="replace the bench_memory section of BENCHMARKS.md")
    rp.add_argument("--file", default=str(REPO / "BENCHMARKS.md"))
    a = ap.parse_args()
    if a.cmd == "load":
        if a.elements < 1 or a.batch < 1 or a.window < 1:
            raise SystemExit("--elements, --batch and --window must be positive")
        cmd_load(a)
    else:
        cmd_report(a)


if __name__ == "__main__":
    main()
