// Every io_uring_prep_* of the liburing-compatible layer, on a dirty SQE
// (every byte 0xA5): each field must be what the kernel's prep for that
// opcode reads (io_uring/rw.c, net.c, fs.c, openclose.c, poll.c,
// timeout.c, cancel.c, msg_ring.c, kbuf.c, futex.c, waitid.c), every other
// field zero, and user_data untouched, as liburing 2.3's preps leave it.
// Only the C API is used here: the expectations are spelled with the kernel
// names of the generated C header, not with uring's builders.
#include <fcntl.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <sys/socket.h>

#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "doctest/doctest.h"
#include "liburing/io_uring.h"
#include "liburing/prep.h"

extern "C" int prep_signatures_match_liburing_2_3(void);
extern "C" void prep_from_c(struct io_uring_sqe* sqe, int fd, void* buf, unsigned len);

namespace {

constexpr std::uint64_t kDirty64 = 0xa5a5a5a5a5a5a5a5ULL;

io_uring_sqe dirty() {
  io_uring_sqe sqe;
  std::memset(&sqe, 0xa5, sizeof sqe);
  return sqe;
}

// The SQE a prep should leave: zero, except user_data, which stays dirty.
io_uring_sqe want(unsigned opcode) {
  io_uring_sqe sqe;
  std::memset(&sqe, 0, sizeof sqe);
  sqe.opcode = static_cast<__u8>(opcode);
  sqe.user_data = kDirty64;
  // Opcodes without a target file: liburing writes fd -1 (0 would be stdin
  // for a cancel given IORING_ASYNC_CANCEL_FD, or a NOP given IORING_NOP_FILE).
  switch (opcode) {
    case IORING_OP_NOP: case IORING_OP_NOP128: case IORING_OP_MADVISE: case IORING_OP_FILES_UPDATE:
    case IORING_OP_POLL_REMOVE: case IORING_OP_TIMEOUT: case IORING_OP_TIMEOUT_REMOVE:
    case IORING_OP_LINK_TIMEOUT: case IORING_OP_ASYNC_CANCEL:
      sqe.fd = -1;
      break;
    default:
      break;
  }
  return sqe;
}

struct Field {
  const char* name;
  std::size_t offset;
  std::size_t size;
};

// Every byte of the 64, by the first name of each place.
constexpr Field kFields[] = {
    {"opcode", offsetof(io_uring_sqe, opcode), 1},
    {"flags", offsetof(io_uring_sqe, flags), 1},
    {"ioprio", offsetof(io_uring_sqe, ioprio), 2},
    {"fd", offsetof(io_uring_sqe, fd), 4},
    {"off/addr2", offsetof(io_uring_sqe, off), 8},
    {"addr/splice_off_in", offsetof(io_uring_sqe, addr), 8},
    {"len", offsetof(io_uring_sqe, len), 4},
    {"rw_flags (op flags)", offsetof(io_uring_sqe, rw_flags), 4},
    {"user_data", offsetof(io_uring_sqe, user_data), 8},
    {"buf_index/buf_group", offsetof(io_uring_sqe, buf_index), 2},
    {"personality", offsetof(io_uring_sqe, personality), 2},
    {"file_index/splice_fd_in", offsetof(io_uring_sqe, file_index), 4},
    {"addr3", offsetof(io_uring_sqe, addr3), 8},
    {"__pad2", offsetof(io_uring_sqe, __pad2), 8},
};
static_assert(sizeof(io_uring_sqe) == 64);

std::uint64_t value_at(const io_uring_sqe& sqe, const Field& f) {
  std::uint64_t v = 0;
  std::memcpy(&v, reinterpret_cast<const unsigned char*>(&sqe) + f.offset, f.size);
  return v;
}

void check_same(const io_uring_sqe& got, const io_uring_sqe& expected) {
  for (const Field& f : kFields) {
    INFO("field " << std::string(f.name));
    CHECK(value_at(got, f) == value_at(expected, f));
  }
}

std::uint64_t ptr(const void* p) { return static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(p)); }

char buf[64];
const char* const kPath = "/some/path";
const char* const kOther = "/other/path";

}  // namespace

TEST_CASE("the prototypes are liburing 2.3's, and the functions are callable from C") {
  CHECK(prep_signatures_match_liburing_2_3() == 1);
  io_uring_sqe s = dirty();
  prep_from_c(&s, 7, buf, 33);
  io_uring_sqe w = want(IORING_OP_READ);
  w.fd = 7;
  w.addr = ptr(buf);
  w.len = 33;
  w.off = 5;
  check_same(s, w);
}

TEST_CASE("user_data, flags and buffer group setters") {
  io_uring_sqe s = dirty();
  io_uring_sqe_set_data64(&s, 0x1122334455667788ULL);
  CHECK(s.user_data == 0x1122334455667788ULL);
  io_uring_sqe_set_data(&s, buf);
  CHECK(s.user_data == ptr(buf));
  io_uring_cqe cqe{};
  cqe.user_data = ptr(buf);
  CHECK(io_uring_cqe_get_data(&cqe) == buf);
  CHECK(io_uring_cqe_get_data64(&cqe) == ptr(buf));

  io_uring_sqe_set_flags(&s, IOSQE_IO_LINK | IOSQE_FIXED_FILE);
  CHECK(s.flags == (IOSQE_IO_LINK | IOSQE_FIXED_FILE));
  // A bit past the byte cannot be carried: bit 7, which the kernel refuses.
  io_uring_sqe_set_flags(&s, 0x100 | IOSQE_ASYNC);
  CHECK(s.flags == (0x80 | IOSQE_ASYNC));

  s = dirty();
  io_uring_sqe_set_buf_group(&s, 7);
  CHECK(unsigned{s.buf_group} == 7);
  CHECK(s.opcode == 0xa5);
  io_uring_sqe_set_buf_group(&s, 65536 + 7);  // not group 7: the request is refused
  CHECK(unsigned{s.buf_group} == 7);
  CHECK(s.opcode == 0xff);
}

