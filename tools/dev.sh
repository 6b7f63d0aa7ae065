#!/usr/bin/env bash
# Liaison's developer entry point (the README's two commands).
#
#   tools/dev.sh run    install what is missing, build, and run every service
#                       locally with data under .liaison/ (Ctrl-C stops them all)
#   tools/dev.sh test   install what is missing, build, and run every test
#                       (a test that cannot run here is reported skipped, with why)
#   tools/dev.sh build  install what is missing and build
#   tools/dev.sh serve  run every service from the existing build (no install)
#   tools/dev.sh stop   stop the services a run or serve started
#
# Environment: LIAISON_HOME (default: <repo>/.liaison) holds the local data,
# logs and the dev signing key; BUILD_DIR (default: <repo>/build);
# LIAISON_PORT_OFFSET (default 0) is added to every port, so a second copy
# can run beside the first (liaisonctl's default addresses follow it too);
# LIAISON_SHARDS (default 1, at most 16) runs that many shards of every
# service, shard i on the usual ports + 100*i,
# with data and logs per shard and the map in $LIAISON_HOME/shard-map.json.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${BUILD_DIR:-$ROOT/build}"
LIAISON_HOME="${LIAISON_HOME:-$ROOT/.liaison}"
JOBS="$(nproc)"

# Debian bookworm packages the build, the services and the tests need.
PACKAGES=(
  build-essential cmake ninja-build pkg-config git
  protobuf-compiler libprotobuf-dev protobuf-compiler-grpc libgrpc++-dev libabsl-dev
  librocksdb-dev prometheus-cpp-dev libjwt-dev libssl-dev
  nlohmann-json3-dev libcli11-dev libspdlog-dev catch2
  clang libclang-rt-14-dev
  prometheus curl ca-certificates python3-yaml openssl
  podman runc debootstrap
)

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

install_deps() {
  local missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
  if [ "${#missing[@]}" -gt 0 ]; then
    log "updating the package lists"
    as_root apt-get update -qq
    apt_install "${missing[@]}"
  fi
  # buf's version is pinned exactly in tools/package.json.
  if [ ! -x "$ROOT/tools/node_modules/.bin/buf" ] ||
     [ "$ROOT/tools/package.json" -nt "$ROOT/tools/node_modules/.package-lock.json" ]; then
    log "installing buf from npm (tools/package.json)"
    (cd "$ROOT/tools" && npm install --no-audit --no-fund --no-save --loglevel=error)
  fi
}

# apt-get install with a short progress report (a line per 25 packages
# downloaded, unpacked and set up) instead of minutes of silence or of
# apt's full output; that output is shown only if the install fails.
apt_install() {
  local total output
  total="$(apt-get install -s --no-install-recommends "$@" 2>/dev/null | grep -c '^Inst ' || true)"
  log "installing $total Debian packages (for ${*})"
  output="$(mktemp)"
  if ! as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      -o Dpkg::Use-Pty=0 "$@" 2>&1 | tee "$output" | awk -v total="$total" '
        function report(what, n) {
          if (n % 25 == 0 || n == total) { printf "  %s %d of %d\n", what, n, total; fflush() }
        }
        /^Get:[0-9]/ { report("downloaded", ++got) }
        /^Unpacking / { report("unpacked", ++unpacked) }
        /^Setting up / { report("set up", ++set_up) }'; then
    tail -n 40 "$output" >&2
    rm -f "$output"
    log "apt-get install failed"
    exit 1
  fi
  rm -f "$output"
}

build() {
  log "building in $BUILD_DIR"
  cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$BUILD_DIR" -j "$JOBS"
}

run_tests() {
  log "running every test"
  ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$JOBS" --timeout 600
}

# Services in dependency order (DESIGN.md §2): name, gRPC port, metrics port,
# then the flags that point it at what it calls.
SERVICES=(
  "privacy 50054 9104"
  "identity 50051 9101 --privacy-address 127.0.0.1:50054"
  "credits 50053 9103 --identity-address 127.0.0.1:50051"
  "messaging 50052 9102 --identity-address 127.0.0.1:50051 --privacy-address 127.0.0.1:50054 --credits-address 127.0.0.1:50053"
)

