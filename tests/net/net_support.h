// Helpers shared by the tests in tests/net: fds that close themselves,
// loopback sockets made with plain system calls (so the op under test is the
// only thing io_uring does), bounded reaping, file-table registration and
// legacy provided buffers for the buffer-select receive tests.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tests/support/test_support.h"
#include "uring/prep_buffers.h"
#include "uring/prep_event.h"
#include "uring/prep_net.h"
#include "uring/uring.h"

namespace uring::nettest {

using namespace std::chrono_literals;

// A file descriptor closed when this goes away.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    reset(std::exchange(other.fd_, -1));
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

// Checks, when the test case ends, that it left no descriptor open. Declare
// it first so everything else is closed by then.
struct FdLeakCheck {
  int before = testing::open_fd_count();
  ~FdLeakCheck() { CHECK(testing::open_fd_count() == before); }
};

inline Ring make_ring(unsigned entries = 32, void (*edit)(RingOptions&) = nullptr) {
  RingOptions options;
  options.entries = entries;
  if (edit) edit(options);
  auto ring = testing::create_ring(options);
  REQUIRE_MESSAGE(ring.ok(), ring.error().message);
  return std::move(ring.value());
}

inline Probe probe_of(const Ring& ring) {
  auto probe = Probe::query(ring);
  REQUIRE_MESSAGE(probe.ok(), probe.error().message);
  return probe.value();
}

#define URING_REQUIRE_OP(probe, op)                                        \
  do {                                                                     \
    if (!(probe).supports(op)) URING_SKIP((probe).unsupported_reason(op)); \
  } while (0)

// Shared with every test package (tests/support/test_support.h).
using testing::next_sqe;
using testing::reap;
using testing::reap_one;

// A run-time byte count as a SocketLength (uring/sqe.h). The tests' sizes
// always fit; one that did not would fail the test here, not be narrowed.
inline SocketLength length_of(std::size_t bytes) {
  const std::optional<SocketLength> length = SocketLength::checked(bytes);
  REQUIRE_MESSAGE(length.has_value(), bytes << " bytes do not fit a socket request");
  return *length;
}

// Submits what is pending and returns a CQE if one arrives within `wait`.
inline std::optional<Cqe> reap_within(Ring& ring, std::chrono::milliseconds wait) {
  REQUIRE(ring.submit() >= 0);
  Cqe* cqe = ring.peek_cqe();
  if (!cqe) {
    WaitOptions options;
    options.timeout = wait;
    const int ret = ring.wait_cqes(1, options);
    if (ret == -ETIME) return std::nullopt;
    REQUIRE(ret == 0);
    cqe = ring.peek_cqe();
    REQUIRE(cqe != nullptr);
  }
  Cqe copy = *cqe;
  ring.cqe_seen(cqe);
  return copy;
}

// Checks that nothing has completed: submits what is pending and a marker
// NOP, and the marker must be the next CQE, with nothing after it. This
// asks the kernel for its order instead of waiting some milliseconds for a
// CQE that should not come (a wait proves little on a loaded machine);
// what the request did later is then shown by the CQE it does post.
inline void expect_no_cqe(Ring& ring, std::uint64_t marker = 0x4e0c0e) {
  prep_nop(next_sqe(ring)).set_user_data(marker);
  const Cqe cqe = testing::reap_one(ring);
  CHECK_MESSAGE(cqe.data() == marker, "a CQE came before the marker: user_data " << cqe.data() << ", result "
                                                                                  << cqe.result());
  CHECK(ring.cq_ready() == 0);
}

// The one CQE in `cqes` carrying `user_data` (fails the test otherwise).
inline Cqe only(const std::vector<Cqe>& cqes, std::uint64_t user_data) {
  std::optional<Cqe> found;
  int times = 0;
  for (const Cqe& cqe : cqes) {
    if (cqe.data() == user_data) {
      found = cqe;
      ++times;
    }
  }
  REQUIRE_MESSAGE(times == 1, "user_data " << user_data << " seen " << times << " times");
  return *found;
}

// ---- Sockets, with plain system calls -----------------------------------------------

inline sockaddr_in loopback(std::uint16_t port = 0) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return addr;
}

inline sockaddr* as_sockaddr(sockaddr_in& addr) { return reinterpret_cast<sockaddr*>(&addr); }
inline const sockaddr* as_sockaddr(const sockaddr_in& addr) {
  return reinterpret_cast<const sockaddr*>(&addr);
}

inline sockaddr_in local_address(int fd) {
  sockaddr_in addr{};
  socklen_t len = sizeof addr;
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  return addr;
}

