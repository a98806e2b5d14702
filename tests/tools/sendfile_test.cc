// tools/sendfile, end to end: the binary serves files of 0 B, 64 KiB and
// 50 MiB+3 byte-identical to plain-socket clients (several at once, small
// pipes), logs a client that closes early and goes on serving, stops cleanly
// on SIGTERM/SIGINT (even with a client that does not read) with its totals,
// and fails at startup with the messages and exit codes of every tool.
// Every wait is bounded.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/test_support.h"
#include "tests/tools/tool_runner.h"

namespace {

using tool_runner::Result;
using tool_runner::Server;

std::string tool() { return tool_runner::tool_path("tools/sendfile/sendfile"); }

std::string random_text(std::size_t size, std::uint64_t seed) {
  std::mt19937_64 generator(seed);
  std::string text(size, '\0');
  for (std::size_t i = 0; i < size; i += 8) {
    const std::uint64_t word = generator();
    std::memcpy(text.data() + i, &word, std::min<std::size_t>(8, size - i));
  }
  return text;
}

std::string write_file(const uring::testing::TempDir& dir, const std::string& name, const std::string& bytes) {
  const std::string path = dir.path() + "/" + name;
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  REQUIRE(fd >= 0);
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    REQUIRE(n > 0);
    done += static_cast<std::size_t>(n);
  }
  ::close(fd);
  return path;
}

// Connects and reads until the server closes (at most `limit` bytes, then
// closes itself). `ok` is false if a wait of 20 s saw nothing or the
// connection failed.
struct Fetch {
  std::string data;
  bool ok = false;
};
Fetch fetch(int port, std::size_t limit = SIZE_MAX) {
  Fetch result;
  const int fd = tool_runner::connect_loopback(port);
  if (fd < 0) return result;
  char chunk[1 << 16];
  for (;;) {
    pollfd ready{fd, POLLIN, 0};
    if (::poll(&ready, 1, 20000) != 1) break;
    const std::size_t want = std::min<std::size_t>(sizeof chunk, limit - result.data.size());
    const ssize_t n = ::read(fd, chunk, want);
    if (n == 0) {
      result.ok = true;  // the server closed: the whole file
      break;
    }
    if (n < 0) break;
    result.data.append(chunk, static_cast<std::size_t>(n));
    if (result.data.size() >= limit) {
      result.ok = true;
      break;
    }
  }
  ::close(fd);  // with unread data (a limit): a reset for the server
  return result;
}

// "totals: a=1 b=2" -> {a: 1, b: 2}.
std::map<std::string, long long> totals(const std::string& out) {
  std::map<std::string, long long> values;
  const std::size_t at = out.rfind("totals:");
  if (at == std::string::npos) return values;
  std::string line = out.substr(at + 7, out.find('\n', at) - at - 7);
  std::size_t pos = 0;
  while (pos < line.size()) {
    const std::size_t eq = line.find('=', pos);
    if (eq == std::string::npos) break;
    std::size_t name_start = line.rfind(' ', eq);
    name_start = name_start == std::string::npos ? 0 : name_start + 1;
    std::size_t end = line.find(' ', eq);
    if (end == std::string::npos) end = line.size();
    values[line.substr(name_start, eq - name_start)] = std::stoll(line.substr(eq + 1, end - eq - 1));
    pos = end;
  }
  return values;
}

void start(Server& server, const std::vector<std::string>& args) {
  std::string error;
  REQUIRE_MESSAGE(server.start(tool(), args, &error), error);
  REQUIRE(server.port() > 0);
}

}  // namespace

TEST_CASE("sendfile: 0 B, 64 KiB and 50 MiB+3 arrive byte-identical; SIGTERM ends it with exit 0 and totals") {
  uring::testing::TempDir dir;
  for (const std::size_t size : {std::size_t{0}, std::size_t{64} << 10, (std::size_t{50} << 20) + 3}) {
    CAPTURE(size);
    const std::string bytes = random_text(size, size + 3);
    const std::string path = write_file(dir, "file" + std::to_string(size), bytes);
    Server server;
    start(server, {"--port", "0", path});
    const int fds_idle = tool_runner::count_fds(server.pid());
    for (int client = 0; client < 2; ++client) {
      const Fetch got = fetch(server.port());
      REQUIRE(got.ok);
      REQUIRE(got.data.size() == size);
      CHECK(got.data == bytes);
    }
    // Every connection and pipe closed again (no zombie connections).
    CHECK(uring::testing::eventually([&] { return tool_runner::count_fds(server.pid()) == fds_idle; },
                                     std::chrono::milliseconds(5000)));
    const Result stopped = server.stop(SIGTERM);
    CHECK_FALSE(stopped.timed_out);
    REQUIRE(stopped.exited);
    CHECK(stopped.exit_code == 0);
    CHECK(stopped.err.empty());
    const auto values = totals(stopped.out);
    CHECK(values.at("clients") == 2);
    CHECK(values.at("complete") == 2);
    CHECK(values.at("failed") == 0);
    CHECK(values.at("bytes") == static_cast<long long>(2 * size));
    CHECK(stopped.out.find("client 127.0.0.1:") != std::string::npos);
  }
}

