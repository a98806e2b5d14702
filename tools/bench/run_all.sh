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
# submitter), at real-time priority when allowed (chrt -f 1). About 12
# minutes on the 2-core test machine.
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

tools/ensure_packages.sh fio nginx wrk gnuplot-nox liburing-dev valgrind strace python3 util-linux curl
tools/bazelw build -c opt //tools/bench:bench //tools/bench:bench_liburing //tools/echo //tools/echo_epoll \
  //tools/load //tools/httpd >"$out/build.log" 2>&1 || { tail -30 "$out/build.log" >&2; exit 1; }
bin=$(tools/bazelw info -c opt bazel-bin 2>/dev/null)
bench=$bin/tools/bench/bench_liburing

cpus=$(nproc)
# Servers and their load clients at real-time priority (SCHED_FIFO 1) where
# allowed: on a shared machine the other processes (a compile, say) then
# cannot take a benchmark's CPU in the middle of a point, which otherwise
# moves single points by 0.4-1.5x. The kernel's RT throttling still leaves
# 5% of each CPU to everything else. Without the right, plain priority.
rt=
if [ "$cpus" -ge 2 ] && chrt -f 1 true 2>/dev/null; then rt="chrt -f 1"; fi
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
  echo "pinning: servers on CPU $server_cpu, clients on CPU $client_cpu${rt:+, servers and clients at real-time priority ($rt)}"
  echo "quick: $quick"
} >"$out/machine.txt"

if [ $quick = 1 ]; then
  nop_ops=20000; nop_reps=2; read_seconds=0.3; read_reps=1; read_size=64M
  echo_seconds=1; echo_reps=1; http_seconds=1; http_reps=1
else
  nop_ops=1000000; nop_reps=5; read_seconds=2; read_reps=3; read_size=1G
  echo_seconds=2; echo_reps=5; http_seconds=3; http_reps=3
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
    --setup fio,plain,fixed,fio-fixed,sqpoll,sqpoll-spin,fio-sqpoll,pread,fio-psync --json >"$out/read.json" ||
    echo "run_all: read: some setups failed (above); their rows are missing" >&2
fi

