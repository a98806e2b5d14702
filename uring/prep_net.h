// Socket opcode builders: SOCKET, BIND, LISTEN, ACCEPT, CONNECT, SEND/RECV,
// SENDMSG/RECVMSG, the zero-copy sends, SHUTDOWN, the socket URING_CMDs and
// RECV_ZC. Same rules as uring/prep.h: each builder zeroes the SQE, sets the
// fields the kernel reads for that opcode and returns a Prepared& for the
// per-request setters:
//
//   uring::prep_recv(*sqe, fd, buf, sizeof buf, 0).set_user_data(7);
//
// Lifetimes: every pointer passed here (buffers, sockaddrs, msghdrs and what
// they point to, option values) must stay valid until the request's CQE is
// reaped — for the zero-copy sends, until the notification CQE (Cqe::notif()).
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <optional>

#include "syscalls/abi.h"
#include "uring/sqe.h"

namespace uring {

namespace prep_net_detail {

// sqe->addr_len is 16 bits: a longer length becomes 65535, which the kernel
// refuses (-EINVAL: more than a sockaddr_storage) instead of being cut to a
// shorter one it would accept (65536 + 16 naming a 16-byte address).
inline std::uint16_t address_length(socklen_t length) {
  return length > 0xffff ? std::uint16_t{0xffff} : static_cast<std::uint16_t>(length);
}

inline std::uint64_t address_of(const void* pointer) {
  return static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(pointer));
}

// The part every socket request shares: opcode and target file.
inline Sqe& start_net(Sqe& sqe, std::uint8_t opcode, File file) {
  sqe.clear();
  sqe.opcode = opcode;
  return sqe.set_file(file);
}

}  // namespace prep_net_detail

// The knobs the kernel reads from sqe->ioprio for a send or receive (every
// builder below that takes one; the zero-copy sends take `zc_flags`).
struct NetOptions {
  // IORING_RECVSEND_POLL_FIRST (5.19): wait until the socket is ready before
  // the first attempt instead of trying at once (saves a failed attempt when
  // it is known to be empty or full). With MSG_DONTWAIT the request then
  // completes with -EAGAIN even when it could have gone through.
  bool poll_first = false;
};

// The knobs the kernel reads from sqe->ioprio for an ACCEPT (besides
// multishot, which has builders of its own).
struct AcceptOptions {
  // IORING_ACCEPT_DONTWAIT (6.10): complete with -EAGAIN at once when no
  // connection is pending, instead of waiting for one.
  bool dont_wait = false;
  // IORING_ACCEPT_POLL_FIRST (6.10): wait for a connection before the first
  // attempt (with dont_wait: -EAGAIN even when one is pending).
  bool poll_first = false;
};

namespace prep_net_detail {

inline std::uint16_t ioprio_of(NetOptions options) {
  return options.poll_first ? abi::IORING_RECVSEND_POLL_FIRST : std::uint16_t{0};
}

inline std::uint16_t ioprio_of(AcceptOptions options) {
  return static_cast<std::uint16_t>((options.dont_wait ? abi::IORING_ACCEPT_DONTWAIT : 0) |
                                    (options.poll_first ? abi::IORING_ACCEPT_POLL_FIRST : 0));
}

}  // namespace prep_net_detail

// ---- Creating, naming and connecting sockets ------------------------------

// IORING_OP_SOCKET (5.19): socket(domain, type, protocol); result = the new fd.
// `type` may carry SOCK_NONBLOCK / SOCK_CLOEXEC.
inline Prepared& prep_socket(Sqe& sqe, int domain, int type, int protocol) {
  sqe.clear();
  sqe.opcode = abi::IORING_OP_SOCKET;
  sqe.fd = domain;
  sqe.off = static_cast<std::uint32_t>(type);
  sqe.len = static_cast<std::uint32_t>(protocol);
  return sqe;
}

