// tools/attach: the same threaded workload on N rings, set up independently
// and then attached to the first ring (IORING_SETUP_ATTACH_WQ), side by
// side: throughput, the CPU time the process used (getrusage, which counts
// the kernel's io threads too: they belong to the process), and the kernel
// threads that did the work.
//
//   attach [--rings 4] [--seconds 1] [--batch 16] [--idle-ms 50]
//          [--async-every 0] [--no-sqpoll]
//
// Bad input (an unknown option, a value that is not a whole number in
// range) prints what was wrong and the usage, and exits with status 2;
// --help prints the usage and exits 0.
//
// Each ring has its own thread submitting NOPs in batches and reaping them.
// With SQPOLL (the default) unattached rings get a poller thread each
// (iou-sqp-*); attached ones share the first ring's. --async-every K
// forces every K-th NOP through io-wq (iou-wrk-* workers), which belong to
// the submitting thread (the poller, with SQPOLL) whether attached or not.
#include <dirent.h>
#include <sys/resource.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "uring/uring.h"

namespace {

struct Args {
  unsigned rings = 4;
  double seconds = 1.0;
  unsigned batch = 16;
  unsigned idle_ms = 50;
  unsigned async_every = 0;
  bool sqpoll = true;
};

constexpr const char* kUsage =
    "usage: attach [--rings N] [--seconds S] [--batch B] [--idle-ms MS] [--async-every K] [--no-sqpoll]\n"
    "  --rings N        rings, one thread each (1..64, default 4)\n"
    "  --seconds S      how long each run lasts (0 < S <= 60, default 1)\n"
    "  --batch B        NOPs per submit (1..1024, default 16)\n"
    "  --idle-ms MS     SQPOLL idle time before the poller sleeps (default 50)\n"
    "  --async-every K  send every K-th NOP through io-wq (0: none, the default)\n"
    "  --no-sqpoll      rings without SQPOLL (attaching then changes nothing)\n";

// Bad input: what was wrong, the usage, exit status 2.
[[noreturn]] void usage_error(const std::string& message) {
  std::fprintf(stderr, "attach: %s\n%s", message.c_str(), kUsage);
  std::exit(2);
}

// The whole of `text` as a decimal unsigned number in [low, high], else a usage error.
unsigned parse_unsigned(const std::string& option, const std::string& text, unsigned long low, unsigned long high) {
  errno = 0;
  char* end = nullptr;
  const unsigned long value = std::strtoul(text.c_str(), &end, 10);
  const bool digits = !text.empty() && text.find_first_not_of("0123456789") == std::string::npos;
  if (!digits || *end != '\0' || errno == ERANGE || value < low || value > high) {
    usage_error(option + " takes a whole number from " + std::to_string(low) + " to " + std::to_string(high) +
                ", not \"" + text + "\"");
  }
  return static_cast<unsigned>(value);
}

// The whole of `text` as a finite number in (low, high], else a usage error.
double parse_seconds(const std::string& option, const std::string& text, double low, double high) {
  errno = 0;
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (text.empty() || end == text.c_str() || *end != '\0' || errno == ERANGE || !std::isfinite(value) ||
      !(value > low && value <= high)) {
    char range[64];
    std::snprintf(range, sizeof range, "(%g, %g]", low, high);
    usage_error(option + " takes a number of seconds in " + range + ", not \"" + text + "\"");
  }
  return value;
}

Args parse(int argc, char** argv) {
  Args args;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage_error(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "--rings") {
      args.rings = parse_unsigned(arg, value(), 1, 64);
    } else if (arg == "--seconds") {
      args.seconds = parse_seconds(arg, value(), 0, 60);
    } else if (arg == "--batch") {
      args.batch = parse_unsigned(arg, value(), 1, 1024);
    } else if (arg == "--idle-ms") {
      args.idle_ms = parse_unsigned(arg, value(), 0, 0xffffffffUL);
    } else if (arg == "--async-every") {
      args.async_every = parse_unsigned(arg, value(), 0, 0xffffffffUL);
    } else if (arg == "--no-sqpoll") {
      args.sqpoll = false;
    } else if (arg == "--help" || arg == "-h") {
      std::printf("attach: what ATTACH_WQ buys, measured\n%s", kUsage);
      std::exit(0);
    } else {
      usage_error("unknown option \"" + arg + "\"");
    }
  }
  return args;
}