# Servers for the echo, http and scale sections: started pinned to the
# server CPU, their port read from their first line; stopped at exit.
server_pids=()
stop_servers() { for pid in "${server_pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap stop_servers EXIT
start_server() {  # NAME LOG COMMAND... ; sets $port and $pid
  local name=$1 log=$2; shift 2
  $rt taskset -c "$server_cpu" "$@" >"$log" 2>&1 &
  pid=$!
  server_pids+=("$pid")
  for _ in $(seq 100); do
    port=$(sed -n 's/^listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$log" | head -1)
    [ -n "$port" ] && return 0
    sleep 0.05
  done
  echo "run_all: $name did not start: $(cat "$log")" >&2
  return 1
}
cpu_seconds() {  # PID: user+system CPU seconds so far (all its threads)
  awk -v hz="$(getconf CLK_TCK)" '{ print ($14 + $15) / hz }' "/proc/$1/stat"
}
rss_kib() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

# One tools/load run against a server: a JSON line with the server's CPU time.
load_point() {  # SERVER_NAME PID PORT CONNECTIONS SIZE SECONDS REP OUTFILE
  local before after rss json
  before=$(cpu_seconds "$2")
  json=$($rt taskset -c "$client_cpu" "$bin/tools/load/load" --port "$3" --connections "$4" --size "$5" \
    --duration "$6" --json 2>>"$out/load.err") || json='{"error": "load failed"}'
  after=$(cpu_seconds "$2")
  rss=$(rss_kib "$2")
  echo "{\"server\": \"$1\", \"connections\": $4, \"size\": $5, \"rep\": $7, \"server_cpu_s\": $(awk -v a="$after" -v b="$before" 'BEGIN { printf "%.3f", a - b }'), \"server_rss_kib\": $rss, \"load\": $json}" >>"$8"
}

# Both echo servers, once.
echo_pid=
start_echo_servers() {
  [ -n "$echo_pid" ] && return 0
  start_server echo "$out/echo.log" "$bin/tools/echo/echo" --port 0 --buffers 1024 --max-connections 12000
  echo_pid=$pid; echo_port=$port
  start_server echo_epoll "$out/echo_epoll.log" "$bin/tools/echo_epoll/echo_epoll" --port 0 --max-connections 12000
  epoll_pid=$pid; epoll_port=$port
}

# 3. Echo: tools/load against tools/echo and tools/echo_epoll, interleaved.
if wanted echo; then
  echo "run_all: echo" >&2
  start_echo_servers
  : >"$out/echo.jsonl"
  for size in 64 4096 65536; do
    for conns in 1 16 64 256; do
      for rep in $(seq "$echo_reps"); do
        load_point echo "$echo_pid" "$echo_port" $conns $size $echo_seconds "$rep" "$out/echo.jsonl"
        load_point echo_epoll "$epoll_pid" "$epoll_port" $conns $size $echo_seconds "$rep" "$out/echo.jsonl"
      done
    done
  done
  # Server system calls per request at 256 x 64 B (strace slows both alike).
  for server in echo echo_epoll; do
    if [ $server = echo ]; then spid=$echo_pid; sport=$echo_port; else spid=$epoll_pid; sport=$epoll_port; fi
    strace -c -f -p "$spid" -o "$out/strace-$server.txt" &
    strace_pid=$!
    sleep 0.5
    taskset -c "$client_cpu" "$bin/tools/load/load" --port "$sport" --connections 256 --size 64 --duration 2 --json \
      >"$out/strace-$server-load.json" 2>>"$out/load.err" || true
    kill -INT "$strace_pid"; wait "$strace_pid" 2>/dev/null || true
  done
fi

# 4. HTTP: wrk against tools/httpd and nginx (1 worker, no access log,
# sendfile on), the same files, pinned apart.
if wanted http; then
  echo "run_all: http" >&2
  www="$out/www"; mkdir -p "$www"
  head -c 1024 /dev/urandom >"$www/1k.bin"
  head -c $((1 << 20)) /dev/urandom >"$www/1m.bin"
  start_server httpd "$out/httpd.log" "$bin/tools/httpd/httpd" --root "$www" --port 0 --max-connections 4096
  httpd_port=$port
  nginx_dir="$out/nginx"; mkdir -p "$nginx_dir"
  nginx_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  cat >"$nginx_dir/nginx.conf" <<NGINX
worker_processes 1;
daemon off;
user root;
error_log $nginx_dir/error.log;
pid $nginx_dir/nginx.pid;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  client_body_temp_path $nginx_dir/body;
  proxy_temp_path $nginx_dir/proxy;
  fastcgi_temp_path $nginx_dir/fastcgi;
  uwsgi_temp_path $nginx_dir/uwsgi;
  scgi_temp_path $nginx_dir/scgi;
  server { listen 127.0.0.1:$nginx_port; root $www; }
}
NGINX
  $rt taskset -c "$server_cpu" nginx -c "$nginx_dir/nginx.conf" -p "$nginx_dir" >"$out/nginx.log" 2>&1 &
  server_pids+=("$!")
  for _ in $(seq 100); do curl -sf -o /dev/null "http://127.0.0.1:$nginx_port/1k.bin" && break; sleep 0.05; done
  : >"$out/http.txt"
  for file in 1k.bin 1m.bin; do
    for rep in $(seq "$http_reps"); do
      for server in httpd nginx; do
        if [ $server = httpd ]; then hport=$httpd_port; else hport=$nginx_port; fi
        echo "== server=$server file=$file rep=$rep" >>"$out/http.txt"
        $rt taskset -c "$client_cpu" wrk -t1 -c32 -d${http_seconds}s "http://127.0.0.1:$hport/$file" >>"$out/http.txt" 2>&1 ||
          echo "wrk failed" >>"$out/http.txt"
      done
    done
  done
fi

# 5. Scale: NOP rate vs ring size.
if wanted scale; then
  echo "run_all: scale (ring size)" >&2
  : >"$out/scale-entries.json"
  for entries in 8 32 128 512 2048 8192 32768; do
    "$bench" nop --batch 8 --entries $entries --ops $nop_ops --reps 3 --json \
      --setup plain,liburing >>"$out/scale-entries.json" || echo "run_all: scale: entries=$entries failed" >&2
  done
  # Echo vs connection count (64 B, depth 1), and server memory per connection.
  echo "run_all: scale (connections)" >&2
  start_echo_servers
  : >"$out/scale-connections.jsonl"
  for conns in 100 1000 4000 10000; do
    load_point echo "$echo_pid" "$echo_port" $conns 64 $echo_seconds 1 "$out/scale-connections.jsonl"
    load_point echo_epoll "$epoll_pid" "$epoll_port" $conns 64 $echo_seconds 1 "$out/scale-connections.jsonl"
  done
fi

stop_servers
trap - EXIT
python3 tools/bench/report.py "$out" "$root"
echo "run_all: wrote $root/BENCHMARKS.md (raw results in $out)" >&2
