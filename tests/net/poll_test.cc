// POLL_ADD (one-shot, multishot), POLL_REMOVE (remove, update), EPOLL_CTL
// and EPOLL_WAIT on pipes, eventfds and sockets.
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>

#include "tests/net/net_support.h"
#include "tests/support/kernel_features.h"

using namespace uring;
using namespace uring::nettest;

namespace {

Fd make_eventfd() {
  Fd fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  REQUIRE(fd.get() >= 0);
  return fd;
}

void signal_eventfd(int fd, std::uint64_t value = 1) {
  REQUIRE(::write(fd, &value, sizeof value) == static_cast<ssize_t>(sizeof value));
}

std::uint64_t drain_eventfd(int fd) {
  std::uint64_t value = 0;
  REQUIRE(::read(fd, &value, sizeof value) == static_cast<ssize_t>(sizeof value));
  return value;
}

}  // namespace

TEST_CASE("one-shot poll fires on readiness and only once") {
  FdLeakCheck leaks;
  Ring ring = make_ring();
  auto [read_end, write_end] = make_pipe();

  prep_poll_add(next_sqe(ring), read_end.get(), POLLIN).set_user_data(1);
  expect_no_cqe(ring);  // nothing to read yet
  REQUIRE(::write(write_end.get(), "x", 1) == 1);
  Cqe fired = reap_one(ring);
  CHECK(fired.data() == 1);
  CHECK((fired.result() & POLLIN) != 0);
  CHECK((fired.result() & POLLOUT) == 0);
  CHECK_FALSE(fired.more());
  // One-shot: more data posts nothing.
  REQUIRE(::write(write_end.get(), "y", 1) == 1);
  expect_no_cqe(ring);

  // Already ready when armed: completes at once; POLLOUT on the write end too.
  prep_poll_add(next_sqe(ring), read_end.get(), POLLIN).set_user_data(2);
  prep_poll_add(next_sqe(ring), write_end.get(), POLLOUT).set_user_data(3);
  auto both = reap(ring, 2);
  CHECK((only(both, 2).result() & POLLIN) != 0);
  CHECK((only(both, 3).result() & POLLOUT) != 0);

  // The writer goes away: POLLHUP is reported though not asked for.
  char drain[8];
  REQUIRE(::read(read_end.get(), drain, sizeof drain) == 2);
  prep_poll_add(next_sqe(ring), read_end.get(), POLLIN).set_user_data(4);
  REQUIRE(ring.submit() == 1);
  write_end.reset();
  Cqe hup = reap_one(ring);
  CHECK((hup.result() & POLLHUP) != 0);
}

TEST_CASE("multishot poll posts one CQE per wake-up with more() until removed") {
  FdLeakCheck leaks;
  Ring ring = make_ring();
  Fd event = make_eventfd();

  prep_poll_multishot(next_sqe(ring), event.get(), POLLIN).set_user_data(10);
  REQUIRE(ring.submit() == 1);
  for (int i = 0; i < 4; ++i) {
    CAPTURE(i);
    signal_eventfd(event.get());
    Cqe cqe = reap_one(ring);
    CHECK(cqe.data() == 10);
    CHECK((cqe.result() & POLLIN) != 0);
    CHECK(cqe.more());
    CHECK(drain_eventfd(event.get()) == 1);
  }
  expect_no_cqe(ring);  // drained: no wake-up, no CQE

  prep_poll_remove(next_sqe(ring), 10).set_user_data(11);
  auto removed = reap(ring, 2);
  CHECK(only(removed, 11).result() == 0);
  CHECK(only(removed, 10).result() == -ECANCELED);
  CHECK_FALSE(only(removed, 10).more());
  signal_eventfd(event.get());
  expect_no_cqe(ring);

  // Removing what is not there.
  prep_poll_remove(next_sqe(ring), 12345).set_user_data(12);
  CHECK(reap_one(ring).result() == -ENOENT);
}

