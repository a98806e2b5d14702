// IORING_REGISTER_IOWQ_MAX_WORKERS (bounded and unbounded limits, old
// values read back; the limit bounds the iou-wrk-* threads of a task under
// a forced-async load that blocks in the kernel) and IORING_REGISTER_IOWQ_AFF / UNREGISTER_IOWQ_AFF
// (the CPUs the workers run on). Each case runs in a fresh thread: io-wq
// belongs to the submitting thread, so a new thread starts with no workers.
#include <fcntl.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "tests/register/register_support.h"
#include "uring/prep_file.h"
#include "uring/register.h"

using namespace uring;
using namespace uring::testing;

namespace {

// Floods `ring` with NOPs forced to io-wq and returns the most io-wq
// workers of new owners (this fresh thread) seen at once.
int peak_workers_under_load(Ring& ring, const WorkerWatch& watch) {
  int peak = 0;
  for (int round = 0; round < 20; ++round) {
    unsigned queued = 0;
    while (Sqe* sqe = ring.get_sqe()) {
      prep_nop(*sqe).set_user_data(queued).force_async();
      ++queued;
    }
    REQUIRE(ring.submit() == static_cast<int>(queued));
    for (int look = 0; look < 20; ++look) peak = std::max(peak, watch.count());
    REQUIRE(ring.wait_cqes(queued, WaitOptions{.timeout = std::chrono::seconds(10)}) == 0);
    unsigned reaped = 0;
    ring.for_each_cqe([&](const Cqe& cqe) {
      CHECK(cqe.result() == 0);
      ++reaped;
    });
    CHECK(reaped == queued);
  }
  return peak;
}

// "Cpus_allowed_list" of every worker `watch` sees.
std::vector<std::string> worker_cpu_lists(const WorkerWatch& watch) {
  std::vector<std::string> lists;
  for (const std::string& dir : watch.task_dirs()) {
    FILE* status = std::fopen((dir + "/status").c_str(), "r");
    if (!status) continue;
    char line[256];
    while (std::fgets(line, sizeof line, status)) {
      char list[128];
      if (std::sscanf(line, "Cpus_allowed_list: %127s", list) == 1) lists.push_back(list);
    }
    std::fclose(status);
  }
  return lists;
}

}  // namespace

TEST_CASE("iowq max workers: limits are set per class, the old ones come back, 0 leaves one alone") {
  URING_REQUIRE(missing_register_op(abi::IORING_REGISTER_IOWQ_MAX_WORKERS));
  for (Via via : kBothWays) {
    INFO("via ", std::string(via_name(via)));
    run_in_thread([&] {
      RingOptions options;
      options.entries = 64;
      Ring ring = make_ring(via, options);
      auto initial = set_iowq_max_workers(ring, {});  // read only
      REQUIRE_MESSAGE(initial.ok(), initial.error().message);
      // The kernel's defaults: bounded = min(SQ entries, 4 x online CPUs),
      // unbounded = RLIMIT_NPROC.
      const unsigned cpus = static_cast<unsigned>(::sysconf(_SC_NPROCESSORS_ONLN));
      CHECK(initial->bounded == std::min(64u, 4 * cpus));
      rlimit nproc{};
      REQUIRE(::getrlimit(RLIMIT_NPROC, &nproc) == 0);
      if (nproc.rlim_cur < 0x7fffffff) CHECK(initial->unbounded == nproc.rlim_cur);

      auto old = set_iowq_max_workers(ring, {.bounded = 2, .unbounded = 3});
      REQUIRE(old.ok());
      CHECK(old->bounded == initial->bounded);
      CHECK(old->unbounded == initial->unbounded);
      auto now = set_iowq_max_workers(ring, {.bounded = 0, .unbounded = 5});  // bounded unchanged
      REQUIRE(now.ok());
      CHECK(now->bounded == 2);
      CHECK(now->unbounded == 3);
      auto after = set_iowq_max_workers(ring, {});
      REQUIRE(after.ok());
      CHECK(after->bounded == 2);
      CHECK(after->unbounded == 5);
    });
  }
}

