#!/usr/bin/env python3
"""GET latency while a slow Lua script runs: tallkv (2 threads) against Redis (1 thread).

Usage:
    tools/bench_busy.py [--write] [--seconds 2] [--rounds 3]

For each server, one round is:
  1. idle: GETs (one connection, one at a time) for --seconds; latencies recorded;
  2. busy: a script connection runs EVAL of a script that loops for --seconds (it
     declares one key); meanwhile the same GET connection keeps sending GETs.
tallkv runs with --threads 2 on CPUs 0-1: the GET connection is one served by the thread
that is NOT running the script (checked with INFO's tallkv_thread), and its keys live on
that thread's shard, which the script does not hold: the issue's claim is that such
commands keep their normal latency. Redis runs single-threaded on CPU 0: every command
waits for the script (it would answer -BUSY only after busy-reply-threshold, 5 s).
The client runs on CPU 1 as well (2-core machine), so tallkv's idle latencies include
sharing that core.

Output: p50 / p99 / p99.9 / max in ms per server and phase (median over rounds), as a
Markdown section; --write replaces <!-- bench_busy:begin --> ... <!-- bench_busy:end -->
in BENCHMARKS.md (appended if missing). Standard library only.
"""

import argparse
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BEGIN, END = "<!-- bench_busy:begin -->", "<!-- bench_busy:end -->"


def crc16(data: bytes) -> int:
    crc = 0
    for b in data:
        crc ^= b << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def key_shard(key: bytes, shards: int) -> int:
    s = key.find(b"{")
    if s != -1:
        e = key.find(b"}", s + 1)
        if e != -1 and e != s + 1:
            key = key[s + 1:e]
    return (crc16(key) % 16384) * shards // 16384


def encode(*args) -> bytes:
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


class Conn:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port))
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def _line(self):
        while b"\r\n" not in self.buf:
            chunk = self.s.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _exact(self, n):
        while len(self.buf) < n:
            self.buf += self.s.recv(65536)
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def reply(self):
        line = self._line()
        t, rest = line[:1], line[1:]
        if t in (b"+", b"-", b":"):
            return line
        if t == b"$":
            n = int(rest)
            return None if n < 0 else self._exact(n + 2)[:-2]
        if t == b"*":
            n = int(rest)
            return None if n < 0 else [self.reply() for _ in range(n)]
        return line

    def cmd(self, *args):
        self.s.sendall(encode(*args))
        return self.reply()


def pct(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, int(len(v) * p))] * 1000


def start(argv, port):
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            if Conn(port).cmd("PING") == b"+PONG":
                return proc
        except OSError:
            pass
        time.sleep(0.05)
    proc.kill()
    raise SystemExit(f"server on {port} did not start: {argv}")


BUSY_SCRIPT = (
    "local t0 = redis.call('time') local start = t0[1] * 1000000 + t0[2] "
    "local limit = tonumber(ARGV[1]) * 1000000 "
    "while true do for i = 1, 10000 do end "
    "local t = redis.call('time') if t[1] * 1000000 + t[2] - start >= limit then break end end "
    "return redis.call('get', KEYS[1])"
)


def measure(get_conn, key, seconds):
    lat = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        t = time.perf_counter()
        get_conn.cmd("GET", key)
        lat.append(time.perf_counter() - t)
    return lat