TEST_CASE("a prep writes every field but user_data, so flags set before it are gone") {
  io_uring_sqe s = dirty();
  s.user_data = 42;
  io_uring_sqe_set_flags(&s, IOSQE_IO_LINK);
  io_uring_prep_nop(&s);
  io_uring_sqe w = want(IORING_OP_NOP);
  w.user_data = 42;
  check_same(s, w);
}

TEST_CASE("io_uring_prep_rw: any opcode, the five common fields") {
  io_uring_sqe s = dirty();
  io_uring_prep_rw(IORING_OP_FSYNC, &s, 9, buf, 17, 1234);
  io_uring_sqe w = want(IORING_OP_FSYNC);
  w.fd = 9;
  w.addr = ptr(buf);
  w.len = 17;
  w.off = 1234;
  check_same(s, w);

  s = dirty();
  io_uring_prep_rw(256 + IORING_OP_NOP, &s, 9, buf, 17, 1234);  // not a NOP
  w.opcode = 0xff;
  check_same(s, w);
}

TEST_CASE("reads and writes") {
  iovec iov[2] = {};
  struct Case {
    const char* name;
    unsigned opcode;
    void (*prep)(io_uring_sqe*);
    std::uint64_t addr;
    unsigned len;
    std::uint32_t rw_flags;
    std::uint16_t buf_index;
  };
  static iovec* iovp;
  iovp = iov;
  const Case cases[] = {
      {"read", IORING_OP_READ, [](io_uring_sqe* s) { io_uring_prep_read(s, 3, buf, 10, 77); }, ptr(buf), 10, 0, 0},
      {"write", IORING_OP_WRITE, [](io_uring_sqe* s) { io_uring_prep_write(s, 3, buf, 10, 77); }, ptr(buf), 10, 0, 0},
      {"readv", IORING_OP_READV, [](io_uring_sqe* s) { io_uring_prep_readv(s, 3, iovp, 2, 77); }, ptr(iov), 2, 0, 0},
      {"readv2", IORING_OP_READV, [](io_uring_sqe* s) { io_uring_prep_readv2(s, 3, iovp, 2, 77, RWF_NOWAIT); },
       ptr(iov), 2, RWF_NOWAIT, 0},
      {"writev", IORING_OP_WRITEV, [](io_uring_sqe* s) { io_uring_prep_writev(s, 3, iovp, 2, 77); }, ptr(iov), 2, 0, 0},
      {"writev2", IORING_OP_WRITEV, [](io_uring_sqe* s) { io_uring_prep_writev2(s, 3, iovp, 2, 77, RWF_DSYNC); },
       ptr(iov), 2, RWF_DSYNC, 0},
      {"read_fixed", IORING_OP_READ_FIXED, [](io_uring_sqe* s) { io_uring_prep_read_fixed(s, 3, buf, 10, 77, 5); },
       ptr(buf), 10, 0, 5},
      {"write_fixed", IORING_OP_WRITE_FIXED,
       [](io_uring_sqe* s) { io_uring_prep_write_fixed(s, 3, buf, 10, 77, 16383); }, ptr(buf), 10, 0, 16383},
      // Indexes no table has: 0xffff (the kernel: -EFAULT), never index mod 2^16.
      {"read_fixed 65536+5", IORING_OP_READ_FIXED,
       [](io_uring_sqe* s) { io_uring_prep_read_fixed(s, 3, buf, 10, 77, 65536 + 5); }, ptr(buf), 10, 0, 0xffff},
      {"write_fixed -1", IORING_OP_WRITE_FIXED,
       [](io_uring_sqe* s) { io_uring_prep_write_fixed(s, 3, buf, 10, 77, -1); }, ptr(buf), 10, 0, 0xffff},
      {"read_fixed 16384", IORING_OP_READ_FIXED,
       [](io_uring_sqe* s) { io_uring_prep_read_fixed(s, 3, buf, 10, 77, 16384); }, ptr(buf), 10, 0, 0xffff},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    io_uring_sqe s = dirty();
    c.prep(&s);
    io_uring_sqe w = want(c.opcode);
    w.fd = 3;
    w.addr = c.addr;
    w.len = c.len;
    w.off = 77;
    w.rw_flags = c.rw_flags;
    w.buf_index = c.buf_index;
    check_same(s, w);
  }

  io_uring_sqe s = dirty();
  io_uring_prep_read_multishot(&s, 4, 0, 0, 9);
  io_uring_sqe w = want(IORING_OP_READ_MULTISHOT);
  w.fd = 4;
  w.flags = IOSQE_BUFFER_SELECT;  // liburing's read_multishot sets it too
  w.buf_group = 9;
  check_same(s, w);
}

