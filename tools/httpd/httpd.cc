// httpd: a static-file HTTP/1.1 server on one io_uring, read top to bottom.
//
//   httpd [--root DIR] [--port N] [--max-connections N] [--idle-timeout-ms N]
//
// GET and HEAD of the regular files under --root; keep-alive (HTTP/1.1 by
// default, HTTP/1.0 when asked) with pipelining; Content-Type by extension.
// Everything a connection does is a request on the ring, and one loop reaps
// them all:
//
//   ACCEPT (multishot)  one SQE for every connection the server will ever take
//   RECV                the request head, into the connection's own 8 KiB buffer
//   OPENAT2             the file, relative to the root's fd, RESOLVE_BENEATH:
//                       the kernel refuses ".." and symlinks that leave the root
//   STATX               its type and size (AT_EMPTY_PATH on the new fd)
//   READ_FIXED -> SEND  (linked) a file of at most 64 KiB: read into a
//                       registered buffer right after the response header, then
//                       one SEND of header and body together
//   SEND, then SPLICEs  a larger file: the header, then uring::FileSender
//                       (uring/sendfile.h: SPLICE file -> pipe -> socket, no copy)
//   CLOSE               the file (CQE only on failure)
//   TIMEOUT (multishot) a tick that closes connections idle for too long
//   POLL_ADD            the SIGINT/SIGTERM signalfd: stop
//
// Why per-connection receive buffers and not a buffer ring: a request head
// may arrive in pieces and must be kept whole until it is parsed, so bytes
// from a shared ring buffer would have to be copied into per-connection
// memory anyway; receiving straight into that memory saves the copy and the
// recycling. The 8 KiB per connection is also the cap on a request head.
//
// Why the registered buffers are a shared pool: they are pinned memory, so
// one per connection would pin 64 KiB for every idle keep-alive client. A
// connection takes a buffer only while it sends a small file and gives it
// back when the SEND completes; when all are taken it waits in line.
//
// Directories: "/dir" or "/dir/" serves dir/index.html if there is one, 403
// otherwise (no listings). Only regular files are served (403 for the rest).
// Errors: 400 (malformed, see http_request.h), 403 (outside the root, not a
// regular file, not readable), 404 (missing), 405 (POST and friends), 500
// (STATX failed); after a 400 or 405 the connection closes. A file that
// cannot be sent as its header promised (a read fails, the file shrinks)
// ends its connection. --idle-timeout-ms bounds two waits, and a
// connection that exceeds either is shut down: between requests (from the
// accept, or the end of the last response, to the first byte of the next
// head) and within a head (from its first byte to its end: a client that
// trickles a head a byte at a time gains nothing by it). While a response
// is produced, each of its steps (open, statx, read, send) restarts the clock. A stop (SIGINT/SIGTERM) shuts every connection down, waits for their
// requests to end, and prints the totals.
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tools/common/cli.h"
#include "tools/httpd/http_request.h"
#include "uring/uring.h"

