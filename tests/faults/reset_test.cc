// A peer that resets a TCP connection (SO_LINGER {1, 0} then close: the
// kernel sends RST) in the middle of a multishot receive through a
// BufferGroup, and of a zero-copy send (issue 14, Faults). Loopback only.
//   - The multishot receive ends with exactly one CQE without F_MORE
//     (-ECONNRESET, or 0 if the kernel saw end of stream first); every CQE
//     before it carries F_MORE and a buffer of the group.
//   - The zero-copy send, blocked on a full window, completes (a partial
//     count, or -ECONNRESET / -EPIPE) with F_MORE, and its notification CQE
//     (F_NOTIF, without F_MORE) follows: two CQEs, never one, never three.
// Nothing hangs: every wait is bounded.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>
#include <vector>

#include "tests/faults/faults_support.h"
#include "uring/buffer_group.h"

using namespace uring;
using namespace uring::faults;

namespace {

struct Socket {
  explicit Socket(int fd = -1) : fd(fd) {}
  ~Socket() { reset(); }
  Socket(Socket&& other) noexcept : fd(other.fd) { other.fd = -1; }
  Socket& operator=(Socket&&) = delete;
  void reset() {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
  int fd;
};

void set_int(int fd, int level, int name, int value) {
  REQUIRE(::setsockopt(fd, level, name, &value, sizeof value) == 0);
}

// A connected pair over 127.0.0.1: {client, server}. Small buffers when
// `small_buffers`, so that a large send fills the window and waits.
std::pair<Socket, Socket> tcp_pair(bool small_buffers) {
  Socket listener(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  REQUIRE(listener.fd >= 0);
  if (small_buffers) set_int(listener.fd, SOL_SOCKET, SO_RCVBUF, 16 * 1024);  // inherited by the accepted socket
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(listener.fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  REQUIRE(::listen(listener.fd, 4) == 0);
  socklen_t len = sizeof addr;
  REQUIRE(::getsockname(listener.fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  Socket client(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  REQUIRE(client.fd >= 0);
  if (small_buffers) set_int(client.fd, SOL_SOCKET, SO_SNDBUF, 16 * 1024);
  int ret;
  while ((ret = ::connect(client.fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr)) != 0 && errno == EINTR) {
  }
  REQUIRE(ret == 0);
  int server;
  while ((server = ::accept4(listener.fd, nullptr, nullptr, SOCK_CLOEXEC)) < 0 && errno == EINTR) {
  }
  REQUIRE(server >= 0);
  return {std::move(client), Socket(server)};
}

// Closes `socket` so that the kernel sends RST, not FIN.
void reset_connection(Socket& socket) {
  const linger abort_on_close{1, 0};
  REQUIRE(::setsockopt(socket.fd, SOL_SOCKET, SO_LINGER, &abort_on_close, sizeof abort_on_close) == 0);
  socket.reset();
}

Ring make_ring() {
  RingOptions options;
  options.entries = 16;
  auto ring = testing::create_ring(options);
  REQUIRE_MESSAGE(ring.ok(), ring.error().message);
  return std::move(ring.value());
}

// CQEs until `done` says so, or `limit` passes.
template <class Done>
std::vector<Cqe> reap_until(Ring& ring, Done done, std::chrono::milliseconds limit = 20000ms) {
  std::vector<Cqe> cqes;
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done(cqes) && std::chrono::steady_clock::now() < deadline) {
    const int ret = ring.wait_cqes(1, WaitOptions{.timeout = 100ms});
    CHECK((ret == 0 || ret == -ETIME || ret == -EINTR));
    ring.for_each_cqe([&](const Cqe& cqe) { cqes.push_back(cqe); });
  }
  return cqes;
}

// Nothing more comes: a marker NOP is the next CQE, and the only one.
void expect_nothing_more(Ring& ring) {
  prep_nop(testing::next_sqe(ring)).set_user_data(0x4e0c0e);
  const Cqe marker = testing::reap_one(ring);
  CHECK_MESSAGE(marker.data() == 0x4e0c0eu, "a CQE came before the marker: user_data " << marker.data()
                                                                                        << ", result " << marker.result());
  CHECK(ring.cq_ready() == 0);
}

void multishot_recv_reset(bool unread_data_at_reset) {
  INFO("data in flight at the reset: " << unread_data_at_reset);
  Ring ring = make_ring();
  auto group = BufferGroup::create_ring(ring, {.group_id = 3, .buffer_count = 8, .buffer_size = 64});
  REQUIRE_MESSAGE(group.ok(), group.error().message);
  auto [client, server] = tcp_pair(false);
  prep_recv_multishot(testing::next_sqe(ring), server.fd, 0, 3).set_user_data(1);
  REQUIRE(ring.submit() == 1);

  // One delivery first: the receive is armed and working.
  REQUIRE(::send(client.fd, "hello", 5, MSG_NOSIGNAL) == 5);
  std::string received;
  const Cqe first = testing::reap_one(ring);
  CHECK(first.data() == 1u);
  REQUIRE(first.result() == 5);
  CHECK(first.more());
  {
    const BufferView view = group->take(first);
    REQUIRE(view.ok());
    received.append(reinterpret_cast<const char*>(view.data), view.size);
    CHECK(group->recycle(view) == BufferError::none);
  }
  if (unread_data_at_reset) REQUIRE(::send(client.fd, "world", 5, MSG_NOSIGNAL) == 5);
  reset_connection(client);

  const std::vector<Cqe> cqes = reap_until(ring, [](const std::vector<Cqe>& got) {
    return !got.empty() && !got.back().more();
  });
  REQUIRE_FALSE(cqes.empty());
  for (std::size_t i = 0; i + 1 < cqes.size(); ++i) {
    INFO("CQE " << i << " result " << cqes[i].result());
    CHECK(cqes[i].data() == 1u);
    CHECK(cqes[i].more());
    CHECK(cqes[i].result() > 0);
    CHECK(cqes[i].has_buffer());
    const BufferView view = group->take(cqes[i]);
    CHECK(view.ok());
    if (view.ok()) {
      received.append(reinterpret_cast<const char*>(view.data), view.size);
      CHECK(group->recycle(view) == BufferError::none);
    }
  }
  const Cqe& last = cqes.back();
  INFO("final result " << last.result());
  CHECK(last.data() == 1u);
  CHECK_FALSE(last.more());
  CHECK((last.result() == -ECONNRESET || last.result() == 0));
  CHECK_FALSE(last.has_buffer());
  // The data before the reset arrived, or was dropped with it (an RST
  // discards unread data on the receiver): a prefix, never garbage.
  CHECK(std::string("helloworld").rfind(received, 0) == 0);
  CHECK(received.size() >= 5);
  expect_nothing_more(ring);
}

}  // namespace

TEST_CASE("a peer's RST ends a multishot receive through a buffer group with one final CQE without F_MORE") {
  URING_REQUIRE(testing::missing_op(abi::IORING_OP_RECV));
  URING_REQUIRE(testing::missing_since("IORING_RECV_MULTISHOT", "6.0"));
  URING_REQUIRE(testing::missing_register_op(abi::IORING_REGISTER_PBUF_RING));
  multishot_recv_reset(false);
  multishot_recv_reset(true);
}

TEST_CASE("a peer's RST during a zero-copy send: its result and its notification both come") {
  URING_REQUIRE(testing::missing_op(abi::IORING_OP_SEND_ZC));
  Ring ring = make_ring();
  auto [client, server] = tcp_pair(true);
  // Far more than the two small buffers hold (about 64 KiB in all), so the
  // send waits for the window; and little enough to pin: without
  // CAP_IPC_LOCK (of the initial user namespace) the kernel charges the
  // pinned pages to RLIMIT_MEMLOCK (io_notif_account_mem), shared with every
  // ring of this user.
  std::vector<char> payload(1 << 20, 'z');
  prep_send_zc(testing::next_sqe(ring), client.fd, payload.data(), *SocketLength::checked(payload.size()),
               MSG_NOSIGNAL | MSG_WAITALL)  // WAITALL: a short send goes on instead of completing
      .set_user_data(5);
  REQUIRE(ring.submit() == 1);
  // Some bytes reach the peer (the send is under way) ...
  const timeval bound{10, 0};  // a send that never started must fail the test, not hang it
  REQUIRE(::setsockopt(server.fd, SOL_SOCKET, SO_RCVTIMEO, &bound, sizeof bound) == 0);
  char sink[4096];
  ssize_t got;
  while ((got = ::recv(server.fd, sink, sizeof sink, 0)) < 0 && errno == EINTR) {
  }
  if (got <= 0) {
    prep_nop(testing::next_sqe(ring)).set_user_data(0x4e0c0e);
    const Cqe first = testing::reap_one(ring);
    FAIL("recv from the sender: " << got << " (" << std::string(std::strerror(errno)) << "); first CQE "
                                  << first.data() << " result " << first.result());
  }
  // ... and it has not completed: the window is full again.
  prep_nop(testing::next_sqe(ring)).set_user_data(0x4e0c0e);
  const Cqe marker = testing::reap_one(ring);
  REQUIRE_MESSAGE(marker.data() == 0x4e0c0eu, "the send completed before the reset: result " << marker.result());

  reset_connection(server);
  const std::vector<Cqe> cqes = reap_until(ring, [](const std::vector<Cqe>& seen) {
    for (const Cqe& cqe : seen) {
      if (cqe.notif()) return true;
    }
    return !seen.empty() && !seen.front().more();  // no notification to wait for (a failure before sending)
  });
  REQUIRE(cqes.size() >= 1);
  const Cqe& result = cqes.front();
  INFO("send result " << result.result() << ", CQEs " << cqes.size());
  CHECK(result.data() == 5u);
  CHECK_FALSE(result.notif());
  CHECK((result.result() > 0 || result.result() == -ECONNRESET || result.result() == -EPIPE));
  CHECK(result.result() < static_cast<int>(payload.size()));
  // Some bytes went out before the reset, so a notification must follow.
  CHECK(result.more());
  REQUIRE(cqes.size() == 2);
  CHECK(cqes[1].data() == 5u);
  CHECK(cqes[1].notif());
  CHECK_FALSE(cqes[1].more());
  expect_nothing_more(ring);
}