TEST_CASE("sync, space and advice") {
  io_uring_sqe s = dirty(), w = want(IORING_OP_FSYNC);
  io_uring_prep_fsync(&s, 3, IORING_FSYNC_DATASYNC);
  w.fd = 3;
  w.fsync_flags = IORING_FSYNC_DATASYNC;
  check_same(s, w);

  s = dirty(), w = want(IORING_OP_SYNC_FILE_RANGE);
  io_uring_prep_sync_file_range(&s, 3, 4096, 8192, 2);
  w.fd = 3;
  w.len = 4096;
  w.off = 8192;
  w.sync_range_flags = 2;
  check_same(s, w);

  s = dirty(), w = want(IORING_OP_FALLOCATE);
  io_uring_prep_fallocate(&s, 3, 1, 100, 5000000000LL);
  w.fd = 3;
  w.len = 1;  // the mode
  w.off = 100;
  w.addr = 5000000000ULL;  // the length, all 64 bits
  check_same(s, w);

  s = dirty(), w = want(IORING_OP_FADVISE);
  io_uring_prep_fadvise(&s, 3, 100, 4096, POSIX_FADV_DONTNEED);
  w.fd = 3;
  w.off = 100;
  w.len = 4096;
  w.fadvise_advice = POSIX_FADV_DONTNEED;
  check_same(s, w);
  // Above 4 GiB: the 64-bit field (6.11), not the length mod 2^32.
  s = dirty();
  io_uring_prep_fadvise(&s, 3, 100, (1LL << 32) + 10, POSIX_FADV_DONTNEED);
  w.len = 0;
  w.addr = (1ULL << 32) + 10;
  check_same(s, w);
  s = dirty();
  io_uring_prep_fadvise64(&s, 3, 100, (1LL << 32) + 10, POSIX_FADV_DONTNEED);
  check_same(s, w);

  s = dirty(), w = want(IORING_OP_MADVISE);
  io_uring_prep_madvise(&s, buf, 4096, MADV_DONTNEED);
  w.addr = ptr(buf);
  w.len = 4096;
  w.fadvise_advice = MADV_DONTNEED;
  check_same(s, w);
  s = dirty();
  io_uring_prep_madvise64(&s, buf, (1LL << 33), MADV_DONTNEED);
  w.len = 0;
  w.off = 1ULL << 33;
  check_same(s, w);

  s = dirty(), w = want(IORING_OP_FTRUNCATE);
  io_uring_prep_ftruncate(&s, 3, 12345);
  w.fd = 3;
  w.off = 12345;
  check_same(s, w);
}

TEST_CASE("open, close, statx, files_update, fixed_fd_install") {
  open_how how{};
  io_uring_sqe s = dirty(), w = want(IORING_OP_OPENAT);
  io_uring_prep_openat(&s, 5, kPath, O_RDWR | O_CREAT, 0640);
  w.fd = 5;
  w.addr = ptr(kPath);
  w.len = 0640;
  w.open_flags = O_RDWR | O_CREAT;
  check_same(s, w);

  s = dirty();
  io_uring_prep_open(&s, kPath, O_RDWR | O_CREAT, 0640);
  w.fd = AT_FDCWD;
  check_same(s, w);

  struct Slot {
    unsigned given;
    std::uint32_t encoded;
  };
  // slot + 1; both spellings of "any slot"; past any table: slot + 1 still
  // (the kernel refuses it), never 0 or IORING_FILE_INDEX_ALLOC.
  for (Slot slot : {Slot{0, 1}, Slot{7, 8}, Slot{(1U << 20) - 1, 1U << 20}, Slot{IORING_FILE_INDEX_ALLOC, IORING_FILE_INDEX_ALLOC},
                    Slot{IORING_FILE_INDEX_ALLOC - 1, IORING_FILE_INDEX_ALLOC}, Slot{1U << 20, (1U << 20) + 1},
                    Slot{IORING_FILE_INDEX_ALLOC - 2, IORING_FILE_INDEX_ALLOC - 1}}) {
    INFO("slot " << slot.given);
    s = dirty(), w = want(IORING_OP_OPENAT);
    io_uring_prep_openat_direct(&s, 5, kPath, O_RDONLY, 0, slot.given);
    w.fd = 5;
    w.addr = ptr(kPath);
    w.file_index = slot.encoded;
    check_same(s, w);

    s = dirty();
    io_uring_prep_open_direct(&s, kPath, O_RDONLY, 0, slot.given);
    w.fd = AT_FDCWD;
    check_same(s, w);

    s = dirty(), w = want(IORING_OP_OPENAT2);
    io_uring_prep_openat2_direct(&s, 5, kPath, &how, slot.given);
    w.fd = 5;
    w.addr = ptr(kPath);
    w.addr2 = ptr(&how);
    w.len = sizeof(open_how);
    w.file_index = slot.encoded;
    check_same(s, w);
  }

  s = dirty(), w = want(IORING_OP_OPENAT2);
  io_uring_prep_openat2(&s, 5, kPath, &how);
  w.fd = 5;
  w.addr = ptr(kPath);
  w.addr2 = ptr(&how);
  w.len = sizeof(open_how);
  check_same(s, w);

  s = dirty(), w = want(IORING_OP_CLOSE);
  io_uring_prep_close(&s, 9);
  w.fd = 9;
  check_same(s, w);

  for (Slot slot : {Slot{0, 1}, Slot{9, 10}, Slot{1U << 20, (1U << 20) + 1}, Slot{0xfffffffeU, 0xffffffffU},
                    Slot{0xffffffffU, 0xffffffffU}}) {  // never 0: that would close fd 0
    INFO("close slot " << slot.given);
    s = dirty(), w = want(IORING_OP_CLOSE);
    io_uring_prep_close_direct(&s, slot.given);
    w.file_index = slot.encoded;
    check_same(s, w);
  }

  s = dirty(), w = want(IORING_OP_CLOSE);
  io_uring_prep_close(&s, 9);
  __io_uring_set_target_fixed_file(&s, 3);
  w.fd = 9;
  w.file_index = 4;
  check_same(s, w);

  struct statx stx;
  s = dirty(), w = want(IORING_OP_STATX);
  io_uring_prep_statx(&s, 5, kPath, AT_SYMLINK_NOFOLLOW, STATX_SIZE, &stx);
  w.fd = 5;
  w.addr = ptr(kPath);
  w.len = STATX_SIZE;
  w.addr2 = ptr(&stx);
  w.statx_flags = AT_SYMLINK_NOFOLLOW;
  check_same(s, w);

  int fds[3] = {};
  s = dirty(), w = want(IORING_OP_FILES_UPDATE);
  io_uring_prep_files_update(&s, fds, 3, 4);
  w.addr = ptr(fds);
  w.len = 3;
  w.off = 4;
  check_same(s, w);
  s = dirty();
  io_uring_prep_files_update(&s, fds, 3, IORING_FILE_INDEX_ALLOC);  // the kernel reads a u32 offset
  w.off = IORING_FILE_INDEX_ALLOC;
  check_same(s, w);

  s = dirty(), w = want(IORING_OP_FIXED_FD_INSTALL);
  io_uring_prep_fixed_fd_install(&s, 2, IORING_FIXED_FD_NO_CLOEXEC);
  w.fd = 2;
  w.flags = IOSQE_FIXED_FILE;
  w.install_fd_flags = IORING_FIXED_FD_NO_CLOEXEC;
  check_same(s, w);
}

