// Ring setup and teardown: every setup flag, no leaks, clear errors.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <string>

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

struct Config {
  const char* name;
  RingOptions options;
};

RingOptions with(void (*edit)(RingOptions&)) {
  RingOptions o;
  o.entries = 16;
  edit(o);
  return o;
}

}  // namespace

TEST_CASE("setup and teardown x10000 leave no fd and no mapping behind") {
  const Config configs[] = {
      {"default", with([](RingOptions&) {})},
      {"sqpoll", with([](RingOptions& o) { o.sqpoll = true; })},
      {"no_mmap", with([](RingOptions& o) { o.no_mmap = true; })},
      {"no_sqarray", with([](RingOptions& o) { o.no_sqarray = true; })},
      {"sqe128+cqe32", with([](RingOptions& o) { o.sqe128 = o.cqe32 = true; })},
  };
  for (const Config& config : configs) {
    const std::string name = config.name;
    CAPTURE(name);
    {
      auto first = testing::create_ring(config.options);
      if (!first) {
        URING_SKIP(std::string(config.name) + ": " + first.error().message);
      }
      check_nop_round_trip(*first, 1);
    }
    const int fds_before = testing::open_fd_count();
    const testing::MappingSnapshot maps_before;
    for (int i = 0; i < 10000; ++i) {
      auto ring = testing::create_ring(config.options);
      REQUIRE_MESSAGE(ring.ok(), ring.error().message);
      if (i % 1000 == 0) {
        check_nop_round_trip(*ring, static_cast<std::uint64_t>(i) + 7);
        // The leak check below can see a ring: a live one is in the maps.
        if (!config.options.no_mmap) CHECK(testing::mapping_count("[io_uring]") > maps_before.io_uring);
      }
    }
    CHECK(testing::open_fd_count() == fds_before);
    CHECK(testing::MappingSnapshot() == maps_before);
  }
}

TEST_CASE("every setup flag is accepted and works, or is skipped with the kernel's reason") {
  auto created = testing::create_ring(RingOptions{});
  REQUIRE_MESSAGE(created.ok(), created.error().message);
  Ring other = std::move(created.value());
  struct Flag {
    const char* name;
    void (*edit)(RingOptions&, int other_fd);
  };
  const Flag flags[] = {
      {"CQSIZE", [](RingOptions& o, int) { o.cq_entries = 256; }},
      {"CLAMP", [](RingOptions& o, int) { o.entries = 1u << 20; o.clamp = true; }},
      {"SQPOLL", [](RingOptions& o, int) { o.sqpoll = true; o.sqpoll_idle_ms = 10; }},
      {"SQ_AFF", [](RingOptions& o, int) { o.sqpoll = true; o.sqpoll_cpu = 0; }},
      {"ATTACH_WQ", [](RingOptions& o, int fd) { o.attach_wq_fd = fd; }},
      {"SUBMIT_ALL", [](RingOptions& o, int) { o.submit_all = true; }},
      {"COOP_TASKRUN", [](RingOptions& o, int) { o.coop_taskrun = true; }},
      {"TASKRUN_FLAG", [](RingOptions& o, int) { o.coop_taskrun = o.taskrun_flag = true; }},
      {"SQE128", [](RingOptions& o, int) { o.sqe128 = true; }},
      {"CQE32", [](RingOptions& o, int) { o.cqe32 = true; }},
      {"CQE_MIXED", [](RingOptions& o, int) { o.cqe_mixed = true; }},
      {"SINGLE_ISSUER", [](RingOptions& o, int) { o.single_issuer = true; }},
      {"DEFER_TASKRUN", [](RingOptions& o, int) { o.single_issuer = o.defer_taskrun = true; }},
      {"NO_MMAP", [](RingOptions& o, int) { o.no_mmap = true; }},
      {"REGISTERED_FD_ONLY", [](RingOptions& o, int) { o.no_mmap = o.registered_fd_only = true; }},
      {"NO_SQARRAY", [](RingOptions& o, int) { o.no_sqarray = true; }},
  };
  for (const Flag& flag : flags) {
    CAPTURE(flag.name);
    RingOptions options;
    options.entries = 8;
    flag.edit(options, other.fd());
    auto ring = testing::create_ring(options);
    if (!ring) {
      testing::report_skip(std::string(flag.name) + " refused: " + ring.error().message);
      continue;
    }
    CHECK((ring->setup_flags() & options.setup_flags()) == options.setup_flags());
    for (std::uint64_t i = 0; i < 3; ++i) check_nop_round_trip(*ring, 100 + i);
  }
}

TEST_CASE("IOPOLL and R_DISABLED rings: set up, and work the way the kernel says") {
  SUBCASE("iopoll: a NOP still completes (polled rings reap by entering)") {
    RingOptions options;
    options.iopoll = true;
    auto ring = testing::create_ring(options);
    if (!ring) URING_SKIP("IOPOLL: " + ring.error().message);
    check_nop_round_trip(*ring, 5);
  }
  SUBCASE("hybrid_iopoll: set up with iopoll, a NOP completes") {
    RingOptions options;
    options.iopoll = options.hybrid_iopoll = true;
    auto ring = testing::create_ring(options);
    if (!ring) URING_SKIP("HYBRID_IOPOLL: " + ring.error().message);
    CHECK((ring->setup_flags() & abi::IORING_SETUP_HYBRID_IOPOLL) != 0);
    check_nop_round_trip(*ring, 6);
  }
  SUBCASE("start_disabled: submit fails with EBADFD until enable()") {
    RingOptions options;
    options.start_disabled = true;
    auto ring = testing::create_ring(options);
    if (!ring) URING_SKIP("R_DISABLED: " + ring.error().message);
    Sqe* sqe = ring->get_sqe();
    REQUIRE(sqe != nullptr);
    prep_nop(*sqe).set_user_data(9);
    CHECK(ring->submit() == -EBADFD);
    REQUIRE_MESSAGE(ring->enable().ok(), ring->enable().error().message);
    CHECK(ring->submit_and_wait(1) == 1);
    Cqe* cqe = ring->peek_cqe();
    REQUIRE(cqe != nullptr);
    CHECK(cqe->data() == 9);
    ring->cqe_seen(cqe);
    Status again = ring->enable();
    CHECK_FALSE(again.ok());
  }
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
  expect_error(o, EINVAL, "flags 0x80000000");

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
