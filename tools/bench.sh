#!/usr/bin/env bash
# Runs every liaison-bench scenario against the four real services on this
# machine, in one go, and writes docs/BENCHMARKS.md (numbers, ratios to the
# echo ceiling E of the same run, the machine) and docs/benchmarks/latency.png.
#
#   tools/bench.sh                 (MEMBERS=200000 DURATION=10 by default)
#   tools/bench.sh --twice         (or REPEAT=2) the whole run twice, see below
#
# The identity store is a liaison-seed-graph graph of MEMBERS members, seeded
# once into BENCH_DIR (default /tmp/liaison-bench) and copied for each run;
# the other services start empty. With perf installed, SendMessage is also
# profiled (perf record -g on the messaging process).
#
# --twice checks that the numbers reproduce: two complete runs, each in a
# fresh BENCH_DIR/<n> (emptied first, so each seeds its own graph), and the
# report shows both runs' throughputs side by side and whether they agree.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MEMBERS="${MEMBERS:-200000}"
DURATION="${DURATION:-10}"
WARMUP="${WARMUP:-2}"
BENCH_DIR="${BENCH_DIR:-/tmp/liaison-bench}"
REPEAT="${REPEAT:-1}"
BUILD="$ROOT/build"
RUN="$BENCH_DIR/run"
RESULTS="$RUN/results"

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

case "${1:-}" in
  --twice) REPEAT=2 ;;
  "") ;;
  *) echo "usage: tools/bench.sh [--twice]" >&2; exit 2 ;;
esac
report() {  # results directories (the first is the main run), seed logs alike
  local args=() dir
  for dir in "$@"; do
    case "$dir" in
      *.log) args+=(--seed-log "$dir") ;;
      *) args+=(--results "$dir") ;;
    esac
  done
  python3 "$ROOT/tools/bench_report.py" "${args[@]}" --members "$MEMBERS" \
    --out "$ROOT/docs/BENCHMARKS.md" --plot "$ROOT/docs/benchmarks/latency.png"
  log "wrote docs/BENCHMARKS.md and docs/benchmarks/latency.png"
}
if [ "$REPEAT" = 2 ]; then
  for n in 1 2; do
    log "run $n of 2, in a fresh $BENCH_DIR/$n"
    rm -rf "${BENCH_DIR:?}/$n"
    BENCH_DIR="$BENCH_DIR/$n" REPEAT=1 BENCH_REPORT=false "$0"
  done
  report "$BENCH_DIR/1/run/results" "$BENCH_DIR/2/run/results" \
    "$BENCH_DIR/1/seed-$MEMBERS.log" "$BENCH_DIR/2/seed-$MEMBERS.log"
  exit 0
elif [ "$REPEAT" != 1 ]; then
  echo "REPEAT is 1 or 2" >&2
  exit 2
fi

# A fresh machine gets everything installed and built once; after that only
# what the benchmark runs is rebuilt.
[ -f "$BUILD/build.ninja" ] || "$ROOT/tools/dev.sh" build >/dev/null
cmake --build "$BUILD" --target liaison-privacy liaison-identity liaison-credits \
  liaison-messaging liaison-bench liaison-seed-graph >/dev/null
if ! command -v gnuplot >/dev/null; then
  log "installing gnuplot-nox (the latency plot)"
  if [ "$(id -u)" -eq 0 ]; then apt-get install -y -qq gnuplot-nox >/dev/null
  else sudo apt-get install -y -qq gnuplot-nox >/dev/null; fi
fi

mkdir -p "$BENCH_DIR"
key="$BENCH_DIR/key"
[ -s "$key" ] || (umask 077 && head -c 48 /dev/urandom | base64 -w0 >"$key")
graph="$BENCH_DIR/identity-$MEMBERS"
if [ ! -d "$graph" ]; then
  log "seeding a $MEMBERS-member graph (once)"
  "$BUILD/tools/liaison-seed-graph" --data-dir "$graph" --members "$MEMBERS" 2>"$BENCH_DIR/seed-$MEMBERS.log"
fi
rm -rf "$RUN"
mkdir -p "$RUN/data" "$RUN/logs" "$RESULTS"
cp -a "$graph" "$RUN/data/identity"

# name grpc-port metrics-port flags...
SERVICES=(
  "privacy 50254 9304"
  "identity 50251 9301 --privacy-address 127.0.0.1:50254 --block-cache-mb 256"
  "credits 50253 9303 --identity-address 127.0.0.1:50251"
  "messaging 50252 9302 --identity-address 127.0.0.1:50251 --privacy-address 127.0.0.1:50254
   --credits-address 127.0.0.1:50253 --messages-per-minute 1000000 --message-burst 1000000
   --inmails-per-hour 1000000 --inmail-burst 1000000 --identical-text-limit 100000"
)
PIDS=()
start_all() {  # $1: --rpc-metrics value
  local entry name grpc metrics extra
  for entry in "${SERVICES[@]}"; do
    read -r name grpc metrics extra <<<"$(echo $entry)"
    # shellcheck disable=SC2086
    "$BUILD/services/$name/liaison-$name" --data-dir "$RUN/data/$name" --signing-key-file "$key" \
      --grpc-port "$grpc" --metrics-port "$metrics" --listen-host 127.0.0.1 \
      --rpc-metrics "$1" --log-level warn $extra 2>>"$RUN/logs/$name.log" &
    PIDS+=($!)
    for _ in $(seq 300); do
      curl -sf "http://127.0.0.1:$metrics/metrics" >/dev/null 2>&1 && break
      sleep 0.1
    done
  done
}
stop_all() {
  local pid
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  PIDS=()
}
trap 'stop_all; kill "${ECHO_PID:-}" 2>/dev/null || true' EXIT