// Every blocking call on these sockets gives up after 5 s, so no test hangs.
inline void bound_blocking_calls(int fd) {
  timeval limit{5, 0};
  REQUIRE(::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit) == 0);
  REQUIRE(::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit) == 0);
}

// A TCP socket listening on 127.0.0.1 (port chosen by the kernel).
inline Fd tcp_listener(sockaddr_in* bound = nullptr, int backlog = 16) {
  Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  REQUIRE(fd.get() >= 0);
  sockaddr_in addr = loopback();
  REQUIRE(::bind(fd.get(), as_sockaddr(addr), sizeof addr) == 0);
  REQUIRE(::listen(fd.get(), backlog) == 0);
  if (bound) *bound = local_address(fd.get());
  return fd;
}

inline Fd tcp_connect(const sockaddr_in& to) {
  Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  REQUIRE(fd.get() >= 0);
  bound_blocking_calls(fd.get());
  int ret = ::connect(fd.get(), as_sockaddr(to), sizeof to);
  int error = errno;
  if (ret != 0 && error == EINTR) {
    // io_uring task work interrupts blocking calls that have a timeout; the
    // connection carries on in the background.
    pollfd p{fd.get(), POLLOUT, 0};
    while ((ret = ::poll(&p, 1, 5000)) < 0 && errno == EINTR) {
    }
    REQUIRE(ret == 1);
    socklen_t len = sizeof error;
    REQUIRE(::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &error, &len) == 0);
    ret = error == 0 ? 0 : -1;
  }
  REQUIRE_MESSAGE(ret == 0, "connect: " << std::string(std::strerror(error)));
  return fd;
}

// accept4(2), retried when io_uring task work interrupts it.
inline int accept_retrying(int listener) {
  int fd;
  while ((fd = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC)) < 0 && errno == EINTR) {
  }
  REQUIRE(fd >= 0);
  return fd;
}

// A connected TCP pair over 127.0.0.1: {client, server}.
inline std::pair<Fd, Fd> tcp_pair() {
  sockaddr_in addr{};
  Fd listener = tcp_listener(&addr);
  Fd client = tcp_connect(addr);
  Fd server(accept_retrying(listener.get()));
  bound_blocking_calls(server.get());
  return {std::move(client), std::move(server)};
}

inline std::pair<Fd, Fd> unix_pair(int type = SOCK_STREAM) {
  int fds[2];
  REQUIRE(::socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, fds) == 0);
  bound_blocking_calls(fds[0]);
  bound_blocking_calls(fds[1]);
  return {Fd(fds[0]), Fd(fds[1])};
}

inline Fd udp_socket(sockaddr_in* bound = nullptr) {
  Fd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  REQUIRE(fd.get() >= 0);
  sockaddr_in addr = loopback();
  REQUIRE(::bind(fd.get(), as_sockaddr(addr), sizeof addr) == 0);
  bound_blocking_calls(fd.get());
  if (bound) *bound = local_address(fd.get());
  return fd;
}

inline std::pair<Fd, Fd> make_pipe() {
  int fds[2];
  REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
  return {Fd(fds[0]), Fd(fds[1])};
}

// Deterministic bytes that differ per seed and position.
inline std::vector<unsigned char> pattern(std::size_t size, std::uint32_t seed) {
  std::vector<unsigned char> bytes(size);
  std::uint32_t x = seed * 2654435761u + 1;
  for (auto& b : bytes) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    b = static_cast<unsigned char>(x);
  }
  return bytes;
}

// Reads exactly `size` bytes with recv(2) (bounded by SO_RCVTIMEO).
inline std::vector<unsigned char> recv_exact(int fd, std::size_t size) {
  std::vector<unsigned char> bytes(size);
  std::size_t got = 0;
  while (got < size) {
    const ssize_t n = ::recv(fd, bytes.data() + got, size - got, 0);
    if (n < 0 && errno == EINTR) continue;  // io_uring task work, see tcp_connect
    REQUIRE_MESSAGE(n > 0, "recv returned " << n << " errno " << errno << " after " << got << " bytes");
    got += static_cast<std::size_t>(n);
  }
  return bytes;
}

inline void send_all(int fd, const void* data, std::size_t size) {
  const auto* bytes = static_cast<const unsigned char*>(data);
  std::size_t sent = 0;
  while (sent < size) {
    const ssize_t n = ::send(fd, bytes + sent, size - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    REQUIRE_MESSAGE(n > 0, "send returned " << n << " errno " << errno);
    sent += static_cast<std::size_t>(n);
  }
}

// True once `fd` polls readable within `wait`.
inline bool readable_within(int fd, std::chrono::milliseconds wait) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, static_cast<int>(wait.count())) == 1;
}

