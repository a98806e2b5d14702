// uring::FileSender and send_file (uring/sendfile.h): file ranges reach a
// TCP or UNIX stream socket byte-identical, through pipes of any size, at any
// offset; a short splice is drained, a peer that goes away ends the transfer
// with -EPIPE/-ECONNRESET in bounded time; other requests on the ring are
// untouched; no descriptor is left behind. Also the kernel rules the sender
// is built on (a short SPLICE cancels its link; O_NONBLOCK sockets answer
// -EAGAIN), asserted directly.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <optional>
#include <thread>

#include "tests/files/files_test_util.h"
#include "tests/support/kernel_features.h"
#include "uring/sendfile.h"

using namespace uring;
using namespace uring::files_test;

namespace {

constexpr std::uint64_t kBase = 0x5000;

// A descriptor closed at scope exit, movable (to return pairs and files).
class OwnedFd {
 public:
  explicit OwnedFd(int fd = -1) : fd_(fd) {}
  OwnedFd(OwnedFd&& other) noexcept : fd_(other.release()) {}
  OwnedFd& operator=(OwnedFd&& other) noexcept {
    if (this != &other) reset(other.release());
    return *this;
  }
  ~OwnedFd() { reset(); }
  int get() const { return fd_; }
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }
  int release() {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_;
};

// A connected stream pair: `send` is the sender's end, `recv` the peer's.
struct SocketPair {
  OwnedFd send, recv;
};

SocketPair tcp_pair() {
  OwnedFd listener(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  REQUIRE(listener.get() >= 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(listener.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  REQUIRE(::listen(listener.get(), 1) == 0);
  socklen_t length = sizeof address;
  REQUIRE(::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&address), &length) == 0);
  SocketPair pair;
  pair.recv.reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  REQUIRE(::connect(pair.recv.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  pair.send.reset(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
  REQUIRE(pair.send.get() >= 0);
  return pair;
}

SocketPair unix_pair() {
  int fds[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0);
  SocketPair pair;
  pair.send.reset(fds[0]);
  pair.recv.reset(fds[1]);
  return pair;
}

SocketPair make_pair(bool tcp) { return tcp ? tcp_pair() : unix_pair(); }

// Reads everything from `fd` on its own thread until end of stream (or,
// with close_after, closes `fd` once that many bytes came). Every wait is
// bounded: 20 s without a byte ends it with timed_out.
class Reader {
 public:
  // With start_now false it reads nothing until `start` is set.
  explicit Reader(int fd, std::size_t close_after = SIZE_MAX, int delay_ms = 0, bool start_now = true)
      : start(start_now), fd_(fd), close_after_(close_after), delay_ms_(delay_ms) {
    thread_ = std::thread([this] { run(); });
  }
  ~Reader() {
    if (thread_.joinable()) thread_.join();
  }
  // Waits for the end of stream (or the close) and returns what came.
  const std::string& join() {
    if (thread_.joinable()) thread_.join();
    return data_;
  }
  bool timed_out() const { return timed_out_; }
  bool closed() const { return closed_; }
  std::atomic<bool> start;

 private:
  void run() {
    char chunk[65536];
    for (int waited = 0; !start.load() && waited < 30000; ++waited) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));  // bounded: 30 s
    }
    for (;;) {
      pollfd ready{fd_, POLLIN, 0};
      if (::poll(&ready, 1, 20000) != 1) {
        timed_out_ = true;
        return;
      }
      const std::size_t want = std::min<std::size_t>(sizeof chunk, close_after_ - data_.size());
      const ssize_t n = ::read(fd_, chunk, want);
      if (n <= 0) return;  // end of stream (or a reset)
      data_.append(chunk, static_cast<std::size_t>(n));
      if (data_.size() >= close_after_) {
        ::close(fd_);  // unread data left: TCP answers with a reset
        closed_ = true;
        return;
      }
      if (delay_ms_ > 0) std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms_));
    }
  }

  int fd_;
  std::size_t close_after_;
  int delay_ms_;
  std::string data_;
  bool timed_out_ = false;
  bool closed_ = false;
  std::thread thread_;
};

// Runs `sender` to its end on `ring` with `base`, in at most `limit`; CQEs
// it does not own go to *foreign. `between` runs after each queue(), before
// the submit (to put other requests next to the sender's).
void drive(Ring& ring, FileSender& sender, std::uint64_t base, std::vector<Completion>* foreign = nullptr,
           const std::function<void()>& between = {}, std::chrono::milliseconds limit = std::chrono::milliseconds(30000)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (sender.state() == SendState::ready || sender.in_flight() != 0) {
    if (sender.state() == SendState::ready) {
      const int queued = sender.queue(ring, base);
      REQUIRE_MESSAGE(queued > 0, "queue: " << queued);
      CHECK(sender.state() == SendState::in_flight);
      CHECK(static_cast<int>(sender.in_flight()) == queued);
    }
    if (between) between();
    REQUIRE(ring.submit() >= 0);
    const auto left = deadline - std::chrono::steady_clock::now();
    REQUIRE_MESSAGE(left > std::chrono::nanoseconds(0),
                    "the sender did not end in time: sent " << sender.sent() << ", state "
                                                            << send_state_name(sender.state()) << ", in flight "
                                                            << sender.in_flight());
    WaitOptions wait;
    wait.timeout = left;
    const int waited = ring.wait_cqes(1, wait);
    REQUIRE_MESSAGE((waited == 0 || waited == -ETIME || waited == -EINTR), "wait_cqes: " << waited);
    ring.for_each_cqe([&](const Cqe& cqe) {
      if (sender.owns(cqe.data())) {
        (void)sender.on_cqe(cqe);
      } else {
        REQUIRE_MESSAGE(foreign != nullptr, "a CQE the sender does not own: " << cqe.data());
        foreign->push_back({cqe.data(), cqe.result(), cqe.flags});
      }
    });
  }
}

struct TestFile {
  std::vector<unsigned char> bytes;
  std::string path;
  OwnedFd fd;
};

TestFile make_test_file(const testing::TempDir& dir, const std::string& name, std::size_t size, std::uint64_t seed) {
  TestFile file;
  file.bytes = random_bytes(size, seed);
  file.path = make_file(dir, name, file.bytes.data(), file.bytes.size());
  file.fd.reset(::open(file.path.c_str(), O_RDONLY | O_CLOEXEC));
  REQUIRE(file.fd.get() >= 0);
  return file;
}

// The bytes of [offset, offset + length) of `file`, clipped at its end.
std::string slice(const TestFile& file, std::uint64_t offset, std::uint64_t length) {
  const std::uint64_t size = file.bytes.size();
  if (offset >= size) return {};
  const std::uint64_t end = length > size - offset ? size : offset + length;
  return std::string(reinterpret_cast<const char*>(file.bytes.data()) + offset, end - offset);
}

void require_same(const std::string& got, const std::string& want) {
  REQUIRE_MESSAGE(got.size() == want.size(), "got " << got.size() << " bytes, want " << want.size());
  CHECK_MESSAGE(checksum(reinterpret_cast<const unsigned char*>(got.data()), got.size()) ==
                    checksum(reinterpret_cast<const unsigned char*>(want.data()), want.size()),
                "same length, different bytes");
  CHECK(got == want);
}

Probe splice_probe(Ring& ring) { return probe_of(ring); }

// Two SQPOLL rings sharing one poller (attach_wq), which takes at most 8 SQEs
// of a ring per pass; tests drive `second`. Skip first where the kernel
// lacks SQPOLL or ATTACH_WQ.
struct SharedPoller {
  Ring first, second;
};

SharedPoller shared_poller_rings() {
  auto first = Ring::create({.entries = 16, .sqpoll = true, .sqpoll_idle_ms = 1000});
  REQUIRE_MESSAGE(first.ok(), first.error().message);
  auto second = Ring::create({.entries = 16, .sqpoll = true, .sqpoll_idle_ms = 1000, .attach_wq = &first.value()});
  REQUIRE_MESSAGE(second.ok(), second.error().message);
  return {std::move(first.value()), std::move(second.value())};
}

// One wait of at most 100 ms on `ring`, then its CQEs: the sender's go to
// it, every other must be a NOP tagged `nop_data`. Returns how many NOPs came.
unsigned reap_sender_and_nops(Ring& ring, FileSender& sender, std::uint64_t nop_data) {
  WaitOptions wait;
  wait.timeout = std::chrono::milliseconds(100);
  (void)ring.wait_cqes(1, wait);
  unsigned nops = 0;
  ring.for_each_cqe([&](const Cqe& cqe) {
    if (sender.owns(cqe.data())) {
      (void)sender.on_cqe(cqe);
    } else {
      CHECK(cqe.data() == nop_data);
      ++nops;
    }
  });
  return nops;
}

}  // namespace

