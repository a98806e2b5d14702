// Opcode builders: one per kernel opcode, named after it. Each zeroes the
// SQE, then sets exactly the fields the kernel reads for that opcode; it
// returns it as a Prepared& (uring/sqe.h), so only the per-request setters
// can follow:
//
//   uring::prep_nop(*sqe).set_user_data(42).link();
//
// NOP lives here; the other families have a header each, all included below:
//   prep_file.h     reads/writes, sync, open/close, statx, dirs, xattrs, splice, pipe
//   prep_net.h      sockets: socket/bind/listen/accept/connect, send/recv(msg), zero copy
//   prep_event.h    poll, epoll, timeouts, cancel, msg_ring, futex, waitid, NOP flags
//   prep_buffers.h  provide/remove buffers, bundle receives
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include "syscalls/abi.h"
#include "uring/prep_buffers.h"
#include "uring/prep_event.h"
#include "uring/prep_file.h"
#include "uring/prep_net.h"
#include "uring/sqe.h"

namespace uring {

// IORING_OP_NOP (5.1): completes with result 0 and does nothing else. A NOP
// reads a file or a registered buffer only when asked to (prep_nop_with).
inline Prepared& prep_nop(Sqe& sqe) {
  sqe.clear();
  sqe.opcode = abi::IORING_OP_NOP;
  return sqe;
}

// IORING_OP_NOP with IORING_NOP_INJECT_RESULT (6.10): completes with `result`
// (use a negative errno to simulate a failure, e.g. to test link chains).
inline Prepared& prep_nop_inject_result(Sqe& sqe, std::int32_t result) {
  prep_nop(sqe);
  sqe.nop_flags = abi::IORING_NOP_INJECT_RESULT;
  sqe.len = static_cast<std::uint32_t>(result);
  return sqe;
}

// IORING_OP_NOP with IORING_NOP_CQE32 (6.18): a 32-byte CQE whose two extra
// words are `extra1` and `extra2` (Cqe::extra(0), extra(1)). Needs a ring set
// up with CQE32 (or CQE_MIXED); otherwise the kernel fails it with -EINVAL.
inline Prepared& prep_nop_cqe32(Sqe& sqe, std::uint64_t extra1, std::uint64_t extra2) {
  prep_nop(sqe);
  sqe.nop_flags = abi::IORING_NOP_CQE32;
  sqe.off = extra1;
  sqe.addr = extra2;
  return sqe;
}

// ---- URING_CMD in a 64-byte SQE ------------------------------------------------

// The bytes of command data a 64-byte SQE carries (io_uring_sqe::cmd, where
// addr3 and the pad after it are).
inline constexpr std::size_t kUringCmdBytes = 16;

// The command data of an URING_CMD SQE: kUringCmdBytes here, and on an SQE128
// ring the 64 bytes after them as well (kUringCmd128Bytes in all).
inline std::span<std::uint8_t, kUringCmdBytes> uring_cmd_data(abi::io_uring_sqe& sqe) {
  return std::span<std::uint8_t, kUringCmdBytes>(sqe.cmd, kUringCmdBytes);
}

// IORING_OP_URING_CMD (5.19): driver command `cmd_op` on `file` (a socket, a
// block device, an NVMe char device, ...). Every other field is zero and
// means what the driver says: set the ones it reads, and its command data
// through uring_cmd_data(), after this call. Result: the command's. The
// socket commands have builders in prep_net.h, the block commands in
// prep_file.h.
inline Prepared& prep_uring_cmd(Sqe& sqe, File file, std::uint32_t cmd_op) {
  sqe.clear();
  sqe.opcode = abi::IORING_OP_URING_CMD;
  sqe.set_file(file);
  sqe.cmd_op = cmd_op;
  return sqe;
}

// ---- 128-byte SQEs (Linux 6.19) ----------------------------------------------
// Both need an SQE128 ring (RingOptions::sqe128): there every slot get_sqe()
// hands out is 128 bytes, and these builders clear all of it. On a ring with
// 64-byte SQEs they would write into the next slot: don't.

// The bytes of command data a 128-byte SQE carries (io_uring_sqe::cmd).
inline constexpr std::size_t kUringCmd128Bytes = 80;

// IORING_OP_NOP128 (6.19): a NOP in a 128-byte SQE; result 0.
inline Prepared& prep_nop128(Sqe& sqe) {
  std::memset(static_cast<abi::io_uring_sqe*>(&sqe), 0, 2 * sizeof(abi::io_uring_sqe));
  sqe.opcode = abi::IORING_OP_NOP128;
  return sqe;
}

// IORING_OP_URING_CMD128 (6.19): driver command `cmd_op` on `file` (a socket,
// an NVMe char device, ...), with up to kUringCmd128Bytes of command data:
// write them to sqe.cmd after this call. Result: the command's.
inline Prepared& prep_uring_cmd128(Sqe& sqe, File file, std::uint32_t cmd_op) {
  std::memset(static_cast<abi::io_uring_sqe*>(&sqe), 0, 2 * sizeof(abi::io_uring_sqe));
  sqe.opcode = abi::IORING_OP_URING_CMD128;
  sqe.set_file(file);
  sqe.cmd_op = cmd_op;
  return sqe;
}

}  // namespace uring

namespace uring {

// True for each opcode this library has a builder for (tools/probe shows it).
inline constexpr bool has_builder(unsigned opcode) {
  return opcode == abi::IORING_OP_NOP || opcode == abi::IORING_OP_NOP128 ||
         opcode == abi::IORING_OP_URING_CMD128 || has_file_builder(opcode) || has_net_builder(opcode) ||
         has_event_builder(opcode) || has_buffer_builder(opcode);
}

}  // namespace uring
