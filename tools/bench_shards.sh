#!/usr/bin/env bash
# Messaging on 1 shard and on 2 shards of every service, on this machine,
# and writes docs/messaging-shards-benchmark.md: send-message and list-inbox
# throughput with the servers' CPU time per call (the shards share the same
# cores, so CPU per message is what compares a cross-shard send with a
# same-shard one), and fan-out delivery latency for 1:1 and for a 50-member
# group.
#
#   tools/bench_shards.sh          (MEMBERS=100000 DURATION=10 WARMUP=2)
#
# Each shard count gets the same liaison-seed-graph graph (split by the map
# with 2 shards), seeded once into BENCH_DIR (default /tmp/liaison-bench)
# and copied for each run; the other services start empty. liaison-bench
# routes as a smart client does (--shard-map): a 1:1 send to the pair's home
# (the lower member's shard), a group send to its creator's shard, reads and
# event streams to the member's shard.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MEMBERS="${MEMBERS:-100000}"
DURATION="${DURATION:-10}"
WARMUP="${WARMUP:-2}"
BENCH_DIR="${BENCH_DIR:-/tmp/liaison-bench}/shards"
BUILD="$ROOT/build"
RESULTS="$BENCH_DIR/results"
OUT="$ROOT/docs/messaging-shards-benchmark.md"

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

[ -f "$BUILD/build.ninja" ] || "$ROOT/tools/dev.sh" build >/dev/null
cmake --build "$BUILD" --target liaison-privacy liaison-identity liaison-credits \
  liaison-messaging liaison-bench liaison-seed-graph >/dev/null
mkdir -p "$BENCH_DIR"
rm -rf "$RESULTS"
mkdir -p "$RESULTS"
key="$BENCH_DIR/key"
[ -s "$key" ] || (umask 077 && head -c 48 /dev/urandom | base64 -w0 >"$key")

# Shard i of service k (privacy 0, identity 1, credits 2, messaging 3):
# gRPC on 50400 + 10i + k, metrics on 9500 + 10i + k.
SERVICES=(privacy identity credits messaging)
port() { echo $((50400 + 10 * $2 + $1)); }
metrics_port() { echo $((9500 + 10 * $2 + $1)); }
write_map() {  # shards, file
  local n="$1" i k
  {
    printf '{"epoch": 1, "shards": ['
    for i in $(seq 0 $((n - 1))); do
      [ "$i" = 0 ] || printf ', '
      printf '{"partitions": "%d-%d"' $((i * 4096 / n)) $(((i + 1) * 4096 / n - 1))
      for k in 0 1 2 3; do printf ', "%s": "127.0.0.1:%d"' "${SERVICES[$k]}" "$(port "$k" "$i")"; done
      printf '}'
    done
    printf ']}\n'
  } >"$2"
}

PIDS=()
# CPU seconds (user + system) the services have used so far.
cpu_total() {
  local pid
  for pid in "${PIDS[@]}"; do cat "/proc/$pid/stat"; done |
    awk -v hz="$(getconf CLK_TCK)" '{ sub(/.*\) /, ""); t += $12 + $13 } END { print t / hz }'
}
stop_all() {
  local pid
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  PIDS=()
}
trap stop_all EXIT

