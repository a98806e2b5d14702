/* GENERATED from syscalls/abi.h by `python3 uring/liburing/gen_io_uring_h.py`: do not edit; change syscalls/abi.h and rerun it. */
/*
 * The io_uring kernel ABI in C: Linux 6.18's include/uapi/linux/io_uring.h
 * (and the structs of linux/io_uring/query.h), as syscalls/abi.h restates it,
 * with the kernel's names, types and include guard, so that C programs and
 * the liburing compat layer get what they would get from the kernel's header,
 * and a program that also includes <linux/io_uring.h> gets each name once.
 *
 * Where this differs from the kernel's header:
 *  - Only what syscalls/abi.h has is here (no newer names, no deprecated
 *    aliases it leaves out); the layout checks at the end are ours.
 *  - IORING_OP_NOP128, IORING_OP_URING_CMD128
 *    are macros here; the kernel that has them makes them enumerators of
 *    enum io_uring_op (abi.h keeps 6.18's IORING_OP_LAST).
 *  - The checks need GNU C or C++: like the kernel's header this uses
 *    zero-length arrays, an enumerator above INT_MAX and an empty struct
 *    (__DECLARE_FLEX_ARRAY's), so -std=c11 -pedantic-errors refuses it.
 */
#ifndef LINUX_IO_URING_H
#define LINUX_IO_URING_H

#include <linux/fs.h>
#include <linux/types.h>
#include <linux/time_types.h> /* struct __kernel_timespec */
#include <linux/openat2.h>    /* struct open_how */
#include <stddef.h>           /* offsetof, for the checks at the end */

