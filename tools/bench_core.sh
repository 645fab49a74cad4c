#!/usr/bin/env bash
# bench_core.sh — single-core throughput / latency / CPU-cost comparison of
# tallkv against redis-server, driven by redis-benchmark.
#
# Usage (from anywhere; paths are resolved relative to the repo root):
#   tools/bench_core.sh                  # full run (5 rounds), prints report
#   WRITE=1 tools/bench_core.sh          # ... and updates BENCHMARKS.md
#   QUICK=1 tools/bench_core.sh          # smoke check: 1 round, small N
#   TALLKV_CMD="redis-server --save '' --appendonly no" QUICK=1 tools/bench_core.sh
#                                        # Redis against itself (checks the tooling)
#   tools/bench_report.py [--write] bench-results/<run>   # re-render a past run
#   SECTION=types TESTS=lpush,lpop,sadd,hset,zadd,zrange_100 WRITE=1 tools/bench_core.sh
#                                        # data-type run, its own section of BENCHMARKS.md
#
# Environment:
#   ROUNDS        rounds of paired measurements (default 5; QUICK: 1)
#   REQUESTS      requests per redis-benchmark run (-n), all tests and depths.
#                 Default: 200000 at -P 1; 2000000 at -P >1 except mset, which
#                 sends 10 keys per request and gets 400000, and zrange_100
#                 (~1 KB replies) gets 100000 at -P 1 and 400000 at -P >1
#                 (each run ~2-3 s here); multi_exec_5 gets 100000 at -P 1 and
#                 400000 at -P >1 (a request is a 7-command transaction), and
#                 evalsha_rmw and the cas_* tests 1000000 at -P >1 (Redis runs
#                 Lua there). QUICK divides the defaults by 10.
#   CLIENTS       redis-benchmark -c (default 50)
#   KEYSPACE      redis-benchmark -r (default 100000)
#   TESTS         comma/space separated redis-benchmark -t names (default set,get,incr,mset),
#                 run in the order given; besides the -t names, the custom test
#                 zrange_100 is known: before each pair, both servers get a fresh
#                 100-member sorted set bench:zset (members m0..m99, scores 0..99,
#                 via redis-cli) and redis-benchmark runs the custom command
#                 "ZRANGE bench:zset 0 99" (no -t). The FLUSHALL below happens only
#                 at the start of a (round, depth) block, so lpop placed after lpush
#                 pops the elements lpush pushed (both use the key mylist, same N);
#                 the length of mylist is read before and after every lpop run and
#                 recorded in checks.csv, and the report warns if pops hit an empty list.
#                 Transaction / scripting / compare-and-set tests (SECTION=tx):
#                   evalsha_rmw     EVALSHA of a GET-add-SET script, on both servers
#                   multi_exec_5    MULTI, INCR, SET, GET, HSET, HGET, EXEC per request,
#                                   on both servers, sent by tools/txbench (built into
#                                   target/txbench); a request = one transaction
#                   cas_set_ifeq    tallkv SET k v IFEQ v
#                   cas_delex_ifeq  tallkv DELEX k IFEQ v (tools/txbench, one preloaded key
#                                   per request; DBSIZE before/after goes to checks.csv)
#                   cas_digest      tallkv DIGEST k
#                   cas_incrbybounded tallkv INCRBYBOUNDED k 1 MIN 0 MAX 1000000000
#                 Redis 7.0 has no CAS commands: for the cas_* tests Redis runs EVALSHA
#                 of the equivalent Lua script (SCRIPT, CUSTOM_TEST_REDIS below). Keys of
#                 cas_set_ifeq / cas_digest (all KEYSPACE) and cas_delex_ifeq (one per
#                 request) are preloaded with the token on both servers before each pair.
#                   SECTION=tx TESTS=evalsha_rmw,multi_exec_5,cas_set_ifeq,cas_delex_ifeq,cas_digest,cas_incrbybounded WRITE=1 tools/bench_core.sh
#   SECTION       report section name (default core): markers
#                 <!-- bench_SECTION:begin --> / <!-- bench_SECTION:end --> in
#                 BENCHMARKS.md and default OUT_DIR bench-results/SECTION-<timestamp>;
#                 any other name than core also puts the tests in the report title.
#   PIPELINES     space/comma separated -P depths (default "1 16")
#   QUICK=1       1 round, small N
#   WRITE=1       pass --write to bench_report.py (replace section in BENCHMARKS.md)
#   REDIS_PORT    default 7101;  TALLKV_PORT  default 7102
#   REDIS_CMD     default: redis-server --save '' --appendonly no --daemonize no
#   TALLKV_CMD    default: target/release/tallkv --threads 1 --save ''
#                 (the script inserts "--port P" after the executable; the value
#                 is split like a shell command line, so quotes work)
#   BUILD         1 = cargo build --release first (default 1 unless TALLKV_CMD is set)
#   SERVER_CORE   default 0;  CLIENT_CORE  default 1
#   BENCH_TIMEOUT seconds one redis-benchmark run may take (default 300)
#   READY_TIMEOUT seconds to wait for a server to answer PING (default 20)
#   OUT_DIR       raw results directory (default bench-results/core-<UTC timestamp>)
#
# Server lifecycle (the choice the brief asked us to make and explain):
# one instance of each server is started once and kept running for the whole
# run; both are pinned to SERVER_CORE, but only one is ever driven at a time,
# the other sits idle. Rationale: (1) the GET test then reads keys written by
# the preceding SET test, as in a plain redis-benchmark run, instead of missing
# on an empty database; (2) no start-up cost or start-up noise in the middle of
# a back-to-back pair, which keeps the two halves of a pair close in time.
# The risk is that an "idle" server is not idle (e.g. an event loop that
# busy-polls) and steals SERVER_CORE from the one being measured, so the CPU
# time of the idle server is recorded during every measurement
# (idle_other_cpu_pct in the raw CSV) and the report warns if it exceeds 2%
# (and 2 clock ticks).
# Each (round, pipeline depth) block starts with FLUSHALL on both servers (if
# both support it), so every round sees the same sequence of database states.
#
# CPU per request = delta(utime+stime) of the server process (whole process, all
# threads, from /proc/PID/stat fields 14+15) / requests. Resolution is one clock
# tick (usually 10 ms) per measurement, i.e. <0.5% for a 2 s run at 100% busy.
# MSET counts as one request (of 10 keys). The CPU time of redis-benchmark itself
# is recorded too (client_busy_pct): with 2 cores and a single-threaded client,
# the client core is often the bottleneck, and then rps/latency compare the
# client more than the servers, while CPU µs/req still compares the servers.
#
# Outputs, in OUT_DIR: raw.csv (one row per redis-benchmark run), meta.txt,
# r<round>-P<depth>-<test>-<server>.csv / .err (redis-benchmark's own stdout /
# stderr, .err kept only if non-empty) and the server logs; the Markdown section is printed by tools/bench_report.py.