// ---- Registration ------------------------------------------------------------------------

// Registers a file table of `slots` entries: the fds given, -1 for empty.
inline void register_files(Ring& ring, std::vector<int> fds) {
  abi::io_uring_rsrc_register reg{};
  reg.nr = static_cast<std::uint32_t>(fds.size());
  reg.data = reinterpret_cast<std::uintptr_t>(fds.data());
  const int ret = ring.register_raw(abi::IORING_REGISTER_FILES2, &reg, sizeof reg);
  REQUIRE_MESSAGE(ret == 0, "IORING_REGISTER_FILES2: " << ret);
}

inline void register_sparse_files(Ring& ring, unsigned slots) {
  abi::io_uring_rsrc_register reg{};
  reg.nr = slots;
  reg.flags = abi::IORING_RSRC_REGISTER_SPARSE;
  const int ret = ring.register_raw(abi::IORING_REGISTER_FILES2, &reg, sizeof reg);
  REQUIRE_MESSAGE(ret == 0, "IORING_REGISTER_FILES2 (sparse): " << ret);
}

// Hands `count` buffers of `size` bytes, back to back from `memory`, to
// legacy provided-buffer group `group` (ids first_id...), and checks it worked.
inline void provide_buffers(Ring& ring, void* memory, unsigned size, unsigned count, std::uint16_t group,
                            std::uint16_t first_id = 0) {
  prep_provide_buffers(next_sqe(ring), memory, size, count, group, first_id).set_user_data(0xb0ff);
  const Cqe cqe = reap_one(ring);
  REQUIRE(cqe.data() == 0xb0ff);
  REQUIRE_MESSAGE(cqe.result() == 0, "PROVIDE_BUFFERS: " << cqe.result());
}

// A buffer ring registered by hand (IORING_REGISTER_PBUF_RING) over memory
// of the test's own, so the test decides what each buffer holds before the
// kernel may pick it: for sends from provided buffers. Unregistered when
// this goes away.
class ManualBufferRing {
 public:
  ManualBufferRing(Ring& ring, std::uint16_t group, unsigned entries, unsigned buffer_size)
      : ring_(ring), group_(group), entries_(entries), size_(buffer_size), memory_(entries * buffer_size) {
    ring_bytes_ = entries * sizeof(abi::io_uring_buf);
    void* mapped = ::mmap(nullptr, ring_bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    REQUIRE(mapped != MAP_FAILED);
    bufs_ = static_cast<abi::io_uring_buf_ring*>(mapped);
    abi::io_uring_buf_reg reg{};
    reg.ring_addr = reinterpret_cast<std::uintptr_t>(mapped);
    reg.ring_entries = entries;
    reg.bgid = group;
    const int ret = ring.register_raw(abi::IORING_REGISTER_PBUF_RING, &reg, 1);
    REQUIRE_MESSAGE(ret == 0, "IORING_REGISTER_PBUF_RING: " << ret);
  }
  ~ManualBufferRing() {
    abi::io_uring_buf_reg reg{};
    reg.bgid = group_;
    CHECK(ring_.register_raw(abi::IORING_UNREGISTER_PBUF_RING, &reg, 1) == 0);
    ::munmap(bufs_, ring_bytes_);
  }
  ManualBufferRing(const ManualBufferRing&) = delete;
  ManualBufferRing& operator=(const ManualBufferRing&) = delete;

  unsigned char* buffer(std::uint16_t id) { return memory_.data() + std::size_t{id} * size_; }
  // Puts buffer `id` (its first `len` bytes) at the tail and publishes it.
  void add(std::uint16_t id, unsigned len) {
    abi::io_uring_buf& entry = bufs_->bufs[tail_ & (entries_ - 1)];
    entry.addr = reinterpret_cast<std::uintptr_t>(buffer(id));
    entry.len = len;
    entry.bid = id;
    ++tail_;
    std::atomic_ref<std::uint16_t>(bufs_->tail).store(tail_, std::memory_order_release);
  }

 private:
  Ring& ring_;
  std::uint16_t group_;
  unsigned entries_;
  unsigned size_;
  std::vector<unsigned char> memory_;
  std::size_t ring_bytes_ = 0;
  abi::io_uring_buf_ring* bufs_ = nullptr;
  std::uint16_t tail_ = 0;
};

}  // namespace uring::nettest
