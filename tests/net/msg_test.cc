// SEND/RECV (plain, sendto, buffer select, multishot), SENDMSG/RECVMSG with
// control data, multishot RECVMSG and the io_uring_recvmsg_out parser.
#include <net/if.h>
#include <sys/uio.h>

#include <map>
#include <set>

#include "tests/net/net_support.h"
#include "tests/support/kernel_features.h"
#include "uring/recvmsg_out.h"

using namespace uring;
using namespace uring::nettest;

namespace {

int enable_pktinfo(int fd) {
  int on = 1;
  return ::setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof on);
}

}  // namespace

TEST_CASE("send and recv move exact bytes in order over TCP and AF_UNIX") {
  FdLeakCheck leaks;
  Ring ring = make_ring(64);
  auto [tcp_client, tcp_server] = tcp_pair();
  auto [unix_a, unix_b] = unix_pair();
  for (auto [from, to] :
       {std::pair{tcp_client.get(), tcp_server.get()}, std::pair{unix_a.get(), unix_b.get()}}) {
    CAPTURE(from);
    // Four linked sends keep their order; one recv with MSG_WAITALL takes them all.
    constexpr std::size_t kChunk = 48 * 1024;
    const auto data = pattern(4 * kChunk, static_cast<std::uint32_t>(from));
    std::vector<unsigned char> got(data.size());
    for (std::size_t i = 0; i < 4; ++i) {
      Prepared& sqe =
          prep_send(next_sqe(ring), from, data.data() + i * kChunk, kChunk, MSG_WAITALL).set_user_data(i);
      if (i < 3) sqe.link();
    }
    prep_recv(next_sqe(ring), to, got.data(), length_of(got.size()), MSG_WAITALL).set_user_data(9);
    auto cqes = reap(ring, 5);
    for (std::uint64_t i = 0; i < 4; ++i) CHECK(only(cqes, i).result() == static_cast<int>(kChunk));
    CHECK(only(cqes, 9).result() == static_cast<int>(data.size()));
    CHECK(got == data);

    // Without MSG_WAITALL a recv returns what is there: here, exactly the 10 bytes sent.
    unsigned char small[64] = {};
    send_all(from, data.data(), 10);
    prep_recv(next_sqe(ring), to, small, sizeof small, 0).set_user_data(10);
    CHECK(reap_one(ring).result() == 10);
    CHECK(std::memcmp(small, data.data(), 10) == 0);
  }
}

TEST_CASE(
    "a receive asked for more than INT_MAX bytes is clamped by SocketLength::at_most and receives (issue 12, "
    "item 11)") {
  // The kernel keeps the length in an int: a raw 2^31 + 5 in sqe->len fails
  // with -EINVAL, and 5 GiB + 10 cut to 32 bits asks for 1 GiB + 10. Both
  // sizes reach the builder only through SocketLength, which clamps or refuses.
  FdLeakCheck leaks;
  Ring ring = make_ring();
  auto [from, to] = unix_pair();
  // Not on the stack: the kernel checks the whole asked-for range against the
  // end of user space (access_ok), and a stack buffer near the top of it plus
  // 2 GiB can run past, failing with -EFAULT on some ASLR layouts.
  static unsigned char got[64];
  for (const std::uint64_t asked : {(std::uint64_t{1} << 31) + 5, (std::uint64_t{5} << 30) + 10}) {
    CAPTURE(asked);
    std::memset(got, 0, sizeof got);
    CHECK_FALSE(SocketLength::checked(asked).has_value());
    send_all(from.get(), "hello", 5);
    prep_recv(next_sqe(ring), to.get(), got, SocketLength::at_most(asked), 0).set_user_data(1);
    CHECK(reap_one(ring).result() == 5);
    CHECK(std::memcmp(got, "hello", 5) == 0);
  }
}

