// Waiting for completions: timeouts, min-wait, and signals that must not
// lose anything.
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/enter_recorder.h"
#include "tests/support/kernel_features.h"
#include "tests/support/test_support.h"
#include "uring/uring.h"

using namespace uring;
using namespace std::chrono_literals;

namespace {

Ring make_ring() {
  RingOptions options;
  options.entries = 16;
  auto ring = testing::create_ring(options);
  REQUIRE_MESSAGE(ring.ok(), ring.error().message);
  return std::move(ring.value());
}

std::atomic<int> g_signals{0};
void count_signal(int) { g_signals.fetch_add(1); }

bool blocked_in_enter(pid_t tid) { return testing::blocked_in_syscall(tid, static_cast<long>(sys::kNrIoUringEnter)); }
using testing::eventually;

pid_t this_tid() { return static_cast<pid_t>(::syscall(SYS_gettid)); }

// SIGUSR1 with a counting handler (no SA_RESTART), for the life of the object.
class CountSignals {
 public:
  CountSignals() {
    struct sigaction action {};
    action.sa_handler = count_signal;
    REQUIRE(::sigaction(SIGUSR1, &action, &previous_) == 0);
    g_signals = 0;
  }
  ~CountSignals() { ::sigaction(SIGUSR1, &previous_, nullptr); }
  CountSignals(const CountSignals&) = delete;
  CountSignals& operator=(const CountSignals&) = delete;

 private:
  struct sigaction previous_ {};
};

// A thread that signals `target` up to `count` times, each time only once
// the target is blocked in io_uring_enter and after the previous handler
// ran, at least `gap` apart; it stops early once `stop` is set. Then it
// runs `after`.
class EnterSignaller {
 public:
  EnterSignaller(int count, std::chrono::milliseconds gap, std::function<void()> after = [] {})
      : target_(::pthread_self()), target_tid_(this_tid()) {
    thread_ = std::thread([this, count, gap, after] {
      for (int i = 0; i < count && !stop_.load(); ++i) {
        std::this_thread::sleep_for(gap);
        if (!eventually([&] { return stop_.load() || blocked_in_enter(target_tid_); }, 10000ms)) break;
        if (stop_.load()) break;
        ::pthread_kill(target_, SIGUSR1);
        if (!eventually([&] { return g_signals.load() == i + 1; }, 10000ms)) break;
        sent_.fetch_add(1);
      }
      after();
    });
  }
  ~EnterSignaller() { join(); }
  void join() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  int sent() const { return sent_.load(); }

 private:
  pthread_t target_;
  pid_t target_tid_;
  std::atomic<bool> stop_{false};
  std::atomic<int> sent_{0};
  std::thread thread_;
};

void write_eventfd(int fd) {
  const std::uint64_t one = 1;
  REQUIRE(::write(fd, &one, sizeof one) == static_cast<ssize_t>(sizeof one));
}

// An eventfd and a POLL_ADD on it, submitted: its CQE comes when poked.
struct PolledEventfd {
  explicit PolledEventfd(Ring& ring, std::uint64_t tag) : fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
    REQUIRE(fd >= 0);
    prep_poll_add(testing::next_sqe(ring), fd, POLLIN).set_user_data(tag);
    REQUIRE(ring.submit() == 1);
  }
  ~PolledEventfd() { ::close(fd); }
  PolledEventfd(const PolledEventfd&) = delete;
  PolledEventfd& operator=(const PolledEventfd&) = delete;
  void poke() const { write_eventfd(fd); }
  int fd;
};

std::chrono::milliseconds since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
}

// wait_cqes, and how long it took.
struct TimedWait {
  int ret;
  std::chrono::milliseconds took;
};
TimedWait timed_wait_cqes(Ring& ring, unsigned count, const WaitOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  const int ret = ring.wait_cqes(count, options);
  return {ret, since(start)};
}

// Pokes `poll` from another thread after `delay` (join the thread before checking).
std::thread poke_after(const PolledEventfd& poll, std::chrono::milliseconds delay) {
  return std::thread([&poll, delay] {
    std::this_thread::sleep_for(delay);
    poll.poke();
  });
}

}  // namespace

TEST_CASE("wait with a timeout on an empty CQ returns -ETIME after about that long") {
  URING_REQUIRE(testing::missing_feature(abi::IORING_FEAT_EXT_ARG));
  Ring ring = make_ring();
  WaitOptions wait;
  wait.timeout = 50ms;
  const auto start = std::chrono::steady_clock::now();
  CHECK(ring.wait_cqes(1, wait) == -ETIME);
  const auto took = std::chrono::steady_clock::now() - start;
  CHECK(took >= 45ms);
  CHECK(took < 10s);  // only proves the wait ended: a loaded machine may be slow to wake us
}

TEST_CASE("a timed wait returns at once when enough CQEs are already there") {
  URING_REQUIRE(testing::missing_feature(abi::IORING_FEAT_EXT_ARG));
  Ring ring = make_ring();
  for (int i = 0; i < 3; ++i) prep_nop(*ring.get_sqe()).set_user_data(i);
  WaitOptions wait;
  wait.timeout = 60s;  // a wait that missed the CQEs would sit here for a minute
  const auto start = std::chrono::steady_clock::now();
  CHECK(ring.submit_and_wait(3, wait) == 3);
  CHECK(std::chrono::steady_clock::now() - start < 20s);
  CHECK(ring.cq_ready() == 3);
  ring.advance(3);
}

