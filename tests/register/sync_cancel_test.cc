// IORING_REGISTER_SYNC_CANCEL: cancels pending requests by user_data, file
// (plain or fixed), opcode, or all of them, and waits (with a timeout) for
// a request that is already running.
#include <dirent.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <functional>
#include <chrono>
#include <map>
#include <string>

#include "tests/register/register_support.h"
#include "uring/prep_event.h"
#include "uring/prep_file.h"
#include "uring/register.h"

using namespace uring;
using namespace uring::testing;
using std::chrono::milliseconds;

namespace {

struct Pipe {
  Pipe() { REQUIRE(::pipe2(fds, O_CLOEXEC) == 0); }
  ~Pipe() {
    ::close(fds[0]);
    ::close(fds[1]);
  }
  int fds[2];
};

// Reaps `count` CQEs: user_data -> result.
std::map<std::uint64_t, int> reap_results(Ring& ring, unsigned count) {
  std::map<std::uint64_t, int> results;
  for (unsigned i = 0; i < count; ++i) {
    const Cqe done = reap_one(ring);
    results[done.user_data] = done.result();
  }
  CHECK(results.size() == count);
  return results;
}

// How many io-wq workers of this process sleep in a FIFO open's wait for a
// writer (their wchan, /proc/self/task/*/wchan, says so).
int workers_in_fifo_wait();

// An OPENAT of a FIFO forced to io-wq blocks in the kernel waiting for a
// writer: a request that is running, not queued. Returns once a worker
// sleeps in that wait (or, where wchan is hidden, after a pause).
void submit_blocked_fifo_open(Ring& ring, const std::string& fifo, std::uint64_t tag) {
  // Workers of this thread outlive a ring, and one from an earlier case can
  // still be on its way out of the same wait: wait for one more than before.
  const int before = workers_in_fifo_wait();
  prep_openat(*ring.get_sqe(), AT_FDCWD, fifo.c_str(), O_RDONLY | O_CLOEXEC, 0).set_user_data(tag).force_async();
  REQUIRE(ring.submit() == 1);
  if (!eventually([&] { return workers_in_fifo_wait() > before; }, std::chrono::seconds(5))) {
    std::this_thread::sleep_for(milliseconds(100));
  }
}

// Unblocks a FIFO open still waiting for a writer, so the ring can close.
void release_fifo_reader(const std::string& fifo) {
  const int writer = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  if (writer >= 0) ::close(writer);
}

// A page whose first touch stalls until release(): userfaultfd in MISSING
// mode, handling faults taken in the kernel too, so a write(2) from the page
// blocks inside the kernel (here: inside pipe_write, holding the pipe's mutex).
class StalledPage {
 public:
  // "" when this process can have one, else why not.
  static std::string missing() {
    const int fd = open_userfaultfd();
    if (fd < 0) {
      return "no userfaultfd that handles kernel faults (needs CAP_SYS_PTRACE, "
             "vm.unprivileged_userfaultfd = 1, or access to /dev/userfaultfd)";
    }
    ::close(fd);
    return {};
  }

  StalledPage() {
    size_ = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    uffd_ = open_userfaultfd();
    REQUIRE(uffd_ >= 0);
    page_ = ::mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    REQUIRE(page_ != MAP_FAILED);
    uffdio_register reg{};
    reg.range.start = reinterpret_cast<std::uintptr_t>(page_);
    reg.range.len = size_;
    reg.mode = UFFDIO_REGISTER_MODE_MISSING;
    REQUIRE(::ioctl(uffd_, UFFDIO_REGISTER, &reg) == 0);
  }
  ~StalledPage() {
    release();
    ::munmap(page_, size_);
    ::close(uffd_);
  }
  StalledPage(const StalledPage&) = delete;
  StalledPage& operator=(const StalledPage&) = delete;

  void* data() const { return page_; }
  std::size_t size() const { return size_; }
  // Maps a zero page there: the stalled access goes on.
  void release() {
    if (released_) return;
    released_ = true;
    uffdio_zeropage zero{};
    zero.range.start = reinterpret_cast<std::uintptr_t>(page_);
    zero.range.len = size_;
    (void)::ioctl(uffd_, UFFDIO_ZEROPAGE, &zero);
  }

