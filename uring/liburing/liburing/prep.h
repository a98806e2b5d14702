/* The io_uring_prep_* part of uring's liburing-compatible C API.
 *
 * Every function here has the C signature of liburing 2.3's function of the
 * same name (and a few of liburing's later releases, marked "later" below),
 * and is an ordinary function defined in uring/liburing/prep.cc, which
 * converts the C arguments and calls uring's C++ builder for the opcode
 * (uring/prep*.h). Include <liburing.h>; this header is pulled in by it.
 *
 * What a prep function leaves in the SQE, as liburing 2.3 does:
 *   - every byte of the 64-byte entry is written except user_data, which
 *     keeps what it had (set it before or after the prep, as you like);
 *     the fields the opcode does not read are zero;
 *   - flags is 0: IOSQE_FIXED_FILE, IOSQE_BUFFER_SELECT, links, ... are
 *     yours to set afterwards (io_uring_sqe_set_flags, sqe->flags |= ...),
 *     and so is sqe->buf_group for buffer selection. An `fd` argument is
 *     a registered-file index when you then set IOSQE_FIXED_FILE;
 *   - the second half of an SQE128 slot is not touched.
 *
 * Arguments the SQE cannot carry. liburing 2.3 casts them into the field
 * (a buffer index of 65536 + n becomes buffer n, a size_t of 4 GiB + 10
 * becomes 10); uring's builders refuse such values, and a prep function
 * has no way to report an error. So each case below either passes the value
 * on so that the kernel fails the request with its own error, or clamps it
 * where the system call itself would. Never is a value silently cut to
 * mean something else, and the program never stops:
 *   - registered-buffer index (read_fixed, write_fixed, send_zc_fixed) that
 *     is negative or >= 16384 (IORING_MAX_REG_BUFFERS): buf_index is set to
 *     0xffff, which no registered table reaches; the CQE says -EFAULT.
 *   - direct-descriptor slot (the *_direct preps) >= 2^20 (no file table is
 *     that large): written as slot + 1 as liburing does, and the kernel
 *     fails the request (-EINVAL, or -ENXIO without a table). The slot
 *     IORING_FILE_INDEX_ALLOC, and IORING_FILE_INDEX_ALLOC - 1 as liburing
 *     2.3's own *_alloc helpers spell it, both mean "any free slot".
 *     close_direct of an index >= 2^20 writes index + 1 too, except for
 *     0xffffffff, whose index + 1 would wrap to 0 ("close a normal fd",
 *     fd 0): it writes 0xffffffff (the kernel: -EINVAL).
 *   - send/recv length (size_t) above INT_MAX: clamped to INT_MAX, as
 *     send(2) and recv(2) do with a size_t (each moves at most MAX_RW_COUNT
 *     bytes anyway); a stream then completes short, a datagram cannot be
 *     that large.
 *   - fadvise/madvise length above 4 GiB: goes in the 64-bit field Linux
 *     6.11 reads (older kernels fail the request with -EINVAL) instead of
 *     being cut to 32 bits. A negative off_t is passed on as is (-EINVAL).
 *   - provided-buffer group outside 0..65535 (provide_buffers,
 *     remove_buffers, read_multishot, io_uring_sqe_set_buf_group): no
 *     16-bit group means it, so the request is made one the kernel refuses:
 *     opcode 0xff, which no kernel has (-EINVAL). provide_buffers' buffer
 *     id outside 0..65535 goes to the kernel as liburing writes it (-E2BIG).
 *   - send_zc zc_flags with bits above 15 (sqe->ioprio is 16 bits): ioprio
 *     is set to 0xffff, whose unknown bits the kernel refuses (-EINVAL).
 *   - io_uring_prep_rw opcode outside 0..255: opcode 0xff (-EINVAL).
 *   - io_uring_sqe_set_flags with bits above the byte: bit 7, which is no
 *     IOSQE_ flag, is set as well (-EINVAL).
 *   - sendto's socklen_t above 65535 (addr_len is 16 bits): 65535, which is
 *     still longer than any sockaddr (-EINVAL).
 *   - futex_wait's 64-bit value above 32 bits, msg_ring_fd's source slot
 *     and fixed_fd_install's fd that are no slot: passed on as given (the
 *     kernel: -EINVAL, -EBADF; a bad msg_ring_fd source sent to the same
 *     ring gets -EINVAL first).
 *   - opcodes without a target file (nop, nop128, cancel, timeouts, poll
 *     remove/update, files_update, madvise) get fd -1, as liburing writes
 *     it: a later IORING_ASYNC_CANCEL_FD or IORING_NOP_FILE then names no
 *     file instead of stdin.
 *   - io_uring_prep_nop128 writes the first 64 bytes only (it cannot know
 *     the ring's SQE size): on a 64-byte-SQE ring the kernel refuses it
 *     (-EINVAL) and the next slot is untouched.
 *   - flag words the builders do not offer (socket's `flags`, a
 *     timeout_remove with flags, poll_update's unused arguments, msg_ring
 *     flags, waitid/futex `flags`) are passed on in their fields as given:
 *     the kernel refuses what it does not know.
 */