TEST_CASE("send_file: 0 B, 1 B, 64 KiB and 50 MiB+3 arrive byte-identical over TCP and a UNIX socketpair") {
  Ring ring = make_ring(4);
  URING_REQUIRE_OP(splice_probe(ring), abi::IORING_OP_SPLICE);
  testing::TempDir dir;
  const int fds_before = testing::open_fd_count();
  for (const std::size_t size : {std::size_t{0}, std::size_t{1}, std::size_t{64} << 10, (std::size_t{50} << 20) + 3}) {
    TestFile file = make_test_file(dir, "f" + std::to_string(size), size, size + 1);
    for (const bool tcp : {true, false}) {
      CAPTURE(size);
      CAPTURE(tcp);
      SocketPair pair = make_pair(tcp);
      Reader reader(pair.recv.get());
      auto sent = send_file(ring, file.fd.get(), pair.send.get(), 0, size);
      REQUIRE_MESSAGE(sent.ok(), sent.error().message);
      CHECK(sent.value() == size);
      pair.send.reset();  // end of stream for the reader
      const std::string& got = reader.join();
      CHECK_FALSE(reader.timed_out());
      require_same(got, slice(file, 0, size));
      CHECK(ring.cq_ready() == 0);
      CHECK(ring.sq_pending() == 0);
    }
  }
  CHECK(testing::open_fd_count() == fds_before);  // no pipe, socket or file left open
}

TEST_CASE("FileSender: a 4 KiB pipe moves 1 MiB+3 in 257 chunks, each filling the pipe exactly") {
  Ring ring = make_ring(8);
  URING_REQUIRE_OP(splice_probe(ring), abi::IORING_OP_SPLICE);
  if (::sysconf(_SC_PAGESIZE) != 4096) URING_SKIP("the chunk counts below assume 4 KiB pages");
  testing::TempDir dir;
  const std::size_t size = (std::size_t{1} << 20) + 3;
  TestFile file = make_test_file(dir, "f", size, 7);
  for (const bool tcp : {true, false}) {
    CAPTURE(tcp);
    SocketPair pair = make_pair(tcp);
    auto made = FileSender::create(file.fd.get(), pair.send.get(), 0, size, {.pipe_size = 4096});
    REQUIRE_MESSAGE(made.ok(), made.error().message);
    FileSender& sender = made.value();
    CHECK(sender.pipe_size() == 4096);
    CHECK(sender.chunk_size() == 4096);
    Reader reader(pair.recv.get());
    drive(ring, sender, kBase);
    REQUIRE_MESSAGE(sender.state() == SendState::finished, "error " << sender.error());
    CHECK(sender.sent() == size);
    CHECK_FALSE(sender.reached_eof());
    CHECK(sender.in_pipe() == 0);
    // 256 full pages and the 3-byte tail: a short file splice would have
    // cost a drain and one chunk more.
    CHECK(sender.counters().chunks == 257);
    CHECK(sender.counters().waits == 0);
    // A blocking socket's splice returns short only on a signal, which the
    // io-wq worker blocks; a short file splice would show as a drain.
    CHECK(sender.counters().drains == 0);
    pair.send.reset();
    require_same(reader.join(), slice(file, 0, size));
  }
}

TEST_CASE("FileSender: an offset and length in the middle of a file, chunk sizes rounded to pages") {
  Ring ring = make_ring(8);
  URING_REQUIRE_OP(splice_probe(ring), abi::IORING_OP_SPLICE);
  if (::sysconf(_SC_PAGESIZE) != 4096) URING_SKIP("the chunk counts below assume 4 KiB pages");
  testing::TempDir dir;
  TestFile file = make_test_file(dir, "f", 1 << 20, 9);
  struct Case {
    std::uint64_t offset, length;
    std::uint32_t pipe_size, chunk_size;
    std::uint32_t want_chunk;
    std::uint64_t want_chunks;
  };
  for (const Case c : {
           // From mid-page: first chunk 4096-1000 = 3096, then 23 full ones and 2696.
           Case{1000, 100000, 4096, 0, 4096, 25},
           // chunk_size 10000 is used as 8192; from 5000 (904 into its page)
           // the first chunk is 8192-904 = 7288, then 8192s.
           Case{5000, 200000, 16384, 10000, 8192, 1 + (200000 - 7288 + 8191) / 8192},
           // A chunk below a page is one page.
           Case{4096, 4096 * 3, 8192, 100, 4096, 3},
           // Default pipe (64 KiB), page-aligned offset.
           Case{65536, 300000, 0, 0, 65536, (300000 + 65535) / 65536},
       }) {
    CAPTURE(c.offset);
    CAPTURE(c.length);
    CAPTURE(c.chunk_size);
    SocketPair pair = unix_pair();
    auto made = FileSender::create(file.fd.get(), pair.send.get(), c.offset, c.length,
                                   {.pipe_size = c.pipe_size, .chunk_size = c.chunk_size});
    REQUIRE_MESSAGE(made.ok(), made.error().message);
    FileSender& sender = made.value();
    CHECK(sender.chunk_size() == c.want_chunk);
    CHECK(sender.offset() == c.offset);
    Reader reader(pair.recv.get());
    drive(ring, sender, kBase);
    REQUIRE_MESSAGE(sender.state() == SendState::finished, "error " << sender.error());
    CHECK(sender.sent() == c.length);
    CHECK(sender.counters().chunks == c.want_chunks);
    CHECK(sender.counters().drains == 0);  // every file splice filled what it asked (blocking socket)
    pair.send.reset();
    require_same(reader.join(), slice(file, c.offset, c.length));
  }
  // The file's own position is neither used nor moved.
  CHECK(::lseek(file.fd.get(), 0, SEEK_CUR) == 0);
}

TEST_CASE("FileSender: a length past the end of the file finishes with the bytes there and reached_eof") {
  Ring ring = make_ring(8);
  URING_REQUIRE_OP(splice_probe(ring), abi::IORING_OP_SPLICE);
  testing::TempDir dir;
  TestFile file = make_test_file(dir, "f", 10000, 11);
  struct Case {
    std::uint64_t offset, length, want;
  };
  for (const Case c : {Case{5000, 1 << 20, 5000}, Case{0, kToEndOfFile, 10000}, Case{123, kToEndOfFile, 9877},
                       Case{10000, 10, 0}, Case{20000, kToEndOfFile, 0}, Case{0, 10000, 10000}}) {
    CAPTURE(c.offset);
    CAPTURE(c.length);
    SocketPair pair = unix_pair();
    auto made = FileSender::create(file.fd.get(), pair.send.get(), c.offset, c.length);
    REQUIRE_MESSAGE(made.ok(), made.error().message);
    FileSender& sender = made.value();
    Reader reader(pair.recv.get());
    drive(ring, sender, kBase);
    REQUIRE_MESSAGE(sender.state() == SendState::finished, "error " << sender.error());
    CHECK(sender.error() == 0);
    CHECK(sender.sent() == c.want);
    // Exactly the whole range: no splice was needed to find the end.
    CHECK(sender.reached_eof() == (c.want < c.length));
    if (c.want != 0 && c.want < c.length) {
      // The chunk that met the end was short: its socket splice was
      // cancelled and a drain sent what had reached the pipe.
      CHECK(sender.counters().drains >= 1);
    }
    pair.send.reset();
    require_same(reader.join(), slice(file, c.offset, c.length));
  }
  // The blocking form answers the same: the bytes there, no error.
  SocketPair pair = unix_pair();
  Reader reader(pair.recv.get());
  auto sent = send_file(ring, file.fd.get(), pair.send.get(), 9000, 1 << 30);
  REQUIRE_MESSAGE(sent.ok(), sent.error().message);
  CHECK(sent.value() == 1000);
  pair.send.reset();
  require_same(reader.join(), slice(file, 9000, 1000));
}