 private:
  static int open_userfaultfd() {
    int fd = static_cast<int>(::syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK));
    if (fd < 0) {
      const int device = ::open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
      if (device < 0) return -1;
      fd = ::ioctl(device, USERFAULTFD_IOC_NEW, O_CLOEXEC | O_NONBLOCK);
      ::close(device);
      if (fd < 0) return -1;
    }
    uffdio_api api{};
    api.api = UFFD_API;
    if (::ioctl(fd, UFFDIO_API, &api) != 0) {
      ::close(fd);
      return -1;
    }
    return fd;
  }

  int uffd_ = -1;
  void* page_ = MAP_FAILED;
  std::size_t size_ = 0;
  bool released_ = false;
};

std::string read_first_line(const std::string& path) {
  char text[128] = {};
  if (FILE* file = std::fopen(path.c_str(), "r")) {
    (void)!std::fgets(text, sizeof text, file);
    std::fclose(file);
  }
  return text;
}

// True when some io-wq worker of this process sleeps on a mutex.
bool worker_on_mutex() {
  bool found = false;
  DIR* tasks = ::opendir("/proc/self/task");
  if (!tasks) return false;
  while (dirent* entry = ::readdir(tasks)) {
    if (entry->d_name[0] == '.') continue;
    const std::string task = std::string("/proc/self/task/") + entry->d_name;
    if (read_first_line(task + "/comm").rfind("iou-wrk-", 0) != 0) continue;
    if (read_first_line(task + "/wchan").find("mutex") != std::string::npos) found = true;
  }
  ::closedir(tasks);
  return found;
}

// A READ of a pipe, forced to io-wq, that sleeps on the pipe's mutex where
// the kernel's cancel signal does not reach it: a writer thread holds the
// mutex, stalled inside pipe_write on a StalledPage. release() lets the
// write finish; the read then returns the page's first bytes (zeros).
class StalledPipeRead {
 public:
  StalledPipeRead(Ring& ring, std::uint64_t tag) {
    writer_ = std::thread([this] {
      writer_tid_ = ::gettid();
      written_ = ::write(pipe_.fds[1], page_.data(), page_.size());
    });
    REQUIRE(eventually([&] { return writer_tid_ != 0; }, std::chrono::seconds(5)));
    REQUIRE(eventually(
        [&] {
          const std::string wchan = read_first_line("/proc/self/task/" + std::to_string(writer_tid_.load()) + "/wchan");
          return wchan.find("userfault") != std::string::npos;
        },
        std::chrono::seconds(5)));
    std::memset(buffer_, 'x', sizeof buffer_);
    prep_read(*ring.get_sqe(), pipe_.fds[0], buffer_, sizeof buffer_, kCurrentPosition).set_user_data(tag).force_async();
    REQUIRE(ring.submit() == 1);
    if (!eventually(worker_on_mutex, std::chrono::seconds(2))) std::this_thread::sleep_for(milliseconds(100));
  }
  ~StalledPipeRead() {
    release();
    if (writer_.joinable()) writer_.join();
  }
  void release() { page_.release(); }
  // The read's CQE result: the whole buffer, all zeros from the page.
  void check_result(int result) {
    if (writer_.joinable()) writer_.join();
    CHECK(written_ == static_cast<long>(page_.size()));
    CHECK(result == static_cast<int>(sizeof buffer_));
    CHECK(std::count(buffer_, buffer_ + sizeof buffer_, 0) == static_cast<long>(sizeof buffer_));
  }

 private:
  Pipe pipe_;
  StalledPage page_;
  std::thread writer_;
  std::atomic<pid_t> writer_tid_{0};
  std::atomic<long> written_{-1};
  char buffer_[64];
};

int workers_in_fifo_wait() {
  int found = 0;
  DIR* tasks = ::opendir("/proc/self/task");
  if (!tasks) return false;
  while (dirent* entry = ::readdir(tasks)) {
    if (entry->d_name[0] == '.') continue;
    const std::string task = std::string("/proc/self/task/") + entry->d_name;
    if (read_first_line(task + "/comm").rfind("iou-wrk-", 0) != 0) continue;
    if (read_first_line(task + "/wchan").find("wait_for_partner") != std::string::npos) ++found;
  }
  ::closedir(tasks);
  return found;
}

}  // namespace

