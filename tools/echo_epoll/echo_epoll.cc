// echo_epoll: the same TCP echo server as tools/echo, written the classic
// way — epoll and non-blocking read/write — as the baseline it is measured
// against (liburing issue #189, "io_uring is slower than epoll"). It is
// meant to be a good epoll server, not a straw man:
//
//   * every socket is registered once, edge-triggered, for both directions
//     (EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET): no epoll_ctl per message;
//   * each connection has one buffer of --buffer-size bytes. The loop reads
//     into it and writes it back out until the kernel says stop: a short
//     read means the socket had no more (TCP hands over all it has, up to
//     the room given), a short write that the socket's send buffer is full,
//     so neither needs a second call that answers EAGAIN; the next edge
//     (new data, or room to write) says when to go on. Except after
//     EPOLLRDHUP: the peer's end of stream waits behind its data and brings
//     no edge of its own, so then it reads on until read() returns 0;
//   * a peer that does not read: its writes stop, its buffer fills, and the
//     server stops reading from it (TCP flow control then stops the peer),
//     so one connection holds at most --buffer-size bytes and the others
//     are not held up;
//   * accept4 until EAGAIN on a level-triggered listening socket;
//   * SIGINT/SIGTERM arrive on a signalfd in the same epoll set: close every
//     connection, print the totals (the same line as tools/echo), exit 0.
//
//   echo_epoll --port 0                  first line: listening on 127.0.0.1:PORT
//
// The last line, at exit, has tools/echo's keys where they mean the same:
// recvs= (reads that returned data), sends= (writes that wrote some),
// requests= (read, write and accept4 calls), waits= (epoll_wait calls).
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "tools/common/cli.h"

namespace {

constexpr const char* kTool = "echo_epoll";
constexpr const char* kUsage =
    "usage: echo_epoll [--port N] [--buffer-size N] [--max-connections N]\n"
    "A TCP echo server on 127.0.0.1 (epoll, non-blocking read/write): the baseline\n"
    "for tools/echo. Prints 'listening on 127.0.0.1:PORT' first; SIGINT/SIGTERM\n"
    "stop it and print totals.\n"
    "  --port N             port to listen on (default 0: the kernel picks one)\n"
    "  --buffer-size N      bytes of each connection's buffer (default 64K)\n"
    "  --max-connections N  connections open at once; more are closed at once (default 1024)\n";

// epoll_event.data: the slot (low 32 bits) and its generation (high 32), so
// an event for a connection closed earlier in the same batch is recognised.
constexpr std::uint64_t kListener = ~std::uint64_t{0};
constexpr std::uint64_t kSignal = ~std::uint64_t{0} - 1;

struct Connection {
  int fd = -1;  // -1: the slot is free
  std::uint32_t generation = 0;
  std::unique_ptr<char[]> buffer;
  std::size_t head = 0, tail = 0;  // bytes [head, tail) of the buffer wait to be written
  bool readable = false;           // an EPOLLIN edge came and we have not read it all
  bool writable = true;            // no write has come back short since the last EPOLLOUT
  bool read_done = false;          // end of stream
  bool peer_shut = false;          // EPOLLRDHUP came: the peer's FIN is queued behind its data
};

struct Totals {
  std::uint64_t connections = 0, refused = 0, resets = 0, bytes_in = 0, bytes_out = 0, recvs = 0, sends = 0,
                requests = 0, waits = 0;
};

int count_fds() {
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) return -1;
  int n = 0;
  while (const dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] != '.') ++n;
  }
  ::closedir(dir);
  return n - 1;  // the directory's own fd
}

int listen_on(std::uint64_t port, int* bound_port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) cli::fail_errno(kTool, "socket", errno);
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 || ::listen(fd, 4096) != 0) {
    const int error = errno;
    std::string message = "cannot listen on 127.0.0.1:" + std::to_string(port) + ": " + std::strerror(error);
    if (error == EADDRINUSE) message += " (another program has it: pick another --port, or 0 to let the kernel choose)";
    cli::fail(kTool, message);
  }
  socklen_t length = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  *bound_port = ntohs(address.sin_port);
  return fd;
}

