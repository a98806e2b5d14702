// SQPOLL: the kernel thread picks up SQEs without io_uring_enter; when it has
// slept past its idle time, the next submit wakes it.
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include <cerrno>
#include <chrono>
#include <cstddef>
#include <thread>

#include "tests/support/test_support.h"
#include "uring/uring.h"

using namespace uring;

namespace {

// Makes io_uring_enter fail with EPERM in the calling thread only. If
// submit() ever entered the kernel, we would see -EPERM instead of a count.
bool forbid_io_uring_enter_in_this_thread() {
  sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, static_cast<unsigned>(sys::kNrIoUringEnter), 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  sock_fprog program{static_cast<unsigned short>(sizeof filter / sizeof filter[0]), filter};
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return false;
  // Without SECCOMP_FILTER_FLAG_TSYNC the filter applies to this thread only.
  return ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &program) == 0;
}

Cqe* spin_for_cqe(Ring& ring, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (ring.cq_ready() > 0) return ring.peek_cqe();
    std::this_thread::yield();
  }
  return nullptr;
}

}  // namespace

TEST_CASE("sqpoll: completions arrive with no io_uring_enter; an idle poller is woken") {
  RingOptions options;
  options.entries = 16;
  options.sqpoll = true;
  options.sqpoll_idle_ms = 1000;
  auto created = testing::create_ring(options);
  if (!created) URING_SKIP("SQPOLL: " + created.error().message);
  Ring& ring = *created;

  // Wake the poller (this may enter), so it spins for sqpoll_idle_ms.
  Sqe* sqe = ring.get_sqe();
  REQUIRE(sqe != nullptr);
  prep_nop(*sqe).set_user_data(1);
  REQUIRE(ring.submit_and_wait(1) >= 0);
  Cqe* cqe = ring.peek_cqe();
  REQUIRE(cqe != nullptr);
  ring.cqe_seen(cqe);

  bool filtered = false;
  int submitted[3] = {-1, -1, -1};
  std::uint64_t tags[3] = {0, 0, 0};
  std::thread worker([&] {
    filtered = forbid_io_uring_enter_in_this_thread();
    if (!filtered) return;
    for (int i = 0; i < 3; ++i) {
      Sqe* s = ring.get_sqe();
      if (!s) return;
      prep_nop(*s).set_user_data(100 + i);
      submitted[i] = ring.submit();  // must not enter: the poller is awake
      Cqe* c = spin_for_cqe(ring, std::chrono::milliseconds(500));
      if (!c) return;
      tags[i] = c->data();
      ring.cqe_seen(c);
    }
  });
  worker.join();
  if (!filtered) URING_SKIP("seccomp is not available here; cannot prove that no enter happened");
  for (int i = 0; i < 3; ++i) {
    CHECK(submitted[i] == 1);
    CHECK(tags[i] == 100u + i);
  }

  // Let the poller go idle: after sqpoll_idle_ms it sets NEED_WAKEUP and sleeps.
  RingOptions quick = options;
  quick.sqpoll_idle_ms = 10;
  auto idle_ring = testing::create_ring(quick);
  REQUIRE(idle_ring.ok());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!idle_ring->sq_needs_wakeup() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  REQUIRE(idle_ring->sq_needs_wakeup());
  sqe = idle_ring->get_sqe();
  REQUIRE(sqe != nullptr);
  prep_nop(*sqe).set_user_data(77);
  CHECK(idle_ring->submit() == 1);  // enters with IORING_ENTER_SQ_WAKEUP
  cqe = spin_for_cqe(*idle_ring, std::chrono::seconds(5));
  REQUIRE(cqe != nullptr);
  CHECK(cqe->data() == 77);
  CHECK(cqe->result() == 0);
  idle_ring->cqe_seen(cqe);
}

TEST_CASE("sqpoll: a full SQ waits for the poller with wait_for_sq_space") {
  RingOptions options;
  options.entries = 4;
  options.sqpoll = true;
  options.sqpoll_idle_ms = 100;
  auto ring = testing::create_ring(options);
  if (!ring) URING_SKIP("SQPOLL: " + ring.error().message);
  unsigned sent = 0, received = 0;
  while (received < 200) {
    while (sent < 200) {
      Sqe* sqe = ring->get_sqe();
      if (!sqe) break;
      prep_nop(*sqe).set_user_data(sent++);
    }
    REQUIRE(ring->submit() >= 0);
    if (ring->sq_space_left() == 0) REQUIRE(ring->wait_for_sq_space() >= 0);
    ring->for_each_cqe([&](const Cqe& cqe) {
      CHECK(cqe.data() == received);  // the poller consumes in order
      ++received;
    });
    if (received < sent && ring->cq_ready() == 0) REQUIRE(ring->wait_cqes(1) == 0);
  }
  CHECK(received == 200);
}