set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$SCRIPT_DIR/.." && pwd)
cd "$REPO"

log() { printf '[bench_core %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
# quote a command line for display / copy-paste
q() { local out= a; for a in "$@"; do out+=" $(printf '%q' "$a")"; done; echo "${out# }"; }

# ---------------------------------------------------------------- options ---
QUICK=${QUICK:-0}
if [[ $QUICK == 1 ]]; then ROUNDS=${ROUNDS:-1}; QDIV=10; else ROUNDS=${ROUNDS:-5}; QDIV=1; fi
CLIENTS=${CLIENTS:-50}
KEYSPACE=${KEYSPACE:-100000}
TESTS=${TESTS:-set,get,incr,mset}
SECTION=${SECTION:-core}
PIPELINES=${PIPELINES:-1 16}
REDIS_PORT=${REDIS_PORT:-7101}
TALLKV_PORT=${TALLKV_PORT:-7102}
SERVER_CORE=${SERVER_CORE:-0}
CLIENT_CORE=${CLIENT_CORE:-1}
BENCH_TIMEOUT=${BENCH_TIMEOUT:-300}
READY_TIMEOUT=${READY_TIMEOUT:-20}
WRITE=${WRITE:-0}
REDIS_CMD=${REDIS_CMD:-"redis-server --save '' --appendonly no --daemonize no"}
if [[ -n ${TALLKV_CMD:-} ]]; then
    BUILD=${BUILD:-0}
else
    TALLKV_CMD="target/release/tallkv --threads 1 --save ''"
    BUILD=${BUILD:-1}
fi
[[ $SECTION =~ ^[a-z0-9_]+$ ]] || die "SECTION must match [a-z0-9_]+"
OUT_DIR=${OUT_DIR:-bench-results/$SECTION-$(date -u +%Y%m%dT%H%M%SZ)}

read -r -a TEST_LIST <<<"${TESTS//,/ }"
read -r -a PIPE_LIST <<<"${PIPELINES//,/ }"
((${#TEST_LIST[@]} > 0)) || die "TESTS is empty"
((${#PIPE_LIST[@]} > 0)) || die "PIPELINES is empty"
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || die "ROUNDS must be a positive integer"
for p in "${PIPE_LIST[@]}"; do [[ $p =~ ^[1-9][0-9]*$ ]] || die "bad pipeline depth: $p"; done
[[ $REDIS_PORT != "$TALLKV_PORT" ]] || die "REDIS_PORT and TALLKV_PORT must differ"

requests_for() { # $1 = pipeline depth, $2 = test
    if [[ -n ${REQUESTS:-} ]]; then echo "$REQUESTS"; return; fi
    local n
    if [[ $2 == zrange_100 ]]; then
        if (($1 == 1)); then n=100000; else n=400000; fi
    elif [[ $2 == multi_exec_5 ]]; then
        if (($1 == 1)); then n=100000; else n=400000; fi
    elif [[ $2 == evalsha_rmw || $2 == cas_* ]] && (($1 > 1)); then
        n=1000000
    elif (($1 == 1)); then n=200000; elif [[ $2 == mset ]]; then n=400000; else n=2000000; fi
    echo $((n / QDIV))
}

# Tests that are not redis-benchmark -t names: the custom command line that
# redis-benchmark runs instead (after its options, so without -t).
declare -A CUSTOM_TEST=([zrange_100]="ZRANGE bench:zset 0 99")
ZSET_100=()
for ((i = 0; i < 100; i++)); do ZSET_100+=("$i" "m$i"); done

# Transaction / scripting / compare-and-set tests (SECTION=tx). Redis 7.0.15 has
# no CAS commands, so for each cas_* test Redis runs what a Redis user runs
# instead: EVALSHA of the equivalent Lua script (CUSTOM_TEST_REDIS; tallkv runs
# CUSTOM_TEST). The scripts are loaded with SCRIPT LOAD on both servers before
# each pair; their SHA1s are computed here and checked against SCRIPT LOAD's reply.
CAS_TOKEN=tok-5f3a9c2e81d4b706
declare -A SCRIPT=(
    [rmw]="local v = tonumber(redis.call('get', KEYS[1]) or '0') + tonumber(ARGV[1]) redis.call('set', KEYS[1], v) return v"
    [set_ifeq]="if redis.call('get', KEYS[1]) == ARGV[2] then return redis.call('set', KEYS[1], ARGV[1]) else return false end"
    [delex_ifeq]="if redis.call('get',KEYS[1])==ARGV[1] then return redis.call('del',KEYS[1]) else return 0 end"
    [digest]="local v = redis.call('get', KEYS[1]) if v then return redis.sha1hex(v) end return false"
    [incrbybounded]="local n = tonumber(redis.call('get', KEYS[1]) or '0') + tonumber(ARGV[1]) if n < tonumber(ARGV[2]) then return redis.error_reply('ERR increment would take the value below MIN') end if n > tonumber(ARGV[3]) then return redis.error_reply('ERR increment would take the value above MAX') end return redis.call('incrby', KEYS[1], ARGV[1])"
)
SCRIPT_ORDER=(rmw set_ifeq delex_ifeq digest incrbybounded)
declare -A SHA=()
for s in "${SCRIPT_ORDER[@]}"; do
    SHA[$s]=$(printf '%s' "${SCRIPT[$s]}" | sha1sum | cut -d' ' -f1)
done
declare -A TEST_SCRIPT=([evalsha_rmw]=rmw [cas_set_ifeq]=set_ifeq [cas_delex_ifeq]=delex_ifeq
    [cas_digest]=digest [cas_incrbybounded]=incrbybounded)
CUSTOM_TEST+=(
    [evalsha_rmw]="EVALSHA ${SHA[rmw]} 1 rmw:__rand_int__ 1"
    [multi_exec_5]="INCR tx:__rand_int__:n ; SET tx:__rand_int__:s $CAS_TOKEN ; GET tx:__rand_int__:s ; HSET tx:__rand_int__:h f $CAS_TOKEN ; HGET tx:__rand_int__:h f"
    [cas_set_ifeq]="SET cas:__rand_int__ $CAS_TOKEN IFEQ $CAS_TOKEN"
    [cas_delex_ifeq]="DELEX casdel:__seq_int__ IFEQ $CAS_TOKEN"
    [cas_digest]="DIGEST cas:__rand_int__"
    [cas_incrbybounded]="INCRBYBOUNDED cnt:__rand_int__ 1 MIN 0 MAX 1000000000"
)
declare -A CUSTOM_TEST_REDIS=(
    [cas_set_ifeq]="EVALSHA ${SHA[set_ifeq]} 1 cas:__rand_int__ $CAS_TOKEN $CAS_TOKEN"
    [cas_delex_ifeq]="EVALSHA ${SHA[delex_ifeq]} 1 casdel:__seq_int__ $CAS_TOKEN"
    [cas_digest]="EVALSHA ${SHA[digest]} 1 cas:__rand_int__"
    [cas_incrbybounded]="EVALSHA ${SHA[incrbybounded]} 1 cnt:__rand_int__ 1 0 1000000000"
)
# Tests driven by tools/txbench instead of redis-benchmark: MULTI/EXEC needs a
# client that counts transactions; DELEX IFEQ needs each request to delete a
# distinct, existing key (__seq_int__ = request index; the keys are preloaded).
uses_txbench() { [[ $1 == multi_exec_5 || $1 == cas_delex_ifeq ]]; }
needs_txbench() { uses_txbench "$1" || [[ $1 == cas_set_ifeq || $1 == cas_digest ]]; } # + preloading
TXBENCH_BIN=target/txbench/release/txbench

test_command() { # $1 = test, $2 = server: the custom command line (empty for -t tests)
    if [[ $2 == redis && -n ${CUSTOM_TEST_REDIS[$1]:-} ]]; then
        echo "${CUSTOM_TEST_REDIS[$1]}"
    else
        echo "${CUSTOM_TEST[$1]:-}"
    fi
}

bench_args() { # $1 = test, $2 = server: prints the test-selecting tail of the redis-benchmark argv, one per line
    local c
    c=$(test_command "$1" "${2:-tallkv}")
    if [[ -n $c ]]; then
        printf '%s\n' --csv $c
    else
        printf '%s\n' -t "$1" --csv
    fi
}

# --------------------------------------------------------------- tooling ---
if ! command -v redis-server >/dev/null || ! command -v redis-benchmark >/dev/null \
    || ! command -v redis-cli >/dev/null; then
    log "installing redis-server and redis-tools from Debian packages"
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y redis-server redis-tools
    # The package may start its own service on 6379. We never use it (our
    # servers have their own ports), but stop it so it cannot compete for CPU.
    service redis-server stop >/dev/null 2>&1 || true
fi
for t in taskset timeout getconf python3 redis-cli redis-benchmark redis-server; do
    command -v "$t" >/dev/null || die "missing tool: $t"
done
(($(nproc) > CLIENT_CORE && $(nproc) > SERVER_CORE)) || die "need CPUs $SERVER_CORE and $CLIENT_CORE"

if [[ $BUILD == 1 ]]; then
    log "cargo build --release"
    cargo build --release || die "cargo build --release failed; fix the build, or set TALLKV_CMD (BUILD=0) to benchmark another command"
fi

NEED_TXBENCH=0
for t in "${TEST_LIST[@]}"; do needs_txbench "$t" && NEED_TXBENCH=1; done
if [[ $NEED_TXBENCH == 1 ]] && [[ $BUILD == 1 || ! -x $TXBENCH_BIN ]]; then
    log "cargo build --release --manifest-path tools/txbench/Cargo.toml --target-dir target/txbench"
    cargo build --release --manifest-path tools/txbench/Cargo.toml --target-dir target/txbench \
        || die "building tools/txbench failed"
fi

# Split the command strings like a shell would (quotes honoured), then insert
# "--port P" right after the executable.
eval "REDIS_ARGV=($REDIS_CMD)"
eval "TALLKV_ARGV=($TALLKV_CMD)"
REDIS_ARGV=("${REDIS_ARGV[0]}" --port "$REDIS_PORT" "${REDIS_ARGV[@]:1}")
TALLKV_ARGV=("${TALLKV_ARGV[0]}" --port "$TALLKV_PORT" "${TALLKV_ARGV[@]:1}")
command -v "${TALLKV_ARGV[0]}" >/dev/null || [[ -x ${TALLKV_ARGV[0]} ]] \
    || die "tallkv executable not found: ${TALLKV_ARGV[0]} (build failed? set TALLKV_CMD?)"

CLK_TCK=$(getconf CLK_TCK)
mkdir -p "$OUT_DIR"
OUT_DIR=$(cd "$OUT_DIR" && pwd)
RAW="$OUT_DIR/raw.csv"

# --------------------------------------------------------------- servers ---
declare -A PID=() PORT=([redis]=$REDIS_PORT [tallkv]=$TALLKV_PORT)

cpu_ticks() { # utime+stime of the whole process (fields 14, 15 of /proc/PID/stat)
    local s rest f
    s=$(<"/proc/$1/stat") || return 1
    rest=${s##*) }            # drop "pid (comm) "; comm may contain spaces
    read -r -a f <<<"$rest"   # f[0] is field 3 (state) => field N is f[N-3]
    echo $((f[11] + f[12]))
}

child_ticks() { # cutime+cstime of this shell (fields 16, 17): CPU of reaped children
    local s rest f
    s=$(<"/proc/$$/stat")
    rest=${s##*) }
    read -r -a f <<<"$rest"
    echo $((f[13] + f[14]))
}

alive() { # running and not a zombie
    local s
    [[ -r /proc/$1/stat ]] || return 1
    s=$(<"/proc/$1/stat") 2>/dev/null || return 1
    s=${s##*) }
    [[ ${s:0:1} != Z ]]
}

# All timeouts use --foreground: plain `timeout` puts the command in its own
# process group, where Ctrl-C would not reach it.
ping_ok() { [[ $(timeout --foreground 2 redis-cli -p "$1" ping 2>/dev/null) == PONG ]]; }
rcli() { # $1 = server name, rest = command; raw reply on stdout
    local name=$1
    shift
    timeout --foreground 10 redis-cli -p "${PORT[$name]}" "$@"
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

start_server() { # $1 = name, rest = argv
    local name=$1 port=${PORT[$1]} i
    shift
    # Never benchmark somebody else's server that happens to own the port.
    ! ping_ok "$port" || die "port $port already answers PING; pick another ${name^^}_PORT"
    log "starting $name: taskset -c $SERVER_CORE $(q "$@")"
    # Background jobs of a non-interactive shell start with SIGINT ignored,
    # but a server may re-enable it (Redis does, and shuts down on Ctrl-C);
    # either way the EXIT trap stops whatever is still running.
    taskset -c "$SERVER_CORE" "$@" >"$OUT_DIR/$name.log" 2>&1 &
    PID[$name]=$!
    for ((i = 0; i < READY_TIMEOUT * 10; i++)); do
        alive "${PID[$name]}" || { tail -n 20 "$OUT_DIR/$name.log" >&2; die "$name exited during start-up"; }
        ping_ok "$port" && break
        sleep 0.1
    done
    ping_ok "$port" || { tail -n 20 "$OUT_DIR/$name.log" >&2; die "$name not ready after ${READY_TIMEOUT}s"; }
    # A server may re-pin its own threads (e.g. an executor bound to a CPU);
    # check that every thread still runs on SERVER_CORE only.
    local st bad=
    for st in /proc/"${PID[$name]}"/task/*/status; do
        grep -q "^Cpus_allowed_list:[[:space:]]*$SERVER_CORE\$" "$st" 2>/dev/null \
            || bad+=" $(basename "$(dirname "$st")"):$(awk '/^Cpus_allowed_list/{print $2}' "$st" 2>/dev/null)"
    done
    [[ -z $bad ]] || log "WARNING: $name threads not confined to CPU $SERVER_CORE (tid:cpus):$bad"
    log "$name ready (pid ${PID[$name]}, port $port)"
}

# Other load on the two cores skews everything; measure it for 1 s up front.
core_busy() { # prints "cpuN=X%" for the given cores, sampled over 1 s
    local a b
    a=$(grep -E "^cpu($(IFS='|'; echo "$*")) " /proc/stat)
    sleep 1
    b=$(grep -E "^cpu($(IFS='|'; echo "$*")) " /proc/stat)
    # idle = idle + iowait (fields 5, 6); total = user..steal (fields 2-9)
    awk 'NR==FNR{for(i=2;i<=9;i++)t0[$1]+=$i; i0[$1]=$5+$6; next}
         {t=0; for(i=2;i<=9;i++)t+=$i; d=t-t0[$1];
          printf "%s%s=%.0f%%", sep, $1, (d > 0 ? 100*(1-($5+$6-i0[$1])/d) : 0); sep=" "}
         END{print ""}' <(echo "$a") <(echo "$b")
}
BACKGROUND=$(core_busy "$SERVER_CORE" "$CLIENT_CORE")
log "background load before start: $BACKGROUND"
if awk -v s="$BACKGROUND" 'BEGIN{n=split(s,a," "); for(i=1;i<=n;i++){sub(/.*=/,"",a[i]); sub(/%/,"",a[i]); if(a[i]+0>10) exit 0} exit 1}'; then
    log "WARNING: the benchmark cores are already busy ($BACKGROUND); results will be noisy"
fi

for name in redis tallkv; do
    ! ping_ok "${PORT[$name]}" || die "port ${PORT[$name]} already answers PING; pick another ${name^^}_PORT"
done
start_server redis "${REDIS_ARGV[@]}"
start_server tallkv "${TALLKV_ARGV[@]}"

FLUSH=1
for name in redis tallkv; do
    if [[ $(timeout --foreground 5 redis-cli -p "${PORT[$name]}" flushall 2>&1) != OK ]]; then
        log "WARNING: $name does not answer FLUSHALL with OK; databases will not be flushed between rounds"
        FLUSH=0
    fi
done

# ------------------------------------------------------------------ meta ---
commit=$(git rev-parse --short HEAD 2>/dev/null || echo "no-commit")
[[ -z $(git status --porcelain 2>/dev/null) ]] || commit+="-dirty"
{
    echo "date=$(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    echo "nproc=$(nproc)"
    echo "cpu_model=$(awk -F': *' '/^model name/{print $2; exit}' /proc/cpuinfo)"
    echo "kernel=$(uname -r)"
    echo "mem=$(awk '/^MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
    echo "commit=$commit"
    echo "redis_version=$(redis-server --version)"
    echo "benchmark_version=$(redis-benchmark --version 2>/dev/null || echo unknown)"
    echo "tallkv_version=$(timeout --foreground 5 redis-cli -p "$TALLKV_PORT" info server 2>/dev/null \
        | awk -F: '/^(redis|tallkv)_version/{gsub("\r",""); print $1 " " $2; exit}')"
    echo "redis_cmd=taskset -c $SERVER_CORE $(q "${REDIS_ARGV[@]}")"
    echo "tallkv_cmd=taskset -c $SERVER_CORE $(q "${TALLKV_ARGV[@]}")"
    echo "tallkv_cmd_overridden=$([[ $TALLKV_CMD == "target/release/tallkv --threads 1 --save ''" ]] && echo 0 || echo 1)"
    plain=0
    for t in "${TEST_LIST[@]}"; do [[ -n ${CUSTOM_TEST[$t]:-} ]] || plain=1; done
    ((plain == 0)) \
        || echo "bench_cmd=taskset -c $CLIENT_CORE redis-benchmark -p PORT -c $CLIENTS -n N -r $KEYSPACE -P DEPTH -t TEST --csv"
    for t in "${TEST_LIST[@]}"; do
        if uses_txbench "$t"; then
            for name in tallkv redis; do
                c=$(test_command "$t" "$name")
                p=PORT sfx=
                if [[ -n ${CUSTOM_TEST_REDIS[$t]:-} ]]; then p=${name^^}_PORT; [[ $name == tallkv ]] || sfx=_redis; fi
                echo "bench_cmd_$t$sfx=taskset -c $CLIENT_CORE $TXBENCH_BIN -p $p -c $CLIENTS -n N -r $KEYSPACE -P DEPTH --name $t -q$([[ $t == multi_exec_5 ]] && echo " --multi") -- ${c// ; / \';\' }"
                [[ -n ${CUSTOM_TEST_REDIS[$t]:-} ]] || break
            done
        elif [[ -n ${CUSTOM_TEST_REDIS[$t]:-} ]]; then
            echo "bench_cmd_$t=taskset -c $CLIENT_CORE redis-benchmark -p TALLKV_PORT -c $CLIENTS -n N -r $KEYSPACE -P DEPTH --csv ${CUSTOM_TEST[$t]}"
            echo "bench_cmd_${t}_redis=taskset -c $CLIENT_CORE redis-benchmark -p REDIS_PORT -c $CLIENTS -n N -r $KEYSPACE -P DEPTH --csv ${CUSTOM_TEST_REDIS[$t]}"
        else
            [[ -z ${CUSTOM_TEST[$t]:-} ]] \
                || echo "bench_cmd_$t=taskset -c $CLIENT_CORE redis-benchmark -p PORT -c $CLIENTS -n N -r $KEYSPACE -P DEPTH --csv ${CUSTOM_TEST[$t]}"
        fi
        [[ $t != zrange_100 ]] \
            || echo "setup_$t=redis-cli -p PORT del bench:zset; redis-cli -p PORT zadd bench:zset 0 m0 1 m1 2 m2 ... 99 m99   # on both servers before each pair"
        [[ -z ${TEST_SCRIPT[$t]:-} ]] \
            || echo "setup_$t=redis-cli -p PORT SCRIPT LOAD \"${SCRIPT[${TEST_SCRIPT[$t]}]}\"   # on both servers before each pair; sha1 ${SHA[${TEST_SCRIPT[$t]}]}"
        case $t in
            cas_set_ifeq | cas_digest)
                echo "setup_${t}_keys=$TXBENCH_BIN -p PORT -c 4 -P 1000 -n $KEYSPACE -- SET cas:__seq_int__ $CAS_TOKEN   # on both servers before each pair: keys cas:000000000000..$(printf '%012d' $((KEYSPACE - 1)))"
                ;;
            cas_delex_ifeq)
                echo "setup_${t}_keys=$TXBENCH_BIN -p PORT -c 4 -P 1000 -n N -- SET casdel:__seq_int__ $CAS_TOKEN   # on both servers before each pair: one key per request"
                ;;
        esac
        if [[ -n ${TEST_SCRIPT[$t]:-} ]] || uses_txbench "$t"; then
            echo "run_tallkv_$t=${CUSTOM_TEST[$t]}"
            echo "run_redis_$t=$(test_command "$t" redis)"
            echo "client_$t=$(uses_txbench "$t" && echo txbench || echo redis-benchmark)"
        fi
    done
    for sname in "${SCRIPT_ORDER[@]}"; do
        for t in "${TEST_LIST[@]}"; do
            if [[ ${TEST_SCRIPT[$t]:-} == "$sname" ]]; then
                echo "script_$sname=${SHA[$sname]} ${SCRIPT[$sname]}"
                break
            fi
        done
    done
    echo "section=$SECTION"
    echo "tests=${TEST_LIST[*]}"
    echo "background=$BACKGROUND"
    echo "rounds=$ROUNDS"
    echo "quick=$QUICK"
    echo "flush=$FLUSH"
    echo "clk_tck=$CLK_TCK"
    echo "server_core=$SERVER_CORE"
    echo "client_core=$CLIENT_CORE"
} >"$OUT_DIR/meta.txt"

echo "round,pipeline,test,server,requests,clients,status,rps,avg_ms,p50_ms,p95_ms,p99_ms,max_ms,cpu_ticks,cpu_us_per_req,wall_s,busy_pct,client_busy_pct,idle_other_ticks,idle_other_cpu_pct" >"$RAW"

# ----------------------------------------------------------- measurement ---
measure() { # $1 round, $2 depth, $3 test, $4 server
    local round=$1 depth=$2 test=$3 name=$4 other n pid opid
    [[ $name == redis ]] && other=tallkv || other=redis
    n=$(requests_for "$depth" "$test")
    pid=${PID[$name]} opid=${PID[$other]}
    local targs cmd
    if uses_txbench "$test"; then
        read -r -a targs <<<"$(test_command "$test" "$name")"
        cmd=(taskset -c "$CLIENT_CORE" "$TXBENCH_BIN" -p "${PORT[$name]}" -c "$CLIENTS"
            -n "$n" -r "$KEYSPACE" -P "$depth" --name "$test" -q)
        [[ $test != multi_exec_5 ]] || cmd+=(--multi)
        cmd+=(-- "${targs[@]}")
    else
        mapfile -t targs < <(bench_args "$test" "$name")
        cmd=(taskset -c "$CLIENT_CORE" redis-benchmark -p "${PORT[$name]}" -c "$CLIENTS"
            -n "$n" -r "$KEYSPACE" -P "$depth" "${targs[@]}")
    fi
    local base="$OUT_DIR/r${round}-P${depth}-${test}-${name}"
    local c0 o0 k0 t0 c1 o1 k1 t1 out status=ok rc=0
    # k*: CPU of redis-benchmark itself (it is reaped as a child of this shell
    # by the time k1 is read) — tells whether the client core was the limit.
    local len0= len1=
    [[ $test != lpop ]] || len0=$(rcli "$name" llen mylist)
    [[ $test != cas_delex_ifeq ]] || len0=$(rcli "$name" dbsize)
    c0=$(cpu_ticks "$pid"); o0=$(cpu_ticks "$opid"); k0=$(child_ticks); t0=$(date +%s%N)
    out=$(timeout --foreground "$BENCH_TIMEOUT" "${cmd[@]}" 2>"$base.err") || rc=$?
    t1=$(date +%s%N); k1=$(child_ticks)
    # Ctrl-C kills redis-benchmark, and bash then does not run its INT trap
    # (it assumes the child handled the signal), so exit here.
    if ((rc == 130 || rc == 143)); then log "interrupted"; exit "$rc"; fi
    c1=$(cpu_ticks "$pid") || c1=$c0; o1=$(cpu_ticks "$opid") || o1=$o0
    if [[ $test == lpop ]]; then
        # Did every LPOP pop an element? (lpush must run before it in the block.)
        len1=$(rcli "$name" llen mylist)
        [[ -e $OUT_DIR/checks.csv ]] \
            || echo "round,pipeline,test,server,requests,key,llen_before,llen_after" >"$OUT_DIR/checks.csv"
        echo "$round,$depth,$test,$name,$n,mylist,$len0,$len1" >>"$OUT_DIR/checks.csv"
        if ! [[ $len0 =~ ^[0-9]+$ && $len1 =~ ^[0-9]+$ ]] || ((len0 - len1 < n)); then
            log "WARNING: $name lpop -P $depth: LLEN mylist ${len0:-?} -> ${len1:-?}, fewer pops than $n requests (put lpush before lpop in TESTS)"
        fi
    fi
    if [[ $test == cas_delex_ifeq ]]; then
        # Did every DELEX IFEQ (or its script) delete a key? Each request names its own preloaded key.
        len1=$(rcli "$name" dbsize)
        [[ -e $OUT_DIR/checks.csv ]] \
            || echo "round,pipeline,test,server,requests,key,llen_before,llen_after" >"$OUT_DIR/checks.csv"
        echo "$round,$depth,$test,$name,$n,DBSIZE,$len0,$len1" >>"$OUT_DIR/checks.csv"
        if ! [[ $len0 =~ ^[0-9]+$ && $len1 =~ ^[0-9]+$ ]] || ((len0 - len1 != n)); then
            log "WARNING: $name cas_delex_ifeq -P $depth: DBSIZE ${len0:-?} -> ${len1:-?}, not $n deletions"
        fi
    fi
    printf '%s\n' "$out" >"$base.csv"
    ((rc != 124)) || echo "timed out after ${BENCH_TIMEOUT}s (BENCH_TIMEOUT)" >>"$base.err"
    [[ -s $base.err ]] || rm -f "$base.err"
    # data row: "TEST NAME","rps","avg","min","p50","p95","p99","max"
    local row
    row=$(printf '%s\n' "$out" | grep -v '^"test"' | grep '^"' | tail -n 1 || true)
    local rps= avg= p50= p95= p99= max=
    if ((rc != 0)) || [[ -z $row ]]; then
        status=fail
        ((rc == 124)) && status=timeout
        log "WARNING: $name $test -P $depth: redis-benchmark rc=$rc: $(tail -n 3 "$base.err" 2>/dev/null | tr '\n' ' ')"
    else
        # replace the quoted test name (may contain spaces) by a placeholder
        IFS=, read -r _ rps avg _ p50 p95 p99 max <<<"$(sed 's/^"[^"]*"/x/; s/"//g' <<<"$row")"
    fi
    local wall_ns=$((t1 - t0)) dc=$((c1 - c0)) dother=$((o1 - o0))
    local cpu_us busy idle client
    cpu_us=$(awk -v t="$dc" -v k="$CLK_TCK" -v n="$n" 'BEGIN{printf "%.4f", t*1e6/k/n}')
    busy=$(awk -v t="$dc" -v k="$CLK_TCK" -v w="$wall_ns" 'BEGIN{printf "%.1f", t/k*1e11/w}')
    idle=$(awk -v t="$dother" -v k="$CLK_TCK" -v w="$wall_ns" 'BEGIN{printf "%.1f", t/k*1e11/w}')
    client=$(awk -v t="$((k1 - k0))" -v k="$CLK_TCK" -v w="$wall_ns" 'BEGIN{printf "%.1f", t/k*1e11/w}')
    echo "$round,$depth,$test,$name,$n,$CLIENTS,$status,$rps,$avg,$p50,$p95,$p99,$max,$dc,$cpu_us,$(awk -v w="$wall_ns" 'BEGIN{printf "%.3f", w/1e9}'),$busy,$client,$dother,$idle" >>"$RAW"
    log "r$round P$depth $(printf '%-5s %-6s' "$test" "$name") ${status/ok/} rps=${rps:-n/a} p99=${p99:-n/a }ms cpu=${cpu_us}us/req busy=${busy}% client=${client}% idle-other=${idle}%"
    alive "$pid" || { tail -n 20 "$OUT_DIR/$name.log" >&2; die "$name died during $test -P $depth"; }
}

# Test fixtures, set up on both servers before each pair (outside the measurement).
seed_keys() { # $1 = server, $2 = key pattern with __seq_int__, $3 = count: SET each key to CAS_TOKEN
    local out
    out=$(timeout --foreground "$BENCH_TIMEOUT" taskset -c "$CLIENT_CORE" "$TXBENCH_BIN" -p "${PORT[$1]}" \
        -c 4 -P 1000 -n "$3" -- SET "$2" "$CAS_TOKEN" 2>&1) || die "$1: preloading $3 keys $2 failed: $out"
}

prepare_test() { # $1 = test, $2 = pipeline depth
    local name r s=${TEST_SCRIPT[$1]:-}
    if [[ -n $s ]]; then
        for name in redis tallkv; do
            r=$(rcli "$name" script load "${SCRIPT[$s]}")
            [[ $r == "${SHA[$s]}" ]] || die "$name: SCRIPT LOAD of the $s script replied '$r', expected ${SHA[$s]}"
        done
    fi
    case $1 in
        cas_set_ifeq | cas_digest)
            for name in redis tallkv; do
                seed_keys "$name" "cas:__seq_int__" "$KEYSPACE"
                r=$(rcli "$name" get "cas:$(printf '%012d' $((KEYSPACE - 1)))")
                [[ $r == "$CAS_TOKEN" ]] || die "$name: preloading cas:* keys failed (last key holds '$r')"
            done
            ;;
        cas_delex_ifeq)
            for name in redis tallkv; do
                seed_keys "$name" "casdel:__seq_int__" "$(requests_for "$2" "$1")"
            done
            ;;
        zrange_100)
            for name in redis tallkv; do
                rcli "$name" del bench:zset >/dev/null
                r=$(rcli "$name" zadd bench:zset "${ZSET_100[@]}")
                [[ $r == 100 && $(rcli "$name" zrange bench:zset 0 99 | grep -c '^m') == 100 ]] \
                    || die "$name: could not preload bench:zset with 100 members (ZADD said: $r)"
            done
            ;;
    esac
}

log "results in $OUT_DIR"
for ((round = 1; round <= ROUNDS; round++)); do
    for depth in "${PIPE_LIST[@]}"; do
        if [[ $FLUSH == 1 ]]; then
            for name in redis tallkv; do timeout --foreground 10 redis-cli -p "${PORT[$name]}" flushall >/dev/null; done
        fi
        for test in "${TEST_LIST[@]}"; do
            prepare_test "$test" "$depth"
            # The pair: Redis, then tallkv, back to back.
            measure "$round" "$depth" "$test" redis
            measure "$round" "$depth" "$test" tallkv
        done
    done
done

stop_server tallkv
stop_server redis

report_args=("$OUT_DIR")
[[ $WRITE == 1 ]] && report_args=(--write "${report_args[@]}")
python3 "$SCRIPT_DIR/bench_report.py" "${report_args[@]}"
