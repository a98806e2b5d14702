// The io_uring kernel ABI, self-contained.
//
// This header restates include/uapi/linux/io_uring.h (and the ring-less query
// interface of include/uapi/linux/io_uring/query.h) as of Linux 6.18, so the
// library neither needs liburing nor depends on how old the build machine's
// kernel headers are. Every type, field, enumerator and constant keeps the
// kernel's spelling, so `grep IORING_FOO` works in both trees; the only
// additions are the name/version tables at the end.
//
// A name being defined here says nothing about the running kernel. Whether an
// opcode works must be learned at run time (IORING_REGISTER_PROBE), whether a
// setup flag works from io_uring_setup(2) itself, and features from
// io_uring_params::features. The "since" versions below exist only to make
// error messages say "needs Linux X.Y".
//
// Do not mix this header with <linux/io_uring.h> or <liburing.h> in one
// translation unit: those define these names as macros, which would rewrite
// every later use of them. If they were included first we stop with #error;
// if this header comes first, later qualified uses such as
// abi::IORING_SETUP_SQPOLL will still break, so keep them in separate files.
//
// Deliberate differences from the C header, all layout-neutral:
//  - __kernel_timespec is `kernel_timespec` and struct open_how is `open_how`
//    (both defined here, so no other kernel header is needed).
//  - io_uring_cqe has no `big_cqe[]` member: a flexible array member cannot be
//    embedded in another struct in C++. On IORING_SETUP_CQE32 rings (and for
//    CQEs flagged IORING_CQE_F_32 on IORING_SETUP_CQE_MIXED rings) each CQE is
//    followed by 16 more bytes, two u64 values, that the kernel fills in.
//  - The trailing variable-length arrays (io_uring_sqe::cmd,
//    io_uring_probe::ops, io_uring_buf_ring::bufs) are zero-length arrays, as
//    the kernel's own __DECLARE_FLEX_ARRAY does when compiled as C++, so the
//    structs can still be placed at the head of a larger buffer struct.
//  - The kernel packs the buf_index/buf_group union of io_uring_sqe for the
//    old ARM OABI; no target we build for needs that. The static_asserts
//    below pin every offset either way.
//  - Anonymous kernel enums whose values go into a field of a known width
//    became typed constants instead of enumerators.
#pragma once

#ifdef IORING_SETUP_IOPOLL
#error "syscalls/abi.h: include it before <linux/io_uring.h> (the system header's macros would rewrite these names)"
#endif

#include <cstddef>
#include <cstdint>

namespace uring::abi {

// ---------------------------------------------------------------------------
// Types borrowed from other uapi headers
// ---------------------------------------------------------------------------

// struct __kernel_timespec (linux/time_types.h): 64-bit time on every ABI.
struct kernel_timespec {
  std::int64_t tv_sec;
  long long tv_nsec;
};

// struct open_how (linux/openat2.h), the argument of IORING_OP_OPENAT2.
struct open_how {
  std::uint64_t flags;
  std::uint64_t mode;
  std::uint64_t resolve;
};

// ---------------------------------------------------------------------------
// Submission queue entry
// ---------------------------------------------------------------------------

// One submission. 64 bytes; 128 on IORING_SETUP_SQE128 rings, where the extra
// 64 bytes continue `cmd` (80 bytes of command data in total).
struct io_uring_sqe {
  std::uint8_t opcode;   // an io_uring_op value
  std::uint8_t flags;    // IOSQE_* bits
  std::uint16_t ioprio;  // I/O priority, or per-opcode flags for some opcodes
  std::int32_t fd;       // target file descriptor (or fixed-file index)
  union {
    std::uint64_t off;  // file offset
    std::uint64_t addr2;
    struct {
      std::uint32_t cmd_op;  // IORING_OP_URING_CMD sub-command
      std::uint32_t __pad1;
    };
  };
  union {
    std::uint64_t addr;  // buffer or iovec array address
    std::uint64_t splice_off_in;
    struct {
      std::uint32_t level;    // socket option level (SOCKET_URING_OP_*SOCKOPT)
      std::uint32_t optname;  // socket option name
    };
  };
  std::uint32_t len;  // buffer length or iovec count
  union {             // per-opcode flags, one 32-bit word
    std::uint32_t rw_flags;
    std::uint32_t fsync_flags;
    std::uint16_t poll_events;  // legacy 16-bit poll mask
    std::uint32_t poll32_events;
    std::uint32_t sync_range_flags;
    std::uint32_t msg_flags;
    std::uint32_t timeout_flags;
    std::uint32_t accept_flags;
    std::uint32_t cancel_flags;
    std::uint32_t open_flags;
    std::uint32_t statx_flags;
    std::uint32_t fadvise_advice;
    std::uint32_t splice_flags;
    std::uint32_t rename_flags;
    std::uint32_t unlink_flags;
    std::uint32_t hardlink_flags;
    std::uint32_t xattr_flags;
    std::uint32_t msg_ring_flags;
    std::uint32_t uring_cmd_flags;
    std::uint32_t waitid_flags;
    std::uint32_t futex_flags;
    std::uint32_t install_fd_flags;
    std::uint32_t nop_flags;
    std::uint32_t pipe_flags;
  };
  std::uint64_t user_data;  // returned untouched in the completion
  union {
    std::uint16_t buf_index;  // registered buffer index
    std::uint16_t buf_group;  // provided-buffer group (IOSQE_BUFFER_SELECT)
  };
  std::uint16_t personality;  // credentials id from IORING_REGISTER_PERSONALITY
  union {
    std::int32_t splice_fd_in;
    std::uint32_t file_index;  // direct-descriptor slot + 1, or IORING_FILE_INDEX_ALLOC
    std::uint32_t zcrx_ifq_idx;
    std::uint32_t optlen;
    struct {
      std::uint16_t addr_len;
      std::uint16_t __pad3[1];
    };
    struct {
      std::uint8_t write_stream;
      std::uint8_t __pad4[3];
    };
  };
  union {
    struct {
      std::uint64_t addr3;
      std::uint64_t __pad2[1];
    };
    struct {
      std::uint64_t attr_ptr;        // io_uring_attr_pi address
      std::uint64_t attr_type_mask;  // IORING_RW_ATTR_FLAG_* bits
    };
    std::uint64_t optval;
    std::uint8_t cmd[0];  // IORING_OP_URING_CMD payload (runs into the next 64 bytes on SQE128 rings)
  };
};

// sqe->attr_type_mask bits.
inline constexpr std::uint64_t IORING_RW_ATTR_FLAG_PI = 1ULL << 0;

// Protection-information attribute for reads and writes (IORING_RW_ATTR_FLAG_PI).
struct io_uring_attr_pi {
  std::uint16_t flags;
  std::uint16_t app_tag;
  std::uint32_t len;
  std::uint64_t addr;
  std::uint64_t seed;
  std::uint64_t rsvd;
};

// sqe->file_index value asking the kernel to pick a free direct-descriptor
// slot; the chosen slot comes back in cqe->res.
inline constexpr std::uint32_t IORING_FILE_INDEX_ALLOC = ~0U;

// Bit numbers of the sqe->flags bits.
enum io_uring_sqe_flags_bit : std::uint8_t {
  IOSQE_FIXED_FILE_BIT,
  IOSQE_IO_DRAIN_BIT,
  IOSQE_IO_LINK_BIT,
  IOSQE_IO_HARDLINK_BIT,
  IOSQE_ASYNC_BIT,
  IOSQE_BUFFER_SELECT_BIT,
  IOSQE_CQE_SKIP_SUCCESS_BIT,
};

// sqe->flags.
inline constexpr std::uint8_t IOSQE_FIXED_FILE = 1U << IOSQE_FIXED_FILE_BIT;              // fd is a registered-file index
inline constexpr std::uint8_t IOSQE_IO_DRAIN = 1U << IOSQE_IO_DRAIN_BIT;                  // start after everything before it
inline constexpr std::uint8_t IOSQE_IO_LINK = 1U << IOSQE_IO_LINK_BIT;                    // next SQE waits for this one
inline constexpr std::uint8_t IOSQE_IO_HARDLINK = 1U << IOSQE_IO_HARDLINK_BIT;            // link that survives failure
inline constexpr std::uint8_t IOSQE_ASYNC = 1U << IOSQE_ASYNC_BIT;                        // go straight to io-wq
inline constexpr std::uint8_t IOSQE_BUFFER_SELECT = 1U << IOSQE_BUFFER_SELECT_BIT;        // pick from sqe->buf_group
inline constexpr std::uint8_t IOSQE_CQE_SKIP_SUCCESS = 1U << IOSQE_CQE_SKIP_SUCCESS_BIT;  // no CQE unless it fails

// ---------------------------------------------------------------------------
// io_uring_setup(2) flags (io_uring_params::flags); trailing comment = first
// Linux release that accepts the flag.
// ---------------------------------------------------------------------------

inline constexpr std::uint32_t IORING_SETUP_IOPOLL = 1U << 0;            // 5.1  busy-poll for completions
inline constexpr std::uint32_t IORING_SETUP_SQPOLL = 1U << 1;            // 5.1  kernel thread polls the SQ
inline constexpr std::uint32_t IORING_SETUP_SQ_AFF = 1U << 2;            // 5.1  sq_thread_cpu is meaningful
inline constexpr std::uint32_t IORING_SETUP_CQSIZE = 1U << 3;            // 5.5  cq_entries is meaningful
inline constexpr std::uint32_t IORING_SETUP_CLAMP = 1U << 4;             // 5.6  cap sizes instead of failing
inline constexpr std::uint32_t IORING_SETUP_ATTACH_WQ = 1U << 5;         // 5.6  share wq_fd's io-wq
inline constexpr std::uint32_t IORING_SETUP_R_DISABLED = 1U << 6;        // 5.10 start disabled
inline constexpr std::uint32_t IORING_SETUP_SUBMIT_ALL = 1U << 7;        // 5.18 keep submitting after an error
inline constexpr std::uint32_t IORING_SETUP_COOP_TASKRUN = 1U << 8;      // 5.19 no IPI to run task work
inline constexpr std::uint32_t IORING_SETUP_TASKRUN_FLAG = 1U << 9;      // 5.19 raise IORING_SQ_TASKRUN
inline constexpr std::uint32_t IORING_SETUP_SQE128 = 1U << 10;           // 5.19 128-byte SQEs
inline constexpr std::uint32_t IORING_SETUP_CQE32 = 1U << 11;            // 5.19 32-byte CQEs
inline constexpr std::uint32_t IORING_SETUP_SINGLE_ISSUER = 1U << 12;    // 6.0  one submitting task
inline constexpr std::uint32_t IORING_SETUP_DEFER_TASKRUN = 1U << 13;    // 6.1  task work only when waiting
inline constexpr std::uint32_t IORING_SETUP_NO_MMAP = 1U << 14;          // 6.5  caller supplies ring memory
inline constexpr std::uint32_t IORING_SETUP_REGISTERED_FD_ONLY = 1U << 15;  // 6.5  return a registered ring index
inline constexpr std::uint32_t IORING_SETUP_NO_SQARRAY = 1U << 16;       // 6.6  no SQ index array
inline constexpr std::uint32_t IORING_SETUP_HYBRID_IOPOLL = 1U << 17;    // 6.13 sleep, then poll (with IOPOLL)
inline constexpr std::uint32_t IORING_SETUP_CQE_MIXED = 1U << 18;        // 6.18 16- and 32-byte CQEs in one ring

// ---------------------------------------------------------------------------
// Opcodes (io_uring_sqe::opcode); trailing comment = first Linux release.
// ---------------------------------------------------------------------------

enum io_uring_op : std::uint8_t {
  IORING_OP_NOP,               // 5.1
  IORING_OP_READV,             // 5.1
  IORING_OP_WRITEV,            // 5.1
  IORING_OP_FSYNC,             // 5.1
  IORING_OP_READ_FIXED,        // 5.1
  IORING_OP_WRITE_FIXED,       // 5.1
  IORING_OP_POLL_ADD,          // 5.1
  IORING_OP_POLL_REMOVE,       // 5.1
  IORING_OP_SYNC_FILE_RANGE,   // 5.2
  IORING_OP_SENDMSG,           // 5.3
  IORING_OP_RECVMSG,           // 5.3
  IORING_OP_TIMEOUT,           // 5.4
  IORING_OP_TIMEOUT_REMOVE,    // 5.5
  IORING_OP_ACCEPT,            // 5.5
  IORING_OP_ASYNC_CANCEL,      // 5.5
  IORING_OP_LINK_TIMEOUT,      // 5.5
  IORING_OP_CONNECT,           // 5.5
  IORING_OP_FALLOCATE,         // 5.6
  IORING_OP_OPENAT,            // 5.6
  IORING_OP_CLOSE,             // 5.6
  IORING_OP_FILES_UPDATE,      // 5.6
  IORING_OP_STATX,             // 5.6
  IORING_OP_READ,              // 5.6
  IORING_OP_WRITE,             // 5.6
  IORING_OP_FADVISE,           // 5.6
  IORING_OP_MADVISE,           // 5.6
  IORING_OP_SEND,              // 5.6
  IORING_OP_RECV,              // 5.6
  IORING_OP_OPENAT2,           // 5.6
  IORING_OP_EPOLL_CTL,         // 5.6
  IORING_OP_SPLICE,            // 5.7
  IORING_OP_PROVIDE_BUFFERS,   // 5.7
  IORING_OP_REMOVE_BUFFERS,    // 5.7
  IORING_OP_TEE,               // 5.8
  IORING_OP_SHUTDOWN,          // 5.11
  IORING_OP_RENAMEAT,          // 5.11
  IORING_OP_UNLINKAT,          // 5.11
  IORING_OP_MKDIRAT,           // 5.15
  IORING_OP_SYMLINKAT,         // 5.15
  IORING_OP_LINKAT,            // 5.15
  IORING_OP_MSG_RING,          // 5.18
  IORING_OP_FSETXATTR,         // 5.19
  IORING_OP_SETXATTR,          // 5.19
  IORING_OP_FGETXATTR,         // 5.19
  IORING_OP_GETXATTR,          // 5.19
  IORING_OP_SOCKET,            // 5.19
  IORING_OP_URING_CMD,         // 5.19
  IORING_OP_SEND_ZC,           // 6.0
  IORING_OP_SENDMSG_ZC,        // 6.1
  IORING_OP_READ_MULTISHOT,    // 6.7
  IORING_OP_WAITID,            // 6.7
  IORING_OP_FUTEX_WAIT,        // 6.7
  IORING_OP_FUTEX_WAKE,        // 6.7
  IORING_OP_FUTEX_WAITV,       // 6.7
  IORING_OP_FIXED_FD_INSTALL,  // 6.8
  IORING_OP_FTRUNCATE,         // 6.9
  IORING_OP_BIND,              // 6.11
  IORING_OP_LISTEN,            // 6.11
  IORING_OP_RECV_ZC,           // 6.15
  IORING_OP_EPOLL_WAIT,        // 6.15
  IORING_OP_READV_FIXED,       // 6.15
  IORING_OP_WRITEV_FIXED,      // 6.15
  IORING_OP_PIPE,              // 6.16

