// Checks syscalls/abi.h against the installed <linux/io_uring.h> (through the
// table in abi_system_values.cc) and against values read from the Linux 6.18
// sources for everything the installed header is too old to have.
#include "tests/support/test_support.h"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <set>
#include <string>
#include <string_view>
#include <type_traits>

#include "syscalls/abi.h"

namespace abi_test {

// Keep identical to the definition in abi_system_values.cc.
struct NamedValue {
  const char* name;
  unsigned long long value;
};

extern const NamedValue kSystemValues[];
extern const std::size_t kSystemValueCount;

}  // namespace abi_test

namespace {

using abi_test::NamedValue;
using namespace uring::abi;

#define VALUE(name) \
  NamedValue { #name, static_cast<unsigned long long>(name) }
#define SIZE(type) \
  NamedValue { "sizeof " #type, sizeof(type) }
#define OFFSET(type, field) \
  NamedValue { #type "." #field, offsetof(type, field) }

// Every constant and enumerator of syscalls/abi.h, and the layout of every
// struct, in the same form as kSystemValues.
const NamedValue kOurValues[] = {
    // Constants and enumerators.
    VALUE(IORING_RW_ATTR_FLAG_PI),
    VALUE(IORING_FILE_INDEX_ALLOC),
    VALUE(IOSQE_FIXED_FILE),
    VALUE(IOSQE_IO_DRAIN),
    VALUE(IOSQE_IO_LINK),
    VALUE(IOSQE_IO_HARDLINK),
    VALUE(IOSQE_ASYNC),
    VALUE(IOSQE_BUFFER_SELECT),
    VALUE(IOSQE_CQE_SKIP_SUCCESS),
    VALUE(IORING_SETUP_IOPOLL),
    VALUE(IORING_SETUP_SQPOLL),
    VALUE(IORING_SETUP_SQ_AFF),
    VALUE(IORING_SETUP_CQSIZE),
    VALUE(IORING_SETUP_CLAMP),
    VALUE(IORING_SETUP_ATTACH_WQ),
    VALUE(IORING_SETUP_R_DISABLED),
    VALUE(IORING_SETUP_SUBMIT_ALL),
    VALUE(IORING_SETUP_COOP_TASKRUN),
    VALUE(IORING_SETUP_TASKRUN_FLAG),
    VALUE(IORING_SETUP_SQE128),
    VALUE(IORING_SETUP_CQE32),
    VALUE(IORING_SETUP_SINGLE_ISSUER),
    VALUE(IORING_SETUP_DEFER_TASKRUN),
    VALUE(IORING_SETUP_NO_MMAP),
    VALUE(IORING_SETUP_REGISTERED_FD_ONLY),
    VALUE(IORING_SETUP_NO_SQARRAY),
    VALUE(IORING_SETUP_HYBRID_IOPOLL),
    VALUE(IORING_SETUP_CQE_MIXED),
    VALUE(IORING_URING_CMD_FIXED),
    VALUE(IORING_URING_CMD_MULTISHOT),
    VALUE(IORING_URING_CMD_MASK),
    VALUE(IORING_FSYNC_DATASYNC),
    VALUE(IORING_TIMEOUT_ABS),
    VALUE(IORING_TIMEOUT_UPDATE),
    VALUE(IORING_TIMEOUT_BOOTTIME),
    VALUE(IORING_TIMEOUT_REALTIME),
    VALUE(IORING_LINK_TIMEOUT_UPDATE),
    VALUE(IORING_TIMEOUT_ETIME_SUCCESS),
    VALUE(IORING_TIMEOUT_MULTISHOT),
    VALUE(IORING_TIMEOUT_CLOCK_MASK),
    VALUE(IORING_TIMEOUT_UPDATE_MASK),
    VALUE(SPLICE_F_FD_IN_FIXED),
    VALUE(IORING_POLL_ADD_MULTI),
    VALUE(IORING_POLL_UPDATE_EVENTS),
    VALUE(IORING_POLL_UPDATE_USER_DATA),
    VALUE(IORING_POLL_ADD_LEVEL),
    VALUE(IORING_ASYNC_CANCEL_ALL),
    VALUE(IORING_ASYNC_CANCEL_FD),
    VALUE(IORING_ASYNC_CANCEL_ANY),
    VALUE(IORING_ASYNC_CANCEL_FD_FIXED),
    VALUE(IORING_ASYNC_CANCEL_USERDATA),
    VALUE(IORING_ASYNC_CANCEL_OP),
    VALUE(IORING_RECVSEND_POLL_FIRST),
    VALUE(IORING_RECV_MULTISHOT),
    VALUE(IORING_RECVSEND_FIXED_BUF),
    VALUE(IORING_SEND_ZC_REPORT_USAGE),
    VALUE(IORING_RECVSEND_BUNDLE),
    VALUE(IORING_SEND_VECTORIZED),
    VALUE(IORING_NOTIF_USAGE_ZC_COPIED),
    VALUE(IORING_ACCEPT_MULTISHOT),
    VALUE(IORING_ACCEPT_DONTWAIT),
    VALUE(IORING_ACCEPT_POLL_FIRST),
    VALUE(IORING_MSG_RING_CQE_SKIP),
    VALUE(IORING_MSG_RING_FLAGS_PASS),
    VALUE(IORING_FIXED_FD_NO_CLOEXEC),
    VALUE(IORING_NOP_INJECT_RESULT),
    VALUE(IORING_NOP_FILE),
    VALUE(IORING_NOP_FIXED_FILE),
    VALUE(IORING_NOP_FIXED_BUFFER),
    VALUE(IORING_NOP_TW),
    VALUE(IORING_NOP_CQE32),
    VALUE(IORING_CQE_F_BUFFER),
    VALUE(IORING_CQE_F_MORE),
    VALUE(IORING_CQE_F_SOCK_NONEMPTY),
    VALUE(IORING_CQE_F_NOTIF),
    VALUE(IORING_CQE_F_BUF_MORE),
    VALUE(IORING_CQE_F_SKIP),
    VALUE(IORING_CQE_F_32),
    VALUE(IORING_CQE_BUFFER_SHIFT),
    VALUE(IORING_OFF_SQ_RING),
    VALUE(IORING_OFF_CQ_RING),
    VALUE(IORING_OFF_SQES),
    VALUE(IORING_OFF_PBUF_RING),
    VALUE(IORING_OFF_PBUF_SHIFT),
    VALUE(IORING_OFF_MMAP_MASK),
    VALUE(IORING_SQ_NEED_WAKEUP),
    VALUE(IORING_SQ_CQ_OVERFLOW),
    VALUE(IORING_SQ_TASKRUN),
    VALUE(IORING_CQ_EVENTFD_DISABLED),
    VALUE(IORING_ENTER_GETEVENTS),
    VALUE(IORING_ENTER_SQ_WAKEUP),
    VALUE(IORING_ENTER_SQ_WAIT),
    VALUE(IORING_ENTER_EXT_ARG),
    VALUE(IORING_ENTER_REGISTERED_RING),
    VALUE(IORING_ENTER_ABS_TIMER),
    VALUE(IORING_ENTER_EXT_ARG_REG),
    VALUE(IORING_ENTER_NO_IOWAIT),
    VALUE(IORING_FEAT_SINGLE_MMAP),
    VALUE(IORING_FEAT_NODROP),
    VALUE(IORING_FEAT_SUBMIT_STABLE),
    VALUE(IORING_FEAT_RW_CUR_POS),
    VALUE(IORING_FEAT_CUR_PERSONALITY),
    VALUE(IORING_FEAT_FAST_POLL),
    VALUE(IORING_FEAT_POLL_32BITS),
    VALUE(IORING_FEAT_SQPOLL_NONFIXED),
    VALUE(IORING_FEAT_EXT_ARG),
    VALUE(IORING_FEAT_NATIVE_WORKERS),
    VALUE(IORING_FEAT_RSRC_TAGS),
    VALUE(IORING_FEAT_CQE_SKIP),
    VALUE(IORING_FEAT_LINKED_FILE),
    VALUE(IORING_FEAT_REG_REG_RING),
    VALUE(IORING_FEAT_RECVSEND_BUNDLE),
    VALUE(IORING_FEAT_MIN_TIMEOUT),
    VALUE(IORING_FEAT_RW_ATTR),
    VALUE(IORING_FEAT_NO_IOWAIT),
    VALUE(IORING_MEM_REGION_TYPE_USER),
    VALUE(IORING_MEM_REGION_REG_WAIT_ARG),
    VALUE(IORING_RSRC_REGISTER_SPARSE),
    VALUE(IORING_REGISTER_FILES_SKIP),
    VALUE(IO_URING_OP_SUPPORTED),
    VALUE(IORING_REGISTER_SRC_REGISTERED),
    VALUE(IORING_REGISTER_DST_REPLACE),
    VALUE(IORING_REG_WAIT_TS),
    VALUE(IORING_TIMESTAMP_HW_SHIFT),
    VALUE(IORING_TIMESTAMP_TYPE_SHIFT),
    VALUE(IORING_CQE_F_TSTAMP_HW),
    VALUE(IORING_ZCRX_AREA_SHIFT),
    VALUE(IORING_ZCRX_AREA_MASK),
    VALUE(IO_URING_QUERY_OPCODES),
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
    VALUE(IORING_OP_READ_MULTISHOT),
    VALUE(IORING_OP_WAITID),
    VALUE(IORING_OP_FUTEX_WAIT),
    VALUE(IORING_OP_FUTEX_WAKE),
    VALUE(IORING_OP_FUTEX_WAITV),
    VALUE(IORING_OP_FIXED_FD_INSTALL),
    VALUE(IORING_OP_FTRUNCATE),
    VALUE(IORING_OP_BIND),
    VALUE(IORING_OP_LISTEN),
    VALUE(IORING_OP_RECV_ZC),
    VALUE(IORING_OP_EPOLL_WAIT),
    VALUE(IORING_OP_READV_FIXED),
    VALUE(IORING_OP_WRITEV_FIXED),
    VALUE(IORING_OP_PIPE),
    VALUE(IORING_OP_LAST),
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
    VALUE(IORING_REGISTER_PBUF_STATUS),
    VALUE(IORING_REGISTER_NAPI),
    VALUE(IORING_UNREGISTER_NAPI),
    VALUE(IORING_REGISTER_CLOCK),
    VALUE(IORING_REGISTER_CLONE_BUFFERS),
    VALUE(IORING_REGISTER_SEND_MSG_RING),
    VALUE(IORING_REGISTER_ZCRX_IFQ),
    VALUE(IORING_REGISTER_RESIZE_RINGS),
    VALUE(IORING_REGISTER_MEM_REGION),
    VALUE(IORING_REGISTER_QUERY),
    VALUE(IORING_REGISTER_LAST),
    VALUE(IORING_REGISTER_USE_REGISTERED_RING),
    VALUE(IO_WQ_BOUND),
    VALUE(IO_WQ_UNBOUND),
    VALUE(IOU_PBUF_RING_MMAP),
    VALUE(IOU_PBUF_RING_INC),
    VALUE(IO_URING_NAPI_REGISTER_OP),
    VALUE(IO_URING_NAPI_STATIC_ADD_ID),
    VALUE(IO_URING_NAPI_STATIC_DEL_ID),
    VALUE(IO_URING_NAPI_TRACKING_DYNAMIC),
    VALUE(IO_URING_NAPI_TRACKING_STATIC),
    VALUE(IO_URING_NAPI_TRACKING_INACTIVE),
    VALUE(IORING_RESTRICTION_REGISTER_OP),
    VALUE(IORING_RESTRICTION_SQE_OP),
    VALUE(IORING_RESTRICTION_SQE_FLAGS_ALLOWED),
    VALUE(IORING_RESTRICTION_SQE_FLAGS_REQUIRED),
    VALUE(IORING_RESTRICTION_LAST),
    VALUE(SOCKET_URING_OP_SIOCINQ),
    VALUE(SOCKET_URING_OP_SIOCOUTQ),
    VALUE(SOCKET_URING_OP_GETSOCKOPT),
    VALUE(SOCKET_URING_OP_SETSOCKOPT),
    VALUE(SOCKET_URING_OP_TX_TIMESTAMP),
    VALUE(IORING_ZCRX_AREA_DMABUF),

    // Struct layouts.
    SIZE(kernel_timespec),
    OFFSET(kernel_timespec, tv_sec),
    OFFSET(kernel_timespec, tv_nsec),
    SIZE(open_how),
    OFFSET(open_how, flags),
    OFFSET(open_how, mode),
    OFFSET(open_how, resolve),
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
    OFFSET(io_uring_sqe, level),
    OFFSET(io_uring_sqe, optname),
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
    OFFSET(io_uring_sqe, waitid_flags),
    OFFSET(io_uring_sqe, futex_flags),
    OFFSET(io_uring_sqe, install_fd_flags),
    OFFSET(io_uring_sqe, nop_flags),
    OFFSET(io_uring_sqe, pipe_flags),
    OFFSET(io_uring_sqe, user_data),
    OFFSET(io_uring_sqe, buf_index),
    OFFSET(io_uring_sqe, buf_group),
    OFFSET(io_uring_sqe, personality),
    OFFSET(io_uring_sqe, splice_fd_in),
    OFFSET(io_uring_sqe, file_index),
    OFFSET(io_uring_sqe, zcrx_ifq_idx),
    OFFSET(io_uring_sqe, optlen),
    OFFSET(io_uring_sqe, addr_len),
    OFFSET(io_uring_sqe, __pad3),
    OFFSET(io_uring_sqe, write_stream),
    OFFSET(io_uring_sqe, __pad4),
    OFFSET(io_uring_sqe, addr3),
    OFFSET(io_uring_sqe, __pad2),
    OFFSET(io_uring_sqe, attr_ptr),
    OFFSET(io_uring_sqe, attr_type_mask),
    OFFSET(io_uring_sqe, optval),
    OFFSET(io_uring_sqe, cmd),
    SIZE(io_uring_attr_pi),
    OFFSET(io_uring_attr_pi, flags),
    OFFSET(io_uring_attr_pi, app_tag),
    OFFSET(io_uring_attr_pi, len),
    OFFSET(io_uring_attr_pi, addr),
    OFFSET(io_uring_attr_pi, seed),
    OFFSET(io_uring_attr_pi, rsvd),
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
    OFFSET(io_sqring_offsets, user_addr),
    SIZE(io_cqring_offsets),
    OFFSET(io_cqring_offsets, head),
    OFFSET(io_cqring_offsets, tail),
    OFFSET(io_cqring_offsets, ring_mask),
    OFFSET(io_cqring_offsets, ring_entries),
    OFFSET(io_cqring_offsets, overflow),
    OFFSET(io_cqring_offsets, cqes),
    OFFSET(io_cqring_offsets, flags),
    OFFSET(io_cqring_offsets, resv1),
    OFFSET(io_cqring_offsets, user_addr),
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
    SIZE(io_uring_region_desc),
    OFFSET(io_uring_region_desc, user_addr),
    OFFSET(io_uring_region_desc, size),
    OFFSET(io_uring_region_desc, flags),
    OFFSET(io_uring_region_desc, id),
    OFFSET(io_uring_region_desc, mmap_offset),
    OFFSET(io_uring_region_desc, __resv),
    SIZE(io_uring_mem_region_reg),
    OFFSET(io_uring_mem_region_reg, region_uptr),
    OFFSET(io_uring_mem_region_reg, flags),
    OFFSET(io_uring_mem_region_reg, __resv),
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
    SIZE(io_uring_clock_register),
    OFFSET(io_uring_clock_register, clockid),
    OFFSET(io_uring_clock_register, __resv),
    SIZE(io_uring_clone_buffers),
    OFFSET(io_uring_clone_buffers, src_fd),
    OFFSET(io_uring_clone_buffers, flags),
    OFFSET(io_uring_clone_buffers, src_off),
    OFFSET(io_uring_clone_buffers, dst_off),
    OFFSET(io_uring_clone_buffers, nr),
    OFFSET(io_uring_clone_buffers, pad),
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
    OFFSET(io_uring_buf_ring, bufs),
    SIZE(io_uring_buf_reg),
    OFFSET(io_uring_buf_reg, ring_addr),
    OFFSET(io_uring_buf_reg, ring_entries),
    OFFSET(io_uring_buf_reg, bgid),
    OFFSET(io_uring_buf_reg, flags),
    OFFSET(io_uring_buf_reg, resv),
    SIZE(io_uring_buf_status),
    OFFSET(io_uring_buf_status, buf_group),
    OFFSET(io_uring_buf_status, head),
    OFFSET(io_uring_buf_status, resv),
    SIZE(io_uring_napi),
    OFFSET(io_uring_napi, busy_poll_to),
    OFFSET(io_uring_napi, prefer_busy_poll),
    OFFSET(io_uring_napi, opcode),
    OFFSET(io_uring_napi, pad),
    OFFSET(io_uring_napi, op_param),
    OFFSET(io_uring_napi, resv),
    SIZE(io_uring_reg_wait),
    OFFSET(io_uring_reg_wait, ts),
    OFFSET(io_uring_reg_wait, min_wait_usec),
    OFFSET(io_uring_reg_wait, flags),
    OFFSET(io_uring_reg_wait, sigmask),
    OFFSET(io_uring_reg_wait, sigmask_sz),
    OFFSET(io_uring_reg_wait, pad),
    OFFSET(io_uring_reg_wait, pad2),
    SIZE(io_uring_getevents_arg),
    OFFSET(io_uring_getevents_arg, sigmask),
    OFFSET(io_uring_getevents_arg, sigmask_sz),
    OFFSET(io_uring_getevents_arg, min_wait_usec),
    OFFSET(io_uring_getevents_arg, ts),
    SIZE(io_uring_sync_cancel_reg),
    OFFSET(io_uring_sync_cancel_reg, addr),
    OFFSET(io_uring_sync_cancel_reg, fd),
    OFFSET(io_uring_sync_cancel_reg, flags),
    OFFSET(io_uring_sync_cancel_reg, timeout),
    OFFSET(io_uring_sync_cancel_reg, opcode),
    OFFSET(io_uring_sync_cancel_reg, pad),
    OFFSET(io_uring_sync_cancel_reg, pad2),
    SIZE(io_uring_file_index_range),
    OFFSET(io_uring_file_index_range, off),
    OFFSET(io_uring_file_index_range, len),
    OFFSET(io_uring_file_index_range, resv),
    SIZE(io_uring_recvmsg_out),
    OFFSET(io_uring_recvmsg_out, namelen),
    OFFSET(io_uring_recvmsg_out, controllen),
    OFFSET(io_uring_recvmsg_out, payloadlen),
    OFFSET(io_uring_recvmsg_out, flags),
    SIZE(io_timespec),
    OFFSET(io_timespec, tv_sec),
    OFFSET(io_timespec, tv_nsec),
    SIZE(io_uring_zcrx_rqe),
    OFFSET(io_uring_zcrx_rqe, off),
    OFFSET(io_uring_zcrx_rqe, len),
    OFFSET(io_uring_zcrx_rqe, __pad),
    SIZE(io_uring_zcrx_cqe),
    OFFSET(io_uring_zcrx_cqe, off),
    OFFSET(io_uring_zcrx_cqe, __pad),
    SIZE(io_uring_zcrx_offsets),
    OFFSET(io_uring_zcrx_offsets, head),
    OFFSET(io_uring_zcrx_offsets, tail),
    OFFSET(io_uring_zcrx_offsets, rqes),
    OFFSET(io_uring_zcrx_offsets, __resv2),
    OFFSET(io_uring_zcrx_offsets, __resv),
    SIZE(io_uring_zcrx_area_reg),
    OFFSET(io_uring_zcrx_area_reg, addr),
    OFFSET(io_uring_zcrx_area_reg, len),
    OFFSET(io_uring_zcrx_area_reg, rq_area_token),
    OFFSET(io_uring_zcrx_area_reg, flags),
    OFFSET(io_uring_zcrx_area_reg, dmabuf_fd),
    OFFSET(io_uring_zcrx_area_reg, __resv2),
    SIZE(io_uring_zcrx_ifq_reg),
    OFFSET(io_uring_zcrx_ifq_reg, if_idx),
    OFFSET(io_uring_zcrx_ifq_reg, if_rxq),
    OFFSET(io_uring_zcrx_ifq_reg, rq_entries),
    OFFSET(io_uring_zcrx_ifq_reg, flags),
    OFFSET(io_uring_zcrx_ifq_reg, area_ptr),
    OFFSET(io_uring_zcrx_ifq_reg, region_ptr),
    OFFSET(io_uring_zcrx_ifq_reg, offsets),
    OFFSET(io_uring_zcrx_ifq_reg, zcrx_id),
    OFFSET(io_uring_zcrx_ifq_reg, __resv2),
    OFFSET(io_uring_zcrx_ifq_reg, __resv),
    SIZE(io_uring_query_hdr),
    OFFSET(io_uring_query_hdr, next_entry),
    OFFSET(io_uring_query_hdr, query_data),
    OFFSET(io_uring_query_hdr, query_op),
    OFFSET(io_uring_query_hdr, size),
    OFFSET(io_uring_query_hdr, result),
    OFFSET(io_uring_query_hdr, __resv),
    SIZE(io_uring_query_opcode),
    OFFSET(io_uring_query_opcode, nr_request_opcodes),
    OFFSET(io_uring_query_opcode, nr_register_opcodes),
    OFFSET(io_uring_query_opcode, feature_flags),
    OFFSET(io_uring_query_opcode, ring_setup_flags),
    OFFSET(io_uring_query_opcode, enter_flags),
    OFFSET(io_uring_query_opcode, sqe_flags),
    OFFSET(io_uring_query_opcode, nr_query_opcodes),
    OFFSET(io_uring_query_opcode, __pad),
};

// What a Linux 6.1 header yields (83 macros, 92 enumerators, 150 layout
// entries); newer headers define more macros and so compare more.
constexpr std::size_t kMinCompared = 325;

const NamedValue* find_ours(std::string_view name) {
  for (const NamedValue& v : kOurValues) {
    if (name == v.name) return &v;
  }
  return nullptr;
}

unsigned long long ours(std::string_view name) {
  const NamedValue* v = find_ours(name);
  INFO("name: ", std::string(name));
  REQUIRE(v != nullptr);
  return v->value;
}

unsigned long long bit(unsigned n) { return 1ULL << n; }

}  // namespace

TEST_CASE("our table has no duplicate names") {
  std::set<std::string_view> seen;
  for (const NamedValue& v : kOurValues) {
    INFO("name: ", std::string(v.name));
    CHECK(seen.insert(v.name).second);
  }
  CHECK(seen.size() > 500);
}

TEST_CASE("every value of the installed <linux/io_uring.h> matches") {
  std::size_t compared = 0;
  for (std::size_t i = 0; i < abi_test::kSystemValueCount; ++i) {
    const NamedValue& sys = abi_test::kSystemValues[i];
    const std::string name = sys.name;  // doctest prints a const char* as a pointer
    INFO("name: ", name);
    const NamedValue* mine = find_ours(name);
    CHECK_MESSAGE(mine != nullptr, "missing from syscalls/abi.h: ", name);
    if (mine == nullptr) continue;
    CHECK_MESSAGE(mine->value == sys.value, name, ": abi.h has ", mine->value, ", the system header ", sys.value);
    ++compared;
  }
  MESSAGE("compared ", compared, " values with the installed header");
  CHECK(compared >= kMinCompared);
}

TEST_CASE("opcodes newer than the installed header (Linux 6.18 values)") {
  CHECK(ours("IORING_OP_SENDMSG_ZC") == 48);
  CHECK(ours("IORING_OP_READ_MULTISHOT") == 49);
  CHECK(ours("IORING_OP_WAITID") == 50);
  CHECK(ours("IORING_OP_FUTEX_WAIT") == 51);
  CHECK(ours("IORING_OP_FUTEX_WAKE") == 52);
  CHECK(ours("IORING_OP_FUTEX_WAITV") == 53);
  CHECK(ours("IORING_OP_FIXED_FD_INSTALL") == 54);
  CHECK(ours("IORING_OP_FTRUNCATE") == 55);
  CHECK(ours("IORING_OP_BIND") == 56);
  CHECK(ours("IORING_OP_LISTEN") == 57);
  CHECK(ours("IORING_OP_RECV_ZC") == 58);
  CHECK(ours("IORING_OP_EPOLL_WAIT") == 59);
  CHECK(ours("IORING_OP_READV_FIXED") == 60);
  CHECK(ours("IORING_OP_WRITEV_FIXED") == 61);
  CHECK(ours("IORING_OP_PIPE") == 62);
  CHECK(ours("IORING_OP_LAST") == 63);
  CHECK(IORING_OP_PIPE == 62);
  CHECK(IORING_OP_LAST == 63);
  CHECK(sizeof(io_uring_op) == 1);
}

TEST_CASE("register opcodes newer than the installed header") {
  CHECK(ours("IORING_REGISTER_PBUF_STATUS") == 26);
  CHECK(ours("IORING_REGISTER_NAPI") == 27);
  CHECK(ours("IORING_UNREGISTER_NAPI") == 28);
  CHECK(ours("IORING_REGISTER_CLOCK") == 29);
  CHECK(ours("IORING_REGISTER_CLONE_BUFFERS") == 30);
  CHECK(ours("IORING_REGISTER_SEND_MSG_RING") == 31);
  CHECK(ours("IORING_REGISTER_ZCRX_IFQ") == 32);
  CHECK(ours("IORING_REGISTER_RESIZE_RINGS") == 33);
  CHECK(ours("IORING_REGISTER_MEM_REGION") == 34);
  CHECK(ours("IORING_REGISTER_QUERY") == 35);
  CHECK(ours("IORING_REGISTER_LAST") == 36);
  CHECK(ours("IORING_REGISTER_USE_REGISTERED_RING") == 0x80000000ULL);
  CHECK(sizeof(io_uring_register_op) == 4);
}

TEST_CASE("flags newer than the installed header") {
  CHECK(ours("IORING_SETUP_NO_MMAP") == bit(14));
  CHECK(ours("IORING_SETUP_REGISTERED_FD_ONLY") == bit(15));
  CHECK(ours("IORING_SETUP_NO_SQARRAY") == bit(16));
  CHECK(ours("IORING_SETUP_HYBRID_IOPOLL") == bit(17));
  CHECK(ours("IORING_SETUP_CQE_MIXED") == bit(18));

  CHECK(ours("IORING_FEAT_REG_REG_RING") == bit(13));
  CHECK(ours("IORING_FEAT_RECVSEND_BUNDLE") == bit(14));
  CHECK(ours("IORING_FEAT_MIN_TIMEOUT") == bit(15));
  CHECK(ours("IORING_FEAT_RW_ATTR") == bit(16));
  CHECK(ours("IORING_FEAT_NO_IOWAIT") == bit(17));

  CHECK(ours("IORING_ENTER_ABS_TIMER") == bit(5));
  CHECK(ours("IORING_ENTER_EXT_ARG_REG") == bit(6));
  CHECK(ours("IORING_ENTER_NO_IOWAIT") == bit(7));

  CHECK(ours("IORING_CQE_F_BUF_MORE") == bit(4));
  CHECK(ours("IORING_CQE_F_SKIP") == bit(5));
  CHECK(ours("IORING_CQE_F_32") == bit(15));
  CHECK(ours("IORING_CQE_F_TSTAMP_HW") == bit(16));
  CHECK(ours("IORING_CQE_BUFFER_SHIFT") == 16);
  CHECK(ours("IORING_TIMESTAMP_HW_SHIFT") == 16);
  CHECK(ours("IORING_TIMESTAMP_TYPE_SHIFT") == 17);

  CHECK(ours("IORING_NOP_INJECT_RESULT") == bit(0));
  CHECK(ours("IORING_NOP_FILE") == bit(1));
  CHECK(ours("IORING_NOP_FIXED_FILE") == bit(2));
  CHECK(ours("IORING_NOP_FIXED_BUFFER") == bit(3));
  CHECK(ours("IORING_NOP_TW") == bit(4));
  CHECK(ours("IORING_NOP_CQE32") == bit(5));

  CHECK(ours("IORING_URING_CMD_MULTISHOT") == bit(1));
  CHECK(ours("IORING_URING_CMD_MASK") == 3);
  CHECK(ours("IORING_TIMEOUT_MULTISHOT") == bit(6));
  CHECK(ours("IORING_RECVSEND_BUNDLE") == bit(4));
  CHECK(ours("IORING_SEND_VECTORIZED") == bit(5));
  CHECK(ours("IORING_ACCEPT_DONTWAIT") == bit(1));
  CHECK(ours("IORING_ACCEPT_POLL_FIRST") == bit(2));
  CHECK(ours("IORING_MSG_RING_FLAGS_PASS") == bit(1));
  CHECK(ours("IORING_FIXED_FD_NO_CLOEXEC") == bit(0));
  CHECK(ours("IORING_RW_ATTR_FLAG_PI") == bit(0));

  CHECK(ours("IORING_OFF_PBUF_RING") == 0x80000000ULL);
  CHECK(ours("IORING_OFF_PBUF_SHIFT") == 16);
  CHECK(ours("IORING_OFF_MMAP_MASK") == 0xf8000000ULL);
  CHECK(ours("IOU_PBUF_RING_MMAP") == 1);
  CHECK(ours("IOU_PBUF_RING_INC") == 2);
  CHECK(ours("IORING_MEM_REGION_TYPE_USER") == 1);
  CHECK(ours("IORING_MEM_REGION_REG_WAIT_ARG") == 1);
  CHECK(ours("IORING_REG_WAIT_TS") == 1);
  CHECK(ours("IORING_REGISTER_SRC_REGISTERED") == 1);
  CHECK(ours("IORING_REGISTER_DST_REPLACE") == 2);
  CHECK(ours("IORING_ZCRX_AREA_SHIFT") == 48);
  CHECK(ours("IORING_ZCRX_AREA_MASK") == 0xffff000000000000ULL);
  CHECK(ours("IORING_ZCRX_AREA_DMABUF") == 1);
  CHECK(ours("IO_URING_QUERY_OPCODES") == 0);
  CHECK(ours("IORING_REGISTER_FILES_SKIP") == static_cast<unsigned long long>(-2LL));
  CHECK(ours("IORING_FILE_INDEX_ALLOC") == 0xffffffffULL);
}

TEST_CASE("enumerations newer than the installed header") {
  CHECK(ours("IO_URING_NAPI_REGISTER_OP") == 0);
  CHECK(ours("IO_URING_NAPI_STATIC_ADD_ID") == 1);
  CHECK(ours("IO_URING_NAPI_STATIC_DEL_ID") == 2);
  CHECK(ours("IO_URING_NAPI_TRACKING_DYNAMIC") == 0);
  CHECK(ours("IO_URING_NAPI_TRACKING_STATIC") == 1);
  CHECK(ours("IO_URING_NAPI_TRACKING_INACTIVE") == 255);
  CHECK(ours("SOCKET_URING_OP_SIOCINQ") == 0);
  CHECK(ours("SOCKET_URING_OP_SIOCOUTQ") == 1);
  CHECK(ours("SOCKET_URING_OP_GETSOCKOPT") == 2);
  CHECK(ours("SOCKET_URING_OP_SETSOCKOPT") == 3);
  CHECK(ours("SOCKET_URING_OP_TX_TIMESTAMP") == 4);
}

TEST_CASE("layouts newer than the installed header") {
  CHECK(ours("sizeof io_uring_sqe") == 64);
  CHECK(ours("io_uring_sqe.level") == 16);
  CHECK(ours("io_uring_sqe.optname") == 20);
  CHECK(ours("io_uring_sqe.pipe_flags") == 28);
  CHECK(ours("io_uring_sqe.zcrx_ifq_idx") == 44);
  CHECK(ours("io_uring_sqe.optlen") == 44);
  CHECK(ours("io_uring_sqe.write_stream") == 44);
  CHECK(ours("io_uring_sqe.attr_ptr") == 48);
  CHECK(ours("io_uring_sqe.attr_type_mask") == 56);
  CHECK(ours("io_uring_sqe.optval") == 48);
  CHECK(ours("io_sqring_offsets.user_addr") == 32);
  CHECK(ours("io_cqring_offsets.user_addr") == 32);
  CHECK(ours("io_uring_getevents_arg.min_wait_usec") == 12);
  CHECK(ours("io_uring_sync_cancel_reg.opcode") == 32);
  CHECK(ours("io_uring_buf_reg.flags") == 14);
  CHECK(ours("io_uring_buf_ring.bufs") == 0);
  CHECK(ours("io_uring_buf_ring.tail") == 14);
  CHECK(ours("sizeof io_uring_attr_pi") == 32);
  CHECK(ours("sizeof io_uring_region_desc") == 64);
  CHECK(ours("sizeof io_uring_mem_region_reg") == 32);
  CHECK(ours("sizeof io_uring_clock_register") == 16);
  CHECK(ours("sizeof io_uring_clone_buffers") == 32);
  CHECK(ours("sizeof io_uring_buf_status") == 40);
  CHECK(ours("sizeof io_uring_napi") == 16);
  CHECK(ours("sizeof io_uring_reg_wait") == 64);
  CHECK(ours("sizeof io_timespec") == 16);
  CHECK(ours("sizeof io_uring_zcrx_rqe") == 16);
  CHECK(ours("sizeof io_uring_zcrx_cqe") == 16);
  CHECK(ours("sizeof io_uring_zcrx_offsets") == 32);
  CHECK(ours("sizeof io_uring_zcrx_area_reg") == 48);
  CHECK(ours("sizeof io_uring_zcrx_ifq_reg") == 96);
  CHECK(ours("io_uring_zcrx_ifq_reg.zcrx_id") == 64);
  CHECK(ours("sizeof io_uring_query_hdr") == 40);
  CHECK(ours("sizeof io_uring_query_opcode") == 48);
  CHECK(ours("sizeof open_how") == 24);
}

TEST_CASE("op_name and op_since cover every opcode") {
  for (unsigned op = 0; op < IORING_OP_LAST; ++op) {
    INFO("opcode ", op);
    REQUIRE(op_name(op) != nullptr);
    REQUIRE(op_since(op) != nullptr);
    // The name is the enumerator without its prefix.
    const NamedValue* v = find_ours("IORING_OP_" + std::string(op_name(op)));
    REQUIRE(v != nullptr);
    CHECK(v->value == op);
    CHECK(std::strlen(op_since(op)) >= 3);
  }
  CHECK(std::string(op_name(IORING_OP_NOP)) == "NOP");
  CHECK(std::string(op_name(IORING_OP_READV)) == "READV");
  CHECK(std::string(op_name(62)) == "PIPE");
  CHECK(std::string(op_since(62)) == "6.16");
  CHECK(std::string(op_since(IORING_OP_NOP)) == "5.1");
  CHECK(std::string(op_since(IORING_OP_SENDMSG_ZC)) == "6.1");
  CHECK(std::string(op_since(IORING_OP_RECV_ZC)) == "6.15");
  // The two opcodes after 6.18 are named, and nothing beyond them.
  CHECK(IORING_OP_NOP128 == 63);
  CHECK(IORING_OP_URING_CMD128 == 64);
  CHECK(std::string(op_name(IORING_OP_LAST)) == "NOP128");
  CHECK(std::string(op_name(IORING_OP_URING_CMD128)) == "URING_CMD128");
  CHECK(std::string(op_since(IORING_OP_NOP128)) == "6.19");
  CHECK(op_name(kNamedOps) == nullptr);
  CHECK(op_since(kNamedOps) == nullptr);
  CHECK(op_name(255) == nullptr);
  CHECK(op_name(~0U) == nullptr);
}

namespace {

// Each table entry is one bit, the bits run 0, 1, 2, ... with no gaps, and
// prefix + name is a constant of abi.h with that value.
void check_flag_table(const flag_info* begin, const flag_info* end, const char* prefix,
                      unsigned expected_count) {
  CHECK(static_cast<unsigned>(end - begin) == expected_count);
  unsigned n = 0;
  for (const flag_info* f = begin; f != end; ++f, ++n) {
    const std::string name = std::string(prefix) + f->name;
    INFO(name);
    CHECK(f->bit == (1U << n));
    REQUIRE(f->since != nullptr);
    CHECK(std::strlen(f->since) >= 3);
    const NamedValue* v = find_ours(name);
    REQUIRE(v != nullptr);
    CHECK(v->value == f->bit);
  }
}

}  // namespace

TEST_CASE("setup_flags lists IORING_SETUP_* of Linux 6.18") {
  check_flag_table(std::begin(setup_flags), std::end(setup_flags), "IORING_SETUP_", 19);
  CHECK(std::string(setup_flags[18].name) == "CQE_MIXED");
  CHECK(std::string(setup_flags[18].since) == "6.18");
  CHECK(std::string(setup_flags[1].name) == "SQPOLL");
}

TEST_CASE("feature_flags lists IORING_FEAT_* of Linux 6.18") {
  check_flag_table(std::begin(feature_flags), std::end(feature_flags), "IORING_FEAT_", 18);
  CHECK(std::string(feature_flags[0].name) == "SINGLE_MMAP");
  CHECK(std::string(feature_flags[17].name) == "NO_IOWAIT");
  CHECK(std::string(feature_flags[17].since) == "6.15");
}

TEST_CASE("constants have the width of the field they go into") {
  static_assert(std::is_same_v<decltype(IOSQE_IO_LINK), const std::uint8_t>);
  static_assert(std::is_same_v<decltype(IORING_SETUP_SQPOLL), const std::uint32_t>);
  static_assert(std::is_same_v<decltype(IORING_FEAT_NODROP), const std::uint32_t>);
  static_assert(std::is_same_v<decltype(IORING_ENTER_GETEVENTS), const std::uint32_t>);
  static_assert(std::is_same_v<decltype(IORING_CQE_F_MORE), const std::uint32_t>);
  static_assert(std::is_same_v<decltype(IORING_RECVSEND_POLL_FIRST), const std::uint16_t>);
  static_assert(std::is_same_v<decltype(IORING_ACCEPT_MULTISHOT), const std::uint16_t>);
  static_assert(std::is_same_v<decltype(IORING_OFF_SQES), const std::uint64_t>);
  static_assert(std::is_same_v<decltype(IO_URING_OP_SUPPORTED), const std::uint16_t>);
  static_assert(std::is_same_v<decltype(IORING_REGISTER_FILES_SKIP), const std::int32_t>);
  CHECK(true);
}
