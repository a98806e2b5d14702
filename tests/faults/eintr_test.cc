// EINTR during every kind of wait (issue 14, Faults): a helper thread
// signals the waiting thread (a no-op handler installed without SA_RESTART)
// with completions arriving before, during and after the signal. The rule
// of uring/ring.h: a wait interrupted while no CQE is ready returns -EINTR;
// with a CQE ready the kernel reports success; an enter that submits
// reports its count, never its wait's -EINTR, so submit_and_wait without a
// sigmask goes on waiting. Whatever the outcome, every request's CQE is
// reaped exactly once afterwards.
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "tests/faults/faults_support.h"
#include "uring/register.h"

using namespace uring;
using namespace uring::faults;

namespace {

std::atomic<int> g_signals{0};
void count_signal(int) { g_signals.fetch_add(1, std::memory_order_relaxed); }

// SIGUSR1 with a counting handler and no SA_RESTART, for the life of the object.
class CountSignals {
 public:
  CountSignals() {
    struct sigaction action {};
    action.sa_handler = count_signal;
    sigemptyset(&action.sa_mask);
    REQUIRE(::sigaction(SIGUSR1, &action, &previous_) == 0);
  }
  ~CountSignals() { ::sigaction(SIGUSR1, &previous_, nullptr); }
  CountSignals(const CountSignals&) = delete;
  CountSignals& operator=(const CountSignals&) = delete;

 private:
  struct sigaction previous_ {};
};

enum class Kind {
  wait_cqes,
  wait_cqes_timed,
  wait_cqes_sigmask,
  wait_cqe,
  wait_cqe_timed,
  submit_and_wait,
  submit_and_wait_timed,
  submit_and_wait_sigmask,
  wait_cqes_registered,
  submit_and_wait_registered,
};

const char* name(Kind kind) {
  switch (kind) {
    case Kind::wait_cqes: return "wait_cqes";
    case Kind::wait_cqes_timed: return "wait_cqes with a timeout";
    case Kind::wait_cqes_sigmask: return "wait_cqes with a sigmask";
    case Kind::wait_cqe: return "wait_cqe";
    case Kind::wait_cqe_timed: return "wait_cqe with a timeout";
    case Kind::submit_and_wait: return "submit_and_wait(n, {})";
    case Kind::submit_and_wait_timed: return "submit_and_wait with a timeout";
    case Kind::submit_and_wait_sigmask: return "submit_and_wait with a sigmask";
    case Kind::wait_cqes_registered: return "wait_cqes with a registered wait entry";
    case Kind::submit_and_wait_registered: return "submit_and_wait with a registered wait entry";
  }
  return "?";
}

bool submits(Kind kind) {
  return kind == Kind::submit_and_wait || kind == Kind::submit_and_wait_timed ||
         kind == Kind::submit_and_wait_sigmask || kind == Kind::submit_and_wait_registered;
}
bool uses_sigmask(Kind kind) { return kind == Kind::wait_cqes_sigmask || kind == Kind::submit_and_wait_sigmask; }
bool registered(Kind kind) { return kind == Kind::wait_cqes_registered || kind == Kind::submit_and_wait_registered; }
// The documented exception: the signal lands in the enter that submits,
// which reports the submitted count, so the wait goes on.
bool absorbs_signal(Kind kind) { return submits(kind) && !uses_sigmask(kind); }

// The sigmask a sigmask kind waits with: the thread's own mask less SIGUSR1,
// which the thread blocks for the test (the ppoll idiom).
struct SigmaskScope {
  explicit SigmaskScope(bool active) : active_(active) {
    if (!active_) return;
    sigset_t blocked;
    sigemptyset(&blocked);
    sigaddset(&blocked, SIGUSR1);
    REQUIRE(::pthread_sigmask(SIG_BLOCK, &blocked, &previous_) == 0);
    REQUIRE(::pthread_sigmask(SIG_BLOCK, nullptr, &during_wait) == 0);
    sigdelset(&during_wait, SIGUSR1);
  }
  ~SigmaskScope() {
    if (active_) ::pthread_sigmask(SIG_SETMASK, &previous_, nullptr);
  }
  sigset_t during_wait{};

