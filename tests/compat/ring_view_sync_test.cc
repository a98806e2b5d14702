// Ring::replace_fd and Ring::resync_sqe_tail: what the liburing layer
// (uring/liburing) uses to follow programs that change struct io_uring
// behind its back — a dup stored in ring_fd (liburing's test/sq-poll-dup),
// the struct shared across fork so another process's copy of the Ring moved
// the SQ tail (test/across-fork). Two Rings adopted over one ring file stand
// in for the two processes here.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <thread>

#include "tests/support/kernel_features.h"
#include "tests/support/test_support.h"
#include "uring/uring.h"

using namespace uring;

namespace {

bool fd_is_open(int fd) { return ::fcntl(fd, F_GETFD) >= 0; }

Result<Ring> adopt_new(unsigned entries, abi::io_uring_params& params, int* fd_out = nullptr) {
  params = abi::io_uring_params{};
  const int fd = sys::io_uring_setup(entries, &params);
  if (fd < 0) return Error{-fd, "io_uring_setup failed"};
  if (fd_out) *fd_out = fd;
  auto ring = Ring::adopt(fd, params);
  if (!ring) ::close(fd);
  return ring;
}

// One NOP through `ring`, submitted and reaped; its CQE's user_data, or ~0.
std::uint64_t nop(Ring& ring, std::uint64_t user_data) {
  Sqe* sqe = ring.get_sqe();
  if (!sqe) return ~0ull;
  prep_nop(*sqe).set_user_data(user_data);
  if (ring.submit_and_wait(1) != 1) return ~0ull;
  Cqe* cqe = ring.peek_cqe();
  if (!cqe) return ~0ull;
  const std::uint64_t data = cqe->data();
  ring.cqe_seen(cqe);
  return data;
}

}  // namespace

TEST_CASE("replace_fd: enter and register go through the new fd, close() closes it and not the old one") {
  const int fds_before = testing::open_fd_count();
  abi::io_uring_params params;
  int original = -1;
  {
    auto ring = adopt_new(8, params, &original);
    REQUIRE_MESSAGE(ring.ok(), ring.error().message);
    const int dup_fd = ::dup(original);
    REQUIRE(dup_fd >= 0);
    REQUIRE(::close(original) == 0);
    // The old number now names another file: a Ring still using it would
    // enter /dev/null (-EOPNOTSUPP) and close it on close().
    const int other = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    REQUIRE(other == original);
    CHECK(ring->replace_fd(dup_fd) == 0);
    CHECK(ring->fd() == dup_fd);
    CHECK(ring->valid());
    CHECK(nop(*ring, 5) == 5);
    CHECK(ring->register_raw(abi::IORING_REGISTER_FILES, &other, 1) == 0);
    CHECK(ring->register_raw(abi::IORING_UNREGISTER_FILES, nullptr, 0) == 0);
    ring->close();
    CHECK_FALSE(fd_is_open(dup_fd));
    CHECK(fd_is_open(other));
    ::close(other);
  }
  CHECK(testing::open_fd_count() == fds_before);
}

TEST_CASE("replace_fd keeps a registered index; other threads use the new fd") {
  URING_REQUIRE(testing::missing_register_op(abi::IORING_REGISTER_RING_FDS));
  const int fds_before = testing::open_fd_count();
  {
    RingOptions options;
    options.register_ring_fd = true;
    auto ring = testing::create_ring(options);
    REQUIRE(ring.ok());
    const int index = ring->registered_index();
    REQUIRE(index >= 0);
    const int original = ring->fd();
    const int dup_fd = ::dup(original);
    REQUIRE(dup_fd >= 0);
    CHECK(ring->replace_fd(dup_fd) == 0);
    CHECK(ring->registered_index() == index);
    ::close(original);  // the caller's now
    CHECK(nop(*ring, 6) == 6);
    // Another thread has no registered index: it enters through fd().
    int from_other = 0;
    std::thread([&] {
      from_other = ring->enter(0, 0, abi::IORING_ENTER_GETEVENTS, nullptr, 0);
    }).join();
    CHECK(from_other == 0);
  }
  CHECK(testing::open_fd_count() == fds_before);
}

