#!/usr/bin/env python3
"""Render the Markdown report of a tools/bench_core.sh run.

Usage:
    tools/bench_report.py [--write] [--file BENCHMARKS.md] [RUN_DIR]

    tools/bench_report.py [--write] --section types [RUN_DIR]

RUN_DIR is a directory written by bench_core.sh (meta.txt + raw.csv); by
default the newest bench-results/SECTION-* directory. The section is printed to
stdout; with --write it also replaces the text between
<!-- bench_SECTION:begin --> and <!-- bench_SECTION:end --> in BENCHMARKS.md
(created, with a title and the markers, if missing). SECTION is --section, else
the section= line of the run's meta.txt (SECTION of bench_core.sh), else core.

Only pair ratios are trusted: in each round, for each (test, pipeline depth),
Redis and tallkv run back to back, and tallkv/Redis ratios are computed within
that pair; the report shows the median of those ratios over rounds (with the
min-max range), plus the median absolute values for each server.
Standard library only.
"""

import argparse
import csv
import re
import statistics
import sys
from pathlib import Path

DEFAULT_SECTION = "core"
SECTION_TITLES = {"core": "Core benchmark", "types": "Data-type benchmark",
                  "tx": "Transaction, scripting and compare-and-set benchmark"}
# what a custom (non -t) test of bench_core.sh runs, for the report
CUSTOM_TEST_DESC = {
    "zrange_100": "`ZRANGE bench:zset 0 99` on a sorted set of 100 members (m0..m99, "
                  "scores 0..99) preloaded on both servers before each pair",
    "evalsha_rmw": "a small read-modify-write script (GET, add ARGV[1], SET) by EVALSHA on "
                   "random keys, the same on both servers",
    "multi_exec_5": "one transaction per request, `MULTI`, `INCR tx:R:n`, `SET tx:R:s v`, "
                    "`GET tx:R:s`, `HSET tx:R:h f v`, `HGET tx:R:h f`, `EXEC` (R random per "
                    "transaction), the same on both servers, sent by tools/txbench; a request, "
                    "its rps and its latency are those of a whole transaction (7 commands)",
    "cas_set_ifeq": "tallkv `SET k v IFEQ v` vs Redis EVALSHA of a compare-then-SET script "
                    "(Redis 7.0 has no IFEQ); all keys preloaded with v, so every condition "
                    "holds and every request writes",
    "cas_delex_ifeq": "tallkv `DELEX k IFEQ v` vs Redis EVALSHA of the GET-compare-DEL script "
                      "(Redis 7.0 has no DELEX), sent by tools/txbench with one preloaded key "
                      "per request, so every request deletes a key",
    "cas_digest": "tallkv `DIGEST k` (XXH3-64 of the value) vs Redis EVALSHA of a script "
                  "returning `redis.sha1hex` of the value (Redis 7.0 has neither DIGEST nor "
                  "XXH3 in Lua; SHA1 is the hash of a value it can compute server-side); all "
                  "keys preloaded",
    "cas_incrbybounded": "tallkv `INCRBYBOUNDED k 1 MIN 0 MAX 1000000000` vs Redis EVALSHA of a "
                         "bounded-INCRBY script (INCRBYBOUNDED is tallkv's own); the bounds are "
                         "never reached, so every request increments",
}
REPO = Path(__file__).resolve().parent.parent
IDLE_WARN_PCT = 2.0   # CPU share the idle server may use during a measurement
BUSY_WARN_PCT = 90.0  # below this the measured server was not saturated


def markers(section):
    return f"<!-- bench_{section}:begin -->", f"<!-- bench_{section}:end -->"


def read_meta(run_dir):
    meta = {}
    for line in (run_dir / "meta.txt").read_text().splitlines():
        if "=" in line:
            k, v = line.split("=", 1)
            meta[k] = v
    return meta


def fnum(s):
    try:
        return float(s)
    except (TypeError, ValueError):
        return None


def fmt_rps(x):
    return "n/a" if x is None else f"{x:,.0f}"


def fmt_ms(x):
    return "n/a" if x is None else f"{x:.3f}"


def fmt_us(x):
    if x is None:
        return "n/a"
    return f"{x:.2f}" if x >= 10 else f"{x:.3f}"