// Threads of this process named iou-sqp-* and iou-wrk-*.
struct KernelThreads {
  int pollers = 0;
  int workers = 0;
};

// Thread id -> name, for every thread of this process.
std::map<std::string, std::string> thread_names() {
  std::map<std::string, std::string> names;
  DIR* tasks = ::opendir("/proc/self/task");
  if (!tasks) return names;
  while (dirent* entry = ::readdir(tasks)) {
    if (entry->d_name[0] == '.') continue;
    const std::string path = std::string("/proc/self/task/") + entry->d_name + "/comm";
    FILE* file = std::fopen(path.c_str(), "r");
    if (!file) continue;
    char name[64] = {};
    if (std::fgets(name, sizeof name, file)) names[entry->d_name] = name;
    std::fclose(file);
  }
  ::closedir(tasks);
  return names;
}

// Pollers are counted by name: a poller is called iou-sqp-<id of the thread
// that set up its ring>, and here each ring is set up by its own thread, so
// N pollers have N names. Counting names rather than threads also keeps
// out a worker the poller has just cloned: until it names itself (which
// can take a while on a busy machine) it carries its parent's name.
KernelThreads kernel_threads() {
  std::set<std::string> pollers;
  KernelThreads seen;
  for (const auto& [tid, name] : thread_names()) {
    if (name.rfind("iou-sqp-", 0) == 0) pollers.insert(name);
    if (name.rfind("iou-wrk-", 0) == 0) ++seen.workers;
  }
  seen.pollers = static_cast<int>(pollers.size());
  return seen;
}

double cpu_seconds(const timeval& tv) { return static_cast<double>(tv.tv_sec) + tv.tv_usec / 1e6; }

struct Result {
  unsigned long long ops = 0;
  double seconds = 0;
  double cpu_user = 0;
  double cpu_sys = 0;
  KernelThreads peak;
  std::string failure;
};

// One ring's thread: NOP batches until `stop`, counting completions.
void drive(uring::Ring& ring, const Args& args, const std::atomic<bool>& stop, unsigned long long& done,
           std::string& failure) {
  unsigned long long sent = 0;
  while (!stop.load(std::memory_order_relaxed)) {
    unsigned queued = 0;
    while (queued < args.batch) {
      uring::Sqe* sqe = ring.get_sqe();
      if (!sqe) break;
      uring::prep_nop(*sqe).set_user_data(sent);
      if (args.async_every && sent % args.async_every == 0) sqe->force_async();
      ++sent;
      ++queued;
    }
    if (queued == 0 || ring.submit() < 0) {
      failure = "submit failed";
      return;
    }
    unsigned reaped = 0;
    while (reaped < queued) {
      const int ret = ring.wait_cqes(1, uring::WaitOptions{.timeout = std::chrono::seconds(5)});
      if (ret != 0) {
        failure = "no completion within 5 s (" + std::string(uring::errno_name(-ret)) + ")";
        return;
      }
      reaped += ring.for_each_cqe([&](const uring::Cqe& cqe) {
        if (cqe.result() != 0) failure = "a NOP failed";
      });
    }
    done += reaped;
  }
}