// io_uring_getevents_arg.min_wait_usec (io_cqring_wait in io_uring/wait.c): once min_wait has
// passed, a wait that has at least one CQE returns, even with fewer than it
// asked for; without min_wait it sleeps until the full timeout.
// Issue 11: wait_cqes used to re-enter after the kernel's min_wait return
// while fewer than `count` CQEs were ready, so it lasted the whole timeout.
TEST_CASE("min_wait: a wait for 2 with only 1 CQE there returns after min_wait, not after the timeout") {
  URING_REQUIRE(testing::missing_feature(abi::IORING_FEAT_EXT_ARG | abi::IORING_FEAT_MIN_TIMEOUT));
  Ring ring = make_ring();
  prep_nop(*ring.get_sqe()).set_user_data(1);
  REQUIRE(ring.submit() == 1);
  WaitOptions wait;
  wait.timeout = 5s;
  wait.min_wait = 50ms;
  const auto start = std::chrono::steady_clock::now();
  const int ret = ring.wait_cqes(2, wait);
  const auto took = std::chrono::steady_clock::now() - start;
  CHECK(ret == 0);
  CHECK(took >= 45ms);  // min_wait was waited out first
  CHECK(took < 2500ms);  // ignoring min_wait lasts the whole 5 s
  REQUIRE(ring.cq_ready() == 1);
  Cqe* cqe = ring.peek_cqe();
  REQUIRE(cqe != nullptr);
  CHECK(cqe->data() == 1);
  ring.cqe_seen(cqe);
}

// The kernel side of the case above, through one raw enter: it returns
// after min_wait with the one CQE (so the long wait above is the library's).
TEST_CASE("min_wait in one io_uring_enter: the kernel returns after min_wait with 1 of 2 CQEs") {
  URING_REQUIRE(testing::missing_feature(abi::IORING_FEAT_EXT_ARG | abi::IORING_FEAT_MIN_TIMEOUT));
  Ring ring = make_ring();
  prep_nop(*ring.get_sqe()).set_user_data(1);
  REQUIRE(ring.submit() == 1);
  abi::kernel_timespec timeout{};
  timeout.tv_sec = 5;
  abi::io_uring_getevents_arg arg{};
  arg.ts = reinterpret_cast<std::uintptr_t>(&timeout);
  arg.min_wait_usec = 50000;
  const auto start = std::chrono::steady_clock::now();
  const int ret = ring.enter(0, 2, abi::IORING_ENTER_GETEVENTS | abi::IORING_ENTER_EXT_ARG, &arg, sizeof arg);
  const auto took = std::chrono::steady_clock::now() - start;
  CHECK(ret == 0);
  CHECK(took >= 45ms);
  CHECK(took < 2500ms);
  CHECK(ring.cq_ready() == 1);
  ring.advance(1);
}

TEST_CASE("without min_wait the same wait lasts the whole timeout") {
  URING_REQUIRE(testing::missing_feature(abi::IORING_FEAT_EXT_ARG));
  Ring ring = make_ring();
  prep_nop(*ring.get_sqe()).set_user_data(1);
  REQUIRE(ring.submit() == 1);
  WaitOptions wait;
  wait.timeout = 300ms;
  const auto start = std::chrono::steady_clock::now();
  CHECK(ring.wait_cqes(2, wait) == -ETIME);
  CHECK(std::chrono::steady_clock::now() - start >= 290ms);
  CHECK(ring.cq_ready() == 1);
  ring.advance(1);
}

// With some CQEs ready, the kernel reports a signal during the wait as
// success (io_cqring_wait returns 0 whenever the CQ is not empty), so a wait
// for more goes on (ring.h). Three signals land while the wait is blocked in
// io_uring_enter; only then does a completion arrive (a POLL on an eventfd
// the signalling thread writes), and the wait must return with it.
TEST_CASE("signals during a wait for more CQEs than are ready do not end it: it returns with what arrives after them") {
  URING_REQUIRE(testing::missing_feature(abi::IORING_FEAT_EXT_ARG));
  URING_REQUIRE(testing::missing_op(abi::IORING_OP_POLL_ADD));
  Ring ring = make_ring();
  struct sigaction action {};
  action.sa_handler = count_signal;  // no SA_RESTART: the wait sees EINTR
  struct sigaction previous {};
  REQUIRE(::sigaction(SIGUSR1, &action, &previous) == 0);
  const int event = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  REQUIRE(event >= 0);

  for (int i = 0; i < 5; ++i) prep_nop(*ring.get_sqe()).set_user_data(10 + i);
  prep_poll_add(*ring.get_sqe(), event, POLLIN).set_user_data(77);
  REQUIRE(ring.submit() == 6);
  REQUIRE(ring.cq_ready() == 5);  // the NOPs; the poll waits for the eventfd

  g_signals = 0;
  const pthread_t waiter = ::pthread_self();
  const pid_t waiter_tid = static_cast<pid_t>(::syscall(SYS_gettid));
  int signals_in_enter = 0;
  bool wrote = false;
  std::thread signaller([&] {
    for (int i = 0; i < 3; ++i) {
      // Each signal goes to a wait that is blocked in the kernel, and the
      // next one only after the handler ran (a pending SIGUSR1 would merge).
      if (!eventually([&] { return blocked_in_enter(waiter_tid); }, 10000ms)) break;
      ::pthread_kill(waiter, SIGUSR1);
      if (!eventually([&] { return g_signals.load() == i + 1; }, 10000ms)) break;
      ++signals_in_enter;
    }
    // The completion comes after the signals, to a wait that is back in the kernel.
    (void)eventually([&] { return blocked_in_enter(waiter_tid); }, 10000ms);
    const std::uint64_t one = 1;
    wrote = ::write(event, &one, sizeof one) == static_cast<ssize_t>(sizeof one);
  });
  WaitOptions wait;
  wait.timeout = 30s;  // a backstop only: the eventfd write ends the wait
  const int ret = ring.wait_cqes(6, wait);
  signaller.join();
  ::sigaction(SIGUSR1, &previous, nullptr);

  CHECK(signals_in_enter == 3);
  CHECK(g_signals.load() == 3);
  CHECK(wrote);
  CHECK(ret == 0);  // not -ETIME: the wait went on after each signal
  std::set<std::uint64_t> tags;
  ring.for_each_cqe([&](const Cqe& cqe) {
    CHECK(tags.insert(cqe.data()).second);
    if (cqe.data() == 77) {
      CHECK((cqe.result() & POLLIN) != 0);
    } else {
      CHECK(cqe.result() == 0);
    }
  });
  CHECK(tags == std::set<std::uint64_t>{10, 11, 12, 13, 14, 77});
  ::close(event);
}

