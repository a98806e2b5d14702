// SOCKET, BIND, LISTEN, ACCEPT (plain, multishot, direct), CONNECT, SHUTDOWN
// against the real kernel over 127.0.0.1.
#include <netinet/tcp.h>

#include <set>

#include "tests/net/net_support.h"
#include "tests/support/kernel_features.h"

using namespace uring;
using namespace uring::nettest;

namespace {

int sockopt_int(int fd, int level, int name) {
  int value = -1;
  socklen_t len = sizeof value;
  REQUIRE(::getsockopt(fd, level, name, &value, &len) == 0);
  return value;
}

}  // namespace

TEST_CASE("socket, bind, listen, accept and connect through the ring exchange exact bytes") {
  FdLeakCheck leaks;
  Ring ring = make_ring();
  Probe probe = probe_of(ring);
  URING_REQUIRE_OP(probe, abi::IORING_OP_SOCKET);
  URING_REQUIRE_OP(probe, abi::IORING_OP_BIND);
  URING_REQUIRE_OP(probe, abi::IORING_OP_LISTEN);

  prep_socket(next_sqe(ring), AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0).set_user_data(1);
  prep_socket(next_sqe(ring), AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0).set_user_data(2);
  auto made = reap(ring, 2);
  Fd listener(only(made, 1).result());
  Fd client(only(made, 2).result());
  REQUIRE(listener.get() >= 0);
  REQUIRE(client.get() >= 0);
  CHECK(sockopt_int(listener.get(), SOL_SOCKET, SO_TYPE) == SOCK_STREAM);
  CHECK(sockopt_int(listener.get(), SOL_SOCKET, SO_DOMAIN) == AF_INET);
  CHECK(sockopt_int(listener.get(), SOL_SOCKET, SO_PROTOCOL) == IPPROTO_TCP);
  CHECK((::fcntl(listener.get(), F_GETFD) & FD_CLOEXEC) != 0);
  bound_blocking_calls(client.get());

  sockaddr_in addr = loopback();
  prep_bind(next_sqe(ring), listener.get(), as_sockaddr(addr), sizeof addr).set_user_data(3);
  CHECK(reap_one(ring).result() == 0);
  const sockaddr_in bound = local_address(listener.get());
  CHECK(bound.sin_addr.s_addr == htonl(INADDR_LOOPBACK));
  REQUIRE(bound.sin_port != 0);

  CHECK(sockopt_int(listener.get(), SOL_SOCKET, SO_ACCEPTCONN) == 0);
  prep_listen(next_sqe(ring), listener.get(), 4).set_user_data(4);
  CHECK(reap_one(ring).result() == 0);
  CHECK(sockopt_int(listener.get(), SOL_SOCKET, SO_ACCEPTCONN) == 1);

  // Accept and connect in one batch: the accept waits until the connect lands.
  sockaddr_in peer{};
  socklen_t peer_len = sizeof peer;
  prep_accept(next_sqe(ring), listener.get(), as_sockaddr(peer), &peer_len, SOCK_CLOEXEC).set_user_data(5);
  prep_connect(next_sqe(ring), client.get(), as_sockaddr(bound), sizeof bound).set_user_data(6);
  auto joined = reap(ring, 2);
  CHECK(only(joined, 6).result() == 0);
  Fd server(only(joined, 5).result());
  REQUIRE(server.get() >= 0);
  bound_blocking_calls(server.get());
  const sockaddr_in client_addr = local_address(client.get());
  CHECK(peer_len == sizeof(sockaddr_in));
  CHECK(peer.sin_family == AF_INET);
  CHECK(peer.sin_port == client_addr.sin_port);
  CHECK(peer.sin_addr.s_addr == client_addr.sin_addr.s_addr);

  // Both directions, exact bytes.
  const auto request = pattern(70000, 11);
  const auto reply = pattern(3333, 12);
  std::vector<unsigned char> got_request(request.size());
  std::vector<unsigned char> got_reply(reply.size());
  prep_send(next_sqe(ring), client.get(), request.data(), length_of(request.size()), MSG_WAITALL)
      .set_user_data(7);
  prep_recv(next_sqe(ring), server.get(), got_request.data(), length_of(got_request.size()), MSG_WAITALL)
      .set_user_data(8);
  auto first = reap(ring, 2);
  CHECK(only(first, 7).result() == static_cast<int>(request.size()));
  CHECK(only(first, 8).result() == static_cast<int>(request.size()));
  CHECK(got_request == request);

  prep_send(next_sqe(ring), server.get(), reply.data(), length_of(reply.size()), 0).set_user_data(9);
  prep_recv(next_sqe(ring), client.get(), got_reply.data(), length_of(got_reply.size()), MSG_WAITALL)
      .set_user_data(10);
  auto second = reap(ring, 2);
  CHECK(only(second, 9).result() == static_cast<int>(reply.size()));
  CHECK(only(second, 10).result() == static_cast<int>(reply.size()));
  CHECK(got_reply == reply);

  // SHUTDOWN(SHUT_WR): the peer reads end of stream, and may still answer.
  unsigned char byte = 0;
  prep_shutdown(next_sqe(ring), client.get(), SHUT_WR).set_user_data(11);
  CHECK(reap_one(ring).result() == 0);
  prep_recv(next_sqe(ring), server.get(), &byte, 1, 0).set_user_data(12);
  CHECK(reap_one(ring).result() == 0);
  const unsigned char last = 0x5a;
  send_all(server.get(), &last, 1);
  CHECK(recv_exact(client.get(), 1)[0] == last);
}