namespace {

constexpr const char* kTool = "httpd";
constexpr const char* kUsage =
    "usage: httpd [--root DIR] [--port N] [--max-connections N] [--idle-timeout-ms N]\n"
    "Serves the regular files under DIR (default .) over HTTP/1.1 on 127.0.0.1:N\n"
    "(default 8080; 0 lets the kernel pick). GET and HEAD, keep-alive.\n"
    "  --max-connections N   connections open at once; more are closed at once (default 1024)\n"
    "  --idle-timeout-ms N   close a connection idle this long (default 30000)\n"
    "SIGINT or SIGTERM: close every connection, print the totals, exit 0.\n";

constexpr std::size_t kMaxHead = 8192;             // a request head at most (400 beyond)
constexpr std::size_t kSmallFile = 64 * 1024;      // at most: one registered buffer, one SEND
constexpr std::size_t kHeaderRoom = 4096;          // response header before the body in a buffer
constexpr std::size_t kBufferBytes = kSmallFile + kHeaderRoom;
constexpr unsigned kBuffers = 64;                  // the registered pool, shared
constexpr std::uint32_t kPipeBytes = 1 << 20;      // FileSender's pipe: 1 MiB per chunk

// ---- user_data --------------------------------------------------------------
// A connection's requests carry its address with the operation in bits 1-3
// (bit 0 is FileSender's: it marks the second SQE of its step). Connections
// are allocated with new, so their addresses are multiples of 16 and far
// above the few fixed values of the server's own requests.
enum Op : std::uint64_t { op_recv = 1, op_open, op_statx, op_read, op_send, op_body };
constexpr std::uint64_t kIgnore = 0;  // CLOSE of a file (skip_success: a CQE only if it fails)
constexpr std::uint64_t kAccept = 16;
constexpr std::uint64_t kSignal = 32;
constexpr std::uint64_t kTick = 48;
constexpr std::uint64_t kCancel = 64;  // the cancels of the stop

// ---- what the server counts -----------------------------------------------
struct Totals {
  std::uint64_t connections = 0, refused = 0, requests = 0, bytes = 0;
  std::map<int, std::uint64_t> statuses;
};

const char* reason(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    default: return "Internal Server Error";
  }
}

const char* content_type(const std::string& path) {
  static const std::pair<const char*, const char*> kTypes[] = {
      {"html", "text/html; charset=utf-8"}, {"htm", "text/html; charset=utf-8"},
      {"txt", "text/plain; charset=utf-8"}, {"css", "text/css"},
      {"js", "text/javascript"},            {"mjs", "text/javascript"},
      {"json", "application/json"},         {"xml", "application/xml"},
      {"png", "image/png"},                 {"jpg", "image/jpeg"},
      {"jpeg", "image/jpeg"},               {"gif", "image/gif"},
      {"svg", "image/svg+xml"},             {"ico", "image/x-icon"},
      {"webp", "image/webp"},               {"pdf", "application/pdf"},
      {"wasm", "application/wasm"},         {"woff2", "font/woff2"},
      {"mp4", "video/mp4"},                 {"gz", "application/gzip"},
  };
  const std::size_t slash = path.rfind('/');
  const std::size_t dot = path.rfind('.');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) return "application/octet-stream";
  const std::string_view ext(path.c_str() + dot + 1);
  for (const auto& [name, type] : kTypes) {
    if (http::detail::iequals(ext, name)) return type;
  }
  return "application/octet-stream";
}

std::uint64_t now_ms() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000 + static_cast<std::uint64_t>(ts.tv_nsec) / 1000000;
}

// The Date header's value, made once a second.
const char* http_date() {
  static time_t made = 0;
  static char text[64];
  const time_t now = time(nullptr);
  if (now != made) {
    tm utc{};
    gmtime_r(&now, &utc);
    strftime(text, sizeof text, "%a, %d %b %Y %H:%M:%S GMT", &utc);
    made = now;
  }
  return text;
}

// ---- one connection ---------------------------------------------------------
struct Conn {
  int fd = -1;
  std::size_t live_index = 0;   // its place in Server::live_
  unsigned in_flight = 0;       // CQEs still due for its requests
  bool closing = false;         // shut down: freed once in_flight is 0
  bool draining = false;        // last response sent: read and drop until the peer closes
  bool waiting_buffer = false;  // in line for a registered buffer
  bool answering = false;       // a request parsed, its response not yet all sent
  std::uint64_t last_active = 0;   // accept, the end of a response, or a step of one (ms)
  std::uint64_t head_started = 0;  // the first byte of the head being received (ms)

  char in[kMaxHead];            // the request head(s) received so far
  std::size_t in_len = 0;

  // The request being answered.
  http::Parsed parsed;
  bool keep_alive = false;
  bool head_only = false;
  bool tried_index = false;     // the path named a directory: now opening its index.html
  std::string path;             // what OPENAT2 opens, relative to the root
  uring::abi::open_how how{};  // OPENAT2 reads it when it runs: kept here until then
  int file = -1;
  struct statx st{};