TEST_CASE("wait_cqe hands back one CQE") {
  Ring ring = make_ring();
  prep_nop(*ring.get_sqe()).set_user_data(99);
  REQUIRE(ring.submit() == 1);
  int error = 1;
  Cqe* cqe = ring.wait_cqe(&error);
  REQUIRE(cqe != nullptr);
  CHECK(cqe->data() == 99);
  ring.cqe_seen(cqe);
  CHECK(ring.peek_cqe() == nullptr);
}

TEST_CASE("a timed wait_cqe on an empty CQ reports -ETIME") {
  URING_REQUIRE(testing::missing_feature(abi::IORING_FEAT_EXT_ARG));
  Ring ring = make_ring();
  int error = 1;
  WaitOptions wait;
  wait.timeout = 1ms;
  CHECK(ring.wait_cqe(&error, wait) == nullptr);
  CHECK(error == -ETIME);
}

// Issue 11, item 1: submit_and_wait(n) must wait. It once passed io_uring_enter
// a to_submit counted from a stale SQ head (the head moves on every submit,
// the cache only when the SQ looked full), so after any earlier submit the
// kernel saw to_submit larger than what was there, submitted less, and
// returned at once without waiting.
TEST_CASE("submit_and_wait(1) waits for a CQE even after earlier submits moved the SQ head") {
  Ring ring = make_ring();
  for (int round = 0; round < 3; ++round) {  // each round moves the kernel's head past the cache
    Sqe* nop = ring.get_sqe();
    REQUIRE(nop != nullptr);
    prep_nop(*nop).set_user_data(100 + round);
    REQUIRE(ring.submit() == 1);
    REQUIRE(testing::reap_one(ring).data() == 100u + round);
  }
  static const abi::kernel_timespec delay{.tv_sec = 0, .tv_nsec = 200'000'000};
  Sqe* timeout = ring.get_sqe();
  REQUIRE(timeout != nullptr);
  prep_timeout(*timeout, &delay).set_user_data(7);
  const auto start = std::chrono::steady_clock::now();
  REQUIRE(ring.submit_and_wait(1) == 1);
  CHECK(ring.cq_ready() == 1);  // it waited for the timeout's CQE
  CHECK(std::chrono::steady_clock::now() - start >= 190ms);
  Cqe* cqe = ring.peek_cqe();
  REQUIRE(cqe != nullptr);
  CHECK(cqe->data() == 7u);
  CHECK(cqe->result() == -ETIME);
  ring.cqe_seen(cqe);
}

TEST_CASE("submit_and_wait(1) on a DEFER_TASKRUN ring runs the deferred work and returns with the CQE") {
  URING_REQUIRE(testing::missing_setup_flags(abi::IORING_SETUP_DEFER_TASKRUN | abi::IORING_SETUP_SINGLE_ISSUER));
  RingOptions options;
  options.entries = 16;
  options.single_issuer = true;
  options.defer_taskrun = true;
  auto ring = testing::create_ring(options);
  REQUIRE_MESSAGE(ring.ok(), ring.error().message);
  int pipe_fds[2];
  REQUIRE(::pipe(pipe_fds) == 0);
  char byte = 'x';
  for (int round = 0; round < 3; ++round) {
    Sqe* nop = ring->get_sqe();
    REQUIRE(nop != nullptr);
    prep_nop(*nop).set_user_data(100 + round);
    REQUIRE(ring->submit_and_wait(1) == 1);
    REQUIRE(ring->cq_ready() == 1);
    ring->advance(1);
  }
  // A read that completes only when the writer thread writes, 100 ms later.
  char got = 0;
  Sqe* read = ring->get_sqe();
  REQUIRE(read != nullptr);
  prep_read(*read, File(pipe_fds[0]), &got, 1, 0).set_user_data(9);
  std::atomic<bool> written{false};
  std::thread writer([&] {
    std::this_thread::sleep_for(100ms);
    written = ::write(pipe_fds[1], &byte, 1) == 1;
  });
  const int submitted = ring->submit_and_wait(1);
  const unsigned ready = ring->cq_ready();
  writer.join();  // before any REQUIRE: a joinable thread must not be destroyed
  CHECK(written);
  CHECK(submitted == 1);
  CHECK(ready == 1);
  Cqe* cqe = ring->peek_cqe();
  REQUIRE(cqe != nullptr);
  CHECK(cqe->data() == 9u);
  CHECK(cqe->result() == 1);
  CHECK(got == 'x');
  ring->cqe_seen(cqe);
  ::close(pipe_fds[0]);
  ::close(pipe_fds[1]);
}

