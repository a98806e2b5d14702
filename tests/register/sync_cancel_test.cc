// IORING_REGISTER_SYNC_CANCEL: cancels pending requests by user_data, file
// (plain or fixed), opcode, or all of them, and waits (with a timeout) for
// a request that is already running.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
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
    CHECK(*by_opcode == 2);
    auto timeouts = reap_results(ring, 2);
    CHECK(timeouts[3] == -ECANCELED);
    CHECK(timeouts[4] == -ECANCELED);

    auto by_file = cancel_sync(ring, CancelMatch{.file = pipe.fds[0]});
    REQUIRE_MESSAGE(by_file.ok(), by_file.error().message);
    CHECK(*by_file == 1);
    CHECK(reap_results(ring, 1)[1] == -ECANCELED);

    // ANY and ALL count what they cancelled.
    for (std::uint64_t tag = 10; tag < 13; ++tag) prep_timeout(*ring.get_sqe(), &long_time).set_user_data(tag);
    REQUIRE(ring.submit() == 3);
    auto any = cancel_sync(ring, CancelMatch{.any = true});
    REQUIRE_MESSAGE(any.ok(), any.error().message);
    CHECK(*any == 3);
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
