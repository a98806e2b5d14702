// URING_CMD socket commands (SIOCINQ, SIOCOUTQ, GETSOCKOPT, SETSOCKOPT)
// compared with what ioctl(2)/getsockopt(2) say, and RECV_ZC's refusal
// without a zero-copy receive queue.
//
// The socket commands are not in the probe (only IORING_OP_URING_CMD is), so
// their release decides (io_uring/cmd_net.c): SIOCINQ and SIOCOUTQ came with
// Linux 6.6 ("io_uring: Add io_uring command support for sockets", for-6.6),
// GETSOCKOPT and SETSOCKOPT with 6.7 ("io_uring/cmd: Introduce
// SOCKET_URING_OP_GETSOCKOPT", for-6.7).
#include <linux/net_tstamp.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sys/ioctl.h>

#include <ctime>

#include "tests/net/net_support.h"
#include "tests/support/kernel_features.h"

using namespace uring;
using namespace uring::nettest;

namespace {

// SCM_TSTAMP_SND of <linux/errqueue.h> (which needs struct timespec declared
// before it): the stamp taken when the packet left the socket layer.
constexpr std::uint32_t kScmTstampSnd = 0;

int ioctl_int(int fd, unsigned long request) {
  int value = -1;
  REQUIRE(::ioctl(fd, request, &value) == 0);
  return value;
}

}  // namespace