#ifndef URING_LIBURING_PREP_H
#define URING_LIBURING_PREP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <signal.h>
#include <linux/types.h>

#include "liburing/io_uring.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Only pointers to these are passed here; their definitions come from the
 * system headers (and liburing.h), when the program needs them. */
struct __kernel_timespec;
struct open_how;
struct statx;
struct epoll_event;
struct futex_waitv;
struct sockaddr;
struct msghdr;
struct iovec;

/* ---- user_data and flags ---------------------------------------------- */

#define LIBURING_HAVE_DATA64

void io_uring_sqe_set_data(struct io_uring_sqe *sqe, void *data);
void io_uring_sqe_set_data64(struct io_uring_sqe *sqe, __u64 data);
void *io_uring_cqe_get_data(const struct io_uring_cqe *cqe);
__u64 io_uring_cqe_get_data64(const struct io_uring_cqe *cqe);
/* Replaces sqe->flags with `flags` (IOSQE_*; only the low 8 bits exist). */
void io_uring_sqe_set_flags(struct io_uring_sqe *sqe, unsigned flags);
/* Later: sqe->buf_group = bgid (IOSQE_BUFFER_SELECT is set separately). */
void io_uring_sqe_set_buf_group(struct io_uring_sqe *sqe, int bgid);
/* liburing's internal helper, used by some of its tests: make the file an
 * op creates (or CLOSE removes) registered-file slot `file_index`. */
void __io_uring_set_target_fixed_file(struct io_uring_sqe *sqe, unsigned int file_index);

/* ---- generic --------------------------------------------------------------- */

/* Any opcode: opcode, fd, addr, len and off as given, the rest zero. */
void io_uring_prep_rw(int op, struct io_uring_sqe *sqe, int fd, const void *addr, unsigned len,
                      __u64 offset);
void io_uring_prep_nop(struct io_uring_sqe *sqe);
/* Later (Linux 6.19): a NOP in a 128-byte slot (an SQE128 ring); both
 * halves are written, user_data kept. */
void io_uring_prep_nop128(struct io_uring_sqe *sqe);

/* ---- reads and writes -------------------------------------------------------- */

void io_uring_prep_read(struct io_uring_sqe *sqe, int fd, void *buf, unsigned nbytes, __u64 offset);
void io_uring_prep_write(struct io_uring_sqe *sqe, int fd, const void *buf, unsigned nbytes,
                         __u64 offset);
void io_uring_prep_readv(struct io_uring_sqe *sqe, int fd, const struct iovec *iovecs, unsigned nr_vecs,
                         __u64 offset);
void io_uring_prep_readv2(struct io_uring_sqe *sqe, int fd, const struct iovec *iovecs, unsigned nr_vecs,
                          __u64 offset, int flags);
