#!/bin/bash
# Runs g++ on each tests/compile_fail/*.cc: URING_CASE=0 must compile; each
# "// case N: <regex>" must fail to compile with an error matching <regex>.
set -u
export LC_ALL=C  # ASCII quotes in the compiler's messages
cd "${TEST_SRCDIR}/${TEST_WORKSPACE}" || exit 1
compile() {
  g++ -std=c++20 -Wall -Wextra -Werror -I. -fsyntax-only "-DURING_CASE=$1" "$2" 2>&1
}
failures=0
cases=0
for src in tests/compile_fail/*.cc; do
  if ! out=$(compile 0 "$src"); then
    echo "FAIL $src: the valid form (URING_CASE=0) does not compile, so no refusal below means anything:"
    echo "$out" | head -30
    failures=$((failures + 1))
    continue
  fi
  while read -r number pattern; do
    cases=$((cases + 1))
    if out=$(compile "$number" "$src"); then
      echo "FAIL $src case $number: compiled, but must not"
      failures=$((failures + 1))
    elif ! grep -Eq -- "$pattern" <<<"$out"; then
      echo "FAIL $src case $number: refused, but the errors do not match /$pattern/:"
      echo "$out" | grep -E "error" | head -10
      failures=$((failures + 1))
    else
      echo "ok   $src case $number: $(grep -Em1 -- "$pattern" <<<"$out" | cut -c1-160)"
    fi
  done < <(sed -n 's|^// case \([0-9][0-9]*\): \(.*\)$|\1 \2|p' "$src")
done
echo "$cases cases, $failures failed"
# The suite's summary lines (what .ci/verdicts.py reads from every test
# target): each case is a test case here, and none is ever skipped.
echo "[doctest] test cases: $cases | $((cases - failures)) passed | $failures failed | 0 skipped"
echo "uring-skipped-test-cases: 0"
[ "$cases" -gt 0 ] && [ "$failures" -eq 0 ]