TEST_CASE("poll update changes the events and the user_data of an armed poll") {
  FdLeakCheck leaks;
  Ring ring = make_ring();
  auto [read_end, write_end] = make_pipe();

  // POLLIN on a write end never fires; update it to POLLOUT and it fires at once.
  prep_poll_add(next_sqe(ring), write_end.get(), POLLIN).set_user_data(20);
  expect_no_cqe(ring);
  PollUpdate to_pollout;
  to_pollout.events = POLLOUT;
  prep_poll_update(next_sqe(ring), 20, to_pollout).set_user_data(21);
  auto updated = reap(ring, 2);
  CHECK(only(updated, 21).result() == 0);
  CHECK((only(updated, 20).result() & POLLOUT) != 0);

  // New user_data only: the poll keeps waiting and reports under the new tag.
  prep_poll_add(next_sqe(ring), read_end.get(), POLLIN).set_user_data(30);
  REQUIRE(ring.submit() == 1);
  PollUpdate retag;
  retag.user_data = 31;
  prep_poll_update(next_sqe(ring), 30, retag).set_user_data(32);
  CHECK(reap_one(ring).result() == 0);
  expect_no_cqe(ring);
  REQUIRE(::write(write_end.get(), "x", 1) == 1);
  Cqe retagged = reap_one(ring);
  CHECK(retagged.data() == 31);
  CHECK((retagged.result() & POLLIN) != 0);

  // A multishot poll whose events change stays multishot.
  Fd event = make_eventfd();
  prep_poll_multishot(next_sqe(ring), event.get(), POLLPRI).set_user_data(41);
  expect_no_cqe(ring);
  signal_eventfd(event.get());
  expect_no_cqe(ring);  // POLLIN is not watched yet
  drain_eventfd(event.get());
  PollUpdate to_pollin;
  to_pollin.events = POLLIN;
  prep_poll_update(next_sqe(ring), 41, to_pollin).set_user_data(42);
  CHECK(reap_one(ring).result() == 0);
  for (int i = 0; i < 3; ++i) {
    signal_eventfd(event.get());
    Cqe cqe = reap_one(ring);
    CHECK(cqe.data() == 41);
    CHECK((cqe.result() & POLLIN) != 0);
    CHECK(cqe.more());
    drain_eventfd(event.get());
  }
  prep_poll_remove(next_sqe(ring), 41).set_user_data(43);
  auto gone = reap(ring, 2);
  CHECK(only(gone, 43).result() == 0);
  CHECK_FALSE(only(gone, 41).more());

  // Updating an unknown poll.
  prep_poll_update(next_sqe(ring), 999, retag).set_user_data(50);
  CHECK(reap_one(ring).result() == -ENOENT);
}

TEST_CASE("an empty PollUpdate removes the poll: it completes with -ECANCELED") {
  // io_poll_remove: with neither IORING_POLL_UPDATE_EVENTS nor _USER_DATA set
  // the request is a plain POLL_REMOVE.
  FdLeakCheck leaks;
  Ring ring = make_ring();
  Fd event = make_eventfd();
  prep_poll_multishot(next_sqe(ring), event.get(), POLLIN).set_user_data(60);
  expect_no_cqe(ring);
  prep_poll_update(next_sqe(ring), 60, PollUpdate{}).set_user_data(61);
  auto removed = reap(ring, 2);
  CHECK(only(removed, 61).result() == 0);
  CHECK(only(removed, 60).result() == -ECANCELED);
  CHECK_FALSE(only(removed, 60).more());
  signal_eventfd(event.get());
  expect_no_cqe(ring);  // nothing is watching any more
}

TEST_CASE("POLL_ADD is edge-triggered; IORING_POLL_ADD_LEVEL is refused") {
  FdLeakCheck leaks;
  Ring ring = make_ring();
  Fd event = make_eventfd();
  // Multishot: one CQE for the wake-up; the counter stays readable, yet no
  // second CQE comes until the next write.
  prep_poll_multishot(next_sqe(ring), event.get(), POLLIN).set_user_data(70);
  REQUIRE(ring.submit() == 1);
  signal_eventfd(event.get());
  Cqe first = reap_one(ring);
  CHECK(first.data() == 70);
  CHECK(first.more());
  expect_no_cqe(ring);  // still readable: no new edge, no CQE
  signal_eventfd(event.get());
  Cqe second = reap_one(ring);
  CHECK(second.data() == 70);
  CHECK(second.more());
  prep_poll_remove(next_sqe(ring), 70).set_user_data(71);
  (void)reap(ring, 2);

  // The level-triggered flag, one-shot or multishot: -EINVAL (Linux 6.18's
  // io_poll_add_prep takes IORING_POLL_ADD_MULTI only). No builder sets it.
  for (const std::uint32_t extra : {0U, abi::IORING_POLL_ADD_MULTI}) {
    Prepared& level = prep_poll_add(next_sqe(ring), event.get(), POLLIN).set_user_data(72);
    level.len = abi::IORING_POLL_ADD_LEVEL | extra;
    CHECK(reap_one(ring).result() == -EINVAL);
  }
}

