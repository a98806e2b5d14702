// Each builder of prep_net.h and prep_event.h sets exactly the SQE fields the
// kernel reads for its opcode and zeroes the rest, even in a slot full of
// stale bytes. (The other tests in this package check what the kernel does
// with them.)
#include <functional>
#include <sstream>

#include "tests/net/net_support.h"

using namespace uring;

namespace {

// Runs `build` on an SQE full of garbage and compares all 64 bytes with a
// zeroed SQE that `expect` filled in by hand.
void check_sqe(const std::function<void(Sqe&)>& build,
               const std::function<void(abi::io_uring_sqe&)>& expect) {
  Sqe got;
  std::memset(static_cast<void*>(&got), 0xab, sizeof got);
  build(got);
  abi::io_uring_sqe want{};
  expect(want);
  const auto* a = reinterpret_cast<const unsigned char*>(&got);
  const auto* b = reinterpret_cast<const unsigned char*>(&want);
  std::ostringstream diff;
  for (std::size_t i = 0; i < sizeof want; ++i) {
    if (a[i] != b[i]) diff << " byte " << i << ": got " << int{a[i]} << " want " << int{b[i]} << ";";
  }
  CHECK_MESSAGE(diff.str().empty(), diff.str());
}

std::uint64_t addr(const void* p) { return reinterpret_cast<std::uintptr_t>(p); }

}  // namespace

