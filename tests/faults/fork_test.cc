// fork() with a ring open (issue 14, Faults). After fork the child holds a
// copy of the ring fd (the same io_uring file) and of the ring mappings,
// which are MAP_SHARED: parent and child see the same SQ and CQ memory, but
// each has its own copy of the Ring object's local tail and head.
//
// What Linux 6.18 does (io_uring/tctx.c, io_uring/register.c,
// io_uring/io_uring.c): the child starts with no io_uring task context and
// no registered ring fds (io_uring_fork); exiting or closing its fd only
// drops a reference to the file, and cancels nothing of the parent's (the
// parent's requests belong to the parent's task context). On a
// SINGLE_ISSUER ring the kernel refuses submissions and registrations from
// any task but the submitter with -EEXIST, and with DEFER_TASKRUN waits too;
// on other rings it accepts them — the child's SQEs and CQEs then go
// through the shared rings behind the parent's back, which is why a child
// may take the ring over only if the parent never touches it again.
//
// So the tests: the child exits without touching the ring, or closes its
// copy, or (on a SINGLE_ISSUER ring) tries to submit and wait and is
// refused; in each case the parent's ring keeps working — a read that was
// in flight across the fork completes with its data, new NOPs complete,
// and nothing extra arrives. And a child may take over a plain ring the
// parent no longer uses.
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>

#include "tests/faults/faults_support.h"

using namespace uring;
using namespace uring::faults;

namespace {

enum class Child { exits_untouched, closes_its_copy, submits_and_is_refused };
const char* name(Child child) {
  switch (child) {
    case Child::exits_untouched: return "exits without touching the ring";
    case Child::closes_its_copy: return "closes its copy";
    case Child::submits_and_is_refused: return "submits and waits (refused: SINGLE_ISSUER)";
  }
  return "?";
}

// Waits (bounded) for the child and returns its exit status, or -1 if it
// did not exit normally (it is killed if it is still running after `limit`).
int wait_child(pid_t pid, std::chrono::milliseconds limit = 20000ms) {
  int status = 0;
  pid_t done = 0;
  if (!testing::eventually([&] { return (done = ::waitpid(pid, &status, WNOHANG)) != 0; }, limit)) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
    return -1;
  }
  if (done != pid || !WIFEXITED(status)) return -1;
  return WEXITSTATUS(status);
}

// The child's side; returns its exit status (0: as expected). Only system
// calls and the Ring: nothing that could wait for a lock of a thread that
// does not exist in the child.
int child_main(Ring& ring, Child child, bool defer_taskrun) {
  switch (child) {
    case Child::exits_untouched: return 0;
    case Child::closes_its_copy:
      ring.close();
      return ring.valid() ? 10 : 0;
    case Child::submits_and_is_refused: {
      Sqe* sqe = ring.get_sqe();
      if (sqe == nullptr) return 20;
      prep_nop(*sqe).set_user_data(666);
      if (ring.submit() != -EEXIST) return 21;
      // More than the inherited CQEs, so that the wait enters the kernel.
      if (defer_taskrun) {
        const int ret = ring.wait_cqes(ring.cq_ready() + 1, WaitOptions{.timeout = 10ms});
        if (ret != -EEXIST) return ret == -ETIME ? 22 : 23;
      }
      ring.close();
      return 0;
    }
  }
  return 99;
}

void run(const Setup& setup, Child child) {
  INFO("ring: " << std::string(setup.name) << "; the child " << std::string(name(child)));
  auto created = testing::create_ring(setup.options);
  REQUIRE_MESSAGE(created.ok(), created.error().message);
  Ring& ring = created.value();
  Pipe in_flight, multishot;
  char buf[8] = {};
  Ledger ledger;

  // In flight across the fork: a read nobody has written to yet, and a
  // multishot poll; and one completed NOP the parent has not reaped yet.
  prep_read(testing::next_sqe(ring), in_flight.r, buf, 5, kCurrentPosition).set_user_data(1);
  prep_poll_multishot(testing::next_sqe(ring), multishot.r, POLLIN).set_user_data(2);
  prep_nop(testing::next_sqe(ring)).set_user_data(3);
  ledger.expect(1, 5);
  ledger.expect(3, 0);
  REQUIRE(ring.submit() == 3);

  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) ::_exit(child_main(ring, child, setup.options.defer_taskrun));
  CHECK(wait_child(pid) == 0);

  // The parent's ring after the child is gone.
  CHECK(ring.valid());
  CHECK(ring.sq_pending() == 0);
  REQUIRE(::write(in_flight.w, "hello", 5) == 5);
  REQUIRE(multishot.put('m'));
  for (std::uint64_t tag = 10; tag < 14; ++tag) {
    prep_nop(testing::next_sqe(ring)).set_user_data(tag);
    ledger.expect(tag, 0);
  }
  CHECK(ring.submit() == 4);
  // The multishot poll fires once (with F_MORE).
  ledger.expect_any(2);
  ledger.reap_rest(ring);
  CHECK((ledger.result_of(2) & POLLIN) != 0);
  CHECK((ledger.flags_of(2) & abi::IORING_CQE_F_MORE) != 0);
  ledger.check_exactly_once();
  CHECK(std::string(buf, 5) == "hello");
  CHECK(ring.wait_cqes(1, WaitOptions{.timeout = 20ms}) == -ETIME);  // nothing from the child
  CHECK(ring.sq_pending() == 0);
  CHECK(ring.sq_space_left() == ring.sq_entries());
}

}  // namespace

