// Shared by every test: doctest, the skip convention, and leak counters.
//
// A test that needs something the running kernel or machine lacks skips
// with URING_REQUIRE(testing::missing_...(...)) at the top of the test case
// (tests/support/kernel_features.h): the decision comes from the probe, the
// feature bits, IORING_REGISTER_QUERY or a named machine limit, before the
// call under test, never from that call's error. URING_SKIP(reason) prints
// one line and returns from the test case; "uring-skip: [test case] reason"
// is what .ci/run lists and counts as a skip (doctest itself reports the case
// as passed, so a skip ends the whole case: never skip inside a SUBCASE).
#pragma once

#include <doctest/doctest.h>

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "uring/ring.h"

namespace uring::testing {

// Prints the skip line for the running test case (see above).
void report_skip(const std::string& reason);

// Ring::create, except that a transient ENOMEM is waited out (bounded, 10 s).
// Without CAP_IPC_LOCK (as in Bazel's sandbox) ring memory counts against
// the per-user RLIMIT_MEMLOCK, shared by every test process running at once,
// and the kernel returns a closed ring's share only after its asynchronous
// teardown; a test that churns rings can briefly starve its neighbours.
Result<Ring> create_ring(const RingOptions& options);

// The next free SQE (fails the test when the SQ is full).
Sqe& next_sqe(Ring& ring);

// Submits what is pending, then takes exactly `count` CQEs (copied out, in
// arrival order), waiting at most `timeout` in all; fails the test if they
// do not all come.
std::vector<Cqe> reap(Ring& ring, unsigned count,
                      std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));
Cqe reap_one(Ring& ring, std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));

// Polls `condition` every millisecond until it holds (true) or `limit`
// passes (false): for waiting on the event that proves a point, with a loose
// bound, instead of sleeping a fixed time.
template <class Condition>
bool eventually(Condition condition, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

// True while thread `tid` of this process is blocked in system call `number`
// (the first field of /proc/self/task/TID/syscall).
bool blocked_in_syscall(pid_t tid, long number);

// Open descriptors of this process (entries of /proc/self/fd).
int open_fd_count();

// Lines of /proc/self/maps; with `containing`, only lines with that text.
int mapping_count(const char* containing = nullptr);

// Mappings to compare before and after a test: the kernel's ring mappings
// ("anon_inode:[io_uring]") always, and every other mapping too except under
// AddressSanitizer or ThreadSanitizer, whose runtimes map new regions as the
// heap grows.
struct MappingSnapshot {
  int io_uring = mapping_count("[io_uring]");
  int all = mapping_count();
  bool operator==(const MappingSnapshot& other) const;
};

// A temporary directory removed (with its contents) when this goes away.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace uring::testing

#define URING_SKIP(reason)                      \
  do {                                          \
    ::uring::testing::report_skip(reason);      \
    return;                                     \
  } while (0)
