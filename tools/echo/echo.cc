// echo: a TCP echo server on 127.0.0.1, written on io_uring the way the
// kernel wants a network server to be written. Everything goes through one
// ring, one thread, and no request ever blocks the loop:
//
//   * one multishot ACCEPT on the listening socket posts a CQE per new
//     connection (IORING_ACCEPT_MULTISHOT, Linux 5.19);
//   * each connection has one multishot RECV (IORING_RECV_MULTISHOT, 6.0)
//     that selects its buffer from a shared buffer ring (uring::BufferGroup):
//     the kernel picks a buffer only when data arrives, so 10,000 idle
//     connections pin no memory at all;
//   * what arrived is sent back from the very buffer it landed in (SEND, or
//     SENDMSG with one iovec per buffer when several wait), and the buffer
//     is recycled to the kernel once its bytes have gone out; the sends of
//     what one pass of the loop received go in newest first, while those
//     bytes are likeliest to be still in the cache;
//   * the kernel has only a few buffers free at a time, and the buffer
//     sent last goes back first. It takes a ring's buffers in ring order, so
//     with all of them free (--buffers 1024 of 64 KiB: 64 MiB) every
//     receive would land in a buffer last used 1,023 receives ago, long
//     evicted from the cache. So at start the group gives the kernel only a
//     few (at least 8, and 512 KiB: BufferGroupOptions::given_at_start),
//     and echo keeps the ones it has sent in a stack; after
//     each pass it gives the kernel the newest until it has twice what the
//     pass took (doubled after a receive ran dry, decaying slowly) plus one
//     per parked receive. So memory is touched as the load needs it: one
//     busy connection reuses a handful of buffers (not with --incremental,
//     whose buffers are shared by receives and all stay with the kernel);
//   * one send at a time per connection, so the bytes keep their order; a
//     partial send is sent on from where it stopped (MSG_WAITALL makes the
//     kernel retry a short send itself, so that is rare);
//   * when the ring runs out of buffers, the RECV ends with -ENOBUFS and the
//     group's policy (NoBuffersPolicy::recycle_and_retry) says what to do:
//     re-arm now, or park the connection; after each pass rearm_parked()
//     hands back as many parked connections as the kernel has buffers free
//     (a NOP of the group's brings the loop back for the others);
//   * a connection whose peer does not read: its sends wait for room, its
//     received data waits behind them; once --max-queued bytes wait, its
//     RECV is cancelled (TCP flow control then stops the peer) and re-armed
//     when half of it has gone out. So one such client holds at most
//     --max-queued bytes of the group, and the others go on;
//   * a connection ends when its RECV ends (end of stream or an error) and
//     every request that names its fd has completed: only then is the fd
//     closed, so accept can never hand the same number to a new connection
//     while an old request still refers to it;
//   * SIGINT/SIGTERM arrive as a READ of a signalfd on the same ring: cancel
//     everything (IORING_ASYNC_CANCEL_ANY), wait for every CQE, close, print
//     the totals, exit 0.
//
// Large messages: a plain ring of 64 KiB buffers takes a 64 KiB message in
// one or two receives. --bundle (IORING_RECVSEND_BUNDLE, 6.10) lets one
// receive fill several small buffers (sent back with one SENDMSG);
// --incremental (IOU_PBUF_RING_INC, 6.12) lets many receives share one big
// buffer, each taking only the bytes it got.
//
// Many connections with small messages: each receive takes a whole buffer
// however few bytes it got, so use --incremental (or more buffers) there.
//
//   echo --port 0                       first line: listening on 127.0.0.1:PORT
//   tools/load/load --port PORT ...     the load client
//
// The last line, at exit: `totals: connections= (accepted) refused= (over
// --max-connections) resets= bytes_in= bytes_out= recvs= (CQEs with data)
// sends= (SEND/SENDMSG requests) enobufs= (receives ended for want of a
// buffer) parked= pauses= (receives cancelled for --max-queued) requests=
// (SQEs) waits= (submit-and-wait calls) fds_at_start= fds_at_exit=` (equal:
// nothing left open).
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "tools/common/cli.h"
#include "uring/uring.h"

