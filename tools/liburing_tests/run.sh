#!/usr/bin/env bash
# Runs liburing 2.3's own test suite (its test/ folder, unmodified) against
# uring's liburing-compatible API in uring/liburing/, or against liburing 2.3
# itself to measure the baseline.
#
#   tools/liburing_tests/run.sh                      # all tests against uring
#   tools/liburing_tests/run.sh --against liburing   # the baseline
#   tools/liburing_tests/run.sh --only nop,link,poll # a few tests
#   tools/liburing_tests/run.sh --no-examples        # test/ only
#   tools/liburing_tests/run.sh --help               # every option
#
# What it does:
#  1. Fetches liburing 2.3's source with `apt-get source liburing` from
#     Debian's archive (a private sources list adding deb-src for this
#     machine's release; nothing else is downloaded) and keeps it unpacked in
#     the work dir, so a rerun does not fetch again. Nothing of it is
#     committed.
#  2. Builds every program of test/ (*.c, *.cc, plus helpers.c) with the flags
#     of liburing's test/Makefile, against the chosen flavour:
#       uring     our compat layer: syscalls/, uring/*.cc, uring/liburing/*.cc
#                 in a static archive; include path uring/liburing; the
#                 liburing-internal headers the tests include (../src/syscall.h,
#                 ../src/lib.h) come from uring/liburing/internal/.
#       liburing  liburing 2.3 built from the same source (./configure &&
#                 make -C src in a scratch copy), linked statically.
#     config-host.h is made here from small compiler probes, as liburing's
#     configure does.
#  3. Runs each test as test/runtests.sh does (no arguments, no exclusions,
#     SIGINT at the timeout), in parallel, each in its own empty working dir,
#     and prints PASS / FAIL (exit N) / SKIP (exit 77) / TIMEOUT / BUILD-FAIL
#     per test, then a summary. A few tests that take minutes by design are
#     left out unless --all (see SLOW below).
#  4. Compares with the expected list (lines "name pass|skip|fail|timeout|
#     build-fail|flaky [# why]"): exits 1 naming every test expected to pass
#     that did not, and names the newly passing ones. A flaky test (one that
#     fails now and then under load, with liburing itself too) is run and
#     shown but never counts as a regression.
#  5. After the tests (unless --no-examples), builds every program of
#     liburing's examples/ with examples/Makefile's flags against the same
#     flavour and runs each with a check of what it did (see run_example):
#     PASS example:NAME, FAIL example:NAME (why), BUILD-FAIL example:NAME: ...,
#     BUILT example:NAME (build-only) for one with no check, then the line
#     "liburing examples: N pass, N fail, N build-only" (a build failure
#     counts as a fail). The "liburing tests:" line stays about test/ only.
#     Expected-list lines "example:NAME pass" make a failure a regression.
#
# Needs root (several tests skip otherwise), gcc/g++, and Debian's apt.
# Exit status: 0 no regression, 1 regression, 2 usage, 3 setup failed.
set -uo pipefail

script=$(readlink -f "$0")
orig_args=("$@")
here=$(dirname "$script")
repo=$(cd "$here/../.." && pwd)
version=2.3

# Tests left out by default (--all runs them), each with the reason.
declare -A SLOW=(
)

usage() {
  cat <<EOF
Usage: tools/liburing_tests/run.sh [options]
  --against uring|liburing  what the tests link against (default uring; liburing
                            is liburing $version itself, for the baseline)
  --work DIR                work dir: source, builds, logs (default
                            \${XDG_CACHE_HOME:-\$HOME/.cache}/uring/liburing-$version)
  --timeout SECONDS         per-test timeout (default 60, as runtests.sh)
  --jobs N                  tests built and run at once (default: nproc)
  --only a,b,c              build and run only these tests; example:NAME
                            names an example (with --only, only the examples
                            named run)
  --no-examples             leave out liburing's examples/ (run by default
                            after the tests, about 12 s)
  --skip-slow               leave out the tests slow by design (the default)
  --all                     also run the tests left out as slow by design
  --expected FILE           expected results (default tools/liburing_tests/
                            expected.txt for uring, expected-liburing.txt for
                            liburing)
  --update-expected         write this run's results into the expected file
  --help                    this text
EOF
  local name
  if [ ${#SLOW[@]} -eq 0 ]; then echo "Slow tests left out unless --all: none"; else echo "Slow tests left out unless --all:"; fi
  for name in $(printf '%s\n' "${!SLOW[@]}" | sort); do
    printf '  %-22s %s\n' "$name" "${SLOW[$name]}"
  done
}

die() { echo "liburing_tests: $*" >&2; exit 3; }
usage_error() { echo "liburing_tests: $*" >&2; usage >&2; exit 2; }

against=uring
home=${HOME:-$(getent passwd "$(id -u)" | cut -d: -f6)}
work=${XDG_CACHE_HOME:-${home:-/tmp}/.cache}/uring/liburing-$version
timeout_s=60
jobs=$(nproc)
only=
all=0
expected=
update_expected=0
examples=1
while [ $# -gt 0 ]; do
  case $1 in
    --against) [ $# -ge 2 ] || usage_error "--against needs a value"; against=$2; shift ;;
    --against=*) against=${1#*=} ;;
    --work) [ $# -ge 2 ] || usage_error "--work needs a value"; work=$2; shift ;;
    --work=*) work=${1#*=} ;;
    --timeout) [ $# -ge 2 ] || usage_error "--timeout needs a value"; timeout_s=$2; shift ;;
    --timeout=*) timeout_s=${1#*=} ;;
    --jobs) [ $# -ge 2 ] || usage_error "--jobs needs a value"; jobs=$2; shift ;;
    --jobs=*) jobs=${1#*=} ;;
    --only) [ $# -ge 2 ] || usage_error "--only needs a value"; only=$2; shift ;;
    --only=*) only=${1#*=} ;;
    --all) all=1 ;;
    --no-examples) examples=0 ;;
    --skip-slow) all=0 ;;
    --expected) [ $# -ge 2 ] || usage_error "--expected needs a value"; expected=$2; shift ;;
    --expected=*) expected=${1#*=} ;;
    --update-expected) update_expected=1 ;;
    --help|-h) usage; exit 0 ;;
    *) usage_error "unknown option: $1" ;;
  esac
  shift
