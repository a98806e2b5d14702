// The installed <linux/io_uring.h>'s view of the io_uring ABI, as a table.
//
// abi_test.cc cannot include the system header next to syscalls/abi.h (the
// system header's macros would rewrite our names), so this translation unit
// reads the system header alone and hands abi_test.cc plain (name, value)
// pairs: macro and enumerator values, struct sizes ("sizeof T") and field
// offsets ("T.field").
//
// Macros are listed under #ifdef, so this file builds against any header from
// Linux 6.1 on and compares whatever that header has. Enumerators cannot be
// tested for, so only those present in the 6.1 header are listed. The
// IORING_OP_LAST and IORING_REGISTER_LAST enumerators are left out on
// purpose: they grow with every release.
#include <linux/io_uring.h>

#include <cstddef>

namespace abi_test {

// Keep identical to the definition in abi_test.cc.
struct NamedValue {
  const char* name;
  unsigned long long value;
};

#define VALUE(name) \
  NamedValue { #name, static_cast<unsigned long long>(name) }
#define SIZE(type) \
  NamedValue { "sizeof " #type, sizeof(type) }
#define OFFSET(type, field) \
  NamedValue { #type "." #field, offsetof(type, field) }

extern const NamedValue kSystemValues[] = {
    // Macros (names defined by the header in use).
#ifdef IORING_RW_ATTR_FLAG_PI
    VALUE(IORING_RW_ATTR_FLAG_PI),
#endif
#ifdef IORING_FILE_INDEX_ALLOC
    VALUE(IORING_FILE_INDEX_ALLOC),
#endif
#ifdef IOSQE_FIXED_FILE
    VALUE(IOSQE_FIXED_FILE),
#endif
#ifdef IOSQE_IO_DRAIN
    VALUE(IOSQE_IO_DRAIN),
#endif
#ifdef IOSQE_IO_LINK
    VALUE(IOSQE_IO_LINK),
#endif
#ifdef IOSQE_IO_HARDLINK
    VALUE(IOSQE_IO_HARDLINK),
#endif
#ifdef IOSQE_ASYNC
    VALUE(IOSQE_ASYNC),
#endif
#ifdef IOSQE_BUFFER_SELECT
    VALUE(IOSQE_BUFFER_SELECT),
#endif
#ifdef IOSQE_CQE_SKIP_SUCCESS
    VALUE(IOSQE_CQE_SKIP_SUCCESS),
#endif
#ifdef IORING_SETUP_IOPOLL
    VALUE(IORING_SETUP_IOPOLL),
#endif
#ifdef IORING_SETUP_SQPOLL
    VALUE(IORING_SETUP_SQPOLL),
#endif
#ifdef IORING_SETUP_SQ_AFF
    VALUE(IORING_SETUP_SQ_AFF),
#endif
#ifdef IORING_SETUP_CQSIZE
    VALUE(IORING_SETUP_CQSIZE),
#endif
#ifdef IORING_SETUP_CLAMP
    VALUE(IORING_SETUP_CLAMP),
#endif
#ifdef IORING_SETUP_ATTACH_WQ
    VALUE(IORING_SETUP_ATTACH_WQ),
#endif
#ifdef IORING_SETUP_R_DISABLED
    VALUE(IORING_SETUP_R_DISABLED),
#endif
#ifdef IORING_SETUP_SUBMIT_ALL
    VALUE(IORING_SETUP_SUBMIT_ALL),
#endif
#ifdef IORING_SETUP_COOP_TASKRUN
    VALUE(IORING_SETUP_COOP_TASKRUN),
#endif
#ifdef IORING_SETUP_TASKRUN_FLAG
    VALUE(IORING_SETUP_TASKRUN_FLAG),
#endif
#ifdef IORING_SETUP_SQE128
    VALUE(IORING_SETUP_SQE128),
#endif
#ifdef IORING_SETUP_CQE32
    VALUE(IORING_SETUP_CQE32),
#endif
#ifdef IORING_SETUP_SINGLE_ISSUER
    VALUE(IORING_SETUP_SINGLE_ISSUER),
#endif
#ifdef IORING_SETUP_DEFER_TASKRUN
    VALUE(IORING_SETUP_DEFER_TASKRUN),
#endif
#ifdef IORING_SETUP_NO_MMAP
    VALUE(IORING_SETUP_NO_MMAP),
#endif
#ifdef IORING_SETUP_REGISTERED_FD_ONLY
    VALUE(IORING_SETUP_REGISTERED_FD_ONLY),
#endif
#ifdef IORING_SETUP_NO_SQARRAY
    VALUE(IORING_SETUP_NO_SQARRAY),
#endif
#ifdef IORING_SETUP_HYBRID_IOPOLL
    VALUE(IORING_SETUP_HYBRID_IOPOLL),
#endif
#ifdef IORING_SETUP_CQE_MIXED
    VALUE(IORING_SETUP_CQE_MIXED),
#endif
#ifdef IORING_URING_CMD_FIXED
    VALUE(IORING_URING_CMD_FIXED),
#endif
#ifdef IORING_URING_CMD_MULTISHOT
    VALUE(IORING_URING_CMD_MULTISHOT),
#endif
#ifdef IORING_URING_CMD_MASK
    VALUE(IORING_URING_CMD_MASK),
#endif
#ifdef IORING_FSYNC_DATASYNC
    VALUE(IORING_FSYNC_DATASYNC),
#endif
#ifdef IORING_TIMEOUT_ABS
    VALUE(IORING_TIMEOUT_ABS),
#endif
#ifdef IORING_TIMEOUT_UPDATE
    VALUE(IORING_TIMEOUT_UPDATE),
#endif
#ifdef IORING_TIMEOUT_BOOTTIME
    VALUE(IORING_TIMEOUT_BOOTTIME),
#endif
#ifdef IORING_TIMEOUT_REALTIME
    VALUE(IORING_TIMEOUT_REALTIME),
#endif
#ifdef IORING_LINK_TIMEOUT_UPDATE
    VALUE(IORING_LINK_TIMEOUT_UPDATE),
#endif
#ifdef IORING_TIMEOUT_ETIME_SUCCESS
    VALUE(IORING_TIMEOUT_ETIME_SUCCESS),
#endif
#ifdef IORING_TIMEOUT_MULTISHOT
    VALUE(IORING_TIMEOUT_MULTISHOT),
#endif
#ifdef IORING_TIMEOUT_CLOCK_MASK
    VALUE(IORING_TIMEOUT_CLOCK_MASK),
#endif
#ifdef IORING_TIMEOUT_UPDATE_MASK
    VALUE(IORING_TIMEOUT_UPDATE_MASK),
#endif
#ifdef SPLICE_F_FD_IN_FIXED
    VALUE(SPLICE_F_FD_IN_FIXED),
#endif
#ifdef IORING_POLL_ADD_MULTI
    VALUE(IORING_POLL_ADD_MULTI),
#endif
#ifdef IORING_POLL_UPDATE_EVENTS
    VALUE(IORING_POLL_UPDATE_EVENTS),
#endif
#ifdef IORING_POLL_UPDATE_USER_DATA
    VALUE(IORING_POLL_UPDATE_USER_DATA),
#endif
#ifdef IORING_POLL_ADD_LEVEL
    VALUE(IORING_POLL_ADD_LEVEL),
#endif
#ifdef IORING_ASYNC_CANCEL_ALL
    VALUE(IORING_ASYNC_CANCEL_ALL),
#endif
#ifdef IORING_ASYNC_CANCEL_FD
    VALUE(IORING_ASYNC_CANCEL_FD),
#endif
#ifdef IORING_ASYNC_CANCEL_ANY
    VALUE(IORING_ASYNC_CANCEL_ANY),
#endif
#ifdef IORING_ASYNC_CANCEL_FD_FIXED
    VALUE(IORING_ASYNC_CANCEL_FD_FIXED),
#endif
#ifdef IORING_ASYNC_CANCEL_USERDATA
    VALUE(IORING_ASYNC_CANCEL_USERDATA),
#endif
#ifdef IORING_ASYNC_CANCEL_OP
    VALUE(IORING_ASYNC_CANCEL_OP),
#endif
#ifdef IORING_RECVSEND_POLL_FIRST
    VALUE(IORING_RECVSEND_POLL_FIRST),
#endif
#ifdef IORING_RECV_MULTISHOT
    VALUE(IORING_RECV_MULTISHOT),
#endif
#ifdef IORING_RECVSEND_FIXED_BUF
    VALUE(IORING_RECVSEND_FIXED_BUF),
#endif
#ifdef IORING_SEND_ZC_REPORT_USAGE
    VALUE(IORING_SEND_ZC_REPORT_USAGE),
#endif
#ifdef IORING_RECVSEND_BUNDLE
    VALUE(IORING_RECVSEND_BUNDLE),
#endif
#ifdef IORING_SEND_VECTORIZED
    VALUE(IORING_SEND_VECTORIZED),
#endif
#ifdef IORING_NOTIF_USAGE_ZC_COPIED
    VALUE(IORING_NOTIF_USAGE_ZC_COPIED),
#endif
#ifdef IORING_ACCEPT_MULTISHOT
    VALUE(IORING_ACCEPT_MULTISHOT),
#endif
#ifdef IORING_ACCEPT_DONTWAIT
    VALUE(IORING_ACCEPT_DONTWAIT),
#endif
#ifdef IORING_ACCEPT_POLL_FIRST
    VALUE(IORING_ACCEPT_POLL_FIRST),
#endif
#ifdef IORING_MSG_RING_CQE_SKIP
    VALUE(IORING_MSG_RING_CQE_SKIP),
#endif
#ifdef IORING_MSG_RING_FLAGS_PASS
    VALUE(IORING_MSG_RING_FLAGS_PASS),
#endif
#ifdef IORING_FIXED_FD_NO_CLOEXEC
    VALUE(IORING_FIXED_FD_NO_CLOEXEC),
#endif
#ifdef IORING_NOP_INJECT_RESULT
    VALUE(IORING_NOP_INJECT_RESULT),
#endif
#ifdef IORING_NOP_FILE
    VALUE(IORING_NOP_FILE),
#endif
#ifdef IORING_NOP_FIXED_FILE
    VALUE(IORING_NOP_FIXED_FILE),
#endif
#ifdef IORING_NOP_FIXED_BUFFER
    VALUE(IORING_NOP_FIXED_BUFFER),
#endif
#ifdef IORING_NOP_TW
    VALUE(IORING_NOP_TW),
#endif
#ifdef IORING_NOP_CQE32
    VALUE(IORING_NOP_CQE32),
#endif
#ifdef IORING_CQE_F_BUFFER
    VALUE(IORING_CQE_F_BUFFER),
#endif
#ifdef IORING_CQE_F_MORE
    VALUE(IORING_CQE_F_MORE),
#endif
#ifdef IORING_CQE_F_SOCK_NONEMPTY
    VALUE(IORING_CQE_F_SOCK_NONEMPTY),
#endif
#ifdef IORING_CQE_F_NOTIF
    VALUE(IORING_CQE_F_NOTIF),
#endif
#ifdef IORING_CQE_F_BUF_MORE
    VALUE(IORING_CQE_F_BUF_MORE),
#endif
#ifdef IORING_CQE_F_SKIP
    VALUE(IORING_CQE_F_SKIP),
#endif
#ifdef IORING_CQE_F_32
    VALUE(IORING_CQE_F_32),
#endif
#ifdef IORING_OFF_SQ_RING
    VALUE(IORING_OFF_SQ_RING),
#endif
#ifdef IORING_OFF_CQ_RING
    VALUE(IORING_OFF_CQ_RING),
#endif
#ifdef IORING_OFF_SQES
    VALUE(IORING_OFF_SQES),
#endif
#ifdef IORING_OFF_PBUF_RING
    VALUE(IORING_OFF_PBUF_RING),
#endif
#ifdef IORING_OFF_PBUF_SHIFT
    VALUE(IORING_OFF_PBUF_SHIFT),
#endif
#ifdef IORING_OFF_MMAP_MASK
    VALUE(IORING_OFF_MMAP_MASK),
#endif
#ifdef IORING_SQ_NEED_WAKEUP
    VALUE(IORING_SQ_NEED_WAKEUP),
#endif
#ifdef IORING_SQ_CQ_OVERFLOW
    VALUE(IORING_SQ_CQ_OVERFLOW),
#endif
#ifdef IORING_SQ_TASKRUN
    VALUE(IORING_SQ_TASKRUN),
#endif
#ifdef IORING_CQ_EVENTFD_DISABLED
    VALUE(IORING_CQ_EVENTFD_DISABLED),
#endif
#ifdef IORING_ENTER_GETEVENTS
    VALUE(IORING_ENTER_GETEVENTS),
#endif
#ifdef IORING_ENTER_SQ_WAKEUP
    VALUE(IORING_ENTER_SQ_WAKEUP),
#endif
#ifdef IORING_ENTER_SQ_WAIT
    VALUE(IORING_ENTER_SQ_WAIT),
#endif
#ifdef IORING_ENTER_EXT_ARG
    VALUE(IORING_ENTER_EXT_ARG),
#endif
#ifdef IORING_ENTER_REGISTERED_RING
    VALUE(IORING_ENTER_REGISTERED_RING),
#endif
#ifdef IORING_ENTER_ABS_TIMER
    VALUE(IORING_ENTER_ABS_TIMER),
#endif
#ifdef IORING_ENTER_EXT_ARG_REG
    VALUE(IORING_ENTER_EXT_ARG_REG),
#endif
#ifdef IORING_ENTER_NO_IOWAIT
    VALUE(IORING_ENTER_NO_IOWAIT),
#endif
#ifdef IORING_FEAT_SINGLE_MMAP
    VALUE(IORING_FEAT_SINGLE_MMAP),
#endif
#ifdef IORING_FEAT_NODROP
    VALUE(IORING_FEAT_NODROP),
#endif
#ifdef IORING_FEAT_SUBMIT_STABLE
    VALUE(IORING_FEAT_SUBMIT_STABLE),
#endif
#ifdef IORING_FEAT_RW_CUR_POS
    VALUE(IORING_FEAT_RW_CUR_POS),
#endif
#ifdef IORING_FEAT_CUR_PERSONALITY
    VALUE(IORING_FEAT_CUR_PERSONALITY),
#endif
#ifdef IORING_FEAT_FAST_POLL
    VALUE(IORING_FEAT_FAST_POLL),
#endif
#ifdef IORING_FEAT_POLL_32BITS
    VALUE(IORING_FEAT_POLL_32BITS),
#endif
#ifdef IORING_FEAT_SQPOLL_NONFIXED
    VALUE(IORING_FEAT_SQPOLL_NONFIXED),
#endif
#ifdef IORING_FEAT_EXT_ARG
    VALUE(IORING_FEAT_EXT_ARG),
#endif
#ifdef IORING_FEAT_NATIVE_WORKERS
    VALUE(IORING_FEAT_NATIVE_WORKERS),
#endif
#ifdef IORING_FEAT_RSRC_TAGS
    VALUE(IORING_FEAT_RSRC_TAGS),
#endif
#ifdef IORING_FEAT_CQE_SKIP
    VALUE(IORING_FEAT_CQE_SKIP),
#endif
#ifdef IORING_FEAT_LINKED_FILE
    VALUE(IORING_FEAT_LINKED_FILE),
#endif
#ifdef IORING_FEAT_REG_REG_RING
    VALUE(IORING_FEAT_REG_REG_RING),
#endif
#ifdef IORING_FEAT_RECVSEND_BUNDLE
    VALUE(IORING_FEAT_RECVSEND_BUNDLE),
#endif
#ifdef IORING_FEAT_MIN_TIMEOUT
    VALUE(IORING_FEAT_MIN_TIMEOUT),
#endif
#ifdef IORING_FEAT_RW_ATTR
    VALUE(IORING_FEAT_RW_ATTR),
#endif
#ifdef IORING_FEAT_NO_IOWAIT
    VALUE(IORING_FEAT_NO_IOWAIT),
#endif
#ifdef IORING_RSRC_REGISTER_SPARSE
    VALUE(IORING_RSRC_REGISTER_SPARSE),
#endif
#ifdef IORING_REGISTER_FILES_SKIP
    VALUE(IORING_REGISTER_FILES_SKIP),
#endif
#ifdef IO_URING_OP_SUPPORTED
    VALUE(IO_URING_OP_SUPPORTED),
#endif
#ifdef IORING_TIMESTAMP_HW_SHIFT
    VALUE(IORING_TIMESTAMP_HW_SHIFT),
#endif
#ifdef IORING_TIMESTAMP_TYPE_SHIFT
    VALUE(IORING_TIMESTAMP_TYPE_SHIFT),
#endif
#ifdef IORING_CQE_F_TSTAMP_HW
    VALUE(IORING_CQE_F_TSTAMP_HW),
#endif
#ifdef IORING_ZCRX_AREA_SHIFT
    VALUE(IORING_ZCRX_AREA_SHIFT),
#endif
#ifdef IORING_ZCRX_AREA_MASK
    VALUE(IORING_ZCRX_AREA_MASK),
#endif

    // Enumerators of the 6.1 header.
    VALUE(IORING_CQE_BUFFER_SHIFT),
    VALUE(IOSQE_FIXED_FILE_BIT),
    VALUE(IOSQE_IO_DRAIN_BIT),
    VALUE(IOSQE_IO_LINK_BIT),
    VALUE(IOSQE_IO_HARDLINK_BIT),
    VALUE(IOSQE_ASYNC_BIT),
    VALUE(IOSQE_BUFFER_SELECT_BIT),
    VALUE(IOSQE_CQE_SKIP_SUCCESS_BIT),
    VALUE(IORING_OP_NOP),
    VALUE(IORING_OP_READV),
    VALUE(IORING_OP_WRITEV),
    VALUE(IORING_OP_FSYNC),
    VALUE(IORING_OP_READ_FIXED),
    VALUE(IORING_OP_WRITE_FIXED),
    VALUE(IORING_OP_POLL_ADD),
    VALUE(IORING_OP_POLL_REMOVE),
    VALUE(IORING_OP_SYNC_FILE_RANGE),
    VALUE(IORING_OP_SENDMSG),
    VALUE(IORING_OP_RECVMSG),
    VALUE(IORING_OP_TIMEOUT),
    VALUE(IORING_OP_TIMEOUT_REMOVE),
    VALUE(IORING_OP_ACCEPT),
    VALUE(IORING_OP_ASYNC_CANCEL),
    VALUE(IORING_OP_LINK_TIMEOUT),
    VALUE(IORING_OP_CONNECT),
    VALUE(IORING_OP_FALLOCATE),
    VALUE(IORING_OP_OPENAT),
    VALUE(IORING_OP_CLOSE),
    VALUE(IORING_OP_FILES_UPDATE),
    VALUE(IORING_OP_STATX),
    VALUE(IORING_OP_READ),
    VALUE(IORING_OP_WRITE),
    VALUE(IORING_OP_FADVISE),
    VALUE(IORING_OP_MADVISE),
    VALUE(IORING_OP_SEND),
    VALUE(IORING_OP_RECV),
    VALUE(IORING_OP_OPENAT2),
    VALUE(IORING_OP_EPOLL_CTL),
    VALUE(IORING_OP_SPLICE),
    VALUE(IORING_OP_PROVIDE_BUFFERS),
    VALUE(IORING_OP_REMOVE_BUFFERS),
    VALUE(IORING_OP_TEE),
    VALUE(IORING_OP_SHUTDOWN),
    VALUE(IORING_OP_RENAMEAT),
    VALUE(IORING_OP_UNLINKAT),
    VALUE(IORING_OP_MKDIRAT),
    VALUE(IORING_OP_SYMLINKAT),
    VALUE(IORING_OP_LINKAT),
    VALUE(IORING_OP_MSG_RING),
    VALUE(IORING_OP_FSETXATTR),
    VALUE(IORING_OP_SETXATTR),
    VALUE(IORING_OP_FGETXATTR),
    VALUE(IORING_OP_GETXATTR),
    VALUE(IORING_OP_SOCKET),
    VALUE(IORING_OP_URING_CMD),
    VALUE(IORING_OP_SEND_ZC),
    VALUE(IORING_OP_SENDMSG_ZC),
    VALUE(IORING_MSG_DATA),
    VALUE(IORING_MSG_SEND_FD),
    VALUE(IORING_REGISTER_BUFFERS),
    VALUE(IORING_UNREGISTER_BUFFERS),
    VALUE(IORING_REGISTER_FILES),
    VALUE(IORING_UNREGISTER_FILES),
    VALUE(IORING_REGISTER_EVENTFD),
    VALUE(IORING_UNREGISTER_EVENTFD),
    VALUE(IORING_REGISTER_FILES_UPDATE),
    VALUE(IORING_REGISTER_EVENTFD_ASYNC),
    VALUE(IORING_REGISTER_PROBE),
    VALUE(IORING_REGISTER_PERSONALITY),
    VALUE(IORING_UNREGISTER_PERSONALITY),
    VALUE(IORING_REGISTER_RESTRICTIONS),
    VALUE(IORING_REGISTER_ENABLE_RINGS),
    VALUE(IORING_REGISTER_FILES2),
    VALUE(IORING_REGISTER_FILES_UPDATE2),
    VALUE(IORING_REGISTER_BUFFERS2),
    VALUE(IORING_REGISTER_BUFFERS_UPDATE),
    VALUE(IORING_REGISTER_IOWQ_AFF),
    VALUE(IORING_UNREGISTER_IOWQ_AFF),
    VALUE(IORING_REGISTER_IOWQ_MAX_WORKERS),
    VALUE(IORING_REGISTER_RING_FDS),
    VALUE(IORING_UNREGISTER_RING_FDS),
    VALUE(IORING_REGISTER_PBUF_RING),
    VALUE(IORING_UNREGISTER_PBUF_RING),
    VALUE(IORING_REGISTER_SYNC_CANCEL),
    VALUE(IORING_REGISTER_FILE_ALLOC_RANGE),
    VALUE(IO_WQ_BOUND),
    VALUE(IO_WQ_UNBOUND),
    VALUE(IORING_RESTRICTION_REGISTER_OP),
    VALUE(IORING_RESTRICTION_SQE_OP),
    VALUE(IORING_RESTRICTION_SQE_FLAGS_ALLOWED),
    VALUE(IORING_RESTRICTION_SQE_FLAGS_REQUIRED),
    VALUE(IORING_RESTRICTION_LAST),

    // Struct layouts of the 6.1 header, for the fields whose names did not
    // change since. Not io_uring_buf_ring.bufs: headers before the C++ form
    // of __DECLARE_FLEX_ARRAY put it at offset 8 when compiled as C++.
    NamedValue{"sizeof kernel_timespec", sizeof(__kernel_timespec)},
    NamedValue{"kernel_timespec.tv_sec", offsetof(__kernel_timespec, tv_sec)},
    NamedValue{"kernel_timespec.tv_nsec", offsetof(__kernel_timespec, tv_nsec)},
    SIZE(io_uring_sqe),
    OFFSET(io_uring_sqe, opcode),
    OFFSET(io_uring_sqe, flags),
    OFFSET(io_uring_sqe, ioprio),
    OFFSET(io_uring_sqe, fd),
    OFFSET(io_uring_sqe, off),
    OFFSET(io_uring_sqe, addr2),
    OFFSET(io_uring_sqe, cmd_op),
    OFFSET(io_uring_sqe, __pad1),
    OFFSET(io_uring_sqe, addr),
    OFFSET(io_uring_sqe, splice_off_in),
    OFFSET(io_uring_sqe, len),
    OFFSET(io_uring_sqe, rw_flags),
    OFFSET(io_uring_sqe, fsync_flags),
    OFFSET(io_uring_sqe, poll_events),
    OFFSET(io_uring_sqe, poll32_events),
    OFFSET(io_uring_sqe, sync_range_flags),
    OFFSET(io_uring_sqe, msg_flags),
    OFFSET(io_uring_sqe, timeout_flags),
    OFFSET(io_uring_sqe, accept_flags),
    OFFSET(io_uring_sqe, cancel_flags),
    OFFSET(io_uring_sqe, open_flags),
    OFFSET(io_uring_sqe, statx_flags),
    OFFSET(io_uring_sqe, fadvise_advice),
    OFFSET(io_uring_sqe, splice_flags),
    OFFSET(io_uring_sqe, rename_flags),
    OFFSET(io_uring_sqe, unlink_flags),
    OFFSET(io_uring_sqe, hardlink_flags),
    OFFSET(io_uring_sqe, xattr_flags),
    OFFSET(io_uring_sqe, msg_ring_flags),
    OFFSET(io_uring_sqe, uring_cmd_flags),
    OFFSET(io_uring_sqe, user_data),
    OFFSET(io_uring_sqe, buf_index),
    OFFSET(io_uring_sqe, buf_group),
    OFFSET(io_uring_sqe, personality),
    OFFSET(io_uring_sqe, splice_fd_in),
    OFFSET(io_uring_sqe, file_index),
    OFFSET(io_uring_sqe, addr_len),
    OFFSET(io_uring_sqe, __pad3),
    OFFSET(io_uring_sqe, addr3),
    OFFSET(io_uring_sqe, __pad2),
    OFFSET(io_uring_sqe, cmd),
    SIZE(io_uring_cqe),
    OFFSET(io_uring_cqe, user_data),
    OFFSET(io_uring_cqe, res),
    OFFSET(io_uring_cqe, flags),
    SIZE(io_sqring_offsets),
    OFFSET(io_sqring_offsets, head),
    OFFSET(io_sqring_offsets, tail),
    OFFSET(io_sqring_offsets, ring_mask),
    OFFSET(io_sqring_offsets, ring_entries),
    OFFSET(io_sqring_offsets, flags),
    OFFSET(io_sqring_offsets, dropped),
    OFFSET(io_sqring_offsets, array),
    OFFSET(io_sqring_offsets, resv1),
    SIZE(io_cqring_offsets),
    OFFSET(io_cqring_offsets, head),
    OFFSET(io_cqring_offsets, tail),
    OFFSET(io_cqring_offsets, ring_mask),
    OFFSET(io_cqring_offsets, ring_entries),
    OFFSET(io_cqring_offsets, overflow),
    OFFSET(io_cqring_offsets, cqes),
    OFFSET(io_cqring_offsets, flags),
    OFFSET(io_cqring_offsets, resv1),
    SIZE(io_uring_params),
    OFFSET(io_uring_params, sq_entries),
    OFFSET(io_uring_params, cq_entries),
    OFFSET(io_uring_params, flags),
    OFFSET(io_uring_params, sq_thread_cpu),
    OFFSET(io_uring_params, sq_thread_idle),
    OFFSET(io_uring_params, features),
    OFFSET(io_uring_params, wq_fd),
    OFFSET(io_uring_params, resv),
    OFFSET(io_uring_params, sq_off),
    OFFSET(io_uring_params, cq_off),
    SIZE(io_uring_files_update),
    OFFSET(io_uring_files_update, offset),
    OFFSET(io_uring_files_update, resv),
    OFFSET(io_uring_files_update, fds),
    SIZE(io_uring_rsrc_register),
    OFFSET(io_uring_rsrc_register, nr),
    OFFSET(io_uring_rsrc_register, flags),
    OFFSET(io_uring_rsrc_register, resv2),
    OFFSET(io_uring_rsrc_register, data),
    OFFSET(io_uring_rsrc_register, tags),
    SIZE(io_uring_rsrc_update),
    OFFSET(io_uring_rsrc_update, offset),
    OFFSET(io_uring_rsrc_update, resv),
    OFFSET(io_uring_rsrc_update, data),
    SIZE(io_uring_rsrc_update2),
    OFFSET(io_uring_rsrc_update2, offset),
    OFFSET(io_uring_rsrc_update2, resv),
    OFFSET(io_uring_rsrc_update2, data),
    OFFSET(io_uring_rsrc_update2, tags),
    OFFSET(io_uring_rsrc_update2, nr),
    OFFSET(io_uring_rsrc_update2, resv2),
    SIZE(io_uring_probe_op),
    OFFSET(io_uring_probe_op, op),
    OFFSET(io_uring_probe_op, resv),
    OFFSET(io_uring_probe_op, flags),
    OFFSET(io_uring_probe_op, resv2),
    SIZE(io_uring_probe),
    OFFSET(io_uring_probe, last_op),
    OFFSET(io_uring_probe, ops_len),
    OFFSET(io_uring_probe, resv),
    OFFSET(io_uring_probe, resv2),
    OFFSET(io_uring_probe, ops),
    SIZE(io_uring_restriction),
    OFFSET(io_uring_restriction, opcode),
    OFFSET(io_uring_restriction, register_op),
    OFFSET(io_uring_restriction, sqe_op),
    OFFSET(io_uring_restriction, sqe_flags),
    OFFSET(io_uring_restriction, resv),
    OFFSET(io_uring_restriction, resv2),
    SIZE(io_uring_buf),
    OFFSET(io_uring_buf, addr),
    OFFSET(io_uring_buf, len),
    OFFSET(io_uring_buf, bid),
    OFFSET(io_uring_buf, resv),
    SIZE(io_uring_buf_ring),
    OFFSET(io_uring_buf_ring, resv1),
    OFFSET(io_uring_buf_ring, resv2),
    OFFSET(io_uring_buf_ring, resv3),
    OFFSET(io_uring_buf_ring, tail),
    SIZE(io_uring_buf_reg),
    OFFSET(io_uring_buf_reg, ring_addr),
    OFFSET(io_uring_buf_reg, ring_entries),
    OFFSET(io_uring_buf_reg, bgid),
    OFFSET(io_uring_buf_reg, resv),
    SIZE(io_uring_getevents_arg),
    OFFSET(io_uring_getevents_arg, sigmask),
    OFFSET(io_uring_getevents_arg, sigmask_sz),
    OFFSET(io_uring_getevents_arg, ts),
    SIZE(io_uring_sync_cancel_reg),
    OFFSET(io_uring_sync_cancel_reg, addr),
    OFFSET(io_uring_sync_cancel_reg, fd),
    OFFSET(io_uring_sync_cancel_reg, flags),
    OFFSET(io_uring_sync_cancel_reg, timeout),
    SIZE(io_uring_file_index_range),
    OFFSET(io_uring_file_index_range, off),
    OFFSET(io_uring_file_index_range, len),
    OFFSET(io_uring_file_index_range, resv),
    SIZE(io_uring_recvmsg_out),
    OFFSET(io_uring_recvmsg_out, namelen),
    OFFSET(io_uring_recvmsg_out, controllen),
    OFFSET(io_uring_recvmsg_out, payloadlen),
    OFFSET(io_uring_recvmsg_out, flags),
};

extern const std::size_t kSystemValueCount = sizeof(kSystemValues) / sizeof(kSystemValues[0]);

}  // namespace abi_test