namespace {

// A load that holds io-wq workers: opens of a FIFO for reading, forced to
// io-wq, block in the kernel until a writer appears (inline, io_uring would
// try them non-blocking and they would succeed at once). Submits `count`,
// waits (up to 20 s: worker threads are slow to start on a loaded machine)
// until this (fresh) thread has `expected` workers, then keeps watching a
// while longer for one too many, opens the writer so every open completes,
// and closes what they opened. Returns the most workers seen at once.
//
// A correct kernel never goes past its limit, so the extra watch cannot
// fail a good run; it only gives a broken limit time to show (and the
// unlimited run, the same load, shows that the load does start them all).
int peak_workers_on_blocked_opens(Ring& ring, const std::string& fifo, unsigned count, int expected,
                                  const WorkerWatch& watch) {
  for (unsigned i = 0; i < count; ++i) {
    Sqe* sqe = ring.get_sqe();
    REQUIRE(sqe != nullptr);
    prep_openat(*sqe, AT_FDCWD, fifo.c_str(), O_RDONLY | O_CLOEXEC, 0).set_user_data(i).force_async();
  }
  REQUIRE(ring.submit() == static_cast<int>(count));
  int peak = 0;
  const bool reached = eventually(
      [&] {
        peak = std::max(peak, watch.count());
        return peak >= expected;
      },
      std::chrono::seconds(20));
  CHECK_MESSAGE(reached, "only ", peak, " io-wq workers started for ", count, " blocked opens");
  eventually(
      [&] {
        peak = std::max(peak, watch.count());
        return peak > expected;
      },
      std::chrono::milliseconds(300));
  CHECK(ring.cq_ready() == 0);  // every open is still blocked (or queued)
  // A reader is waiting, so a non-blocking writer open succeeds and wakes them.
  const int writer = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  REQUIRE(writer >= 0);
  REQUIRE(ring.wait_cqes(count, WaitOptions{.timeout = std::chrono::seconds(10)}) == 0);
  unsigned opened = 0;
  ring.for_each_cqe([&](const Cqe& cqe) {
    CHECK(cqe.result() >= 0);
    if (cqe.result() >= 0) {
      ::close(cqe.result());
      ++opened;
    }
  });
  CHECK(opened == count);
  ::close(writer);
  return peak;
}

}  // namespace

TEST_CASE("iowq max workers: K bounds the iou-wrk threads of the task under a forced-async load") {
  URING_REQUIRE(missing_register_op(abi::IORING_REGISTER_IOWQ_MAX_WORKERS));
  TempDir dir;
  const std::string fifo = dir.path() + "/fifo";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  const int fds_before = open_fd_count();
  constexpr unsigned kOpens = 6;
  const unsigned cpus = static_cast<unsigned>(::sysconf(_SC_NPROCESSORS_ONLN));
  for (unsigned limit : {1u, 2u}) {
    INFO("limit ", limit);
    int peak = -1;
    run_in_thread([&] {
      RingOptions options;
      options.entries = 64;
      const WorkerWatch watch;  // this thread is new: its workers will be the new ones
      Ring ring = make_ring(Via::fd, options);
      auto set = set_iowq_max_workers(ring, {.bounded = limit, .unbounded = limit});
      REQUIRE_MESSAGE(set.ok(), set.error().message);
      peak = peak_workers_on_blocked_opens(ring, fifo, kOpens, static_cast<int>(limit), watch);
    });
    CHECK(peak == static_cast<int>(limit));  // busy up to the limit, never past it
  }
  // The same load without a limit: one worker per blocked open, up to the
  // default bounded limit (min(SQ entries, 4 x CPUs)).
  const int unlimited_expected = static_cast<int>(std::min(kOpens, 4 * cpus));
  int unlimited = -1;
  run_in_thread([&] {
    RingOptions options;
    options.entries = 64;
    const WorkerWatch watch;
    Ring ring = make_ring(Via::fd, options);
    unlimited = peak_workers_on_blocked_opens(ring, fifo, kOpens, unlimited_expected, watch);
  });
  CHECK(unlimited == unlimited_expected);
  CHECK(open_fd_count() == fds_before);
}

TEST_CASE("iowq affinity: new workers run on the registered CPUs; unregister restores the thread's") {
  URING_REQUIRE(missing_register_op(abi::IORING_REGISTER_IOWQ_AFF));
  URING_REQUIRE(missing_cpus(2));  // a worker pinned to one CPU is told apart from one free to use all
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  REQUIRE(::sched_getaffinity(0, sizeof allowed, &allowed) == 0);
  int last = -1;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (CPU_ISSET(cpu, &allowed)) last = cpu;
  }
  for (Via via : kBothWays) {
    INFO("via ", std::string(via_name(via)));
    run_in_thread([&] {
      const WorkerWatch watch;
      Ring ring = make_ring(via);
      cpu_set_t one;
      CPU_ZERO(&one);
      CPU_SET(last, &one);
      Status pinned = register_iowq_affinity(ring, one);
      REQUIRE_MESSAGE(pinned.ok(), pinned.error().message);
      REQUIRE(peak_workers_under_load(ring, watch) >= 1);
      const std::vector<std::string> lists = worker_cpu_lists(watch);
      REQUIRE_FALSE(lists.empty());
      for (const std::string& list : lists) CHECK(list == std::to_string(last));
    });
    run_in_thread([&] {
      const WorkerWatch watch;
      Ring ring = make_ring(via);
      cpu_set_t one;
      CPU_ZERO(&one);
      CPU_SET(last, &one);
      REQUIRE(register_iowq_affinity(ring, one).ok());
      Status unpinned = unregister_iowq_affinity(ring);
      REQUIRE_MESSAGE(unpinned.ok(), unpinned.error().message);
      REQUIRE(peak_workers_under_load(ring, watch) >= 1);
      const std::vector<std::string> lists = worker_cpu_lists(watch);
      REQUIRE_FALSE(lists.empty());
      for (const std::string& list : lists) CHECK(list != std::to_string(last));  // the whole allowed set again
    });
  }
}

