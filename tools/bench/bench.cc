// tools/bench: throughput benchmarks, each run beside its baseline in the
// same process, interleaved: for every batch size the setups run A B C A B C
// ... --reps times, and each line reports the median of its repetitions, the
// spread (min..max) and the ratio of medians to the first setup listed, so a
// ratio holds on a noisy machine.
//
//   bench nop [--batch 1,8,32,128] [--ops 2000000] [--reps 5]
//             [--setup raw,plain,default,...] [--json]
//
// Each repetition of a setup submits --ops NOPs, B per io_uring_enter, and
// reaps them. Build with -c opt:
//
//   tools/bazelw run -c opt //tools/bench -- nop --setup raw,plain,default,best
//
// Setups: default (library defaults: registered ring fd), plain (flags 0, no
// registered fd: like for like with raw), raw (a hand-written loop on
// syscalls/ only), defer (SINGLE_ISSUER|DEFER_TASKRUN), nosqarray, regfd,
// sqpoll, best (everything that helps and that this kernel accepts); and in
// the manual target //tools/bench:bench_liburing (links Debian's
// liburing-dev; tools/bench/run_all.sh builds it) the same loop on liburing:
// liburing (flags 0), liburing-regfd, liburing-defer, liburing-sqpoll.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "tools/bench/bench.h"
#include "tools/bench/raw_ring.h"
#include "tools/common/cli.h"
#include "uring/uring.h"

namespace {

using bench::Sample;

struct Args {
  std::vector<unsigned> batches{1, 8, 32, 128};
  std::uint64_t ops = 2000000;
  std::uint64_t reps = 5;
  std::vector<std::string> setups{"default"};
  bool json = false;
};

std::vector<std::string> split(const std::string& text) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t comma = text.find(',', start);
    const std::size_t end = comma == std::string::npos ? text.size() : comma;
    if (end > start) parts.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return parts;
}

const char* kUsage =
    "usage: bench nop [--batch 1,8,32,128] [--ops N] [--reps N] [--setup LIST] [--json]\n"
    "  --batch LIST  NOPs per io_uring_enter, comma-separated (1..4096)\n"
    "  --ops N       NOPs per repetition of each setup (default 2000000)\n"
    "  --reps N      repetitions, interleaved across setups (default 5)\n"
    "  --setup LIST  comma-separated; the first is the baseline of the ratios:\n"
    "                raw plain default defer nosqarray regfd sqpoll best\n"
    "                (bench_liburing also: liburing liburing-regfd liburing-defer liburing-sqpoll)\n"
    "  --json        one JSON document instead of lines\n";

Args parse(int argc, char** argv) {
  cli::Parser parser("bench", kUsage);
  if (argc < 2 || std::strcmp(argv[1], "nop") != 0) parser.usage_error("the only benchmark so far is `nop`");
  Args args;
  std::string batches, setups;
  parser.text("--batch", &batches);
  parser.number("--ops", &args.ops, 1, 1ull << 40);
  parser.number("--reps", &args.reps, 1, 1000);
  parser.text("--setup", &setups);
  parser.flag("--json", &args.json);
  parser.parse(argc - 1, argv + 1, 0, 0);  // argv[1] ("nop") stands where a program name would
  if (!batches.empty()) {
    args.batches.clear();
    for (const std::string& b : split(batches)) {
      char* end = nullptr;
      const unsigned long value = std::strtoul(b.c_str(), &end, 10);
      if (*end != '\0' || value == 0 || value > 4096) parser.usage_error("batch sizes must be 1..4096, not '" + b + "'");
      args.batches.push_back(static_cast<unsigned>(value));
    }
  }
  if (!setups.empty()) args.setups = split(setups);
  return args;
}

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

Sample run_nop(const std::string& setup, unsigned batch, unsigned long long ops) {
  Sample from_liburing;
  if (bench::liburing_nop(setup, batch, ops, &from_liburing)) return from_liburing;
  const unsigned entries = batch < 8 ? 8 : batch;
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

double median_of(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

Summary summarise(std::vector<Sample> samples) {
  std::sort(samples.begin(), samples.end(), [](const Sample& a, const Sample& b) { return a.mops < b.mops; });
  Summary summary;
  const std::size_t n = samples.size();
  summary.median = n % 2 ? samples[n / 2].mops : (samples[n / 2 - 1].mops + samples[n / 2].mops) / 2;
  summary.min = samples.front().mops;
  summary.max = samples.back().mops;
  summary.ns_per_op = 1e3 / summary.median;
  std::vector<double> user, sys;
  for (const Sample& sample : samples) {
    user.push_back(sample.user_ns_per_op);
    sys.push_back(sample.sys_ns_per_op);
  }
  summary.user_ns = median_of(user);
  summary.sys_ns = median_of(sys);
  return summary;
}

}  // namespace

int main(int argc, char** argv) {
  const Args args = parse(argc, argv);
  if (args.json) {
    std::printf("{\"benchmark\": \"nop\", \"ops\": %llu, \"reps\": %llu, \"results\": [\n",
                static_cast<unsigned long long>(args.ops), static_cast<unsigned long long>(args.reps));
  }
  bool first_row = true;
  int failures = 0;
  for (unsigned batch : args.batches) {
    // A B C A B C ...: every setup sees the same machine noise.
    std::vector<std::vector<Sample>> samples(args.setups.size());
    std::vector<std::string> errors(args.setups.size());
    for (std::uint64_t rep = 0; rep < args.reps; ++rep) {
      for (std::size_t s = 0; s < args.setups.size(); ++s) {
        if (!errors[s].empty()) continue;
        Sample sample = run_nop(args.setups[s], batch, args.ops);
        if (sample.ok) samples[s].push_back(sample);
        else errors[s] = sample.error;
      }
    }
    double baseline = 0;
    for (std::size_t s = 0; s < args.setups.size(); ++s) {
      const std::string& setup = args.setups[s];
      if (!errors[s].empty()) {
        ++failures;
        std::fprintf(stderr, "bench: setup=%s batch=%u: %s\n", setup.c_str(), batch, errors[s].c_str());
        continue;
      }
      const Summary summary = summarise(samples[s]);
      if (s == 0) baseline = summary.median;
      const double ratio = baseline > 0 ? summary.median / baseline : 0;
      if (args.json) {
        std::printf("%s  {\"setup\": \"%s\", \"batch\": %u, \"mops\": %.3f, \"mops_min\": %.3f, "
                    "\"mops_max\": %.3f, \"ns_per_op\": %.1f, \"user_ns_per_op\": %.1f, \"sys_ns_per_op\": %.1f, "
                    "\"ratio_vs_%s\": %.3f}",
                    first_row ? "" : ",\n", setup.c_str(), batch, summary.median, summary.min, summary.max,
                    summary.ns_per_op, summary.user_ns, summary.sys_ns, args.setups[0].c_str(), ratio);
      } else {
        std::printf("nop setup=%-15s batch=%-4u mops=%7.3f (%.3f..%.3f) ns_per_op=%6.1f user=%5.1f sys=%6.1f "
                    "ratio_vs_%s=%.3f\n",
                    setup.c_str(), batch, summary.median, summary.min, summary.max, summary.ns_per_op,
                    summary.user_ns, summary.sys_ns, args.setups[0].c_str(), ratio);
      }
      first_row = false;
      std::fflush(stdout);
    }
  }
  if (args.json) std::printf("\n]}\n");
  return failures ? 1 : 0;
}