// Issue 11, item 8: a caller who passes a sigmask to be interrupted (the
// ppoll idiom) must be. With no CQE ready the kernel returns -EINTR, and
// wait_cqes used to swallow it and wait on.
TEST_CASE("a signal while no CQE is ready ends the wait with -EINTR; the CQE that comes later is not lost") {
  URING_REQUIRE(testing::missing_feature(abi::IORING_FEAT_EXT_ARG));
  URING_REQUIRE(testing::missing_op(abi::IORING_OP_POLL_ADD));
  Ring ring = make_ring();
  CountSignals handler;
  PolledEventfd poll(ring, 5);
  for (const bool timed : {true, false}) {
    INFO("timed: " << timed);
    g_signals = 0;
    WaitOptions wait;
    if (timed) wait.timeout = 20s;  // a wait that absorbed the signal would sit here
    EnterSignaller signaller(1, 0ms, [&] {
      if (!timed) {
        // An untimed wait that absorbed the signal would never return: end it
        // (late) with the CQE, so the test fails instead of hanging.
        std::this_thread::sleep_for(3000ms);
        if (ring.cq_ready() == 0) poll.poke();
      }
    });
    const auto start = std::chrono::steady_clock::now();
    const int ret = ring.wait_cqes(1, wait);
    const auto took = since(start);
    signaller.join();
    CHECK(signaller.sent() == 1);
    CHECK(ret == -EINTR);
    CHECK(took < 2500ms);
    if (ring.cq_ready() != 0) break;  // the fallback poke came: the poll is spent
  }
  if (ring.cq_ready() == 0) poll.poke();
  const Cqe cqe = testing::reap_one(ring);
  CHECK(cqe.data() == 5u);
  CHECK((cqe.result() & POLLIN) != 0);
}

// D2 of the issue-11 review: the kernel ends a min_wait wait without a
// timeout after min_wait with -ETIME when nothing came (io_cqring_min_timer_wakeup
// with KTIME_MAX); wait_cqes used to return that -ETIME.
TEST_CASE("min_wait without a timeout waits for the first CQE however long it takes") {
  URING_REQUIRE(testing::missing_feature(abi::IORING_FEAT_EXT_ARG | abi::IORING_FEAT_MIN_TIMEOUT));
  URING_REQUIRE(testing::missing_op(abi::IORING_OP_POLL_ADD));
  Ring ring = make_ring();
  PolledEventfd poll(ring, 6);
  std::thread poker = poke_after(poll, 300ms);
  WaitOptions wait;
  wait.min_wait = 20ms;
  const auto [ret, took] = timed_wait_cqes(ring, 1, wait);
  poker.join();
  CHECK(ret == 0);
  CHECK(took >= 250ms);
  REQUIRE(ring.cq_ready() == 1);
  CHECK(testing::reap_one(ring).data() == 6u);
}

// D5 of the review: the kernel counts min_wait from the start of each
// io_uring_enter; a wait that had to enter again (here: after signals, which
// the kernel reports as success because a CQE is ready) restarted the whole
// min_wait each time.
TEST_CASE("min_wait counts from the call: enters again after signals do not stretch it") {
  URING_REQUIRE(testing::missing_feature(abi::IORING_FEAT_EXT_ARG | abi::IORING_FEAT_MIN_TIMEOUT));
  Ring ring = make_ring();
  prep_nop(*ring.get_sqe()).set_user_data(1);
  REQUIRE(ring.submit() == 1);
  CountSignals handler;
  EnterSignaller signaller(10, 100ms);  // ~1 s of signals if the wait lasts that long
  WaitOptions wait;
  wait.timeout = 10s;
  wait.min_wait = 300ms;
  const auto [ret, took] = timed_wait_cqes(ring, 2, wait);
  signaller.join();
  CHECK(ret == 0);
  CHECK(signaller.sent() >= 1);  // the wait was entered again at least once
  CHECK(took >= 290ms);
  CHECK(took < 900ms);  // restarting min_wait after each signal lasts past 1.3 s
  CHECK(ring.cq_ready() == 1);
  ring.advance(1);
}