 private:
  bool active_;
  sigset_t previous_{};
};

// One wait of `kind` for `count` CQEs. For wait_cqe: 0 when it hands back a
// CQE (left in the CQ for the ledger), else the error.
int wait_of(Ring& ring, Kind kind, unsigned count, const sigset_t* mask) {
  switch (kind) {
    case Kind::wait_cqes: return ring.wait_cqes(count);
    case Kind::wait_cqes_timed: return ring.wait_cqes(count, WaitOptions{.timeout = 60s});
    case Kind::wait_cqes_sigmask: return ring.wait_cqes(count, WaitOptions{.sigmask = mask});
    case Kind::wait_cqe:
    case Kind::wait_cqe_timed: {
      int error = 1;
      const Cqe* cqe = kind == Kind::wait_cqe ? ring.wait_cqe(&error) : ring.wait_cqe(&error, WaitOptions{.timeout = 60s});
      if (cqe != nullptr) return error == 0 ? 0 : 1000;  // 1000: a CQE with an error set (a bug)
      return error;
    }
    case Kind::submit_and_wait: return ring.submit_and_wait(count, WaitOptions{});
    case Kind::submit_and_wait_timed: return ring.submit_and_wait(count, WaitOptions{.timeout = 60s});
    case Kind::submit_and_wait_sigmask: return ring.submit_and_wait(count, WaitOptions{.sigmask = mask});
    case Kind::wait_cqes_registered: return ring.wait_cqes(count, WaitOptions{.registered_wait = 0});
    case Kind::submit_and_wait_registered: return ring.submit_and_wait(count, WaitOptions{.registered_wait = 0});
  }
  return -1000;
}

// What a kind returns when it succeeds having had `queued` SQEs to submit.
int success_of(Kind kind, int queued) { return submits(kind) ? queued : 0; }

enum class Variant { plain_fd, registered_fd, defer_taskrun };
constexpr Variant kVariants[] = {Variant::plain_fd, Variant::registered_fd, Variant::defer_taskrun};
const char* name(Variant variant) {
  switch (variant) {
    case Variant::plain_fd: return "plain fd";
    case Variant::registered_fd: return "registered ring fd";
    case Variant::defer_taskrun: return "DEFER_TASKRUN";
  }
  return "?";
}

Ring make_ring(Variant variant, bool wait_region) {
  RingOptions options;
  options.entries = 16;
  options.register_ring_fd = variant != Variant::plain_fd;
  if (variant == Variant::defer_taskrun) {
    options.single_issuer = true;
    options.defer_taskrun = true;
  }
  options.start_disabled = wait_region;
  auto ring = testing::create_ring(options);
  REQUIRE_MESSAGE(ring.ok(), ring.error().message);
  if (wait_region) {
    auto region = register_wait_region(ring.value(), 1);
    REQUIRE_MESSAGE(region.ok(), region.error().message);
    set_wait_entry((*region)[0], 60s);
    REQUIRE(ring->enable().ok());
  }
  return std::move(ring.value());
}

// A helper thread's failures, checked by the test thread.
struct HelperLog {
  std::atomic<bool> never_blocked{false};
  std::atomic<bool> write_failed{false};
};

// Waits (bounded) until `tid` blocks in io_uring_enter, then signals it.
bool signal_when_blocked(pthread_t thread, pid_t tid) {
  if (!testing::eventually([&] { return blocked_in_enter(tid); }, 20000ms)) return false;
  return ::pthread_kill(thread, SIGUSR1) == 0;
}

void queue_read(Ring& ring, const Pipe& pipe, char* buf, std::uint64_t tag) {
  prep_read(testing::next_sqe(ring), pipe.r, buf, 1, kCurrentPosition).set_user_data(tag);
}

void run_phases(Kind kind, Variant variant) {
  INFO("wait: " << std::string(name(kind)) << ", ring: " << std::string(name(variant)));
  Ring ring = make_ring(variant, registered(kind));
  SigmaskScope mask_scope(uses_sigmask(kind));
  const sigset_t* mask = uses_sigmask(kind) ? &mask_scope.during_wait : nullptr;
  const pthread_t self = ::pthread_self();
  const pid_t tid = this_tid();
  Pipe p0, p1, p2;
  char buf[4] = {};
  Ledger ledger;
  auto submit_unless_the_wait_does = [&](int queued) {
    if (!submits(kind)) REQUIRE(ring.submit() == queued);
  };

  // 1. Completions before the wait: it returns success at once.
  REQUIRE(p0.put('a'));
  queue_read(ring, p0, &buf[0], 10);
  prep_nop(testing::next_sqe(ring)).set_user_data(11);
  ledger.expect(10, 1);
  ledger.expect(11, 0);
  submit_unless_the_wait_does(2);
  CHECK(wait_of(ring, kind, 2, mask) == success_of(kind, 2));
  CHECK(ring.sq_pending() == 0);
  CHECK(ledger.take(ring) == 2);

  // 2. A signal while nothing is ready, the completion after it.
  {
    HelperLog log;
    std::atomic<bool> returned{false};
    const int before = g_signals.load();
    queue_read(ring, p1, &buf[1], 20);
    ledger.expect(20, 1);
    submit_unless_the_wait_does(1);
    std::thread helper([&] {
      if (!signal_when_blocked(self, tid)) {
        log.never_blocked = true;
      } else if (absorbs_signal(kind)) {
        // The wait must go on: end it with the completion once the signal
        // was handled (bounded: a sanitizer may defer the handler).
        testing::eventually([&] { return g_signals.load() > before || returned.load(); }, 3000ms);
      } else {
        // The wait must end with -EINTR; if it does not, end it late with
        // the completion so that the test fails instead of hanging.
        if (testing::eventually([&] { return returned.load(); }, 10000ms)) return;
      }
      if (!p1.put('b')) log.write_failed = true;
    });
    const int ret = wait_of(ring, kind, 1, mask);
    returned = true;
    helper.join();
    CHECK_FALSE(log.never_blocked.load());
    CHECK_FALSE(log.write_failed.load());
    CHECK(ring.sq_pending() == 0);  // submitted either way
    if (absorbs_signal(kind)) {
      CHECK(ret == success_of(kind, 1));
      CHECK(ring.cq_ready() >= 1);
    } else {
      CHECK(ret == -EINTR);
      CHECK(ring.cq_ready() == 0);  // nobody wrote yet
      REQUIRE(p1.put('b'));
      CHECK(wait_of(ring, kind, 1, mask) == 0);  // nothing left to submit
    }
    CHECK(ledger.take(ring) == 1);
    // The handler ran (perhaps late, under a sanitizer).
    CHECK(testing::eventually([&] { return g_signals.load() > before; }, 10000ms));
  }

  // 3. A completion and the signal at once, a second completion after: the
  // wait returns -EINTR or success, and goes on being called until both came.
  {
    HelperLog log;
    const int before = g_signals.load();
    queue_read(ring, p2, &buf[2], 30);
    queue_read(ring, p0, &buf[3], 31);
    ledger.expect(30, 1);
    ledger.expect(31, 1);
    submit_unless_the_wait_does(2);
    std::thread helper([&] {
      if (!testing::eventually([&] { return blocked_in_enter(tid); }, 20000ms)) log.never_blocked = true;
      if (!p2.put('c')) log.write_failed = true;
      ::pthread_kill(self, SIGUSR1);
      testing::eventually([&] { return g_signals.load() > before; }, 3000ms);
      if (!p0.put('d')) log.write_failed = true;
    });
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    int waits = 0;
    while (!(ledger.has(30) && ledger.has(31)) && std::chrono::steady_clock::now() < deadline) {
      const int ret = wait_of(ring, kind, (ledger.has(30) || ledger.has(31)) ? 1 : 2, mask);
      ++waits;
      CHECK((ret == -EINTR || ret >= 0));
      CHECK(ret != 1000);
      ledger.take(ring);
    }
    helper.join();
    CHECK_FALSE(log.never_blocked.load());
    CHECK_FALSE(log.write_failed.load());
    CHECK(waits <= 3);
    CHECK(ring.sq_pending() == 0);
  }

  // 4. A signal handled before the wait starts, with a completion ready: success.
  {
    prep_nop(testing::next_sqe(ring)).set_user_data(40);
    ledger.expect(40, 0);
    submit_unless_the_wait_does(1);
    if (!uses_sigmask(kind)) {
      const int before = g_signals.load();
      ::pthread_kill(self, SIGUSR1);
      CHECK(testing::eventually([&] { return g_signals.load() > before; }, 10000ms));
    }
    CHECK(wait_of(ring, kind, 1, mask) == success_of(kind, 1));
    CHECK(ledger.take(ring) == 1);
  }

  ledger.reap_rest(ring);
  ledger.check_exactly_once();
  CHECK(std::string(buf, 4) == "abcd");
  // Nothing more comes.
  CHECK(ring.wait_cqes(1, WaitOptions{.timeout = 20ms}) == -ETIME);
}

void run(std::initializer_list<Kind> kinds) {
  CountSignals handler;
  for (const Kind kind : kinds) {
    for (const Variant variant : kVariants) run_phases(kind, variant);
  }
}

}  // namespace