TEST_CASE("NetOptions::poll_first reaches the kernel: no attempt before the poll, so MSG_DONTWAIT gives up") {
  // IORING_RECVSEND_POLL_FIRST (Linux 5.19): io_send/io_recv/io_sendmsg/
  // io_recvmsg return -EAGAIN before trying when the request was not polled
  // yet; with MSG_DONTWAIT that -EAGAIN is the result, although the socket
  // could move the bytes at once (which the same request without the knob
  // shows).
  URING_REQUIRE(testing::missing_since("IORING_RECVSEND_POLL_FIRST", "5.19"));
  FdLeakCheck leaks;
  Ring ring = make_ring();
  auto [a, b] = unix_pair();
  char buf[16] = {};
  const NetOptions poll_first{.poll_first = true};
  send_all(b.get(), "abc", 3);
  prep_recv(next_sqe(ring), a.get(), buf, sizeof buf, MSG_DONTWAIT, poll_first).set_user_data(1);
  CHECK(reap_one(ring).result() == -EAGAIN);
  prep_recv(next_sqe(ring), a.get(), buf, sizeof buf, MSG_DONTWAIT).set_user_data(2);
  CHECK(reap_one(ring).result() == 3);

  prep_send(next_sqe(ring), a.get(), "xyz", 3, MSG_DONTWAIT, poll_first).set_user_data(3);
  CHECK(reap_one(ring).result() == -EAGAIN);
  prep_send(next_sqe(ring), a.get(), "xyz", 3, MSG_DONTWAIT).set_user_data(4);
  CHECK(reap_one(ring).result() == 3);
  CHECK(recv_exact(b.get(), 3) == std::vector<unsigned char>{'x', 'y', 'z'});

  iovec iov{buf, sizeof buf};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  send_all(b.get(), "de", 2);
  prep_recvmsg(next_sqe(ring), a.get(), &msg, MSG_DONTWAIT, poll_first).set_user_data(5);
  CHECK(reap_one(ring).result() == -EAGAIN);
  prep_sendmsg(next_sqe(ring), a.get(), &msg, MSG_DONTWAIT, poll_first).set_user_data(6);
  CHECK(reap_one(ring).result() == -EAGAIN);
  prep_recvmsg(next_sqe(ring), a.get(), &msg, MSG_DONTWAIT).set_user_data(7);
  CHECK(reap_one(ring).result() == 2);

  // Without MSG_DONTWAIT the request waits for the poll and then completes.
  prep_recv(next_sqe(ring), a.get(), buf, sizeof buf, 0, poll_first).set_user_data(8);
  REQUIRE(ring.submit() == 1);
  send_all(b.get(), "fghi", 4);
  CHECK(reap_one(ring).result() == 4);
}

TEST_CASE("sendto and sendto_zc: an address length past 16 bits is refused by the kernel, never cut to a valid one (issue 12, item 11)") {
  URING_REQUIRE(testing::missing_op(abi::IORING_OP_SEND_ZC));  // 6.0; plain sendto (6.1 addr2) follows it
  FdLeakCheck leaks;
  Ring ring = make_ring();
  sockaddr_in receiver_addr{};
  sockaddr_in sender_addr{};
  Fd receiver = udp_socket(&receiver_addr);
  Fd sender = udp_socket(&sender_addr);
  const char payload[] = "abc";
  // 65536 + 16 used to be written as 16: a valid sockaddr_in length, and the datagram went out.
  const socklen_t too_long = 65536 + sizeof(sockaddr_in);
  SUBCASE("sendto") {
    prep_sendto(next_sqe(ring), sender.get(), payload, 3, 0, as_sockaddr(receiver_addr), too_long).set_user_data(1);
    CHECK(reap_one(ring).result() == -EINVAL);
  }
  SUBCASE("sendto_zc") {
    prep_sendto_zc(next_sqe(ring), sender.get(), payload, 3, 0, as_sockaddr(receiver_addr), too_long)
        .set_user_data(2);
    const Cqe done = reap_one(ring);
    CHECK(done.result() == -EINVAL);
    if (done.more()) {  // the kernel still posts the notification (6.18 does)
      const Cqe notification = reap_one(ring);
      CHECK(notification.user_data == 2);
      CHECK((notification.flags & abi::IORING_CQE_F_NOTIF) != 0);
    }
  }
  char got[8];
  CHECK(::recv(receiver.get(), got, sizeof got, MSG_DONTWAIT) == -1);  // nothing arrived
  CHECK(errno == EAGAIN);
}

TEST_CASE("sendto reaches an unconnected UDP socket and recvmsg reports the sender") {
  FdLeakCheck leaks;
  Ring ring = make_ring();
  sockaddr_in receiver_addr{};
  sockaddr_in sender_addr{};
  Fd receiver = udp_socket(&receiver_addr);
  Fd sender = udp_socket(&sender_addr);
  REQUIRE(enable_pktinfo(receiver.get()) == 0);

  const auto payload = pattern(123, 77);
  prep_sendto(next_sqe(ring), sender.get(), payload.data(), length_of(payload.size()), 0,
              as_sockaddr(receiver_addr), sizeof receiver_addr)
      .set_user_data(1);
  CHECK(reap_one(ring).result() == static_cast<int>(payload.size()));

  std::vector<unsigned char> got(200);
  iovec iov{got.data(), got.size()};
  sockaddr_in from{};
  alignas(cmsghdr) unsigned char control[CMSG_SPACE(sizeof(in_pktinfo))] = {};
  msghdr msg{};
  msg.msg_name = &from;
  msg.msg_namelen = sizeof from;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  prep_recvmsg(next_sqe(ring), receiver.get(), &msg, 0).set_user_data(2);
  CHECK(reap_one(ring).result() == static_cast<int>(payload.size()));
  CHECK(std::equal(payload.begin(), payload.end(), got.begin()));
  CHECK(msg.msg_namelen == sizeof(sockaddr_in));
  CHECK(from.sin_port == sender_addr.sin_port);
  CHECK(from.sin_addr.s_addr == htonl(INADDR_LOOPBACK));
  CHECK((msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) == 0);
  cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
  REQUIRE(cmsg != nullptr);
  CHECK(cmsg->cmsg_level == IPPROTO_IP);
  CHECK(cmsg->cmsg_type == IP_PKTINFO);
  in_pktinfo info{};
  std::memcpy(&info, CMSG_DATA(cmsg), sizeof info);
  CHECK(info.ipi_addr.s_addr == htonl(INADDR_LOOPBACK));
  CHECK(info.ipi_ifindex == static_cast<int>(::if_nametoindex("lo")));

  // A datagram bigger than the iovec: cut, and recvmsg says so.
  const auto big = pattern(1000, 78);
  REQUIRE(::sendto(sender.get(), big.data(), big.size(), 0, as_sockaddr(receiver_addr),
                   sizeof receiver_addr) == static_cast<ssize_t>(big.size()));
  msg.msg_namelen = sizeof from;
  msg.msg_controllen = sizeof control;
  prep_recvmsg(next_sqe(ring), receiver.get(), &msg, 0).set_user_data(3);
  CHECK(reap_one(ring).result() == static_cast<int>(got.size()));
  CHECK((msg.msg_flags & MSG_TRUNC) != 0);
  CHECK(std::equal(got.begin(), got.end(), big.begin()));
}

