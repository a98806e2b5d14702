// load: the load client for tools/echo and tools/echo_epoll. It opens N
// connections to 127.0.0.1:PORT and on each sends messages of --size bytes,
// keeping --depth of them in flight (1: send, wait for the echo, send the
// next; more: pipelined), for --duration seconds or --count messages per
// connection. Then it prints requests/s and the latency percentiles
// (p50/p99/p999: from a message's first byte sent to its last byte echoed).
//
// It is built on plain non-blocking sockets and one epoll loop, nothing of
// uring, so what it measures is the server. Every byte that comes back is
// checked: each connection sends its own pattern, each message starts at a
// different offset in it, so a byte lost, duplicated, reordered or crossed
// over from another connection is a mismatch — reported with where it was,
// and the run fails (exit 1). So does a connection the server closes, or a
// server that stops answering for --timeout seconds.
//
// SIGINT/SIGTERM (blocked, read from a signalfd in the same epoll set) stop
// the sending; the messages in flight get up to 2 s more (a second signal
// ends that at once), the rest are counted as abandoned; then the totals are
// printed as always, with the signal ("stopped": "SIGINT" in JSON), and the
// exit status is still 0 when every byte that came back was right.
//
//   load --port 7000 --connections 64 --size 4096 --depth 4 --duration 10
//   load --port 7000 --count 1000 --json       one JSON object on stdout
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "tools/common/cli.h"

namespace {

constexpr const char* kTool = "load";
constexpr const char* kUsage =
    "usage: load --port N [--connections N] [--size N] [--depth N]\n"
    "            [--duration S | --count N] [--connect-timeout S] [--timeout S] [--json]\n"
    "Loads an echo server on 127.0.0.1:PORT and checks every byte it echoes.\n"
    "  --port N             the server's port\n"
    "  --connections N      connections (default 16)\n"
    "  --size N             bytes per message (default 64)\n"
    "  --depth N            messages in flight per connection (default 1)\n"
    "  --duration S         seconds of sending (default 5), then what is in flight is awaited\n"
    "  --count N            or: messages per connection, then stop\n"
    "  --connect-timeout S  seconds to wait for the connections (default 5)\n"
    "  --timeout S          fail when nothing arrives for this long (default 10)\n"
    "  --json               print one JSON object instead of text\n"
    "SIGINT/SIGTERM stop the sending, wait at most 2 s for the messages in flight\n"
    "and print the totals.\n"
    "Exit 0 when every byte came back right (also when stopped by a signal); 1 on a\n"
    "mismatch, a closed connection, a timeout or a connection that could not be made.\n";

constexpr std::size_t kPatternSlack = 251;
constexpr std::uint64_t kSignalKey = UINT64_MAX;          // the signalfd's epoll key
constexpr std::uint64_t kGraceNs = 2000000000u;           // after a signal: the wait for messages in flight  // message k starts at offset k % 251 of its connection's pattern

std::uint64_t now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000u + static_cast<std::uint64_t>(ts.tv_nsec);
}

struct Connection {
  int fd = -1;
  std::vector<unsigned char> pattern;  // size + kPatternSlack bytes of its own
  std::uint64_t started = 0;           // messages whose first byte was sent
  std::uint64_t written = 0;           // bytes of message `started - 1` sent (== size: all)
  std::uint64_t done = 0;              // messages echoed completely
  std::uint64_t read = 0;              // bytes of message `done` echoed so far
  std::vector<std::uint64_t> start_ns;  // per message in flight (index: message % depth)
  bool writable = true, readable = false, finished = false;
};

class Load {
 public:
  struct Options {
    std::uint64_t port = 0, connections = 16, size = 64, depth = 1, duration = 5, count = 0;
    std::uint64_t connect_timeout = 5, timeout = 10;
    bool json = false;
  };

  explicit Load(const Options& options) : o_(options), connections_(options.connections) {
    epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
    if (epoll_fd_ < 0) cli::fail_errno(kTool, "epoll_create1", errno);
    std::uint64_t seed = 0x9E3779B97F4A7C15ull;
    for (std::size_t i = 0; i < connections_.size(); ++i) {
      Connection& c = connections_[i];
      c.pattern.resize(o_.size + kPatternSlack);
      for (unsigned char& byte : c.pattern) {  // xorshift: different on every connection
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        byte = static_cast<unsigned char>(seed >> 24);
      }
      c.start_ns.resize(o_.depth);
      c.written = o_.size;  // "the previous message is all sent": the first may start
    }
  }