TEST_CASE("SIOCINQ and SIOCOUTQ through the ring match ioctl") {
  URING_REQUIRE(testing::missing_op(abi::IORING_OP_URING_CMD));
  URING_REQUIRE(testing::missing_since("URING_CMD SOCKET_URING_OP_SIOCINQ and _SIOCOUTQ", "6.6"));
  FdLeakCheck leaks;
  Ring ring = make_ring();
  auto [client, server] = tcp_pair();

  // Nothing queued yet.
  prep_uring_cmd_siocinq(next_sqe(ring), server.get()).set_user_data(1);
  CHECK(reap_one(ring).result() == 0);

  // 1000 bytes waiting to be read on the server.
  const auto data = pattern(1000, 3);
  send_all(client.get(), data.data(), data.size());
  REQUIRE(readable_within(server.get(), 2000ms));
  prep_uring_cmd_siocinq(next_sqe(ring), server.get()).set_user_data(2);
  const int inq = reap_one(ring).result();
  CHECK(inq == 1000);
  CHECK(inq == ioctl_int(server.get(), SIOCINQ));

  // Fill the pipe until the peer's window is shut: the client's send queue
  // then holds bytes that stay unacknowledged, and stops changing.
  int small = 4096;
  REQUIRE(::setsockopt(server.get(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small) == 0);
  REQUIRE(::fcntl(client.get(), F_SETFL, O_NONBLOCK) == 0);
  const auto chunk = pattern(65536, 4);
  for (int i = 0; i < 10000; ++i) {
    if (::send(client.get(), chunk.data(), chunk.size(), MSG_NOSIGNAL) < 0) {
      REQUIRE((errno == EAGAIN || errno == EINTR));
      if (errno == EAGAIN) break;
    }
  }
  int outq_ioctl = -1;
  int outq_ring = -2;
  for (int attempt = 0; attempt < 100 && outq_ioctl != outq_ring; ++attempt) {
    outq_ioctl = ioctl_int(client.get(), SIOCOUTQ);
    prep_uring_cmd_siocoutq(next_sqe(ring), client.get()).set_user_data(3);
    outq_ring = reap_one(ring).result();
    if (outq_ioctl != outq_ring) ::usleep(10000);  // still draining into the peer
  }
  CHECK(outq_ring > 0);
  CHECK(outq_ring == outq_ioctl);

  // UDP: SIOCINQ is the size of the next datagram, not the total queued.
  sockaddr_in receiver_addr{};
  Fd receiver = udp_socket(&receiver_addr);
  Fd sender = udp_socket();
  for (std::size_t size : {std::size_t{300}, std::size_t{40}}) {
    REQUIRE(::sendto(sender.get(), chunk.data(), size, 0, as_sockaddr(receiver_addr), sizeof receiver_addr) ==
            static_cast<ssize_t>(size));
  }
  REQUIRE(readable_within(receiver.get(), 2000ms));
  prep_uring_cmd_siocinq(next_sqe(ring), receiver.get()).set_user_data(4);
  CHECK(reap_one(ring).result() == 300);
  CHECK(ioctl_int(receiver.get(), SIOCINQ) == 300);
}

TEST_CASE("getsockopt and setsockopt through the ring round-trip with the system calls") {
  URING_REQUIRE(testing::missing_op(abi::IORING_OP_URING_CMD));
  URING_REQUIRE(testing::missing_since("URING_CMD SOCKET_URING_OP_GETSOCKOPT and _SETSOCKOPT", "6.7"));
  FdLeakCheck leaks;
  Ring ring = make_ring();
  auto [client, server] = tcp_pair();

  // getsockopt: the result is the option's length, the value lands in optval.
  int type = -1;
  prep_uring_cmd_getsockopt(next_sqe(ring), client.get(), SOL_SOCKET, SO_TYPE, &type, sizeof type)
      .set_user_data(1);
  CHECK(reap_one(ring).result() == static_cast<int>(sizeof(int)));
  CHECK(type == SOCK_STREAM);

  // setsockopt through the ring, read back with getsockopt(2), and the reverse.
  for (int value : {1, 0}) {
    prep_uring_cmd_setsockopt(next_sqe(ring), client.get(), SOL_SOCKET, SO_KEEPALIVE, &value, sizeof value)
        .set_user_data(2);
    CHECK(reap_one(ring).result() == 0);
    int seen = -1;
    socklen_t len = sizeof seen;
    REQUIRE(::getsockopt(client.get(), SOL_SOCKET, SO_KEEPALIVE, &seen, &len) == 0);
    CHECK(seen == value);
  }
  const int requested = 32768;
  REQUIRE(::setsockopt(client.get(), SOL_SOCKET, SO_SNDBUF, &requested, sizeof requested) == 0);
  int sndbuf_syscall = -1;
  socklen_t len = sizeof sndbuf_syscall;
  REQUIRE(::getsockopt(client.get(), SOL_SOCKET, SO_SNDBUF, &sndbuf_syscall, &len) == 0);
  int sndbuf_ring = -1;
  prep_uring_cmd_getsockopt(next_sqe(ring), client.get(), SOL_SOCKET, SO_SNDBUF, &sndbuf_ring,
                            sizeof sndbuf_ring)
      .set_user_data(3);
  CHECK(reap_one(ring).result() == static_cast<int>(sizeof(int)));
  CHECK(sndbuf_ring == sndbuf_syscall);
  CHECK(sndbuf_ring == 2 * requested);  // the kernel doubles it, either way

  // A struct-valued option: SO_LINGER.
  linger set{1, 7};
  prep_uring_cmd_setsockopt(next_sqe(ring), client.get(), SOL_SOCKET, SO_LINGER, &set, sizeof set)
      .set_user_data(4);
  CHECK(reap_one(ring).result() == 0);
  linger got{};
  prep_uring_cmd_getsockopt(next_sqe(ring), client.get(), SOL_SOCKET, SO_LINGER, &got, sizeof got)
      .set_user_data(5);
  CHECK(reap_one(ring).result() == static_cast<int>(sizeof(linger)));
  CHECK(got.l_onoff == 1);
  CHECK(got.l_linger == 7);

  // Errors: getsockopt beyond SOL_SOCKET is not supported by the kernel;
  // an unknown option; a command on something that is not a socket.
  int nodelay = 0;
  prep_uring_cmd_getsockopt(next_sqe(ring), client.get(), IPPROTO_TCP, 1, &nodelay, sizeof nodelay)
      .set_user_data(6);
  CHECK(reap_one(ring).result() == -EOPNOTSUPP);
  int unused = 0;
  prep_uring_cmd_setsockopt(next_sqe(ring), client.get(), SOL_SOCKET, 9999, &unused, sizeof unused)
      .set_user_data(7);
  CHECK(reap_one(ring).result() == -ENOPROTOOPT);
  auto [read_end, write_end] = make_pipe();
  prep_uring_cmd_siocinq(next_sqe(ring), read_end.get()).set_user_data(8);
  CHECK(reap_one(ring).result() == -EOPNOTSUPP);
}

TEST_CASE("the generic prep_uring_cmd reaches the socket's command handler") {
  URING_REQUIRE(testing::missing_op(abi::IORING_OP_URING_CMD));
  URING_REQUIRE(testing::missing_since("URING_CMD SOCKET_URING_OP_SIOCINQ", "6.6"));
  FdLeakCheck leaks;
  Ring ring = make_ring();
  auto [b, a] = tcp_pair();  // AF_UNIX sockets have no ioctl handler for the socket commands
  send_all(b.get(), "seven b", 7);
  REQUIRE(readable_within(a.get(), 2000ms));
  prep_uring_cmd(next_sqe(ring), a.get(), abi::SOCKET_URING_OP_SIOCINQ).set_user_data(1);
  CHECK(reap_one(ring).result() == 7);
  // A command the socket does not know.
  prep_uring_cmd(next_sqe(ring), a.get(), 0x7777).set_user_data(2);
  CHECK(reap_one(ring).result() == -EOPNOTSUPP);
}

TEST_CASE("TX timestamps as CQEs: one per send, keyed by OPT_ID, on the clock of the stamp") {
  // "io_uring/netcmd: add tx timestamping cmd support", Linux 6.17.
  URING_REQUIRE(testing::missing_op(abi::IORING_OP_URING_CMD));
  URING_REQUIRE(testing::missing_since("URING_CMD SOCKET_URING_OP_TX_TIMESTAMP", "6.17"));
  FdLeakCheck leaks;
  Ring ring = make_ring(16, [](RingOptions& options) { options.cqe32 = true; });
  sockaddr_in receiver_addr{};
  Fd receiver = udp_socket(&receiver_addr);
  Fd sender = udp_socket();
  REQUIRE(::connect(sender.get(), as_sockaddr(receiver_addr), sizeof receiver_addr) == 0);
  const int stamping = SOF_TIMESTAMPING_TX_SOFTWARE | SOF_TIMESTAMPING_SOFTWARE | SOF_TIMESTAMPING_OPT_ID |
                       SOF_TIMESTAMPING_OPT_TSONLY;
  REQUIRE(::setsockopt(sender.get(), SOL_SOCKET, SO_TIMESTAMPING, &stamping, sizeof stamping) == 0);

  prep_uring_cmd_tx_timestamp(next_sqe(ring), sender.get()).set_user_data(1);
  REQUIRE(ring.submit() == 1);
  timespec before{};
  REQUIRE(::clock_gettime(CLOCK_REALTIME, &before) == 0);
  for (int i = 0; i < 3; ++i) REQUIRE(::send(sender.get(), "stamp", 5, 0) == 5);
  // The stamp is in the second half of each 32-byte CQE: read the CQEs in
  // place (a copied Cqe holds only the first 16 bytes).
  WaitOptions wait;
  wait.timeout = 5000ms;
  REQUIRE(ring.wait_cqes(3, wait) == 0);
  std::vector<std::uint64_t> tags;
  std::vector<std::optional<TxTimestamp>> stamps;
  ring.for_each_cqe([&](const Cqe& cqe) {
    tags.push_back(cqe.data());
    stamps.push_back(tx_timestamp(cqe));
  });
  timespec after{};
  REQUIRE(::clock_gettime(CLOCK_REALTIME, &after) == 0);
  REQUIRE(stamps.size() == 3);
  for (std::size_t i = 0; i < stamps.size(); ++i) {
    CAPTURE(i);
    CHECK(tags[i] == 1);
    const std::optional<TxTimestamp>& stamp = stamps[i];
    REQUIRE(stamp.has_value());
    CHECK(stamp->key == i);  // OPT_ID counts the sends from 0
    CHECK(stamp->type == kScmTstampSnd);
    CHECK_FALSE(stamp->hardware);
    // A software stamp on the real-time clock, taken between the two reads.
    const long double at = static_cast<long double>(stamp->time.tv_sec) + stamp->time.tv_nsec / 1e9L;
    CHECK(at >= static_cast<long double>(before.tv_sec) + before.tv_nsec / 1e9L);
    CHECK(at <= static_cast<long double>(after.tv_sec) + after.tv_nsec / 1e9L);
  }
  prep_cancel(next_sqe(ring), 1).set_user_data(2);
  auto ended = reap(ring, 2);
  CHECK(only(ended, 2).result() == 0);
  CHECK(only(ended, 1).result() == -ECANCELED);
  CHECK_FALSE(tx_timestamp(only(ended, 1)).has_value());

  // On a ring with 16-byte CQEs there is nowhere to put a stamp: -EINVAL.
  Ring plain = make_ring();
  prep_uring_cmd_tx_timestamp(next_sqe(plain), sender.get()).set_user_data(3);
  CHECK(reap_one(plain).result() == -EINVAL);
}

TEST_CASE("RECV_ZC without a zero-copy receive queue is refused") {
  URING_REQUIRE(testing::missing_op(abi::IORING_OP_RECV_ZC));
  FdLeakCheck leaks;
  RingOptions options;
  options.entries = 8;
  options.cqe32 = true;  // what a zero-copy receive ring needs
  auto created = testing::create_ring(options);
  REQUIRE_MESSAGE(created.ok(), created.error().message);
  Ring ring = std::move(created.value());
  auto [client, server] = tcp_pair();

  // No interface queue registered under id 0: -EINVAL, right away, and the
  // socket's data is left alone.
  const char byte = 'z';
  send_all(client.get(), &byte, 1);
  prep_recv_zc_multishot(next_sqe(ring), server.get(), 0).set_user_data(1);
  Cqe multishot = reap_one(ring);
  CHECK(multishot.data() == 1);
  CHECK(multishot.result() == -EINVAL);
  CHECK_FALSE(multishot.more());
  prep_recv_zc(next_sqe(ring), server.get(), 0, 1).set_user_data(2);
  CHECK(reap_one(ring).result() == -EINVAL);
  CHECK(recv_exact(server.get(), 1)[0] == byte);
}

// The data path needs IORING_REGISTER_ZCRX_IFQ on a hardware receive queue
// with header/data split, and a peer sending into that NIC. These tests talk
// over 127.0.0.1: the loopback device has no hardware RX queue at all, so the
// limit is this machine's, decided here before any io_uring call.
TEST_CASE("RECV_ZC data path through a zero-copy receive queue") {
  const unsigned loopback_index = ::if_nametoindex("lo");
  URING_SKIP("RECV_ZC data path: the test traffic runs over loopback (lo, ifindex " +
             std::to_string(loopback_index) +
             "), which has no hardware RX queue with header/data split for IORING_REGISTER_ZCRX_IFQ");
}