#ifdef __cplusplus
extern "C" {
#endif

/*
 * ------------------------------------------------------------------------
 * Submission queue entry
 * ------------------------------------------------------------------------
 */

/*
 * One submission. 64 bytes; 128 on IORING_SETUP_SQE128 rings, where the extra
 * 64 bytes continue `cmd` (80 bytes of command data in total).
 */
struct io_uring_sqe {
	__u8 opcode;        /* an io_uring_op value */
	__u8 flags;         /* IOSQE_* bits */
	__u16 ioprio;       /* I/O priority, or per-opcode flags for some opcodes */
	__s32 fd;           /* target file descriptor (or fixed-file index) */
	union {
		__u64 off;  /* file offset */
		__u64 addr2;
		struct {
			__u32 cmd_op;  /* IORING_OP_URING_CMD sub-command */
			__u32 __pad1;
		};
	};
	union {
		__u64 addr;  /* buffer or iovec array address */
		__u64 splice_off_in;
		struct {
			__u32 level;    /* socket option level (SOCKET_URING_OP_*SOCKOPT) */
			__u32 optname;  /* socket option name */
		};
	};
	__u32 len;          /* buffer length or iovec count */
	union {             /* per-opcode flags, one 32-bit word */
		__u32 rw_flags;
		__u32 fsync_flags;
		__u16 poll_events;  /* legacy 16-bit poll mask */
		__u32 poll32_events;
		__u32 sync_range_flags;
		__u32 msg_flags;
		__u32 timeout_flags;
		__u32 accept_flags;
		__u32 cancel_flags;
		__u32 open_flags;
		__u32 statx_flags;
		__u32 fadvise_advice;
		__u32 splice_flags;
		__u32 rename_flags;
		__u32 unlink_flags;
		__u32 hardlink_flags;
		__u32 xattr_flags;
		__u32 msg_ring_flags;
		__u32 uring_cmd_flags;
		__u32 waitid_flags;
		__u32 futex_flags;
		__u32 install_fd_flags;
		__u32 nop_flags;
		__u32 pipe_flags;
	};
	__u64 user_data;    /* returned untouched in the completion */
	union {
		__u16 buf_index;  /* registered buffer index */
		__u16 buf_group;  /* provided-buffer group (IOSQE_BUFFER_SELECT) */
	} __attribute__((packed));
	__u16 personality;  /* credentials id from IORING_REGISTER_PERSONALITY */
	union {
		__s32 splice_fd_in;
		__u32 file_index;  /* direct-descriptor slot + 1, or IORING_FILE_INDEX_ALLOC */
		__u32 zcrx_ifq_idx;
		__u32 optlen;
		struct {
			__u16 addr_len;
			__u16 __pad3[1];
		};
		struct {
			__u8 write_stream;
			__u8 __pad4[3];
		};
	};
	union {
		struct {
			__u64 addr3;
			__u64 __pad2[1];
		};
		struct {
			__u64 attr_ptr;        /* io_uring_attr_pi address */
			__u64 attr_type_mask;  /* IORING_RW_ATTR_FLAG_* bits */
		};
		__u64 optval;
		__u8 cmd[0];  /* IORING_OP_URING_CMD payload (runs into the next 64 bytes on SQE128 rings) */
	};
};

/* sqe->attr_type_mask bits. */
#define IORING_RW_ATTR_FLAG_PI (1ULL << 0)

/* Protection-information attribute for reads and writes (IORING_RW_ATTR_FLAG_PI). */
struct io_uring_attr_pi {
	__u16 flags;
	__u16 app_tag;
	__u32 len;
	__u64 addr;
	__u64 seed;
	__u64 rsvd;
};

/*
 * sqe->file_index value asking the kernel to pick a free direct-descriptor
 * slot; the chosen slot comes back in cqe->res.
 */
#define IORING_FILE_INDEX_ALLOC (~0U)

/* Bit numbers of the sqe->flags bits. */
enum io_uring_sqe_flags_bit {
	IOSQE_FIXED_FILE_BIT,
	IOSQE_IO_DRAIN_BIT,
	IOSQE_IO_LINK_BIT,
	IOSQE_IO_HARDLINK_BIT,
	IOSQE_ASYNC_BIT,
	IOSQE_BUFFER_SELECT_BIT,
	IOSQE_CQE_SKIP_SUCCESS_BIT,
};

/* sqe->flags. */
#define IOSQE_FIXED_FILE       (1U << IOSQE_FIXED_FILE_BIT)        /* fd is a registered-file index */
#define IOSQE_IO_DRAIN         (1U << IOSQE_IO_DRAIN_BIT)          /* start after everything before it */
#define IOSQE_IO_LINK          (1U << IOSQE_IO_LINK_BIT)           /* next SQE waits for this one */
#define IOSQE_IO_HARDLINK      (1U << IOSQE_IO_HARDLINK_BIT)       /* link that survives failure */
#define IOSQE_ASYNC            (1U << IOSQE_ASYNC_BIT)             /* go straight to io-wq */
#define IOSQE_BUFFER_SELECT    (1U << IOSQE_BUFFER_SELECT_BIT)     /* pick from sqe->buf_group */
#define IOSQE_CQE_SKIP_SUCCESS (1U << IOSQE_CQE_SKIP_SUCCESS_BIT)  /* no CQE unless it fails */

/*
 * ------------------------------------------------------------------------
 * io_uring_setup(2) flags (io_uring_params::flags); trailing comment = first
 * Linux release that accepts the flag.
 * ------------------------------------------------------------------------
 */

#define IORING_SETUP_IOPOLL             (1U << 0)   /* 5.1  busy-poll for completions */
#define IORING_SETUP_SQPOLL             (1U << 1)   /* 5.1  kernel thread polls the SQ */
#define IORING_SETUP_SQ_AFF             (1U << 2)   /* 5.1  sq_thread_cpu is meaningful */
#define IORING_SETUP_CQSIZE             (1U << 3)   /* 5.5  cq_entries is meaningful */
#define IORING_SETUP_CLAMP              (1U << 4)   /* 5.6  cap sizes instead of failing */
#define IORING_SETUP_ATTACH_WQ          (1U << 5)   /* 5.6  share wq_fd's io-wq */
#define IORING_SETUP_R_DISABLED         (1U << 6)   /* 5.10 start disabled */
#define IORING_SETUP_SUBMIT_ALL         (1U << 7)   /* 5.18 keep submitting after an error */
#define IORING_SETUP_COOP_TASKRUN       (1U << 8)   /* 5.19 no IPI to run task work */
#define IORING_SETUP_TASKRUN_FLAG       (1U << 9)   /* 5.19 raise IORING_SQ_TASKRUN */
#define IORING_SETUP_SQE128             (1U << 10)  /* 5.19 128-byte SQEs */
#define IORING_SETUP_CQE32              (1U << 11)  /* 5.19 32-byte CQEs */
#define IORING_SETUP_SINGLE_ISSUER      (1U << 12)  /* 6.0  one submitting task */
#define IORING_SETUP_DEFER_TASKRUN      (1U << 13)  /* 6.1  task work only when waiting */
#define IORING_SETUP_NO_MMAP            (1U << 14)  /* 6.5  caller supplies ring memory */
#define IORING_SETUP_REGISTERED_FD_ONLY (1U << 15)  /* 6.5  return a registered ring index */
#define IORING_SETUP_NO_SQARRAY         (1U << 16)  /* 6.6  no SQ index array */
#define IORING_SETUP_HYBRID_IOPOLL      (1U << 17)  /* 6.13 sleep, then poll (with IOPOLL) */
#define IORING_SETUP_CQE_MIXED          (1U << 18)  /* 6.18 16- and 32-byte CQEs in one ring */

/*
 * ------------------------------------------------------------------------
 * Opcodes (io_uring_sqe::opcode); trailing comment = first Linux release.
 * ------------------------------------------------------------------------
 */

enum io_uring_op {
	IORING_OP_NOP,               /* 5.1 */
	IORING_OP_READV,             /* 5.1 */
	IORING_OP_WRITEV,            /* 5.1 */
	IORING_OP_FSYNC,             /* 5.1 */
	IORING_OP_READ_FIXED,        /* 5.1 */
	IORING_OP_WRITE_FIXED,       /* 5.1 */
	IORING_OP_POLL_ADD,          /* 5.1 */
	IORING_OP_POLL_REMOVE,       /* 5.1 */
	IORING_OP_SYNC_FILE_RANGE,   /* 5.2 */
	IORING_OP_SENDMSG,           /* 5.3 */
	IORING_OP_RECVMSG,           /* 5.3 */
	IORING_OP_TIMEOUT,           /* 5.4 */
	IORING_OP_TIMEOUT_REMOVE,    /* 5.5 */
	IORING_OP_ACCEPT,            /* 5.5 */
	IORING_OP_ASYNC_CANCEL,      /* 5.5 */
	IORING_OP_LINK_TIMEOUT,      /* 5.5 */
	IORING_OP_CONNECT,           /* 5.5 */
	IORING_OP_FALLOCATE,         /* 5.6 */
	IORING_OP_OPENAT,            /* 5.6 */
	IORING_OP_CLOSE,             /* 5.6 */
	IORING_OP_FILES_UPDATE,      /* 5.6 */
	IORING_OP_STATX,             /* 5.6 */
	IORING_OP_READ,              /* 5.6 */
	IORING_OP_WRITE,             /* 5.6 */
	IORING_OP_FADVISE,           /* 5.6 */
	IORING_OP_MADVISE,           /* 5.6 */
	IORING_OP_SEND,              /* 5.6 */
	IORING_OP_RECV,              /* 5.6 */
	IORING_OP_OPENAT2,           /* 5.6 */
	IORING_OP_EPOLL_CTL,         /* 5.6 */
	IORING_OP_SPLICE,            /* 5.7 */
	IORING_OP_PROVIDE_BUFFERS,   /* 5.7 */
	IORING_OP_REMOVE_BUFFERS,    /* 5.7 */
	IORING_OP_TEE,               /* 5.8 */
	IORING_OP_SHUTDOWN,          /* 5.11 */
	IORING_OP_RENAMEAT,          /* 5.11 */
	IORING_OP_UNLINKAT,          /* 5.11 */
	IORING_OP_MKDIRAT,           /* 5.15 */
	IORING_OP_SYMLINKAT,         /* 5.15 */
	IORING_OP_LINKAT,            /* 5.15 */
	IORING_OP_MSG_RING,          /* 5.18 */
	IORING_OP_FSETXATTR,         /* 5.19 */
	IORING_OP_SETXATTR,          /* 5.19 */
	IORING_OP_FGETXATTR,         /* 5.19 */
	IORING_OP_GETXATTR,          /* 5.19 */
	IORING_OP_SOCKET,            /* 5.19 */
	IORING_OP_URING_CMD,         /* 5.19 */
	IORING_OP_SEND_ZC,           /* 6.0 */
	IORING_OP_SENDMSG_ZC,        /* 6.1 */
	IORING_OP_READ_MULTISHOT,    /* 6.7 */
	IORING_OP_WAITID,            /* 6.7 */
	IORING_OP_FUTEX_WAIT,        /* 6.7 */
	IORING_OP_FUTEX_WAKE,        /* 6.7 */
	IORING_OP_FUTEX_WAITV,       /* 6.7 */
	IORING_OP_FIXED_FD_INSTALL,  /* 6.8 */
	IORING_OP_FTRUNCATE,         /* 6.9 */
	IORING_OP_BIND,              /* 6.11 */
	IORING_OP_LISTEN,            /* 6.11 */
	IORING_OP_RECV_ZC,           /* 6.15 */
	IORING_OP_EPOLL_WAIT,        /* 6.15 */
	IORING_OP_READV_FIXED,       /* 6.15 */
	IORING_OP_WRITEV_FIXED,      /* 6.15 */
	IORING_OP_PIPE,              /* 6.16 */

	IORING_OP_LAST,              /* one past the highest opcode Linux 6.18 knows */
};

/*
 * Opcodes that arrived after Linux 6.18. They stay outside enum io_uring_op
 * (whose IORING_OP_LAST is 6.18's) so that code can name them and the probe
 * can say they are missing on older kernels. Both take a 128-byte SQE, so
 * they need a ring set up with IORING_SETUP_SQE128.
 */
#define IORING_OP_NOP128       63  /* 6.19 */
#define IORING_OP_URING_CMD128 64  /* 6.19 */

/* sqe->uring_cmd_flags (the top 8 bits belong to the kernel). */
#define IORING_URING_CMD_FIXED     (1U << 0)  /* data is in registered buffer sqe->buf_index */
#define IORING_URING_CMD_MULTISHOT (1U << 1)  /* multishot; needs IOSQE_BUFFER_SELECT, not FIXED */
#define IORING_URING_CMD_MASK      (IORING_URING_CMD_FIXED | IORING_URING_CMD_MULTISHOT)

/* sqe->fsync_flags. */
#define IORING_FSYNC_DATASYNC (1U << 0)

/* sqe->timeout_flags (IORING_OP_TIMEOUT, TIMEOUT_REMOVE, LINK_TIMEOUT). */
#define IORING_TIMEOUT_ABS           (1U << 0)
#define IORING_TIMEOUT_UPDATE        (1U << 1)
#define IORING_TIMEOUT_BOOTTIME      (1U << 2)
#define IORING_TIMEOUT_REALTIME      (1U << 3)
#define IORING_LINK_TIMEOUT_UPDATE   (1U << 4)
#define IORING_TIMEOUT_ETIME_SUCCESS (1U << 5)
#define IORING_TIMEOUT_MULTISHOT     (1U << 6)
#define IORING_TIMEOUT_CLOCK_MASK    (IORING_TIMEOUT_BOOTTIME | IORING_TIMEOUT_REALTIME)
#define IORING_TIMEOUT_UPDATE_MASK   (IORING_TIMEOUT_UPDATE | IORING_LINK_TIMEOUT_UPDATE)

/* sqe->splice_flags: on top of splice(2)'s flags, "splice_fd_in is a fixed file". */
#define SPLICE_F_FD_IN_FIXED (1U << 31)

/*
 * IORING_OP_POLL_ADD / POLL_REMOVE command flags. They live in sqe->len,
 * because sqe->poll32_events holds the event mask.
 */
#define IORING_POLL_ADD_MULTI        (1U << 0)  /* multishot poll */
#define IORING_POLL_UPDATE_EVENTS    (1U << 1)  /* update the event mask of sqe->addr */
#define IORING_POLL_UPDATE_USER_DATA (1U << 2)  /* update its user_data to sqe->off */
#define IORING_POLL_ADD_LEVEL        (1U << 3)  /* in the uapi, but POLL_ADD refuses it (-EINVAL: io_poll_add_prep takes only ADD_MULTI) */

/* sqe->cancel_flags (IORING_OP_ASYNC_CANCEL, IORING_REGISTER_SYNC_CANCEL). */
#define IORING_ASYNC_CANCEL_ALL      (1U << 0)  /* every match, not just the first */
#define IORING_ASYNC_CANCEL_FD       (1U << 1)  /* match on fd */
#define IORING_ASYNC_CANCEL_ANY      (1U << 2)  /* match everything */
#define IORING_ASYNC_CANCEL_FD_FIXED (1U << 3)  /* the fd is a fixed-file index */
#define IORING_ASYNC_CANCEL_USERDATA (1U << 4)  /* match on user_data (the default) */
#define IORING_ASYNC_CANCEL_OP       (1U << 5)  /* match on opcode */

/* send/recv family flags, carried in sqe->ioprio. */
#define IORING_RECVSEND_POLL_FIRST  (1U << 0)  /* arm poll before the first attempt */
#define IORING_RECV_MULTISHOT       (1U << 1)  /* multishot receive */
#define IORING_RECVSEND_FIXED_BUF   (1U << 2)  /* registered buffer in sqe->buf_index */
#define IORING_SEND_ZC_REPORT_USAGE (1U << 3)  /* report copying in the notification CQE */
#define IORING_RECVSEND_BUNDLE      (1U << 4)  /* consume several provided buffers at once */
#define IORING_SEND_VECTORIZED      (1U << 5)  /* SEND[_ZC] takes an iovec array */

/*
 * Set in the notification CQE's res when IORING_SEND_ZC_REPORT_USAGE was
 * requested and the data had to be copied; treat the other bits as reserved.
 */
#define IORING_NOTIF_USAGE_ZC_COPIED (1U << 31)

/* IORING_OP_ACCEPT flags, carried in sqe->ioprio. */
#define IORING_ACCEPT_MULTISHOT  (1U << 0)
#define IORING_ACCEPT_DONTWAIT   (1U << 1)
#define IORING_ACCEPT_POLL_FIRST (1U << 2)

/* IORING_OP_MSG_RING command, carried in sqe->addr. */
enum io_uring_msg_ring_flags {
	IORING_MSG_DATA,     /* post a CQE with res = sqe->len and user_data = sqe->off */
	IORING_MSG_SEND_FD,  /* install one of our fixed files into the target ring */
};

/* sqe->msg_ring_flags. */
#define IORING_MSG_RING_CQE_SKIP   (1U << 0)  /* no CQE in the target ring (SEND_FD only) */
#define IORING_MSG_RING_FLAGS_PASS (1U << 1)  /* target cqe->flags = sqe->file_index */

/* sqe->install_fd_flags (IORING_OP_FIXED_FD_INSTALL). */
#define IORING_FIXED_FD_NO_CLOEXEC (1U << 0)

/* sqe->nop_flags (IORING_OP_NOP); test hooks for exercising the core. */
#define IORING_NOP_INJECT_RESULT (1U << 0)  /* complete with res = sqe->len */
#define IORING_NOP_FILE          (1U << 1)  /* look up sqe->fd */
#define IORING_NOP_FIXED_FILE    (1U << 2)  /* ... as a fixed file */
#define IORING_NOP_FIXED_BUFFER  (1U << 3)  /* look up registered buffer sqe->buf_index */
#define IORING_NOP_TW            (1U << 4)  /* complete via task work */
#define IORING_NOP_CQE32         (1U << 5)  /* post a 32-byte CQE (CQE_MIXED rings) */

/*
 * ------------------------------------------------------------------------
 * Completion queue entry
 * ------------------------------------------------------------------------
 */

/*
 * One completion, 16 bytes. On IORING_SETUP_CQE32 rings, and for CQEs
 * flagged IORING_CQE_F_32 on IORING_SETUP_CQE_MIXED rings, 16 more
 * bytes follow: big_cqe[0] and big_cqe[1].
 */
struct io_uring_cqe {
	__u64 user_data;  /* the submitting SQE's user_data */
	__s32 res;        /* result, or -errno */
	__u32 flags;      /* IORING_CQE_F_* bits; buffer id in the top 16 bits */
	__u64 big_cqe[];  /* CQE32 rings (and IORING_CQE_F_32 entries): 16 more bytes */
};

/* cqe->flags. */
#define IORING_CQE_F_BUFFER        (1U << 0)   /* upper 16 bits hold a buffer id */
#define IORING_CQE_F_MORE          (1U << 1)   /* the request will post more CQEs */
#define IORING_CQE_F_SOCK_NONEMPTY (1U << 2)   /* socket still had data after a recv */
#define IORING_CQE_F_NOTIF         (1U << 3)   /* zero-copy send notification */
#define IORING_CQE_F_BUF_MORE      (1U << 4)   /* incremental buffer not used up yet */
#define IORING_CQE_F_SKIP          (1U << 5)   /* filler entry: ignore it (CQE_MIXED) */
#define IORING_CQE_F_32            (1U << 15)  /* 32-byte entry (CQE_MIXED) */

#define IORING_CQE_BUFFER_SHIFT 16  /* buffer id = flags >> this */

/*
 * ------------------------------------------------------------------------
 * mmap(2) offsets and ring layout
 * ------------------------------------------------------------------------
 */

#define IORING_OFF_SQ_RING    0ULL
#define IORING_OFF_CQ_RING    0x8000000ULL
#define IORING_OFF_SQES       0x10000000ULL
#define IORING_OFF_PBUF_RING  0x80000000ULL  /* | bgid << IORING_OFF_PBUF_SHIFT */
#define IORING_OFF_PBUF_SHIFT 16
#define IORING_OFF_MMAP_MASK  0xf8000000ULL

/* Where the SQ ring's fields live, as offsets from its mapping. */
struct io_sqring_offsets {
	__u32 head;
	__u32 tail;
	__u32 ring_mask;
	__u32 ring_entries;
	__u32 flags;      /* IORING_SQ_* bits */
	__u32 dropped;    /* count of invalid SQEs skipped */
	__u32 array;      /* index array (absent with IORING_SETUP_NO_SQARRAY) */
	__u32 resv1;
	__u64 user_addr;  /* IORING_SETUP_NO_MMAP: address of the SQE array */
};

/* The SQ ring's flags word. */
#define IORING_SQ_NEED_WAKEUP (1U << 0)  /* SQPOLL thread sleeps; enter with SQ_WAKEUP */
#define IORING_SQ_CQ_OVERFLOW (1U << 1)  /* completions are parked in the overflow list */
#define IORING_SQ_TASKRUN     (1U << 2)  /* task work pending; enter to run it */

/* Where the CQ ring's fields live, as offsets from its mapping. */
struct io_cqring_offsets {
	__u32 head;
	__u32 tail;
	__u32 ring_mask;
	__u32 ring_entries;
	__u32 overflow;   /* count of CQEs lost */
	__u32 cqes;       /* the CQE array */
	__u32 flags;      /* IORING_CQ_* bits */
	__u32 resv1;
	__u64 user_addr;  /* IORING_SETUP_NO_MMAP: address of the ring memory */
};

/* The CQ ring's flags word. */
#define IORING_CQ_EVENTFD_DISABLED (1U << 0)  /* don't signal the registered eventfd */

/*
 * ------------------------------------------------------------------------
 * io_uring_enter(2) flags
 * ------------------------------------------------------------------------
 */

#define IORING_ENTER_GETEVENTS       (1U << 0)  /* wait for min_complete CQEs */
#define IORING_ENTER_SQ_WAKEUP       (1U << 1)  /* wake the SQPOLL thread */
#define IORING_ENTER_SQ_WAIT         (1U << 2)  /* wait for SQ space (SQPOLL) */
#define IORING_ENTER_EXT_ARG         (1U << 3)  /* arg is io_uring_getevents_arg */
#define IORING_ENTER_REGISTERED_RING (1U << 4)  /* fd is a registered ring index */
#define IORING_ENTER_ABS_TIMER       (1U << 5)  /* the timeout is absolute */
#define IORING_ENTER_EXT_ARG_REG     (1U << 6)  /* arg is an offset into the wait region */
#define IORING_ENTER_NO_IOWAIT       (1U << 7)  /* don't count the wait as iowait */

/*
 * ------------------------------------------------------------------------
 * io_uring_setup(2) parameters
 * ------------------------------------------------------------------------
 */

/* In: entries hints and flags. Out: sizes, features and ring offsets. */
struct io_uring_params {
	__u32 sq_entries;
	__u32 cq_entries;
	__u32 flags;           /* IORING_SETUP_* */
	__u32 sq_thread_cpu;
	__u32 sq_thread_idle;  /* milliseconds */
	__u32 features;        /* IORING_FEAT_*, filled in by the kernel */
	__u32 wq_fd;           /* IORING_SETUP_ATTACH_WQ */
	__u32 resv[3];
	struct io_sqring_offsets sq_off;
	struct io_cqring_offsets cq_off;
};

/* io_uring_params::features. */
#define IORING_FEAT_SINGLE_MMAP     (1U << 0)
#define IORING_FEAT_NODROP          (1U << 1)
#define IORING_FEAT_SUBMIT_STABLE   (1U << 2)
#define IORING_FEAT_RW_CUR_POS      (1U << 3)
#define IORING_FEAT_CUR_PERSONALITY (1U << 4)
#define IORING_FEAT_FAST_POLL       (1U << 5)
#define IORING_FEAT_POLL_32BITS     (1U << 6)
#define IORING_FEAT_SQPOLL_NONFIXED (1U << 7)
#define IORING_FEAT_EXT_ARG         (1U << 8)
#define IORING_FEAT_NATIVE_WORKERS  (1U << 9)
#define IORING_FEAT_RSRC_TAGS       (1U << 10)
#define IORING_FEAT_CQE_SKIP        (1U << 11)
#define IORING_FEAT_LINKED_FILE     (1U << 12)
#define IORING_FEAT_REG_REG_RING    (1U << 13)
#define IORING_FEAT_RECVSEND_BUNDLE (1U << 14)
#define IORING_FEAT_MIN_TIMEOUT     (1U << 15)
#define IORING_FEAT_RW_ATTR         (1U << 16)
#define IORING_FEAT_NO_IOWAIT       (1U << 17)

/*
 * ------------------------------------------------------------------------
 * io_uring_register(2)
 * ------------------------------------------------------------------------
 */

enum io_uring_register_op {
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

	/* Tagged variants of files and buffers. */
	IORING_REGISTER_FILES2 = 13,
	IORING_REGISTER_FILES_UPDATE2 = 14,
	IORING_REGISTER_BUFFERS2 = 15,
	IORING_REGISTER_BUFFERS_UPDATE = 16,

	/* io-wq CPU affinity and worker limits. */
	IORING_REGISTER_IOWQ_AFF = 17,
	IORING_UNREGISTER_IOWQ_AFF = 18,
	IORING_REGISTER_IOWQ_MAX_WORKERS = 19,

	/* Ring fds registered with the ring itself (IORING_ENTER_REGISTERED_RING). */
	IORING_REGISTER_RING_FDS = 20,
	IORING_UNREGISTER_RING_FDS = 21,

	/* Ring-mapped provided-buffer groups. */
	IORING_REGISTER_PBUF_RING = 22,
	IORING_UNREGISTER_PBUF_RING = 23,

	IORING_REGISTER_SYNC_CANCEL = 24,       /* synchronous cancellation */
	IORING_REGISTER_FILE_ALLOC_RANGE = 25,  /* slot range for IORING_FILE_INDEX_ALLOC */
	IORING_REGISTER_PBUF_STATUS = 26,       /* head of a provided-buffer ring */

	/* NAPI busy polling. */
	IORING_REGISTER_NAPI = 27,
	IORING_UNREGISTER_NAPI = 28,

	IORING_REGISTER_CLOCK = 29,             /* clock for wait timeouts */
	IORING_REGISTER_CLONE_BUFFERS = 30,     /* copy registered buffers from another ring */
	IORING_REGISTER_SEND_MSG_RING = 31,     /* MSG_RING without a source ring */
	IORING_REGISTER_ZCRX_IFQ = 32,          /* zero-copy receive queue */
	IORING_REGISTER_RESIZE_RINGS = 33,
	IORING_REGISTER_MEM_REGION = 34,
	IORING_REGISTER_QUERY = 35,             /* ring-less capability query (io_uring_query_hdr) */

	IORING_REGISTER_LAST,                   /* one past the highest opcode Linux 6.18 knows */

	/* Or-ed into the opcode: fd is a registered ring index, not a file descriptor. */
	IORING_REGISTER_USE_REGISTERED_RING = 1U << 31,
};

/* io-wq worker classes (index into IORING_REGISTER_IOWQ_MAX_WORKERS's array). */
enum io_wq_type {
	IO_WQ_BOUND,
	IO_WQ_UNBOUND,
};

/* Old argument of IORING_REGISTER_FILES_UPDATE; io_uring_rsrc_update replaces it. */
struct io_uring_files_update {
	__u32 offset;
	__u32 resv;
	__aligned_u64 fds;  /* address of an array of s32 fds */
};

/* io_uring_region_desc::flags. */
enum {
	IORING_MEM_REGION_TYPE_USER = 1,  /* memory at user_addr, not kernel-allocated */
};

/*
 * One memory region shared with the kernel (IORING_REGISTER_MEM_REGION,
 * zero-copy receive refill rings, ...).
 */
struct io_uring_region_desc {
	__u64 user_addr;
	__u64 size;
	__u32 flags;        /* IORING_MEM_REGION_TYPE_* */
	__u32 id;
	__u64 mmap_offset;  /* out: where to mmap a kernel-allocated region */
	__u64 __resv[4];
};

/* io_uring_mem_region_reg::flags. */
enum {
	IORING_MEM_REGION_REG_WAIT_ARG = 1,  /* region holds io_uring_reg_wait entries */
};

/* Argument of IORING_REGISTER_MEM_REGION. */
struct io_uring_mem_region_reg {
	__u64 region_uptr;  /* address of an io_uring_region_desc */
	__u64 flags;        /* IORING_MEM_REGION_REG_* */
	__u64 __resv[2];
};

/* io_uring_rsrc_register::flags: register `nr` empty slots (data is ignored). */
#define IORING_RSRC_REGISTER_SPARSE (1U << 0)

/* Argument of IORING_REGISTER_FILES2 / BUFFERS2. */
struct io_uring_rsrc_register {
	__u32 nr;
	__u32 flags;         /* IORING_RSRC_REGISTER_* */
	__u64 resv2;
	__aligned_u64 data;  /* fds or iovecs */
	__aligned_u64 tags;  /* u64 per entry, posted as user_data when it goes away */
};

/* Argument of IORING_REGISTER_FILES_UPDATE (and of IORING_OP_FILES_UPDATE's layout). */
struct io_uring_rsrc_update {
	__u32 offset;
	__u32 resv;
	__aligned_u64 data;
};

/* Argument of IORING_REGISTER_FILES_UPDATE2 / BUFFERS_UPDATE. */
struct io_uring_rsrc_update2 {
	__u32 offset;
	__u32 resv;
	__aligned_u64 data;
	__aligned_u64 tags;
	__u32 nr;
	__u32 resv2;
};

/* A file-update fd value meaning "leave this slot as it is". */
#define IORING_REGISTER_FILES_SKIP (-2)

/* io_uring_probe_op::flags: the running kernel implements this opcode. */
#define IO_URING_OP_SUPPORTED (1U << 0)

struct io_uring_probe_op {
	__u8 op;
	__u8 resv;
	__u16 flags;  /* IO_URING_OP_* */
	__u32 resv2;
};

/* Result of IORING_REGISTER_PROBE: a header followed by ops_len entries. */
struct io_uring_probe {
	__u8 last_op;  /* highest opcode the kernel knows */
	__u8 ops_len;  /* entries filled in below */
	__u16 resv;
	__u32 resv2[3];
	struct io_uring_probe_op ops[];
};

/* One rule of IORING_REGISTER_RESTRICTIONS. */
struct io_uring_restriction {
	__u16 opcode;  /* io_uring_register_restriction_op */
	union {
		__u8 register_op;  /* IORING_RESTRICTION_REGISTER_OP */
		__u8 sqe_op;       /* IORING_RESTRICTION_SQE_OP */
		__u8 sqe_flags;    /* IORING_RESTRICTION_SQE_FLAGS_* */
	};
	__u8 resv;
	__u32 resv2[3];
};

/* Argument of IORING_REGISTER_CLOCK. */
struct io_uring_clock_register {
	__u32 clockid;  /* CLOCK_MONOTONIC or CLOCK_BOOTTIME */
	__u32 __resv[3];
};

/* io_uring_clone_buffers::flags. */
enum {
	IORING_REGISTER_SRC_REGISTERED = (1U << 0),  /* src_fd is a registered ring index */
	IORING_REGISTER_DST_REPLACE = (1U << 1),     /* overwrite existing buffers */
};

/* Argument of IORING_REGISTER_CLONE_BUFFERS. */
struct io_uring_clone_buffers {
	__u32 src_fd;
	__u32 flags;  /* IORING_REGISTER_SRC_REGISTERED / DST_REPLACE */
	__u32 src_off;
	__u32 dst_off;
	__u32 nr;
	__u32 pad[3];
};

/* One entry of a provided-buffer ring. */
struct io_uring_buf {
	__u64 addr;
	__u32 len;
	__u16 bid;   /* buffer id reported in cqe->flags */
	__u16 resv;  /* in entry 0 this is the ring's tail */
};

/*
 * A provided-buffer ring. The tail index is stored in the `resv` field of
 * bufs[0], so the ring needs no header of its own.
 */
struct io_uring_buf_ring {
	union {
		struct {
			__u64 resv1;
			__u32 resv2;
			__u16 resv3;
			__u16 tail;
		};
#ifdef __cplusplus
		struct io_uring_buf bufs[0];
#else
		struct { struct { } __empty_bufs; struct io_uring_buf bufs[]; };
#endif
	};
};

/* io_uring_buf_reg::flags. */
enum io_uring_register_pbuf_ring_flags {
	/* The kernel allocates the ring; map it at
	 * IORING_OFF_PBUF_RING | (bgid << IORING_OFF_PBUF_SHIFT), ring_addr must be 0. */
	IOU_PBUF_RING_MMAP = 1,
	/* Buffers may be consumed a piece at a time (see IORING_CQE_F_BUF_MORE). */
	IOU_PBUF_RING_INC = 2,
};

/* Argument of IORING_(UN)REGISTER_PBUF_RING. */
struct io_uring_buf_reg {
	__u64 ring_addr;
	__u32 ring_entries;  /* a power of two */
	__u16 bgid;
	__u16 flags;         /* io_uring_register_pbuf_ring_flags */
	__u64 resv[3];
};

/* Argument of IORING_REGISTER_PBUF_STATUS. */
struct io_uring_buf_status {
	__u32 buf_group;  /* in */
	__u32 head;       /* out */
	__u32 resv[8];
};

/* io_uring_napi::opcode. */
enum io_uring_napi_op {
	IO_URING_NAPI_REGISTER_OP = 0,    /* plain register/unregister */
	IO_URING_NAPI_STATIC_ADD_ID = 1,  /* add op_param to the static NAPI id list */
	IO_URING_NAPI_STATIC_DEL_ID = 2,  /* remove op_param from it */
};

/* io_uring_napi::op_param for IO_URING_NAPI_REGISTER_OP. */
enum io_uring_napi_tracking_strategy {
	IO_URING_NAPI_TRACKING_DYNAMIC = 0,
	IO_URING_NAPI_TRACKING_STATIC = 1,
	IO_URING_NAPI_TRACKING_INACTIVE = 255,
};

/* Argument of IORING_(UN)REGISTER_NAPI. */
struct io_uring_napi {
	__u32 busy_poll_to;  /* microseconds */
	__u8 prefer_busy_poll;
	__u8 opcode;         /* io_uring_napi_op */
	__u8 pad[2];
	__u32 op_param;      /* tracking strategy or NAPI id, depending on opcode */
	__u32 resv;
};

/* io_uring_restriction::opcode. */
enum io_uring_register_restriction_op {
	IORING_RESTRICTION_REGISTER_OP = 0,         /* allow one io_uring_register(2) opcode */
	IORING_RESTRICTION_SQE_OP = 1,              /* allow one SQE opcode */
	IORING_RESTRICTION_SQE_FLAGS_ALLOWED = 2,   /* SQE flags that may be set */
	IORING_RESTRICTION_SQE_FLAGS_REQUIRED = 3,  /* SQE flags that must be set */
	IORING_RESTRICTION_LAST,
};

/* io_uring_reg_wait::flags. */
enum {
	IORING_REG_WAIT_TS = (1U << 0),  /* ts is valid */
};

/*
 * An entry of a registered wait region (IORING_MEM_REGION_REG_WAIT_ARG),
 * selected with IORING_ENTER_EXT_ARG_REG.
 */
struct io_uring_reg_wait {
	struct __kernel_timespec ts;
	__u32 min_wait_usec;
	__u32 flags;  /* IORING_REG_WAIT_* */
	__u64 sigmask;
	__u32 sigmask_sz;
	__u32 pad[3];
	__u64 pad2[2];
};

/* Argument of io_uring_enter(2) with IORING_ENTER_EXT_ARG. */
struct io_uring_getevents_arg {
	__u64 sigmask;
	__u32 sigmask_sz;
	__u32 min_wait_usec;
	__u64 ts;  /* address of a kernel_timespec, or 0 */
};

/* Argument of IORING_REGISTER_SYNC_CANCEL. */
struct io_uring_sync_cancel_reg {
	__u64 addr;   /* user_data to match */
	__s32 fd;
	__u32 flags;  /* IORING_ASYNC_CANCEL_* */
	struct __kernel_timespec timeout;
	__u8 opcode;  /* with IORING_ASYNC_CANCEL_OP */
	__u8 pad[7];
	__u64 pad2[3];
};

/* Argument of IORING_REGISTER_FILE_ALLOC_RANGE: slots [off, off + len). */
struct io_uring_file_index_range {
	__u32 off;
	__u32 len;
	__u64 resv;
};

/* Header at the start of each multishot IORING_OP_RECVMSG buffer. */
struct io_uring_recvmsg_out {
	__u32 namelen;
	__u32 controllen;
	__u32 payloadlen;
	__u32 flags;
};

/* IORING_OP_URING_CMD sub-commands (sqe->cmd_op) for sockets. */
enum io_uring_socket_op {
	SOCKET_URING_OP_SIOCINQ = 0,
	SOCKET_URING_OP_SIOCOUTQ,
	SOCKET_URING_OP_GETSOCKOPT,
	SOCKET_URING_OP_SETSOCKOPT,
	SOCKET_URING_OP_TX_TIMESTAMP,
};

/*
 * SOCKET_URING_OP_TX_TIMESTAMP completions: cqe->flags carries whether the
 * stamp came from hardware and, above that bit, the timestamp type.
 */
#define IORING_TIMESTAMP_HW_SHIFT   16
#define IORING_TIMESTAMP_TYPE_SHIFT (IORING_TIMESTAMP_HW_SHIFT + 1)
#define IORING_CQE_F_TSTAMP_HW      ((__u32)1 << IORING_TIMESTAMP_HW_SHIFT)

/* The timestamp itself, in the second half of a 32-byte CQE. */
struct io_timespec {
	__u64 tv_sec;
	__u64 tv_nsec;
};

/*
 * ------------------------------------------------------------------------
 * Zero-copy receive (IORING_OP_RECV_ZC, IORING_REGISTER_ZCRX_IFQ)
 * ------------------------------------------------------------------------
 */

/* Refill-queue entry: hands a buffer back to the kernel. */
struct io_uring_zcrx_rqe {
	__u64 off;  /* area id in the top bits, see IORING_ZCRX_AREA_SHIFT */
	__u32 len;
	__u32 __pad;
};

/* Second half of a RECV_ZC completion (the CQE is 32 bytes). */
struct io_uring_zcrx_cqe {
	__u64 off;
	__u64 __pad;
};

/* Offsets carry the area id from this bit upwards. */
#define IORING_ZCRX_AREA_SHIFT 48
#define IORING_ZCRX_AREA_MASK  (~(((__u64)1 << IORING_ZCRX_AREA_SHIFT) - 1))

/* Layout of the refill ring, as offsets into its region. */
struct io_uring_zcrx_offsets {
	__u32 head;
	__u32 tail;
	__u32 rqes;
	__u32 __resv2;
	__u64 __resv[2];
};

/* io_uring_zcrx_area_reg::flags. */
enum io_uring_zcrx_area_flags {
	IORING_ZCRX_AREA_DMABUF = 1,  /* the area is dmabuf_fd, not user memory */
};

/* The memory packets are received into. */
struct io_uring_zcrx_area_reg {
	__u64 addr;
	__u64 len;
	__u64 rq_area_token;  /* out */
	__u32 flags;          /* io_uring_zcrx_area_flags */
	__u32 dmabuf_fd;
	__u64 __resv2[2];
};

/* Argument of IORING_REGISTER_ZCRX_IFQ. */
struct io_uring_zcrx_ifq_reg {
	__u32 if_idx;                          /* network interface index */
	__u32 if_rxq;                          /* hardware rx queue */
	__u32 rq_entries;
	__u32 flags;

	__u64 area_ptr;                        /* address of an io_uring_zcrx_area_reg */
	__u64 region_ptr;                      /* address of an io_uring_region_desc for the refill ring */

	struct io_uring_zcrx_offsets offsets;  /* out */
	__u32 zcrx_id;                         /* out: goes into sqe->zcrx_ifq_idx */
	__u32 __resv2;
	__u64 __resv[3];
};

/*
 * ------------------------------------------------------------------------
 * IORING_REGISTER_QUERY (linux/io_uring/query.h). Needs no ring: pass fd -1.
 * ------------------------------------------------------------------------
 */
#ifndef LINUX_IO_URING_QUERY_H
#define LINUX_IO_URING_QUERY_H

/* One query in a chain; next_entry links to the next header (0 ends it). */
struct io_uring_query_hdr {
	__u64 next_entry;
	__u64 query_data;  /* address of the query's result struct */
	__u32 query_op;    /* IO_URING_QUERY_* */
	__u32 size;        /* size of the result struct */
	__s32 result;      /* out: 0 or -errno */
	__u32 __resv[3];
};

/* io_uring_query_hdr::query_op. */
enum {
	IO_URING_QUERY_OPCODES = 0,  /* result: io_uring_query_opcode */
};

/* Result of IO_URING_QUERY_OPCODES: what the running kernel accepts. */
struct io_uring_query_opcode {
	__u32 nr_request_opcodes;   /* number of IORING_OP_* values */
	__u32 nr_register_opcodes;  /* number of IORING_[UN]REGISTER_* values */
	__u64 feature_flags;        /* IORING_FEAT_* mask */
	__u64 ring_setup_flags;     /* IORING_SETUP_* mask */
	__u64 enter_flags;          /* IORING_ENTER_* mask */
	__u64 sqe_flags;            /* IOSQE_* mask */
	__u32 nr_query_opcodes;     /* number of IO_URING_QUERY_* values */
	__u32 __pad;
};

#endif /* LINUX_IO_URING_QUERY_H */

/* Layout checks (the same on every 64-bit ABI). */
#ifdef __cplusplus
#define __IO_URING_ABI_CHECK(expr) static_assert(expr, #expr)
#else
#define __IO_URING_ABI_CHECK(expr) _Static_assert(expr, #expr)
#endif
__IO_URING_ABI_CHECK(sizeof(struct __kernel_timespec) == 16);

__IO_URING_ABI_CHECK(sizeof(struct open_how) == 24);

__IO_URING_ABI_CHECK(sizeof(struct io_uring_sqe) == 64);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_sqe, opcode) == 0);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_sqe, flags) == 1);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_sqe, ioprio) == 2);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_sqe, fd) == 4);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_sqe, off) == 8);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_sqe, addr2) == 8);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_sqe, cmd_op) == 8);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_sqe, __pad1) == 12);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_sqe, addr) == 16);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_sqe, splice_off_in) == 16);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_sqe, level) == 16);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_sqe, optname) == 20);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_sqe, len) == 24);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_sqe, rw_flags) == 28);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_sqe, fsync_flags) == 28);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_sqe, poll_events) == 28);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_sqe, poll32_events) == 28);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_sqe, sync_range_flags) == 28);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_sqe, msg_flags) == 28);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_sqe, timeout_flags) == 28);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_sqe, accept_flags) == 28);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_sqe, cancel_flags) == 28);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_sqe, open_flags) == 28);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_sqe, statx_flags) == 28);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_sqe, fadvise_advice) == 28);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_sqe, splice_flags) == 28);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_sqe, rename_flags) == 28);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_sqe, unlink_flags) == 28);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_sqe, hardlink_flags) == 28);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_sqe, xattr_flags) == 28);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_sqe, msg_ring_flags) == 28);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_sqe, uring_cmd_flags) == 28);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_sqe, waitid_flags) == 28);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_sqe, futex_flags) == 28);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_sqe, install_fd_flags) == 28);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_sqe, nop_flags) == 28);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_sqe, pipe_flags) == 28);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_sqe, user_data) == 32);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_sqe, buf_index) == 40);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_sqe, buf_group) == 40);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_sqe, personality) == 42);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_sqe, splice_fd_in) == 44);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_sqe, file_index) == 44);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_sqe, zcrx_ifq_idx) == 44);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_sqe, optlen) == 44);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_sqe, addr_len) == 44);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_sqe, __pad3) == 46);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_sqe, write_stream) == 44);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_sqe, __pad4) == 45);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_sqe, addr3) == 48);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_sqe, __pad2) == 56);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_sqe, attr_ptr) == 48);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_sqe, attr_type_mask) == 56);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_sqe, optval) == 48);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_sqe, cmd) == 48);