TEST_CASE("sync cancel: by user_data, file, fixed file, opcode, all and any") {
  URING_REQUIRE(missing_register_op(abi::IORING_REGISTER_SYNC_CANCEL));
  char buffer[16];
  abi::kernel_timespec long_time{60, 0};
  for (Via via : kBothWays) {
    INFO("via ", std::string(via_name(via)));
    Ring ring = make_ring(via);
    Pipe pipe;
    // Reads of an empty pipe and long timeouts: they wait until cancelled.
    prep_read(*ring.get_sqe(), pipe.fds[0], buffer, sizeof buffer, kCurrentPosition).set_user_data(1);
    prep_read(*ring.get_sqe(), pipe.fds[0], buffer, sizeof buffer, kCurrentPosition).set_user_data(2);
    prep_timeout(*ring.get_sqe(), &long_time).set_user_data(3);
    prep_timeout(*ring.get_sqe(), &long_time).set_user_data(4);
    REQUIRE(ring.submit() == 4);

    auto none = cancel_sync(ring, CancelMatch{.user_data = 999});
    REQUIRE_MESSAGE(none.ok(), none.error().message);
    CHECK(*none == 0);  // nothing matched
    CHECK(ring.cq_ready() == 0);

    auto by_data = cancel_sync(ring, CancelMatch{.user_data = 2});
    REQUIRE_MESSAGE(by_data.ok(), by_data.error().message);
    CHECK(*by_data == 1);
    auto first = reap_results(ring, 1);
    CHECK(first[2] == -ECANCELED);

    auto by_opcode = cancel_sync(ring, CancelMatch{.opcode = abi::IORING_OP_TIMEOUT, .all = true});
    REQUIRE_MESSAGE(by_opcode.ok(), by_opcode.error().message);
    // With all/any the count is a lower bound (register.h): never more than
    // the requests cancelled, never 0 when one matched.
    CHECK(*by_opcode >= 1);
    CHECK(*by_opcode <= 2);
    auto timeouts = reap_results(ring, 2);
    CHECK(timeouts[3] == -ECANCELED);
    CHECK(timeouts[4] == -ECANCELED);

    auto by_file = cancel_sync(ring, CancelMatch{.file = pipe.fds[0]});
    REQUIRE_MESSAGE(by_file.ok(), by_file.error().message);
    CHECK(*by_file == 1);
    CHECK(reap_results(ring, 1)[1] == -ECANCELED);

    // ANY and ALL cancel all of them (each CQE is there).
    for (std::uint64_t tag = 10; tag < 13; ++tag) prep_timeout(*ring.get_sqe(), &long_time).set_user_data(tag);
    REQUIRE(ring.submit() == 3);
    auto any = cancel_sync(ring, CancelMatch{.any = true});
    REQUIRE_MESSAGE(any.ok(), any.error().message);
    CHECK(*any >= 1);
    CHECK(*any <= 3);
    for (const auto& [tag, result] : reap_results(ring, 3)) CHECK(result == -ECANCELED);

    // A fixed file is matched as one.
    const std::int32_t files[1] = {pipe.fds[0]};
    REQUIRE(ring.register_raw(abi::IORING_REGISTER_FILES, files, 1) == 0);
    prep_read(*ring.get_sqe(), FixedFile(0), buffer, sizeof buffer, kCurrentPosition).set_user_data(20);
    REQUIRE(ring.submit() == 1);
    auto fixed = cancel_sync(ring, CancelMatch{.file = FixedFile(0)});
    REQUIRE_MESSAGE(fixed.ok(), fixed.error().message);
    CHECK(*fixed == 1);
    CHECK(reap_results(ring, 1)[20] == -ECANCELED);
    CHECK(ring.cq_ready() == 0);
  }
}

TEST_CASE("sync cancel: a running request is waited for, within the timeout") {
  URING_REQUIRE(missing_register_op(abi::IORING_REGISTER_SYNC_CANCEL));
  TempDir dir;
  const std::string fifo = dir.path() + "/fifo";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  Ring ring = make_ring(Via::fd);
  // Forced to io-wq, the open blocks in the kernel waiting for a writer: it
  // is running, so cancelling means interrupting it and waiting.
  prep_openat(*ring.get_sqe(), AT_FDCWD, fifo.c_str(), O_RDONLY | O_CLOEXEC, 0).set_user_data(7).force_async();
  REQUIRE(ring.submit() == 1);
  REQUIRE(eventually([] { return count_threads("iou-wrk-") > 0; }, std::chrono::seconds(5)));
  std::this_thread::sleep_for(milliseconds(20));  // let it reach the wait
  const auto start = std::chrono::steady_clock::now();
  // The kernel waits at most this long for the running open to let go; a
  // cancel that succeeds returned before it (-ETIME otherwise).
  const auto limit = std::chrono::seconds(10);
  auto cancelled = cancel_sync(ring, CancelMatch{.user_data = 7}, limit);
  REQUIRE_MESSAGE(cancelled.ok(), cancelled.error().message);
  CHECK(*cancelled == 1);
  CHECK(std::chrono::steady_clock::now() - start < limit);
  const Cqe done = reap_one(ring);
  CHECK(done.user_data == 7);
  // Interrupted in the kernel's wait, never opened: 6.18 hands the open's
  // internal -ERESTARTSYS (-512) through as the result.
  INFO("result ", done.result());
  CHECK(done.result() < 0);
}


