// The registered ring fd (IORING_REGISTER_RING_FDS): used by every enter call,
// from the creating thread; other threads fall back to the plain fd.
//
// The kernel keeps registered rings per thread (tctx->registered_rings, looked
// up in io_uring_enter and io_uring_register): the same index names another
// ring, or none, in another thread or a forked child. Issue 11, item 2.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

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

namespace {

// Creates rings on the calling thread until one is registered at `index`
// (a thread's table hands out the lowest free slot), keeping the others
// open meanwhile so the slot search moves on. nullopt if none lands there.
std::optional<Ring> ring_at_index(int index, const RingOptions& options) {
  std::vector<Ring> fillers;
  for (int i = 0; i < 16; ++i) {
    auto ring = Ring::create(options);
    if (!ring.ok()) return std::nullopt;
    if (ring->registered_index() == index) return std::move(ring.value());
    fillers.push_back(std::move(ring.value()));
  }
  return std::nullopt;
}

// One NOP through `ring`: the CQE's user_data, or -errno of the submit.
long long nop_round_trip(Ring& ring, std::uint64_t tag) {
  Sqe* sqe = ring.get_sqe();
  if (sqe == nullptr) return -ENOSPC;
  prep_nop(*sqe).set_user_data(tag);
  const int submitted = ring.submit_and_wait(1);
  if (submitted < 0) return submitted;
  Cqe* cqe = ring.peek_cqe();
  if (cqe == nullptr) return -ENODATA;
  const long long got = static_cast<long long>(cqe->data());
  ring.cqe_seen(cqe);
  return got;
}

}  // namespace

TEST_CASE("a thread that registered its own ring at the same index still reaches this ring") {
  URING_REQUIRE(testing::missing_register_op(abi::IORING_REGISTER_RING_FDS));
  auto a = testing::create_ring(RingOptions{});
  REQUIRE(a.ok());
  const int index = a->registered_index();
  REQUIRE(index >= 0);
  bool same_index = false;
  long long through_a = 0;
  unsigned a_ready = 99, b_ready = 99;
  int index_seen_there = 0;
  std::thread other([&] {
    std::optional<Ring> b = ring_at_index(index, RingOptions{});
    if (!b) return;
    same_index = true;
    index_seen_there = a->registered_index();
    prep_nop(*a->get_sqe()).set_user_data(12);
    through_a = a->submit_and_wait(1);
    a_ready = a->cq_ready();
    b_ready = b->cq_ready();
  });
  other.join();
  REQUIRE(same_index);
  CHECK(index_seen_there == -1);  // not this thread's index
  CHECK(through_a == 1);
  CHECK(a_ready == 1);
  CHECK(b_ready == 0);
  CHECK(testing::reap_one(*a).data() == 12u);
}

TEST_CASE("close() from another thread leaves that thread's rings alone; the creator's slot is freed") {
  URING_REQUIRE(testing::missing_register_op(abi::IORING_REGISTER_RING_FDS));
  URING_REQUIRE(testing::missing_setup_flags(abi::IORING_SETUP_NO_MMAP | abi::IORING_SETUP_REGISTERED_FD_ONLY));
  const int fds_before = testing::open_fd_count();
  auto a = testing::create_ring(RingOptions{});
  REQUIRE(a.ok());
  const int index = a->registered_index();
  REQUIRE(index >= 0);
  RingOptions fd_only;
  fd_only.no_mmap = true;
  fd_only.registered_fd_only = true;
  bool same_index = false;
  long long before = 0, after = 0;
  std::thread other([&] {
    // B has no fd: its registered slot, at A's index, is all that keeps it.
    std::optional<Ring> b = ring_at_index(index, fd_only);
    if (!b) return;
    same_index = true;
    before = nop_round_trip(*b, 1);
    a->close();  // must not unregister this thread's slot `index` (that is B)
    after = nop_round_trip(*b, 2);
  });
  other.join();
  REQUIRE(same_index);
  CHECK(before == 1);
  CHECK(after == 2);
  CHECK_FALSE(a->valid());
  CHECK(testing::open_fd_count() == fds_before);  // A's fd is closed
  // The creating thread releases A's slot at its next create: the new ring gets it.
  auto c = testing::create_ring(RingOptions{});
  REQUIRE(c.ok());
  CHECK(c->registered_index() == index);
  CHECK(nop_round_trip(*c, 3) == 3);
}