__IO_URING_ABI_CHECK(sizeof(struct io_uring_attr_pi) == 32);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_attr_pi, app_tag) == 2);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_attr_pi, len) == 4);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_attr_pi, addr) == 8);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_attr_pi, seed) == 16);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_attr_pi, rsvd) == 24);

__IO_URING_ABI_CHECK(sizeof(struct io_uring_cqe) == 16);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_cqe, user_data) == 0);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_cqe, res) == 8);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_cqe, flags) == 12);

__IO_URING_ABI_CHECK(sizeof(struct io_sqring_offsets) == 40);
__IO_URING_ABI_CHECK(offsetof(struct io_sqring_offsets, head) == 0);
__IO_URING_ABI_CHECK(offsetof(struct io_sqring_offsets, tail) == 4);
__IO_URING_ABI_CHECK(offsetof(struct io_sqring_offsets, ring_mask) == 8);
__IO_URING_ABI_CHECK(offsetof(struct io_sqring_offsets, ring_entries) == 12);
__IO_URING_ABI_CHECK(offsetof(struct io_sqring_offsets, flags) == 16);
__IO_URING_ABI_CHECK(offsetof(struct io_sqring_offsets, dropped) == 20);
__IO_URING_ABI_CHECK(offsetof(struct io_sqring_offsets, array) == 24);
__IO_URING_ABI_CHECK(offsetof(struct io_sqring_offsets, resv1) == 28);
__IO_URING_ABI_CHECK(offsetof(struct io_sqring_offsets, user_addr) == 32);

