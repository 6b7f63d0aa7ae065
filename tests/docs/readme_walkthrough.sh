#!/usr/bin/env bash
# The README's grpcurl walkthrough, pasted as a new user would, against a
# real local run (tools/dev.sh serve on ports moved by an offset, data in a
# temp dir): first the `export` lines the run's banner prints, then every
# shell block of the walkthrough exactly as written (its setup defines the
# grpcurl function over `buf curl` where grpcurl is not installed), twice in
# the same shell, as someone who runs it again. Fails if a step fails or an
# answer the README promises is not in the output of either pass.
#
#   readme_walkthrough.sh <repo> <build-dir> <buf>
set -euo pipefail
ROOT="$1"
BUILD="$2"
BUF="$3"
WORK="$(mktemp -d)"
# An offset under which all eight ports are free (other tests run beside this one).
OFFSET=$(python3 - "$$" <<'EOF'
import socket, sys
def free(port):
    with socket.socket() as s:
        try:
            s.bind(("0.0.0.0", port))
            return True
        except OSError:
            return False
for offset in range(7000 + int(sys.argv[1]) % 300 * 10, 15000, 10):
    if all(free(p + offset) for p in (50051, 50052, 50053, 50054, 9101, 9102, 9103, 9104)):
        print(offset)
        break
EOF
)
[ -n "$OFFSET" ] || { echo "no free ports"; exit 1; }
export LIAISON_HOME="$WORK/home" BUILD_DIR="$BUILD" LIAISON_PORT_OFFSET="$OFFSET"
cleanup() {
  LIAISON_HOME="$WORK/home" bash "$ROOT/tools/dev.sh" stop >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

: >"$WORK/serve.log"
bash "$ROOT/tools/dev.sh" serve >"$WORK/serve.log" 2>&1 &
for _ in $(seq 300); do
  grep -q "Liaison is running" "$WORK/serve.log" && break
  if ! kill -0 $! 2>/dev/null; then cat "$WORK/serve.log"; exit 1; fi
  sleep 0.2
done

# Every shell block of the walkthrough, in order.
python3 - "$ROOT/README.md" >"$WORK/walk.sh" <<'EOF'
import re, sys
text = open(sys.argv[1]).read()
section = text[text.index("## grpcurl walkthrough"):text.index("## Auth")]
blocks = re.findall(r"```sh\n(.*?)```", section, re.S)
assert len(blocks) >= 8, f"only {len(blocks)} shell blocks in the walkthrough"
print("\n".join(blocks))
EOF
# The "Explore it" blocks before the walkthrough, pasted once.
python3 - "$ROOT/README.md" >"$WORK/explore.sh" <<'EOF'
import re, sys
text = open(sys.argv[1]).read()
section = text[text.index("## Explore it"):text.index("## grpcurl walkthrough")]
blocks = re.findall(r"```sh\n(.*?)```", section, re.S)
assert len(blocks) == 3, f"{len(blocks)} shell blocks in Explore it, expected 3"
print("\n".join(blocks))
EOF
# The lines the banner asks to paste when the run is not on the defaults.
grep -E '^  export LIAISON_' "$WORK/serve.log" | sed 's/^ *//' >"$WORK/exports.sh"
grep -q LIAISON_PORT_OFFSET "$WORK/exports.sh" || { cat "$WORK/serve.log"; echo "no offset export"; exit 1; }

# The repository root as the walkthrough expects it (its relative paths).
cd "$WORK"
mkdir -p build/tools tools/node_modules/.bin
ln -s "$BUILD/tools/liaisonctl" build/tools/liaisonctl
ln -s "$BUF" tools/node_modules/.bin/buf
# Only what the banner said: not the environment the run was started with.
unset LIAISON_HOME BUILD_DIR LIAISON_PORT_OFFSET
set +u
# shellcheck disable=SC1091
source "$WORK/exports.sh"
# shellcheck disable=SC1091
source "$WORK/explore.sh" >"$WORK/explore.txt" 2>&1 ||
  { cat "$WORK/explore.txt"; echo "the Explore it blocks failed"; exit 1; }
explored=0
for expect in 'Lunch tomorrow?' '"status": "SERVING"' '"inmailAcceptance": false' \
    'liaison.privacy.v1.PrivacyService/UpdateSettings'; do
  grep -qF -- "$expect" "$WORK/explore.txt" || { echo "Explore it: MISSING: $expect"; explored=1; }
done
if grep -q '"code"' "$WORK/explore.txt"; then echo "Explore it: an RPC failed"; explored=1; fi
[ "$explored" -eq 0 ] || { cat "$WORK/explore.txt"; exit 1; }
echo "Explore it: every block answered as the README says"
for pass in 1 2; do
  # shellcheck disable=SC1091
  source "$WORK/walk.sh" >"$WORK/out-$pass.txt" 2>&1 ||
    { cat "$WORK/out-$pass.txt"; echo "pass $pass: a step failed"; exit 1; }
done
set -u

failed=0
check_pass() {
  local out="$WORK/out-$1.txt"
  expect() {
    if grep -q -- "$1" "$out"; then echo "ok: $1"; else echo "MISSING: $1"; failed=1; fi
  }
  echo "pass $1:"
  expect '"connected": true'
  expect '"body": "Hello Bob"'
  expect '"unreadCount": "1"'
  expect '"tier": "ACCOUNT_TIER_PREMIUM_CAREER"'
  expect '"status": "IN_MAIL_STATUS_PENDING"'
  expect '"available": "4"'
  expect '"status": "IN_MAIL_STATUS_ACCEPTED"'
  expect '"senderPageId"'
  [ "$(grep -c '"available": "5"' "$out")" -ge 3 ] && echo "ok: the credit came back" ||
    { echo "MISSING: balance 5 before the InMail (twice) and after Carol's answer"; failed=1; }
  grep -q '^ada=[0-9]\+ bob=[0-9]\+ carol=[0-9]\+$' "$out" && echo "ok: three members" ||
    { echo "MISSING: three member ids"; failed=1; }
  if grep -q '"code"' "$out"; then
    echo "an RPC failed:"; grep -B2 -A3 '"code"' "$out"; failed=1
  fi
  [ "$failed" -eq 0 ] || { cat "$out"; exit 1; }
}
check_pass 1
check_pass 2
[ "$(grep '^ada=' "$WORK/out-1.txt")" != "$(grep '^ada=' "$WORK/out-2.txt")" ] ||
  { echo "the second pass reused the first one's members"; exit 1; }
echo "walkthrough: every step answered as the README says, twice"