TEST_CASE("sendmsg and recvmsg scatter, gather and pass a descriptor with SCM_RIGHTS") {
  FdLeakCheck leaks;
  Ring ring = make_ring();
  auto [a, b] = unix_pair();
  auto [pipe_read, pipe_write] = make_pipe();

  // Gather from three pieces, with the pipe's write end attached.
  const auto data = pattern(3000, 5);
  iovec out_iov[3] = {{const_cast<unsigned char*>(data.data()), 1000},
                      {const_cast<unsigned char*>(data.data()) + 1000, 1},
                      {const_cast<unsigned char*>(data.data()) + 1001, 1999}};
  alignas(cmsghdr) unsigned char out_control[CMSG_SPACE(sizeof(int))] = {};
  msghdr out{};
  out.msg_iov = out_iov;
  out.msg_iovlen = 3;
  out.msg_control = out_control;
  out.msg_controllen = sizeof out_control;
  cmsghdr* cmsg = CMSG_FIRSTHDR(&out);
  cmsg->cmsg_level = SOL_SOCKET;
  cmsg->cmsg_type = SCM_RIGHTS;
  cmsg->cmsg_len = CMSG_LEN(sizeof(int));
  const int passed = pipe_write.get();
  std::memcpy(CMSG_DATA(cmsg), &passed, sizeof passed);

  // Scatter into two pieces of different sizes.
  std::vector<unsigned char> first(2500), second(500);
  iovec in_iov[2] = {{first.data(), first.size()}, {second.data(), second.size()}};
  alignas(cmsghdr) unsigned char in_control[CMSG_SPACE(sizeof(int))] = {};
  msghdr in{};
  in.msg_iov = in_iov;
  in.msg_iovlen = 2;
  in.msg_control = in_control;
  in.msg_controllen = sizeof in_control;

  prep_sendmsg(next_sqe(ring), a.get(), &out, 0).set_user_data(1);
  prep_recvmsg(next_sqe(ring), b.get(), &in, MSG_WAITALL | MSG_CMSG_CLOEXEC).set_user_data(2);
  auto cqes = reap(ring, 2);
  CHECK(only(cqes, 1).result() == 3000);
  CHECK(only(cqes, 2).result() == 3000);
  CHECK(std::equal(first.begin(), first.end(), data.begin()));
  CHECK(std::equal(second.begin(), second.end(), data.begin() + 2500));
  CHECK((in.msg_flags & MSG_CTRUNC) == 0);

  cmsghdr* got = CMSG_FIRSTHDR(&in);
  REQUIRE(got != nullptr);
  CHECK(got->cmsg_level == SOL_SOCKET);
  CHECK(got->cmsg_type == SCM_RIGHTS);
  REQUIRE(got->cmsg_len == CMSG_LEN(sizeof(int)));
  int received = -1;
  std::memcpy(&received, CMSG_DATA(got), sizeof received);
  Fd received_fd(received);
  REQUIRE(received_fd.get() >= 0);
  CHECK(received_fd.get() != pipe_write.get());
  CHECK((::fcntl(received_fd.get(), F_GETFD) & FD_CLOEXEC) != 0);  // MSG_CMSG_CLOEXEC honoured

  // The received descriptor is the same pipe: bytes written to it come out the read end.
  const char message[] = "through the passed fd";
  REQUIRE(::write(received_fd.get(), message, sizeof message) == static_cast<ssize_t>(sizeof message));
  char back[sizeof message] = {};
  REQUIRE(::read(pipe_read.get(), back, sizeof back) == static_cast<ssize_t>(sizeof back));
  CHECK(std::memcmp(back, message, sizeof message) == 0);
}

