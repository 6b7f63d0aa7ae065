#!/usr/bin/env bash
# Builds the four images of deploy/docker/Dockerfile with Debian's podman and
# runs them as a pod would: each must answer grpc.health.v1.Health SERVING and
# serve /metrics, run as uid/gid 10001 (read-only root filesystem, no
# capabilities), and exit 0 on SIGTERM.
#
#   check_images.sh <repo> <build-dir> <buf>
#
# No registry is reachable from CI, so the base is made here: a debootstrap'ed
# Debian bookworm (deploy/docker/debian-base.sh), imported as
# localhost/liaison/bookworm:base and passed as both BUILD_IMAGE and
# RUNTIME_IMAGE. By default the images take the binaries the build tree
# already has (BINARIES=prebuilt, debug info stripped as the build stage
# does); LIAISON_IMAGES_FROM_SOURCE=1 builds them the operators'
# way instead, compiling all four in the build stage (minutes more).
#
# Everything lives in <build-dir>/images: podman's storage (so the base and the
# runtime layer are cached for the next run; delete the folder to start over),
# logs, and for the length of the run the containers' key and data. Exits 77
# (CTest's skip) with the reason when this machine cannot build or run
# containers at all; any failure after that is a failure.
set -euo pipefail
ROOT="$(cd "$1" && pwd)"
BUILD="$(cd "$2" && pwd)"
BUF="$3"
WORK="$BUILD/images"
MIRROR="${LIAISON_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
BASE=localhost/liaison/bookworm:base
SERVICES=(privacy identity credits messaging)  # dependency order (DESIGN.md §2)

skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "needs root (debootstrap, rootful podman)"
for tool in podman runc debootstrap strip curl; do
  command -v "$tool" >/dev/null || skip "$tool is not installed (tools/dev.sh installs it)"
done
mkdir -p "$WORK/logs"
exec 9>"$WORK/lock"
flock -w 1800 9 || { echo "another run holds $WORK/lock"; exit 1; }

# podman's default rlimits for a rootful container (nofile 1048576, nproc
# 32768) are above what root may set where it lacks CAP_SYS_RESOURCE, and
# `--ulimit host` does not avoid them in podman 4.3; so ask for no more than
# this process has.
hard() { local v; v="$(ulimit -H "$1")"; [ "$v" = unlimited ] || [ "$v" -gt "$2" ] && v="$2"; echo "$v"; }
ULIMITS=(--ulimit "nofile=$(hard -n 65536):$(hard -n 65536)" --ulimit "nproc=$(hard -u 4096):$(hard -u 4096)")

# Own storage, state and runtime (runc: crun fails on a hybrid cgroup layout).
PODMAN=()
use_driver() {
  DRIVER="$1"
  PODMAN=(podman --root "$WORK/storage-$1" --runroot "$WORK/run-$1" --tmpdir "$WORK/tmp-$1"
          --storage-driver "$1" --runtime runc --cgroup-manager cgroupfs --events-backend file)
}
pm() { "${PODMAN[@]}" "$@"; }
# podman's overlay driver bind-mounts its layer folder and may leave it
# mounted when a container fails to start; a mount left below the build
# tree would make `rm -rf build` fail.
unmount_leftovers() {
  findmnt -rn -o TARGET | grep "^$WORK/" | sort -r | xargs -r -d '\n' umount 2>/dev/null || true
}
trap unmount_leftovers EXIT

started=$SECONDS
# The base (deploy/docker/debian-base.sh), made again when that script or the
# mirror changes.
recipe="$(cat "$ROOT/deploy/docker/debian-base.sh" <(echo "$MIRROR") | sha256sum | cut -c1-16)"
if [ ! -s "$WORK/bookworm.tar" ] || [ "$(cat "$WORK/bookworm.recipe" 2>/dev/null)" != "$recipe" ]; then
  bash "$ROOT/deploy/docker/debian-base.sh" "$WORK/bookworm.tar" "$MIRROR"
  echo "$recipe" >"$WORK/bookworm.recipe"
  unmount_leftovers
  rm -rf "$WORK"/storage-* "$WORK"/run-* "$WORK"/tmp-*  # images of the old base