TEST_CASE("kernel rule: a short SPLICE file -> pipe cancels its linked pipe -> socket SPLICE (-ECANCELED)") {
  // What FileSender relies on: the socket splice never runs asking for more
  // than the pipe holds (with the write end open it would sleep for ever).
  Ring ring = make_ring(8);
  URING_REQUIRE_OP(splice_probe(ring), abi::IORING_OP_SPLICE);
  testing::TempDir dir;
  TestFile file = make_test_file(dir, "f", 3000, 13);
  SocketPair pair = unix_pair();
  int fds[2];
  REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
  Fd pipe_read(fds[0]), pipe_write(fds[1]);
  prep_splice(*ring.get_sqe(), file.fd.get(), 0, pipe_write.get(), kCurrentPosition, 4096).set_user_data(1).link();
  prep_splice(*ring.get_sqe(), pipe_read.get(), kCurrentPosition, pair.send.get(), kCurrentPosition, 4096)
      .set_user_data(2);
  std::map<std::uint64_t, int> results;
  for (const Completion& c : submit_and_collect(ring, 2)) results[c.data] = c.res;
  CHECK(results[1] == 3000);
  CHECK(results[2] == -ECANCELED);
  // The 3000 bytes wait in the pipe for a drain.
  int queued = 0;
  REQUIRE(::ioctl(pipe_read.get(), FIONREAD, &queued) == 0);
  CHECK(queued == 3000);
}

TEST_CASE("FileSender: the peer closing early ends it with -EPIPE or -ECONNRESET, in bounded time") {
  Ring ring = make_ring(8);
  URING_REQUIRE_OP(splice_probe(ring), abi::IORING_OP_SPLICE);
  testing::TempDir dir;
  const std::size_t size = std::size_t{50} << 20;
  TestFile file = make_test_file(dir, "f", size, 15);
  const int fds_before = testing::open_fd_count();
  for (const bool tcp : {true, false}) {
    for (const std::size_t close_after : {std::size_t{0}, std::size_t{1} << 20}) {
      CAPTURE(tcp);
      CAPTURE(close_after);
      SocketPair pair = make_pair(tcp);
      std::optional<Reader> reader;
      if (close_after == 0) {
        pair.recv.reset();  // gone before the first byte
      } else {
        reader.emplace(pair.recv.release(), close_after);  // closes it after 1 MiB
      }
      {
        auto made = FileSender::create(file.fd.get(), pair.send.get(), 0, size);
        REQUIRE_MESSAGE(made.ok(), made.error().message);
        FileSender& sender = made.value();
        const auto start = std::chrono::steady_clock::now();
        drive(ring, sender, kBase, nullptr, {}, std::chrono::milliseconds(20000));
        CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(20));
        REQUIRE(sender.state() == SendState::failed);
        CHECK_MESSAGE((sender.error() == -EPIPE || sender.error() == -ECONNRESET), "error " << sender.error());
        CHECK(sender.sent() < size);
        if (reader) {
          CHECK(reader->join().size() == close_after);
          CHECK(reader->closed());
          CHECK(sender.sent() >= close_after);
        }
        CHECK(sender.in_flight() == 0);
      }
      // The blocking form on the same kind of dead peer: an error, not a hang.
      SocketPair again = make_pair(tcp);
      again.recv.reset();
      auto sent = send_file(ring, file.fd.get(), again.send.get(), 0, size);
      REQUIRE_FALSE(sent.ok());
      CHECK_MESSAGE((sent.code() == EPIPE || sent.code() == ECONNRESET), sent.error().message);
      CHECK(sent.error().message.find("after") != std::string::npos);
      CHECK(sent.error().message.find(sent.code() == EPIPE ? "closed for writing (the peer closed it, or this side"
                                                           : "the peer reset the connection") != std::string::npos);
    }
  }
  CHECK(testing::open_fd_count() == fds_before);
}

TEST_CASE("FileSender: with SIGPIPE at its default a dead peer does not kill the process (the splice runs in io-wq)") {
  // sendfile.h: the SIGPIPE goes to the io-wq worker, which blocks every
  // signal. Checked in a child, whose death by SIGPIPE would not take the
  // test binary with it.
  Ring probe_ring = make_ring(4);
  URING_REQUIRE_OP(splice_probe(probe_ring), abi::IORING_OP_SPLICE);
  testing::TempDir dir;
  TestFile file = make_test_file(dir, "f", 1 << 20, 17);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    ::signal(SIGPIPE, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0) ::_exit(3);
    ::close(fds[1]);
    auto ring = Ring::create({.entries = 4});
    if (!ring) ::_exit(4);
    auto sent = send_file(*ring, file.fd.get(), fds[0], 0, 1 << 20);
    ::_exit(!sent.ok() && sent.code() == EPIPE ? 0 : 5);
  }
  int status = 0;
  bool reaped = testing::eventually([&] { return ::waitpid(child, &status, WNOHANG) == child; },
                                    std::chrono::milliseconds(20000));
  if (!reaped) {
    ::kill(child, SIGKILL);
    ::waitpid(child, &status, 0);
  }
  REQUIRE(reaped);
  CHECK_FALSE(WIFSIGNALED(status));
  if (WIFSIGNALED(status)) MESSAGE("child killed by signal " << WTERMSIG(status));
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("FileSender: a non-blocking socket that is full gets a POLLOUT wait, not a worker asleep") {
  Ring ring = make_ring(8);
  URING_REQUIRE_OP(splice_probe(ring), abi::IORING_OP_SPLICE);
  URING_REQUIRE_OP(splice_probe(ring), abi::IORING_OP_POLL_ADD);
  testing::TempDir dir;
  const std::size_t size = std::size_t{8} << 20;  // far more than the socket buffers hold
  TestFile file = make_test_file(dir, "f", size, 19);
  for (const bool tcp : {true, false}) {
    CAPTURE(tcp);
    SocketPair pair = make_pair(tcp);
    REQUIRE(::fcntl(pair.send.get(), F_SETFL, O_NONBLOCK) == 0);
    auto made = FileSender::create(file.fd.get(), pair.send.get(), 0, size);
    REQUIRE_MESSAGE(made.ok(), made.error().message);
    FileSender& sender = made.value();
    Reader reader(pair.recv.get(), SIZE_MAX, 0, /*start_now=*/false);  // nobody reads until the sender waits
    bool released = false;
    drive(ring, sender, kBase, nullptr, [&] {
      if (!released && sender.counters().waits > 0) {
        released = true;
        reader.start = true;
      }
    });
    REQUIRE_MESSAGE(sender.state() == SendState::finished, "error " << sender.error());
    CHECK(released);
    CHECK(sender.counters().waits >= 1);
    CHECK(sender.sent() == size);
    pair.send.reset();
    require_same(reader.join(), slice(file, 0, size));
  }
}

TEST_CASE("FileSender: interleaved with NOPs of other user_data on the same ring, which come back untouched") {
  Ring ring = make_ring(32);
  URING_REQUIRE_OP(splice_probe(ring), abi::IORING_OP_SPLICE);
  testing::TempDir dir;
  const std::size_t size = (std::size_t{3} << 20) + 5;
  TestFile file = make_test_file(dir, "f", size, 21);
  SocketPair pair = tcp_pair();
  auto made = FileSender::create(file.fd.get(), pair.send.get(), 0, size, {.pipe_size = 16384});
  REQUIRE_MESSAGE(made.ok(), made.error().message);
  FileSender& sender = made.value();
  Reader reader(pair.recv.get());
  std::vector<Completion> foreign;
  std::uint64_t nops = 0;
  drive(ring, sender, kBase, &foreign, [&] {
    // Two NOPs per step, with user_data next to the sender's (kBase + 2,
    // kBase - 1, ...) and far from it.
    for (const std::uint64_t data : {kBase + 2 + nops, kBase - 1 - nops}) {
      Sqe* sqe = ring.get_sqe();
      REQUIRE(sqe != nullptr);
      prep_nop(*sqe).set_user_data(data);
      CHECK_FALSE(sender.owns(data));
    }
    ++nops;
  });
  REQUIRE_MESSAGE(sender.state() == SendState::finished, "error " << sender.error());
  CHECK(sender.sent() == size);
  REQUIRE(foreign.size() == 2 * nops);
  std::map<std::uint64_t, int> seen;
  for (const Completion& c : foreign) {
    CHECK(c.res == 0);
    CHECK(seen.count(c.data) == 0);
    seen[c.data] = c.res;
  }
  for (std::uint64_t i = 0; i < nops; ++i) {
    CHECK(seen.count(kBase + 2 + i) == 1);
    CHECK(seen.count(kBase - 1 - i) == 1);
  }
  // A CQE it does not own changes nothing.
  CHECK(sender.on_cqe(kBase + 2, -EIO) == SendState::finished);
  CHECK(sender.on_cqe(kBase, -EIO) == SendState::finished);  // no step in flight: not its own either
  CHECK(sender.error() == 0);
  pair.send.reset();
  require_same(reader.join(), slice(file, 0, size));
}

