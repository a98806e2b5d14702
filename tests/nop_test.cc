// NOP round trips: every user_data comes back exactly once with its result.
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <vector>

#include "tests/support/kernel_features.h"
#include "tests/support/test_support.h"
#include "uring/uring.h"

using namespace uring;

namespace {

Ring make_ring(unsigned entries, bool register_fd = true) {
  RingOptions options;
  options.entries = entries;
  options.register_ring_fd = register_fd;
  auto ring = testing::create_ring(options);
  REQUIRE_MESSAGE(ring.ok(), ring.error().message);
  return std::move(ring.value());
}

// Submits `count` NOPs tagged base..base+count-1 in batches of `batch` and
// reaps them all; each tag must come back exactly once with result 0.
void round_trip(Ring& ring, unsigned batch, unsigned count, std::uint64_t base) {
  std::map<std::uint64_t, int> seen;
  unsigned sent = 0;
  while (sent < count) {
    unsigned in_batch = 0;
    while (in_batch < batch && sent < count) {
      Sqe* sqe = ring.get_sqe();
      REQUIRE(sqe != nullptr);
      prep_nop(*sqe).set_user_data(base + sent);
      ++in_batch;
      ++sent;
    }
    REQUIRE(ring.submit_and_wait(in_batch) == static_cast<int>(in_batch));
    unsigned reaped = 0;
    while (reaped < in_batch) {
      reaped += ring.for_each_cqe([&](const Cqe& cqe) {
        CHECK(cqe.result() == 0);
        ++seen[cqe.data()];
      });
      if (reaped < in_batch) REQUIRE(ring.wait_cqes(1) == 0);
    }
  }
  CHECK(seen.size() == count);
  for (const auto& [tag, times] : seen) {
    CHECK(tag >= base);
    CHECK(tag < base + count);
    CHECK(times == 1);
  }
  CHECK(ring.cq_ready() == 0);
}

}  // namespace

TEST_CASE("NOP batches of 1, 8, 32 and a full SQ come back exactly once") {
  for (bool registered : {true, false}) {
    CAPTURE(registered);
    Ring ring = make_ring(64, registered);
    if (!registered) CHECK(ring.registered_index() == -1);
    // Where the kernel has IORING_REGISTER_RING_FDS (5.18) the ring registers its fd.
    if (registered && testing::missing_register_op(abi::IORING_REGISTER_RING_FDS).empty()) {
      CHECK(ring.registered_index() >= 0);
    }
    for (unsigned batch : {1u, 8u, 32u, 64u}) {
      CAPTURE(batch);
      round_trip(ring, batch, 640, 1000 * batch);
    }
  }
}

TEST_CASE("a full SQ hands out nullptr and never overwrites an unsubmitted SQE") {
  Ring ring = make_ring(8);
  std::vector<Sqe*> taken;
  for (unsigned i = 0; i < ring.sq_entries(); ++i) {
    Sqe* sqe = ring.get_sqe();
    REQUIRE(sqe != nullptr);
    prep_nop(*sqe).set_user_data(500 + i);
    taken.push_back(sqe);
  }
  CHECK(ring.get_sqe() == nullptr);
  CHECK(ring.get_sqe() == nullptr);
  CHECK(ring.sq_space_left() == 0);
  for (unsigned i = 0; i < taken.size(); ++i) CHECK(taken[i]->user_data == 500 + i);

  REQUIRE(ring.submit_and_wait(8) == 8);
  std::vector<std::uint64_t> tags;
  ring.for_each_cqe([&](const Cqe& cqe) { tags.push_back(cqe.data()); });
  REQUIRE(tags.size() == 8);
  for (unsigned i = 0; i < 8; ++i) CHECK(tags[i] == 500 + i);
  CHECK(ring.get_sqe() != nullptr);  // space again once the kernel consumed them
}

