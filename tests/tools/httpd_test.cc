// tools/httpd end to end: the built server on a temporary root, fetched by
// real clients (curl, Python's http.client, wrk when installed) and by raw
// sockets that send exactly the bytes a case needs (traversal attempts,
// malformed heads, pipelining, a client that stalls half-way).
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/test_support.h"
#include "tests/tools/tool_runner.h"

namespace {

using uring::testing::TempDir;

std::string httpd_path() { return tool_runner::tool_path("tools/httpd/httpd"); }

double now_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(out.good());
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream all;
  all << in.rdbuf();
  return all.str();
}

std::string random_bytes(std::size_t n, unsigned seed) {
  std::mt19937 gen(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(gen());
  return s;
}

// A program on PATH, decided before the case runs it: its full path, or "".
std::string find_program(const std::string& name) {
  const tool_runner::Result r = tool_runner::run("/bin/sh", {"-c", "command -v " + name}, "", 10);
  if (!r.exited || r.exit_code != 0) return "";
  std::string path = r.out;
  while (!path.empty() && (path.back() == '\n' || path.back() == '\r')) path.pop_back();
  return path;
}

// The root every case serves, with a directory outside it that holds the
// secret the traversal attempts must never see.
struct Site {
  TempDir dir;
  std::string root = dir.path() + "/root";
  std::string secret_path = dir.path() + "/outside/secret.txt";
  std::string secret = "SECRET-OUTSIDE-THE-ROOT\n";
  std::map<std::string, std::string> files;  // name under the root -> contents

  Site() {
    REQUIRE(::mkdir(root.c_str(), 0755) == 0);
    REQUIRE(::mkdir((dir.path() + "/outside").c_str(), 0755) == 0);
    write_file(secret_path, secret);
    add("empty.bin", "");
    add("k1.bin", random_bytes(1024, 1));
    add("m1.bin", random_bytes((1 << 20) + 3, 2));
    add("small_max.bin", random_bytes(64 * 1024, 3));     // the largest file of the registered-buffer path
    add("large_min.bin", random_bytes(64 * 1024 + 1, 4));  // the smallest of the splice path
    add("big.bin", random_bytes(3 * (1 << 20) + 5, 5));
    add("index.html", "<h1>root index</h1>\n");
    add("page.html", "<p>page</p>\n");
    add("notes.txt", "plain text\n");
    add("style.css", "p{}\n");
    add("app.js", "let x = 1;\n");
    add("data.json", "{}\n");
    add("image.png", "\x89PNG....");
    add("photo.jpg", "\xff\xd8\xff....");
    add("photo.JPEG", "\xff\xd8\xff....");
    add("noext", "no extension\n");
    add("archive.weird", "unknown\n");
    add("with space.txt", "spaced\n");
    REQUIRE(::mkdir((root + "/sub").c_str(), 0755) == 0);
    add("sub/index.html", "<h1>sub index</h1>\n");
    add("sub/inner.txt", "inner\n");
    REQUIRE(::mkdir((root + "/noindex").c_str(), 0755) == 0);
    add("noindex/file.txt", "in a directory without index.html\n");
    REQUIRE(::mkfifo((root + "/fifo").c_str(), 0644) == 0);
    // Symlinks: inside to inside (served), inside to outside (refused).
    REQUIRE(::symlink("notes.txt", (root + "/inner_link.txt").c_str()) == 0);
    REQUIRE(::symlink("../outside/secret.txt", (root + "/out_rel").c_str()) == 0);
    REQUIRE(::symlink(secret_path.c_str(), (root + "/out_abs").c_str()) == 0);
    REQUIRE(::symlink("/etc", (root + "/etc_dir").c_str()) == 0);
    REQUIRE(::symlink("..", (root + "/up").c_str()) == 0);
  }
  void add(const std::string& name, const std::string& bytes) {
    write_file(root + "/" + name, bytes);
    files[name] = bytes;
  }
};

// A running httpd on a Site.
struct Running {
  tool_runner::Server server;
  explicit Running(const Site& site, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"--root", site.root, "--port", "0"};
    args.insert(args.end(), extra.begin(), extra.end());
    std::string error;
    REQUIRE_MESSAGE(server.start(httpd_path(), args, &error), error);
  }
  int port() const { return server.port(); }
  std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port()) + path; }
};