namespace {

constexpr const char* kTool = "echo";
constexpr const char* kUsage =
    "usage: echo [--port N] [--buffer-size N] [--buffers N] [--bundle | --incremental]\n"
    "            [--max-queued N] [--max-connections N] [--sqpoll]\n"
    "A TCP echo server on 127.0.0.1 (io_uring: multishot accept, multishot receive\n"
    "through a buffer ring, send from the received buffer). Prints\n"
    "'listening on 127.0.0.1:PORT' first; SIGINT/SIGTERM stop it and print totals.\n"
    "  --port N             port to listen on (default 0: the kernel picks one)\n"
    "  --buffer-size N      bytes per buffer of the ring (default 64K)\n"
    "  --buffers N          buffers in the ring, 1..32768 (default 512)\n"
    "  --bundle             one receive may fill several buffers (Linux 6.10)\n"
    "  --incremental        receives share a buffer, each taking what it got (Linux 6.12)\n"
    "  --max-queued N       bytes one connection may have waiting to be sent before\n"
    "                       the server stops reading from it (default 1M)\n"
    "  --max-connections N  connections open at once; more are closed at once (default 1024)\n"
    "  --sqpoll             a kernel thread submits (IORING_SETUP_SQPOLL)\n";

constexpr std::uint16_t kGroup = 1;  // the buffer group id every RECV selects from
constexpr unsigned kMaxIov = 32;     // buffers one SENDMSG sends at most
constexpr unsigned kMinFreeBytes = 512 * 1024;  // the kernel always has this much free (at least 8 buffers)

// user_data: what the request is (top 8 bits), the connection's generation
// (24 bits: a stale CQE of a closed connection whose slot was reused is
// recognised) and its slot (low 32 bits).
enum Kind : std::uint64_t { kAccept = 1, kRecv, kSend, kCancel, kSignal, kStop };
std::uint64_t tag(Kind kind, std::uint32_t slot = 0, std::uint32_t generation = 0) {
  return (static_cast<std::uint64_t>(kind) << 56) | (static_cast<std::uint64_t>(generation & 0xffffff) << 32) | slot;
}
Kind kind_of(std::uint64_t user_data) { return static_cast<Kind>(user_data >> 56); }
std::uint32_t slot_of(std::uint64_t user_data) { return static_cast<std::uint32_t>(user_data); }
std::uint32_t generation_of(std::uint64_t user_data) { return static_cast<std::uint32_t>(user_data >> 32) & 0xffffff; }

// Received bytes waiting to be sent back: the view of one CQE (its buffers
// are ours until recycled) and how much of it has gone out.
struct Pending {
  uring::BufferView view;
  std::uint32_t sent = 0;
};

// A first-in first-out list that allocates nothing until used (a
// std::deque allocates on construction, for every idle connection).
struct Fifo {
  std::vector<Pending> items;
  std::size_t head = 0;
  bool empty() const { return head == items.size(); }
  Pending& front() { return items[head]; }
  void push_back(const Pending& p) { items.push_back(p); }
  void pop_front() {
    if (++head == items.size()) {
      items.clear();
      head = 0;
    }
  }
  auto begin() const { return items.begin() + static_cast<std::ptrdiff_t>(head); }
  auto end() const { return items.end(); }
};

struct Connection {
  int fd = -1;                // -1: the slot is free
  std::uint32_t generation = 0;
  bool recv_armed = false;    // its multishot RECV is in the kernel
  bool parked = false;        // its RECV ended with -ENOBUFS; the group re-arms it
  bool read_done = false;     // end of stream or an error: never re-armed
  bool cancel_sent = false;   // its RECV is being cancelled (too much waits to be sent)
  bool send_in_flight = false;
  bool broken = false;        // a send failed: what waits is dropped
  bool send_waiting = false;  // in received_: sent at the end of the pass
  Fifo queue;                 // in arrival order
  std::uint64_t queued = 0;   // bytes in `queue` not yet sent
  // The SENDMSG in flight reads these until its CQE.
  iovec iov[kMaxIov]{};
  msghdr msg{};
};

struct Totals {
  std::uint64_t connections = 0, refused = 0, resets = 0, bytes_in = 0, bytes_out = 0, recvs = 0, sends = 0,
                enobufs = 0, parked = 0, pauses = 0, requests = 0, waits = 0;
};

// The open file descriptors of this process (for the exit check: none left).
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

// A listening socket on 127.0.0.1:port; exits 1 naming the port if it cannot.
int listen_on(std::uint64_t port, int* bound_port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) cli::fail_errno(kTool, "socket", errno);
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);  // restart past TIME_WAIT, not past a listener
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
  struct Options {
    std::uint64_t buffer_size = 64 * 1024, buffers = 512, max_queued = 1 << 20, max_connections = 1024;
    bool bundle = false, incremental = false, sqpoll = false;
  };

  Server(const Options& options, int listen_fd, int signal_fd)
      : options_(options), listen_fd_(listen_fd), signal_fd_(signal_fd) {}

  void run() {
    arm_accept();
    arm_signal();
    using clock = std::chrono::steady_clock;
    clock::time_point stop_deadline{}, next_cancel{};
    while (!finished()) {
      int rc;
      if (!stopping_) {
        rc = ring_.submit_and_wait(1);
      } else {
        // Stopping: every request was cancelled; wait for their CQEs, asking
        // again each second, for at most 10 s.
        if (stop_deadline == clock::time_point{}) stop_deadline = clock::now() + std::chrono::seconds(10);
        if (clock::now() >= next_cancel) {
          uring::prep_cancel_any(sqe()).set_user_data(tag(kStop));
          next_cancel = clock::now() + std::chrono::seconds(1);
        }
        if (clock::now() >= stop_deadline) {
          cli::fail(kTool, "requests still in flight 10 s after they were cancelled");
        }
        rc = ring_.submit_and_wait(1, uring::WaitOptions{.timeout = std::chrono::milliseconds(200)});
        if (rc == -ETIME) rc = 0;
      }
      ++totals_.waits;
      if (rc < 0 && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY) cli::fail_errno(kTool, "io_uring_enter", rc);
      ring_.for_each_cqe([&](const uring::Cqe& cqe) { handle(cqe); });
      send_received();
      top_up();
      // Connections parked on -ENOBUFS, once a recycle gave a buffer back.
      group_.rearm_parked([&](std::uint64_t user_data) {
        if (Connection* c = connection_of(user_data)) {
          c->parked = false;
          update_recv(*c);
          maybe_close(*c);
        }
      });
    }
  }

  // Closes what is left and prints the totals.
  void finish(int fds_at_start) {
    if (uring::Status closed = group_.close(); !closed) cli::fail(kTool, "buffer group: " + closed.error().message);
    ring_.close();
    ::close(listen_fd_);
    ::close(signal_fd_);
    std::printf(
        "totals: connections=%" PRIu64 " refused=%" PRIu64 " resets=%" PRIu64 " bytes_in=%" PRIu64
        " bytes_out=%" PRIu64 " recvs=%" PRIu64 " sends=%" PRIu64 " enobufs=%" PRIu64 " parked=%" PRIu64
        " pauses=%" PRIu64 " requests=%" PRIu64 " waits=%" PRIu64 " fds_at_start=%d fds_at_exit=%d\n",
        totals_.connections, totals_.refused, totals_.resets, totals_.bytes_in, totals_.bytes_out, totals_.recvs,
        totals_.sends, totals_.enobufs, totals_.parked, totals_.pauses, totals_.requests, totals_.waits,
        fds_at_start, count_fds());
    std::fflush(stdout);
  }

  // ---- Setup ---------------------------------------------------------------

  void setup() {
    // Every CQE of every connection fits the CQ with room to spare; if it
    // ever overflows, a multishot request ends on a data CQE
    // (NoBuffersAction::ended_with_data) and is armed again.
    uring::RingOptions ring_options{.entries = 1024, .cq_entries = 16384};
    if (options_.sqpoll) {
      ring_options.sqpoll = true;
    } else {
      // One thread submits and reaps: completions run when we wait, not as
      // interrupts in the middle of our work (DEFER_TASKRUN, 6.1).
      ring_options.single_issuer = true;
      ring_options.defer_taskrun = true;
    }
    auto ring = uring::Ring::create(ring_options);
    if (!ring && !options_.sqpoll) {  // an older kernel: a plain ring
      ring_options.single_issuer = ring_options.defer_taskrun = false;
      ring = uring::Ring::create(ring_options);
    }
    if (!ring) cli::fail(kTool, "io_uring setup: " + ring.error().message);
    ring_ = std::move(*ring);
    if (options_.bundle && !ring_.has_feature(uring::abi::IORING_FEAT_RECVSEND_BUNDLE)) {
      cli::fail(kTool, "--bundle: this kernel has no IORING_FEAT_RECVSEND_BUNDLE (Linux 6.10); run without it");
    }
    min_free_ = std::max(8u, kMinFreeBytes / static_cast<unsigned>(std::min<std::uint64_t>(options_.buffer_size, kMinFreeBytes)));
    min_free_ = std::min(min_free_, static_cast<unsigned>(options_.buffers));
    free_target_ = min_free_;
    auto group = uring::BufferGroup::create_ring(
        ring_, {.group_id = kGroup,
                .buffer_count = static_cast<unsigned>(options_.buffers),
                .buffer_size = static_cast<unsigned>(options_.buffer_size),
                // The rest are given as the demand grows (see top_up); all
                // of them with --incremental, where receives share buffers.
                .given_at_start = options_.incremental ? uring::BufferGroupOptions::kAllBuffers : min_free_,
                .incremental = options_.incremental,
                .no_buffers = uring::NoBuffersPolicy::recycle_and_retry,
                // Every connection may be parked at once.
                .max_parked = static_cast<unsigned>(options_.max_connections)});
    if (!group) {
      cli::fail(kTool, std::string(options_.incremental ? "--incremental: " : "") +
                           "buffer ring: " + group.error().message);
    }
    group_ = std::move(*group);
    if (options_.incremental) slices_.assign(options_.buffers, 0);
    // Never used yet, given by top_up() after the sent ones: lowest id last.
    for (unsigned id = group_.buffer_count(); id-- > group_.kernel_owned_count();) {
      unused_.push_back(static_cast<std::uint16_t>(id));
    }
    connections_.resize(options_.max_connections);
    for (std::uint32_t i = static_cast<std::uint32_t>(options_.max_connections); i-- > 0;) free_.push_back(i);
  }

 private:
  // The next SQE; when the SQ is full, submit what is there first.
  uring::Sqe& sqe() {
    uring::Sqe* sqe;
    while ((sqe = ring_.get_sqe()) == nullptr) {
      const int rc = ring_.submit();
      if (rc < 0 && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY) cli::fail_errno(kTool, "io_uring_enter", rc);
    }
    ++totals_.requests;
    return *sqe;
  }

  // ---- Arming requests -------------------------------------------------------

  void arm_accept() {
    uring::prep_accept_multishot(sqe(), listen_fd_, nullptr, nullptr, SOCK_CLOEXEC).set_user_data(tag(kAccept));
    accept_armed_ = true;
  }

  void arm_signal() {
    uring::prep_read(sqe(), signal_fd_, &siginfo_, sizeof siginfo_, 0).set_user_data(tag(kSignal));
    signal_armed_ = true;
  }

  // Arms the connection's RECV when it may read, or cancels it when too much
  // waits to be sent (it is armed again once half of that has gone out).
  void update_recv(Connection& c) {
    const std::uint32_t slot = slot_index(c);
    if (c.recv_armed) {
      if (c.queued >= options_.max_queued && !c.cancel_sent && !stopping_) {
        uring::prep_cancel(sqe(), tag(kRecv, slot, c.generation)).set_user_data(tag(kCancel, slot, c.generation));
        c.cancel_sent = true;
        ++totals_.pauses;
      }
      return;
    }
    if (stopping_ || c.fd < 0 || c.parked || c.read_done || c.broken || c.queued > options_.max_queued / 2) return;
    uring::Sqe& s = sqe();
    if (options_.bundle) {
      uring::prep_recv_bundle_multishot(s, c.fd, 0, kGroup);
    } else {
      uring::prep_recv_multishot(s, c.fd, 0, kGroup);
    }
    s.set_user_data(tag(kRecv, slot, c.generation));
    c.recv_armed = true;
  }

  // One send of what waits at the head of the queue: up to kMaxIov buffers.
  void send_queued(Connection& c) {
    if (c.send_in_flight || c.broken || stopping_ || c.queue.empty()) return;
    unsigned n = 0;
    std::size_t bytes = 0;
    for (const Pending& p : c.queue) {
      std::uint32_t skip = p.sent;
      group_.for_each_segment(p.view, [&](std::span<unsigned char> segment) {
        if (n == kMaxIov) return;
        if (skip >= segment.size()) {
          skip -= static_cast<std::uint32_t>(segment.size());
          return;
        }
        c.iov[n++] = {segment.data() + skip, segment.size() - skip};
        bytes += segment.size() - skip;
        skip = 0;
      });
      if (n == kMaxIov) break;
    }
    uring::Sqe& s = sqe();
    if (n == 1) {
      uring::prep_send(s, c.fd, c.iov[0].iov_base, uring::SocketLength::at_most(bytes), MSG_WAITALL);
    } else {
      c.msg = {};
      c.msg.msg_iov = c.iov;
      c.msg.msg_iovlen = n;
      uring::prep_sendmsg(s, c.fd, &c.msg, MSG_WAITALL);
    }
    s.set_user_data(tag(kSend, slot_index(c), c.generation));
    c.send_in_flight = true;
    ++totals_.sends;
  }

  // ---- Completions -----------------------------------------------------------

  void handle(const uring::Cqe& cqe) {
    // The group's own: rearm_parked's wake-up NOP (some parked connections
    // were handed a free buffer, others still wait: come back round).
    if (group_.is_internal(cqe)) return (void)group_.handle_internal(cqe);
    switch (kind_of(cqe.user_data)) {
      case kAccept: return on_accept(cqe);
      case kSignal: return on_signal(cqe);
      case kRecv:
        if (Connection* c = connection_of(cqe.user_data)) return on_recv(*c, cqe);
        return lost(cqe);
      case kSend:
        if (Connection* c = connection_of(cqe.user_data)) return on_send(*c, cqe);
        return lost(cqe);
      case kCancel:
      case kStop:
        return;  // 0, -ENOENT (it had ended), -EALREADY: the target's own CQE tells
    }
    cli::fail(kTool, "a CQE with an unknown user_data " + std::to_string(cqe.user_data));
  }

  // A CQE for a connection that is closed: cannot happen, since a slot is
  // freed only once none of its requests is in flight.
  [[noreturn]] void lost(const uring::Cqe& cqe) {
    cli::fail(kTool, "a CQE (result " + std::to_string(cqe.res) + ") for a connection already closed");
  }

  void on_accept(const uring::Cqe& cqe) {
    if (cqe.res >= 0) {
      const int fd = cqe.res;
      if (stopping_ || free_.empty()) {
        ::close(fd);  // over --max-connections: the client sees its connection closed
        ++totals_.refused;
      } else {
        const int one = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);  // echo small messages at once
        const std::uint32_t slot = free_.back();
        free_.pop_back();
        Connection& c = connections_[slot];
        const std::uint32_t generation = c.generation + 1;
        c = Connection{};
        c.fd = fd;
        c.generation = generation;
        ++totals_.connections;
        update_recv(c);
      }
    } else if (cqe.res != -ECANCELED) {
      std::fprintf(stderr, "%s: accept: %s\n", kTool, std::strerror(-cqe.res));
    }
    if (!cqe.more()) {
      accept_armed_ = false;
      if (!stopping_) arm_accept();  // ended (an error, or the CQ was full): again
    }
  }

  void on_signal(const uring::Cqe& cqe) {
    signal_armed_ = false;
    if (cqe.res == -EINTR || cqe.res == -EAGAIN) {
      if (!stopping_) arm_signal();
      return;
    }
    if (!stopping_) stop();
  }

  // Cancel everything; connections with nothing in flight close now, the
  // others as their CQEs come back.
  void stop() {
    stopping_ = true;
    if (signal_armed_) uring::prep_cancel(sqe(), tag(kSignal)).set_user_data(tag(kStop));
    for (Connection& c : connections_) maybe_close(c);
  }

  void on_recv(Connection& c, const uring::Cqe& cqe) {
    const uring::Bundle bundle = options_.bundle ? uring::Bundle::yes : uring::Bundle::no;
    if (cqe.has_buffer()) {
      const uring::BufferView view = group_.take(cqe, bundle);
      if (!view.ok()) cli::fail(kTool, std::string("take: ") + uring::describe(view.error));
      ++totals_.recvs;
      taken_this_pass_ += view.segments;
      totals_.bytes_in += view.size;
      if (options_.incremental) ++slices_[view.id];
      if (c.broken || stopping_ || view.size == 0) {
        release(view);
      } else {
        c.queue.push_back({view, 0});
        c.queued += view.size;
      }
    }
    if (!cqe.more()) {
      c.recv_armed = false;
      c.cancel_sent = false;
      if (cqe.res == -ENOBUFS) {
        ++totals_.enobufs;
        ran_dry_this_pass_ = true;
      }
      switch (group_.on_multishot_end(cqe, bundle)) {
        case uring::NoBuffersAction::rearm_now:
        case uring::NoBuffersAction::ended_with_data:
          break;  // update_recv below arms it again
        case uring::NoBuffersAction::parked:
          c.parked = true;
          ++totals_.parked;
          break;
        case uring::NoBuffersAction::fail:  // more parked than connections: cannot happen
          cli::fail(kTool, "the buffer group refused to park a receive");
        case uring::NoBuffersAction::not_enobufs:
          // -ECANCELED: we paused it (or are stopping); anything else ends it:
          // 0 is the end of the stream, -ECONNRESET a peer that reset.
          if (cqe.res != -ECANCELED) c.read_done = true;
          if (cqe.res == -ECONNRESET) ++totals_.resets;
          break;
      }
    }
    if (!c.send_waiting && !c.queue.empty()) {
      c.send_waiting = true;
      received_.push_back(static_cast<std::uint64_t>(c.generation) << 32 | slot_index(c));
    }
    update_recv(c);
    maybe_close(c);
  }

  void on_send(Connection& c, const uring::Cqe& cqe) {
    c.send_in_flight = false;
    if (cqe.res < 0) {
      // The peer is gone (-EPIPE, -ECONNRESET) or we are stopping
      // (-ECANCELED): drop what waits; the RECV ends too.
      if (cqe.res == -ECONNRESET || cqe.res == -EPIPE) ++totals_.resets;
      c.broken = true;
      while (!c.queue.empty()) {
        release(c.queue.front().view);
        c.queue.pop_front();
      }
      c.queued = 0;
      if (c.recv_armed && !c.cancel_sent && !stopping_) {
        uring::prep_cancel(sqe(), tag(kRecv, slot_index(c), c.generation))
            .set_user_data(tag(kCancel, slot_index(c), c.generation));
        c.cancel_sent = true;
      }
    } else {
      auto sent = static_cast<std::uint64_t>(cqe.res);
      totals_.bytes_out += sent;
      c.queued -= sent;
      while (sent > 0) {  // whole views gone out are recycled; a partial one is sent on
        Pending& head = c.queue.front();
        const std::uint64_t left = head.view.size - head.sent;
        if (sent < left) {
          head.sent += static_cast<std::uint32_t>(sent);
          break;
        }
        sent -= left;
        release(head.view);
        c.queue.pop_front();
      }
    }
    send_queued(c);
    update_recv(c);
    maybe_close(c);
  }

  // The sends of what this pass received, newest first: its bytes are the
  // likeliest to be still in the cache.
  void send_received() {
    for (std::size_t i = received_.size(); i-- > 0;) {
      const std::uint64_t key = received_[i];
      Connection& c = connections_[static_cast<std::uint32_t>(key)];
      c.send_waiting = false;
      if (c.fd < 0 || c.generation != static_cast<std::uint32_t>(key >> 32)) continue;
      send_queued(c);
      update_recv(c);
      maybe_close(c);
    }
    received_.clear();
  }

  // After each pass: the kernel gets held buffers back, the one sent last
  // first, until it has free_target_ free, plus one for each parked
  // receive. The target follows the demand: twice what this pass took,
  // doubled when a receive ran dry, decaying by 1/16 a pass, never below
  // min_free_.
  void top_up() {
    unsigned target = std::max({min_free_, 2 * taken_this_pass_, free_target_ - free_target_ / 16});
    if (ran_dry_this_pass_) target = std::max(target, 2 * free_target_);
    free_target_ = std::min(target, group_.buffer_count());
    taken_this_pass_ = 0;
    ran_dry_this_pass_ = false;
    const unsigned wanted = free_target_ + group_.parked_count();
    while (!spare_.empty() && group_.kernel_owned_count() < wanted) {
      recycle_now(spare_.back());
      spare_.pop_back();
    }
    while (!unused_.empty() && group_.kernel_owned_count() < wanted) {
      if (uring::BufferError error = group_.recycle(unused_.back()); error != uring::BufferError::none) {
        cli::fail(kTool, std::string("recycle: ") + uring::describe(error));
      }
      unused_.pop_back();
    }
  }

  void recycle_now(const uring::BufferView& view) {
    if (uring::BufferError error = group_.recycle(view); error != uring::BufferError::none) {
      cli::fail(kTool, std::string("recycle: ") + uring::describe(error));
    }
  }

  // The view's buffers go back to the kernel. On an incremental ring a
  // buffer holds the bytes of several receives (of any connections) and is
  // ours only after the CQE without IORING_CQE_F_BUF_MORE: it goes back when
  // that has happened and the last of its receives has been sent.
  void release(const uring::BufferView& view) {
    uring::BufferError error;
    if (options_.incremental) {
      if (--slices_[view.id] != 0 || group_.kernel_owns(view.id)) return;
      error = group_.recycle(view.id);
    } else {
      if (!stopping_ && group_.parked_count() == 0 && group_.kernel_owned_count() >= free_target_) {
        spare_.push_back(view);  // the kernel has enough: held, given back by top_up()
        return;
      }
      error = group_.recycle(view);
    }
    if (error != uring::BufferError::none) cli::fail(kTool, std::string("recycle: ") + uring::describe(error));
  }

  // Closes the connection once nothing of it is in flight and it is done:
  // read to the end with everything sent back, broken, or stopping.
  void maybe_close(Connection& c) {
    if (c.fd < 0 || c.recv_armed || c.send_in_flight) return;
    if (!stopping_ && !c.broken && !(c.read_done && c.queue.empty())) return;
    while (!c.queue.empty()) {
      release(c.queue.front().view);
      c.queue.pop_front();
    }
    ::close(c.fd);
    c.fd = -1;
    free_.push_back(slot_index(c));
  }

  // ---- Bookkeeping -----------------------------------------------------------

  std::uint32_t slot_index(const Connection& c) const {
    return static_cast<std::uint32_t>(&c - connections_.data());
  }
  Connection* connection_of(std::uint64_t user_data) {
    const std::uint32_t slot = slot_of(user_data);
    if (slot >= connections_.size()) return nullptr;
    Connection& c = connections_[slot];
    if (c.fd < 0 || (c.generation & 0xffffff) != generation_of(user_data)) return nullptr;
    return &c;
  }
  bool finished() const {
    return stopping_ && !accept_armed_ && !signal_armed_ && free_.size() == connections_.size();
  }

  Options options_;
  int listen_fd_;
  int signal_fd_;
  signalfd_siginfo siginfo_{};
  uring::Ring ring_;
  uring::BufferGroup group_;  // after ring_: destroyed first
  std::vector<Connection> connections_;
  std::vector<std::uint32_t> free_;     // free slots
  std::vector<std::uint32_t> slices_;   // --incremental: receives not yet sent, per buffer
  std::vector<std::uint64_t> received_;  // generation << 32 | slot: got data this pass
  std::vector<uring::BufferView> spare_;  // ours, sent, not given back yet; newest last
  std::vector<std::uint16_t> unused_;     // ours, never given to the kernel yet (given_at_start)
  unsigned min_free_ = 0, free_target_ = 0, taken_this_pass_ = 0;  // buffers (see top_up)
  bool ran_dry_this_pass_ = false;
  bool accept_armed_ = false, signal_armed_ = false, stopping_ = false;
  Totals totals_;
};

}  // namespace

