// IORING_REGISTER_RESIZE_RINGS through Ring::resize: the rings get new
// sizes and new mappings, and every CQE not yet reaped and every SQE taken
// but not yet submitted comes through unchanged.
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "tests/register/register_support.h"
#include "tests/support/enter_recorder.h"
#include "uring/register.h"

using namespace uring;
using namespace uring::testing;

namespace {

struct Shape {
  const char* name;
  Via via;
  bool cqe32;
  bool sqe128;
  bool no_sqarray = false;
};
constexpr Shape kShapes[] = {
    {"plain", Via::fd, false, false},
    {"registered index, NO_MMAP", Via::registered_index, false, false},
    {"CQE32", Via::fd, true, false},
    {"SQE128", Via::fd, false, true},
    // The resize's own params carry no setup flags: the ring's must decide
    // that there is no SQ array to place (it once looked for one anyway).
    {"NO_SQARRAY", Via::fd, false, false, true},
};

RingOptions resizable(const Shape& shape, unsigned entries) {
  RingOptions options;
  options.entries = entries;
  options.single_issuer = true;
  options.defer_taskrun = true;
  options.cqe32 = shape.cqe32;
  options.sqe128 = shape.sqe128;
  options.no_sqarray = shape.no_sqarray;
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

// Issue 11, item 4: the kernel copies unreaped CQEs slot by slot with the new
// mask (io_register_resize_rings), so on a CQE_MIXED ring a 32-byte CQE at
// slots 7 and 8 of a 16-slot CQ lands at slots 7 and 0 of an 8-slot one.
TEST_CASE("resize: a CQE_MIXED ring with unreaped CQEs is refused, and its 32-byte CQE stays whole") {
  URING_REQUIRE(missing_register_op(abi::IORING_REGISTER_RESIZE_RINGS));
  URING_REQUIRE(missing_setup_flags(abi::IORING_SETUP_CQE_MIXED | abi::IORING_SETUP_DEFER_TASKRUN));
  RingOptions options;
  options.entries = 8;
  options.cq_entries = 16;
  options.single_issuer = true;
  options.defer_taskrun = true;
  options.cqe_mixed = true;
  Ring ring = make_ring(Via::fd, options);
  for (unsigned i = 0; i < 7; ++i) prep_nop(*ring.get_sqe()).set_user_data(i);  // slots 0..6
  REQUIRE(ring.submit_and_wait(7) == 7);
  ring.advance(7);
  prep_nop_cqe32(*ring.get_sqe(), 0x1111, 0x2222).set_user_data(70);  // slots 7 and 8
  REQUIRE(ring.submit_and_wait(1) == 1);
  REQUIRE(ring.cq_ready() == 2);
  Status refused = ring.resize({.sq_entries = 4, .cq_entries = 8});
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.code() == EBUSY);
  CHECK(refused.error().message.find("reap every CQE") != std::string::npos);
  CHECK(ring.cq_entries() == 16);
  Cqe* cqe = ring.peek_cqe();
  REQUIRE(cqe != nullptr);
  CHECK(cqe->data() == 70u);
  REQUIRE((cqe->flags & abi::IORING_CQE_F_32) != 0);
  CHECK(cqe->extra(0) == 0x1111u);
  CHECK(cqe->extra(1) == 0x2222u);
  ring.cqe_seen(cqe);
  // With the CQ reaped the same resize goes through, and the ring works.
  Status resized = ring.resize({.sq_entries = 4, .cq_entries = 8});
  REQUIRE_MESSAGE(resized.ok(), resized.error().message);
  CHECK(ring.cq_entries() == 8);
  nop_round_trip(ring, 71);
}

// Issue 11, item 5: after a resize the 6.18 kernel sets IORING_SQ_TASKRUN
// whatever waits (io_register_resize_rings); on a ring without
// TASKRUN_FLAG nothing ever clears it, so every empty peek made a system
// call. Ring gives DEFER_TASKRUN rings TASKRUN_FLAG, where the next run of
// task work clears the bit: peeks then stop entering. And they must keep
// trusting the bit: a peek-only loop must still get a completion that waits
// as task work (the review found one stranded by ignoring the bit).
TEST_CASE("resize: empty peeks stop entering once task work has run, and a peek still flushes pending work") {
  URING_REQUIRE(missing_register_op(abi::IORING_REGISTER_RESIZE_RINGS));
  URING_REQUIRE(missing_op(abi::IORING_OP_POLL_ADD));
  URING_REQUIRE(testing::missing_enter_recorder());
  Ring ring = make_ring(Via::fd, resizable(kShapes[0], 8));
  nop_round_trip(ring, 1);
  Status resized = ring.resize({.sq_entries = 16, .cq_entries = 64});
  REQUIRE_MESSAGE(resized.ok(), resized.error().message);
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  for (std::uint64_t tag : {3u, 4u}) {
    // Straight after the resize (tag 3), and once task work has run (tag 4):
    // the poll's completion waits as task work, and a peek alone posts it.
    prep_poll_add(*ring.get_sqe(), fds[0], POLLIN).set_user_data(tag);
    REQUIRE(ring.submit() == 1);
    REQUIRE(::write(fds[1], "x", 1) == 1);
    CHECK(ring.cq_ready() == 0);  // DEFER_TASKRUN: not posted until the task enters
    Cqe* cqe = ring.peek_cqe();
    REQUIRE(cqe != nullptr);
    CHECK(cqe->data() == tag);
    ring.cqe_seen(cqe);
    char byte;
    REQUIRE(::read(fds[0], &byte, 1) == 1);
  }
  // Task work ran: the kernel's bit is clear, and empty peeks are free again.
  const auto calls = testing::record_enters([&] {
    for (int i = 0; i < 3; ++i) CHECK(ring.peek_cqe() == nullptr);
  });
  REQUIRE(calls.has_value());
  CHECK(calls->empty());
  nop_round_trip(ring, 2);
  ::close(fds[0]);
  ::close(fds[1]);
}

// Review 13, item 3: after close_ring_fd() a ring that maps its rings
// through the fd has nothing to map the resized rings through: resize must
// refuse before the kernel resizes (it once resized, failed to mmap through
// fd -1 and closed the ring, losing its CQEs). A NO_MMAP ring needs no fd.
TEST_CASE("resize: after close_ring_fd it is refused up front on an mmap'd ring, and works on a NO_MMAP one") {
  URING_REQUIRE(missing_register_op(abi::IORING_REGISTER_RESIZE_RINGS));
  URING_REQUIRE(missing_feature(abi::IORING_FEAT_REG_REG_RING));  // close_ring_fd
  Shape plain = kShapes[0];
  {
    Ring ring = make_ring(Via::fd, resizable(plain, 8));
    REQUIRE(ring.registered_index() >= 0);
    REQUIRE(ring.close_ring_fd() == 1);
    REQUIRE(ring.fd() == -1);
    prep_tagged_nop(ring, plain, 1);
    REQUIRE(ring.submit() == 1);
    REQUIRE(ring.wait_cqes(1, WaitOptions{.timeout = std::chrono::seconds(5)}) == 0);
    Status refused = ring.resize({.sq_entries = 16});
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.code() == EBADF);
    CHECK(refused.error().message.find("close_ring_fd") != std::string::npos);
    CHECK(ring.valid());
    CHECK(ring.sq_entries() == 8);
    reap_tags(ring, plain, 1, 1);  // the CQE from before is still there
    nop_round_trip(ring, 2);
  }
  {
    Ring ring = make_ring(Via::registered_index, resizable(plain, 8));  // NO_MMAP, no plain fd
    REQUIRE(ring.fd() == -1);
    prep_tagged_nop(ring, plain, 3);
    REQUIRE(ring.submit() == 1);
    REQUIRE(ring.wait_cqes(1, WaitOptions{.timeout = std::chrono::seconds(5)}) == 0);
    Status grown = ring.resize({.sq_entries = 16});
    REQUIRE_MESSAGE(grown.ok(), grown.error().message);
    CHECK(ring.sq_entries() == 16);
    reap_tags(ring, plain, 3, 1);
    nop_round_trip(ring, 4);
  }
}
