// What the benchmarks in tools/bench share: one measured sample, a timer of
// wall and CPU time, and the driver that runs every setup interleaved with
// its baseline (A B C A B C ..., --reps times) and prints one line per
// (point, setup): the median, the spread and the ratio of medians to the
// first setup listed, so a ratio holds on a noisy machine.
#pragma once

#include <sys/resource.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace bench {

struct Sample {
  bool ok = false;
  double mops = 0;            // millions of operations per second
  double ns_per_op = 0;       // wall time per operation
  double user_ns_per_op = 0;  // the measuring thread's user CPU time per operation
  double sys_ns_per_op = 0;   // its kernel CPU time (an SQPOLL thread's is not in it)
  std::string error;          // why not, when !ok
};

inline Sample failed(std::string error) {
  Sample sample;
  sample.error = std::move(error);
  return sample;
}

// Wall and CPU time of the calling thread, from construction to stop().
class Timer {
 public:
  Timer() : start_(std::chrono::steady_clock::now()) { getrusage(RUSAGE_THREAD, &usage_); }

  double seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }

  Sample stop(double ops) const {
    rusage now;
    getrusage(RUSAGE_THREAD, &now);
    const double elapsed = seconds();
    Sample sample;
    sample.ok = true;
    sample.mops = ops / elapsed / 1e6;
    sample.ns_per_op = elapsed * 1e9 / ops;
    sample.user_ns_per_op = (micros(now.ru_utime) - micros(usage_.ru_utime)) * 1e3 / ops;
    sample.sys_ns_per_op = (micros(now.ru_stime) - micros(usage_.ru_stime)) * 1e3 / ops;
    return sample;
  }

 private:
  static double micros(const timeval& tv) {
    return static_cast<double>(tv.tv_sec) * 1e6 + static_cast<double>(tv.tv_usec);
  }
  std::chrono::steady_clock::time_point start_;
  rusage usage_;
};

// "1,8,32" -> {"1", "8", "32"}.
std::vector<std::string> split(const std::string& text);

// How one benchmark's lines look: `read setup=fixed qd=32 kiops=...`.
struct Table {
  const char* benchmark;  // "nop", "read"
  const char* point;      // what the points vary: "batch", "qd"
  const char* unit;       // the rate's name: "mops" (10^6/s) or "kiops" (10^3/s)
  double unit_per_mops;   // 1 for mops, 1000 for kiops
};

// For every point, runs every setup `reps` times, interleaved, and prints
// a line per setup (or a JSON document with --json). A setup that fails
// once is dropped for that point (its error on stderr). Returns the number
// of failed (point, setup) pairs.
int run_interleaved(const Table& table, const std::vector<unsigned>& points, const std::vector<std::string>& setups,
                    unsigned reps, bool json, const std::function<Sample(const std::string& setup, unsigned point)>& run);

// The benchmarks (nop.cc, read.cc): argv[0] is the benchmark's name.
int nop_main(int argc, char** argv);
int read_main(int argc, char** argv);

// Runs `ops` NOPs, `batch` per io_uring_enter, on a liburing 2.3 ring of
// `entries` SQEs set up as `setup` names ("liburing" flags 0,
// "liburing-regfd", "liburing-defer", "liburing-sqpoll"). False when `setup` is not a liburing setup (the
// default build has none: liburing_nop_absent.cc).
bool liburing_nop(const std::string& setup, unsigned batch, unsigned long long ops, unsigned entries, Sample* sample);

// The liburing setups this binary knows ("" when built without liburing).
const char* liburing_setups();

}  // namespace bench