int main(int argc, char** argv) {
  const int fds_at_start = count_fds();
  Server::Options options;
  std::uint64_t port = 0;
  cli::Parser args(kTool, kUsage);
  args.number("--port", &port, 0, 65535);
  args.number("--buffer-size", &options.buffer_size, 1, 1 << 30);
  args.number("--buffers", &options.buffers, 1, 32768);
  args.number("--max-queued", &options.max_queued, 1, std::uint64_t{1} << 40);
  args.number("--max-connections", &options.max_connections, 1, 65536);
  args.flag("--bundle", &options.bundle);
  args.flag("--incremental", &options.incremental);
  args.flag("--sqpoll", &options.sqpoll);
  args.parse(argc, argv, 0, 0);
  if (options.bundle && options.incremental) args.usage_error("--bundle and --incremental: choose one");
  if (options.buffer_size * options.buffers > (std::uint64_t{1} << 34)) {
    args.usage_error("--buffer-size x --buffers is more than 16 GiB");
  }

  // Room for every connection in the fd table: raise the soft limit to the hard one.
  rlimit files{};
  ::getrlimit(RLIMIT_NOFILE, &files);
  files.rlim_cur = files.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &files);
  if (options.max_connections + 16 > files.rlim_cur) {
    cli::fail(kTool, "--max-connections " + std::to_string(options.max_connections) + " needs " +
                         std::to_string(options.max_connections + 16) + " open files, and the limit is " +
                         std::to_string(files.rlim_cur) + " (ulimit -n)");
  }

  // The signalfd is read through the ring with a READ; a blocking fd lets the
  // kernel wait for it (poll-driven) instead of answering -EAGAIN at once.
  const int signal_fd = cli::stop_signals_fd(kTool);
  ::fcntl(signal_fd, F_SETFL, ::fcntl(signal_fd, F_GETFL) & ~O_NONBLOCK);
  int bound_port = 0;
  const int listen_fd = listen_on(port, &bound_port);

  Server server(options, listen_fd, signal_fd);
  server.setup();
  std::printf("listening on 127.0.0.1:%d\n", bound_port);
  std::fflush(stdout);
  server.run();
  server.finish(fds_at_start);
  return 0;
}
