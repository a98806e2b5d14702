// ASYNC_CANCEL by user_data, by fd (plain and fixed), ANY, ALL with the
// count of cancelled requests, by opcode; a running multishot request; the
// errors for nothing to cancel.
#include <poll.h>
#include <sys/eventfd.h>

#include <set>

#include "tests/net/net_support.h"
#include "tests/support/kernel_features.h"

using namespace uring;
using namespace uring::nettest;

namespace {

// Arms a poll that will not fire on its own (POLLIN on an empty pipe).
void arm_poll(Ring& ring, File file, std::uint64_t user_data) {
  prep_poll_add(next_sqe(ring), file, POLLIN).set_user_data(user_data);
}

// Splits `cqes` into the canceller's result and the set of requests that
// ended with -ECANCELED.
std::set<std::uint64_t> cancelled_in(const std::vector<Cqe>& cqes, std::uint64_t canceller, int* result) {
  std::set<std::uint64_t> cancelled;
  for (const Cqe& cqe : cqes) {
    if (cqe.data() == canceller) {
      *result = cqe.result();
    } else {
      CHECK(cqe.result() == -ECANCELED);
      cancelled.insert(cqe.data());
    }
  }
  return cancelled;
}

// Four requests that stay pending until cancelled: two polls on an empty
// pipe (user_data 1, 2), a recv on a quiet socket (3) and a 10 s timeout (4).
struct FourPending {
  std::pair<Fd, Fd> pipe = make_pipe();
  std::pair<Fd, Fd> sockets = unix_pair();
  char buffer[8] = {};
  abi::kernel_timespec long_ts{10, 0};

  explicit FourPending(Ring& ring) {
    arm_poll(ring, pipe.first.get(), 1);
    arm_poll(ring, pipe.first.get(), 2);
    prep_recv(next_sqe(ring), sockets.second.get(), buffer, sizeof buffer, 0).set_user_data(3);
    prep_timeout(next_sqe(ring), &long_ts).set_user_data(4);
    REQUIRE(ring.submit() == 4);
  }
};

}  // namespace

TEST_CASE("prep_cancel given IORING_ASYNC_CANCEL_FD names no file (-EBADF), never stdin (fd 0 used to be matched)") {
  URING_REQUIRE(testing::missing_since("IORING_ASYNC_CANCEL_FD", "5.19"));
  Ring ring = make_ring();
  prep_cancel(next_sqe(ring), 1, abi::IORING_ASYNC_CANCEL_FD).set_user_data(10);
  CHECK(reap_one(ring).result() == -EBADF);  // with fd 0: -ENOENT (nothing pending on stdin)
  prep_cancel(next_sqe(ring), 1).set_user_data(11);  // without CANCEL_FD the fd is not read
  CHECK(reap_one(ring).result() == -ENOENT);
}

TEST_CASE("cancel by user_data ends exactly that request; an unknown one is -ENOENT") {
  FdLeakCheck leaks;
  Ring ring = make_ring();
  auto [read_end, write_end] = make_pipe();
  arm_poll(ring, read_end.get(), 1);
  arm_poll(ring, read_end.get(), 2);
  REQUIRE(ring.submit() == 2);

  prep_cancel(next_sqe(ring), 1).set_user_data(10);
  auto cqes = reap(ring, 2);
  CHECK(only(cqes, 10).result() == 0);
  CHECK(only(cqes, 1).result() == -ECANCELED);
  CHECK(ring.cq_ready() == 0);  // poll 2 was left alone (it fires below)

  prep_cancel(next_sqe(ring), 0xdead).set_user_data(11);
  CHECK(reap_one(ring).result() == -ENOENT);
  prep_cancel(next_sqe(ring), 1).set_user_data(12);  // already cancelled
  CHECK(reap_one(ring).result() == -ENOENT);

  // Poll 2 still works.
  REQUIRE(::write(write_end.get(), "x", 1) == 1);
  Cqe fired = reap_one(ring);
  CHECK(fired.data() == 2);
  CHECK((fired.result() & POLLIN) != 0);
}