// IORING_OP_SOCKET into a direct descriptor (5.19): result = 0 for a given
// slot, the chosen slot for DirectSlot::any(). SOCK_CLOEXEC is meaningless
// for a direct descriptor and makes the kernel fail the request (-EINVAL).
inline Prepared& prep_socket_direct(Sqe& sqe, int domain, int type, int protocol, DirectSlot slot) {
  prep_socket(sqe, domain, type, protocol);
  return sqe.set_direct_slot(slot);
}

// IORING_OP_BIND (6.11): bind(file, addr, addrlen); result = 0.
inline Prepared& prep_bind(Sqe& sqe, File file, const sockaddr* addr, socklen_t addrlen) {
  prep_net_detail::start_net(sqe, abi::IORING_OP_BIND, file);
  sqe.addr = prep_net_detail::address_of(addr);
  sqe.addr2 = addrlen;
  return sqe;
}

// IORING_OP_LISTEN (6.11): listen(file, backlog); result = 0.
inline Prepared& prep_listen(Sqe& sqe, File file, int backlog) {
  prep_net_detail::start_net(sqe, abi::IORING_OP_LISTEN, file);
  sqe.len = static_cast<std::uint32_t>(backlog);
  return sqe;
}

// IORING_OP_CONNECT (5.5): connect(file, addr, addrlen); result = 0.
inline Prepared& prep_connect(Sqe& sqe, File file, const sockaddr* addr, socklen_t addrlen) {
  prep_net_detail::start_net(sqe, abi::IORING_OP_CONNECT, file);
  sqe.addr = prep_net_detail::address_of(addr);
  sqe.off = addrlen;  // by value, unlike accept's
  return sqe;
}

// ---- Accepting ------------------------------------------------------------
// `addr`/`addrlen` may both be null; otherwise *addrlen is the room in addr on
// entry and the peer address length after. `flags`: SOCK_NONBLOCK, SOCK_CLOEXEC.
// `options`: AcceptOptions (dont_wait, poll_first).

// IORING_OP_ACCEPT (5.5): accept4(); result = the new fd.
inline Prepared& prep_accept(Sqe& sqe, File file, sockaddr* addr, socklen_t* addrlen, int flags,
                             AcceptOptions options = {}) {
  prep_net_detail::start_net(sqe, abi::IORING_OP_ACCEPT, file);
  sqe.addr = prep_net_detail::address_of(addr);
  sqe.addr2 = prep_net_detail::address_of(addrlen);
  sqe.accept_flags = static_cast<std::uint32_t>(flags);
  sqe.ioprio = prep_net_detail::ioprio_of(options);
  return sqe;
}

// IORING_OP_ACCEPT into a direct descriptor (5.15): result = 0 for a given
// slot, the chosen slot for DirectSlot::any(). No SOCK_CLOEXEC (-EINVAL).
inline Prepared& prep_accept_direct(Sqe& sqe, File file, sockaddr* addr, socklen_t* addrlen, int flags,
                                    DirectSlot slot, AcceptOptions options = {}) {
  prep_accept(sqe, file, addr, addrlen, flags, options);
  return sqe.set_direct_slot(slot);
}

// IORING_OP_ACCEPT with IORING_ACCEPT_MULTISHOT (5.19): one CQE per accepted
// connection, result = its fd, Cqe::more() while the request stays armed.
// addr/addrlen are overwritten by every accept: usually pass null.
inline Prepared& prep_accept_multishot(Sqe& sqe, File file, sockaddr* addr, socklen_t* addrlen, int flags,
                                       AcceptOptions options = {}) {
  prep_accept(sqe, file, addr, addrlen, flags, options);
  sqe.ioprio |= abi::IORING_ACCEPT_MULTISHOT;
  return sqe;
}

// Multishot accept into direct descriptors (5.19): each result is the slot the
// kernel chose. Only IORING_FILE_INDEX_ALLOC is allowed here, so no slot argument.
inline Prepared& prep_accept_multishot_direct(Sqe& sqe, File file, sockaddr* addr, socklen_t* addrlen,
                                              int flags, AcceptOptions options = {}) {
  prep_accept_multishot(sqe, file, addr, addrlen, flags, options);
  return sqe.set_direct_slot(DirectSlot::any());
}

