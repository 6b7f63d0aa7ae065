#!/usr/bin/env bash
# The README's grpcurl walkthrough, pasted as a new user would, against a
# real local run (tools/dev.sh serve on ports moved by an offset, data in a
# temp dir). grpcurl is not a Debian package, so a grpcurl() function turns
# each call into the equivalent `buf curl` (same flags, same JSON) and moves
# the port. Fails if any step fails or an answer the README promises is not
# in the output.
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
  bash "$ROOT/tools/dev.sh" stop >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

bash "$ROOT/tools/dev.sh" serve >"$WORK/serve.log" 2>&1 &
for _ in $(seq 300); do
  grep -q "Liaison is running" "$WORK/serve.log" && break
  if ! kill -0 $! 2>/dev/null; then cat "$WORK/serve.log"; exit 1; fi
  sleep 0.2
done

# The walkthrough's shell blocks, less the first (a buf curl example that
# needs variables set later).
python3 - "$ROOT/README.md" >"$WORK/walk.sh" <<'EOF'
import re, sys
text = open(sys.argv[1]).read()
section = text[text.index("## grpcurl walkthrough"):text.index("## Auth")]
blocks = re.findall(r"```sh\n(.*?)```", section, re.S)
print("\n".join(blocks[1:]))
EOF

grpcurl() {
  local args=() data="" target="" method=""
  while [ $# -gt 0 ]; do
    case "$1" in
      -plaintext) shift ;;
      -H) args+=(-H "$2"); shift 2 ;;
      -d) data="$2"; shift 2 ;;
      *) if [ -z "$target" ]; then target="$1"; else method="$1"; fi; shift ;;
    esac
  done
  [ -n "$data" ] && args+=(-d "$data")
  local host="${target%:*}" port="${target##*:}"
  "$BUF" curl --protocol grpc --http2-prior-knowledge "${args[@]}" \
    "http://$host:$((port + OFFSET))/$method"
}

cd "$WORK"
mkdir -p build/tools .liaison
ln -s "$BUILD/tools/liaisonctl" build/tools/liaisonctl
ln -s "$LIAISON_HOME/signing.key" .liaison/signing.key
set +u
# shellcheck disable=SC1091
source "$WORK/walk.sh" >"$WORK/out.txt" 2>&1 || { cat "$WORK/out.txt"; echo "a step failed"; exit 1; }
set -u

failed=0
expect() {
  if grep -q -- "$1" "$WORK/out.txt"; then echo "ok: $1"; else echo "MISSING: $1"; failed=1; fi
}
expect '"connected": true'
expect '"body": "Hello Bob"'
expect '"unreadCount": "1"'
expect '"tier": "ACCOUNT_TIER_PREMIUM_CAREER"'
expect '"status": "IN_MAIL_STATUS_PENDING"'
expect '"available": "4"'
expect '"status": "IN_MAIL_STATUS_ACCEPTED"'
expect '"senderPageId"'
[ "$(grep -c '"available": "5"' "$WORK/out.txt")" -ge 2 ] && echo "ok: the credit came back" ||
  { echo "MISSING: balance 5 after Carol's answer"; failed=1; }
if grep -q '"code"' "$WORK/out.txt"; then
  echo "an RPC failed:"; grep -B2 -A3 '"code"' "$WORK/out.txt"; failed=1
fi
[ "$failed" -eq 0 ] || { cat "$WORK/out.txt"; exit 1; }
echo "walkthrough: every step answered as the README says"
