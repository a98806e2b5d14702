// Waiting for completions: timeouts, min-wait, and signals that must not
// lose anything.
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <set>
#include <thread>

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

}  // namespace

TEST_CASE("wait with a timeout on an empty CQ returns -ETIME after about that long") {
  Ring ring = make_ring();
  if (!ring.has_feature(abi::IORING_FEAT_EXT_ARG)) URING_SKIP("IORING_FEAT_EXT_ARG needs Linux 5.11");
  WaitOptions wait;
  wait.timeout = 50ms;
  const auto start = std::chrono::steady_clock::now();
  CHECK(ring.wait_cqes(1, wait) == -ETIME);
  const auto took = std::chrono::steady_clock::now() - start;
  CHECK(took >= 45ms);
  CHECK(took < 500ms);  // a loose bound: 10x the timeout
}

TEST_CASE("a timed wait returns at once when enough CQEs are already there") {
  Ring ring = make_ring();
  if (!ring.has_feature(abi::IORING_FEAT_EXT_ARG)) URING_SKIP("IORING_FEAT_EXT_ARG needs Linux 5.11");
  for (int i = 0; i < 3; ++i) prep_nop(*ring.get_sqe()).set_user_data(i);
  WaitOptions wait;
  wait.timeout = 5s;
  const auto start = std::chrono::steady_clock::now();
  CHECK(ring.wait_cqes(3, wait) == 0);  // submits the three, then they are there
  CHECK(std::chrono::steady_clock::now() - start < 1s);
  CHECK(ring.cq_ready() == 3);
  ring.advance(3);
}

TEST_CASE("min_wait: with FEAT_MIN_TIMEOUT, a wait for more than is there still returns what came") {
  Ring ring = make_ring();
  if (!ring.has_feature(abi::IORING_FEAT_MIN_TIMEOUT)) {
    URING_SKIP("IORING_FEAT_MIN_TIMEOUT needs Linux 6.12; this kernel is " + kernel_release());
  }
  prep_nop(*ring.get_sqe()).set_user_data(1);
  WaitOptions wait;
  wait.timeout = 200ms;
  wait.min_wait = 1000us;
  // Asks for 4 but only 1 will ever come: after min_wait with one CQE there,
  // the kernel returns instead of sleeping the full timeout.
  const auto start = std::chrono::steady_clock::now();
  const int ret = ring.wait_cqes(4, wait);
  CHECK((ret == 0 || ret == -ETIME));
  CHECK(ring.cq_ready() == 1);
  CHECK(std::chrono::steady_clock::now() - start < 2s);
  ring.advance(1);
}

TEST_CASE("a signal during a wait is absorbed: the wait resumes and nothing posted is lost") {
  Ring ring = make_ring();
  if (!ring.has_feature(abi::IORING_FEAT_EXT_ARG)) URING_SKIP("IORING_FEAT_EXT_ARG needs Linux 5.11");
  struct sigaction action {};
  action.sa_handler = count_signal;  // no SA_RESTART: the wait sees EINTR
  struct sigaction previous {};
  REQUIRE(::sigaction(SIGUSR1, &action, &previous) == 0);

  for (int i = 0; i < 5; ++i) prep_nop(*ring.get_sqe()).set_user_data(10 + i);
  REQUIRE(ring.submit_and_wait(5) == 5);

  g_signals = 0;
  const pthread_t waiter = ::pthread_self();
  std::thread signaller([waiter] {
    for (int i = 0; i < 3; ++i) {
      std::this_thread::sleep_for(30ms);
      ::pthread_kill(waiter, SIGUSR1);
    }
  });
  WaitOptions wait;
  wait.timeout = 300ms;
  const auto start = std::chrono::steady_clock::now();
  const int ret = ring.wait_cqes(6, wait);  // one more than will ever come
  const auto took = std::chrono::steady_clock::now() - start;
  signaller.join();
  ::sigaction(SIGUSR1, &previous, nullptr);

  CHECK(g_signals.load() == 3);
  CHECK(ret == -ETIME);  // not -EINTR: the wait went on after each signal
  CHECK(took >= 250ms);
  std::set<std::uint64_t> tags;
  ring.for_each_cqe([&](const Cqe& cqe) { CHECK(tags.insert(cqe.data()).second); });
  CHECK(tags == std::set<std::uint64_t>{10, 11, 12, 13, 14});
}

TEST_CASE("wait_cqe hands back one CQE, and reports the error otherwise") {
  Ring ring = make_ring();
  prep_nop(*ring.get_sqe()).set_user_data(99);
  int error = 1;
  Cqe* cqe = ring.wait_cqe(&error);
  REQUIRE(cqe != nullptr);
  CHECK(cqe->data() == 99);
  ring.cqe_seen(cqe);
  if (!ring.has_feature(abi::IORING_FEAT_EXT_ARG)) URING_SKIP("IORING_FEAT_EXT_ARG needs Linux 5.11");
  WaitOptions wait;
  wait.timeout = 1ms;
  CHECK(ring.wait_cqe(&error, wait) == nullptr);
  CHECK(error == -ETIME);
}