class Server {
 public:
  Server(std::size_t buffer_size, std::size_t max_connections, int listen_fd, int signal_fd)
      : buffer_size_(buffer_size), listen_fd_(listen_fd), signal_fd_(signal_fd), connections_(max_connections) {
    for (std::uint32_t i = static_cast<std::uint32_t>(max_connections); i-- > 0;) free_.push_back(i);
    epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
    if (epoll_fd_ < 0) cli::fail_errno(kTool, "epoll_create1", errno);
    add(listen_fd_, EPOLLIN, kListener);
    add(signal_fd_, EPOLLIN, kSignal);
  }

  void run() {
    std::vector<epoll_event> events(256);
    for (bool stop = false; !stop;) {
      const int n = ::epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()), -1);
      ++totals_.waits;
      if (n < 0) {
        if (errno == EINTR) continue;
        cli::fail_errno(kTool, "epoll_wait", errno);
      }
      for (int i = 0; i < n; ++i) {
        const std::uint64_t key = events[i].data.u64;
        if (key == kListener) {
          accept_all();
        } else if (key == kSignal) {
          stop = true;
        } else if (Connection* c = connection_of(key)) {
          if (events[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) c->readable = true;
          if (events[i].events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) c->peer_shut = true;
          if (events[i].events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) c->writable = true;
          serve(*c);
        }
      }
    }
  }

  void finish(int fds_at_start) {
    for (Connection& c : connections_) {
      if (c.fd >= 0) close_connection(c);
    }
    ::close(epoll_fd_);
    ::close(listen_fd_);
    ::close(signal_fd_);
    std::printf("totals: connections=%" PRIu64 " refused=%" PRIu64 " resets=%" PRIu64 " bytes_in=%" PRIu64
                " bytes_out=%" PRIu64 " recvs=%" PRIu64 " sends=%" PRIu64 " requests=%" PRIu64 " waits=%" PRIu64
                " fds_at_start=%d fds_at_exit=%d\n",
                totals_.connections, totals_.refused, totals_.resets, totals_.bytes_in, totals_.bytes_out,
                totals_.recvs, totals_.sends, totals_.requests, totals_.waits, fds_at_start, count_fds());
    std::fflush(stdout);
  }

 private:
  void add(int fd, std::uint32_t events, std::uint64_t key) {
    epoll_event event{};
    event.events = events;
    event.data.u64 = key;
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &event) != 0) cli::fail_errno(kTool, "epoll_ctl", errno);
  }

  void accept_all() {
    for (;;) {
      const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      ++totals_.requests;
      if (fd < 0) {
        if (errno == EAGAIN || errno == EINTR) return;
        if (errno == ECONNABORTED) continue;
        std::fprintf(stderr, "%s: accept: %s\n", kTool, std::strerror(errno));
        return;  // EMFILE and the like: the listener stays readable, try again later
      }
      if (free_.empty()) {
        ::close(fd);  // over --max-connections
        ++totals_.refused;
        continue;
      }
      const int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      const std::uint32_t slot = free_.back();
      free_.pop_back();
      Connection& c = connections_[slot];
      c.fd = fd;
      ++c.generation;
      if (!c.buffer) c.buffer = std::make_unique<char[]>(buffer_size_);
      c.head = c.tail = 0;
      c.readable = false;
      c.writable = true;
      c.read_done = false;
      c.peer_shut = false;
      ++totals_.connections;
      add(fd, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, (static_cast<std::uint64_t>(c.generation) << 32) | slot);
    }
  }

  // Reads and writes until neither can go on; closes at the end of the
  // stream once everything has been written back, or on an error.
  void serve(Connection& c) {
    for (bool progress = true; progress;) {
      progress = false;
      if (c.readable && !c.read_done && c.tail < buffer_size_) {
        const std::size_t room = buffer_size_ - c.tail;
        const ssize_t got = ::read(c.fd, c.buffer.get() + c.tail, room);
        ++totals_.requests;
        if (got > 0) {
          ++totals_.recvs;
          totals_.bytes_in += static_cast<std::uint64_t>(got);
          c.tail += static_cast<std::size_t>(got);
          // A short read: the socket had no more data. But once the peer
          // has shut down, its end of stream is queued behind that data and
          // brings no new edge: go on reading until read() says 0.
          if (static_cast<std::size_t>(got) < room && !c.peer_shut) c.readable = false;
          progress = true;
        } else if (got == 0) {
          c.read_done = true;
        } else if (errno == EAGAIN) {
          c.readable = false;
        } else if (errno != EINTR) {
          if (errno == ECONNRESET) ++totals_.resets;
          return close_connection(c);
        }
      }
      if (c.writable && c.tail > c.head) {
        const std::size_t left = c.tail - c.head;
        const ssize_t put = ::write(c.fd, c.buffer.get() + c.head, left);
        ++totals_.requests;
        if (put > 0) {
          ++totals_.sends;
          totals_.bytes_out += static_cast<std::uint64_t>(put);
          c.head += static_cast<std::size_t>(put);
          if (c.head == c.tail) c.head = c.tail = 0;
          if (static_cast<std::size_t>(put) < left) c.writable = false;  // the socket is full
          progress = true;
        } else if (put < 0 && errno == EAGAIN) {
          c.writable = false;
        } else if (put < 0 && errno != EINTR) {
          if (errno == ECONNRESET || errno == EPIPE) ++totals_.resets;
          return close_connection(c);
        }
      }
    }
    if (c.read_done && c.head == c.tail) close_connection(c);
  }

  void close_connection(Connection& c) {
    ::close(c.fd);  // also leaves the epoll set
    c.fd = -1;
    free_.push_back(static_cast<std::uint32_t>(&c - connections_.data()));
  }

  Connection* connection_of(std::uint64_t key) {
    const auto slot = static_cast<std::uint32_t>(key);
    if (slot >= connections_.size()) return nullptr;
    Connection& c = connections_[slot];
    if (c.fd < 0 || c.generation != static_cast<std::uint32_t>(key >> 32)) return nullptr;
    return &c;
  }

  std::size_t buffer_size_;
  int listen_fd_, signal_fd_, epoll_fd_ = -1;
  std::vector<Connection> connections_;
  std::vector<std::uint32_t> free_;
  Totals totals_;
};

}  // namespace

int main(int argc, char** argv) {
  const int fds_at_start = count_fds();
  std::uint64_t port = 0, buffer_size = 64 * 1024, max_connections = 1024;
  cli::Parser args(kTool, kUsage);
  args.number("--port", &port, 0, 65535);
  args.number("--buffer-size", &buffer_size, 1, 1 << 30);
  args.number("--max-connections", &max_connections, 1, 65536);
  args.parse(argc, argv, 0, 0);

  rlimit files{};
  ::getrlimit(RLIMIT_NOFILE, &files);
  files.rlim_cur = files.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &files);
  if (max_connections + 16 > files.rlim_cur) {
    cli::fail(kTool, "--max-connections " + std::to_string(max_connections) + " needs " +
                         std::to_string(max_connections + 16) + " open files, and the limit is " +
                         std::to_string(files.rlim_cur) + " (ulimit -n)");
  }

  const int signal_fd = cli::stop_signals_fd(kTool);
  int bound_port = 0;
  const int listen_fd = listen_on(port, &bound_port);
  Server server(buffer_size, max_connections, listen_fd, signal_fd);
  std::printf("listening on 127.0.0.1:%d\n", bound_port);
  std::fflush(stdout);
  server.run();
  server.finish(fds_at_start);
  return 0;
}
