// uring::Probe against the kernel's own answer.
#include <cerrno>
#include <string>

#include "tests/support/kernel_features.h"
#include "tests/support/test_support.h"
#include "uring/uring.h"

using namespace uring;

TEST_CASE("probe: NOP is supported, and the table matches a raw PROBE call") {
  URING_REQUIRE(testing::missing_register_op(abi::IORING_REGISTER_PROBE));
  auto ring = testing::create_ring(RingOptions{});
  REQUIRE(ring.ok());
  auto probe = Probe::query(*ring);
  REQUIRE_MESSAGE(probe.ok(), probe.error().message);
  CHECK(probe->supports(abi::IORING_OP_NOP));
  CHECK(probe->last_op() >= abi::IORING_OP_NOP);

  struct {
    abi::io_uring_probe header;
    abi::io_uring_probe_op ops[256];
  } raw{};
  REQUIRE(sys::io_uring_register(ring->fd(), abi::IORING_REGISTER_PROBE, &raw, 256) == 0);
  CHECK(raw.header.last_op == probe->last_op());
  for (unsigned op = 0; op <= raw.header.last_op; ++op) {
    CAPTURE(op);
    CHECK(probe->supports(op) == ((raw.ops[op].flags & abi::IO_URING_OP_SUPPORTED) != 0));
  }
  CHECK_FALSE(probe->supports(255));
  CHECK_FALSE(probe->supports(1000));
}

TEST_CASE("probe without a ring, and the reason line for an unsupported op") {
  URING_REQUIRE(testing::missing_register_op(abi::IORING_REGISTER_PROBE));
  auto probe = Probe::query();
  REQUIRE_MESSAGE(probe.ok(), probe.error().message);
  CHECK(probe->unsupported_reason(abi::IORING_OP_NOP).empty());
  const std::string reason = probe->unsupported_reason(200);
  CHECK(reason.find("is not supported; this kernel is " + kernel_release()) != std::string::npos);
  // Every op this kernel lacks names the release that added it.
  for (unsigned op = 0; op < abi::IORING_OP_LAST; ++op) {
    if (!probe->supports(op)) {
      CAPTURE(op);
      CHECK(probe->unsupported_reason(op).find("needs Linux") != std::string::npos);
    }
  }
}

TEST_CASE("version codes are parsed for messages") {
  CHECK(version_code("6.7") == 6007);
  CHECK(version_code("5.1") == 5001);
  CHECK(version_code("6.18.44-fc-v669") == 6018);
  CHECK(version_code("?") == 0);
  CHECK(version_code(nullptr) == 0);
  CHECK(kernel_version_code() > 5000);
}

TEST_CASE("Probe::query on a closed Ring says the ring is closed") {
  RingOptions options;
  options.entries = 8;
  auto ring = testing::create_ring(options);
  REQUIRE_MESSAGE(ring.ok(), ring.error().message);
  ring->close();
  auto probe = Probe::query(*ring);
  REQUIRE_FALSE(probe.ok());
  CHECK(probe.error().code == EBADF);
  CHECK(probe.error().message.find("the ring is closed") != std::string::npos);
}