// A TIMEOUT request's completion wakes every waiter early (cq_timeouts in
// io_should_wake): a wait for more must go on after it.
TEST_CASE("a wait for 2 goes on after a TIMEOUT request's CQE arrives as the first") {
  URING_REQUIRE(testing::missing_feature(abi::IORING_FEAT_EXT_ARG));
  URING_REQUIRE(testing::missing_op(abi::IORING_OP_POLL_ADD));
  Ring ring = make_ring();
  static const abi::kernel_timespec delay{.tv_sec = 0, .tv_nsec = 50'000'000};
  prep_timeout(*ring.get_sqe(), &delay).set_user_data(1);
  REQUIRE(ring.submit() == 1);
  PolledEventfd poll(ring, 2);
  std::thread poker = poke_after(poll, 300ms);
  WaitOptions wait;
  wait.timeout = 10s;
  const auto [ret, took] = timed_wait_cqes(ring, 2, wait);
  poker.join();
  CHECK(ret == 0);
  CHECK(took >= 250ms);
  std::set<std::uint64_t> tags;
  ring.for_each_cqe([&](const Cqe& cqe) { tags.insert(cqe.data()); });
  CHECK(tags == std::set<std::uint64_t>{1, 2});
}

// Issue 11, item 9: the kernel caps a wait at cq_entries, so a larger count
// could never be met; wait_cqes used to loop on it forever.
TEST_CASE("waiting for more CQEs than the CQ holds is refused with -EINVAL at once") {
  URING_REQUIRE(testing::missing_feature(abi::IORING_FEAT_EXT_ARG));
  Ring ring = make_ring();
  for (int i = 0; i < 4; ++i) prep_nop(*ring.get_sqe()).set_user_data(i);
  REQUIRE(ring.submit() == 4);
  WaitOptions wait;
  wait.timeout = 2s;  // the old loop ran to this
  const auto start = std::chrono::steady_clock::now();
  CHECK(ring.wait_cqes(ring.cq_entries() + 1, wait) == -EINVAL);
  CHECK(since(start) < 1000ms);
  CHECK(ring.wait_cqes(ring.cq_entries() + 1) == -EINVAL);  // untimed: it used to spin for good
  CHECK(ring.cq_ready() == 4);
  ring.advance(4);
}

// Issue 11, item 3: waiting never publishes SQEs, so a reaper thread cannot
// submit an SQE the submitter has taken but not yet filled.
TEST_CASE("wait_cqes never submits: an SQE taken before the wait stays queued") {
  URING_REQUIRE(testing::missing_feature(abi::IORING_FEAT_EXT_ARG));
  Ring ring = make_ring();
  Sqe* sqe = ring.get_sqe();
  REQUIRE(sqe != nullptr);
  prep_nop(*sqe).set_user_data(41);
  WaitOptions wait;
  wait.timeout = 100ms;
  CHECK(ring.wait_cqes(1, wait) == -ETIME);
  CHECK(ring.sq_pending() == 1);
  CHECK(ring.cq_ready() == 0);
  CHECK(ring.submit() == 1);
  CHECK(testing::reap_one(ring).data() == 41u);
}

TEST_CASE("a reaper thread waiting never submits the SQE the submitter is still filling") {
  URING_REQUIRE(testing::missing_feature(abi::IORING_FEAT_EXT_ARG));
  Ring ring = make_ring();
  // The submitter takes an SQE and has written only garbage into it so far.
  Sqe* sqe = ring.get_sqe();
  REQUIRE(sqe != nullptr);
  std::memset(static_cast<void*>(sqe), 0xff, sizeof *sqe);  // opcode 255, user_data ~0: -EINVAL if submitted
  int waited = 1;
  std::thread reaper([&] {
    WaitOptions wait;
    wait.timeout = 100ms;
    waited = ring.wait_cqes(1, wait);
  });
  reaper.join();
  CHECK(waited == -ETIME);
  CHECK(ring.cq_ready() == 0);  // nothing was submitted under the submitter
  CHECK(ring.sq_pending() == 1);
  prep_nop(*sqe).set_user_data(42);  // now it is filled, and submitted by its owner
  CHECK(ring.submit() == 1);
  const Cqe cqe = testing::reap_one(ring);
  CHECK(cqe.data() == 42u);
  CHECK(cqe.result() == 0);
}

// One submitter, one reaper, at full speed, under TSan in CI: every request
// completes exactly once, and the two threads share no unsynchronised state.
TEST_CASE("one submitter thread and one reaper thread: every CQE exactly once") {
  URING_REQUIRE(testing::missing_feature(abi::IORING_FEAT_EXT_ARG));
  RingOptions options;
  options.entries = 32;
  options.cq_entries = 4096;
  auto created = testing::create_ring(options);
  REQUIRE_MESSAGE(created.ok(), created.error().message);
  Ring& ring = *created;
  constexpr unsigned kTotal = 20000;
  std::atomic<unsigned> reaped{0};
  std::vector<unsigned char> seen(kTotal, 0);
  std::atomic<bool> reaper_failed{false};
  int wait_error = 0;
  std::uint64_t bad_tag = 0;
  int bad_result = 0;
  std::thread reaper([&] {
    WaitOptions wait;
    wait.timeout = 10s;
    while (reaped.load() < kTotal) {
      const int ret = ring.wait_cqes(1, wait);
      if (ret < 0) {
        wait_error = ret;
        reaper_failed = true;
        return;
      }
      reaped += ring.for_each_cqe([&](const Cqe& cqe) {
        if (cqe.data() >= kTotal || cqe.result() != 0 || seen[cqe.data()]++ != 0) {
          bad_tag = cqe.data();
          bad_result = cqe.result();
          reaper_failed = true;
        }
      });
    }
  });
  unsigned sent = 0;
  int submit_errors = 0;
  while (sent < kTotal) {
    if (sent % 7 == 6 && ring.submit() < 0) ++submit_errors;  // batches of varying size
    Sqe* sqe = ring.get_sqe();
    if (sqe == nullptr) {
      if (ring.submit() < 0) ++submit_errors;
      continue;
    }
    prep_nop(*sqe).set_user_data(sent++);
    // Keep the CQ from overflowing: at most half of it in flight.
    while (sent - reaped.load() > 2048 && !reaper_failed.load()) std::this_thread::yield();
  }
  while (ring.sq_pending() > 0 && ring.submit() >= 0) {
  }
  reaper.join();
  INFO("wait error " << wait_error << ", bad CQE " << bad_tag << " result " << bad_result);
  CHECK_FALSE(reaper_failed.load());
  CHECK(submit_errors == 0);
  CHECK(reaped.load() == kTotal);
  unsigned once = 0;
  for (unsigned char count : seen) once += count == 1;
  CHECK(once == kTotal);
}

