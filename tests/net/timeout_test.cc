// TIMEOUT (relative, absolute, count, multishot, clocks), TIMEOUT_REMOVE
// (remove, update), LINK_TIMEOUT (and its update). Durations are kept short;
// only lower bounds on elapsed time are asserted (upper bounds would make a
// loaded machine fail the test), and every wait has its own limit.
#include <time.h>

#include "tests/net/net_support.h"
#include "tests/support/kernel_features.h"

using namespace uring;
using namespace uring::nettest;

namespace {

using Clock = std::chrono::steady_clock;

abi::kernel_timespec duration_ts(std::chrono::nanoseconds d) {
  return abi::kernel_timespec{static_cast<std::int64_t>(d.count() / 1000000000),
                              static_cast<long long>(d.count() % 1000000000)};
}

// Now on `clock`, plus `d`, as an absolute timespec.
abi::kernel_timespec deadline_ts(clockid_t clock, std::chrono::nanoseconds d) {
  timespec now{};
  REQUIRE(::clock_gettime(clock, &now) == 0);
  const long long total = static_cast<long long>(now.tv_sec) * 1000000000 + now.tv_nsec + d.count();
  return abi::kernel_timespec{static_cast<std::int64_t>(total / 1000000000), total % 1000000000};
}

}  // namespace

TEST_CASE("a relative timeout completes with -ETIME after its time") {
  FdLeakCheck leaks;
  Ring ring = make_ring();
  const abi::kernel_timespec ts = duration_ts(20ms);
  const auto start = Clock::now();
  prep_timeout(next_sqe(ring), &ts).set_user_data(1);
  Cqe cqe = reap_one(ring);
  CHECK(cqe.data() == 1);
  CHECK(cqe.result() == -ETIME);
  CHECK(Clock::now() - start >= 20ms);

  // ETIME_SUCCESS: expiry is reported as success, so a linked request runs.
  prep_timeout(next_sqe(ring), &ts, 0, abi::IORING_TIMEOUT_ETIME_SUCCESS).set_user_data(2).link();
  prep_nop(next_sqe(ring)).set_user_data(3);
  auto chain = reap(ring, 2);
  CHECK(only(chain, 2).result() == -ETIME);
  CHECK(only(chain, 3).result() == 0);
  // Without it, expiry fails the link.
  prep_timeout(next_sqe(ring), &ts).set_user_data(4).link();
  prep_nop(next_sqe(ring)).set_user_data(5);
  auto broken = reap(ring, 2);
  CHECK(only(broken, 4).result() == -ETIME);
  CHECK(only(broken, 5).result() == -ECANCELED);
}

TEST_CASE("a completion-count timeout completes with 0 once enough CQEs were posted") {
  FdLeakCheck leaks;
  Ring ring = make_ring();
  const abi::kernel_timespec long_ts = duration_ts(10s);
  prep_timeout(next_sqe(ring), &long_ts, 3).set_user_data(100);
  REQUIRE(ring.submit() == 1);
  prep_nop(next_sqe(ring)).set_user_data(1);
  prep_nop(next_sqe(ring)).set_user_data(2);
  auto two = reap(ring, 2);
  CHECK(only(two, 1).result() == 0);
  CHECK(only(two, 2).result() == 0);
  CHECK(ring.cq_ready() == 0);  // 2 of 3: the timeout has not fired
  prep_nop(next_sqe(ring)).set_user_data(3);
  auto rest = reap(ring, 2);  // the third NOP, and only then the timeout
  REQUIRE(rest.size() == 2);
  CHECK(rest[0].data() == 3);
  CHECK(rest[0].result() == 0);
  CHECK(rest[1].data() == 100);
  CHECK(rest[1].result() == 0);
}