bench() {  # name, then liaison-bench arguments
  local name="$1"
  shift
  log "$name"
  "$BUILD/tools/liaison-bench" "$@" --duration "$DURATION" --warmup "$WARMUP" \
    --signing-key-file "$key" --graph-members "$MEMBERS" \
    --identity 127.0.0.1:50251 --messaging 127.0.0.1:50252 --credits 127.0.0.1:50253 \
    --json "$RESULTS/$name.json" >"$RESULTS/$name.txt"
}
rps() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['rps'])" "$RESULTS/$1.json"; }

"$BUILD/tools/liaison-bench" serve-echo --port 50299 >"$RUN/logs/echo.log" 2>&1 &
ECHO_PID=$!
sleep 0.5
bench echo-c1 echo --echo 127.0.0.1:50299 -c 1
bench echo-c64 echo --echo 127.0.0.1:50299 -c 64
kill "$ECHO_PID"

# Each service's own account of one call in flight: /metrics before and after.
scrape() {
  local s
  for s in messaging:9302 identity:9301 privacy:9304; do
    curl -sf "http://127.0.0.1:${s#*:}/metrics" >"$RESULTS/metrics-$1-${s%%:*}.txt"
  done
}

start_all true
scrape before
bench send-message-c1 send-message -c 1
scrape after
bench send-message-c64 send-message -c 64
bench relationship-c8 relationship -c 8
bench send-inmail-c16 send-inmail -c 16
bench list-inbox-c1 list-inbox -c 1 --conversations 10000
bench list-inbox-c8 list-inbox -c 8 --conversations 10000 --skip-seed
half=$(python3 -c "print(round(float('$(rps send-message-c64)') / 2))")
bench stream-latency stream-latency -q "$half"

# RPC metrics off and on, alternating (each after a restart), so the growing
# store and what the restarts flush weigh on both sides alike.
for round in 1 2; do
  for metrics in false true; do
    stop_all
    start_all "$metrics"
    bench "metrics-$([ "$metrics" = true ] && echo on || echo off)-$round" send-message -c 64
  done
done

# Where the CPU goes at 64 in flight: each process's CPU time over one run
# (/proc/<pid>/stat; the load generator's from the shell's children times),
# and, with perf, the hottest functions of the messaging process.
cpu_seconds() { awk -v hz="$(getconf CLK_TCK)" '{ sub(/.*\) /, ""); print ($12 + $13) / hz }' "/proc/$1/stat"; }
profiling=false
if command -v perf >/dev/null && perf record -o /dev/null -- true >/dev/null 2>&1; then
  profiling=true
  log "profiling SendMessage (perf record -a)"
  perf record -a -F 499 -g -o "$RUN/perf.data" -- sleep "$((DURATION / 2 + WARMUP))" \
    >/dev/null 2>&1 &
  perf_pid=$!
fi
names=(privacy identity credits messaging)
declare -A before
for i in "${!names[@]}"; do before[${names[$i]}]=$(cpu_seconds "${PIDS[$i]}"); done
# bash's time: the load generator's user + system seconds; its own stderr
# still goes to the terminal.
exec 3>&2
TIMEFORMAT='%U %S'
{ time DURATION=$((DURATION / 2)) bench profiled send-message -c 64 2>&3; } 2>"$RUN/client-time"
{
  for i in "${!names[@]}"; do
    echo "liaison-${names[$i]} $(echo "$(cpu_seconds "${PIDS[$i]}") ${before[${names[$i]}]}" | awk '{print $1 - $2}')"
  done
  echo "liaison-bench $(awk '{print $1 + $2}' "$RUN/client-time")"
} >"$RESULTS/cpu.txt"
if $profiling; then
  wait "$perf_pid" || true
  clean() { grep '%' | grep -v '^#' | sed 's/ *-  *- *$//; s/  *$//'; }
  perf report -i "$RUN/perf.data" --stdio --no-children --comms liaison-messagi \
    --sort dso,symbol -g none --percent-limit 0.7 2>/dev/null | clean | head -30 \
    >"$RESULTS/profile-messaging.txt" || true
  perf report -i "$RUN/perf.data" --stdio --no-children --sort dso -g none --percent-limit 1 \
    2>/dev/null | clean | head -20 >"$RESULTS/profile-libraries.txt" || true
fi

# Last, because each block removes a connection for good: how long messaging
# still accepts a blocked member's sends (its read model hears of the block on
# identity's change feed). Its pairs are none of the other scenarios'. Up to
# 2,000 pairs, 8 at a time, or until 3 x DURATION seconds are over.
DURATION=$((DURATION * 3)) bench block-to-refusal block-to-refusal -c 8 --blocks 2000
stop_all

# BENCH_REPORT=false: one of --twice's runs; the two are reported together.
[ "${BENCH_REPORT:-true}" = true ] && report "$RESULTS" "$BENCH_DIR/seed-$MEMBERS.log"
exit 0
