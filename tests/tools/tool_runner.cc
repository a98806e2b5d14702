#include "tests/tools/tool_runner.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include <doctest/doctest.h>

#include "tests/support/test_support.h"

namespace tool_runner {
namespace {

double now_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// Forks and execs `path` with `fds` on its 0, 1, 2 (-1: /dev/null), after
// `before_exec`. Everything the child needs is made before the fork: it only
// makes system calls (and the hook) until exec.
pid_t spawn_child(const std::string& path, const std::vector<std::string>& args, StdFds fds,
                  const BeforeExec& before_exec) {
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(path.c_str()));
  for (const std::string& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  const int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  REQUIRE(null >= 0);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    // The test's own 0-2 are open, so every fd given is above 2 and none is
    // overwritten before it is dup'd; dup2 clears close-on-exec on the copy.
    ::dup2(fds.in >= 0 ? fds.in : null, 0);
    ::dup2(fds.out >= 0 ? fds.out : null, 1);
    ::dup2(fds.err >= 0 ? fds.err : null, 2);
    // A test runner may block or ignore signals; the tool must start with
    // none blocked and SIGPIPE at its default, as from a shell.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGPIPE, SIG_DFL);
    if (before_exec) before_exec();
    ::execv(path.c_str(), argv.data());
    ::_exit(127);
  }
  ::close(null);
  return child;
}

// spawn_child with pipes on 0, 1, 2, whose other ends come back in *in,
// *out, *err (non-blocking, close-on-exec).
pid_t spawn_piped(const std::string& path, const std::vector<std::string>& args, const BeforeExec& before_exec,
                  int* in, int* out, int* err) {
  int p_in[2], p_out[2], p_err[2];
  REQUIRE(::pipe2(p_in, O_CLOEXEC) == 0);
  REQUIRE(::pipe2(p_out, O_CLOEXEC) == 0);
  REQUIRE(::pipe2(p_err, O_CLOEXEC) == 0);
  const pid_t child = spawn_child(path, args, {p_in[0], p_out[1], p_err[1]}, before_exec);
  ::close(p_in[0]);
  ::close(p_out[1]);
  ::close(p_err[1]);
  for (int fd : {p_in[1], p_out[0], p_err[0]}) ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  *in = p_in[1];
  *out = p_out[0];
  *err = p_err[0];
  return child;
}

// Appends what `fd` has now to *text; false at end of file (fd closed then).
bool read_some(int* fd, std::string* text) {
  char chunk[65536];
  for (;;) {
    const ssize_t got = ::read(*fd, chunk, sizeof chunk);
    if (got > 0) {
      text->append(chunk, static_cast<std::size_t>(got));
      continue;
    }
    if (got < 0 && (errno == EAGAIN || errno == EINTR)) return true;
    ::close(*fd);
    *fd = -1;
    return false;
  }
}

void fill_status(int status, Result* result) {
  if (WIFEXITED(status)) {
    result->exited = true;
    result->exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    result->signal = WTERMSIG(status);
  }
}

// Reads both streams until both end or `deadline` passes.
void pump(int* out_fd, int* err_fd, std::string* out, std::string* err, double deadline) {
  while (*out_fd >= 0 || *err_fd >= 0) {
    const double left = deadline - now_seconds();
    if (left <= 0) return;
    pollfd fds[2] = {{*out_fd, POLLIN, 0}, {*err_fd, POLLIN, 0}};
    const int ready = ::poll(fds, 2, static_cast<int>(left * 1000) + 1);
    if (ready < 0 && errno != EINTR) return;
    if (*out_fd >= 0 && fds[0].revents != 0) read_some(out_fd, out);
    if (*err_fd >= 0 && fds[1].revents != 0) read_some(err_fd, err);
  }
}

// `pid`'s blocked signals (SigBlk of /proc/PID/status), 0 if unreadable.
std::uint64_t blocked_signals(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("SigBlk:", 0) == 0) return std::stoull(line.substr(7), nullptr, 16);
  }
  return 0;
}