__IO_URING_ABI_CHECK(sizeof(struct io_cqring_offsets) == 40);
__IO_URING_ABI_CHECK(offsetof(struct io_cqring_offsets, head) == 0);
__IO_URING_ABI_CHECK(offsetof(struct io_cqring_offsets, tail) == 4);
__IO_URING_ABI_CHECK(offsetof(struct io_cqring_offsets, ring_mask) == 8);
__IO_URING_ABI_CHECK(offsetof(struct io_cqring_offsets, ring_entries) == 12);
__IO_URING_ABI_CHECK(offsetof(struct io_cqring_offsets, overflow) == 16);
__IO_URING_ABI_CHECK(offsetof(struct io_cqring_offsets, cqes) == 20);
__IO_URING_ABI_CHECK(offsetof(struct io_cqring_offsets, flags) == 24);
__IO_URING_ABI_CHECK(offsetof(struct io_cqring_offsets, resv1) == 28);
__IO_URING_ABI_CHECK(offsetof(struct io_cqring_offsets, user_addr) == 32);

__IO_URING_ABI_CHECK(sizeof(struct io_uring_params) == 120);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_params, sq_entries) == 0);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_params, cq_entries) == 4);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_params, flags) == 8);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_params, sq_thread_cpu) == 12);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_params, sq_thread_idle) == 16);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_params, features) == 20);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_params, wq_fd) == 24);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_params, resv) == 28);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_params, sq_off) == 40);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_params, cq_off) == 80);