  IORING_OP_LAST,  // one past the highest opcode Linux 6.18 knows
};

// Opcodes that arrived after Linux 6.18. They stay outside enum io_uring_op
// (whose IORING_OP_LAST is 6.18's) so that code can name them and the probe
// can say they are missing on older kernels. Both take a 128-byte SQE, so
// they need a ring set up with IORING_SETUP_SQE128.
inline constexpr std::uint8_t IORING_OP_NOP128 = 63;        // 6.19
inline constexpr std::uint8_t IORING_OP_URING_CMD128 = 64;  // 6.19

// How many opcodes this header can name (op_name/op_since): 6.18's and the
// newer ones just above.
inline constexpr unsigned kNamedOps = 65;

// sqe->uring_cmd_flags (the top 8 bits belong to the kernel).
inline constexpr std::uint32_t IORING_URING_CMD_FIXED = 1U << 0;      // data is in registered buffer sqe->buf_index
inline constexpr std::uint32_t IORING_URING_CMD_MULTISHOT = 1U << 1;  // multishot; needs IOSQE_BUFFER_SELECT, not FIXED
inline constexpr std::uint32_t IORING_URING_CMD_MASK = IORING_URING_CMD_FIXED | IORING_URING_CMD_MULTISHOT;

// sqe->fsync_flags.
inline constexpr std::uint32_t IORING_FSYNC_DATASYNC = 1U << 0;

// sqe->timeout_flags (IORING_OP_TIMEOUT, TIMEOUT_REMOVE, LINK_TIMEOUT).
inline constexpr std::uint32_t IORING_TIMEOUT_ABS = 1U << 0;
inline constexpr std::uint32_t IORING_TIMEOUT_UPDATE = 1U << 1;
inline constexpr std::uint32_t IORING_TIMEOUT_BOOTTIME = 1U << 2;
inline constexpr std::uint32_t IORING_TIMEOUT_REALTIME = 1U << 3;
inline constexpr std::uint32_t IORING_LINK_TIMEOUT_UPDATE = 1U << 4;
inline constexpr std::uint32_t IORING_TIMEOUT_ETIME_SUCCESS = 1U << 5;
inline constexpr std::uint32_t IORING_TIMEOUT_MULTISHOT = 1U << 6;
inline constexpr std::uint32_t IORING_TIMEOUT_CLOCK_MASK = IORING_TIMEOUT_BOOTTIME | IORING_TIMEOUT_REALTIME;
inline constexpr std::uint32_t IORING_TIMEOUT_UPDATE_MASK = IORING_TIMEOUT_UPDATE | IORING_LINK_TIMEOUT_UPDATE;

// sqe->splice_flags: on top of splice(2)'s flags, "splice_fd_in is a fixed file".
inline constexpr std::uint32_t SPLICE_F_FD_IN_FIXED = 1U << 31;

// IORING_OP_POLL_ADD / POLL_REMOVE command flags. They live in sqe->len,
// because sqe->poll32_events holds the event mask.
inline constexpr std::uint32_t IORING_POLL_ADD_MULTI = 1U << 0;         // multishot poll
inline constexpr std::uint32_t IORING_POLL_UPDATE_EVENTS = 1U << 1;     // update the event mask of sqe->addr
inline constexpr std::uint32_t IORING_POLL_UPDATE_USER_DATA = 1U << 2;  // update its user_data to sqe->off
inline constexpr std::uint32_t IORING_POLL_ADD_LEVEL = 1U << 3;         // in the uapi, but POLL_ADD refuses it (-EINVAL: io_poll_add_prep takes only ADD_MULTI)

// sqe->cancel_flags (IORING_OP_ASYNC_CANCEL, IORING_REGISTER_SYNC_CANCEL).
inline constexpr std::uint32_t IORING_ASYNC_CANCEL_ALL = 1U << 0;       // every match, not just the first
inline constexpr std::uint32_t IORING_ASYNC_CANCEL_FD = 1U << 1;        // match on fd
inline constexpr std::uint32_t IORING_ASYNC_CANCEL_ANY = 1U << 2;       // match everything
inline constexpr std::uint32_t IORING_ASYNC_CANCEL_FD_FIXED = 1U << 3;  // the fd is a fixed-file index
inline constexpr std::uint32_t IORING_ASYNC_CANCEL_USERDATA = 1U << 4;  // match on user_data (the default)
inline constexpr std::uint32_t IORING_ASYNC_CANCEL_OP = 1U << 5;        // match on opcode

// send/recv family flags, carried in sqe->ioprio.
inline constexpr std::uint16_t IORING_RECVSEND_POLL_FIRST = 1U << 0;   // arm poll before the first attempt
inline constexpr std::uint16_t IORING_RECV_MULTISHOT = 1U << 1;        // multishot receive
inline constexpr std::uint16_t IORING_RECVSEND_FIXED_BUF = 1U << 2;    // registered buffer in sqe->buf_index
inline constexpr std::uint16_t IORING_SEND_ZC_REPORT_USAGE = 1U << 3;  // report copying in the notification CQE
inline constexpr std::uint16_t IORING_RECVSEND_BUNDLE = 1U << 4;       // consume several provided buffers at once
inline constexpr std::uint16_t IORING_SEND_VECTORIZED = 1U << 5;       // SEND[_ZC] takes an iovec array

// Set in the notification CQE's res when IORING_SEND_ZC_REPORT_USAGE was
// requested and the data had to be copied; treat the other bits as reserved.
inline constexpr std::uint32_t IORING_NOTIF_USAGE_ZC_COPIED = 1U << 31;

// IORING_OP_ACCEPT flags, carried in sqe->ioprio.
inline constexpr std::uint16_t IORING_ACCEPT_MULTISHOT = 1U << 0;
inline constexpr std::uint16_t IORING_ACCEPT_DONTWAIT = 1U << 1;
inline constexpr std::uint16_t IORING_ACCEPT_POLL_FIRST = 1U << 2;

// IORING_OP_MSG_RING command, carried in sqe->addr.
enum io_uring_msg_ring_flags : std::uint32_t {
  IORING_MSG_DATA,     // post a CQE with res = sqe->len and user_data = sqe->off
  IORING_MSG_SEND_FD,  // install one of our fixed files into the target ring
};

// sqe->msg_ring_flags.
inline constexpr std::uint32_t IORING_MSG_RING_CQE_SKIP = 1U << 0;    // no CQE in the target ring (SEND_FD only)
inline constexpr std::uint32_t IORING_MSG_RING_FLAGS_PASS = 1U << 1;  // target cqe->flags = sqe->file_index

// sqe->install_fd_flags (IORING_OP_FIXED_FD_INSTALL).
inline constexpr std::uint32_t IORING_FIXED_FD_NO_CLOEXEC = 1U << 0;

// sqe->nop_flags (IORING_OP_NOP); test hooks for exercising the core.
inline constexpr std::uint32_t IORING_NOP_INJECT_RESULT = 1U << 0;  // complete with res = sqe->len
inline constexpr std::uint32_t IORING_NOP_FILE = 1U << 1;           // look up sqe->fd
inline constexpr std::uint32_t IORING_NOP_FIXED_FILE = 1U << 2;     // ... as a fixed file
inline constexpr std::uint32_t IORING_NOP_FIXED_BUFFER = 1U << 3;   // look up registered buffer sqe->buf_index
inline constexpr std::uint32_t IORING_NOP_TW = 1U << 4;             // complete via task work
inline constexpr std::uint32_t IORING_NOP_CQE32 = 1U << 5;          // post a 32-byte CQE (CQE_MIXED rings)

// ---------------------------------------------------------------------------
// Completion queue entry
// ---------------------------------------------------------------------------

// One completion, 16 bytes. See the header comment for the 16 extra bytes
// that follow it on CQE32 rings and for IORING_CQE_F_32 entries.
struct io_uring_cqe {
  std::uint64_t user_data;  // the submitting SQE's user_data
  std::int32_t res;         // result, or -errno
  std::uint32_t flags;      // IORING_CQE_F_* bits; buffer id in the top 16 bits
};

// cqe->flags.
inline constexpr std::uint32_t IORING_CQE_F_BUFFER = 1U << 0;         // upper 16 bits hold a buffer id
inline constexpr std::uint32_t IORING_CQE_F_MORE = 1U << 1;           // the request will post more CQEs
inline constexpr std::uint32_t IORING_CQE_F_SOCK_NONEMPTY = 1U << 2;  // socket still had data after a recv
inline constexpr std::uint32_t IORING_CQE_F_NOTIF = 1U << 3;          // zero-copy send notification
inline constexpr std::uint32_t IORING_CQE_F_BUF_MORE = 1U << 4;       // incremental buffer not used up yet
inline constexpr std::uint32_t IORING_CQE_F_SKIP = 1U << 5;           // filler entry: ignore it (CQE_MIXED)
inline constexpr std::uint32_t IORING_CQE_F_32 = 1U << 15;            // 32-byte entry (CQE_MIXED)

inline constexpr std::uint32_t IORING_CQE_BUFFER_SHIFT = 16;  // buffer id = flags >> this

// ---------------------------------------------------------------------------
// mmap(2) offsets and ring layout
// ---------------------------------------------------------------------------

inline constexpr std::uint64_t IORING_OFF_SQ_RING = 0ULL;
inline constexpr std::uint64_t IORING_OFF_CQ_RING = 0x8000000ULL;
inline constexpr std::uint64_t IORING_OFF_SQES = 0x10000000ULL;
inline constexpr std::uint64_t IORING_OFF_PBUF_RING = 0x80000000ULL;  // | bgid << IORING_OFF_PBUF_SHIFT
inline constexpr std::uint32_t IORING_OFF_PBUF_SHIFT = 16;
inline constexpr std::uint64_t IORING_OFF_MMAP_MASK = 0xf8000000ULL;

// Where the SQ ring's fields live, as offsets from its mapping.
struct io_sqring_offsets {
  std::uint32_t head;
  std::uint32_t tail;
  std::uint32_t ring_mask;
  std::uint32_t ring_entries;
  std::uint32_t flags;    // IORING_SQ_* bits
  std::uint32_t dropped;  // count of invalid SQEs skipped
  std::uint32_t array;    // index array (absent with IORING_SETUP_NO_SQARRAY)
  std::uint32_t resv1;
  std::uint64_t user_addr;  // IORING_SETUP_NO_MMAP: address of the SQE array
};

// The SQ ring's flags word.
inline constexpr std::uint32_t IORING_SQ_NEED_WAKEUP = 1U << 0;  // SQPOLL thread sleeps; enter with SQ_WAKEUP
inline constexpr std::uint32_t IORING_SQ_CQ_OVERFLOW = 1U << 1;  // completions are parked in the overflow list
inline constexpr std::uint32_t IORING_SQ_TASKRUN = 1U << 2;      // task work pending; enter to run it

// Where the CQ ring's fields live, as offsets from its mapping.
struct io_cqring_offsets {
  std::uint32_t head;
  std::uint32_t tail;
  std::uint32_t ring_mask;
  std::uint32_t ring_entries;
  std::uint32_t overflow;  // count of CQEs lost
  std::uint32_t cqes;      // the CQE array
  std::uint32_t flags;     // IORING_CQ_* bits
  std::uint32_t resv1;
  std::uint64_t user_addr;  // IORING_SETUP_NO_MMAP: address of the ring memory
};

// The CQ ring's flags word.
inline constexpr std::uint32_t IORING_CQ_EVENTFD_DISABLED = 1U << 0;  // don't signal the registered eventfd

// ---------------------------------------------------------------------------
// io_uring_enter(2) flags
// ---------------------------------------------------------------------------

inline constexpr std::uint32_t IORING_ENTER_GETEVENTS = 1U << 0;       // wait for min_complete CQEs
inline constexpr std::uint32_t IORING_ENTER_SQ_WAKEUP = 1U << 1;       // wake the SQPOLL thread
inline constexpr std::uint32_t IORING_ENTER_SQ_WAIT = 1U << 2;         // wait for SQ space (SQPOLL)
inline constexpr std::uint32_t IORING_ENTER_EXT_ARG = 1U << 3;         // arg is io_uring_getevents_arg
inline constexpr std::uint32_t IORING_ENTER_REGISTERED_RING = 1U << 4; // fd is a registered ring index
inline constexpr std::uint32_t IORING_ENTER_ABS_TIMER = 1U << 5;       // the timeout is absolute
inline constexpr std::uint32_t IORING_ENTER_EXT_ARG_REG = 1U << 6;     // arg is an offset into the wait region
inline constexpr std::uint32_t IORING_ENTER_NO_IOWAIT = 1U << 7;       // don't count the wait as iowait

// ---------------------------------------------------------------------------
// io_uring_setup(2) parameters
// ---------------------------------------------------------------------------

// In: entries hints and flags. Out: sizes, features and ring offsets.
struct io_uring_params {
  std::uint32_t sq_entries;
  std::uint32_t cq_entries;
  std::uint32_t flags;  // IORING_SETUP_*
  std::uint32_t sq_thread_cpu;
  std::uint32_t sq_thread_idle;  // milliseconds
  std::uint32_t features;        // IORING_FEAT_*, filled in by the kernel
  std::uint32_t wq_fd;           // IORING_SETUP_ATTACH_WQ
  std::uint32_t resv[3];
  io_sqring_offsets sq_off;
  io_cqring_offsets cq_off;
};

// io_uring_params::features. Versions are in feature_flags[] below.
inline constexpr std::uint32_t IORING_FEAT_SINGLE_MMAP = 1U << 0;
inline constexpr std::uint32_t IORING_FEAT_NODROP = 1U << 1;
inline constexpr std::uint32_t IORING_FEAT_SUBMIT_STABLE = 1U << 2;
inline constexpr std::uint32_t IORING_FEAT_RW_CUR_POS = 1U << 3;
inline constexpr std::uint32_t IORING_FEAT_CUR_PERSONALITY = 1U << 4;
inline constexpr std::uint32_t IORING_FEAT_FAST_POLL = 1U << 5;
inline constexpr std::uint32_t IORING_FEAT_POLL_32BITS = 1U << 6;
inline constexpr std::uint32_t IORING_FEAT_SQPOLL_NONFIXED = 1U << 7;
inline constexpr std::uint32_t IORING_FEAT_EXT_ARG = 1U << 8;
inline constexpr std::uint32_t IORING_FEAT_NATIVE_WORKERS = 1U << 9;
inline constexpr std::uint32_t IORING_FEAT_RSRC_TAGS = 1U << 10;
inline constexpr std::uint32_t IORING_FEAT_CQE_SKIP = 1U << 11;
inline constexpr std::uint32_t IORING_FEAT_LINKED_FILE = 1U << 12;
inline constexpr std::uint32_t IORING_FEAT_REG_REG_RING = 1U << 13;
inline constexpr std::uint32_t IORING_FEAT_RECVSEND_BUNDLE = 1U << 14;
inline constexpr std::uint32_t IORING_FEAT_MIN_TIMEOUT = 1U << 15;
inline constexpr std::uint32_t IORING_FEAT_RW_ATTR = 1U << 16;
inline constexpr std::uint32_t IORING_FEAT_NO_IOWAIT = 1U << 17;

// ---------------------------------------------------------------------------
// io_uring_register(2)
// ---------------------------------------------------------------------------

enum io_uring_register_op : std::uint32_t {
  IORING_REGISTER_BUFFERS = 0,
  IORING_UNREGISTER_BUFFERS = 1,
  IORING_REGISTER_FILES = 2,
  IORING_UNREGISTER_FILES = 3,
  IORING_REGISTER_EVENTFD = 4,
  IORING_UNREGISTER_EVENTFD = 5,
  IORING_REGISTER_FILES_UPDATE = 6,
  IORING_REGISTER_EVENTFD_ASYNC = 7,
  IORING_REGISTER_PROBE = 8,
  IORING_REGISTER_PERSONALITY = 9,
  IORING_UNREGISTER_PERSONALITY = 10,
  IORING_REGISTER_RESTRICTIONS = 11,
  IORING_REGISTER_ENABLE_RINGS = 12,

