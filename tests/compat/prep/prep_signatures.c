/* Compiled as C: every prep function of uring/liburing/liburing/prep.h has
 * the type liburing 2.3's function of that name has (written here from its
 * man pages), so a program written against liburing compiles unchanged.
 * A mismatch is an incompatible-pointer-types error (-Werror). */
#define _GNU_SOURCE
#include <sys/wait.h>

#include "liburing/io_uring.h"
#include "liburing/prep.h"

typedef struct io_uring_sqe sqe_t;

#define SAME_TYPE(fn, type) \
  do {                      \
    __typeof__(type) p = fn; \
    ok &= p != 0;           \
  } while (0)

int prep_signatures_match_liburing_2_3(void) {
  int ok = 1;
  SAME_TYPE(io_uring_sqe_set_data, void (*)(sqe_t *, void *));
  SAME_TYPE(io_uring_sqe_set_data64, void (*)(sqe_t *, __u64));
  SAME_TYPE(io_uring_cqe_get_data, void *(*)(const struct io_uring_cqe *));
  SAME_TYPE(io_uring_cqe_get_data64, __u64 (*)(const struct io_uring_cqe *));
  SAME_TYPE(io_uring_sqe_set_flags, void (*)(sqe_t *, unsigned));
  SAME_TYPE(io_uring_sqe_set_buf_group, void (*)(sqe_t *, int));
  SAME_TYPE(__io_uring_set_target_fixed_file, void (*)(sqe_t *, unsigned int));
  SAME_TYPE(io_uring_prep_rw, void (*)(int, sqe_t *, int, const void *, unsigned, __u64));
  SAME_TYPE(io_uring_prep_splice, void (*)(sqe_t *, int, int64_t, int, int64_t, unsigned int, unsigned int));
  SAME_TYPE(io_uring_prep_tee, void (*)(sqe_t *, int, int, unsigned int, unsigned int));
  SAME_TYPE(io_uring_prep_readv, void (*)(sqe_t *, int, const struct iovec *, unsigned, __u64));
  SAME_TYPE(io_uring_prep_readv2, void (*)(sqe_t *, int, const struct iovec *, unsigned, __u64, int));
  SAME_TYPE(io_uring_prep_read_fixed, void (*)(sqe_t *, int, void *, unsigned, __u64, int));
  SAME_TYPE(io_uring_prep_writev, void (*)(sqe_t *, int, const struct iovec *, unsigned, __u64));
  SAME_TYPE(io_uring_prep_writev2, void (*)(sqe_t *, int, const struct iovec *, unsigned, __u64, int));
  SAME_TYPE(io_uring_prep_write_fixed, void (*)(sqe_t *, int, const void *, unsigned, __u64, int));
  SAME_TYPE(io_uring_prep_recvmsg, void (*)(sqe_t *, int, struct msghdr *, unsigned));
  SAME_TYPE(io_uring_prep_recvmsg_multishot, void (*)(sqe_t *, int, struct msghdr *, unsigned));
  SAME_TYPE(io_uring_prep_sendmsg, void (*)(sqe_t *, int, const struct msghdr *, unsigned));
  SAME_TYPE(io_uring_prep_poll_add, void (*)(sqe_t *, int, unsigned));
  SAME_TYPE(io_uring_prep_poll_multishot, void (*)(sqe_t *, int, unsigned));
  SAME_TYPE(io_uring_prep_poll_remove, void (*)(sqe_t *, __u64));
  SAME_TYPE(io_uring_prep_poll_update, void (*)(sqe_t *, __u64, __u64, unsigned, unsigned));
  SAME_TYPE(io_uring_prep_fsync, void (*)(sqe_t *, int, unsigned));
  SAME_TYPE(io_uring_prep_nop, void (*)(sqe_t *));
  SAME_TYPE(io_uring_prep_timeout, void (*)(sqe_t *, struct __kernel_timespec *, unsigned, unsigned));
  SAME_TYPE(io_uring_prep_timeout_remove, void (*)(sqe_t *, __u64, unsigned));
  SAME_TYPE(io_uring_prep_timeout_update, void (*)(sqe_t *, struct __kernel_timespec *, __u64, unsigned));
  SAME_TYPE(io_uring_prep_accept, void (*)(sqe_t *, int, struct sockaddr *, socklen_t *, int));
  SAME_TYPE(io_uring_prep_accept_direct, void (*)(sqe_t *, int, struct sockaddr *, socklen_t *, int, unsigned int));
  SAME_TYPE(io_uring_prep_multishot_accept, void (*)(sqe_t *, int, struct sockaddr *, socklen_t *, int));
  SAME_TYPE(io_uring_prep_multishot_accept_direct, void (*)(sqe_t *, int, struct sockaddr *, socklen_t *, int));
  SAME_TYPE(io_uring_prep_cancel64, void (*)(sqe_t *, __u64, int));
  SAME_TYPE(io_uring_prep_cancel, void (*)(sqe_t *, void *, int));
  SAME_TYPE(io_uring_prep_cancel_fd, void (*)(sqe_t *, int, unsigned int));
  SAME_TYPE(io_uring_prep_link_timeout, void (*)(sqe_t *, struct __kernel_timespec *, unsigned));
  SAME_TYPE(io_uring_prep_connect, void (*)(sqe_t *, int, const struct sockaddr *, socklen_t));
  SAME_TYPE(io_uring_prep_files_update, void (*)(sqe_t *, int *, unsigned, int));
  SAME_TYPE(io_uring_prep_fallocate, void (*)(sqe_t *, int, int, off_t, off_t));
  SAME_TYPE(io_uring_prep_openat, void (*)(sqe_t *, int, const char *, int, mode_t));
  SAME_TYPE(io_uring_prep_openat_direct, void (*)(sqe_t *, int, const char *, int, mode_t, unsigned));
  SAME_TYPE(io_uring_prep_close, void (*)(sqe_t *, int));
  SAME_TYPE(io_uring_prep_close_direct, void (*)(sqe_t *, unsigned));
  SAME_TYPE(io_uring_prep_read, void (*)(sqe_t *, int, void *, unsigned, __u64));
  SAME_TYPE(io_uring_prep_write, void (*)(sqe_t *, int, const void *, unsigned, __u64));
  SAME_TYPE(io_uring_prep_statx, void (*)(sqe_t *, int, const char *, int, unsigned, struct statx *));
  SAME_TYPE(io_uring_prep_fadvise, void (*)(sqe_t *, int, __u64, off_t, int));
  SAME_TYPE(io_uring_prep_madvise, void (*)(sqe_t *, void *, off_t, int));
  SAME_TYPE(io_uring_prep_send, void (*)(sqe_t *, int, const void *, size_t, int));
  SAME_TYPE(io_uring_prep_send_zc, void (*)(sqe_t *, int, const void *, size_t, int, unsigned));
  SAME_TYPE(io_uring_prep_send_zc_fixed, void (*)(sqe_t *, int, const void *, size_t, int, unsigned, unsigned));
  SAME_TYPE(io_uring_prep_sendmsg_zc, void (*)(sqe_t *, int, const struct msghdr *, unsigned));
  SAME_TYPE(io_uring_prep_send_set_addr, void (*)(sqe_t *, const struct sockaddr *, __u16));
  SAME_TYPE(io_uring_prep_recv, void (*)(sqe_t *, int, void *, size_t, int));
  SAME_TYPE(io_uring_prep_recv_multishot, void (*)(sqe_t *, int, void *, size_t, int));
  SAME_TYPE(io_uring_prep_openat2, void (*)(sqe_t *, int, const char *, struct open_how *));
  SAME_TYPE(io_uring_prep_openat2_direct, void (*)(sqe_t *, int, const char *, struct open_how *, unsigned));
  SAME_TYPE(io_uring_prep_epoll_ctl, void (*)(sqe_t *, int, int, int, struct epoll_event *));
  SAME_TYPE(io_uring_prep_provide_buffers, void (*)(sqe_t *, void *, int, int, int, int));
  SAME_TYPE(io_uring_prep_remove_buffers, void (*)(sqe_t *, int, int));
  SAME_TYPE(io_uring_prep_shutdown, void (*)(sqe_t *, int, int));
  SAME_TYPE(io_uring_prep_unlinkat, void (*)(sqe_t *, int, const char *, int));
  SAME_TYPE(io_uring_prep_unlink, void (*)(sqe_t *, const char *, int));
  SAME_TYPE(io_uring_prep_renameat, void (*)(sqe_t *, int, const char *, int, const char *, unsigned int));
  SAME_TYPE(io_uring_prep_rename, void (*)(sqe_t *, const char *, const char *));
  SAME_TYPE(io_uring_prep_sync_file_range, void (*)(sqe_t *, int, unsigned, __u64, int));
  SAME_TYPE(io_uring_prep_mkdirat, void (*)(sqe_t *, int, const char *, mode_t));
  SAME_TYPE(io_uring_prep_mkdir, void (*)(sqe_t *, const char *, mode_t));
  SAME_TYPE(io_uring_prep_symlinkat, void (*)(sqe_t *, const char *, int, const char *));
  SAME_TYPE(io_uring_prep_symlink, void (*)(sqe_t *, const char *, const char *));
  SAME_TYPE(io_uring_prep_linkat, void (*)(sqe_t *, int, const char *, int, const char *, int));
  SAME_TYPE(io_uring_prep_link, void (*)(sqe_t *, const char *, const char *, int));
  SAME_TYPE(io_uring_prep_msg_ring, void (*)(sqe_t *, int, unsigned int, __u64, unsigned int));
  SAME_TYPE(io_uring_prep_getxattr, void (*)(sqe_t *, const char *, char *, const char *, unsigned int));
  SAME_TYPE(io_uring_prep_setxattr, void (*)(sqe_t *, const char *, const char *, const char *, int, unsigned int));
  SAME_TYPE(io_uring_prep_fgetxattr, void (*)(sqe_t *, int, const char *, char *, unsigned int));
  SAME_TYPE(io_uring_prep_fsetxattr, void (*)(sqe_t *, int, const char *, const char *, int, unsigned int));
  SAME_TYPE(io_uring_prep_socket, void (*)(sqe_t *, int, int, int, unsigned int));
  SAME_TYPE(io_uring_prep_socket_direct, void (*)(sqe_t *, int, int, int, unsigned, unsigned int));
  SAME_TYPE(io_uring_prep_socket_direct_alloc, void (*)(sqe_t *, int, int, int, unsigned int));
  /* Later releases. */
  SAME_TYPE(io_uring_prep_read_multishot, void (*)(sqe_t *, int, unsigned, __u64, int));
  SAME_TYPE(io_uring_prep_fadvise64, void (*)(sqe_t *, int, __u64, off_t, int));
  SAME_TYPE(io_uring_prep_madvise64, void (*)(sqe_t *, void *, off_t, int));
  SAME_TYPE(io_uring_prep_ftruncate, void (*)(sqe_t *, int, loff_t));
  SAME_TYPE(io_uring_prep_open, void (*)(sqe_t *, const char *, int, mode_t));
  SAME_TYPE(io_uring_prep_open_direct, void (*)(sqe_t *, const char *, int, mode_t, unsigned));
  SAME_TYPE(io_uring_prep_fixed_fd_install, void (*)(sqe_t *, int, unsigned int));
  SAME_TYPE(io_uring_prep_bind, void (*)(sqe_t *, int, struct sockaddr *, socklen_t));
  SAME_TYPE(io_uring_prep_listen, void (*)(sqe_t *, int, int));
  SAME_TYPE(io_uring_prep_sendto, void (*)(sqe_t *, int, const void *, size_t, int, const struct sockaddr *, socklen_t));
  SAME_TYPE(io_uring_prep_send_bundle, void (*)(sqe_t *, int, size_t, int));
  SAME_TYPE(io_uring_prep_cmd_sock, void (*)(sqe_t *, int, int, int, int, void *, int));
  SAME_TYPE(io_uring_prep_msg_ring_cqe_flags, void (*)(sqe_t *, int, unsigned int, __u64, unsigned int, unsigned int));
  SAME_TYPE(io_uring_prep_msg_ring_fd, void (*)(sqe_t *, int, int, int, __u64, unsigned int));
  SAME_TYPE(io_uring_prep_msg_ring_fd_alloc, void (*)(sqe_t *, int, int, __u64, unsigned int));
  SAME_TYPE(io_uring_prep_futex_wait, void (*)(sqe_t *, uint32_t *, uint64_t, uint64_t, uint32_t, unsigned int));
  SAME_TYPE(io_uring_prep_futex_wake, void (*)(sqe_t *, uint32_t *, uint64_t, uint64_t, uint32_t, unsigned int));
  SAME_TYPE(io_uring_prep_futex_waitv, void (*)(sqe_t *, struct futex_waitv *, uint32_t, unsigned int));
  SAME_TYPE(io_uring_prep_waitid, void (*)(sqe_t *, idtype_t, id_t, siginfo_t *, int, unsigned int));
  SAME_TYPE(io_uring_prep_readv_fixed, void (*)(sqe_t *, int, const struct iovec *, unsigned, __u64, int, int));
  SAME_TYPE(io_uring_prep_writev_fixed, void (*)(sqe_t *, int, const struct iovec *, unsigned, __u64, int, int));
  SAME_TYPE(io_uring_prep_sendmsg_zc_fixed, void (*)(sqe_t *, int, const struct msghdr *, unsigned, unsigned));
  SAME_TYPE(io_uring_prep_cmd_discard, void (*)(sqe_t *, int, uint64_t, uint64_t));
  SAME_TYPE(io_uring_prep_pipe, void (*)(sqe_t *, int *, int));
  SAME_TYPE(io_uring_prep_pipe_direct, void (*)(sqe_t *, int *, int, unsigned int));
  SAME_TYPE(io_uring_prep_epoll_wait, void (*)(sqe_t *, int, struct epoll_event *, int, unsigned));
  SAME_TYPE(io_uring_prep_nop128, void (*)(sqe_t *));
  return ok;
}

/* A prep called from C, read back by the C++ test. */
void prep_from_c(struct io_uring_sqe *sqe, int fd, void *buf, unsigned len) {
  io_uring_prep_read(sqe, fd, buf, len, 5);
}