run() {  # shards
  local n="$1" i k name map="$BENCH_DIR/map-$1.json" run="$BENCH_DIR/run-$1"
  local shard_flags=()
  [ "$n" = 1 ] || write_map "$n" "$map"
  for i in $(seq 0 $((n - 1))); do
    local graph="$BENCH_DIR/graph-$MEMBERS-$n-$i"
    [ "$n" = 1 ] || shard_flags=(--shard-map "$map" --shard-index "$i")
    if [ ! -d "$graph" ]; then
      log "seeding shard $i of $n of a $MEMBERS-member graph (once)"
      "$BUILD/tools/liaison-seed-graph" --data-dir "$graph" --members "$MEMBERS" \
        "${shard_flags[@]}" 2>"$BENCH_DIR/seed-$n-$i.log"
    fi
  done
  rm -rf "$run"
  mkdir -p "$run/logs"
  for i in $(seq 0 $((n - 1))); do
    cp -a "$BENCH_DIR/graph-$MEMBERS-$n-$i" "$run/identity-$i"
  done
  local privacy="127.0.0.1:$(port 0 0)" identity="127.0.0.1:$(port 1 0)"
  local credits="127.0.0.1:$(port 2 0)"
  for k in 0 1 2 3; do
    name="${SERVICES[$k]}"
    for i in $(seq 0 $((n - 1))); do
      [ "$n" = 1 ] || shard_flags=(--shard-map "$map" --shard-index "$i")
      local extra=()
      case "$name" in
        identity) extra=(--privacy-address "$privacy" --block-cache-mb 256) ;;
        credits) extra=(--identity-address "$identity") ;;
        messaging) extra=(--identity-address "$identity" --privacy-address "$privacy"
          --credits-address "$credits" --messages-per-minute 1000000 --message-burst 1000000
          --identical-text-limit 100000) ;;
      esac
      "$BUILD/services/$name/liaison-$name" --data-dir "$run/$name-$i" --signing-key-file "$key" \
        --grpc-port "$(port "$k" "$i")" --metrics-port "$(metrics_port "$k" "$i")" \
        --listen-host 127.0.0.1 --log-level warn "${shard_flags[@]}" "${extra[@]}" \
        2>>"$run/logs/$name-$i.log" &
      PIDS+=($!)
      for _ in $(seq 300); do
        curl -sf "http://127.0.0.1:$(metrics_port "$k" "$i")/metrics" >/dev/null 2>&1 && break
        sleep 0.1
      done
    done
  done
  local cpu_flags=() map_flags=() pid
  for pid in "${PIDS[@]}"; do cpu_flags+=(--cpu-of "$pid"); done
  [ "$n" = 1 ] || map_flags=(--shard-map "$map")
  # Before each measurement: until the services' CPU falls quiet (the
  # previous one's compactions and deliveries done), at most 30 s.
  settle() {
    local before after
    for _ in $(seq 30); do
      before=$(cpu_total)
      sleep 1
      after=$(cpu_total)
      awk -v a="$after" -v b="$before" 'BEGIN { exit !(a - b < 0.05) }' && return
    done
  }
  bench() {  # name, then liaison-bench arguments
    local label="$1"
    shift
    settle
    log "$n shard(s): $label"
    "$BUILD/tools/liaison-bench" "$@" --duration "$DURATION" --warmup "$WARMUP" \
      --signing-key-file "$key" --graph-members "$MEMBERS" --identity "$identity" \
      --messaging "127.0.0.1:$(port 3 0)" --credits "$credits" --no-progress \
      "${map_flags[@]}" "${cpu_flags[@]}" --json "$RESULTS/$n-$label.json" \
      >"$RESULTS/$n-$label.txt"
  }
  bench send-c1 send-message -c 1
  if [ "$n" = 1 ]; then
    bench send-c64 send-message -c 64
    bench stream-1to1 stream-latency -q 200
  else
    bench send-c64-same send-message -c 64 --placement same
    bench send-c64-across send-message -c 64 --placement across
    bench stream-1to1 stream-latency -q 200 --placement across
  fi
  bench list-inbox-c8 list-inbox -c 8 --hubs 1 --conversations 2000
  bench group-50 group-latency -q 20 --group-size 50
  stop_all
}

run 1
run 2

log "writing $OUT"
python3 - "$RESULTS" "$OUT" "$MEMBERS" "$DURATION" <<'PY'
import json, os, platform, subprocess, sys
results, out, members, duration = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
def load(name):
    path = os.path.join(results, name + ".json")
    return json.load(open(path)) if os.path.exists(path) else None
def cpu():
    for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
        if line.startswith("Model name:"):
            return line.split(":", 1)[1].strip()
    return "unknown"
