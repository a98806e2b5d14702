// IORING_REGISTER_MEM_REGION and registered wait arguments
// (IORING_ENTER_EXT_ARG_REG): the kernel reads the timeout of a wait from
// an entry of the registered region, in place, at every wait.
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <thread>

#include "tests/register/register_support.h"
#include "uring/register.h"

using namespace uring;
using namespace uring::testing;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

namespace {

struct Setup {
  Via via;
  bool kernel_memory;
};
constexpr Setup kSetups[] = {{Via::fd, false}, {Via::fd, true}, {Via::registered_index, false}};

RingOptions disabled() {
  RingOptions options;
  options.start_disabled = true;
  return options;
}

}  // namespace

TEST_CASE("wait region: a wait takes its timeout from the registered entry") {
  URING_REQUIRE(missing_register_op(abi::IORING_REGISTER_MEM_REGION));
  const MappingSnapshot maps_before;
  for (const Setup& setup : kSetups) {
    INFO("via ", std::string(via_name(setup.via)), ", kernel memory ", setup.kernel_memory);
    Ring ring = make_ring(setup.via, disabled());
    auto region = register_wait_region(ring, 4, setup.kernel_memory);
    REQUIRE_MESSAGE(region.ok(), region.error().message);
    CHECK(region->size() == 4096 / sizeof(abi::io_uring_reg_wait));  // rounded up to a page
    CHECK(ring.wait_region().data() == region->data());
    std::span<abi::io_uring_reg_wait> entries = *region;
    set_wait_entry(entries[0], milliseconds(3));
    set_wait_entry(entries[1], std::chrono::nanoseconds(-1));  // no timeout
    REQUIRE(ring.enable().ok());

    // Nothing is in flight: only the entry's timeout can end these waits.
    // A kernel never ends a timeout early, so only lower bounds are exact;
    // the upper ones catch a wait that ignored the entry and are loose.
    auto start = Clock::now();
    CHECK(ring.wait_cqes(1, WaitOptions{.registered_wait = 0}) == -ETIME);
    CHECK(Clock::now() - start >= milliseconds(2));
    CHECK(Clock::now() - start < std::chrono::seconds(20));

    // Rewritten in place, no new registration: the kernel reads the new
    // value. Longer than before, so a kernel that kept the old 3 ms would
    // end the wait far too soon.
    set_wait_entry(entries[0], milliseconds(400));
    start = Clock::now();
    CHECK(ring.wait_cqes(1, WaitOptions{.registered_wait = 0}) == -ETIME);
    CHECK(Clock::now() - start >= milliseconds(380));
    CHECK(Clock::now() - start < std::chrono::seconds(20));

    // Entry 1 has no timeout: the wait ends when the CQE is there.
    prep_nop(*ring.get_sqe()).set_user_data(8);
    CHECK(ring.submit_and_wait(1, WaitOptions{.registered_wait = 1}) == 1);  // submits the NOP too
    CHECK(reap_one(ring).user_data == 8);

    // An index past the region, or a region entry mixed with per-call
    // arguments, is refused before the system call; the kernel itself
    // refuses an offset past the region.
    CHECK(ring.wait_cqes(1, WaitOptions{.registered_wait = static_cast<unsigned>(region->size())}) == -EINVAL);
    CHECK(ring.wait_cqes(1, WaitOptions{.timeout = milliseconds(1), .registered_wait = 0}) == -EINVAL);
    CHECK(ring.enter(0, 1,
                     abi::IORING_ENTER_GETEVENTS | abi::IORING_ENTER_EXT_ARG | abi::IORING_ENTER_EXT_ARG_REG,
                     reinterpret_cast<const void*>(std::uintptr_t{8192}), sizeof(abi::io_uring_reg_wait)) == -EFAULT);

    auto second = ring.register_mem_region(MemRegionOptions{.bytes = 4096});
    REQUIRE_FALSE(second.ok());
    CHECK(second.code() == EBUSY);
  }
  CHECK(MappingSnapshot() == maps_before);
}

TEST_CASE("wait region: only a ring that is still disabled takes one") {
  URING_REQUIRE(missing_register_op(abi::IORING_REGISTER_MEM_REGION));
  Ring ring = make_ring(Via::fd);
  auto region = register_wait_region(ring, 1);
  REQUIRE_FALSE(region.ok());
  CHECK(region.code() == EINVAL);
  CHECK(region.error().message.find("start_disabled") != std::string::npos);
  CHECK(ring.wait_region().empty());
  CHECK(ring.wait_cqes(1, WaitOptions{.registered_wait = 0}) == -EINVAL);
}