__IO_URING_ABI_CHECK(sizeof(struct io_uring_files_update) == 16);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_files_update, fds) == 8);

__IO_URING_ABI_CHECK(sizeof(struct io_uring_region_desc) == 64);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_region_desc, flags) == 16);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_region_desc, id) == 20);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_region_desc, mmap_offset) == 24);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_region_desc, __resv) == 32);

__IO_URING_ABI_CHECK(sizeof(struct io_uring_mem_region_reg) == 32);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_mem_region_reg, flags) == 8);

__IO_URING_ABI_CHECK(sizeof(struct io_uring_rsrc_register) == 32);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_rsrc_register, resv2) == 8);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_rsrc_register, data) == 16);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_rsrc_register, tags) == 24);

__IO_URING_ABI_CHECK(sizeof(struct io_uring_rsrc_update) == 16);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_rsrc_update, data) == 8);

__IO_URING_ABI_CHECK(sizeof(struct io_uring_rsrc_update2) == 32);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_rsrc_update2, data) == 8);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_rsrc_update2, tags) == 16);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_rsrc_update2, nr) == 24);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_rsrc_update2, resv2) == 28);

__IO_URING_ABI_CHECK(sizeof(struct io_uring_probe_op) == 8);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_probe_op, flags) == 2);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_probe_op, resv2) == 4);

