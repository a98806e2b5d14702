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
#include <set>
#include <string>
#include <thread>

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
  CHECK(ring.wait_cqes(3, wait) == 0);  // submits the three, then they are there
  CHECK(std::chrono::steady_clock::now() - start < 20s);
  CHECK(ring.cq_ready() == 3);
  ring.advance(3);
}

// io_uring_getevents_arg.min_wait_usec (io_cqring_wait in io_uring/io_uring.c, 6.18): once min_wait has
// passed, a wait that has at least one CQE returns, even with fewer than it
// asked for; without min_wait it sleeps until the full timeout.
// KNOWN BUG (issue 11): wait_cqes re-enters after the kernel's min_wait return while fewer than `count` CQEs
// are ready, so min_wait never shortens the wait. (A first fix, "return once a CQE is there", was refused in
// review: a short submission, a signal or a completed TIMEOUT also end the kernel's wait early.)
TEST_CASE("min_wait: a wait for 2 with only 1 CQE there returns after min_wait, not after the timeout" *
          doctest::should_fail()) {
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
  CHECK((ret == 0 || ret == -ETIME));
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

// ring.h: "Signals (EINTR) are absorbed: the wait resumes with the time
// left, and nothing already posted is lost." Three signals land while the
// wait is blocked in io_uring_enter; only then does a completion arrive (a
// POLL on an eventfd the signalling thread writes), and the wait must
// return with it.
TEST_CASE("signals during a wait are absorbed: the wait resumes and returns with what arrives after them") {
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
  CHECK(ret == 0);  // not -EINTR, and not -ETIME: the wait went on after each signal
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
