// IORING_SETUP_ATTACH_WQ on today's kernels (io_uring/sqpoll.c,
// io_attach_sq_data; io_uring/tctx.c): SQPOLL rings attached to an SQPOLL
// ring of the same process share its one poller thread (iou-sqp-*), which
// lives as long as any of them; a ring of another process falls back to its
// own poller; io-wq workers (iou-wrk-*) belong to the submitting thread,
// attached or not. And every way attaching can go wrong gets a clear message.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <atomic>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/register/register_support.h"
#include "uring/prep_file.h"
#include "uring/register.h"

using namespace uring;
using namespace uring::testing;
using std::chrono::milliseconds;

namespace {

RingOptions sqpoll_options() {
  RingOptions options;
  options.entries = 16;
  options.sqpoll = true;
  options.sqpoll_idle_ms = 20;  // sleep soon: five pollers on few CPUs
  return options;
}

// Pollers of rings closed by earlier cases exit asynchronously.
void wait_for_no_pollers() {
  REQUIRE(eventually([] { return count_threads("iou-sqp-") == 0; }, std::chrono::seconds(5)));
}

// Waits until `count` iou-sqp threads are there (a new poller names itself
// a moment after setup returns), then checks the number holds: a poller too
// many would have shown up by then.
bool pollers_settle_at(int count) {
  if (!eventually([&] { return count_threads("iou-sqp-") == count; }, std::chrono::seconds(5))) return false;
  std::this_thread::sleep_for(milliseconds(50));
  return count_threads("iou-sqp-") == count;
}

// The SqThread line of the ring's fdinfo: its poller's pid, -1 without one.
long poller_of(int ring_fd) {
  const std::string path = "/proc/self/fdinfo/" + std::to_string(ring_fd);
  FILE* file = std::fopen(path.c_str(), "r");
  if (!file) return -2;
  long pid = -2;
  char line[256];
  while (std::fgets(line, sizeof line, file)) {
    if (std::sscanf(line, "SqThread: %ld", &pid) == 1) break;
  }
  std::fclose(file);
  return pid;
}

std::string setup_error(const RingOptions& options) {
  auto ring = testing::create_ring(options);
  REQUIRE_FALSE(ring.ok());
  return ring.error().message;
}

}  // namespace

TEST_CASE("attach: by Ring or by fd, a ring attaches and works; bad targets are named") {
  URING_REQUIRE(missing_setup_flags(abi::IORING_SETUP_ATTACH_WQ));
  const int fds_before = open_fd_count();
  {
    Ring first = make_ring(Via::fd);
    RingOptions by_ring;
    by_ring.attach_wq = &first;
    Ring second = make_ring(Via::fd, by_ring);
    CHECK((second.setup_flags() & abi::IORING_SETUP_ATTACH_WQ) != 0);
    RingOptions by_fd;
    by_fd.attach_wq_fd = first.fd();
    Ring third = make_ring(Via::registered_index, by_fd);  // the attaching ring may be fd-less
    nop_round_trip(second, 1, true);
    nop_round_trip(third, 2, true);
    first.close();
    nop_round_trip(second, 3, true);  // nothing depends on the first ring staying open

    // The ring to attach to is closed: refused before the kernel is asked.
    RingOptions to_closed;
    to_closed.attach_wq = &first;
    CHECK(setup_error(to_closed).find("attach_wq names a ring that is already closed") != std::string::npos);
    // ... or only has a registered index.
    Ring fd_less = make_ring(Via::registered_index);
    RingOptions to_fd_less;
    to_fd_less.attach_wq = &fd_less;
    CHECK(setup_error(to_fd_less).find("registered_fd_only ring, which has no fd") != std::string::npos);
    RingOptions both;
    both.attach_wq = &second;
    both.attach_wq_fd = second.fd();
    CHECK(setup_error(both).find("not both") != std::string::npos);
  }

  RingOptions minus_one;
  minus_one.attach_wq_fd = -1;
  CHECK(setup_error(minus_one).find("wq_fd -1 is not an open file descriptor") != std::string::npos);

  const int not_a_ring = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  RingOptions to_dev_null;
  to_dev_null.attach_wq_fd = not_a_ring;
  CHECK(setup_error(to_dev_null).find("is not an io_uring fd (it is /dev/null)") != std::string::npos);
  ::close(not_a_ring);

  int closed_fd = -1;
  {
    Ring gone = make_ring(Via::fd);
    closed_fd = gone.fd();
  }
  RingOptions to_closed_fd;
  to_closed_fd.attach_wq_fd = closed_fd;
  const std::string message = setup_error(to_closed_fd);
  CHECK(message.find("wq_fd " + std::to_string(closed_fd) + " is not an open file descriptor") != std::string::npos);
  CHECK(message.find("ENXIO") != std::string::npos);
  CHECK(open_fd_count() == fds_before);
}