// ---- Sending and receiving ------------------------------------------------
// `flags` are MSG_* flags (MSG_NOSIGNAL is always added by the kernel).
// Lengths are a SocketLength (uring/sqe.h): 0..INT_MAX, a constant checked at
// compile time, a run-time size through SocketLength::checked(n) or
// SocketLength::at_most(n) -- never narrowed behind your back.
// `options`: NetOptions (poll_first).

// IORING_OP_SEND (5.6): send(); result = bytes sent.
inline Prepared& prep_send(Sqe& sqe, File file, const void* buf, SocketLength len, int flags,
                           NetOptions options = {}) {
  prep_net_detail::start_net(sqe, abi::IORING_OP_SEND, file);
  sqe.addr = prep_net_detail::address_of(buf);
  sqe.len = len.value();
  sqe.msg_flags = static_cast<std::uint32_t>(flags);
  sqe.ioprio = prep_net_detail::ioprio_of(options);
  return sqe;
}

// IORING_OP_SEND with a destination (6.1): sendto(); result = bytes sent.
inline Prepared& prep_sendto(Sqe& sqe, File file, const void* buf, SocketLength len, int flags,
                             const sockaddr* dest, socklen_t destlen, NetOptions options = {}) {
  prep_send(sqe, file, buf, len, flags, options);
  sqe.addr2 = prep_net_detail::address_of(dest);
  sqe.addr_len = prep_net_detail::address_length(destlen);
  return sqe;
}

// IORING_OP_SEND from a provided buffer of `group` (6.10): the kernel takes
// the group's next buffer and sends it; result = bytes sent, and
// Cqe::buffer_id() names the buffer (it is the sender's again: provide it
// anew to reuse it). -ENOBUFS when the group is empty. From a buffer ring
// `len` caps the bytes sent (0: the whole buffer); from a legacy group
// (PROVIDE_BUFFERS) Linux 6.18 sends the whole buffer whatever `len` says.
inline Prepared& prep_send_buffer_select(Sqe& sqe, File file, SocketLength len, int flags,
                                         std::uint16_t group, NetOptions options = {}) {
  prep_send(sqe, file, nullptr, len, flags, options);
  return sqe.buffer_select(group);
}

// IORING_OP_SEND with IORING_RECVSEND_BUNDLE (6.10, IORING_FEAT_RECVSEND_BUNDLE):
// sends the buffers of `group` in ring order as one stream (MSG_WAITALL is
// implied) until the group is empty or the socket needs a poll. One CQE per
// round of buffers the kernel took at once, all but the last with
// Cqe::more(); a CQE's result is the bytes of its round and its buffer id
// the round's first buffer (the others follow it in ring order). `len` caps
// the first round (0: no cap). From a legacy group every round is one buffer.
inline Prepared& prep_send_bundle(Sqe& sqe, File file, SocketLength len, int flags, std::uint16_t group,
                                  NetOptions options = {}) {
  prep_send_buffer_select(sqe, file, len, flags, group, options);
  sqe.ioprio |= abi::IORING_RECVSEND_BUNDLE;
  return sqe;
}

// IORING_OP_RECV (5.6): recv(); result = bytes received, 0 at end of stream.
inline Prepared& prep_recv(Sqe& sqe, File file, void* buf, SocketLength len, int flags,
                           NetOptions options = {}) {
  prep_net_detail::start_net(sqe, abi::IORING_OP_RECV, file);
  sqe.addr = prep_net_detail::address_of(buf);
  sqe.len = len.value();
  sqe.msg_flags = static_cast<std::uint32_t>(flags);
  sqe.ioprio = prep_net_detail::ioprio_of(options);
  return sqe;
}