done
case $against in uring|liburing) ;; *) usage_error "--against is uring or liburing, not '$against'" ;; esac
[[ $timeout_s =~ ^[1-9][0-9]*$ ]] || usage_error "--timeout takes whole seconds, not '$timeout_s'"
[[ $jobs =~ ^[1-9][0-9]*$ ]] || usage_error "--jobs takes a positive number, not '$jobs'"
if [ -z "$expected" ]; then
  if [ "$against" = uring ]; then expected=$here/expected.txt; else expected=$here/expected-liburing.txt; fi
fi
mkdir -p "$work" || die "cannot create the work dir $work"
work=$(cd "$work" && pwd)
# One run at a time per work dir: a second one would delete the first's
# results and rebuild the binaries it is running. flock holds the lock and
# runs this script again; -o keeps the lock's fd out of the tests, so a
# process a test leaves behind cannot hold it.
if [ -z "${URING_LIBURING_TESTS_LOCKED:-}" ] && command -v flock >/dev/null 2>&1; then
  flock -n "$work/.lock" true 2>/dev/null ||
    echo "liburing_tests: another run.sh is using $work; waiting for it to end (--work DIR runs elsewhere)" >&2
  URING_LIBURING_TESTS_LOCKED=1 exec flock -o "$work/.lock" "$script" "${orig_args[@]}"
fi
[ "$(id -u)" -eq 0 ] || echo "liburing_tests: not root: tests that need root will skip or fail" >&2

# --- 1. liburing's source, from Debian ------------------------------------
source_dir=$work/source/liburing-$version