TEST_CASE("attach: an SQPOLL ring can attach only to an SQPOLL ring") {
  URING_REQUIRE(missing_sqpoll(abi::IORING_SETUP_ATTACH_WQ));
  wait_for_no_pollers();
  Ring plain = make_ring(Via::fd);
  RingOptions options = sqpoll_options();
  options.attach_wq = &plain;
  auto refused = testing::create_ring(options);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.code() == EINVAL);
  CHECK(refused.error().message.find("ring without SQPOLL") != std::string::npos);
  // A ring without SQPOLL may attach to an SQPOLL one (only the fd is checked).
  auto first = testing::create_ring(sqpoll_options());
  REQUIRE_MESSAGE(first.ok(), first.error().message);
  RingOptions plain_to_sqpoll;
  plain_to_sqpoll.attach_wq = &*first;
  Ring attached = make_ring(Via::fd, plain_to_sqpoll);
  nop_round_trip(attached, 4);
  CHECK(pollers_settle_at(1));
}

TEST_CASE("attach: 4 SQPOLL rings attached to a first share one poller; unattached, 5 pollers") {
  URING_REQUIRE(missing_sqpoll(abi::IORING_SETUP_ATTACH_WQ));
  wait_for_no_pollers();
  {
    auto first = testing::create_ring(sqpoll_options());
    REQUIRE_MESSAGE(first.ok(), first.error().message);
    std::vector<Ring> rings;
    rings.push_back(std::move(first.value()));
    for (int i = 0; i < 4; ++i) {
      RingOptions options = sqpoll_options();
      options.attach_wq = &rings.front();
      rings.push_back(make_ring(Via::fd, options));
    }
    CHECK(pollers_settle_at(1));
    const long poller = poller_of(rings.front().fd());
    CHECK(poller > 0);
    for (std::size_t i = 0; i < rings.size(); ++i) {
      CHECK(poller_of(rings[i].fd()) == poller);
      nop_round_trip(rings[i], 10 + i);
    }
  }
  wait_for_no_pollers();  // the shared poller went with the last ring
  {
    std::vector<Ring> rings;
    for (int i = 0; i < 5; ++i) rings.push_back(make_ring(Via::fd, sqpoll_options()));
    CHECK(pollers_settle_at(5));
    for (std::size_t i = 0; i < rings.size(); ++i) {
      for (std::size_t j = 0; j < i; ++j) CHECK(poller_of(rings[i].fd()) != poller_of(rings[j].fd()));
      nop_round_trip(rings[i], 20 + i);
    }
  }
  wait_for_no_pollers();
}

TEST_CASE("attach: the attached SQPOLL rings keep working whichever one is closed, the first included") {
  URING_REQUIRE(missing_sqpoll(abi::IORING_SETUP_ATTACH_WQ));
  for (std::size_t closed = 0; closed < 5; ++closed) {
    INFO("closing ring ", closed);
    wait_for_no_pollers();
    auto first = testing::create_ring(sqpoll_options());
    REQUIRE_MESSAGE(first.ok(), first.error().message);
    std::vector<Ring> rings;
    rings.push_back(std::move(first.value()));
    for (int i = 0; i < 4; ++i) {
      RingOptions options = sqpoll_options();
      options.attach_wq = &rings.front();
      rings.push_back(make_ring(Via::fd, options));
    }
    rings[closed].close();
    CHECK(pollers_settle_at(1));  // the poller stays for the others
    for (int round = 0; round < 3; ++round) {
      for (std::size_t i = 0; i < rings.size(); ++i) {
        if (i != closed) nop_round_trip(rings[i], 100 * round + i);
      }
      std::this_thread::sleep_for(milliseconds(30));  // let the poller go idle: the next submit wakes it
    }
  }
  wait_for_no_pollers();
}