TEST_CASE("FileSender: user_data scheme and misuse: odd base, queue while in flight, nothing left to queue") {
  Ring ring = make_ring(8);
  URING_REQUIRE_OP(splice_probe(ring), abi::IORING_OP_SPLICE);
  testing::TempDir dir;
  TestFile file = make_test_file(dir, "f", 100000, 23);
  SocketPair pair = unix_pair();
  Reader reader(pair.recv.get());
  auto made = FileSender::create(file.fd.get(), pair.send.get(), 0, 100000);
  REQUIRE(made.ok());
  FileSender& sender = made.value();
  CHECK(sender.state() == SendState::ready);
  CHECK(sender.queue(ring, 0x101) == -EINVAL);  // odd
  CHECK(ring.sq_pending() == 0);
  REQUIRE(sender.queue(ring, 0x200) == 2);
  CHECK(sender.queue(ring, 0x300) == -EINVAL);  // a step in flight
  CHECK(sender.owns(0x200));
  CHECK(sender.owns(0x201));
  CHECK_FALSE(sender.owns(0x202));
  CHECK_FALSE(sender.owns(0x300));
  // The two SQEs: the file splice with 0x200 linked to the socket splice with 0x201.
  std::map<std::uint64_t, int> results;
  for (const Completion& c : submit_and_collect(ring, 2)) {
    results[c.data] = c.res;
    CHECK(sender.on_cqe(c.data, c.res) == (results.size() == 1 ? SendState::in_flight : SendState::ready));
  }
  CHECK(results[0x200] == 65536);
  CHECK(results[0x201] > 0);
  drive(ring, sender, 0x400);  // another base for the later steps
  REQUIRE(sender.state() == SendState::finished);
  CHECK(sender.sent() == 100000);
  CHECK(sender.queue(ring, 0x200) == -EINVAL);  // nothing left
  CHECK(ring.sq_pending() == 0);
  pair.send.reset();
  require_same(reader.join(), slice(file, 0, 100000));

  // A full SQ: -EBUSY, nothing taken.
  Ring tiny = make_ring(2);
  SocketPair other = unix_pair();
  Reader other_reader(other.recv.get());
  auto second = FileSender::create(file.fd.get(), other.send.get(), 0, 10);
  REQUIRE(second.ok());
  Sqe* taken = tiny.get_sqe();  // one of two entries taken
  REQUIRE(taken != nullptr);
  prep_nop(*taken).set_user_data(9);
  CHECK(second->queue(tiny, 0) == -EBUSY);
  CHECK(tiny.sq_pending() == 1);
  CHECK(second->state() == SendState::ready);
  const std::vector<Completion> nop = submit_and_collect(tiny, 1);
  REQUIRE(nop.size() == 1);
  CHECK(nop[0].data == 9);
  drive(tiny, *second, 0);
  CHECK(second->sent() == 10);
  other.send.reset();
  require_same(other_reader.join(), slice(file, 0, 10));
}