TEST_CASE("mem region: plain regions on an enabled ring; kernel memory needs a ring fd") {
  URING_REQUIRE(missing_register_op(abi::IORING_REGISTER_MEM_REGION));
  const MappingSnapshot maps_before;
  {
    Ring ring = make_ring(Via::fd);
    auto region = ring.register_mem_region(MemRegionOptions{.bytes = 5000, .kernel_memory = true});
    REQUIRE_MESSAGE(region.ok(), region.error().message);
    CHECK(region->size() == 8192);
    (*region)[8191] = 0x5a;  // mapped and writable to its end
    CHECK(ring.wait_region().empty());
    nop_round_trip(ring, 3);

    Ring fd_less = make_ring(Via::registered_index);
    auto refused = fd_less.register_mem_region(MemRegionOptions{.bytes = 4096, .kernel_memory = true});
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().message.find("registered_fd_only") != std::string::npos);
    auto own_memory = fd_less.register_mem_region(MemRegionOptions{.bytes = 4096});
    REQUIRE_MESSAGE(own_memory.ok(), own_memory.error().message);
    CHECK(own_memory->size() == 4096);
  }
  CHECK(MappingSnapshot() == maps_before);  // every region went with its ring
}

// Issue 11, item 8: a wait that has to enter again (here: signals, which the
// kernel reports as success because one CQE is ready) once re-used the
// entry as it was, restarting its whole timeout each time: with periodic
// signals it never timed out. Re-entries now pass the entry's values with
// the time left.
TEST_CASE("wait region: signals during a registered wait do not restart the entry's timeout") {
  URING_REQUIRE(missing_register_op(abi::IORING_REGISTER_MEM_REGION));
  Ring ring = make_ring(Via::fd, disabled());
  auto region = register_wait_region(ring, 1);
  REQUIRE_MESSAGE(region.ok(), region.error().message);
  set_wait_entry((*region)[0], milliseconds(300));
  REQUIRE(ring.enable().ok());
  prep_nop(*ring.get_sqe()).set_user_data(1);
  REQUIRE(ring.submit() == 1);  // one of the two CQEs waited for

  struct sigaction action {};
  action.sa_handler = [](int) {};
  struct sigaction previous {};
  REQUIRE(::sigaction(SIGUSR1, &action, &previous) == 0);
  const pthread_t waiter = ::pthread_self();
  const pid_t waiter_tid = static_cast<pid_t>(::syscall(SYS_gettid));
  std::atomic<bool> done{false};
  std::atomic<int> sent{0};
  std::thread signaller([&] {
    // Every 100 ms for up to 1.5 s, while the wait is in the kernel.
    for (int i = 0; i < 15 && !done.load(); ++i) {
      std::this_thread::sleep_for(milliseconds(100));
      if (!done.load() && blocked_in_syscall(waiter_tid, static_cast<long>(sys::kNrIoUringEnter))) {
        ::pthread_kill(waiter, SIGUSR1);
        sent.fetch_add(1);
      }
    }
  });
  const auto start = Clock::now();
  const int ret = ring.wait_cqes(2, WaitOptions{.registered_wait = 0});
  const auto took = Clock::now() - start;
  done = true;
  signaller.join();
  ::sigaction(SIGUSR1, &previous, nullptr);
  CHECK(sent.load() >= 1);
  CHECK(ret == -ETIME);
  CHECK(took >= milliseconds(290));
  CHECK(took < milliseconds(1000));  // restarting 300 ms after each signal lasts past 1.5 s
  CHECK(reap_one(ring).user_data == 1);
}

// Review of issue 11: an entry whose timeout is "forever" (tv_sec near
// INT64_MAX) overflowed the nanosecond count (UB) and returned -ETIME at once.
TEST_CASE("wait region: an entry with a practically infinite timeout waits for the CQE") {
  URING_REQUIRE(missing_register_op(abi::IORING_REGISTER_MEM_REGION));
  URING_REQUIRE(missing_op(abi::IORING_OP_POLL_ADD));
  Ring ring = make_ring(Via::fd, disabled());
  auto region = register_wait_region(ring, 1);
  REQUIRE_MESSAGE(region.ok(), region.error().message);
  abi::io_uring_reg_wait& entry = (*region)[0];
  set_wait_entry(entry, milliseconds(1));
  entry.ts.tv_sec = INT64_MAX;
  entry.ts.tv_nsec = 0;
  REQUIRE(ring.enable().ok());
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  prep_poll_add(*ring.get_sqe(), fds[0], POLLIN).set_user_data(5);
  REQUIRE(ring.submit() == 1);
  std::thread writer([&] {
    std::this_thread::sleep_for(milliseconds(200));
    (void)!::write(fds[1], "x", 1);
  });
  const auto start = Clock::now();
  const int ret = ring.wait_cqes(1, WaitOptions{.registered_wait = 0});
  const auto took = Clock::now() - start;
  writer.join();
  CHECK(ret == 0);
  CHECK(took >= milliseconds(150));
  CHECK(reap_one(ring).user_data == 5);
  ::close(fds[0]);
  ::close(fds[1]);
}
