#!/usr/bin/env bash
# Reserve+Commit throughput of liaison-credits with every ledger write
# fsync'ed, at several concurrencies, with the fsyncs counted to show group
# commit. Writes docs/credits-benchmark.md (and prints it).
#
#   tools/bench_credits.sh          BENCH_DIR (default /tmp/liaison-bench-credits)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="$ROOT/build"
BENCH_DIR="${BENCH_DIR:-/tmp/liaison-bench-credits}"
OUT="$ROOT/docs/credits-benchmark.md"

"$ROOT/tools/dev.sh" build >/dev/null
rm -rf "$BENCH_DIR" && mkdir -p "$BENCH_DIR"
key="$BENCH_DIR/key"
head -c 48 /dev/urandom | base64 -w0 >"$key"
"$BUILD/services/identity/liaison-identity" --data-dir "$BENCH_DIR/identity" --signing-key-file "$key" \
  --grpc-port 50251 --metrics-port 9301 --listen-host 127.0.0.1 2>"$BENCH_DIR/identity.log" &
ipid=$!
"$BUILD/services/credits/liaison-credits" --data-dir "$BENCH_DIR/credits" --signing-key-file "$key" \
  --grpc-port 50253 --metrics-port 9303 --listen-host 127.0.0.1 --identity-address 127.0.0.1:50251 \
  2>"$BENCH_DIR/credits.log" &
cpid=$!
trap 'kill $ipid $cpid 2>/dev/null || true' EXIT
sleep 1
syncs() { curl -sf http://127.0.0.1:9303/metrics | awk '$1 == "liaison_rocksdb_wal_synced_total" {print $2}'; }
writes() { curl -sf http://127.0.0.1:9303/metrics | awk -F'[{} ]' '$1 == "liaison_inmail_credits_entries_total" {s += $NF} END {print s}'; }

rows=""
for c in 1 4 16 64; do
  n=$((c >= 16 ? 6000 : 2000))
  s0=$(syncs); w0=$(writes)
  row=$("$BUILD/tools/liaison-bench-credits" --identity 127.0.0.1:50251 --credits 127.0.0.1:50253 \
    --signing-key-file "$key" -n "$n" -c "$c")
  s1=$(syncs); w1=$(writes)
  per=$(awk -v w=$((w1 - w0)) -v s=$((s1 - s0)) 'BEGIN {printf "%.1f", (s > 0 ? w / s : 0)}')
  rows+="${row} $((s1 - s0)) | $per |"$'\n'
done
kill -TERM $cpid $ipid; wait $cpid $ipid || true
trap - EXIT

cpu=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
disk=$(df -h "$BENCH_DIR" | awk 'NR == 2 {print $1}')
cat >"$OUT" <<EOT
# Credits benchmark: Reserve + Commit with synced ledger writes

Reproduce with \`tools/bench_credits.sh\`.

- Machine: $(nproc) cores ($cpu), $(free -g | awk '/Mem:/ {print $2}') GiB RAM, data on $disk; client,
  identity and credits share the 2 cores.
- One operation = ReserveCredit then CommitHold over gRPC (two RPCs, two ledger entries, each
  change one WriteBatch fsync'ed before the reply). ReserveCredit also asks identity for the tier.
- "fsyncs" counts write-ahead-log syncs during the run (liaison_rocksdb_wal_synced_total);
  "entries per fsync" shows RocksDB's group commit: concurrent writers share one fsync.

| in flight | operations | ops/s | p50 ms | p90 ms | p99 ms | max ms | errors | fsyncs | entries per fsync |
|---|---|---|---|---|---|---|---|---|---|
$rows
EOT
cat "$OUT"
