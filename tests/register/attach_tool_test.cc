// tools/attach's command line: bad input prints what was wrong and the
// usage and exits with status 2, never an uncaught exception (issue 12,
// item 8). The binary is a data dependency, run from the test's runfiles.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "tests/support/test_support.h"

namespace {

struct Run {
  int status = -1;  // waitpid's status
  std::string out;
  std::string err;
};

std::string attach_path() {
  const char* root = std::getenv("TEST_SRCDIR");
  const char* workspace = std::getenv("TEST_WORKSPACE");
  REQUIRE_MESSAGE(root != nullptr, "TEST_SRCDIR is not set: run this through bazel test");
  return std::string(root) + "/" + (workspace ? workspace : "uring") + "/tools/attach/attach";
}

std::string drain(int fd) {
  std::string text;
  char chunk[4096];
  for (ssize_t got; (got = ::read(fd, chunk, sizeof chunk)) > 0;) text.append(chunk, static_cast<std::size_t>(got));
  ::close(fd);
  return text;
}

// Runs tools/attach with `args`; its output must be small (it is read after exit).
Run run_attach(const std::vector<std::string>& args) {
  const std::string path = attach_path();
  int out[2], err[2];
  REQUIRE(::pipe(out) == 0);
  REQUIRE(::pipe(err) == 0);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    ::dup2(out[1], 1);
    ::dup2(err[1], 2);
    ::close(out[0]);
    ::close(err[0]);
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(path.c_str()));
    for (const std::string& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
    argv.push_back(nullptr);
    ::execv(path.c_str(), argv.data());
    ::_exit(127);
  }
  ::close(out[1]);
  ::close(err[1]);
  Run run;
  run.out = drain(out[0]);
  run.err = drain(err[0]);
  REQUIRE(::waitpid(child, &run.status, 0) == child);
  return run;
}

}  // namespace

TEST_CASE("tools/attach: bad or unknown options exit 2 with the usage, never an exception (issue 12, item 8)") {
  const std::vector<std::vector<std::string>> bad = {
      {"--rings", "abc"},                   // std::stoul threw std::invalid_argument
      {"--rings", "99999999999999999999"},  // and std::out_of_range
      {"--rings", "4x"},                    // and took the 4
      {"--rings", "-1"},                    // and wrapped it
      {"--rings", "0"},
      {"--rings", "65"},
      {"--seconds", "abc"},
      {"--seconds", "nan"},
      {"--seconds", "0"},
      {"--batch", ""},
      {"--idle-ms", "1.5"},
      {"--async-every", "x"},
      {"--batch"},  // no value
      {"--bogus"},
      {"stray"},
  };
  for (const auto& args : bad) {
    std::string line;
    for (const std::string& arg : args) line += " '" + arg + "'";
    INFO("attach" << line);
    const Run run = run_attach(args);
    INFO("stderr: " << run.err);
    REQUIRE(WIFEXITED(run.status));  // not killed by an uncaught exception's abort
    CHECK(WEXITSTATUS(run.status) == 2);
    CHECK(run.err.find("attach: ") == 0);  // what was wrong comes first
    CHECK(run.err.find("usage: attach") != std::string::npos);
    CHECK(run.out.empty());
  }
  // Each says what was wrong with what.
  CHECK(run_attach({"--rings", "4x"}).err.find("attach: --rings takes a whole number from 1 to 64, not \"4x\"") == 0);
  CHECK(run_attach({"--bogus"}).err.find("unknown option \"--bogus\"") != std::string::npos);
  CHECK(run_attach({"--batch"}).err.find("--batch needs a value") != std::string::npos);
}

TEST_CASE("tools/attach: --help prints the usage and exits 0") {
  const Run run = run_attach({"--help"});
  REQUIRE(WIFEXITED(run.status));
  CHECK(WEXITSTATUS(run.status) == 0);
  CHECK(run.out.find("usage: attach") != std::string::npos);
  CHECK(run.err.empty());
}

TEST_CASE("tools/attach: good options run the workload") {
  const Run run = run_attach({"--rings", "1", "--seconds", "0.05", "--batch", "4", "--no-sqpoll"});
  INFO("stderr: " << run.err);
  REQUIRE(WIFEXITED(run.status));
  CHECK(WEXITSTATUS(run.status) == 0);
  CHECK(run.out.find("mode=unattached rings=1 sqpoll=0") != std::string::npos);
  CHECK(run.out.find("mode=attached") != std::string::npos);
}
