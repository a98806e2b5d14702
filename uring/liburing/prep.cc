// The io_uring_prep_* functions of the liburing-compatible C API
// (uring/liburing/liburing/prep.h): each converts its C arguments and calls
// uring's C++ builder for the opcode on the same 64 bytes. The few fields
// no builder writes -- liburing's generic io_uring_prep_rw, flag words a
// builder does not offer, values passed on for the kernel to refuse -- are
// written in one place, namespace `raw` below, and nowhere else.

// uring's C++ headers come first: syscalls/abi.h refuses to be included
// after the C header's macros exist.
#include <cstddef>
#include <cstdint>
#include <optional>

#include <fcntl.h>

#include "uring/prep.h"
#include "uring/sqe.h"

namespace {

namespace abi = uring::abi;

// The constants this file needs, taken from syscalls/abi.h while its names
// are still spelled freely (after the C header they are macros).
namespace k {
constexpr std::uint32_t kFileIndexAlloc = abi::IORING_FILE_INDEX_ALLOC;
constexpr std::uint8_t kBufferSelect = abi::IOSQE_BUFFER_SELECT;
constexpr std::uint32_t kPollUpdateEvents = abi::IORING_POLL_UPDATE_EVENTS;
constexpr std::uint32_t kPollUpdateUserData = abi::IORING_POLL_UPDATE_USER_DATA;
constexpr std::uint32_t kMsgRingCqeSkip = abi::IORING_MSG_RING_CQE_SKIP;
constexpr std::uint32_t kMsgRingFlagsPass = abi::IORING_MSG_RING_FLAGS_PASS;
constexpr std::uint32_t kSockCmdSiocinq = abi::SOCKET_URING_OP_SIOCINQ;
constexpr std::uint32_t kSockCmdSiocoutq = abi::SOCKET_URING_OP_SIOCOUTQ;
constexpr std::uint32_t kSockCmdGetsockopt = abi::SOCKET_URING_OP_GETSOCKOPT;
constexpr std::uint32_t kSockCmdSetsockopt = abi::SOCKET_URING_OP_SETSOCKOPT;
constexpr std::uint8_t kOpNop128 = abi::IORING_OP_NOP128;
// The IOSQE_* bits the kernel knows (bit 7 is none of them).
constexpr std::uint8_t kKnownSqeFlags = abi::IOSQE_FIXED_FILE | abi::IOSQE_IO_DRAIN | abi::IOSQE_IO_LINK |
                                        abi::IOSQE_IO_HARDLINK | abi::IOSQE_ASYNC | abi::IOSQE_BUFFER_SELECT |
                                        abi::IOSQE_CQE_SKIP_SUCCESS;
static_assert(kKnownSqeFlags == 0x7f, "a new IOSQE_ bit: io_uring_sqe_set_flags marks flags > 0xff with bit 7");
}  // namespace k

}  // namespace

#include "liburing/io_uring.h"
#include "liburing/prep.h"

