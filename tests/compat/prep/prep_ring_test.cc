// The liburing-compatible preps against the kernel: SQEs from a uring::Ring,
// filled through the C API (the slot seen as a struct io_uring_sqe), and
// what the kernel did -- bytes moved, fds made and closed, results for the
// arguments the SQE cannot carry.
#include <fcntl.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "tests/support/kernel_features.h"
#include "tests/support/test_support.h"
#include "uring/uring.h"

// After uring's headers (syscalls/abi.h must come before the C macros):
// from here on only the C names are spelled.
#include "liburing/io_uring.h"
#include "liburing/prep.h"

namespace {

uring::Ring make_ring() {
  auto ring = uring::testing::create_ring(uring::RingOptions{});
  REQUIRE_MESSAGE(ring.ok(), ring.error().message);
  return std::move(ring).value();
}

io_uring_sqe* c_sqe(uring::Ring& ring) {
  uring::Sqe& sqe = uring::testing::next_sqe(ring);
  std::memset(&sqe, 0xa5, 64);  // a slot some earlier request left dirty
  return reinterpret_cast<io_uring_sqe*>(&sqe);
}

// Submits what is pending and takes one CQE.
struct Done {
  int res;
  __u64 user_data;
  __u32 flags;
};
Done one(uring::Ring& ring) {
  uring::Cqe cqe = uring::testing::reap_one(ring);
  return Done{cqe.res, cqe.user_data, cqe.flags};
}

bool fd_is_open(int fd) { return ::fcntl(fd, F_GETFD) >= 0; }

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  int release() {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_;
};

}  // namespace

TEST_CASE("write, writev, read and readv through the C preps move exactly the bytes asked for") {
  uring::Ring ring = make_ring();
  uring::testing::TempDir dir;
  const std::string path = dir.path() + "/data";
  Fd fd(::open(path.c_str(), O_RDWR | O_CREAT, 0644));
  REQUIRE(fd.get() >= 0);

  const char hello[] = "hello, ";
  char world[] = "world";
  io_uring_sqe* sqe = c_sqe(ring);
  io_uring_sqe_set_data64(sqe, 7);  // before the prep: the prep keeps it
  io_uring_prep_write(sqe, fd.get(), hello, 7, 0);
  Done d = one(ring);
  CHECK(d.res == 7);
  CHECK(d.user_data == 7);

  iovec iov[1] = {{world, 5}};
  sqe = c_sqe(ring);
  io_uring_prep_writev2(sqe, fd.get(), iov, 1, 7, 0);
  io_uring_sqe_set_data64(sqe, 8);
  d = one(ring);
  CHECK(d.res == 5);
  CHECK(d.user_data == 8);

  char back[32] = {};
  sqe = c_sqe(ring);
  io_uring_prep_read(sqe, fd.get(), back, sizeof back, 0);
  CHECK(one(ring).res == 12);
  CHECK(std::string(back, 12) == "hello, world");

  char a[4] = {}, b[8] = {};
  iovec parts[2] = {{a, 4}, {b, 8}};
  sqe = c_sqe(ring);
  io_uring_prep_readv(sqe, fd.get(), parts, 2, 2);
  CHECK(one(ring).res == 10);
  CHECK(std::string(a, 4) == "llo,");
  CHECK(std::string(b, 6) == " world");
}

TEST_CASE("read_fixed: a registered buffer is used; an index that cannot be carried fails with -EFAULT") {
  uring::Ring ring = make_ring();
  uring::testing::TempDir dir;
  const std::string path = dir.path() + "/data";
  Fd fd(::open(path.c_str(), O_RDWR | O_CREAT, 0644));
  REQUIRE(fd.get() >= 0);
  REQUIRE(::pwrite(fd.get(), "fixed!", 6, 0) == 6);

  static char buffer[64];
  iovec reg = {buffer, sizeof buffer};
  REQUIRE(ring.register_raw(IORING_REGISTER_BUFFERS, &reg, 1) == 0);

  io_uring_sqe* sqe = c_sqe(ring);
  io_uring_prep_read_fixed(sqe, fd.get(), buffer, 6, 0, 0);
  CHECK(one(ring).res == 6);
  CHECK(std::string(buffer, 6) == "fixed!");

  // 65536 would be buffer 0 once cut to 16 bits (as liburing 2.3 writes it):
  // here the kernel refuses it and buffer 0 is not touched.
  std::memset(buffer, 0, sizeof buffer);
  for (int index : {65536, -1, 16384}) {
    INFO("index " << index);
    sqe = c_sqe(ring);
    io_uring_prep_read_fixed(sqe, fd.get(), buffer, 6, 0, index);
    CHECK(one(ring).res == -EFAULT);
    CHECK(buffer[0] == 0);
  }
}