void io_uring_prep_writev(struct io_uring_sqe *sqe, int fd, const struct iovec *iovecs, unsigned nr_vecs,
                          __u64 offset);
void io_uring_prep_writev2(struct io_uring_sqe *sqe, int fd, const struct iovec *iovecs, unsigned nr_vecs,
                           __u64 offset, int flags);
void io_uring_prep_read_fixed(struct io_uring_sqe *sqe, int fd, void *buf, unsigned nbytes, __u64 offset,
                              int buf_index);
void io_uring_prep_write_fixed(struct io_uring_sqe *sqe, int fd, const void *buf, unsigned nbytes,
                               __u64 offset, int buf_index);
/* Later (Linux 6.15): vectored reads/writes inside registered buffer buf_index. */
void io_uring_prep_readv_fixed(struct io_uring_sqe *sqe, int fd, const struct iovec *iovecs, unsigned nr_vecs,
                               __u64 offset, int flags, int buf_index);
void io_uring_prep_writev_fixed(struct io_uring_sqe *sqe, int fd, const struct iovec *iovecs, unsigned nr_vecs,
                                __u64 offset, int flags, int buf_index);
/* Later (Linux 6.7): multishot read into buffers of group `buf_group`;
 * sets IOSQE_BUFFER_SELECT itself, as liburing does. */
void io_uring_prep_read_multishot(struct io_uring_sqe *sqe, int fd, unsigned nbytes, __u64 offset,
                                  int buf_group);

/* ---- sync, space, advice ------------------------------------------------------ */

void io_uring_prep_fsync(struct io_uring_sqe *sqe, int fd, unsigned fsync_flags);
void io_uring_prep_sync_file_range(struct io_uring_sqe *sqe, int fd, unsigned len, __u64 offset, int flags);
void io_uring_prep_fallocate(struct io_uring_sqe *sqe, int fd, int mode, off_t offset, off_t len);
void io_uring_prep_fadvise(struct io_uring_sqe *sqe, int fd, __u64 offset, off_t len, int advice);
void io_uring_prep_madvise(struct io_uring_sqe *sqe, void *addr, off_t length, int advice);
/* Later: the 64-bit length forms (Linux 6.11). */
void io_uring_prep_fadvise64(struct io_uring_sqe *sqe, int fd, __u64 offset, off_t len, int advice);
void io_uring_prep_madvise64(struct io_uring_sqe *sqe, void *addr, off_t length, int advice);
#ifdef _GNU_SOURCE
/* Later (Linux 6.9). */
void io_uring_prep_ftruncate(struct io_uring_sqe *sqe, int fd, loff_t len);
#endif

/* ---- open, close, stat ----------------------------------------------------------- */

void io_uring_prep_openat(struct io_uring_sqe *sqe, int dfd, const char *path, int flags, mode_t mode);
void io_uring_prep_openat_direct(struct io_uring_sqe *sqe, int dfd, const char *path, int flags, mode_t mode,
                                 unsigned file_index);
void io_uring_prep_openat2(struct io_uring_sqe *sqe, int dfd, const char *path, struct open_how *how);
void io_uring_prep_openat2_direct(struct io_uring_sqe *sqe, int dfd, const char *path, struct open_how *how,
                                  unsigned file_index);
/* Later: openat(AT_FDCWD, ...). */
void io_uring_prep_open(struct io_uring_sqe *sqe, const char *path, int flags, mode_t mode);
void io_uring_prep_open_direct(struct io_uring_sqe *sqe, const char *path, int flags, mode_t mode,
                               unsigned file_index);
void io_uring_prep_close(struct io_uring_sqe *sqe, int fd);
void io_uring_prep_close_direct(struct io_uring_sqe *sqe, unsigned file_index);
void io_uring_prep_statx(struct io_uring_sqe *sqe, int dfd, const char *path, int flags, unsigned mask,
                         struct statx *statxbuf);
