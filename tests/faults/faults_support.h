// Shared by the fault tests (issue 14, "Faults"): pipes, a ledger that
// proves every request's CQE came exactly once, and signalling helpers.
#pragma once

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <thread>

#include "tests/support/kernel_features.h"
#include "tests/support/test_support.h"
#include "uring/uring.h"

namespace uring::faults {

using namespace std::chrono_literals;

inline pid_t this_tid() { return static_cast<pid_t>(::syscall(SYS_gettid)); }

inline bool blocked_in_enter(pid_t tid) {
  return testing::blocked_in_syscall(tid, static_cast<long>(sys::kNrIoUringEnter));
}

// A named ring setup for tests that run over several kinds of ring.
struct Setup {
  const char* name;
  RingOptions options;
};

// RingOptions of 16 entries, changed by `change`.
inline RingOptions with(void (*change)(RingOptions&)) {
  RingOptions options;
  options.entries = 16;
  change(options);
  return options;
}

// A pipe; both ends closed with it.
struct Pipe {
  Pipe() {
    int fds[2];
    REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
    r = fds[0];
    w = fds[1];
  }
  ~Pipe() {
    if (r >= 0) ::close(r);
    if (w >= 0) ::close(w);
  }
  Pipe(const Pipe&) = delete;
  Pipe& operator=(const Pipe&) = delete;
  // Writes one byte; false if that failed (for helper threads, which must not assert).
  bool put(char c) const { return ::write(w, &c, 1) == 1; }
  void close_read() {
    ::close(r);
    r = -1;
  }
  // One byte written without blocking: 0, or the errno (EPIPE once no
  // reader holds the read end: with SIGPIPE ignored, see IgnoreSigpipe).
  int put_nonblocking(char c) const {
    const int flags = ::fcntl(w, F_GETFL);
    if ((flags & O_NONBLOCK) == 0) ::fcntl(w, F_SETFL, flags | O_NONBLOCK);
    return ::write(w, &c, 1) == 1 ? 0 : errno;
  }
  int r = -1;
  int w = -1;
};

// SIGPIPE ignored for the life of the object (a write to a pipe without
// readers then fails with EPIPE instead of killing the process).
class IgnoreSigpipe {
 public:
  IgnoreSigpipe() {
    struct sigaction action {};
    action.sa_handler = SIG_IGN;
    REQUIRE(::sigaction(SIGPIPE, &action, &previous_) == 0);
  }
  ~IgnoreSigpipe() { ::sigaction(SIGPIPE, &previous_, nullptr); }
  IgnoreSigpipe(const IgnoreSigpipe&) = delete;
  IgnoreSigpipe& operator=(const IgnoreSigpipe&) = delete;

 private:
  struct sigaction previous_ {};
};

// What must come back: for each user_data, the one result expected (or any
// result, if `any`). take() reaps what is ready and counts it.
class Ledger {
 public:
  void expect(std::uint64_t user_data, int result) { expected_[user_data] = result; }
  void expect_any(std::uint64_t user_data) { expected_[user_data] = kAny; }

  unsigned take(Ring& ring) {
    return ring.for_each_cqe([&](const Cqe& cqe) {
      ++seen_[cqe.data()];
      results_[cqe.data()] = cqe.result();
      flags_[cqe.data()] = cqe.flags;
    });
  }
  bool has(std::uint64_t user_data) const { return seen_.count(user_data) != 0; }
  bool all_seen() const {
    for (const auto& [data, result] : expected_) {
      if (!has(data)) return false;
    }
    return true;
  }
  int result_of(std::uint64_t user_data) const {
    auto it = results_.find(user_data);
    return it == results_.end() ? 0 : it->second;
  }

  std::uint32_t flags_of(std::uint64_t user_data) const {
    auto it = flags_.find(user_data);
    return it == flags_.end() ? 0 : it->second;
  }

  // Reaps until every expected CQE came (bounded: `limit`), whatever
  // signals interrupt the waits.
  void reap_rest(Ring& ring, std::chrono::milliseconds limit = 10000ms) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    take(ring);
    while (!all_seen() && std::chrono::steady_clock::now() < deadline) {
      const int ret = ring.wait_cqes(1, WaitOptions{.timeout = 100ms});
      CHECK((ret == 0 || ret == -ETIME || ret == -EINTR));
      take(ring);
    }
  }

  // Every expected CQE exactly once with its result, and nothing else.
  void check_exactly_once() const {
    for (const auto& [data, result] : expected_) {
      INFO("user_data " << data);
      auto it = seen_.find(data);
      CHECK(it != seen_.end());
      if (it == seen_.end()) continue;
      CHECK(it->second == 1);
      if (result != kAny) CHECK(results_.at(data) == result);
    }
    for (const auto& [data, count] : seen_) {
      INFO("unexpected user_data " << data);
      CHECK(expected_.count(data) == 1);
    }
  }

 private:
  static constexpr int kAny = 0x7fffffff;
  std::map<std::uint64_t, int> expected_;
  std::map<std::uint64_t, int> seen_;
  std::map<std::uint64_t, int> results_;
  std::map<std::uint64_t, std::uint32_t> flags_;
};

}  // namespace uring::faults
