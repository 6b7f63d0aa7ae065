#!/usr/bin/env bash
# Runs libFuzzer harnesses built by the main build (build/fuzz, see
# tests/fuzz/CMakeLists.txt).
#
#   tests/fuzz/fuzz.sh [options] <harness>... | all
#     --build-dir DIR   the fuzz build (default: build/fuzz)
#     --seconds N       time per harness (default: 60)
#     --runs N          stop a harness after N inputs (default: no limit)
#     --merge           afterwards, add the inputs that found new coverage
#                       to the checked-in corpus (tests/fuzz/corpus/<harness>)
#
# Each harness starts from its checked-in corpus; new inputs go to
# <build dir>/corpus/<harness>, so a run never changes the source tree
# unless asked to (--merge). A failing input is saved as
# <build dir>/artifacts/<harness>-crash-<sha1>; replay it with
#   <build dir>/<harness>_fuzz <that file>
set -euo pipefail

SOURCE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$SOURCE/../.." && pwd)"
build_dir="$ROOT/build/fuzz"
seconds=60
runs=-1
merge=0
harnesses=()
while [ $# -gt 0 ]; do
  case "$1" in
    --build-dir) build_dir="$2"; shift 2 ;;
    --seconds) seconds="$2"; shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    --merge) merge=1; shift ;;
    -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    all) for f in "$SOURCE"/*_fuzz.cc; do harnesses+=("$(basename "$f" _fuzz.cc)"); done; shift ;;
    *) harnesses+=("$1"); shift ;;
  esac
done
if [ "${#harnesses[@]}" -eq 0 ]; then
  echo "name a harness or 'all'; --help says more" >&2
  exit 2
fi

# A sanitizer report (leaks included) stops a run with the input saved.
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}"

status=0
for name in "${harnesses[@]}"; do
  binary="$build_dir/${name}_fuzz"
  seeds="$SOURCE/corpus/$name"
  if [ ! -x "$binary" ] || [ ! -d "$seeds" ]; then
    echo "no harness '$name' (looked for $binary and $seeds)" >&2
    exit 2
  fi
  work="$build_dir/corpus/$name"
  mkdir -p "$work" "$build_dir/artifacts"
  echo "==> $name: ${seconds}s"
  if ! "$binary" -max_total_time="$seconds" -runs="$runs" -timeout=10 -max_len=4096 \
      -artifact_prefix="$build_dir/artifacts/$name-" -print_final_stats=1 "$work" "$seeds"; then
    status=1
    continue
  fi
  if [ "$merge" -eq 1 ]; then
    # Edge coverage only, so the checked-in corpus stays a few dozen files.
    "$binary" -merge=1 -use_counters=0 -max_len=4096 "$seeds" "$work"
  fi
done
exit "$status"