  // Tagged variants of files and buffers.
  IORING_REGISTER_FILES2 = 13,
  IORING_REGISTER_FILES_UPDATE2 = 14,
  IORING_REGISTER_BUFFERS2 = 15,
  IORING_REGISTER_BUFFERS_UPDATE = 16,

  // io-wq CPU affinity and worker limits.
  IORING_REGISTER_IOWQ_AFF = 17,
  IORING_UNREGISTER_IOWQ_AFF = 18,
  IORING_REGISTER_IOWQ_MAX_WORKERS = 19,

  // Ring fds registered with the ring itself (IORING_ENTER_REGISTERED_RING).
  IORING_REGISTER_RING_FDS = 20,
  IORING_UNREGISTER_RING_FDS = 21,

  // Ring-mapped provided-buffer groups.
  IORING_REGISTER_PBUF_RING = 22,
  IORING_UNREGISTER_PBUF_RING = 23,

  IORING_REGISTER_SYNC_CANCEL = 24,       // synchronous cancellation
  IORING_REGISTER_FILE_ALLOC_RANGE = 25,  // slot range for IORING_FILE_INDEX_ALLOC
  IORING_REGISTER_PBUF_STATUS = 26,       // head of a provided-buffer ring

  // NAPI busy polling.
  IORING_REGISTER_NAPI = 27,
  IORING_UNREGISTER_NAPI = 28,