TEST_CASE("EINTR: wait_cqes and wait_cqe (untimed, timed, with a sigmask) lose nothing") {
  URING_REQUIRE(testing::missing_feature(abi::IORING_FEAT_EXT_ARG));
  URING_REQUIRE(testing::missing_setup_flags(abi::IORING_SETUP_SINGLE_ISSUER | abi::IORING_SETUP_DEFER_TASKRUN));
  run({Kind::wait_cqes, Kind::wait_cqes_timed, Kind::wait_cqes_sigmask, Kind::wait_cqe, Kind::wait_cqe_timed});
}

TEST_CASE("EINTR: submit_and_wait with WaitOptions (none, a timeout, a sigmask) loses nothing") {
  URING_REQUIRE(testing::missing_feature(abi::IORING_FEAT_EXT_ARG));
  URING_REQUIRE(testing::missing_setup_flags(abi::IORING_SETUP_SINGLE_ISSUER | abi::IORING_SETUP_DEFER_TASKRUN));
  run({Kind::submit_and_wait, Kind::submit_and_wait_timed, Kind::submit_and_wait_sigmask});
}

TEST_CASE("EINTR: waits with a registered wait entry lose nothing") {
  URING_REQUIRE(testing::missing_register_op(abi::IORING_REGISTER_MEM_REGION));
  URING_REQUIRE(testing::missing_setup_flags(abi::IORING_SETUP_SINGLE_ISSUER | abi::IORING_SETUP_DEFER_TASKRUN));
  run({Kind::wait_cqes_registered, Kind::submit_and_wait_registered});
}