// The C struct and uring's view are the same kernel layout.
static_assert(sizeof(struct io_uring_sqe) == sizeof(uring::Sqe), "io_uring_sqe and uring::Sqe differ in size");
static_assert(alignof(struct io_uring_sqe) == alignof(uring::Sqe), "io_uring_sqe and uring::Sqe differ in alignment");
static_assert(sizeof(struct io_uring_cqe) == sizeof(uring::Cqe), "io_uring_cqe and uring::Cqe differ in size");
static_assert(alignof(struct io_uring_cqe) == alignof(uring::Cqe), "io_uring_cqe and uring::Cqe differ in alignment");
#define URING_SAME_OFFSET(field)                                                  \
  static_assert(offsetof(struct io_uring_sqe, field) == offsetof(uring::abi::io_uring_sqe, field), \
                "io_uring_sqe::" #field " is not where uring::abi has it")
URING_SAME_OFFSET(opcode);
URING_SAME_OFFSET(flags);
URING_SAME_OFFSET(ioprio);
URING_SAME_OFFSET(fd);
URING_SAME_OFFSET(off);
URING_SAME_OFFSET(addr);
URING_SAME_OFFSET(len);
URING_SAME_OFFSET(rw_flags);
URING_SAME_OFFSET(user_data);
URING_SAME_OFFSET(buf_index);
URING_SAME_OFFSET(personality);
URING_SAME_OFFSET(file_index);
URING_SAME_OFFSET(addr3);
#undef URING_SAME_OFFSET
static_assert(sizeof(struct __kernel_timespec) == sizeof(uring::abi::kernel_timespec));
static_assert(sizeof(struct open_how) == sizeof(uring::abi::open_how));
static_assert(offsetof(struct io_uring_cqe, user_data) == offsetof(uring::abi::io_uring_cqe, user_data));
static_assert(offsetof(struct io_uring_cqe, res) == offsetof(uring::abi::io_uring_cqe, res));
static_assert(offsetof(struct io_uring_cqe, flags) == offsetof(uring::abi::io_uring_cqe, flags));

namespace {

using uring::DirectSlot;
using uring::File;
using uring::FixedBuffer;
using uring::FixedFile;
using uring::Sqe;
using uring::SocketLength;

Sqe& as_sqe(struct io_uring_sqe* sqe) { return *reinterpret_cast<Sqe*>(sqe); }

std::uint64_t address(const void* pointer) {
  return static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(pointer));
}

// ---- Every field write that is not a builder's -------------------------------
namespace raw {

// liburing's preps never write user_data: the caller may set it before.
void keep_user_data(Sqe& sqe, std::uint64_t user_data) { sqe.user_data = user_data; }

// io_uring_prep_rw: liburing's generic form, for any opcode (no builder
// takes an opcode as an argument).
void generic_rw(Sqe& sqe, std::uint8_t opcode, int fd, const void* addr, unsigned len, std::uint64_t offset) {
  sqe.clear();
  sqe.opcode = opcode;
  sqe.set_file(File(fd));
  sqe.addr = address(addr);
  sqe.len = len;
  sqe.off = offset;
}

// An argument the SQE cannot carry and the kernel has no error form for:
// an opcode no kernel has (io_init_req: opcode >= IORING_OP_LAST), so the
// CQE says -EINVAL.
void refuse(Sqe& sqe) { sqe.opcode = 0xff; }

// liburing's preps of opcodes without a target file write fd -1 (uring's
// builders leave 0): for ASYNC_CANCEL with IORING_ASYNC_CANCEL_FD set later
// by the caller, and a NOP given IORING_NOP_FILE, 0 would name stdin.
void no_file(Sqe& sqe) { sqe.fd = -1; }

// io_uring_prep_nop128 cannot know the ring's SQE size (liburing 2.3 has
// no get_sqe128): it writes the first 64 bytes only, as liburing does, so on
// a 64-byte-SQE ring it never touches the next slot (or, on the last slot,
// the memory after the SQE array); the kernel then refuses it (-EINVAL).
void nop128_first_half(Sqe& sqe) {
  sqe.clear();
  sqe.opcode = k::kOpNop128;
}

// A registered-buffer index no table reaches (at most 16384 buffers): the
// kernel's lookup fails and the CQE says -EFAULT.
void unreachable_buffer(Sqe& sqe) { sqe.buf_index = 0xffff; }

// A slot number past any file table, written as liburing does (slot + 1);
// the kernel refuses it (-EINVAL, -ENXIO without a table). Callers make sure
// the value is neither 0 (no slot) nor IORING_FILE_INDEX_ALLOC (any slot).
void slot_past_any_table(Sqe& sqe, std::uint32_t encoded) { sqe.file_index = encoded; }

// The C API's multishot receives (and send_bundle) leave IOSQE_BUFFER_SELECT
// and the group to the caller, who sets them after the prep; the builders
// set both themselves (with group 0 here), so the flag is taken back off.
void leave_buffer_select_to_caller(Sqe& sqe) { sqe.flags = static_cast<std::uint8_t>(sqe.flags & ~k::kBufferSelect); }

// Flag words (and other values) the builders do not offer, passed on as the
// C caller gave them: the kernel accepts or refuses them itself.
void socket_flags(Sqe& sqe, unsigned flags) { sqe.rw_flags = flags; }
void timeout_remove_flags(Sqe& sqe, unsigned flags) { sqe.timeout_flags = flags; }
void msg_ring_flags(Sqe& sqe, std::uint32_t flags) { sqe.msg_ring_flags = flags; }
void waitid_flags(Sqe& sqe, unsigned flags) { sqe.waitid_flags = flags; }
void epoll_wait_flags(Sqe& sqe, unsigned flags) { sqe.rw_flags = flags; }
void futex_flags(Sqe& sqe, unsigned flags) { sqe.futex_flags = flags; }
// FUTEX_WAIT's expected value above 32 bits (the kernel refuses it for a
// 32-bit futex, -EINVAL); the builder's parameter is 32 bits.
void futex_value(Sqe& sqe, std::uint64_t value) { sqe.addr2 = value; }
// POLL_REMOVE's len/off/poll32_events as given, when they hold more than
// the builder's PollUpdate says (the kernel refuses a mask without
// IORING_POLL_UPDATE_EVENTS, user_data without IORING_POLL_UPDATE_USER_DATA).
void poll_update_words(Sqe& sqe, unsigned flags, std::uint64_t new_user_data, std::uint32_t mask) {
  sqe.len = flags;
  sqe.off = new_user_data;
  sqe.poll32_events = mask;
}
// zc_flags with bits above sqe->ioprio's 16: all 16 set, which includes
// bits the kernel does not know (-EINVAL).
void unknown_zc_flags(Sqe& sqe) { sqe.ioprio = 0xffff; }
// MSG_RING SEND_FD's source slot, when it is no slot at all (-EBADF).
void msg_ring_source(Sqe& sqe, int source_fd) { sqe.addr3 = static_cast<std::uint64_t>(static_cast<std::int64_t>(source_fd)); }
// FIXED_FD_INSTALL of a number that is no registered-file slot (-EBADF).
void fixed_fd(Sqe& sqe, int fd) { sqe.fd = fd; }
// PROVIDE_BUFFERS' first id outside 0..65535, as liburing writes it (the
// kernel: -E2BIG).
void first_buffer_id(Sqe& sqe, int bid) { sqe.off = static_cast<std::uint64_t>(static_cast<std::int64_t>(bid)); }
// URING_CMD fields of a socket command uring has no builder for.
void socket_cmd_words(Sqe& sqe, int level, int optname, void* optval, int optlen) {
  sqe.level = static_cast<std::uint32_t>(level);
  sqe.optname = static_cast<std::uint32_t>(optname);
  sqe.optval = address(optval);
  sqe.optlen = static_cast<std::uint32_t>(optlen);
}

// io_uring_prep_send_set_addr: a destination added to a prepared send.
void send_destination(Sqe& sqe, const void* dest, std::uint16_t addr_len) {
  sqe.addr2 = address(dest);
  sqe.addr_len = addr_len;
}

// io_uring_sqe_set_flags: the whole flag byte, as the C caller says. Bits
// above the byte cannot be carried: bit 7 (no IOSQE_ flag) is set instead,
// so the kernel refuses the request (-EINVAL).
void all_flags(Sqe& sqe, unsigned flags) {
  sqe.flags = static_cast<std::uint8_t>(flags > 0xff ? (flags & 0xff) | 0x80 : flags);
}

// io_uring_sqe_set_buf_group: the group alone (the flag is set separately).
void buf_group(Sqe& sqe, std::uint16_t group) { sqe.buf_group = group; }

}  // namespace raw

// Runs `build` on the C SQE, keeping user_data as liburing 2.3 does.
template <class Build>
void prep(struct io_uring_sqe* c_sqe, Build&& build) {
  Sqe& sqe = as_sqe(c_sqe);
  const std::uint64_t user_data = sqe.user_data;
  build(sqe);
  raw::keep_user_data(sqe, user_data);
}

// The same for an opcode that takes no file: fd is -1, as liburing writes it.
template <class Build>
void prep_without_file(struct io_uring_sqe* c_sqe, Build&& build) {
  prep(c_sqe, [&](Sqe& sqe) {
    build(sqe);
    raw::no_file(sqe);
  });
}

// A C slot number as a DirectSlot: IORING_FILE_INDEX_ALLOC and, as liburing
// 2.3's *_alloc helpers write it, IORING_FILE_INDEX_ALLOC - 1 mean any slot.
std::optional<DirectSlot> direct_slot(unsigned file_index) {
  if (file_index == k::kFileIndexAlloc || file_index == k::kFileIndexAlloc - 1) return DirectSlot::any();
  return DirectSlot::checked(file_index);
}

// Builds the plain form, then makes it direct: `slot` when it is one, else
// the number the kernel will refuse (see raw::slot_past_any_table).
template <class Build>
void prep_direct(struct io_uring_sqe* c_sqe, unsigned file_index, Build&& build) {
  prep(c_sqe, [&](Sqe& sqe) {
    build(sqe);
    if (auto slot = direct_slot(file_index)) {
      sqe.set_direct_slot(*slot);
    } else {
      raw::slot_past_any_table(sqe, file_index + 1);  // file_index < ALLOC - 1: neither 0 nor ALLOC
    }
  });
}

// A registered buffer for *_FIXED ops: the builder runs with `index` when it
// is one, else with buffer 0 and then an index no table has.
template <class Build>
void prep_fixed_buffer(struct io_uring_sqe* c_sqe, long long index, Build&& build) {
  prep(c_sqe, [&](Sqe& sqe) {
    if (auto buffer = FixedBuffer::checked(index)) {
      build(sqe, *buffer);
    } else {
      build(sqe, FixedBuffer(0));
      raw::unreachable_buffer(sqe);
    }
  });
}

// A provided-buffer group, which is 16 bits in the SQE.
std::optional<std::uint16_t> buffer_group(int bgid) {
  if (bgid < 0 || bgid > 0xffff) return std::nullopt;
  return static_cast<std::uint16_t>(bgid);
}

// Sends and receives take a size_t; the kernel's limit is INT_MAX, and
// send(2)/recv(2) clamp a larger size_t the same way.
SocketLength socket_length(std::size_t len) { return SocketLength::at_most(len); }

}  // namespace

