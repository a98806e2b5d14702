#!/usr/bin/env bash
# User-space instructions per NOP, counted by valgrind's callgrind (repeatable,
# unlike time). Runs the bench twice, with N and 2N ops, and divides the
# difference by N, so setup, teardown and printing cancel out.
#
#   tools/bench/callgrind.sh [BENCH_BINARY] [SETUPS] [BATCHES] [N]
#   tools/bench/callgrind.sh bazel-bin/tools/bench/bench raw,plain,default 1,32 20000
#
# Build the bench with -c opt first (tools/bazelw build -c opt //tools/bench).
set -euo pipefail
bench=${1:-bazel-bin/tools/bench/bench}
setups=${2:-raw,plain,default,best}
batches=${3:-1,32}
n=${4:-32000}
command -v valgrind >/dev/null || { echo "callgrind.sh: needs valgrind (apt-get install valgrind)" >&2; exit 1; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
instructions() {  # setup batch ops
  valgrind --tool=callgrind --callgrind-out-file="$out/cg" "$bench" nop --setup "$1" --batch "$2" --ops "$3" --reps 1 \
    >/dev/null 2>"$out/log" || { cat "$out/log" >&2; exit 1; }
  sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$out/log"
}
for batch in ${batches//,/ }; do
  for setup in ${setups//,/ }; do
    one=$(instructions "$setup" "$batch" "$n")
    two=$(instructions "$setup" "$batch" $((2 * n)))
    echo "callgrind setup=$setup batch=$batch instructions_per_op=$(( (two - one) / n ))"
  done
done
