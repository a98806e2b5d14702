// tools/echo, tools/echo_epoll and tools/load, end to end: the binaries run
// as a user would run them. The echo checks use a client written here (one
// epoll loop, non-blocking sockets), not tools/load, so the servers are
// checked independently of the load tool; tools/load then gets its own
// short runs, including against a server that corrupts a byte.
//
// Every loop is bounded: the client gives up after a deadline, servers are
// stopped with a time limit (tool_runner::Server kills one that hangs).
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/kernel_features.h"
#include "tests/support/test_support.h"
#include "tests/tools/tool_runner.h"

namespace {

using tool_runner::Result;
using tool_runner::Server;

double now_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

std::string echo_path() { return tool_runner::tool_path("tools/echo/echo"); }
std::string epoll_path() { return tool_runner::tool_path("tools/echo_epoll/echo_epoll"); }
std::string load_path() { return tool_runner::tool_path("tools/load/load"); }

// "totals: a=1 b=2 ..." -> {a: 1, b: 2}; empty if there is no such line.
std::map<std::string, long long> parse_totals(const std::string& out) {
  std::map<std::string, long long> totals;
  const std::size_t at = out.find("totals:");
  if (at == std::string::npos) return totals;
  const std::string line = out.substr(at + 7, out.find('\n', at) - at - 7);
  std::size_t pos = 0;
  while (pos < line.size()) {
    const std::size_t eq = line.find('=', pos);
    if (eq == std::string::npos) break;
    std::size_t start = line.rfind(' ', eq);
    start = start == std::string::npos ? 0 : start + 1;
    const std::size_t end = line.find(' ', eq);
    totals[line.substr(start, eq - start)] = std::atoll(line.substr(eq + 1, end - eq - 1).c_str());
    pos = end == std::string::npos ? line.size() : end;
  }
  return totals;
}

// A value of a flat `"key": number` in load's JSON; NAN if absent.
double json_number(const std::string& json, const std::string& key) {
  const std::size_t at = json.find("\"" + key + "\":");
  if (at == std::string::npos) return NAN;
  return std::strtod(json.c_str() + at + key.size() + 3, nullptr);
}

int nonblocking_connect(int port) {
  const int fd = tool_runner::connect_loopback(port);
  REQUIRE_MESSAGE(fd >= 0, "connect to 127.0.0.1:" << port << ": " << std::strerror(errno));
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

// Byte `offset` of connection `conn`'s stream: a hash, so the checker needs
// no copy of what was sent.
inline unsigned char stream_byte(std::uint64_t conn, std::uint64_t offset) {
  std::uint64_t x = (conn << 40) ^ (offset >> 3) ^ 0x9E3779B97F4A7C15ull;
  x ^= x >> 30;
  x *= 0xBF58476D1CE4E5B9ull;
  x ^= x >> 27;
  x *= 0x94D049BB133111EBull;
  x ^= x >> 31;
  return static_cast<unsigned char>(x >> ((offset & 7) * 8));
}

// `clients` connections, each sending `messages` messages of random sizes
// (log-uniform over 1 B .. 64 KiB, so every size class is as common as the
// next, and every 100 messages one of 64 KiB and one of 1 B) with up to 4 in flight, and checking every byte that comes back.
// Returns "" or what went wrong; *total gets the bytes each way.
std::string run_clients(int port, int clients, int messages, std::uint64_t* total, double limit_seconds = 120) {
  struct Client {
    int fd = -1;
    std::vector<std::uint32_t> sizes;
    std::vector<unsigned char> message;  // the one being written
    int next = 0;                        // next message to start
    std::uint64_t written_in_message = 0;
    std::uint64_t sent = 0, checked = 0;  // stream offsets
    std::uint64_t end_of_done = 0;        // stream offset where message `done` ends
    int done = 0;                         // messages echoed completely
  };
  std::mt19937_64 random(20261202);
  std::vector<Client> all(static_cast<std::size_t>(clients));
  const int epoll_fd = ::epoll_create1(EPOLL_CLOEXEC);
  REQUIRE(epoll_fd >= 0);
  *total = 0;
  for (int i = 0; i < clients; ++i) {
    Client& c = all[static_cast<std::size_t>(i)];
    for (int k = 0; k < messages; ++k) {
      const double exponent = std::uniform_real_distribution<double>(0.0, 16.0)(random);
      std::uint32_t size = std::clamp<std::uint32_t>(static_cast<std::uint32_t>(std::exp2(exponent)), 1, 65536);
      if (k % 100 == 0) size = 65536;  // both ends of the range, on every client
      if (k % 100 == 50) size = 1;
      c.sizes.push_back(size);
      *total += c.sizes.back();
    }
    c.end_of_done = c.sizes[0];
    c.fd = nonblocking_connect(port);
    epoll_event event{};
    event.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    event.data.u64 = static_cast<std::uint64_t>(i);
    REQUIRE(::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, c.fd, &event) == 0);
  }
  std::vector<unsigned char> scratch(1 << 18), expected(1 << 18);
  std::string error;
  int open = clients;
  const double deadline = now_seconds() + limit_seconds;
  // Writes and reads on one client as far as they go without blocking.
  auto pump = [&](std::uint64_t index) {
    Client& c = all[index];
    if (c.fd < 0) return;
    for (bool progress = true; progress && error.empty();) {
      progress = false;
      // Start a message when fewer than 4 are in flight.
      if (c.message.empty() && c.next < messages && c.next - c.done < 4) {
        c.message.resize(c.sizes[static_cast<std::size_t>(c.next)]);
        for (std::size_t b = 0; b < c.message.size(); ++b) c.message[b] = stream_byte(index, c.sent + b);
        c.written_in_message = 0;
        ++c.next;
      }
      if (!c.message.empty()) {
        const ssize_t put = ::send(c.fd, c.message.data() + c.written_in_message,
                                   c.message.size() - c.written_in_message, MSG_NOSIGNAL);
        if (put > 0) {
          c.written_in_message += static_cast<std::uint64_t>(put);
          c.sent += static_cast<std::uint64_t>(put);
          if (c.written_in_message == c.message.size()) c.message.clear();
          progress = true;
        } else if (put < 0 && errno != EAGAIN && errno != EINTR) {
          error = "client " + std::to_string(index) + ": send: " + std::strerror(errno);
        }
      }
      const ssize_t got = ::recv(c.fd, scratch.data(), scratch.size(), 0);
      if (got > 0) {
        const auto n = static_cast<std::size_t>(got);
        if (c.checked + n > c.sent) {
          error = "client " + std::to_string(index) + ": " + std::to_string(c.checked + n - c.sent) +
                  " bytes more than it sent";
          return;
        }
        for (std::size_t b = 0; b < n; ++b) expected[b] = stream_byte(index, c.checked + b);
        if (std::memcmp(expected.data(), scratch.data(), n) != 0) {
          std::size_t at = 0;
          while (expected[at] == scratch[at]) ++at;
          error = "client " + std::to_string(index) + ": byte " + std::to_string(c.checked + at) +
                  " of its stream (message " + std::to_string(c.done) + ") came back wrong";
          return;
        }
        c.checked += n;
        while (c.done < messages && c.checked >= c.end_of_done) {
          ++c.done;
          if (c.done < messages) c.end_of_done += c.sizes[static_cast<std::size_t>(c.done)];
        }
        progress = true;
      } else if (got == 0) {
        error = "client " + std::to_string(index) + ": the server closed the connection after " +
                std::to_string(c.done) + " messages";
      } else if (errno != EAGAIN && errno != EINTR) {
        error = "client " + std::to_string(index) + ": recv: " + std::strerror(errno);
      }
    }
    if (error.empty() && c.done == messages) {
      ::close(c.fd);
      c.fd = -1;
      --open;
    }
  };
  for (std::uint64_t i = 0; i < all.size(); ++i) pump(i);
  std::vector<epoll_event> events(256);
  while (open > 0 && error.empty()) {
    if (now_seconds() > deadline) {
      error = std::to_string(open) + " clients not done after " + std::to_string(limit_seconds) + " s";
      break;
    }
    const int n = ::epoll_wait(epoll_fd, events.data(), static_cast<int>(events.size()), 100);
    for (int k = 0; k < n && error.empty(); ++k) pump(events[k].data.u64);
  }
  for (Client& c : all) {
    if (c.fd >= 0) ::close(c.fd);
  }
  ::close(epoll_fd);
  return error;
}

// Starts `path` on a port the kernel picks.
void start(Server& server, const std::string& path, std::vector<std::string> args = {}) {
  args.insert(args.begin(), {"--port", "0"});
  std::string error;
  REQUIRE_MESSAGE(server.start(path, args, &error), error);
}

// Stops it with `sig`: it must exit 0 and print totals with nothing left open.
std::map<std::string, long long> stop(Server& server, int sig = SIGTERM) {
  const Result result = server.stop(sig);
  INFO("stdout: " << result.out << "\nstderr: " << result.err);
  REQUIRE(result.exited);
  CHECK(result.exit_code == 0);
  CHECK(result.err.empty());
  std::map<std::string, long long> totals = parse_totals(result.out);
  REQUIRE_MESSAGE(!totals.empty(), "no totals line");
  CHECK(totals["fds_at_exit"] == totals["fds_at_start"]);
  return totals;
}

// The main check, on one server: clients x messages all echoed exactly.
void check_echo(const std::string& path, const std::vector<std::string>& args, int clients, int messages,
                bool expect_enobufs = false) {
  Server server;
  start(server, path, args);
  std::uint64_t total = 0;
  const std::string error = run_clients(server.port(), clients, messages, &total);
  CHECK_MESSAGE(error.empty(), error);
  std::map<std::string, long long> totals = stop(server);
  CHECK(totals["connections"] == clients);
  CHECK(totals["refused"] == 0);
  CHECK(totals["bytes_in"] == static_cast<long long>(total));
  CHECK(totals["bytes_out"] == static_cast<long long>(total));
  if (expect_enobufs) CHECK_MESSAGE(totals["enobufs"] > 0, "the small group never ran dry: nothing parked");
  MESSAGE(path.substr(path.rfind('/') + 1) << " " << clients << " x " << messages << " messages, " << total << " bytes each way; recvs "
               << totals["recvs"] << ", sends " << totals["sends"] << ", enobufs " << totals["enobufs"]
               << ", parked " << totals["parked"]);
}

}  // namespace

