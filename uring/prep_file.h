// Builders for the file and file-system opcodes: reads and writes (plain,
// vectored, registered-buffer, provided-buffer, multishot), sync and space
// management, advice, open/close, statx, directory entries, xattrs, splice,
// tee, pipe and the fixed-file table ops.
//
// Like every builder (uring/prep.h) each one zeroes the SQE, sets exactly the
// fields the kernel reads for its opcode and returns a Prepared& for the
// per-request setters:
//
//   uring::prep_read(*sqe, fd, buf, sizeof buf, 0).set_user_data(7).link();
//
// Pointers handed to a builder (buffers, iovec arrays, paths, open_how,
// statx buffers, xattr names and values) must stay valid until the request
// completes: the kernel reads them at submission or later, never at build time.
//
// The file argument is a `File`: a plain fd, or `FixedFile(i)` for slot i of
// the registered file table (uring/registered_files.h). Ops whose kernel side
// refuses fixed files (the path-based ones, xattrs, CLOSE of an fd) take a
// plain `int` so the mistake cannot compile.
#pragma once

#include <sys/stat.h>  // struct statx, mode_t
#include <sys/uio.h>   // struct iovec

#include <cstdint>

#include "syscalls/abi.h"
#include "uring/sqe.h"

namespace uring {

// The file offset meaning "the file's current position" for READ/WRITE and
// friends (the kernel then uses and advances f_pos, IORING_FEAT_RW_CUR_POS),
// and "no offset" for SPLICE (a pipe end, or the file position). It is -1 as
// a u64.
inline constexpr std::uint64_t kCurrentPosition = ~0ull;

namespace detail {

inline std::uint64_t user_pointer(const void* pointer) {
  return static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(pointer));
}

// The shared layout of the read/write family: file, buffer (or iovec array),
// length (or iovec count), file offset.
inline Prepared& prep_rw(Sqe& sqe, std::uint8_t opcode, File file, std::uint64_t addr, std::uint32_t len,
                         std::uint64_t offset) {
  sqe.clear();
  sqe.opcode = opcode;
  sqe.set_file(file);
  sqe.addr = addr;
  sqe.len = len;
  sqe.off = offset;
  return sqe;
}

}  // namespace detail

// ---- Reads and writes --------------------------------------------------------

// IORING_OP_READ (5.6): read up to `len` bytes at `offset` (kCurrentPosition:
// the file position). CQE result: bytes read (0 at end of file) or -errno.
inline Prepared& prep_read(Sqe& sqe, File file, void* buf, IoLength len, std::uint64_t offset) {
  return detail::prep_rw(sqe, abi::IORING_OP_READ, file, detail::user_pointer(buf), len.value(), offset);
}

// IORING_OP_READ with preadv2(2) flags (RWF_NOWAIT, RWF_HIPRI, ...). CQE as prep_read.
inline Prepared& prep_read(Sqe& sqe, File file, void* buf, IoLength len, std::uint64_t offset, int rw_flags) {
  prep_read(sqe, file, buf, len.value(), offset);
  sqe.rw_flags = static_cast<std::uint32_t>(rw_flags);
  return sqe;
}

// IORING_OP_WRITE (5.6): write `len` bytes at `offset` (kCurrentPosition: the
// file position). CQE result: bytes written or -errno.
inline Prepared& prep_write(Sqe& sqe, File file, const void* buf, IoLength len, std::uint64_t offset) {
  return detail::prep_rw(sqe, abi::IORING_OP_WRITE, file, detail::user_pointer(buf), len.value(), offset);
}

// IORING_OP_WRITE with pwritev2(2) flags (RWF_DSYNC, RWF_APPEND, ...). CQE as prep_write.
inline Prepared& prep_write(Sqe& sqe, File file, const void* buf, IoLength len, std::uint64_t offset,
                            int rw_flags) {
  prep_write(sqe, file, buf, len.value(), offset);
  sqe.rw_flags = static_cast<std::uint32_t>(rw_flags);
  return sqe;
}

// IORING_OP_READV (5.1): read into `count` iovecs at `offset`, with preadv2(2)
// flags. CQE result: bytes read or -errno.
inline Prepared& prep_readv(Sqe& sqe, File file, const iovec* iovecs, unsigned count, std::uint64_t offset,
                            int rw_flags = 0) {
  detail::prep_rw(sqe, abi::IORING_OP_READV, file, detail::user_pointer(iovecs), count, offset);
  sqe.rw_flags = static_cast<std::uint32_t>(rw_flags);
  return sqe;
}