TEST_CASE("FileSender: bad input is refused with what to change; fds that cannot splice fail cleanly") {
  Ring ring = make_ring(8);
  URING_REQUIRE_OP(splice_probe(ring), abi::IORING_OP_SPLICE);
  testing::TempDir dir;
  TestFile file = make_test_file(dir, "f", 100000, 25);
  SocketPair pair = unix_pair();
  const int fds_before = testing::open_fd_count();

  auto negative = FileSender::create(-1, pair.send.get(), 0, 10);
  REQUIRE_FALSE(negative.ok());
  CHECK(negative.code() == EINVAL);
  CHECK(negative.error().message.find("file fd -1") != std::string::npos);
  auto far = FileSender::create(file.fd.get(), pair.send.get(), std::uint64_t{1} << 63, 10);
  REQUIRE_FALSE(far.ok());
  CHECK(far.code() == EINVAL);
  auto big_chunk = FileSender::create(file.fd.get(), pair.send.get(), 0, 10, {.pipe_size = 4096, .chunk_size = 8192});
  REQUIRE_FALSE(big_chunk.ok());
  CHECK(big_chunk.code() == EINVAL);
  CHECK(big_chunk.error().message.find("raise pipe_size or lower chunk_size") != std::string::npos);
  auto huge_pipe = FileSender::create(file.fd.get(), pair.send.get(), 0, 10, {.pipe_size = 0x80000000u});
  REQUIRE_FALSE(huge_pipe.ok());
  CHECK_MESSAGE((huge_pipe.code() == EINVAL || huge_pipe.code() == EPERM || huge_pipe.code() == ENOMEM),
                huge_pipe.error().message);
  CHECK(huge_pipe.error().message.find("F_SETPIPE_SZ") != std::string::npos);
  CHECK(testing::open_fd_count() == fds_before);  // every failed create closed its pipe

  // An empty sender: failed with -EBADF, queue refuses.
  FileSender empty;
  CHECK(empty.state() == SendState::failed);
  CHECK(empty.error() == -EBADF);
  CHECK(empty.queue(ring, 0) == -EINVAL);
  // Length 0: finished at once, nothing to queue.
  auto zero = FileSender::create(file.fd.get(), pair.send.get(), 0, 0);
  REQUIRE(zero.ok());
  CHECK(zero->state() == SendState::finished);
  CHECK(zero->queue(ring, 0) == -EINVAL);

  // A socket fd that is a read-only file: the socket splice fails (-EBADF),
  // after the file splice filled the pipe.
  Fd read_only(::open(file.path.c_str(), O_RDONLY | O_CLOEXEC));
  auto to_file = FileSender::create(file.fd.get(), read_only.get(), 0, 100000);
  REQUIRE(to_file.ok());
  drive(ring, *to_file, kBase);
  CHECK(to_file->state() == SendState::failed);
  CHECK(to_file->error() == -EBADF);
  CHECK(to_file->sent() == 0);
  // A "file" that is a directory: the file splice fails, the socket splice
  // is cancelled with it.
  Fd directory(::open(dir.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  auto from_dir = FileSender::create(directory.get(), pair.send.get(), 0, 100);
  REQUIRE(from_dir.ok());
  drive(ring, *from_dir, kBase);
  CHECK(from_dir->state() == SendState::failed);
  CHECK_MESSAGE((from_dir->error() == -EINVAL || from_dir->error() == -EISDIR), "error " << from_dir->error());
  CHECK(from_dir->sent() == 0);

  // send_file: a ring that is not idle, a ring too small.
  Sqe* queued = ring.get_sqe();
  REQUIRE(queued != nullptr);
  prep_nop(*queued).set_user_data(1);
  auto busy = send_file(ring, file.fd.get(), pair.send.get(), 0, 10);
  REQUIRE_FALSE(busy.ok());
  CHECK(busy.code() == EBUSY);
  CHECK(busy.error().message.find("idle ring") != std::string::npos);
  (void)submit_and_collect(ring, 1);
  Ring one = make_ring(1);
  auto small = send_file(one, file.fd.get(), pair.send.get(), 0, 10);
  REQUIRE_FALSE(small.ok());
  CHECK(small.code() == EINVAL);
}

TEST_CASE("send_file: a CQE of another request arriving meanwhile fails it with EBUSY naming that user_data") {
  Ring ring = make_ring(8);
  URING_REQUIRE_OP(splice_probe(ring), abi::IORING_OP_SPLICE);
  testing::TempDir dir;
  const std::size_t size = std::size_t{4} << 20;
  TestFile file = make_test_file(dir, "f", size, 27);
  SocketPair pair = unix_pair();
  Reader reader(pair.recv.get(), SIZE_MAX, 2);  // slow: 2 ms per 64 KiB read
  // 20 ms: well inside the slow transfer (~130 ms), and late enough that it
  // cannot complete before send_file's idle check (at 1 ms it sometimes did).
  abi::kernel_timespec soon{0, 20000000};
  Sqe* sqe = ring.get_sqe();
  REQUIRE(sqe != nullptr);
  prep_timeout(*sqe, &soon, 0, 0).set_user_data(0x77);
  REQUIRE(ring.submit() == 1);  // in flight: send_file cannot see it coming
  auto sent = send_file(ring, file.fd.get(), pair.send.get(), 0, size);
  REQUIRE_FALSE(sent.ok());
  CHECK(sent.code() == EBUSY);
  CHECK(sent.error().message.find("user_data 119") != std::string::npos);
  CHECK(ring.cq_ready() == 0);
  pair.send.reset();
  const std::string& got = reader.join();
  CHECK(got.size() < size);
  CHECK(got == slice(file, 0, got.size()));  // what did go out is right
}

TEST_CASE("FileSender: moves keep the pipe, destruction closes it; no descriptor leaks") {
  Ring ring = make_ring(8);
  URING_REQUIRE_OP(splice_probe(ring), abi::IORING_OP_SPLICE);
  testing::TempDir dir;
  TestFile file = make_test_file(dir, "f", 200000, 29);
  SocketPair pair = unix_pair();
  Reader reader(pair.recv.get());
  const int fds_before = testing::open_fd_count();
  {
    auto made = FileSender::create(file.fd.get(), pair.send.get(), 0, 200000);
    REQUIRE(made.ok());
    CHECK(testing::open_fd_count() == fds_before + 2);  // the pipe's two ends
    FileSender moved(std::move(made.value()));
    CHECK(testing::open_fd_count() == fds_before + 2);
    FileSender assigned;
    assigned = std::move(moved);
    CHECK(moved.state() == SendState::failed);  // NOLINT: the moved-from sender is empty
    CHECK(moved.queue(ring, 0) == -EINVAL);
    drive(ring, assigned, kBase);
    CHECK(assigned.state() == SendState::finished);
    CHECK(assigned.sent() == 200000);
    CHECK(testing::open_fd_count() == fds_before + 2);
  }
  CHECK(testing::open_fd_count() == fds_before);
  pair.send.reset();
  require_same(reader.join(), slice(file, 0, 200000));
}

TEST_CASE("FileSender: a splice blocked on a full socket ends on ASYNC_CANCEL or shutdown(2), in bounded time") {
  // sendfile.h's two ways to stop a transfer early. Both CQEs of the step
  // still come; the sender fails with what they said.
  Ring ring = make_ring(8);
  URING_REQUIRE_OP(splice_probe(ring), abi::IORING_OP_SPLICE);
  testing::TempDir dir;
  const std::size_t size = std::size_t{50} << 20;
  TestFile file = make_test_file(dir, "f", size, 31);
  for (const bool by_cancel : {true, false}) {
    CAPTURE(by_cancel);
    SocketPair pair = unix_pair();  // nobody reads pair.recv
    auto made = FileSender::create(file.fd.get(), pair.send.get(), 0, size);
    REQUIRE(made.ok());
    FileSender& sender = made.value();
    // Steps until one stays in flight for 300 ms: its socket splice sleeps
    // in an io-wq worker on the full socket.
    bool blocked = false;
    for (int step = 0; step < 10000 && !blocked; ++step) {
      REQUIRE(sender.state() == SendState::ready);
      REQUIRE(sender.queue(ring, kBase) > 0);
      REQUIRE(ring.submit() >= 0);
      while (sender.in_flight() != 0) {
        WaitOptions wait;
        wait.timeout = std::chrono::milliseconds(300);
        if (ring.wait_cqes(1, wait) == -ETIME) {
          blocked = true;
          break;
        }
        ring.for_each_cqe([&](const Cqe& cqe) { (void)sender.on_cqe(cqe); });
      }
      REQUIRE_MESSAGE((blocked || sender.state() == SendState::ready), "error " << sender.error());
    }
    REQUIRE(blocked);
    const auto start = std::chrono::steady_clock::now();
    if (by_cancel) {
      // The step that sleeps is a chunk's socket splice (kBase | 1) or a
      // one-SQE step (kBase): cancel both; the one not in flight is -ENOENT.
      prep_cancel(*ring.get_sqe(), kBase | 1).set_user_data(0xca);
      prep_cancel(*ring.get_sqe(), kBase).set_user_data(0xcb);
    } else {
      REQUIRE(::shutdown(pair.send.get(), SHUT_RDWR) == 0);
    }
    std::vector<Completion> foreign;
    drive(ring, sender, kBase, &foreign, {}, std::chrono::milliseconds(10000));
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(10));
    REQUIRE(sender.state() == SendState::failed);
    if (by_cancel) {
      // The running splice is interrupted (-EALREADY: it was running; the
      // worker is signalled, and the splice's CQE says -ERESTARTSYS, which
      // the sender reports as -EINTR).
      if (foreign.size() < 2) {
        const std::vector<Completion> rest = submit_and_collect(ring, 2 - static_cast<unsigned>(foreign.size()));
        foreign.insert(foreign.end(), rest.begin(), rest.end());
      }
      REQUIRE(foreign.size() == 2);
      unsigned hit = 0;
      for (const Completion& c : foreign) {
        CHECK((c.data == 0xca || c.data == 0xcb));
        CHECK_MESSAGE((c.res == 0 || c.res == -EALREADY || c.res == -ENOENT), "cancel " << c.res);
        if (c.res == 0 || c.res == -EALREADY) ++hit;
      }
      CHECK(hit >= 1);  // the sleeping request was found
      CHECK_MESSAGE((sender.error() == -EINTR || sender.error() == -ECANCELED), "error " << sender.error());
    } else {
      CHECK_MESSAGE(sender.error() == -EPIPE, "error " << sender.error());
    }
    CHECK(sender.sent() < size);
    CHECK(sender.in_flight() == 0);
  }
}

// Review of the sender (SQPOLL split, EBUSY, messages, edges). Each failed
// on the code before its fix.

TEST_CASE("FileSender: a chunk split across SQPOLL passes (attach_wq poller, 8 SQEs a pass) at EOF does not hang") {
  // Two SQPOLL rings sharing one poller: it takes at most 8 SQEs of a ring
  // per pass, so a chunk at positions 8 and 9 of a batch is split and its
  // socket splice runs unlinked. At the end of the file the file splice
  // moves 0 bytes and nothing cancels the socket splice: on an empty pipe it
  // must answer -EAGAIN (SPLICE_F_NONBLOCK), not sleep for ever.
  URING_REQUIRE(testing::missing_setup_flags(abi::IORING_SETUP_SQPOLL | abi::IORING_SETUP_ATTACH_WQ));
  SharedPoller rings = shared_poller_rings();
  Ring& ring = rings.second;
  URING_REQUIRE_OP(splice_probe(ring), abi::IORING_OP_SPLICE);
  testing::TempDir dir;
  TestFile file = make_test_file(dir, "f", 4096, 41);
  for (const unsigned nops : {7u, 0u, 6u}) {
    CAPTURE(nops);
    SocketPair pair = unix_pair();  // blocking: only the pipe can make it wait
    auto made = FileSender::create(file.fd.get(), pair.send.get(), 4096, kToEndOfFile);  // at EOF
    REQUIRE(made.ok());
    FileSender& sender = made.value();
    for (unsigned i = 0; i < nops; ++i) prep_nop(*ring.get_sqe()).set_user_data(1);
    REQUIRE(sender.queue(ring, kBase) == 2);
    REQUIRE(ring.submit() >= 0);
    unsigned nops_back = 0;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
    while ((sender.in_flight() != 0 || nops_back < nops) && std::chrono::steady_clock::now() < deadline) {
      nops_back += reap_sender_and_nops(ring, sender, 1);
    }
    REQUIRE_MESSAGE(sender.in_flight() == 0, "the socket splice waits on an empty pipe (hung)");
    CHECK(nops_back == nops);
    CHECK(sender.state() == SendState::finished);
    CHECK(sender.reached_eof());
    CHECK(sender.sent() == 0);
  }
}

TEST_CASE("FileSender: chunks split by the SQPOLL poller still arrive byte-identical (socket splice before the file's)") {
  URING_REQUIRE(testing::missing_setup_flags(abi::IORING_SETUP_SQPOLL | abi::IORING_SETUP_ATTACH_WQ));
  SharedPoller rings = shared_poller_rings();
  Ring& ring = rings.second;
  URING_REQUIRE_OP(splice_probe(ring), abi::IORING_OP_SPLICE);
  testing::TempDir dir;
  const std::size_t size = (std::size_t{1} << 20) + 3;
  TestFile file = make_test_file(dir, "f", size, 43);
  SocketPair pair = unix_pair();
  Reader reader(pair.recv.get());
  auto made = FileSender::create(file.fd.get(), pair.send.get(), 0, kToEndOfFile, {.pipe_size = 16384});
  REQUIRE(made.ok());
  FileSender& sender = made.value();
  // 7 NOPs before every step: a chunk's two SQEs sit at positions 8 and 9.
  unsigned nops = 0, nops_back = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while ((sender.state() == SendState::ready || sender.in_flight() != 0) &&
         std::chrono::steady_clock::now() < deadline) {
    if (sender.state() == SendState::ready && ring.sq_space_left() >= 9) {
      for (int i = 0; i < 7; ++i, ++nops) prep_nop(*ring.get_sqe()).set_user_data(2);
      REQUIRE(sender.queue(ring, kBase) > 0);
    }
    REQUIRE(ring.submit() >= 0);
    nops_back += reap_sender_and_nops(ring, sender, 2);
  }
  for (int round = 0; round < 100 && nops_back < nops; ++round) {
    WaitOptions wait;
    wait.timeout = std::chrono::milliseconds(10);
    (void)ring.wait_cqes(1, wait);
    nops_back += ring.for_each_cqe([](const Cqe&) {});
  }
  CHECK(nops_back == nops);
  CHECK(sender.counters().chunks >= 64);
  CHECK_MESSAGE(made->state() == SendState::finished, "state " << send_state_name(made->state()) << ", error " << made->error());
  CHECK(made->sent() == size);
  pair.send.reset();
  require_same(reader.join(), slice(file, 0, size));
}

TEST_CASE("send_file on a 2-entry SQPOLL ring waits out a full SQ (the poller moves the head late): no EBUSY") {
  URING_REQUIRE(testing::missing_setup_flags(abi::IORING_SETUP_SQPOLL));
  auto made_ring = Ring::create({.entries = 2, .sqpoll = true, .sqpoll_idle_ms = 50});
  REQUIRE_MESSAGE(made_ring.ok(), made_ring.error().message);
  Ring& ring = made_ring.value();
  URING_REQUIRE_OP(splice_probe(ring), abi::IORING_OP_SPLICE);
  testing::TempDir dir;
  const std::size_t size = (std::size_t{256} << 10) + 3;
  TestFile file = make_test_file(dir, "f", size, 45);
  int failures = 0;
  std::string last;
  for (int round = 0; round < 60; ++round) {
    SocketPair pair = unix_pair();
    Reader reader(pair.recv.get());
    auto sent = send_file(ring, file.fd.get(), pair.send.get(), 0, kToEndOfFile, {.pipe_size = 4096});
    pair.send.reset();
    const std::string& got = reader.join();
    if (!sent.ok()) {
      ++failures;
      last = sent.error().message;
    } else {
      CHECK(*sent == size);
      CHECK(got.size() == size);
    }
  }
  CHECK_MESSAGE(failures == 0, failures << " of 60 failed; last: " << last);
}

TEST_CASE("FileSender: queue() on a 1-entry ring is EINVAL (never room for a chunk), not EBUSY for ever") {
  Ring ring = make_ring(1);
  URING_REQUIRE_OP(splice_probe(ring), abi::IORING_OP_SPLICE);
  testing::TempDir dir;
  TestFile file = make_test_file(dir, "f", 100, 47);
  SocketPair pair = unix_pair();
  auto made = FileSender::create(file.fd.get(), pair.send.get(), 0, 100);
  REQUIRE(made.ok());
  CHECK(made->queue(ring, kBase) == -EINVAL);
  CHECK(ring.sq_pending() == 0);
  CHECK(made->state() == SendState::ready);
}

TEST_CASE("FileSender: offsets near 2^63 end finished with reached_eof, not EINVAL") {
  Ring ring = make_ring(8);
  URING_REQUIRE_OP(splice_probe(ring), abi::IORING_OP_SPLICE);
  testing::TempDir dir;
  TestFile file = make_test_file(dir, "f", 100, 49);
  SocketPair pair = unix_pair();
  for (const std::uint64_t offset : {std::uint64_t{INT64_MAX} - 10, std::uint64_t{INT64_MAX} - 5000,
                                     std::uint64_t{INT64_MAX}}) {
    CAPTURE(offset);
    for (const std::uint64_t length : {kToEndOfFile, std::uint64_t{1} << 62}) {
      CAPTURE(length);
      auto made = FileSender::create(file.fd.get(), pair.send.get(), offset, length);
      REQUIRE(made.ok());
      drive(ring, *made, kBase);
      CHECK_MESSAGE(made->state() == SendState::finished, "error " << made->error());
      CHECK(made->reached_eof());
      CHECK(made->sent() == 0);
    }
  }
}

TEST_CASE("FileSender: a file splice CQE claiming more bytes than asked fails it with -EIO") {
  Ring ring = make_ring(8);
  testing::TempDir dir;
  TestFile file = make_test_file(dir, "f", 100000, 51);
  SocketPair pair = unix_pair();
  auto made = FileSender::create(file.fd.get(), pair.send.get(), 0, 100000, {.pipe_size = 4096});
  REQUIRE(made.ok());
  FileSender& sender = made.value();
  REQUIRE(sender.queue(ring, kBase) == 2);  // never submitted: the CQEs below are made up
  CHECK(sender.on_cqe(kBase, 8192) == SendState::in_flight);  // asked 4096
  CHECK(sender.on_cqe(kBase | 1, 4096) == SendState::failed);
  CHECK(sender.error() == -EIO);
  CHECK(sender.sent() == 0);
}

TEST_CASE("send_file: the message names the side that failed and what to do") {
  Ring ring = make_ring(8);
  URING_REQUIRE_OP(splice_probe(ring), abi::IORING_OP_SPLICE);
  testing::TempDir dir;
  TestFile file = make_test_file(dir, "f", 10000, 53);
  SocketPair pair = unix_pair();
  // A directory as the file: the file side (EINVAL).
  Fd directory(::open(dir.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  auto from_dir = send_file(ring, directory.get(), pair.send.get(), 0, 100);
  REQUIRE_FALSE(from_dir.ok());
  CHECK(from_dir.error().message.find("splice from file fd " + std::to_string(directory.get())) != std::string::npos);
  CHECK(from_dir.error().message.find("socket fd") == std::string::npos);
  // A write-only file: EBADF on the file side, "open it for reading".
  Fd write_only(::open(file.path.c_str(), O_WRONLY | O_CLOEXEC));
  auto from_wo = send_file(ring, write_only.get(), pair.send.get(), 0, 100);
  REQUIRE_FALSE(from_wo.ok());
  CHECK(from_wo.code() == EBADF);
  CHECK(from_wo.error().message.find("splice from file fd") != std::string::npos);
  CHECK(from_wo.error().message.find("reading") != std::string::npos);
  // A read-only file as the socket: the socket side.
  Fd read_only(::open(file.path.c_str(), O_RDONLY | O_CLOEXEC));
  auto to_ro = send_file(ring, file.fd.get(), read_only.get(), 0, 100);
  REQUIRE_FALSE(to_ro.ok());
  CHECK(to_ro.code() == EBADF);
  CHECK(to_ro.error().message.find("splice to socket fd " + std::to_string(read_only.get())) != std::string::npos);
  CHECK(ring.sq_pending() == 0);
  CHECK(ring.cq_ready() == 0);
}

TEST_CASE("send_file on a start_disabled ring: EBADFD saying enable() it, no step left in flight") {
  auto made_ring = Ring::create({.entries = 8, .start_disabled = true});
  REQUIRE_MESSAGE(made_ring.ok(), made_ring.error().message);
  Ring& ring = made_ring.value();
  testing::TempDir dir;
  TestFile file = make_test_file(dir, "f", 10000, 55);
  SocketPair pair = unix_pair();
  const int fds_before = testing::open_fd_count();
  auto sent = send_file(ring, file.fd.get(), pair.send.get(), 0, 100);
  REQUIRE_FALSE(sent.ok());
  CHECK(sent.code() == EBADFD);
  CHECK(sent.error().message.find("enable()") != std::string::npos);
  // The kernel took none of the step: its pipe is closed, not kept for a
  // splice that never runs (review of 7dd33a3: 2 fds leaked per call).
  CHECK(testing::open_fd_count() == fds_before);
  // The NOPs stay queued (the SQ cannot take them back): a second call says so.
  auto again = send_file(ring, file.fd.get(), pair.send.get(), 0, 100);
  REQUIRE_FALSE(again.ok());
  CHECK(again.code() == EBUSY);
  CHECK(again.error().message.find("2 SQEs queued") != std::string::npos);
  CHECK(again.error().message.find("submit and reap first") != std::string::npos);
  CHECK(testing::open_fd_count() == fds_before);
  // The SQEs it took became NOPs that post nothing: once enabled, the ring
  // runs them and nothing names the sender's (closed) pipe.
  REQUIRE(ring.enable().ok());
  const std::vector<Completion> left = collect_stray(ring);
  CHECK(left.empty());
}

// Review of 7dd33a3: a refused io_uring_enter (here EEXIST: a DEFER_TASKRUN
// ring used from a thread that did not create it) left the step "in flight",
// so the sender kept its pipe open: 2 fds leaked per call.
TEST_CASE("send_file on another thread's single-issuer ring: EEXIST, and no pipe left open") {
  auto made_ring = Ring::create({.entries = 8, .single_issuer = true, .defer_taskrun = true});
  REQUIRE_MESSAGE(made_ring.ok(), made_ring.error().message);
  Ring& ring = made_ring.value();
  testing::TempDir dir;
  TestFile file = make_test_file(dir, "f", 10000, 56);
  SocketPair pair = unix_pair();
  const int fds_before = testing::open_fd_count();
  int code = 0, fds_after = -1;
  std::string message;
  std::thread other([&] {
    auto sent = send_file(ring, file.fd.get(), pair.send.get(), 0, 100);
    code = sent.ok() ? 0 : sent.code();
    message = sent.ok() ? "" : sent.error().message;
    fds_after = testing::open_fd_count();
  });
  other.join();
  CHECK(code == EEXIST);
  CHECK(message.find("not its thread") != std::string::npos);
  CHECK(fds_after == fds_before);
}

// Review of 7dd33a3: queue() on a closed ring said -EINVAL (as for a ring
// of fewer than 2 entries, which a closed ring's 0 looks like).
TEST_CASE("FileSender::queue on a closed ring: -EBADF, and the sender can still be queued on an open one") {
  Ring ring = make_ring(8);
  URING_REQUIRE_OP(splice_probe(ring), abi::IORING_OP_SPLICE);
  testing::TempDir dir;
  TestFile file = make_test_file(dir, "f", 1000, 58);
  SocketPair pair = unix_pair();
  auto made = FileSender::create(file.fd.get(), pair.send.get(), 0, 1000);
  REQUIRE_MESSAGE(made.ok(), made.error().message);
  FileSender& sender = made.value();
  Ring closed = make_ring(8);
  closed.close();
  CHECK(sender.queue(closed, 2) == -EBADF);
  CHECK(sender.state() == SendState::ready);
  CHECK(sender.in_flight() == 0);
  for (int step = 0; step < 100 && sender.state() != SendState::finished && sender.state() != SendState::failed;
       ++step) {
    if (sender.state() == SendState::ready) REQUIRE(sender.queue(ring, 2) > 0);
    REQUIRE(ring.submit_and_wait(1) >= 0);
    ring.for_each_cqe([&](const Cqe& cqe) { (void)sender.on_cqe(cqe); });
  }
  CHECK(sender.state() == SendState::finished);
  CHECK(sender.sent() == 1000);
}

// A registered_fd_only SQPOLL ring: used from a thread other than its
// creator, every io_uring_enter is refused (EBADF: the registered index is
// the creator's and there is no plain fd), while the poller takes SQEs on
// its own. sqpoll_idle_ms as given.
Ring registered_only_sqpoll_ring(unsigned idle_ms) {
  RingOptions options;
  options.entries = 8;
  options.sqpoll = true;
  options.sqpoll_idle_ms = idle_ms;
  options.registered_fd_only = true;
  options.no_mmap = true;
  auto made_ring = Ring::create(options);
  REQUIRE_MESSAGE(made_ring.ok(), made_ring.error().message);
  return std::move(made_ring.value());
}

// One NOP submitted and reaped from the creating thread: the poller is awake
// for its idle time from now.
void wake_poller(Ring& ring) {
  Sqe* sqe = ring.get_sqe();
  REQUIRE(sqe != nullptr);
  prep_nop(*sqe).set_user_data(1);
  REQUIRE(ring.submit_and_wait(1) == 1);
  ring.advance(ring.cq_ready());
}

// send_file from a thread that is not the ring's creator.
struct OtherThreadSend {
  int code = 0;
  std::string message;
  int fds_after = -1;  // open descriptors right after the return
  std::chrono::milliseconds took{0};
};

OtherThreadSend send_file_from_other_thread(Ring& ring, int file_fd, int socket_fd, std::uint64_t length) {
  OtherThreadSend out;
  std::thread other([&] {
    const auto start = std::chrono::steady_clock::now();
    auto sent = send_file(ring, file_fd, socket_fd, 0, length);
    out.took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
    out.fds_after = testing::open_fd_count();
    out.code = sent.ok() ? 0 : sent.code();
    out.message = sent.ok() ? "" : sent.error().message;
  });
  other.join();
  return out;
}

// Fills the send buffer of a blocking stream socket (made small): a splice
// to it then sleeps in its io-wq worker until the peer reads. Returns the
// bytes written.
std::size_t fill_socket(int fd) {
  const int small = 4096;
  REQUIRE(::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof small) == 0);
  const std::string junk(4096, 'j');
  std::size_t total = 0;
  for (int round = 0; round < 1000; ++round) {
    const ssize_t n = ::send(fd, junk.data(), junk.size(), MSG_DONTWAIT);
    if (n < 0) {
      REQUIRE(errno == EAGAIN);
      return total;
    }
    total += static_cast<std::size_t>(n);
  }
  FAIL("the socket took 4 MiB without filling up");
  return total;
}

// Reads `want` bytes from `fd` (each wait bounded: 5 s).
std::string read_exactly(int fd, std::size_t want) {
  std::string got;
  char chunk[65536];
  while (got.size() < want) {
    pollfd ready{fd, POLLIN, 0};
    if (::poll(&ready, 1, 5000) != 1) break;
    const ssize_t n = ::read(fd, chunk, std::min(sizeof chunk, want - got.size()));
    if (n <= 0) break;
    got.append(chunk, static_cast<std::size_t>(n));
  }
  return got;
}

// Review of c4cf4cb, then of ec40279: on SQPOLL a refused enter does not
// mean the kernel did not take the step: here (a registered_fd_only ring
// used from another thread, EBADF) the awake poller takes the SQEs on its
// own. send_file used to rewrite them into NOPs and close the pipe, racing
// the poller (c4cf4cb); then it left them to the poller and returned at once
// (ec40279), keeping the pipe open (2 fds), saying "after 0 bytes" though
// the bytes went out, and leaving the step's CQEs to come into the CQ
// later, where a retry took them for its own. Now it watches the CQ (the
// poller posts without an enter) until the step is done: the bytes counted,
// the pipe closed, nothing left to come.
TEST_CASE("send_file refused on an SQPOLL ring whose poller runs: it waits for the step the poller took, then fails") {
  Ring ring = registered_only_sqpoll_ring(2000);
  URING_REQUIRE_OP(splice_probe(ring), abi::IORING_OP_SPLICE);
  testing::TempDir dir;
  TestFile file = make_test_file(dir, "f", 4000, 61);
  for (int round = 0; round < 10; ++round) {
    CAPTURE(round);
    SocketPair pair = unix_pair();
    wake_poller(ring);
    const int fds_before = testing::open_fd_count();
    const OtherThreadSend sent = send_file_from_other_thread(ring, file.fd.get(), pair.send.get(), 100);
    REQUIRE(sent.code == EBADF);  // the registered index is the creating thread's
    CAPTURE(sent.message);
    CHECK(sent.message.find("after 100 bytes") != std::string::npos);
    CHECK(sent.message.find("registered_fd_only") != std::string::npos);
    CHECK(sent.fds_after == fds_before);  // nothing in flight: the pipe is closed
    CHECK(ring.sq_pending() == 0);
    CHECK(ring.cq_ready() == 0);
    // Nothing of the step comes later.
    WaitOptions wait;
    wait.timeout = std::chrono::milliseconds(50);
    CHECK(ring.submit_and_wait(1, wait) == -ETIME);
    CHECK(ring.cq_ready() == 0);
    const std::string got = read_exactly(pair.recv.get(), 100);
    CHECK(got == slice(file, 0, 100));
  }
}

// Review of ec40279: every send_file call gave its SQEs the same user_data,
// so a call that found the ring idle (a step an earlier refused call left to
// the poller taken off the SQ, its splice still running in io-wq) counted
// that step's CQE as its own: it said ok for the other step's bytes and
// closed its pipe with its own splice still running. Now each call has its
// own user_data: the old step's CQE is a stray, the call finishes its own
// step and fails with EBUSY naming it.
TEST_CASE("send_file after a refused call whose step is still running: the old step's CQE is not taken for its own") {
  Ring ring = registered_only_sqpoll_ring(2000);
  URING_REQUIRE_OP(splice_probe(ring), abi::IORING_OP_SPLICE);
  testing::TempDir dir;
  TestFile first_file = make_test_file(dir, "a", 4000, 62);
  TestFile second_file = make_test_file(dir, "b", 4000, 63);
  SocketPair first = unix_pair();
  SocketPair second = unix_pair();
  const std::size_t first_fill = fill_socket(first.send.get());
  const std::size_t second_fill = fill_socket(second.send.get());
  wake_poller(ring);
  const int fds_before = testing::open_fd_count();
  // The poller takes the step; its socket splice sleeps on the full socket
  // past send_file's wait: it returns with that splice running.
  const OtherThreadSend refused = send_file_from_other_thread(ring, first_file.fd.get(), first.send.get(), 100);
  REQUIRE(refused.code == EBADF);
  CAPTURE(refused.message);
  CHECK(refused.message.find("still running") != std::string::npos);
  CHECK(refused.fds_after == fds_before + 2);  // the pipe is kept for the running splice
  CHECK(ring.sq_pending() == 0);
  CHECK(ring.cq_ready() == 0);  // the file splice's CQE was taken by the call
  // What a caller told "submit and reap first" gets: the SQ taken, the CQ
  // reaped; the ring looks idle, the socket splice still sleeps.
  for (int waited = 0; waited < 1000 && ring.sq_pending() != 0; ++waited) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));  // bounded: 1 s
  }
  REQUIRE(ring.sq_pending() == 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ring.advance(ring.cq_ready());
  // The retry, from the creating thread, to the other (also full) socket:
  // the first socket's peer reads after 200 ms (the old socket splice ends,
  // its CQE comes while the retry's own splice sleeps), the second's after
  // 500 ms.
  std::string first_got, second_got;
  std::thread peers([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    first_got = read_exactly(first.recv.get(), first_fill + 100);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    second_got = read_exactly(second.recv.get(), second_fill + 100);
  });
  auto retry = send_file(ring, second_file.fd.get(), second.send.get(), 0, 100);
  peers.join();
  REQUIRE_FALSE_MESSAGE(retry.ok(), "the retry said ok, sent " << (retry.ok() ? retry.value() : 0));
  CHECK(retry.code() == EBUSY);
  CAPTURE(retry.error().message);
  CHECK(retry.error().message.find("an earlier call's step") != std::string::npos);
  // The retry ended its own step: nothing left in the CQ, its pipe closed
  // (the first call's stays: its step was still running when it returned).
  CHECK(ring.cq_ready() == 0);
  CHECK(testing::open_fd_count() == fds_before + 2);
  REQUIRE(first_got.size() == first_fill + 100);
  CHECK(first_got.substr(first_fill) == slice(first_file, 0, 100));
  REQUIRE(second_got.size() == second_fill + 100);
  CHECK(second_got.substr(second_fill) == slice(second_file, 0, 100));
}