TEST_CASE("recv with buffer select and multishot recv fill provided buffers") {
  FdLeakCheck leaks;
  Ring ring = make_ring();
  Probe probe = probe_of(ring);
  URING_REQUIRE_OP(probe, abi::IORING_OP_PROVIDE_BUFFERS);
  auto [client, server] = tcp_pair();
  constexpr unsigned kSize = 64;
  constexpr unsigned kCount = 16;
  constexpr std::uint16_t kGroup = 9;
  std::vector<unsigned char> memory(kSize * kCount);
  provide_buffers(ring, memory.data(), kSize, kCount, kGroup);

  // One receive: the kernel picks a buffer and says which.
  const auto hello = pattern(50, 1);
  send_all(client.get(), hello.data(), hello.size());
  prep_recv_buffer_select(next_sqe(ring), server.get(), 0, 0, kGroup).set_user_data(1);
  Cqe one = reap_one(ring);
  REQUIRE(one.result() == 50);
  REQUIRE(one.has_buffer());
  REQUIRE(one.buffer_id() < kCount);
  CHECK(std::memcmp(memory.data() + one.buffer_id() * kSize, hello.data(), 50) == 0);
  std::set<std::uint16_t> free_ids;
  for (std::uint16_t id = 0; id < kCount; ++id) {
    if (id != one.buffer_id()) free_ids.insert(id);
  }

  // `len` caps what one receive takes from a buffer.
  send_all(client.get(), hello.data(), 30);
  prep_recv_buffer_select(next_sqe(ring), server.get(), 8, 0, kGroup).set_user_data(2);
  Cqe capped = reap_one(ring);
  CHECK(capped.result() == 8);
  REQUIRE(capped.has_buffer());
  CHECK(free_ids.erase(capped.buffer_id()) == 1);
  CHECK(recv_exact(server.get(), 22) == std::vector<unsigned char>(hello.begin() + 8, hello.begin() + 30));

  // Multishot: armed once, one CQE (and buffer) per receive, more() each time.
  prep_recv_multishot(next_sqe(ring), server.get(), 0, kGroup).set_user_data(3);
  REQUIRE(ring.submit() == 1);
  const auto stream = pattern(400, 2);
  std::vector<unsigned char> reassembled;
  std::size_t sent = 0;
  for (int round = 0; round < 4; ++round) {
    send_all(client.get(), stream.data() + sent, 100);
    sent += 100;
    while (reassembled.size() < sent) {
      Cqe cqe = reap_one(ring);
      CHECK(cqe.data() == 3);
      REQUIRE(cqe.result() > 0);
      CHECK(cqe.more());
      REQUIRE(cqe.has_buffer());
      REQUIRE(free_ids.erase(cqe.buffer_id()) == 1);  // each buffer used once
      const unsigned char* buffer = memory.data() + cqe.buffer_id() * kSize;
      reassembled.insert(reassembled.end(), buffer, buffer + cqe.result());
    }
  }
  CHECK(reassembled == stream);

  // End of stream ends the multishot request: result 0, no more().
  REQUIRE(::shutdown(client.get(), SHUT_WR) == 0);
  Cqe last = reap_one(ring);
  CHECK(last.data() == 3);
  CHECK(last.result() == 0);
  CHECK_FALSE(last.more());
}

