#!/usr/bin/env bash
# Measures what oversized requests cost a service's memory: starts a real
# liaison-privacy on free ports (temp data dir and signing key), sends rounds
# of requests far over its receive limit (--max-message-bytes, 4 MiB by
# default) without a token, and prints the process's VmRSS and VmHWM from
# /proc before, after each round, and after a normal small request.
#
#   tools/rss_oversized.sh [--binary PATH] [--mb MIB] [--parallel P]
#                          [--rounds R] [--settle SECONDS] [-- service flags...]
#
# Defaults: build/services/privacy/liaison-privacy, 100 MiB requests, 4 at a
# time, 5 rounds, memory read again 2 s after each round. The requests are sent with curl over plaintext HTTP/2
# (prior knowledge), as a gRPC client would frame them. Extra flags after
# "--" go to the service; the environment passes through (for example
# GLIBC_TUNABLES, to compare allocator settings).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BINARY="$ROOT/build/services/privacy/liaison-privacy"
MIB=100
PARALLEL=4
ROUNDS=5
SETTLE=2
while [ $# -gt 0 ]; do
  case "$1" in
    --binary) BINARY="$2"; shift 2 ;;
    --mb) MIB="$2"; shift 2 ;;
    --parallel) PARALLEL="$2"; shift 2 ;;
    --rounds) ROUNDS="$2"; shift 2 ;;
    --settle) SETTLE="$2"; shift 2 ;;
    --) shift; break ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done

WORK="$(mktemp -d)"
PID=""
cleanup() {
  if [ -n "$PID" ]; then kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

echo "rss-oversized-test-signing-key-0123456789" >"$WORK/signing.key"
"$BINARY" --data-dir "$WORK/data" --signing-key-file "$WORK/signing.key" --grpc-port 0 \
  --metrics-port 0 --listen-host 127.0.0.1 "$@" >"$WORK/service.log" 2>&1 &
PID=$!
for _ in $(seq 100); do
  grep -q '"event":"serving"' "$WORK/service.log" && break
  kill -0 "$PID" 2>/dev/null || { cat "$WORK/service.log" >&2; exit 1; }
  sleep 0.1
done
PORT="$(grep -o '"grpc_port":[0-9]*' "$WORK/service.log" | head -1 | cut -d: -f2)"
[ -n "$PORT" ] || { cat "$WORK/service.log" >&2; exit 1; }
URL="http://127.0.0.1:$PORT/liaison.privacy.v1.PrivacyService/GetSettings"

# A gRPC message: a 5-byte prefix (not compressed, big-endian length), then
# the bytes. The size check comes before parsing, so the content is filler.
python3 - "$WORK/big.bin" "$MIB" "$WORK/small.bin" <<'EOF'
import struct, sys
size = int(sys.argv[2]) << 20
with open(sys.argv[1], "wb") as f:
    f.write(struct.pack(">BI", 0, size))
    chunk = b"\x00" * (1 << 20)
    for _ in range(size >> 20):
        f.write(chunk)
with open(sys.argv[3], "wb") as f:
    f.write(struct.pack(">BI", 0, 0))
EOF

# Sends the framed request in file $1; prints its grpc-status, or "reset"
# when the stream or connection ended without one.
call() {
  local headers
  headers="$(curl -s --http2-prior-knowledge -H 'content-type: application/grpc' \
    -H 'te: trailers' --data-binary "@$1" -D - -o /dev/null "$URL" || true)"
  local status
  status="$(printf '%s\n' "$headers" | tr -d '\r' | sed -n 's/^grpc-status: //p' | head -1)"
  echo "${status:-reset}"
}

memory() {
  awk '/^VmRSS|^VmHWM/ {printf "%s %d MiB  ", $1, $2 / 1024}' "/proc/$PID/status"
}
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$PID/status"; }

call "$WORK/small.bin" >/dev/null
BASE="$(rss_kib)"
echo "start (after one small request): $(memory)"
for round in $(seq "$ROUNDS"); do
  callers=()
  for i in $(seq "$PARALLEL"); do
    call "$WORK/big.bin" >"$WORK/status.$i" &
    callers+=($!)
  done
  wait "${callers[@]}"
  codes="$(cat "$WORK"/status.* | sort | uniq -c | awk '{printf "%s x%s ", $2, $1}')"
  echo "round $round: $PARALLEL x $MIB MiB -> grpc-status ${codes}| $(memory)"
  sleep "$SETTLE"
  echo "  ${SETTLE} s later: $(memory)"
  rm -f "$WORK"/status.*
done
start_ns="$(date +%s%N)"
small="$(call "$WORK/small.bin")"
end_ns="$(date +%s%N)"
echo "small request afterwards: grpc-status $small (16 = no token, as expected)" \
  "in $(((end_ns - start_ns) / 1000000)) ms with curl's start-up"
echo "RSS growth: $((($(rss_kib) - BASE) / 1024)) MiB; $(memory)"