TEST_CASE("multishot accept yields N connections with more() until cancelled") {
  FdLeakCheck leaks;
  Ring ring = make_ring();
  sockaddr_in addr{};
  Fd listener = tcp_listener(&addr);

  prep_accept_multishot(next_sqe(ring), listener.get(), nullptr, nullptr, SOCK_CLOEXEC).set_user_data(100);
  REQUIRE(ring.submit() == 1);

  constexpr int kClients = 5;
  std::vector<Fd> clients;
  std::set<std::uint16_t> client_ports;
  for (int i = 0; i < kClients; ++i) {
    clients.push_back(tcp_connect(addr));
    client_ports.insert(local_address(clients.back().get()).sin_port);
  }
  auto accepted = reap(ring, kClients);
  std::vector<Fd> servers;
  std::set<std::uint16_t> peer_ports;
  for (const Cqe& cqe : accepted) {
    CHECK(cqe.data() == 100);
    REQUIRE(cqe.result() >= 0);
    CHECK(cqe.more());
    servers.emplace_back(cqe.result());
    sockaddr_in peer{};
    socklen_t len = sizeof peer;
    REQUIRE(::getpeername(cqe.result(), as_sockaddr(peer), &len) == 0);
    peer_ports.insert(peer.sin_port);
  }
  CHECK(peer_ports == client_ports);  // each client accepted exactly once

  // Data flows on each accepted connection.
  for (int i = 0; i < kClients; ++i) {
    const auto bytes = pattern(100 + static_cast<std::size_t>(i), static_cast<std::uint32_t>(i));
    send_all(clients[static_cast<std::size_t>(i)].get(), bytes.data(), bytes.size());
  }
  for (const Fd& server : servers) {
    bound_blocking_calls(server.get());
    sockaddr_in peer{};
    socklen_t len = sizeof peer;
    REQUIRE(::getpeername(server.get(), as_sockaddr(peer), &len) == 0);
    int index = 0;
    for (; index < kClients; ++index) {
      if (local_address(clients[static_cast<std::size_t>(index)].get()).sin_port == peer.sin_port) break;
    }
    REQUIRE(index < kClients);
    CHECK(recv_exact(server.get(), 100 + static_cast<std::size_t>(index)) ==
          pattern(100 + static_cast<std::size_t>(index), static_cast<std::uint32_t>(index)));
  }

  // Still armed: one more client is accepted without re-submitting.
  clients.push_back(tcp_connect(addr));
  Cqe extra = reap_one(ring);
  CHECK(extra.data() == 100);
  CHECK(extra.more());
  REQUIRE(extra.result() >= 0);
  servers.emplace_back(extra.result());

  prep_cancel(next_sqe(ring), 100).set_user_data(101);
  auto ended = reap(ring, 2);
  CHECK(only(ended, 101).result() == 0);
  const Cqe last = only(ended, 100);
  CHECK(last.result() == -ECANCELED);
  CHECK_FALSE(last.more());

  // Cancelled: a new client is not accepted through the ring any more; it
  // waits in the backlog for accept(2) instead.
  clients.push_back(tcp_connect(addr));
  const sockaddr_in last_client = local_address(clients.back().get());
  Fd by_syscall(accept_retrying(listener.get()));
  sockaddr_in peer{};
  socklen_t peer_len = sizeof peer;
  REQUIRE(::getpeername(by_syscall.get(), as_sockaddr(peer), &peer_len) == 0);
  CHECK(peer.sin_port == last_client.sin_port);
  expect_no_cqe(ring);
}