  // The response being sent.
  char head[512];               // header (and body) of small responses without a buffer
  std::size_t head_len = 0;
  int buffer = -1;              // the registered buffer it holds, or -1
  std::uint64_t body_offset = 0, body_left = 0;  // what the READ_FIXED -> SEND chunks still send
  std::size_t send_len = 0;     // bytes the SEND in flight was asked
  uring::FileSender sender;     // a large file's body
};

std::uint64_t tag(Conn* conn, Op op) { return reinterpret_cast<std::uintptr_t>(conn) | (op << 1); }

class Server {
 public:
  Server(uring::Ring& ring, int root_fd, int listen_fd, unsigned char* pool, std::uint64_t max_connections,
         std::uint64_t idle_ms)
      : ring_(ring), root_fd_(root_fd), listen_fd_(listen_fd), pool_(pool), max_connections_(max_connections),
        idle_ms_(idle_ms) {
    for (unsigned i = 0; i < kBuffers; ++i) free_buffers_.push_back(static_cast<int>(kBuffers - 1 - i));
  }

  // The event loop: submit what is queued, wait for one CQE, handle every
  // CQE that is ready, until the stop has closed everything.
  void run(int signal_fd) {
    arm_accept();
    arm_signal(signal_fd);
    arm_tick();
    while (!(stopping_ && live_.empty() && !accept_armed_ && !tick_armed_)) {
      const int ret = ring_.submit_and_wait(1);
      if (ret < 0 && ret != -EINTR && ret != -EAGAIN && ret != -EBUSY) cli::fail_errno(kTool, "io_uring_enter", ret);
      ring_.for_each_cqe([this](const uring::Cqe& cqe) { dispatch(cqe); });
    }
  }

  const Totals& totals() const { return totals_; }

 private:
  // ---- the SQ ---------------------------------------------------------------
  // An SQE, submitting first if the SQ is full. Chains ask for their length
  // up front (`room`), so a chain never straddles two submits (the kernel
  // would cut the link there).
  uring::Sqe& sqe(unsigned room = 1) {
    if (ring_.sq_space_left() < room) ring_.submit();
    uring::Sqe* s = ring_.get_sqe();
    while (s == nullptr) {
      ring_.submit();
      s = ring_.get_sqe();
    }
    return *s;
  }

  void arm_accept() {
    uring::prep_accept_multishot(sqe(), listen_fd_, nullptr, nullptr, SOCK_CLOEXEC).set_user_data(kAccept);
    accept_armed_ = true;
  }
  // POLL_ADD, then read(2) it: a READ on the non-blocking signalfd could
  // answer -EAGAIN instead of waiting.
  void arm_signal(int signal_fd) {
    signal_fd_ = signal_fd;
    uring::prep_poll_add(sqe(), signal_fd, POLLIN).set_user_data(kSignal);
  }
  void arm_tick() {
    const std::uint64_t every = std::clamp<std::uint64_t>(idle_ms_ / 4, 10, 1000);
    tick_ts_.tv_sec = static_cast<std::int64_t>(every / 1000);
    tick_ts_.tv_nsec = static_cast<long long>(every % 1000) * 1000000;
    uring::prep_timeout_multishot(sqe(), &tick_ts_, 0).set_user_data(kTick);
    tick_armed_ = true;
  }

  // ---- CQEs -----------------------------------------------------------------
  void dispatch(const uring::Cqe& cqe) {
    const std::uint64_t data = cqe.data();
    switch (data) {
      case kIgnore: return;  // a failed CLOSE of a file: nothing to do about it
      case kAccept: return on_accept(cqe);
      case kSignal:
        if (::read(signal_fd_, &siginfo_, sizeof siginfo_) < 0 && cqe.result() < 0) {
          cli::fail_errno(kTool, "poll of the signalfd", cqe.result());
        }
        return stop();
      case kTick:
        if (!cqe.more()) tick_armed_ = false;
        // Still ticking after the stop's TIMEOUT_REMOVE: it met the timer
        // while it fired (-EALREADY). Ask again.
        if (stopping_ && tick_armed_) uring::prep_timeout_remove(sqe(), kTick).set_user_data(kCancel);
        return on_tick();
      case kCancel: return;
      default: break;
    }
    Conn* conn = reinterpret_cast<Conn*>(static_cast<std::uintptr_t>(data & ~std::uint64_t{15}));
    --conn->in_flight;
    const int res = cqe.result();
    const Op op = static_cast<Op>((data >> 1) & 7);
    if (op != op_recv) conn->last_active = now_;  // a step of a response; a RECV is judged by on_tick's rules
    switch (op) {
      case op_recv: on_recv(conn, res); break;
      case op_open: on_open(conn, res); break;
      case op_statx: on_statx(conn, res); break;
      case op_read: on_read(conn, res); break;
      case op_send: on_send(conn, res); break;
      case op_body: on_body(conn, data, res); break;
    }
    free_if_done(conn);
  }