void io_uring_prep_files_update(struct io_uring_sqe *sqe, int *fds, unsigned nr_fds, int offset);
/* Later (Linux 6.8): a normal fd for registered file `fd` (sets
 * IOSQE_FIXED_FILE itself, as liburing does). */
void io_uring_prep_fixed_fd_install(struct io_uring_sqe *sqe, int fd, unsigned int flags);

/* Later (Linux 6.12): BLOCK_URING_CMD_DISCARD of [offset, offset + nbytes). */
void io_uring_prep_cmd_discard(struct io_uring_sqe *sqe, int fd, uint64_t offset, uint64_t nbytes);

/* ---- directory entries and xattrs ---------------------------------------------------- */

void io_uring_prep_unlinkat(struct io_uring_sqe *sqe, int dfd, const char *path, int flags);
void io_uring_prep_unlink(struct io_uring_sqe *sqe, const char *path, int flags);
void io_uring_prep_renameat(struct io_uring_sqe *sqe, int olddfd, const char *oldpath, int newdfd,
                            const char *newpath, unsigned int flags);
void io_uring_prep_rename(struct io_uring_sqe *sqe, const char *oldpath, const char *newpath);
void io_uring_prep_mkdirat(struct io_uring_sqe *sqe, int dfd, const char *path, mode_t mode);
void io_uring_prep_mkdir(struct io_uring_sqe *sqe, const char *path, mode_t mode);
void io_uring_prep_symlinkat(struct io_uring_sqe *sqe, const char *target, int newdirfd, const char *linkpath);
void io_uring_prep_symlink(struct io_uring_sqe *sqe, const char *target, const char *linkpath);
void io_uring_prep_linkat(struct io_uring_sqe *sqe, int olddfd, const char *oldpath, int newdfd,
                          const char *newpath, int flags);
void io_uring_prep_link(struct io_uring_sqe *sqe, const char *oldpath, const char *newpath, int flags);
void io_uring_prep_getxattr(struct io_uring_sqe *sqe, const char *name, char *value, const char *path,
                            unsigned int len);
void io_uring_prep_setxattr(struct io_uring_sqe *sqe, const char *name, const char *value, const char *path,
                            int flags, unsigned int len);
void io_uring_prep_fgetxattr(struct io_uring_sqe *sqe, int fd, const char *name, char *value, unsigned int len);
void io_uring_prep_fsetxattr(struct io_uring_sqe *sqe, int fd, const char *name, const char *value, int flags,
                             unsigned int len);

/* ---- pipes ------------------------------------------------------------------------------ */

/* SPLICE_F_FD_IN_FIXED in splice_flags: fd_in is a registered-file index. */
void io_uring_prep_splice(struct io_uring_sqe *sqe, int fd_in, int64_t off_in, int fd_out, int64_t off_out,
                          unsigned int nbytes, unsigned int splice_flags);
void io_uring_prep_tee(struct io_uring_sqe *sqe, int fd_in, int fd_out, unsigned int nbytes,
                       unsigned int splice_flags);

/* Later (Linux 6.16): pipe2(2); fds[0] and fds[1] are written on completion. */
void io_uring_prep_pipe(struct io_uring_sqe *sqe, int *fds, int pipe_flags);
void io_uring_prep_pipe_direct(struct io_uring_sqe *sqe, int *fds, int pipe_flags, unsigned int file_index);

/* ---- sockets ------------------------------------------------------------------------------ */

void io_uring_prep_socket(struct io_uring_sqe *sqe, int domain, int type, int protocol, unsigned int flags);
void io_uring_prep_socket_direct(struct io_uring_sqe *sqe, int domain, int type, int protocol,
                                 unsigned file_index, unsigned int flags);
void io_uring_prep_socket_direct_alloc(struct io_uring_sqe *sqe, int domain, int type, int protocol,
                                       unsigned int flags);