// IORING_OP_WRITEV (5.1): write `count` iovecs at `offset`, with pwritev2(2)
// flags. CQE result: bytes written or -errno.
inline Prepared& prep_writev(Sqe& sqe, File file, const iovec* iovecs, unsigned count, std::uint64_t offset,
                             int rw_flags = 0) {
  detail::prep_rw(sqe, abi::IORING_OP_WRITEV, file, detail::user_pointer(iovecs), count, offset);
  sqe.rw_flags = static_cast<std::uint32_t>(rw_flags);
  return sqe;
}

// IORING_OP_READ with IOSQE_BUFFER_SELECT (5.7): read up to `len` bytes into a
// buffer the kernel picks from provided-buffer group `group`. CQE result:
// bytes read or -errno (-ENOBUFS: the group was empty); Cqe::buffer_id() says
// which buffer holds them.
inline Prepared& prep_read_buffer_select(Sqe& sqe, File file, IoLength len, std::uint64_t offset,
                                         std::uint16_t group) {
  detail::prep_rw(sqe, abi::IORING_OP_READ, file, 0, len.value(), offset);
  return sqe.buffer_select(group);
}

// IORING_OP_READ_FIXED (5.1): read into [buf, buf + len), which must lie inside
// registered buffer `buffer` (BufferTable::read_fixed checks that before
// submission). CQE result: bytes read or -errno (-EFAULT: index or range
// outside the registered buffers).
inline Prepared& prep_read_fixed(Sqe& sqe, File file, void* buf, IoLength len, std::uint64_t offset,
                                 FixedBuffer buffer) {
  detail::prep_rw(sqe, abi::IORING_OP_READ_FIXED, file, detail::user_pointer(buf), len.value(), offset);
  sqe.buf_index = static_cast<std::uint16_t>(buffer.index);
  return sqe;
}

// IORING_OP_WRITE_FIXED (5.1): write [buf, buf + len) from inside registered
// buffer `buffer`. CQE result: bytes written or -errno (-EFAULT as above).
inline Prepared& prep_write_fixed(Sqe& sqe, File file, const void* buf, IoLength len, std::uint64_t offset,
                                  FixedBuffer buffer) {
  detail::prep_rw(sqe, abi::IORING_OP_WRITE_FIXED, file, detail::user_pointer(buf), len.value(), offset);
  sqe.buf_index = static_cast<std::uint16_t>(buffer.index);
  return sqe;
}

// IORING_OP_READV_FIXED (6.15): read into `count` iovecs that all lie inside
// registered buffer `buffer`. CQE result: bytes read or -errno.
inline Prepared& prep_readv_fixed(Sqe& sqe, File file, const iovec* iovecs, unsigned count,
                                  std::uint64_t offset, FixedBuffer buffer, int rw_flags = 0) {
  detail::prep_rw(sqe, abi::IORING_OP_READV_FIXED, file, detail::user_pointer(iovecs), count, offset);
  sqe.buf_index = static_cast<std::uint16_t>(buffer.index);
  sqe.rw_flags = static_cast<std::uint32_t>(rw_flags);
  return sqe;
}

// IORING_OP_WRITEV_FIXED (6.15): write `count` iovecs that all lie inside
// registered buffer `buffer`. CQE result: bytes written or -errno.
inline Prepared& prep_writev_fixed(Sqe& sqe, File file, const iovec* iovecs, unsigned count,
                                   std::uint64_t offset, FixedBuffer buffer, int rw_flags = 0) {
  detail::prep_rw(sqe, abi::IORING_OP_WRITEV_FIXED, file, detail::user_pointer(iovecs), count, offset);
  sqe.buf_index = static_cast<std::uint16_t>(buffer.index);
  sqe.rw_flags = static_cast<std::uint32_t>(rw_flags);
  return sqe;
}