TEST_CASE("openat, statx and close through the C preps; openat_direct and close_direct with slots") {
  uring::Ring ring = make_ring();
  uring::testing::TempDir dir;
  const std::string path = dir.path() + "/made";

  io_uring_sqe* sqe = c_sqe(ring);
  io_uring_prep_openat(sqe, AT_FDCWD, path.c_str(), O_RDWR | O_CREAT | O_EXCL, 0600);
  const int fd = one(ring).res;
  REQUIRE(fd >= 0);
  CHECK(fd_is_open(fd));

  struct statx stx {};
  sqe = c_sqe(ring);
  io_uring_prep_statx(sqe, AT_FDCWD, path.c_str(), 0, STATX_MODE, &stx);
  CHECK(one(ring).res == 0);
  CHECK((stx.stx_mode & 0777) == 0600);

  sqe = c_sqe(ring);
  io_uring_prep_close(sqe, fd);
  CHECK(one(ring).res == 0);
  CHECK_FALSE(fd_is_open(fd));

  // A sparse table of 4 slots.
  int empty[4] = {-1, -1, -1, -1};
  REQUIRE(ring.register_raw(IORING_REGISTER_FILES, empty, 4) == 0);

  sqe = c_sqe(ring);
  io_uring_prep_openat_direct(sqe, AT_FDCWD, path.c_str(), O_RDONLY, 0, 2);
  CHECK(one(ring).res == 0);
  sqe = c_sqe(ring);
  io_uring_prep_openat_direct(sqe, AT_FDCWD, path.c_str(), O_RDONLY, 0, IORING_FILE_INDEX_ALLOC);
  const int chosen = one(ring).res;
  CHECK(chosen >= 0);
  CHECK(chosen != 2);
  CHECK(chosen < 4);
  // liburing 2.3's own spelling of "any slot".
  sqe = c_sqe(ring);
  io_uring_prep_openat_direct(sqe, AT_FDCWD, path.c_str(), O_RDONLY, 0, IORING_FILE_INDEX_ALLOC - 1);
  const int chosen2 = one(ring).res;
  CHECK(chosen2 >= 0);
  CHECK(chosen2 < 4);
  CHECK(chosen2 != chosen);
  // Past any table: the kernel refuses the slot.
  sqe = c_sqe(ring);
  io_uring_prep_openat_direct(sqe, AT_FDCWD, path.c_str(), O_RDONLY, 0, 1U << 20);
  CHECK(one(ring).res == -EINVAL);

  sqe = c_sqe(ring);
  io_uring_prep_close_direct(sqe, 2);
  CHECK(one(ring).res == 0);
  sqe = c_sqe(ring);
  io_uring_prep_close_direct(sqe, 2);  // now empty
  CHECK(one(ring).res == -EBADF);

  // The largest index must not become "close fd 0" (index + 1 == 0).
  Fd probe(::dup(1));
  REQUIRE(probe.get() >= 0);
  const bool zero_was_open = fd_is_open(0);
  sqe = c_sqe(ring);
  io_uring_prep_close_direct(sqe, 0xffffffffU);
  CHECK(one(ring).res == -EINVAL);
  CHECK(fd_is_open(0) == zero_was_open);
}

