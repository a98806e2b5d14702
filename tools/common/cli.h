// What every tool in tools/ does the same way, in one place:
//
//   * the command line: `--name value`, `--name=value`, `--switch`, then
//     positional arguments; `--help` prints the usage and exits 0; an
//     unknown option, a missing value or a bad number prints what was wrong
//     and the usage on stderr and exits 2;
//   * a fatal error: "TOOL: what went wrong" on stderr, exit 1;
//   * SIGINT and SIGTERM: blocked and turned into a readable signalfd, so a
//     tool waits for them the same way it waits for everything else (a READ
//     or POLL_ADD on the ring, or epoll) and ends cleanly: cancels what is in
//     flight, closes, prints its totals.
//
// Header-only, C++20, no dependency but libc: copy it with the tool.
#pragma once

#include <fcntl.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace cli {

// "TOOL: message" on stderr, then exit(1).
[[noreturn]] inline void fail(const char* tool, const std::string& message) {
  std::fprintf(stderr, "%s: %s\n", tool, message.c_str());
  std::exit(1);
}

// "TOOL: what: strerror(-negative_errno)" on stderr, then exit(1). For the
// library's -errno results and the kernel's CQE results alike.
[[noreturn]] inline void fail_errno(const char* tool, const std::string& what, int negative_errno) {
  fail(tool, what + ": " + std::strerror(negative_errno < 0 ? -negative_errno : negative_errno));
}

// The command line of one tool. Declare the options, then parse():
//
//   cli::Parser args("cat", "usage: cat [--block-size N] FILE...\n...");
//   std::uint64_t block = 65536;
//   args.number("--block-size", &block, 1, 1 << 30);
//   std::vector<std::string> files = args.parse(argc, argv, 1, SIZE_MAX);
class Parser {
 public:
  // `usage` is the whole --help text (printed as given).
  Parser(const char* tool, const char* usage) : tool_(tool), usage_(usage) {}

  // `--name` alone sets *out to true.
  void flag(const char* name, bool* out) { options_.push_back({name, Kind::flag, out, 0, 0}); }
  // `--name TEXT`.
  void text(const char* name, std::string* out) { options_.push_back({name, Kind::text, out, 0, 0}); }
  // `--name N`, a whole number in [min, max] (decimal; 0x... for hex; an
  // optional K/M/G suffix multiplies by 2^10/2^20/2^30).
  void number(const char* name, std::uint64_t* out, std::uint64_t min, std::uint64_t max) {
    options_.push_back({name, Kind::number, out, min, max});
  }

  // Parses argv; returns the positional arguments (between min_positional
  // and max_positional of them, or it exits 2). `--` ends the options.
  std::vector<std::string> parse(int argc, char** argv, std::size_t min_positional, std::size_t max_positional) {
    std::vector<std::string> positional;
    bool options_done = false;
    for (int i = 1; i < argc; ++i) {
      std::string_view arg = argv[i];
      if (options_done || arg.size() < 2 || arg[0] != '-') {
        positional.emplace_back(arg);
        continue;
      }
      if (arg == "--") {
        options_done = true;
        continue;
      }
      if (arg == "--help" || arg == "-h") {
        std::fputs(usage_, stdout);
        std::exit(0);
      }
      std::string_view name = arg;
      std::string_view value;
      bool has_value = false;
      if (std::size_t eq = arg.find('='); eq != std::string_view::npos) {
        name = arg.substr(0, eq);
        value = arg.substr(eq + 1);
        has_value = true;
      }
      const Option* option = find(name);
      if (option == nullptr) usage_error("unknown option " + std::string(name));
      if (option->kind == Kind::flag) {
        if (has_value) usage_error(std::string(name) + " takes no value");
        *static_cast<bool*>(option->out) = true;
        continue;
      }
      if (!has_value) {
        if (i + 1 >= argc) usage_error(std::string(name) + " needs a value");
        value = argv[++i];
      }
      if (option->kind == Kind::text) {
        *static_cast<std::string*>(option->out) = std::string(value);
      } else if (!parse_number(value, option->min, option->max, static_cast<std::uint64_t*>(option->out))) {
        usage_error(std::string(name) + " takes a whole number from " + std::to_string(option->min) + " to " +
                    std::to_string(option->max) + ", not '" + std::string(value) + "'");
      }
    }
    if (positional.size() < min_positional) usage_error("missing argument");
    if (positional.size() > max_positional) usage_error("too many arguments");
    return positional;
  }