TEST_CASE(
    "cancel by pointer: a request tagged with set_user_data(const void*) is found by prep_cancel(&object)") {
  FdLeakCheck leaks;
  Ring ring = make_ring();
  auto [read_end, write_end] = make_pipe();
  struct Connection {
    int id;
  } first{1}, second{2};
  prep_poll_add(next_sqe(ring), read_end.get(), POLLIN).set_user_data(&first);
  prep_poll_add(next_sqe(ring), read_end.get(), POLLIN).set_user_data(&second);
  REQUIRE(ring.submit() == 2);
  prep_cancel(next_sqe(ring), &second).set_user_data(9);
  auto cqes = reap(ring, 2);
  CHECK(only(cqes, 9).result() == 0);
  const Cqe cancelled = only(cqes, reinterpret_cast<std::uintptr_t>(&second));
  CHECK(cancelled.result() == -ECANCELED);
  CHECK(cancelled.data_as_pointer<Connection>()->id == 2);
  expect_no_cqe(ring);  // `first` is still armed
  prep_cancel(next_sqe(ring), &first).set_user_data(10);
  cqes = reap(ring, 2);
  CHECK(only(cqes, 10).result() == 0);
  CHECK(only(cqes, reinterpret_cast<std::uintptr_t>(&first)).result() == -ECANCELED);
  prep_cancel(next_sqe(ring), &first).set_user_data(11);  // gone now
  CHECK(reap_one(ring).result() == -ENOENT);
}

TEST_CASE("cancel ALL by user_data counts what it cancelled") {
  FdLeakCheck leaks;
  Ring ring = make_ring();
  auto [read_end, write_end] = make_pipe();
  auto [a, b] = unix_pair();
  char buffer[8];
  arm_poll(ring, read_end.get(), 7);
  arm_poll(ring, read_end.get(), 7);
  prep_recv(next_sqe(ring), b.get(), buffer, sizeof buffer, 0).set_user_data(7);
  arm_poll(ring, read_end.get(), 8);
  REQUIRE(ring.submit() == 4);

  prep_cancel(next_sqe(ring), 7, abi::IORING_ASYNC_CANCEL_ALL).set_user_data(20);
  int result = 0;
  auto cqes = reap(ring, 4);
  auto cancelled = cancelled_in(cqes, 20, &result);
  CHECK(result == 3);
  CHECK(cancelled == std::set<std::uint64_t>{7});
  int sevens = 0;
  for (const Cqe& cqe : cqes) sevens += cqe.data() == 7;
  CHECK(sevens == 3);

  // With ALL, finding nothing is a count of 0 (without ALL it is -ENOENT).
  prep_cancel(next_sqe(ring), 7, abi::IORING_ASYNC_CANCEL_ALL).set_user_data(21);
  CHECK(reap_one(ring).result() == 0);
  prep_cancel(next_sqe(ring), 8).set_user_data(22);
  auto last = reap(ring, 2);
  CHECK(only(last, 22).result() == 0);
  CHECK(only(last, 8).result() == -ECANCELED);
}

TEST_CASE("cancel by fd, plain and fixed, with and without ALL") {
  FdLeakCheck leaks;
  Ring ring = make_ring();
  auto [read_a, write_a] = make_pipe();
  auto [read_b, write_b] = make_pipe();
  arm_poll(ring, read_a.get(), 1);
  arm_poll(ring, read_a.get(), 2);
  arm_poll(ring, read_a.get(), 3);
  arm_poll(ring, read_b.get(), 4);
  REQUIRE(ring.submit() == 4);

  // First match only.
  prep_cancel_fd(next_sqe(ring), read_a.get()).set_user_data(10);
  int result = -1;
  auto one = cancelled_in(reap(ring, 2), 10, &result);
  CHECK(result == 0);
  REQUIRE(one.size() == 1);
  CHECK(*one.begin() <= 3);

  // All the rest on that fd; the other pipe's poll stays.
  prep_cancel_fd(next_sqe(ring), read_a.get(), abi::IORING_ASYNC_CANCEL_ALL).set_user_data(11);
  auto rest = cancelled_in(reap(ring, 3), 11, &result);
  CHECK(result == 2);
  CHECK(rest.size() == 2);
  CHECK(rest.count(4) == 0);
  CHECK(ring.cq_ready() == 0);  // poll 4 stays armed (cancelled through slot 1 below)

  // A closed fd cannot be looked up.
  int closed = ::dup(read_a.get());
  ::close(closed);
  prep_cancel_fd(next_sqe(ring), closed).set_user_data(12);
  CHECK(reap_one(ring).result() == -EBADF);

  // Fixed files: the kernel matches the file itself, so cancelling through
  // slot 1 (pipe b) takes the poll made through slot 1 and poll 4 made with
  // the plain fd of pipe b, but not the one through slot 0 (pipe a).
  register_files(ring, {read_a.get(), read_b.get()});
  arm_poll(ring, FixedFile(1), 5);
  arm_poll(ring, FixedFile(0), 6);
  REQUIRE(ring.submit() == 2);
  prep_cancel_fd(next_sqe(ring), FixedFile(1), abi::IORING_ASYNC_CANCEL_ALL).set_user_data(13);
  auto fixed = cancelled_in(reap(ring, 3), 13, &result);
  CHECK(result == 2);
  CHECK(fixed == std::set<std::uint64_t>{4, 5});
  prep_cancel_fd(next_sqe(ring), FixedFile(7)).set_user_data(14);  // no such slot
  CHECK(reap_one(ring).result() == -EBADF);

  // A plain fd of pipe a finds the poll made through slot 0.
  prep_cancel_fd(next_sqe(ring), read_a.get()).set_user_data(15);
  auto left = cancelled_in(reap(ring, 2), 15, &result);
  CHECK(result == 0);
  CHECK(left == std::set<std::uint64_t>{6});
}