// IORING_OP_READ_MULTISHOT (6.7): on a pollable file (pipe, tty, eventfd...),
// post one CQE per read into a buffer from provided-buffer group `group`,
// until an error or the group runs dry. `len` 0 reads up to each buffer's
// size; Linux 6.7..6.18 accept nothing else (-EINVAL). Each CQE: bytes read with
// Cqe::buffer_id(); Cqe::more() false on the last one (0 = end of file,
// -ENOBUFS = no buffer left: provide more and re-arm, -EBADFD = not pollable).
inline Prepared& prep_read_multishot(Sqe& sqe, File file, IoLength len, std::uint64_t offset,
                                     std::uint16_t group) {
  detail::prep_rw(sqe, abi::IORING_OP_READ_MULTISHOT, file, 0, len.value(), offset);
  return sqe.buffer_select(group);
}

// ---- Sync, space, advice ----------------------------------------------------

// IORING_OP_FSYNC (5.1): fsync(2), or fdatasync(2) with IORING_FSYNC_DATASYNC
// in `flags`. CQE result: 0 or -errno.
inline Prepared& prep_fsync(Sqe& sqe, File file, std::uint32_t flags = 0) {
  sqe.clear();
  sqe.opcode = abi::IORING_OP_FSYNC;
  sqe.set_file(file);
  sqe.fsync_flags = flags;
  return sqe;
}

// IORING_OP_FSYNC limited to a range (vfs_fsync_range): the kernel syncs
// from `offset` through offset + len. Only offset 0 with len 0 means the
// whole file: io_uring/sync.c turns just an end of 0 into "to the end", so
// len 0 with an offset above 0 syncs only the page at `offset`. The range is
// at most 4 GiB (len is 32 bits); for more, use prep_fsync. CQE result: 0 or
// -errno.
inline Prepared& prep_fsync_range(Sqe& sqe, File file, std::uint64_t offset, IoLength len,
                                  std::uint32_t flags = 0) {
  prep_fsync(sqe, file, flags);
  sqe.off = offset;
  sqe.len = len.value();
  return sqe;
}

// IORING_OP_SYNC_FILE_RANGE (5.2): sync_file_range(2) with SYNC_FILE_RANGE_*
// flags. CQE result: 0 or -errno.
inline Prepared& prep_sync_file_range(Sqe& sqe, File file, std::uint64_t offset, IoLength len,
                                      unsigned flags) {
  sqe.clear();
  sqe.opcode = abi::IORING_OP_SYNC_FILE_RANGE;
  sqe.set_file(file);
  sqe.off = offset;
  sqe.len = len.value();
  sqe.sync_range_flags = flags;
  return sqe;
}

// IORING_OP_FALLOCATE (5.6): fallocate(2) with FALLOC_FL_* `mode` (the kernel
// takes the length from sqe->addr and the mode from sqe->len). CQE result: 0
// or -errno.
inline Prepared& prep_fallocate(Sqe& sqe, File file, int mode, std::uint64_t offset, std::uint64_t len) {
  sqe.clear();
  sqe.opcode = abi::IORING_OP_FALLOCATE;
  sqe.set_file(file);
  sqe.off = offset;
  sqe.addr = len;
  sqe.len = static_cast<std::uint32_t>(mode);
  return sqe;
}

// IORING_OP_FTRUNCATE (6.9): ftruncate(2) to `length` bytes. CQE result: 0 or -errno.
inline Prepared& prep_ftruncate(Sqe& sqe, File file, std::uint64_t length) {
  sqe.clear();
  sqe.opcode = abi::IORING_OP_FTRUNCATE;
  sqe.set_file(file);
  sqe.off = length;
  return sqe;
}

// IORING_OP_FADVISE (5.6): posix_fadvise(2) with POSIX_FADV_* `advice`. A
// length above 4 GiB goes in the 64-bit field Linux 6.11 added. CQE result: 0
// or -errno.
inline Prepared& prep_fadvise(Sqe& sqe, File file, std::uint64_t offset, std::uint64_t len, int advice) {
  sqe.clear();
  sqe.opcode = abi::IORING_OP_FADVISE;
  sqe.set_file(file);
  sqe.off = offset;
  if (len > UINT32_MAX) {
    sqe.addr = len;
  } else {
    sqe.len = static_cast<std::uint32_t>(len);  // the only field kernels before 6.11 accept
  }
  sqe.fadvise_advice = static_cast<std::uint32_t>(advice);
  return sqe;
}