TEST_CASE("multishot recvmsg: name, control and payload of each datagram, and truncation") {
  FdLeakCheck leaks;
  Ring ring = make_ring();
  Probe probe = probe_of(ring);
  URING_REQUIRE_OP(probe, abi::IORING_OP_PROVIDE_BUFFERS);
  sockaddr_in receiver_addr{};
  Fd receiver = udp_socket(&receiver_addr);
  REQUIRE(enable_pktinfo(receiver.get()) == 0);
  sockaddr_in addr1{}, addr2{};
  Fd sender1 = udp_socket(&addr1);
  Fd sender2 = udp_socket(&addr2);

  constexpr unsigned kSize = 256;
  constexpr unsigned kCount = 8;
  constexpr std::uint16_t kGroup = 3;
  std::vector<unsigned char> memory(kSize * kCount);
  provide_buffers(ring, memory.data(), kSize, kCount, kGroup);

  msghdr armed{};
  armed.msg_namelen = sizeof(sockaddr_in);
  armed.msg_controllen = CMSG_SPACE(sizeof(in_pktinfo));
  prep_recvmsg_multishot(next_sqe(ring), receiver.get(), &armed, 0, kGroup).set_user_data(7);
  REQUIRE(ring.submit() == 1);

  const std::size_t room =
      kSize - sizeof(abi::io_uring_recvmsg_out) - armed.msg_namelen - armed.msg_controllen;
  struct Sent {
    int fd;
    sockaddr_in from;
    std::vector<unsigned char> bytes;
  };
  const std::vector<Sent> sends = {{sender1.get(), addr1, pattern(10, 1)},
                                   {sender2.get(), addr2, pattern(room, 2)},
                                   {sender1.get(), addr1, pattern(room + 50, 3)}};
  for (const Sent& s : sends) {
    REQUIRE(::sendto(s.fd, s.bytes.data(), s.bytes.size(), 0, as_sockaddr(receiver_addr),
                     sizeof receiver_addr) == static_cast<ssize_t>(s.bytes.size()));
  }
  auto cqes = reap(ring, 3);
  std::set<std::uint16_t> ids;
  for (std::size_t i = 0; i < sends.size(); ++i) {
    CAPTURE(i);
    const Cqe& cqe = cqes[i];
    CHECK(cqe.data() == 7);
    CHECK(cqe.more());
    REQUIRE(cqe.has_buffer());
    REQUIRE(cqe.buffer_id() < kCount);
    CHECK(ids.insert(cqe.buffer_id()).second);
    auto parsed = RecvmsgOut::parse(memory.data() + cqe.buffer_id() * kSize,
                                    static_cast<std::size_t>(cqe.result()), armed);
    REQUIRE_MESSAGE(parsed.ok(), parsed.error().message);
    const RecvmsgOut& msg = parsed.value();

    CHECK(msg.name_size() == sizeof(sockaddr_in));
    CHECK_FALSE(msg.name_truncated());
    const sockaddr_storage name = msg.name();
    const auto* from = reinterpret_cast<const sockaddr_in*>(&name);
    CHECK(from->sin_family == AF_INET);
    CHECK(from->sin_port == sends[i].from.sin_port);

    CHECK_FALSE(msg.control_truncated());
    auto pktinfo = msg.find_control_message(IPPROTO_IP, IP_PKTINFO);
    REQUIRE(pktinfo.has_value());
    REQUIRE(pktinfo->size == sizeof(in_pktinfo));
    in_pktinfo info{};
    std::memcpy(&info, pktinfo->data, sizeof info);
    CHECK(info.ipi_addr.s_addr == htonl(INADDR_LOOPBACK));

    const std::size_t expected = std::min(sends[i].bytes.size(), room);
    CHECK(msg.payload_size() == expected);
    CHECK(std::memcmp(msg.payload(), sends[i].bytes.data(), expected) == 0);
    CHECK(msg.payload_truncated() == (sends[i].bytes.size() > room));
    CHECK(((msg.flags() & MSG_TRUNC) != 0) == (sends[i].bytes.size() > room));
  }

  // Cancelling ends it: the last CQE has no more().
  prep_cancel(next_sqe(ring), 7).set_user_data(8);
  auto ended = reap(ring, 2);
  CHECK(only(ended, 8).result() == 0);
  CHECK(only(ended, 7).result() == -ECANCELED);
  CHECK_FALSE(only(ended, 7).more());
}

TEST_CASE(
    "multishot recvmsg takes msg_iovlen 0 or 1: one iovec caps the first message's buffer, two are refused") {
  // io_msg_copy_hdr with IOSQE_BUFFER_SELECT: no iovec, or one whose iov_len
  // becomes the request's length (the first buffer's cap, header included;
  // io_mshot_prep_retry drops it for the messages after); more: -EINVAL.
  FdLeakCheck leaks;
  Ring ring = make_ring();
  Probe probe = probe_of(ring);
  URING_REQUIRE_OP(probe, abi::IORING_OP_PROVIDE_BUFFERS);
  sockaddr_in receiver_addr{};
  Fd receiver = udp_socket(&receiver_addr);
  Fd sender = udp_socket();
  constexpr unsigned kSize = 256;
  constexpr unsigned kCount = 4;
  constexpr std::uint16_t kGroup = 5;
  std::vector<unsigned char> memory(kSize * kCount);
  provide_buffers(ring, memory.data(), kSize, kCount, kGroup);
  const auto datagram = pattern(100, 9);
  for (int i = 0; i < 2; ++i) {
    REQUIRE(::sendto(sender.get(), datagram.data(), datagram.size(), 0, as_sockaddr(receiver_addr),
                     sizeof receiver_addr) == static_cast<ssize_t>(datagram.size()));
  }

  constexpr std::size_t kCap = 40;  // of which the 16-byte io_uring_recvmsg_out header
  iovec cap{nullptr, kCap};
  msghdr armed{};
  armed.msg_iov = &cap;
  armed.msg_iovlen = 1;
  prep_recvmsg_multishot(next_sqe(ring), receiver.get(), &armed, 0, kGroup).set_user_data(1);
  auto cqes = reap(ring, 2);
  for (std::size_t i = 0; i < cqes.size(); ++i) {
    CAPTURE(i);
    REQUIRE(cqes[i].data() == 1);
    REQUIRE(cqes[i].result() > 0);
    CHECK(cqes[i].more());
    auto parsed = RecvmsgOut::parse(memory.data() + cqes[i].buffer_id() * kSize,
                                    static_cast<std::size_t>(cqes[i].result()), armed);
    REQUIRE_MESSAGE(parsed.ok(), parsed.error().message);
    const std::size_t expected = i == 0 ? kCap - sizeof(abi::io_uring_recvmsg_out) : datagram.size();
    CHECK(static_cast<std::size_t>(cqes[i].result()) == sizeof(abi::io_uring_recvmsg_out) + expected);
    CHECK(parsed->payload_size() == expected);
    CHECK(std::memcmp(parsed->payload(), datagram.data(), expected) == 0);
    CHECK(parsed->payload_truncated() == (i == 0));
  }
  prep_cancel(next_sqe(ring), 1).set_user_data(2);
  (void)reap(ring, 2);

  iovec two[2] = {{nullptr, kCap}, {nullptr, kCap}};
  armed.msg_iov = two;
  armed.msg_iovlen = 2;
  prep_recvmsg_multishot(next_sqe(ring), receiver.get(), &armed, 0, kGroup).set_user_data(3);
  const Cqe refused = reap_one(ring);
  CHECK(refused.result() == -EINVAL);
  CHECK_FALSE(refused.more());
}