// The other side of the wait above: with the poller asleep the step stays
// queued (nobody can wake the poller: the wake-up is an enter), so the call
// returns at once instead of watching the CQ for the whole bound.
TEST_CASE("send_file refused on an SQPOLL ring whose poller sleeps: the step stays queued, the call returns soon") {
  Ring ring = registered_only_sqpoll_ring(10);
  URING_REQUIRE_OP(splice_probe(ring), abi::IORING_OP_SPLICE);
  testing::TempDir dir;
  TestFile file = make_test_file(dir, "f", 4000, 64);
  SocketPair pair = unix_pair();
  wake_poller(ring);
  for (int waited = 0; waited < 2000 && !ring.sq_needs_wakeup(); ++waited) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));  // bounded: 2 s
  }
  REQUIRE(ring.sq_needs_wakeup());
  const int fds_before = testing::open_fd_count();
  const OtherThreadSend refused = send_file_from_other_thread(ring, file.fd.get(), pair.send.get(), 100);
  REQUIRE(refused.code == EBADF);
  CAPTURE(refused.message);
  CHECK(refused.took < std::chrono::milliseconds(1000));
  CHECK(refused.message.find("queued") != std::string::npos);
  CHECK(refused.fds_after == fds_before + 2);  // kept for the step the poller may still take
  CHECK(ring.sq_pending() == 2);
  // The creating thread's submit wakes the poller: the step runs as queued.
  unsigned results = 0;
  for (int round = 0; round < 50 && results < 2; ++round) {
    WaitOptions wait;
    wait.timeout = std::chrono::milliseconds(100);
    (void)ring.submit_and_wait(1, wait);
    ring.for_each_cqe([&](const Cqe& cqe) {
      CHECK((cqe.data() & kSendFileUserDataMask) == kSendFileUserData);
      CHECK(cqe.result() == 100);
      ++results;
    });
  }
  CHECK(results == 2);
  CHECK(read_exactly(pair.recv.get(), 100) == slice(file, 0, 100));
}

