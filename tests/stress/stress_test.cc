// The exactly-once stress at CI size: every variant of engine.h against the
// real kernel, about 10^6 requests in all in the plain build (a fifth under
// a sanitizer), and the oracle shown to catch a lost CQE, a duplicated
// CQE and a wrong result (and the shrinker to find the op that did it).
//
// A run by hand, any size: tools/bazelw run -c opt //tests/stress:stress -- --ops N.
// URING_STRESS_SEED=S picks another seed for every case here.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "tests/stress/engine.h"
#include "tests/support/kernel_features.h"
#include "tests/support/test_support.h"

namespace abi = uring::abi;

namespace {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(undefined_behavior_sanitizer)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif
#else
constexpr bool kSanitized = false;
#endif

// Ops per variant: about 1.1 x 10^5 requests each, 9 variants (a fifth of
// that under a sanitizer: the load is kernel-bound, ASan runs it at the same
// speed and TSan at half).
constexpr std::size_t kOpsPerVariant = kSanitized ? 11000 : 54000;

// Decided before any request, from the probe, the feature bits and
// IORING_REGISTER_QUERY (tests/support/kernel_features.h).
stress::Caps caps() {
  using uring::testing::missing_op;
  using uring::testing::missing_register_op;
  using uring::testing::missing_since;
  stress::Caps c;
  c.nop_inject = missing_since("IORING_NOP_INJECT_RESULT", "6.10").empty();
  c.nop_cqe32 = missing_since("IORING_NOP_CQE32", "6.18").empty();
  c.msg_ring = missing_op(abi::IORING_OP_MSG_RING).empty();
  c.cancel_fd_any = missing_since("IORING_ASYNC_CANCEL_FD/ANY", "5.19").empty();
  c.poll_multishot = missing_since("IORING_POLL_ADD_MULTI", "5.13").empty();
  c.timeout_update = missing_since("IORING_TIMEOUT_UPDATE", "5.11").empty();
  c.recv_multishot = missing_since("multishot RECV", "6.0").empty() &&
                     missing_register_op(abi::IORING_REGISTER_PBUF_RING).empty();
  c.send_zc = missing_op(abi::IORING_OP_SEND_ZC).empty();
  c.msg_ring_pass = c.msg_ring && missing_since("IORING_MSG_RING_FLAGS_PASS", "6.3").empty();
  c.timeout_multishot = missing_since("IORING_TIMEOUT_MULTISHOT", "6.4").empty();
  c.link_timeout_update = missing_since("IORING_LINK_TIMEOUT_UPDATE", "5.15").empty();
  c.fixed = true;
  for (const auto& [on, what] : {std::pair{c.nop_inject, "NOP inject-result"}, std::pair{c.nop_cqe32, "NOP CQE32"},
                                 std::pair{c.msg_ring, "MSG_RING"}, std::pair{c.cancel_fd_any, "cancel by fd/any"},
                                 std::pair{c.poll_multishot, "multishot poll"}, std::pair{c.timeout_update, "timeout update"},
                                 std::pair{c.recv_multishot, "multishot recv"}, std::pair{c.send_zc, "SEND_ZC"},
                                 std::pair{c.msg_ring_pass, "MSG_RING flags pass"},
                                 std::pair{c.timeout_multishot, "multishot timeout"},
                                 std::pair{c.link_timeout_update, "linked timeout update"}}) {
    if (!on) c.missing += std::string(what) + " left out (kernel lacks it); ";
  }
  return c;
}

std::uint64_t seed_for(stress::Variant variant) {
  if (const char* s = std::getenv("URING_STRESS_SEED"); s && *s) return std::strtoull(s, nullptr, 0);
  return 0x5eed0000ULL + static_cast<std::uint64_t>(variant);
}

std::string temp_dir() {
  const char* t = std::getenv("TEST_TMPDIR");
  return t && *t ? t : "/tmp";
}

void run_variant(stress::Variant variant) {
  URING_REQUIRE(uring::testing::missing_setup_flags(stress::variant_setup_flags(variant)));
  stress::RunOptions options;
  options.variant = variant;
  options.caps = caps();
  options.seed = seed_for(variant);
  options.temp_dir = temp_dir();
  const std::vector<stress::Op> ops = stress::generate(options.seed, kOpsPerVariant, variant, options.caps);
  const int fds_before = uring::testing::open_fd_count();
  const uring::testing::MappingSnapshot maps_before;
  const stress::RunResult result = stress::run(options, ops);
  const stress::Stats& s = result.stats;
  std::printf("stress %s: seed 0x%llx, %zu ops, %llu requests, %llu CQEs, %llu rounds (%llu with CQ overflow), "
              "%llu receives re-armed, %llu silent successes, %.2f s, %.0f requests/s%s%s\n",
              stress::variant_name(variant), static_cast<unsigned long long>(options.seed), ops.size(),
              static_cast<unsigned long long>(s.requests), static_cast<unsigned long long>(s.cqes),
              static_cast<unsigned long long>(s.rounds), static_cast<unsigned long long>(s.overflow_rounds),
              static_cast<unsigned long long>(s.rearms), static_cast<unsigned long long>(s.silent), s.seconds,
              s.seconds > 0 ? static_cast<double>(s.requests) / s.seconds : 0.0, options.caps.missing.empty() ? "" : "; ",
              options.caps.missing.c_str());
  if (result.failed) {
    std::vector<stress::Op> shrunk = ops;
    if (!result.setup_failed) {
      // At most 20 s of re-runs, so the report comes well inside the
      // target's timeout.
      shrunk = stress::shrink(
          options, ops, result, 40, [](const std::string& line) { std::printf("%s\n", line.c_str()); }, 20.0);
    }
    std::printf("%s", stress::failure_report(options, result, shrunk).c_str());
    FAIL_CHECK(result.message);
    return;
  }
  CHECK(s.requests >= ops.size());
  CHECK(uring::testing::open_fd_count() == fds_before);
  // The thread variants' stack stays mapped in glibc's cache of thread
  // stacks: for them, compare the io_uring mappings only.
  const bool threads = variant == stress::Variant::registered_thread || stress::has_reaper(variant);
  if (threads) {
    CHECK(uring::testing::MappingSnapshot{}.io_uring == maps_before.io_uring);
  } else {
    CHECK(uring::testing::MappingSnapshot{} == maps_before);
  }
}

// Single-shot ops only, so that every CQE is a final one.
std::vector<stress::Op> nops_and_file_ops(std::size_t n) {
  std::vector<stress::Op> ops(n);
  for (std::size_t i = 0; i < n; ++i) {
    ops[i].index = static_cast<std::uint32_t>(i);
    ops[i].kind = i % 3 == 0 ? stress::OpKind::file_rw : stress::OpKind::nop;
    ops[i].param = 0x1234567ULL * (i + 1);
  }
  return ops;
}

}  // namespace