TEST_CASE("directory entries and xattrs") {
  io_uring_sqe s = dirty(), w = want(IORING_OP_UNLINKAT);
  io_uring_prep_unlinkat(&s, 5, kPath, AT_REMOVEDIR);
  w.fd = 5;
  w.addr = ptr(kPath);
  w.unlink_flags = AT_REMOVEDIR;
  check_same(s, w);
  s = dirty();
  io_uring_prep_unlink(&s, kPath, AT_REMOVEDIR);
  w.fd = AT_FDCWD;
  check_same(s, w);

  s = dirty(), w = want(IORING_OP_RENAMEAT);
  io_uring_prep_renameat(&s, 5, kPath, 6, kOther, RENAME_NOREPLACE);
  w.fd = 5;
  w.addr = ptr(kPath);
  w.len = 6;
  w.addr2 = ptr(kOther);
  w.rename_flags = RENAME_NOREPLACE;
  check_same(s, w);
  s = dirty();
  io_uring_prep_rename(&s, kPath, kOther);
  w.fd = AT_FDCWD;
  w.len = static_cast<__u32>(AT_FDCWD);
  w.rename_flags = 0;
  check_same(s, w);

  s = dirty(), w = want(IORING_OP_MKDIRAT);
  io_uring_prep_mkdirat(&s, 5, kPath, 0755);
  w.fd = 5;
  w.addr = ptr(kPath);
  w.len = 0755;
  check_same(s, w);
  s = dirty();
  io_uring_prep_mkdir(&s, kPath, 0755);
  w.fd = AT_FDCWD;
  check_same(s, w);

  s = dirty(), w = want(IORING_OP_SYMLINKAT);
  io_uring_prep_symlinkat(&s, kPath, 6, kOther);
  w.fd = 6;
  w.addr = ptr(kPath);
  w.addr2 = ptr(kOther);
  check_same(s, w);
  s = dirty();
  io_uring_prep_symlink(&s, kPath, kOther);
  w.fd = AT_FDCWD;
  check_same(s, w);

  s = dirty(), w = want(IORING_OP_LINKAT);
  io_uring_prep_linkat(&s, 5, kPath, 6, kOther, AT_SYMLINK_FOLLOW);
  w.fd = 5;
  w.addr = ptr(kPath);
  w.len = 6;
  w.addr2 = ptr(kOther);
  w.hardlink_flags = AT_SYMLINK_FOLLOW;
  check_same(s, w);
  s = dirty();
  io_uring_prep_link(&s, kPath, kOther, AT_SYMLINK_FOLLOW);
  w.fd = AT_FDCWD;
  w.len = static_cast<__u32>(AT_FDCWD);
  check_same(s, w);

  const char* name = "user.x";
  char value[16];
  s = dirty(), w = want(IORING_OP_GETXATTR);
  io_uring_prep_getxattr(&s, name, value, kPath, sizeof value);
  w.addr = ptr(name);
  w.addr2 = ptr(value);
  w.len = sizeof value;
  w.addr3 = ptr(kPath);
  check_same(s, w);

  s = dirty(), w = want(IORING_OP_SETXATTR);
  io_uring_prep_setxattr(&s, name, value, kPath, XATTR_CREATE, 4);
  w.addr = ptr(name);
  w.addr2 = ptr(value);
  w.len = 4;
  w.addr3 = ptr(kPath);
  w.xattr_flags = XATTR_CREATE;
  check_same(s, w);

  s = dirty(), w = want(IORING_OP_FGETXATTR);
  io_uring_prep_fgetxattr(&s, 7, name, value, sizeof value);
  w.fd = 7;
  w.addr = ptr(name);
  w.addr2 = ptr(value);
  w.len = sizeof value;
  check_same(s, w);

  s = dirty(), w = want(IORING_OP_FSETXATTR);
  io_uring_prep_fsetxattr(&s, 7, name, value, XATTR_REPLACE, 4);
  w.fd = 7;
  w.addr = ptr(name);
  w.addr2 = ptr(value);
  w.len = 4;
  w.xattr_flags = XATTR_REPLACE;
  check_same(s, w);
}