TEST_CASE("sync cancel with all/any waits for a running io-wq request: its CQE is there on return (issue 12, item 7)") {
  URING_REQUIRE(missing_register_op(abi::IORING_REGISTER_SYNC_CANCEL));
  URING_REQUIRE(missing_since("IORING_ASYNC_CANCEL_ANY", "5.19"));
  URING_REQUIRE(missing_since("IORING_ASYNC_CANCEL_OP", "6.6"));
  URING_REQUIRE(missing_setup_flags(abi::IORING_SETUP_SINGLE_ISSUER | abi::IORING_SETUP_DEFER_TASKRUN));
  TempDir dir;
  const std::string fifo = dir.path() + "/fifo";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  const std::pair<const char*, CancelMatch> matches[] = {
      {"one by user_data", CancelMatch{.user_data = 7}},
      {"all by user_data", CancelMatch{.user_data = 7, .all = true}},
      {"all by opcode", CancelMatch{.opcode = abi::IORING_OP_OPENAT, .all = true}},
      {"any", CancelMatch{.any = true}},
  };
  for (bool defer_taskrun : {false, true}) {
  for (const auto& [name, match] : matches) {
    INFO("match ", std::string(name), std::string(defer_taskrun ? ", DEFER_TASKRUN ring" : ""));
    RingOptions options;
    options.single_issuer = defer_taskrun;
    options.defer_taskrun = defer_taskrun;
    Ring ring = make_ring(Via::fd, options);
    submit_blocked_fifo_open(ring, fifo, 7);
    const auto limit = std::chrono::seconds(10);
    const auto start = std::chrono::steady_clock::now();
    auto cancelled = cancel_sync(ring, match, limit);
    // Read before anything else can run. On a DEFER_TASKRUN ring the CQE
    // of an io-wq request is task work that the next peek runs.
    const bool posted = defer_taskrun ? ring.peek_cqe() != nullptr : ring.cq_ready() == 1;
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(1));
    if (!posted) release_fifo_reader(fifo);
    REQUIRE_MESSAGE(cancelled.ok(), cancelled.error().message);
    CHECK(*cancelled == 1);  // the running open, cancelled and finished
    CHECK(posted);           // "cancelled or finished": its CQE is already in the CQ
    const Cqe done = reap_one(ring);
    CHECK(done.user_data == 7);
    INFO("result ", done.result());
    CHECK(done.result() < 0);  // interrupted, never opened
    if (done.result() >= 0) ::close(done.result());
    CHECK(ring.cq_ready() == 0);
  }
  }
}