  // Connects every connection (non-blocking, all at once), within the timeout.
  void connect_all() {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<std::uint16_t>(o_.port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const std::string where = "127.0.0.1:" + std::to_string(o_.port);
    std::size_t pending = 0;
    for (std::size_t i = 0; i < connections_.size(); ++i) {
      Connection& c = connections_[i];
      c.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      if (c.fd < 0) cli::fail_errno(kTool, "socket (connection " + std::to_string(i) + ")", errno);
      const int one = 1;
      ::setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      if (::connect(c.fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 && errno != EINPROGRESS) {
        cli::fail_errno(kTool, "cannot connect to " + where, errno);
      }
      epoll_event event{};
      event.events = EPOLLOUT;
      event.data.u64 = i;
      if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, c.fd, &event) != 0) cli::fail_errno(kTool, "epoll_ctl", errno);
      ++pending;
    }
    const std::uint64_t deadline = now_ns() + o_.connect_timeout * 1000000000u;
    std::vector<epoll_event> events(256);
    std::vector<bool> connected(connections_.size());
    while (pending > 0) {
      const std::uint64_t now = now_ns();
      if (now >= deadline) {
        cli::fail(kTool, "cannot connect to " + where + ": " + std::to_string(pending) + " of " +
                             std::to_string(connections_.size()) + " connections not made within " +
                             std::to_string(o_.connect_timeout) + " s (--connect-timeout)");
      }
      const int n = ::epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()),
                                 static_cast<int>((deadline - now) / 1000000) + 1);
      for (int k = 0; k < n; ++k) {
        const std::size_t i = events[k].data.u64;
        if (connected[i]) continue;
        int error = 0;
        socklen_t length = sizeof error;
        ::getsockopt(connections_[i].fd, SOL_SOCKET, SO_ERROR, &error, &length);
        if (error != 0) cli::fail_errno(kTool, "cannot connect to " + where, error);
        connected[i] = true;
        --pending;
        // From now on both directions, edge-triggered.
        epoll_event event{};
        event.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
        event.data.u64 = i;
        ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, connections_[i].fd, &event);
      }
    }
  }

  // Runs the load; returns false on an error (already printed).
  // `signal_fd`: SIGINT/SIGTERM, which stop it early.
  bool run(int signal_fd) {
    epoll_event signal_event{};
    signal_event.events = EPOLLIN;
    signal_event.data.u64 = kSignalKey;
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, signal_fd, &signal_event) != 0) cli::fail_errno(kTool, "epoll_ctl", errno);
    std::vector<epoll_event> events(256);
    std::vector<unsigned char> scratch(256 * 1024);
    begin_ns_ = now_ns();
    stop_sending_ns_ = o_.count ? UINT64_MAX : begin_ns_ + o_.duration * 1000000000u;
    std::uint64_t last_progress = begin_ns_;
    for (Connection& c : connections_) pump(c, scratch);  // the first messages
    while (open_ > 0 && error_.empty()) {
      const int n = ::epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()), 100);
      if (n < 0 && errno != EINTR) cli::fail_errno(kTool, "epoll_wait", errno);
      const std::uint64_t now = now_ns();
      if (n > 0) last_progress = now;
      bool signalled = false;
      for (int k = 0; k < n && error_.empty(); ++k) {
        if (events[k].data.u64 == kSignalKey) {
          signalfd_siginfo info{};
          while (::read(signal_fd, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
            if (signal_ == 0) signal_ = static_cast<int>(info.ssi_signo);
            else grace_end_ns_ = now;  // a second signal: stop waiting
          }
          signalled = true;
          continue;
        }
        Connection& c = connections_[events[k].data.u64];
        if (events[k].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) c.readable = true;
        if (events[k].events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) c.writable = true;
        pump(c, scratch);
      }
      if (signalled && grace_end_ns_ == 0) grace_end_ns_ = now + kGraceNs;
      if ((now >= stop_sending_ns_ || signal_ != 0) && !stopped_) {  // no new messages, finish those in flight
        stopped_ = true;
        for (Connection& c : connections_) pump(c, scratch);
      }
      if (signal_ != 0 && now >= grace_end_ns_) {  // stopped: what has not come back by now is abandoned
        for (const Connection& c : connections_) {
          if (!c.finished) abandoned_ += c.started - c.done;
        }
        break;
      }
      if (error_.empty() && now - last_progress > o_.timeout * 1000000000u) {
        error_ = "no answer from the server for " + std::to_string(o_.timeout) + " s (--timeout); " +
                 std::to_string(open_) + " connections still waiting";
      }
    }
    end_ns_ = now_ns();
    for (Connection& c : connections_) {
      if (c.fd >= 0) ::close(c.fd);
    }
    ::close(epoll_fd_);
    return error_.empty();
  }

  void report() {
    std::sort(latencies_.begin(), latencies_.end());
    auto percentile = [&](double p) -> double {
      if (latencies_.empty()) return 0;
      auto index = static_cast<std::size_t>(p * static_cast<double>(latencies_.size()));
      return static_cast<double>(latencies_[std::min(index, latencies_.size() - 1)]) / 1000.0;  // us
    };
    const double seconds = static_cast<double>(end_ns_ - begin_ns_) / 1e9;
    const double rate = seconds > 0 ? static_cast<double>(requests_) / seconds : 0;
    const double mb = seconds > 0 ? static_cast<double>(requests_ * o_.size) / seconds / 1e6 : 0;
    const double max = latencies_.empty() ? 0 : static_cast<double>(latencies_.back()) / 1000.0;
    const std::uint64_t errors = error_.empty() ? 0 : 1;
    const char* stopped = signal_ == SIGINT ? "SIGINT" : signal_ == SIGTERM ? "SIGTERM" : nullptr;
    if (o_.json) {
      std::printf(
          "{\"port\": %" PRIu64 ", \"connections\": %" PRIu64 ", \"size\": %" PRIu64 ", \"depth\": %" PRIu64
          ", \"seconds\": %.6f, \"requests\": %" PRIu64 ", \"requests_per_second\": %.1f, \"bytes\": %" PRIu64
          ", \"mb_per_second\": %.2f, \"latency_us\": {\"p50\": %.2f, \"p99\": %.2f, \"p999\": %.2f, \"max\": %.2f}"
          ", \"mismatches\": %" PRIu64 ", \"errors\": %" PRIu64 ", \"stopped\": %s%s%s, \"abandoned\": %" PRIu64 "}\n",
          o_.port, o_.connections, o_.size, o_.depth, seconds, requests_, rate, requests_ * o_.size, mb,
          percentile(0.50), percentile(0.99), percentile(0.999), max, mismatches_, errors, stopped ? "\"" : "",
          stopped ? stopped : "null", stopped ? "\"" : "", abandoned_);
    } else {
      std::printf("load: 127.0.0.1:%" PRIu64 ", %" PRIu64 " connections x %" PRIu64 " B, depth %" PRIu64
                  ", %.2f s\n",
                  o_.port, o_.connections, o_.size, o_.depth, seconds);
      std::printf("requests %" PRIu64 " (%.1f/s), %.2f MB/s each way\n", requests_, rate, mb);
      std::printf("latency p50 %.2f us, p99 %.2f us, p999 %.2f us, max %.2f us\n", percentile(0.50),
                  percentile(0.99), percentile(0.999), max);
      std::printf("mismatches %" PRIu64 ", errors %" PRIu64 "\n", mismatches_, errors);
      if (stopped) std::printf("stopped by %s: %" PRIu64 " messages in flight abandoned\n", stopped, abandoned_);
    }
    std::fflush(stdout);
    if (!error_.empty()) std::fprintf(stderr, "%s: %s\n", kTool, error_.c_str());
  }

 private:
  bool may_start() const { return o_.count && signal_ == 0 ? true : !stopped_; }
  bool wants_more(const Connection& c) const {
    if (o_.count && signal_ == 0) return c.started < o_.count;
    return may_start();
  }

  // Writes and reads on one connection until neither can go on.
  void pump(Connection& c, std::vector<unsigned char>& scratch) {
    if (c.finished) return;
    const std::size_t index = static_cast<std::size_t>(&c - connections_.data());
    for (bool progress = true; progress && error_.empty();) {
      progress = false;
      // Send: finish the current message, or start one if depth allows.
      if (c.writable) {
        if (c.written == o_.size && c.started - c.done < o_.depth && wants_more(c)) {
          c.start_ns[c.started % o_.depth] = now_ns();
          ++c.started;
          c.written = 0;
        }
        if (c.started > 0 && c.written < o_.size) {
          const unsigned char* message = c.pattern.data() + (c.started - 1) % kPatternSlack;
          const std::size_t left = o_.size - c.written;
          const ssize_t put = ::send(c.fd, message + c.written, left, MSG_NOSIGNAL);
          if (put > 0) {
            c.written += static_cast<std::uint64_t>(put);
            if (static_cast<std::size_t>(put) < left) c.writable = false;
            progress = true;
          } else if (put < 0 && errno == EAGAIN) {
            c.writable = false;
          } else if (put < 0 && errno != EINTR) {
            fail_connection(index, std::string("send: ") + std::strerror(errno));
            return;
          }
        }
      }
      // Receive and check.
      if (c.readable) {
        const ssize_t got = ::recv(c.fd, scratch.data(), scratch.size(), 0);
        if (got > 0) {
          if (!check(c, index, scratch.data(), static_cast<std::size_t>(got))) return;
          if (static_cast<std::size_t>(got) < scratch.size()) c.readable = false;
          progress = true;
        } else if (got == 0) {
          fail_connection(index, "closed by the server");
          return;
        } else if (errno == EAGAIN) {
          c.readable = false;
        } else if (errno != EINTR) {
          fail_connection(index, std::string("recv: ") + std::strerror(errno));
          return;
        }
      }
    }
    // Done: every message sent came back, and no more will be sent.
    if (!wants_more(c) && c.done == c.started && c.written == o_.size) {
      c.finished = true;
      ::close(c.fd);
      c.fd = -1;
      --open_;
    }
  }

  // Compares echoed bytes with what was sent; counts finished messages.
  bool check(Connection& c, std::size_t index, const unsigned char* data, std::size_t n) {
    while (n > 0) {
      if (c.done >= c.started) {
        fail_connection(index, std::to_string(n) + " bytes more than were sent");
        return false;
      }
      const unsigned char* expected = c.pattern.data() + c.done % kPatternSlack + c.read;
      const std::size_t take = std::min<std::size_t>(n, o_.size - c.read);
      if (std::memcmp(expected, data, take) != 0) {
        std::size_t at = 0;
        while (expected[at] == data[at]) ++at;
        ++mismatches_;
        char what[160];
        std::snprintf(what, sizeof what, "mismatch in message %" PRIu64 " at byte %" PRIu64 ": expected 0x%02x, got 0x%02x",
                      c.done, c.read + at, expected[at], data[at]);
        fail_connection(index, what);
        return false;
      }
      c.read += take;
      data += take;
      n -= take;
      if (c.read == o_.size) {
        const std::uint64_t latency = now_ns() - c.start_ns[c.done % o_.depth];
        latencies_.push_back(static_cast<std::uint32_t>(std::min<std::uint64_t>(latency, UINT32_MAX)));
        ++c.done;
        ++requests_;
        c.read = 0;
      }
    }
    return true;
  }

  void fail_connection(std::size_t index, const std::string& what) {
    if (error_.empty()) {
      error_ = "connection " + std::to_string(index) + " after " + std::to_string(connections_[index].done) +
               " messages: " + what;
    }
  }

  Options o_;
  std::vector<Connection> connections_;
  int epoll_fd_ = -1;
  std::size_t open_ = connections_.size();
  std::uint64_t begin_ns_ = 0, end_ns_ = 0, stop_sending_ns_ = 0;
  bool stopped_ = false;
  int signal_ = 0;                    // the SIGINT/SIGTERM that stopped it, or 0
  std::uint64_t grace_end_ns_ = 0;    // after a signal: when the wait for answers ends
  std::uint64_t abandoned_ = 0;       // messages in flight when that wait ended
  std::uint64_t requests_ = 0, mismatches_ = 0;
  std::vector<std::uint32_t> latencies_;  // nanoseconds, one per echoed message
  std::string error_;
};

}  // namespace

