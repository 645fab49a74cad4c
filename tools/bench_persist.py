#!/usr/bin/env python3
"""Persistence benchmark: tallkv (--threads 1, and --threads 2) against Redis 7.0.

Usage (see the "Persistence benchmark" section of BENCHMARKS.md):
    tools/bench_persist.py [--only set,bgsave,load] [--rounds 3] [--size-mb 2048] [--write]
    tools/bench_persist.py --size-mb 50 --rounds 1 --set-scale 0.05      # smoke run, < 1 min

Phases (each selectable with --only; bgsave and load share one data set per server):
  set     SET throughput and server CPU per request with `appendonly yes` and
          `appendfsync everysec`, then `always` (--fsync), at -P 1 and -P 16: redis-benchmark
          -t set -c 50 -n N -r KEYSPACE. Every measurement on a fresh server in a fresh --dir.
          In each round Redis, then tallkv, then tallkv --threads 2 run back to back; ratios
          are tallkv/Redis within a round, median over rounds (min-max).
  bgsave  Each server is filled with a data set (--size-mb of Redis used_memory, or --keys;
          SET key:<12 digits> <--value-size random hex chars>, every key once, by
          tools/txbench). Then, per round: GET latency for --idle-seconds at a fixed rate
          (open loop, tools/txbench --rate, latency from the intended send time), then the same
          load while a BGSAVE runs, from the BGSAVE command until INFO persistence says it
          finished. Reported: p50/p99/p99.9/max idle and during, during/idle ratios, BGSAVE
          duration.
  load    The data set is saved (the last BGSAVE, else SAVE), the server stopped, and then per
          round each server is restarted on its own snapshot; load time = from process start
          until it answers PING and DBSIZE equals the key count.

Pinning: servers on --server-cpus (default 1), clients on --client-cpus (default 0).
Output: Markdown on stdout (--write also replaces <!-- bench_persist:begin/end --> in
BENCHMARKS.md), raw numbers as JSON (--json, default bench-results/persist-<time>/raw.json),
progress on stderr. A server that lacks a feature (e.g. -ERR unknown command for BGSAVE, or
`appendonly yes` accepted but no journal active) gets "n/a" cells and a note saying why;
the other servers are still measured. Standard library only.
"""

import argparse
import array
import csv
import io
import json
import math
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.dont_write_bytecode = True  # no tools/__pycache__ from importing bench_report
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_report import markers, write_section  # noqa: E402

SECTION = "persist"
BEGIN, END = markers(SECTION)
TXBENCH = REPO / "target/txbench/release/txbench"
CLK_TCK = os.sysconf("SC_CLK_TCK")
SERVERS = ("redis", "tallkv", "tallkv2")
LABEL = {"redis": "Redis", "tallkv": "tallkv 1t", "tallkv2": "tallkv 2t"}
# requests per SET run (before --set-scale), by appendfsync mode and pipeline depth
SET_REQUESTS = {("off", 1): 200_000, ("off", 16): 1_000_000,
                ("no", 1): 200_000, ("no", 16): 1_000_000,
                ("everysec", 1): 200_000, ("everysec", 16): 1_000_000,
                ("always", 1): 30_000, ("always", 16): 300_000}