fi
import_base() {
  pm image exists "$BASE" && return 0
  pm import --change 'CMD ["bash"]' "$WORK/bookworm.tar" "$BASE" >/dev/null 2>"$WORK/logs/import.log"
}
# Overlay where the kernel allows it, else vfs (slower, copies every layer).
probe_error=""
for driver in overlay vfs; do
  use_driver "$driver"
  if import_base && probe_error="$(pm run --rm --network host "${ULIMITS[@]}" "$BASE" true 2>&1)"; then
    break
  fi
  probe_error="${probe_error:-$(cat "$WORK/logs/import.log")}"
  echo "podman with $DRIVER storage cannot run a container: $probe_error"
  [ "$DRIVER" = vfs ] && skip "podman cannot run a container here: $probe_error"
done
echo "base ready ($DRIVER storage) after $((SECONDS - started)) s"

# ---- the four images ------------------------------------------------------
KEY="$WORK/live/signing.key"
names=()
cleanup() {
  local name
  for name in "${names[@]}"; do pm rm -f -t 0 "$name" >/dev/null 2>&1 || true; done
  rm -rf "$WORK/live" "$WORK/context"
  pm image prune -f >/dev/null 2>&1 || true  # the previous images' layers
  unmount_leftovers
}
trap cleanup EXIT
rm -rf "$WORK/live" "$WORK/context"

build_args=(--build-arg "BUILD_IMAGE=$BASE" --build-arg "RUNTIME_IMAGE=$BASE")
if [ "${LIAISON_IMAGES_FROM_SOURCE:-0}" = 1 ]; then
  context="$ROOT"
  build_args+=(--build-arg BINARIES=build --build-arg "JOBS=$(nproc)")
else
  context="$WORK/context"
  mkdir -p "$context"
  for svc in "${SERVICES[@]}"; do
    strip --strip-debug -o "$context/liaison-$svc" "$BUILD/services/$svc/liaison-$svc"
  done
  build_args+=(--build-arg BINARIES=prebuilt)
fi
for svc in "${SERVICES[@]}"; do
  t=$SECONDS
  if ! timeout 3600 "${PODMAN[@]}" build --pull=never --network host "${ULIMITS[@]}" "${build_args[@]}" \
      -f "$ROOT/deploy/docker/Dockerfile" --target "$svc" -t "localhost/liaison/$svc:test" \
      "$context" >"$WORK/logs/build-$svc.log" 2>&1; then
    tail -30 "$WORK/logs/build-$svc.log"
    echo "building the $svc image failed (log: $WORK/logs/build-$svc.log)"
    exit 1
  fi
  echo "built localhost/liaison/$svc:test in $((SECONDS - t)) s," \
    "$(pm image inspect --format '{{.Size}}' "localhost/liaison/$svc:test" | numfmt --to=si --suffix=B)"
done