__IO_URING_ABI_CHECK(sizeof(struct io_uring_probe) == 16);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_probe, ops_len) == 1);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_probe, resv2) == 4);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_probe, ops) == 16);

__IO_URING_ABI_CHECK(sizeof(struct io_uring_restriction) == 16);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_restriction, register_op) == 2);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_restriction, sqe_op) == 2);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_restriction, sqe_flags) == 2);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_restriction, resv) == 3);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_restriction, resv2) == 4);

__IO_URING_ABI_CHECK(sizeof(struct io_uring_clock_register) == 16);

__IO_URING_ABI_CHECK(sizeof(struct io_uring_clone_buffers) == 32);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_clone_buffers, nr) == 16);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_clone_buffers, pad) == 20);

__IO_URING_ABI_CHECK(sizeof(struct io_uring_buf) == 16);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_buf, addr) == 0);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_buf, len) == 8);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_buf, bid) == 12);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_buf, resv) == 14);

__IO_URING_ABI_CHECK(sizeof(struct io_uring_buf_ring) == 16);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_buf_ring, resv1) == 0);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_buf_ring, resv2) == 8);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_buf_ring, resv3) == 12);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_buf_ring, tail) == 14);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_buf_ring, bufs) == 0);

__IO_URING_ABI_CHECK(sizeof(struct io_uring_buf_reg) == 40);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_buf_reg, ring_entries) == 8);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_buf_reg, bgid) == 12);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_buf_reg, flags) == 14);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_buf_reg, resv) == 16);

