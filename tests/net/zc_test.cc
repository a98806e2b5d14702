// SEND_ZC and SENDMSG_ZC: the bytes arrive, each send posts its result and
// then exactly one notification (Cqe::notif()), REPORT_USAGE, registered
// buffers, and the errors for sockets that cannot do zero copy.
#include <sys/uio.h>

#include <map>

#include "tests/net/net_support.h"
#include "tests/support/kernel_features.h"

using namespace uring;
using namespace uring::nettest;

namespace {

struct ZcCompletions {
  Cqe result{};
  int results = 0;
  int notifications = 0;
  std::int32_t notif_result = -1;
  bool notif_after_result = false;
};

// Splits the CQEs of zero-copy sends by user_data into the send result and
// its notification, checking the flags each must (not) carry.
std::map<std::uint64_t, ZcCompletions> split(const std::vector<Cqe>& cqes) {
  std::map<std::uint64_t, ZcCompletions> by_send;
  for (const Cqe& cqe : cqes) {
    ZcCompletions& entry = by_send[cqe.data()];
    if (cqe.notif()) {
      ++entry.notifications;
      entry.notif_result = cqe.result();
      entry.notif_after_result = entry.results == 1;
      CHECK_FALSE(cqe.more());  // the notification is always the last CQE
    } else {
      ++entry.results;
      entry.result = cqe;
    }
  }
  return by_send;
}

}  // namespace

TEST_CASE("send_zc delivers the bytes and posts exactly one notification per send") {
  FdLeakCheck leaks;
  Ring ring = make_ring();
  Probe probe = probe_of(ring);
  URING_REQUIRE_OP(probe, abi::IORING_OP_SEND_ZC);
  auto [client, server] = tcp_pair();

  constexpr int kSends = 4;
  constexpr std::size_t kSize = 32 * 1024;
  std::vector<std::vector<unsigned char>> buffers;
  for (int i = 0; i < kSends; ++i) buffers.push_back(pattern(kSize, 100 + static_cast<std::uint32_t>(i)));
  for (int i = 0; i < kSends; ++i) {
    Prepared& sqe =
        prep_send_zc(next_sqe(ring), client.get(), buffers[static_cast<std::size_t>(i)].data(), kSize, 0)
            .set_user_data(static_cast<std::uint64_t>(i));
    if (i + 1 < kSends) sqe.link();  // keep the stream in order
  }
  auto received = std::vector<unsigned char>();
  REQUIRE(ring.submit() == kSends);
  received = recv_exact(server.get(), kSends * kSize);
  auto by_send = split(reap(ring, 2 * kSends));
  REQUIRE(by_send.size() == static_cast<std::size_t>(kSends));
  for (int i = 0; i < kSends; ++i) {
    CAPTURE(i);
    const ZcCompletions& entry = by_send[static_cast<std::uint64_t>(i)];
    CHECK(entry.results == 1);
    CHECK(entry.notifications == 1);
    CHECK(entry.notif_after_result);
    CHECK(entry.result.result() == static_cast<int>(kSize));
    CHECK(entry.result.more());      // says: a notification will follow
    CHECK(entry.notif_result == 0);  // no usage report was asked for
    CHECK(std::equal(buffers[static_cast<std::size_t>(i)].begin(), buffers[static_cast<std::size_t>(i)].end(),
                     received.begin() + static_cast<std::ptrdiff_t>(i * kSize)));
  }
  // Every notification is in: the buffers are ours again, and nothing else comes.
  expect_no_cqe(ring);
}

TEST_CASE("REPORT_USAGE says in the notification whether the data was copied") {
  FdLeakCheck leaks;
  Ring ring = make_ring();
  Probe probe = probe_of(ring);
  URING_REQUIRE_OP(probe, abi::IORING_OP_SEND_ZC);
  auto [client, server] = tcp_pair();
  const auto data = pattern(20000, 7);
  prep_send_zc(next_sqe(ring), client.get(), data.data(), length_of(data.size()), 0,
               abi::IORING_SEND_ZC_REPORT_USAGE)
      .set_user_data(1);
  REQUIRE(ring.submit() == 1);
  CHECK(recv_exact(server.get(), data.size()) == data);
  auto by_send = split(reap(ring, 2));
  const ZcCompletions& entry = by_send[1];
  REQUIRE(entry.notifications == 1);
  CHECK(entry.result.result() == static_cast<int>(data.size()));
  // Only the COPIED bit may be set. Over loopback the receiving socket is
  // local, so the kernel has to copy the pages after all, and says so.
  CHECK((static_cast<std::uint32_t>(entry.notif_result) & ~abi::IORING_NOTIF_USAGE_ZC_COPIED) == 0);
  CHECK((static_cast<std::uint32_t>(entry.notif_result) & abi::IORING_NOTIF_USAGE_ZC_COPIED) != 0);
}

