// tools/bench: throughput benchmarks, each run beside a baseline.
//
//   bench nop [--batch 1,8,32,128] [--ops 2000000] [--setup default,plain,raw]
//             [--json]
//
// For each setup and batch size B it submits --ops NOPs, B per
// io_uring_enter, and reaps them; prints one line per (setup, batch) with
// batch=B and mops=X (millions of NOPs per second), and the ratio to the
// first setup listed. Build with -c opt:
//
//   tools/bazelw run -c opt //tools/bench -- nop --setup raw,plain,default,best
//
// Setups: default (library defaults: registered ring fd), plain (flags 0, no
// registered fd: like for like with raw), raw (a hand-written loop on
// syscalls/ only), defer (SINGLE_ISSUER|DEFER_TASKRUN), nosqarray, regfd,
// sqpoll, best (everything that helps and that this kernel accepts).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "tools/bench/raw_ring.h"
#include "uring/uring.h"

namespace {

struct Args {
  std::vector<unsigned> batches{1, 8, 32, 128};
  unsigned long long ops = 2000000;
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

[[noreturn]] void usage(const char* message) {
  std::fprintf(stderr,
               "bench: %s\nusage: bench nop [--batch 1,8,32,128] [--ops N] "
               "[--setup default,plain,raw,defer,nosqarray,regfd,sqpoll,best] [--json]\n",
               message);
  std::exit(2);
}

Args parse(int argc, char** argv) {
  if (argc < 2 || std::strcmp(argv[1], "nop") != 0) usage("the only benchmark so far is `nop`");
  Args args;
  for (int i = 2; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage((arg + " needs a value").c_str());
      return argv[++i];
    };
    if (arg == "--batch") {
      args.batches.clear();
      for (const std::string& b : split(value())) args.batches.push_back(static_cast<unsigned>(std::stoul(b)));
    } else if (arg == "--ops") {
      args.ops = std::stoull(value());
    } else if (arg == "--setup") {
      args.setups = split(value());
    } else if (arg == "--json") {
      args.json = true;
    } else {
      usage(("unknown option " + arg).c_str());
    }
  }
  for (unsigned b : args.batches) {
    if (b == 0 || b > 4096) usage("batch sizes must be 1..4096");
  }
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

struct Sample {
  double mops = 0;
  double ns_per_op = 0;
  bool ok = false;
  std::string error;
};

template <class BatchFn>
Sample time_batches(unsigned long long ops, unsigned batch, BatchFn&& run_batch) {
  const unsigned long long rounds = ops / batch;
  long long expected = 0;
  for (unsigned i = 0; i < batch; ++i) expected += i;
  const auto start = std::chrono::steady_clock::now();
  for (unsigned long long r = 0; r < rounds; ++r) {
    if (run_batch() != expected) return Sample{0, 0, false, "a batch came back incomplete"};
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double done = static_cast<double>(rounds * batch);
  return Sample{done / seconds / 1e6, seconds * 1e9 / done, true, {}};
}

Sample run_nop(const std::string& setup, unsigned batch, unsigned long long ops) {
  const unsigned entries = batch < 8 ? 8 : batch;
  if (setup == "raw") {
    bench::RawRing raw;
    if (!raw.init(entries)) return Sample{0, 0, false, "raw setup failed"};
    return time_batches(ops, batch, [&] { return raw.nop_batch(batch); });
  }
  uring::RingOptions options;
  if (!options_for(setup, entries, options)) return Sample{0, 0, false, "unknown setup " + setup};
  auto created = uring::Ring::create(options);
  if (!created) return Sample{0, 0, false, created.error().message};
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

}  // namespace

int main(int argc, char** argv) {
  const Args args = parse(argc, argv);
  if (args.json) std::printf("{\"benchmark\": \"nop\", \"ops\": %llu, \"results\": [\n", args.ops);
  bool first_row = true;
  int failures = 0;
  for (unsigned batch : args.batches) {
    double baseline = 0;
    for (std::size_t s = 0; s < args.setups.size(); ++s) {
      const std::string& setup = args.setups[s];
      const Sample sample = run_nop(setup, batch, args.ops);
      if (!sample.ok) {
        ++failures;
        std::fprintf(stderr, "bench: setup=%s batch=%u: %s\n", setup.c_str(), batch, sample.error.c_str());
        continue;
      }
      if (s == 0) baseline = sample.mops;
      const double ratio = baseline > 0 ? sample.mops / baseline : 0;
      if (args.json) {
        std::printf("%s  {\"setup\": \"%s\", \"batch\": %u, \"mops\": %.3f, \"ns_per_op\": %.1f, "
                    "\"ratio_vs_%s\": %.3f}",
                    first_row ? "" : ",\n", setup.c_str(), batch, sample.mops, sample.ns_per_op,
                    args.setups[0].c_str(), ratio);
      } else {
        std::printf("nop setup=%-9s batch=%-4u mops=%7.3f ns_per_op=%7.1f ratio_vs_%s=%.3f\n", setup.c_str(),
                    batch, sample.mops, sample.ns_per_op, args.setups[0].c_str(), ratio);
      }
      first_row = false;
      std::fflush(stdout);
    }
  }
  if (args.json) std::printf("\n]}\n");
  return failures ? 1 : 0;
}