TEST_CASE("wait_cqes(0) makes no system call and submits nothing") {
  URING_REQUIRE(testing::missing_enter_recorder());
  Ring ring = make_ring();
  prep_nop(*ring.get_sqe()).set_user_data(1);
  int ret = 1;
  const auto calls = testing::record_enters([&] { ret = ring.wait_cqes(0); });
  REQUIRE(calls.has_value());
  CHECK(calls->empty());
  CHECK(ret == 0);
  CHECK(ring.sq_pending() == 1);
  CHECK(ring.submit() == 1);
  CHECK(testing::reap_one(ring).data() == 1u);
}

// The "done when" of issue 11, item 1, as a test: one io_uring_enter per
// batch, carrying exactly the batch as to_submit and as min_complete.
TEST_CASE("submit_and_wait(batch) makes one io_uring_enter with to_submit == min_complete == batch") {
  URING_REQUIRE(testing::missing_enter_recorder());
  Ring ring = make_ring();
  for (unsigned batch : {1u, 8u, 16u}) {
    INFO("batch " << batch);
    for (unsigned i = 0; i < batch; ++i) prep_nop(*ring.get_sqe()).set_user_data(i);
    int ret = -1;
    const auto calls = testing::record_enters([&] { ret = ring.submit_and_wait(batch); });
    REQUIRE(calls.has_value());
    REQUIRE(calls->size() == 1);
    CHECK(calls->front().to_submit == batch);
    CHECK(calls->front().min_complete == batch);
    CHECK((calls->front().flags & abi::IORING_ENTER_GETEVENTS) != 0);
    CHECK(ret == static_cast<int>(batch));
    CHECK(ring.cq_ready() == batch);
    ring.advance(batch);
  }
}

// Issue 11, item 9: wait_cqe's fast path returned the CQE without setting *error.
TEST_CASE("wait_cqe sets *error to 0 whenever it returns a CQE") {
  Ring ring = make_ring();
  prep_nop(*ring.get_sqe()).set_user_data(7);
  REQUIRE(ring.submit() == 1);
  REQUIRE(testing::eventually([&] { return ring.cq_ready() == 1; }, 5000ms));
  int error = 12345;
  Cqe* cqe = ring.wait_cqe(&error);  // already there: the fast path
  REQUIRE(cqe != nullptr);
  CHECK(error == 0);
  CHECK(cqe->data() == 7u);
  ring.cqe_seen(cqe);
}

// Issue 11, item 9: for_each_cqe stored its snapshot of the tail as the new
// head even when the callback had reaped past it, handing a CQE back twice.
TEST_CASE("for_each_cqe never moves the CQ head back over CQEs the callback reaped itself") {
  Ring ring = make_ring();
  prep_nop(*ring.get_sqe()).set_user_data(1);
  REQUIRE(ring.submit_and_wait(1) == 1);
  unsigned calls = 0;
  ring.for_each_cqe([&](const Cqe&) {
    ++calls;
    // A callback that (wrongly) reaps: one more CQE arrives, and it hands
    // both back itself.
    prep_nop(*ring.get_sqe()).set_user_data(2);
    REQUIRE(ring.submit_and_wait(1) == 1);
    REQUIRE(ring.cq_ready() == 2);
    ring.advance(2);
  });
  CHECK(calls == 1);
  CHECK(ring.cq_ready() == 0);  // the old final store moved the head back: CQE 2 again
  CHECK(ring.peek_cqe() == nullptr);
}

// Review of issue 11: a zero (or already expired) timeout must still enter
// once: on a DEFER_TASKRUN ring completions are posted only inside
// io_uring_enter, so a wait that returned -ETIME up front never saw them.
TEST_CASE("a zero timeout still enters once: a DEFER_TASKRUN completion waiting in the kernel is posted") {
  URING_REQUIRE(testing::missing_feature(abi::IORING_FEAT_EXT_ARG));
  URING_REQUIRE(testing::missing_setup_flags(abi::IORING_SETUP_DEFER_TASKRUN | abi::IORING_SETUP_SINGLE_ISSUER));
  URING_REQUIRE(testing::missing_op(abi::IORING_OP_POLL_ADD));
  auto created = testing::create_ring(RingOptions{.entries = 8, .single_issuer = true, .defer_taskrun = true});
  REQUIRE_MESSAGE(created.ok(), created.error().message);
  Ring& ring = *created;
  PolledEventfd poll(ring, 3);
  poll.poke();  // the completion is queued as task work of this thread
  CHECK(ring.cq_ready() == 0);
  WaitOptions now;
  now.timeout = 0ns;
  CHECK(ring.wait_cqes(1, now) == 0);
  REQUIRE(ring.cq_ready() == 1);
  CHECK(testing::reap_one(ring).data() == 3u);
  CHECK(ring.wait_cqes(1, now) == -ETIME);  // and with nothing there, -ETIME at once
}