TEST_CASE("a builder clears every field a reused slot held before") {
  Ring ring = make_ring(1);
  Sqe* sqe = ring.get_sqe();
  REQUIRE(sqe != nullptr);
  prep_nop_inject_result(*sqe, -EIO).set_user_data(1).link().set_personality(3);
  sqe->off = 0xdeadbeef;
  sqe->addr = 0xfeed;
  prep_nop(*sqe).set_user_data(2);
  CHECK(sqe->flags == 0);
  CHECK(sqe->personality == 0);
  CHECK(sqe->off == 0);
  CHECK(sqe->addr == 0);
  CHECK(sqe->len == 0);
  CHECK(sqe->nop_flags == 0);
  REQUIRE(ring.submit_and_wait(1) == 1);
  Cqe* cqe = ring.peek_cqe();
  REQUIRE(cqe != nullptr);
  CHECK(cqe->data() == 2);
  CHECK(cqe->result() == 0);
  ring.cqe_seen(cqe);
}

TEST_CASE("NOP with an injected result, and a failed link cancels the rest") {
  URING_REQUIRE(testing::missing_since("IORING_NOP_INJECT_RESULT", "6.10"));
  Ring ring = make_ring(8);
  Sqe* sqe = ring.get_sqe();
  REQUIRE(sqe != nullptr);
  prep_nop_inject_result(*sqe, -EIO).set_user_data(1).link();
  sqe = ring.get_sqe();
  REQUIRE(sqe != nullptr);
  prep_nop(*sqe).set_user_data(2);
  REQUIRE(ring.submit_and_wait(2) == 2);
  std::map<std::uint64_t, int> results;
  ring.for_each_cqe([&](const Cqe& cqe) { results[cqe.data()] = cqe.result(); });
  CHECK(results[1] == -EIO);
  CHECK(results[2] == -ECANCELED);
}

TEST_CASE("NOP with CQE32 carries two extra words on a CQE32 ring") {
  URING_REQUIRE(testing::missing_setup_flags(abi::IORING_SETUP_CQE32));
  URING_REQUIRE(testing::missing_since("IORING_NOP_CQE32", "6.18"));
  RingOptions options;
  options.entries = 4;
  options.cqe32 = true;
  auto ring = testing::create_ring(options);
  REQUIRE_MESSAGE(ring.ok(), ring.error().message);
  for (std::uint64_t i = 0; i < 6; ++i) {  // wraps the 8-entry CQ with 32-byte stride
    Sqe* sqe = ring->get_sqe();
    REQUIRE(sqe != nullptr);
    prep_nop_cqe32(*sqe, 0x1111 + i, 0x2222 + i).set_user_data(40 + i);
    REQUIRE(ring->submit_and_wait(1) == 1);
    Cqe* cqe = ring->peek_cqe();
    REQUIRE(cqe != nullptr);
    CHECK(cqe->data() == 40 + i);
    CHECK(cqe->result() == 0);
    CHECK(cqe->extra(0) == 0x1111 + i);
    CHECK(cqe->extra(1) == 0x2222 + i);
    ring->cqe_seen(cqe);
  }
}

TEST_CASE("CQE_MIXED ring: 16- and 32-byte CQEs interleave, each seen once") {
  URING_REQUIRE(testing::missing_setup_flags(abi::IORING_SETUP_CQE_MIXED));
  URING_REQUIRE(testing::missing_since("IORING_NOP_CQE32", "6.18"));
  RingOptions options;
  options.entries = 4;
  options.cqe_mixed = true;
  auto ring = testing::create_ring(options);
  REQUIRE_MESSAGE(ring.ok(), ring.error().message);
  std::map<std::uint64_t, int> seen;
  for (std::uint64_t round = 0; round < 20; ++round) {
    // A 32-byte CQE every other time makes the kernel pad at the wrap.
    for (std::uint64_t k = 0; k < 3; ++k) {
      Sqe* sqe = ring->get_sqe();
      REQUIRE(sqe != nullptr);
      const std::uint64_t tag = round * 10 + k;
      if (k == 1) {
        prep_nop_cqe32(*sqe, tag, ~tag).set_user_data(tag);
      } else {
        prep_nop(*sqe).set_user_data(tag);
      }
    }
    REQUIRE(ring->submit_and_wait(3) == 3);
    unsigned got = 0;
    while (got < 3) {
      got += ring->for_each_cqe([&](const Cqe& cqe) {
        ++seen[cqe.data()];
        CHECK(cqe.result() == 0);
        if (cqe.data() % 10 == 1) {
          REQUIRE((cqe.flags & abi::IORING_CQE_F_32) != 0);
          CHECK(cqe.extra(0) == cqe.data());
          CHECK(cqe.extra(1) == ~cqe.data());
        }
      });
      if (got < 3) REQUIRE(ring->wait_cqes(1) == 0);
    }
  }
  CHECK(seen.size() == 60);
  for (const auto& [tag, times] : seen) CHECK(times == 1);
}

