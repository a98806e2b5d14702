// RLIMIT_MEMLOCK set to 0 before setup (issue 14, Faults), in a forked
// child so that this process keeps its limit.
//
// What Linux 6.18 does (io_uring/memmap.c io_create_region, io_uring.c
// io_uring_create): the rings are a region, and a region's pages are
// charged to the creating user's locked memory (__io_account_mem against
// RLIMIT_MEMLOCK) whenever the creator lacks CAP_IPC_LOCK (ctx->user is
// then set); with CAP_IPC_LOCK nothing is charged. So with a limit of 0:
//   - with CAP_IPC_LOCK (of the initial user namespace: ns_capable on
//     init_user_ns) in the effective set, setup works;
//   - without it, setup fails with ENOMEM, and Ring::create's message says
//     that RLIMIT_MEMLOCK (`ulimit -l`) is what to raise.
// The child drops CAP_IPC_LOCK from its effective set itself for the
// second case, so both run whatever the test process holds.
#include <linux/capability.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>

#include "tests/faults/faults_support.h"

using namespace uring;
using namespace uring::faults;

namespace {

constexpr int kCapIpcLock = 14;  // CAP_IPC_LOCK

bool has_effective(int capability) {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  if (::syscall(SYS_capget, &header, data) != 0) return false;
  return (data[capability / 32].effective & (1u << (capability % 32))) != 0;
}

bool drop_effective(int capability) {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  if (::syscall(SYS_capget, &header, data) != 0) return false;
  data[capability / 32].effective &= ~(1u << (capability % 32));
  if (::syscall(SYS_capset, &header, data) != 0) return false;
  return !has_effective(capability);
}

// The kernel asks for CAP_IPC_LOCK in the initial user namespace: a process
// in a user namespace (Bazel's sandbox makes one) may hold it in its own
// namespace and still be charged. The initial namespace maps every id to
// itself: /proc/self/uid_map is "0 0 4294967295".
bool in_initial_user_namespace() {
  std::FILE* file = std::fopen("/proc/self/uid_map", "r");
  if (!file) return false;
  unsigned long inside = 1, outside = 1, count = 0;
  const int fields = std::fscanf(file, "%lu %lu %lu", &inside, &outside, &count);
  std::fclose(file);
  return fields == 3 && inside == 0 && outside == 0 && count == 4294967295ul;
}

// What the child saw, sent back through a pipe.
struct Outcome {
  int step = 0;  // 0: Ring::create was called; else the step that failed first
  bool ok = false;
  int code = 0;
  bool nop_round_trip = false;
  char message[512] = {};
};

// In a child: optionally drop CAP_IPC_LOCK, set RLIMIT_MEMLOCK to 0, create a ring.
Outcome setup_with_memlock_zero(bool drop_ipc_lock) {
  Pipe channel;
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    Outcome out;
    const struct rlimit zero {0, 0};
    if (drop_ipc_lock && !drop_effective(kCapIpcLock)) {
      out.step = 1;
    } else if (::setrlimit(RLIMIT_MEMLOCK, &zero) != 0) {
      out.step = 2;
    } else {
      RingOptions options;
      options.entries = 8;
      auto ring = Ring::create(options);
      out.ok = ring.ok();
      if (ring.ok()) {
        Sqe* sqe = ring->get_sqe();
        if (sqe) {
          prep_nop(*sqe).set_user_data(7);
          out.nop_round_trip = ring->submit_and_wait(1) == 1 && ring->peek_cqe() &&
                               ring->peek_cqe()->data() == 7 && ring->peek_cqe()->result() == 0;
        }
      } else {
        out.code = ring.error().code;
        std::snprintf(out.message, sizeof out.message, "%s", ring.error().message.c_str());
      }
    }
    const bool sent = ::write(channel.w, &out, sizeof out) == static_cast<ssize_t>(sizeof out);
    ::_exit(sent ? 0 : 1);
  }
  Outcome out;
  const ssize_t got = ::read(channel.r, &out, sizeof out);
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  REQUIRE(got == static_cast<ssize_t>(sizeof out));
  out.message[sizeof out.message - 1] = '\0';
  return out;
}

}  // namespace

TEST_CASE("RLIMIT_MEMLOCK 0 without CAP_IPC_LOCK: setup fails with ENOMEM and a message naming RLIMIT_MEMLOCK") {
  const Outcome out = setup_with_memlock_zero(true);
  INFO("message: " << std::string(out.message));
  REQUIRE(out.step == 0);
  CHECK_FALSE(out.ok);
  CHECK(out.code == ENOMEM);
  const std::string message = out.message;
  CHECK(message.find("RLIMIT_MEMLOCK") != std::string::npos);
  CHECK(message.find("ulimit -l") != std::string::npos);
  CHECK(message.find("raise the limit") != std::string::npos);
}

TEST_CASE("RLIMIT_MEMLOCK 0 with CAP_IPC_LOCK: nothing is charged, setup works") {
  URING_REQUIRE(testing::missing_capability(kCapIpcLock, "CAP_IPC_LOCK"));
  if (!in_initial_user_namespace()) {
    URING_SKIP("CAP_IPC_LOCK counts only in the initial user namespace, and this process runs in another "
               "(a sandbox): there its ring memory is charged to RLIMIT_MEMLOCK all the same");
  }
  const Outcome out = setup_with_memlock_zero(false);
  INFO("message: " << std::string(out.message));
  REQUIRE(out.step == 0);
  CHECK(out.ok);
  CHECK(out.nop_round_trip);
}

// This process keeps its own limit: the children changed only theirs.
TEST_CASE("RLIMIT_MEMLOCK: the test process's limit is untouched by the children") {
  struct rlimit before {};
  REQUIRE(::getrlimit(RLIMIT_MEMLOCK, &before) == 0);
  (void)setup_with_memlock_zero(true);
  struct rlimit after {};
  REQUIRE(::getrlimit(RLIMIT_MEMLOCK, &after) == 0);
  CHECK(after.rlim_cur == before.rlim_cur);
  CHECK(after.rlim_max == before.rlim_max);
}