TEST_CASE("splice and tee") {
  io_uring_sqe s = dirty(), w = want(IORING_OP_SPLICE);
  io_uring_prep_splice(&s, 4, -1, 5, 1000, 4096, SPLICE_F_MOVE | SPLICE_F_FD_IN_FIXED);
  w.fd = 5;
  w.off = 1000;
  w.splice_off_in = ~0ULL;
  w.len = 4096;
  w.splice_fd_in = 4;
  w.splice_flags = SPLICE_F_MOVE | SPLICE_F_FD_IN_FIXED;
  check_same(s, w);

  s = dirty(), w = want(IORING_OP_TEE);
  io_uring_prep_tee(&s, 4, 5, 4096, 0);
  w.fd = 5;
  w.len = 4096;
  w.splice_fd_in = 4;
  check_same(s, w);
}

TEST_CASE("sockets: create, name, connect, accept, shutdown") {
  io_uring_sqe s = dirty(), w = want(IORING_OP_SOCKET);
  io_uring_prep_socket(&s, AF_INET, SOCK_STREAM, 6, 0);
  w.fd = AF_INET;
  w.off = SOCK_STREAM;
  w.len = 6;
  check_same(s, w);
  s = dirty();
  io_uring_prep_socket(&s, AF_INET, SOCK_STREAM, 6, 3);  // flags: passed on, the kernel refuses them
  w.rw_flags = 3;
  check_same(s, w);
  s = dirty();
  io_uring_prep_socket_direct(&s, AF_INET, SOCK_STREAM, 6, 2, 0);
  w.rw_flags = 0;
  w.file_index = 3;
  check_same(s, w);
  s = dirty();
  io_uring_prep_socket_direct_alloc(&s, AF_INET, SOCK_STREAM, 6, 0);
  w.file_index = IORING_FILE_INDEX_ALLOC;
  check_same(s, w);

  sockaddr_storage sa{};
  socklen_t salen = sizeof sa;
  s = dirty(), w = want(IORING_OP_CONNECT);
  io_uring_prep_connect(&s, 8, reinterpret_cast<sockaddr*>(&sa), 16);
  w.fd = 8;
  w.addr = ptr(&sa);
  w.off = 16;
  check_same(s, w);

  s = dirty(), w = want(IORING_OP_BIND);
  io_uring_prep_bind(&s, 8, reinterpret_cast<sockaddr*>(&sa), 16);
  w.fd = 8;
  w.addr = ptr(&sa);
  w.addr2 = 16;
  check_same(s, w);

  s = dirty(), w = want(IORING_OP_LISTEN);
  io_uring_prep_listen(&s, 8, 128);
  w.fd = 8;
  w.len = 128;
  check_same(s, w);

  s = dirty(), w = want(IORING_OP_ACCEPT);
  io_uring_prep_accept(&s, 8, reinterpret_cast<sockaddr*>(&sa), &salen, SOCK_NONBLOCK);
  w.fd = 8;
  w.addr = ptr(&sa);
  w.addr2 = ptr(&salen);
  w.accept_flags = SOCK_NONBLOCK;
  check_same(s, w);
  s = dirty();
  io_uring_prep_accept_direct(&s, 8, reinterpret_cast<sockaddr*>(&sa), &salen, SOCK_NONBLOCK, 4);
  w.file_index = 5;
  check_same(s, w);
  s = dirty();
  io_uring_prep_multishot_accept_direct(&s, 8, reinterpret_cast<sockaddr*>(&sa), &salen, SOCK_NONBLOCK);
  w.ioprio = IORING_ACCEPT_MULTISHOT;
  w.file_index = IORING_FILE_INDEX_ALLOC;
  check_same(s, w);
  s = dirty();
  io_uring_prep_multishot_accept(&s, 8, reinterpret_cast<sockaddr*>(&sa), &salen, SOCK_NONBLOCK);
  w.file_index = 0;
  check_same(s, w);

  s = dirty(), w = want(IORING_OP_SHUTDOWN);
  io_uring_prep_shutdown(&s, 8, SHUT_WR);
  w.fd = 8;
  w.len = SHUT_WR;
  check_same(s, w);
}