TEST_CASE("sendfile: several clients at once through 4 KiB pipes each get the whole file") {
  uring::testing::TempDir dir;
  const std::size_t size = (std::size_t{4} << 20) + 1;
  const std::string bytes = random_text(size, 5);
  const std::string path = write_file(dir, "file", bytes);
  Server server;
  start(server, {"--pipe-size", "4K", "--max-clients", "4", path});
  constexpr int kClients = 8;  // twice --max-clients: the rest wait in the backlog
  std::vector<Fetch> results(kClients);
  std::vector<std::thread> threads;
  for (int i = 0; i < kClients; ++i) threads.emplace_back([&, i] { results[i] = fetch(server.port()); });
  for (std::thread& thread : threads) thread.join();
  for (int i = 0; i < kClients; ++i) {
    CAPTURE(i);
    REQUIRE(results[i].ok);
    REQUIRE(results[i].data.size() == size);
    CHECK(results[i].data == bytes);
  }
  const Result stopped = server.stop(SIGINT);
  REQUIRE(stopped.exited);
  CHECK(stopped.exit_code == 0);
  CHECK(totals(stopped.out).at("complete") == kClients);
}

TEST_CASE("sendfile: a client closing early is logged with its error, and the next client is served") {
  uring::testing::TempDir dir;
  const std::size_t size = std::size_t{50} << 20;
  const std::string bytes = random_text(size, 7);
  const std::string path = write_file(dir, "file", bytes);
  Server server;
  start(server, {path});
  const Fetch early = fetch(server.port(), 64 << 10);  // then closes with data unread
  REQUIRE(early.ok);
  CHECK(early.data == bytes.substr(0, 64 << 10));
  const Fetch next = fetch(server.port());
  REQUIRE(next.ok);
  REQUIRE(next.data.size() == size);
  CHECK(next.data == bytes);
  const Result stopped = server.stop(SIGTERM);
  REQUIRE(stopped.exited);
  CHECK(stopped.exit_code == 0);
  // "sendfile: client 127.0.0.1:P: Connection reset by peer after N of M bytes"
  // (or "Broken pipe", depending on where the reset finds the splice).
  CHECK(stopped.err.find("sendfile: client 127.0.0.1:") != std::string::npos);
  const bool clean = stopped.err.find("Connection reset by peer after ") != std::string::npos ||
                     stopped.err.find("Broken pipe after ") != std::string::npos;
  CHECK_MESSAGE(clean, stopped.err);
  CHECK(stopped.err.find(" of " + std::to_string(size) + " bytes") != std::string::npos);
  const auto values = totals(stopped.out);
  CHECK(values.at("clients") == 2);
  CHECK(values.at("complete") == 1);
  CHECK(values.at("failed") == 1);
}

TEST_CASE("sendfile: SIGTERM with a client that reads nothing still ends at once, exit 0") {
  uring::testing::TempDir dir;
  const std::string path = write_file(dir, "file", random_text(std::size_t{50} << 20, 9));
  Server server;
  start(server, {path});
  const int stalled = tool_runner::connect_loopback(server.port());
  REQUIRE(stalled >= 0);
  // Wait until the server's splice fills the socket buffers (bytes readable here).
  CHECK(uring::testing::eventually(
      [&] {
        int queued = 0;
        pollfd ready{stalled, POLLIN, 0};
        return ::poll(&ready, 1, 0) == 1 && ::recv(stalled, &queued, 1, MSG_PEEK | MSG_DONTWAIT) == 1;
      },
      std::chrono::milliseconds(5000)));
  const Result stopped = server.stop(SIGTERM, 10);
  CHECK_FALSE(stopped.timed_out);
  REQUIRE(stopped.exited);
  CHECK(stopped.exit_code == 0);
  const auto values = totals(stopped.out);
  CHECK(values.at("clients") == 1);
  CHECK(values.at("failed") == 1);  // cut short by the stop
  // The server ended that transfer itself: "stopped", not the EPIPE it caused.
  CHECK(stopped.err.find("sendfile: client 127.0.0.1:") == 0);
  CHECK(stopped.err.find(": stopped after ") != std::string::npos);
  CHECK(stopped.err.find("Broken pipe") == std::string::npos);
  // The connection was closed by the server: reading ends (EOF or reset), no hang.
  char sink[1 << 16];
  bool ended = false;
  for (int i = 0; i < 100000 && !ended; ++i) {
    pollfd ready{stalled, POLLIN, 0};
    if (::poll(&ready, 1, 5000) != 1) break;
    ended = ::read(stalled, sink, sizeof sink) <= 0;
  }
  CHECK(ended);
  ::close(stalled);
}