  IORING_REGISTER_CLOCK = 29,          // clock for wait timeouts
  IORING_REGISTER_CLONE_BUFFERS = 30,  // copy registered buffers from another ring
  IORING_REGISTER_SEND_MSG_RING = 31,  // MSG_RING without a source ring
  IORING_REGISTER_ZCRX_IFQ = 32,       // zero-copy receive queue
  IORING_REGISTER_RESIZE_RINGS = 33,
  IORING_REGISTER_MEM_REGION = 34,
  IORING_REGISTER_QUERY = 35,  // ring-less capability query (io_uring_query_hdr)

  IORING_REGISTER_LAST,  // one past the highest opcode Linux 6.18 knows

  // Or-ed into the opcode: fd is a registered ring index, not a file descriptor.
  IORING_REGISTER_USE_REGISTERED_RING = 1U << 31,
};

// io-wq worker classes (index into IORING_REGISTER_IOWQ_MAX_WORKERS's array).
enum io_wq_type : std::uint32_t {
  IO_WQ_BOUND,
  IO_WQ_UNBOUND,
};

// Old argument of IORING_REGISTER_FILES_UPDATE; io_uring_rsrc_update replaces it.
struct io_uring_files_update {
  std::uint32_t offset;
  std::uint32_t resv;
  alignas(8) std::uint64_t fds;  // address of an array of s32 fds
};

// io_uring_region_desc::flags.
inline constexpr std::uint32_t IORING_MEM_REGION_TYPE_USER = 1;  // memory at user_addr, not kernel-allocated

// One memory region shared with the kernel (IORING_REGISTER_MEM_REGION,
// zero-copy receive refill rings, ...).
struct io_uring_region_desc {
  std::uint64_t user_addr;
  std::uint64_t size;
  std::uint32_t flags;  // IORING_MEM_REGION_TYPE_*
  std::uint32_t id;
  std::uint64_t mmap_offset;  // out: where to mmap a kernel-allocated region
  std::uint64_t __resv[4];
};

// io_uring_mem_region_reg::flags.
inline constexpr std::uint64_t IORING_MEM_REGION_REG_WAIT_ARG = 1;  // region holds io_uring_reg_wait entries

// Argument of IORING_REGISTER_MEM_REGION.
struct io_uring_mem_region_reg {
  std::uint64_t region_uptr;  // address of an io_uring_region_desc
  std::uint64_t flags;        // IORING_MEM_REGION_REG_*
  std::uint64_t __resv[2];
};

// io_uring_rsrc_register::flags: register `nr` empty slots (data is ignored).
inline constexpr std::uint32_t IORING_RSRC_REGISTER_SPARSE = 1U << 0;

// Argument of IORING_REGISTER_FILES2 / BUFFERS2.
struct io_uring_rsrc_register {
  std::uint32_t nr;
  std::uint32_t flags;  // IORING_RSRC_REGISTER_*
  std::uint64_t resv2;
  alignas(8) std::uint64_t data;  // fds or iovecs
  alignas(8) std::uint64_t tags;  // u64 per entry, posted as user_data when it goes away
};

// Argument of IORING_REGISTER_FILES_UPDATE (and of IORING_OP_FILES_UPDATE's layout).
struct io_uring_rsrc_update {
  std::uint32_t offset;
  std::uint32_t resv;
  alignas(8) std::uint64_t data;
};

// Argument of IORING_REGISTER_FILES_UPDATE2 / BUFFERS_UPDATE.
struct io_uring_rsrc_update2 {
  std::uint32_t offset;
  std::uint32_t resv;
  alignas(8) std::uint64_t data;
  alignas(8) std::uint64_t tags;
  std::uint32_t nr;
  std::uint32_t resv2;
};

// A file-update fd value meaning "leave this slot as it is".
inline constexpr std::int32_t IORING_REGISTER_FILES_SKIP = -2;

// io_uring_probe_op::flags: the running kernel implements this opcode.
inline constexpr std::uint16_t IO_URING_OP_SUPPORTED = 1U << 0;

struct io_uring_probe_op {
  std::uint8_t op;
  std::uint8_t resv;
  std::uint16_t flags;  // IO_URING_OP_*
  std::uint32_t resv2;
};

// Result of IORING_REGISTER_PROBE: a header followed by ops_len entries.
struct io_uring_probe {
  std::uint8_t last_op;  // highest opcode the kernel knows
  std::uint8_t ops_len;  // entries filled in below
  std::uint16_t resv;
  std::uint32_t resv2[3];
  io_uring_probe_op ops[0];
};

// One rule of IORING_REGISTER_RESTRICTIONS.
struct io_uring_restriction {
  std::uint16_t opcode;  // io_uring_register_restriction_op
  union {
    std::uint8_t register_op;  // IORING_RESTRICTION_REGISTER_OP
    std::uint8_t sqe_op;       // IORING_RESTRICTION_SQE_OP
    std::uint8_t sqe_flags;    // IORING_RESTRICTION_SQE_FLAGS_*
  };
  std::uint8_t resv;
  std::uint32_t resv2[3];
};

// Argument of IORING_REGISTER_CLOCK.
struct io_uring_clock_register {
  std::uint32_t clockid;  // CLOCK_MONOTONIC or CLOCK_BOOTTIME
  std::uint32_t __resv[3];
};

// io_uring_clone_buffers::flags.
inline constexpr std::uint32_t IORING_REGISTER_SRC_REGISTERED = 1U << 0;  // src_fd is a registered ring index
inline constexpr std::uint32_t IORING_REGISTER_DST_REPLACE = 1U << 1;     // overwrite existing buffers

// Argument of IORING_REGISTER_CLONE_BUFFERS.
struct io_uring_clone_buffers {
  std::uint32_t src_fd;
  std::uint32_t flags;  // IORING_REGISTER_SRC_REGISTERED / DST_REPLACE
  std::uint32_t src_off;
  std::uint32_t dst_off;
  std::uint32_t nr;
  std::uint32_t pad[3];
};

// One entry of a provided-buffer ring.
struct io_uring_buf {
  std::uint64_t addr;
  std::uint32_t len;
  std::uint16_t bid;   // buffer id reported in cqe->flags
  std::uint16_t resv;  // in entry 0 this is the ring's tail
};

// A provided-buffer ring. The tail index is stored in the `resv` field of
// bufs[0], so the ring needs no header of its own.
struct io_uring_buf_ring {
  union {
    struct {
      std::uint64_t resv1;
      std::uint32_t resv2;
      std::uint16_t resv3;
      std::uint16_t tail;
    };
    io_uring_buf bufs[0];
  };
};

// io_uring_buf_reg::flags.
enum io_uring_register_pbuf_ring_flags : std::uint16_t {
  // The kernel allocates the ring; map it at
  // IORING_OFF_PBUF_RING | (bgid << IORING_OFF_PBUF_SHIFT), ring_addr must be 0.
  IOU_PBUF_RING_MMAP = 1,
  // Buffers may be consumed a piece at a time (see IORING_CQE_F_BUF_MORE).
  IOU_PBUF_RING_INC = 2,
};

// Argument of IORING_(UN)REGISTER_PBUF_RING.
struct io_uring_buf_reg {
  std::uint64_t ring_addr;
  std::uint32_t ring_entries;  // a power of two
  std::uint16_t bgid;
  std::uint16_t flags;  // io_uring_register_pbuf_ring_flags
  std::uint64_t resv[3];
};

// Argument of IORING_REGISTER_PBUF_STATUS.
struct io_uring_buf_status {
  std::uint32_t buf_group;  // in
  std::uint32_t head;       // out
  std::uint32_t resv[8];
};

// io_uring_napi::opcode.
enum io_uring_napi_op : std::uint8_t {
  IO_URING_NAPI_REGISTER_OP = 0,    // plain register/unregister
  IO_URING_NAPI_STATIC_ADD_ID = 1,  // add op_param to the static NAPI id list
  IO_URING_NAPI_STATIC_DEL_ID = 2,  // remove op_param from it
};

// io_uring_napi::op_param for IO_URING_NAPI_REGISTER_OP.
enum io_uring_napi_tracking_strategy : std::uint32_t {
  IO_URING_NAPI_TRACKING_DYNAMIC = 0,
  IO_URING_NAPI_TRACKING_STATIC = 1,
  IO_URING_NAPI_TRACKING_INACTIVE = 255,
};

// Argument of IORING_(UN)REGISTER_NAPI.
struct io_uring_napi {
  std::uint32_t busy_poll_to;  // microseconds
  std::uint8_t prefer_busy_poll;
  std::uint8_t opcode;  // io_uring_napi_op
  std::uint8_t pad[2];
  std::uint32_t op_param;  // tracking strategy or NAPI id, depending on opcode
  std::uint32_t resv;
};

// io_uring_restriction::opcode.
enum io_uring_register_restriction_op : std::uint16_t {
  IORING_RESTRICTION_REGISTER_OP = 0,         // allow one io_uring_register(2) opcode
  IORING_RESTRICTION_SQE_OP = 1,              // allow one SQE opcode
  IORING_RESTRICTION_SQE_FLAGS_ALLOWED = 2,   // SQE flags that may be set
  IORING_RESTRICTION_SQE_FLAGS_REQUIRED = 3,  // SQE flags that must be set
  IORING_RESTRICTION_LAST,
};

// io_uring_reg_wait::flags.
inline constexpr std::uint32_t IORING_REG_WAIT_TS = 1U << 0;  // ts is valid

// An entry of a registered wait region (IORING_MEM_REGION_REG_WAIT_ARG),
// selected with IORING_ENTER_EXT_ARG_REG.
struct io_uring_reg_wait {
  kernel_timespec ts;
  std::uint32_t min_wait_usec;
  std::uint32_t flags;  // IORING_REG_WAIT_*
  std::uint64_t sigmask;
  std::uint32_t sigmask_sz;
  std::uint32_t pad[3];
  std::uint64_t pad2[2];
};

// Argument of io_uring_enter(2) with IORING_ENTER_EXT_ARG.
struct io_uring_getevents_arg {
  std::uint64_t sigmask;
  std::uint32_t sigmask_sz;
  std::uint32_t min_wait_usec;
  std::uint64_t ts;  // address of a kernel_timespec, or 0
};

// Argument of IORING_REGISTER_SYNC_CANCEL.
struct io_uring_sync_cancel_reg {
  std::uint64_t addr;  // user_data to match
  std::int32_t fd;
  std::uint32_t flags;  // IORING_ASYNC_CANCEL_*
  kernel_timespec timeout;
  std::uint8_t opcode;  // with IORING_ASYNC_CANCEL_OP
  std::uint8_t pad[7];
  std::uint64_t pad2[3];
};

// Argument of IORING_REGISTER_FILE_ALLOC_RANGE: slots [off, off + len).
struct io_uring_file_index_range {
  std::uint32_t off;
  std::uint32_t len;
  std::uint64_t resv;
};

// Header at the start of each multishot IORING_OP_RECVMSG buffer.
struct io_uring_recvmsg_out {
  std::uint32_t namelen;
  std::uint32_t controllen;
  std::uint32_t payloadlen;
  std::uint32_t flags;
};

// IORING_OP_URING_CMD sub-commands (sqe->cmd_op) for sockets.
enum io_uring_socket_op : std::uint32_t {
  SOCKET_URING_OP_SIOCINQ = 0,
  SOCKET_URING_OP_SIOCOUTQ,
  SOCKET_URING_OP_GETSOCKOPT,
  SOCKET_URING_OP_SETSOCKOPT,
  SOCKET_URING_OP_TX_TIMESTAMP,
};

// SOCKET_URING_OP_TX_TIMESTAMP completions: cqe->flags carries whether the
// stamp came from hardware and, above that bit, the timestamp type.
inline constexpr std::uint32_t IORING_TIMESTAMP_HW_SHIFT = 16;
inline constexpr std::uint32_t IORING_TIMESTAMP_TYPE_SHIFT = IORING_TIMESTAMP_HW_SHIFT + 1;
inline constexpr std::uint32_t IORING_CQE_F_TSTAMP_HW = std::uint32_t{1} << IORING_TIMESTAMP_HW_SHIFT;

// The timestamp itself, in the second half of a 32-byte CQE.
struct io_timespec {
  std::uint64_t tv_sec;
  std::uint64_t tv_nsec;
};

// ---------------------------------------------------------------------------
// Zero-copy receive (IORING_OP_RECV_ZC, IORING_REGISTER_ZCRX_IFQ)
// ---------------------------------------------------------------------------

// Refill-queue entry: hands a buffer back to the kernel.
struct io_uring_zcrx_rqe {
  std::uint64_t off;  // area id in the top bits, see IORING_ZCRX_AREA_SHIFT
  std::uint32_t len;
  std::uint32_t __pad;
};

// Second half of a RECV_ZC completion (the CQE is 32 bytes).
struct io_uring_zcrx_cqe {
  std::uint64_t off;
  std::uint64_t __pad;
};

// Offsets carry the area id from this bit upwards.
inline constexpr std::uint32_t IORING_ZCRX_AREA_SHIFT = 48;
inline constexpr std::uint64_t IORING_ZCRX_AREA_MASK = ~((std::uint64_t{1} << IORING_ZCRX_AREA_SHIFT) - 1);

// Layout of the refill ring, as offsets into its region.
struct io_uring_zcrx_offsets {
  std::uint32_t head;
  std::uint32_t tail;
  std::uint32_t rqes;
  std::uint32_t __resv2;
  std::uint64_t __resv[2];
};

// io_uring_zcrx_area_reg::flags.
enum io_uring_zcrx_area_flags : std::uint32_t {
  IORING_ZCRX_AREA_DMABUF = 1,  // the area is dmabuf_fd, not user memory
};

// The memory packets are received into.
struct io_uring_zcrx_area_reg {
  std::uint64_t addr;
  std::uint64_t len;
  std::uint64_t rq_area_token;  // out
  std::uint32_t flags;          // io_uring_zcrx_area_flags
  std::uint32_t dmabuf_fd;
  std::uint64_t __resv2[2];
};

// Argument of IORING_REGISTER_ZCRX_IFQ.
struct io_uring_zcrx_ifq_reg {
  std::uint32_t if_idx;  // network interface index
  std::uint32_t if_rxq;  // hardware rx queue
  std::uint32_t rq_entries;
  std::uint32_t flags;

