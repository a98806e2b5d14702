#!/usr/bin/env bash
# Bazel's face of run.sh (//tools/liburing_tests:liburing_tests_test, manual):
# runs the suite against uring with the expected list, from the source tree
# (run.sh's real path, behind the runfiles link), and prints the doctest-style
# summary lines CI's counter reads: passed = tests and examples that pass,
# failed = those expected to pass that did not, skipped = the rest (expected
# not to pass, or an example that is only built).
# Arguments go to run.sh, e.g. --against liburing.
set -uo pipefail
run=$(readlink -f "$(dirname "$0")/run.sh")
[ -x "$run" ] || run=$(readlink -f "${TEST_SRCDIR:-.}/${TEST_WORKSPACE:-}/tools/liburing_tests/run.sh")
# Bazel's test environment moves HOME; keep the user's cache so the source is
# fetched once.
home=$(getent passwd "$(id -u)" | cut -d: -f6)
out=$(mktemp)
"$run" --work "${LIBURING_TESTS_WORK:-${home:-/tmp}/.cache/uring/liburing-2.3}" "$@" 2>&1 | tee "$out"
status=${PIPESTATUS[0]}
read -r pass fail skip timeout build_fail < <(sed -n 's/^liburing tests: \([0-9]*\) pass, \([0-9]*\) fail, \([0-9]*\) skip, \([0-9]*\) timeout, \([0-9]*\) build-fail$/\1 \2 \3 \4 \5/p' "$out")
read -r ex_pass ex_fail ex_build_only < <(sed -n 's/^liburing examples: \([0-9]*\) pass, \([0-9]*\) fail, \([0-9]*\) build-only$/\1 \2 \3/p' "$out")
regressed=$(sed -n 's/^REGRESSION: expected to pass, did not: //p' "$out" | tr ',' '\n' | grep -c .)
rm -f "$out"
if [ -z "${pass:-}" ]; then
  echo "[doctest] test cases: 1 | 0 passed | 1 failed | 0 skipped"
  echo "uring-skipped-test-cases: 0"
  exit 1
fi
total=$((pass + fail + skip + timeout + build_fail + ${ex_pass:-0} + ${ex_fail:-0} + ${ex_build_only:-0}))
pass=$((pass + ${ex_pass:-0}))
echo "[doctest] test cases: $total | $pass passed | $regressed failed | $((total - pass - regressed)) skipped"
echo "uring-skipped-test-cases: $((total - pass - regressed))"
exit "$status"