TEST_CASE("fork: a child that exits or closes its copy leaves the parent's ring working") {
  URING_REQUIRE(testing::missing_op(abi::IORING_OP_READ));
  const Setup setups[] = {
      {"plain fd", with([](RingOptions& o) { o.register_ring_fd = false; })},
      {"registered ring fd", with([](RingOptions&) {})},
      {"SINGLE_ISSUER", with([](RingOptions& o) { o.single_issuer = true; })},
      {"DEFER_TASKRUN", with([](RingOptions& o) {
         o.single_issuer = true;
         o.defer_taskrun = true;
       })},
  };
  for (const Setup& setup : setups) {
    for (const Child child : {Child::exits_untouched, Child::closes_its_copy}) run(setup, child);
  }
}

TEST_CASE("fork: on a SINGLE_ISSUER ring the kernel refuses the child's submit (and DEFER_TASKRUN wait) with -EEXIST") {
  URING_REQUIRE(testing::missing_setup_flags(abi::IORING_SETUP_SINGLE_ISSUER | abi::IORING_SETUP_DEFER_TASKRUN));
  run({"SINGLE_ISSUER", with([](RingOptions& o) { o.single_issuer = true; })}, Child::submits_and_is_refused);
  run({"DEFER_TASKRUN", with([](RingOptions& o) {
         o.single_issuer = true;
         o.defer_taskrun = true;
       })},
      Child::submits_and_is_refused);
}

// A child may take a plain ring over — submit, wait and reap — as long as
// the parent never uses it again (the parent only closes its copy).
TEST_CASE("fork: a child takes over a plain ring that the parent no longer uses") {
  URING_REQUIRE(testing::missing_op(abi::IORING_OP_READ));
  for (const bool registered_fd : {false, true}) {
    INFO("the parent registered the ring fd: " << registered_fd);
    RingOptions options;
    options.entries = 16;
    options.register_ring_fd = registered_fd;
    auto created = testing::create_ring(options);
    REQUIRE_MESSAGE(created.ok(), created.error().message);
    Ring& ring = created.value();
    Pipe pipe;
    prep_nop(testing::next_sqe(ring)).set_user_data(1);
    REQUIRE(ring.submit() == 1);  // a CQE the child inherits unreaped
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      char buf[3] = {};
      Sqe* sqe = ring.get_sqe();
      if (sqe == nullptr) ::_exit(30);
      prep_read(*sqe, pipe.r, buf, 3, kCurrentPosition).set_user_data(2);
      if (ring.submit() != 1) ::_exit(31);
      if (::write(pipe.w, "abc", 3) != 3) ::_exit(32);
      int seen = 0;
      while (seen != 3) {  // bits: 1 the inherited NOP, 2 the child's read
        const int ret = ring.wait_cqes(1, WaitOptions{.timeout = 10s});
        if (ret != 0) ::_exit(33);
        bool bad = false;
        ring.for_each_cqe([&](const Cqe& cqe) {
          if (cqe.data() == 1 && cqe.result() == 0 && !(seen & 1)) {
            seen |= 1;
          } else if (cqe.data() == 2 && cqe.result() == 3 && !(seen & 2)) {
            seen |= 2;
          } else {
            bad = true;
          }
        });
        if (bad) ::_exit(34);
      }
      if (std::memcmp(buf, "abc", 3) != 0) ::_exit(35);
      ring.close();
      ::_exit(0);
    }
    CHECK(wait_child(pid) == 0);
    ring.close();  // all the parent may still do
    CHECK_FALSE(ring.valid());
  }
}