// IORING_OP_RECV into a provided buffer of `group` (5.7): result = bytes,
// Cqe::buffer_id() names the buffer. `len` caps the bytes taken (0: the
// buffer's size). No buffer pointer: the kernel picks one.
inline Prepared& prep_recv_buffer_select(Sqe& sqe, File file, SocketLength len, int flags,
                                         std::uint16_t group, NetOptions options = {}) {
  prep_net_detail::start_net(sqe, abi::IORING_OP_RECV, file);
  sqe.len = len.value();
  sqe.msg_flags = static_cast<std::uint32_t>(flags);
  sqe.ioprio = prep_net_detail::ioprio_of(options);
  return sqe.buffer_select(group);
}

// IORING_OP_RECV with IORING_RECV_MULTISHOT (6.0): one CQE per receive, each
// in a buffer of `group` (Cqe::buffer_id()), Cqe::more() while armed; a
// result of 0 (end of stream) or an error ends it. No MSG_WAITALL.
inline Prepared& prep_recv_multishot(Sqe& sqe, File file, int flags, std::uint16_t group,
                                     NetOptions options = {}) {
  prep_recv_buffer_select(sqe, file, 0, flags, group, options);
  sqe.ioprio |= abi::IORING_RECV_MULTISHOT;
  return sqe;
}

// How much one multishot receive may take (Linux 6.17).
struct MultishotLimits {
  // At most this many bytes in one CQE (0: a whole buffer). It also caps
  // how much one busy socket takes before the kernel moves on to others.
  SocketLength per_cqe = 0;
  // Once this many bytes (0: no limit) have arrived, the request ends with a
  // CQE without more(): re-arm it for the next portion. The CQE that reaches
  // the total is not cut to it (Linux 6.18 checks the total after each
  // receive), so the request may take up to per_cqe (or a buffer) more.
  SocketLength total = 0;
};

// IORING_OP_RECV with IORING_RECV_MULTISHOT and limits (6.17): as
// prep_recv_multishot, with sqe->len = per_cqe and sqe->optlen = total.
inline Prepared& prep_recv_multishot_limited(Sqe& sqe, File file, int flags, std::uint16_t group,
                                             MultishotLimits limits, NetOptions options = {}) {
  prep_recv_multishot(sqe, file, flags, group, options);
  sqe.len = limits.per_cqe.value();
  sqe.optlen = limits.total.value();
  return sqe;
}

// IORING_OP_SENDMSG (5.3): sendmsg(); result = bytes sent.
inline Prepared& prep_sendmsg(Sqe& sqe, File file, const msghdr* msg, int flags, NetOptions options = {}) {
  prep_net_detail::start_net(sqe, abi::IORING_OP_SENDMSG, file);
  sqe.addr = prep_net_detail::address_of(msg);
  sqe.msg_flags = static_cast<std::uint32_t>(flags);
  sqe.ioprio = prep_net_detail::ioprio_of(options);
  return sqe;
}

// IORING_OP_RECVMSG (5.3): recvmsg(); result = bytes received; the kernel
// updates msg->msg_namelen, msg_controllen and msg_flags as recvmsg(2) does.
inline Prepared& prep_recvmsg(Sqe& sqe, File file, msghdr* msg, int flags, NetOptions options = {}) {
  prep_net_detail::start_net(sqe, abi::IORING_OP_RECVMSG, file);
  sqe.addr = prep_net_detail::address_of(msg);
  sqe.msg_flags = static_cast<std::uint32_t>(flags);
  sqe.ioprio = prep_net_detail::ioprio_of(options);
  return sqe;
}

// IORING_OP_RECVMSG with IORING_RECV_MULTISHOT (6.0): one CQE per message,
// each in a buffer of `group` laid out as io_uring_recvmsg_out, name, control,
// payload (parse it with uring/recvmsg_out.h); result = bytes used in the
// buffer. `msg` only sets the layout: msg_namelen and msg_controllen bytes
// are reserved for name and control in every buffer. msg_iovlen is 0, or 1:
// then that iovec's iov_len (its iov_base is not used) caps how much of the
// buffer the first message may use, header included; the kernel drops the
// cap after the first CQE (6.18), and 2 or more iovecs are -EINVAL.
inline Prepared& prep_recvmsg_multishot(Sqe& sqe, File file, msghdr* msg, int flags, std::uint16_t group,
                                        NetOptions options = {}) {
  prep_recvmsg(sqe, file, msg, flags, options);
  sqe.ioprio |= abi::IORING_RECV_MULTISHOT;
  return sqe.buffer_select(group);
}

