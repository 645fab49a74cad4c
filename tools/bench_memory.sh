#!/usr/bin/env bash
# bench_memory.sh — memory per element of one big list, hash, set and sorted
# set: tallkv against redis-server, one core each.
#
# Usage (from anywhere; paths are resolved relative to the repo root):
#   tools/bench_memory.sh                    # full run: 1,000,000 elements, 3 rounds
#   WRITE=1 tools/bench_memory.sh            # ... and updates BENCHMARKS.md
#   ELEMENTS=100000 ROUNDS=1 tools/bench_memory.sh   # smoke check
#   tools/bench_memory.py report [--write] bench-results/<run>   # re-render a past run
#
# Method: for each round and each type, a FRESH pair of servers is started
# (Redis and tallkv, both pinned with taskset to SERVER_CORE). For each of the
# two servers in turn: wait SETTLE s, read VmRSS (/proc/PID/status) and INFO
# used_memory; load ONE key holding ELEMENTS elements with
# tools/bench_memory.py load (pinned to CLIENT_CORE; RESP pipelined over one
# connection, BATCH elements per command, WINDOW commands in flight; it returns
# once every reply is read and LLEN/HLEN/SCARD/ZCARD equals ELEMENTS); wait
# SETTLE s; read VmRSS, INFO used_memory and OBJECT ENCODING again. Then both
# servers are stopped. Bytes per element = delta VmRSS / ELEMENTS; the report
# shows medians over rounds and the median of the per-round tallkv/Redis ratios.
#   list  RPUSH mem:list element:<n> ...       hash  HSET mem:hash element:<n> value:<n> ...
#   set   SADD  mem:set  element:<n> ...       zset  ZADD mem:zset <n> element:<n> ...
#
# Environment:
#   ELEMENTS      elements in the one key (default 1000000)
#   ROUNDS        rounds (default 3)
#   TYPES         comma/space separated subset of list,hash,set,zset (default all four)
#   BATCH         elements per command (default 100);  WINDOW  commands in flight (default 100)
#   SETTLE        seconds to wait before each RSS reading (default 1)
#   WRITE=1       replace the section between <!-- bench_memory:begin --> and
#                 <!-- bench_memory:end --> in BENCHMARKS.md (markers appended if missing)
#   REDIS_PORT    default 7201;  TALLKV_PORT  default 7202
#   REDIS_CMD     default: redis-server --save '' --appendonly no --daemonize no
#   TALLKV_CMD    default: target/release/tallkv --threads 1 --save ''
#                 (the script inserts "--port P" after the executable; the value
#                 is split like a shell command line, so quotes work)
#   BUILD         1 = cargo build --release first (default 1 unless TALLKV_CMD is set)
#   SERVER_CORE   default 0;  CLIENT_CORE  default 1
#   READY_TIMEOUT seconds to wait for a server to answer PING (default 20)
#   LOAD_TIMEOUT  seconds one load may take (default 600)
#   OUT_DIR       raw results directory (default bench-results/memory-<UTC timestamp>)
#
# Outputs, in OUT_DIR: raw.csv (one row per server, type and round), meta.txt,
# server logs; the Markdown section is printed by tools/bench_memory.py report.

set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$SCRIPT_DIR/.." && pwd)
cd "$REPO"

