// IORING_REGISTER_RESIZE_RINGS through Ring::resize: the rings get new
// sizes and new mappings, and every CQE not yet reaped and every SQE taken
// but not yet submitted comes through unchanged.
#include <cerrno>
#include <vector>

#include "tests/register/register_support.h"
#include "uring/register.h"

using namespace uring;
using namespace uring::testing;

namespace {

struct Shape {
  const char* name;
  Via via;
  bool cqe32;
  bool sqe128;
};
constexpr Shape kShapes[] = {
    {"plain", Via::fd, false, false},
    {"registered index, NO_MMAP", Via::registered_index, false, false},
    {"CQE32", Via::fd, true, false},
    {"SQE128", Via::fd, false, true},
};

RingOptions resizable(const Shape& shape, unsigned entries) {
  RingOptions options;
  options.entries = entries;
  options.single_issuer = true;
  options.defer_taskrun = true;
  options.cqe32 = shape.cqe32;
  options.sqe128 = shape.sqe128;
  return options;
}

// A NOP that on a CQE32 ring also fills the two extra CQE words.
void prep_tagged_nop(Ring& ring, const Shape& shape, std::uint64_t tag) {
  Sqe* sqe = ring.get_sqe();
  REQUIRE(sqe != nullptr);
  if (shape.cqe32) {
    prep_nop_cqe32(*sqe, tag * 3, tag * 5).set_user_data(tag);
  } else {
    prep_nop(*sqe).set_user_data(tag);
  }
}

// Reaps `count` CQEs and checks they are tags first..first+count-1, in order.
void reap_tags(Ring& ring, const Shape& shape, std::uint64_t first, unsigned count) {
  REQUIRE(ring.wait_cqes(count, WaitOptions{.timeout = std::chrono::seconds(5)}) == 0);
  for (unsigned i = 0; i < count; ++i) {
    Cqe* cqe = ring.peek_cqe();
    REQUIRE(cqe != nullptr);
    CHECK(cqe->data() == first + i);
    CHECK(cqe->result() == 0);
    if (shape.cqe32) {
      CHECK(cqe->extra(0) == (first + i) * 3);
      CHECK(cqe->extra(1) == (first + i) * 5);
    }
    ring.cqe_seen(cqe);
  }
}

}  // namespace

TEST_CASE("resize: pending CQEs and unsubmitted SQEs survive growing and shrinking") {
  URING_REQUIRE(missing_register_op(abi::IORING_REGISTER_RESIZE_RINGS));
  auto probe = Probe::query();
  REQUIRE(probe.ok());
  for (const Shape& shape : kShapes) {
    INFO("shape ", std::string(shape.name));
    Ring ring = make_ring(shape.via, resizable(shape, 8));
    // Move the ring indexes away from 0 so the new masks matter.
    for (unsigned i = 0; i < 13; ++i) {
      prep_tagged_nop(ring, shape, 1000 + i);
      REQUIRE(ring.submit() == 1);
      reap_tags(ring, shape, 1000 + i, 1);
    }
    for (unsigned i = 0; i < 6; ++i) prep_tagged_nop(ring, shape, 100 + i);
    REQUIRE(ring.submit() == 6);
    REQUIRE(ring.wait_cqes(6, WaitOptions{.timeout = std::chrono::seconds(5)}) == 0);  // posted, not reaped
    for (unsigned i = 0; i < 3; ++i) prep_tagged_nop(ring, shape, 200 + i);           // taken, not submitted

    Status grown = ring.resize({.sq_entries = 64, .cq_entries = 256});
    REQUIRE_MESSAGE(grown.ok(), grown.error().message);
    CHECK(ring.sq_entries() == 64);
    CHECK(ring.cq_entries() == 256);
    CHECK(ring.cq_ready() == 6);
    CHECK(ring.sq_pending() == 3);
    reap_tags(ring, shape, 100, 6);
    CHECK(ring.submit() == 3);
    reap_tags(ring, shape, 200, 3);

    // The new room is usable: more than the old SQ and CQ held, in one batch.
    for (unsigned i = 0; i < 40; ++i) prep_tagged_nop(ring, shape, 300 + i);
    CHECK(ring.submit() == 40);
    reap_tags(ring, shape, 300, 40);

    // Shrink with work pending that still fits.
    for (unsigned i = 0; i < 2; ++i) prep_tagged_nop(ring, shape, 400 + i);
    REQUIRE(ring.submit() == 2);
    REQUIRE(ring.wait_cqes(2, WaitOptions{.timeout = std::chrono::seconds(5)}) == 0);
    prep_tagged_nop(ring, shape, 500);
    Status shrunk = ring.resize({.sq_entries = 4, .cq_entries = 8});
    REQUIRE_MESSAGE(shrunk.ok(), shrunk.error().message);
    CHECK(ring.sq_entries() == 4);
    CHECK(ring.cq_entries() == 8);
    reap_tags(ring, shape, 400, 2);
    CHECK(ring.submit() == 1);
    reap_tags(ring, shape, 500, 1);
    for (unsigned round = 0; round < 5; ++round) {  // wraps the small rings a few times
      for (unsigned i = 0; i < 4; ++i) prep_tagged_nop(ring, shape, 600 + round * 4 + i);
      CHECK(ring.get_sqe() == nullptr);  // 4 entries now
      REQUIRE(ring.submit() == 4);
      reap_tags(ring, shape, 600 + round * 4, 4);
    }
  }
}

TEST_CASE("resize: too small for what is pending is refused, and nothing is lost") {
  URING_REQUIRE(missing_register_op(abi::IORING_REGISTER_RESIZE_RINGS));
  Shape plain = kShapes[0];
  Ring ring = make_ring(Via::fd, resizable(plain, 8));
  for (unsigned i = 0; i < 8; ++i) prep_tagged_nop(ring, plain, 10 + i);
  CHECK(ring.get_sqe() == nullptr);  // the SQ holds 8; the CQ 16
  REQUIRE(ring.submit() == 8);
  REQUIRE(ring.wait_cqes(8, WaitOptions{.timeout = std::chrono::seconds(5)}) == 0);
  Status refused = ring.resize({.sq_entries = 2, .cq_entries = 4});
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.code() == EOVERFLOW);
  CHECK(refused.error().message.find("8 CQEs") != std::string::npos);
  CHECK(ring.cq_entries() == 16);
  reap_tags(ring, plain, 10, 8);
  nop_round_trip(ring, 77);
}

TEST_CASE("resize: only DEFER_TASKRUN rings, and the message says so") {
  Ring ring = make_ring(Via::fd);
  Status refused = ring.resize({.sq_entries = 128});
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.code() == EINVAL);
  CHECK(refused.error().message.find("defer_taskrun = true") != std::string::npos);
  nop_round_trip(ring, 1);
  Ring closed;
  CHECK(closed.resize({.sq_entries = 8}).code() == EBADF);
}