TEST_CASE("sync cancel with all: queued io-wq requests are all cancelled, each CQE posted, counted at least once (issue 12, item 7)") {
  URING_REQUIRE(missing_register_op(abi::IORING_REGISTER_SYNC_CANCEL));
  URING_REQUIRE(missing_register_op(abi::IORING_REGISTER_IOWQ_MAX_WORKERS));
  URING_REQUIRE(missing_since("IORING_ASYNC_CANCEL_OP", "6.6"));
  TempDir dir;
  const std::string fifo = dir.path() + "/fifo";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  // On a thread of its own, so its io-wq has one worker: the first open
  // runs, the other two wait in io-wq's queue.
  run_in_thread([&] {
    Ring ring = make_ring(Via::fd);
    nop_round_trip(ring, 1, /*async=*/true);  // the thread's io-wq exists now
    auto limits = set_iowq_max_workers(ring, {.bounded = 1, .unbounded = 1});
    REQUIRE_MESSAGE(limits.ok(), limits.error().message);
    submit_blocked_fifo_open(ring, fifo, 10);
    for (std::uint64_t tag = 11; tag < 13; ++tag) {
      prep_openat(*ring.get_sqe(), AT_FDCWD, fifo.c_str(), O_RDONLY | O_CLOEXEC, 0).set_user_data(tag).force_async();
    }
    REQUIRE(ring.submit() == 2);
    std::this_thread::sleep_for(milliseconds(50));
    for (const char* mode : {"all by opcode", "any"}) {
      if (std::string(mode) == "any") {
        // Again with ANY: queue the same three.
        submit_blocked_fifo_open(ring, fifo, 10);
        for (std::uint64_t tag = 11; tag < 13; ++tag) {
          prep_openat(*ring.get_sqe(), AT_FDCWD, fifo.c_str(), O_RDONLY | O_CLOEXEC, 0).set_user_data(tag).force_async();
        }
        REQUIRE(ring.submit() == 2);
        std::this_thread::sleep_for(milliseconds(50));
      }
      INFO("match ", std::string(mode));
      const CancelMatch match = std::string(mode) == "any" ? CancelMatch{.any = true}
                                                           : CancelMatch{.opcode = abi::IORING_OP_OPENAT, .all = true};
      auto cancelled = cancel_sync(ring, match, std::chrono::seconds(10));
      const unsigned posted = ring.cq_ready();
      if (posted < 3) {
        for (int i = 0; i < 3; ++i) release_fifo_reader(fifo);
      }
      REQUIRE_MESSAGE(cancelled.ok(), cancelled.error().message);
      // Not one by one: a single-match call cannot tell a queued io-wq
      // request from a cancelled poll still in the kernel's hash, so the
      // count is the kernel's ALL count at most (one per thread's io-wq).
      CHECK(*cancelled >= 1);
      CHECK(*cancelled <= 3);
      CHECK(posted == 3);
      std::map<std::uint64_t, int> results = reap_results(ring, 3);
      for (std::uint64_t tag = 10; tag < 13; ++tag) {
        INFO("tag ", tag, " result ", results[tag]);
        CHECK(results[tag] < 0);
        if (results[tag] >= 0) ::close(results[tag]);
      }
    }
  });
}

TEST_CASE("sync cancel: a running request that ignores the cancel ends the wait at the timeout, with ETIME (issue 12, item 7)") {
  URING_REQUIRE(missing_register_op(abi::IORING_REGISTER_SYNC_CANCEL));
  URING_REQUIRE(missing_since("IORING_ASYNC_CANCEL_OP", "6.6"));
  URING_REQUIRE(StalledPage::missing());
  Ring ring = make_ring(Via::fd);
  StalledPipeRead read(ring, 5);
  const auto timeout = milliseconds(300);
  const std::pair<const char*, CancelMatch> matches[] = {
      {"one by user_data", CancelMatch{.user_data = 5}},
      {"all by user_data", CancelMatch{.user_data = 5, .all = true}},
      {"any", CancelMatch{.any = true}},
  };
  for (const auto& [name, match] : matches) {
    INFO("match ", std::string(name));
    const auto start = std::chrono::steady_clock::now();
    auto cancelled = cancel_sync(ring, match, timeout);
    const auto took = std::chrono::steady_clock::now() - start;
    INFO("took ", std::chrono::duration_cast<milliseconds>(took).count(), " ms");
    REQUIRE_FALSE(cancelled.ok());  // neither cancelled nor finished
    CHECK(cancelled.code() == ETIME);
    CHECK(cancelled.error().message.find("still running") != std::string::npos);
    CHECK(took >= timeout);
    CHECK(took < std::chrono::seconds(5));
    CHECK(ring.cq_ready() == 0);
  }
  read.release();  // the read gets the mutex, and the page's zeros
  const Cqe done = reap_one(ring);
  CHECK(done.user_data == 5);
  read.check_result(done.result());
}