TEST_CASE("sockets: send and receive") {
  msghdr msg{};
  sockaddr_storage sa{};
  io_uring_sqe s = dirty(), w = want(IORING_OP_SEND);
  io_uring_prep_send(&s, 8, buf, 100, MSG_MORE);
  w.fd = 8;
  w.addr = ptr(buf);
  w.len = 100;
  w.msg_flags = MSG_MORE;
  check_same(s, w);
  // A size_t past INT_MAX is clamped as send(2) clamps it, never cut mod 2^32.
  s = dirty();
  io_uring_prep_send(&s, 8, buf, (std::size_t{1} << 32) + 100, MSG_MORE);
  w.len = INT_MAX;
  check_same(s, w);

  s = dirty();
  io_uring_prep_send(&s, 8, buf, 100, MSG_MORE);
  io_uring_prep_send_set_addr(&s, reinterpret_cast<sockaddr*>(&sa), 16);
  w.len = 100;
  w.addr2 = ptr(&sa);
  w.addr_len = 16;
  check_same(s, w);
  s = dirty();
  io_uring_prep_sendto(&s, 8, buf, 100, MSG_MORE, reinterpret_cast<sockaddr*>(&sa), 16);
  check_same(s, w);

  s = dirty(), w = want(IORING_OP_SEND);
  io_uring_prep_send_bundle(&s, 8, 0, 0);
  w.fd = 8;
  w.ioprio = IORING_RECVSEND_BUNDLE;  // IOSQE_BUFFER_SELECT and the group: the caller's
  check_same(s, w);

  s = dirty(), w = want(IORING_OP_SEND_ZC);
  io_uring_prep_send_zc(&s, 8, buf, 100, 0, IORING_SEND_ZC_REPORT_USAGE);
  w.fd = 8;
  w.addr = ptr(buf);
  w.len = 100;
  w.ioprio = IORING_SEND_ZC_REPORT_USAGE;
  check_same(s, w);
  s = dirty();
  io_uring_prep_send_zc(&s, 8, buf, 100, 0, 0x10000 | IORING_SEND_ZC_REPORT_USAGE);
  w.ioprio = 0xffff;  // bits the kernel refuses, not the flags mod 2^16
  check_same(s, w);
  s = dirty();
  io_uring_prep_send_zc_fixed(&s, 8, buf, 100, 0, 0, 3);
  w.ioprio = IORING_RECVSEND_FIXED_BUF;
  w.buf_index = 3;
  check_same(s, w);

  s = dirty(), w = want(IORING_OP_SENDMSG);
  io_uring_prep_sendmsg(&s, 8, &msg, MSG_NOSIGNAL);
  w.fd = 8;
  w.addr = ptr(&msg);
  w.msg_flags = MSG_NOSIGNAL;
  check_same(s, w);
  s = dirty();
  io_uring_prep_sendmsg_zc(&s, 8, &msg, MSG_NOSIGNAL);
  w.opcode = IORING_OP_SENDMSG_ZC;
  check_same(s, w);

  s = dirty(), w = want(IORING_OP_RECV);
  io_uring_prep_recv(&s, 8, buf, sizeof buf, MSG_WAITALL);
  w.fd = 8;
  w.addr = ptr(buf);
  w.len = sizeof buf;
  w.msg_flags = MSG_WAITALL;
  check_same(s, w);

  s = dirty(), w = want(IORING_OP_RECV);
  io_uring_prep_recv_multishot(&s, 8, nullptr, 0, 0);
  w.fd = 8;
  w.ioprio = IORING_RECV_MULTISHOT;
  check_same(s, w);

  s = dirty(), w = want(IORING_OP_RECVMSG);
  io_uring_prep_recvmsg(&s, 8, &msg, MSG_TRUNC);
  w.fd = 8;
  w.addr = ptr(&msg);
  w.msg_flags = MSG_TRUNC;
  check_same(s, w);
  s = dirty();
  io_uring_prep_recvmsg_multishot(&s, 8, &msg, MSG_TRUNC);
  w.ioprio = IORING_RECV_MULTISHOT;
  check_same(s, w);

  int value = 0;
  s = dirty(), w = want(IORING_OP_URING_CMD);
  io_uring_prep_cmd_sock(&s, SOCKET_URING_OP_GETSOCKOPT, 8, SOL_SOCKET, SO_RCVBUF, &value, sizeof value);
  w.fd = 8;
  w.cmd_op = SOCKET_URING_OP_GETSOCKOPT;
  w.level = SOL_SOCKET;
  w.optname = SO_RCVBUF;
  w.optval = ptr(&value);
  w.optlen = sizeof value;
  check_same(s, w);
  s = dirty(), w = want(IORING_OP_URING_CMD);
  io_uring_prep_cmd_sock(&s, SOCKET_URING_OP_SIOCINQ, 8, 0, 0, nullptr, 0);
  w.fd = 8;
  w.cmd_op = SOCKET_URING_OP_SIOCINQ;
  check_same(s, w);
}

TEST_CASE("poll and epoll") {
  io_uring_sqe s = dirty(), w = want(IORING_OP_POLL_ADD);
  io_uring_prep_poll_add(&s, 6, POLLIN | POLLOUT);
  w.fd = 6;
  w.poll32_events = POLLIN | POLLOUT;
  check_same(s, w);
  s = dirty();
  io_uring_prep_poll_multishot(&s, 6, POLLIN);
  w.poll32_events = POLLIN;
  w.len = IORING_POLL_ADD_MULTI;
  check_same(s, w);

  s = dirty(), w = want(IORING_OP_POLL_REMOVE);
  io_uring_prep_poll_remove(&s, 0x1234);
  w.addr = 0x1234;
  check_same(s, w);

  s = dirty();
  io_uring_prep_poll_update(&s, 0x1234, 0x5678, POLLOUT, IORING_POLL_UPDATE_EVENTS | IORING_POLL_UPDATE_USER_DATA);
  w.off = 0x5678;
  w.len = IORING_POLL_UPDATE_EVENTS | IORING_POLL_UPDATE_USER_DATA;
  w.poll32_events = POLLOUT;
  check_same(s, w);
  s = dirty();
  io_uring_prep_poll_update(&s, 0x1234, 0, POLLOUT, IORING_POLL_UPDATE_EVENTS);
  w.off = 0;
  w.len = IORING_POLL_UPDATE_EVENTS;
  check_same(s, w);
  // What a PollUpdate cannot say reaches the kernel as given (it refuses
  // a mask without UPDATE_EVENTS, user_data without UPDATE_USER_DATA).
  s = dirty();
  io_uring_prep_poll_update(&s, 0x1234, 0x5678, POLLOUT, 0);
  w.off = 0x5678;
  w.len = 0;
  w.poll32_events = POLLOUT;
  check_same(s, w);
  s = dirty();
  io_uring_prep_poll_update(&s, 0x1234, 0x5678, 0, 0);  // user_data without its flag
  w.off = 0x5678;
  w.len = 0;
  w.poll32_events = 0;
  check_same(s, w);
  s = dirty();
  io_uring_prep_poll_update(&s, 0x1234, 0, POLLIN, IORING_POLL_UPDATE_EVENTS | IORING_POLL_ADD_MULTI);
  w.off = 0;
  w.len = IORING_POLL_UPDATE_EVENTS | IORING_POLL_ADD_MULTI;
  w.poll32_events = POLLIN;
  check_same(s, w);

  epoll_event ev{};
  s = dirty(), w = want(IORING_OP_EPOLL_CTL);
  io_uring_prep_epoll_ctl(&s, 10, 11, EPOLL_CTL_ADD, &ev);
  w.fd = 10;
  w.off = 11;
  w.len = EPOLL_CTL_ADD;
  w.addr = ptr(&ev);
  check_same(s, w);
}