TEST_CASE("multishot recvmsg reports cut names and control, and ends with -ENOBUFS when buffers run out") {
  FdLeakCheck leaks;
  Ring ring = make_ring();
  Probe probe = probe_of(ring);
  URING_REQUIRE_OP(probe, abi::IORING_OP_PROVIDE_BUFFERS);
  sockaddr_in receiver_addr{};
  Fd receiver = udp_socket(&receiver_addr);
  REQUIRE(enable_pktinfo(receiver.get()) == 0);
  Fd sender = udp_socket();

  constexpr unsigned kSize = 128;
  constexpr std::uint16_t kGroup = 4;
  std::vector<unsigned char> memory(kSize * 2);
  provide_buffers(ring, memory.data(), kSize, 2, kGroup);

  // Room for 4 bytes of address and a control area too small for IP_PKTINFO.
  msghdr armed{};
  armed.msg_namelen = 4;
  armed.msg_controllen = CMSG_SPACE(0);
  prep_recvmsg_multishot(next_sqe(ring), receiver.get(), &armed, 0, kGroup).set_user_data(1);
  REQUIRE(ring.submit() == 1);
  const auto payload = pattern(20, 9);
  for (int i = 0; i < 3; ++i) {
    REQUIRE(::sendto(sender.get(), payload.data(), payload.size(), 0, as_sockaddr(receiver_addr),
                     sizeof receiver_addr) == static_cast<ssize_t>(payload.size()));
  }
  auto cqes = reap(ring, 3);
  for (int i = 0; i < 2; ++i) {
    const Cqe& cqe = cqes[static_cast<std::size_t>(i)];
    CHECK(cqe.more());
    REQUIRE(cqe.has_buffer());
    auto parsed = RecvmsgOut::parse(memory.data() + cqe.buffer_id() * kSize,
                                    static_cast<std::size_t>(cqe.result()), armed);
    REQUIRE_MESSAGE(parsed.ok(), parsed.error().message);
    CHECK(parsed->name_truncated());
    CHECK(parsed->name_size() == 4);
    CHECK(parsed->header().namelen == sizeof(sockaddr_in));
    CHECK(parsed->control_truncated());
    // The kernel keeps the cmsghdr it could fit, with its cmsg_len cut down.
    auto cut = parsed->find_control_message(IPPROTO_IP, IP_PKTINFO);
    if (cut) CHECK(cut->size < sizeof(in_pktinfo));
    CHECK(parsed->payload_size() == payload.size());
    CHECK_FALSE(parsed->payload_truncated());
    CHECK(std::memcmp(parsed->payload(), payload.data(), payload.size()) == 0);
  }
  // The third datagram finds no buffer: the request ends.
  CHECK(cqes[2].result() == -ENOBUFS);
  CHECK_FALSE(cqes[2].more());
}