TEST_CASE("cancel ANY takes every pending request and does not combine with FD") {
  FdLeakCheck leaks;
  Ring ring = make_ring();
  FourPending pending(ring);

  int result = -1;
  prep_cancel_any(next_sqe(ring)).set_user_data(12);
  auto all = cancelled_in(reap(ring, 5), 12, &result);
  CHECK(result == 4);
  CHECK(all == std::set<std::uint64_t>{1, 2, 3, 4});
  prep_cancel_any(next_sqe(ring)).set_user_data(13);
  CHECK(reap_one(ring).result() == 0);  // none left

  prep_cancel(next_sqe(ring), 0, abi::IORING_ASYNC_CANCEL_ANY | abi::IORING_ASYNC_CANCEL_FD)
      .set_user_data(14);
  CHECK(reap_one(ring).result() == -EINVAL);
}

TEST_CASE("cancel by opcode takes only requests of that kind") {
  // "io_uring/cancel: support opcode based lookup and cancelation", Linux 6.6
  // (liburing's io_uring_prep_cancel(3): IORING_ASYNC_CANCEL_OP and _USERDATA
  // "Available since 6.6").
  URING_REQUIRE(testing::missing_since("IORING_ASYNC_CANCEL_OP", "6.6"));
  FdLeakCheck leaks;
  Ring ring = make_ring();
  FourPending pending(ring);

  // Only the polls.
  int result = -1;
  prep_cancel_op(next_sqe(ring), abi::IORING_OP_POLL_ADD, abi::IORING_ASYNC_CANCEL_ALL).set_user_data(10);
  auto polls = cancelled_in(reap(ring, 3), 10, &result);
  CHECK(result == 2);
  CHECK(polls == std::set<std::uint64_t>{1, 2});
  CHECK(ring.cq_ready() == 0);  // the recv and the timeout were left alone

  // Opcode and user_data together: the recv is 3, not 99; then 3 is found.
  prep_cancel_op(next_sqe(ring), abi::IORING_OP_RECV, abi::IORING_ASYNC_CANCEL_USERDATA, 99)
      .set_user_data(11);
  CHECK(reap_one(ring).result() == -ENOENT);
  prep_cancel_op(next_sqe(ring), abi::IORING_OP_RECV, abi::IORING_ASYNC_CANCEL_USERDATA, 3)
      .set_user_data(12);
  auto recv = cancelled_in(reap(ring, 2), 12, &result);
  CHECK(result == 0);
  CHECK(recv == std::set<std::uint64_t>{3});
  // The right user_data with the wrong opcode finds nothing.
  prep_cancel_op(next_sqe(ring), abi::IORING_OP_POLL_ADD, abi::IORING_ASYNC_CANCEL_USERDATA, 4)
      .set_user_data(13);
  CHECK(reap_one(ring).result() == -ENOENT);
  prep_cancel_op(next_sqe(ring), abi::IORING_OP_TIMEOUT, abi::IORING_ASYNC_CANCEL_ALL).set_user_data(14);
  auto timeout = cancelled_in(reap(ring, 2), 14, &result);
  CHECK(result == 1);
  CHECK(timeout == std::set<std::uint64_t>{4});

  // ANY does not combine with OP.
  prep_cancel_op(next_sqe(ring), abi::IORING_OP_POLL_ADD, abi::IORING_ASYNC_CANCEL_ANY).set_user_data(15);
  CHECK(reap_one(ring).result() == -EINVAL);
}