TEST_CASE("sync cancel: a running request that finishes later is waited for, on DEFER_TASKRUN rings too (issue 12, item 7)") {
  URING_REQUIRE(missing_register_op(abi::IORING_REGISTER_SYNC_CANCEL));
  URING_REQUIRE(missing_since("IORING_ASYNC_CANCEL_OP", "6.6"));
  URING_REQUIRE(missing_setup_flags(abi::IORING_SETUP_SINGLE_ISSUER | abi::IORING_SETUP_DEFER_TASKRUN));
  URING_REQUIRE(StalledPage::missing());
  const std::pair<const char*, CancelMatch> matches[] = {
      {"one by user_data", CancelMatch{.user_data = 5}},
      {"all by user_data", CancelMatch{.user_data = 5, .all = true}},
      {"any", CancelMatch{.any = true}},
  };
  for (bool defer_taskrun : {false, true}) {
    for (const auto& [name, match] : matches) {
      INFO("match ", std::string(name), std::string(defer_taskrun ? ", DEFER_TASKRUN ring" : ""));
      RingOptions options;
      options.single_issuer = defer_taskrun;
      options.defer_taskrun = defer_taskrun;
      Ring ring = make_ring(Via::fd, options);
      StalledPipeRead read(ring, 5);
      const auto delay = milliseconds(200);
      const auto start = std::chrono::steady_clock::now();  // before the releaser starts its sleep
      std::thread releaser([&] {
        std::this_thread::sleep_for(delay);
        read.release();
      });
      auto cancelled = cancel_sync(ring, match, std::chrono::seconds(20));
      const auto took = std::chrono::steady_clock::now() - start;
      const Cqe* posted = ring.peek_cqe();  // on a DEFER_TASKRUN ring this runs the task work
      releaser.join();
      INFO("took ", std::chrono::duration_cast<milliseconds>(took).count(), " ms");
      REQUIRE_MESSAGE(cancelled.ok(), cancelled.error().message);
      CHECK(*cancelled == 1);
      CHECK(took >= delay);                     // it waited for the read...
      CHECK(took < std::chrono::seconds(3));    // ...and returned once it was done
      REQUIRE(posted != nullptr);               // with its CQE posted
      CHECK(posted->user_data == 5);
      read.check_result(posted->result());
      ring.cqe_seen(posted);
      CHECK(ring.cq_ready() == 0);
    }
  }
}

TEST_CASE("sync cancel with all on a DEFER_TASKRUN ring: cancelled polls matched by the same user_data do not hide a running read (issue 12, review)") {
  URING_REQUIRE(missing_register_op(abi::IORING_REGISTER_SYNC_CANCEL));
  URING_REQUIRE(missing_setup_flags(abi::IORING_SETUP_SINGLE_ISSUER | abi::IORING_SETUP_DEFER_TASKRUN));
  URING_REQUIRE(StalledPage::missing());
  RingOptions options;
  options.single_issuer = true;
  options.defer_taskrun = true;
  Ring ring = make_ring(Via::fd, options);
  // More polls than the kernel's task work runs per enter (20, IO_LOCAL_TW_DEFAULT_MAX):
  // one round of task work used to leave some in the hash (break-it review).
  constexpr int kPolls = 25;
  Pipe idle;
  for (int i = 0; i < kPolls; ++i) prep_poll_add(*ring.get_sqe(), idle.fds[0], POLLIN).set_user_data(5);
  REQUIRE(ring.submit() == kPolls);
  StalledPipeRead read(ring, 5);
  const auto delay = milliseconds(300);
  const auto start = std::chrono::steady_clock::now();  // before the releaser starts its sleep
  std::thread releaser([&] {
    std::this_thread::sleep_for(delay);
    read.release();
  });
  auto cancelled = cancel_sync(ring, CancelMatch{.user_data = 5, .all = true}, std::chrono::seconds(20));
  const auto took = std::chrono::steady_clock::now() - start;
  releaser.join();
  INFO("took ", std::chrono::duration_cast<milliseconds>(took).count(), " ms");
  REQUIRE_MESSAGE(cancelled.ok(), cancelled.error().message);
  CHECK(*cancelled >= 1);
  CHECK(took >= delay);  // it waited for the read (it used to return at once, the read still running)
  int polls_cancelled = 0, read_result = 0;
  for (int i = 0; i < kPolls + 1; ++i) {
    const Cqe done = reap_one(ring);
    CHECK(done.user_data == 5);
    if (done.result() == -ECANCELED) {
      ++polls_cancelled;
    } else {
      read_result = done.result();
    }
  }
  CHECK(polls_cancelled == kPolls);
  read.check_result(read_result);
  CHECK(ring.cq_ready() == 0);
}