TEST_CASE("timeout remove cancels it, update re-arms it, unknown targets say -ENOENT") {
  FdLeakCheck leaks;
  Ring ring = make_ring();
  const abi::kernel_timespec long_ts = duration_ts(10s);
  prep_timeout(next_sqe(ring), &long_ts).set_user_data(1);
  REQUIRE(ring.submit() == 1);
  prep_timeout_remove(next_sqe(ring), 1).set_user_data(2);
  auto removed = reap(ring, 2);
  CHECK(only(removed, 2).result() == 0);
  CHECK(only(removed, 1).result() == -ECANCELED);

  prep_timeout_remove(next_sqe(ring), 1).set_user_data(3);  // already gone
  CHECK(reap_one(ring).result() == -ENOENT);

  // Update: a 10 s timeout becomes a 10 ms one and fires with -ETIME.
  prep_timeout(next_sqe(ring), &long_ts).set_user_data(4);
  REQUIRE(ring.submit() == 1);
  const abi::kernel_timespec short_ts = duration_ts(10ms);
  const auto start = Clock::now();
  prep_timeout_update(next_sqe(ring), 4, &short_ts).set_user_data(5);
  auto updated = reap(ring, 2, 2000ms);
  CHECK(only(updated, 5).result() == 0);
  CHECK(only(updated, 4).result() == -ETIME);
  CHECK(Clock::now() - start >= 10ms);

  // Update to an absolute time already past: fires at once.
  prep_timeout(next_sqe(ring), &long_ts).set_user_data(6);
  REQUIRE(ring.submit() == 1);
  const abi::kernel_timespec past = deadline_ts(CLOCK_MONOTONIC, -1s);
  prep_timeout_update(next_sqe(ring), 6, &past, abi::IORING_TIMEOUT_ABS).set_user_data(7);
  auto fired = reap(ring, 2, 2000ms);
  CHECK(only(fired, 7).result() == 0);
  CHECK(only(fired, 6).result() == -ETIME);

  prep_timeout_update(next_sqe(ring), 12345, &short_ts).set_user_data(8);
  CHECK(reap_one(ring).result() == -ENOENT);
}

TEST_CASE("absolute timeouts on the monotonic, boot and real-time clocks") {
  FdLeakCheck leaks;
  Ring ring = make_ring();
  struct Case {
    const char* name;
    clockid_t clock;
    std::uint32_t flag;
  };
  for (const Case& c :
       {Case{"monotonic", CLOCK_MONOTONIC, 0}, Case{"boottime", CLOCK_BOOTTIME, abi::IORING_TIMEOUT_BOOTTIME},
        Case{"realtime", CLOCK_REALTIME, abi::IORING_TIMEOUT_REALTIME}}) {
    CAPTURE(std::string(c.name));
    const abi::kernel_timespec deadline = deadline_ts(c.clock, 20ms);
    prep_timeout(next_sqe(ring), &deadline, 0, abi::IORING_TIMEOUT_ABS | c.flag).set_user_data(1);
    Cqe cqe = reap_one(ring, 2000ms);
    CHECK(cqe.result() == -ETIME);
    timespec now{};
    REQUIRE(::clock_gettime(c.clock, &now) == 0);
    // It did not fire before its deadline on its own clock.
    CHECK(
        (now.tv_sec > deadline.tv_sec || (now.tv_sec == deadline.tv_sec && now.tv_nsec >= deadline.tv_nsec)));

    // A relative timeout on that clock works too.
    const abi::kernel_timespec ts = duration_ts(5ms);
    prep_timeout(next_sqe(ring), &ts, 0, c.flag).set_user_data(2);
    CHECK(reap_one(ring, 2000ms).result() == -ETIME);
  }
}