TEST_CASE("cancel by fd and opcode together takes only that kind on that file") {
  // io_async_cancel_prep accepts IORING_ASYNC_CANCEL_FD with _OP (not with
  // ANY); the match needs both. Linux 6.6, as CANCEL_OP.
  URING_REQUIRE(testing::missing_since("IORING_ASYNC_CANCEL_FD | IORING_ASYNC_CANCEL_OP", "6.6"));
  FdLeakCheck leaks;
  Ring ring = make_ring();
  auto [quiet, peer] = unix_pair();
  char buffer[8] = {};
  // On the socket: a poll (1) and a recv (2). On another file: a recv (3).
  auto [other, other_peer] = unix_pair();
  char other_buffer[8] = {};
  arm_poll(ring, quiet.get(), 1);
  prep_recv(next_sqe(ring), quiet.get(), buffer, sizeof buffer, 0).set_user_data(2);
  prep_recv(next_sqe(ring), other.get(), other_buffer, sizeof other_buffer, 0).set_user_data(3);
  REQUIRE(ring.submit() == 3);

  int result = -1;
  prep_cancel_fd_op(next_sqe(ring), quiet.get(), abi::IORING_OP_RECV, abi::IORING_ASYNC_CANCEL_ALL)
      .set_user_data(10);
  auto cancelled = cancelled_in(reap(ring, 2), 10, &result);
  CHECK(result == 1);
  CHECK(cancelled == std::set<std::uint64_t>{2});
  expect_no_cqe(ring);  // the poll on the socket and the recv on the other file stay

  // Nothing left of that kind on that file; the other file's recv is still there.
  prep_cancel_fd_op(next_sqe(ring), quiet.get(), abi::IORING_OP_RECV).set_user_data(11);
  CHECK(reap_one(ring).result() == -ENOENT);
  prep_cancel_fd_op(next_sqe(ring), other.get(), abi::IORING_OP_RECV).set_user_data(12);
  cancelled = cancelled_in(reap(ring, 2), 12, &result);
  CHECK(result == 0);
  CHECK(cancelled == std::set<std::uint64_t>{3});
  prep_cancel_fd(next_sqe(ring), quiet.get()).set_user_data(13);
  cancelled = cancelled_in(reap(ring, 2), 13, &result);
  CHECK(result == 0);
  CHECK(cancelled == std::set<std::uint64_t>{1});
}

TEST_CASE("cancelling a running multishot request ends it without more()") {
  FdLeakCheck leaks;
  Ring ring = make_ring();
  Fd event(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  REQUIRE(event.get() >= 0);
  prep_poll_multishot(next_sqe(ring), event.get(), POLLIN).set_user_data(1);
  REQUIRE(ring.submit() == 1);
  const std::uint64_t one = 1;
  REQUIRE(::write(event.get(), &one, sizeof one) == sizeof one);
  Cqe running = reap_one(ring);
  CHECK(running.more());
  std::uint64_t drained = 0;
  REQUIRE(::read(event.get(), &drained, sizeof drained) == sizeof drained);

  prep_cancel(next_sqe(ring), 1).set_user_data(2);
  auto cqes = reap(ring, 2);
  CHECK(only(cqes, 2).result() == 0);
  const Cqe last = only(cqes, 1);
  CHECK(last.result() == -ECANCELED);
  CHECK_FALSE(last.more());
  // It is gone from the kernel's tables, and a new wake-up posts nothing:
  // the marker NOP is the next CQE.
  prep_cancel(next_sqe(ring), 1).set_user_data(3);
  CHECK(reap_one(ring).result() == -ENOENT);
  REQUIRE(::write(event.get(), &one, sizeof one) == sizeof one);
  prep_nop(next_sqe(ring)).set_user_data(4);
  CHECK(reap_one(ring).data() == 4);
  CHECK(ring.cq_ready() == 0);
}