// Review of issue 11: an io_uring_enter that submits reports the count,
// never its wait's -EINTR; with a sigmask (the ppoll idiom) the caller must
// still hear of the signal.
TEST_CASE("submit_and_wait with a sigmask: a signal during the wait returns -EINTR, the SQE submitted") {
  URING_REQUIRE(testing::missing_feature(abi::IORING_FEAT_EXT_ARG));
  URING_REQUIRE(testing::missing_op(abi::IORING_OP_POLL_ADD));
  Ring ring = make_ring();
  CountSignals handler;
  // Block SIGUSR1 in this thread; the wait's mask lets it in (ppoll idiom).
  sigset_t blocked, previous, during_wait;
  sigemptyset(&blocked);
  sigaddset(&blocked, SIGUSR1);
  REQUIRE(::pthread_sigmask(SIG_BLOCK, &blocked, &previous) == 0);
  REQUIRE(::pthread_sigmask(SIG_BLOCK, nullptr, &during_wait) == 0);
  sigdelset(&during_wait, SIGUSR1);
  const int event = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  REQUIRE(event >= 0);
  prep_poll_add(*ring.get_sqe(), event, POLLIN).set_user_data(8);
  int ret = 0;
  std::chrono::milliseconds took{};
  {
    EnterSignaller signaller(1, 50ms);
    WaitOptions wait;
    wait.timeout = 5s;
    wait.sigmask = &during_wait;
    const auto start = std::chrono::steady_clock::now();
    ret = ring.submit_and_wait(1, wait);
    took = since(start);
    signaller.join();
    CHECK(signaller.sent() == 1);
  }
  ::pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  CHECK(ret == -EINTR);
  CHECK(took < 2500ms);
  CHECK(ring.sq_pending() == 0);  // the poll was submitted all the same
  write_eventfd(event);
  CHECK(testing::reap_one(ring).data() == 8u);
  ::close(event);
}

TEST_CASE("a min_wait beyond the kernel's 32-bit microseconds is refused, not truncated") {
  URING_REQUIRE(testing::missing_feature(abi::IORING_FEAT_EXT_ARG | abi::IORING_FEAT_MIN_TIMEOUT));
  Ring ring = make_ring();
  WaitOptions wait;
  wait.timeout = 1ms;
  wait.min_wait = std::chrono::microseconds(std::int64_t{UINT32_MAX} + 1);
  CHECK(ring.wait_cqes(1, wait) == -EINVAL);
  wait.min_wait = std::chrono::microseconds(-1);
  CHECK(ring.wait_cqes(1, wait) == -EINVAL);
}

// WaitOptions::spin is bounded by the timeout, and on a ring whose
// completions need an enter (task work, no SQPOLL) it still waits in the
// kernel once the spin is over: a POLL completed by another thread's write.
TEST_CASE("WaitOptions::spin: ends at the timeout, and falls back to the kernel's wait") {
  Ring ring = make_ring();
  WaitOptions spin_long;
  spin_long.spin = std::chrono::seconds(30);
  spin_long.timeout = std::chrono::milliseconds(50);
  const auto before = std::chrono::steady_clock::now();
  CHECK(ring.wait_cqes(1, spin_long) == -ETIME);
  CHECK(std::chrono::steady_clock::now() - before < std::chrono::seconds(10));
  spin_long.spin = std::chrono::nanoseconds::max();  // no overflow of the clock arithmetic (UBSan)
  CHECK(ring.wait_cqes(1, spin_long) == -ETIME);
  CHECK(std::chrono::steady_clock::now() - before < std::chrono::seconds(20));

  const int efd = ::eventfd(0, EFD_CLOEXEC);
  REQUIRE(efd >= 0);
  prep_poll_add(*ring.get_sqe(), efd, POLLIN).set_user_data(7);
  REQUIRE(ring.submit() == 1);
  std::thread writer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    const std::uint64_t one = 1;
    (void)::write(efd, &one, sizeof one);
  });
  WaitOptions spin_short;
  spin_short.spin = std::chrono::milliseconds(1);
  spin_short.timeout = std::chrono::seconds(10);
  CHECK(ring.wait_cqes(1, spin_short) == 0);
  writer.join();
  Cqe* cqe = ring.peek_cqe();
  REQUIRE(cqe != nullptr);
  CHECK(cqe->data() == 7u);
  CHECK((cqe->result() & POLLIN) != 0);
  ring.cqe_seen(cqe);
  ::close(efd);
}