TEST_CASE("a timeout update keeps the timeout's clock and takes no clock flag") {
  // io_timeout_remove_prep: an update takes only IORING_TIMEOUT_ABS besides
  // the update bits; io_timeout_update re-arms the timer on the clock the
  // timeout was armed with.
  FdLeakCheck leaks;
  Ring ring = make_ring();
  const abi::kernel_timespec long_ts = duration_ts(10s);
  // A REALTIME timeout updated to an absolute REALTIME time 30 ms ahead fires
  // then: the deadline is read on the real-time clock. (Read on the monotonic
  // clock, a real-time date some 56 years after boot would never come.)
  prep_timeout(next_sqe(ring), &long_ts, 0, abi::IORING_TIMEOUT_REALTIME).set_user_data(1);
  REQUIRE(ring.submit() == 1);
  const abi::kernel_timespec realtime_deadline = deadline_ts(CLOCK_REALTIME, 30ms);
  prep_timeout_update(next_sqe(ring), 1, &realtime_deadline, abi::IORING_TIMEOUT_ABS).set_user_data(2);
  auto fired = reap(ring, 2, 3000ms);
  CHECK(only(fired, 2).result() == 0);
  CHECK(only(fired, 1).result() == -ETIME);
  timespec now{};
  REQUIRE(::clock_gettime(CLOCK_REALTIME, &now) == 0);
  CHECK((now.tv_sec > realtime_deadline.tv_sec ||
         (now.tv_sec == realtime_deadline.tv_sec && now.tv_nsec >= realtime_deadline.tv_nsec)));

  // A clock flag in the update is refused, and the timeout is left armed.
  prep_timeout(next_sqe(ring), &long_ts).set_user_data(3);
  REQUIRE(ring.submit() == 1);
  const abi::kernel_timespec short_ts = duration_ts(1ms);
  for (const std::uint32_t clock : {abi::IORING_TIMEOUT_BOOTTIME, abi::IORING_TIMEOUT_REALTIME}) {
    prep_timeout_update(next_sqe(ring), 3, &short_ts, clock).set_user_data(4);
    CHECK(reap_one(ring).result() == -EINVAL);
  }
  prep_timeout_remove(next_sqe(ring), 3).set_user_data(5);
  auto removed = reap(ring, 2);
  CHECK(only(removed, 5).result() == 0);
  CHECK(only(removed, 3).result() == -ECANCELED);  // it was still armed
}

TEST_CASE("multishot timeout fires N times, more() on all but the last") {
  // "io_uring: add support for multishot timeouts" (io_uring/timeout.c), for-6.4.
  URING_REQUIRE(testing::missing_since("IORING_TIMEOUT_MULTISHOT", "6.4"));
  FdLeakCheck leaks;
  Ring ring = make_ring();
  const abi::kernel_timespec ts = duration_ts(5ms);
  prep_timeout_multishot(next_sqe(ring), &ts, 3).set_user_data(1);
  Cqe first = reap_one(ring, 2000ms);
  CHECK(first.data() == 1);
  CHECK(first.result() == -ETIME);
  CHECK(first.more());
  auto rest = reap(ring, 2, 2000ms);
  CHECK(rest[0].result() == -ETIME);
  CHECK(rest[0].more());
  CHECK(rest[1].result() == -ETIME);
  CHECK_FALSE(rest[1].more());
  // The third shot ended it: the kernel no longer knows the timeout.
  prep_timeout_remove(next_sqe(ring), 1).set_user_data(5);
  Cqe gone = reap_one(ring);
  CHECK(gone.data() == 5);
  CHECK(gone.result() == -ENOENT);

  // repeats 0: until removed.
  prep_timeout_multishot(next_sqe(ring), &ts, 0).set_user_data(2);
  auto ticks = reap(ring, 4, 2000ms);
  for (const Cqe& tick : ticks) {
    CHECK(tick.data() == 2);
    CHECK(tick.result() == -ETIME);
    CHECK(tick.more());
  }
  prep_timeout_remove(next_sqe(ring), 2).set_user_data(3);
  // Ticks may still land before the removal does; collect until both ends are seen.
  bool removed = false, ended = false;
  for (int i = 0; i < 100 && !(removed && ended); ++i) {
    Cqe cqe = reap_one(ring, 2000ms);
    if (cqe.data() == 3) {
      CHECK(cqe.result() == 0);
      removed = true;
    } else if (!cqe.more()) {
      CHECK(cqe.result() == -ECANCELED);
      ended = true;
    }
  }
  CHECK(removed);
  CHECK(ended);

  // Multishot with an absolute time makes no sense.
  const abi::kernel_timespec deadline = deadline_ts(CLOCK_MONOTONIC, 5ms);
  prep_timeout_multishot(next_sqe(ring), &deadline, 2, abi::IORING_TIMEOUT_ABS).set_user_data(4);
  CHECK(reap_one(ring).result() == -EINVAL);
}