TEST_CASE("FileSender destroyed with a step in flight keeps its pipe open: the stale splice never reads another sender's pipe") {
  Ring ring = make_ring(8);
  Ring other_ring = make_ring(8);
  URING_REQUIRE_OP(splice_probe(ring), abi::IORING_OP_SPLICE);
  testing::TempDir dir;
  TestFile file = make_test_file(dir, "f", std::size_t{1} << 20, 57);
  TestFile secret = make_test_file(dir, "s", std::size_t{1} << 20, 59);
  SocketPair pair = unix_pair();
  SocketPair other_pair = unix_pair();
  const int small = 4096;
  REQUIRE(::setsockopt(pair.send.get(), SOL_SOCKET, SO_SNDBUF, &small, sizeof small) == 0);
  REQUIRE(::fcntl(pair.send.get(), F_SETFL, O_NONBLOCK) == 0);
  std::optional<FileSender> sender;
  {
    auto made = FileSender::create(file.fd.get(), pair.send.get(), 0, std::size_t{1} << 20);
    REQUIRE(made.ok());
    sender.emplace(std::move(made.value()));
  }
  // Steps until a POLLOUT wait is in flight (nobody reads the socket yet).
  for (int step = 0; step < 1000 && sender->counters().waits == 0; ++step) {
    REQUIRE(sender->state() == SendState::ready);
    REQUIRE(sender->queue(ring, kBase) > 0);
    REQUIRE(ring.submit() >= 0);
    if (sender->counters().waits != 0) break;
    while (sender->in_flight() != 0) {
      WaitOptions wait;
      wait.timeout = std::chrono::milliseconds(2000);
      REQUIRE(ring.wait_cqes(1, wait) == 0);
      ring.for_each_cqe([&](const Cqe& cqe) { (void)sender->on_cqe(cqe); });
    }
  }
  REQUIRE(sender->in_flight() == 2);
  const std::uint64_t sent_before = sender->sent();
  const int fds_before = testing::open_fd_count();
  sender.reset();  // the documented misuse
  CHECK_MESSAGE(testing::open_fd_count() == fds_before, "the pipe was closed with a step in flight");
  // Another sender gets fresh fds, then the first socket's peer reads: the
  // POLLOUT fires and the stale drain splice is issued.
  auto next = FileSender::create(secret.fd.get(), other_pair.send.get(), 0, std::size_t{1} << 20);
  REQUIRE(next.ok());
  Reader other_reader(other_pair.recv.get());
  Reader reader(pair.recv.get());
  drive(other_ring, *next, kBase);
  CHECK(next->state() == SendState::finished);
  CHECK(next->sent() == std::size_t{1} << 20);
  other_pair.send.reset();
  require_same(other_reader.join(), slice(secret, 0, std::size_t{1} << 20));
  // Reap the stale step's CQEs (bounded), then end the first stream.
  for (int round = 0; round < 50; ++round) {
    WaitOptions wait;
    wait.timeout = std::chrono::milliseconds(20);
    (void)ring.wait_cqes(1, wait);
    ring.for_each_cqe([](const Cqe&) {});
  }
  pair.send.reset();
  const std::string& got = reader.join();
  CHECK(got.size() >= sent_before);
  CHECK(got == slice(file, 0, got.size()));  // only the first file's bytes, in order
}
