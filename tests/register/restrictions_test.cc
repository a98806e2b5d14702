// IORING_REGISTER_RESTRICTIONS + ENABLE_RINGS: the sandbox. A ring set up
// disabled, restricted, then enabled refuses every SQE opcode, SQE flag and
// register opcode outside its allow-list (-EACCES), and does nothing for
// the refused requests.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "tests/register/register_support.h"
#include "uring/prep_file.h"
#include "uring/register.h"

using namespace uring;
using namespace uring::testing;

namespace {

RingOptions disabled() {
  RingOptions options;
  options.start_disabled = true;
  return options;
}

// Submits what `fill` prepares and returns the CQE's result.
template <class Fill>
int run(Ring& ring, Fill fill) {
  Sqe* sqe = ring.get_sqe();
  REQUIRE(sqe != nullptr);
  fill(*sqe);
  sqe->set_user_data(99);
  REQUIRE(ring.submit() == 1);
  const Cqe done = reap_one(ring);
  CHECK(done.user_data == 99);
  return done.result();
}

}  // namespace

TEST_CASE("restrictions: SQE opcodes, SQE flags and register opcodes outside the list get -EACCES") {
  TempDir dir;
  const int fds_before = open_fd_count();
  for (Via via : kBothWays) {
    INFO("via ", std::string(via_name(via)));
    Ring ring = make_ring(via, disabled());
    const Restrictions sandbox = Restrictions()
                                     .allow_sqe_op(abi::IORING_OP_NOP)
                                     .allow_sqe_op(abi::IORING_OP_READ)
                                     .allow_sqe_flags(abi::IOSQE_IO_LINK)
                                     .allow_register_op(abi::IORING_REGISTER_PROBE);
    Status restricted = register_restrictions(ring, sandbox);
    REQUIRE_MESSAGE(restricted.ok(), restricted.error().message);
    Status twice = register_restrictions(ring, sandbox);
    REQUIRE_FALSE(twice.ok());
    CHECK(twice.code() == EBUSY);
    CHECK(twice.error().message.find("already has its restrictions") != std::string::npos);

    // Still disabled: nothing is submitted at all.
    prep_nop(*ring.get_sqe());
    CHECK(ring.submit() == -EBADFD);
    Status enabled = ring.enable();
    REQUIRE_MESSAGE(enabled.ok(), enabled.error().message);
    CHECK(ring.submit() == 1);  // the NOP queued above
    CHECK(reap_one(ring).result() == 0);

    // Allowed: NOP, NOP linked to NOP, READ.
    CHECK(run(ring, [](Sqe& sqe) { prep_nop(sqe); }) == 0);
    prep_nop(*ring.get_sqe()).set_user_data(1).link();
    prep_nop(*ring.get_sqe()).set_user_data(2);
    REQUIRE(ring.submit() == 2);
    CHECK(reap_one(ring).result() == 0);
    CHECK(reap_one(ring).result() == 0);
    int pipe_fds[2];
    REQUIRE(::pipe2(pipe_fds, O_CLOEXEC | O_NONBLOCK) == 0);
    REQUIRE(::write(pipe_fds[1], "abc", 3) == 3);
    char got[8] = {};
    CHECK(run(ring, [&](Sqe& sqe) { prep_read(sqe, pipe_fds[0], got, sizeof got, kCurrentPosition); }) == 3);
    CHECK(std::string(got) == "abc");

    // A flag outside the list: refused, and not run.
    CHECK(run(ring, [](Sqe& sqe) { prep_nop(sqe).force_async(); }) == -EACCES);
    CHECK(run(ring, [](Sqe& sqe) { prep_nop(sqe).drain(); }) == -EACCES);
    // Opcodes outside the list: refused, and nothing happens.
    CHECK(run(ring, [&](Sqe& sqe) { prep_write(sqe, pipe_fds[1], "xyz", 3, kCurrentPosition); }) == -EACCES);
    CHECK(::read(pipe_fds[0], got, sizeof got) == -1);  // the pipe is still empty
    CHECK(errno == EAGAIN);
    const std::string created = dir.path() + "/made-" + via_name(via);
    CHECK(run(ring, [&](Sqe& sqe) {
            prep_openat(sqe, AT_FDCWD, created.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
          }) == -EACCES);
    struct stat st;
    CHECK(::stat(created.c_str(), &st) == -1);
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);

    // Register opcodes: PROBE is allowed, the rest is not.
    auto probe = Probe::query(ring);
    REQUIRE_MESSAGE(probe.ok(), probe.error().message);
    CHECK(probe->supports(abi::IORING_OP_NOP));
    auto personality = register_personality(ring);
    REQUIRE_FALSE(personality.ok());
    CHECK(personality.code() == EACCES);
    CHECK(register_clock(ring, CLOCK_MONOTONIC).code() == EACCES);
    CHECK(set_iowq_max_workers(ring, {}).code() == EACCES);
    CHECK(ring.register_raw(abi::IORING_REGISTER_ENABLE_RINGS, nullptr, 0) == -EACCES);
  }
  CHECK(open_fd_count() == fds_before);
}

TEST_CASE("restrictions: required SQE flags must be on every request") {
  Ring ring = make_ring(Via::fd, disabled());
  REQUIRE(register_restrictions(ring, Restrictions()
                                          .allow_sqe_op(abi::IORING_OP_NOP)
                                          .require_sqe_flags(abi::IOSQE_ASYNC))
              .ok());
  REQUIRE(ring.enable().ok());
  CHECK(run(ring, [](Sqe& sqe) { prep_nop(sqe); }) == -EACCES);
  CHECK(run(ring, [](Sqe& sqe) { prep_nop(sqe).force_async(); }) == 0);
  CHECK(run(ring, [](Sqe& sqe) { prep_nop(sqe).force_async().skip_success(); }) == -EACCES);
}

TEST_CASE("restrictions: closing restricted rings releases their registered index") {
  // A thread has 16 registered-ring slots: leaking one per ring would make
  // the later rings fail to set up.
  for (int i = 0; i < 40; ++i) {
    Ring ring = make_ring(Via::registered_index, disabled());
    REQUIRE(register_restrictions(ring, Restrictions().allow_sqe_op(abi::IORING_OP_NOP)).ok());
    REQUIRE(ring.enable().ok());
    nop_round_trip(ring, static_cast<std::uint64_t>(i));
  }
}

TEST_CASE("restrictions: what can never work is refused with a reason") {
  Ring enabled_ring = make_ring(Via::fd);
  Status late = register_restrictions(enabled_ring, Restrictions().allow_sqe_op(abi::IORING_OP_NOP));
  REQUIRE_FALSE(late.ok());
  CHECK(late.code() == EBADFD);
  CHECK(late.error().message.find("start_disabled") != std::string::npos);

  Ring ring = make_ring(Via::fd, disabled());
  Status bad_op = register_restrictions(ring, Restrictions().allow_sqe_op(250));
  REQUIRE_FALSE(bad_op.ok());
  CHECK(bad_op.error().message.find("SQE opcode 250 does not exist") != std::string::npos);
  Status bad_register = register_restrictions(ring, Restrictions().allow_register_op(200));
  REQUIRE_FALSE(bad_register.ok());
  CHECK(bad_register.error().message.find("register opcode 200") != std::string::npos);
  // Nothing was registered by the refused calls: a valid list still goes in.
  CHECK(register_restrictions(ring, Restrictions().allow_sqe_op(abi::IORING_OP_NOP)).ok());
}
