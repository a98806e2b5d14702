// IORING_REGISTER_NAPI / UNREGISTER_NAPI (settings go in and come back out,
// with or without any NAPI device) and IORING_REGISTER_CLOCK (the clock of
// wait timeouts).
#include <time.h>

#include <cerrno>
#include <chrono>

#include "tests/register/register_support.h"
#include "uring/register.h"

using namespace uring;
using namespace uring::testing;
using std::chrono::microseconds;
using std::chrono::milliseconds;

TEST_CASE("napi: settings are swapped in and read back; no NAPI device is needed") {
  URING_REQUIRE(missing_register_op(abi::IORING_REGISTER_NAPI));
  // A kernel without CONFIG_NET_RX_BUSY_POLL answers every NAPI call with
  // -EOPNOTSUPP; asked here through a socket option, not through io_uring.
  URING_REQUIRE(missing_busy_poll());
  // Static tracking and IO_URING_NAPI_STATIC_ADD_ID/DEL_ID came after the
  // register opcode (io_uring/napi.c, "add static napi tracking strategy").
  URING_REQUIRE(missing_since("IO_URING_NAPI_TRACKING_STATIC", "6.13"));
  for (Via via : kBothWays) {
    INFO("via ", std::string(via_name(via)));
    Ring ring = make_ring(via);
    NapiSettings first;
    first.busy_poll_timeout = microseconds(100);
    first.prefer_busy_poll = true;
    auto before = register_napi(ring, first);
    REQUIRE_MESSAGE(before.ok(), before.error().message);
    CHECK_FALSE(before->prefer_busy_poll);  // a fresh ring
    CHECK(before->tracking == abi::IO_URING_NAPI_TRACKING_INACTIVE);

    NapiSettings second;
    second.busy_poll_timeout = microseconds(250);
    second.tracking = abi::IO_URING_NAPI_TRACKING_STATIC;
    auto swapped = register_napi(ring, second);
    REQUIRE_MESSAGE(swapped.ok(), swapped.error().message);
    CHECK(swapped->busy_poll_timeout == microseconds(100));
    CHECK(swapped->prefer_busy_poll);
    CHECK(swapped->tracking == abi::IO_URING_NAPI_TRACKING_DYNAMIC);

    // Static tracking takes ids no device has (nothing gets polled); an id
    // below the NAPI id range is refused.
    const unsigned no_device = 0x7ffffff0u;
    Status added = napi_add_id(ring, no_device);
    REQUIRE_MESSAGE(added.ok(), added.error().message);
    CHECK(napi_add_id(ring, no_device).code() == EEXIST);
    Status invalid_id = napi_add_id(ring, 0);
    REQUIRE_FALSE(invalid_id.ok());
    CHECK(invalid_id.code() == EINVAL);
    CHECK(invalid_id.error().message.find("NAPI ids") != std::string::npos);
    nop_round_trip(ring, 1);
    // Nothing is in flight and the CQ is empty, so only the timeout can end
    // this wait: it busy polls nothing and times out (no race to lose).
    CHECK(ring.wait_cqes(1, WaitOptions{.timeout = milliseconds(20)}) == -ETIME);

    REQUIRE(napi_remove_id(ring, no_device).ok());
    CHECK(napi_remove_id(ring, no_device).code() == ENOENT);

    auto off = unregister_napi(ring);
    REQUIRE_MESSAGE(off.ok(), off.error().message);
    CHECK(off->busy_poll_timeout == microseconds(250));
    CHECK_FALSE(off->prefer_busy_poll);
    CHECK(off->tracking == abi::IO_URING_NAPI_TRACKING_INACTIVE);  // not reported by the kernel
    auto after = register_napi(ring, first);
    REQUIRE(after.ok());
    CHECK(after->busy_poll_timeout == microseconds(0));  // unregister turned it off
    CHECK_FALSE(after->prefer_busy_poll);
    REQUIRE(unregister_napi(ring).ok());
  }
}

TEST_CASE("napi: IOPOLL rings refuse it with the reason") {
  URING_REQUIRE(missing_register_op(abi::IORING_REGISTER_NAPI));
  URING_REQUIRE(missing_busy_poll());  // else -EOPNOTSUPP comes first, whatever the ring
  URING_REQUIRE(missing_setup_flags(abi::IORING_SETUP_IOPOLL));
  RingOptions options;
  options.iopoll = true;
  auto ring = testing::create_ring(options);
  REQUIRE_MESSAGE(ring.ok(), ring.error().message);
  auto refused = register_napi(*ring, NapiSettings{});
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.code() == EINVAL);
  CHECK(refused.error().message.find("IOPOLL") != std::string::npos);
}

namespace {

// An io_uring_enter wait until `deadline` on `clock`, as an absolute time
// (IORING_ENTER_ABS_TIMER): the kernel reads it in the ring's wait clock.
int wait_until_absolute(Ring& ring, clockid_t clock, milliseconds from_now) {
  timespec now{};
  ::clock_gettime(clock, &now);
  const long long deadline_ns = now.tv_sec * 1000000000LL + now.tv_nsec +
                                std::chrono::duration_cast<std::chrono::nanoseconds>(from_now).count();
  abi::kernel_timespec ts{deadline_ns / 1000000000, deadline_ns % 1000000000};
  abi::io_uring_getevents_arg arg{};
  arg.ts = reinterpret_cast<std::uintptr_t>(&ts);
  return ring.enter(0, 1, abi::IORING_ENTER_GETEVENTS | abi::IORING_ENTER_EXT_ARG | abi::IORING_ENTER_ABS_TIMER,
                    &arg, sizeof arg);
}

}  // namespace

TEST_CASE("clock: BOOTTIME or MONOTONIC for wait timeouts; anything else is refused") {
  URING_REQUIRE(missing_register_op(abi::IORING_REGISTER_CLOCK));  // IORING_ENTER_ABS_TIMER came with it
  for (Via via : kBothWays) {
    INFO("via ", std::string(via_name(via)));
    Ring ring = make_ring(via);
    Status boottime = register_clock(ring, CLOCK_BOOTTIME);
    REQUIRE_MESSAGE(boottime.ok(), boottime.error().message);

    // An absolute deadline 30 ms ahead on CLOCK_BOOTTIME: the wait ends then,
    // never before (a kernel that took it as relative would wait ~forever).
    // The upper bound only catches a wildly misread deadline, so it is loose.
    const auto start = std::chrono::steady_clock::now();
    CHECK(wait_until_absolute(ring, CLOCK_BOOTTIME, milliseconds(30)) == -ETIME);
    const auto waited = std::chrono::steady_clock::now() - start;
    CHECK(waited >= milliseconds(25));
    CHECK(waited < std::chrono::seconds(20));
    // Relative waits too; nothing is in flight, so only the timeout ends it.
    CHECK(ring.wait_cqes(1, WaitOptions{.timeout = milliseconds(5)}) == -ETIME);

    Status realtime = register_clock(ring, CLOCK_REALTIME);
    REQUIRE_FALSE(realtime.ok());
    CHECK(realtime.code() == EINVAL);
    CHECK(realtime.error().message.find("CLOCK_MONOTONIC or CLOCK_BOOTTIME") != std::string::npos);

    REQUIRE(register_clock(ring, CLOCK_MONOTONIC).ok());
    CHECK(wait_until_absolute(ring, CLOCK_MONOTONIC, milliseconds(10)) == -ETIME);
    nop_round_trip(ring, 2);
  }
}