# ---- run them as the StatefulSets do ----------------------------------------
passed=0
failures=()
check() {  # check <description> <command...>: records a pass or a failure
  local what="$1"
  shift
  if "$@"; then passed=$((passed + 1)); else failures+=("$what"); echo "FAIL $what"; fi
}
mkdir -p "$WORK/live"
(umask 077 && head -c 48 /dev/urandom | base64 -w0 >"$KEY")
chown 10001:10001 "$KEY"
read -r -a ports < <(python3 -c '
import socket
socks = [socket.socket() for _ in range(8)]
for s in socks:
    s.bind(("0.0.0.0", 0))
print(*(s.getsockname()[1] for s in socks))')
declare -A GRPC METRICS
for i in "${!SERVICES[@]}"; do
  GRPC[${SERVICES[$i]}]=${ports[$((2 * i))]}
  METRICS[${SERVICES[$i]}]=${ports[$((2 * i + 1))]}
done

healthy() {  # healthy <port> <container>: Health/Check answers SERVING within 30 s
  for _ in $(seq 150); do
    "$BUF" curl --protocol grpc --http2-prior-knowledge \
      "http://127.0.0.1:$1/grpc.health.v1.Health/Check" 2>/dev/null | grep -q '"SERVING"' && return 0
    [ "$(pm inspect --format '{{.State.Running}}' "$2")" = true ] || break
    sleep 0.2
  done
  pm logs --tail 20 "$2" || true
  return 1
}
uid_is_10001() {  # the service process, seen from the host
  local pid
  pid="$(pm inspect --format '{{.State.Pid}}' "$1")"
  [ "$pid" -gt 0 ] || return 1
  # real, effective, saved and filesystem ids
  [ "$(awk '/^[UG]id:/ { print $2, $3, $4, $5 }' "/proc/$pid/status")" = \
    $'10001 10001 10001 10001\n10001 10001 10001 10001' ] &&
    [ "$(pm image inspect --format '{{.Config.User}}' "$2")" = 10001:10001 ]
}

for svc in "${SERVICES[@]}"; do
  image="localhost/liaison/$svc:test"
  name="liaison-image-test-$svc-$$"
  mkdir -p "$WORK/live/data/$svc"
  chown 10001:10001 "$WORK/live/data/$svc"
  chmod 0750 "$WORK/live/data/$svc"
  env=(-e "LIAISON_GRPC_PORT=${GRPC[$svc]}" -e "LIAISON_METRICS_PORT=${METRICS[$svc]}"
       -e LIAISON_SIGNING_KEY_FILE=/etc/liaison/signing-key/signing.key)
  case "$svc" in
    identity) env+=(-e "LIAISON_PRIVACY_ADDRESS=127.0.0.1:${GRPC[privacy]}") ;;
    credits) env+=(-e "LIAISON_IDENTITY_ADDRESS=127.0.0.1:${GRPC[identity]}") ;;
    messaging) env+=(-e "LIAISON_IDENTITY_ADDRESS=127.0.0.1:${GRPC[identity]}"
                     -e "LIAISON_PRIVACY_ADDRESS=127.0.0.1:${GRPC[privacy]}"
                     -e "LIAISON_CREDITS_ADDRESS=127.0.0.1:${GRPC[credits]}") ;;
  esac
  names+=("$name")
  # The pod's security context: read-only root, a writable /tmp and data
  # volume, no capabilities, no privilege escalation.
  pm run -d --name "$name" --network host "${ULIMITS[@]}" --read-only --tmpfs /tmp \
    --cap-drop all --security-opt no-new-privileges \
    -v "$WORK/live/data/$svc:/var/lib/liaison" -v "$KEY:/etc/liaison/signing-key/signing.key:ro" \
    "${env[@]}" "$image" >/dev/null
  check "$svc: Health/Check answers SERVING" healthy "${GRPC[$svc]}" "$name"
  check "$svc: /metrics is served" \
    sh -c "curl -sf http://127.0.0.1:${METRICS[$svc]}/metrics | grep -q '^process_'"
  check "$svc: runs as uid/gid 10001" uid_is_10001 "$name" "$image"
done
# Reverse dependency order, as a rollout would stop them.
for ((i = ${#SERVICES[@]} - 1; i >= 0; i--)); do
  svc="${SERVICES[$i]}"
  name="liaison-image-test-$svc-$$"
  t=$SECONDS
  pm kill -s TERM "$name" >/dev/null 2>&1 || true
  code="$(timeout 40 "${PODMAN[@]}" wait "$name" 2>&1 || echo timeout)"
  echo "$svc: exit code $code, $((SECONDS - t)) s after SIGTERM"
  check "$svc: exits 0 on SIGTERM" [ "$code" = 0 ]
  [ "$code" = 0 ] || pm logs --tail 20 "$name" || true
done

for failure in "${failures[@]}"; do echo "FAIL $failure"; done
echo "images: $passed passed, ${#failures[@]} failed ($((SECONDS - started)) s)"
[ "${#failures[@]}" -eq 0 ]
