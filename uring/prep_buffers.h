// Builders for provided buffers: the legacy PROVIDE/REMOVE_BUFFERS opcodes,
// and the bundle receive that consumes several buffers of a group in one
// completion. uring/buffer_group.h manages whole groups on top of these.
//
//   uring::prep_provide_buffers(*sqe, memory, 4096, 16, /*group=*/7, /*first_id=*/0);
//   uring::prep_recv_bundle(*sqe, socket_fd, 0, 0, /*group=*/7).set_user_data(tag);
#pragma once

#include <cstdint>

#include "syscalls/abi.h"
#include "uring/sqe.h"

namespace uring {

// IORING_OP_PROVIDE_BUFFERS (5.7): hands `count` buffers of `len` bytes each,
// laid out back to back from `addr`, to group `group` with ids first_id,
// first_id+1, ... The CQE result is 0 on success (-EINVAL when `group` is a
// buffer ring, -E2BIG/-EINVAL when the id range passes 65535).
inline Prepared& prep_provide_buffers(Sqe& sqe, void* addr, IoLength len, unsigned count,
                                      std::uint16_t group, std::uint16_t first_id) {
  sqe.clear();
  sqe.opcode = abi::IORING_OP_PROVIDE_BUFFERS;
  sqe.fd = static_cast<std::int32_t>(count);
  sqe.addr = reinterpret_cast<std::uintptr_t>(addr);
  sqe.len = len.value();
  sqe.off = first_id;
  sqe.buf_group = group;
  return sqe;
}

// IORING_OP_REMOVE_BUFFERS (5.7): takes up to `count` unused buffers out of
// legacy group `group`. The CQE result is how many were removed (-ENOENT for
// a group that does not exist, -EINVAL for a buffer ring).
inline Prepared& prep_remove_buffers(Sqe& sqe, unsigned count, std::uint16_t group) {
  sqe.clear();
  sqe.opcode = abi::IORING_OP_REMOVE_BUFFERS;
  sqe.fd = static_cast<std::int32_t>(count);
  sqe.buf_group = group;
  return sqe;
}

// IORING_OP_RECV with IORING_RECVSEND_BUNDLE (6.10, IORING_FEAT_RECVSEND_BUNDLE):
// one receive that may fill several buffers of ring group `group`, taken in
// ring order. `max_bytes` caps the total (0: as much as the buffers hold; a
// SocketLength, so a size the kernel's int cannot hold does not compile);
// `flags` are recv(2) flags. The CQE result is the bytes received; its buffer
// id is the first buffer used. The CQE does not say it is a bundle's: take it
// with BufferGroup::take(cqe, Bundle::yes), which works out the rest.
// `group` must be a buffer ring: on legacy provided buffers the kernel fills
// one more buffer than the CQE names (take() says bundle_needs_ring).
inline Prepared& prep_recv_bundle(Sqe& sqe, File file, SocketLength max_bytes, int flags,
                                  std::uint16_t group) {
  sqe.clear();
  sqe.opcode = abi::IORING_OP_RECV;
  sqe.set_file(file);
  sqe.len = max_bytes.value();
  sqe.msg_flags = static_cast<std::uint32_t>(flags);
  sqe.ioprio = abi::IORING_RECVSEND_BUNDLE;
  return sqe.buffer_select(group);
}

// IORING_OP_RECV with IORING_RECV_MULTISHOT | IORING_RECVSEND_BUNDLE (6.10):
// the bundle receive above, re-armed by the kernel after every completion;
// each CQE carries IORING_CQE_F_MORE while more will follow. A CQE without
// it ends the request: -ENOBUFS, or a data CQE when it took the last
// buffers of the ring (BufferGroup::on_multishot_end(cqe, Bundle::yes)).
inline Prepared& prep_recv_bundle_multishot(Sqe& sqe, File file, int flags, std::uint16_t group) {
  sqe.clear();
  sqe.opcode = abi::IORING_OP_RECV;
  sqe.set_file(file);
  sqe.msg_flags = static_cast<std::uint32_t>(flags);
  sqe.ioprio = abi::IORING_RECV_MULTISHOT | abi::IORING_RECVSEND_BUNDLE;
  return sqe.buffer_select(group);
}

// True for each opcode built here (IORING_OP_RECV belongs to the network
// builders; the bundle forms above are extra forms of it).
inline constexpr bool has_buffer_builder(unsigned opcode) {
  switch (opcode) {
    case abi::IORING_OP_PROVIDE_BUFFERS:
    case abi::IORING_OP_REMOVE_BUFFERS:
      return true;
    default:
      return false;
  }
}

}  // namespace uring