# One run per LIAISON_HOME: says so and exits 1 if one is up. `run` asks
# before installing and building, `serve` before starting anything.
refuse_if_running() {
  local pidfile="$LIAISON_HOME/dev.pid"
  if [ -s "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    log "already running from $LIAISON_HOME (pid $(cat "$pidfile")); tools/dev.sh stop stops it"
    exit 1
  fi
}

# The services to start, ports moved by $1 (the offset), one line each:
# name (liaison-<name before any -N>), gRPC port, metrics port, flags. With
# $2 shards (>1), every service runs as privacy-0.., identity-0..,
# credits-0.., messaging-0.. under the map $3, which is written here. Each
# calls shard 0 of what it depends on, which forwards; credits-i follows
# identity-i's change feed; each messaging shard reads the map to reach
# every shard directly and follows every identity and privacy shard's feed.
service_entries() {
  local offset="$1" shards="$2" map="$3" entry base=()
  for entry in "${SERVICES[@]}"; do
    base+=("$(awk -v o="$offset" '{ for (i = 1; i <= NF; i++) {
        if ($i ~ /^[0-9]+$/) $i += o; else if ($i ~ /:[0-9]+$/) { split($i, a, ":"); $i = a[1] ":" a[2] + o } }
      print }' <<<"$entry")")
  done
  if [ "$shards" = 1 ]; then
    printf '%s\n' "${base[@]}"
    return
  fi
  local i sep
  {
    echo '{"epoch": 1, "shards": ['
    for ((i = 0; i < shards; i++)); do
      sep=","; [ "$i" -lt $((shards - 1)) ] || sep=""
      printf '  {"partitions": "%d-%d", "privacy": "127.0.0.1:%d", "identity": "127.0.0.1:%d", "credits": "127.0.0.1:%d", "messaging": "127.0.0.1:%d"}%s\n' \
        $((i * 4096 / shards)) $(((i + 1) * 4096 / shards - 1)) $((50054 + 100 * i + offset)) \
        $((50051 + 100 * i + offset)) $((50053 + 100 * i + offset)) \
        $((50052 + 100 * i + offset)) "$sep"
    done
    echo ']}'
  } >"$map"
  for ((i = 0; i < shards; i++)); do
    echo "privacy-$i $((50054 + 100 * i + offset)) $((9104 + 100 * i + offset))" \
      "--shard-map $map --shard-index $i"
  done
  for ((i = 0; i < shards; i++)); do
    echo "identity-$i $((50051 + 100 * i + offset)) $((9101 + 100 * i + offset))" \
      "--privacy-address 127.0.0.1:$((50054 + offset)) --shard-map $map --shard-index $i"
  done
  for ((i = 0; i < shards; i++)); do
    echo "credits-$i $((50053 + 100 * i + offset)) $((9103 + 100 * i + offset))" \
      "--identity-address 127.0.0.1:$((50051 + offset)) --shard-map $map --shard-index $i"
  done
  for ((i = 0; i < shards; i++)); do
    echo "messaging-$i $((50052 + 100 * i + offset)) $((9102 + 100 * i + offset))" \
      "--identity-address 127.0.0.1:$((50051 + offset))" \
      "--privacy-address 127.0.0.1:$((50054 + offset))" \
      "--credits-address 127.0.0.1:$((50053 + offset)) --shard-map $map --shard-index $i"
  done
}