TEST_CASE("sendmsg and recv on a socketpair; send with flags set after the prep") {
  uring::Ring ring = make_ring();
  int sv[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
  Fd left(sv[0]), right(sv[1]);

  char payload[] = "ping-pong";
  iovec iov = {payload, 9};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  io_uring_sqe* sqe = c_sqe(ring);
  io_uring_prep_sendmsg(sqe, left.get(), &msg, 0);
  CHECK(one(ring).res == 9);

  char got[16] = {};
  sqe = c_sqe(ring);
  io_uring_prep_recv(sqe, right.get(), got, sizeof got, 0);
  CHECK(one(ring).res == 9);
  CHECK(std::string(got, 9) == "ping-pong");

  // A linked pair built with the flags word after the prep, as liburing
  // programs do: send, then recv.
  sqe = c_sqe(ring);
  io_uring_prep_send(sqe, left.get(), "abc", 3, 0);
  io_uring_sqe_set_flags(sqe, IOSQE_IO_LINK);
  io_uring_sqe_set_data64(sqe, 1);
  sqe = c_sqe(ring);
  io_uring_prep_recv(sqe, right.get(), got, 3, MSG_WAITALL);
  io_uring_sqe_set_data64(sqe, 2);
  auto cqes = uring::testing::reap(ring, 2);
  REQUIRE(cqes.size() == 2);
  CHECK(cqes[0].user_data == 1);
  CHECK(cqes[0].res == 3);
  CHECK(cqes[1].user_data == 2);
  CHECK(cqes[1].res == 3);
  CHECK(std::string(got, 3) == "abc");
}

TEST_CASE("recv_multishot with IOSQE_BUFFER_SELECT and the group set after the prep") {
  uring::Ring ring = make_ring();
  int sv[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
  Fd left(sv[0]), right(sv[1]);

  static char pool[4][32];
  io_uring_sqe* sqe = c_sqe(ring);
  io_uring_prep_provide_buffers(sqe, pool, 32, 4, 7, 0);
  CHECK(one(ring).res == 0);

  sqe = c_sqe(ring);
  io_uring_prep_recv_multishot(sqe, right.get(), nullptr, 0, 0);
  sqe->flags |= IOSQE_BUFFER_SELECT;
  sqe->buf_group = 7;
  io_uring_sqe_set_data64(sqe, 99);
  REQUIRE(ring.submit() == 1);
  REQUIRE(::write(left.get(), "one", 3) == 3);
  Done d = one(ring);
  CHECK(d.user_data == 99);
  CHECK(d.res == 3);
  CHECK((d.flags & IORING_CQE_F_BUFFER) != 0);
  CHECK((d.flags & IORING_CQE_F_MORE) != 0);
  const unsigned id = d.flags >> IORING_CQE_BUFFER_SHIFT;
  REQUIRE(id < 4);
  CHECK(std::string(pool[id], 3) == "one");

  sqe = c_sqe(ring);
  io_uring_prep_cancel64(sqe, 99, 0);
  auto cqes = uring::testing::reap(ring, 2);
  bool cancelled = false;
  for (const auto& c : cqes) cancelled |= (c.user_data == 99 && c.res == -ECANCELED);
  CHECK(cancelled);
}

TEST_CASE("provide_buffers: a group or buffer id the SQE cannot carry fails, never lands in another group") {
  uring::Ring ring = make_ring();
  static char pool[2][16];

  io_uring_sqe* sqe = c_sqe(ring);
  io_uring_prep_provide_buffers(sqe, pool, 16, 2, 65536 + 3, 0);
  CHECK(one(ring).res == -EINVAL);
  // Group 3 got nothing: removing from it finds no group.
  sqe = c_sqe(ring);
  io_uring_prep_remove_buffers(sqe, 2, 3);
  CHECK(one(ring).res == -ENOENT);

  sqe = c_sqe(ring);
  io_uring_prep_provide_buffers(sqe, pool, 16, 2, 3, 70000);
  CHECK(one(ring).res == -E2BIG);

  sqe = c_sqe(ring);
  io_uring_prep_remove_buffers(sqe, 1, -1);
  CHECK(one(ring).res == -EINVAL);
}

TEST_CASE("timeout, timeout_remove and link_timeout through the C preps") {
  uring::Ring ring = make_ring();
  __kernel_timespec ts{0, 10 * 1000 * 1000};
  io_uring_sqe* sqe = c_sqe(ring);
  io_uring_prep_timeout(sqe, &ts, 0, 0);
  io_uring_sqe_set_data64(sqe, 5);
  Done d = one(ring);
  CHECK(d.res == -ETIME);
  CHECK(d.user_data == 5);

  // flags a timeout removal does not take reach the kernel (liburing's
  // timeout.c expects -EINVAL for IORING_TIMEOUT_ABS here).
  sqe = c_sqe(ring);
  io_uring_prep_timeout_remove(sqe, 0, IORING_TIMEOUT_ABS);
  CHECK(one(ring).res == -EINVAL);
  sqe = c_sqe(ring);
  io_uring_prep_timeout_remove(sqe, 12345, 0);
  CHECK(one(ring).res == -ENOENT);

  // A poll that never fires, cut by a linked timeout.
  int p[2];
  REQUIRE(::pipe(p) == 0);
  Fd rd(p[0]), wr(p[1]);
  sqe = c_sqe(ring);
  io_uring_prep_poll_add(sqe, rd.get(), POLLIN);
  io_uring_sqe_set_flags(sqe, IOSQE_IO_LINK);
  io_uring_sqe_set_data64(sqe, 1);
  sqe = c_sqe(ring);
  io_uring_prep_link_timeout(sqe, &ts, 0);
  io_uring_sqe_set_data64(sqe, 2);
  auto cqes = uring::testing::reap(ring, 2);
  REQUIRE(cqes.size() == 2);
  for (const auto& c : cqes) {
    if (c.user_data == 1) CHECK(c.res == -ECANCELED);
    if (c.user_data == 2) CHECK(c.res == -ETIME);
  }
}

TEST_CASE("poll_update: what a PollUpdate cannot say reaches the kernel, which refuses it") {
  uring::Ring ring = make_ring();
  int p[2];
  REQUIRE(::pipe(p) == 0);
  Fd rd(p[0]), wr(p[1]);
  io_uring_sqe* sqe = c_sqe(ring);
  io_uring_prep_poll_add(sqe, rd.get(), POLLIN);
  io_uring_sqe_set_data64(sqe, 10);
  REQUIRE(ring.submit() == 1);

  // A mask without IORING_POLL_UPDATE_EVENTS: -EINVAL, the poll stays.
  sqe = c_sqe(ring);
  io_uring_prep_poll_update(sqe, 10, 0, POLLOUT, 0);
  io_uring_sqe_set_data64(sqe, 11);
  Done d = one(ring);
  CHECK(d.user_data == 11);
  CHECK(d.res == -EINVAL);

  // user_data without IORING_POLL_UPDATE_USER_DATA: -EINVAL as well.
  sqe = c_sqe(ring);
  io_uring_prep_poll_update(sqe, 10, 0x5678, 0, 0);
  io_uring_sqe_set_data64(sqe, 13);
  d = one(ring);
  CHECK(d.user_data == 13);
  CHECK(d.res == -EINVAL);

  // A real update: new user_data; the poll then fires under it.
  sqe = c_sqe(ring);
  io_uring_prep_poll_update(sqe, 10, 20, 0, IORING_POLL_UPDATE_USER_DATA);
  io_uring_sqe_set_data64(sqe, 12);
  d = one(ring);
  CHECK(d.user_data == 12);
  CHECK(d.res == 0);
  REQUIRE(::write(wr.get(), "x", 1) == 1);
  d = one(ring);
  CHECK(d.user_data == 20);
  CHECK((d.res & POLLIN) != 0);
}

TEST_CASE("socket, msg_ring and nop through the C preps") {
  uring::Ring ring = make_ring();
  io_uring_sqe* sqe = c_sqe(ring);
  io_uring_prep_socket(sqe, AF_UNIX, SOCK_DGRAM, 0, 0);
  const int fd = one(ring).res;
  REQUIRE(fd >= 0);
  CHECK(fd_is_open(fd));
  ::close(fd);
  // socket's `flags` are passed on; the kernel takes none yet.
  sqe = c_sqe(ring);
  io_uring_prep_socket(sqe, AF_UNIX, SOCK_DGRAM, 0, 1);
  CHECK(one(ring).res == -EINVAL);

  sqe = c_sqe(ring);
  io_uring_prep_msg_ring(sqe, ring.fd(), 0x20, 0x5aa5, 0);
  io_uring_sqe_set_data64(sqe, 1);
  auto cqes = uring::testing::reap(ring, 2);
  REQUIRE(cqes.size() == 2);
  bool sent = false, received = false;
  for (const auto& c : cqes) {
    sent |= c.user_data == 1 && c.res == 0;
    received |= c.user_data == 0x5aa5 && c.res == 0x20;
  }
  CHECK(sent);
  CHECK(received);

  sqe = c_sqe(ring);
  io_uring_prep_nop(sqe);
  io_uring_sqe_set_data(sqe, &ring);
  uring::Cqe cqe = uring::testing::reap_one(ring);
  CHECK(cqe.res == 0);
  CHECK(io_uring_cqe_get_data(reinterpret_cast<const io_uring_cqe*>(&cqe)) == &ring);

  // An opcode io_uring_prep_rw cannot carry: -EINVAL, not opcode & 0xff.
  sqe = c_sqe(ring);
  io_uring_prep_rw(256 + IORING_OP_NOP, sqe, -1, nullptr, 0, 0);
  CHECK(one(ring).res == -EINVAL);
}

TEST_CASE("pipe and epoll_wait (later preps) through the C API") {
  URING_REQUIRE(uring::testing::missing_op(IORING_OP_PIPE));
  URING_REQUIRE(uring::testing::missing_op(IORING_OP_EPOLL_WAIT));
  uring::Ring ring = make_ring();
  int fds[2] = {-1, -1};
  io_uring_sqe* sqe = c_sqe(ring);
  io_uring_prep_pipe(sqe, fds, O_CLOEXEC);
  CHECK(one(ring).res == 0);
  Fd rd(fds[0]), wr(fds[1]);
  REQUIRE(fd_is_open(rd.get()));
  REQUIRE(fd_is_open(wr.get()));
  CHECK((::fcntl(rd.get(), F_GETFD) & FD_CLOEXEC) != 0);

  Fd ep(::epoll_create1(EPOLL_CLOEXEC));
  REQUIRE(ep.get() >= 0);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = 0x77;
  sqe = c_sqe(ring);
  io_uring_prep_epoll_ctl(sqe, ep.get(), rd.get(), EPOLL_CTL_ADD, &ev);
  CHECK(one(ring).res == 0);

  REQUIRE(::write(wr.get(), "x", 1) == 1);
  epoll_event out[4] = {};
  sqe = c_sqe(ring);
  io_uring_prep_epoll_wait(sqe, ep.get(), out, 4, 0);
  CHECK(one(ring).res == 1);
  CHECK(std::uint64_t{out[0].data.u64} == 0x77);
  CHECK((unsigned{out[0].events} & EPOLLIN) != 0);
  // flags are passed on; the kernel takes none.
  sqe = c_sqe(ring);
  io_uring_prep_epoll_wait(sqe, ep.get(), out, 4, 1);
  CHECK(one(ring).res == -EINVAL);
}

TEST_CASE("values an SQE cannot carry, and flag words no builder offers, end in the kernel's refusal") {
  uring::Ring ring = make_ring();
  int sv[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) == 0);
  Fd left(sv[0]), right(sv[1]);

  // Flag bits past the byte: bit 7 (no IOSQE_ flag), not the low byte alone.
  io_uring_sqe* sqe = c_sqe(ring);
  io_uring_prep_nop(sqe);
  io_uring_sqe_set_flags(sqe, 0x100);
  CHECK(one(ring).res == -EINVAL);

  // A group no 16 bits can name: refused, not group 70000 - 65536.
  sqe = c_sqe(ring);
  io_uring_prep_recv(sqe, right.get(), nullptr, 8, 0);
  io_uring_sqe_set_flags(sqe, IOSQE_BUFFER_SELECT);
  io_uring_sqe_set_buf_group(sqe, 70000);
  CHECK(one(ring).res == -EINVAL);

  // A destination length past 16 bits: still one the kernel refuses.
  sockaddr_storage ss{};
  sqe = c_sqe(ring);
  io_uring_prep_sendto(sqe, left.get(), "x", 1, 0, reinterpret_cast<sockaddr*>(&ss), 70000);
  CHECK(one(ring).res == -EINVAL);

  // CQE_SKIP is for SEND_FD only: passed on, refused for a data message.
  sqe = c_sqe(ring);
  io_uring_prep_msg_ring(sqe, ring.fd(), 1, 2, IORING_MSG_RING_CQE_SKIP);
  CHECK(one(ring).res == -EINVAL);
}

TEST_CASE("futex_wait with a value past 32 bits and fixed_fd_install of no slot are refused") {
  URING_REQUIRE(uring::testing::missing_op(IORING_OP_FUTEX_WAIT));
  URING_REQUIRE(uring::testing::missing_op(IORING_OP_FIXED_FD_INSTALL));
  uring::Ring ring = make_ring();
  static std::uint32_t futex = 0;
  // (1 << 32) cut to 32 bits would be 0 == *futex: a wait that sleeps.
  io_uring_sqe* sqe = c_sqe(ring);
  io_uring_prep_futex_wait(sqe, &futex, 1ULL << 32, ~0ULL, 0x82 /* FUTEX2_SIZE_U32 | FUTEX2_PRIVATE */, 0);
  CHECK(one(ring).res == -EINVAL);

  sqe = c_sqe(ring);
  io_uring_prep_fixed_fd_install(sqe, -1, 0);
  CHECK(one(ring).res == -EBADF);
}