// Whether `pid` is in system call `number` now (/proc/PID/syscall).
bool in_syscall(pid_t pid, long number) {
  std::ifstream file("/proc/" + std::to_string(pid) + "/syscall");
  long current = -1;
  return static_cast<bool>(file >> current) && current == number;
}

}  // namespace

std::string tool_path(const std::string& relative) {
  const char* root = std::getenv("TEST_SRCDIR");
  const char* workspace = std::getenv("TEST_WORKSPACE");
  REQUIRE_MESSAGE(root != nullptr, "TEST_SRCDIR is not set: run this through bazel test");
  return std::string(root) + "/" + (workspace ? workspace : "uring") + "/" + relative;
}

Result run(const std::string& path, const std::vector<std::string>& args, const std::string& input,
           double timeout_seconds, const BeforeExec& before_exec) {
  int in = -1, out_fd = -1, err_fd = -1;
  const pid_t child = spawn_piped(path, args, before_exec, &in, &out_fd, &err_fd);
  const double deadline = now_seconds() + timeout_seconds;
  Result result;
  std::size_t written = 0;
  while (out_fd >= 0 || err_fd >= 0) {
    const double left = deadline - now_seconds();
    if (left <= 0) break;
    pollfd fds[3] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}, {in, POLLOUT, 0}};
    if (in >= 0 && written == input.size()) {
      ::close(in);
      in = -1;
      fds[2].fd = -1;
    }
    const int ready = ::poll(fds, 3, static_cast<int>(left * 1000) + 1);
    if (ready < 0 && errno != EINTR) break;
    if (out_fd >= 0 && fds[0].revents != 0) read_some(&out_fd, &result.out);
    if (err_fd >= 0 && fds[1].revents != 0) read_some(&err_fd, &result.err);
    if (in >= 0 && (fds[2].revents & (POLLOUT | POLLERR | POLLHUP)) != 0) {
      const ssize_t put = ::write(in, input.data() + written, input.size() - written);
      if (put > 0) {
        written += static_cast<std::size_t>(put);
      } else if (put < 0 && errno != EAGAIN && errno != EINTR) {
        ::close(in);  // the tool closed its stdin (EPIPE): fine
        in = -1;
      }
    }
  }
  if (in >= 0) ::close(in);
  int status = 0;
  pid_t done = 0;
  while ((done = ::waitpid(child, &status, WNOHANG)) == 0 && now_seconds() < deadline) ::usleep(2000);
  if (done == 0) {
    result.timed_out = true;
    ::kill(child, SIGKILL);
    ::waitpid(child, &status, 0);
  }
  for (int fd : {out_fd, err_fd}) {
    if (fd >= 0) ::close(fd);
  }
  fill_status(status, &result);
  return result;
}

Server::~Server() {
  if (pid_ > 0 && !reaped_) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &status_, 0);
  }
  for (int fd : {out_fd_, err_fd_}) {
    if (fd >= 0) ::close(fd);
  }
}

bool Server::start(const std::string& path, const std::vector<std::string>& args, std::string* error,
                   double timeout_seconds) {
  REQUIRE_MESSAGE(pid_ < 0, "Server::start called twice");
  int in = -1;
  pid_ = spawn_piped(path, args, {}, &in, &out_fd_, &err_fd_);
  ::close(in);  // servers read no stdin
  const double deadline = now_seconds() + timeout_seconds;
  const std::string prefix = "listening on 127.0.0.1:";
  std::string head;
  for (;;) {
    const std::size_t newline = head.find('\n');
    if (newline != std::string::npos) {
      const std::string line = head.substr(0, newline);
      out_ = head.substr(newline + 1);
      if (line.compare(0, prefix.size(), prefix) == 0) {
        port_ = std::atoi(line.c_str() + prefix.size());
        if (port_ > 0 && port_ < 65536) return true;
      }
      *error = "first line was not '" + prefix + "PORT': '" + line + "'; stderr: " + err_;
      return false;
    }
    const double left = deadline - now_seconds();
    if (left <= 0 || out_fd_ < 0) {
      if (!running()) *error = "it exited (status " + std::to_string(status_) + ")";
      else *error = "no listening line after " + std::to_string(timeout_seconds) + " s";
      *error += "; stdout: '" + head + "'; stderr: '" + err_ + "'";
      return false;
    }
    pollfd fds[2] = {{out_fd_, POLLIN, 0}, {err_fd_, POLLIN, 0}};
    ::poll(fds, 2, static_cast<int>(left * 1000) + 1);
    if (fds[0].revents != 0) read_some(&out_fd_, &head);
    if (err_fd_ >= 0 && fds[1].revents != 0) read_some(&err_fd_, &err_);
  }
}