namespace {

// The CPUs this thread may use, and the last of them.
int last_allowed_cpu() {
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  REQUIRE(::sched_getaffinity(0, sizeof allowed, &allowed) == 0);
  int last = -1;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (CPU_ISSET(cpu, &allowed)) last = cpu;
  }
  REQUIRE(last >= 0);
  return last;
}

// A CPU number this machine does not have (one past the configured ones).
int missing_cpu_number() {
  const long configured = ::sysconf(_SC_NPROCESSORS_CONF);
  REQUIRE(configured > 0);
  return static_cast<int>(configured);
}

// A CPU_ALLOC'd set for `cpus` CPUs, freed with it.
struct AllocatedCpuSet {
  explicit AllocatedCpuSet(int cpus) : set(CPU_ALLOC(cpus)), bytes(CPU_ALLOC_SIZE(cpus)) {
    REQUIRE(set != nullptr);
    CPU_ZERO_S(bytes, set);
  }
  ~AllocatedCpuSet() { CPU_FREE(set); }
  cpu_set_t* set;
  std::size_t bytes;
};

}  // namespace

TEST_CASE("iowq: from a thread with no io-wq, affinity and worker limits say so, not \"CPU set\" or {0, 0} (issue 12, item 8)") {
  URING_REQUIRE(missing_register_op(abi::IORING_REGISTER_IOWQ_MAX_WORKERS));
  // The ring's own thread has an io-wq: Ring::create registered the ring fd there.
  Ring ring = make_ring(Via::fd);
  REQUIRE(ring.registered_index() >= 0);
  auto own = set_iowq_max_workers(ring, {});
  REQUIRE_MESSAGE(own.ok(), own.error().message);
  REQUIRE(own->bounded > 0);
  const int cpu = last_allowed_cpu();
  run_in_thread([&] {
    // A fresh thread that never submitted: no io-wq.
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    Status pinned = register_iowq_affinity(ring, one);
    REQUIRE_FALSE(pinned.ok());
    CHECK(pinned.code() == EINVAL);
    INFO(pinned.error().message);
    CHECK(pinned.error().message.find("the calling thread has no io-wq") != std::string::npos);
    CHECK(pinned.error().message.find("CPU set") == std::string::npos);
    Status unpinned = unregister_iowq_affinity(ring);
    REQUIRE_FALSE(unpinned.ok());
    CHECK(unpinned.error().message.find("the calling thread has no io-wq") != std::string::npos);

    auto read = set_iowq_max_workers(ring, {});
    REQUIRE_FALSE(read.ok());  // not {0, 0} as if those were its limits
    CHECK(read.code() == ENXIO);
    CHECK(read.error().message.find("the calling thread has no io-wq") != std::string::npos);
    auto set = set_iowq_max_workers(ring, {.bounded = 3, .unbounded = 5});
    REQUIRE_FALSE(set.ok());
    CHECK(set.code() == ENXIO);
    INFO(set.error().message);
    CHECK(set.error().message.find("still recorded the new limits") != std::string::npos);
  });
  // As the message says, the ring recorded them: the ring's thread has them now...
  auto after = set_iowq_max_workers(ring, {});
  REQUIRE_MESSAGE(after.ok(), after.error().message);
  CHECK(after->bounded == 3);
  CHECK(after->unbounded == 5);
  // ...and so does a thread whose first io_uring use is this ring.
  run_in_thread([&] {
    nop_round_trip(ring, 1, /*async=*/true);
    auto first_use = set_iowq_max_workers(ring, {});
    REQUIRE_MESSAGE(first_use.ok(), first_use.error().message);
    CHECK(first_use->bounded == 3);
    CHECK(first_use->unbounded == 5);
  });
}

