#include "tests/support/enter_recorder.h"

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <thread>

#include "syscalls/syscalls.h"

namespace uring::testing {
namespace {

// Installs the filter on the calling thread; returns the listener fd or -errno.
int watch_enters_of_this_thread() {
  sock_filter program[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, static_cast<unsigned>(sys::kNrIoUringEnter), 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  sock_fprog filter{};
  filter.len = sizeof program / sizeof program[0];
  filter.filter = program;
  // Per thread: no_new_privs is what lets an unprivileged thread add a filter.
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return -errno;
  const long fd = ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &filter);
  return fd >= 0 ? static_cast<int>(fd) : -errno;
}

// Answers notifications on `listener` until `done` is readable; false on a
// failure of the mechanism itself.
bool serve(int listener, int done, std::vector<EnterCall>& calls) {
  for (;;) {
    pollfd fds[2] = {{listener, POLLIN, 0}, {done, POLLIN, 0}};
    if (::poll(fds, 2, 30000) <= 0) return false;  // 30 s without a word: give up
    if (fds[0].revents & POLLIN) {
      seccomp_notif request;
      std::memset(&request, 0, sizeof request);
      if (::ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, &request) != 0) {
        if (errno == EINTR || errno == ENOENT) continue;  // the caller went away mid-call
        return false;
      }
      calls.push_back({static_cast<int>(request.data.args[0]), static_cast<unsigned>(request.data.args[1]),
                       static_cast<unsigned>(request.data.args[2]), static_cast<unsigned>(request.data.args[3])});
      seccomp_notif_resp response;
      std::memset(&response, 0, sizeof response);
      response.id = request.id;
      response.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
      if (::ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &response) != 0 && errno != ENOENT) return false;
      continue;
    }
    if (fds[1].revents & POLLIN) return true;
    if (fds[0].revents & (POLLHUP | POLLERR)) return false;
  }
}

}  // namespace

std::optional<std::vector<EnterCall>> record_enters(const std::function<void()>& fn) {
  const int done = ::eventfd(0, EFD_CLOEXEC);
  if (done < 0) return std::nullopt;
  std::atomic<int> listener{0};  // 0: not yet; < 0: -errno; > 0: the fd
  std::thread worker([&] {
    const int fd = watch_enters_of_this_thread();
    listener.store(fd);
    if (fd >= 0) fn();
    const std::uint64_t one = 1;
    (void)!::write(done, &one, sizeof one);
  });
  while (listener.load() == 0) std::this_thread::yield();
  std::optional<std::vector<EnterCall>> calls;
  if (listener.load() > 0) {
    std::vector<EnterCall> seen;
    if (serve(listener.load(), done, seen)) calls = std::move(seen);
  }
  worker.join();
  if (listener.load() > 0) ::close(listener.load());
  ::close(done);
  return calls;
}

std::string missing_enter_recorder() {
  static const std::string reason = []() -> std::string {
    // Try the mechanism on a throwaway thread with one raw enter that fails
    // harmlessly (fd -1): it must be seen.
    auto calls = record_enters([] { (void)sys::io_uring_enter(-1, 0, 0, 0, nullptr, 0); });
    if (!calls) return "seccomp user notification (SECCOMP_RET_USER_NOTIF with CONTINUE, Linux 5.5) is not available here";
    if (calls->size() != 1) return "seccomp user notification did not report a watched io_uring_enter";
    return {};
  }();
  return reason;
}

}  // namespace uring::testing
