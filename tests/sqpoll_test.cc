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
#include <vector>

#include "tests/support/kernel_features.h"
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

// Whether this machine lets a thread install a seccomp filter at all: asked
// in a throwaway thread (the filter dies with it) before a test relies on one.
bool seccomp_filters_available() {
  bool installed = false;
  std::thread probe([&] { installed = forbid_io_uring_enter_in_this_thread(); });
  probe.join();
  return installed;
}

Cqe* spin_for_cqe(Ring& ring, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (ring.cq_ready() > 0) return ring.peek_cqe();
    std::this_thread::yield();
  }
  return nullptr;
}

// An SQPOLL ring of `entries` whose poller has gone to sleep: after
// sqpoll_idle_ms without work it sets NEED_WAKEUP and sleeps; wait (up to
// 10 s) for the flag that says so.
Ring sleeping_poller_ring(unsigned entries, unsigned idle_ms) {
  RingOptions options;
  options.entries = entries;
  options.sqpoll = true;
  options.sqpoll_idle_ms = idle_ms;
  auto ring = testing::create_ring(options);
  REQUIRE_MESSAGE(ring.ok(), ring.error().message);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!ring->sq_needs_wakeup() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  REQUIRE(ring->sq_needs_wakeup());
  return std::move(*ring);
}

}  // namespace

TEST_CASE("sqpoll: while the poller is awake, submits make no io_uring_enter and still complete") {
  URING_REQUIRE(testing::missing_setup_flags(abi::IORING_SETUP_SQPOLL));
  if (!seccomp_filters_available()) {
    URING_SKIP("this machine refuses seccomp filters (prctl/seccomp failed); cannot prove that no enter happened");
  }
  RingOptions options;
  options.entries = 16;
  options.sqpoll = true;
  // Every SQE the poller handles restarts its idle time, so with 10 s it
  // stays awake through this test even on a loaded machine.
  options.sqpoll_idle_ms = 10000;
  auto created = testing::create_ring(options);
  REQUIRE_MESSAGE(created.ok(), created.error().message);
  Ring& ring = *created;

  // Wake the poller (this may enter); once it has handled the NOP it spins.
  prep_nop(testing::next_sqe(ring)).set_user_data(1);
  CHECK(testing::reap_one(ring).data() == 1);
  REQUIRE_FALSE(ring.sq_needs_wakeup());

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
      submitted[i] = ring.submit();  // must not enter: the poller is awake (-EPERM if it did)
      Cqe* c = spin_for_cqe(ring, std::chrono::seconds(10));
      if (!c) return;
      tags[i] = c->data();
      ring.cqe_seen(c);
    }
  });
  worker.join();
  REQUIRE(filtered);
  for (int i = 0; i < 3; ++i) {
    CHECK(submitted[i] == 1);
    CHECK(tags[i] == 100u + i);
  }
}

TEST_CASE("sqpoll: a poller that went to sleep is woken by the next submit") {
  URING_REQUIRE(testing::missing_setup_flags(abi::IORING_SETUP_SQPOLL));
  Ring ring = sleeping_poller_ring(16, 10);
  prep_nop(testing::next_sqe(ring)).set_user_data(77);
  CHECK(ring.submit() == 1);  // enters with IORING_ENTER_SQ_WAKEUP
  // A sleeping poller never picks the SQE up by itself: without the wake-up
  // this CQE would not come.
  Cqe* cqe = spin_for_cqe(ring, std::chrono::seconds(10));
  REQUIRE(cqe != nullptr);
  CHECK(cqe->data() == 77);
  CHECK(cqe->result() == 0);
  ring.cqe_seen(cqe);
}

// submit_and_wait with WaitOptions wakes a sleeping poller also for SQEs
// published before the call (flush_sq, as liburing's __io_uring_flush_sq):
// found by tools/inspect, where submit_and_wait(1, 1 s) after flush_sq()
// returned -ETIME with the SQE never consumed (and would hang with no timeout).
TEST_CASE("sqpoll: submit_and_wait with options wakes a sleeping poller for SQEs flush_sq published") {
  URING_REQUIRE(testing::missing_setup_flags(abi::IORING_SETUP_SQPOLL));
  Ring ring = sleeping_poller_ring(16, 10);
  prep_nop(testing::next_sqe(ring)).set_user_data(78);
  CHECK(ring.flush_sq() == 1);  // published, not woken: the poller still sleeps
  WaitOptions wait;
  wait.timeout = std::chrono::seconds(2);  // (the bug: -ETIME; without a timeout, a hang)
  CHECK(ring.submit_and_wait(1, wait) >= 0);
  Cqe* cqe = ring.peek_cqe();
  REQUIRE(cqe != nullptr);
  CHECK(cqe->data() == 78);
  CHECK(cqe->result() == 0);
  ring.cqe_seen(cqe);
}