void io_uring_prep_connect(struct io_uring_sqe *sqe, int fd, const struct sockaddr *addr, socklen_t addrlen);
/* Later (Linux 6.11). */
void io_uring_prep_bind(struct io_uring_sqe *sqe, int fd, struct sockaddr *addr, socklen_t addrlen);
void io_uring_prep_listen(struct io_uring_sqe *sqe, int fd, int backlog);
void io_uring_prep_accept(struct io_uring_sqe *sqe, int fd, struct sockaddr *addr, socklen_t *addrlen,
                          int flags);
void io_uring_prep_accept_direct(struct io_uring_sqe *sqe, int fd, struct sockaddr *addr, socklen_t *addrlen,
                                 int flags, unsigned int file_index);
void io_uring_prep_multishot_accept(struct io_uring_sqe *sqe, int fd, struct sockaddr *addr,
                                    socklen_t *addrlen, int flags);
void io_uring_prep_multishot_accept_direct(struct io_uring_sqe *sqe, int fd, struct sockaddr *addr,
                                           socklen_t *addrlen, int flags);
void io_uring_prep_shutdown(struct io_uring_sqe *sqe, int fd, int how);

void io_uring_prep_send(struct io_uring_sqe *sqe, int sockfd, const void *buf, size_t len, int flags);
/* Later. */
void io_uring_prep_sendto(struct io_uring_sqe *sqe, int sockfd, const void *buf, size_t len, int flags,
                          const struct sockaddr *addr, socklen_t addrlen);
/* Later (Linux 6.10): send the buffers of the group set in sqe->buf_group
 * (set IOSQE_BUFFER_SELECT too). */
void io_uring_prep_send_bundle(struct io_uring_sqe *sqe, int sockfd, size_t len, int flags);
/* Adds a destination to a prepared send or send_zc. */
void io_uring_prep_send_set_addr(struct io_uring_sqe *sqe, const struct sockaddr *dest_addr, __u16 addr_len);
void io_uring_prep_send_zc(struct io_uring_sqe *sqe, int sockfd, const void *buf, size_t len, int flags,
                           unsigned zc_flags);
void io_uring_prep_send_zc_fixed(struct io_uring_sqe *sqe, int sockfd, const void *buf, size_t len, int flags,
                                 unsigned zc_flags, unsigned buf_index);
void io_uring_prep_sendmsg(struct io_uring_sqe *sqe, int fd, const struct msghdr *msg, unsigned flags);
void io_uring_prep_sendmsg_zc(struct io_uring_sqe *sqe, int fd, const struct msghdr *msg, unsigned flags);
/* Later (Linux 6.15). */
void io_uring_prep_sendmsg_zc_fixed(struct io_uring_sqe *sqe, int fd, const struct msghdr *msg, unsigned flags,
                                    unsigned buf_index);
void io_uring_prep_recv(struct io_uring_sqe *sqe, int sockfd, void *buf, size_t len, int flags);
/* Multishot: the kernel requires buffer selection, so buf is not used and
 * len (Linux 6.17: a per-CQE cap) is passed on; set IOSQE_BUFFER_SELECT
 * and sqe->buf_group after this call. */
void io_uring_prep_recv_multishot(struct io_uring_sqe *sqe, int sockfd, void *buf, size_t len, int flags);
void io_uring_prep_recvmsg(struct io_uring_sqe *sqe, int fd, struct msghdr *msg, unsigned flags);
/* As recv_multishot: set IOSQE_BUFFER_SELECT and sqe->buf_group after it. */
void io_uring_prep_recvmsg_multishot(struct io_uring_sqe *sqe, int fd, struct msghdr *msg, unsigned flags);
/* Later: SOCKET_URING_OP_* commands (SIOCINQ, SIOCOUTQ, GETSOCKOPT, SETSOCKOPT). */
void io_uring_prep_cmd_sock(struct io_uring_sqe *sqe, int cmd_op, int fd, int level, int optname, void *optval,
                            int optlen);

/* ---- poll, epoll --------------------------------------------------------------------------- */