fetch_source() {
  [ -f "$source_dir/.uring-unpacked" ] && return 0
  "$repo/tools/ensure_packages.sh" dpkg-dev || die "dpkg-dev is needed to unpack Debian's source package"
  local codename uris signed_by apt_dir=$work/apt
  codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
  [ -n "$codename" ] || die "/etc/os-release names no VERSION_CODENAME: is this Debian?"
  # The archive of this release as the machine's own apt sources name it.
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    read -r uris signed_by < <(awk -v suite="$codename" 'BEGIN { RS = "" }
      { uris = ""; key = ""; ok = 0
        n = split($0, lines, "\n")
        for (i = 1; i <= n; i++) {
          if (lines[i] ~ /^URIs:/) { uris = lines[i]; sub(/^URIs:[ \t]*/, "", uris) }
          if (lines[i] ~ /^Signed-By:/) { key = lines[i]; sub(/^Signed-By:[ \t]*/, "", key) }
          if (lines[i] ~ /^Suites:/) { m = split(lines[i], s, /[ \t]+/); for (j = 2; j <= m; j++) if (s[j] == suite) ok = 1 }
        }
        if (ok && uris != "") { split(uris, u, /[ \t]+/); print u[1], (key == "" ? "-" : key); exit } }' /etc/apt/sources.list.d/debian.sources)
  fi
  : "${uris:=http://deb.debian.org/debian}"
  [ -n "${signed_by:-}" ] && [ "$signed_by" != - ] || signed_by=/usr/share/keyrings/debian-archive-keyring.gpg
  mkdir -p "$apt_dir/sources.list.d" "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$work/download"
  cat >"$apt_dir/sources.list.d/liburing-src.sources" <<EOF
Types: deb-src
URIs: $uris
Suites: $codename
Components: main
Signed-By: $signed_by
EOF
  local apt=(-o Dir::Etc::SourceList=/dev/null -o "Dir::Etc::SourceParts=$apt_dir/sources.list.d"
    -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache" -o APT::Sandbox::User=root)
  echo "liburing_tests: fetching liburing's source package (deb-src $uris $codename)"
  apt-get "${apt[@]}" -qq update >"$work/apt.log" 2>&1 || { cat "$work/apt.log" >&2; die "apt-get update of the deb-src list failed"; }
  local offered
  offered=$(apt-cache "${apt[@]}" showsrc liburing 2>>"$work/apt.log" | awk '/^Version:/ { print $2 }' | sort -u | tr '\n' ' ')
  [ -n "$offered" ] || die "Debian $codename offers no source package liburing"
  local debian_version=
  for v in $offered; do
    local upstream=${v#*:}
    upstream=${upstream%-*}
    [ "$upstream" = "$version" ] && debian_version=$v
  done
  [ -n "$debian_version" ] ||
    die "Debian $codename offers liburing $offered, not $version; this harness and its expected lists are for liburing $version"
  (cd "$work/download" && apt-get "${apt[@]}" -qq --download-only source "liburing=$debian_version") >>"$work/apt.log" 2>&1 ||
    { cat "$work/apt.log" >&2; die "apt-get source liburing=$debian_version failed"; }
  # Upstream's files as released: Debian's patches (man page typos in 2.3-3)
  # are left out.
  rm -rf "$source_dir"
  mkdir -p "$work/source"
  dpkg-source --skip-patches -x "$work/download/liburing_${debian_version#*:}.dsc" "$source_dir" >>"$work/apt.log" 2>&1 ||
    { cat "$work/apt.log" >&2; die "dpkg-source could not unpack liburing $debian_version"; }
  local spec_version
  spec_version=$(awk '/^Version:/ { print $2; exit }' "$source_dir/liburing.spec")
  [ "$spec_version" = "$version" ] || die "the unpacked source says liburing $spec_version, not $version"
  echo "$debian_version" >"$source_dir/.uring-unpacked"
  echo "liburing_tests: liburing $debian_version unpacked in $source_dir"
}

# --- 2. build ---------------------------------------------------------------
# Flavour dir: test/ (a copy of the sources, so that the tests' own
# "../src/..." includes resolve inside it), src/, config-host.h, the library.
flavour_dir=$work/$against
logs=$work/logs/$against
cc=${CC:-gcc}
cxx=${CXX:-g++}

# config-host.h, as liburing's configure writes it: one #define per probe
# that compiles. Only CONFIG_HAVE_NVME_URING is read by the tests; the
# warning-option probes choose the Makefile's extra -W flags.
write_config_host() {
  local out=$1 tmp
  tmp=$(mktemp -d)
  probe() { # probe SYMBOL LANG FLAGS, program on stdin
    local src=$tmp/p.c compiler=$cc
    [ "$2" = c++ ] && { src=$tmp/p.cc; compiler=$cxx; }
    cat >"$src"
    if $compiler $3 -o "$tmp/p" "$src" >/dev/null 2>&1; then echo "#define $1" >>"$out.new"; fi
  }
  echo "/* Made by tools/liburing_tests/run.sh from compiler probes. */" >"$out.new"
  probe CONFIG_HAVE_KERNEL_RWF_T c "" <<'EOF'
#include <linux/fs.h>
int main(void) { __kernel_rwf_t flags = 0; return (int)flags; }
EOF
  probe CONFIG_HAVE_KERNEL_TIMESPEC c "" <<'EOF'
#include <linux/time_types.h>
int main(void) { struct __kernel_timespec t = { 0, 1 }; return (int)t.tv_sec; }
EOF
  probe CONFIG_HAVE_OPEN_HOW c "" <<'EOF'
#include <linux/openat2.h>
int main(void) { struct open_how h = { 0 }; return (int)h.resolve; }
EOF
  probe CONFIG_HAVE_STATX c "" <<'EOF'
#include <sys/types.h>
#include <sys/stat.h>
#include <fcntl.h>
int main(void) { struct statx x; return sizeof(x) == 0; }
EOF
  probe CONFIG_HAVE_GLIBC_STATX c "" <<'EOF'
#include <sys/stat.h>
int main(void) { struct statx x; return sizeof(x.stx_mask) == 0; }
EOF
  probe CONFIG_HAVE_CXX c++ "" <<'EOF'
#include <string>
int main() { return std::string("x").size() != 1; }
EOF
  probe CONFIG_HAVE_UCONTEXT c "" <<'EOF'
#include <ucontext.h>
int main(void) { ucontext_t c; getcontext(&c); makecontext(&c, 0, 0); return 0; }
EOF
  probe CONFIG_HAVE_STRINGOP_OVERFLOW c "-Werror -Wstringop-overflow=0" <<'EOF'
int main(void) { return 0; }
EOF
  probe CONFIG_HAVE_ARRAY_BOUNDS c "-Werror -Warray-bounds=0" <<'EOF'
int main(void) { return 0; }
EOF
  probe CONFIG_HAVE_NVME_URING c "" <<'EOF'
#include <linux/nvme_ioctl.h>
int main(void) { return sizeof(struct nvme_uring_cmd) == 0; }
EOF
  rm -rf "$tmp"
  # Keep the old file (and so the objects' timestamps) if nothing changed.
  if cmp -s "$out.new" "$out"; then rm -f "$out.new"; else mv "$out.new" "$out"; fi
}

# True if $1 is missing, older than a file its .d dependency list names, or
# names a file that no longer exists (it was built from another tree: the
# work directory is shared by every clone, whose paths differ).
stale() {
  local target=$1 deps=$1.d dep
  [ -f "$target" ] && [ -f "$deps" ] || return 0
  for dep in $(sed -e 's/\\$//' -e 's/^[^:]*://' "$deps"); do
    [ -e "$dep" ] || return 0
    [ "$dep" -nt "$target" ] && return 0
  done
  return 1
}

# liburing 2.3 itself, built in a scratch copy of the source.
prepare_liburing() {
  if [ ! -f "$flavour_dir/src/liburing.a" ] || [ ! -f "$flavour_dir/.uring-built" ]; then
    echo "liburing_tests: building liburing $version in $flavour_dir"
    rm -rf "$flavour_dir"
    cp -a "$source_dir" "$flavour_dir"
    (cd "$flavour_dir" && ./configure && make -j"$jobs" -C src liburing.a) >"$logs/liburing.build.log" 2>&1 ||
      { tail -n 20 "$logs/liburing.build.log" >&2; die "liburing $version did not build (log: $logs/liburing.build.log)"; }
    touch "$flavour_dir/.uring-built"
  fi
  include_flags=(-I"$flavour_dir/src/include")
  library=$flavour_dir/src/liburing.a
  linker=$cc
}

# Our compat layer: every .cc of syscalls/, uring/ and uring/liburing/ in one
# static archive; tests include uring/liburing.
prepare_uring() {
  [ -f "$repo/uring/liburing/liburing.h" ] || echo "liburing_tests: $repo/uring/liburing/liburing.h does not exist yet: every test will fail to build" >&2
  # Objects built from another tree or other sources (a different clone, an
  # older commit: the mtimes of a fresh clone say nothing) are thrown away:
  # an object compiled against an older uring/ring.h links but crashes.
  local sources_hash
  sources_hash=$(cd "$repo" && { echo "$repo"; cat syscalls/*.h uring/*.h uring/*.cc uring/liburing/*.h \
    uring/liburing/*.cc uring/liburing/liburing/*.h uring/liburing/internal/*.h 2>/dev/null; } | sha256sum | cut -c1-32)
  if [ "$(cat "$flavour_dir/.sources" 2>/dev/null)" != "$sources_hash" ]; then
    rm -rf "$flavour_dir/obj" "$flavour_dir/bin" "$flavour_dir/examples"
  fi
  mkdir -p "$flavour_dir/test" "$flavour_dir/src/include" "$flavour_dir/obj"
  echo "$sources_hash" >"$flavour_dir/.sources"
  # The tests, copied unmodified: "../src/syscall.h" from test/ then names
  # $flavour_dir/src/syscall.h, and io_uring_setup.c's "../syscall.h" is
  # found through -I src/include (as in liburing's tree).
  cp -p "$source_dir"/test/* "$flavour_dir/test/"
  local header
  for header in syscall lib; do
    printf '/* Made by tools/liburing_tests/run.sh: liburing'"'"'s internal %s.h, from the compat layer. */\n#include "%s"\n' \
      "$header" "$repo/uring/liburing/internal/$header.h" >"$flavour_dir/src/$header.h.new"
    if cmp -s "$flavour_dir/src/$header.h.new" "$flavour_dir/src/$header.h"; then rm "$flavour_dir/src/$header.h.new"
    else mv "$flavour_dir/src/$header.h.new" "$flavour_dir/src/$header.h"; fi
  done
  # The library, rebuilt where a source or header changed.
  local sources=() failed=0 src
  for src in "$repo"/syscalls/*.cc "$repo"/uring/*.cc "$repo"/uring/liburing/*.cc; do
    [ -f "$src" ] && sources+=("$src")
  done
  rm -f "$flavour_dir/obj"/*.failed
  printf '%s\n' "${sources[@]}" | xargs -r -P "$jobs" -I{} bash -c '
    src=$1 dir=$2 repo=$3 cxx=$4
    rel=${src#"$repo"/}; obj=$dir/obj/${rel//\//_}.o
    . "$5"
    stale "$obj" || exit 0
    $cxx -std=c++20 -O2 -I"$repo" -I"$repo/uring/liburing" -MMD -MF "$obj.d" -c "$src" -o "$obj" >"$obj.log" 2>&1 ||
      { rm -f "$obj"; touch "$obj.failed"; }' _ {} "$flavour_dir" "$repo" "$cxx" "$helpers_file"
  for src in "$flavour_dir/obj"/*.failed; do
    [ -e "$src" ] || continue
    failed=1
    echo "liburing_tests: compat source ${src%.o.failed} did not compile: $(grep -m1 -E 'error' "${src%.failed}.log")" >&2
  done
  [ $failed -eq 0 ] || echo "liburing_tests: the archive leaves those sources out; tests needing them fail to link" >&2
  library=$flavour_dir/libliburing_compat.a
  rm -f "$library"
  local objs=("$flavour_dir"/obj/*.o)
  # Only objects of sources that still exist.
  local keep=() obj
  for obj in "${objs[@]}"; do
    [ -f "$obj" ] || continue
    for src in "${sources[@]}"; do
      local rel=${src#"$repo"/}
      [ "$obj" = "$flavour_dir/obj/${rel//\//_}.o" ] && keep+=("$obj")
    done
  done
  ar rcs "$library" "${keep[@]}" || die "ar could not make $library"
  include_flags=(-I"$flavour_dir/src/include" -I"$repo/uring/liburing")
  linker=$cxx
}

# Builds one test program: name.t from name.c or name.cc (or helpers.o).
build_one() {
  local name=$1 src ext compiler flags obj bin log
  cd "$test_dir" || return 1
  local link=$linker
  if [ -f "$name.cc" ]; then src=$name.cc; compiler=$cxx; link=$cxx; flags=("${cxxflags[@]}")
  else src=$name.c; compiler=$cc; flags=("${cflags[@]}"); fi
  obj=$objdir/$name.o bin=$bindir/$name.t log=$logs/$name.build.log
  rm -f "$logs/$name.build-fail"
  if stale "$obj"; then
    if ! $compiler "${cppflags[@]}" "${flags[@]}" -MMD -MF "$obj.d" -c "$src" -o "$obj" >"$log" 2>&1; then
      rm -f "$obj" "$bin"
      grep -m1 -E 'error|Error' "$log" | sed -e "s|^$test_dir/||" >"$logs/$name.build-fail"
      [ -s "$logs/$name.build-fail" ] || echo "compiler exited non-zero (see $log)" >"$logs/$name.build-fail"
      return 0
    fi
  fi
  [ "$name" = helpers ] && return 0
  if ! $link -o "$bin" "$obj" "$objdir/helpers.o" "$library" -lpthread >"$log.link" 2>&1; then
    rm -f "$bin"
    cat "$log.link" >>"$log"
    grep -m1 -E 'undefined reference|error' "$log.link" | sed -E -e 's/^.*(undefined reference)/\1/' -e 's|^/usr/bin/ld: ||' -e "s|$objdir/||" >"$logs/$name.build-fail"
    [ -s "$logs/$name.build-fail" ] || echo "link failed (see $log)" >"$logs/$name.build-fail"
  fi
  rm -f "$log.link"
}

# --- 3. run -----------------------------------------------------------------
# Runs one test in an empty dir of its own; writes "name status seconds".
run_one() {
  local name=$1 dir=$rundir/$1 log=$logs/$1.log start end status secs state
  rm -rf "$dir"
  mkdir -p "$dir"
  # timeout.c execs ./exec-target.t from its working dir.
  ln -s "$bindir/exec-target.t" "$dir/exec-target.t"
  start=$(date +%s.%N)
  # (The braces keep bash's "Aborted" notes out of the output.)
  { (cd "$dir" && exec timeout -s INT -k 10 "$timeout_s" "$bindir/$name.t") >"$log" 2>&1 </dev/null; } 2>/dev/null
  status=$?
  end=$(date +%s.%N)
  secs=$(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.1f", e - s }')
  if [ $status -eq 124 ] || { [ $status -eq 137 ] && awk -v s="$secs" -v t="$timeout_s" 'BEGIN { exit !(s >= t) }'; }; then
    state=timeout; printf 'TIMEOUT %s (%s s)\n' "$name" "$secs"
  elif [ $status -eq 77 ]; then
    state=skip; printf 'SKIP %s\n' "$name"
  elif [ $status -ne 0 ]; then
    state=fail
    if [ $status -gt 128 ]; then printf 'FAIL %s (exit %d, SIG%s)\n' "$name" "$status" "$(kill -l $((status - 128)))"
    else printf 'FAIL %s (exit %d)\n' "$name" "$status"; fi
  else
    state=pass; printf 'PASS %s (%s s)\n' "$name" "$secs"
  fi
  echo "$name $state $secs $status" >"$resdir/$name"
  rm -rf "$dir"
}

# --- 5. examples ----------------------------------------------------------------
# Builds one program of examples/ as examples/Makefile does (CPPFLAGS
# -D_GNU_SOURCE and the include path, CFLAGS -g -O2 -Wall, linked with the
# library) against the chosen flavour.
build_example() {
  local name=$1 obj=$exobjdir/$1.o bin=$exbindir/$1 log=$logs/example-$1.build.log
  rm -f "$logs/example-$name.build-fail"
  if stale "$obj"; then
    rm -f "$bin"
    if ! $cc -D_GNU_SOURCE "${include_flags[@]}" -g -O2 -Wall -MMD -MF "$obj.d" -c "$exsrcdir/$name.c" -o "$obj" >"$log" 2>&1; then
      rm -f "$obj"
      grep -m1 -E 'error|Error' "$log" | sed -e "s|^$exsrcdir/||" >"$logs/example-$name.build-fail"
      [ -s "$logs/example-$name.build-fail" ] || echo "compiler exited non-zero (see $log)" >"$logs/example-$name.build-fail"
      return 0
    fi
  fi
  if ! $linker -o "$bin" "$obj" "$library" >>"$log" 2>&1; then
    rm -f "$bin"
    grep -m1 -E 'undefined reference|error' "$log" | sed -E -e 's/^.*(undefined reference)/\1/' -e 's|^/usr/bin/ld: ||' >"$logs/example-$name.build-fail"
    [ -s "$logs/example-$name.build-fail" ] || echo "link failed (see $log)" >"$logs/example-$name.build-fail"
  fi
}

# Waits up to 5 s for a port number: the first line of FILE (example_peer)
# or, with a prefix, the number after it (io_uring-udp's "port bound to N").
wait_port() {
  local file=$1 prefix=${2:-} i port
  for ((i = 0; i < 100; i++)); do
    if [ -n "$prefix" ]; then port=$(sed -n "s/^$prefix\([0-9][0-9]*\)\$/\1/p" "$file" 2>/dev/null | head -n 1)
    else port=$(head -n 1 "$file" 2>/dev/null | grep -xE '[0-9]+'); fi
    [ -n "$port" ] && { echo "$port"; return 0; }
    sleep 0.05
  done
  return 1
}

# Runs one example in an empty dir of its own with a check of what it did;
# prints its line and writes "example:NAME state secs" to the results. The
# why of a failure goes into the line; the example's output is in
# logs/example-NAME.log.
run_example() {
  local name=$1 dir=$exrundir/$1 log=$logs/example-$1.log bin=$exbindir/$1 start why= rc size size2 port pid peer n m line
  rm -rf "$dir"
  mkdir -p "$dir"
  cd "$dir" || return 1
  : >"$log"
  start=$(date +%s.%N)
  # run_ex SECONDS ARGS...: the example under timeout, output to the log;
  # sets rc, and why when it did not exit 0.
  run_ex() { local t=$1; shift; { timeout -s INT -k 5 "$t" "$bin" "$@" >>"$log" 2>&1 </dev/null; } 2>/dev/null; rc=$?
    if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then why="still running after $t s"; return 1; fi
    if [ $rc -gt 128 ]; then why="killed by SIG$(kill -l $((rc - 128)))"; return 1; fi
    [ $rc -eq 0 ] || { why="exit $rc"; return 1; }; }
  case $name in
    io_uring-cp|link-cp)
      # A random file of 1-3 MiB (not a multiple of the 32 KiB blocks), copied.
      size=$((1048576 + (RANDOM * 32768 + RANDOM) % 2097152))
      head -c "$size" /dev/urandom >in
      echo "+ $name in out   # in: $size random bytes" >>"$log"
      if run_ex 30 in out; then
        if [ ! -f out ]; then why="wrote no out file"
        elif ! cmp -s in out; then why="out ($(stat -c %s out) bytes) differs from in ($size bytes): $(cmp in out 2>&1 | head -n 1)"; fi
      fi ;;
    io_uring-test)
      # It reads the file's first blocks, 4 KiB each, with O_DIRECT on a ring
      # of 4: a file of 16 KiB or more gives 4 full reads. (A smaller one can
      # fail by the example's own check when the short read completes first.)
      size=$((16384 + (RANDOM * 32768 + RANDOM) % 1032192))
      head -c "$size" /dev/urandom >in
      echo "+ $name in   # in: $size random bytes" >>"$log"
      if run_ex 30 in; then
        line=$(grep -E '^Submitted=' "$log")
        [ "$line" = "Submitted=4, completed=4, bytes=16384" ] ||
          why="printed '${line:-nothing}', not 'Submitted=4, completed=4, bytes=16384' (4 reads of 4 KiB)"
      fi ;;
    ucontext-cp)
      # Two small files copied at once by two coroutines, 1 KiB a step and a
      # 1 s timeout between steps: at most 2 s here.
      size=$((1 + RANDOM % 3000)) size2=$((1 + RANDOM % 3000))
      head -c "$size" /dev/urandom >in1
      head -c "$size2" /dev/urandom >in2
      echo "+ $name in1 out1 in2 out2   # $size and $size2 random bytes" >>"$log"
      if run_ex 20 in1 out1 in2 out2; then
        if ! grep -qx 'finished with 2 success(es) and 0 failure(s)' "$log"; then why="did not print 'finished with 2 success(es) and 0 failure(s)'"
        elif ! cmp -s in1 out1; then why="out1 differs from in1 ($size bytes)"
        elif ! cmp -s in2 out2; then why="out2 differs from in2 ($size2 bytes)"; fi
      fi ;;
    poll-bench)
      # Runs 10 s by itself: rounds of 32 POLL_ADDs on a registered pipe (a
      # registered ring fd), one write, 32 CQEs reaped.
      echo "+ $name" >>"$log"
      if run_ex 40; then
        n=$(sed -n 's/^requests\/s: \([0-9][0-9]*\)$/\1/p' "$log")
        if [ -z "$n" ] || [ "$n" -eq 0 ]; then why="printed no 'requests/s: N' with N > 0"
        elif grep -q 'wait completion' "$log"; then why="a wait for a CQE failed: $(grep -m1 'wait completion' "$log")"; fi
      fi ;;
    io_uring-udp)
      # A UDP echo server (multishot RECVMSG into a buffer ring, SENDMSG
      # back) on a port of its choosing; example_peer sends 96 datagrams and
      # checks every echo byte for byte; the server must still be running,
      # with nothing to complain of.
      echo "+ $name &   then: example_peer udp-echo PORT SEED" >>"$log"
      "$bin" 2>server.err </dev/null &
      pid=$!
      if ! port=$(wait_port server.err 'port bound to '); then why="printed no 'port bound to N' within 5 s"
      else
        if ! "$expeer" udp-echo "$port" "$RANDOM" >>"$log" 2>&1; then why="the echoes were wrong: $(grep -m1 "^example_peer:" "$log")"
        elif ! kill -0 "$pid" 2>/dev/null; then why="the server stopped"; fi
      fi
      kill -0 "$pid" 2>/dev/null && kill -TERM "$pid" 2>/dev/null
      wait "$pid" 2>/dev/null
      cat server.err >>"$log"
      if [ -z "$why" ] && grep -qv '^port bound to ' server.err; then why="the server said: $(grep -v -m1 '^port bound to ' server.err)"; fi ;;
    send-zerocopy)
      # SEND_ZC from a registered buffer to example_peer on 127.0.0.1 for
      # 1.2 s ("-t 1"; "-t 0" divides by zero in the 2.3 example's report),
      # over TCP (every byte must arrive: as many whole payloads as the
      # example's tx=N) and over UDP (only whole, correct datagrams, at most N).
      for proto in tcp udp; do
        [ -n "$why" ] && break
        local len=4000
        [ $proto = udp ] && len=1400
        "$expeer" $proto-sink "$len" >peer.out 2>peer.err &
        peer=$!
        if ! port=$(wait_port peer.out); then why="$proto: example_peer bound no port"; kill "$peer" 2>/dev/null; wait "$peer" 2>/dev/null; break; fi
        echo "+ $name -4 -D 127.0.0.1 -p $port -t 1 -s $len $proto" >>"$log"
        : >tx.err
        { timeout -s INT -k 5 20 "$bin" -4 -D 127.0.0.1 -p "$port" -t 1 -s "$len" $proto >>"$log" 2>tx.err </dev/null; } 2>/dev/null
        rc=$?
        cat tx.err >>"$log"
        wait "$peer"
        m=$?
        cat peer.out peer.err >>"$log"
        n=$(sed -n 's/^.*tx=\([0-9][0-9]*\) .*$/\1/p' tx.err | head -n 1)
        if [ $rc -ne 0 ]; then why="$proto: exit $rc$( [ $rc -gt 128 ] && echo " (SIG$(kill -l $((rc - 128))))")"
        elif grep -q 'Connection failure' tx.err; then why="$proto: the example saw a connection failure"
        elif [ -z "$n" ] || [ "$n" -eq 0 ]; then why="$proto: printed no 'tx=N' with N > 0"
        elif [ $m -ne 0 ]; then why="$proto: what arrived was wrong: $(head -n 1 peer.err)"
        elif [ $proto = tcp ]; then
          m=$(sed -n 's/^received [0-9]* bytes = \([0-9]*\) payloads$/\1/p' peer.out)
          [ "$m" = "$n" ] || why="tcp: sent tx=$n payloads of $len bytes, ${m:-no whole number} arrived"
        else
          m=$(sed -n 's/^received \([0-9]*\) datagrams$/\1/p' peer.out)
          { [ -n "$m" ] && [ "$m" -ge 1 ] && [ "$m" -le "$n" ]; } || why="udp: sent tx=$n datagrams, ${m:-none} arrived"
        fi
      done ;;
    *)
      printf 'BUILT example:%s (build-only: run.sh has no check for it)\n' "$name"
      echo "example:$name build-only 0" >"$exresdir/$name"
      cd / && rm -rf "$dir"
      return 0 ;;
  esac
  local secs
  secs=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')
  if [ -z "$why" ]; then
    printf 'PASS example:%s (%s s)\n' "$name" "$secs"
    echo "example:$name pass $secs" >"$exresdir/$name"
  else
    printf 'FAIL example:%s (%s)\n' "$name" "$why"
    echo "example:$name fail $secs" >"$exresdir/$name"
  fi
  cd / && rm -rf "$dir"
}

# The functions and settings the parallel workers (bash -c) need.
helpers_file=$work/.functions.$against.sh
export_functions() {
  {
    declare -f stale build_one run_one
    declare -p test_dir objdir bindir logs rundir resdir cc cxx linker library timeout_s cppflags cflags cxxflags
  } >"$helpers_file"
}

# --- main -------------------------------------------------------------------
mkdir -p "$logs"
{ declare -f stale; } >"$helpers_file"
fetch_source
build_start=$(date +%s)
if [ "$against" = liburing ]; then
  prepare_liburing
  test_dir=$flavour_dir/test
else
  prepare_uring
  test_dir=$flavour_dir/test
fi
config_host=$flavour_dir/config-host.uring.h
write_config_host "$config_host"
objdir=$flavour_dir/obj/test bindir=$flavour_dir/bin rundir=$work/run/$against resdir=$work/results/$against
mkdir -p "$objdir" "$bindir" "$rundir" "$resdir"
rm -f "$resdir"/*

# test/Makefile's flags.
cppflags=(-D_GNU_SOURCE -D__SANE_USERSPACE_TYPES__ "${include_flags[@]}" -include "$config_host")
cflags=(-g -O3 -Wall -Wextra -Wno-unused-parameter -Wno-sign-compare)
grep -q CONFIG_HAVE_STRINGOP_OVERFLOW "$config_host" && cflags+=(-Wstringop-overflow=0)
grep -q CONFIG_HAVE_ARRAY_BOUNDS "$config_host" && cflags+=(-Warray-bounds=0)
cxxflags=("${cflags[@]}" -std=c++11 -DLIBURING_BUILD_TEST)
cflags+=(-DLIBURING_BUILD_TEST)
export_functions

# Every program of test/: *.c and *.cc but helpers.c.
mapfile -t all_tests < <(cd "$source_dir/test" && ls -- *.c *.cc | sed -E 's/\.(c|cc)$//' | grep -vx helpers | sort -u)
tests=("${all_tests[@]}")
# Every program of examples/ (examples/Makefile builds ucontext-cp only where
# configure finds ucontext; glibc has it).
mapfile -t all_examples < <(cd "$source_dir/examples" && ls -- *.c | sed -E 's/\.c$//' | sort -u)
run_examples=()
[ $examples -eq 1 ] && run_examples=("${all_examples[@]}")
if [ -n "$only" ]; then
  tests=() run_examples=()
  for name in ${only//,/ }; do
    if [[ $name == example:* ]]; then
      printf '%s\n' "${all_examples[@]}" | grep -qxF -- "${name#example:}" || usage_error "--only: liburing $version has no example '${name#example:}'"
      [ $examples -eq 1 ] && run_examples+=("${name#example:}")
      continue
    fi
    printf '%s\n' "${all_tests[@]}" | grep -qxF -- "$name" || usage_error "--only: liburing $version has no test '$name'"
    tests+=("$name")
  done
fi

echo "liburing_tests: building ${#tests[@]} tests against $against with $jobs jobs"
(. "$helpers_file" && build_one helpers)
[ -f "$objdir/helpers.o" ] || die "test/helpers.c did not build: $(cat "$logs/helpers.build-fail") (log: $logs/helpers.build.log)"
to_build=("${tests[@]}")
printf '%s\n' "${tests[@]}" | grep -qx exec-target || to_build+=(exec-target)
printf '%s\n' "${to_build[@]}" | xargs -P "$jobs" -I{} bash -c '. "$1" && build_one "$2"' _ "$helpers_file" {}
echo "liburing_tests: library and tests built in $(($(date +%s) - build_start)) s"

# Run what built, longest first (times of the last run), slow ones unless --all.
to_run=() not_run=()
for name in "${tests[@]}"; do
  if [ -s "$logs/$name.build-fail" ]; then
    echo "BUILD-FAIL $name: $(cat "$logs/$name.build-fail")"
    echo "$name build-fail 0 -" >"$resdir/$name"
  elif [ $all -eq 0 ] && [ -z "$only" ] && [ -n "${SLOW[$name]:-}" ]; then
    not_run+=("$name")
  else
    to_run+=("$name")
  fi
done
times_file=$work/times.$against
kmsg_marker="uring liburing_tests $$ $(date +%s.%N) start"
[ -w /dev/kmsg ] && echo "$kmsg_marker" >/dev/kmsg 2>/dev/null
run_start=$(date +%s)
if [ ${#to_run[@]} -gt 0 ]; then
  touch "$times_file"
  printf '%s\n' "${to_run[@]}" | awk 'FILENAME == ARGV[1] { t[$1] = $2; next } { print t[$1] + 0, $1 }' "$times_file" - |
    sort -k1,1gr | awk '{ print $2 }' |
    xargs -P "$jobs" -I{} bash -c '. "$1" && run_one "$2"' _ "$helpers_file" {}
fi
run_secs=$(($(date +%s) - run_start))

# --- summary ------------------------------------------------------------------
cat "$resdir"/* 2>/dev/null | sort >"$work/results.$against.txt"
awk '$2 != "build-fail" { print $1, $3 }' "$work/results.$against.txt" >"$times_file.new"
[ -f "$times_file" ] && awk 'FILENAME == ARGV[1] { seen[$1] = 1; print; next } !($1 in seen)' "$times_file.new" "$times_file" >"$times_file.merged" &&
  mv "$times_file.merged" "$times_file.new"
mv "$times_file.new" "$times_file"
count() { awk -v s="$1" '$2 == s' "$work/results.$against.txt" | wc -l; }
for name in "${not_run[@]}"; do
  echo "NOT-RUN $name: slow by design (${SLOW[$name]}); --all runs it"
done
echo "liburing tests: $(count pass) pass, $(count fail) fail, $(count skip) skip, $(count timeout) timeout, $(count build-fail) build-fail"
[ ${#not_run[@]} -eq 0 ] || echo "liburing tests not run (slow, --all runs them): ${not_run[*]}"
slow_now=$(awk '$2 != "build-fail" && $3 > 20 { printf "%s%s %s s", sep, $1, $3; sep = ", " }' "$work/results.$against.txt")
[ -z "$slow_now" ] || echo "tests over 20 s: $slow_now"
echo "ran in $run_secs s; per-test logs: $logs (results: $work/results.$against.txt)"

# --- 5. examples: build, run, check ---------------------------------------------
examples_results=$work/results.examples.$against.txt
: >"$examples_results"
if [ ${#run_examples[@]} -gt 0 ]; then
  exsrcdir=$source_dir/examples exobjdir=$flavour_dir/obj/examples exbindir=$flavour_dir/examples
  exrundir=$work/run/$against-examples exresdir=$work/results/$against-examples expeer=$work/example_peer
  mkdir -p "$exobjdir" "$exbindir" "$exrundir" "$exresdir"
  rm -f "$exresdir"/*
  ex_start=$(date +%s)
  # Our peer for the network examples (plain C, no io_uring).
  if stale "$expeer"; then
    $cc -O2 -Wall -Wextra -MMD -MF "$expeer.d" -o "$expeer" "$here/example_peer.c" >"$logs/example_peer.build.log" 2>&1 ||
      { cat "$logs/example_peer.build.log" >&2; die "tools/liburing_tests/example_peer.c did not build"; }
  fi
  { declare -f build_example wait_port run_example; declare -p exsrcdir exobjdir exbindir exrundir exresdir expeer include_flags; } >>"$helpers_file"
  echo "liburing_tests: building and running ${#run_examples[@]} examples against $against"
  printf '%s\n' "${run_examples[@]}" | xargs -P "$jobs" -I{} bash -c '. "$1" && build_example "$2"' _ "$helpers_file" {}
  ex_run=()
  for name in "${run_examples[@]}"; do
    if [ -s "$logs/example-$name.build-fail" ]; then
      echo "BUILD-FAIL example:$name: $(cat "$logs/example-$name.build-fail")"
      echo "example:$name build-fail 0" >"$exresdir/$name"
    else
      ex_run+=("$name")
    fi
  done
  # Longest first (poll-bench runs 10 s by design), by the last run's times.
  ex_times=$work/times.examples.$against
  touch "$ex_times"
  if [ ${#ex_run[@]} -gt 0 ]; then
    printf '%s\n' "${ex_run[@]}" | awk 'FILENAME == ARGV[1] { t[$1] = $2; next } { print t[$1] + 0, $1 }' "$ex_times" - |
      sort -k1,1gr | awk '{ print $2 }' |
      xargs -P "$jobs" -I{} bash -c '. "$1" && run_example "$2"' _ "$helpers_file" {}
  fi
  cat "$exresdir"/* 2>/dev/null | sort >"$examples_results"
  awk '$2 == "pass" || $2 == "fail" { sub(/^example:/, "", $1); print $1, $3 }' "$examples_results" >"$ex_times.new"
  awk 'FILENAME == ARGV[1] { seen[$1] = 1; print; next } !($1 in seen)' "$ex_times.new" "$ex_times" >"$ex_times.merged" &&
    mv "$ex_times.merged" "$ex_times"
  rm -f "$ex_times.new"
  ex_count() { awk -v s="$1" '$2 == s' "$examples_results" | wc -l; }
  echo "liburing examples: $(ex_count pass) pass, $(($(ex_count fail) + $(ex_count build-fail))) fail, $(ex_count build-only) build-only"
  echo "examples built and ran in $(($(date +%s) - ex_start)) s; logs: $logs/example-NAME.log"
fi

if [ -r /dev/kmsg ] && dmesg >/dev/null 2>&1; then
  dmesg | sed -n "/$kmsg_marker/,\$p" | grep -E 'kernel BUG at|WARNING:|BUG:|Oops:|possible recursive locking|Internal error|suspicious RCU usage|circular locking dependency|general protection fault' >"$work/dmesg.$against.txt"
  [ -s "$work/dmesg.$against.txt" ] && echo "kernel warnings while the tests and examples ran (runtests.sh fails a test for these; any process may have caused them): $work/dmesg.$against.txt" && head -n 5 "$work/dmesg.$against.txt"
fi

# --- 4. against the expected list --------------------------------------------
# Tests and examples together.
all_results=$work/results.all.$against.txt
cat "$work/results.$against.txt" "$examples_results" | sort >"$all_results"
status=0
if [ $update_expected -eq 1 ] && [ -e "$expected" ] && [ ! -f "$expected" ]; then
  echo "liburing_tests: --update-expected writes a regular file, not $expected" >&2
  status=2
elif [ $update_expected -eq 1 ]; then
  # This run's results, and the old lines of tests this run left out.
  touch "$expected"
  {
    echo "# liburing $version tests, and examples as example:NAME, against $against: name and result"
    echo "# (pass|skip|fail|timeout|build-fail|build-only|flaky)."
    echo "# Written by tools/liburing_tests/run.sh --update-expected; a test expected to pass must pass;"
    echo "# a flaky one (mark it by hand, with the reason after #) never counts as a regression."
    # Flaky lines and lines of tests not run stay as they were.
    awk 'FILENAME == ARGV[1] { if ($0 !~ /^#/ && NF) { old[$1] = $0; was[$1] = $2 }; next }
      { seen[$1] = 1; print (was[$1] == "flaky" ? old[$1] : $1 " " $2) }
      END { for (n in old) if (!(n in seen)) print old[n] }' "$expected" "$all_results" | sort
  } >"$expected.new" && mv "$expected.new" "$expected"
  echo "wrote $expected"
elif [ -r "$expected" ]; then
  regressed=$(grep -v '^#' "$expected" | awk 'FILENAME == ARGV[1] { now[$1] = $2; next } NF && $2 == "pass" && ($1 in now) && now[$1] != "pass" { printf "%s%s (%s)", sep, $1, now[$1]; sep = ", " }' "$all_results" -)
  newly=$(grep -v '^#' "$expected" | awk 'FILENAME == ARGV[1] { if (NF) was[$1] = $2; next } $2 == "pass" && was[$1] != "pass" && was[$1] != "flaky" { printf "%s%s", sep, $1; sep = " " }' - "$all_results")
  if [ -n "$regressed" ]; then
    echo "REGRESSION: expected to pass, did not: $regressed"
    status=1
  fi
  [ -z "$newly" ] || echo "newly passing (update $expected, e.g. with --update-expected): $newly"
else
  echo "no expected list at $expected: nothing compared (--update-expected writes one)"
fi
exit $status