TEST_CASE("socket builders set exactly their fields") {
  char buf[16];
  sockaddr_in sa{};
  socklen_t salen = sizeof sa;
  msghdr msg{};
  const auto* sap = reinterpret_cast<sockaddr*>(&sa);

  check_sqe([&](Sqe& s) { prep_socket(s, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 6); },
            [&](abi::io_uring_sqe& w) {
              w.opcode = abi::IORING_OP_SOCKET;
              w.fd = AF_INET;
              w.off = SOCK_STREAM | SOCK_NONBLOCK;
              w.len = 6;
            });
  check_sqe([&](Sqe& s) { prep_socket_direct(s, AF_UNIX, SOCK_DGRAM, 0, DirectSlot(4)); },
            [&](abi::io_uring_sqe& w) {
              w.opcode = abi::IORING_OP_SOCKET;
              w.fd = AF_UNIX;
              w.off = SOCK_DGRAM;
              w.file_index = 5;
            });
  check_sqe([&](Sqe& s) { prep_bind(s, 3, sap, sizeof sa); },
            [&](abi::io_uring_sqe& w) {
              w.opcode = abi::IORING_OP_BIND;
              w.fd = 3;
              w.addr = addr(&sa);
              w.addr2 = sizeof sa;
            });
  check_sqe([&](Sqe& s) { prep_listen(s, FixedFile(2), 128); },
            [&](abi::io_uring_sqe& w) {
              w.opcode = abi::IORING_OP_LISTEN;
              w.flags = abi::IOSQE_FIXED_FILE;
              w.fd = 2;
              w.len = 128;
            });
  check_sqe([&](Sqe& s) { prep_connect(s, 3, sap, sizeof sa); },
            [&](abi::io_uring_sqe& w) {
              w.opcode = abi::IORING_OP_CONNECT;
              w.fd = 3;
              w.addr = addr(&sa);
              w.off = sizeof sa;
            });
  check_sqe([&](Sqe& s) { prep_accept(s, 3, reinterpret_cast<sockaddr*>(&sa), &salen, SOCK_CLOEXEC); },
            [&](abi::io_uring_sqe& w) {
              w.opcode = abi::IORING_OP_ACCEPT;
              w.fd = 3;
              w.addr = addr(&sa);
              w.addr2 = addr(&salen);
              w.accept_flags = SOCK_CLOEXEC;
            });
  check_sqe([&](Sqe& s) { prep_accept_multishot_direct(s, FixedFile(1), nullptr, nullptr, 0); },
            [&](abi::io_uring_sqe& w) {
              w.opcode = abi::IORING_OP_ACCEPT;
              w.flags = abi::IOSQE_FIXED_FILE;
              w.fd = 1;
              w.ioprio = abi::IORING_ACCEPT_MULTISHOT;
              w.file_index = abi::IORING_FILE_INDEX_ALLOC;
            });
  check_sqe([&](Sqe& s) { prep_send(s, 4, buf, sizeof buf, MSG_MORE); },
            [&](abi::io_uring_sqe& w) {
              w.opcode = abi::IORING_OP_SEND;
              w.fd = 4;
              w.addr = addr(buf);
              w.len = sizeof buf;
              w.msg_flags = MSG_MORE;
            });
  check_sqe([&](Sqe& s) { prep_sendto(s, 4, buf, 3, 0, sap, sizeof sa); },
            [&](abi::io_uring_sqe& w) {
              w.opcode = abi::IORING_OP_SEND;
              w.fd = 4;
              w.addr = addr(buf);
              w.len = 3;
              w.addr2 = addr(&sa);
              w.addr_len = sizeof sa;
            });
  check_sqe([&](Sqe& s) { prep_recv(s, 4, buf, sizeof buf, MSG_WAITALL); },
            [&](abi::io_uring_sqe& w) {
              w.opcode = abi::IORING_OP_RECV;
              w.fd = 4;
              w.addr = addr(buf);
              w.len = sizeof buf;
              w.msg_flags = MSG_WAITALL;
            });
  check_sqe([&](Sqe& s) { prep_recv_buffer_select(s, 4, 100, 0, 7); },
            [&](abi::io_uring_sqe& w) {
              w.opcode = abi::IORING_OP_RECV;
              w.flags = abi::IOSQE_BUFFER_SELECT;
              w.fd = 4;
              w.len = 100;
              w.buf_group = 7;
            });
  check_sqe([&](Sqe& s) { prep_recv_multishot(s, 4, MSG_PEEK, 7); },
            [&](abi::io_uring_sqe& w) {
              w.opcode = abi::IORING_OP_RECV;
              w.flags = abi::IOSQE_BUFFER_SELECT;
              w.ioprio = abi::IORING_RECV_MULTISHOT;
              w.fd = 4;
              w.msg_flags = MSG_PEEK;
              w.buf_group = 7;
            });
  check_sqe([&](Sqe& s) { prep_sendmsg(s, 4, &msg, MSG_EOR); },
            [&](abi::io_uring_sqe& w) {
              w.opcode = abi::IORING_OP_SENDMSG;
              w.fd = 4;
              w.addr = addr(&msg);
              w.msg_flags = MSG_EOR;
            });
  check_sqe([&](Sqe& s) { prep_recvmsg_multishot(s, 4, &msg, 0, 2); },
            [&](abi::io_uring_sqe& w) {
              w.opcode = abi::IORING_OP_RECVMSG;
              w.flags = abi::IOSQE_BUFFER_SELECT;
              w.ioprio = abi::IORING_RECV_MULTISHOT;
              w.fd = 4;
              w.addr = addr(&msg);
              w.buf_group = 2;
            });
  check_sqe(
      [&](Sqe& s) { prep_send_zc_fixed(s, 4, buf, 8, 0, FixedBuffer(3), abi::IORING_SEND_ZC_REPORT_USAGE); },
      [&](abi::io_uring_sqe& w) {
        w.opcode = abi::IORING_OP_SEND_ZC;
        w.fd = 4;
        w.addr = addr(buf);
        w.len = 8;
        w.ioprio = abi::IORING_SEND_ZC_REPORT_USAGE | abi::IORING_RECVSEND_FIXED_BUF;
        w.buf_index = 3;
      });
  check_sqe([&](Sqe& s) { prep_sendmsg_zc(s, 4, &msg, 0); },
            [&](abi::io_uring_sqe& w) {
              w.opcode = abi::IORING_OP_SENDMSG_ZC;
              w.fd = 4;
              w.addr = addr(&msg);
            });
  check_sqe([&](Sqe& s) { prep_shutdown(s, 4, SHUT_WR); },
            [&](abi::io_uring_sqe& w) {
              w.opcode = abi::IORING_OP_SHUTDOWN;
              w.fd = 4;
              w.len = SHUT_WR;
            });
  check_sqe([&](Sqe& s) { prep_uring_cmd_siocoutq(s, 4); },
            [&](abi::io_uring_sqe& w) {
              w.opcode = abi::IORING_OP_URING_CMD;
              w.fd = 4;
              w.cmd_op = abi::SOCKET_URING_OP_SIOCOUTQ;
            });
  int value = 0;
  check_sqe([&](Sqe& s) { prep_uring_cmd_getsockopt(s, 4, SOL_SOCKET, SO_RCVBUF, &value, sizeof value); },
            [&](abi::io_uring_sqe& w) {
              w.opcode = abi::IORING_OP_URING_CMD;
              w.fd = 4;
              w.cmd_op = abi::SOCKET_URING_OP_GETSOCKOPT;
              w.level = SOL_SOCKET;
              w.optname = SO_RCVBUF;
              w.optval = addr(&value);
              w.optlen = sizeof value;
            });
  check_sqe([&](Sqe& s) { prep_recv_zc_multishot(s, 4, 1); },
            [&](abi::io_uring_sqe& w) {
              w.opcode = abi::IORING_OP_RECV_ZC;
              w.fd = 4;
              w.zcrx_ifq_idx = 1;
              w.ioprio = abi::IORING_RECV_MULTISHOT;
            });
}