TEST_CASE("sync cancel: a timeout past the clock's range is no limit, without overflow (issue 12, review)") {
  URING_REQUIRE(missing_register_op(abi::IORING_REGISTER_SYNC_CANCEL));
  Ring ring = make_ring(Via::fd, RingOptions{});
  Pipe idle;
  prep_poll_add(*ring.get_sqe(), idle.fds[0], POLLIN).set_user_data(9);
  REQUIRE(ring.submit() == 1);
  auto cancelled = cancel_sync(ring, CancelMatch{.user_data = 9, .all = true}, std::chrono::nanoseconds::max());
  REQUIRE_MESSAGE(cancelled.ok(), cancelled.error().message);
  CHECK(*cancelled == 1);
  const Cqe* cqe = ring.wait_cqe();
  REQUIRE(cqe != nullptr);
  CHECK(cqe->user_data == 9);
  CHECK(cqe->result() == -ECANCELED);
  ring.cqe_seen(cqe);
}

TEST_CASE("sync cancel: contradictory matches are refused before the call") {
  Ring ring = make_ring(Via::fd);
  auto refused = cancel_sync(ring, CancelMatch{.user_data = 1, .any = true});
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.code() == EINVAL);
  CHECK(refused.error().message.find("`any`") != std::string::npos);
  auto closed_fd = cancel_sync(ring, CancelMatch{.file = 1000});
  REQUIRE_FALSE(closed_fd.ok());
  CHECK(closed_fd.code() == EBADF);
}

namespace {

// What a child process reported, or why it did not.
struct ChildOutcome {
  bool returned = false;  // exited on its own within the limit
  int status = -1;        // its exit status
};

// Runs `body` in a forked child and waits at most `limit` for it: a call
// that never returns (the defect these tests pin) fails the test instead of
// hanging it. The child is killed when the limit passes.
ChildOutcome run_in_child(const std::function<int()>& body, std::chrono::milliseconds limit) {
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) ::_exit(body());
  ChildOutcome outcome;
  const auto end = std::chrono::steady_clock::now() + limit;
  for (;;) {
    int status = 0;
    const pid_t done = ::waitpid(child, &status, WNOHANG);
    REQUIRE(done >= 0);
    if (done == child) {
      outcome.returned = WIFEXITED(status);
      outcome.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      return outcome;
    }
    if (std::chrono::steady_clock::now() > end) {
      ::kill(child, SIGKILL);
      ::waitpid(child, &status, 0);
      return outcome;
    }
    std::this_thread::sleep_for(milliseconds(5));
  }
}

// Exit statuses of the children below, besides a count (0..99).
constexpr int kChildSetupFailed = 200;
constexpr int kChildCancelFailed = 201;
constexpr int kChildTooSlow = 202;
constexpr int kChildWrongCqe = 203;

std::string child_status_text(int status) {
  switch (status) {
    case kChildSetupFailed: return "the child could not set up its ring";
    case kChildCancelFailed: return "cancel_sync failed";
    case kChildTooSlow: return "cancel_sync returned long after its timeout";
    case kChildWrongCqe: return "the poll's CQE was not -ECANCELED";
    default: return "cancel_sync counted " + std::to_string(status);
  }
}

}  // namespace

TEST_CASE("sync cancel with all on a DEFER_TASKRUN ring: one armed poll counts once, and the call returns (issue 12, item 7 review)") {
  URING_REQUIRE(missing_register_op(abi::IORING_REGISTER_SYNC_CANCEL));
  URING_REQUIRE(missing_setup_flags(abi::IORING_SETUP_SINGLE_ISSUER | abi::IORING_SETUP_DEFER_TASKRUN));
  // The poll is cancelled, but leaves the kernel's cancel hash only when
  // the ring's task work runs, which on DEFER_TASKRUN needs a wait for CQEs:
  // until then every single-match cancel finds it again.
  const std::pair<const char*, CancelMatch> matches[] = {
      {"all by user_data", CancelMatch{.user_data = 7, .all = true}},
      {"any", CancelMatch{.any = true}},
  };
  for (const auto& [name, match] : matches) {
    for (const auto timeout : {std::chrono::nanoseconds(milliseconds(100)), std::chrono::nanoseconds(-1)}) {
      INFO("match ", std::string(name), ", timeout ", timeout.count(), " ns");
      const CancelMatch m = match;
      const ChildOutcome outcome = run_in_child(
          [m, timeout] {
            RingOptions options;
            options.single_issuer = true;
            options.defer_taskrun = true;
            auto ring = Ring::create(options);
            if (!ring) return kChildSetupFailed;
            int fds[2];
            if (::pipe(fds) != 0) return kChildSetupFailed;
            prep_poll_add(*ring->get_sqe(), fds[0], POLLIN).set_user_data(7);
            if (ring->submit() != 1) return kChildSetupFailed;
            const auto start = std::chrono::steady_clock::now();
            auto cancelled = cancel_sync(*ring, m, timeout);
            if (std::chrono::steady_clock::now() - start > std::chrono::seconds(1)) return kChildTooSlow;
            if (!cancelled) return kChildCancelFailed;
            const Cqe* cqe = ring->peek_cqe();  // runs the task work: the poll's CQE
            if (!cqe || cqe->user_data != 7 || cqe->result() != -ECANCELED) return kChildWrongCqe;
            return static_cast<int>(std::min(*cancelled, 99u));
          },
          std::chrono::seconds(5));
      INFO((outcome.returned ? child_status_text(outcome.status) : std::string("cancel_sync never returned")));
      REQUIRE(outcome.returned);
      CHECK(outcome.status == 1);
    }
  }
}

