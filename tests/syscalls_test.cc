// The raw wrappers: kernel value or -errno, and errno never touched.
// Built twice: //tests:syscalls_test (inline asm on x86_64 and aarch64) and
// //tests:syscalls_libc_test (URING_SYSCALLS_FORCE_LIBC: the syscall(2)
// path that every other architecture takes).
#include <fcntl.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>

#include "syscalls/syscalls.h"
#include "tests/support/kernel_features.h"
#include "tests/support/test_support.h"

using namespace uring;

// errno is read into a local right after the calls, before any CHECK:
// doctest's own output (with -s, every passing assertion is printed) may
// set it.

TEST_CASE("io_uring_setup returns an fd, and -errno without touching errno") {
  abi::io_uring_params params{};
  errno = 1234;
  const int fd = sys::io_uring_setup(4, &params);
  const int errno_after_success = errno;
  REQUIRE(fd >= 0);
  CHECK(errno_after_success == 1234);
  CHECK(params.sq_entries == 4);
  CHECK(params.cq_entries == 8);
  CHECK(::close(fd) == 0);

  abi::io_uring_params zero{};
  errno = 1234;
  const int refused = sys::io_uring_setup(0, &zero);
  const int errno_after_failure = errno;
  CHECK(refused == -EINVAL);
  CHECK(errno_after_failure == 1234);
}

TEST_CASE("io_uring_enter and io_uring_register report -errno on a non-ring fd") {
  const int fd = ::open("/dev/null", O_RDONLY);
  REQUIRE(fd >= 0);
  errno = 77;
  const int enter_not_ring = sys::io_uring_enter(fd, 0, 0, 0);
  const int register_not_ring = sys::io_uring_register(fd, abi::IORING_REGISTER_PROBE, nullptr, 0);
  const int enter_bad_fd = sys::io_uring_enter(-1, 0, 0, 0);
  const int errno_after = errno;
  CHECK(enter_not_ring == -EOPNOTSUPP);
  CHECK(register_not_ring == -EOPNOTSUPP);
  CHECK(enter_bad_fd == -EBADF);
  CHECK(errno_after == 77);
  ::close(fd);
}

TEST_CASE("io_uring_enter with EXT_ARG: a timed wait on an empty ring gives -ETIME") {
  URING_REQUIRE(testing::missing_feature(abi::IORING_FEAT_EXT_ARG));
  abi::io_uring_params params{};
  const int fd = sys::io_uring_setup(4, &params);
  REQUIRE(fd >= 0);
  CHECK((params.features & abi::IORING_FEAT_EXT_ARG) != 0);
  abi::kernel_timespec ts{};
  ts.tv_nsec = 1000000;  // 1 ms
  abi::io_uring_getevents_arg arg{};
  arg.ts = reinterpret_cast<std::uintptr_t>(&ts);
  CHECK(sys::io_uring_enter(fd, 0, 1, abi::IORING_ENTER_GETEVENTS | abi::IORING_ENTER_EXT_ARG, &arg,
                            sizeof arg) == -ETIME);
  ::close(fd);
}

// The numbers the wrappers use are this platform's own (a static_assert in
// syscalls.h checks the inline-asm ones too; this says so where it runs).
static_assert(sys::kNrIoUringSetup == __NR_io_uring_setup);
static_assert(sys::kNrIoUringEnter == __NR_io_uring_enter);
static_assert(sys::kNrIoUringRegister == __NR_io_uring_register);

TEST_CASE("the wrappers take the path this build asks for") {
#if defined(URING_SYSCALLS_FORCE_LIBC) || !((defined(__x86_64__) || defined(__aarch64__)) && defined(__LP64__))
  CHECK(sys::kViaLibc);
#else
  CHECK_FALSE(sys::kViaLibc);
#endif
}

namespace {

volatile sig_atomic_t usr1_delivered = 0;
void on_usr1(int) { usr1_delivered = 1; }

}  // namespace

// Without IORING_ENTER_EXT_ARG the kernel takes `arg` as a sigset_t and
// requires argsz == its own sizeof(sigset_t) (set_user_sigmask), checked
// once io_uring_enter is about to sleep. SIGUSR1 is blocked and pending; a
// mask that unblocks it, of the right size, is applied for the wait, which
// then ends at once with -EINTR and the handler runs. Of the wrong size it
// is refused with -EINVAL and nothing is delivered.
TEST_CASE("io_uring_enter takes a signal mask of exactly kKernelSigsetSize bytes") {
  abi::io_uring_params params{};
  const int fd = sys::io_uring_setup(4, &params);
  REQUIRE(fd >= 0);

  struct sigaction action {};
  action.sa_handler = on_usr1;
  sigemptyset(&action.sa_mask);
  struct sigaction old_action {};
  REQUIRE(::sigaction(SIGUSR1, &action, &old_action) == 0);
  sigset_t blocked;
  sigemptyset(&blocked);
  sigaddset(&blocked, SIGUSR1);
  sigset_t old_mask;
  REQUIRE(::pthread_sigmask(SIG_BLOCK, &blocked, &old_mask) == 0);
  usr1_delivered = 0;
  REQUIRE(::pthread_kill(::pthread_self(), SIGUSR1) == 0);
  CHECK(usr1_delivered == 0);

  sigset_t wait_mask = old_mask;  // the thread's mask before, without SIGUSR1
  sigdelset(&wait_mask, SIGUSR1);
  const unsigned getevents = abi::IORING_ENTER_GETEVENTS;
  errno = 55;
  const int too_long = sys::io_uring_enter(fd, 0, 1, getevents, &wait_mask, sys::kKernelSigsetSize + 8);
  const int libc_size = sys::io_uring_enter(fd, 0, 1, getevents, &wait_mask, sizeof(sigset_t));
  const int too_short = sys::io_uring_enter(fd, 0, 1, getevents, &wait_mask, sys::kKernelSigsetSize / 2);
  const bool delivered_while_refused = usr1_delivered != 0;
  sigset_t pending;
  sigemptyset(&pending);
  const bool still_pending = ::sigpending(&pending) == 0 && sigismember(&pending, SIGUSR1) == 1;
  // The 5-argument form passes kKernelSigsetSize.
  const int right_size = sys::io_uring_enter(fd, 0, 1, getevents, &wait_mask);
  const int errno_after = errno;
  CHECK(too_long == -EINVAL);
  CHECK(libc_size == -EINVAL);
  CHECK(too_short == -EINVAL);
  CHECK_FALSE(delivered_while_refused);
  CHECK(still_pending);
  CHECK(right_size == -EINTR);
  CHECK(errno_after == 55);
  // Delivered on the way out of the call; ThreadSanitizer's runtime defers
  // running the handler to its next interception point, hence the wait.
  CHECK(testing::eventually([] { return usr1_delivered != 0; }, std::chrono::milliseconds(2000)));

  REQUIRE(::pthread_sigmask(SIG_SETMASK, &old_mask, nullptr) == 0);
  REQUIRE(::sigaction(SIGUSR1, &old_action, nullptr) == 0);
  ::close(fd);
}
