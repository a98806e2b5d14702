// The stress engine of engine.h at any size, by hand:
//   tools/bazelw run -c opt //tests/stress:stress -- --ops 5500000    # about 10^8 requests over 9 variants, ~22 min
//   ... -- --variant sqpoll --seed 42 --ops 50000 [--only 3,17,42] [--shrink-budget 100]
// --ops is per variant; --variant all (the default) runs each variant the
// kernel has in turn. Prints each variant's requests/s; on a failure the
// seed, the failing request and CQE, and the shrunk op list, and exits 1.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "tests/stress/engine.h"
#include "uring/ring.h"

namespace {

int usage() {
  std::fprintf(stderr,
               "usage: stress [--ops N] [--seed S] [--variant NAME|all] [--only I,J,...] [--kinds K,L,...] [--shrink-budget N]\n"
               "variants:");
  for (stress::Variant v : stress::kAllVariants) std::fprintf(stderr, " %s", stress::variant_name(v));
  std::fprintf(stderr, "\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::uint64_t ops_count = 100000;
  std::uint64_t seed = static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  std::string variant_arg = "all";
  std::string only;
  std::string kinds;  // ",nop,file_rw,": keep only these kinds
  unsigned budget = 100;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) return usage();
    const char* v = argv[++i];
    if (a == "--ops") {
      ops_count = std::strtoull(v, nullptr, 0);
    } else if (a == "--seed") {
      seed = std::strtoull(v, nullptr, 0);
    } else if (a == "--variant") {
      variant_arg = v;
    } else if (a == "--only") {
      only = v;
    } else if (a == "--kinds") {
      kinds = std::string(",") + v + ",";
    } else if (a == "--shrink-budget") {
      budget = static_cast<unsigned>(std::strtoul(v, nullptr, 0));
    } else {
      return usage();
    }
  }
  std::vector<stress::Variant> variants;
  if (variant_arg == "all") {
    variants.assign(std::begin(stress::kAllVariants), std::end(stress::kAllVariants));
  } else {
    stress::Variant v;
    if (!stress::parse_variant(variant_arg, &v)) return usage();
    variants.push_back(v);
  }
  const stress::Caps caps = stress::detect_caps();
  std::printf("stress: seed %llu (0x%llx), %llu ops per variant%s%s\n", static_cast<unsigned long long>(seed),
              static_cast<unsigned long long>(seed), static_cast<unsigned long long>(ops_count),
              caps.missing.empty() ? "" : "; ", caps.missing.c_str());
  std::uint64_t total_requests = 0;
  double total_seconds = 0;
  for (stress::Variant variant : variants) {
    if (const std::string why = stress::variant_unsupported(variant); !why.empty()) {
      std::printf("stress %s: skipped: %s\n", stress::variant_name(variant), why.c_str());
      continue;
    }
    stress::RunOptions options;
    options.variant = variant;
    options.caps = caps;
    options.seed = seed;
    if (const char* t = std::getenv("TMPDIR"); t && *t) options.temp_dir = t;
    std::vector<stress::Op> ops = stress::generate(seed, ops_count, variant, caps);
    if (!only.empty()) {
      std::vector<stress::Op> picked;
      for (const char* p = only.c_str(); *p;) {
        char* end = nullptr;
        const unsigned long index = std::strtoul(p, &end, 10);
        if (end == p) return usage();
        if (index < ops.size()) picked.push_back(ops[index]);
        p = *end == ',' ? end + 1 : end;
      }
      ops = std::move(picked);
    }
    if (!kinds.empty()) {
      std::erase_if(ops, [&](const stress::Op& op) {
        return kinds.find(std::string(",") + stress::op_kind_name(op.kind) + ",") == std::string::npos;
      });
    }
    const stress::RunResult result = stress::run(options, ops);
    const stress::Stats& s = result.stats;
    std::printf("stress %s: %llu requests, %llu CQEs, %llu rounds (%llu with CQ overflow), %llu re-arms (%llu parked), "
                "%llu silent, %.2f s, %.0f requests/s: %s\n",
                stress::variant_name(variant), static_cast<unsigned long long>(s.requests),
                static_cast<unsigned long long>(s.cqes), static_cast<unsigned long long>(s.rounds),
                static_cast<unsigned long long>(s.overflow_rounds), static_cast<unsigned long long>(s.rearms),
                static_cast<unsigned long long>(s.parked), static_cast<unsigned long long>(s.silent), s.seconds,
                s.seconds > 0 ? static_cast<double>(s.requests) / s.seconds : 0.0, result.failed ? "FAILED" : "ok");
    std::fflush(stdout);
    total_requests += s.requests;
    total_seconds += s.seconds;
    if (result.failed) {
      std::vector<stress::Op> shrunk = ops;
      if (!result.setup_failed) {
        shrunk = stress::shrink(options, ops, result, budget, [](const std::string& line) {
          std::printf("%s\n", line.c_str());
          std::fflush(stdout);
        });
      }
      std::printf("%s", stress::failure_report(options, result, shrunk).c_str());
      return 1;
    }
  }
  std::printf("stress: all ok, %llu requests in %.1f s\n", static_cast<unsigned long long>(total_requests), total_seconds);
  return 0;
}