def fmt_ratio(vals, n_rounds):
    if not vals:
        return "n/a"
    s = f"{statistics.median(vals):.2f}"
    if len(vals) > 1:
        s += f" ({min(vals):.2f}–{max(vals):.2f})"
    if len(vals) < n_rounds:
        s += f" [{len(vals)}/{n_rounds} rounds]"
    return s


def fmt_pct(x):
    return "n/a" if x is None else f"{x:.0f}"


def med(rows, key):
    vals = [r[key] for r in rows if r[key] is not None]
    return statistics.median(vals) if vals else None


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def display_path(run_dir):
    try:
        return str(run_dir.relative_to(REPO))
    except ValueError:
        return str(run_dir)


def read_checks(run_dir, test):
    path = run_dir / "checks.csv"
    if not path.exists():
        return []
    with open(path, newline="") as f:
        return [r for r in csv.DictReader(f) if r["test"] == test]


def delex_notes(run_dir):
    """Notes from checks.csv (DBSIZE before/after each cas_delex_ifeq run)."""
    rows = read_checks(run_dir, "cas_delex_ifeq")
    bad = []
    for r in rows:
        b, a, n = fnum(r["llen_before"]), fnum(r["llen_after"]), int(r["requests"])
        if b is None or a is None or b - a != n:
            bad.append(f"round {r['round']}, `-P {r['pipeline']}` cas_delex_ifeq: {r['server']} "
                       f"`DBSIZE` went {r['llen_before'] or '?'} → {r['llen_after'] or '?'} over "
                       f"{n:,} requests, so not every request deleted a key.")
    summary = None
    if rows and not bad:
        summary = (f"DELEX check: in all {len(rows)} cas_delex_ifeq runs `DBSIZE` fell by exactly "
                   "the number of requests, so every request (DELEX IFEQ on tallkv, the script on "
                   "Redis) found its key holding the expected value and deleted it.")
    return summary, bad


def lpop_notes(run_dir):
    """Notes from checks.csv (LLEN mylist before/after each lpop run)."""
    path = run_dir / "checks.csv"
    if not path.exists():
        return None, []
    rows = read_checks(run_dir, "lpop")
    bad = []
    for r in rows:
        b, a, n = fnum(r["llen_before"]), fnum(r["llen_after"]), int(r["requests"])
        if b is None or a is None or b - a < n:
            bad.append(f"round {r['round']}, `-P {r['pipeline']}` {r['test']}: {r['server']} "
                       f"`LLEN {r['key']}` went {r['llen_before'] or '?'} → "
                       f"{r['llen_after'] or '?'} over {n:,} requests, so some pops found an "
                       "empty list (cheaper than a real pop).")
    summary = None
    if rows and not bad:
        summary = (f"LPOP check: in all {len(rows)} lpop runs the list held at least as many "
                   "elements as requests (`LLEN mylist` before/after), so every LPOP popped "
                   "an element pushed by the lpush run before it.")
    return summary, bad