// IORING_OP_MADVISE (5.6): madvise(2) on [addr, addr + len) of this process
// with MADV_* `advice`. A length above 4 GiB goes in the 64-bit field Linux
// 6.11 added. CQE result: 0 or -errno.
inline Prepared& prep_madvise(Sqe& sqe, void* addr, std::uint64_t len, int advice) {
  sqe.clear();
  sqe.opcode = abi::IORING_OP_MADVISE;
  sqe.addr = detail::user_pointer(addr);
  if (len > UINT32_MAX) {
    sqe.off = len;
  } else {
    sqe.len = static_cast<std::uint32_t>(len);
  }
  sqe.fadvise_advice = static_cast<std::uint32_t>(advice);
  return sqe;
}

// ---- Open, close, stat -------------------------------------------------------

// IORING_OP_OPENAT (5.6): openat(2). CQE result: the new fd or -errno.
inline Prepared& prep_openat(Sqe& sqe, int dir_fd, const char* path, int flags, mode_t mode) {
  sqe.clear();
  sqe.opcode = abi::IORING_OP_OPENAT;
  sqe.fd = dir_fd;
  sqe.addr = detail::user_pointer(path);
  sqe.len = static_cast<std::uint32_t>(mode);
  sqe.open_flags = static_cast<std::uint32_t>(flags);
  return sqe;
}

// IORING_OP_OPENAT into a direct descriptor (5.15): the file goes into `slot`
// of the registered file table instead of the fd table (O_CLOEXEC is refused
// with -EINVAL: slots have no exec semantics). CQE result: 0 for a given slot,
// the chosen slot for DirectSlot::any(), or -errno (-ENFILE: no free slot).
inline Prepared& prep_openat_direct(Sqe& sqe, int dir_fd, const char* path, int flags, mode_t mode,
                                    DirectSlot slot) {
  prep_openat(sqe, dir_fd, path, flags, mode);
  return sqe.set_direct_slot(slot);
}

// IORING_OP_OPENAT2 (5.6): openat2(2) with `*how` (flags, mode, RESOLVE_*).
// CQE result: the new fd or -errno.
inline Prepared& prep_openat2(Sqe& sqe, int dir_fd, const char* path, const abi::open_how* how) {
  sqe.clear();
  sqe.opcode = abi::IORING_OP_OPENAT2;
  sqe.fd = dir_fd;
  sqe.addr = detail::user_pointer(path);
  sqe.addr2 = detail::user_pointer(how);
  sqe.len = sizeof(abi::open_how);
  return sqe;
}

// IORING_OP_OPENAT2 into a direct descriptor (5.15). CQE result as prep_openat_direct.
inline Prepared& prep_openat2_direct(Sqe& sqe, int dir_fd, const char* path, const abi::open_how* how,
                                     DirectSlot slot) {
  prep_openat2(sqe, dir_fd, path, how);
  return sqe.set_direct_slot(slot);
}

// IORING_OP_CLOSE (5.6): close(2) a normal fd. CQE result: 0 or -errno.
inline Prepared& prep_close(Sqe& sqe, int fd) {
  sqe.clear();
  sqe.opcode = abi::IORING_OP_CLOSE;
  sqe.fd = fd;
  return sqe;
}

// IORING_OP_CLOSE of a registered-file slot (5.15): empties the slot. CQE
// result: 0 or -errno (-EBADF: the slot was empty, -EINVAL: past the table).
inline Prepared& prep_close(Sqe& sqe, FixedFile file) {
  sqe.clear();
  sqe.opcode = abi::IORING_OP_CLOSE;
  sqe.file_index = file.index + 1;
  return sqe;
}

// IORING_OP_STATX (5.6): statx(2) into `*out` (AT_* flags, STATX_* mask).
// CQE result: 0 or -errno.
inline Prepared& prep_statx(Sqe& sqe, int dir_fd, const char* path, int flags, unsigned mask,
                            struct statx* out) {
  sqe.clear();
  sqe.opcode = abi::IORING_OP_STATX;
  sqe.fd = dir_fd;
  sqe.addr = detail::user_pointer(path);
  sqe.len = mask;
  sqe.addr2 = detail::user_pointer(out);
  sqe.statx_flags = static_cast<std::uint32_t>(flags);
  return sqe;
}

// ---- Directory entries ---------------------------------------------------------

