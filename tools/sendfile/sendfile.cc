// tools/sendfile: serve one file to every TCP client that connects, with
// sendfile(2) done by io_uring SPLICEs.
//
//   sendfile [--port N] [--pipe-size N] [--max-clients N] [--idle-timeout-ms N] [--once] FILE
//
// It listens on 127.0.0.1 (--port 0, the default, lets the kernel pick; the
// first line on stdout is `listening on 127.0.0.1:PORT`), and each client
// that connects gets the whole file, then the connection closes. Clients are
// served at the same time, all from one thread and one ring: each has a
// uring::FileSender (uring/sendfile.h), the state machine that moves the
// file through a pipe of its own with SPLICE file -> pipe linked to SPLICE
// pipe -> socket, one pipe-sized chunk after another. What the program does
// is the event loop around it:
//
//   ACCEPT          a client: make its FileSender, queue its first chunk,
//                   ACCEPT again (at most --max-clients at once);
//   a client's CQE  sender.on_cqe(cqe): in_flight (its other CQE is due),
//                   ready (queue the next step), finished or failed (close
//                   the connection, print one line);
//   READ signalfd   SIGINT/SIGTERM: cancel the ACCEPT, shutdown(2) every
//                   client socket so its splices end at once (blocked in an
//                   io-wq worker, a splice wakes when its socket shuts down),
//                   wait for every CQE, print the totals, exit 0;
//   TIMEOUT tick    (multishot, every --idle-timeout-ms / 4, 10 ms..1 s): a
//                   client whose transfer made no progress for
//                   --idle-timeout-ms (it connected and does not read) is
//                   shut down the same way and logged, and its slot is free
//                   for the next: --max-clients stalled clients lock nobody
//                   out.
//
// user_data: kAccept and kSignal for the two fixed requests, and for client
// slot i the FileSender's pair base(i) = (i + 1) << 4 and base(i) | 1.
//
// A client that goes away early gives its sender -EPIPE or -ECONNRESET: the
// line on stderr says so and how far it got, and serving goes on (a client
// the server itself ended says "stopped" or "no progress for N ms"). SIGPIPE
// is ignored (a splice cannot say MSG_NOSIGNAL): the CQE carries the error.
// --once: stop after the first client (exit 0 if it got the whole file,
// else 1). The last stdout line is always the totals:
//   totals: clients=N complete=N failed=N bytes=N
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "tools/common/cli.h"
#include "uring/uring.h"

namespace {

constexpr const char* kTool = "sendfile";
constexpr const char* kUsage =
    "usage: sendfile [--port N] [--pipe-size N] [--max-clients N] [--idle-timeout-ms N] [--once] FILE\n"
    "Listens on 127.0.0.1 and sends FILE to every client that connects, with\n"
    "io_uring SPLICE file -> pipe -> socket; prints a line per client and the\n"
    "totals on SIGINT/SIGTERM.\n"
    "  --port N         TCP port (0, the default: the kernel picks one)\n"
    "  --pipe-size N    each client's pipe, bytes (F_SETPIPE_SZ; K/M suffixes;\n"
    "                   default: the kernel's, 64K); one chunk fills it\n"
    "  --max-clients N  clients served at once (1..1024; default 64)\n"
    "  --idle-timeout-ms N  cut off a client whose transfer makes no progress\n"
    "                   for this long (default 30000)\n"
    "  --once           exit after the first client (status 0 if it got it all)\n";

constexpr std::uint64_t kAccept = 1;
constexpr std::uint64_t kSignal = 3;
constexpr std::uint64_t kCancel = 5;  // the ASYNC_CANCEL of the ACCEPT (its CQE is ignored)
constexpr std::uint64_t kTick = 7;    // the multishot TIMEOUT that checks for idle clients

std::uint64_t base(std::size_t slot) { return (static_cast<std::uint64_t>(slot) + 1) << 4; }
// The slot whose sender a user_data belongs to, or SIZE_MAX for the fixed ones.
std::size_t slot_of(std::uint64_t user_data) {
  return user_data < (1u << 4) ? SIZE_MAX : static_cast<std::size_t>((user_data >> 4) - 1);
}

struct Client {
  int fd = -1;  // -1: a free slot
  std::string peer;
  uring::FileSender sender;
  std::chrono::steady_clock::time_point start;
  std::uint64_t sent_at_progress = 0;                    // sender.sent() when it last moved
  std::chrono::steady_clock::time_point last_progress;  // and when
  enum class Cut { no, idle, stopped } cut = Cut::no;   // ended by the server, and why
};

class Server {
 public:
  Server(int file_fd, std::uint64_t file_size, int listen_fd, int signal_fd, const uring::FileSenderOptions& options,
         std::size_t max_clients, std::uint64_t idle_ms, bool once)
      : file_fd_(file_fd),
        file_size_(file_size),
        listen_fd_(listen_fd),
        signal_fd_(signal_fd),
        options_(options),
        idle_ms_(idle_ms),
        once_(once),
        clients_(max_clients) {}

