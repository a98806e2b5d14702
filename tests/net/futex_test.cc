// FUTEX_WAIT, FUTEX_WAKE, FUTEX_WAITV (with each other and with the futex
// system call) and WAITID on a forked child.
#include <linux/futex.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <atomic>
#include <set>
#include <thread>

#include "tests/net/net_support.h"

using namespace uring;
using namespace uring::nettest;

namespace {

// futex(2) FUTEX_WAKE_PRIVATE, the classic call the ring's waiters must see.
long futex_wake_syscall(std::uint32_t* word, int count) {
  return ::syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, count, nullptr, nullptr, 0);
}

// Kills and reaps a child the test did not reap itself (when it failed early).
struct ChildGuard {
  pid_t pid = -1;
  ~ChildGuard() {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
  }
};

}  // namespace

TEST_CASE("futex wake wakes exactly the waiters asked for") {
  FdLeakCheck leaks;
  Ring ring = make_ring();
  Probe probe = probe_of(ring);
  URING_REQUIRE_OP(probe, abi::IORING_OP_FUTEX_WAIT);
  URING_REQUIRE_OP(probe, abi::IORING_OP_FUTEX_WAKE);
  alignas(4) std::uint32_t word = 0;

  for (std::uint64_t i = 1; i <= 3; ++i) prep_futex_wait(next_sqe(ring), &word, 0).set_user_data(i);
  expect_no_cqe(ring);  // all three asleep

  prep_futex_wake(next_sqe(ring), &word, 2).set_user_data(10);
  auto first = reap(ring, 3);  // the wake and the two woken
  CHECK(only(first, 10).result() == 2);
  std::set<std::uint64_t> woken;
  for (const Cqe& cqe : first) {
    if (cqe.data() == 10) continue;
    CHECK(cqe.result() == 0);
    woken.insert(cqe.data());
  }
  REQUIRE(woken.size() == 2);
  expect_no_cqe(ring);  // the third sleeps on

  // The classic system call wakes an io_uring waiter too.
  CHECK(futex_wake_syscall(&word, 5) == 1);
  Cqe last = reap_one(ring);
  CHECK(last.result() == 0);
  CHECK(woken.count(last.data()) == 0);

  // Nobody left: a wake returns 0.
  prep_futex_wake(next_sqe(ring), &word, 10).set_user_data(11);
  CHECK(reap_one(ring).result() == 0);

  // The value changed before the wait: -EAGAIN at once, no sleep.
  word = 7;
  prep_futex_wait(next_sqe(ring), &word, 0).set_user_data(12);
  CHECK(reap_one(ring).result() == -EAGAIN);

  // Masks: a wake only reaches waiters whose bitset overlaps.
  prep_futex_wait(next_sqe(ring), &word, 7, 0x1).set_user_data(13);
  prep_futex_wait(next_sqe(ring), &word, 7, 0x2).set_user_data(14);
  REQUIRE(ring.submit() == 2);
  prep_futex_wake(next_sqe(ring), &word, 10, 0x2).set_user_data(15);
  auto masked = reap(ring, 2);
  CHECK(only(masked, 15).result() == 1);
  CHECK(only(masked, 14).result() == 0);
  prep_cancel(next_sqe(ring), 13).set_user_data(16);
  auto cancelled = reap(ring, 2);
  const int futex_cancel = only(cancelled, 16).result();
  CHECK((futex_cancel == 0 || futex_cancel == 1));  // futex cancels report a count
  CHECK(only(cancelled, 13).result() == -ECANCELED);

  // Bad input: a zero mask, unknown flags.
  prep_futex_wait(next_sqe(ring), &word, 7, 0).set_user_data(17);
  CHECK(reap_one(ring).result() == -EINVAL);
  prep_futex_wake(next_sqe(ring), &word, 1, futex2::match_any, 0x4000).set_user_data(18);
  CHECK(reap_one(ring).result() == -EINVAL);
}

TEST_CASE("a ring's futex wake wakes a thread blocked in the futex system call") {
  Ring ring = make_ring();
  Probe probe = probe_of(ring);
  URING_REQUIRE_OP(probe, abi::IORING_OP_FUTEX_WAKE);
  alignas(4) std::uint32_t word = 0;
  std::atomic<int> woke{0};
  std::thread sleeper([&] {
    const timespec limit{5, 0};
    // Returns 0 when woken; -1/ETIMEDOUT after 5 s so the test cannot hang.
    woke = ::syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 0, &limit, nullptr, 0) == 0 ? 1 : -errno;
  });
  int woken = 0;
  for (int attempt = 0; attempt < 500 && woken == 0; ++attempt) {  // until the thread is asleep
    prep_futex_wake(next_sqe(ring), &word, 1).set_user_data(1);
    woken = reap_one(ring).result();
    if (woken == 0) ::usleep(1000);
  }
  sleeper.join();
  CHECK(woken == 1);
  CHECK(woke == 1);
}