TEST_CASE("sync cancel with all on an SQPOLL ring: one armed poll counts once (issue 12, item 7 review)") {
  URING_REQUIRE(missing_register_op(abi::IORING_REGISTER_SYNC_CANCEL));
  URING_REQUIRE(missing_sqpoll());
  // The poll's task work runs in the SQPOLL thread, some time after the
  // cancel: single-match cancels find it again meanwhile.
  for (int trial = 0; trial < 20; ++trial) {
    INFO("trial ", trial);
    const ChildOutcome outcome = run_in_child(
        [] {
          RingOptions options;
          options.entries = 8;
          options.sqpoll = true;
          options.sqpoll_idle_ms = 1000;
          auto ring = Ring::create(options);
          if (!ring) return kChildSetupFailed;
          int fds[2];
          if (::pipe(fds) != 0) return kChildSetupFailed;
          prep_poll_add(*ring->get_sqe(), fds[0], POLLIN).set_user_data(7);
          ring->submit();
          while (ring->sq_pending() != 0) std::this_thread::yield();
          std::this_thread::sleep_for(milliseconds(2));  // armed by the poller
          auto cancelled = cancel_sync(*ring, CancelMatch{.user_data = 7, .all = true}, milliseconds(200));
          if (!cancelled) return kChildCancelFailed;
          return static_cast<int>(std::min(*cancelled, 99u));
        },
        std::chrono::seconds(5));
    INFO((outcome.returned ? child_status_text(outcome.status) : std::string("cancel_sync never returned")));
    REQUIRE(outcome.returned);
    CHECK(outcome.status == 1);
    if (outcome.status != 1) break;
  }
}

TEST_CASE("sync cancel with all: a poll armed by another, busy thread counts once (issue 12, item 7 review)") {
  URING_REQUIRE(missing_register_op(abi::IORING_REGISTER_SYNC_CANCEL));
  // The poll's task work belongs to the thread that armed it; with
  // COOP_TASKRUN it runs only when that thread enters the kernel, which a
  // thread busy in user space does not.
  for (bool coop : {false, true}) {
    for (int trial = 0; trial < 10; ++trial) {
      INFO(std::string(coop ? "COOP_TASKRUN ring" : "plain ring"), ", trial ", trial);
      const ChildOutcome outcome = run_in_child(
          [coop] {
            RingOptions options;
            options.entries = 8;
            options.register_ring_fd = false;
            options.coop_taskrun = coop;
            auto ring = Ring::create(options);
            if (!ring) return kChildSetupFailed;
            int fds[2];
            if (::pipe(fds) != 0) return kChildSetupFailed;
            std::atomic<bool> armed{false}, done{false};
            std::thread submitter([&] {
              prep_poll_add(*ring->get_sqe(), fds[0], POLLIN).set_user_data(7);
              ring->submit();
              armed = true;
              while (!done) {
                volatile unsigned long x = 0;
                for (int i = 0; i < 100000; ++i) x = x + i;
              }
            });
            while (!armed) std::this_thread::yield();
            auto cancelled = cancel_sync(*ring, CancelMatch{.user_data = 7, .all = true}, milliseconds(200));
            done = true;
            submitter.join();
            if (!cancelled) return kChildCancelFailed;
            return static_cast<int>(std::min(*cancelled, 99u));
          },
          std::chrono::seconds(5));
      INFO((outcome.returned ? child_status_text(outcome.status) : std::string("cancel_sync never returned")));
      REQUIRE(outcome.returned);
      CHECK(outcome.status == 1);
      if (outcome.status != 1) break;
    }
  }
}