__IO_URING_ABI_CHECK(sizeof(struct io_uring_buf_status) == 40);

__IO_URING_ABI_CHECK(sizeof(struct io_uring_napi) == 16);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_napi, prefer_busy_poll) == 4);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_napi, opcode) == 5);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_napi, pad) == 6);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_napi, op_param) == 8);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_napi, resv) == 12);

__IO_URING_ABI_CHECK(sizeof(struct io_uring_reg_wait) == 64);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_reg_wait, min_wait_usec) == 16);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_reg_wait, flags) == 20);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_reg_wait, sigmask) == 24);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_reg_wait, sigmask_sz) == 32);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_reg_wait, pad) == 36);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_reg_wait, pad2) == 48);

__IO_URING_ABI_CHECK(sizeof(struct io_uring_getevents_arg) == 24);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_getevents_arg, sigmask_sz) == 8);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_getevents_arg, min_wait_usec) == 12);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_getevents_arg, ts) == 16);

__IO_URING_ABI_CHECK(sizeof(struct io_uring_sync_cancel_reg) == 64);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_sync_cancel_reg, fd) == 8);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_sync_cancel_reg, flags) == 12);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_sync_cancel_reg, timeout) == 16);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_sync_cancel_reg, opcode) == 32);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_sync_cancel_reg, pad) == 33);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_sync_cancel_reg, pad2) == 40);