log() { printf '[bench_memory %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
q() { local out= a; for a in "$@"; do out+=" $(printf '%q' "$a")"; done; echo "${out# }"; }

# ---------------------------------------------------------------- options ---
ELEMENTS=${ELEMENTS:-1000000}
ROUNDS=${ROUNDS:-3}
TYPES=${TYPES:-list,hash,set,zset}
BATCH=${BATCH:-100}
WINDOW=${WINDOW:-100}
SETTLE=${SETTLE:-1}
REDIS_PORT=${REDIS_PORT:-7201}
TALLKV_PORT=${TALLKV_PORT:-7202}
SERVER_CORE=${SERVER_CORE:-0}
CLIENT_CORE=${CLIENT_CORE:-1}
READY_TIMEOUT=${READY_TIMEOUT:-20}
LOAD_TIMEOUT=${LOAD_TIMEOUT:-600}
WRITE=${WRITE:-0}
REDIS_CMD=${REDIS_CMD:-"redis-server --save '' --appendonly no --daemonize no"}
if [[ -n ${TALLKV_CMD:-} ]]; then
    BUILD=${BUILD:-0}
else
    TALLKV_CMD="target/release/tallkv --threads 1 --save ''"
    BUILD=${BUILD:-1}
fi
OUT_DIR=${OUT_DIR:-bench-results/memory-$(date -u +%Y%m%dT%H%M%SZ)}

read -r -a TYPE_LIST <<<"${TYPES//,/ }"
((${#TYPE_LIST[@]} > 0)) || die "TYPES is empty"
for t in "${TYPE_LIST[@]}"; do
    [[ $t =~ ^(list|hash|set|zset)$ ]] || die "unknown type: $t (list, hash, set, zset)"
done
for v in ELEMENTS ROUNDS BATCH WINDOW; do
    [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer"
done
[[ $SETTLE =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "SETTLE must be a number of seconds"
[[ $REDIS_PORT != "$TALLKV_PORT" ]] || die "REDIS_PORT and TALLKV_PORT must differ"

# --------------------------------------------------------------- tooling ---
if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
    log "installing redis-server and redis-tools from Debian packages"
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y redis-server redis-tools
    # The package may start its own service on 6379; stop it so it cannot
    # compete for CPU or memory (our servers have their own ports).
    service redis-server stop >/dev/null 2>&1 || true
fi
for t in taskset timeout python3 redis-cli redis-server; do
    command -v "$t" >/dev/null || die "missing tool: $t"
done
(($(nproc) > CLIENT_CORE && $(nproc) > SERVER_CORE)) || die "need CPUs $SERVER_CORE and $CLIENT_CORE"

if [[ $BUILD == 1 ]]; then
    log "cargo build --release"
    cargo build --release || die "cargo build --release failed; fix the build, or set TALLKV_CMD (BUILD=0) to measure another command"
fi

eval "REDIS_ARGV=($REDIS_CMD)"
eval "TALLKV_ARGV=($TALLKV_CMD)"
REDIS_ARGV=("${REDIS_ARGV[0]}" --port "$REDIS_PORT" "${REDIS_ARGV[@]:1}")
TALLKV_ARGV=("${TALLKV_ARGV[0]}" --port "$TALLKV_PORT" "${TALLKV_ARGV[@]:1}")
command -v "${TALLKV_ARGV[0]}" >/dev/null || [[ -x ${TALLKV_ARGV[0]} ]] \
    || die "tallkv executable not found: ${TALLKV_ARGV[0]} (build failed? set TALLKV_CMD?)"

mkdir -p "$OUT_DIR"
OUT_DIR=$(cd "$OUT_DIR" && pwd)
RAW="$OUT_DIR/raw.csv"

# --------------------------------------------------------------- servers ---
declare -A PID=() PORT=([redis]=$REDIS_PORT [tallkv]=$TALLKV_PORT)

alive() { # running and not a zombie
    local s
    [[ -r /proc/$1/stat ]] || return 1
    s=$(<"/proc/$1/stat") 2>/dev/null || return 1
    s=${s##*) }
    [[ ${s:0:1} != Z ]]
}

# Anything accepting TCP connections on the port (not only a Redis-like server).
port_in_use() { timeout --foreground 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }
ping_ok() { [[ $(timeout --foreground 2 redis-cli -p "$1" ping 2>/dev/null) == PONG ]]; }
rcli() { # $1 = server name, rest = command; raw reply on stdout
    local name=$1
    shift
    timeout --foreground 10 redis-cli -p "${PORT[$name]}" "$@"
}

proc_kib() { # $1 = pid, $2 = field of /proc/PID/status (VmRSS, VmHWM): value in bytes
    local v
    v=$(awk -v f="$2:" '$1 == f {print $2; exit}' "/proc/$1/status") || return 1
    [[ -n $v ]] || return 1
    echo $((v * 1024))
}

used_memory() { # $1 = server name: INFO used_memory, or empty
    rcli "$1" info memory 2>/dev/null | awk -F: '$1 == "used_memory" {gsub("\r", ""); print $2; exit}'
}

stop_server() { # $1 = name; SIGTERM, bounded wait, then SIGKILL
    local name=$1 pid=${PID[$1]:-} i
    [[ -n $pid ]] || return 0
    if alive "$pid"; then
        kill -TERM "$pid" 2>/dev/null || true
        for ((i = 0; i < 100; i++)); do alive "$pid" || break; sleep 0.1; done
        if alive "$pid"; then
            log "$name (pid $pid) ignored SIGTERM for 10 s; sending SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    wait "$pid" 2>/dev/null || true
    PID[$name]=
}

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    stop_server tallkv
    stop_server redis
    exit "$rc"
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT
trap 'log "terminated"; exit 143' TERM

start_server() { # $1 = name, $2 = log file, rest = argv
    local name=$1 port=${PORT[$1]} logf=$2 i
    shift 2
    # Never measure somebody else's server, nor start next to one on our port.
    ! port_in_use "$port" || die "port $port is already in use; pick another ${name^^}_PORT"
    log "starting $name: taskset -c $SERVER_CORE $(q "$@")"
    taskset -c "$SERVER_CORE" "$@" >"$logf" 2>&1 &
    PID[$name]=$!
    for ((i = 0; i < READY_TIMEOUT * 10; i++)); do
        alive "${PID[$name]}" || { tail -n 20 "$logf" >&2; die "$name exited during start-up"; }
        ping_ok "$port" && break
        sleep 0.1
    done
    ping_ok "$port" || { tail -n 20 "$logf" >&2; die "$name not ready after ${READY_TIMEOUT}s"; }
    local st bad=
    for st in /proc/"${PID[$name]}"/task/*/status; do
        grep -q "^Cpus_allowed_list:[[:space:]]*$SERVER_CORE\$" "$st" 2>/dev/null \
            || bad+=" $(basename "$(dirname "$st")"):$(awk '/^Cpus_allowed_list/{print $2}' "$st" 2>/dev/null)"
    done
    [[ -z $bad ]] || log "WARNING: $name threads not confined to CPU $SERVER_CORE (tid:cpus):$bad"
}

for name in redis tallkv; do
    ! port_in_use "${PORT[$name]}" || die "port ${PORT[$name]} is already in use; pick another ${name^^}_PORT"
done

# ------------------------------------------------------------------ meta ---
commit=$(git rev-parse --short HEAD 2>/dev/null || echo "no-commit")
[[ -z $(git status --porcelain 2>/dev/null) ]] || commit+="-dirty"
LOAD_CMD=(taskset -c "$CLIENT_CORE" python3 tools/bench_memory.py load --port PORT --type TYPE
    --elements "$ELEMENTS" --batch "$BATCH" --window "$WINDOW")
{
    echo "date=$(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    echo "nproc=$(nproc)"
    echo "cpu_model=$(awk -F': *' '/^model name/{print $2; exit}' /proc/cpuinfo)"
    echo "kernel=$(uname -r)"
    echo "mem=$(awk '/^MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
    echo "commit=$commit"
    echo "redis_version=$(redis-server --version)"
    echo "redis_cmd=taskset -c $SERVER_CORE $(q "${REDIS_ARGV[@]}")"
    echo "tallkv_cmd=taskset -c $SERVER_CORE $(q "${TALLKV_ARGV[@]}")"
    echo "tallkv_cmd_overridden=$([[ $TALLKV_CMD == "target/release/tallkv --threads 1 --save ''" ]] && echo 0 || echo 1)"
    echo "load_cmd=${LOAD_CMD[*]}   # TYPE = list, hash, set, zset"
    echo "mem_cmd=grep VmRSS /proc/PID/status; redis-cli -p PORT info memory | grep '^used_memory:'; redis-cli -p PORT object encoding mem:TYPE   # before (no encoding) and after the load, ${SETTLE} s after each"
    echo "elements=$ELEMENTS"
    echo "rounds=$ROUNDS"
    echo "types=${TYPE_LIST[*]}"
    echo "batch=$BATCH"
    echo "window=$WINDOW"
    echo "settle=$SETTLE"
    echo "server_core=$SERVER_CORE"
    echo "client_core=$CLIENT_CORE"
} >"$OUT_DIR/meta.txt"

echo "round,type,server,elements,encoding,rss_before,rss_after,rss_peak,used_memory_before,used_memory_after,load_s" >"$RAW"

# ----------------------------------------------------------- measurement ---
measure() { # $1 round, $2 type, $3 server
    local round=$1 type=$2 name=$3 pid=${PID[$3]} key="mem:$2"
    local rss0 rss1 hwm um0 um1 enc out rc=0
    sleep "$SETTLE"
    rss0=$(proc_kib "$pid" VmRSS) || die "$name: cannot read /proc/$pid/status"
    um0=$(used_memory "$name")
    out=$(timeout --foreground "$LOAD_TIMEOUT" taskset -c "$CLIENT_CORE" python3 "$SCRIPT_DIR/bench_memory.py" load \
        --port "${PORT[$name]}" --type "$type" --elements "$ELEMENTS" --batch "$BATCH" \
        --window "$WINDOW" --key "$key" 2>&1) || rc=$?
    if ((rc == 130 || rc == 143)); then log "interrupted"; exit "$rc"; fi
    ((rc == 0)) || { alive "$pid" || tail -n 20 "$OUT_DIR/$name-r$round-$type.log" >&2; die "$name $type load failed (rc=$rc): $out"; }
    sleep "$SETTLE"
    alive "$pid" || die "$name died after loading $type"
    rss1=$(proc_kib "$pid" VmRSS) || die "$name: cannot read /proc/$pid/status"
    hwm=$(proc_kib "$pid" VmHWM) || hwm=
    um1=$(used_memory "$name")
    enc=$(rcli "$name" object encoding "$key" 2>&1 | tr -d '\r,' | head -n 1)
    local load_s=${out##*load_s=}
    load_s=${load_s%% *}
    echo "$round,$type,$name,$ELEMENTS,$enc,$rss0,$rss1,$hwm,$um0,$um1,$load_s" >>"$RAW"
    log "r$round $(printf '%-4s %-6s' "$type" "$name") encoding=$enc rss ${rss0} -> ${rss1} B: $(awk -v a="$rss0" -v b="$rss1" -v n="$ELEMENTS" 'BEGIN{printf "%.1f", (b-a)/n}') B/elem; used_memory ${um0:-?} -> ${um1:-?}; load ${load_s}s"
}

log "results in $OUT_DIR"
for ((round = 1; round <= ROUNDS; round++)); do
    for type in "${TYPE_LIST[@]}"; do
        # A fresh pair of servers for every type and round.
        start_server redis "$OUT_DIR/redis-r$round-$type.log" "${REDIS_ARGV[@]}"
        start_server tallkv "$OUT_DIR/tallkv-r$round-$type.log" "${TALLKV_ARGV[@]}"
        if [[ $round == 1 && $type == "${TYPE_LIST[0]}" ]]; then
            v=$(rcli tallkv info server 2>/dev/null | awk -F: '/^(redis|tallkv)_version/{gsub("\r",""); printf "%s%s %s", sep, $1, $2; sep=", "}')
            echo "tallkv_version=$v" >>"$OUT_DIR/meta.txt"
        fi
        measure "$round" "$type" redis
        measure "$round" "$type" tallkv
        stop_server tallkv
        stop_server redis
    done
done

report_args=(report "$OUT_DIR")
[[ $WRITE == 1 ]] && report_args=(report --write "$OUT_DIR")
python3 "$SCRIPT_DIR/bench_memory.py" "${report_args[@]}"
