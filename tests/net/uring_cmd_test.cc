// URING_CMD socket commands (SIOCINQ, SIOCOUTQ, GETSOCKOPT, SETSOCKOPT)
// compared with what ioctl(2)/getsockopt(2) say, and RECV_ZC's refusal
// without a zero-copy receive queue.
#include <linux/sockios.h>
#include <net/if.h>
#include <sys/ioctl.h>

#include "tests/net/net_support.h"

using namespace uring;
using namespace uring::nettest;

namespace {

int ioctl_int(int fd, unsigned long request) {
  int value = -1;
  REQUIRE(::ioctl(fd, request, &value) == 0);
  return value;
}

// Skips the test when this kernel's sockets lack io_uring commands.
bool socket_commands_supported(Ring& ring, int fd, std::string* why) {
  prep_uring_cmd_siocinq(next_sqe(ring), fd).set_user_data(0x5eed);
  const int ret = reap_one(ring).result();
  if (ret == -EOPNOTSUPP || ret == -EINVAL) {
    *why = "socket URING_CMD (SOCKET_URING_OP_*) needs Linux 6.7; this kernel is " + kernel_release();
    return false;
  }
  return true;
}

}  // namespace

TEST_CASE("SIOCINQ and SIOCOUTQ through the ring match ioctl") {
  FdLeakCheck leaks;
  Ring ring = make_ring();
  Probe probe = probe_of(ring);
  URING_REQUIRE_OP(probe, abi::IORING_OP_URING_CMD);
  auto [client, server] = tcp_pair();
  std::string why;
  if (!socket_commands_supported(ring, server.get(), &why)) URING_SKIP(why);

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
  FdLeakCheck leaks;
  Ring ring = make_ring();
  Probe probe = probe_of(ring);
  URING_REQUIRE_OP(probe, abi::IORING_OP_URING_CMD);
  auto [client, server] = tcp_pair();
  std::string why;
  if (!socket_commands_supported(ring, client.get(), &why)) URING_SKIP(why);

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

TEST_CASE("RECV_ZC without a zero-copy receive queue is refused") {
  FdLeakCheck leaks;
  RingOptions options;
  options.entries = 8;
  options.cqe32 = true;  // what a zero-copy receive ring needs
  auto created = testing::create_ring(options);
  REQUIRE_MESSAGE(created.ok(), created.error().message);
  Ring ring = std::move(created.value());
  Probe probe = probe_of(ring);
  URING_REQUIRE_OP(probe, abi::IORING_OP_RECV_ZC);
  auto [client, server] = tcp_pair();

  // No interface queue registered under id 0: -EINVAL, right away, and the
  // socket's data is left alone.
  const char byte = 'z';
  send_all(client.get(), &byte, 1);
  prep_recv_zc_multishot(next_sqe(ring), server.get(), 0).set_user_data(1);
  Cqe multishot = reap_one(ring);
  CHECK(multishot.result() == -EINVAL);
  CHECK_FALSE(multishot.more());
  prep_recv_zc(next_sqe(ring), server.get(), 0, 1).set_user_data(2);
  CHECK(reap_one(ring).result() == -EINVAL);
  CHECK(recv_exact(server.get(), 1)[0] == byte);

  // The data path needs IORING_REGISTER_ZCRX_IFQ on a NIC queue with
  // header/data split; loopback has none, so registration fails and the rest
  // of the test is skipped with the kernel's answer.
  std::vector<unsigned char> area(64 * 4096);
  abi::io_uring_zcrx_area_reg area_reg{};
  area_reg.addr = reinterpret_cast<std::uintptr_t>(area.data());
  area_reg.len = area.size();
  abi::io_uring_region_desc region{};
  region.size = 4096 * 4;
  abi::io_uring_zcrx_ifq_reg ifq{};
  ifq.if_idx = ::if_nametoindex("lo");
  ifq.if_rxq = 0;
  ifq.rq_entries = 64;
  ifq.area_ptr = reinterpret_cast<std::uintptr_t>(&area_reg);
  ifq.region_ptr = reinterpret_cast<std::uintptr_t>(&region);
  const int registered = ring.register_raw(abi::IORING_REGISTER_ZCRX_IFQ, &ifq, 1);
  REQUIRE(registered < 0);  // if loopback ever supports it, this test needs a data path
  URING_SKIP(std::string("RECV_ZC data path: IORING_REGISTER_ZCRX_IFQ on lo: ") +
             error_from_errno(registered, "io_uring_register(ZCRX_IFQ)").message +
             " (needs a NIC queue with header/data split; rejection checked above)");
}