TEST_CASE("RecvmsgOut refuses buffers that do not add up") {
  alignas(8) unsigned char buffer[256] = {};
  abi::io_uring_recvmsg_out header{};
  auto write_header = [&] { std::memcpy(buffer, &header, sizeof header); };

  CHECK(RecvmsgOut::parse(nullptr, 64, 0, 0).code() == EINVAL);
  CHECK(RecvmsgOut::parse(buffer, 15, 0, 0).code() == EINVAL);  // shorter than the header
  auto short_room = RecvmsgOut::parse(buffer, 40, 16, 32);      // 16 + 16 + 32 > 40
  REQUIRE_FALSE(short_room.ok());
  CHECK(short_room.error().message.find("msghdr") != std::string::npos);

  header.controllen = 40;  // more control than was reserved
  write_header();
  CHECK(RecvmsgOut::parse(buffer, 16 + 16 + 32, 16, 32).code() == EINVAL);

  header.controllen = 0;
  header.payloadlen = 4;  // the buffer holds 10 payload bytes: inconsistent
  write_header();
  CHECK(RecvmsgOut::parse(buffer, 16 + 10, 0, 0).code() == EINVAL);

  // A consistent message with one control message whose length is bad.
  header.namelen = 0;
  header.payloadlen = 3;
  header.controllen = sizeof(cmsghdr) + 8;
  write_header();
  cmsghdr bad{};
  bad.cmsg_len = 1000;  // runs past the control area
  std::memcpy(buffer + 16, &bad, sizeof bad);
  auto parsed = RecvmsgOut::parse(buffer, 16 + sizeof(cmsghdr) + 8 + 3, 0, sizeof(cmsghdr) + 8);
  REQUIRE(parsed.ok());
  CHECK(parsed->payload_size() == 3);
  CHECK_FALSE(parsed->payload_truncated());
  int visited = 0;
  CHECK_FALSE(parsed->for_each_control_message([&](const ControlMessage&) { return ++visited, true; }));
  CHECK(visited == 0);

  // And a good one is visited once, with its data where CMSG_DATA puts it.
  cmsghdr good{};
  good.cmsg_len = CMSG_LEN(4);
  good.cmsg_level = 1;
  good.cmsg_type = 2;
  std::memcpy(buffer + 16, &good, sizeof good);
  const std::uint32_t value = 0xfeedf00d;
  std::memcpy(buffer + 16 + CMSG_LEN(0), &value, sizeof value);
  parsed = RecvmsgOut::parse(buffer, 16 + sizeof(cmsghdr) + 8 + 3, 0, sizeof(cmsghdr) + 8);
  REQUIRE(parsed.ok());
  auto found = parsed->find_control_message(1, 2);
  REQUIRE(found.has_value());
  CHECK(found->size == 4);
  std::uint32_t read_back = 0;
  std::memcpy(&read_back, found->data, sizeof read_back);
  CHECK(read_back == value);
}

// ---- Sends from provided buffers (issue 12, item 14) ---------------------------

TEST_CASE("SEND from a provided buffer: the kernel picks the buffer and sends it") {
  // "io_uring/net: add provided buffer support for IORING_OP_SEND", Linux 6.10.
  URING_REQUIRE(testing::missing_since("IORING_OP_SEND with IOSQE_BUFFER_SELECT", "6.10"));
  FdLeakCheck leaks;
  Ring ring = make_ring();
  auto [from, to] = unix_pair();

  // A buffer ring: `len` caps the bytes taken from the buffer.
  constexpr std::uint16_t kRingGroup = 40;
  ManualBufferRing buffers(ring, kRingGroup, 4, 64);
  for (std::uint16_t id = 0; id < 2; ++id) {
    std::memset(buffers.buffer(id), 'a' + id, 64);
    buffers.add(id, 64);
  }
  prep_send_buffer_select(next_sqe(ring), from.get(), 10, 0, kRingGroup).set_user_data(1);
  Cqe capped = reap_one(ring);
  CHECK(capped.result() == 10);
  REQUIRE(capped.has_buffer());
  CHECK(capped.buffer_id() == 0);
  CHECK(recv_exact(to.get(), 10) == std::vector<unsigned char>(10, 'a'));
  prep_send_buffer_select(next_sqe(ring), from.get(), 0, 0, kRingGroup).set_user_data(2);
  Cqe whole = reap_one(ring);
  CHECK(whole.result() == 64);
  CHECK(whole.buffer_id() == 1);
  CHECK(recv_exact(to.get(), 64) == std::vector<unsigned char>(64, 'b'));
  // The ring is empty now.
  prep_send_buffer_select(next_sqe(ring), from.get(), 0, 0, kRingGroup).set_user_data(3);
  CHECK(reap_one(ring).result() == -ENOBUFS);

  // A legacy group: Linux 6.18 sends the whole buffer whatever `len` says.
  constexpr std::uint16_t kLegacyGroup = 41;
  std::vector<unsigned char> legacy(2 * 32);
  std::memset(legacy.data(), 'x', 32);
  std::memset(legacy.data() + 32, 'y', 32);
  provide_buffers(ring, legacy.data(), 32, 2, kLegacyGroup);
  prep_send_buffer_select(next_sqe(ring), from.get(), 10, 0, kLegacyGroup).set_user_data(4);
  Cqe legacy_send = reap_one(ring);
  CHECK(legacy_send.result() == 32);
  CHECK(legacy_send.buffer_id() == 0);
  CHECK(recv_exact(to.get(), 32) == std::vector<unsigned char>(32, 'x'));
}

