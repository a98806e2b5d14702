// tools/bench: throughput benchmarks, each run beside its baselines in the
// same run, interleaved: for every point (a batch size, a queue depth) the
// setups run A B C A B C ... --reps times; each line reports the median of
// a setup's repetitions, the spread (min..max), the thread's user and kernel
// CPU time per operation, and the ratio of medians to the first setup listed.
//
//   bench nop  [--batch 1,8,32,128] [--ops N] [--reps N] [--setup LIST] [--json]
//   bench read [--qd 1,32,128] [--seconds S] [--reps N] [--setup LIST] [--file PATH] [--json]
//
// `bench nop --help` and `bench read --help` list the setups. Build with -c opt:
//
//   tools/bazelw run -c opt //tools/bench -- nop --setup raw,plain,default,best
//   tools/bazelw run -c opt //tools/bench -- read --setup pread,plain,fixed,sqpoll,fio
//
// tools/bench/run_all.sh runs them all and writes BENCHMARKS.md.
#include "tools/bench/bench.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "tools/common/cli.h"

namespace bench {

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

namespace {

double median_of(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

// The median, min and max rate of a setup's repetitions, and median CPU times.
struct Summary {
  double median = 0, min = 0, max = 0;
  double user_ns = 0, sys_ns = 0;
};

Summary summarise(const std::vector<Sample>& samples) {
  std::vector<double> rate, user, sys;
  for (const Sample& sample : samples) {
    rate.push_back(sample.mops);
    user.push_back(sample.user_ns_per_op);
    sys.push_back(sample.sys_ns_per_op);
  }
  Summary summary;
  summary.median = median_of(rate);
  summary.min = *std::min_element(rate.begin(), rate.end());
  summary.max = *std::max_element(rate.begin(), rate.end());
  summary.user_ns = median_of(user);
  summary.sys_ns = median_of(sys);
  return summary;
}

}  // namespace

int run_interleaved(const Table& table, const std::vector<unsigned>& points, const std::vector<std::string>& setups,
                    unsigned reps, bool json, const std::function<Sample(const std::string& setup, unsigned point)>& run) {
  if (json) std::printf("{\"benchmark\": \"%s\", \"reps\": %u, \"results\": [\n", table.benchmark, reps);
  bool first_row = true;
  int failures = 0;
  for (unsigned point : points) {
    std::vector<std::vector<Sample>> samples(setups.size());
    std::vector<std::string> errors(setups.size());
    for (unsigned rep = 0; rep < reps; ++rep) {
      for (std::size_t s = 0; s < setups.size(); ++s) {
        if (!errors[s].empty()) continue;
        Sample sample = run(setups[s], point);
        if (sample.ok) samples[s].push_back(sample);
        else errors[s] = sample.error;
      }
    }
    double baseline = 0;
    for (std::size_t s = 0; s < setups.size(); ++s) {
      const std::string& setup = setups[s];
      if (!errors[s].empty()) {
        ++failures;
        std::fprintf(stderr, "bench: %s setup=%s %s=%u: %s\n", table.benchmark, setup.c_str(), table.point, point,
                     errors[s].c_str());
        continue;
      }
      const Summary summary = summarise(samples[s]);
      if (s == 0) baseline = summary.median;
      const double ratio = baseline > 0 ? summary.median / baseline : 0;
      const double scale = table.unit_per_mops;
      if (json) {
        std::printf("%s  {\"setup\": \"%s\", \"%s\": %u, \"%s\": %.3f, \"%s_min\": %.3f, \"%s_max\": %.3f, "
                    "\"ns_per_op\": %.1f, \"user_ns_per_op\": %.1f, \"sys_ns_per_op\": %.1f, \"ratio_vs_%s\": %.3f}",
                    first_row ? "" : ",\n", setup.c_str(), table.point, point, table.unit, summary.median * scale,
                    table.unit, summary.min * scale, table.unit, summary.max * scale, 1e3 / summary.median,
                    summary.user_ns, summary.sys_ns, setups[0].c_str(), ratio);
      } else {
        std::printf("%s setup=%-15s %s=%-4u %s=%.3f spread=%.3f..%.3f ns_per_op=%.1f user_ns=%.1f sys_ns=%.1f "
                    "ratio_vs_%s=%.3f\n",
                    table.benchmark, setup.c_str(), table.point, point, table.unit, summary.median * scale,
                    summary.min * scale, summary.max * scale, 1e3 / summary.median, summary.user_ns, summary.sys_ns,
                    setups[0].c_str(), ratio);
      }
      first_row = false;
      std::fflush(stdout);
    }
  }
  if (json) std::printf("\n]}\n");
  return failures;
}

}  // namespace bench

int main(int argc, char** argv) {
  const char* usage =
      "usage: bench nop [OPTIONS] | bench read [OPTIONS]   (bench BENCHMARK --help for its options)\n";
  if (argc >= 2 && std::strcmp(argv[1], "nop") == 0) return bench::nop_main(argc - 1, argv + 1);
  if (argc >= 2 && std::strcmp(argv[1], "read") == 0) return bench::read_main(argc - 1, argv + 1);
  if (argc >= 2 && (std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0)) {
    std::fputs(usage, stdout);
    return 0;
  }
  std::fprintf(stderr, "bench: %s\n%s", argc < 2 ? "which benchmark?" : ("unknown benchmark " + std::string(argv[1])).c_str(),
               usage);
  return 2;
}
