// Ring setup and teardown: no leaks, clear errors, IOPOLL and R_DISABLED
// rings. What each setup flag does: setup_flags_test.cc.
#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "tests/support/kernel_features.h"
#include "tests/support/test_support.h"
#include "uring/setup_error.h"
#include "uring/uring.h"

using namespace uring;

namespace {

// One NOP through the ring, checking user_data and result come back.
void check_nop_round_trip(Ring& ring, std::uint64_t user_data) {
  Sqe* sqe = ring.get_sqe();
  REQUIRE(sqe != nullptr);
  prep_nop(*sqe).set_user_data(user_data);
  REQUIRE(ring.submit_and_wait(1) >= 0);
  Cqe* cqe = ring.peek_cqe();
  REQUIRE(cqe != nullptr);
  CHECK(cqe->data() == user_data);
  CHECK(cqe->result() == 0);
  ring.cqe_seen(cqe);
  CHECK(ring.peek_cqe() == nullptr);
}

RingOptions with(void (*edit)(RingOptions&)) {
  RingOptions o;
  o.entries = 16;
  edit(o);
  return o;
}

// Sets up and tears down 10,000 rings of one kind: no fd and no mapping may
// stay behind. The kernel is known to have the kind's setup flags (the test
// cases check first), so every setup must succeed.
void churn_without_leaks(const RingOptions& options) {
  {
    auto first = testing::create_ring(options);
    REQUIRE_MESSAGE(first.ok(), first.error().message);
    check_nop_round_trip(*first, 1);
  }
  const int fds_before = testing::open_fd_count();
  const testing::MappingSnapshot maps_before;
  for (int i = 0; i < 10000; ++i) {
    auto ring = testing::create_ring(options);
    REQUIRE_MESSAGE(ring.ok(), ring.error().message);
    if (i % 1000 == 0) {
      check_nop_round_trip(*ring, static_cast<std::uint64_t>(i) + 7);
      // The leak check below can see a ring: a live one is in the maps.
      if (!options.no_mmap) CHECK(testing::mapping_count("[io_uring]") > maps_before.io_uring);
    }
  }
  CHECK(testing::open_fd_count() == fds_before);
  CHECK(testing::MappingSnapshot() == maps_before);
}

}  // namespace

TEST_CASE("setup and teardown x10000 leave no fd and no mapping behind: default ring") {
  churn_without_leaks(with([](RingOptions&) {}));
}

TEST_CASE("setup and teardown x10000 leave no fd and no mapping behind: SQPOLL") {
  const RingOptions options = with([](RingOptions& o) { o.sqpoll = true; });
  URING_REQUIRE(testing::missing_setup_flags(options.setup_flags()));
  churn_without_leaks(options);
}

TEST_CASE("setup and teardown x10000 leave no fd and no mapping behind: NO_MMAP") {
  const RingOptions options = with([](RingOptions& o) { o.no_mmap = true; });
  URING_REQUIRE(testing::missing_setup_flags(options.setup_flags()));
  churn_without_leaks(options);
}

TEST_CASE("setup and teardown x10000 leave no fd and no mapping behind: NO_SQARRAY") {
  const RingOptions options = with([](RingOptions& o) { o.no_sqarray = true; });
  URING_REQUIRE(testing::missing_setup_flags(options.setup_flags()));
  churn_without_leaks(options);
}

TEST_CASE("setup and teardown x10000 leave no fd and no mapping behind: SQE128 + CQE32") {
  const RingOptions options = with([](RingOptions& o) { o.sqe128 = o.cqe32 = true; });
  URING_REQUIRE(testing::missing_setup_flags(options.setup_flags()));
  churn_without_leaks(options);
}

// What each setup flag does is tested in setup_flags_test.cc.

TEST_CASE("IOPOLL: a NOP completes (polled rings reap by entering); an op that cannot be polled is refused") {
  URING_REQUIRE(testing::missing_setup_flags(abi::IORING_SETUP_IOPOLL));
  URING_REQUIRE(testing::missing_op(abi::IORING_OP_POLL_ADD));
  RingOptions options;
  options.iopoll = true;
  auto ring = testing::create_ring(options);
  REQUIRE_MESSAGE(ring.ok(), ring.error().message);
  check_nop_round_trip(*ring, 5);
  // io_init_req: an opcode without iopoll support fails with -EINVAL on an
  // IOPOLL ring (POLL_ADD on a readable eventfd completes at once elsewhere).
  const int event = ::eventfd(1, EFD_CLOEXEC);
  REQUIRE(event >= 0);
  prep_poll_add(testing::next_sqe(*ring), event, POLLIN).set_user_data(51);
  const Cqe refused = testing::reap_one(*ring);
  CHECK(refused.data() == 51);
  CHECK(refused.result() == -EINVAL);
  auto plain = testing::create_ring(RingOptions{});
  REQUIRE(plain.ok());
  prep_poll_add(testing::next_sqe(*plain), event, POLLIN).set_user_data(52);
  const Cqe accepted = testing::reap_one(*plain);
  CHECK(accepted.data() == 52);
  CHECK((accepted.result() & POLLIN) != 0);
  ::close(event);
}