void io_uring_prep_poll_add(struct io_uring_sqe *sqe, int fd, unsigned poll_mask);
void io_uring_prep_poll_multishot(struct io_uring_sqe *sqe, int fd, unsigned poll_mask);
void io_uring_prep_poll_remove(struct io_uring_sqe *sqe, __u64 user_data);
/* flags: IORING_POLL_UPDATE_EVENTS (poll_mask is the new mask),
 * IORING_POLL_UPDATE_USER_DATA (new_user_data is the new user_data). */
void io_uring_prep_poll_update(struct io_uring_sqe *sqe, __u64 old_user_data, __u64 new_user_data,
                               unsigned poll_mask, unsigned flags);
void io_uring_prep_epoll_ctl(struct io_uring_sqe *sqe, int epfd, int fd, int op, struct epoll_event *ev);
/* Later (Linux 6.15): flags are passed on (the kernel takes none yet). */
void io_uring_prep_epoll_wait(struct io_uring_sqe *sqe, int fd, struct epoll_event *events, int maxevents,
                              unsigned flags);

/* ---- timeouts, cancellation ------------------------------------------------------------------ */

void io_uring_prep_timeout(struct io_uring_sqe *sqe, struct __kernel_timespec *ts, unsigned count,
                           unsigned flags);
void io_uring_prep_timeout_remove(struct io_uring_sqe *sqe, __u64 user_data, unsigned flags);
void io_uring_prep_timeout_update(struct io_uring_sqe *sqe, struct __kernel_timespec *ts, __u64 user_data,
                                  unsigned flags);
void io_uring_prep_link_timeout(struct io_uring_sqe *sqe, struct __kernel_timespec *ts, unsigned flags);
void io_uring_prep_cancel64(struct io_uring_sqe *sqe, __u64 user_data, int flags);
void io_uring_prep_cancel(struct io_uring_sqe *sqe, void *user_data, int flags);
void io_uring_prep_cancel_fd(struct io_uring_sqe *sqe, int fd, unsigned int flags);

/* ---- messages, buffers ---------------------------------------------------------------------- */

void io_uring_prep_msg_ring(struct io_uring_sqe *sqe, int fd, unsigned int len, __u64 data, unsigned int flags);
/* Later (Linux 6.3): the target CQE's flags are cqe_flags. */
void io_uring_prep_msg_ring_cqe_flags(struct io_uring_sqe *sqe, int fd, unsigned int len, __u64 data,
                                      unsigned int flags, unsigned int cqe_flags);
/* Later (Linux 6.0): registered file source_fd of this ring into slot
 * target_fd of ring fd's table (IORING_FILE_INDEX_ALLOC: any free slot). */
void io_uring_prep_msg_ring_fd(struct io_uring_sqe *sqe, int fd, int source_fd, int target_fd, __u64 data,
                               unsigned int flags);
void io_uring_prep_msg_ring_fd_alloc(struct io_uring_sqe *sqe, int fd, int source_fd, __u64 data,
                                     unsigned int flags);
void io_uring_prep_provide_buffers(struct io_uring_sqe *sqe, void *addr, int len, int nr, int bgid, int bid);
void io_uring_prep_remove_buffers(struct io_uring_sqe *sqe, int nr, int bgid);

/* ---- futexes, child processes (later, Linux 6.7) ------------------------------------------ */

void io_uring_prep_futex_wait(struct io_uring_sqe *sqe, uint32_t *futex, uint64_t val, uint64_t mask,
                              uint32_t futex_flags, unsigned int flags);
void io_uring_prep_futex_wake(struct io_uring_sqe *sqe, uint32_t *futex, uint64_t val, uint64_t mask,
                              uint32_t futex_flags, unsigned int flags);
void io_uring_prep_futex_waitv(struct io_uring_sqe *sqe, struct futex_waitv *futex, uint32_t nr_futex,
                               unsigned int flags);
void io_uring_prep_waitid(struct io_uring_sqe *sqe, idtype_t idtype, id_t id, siginfo_t *infop, int options,
                          unsigned int flags);

#ifdef __cplusplus
}
#endif

#endif /* URING_LIBURING_PREP_H */