TEST_CASE("replace_fd refuses a negative fd and a closed ring, and changes nothing then") {
  abi::io_uring_params params;
  auto ring = adopt_new(4, params);
  REQUIRE(ring.ok());
  const int fd = ring->fd();
  CHECK(ring->replace_fd(-1) == -EBADF);
  CHECK(ring->fd() == fd);
  CHECK(nop(*ring, 1) == 1);
  Ring closed;
  CHECK(closed.replace_fd(fd) == -EBADF);
  CHECK_FALSE(closed.valid());
}

TEST_CASE("resync_sqe_tail: a second Ring over the same rings goes on from the first one's tail") {
  abi::io_uring_params params;
  int fd = -1;
  auto a = adopt_new(8, params, &fd);
  REQUIRE(a.ok());
  const int fd2 = ::dup(fd);
  REQUIRE(fd2 >= 0);
  auto b_adopted = Ring::adopt(fd2, params);
  REQUIRE(b_adopted.ok());
  Ring& b = *b_adopted;
  const Ring::Mapping ma = a->mapping();
  const Ring::Mapping mb = b.mapping();

  // A submits three; B's copy of the state still says 0, as a forked
  // child's does after its parent submitted.
  CHECK(nop(*a, 1) == 1);
  CHECK(nop(*a, 2) == 2);
  CHECK(nop(*a, 3) == 3);
  CHECK(*ma.sq_ktail == 3);
  CHECK(b.sqe_tail() == 0);
  CHECK(b.sq_pending() == static_cast<unsigned>(0 - 3));  // stale: behind the kernel's head

  CHECK(b.resync_sqe_tail(a->sqe_tail()) == 0);
  CHECK(b.sqe_tail() == 3);
  CHECK(b.sq_pending() == 0);
  CHECK(b.sq_space_left() == b.sq_entries());
  CHECK(nop(b, 4) == 4);
  CHECK(*mb.sq_ktail == 4);
  CHECK(*mb.sq_khead == 4);

  // And back: A takes B's tail, with one SQE B took and did not publish yet
  // (liburing's struct says so in sq.sqe_tail); A's submit publishes it.
  Sqe* sqe = b.get_sqe();
  REQUIRE(sqe != nullptr);
  prep_nop(*sqe).set_user_data(5);
  CHECK(a->resync_sqe_tail(b.sqe_tail()) == 0);
  CHECK(a->sq_pending() == 1);
  CHECK(a->submit_and_wait(1) == 1);
  Cqe* cqe = a->peek_cqe();
  REQUIRE(cqe != nullptr);
  CHECK(cqe->data() == 5);
  a->cqe_seen(cqe);
  CHECK(nop(*a, 6) == 6);
  CHECK(*ma.sq_khead == 6);
  CHECK(a->cq_ready() == 0);
}

TEST_CASE("resync_sqe_tail refuses a tail behind the kernel's or past a full SQ, and changes nothing then") {
  abi::io_uring_params params;
  auto ring = adopt_new(4, params);
  REQUIRE(ring.ok());
  CHECK(nop(*ring, 1) == 1);
  CHECK(nop(*ring, 2) == 2);
  const std::uint32_t tail = ring->sqe_tail();
  REQUIRE(tail == 2);
  CHECK(ring->resync_sqe_tail(1) == -EINVAL);  // behind what the kernel was given
  CHECK(ring->resync_sqe_tail(2 + ring->sq_entries() + 1) == -EINVAL);  // more SQEs than the SQ holds
  CHECK(ring->sqe_tail() == tail);
  CHECK(ring->resync_sqe_tail(2 + ring->sq_entries()) == 0);  // a full SQ is possible
  CHECK(ring->sq_space_left() == 0);
  CHECK(ring->get_sqe() == nullptr);
  CHECK(ring->resync_sqe_tail(2) == 0);  // and back to what was published
  CHECK(nop(*ring, 3) == 3);
  Ring closed;
  CHECK(closed.resync_sqe_tail(0) == -EBADF);
}