  // What was wrong, then the usage, on stderr; exit(2).
  [[noreturn]] void usage_error(const std::string& message) const {
    std::fprintf(stderr, "%s: %s\n%s", tool_, message.c_str(), usage_);
    std::exit(2);
  }

 private:
  enum class Kind { flag, text, number };
  struct Option {
    std::string_view name;
    Kind kind;
    void* out;
    std::uint64_t min, max;
  };

  const Option* find(std::string_view name) const {
    for (const Option& option : options_) {
      if (option.name == name) return &option;
    }
    return nullptr;
  }

  static bool parse_number(std::string_view text, std::uint64_t min, std::uint64_t max, std::uint64_t* out) {
    int base = 10;
    if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
      base = 16;
      text.remove_prefix(2);
    }
    unsigned shift = 0;
    if (!text.empty() && base == 10) {
      switch (text.back()) {
        case 'K': case 'k': shift = 10; break;
        case 'M': case 'm': shift = 20; break;
        case 'G': case 'g': shift = 30; break;
        default: break;
      }
      if (shift != 0) text.remove_suffix(1);
    }
    std::uint64_t value = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value, base);
    if (text.empty() || error != std::errc() || end != text.data() + text.size()) return false;
    if (shift != 0 && value > (UINT64_MAX >> shift)) return false;
    value <<= shift;
    if (value < min || value > max) return false;
    *out = value;
    return true;
  }

  const char* tool_;
  const char* usage_;
  std::vector<Option> options_;
};

// Keeps fds 0, 1 and 2 from being taken by the tool's own files. Run as
// `tool <&-` or `tool >&-`, the lowest free fd is 0 or 1, and the next
// open(2), signalfd or ring would become "stdin" or "stdout": cat would read
// its own signalfd as input, or write its output into the ring's fd. Each
// closed one of the three gets /dev/null opened with O_PATH: an fd that holds
// the number but cannot be read or written (read/write and io_uring's
// READ/WRITE fail with EBADF, as on the closed fd). stop_signals_fd() calls
// it; a tool that opens files before that calls it first.
inline void keep_std_fds() {
  for (int fd = 0; fd <= 2; ++fd) {
    if (::fcntl(fd, F_GETFD) >= 0 || errno != EBADF) continue;
    const int held = ::open("/dev/null", O_PATH);  // the lowest free fd: `fd` itself
    if (held >= 0 && held != fd) {
      ::dup2(held, fd);
      ::close(held);
    }
  }
}

// Blocks SIGINT and SIGTERM for the calling thread (threads it creates
// afterwards inherit the mask) and returns a non-blocking signalfd that is
// readable once one of them arrives; read a signalfd_siginfo from it to see
// which. Call it before creating threads. The fd is never 0, 1 or 2
// (keep_std_fds). Exits 1 if the fd cannot be made.
inline int stop_signals_fd(const char* tool) {
  keep_std_fds();  // or the signalfd could become stdin or stdout
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  if (int rc = pthread_sigmask(SIG_BLOCK, &set, nullptr); rc != 0) fail_errno(tool, "pthread_sigmask", rc);
  int fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
  if (fd < 0) fail_errno(tool, "signalfd", errno);
  if (fd <= 2) {  // no /dev/null to hold 0-2 with: move it up
    const int moved = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
    if (moved < 0) fail_errno(tool, "fcntl(F_DUPFD_CLOEXEC)", errno);
    ::close(fd);
    fd = moved;
  }
  return fd;
}

}  // namespace cli