TEST_CASE("attach: an SQPOLL ring of another process falls back to a poller of its own") {
  URING_REQUIRE(missing_sqpoll(abi::IORING_SETUP_ATTACH_WQ));
  wait_for_no_pollers();
  auto parent_ring = testing::create_ring(sqpoll_options());
  REQUIRE_MESSAGE(parent_ring.ok(), parent_ring.error().message);
  const long parent_poller = poller_of(parent_ring->fd());
  REQUIRE(parent_poller > 0);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    // The inherited fd names the parent's ring; attaching to it from here
    // cannot share the parent's poller (another thread group).
    RingOptions options = sqpoll_options();
    options.attach_wq_fd = parent_ring->fd();
    auto ring = testing::create_ring(options);
    if (!ring) ::_exit(10);
    const long own = poller_of(ring->fd());
    if (own <= 0 || own == parent_poller) ::_exit(11);
    // The parent's poller is not a thread of this process: an iou-sqp
    // thread in our own task list is a poller of our own.
    if (!pollers_settle_at(1)) ::_exit(13);
    Sqe* sqe = ring->get_sqe();
    prep_nop(*sqe).set_user_data(5);
    if (ring->submit() != 1) ::_exit(14);
    if (ring->wait_cqes(1, WaitOptions{.timeout = std::chrono::seconds(5)}) != 0) ::_exit(15);
    ::_exit(ring->peek_cqe()->data() == 5 ? 0 : 16);
  }
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);  // 10..16: which check failed in the child
  nop_round_trip(*parent_ring, 6);
}

TEST_CASE("attach: io-wq workers belong to the submitting thread, attached or not") {
  URING_REQUIRE(missing_setup_flags(abi::IORING_SETUP_ATTACH_WQ));
  TempDir dir;
  const std::string fifo = dir.path() + "/fifo";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  const int fds_before = open_fd_count();
  // Opens of a FIFO forced to io-wq block until a writer comes: each holds
  // one worker of the thread that submitted it, until the writer opens.
  struct Side {
    unsigned opens = 0;
    Ring ring;
    std::atomic<bool> submitted{false};
    std::string failure;
  };
  Side first_side, second_side;
  first_side.opens = 2;
  second_side.opens = 3;
  std::atomic<bool> release{false};
  std::atomic<bool> first_ready{false};
  auto run_side = [&](Side& side, const Ring* attach_to) {
    RingOptions options;
    options.attach_wq = attach_to;
    auto ring = testing::create_ring(options);
    if (!ring) {
      side.failure = ring.error().message;
      side.submitted = true;
      return;
    }
    side.ring = std::move(ring.value());
    if (!attach_to) first_ready = true;
    for (unsigned i = 0; i < side.opens; ++i) {
      prep_openat(*side.ring.get_sqe(), AT_FDCWD, fifo.c_str(), O_RDONLY | O_CLOEXEC, 0).set_user_data(i).force_async();
    }
    if (side.ring.submit() != static_cast<int>(side.opens)) side.failure = "submit failed";
    side.submitted = true;
    while (!release) std::this_thread::sleep_for(milliseconds(1));
    if (side.ring.wait_cqes(side.opens, WaitOptions{.timeout = std::chrono::seconds(10)}) != 0) {
      side.failure = "the opens did not complete";
      return;
    }
    side.ring.for_each_cqe([&](const Cqe& cqe) {
      if (cqe.result() < 0) side.failure = "an open failed: " + std::to_string(cqe.result());
      if (cqe.result() >= 0) ::close(cqe.result());
    });
    side.ring.close();
  };

  const WorkerWatch watch;  // both threads below are new owners
  std::thread first_thread(run_side, std::ref(first_side), nullptr);
  while (!first_ready && first_side.failure.empty()) std::this_thread::sleep_for(milliseconds(1));
  std::thread second_thread(run_side, std::ref(second_side), &first_side.ring);
  const bool settled = eventually(
      [&] {
        if (!first_side.submitted || !second_side.submitted) return false;
        std::multiset<int> sizes;
        for (const auto& [owner, workers] : watch.new_owners()) sizes.insert(workers);
        return sizes == std::multiset<int>{2, 3};
      },
      std::chrono::seconds(20));
  std::this_thread::sleep_for(milliseconds(50));
  const std::map<std::string, int> owners = watch.new_owners();
  // Release both: a reader is waiting, so a non-blocking writer open succeeds.
  const int writer = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  release = true;
  first_thread.join();
  second_thread.join();
  if (writer >= 0) ::close(writer);

  CHECK(first_side.failure.empty());
  CHECK(second_side.failure.empty());
  INFO(first_side.failure, second_side.failure);
  CHECK(writer >= 0);
  CHECK(settled);
  // Two owners, with 2 and 3 workers: the attached ring's opens ran on
  // workers of its own thread, not on the first ring's thread's workers.
  REQUIRE(owners.size() == 2);
  std::multiset<int> sizes;
  for (const auto& [owner, workers] : owners) sizes.insert(workers);
  CHECK(sizes == std::multiset<int>{2, 3});
  CHECK(open_fd_count() == fds_before);
}