// IORING_OP_RENAMEAT (5.11): renameat2(2) with RENAME_* flags. CQE result: 0 or -errno.
inline Prepared& prep_renameat(Sqe& sqe, int old_dir_fd, const char* old_path, int new_dir_fd,
                               const char* new_path, unsigned flags = 0) {
  sqe.clear();
  sqe.opcode = abi::IORING_OP_RENAMEAT;
  sqe.fd = old_dir_fd;
  sqe.addr = detail::user_pointer(old_path);
  sqe.len = static_cast<std::uint32_t>(new_dir_fd);
  sqe.addr2 = detail::user_pointer(new_path);
  sqe.rename_flags = flags;
  return sqe;
}

// IORING_OP_UNLINKAT (5.11): unlinkat(2); AT_REMOVEDIR removes an empty
// directory. CQE result: 0 or -errno.
inline Prepared& prep_unlinkat(Sqe& sqe, int dir_fd, const char* path, int flags = 0) {
  sqe.clear();
  sqe.opcode = abi::IORING_OP_UNLINKAT;
  sqe.fd = dir_fd;
  sqe.addr = detail::user_pointer(path);
  sqe.unlink_flags = static_cast<std::uint32_t>(flags);
  return sqe;
}

// IORING_OP_MKDIRAT (5.15): mkdirat(2). CQE result: 0 or -errno.
inline Prepared& prep_mkdirat(Sqe& sqe, int dir_fd, const char* path, mode_t mode) {
  sqe.clear();
  sqe.opcode = abi::IORING_OP_MKDIRAT;
  sqe.fd = dir_fd;
  sqe.addr = detail::user_pointer(path);
  sqe.len = static_cast<std::uint32_t>(mode);
  return sqe;
}

// IORING_OP_SYMLINKAT (5.15): symlinkat(2): `link_path` (relative to
// `new_dir_fd`) will point at `target`. CQE result: 0 or -errno.
inline Prepared& prep_symlinkat(Sqe& sqe, const char* target, int new_dir_fd, const char* link_path) {
  sqe.clear();
  sqe.opcode = abi::IORING_OP_SYMLINKAT;
  sqe.fd = new_dir_fd;
  sqe.addr = detail::user_pointer(target);
  sqe.addr2 = detail::user_pointer(link_path);
  return sqe;
}

// IORING_OP_LINKAT (5.15): linkat(2) (AT_SYMLINK_FOLLOW, AT_EMPTY_PATH). CQE
// result: 0 or -errno.
inline Prepared& prep_linkat(Sqe& sqe, int old_dir_fd, const char* old_path, int new_dir_fd,
                             const char* new_path, int flags = 0) {
  sqe.clear();
  sqe.opcode = abi::IORING_OP_LINKAT;
  sqe.fd = old_dir_fd;
  sqe.addr = detail::user_pointer(old_path);
  sqe.len = static_cast<std::uint32_t>(new_dir_fd);
  sqe.addr2 = detail::user_pointer(new_path);
  sqe.hardlink_flags = static_cast<std::uint32_t>(flags);
  return sqe;
}

// ---- Extended attributes (no fixed files: the kernel refuses them) ---------------

// IORING_OP_FSETXATTR (5.19): fsetxattr(2) with XATTR_CREATE/XATTR_REPLACE.
// CQE result: 0 or -errno.
inline Prepared& prep_fsetxattr(Sqe& sqe, int fd, const char* name, const void* value, IoLength size,
                                int flags = 0) {
  sqe.clear();
  sqe.opcode = abi::IORING_OP_FSETXATTR;
  sqe.fd = fd;
  sqe.addr = detail::user_pointer(name);
  sqe.addr2 = detail::user_pointer(value);
  sqe.len = size.value();
  sqe.xattr_flags = static_cast<std::uint32_t>(flags);
  return sqe;
}

// IORING_OP_SETXATTR (5.19): setxattr(2) on a path (symlinks followed). CQE
// result: 0 or -errno.
inline Prepared& prep_setxattr(Sqe& sqe, const char* path, const char* name, const void* value, IoLength size,
                               int flags = 0) {
  sqe.clear();
  sqe.opcode = abi::IORING_OP_SETXATTR;
  sqe.addr = detail::user_pointer(name);
  sqe.addr2 = detail::user_pointer(value);
  sqe.len = size.value();
  sqe.addr3 = detail::user_pointer(path);
  sqe.xattr_flags = static_cast<std::uint32_t>(flags);
  return sqe;
}