TEST_CASE("event builders set exactly their fields") {
  const abi::kernel_timespec ts{1, 2};
  epoll_event ev{};
  std::uint32_t word = 0;
  siginfo_t info{};
  FutexWaitv waitv[2] = {};

  check_sqe([&](Sqe& s) { prep_poll_multishot(s, 5, POLLIN); },
            [&](abi::io_uring_sqe& w) {
              w.opcode = abi::IORING_OP_POLL_ADD;
              w.fd = 5;
              w.poll32_events = POLLIN;
              w.len = abi::IORING_POLL_ADD_MULTI;
            });
  check_sqe(
      [&](Sqe& s) {
        PollUpdate update;
        update.user_data = 9;
        update.events = POLLOUT;
        prep_poll_update(s, 8, update);
      },
      [&](abi::io_uring_sqe& w) {
        w.opcode = abi::IORING_OP_POLL_REMOVE;
        w.addr = 8;
        w.off = 9;
        w.poll32_events = POLLOUT;
        w.len = abi::IORING_POLL_UPDATE_USER_DATA | abi::IORING_POLL_UPDATE_EVENTS;
      });
  check_sqe([&](Sqe& s) { prep_epoll_ctl(s, 6, 7, EPOLL_CTL_MOD, &ev); },
            [&](abi::io_uring_sqe& w) {
              w.opcode = abi::IORING_OP_EPOLL_CTL;
              w.fd = 6;
              w.off = 7;
              w.len = EPOLL_CTL_MOD;
              w.addr = addr(&ev);
            });
  check_sqe([&](Sqe& s) { prep_epoll_wait(s, 6, &ev, 1); },
            [&](abi::io_uring_sqe& w) {
              w.opcode = abi::IORING_OP_EPOLL_WAIT;
              w.fd = 6;
              w.addr = addr(&ev);
              w.len = 1;
            });
  check_sqe([&](Sqe& s) { prep_timeout_multishot(s, &ts, 4, abi::IORING_TIMEOUT_BOOTTIME); },
            [&](abi::io_uring_sqe& w) {
              w.opcode = abi::IORING_OP_TIMEOUT;
              w.addr = addr(&ts);
              w.len = 1;
              w.off = 4;
              w.timeout_flags = abi::IORING_TIMEOUT_BOOTTIME | abi::IORING_TIMEOUT_MULTISHOT;
            });
  check_sqe([&](Sqe& s) { prep_link_timeout_update(s, 33, &ts, abi::IORING_TIMEOUT_ABS); },
            [&](abi::io_uring_sqe& w) {
              w.opcode = abi::IORING_OP_TIMEOUT_REMOVE;
              w.addr = 33;
              w.addr2 = addr(&ts);
              w.timeout_flags =
                  abi::IORING_TIMEOUT_ABS | abi::IORING_TIMEOUT_UPDATE | abi::IORING_LINK_TIMEOUT_UPDATE;
            });
  check_sqe([&](Sqe& s) { prep_link_timeout(s, &ts); },
            [&](abi::io_uring_sqe& w) {
              w.opcode = abi::IORING_OP_LINK_TIMEOUT;
              w.addr = addr(&ts);
              w.len = 1;
            });
  check_sqe([&](Sqe& s) { prep_cancel_fd(s, FixedFile(3), abi::IORING_ASYNC_CANCEL_ALL); },
            [&](abi::io_uring_sqe& w) {
              w.opcode = abi::IORING_OP_ASYNC_CANCEL;
              w.fd = 3;
              w.cancel_flags = abi::IORING_ASYNC_CANCEL_ALL | abi::IORING_ASYNC_CANCEL_FD |
                               abi::IORING_ASYNC_CANCEL_FD_FIXED;
            });
  check_sqe([&](Sqe& s) { prep_cancel_op(s, abi::IORING_OP_RECV); },
            [&](abi::io_uring_sqe& w) {
              w.opcode = abi::IORING_OP_ASYNC_CANCEL;
              w.fd = -1;
              w.len = abi::IORING_OP_RECV;
              w.cancel_flags = abi::IORING_ASYNC_CANCEL_OP;
            });
  check_sqe([&](Sqe& s) { prep_msg_ring_send_fd(s, 9, FixedFile(2), DirectSlot::any(), 77, false); },
            [&](abi::io_uring_sqe& w) {
              w.opcode = abi::IORING_OP_MSG_RING;
              w.fd = 9;
              w.addr = abi::IORING_MSG_SEND_FD;
              w.addr3 = 2;
              w.file_index = abi::IORING_FILE_INDEX_ALLOC;
              w.off = 77;
              w.msg_ring_flags = abi::IORING_MSG_RING_CQE_SKIP;
            });
  check_sqe([&](Sqe& s) { prep_msg_ring_cqe_flags(s, 9, -5, 78, 0x10000); },
            [&](abi::io_uring_sqe& w) {
              w.opcode = abi::IORING_OP_MSG_RING;
              w.fd = 9;
              w.addr = abi::IORING_MSG_DATA;
              w.len = static_cast<std::uint32_t>(-5);
              w.off = 78;
              w.msg_ring_flags = abi::IORING_MSG_RING_FLAGS_PASS;
              w.file_index = 0x10000;
            });
  check_sqe([&](Sqe& s) { prep_futex_wait(s, &word, 3, 0xf); },
            [&](abi::io_uring_sqe& w) {
              w.opcode = abi::IORING_OP_FUTEX_WAIT;
              w.fd = static_cast<std::int32_t>(futex2::size_u32 | futex2::private_flag);
              w.addr = addr(&word);
              w.addr2 = 3;
              w.addr3 = 0xf;
            });
  check_sqe([&](Sqe& s) { prep_futex_waitv(s, waitv, 2); },
            [&](abi::io_uring_sqe& w) {
              w.opcode = abi::IORING_OP_FUTEX_WAITV;
              w.addr = addr(waitv);
              w.len = 2;
            });
  check_sqe([&](Sqe& s) { prep_waitid(s, P_PID, 1234, &info, WEXITED | WNOHANG); },
            [&](abi::io_uring_sqe& w) {
              w.opcode = abi::IORING_OP_WAITID;
              w.len = P_PID;
              w.fd = 1234;
              w.file_index = WEXITED | WNOHANG;
              w.addr2 = addr(&info);
            });
  check_sqe(
      [&](Sqe& s) {
        NopOptions options;
        options.inject_result = -3;
        options.file = File(FixedFile(6));
        options.buffer = FixedBuffer(2);
        options.task_work = true;
        prep_nop_with(s, options);
      },
      [&](abi::io_uring_sqe& w) {
        w.opcode = abi::IORING_OP_NOP;
        w.len = static_cast<std::uint32_t>(-3);
        w.fd = 6;
        w.buf_index = 2;
        w.nop_flags = abi::IORING_NOP_INJECT_RESULT | abi::IORING_NOP_FILE | abi::IORING_NOP_FIXED_FILE |
                      abi::IORING_NOP_FIXED_BUFFER | abi::IORING_NOP_TW;
      });
}