def log(msg):
    print(f"[bench_persist {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


class Unsupported(Exception):
    """A server lacks what a measurement needs; reported as n/a, not a crash."""


# ------------------------------------------------------------------ RESP ---

def encode(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


class RespError(Exception):
    pass


class Conn:
    def __init__(self, port, timeout=600.0):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass

    def _fill(self):
        chunk = self.s.recv(1 << 16)
        if not chunk:
            raise ConnectionError("server closed the connection")
        self.buf += chunk

    def _line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def reply(self):
        line = self._line()
        t, rest = line[:1], line[1:]
        if t == b"+":
            return rest.decode()
        if t == b"-":
            return RespError(rest.decode(errors="replace"))
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            if n < 0:
                return None
            while len(self.buf) < n + 2:
                self._fill()
            data, self.buf = self.buf[:n], self.buf[n + 2:]
            return data
        if t == b"*":
            n = int(rest)
            return None if n < 0 else [self.reply() for _ in range(n)]
        raise ConnectionError(f"bad reply line {line!r}")

    def cmd(self, *args):
        """Sends one command; returns the reply (a RespError value for error replies)."""
        self.s.sendall(encode(*args))
        return self.reply()

    def ok(self, *args):
        """Like cmd, but an error reply raises RespError."""
        r = self.cmd(*args)
        if isinstance(r, RespError):
            raise r
        return r


def info(conn, section):
    r = conn.ok("INFO", section)
    out = {}
    for line in (r.decode() if isinstance(r, bytes) else r).splitlines():
        if ":" in line and not line.startswith("#"):
            k, v = line.split(":", 1)
            out[k] = v.strip()
    return out


# ------------------------------------------------------------ processes ---

def cpu_ticks(pid, children=False):
    """utime+stime of a process (all its threads; with children, also reaped children)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # after the ")": fields[0] is state (field 3); utime is field 14 -> index 11
    t = int(fields[11]) + int(fields[12])
    if children:
        t += int(fields[13]) + int(fields[14])
    return t


def rss_mb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def dir_bytes(path):
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            try:
                total += os.path.getsize(os.path.join(root, name))
            except OSError:
                pass
    return total


class Server:
    """One server process (redis, tallkv or tallkv2) on its own port and data directory."""

    def __init__(self, name, args, workdir):
        self.name = name
        self.args = args
        self.port = args.base_port + SERVERS.index(name)
        self.dir = workdir / name
        self.log_path = workdir / f"{name}.log"
        self.proc = None
        self.cpus = args.tallkv2_cpus if name == "tallkv2" else args.server_cpus

    def argv(self, appendonly="no", fsync="everysec"):
        a = self.args
        if self.name == "redis":
            cmd = ["redis-server", "--port", str(self.port), "--dir", str(self.dir),
                   "--save", "", "--daemonize", "no", "--logfile", "",
                   "--appendonly", appendonly]
            if appendonly == "yes":
                # no automatic journal rewrite during a measurement, for either server
                cmd += ["--appendfsync", fsync, "--auto-aof-rewrite-percentage", "0"]
            if a.redis_bgsave_cpulist:
                cmd += ["--bgsave_cpulist", a.redis_bgsave_cpulist]
        else:
            threads = "2" if self.name == "tallkv2" else "1"
            cmd = [str(a.tallkv_bin), "--port", str(self.port), "--threads", threads,
                   "--dir", str(self.dir), "--save", "", "--appendonly", appendonly]
            if appendonly == "yes":
                cmd += ["--appendfsync", fsync, "--auto-aof-rewrite-percentage", "0"]
        return ["taskset", "-c", self.cpus] + cmd

    def start(self, appendonly="no", fsync="everysec", fresh=True, wait=True):
        if fresh and self.dir.exists():
            shutil.rmtree(self.dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        argv = self.argv(appendonly, fsync)
        self.cmdline = " ".join(q(x) for x in argv)
        logf = open(self.log_path, "ab")
        self.log_offset = logf.tell()
        logf.write(f"\n==== {time.strftime('%H:%M:%S')} {self.cmdline}\n".encode())
        logf.flush()
        self.t_start = time.monotonic()
        self.proc = subprocess.Popen(argv, stdout=logf, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        logf.close()
        if wait:
            self.wait_ready()
        return self

    def log_tail(self, n=3):
        """The last lines the current process logged (its own start only)."""
        try:
            with open(self.log_path, "rb") as f:
                f.seek(getattr(self, "log_offset", 0))
                text = f.read().decode(errors="replace")
        except OSError:
            return ""
        lines = [x.strip() for x in text.splitlines()
                 if x.strip() and not x.startswith("==== ") and "FATAL CONFIG" not in x]
        return " | ".join(lines[-n:]) or "(nothing logged)"

    def wait_ready(self, timeout=30.0, expect_keys=None, poll=0.005):
        """Waits until PING answers +PONG (and DBSIZE == expect_keys, if given).
        Returns seconds since the process started."""
        deadline = time.monotonic() + timeout
        conn = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise Unsupported(f"{self.name} exited with status {self.proc.returncode} at "
                                  f"startup: {self.log_tail()}")
            try:
                if conn is None:
                    conn = Conn(self.port, timeout=5)
                if conn.cmd("PING") == "PONG":
                    if expect_keys is None:
                        conn.close()
                        return time.monotonic() - self.t_start
                    n = conn.cmd("DBSIZE")
                    if n == expect_keys:
                        t = time.monotonic() - self.t_start
                        conn.close()
                        return t
            except (OSError, ConnectionError):
                if conn is not None:
                    conn.close()
                conn = None
            time.sleep(poll)
        if conn is not None:
            conn.close()
        raise Unsupported(f"{self.name} not ready after {timeout:.0f} s"
                          + (f" (DBSIZE != {expect_keys})" if expect_keys is not None else ""))

    def conn(self):
        return Conn(self.port)

    def pid(self):
        return self.proc.pid

    def stop(self, timeout=120):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                log(f"{self.name} did not stop in {timeout} s after SIGTERM; SIGKILL")
                self.proc.kill()
                self.proc.wait()
        self.proc = None


def shown(srv, argv):
    """A server command line for the report: DIR for its temporary data dir."""
    text = " ".join(q(x) for x in argv).replace(str(srv.dir), "DIR")
    return text.replace(str(REPO) + "/", "")


def q(s):
    s = str(s)
    if s == "":
        return "''"
    if all(c.isalnum() or c in "-_./:=,@%+" for c in s):
        return s
    return "'" + s.replace("'", "'\\''") + "'"


def run(cmd, timeout=3600, stdin=None):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, stdin=stdin)


# ------------------------------------------------------------- helpers ---

def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def ratio(a, b):
    return a / b if a is not None and b not in (None, 0) else None


def fmt_ratio(xs):
    xs = [x for x in xs if x is not None]
    if not xs:
        return "n/a"
    m = statistics.median(xs)
    return f"{m:.2f}" if len(xs) == 1 else f"{m:.2f} ({min(xs):.2f}–{max(xs):.2f})"


def fmt_num(v, digits=3):
    if v is None:
        return "n/a"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:.{digits}f}"


def check_journal(srv, fsync):
    """Raises Unsupported unless the server reports its journal active with these settings."""
    c = srv.conn()
    try:
        persist = info(c, "persistence")
        got = c.cmd("CONFIG", "GET", "appendfsync")
    finally:
        c.close()
    if persist.get("aof_enabled") != "1":
        raise Unsupported(f"{srv.name}: started with `appendonly yes` but INFO persistence "
                          f"aof_enabled is {persist.get('aof_enabled', 'missing')!r} "
                          "(journal not active)")
    if isinstance(got, list) and len(got) == 2 and got[1] != fsync.encode():
        raise Unsupported(f"{srv.name}: CONFIG GET appendfsync is {got[1]!r}, not {fsync}")


def redis_benchmark_row(out):
    rows = [r for r in csv.reader(io.StringIO(out)) if r and r[0] != "test"]
    if not rows:
        return None
    r = rows[-1]
    return {"rps": float(r[1]), "avg_ms": float(r[2]), "p50_ms": float(r[4]),
            "p95_ms": float(r[5]), "p99_ms": float(r[6]), "max_ms": float(r[7])}


# ------------------------------------------------------------ phase: set ---

def phase_set(args, servers, results, commands):
    modes = [m for m in args.fsync.split(",") if m]
    pipes = [int(p) for p in args.pipelines.split(",") if p]
    out = results.setdefault("set", [])
    commands.append("# SET: per measurement a fresh server in an empty --dir; appendonly yes "
                    "(FSYNC = everysec, always; 'off' = appendonly no)")
    for srv in servers.values():
        commands.append(shown(srv, srv.argv("yes", "FSYNC")))
    commands.append(f"taskset -c {args.client_cpus} redis-benchmark -p PORT -c {args.clients} "
                    f"-n N -r {args.keyspace} -d {args.set_data_size} -P DEPTH -t set --csv")
    for mode in modes:
        for p in pipes:
            n = max(1000, int(SET_REQUESTS.get((mode, p), 200_000) * args.set_scale))
            for rnd in range(1, args.rounds + 1):
                for name, srv in servers.items():
                    row = {"round": rnd, "fsync": mode, "pipeline": p, "server": name,
                           "requests": n, "status": "ok"}
                    out.append(row)
                    try:
                        appendonly = "no" if mode == "off" else "yes"
                        srv.start(appendonly, "everysec" if mode == "off" else mode)
                        if mode != "off":
                            try:
                                check_journal(srv, mode)
                            except Unsupported:
                                if not args.allow_inactive_journal:
                                    raise
                                row["warning"] = "journal not active (--allow-inactive-journal)"
                        pid = srv.pid()
                        c0, t0 = cpu_ticks(pid), time.monotonic()
                        r = run(["taskset", "-c", args.client_cpus, "redis-benchmark",
                                 "-p", str(srv.port), "-c", str(args.clients), "-n", str(n),
                                 "-r", str(args.keyspace), "-d", str(args.set_data_size),
                                 "-P", str(p), "-t", "set", "--csv"], timeout=args.timeout)
                        t1 = time.monotonic()
                        c1 = cpu_ticks(pid)
                        parsed = redis_benchmark_row(r.stdout)
                        if r.returncode != 0 or parsed is None:
                            raise Unsupported(f"redis-benchmark failed (rc {r.returncode}): "
                                              f"{(r.stderr or r.stdout).strip()[-300:]}")
                        if srv.proc.poll() is not None:
                            raise Unsupported(f"{name} died during the run: {srv.log_tail()}")
                        c = srv.conn()
                        dbsize = c.cmd("DBSIZE")
                        persist = info(c, "persistence")
                        c.close()
                        row.update(parsed)
                        row["cpu_ticks"] = c1 - c0
                        row["cpu_us_per_req"] = (c1 - c0) * 1e6 / CLK_TCK / n
                        row["wall_s"] = t1 - t0
                        row["busy_pct"] = (c1 - c0) / CLK_TCK / (t1 - t0) * 100
                        row["dbsize"] = dbsize
                        row["aof_delayed_fsync"] = persist.get("aof_delayed_fsync")
                        row["dir_bytes"] = dir_bytes(srv.dir)
                        log(f"set {mode} -P {p} r{rnd} {name}: {parsed['rps']:,.0f} rps, "
                            f"p99 {parsed['p99_ms']} ms, {row['cpu_us_per_req']:.2f} µs/req, "
                            f"busy {row['busy_pct']:.0f}%, dir {row['dir_bytes'] / 1e6:.1f} MB")
                    except (Unsupported, RespError, OSError, ConnectionError,
                            subprocess.TimeoutExpired) as e:
                        row["status"] = str(e) or type(e).__name__
                        log(f"set {mode} -P {p} r{rnd} {name}: n/a: {row['status']}")
                    finally:
                        srv.stop()


def render_set(args, results, names):
    rows = results.get("set", [])
    if not rows:
        return []
    w = []
    w.append("### SET with `appendonly yes`: throughput and server CPU per request")
    w.append("")
    w.append(f"redis-benchmark `-t set -c {args.clients} -r {args.keyspace} "
             f"-d {args.set_data_size}`; a fresh server in an empty --dir per run. "
             "Ratios: tallkv/Redis within a round, median over rounds (min–max). "
             "Throughput ratio > 1 and CPU ratio < 1: tallkv better.")
    w.append("")
    tk = [n for n in names if n != "redis"]
    head = ["appendfsync", "-P", "requests"]
    head += [f"{LABEL[n]} rps" for n in names]
    head += [f"{LABEL[n]} rps ratio" for n in tk if "redis" in names]
    head += [f"{LABEL[n]} p99 ms" for n in names]
    head += [f"{LABEL[n]} CPU µs/req" for n in names]
    head += [f"{LABEL[n]} CPU ratio" for n in tk if "redis" in names]
    w.append("| " + " | ".join(head) + " |")
    w.append("|" + "|".join(["---"] * 2 + ["---:"] * (len(head) - 2)) + "|")
    notes, busy, failed = [], [], {}
    keys = []
    for r in rows:
        k = (r["fsync"], r["pipeline"])
        if k not in keys:
            keys.append(k)
    for mode, p in keys:
        sel = [r for r in rows if r["fsync"] == mode and r["pipeline"] == p]
        by = {}
        for r in sel:
            by.setdefault(r["round"], {})[r["server"]] = r
        ok = {n: [r for r in sel if r["server"] == n and r["status"] == "ok"] for n in names}
        for n in names:
            for r in sel:
                if r["server"] == n and r["status"] != "ok":
                    failed.setdefault((n, r["status"]), []).append(f"`{mode}` -P {p} r{r['round']}")
            warn = [r for r in ok[n] if r.get("warning")]
            if warn:
                notes.append(f"`{mode}` -P {p}, {LABEL[n]}: {warn[0]['warning']} — "
                             "these numbers are NOT with a journal")

        def cell(n, key, digits=3):
            return fmt_num(med([r.get(key) for r in ok[n]]), digits) if ok[n] else "n/a"

        def ratios(n, key):
            xs = []
            for rd in by.values():
                a, b = rd.get(n), rd.get("redis")
                if a and b and a["status"] == "ok" and b["status"] == "ok":
                    xs.append(ratio(a.get(key), b.get(key)))
            return fmt_ratio(xs)

        reqs = sorted({r["requests"] for r in sel})
        line = [f"`{mode}`", str(p), "/".join(f"{x:,}" for x in reqs)]
        line += [cell(n, "rps") for n in names]
        line += [ratios(n, "rps") for n in tk if "redis" in names]
        line += [cell(n, "p99_ms") for n in names]
        line += [cell(n, "cpu_us_per_req") for n in names]
        line += [ratios(n, "cpu_us_per_req") for n in tk if "redis" in names]
        w.append("| " + " | ".join(line) + " |")
        busy.append(f"`{mode}` -P {p}: " + ", ".join(
            f"{LABEL[n]} {fmt_num(med([r['busy_pct'] for r in ok[n]]), 0)}% busy, "
            f"{fmt_num(med([r['dir_bytes'] / max(1, r['requests']) for r in ok[n]]), 1)} B/req on disk"
            for n in names if ok[n]))
    total = len({(r["fsync"], r["pipeline"], r["round"]) for r in rows})
    for (n, status), where in failed.items():
        notes.append(f"{LABEL[n]}: n/a in " + (f"all {total} runs" if len(where) == total
                                               else ", ".join(where)) + f": {status}")
    w.append("")
    w.append("Server CPU busy (CPU time / wall time; below 100% the server waited, e.g. for "
             "fsync or the client) and files in --dir after the run per request: "
             + "; ".join(busy) + ".")
    if notes:
        w.append("")
        w.append("Notes:")
        w.append("")
        w += [f"- {n}" for n in notes]
    w.append("")
    return w


# ----------------------------------------------------- phase: bgsave/load ---

def txbench(args, port, extra, pin=True):
    cmd = ["taskset", "-c", args.client_cpus] if pin else []
    return cmd + [str(TXBENCH), "-p", str(port)] + extra


def fill(args, srv, keys, commands):
    """SET key:<seq> <random hex>, every key once. Returns seconds."""
    cmd = txbench(args, srv.port, ["-c", "4", "-P", "1000", "-n", str(keys), "-q", "--",
                                   "SET", "key:__seq_int__", f"__rand_hex_{args.value_size}__"],
                  pin=False)
    line = (f"target/txbench/release/txbench -p PORT -c 4 -P 1000 -n KEYS -q -- "
            f"SET key:__seq_int__ __rand_hex_{args.value_size}__   # fill: every key once")
    if line not in commands:
        commands.append(line)
    t0 = time.monotonic()
    r = run(cmd, timeout=args.timeout)
    if r.returncode != 0:
        raise Unsupported(f"fill failed: {(r.stderr or r.stdout).strip()[-300:]}")
    return time.monotonic() - t0


def used_memory(srv):
    c = srv.conn()
    try:
        return int(info(c, "memory").get("used_memory", "0"))
    finally:
        c.close()


def calibrate_keys(args, srv):
    """Keys needed for --size-mb of used_memory on this server (Redis, normally)."""
    sample = 200_000
    base = used_memory(srv)
    fill(args, srv, sample, [])
    per_key = (used_memory(srv) - base) / sample
    c = srv.conn()
    c.ok("FLUSHALL")
    c.close()
    keys = int(args.size_mb * 1024 * 1024 / per_key)
    log(f"calibration on {srv.name}: {per_key:.1f} B of used_memory per key "
        f"-> {keys:,} keys for {args.size_mb} MiB")
    return max(keys, 1000)


def latencies(path, t_from=None, t_to=None):
    """Reads a txbench --latency-out file; returns (latency from intended, from send) in ms,
    for requests whose intended send time is in [t_from, t_to] (ns since the epoch)."""
    a = array.array("Q")
    with open(path, "rb") as f:
        a.frombytes(f.read())
    if sys.byteorder != "little":
        a.byteswap()
    lat, sent = [], []
    for i in range(0, len(a) - 2, 3):
        t = a[i]
        if (t_from is None or t >= t_from) and (t_to is None or t <= t_to):
            lat.append(a[i + 1] / 1e6)
            sent.append(a[i + 2] / 1e6)
    return lat, sent


def pcts(vals):
    if not vals:
        return {"count": 0, "p50": None, "p99": None, "p999": None, "max": None}
    v = sorted(vals)
    n = len(v)

    def p(x):
        return v[min(n - 1, max(0, math.ceil(x * n) - 1))]

    return {"count": n, "p50": p(0.50), "p99": p(0.99), "p999": p(0.999), "max": v[-1]}


def get_load_cmd(args, srv, seconds, path, stdin_stop=False):
    extra = ["-c", str(args.get_conns), "--rate", str(args.get_rate), "-d", str(seconds),
             "-r", str(args.keys_used), "-q", "--latency-out", str(path)]
    if stdin_stop:
        extra.append("--stdin-stop")
    return txbench(args, srv.port, extra + ["--", "GET", "key:__rand_int__"])


def bgsave_round(args, srv, rnd, work, row):
    # idle
    idle_path = work / f"lat-{srv.name}-r{rnd}-idle.bin"
    r = run(get_load_cmd(args, srv, args.idle_seconds, idle_path), timeout=args.timeout)
    if r.returncode != 0:
        raise Unsupported(f"GET load failed: {(r.stderr or r.stdout).strip()[-300:]}")
    lat, sent = latencies(idle_path)
    row["idle"] = pcts(lat)
    row["idle_from_send"] = pcts(sent)
    row["idle_client"] = r.stderr.strip()
    # during BGSAVE
    bg_path = work / f"lat-{srv.name}-r{rnd}-bgsave.bin"
    load = subprocess.Popen(get_load_cmd(args, srv, 24 * 3600, bg_path, stdin_stop=True),
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    err = None
    try:
        time.sleep(args.warmup_seconds)
        c = srv.conn()
        before = info(c, "persistence")
        lastsave0 = c.cmd("LASTSAVE")
        pid = srv.pid()
        cpu0 = cpu_ticks(pid, children=True)
        t_from = time.time_ns()
        t0 = time.monotonic()
        reply = c.cmd("BGSAVE")
        if isinstance(reply, RespError):
            err = f"BGSAVE replied -{reply}"
        else:
            seen = False
            while True:
                p = info(c, "persistence")
                if p.get("rdb_bgsave_in_progress") == "1":
                    seen = True
                elif p.get("rdb_bgsave_in_progress") == "0":
                    if (seen or c.cmd("LASTSAVE") != lastsave0
                            or p.get("rdb_saves", "0") != before.get("rdb_saves", "0")):
                        break
                else:
                    err = ("INFO persistence has no rdb_bgsave_in_progress field: cannot tell "
                           "when BGSAVE ends")
                    break
                if time.monotonic() - t0 > args.bgsave_timeout:
                    err = f"BGSAVE still running after {args.bgsave_timeout} s"
                    break
                time.sleep(args.poll_seconds)
        t1 = time.monotonic()
        t_to = time.time_ns()
        cpu1 = cpu_ticks(pid, children=True)
        if err is None:
            if p.get("rdb_last_bgsave_status", "ok") != "ok":
                err = f"rdb_last_bgsave_status:{p.get('rdb_last_bgsave_status')}"
            stats = info(c, "stats")
            row["bgsave_s"] = t1 - t0
            row["bgsave_reply"] = reply
            row["rdb_last_bgsave_time_sec"] = p.get("rdb_last_bgsave_time_sec")
            row["latest_fork_usec"] = stats.get("latest_fork_usec")
            row["server_cpu_s"] = (cpu1 - cpu0) / CLK_TCK
        c.close()
    finally:
        try:
            # closes its stdin: txbench --stdin-stop ends the load
            out, stderr = load.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            load.kill()
            out, stderr = load.communicate()
    if err:
        raise Unsupported(err)
    if load.returncode != 0:
        raise Unsupported(f"GET load failed: {stderr.strip()[-300:]}")
    lat, sent = latencies(bg_path, t_from, t_to)
    row["during"] = pcts(lat)
    row["during_from_send"] = pcts(sent)
    row["during_client"] = stderr.strip()
    for k in ("p50", "p99", "p999", "max"):
        row[f"ratio_{k}"] = ratio(row["during"][k], row["idle"][k])
    for path in (idle_path, bg_path):
        if not args.keep:
            path.unlink(missing_ok=True)
    log(f"bgsave r{rnd} {srv.name}: BGSAVE {row['bgsave_s']:.2f} s; GET p99.9 idle "
        f"{fmt_num(row['idle']['p999'])} ms, during {fmt_num(row['during']['p999'])} ms "
        f"({row['during']['count']} GETs); max {fmt_num(row['idle']['max'])} -> "
        f"{fmt_num(row['during']['max'])} ms")


def phase_data(args, servers, results, commands, work, phases):
    """Fill each server, run the BGSAVE rounds, save; then the load rounds."""
    ds = results.setdefault("dataset", {})
    bg = results.setdefault("bgsave", [])
    ld = results.setdefault("load", [])
    keys = args.keys
    saved = {}
    commands.append("# data set, BGSAVE latency, load: appendonly no")
    for srv in servers.values():
        commands.append(shown(srv, srv.argv("no")))
    if "bgsave" in phases:
        commands.append(f"taskset -c {args.client_cpus} target/txbench/release/txbench -p PORT "
                        f"-c {args.get_conns} --rate {args.get_rate} -d SECONDS -r KEYS "
                        "--latency-out FILE -- GET key:__rand_int__   # idle; during BGSAVE "
                        "the same with --stdin-stop until INFO persistence "
                        "rdb_bgsave_in_progress:0")
    for name, srv in servers.items():
        d = ds.setdefault(name, {"status": "ok"})
        try:
            srv.start("no")
            if keys is None:
                keys = calibrate_keys(args, srv)
                results["keys"] = keys
            args.keys_used = keys
            d["keys"] = keys
            d["fill_s"] = fill(args, srv, keys, commands)
            c = srv.conn()
            n = c.cmd("DBSIZE")
            c.close()
            if n != keys:
                raise Unsupported(f"DBSIZE after the fill is {n}, expected {keys}")
            time.sleep(1)
            d["used_memory_mb"] = used_memory(srv) / 2**20
            d["rss_mb"] = rss_mb(srv.pid())
            log(f"{name}: {keys:,} keys in {d['fill_s']:.1f} s, used_memory "
                f"{d['used_memory_mb']:.0f} MiB, RSS {d['rss_mb']:.0f} MiB")
            bgsave_ok = False
            if "bgsave" in phases:
                for rnd in range(1, args.rounds + 1):
                    row = {"round": rnd, "server": name, "status": "ok"}
                    bg.append(row)
                    try:
                        bgsave_round(args, srv, rnd, work, row)
                        bgsave_ok = True
                    except (Unsupported, RespError, OSError, ConnectionError,
                            subprocess.TimeoutExpired) as e:
                        row["status"] = str(e) or type(e).__name__
                        log(f"bgsave r{rnd} {name}: n/a: {row['status']}")
                        if srv.proc.poll() is not None:
                            raise Unsupported(f"{name} died: {srv.log_tail()}")
                        if "BGSAVE replied" in row["status"] or "no rdb_bgsave" in row["status"]:
                            break  # the same answer every round
            if "load" in phases:
                if not bgsave_ok:
                    c = srv.conn()
                    t0 = time.monotonic()
                    r = c.cmd("SAVE")
                    d["save_s"] = time.monotonic() - t0
                    c.close()
                    if isinstance(r, RespError):
                        raise Unsupported(f"SAVE replied -{r}")
                    log(f"{name}: SAVE in {d['save_s']:.1f} s")
                d["snapshot_mb"] = dir_bytes(srv.dir) / 2**20
                saved[name] = keys
        except (Unsupported, RespError, OSError, ConnectionError,
                subprocess.TimeoutExpired) as e:
            d["status"] = str(e) or type(e).__name__
            log(f"{name}: data set n/a: {d['status']}")
        finally:
            srv.stop()

    if "load" not in phases:
        return
    commands.append("# load: restart on the saved --dir; time from process start until PING "
                    "answers +PONG and DBSIZE = KEYS (polled every "
                    f"{args.load_poll_ms} ms)")
    if args.drop_caches:
        commands.append("sync; echo 3 > /proc/sys/vm/drop_caches   # before every start")
    for rnd in range(1, args.rounds + 1):
        for name, srv in servers.items():
            row = {"round": rnd, "server": name, "status": "ok"}
            ld.append(row)
            if name not in saved:
                row["status"] = f"no saved data set ({ds.get(name, {}).get('status', 'not run')})"
                continue
            try:
                if args.drop_caches:
                    os.sync()
                    with open("/proc/sys/vm/drop_caches", "w") as f:
                        f.write("3\n")
                srv.start("no", fresh=False, wait=False)
                row["load_s"] = srv.wait_ready(timeout=args.load_timeout,
                                               expect_keys=saved[name],
                                               poll=args.load_poll_ms / 1000)
                row["cpu_s"] = cpu_ticks(srv.pid()) / CLK_TCK
                row["rss_mb"] = rss_mb(srv.pid())
                log(f"load r{rnd} {name}: {row['load_s']:.2f} s, CPU {row['cpu_s']:.2f} s")
            except (Unsupported, OSError) as e:
                row["status"] = str(e) or type(e).__name__
                log(f"load r{rnd} {name}: n/a: {row['status']}")
            finally:
                srv.stop()
    # baseline: start on an empty --dir
    for name, srv in servers.items():
        try:
            empty = Server(name, args, work / "empty")
            empty.start("no", wait=False)
            results.setdefault("empty_start_s", {})[name] = empty.wait_ready(expect_keys=0)
            empty.stop()
        except (Unsupported, OSError) as e:
            log(f"empty start {name}: {e}")


def ok_rounds(rows, name, notes):
    """The rounds of server `name` that went well; a note for those that did not."""
    ok = [r for r in rows if r["server"] == name and r["status"] == "ok"]
    bad = [r for r in rows if r["server"] == name and r["status"] != "ok"]
    if bad:
        notes.append(f"{LABEL[name]}: n/a in {len(bad)} of {len(bad) + len(ok)} rounds: "
                     f"{bad[0]['status']}")
    return ok


def render_bgsave(args, results, names):
    rows = results.get("bgsave", [])
    if not rows:
        return []
    ds = results.get("dataset", {})
    w = ["### GET latency while BGSAVE runs", ""]
    w.append(f"Data set: {results.get('keys', 0):,} keys `key:<12 digits>`, values of "
             f"{args.value_size} random hex characters; "
             + "; ".join(f"{LABEL[n]} used_memory {fmt_num(ds[n].get('used_memory_mb'), 0)} MiB, "
                         f"RSS {fmt_num(ds[n].get('rss_mb'), 0)} MiB"
                         for n in names if n in ds and ds[n].get("used_memory_mb")) + ".")
    w.append(f"GETs of random existing keys, open loop at {args.get_rate:,}/s over "
             f"{args.get_conns} connections (tools/txbench `--rate`; latency from each "
             "request's intended send time, so a stall counts for every request it delays). "
             f"Idle: {args.idle_seconds} s. During: from the BGSAVE command until INFO "
             "persistence `rdb_bgsave_in_progress:0`. Medians over rounds; ratios during/idle "
             "per round, median (min–max). Ratio ≤ 2 for p99.9 is the issue's target.")
    w.append("")
    w.append("| server | phase | GETs | p50 ms | p99 ms | p99.9 ms | max ms |")
    w.append("|---|---|---:|---:|---:|---:|---:|")
    notes = []
    summary = []
    for n in names:
        ok = ok_rounds(rows, n, notes)
        if n in ds and ds[n]["status"] != "ok":
            notes.append(f"{LABEL[n]}: no data set: {ds[n]['status']}")
        for phase, label in (("idle", "idle"), ("during", "during BGSAVE")):
            if not ok:
                w.append(f"| {LABEL[n]} | {label} | n/a | n/a | n/a | n/a | n/a |")
                continue
            cnt = med([r[phase]["count"] for r in ok])
            w.append(f"| {LABEL[n]} | {label} | {fmt_num(cnt, 0)} | "
                     + " | ".join(fmt_num(med([r[phase][k] for r in ok]))
                                  for k in ("p50", "p99", "p999", "max")) + " |")
        if ok:
            fork = med([float(r["latest_fork_usec"]) / 1000 for r in ok
                        if r.get("latest_fork_usec") not in (None, "")])
            summary.append(
                f"| {LABEL[n]} | {fmt_num(med([r['bgsave_s'] for r in ok]), 2)} "
                f"| {fmt_ratio([r['ratio_p99'] for r in ok])} "
                f"| {fmt_ratio([r['ratio_p999'] for r in ok])} "
                f"| {fmt_ratio([r['ratio_max'] for r in ok])} "
                f"| {fmt_num(fork, 1) if fork is not None else '—'} "
                f"| {fmt_num(med([r['server_cpu_s'] for r in ok]), 2)} |")
        else:
            summary.append(f"| {LABEL[n]} | n/a | n/a | n/a | n/a | n/a | n/a |")
    w.append("")
    w.append("| server | BGSAVE s | p99 during/idle | p99.9 during/idle | max during/idle "
             "| fork ms (Redis `latest_fork_usec`) | server CPU s during BGSAVE |")
    w.append("|---|---:|---:|---:|---:|---:|---:|")
    w += summary
    w.append("")
    w.append("Server CPU during BGSAVE: utime+stime of the server process and its reaped "
             "children (Redis's fork child), over the BGSAVE window, GET serving included. "
             + ("Redis's BGSAVE child runs on CPUs " + args.redis_bgsave_cpulist
                + " (`bgsave_cpulist`)." if args.redis_bgsave_cpulist else
                "Redis's BGSAVE child inherits the server's CPU pinning (CPU "
                + args.server_cpus + "), so it shares the core with the main thread, as "
                "tallkv's snapshot shares its shard's thread."))
    lag = []
    for r in rows:
        if r["status"] == "ok":
            for k in ("idle_client", "during_client"):
                t = r.get(k, "")
                if "late)" in t:
                    try:
                        lag.append(float(t.split("at most ")[1].split(" ms")[0]))
                    except (IndexError, ValueError):
                        pass
    if lag:
        w.append("")
        w.append(f"Load generator: its sender was at most {max(lag):.1f} ms behind schedule "
                 "in any run (that delay is counted in the latencies; if it is large, the "
                 "client core was busy).")
    if notes:
        w += ["", "Notes:", ""] + [f"- {x}" for x in notes]
    w.append("")
    return w


def render_load(args, results, names):
    rows = results.get("load", [])
    if not rows:
        return []
    ds = results.get("dataset", {})
    empty = results.get("empty_start_s", {})
    w = ["### Load time at startup", ""]
    sizes = "; ".join(f"{LABEL[n]} used_memory {fmt_num(ds[n].get('used_memory_mb'), 0)} MiB"
                      for n in names if n in ds and ds[n].get("used_memory_mb"))
    w.append(f"Each server restarted on its own snapshot of the data set "
             f"({results.get('keys', 0):,} keys `key:<12 digits>` with {args.value_size} random "
             f"hex characters each; {sizes}; Redis: dump.rdb, tallkv: its SAVE/BGSAVE "
             "snapshot). Load time: from process start until PING answers +PONG and DBSIZE "
             f"equals the key count (polled every {args.load_poll_ms} ms). "
             + ("Page cache dropped before every start." if args.drop_caches else
                "Snapshot files in the page cache (not dropped), for both servers.")
             + " Ratio: tallkv/Redis within a round, median (min–max); < 1: tallkv faster.")
    w.append("")
    w.append("| server | snapshot MiB | load s | ratio vs Redis | CPU s while loading "
             "| RSS after MiB | start on an empty dir s |")
    w.append("|---|---:|---:|---:|---:|---:|---:|")
    notes = []
    for n in names:
        ok = ok_rounds(rows, n, notes)
        xs = []
        if n != "redis":
            for r in ok:
                b = next((x for x in rows if x["server"] == "redis" and x["round"] == r["round"]
                          and x["status"] == "ok"), None)
                if b:
                    xs.append(ratio(r["load_s"], b["load_s"]))
        w.append(f"| {LABEL[n]} | {fmt_num(ds.get(n, {}).get('snapshot_mb'), 0)} "
                 f"| {fmt_num(med([r['load_s'] for r in ok]), 2) if ok else 'n/a'} "
                 f"| {'—' if n == 'redis' else fmt_ratio(xs)} "
                 f"| {fmt_num(med([r['cpu_s'] for r in ok]), 2) if ok else 'n/a'} "
                 f"| {fmt_num(med([r['rss_mb'] for r in ok]), 0) if ok else 'n/a'} "
                 f"| {fmt_num(empty.get(n), 3)} |")
    if notes:
        w += ["", "Notes:", ""] + [f"- {x}" for x in notes]
    w.append("")
    return w


# ---------------------------------------------------------------- main ---

def cpu_busy_pct(seconds=1.0):
    """Per-CPU busy % over `seconds` from /proc/stat (other load on the benchmark cores)."""
    def snap():
        out = {}
        with open("/proc/stat") as f:
            for line in f:
                if line.startswith("cpu") and line[3].isdigit():
                    v = [int(x) for x in line.split()[1:]]
                    out[line.split()[0]] = (sum(v), v[3] + v[4])  # total, idle + iowait
        return out
    a = snap()
    time.sleep(seconds)
    b = snap()
    return {c: round(100 * (1 - (b[c][1] - a[c][1]) / max(1, b[c][0] - a[c][0])))
            for c in a if c in b}


def meta(args):
    def sh(cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True, cwd=REPO,
                                  timeout=10).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            return "?"
    commit = sh(["git", "rev-parse", "--short", "HEAD"])
    if sh(["git", "status", "--porcelain", "--untracked-files=no"]):
        commit += "-dirty"
    cpu = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "?"
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 2**20:.0f} GiB"
    except OSError:
        pass
    return {"date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
            "commit": commit, "redis": sh(["redis-server", "--version"]),
            "tallkv": sh([str(args.tallkv_bin), "--version"]), "cpu": cpu, "mem": mem,
            "nproc": os.cpu_count(), "kernel": os.uname().release,
            "background": ", ".join(f"{c}={v}%" for c, v in cpu_busy_pct().items()),
            "fs": " ".join(" ".join(sh(["df", "--output=source,fstype",
                                        str(args.workdir_root)]).splitlines()[-1:]).split())}


def render(args, results, names, m, commands):
    w = ["## Persistence benchmark: tallkv vs Redis", ""]
    w.append(f"- Date: {m['date']}; machine: {m['nproc']} CPUs, {m['cpu']}, {m['mem']} RAM, "
             f"kernel {m['kernel']}")
    w.append(f"- tallkv: commit `{m['commit']}` (`{m['tallkv']}`); Redis: `{m['redis']}`")
    w.append(f"- Servers pinned to CPU {args.server_cpus}"
             + (f" (tallkv 2t: CPUs {args.tallkv2_cpus})" if args.tallkv2_cpus != args.server_cpus
                else " (tallkv 2t: both threads on that one CPU)")
             + f", load generators to CPU {args.client_cpus}; loopback TCP; each server in its "
             f"own temporary --dir (on {m['fs']}). Rounds: {args.rounds}. "
             "CPU = server process utime+stime from /proc/PID/stat (all threads), "
             f"{CLK_TCK} Hz ticks.")
    w.append(f"- Load on the CPUs in the second before the run: {m['background']} "
             "(anything but a few % means other work ran beside the benchmark).")
    w.append(f"- Command: `{' '.join(q(x) for x in sys.argv)}`")
    w.append("")
    w += render_set(args, results, names)
    w += render_bgsave(args, results, names)
    w += render_load(args, results, names)
    w.append("Commands:")
    w.append("")
    w.append("```sh")
    w += commands
    w.append("```")
    w.append("")
    w.append(f"Raw data: `{display(args.json)}` (not committed).")
    return "\n".join(w) + "\n"


def display(p):
    try:
        return str(Path(p).resolve().relative_to(REPO))
    except ValueError:
        return str(p)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--only", default="set,bgsave,load", help="phases: set, bgsave, load")
    ap.add_argument("--servers", default="redis,tallkv,tallkv2",
                    help="redis, tallkv (--threads 1), tallkv2 (--threads 2)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--fsync", default="everysec,always",
                    help="appendfsync modes for the set phase (also: no; off = appendonly no)")
    ap.add_argument("--pipelines", default="1,16")
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--keyspace", type=int, default=100_000, help="redis-benchmark -r")
    ap.add_argument("--set-data-size", type=int, default=3, help="redis-benchmark -d")
    ap.add_argument("--set-scale", type=float, default=1.0,
                    help="multiplies the requests per SET run (everysec: 200k at -P 1, 1M at "
                    "-P 16; always: 30k and 300k; at least 1000)")
    ap.add_argument("--size-mb", type=float, default=2048,
                    help="data set size in MiB of Redis used_memory (key count calibrated on "
                    "the first server)")
    ap.add_argument("--keys", type=int, help="key count of the data set (instead of --size-mb)")
    ap.add_argument("--value-size", type=int, default=100)
    ap.add_argument("--get-rate", type=int, default=20_000, help="GETs per second, open loop")
    ap.add_argument("--get-conns", type=int, default=10)
    ap.add_argument("--idle-seconds", type=float, default=10)
    ap.add_argument("--warmup-seconds", type=float, default=1.0,
                    help="GET load before BGSAVE is sent")
    ap.add_argument("--poll-seconds", type=float, default=0.01,
                    help="INFO persistence poll interval while BGSAVE runs")
    ap.add_argument("--bgsave-timeout", type=float, default=1800)
    ap.add_argument("--load-timeout", type=float, default=1800)
    ap.add_argument("--load-poll-ms", type=float, default=5)
    ap.add_argument("--drop-caches", action="store_true",
                    help="sync and drop the page cache before every load (needs root)")
    ap.add_argument("--server-cpus", default="1")
    ap.add_argument("--client-cpus", default="0")
    ap.add_argument("--tallkv2-cpus", help="CPUs for tallkv --threads 2 (default: --server-cpus)")
    ap.add_argument("--redis-bgsave-cpulist", default="",
                    help="Redis bgsave_cpulist (default: the child inherits --server-cpus)")
    ap.add_argument("--base-port", type=int, default=7461)
    ap.add_argument("--tallkv-bin", default=str(REPO / "target/release/tallkv"))
    ap.add_argument("--workdir", help="parent of the temporary data dirs (default: $TMPDIR)")
    ap.add_argument("--keep", action="store_true", help="keep the data dirs and latency files")
    ap.add_argument("--json", help="raw results (default bench-results/persist-<time>/raw.json)")
    ap.add_argument("--write", action="store_true",
                    help=f"replace {BEGIN} ... {END} in BENCHMARKS.md")
    ap.add_argument("--file", default=str(REPO / "BENCHMARKS.md"), help="file for --write")
    ap.add_argument("--timeout", type=float, default=1800, help="per client run, seconds")
    ap.add_argument("--allow-inactive-journal", action="store_true",
                    help="measure the set phase even if tallkv reports no active journal "
                    "(development only; such rows are marked)")
    ap.add_argument("--no-build", action="store_true",
                    help="do not run cargo build for tools/txbench")
    args = ap.parse_args()

    phases = [p for p in args.only.split(",") if p]
    for p in phases:
        if p not in ("set", "bgsave", "load"):
            ap.error(f"unknown phase {p!r}")
    names = [n for n in args.servers.split(",") if n]
    for n in names:
        if n not in SERVERS:
            ap.error(f"unknown server {n!r}")
    names = [n for n in SERVERS if n in names]
    args.tallkv2_cpus = args.tallkv2_cpus or args.server_cpus
    args.tallkv_bin = Path(args.tallkv_bin)
    if any(n != "redis" for n in names) and not args.tallkv_bin.exists():
        ap.error(f"{args.tallkv_bin} not found: cargo build --release")
    if shutil.which("redis-server") is None or shutil.which("redis-benchmark") is None:
        ap.error("redis-server / redis-benchmark not installed (tools/install-test-deps.sh)")
    if {"bgsave", "load"} & set(phases) and not args.no_build:
        log("cargo build --release --manifest-path tools/txbench/Cargo.toml")
        r = subprocess.run(["cargo", "build", "--release", "--manifest-path",
                            str(REPO / "tools/txbench/Cargo.toml"), "--target-dir",
                            str(REPO / "target/txbench")], capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit("building tools/txbench failed:\n" + r.stderr[-2000:])
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    if not args.json:
        args.json = str(REPO / "bench-results" / f"persist-{stamp}" / "raw.json")
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    args.workdir_root = Path(args.workdir or tempfile.gettempdir())
    work = Path(tempfile.mkdtemp(prefix="bench_persist-", dir=args.workdir_root))
    args.keys_used = args.keys or 0
    log(f"data dirs and server logs under {work}")
    servers = {n: Server(n, args, work) for n in names}
    results = {"args": {k: str(v) for k, v in vars(args).items()}}
    commands = []
    m = meta(args)
    results["meta"] = m

    def save_json():
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1, default=str)

    def on_term(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    try:
        if "set" in phases:
            phase_set(args, servers, results, commands)
            save_json()
        if "bgsave" in phases or "load" in phases:
            phase_data(args, servers, results, commands, work, phases)
            save_json()
    except KeyboardInterrupt:
        log("interrupted; partial results follow")
    finally:
        for s in servers.values():
            try:
                s.stop(timeout=10)
            except Exception as e:  # noqa: BLE001 - best effort cleanup
                log(f"stopping {s.name}: {e}")
        save_json()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            log(f"kept {work}")
    section = render(args, results, names, m, commands)
    sys.stdout.write(section)
    if args.write:
        write_section(Path(args.file), section, SECTION)
        log(f"updated {args.file}")
    log(f"raw results: {args.json}")


if __name__ == "__main__":
    main()