// ---- Zero-copy sends --------------------------------------------------------
// Two CQEs with the same user_data: the send result (Cqe::more() set), then a
// notification (Cqe::notif(), result 0) once the kernel no longer reads the
// buffer — reuse or free the buffer only after it. A failed send may post
// just one CQE without more(). `zc_flags`: IORING_SEND_ZC_REPORT_USAGE (the
// notification's result then has IORING_NOTIF_USAGE_ZC_COPIED when the data
// was copied after all), IORING_RECVSEND_POLL_FIRST. IOSQE_CQE_SKIP_SUCCESS
// is refused (-EINVAL).

// IORING_OP_SEND_ZC (6.0): result = bytes sent.
inline Prepared& prep_send_zc(Sqe& sqe, File file, const void* buf, SocketLength len, int flags,
                              std::uint16_t zc_flags = 0) {
  prep_net_detail::start_net(sqe, abi::IORING_OP_SEND_ZC, file);
  sqe.addr = prep_net_detail::address_of(buf);
  sqe.len = len.value();
  sqe.msg_flags = static_cast<std::uint32_t>(flags);
  sqe.ioprio = zc_flags;
  return sqe;
}

// IORING_OP_SEND_ZC from a registered buffer (6.0): `buf` must lie inside
// registered buffer `buffer` (else the CQE says -EFAULT); result = bytes sent.
inline Prepared& prep_send_zc_fixed(Sqe& sqe, File file, const void* buf, SocketLength len, int flags,
                                    FixedBuffer buffer, std::uint16_t zc_flags = 0) {
  prep_send_zc(sqe, file, buf, len, flags,
               static_cast<std::uint16_t>(zc_flags | abi::IORING_RECVSEND_FIXED_BUF));
  sqe.buf_index = static_cast<std::uint16_t>(buffer.index);
  return sqe;
}

// IORING_OP_SEND_ZC with a destination (6.0): sendto(); result = bytes sent.
inline Prepared& prep_sendto_zc(Sqe& sqe, File file, const void* buf, SocketLength len, int flags,
                                const sockaddr* dest, socklen_t destlen, std::uint16_t zc_flags = 0) {
  prep_send_zc(sqe, file, buf, len, flags, zc_flags);
  sqe.addr2 = prep_net_detail::address_of(dest);
  sqe.addr_len = prep_net_detail::address_length(destlen);
  return sqe;
}

// IORING_OP_SENDMSG_ZC (6.1): sendmsg() without copying; result = bytes sent.
inline Prepared& prep_sendmsg_zc(Sqe& sqe, File file, const msghdr* msg, int flags,
                                 std::uint16_t zc_flags = 0) {
  prep_net_detail::start_net(sqe, abi::IORING_OP_SENDMSG_ZC, file);
  sqe.addr = prep_net_detail::address_of(msg);
  sqe.msg_flags = static_cast<std::uint32_t>(flags);
  sqe.ioprio = zc_flags;
  return sqe;
}

// IORING_OP_SENDMSG_ZC from a registered buffer (6.15): every iovec of `msg`
// must lie inside registered buffer `buffer` (else the CQE says -EFAULT);
// result = bytes sent.
inline Prepared& prep_sendmsg_zc_fixed(Sqe& sqe, File file, const msghdr* msg, int flags, FixedBuffer buffer,
                                       std::uint16_t zc_flags = 0) {
  prep_sendmsg_zc(sqe, file, msg, flags,
                  static_cast<std::uint16_t>(zc_flags | abi::IORING_RECVSEND_FIXED_BUF));
  sqe.buf_index = static_cast<std::uint16_t>(buffer.index);
  return sqe;
}