  std::uint64_t area_ptr;    // address of an io_uring_zcrx_area_reg
  std::uint64_t region_ptr;  // address of an io_uring_region_desc for the refill ring

  io_uring_zcrx_offsets offsets;  // out
  std::uint32_t zcrx_id;          // out: goes into sqe->zcrx_ifq_idx
  std::uint32_t __resv2;
  std::uint64_t __resv[3];
};

// ---------------------------------------------------------------------------
// IORING_REGISTER_QUERY (linux/io_uring/query.h). Needs no ring: pass fd -1.
// ---------------------------------------------------------------------------

// One query in a chain; next_entry links to the next header (0 ends it).
struct io_uring_query_hdr {
  std::uint64_t next_entry;
  std::uint64_t query_data;  // address of the query's result struct
  std::uint32_t query_op;    // IO_URING_QUERY_*
  std::uint32_t size;        // size of the result struct
  std::int32_t result;       // out: 0 or -errno
  std::uint32_t __resv[3];
};

// io_uring_query_hdr::query_op.
inline constexpr std::uint32_t IO_URING_QUERY_OPCODES = 0;  // result: io_uring_query_opcode

// Result of IO_URING_QUERY_OPCODES: what the running kernel accepts.
struct io_uring_query_opcode {
  std::uint32_t nr_request_opcodes;   // number of IORING_OP_* values
  std::uint32_t nr_register_opcodes;  // number of IORING_[UN]REGISTER_* values
  std::uint64_t feature_flags;        // IORING_FEAT_* mask
  std::uint64_t ring_setup_flags;     // IORING_SETUP_* mask
  std::uint64_t enter_flags;          // IORING_ENTER_* mask
  std::uint64_t sqe_flags;            // IOSQE_* mask
  std::uint32_t nr_query_opcodes;     // number of IO_URING_QUERY_* values
  std::uint32_t __pad;
};

// ---------------------------------------------------------------------------
// Names and first kernel versions, for probe output and error messages.
// ---------------------------------------------------------------------------

// One IORING_SETUP_* or IORING_FEAT_* flag. `bit` is the flag's value (a
// single set bit, test with `flags & bit`); `name` drops the IORING_SETUP_ /
// IORING_FEAT_ prefix; `since` is the first Linux release that has it.
struct flag_info {
  std::uint32_t bit;
  const char* name;
  const char* since;
};

inline constexpr flag_info setup_flags[] = {
    {IORING_SETUP_IOPOLL, "IOPOLL", "5.1"},
    {IORING_SETUP_SQPOLL, "SQPOLL", "5.1"},
    {IORING_SETUP_SQ_AFF, "SQ_AFF", "5.1"},
    {IORING_SETUP_CQSIZE, "CQSIZE", "5.5"},
    {IORING_SETUP_CLAMP, "CLAMP", "5.6"},
    {IORING_SETUP_ATTACH_WQ, "ATTACH_WQ", "5.6"},
    {IORING_SETUP_R_DISABLED, "R_DISABLED", "5.10"},
    {IORING_SETUP_SUBMIT_ALL, "SUBMIT_ALL", "5.18"},
    {IORING_SETUP_COOP_TASKRUN, "COOP_TASKRUN", "5.19"},
    {IORING_SETUP_TASKRUN_FLAG, "TASKRUN_FLAG", "5.19"},
    {IORING_SETUP_SQE128, "SQE128", "5.19"},
    {IORING_SETUP_CQE32, "CQE32", "5.19"},
    {IORING_SETUP_SINGLE_ISSUER, "SINGLE_ISSUER", "6.0"},
    {IORING_SETUP_DEFER_TASKRUN, "DEFER_TASKRUN", "6.1"},
    {IORING_SETUP_NO_MMAP, "NO_MMAP", "6.5"},
    {IORING_SETUP_REGISTERED_FD_ONLY, "REGISTERED_FD_ONLY", "6.5"},
    {IORING_SETUP_NO_SQARRAY, "NO_SQARRAY", "6.6"},
    {IORING_SETUP_HYBRID_IOPOLL, "HYBRID_IOPOLL", "6.13"},
    {IORING_SETUP_CQE_MIXED, "CQE_MIXED", "6.18"},
};

inline constexpr flag_info feature_flags[] = {
    {IORING_FEAT_SINGLE_MMAP, "SINGLE_MMAP", "5.4"},
    {IORING_FEAT_NODROP, "NODROP", "5.5"},
    {IORING_FEAT_SUBMIT_STABLE, "SUBMIT_STABLE", "5.5"},
    {IORING_FEAT_RW_CUR_POS, "RW_CUR_POS", "5.6"},
    {IORING_FEAT_CUR_PERSONALITY, "CUR_PERSONALITY", "5.6"},
    {IORING_FEAT_FAST_POLL, "FAST_POLL", "5.7"},
    {IORING_FEAT_POLL_32BITS, "POLL_32BITS", "5.9"},
    {IORING_FEAT_SQPOLL_NONFIXED, "SQPOLL_NONFIXED", "5.11"},
    {IORING_FEAT_EXT_ARG, "EXT_ARG", "5.11"},
    {IORING_FEAT_NATIVE_WORKERS, "NATIVE_WORKERS", "5.12"},
    {IORING_FEAT_RSRC_TAGS, "RSRC_TAGS", "5.13"},
    {IORING_FEAT_CQE_SKIP, "CQE_SKIP", "5.17"},
    {IORING_FEAT_LINKED_FILE, "LINKED_FILE", "5.17"},
    {IORING_FEAT_REG_REG_RING, "REG_REG_RING", "6.3"},
    {IORING_FEAT_RECVSEND_BUNDLE, "RECVSEND_BUNDLE", "6.10"},
    {IORING_FEAT_MIN_TIMEOUT, "MIN_TIMEOUT", "6.12"},
    {IORING_FEAT_RW_ATTR, "RW_ATTR", "6.14"},
    {IORING_FEAT_NO_IOWAIT, "NO_IOWAIT", "6.15"},
};

namespace detail {

struct op_info {
  const char* name;   // without the IORING_OP_ prefix
  const char* since;  // first Linux release with the opcode
};

// Indexed by opcode; must stay in the order of enum io_uring_op.
inline constexpr op_info op_table[] = {
    {"NOP", "5.1"},
    {"READV", "5.1"},
    {"WRITEV", "5.1"},
    {"FSYNC", "5.1"},
    {"READ_FIXED", "5.1"},
    {"WRITE_FIXED", "5.1"},
    {"POLL_ADD", "5.1"},
    {"POLL_REMOVE", "5.1"},
    {"SYNC_FILE_RANGE", "5.2"},
    {"SENDMSG", "5.3"},
    {"RECVMSG", "5.3"},
    {"TIMEOUT", "5.4"},
    {"TIMEOUT_REMOVE", "5.5"},
    {"ACCEPT", "5.5"},
    {"ASYNC_CANCEL", "5.5"},
    {"LINK_TIMEOUT", "5.5"},
    {"CONNECT", "5.5"},
    {"FALLOCATE", "5.6"},
    {"OPENAT", "5.6"},
    {"CLOSE", "5.6"},
    {"FILES_UPDATE", "5.6"},
    {"STATX", "5.6"},
    {"READ", "5.6"},
    {"WRITE", "5.6"},
    {"FADVISE", "5.6"},
    {"MADVISE", "5.6"},
    {"SEND", "5.6"},
    {"RECV", "5.6"},
    {"OPENAT2", "5.6"},
    {"EPOLL_CTL", "5.6"},
    {"SPLICE", "5.7"},
    {"PROVIDE_BUFFERS", "5.7"},
    {"REMOVE_BUFFERS", "5.7"},
    {"TEE", "5.8"},
    {"SHUTDOWN", "5.11"},
    {"RENAMEAT", "5.11"},
    {"UNLINKAT", "5.11"},
    {"MKDIRAT", "5.15"},
    {"SYMLINKAT", "5.15"},
    {"LINKAT", "5.15"},
    {"MSG_RING", "5.18"},
    {"FSETXATTR", "5.19"},
    {"SETXATTR", "5.19"},
    {"FGETXATTR", "5.19"},
    {"GETXATTR", "5.19"},
    {"SOCKET", "5.19"},
    {"URING_CMD", "5.19"},
    {"SEND_ZC", "6.0"},
    {"SENDMSG_ZC", "6.1"},
    {"READ_MULTISHOT", "6.7"},
    {"WAITID", "6.7"},
    {"FUTEX_WAIT", "6.7"},
    {"FUTEX_WAKE", "6.7"},
    {"FUTEX_WAITV", "6.7"},
    {"FIXED_FD_INSTALL", "6.8"},
    {"FTRUNCATE", "6.9"},
    {"BIND", "6.11"},
    {"LISTEN", "6.11"},
    {"RECV_ZC", "6.15"},
    {"EPOLL_WAIT", "6.15"},
    {"READV_FIXED", "6.15"},
    {"WRITEV_FIXED", "6.15"},
    {"PIPE", "6.16"},
};
static_assert(sizeof(op_table) / sizeof(op_table[0]) == IORING_OP_LAST, "one op_table row per opcode");

// The opcodes after IORING_OP_LAST, in order from IORING_OP_NOP128.
inline constexpr op_info newer_op_table[] = {
    {"NOP128", "6.19"},
    {"URING_CMD128", "6.19"},
};
static_assert(IORING_OP_LAST + sizeof(newer_op_table) / sizeof(newer_op_table[0]) == kNamedOps);

inline constexpr const op_info* find_op(unsigned op) {
  if (op < IORING_OP_LAST) return &op_table[op];
  if (op < kNamedOps) return &newer_op_table[op - IORING_OP_LAST];
  return nullptr;
}

}  // namespace detail

// "READV" for IORING_OP_READV; nullptr for opcodes this header doesn't know.
inline constexpr const char* op_name(unsigned op) {
  return detail::find_op(op) ? detail::find_op(op)->name : nullptr;
}

// First Linux release with the opcode ("5.1", ...); nullptr if unknown.
inline constexpr const char* op_since(unsigned op) {
  return detail::find_op(op) ? detail::find_op(op)->since : nullptr;
}

// ---------------------------------------------------------------------------
// Layout checks against the kernel's definitions (same on every 64-bit ABI).
// ---------------------------------------------------------------------------

static_assert(sizeof(kernel_timespec) == 16);
static_assert(sizeof(open_how) == 24);

static_assert(sizeof(io_uring_sqe) == 64);
static_assert(offsetof(io_uring_sqe, opcode) == 0);
static_assert(offsetof(io_uring_sqe, flags) == 1);
static_assert(offsetof(io_uring_sqe, ioprio) == 2);
static_assert(offsetof(io_uring_sqe, fd) == 4);
static_assert(offsetof(io_uring_sqe, off) == 8);
static_assert(offsetof(io_uring_sqe, addr2) == 8);
static_assert(offsetof(io_uring_sqe, cmd_op) == 8);
static_assert(offsetof(io_uring_sqe, __pad1) == 12);
static_assert(offsetof(io_uring_sqe, addr) == 16);
static_assert(offsetof(io_uring_sqe, splice_off_in) == 16);
static_assert(offsetof(io_uring_sqe, level) == 16);
static_assert(offsetof(io_uring_sqe, optname) == 20);
static_assert(offsetof(io_uring_sqe, len) == 24);
static_assert(offsetof(io_uring_sqe, rw_flags) == 28);
static_assert(offsetof(io_uring_sqe, fsync_flags) == 28);
static_assert(offsetof(io_uring_sqe, poll_events) == 28);
static_assert(offsetof(io_uring_sqe, poll32_events) == 28);
static_assert(offsetof(io_uring_sqe, sync_range_flags) == 28);
static_assert(offsetof(io_uring_sqe, msg_flags) == 28);
static_assert(offsetof(io_uring_sqe, timeout_flags) == 28);
static_assert(offsetof(io_uring_sqe, accept_flags) == 28);
static_assert(offsetof(io_uring_sqe, cancel_flags) == 28);
static_assert(offsetof(io_uring_sqe, open_flags) == 28);
static_assert(offsetof(io_uring_sqe, statx_flags) == 28);
static_assert(offsetof(io_uring_sqe, fadvise_advice) == 28);
static_assert(offsetof(io_uring_sqe, splice_flags) == 28);
static_assert(offsetof(io_uring_sqe, rename_flags) == 28);
static_assert(offsetof(io_uring_sqe, unlink_flags) == 28);
static_assert(offsetof(io_uring_sqe, hardlink_flags) == 28);
static_assert(offsetof(io_uring_sqe, xattr_flags) == 28);
static_assert(offsetof(io_uring_sqe, msg_ring_flags) == 28);
static_assert(offsetof(io_uring_sqe, uring_cmd_flags) == 28);
static_assert(offsetof(io_uring_sqe, waitid_flags) == 28);
static_assert(offsetof(io_uring_sqe, futex_flags) == 28);
static_assert(offsetof(io_uring_sqe, install_fd_flags) == 28);
static_assert(offsetof(io_uring_sqe, nop_flags) == 28);
static_assert(offsetof(io_uring_sqe, pipe_flags) == 28);
static_assert(offsetof(io_uring_sqe, user_data) == 32);
static_assert(offsetof(io_uring_sqe, buf_index) == 40);
static_assert(offsetof(io_uring_sqe, buf_group) == 40);
static_assert(offsetof(io_uring_sqe, personality) == 42);
static_assert(offsetof(io_uring_sqe, splice_fd_in) == 44);
static_assert(offsetof(io_uring_sqe, file_index) == 44);
static_assert(offsetof(io_uring_sqe, zcrx_ifq_idx) == 44);
static_assert(offsetof(io_uring_sqe, optlen) == 44);
static_assert(offsetof(io_uring_sqe, addr_len) == 44);
static_assert(offsetof(io_uring_sqe, __pad3) == 46);
static_assert(offsetof(io_uring_sqe, write_stream) == 44);
static_assert(offsetof(io_uring_sqe, __pad4) == 45);
static_assert(offsetof(io_uring_sqe, addr3) == 48);
static_assert(offsetof(io_uring_sqe, __pad2) == 56);
static_assert(offsetof(io_uring_sqe, attr_ptr) == 48);
static_assert(offsetof(io_uring_sqe, attr_type_mask) == 56);
static_assert(offsetof(io_uring_sqe, optval) == 48);
static_assert(offsetof(io_uring_sqe, cmd) == 48);

static_assert(sizeof(io_uring_attr_pi) == 32);
static_assert(offsetof(io_uring_attr_pi, app_tag) == 2);
static_assert(offsetof(io_uring_attr_pi, len) == 4);
static_assert(offsetof(io_uring_attr_pi, addr) == 8);
static_assert(offsetof(io_uring_attr_pi, seed) == 16);
static_assert(offsetof(io_uring_attr_pi, rsvd) == 24);

static_assert(sizeof(io_uring_cqe) == 16);
static_assert(offsetof(io_uring_cqe, user_data) == 0);
static_assert(offsetof(io_uring_cqe, res) == 8);
static_assert(offsetof(io_uring_cqe, flags) == 12);

static_assert(sizeof(io_sqring_offsets) == 40);
static_assert(offsetof(io_sqring_offsets, head) == 0);
static_assert(offsetof(io_sqring_offsets, tail) == 4);
static_assert(offsetof(io_sqring_offsets, ring_mask) == 8);
static_assert(offsetof(io_sqring_offsets, ring_entries) == 12);
static_assert(offsetof(io_sqring_offsets, flags) == 16);
static_assert(offsetof(io_sqring_offsets, dropped) == 20);
static_assert(offsetof(io_sqring_offsets, array) == 24);
static_assert(offsetof(io_sqring_offsets, resv1) == 28);
static_assert(offsetof(io_sqring_offsets, user_addr) == 32);

static_assert(sizeof(io_cqring_offsets) == 40);
static_assert(offsetof(io_cqring_offsets, head) == 0);
static_assert(offsetof(io_cqring_offsets, tail) == 4);
static_assert(offsetof(io_cqring_offsets, ring_mask) == 8);
static_assert(offsetof(io_cqring_offsets, ring_entries) == 12);
static_assert(offsetof(io_cqring_offsets, overflow) == 16);
static_assert(offsetof(io_cqring_offsets, cqes) == 20);
static_assert(offsetof(io_cqring_offsets, flags) == 24);
static_assert(offsetof(io_cqring_offsets, resv1) == 28);
static_assert(offsetof(io_cqring_offsets, user_addr) == 32);

static_assert(sizeof(io_uring_params) == 120);
static_assert(offsetof(io_uring_params, sq_entries) == 0);
static_assert(offsetof(io_uring_params, cq_entries) == 4);
static_assert(offsetof(io_uring_params, flags) == 8);
static_assert(offsetof(io_uring_params, sq_thread_cpu) == 12);
static_assert(offsetof(io_uring_params, sq_thread_idle) == 16);
static_assert(offsetof(io_uring_params, features) == 20);
static_assert(offsetof(io_uring_params, wq_fd) == 24);
static_assert(offsetof(io_uring_params, resv) == 28);
static_assert(offsetof(io_uring_params, sq_off) == 40);
static_assert(offsetof(io_uring_params, cq_off) == 80);

static_assert(sizeof(io_uring_files_update) == 16);
static_assert(offsetof(io_uring_files_update, fds) == 8);
static_assert(sizeof(io_uring_region_desc) == 64);
static_assert(offsetof(io_uring_region_desc, flags) == 16);
static_assert(offsetof(io_uring_region_desc, id) == 20);
static_assert(offsetof(io_uring_region_desc, mmap_offset) == 24);
static_assert(offsetof(io_uring_region_desc, __resv) == 32);
static_assert(sizeof(io_uring_mem_region_reg) == 32);
static_assert(offsetof(io_uring_mem_region_reg, flags) == 8);
static_assert(sizeof(io_uring_rsrc_register) == 32);
static_assert(offsetof(io_uring_rsrc_register, resv2) == 8);
static_assert(offsetof(io_uring_rsrc_register, data) == 16);
static_assert(offsetof(io_uring_rsrc_register, tags) == 24);
static_assert(sizeof(io_uring_rsrc_update) == 16);
static_assert(offsetof(io_uring_rsrc_update, data) == 8);
static_assert(sizeof(io_uring_rsrc_update2) == 32);
static_assert(offsetof(io_uring_rsrc_update2, data) == 8);
static_assert(offsetof(io_uring_rsrc_update2, tags) == 16);
static_assert(offsetof(io_uring_rsrc_update2, nr) == 24);
static_assert(offsetof(io_uring_rsrc_update2, resv2) == 28);

static_assert(sizeof(io_uring_probe_op) == 8);
static_assert(offsetof(io_uring_probe_op, flags) == 2);
static_assert(offsetof(io_uring_probe_op, resv2) == 4);
static_assert(sizeof(io_uring_probe) == 16);
static_assert(offsetof(io_uring_probe, ops_len) == 1);
static_assert(offsetof(io_uring_probe, resv2) == 4);
static_assert(offsetof(io_uring_probe, ops) == 16);

static_assert(sizeof(io_uring_restriction) == 16);
static_assert(offsetof(io_uring_restriction, register_op) == 2);
static_assert(offsetof(io_uring_restriction, sqe_op) == 2);
static_assert(offsetof(io_uring_restriction, sqe_flags) == 2);
static_assert(offsetof(io_uring_restriction, resv) == 3);
static_assert(offsetof(io_uring_restriction, resv2) == 4);

static_assert(sizeof(io_uring_clock_register) == 16);
static_assert(sizeof(io_uring_clone_buffers) == 32);
static_assert(offsetof(io_uring_clone_buffers, nr) == 16);
static_assert(offsetof(io_uring_clone_buffers, pad) == 20);

static_assert(sizeof(io_uring_buf) == 16);
static_assert(offsetof(io_uring_buf, addr) == 0);
static_assert(offsetof(io_uring_buf, len) == 8);
static_assert(offsetof(io_uring_buf, bid) == 12);
static_assert(offsetof(io_uring_buf, resv) == 14);
static_assert(sizeof(io_uring_buf_ring) == 16);
static_assert(offsetof(io_uring_buf_ring, resv1) == 0);
static_assert(offsetof(io_uring_buf_ring, resv2) == 8);
static_assert(offsetof(io_uring_buf_ring, resv3) == 12);
static_assert(offsetof(io_uring_buf_ring, tail) == 14);  // == bufs[0].resv
static_assert(offsetof(io_uring_buf_ring, bufs) == 0);
static_assert(sizeof(io_uring_buf_reg) == 40);
static_assert(offsetof(io_uring_buf_reg, ring_entries) == 8);
static_assert(offsetof(io_uring_buf_reg, bgid) == 12);
static_assert(offsetof(io_uring_buf_reg, flags) == 14);
static_assert(offsetof(io_uring_buf_reg, resv) == 16);
static_assert(sizeof(io_uring_buf_status) == 40);

static_assert(sizeof(io_uring_napi) == 16);
static_assert(offsetof(io_uring_napi, prefer_busy_poll) == 4);
static_assert(offsetof(io_uring_napi, opcode) == 5);
static_assert(offsetof(io_uring_napi, pad) == 6);
static_assert(offsetof(io_uring_napi, op_param) == 8);
static_assert(offsetof(io_uring_napi, resv) == 12);

static_assert(sizeof(io_uring_reg_wait) == 64);
static_assert(offsetof(io_uring_reg_wait, min_wait_usec) == 16);
static_assert(offsetof(io_uring_reg_wait, flags) == 20);
static_assert(offsetof(io_uring_reg_wait, sigmask) == 24);
static_assert(offsetof(io_uring_reg_wait, sigmask_sz) == 32);
static_assert(offsetof(io_uring_reg_wait, pad) == 36);
static_assert(offsetof(io_uring_reg_wait, pad2) == 48);

static_assert(sizeof(io_uring_getevents_arg) == 24);
static_assert(offsetof(io_uring_getevents_arg, sigmask_sz) == 8);
static_assert(offsetof(io_uring_getevents_arg, min_wait_usec) == 12);
static_assert(offsetof(io_uring_getevents_arg, ts) == 16);

static_assert(sizeof(io_uring_sync_cancel_reg) == 64);
static_assert(offsetof(io_uring_sync_cancel_reg, fd) == 8);
static_assert(offsetof(io_uring_sync_cancel_reg, flags) == 12);
static_assert(offsetof(io_uring_sync_cancel_reg, timeout) == 16);
static_assert(offsetof(io_uring_sync_cancel_reg, opcode) == 32);
static_assert(offsetof(io_uring_sync_cancel_reg, pad) == 33);
static_assert(offsetof(io_uring_sync_cancel_reg, pad2) == 40);

static_assert(sizeof(io_uring_file_index_range) == 16);
static_assert(sizeof(io_uring_recvmsg_out) == 16);
static_assert(sizeof(io_timespec) == 16);

static_assert(sizeof(io_uring_zcrx_rqe) == 16);
static_assert(sizeof(io_uring_zcrx_cqe) == 16);
static_assert(sizeof(io_uring_zcrx_offsets) == 32);
static_assert(offsetof(io_uring_zcrx_offsets, __resv) == 16);
static_assert(sizeof(io_uring_zcrx_area_reg) == 48);
static_assert(offsetof(io_uring_zcrx_area_reg, flags) == 24);
static_assert(offsetof(io_uring_zcrx_area_reg, dmabuf_fd) == 28);
static_assert(offsetof(io_uring_zcrx_area_reg, __resv2) == 32);
static_assert(sizeof(io_uring_zcrx_ifq_reg) == 96);
static_assert(offsetof(io_uring_zcrx_ifq_reg, area_ptr) == 16);
static_assert(offsetof(io_uring_zcrx_ifq_reg, region_ptr) == 24);
static_assert(offsetof(io_uring_zcrx_ifq_reg, offsets) == 32);
static_assert(offsetof(io_uring_zcrx_ifq_reg, zcrx_id) == 64);
static_assert(offsetof(io_uring_zcrx_ifq_reg, __resv2) == 68);
static_assert(offsetof(io_uring_zcrx_ifq_reg, __resv) == 72);

static_assert(sizeof(io_uring_query_hdr) == 40);
static_assert(offsetof(io_uring_query_hdr, query_op) == 16);
static_assert(offsetof(io_uring_query_hdr, size) == 20);
static_assert(offsetof(io_uring_query_hdr, result) == 24);
static_assert(offsetof(io_uring_query_hdr, __resv) == 28);
static_assert(sizeof(io_uring_query_opcode) == 48);
static_assert(offsetof(io_uring_query_opcode, feature_flags) == 8);
static_assert(offsetof(io_uring_query_opcode, ring_setup_flags) == 16);
static_assert(offsetof(io_uring_query_opcode, enter_flags) == 24);
static_assert(offsetof(io_uring_query_opcode, sqe_flags) == 32);
static_assert(offsetof(io_uring_query_opcode, nr_query_opcodes) == 40);

}  // namespace uring::abi