TEST_CASE("the ioprio knobs land in sqe->ioprio next to what the builder sets itself") {
  char buf[16];
  msghdr msg{};
  check_sqe([&](Sqe& s) { prep_accept(s, 3, nullptr, nullptr, 0, {.dont_wait = true, .poll_first = true}); },
            [&](abi::io_uring_sqe& w) {
              w.opcode = abi::IORING_OP_ACCEPT;
              w.fd = 3;
              w.ioprio = abi::IORING_ACCEPT_DONTWAIT | abi::IORING_ACCEPT_POLL_FIRST;
            });
  check_sqe([&](Sqe& s) { prep_accept_multishot_direct(s, 3, nullptr, nullptr, 0, {.poll_first = true}); },
            [&](abi::io_uring_sqe& w) {
              w.opcode = abi::IORING_OP_ACCEPT;
              w.fd = 3;
              w.ioprio = abi::IORING_ACCEPT_MULTISHOT | abi::IORING_ACCEPT_POLL_FIRST;
              w.file_index = abi::IORING_FILE_INDEX_ALLOC;
            });
  check_sqe([&](Sqe& s) { prep_recv(s, 4, buf, sizeof buf, 0, {.poll_first = true}); },
            [&](abi::io_uring_sqe& w) {
              w.opcode = abi::IORING_OP_RECV;
              w.fd = 4;
              w.addr = addr(buf);
              w.len = sizeof buf;
              w.ioprio = abi::IORING_RECVSEND_POLL_FIRST;
            });
  check_sqe([&](Sqe& s) { prep_recv_multishot(s, 4, 0, 7, {.poll_first = true}); },
            [&](abi::io_uring_sqe& w) {
              w.opcode = abi::IORING_OP_RECV;
              w.flags = abi::IOSQE_BUFFER_SELECT;
              w.fd = 4;
              w.buf_group = 7;
              w.ioprio = abi::IORING_RECV_MULTISHOT | abi::IORING_RECVSEND_POLL_FIRST;
            });
  check_sqe([&](Sqe& s) { prep_recvmsg_multishot(s, 4, &msg, 0, 2, {.poll_first = true}); },
            [&](abi::io_uring_sqe& w) {
              w.opcode = abi::IORING_OP_RECVMSG;
              w.flags = abi::IOSQE_BUFFER_SELECT;
              w.fd = 4;
              w.addr = addr(&msg);
              w.buf_group = 2;
              w.ioprio = abi::IORING_RECV_MULTISHOT | abi::IORING_RECVSEND_POLL_FIRST;
            });
  check_sqe([&](Sqe& s) { prep_sendmsg(s, 4, &msg, 0, {.poll_first = true}); },
            [&](abi::io_uring_sqe& w) {
              w.opcode = abi::IORING_OP_SENDMSG;
              w.fd = 4;
              w.addr = addr(&msg);
              w.ioprio = abi::IORING_RECVSEND_POLL_FIRST;
            });
  check_sqe([&](Sqe& s) { prep_recv_zc(s, 4, 1, 100, {.poll_first = true}); },
            [&](abi::io_uring_sqe& w) {
              w.opcode = abi::IORING_OP_RECV_ZC;
              w.fd = 4;
              w.zcrx_ifq_idx = 1;
              w.len = 100;
              w.ioprio = abi::IORING_RECV_MULTISHOT | abi::IORING_RECVSEND_POLL_FIRST;
            });
  check_sqe(
      [&](Sqe& s) { prep_cancel_fd_op(s, FixedFile(2), abi::IORING_OP_RECV, abi::IORING_ASYNC_CANCEL_ALL); },
      [&](abi::io_uring_sqe& w) {
        w.opcode = abi::IORING_OP_ASYNC_CANCEL;
        w.fd = 2;
        w.len = abi::IORING_OP_RECV;
        w.cancel_flags = abi::IORING_ASYNC_CANCEL_ALL | abi::IORING_ASYNC_CANCEL_FD |
                         abi::IORING_ASYNC_CANCEL_FD_FIXED | abi::IORING_ASYNC_CANCEL_OP;
      });
}