  // Runs until a stop signal (or, with --once, the first client's end);
  // returns the exit status.
  int run(uring::Ring& ring) {
    ring_ = &ring;
    prep_read(sqe(), signal_fd_, &siginfo_, sizeof siginfo_, 0).set_user_data(kSignal);
    arm_accept();
    const std::uint64_t every = std::clamp<std::uint64_t>(idle_ms_ / 4, 10, 1000);
    tick_ts_.tv_sec = static_cast<std::int64_t>(every / 1000);
    tick_ts_.tv_nsec = static_cast<long long>(every % 1000) * 1000000;
    uring::prep_timeout_multishot(sqe(), &tick_ts_, 0).set_user_data(kTick);
    tick_pending_ = true;
    for (;;) {
      if (stopping_ && !accept_pending_ && active_ == 0 && !tick_pending_) {
        // Every client is done. Stopped by --once, the READ on the signalfd
        // is left: cancel it too, and end when nothing is in flight.
        if (signal_pending_ && !signal_cancelled_) {
          uring::prep_cancel(sqe(), kSignal).set_user_data(kCancel);
          ++cancels_pending_;
          signal_cancelled_ = true;
        }
        if (!signal_pending_ && cancels_pending_ == 0) break;
      }
      const int ret = ring.submit_and_wait(1);
      if (ret < 0 && ret != -EINTR && ret != -EAGAIN && ret != -EBUSY) {
        cli::fail_errno(kTool, "io_uring_enter", ret);  // the others: reap, then again
      }
      ring.for_each_cqe([&](const uring::Cqe& cqe) { dispatch(cqe); });
    }
    std::printf("totals: clients=%llu complete=%llu failed=%llu bytes=%llu\n",
                static_cast<unsigned long long>(complete_ + failed_), static_cast<unsigned long long>(complete_),
                static_cast<unsigned long long>(failed_), static_cast<unsigned long long>(bytes_));
    std::fflush(stdout);
    if (once_) return complete_ == 1 ? 0 : 1;
    return 0;
  }

 private:
  uring::Sqe& sqe() {
    uring::Sqe* sqe = ring_->get_sqe();
    if (sqe == nullptr) {
      // Full: hand what is queued to the kernel, which frees the entries.
      (void)ring_->submit();
      sqe = ring_->get_sqe();
    }
    if (sqe == nullptr) cli::fail(kTool, "the submission queue stays full (a bug)");
    return *sqe;
  }

  // The client's next step (a chunk, a drain or a wait) on the SQ.
  void queue_step(std::size_t slot) {
    int queued = clients_[slot].sender.queue(*ring_, base(slot));
    if (queued == -EBUSY) {  // no room for its SQEs: submit what is queued, then again
      (void)ring_->submit();
      queued = clients_[slot].sender.queue(*ring_, base(slot));
    }
    if (queued < 0) cli::fail_errno(kTool, "FileSender::queue", queued);
  }

  void arm_accept() {
    if (stopping_ || accept_pending_ || active_ == clients_.size()) return;
    peer_length_ = sizeof peer_;
    uring::prep_accept(sqe(), listen_fd_, reinterpret_cast<sockaddr*>(&peer_), &peer_length_, SOCK_CLOEXEC)
        .set_user_data(kAccept);
    accept_pending_ = true;
  }

  void dispatch(const uring::Cqe& cqe) {
    const std::uint64_t data = cqe.data();
    if (data == kAccept) return on_accept(cqe.result());
    if (data == kSignal) {
      signal_pending_ = false;
      if (cqe.result() != -ECANCELED) stop();  // SIGINT or SIGTERM
      return;
    }
    if (data == kCancel) {
      --cancels_pending_;  // 0 or -ENOENT/-EALREADY: the target's own CQE says the rest
      return;
    }
    if (data == kTick) {
      if (!cqe.more()) tick_pending_ = false;
      // Still ticking after the stop's TIMEOUT_REMOVE (it met the timer
      // as it fired: -EALREADY): ask again.
      if (stopping_ && tick_pending_) {
        uring::prep_timeout_remove(sqe(), kTick).set_user_data(kCancel);
        ++cancels_pending_;
      }
      return on_tick();
    }
    const std::size_t slot = slot_of(data);
    if (slot >= clients_.size() || clients_[slot].fd < 0) return;
    Client& client = clients_[slot];
    if (!client.sender.owns(data)) return;
    switch (client.sender.on_cqe(cqe)) {
      case uring::SendState::in_flight:
        break;
      case uring::SendState::ready:
        queue_step(slot);
        break;
      case uring::SendState::finished:
      case uring::SendState::failed:
        end(slot);
        break;
    }
  }