TEST_CASE("sendmsg_zc gathers an iovec and posts one notification") {
  FdLeakCheck leaks;
  Ring ring = make_ring();
  Probe probe = probe_of(ring);
  URING_REQUIRE_OP(probe, abi::IORING_OP_SENDMSG_ZC);
  auto [client, server] = tcp_pair();
  const auto data = pattern(9000, 21);
  iovec iov[3] = {{const_cast<unsigned char*>(data.data()), 4000},
                  {const_cast<unsigned char*>(data.data()) + 4000, 1},
                  {const_cast<unsigned char*>(data.data()) + 4001, 4999}};
  msghdr msg{};
  msg.msg_iov = iov;
  msg.msg_iovlen = 3;
  prep_sendmsg_zc(next_sqe(ring), client.get(), &msg, 0, abi::IORING_SEND_ZC_REPORT_USAGE).set_user_data(5);
  REQUIRE(ring.submit() == 1);
  CHECK(recv_exact(server.get(), data.size()) == data);
  auto by_send = split(reap(ring, 2));
  REQUIRE(by_send.size() == 1);
  CHECK(by_send[5].results == 1);
  CHECK(by_send[5].notifications == 1);
  CHECK(by_send[5].result.result() == 9000);
  CHECK(by_send[5].result.more());
}

TEST_CASE("send_zc from a registered buffer, and to an unconnected UDP socket") {
  FdLeakCheck leaks;
  Ring ring = make_ring();
  Probe probe = probe_of(ring);
  URING_REQUIRE_OP(probe, abi::IORING_OP_SEND_ZC);
  auto [client, server] = tcp_pair();

  std::vector<unsigned char> region = pattern(16384, 33);
  iovec registered{region.data(), region.size()};
  REQUIRE(ring.register_raw(abi::IORING_REGISTER_BUFFERS, &registered, 1) == 0);

  // A slice inside buffer 0.
  prep_send_zc_fixed(next_sqe(ring), client.get(), region.data() + 1000, 5000, 0, FixedBuffer(0))
      .set_user_data(1);
  REQUIRE(ring.submit() == 1);
  CHECK(recv_exact(server.get(), 5000) ==
        std::vector<unsigned char>(region.begin() + 1000, region.begin() + 6000));
  auto by_send = split(reap(ring, 2));
  CHECK(by_send[1].result.result() == 5000);
  CHECK(by_send[1].notifications == 1);

  // A range running past the registered buffer: -EFAULT, and no bytes sent.
  prep_send_zc_fixed(next_sqe(ring), client.get(), region.data() + 16000, 1000, 0, FixedBuffer(0))
      .set_user_data(2);
  REQUIRE(ring.submit() == 1);
  Cqe failed = reap_one(ring);
  CHECK(failed.data() == 2);
  CHECK(failed.result() == -EFAULT);
  if (failed.more()) CHECK(reap_one(ring).notif());  // a notification still closes it
  CHECK_FALSE(readable_within(server.get(), 0ms));  // a refused send queued nothing
  REQUIRE(ring.register_raw(abi::IORING_UNREGISTER_BUFFERS, nullptr, 0) == 0);

  // sendto form over UDP.
  sockaddr_in receiver_addr{};
  sockaddr_in sender_addr{};
  Fd receiver = udp_socket(&receiver_addr);
  Fd sender = udp_socket(&sender_addr);
  const auto datagram = pattern(700, 44);
  prep_sendto_zc(next_sqe(ring), sender.get(), datagram.data(), length_of(datagram.size()), 0,
                 as_sockaddr(receiver_addr), sizeof receiver_addr)
      .set_user_data(3);
  auto udp = split(reap(ring, 2));
  CHECK(udp[3].result.result() == 700);
  CHECK(udp[3].notifications == 1);
  std::vector<unsigned char> got(1000);
  sockaddr_in from{};
  socklen_t from_len = sizeof from;
  REQUIRE(::recvfrom(receiver.get(), got.data(), got.size(), 0, as_sockaddr(from), &from_len) == 700);
  CHECK(std::equal(datagram.begin(), datagram.end(), got.begin()));
  CHECK(from.sin_port == sender_addr.sin_port);
}

