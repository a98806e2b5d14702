#include "tests/register/register_support.h"

#include <dirent.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <exception>

namespace uring::testing {

Ring make_ring(Via via, RingOptions options) {
  if (via == Via::registered_index) {
    options.no_mmap = true;
    options.registered_fd_only = true;
  }
  auto ring = testing::create_ring(options);
  REQUIRE_MESSAGE(ring.ok(), ring.error().message);
  if (via == Via::registered_index) {
    REQUIRE(ring->fd() == -1);
    REQUIRE(ring->registered_index() >= 0);
  }
  return std::move(ring.value());
}

std::string missing_sqpoll(std::uint32_t extra_setup_flags) {
  const std::string flags = missing_setup_flags(abi::IORING_SETUP_SQPOLL | extra_setup_flags);
  if (!flags.empty()) return flags;
  // Since 5.11 any user may have a poller; before, only CAP_SYS_ADMIN.
  if (missing_feature(abi::IORING_FEAT_SQPOLL_NONFIXED).empty()) return {};
  const std::string capability = missing_capability(21, "CAP_SYS_ADMIN");
  if (capability.empty()) return {};
  return capability + ", which SQPOLL needs before Linux 5.11 (no IORING_FEAT_SQPOLL_NONFIXED)";
}

std::string missing_busy_poll() {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return "cannot open an AF_UNIX socket to ask for SO_BUSY_POLL";
  int value = 0;
  socklen_t size = sizeof value;
  const bool known = ::getsockopt(fd, SOL_SOCKET, SO_BUSY_POLL, &value, &size) == 0;
  ::close(fd);
  if (known) return {};
  return "this kernel is built without CONFIG_NET_RX_BUSY_POLL (getsockopt(SO_BUSY_POLL) is refused), "
         "so it has no NAPI busy polling";
}

void nop_round_trip(Ring& ring, std::uint64_t tag, bool async) {
  Sqe* sqe = ring.get_sqe();
  REQUIRE(sqe != nullptr);
  prep_nop(*sqe).set_user_data(tag);
  if (async) sqe->force_async();
  REQUIRE(ring.submit() == 1);
  const Cqe done = reap_one(ring);
  CHECK(done.user_data == tag);
  CHECK(done.result() == 0);
}

void run_in_thread(const std::function<void()>& body) {
  std::exception_ptr failure;
  std::thread thread([&] {
    try {
      body();
    } catch (...) {
      failure = std::current_exception();
    }
  });
  thread.join();
  if (failure) std::rethrow_exception(failure);
}

namespace {

// (task directory, name) of every thread of this process.
std::vector<std::pair<std::string, std::string>> thread_names() {
  std::vector<std::pair<std::string, std::string>> names;
  DIR* tasks = ::opendir("/proc/self/task");
  if (!tasks) return names;
  while (dirent* entry = ::readdir(tasks)) {
    if (entry->d_name[0] == '.') continue;
    const std::string dir = std::string("/proc/self/task/") + entry->d_name;
    FILE* file = std::fopen((dir + "/comm").c_str(), "r");
    if (!file) continue;  // the thread just exited
    char name[64] = {};
    if (std::fgets(name, sizeof name, file)) {
      std::string text = name;
      if (!text.empty() && text.back() == '\n') text.pop_back();
      names.emplace_back(dir, text);
    }
    std::fclose(file);
  }
  ::closedir(tasks);
  return names;
}

bool is_worker(const std::string& name) { return name.rfind("iou-wrk-", 0) == 0; }

}  // namespace

WorkerWatch::WorkerWatch() {
  for (const auto& [dir, name] : thread_names()) {
    if (is_worker(name)) before_.insert(name);
  }
}

std::map<std::string, int> WorkerWatch::new_owners() const {
  std::map<std::string, int> owners;
  for (const auto& [dir, name] : thread_names()) {
    if (is_worker(name) && !before_.count(name)) ++owners[name];
  }
  return owners;
}

int WorkerWatch::count() const {
  int total = 0;
  for (const auto& [owner, workers] : new_owners()) total += workers;
  return total;
}

std::vector<std::string> WorkerWatch::task_dirs() const {
  std::vector<std::string> dirs;
  for (const auto& [dir, name] : thread_names()) {
    if (is_worker(name) && !before_.count(name)) dirs.push_back(dir);
  }
  return dirs;
}

int count_threads(const std::string& prefix) {
  DIR* tasks = ::opendir("/proc/self/task");
  if (!tasks) return -1;
  int count = 0;
  while (dirent* entry = ::readdir(tasks)) {
    if (entry->d_name[0] == '.') continue;
    const std::string path = std::string("/proc/self/task/") + entry->d_name + "/comm";
    FILE* file = std::fopen(path.c_str(), "r");
    if (!file) continue;  // the thread just exited
    char name[64] = {};
    if (std::fgets(name, sizeof name, file) && std::strncmp(name, prefix.c_str(), prefix.size()) == 0) ++count;
    std::fclose(file);
  }
  ::closedir(tasks);
  return count;
}

}  // namespace uring::testing
