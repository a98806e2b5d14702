// The skip oracle itself (tests/support/kernel_features.h): what it proves
// about the running kernel must agree with what the kernel reports.
#include "tests/support/kernel_features.h"

#include <cstdio>
#include <cstring>
#include <string>

#include "uring/probe.h"
#include "uring/register.h"
#include "uring/ring.h"

namespace uring {
namespace {

TEST_CASE("the proven release covers every opcode and feature bit the kernel reports") {
  auto ring = testing::create_ring(RingOptions{.entries = 4});
  REQUIRE_MESSAGE(ring.ok(), ring.error().message);
  auto probe = Probe::query(*ring);
  REQUIRE_MESSAGE(probe.ok(), probe.error().message);
  const int proven = testing::proven_release();
  CHECK(proven >= 5001);
  MESSAGE("proven release " << proven << ": " << testing::proven_release_evidence());
  for (unsigned op = 0; op < abi::kNamedOps; ++op) {
    if (!probe->supports(op)) continue;
    CHECK_MESSAGE(version_code(abi::op_since(op)) <= proven, abi::op_name(op));
    CHECK(testing::missing_op(op).empty());
  }
  for (const abi::flag_info& feature : abi::feature_flags) {
    if (!ring->has_feature(feature.bit)) {
      CHECK(testing::missing_feature(feature.bit).find(feature.name) != std::string::npos);
      continue;
    }
    CHECK_MESSAGE(version_code(feature.since) <= proven, feature.name);
    CHECK(testing::missing_feature(feature.bit).empty());
    CHECK(testing::missing_since("x", feature.since).empty());
  }
}

TEST_CASE("a release no kernel has yet is reported missing, with the evidence") {
  const std::string why = testing::missing_since("IORING_OP_FROM_THE_FUTURE", "99.0");
  CHECK(why.find("IORING_OP_FROM_THE_FUTURE needs Linux 99.0") != std::string::npos);
  CHECK(why.find(testing::proven_release_evidence()) != std::string::npos);
  CHECK(!testing::missing_op(250).empty());
}

TEST_CASE("setup flags and register opcodes agree with IORING_REGISTER_QUERY where the kernel has it") {
  auto query = query_opcodes();
  if (!testing::missing_register_op(abi::IORING_REGISTER_QUERY).empty()) {
    // Without QUERY the answer comes from the proven release alone.
    CHECK(!query.ok());
    CHECK(testing::missing_setup_flags(abi::IORING_SETUP_IOPOLL).empty());
    return;
  }
  REQUIRE_MESSAGE(query.ok(), query.error().message);
  for (const abi::flag_info& flag : abi::setup_flags) {
    const bool known = (query->ring_setup_flags & flag.bit) != 0;
    CHECK_MESSAGE(testing::missing_setup_flags(flag.bit).empty() == known, flag.name);
  }
  for (unsigned op = 0; op < abi::IORING_REGISTER_LAST; ++op) {
    CHECK(testing::missing_register_op(op).empty() == (op < query->nr_register_opcodes));
  }
  CHECK(!testing::missing_register_op(abi::IORING_REGISTER_LAST + 5).empty());
}

// CapEff from /proc/self/status, as a second source for capget.
bool cap_effective(int capability) {
  FILE* status = std::fopen("/proc/self/status", "r");
  REQUIRE(status != nullptr);
  char line[256];
  unsigned long long mask = 0;
  while (std::fgets(line, sizeof line, status)) {
    if (std::sscanf(line, "CapEff: %llx", &mask) == 1) break;
  }
  std::fclose(status);
  return (mask >> capability) & 1;
}

TEST_CASE("capabilities and CPUs are read from the process itself") {
  for (int capability : {12, 21, 24}) {  // CAP_NET_ADMIN, CAP_SYS_ADMIN, CAP_SYS_RESOURCE
    CHECK(testing::missing_capability(capability, "CAP_X").empty() == cap_effective(capability));
  }
  CHECK(testing::missing_cpus(1).empty());
  CHECK(testing::missing_cpus(100000).find("needs 100000 usable CPUs") != std::string::npos);
}

}  // namespace
}  // namespace uring