TEST_CASE("stress: plain ring") { run_variant(stress::Variant::plain); }
TEST_CASE("stress: SQPOLL") { run_variant(stress::Variant::sqpoll); }
TEST_CASE("stress: DEFER_TASKRUN + SINGLE_ISSUER") { run_variant(stress::Variant::defer_taskrun); }
TEST_CASE("stress: CQE32") { run_variant(stress::Variant::cqe32); }
TEST_CASE("stress: NO_SQARRAY") { run_variant(stress::Variant::no_sqarray); }
TEST_CASE("stress: tiny CQ (overflow)") { run_variant(stress::Variant::tiny_cq); }
TEST_CASE("stress: registered ring fd used from a second thread") { run_variant(stress::Variant::registered_thread); }
TEST_CASE("stress: reaper thread separate from the submitter") { run_variant(stress::Variant::reaper_thread); }
TEST_CASE("stress: SQPOLL with a reaper thread") { run_variant(stress::Variant::sqpoll_reaper); }

TEST_CASE("the oracle catches a lost CQE") {
  stress::RunOptions options;
  options.caps = caps();
  options.temp_dir = temp_dir();
  options.round_deadline_ms = 300;
  options.faults.drop_cqe = 100;
  const stress::RunResult result = stress::run(options, nops_and_file_ops(300));
  CHECK(result.failed);
  CHECK_FALSE(result.setup_failed);
  CHECK(result.message.find("no final CQE") != std::string::npos);
}

TEST_CASE("the oracle catches a duplicated CQE") {
  stress::RunOptions options;
  options.caps = caps();
  options.temp_dir = temp_dir();
  options.faults.duplicate_cqe = 100;
  const stress::RunResult result = stress::run(options, nops_and_file_ops(300));
  CHECK(result.failed);
  CHECK(result.message.find("after the request's final CQE") != std::string::npos);
}