__IO_URING_ABI_CHECK(sizeof(struct io_uring_file_index_range) == 16);

__IO_URING_ABI_CHECK(sizeof(struct io_uring_recvmsg_out) == 16);

__IO_URING_ABI_CHECK(sizeof(struct io_timespec) == 16);

__IO_URING_ABI_CHECK(sizeof(struct io_uring_zcrx_rqe) == 16);

__IO_URING_ABI_CHECK(sizeof(struct io_uring_zcrx_cqe) == 16);

__IO_URING_ABI_CHECK(sizeof(struct io_uring_zcrx_offsets) == 32);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_zcrx_offsets, __resv) == 16);

__IO_URING_ABI_CHECK(sizeof(struct io_uring_zcrx_area_reg) == 48);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_zcrx_area_reg, flags) == 24);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_zcrx_area_reg, dmabuf_fd) == 28);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_zcrx_area_reg, __resv2) == 32);

__IO_URING_ABI_CHECK(sizeof(struct io_uring_zcrx_ifq_reg) == 96);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_zcrx_ifq_reg, area_ptr) == 16);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_zcrx_ifq_reg, region_ptr) == 24);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_zcrx_ifq_reg, offsets) == 32);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_zcrx_ifq_reg, zcrx_id) == 64);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_zcrx_ifq_reg, __resv2) == 68);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_zcrx_ifq_reg, __resv) == 72);

__IO_URING_ABI_CHECK(sizeof(struct io_uring_query_hdr) == 40);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_query_hdr, query_op) == 16);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_query_hdr, size) == 20);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_query_hdr, result) == 24);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_query_hdr, __resv) == 28);

__IO_URING_ABI_CHECK(sizeof(struct io_uring_query_opcode) == 48);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_query_opcode, feature_flags) == 8);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_query_opcode, ring_setup_flags) == 16);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_query_opcode, enter_flags) == 24);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_query_opcode, sqe_flags) == 32);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_query_opcode, nr_query_opcodes) == 40);
__IO_URING_ABI_CHECK(offsetof(struct io_uring_cqe, big_cqe) == sizeof(struct io_uring_cqe));
#undef __IO_URING_ABI_CHECK

#ifdef __cplusplus
}
#endif

#endif /* LINUX_IO_URING_H */