TEST_CASE("HYBRID_IOPOLL: set up with iopoll, a NOP completes") {
  URING_REQUIRE(testing::missing_setup_flags(abi::IORING_SETUP_IOPOLL | abi::IORING_SETUP_HYBRID_IOPOLL));
  RingOptions options;
  options.iopoll = options.hybrid_iopoll = true;
  auto ring = testing::create_ring(options);
  REQUIRE_MESSAGE(ring.ok(), ring.error().message);
  CHECK((ring->setup_flags() & abi::IORING_SETUP_HYBRID_IOPOLL) != 0);
  check_nop_round_trip(*ring, 6);
}

TEST_CASE("R_DISABLED: submit fails with EBADFD until enable()") {
  URING_REQUIRE(testing::missing_setup_flags(abi::IORING_SETUP_R_DISABLED));
  URING_REQUIRE(testing::missing_register_op(abi::IORING_REGISTER_ENABLE_RINGS));
  RingOptions options;
  options.start_disabled = true;
  auto ring = testing::create_ring(options);
  REQUIRE_MESSAGE(ring.ok(), ring.error().message);
  Sqe* sqe = ring->get_sqe();
  REQUIRE(sqe != nullptr);
  prep_nop(*sqe).set_user_data(9);
  CHECK(ring->submit() == -EBADFD);
  const Status enabled = ring->enable();
  REQUIRE_MESSAGE(enabled.ok(), enabled.error().message);
  CHECK(ring->submit_and_wait(1) == 1);
  Cqe* cqe = ring->peek_cqe();
  REQUIRE(cqe != nullptr);
  CHECK(cqe->data() == 9);
  ring->cqe_seen(cqe);
  Status again = ring->enable();
  CHECK_FALSE(again.ok());
}

TEST_CASE("bad setup input gives a clear error and leaks nothing") {
  const int fds_before = testing::open_fd_count();
  const testing::MappingSnapshot maps_before;
  auto expect_error = [](const RingOptions& options, int code, const char* words) {
    auto ring = testing::create_ring(options);
    REQUIRE_FALSE(ring.ok());
    CHECK(ring.error().code == code);
    INFO(ring.error().message);
    CHECK(ring.error().message.find(words) != std::string::npos);
  };
  RingOptions o;

  o = RingOptions{};
  o.entries = 0;
  expect_error(o, EINVAL, "entries must be at least 1");

  o = RingOptions{};
  o.entries = 40000;
  expect_error(o, EINVAL, "above the kernel's maximum 32768");

  o = RingOptions{};
  o.extra_setup_flags = 1u << 31;
  expect_error(o, EINVAL, "setup flag bit(s) 0x80000000");

  o = RingOptions{};
  o.sqpoll_cpu = 0;
  expect_error(o, EINVAL, "needs sqpoll = true");

  o = RingOptions{};
  o.entries = 64;
  o.cq_entries = 16;
  expect_error(o, EINVAL, "cq_entries (16) must be at least entries (64)");

  o = RingOptions{};
  o.attach_wq_fd = -1;
  {
    auto ring = testing::create_ring(o);
    REQUIRE_FALSE(ring.ok());
    INFO(ring.error().message);
    CHECK(ring.error().message.find("wq_fd -1 is not") != std::string::npos);
  }

  const int not_a_ring = ::open("/dev/null", O_RDONLY);
  REQUIRE(not_a_ring >= 0);
  o = RingOptions{};
  o.attach_wq_fd = not_a_ring;
  expect_error(o, EINVAL, "is not an io_uring fd (it is /dev/null)");
  ::close(not_a_ring);

  o = RingOptions{};
  o.registered_fd_only = true;
  expect_error(o, EINVAL, "needs no_mmap");

  CHECK(testing::open_fd_count() == fds_before);
  CHECK(testing::MappingSnapshot() == maps_before);
}