TEST_CASE("the builders added for issue 12, item 14 set exactly their fields") {
  msghdr msg{};
  int object = 0;
  check_sqe(
      [&](Sqe& s) {
        prep_uring_cmd(s, FixedFile(3), 0x1234);
        uring_cmd_data(s)[0] = 0x11;
        uring_cmd_data(s)[15] = 0x22;
      },
      [&](abi::io_uring_sqe& w) {
        w.opcode = abi::IORING_OP_URING_CMD;
        w.flags = abi::IOSQE_FIXED_FILE;
        w.fd = 3;
        w.cmd_op = 0x1234;
        w.addr3 = 0x11;                           // cmd[0..7]
        w.__pad2[0] = std::uint64_t{0x22} << 56;  // cmd[15]
      });
  check_sqe([&](Sqe& s) { prep_uring_cmd_discard(s, 5, 4096, 8192); },
            [&](abi::io_uring_sqe& w) {
              w.opcode = abi::IORING_OP_URING_CMD;
              w.fd = 5;
              w.cmd_op = 0x1200;  // _IO(0x12, 0)
              w.addr = 4096;
              w.addr3 = 8192;
            });
  check_sqe([&](Sqe& s) { prep_uring_cmd_tx_timestamp(s, 6); },
            [&](abi::io_uring_sqe& w) {
              w.opcode = abi::IORING_OP_URING_CMD;
              w.fd = 6;
              w.cmd_op = abi::SOCKET_URING_OP_TX_TIMESTAMP;
            });
  check_sqe([&](Sqe& s) { prep_send_buffer_select(s, 4, 100, MSG_MORE, 9, {.poll_first = true}); },
            [&](abi::io_uring_sqe& w) {
              w.opcode = abi::IORING_OP_SEND;
              w.flags = abi::IOSQE_BUFFER_SELECT;
              w.fd = 4;
              w.len = 100;
              w.msg_flags = MSG_MORE;
              w.buf_group = 9;
              w.ioprio = abi::IORING_RECVSEND_POLL_FIRST;
            });
  check_sqe([&](Sqe& s) { prep_send_bundle(s, 4, 0, 0, 9); },
            [&](abi::io_uring_sqe& w) {
              w.opcode = abi::IORING_OP_SEND;
              w.flags = abi::IOSQE_BUFFER_SELECT;
              w.fd = 4;
              w.buf_group = 9;
              w.ioprio = abi::IORING_RECVSEND_BUNDLE;
            });
  check_sqe([&](Sqe& s) { prep_sendmsg_zc_fixed(s, 4, &msg, 0, FixedBuffer(7)); },
            [&](abi::io_uring_sqe& w) {
              w.opcode = abi::IORING_OP_SENDMSG_ZC;
              w.fd = 4;
              w.addr = addr(&msg);
              w.ioprio = abi::IORING_RECVSEND_FIXED_BUF;
              w.buf_index = 7;
            });
  check_sqe([&](Sqe& s) { prep_recv_multishot_limited(s, 4, 0, 8, {.per_cqe = 30, .total = 50}); },
            [&](abi::io_uring_sqe& w) {
              w.opcode = abi::IORING_OP_RECV;
              w.flags = abi::IOSQE_BUFFER_SELECT;
              w.fd = 4;
              w.buf_group = 8;
              w.len = 30;
              w.optlen = 50;
              w.ioprio = abi::IORING_RECV_MULTISHOT;
            });
  check_sqe([&](Sqe& s) { prep_cancel(s, &object, abi::IORING_ASYNC_CANCEL_ALL); },
            [&](abi::io_uring_sqe& w) {
              w.opcode = abi::IORING_OP_ASYNC_CANCEL;
              w.fd = -1;
              w.addr = addr(&object);
              w.cancel_flags = abi::IORING_ASYNC_CANCEL_ALL;
            });
}