// ---- Every byte comes back, on both servers ---------------------------------------

TEST_CASE("echo: 64 clients x 1000 random-sized messages (1 B - 64 KiB) come back exactly") {
  check_echo(echo_path(), {}, 64, 1000);
}

TEST_CASE("echo_epoll: 64 clients x 1000 random-sized messages (1 B - 64 KiB) come back exactly") {
  check_echo(epoll_path(), {}, 64, 1000);
}

TEST_CASE("echo --bundle (4 KiB buffers): 64 clients x 250 messages come back exactly") {
  URING_REQUIRE(uring::testing::missing_feature(uring::abi::IORING_FEAT_RECVSEND_BUNDLE));
  check_echo(echo_path(), {"--bundle", "--buffer-size", "4K", "--buffers", "2048"}, 64, 250);
}

TEST_CASE("echo --incremental (256 KiB buffers): 64 clients x 250 messages come back exactly") {
  URING_REQUIRE(uring::testing::missing_since("IOU_PBUF_RING_INC", "6.12"));
  check_echo(echo_path(), {"--incremental", "--buffer-size", "256K", "--buffers", "64"}, 64, 250);
}

TEST_CASE("echo --sqpoll: 16 clients x 200 messages come back exactly") {
  URING_REQUIRE(uring::testing::missing_setup_flags(uring::abi::IORING_SETUP_SQPOLL));
  check_echo(echo_path(), {"--sqpoll"}, 16, 200);
}