// Sizes up to UINT_MAX: each create returns (a hang here is the old
// round_up_pow2 in setup_error.cc, which looped forever above 2^31).
TEST_CASE("entries and cq_entries above 2^31: refused with the limit, or clamped to it") {
  auto expect_error = [](const RingOptions& options, const char* words) {
    auto ring = testing::create_ring(options);
    REQUIRE_FALSE(ring.ok());
    CHECK(ring.error().code == EINVAL);
    INFO(ring.error().message);
    CHECK(ring.error().message.find(words) != std::string::npos);
  };
  RingOptions o;

  o = RingOptions{};
  o.entries = 0x80000001u;
  expect_error(o, "entries 2147483649 is above the kernel's maximum 32768; ask for fewer, or set clamp = true");

  o = RingOptions{};
  o.entries = 8;
  o.cq_entries = 0xffffffffu;
  expect_error(o, "cq_entries 4294967295 is above the kernel's maximum 65536; ask for fewer, or set clamp = true");

  // CLAMP: the kernel caps entries at IORING_MAX_ENTRIES and cq_entries at
  // IORING_MAX_CQ_ENTRIES (io_uring_fill_params).
  URING_REQUIRE(testing::missing_setup_flags(abi::IORING_SETUP_CLAMP | abi::IORING_SETUP_CQSIZE));
  o = RingOptions{};
  o.entries = 0x80000001u;
  o.clamp = true;
  {
    auto ring = testing::create_ring(o);
    REQUIRE_MESSAGE(ring.ok(), ring.error().message);
    CHECK(ring->sq_entries() == 32768);
    CHECK(ring->cq_entries() == 65536);
    check_nop_round_trip(*ring, 81);
  }

  o = RingOptions{};
  o.entries = 8;
  o.cq_entries = 0xffffffffu;
  o.clamp = true;
  {
    auto ring = testing::create_ring(o);
    REQUIRE_MESSAGE(ring.ok(), ring.error().message);
    CHECK(ring->sq_entries() == 8);
    CHECK(ring->cq_entries() == 65536);
    check_nop_round_trip(*ring, 82);
  }
}

TEST_CASE("a clamped huge size with another mistake: the message names the mistake, not the sizes") {
  URING_REQUIRE(testing::missing_setup_flags(abi::IORING_SETUP_CLAMP | abi::IORING_SETUP_CQSIZE |
                                             abi::IORING_SETUP_DEFER_TASKRUN));
  // defer_taskrun without single_issuer is refused by the kernel (EINVAL);
  // explaining it walks past the cq_entries-vs-entries comparison.
  auto expect_defer_message = [](RingOptions options) {
    options.clamp = true;
    options.defer_taskrun = true;
    auto ring = testing::create_ring(options);
    REQUIRE_FALSE(ring.ok());
    CHECK(ring.error().code == EINVAL);
    INFO(ring.error().message);
    CHECK(ring.error().message.find("defer_taskrun needs single_issuer = true") != std::string::npos);
  };
  RingOptions o;
  o.entries = 100000;
  o.cq_entries = 40000;  // clamped SQ 32768 <= CQ 65536, though 2^16 < 2^17 before clamping
  expect_defer_message(o);

  o = RingOptions{};
  o.entries = 8;
  o.cq_entries = 0xffffffffu;
  expect_defer_message(o);

  o = RingOptions{};
  o.entries = 0x80000001u;
  o.cq_entries = 40000;
  expect_defer_message(o);

  o = RingOptions{};
  o.entries = 0xffffffffu;
  o.cq_entries = 0xffffffffu;
  expect_defer_message(o);
}

TEST_CASE("each setup errno maps to a message that says what to do") {
  RingOptions options;
  Error eperm = describe_setup_error(-EPERM, options);
  CHECK(eperm.code == EPERM);
  CHECK(eperm.message.find("kernel.io_uring_disabled") != std::string::npos);

  Error enosys = describe_setup_error(-ENOSYS, options);
  CHECK(enosys.message.find("Linux 5.1") != std::string::npos);

  Error enomem = describe_setup_error(-ENOMEM, options);
  CHECK(enomem.message.find("ulimit -l") != std::string::npos);

  options.attach_wq_fd = 7;
  Error enxio = describe_setup_error(-ENXIO, options);
  CHECK(enxio.message.find("wq_fd 7 is not an open file descriptor") != std::string::npos);
}

TEST_CASE("a ring moved to another variable keeps working; the moved-from one is empty") {
  auto created = testing::create_ring(RingOptions{});
  REQUIRE(created.ok());
  Ring ring = std::move(created.value());
  Ring moved = std::move(ring);
  CHECK_FALSE(ring.valid());
  CHECK(moved.valid());
  check_nop_round_trip(moved, 77);
  ring = std::move(moved);
  check_nop_round_trip(ring, 78);
}
