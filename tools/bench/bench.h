// What the benchmarks in tools/bench share: one measured sample, and the
// NOP loops that can be built in (the liburing one only in the manual
// target //tools/bench:bench_liburing, which links Debian's liburing-dev).
#pragma once

#include <sys/resource.h>

#include <chrono>
#include <string>

namespace bench {

struct Sample {
  bool ok = false;
  double mops = 0;           // millions of operations per second
  double ns_per_op = 0;      // wall time per operation
  double user_ns_per_op = 0; // the measuring thread's user CPU time per operation
  double sys_ns_per_op = 0;  // its kernel CPU time (an SQPOLL thread's is not in it)
  std::string error;         // why not, when !ok
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

  Sample stop(double ops) const {
    rusage now;
    getrusage(RUSAGE_THREAD, &now);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    Sample sample;
    sample.ok = true;
    sample.mops = ops / seconds / 1e6;
    sample.ns_per_op = seconds * 1e9 / ops;
    sample.user_ns_per_op = (micros(now.ru_utime) - micros(usage_.ru_utime)) * 1e3 / ops;
    sample.sys_ns_per_op = (micros(now.ru_stime) - micros(usage_.ru_stime)) * 1e3 / ops;
    return sample;
  }

 private:
  static double micros(const timeval& tv) { return static_cast<double>(tv.tv_sec) * 1e6 + static_cast<double>(tv.tv_usec); }
  std::chrono::steady_clock::time_point start_;
  rusage usage_;
};

// Runs `ops` NOPs, `batch` per io_uring_enter, on liburing 2.3 set up as
// `setup` names ("liburing" flags 0, "liburing-regfd", "liburing-defer",
// "liburing-sqpoll"). False when `setup` is not a liburing setup (the
// default build has none: liburing_nop_absent.cc).
bool liburing_nop(const std::string& setup, unsigned batch, unsigned long long ops, Sample* sample);

// The liburing setups this binary knows ("" when built without liburing).
const char* liburing_setups();

}  // namespace bench
