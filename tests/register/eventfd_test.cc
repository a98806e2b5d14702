// IORING_REGISTER_EVENTFD / EVENTFD_ASYNC / UNREGISTER_EVENTFD and the
// IORING_CQ_EVENTFD_DISABLED toggle: the eventfd counter shows exactly when
// the kernel signalled it.
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

#include "tests/register/register_support.h"
#include "uring/register.h"

using namespace uring;
using namespace uring::testing;

namespace {

// The eventfd's counter, reset to 0; 0 if it was not signalled.
std::uint64_t drain(int efd) {
  std::uint64_t value = 0;
  if (::read(efd, &value, sizeof value) != sizeof value) {
    REQUIRE(errno == EAGAIN);  // non-blocking: nothing there
    return 0;
  }
  return value;
}

// A completion posted by an io-wq worker signals a moment after its CQE is
// visible (the CQ tail is published first): wait for the signal, bounded
// loosely for a loaded machine. The wait ends as soon as it comes.
std::uint64_t drain_soon(int efd) {
  std::uint64_t value = 0;
  eventually([&] { return (value = drain(efd)) != 0; }, std::chrono::seconds(10));
  return value;
}

}  // namespace

TEST_CASE("eventfd: every completion signals; the toggle pauses it; unregister stops it") {
  const int fds_before = open_fd_count();
  for (Via via : kBothWays) {
    INFO("via ", std::string(via_name(via)));
    Ring ring = make_ring(via);
    const int efd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    REQUIRE(efd >= 0);

    Status registered = register_eventfd(ring, efd);
    REQUIRE_MESSAGE(registered.ok(), registered.error().message);
    CHECK(drain(efd) == 0);
    nop_round_trip(ring, 1);
    CHECK(drain(efd) >= 1);
    nop_round_trip(ring, 2, /*async=*/true);  // io-wq completions signal too
    CHECK(drain_soon(efd) >= 1);

    // A second eventfd is refused, with a message saying what to do.
    const int other = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    Status second = register_eventfd(ring, other);
    REQUIRE_FALSE(second.ok());
    CHECK(second.code() == EBUSY);
    CHECK(second.error().message.find("unregister_eventfd first") != std::string::npos);
    ::close(other);

    // IORING_CQ_EVENTFD_DISABLED: completions still arrive, the eventfd stays quiet.
    REQUIRE(ring.has_cq_flags());
    REQUIRE(set_eventfd_enabled(ring, false).ok());
    CHECK_FALSE(eventfd_enabled(ring));
    CHECK((ring.cq_flags() & abi::IORING_CQ_EVENTFD_DISABLED) != 0);
    nop_round_trip(ring, 3);
    CHECK(drain(efd) == 0);
    REQUIRE(set_eventfd_enabled(ring, true).ok());
    CHECK(eventfd_enabled(ring));
    nop_round_trip(ring, 4);
    CHECK(drain(efd) >= 1);

    Status unregistered = unregister_eventfd(ring);
    REQUIRE_MESSAGE(unregistered.ok(), unregistered.error().message);
    nop_round_trip(ring, 5);
    CHECK(drain(efd) == 0);
    Status again = unregister_eventfd(ring);
    REQUIRE_FALSE(again.ok());
    CHECK(again.code() == ENXIO);
    CHECK(again.error().message.find("no eventfd is registered") != std::string::npos);
    ::close(efd);
  }
  CHECK(open_fd_count() == fds_before);
}

TEST_CASE("eventfd: async_only signals for io-wq completions, not for inline ones") {
  URING_REQUIRE(missing_register_op(abi::IORING_REGISTER_EVENTFD_ASYNC));
  for (Via via : kBothWays) {
    INFO("via ", std::string(via_name(via)));
    Ring ring = make_ring(via);
    const int efd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    REQUIRE(efd >= 0);
    Status registered = register_eventfd(ring, efd, EventfdMode::async_only);
    REQUIRE_MESSAGE(registered.ok(), registered.error().message);
    for (int i = 0; i < 3; ++i) nop_round_trip(ring, 10 + i);  // completed inline: no signal
    CHECK(drain(efd) == 0);
    nop_round_trip(ring, 20, /*async=*/true);  // completed by an io-wq worker: a signal
    CHECK(drain_soon(efd) >= 1);
    REQUIRE(unregister_eventfd(ring).ok());
    ::close(efd);
  }
}

TEST_CASE("eventfd: a file that is not an eventfd is refused with its reason") {
  Ring ring = make_ring(Via::fd);
  int pipe_fds[2];
  REQUIRE(::pipe(pipe_fds) == 0);
  Status refused = register_eventfd(ring, pipe_fds[0]);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.code() == EINVAL);
  CHECK(refused.error().message.find("is not an eventfd") != std::string::npos);
  ::close(pipe_fds[0]);
  ::close(pipe_fds[1]);
  Status closed = register_eventfd(ring, 1000);
  REQUIRE_FALSE(closed.ok());
  CHECK(closed.code() == EBADF);
}
