// tools/common/cli.h: the command line every tool shares (values, numbers
// with suffixes, --help, usage errors with exit 2) and the stop signalfd.
#include "tools/common/cli.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "tests/support/test_support.h"

namespace {

struct Outcome {
  int exit_code = -1;  // -1: it returned without exiting
  std::string out, err;
};

std::string drain(int fd) {
  std::string text;
  char chunk[4096];
  for (ssize_t got; (got = ::read(fd, chunk, sizeof chunk)) > 0;) text.append(chunk, static_cast<std::size_t>(got));
  ::close(fd);
  return text;
}

// Runs `body` in a child process (parse() may exit), capturing its output.
Outcome in_child(const std::function<void()>& body) {
  int out[2], err[2];
  REQUIRE(::pipe(out) == 0);
  REQUIRE(::pipe(err) == 0);
  std::fflush(nullptr);  // or the child would print the parent's buffered output again
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    ::dup2(out[1], 1);
    ::dup2(err[1], 2);
    body();
    std::fflush(stdout);
    ::_exit(99);  // returned: no exit happened
  }
  ::close(out[1]);
  ::close(err[1]);
  Outcome outcome;
  outcome.out = drain(out[0]);
  outcome.err = drain(err[0]);
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  REQUIRE(WIFEXITED(status));
  outcome.exit_code = WEXITSTATUS(status) == 99 ? -1 : WEXITSTATUS(status);
  return outcome;
}

const char* kUsage = "usage: demo [--size N] [--name TEXT] [--verbose] FILE...\n";

struct Demo {
  std::uint64_t size = 7;
  std::string name = "none";
  bool verbose = false;
  std::vector<std::string> positional;
};

// Parses `args` as demo's command line; in the child, prints what it got.
Demo parse_demo(std::vector<std::string> args) {
  Demo demo;
  cli::Parser parser("demo", kUsage);
  parser.number("--size", &demo.size, 1, 1ull << 40);
  parser.text("--name", &demo.name);
  parser.flag("--verbose", &demo.verbose);
  std::vector<char*> argv{const_cast<char*>("demo")};
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  demo.positional = parser.parse(static_cast<int>(argv.size() - 1), argv.data(), 1, 3);
  return demo;
}

Outcome run_demo(const std::vector<std::string>& args) {
  return in_child([&] {
    Demo demo = parse_demo(args);
    std::printf("size=%llu name=%s verbose=%d", static_cast<unsigned long long>(demo.size), demo.name.c_str(),
                demo.verbose ? 1 : 0);
    for (const std::string& p : demo.positional) std::printf(" [%s]", p.c_str());
  });
}

}  // namespace

TEST_CASE("cli: values, suffixes, --name=value, -- and positional arguments") {
  CHECK(run_demo({"a"}).out == "size=7 name=none verbose=0 [a]");
  CHECK(run_demo({"--size", "64K", "--name=x=y", "--verbose", "a", "b"}).out ==
        "size=65536 name=x=y verbose=1 [a] [b]");
  CHECK(run_demo({"--size=0x10", "a"}).out == "size=16 name=none verbose=0 [a]");
  CHECK(run_demo({"--size", "3G", "--", "--verbose"}).out == "size=3221225472 name=none verbose=0 [--verbose]");
  CHECK(run_demo({"-", "a"}).out == "size=7 name=none verbose=0 [-] [a]");
  CHECK(run_demo({"a"}).exit_code == -1);
}

TEST_CASE("cli: --help prints the usage on stdout and exits 0") {
  const Outcome outcome = run_demo({"x", "--help"});
  CHECK(outcome.exit_code == 0);
  CHECK(outcome.out == kUsage);
  CHECK(outcome.err.empty());
}

TEST_CASE("cli: usage errors say what was wrong, print the usage on stderr and exit 2") {
  struct Case {
    std::vector<std::string> args;
    const char* message;
  } cases[] = {
      {{"--bogus", "a"}, "demo: unknown option --bogus\n"},
      {{"a", "--size"}, "demo: --size needs a value\n"},
      {{"--size", "0", "a"}, "demo: --size takes a whole number from 1 to 1099511627776, not '0'\n"},
      {{"--size", "-1", "a"}, "not '-1'"},
      {{"--size", "1.5", "a"}, "not '1.5'"},
      {{"--size", "", "a"}, "not ''"},
      {{"--size", "99999999999999999999", "a"}, "not '99999999999999999999'"},
      {{"--size", "17179869184G", "a"}, "not '17179869184G'"},
      {{"--size", "2T", "a"}, "not '2T'"},
      {{"--verbose=1", "a"}, "demo: --verbose takes no value\n"},
      {{}, "demo: missing argument\n"},
      {{"a", "b", "c", "d"}, "demo: too many arguments\n"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.message);
    const Outcome outcome = run_demo(c.args);
    CHECK(outcome.exit_code == 2);
    CHECK(outcome.out.empty());
    CHECK(outcome.err.find(c.message) != std::string::npos);
    CHECK(outcome.err.find(kUsage) != std::string::npos);
  }
}

TEST_CASE("cli: fail and fail_errno print 'TOOL: message' and exit 1") {
  Outcome outcome = in_child([] { cli::fail("demo", "cannot open x"); });
  CHECK(outcome.exit_code == 1);
  CHECK(outcome.err == "demo: cannot open x\n");
  outcome = in_child([] { cli::fail_errno("demo", "open x", -ENOENT); });
  CHECK(outcome.exit_code == 1);
  CHECK(outcome.err == "demo: open x: No such file or directory\n");
}

TEST_CASE("cli: stop_signals_fd turns SIGTERM and SIGINT into a readable fd instead of death") {
  const Outcome outcome = in_child([] {
    const int fd = cli::stop_signals_fd("demo");
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 0) != 0) ::_exit(3);  // readable before any signal
    for (int sig : {SIGTERM, SIGINT}) {
      ::kill(::getpid(), sig);
      if (::poll(&p, 1, 5000) != 1) ::_exit(4);
      signalfd_siginfo info{};
      if (::read(fd, &info, sizeof info) != sizeof info) ::_exit(5);
      std::printf("%u ", info.ssi_signo);
    }
    std::fflush(stdout);
    ::_exit(0);
  });
  CHECK(outcome.exit_code == 0);
  CHECK(outcome.out == std::to_string(SIGTERM) + " " + std::to_string(SIGINT) + " ");
}

TEST_CASE("cli: with fds 0-2 closed, stop_signals_fd's signalfd is not one of them; each is held by an fd that reads EBADF") {
  // `tool <&- >&-`: the lowest free fd would be 0, and a tool would read its
  // own signalfd as stdin (or write its output into it).
  const Outcome outcome = in_child([] {
    const int saved_err = ::dup(2);
    ::close(0);
    ::close(1);
    ::close(2);
    const int fd = cli::stop_signals_fd("demo");
    ::dup2(saved_err, 2);
    ::dup2(saved_err, 1);  // the report goes to stderr's pipe via fd 1 = stderr
    char byte = 0;
    const bool held0 = ::fcntl(0, F_GETFD) >= 0;
    const ssize_t r = ::read(0, &byte, 1);
    const int read_errno = errno;
    std::printf("fd>=3:%d held0:%d read0:%zd %s", fd >= 3 ? 1 : 0, held0 ? 1 : 0, r, std::strerror(read_errno));
    std::fflush(stdout);
    ::_exit(0);
  });
  CHECK(outcome.exit_code == 0);
  CHECK(outcome.err == "fd>=3:1 held0:1 read0:-1 Bad file descriptor");
}
