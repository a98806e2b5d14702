#!/usr/bin/env bash
# Builds every fuzz target in tests/fuzz/ with clang's libFuzzer under
# ASan+UBSan and runs each for a while, starting from the committed corpus.
#
#   tests/fuzz/run.sh [--seconds N] [--jobs J] [--workdir DIR] [TARGET...]
#
#   --seconds N   how long each target runs (default 60)
#   --jobs J      targets run at the same time (default 2, one per core here)
#   --workdir DIR build and run there (default /tmp/uring-fuzz); each target's
#                 corpus is copied to DIR/corpus/TARGET first, so a run grows
#                 that copy, never the committed one (tests/fuzz/corpus/TARGET)
#   TARGET        recvmsg_out_fuzz, buffer_group_fuzz, stress_ops_fuzz,
#                 http_request_fuzz (default: all)
#
# Prints one line per target (runs, corpus size at the end, result) and exits
# non-zero if any target crashed, leaked, broke an oracle invariant or timed
# out; the line names the reproducer (DIR/artifacts/TARGET/crash-...) and
# the command that replays it. Installs clang and libFuzzer from Debian
# (tools/ensure_packages.sh) when they are missing.
set -euo pipefail

cd "$(dirname "$0")/../.."
root=$(pwd)
seconds=60
jobs=2
workdir=/tmp/uring-fuzz
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --workdir) workdir=$2; shift 2 ;;
    -h|--help) sed -n '2,21p' "$0" | sed -n 's/^# \{0,1\}//p'; exit 0 ;;
    -*) echo "run.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
if [ ${#targets[@]} -eq 0 ]; then
  for src in tests/fuzz/*_fuzz.cc; do targets+=("$(basename "$src" .cc)"); done
fi
for t in "${targets[@]}"; do
  [ -f "tests/fuzz/$t.cc" ] || { echo "run.sh: no target tests/fuzz/$t.cc" >&2; exit 2; }
done
case "$seconds" in ''|*[!0-9]*) echo "run.sh: --seconds takes a whole number" >&2; exit 2 ;; esac
case "$jobs" in ''|*[!0-9]*|0) echo "run.sh: --jobs takes a whole number >= 1" >&2; exit 2 ;; esac

# clang++ (Debian 12: clang 14) and its libFuzzer runtime.
tools/ensure_packages.sh clang libclang-rt-14-dev
cxx=${CXX_FUZZ:-clang++}
if ! echo 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }' |
    "$cxx" -x c++ -fsanitize=fuzzer - -o /dev/null 2>/dev/null; then
  echo "run.sh: $cxx cannot link -fsanitize=fuzzer (libFuzzer runtime missing?)" >&2
  exit 1
fi

flags=(-std=c++20 -g -O1 -fsanitize=address,undefined -fno-sanitize-recover=undefined -I.)
mkdir -p "$workdir/obj" "$workdir/bin"
start=$(date +%s)
# The library once, instrumented for coverage; then each target links it.
# A target that includes the stress engine (tests/stress/engine.h) also
# links tests/stress/engine.cc, built once the same way, apart from the
# library's objects so the other targets do not carry it.
uses_engine() { grep -q '#include "tests/stress/engine.h"' "tests/fuzz/$1.cc"; }
sources=(uring/*.cc)
for t in "${targets[@]}"; do
  if uses_engine "$t"; then sources+=(tests/stress/engine.cc); break; fi
done
rm -f "$workdir"/obj/*.o "$workdir/stress_engine.o"
pids=()
for src in "${sources[@]}"; do
  out="$workdir/obj/$(basename "$src" .cc).o"
  [ "$src" = tests/stress/engine.cc ] && out="$workdir/stress_engine.o"
  "$cxx" "${flags[@]}" -fsanitize=fuzzer-no-link -c "$src" -o "$out" &
  pids+=($!)
  if [ ${#pids[@]} -ge "$jobs" ]; then wait "${pids[0]}"; pids=("${pids[@]:1}"); fi
done
for pid in "${pids[@]}"; do wait "$pid"; done
for t in "${targets[@]}"; do
  extra=()
  uses_engine "$t" && extra=("$workdir/stress_engine.o")
  "$cxx" "${flags[@]}" -fsanitize=fuzzer "tests/fuzz/$t.cc" "$workdir"/obj/*.o "${extra[@]}" -o "$workdir/bin/$t" &
done
wait
for t in "${targets[@]}"; do
  [ -x "$workdir/bin/$t" ] || { echo "run.sh: building $t failed" >&2; exit 1; }
done
echo "built ${#targets[@]} targets in $(( $(date +%s) - start )) s (in $workdir)"

export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0

run_one() {
  local t=$1
  local corpus="$workdir/corpus/$t" artifacts="$workdir/artifacts/$t" log="$workdir/$t.log"
  rm -rf "$corpus" "$artifacts"
  mkdir -p "$corpus" "$artifacts"
  cp "tests/fuzz/corpus/$t/"* "$corpus/"
  local dict=()
  [ -f "tests/fuzz/$t.dict" ] && dict=("-dict=tests/fuzz/$t.dict")
  local status=0
  "$workdir/bin/$t" -max_total_time="$seconds" -timeout=25 -print_final_stats=1 \
    -artifact_prefix="$artifacts/" "${dict[@]}" "$corpus" >"$log" 2>&1 || status=$?
  local runs files bytes
  runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$log" | tail -1)
  [ -n "$runs" ] || runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  files=$(find "$corpus" -type f | wc -l)
  bytes=$(du -sb "$corpus" | cut -f1)
  local reproducer
  reproducer=$(find "$artifacts" -type f | head -1)
  if [ "$status" -eq 0 ] && [ -z "$reproducer" ]; then
    echo "$t: ${runs:-?} runs in ${seconds} s, corpus $files files ($bytes bytes), clean"
  else
    local why
    why=$(grep -m1 -E "oracle: invariant broken|ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error|SUMMARY" "$log" || true)
    echo "$t: FAILED after ${runs:-?} runs (exit $status): ${why:-see $log}"
    echo "$t:   reproducer: ${reproducer:-none written}; log: $log"
    [ -n "$reproducer" ] && echo "$t:   replay: $workdir/bin/$t $reproducer   (FUZZ_TRACE=1 for a step trace)"
    return 1
  fi
}

failed=0
results="$workdir/results"
rm -rf "$results"
mkdir -p "$results"
running=()
for t in "${targets[@]}"; do
  ( run_one "$t" >"$results/$t" ) &
  running+=($!)
  if [ ${#running[@]} -ge "$jobs" ]; then
    wait "${running[0]}" || failed=1
    running=("${running[@]:1}")
  fi
done
for pid in "${running[@]}"; do wait "$pid" || failed=1; done
for t in "${targets[@]}"; do cat "$results/$t"; done
echo "fuzzing took $(( $(date +%s) - start )) s in all"
exit "$failed"