TEST_CASE("epoll_ctl and epoll_wait through the ring") {
  FdLeakCheck leaks;
  Ring ring = make_ring();
  Probe probe = probe_of(ring);
  URING_REQUIRE_OP(probe, abi::IORING_OP_EPOLL_CTL);
  Fd epoll(::epoll_create1(EPOLL_CLOEXEC));
  REQUIRE(epoll.get() >= 0);
  auto [read_end, write_end] = make_pipe();
  Fd event = make_eventfd();

  epoll_event pipe_interest{};
  pipe_interest.events = EPOLLIN;
  pipe_interest.data.u64 = 0x1111;
  epoll_event event_interest{};
  event_interest.events = EPOLLIN;
  event_interest.data.u64 = 0x2222;
  prep_epoll_ctl(next_sqe(ring), epoll.get(), read_end.get(), EPOLL_CTL_ADD, &pipe_interest).set_user_data(1);
  prep_epoll_ctl(next_sqe(ring), epoll.get(), event.get(), EPOLL_CTL_ADD, &event_interest).set_user_data(2);
  auto added = reap(ring, 2);
  CHECK(only(added, 1).result() == 0);
  CHECK(only(added, 2).result() == 0);

  // The registrations are real: epoll_wait(2) sees the pipe once it has data.
  epoll_event seen[4] = {};
  CHECK(::epoll_wait(epoll.get(), seen, 4, 0) == 0);
  REQUIRE(::write(write_end.get(), "x", 1) == 1);
  REQUIRE(::epoll_wait(epoll.get(), seen, 4, 1000) == 1);
  CHECK(std::uint64_t{seen[0].data.u64} == 0x1111);
  char drain;
  REQUIRE(::read(read_end.get(), &drain, 1) == 1);

  // Adding twice, and removing something never added.
  prep_epoll_ctl(next_sqe(ring), epoll.get(), read_end.get(), EPOLL_CTL_ADD, &pipe_interest).set_user_data(3);
  CHECK(reap_one(ring).result() == -EEXIST);
  auto [other_read, other_write] = make_pipe();
  prep_epoll_ctl(next_sqe(ring), epoll.get(), other_read.get(), EPOLL_CTL_DEL, nullptr).set_user_data(4);
  CHECK(reap_one(ring).result() == -ENOENT);
  prep_epoll_ctl(next_sqe(ring), read_end.get(), event.get(), EPOLL_CTL_ADD, &event_interest)
      .set_user_data(5);
  CHECK(reap_one(ring).result() == -EINVAL);  // not an epoll fd
}

TEST_CASE("epoll_wait through the ring waits for, and reports, ready descriptors") {
  URING_REQUIRE(testing::missing_op(abi::IORING_OP_EPOLL_CTL));
  URING_REQUIRE(testing::missing_op(abi::IORING_OP_EPOLL_WAIT));
  FdLeakCheck leaks;
  Ring ring = make_ring();
  Fd epoll(::epoll_create1(EPOLL_CLOEXEC));
  REQUIRE(epoll.get() >= 0);
  auto [read_end, write_end] = make_pipe();
  Fd event = make_eventfd();
  epoll_event pipe_interest{};
  pipe_interest.events = EPOLLIN;
  pipe_interest.data.u64 = 0x1111;
  epoll_event event_interest{};
  event_interest.events = EPOLLIN;
  event_interest.data.u64 = 0x2222;
  REQUIRE(::epoll_ctl(epoll.get(), EPOLL_CTL_ADD, read_end.get(), &pipe_interest) == 0);
  REQUIRE(::epoll_ctl(epoll.get(), EPOLL_CTL_ADD, event.get(), &event_interest) == 0);

  // EPOLL_WAIT waits in the ring until something is ready.
  epoll_event events[4] = {};
  prep_epoll_wait(next_sqe(ring), epoll.get(), events, 4).set_user_data(6);
  expect_no_cqe(ring);
  signal_eventfd(event.get());
  Cqe waited = reap_one(ring);
  CHECK(waited.data() == 6);
  REQUIRE(waited.result() == 1);
  CHECK(std::uint64_t{events[0].data.u64} == 0x2222);
  CHECK((events[0].events & EPOLLIN) != 0);

  // Both ready: both reported. After EPOLL_CTL_DEL of the pipe: only the eventfd.
  REQUIRE(::write(write_end.get(), "y", 1) == 1);
  prep_epoll_wait(next_sqe(ring), epoll.get(), events, 4).set_user_data(7);
  Cqe two = reap_one(ring);
  REQUIRE(two.result() == 2);
  CHECK(events[0].data.u64 + events[1].data.u64 == 0x1111 + 0x2222);
  prep_epoll_ctl(next_sqe(ring), epoll.get(), read_end.get(), EPOLL_CTL_DEL, nullptr).set_user_data(8);
  CHECK(reap_one(ring).result() == 0);
  prep_epoll_wait(next_sqe(ring), epoll.get(), events, 4).set_user_data(9);
  Cqe one = reap_one(ring);
  REQUIRE(one.result() == 1);
  CHECK(std::uint64_t{events[0].data.u64} == 0x2222);

  // maxevents 1 with two ready: one at a time.
  REQUIRE(::write(write_end.get(), "z", 1) == 1);
  prep_epoll_ctl(next_sqe(ring), epoll.get(), read_end.get(), EPOLL_CTL_ADD, &pipe_interest)
      .set_user_data(10);
  CHECK(reap_one(ring).result() == 0);
  prep_epoll_wait(next_sqe(ring), epoll.get(), events, 1).set_user_data(11);
  CHECK(reap_one(ring).result() == 1);

  // EPOLL_WAIT on something that is not an epoll fd.
  prep_epoll_wait(next_sqe(ring), read_end.get(), events, 4).set_user_data(12);
  CHECK(reap_one(ring).result() == -EINVAL);
}
