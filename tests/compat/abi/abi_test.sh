#!/bin/bash
# Checks uring/liburing/liburing/io_uring.h, the C kernel ABI generated from
# syscalls/abi.h by uring/liburing/gen_io_uring_h.py:
#  - the generator stops on what it cannot translate;
#  - drift: regenerating from the current abi.h gives exactly the committed file;
#  - equality: every constant, struct size and member offset/size of abi.h has
#    the same value in the C header (a C and a C++ translation unit, each
#    including only its own header, linked with compare.cc);
#  - the header compiles as C (gnu11, c11) and C++ (c++20) with -Wall -Wextra
#    -Werror, alone and with the system's <linux/io_uring.h> before or after it;
#  - -std=c11 -pedantic-errors refuses only the kernel's own constructs.
# Prints the doctest-format summary lines CI's counter reads (one case per
# check). Run by hand from the repository root: tests/compat/abi/abi_test.sh
set -u
export LC_ALL=C
if [ -n "${TEST_SRCDIR:-}" ]; then
  cd "${TEST_SRCDIR}/${TEST_WORKSPACE}" || exit 1
fi
GEN=${ABI_TEST_GEN:-uring/liburing/gen_io_uring_h.py}
HDR=uring/liburing/liburing/io_uring.h
# Lets the checks be shown failing on a scratch copy (see the commit messages).
ABI=${ABI_TEST_ABI:-syscalls/abi.h}
INC=${ABI_TEST_INCLUDE:-uring/liburing}
PY=/usr/bin/python3
work=$(mktemp -d "${TEST_TMPDIR:-/tmp}/abi_test.XXXXXX")
trap 'rm -rf "$work"' EXIT