def errors(r):
    return sum(n for code, n in r["status_codes"].items() if code != "OK")
rows = [
    ("SendMessage, 1 in flight", "1-send-c1", "2-send-c1"),
    ("SendMessage, 64 in flight", "1-send-c64", "2-send-c64-same"),
    ("SendMessage, 64 in flight, pairs across shards", None, "2-send-c64-across"),
    ("ListConversations (2,000-conversation inbox), 8 in flight", "1-list-inbox-c8", "2-list-inbox-c8"),
]
lines = [
    "# Messaging on 1 and 2 shards",
    "",
    f"Reproduce with `tools/bench_shards.sh` (MEMBERS={members}, {duration} s measured per row after a",
    "warm-up). Every service runs as 1 shard, then as 2 shards with the partitions split evenly",
    "(privacy, identity, credits and messaging: 8 processes), all on this one machine; identity",
    f"holds the same {members}-member liaison-seed-graph graph, split by the map. liaison-bench routes",
    "as a smart client does: a 1:1 send to the pair's home (the lower member's shard), a group send",
    "to its creator's, reads and event streams to the member's own shard.",
    "",
    f"- Machine: {os.cpu_count()} cores ({cpu()}), {platform.system()} {platform.release()}; the load",
    "  generator shares the cores with the servers.",
    "- Server CPU: user + system time of every service process over the measured window",
    "  (/proc/<pid>/stat), divided by the calls (or sends) completed in it. The shards share the",
    "  same 2 cores, so throughput cannot double here; CPU per call is the number that carries to",
    "  a deployment where each shard has its own machine.",
    "",
    "## Throughput and CPU per call",
    "",
    "| call | shards | calls/s | p50 ms | p99 ms | server CPU µs per call | errors |",
    "|---|---|---|---|---|---|---|",
]
for title, one, two in rows:
    for shards, name in (("1", one), ("2", two)):
        r = load(name) if name else None
        if r is None:
            continue
        per = r.get("counters", {}).get("server_cpu_us_per_call", 0)
        lines.append(f"| {title} | {shards} | {r['rps']:,.0f} | {r['latency_ms']['p50']:.2f} | "
                     f"{r['latency_ms']['p99']:.2f} | {per:,} | {errors(r)} |")
lines += [
    "",
    "## Fan-out delivery latency",
    "",
    "From the start of a send to the event on each recipient's StreamEvents (open on their own",
    "shard), open loop. With 2 shards the 1:1 pairs all span the two shards; the 50-member group",
    "(the graph's top hub and 49 of its connections) has members on both.",
    "",
    "| delivery | shards | sends/s | deliveries | p50 ms | p99 ms | last member p50 ms | last member p99 ms | server CPU µs per send |",
    "|---|---|---|---|---|---|---|---|---|",
]
for title, name in (("1:1", "stream-1to1"), ("50-member group", "group-50")):
    for shards in ("1", "2"):
        r = load(f"{shards}-{name}")
        if r is None:
            continue
        c = r.get("counters", {})
        seen = f"{c['deliveries_seen']:,} of {c['deliveries_expected']:,}" if "deliveries_seen" in c else f"{r['count']:,}"
        last50 = f"{c['last_member_p50_us'] / 1000:.2f}" if "last_member_p50_us" in c else "-"
        last99 = f"{c['last_member_p99_us'] / 1000:.2f}" if "last_member_p99_us" in c else "-"
        lines.append(f"| {title} | {shards} | {r['target_rate']:.0f} | {seen} | {r['latency_ms']['p50']:.2f} | "
                     f"{r['latency_ms']['p99']:.2f} | {last50} | {last99} | {c.get('server_cpu_us_per_send', 0):,} |")
g2 = load("2-group-50")
if g2:
    lines += ["", f"The group's members on the other shard than its home: "
              f"{g2['counters'].get('members_on_other_shards', 0)} of {g2['counters'].get('members_listening', 0)}."]
open(out, "w").write("\n".join(lines) + "\n")
PY
cat "$OUT"