int main(int argc, char** argv) {
  Load::Options options;
  std::uint64_t duration = 0;
  cli::Parser args(kTool, kUsage);
  args.number("--port", &options.port, 1, 65535);
  args.number("--connections", &options.connections, 1, 100000);
  args.number("--size", &options.size, 1, 1 << 30);
  args.number("--depth", &options.depth, 1, 4096);
  args.number("--duration", &duration, 1, 86400);
  args.number("--count", &options.count, 1, UINT64_MAX);
  args.number("--connect-timeout", &options.connect_timeout, 1, 3600);
  args.number("--timeout", &options.timeout, 1, 3600);
  args.flag("--json", &options.json);
  args.parse(argc, argv, 0, 0);
  if (options.port == 0) args.usage_error("--port is required");
  if (duration != 0 && options.count != 0) args.usage_error("--duration and --count: choose one");
  if (duration != 0) options.duration = duration;

  rlimit files{};
  ::getrlimit(RLIMIT_NOFILE, &files);
  files.rlim_cur = files.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &files);
  if (options.connections + 16 > files.rlim_cur) {
    cli::fail(kTool, "--connections " + std::to_string(options.connections) + " needs " +
                         std::to_string(options.connections + 16) + " open files, and the limit is " +
                         std::to_string(files.rlim_cur) + " (ulimit -n)");
  }

  const int signal_fd = cli::stop_signals_fd(kTool);
  Load load(options);
  load.connect_all();
  const bool ok = load.run(signal_fd);
  ::close(signal_fd);
  load.report();
  return ok ? 0 : 1;
}