// IORING_OP_FGETXATTR (5.19): fgetxattr(2) into `value` (size 0 asks for the
// length only). CQE result: the value's length or -errno (-ENODATA: no such
// attribute, -ERANGE: `size` too small).
inline Prepared& prep_fgetxattr(Sqe& sqe, int fd, const char* name, void* value, IoLength size) {
  sqe.clear();
  sqe.opcode = abi::IORING_OP_FGETXATTR;
  sqe.fd = fd;
  sqe.addr = detail::user_pointer(name);
  sqe.addr2 = detail::user_pointer(value);
  sqe.len = size.value();
  return sqe;
}

// IORING_OP_GETXATTR (5.19): getxattr(2) on a path. CQE result as prep_fgetxattr.
inline Prepared& prep_getxattr(Sqe& sqe, const char* path, const char* name, void* value, IoLength size) {
  sqe.clear();
  sqe.opcode = abi::IORING_OP_GETXATTR;
  sqe.addr = detail::user_pointer(name);
  sqe.addr2 = detail::user_pointer(value);
  sqe.len = size.value();
  sqe.addr3 = detail::user_pointer(path);
  return sqe;
}

// ---- Pipes -------------------------------------------------------------------------

// IORING_OP_SPLICE (5.7): splice(2) `len` bytes from `in` to `out`; one side
// must be a pipe. An offset of kCurrentPosition means none (a pipe, or the
// file position). A FixedFile `in` sets SPLICE_F_FD_IN_FIXED by itself.
// CQE result: bytes moved (0: nothing to move) or -errno.
inline Prepared& prep_splice(Sqe& sqe, File in, std::uint64_t in_offset, File out, std::uint64_t out_offset,
                             IoLength len, unsigned flags = 0) {
  sqe.clear();
  sqe.opcode = abi::IORING_OP_SPLICE;
  sqe.set_file(out);
  sqe.off = out_offset;
  sqe.splice_off_in = in_offset;
  sqe.len = len.value();
  sqe.splice_fd_in = in.value();
  sqe.splice_flags = flags | (in.fixed() ? abi::SPLICE_F_FD_IN_FIXED : 0u);
  return sqe;
}

// IORING_OP_TEE (5.8): tee(2): duplicate up to `len` bytes from pipe `in` to
// pipe `out` without consuming them. CQE result: bytes duplicated or -errno.
inline Prepared& prep_tee(Sqe& sqe, File in, File out, IoLength len, unsigned flags = 0) {
  sqe.clear();
  sqe.opcode = abi::IORING_OP_TEE;
  sqe.set_file(out);
  sqe.len = len.value();
  sqe.splice_fd_in = in.value();
  sqe.splice_flags = flags | (in.fixed() ? abi::SPLICE_F_FD_IN_FIXED : 0u);
  return sqe;
}

// IORING_OP_PIPE (6.16): pipe2(2) with O_CLOEXEC/O_NONBLOCK/O_DIRECT; the
// kernel writes the read and write fds into `fds`. CQE result: 0 or -errno.
inline Prepared& prep_pipe(Sqe& sqe, int (&fds)[2], int flags = 0) {
  sqe.clear();
  sqe.opcode = abi::IORING_OP_PIPE;
  sqe.addr = detail::user_pointer(fds);
  sqe.pipe_flags = static_cast<std::uint32_t>(flags);
  return sqe;
}

// IORING_OP_PIPE into direct descriptors (6.16): the read end goes to `slot`
// and the write end to the slot after it (DirectSlot::any(): two free slots,
// written into `fds`). No O_CLOEXEC. CQE result: 0 or -errno.
inline Prepared& prep_pipe_direct(Sqe& sqe, int (&fds)[2], int flags, DirectSlot slot) {
  prep_pipe(sqe, fds, flags);
  return sqe.set_direct_slot(slot);
}

// ---- The registered file table -------------------------------------------------------

// IORING_OP_FILES_UPDATE (5.6): put `count` fds into registered-file slots
// starting at `offset` (-1 empties a slot, abi::IORING_REGISTER_FILES_SKIP
// leaves it). CQE result: slots updated or -errno.
inline Prepared& prep_files_update(Sqe& sqe, const int* fds, unsigned count, unsigned offset) {
  sqe.clear();
  sqe.opcode = abi::IORING_OP_FILES_UPDATE;
  sqe.addr = detail::user_pointer(fds);
  sqe.len = count;
  sqe.off = offset;
  return sqe;
}