TEST_CASE("futex waitv returns the index of the futex that was woken") {
  FdLeakCheck leaks;
  Ring ring = make_ring();
  Probe probe = probe_of(ring);
  URING_REQUIRE_OP(probe, abi::IORING_OP_FUTEX_WAITV);
  alignas(4) std::uint32_t words[3] = {0, 0, 0};
  FutexWaitv waitv[3] = {futex_waitv_entry(&words[0], 0), futex_waitv_entry(&words[1], 0),
                         futex_waitv_entry(&words[2], 0)};
  prep_futex_waitv(next_sqe(ring), waitv, 3).set_user_data(1);
  expect_no_cqe(ring);
  CHECK(futex_wake_syscall(&words[2], 1) == 1);
  Cqe woken = reap_one(ring);
  CHECK(woken.data() == 1);
  CHECK(woken.result() == 2);

  // Woken through the ring, on entry 1.
  prep_futex_waitv(next_sqe(ring), waitv, 3).set_user_data(2);
  REQUIRE(ring.submit() == 1);
  expect_no_cqe(ring);
  prep_futex_wake(next_sqe(ring), &words[1], 1).set_user_data(3);
  auto both = reap(ring, 2);
  CHECK(only(both, 3).result() == 1);
  CHECK(only(both, 2).result() == 1);

  // One value already differs: -EAGAIN at once.
  words[0] = 5;
  prep_futex_waitv(next_sqe(ring), waitv, 3).set_user_data(4);
  CHECK(reap_one(ring).result() == -EAGAIN);
  // No entries, or too many: refused.
  prep_futex_waitv(next_sqe(ring), waitv, 0).set_user_data(5);
  CHECK(reap_one(ring).result() == -EINVAL);
  prep_futex_waitv(next_sqe(ring), waitv, 129).set_user_data(6);
  CHECK(reap_one(ring).result() == -EINVAL);
}

TEST_CASE("waitid returns the status of a forked child that exits") {
  FdLeakCheck leaks;
  Ring ring = make_ring();
  Probe probe = probe_of(ring);
  URING_REQUIRE_OP(probe, abi::IORING_OP_WAITID);

  // The child waits for the parent to close a pipe, then exits with 42. If
  // the test fails early the pipe closes anyway, so the child never lingers.
  auto [read_end, write_end] = make_pipe();
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    ::close(write_end.get());  // else the child would keep its own pipe open
    char byte;
    while (::read(read_end.get(), &byte, 1) < 0 && errno == EINTR) {
    }
    ::_exit(42);
  }
  read_end.reset();

  siginfo_t info{};
  prep_waitid(next_sqe(ring), P_PID, static_cast<id_t>(child), &info, WEXITED).set_user_data(1);
  expect_no_cqe(ring);  // the child is still alive
  write_end.reset();                                 // let it go
  Cqe done = reap_one(ring);
  CHECK(done.data() == 1);
  CHECK(done.result() == 0);
  CHECK(info.si_pid == child);
  CHECK(info.si_signo == SIGCHLD);
  CHECK(info.si_code == CLD_EXITED);
  CHECK(info.si_status == 42);
  // Reaped: nothing is left to wait for.
  CHECK(::waitpid(child, nullptr, WNOHANG) == -1);
  CHECK(errno == ECHILD);

  // A pid that is not our child.
  prep_waitid(next_sqe(ring), P_PID, 1, &info, WEXITED).set_user_data(2);
  CHECK(reap_one(ring).result() == -ECHILD);
  // Options without anything to wait for.
  prep_waitid(next_sqe(ring), P_ALL, 0, &info, 0).set_user_data(3);
  CHECK(reap_one(ring).result() == -EINVAL);
}

TEST_CASE("waitid sees a child killed by a signal, and can be cancelled") {
  Ring ring = make_ring();
  Probe probe = probe_of(ring);
  URING_REQUIRE_OP(probe, abi::IORING_OP_WAITID);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    ::pause();
    ::_exit(0);
  }
  ChildGuard guard{child};
  // A cancelled wait leaves the child to be waited for again.
  siginfo_t info{};
  prep_waitid(next_sqe(ring), P_PID, static_cast<id_t>(child), &info, WEXITED).set_user_data(1);
  REQUIRE(ring.submit() == 1);
  prep_cancel(next_sqe(ring), 1).set_user_data(2);
  auto cancelled = reap(ring, 2);
  const int waitid_cancel = only(cancelled, 2).result();
  CHECK((waitid_cancel == 0 || waitid_cancel == 1));  // waitid cancels report a count
  CHECK(only(cancelled, 1).result() == -ECANCELED);

  prep_waitid(next_sqe(ring), P_PID, static_cast<id_t>(child), &info, WEXITED).set_user_data(3);
  REQUIRE(ring.submit() == 1);
  REQUIRE(::kill(child, SIGKILL) == 0);
  Cqe done = reap_one(ring);
  CHECK(done.result() == 0);
  CHECK(info.si_pid == child);
  CHECK(info.si_code == CLD_KILLED);
  CHECK(info.si_status == SIGKILL);
  guard.pid = -1;  // reaped by the ring
}