TEST_CASE("iowq affinity takes a CPU_ALLOC'd set of any size, and refuses CPUs the kernel would drop (issue 12, item 8)") {
  URING_REQUIRE(missing_register_op(abi::IORING_REGISTER_IOWQ_AFF));
  URING_REQUIRE(missing_cpus(2));  // a worker pinned to one CPU is told apart from one free to use all
  const int last = last_allowed_cpu();
  constexpr int kCpus = 2048;  // twice what a cpu_set_t holds
  run_in_thread([&] {
    const WorkerWatch watch;
    Ring ring = make_ring(Via::fd);
    AllocatedCpuSet cpus(kCpus);
    CPU_SET_S(static_cast<std::size_t>(last), cpus.bytes, cpus.set);
    Status pinned = register_iowq_affinity(ring, cpus.set, cpus.bytes);
    REQUIRE_MESSAGE(pinned.ok(), pinned.error().message);
    REQUIRE(peak_workers_under_load(ring, watch) >= 1);
    const std::vector<std::string> lists = worker_cpu_lists(watch);
    REQUIRE_FALSE(lists.empty());
    for (const std::string& list : lists) CHECK(list == std::to_string(last));

    // A CPU the machine does not have, even in a set this big, is refused by name.
    AllocatedCpuSet far(kCpus);
    CPU_SET_S(1500, far.bytes, far.set);
    Status dropped = register_iowq_affinity(ring, far.set, far.bytes);
    REQUIRE_FALSE(dropped.ok());
    CHECK(dropped.code() == EINVAL);
    INFO(dropped.error().message);
    CHECK(dropped.error().message.find("CPU 1500 does not exist") != std::string::npos);
    AllocatedCpuSet none(kCpus);
    Status empty = register_iowq_affinity(ring, none.set, none.bytes);
    REQUIRE_FALSE(empty.ok());
    CHECK(empty.error().message.find("names no CPU") != std::string::npos);
  });
}

TEST_CASE("iowq affinity: a CPU the machine lacks is refused, not taken and silently ignored (issue 12, item 8)") {
  URING_REQUIRE(missing_register_op(abi::IORING_REGISTER_IOWQ_AFF));
  const int missing = missing_cpu_number();
  URING_REQUIRE(missing < CPU_SETSIZE ? std::string() : "this machine has every CPU a cpu_set_t can name");
  run_in_thread([&] {
    const WorkerWatch watch;
    Ring ring = make_ring(Via::fd);
    cpu_set_t cpus;
    CPU_ZERO(&cpus);
    CPU_SET(missing, &cpus);
    // 6.18 accepts it, and its workers then run on every CPU (as if never pinned).
    Status pinned = register_iowq_affinity(ring, cpus);
    REQUIRE_FALSE(pinned.ok());
    CHECK(pinned.code() == EINVAL);
    INFO(pinned.error().message);
    CHECK(pinned.error().message.find("CPU " + std::to_string(missing) + " does not exist") != std::string::npos);
  });
}

TEST_CASE("iowq affinity: a set whose size is not a multiple of a word is read only to its size (issue 12, item 8 review)") {
  URING_REQUIRE(missing_register_op(abi::IORING_REGISTER_IOWQ_AFF));
  // The kernel takes any length (io_register_iowq_aff: min(len,
  // cpumask_size())); glibc's CPU_*_S macros read whole longs, past the end
  // of a 12-byte set (ASan: heap-buffer-overflow) and, for a 4-byte set,
  // count no CPU in it.
  run_in_thread([&] {
    Ring ring = make_ring(Via::fd);
    nop_round_trip(ring, 1, /*async=*/true);  // the thread's io-wq exists now
    cpu_set_t allowed;
    REQUIRE(::sched_getaffinity(0, sizeof allowed, &allowed) == 0);
    int first = 0;
    while (first < 8 && !CPU_ISSET(first, &allowed)) ++first;
    REQUIRE_MESSAGE(first < 8, "no CPU below 8 allowed; a 1-byte set cannot name one");
    for (std::size_t size : {std::size_t{4}, std::size_t{12}, std::size_t{1}}) {
      INFO("set size ", size);
      auto* heap = static_cast<unsigned char*>(std::calloc(size, 1));  // exactly `size` bytes, for ASan
      REQUIRE(heap != nullptr);
      heap[0] = static_cast<unsigned char>(1u << first);  // one CPU the thread may run on
      Status status = register_iowq_affinity(ring, reinterpret_cast<cpu_set_t*>(heap), size);
      std::free(heap);
      CHECK_MESSAGE(status.ok(), status.error().message);
      CHECK(unregister_iowq_affinity(ring).ok());
    }
    // And an empty odd-sized set is still "names no CPU".
    auto* empty = static_cast<unsigned char*>(std::calloc(12, 1));
    REQUIRE(empty != nullptr);
    Status none = register_iowq_affinity(ring, reinterpret_cast<cpu_set_t*>(empty), 12);
    std::free(empty);
    REQUIRE_FALSE(none.ok());
    CHECK(none.error().message.find("names no CPU") != std::string::npos);
  });
}