  void on_accept(const uring::Cqe& cqe) {
    if (!cqe.more()) {
      // The kernel ended it: on an error (EMFILE, ENFILE, ...) take
      // connections again at the next tick, so an error that persists
      // cannot spin; otherwise now.
      accept_armed_ = false;
      if (!stopping_ && cqe.result() >= 0) arm_accept();
    }
    if (cqe.result() < 0) return;  // -ECANCELED at the stop; -EMFILE etc.: the next one may work
    const int fd = cqe.result();
    if (stopping_ || live_.size() >= max_connections_) {
      ::close(fd);
      ++totals_.refused;
      return;
    }
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);  // a response's last piece must not wait
    Conn* conn = new Conn;
    conn->fd = fd;
    conn->last_active = now_;
    conn->live_index = live_.size();
    live_.push_back(conn);
    ++totals_.connections;
    receive(conn);
  }

  // Every tick: the time, and the connections idle for too long.
  void on_tick() {
    now_ = now_ms();
    if (!accept_armed_ && !stopping_) arm_accept();
    // Backwards: shut() may free a connection, and free_conn moves the last
    // one (already looked at) into its place.
    for (std::size_t i = live_.size(); i-- > 0;) {
      Conn* conn = live_[i];
      // Within a head: its time counts from its first byte.
      const bool in_head = !conn->answering && !conn->draining && conn->in_len > 0;
      const std::uint64_t since = in_head ? conn->head_started : conn->last_active;
      if (!conn->closing && now_ - since >= idle_ms_) {
        shut(conn);
        free_if_done(conn);
      }
    }
  }

  // ---- receiving and parsing ----------------------------------------------
  void receive(Conn* conn) {
    uring::prep_recv(sqe(), conn->fd, conn->in + conn->in_len,
                     uring::SocketLength::at_most(kMaxHead - conn->in_len), 0)
        .set_user_data(tag(conn, op_recv));
    ++conn->in_flight;
  }

  void on_recv(Conn* conn, int res) {
    if (conn->closing) return;
    if (res <= 0) return shut(conn);  // 0: the peer closed; < 0: reset, or our shutdown
    if (conn->draining) {             // after the last response: drop what comes
      conn->in_len = 0;
      return receive(conn);
    }
    if (conn->in_len == 0) conn->head_started = now_;
    conn->in_len += static_cast<std::size_t>(res);
    next_request(conn);
  }

  // Parses what was received: answer, or receive more.
  void next_request(Conn* conn) {
    conn->parsed = http::parse_request(std::string_view(conn->in, conn->in_len), kMaxHead);
    const http::Parsed& p = conn->parsed;
    if (p.outcome == http::Outcome::incomplete) return receive(conn);
    conn->answering = true;
    ++totals_.requests;
    conn->keep_alive = p.keep_alive && !stopping_;
    conn->head_only = p.request.method == http::Method::head && p.head_bytes != 0;
    if (p.outcome == http::Outcome::error) return respond_error(conn, p.status);
    conn->tried_index = false;
    open_file(conn, p.request.path.empty() ? "." : p.request.path);
  }

  // ---- finding the file -------------------------------------------------------
  void open_file(Conn* conn, std::string path) {
    conn->path = std::move(path);
    // O_NONBLOCK: opening a FIFO must not wait for a writer (it is refused
    // after STATX anyway). RESOLVE_BENEATH: no "..", absolute path or symlink
    // may leave root_fd (-EXDEV); RESOLVE_NO_MAGICLINKS: no /proc/self/fd/N.
    conn->how = uring::abi::open_how{};
    conn->how.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
    conn->how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
    uring::prep_openat2(sqe(), root_fd_, conn->path.c_str(), &conn->how).set_user_data(tag(conn, op_open));
    ++conn->in_flight;
  }

  void on_open(Conn* conn, int res) {
    if (conn->closing) {
      if (res >= 0) ::close(res);
      return;
    }
    if (res < 0) {
      // A directory without index.html: 403, as a directory is.
      if (conn->tried_index) return respond_error(conn, 403);
      return respond_error(conn, res == -ENOENT || res == -ENOTDIR || res == -ENAMETOOLONG ? 404 : 403);
    }
    conn->file = res;
    uring::prep_statx(sqe(), conn->file, "", AT_EMPTY_PATH, STATX_TYPE | STATX_SIZE, &conn->st)
        .set_user_data(tag(conn, op_statx));
    ++conn->in_flight;
  }

  void on_statx(Conn* conn, int res) {
    if (conn->closing) return close_file(conn);
    if (res < 0) {
      close_file(conn);
      return respond_error(conn, 500);
    }
    if (S_ISDIR(conn->st.stx_mode) && !conn->tried_index) {
      close_file(conn);
      conn->tried_index = true;
      return open_file(conn, conn->path == "." ? "index.html" : conn->path + "/index.html");
    }
    if (!S_ISREG(conn->st.stx_mode)) {
      close_file(conn);
      return respond_error(conn, 403);
    }
    ::fcntl(conn->file, F_SETFL, 0);  // O_NONBLOCK off again: reads and splices may wait for the disk
    respond_file(conn);
  }

  // ---- responding -----------------------------------------------------------
  // The response header into out[0, room): returns its length.
  std::size_t write_header(const Conn* conn, char* out, std::size_t room, int status, const char* type,
                           std::uint64_t length) {
    const bool one_zero = conn->parsed.request.minor_version == 0;
    const int n = std::snprintf(out, room,
                                "HTTP/1.1 %d %s\r\nServer: uring-httpd\r\nDate: %s\r\nContent-Type: %s\r\n"
                                "Content-Length: %llu\r\n%s%s\r\n",
                                status, reason(status), http_date(), type, static_cast<unsigned long long>(length),
                                status == 405 ? "Allow: GET, HEAD\r\n" : "",
                                !conn->keep_alive ? "Connection: close\r\n"
                                : one_zero        ? "Connection: keep-alive\r\n"
                                                  : "");
    return n < 0 ? 0 : std::min(static_cast<std::size_t>(n), room - 1);
  }

  // A status with a short text body (no body for HEAD), from conn->head.
  void respond_error(Conn* conn, int status) {
    ++totals_.statuses[status];
    if (status == 400 || status == 405) conn->keep_alive = false;  // the framing of what follows is unknown
    char body[64];
    const int body_len = std::snprintf(body, sizeof body, "%d %s\n", status, reason(status));
    conn->head_len = write_header(conn, conn->head, sizeof conn->head, status, "text/plain; charset=utf-8",
                                  static_cast<std::uint64_t>(body_len));
    if (!conn->head_only) {
      std::memcpy(conn->head + conn->head_len, body, static_cast<std::size_t>(body_len));
      conn->head_len += static_cast<std::size_t>(body_len);
    }
    send(conn, conn->head, conn->head_len, 0);
  }

  void respond_file(Conn* conn) {
    ++totals_.statuses[200];
    const std::uint64_t size = conn->st.stx_size;
    const char* type = content_type(conn->path);
    if (conn->head_only) {
      conn->head_len = write_header(conn, conn->head, sizeof conn->head, 200, type, size);
      close_file(conn);
      return send(conn, conn->head, conn->head_len, 0);
    }
    if (size > kSmallFile) {
      // The header now (MSG_MORE: it goes out with the body's first bytes),
      // the body by splicing once it is sent (on_send).
      auto sender = uring::FileSender::create(conn->file, conn->fd, 0, size, {.pipe_size = kPipeBytes});
      if (!sender) sender = uring::FileSender::create(conn->file, conn->fd, 0, size);  // pipe-max-size, EPERM
      if (sender) {
        conn->sender = std::move(*sender);
        conn->head_len = write_header(conn, conn->head, sizeof conn->head, 200, type, size);
        return send(conn, conn->head, conn->head_len, MSG_MORE);
      }
      // No pipe (EMFILE, ...): through a registered buffer, in 64 KiB chunks.
    }
    conn->body_offset = 0;
    conn->body_left = size;
    if (!take_buffer(conn)) return;  // in line; respond_buffered() when one is free
    respond_buffered(conn);
  }

  bool take_buffer(Conn* conn) {
    if (free_buffers_.empty()) {
      conn->waiting_buffer = true;
      waiting_.push_back(conn);
      return false;
    }
    conn->buffer = free_buffers_.back();
    free_buffers_.pop_back();
    return true;
  }

  void give_buffer(Conn* conn) {
    if (conn->buffer < 0) return;
    free_buffers_.push_back(conn->buffer);
    conn->buffer = -1;
    while (!waiting_.empty() && !free_buffers_.empty()) {
      Conn* next = waiting_.front();
      waiting_.pop_front();
      next->waiting_buffer = false;
      take_buffer(next);
      respond_buffered(next);
    }
  }

  unsigned char* buffer_memory(int index) { return pool_ + static_cast<std::size_t>(index) * kBufferBytes; }

  // The header (first time) and the next chunk of the body from the
  // registered buffer: READ_FIXED of the file right after the header, linked
  // to one SEND of both. A short read breaks the link: the SEND then ends
  // with -ECANCELED and on_read has the read's result.
  void respond_buffered(Conn* conn) {
    unsigned char* memory = buffer_memory(conn->buffer);
    std::size_t header = 0;
    if (conn->body_offset == 0) {
      header = write_header(conn, reinterpret_cast<char*>(memory), kHeaderRoom, 200, content_type(conn->path),
                            conn->body_left);
    }
    const std::size_t chunk = std::min<std::uint64_t>(conn->body_left, kSmallFile);
    if (chunk == 0) {  // an empty file: the header alone
      close_file(conn);
      return send(conn, reinterpret_cast<char*>(memory), header, 0);
    }
    const uring::FixedBuffer slot = *uring::FixedBuffer::checked(static_cast<unsigned>(conn->buffer));
    uring::prep_read_fixed(sqe(2), conn->file, memory + header, static_cast<unsigned>(chunk), conn->body_offset, slot)
        .set_user_data(tag(conn, op_read))
        .link();
    ++conn->in_flight;
    conn->body_offset += chunk;
    conn->body_left -= chunk;
    send(conn, reinterpret_cast<char*>(memory), header + chunk, 0);
  }

  // Only its CQE: a failed or short read cancels the linked SEND
  // (-ECANCELED), and on_send closes the connection.
  void on_read(Conn*, int) {}

  void send(Conn* conn, const char* data, std::size_t len, int flags) {
    conn->send_len = len;
    // MSG_WAITALL: the kernel retries until all of it is sent (or it fails).
    uring::prep_send(sqe(), conn->fd, data, uring::SocketLength::at_most(len), flags | MSG_WAITALL)
        .set_user_data(tag(conn, op_send));
    ++conn->in_flight;
  }

  void on_send(Conn* conn, int res) {
    if (res > 0) totals_.bytes += static_cast<std::uint64_t>(res);
    if (conn->closing) return;
    // Failed, short, or -ECANCELED because its READ_FIXED failed or came up
    // short (the file shrank): the response cannot be finished, so the
    // connection ends.
    if (res < 0 || static_cast<std::size_t>(res) != conn->send_len) return shut(conn);
    if (conn->buffer >= 0) {  // a chunk from a registered buffer
      if (conn->body_left > 0) return respond_buffered(conn);
      give_buffer(conn);
      return finish_response(conn);
    }
    if (conn->sender.state() == uring::SendState::ready) return queue_body(conn);
    finish_response(conn);
  }

  void queue_body(Conn* conn) {
    int n = conn->sender.queue(ring_, tag(conn, op_body));
    if (n == -EBUSY) {
      ring_.submit();
      n = conn->sender.queue(ring_, tag(conn, op_body));
    }
    if (n < 0) return shut(conn);
    conn->in_flight += static_cast<unsigned>(n);
  }

  void on_body(Conn* conn, std::uint64_t data, int res) {
    const uring::SendState state = conn->sender.on_cqe(data, res);
    if (state == uring::SendState::finished || state == uring::SendState::failed) {
      totals_.bytes += conn->sender.sent();
    }
    if (conn->closing) return;
    switch (state) {
      case uring::SendState::in_flight: return;
      case uring::SendState::ready: return queue_body(conn);
      case uring::SendState::finished:
        if (conn->sender.sent() != conn->sender.length()) return shut(conn);  // the file shrank
        return finish_response(conn);
      case uring::SendState::failed: return shut(conn);
    }
  }

  // The response is out: the next request (maybe already received), or the end.
  void finish_response(Conn* conn) {
    conn->sender = uring::FileSender();  // its pipe closes (no step in flight now)
    close_file(conn);
    conn->answering = false;
    conn->last_active = now_;
    const std::size_t used = conn->parsed.head_bytes;
    if (!conn->keep_alive || used == 0) {
      // Lingering close: stop sending, read until the peer closes, so that
      // bytes of its we never read cannot make the kernel answer with a
      // reset that would destroy this response before it is read.
      ::shutdown(conn->fd, SHUT_WR);
      conn->draining = true;
      conn->in_len = 0;
      return receive(conn);
    }
    std::memmove(conn->in, conn->in + used, conn->in_len - used);
    conn->in_len -= used;
    conn->head_started = now_;  // a pipelined next head: its time starts now
    next_request(conn);
  }

  void close_file(Conn* conn) {
    if (conn->file < 0) return;
    uring::prep_close(sqe(), conn->file).set_user_data(kIgnore).skip_success();
    conn->file = -1;
  }

  // ---- the end of a connection ------------------------------------------------
  // Shuts the socket down, which ends every request on it (receives with 0,
  // sends and splices with an error); the connection is freed once the last
  // CQE of its requests came (dispatch), or by the caller when none is due
  // (free_if_done).
  void shut(Conn* conn) {
    if (conn->closing) return;
    conn->closing = true;
    ::shutdown(conn->fd, SHUT_RDWR);
    if (conn->waiting_buffer) {
      waiting_.erase(std::find(waiting_.begin(), waiting_.end(), conn));
      conn->waiting_buffer = false;
    }
  }

  void free_if_done(Conn* conn) {
    if (conn->closing && conn->in_flight == 0) free_conn(conn);
  }

  void free_conn(Conn* conn) {
    give_buffer(conn);
    close_file(conn);
    ::close(conn->fd);
    Conn* last = live_.back();
    live_[conn->live_index] = last;
    last->live_index = conn->live_index;
    live_.pop_back();
    delete conn;
  }

  // SIGINT/SIGTERM: no new connections, every connection shut down.
  void stop() {
    if (stopping_) return;
    stopping_ = true;
    uring::prep_cancel(sqe(), kAccept).set_user_data(kCancel);
    uring::prep_timeout_remove(sqe(), kTick).set_user_data(kCancel);
    // Walk a copy: shut() may free (and so reorder) live_.
    const std::vector<Conn*> all = live_;
    for (Conn* conn : all) {
      shut(conn);
      free_if_done(conn);
    }
  }

  uring::Ring& ring_;
  int root_fd_, listen_fd_;
  unsigned char* pool_;
  std::uint64_t max_connections_, idle_ms_;
  std::uint64_t now_ = now_ms();
  bool stopping_ = false, accept_armed_ = false, tick_armed_ = false;
  int signal_fd_ = -1;
  signalfd_siginfo siginfo_{};
  uring::abi::kernel_timespec tick_ts_{};
  std::vector<Conn*> live_;
  std::vector<int> free_buffers_;
  std::deque<Conn*> waiting_;
  Totals totals_;
};