cases=0
failures=0
pass() { cases=$((cases + 1)); echo "ok   $1"; }
fail() { cases=$((cases + 1)); failures=$((failures + 1)); echo "FAIL $1"; shift; [ $# -gt 0 ] && printf '%s\n' "$@" | head -40; }

# --- drift -------------------------------------------------------------------
if ! out=$("$PY" "$GEN" --abi "$ABI" --out "$work/io_uring.h" 2>&1); then
  fail "drift: the generator stopped" "$out"
elif ! d=$(diff -u "$INC/liburing/io_uring.h" "$work/io_uring.h"); then
  fail "drift: $HDR is not what $GEN makes of $ABI; run: python3 $GEN (and commit the result)" "$d"
else
  pass "drift: $HDR is what $GEN makes of $ABI"
fi

# --- the generator refuses what it cannot translate ---------------------------
# A construct it does not know must stop it (naming the line), not be dropped;
# so must a name its tables of kernel spellings list but abi.h no longer has.
mkdir -p "$work/bad/syscalls"
sed 's|^// sqe->attr_type_mask bits\.$|using weird_t = int;\n&|' "$ABI" >"$work/bad/syscalls/abi.h"
out1=$("$PY" "$GEN" --abi "$work/bad/syscalls/abi.h" --out "$work/bad/h" 2>&1)
rc1=$?
sed 's/IORING_REG_WAIT_TS/IORING_REG_WAIT_TS_RENAMED/g' "$ABI" >"$work/bad/syscalls/abi.h"
out2=$("$PY" "$GEN" --abi "$work/bad/syscalls/abi.h" --out "$work/bad/h" 2>&1)
rc2=$?
if [ $rc1 -eq 0 ] || ! grep -q "abi.h:[0-9]*: not a construct this script understands: 'using weird_t = int;'" <<<"$out1"; then
  fail "generator: an unknown construct in abi.h did not stop it with its line (exit $rc1)" "$out1"
elif [ $rc2 -eq 0 ] || ! grep -q "ANONYMOUS_ENUMS names IORING_REG_WAIT_TS, which abi.h no longer has" <<<"$out2"; then
  fail "generator: a stale ANONYMOUS_ENUMS entry did not stop it (exit $rc2)" "$out2"
else
  pass "generator: stops on an unknown construct (${out1##*: }) and on a stale table entry"
fi

# --- equality ----------------------------------------------------------------
equality() {
  "$PY" "$GEN" --abi "$ABI" --check-c "$work/check.c" &&
    "$PY" "$GEN" --abi "$ABI" --check-cc "$work/check.cc" &&
    gcc -std=gnu11 -Wall -Wextra -Werror "-I$INC" -c "$work/check.c" -o "$work/check_c.o" &&
    g++ -std=c++20 -Wall -Wextra -Werror "-I$(dirname "$ABI")/.." -I. -c "$work/check.cc" -o "$work/check_cc.o" &&
    g++ -std=c++20 -Wall -Wextra -Werror tests/compat/abi/compare.cc "$work/check_c.o" "$work/check_cc.o" \
      -o "$work/compare" &&
    "$work/compare"
}
if out=$(equality 2>&1); then
  pass "equality: $(tail -1 <<<"$out")"
else
  fail "equality: the C header and abi.h disagree (or a check unit does not build):" "$(grep -v '^ok' <<<"$out")"
fi

# --- compiling it ------------------------------------------------------------
# $1: label, $2: compiler and flags, $3: extension, $4: the program's body,
# rest: its #include lines.
compiles() {
  local label=$1 cc=$2 ext=$3 body=$4
  shift 4
  printf '%s\n' "$@" 'int main(void) {' "$body" '}' >"$work/t.$ext"
  if out=$($cc "-I$INC" "$work/t.$ext" -o "$work/t" 2>&1); then
    pass "compiles: $label"
  else
    fail "compiles: $label ($cc)" "$out"
  fi
}
OURS='#include "liburing/io_uring.h"'
SYS='#include <linux/io_uring.h>'
C11="gcc -std=c11 -Wall -Wextra -Werror"
GNU11="gcc -std=gnu11 -Wall -Wextra -Werror"
CXX20="g++ -std=c++20 -Wall -Wextra -Werror"
# Names every io_uring.h has: a struct, a named enum's enumerator, a macro.
COMMON='  static struct io_uring_sqe sqe;
  sqe.opcode = IORING_OP_NOP;
  sqe.flags = IOSQE_IO_LINK;'
# With ours first, also names only the 6.18 ABI has (a macro, an anonymous
# enum's enumerator, a struct); with the system's first the shared include
# guard keeps ours out, so those are not there.
ALL="$COMMON"'
  struct io_uring_reg_wait wait = {{0, 0}, 0, 0, 0, 0, {0, 0, 0}, {0, 0}};
  (void)wait;
  return sqe.opcode + (int)(IORING_SETUP_CQE_MIXED >> 18) - (int)IORING_MEM_REGION_TYPE_USER;'
compiles "C gnu11, after <linux/types.h>" "$GNU11" c "$ALL" '#include <linux/types.h>' "$OURS"
compiles "C gnu11, alone" "$GNU11" c "$ALL" "$OURS"
compiles "C c11, alone" "$C11" c "$ALL" "$OURS"
compiles "C++ c++20, alone" "$CXX20" cc "$ALL" "$OURS"
compiles "C gnu11, system <linux/io_uring.h> first" "$GNU11" c "$COMMON
  return sqe.opcode;" "$SYS" "$OURS"
compiles "C gnu11, system <linux/io_uring.h> second" "$GNU11" c "$ALL" "$OURS" "$SYS"
compiles "C++ c++20, system <linux/io_uring.h> first" "$CXX20" cc "$COMMON
  return sqe.opcode;" "$SYS" "$OURS"
compiles "C++ c++20, system <linux/io_uring.h> second" "$CXX20" cc "$ALL" "$OURS" "$SYS"

# -pedantic-errors cannot pass: the kernel's header itself uses a zero-length
# array (sqe->cmd), an enumerator above INT_MAX
# (IORING_REGISTER_USE_REGISTERED_RING) and __DECLARE_FLEX_ARRAY's empty
# struct (io_uring_buf_ring::bufs). Nothing else may be refused.
printf '%s\n' "$OURS" 'int main(void) { return 0; }' >"$work/p.c"
out=$(gcc -std=c11 -pedantic-errors "-I$INC" -fsyntax-only "$work/p.c" 2>&1)
known='ISO C forbids zero-size array|ISO C restricts enumerator values to range of|struct has no members|invalid use of structure with flexible array member'
other=$(grep 'error:' <<<"$out" | grep -Ev "$known")
if [ -z "$(grep 'error:' <<<"$out")" ]; then
  fail "pedantic: -std=c11 -pedantic-errors passed; the kernel's constructs are gone, so compile the header with it in the cases above"
elif [ -n "$other" ]; then
  fail "pedantic: -std=c11 -pedantic-errors refuses more than the kernel's own constructs:" "$other"
else
  pass "pedantic: -std=c11 -pedantic-errors refuses only the kernel's own constructs ($(grep -c 'error:' <<<"$out") errors)"
fi

echo "$cases cases, $failures failed"
echo "[doctest] test cases: $cases | $((cases - failures)) passed | $failures failed | 0 skipped"
if [ "$failures" -eq 0 ]; then echo "[doctest] Status: SUCCESS!"; else echo "[doctest] Status: FAILURE!"; fi
echo "uring-skipped-test-cases: 0"
[ "$cases" -gt 0 ] && [ "$failures" -eq 0 ]