  void on_accept(int result) {
    accept_pending_ = false;
    if (result < 0) {
      if (result != -ECANCELED && !stopping_) {
        std::fprintf(stderr, "%s: accept: %s\n", kTool, std::strerror(-result));
      }
      // EMFILE and friends: accept again once a client ends and frees its
      // fds (end() re-arms); with no client, at once (ECONNABORTED).
      if (active_ == 0) arm_accept();
      return;
    }
    std::size_t slot = 0;
    while (clients_[slot].fd >= 0) ++slot;  // arm_accept() left a slot free
    Client& client = clients_[slot];
    char address[INET_ADDRSTRLEN] = "?";
    ::inet_ntop(AF_INET, &peer_.sin_addr, address, sizeof address);
    client.peer = std::string(address) + ":" + std::to_string(ntohs(peer_.sin_port));
    client.start = std::chrono::steady_clock::now();
    client.last_progress = client.start;
    client.sent_at_progress = 0;
    client.cut = Client::Cut::no;
    auto sender = uring::FileSender::create(file_fd_, result, 0, file_size_, options_);
    if (!sender) {
      std::fprintf(stderr, "%s: client %s: %s\n", kTool, client.peer.c_str(), sender.error().message.c_str());
      ::close(result);
      ++failed_;
      if (once_) stop();
      arm_accept();
      return;
    }
    client.fd = result;
    client.sender = std::move(*sender);
    ++active_;
    if (client.sender.state() == uring::SendState::finished) {
      end(slot);  // an empty file: nothing to send
    } else {
      queue_step(slot);
    }
    if (once_) stopping_ = true;  // no second client; the loop ends when this one does
    arm_accept();
  }

  // The client's sender finished or failed: close, report, free the slot.
  void end(std::size_t slot) {
    Client& client = clients_[slot];
    const uring::FileSender& sender = client.sender;
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - client.start).count();
    bytes_ += sender.sent();
    if (sender.state() == uring::SendState::finished && !sender.reached_eof()) {
      ++complete_;
      std::printf("client %s: sent %llu bytes in %.3f s\n", client.peer.c_str(),
                  static_cast<unsigned long long>(sender.sent()), seconds);
      std::fflush(stdout);
    } else {
      ++failed_;
      const std::string why = sender.state() == uring::SendState::finished ? std::string("the file ended early (it shrank)")
                              : client.cut == Client::Cut::stopped ? std::string("stopped")
                              : client.cut == Client::Cut::idle
                                  ? "no progress for " + std::to_string(idle_ms_) + " ms (--idle-timeout-ms), cut off"
                                  : std::string(std::strerror(-sender.error()));
      std::fprintf(stderr, "%s: client %s: %s after %llu of %llu bytes\n", kTool, client.peer.c_str(),
                   why.c_str(), static_cast<unsigned long long>(sender.sent()),
                   static_cast<unsigned long long>(sender.length()));
    }
    client.sender = uring::FileSender();  // closes its pipe (nothing in flight now)
    ::close(client.fd);
    client.fd = -1;
    --active_;
    if (once_) stop();
    arm_accept();
  }

  // Every tick: a client whose sender has not moved for --idle-timeout-ms
  // is shut down (its splices end with an error, end() logs why).
  void on_tick() {
    if (stopping_) return;
    const auto now = std::chrono::steady_clock::now();
    for (Client& client : clients_) {
      if (client.fd < 0 || client.cut != Client::Cut::no) continue;
      if (client.sender.sent() != client.sent_at_progress) {
        client.sent_at_progress = client.sender.sent();
        client.last_progress = now;
      } else if (now - client.last_progress >= std::chrono::milliseconds(idle_ms_)) {
        client.cut = Client::Cut::idle;
        ::shutdown(client.fd, SHUT_RDWR);
      }
    }
  }