def round_for(name, port, threads, seconds):
    # A connection for GETs on a thread that will not run the script, and one for the script.
    conns = [Conn(port) for _ in range(16)]
    def thread_of(c):
        info = c.cmd("INFO", "server").decode()
        for line in info.splitlines():
            if line.startswith("tallkv_thread:"):
                return int(line.split(":")[1])
        return 0
    if threads > 1:
        by_thread = {}
        for c in conns:
            by_thread.setdefault(thread_of(c), c)
        if len(by_thread) < 2:
            raise SystemExit("connections did not spread over both threads; run again")
        script_conn, get_conn = by_thread[0], by_thread[1]
        get_key = next(f"get{n}" for n in range(10_000) if key_shard(f"get{n}".encode(), threads) == 1)
        held_key = next(f"held{n}" for n in range(10_000) if key_shard(f"held{n}".encode(), threads) == 0)
    else:
        script_conn, get_conn = conns[0], conns[1]
        get_key, held_key = "get0", "held0"
    get_conn.cmd("SET", get_key, "v")
    idle = measure(get_conn, get_key, seconds)
    result = {}
    def run_script():
        result["reply"] = script_conn.cmd("EVAL", BUSY_SCRIPT, 1, held_key, seconds)
    th = threading.Thread(target=run_script)
    th.start()
    time.sleep(0.05)
    busy = measure(get_conn, get_key, seconds - 0.1)
    th.join()
    for c in conns:
        c.s.close()
    return idle, busy


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--write", action="store_true")
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--redis-port", type=int, default=7301)
    ap.add_argument("--tallkv-port", type=int, default=7302)
    a = ap.parse_args()
    tallkv = str(REPO / "target/release/tallkv")
    servers = [
        ("redis", a.redis_port, 1,
         ["taskset", "-c", "0", "redis-server", "--port", str(a.redis_port), "--save", "", "--appendonly", "no"]),
        ("tallkv", a.tallkv_port, 2,
         ["taskset", "-c", "0,1", tallkv, "--port", str(a.tallkv_port), "--threads", "2", "--save", ""]),
    ]
    rows = {}
    for rnd in range(a.rounds):
        for name, port, threads, argv in servers:
            proc = start(argv, port)
            try:
                idle, busy = round_for(name, port, threads, a.seconds)
            finally:
                proc.terminate()
                proc.wait()
            for phase, lat in (("idle", idle), ("during script", busy)):
                rows.setdefault((name, phase), []).append(
                    (len(lat), pct(lat, 0.5), pct(lat, 0.99), pct(lat, 0.999), max(lat) * 1000))
            print(f"round {rnd + 1} {name}: idle p99 {pct(idle, .99):.3f} ms, busy p99 {pct(busy, .99):.3f} ms "
                  f"({len(busy)} GETs)", file=sys.stderr)
    lines = [
        "## GET latency during a slow script: tallkv vs Redis",
        "",
        f"- Date: {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}; {os.cpu_count()} CPUs; "
        f"{a.rounds} rounds, median per column.",
        f"- A script loops for {a.seconds:g} s (EVAL, one declared key). One client connection sends GETs "
        "one at a time, for the same length of time, with the server idle and then while the script runs.",
        "- tallkv (`--threads 2`, CPUs 0-1): the GET connection is served by the thread that does not run the "
        "script, for a key of that thread's shard, which the script does not hold. Redis (one thread, CPU 0): "
        "every command waits for the script (BUSY only after busy-reply-threshold, 5 s).",
        "- Command: `python3 tools/bench_busy.py --write` (the client shares CPU 1 with tallkv's second thread).",
        "",
        "| server | phase | GETs | p50 ms | p99 ms | p99.9 ms | max ms |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for (name, phase), vals in rows.items():
        med = [statistics.median(v[i] for v in vals) for i in range(5)]
        lines.append(f"| {name} | {phase} | {med[0]:,.0f} | {med[1]:.3f} | {med[2]:.3f} | {med[3]:.3f} | {med[4]:.1f} |")
    section = "\n".join(lines) + "\n"
    print(section)
    if a.write:
        path = REPO / "BENCHMARKS.md"
        text = path.read_text()
        block = f"{BEGIN}\n{section}{END}"
        if BEGIN in text and END in text:
            b, e = text.index(BEGIN), text.index(END)
            text = text[:b] + block + text[e + len(END):]
        else:
            text = text.rstrip("\n") + "\n\n" + block + "\n"
        path.write_text(text)


if __name__ == "__main__":
    main()