// ---- Shutdown and socket commands ------------------------------------------

// IORING_OP_SHUTDOWN (5.11): shutdown(file, how); result = 0.
inline Prepared& prep_shutdown(Sqe& sqe, File file, int how) {
  prep_net_detail::start_net(sqe, abi::IORING_OP_SHUTDOWN, file);
  sqe.len = static_cast<std::uint32_t>(how);
  return sqe;
}

// IORING_OP_URING_CMD, SOCKET_URING_OP_SIOCINQ (6.6): result = bytes queued
// for reading (as ioctl SIOCINQ: TCP bytes, or the next UDP datagram's size).
inline Prepared& prep_uring_cmd_siocinq(Sqe& sqe, File file) {
  prep_net_detail::start_net(sqe, abi::IORING_OP_URING_CMD, file);
  sqe.cmd_op = abi::SOCKET_URING_OP_SIOCINQ;
  return sqe;
}

// IORING_OP_URING_CMD, SOCKET_URING_OP_SIOCOUTQ (6.6): result = bytes in the
// send queue not yet acknowledged/sent (as ioctl SIOCOUTQ).
inline Prepared& prep_uring_cmd_siocoutq(Sqe& sqe, File file) {
  prep_net_detail::start_net(sqe, abi::IORING_OP_URING_CMD, file);
  sqe.cmd_op = abi::SOCKET_URING_OP_SIOCOUTQ;
  return sqe;
}

// IORING_OP_URING_CMD, SOCKET_URING_OP_GETSOCKOPT (6.7): getsockopt() into
// optval (room: optlen bytes); result = the option's length. The kernel
// supports level SOL_SOCKET only (other levels: -EOPNOTSUPP).
inline Prepared& prep_uring_cmd_getsockopt(Sqe& sqe, File file, int level, int optname, void* optval,
                                           socklen_t optlen) {
  prep_net_detail::start_net(sqe, abi::IORING_OP_URING_CMD, file);
  sqe.cmd_op = abi::SOCKET_URING_OP_GETSOCKOPT;
  sqe.level = static_cast<std::uint32_t>(level);
  sqe.optname = static_cast<std::uint32_t>(optname);
  sqe.optval = prep_net_detail::address_of(optval);
  sqe.optlen = optlen;
  return sqe;
}

// IORING_OP_URING_CMD, SOCKET_URING_OP_SETSOCKOPT (6.7): setsockopt(); result = 0.
inline Prepared& prep_uring_cmd_setsockopt(Sqe& sqe, File file, int level, int optname, const void* optval,
                                           socklen_t optlen) {
  prep_net_detail::start_net(sqe, abi::IORING_OP_URING_CMD, file);
  sqe.cmd_op = abi::SOCKET_URING_OP_SETSOCKOPT;
  sqe.level = static_cast<std::uint32_t>(level);
  sqe.optname = static_cast<std::uint32_t>(optname);
  sqe.optval = prep_net_detail::address_of(optval);
  sqe.optlen = optlen;
  return sqe;
}

// IORING_OP_URING_CMD, SOCKET_URING_OP_TX_TIMESTAMP (6.17): the socket's
// transmit timestamps (SO_TIMESTAMPING with SOF_TIMESTAMPING_OPT_TSONLY; the
// kernel skips stamps that carry payload), one CQE each, instead of reading
// the error queue. Multishot: every CQE with Cqe::more() carries one stamp
// (read it with tx_timestamp()); the request runs until cancelled or failed.
// Needs a CQE32 ring (or CQE_MIXED): -EINVAL otherwise.
inline Prepared& prep_uring_cmd_tx_timestamp(Sqe& sqe, File file) {
  prep_net_detail::start_net(sqe, abi::IORING_OP_URING_CMD, file);
  sqe.cmd_op = abi::SOCKET_URING_OP_TX_TIMESTAMP;
  return sqe;
}