TEST_CASE("sendfile --once: exits after the first client, 0 when it got the whole file") {
  uring::testing::TempDir dir;
  const std::string bytes = random_text(100000, 11);
  const std::string path = write_file(dir, "file", bytes);
  Server server;
  start(server, {"--once", path});
  const Fetch got = fetch(server.port());
  REQUIRE(got.ok);
  CHECK(got.data == bytes);
  CHECK(uring::testing::eventually([&] { return !server.running(); }, std::chrono::milliseconds(10000)));
  const Result stopped = server.stop(SIGKILL);  // already gone: nothing is sent
  REQUIRE(stopped.exited);
  CHECK(stopped.exit_code == 0);
  CHECK(totals(stopped.out).at("complete") == 1);
}

TEST_CASE("sendfile: startup errors name what is wrong: missing file, directory, port in use, usage") {
  uring::testing::TempDir dir;
  const std::string missing = dir.path() + "/no-such-file";
  Result r = tool_runner::run(tool(), {missing});
  REQUIRE(r.exited);
  CHECK(r.exit_code == 1);
  CHECK(r.err == "sendfile: " + missing + ": No such file or directory\n");
  CHECK(r.out.empty());  // not listening

  r = tool_runner::run(tool(), {dir.path()});
  REQUIRE(r.exited);
  CHECK(r.exit_code == 1);
  CHECK(r.err == "sendfile: " + dir.path() + ": not a regular file\n");

  // A FIFO: refused at once (opening one for reading waits for a writer).
  const std::string fifo = dir.path() + "/fifo";
  REQUIRE(::mkfifo(fifo.c_str(), 0644) == 0);
  r = tool_runner::run(tool(), {fifo}, "", 5);
  CHECK_FALSE(r.timed_out);
  REQUIRE(r.exited);
  CHECK(r.exit_code == 1);
  CHECK(r.err == "sendfile: " + fifo + ": not a regular file\n");

  // A port someone listens on already.
  const int taken = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(taken >= 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(taken, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  REQUIRE(::listen(taken, 1) == 0);
  socklen_t length = sizeof address;
  REQUIRE(::getsockname(taken, reinterpret_cast<sockaddr*>(&address), &length) == 0);
  const std::string port = std::to_string(ntohs(address.sin_port));
  const std::string file = write_file(dir, "file", "hello");
  r = tool_runner::run(tool(), {"--port", port, file});
  ::close(taken);
  REQUIRE(r.exited);
  CHECK(r.exit_code == 1);
  CHECK(r.err == "sendfile: 127.0.0.1:" + port + ": Address already in use\n");

  r = tool_runner::run(tool(), {"--help"});
  REQUIRE(r.exited);
  CHECK(r.exit_code == 0);
  CHECK(r.out.rfind("usage: sendfile [--port N] [--pipe-size N]", 0) == 0);
  CHECK(r.err.empty());

  r = tool_runner::run(tool(), {"--bogus", file});
  REQUIRE(r.exited);
  CHECK(r.exit_code == 2);
  CHECK(r.err.rfind("sendfile: unknown option --bogus\nusage: sendfile", 0) == 0);

  r = tool_runner::run(tool(), {});
  REQUIRE(r.exited);
  CHECK(r.exit_code == 2);
  CHECK(r.err.rfind("sendfile: missing argument\n", 0) == 0);

  r = tool_runner::run(tool(), {"--port", "65536", file});
  REQUIRE(r.exited);
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("--port takes a whole number from 0 to 65535") != std::string::npos);

  r = tool_runner::run(tool(), {"--pipe-size", "2G", file});
  REQUIRE(r.exited);
  CHECK(r.exit_code == 2);
}

TEST_CASE("sendfile: out of fds (EMFILE on ACCEPT) it waits for a client to end, then serves the next") {
  // Run under prlimit with room for exactly one client (its socket and its
  // pipe's two ends). An ACCEPT then fails with EMFILE: one line, and no
  // ACCEPT again until the client's fds are closed.
  if (::access("/usr/bin/prlimit", X_OK) != 0) URING_SKIP("needs /usr/bin/prlimit (util-linux)");
  uring::testing::TempDir dir;
  const std::string bytes = random_text(std::size_t{4} << 20, 13);
  const std::string path = write_file(dir, "file", bytes);
  int idle = 0;
  {
    Server measure;
    start(measure, {path});
    idle = tool_runner::count_fds(measure.pid());
    REQUIRE(measure.stop(SIGTERM).exit_code == 0);
  }
  REQUIRE(idle > 0);
  const std::string limit = std::to_string(idle + 3);
  Server server;
  std::string error;
  REQUIRE_MESSAGE(server.start("/usr/bin/prlimit", {"--nofile=" + limit + ":" + limit, tool(), path}, &error),
                  error);
  const int first = tool_runner::connect_loopback(server.port());
  REQUIRE(first >= 0);
  REQUIRE(uring::testing::eventually([&] { return tool_runner::count_fds(server.pid()) == idle + 3; },
                                     std::chrono::milliseconds(5000)));
  const int second = tool_runner::connect_loopback(server.port());  // in the backlog; its ACCEPT fails
  REQUIRE(second >= 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // time for a busy loop to show
  // The first client now reads its file; then the second is accepted and served.
  auto drain = [](int fd) {
    std::string data;
    char chunk[1 << 16];
    for (;;) {
      pollfd ready{fd, POLLIN, 0};
      if (::poll(&ready, 1, 20000) != 1) break;
      const ssize_t n = ::read(fd, chunk, sizeof chunk);
      if (n <= 0) break;
      data.append(chunk, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return data;
  };
  CHECK(drain(first) == bytes);
  CHECK(drain(second) == bytes);
  const Result stopped = server.stop(SIGTERM);
  REQUIRE(stopped.exited);
  CHECK(stopped.exit_code == 0);
  std::size_t lines = 0;
  for (std::size_t at = stopped.err.find("sendfile: accept: Too many open files\n"); at != std::string::npos;
       at = stopped.err.find("sendfile: accept: Too many open files\n", at + 1)) {
    ++lines;
  }
  // The kernel takes the new fd before it looks for a connection, so the
  // ACCEPT armed right after each client got its pipe fails at once: one
  // line per client served while full (two), not one per spin of a loop.
  CHECK_MESSAGE(lines == 2, stopped.err);
  const auto values = totals(stopped.out);
  CHECK(values.at("complete") == 2);
  CHECK(values.at("failed") == 0);
}

TEST_CASE("sendfile --idle-timeout-ms: clients that hold every slot and never read are cut off, the next is served") {
  uring::testing::TempDir dir;
  const std::string bytes = random_text(std::size_t{20} << 20, 13);
  const std::string path = write_file(dir, "file", bytes);
  Server server;
  start(server, {"--max-clients", "2", "--idle-timeout-ms", "500", path});
  const int stalled1 = tool_runner::connect_loopback(server.port());
  const int stalled2 = tool_runner::connect_loopback(server.port());
  REQUIRE(stalled1 >= 0);
  REQUIRE(stalled2 >= 0);
  // Both slots are taken once their sockets hold bytes.
  for (int fd : {stalled1, stalled2}) {
    CHECK(uring::testing::eventually(
        [&] {
          char byte;
          return ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT) == 1;
        },
        std::chrono::milliseconds(5000)));
  }
  const auto began = std::chrono::steady_clock::now();
  const Fetch got = fetch(server.port());  // waits in the backlog until a slot is freed
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
  CHECK(got.ok);
  CHECK(got.data == bytes);
  CHECK(seconds < 10);
  const Result stopped = server.stop(SIGTERM, 10);
  REQUIRE(stopped.exited);
  CHECK(stopped.exit_code == 0);
  const auto values = totals(stopped.out);
  CHECK(values.at("clients") == 3);
  CHECK(values.at("complete") == 1);
  CHECK(values.at("failed") == 2);
  INFO("stderr: " << stopped.err);
  std::size_t cut = 0;
  for (std::size_t at = 0; (at = stopped.err.find("no progress for 500 ms (--idle-timeout-ms), cut off after ", at)) !=
                           std::string::npos;
       ++at) {
    ++cut;
  }
  CHECK(cut == 2);
  ::close(stalled1);
  ::close(stalled2);
}