TEST_CASE("has_net_builder and has_event_builder name the opcodes built here") {
  static_assert(has_net_builder(abi::IORING_OP_SEND_ZC));
  static_assert(has_event_builder(abi::IORING_OP_FUTEX_WAITV));
  static_assert(!has_net_builder(abi::IORING_OP_READ));
  unsigned net = 0, event = 0;
  for (unsigned op = 0; op < 256; ++op) {
    net += has_net_builder(op);
    event += has_event_builder(op);
    CHECK_FALSE((has_net_builder(op) && has_event_builder(op)));
  }
  CHECK(net == 14);
  CHECK(event == 13);
}

// ---- Builders whose data path cannot run here, checked against the kernel's rules ----
//
// RECV_ZC needs a zero-copy receive queue on a NIC with header/data split; no
// test machine has one to spare (tests/net/uring_cmd_test.cc). What can still
// be checked is every rule io_recvzc_prep (io_uring/net.c, Linux 6.18) applies
// to the SQE, in its order:
//
//   1. addr, addr2, addr3 must be 0                          -> -EINVAL
//   2. the queue zcrx_ifq_idx must be registered              -> -EINVAL
//   3. msg_flags must be 0                                    -> -EINVAL
//   4. ioprio holds only IORING_RECVSEND_POLL_FIRST and
//      IORING_RECV_MULTISHOT                                  -> -EINVAL
//   5. ioprio must hold IORING_RECV_MULTISHOT ("multishot required"): sqe->len
//      only limits the bytes of a multishot request           -> -EINVAL
//
// and, before the prep, io_init_req: no IOSQE_BUFFER_SELECT (-EOPNOTSUPP:
// RECV_ZC has no buffer_select in opdef.c). On a kernel without a queue, rule 2
// fails with the same -EINVAL as 1, 3, 4 and 5, so the CQE cannot tell them
// apart: the rules are checked here, on the SQE the builder wrote.
namespace {

std::string recv_zc_prep_refuses(const abi::io_uring_sqe& sqe) {
  if (sqe.opcode != abi::IORING_OP_RECV_ZC) return "opcode is not IORING_OP_RECV_ZC";
  if (sqe.flags & abi::IOSQE_BUFFER_SELECT) return "io_init_req: IOSQE_BUFFER_SELECT (-EOPNOTSUPP)";
  if (sqe.addr2 || sqe.addr || sqe.addr3) return "rule 1: addr, addr2 or addr3 set (-EINVAL)";
  // rule 2, the queue lookup, is the kernel's alone
  if (sqe.msg_flags) return "rule 3: msg_flags set (-EINVAL)";
  if (sqe.ioprio & ~(abi::IORING_RECVSEND_POLL_FIRST | abi::IORING_RECV_MULTISHOT))
    return "rule 4: ioprio has a flag other than POLL_FIRST and RECV_MULTISHOT (-EINVAL)";
  if (!(sqe.ioprio & abi::IORING_RECV_MULTISHOT)) return "rule 5: no IORING_RECV_MULTISHOT (-EINVAL)";
  return "";
}

}  // namespace

TEST_CASE("RECV_ZC builders write SQEs that io_recvzc_prep accepts (Linux 6.18 rules)") {
  // The rules can fail: an SQE with the multishot bit missing is refused.
  abi::io_uring_sqe single{};
  single.opcode = abi::IORING_OP_RECV_ZC;
  single.len = 100;
  CHECK(recv_zc_prep_refuses(single) == "rule 5: no IORING_RECV_MULTISHOT (-EINVAL)");

  Sqe sqe;
  std::memset(static_cast<void*>(&sqe), 0xab, sizeof sqe);
  prep_recv_zc_multishot(sqe, 4, 1);
  CHECK(recv_zc_prep_refuses(sqe) == "");

  // The length-limited form is a multishot request too: data CQEs with
  // more() until `len` bytes arrived, then a final CQE with result 0.
  std::memset(static_cast<void*>(&sqe), 0xab, sizeof sqe);
  prep_recv_zc(sqe, 4, 1, 4096);
  CHECK(recv_zc_prep_refuses(sqe) == "");
  CHECK(sqe.len == 4096);
  CHECK(sqe.zcrx_ifq_idx == 1);
  CHECK(sqe.ioprio == abi::IORING_RECV_MULTISHOT);
}