// One transmit timestamp, from a CQE of prep_uring_cmd_tx_timestamp.
struct TxTimestamp {
  std::uint32_t key;   // ee_data: with SOF_TIMESTAMPING_OPT_ID, which send (counted from 0)
  std::uint32_t type;  // ee_info: SCM_TSTAMP_SND, SCM_TSTAMP_SCHED, SCM_TSTAMP_ACK, ...
  bool hardware;       // IORING_CQE_F_TSTAMP_HW: taken by the NIC
  abi::io_timespec time;
};

// The timestamp a CQE of prep_uring_cmd_tx_timestamp carries; std::nullopt
// for the CQE that ends the request (no more(): cancelled or failed). The
// stamp is in the CQE's second half: read it in place (for_each_cqe,
// peek_cqe), never from a copied Cqe, which holds only the first 16 bytes.
inline std::optional<TxTimestamp> tx_timestamp(const Cqe& cqe) {
  if (!cqe.more()) return std::nullopt;
  return TxTimestamp{static_cast<std::uint32_t>(cqe.result()), cqe.flags >> abi::IORING_TIMESTAMP_TYPE_SHIFT,
                     (cqe.flags & abi::IORING_CQE_F_TSTAMP_HW) != 0,
                     abi::io_timespec{cqe.extra(0), cqe.extra(1)}};
}

// ---- Zero-copy receive -------------------------------------------------------
// Needs a zero-copy RX interface queue registered on the ring
// (IORING_REGISTER_ZCRX_IFQ, which needs a NIC with header/data split and a
// dedicated RX queue) and a CQE32 ring; `zcrx_id` is io_uring_zcrx_ifq_reg::zcrx_id.
// Without one the kernel fails the request with -EINVAL. Data CQEs carry
// an io_uring_zcrx_cqe in their second half (Cqe::extra(0) = its offset).
// Linux 6.15..6.18 accept RECV_ZC only as a multishot request
// (io_recvzc_prep: "multishot required"), so both builders set
// IORING_RECV_MULTISHOT.

// IORING_OP_RECV_ZC (6.15), multishot: data CQEs with more() until it ends.
inline Prepared& prep_recv_zc_multishot(Sqe& sqe, File file, std::uint32_t zcrx_id, NetOptions options = {}) {
  prep_net_detail::start_net(sqe, abi::IORING_OP_RECV_ZC, file);
  sqe.zcrx_ifq_idx = zcrx_id;
  sqe.ioprio = static_cast<std::uint16_t>(abi::IORING_RECV_MULTISHOT | prep_net_detail::ioprio_of(options));
  return sqe;
}

// IORING_OP_RECV_ZC (6.15), multishot until `len` bytes arrived (0: no
// limit): data CQEs with more(), then a final CQE with result 0 (or -errno).
inline Prepared& prep_recv_zc(Sqe& sqe, File file, std::uint32_t zcrx_id, IoLength len,
                              NetOptions options = {}) {
  prep_recv_zc_multishot(sqe, file, zcrx_id, options);
  sqe.len = len.value();
  return sqe;
}

// True for each opcode this header has a builder for.
inline constexpr bool has_net_builder(unsigned opcode) {
  switch (opcode) {
    case abi::IORING_OP_SOCKET:
    case abi::IORING_OP_BIND:
    case abi::IORING_OP_LISTEN:
    case abi::IORING_OP_ACCEPT:
    case abi::IORING_OP_CONNECT:
    case abi::IORING_OP_SEND:
    case abi::IORING_OP_RECV:
    case abi::IORING_OP_SENDMSG:
    case abi::IORING_OP_RECVMSG:
    case abi::IORING_OP_SEND_ZC:
    case abi::IORING_OP_SENDMSG_ZC:
    case abi::IORING_OP_SHUTDOWN:
    case abi::IORING_OP_URING_CMD:
    case abi::IORING_OP_RECV_ZC:
      return true;
    default:
      return false;
  }
}

}  // namespace uring
