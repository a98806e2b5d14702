// bench nop: the ring's round trip with nothing in it. For each batch size
// B, each repetition of a setup submits --ops NOPs, B per io_uring_enter
// (one submit-and-wait), and reaps them.
//
// Setups: default (library defaults: registered ring fd), plain (flags 0, no
// registered fd: like for like with raw), raw (a hand-written loop on
// syscalls/ only, raw_ring.h), defer (SINGLE_ISSUER|DEFER_TASKRUN),
// nosqarray, regfd, sqpoll, best (everything that helps and that this kernel
// accepts); and in the manual target //tools/bench:bench_liburing (links
// Debian's liburing-dev; tools/bench/run_all.sh builds it) the same loop on
// liburing: liburing (flags 0), liburing-regfd, liburing-defer,
// liburing-sqpoll (liburing_nop.cc).
#include <cstdlib>
#include <string>
#include <vector>

#include "tools/bench/bench.h"
#include "tools/bench/raw_ring.h"
#include "tools/common/cli.h"
#include "uring/uring.h"

namespace bench {
namespace {

const char* kUsage =
    "usage: bench nop [--batch 1,8,32,128] [--ops N] [--reps N] [--entries N] [--setup LIST] [--json]\n"
    "  --batch LIST  NOPs per io_uring_enter, comma-separated (1..4096)\n"
    "  --ops N       NOPs per repetition of each setup (default 2000000)\n"
    "  --reps N      repetitions, interleaved across setups (default 5)\n"
    "  --entries N   SQ size of every ring (default: the batch, at least 8)\n"
    "  --setup LIST  comma-separated (default: default); the first is the baseline of the ratios:\n"
    "                raw plain default defer nosqarray regfd sqpoll best\n"
    "                (bench_liburing also: liburing liburing-regfd liburing-defer liburing-sqpoll)\n"
    "  --json        one JSON document instead of lines\n";

// RingOptions for a named setup; `best` drops what this kernel refuses.
bool options_for(const std::string& setup, unsigned entries, uring::RingOptions& o) {
  o = uring::RingOptions{};
  o.entries = entries;
  if (setup == "default") return true;
  if (setup == "plain") { o.register_ring_fd = false; return true; }
  if (setup == "regfd") { o.register_ring_fd = true; return true; }
  if (setup == "defer") { o.register_ring_fd = false; o.single_issuer = o.defer_taskrun = true; return true; }
  if (setup == "nosqarray") { o.register_ring_fd = false; o.no_sqarray = true; return true; }
  if (setup == "sqpoll") { o.register_ring_fd = false; o.sqpoll = true; o.sqpoll_idle_ms = 1000; return true; }
  if (setup == "best") {
    o.single_issuer = o.defer_taskrun = o.no_sqarray = true;
    // Drop optional flags one by one until the kernel accepts the set.
    for (int attempt = 0; attempt < 4; ++attempt) {
      if (uring::Ring::create(o).ok()) return true;
      if (o.no_sqarray) o.no_sqarray = false;
      else if (o.defer_taskrun) o.defer_taskrun = false;
      else if (o.single_issuer) o.single_issuer = false;
    }
    return true;
  }
  return false;
}

template <class BatchFn>
Sample time_batches(unsigned long long ops, unsigned batch, BatchFn&& run_batch) {
  const unsigned long long rounds = ops / batch;
  long long expected = 0;
  for (unsigned i = 0; i < batch; ++i) expected += i;
  const bench::Timer timer;
  for (unsigned long long r = 0; r < rounds; ++r) {
    if (run_batch() != expected) return bench::failed("a batch came back incomplete");
  }
  return timer.stop(static_cast<double>(rounds * batch));
}

// The SQ looked full. On SQPOLL rings the poller posts a batch's CQEs
// before it moves the SQ head past the batch, so a ring of `batch` entries
// can be full for a moment after the whole batch was reaped: wait for room.
[[gnu::noinline]] uring::Sqe* wait_for_sqe(uring::Ring& ring) {
  if (ring.wait_for_sq_space() < 0) return nullptr;
  return ring.get_sqe();
}

// uring's NOP loop on a ring set up with `options`. Not inlined into its
// caller, so the code the compiler makes of the measured loop (and
// callgrind's count of it, which CI holds to a budget) does not change with
// the code around it.
[[gnu::noinline]] Sample run_uring_nop(const uring::RingOptions& options, unsigned batch, unsigned long long ops) {
  auto created = uring::Ring::create(options);
  if (!created) return bench::failed(created.error().message);
  uring::Ring& ring = *created;
  // The measured loop: fill `batch` SQEs, one submit-and-wait, reap the batch.
  return time_batches(ops, batch, [&]() -> long long {
    for (unsigned i = 0; i < batch; ++i) {
      uring::Sqe* sqe = ring.get_sqe();
      if (!sqe) [[unlikely]] sqe = wait_for_sqe(ring);
      if (!sqe) return -1;
      uring::prep_nop(*sqe).set_user_data(i);
    }
    if (ring.submit_and_wait(batch) < 0) return -1;
    long long sum = 0;
    unsigned seen = ring.for_each_cqe([&](const uring::Cqe& cqe) { sum += static_cast<long long>(cqe.data()); });
    while (seen < batch) {  // SQPOLL may post the batch in pieces
      if (ring.wait_cqes(1) < 0) return -1;
      seen += ring.for_each_cqe([&](const uring::Cqe& cqe) { sum += static_cast<long long>(cqe.data()); });
    }
    return sum;
  });
}

// The raw loop (raw_ring.h), likewise apart.
[[gnu::noinline]] Sample run_raw_nop(unsigned entries, unsigned batch, unsigned long long ops) {
  bench::RawRing raw;
  if (!raw.init(entries)) return bench::failed("raw setup failed");
  return time_batches(ops, batch, [&] { return raw.nop_batch(batch); });
}

// `ring_entries` 0: the smallest ring the batch fits (at least 8).
Sample run_nop(const std::string& setup, unsigned batch, unsigned long long ops, unsigned ring_entries) {
  const unsigned entries = ring_entries != 0 ? ring_entries : batch < 8 ? 8 : batch;
  if (entries < batch) return bench::failed("--entries must hold a batch");
  Sample from_liburing;
  if (bench::liburing_nop(setup, batch, ops, entries, &from_liburing)) return from_liburing;
  if (setup == "raw") return run_raw_nop(entries, batch, ops);
  uring::RingOptions options;
  if (!options_for(setup, entries, options)) {
    std::string known = "raw, plain, default, defer, nosqarray, regfd, sqpoll, best";
    if (*bench::liburing_setups() != '\0') known += std::string(", ") + bench::liburing_setups();
    else if (setup.rfind("liburing", 0) == 0) known += " (liburing setups: build //tools/bench:bench_liburing)";
    return bench::failed("unknown setup " + setup + "; known: " + known);
  }
  return run_uring_nop(options, batch, ops);
}

// The median, min and max of a setup's repetitions.
struct Summary {
  double median = 0, min = 0, max = 0, ns_per_op = 0;
  double user_ns = 0, sys_ns = 0;  // per op, medians
};

}  // namespace

int nop_main(int argc, char** argv) {
  cli::Parser parser("bench", kUsage);
  std::string batch_list = "1,8,32,128", setup_list = "default";
  std::uint64_t ops = 2000000, reps = 5, entries = 0;
  bool json = false;
  parser.text("--batch", &batch_list);
  parser.number("--ops", &ops, 1, 1ull << 40);
  parser.number("--reps", &reps, 1, 1000);
  parser.number("--entries", &entries, 1, 32768);
  parser.text("--setup", &setup_list);
  parser.flag("--json", &json);
  parser.parse(argc, argv, 0, 0);
  std::vector<unsigned> batches;
  for (const std::string& b : split(batch_list)) {
    char* end = nullptr;
    const unsigned long value = std::strtoul(b.c_str(), &end, 10);
    if (*end != '\0' || value == 0 || value > 4096) parser.usage_error("batch sizes must be 1..4096, not '" + b + "'");
    batches.push_back(static_cast<unsigned>(value));
  }
  const std::vector<std::string> setups = split(setup_list);
  if (batches.empty() || setups.empty()) parser.usage_error("--batch and --setup need at least one value");
  const Table table{"nop", "batch", "mops", 1};
  return run_interleaved(table, batches, setups, static_cast<unsigned>(reps), json,
                         [&](const std::string& setup, unsigned batch) {
                           return run_nop(setup, batch, ops, static_cast<unsigned>(entries));
                         })
             ? 1
             : 0;
}

}  // namespace bench
