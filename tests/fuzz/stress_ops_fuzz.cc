// Fuzz target: the exactly-once stress engine (tests/stress/engine.h) run on
// an op sequence decoded from the input, on a fresh set of rings each time.
//
// Input layout (little-endian; past the end every read gives 0):
//   byte 0        the variant: kVariants[byte % size] (a variant this kernel
//                 cannot set up runs as plain)
//   then records of kRecordBytes each, at most kMaxOps of them (a short last
//   record is dropped, bytes after the last record are ignored):
//     u8  kind    OpKind, modulo OpKind::count_
//     u8  flags   kFlag* bits (others ignored)
//     u64 param   everything else the op draws (sizes, bytes, delays)
// The list then goes through stress::sanitize(), the engine's own rules for
// any list (kinds the kernel or variant lacks become NOPs; IOSQE_IO_DRAIN
// only in the first half and never on SQPOLL, IOSQE_CQE_SKIP_SUCCESS only
// in the second), and run() applies its per-round rules as it runs. Every
// field is memory-safe by construction: an op only names the engine's own
// file, pipes, sockets and buffers, and draws sizes within them.
//
// The oracle is the engine's: every request gets exactly its CQEs (one
// final CQE, or the multishot / zero-copy sequence), with a result the
// kernel may give, data read back as written; and after every round the
// rings' own state (SQ/CQ heads and tails against the Ring's view, nothing
// pending or unreaped, no overflow left, CQ tail moved by exactly the CQEs
// reaped, buffer group all back). On top of that here: the input leaves no
// file descriptor open. Any failure prints the engine's failure_report (the
// variant, the message, the op list) and aborts; libFuzzer then saves the
// input and minimises it itself.
//
// A setup failure (RunResult::setup_failed: the engine could not make a
// ring, a pipe, a socket or a registration, before any request ran) is the
// machine's, not a finding: it is reported on stderr (the first few) and
// the input counts as uninteresting. The fd check after every input is
// what keeps a leak of ours from hiding behind one (a leak would show as
// the fd count growing long before setup runs out of fds).
//
// Time: every timeout the engine arms is at most one second and only those
// that are removed, updated or cancelled are that long; the rest are
// microseconds, so a passing input of kMaxOps ops takes milliseconds. A
// request that never completes is reported after kRoundDeadlineMs.
//
// FUZZ_TRACE=1 prints each input's variant, op list and stats.
#include <dirent.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "tests/fuzz/fuzz_support.h"
#include "tests/stress/engine.h"

namespace {

using uring_fuzz::Input;

// Variants cheap enough to set up for every input. Measured on the seed
// corpus (41 inputs, no sanitizer): about 7 ms an input for each, the two
// thread variants included (a thread started and joined per input), but
// 20 ms for SQPOLL, whose poller also spins on a core for its idle time;
// SQPOLL stays for what only it does (the SQ head moved by another thread,
// which the ring-state check must follow), the SQPOLL reaper variant
// (the cost of both) is left to the stress test.
constexpr stress::Variant kVariants[] = {stress::Variant::plain,         stress::Variant::defer_taskrun,
                                         stress::Variant::cqe32,         stress::Variant::no_sqarray,
                                         stress::Variant::tiny_cq,       stress::Variant::sqpoll,
                                         stress::Variant::reaper_thread, stress::Variant::registered_thread};
constexpr std::size_t kVariantCount = sizeof kVariants / sizeof kVariants[0];
constexpr std::size_t kRecordBytes = 10;
constexpr std::size_t kMaxOps = 48;
// Longer than the engine's longest timeout (1 s), so a timeout that ran its
// whole course when it should have been removed is reported as the wrong
// result it gives, not as a lost CQE.
constexpr unsigned kRoundDeadlineMs = 2000;

struct Setup {
  stress::Caps caps;
  bool usable[kVariantCount] = {};
};

const Setup& setup() {
  static const Setup s = [] {
    Setup s;
    s.caps = stress::detect_caps();
    for (std::size_t i = 0; i < kVariantCount; ++i) {
      const std::string why = stress::variant_unsupported(kVariants[i]);
      s.usable[i] = why.empty();
      if (!why.empty()) {
        std::fprintf(stderr, "stress_ops_fuzz: variant %s runs as plain here: %s\n", stress::variant_name(kVariants[i]),
                     why.c_str());
      }
    }
    if (!s.caps.missing.empty()) std::fprintf(stderr, "stress_ops_fuzz: kinds run as NOP here: %s\n", s.caps.missing.c_str());
    return s;
  }();
  return s;
}

int open_fds() {
  DIR* dir = ::opendir("/proc/self/fd");
  if (!dir) return -1;
  int n = 0;
  while (const dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] != '.') ++n;
  }
  ::closedir(dir);
  return n;
}

std::string temp_dir() {
  const char* t = std::getenv("TEST_TMPDIR");
  return t && *t ? t : "/tmp";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const Setup& s = setup();
  if (size == 0) return 0;
  Input in(data, size);
  const std::size_t v = in.u8() % kVariantCount;
  stress::RunOptions options;
  options.variant = s.usable[v] ? kVariants[v] : stress::Variant::plain;
  options.caps = s.caps;
  options.temp_dir = temp_dir();
  options.round_deadline_ms = kRoundDeadlineMs;
  std::vector<stress::Op> ops;
  while (ops.size() < kMaxOps && in.left() >= kRecordBytes) {
    stress::Op op;
    op.kind = static_cast<stress::OpKind>(in.u8() % static_cast<unsigned>(stress::OpKind::count_));
    op.flags = in.u8();
    op.param = in.u64();
    ops.push_back(op);
  }
  stress::sanitize(ops, options.variant, options.caps);
  const bool trace = std::getenv("FUZZ_TRACE") != nullptr;
  if (trace) {
    std::fprintf(stderr, "variant %s, %zu ops:\n", stress::variant_name(options.variant), ops.size());
    for (const stress::Op& op : ops) std::fprintf(stderr, "  %s\n", stress::describe(op).c_str());
  }

  const int fds_before = open_fds();
  const stress::RunResult result = stress::run(options, ops);
  if (trace) {
    const stress::Stats& st = result.stats;
    std::fprintf(stderr, "%llu requests, %llu CQEs, %llu rounds (%llu with CQ overflow), %.3f s%s%s\n",
                 static_cast<unsigned long long>(st.requests), static_cast<unsigned long long>(st.cqes),
                 static_cast<unsigned long long>(st.rounds), static_cast<unsigned long long>(st.overflow_rounds), st.seconds,
                 result.failed ? ": " : "", result.message.c_str());
  }
  if (result.setup_failed) {
    static unsigned reported = 0;
    if (reported < 5) {
      ++reported;
      std::fprintf(stderr, "stress_ops_fuzz: setup failed (the machine's, not a finding; input skipped): %s\n",
                   result.message.c_str());
    }
    FUZZ_CHECK(open_fds() == fds_before);
    return -1;  // libFuzzer: not added to the corpus
  }
  if (result.failed) {
    std::fprintf(stderr, "%s", stress::failure_report(options, result, ops).c_str());
    std::fprintf(stderr, "stress_ops_fuzz: oracle: invariant broken: the engine's check above\n");
    std::abort();
  }
  FUZZ_CHECK(result.stats.requests >= ops.size());
  FUZZ_CHECK(open_fds() == fds_before);
  return 0;
}