  // SIGINT/SIGTERM (or --once done): no new clients, and every client's
  // splices end now.
  void stop() {
    if (!stopping_ && tick_pending_) {
      uring::prep_timeout_remove(sqe(), kTick).set_user_data(kCancel);
      ++cancels_pending_;
    }
    stopping_ = true;
    if (accept_pending_ && !accept_cancelled_) {
      uring::prep_cancel(sqe(), kAccept).set_user_data(kCancel);
      ++cancels_pending_;
      accept_cancelled_ = true;
    }
    for (Client& client : clients_) {
      if (client.fd < 0) continue;
      if (client.cut == Client::Cut::no) client.cut = Client::Cut::stopped;
      ::shutdown(client.fd, SHUT_RDWR);
    }
  }

  int file_fd_;
  std::uint64_t file_size_;
  int listen_fd_;
  int signal_fd_;
  uring::FileSenderOptions options_;
  std::uint64_t idle_ms_;
  bool once_;
  std::vector<Client> clients_;
  uring::Ring* ring_ = nullptr;
  std::size_t active_ = 0;
  bool stopping_ = false;
  bool accept_pending_ = false;
  bool signal_pending_ = true;  // the READ on the signalfd is in flight
  bool signal_cancelled_ = false;
  bool accept_cancelled_ = false;
  bool tick_pending_ = false;  // the multishot TIMEOUT is armed
  uring::abi::kernel_timespec tick_ts_{};
  unsigned cancels_pending_ = 0;
  sockaddr_in peer_{};
  socklen_t peer_length_ = 0;
  signalfd_siginfo siginfo_{};
  std::uint64_t complete_ = 0, failed_ = 0, bytes_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  cli::Parser args(kTool, kUsage);
  std::uint64_t port = 0, pipe_size = 0, max_clients = 64, idle_ms = 30000;
  bool once = false;
  args.number("--port", &port, 0, 65535);
  args.number("--pipe-size", &pipe_size, 1, 1u << 30);
  args.number("--max-clients", &max_clients, 1, 1024);
  args.number("--idle-timeout-ms", &idle_ms, 1, 24ull * 3600 * 1000);
  args.flag("--once", &once);
  const std::string name = args.parse(argc, argv, 1, 1)[0];

  const int signal_fd = cli::stop_signals_fd(kTool);
  std::signal(SIGPIPE, SIG_IGN);  // a client gone shows up as -EPIPE in the CQE

  // O_NONBLOCK: opening a FIFO must not wait for a writer (with the stop
  // signals blocked, forever); it is refused next, as not a regular file.
  const int file_fd = ::open(name.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (file_fd < 0) cli::fail_errno(kTool, name, errno);
  struct stat st;
  if (::fstat(file_fd, &st) != 0) cli::fail_errno(kTool, name, errno);
  if (!S_ISREG(st.st_mode)) cli::fail(kTool, name + ": not a regular file");
  (void)::fcntl(file_fd, F_SETFL, ::fcntl(file_fd, F_GETFL) & ~O_NONBLOCK);

  const uring::FileSenderOptions options{.pipe_size = static_cast<std::uint32_t>(pipe_size)};
  {
    // The pipe size is checked once here, so that a bad one is a startup error.
    auto check = uring::FileSender::create(file_fd, file_fd, 0, 0, options);
    if (!check) cli::fail(kTool, "--pipe-size " + std::to_string(pipe_size) + ": " + check.error().message);
  }

  const int listen_fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd < 0) cli::fail_errno(kTool, "socket", errno);
  const int one = 1;
  (void)::setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  if (::bind(listen_fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    cli::fail_errno(kTool, "127.0.0.1:" + std::to_string(port), errno);
  }
  if (::listen(listen_fd, 128) != 0) cli::fail_errno(kTool, "listen", errno);
  socklen_t length = sizeof address;
  if (::getsockname(listen_fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    cli::fail_errno(kTool, "getsockname", errno);
  }

  // Two requests per client at most, plus the ACCEPT, the signal READ, the
  // tick and the cancels.
  auto ring = uring::Ring::create({.entries = static_cast<unsigned>(2 * max_clients + 8)});
  if (!ring) cli::fail(kTool, ring.error().message);

  std::printf("listening on 127.0.0.1:%u\n", static_cast<unsigned>(ntohs(address.sin_port)));
  std::fflush(stdout);

  Server server(file_fd, static_cast<std::uint64_t>(st.st_size), listen_fd, signal_fd, options,
                static_cast<std::size_t>(max_clients), idle_ms, once);
  const int status = server.run(*ring);
  ring->close();
  ::close(listen_fd);
  ::close(file_fd);
  ::close(signal_fd);
  return status;
}