def render(run_dir, section=None):
    meta = read_meta(run_dir)
    section = section or meta.get("section") or DEFAULT_SECTION
    shown = display_path(run_dir)
    with open(run_dir / "raw.csv", newline="") as f:
        raw = list(csv.DictReader(f))
    if not raw:
        raise SystemExit(f"{run_dir}/raw.csv has no measurements")

    pipelines, tests = [], []
    data = {}  # (pipeline, test) -> round -> server -> row
    for r in raw:
        p, t = int(r["pipeline"]), r["test"]
        if p not in pipelines:
            pipelines.append(p)
        if t not in tests:
            tests.append(t)
        ok = r["status"] == "ok"
        row = {
            "ok": ok,
            "status": r["status"],
            "requests": int(r["requests"]),
            "rps": fnum(r["rps"]) if ok else None,
            "p99": fnum(r["p99_ms"]) if ok else None,
            "cpu": fnum(r["cpu_us_per_req"]) if ok else None,
            "busy": fnum(r["busy_pct"]),
            "client": fnum(r.get("client_busy_pct")),
            "idle": fnum(r["idle_other_cpu_pct"]),
            "idle_ticks": fnum(r.get("idle_other_ticks")),
        }
        data.setdefault((p, t), {}).setdefault(int(r["round"]), {})[r["server"]] = row
    n_rounds = max(int(r["round"]) for r in raw)

    out = []
    w = out.append
    title = SECTION_TITLES.get(section, f"Benchmark `{section}`")
    if section != DEFAULT_SECTION:
        title += " (" + ", ".join(tests) + ")"
    w(f"## {title}: tallkv vs Redis, one core each")
    w("")
    w(f"- Date: {meta.get('date', '?')}")
    w(f"- Machine: {meta.get('nproc', '?')} CPUs, {meta.get('cpu_model', '?')}, "
      f"{meta.get('mem', '?')} RAM, kernel {meta.get('kernel', '?')}")
    tallkv_line = f"- tallkv: commit `{meta.get('commit', '?')}`"
    if meta.get("tallkv_version"):
        tallkv_line += f" (INFO: {meta['tallkv_version']})"
    w(tallkv_line)
    if meta.get("tallkv_cmd_overridden") == "1":
        w("  - **Note: `TALLKV_CMD` was overridden; the \"tallkv\" columns measure the "
          "command shown below, not the tallkv binary.**")
    w(f"- Redis: `{meta.get('redis_version', '?')}`")
    w(f"- Rounds: {n_rounds}{' (QUICK smoke run, small N)' if meta.get('quick') == '1' else ''}. "
      "In each round, for each test and pipeline depth, Redis then tallkv ran back to back; "
      "ratios are tallkv/Redis within each pair, median over rounds (min–max in "
      "parentheses). Absolute values are medians over rounds. Throughput ratio > 1: "
      "tallkv faster; p99 and CPU ratio < 1: tallkv better.")
    w(f"- Both servers pinned to CPU {meta.get('server_core', '0')} (one running idle while the "
      f"other is driven), redis-benchmark"
      + (" (and tools/txbench)" if any(k.startswith("client_") and v == "txbench"
                                        for k, v in meta.items()) else "")
      + f" pinned to CPU {meta.get('client_core', '1')}; "
      "loopback TCP. CPU µs/req = server process utime+stime (all threads, "
      f"/proc/PID/stat, {meta.get('clk_tck', '100')} Hz ticks) / requests; an MSET (10 keys) "
      "counts as one request"
      + (", and so does a MULTI/EXEC transaction (7 commands)." if "multi_exec_5" in tests
         else ".")
      + ("" if meta.get("flush") == "1" else
         " FLUSHALL was not supported by both servers, so databases were not flushed between rounds."))
    custom = [t for t in tests if t in CUSTOM_TEST_DESC]
    if section != DEFAULT_SECTION or custom:
        plain = [t for t in tests if t not in CUSTOM_TEST_DESC]
        desc = []
        if plain:
            desc.append("redis-benchmark's own tests " + ", ".join(f"`{t}`" for t in plain)
                        + " (`-t`, in this order, on the same database between FLUSHALLs)")
        desc += [f"`{t}`: {CUSTOM_TEST_DESC[t]}" for t in custom]
        w("- Tests: " + "; ".join(desc) + ".")
    if meta.get("background"):
        w(f"- Load on the benchmark cores in the second before the servers started: "
          f"{meta['background']}.")
    ran = [t for t in tests if f"run_tallkv_{t}" in meta]
    if ran:
        scripts = {}  # sha -> (name, body)
        for k, v in meta.items():
            if k.startswith("script_"):
                sha, _, body = v.partition(" ")
                scripts[sha] = (k[len("script_"):], body)

        def shown_cmd(c):
            for sha, (name, _) in scripts.items():
                c = c.replace(sha, f"<{name}>")
            return f"`{c}`"

        w("")
        w("What each server ran (R = random key number in 0..KEYSPACE-1, N = request index; "
          "`<name>` = SHA1 of the script of that name below, loaded with SCRIPT LOAD on both "
          "servers before each pair):")
        w("")
        w("| test | client | tallkv ran | Redis ran |")
        w("|---|---|---|---|")
        for t in ran:
            w(f"| {t} | {meta.get(f'client_{t}', '?')} "
              f"| {shown_cmd(meta[f'run_tallkv_{t}']).replace('__rand_int__', 'R').replace('__seq_int__', 'N')} "
              f"| {shown_cmd(meta.get(f'run_redis_{t}', '?')).replace('__rand_int__', 'R').replace('__seq_int__', 'N')} |")
        if scripts:
            w("")
            w("Scripts:")
            w("")
            for sha, (name, body) in scripts.items():
                w(f"- `<{name}>` (sha1 `{sha}`): `{body}`")
    w("")
    w("Commands:")
    w("")
    w("```sh")
    w(meta.get("redis_cmd", "?"))
    w(meta.get("tallkv_cmd", "?"))
    if "bench_cmd" in meta:
        w(meta["bench_cmd"])
    for k, v in meta.items():
        if k.startswith(("bench_cmd_", "setup_")):
            w(v)
    w("```")

    lpop_ok, notes = lpop_notes(run_dir)
    delex_ok, delex_bad = delex_notes(run_dir)
    notes += delex_bad
    for p in pipelines:
        reqs = sorted({data[(p, t)][rd][s]["requests"]
                       for t in tests if (p, t) in data
                       for rd in data[(p, t)] for s in data[(p, t)][rd]})
        req_desc = ", ".join(
            f"{n:,}" + (" (" + ", ".join(t for t in tests if (p, t) in data and any(
                s["requests"] == n for rd in data[(p, t)].values() for s in rd.values())) + ")"
                        if len(reqs) > 1 else "")
            for n in reqs)
        w("")
        w(f"### Pipeline depth {p} (`-P {p}`; requests per run: {req_desc})")
        w("")
        w("| test | redis rps | tallkv rps | ratio | redis p99 ms | tallkv p99 ms | p99 ratio "
          "| redis CPU µs/req | tallkv CPU µs/req | CPU ratio |")
        w("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        busy_cells, unsaturated = [], []
        for t in tests:
            rounds = data.get((p, t))
            if not rounds:
                continue
            per = {"redis": [], "tallkv": []}
            rps_r, p99_r, cpu_r = [], [], []
            fails = {"redis": 0, "tallkv": 0}
            for rd, servers in sorted(rounds.items()):
                for s in ("redis", "tallkv"):
                    row = servers.get(s)
                    if row is None:
                        continue
                    if not row["ok"]:
                        fails[s] += 1
                        continue
                    per[s].append(row)
                    # more than 2 ticks, so that tick rounding alone cannot trigger it
                    if (row["idle"] or 0) > IDLE_WARN_PCT and (row["idle_ticks"] or 0) > 2:
                        other = "tallkv" if s == "redis" else "redis"
                        notes.append(f"round {rd}, `-P {p}` {t}: the idle {other} used "
                                     f"{row['idle']:.1f}% of the server core while {s} was "
                                     "measured (it is not idle when idle; numbers of this pair "
                                     "are suspect).")
                r, k = servers.get("redis"), servers.get("tallkv")
                if r and k and r["ok"] and k["ok"]:
                    for acc, key in ((rps_r, "rps"), (p99_r, "p99"), (cpu_r, "cpu")):
                        v = ratio(k[key], r[key])
                        if v is not None:
                            acc.append(v)

            def cell(s, key, fmt):
                if not per[s]:
                    return "FAIL" if fails[s] else "n/a"
                v = fmt(med(per[s], key))
                return v + (f" [{fails[s]} failed]" if fails[s] else "")

            w(f"| {t} | {cell('redis', 'rps', fmt_rps)} | {cell('tallkv', 'rps', fmt_rps)} "
              f"| {fmt_ratio(rps_r, n_rounds)} "
              f"| {cell('redis', 'p99', fmt_ms)} | {cell('tallkv', 'p99', fmt_ms)} "
              f"| {fmt_ratio(p99_r, n_rounds)} "
              f"| {cell('redis', 'cpu', fmt_us)} | {cell('tallkv', 'cpu', fmt_us)} "
              f"| {fmt_ratio(cpu_r, n_rounds)} |")
            busy_cells.append(
                f"{t} " + ", ".join(
                    f"{s} {fmt_pct(med(per[s], 'busy'))}/{fmt_pct(med(per[s], 'client'))}"
                    for s in ("redis", "tallkv")))
            for s in ("redis", "tallkv"):
                b, c = med(per[s], "busy"), med(per[s], "client")
                if b is not None and b < BUSY_WARN_PCT:
                    unsaturated.append(f"{t}/{s}" + (" (client core saturated)"
                                                      if c is not None and c >= BUSY_WARN_PCT else ""))
            for s in ("redis", "tallkv"):
                if fails[s]:
                    notes.append(f"`-P {p}` {t}: {s} failed in {fails[s]} of {n_rounds} rounds "
                                 f"(see {shown}/r*-P{p}-{t}-{s}.err).")

        w("")
        txb = [t for t in tests if meta.get(f"client_{t}") == "txbench" and (p, t) in data]
        client_core = ("redis-benchmark core" if not txb else
                       "client core: redis-benchmark, txbench for " + ", ".join(txb))
        w(f"Core busy %, median (server core / {client_core}): " + "; ".join(busy_cells) + ".")
        if unsaturated:
            w("")
            w(f"Server core below {BUSY_WARN_PCT:.0f}% busy: {', '.join(unsaturated)}. "
              "There throughput and latency are set by the client (one redis-benchmark "
              "thread on one core), by round trips or by other load on the cores, not by "
              "the server alone: "
              "compare CPU µs/req, which does not depend on who is the bottleneck.")

    if lpop_ok:
        w("")
        w(lpop_ok)
    if delex_ok:
        w("")
        w(delex_ok)
    if notes:
        w("")
        w("Notes:")
        w("")
        max_notes = 20
        for n in notes[:max_notes]:
            w(f"- {n}")
        if len(notes) > max_notes:
            w(f"- ... and {len(notes) - max_notes} more (see raw.csv).")
    w("")
    w(f"Raw data: `{shown}/raw.csv` (not committed).")
    return "\n".join(out) + "\n"


def write_section(path, section, name=DEFAULT_SECTION):
    BEGIN, END = markers(name)
    block = f"{BEGIN}\n{section}{END}\n"
    if not path.exists():
        path.write_text(f"# Benchmarks\n\n{block}")
        return
    text = path.read_text()
    b, e = text.find(BEGIN), text.find(END)
    if b == -1 and e == -1:
        path.write_text(text.rstrip("\n") + "\n\n" + block)
        return
    if b == -1 or e == -1 or e < b or text.count(BEGIN) != 1 or text.count(END) != 1:
        raise SystemExit(f"{path}: malformed {BEGIN} / {END} markers; fix by hand")
    # keep everything outside the markers byte for byte
    path.write_text(text[:b] + block.rstrip("\n") + text[e + len(END):])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("run_dir", nargs="?",
                    help="bench-results/SECTION-* directory (default: newest)")
    ap.add_argument("--write", action="store_true",
                    help="replace the bench_SECTION section of BENCHMARKS.md")
    ap.add_argument("--section", help="section name (default: from the run's meta.txt, else "
                    f"{DEFAULT_SECTION}); markers <!-- bench_SECTION:begin/end -->")
    ap.add_argument("--file", default=str(REPO / "BENCHMARKS.md"),
                    help="Markdown file for --write (default: BENCHMARKS.md at the repo root)")
    args = ap.parse_args()

    if args.run_dir:
        run_dir = Path(args.run_dir)
    else:
        prefix = args.section or DEFAULT_SECTION
        runs = sorted((REPO / "bench-results").glob(f"{prefix}-*/raw.csv"))
        if not runs:
            raise SystemExit(f"no bench-results/{prefix}-*/raw.csv found; run tools/bench_core.sh")
        run_dir = runs[-1].parent
    run_dir = run_dir.resolve()
    if not (run_dir / "raw.csv").exists():
        raise SystemExit(f"{run_dir}: no raw.csv")

    name = args.section or read_meta(run_dir).get("section") or DEFAULT_SECTION
    if not re.fullmatch(r"[a-z0-9_]+", name):
        raise SystemExit(f"bad section name: {name!r}")
    section = render(run_dir, name)
    sys.stdout.write(section)
    if args.write:
        write_section(Path(args.file), section, name)
        print(f"\n[bench_report] updated {args.file}", file=sys.stderr)


if __name__ == "__main__":
    main()