// 127.0.0.1:port, listening; exits 1 with a message naming the port.
int listen_on(std::uint64_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) cli::fail_errno(kTool, "socket", errno);
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    cli::fail_errno(kTool, "port " + std::to_string(port) + " on 127.0.0.1", errno);
  }
  if (::listen(fd, SOMAXCONN) != 0) cli::fail_errno(kTool, "listen on port " + std::to_string(port), errno);
  return fd;
}

}  // namespace

int main(int argc, char** argv) {
  cli::Parser args(kTool, kUsage);
  std::string root = ".";
  std::uint64_t port = 8080, max_connections = 1024, idle_ms = 30000;
  args.text("--root", &root);
  args.number("--port", &port, 0, 65535);
  args.number("--max-connections", &max_connections, 1, 1000000);
  args.number("--idle-timeout-ms", &idle_ms, 1, 24ull * 3600 * 1000);
  args.parse(argc, argv, 0, 0);

  const int stop_fd = cli::stop_signals_fd(kTool);
  std::signal(SIGPIPE, SIG_IGN);  // a peer gone mid-splice: -EPIPE in the CQE, not a dead server

  const int root_fd = ::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root_fd < 0) cli::fail(kTool, root + ": " + std::strerror(errno));
  const int listen_fd = listen_on(port);

  // One ring for everything. SINGLE_ISSUER + DEFER_TASKRUN (6.1): completions
  // are posted only when this thread waits, in batches; plain where refused.
  auto ring = uring::Ring::create({.entries = 256, .cq_entries = 4096, .single_issuer = true, .defer_taskrun = true});
  if (!ring) ring = uring::Ring::create({.entries = 256, .cq_entries = 4096});
  if (!ring) cli::fail(kTool, ring.error().message);

  // The registered buffers: one mapping, kBuffers slots of kBufferBytes.
  void* pool = ::mmap(nullptr, kBuffers * kBufferBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (pool == MAP_FAILED) cli::fail_errno(kTool, "mmap of the registered buffers", errno);
  std::vector<iovec> slots(kBuffers);
  for (unsigned i = 0; i < kBuffers; ++i) {
    slots[i] = {static_cast<unsigned char*>(pool) + static_cast<std::size_t>(i) * kBufferBytes, kBufferBytes};
  }
  auto buffers = uring::BufferTable::create(*ring, slots);
  if (!buffers) cli::fail(kTool, buffers.error().message);

  sockaddr_in bound{};
  socklen_t bound_len = sizeof bound;
  ::getsockname(listen_fd, reinterpret_cast<sockaddr*>(&bound), &bound_len);
  std::printf("listening on 127.0.0.1:%u\n", ntohs(bound.sin_port));
  std::fflush(stdout);

  Server server(*ring, root_fd, listen_fd, static_cast<unsigned char*>(pool), max_connections, idle_ms);
  server.run(stop_fd);

  const Totals& t = server.totals();
  std::printf("httpd: %llu connections (%llu refused), %llu requests, %llu bytes sent; status",
              static_cast<unsigned long long>(t.connections), static_cast<unsigned long long>(t.refused),
              static_cast<unsigned long long>(t.requests), static_cast<unsigned long long>(t.bytes));
  if (t.statuses.empty()) std::printf(" none");
  for (const auto& [status, n] : t.statuses) std::printf(" %d: %llu", status, static_cast<unsigned long long>(n));
  std::printf("\n");
  std::fflush(stdout);
  (void)buffers->unregister();
  ring->close();
  ::munmap(pool, kBuffers * kBufferBytes);
  ::close(listen_fd);
  ::close(root_fd);
  ::close(stop_fd);
  return 0;
}