TEST_CASE("the oracle catches a wrong result, and shrinking finds the op") {
  stress::RunOptions options;
  options.caps = caps();
  options.temp_dir = temp_dir();
  options.seed = 7;
  options.faults.misexpect_op = 150 + 1;  // op #150 expects a result no request gives
  const std::vector<stress::Op> ops = nops_and_file_ops(400);
  const stress::RunResult result = stress::run(options, ops);
  REQUIRE(result.failed);
  CHECK(result.op_index == 150);
  CHECK(result.message.find("wrong result") != std::string::npos);
  const std::vector<stress::Op> shrunk = stress::shrink(options, ops, result, 64, [](const std::string&) {});
  REQUIRE(shrunk.size() == 1);
  CHECK(shrunk[0].index == 150);
  const std::string report = stress::failure_report(options, result, shrunk);
  CHECK(report.find("seed 0x7") != std::string::npos);
  CHECK(report.find("--only 150") != std::string::npos);
}

// The ring-state check after every round (engine.h, above RunOptions) reads
// the ring's own words: a CQE left in the CQ, or an SQE handed out and never
// published, fails the run with the numbers, on the round it happened.
TEST_CASE("the ring-state check catches a CQE left in the CQ") {
  stress::RunOptions options;
  options.caps = caps();
  options.temp_dir = temp_dir();
  options.round_deadline_ms = 1000;
  options.faults.stray_cqe_round = 3;
  const stress::RunResult result = stress::run(options, nops_and_file_ops(300));
  REQUIRE(result.failed);
  CHECK_FALSE(result.setup_failed);
  CHECK(result.stats.rounds == 3);
  CHECK(result.message.find("ring state after the round: main ring CQ: 1 CQEs left unreaped") != std::string::npos);
  // Round 3 is ops 32..47: 5 file round trips (2 CQEs each) and 11 NOPs.
  CHECK(result.message.find("the tail moved by 22 since the last check, but 21 CQEs were reaped") != std::string::npos);
}

TEST_CASE("the ring-state check catches an SQE never published") {
  stress::RunOptions options;
  options.caps = caps();
  options.temp_dir = temp_dir();
  options.faults.unpublished_sqe_round = 5;
  const stress::RunResult result = stress::run(options, nops_and_file_ops(300));
  REQUIRE(result.failed);
  CHECK_FALSE(result.setup_failed);
  CHECK(result.stats.rounds == 5);
  CHECK(result.message.find("main ring SQ: 1 SQEs handed out") != std::string::npos);
  CHECK(result.message.find("sq_pending() 1") != std::string::npos);
}

// sanitize() keeps generate()'s rules for any list: what the fuzz target
// (tests/fuzz/stress_ops_fuzz.cc) decodes runs under the same rules.
TEST_CASE("sanitize: drain only in the first half and never on SQPOLL, skip-success only in the second") {
  stress::Caps none;  // a kernel with nothing optional
  std::vector<stress::Op> ops(8);
  for (std::size_t i = 0; i < ops.size(); ++i) {
    ops[i].index = 100 + static_cast<std::uint32_t>(i);
    ops[i].kind = static_cast<stress::OpKind>(i == 0 ? 200 : i == 1 ? static_cast<int>(stress::OpKind::send_zc)
                                                              : static_cast<int>(stress::OpKind::file_rw));
    ops[i].flags = 0xff;
  }
  std::vector<stress::Op> plain = ops;
  stress::sanitize(plain, stress::Variant::plain, none);
  for (std::size_t i = 0; i < plain.size(); ++i) {
    CAPTURE(i);
    CHECK(plain[i].index == i);
    const std::uint8_t half = i < 4 ? stress::kFlagDrain : stress::kFlagSkipSuccess;
    CHECK(plain[i].flags == (stress::kFlagNewRound | stress::kFlagAsync | half));
  }
  CHECK(plain[0].kind == stress::OpKind::nop);  // out of range
  CHECK(plain[1].kind == stress::OpKind::nop);  // SEND_ZC: the kernel lacks it
  CHECK(plain[2].kind == stress::OpKind::file_rw);
  std::vector<stress::Op> sqpoll = ops;
  stress::sanitize(sqpoll, stress::Variant::sqpoll, none);
  for (const stress::Op& op : sqpoll) CHECK((op.flags & stress::kFlagDrain) == 0);
  // generate() is sanitize()d already.
  const std::vector<stress::Op> generated = stress::generate(3, 500, stress::Variant::sqpoll, caps());
  std::vector<stress::Op> again = generated;
  stress::sanitize(again, stress::Variant::sqpoll, caps());
  for (std::size_t i = 0; i < generated.size(); ++i) {
    CHECK(again[i].kind == generated[i].kind);
    CHECK(again[i].flags == generated[i].flags);
  }
}
