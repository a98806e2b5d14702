// tools/bench runs and reports what it measured: every setup of `nop` and
// `read` (the in-process ones; fio's need fio) completes a tiny run, prints
// one parseable line per (point, setup) with the ratio to the first, and bad
// options exit 2. No timing is asserted: speed is what the bench prints.
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/test_support.h"
#include "tests/tools/tool_runner.h"

namespace {

// "k=v" fields of one output line.
std::map<std::string, std::string> fields(const std::string& line) {
  std::map<std::string, std::string> out;
  std::istringstream words(line);
  for (std::string word; words >> word;) {
    const std::size_t eq = word.find('=');
    if (eq != std::string::npos) out[word.substr(0, eq)] = word.substr(eq + 1);
  }
  return out;
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream stream(text);
  for (std::string line; std::getline(stream, line);) out.push_back(line);
  return out;
}

const std::string& bench() {
  static const std::string path = tool_runner::tool_path("tools/bench/bench");
  return path;
}

}  // namespace

TEST_CASE("bench nop: every setup runs, one line per batch and setup, the first setup's ratio is 1") {
  const std::vector<std::string> setups = {"raw", "plain", "default", "defer", "nosqarray", "regfd", "best"};
  std::string list;
  for (const std::string& s : setups) list += (list.empty() ? "" : ",") + s;
  const auto run = tool_runner::run(bench(), {"nop", "--ops", "2000", "--reps", "3", "--batch", "1,8", "--setup", list});
  INFO(run.err);
  REQUIRE(run.exited);
  CHECK(run.exit_code == 0);
  const auto out = lines(run.out);
  REQUIRE(out.size() == 2 * setups.size());
  for (std::size_t i = 0; i < out.size(); ++i) {
    auto f = fields(out[i]);
    CAPTURE(out[i]);
    CHECK(out[i].rfind("nop ", 0) == 0);
    CHECK(f["setup"] == setups[i % setups.size()]);
    CHECK(f["batch"] == (i < setups.size() ? "1" : "8"));
    CHECK(std::stod(f["mops"]) > 0);
    if (i % setups.size() == 0) CHECK(f["ratio_vs_raw"] == "1.000");
    else CHECK(std::stod(f["ratio_vs_raw"]) > 0);
  }
}

TEST_CASE("bench read: pread, plain, fixed, sqpoll and sqpoll-spin read a small file; every read returns 4096 bytes") {
  const char* tmp = std::getenv("TEST_TMPDIR");
  REQUIRE(tmp != nullptr);
  const std::string file = std::string(tmp) + "/read.dat";
  const auto run = tool_runner::run(bench(), {"read", "--file", file, "--size", "1M", "--seconds", "0.05", "--reps", "2",
                                              "--qd", "1,4", "--setup", "pread,plain,fixed,sqpoll,sqpoll-spin"});
  INFO(run.err);
  REQUIRE(run.exited);
  CHECK(run.exit_code == 0);
  const auto out = lines(run.out);
  REQUIRE(out.size() == 10);
  for (const std::string& line : out) {
    CAPTURE(line);
    auto f = fields(line);
    CHECK(line.rfind("read ", 0) == 0);
    CHECK(std::stod(f["kiops"]) > 0);
  }
}

TEST_CASE("bench: bad options and unknown setups say what was wrong") {
  auto run = tool_runner::run(bench(), {"nop", "--bogus"});
  CHECK(run.exit_code == 2);
  CHECK(run.err.find("unknown option --bogus") != std::string::npos);
  run = tool_runner::run(bench(), {"nop", "--batch", "0"});
  CHECK(run.exit_code == 2);
  CHECK(run.err.find("batch sizes must be 1..4096, not '0'") != std::string::npos);
  run = tool_runner::run(bench(), {"frobnicate"});
  CHECK(run.exit_code == 2);
  CHECK(run.err.find("unknown benchmark frobnicate") != std::string::npos);
  run = tool_runner::run(bench(), {"nop", "--ops", "100", "--reps", "1", "--setup", "raw,liburing"});
  CHECK(run.exit_code == 1);
  CHECK(run.err.find("liburing setups: build //tools/bench:bench_liburing") != std::string::npos);
  CHECK(run.out.find("setup=raw") != std::string::npos);  // the other setups still report
  run = tool_runner::run(bench(), {"read", "--seconds", "0"});
  CHECK(run.exit_code == 2);
  CHECK(run.err.find("--seconds takes a number of seconds") != std::string::npos);
}
