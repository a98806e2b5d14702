// The registered ring fd (IORING_REGISTER_RING_FDS): used by every enter call,
// from the creating thread; other threads fall back to the plain fd.
#include <cerrno>
#include <thread>

#include "tests/support/kernel_features.h"
#include "tests/support/test_support.h"
#include "uring/uring.h"

using namespace uring;

TEST_CASE("the default ring registers its fd and enters through it") {
  URING_REQUIRE(testing::missing_register_op(abi::IORING_REGISTER_RING_FDS));
  auto ring = testing::create_ring(RingOptions{});
  REQUIRE(ring.ok());
  REQUIRE(ring->registered_index() >= 0);
  // Enter through the index alone, as the library does.
  prep_nop(*ring->get_sqe()).set_user_data(3);
  CHECK(sys::io_uring_enter(ring->registered_index(), 0, 0, abi::IORING_ENTER_REGISTERED_RING) == 0);
  CHECK(ring->submit_and_wait(1) == 1);
  Cqe* cqe = ring->peek_cqe();
  REQUIRE(cqe != nullptr);
  CHECK(cqe->data() == 3);
  ring->cqe_seen(cqe);
}

TEST_CASE("another thread can submit and wait: enter falls back to the plain fd") {
  auto ring = testing::create_ring(RingOptions{});
  REQUIRE(ring.ok());
  int submitted = -1;
  std::uint64_t tag = 0;
  std::thread other([&] {
    prep_nop(*ring->get_sqe()).set_user_data(12);
    submitted = ring->submit_and_wait(1);
    Cqe* cqe = ring->peek_cqe();
    if (cqe) {
      tag = cqe->data();
      ring->cqe_seen(cqe);
    }
  });
  other.join();
  CHECK(submitted == 1);
  CHECK(tag == 12);
}

TEST_CASE("REGISTERED_FD_ONLY: a ring with no fd at all works and is released") {
  URING_REQUIRE(testing::missing_setup_flags(abi::IORING_SETUP_NO_MMAP | abi::IORING_SETUP_REGISTERED_FD_ONLY));
  const int fds_before = testing::open_fd_count();
  const testing::MappingSnapshot maps_before;
  RingOptions options;
  options.no_mmap = true;
  options.registered_fd_only = true;
  {
    auto ring = testing::create_ring(options);
    REQUIRE_MESSAGE(ring.ok(), ring.error().message);
    CHECK(ring->fd() == -1);
    CHECK(ring->registered_index() >= 0);
    CHECK(testing::open_fd_count() == fds_before);
    for (int i = 0; i < 3; ++i) {
      prep_nop(*ring->get_sqe()).set_user_data(20 + i);
      CHECK(ring->submit_and_wait(1) == 1);
      Cqe* cqe = ring->peek_cqe();
      REQUIRE(cqe != nullptr);
      CHECK(cqe->data() == 20u + i);
      ring->cqe_seen(cqe);
    }
    auto probe = Probe::query(*ring);  // register calls use the index too
    REQUIRE_MESSAGE(probe.ok(), probe.error().message);
    CHECK(probe->supports(abi::IORING_OP_NOP));
  }
  // The index slot is free again: a new ring of the same kind gets set up.
  for (int i = 0; i < 100; ++i) {
    auto ring = testing::create_ring(options);
    REQUIRE_MESSAGE(ring.ok(), ring.error().message);
  }
  CHECK(testing::open_fd_count() == fds_before);
  CHECK(testing::MappingSnapshot() == maps_before);
}
