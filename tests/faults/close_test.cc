// The ring closed while requests are in flight (issue 14, Faults): a read on
// a pipe nobody writes (armed on the pipe's poll queue), the same read forced
// into an io-wq worker where it blocks in pipe_read, a multishot poll that
// already fired once, a read with a LINK_TIMEOUT, and timeouts (by time and
// by count). Ring::close() and the destructor return at once, and nothing
// is left: no fd, no mapping, and every request let go of its file — each
// pipe, once this process closes its own read end, has no reader left, so a
// write fails with EPIPE (a request the kernel kept would hold the read end
// open for ever).
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <memory>
#include <string>

#include "tests/faults/faults_support.h"

using namespace uring;
using namespace uring::faults;

namespace {

const Setup kSetups[] = {
    {"plain fd", with([](RingOptions& o) { o.register_ring_fd = false; })},
    {"registered ring fd", with([](RingOptions&) {})},
    {"DEFER_TASKRUN", with([](RingOptions& o) {
       o.single_issuer = true;
       o.defer_taskrun = true;
     })},
    {"SQPOLL", with([](RingOptions& o) { o.sqpoll = true; })},
    {"NO_MMAP + REGISTERED_FD_ONLY", with([](RingOptions& o) {
       o.no_mmap = true;
       o.registered_fd_only = true;
     })},
};

enum class Closer { close, destructor, move_assign };
const char* name(Closer closer) {
  switch (closer) {
    case Closer::close: return "Ring::close()";
    case Closer::destructor: return "~Ring()";
    case Closer::move_assign: return "move-assigning an empty Ring";
  }
  return "?";
}

void run(const Setup& setup, Closer closer) {
  INFO("ring: " << std::string(setup.name) << ", closed by " << std::string(name(closer)));
  IgnoreSigpipe ignore_sigpipe;
  const int fds_before = testing::open_fd_count();
  const testing::MappingSnapshot maps_before;
  {
    Pipe polled, blocked_async, linked, multishot;
    const abi::kernel_timespec hour{3600, 0};
    const abi::kernel_timespec link_hour{3600, 0};
    char buf[3] = {};
    auto ring = std::make_unique<Ring>();
    {
      auto created = testing::create_ring(setup.options);
      REQUIRE_MESSAGE(created.ok(), created.error().message);
      *ring = std::move(created.value());
    }
    prep_read(testing::next_sqe(*ring), polled.r, &buf[0], 1, kCurrentPosition).set_user_data(1);
    prep_read(testing::next_sqe(*ring), blocked_async.r, &buf[1], 1, kCurrentPosition)
        .set_user_data(2)
        .force_async();
    prep_poll_multishot(testing::next_sqe(*ring), multishot.r, POLLIN).set_user_data(3);
    prep_timeout(testing::next_sqe(*ring), &hour).set_user_data(4);
    prep_timeout(testing::next_sqe(*ring), &hour, 1000).set_user_data(5);
    prep_read(testing::next_sqe(*ring), linked.r, &buf[2], 1, kCurrentPosition).set_user_data(6).link();
    prep_link_timeout(testing::next_sqe(*ring), &link_hour).set_user_data(7);
    REQUIRE(ring->submit() == 7);
    // The multishot poll is armed and fires (the byte stays in the pipe).
    REQUIRE(multishot.put('m'));
    const Cqe fired = testing::reap_one(*ring);
    CHECK(fired.data() == 3u);
    CHECK((fired.result() & POLLIN) != 0);
    CHECK(fired.more());
    CHECK(ring->cq_ready() == 0);  // everything else is still in flight

    const auto start = std::chrono::steady_clock::now();
    switch (closer) {
      case Closer::close: ring->close(); break;
      case Closer::destructor: ring.reset(); break;
      case Closer::move_assign: *ring = Ring(); break;
    }
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));
    if (ring) CHECK_FALSE(ring->valid());
    // The ring's own fd and mappings went with it, at once.
    CHECK(testing::mapping_count("[io_uring]") == maps_before.io_uring);
    CHECK(testing::open_fd_count() == fds_before + 8);  // only the four pipes

    // Every request lets go of its pipe (the kernel tears the ring down
    // asynchronously: wait for it, boundedly).
    for (Pipe* pipe : {&polled, &blocked_async, &linked, &multishot}) pipe->close_read();
    int pipe_index = 0;
    for (Pipe* pipe : {&polled, &blocked_async, &linked, &multishot}) {
      INFO("pipe " << pipe_index++ << " (0 polled read, 1 io-wq read, 2 linked read, 3 multishot poll)");
      int last = 0;
      CHECK(testing::eventually([&] { return (last = pipe->put_nonblocking('x')) == EPIPE; }, 20000ms));
      CHECK((last == EPIPE || last == 0));
    }
  }
  CHECK(testing::open_fd_count() == fds_before);
  CHECK(testing::MappingSnapshot() == maps_before);
}

}  // namespace

TEST_CASE("a ring closed with reads, polls and timeouts in flight returns at once and leaves nothing") {
  URING_REQUIRE(testing::missing_op(abi::IORING_OP_READ));
  URING_REQUIRE(testing::missing_op(abi::IORING_OP_LINK_TIMEOUT));
  URING_REQUIRE(testing::missing_setup_flags(abi::IORING_SETUP_SINGLE_ISSUER | abi::IORING_SETUP_DEFER_TASKRUN |
                                             abi::IORING_SETUP_NO_MMAP | abi::IORING_SETUP_REGISTERED_FD_ONLY));
  for (const Setup& setup : kSetups) {
    for (const Closer closer : {Closer::close, Closer::destructor, Closer::move_assign}) run(setup, closer);
  }
}

// Requests submitted by a thread that has exited since. The thread's exit
// may cancel what its io-wq ran (the forced-async read: -ECANCELED through
// io_uring_clean_tctx -> io_wq_put_and_exit; seen in plain builds, not
// under the sanitizers' thread runtimes), and leaves the polled read armed;
// closing the ring lets go of both.
TEST_CASE("requests submitted by a thread that exited are torn down when the ring closes") {
  URING_REQUIRE(testing::missing_op(abi::IORING_OP_READ));
  IgnoreSigpipe ignore_sigpipe;
  const int fds_before = testing::open_fd_count();
  {
    Pipe pipe, async_pipe;
    char buf[2] = {};
    RingOptions options;
    options.register_ring_fd = false;  // the registered fd would be the other thread's
    auto created = testing::create_ring(options);
    REQUIRE_MESSAGE(created.ok(), created.error().message);
    Ring& ring = created.value();
    int submitted = 0;
    std::thread submitter([&] {
      prep_read(*ring.get_sqe(), pipe.r, &buf[0], 1, kCurrentPosition).set_user_data(1);
      prep_read(*ring.get_sqe(), async_pipe.r, &buf[1], 1, kCurrentPosition).set_user_data(2).force_async();
      submitted = ring.submit();
    });
    submitter.join();
    REQUIRE(submitted == 2);
    Ledger ledger;
    ledger.take(ring);
    if (ledger.has(2)) CHECK((ledger.result_of(2) == -ECANCELED || ledger.result_of(2) == -EINTR));
    CHECK_FALSE(ledger.has(1));  // nobody wrote: the polled read is still armed
    ring.close();
    pipe.close_read();
    async_pipe.close_read();
    CHECK(testing::eventually([&] { return pipe.put_nonblocking('x') == EPIPE; }, 20000ms));
    CHECK(testing::eventually([&] { return async_pipe.put_nonblocking('x') == EPIPE; }, 20000ms));
  }
  CHECK(testing::open_fd_count() == fds_before);
}