Result run(const Args& args, bool attached) {
  Result result;
  // Pollers of an earlier run exit asynchronously: start from none.
  const auto settle = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  while (kernel_threads().pollers > 0 && std::chrono::steady_clock::now() < settle) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::vector<uring::Ring> rings(args.rings);
  std::vector<unsigned long long> done(args.rings, 0);
  std::vector<std::string> failures(args.rings);
  std::atomic<bool> stop{false};
  std::atomic<unsigned> created{0};
  std::atomic<bool> go{false};

  rusage before{};
  ::getrusage(RUSAGE_SELF, &before);
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (unsigned i = 0; i < args.rings; ++i) {
    threads.emplace_back([&, i] {
      // Each ring is set up by the thread that uses it (its registered fd
      // and io-wq belong to that thread); ring 0 first, the rest attach to it.
      while (i > 0 && created.load() == 0) std::this_thread::yield();
      uring::RingOptions options;
      options.entries = 2 * args.batch;
      options.sqpoll = args.sqpoll;
      options.sqpoll_idle_ms = args.idle_ms;
      if (attached && i > 0) options.attach_wq = &rings[0];
      auto ring = uring::Ring::create(options);
      if (!ring) {
        failures[i] = ring.error().message;
        ++created;
        return;
      }
      rings[i] = std::move(ring.value());
      ++created;
      while (!go.load()) std::this_thread::yield();
      drive(rings[i], args, stop, done[i], failures[i]);
    });
    if (i == 0) {
      while (created.load() == 0) std::this_thread::yield();
    }
  }
  while (created.load() < args.rings) std::this_thread::yield();
  go = true;
  const auto deadline = start + std::chrono::duration<double>(args.seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    const KernelThreads now = kernel_threads();
    result.peak.pollers = std::max(result.peak.pollers, now.pollers);
    result.peak.workers = std::max(result.peak.workers, now.workers);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  stop = true;
  for (std::thread& thread : threads) thread.join();
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  rusage after{};
  ::getrusage(RUSAGE_SELF, &after);
  result.cpu_user = cpu_seconds(after.ru_utime) - cpu_seconds(before.ru_utime);
  result.cpu_sys = cpu_seconds(after.ru_stime) - cpu_seconds(before.ru_stime);
  for (unsigned i = 0; i < args.rings; ++i) {
    result.ops += done[i];
    if (!failures[i].empty() && result.failure.empty()) result.failure = "ring " + std::to_string(i) + ": " + failures[i];
  }
  rings.clear();  // close every ring before the next run
  return result;
}

void print(const char* mode, const Args& args, const Result& r) {
  const double cpu = r.cpu_user + r.cpu_sys;
  std::printf(
      "mode=%-10s rings=%u sqpoll=%d seconds=%.2f ops=%llu mops=%.3f cpu_user=%.2f cpu_sys=%.2f "
      "cpu_ns_per_op=%.0f iou_sqp=%d iou_wrk=%d\n",
      mode, args.rings, args.sqpoll ? 1 : 0, r.seconds, r.ops, r.ops / r.seconds / 1e6, r.cpu_user, r.cpu_sys,
      r.ops ? cpu * 1e9 / static_cast<double>(r.ops) : 0.0, r.peak.pollers, r.peak.workers);
}

}  // namespace

int main(int argc, char** argv) {
  const Args args = parse(argc, argv);
  const Result alone = run(args, false);
  if (!alone.failure.empty()) {
    std::fprintf(stderr, "attach: unattached run: %s\n", alone.failure.c_str());
    return 1;
  }
  print("unattached", args, alone);
  const Result shared = run(args, true);
  if (!shared.failure.empty()) {
    std::fprintf(stderr, "attach: attached run: %s\n", shared.failure.c_str());
    return 1;
  }
  print("attached", args, shared);
  const auto per_op = [](const Result& r) { return r.ops ? (r.cpu_user + r.cpu_sys) / static_cast<double>(r.ops) : 0.0; };
  std::printf("attached/unattached: poller threads %d/%d, throughput %.2fx, cpu per op %.2fx\n",
              shared.peak.pollers, alone.peak.pollers,
              alone.ops ? static_cast<double>(shared.ops) / shared.seconds / (static_cast<double>(alone.ops) / alone.seconds) : 0.0,
              per_op(alone) > 0 ? per_op(shared) / per_op(alone) : 0.0);
  return 0;
}
