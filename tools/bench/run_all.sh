#!/usr/bin/env bash
# Runs every benchmark of issue 16 with its baselines side by side and
# writes BENCHMARKS.md (and its plots, bench/*.png) at the top of the tree.
#
#   tools/bench/run_all.sh [--quick] [--out DIR] [--only LIST]
#
#   --quick      tiny runs (seconds in all), to check the script itself
#   --out DIR    raw results (JSON, logs) go there (default /tmp/uring-bench)
#   --only LIST  comma-separated sections: nop,callgrind,strace,read,echo,http,scale
#                (default: all); BENCHMARKS.md is written from what DIR holds
#
# Installs what it needs from Debian (fio, nginx, wrk, gnuplot, liburing-dev,
# valgrind, strace), builds the benchmarks optimised, and pins servers and
# clients to different CPUs where a benchmark has both (taskset; on a
# one-CPU machine they share it, and BENCHMARKS.md says so; single-process
# benchmarks are not pinned, so an SQPOLL thread may run beside its
# submitter). About 10 minutes on the 2-core test machine.
set -euo pipefail

cd "$(dirname "$0")/../.."
root=$(pwd)
out=/tmp/uring-bench
quick=0
only=nop,callgrind,strace,read,echo,http,scale
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1; shift ;;
    --out) out=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run_all.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
wanted() { case ",$only," in *",$1,"*) return 0 ;; *) return 1 ;; esac; }
mkdir -p "$out"

tools/ensure_packages.sh fio nginx wrk gnuplot-nox liburing-dev valgrind strace python3 util-linux
tools/bazelw build -c opt //tools/bench:bench //tools/bench:bench_liburing //tools/echo //tools/echo_epoll \
  //tools/load //tools/httpd >"$out/build.log" 2>&1 || { tail -30 "$out/build.log" >&2; exit 1; }
bin=$(tools/bazelw info -c opt bazel-bin 2>/dev/null)
bench=$bin/tools/bench/bench_liburing

cpus=$(nproc)
if [ "$cpus" -ge 2 ]; then server_cpu=0; client_cpu=1; else server_cpu=0; client_cpu=0; fi
{
  echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "kernel: $(uname -r)"
  echo "cpu: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1) x $cpus"
  echo "memory: $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)"
  echo "compiler: $(g++ --version | head -1)"
  echo "liburing: $(dpkg-query -W -f='${Version}' liburing-dev)"
  echo "fio: $(fio --version)"
  echo "nginx: $(nginx -v 2>&1 | sed 's/.*: //')"
  echo "wrk: $(wrk --version 2>&1 | head -1 | awk '{print $2}')"
  echo "commit: $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- uring syscalls tools || echo ' (with local changes)')"
  echo "pinning: servers on CPU $server_cpu, clients on CPU $client_cpu"
  echo "quick: $quick"
} >"$out/machine.txt"

if [ $quick = 1 ]; then
  nop_ops=20000; nop_reps=2; read_seconds=0.3; read_reps=1; read_size=64M
  echo_seconds=1; echo_reps=1; http_seconds=1; http_reps=1
else
  nop_ops=1000000; nop_reps=5; read_seconds=2; read_reps=3; read_size=1G
  echo_seconds=3; echo_reps=2; http_seconds=3; http_reps=3
fi

# 1. NOP: every setup of uring and liburing, interleaved, batch 1..128.
if wanted nop; then
  echo "run_all: nop" >&2
  "$bench" nop --batch 1,8,32,128 --ops $nop_ops --reps $nop_reps --json \
    --setup liburing,plain,raw,default,regfd,liburing-regfd,defer,liburing-defer,nosqarray,sqpoll,liburing-sqpoll,best \
    >"$out/nop.json" || echo "run_all: nop: some setups failed (above); their rows are missing" >&2
fi

# User-space instructions per NOP (valgrind), uring vs liburing vs raw.
if wanted callgrind; then
  echo "run_all: callgrind" >&2
  tools/bench/callgrind.sh "$bench" liburing,plain,default,raw 1,32 $((nop_ops < 32000 ? nop_ops : 32000)) \
    >"$out/callgrind.txt"
fi

# System calls per batch (strace -c): one io_uring_enter per batch of 32.
if wanted strace; then
  echo "run_all: strace" >&2
  for setup in plain default liburing; do
    strace -f -c -o "$out/strace-$setup.txt" "$bench" nop --batch 32 --ops 32000 --reps 1 --setup $setup >/dev/null
  done
fi

# 2. Random 4 KiB reads from the page cache: uring vs pread vs fio.
if wanted read; then
  echo "run_all: read" >&2
  "$bench" read --qd 1,32,128 --seconds $read_seconds --reps $read_reps --size $read_size \
    --setup fio,plain,fixed,fio-fixed,sqpoll,fio-sqpoll,pread,fio-psync --json >"$out/read.json" ||
    echo "run_all: read: some setups failed (above); their rows are missing" >&2
fi

# 5. Scale: NOP rate vs ring size.
if wanted scale; then
  echo "run_all: scale (ring size)" >&2
  : >"$out/scale-entries.json"
  for entries in 8 32 128 512 2048 8192 32768; do
    "$bench" nop --batch 8 --entries $entries --ops $nop_ops --reps 3 --json \
      --setup plain,liburing >>"$out/scale-entries.json" || echo "run_all: scale: entries=$entries failed" >&2
  done
fi

python3 tools/bench/report.py "$out" "$root"
echo "run_all: wrote $root/BENCHMARKS.md (raw results in $out)" >&2