TEST_CASE("zero-copy sends refuse what cannot work") {
  FdLeakCheck leaks;
  Ring ring = make_ring();
  Probe probe = probe_of(ring);
  URING_REQUIRE_OP(probe, abi::IORING_OP_SEND_ZC);
  const char byte = 'x';

  // Not a socket.
  auto [read_end, write_end] = make_pipe();
  prep_send_zc(next_sqe(ring), write_end.get(), &byte, 1, 0).set_user_data(1);
  Cqe not_socket = reap_one(ring);
  CHECK(not_socket.result() == -ENOTSOCK);
  if (not_socket.more()) CHECK(reap_one(ring).notif());

  // AF_UNIX sockets have no zero-copy path.
  auto [a, b] = unix_pair();
  prep_send_zc(next_sqe(ring), a.get(), &byte, 1, 0).set_user_data(2);
  Cqe unix_cqe = reap_one(ring);
  CHECK(unix_cqe.result() == -EOPNOTSUPP);
  if (unix_cqe.more()) CHECK(reap_one(ring).notif());

  // CQE_SKIP_SUCCESS would hide the result the notification depends on.
  auto [client, server] = tcp_pair();
  prep_send_zc(next_sqe(ring), client.get(), &byte, 1, 0).set_user_data(3).skip_success();
  Cqe skipped = reap_one(ring);
  CHECK(skipped.result() == -EINVAL);
  CHECK_FALSE(skipped.more());
  // Unknown zero-copy flags.
  prep_send_zc(next_sqe(ring), client.get(), &byte, 1, 0, 0x8000).set_user_data(4);
  Cqe unknown = reap_one(ring);
  CHECK(unknown.result() == -EINVAL);
  CHECK_FALSE(readable_within(server.get(), 0ms));  // a refused send queued nothing
}

TEST_CASE("sendmsg_zc from a registered buffer: iovecs inside it are sent, one outside is -EFAULT") {
  // "io_uring/net: implement vectored reg bufs for zctx", Linux 6.15: before
  // it IORING_RECVSEND_FIXED_BUF on SENDMSG_ZC was -EINVAL.
  URING_REQUIRE(testing::missing_op(abi::IORING_OP_SENDMSG_ZC));
  URING_REQUIRE(testing::missing_since("IORING_OP_SENDMSG_ZC with IORING_RECVSEND_FIXED_BUF", "6.15"));
  FdLeakCheck leaks;
  Ring ring = make_ring();
  auto [client, server] = tcp_pair();
  std::vector<unsigned char> region = pattern(8192, 44);
  iovec registered{region.data(), region.size()};
  REQUIRE(ring.register_raw(abi::IORING_REGISTER_BUFFERS, &registered, 1) == 0);

  iovec parts[2] = {{region.data() + 10, 5}, {region.data() + 4000, 700}};
  msghdr msg{};
  msg.msg_iov = parts;
  msg.msg_iovlen = 2;
  prep_sendmsg_zc_fixed(next_sqe(ring), client.get(), &msg, 0, FixedBuffer(0)).set_user_data(1);
  REQUIRE(ring.submit() == 1);
  std::vector<unsigned char> expected(region.begin() + 10, region.begin() + 15);
  expected.insert(expected.end(), region.begin() + 4000, region.begin() + 4700);
  CHECK(recv_exact(server.get(), expected.size()) == expected);
  auto by_send = split(reap(ring, 2));
  CHECK(by_send[1].result.result() == 705);
  CHECK(by_send[1].notifications == 1);

  // An iovec outside the registered buffer.
  std::vector<unsigned char> elsewhere(16, 1);
  iovec outside{elsewhere.data(), elsewhere.size()};
  msg.msg_iov = &outside;
  msg.msg_iovlen = 1;
  prep_sendmsg_zc_fixed(next_sqe(ring), client.get(), &msg, 0, FixedBuffer(0)).set_user_data(2);
  REQUIRE(ring.submit() == 1);
  Cqe failed = reap_one(ring);
  CHECK(failed.data() == 2);
  CHECK(failed.result() == -EFAULT);
  if (failed.more()) CHECK(reap_one(ring).notif());
  CHECK_FALSE(readable_within(server.get(), 0ms));
  REQUIRE(ring.register_raw(abi::IORING_UNREGISTER_BUFFERS, nullptr, 0) == 0);
}