TEST_CASE("direct accept and direct socket fill fixed-file slots, not the fd table") {
  FdLeakCheck leaks;
  Ring ring = make_ring();
  Probe probe = probe_of(ring);
  URING_REQUIRE_OP(probe, abi::IORING_OP_SOCKET);
  register_sparse_files(ring, 16);
  sockaddr_in addr{};
  Fd listener = tcp_listener(&addr);
  const int fds_before = testing::open_fd_count();

  // A given slot: result 0.
  prep_accept_direct(next_sqe(ring), listener.get(), nullptr, nullptr, 0, DirectSlot(3)).set_user_data(1);
  REQUIRE(ring.submit() == 1);
  Fd client_a = tcp_connect(addr);
  CHECK(reap_one(ring).result() == 0);

  // Any free slot: result is the slot the kernel chose.
  prep_accept_direct(next_sqe(ring), listener.get(), nullptr, nullptr, 0, DirectSlot::any()).set_user_data(2);
  REQUIRE(ring.submit() == 1);
  Fd client_b = tcp_connect(addr);
  const int slot_b = reap_one(ring).result();
  REQUIRE(slot_b >= 0);
  REQUIRE(slot_b < 16);
  CHECK(slot_b != 3);
  std::set<int> used = {3, slot_b};

  // Multishot direct: each connection lands in a newly chosen slot.
  prep_accept_multishot_direct(next_sqe(ring), listener.get(), nullptr, nullptr, 0).set_user_data(3);
  REQUIRE(ring.submit() == 1);
  Fd client_c = tcp_connect(addr);
  Fd client_d = tcp_connect(addr);
  auto multi = reap(ring, 2);
  for (const Cqe& cqe : multi) {
    CHECK(cqe.more());
    CHECK(cqe.result() >= 0);
    CHECK(cqe.result() < 16);
    CHECK(used.insert(cqe.result()).second);  // a slot not handed out before
  }
  CHECK(used.size() == 4);
  prep_cancel(next_sqe(ring), 3).set_user_data(4);
  auto cancelled = reap(ring, 2);
  CHECK(only(cancelled, 4).result() == 0);
  CHECK_FALSE(only(cancelled, 3).more());

  // The accepted sockets live only in the file table.
  CHECK(testing::open_fd_count() == fds_before + 4);  // just the four clients

  // Each direct socket is usable through its slot.
  const auto bytes_a = pattern(5000, 1);
  prep_send(next_sqe(ring), FixedFile(3), bytes_a.data(), length_of(bytes_a.size()), 0).set_user_data(5);
  CHECK(reap_one(ring).result() == static_cast<int>(bytes_a.size()));
  CHECK(recv_exact(client_a.get(), bytes_a.size()) == bytes_a);
  const auto bytes_b = pattern(77, 2);
  send_all(client_b.get(), bytes_b.data(), bytes_b.size());
  std::vector<unsigned char> got_b(bytes_b.size());
  prep_recv(next_sqe(ring), FixedFile::checked(slot_b).value(), got_b.data(), length_of(got_b.size()),
            MSG_WAITALL)
      .set_user_data(6);
  CHECK(reap_one(ring).result() == static_cast<int>(bytes_b.size()));
  CHECK(got_b == bytes_b);

  // SOCKET into slot 12 and into any slot, then CONNECT through the slot.
  REQUIRE(used.count(12) == 0);
  prep_socket_direct(next_sqe(ring), AF_INET, SOCK_STREAM, 0, DirectSlot(12)).set_user_data(7);
  prep_socket_direct(next_sqe(ring), AF_INET, SOCK_STREAM, 0, DirectSlot::any()).set_user_data(8);
  auto sockets = reap(ring, 2);
  CHECK(only(sockets, 7).result() == 0);
  const int any_socket_slot = only(sockets, 8).result();
  CHECK(any_socket_slot >= 0);
  CHECK(any_socket_slot < 16);
  CHECK(any_socket_slot != 12);
  CHECK(used.count(any_socket_slot) == 0);
  CHECK(testing::open_fd_count() == fds_before + 4);
  prep_connect(next_sqe(ring), FixedFile(12), as_sockaddr(addr), sizeof addr).set_user_data(9);
  CHECK(reap_one(ring).result() == 0);
  Fd server_e(accept_retrying(listener.get()));
  bound_blocking_calls(server_e.get());
  const auto bytes_e = pattern(999, 5);
  prep_send(next_sqe(ring), FixedFile(12), bytes_e.data(), length_of(bytes_e.size()), 0).set_user_data(10);
  CHECK(reap_one(ring).result() == static_cast<int>(bytes_e.size()));
  CHECK(recv_exact(server_e.get(), bytes_e.size()) == bytes_e);

  // SOCK_CLOEXEC makes no sense for a direct descriptor: refused.
  prep_socket_direct(next_sqe(ring), AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0, DirectSlot(13))
      .set_user_data(11);
  CHECK(reap_one(ring).result() == -EINVAL);
  // A slot outside the table.
  prep_socket_direct(next_sqe(ring), AF_INET, SOCK_STREAM, 0, DirectSlot(16)).set_user_data(12);
  CHECK(reap_one(ring).result() == -EINVAL);
}