TEST_CASE("sqpoll: a full SQ waits for the poller with wait_for_sq_space") {
  URING_REQUIRE(testing::missing_setup_flags(abi::IORING_SETUP_SQPOLL));
  RingOptions options;
  options.entries = 4;
  options.sqpoll = true;
  options.sqpoll_idle_ms = 100;
  auto ring = testing::create_ring(options);
  REQUIRE_MESSAGE(ring.ok(), ring.error().message);
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

// Issue 11, item 7: `while (!(sqe = get_sqe())) wait_for_sq_space();` must
// make progress. wait_for_sq_space used to neither publish the SQEs taken
// nor wake the poller (SQ_WAIT returns at once while the kernel sees a
// non-full SQ), and without SQPOLL the kernel ignores SQ_WAIT: both spun.
namespace {

void fill_through_wait_for_sq_space(bool sqpoll) {
  RingOptions options;
  options.entries = 4;
  options.cq_entries = 256;
  options.sqpoll = sqpoll;
  options.sqpoll_idle_ms = 1;  // the poller sleeps between bursts: the wake-up is needed
  auto ring = testing::create_ring(options);
  REQUIRE_MESSAGE(ring.ok(), ring.error().message);
  constexpr unsigned kTotal = 100;
  unsigned waits = 0;
  for (unsigned i = 0; i < kTotal; ++i) {
    Sqe* sqe = nullptr;
    while ((sqe = ring->get_sqe()) == nullptr && waits < 100000) {
      ++waits;
      REQUIRE(ring->wait_for_sq_space() == 0);
      if (waits % 8 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));  // let the poller doze
    }
    REQUIRE_MESSAGE(sqe != nullptr, "wait_for_sq_space made no room after " << waits << " calls");
    prep_nop(*sqe).set_user_data(i);
  }
  REQUIRE(ring->submit() >= 0);
  CHECK(waits < kTotal);  // each wait made room for at least one more
  const std::vector<Cqe> cqes = testing::reap(*ring, kTotal, std::chrono::milliseconds(10000));
  for (unsigned i = 0; i < kTotal; ++i) CHECK(cqes[i].data() == i);
}

}  // namespace

TEST_CASE("sqpoll: the get_sqe / wait_for_sq_space loop fills SQ after SQ without an explicit submit") {
  URING_REQUIRE(testing::missing_setup_flags(abi::IORING_SETUP_SQPOLL));
  fill_through_wait_for_sq_space(true);
}

TEST_CASE("without SQPOLL the same get_sqe / wait_for_sq_space loop makes room by submitting") {
  fill_through_wait_for_sq_space(false);
}

// WaitOptions::spin: on SQPOLL the poller posts completions with no enter at
// all, so a wait that spins first reaps them without a system call (as fio's
// SQPOLL engine does), submit included while the poller is awake.
TEST_CASE("sqpoll: submit_and_wait and wait_cqes with WaitOptions::spin reap without an io_uring_enter") {
  URING_REQUIRE(testing::missing_setup_flags(abi::IORING_SETUP_SQPOLL));
  if (!seccomp_filters_available()) {
    URING_SKIP("this machine refuses seccomp filters (prctl/seccomp failed); cannot prove that no enter happened");
  }
  RingOptions options;
  options.entries = 16;
  options.sqpoll = true;
  options.sqpoll_idle_ms = 10000;
  auto created = testing::create_ring(options);
  REQUIRE_MESSAGE(created.ok(), created.error().message);
  Ring& ring = *created;
  prep_nop(testing::next_sqe(ring)).set_user_data(1);
  CHECK(testing::reap_one(ring).data() == 1);
  REQUIRE_FALSE(ring.sq_needs_wakeup());

  bool filtered = false;
  int waited[2] = {-1, -1}, submitted = -1;
  unsigned ready[2] = {0, 0};
  std::thread worker([&] {
    filtered = forbid_io_uring_enter_in_this_thread();
    if (!filtered) return;
    WaitOptions spin;
    spin.spin = std::chrono::seconds(5);  // far longer than a NOP takes: it ends by the CQEs
    for (unsigned i = 0; i < 4; ++i) prep_nop(*ring.get_sqe()).set_user_data(10 + i);
    waited[0] = ring.submit_and_wait(4, spin);  // -EPERM if it entered
    ready[0] = ring.cq_ready();
    ring.advance(ready[0]);
    prep_nop(*ring.get_sqe()).set_user_data(20);
    submitted = ring.submit();
    waited[1] = ring.wait_cqes(1, spin);
    ready[1] = ring.cq_ready();
    ring.advance(ready[1]);
  });
  worker.join();
  REQUIRE(filtered);
  CHECK(waited[0] == 4);
  CHECK(ready[0] == 4);
  CHECK(submitted == 1);
  CHECK(waited[1] == 0);
  CHECK(ready[1] == 1);
  // Without the spin the same wait enters (and the filter refuses it).
  bool refused = false;
  std::thread unspun([&] {
    if (!forbid_io_uring_enter_in_this_thread()) return;
    refused = ring.wait_cqes(1, WaitOptions{}) == -EPERM;
  });
  unspun.join();
  CHECK(refused);
}

// Review of b18da83, 5: SQEs published by flush_sq to a poller that has gone
// to sleep: submit_and_wait(n, {.spin}) wakes it before spinning (it used to
// spin its whole length, then wake it with the first enter).
TEST_CASE("sqpoll: submit_and_wait with spin wakes a sleeping poller for SQEs flush_sq published") {
  URING_REQUIRE(testing::missing_setup_flags(abi::IORING_SETUP_SQPOLL));
  Ring ring = sleeping_poller_ring(8, 1);
  prep_nop(testing::next_sqe(ring)).set_user_data(2);
  ring.flush_sq();
  WaitOptions spin;
  spin.spin = std::chrono::seconds(3);
  spin.timeout = std::chrono::seconds(10);
  const auto before = std::chrono::steady_clock::now();
  CHECK(ring.submit_and_wait(1, spin) >= 0);
  CHECK(std::chrono::steady_clock::now() - before < std::chrono::milliseconds(1500));
  CHECK(testing::reap_one(ring).data() == 2);
}