// Review of b18da83, 2: on DEFER_TASKRUN rings every completion is posted by
// task work that only an enter runs, so a spin can never succeed: it is not
// made (a spin that ran its length here would take 2 s).
TEST_CASE("WaitOptions::spin on a DEFER_TASKRUN ring goes to the kernel's wait at once") {
  auto created = testing::create_ring(RingOptions{.entries = 8, .single_issuer = true, .defer_taskrun = true});
  REQUIRE_MESSAGE(created.ok(), created.error().message);
  Ring& ring = *created;
  const int efd = ::eventfd(0, EFD_CLOEXEC);
  REQUIRE(efd >= 0);
  prep_poll_add(*ring.get_sqe(), efd, POLLIN).set_user_data(8);
  REQUIRE(ring.submit() == 1);
  std::thread writer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    const std::uint64_t one = 1;
    (void)::write(efd, &one, sizeof one);
  });
  WaitOptions spin;
  spin.spin = std::chrono::seconds(2);
  spin.timeout = std::chrono::seconds(10);
  const auto before = std::chrono::steady_clock::now();
  CHECK(ring.wait_cqes(1, spin) == 0);
  const auto took = std::chrono::steady_clock::now() - before;
  writer.join();
  CHECK(took < std::chrono::milliseconds(1500));
  REQUIRE(ring.cq_ready() == 1);
  CHECK(ring.peek_cqe()->data() == 8u);
  ring.advance(1);
  ::close(efd);
}

// Review of b18da83, 1: once min_wait is over and a CQE is ready, a wait
// returns; it used to wait for the full count (to the timeout) when the
// first enter came after min_wait - after a spin, or after the separate
// submit of a wait with a sigmask (that half is older than spin).
TEST_CASE("min_wait is over and a CQE is ready: the wait returns, after a spin or a sigmask's separate submit") {
  URING_REQUIRE(testing::missing_feature(abi::IORING_FEAT_MIN_TIMEOUT));
  Ring ring = make_ring();
  prep_nop(*ring.get_sqe()).set_user_data(1);
  REQUIRE(ring.submit() == 1);
  WaitOptions options;
  options.min_wait = std::chrono::milliseconds(1);
  options.timeout = std::chrono::seconds(5);
  options.spin = std::chrono::seconds(2);  // the spin ends with min_wait (a CQE is ready), not after 2 s
  auto before = std::chrono::steady_clock::now();
  CHECK(ring.wait_cqes(2, options) == 0);  // 1 of 2 ready, min_wait over
  CHECK(std::chrono::steady_clock::now() - before < std::chrono::milliseconds(1000));
  CHECK(ring.cq_ready() == 1);
  ring.advance(1);

  sigset_t none;
  sigemptyset(&none);
  WaitOptions masked;
  masked.min_wait = std::chrono::microseconds(1);
  masked.sigmask = &none;
  masked.timeout = std::chrono::seconds(5);
  for (unsigned i = 0; i < 15; ++i) prep_nop(*ring.get_sqe()).set_user_data(10 + i);
  before = std::chrono::steady_clock::now();
  CHECK(ring.submit_and_wait(16, masked) == 15);  // 15 ready of 16, min_wait long over
  CHECK(std::chrono::steady_clock::now() - before < std::chrono::seconds(2));
  CHECK(ring.cq_ready() == 15);
  ring.advance(15);
}

// Review of b18da83, 6: without SQPOLL, submit_and_wait(n, {.spin}) used to
// submit and wait in one enter (no spin at all). It submits in one enter
// that does not wait, then spins: a NOP completes inside that enter, so it
// is the only system call.
TEST_CASE("submit_and_wait with spin without SQPOLL: one enter that submits and does not wait, then the spin") {
  URING_REQUIRE(testing::missing_enter_recorder());
  Ring ring = make_ring();
  prep_nop(*ring.get_sqe()).set_user_data(3);
  WaitOptions spin;
  spin.spin = std::chrono::seconds(2);
  int ret = -1;
  const auto calls = testing::record_enters([&] { ret = ring.submit_and_wait(1, spin); });
  REQUIRE(calls.has_value());
  REQUIRE(calls->size() == 1);
  CHECK(calls->front().to_submit == 1);
  CHECK(calls->front().min_complete == 0);
  CHECK(ret == 1);
  CHECK(ring.cq_ready() == 1);
  ring.advance(1);
}

// Review of 466a0ef: the timeout is the limit even when min_wait is longer
// (the kernel runs the min_wait timer first and looks at the timeout only
// after it): -ETIME after the timeout, not after min_wait, with or without a
// CQE ready.
TEST_CASE("min_wait longer than the timeout: -ETIME at the timeout") {
  URING_REQUIRE(testing::missing_feature(abi::IORING_FEAT_MIN_TIMEOUT));
  Ring ring = make_ring();
  WaitOptions options;
  options.timeout = std::chrono::milliseconds(50);
  options.min_wait = std::chrono::seconds(3);
  auto before = std::chrono::steady_clock::now();
  CHECK(ring.wait_cqes(2, options) == -ETIME);  // none ready
  CHECK(std::chrono::steady_clock::now() - before < std::chrono::milliseconds(1500));
  prep_nop(*ring.get_sqe()).set_user_data(1);
  REQUIRE(ring.submit() == 1);
  before = std::chrono::steady_clock::now();
  CHECK(ring.wait_cqes(2, options) == -ETIME);  // one ready of two
  CHECK(std::chrono::steady_clock::now() - before < std::chrono::milliseconds(1500));
  CHECK(ring.cq_ready() == 1);
  ring.advance(1);
}