TEST_CASE("echo with 8 buffers for 64 clients: receives run dry, park, and everything still comes back") {
  check_echo(echo_path(), {"--buffers", "8", "--buffer-size", "4K"}, 64, 100, /*expect_enobufs=*/true);
}

TEST_CASE("echo_epoll with a 100-byte buffer: large messages go through in pieces, exactly") {
  check_echo(epoll_path(), {"--buffer-size", "100"}, 16, 100);
}

// The resident memory of process `pid` in bytes (VmRSS), or -1.
long long resident_bytes(pid_t pid) {
  FILE* status = std::fopen(("/proc/" + std::to_string(pid) + "/status").c_str(), "r");
  if (status == nullptr) return -1;
  char line[256];
  long long kib = -1;
  while (std::fgets(line, sizeof line, status) != nullptr) {
    if (std::sscanf(line, "VmRSS: %lld kB", &kib) == 1) break;
  }
  std::fclose(status);
  return kib < 0 ? -1 : kib * 1024;
}

// The kernel takes a ring's buffers in ring order, so a server that gave it
// all 1,024 would put 400 messages in 400 different buffers (25 MiB touched,
// none of it in the cache any more). tools/echo gives the kernel only a few
// free buffers and hands back the one it sent last first: one client's 400
// messages of 64 KiB land in a handful of buffers, and the rest of the
// 64 MiB is never touched.
TEST_CASE("echo: one client's 400 x 64 KiB messages reuse a few buffers, the rest of --buffers 1024 stays untouched") {
  Server server;
  start(server, echo_path(), {"--buffers", "1024"});
  const long long before = resident_bytes(server.pid());
  REQUIRE(before > 0);
  const Result load = tool_runner::run(load_path(), {"--port", std::to_string(server.port()), "--connections", "1",
                                                     "--size", "65536", "--count", "400", "--json"});
  INFO("load stdout: " << load.out << " stderr: " << load.err);
  CHECK(load.exit_code == 0);
  CHECK(json_number(load.out, "requests") == 400);
  CHECK(json_number(load.out, "mismatches") == 0);
  const long long after = resident_bytes(server.pid());
  MESSAGE("echo --buffers 1024: resident " << before / 1024 << " KiB before, " << after / 1024
                                           << " KiB after 400 x 64 KiB on one connection");
  CHECK(after - before < 8ll << 20);
  std::map<std::string, long long> totals = stop(server);
  CHECK(totals["bytes_in"] == 400ll * 65536);
  CHECK(totals["bytes_out"] == 400ll * 65536);
}