// Signals every few hundred microseconds while a writer thread completes
// 64 reads one byte at a time: each kind of wait, called until all came,
// reaps every read exactly once with its byte.
TEST_CASE("EINTR: a storm of signals during waits for many completions loses nothing") {
  URING_REQUIRE(testing::missing_feature(abi::IORING_FEAT_EXT_ARG));
  CountSignals handler;
  for (const Kind kind : {Kind::wait_cqes, Kind::wait_cqes_timed, Kind::wait_cqe, Kind::submit_and_wait,
                          Kind::submit_and_wait_timed}) {
    INFO("wait: " << std::string(name(kind)));
    RingOptions options;
    options.entries = 64;
    options.cq_entries = 128;
    auto created = testing::create_ring(options);
    REQUIRE_MESSAGE(created.ok(), created.error().message);
    Ring& ring = created.value();
    constexpr int kReads = 64;
    Pipe pipe;
    char bufs[kReads] = {};
    Ledger ledger;
    for (int i = 0; i < kReads; ++i) {
      queue_read(ring, pipe, &bufs[i], 100 + i);
      ledger.expect(100 + i, 1);
    }
    if (!submits(kind)) REQUIRE(ring.submit() == kReads);
    const pthread_t self = ::pthread_self();
    std::atomic<bool> stop{false};
    std::atomic<bool> write_failed{false};
    std::thread storm([&] {
      while (!stop.load()) {
        ::pthread_kill(self, SIGUSR1);
        std::this_thread::sleep_for(300us);
      }
    });
    std::thread writer([&] {
      for (int i = 0; i < kReads && !stop.load(); ++i) {
        if (!pipe.put(static_cast<char>('A' + (i % 26)))) write_failed = true;
        std::this_thread::sleep_for(1ms);
      }
    });
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (!ledger.all_seen() && std::chrono::steady_clock::now() < deadline) {
      const int ret = wait_of(ring, kind, 1, nullptr);
      CHECK((ret == -EINTR || ret >= 0));
      CHECK(ret != 1000);
      ledger.take(ring);
    }
    stop = true;
    storm.join();
    writer.join();
    CHECK_FALSE(write_failed.load());
    CHECK(ring.sq_pending() == 0);
    ledger.check_exactly_once();
    // Every byte written was read once, in some order.
    int letters[26] = {};
    for (char c : bufs) {
      REQUIRE((c >= 'A' && c <= 'Z'));
      ++letters[c - 'A'];
    }
    for (int i = 0; i < 26; ++i) CHECK(letters[i] == kReads / 26 + (i < kReads % 26 ? 1 : 0));
    CHECK(ring.wait_cqes(1, WaitOptions{.timeout = 20ms}) == -ETIME);
  }
}
