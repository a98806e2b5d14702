// CQ overflow: with FEAT_NODROP the kernel keeps completions that did not fit
// and the ring flushes them back; none is lost or seen twice.
#include <cerrno>
#include <vector>

#include "tests/support/kernel_features.h"
#include "tests/support/test_support.h"
#include "uring/uring.h"

using namespace uring;

namespace {

// Floods an 8/16-entry ring with NOPs and reaps them through the overflow list.
void overflow_round_trip(bool defer) {
  RingOptions options;
  options.entries = 8;
  options.cq_entries = 16;
  options.single_issuer = options.defer_taskrun = defer;
  auto ring = testing::create_ring(options);
  REQUIRE_MESSAGE(ring.ok(), ring.error().message);
  REQUIRE(ring->has_feature(abi::IORING_FEAT_NODROP));
  REQUIRE(ring->cq_entries() == 16);
  constexpr unsigned kTotal = 4000;
  std::vector<int> seen(kTotal, 0);
  unsigned sent = 0;
  while (sent < kTotal) {
    Sqe* sqe = ring->get_sqe();
    if (sqe == nullptr) {
      const int ret = ring->submit();
      if (ret == -EBUSY || ret == -EAGAIN) break;  // kernel asks us to reap first
      REQUIRE(ret >= 0);
      continue;
    }
    prep_nop(*sqe).set_user_data(sent++);
  }
  (void)ring->submit();
  // Nothing reaped so far: the CQ is full and the rest sits in overflow.
  CHECK(ring->cq_ready() == 16);
  CHECK(ring->cq_overflow_pending());

  unsigned received = 0;
  int idle_rounds = 0;
  while (received < kTotal && idle_rounds < 1000) {
    const unsigned got = ring->for_each_cqe([&](const Cqe& cqe) {
      REQUIRE(cqe.data() < kTotal);
      CHECK(cqe.result() == 0);
      ++seen[cqe.data()];
    });
    received += got;
    idle_rounds = got ? 0 : idle_rounds + 1;
    if (got == 0) {
      // Submit whatever did not fit before, and wait for one more.
      while (sent < kTotal) {
        Sqe* sqe = ring->get_sqe();
        if (!sqe) break;
        prep_nop(*sqe).set_user_data(sent++);
      }
      const int ret = ring->submit_and_wait(1, WaitOptions{});
      REQUIRE_MESSAGE((ret >= 0 || ret == -EBUSY || ret == -EAGAIN), ret);
    }
  }
  CHECK(received == kTotal);
  for (unsigned i = 0; i < kTotal; ++i) {
    if (seen[i] != 1) {
      FAIL_CHECK("user_data " << i << " seen " << seen[i] << " times");
      break;
    }
  }
  CHECK(ring->cq_overflow() == 0);  // nothing dropped
  CHECK_FALSE(ring->cq_overflow_pending());
}

}  // namespace

// Without FEAT_NODROP (5.5) the kernel drops overflowed CQEs: nothing to test.
TEST_CASE("far more NOPs than the CQ holds: every completion arrives exactly once") {
  URING_REQUIRE(testing::missing_feature(abi::IORING_FEAT_NODROP));
  overflow_round_trip(false);
}

TEST_CASE("the same through the overflow list of a DEFER_TASKRUN ring") {
  URING_REQUIRE(testing::missing_feature(abi::IORING_FEAT_NODROP));
  URING_REQUIRE(testing::missing_setup_flags(abi::IORING_SETUP_SINGLE_ISSUER | abi::IORING_SETUP_DEFER_TASKRUN));
  overflow_round_trip(true);
}
