// IORING_REGISTER_SEND_MSG_RING (a CQE posted into a ring by a thread that
// has no ring) and IORING_REGISTER_QUERY (what the kernel accepts, asked
// without a ring and through one).
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <thread>

#include "tests/register/register_support.h"
#include "uring/register.h"

using namespace uring;
using namespace uring::testing;

TEST_CASE("send_msg_ring: a thread without a ring posts CQEs into a target ring") {
  URING_REQUIRE(missing_register_op(abi::IORING_REGISTER_SEND_MSG_RING));
  for (bool defer_taskrun : {false, true}) {
    INFO("defer_taskrun ", defer_taskrun);
    RingOptions options;
    options.single_issuer = options.defer_taskrun = defer_taskrun;
    Ring target = make_ring(Via::fd, options);
    Status sent = Status(Done{});
    Status sent_with_flags = Status(Done{});
    std::thread sender([&] {  // a fresh thread: it has never used io_uring
      sent = send_msg_ring(target, 0xabcdef, 42);
      sent_with_flags = send_msg_ring(target.fd(), 0x1234, -7, 0x5a0000u);
    });
    sender.join();
    REQUIRE_MESSAGE(sent.ok(), sent.error().message);
    REQUIRE_MESSAGE(sent_with_flags.ok(), sent_with_flags.error().message);
    const Cqe first = reap_one(target);
    CHECK(first.user_data == 0xabcdef);
    CHECK(first.result() == 42);
    CHECK(first.flags == 0);
    const Cqe second = reap_one(target);
    CHECK(second.user_data == 0x1234);
    CHECK(second.result() == -7);
    CHECK(second.flags == 0x5a0000u);
    CHECK(target.cq_ready() == 0);
  }
}

TEST_CASE("send_msg_ring: targets that cannot take a message say why") {
  URING_REQUIRE(missing_register_op(abi::IORING_REGISTER_SEND_MSG_RING));
  int pipe_fds[2];
  REQUIRE(::pipe2(pipe_fds, O_CLOEXEC) == 0);
  Status not_ring = send_msg_ring(pipe_fds[0], 1, 0);
  REQUIRE_FALSE(not_ring.ok());
  CHECK(not_ring.code() == EBADFD);
  CHECK(not_ring.error().message.find("is not a ring") != std::string::npos);
  ::close(pipe_fds[0]);
  ::close(pipe_fds[1]);

  Status closed = send_msg_ring(pipe_fds[0], 1, 0);
  REQUIRE_FALSE(closed.ok());
  CHECK(closed.code() == EBADF);

  Ring fd_less = make_ring(Via::registered_index);
  Status no_fd = send_msg_ring(fd_less, 1, 0);
  REQUIRE_FALSE(no_fd.ok());
  CHECK(no_fd.error().message.find("registered_fd_only") != std::string::npos);

  RingOptions options;
  options.start_disabled = true;
  Ring disabled = make_ring(Via::fd, options);
  Status to_disabled = send_msg_ring(disabled, 1, 0);
  REQUIRE_FALSE(to_disabled.ok());
  CHECK(to_disabled.code() == EBADFD);
  REQUIRE(disabled.enable().ok());
  REQUIRE(send_msg_ring(disabled, 5, 6).ok());
  const Cqe done = reap_one(disabled);
  CHECK(done.user_data == 5);
  CHECK(done.result() == 6);
}

TEST_CASE("query: the kernel's opcode counts and flag masks, with and without a ring") {
  URING_REQUIRE(missing_register_op(abi::IORING_REGISTER_QUERY));
  auto blind = query_opcodes();
  REQUIRE_MESSAGE(blind.ok(), blind.error().message);
  for (Via via : kBothWays) {
    INFO("via ", std::string(via_name(via)));
    Ring ring = make_ring(via);
    auto through_ring = query_opcodes(&ring);
    REQUIRE_MESSAGE(through_ring.ok(), through_ring.error().message);
    CHECK(through_ring->nr_request_opcodes == blind->nr_request_opcodes);
    CHECK(through_ring->nr_register_opcodes == blind->nr_register_opcodes);

    auto probe = Probe::query(ring);
    REQUIRE(probe.ok());
    CHECK(blind->nr_request_opcodes == probe->last_op() + 1);  // the probe agrees
    CHECK(blind->nr_register_opcodes >= abi::IORING_REGISTER_QUERY + 1);
    CHECK((blind->feature_flags & ring.features()) == ring.features());
    CHECK((blind->ring_setup_flags & ring.setup_flags()) == ring.setup_flags());
    CHECK((blind->enter_flags & abi::IORING_ENTER_EXT_ARG_REG) != 0);
    CHECK((blind->sqe_flags & abi::IOSQE_ASYNC) != 0);
  }
  // What register_op_missing concludes from it.
  CHECK(register_op_missing(abi::IORING_REGISTER_QUERY).empty());
  CHECK(register_op_missing(abi::IORING_REGISTER_EVENTFD).empty());
  CHECK(register_op_missing(200).find("IORING_REGISTER_opcode 200") != std::string::npos);
}

TEST_CASE("register opcodes: every one has a name and a release") {
  for (unsigned op = 0; op < abi::IORING_REGISTER_LAST; ++op) {
    INFO("opcode ", op);
    REQUIRE(register_op_name(op) != nullptr);
    REQUIRE(register_op_since(op) != nullptr);
    CHECK(version_code(register_op_since(op)) >= 5001);
  }
  CHECK(std::string(register_op_name(abi::IORING_REGISTER_CLONE_BUFFERS)) == "CLONE_BUFFERS");
  CHECK(register_op_name(abi::IORING_REGISTER_LAST) == nullptr);
  Error error = register_error(abi::IORING_REGISTER_CLOCK, -EPERM, "a hint");
  CHECK(error.code == EPERM);
  CHECK(error.message.find("io_uring_register(CLOCK)") != std::string::npos);
  CHECK(error.message.find("a hint") != std::string::npos);
}