// ---- a raw client -------------------------------------------------------------

bool send_all(int fd, const std::string& bytes) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::send(fd, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

// Reads more bytes into *buf, waiting at most until `deadline`. 0 at end of
// stream, -1 on timeout or error, else the bytes read.
ssize_t read_some(int fd, std::string* buf, double deadline) {
  for (;;) {
    const double left = deadline - now_seconds();
    if (left <= 0) return -1;
    pollfd p{fd, POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(left * 1000) + 1);
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) continue;
    char chunk[65536];
    const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno == ECONNRESET ? 0 : -1;
    buf->append(chunk, static_cast<std::size_t>(n));
    return n;
  }
}

struct Response {
  int status = 0;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
  std::string header(const std::string& name) const {
    const auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
};

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// One response off the connection (`pending` keeps what was read past it).
// False on timeout or a connection that ended first.
bool read_response(int fd, std::string* pending, Response* out, bool head_request = false,
                   double timeout = 10) {
  const double deadline = now_seconds() + timeout;
  std::size_t end;
  while ((end = pending->find("\r\n\r\n")) == std::string::npos) {
    if (read_some(fd, pending, deadline) <= 0) return false;
  }
  *out = Response{};
  std::istringstream head(pending->substr(0, end + 2));
  std::string line;
  std::getline(head, line);
  if (line.rfind("HTTP/1.1 ", 0) != 0) return false;
  out->status = std::atoi(line.c_str() + 9);
  while (std::getline(head, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const std::size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.erase(0, 1);
    out->headers[lower(line.substr(0, colon))] = value;
  }
  pending->erase(0, end + 4);
  std::size_t length = 0;
  if (!head_request && out->headers.count("content-length")) {
    length = static_cast<std::size_t>(std::stoull(out->headers.at("content-length")));
  }
  while (pending->size() < length) {
    if (read_some(fd, pending, deadline) <= 0) return false;
  }
  out->body = pending->substr(0, length);
  pending->erase(0, length);
  return true;
}

// True when the server ends the connection (EOF or reset) within `timeout`
// without sending anything more.
bool ends_without_more(int fd, std::string* pending, double timeout = 5) {
  const double deadline = now_seconds() + timeout;
  for (;;) {
    const std::size_t before = pending->size();
    const ssize_t n = read_some(fd, pending, deadline);
    if (n == 0) return pending->size() == before;
    if (n < 0) return false;
  }
}

std::string get(const std::string& path, const std::string& extra = "") {
  return "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + extra + "\r\n";
}

// One request on a new connection; the response, and whether the server
// then closed the connection.
struct Exchange {
  bool answered = false;
  Response response;
  bool closed_after = false;
};

Exchange exchange(int port, const std::string& request, bool head_request = false, bool check_close = true) {
  Exchange ex;
  const int fd = tool_runner::connect_loopback(port);
  REQUIRE(fd >= 0);
  REQUIRE(send_all(fd, request));
  std::string pending;
  ex.answered = read_response(fd, &pending, &ex.response, head_request);
  if (ex.answered && check_close) ex.closed_after = ends_without_more(fd, &pending, 2);
  ::close(fd);
  return ex;
}

}  // namespace

TEST_CASE("httpd: --help, an unknown flag, a missing root, a port in use") {
  const tool_runner::Result help = tool_runner::run(httpd_path(), {"--help"});
  CHECK(help.exited);
  CHECK(help.exit_code == 0);
  CHECK(help.out.find("usage: httpd") != std::string::npos);

  const tool_runner::Result unknown = tool_runner::run(httpd_path(), {"--bogus"});
  CHECK(unknown.exit_code == 2);
  CHECK(unknown.err.find("unknown option --bogus") != std::string::npos);
  CHECK(unknown.err.find("usage: httpd") != std::string::npos);

  TempDir dir;
  const std::string missing = dir.path() + "/no-such-dir";
  const tool_runner::Result no_root = tool_runner::run(httpd_path(), {"--root", missing, "--port", "0"});
  CHECK(no_root.exit_code == 1);
  CHECK(no_root.err == "httpd: " + missing + ": No such file or directory\n");

  Site site;
  Running first(site);
  const std::string port = std::to_string(first.port());
  const tool_runner::Result in_use = tool_runner::run(httpd_path(), {"--root", site.root, "--port", port});
  CHECK(in_use.exit_code == 1);
  CHECK(in_use.err.find("port " + port) != std::string::npos);
  CHECK(in_use.err.find("Address already in use") != std::string::npos);
}

TEST_CASE("httpd: curl fetches every file byte-identically") {
  const std::string curl = find_program("curl");
  if (curl.empty()) URING_SKIP("curl is not installed (tools/bazelw installs it)");
  Site site;
  Running httpd(site);
  TempDir out;
  std::vector<std::string> args = {"-s", "-S", "--max-time", "30", "-w", "%{http_code} %{size_download}\\n"};
  const std::vector<std::string> names = {"empty.bin", "k1.bin", "m1.bin", "small_max.bin", "large_min.bin", "big.bin"};
  for (std::size_t i = 0; i < names.size(); ++i) {
    args.push_back("-o");
    args.push_back(out.path() + "/" + std::to_string(i));
    args.push_back(httpd.url("/" + names[i]));
  }
  const tool_runner::Result r = tool_runner::run(curl, args, "", 60);
  REQUIRE(r.exited);
  CHECK_MESSAGE(r.exit_code == 0, r.err);
  std::istringstream codes(r.out);
  for (std::size_t i = 0; i < names.size(); ++i) {
    CAPTURE(names[i]);
    int code = 0;
    std::size_t size = 0;
    codes >> code >> size;
    CHECK(code == 200);
    CHECK(size == site.files[names[i]].size());
    CHECK(read_file(out.path() + "/" + std::to_string(i)) == site.files[names[i]]);
  }
  // HEAD through curl: the header says the size, no body comes.
  const tool_runner::Result head = tool_runner::run(curl, {"-s", "-S", "-I", httpd.url("/m1.bin")}, "", 30);
  CHECK(head.exit_code == 0);
  CHECK(head.out.find("Content-Length: 1048579\r\n") != std::string::npos);
}

TEST_CASE("httpd: Python's http.client fetches every file byte-identically on one connection") {
  const std::string python = find_program("python3");
  if (python.empty()) URING_SKIP("python3 is not installed");
  Site site;
  Running httpd(site);
  TempDir out;
  const char* script =
      "import http.client, sys\n"
      "port, out = int(sys.argv[1]), sys.argv[2]\n"
      "c = http.client.HTTPConnection('127.0.0.1', port, timeout=20)\n"
      "for i, name in enumerate(sys.argv[3:]):\n"
      "    c.request('GET', '/' + name)\n"
      "    r = c.getresponse()\n"
      "    body = r.read()\n"
      "    open('%s/%d' % (out, i), 'wb').write(body)\n"
      "    print(r.status, r.getheader('Content-Type'), r.getheader('Content-Length'), r.will_close)\n"
      "print('sock', c.sock is not None)\n";
  const std::vector<std::string> names = {"empty.bin", "k1.bin", "m1.bin", "big.bin", "small_max.bin",
                                          "large_min.bin", "index.html"};
  std::vector<std::string> args = {"-c", script, std::to_string(httpd.port()), out.path()};
  args.insert(args.end(), names.begin(), names.end());
  const tool_runner::Result r = tool_runner::run(python, args, "", 60);
  REQUIRE(r.exited);
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  std::istringstream lines(r.out);
  for (std::size_t i = 0; i < names.size(); ++i) {
    CAPTURE(names[i]);
    std::string line;
    std::getline(lines, line);
    const std::string type = names[i] == "index.html" ? "text/html;" : "application/octet-stream";
    CHECK(line.rfind("200 " + type, 0) == 0);
    CHECK(line.find(" " + std::to_string(site.files[names[i]].size()) + " False") != std::string::npos);
    CHECK(read_file(out.path() + "/" + std::to_string(i)) == site.files[names[i]]);
  }
  std::string last;
  std::getline(lines, last);
  CHECK(last == "sock True");  // the one connection stayed open throughout
}

TEST_CASE("httpd: every traversal attempt gets 403 or 404, never the outside file") {
  Site site;
  Running httpd(site);
  const std::vector<std::string> attempts = {
      "/../outside/secret.txt",
      "/../../../../etc/passwd",
      "/%2e%2e/outside/secret.txt",
      "/%2E%2E/%2e%2e/etc/passwd",
      "/.%2e/outside/secret.txt",
      "/a/../../outside/secret.txt",
      "/sub/../../outside/secret.txt",
      "/..%2foutside%2fsecret.txt",
      "/%2e%2e%2foutside%2fsecret.txt",
      "/sub%2f..%2f..%2foutside/secret.txt",
      "//etc/passwd",
      "/%2fetc/passwd",
      "/out_rel",           // a symlink in the root to ../outside/secret.txt
      "/out_abs",           // an absolute symlink to the secret
      "/etc_dir/passwd",    // a symlink to /etc
      "/up/outside/secret.txt",  // a symlink to ..
      "/inner_link.txt/../../outside/secret.txt",
  };
  for (const std::string& target : attempts) {
    CAPTURE(target);
    const Exchange ex = exchange(httpd.port(), get(target), false, false);
    REQUIRE(ex.answered);
    CHECK((ex.response.status == 403 || ex.response.status == 404));
    CHECK(ex.response.body.find("SECRET") == std::string::npos);
    CHECK(ex.response.body.find("root:") == std::string::npos);
  }
  // What stays inside is served: a symlink to a file in the root, dot segments that stay in.
  for (const char* target : {"/inner_link.txt", "/sub/../notes.txt", "/./notes.txt", "/%6eotes.txt"}) {
    CAPTURE(target);
    const Exchange ex = exchange(httpd.port(), get(target), false, false);
    REQUIRE(ex.answered);
    CHECK(ex.response.status == 200);
    CHECK(ex.response.body == "plain text\n");
  }
}

TEST_CASE("httpd: 500 keep-alive requests on 20 connections are all answered, in order") {
  Site site;
  Running httpd(site);
  const std::vector<std::string> names = {"k1.bin", "notes.txt", "empty.bin", "small_max.bin", "large_min.bin"};
  constexpr int kConnections = 20, kPerConnection = 25;
  std::vector<int> fds;
  std::vector<std::string> pending(kConnections);
  for (int i = 0; i < kConnections; ++i) {
    fds.push_back(tool_runner::connect_loopback(httpd.port()));
    REQUIRE(fds.back() >= 0);
  }
  int answered = 0;
  for (int round = 0; round < kPerConnection; ++round) {
    for (int i = 0; i < kConnections; ++i) {
      REQUIRE(send_all(fds[i], get("/" + names[(i + round) % names.size()])));
    }
    for (int i = 0; i < kConnections; ++i) {
      Response response;
      REQUIRE(read_response(fds[i], &pending[i], &response));
      const std::string& want = site.files[names[(i + round) % names.size()]];
      CHECK(response.status == 200);
      CHECK(response.body == want);
      answered += response.status == 200 && response.body == want;
    }
  }
  CHECK(answered == kConnections * kPerConnection);
  // Pipelined: 50 requests in one write, 50 responses in order.
  std::string batch;
  for (int k = 0; k < 50; ++k) batch += get("/" + names[k % names.size()]);
  REQUIRE(send_all(fds[0], batch));
  for (int k = 0; k < 50; ++k) {
    CAPTURE(k);
    Response response;
    REQUIRE(read_response(fds[0], &pending[0], &response));
    CHECK(response.status == 200);
    CHECK(response.body == site.files[names[k % names.size()]]);
  }
  for (int fd : fds) ::close(fd);
}

TEST_CASE("httpd: a client that sends half a request and stalls blocks nobody, and is closed when idle") {
  Site site;
  Running httpd(site, {"--idle-timeout-ms", "400"});
  const int slow = tool_runner::connect_loopback(httpd.port());
  REQUIRE(slow >= 0);
  REQUIRE(send_all(slow, "GET /k1.bin HTTP/1.1\r\nHo"));
  const double start = now_seconds();
  const Exchange other = exchange(httpd.port(), get("/notes.txt"), false, false);
  CHECK(other.answered);
  CHECK(other.response.body == "plain text\n");
  CHECK(now_seconds() - start < 2.0);
  // The stalled one: closed by the idle timeout, with nothing sent.
  std::string pending;
  CHECK(ends_without_more(slow, &pending, 5));
  CHECK(pending.empty());
  CHECK(now_seconds() - start >= 0.3);
  ::close(slow);
}

// Slowloris: a head that trickles in a byte at a time must still end within
// the idle timeout, counted from its first byte (each byte that arrives
// does not make the connection less idle).
TEST_CASE("httpd: 20 connections that send a byte every 200 ms are closed after the 1 s idle timeout; others are served") {
  Site site;
  Running httpd(site, {"--idle-timeout-ms", "1000"});
  struct Slow {
    int fd = -1;
    double closed_at = 0;  // seconds after the start; 0 while open
  };
  std::vector<Slow> slow(20);
  for (Slow& s : slow) {
    s.fd = tool_runner::connect_loopback(httpd.port());
    REQUIRE(s.fd >= 0);
  }
  const double start = now_seconds();
  for (Slow& s : slow) REQUIRE(send_all(s.fd, "G"));
  int open = static_cast<int>(slow.size()), served = 0;
  const std::string trickle = "ET /k1.bin HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + std::string(200, 'x');
  for (std::size_t round = 0; open > 0 && now_seconds() - start < 6; ++round) {
    ::usleep(200 * 1000);
    for (Slow& s : slow) {
      if (s.closed_at != 0) continue;
      char byte;
      const ssize_t got = ::recv(s.fd, &byte, 1, MSG_DONTWAIT);
      const bool ended = got == 0 || (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK) ||
                         ::send(s.fd, trickle.data() + round % trickle.size(), 1, MSG_NOSIGNAL) != 1;
      CHECK(got <= 0);  // nothing is ever answered
      if (ended) {
        s.closed_at = now_seconds() - start;
        --open;
      }
    }
    const Exchange other = exchange(httpd.port(), get("/notes.txt"), false, false);
    CHECK(other.answered);
    CHECK(other.response.body == "plain text\n");
    served += other.answered ? 1 : 0;
  }
  CHECK_MESSAGE(open == 0, open << " of 20 slow connections still open after 6 s");
  for (const Slow& s : slow) {
    if (s.closed_at == 0) continue;
    CHECK(s.closed_at >= 0.7);  // not before the timeout (less the clock's tick of 250 ms)
    CHECK(s.closed_at < 2.5);   // the timeout (1 s), a tick (250 ms), a round (200 ms) and slack
    ::close(s.fd);
  }
  for (const Slow& s : slow) {
    if (s.closed_at == 0) ::close(s.fd);
  }
  CHECK(served >= 4);
}

TEST_CASE("httpd: malformed requests get 400 (405 for a known method) and the connection closes") {
  Site site;
  Running httpd(site);
  struct Case {
    const char* what;
    std::string request;
    int status;
  };
  const std::vector<Case> cases = {
      {"oversized headers", "GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + std::string(9000, 'a') + "\r\n\r\n", 400},
      {"a head that never ends", std::string(9000, 'G'), 400},
      {"garbage method", "G@T / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
      {"unknown method", "BREW / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
      {"POST", "POST /k1.bin HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc", 405},
      {"DELETE", "DELETE /k1.bin HTTP/1.1\r\nHost: a\r\n\r\n", 405},
      {"HTTP/2.0", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 400},
      {"HTTP/1.2", "GET / HTTP/1.2\r\nHost: a\r\n\r\n", 400},
      {"garbage version", "GET / HTPT/1.1\r\nHost: a\r\n\r\n", 400},
      {"no version", "GET /\r\nHost: a\r\n\r\n", 400},
      {"missing Host on 1.1", "GET / HTTP/1.1\r\nAccept: */*\r\n\r\n", 400},
      {"two Hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
      {"space before colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400},
      {"obs-fold", "GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n 2\r\n\r\n", 400},
      {"bad escape", "GET /%zz HTTP/1.1\r\nHost: a\r\n\r\n", 400},
      {"NUL escape", "GET /notes.txt%00.html HTTP/1.1\r\nHost: a\r\n\r\n", 400},
      {"absolute-form", "GET http://a/notes.txt HTTP/1.1\r\nHost: a\r\n\r\n", 400},
      {"a body", "GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
      {"bare LF line endings", "GET / HTTP/1.1\nHost: x\n\n", 400},
      {"a bare LF after the request line", "GET / HTTP/1.1\r\nHost: x\n\r\n", 400},
      {"a bare LF as the empty line", "GET / HTTP/1.1\r\nHost: x\r\n\n", 400},
  };
  for (const Case& c : cases) {
    INFO(c.what);
    const Exchange ex = exchange(httpd.port(), c.request);
    REQUIRE(ex.answered);
    CHECK(ex.response.status == c.status);
    CHECK(ex.response.header("connection") == "close");
    CHECK(ex.closed_after);
    if (c.status == 405) CHECK(ex.response.header("allow") == "GET, HEAD");
  }
}

TEST_CASE("httpd: HEAD, Content-Type, 404, directories, keep-alive rules") {
  Site site;
  Running httpd(site);
  SUBCASE("HEAD sends the header and no body") {
    const int fd = tool_runner::connect_loopback(httpd.port());
    REQUIRE(fd >= 0);
    // HEAD of a small and a large file, then a GET: the GET's response must
    // follow the HEADs' headers directly (no body bytes between).
    REQUIRE(send_all(fd, "HEAD /k1.bin HTTP/1.1\r\nHost: a\r\n\r\nHEAD /big.bin HTTP/1.1\r\nHost: a\r\n\r\n" +
                             get("/notes.txt")));
    std::string pending;
    Response r1, r2, r3;
    REQUIRE(read_response(fd, &pending, &r1, true));
    REQUIRE(read_response(fd, &pending, &r2, true));
    REQUIRE(read_response(fd, &pending, &r3));
    CHECK(r1.status == 200);
    CHECK(r1.header("content-length") == "1024");
    CHECK(r2.header("content-length") == std::to_string(site.files["big.bin"].size()));
    CHECK(r3.body == "plain text\n");
    CHECK(pending.empty());
    ::close(fd);
  }
  SUBCASE("Content-Type by extension") {
    const std::map<std::string, std::string> types = {
        {"/page.html", "text/html; charset=utf-8"},  {"/notes.txt", "text/plain; charset=utf-8"},
        {"/style.css", "text/css"},                   {"/app.js", "text/javascript"},
        {"/data.json", "application/json"},           {"/image.png", "image/png"},
        {"/photo.jpg", "image/jpeg"},                 {"/photo.JPEG", "image/jpeg"},
        {"/noext", "application/octet-stream"},       {"/archive.weird", "application/octet-stream"},
        {"/", "text/html; charset=utf-8"},            {"/with%20space.txt", "text/plain; charset=utf-8"},
    };
    for (const auto& [path, type] : types) {
      CAPTURE(path);
      const Exchange ex = exchange(httpd.port(), get(path), false, false);
      REQUIRE(ex.answered);
      CHECK(ex.response.status == 200);
      CHECK(ex.response.header("content-type") == type);
    }
  }
  SUBCASE("404, 403 and directories") {
    const std::vector<std::pair<std::string, int>> statuses = {
        {"/missing.txt", 404}, {"/sub/missing", 404}, {"/notes.txt/x", 404}, {"/noindex", 403},
        {"/noindex/", 403},    {"/fifo", 403},        {"/sub", 200},         {"/sub/", 200},
        {"/noindex/file.txt", 200},
    };
    for (const auto& [path, status] : statuses) {
      CAPTURE(path);
      const Exchange ex = exchange(httpd.port(), get(path), false, false);
      REQUIRE(ex.answered);
      CHECK(ex.response.status == status);
      if (path.rfind("/sub", 0) == 0 && status == 200) CHECK(ex.response.body == "<h1>sub index</h1>\n");
    }
    // A 404 keeps the connection: the next request on it is answered.
    const int fd = tool_runner::connect_loopback(httpd.port());
    REQUIRE(send_all(fd, get("/missing") + get("/notes.txt")));
    std::string pending;
    Response a, b;
    REQUIRE(read_response(fd, &pending, &a));
    REQUIRE(read_response(fd, &pending, &b));
    CHECK(a.status == 404);
    CHECK(b.body == "plain text\n");
    ::close(fd);
  }
  SUBCASE("Connection: close, HTTP/1.0 with and without keep-alive") {
    const Exchange close11 = exchange(httpd.port(), get("/notes.txt", "Connection: close\r\n"));
    CHECK(close11.response.status == 200);
    CHECK(close11.response.header("connection") == "close");
    CHECK(close11.closed_after);
    const Exchange plain10 = exchange(httpd.port(), "GET /notes.txt HTTP/1.0\r\n\r\n");
    CHECK(plain10.response.body == "plain text\n");
    CHECK(plain10.closed_after);
    const int fd = tool_runner::connect_loopback(httpd.port());
    const std::string ka10 = "GET /notes.txt HTTP/1.0\r\nConnection: keep-alive\r\n\r\n";
    REQUIRE(send_all(fd, ka10 + ka10));
    std::string pending;
    Response a, b;
    REQUIRE(read_response(fd, &pending, &a));
    REQUIRE(read_response(fd, &pending, &b));
    CHECK(a.header("connection") == "keep-alive");
    CHECK(b.body == "plain text\n");
    ::close(fd);
  }
}

TEST_CASE("httpd: --max-connections, no descriptors left behind, SIGTERM mid-transfer prints the totals") {
  Site site;
  Running httpd(site, {"--max-connections", "2"});
  const int baseline = tool_runner::count_fds(httpd.server.pid());
  const int a = tool_runner::connect_loopback(httpd.port());
  const int b = tool_runner::connect_loopback(httpd.port());
  std::string pa, pb, pc;
  Response r;
  REQUIRE(send_all(a, get("/notes.txt")));
  REQUIRE(read_response(a, &pa, &r));  // a and b are taken before c comes
  REQUIRE(send_all(b, get("/notes.txt")));
  REQUIRE(read_response(b, &pb, &r));
  const int c = tool_runner::connect_loopback(httpd.port());
  CHECK(ends_without_more(c, &pc, 5));  // the third is closed at once
  ::close(c);
  ::close(a);
  ::close(b);
  CHECK(uring::testing::eventually([&] { return tool_runner::count_fds(httpd.server.pid()) == baseline; },
                                   std::chrono::milliseconds(3000)));

  // A large transfer the client does not read, and an idle connection, at the stop.
  const int stalled = tool_runner::connect_loopback(httpd.port());
  REQUIRE(send_all(stalled, get("/big.bin")));
  const int idle = tool_runner::connect_loopback(httpd.port());
  std::string some;
  REQUIRE(read_some(stalled, &some, now_seconds() + 5) > 0);  // the response has begun
  const double start = now_seconds();
  const tool_runner::Result stopped = httpd.server.stop(SIGTERM, 10);
  CHECK(now_seconds() - start < 5);
  CHECK(stopped.exited);
  CHECK(stopped.exit_code == 0);
  CHECK(stopped.out.find("httpd: 4 connections (1 refused), 3 requests") != std::string::npos);
  CHECK(stopped.out.find("200: 3") != std::string::npos);
  ::close(stalled);
  ::close(idle);
}

TEST_CASE("httpd: wrk loads it with no socket errors and only 2xx responses") {
  const std::string wrk = find_program("wrk");
  if (wrk.empty()) URING_SKIP("wrk is not installed (Debian package wrk; tools/bench/run_all.sh installs it)");
  Site site;
  Running httpd(site);
  for (const char* path : {"/k1.bin", "/m1.bin"}) {
    CAPTURE(path);
    const tool_runner::Result r = tool_runner::run(wrk, {"-t1", "-c8", "-d2s", httpd.url(path)}, "", 30);
    REQUIRE(r.exited);
    CHECK_MESSAGE(r.exit_code == 0, r.err);
    INFO(r.out);
    CHECK(r.out.find("Socket errors") == std::string::npos);
    CHECK(r.out.find("Non-2xx") == std::string::npos);
    const std::size_t at = r.out.find(" requests in ");
    REQUIRE(at != std::string::npos);
    const std::size_t start = r.out.rfind('\n', at) + 1;
    CHECK(std::stoull(r.out.substr(start, at - start)) > 100);
  }
  const tool_runner::Result stopped = httpd.server.stop(SIGINT, 10);
  CHECK(stopped.exit_code == 0);
  CHECK(stopped.out.find("httpd: ") != std::string::npos);
}