TEST_CASE("AcceptOptions reach the kernel: dont_wait answers -EAGAIN, poll_first waits before trying") {
  // "io_uring/net: add IORING_ACCEPT_DONTWAIT flag" and "... _POLL_FIRST
  // flag", Linux 6.10.
  URING_REQUIRE(testing::missing_since("IORING_ACCEPT_DONTWAIT and IORING_ACCEPT_POLL_FIRST", "6.10"));
  FdLeakCheck leaks;
  Ring ring = make_ring();
  sockaddr_in addr{};
  Fd listener = tcp_listener(&addr);

  // Nobody connecting: -EAGAIN at once instead of a pending accept.
  prep_accept(next_sqe(ring), listener.get(), nullptr, nullptr, SOCK_CLOEXEC, {.dont_wait = true})
      .set_user_data(1);
  CHECK(reap_one(ring).result() == -EAGAIN);

  // A connection pending: dont_wait takes it...
  Fd first = tcp_connect(addr);
  REQUIRE(readable_within(listener.get(), 2000ms));
  prep_accept(next_sqe(ring), listener.get(), nullptr, nullptr, SOCK_CLOEXEC, {.dont_wait = true})
      .set_user_data(2);
  const Cqe taken = reap_one(ring);
  REQUIRE(taken.result() >= 0);
  Fd accepted(taken.result());
  // ...but with poll_first the kernel does not try before polling, so
  // dont_wait gives up even though a connection is there.
  Fd second = tcp_connect(addr);
  REQUIRE(readable_within(listener.get(), 2000ms));
  prep_accept(next_sqe(ring), listener.get(), nullptr, nullptr, SOCK_CLOEXEC,
              {.dont_wait = true, .poll_first = true})
      .set_user_data(3);
  CHECK(reap_one(ring).result() == -EAGAIN);
  // poll_first alone: the pending connection is taken once the poll fires.
  prep_accept(next_sqe(ring), listener.get(), nullptr, nullptr, SOCK_CLOEXEC, {.poll_first = true})
      .set_user_data(4);
  const Cqe polled = reap_one(ring);
  REQUIRE(polled.result() >= 0);
  Fd accepted_after_poll(polled.result());
}

TEST_CASE("bad socket input fails with a clear error") {
  FdLeakCheck leaks;
  Ring ring = make_ring();
  Probe probe = probe_of(ring);

  // ACCEPT on a socket that is not listening.
  Fd unlistening(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  REQUIRE(unlistening.get() >= 0);
  prep_accept(next_sqe(ring), unlistening.get(), nullptr, nullptr, 0).set_user_data(1);
  CHECK(reap_one(ring).result() == -EINVAL);

  // RECV on a closed fd.
  int closed_fd = ::dup(unlistening.get());
  REQUIRE(closed_fd >= 0);
  ::close(closed_fd);
  char byte = 0;
  prep_recv(next_sqe(ring), closed_fd, &byte, 1, 0).set_user_data(2);
  CHECK(reap_one(ring).result() == -EBADF);

  // CONNECT to a port nobody listens on.
  sockaddr_in addr{};
  { Fd gone = tcp_listener(&addr); }
  Fd client(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  prep_connect(next_sqe(ring), client.get(), as_sockaddr(addr), sizeof addr).set_user_data(3);
  CHECK(reap_one(ring).result() == -ECONNREFUSED);

  // SEND/RECV/SHUTDOWN on something that is not a socket.
  auto [read_end, write_end] = make_pipe();
  prep_send(next_sqe(ring), write_end.get(), &byte, 1, 0).set_user_data(4);
  CHECK(reap_one(ring).result() == -ENOTSOCK);
  prep_shutdown(next_sqe(ring), read_end.get(), SHUT_RDWR).set_user_data(5);
  CHECK(reap_one(ring).result() == -ENOTSOCK);

  // An unknown address family.
  prep_socket(next_sqe(ring), 12345, SOCK_STREAM, 0).set_user_data(6);
  CHECK(reap_one(ring).result() == -EAFNOSUPPORT);

  if (probe.supports(abi::IORING_OP_BIND) && probe.supports(abi::IORING_OP_LISTEN)) {
    // BIND to an address in use; LISTEN on a pipe.
    sockaddr_in used{};
    Fd holder = tcp_listener(&used);
    Fd other(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    prep_bind(next_sqe(ring), other.get(), as_sockaddr(used), sizeof used).set_user_data(7);
    CHECK(reap_one(ring).result() == -EADDRINUSE);
    prep_listen(next_sqe(ring), read_end.get(), 1).set_user_data(8);
    CHECK(reap_one(ring).result() == -ENOTSOCK);
  }
}