// ---- Misbehaving clients ------------------------------------------------------------

// A client that resets its connection (SO_LINGER 0, close) half-way through
// a message: the server closes that connection and goes on serving.
void check_reset(const std::string& path) {
  Server server;
  start(server, path);
  for (int round = 0; round < 3; ++round) {
    const int fd = tool_runner::connect_loopback(server.port());
    REQUIRE(fd >= 0);
    std::vector<unsigned char> half(30000, 0x5a);
    REQUIRE(::send(fd, half.data(), half.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(half.size()));
    linger reset{1, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
    ::close(fd);
  }
  std::uint64_t total = 0;
  const std::string error = run_clients(server.port(), 4, 50, &total);
  CHECK_MESSAGE(error.empty(), error);
  std::map<std::string, long long> totals = stop(server);
  CHECK(totals["connections"] == 7);
}

TEST_CASE("echo: a client that resets mid-message does not disturb the others") { check_reset(echo_path()); }
TEST_CASE("echo_epoll: a client that resets mid-message does not disturb the others") { check_reset(epoll_path()); }

// A client that sends and never reads: the server stops reading from it once
// its unsent data piles up (echo: --max-queued, echo_epoll: its buffer), so
// its memory stays bounded, and the others are served meanwhile. Stopping
// the server with that connection stuck still ends cleanly.
void check_stuck_reader(const std::string& path, const std::vector<std::string>& args, bool uring_server) {
  Server server;
  start(server, path, args);
  const int stuck = nonblocking_connect(server.port());
  std::vector<unsigned char> block(65536, 0xa5);
  std::uint64_t pushed = 0;
  // Write until writes stay refused for 300 ms in a row (the server no
  // longer reads), for at most 20 s.
  double blocked_since = 0;
  for (const double limit = now_seconds() + 20; now_seconds() < limit;) {
    const ssize_t put = ::send(stuck, block.data(), block.size(), MSG_NOSIGNAL);
    if (put > 0) {
      pushed += static_cast<std::uint64_t>(put);
      blocked_since = 0;
      continue;
    }
    REQUIRE_MESSAGE(errno == EAGAIN, std::strerror(errno));
    if (blocked_since == 0) blocked_since = now_seconds();
    if (now_seconds() - blocked_since > 0.3) break;
    pollfd p{stuck, POLLOUT, 0};
    ::poll(&p, 1, 50);
  }
  CHECK(blocked_since != 0);
  MESSAGE("the stuck client pushed " << pushed << " bytes before the server stopped reading");
  std::uint64_t total = 0;
  const std::string error = run_clients(server.port(), 8, 100, &total, 60);
  CHECK_MESSAGE(error.empty(), error);
  std::map<std::string, long long> totals = stop(server);
  CHECK(totals["connections"] == 9);
  if (uring_server) CHECK(totals["pauses"] >= 1);
  ::close(stuck);
}

TEST_CASE("echo: a client that never reads is paused, the others go on") {
  check_stuck_reader(echo_path(), {"--max-queued", "256K"}, true);
}
TEST_CASE("echo_epoll: a client that never reads is paused, the others go on") {
  check_stuck_reader(epoll_path(), {}, false);
}

// A client that sends its last bytes and then half-closes (shutdown
// SHUT_WR): it must get every byte back and then the end of the stream,
// and the server must close its socket. Each client writes 4 MiB while it
// reads only after the first MiB, so the server's buffer fills and its FIN
// arrives while the server cannot read (edge-triggered epoll then gives no
// second edge for the end of the stream: it must read it when it drains).
void check_half_close(const std::string& path, const std::vector<std::string>& args, int kClients,
                      std::size_t kBytes) {
  Server server;
  start(server, path, args);
  const int baseline = tool_runner::count_fds(server.pid());
  std::vector<std::string> errors(kClients);
  std::vector<std::thread> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back([&, i] {
      const int fd = tool_runner::connect_loopback(server.port());
      if (fd < 0) {
        errors[i] = std::string("connect: ") + std::strerror(errno);
        return;
      }
      std::vector<unsigned char> data(kBytes);
      for (std::size_t b = 0; b < kBytes; ++b) data[b] = stream_byte(static_cast<std::uint64_t>(i), b);
      std::atomic<bool> start_reading{false};
      std::size_t got_total = 0;
      bool eof = false, same = true;
      std::thread reader([&] {
        while (!start_reading.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
        std::vector<unsigned char> in(1 << 20);
        for (;;) {
          pollfd p{fd, POLLIN, 0};
          if (::poll(&p, 1, 5000) != 1) return;  // 5 s without a byte or the end: hung
          const ssize_t got = ::recv(fd, in.data(), in.size(), 0);
          if (got == 0) {
            eof = true;
            return;
          }
          if (got < 0) return;
          if (got_total + static_cast<std::size_t>(got) > kBytes ||
              std::memcmp(in.data(), data.data() + got_total, static_cast<std::size_t>(got)) != 0) {
            same = false;
          }
          got_total += static_cast<std::size_t>(got);
        }
      });
      std::size_t sent = 0;
      while (sent < kBytes) {
        const ssize_t put = ::send(fd, data.data() + sent, kBytes - sent, MSG_NOSIGNAL);
        if (put <= 0) break;
        sent += static_cast<std::size_t>(put);
        if (sent >= std::min<std::size_t>(kBytes, 1u << 20)) start_reading = true;
      }
      start_reading = true;
      ::shutdown(fd, SHUT_WR);
      reader.join();
      ::close(fd);
      if (sent != kBytes) errors[i] = "sent only " + std::to_string(sent) + " bytes";
      else if (!same) errors[i] = "the bytes that came back differ";
      else if (got_total != kBytes) errors[i] = "got back " + std::to_string(got_total) + " of " + std::to_string(kBytes) + " bytes";
      else if (!eof) errors[i] = "all bytes back, but never the end of the stream (the server's FIN)";
    });
  }
  for (std::thread& t : clients) t.join();
  for (int i = 0; i < kClients; ++i) CHECK_MESSAGE(errors[i].empty(), "client " << i << ": " << errors[i]);
  int open_fds = tool_runner::count_fds(server.pid());
  for (int tries = 0; tries < 100 && open_fds != baseline; ++tries) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    open_fds = tool_runner::count_fds(server.pid());
  }
  CHECK_MESSAGE(open_fds == baseline, "the server still holds " << open_fds - baseline << " connection fds");
  std::map<std::string, long long> totals = stop(server);
  CHECK(totals["connections"] == kClients);
}

TEST_CASE("echo_epoll: clients that half-close after their last bytes get all of them back, then the FIN") {
  check_half_close(epoll_path(), {"--buffer-size", "4096"}, 40, 10000);  // data and FIN queued together
  check_half_close(epoll_path(), {}, 8, 4u << 20);                       // the FIN comes while the buffer is full
}
TEST_CASE("echo: clients that half-close after their last bytes get all of them back, then the FIN") {
  check_half_close(echo_path(), {}, 40, 10000);
  check_half_close(echo_path(), {}, 8, 4u << 20);
}

// ---- Stopping, limits, the command line ---------------------------------------------

// A signal with connections open: exit 0, totals, every connection closed
// (the clients see the end of the stream), no fd left behind.
void check_stop_with_open_connections(const std::string& path, int sig) {
  Server server;
  start(server, path);
  std::vector<int> fds;
  for (int i = 0; i < 10; ++i) {
    const int fd = tool_runner::connect_loopback(server.port());
    REQUIRE(fd >= 0);
    const char ping[] = "ping";
    REQUIRE(::send(fd, ping, 4, MSG_NOSIGNAL) == 4);
    char back[4];
    REQUIRE(::recv(fd, back, 4, MSG_WAITALL) == 4);  // accepted and served
    CHECK(std::memcmp(back, ping, 4) == 0);
    fds.push_back(fd);
  }
  const int open_fds = tool_runner::count_fds(server.pid());
  std::map<std::string, long long> totals = stop(server, sig);
  CHECK(open_fds >= totals["fds_at_start"] + 10);  // the ten connections were open before
  CHECK(totals["connections"] == 10);
  CHECK(totals["bytes_in"] == 40);
  CHECK(totals["bytes_out"] == 40);
  for (int fd : fds) {
    pollfd p{fd, POLLIN, 0};
    CHECK(::poll(&p, 1, 5000) == 1);
    char byte;
    const ssize_t got = ::recv(fd, &byte, 1, MSG_DONTWAIT);
    CHECK((got == 0 || (got < 0 && errno == ECONNRESET)));  // closed by the server
    ::close(fd);
  }
}

TEST_CASE("echo: SIGINT with 10 connections open ends cleanly") {
  check_stop_with_open_connections(echo_path(), SIGINT);
}
TEST_CASE("echo_epoll: SIGTERM with 10 connections open ends cleanly") {
  check_stop_with_open_connections(epoll_path(), SIGTERM);
}
TEST_CASE("echo: SIGTERM with 10 connections open ends cleanly") {
  check_stop_with_open_connections(echo_path(), SIGTERM);
}

void check_max_connections(const std::string& path) {
  Server server;
  start(server, path, {"--max-connections", "2"});
  std::vector<int> fds;
  for (int i = 0; i < 3; ++i) {
    const int fd = tool_runner::connect_loopback(server.port());
    REQUIRE(fd >= 0);
    fds.push_back(fd);
    const char ping[] = "ping";
    ::send(fd, ping, 4, MSG_NOSIGNAL);
    char back[4];
    const ssize_t got = ::recv(fd, back, 4, MSG_WAITALL);
    if (i < 2) CHECK(got == 4);
    else CHECK(got <= 0);  // closed at once: the end of the stream, or a reset
  }
  std::map<std::string, long long> totals = stop(server);
  CHECK(totals["connections"] == 2);
  CHECK(totals["refused"] == 1);
  for (int fd : fds) ::close(fd);
}

TEST_CASE("echo: --max-connections 2 closes the third connection") { check_max_connections(echo_path()); }
TEST_CASE("echo_epoll: --max-connections 2 closes the third connection") { check_max_connections(epoll_path()); }

TEST_CASE("echo and echo_epoll: a port in use gets a message naming it, exit 1") {
  const int holder = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(holder, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  REQUIRE(::listen(holder, 1) == 0);
  socklen_t length = sizeof address;
  ::getsockname(holder, reinterpret_cast<sockaddr*>(&address), &length);
  const std::string port = std::to_string(ntohs(address.sin_port));
  for (const std::string& path : {echo_path(), epoll_path()}) {
    const Result result = tool_runner::run(path, {"--port", port});
    INFO(path << " stdout: " << result.out << " stderr: " << result.err);
    CHECK(result.exited);
    CHECK(result.exit_code == 1);
    CHECK(result.err.find("127.0.0.1:" + port) != std::string::npos);
    CHECK(result.err.find("in use") != std::string::npos);
    CHECK(result.out.find("listening") == std::string::npos);
  }
  ::close(holder);
}

TEST_CASE("echo, echo_epoll, load: --help exits 0, a bad flag exits 2 with the usage") {
  for (const std::string& path : {echo_path(), epoll_path(), load_path()}) {
    const Result help = tool_runner::run(path, {"--help"});
    INFO(path);
    CHECK(help.exit_code == 0);
    CHECK(help.out.find("usage:") != std::string::npos);
    const Result bad = tool_runner::run(path, {"--no-such-flag"});
    CHECK(bad.exit_code == 2);
    CHECK(bad.err.find("unknown option --no-such-flag") != std::string::npos);
    CHECK(bad.err.find("usage:") != std::string::npos);
  }
  const Result both = tool_runner::run(echo_path(), {"--bundle", "--incremental"});
  CHECK(both.exit_code == 2);
  CHECK(both.err.find("choose one") != std::string::npos);
  const Result no_port = tool_runner::run(load_path(), {"--count", "1"});
  CHECK(no_port.exit_code == 2);
  CHECK(no_port.err.find("--port is required") != std::string::npos);
  const Result both_bounds = tool_runner::run(load_path(), {"--port", "1", "--count", "1", "--duration", "1"});
  CHECK(both_bounds.exit_code == 2);
}

// ---- tools/load ---------------------------------------------------------------------

void check_load(const std::string& path) {
  Server server;
  start(server, path);
  const std::string port = std::to_string(server.port());
  const Result json = tool_runner::run(
      load_path(), {"--port", port, "--connections", "4", "--size", "3000", "--depth", "3", "--count", "200", "--json"});
  INFO("load stdout: " << json.out << " stderr: " << json.err);
  CHECK(json.exit_code == 0);
  CHECK(json.out.front() == '{');
  CHECK(json_number(json.out, "requests") == 800);
  CHECK(json_number(json.out, "bytes") == 800 * 3000);
  CHECK(json_number(json.out, "errors") == 0);
  CHECK(json_number(json.out, "mismatches") == 0);
  CHECK(json_number(json.out, "requests_per_second") > 0);
  const double p50 = json_number(json.out, "p50"), p99 = json_number(json.out, "p99"),
               p999 = json_number(json.out, "p999");
  CHECK(p50 > 0);
  CHECK(p50 <= p99);
  CHECK(p99 <= p999);
  const Result text = tool_runner::run(load_path(), {"--port", port, "--connections", "2", "--size", "100", "--duration", "1"});
  INFO("load stdout: " << text.out << " stderr: " << text.err);
  CHECK(text.exit_code == 0);
  CHECK(text.out.find("mismatches 0, errors 0") != std::string::npos);
  CHECK(text.out.find("latency p50") != std::string::npos);
  std::map<std::string, long long> totals = stop(server);
  CHECK(totals["connections"] == 6);
  CHECK(totals["bytes_in"] == totals["bytes_out"]);
}

TEST_CASE("load against echo: counts, JSON, zero errors") { check_load(echo_path()); }
TEST_CASE("load against echo_epoll: counts, JSON, zero errors") { check_load(epoll_path()); }

// SIGINT/SIGTERM during a run (sent by coreutils timeout, whose
// --preserve-status passes on load's own exit status): the sending stops,
// the totals are printed with the signal, exit 0 when nothing was wrong.
void check_load_stopped(const std::string& path, const char* sig, bool json) {
  Server server;
  start(server, path);
  std::vector<std::string> args = {"--preserve-status", "-s", sig, "1.5", load_path(), "--port",
                                   std::to_string(server.port()), "--connections", "4", "--size", "2000",
                                   "--depth", "4", "--duration", "60"};
  if (json) args.push_back("--json");
  const double began = now_seconds();
  const Result result = tool_runner::run("/usr/bin/timeout", args, "", 30);
  const double took = now_seconds() - began;
  INFO("load stdout: " << result.out << " stderr: " << result.err);
  REQUIRE(result.exited);
  CHECK(result.exit_code == 0);
  CHECK(took < 10);
  CHECK(result.err.empty());
  const std::string name = std::string("SIG") + sig;
  if (json) {
    CHECK(result.out.find("\"stopped\": \"" + name + "\"") != std::string::npos);
    CHECK(json_number(result.out, "requests") > 0);
    CHECK(json_number(result.out, "mismatches") == 0);
    CHECK(json_number(result.out, "errors") == 0);
    CHECK(json_number(result.out, "abandoned") == 0);  // a live echo server answers within the 2 s
  } else {
    CHECK(result.out.find("mismatches 0, errors 0") != std::string::npos);
    CHECK(result.out.find("stopped by " + name + ": 0 messages in flight abandoned") != std::string::npos);
  }
  std::map<std::string, long long> totals = stop(server);
  CHECK(totals["connections"] == 4);
  CHECK(totals["bytes_in"] == totals["bytes_out"]);
}

TEST_CASE("load: SIGINT stops the sending, what is in flight comes back, totals in JSON, exit 0") {
  check_load_stopped(epoll_path(), "INT", true);
}
TEST_CASE("load: SIGTERM stops it too, totals as text, exit 0") { check_load_stopped(echo_path(), "TERM", false); }

TEST_CASE("load: stopped while the server never answers, it waits at most 2 s more and counts the abandoned") {
  // A listener nobody accepts from: the connections complete in its backlog
  // and the messages sit there unanswered.
  const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  REQUIRE(::listen(listener, 8) == 0);
  socklen_t length = sizeof address;
  REQUIRE(::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length) == 0);
  const double began = now_seconds();
  const Result result = tool_runner::run(
      "/usr/bin/timeout", {"--preserve-status", "-s", "INT", "1", load_path(), "--port",
                           std::to_string(ntohs(address.sin_port)), "--connections", "2", "--size", "100",
                           "--depth", "3", "--count", "10", "--json"},
      "", 30);
  const double took = now_seconds() - began;
  ::close(listener);
  INFO("load stdout: " << result.out << " stderr: " << result.err);
  REQUIRE(result.exited);
  CHECK(result.exit_code == 0);
  CHECK(took >= 2.5);  // the signal at 1 s, then the 2 s wait
  CHECK(took < 6);
  CHECK(json_number(result.out, "requests") == 0);
  CHECK(json_number(result.out, "abandoned") == 6);
  CHECK(result.out.find("\"stopped\": \"SIGINT\"") != std::string::npos);
}

TEST_CASE("load: a server that corrupts one byte is a mismatch, exit 1; no server is exit 1") {
  // An echo server in a thread that flips byte 1000 of its stream.
  const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  REQUIRE(::listen(listener, 4) == 0);
  socklen_t length = sizeof address;
  ::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length);
  const int port = ntohs(address.sin_port);
  std::thread bad([listener] {
    pollfd p{listener, POLLIN, 0};
    if (::poll(&p, 1, 20000) != 1) return;
    const int fd = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) return;
    timeval limit{20, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
    std::uint64_t offset = 0;
    char chunk[4096];
    for (ssize_t got; (got = ::recv(fd, chunk, sizeof chunk, 0)) > 0;) {
      if (offset <= 1000 && 1000 < offset + static_cast<std::uint64_t>(got)) chunk[1000 - offset] ^= 0x01;
      offset += static_cast<std::uint64_t>(got);
      if (::send(fd, chunk, static_cast<std::size_t>(got), MSG_NOSIGNAL) != got) break;
    }
    ::close(fd);
  });
  const Result result = tool_runner::run(
      load_path(), {"--port", std::to_string(port), "--connections", "1", "--size", "300", "--count", "10", "--json"});
  bad.join();
  ::close(listener);
  INFO("stdout: " << result.out << " stderr: " << result.err);
  CHECK(result.exit_code == 1);
  CHECK(result.err.find("mismatch in message 3 at byte 100") != std::string::npos);  // 3 * 300 + 100 = 1000
  CHECK(json_number(result.out, "mismatches") == 1);
  CHECK(json_number(result.out, "errors") == 1);

  // Nothing listens on that port any more.
  const Result refused = tool_runner::run(load_path(), {"--port", std::to_string(port), "--count", "1"});
  INFO("stderr: " << refused.err);
  CHECK(refused.exit_code == 1);
  CHECK(refused.err.find("cannot connect to 127.0.0.1:" + std::to_string(port)) != std::string::npos);
}