TEST_CASE("timeouts and cancellation") {
  __kernel_timespec ts{};
  io_uring_sqe s = dirty(), w = want(IORING_OP_TIMEOUT);
  io_uring_prep_timeout(&s, &ts, 3, IORING_TIMEOUT_ABS);
  w.addr = ptr(&ts);
  w.len = 1;
  w.off = 3;
  w.timeout_flags = IORING_TIMEOUT_ABS;
  check_same(s, w);

  s = dirty(), w = want(IORING_OP_TIMEOUT_REMOVE);
  io_uring_prep_timeout_remove(&s, 0x99, 0);
  w.addr = 0x99;
  check_same(s, w);
  s = dirty();
  io_uring_prep_timeout_remove(&s, 0x99, IORING_TIMEOUT_ABS);  // passed on: the kernel says -EINVAL
  w.timeout_flags = IORING_TIMEOUT_ABS;
  check_same(s, w);

  s = dirty(), w = want(IORING_OP_TIMEOUT_REMOVE);
  io_uring_prep_timeout_update(&s, &ts, 0x99, IORING_TIMEOUT_ABS);
  w.addr = 0x99;
  w.addr2 = ptr(&ts);
  w.timeout_flags = IORING_TIMEOUT_ABS | IORING_TIMEOUT_UPDATE;
  check_same(s, w);

  s = dirty(), w = want(IORING_OP_LINK_TIMEOUT);
  io_uring_prep_link_timeout(&s, &ts, 0);
  w.addr = ptr(&ts);
  w.len = 1;
  check_same(s, w);

  s = dirty(), w = want(IORING_OP_ASYNC_CANCEL);
  io_uring_prep_cancel64(&s, 0x77, IORING_ASYNC_CANCEL_ALL);
  w.addr = 0x77;
  w.cancel_flags = IORING_ASYNC_CANCEL_ALL;
  check_same(s, w);
  s = dirty();
  io_uring_prep_cancel(&s, buf, 0);
  w.addr = ptr(buf);
  w.cancel_flags = 0;
  check_same(s, w);

  s = dirty(), w = want(IORING_OP_ASYNC_CANCEL);
  io_uring_prep_cancel_fd(&s, 6, IORING_ASYNC_CANCEL_ALL);
  w.fd = 6;
  w.cancel_flags = IORING_ASYNC_CANCEL_ALL | IORING_ASYNC_CANCEL_FD;
  check_same(s, w);
}

TEST_CASE("messages and provided buffers") {
  io_uring_sqe s = dirty(), w = want(IORING_OP_MSG_RING);
  io_uring_prep_msg_ring(&s, 12, 0x20, 0xabcd, 0);
  w.fd = 12;
  w.len = 0x20;
  w.off = 0xabcd;  // addr 0: IORING_MSG_DATA
  check_same(s, w);
  s = dirty();
  io_uring_prep_msg_ring(&s, 12, 0x20, 0xabcd, IORING_MSG_RING_CQE_SKIP);  // passed on (-EINVAL for data)
  w.msg_ring_flags = IORING_MSG_RING_CQE_SKIP;
  check_same(s, w);
  s = dirty();
  io_uring_prep_msg_ring_cqe_flags(&s, 12, 0x20, 0xabcd, 0, 0x8);
  w.msg_ring_flags = IORING_MSG_RING_FLAGS_PASS;
  w.file_index = 0x8;
  check_same(s, w);

  s = dirty(), w = want(IORING_OP_MSG_RING);
  io_uring_prep_msg_ring_fd(&s, 12, 2, 5, 0xabcd, 0);
  w.fd = 12;
  w.addr = IORING_MSG_SEND_FD;
  w.addr3 = 2;
  w.file_index = 6;
  w.off = 0xabcd;
  check_same(s, w);
  s = dirty();
  io_uring_prep_msg_ring_fd_alloc(&s, 12, 2, 0xabcd, IORING_MSG_RING_CQE_SKIP);
  w.file_index = IORING_FILE_INDEX_ALLOC;
  w.msg_ring_flags = IORING_MSG_RING_CQE_SKIP;
  check_same(s, w);

  s = dirty(), w = want(IORING_OP_PROVIDE_BUFFERS);
  io_uring_prep_provide_buffers(&s, buf, 16, 4, 7, 100);
  w.fd = 4;
  w.addr = ptr(buf);
  w.len = 16;
  w.off = 100;
  w.buf_group = 7;
  check_same(s, w);
  s = dirty();
  io_uring_prep_provide_buffers(&s, buf, 16, 4, 7, 70000);  // as liburing: the kernel says -E2BIG
  w.off = 70000;
  check_same(s, w);
  s = dirty();
  io_uring_prep_provide_buffers(&s, buf, 16, 4, 65536 + 7, 100);  // not group 7: refused
  CHECK(s.opcode == 0xff);
  CHECK(unsigned{s.buf_group} == 0);

  s = dirty(), w = want(IORING_OP_REMOVE_BUFFERS);
  io_uring_prep_remove_buffers(&s, 4, 7);
  w.fd = 4;
  w.buf_group = 7;
  check_same(s, w);
}