TEST_CASE("SEND bundle: the group's buffers go out in ring order, one CQE per round, more() until the last") {
  URING_REQUIRE(testing::missing_feature(abi::IORING_FEAT_RECVSEND_BUNDLE));
  FdLeakCheck leaks;
  Ring ring = make_ring();
  auto [from, to] = unix_pair();
  constexpr std::uint16_t kGroup = 42;
  constexpr unsigned kBuffers = 4;
  constexpr unsigned kSize = 32;
  ManualBufferRing buffers(ring, kGroup, 8, kSize);
  std::vector<unsigned char> expected;
  for (std::uint16_t id = 0; id < kBuffers; ++id) {
    for (unsigned i = 0; i < kSize; ++i) buffers.buffer(id)[i] = static_cast<unsigned char>(id * 50 + i);
    buffers.add(id, kSize);
    expected.insert(expected.end(), buffers.buffer(id), buffers.buffer(id) + kSize);
  }
  // `len` 40 caps the first round: one 32-byte buffer fits, the rest follow.
  prep_send_bundle(next_sqe(ring), from.get(), 40, 0, kGroup).set_user_data(7);
  REQUIRE(ring.submit() == 1);
  std::vector<Cqe> rounds;
  while (rounds.empty() || rounds.back().more()) {
    rounds.push_back(reap_one(ring));
    REQUIRE(rounds.size() <= kBuffers);
  }
  int total = 0;
  std::uint16_t next_id = 0;
  for (std::size_t i = 0; i < rounds.size(); ++i) {
    CAPTURE(i);
    CHECK(rounds[i].data() == 7);
    REQUIRE(rounds[i].result() > 0);
    REQUIRE(rounds[i].has_buffer());
    CHECK(rounds[i].buffer_id() == next_id);  // each round starts where the last one ended
    CHECK(rounds[i].result() % kSize == 0);
    next_id = static_cast<std::uint16_t>(next_id + rounds[i].result() / kSize);
    total += rounds[i].result();
  }
  CHECK(rounds.front().result() <= 40);
  CHECK(total == static_cast<int>(kBuffers * kSize));
  CHECK(recv_exact(to.get(), expected.size()) == expected);
}

// ---- Multishot receive with limits (issue 12, item 14) ---------------------------

TEST_CASE("multishot recv with limits: per_cqe caps each CQE, total ends the request once reached") {
  // "io_uring/net: allow multishot receive per-invocation cap" and
  // "io_uring/net: Support multishot receive len cap", Linux 6.17.
  URING_REQUIRE(testing::missing_since("multishot RECV limits (sqe->len, sqe->optlen)", "6.17"));
  FdLeakCheck leaks;
  Ring ring = make_ring();
  auto [from, to] = unix_pair();
  constexpr std::uint16_t kGroup = 43;
  std::vector<unsigned char> memory(16 * 64);
  provide_buffers(ring, memory.data(), 64, 16, kGroup);
  const auto bytes = pattern(100, 5);
  send_all(from.get(), bytes.data(), bytes.size());

  // Per CQE 30: 30, 30, 30, 10, all with more().
  prep_recv_multishot_limited(next_sqe(ring), to.get(), 0, kGroup, {.per_cqe = 30}).set_user_data(1);
  std::vector<unsigned char> got;
  auto cqes = reap(ring, 4);
  for (std::size_t i = 0; i < cqes.size(); ++i) {
    CAPTURE(i);
    CHECK(cqes[i].result() == (i < 3 ? 30 : 10));
    CHECK(cqes[i].more());
    const unsigned char* data = memory.data() + std::size_t{cqes[i].buffer_id()} * 64;
    got.insert(got.end(), data, data + cqes[i].result());
  }
  CHECK(got == bytes);
  prep_cancel(next_sqe(ring), 1).set_user_data(2);
  (void)reap(ring, 2);

  // Total 50 with 30 per CQE: 30 with more(), then 30 without it -- the
  // total is checked after each receive, not cut to -- and the rest waits.
  provide_buffers(ring, memory.data(), 64, 16, kGroup);
  send_all(from.get(), bytes.data(), bytes.size());
  prep_recv_multishot_limited(next_sqe(ring), to.get(), 0, kGroup, {.per_cqe = 30, .total = 50})
      .set_user_data(3);
  auto limited = reap(ring, 2);
  CHECK(limited[0].result() == 30);
  CHECK(limited[0].more());
  CHECK(limited[1].result() == 30);
  CHECK_FALSE(limited[1].more());
  expect_no_cqe(ring);
  CHECK(recv_exact(to.get(), 40) == std::vector<unsigned char>(bytes.begin() + 60, bytes.end()));

  // Only RECV takes a total: RECVMSG multishot with one is -EINVAL.
  msghdr msg{};
  Prepared& recvmsg = prep_recvmsg_multishot(next_sqe(ring), to.get(), &msg, 0, kGroup).set_user_data(4);
  recvmsg.optlen = 50;
  CHECK(reap_one(ring).result() == -EINVAL);
}