run_local() {
  refuse_if_running
  mkdir -p "$LIAISON_HOME/data" "$LIAISON_HOME/logs"
  local offset="${LIAISON_PORT_OFFSET:-0}"
  local shards="${LIAISON_SHARDS:-1}"
  if ! [[ "$shards" =~ ^[0-9]+$ ]] || [ "$shards" -lt 1 ] || [ "$shards" -gt 16 ]; then
    log "LIAISON_SHARDS must be a whole number from 1 to 16, not \"$shards\""
    exit 2
  fi
  local pidfile="$LIAISON_HOME/dev.pid"
  local binary
  for binary in services/privacy/liaison-privacy services/identity/liaison-identity \
      services/credits/liaison-credits services/messaging/liaison-messaging tools/liaisonctl; do
    if [ ! -x "$BUILD_DIR/$binary" ]; then
      log "$BUILD_DIR/$binary is missing: build first (tools/dev.sh build)"
      exit 1
    fi
  done
  echo "$$" >"$pidfile"
  local key="$LIAISON_HOME/signing.key"
  if [ ! -s "$key" ]; then
    log "generating a dev signing key in $key"
    (umask 077 && head -c 48 /dev/urandom | base64 -w0 >"$key")
  fi
  local buf="$ROOT/tools/node_modules/.bin/buf"
  local pids=() names=()
  stop_all() {
    trap - INT TERM EXIT
    log "stopping"
    rm -f "$pidfile"
    local i code=0
    for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
      kill -TERM "${pids[$i]}" 2>/dev/null || true
      if wait "${pids[$i]}"; then
        log "${names[$i]} stopped cleanly"
      else
        code=$?
        log "${names[$i]} exited with code $code (log: $LIAISON_HOME/logs/${names[$i]}.log)"
      fi
    done
    exit "$code"
  }
  # Whatever ends this script (Ctrl-C, SIGTERM, a failed step) stops the services.
  trap stop_all INT TERM EXIT
  local entry name grpc metrics extra entries
  mapfile -t entries < <(service_entries "$offset" "$shards" "$LIAISON_HOME/shard-map.json")
  [ "$shards" = 1 ] ||
    log "$shards shards of every service (map: $LIAISON_HOME/shard-map.json)"
  for entry in "${entries[@]}"; do
    read -r name grpc metrics extra <<<"$entry"
    # shellcheck disable=SC2086 # extra holds several flags
    "$BUILD_DIR/services/${name%%-*}/liaison-${name%%-*}" \
      --data-dir "$LIAISON_HOME/data/$name" --signing-key-file "$key" \
      --grpc-port "$grpc" --metrics-port "$metrics" $extra \
      2>>"$LIAISON_HOME/logs/$name.log" &
    pids+=($!)
    names+=("$name")
    local tries=0
    until "$buf" curl --protocol grpc --http2-prior-knowledge \
        "http://127.0.0.1:$grpc/grpc.health.v1.Health/Check" 2>/dev/null | grep -q SERVING; do
      if ! kill -0 "${pids[-1]}" 2>/dev/null || [ $((tries += 1)) -gt 100 ]; then
        log "$name did not become healthy; its log:"
        tail -n 20 "$LIAISON_HOME/logs/$name.log" >&2
        stop_all
      fi
      sleep 0.1
    done
    printf '  %-9s grpc 127.0.0.1:%s   metrics http://127.0.0.1:%s/metrics\n' \
      "$name" "$grpc" "$metrics"
  done
  local admin
  admin="$("$BUILD_DIR/tools/liaisonctl" token --service admin --signing-key-file "$key" --ttl 24h)"
  # What liaisonctl and the README's walkthrough need, in another terminal,
  # when this run is not on the defaults (.liaison/ and offset 0).
  local exports=""
  [ "$offset" = 0 ] || exports+="  export LIAISON_PORT_OFFSET=$offset"$'\n'
  [ "$key" -ef "$ROOT/.liaison/signing.key" ] ||
    exports+="  export LIAISON_SIGNING_KEY_FILE=$key"$'\n'
  [ -z "$exports" ] ||
    exports=$'\n'"For liaisonctl (its default addresses and key) in another terminal:"$'\n\n'"$exports"
  cat <<EOT

Liaison is running. Data and logs: $LIAISON_HOME.
Ctrl-C (or tools/dev.sh stop) stops every service.
A dev service token (24 h) for the internal methods, e.g. CreateMember and SetAccountTier:

  export ADMIN_TOKEN=$admin
$exports
Member tokens: $BUILD_DIR/tools/liaisonctl token <member-id> --signing-key-file $key
Try:
  $buf curl --protocol grpc --http2-prior-knowledge --list-methods http://127.0.0.1:$((50051 + offset))
  $buf curl --protocol grpc --http2-prior-knowledge -H "authorization: Bearer \$ADMIN_TOKEN" \\
    -d '{"handle": "ada", "displayName": "Ada Lovelace", "email": "ada@example.com"}' \\
    http://127.0.0.1:$((50051 + offset))/liaison.identity.v1.IdentityService/CreateMember
EOT
  wait -n "${pids[@]}" || true
  log "a service exited on its own"
  stop_all
}

stop_local() {
  local pidfile="$LIAISON_HOME/dev.pid" pid
  if [ ! -s "$pidfile" ] || ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    log "nothing is running from $LIAISON_HOME"
    exit 0
  fi
  pid="$(cat "$pidfile")"
  kill -TERM "$pid"
  # The runner stops the services one by one, each within its drain time;
  # done once it is gone (or a zombie its parent has yet to reap).
  local state=R
  while [ -r "/proc/$pid/stat" ] && [ "$state" != Z ]; do
    sleep 0.1
    read -r _ _ state _ <"/proc/$pid/stat" 2>/dev/null || break
  done
  log "stopped"
}

case "${1:-}" in
  run) refuse_if_running; install_deps; build; run_local ;;
  test) install_deps; build; run_tests ;;
  build) install_deps; build ;;
  serve) run_local ;;
  stop) stop_local ;;
  *) sed -n '2,/^[^#]/{/^#/p}' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