TEST_CASE("NOP128 on an SQE128 ring, where the kernel has it") {
  URING_REQUIRE(testing::missing_setup_flags(abi::IORING_SETUP_SQE128));
  URING_REQUIRE(testing::missing_op(abi::IORING_OP_NOP128));
  RingOptions options;
  options.entries = 4;
  options.sqe128 = true;
  auto ring = testing::create_ring(options);
  REQUIRE_MESSAGE(ring.ok(), ring.error().message);
  for (std::uint64_t i = 0; i < 6; ++i) {  // wraps the 4-entry SQ of 128-byte slots
    Sqe* sqe = ring->get_sqe();
    REQUIRE(sqe != nullptr);
    prep_nop128(*sqe).set_user_data(300 + i);
    REQUIRE(ring->submit_and_wait(1) == 1);
    Cqe* cqe = ring->peek_cqe();
    REQUIRE(cqe != nullptr);
    CHECK(cqe->data() == 300 + i);
    CHECK(cqe->result() == 0);
    ring->cqe_seen(cqe);
  }
}

TEST_CASE("URING_CMD128: a socket command in a 128-byte SQE, where the kernel has it") {
  URING_REQUIRE(testing::missing_setup_flags(abi::IORING_SETUP_SQE128));
  URING_REQUIRE(testing::missing_op(abi::IORING_OP_URING_CMD128));
  RingOptions options;
  options.entries = 4;
  options.sqe128 = true;
  auto ring = testing::create_ring(options);
  REQUIRE_MESSAGE(ring.ok(), ring.error().message);
  int fds[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0);
  REQUIRE(::write(fds[1], "12345", 5) == 5);
  Sqe* sqe = ring->get_sqe();
  REQUIRE(sqe != nullptr);
  prep_uring_cmd128(*sqe, fds[0], abi::SOCKET_URING_OP_SIOCINQ).set_user_data(64);
  REQUIRE(ring->submit_and_wait(1) == 1);
  Cqe* cqe = ring->peek_cqe();
  REQUIRE(cqe != nullptr);
  CHECK(cqe->data() == 64);
  CHECK(cqe->result() == 5);  // bytes queued for reading, as ioctl(SIOCINQ)
  ring->cqe_seen(cqe);
  ::close(fds[0]);
  ::close(fds[1]);
}

TEST_CASE("the 128-byte builders clear the whole 128-byte slot") {
  alignas(64) unsigned char slot[128];
  std::memset(slot, 0xab, sizeof slot);
  Sqe& sqe = *reinterpret_cast<Sqe*>(slot);
  prep_nop128(sqe);
  CHECK(sqe.opcode == abi::IORING_OP_NOP128);
  for (std::size_t i = 1; i < sizeof slot; ++i) CHECK(slot[i] == 0);
  std::memset(slot, 0xab, sizeof slot);
  prep_uring_cmd128(sqe, FixedFile(2), 7);
  CHECK(sqe.opcode == abi::IORING_OP_URING_CMD128);
  CHECK(sqe.fd == 2);
  CHECK(sqe.flags == abi::IOSQE_FIXED_FILE);
  CHECK(sqe.cmd_op == 7);
  for (std::size_t i = 48; i < sizeof slot; ++i) CHECK(slot[i] == 0);
}