TEST_CASE("futexes and waitid") {
  std::uint32_t futex = 0;
  io_uring_sqe s = dirty(), w = want(IORING_OP_FUTEX_WAIT);
  io_uring_prep_futex_wait(&s, &futex, 5, 0xff, 0x82, 0);
  w.fd = 0x82;
  w.addr = ptr(&futex);
  w.addr2 = 5;
  w.addr3 = 0xff;
  check_same(s, w);
  s = dirty();
  io_uring_prep_futex_wait(&s, &futex, 1ULL << 32, 0xff, 0x82, 1);  // passed on: the kernel refuses both
  w.addr2 = 1ULL << 32;
  w.futex_flags = 1;
  check_same(s, w);

  s = dirty(), w = want(IORING_OP_FUTEX_WAKE);
  io_uring_prep_futex_wake(&s, &futex, 3, 0xff, 0x82, 0);
  w.fd = 0x82;
  w.addr = ptr(&futex);
  w.addr2 = 3;
  w.addr3 = 0xff;
  check_same(s, w);

  unsigned char waitv[48];
  s = dirty(), w = want(IORING_OP_FUTEX_WAITV);
  io_uring_prep_futex_waitv(&s, reinterpret_cast<struct futex_waitv*>(waitv), 2, 0);
  w.addr = ptr(waitv);
  w.len = 2;
  check_same(s, w);

  siginfo_t info;
  s = dirty(), w = want(IORING_OP_WAITID);
  io_uring_prep_waitid(&s, P_PID, 1234, &info, WEXITED, 0);
  w.fd = 1234;
  w.len = P_PID;
  w.file_index = WEXITED;
  w.addr2 = ptr(&info);
  check_same(s, w);
}

TEST_CASE("later preps: vectored fixed reads/writes, sendmsg_zc_fixed, discard, pipe, epoll_wait") {
  iovec iov[2] = {};
  io_uring_sqe s = dirty(), w = want(IORING_OP_READV_FIXED);
  io_uring_prep_readv_fixed(&s, 3, iov, 2, 77, RWF_NOWAIT, 4);
  w.fd = 3;
  w.addr = ptr(iov);
  w.len = 2;
  w.off = 77;
  w.rw_flags = RWF_NOWAIT;
  w.buf_index = 4;
  check_same(s, w);
  s = dirty();
  io_uring_prep_writev_fixed(&s, 3, iov, 2, 77, RWF_NOWAIT, 65536 + 4);
  w.opcode = IORING_OP_WRITEV_FIXED;
  w.buf_index = 0xffff;
  check_same(s, w);

  msghdr msg{};
  s = dirty(), w = want(IORING_OP_SENDMSG_ZC);
  io_uring_prep_sendmsg_zc_fixed(&s, 8, &msg, MSG_NOSIGNAL, 2);
  w.fd = 8;
  w.addr = ptr(&msg);
  w.msg_flags = MSG_NOSIGNAL;
  w.ioprio = IORING_RECVSEND_FIXED_BUF;
  w.buf_index = 2;
  check_same(s, w);

  s = dirty(), w = want(IORING_OP_URING_CMD);
  io_uring_prep_cmd_discard(&s, 9, 4096, 8192);
  w.fd = 9;
  w.cmd_op = 0x1200;  // BLOCK_URING_CMD_DISCARD, _IO(0x12, 0)
  w.addr = 4096;
  w.addr3 = 8192;
  check_same(s, w);

  int fds[2];
  s = dirty(), w = want(IORING_OP_PIPE);
  io_uring_prep_pipe(&s, fds, O_NONBLOCK);
  w.addr = ptr(fds);
  w.pipe_flags = O_NONBLOCK;
  check_same(s, w);
  s = dirty();
  io_uring_prep_pipe_direct(&s, fds, O_NONBLOCK, 6);
  w.file_index = 7;
  check_same(s, w);

  epoll_event events[4];
  s = dirty(), w = want(IORING_OP_EPOLL_WAIT);
  io_uring_prep_epoll_wait(&s, 10, events, 4, 0);
  w.fd = 10;
  w.addr = ptr(events);
  w.len = 4;
  check_same(s, w);
}

TEST_CASE("nop128 writes the first 64 bytes only, as liburing does: on a 64-byte-SQE ring the next slot stays (review)") {
  io_uring_sqe slot[2];
  std::memset(slot, 0xa5, sizeof slot);
  io_uring_prep_nop128(&slot[0]);
  io_uring_sqe w = want(IORING_OP_NOP128);
  check_same(slot[0], w);
  unsigned char dirty_bytes[sizeof(io_uring_sqe)];
  std::memset(dirty_bytes, 0xa5, sizeof dirty_bytes);
  CHECK(std::memcmp(&slot[1], dirty_bytes, sizeof dirty_bytes) == 0);  // used to be zeroed
}