TEST_CASE("a ring moved to another thread works there through its plain fd, and closing it there frees its slot") {
  URING_REQUIRE(testing::missing_register_op(abi::IORING_REGISTER_RING_FDS));
  auto created = testing::create_ring(RingOptions{});
  REQUIRE(created.ok());
  const int index = created->registered_index();
  REQUIRE(index >= 0);
  Ring moved = std::move(created.value());
  long long got = 0;
  int index_there = 0;
  std::thread other([&, ring = std::move(moved)]() mutable {
    index_there = ring.registered_index();
    got = nop_round_trip(ring, 5);
    ring.close();
  });
  other.join();
  CHECK(index_there == -1);
  CHECK(got == 5);
  auto next = testing::create_ring(RingOptions{});
  REQUIRE(next.ok());
  CHECK(next->registered_index() == index);
}

TEST_CASE("a pool of threads sharing one ring (one at a time) all reach it") {
  auto ring = testing::create_ring(RingOptions{});
  REQUIRE(ring.ok());
  std::mutex one_at_a_time;
  std::vector<long long> results(4 * 50);
  std::vector<std::thread> pool;
  for (int t = 0; t < 4; ++t) {
    pool.emplace_back([&, t] {
      // Each pool thread also has a ring of its own, registered in its table.
      auto own = Ring::create(RingOptions{});
      for (int i = 0; i < 50; ++i) {
        std::lock_guard<std::mutex> lock(one_at_a_time);
        results[t * 50 + i] = nop_round_trip(*ring, 1000 + t * 50 + i);
      }
    });
  }
  for (std::thread& thread : pool) thread.join();
  for (int i = 0; i < 4 * 50; ++i) {
    INFO("request " << i);
    CHECK(results[i] == 1000 + i);
  }
}

TEST_CASE("a forked child uses the parent's ring through its plain fd, not the child's own ring at that index") {
  URING_REQUIRE(testing::missing_register_op(abi::IORING_REGISTER_RING_FDS));
  auto a = testing::create_ring(RingOptions{});
  REQUIRE(a.ok());
  const int index = a->registered_index();
  REQUIRE(index >= 0);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    // The child has no registered rings; it registers its own at `index`.
    std::optional<Ring> b = ring_at_index(index, RingOptions{});
    if (!b) ::_exit(10);
    if (nop_round_trip(*a, 7) != 7) ::_exit(11);
    if (b->cq_ready() != 0) ::_exit(12);
    if (nop_round_trip(*b, 8) != 8) ::_exit(13);
    ::_exit(0);
  }
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);  // 10: no slot; 11: A missed; 12: B hit; 13: B broken
  // (The parent must not use A now: parent and child share the rings but not
  // the Ring's local tail, so only one of them may submit to it.)
}