TEST_CASE("a link timeout cancels a blocked recv, and is cancelled when the recv wins") {
  FdLeakCheck leaks;
  Ring ring = make_ring();
  auto [a, b] = unix_pair();
  char buffer[16] = {};

  const abi::kernel_timespec ts = duration_ts(20ms);
  const auto start = Clock::now();
  prep_recv(next_sqe(ring), b.get(), buffer, sizeof buffer, 0).set_user_data(1).link();
  prep_link_timeout(next_sqe(ring), &ts).set_user_data(2);
  auto timed_out = reap(ring, 2, 2000ms);
  CHECK(only(timed_out, 1).result() == -ECANCELED);
  CHECK(only(timed_out, 2).result() == -ETIME);
  CHECK(Clock::now() - start >= 20ms);

  // Data already there: the recv completes and the timeout is cancelled.
  send_all(a.get(), "hello", 5);
  const abi::kernel_timespec long_ts = duration_ts(10s);
  prep_recv(next_sqe(ring), b.get(), buffer, sizeof buffer, 0).set_user_data(3).link();
  prep_link_timeout(next_sqe(ring), &long_ts).set_user_data(4);
  auto won = reap(ring, 2, 2000ms);
  CHECK(only(won, 3).result() == 5);
  CHECK(only(won, 4).result() == -ECANCELED);
  CHECK(std::memcmp(buffer, "hello", 5) == 0);

  // Update a link timeout while its request waits: 10 s becomes 10 ms.
  prep_recv(next_sqe(ring), b.get(), buffer, sizeof buffer, 0).set_user_data(5).link();
  prep_link_timeout(next_sqe(ring), &long_ts).set_user_data(6);
  REQUIRE(ring.submit() == 2);
  const abi::kernel_timespec short_ts = duration_ts(10ms);
  prep_link_timeout_update(next_sqe(ring), 6, &short_ts).set_user_data(7);
  auto updated = reap(ring, 3, 2000ms);
  CHECK(only(updated, 7).result() == 0);
  CHECK(only(updated, 5).result() == -ECANCELED);
  CHECK(only(updated, 6).result() == -ETIME);

  // A link timeout with nothing to guard is refused.
  prep_link_timeout(next_sqe(ring), &ts).set_user_data(8);
  CHECK(reap_one(ring).result() == -EINVAL);
}

TEST_CASE("bad timeouts fail with a clear error") {
  FdLeakCheck leaks;
  Ring ring = make_ring();
  prep_timeout(next_sqe(ring), nullptr).set_user_data(1);
  CHECK(reap_one(ring).result() == -EFAULT);
  const abi::kernel_timespec ts = duration_ts(1ms);
  prep_timeout(next_sqe(ring), &ts, 0, abi::IORING_TIMEOUT_BOOTTIME | abi::IORING_TIMEOUT_REALTIME)
      .set_user_data(2);
  CHECK(reap_one(ring).result() == -EINVAL);  // two clocks
  const abi::kernel_timespec negative{-1, 0};
  prep_timeout(next_sqe(ring), &negative).set_user_data(3);
  CHECK(reap_one(ring).result() == -EINVAL);
  prep_timeout_update(next_sqe(ring), 1, nullptr).set_user_data(4);
  CHECK(reap_one(ring).result() == -EFAULT);
}
