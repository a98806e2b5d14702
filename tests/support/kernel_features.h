// What the running kernel has, decided *before* the call under test.
//
// A test skips only because the kernel or the machine lacks something, and
// it finds that out from what the kernel reports about itself — never from
// the error of the very call it tests (on a kernel that has the feature,
// -EINVAL is a bug, and must fail the test). The sources, most direct first:
//
//   1. IORING_REGISTER_PROBE: which SQE opcodes exist.
//   2. io_uring_params.features: the IORING_FEAT_* bits of a plain ring.
//   3. IORING_REGISTER_QUERY (Linux 6.18): the setup flags and the number of
//      register opcodes the kernel knows.
//   4. For what no interface reports (NOP's flags, a timeout or MSG_RING flag,
//      a setup flag or register opcode on a kernel without QUERY): the
//      release that added it, compared with the newest release this kernel
//      *proves* it includes — the newest one of whose opcodes, feature bits or
//      register opcodes the kernel reports (see proven_release()). A release
//      that added none of those cannot be proved, so its features are skipped
//      on exactly that release (a false skip, never a false pass).
//
// Each missing_* call returns "" when the thing is there, else one line that
// names it, the release that added it and what this kernel showed. Use them
// through URING_REQUIRE at the top of a test case, before any check:
//
//   URING_REQUIRE(testing::missing_op(abi::IORING_OP_PIPE));
//   URING_REQUIRE(testing::missing_since("IORING_NOP_TW", "6.15"));
#pragma once

#include <cstdint>
#include <string>

#include "tests/support/test_support.h"

namespace uring::testing {

// The newest Linux release (major*1000+minor: 6.16 -> 6016) whose arrival
// this kernel's own interfaces prove, and the evidence ("IORING_OP_PIPE is
// supported"). Computed once per process.
int proven_release();
const std::string& proven_release_evidence();

// "" if the kernel proves release `since` ("6.15"), else "WHAT needs Linux
// 6.15; this kernel (6.12.3) shows nothing newer than 6.12 (...)".
std::string missing_since(const std::string& what, const char* since);

// From the probe.
std::string missing_op(unsigned opcode);

// From the feature bits of a plain ring.
std::string missing_feature(std::uint32_t feature_bit);

// From IORING_REGISTER_QUERY where the kernel has it, else the flag's release.
// `flags` may hold several IORING_SETUP_* bits; all must be known.
std::string missing_setup_flags(std::uint32_t flags);

// From IORING_REGISTER_QUERY where the kernel has it, else the opcode's release.
std::string missing_register_op(unsigned opcode);

// Machine limits that are not the kernel's: a capability of this process
// (CAP_SYS_ADMIN = 21, ...), and the CPUs this process may run on.
std::string missing_capability(int capability, const char* name);
std::string missing_cpus(int needed);

}  // namespace uring::testing

// Skips the running test case when `missing` (one of the calls above) is not
// empty. Use it before the first check of the case, never inside a SUBCASE
// (a return there hides the sibling subcases: split them into test cases).
#define URING_REQUIRE(missing)                              \
  do {                                                      \
    const std::string uring_missing_reason_ = (missing);    \
    if (!uring_missing_reason_.empty()) URING_SKIP(uring_missing_reason_); \
  } while (0)