// IORING_OP_FILES_UPDATE with IORING_FILE_INDEX_ALLOC (5.19): install each fd
// into a free slot and overwrite fds[i] with the slot chosen. CQE result:
// slots filled or -errno (-ENFILE: the table is full).
inline Prepared& prep_files_update_alloc(Sqe& sqe, int* fds, unsigned count) {
  prep_files_update(sqe, fds, count, 0);
  sqe.off = abi::IORING_FILE_INDEX_ALLOC;
  return sqe;
}

// IORING_OP_FIXED_FD_INSTALL (6.8): a normal fd for registered file `file`
// (O_CLOEXEC unless flags has abi::IORING_FIXED_FD_NO_CLOEXEC). CQE result:
// the new fd or -errno.
inline Prepared& prep_fixed_fd_install(Sqe& sqe, FixedFile file, unsigned flags = 0) {
  sqe.clear();
  sqe.opcode = abi::IORING_OP_FIXED_FD_INSTALL;
  sqe.set_file(File(file));
  sqe.install_fd_flags = flags;
  return sqe;
}

// ---- Block device commands ----------------------------------------------------------

// BLOCK_URING_CMD_DISCARD (include/uapi/linux/blkdev.h: _IO(0x12, 0), Linux
// 6.12), spelled here because syscalls/abi.h does not name it.
inline constexpr std::uint32_t kBlockUringCmdDiscard = 0x1200;

// IORING_OP_URING_CMD, BLOCK_URING_CMD_DISCARD (6.12): discard [offset,
// offset + len) of block device `file`, as ioctl(BLKDISCARD) does (a loop
// device punches a hole in its backing file: the range reads back as zeros).
// The device must be open for writing (-EBADF otherwise), offset and len
// multiples of its logical block size and inside it (-EINVAL), and it must
// support discard (-EOPNOTSUPP); the range's page cache is dropped first.
// CQE result: 0 or -errno.
inline Prepared& prep_uring_cmd_discard(Sqe& sqe, File file, std::uint64_t offset, std::uint64_t len) {
  sqe.clear();
  sqe.opcode = abi::IORING_OP_URING_CMD;
  sqe.set_file(file);
  sqe.cmd_op = kBlockUringCmdDiscard;
  sqe.addr = offset;
  sqe.addr3 = len;
  return sqe;
}

// True for each opcode this header builds (wired into uring::has_builder).
inline constexpr bool has_file_builder(unsigned opcode) {
  switch (opcode) {
    case abi::IORING_OP_READV:
    case abi::IORING_OP_WRITEV:
    case abi::IORING_OP_FSYNC:
    case abi::IORING_OP_READ_FIXED:
    case abi::IORING_OP_WRITE_FIXED:
    case abi::IORING_OP_SYNC_FILE_RANGE:
    case abi::IORING_OP_FALLOCATE:
    case abi::IORING_OP_OPENAT:
    case abi::IORING_OP_CLOSE:
    case abi::IORING_OP_FILES_UPDATE:
    case abi::IORING_OP_STATX:
    case abi::IORING_OP_READ:
    case abi::IORING_OP_WRITE:
    case abi::IORING_OP_FADVISE:
    case abi::IORING_OP_MADVISE:
    case abi::IORING_OP_OPENAT2:
    case abi::IORING_OP_SPLICE:
    case abi::IORING_OP_TEE:
    case abi::IORING_OP_RENAMEAT:
    case abi::IORING_OP_UNLINKAT:
    case abi::IORING_OP_MKDIRAT:
    case abi::IORING_OP_SYMLINKAT:
    case abi::IORING_OP_LINKAT:
    case abi::IORING_OP_FSETXATTR:
    case abi::IORING_OP_SETXATTR:
    case abi::IORING_OP_FGETXATTR:
    case abi::IORING_OP_GETXATTR:
    case abi::IORING_OP_READ_MULTISHOT:
    case abi::IORING_OP_FIXED_FD_INSTALL:
    case abi::IORING_OP_FTRUNCATE:
    case abi::IORING_OP_READV_FIXED:
    case abi::IORING_OP_WRITEV_FIXED:
    case abi::IORING_OP_PIPE:
      return true;
    default:
      return false;
  }
}

}  // namespace uring