TEST_CASE("a registered_fd_only ring from another thread: -EBADF, nothing submitted, the SQE stays for its owner") {
  URING_REQUIRE(testing::missing_setup_flags(abi::IORING_SETUP_NO_MMAP | abi::IORING_SETUP_REGISTERED_FD_ONLY));
  RingOptions options;
  options.no_mmap = true;
  options.registered_fd_only = true;
  auto ring = testing::create_ring(options);
  REQUIRE_MESSAGE(ring.ok(), ring.error().message);
  prep_nop(*ring->get_sqe()).set_user_data(31);
  int from_other = 0;
  int register_from_other = 0;
  std::thread other([&] {
    from_other = ring->submit();
    register_from_other = ring->register_raw(abi::IORING_REGISTER_PROBE, nullptr, 0);
  });
  other.join();
  CHECK(from_other == -EBADF);
  CHECK(register_from_other == -EBADF);
  CHECK(ring->cq_ready() == 0);
  CHECK(ring->sq_pending() == 1);
  CHECK(ring->submit() == 1);
  CHECK(testing::reap_one(*ring).data() == 31u);
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

// Review of issue 11: the kernel makes the thread that enables a
// start_disabled SINGLE_ISSUER ring its only submitter and from then on
// refuses register calls from any other thread — IORING_UNREGISTER_RING_FDS
// included — so a slot registered at creation could never be released. The
// ring registers its fd from the enabling thread instead.
TEST_CASE("a start_disabled single_issuer ring enabled on another thread is registered there and released") {
  URING_REQUIRE(testing::missing_register_op(abi::IORING_REGISTER_RING_FDS));
  URING_REQUIRE(testing::missing_setup_flags(abi::IORING_SETUP_R_DISABLED | abi::IORING_SETUP_SINGLE_ISSUER));
  int free_index = -1;
  {
    auto probe = testing::create_ring(RingOptions{});
    REQUIRE(probe.ok());
    free_index = probe->registered_index();  // the lowest free slot of this thread, free again below
  }
  REQUIRE(free_index >= 0);
  auto created = testing::create_ring(RingOptions{.start_disabled = true, .single_issuer = true});
  REQUIRE_MESSAGE(created.ok(), created.error().message);
  CHECK(created->registered_index() == -1);  // not in this thread's table
  Ring ring = std::move(created.value());
  bool enabled = false;
  int index_there = -1;
  long long got = 0;
  int next_index_there = -2, index_after_close = -3;
  std::thread worker([&, ring = std::move(ring)]() mutable {
    enabled = ring.enable().ok();
    index_there = ring.registered_index();
    got = nop_round_trip(ring, 44);
    ring.close();  // from the one thread the kernel lets unregister it
    auto next = Ring::create(RingOptions{});
    if (next.ok()) next_index_there = next->registered_index();
    index_after_close = index_there;
  });
  worker.join();
  CHECK(enabled);
  CHECK(index_there >= 0);
  CHECK(got == 44);
  CHECK(next_index_there == index_after_close);  // the slot was released
  auto mine = testing::create_ring(RingOptions{});
  REQUIRE(mine.ok());
  CHECK(mine->registered_index() == free_index);  // nothing of it stayed in this thread's table
}

// Review of issue 11: a child forked while another thread held the orphan
// list's lock inherited it locked and hung in its first close() of an
// inherited Ring. The lock is held across fork() and released on both sides.
TEST_CASE("a forked child can close inherited rings while other threads were closing rings at the fork") {
  URING_REQUIRE(testing::missing_register_op(abi::IORING_REGISTER_RING_FDS));
  std::atomic<bool> stop{false};
  // This thread creates rings; the churner closes them away from it: every
  // close leaves an orphan under the lock, every create here releases them.
  std::mutex handoff_mutex;
  std::vector<Ring> handoff;
  std::thread churner([&] {
    while (!stop.load()) {
      std::vector<Ring> batch;
      {
        std::lock_guard<std::mutex> lock(handoff_mutex);
        batch.swap(handoff);
      }
      batch.clear();  // closes them here
      std::this_thread::yield();
    }
  });
  int hung = 0, failed = 0;
  for (int round = 0; round < 64 && hung == 0; ++round) {
    for (int i = 0; i < 4; ++i) {
      auto ring = Ring::create(RingOptions{.entries = 4});
      if (!ring.ok()) continue;
      std::lock_guard<std::mutex> lock(handoff_mutex);
      handoff.push_back(std::move(ring.value()));
    }
    auto inherited = Ring::create(RingOptions{.entries = 4});
    REQUIRE(inherited.ok());
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      inherited->close();  // a Ring of another thread's token, in the child
      ::_exit(0);
    }
    int status = 0;
    pid_t done = 0;
    for (int waited = 0; waited < 5000 && (done = ::waitpid(child, &status, WNOHANG)) == 0; ++waited) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    if (done == 0) {
      ++hung;
      ::kill(child, SIGKILL);
      ::waitpid(child, &status, 0);
    } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      ++failed;
    }
  }
  stop = true;
  churner.join();
  CHECK(hung == 0);
  CHECK(failed == 0);
}