bool Server::running() {
  if (pid_ <= 0 || reaped_) return false;
  if (::waitpid(pid_, &status_, WNOHANG) == pid_) reaped_ = true;
  return !reaped_;
}

Result Server::stop(int sig, double timeout_seconds) {
  Result result;
  if (pid_ <= 0) return result;
  if (running()) ::kill(pid_, sig);
  const double deadline = now_seconds() + timeout_seconds;
  pump(&out_fd_, &err_fd_, &out_, &err_, deadline);
  while (running() && now_seconds() < deadline) ::usleep(2000);
  if (!reaped_) {
    result.timed_out = true;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &status_, 0);
    reaped_ = true;
  }
  fill_status(status_, &result);
  result.out = out_;
  result.err = err_;
  return result;
}

pid_t spawn(const std::string& path, const std::vector<std::string>& args, StdFds fds,
            const BeforeExec& before_exec) {
  return spawn_child(path, args, fds, before_exec);
}

int wait_status(pid_t child, double timeout_seconds) {
  const double deadline = now_seconds() + timeout_seconds;
  int status = 0;
  for (;;) {
    if (::waitpid(child, &status, WNOHANG) == child) return status;
    if (now_seconds() >= deadline) break;
    ::usleep(1000);
  }
  ::kill(child, SIGKILL);
  ::waitpid(child, &status, 0);
  return -1;
}

std::string read_until_end(int fd, double timeout_seconds) {
  std::string text;
  char chunk[4096];
  // Silence is counted in 100 ms polls that found nothing, so a steady
  // stream of any length is read to its end.
  for (int silent = 0; silent < static_cast<int>(timeout_seconds * 10);) {
    pollfd pfd{fd, POLLIN, 0};
    const int ready = ::poll(&pfd, 1, 100);
    if (ready <= 0) {
      if (ready < 0 && errno != EINTR) break;
      ++silent;
      continue;
    }
    const ssize_t got = ::read(fd, chunk, sizeof chunk);
    if (got <= 0) break;
    text.append(chunk, static_cast<std::size_t>(got));
  }
  return text;
}

bool ready_for_stop_signals(pid_t pid, bool in_io_uring_enter, double timeout_seconds) {
  const std::uint64_t stop_mask = (1ull << (SIGINT - 1)) | (1ull << (SIGTERM - 1));
  return uring::testing::eventually(
      [&] {
        return (blocked_signals(pid) & stop_mask) == stop_mask &&
               (!in_io_uring_enter || in_syscall(pid, SYS_io_uring_enter));
      },
      std::chrono::milliseconds(static_cast<long>(timeout_seconds * 1000)));
}

void drop_dac_capabilities() {
  ::prctl(PR_CAPBSET_DROP, CAP_DAC_OVERRIDE, 0, 0, 0);
  ::prctl(PR_CAPBSET_DROP, CAP_DAC_READ_SEARCH, 0, 0, 0);
}

bool can_drop_dac_capabilities() { return ::prctl(PR_CAPBSET_READ, CAP_SETPCAP, 0, 0, 0) == 1; }

int connect_loopback(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    const int saved = errno;
    ::close(fd);
    errno = saved;
    return -1;
  }
  return fd;
}

int count_fds(pid_t pid) {
  const std::string dir = "/proc/" + std::to_string(pid) + "/fd";
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return -1;
  int count = 0;
  while (dirent* entry = ::readdir(d)) {
    if (entry->d_name[0] != '.') ++count;
  }
  ::closedir(d);
  return count;
}

}  // namespace tool_runner