extern "C" {

// ---- user_data and flags ------------------------------------------------------

void io_uring_sqe_set_data(struct io_uring_sqe* sqe, void* data) { as_sqe(sqe).set_user_data(data); }

void io_uring_sqe_set_data64(struct io_uring_sqe* sqe, __u64 data) {
  as_sqe(sqe).set_user_data(static_cast<std::uint64_t>(data));
}

void* io_uring_cqe_get_data(const struct io_uring_cqe* cqe) {
  return reinterpret_cast<const uring::Cqe*>(cqe)->data_as_pointer<void>();
}

__u64 io_uring_cqe_get_data64(const struct io_uring_cqe* cqe) {
  return reinterpret_cast<const uring::Cqe*>(cqe)->data();
}

void io_uring_sqe_set_flags(struct io_uring_sqe* sqe, unsigned flags) { raw::all_flags(as_sqe(sqe), flags); }

void io_uring_sqe_set_buf_group(struct io_uring_sqe* sqe, int bgid) {
  if (auto group = buffer_group(bgid)) {
    raw::buf_group(as_sqe(sqe), *group);
  } else {
    raw::refuse(as_sqe(sqe));
  }
}

void __io_uring_set_target_fixed_file(struct io_uring_sqe* c_sqe, unsigned int file_index) {
  Sqe& sqe = as_sqe(c_sqe);
  if (auto slot = direct_slot(file_index)) {
    sqe.set_direct_slot(*slot);
  } else {
    raw::slot_past_any_table(sqe, file_index + 1);
  }
}

// ---- generic -----------------------------------------------------------------------

void io_uring_prep_rw(int op, struct io_uring_sqe* sqe, int fd, const void* addr, unsigned len, __u64 offset) {
  prep(sqe, [&](Sqe& s) {
    raw::generic_rw(s, static_cast<std::uint8_t>(op), fd, addr, len, offset);
    if (op < 0 || op > 0xff) raw::refuse(s);
  });
}

void io_uring_prep_nop(struct io_uring_sqe* sqe) {
  prep_without_file(sqe, [](Sqe& s) { uring::prep_nop(s); });
}

void io_uring_prep_nop128(struct io_uring_sqe* sqe) {
  prep_without_file(sqe, [](Sqe& s) { raw::nop128_first_half(s); });
}

// ---- reads and writes ------------------------------------------------------------------

void io_uring_prep_read(struct io_uring_sqe* sqe, int fd, void* buf, unsigned nbytes, __u64 offset) {
  prep(sqe, [&](Sqe& s) { uring::prep_read(s, fd, buf, nbytes, offset); });
}

void io_uring_prep_write(struct io_uring_sqe* sqe, int fd, const void* buf, unsigned nbytes, __u64 offset) {
  prep(sqe, [&](Sqe& s) { uring::prep_write(s, fd, buf, nbytes, offset); });
}

void io_uring_prep_readv(struct io_uring_sqe* sqe, int fd, const struct iovec* iovecs, unsigned nr_vecs,
                         __u64 offset) {
  prep(sqe, [&](Sqe& s) { uring::prep_readv(s, fd, iovecs, nr_vecs, offset); });
}

void io_uring_prep_readv2(struct io_uring_sqe* sqe, int fd, const struct iovec* iovecs, unsigned nr_vecs,
                          __u64 offset, int flags) {
  prep(sqe, [&](Sqe& s) { uring::prep_readv(s, fd, iovecs, nr_vecs, offset, flags); });
}

void io_uring_prep_writev(struct io_uring_sqe* sqe, int fd, const struct iovec* iovecs, unsigned nr_vecs,
                          __u64 offset) {
  prep(sqe, [&](Sqe& s) { uring::prep_writev(s, fd, iovecs, nr_vecs, offset); });
}

void io_uring_prep_writev2(struct io_uring_sqe* sqe, int fd, const struct iovec* iovecs, unsigned nr_vecs,
                           __u64 offset, int flags) {
  prep(sqe, [&](Sqe& s) { uring::prep_writev(s, fd, iovecs, nr_vecs, offset, flags); });
}

void io_uring_prep_read_fixed(struct io_uring_sqe* sqe, int fd, void* buf, unsigned nbytes, __u64 offset,
                              int buf_index) {
  prep_fixed_buffer(sqe, buf_index,
                    [&](Sqe& s, FixedBuffer b) { uring::prep_read_fixed(s, fd, buf, nbytes, offset, b); });
}

void io_uring_prep_write_fixed(struct io_uring_sqe* sqe, int fd, const void* buf, unsigned nbytes,
                               __u64 offset, int buf_index) {
  prep_fixed_buffer(sqe, buf_index,
                    [&](Sqe& s, FixedBuffer b) { uring::prep_write_fixed(s, fd, buf, nbytes, offset, b); });
}

void io_uring_prep_readv_fixed(struct io_uring_sqe* sqe, int fd, const struct iovec* iovecs, unsigned nr_vecs,
                               __u64 offset, int flags, int buf_index) {
  prep_fixed_buffer(sqe, buf_index, [&](Sqe& s, FixedBuffer b) {
    uring::prep_readv_fixed(s, fd, iovecs, nr_vecs, offset, b, flags);
  });
}

void io_uring_prep_writev_fixed(struct io_uring_sqe* sqe, int fd, const struct iovec* iovecs, unsigned nr_vecs,
                                __u64 offset, int flags, int buf_index) {
  prep_fixed_buffer(sqe, buf_index, [&](Sqe& s, FixedBuffer b) {
    uring::prep_writev_fixed(s, fd, iovecs, nr_vecs, offset, b, flags);
  });
}

void io_uring_prep_read_multishot(struct io_uring_sqe* sqe, int fd, unsigned nbytes, __u64 offset,
                                  int buf_group) {
  prep(sqe, [&](Sqe& s) {
    auto group = buffer_group(buf_group);
    uring::prep_read_multishot(s, fd, nbytes, offset, group.value_or(0));
    if (!group) raw::refuse(s);
  });
}

// ---- sync, space, advice ------------------------------------------------------------------

void io_uring_prep_fsync(struct io_uring_sqe* sqe, int fd, unsigned fsync_flags) {
  prep(sqe, [&](Sqe& s) { uring::prep_fsync(s, fd, fsync_flags); });
}

void io_uring_prep_sync_file_range(struct io_uring_sqe* sqe, int fd, unsigned len, __u64 offset, int flags) {
  prep(sqe, [&](Sqe& s) { uring::prep_sync_file_range(s, fd, offset, len, static_cast<unsigned>(flags)); });
}

void io_uring_prep_fallocate(struct io_uring_sqe* sqe, int fd, int mode, off_t offset, off_t len) {
  prep(sqe, [&](Sqe& s) {
    uring::prep_fallocate(s, fd, mode, static_cast<std::uint64_t>(offset), static_cast<std::uint64_t>(len));
  });
}

void io_uring_prep_fadvise(struct io_uring_sqe* sqe, int fd, __u64 offset, off_t len, int advice) {
  prep(sqe, [&](Sqe& s) { uring::prep_fadvise(s, fd, offset, static_cast<std::uint64_t>(len), advice); });
}

void io_uring_prep_madvise(struct io_uring_sqe* sqe, void* addr, off_t length, int advice) {
  prep_without_file(sqe, [&](Sqe& s) { uring::prep_madvise(s, addr, static_cast<std::uint64_t>(length), advice); });
}

void io_uring_prep_fadvise64(struct io_uring_sqe* sqe, int fd, __u64 offset, off_t len, int advice) {
  io_uring_prep_fadvise(sqe, fd, offset, len, advice);
}

void io_uring_prep_madvise64(struct io_uring_sqe* sqe, void* addr, off_t length, int advice) {
  io_uring_prep_madvise(sqe, addr, length, advice);
}

void io_uring_prep_ftruncate(struct io_uring_sqe* sqe, int fd, loff_t len) {
  prep(sqe, [&](Sqe& s) { uring::prep_ftruncate(s, fd, static_cast<std::uint64_t>(len)); });
}

// ---- open, close, stat ------------------------------------------------------------------------

void io_uring_prep_openat(struct io_uring_sqe* sqe, int dfd, const char* path, int flags, mode_t mode) {
  prep(sqe, [&](Sqe& s) { uring::prep_openat(s, dfd, path, flags, mode); });
}

void io_uring_prep_openat_direct(struct io_uring_sqe* sqe, int dfd, const char* path, int flags, mode_t mode,
                                 unsigned file_index) {
  prep_direct(sqe, file_index, [&](Sqe& s) { uring::prep_openat(s, dfd, path, flags, mode); });
}

void io_uring_prep_openat2(struct io_uring_sqe* sqe, int dfd, const char* path, struct open_how* how) {
  prep(sqe, [&](Sqe& s) { uring::prep_openat2(s, dfd, path, reinterpret_cast<const abi::open_how*>(how)); });
}

void io_uring_prep_openat2_direct(struct io_uring_sqe* sqe, int dfd, const char* path, struct open_how* how,
                                  unsigned file_index) {
  prep_direct(sqe, file_index,
              [&](Sqe& s) { uring::prep_openat2(s, dfd, path, reinterpret_cast<const abi::open_how*>(how)); });
}

void io_uring_prep_open(struct io_uring_sqe* sqe, const char* path, int flags, mode_t mode) {
  io_uring_prep_openat(sqe, AT_FDCWD, path, flags, mode);
}

void io_uring_prep_open_direct(struct io_uring_sqe* sqe, const char* path, int flags, mode_t mode,
                               unsigned file_index) {
  io_uring_prep_openat_direct(sqe, AT_FDCWD, path, flags, mode, file_index);
}

void io_uring_prep_close(struct io_uring_sqe* sqe, int fd) {
  prep(sqe, [&](Sqe& s) { uring::prep_close(s, fd); });
}

void io_uring_prep_close_direct(struct io_uring_sqe* sqe, unsigned file_index) {
  prep(sqe, [&](Sqe& s) {
    if (auto file = FixedFile::checked(file_index)) {
      uring::prep_close(s, *file);
    } else {
      uring::prep_close(s, FixedFile(0));
      // index + 1 as liburing writes it, except that the largest index
      // would wrap to 0 ("no slot": close fd 0): every value left is a
      // slot past any table, which the kernel refuses.
      raw::slot_past_any_table(s, file_index + 1 == 0 ? 0xffffffffU : file_index + 1);
    }
  });
}

void io_uring_prep_statx(struct io_uring_sqe* sqe, int dfd, const char* path, int flags, unsigned mask,
                         struct statx* statxbuf) {
  prep(sqe, [&](Sqe& s) { uring::prep_statx(s, dfd, path, flags, mask, statxbuf); });
}

void io_uring_prep_files_update(struct io_uring_sqe* sqe, int* fds, unsigned nr_fds, int offset) {
  prep_without_file(sqe, [&](Sqe& s) {
    if (static_cast<std::uint32_t>(offset) == k::kFileIndexAlloc) {
      uring::prep_files_update_alloc(s, fds, nr_fds);
    } else {
      uring::prep_files_update(s, fds, nr_fds, static_cast<unsigned>(offset));
    }
  });
}

void io_uring_prep_fixed_fd_install(struct io_uring_sqe* sqe, int fd, unsigned int flags) {
  prep(sqe, [&](Sqe& s) {
    if (auto file = FixedFile::checked(fd)) {
      uring::prep_fixed_fd_install(s, *file, flags);
    } else {
      uring::prep_fixed_fd_install(s, FixedFile(0), flags);
      raw::fixed_fd(s, fd);
    }
  });
}

void io_uring_prep_cmd_discard(struct io_uring_sqe* sqe, int fd, uint64_t offset, uint64_t nbytes) {
  prep(sqe, [&](Sqe& s) { uring::prep_uring_cmd_discard(s, fd, offset, nbytes); });
}

// ---- directory entries and xattrs ----------------------------------------------------------------

void io_uring_prep_unlinkat(struct io_uring_sqe* sqe, int dfd, const char* path, int flags) {
  prep(sqe, [&](Sqe& s) { uring::prep_unlinkat(s, dfd, path, flags); });
}

void io_uring_prep_unlink(struct io_uring_sqe* sqe, const char* path, int flags) {
  io_uring_prep_unlinkat(sqe, AT_FDCWD, path, flags);
}

void io_uring_prep_renameat(struct io_uring_sqe* sqe, int olddfd, const char* oldpath, int newdfd,
                            const char* newpath, unsigned int flags) {
  prep(sqe, [&](Sqe& s) { uring::prep_renameat(s, olddfd, oldpath, newdfd, newpath, flags); });
}

void io_uring_prep_rename(struct io_uring_sqe* sqe, const char* oldpath, const char* newpath) {
  io_uring_prep_renameat(sqe, AT_FDCWD, oldpath, AT_FDCWD, newpath, 0);
}

void io_uring_prep_mkdirat(struct io_uring_sqe* sqe, int dfd, const char* path, mode_t mode) {
  prep(sqe, [&](Sqe& s) { uring::prep_mkdirat(s, dfd, path, mode); });
}

void io_uring_prep_mkdir(struct io_uring_sqe* sqe, const char* path, mode_t mode) {
  io_uring_prep_mkdirat(sqe, AT_FDCWD, path, mode);
}

void io_uring_prep_symlinkat(struct io_uring_sqe* sqe, const char* target, int newdirfd, const char* linkpath) {
  prep(sqe, [&](Sqe& s) { uring::prep_symlinkat(s, target, newdirfd, linkpath); });
}

void io_uring_prep_symlink(struct io_uring_sqe* sqe, const char* target, const char* linkpath) {
  io_uring_prep_symlinkat(sqe, target, AT_FDCWD, linkpath);
}

void io_uring_prep_linkat(struct io_uring_sqe* sqe, int olddfd, const char* oldpath, int newdfd,
                          const char* newpath, int flags) {
  prep(sqe, [&](Sqe& s) { uring::prep_linkat(s, olddfd, oldpath, newdfd, newpath, flags); });
}

void io_uring_prep_link(struct io_uring_sqe* sqe, const char* oldpath, const char* newpath, int flags) {
  io_uring_prep_linkat(sqe, AT_FDCWD, oldpath, AT_FDCWD, newpath, flags);
}

void io_uring_prep_getxattr(struct io_uring_sqe* sqe, const char* name, char* value, const char* path,
                            unsigned int len) {
  prep(sqe, [&](Sqe& s) { uring::prep_getxattr(s, path, name, value, len); });
}

void io_uring_prep_setxattr(struct io_uring_sqe* sqe, const char* name, const char* value, const char* path,
                            int flags, unsigned int len) {
  prep(sqe, [&](Sqe& s) { uring::prep_setxattr(s, path, name, value, len, flags); });
}

void io_uring_prep_fgetxattr(struct io_uring_sqe* sqe, int fd, const char* name, char* value, unsigned int len) {
  prep(sqe, [&](Sqe& s) { uring::prep_fgetxattr(s, fd, name, value, len); });
}

void io_uring_prep_fsetxattr(struct io_uring_sqe* sqe, int fd, const char* name, const char* value, int flags,
                             unsigned int len) {
  prep(sqe, [&](Sqe& s) { uring::prep_fsetxattr(s, fd, name, value, len, flags); });
}

// ---- pipes ----------------------------------------------------------------------------------------------

void io_uring_prep_splice(struct io_uring_sqe* sqe, int fd_in, int64_t off_in, int fd_out, int64_t off_out,
                          unsigned int nbytes, unsigned int splice_flags) {
  prep(sqe, [&](Sqe& s) {
    uring::prep_splice(s, fd_in, static_cast<std::uint64_t>(off_in), fd_out, static_cast<std::uint64_t>(off_out),
                       nbytes, splice_flags);
  });
}

void io_uring_prep_tee(struct io_uring_sqe* sqe, int fd_in, int fd_out, unsigned int nbytes,
                       unsigned int splice_flags) {
  prep(sqe, [&](Sqe& s) { uring::prep_tee(s, fd_in, fd_out, nbytes, splice_flags); });
}


void io_uring_prep_pipe(struct io_uring_sqe* sqe, int* fds, int pipe_flags) {
  prep(sqe, [&](Sqe& s) { uring::prep_pipe(s, *reinterpret_cast<int(*)[2]>(fds), pipe_flags); });
}

void io_uring_prep_pipe_direct(struct io_uring_sqe* sqe, int* fds, int pipe_flags, unsigned int file_index) {
  prep_direct(sqe, file_index,
              [&](Sqe& s) { uring::prep_pipe(s, *reinterpret_cast<int(*)[2]>(fds), pipe_flags); });
}

// ---- sockets ----------------------------------------------------------------------------------------------

void io_uring_prep_socket(struct io_uring_sqe* sqe, int domain, int type, int protocol, unsigned int flags) {
  prep(sqe, [&](Sqe& s) {
    uring::prep_socket(s, domain, type, protocol);
    if (flags != 0) raw::socket_flags(s, flags);
  });
}

void io_uring_prep_socket_direct(struct io_uring_sqe* sqe, int domain, int type, int protocol,
                                 unsigned file_index, unsigned int flags) {
  prep_direct(sqe, file_index, [&](Sqe& s) {
    uring::prep_socket(s, domain, type, protocol);
    if (flags != 0) raw::socket_flags(s, flags);
  });
}

void io_uring_prep_socket_direct_alloc(struct io_uring_sqe* sqe, int domain, int type, int protocol,
                                       unsigned int flags) {
  io_uring_prep_socket_direct(sqe, domain, type, protocol, k::kFileIndexAlloc, flags);
}

void io_uring_prep_connect(struct io_uring_sqe* sqe, int fd, const struct sockaddr* addr, socklen_t addrlen) {
  prep(sqe, [&](Sqe& s) { uring::prep_connect(s, fd, addr, addrlen); });
}

void io_uring_prep_bind(struct io_uring_sqe* sqe, int fd, struct sockaddr* addr, socklen_t addrlen) {
  prep(sqe, [&](Sqe& s) { uring::prep_bind(s, fd, addr, addrlen); });
}

void io_uring_prep_listen(struct io_uring_sqe* sqe, int fd, int backlog) {
  prep(sqe, [&](Sqe& s) { uring::prep_listen(s, fd, backlog); });
}

void io_uring_prep_accept(struct io_uring_sqe* sqe, int fd, struct sockaddr* addr, socklen_t* addrlen,
                          int flags) {
  prep(sqe, [&](Sqe& s) { uring::prep_accept(s, fd, addr, addrlen, flags); });
}

void io_uring_prep_accept_direct(struct io_uring_sqe* sqe, int fd, struct sockaddr* addr, socklen_t* addrlen,
                                 int flags, unsigned int file_index) {
  prep_direct(sqe, file_index, [&](Sqe& s) { uring::prep_accept(s, fd, addr, addrlen, flags); });
}

void io_uring_prep_multishot_accept(struct io_uring_sqe* sqe, int fd, struct sockaddr* addr,
                                    socklen_t* addrlen, int flags) {
  prep(sqe, [&](Sqe& s) { uring::prep_accept_multishot(s, fd, addr, addrlen, flags); });
}

void io_uring_prep_multishot_accept_direct(struct io_uring_sqe* sqe, int fd, struct sockaddr* addr,
                                           socklen_t* addrlen, int flags) {
  prep(sqe, [&](Sqe& s) { uring::prep_accept_multishot_direct(s, fd, addr, addrlen, flags); });
}

void io_uring_prep_shutdown(struct io_uring_sqe* sqe, int fd, int how) {
  prep(sqe, [&](Sqe& s) { uring::prep_shutdown(s, fd, how); });
}

void io_uring_prep_send(struct io_uring_sqe* sqe, int sockfd, const void* buf, size_t len, int flags) {
  prep(sqe, [&](Sqe& s) { uring::prep_send(s, sockfd, buf, socket_length(len), flags); });
}

void io_uring_prep_sendto(struct io_uring_sqe* sqe, int sockfd, const void* buf, size_t len, int flags,
                          const struct sockaddr* addr, socklen_t addrlen) {
  // addr_len is 16 bits; a longer length is still one the kernel refuses
  // (more than a sockaddr_storage: -EINVAL), so it is capped, not cut.
  const socklen_t carried = addrlen > 0xffff ? 0xffff : addrlen;
  prep(sqe, [&](Sqe& s) { uring::prep_sendto(s, sockfd, buf, socket_length(len), flags, addr, carried); });
}

void io_uring_prep_send_bundle(struct io_uring_sqe* sqe, int sockfd, size_t len, int flags) {
  prep(sqe, [&](Sqe& s) {
    uring::prep_send_bundle(s, sockfd, socket_length(len), flags, 0);
    raw::leave_buffer_select_to_caller(s);
  });
}

void io_uring_prep_send_set_addr(struct io_uring_sqe* sqe, const struct sockaddr* dest_addr, __u16 addr_len) {
  raw::send_destination(as_sqe(sqe), dest_addr, addr_len);
}

void io_uring_prep_send_zc(struct io_uring_sqe* sqe, int sockfd, const void* buf, size_t len, int flags,
                           unsigned zc_flags) {
  prep(sqe, [&](Sqe& s) {
    uring::prep_send_zc(s, sockfd, buf, socket_length(len), flags, static_cast<std::uint16_t>(zc_flags));
    if (zc_flags > 0xffff) raw::unknown_zc_flags(s);
  });
}

void io_uring_prep_send_zc_fixed(struct io_uring_sqe* sqe, int sockfd, const void* buf, size_t len, int flags,
                                 unsigned zc_flags, unsigned buf_index) {
  prep_fixed_buffer(sqe, buf_index, [&](Sqe& s, FixedBuffer b) {
    uring::prep_send_zc_fixed(s, sockfd, buf, socket_length(len), flags, b, static_cast<std::uint16_t>(zc_flags));
    if (zc_flags > 0xffff) raw::unknown_zc_flags(s);
  });
}

void io_uring_prep_sendmsg(struct io_uring_sqe* sqe, int fd, const struct msghdr* msg, unsigned flags) {
  prep(sqe, [&](Sqe& s) { uring::prep_sendmsg(s, fd, msg, static_cast<int>(flags)); });
}

void io_uring_prep_sendmsg_zc(struct io_uring_sqe* sqe, int fd, const struct msghdr* msg, unsigned flags) {
  prep(sqe, [&](Sqe& s) { uring::prep_sendmsg_zc(s, fd, msg, static_cast<int>(flags)); });
}

void io_uring_prep_sendmsg_zc_fixed(struct io_uring_sqe* sqe, int fd, const struct msghdr* msg, unsigned flags,
                                    unsigned buf_index) {
  prep_fixed_buffer(sqe, buf_index, [&](Sqe& s, FixedBuffer b) {
    uring::prep_sendmsg_zc_fixed(s, fd, msg, static_cast<int>(flags), b);
  });
}

void io_uring_prep_recv(struct io_uring_sqe* sqe, int sockfd, void* buf, size_t len, int flags) {
  prep(sqe, [&](Sqe& s) { uring::prep_recv(s, sockfd, buf, socket_length(len), flags); });
}

void io_uring_prep_recv_multishot(struct io_uring_sqe* sqe, int sockfd, void* buf, size_t len, int flags) {
  (void)buf;  // a multishot receive always picks a provided buffer
  prep(sqe, [&](Sqe& s) {
    if (len == 0) {
      uring::prep_recv_multishot(s, sockfd, flags, 0);
    } else {
      uring::prep_recv_multishot_limited(s, sockfd, flags, 0, uring::MultishotLimits{socket_length(len), 0});
    }
    raw::leave_buffer_select_to_caller(s);
  });
}

void io_uring_prep_recvmsg(struct io_uring_sqe* sqe, int fd, struct msghdr* msg, unsigned flags) {
  prep(sqe, [&](Sqe& s) { uring::prep_recvmsg(s, fd, msg, static_cast<int>(flags)); });
}

void io_uring_prep_recvmsg_multishot(struct io_uring_sqe* sqe, int fd, struct msghdr* msg, unsigned flags) {
  prep(sqe, [&](Sqe& s) {
    uring::prep_recvmsg_multishot(s, fd, msg, static_cast<int>(flags), 0);
    raw::leave_buffer_select_to_caller(s);
  });
}

void io_uring_prep_cmd_sock(struct io_uring_sqe* sqe, int cmd_op, int fd, int level, int optname, void* optval,
                            int optlen) {
  prep(sqe, [&](Sqe& s) {
    const auto op = static_cast<std::uint32_t>(cmd_op);
    if (op == k::kSockCmdSiocinq) {
      uring::prep_uring_cmd_siocinq(s, fd);
    } else if (op == k::kSockCmdSiocoutq) {
      uring::prep_uring_cmd_siocoutq(s, fd);
    } else if (op == k::kSockCmdGetsockopt) {
      uring::prep_uring_cmd_getsockopt(s, fd, level, optname, optval, static_cast<socklen_t>(optlen));
    } else if (op == k::kSockCmdSetsockopt) {
      uring::prep_uring_cmd_setsockopt(s, fd, level, optname, optval, static_cast<socklen_t>(optlen));
    } else {
      uring::prep_uring_cmd(s, fd, op);
      raw::socket_cmd_words(s, level, optname, optval, optlen);
    }
  });
}

// ---- poll, epoll -------------------------------------------------------------------------------------------

void io_uring_prep_poll_add(struct io_uring_sqe* sqe, int fd, unsigned poll_mask) {
  prep(sqe, [&](Sqe& s) { uring::prep_poll_add(s, fd, poll_mask); });
}

void io_uring_prep_poll_multishot(struct io_uring_sqe* sqe, int fd, unsigned poll_mask) {
  prep(sqe, [&](Sqe& s) { uring::prep_poll_multishot(s, fd, poll_mask); });
}

void io_uring_prep_poll_remove(struct io_uring_sqe* sqe, __u64 user_data) {
  prep_without_file(sqe, [&](Sqe& s) { uring::prep_poll_remove(s, user_data); });
}

void io_uring_prep_poll_update(struct io_uring_sqe* sqe, __u64 old_user_data, __u64 new_user_data,
                               unsigned poll_mask, unsigned flags) {
  prep_without_file(sqe, [&](Sqe& s) {
    uring::PollUpdate update;
    if (flags & k::kPollUpdateUserData) update.user_data = new_user_data;
    if (flags & k::kPollUpdateEvents) update.events = poll_mask;
    uring::prep_poll_update(s, old_user_data, update);
    // What the PollUpdate cannot say (other flag bits, a mask or user_data
    // without its flag) goes to the kernel as given, which decides.
    const std::uint32_t builder_mask = s.poll32_events;
    if (s.len != flags || (!update.user_data && new_user_data != 0) || (!update.events && poll_mask != 0)) {
      raw::poll_update_words(s, flags, new_user_data,
                             update.events ? builder_mask : uring::prep_event_detail::poll_mask_for_kernel(poll_mask));
    }
  });
}

void io_uring_prep_epoll_ctl(struct io_uring_sqe* sqe, int epfd, int fd, int op, struct epoll_event* ev) {
  prep(sqe, [&](Sqe& s) { uring::prep_epoll_ctl(s, epfd, fd, op, ev); });
}

void io_uring_prep_epoll_wait(struct io_uring_sqe* sqe, int fd, struct epoll_event* events, int maxevents,
                              unsigned flags) {
  prep(sqe, [&](Sqe& s) {
    uring::prep_epoll_wait(s, fd, events, static_cast<unsigned>(maxevents));  // a negative count: -EINVAL
    if (flags != 0) raw::epoll_wait_flags(s, flags);
  });
}

// ---- timeouts, cancellation -------------------------------------------------------------------------------

namespace {
const abi::kernel_timespec* timespec_of(const struct __kernel_timespec* ts) {
  return reinterpret_cast<const abi::kernel_timespec*>(ts);
}
}  // namespace

void io_uring_prep_timeout(struct io_uring_sqe* sqe, struct __kernel_timespec* ts, unsigned count,
                           unsigned flags) {
  prep_without_file(sqe, [&](Sqe& s) { uring::prep_timeout(s, timespec_of(ts), count, flags); });
}

void io_uring_prep_timeout_remove(struct io_uring_sqe* sqe, __u64 user_data, unsigned flags) {
  prep_without_file(sqe, [&](Sqe& s) {
    uring::prep_timeout_remove(s, user_data);
    if (flags != 0) raw::timeout_remove_flags(s, flags);
  });
}

void io_uring_prep_timeout_update(struct io_uring_sqe* sqe, struct __kernel_timespec* ts, __u64 user_data,
                                  unsigned flags) {
  prep_without_file(sqe, [&](Sqe& s) { uring::prep_timeout_update(s, user_data, timespec_of(ts), flags); });
}

void io_uring_prep_link_timeout(struct io_uring_sqe* sqe, struct __kernel_timespec* ts, unsigned flags) {
  prep_without_file(sqe, [&](Sqe& s) { uring::prep_link_timeout(s, timespec_of(ts), flags); });
}

void io_uring_prep_cancel64(struct io_uring_sqe* sqe, __u64 user_data, int flags) {
  prep_without_file(sqe, [&](Sqe& s) { uring::prep_cancel(s, static_cast<std::uint64_t>(user_data), static_cast<std::uint32_t>(flags)); });
}

void io_uring_prep_cancel(struct io_uring_sqe* sqe, void* user_data, int flags) {
  io_uring_prep_cancel64(sqe, address(user_data), flags);
}

void io_uring_prep_cancel_fd(struct io_uring_sqe* sqe, int fd, unsigned int flags) {
  prep(sqe, [&](Sqe& s) { uring::prep_cancel_fd(s, fd, flags); });
}

// ---- messages, buffers -----------------------------------------------------------------------------------

void io_uring_prep_msg_ring_cqe_flags(struct io_uring_sqe* sqe, int fd, unsigned int len, __u64 data,
                                      unsigned int flags, unsigned int cqe_flags) {
  prep(sqe, [&](Sqe& s) {
    uring::prep_msg_ring_cqe_flags(s, fd, static_cast<std::int32_t>(len), data, cqe_flags);
    if ((flags & ~k::kMsgRingFlagsPass) != 0) raw::msg_ring_flags(s, flags | k::kMsgRingFlagsPass);
  });
}

void io_uring_prep_msg_ring(struct io_uring_sqe* sqe, int fd, unsigned int len, __u64 data, unsigned int flags) {
  if (flags & k::kMsgRingFlagsPass) {
    io_uring_prep_msg_ring_cqe_flags(sqe, fd, len, data, flags, 0);  // liburing 2.3 leaves file_index 0
    return;
  }
  prep(sqe, [&](Sqe& s) {
    uring::prep_msg_ring(s, fd, static_cast<std::int32_t>(len), data);
    if (flags != 0) raw::msg_ring_flags(s, flags);
  });
}

void io_uring_prep_msg_ring_fd(struct io_uring_sqe* sqe, int fd, int source_fd, int target_fd, __u64 data,
                               unsigned int flags) {
  const auto target = static_cast<unsigned>(target_fd);
  prep(sqe, [&](Sqe& s) {
    const bool post_cqe = (flags & k::kMsgRingCqeSkip) == 0;
    const auto source = FixedFile::checked(source_fd);
    const auto slot = direct_slot(target);
    uring::prep_msg_ring_send_fd(s, fd, source.value_or(FixedFile(0)), slot.value_or(DirectSlot::any()), data,
                                 post_cqe);
    if (!source) raw::msg_ring_source(s, source_fd);
    if (!slot) raw::slot_past_any_table(s, target + 1);
    if ((flags & ~k::kMsgRingCqeSkip) != 0) raw::msg_ring_flags(s, flags);
  });
}

void io_uring_prep_msg_ring_fd_alloc(struct io_uring_sqe* sqe, int fd, int source_fd, __u64 data,
                                     unsigned int flags) {
  io_uring_prep_msg_ring_fd(sqe, fd, source_fd, static_cast<int>(k::kFileIndexAlloc), data, flags);
}

void io_uring_prep_provide_buffers(struct io_uring_sqe* sqe, void* addr, int len, int nr, int bgid, int bid) {
  prep(sqe, [&](Sqe& s) {
    const auto group = buffer_group(bgid);
    const bool id_fits = bid >= 0 && bid <= 0xffff;
    uring::prep_provide_buffers(s, addr, static_cast<unsigned>(len), static_cast<unsigned>(nr), group.value_or(0),
                                id_fits ? static_cast<std::uint16_t>(bid) : std::uint16_t{0});
    if (!id_fits) raw::first_buffer_id(s, bid);
    if (!group) raw::refuse(s);
  });
}

void io_uring_prep_remove_buffers(struct io_uring_sqe* sqe, int nr, int bgid) {
  prep(sqe, [&](Sqe& s) {
    const auto group = buffer_group(bgid);
    uring::prep_remove_buffers(s, static_cast<unsigned>(nr), group.value_or(0));
    if (!group) raw::refuse(s);
  });
}

// ---- futexes, child processes ------------------------------------------------------------------------------

void io_uring_prep_futex_wait(struct io_uring_sqe* sqe, uint32_t* futex, uint64_t val, uint64_t mask,
                              uint32_t futex_flags, unsigned int flags) {
  prep(sqe, [&](Sqe& s) {
    uring::prep_futex_wait(s, futex, static_cast<std::uint32_t>(val), mask, futex_flags);
    if (val > 0xffffffffULL) raw::futex_value(s, val);
    if (flags != 0) raw::futex_flags(s, flags);
  });
}

void io_uring_prep_futex_wake(struct io_uring_sqe* sqe, uint32_t* futex, uint64_t val, uint64_t mask,
                              uint32_t futex_flags, unsigned int flags) {
  prep(sqe, [&](Sqe& s) {
    uring::prep_futex_wake(s, futex, val, mask, futex_flags);
    if (flags != 0) raw::futex_flags(s, flags);
  });
}

void io_uring_prep_futex_waitv(struct io_uring_sqe* sqe, struct futex_waitv* futex, uint32_t nr_futex,
                               unsigned int flags) {
  prep(sqe, [&](Sqe& s) {
    uring::prep_futex_waitv(s, reinterpret_cast<uring::FutexWaitv*>(futex), nr_futex);
    if (flags != 0) raw::futex_flags(s, flags);
  });
}

void io_uring_prep_waitid(struct io_uring_sqe* sqe, idtype_t idtype, id_t id, siginfo_t* infop, int options,
                          unsigned int flags) {
  prep(sqe, [&](Sqe& s) {
    uring::prep_waitid(s, idtype, id, infop, options);
    if (flags != 0) raw::waitid_flags(s, flags);
  });
}

}  // extern "C"
