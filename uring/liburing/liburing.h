/* uring's liburing-compatible C API: liburing 2.3's public interface (and a
 * few later calls), implemented on uring's C++ library (uring::Ring, its
 * builders and registration calls). Programs written for liburing include
 * this as <liburing.h> unchanged, from C (C11/gnu11) or C++, and link
 * //uring/liburing instead of -luring. It never includes or links liburing.
 *
 * What differs from liburing 2.3, on purpose:
 *  - struct io_uring is a view of a uring::Ring that io_uring_queue_init*()
 *    allocates and io_uring_queue_exit() frees: the pointers (khead, ktail,
 *    kflags, kdropped, koverflow, array, sqes, cqes, ring_ptr) point into
 *    the Ring's mappings, and the values (ring_mask, ring_entries, ring_sz,
 *    flags, ring_fd, features, enter_ring_fd, int_flags) are the Ring's.
 *    Read them as liburing programs do; do not copy the struct and use the
 *    copy. sq.sqe_tail is the Ring's tail of SQEs handed out (updated by
 *    io_uring_get_sqe) and sq.sqe_head the tail last published to the kernel
 *    (updated by every submit/flush). Change no field, except the two that
 *    liburing programs change and every call then follows: ring_fd, set to
 *    a dup of the ring fd (calls enter and register through it, and
 *    io_uring_queue_exit closes it, not the fd it replaced, which is the
 *    program's: liburing's behaviour), and sq.sqe_tail, moved by another
 *    process when the struct lives in memory shared across fork (the next
 *    call goes on from it; parent and child must take turns, as with
 *    liburing). A negative ring_fd or an sq.sqe_tail the kernel's SQ head
 *    and tail rule out is not taken: the calls go on as before. Only the
 *    SQ-side calls (get_sqe, submit*, sq_ready, sq_space_left,
 *    sqring_wait, __io_uring_flush_sq, __io_uring_get_cqe with submit > 0)
 *    look at sq.sqe_tail, comparing it with the tail this process last
 *    wrote there; the CQ-side and register calls read no SQ field, so one
 *    thread may submit while another reaps, as with liburing.
 *  - io_uring_queue_exit() frees the Ring only when this process made it
 *    (a forked child's exit frees the child's copy, its mappings and fd)
 *    and leaves the struct as it is, as liburing does: a child's exit on a
 *    struct shared across fork leaves the parent's ring working. After it,
 *    pass the struct to nothing but io_uring_queue_init*() (a second exit
 *    does nothing).
 *  - Functions that liburing 2.3 makes static inline (io_uring_get_sqe,
 *    io_uring_cq_ready, io_uring_peek_cqe, io_uring_wait_cqe, ...) are
 *    ordinary functions here, so they all go through the Ring. The macro
 *    io_uring_for_each_cqe reads the mapped words directly, as liburing's.
 *  - Waiting with a timeout needs IORING_FEAT_EXT_ARG (Linux 5.11): without
 *    it the wait calls return -EOPNOTSUPP (liburing queued a TIMEOUT SQE).
 *  - A wait for more CQEs than the CQ holds (wait_nr > cq.ring_entries)
 *    waits for a full CQ, as the kernel caps min_events (uring's Ring
 *    refuses such a count).
 *  - io_uring_submit_and_wait_timeout() returns -ETIME when the timeout
 *    ran out with no CQE, also after it submitted SQEs (they stay
 *    submitted), as its 2.3 man page says; liburing 2.3's code returned the
 *    submitted count then. With nothing submitted, nothing to wait for and
 *    no CQE it returns -EAGAIN, as liburing.
 *  - Every call returns -errno on failure and leaves errno alone.
 */
#ifndef LIB_URING_H
#define LIB_URING_H

#ifndef _XOPEN_SOURCE
#define _XOPEN_SOURCE 500 /* sigset_t from glibc */
#endif
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* cpu_set_t */
#endif

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/swab.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>

#include "liburing/compat.h"
#include "liburing/io_uring.h"
#include "liburing/barrier.h"

#ifndef uring_unlikely
#define uring_unlikely(cond) __builtin_expect(!!(cond), 0)
#endif
#ifndef uring_likely
#define uring_likely(cond) __builtin_expect(!!(cond), 1)
#endif

/* System call numbers: the same on every architecture but alpha and mips. */
#ifdef __alpha__
#ifndef __NR_io_uring_setup
#define __NR_io_uring_setup 535
#endif
#ifndef __NR_io_uring_enter
#define __NR_io_uring_enter 536
#endif
#ifndef __NR_io_uring_register
#define __NR_io_uring_register 537
#endif
#elif defined __mips__
#ifndef __NR_io_uring_setup
#define __NR_io_uring_setup (__NR_Linux + 425)
#endif
#ifndef __NR_io_uring_enter
#define __NR_io_uring_enter (__NR_Linux + 426)
#endif
#ifndef __NR_io_uring_register
#define __NR_io_uring_register (__NR_Linux + 427)
#endif
#else
#ifndef __NR_io_uring_setup
#define __NR_io_uring_setup 425
#endif
#ifndef __NR_io_uring_enter
#define __NR_io_uring_enter 426
#endif
#ifndef __NR_io_uring_register
#define __NR_io_uring_register 427
#endif
#endif

/* The release whose API this is (io_uring_major_version() etc. say the same). */
#define IO_URING_VERSION_MAJOR 2
#define IO_URING_VERSION_MINOR 3

#ifdef __cplusplus
extern "C" {
#endif

/* The submission side, as the Ring maps it (see the top of this file). */
struct io_uring_sq {
	unsigned *khead;
	unsigned *ktail;
	unsigned *kring_mask;    /* deprecated in liburing: read ring_mask */
	unsigned *kring_entries; /* deprecated in liburing: read ring_entries */
	unsigned *kflags;
	unsigned *kdropped;
	unsigned *array;
	struct io_uring_sqe *sqes;

	unsigned sqe_head; /* SQ tail last published to the kernel */
	unsigned sqe_tail; /* SQ tail of the SQEs handed out */

	size_t ring_sz;
	void *ring_ptr;

	unsigned ring_mask;
	unsigned ring_entries;

	unsigned pad[2];
};

/* The completion side. */
struct io_uring_cq {
	unsigned *khead;
	unsigned *ktail;
	unsigned *kring_mask;    /* deprecated in liburing: read ring_mask */
	unsigned *kring_entries; /* deprecated in liburing: read ring_entries */
	unsigned *kflags;        /* NULL before Linux 5.8 */
	unsigned *koverflow;
	struct io_uring_cqe *cqes;

	size_t ring_sz;
	void *ring_ptr;

	unsigned ring_mask;
	unsigned ring_entries;

	unsigned pad[2];
};

/* int_flags bit: enter calls go through the registered ring index. */
#define URING_INT_FLAG_REG_RING 1

struct io_uring {
	struct io_uring_sq sq;
	struct io_uring_cq cq;
	unsigned flags;    /* IORING_SETUP_* as the kernel accepted them */
	int ring_fd;       /* -1 after io_uring_close_ring_fd() */

	unsigned features; /* IORING_FEAT_* */
	int enter_ring_fd; /* the registered index, or ring_fd */
	__u8 int_flags;    /* URING_INT_FLAG_REG_RING */
	__u8 pad[3];
	unsigned pad2;
	void *uring_ring;  /* the uring::Ring behind this view (opaque) */
};

/* ---- Setup and teardown -------------------------------------------------- */

struct io_uring_probe *io_uring_get_probe_ring(struct io_uring *ring);
struct io_uring_probe *io_uring_get_probe(void); /* free with io_uring_free_probe */
void io_uring_free_probe(struct io_uring_probe *probe);
int io_uring_opcode_supported(const struct io_uring_probe *p, int op);

int io_uring_queue_init_params(unsigned entries, struct io_uring *ring, struct io_uring_params *p);
int io_uring_queue_init(unsigned entries, struct io_uring *ring, unsigned flags);
int io_uring_queue_mmap(int fd, struct io_uring_params *p, struct io_uring *ring);
int io_uring_ring_dontfork(struct io_uring *ring);
void io_uring_queue_exit(struct io_uring *ring);

/* ---- Submission and completion ------------------------------------------- */

struct io_uring_sqe *io_uring_get_sqe(struct io_uring *ring);
int io_uring_submit(struct io_uring *ring);
int io_uring_submit_and_wait(struct io_uring *ring, unsigned wait_nr);
int io_uring_submit_and_wait_timeout(struct io_uring *ring, struct io_uring_cqe **cqe_ptr, unsigned wait_nr,
				     struct __kernel_timespec *ts, sigset_t *sigmask);
int io_uring_submit_and_get_events(struct io_uring *ring);
int io_uring_get_events(struct io_uring *ring);

unsigned io_uring_peek_batch_cqe(struct io_uring *ring, struct io_uring_cqe **cqes, unsigned count);
int io_uring_wait_cqes(struct io_uring *ring, struct io_uring_cqe **cqe_ptr, unsigned wait_nr,
		       struct __kernel_timespec *ts, sigset_t *sigmask);
int io_uring_wait_cqe_timeout(struct io_uring *ring, struct io_uring_cqe **cqe_ptr, struct __kernel_timespec *ts);
int io_uring_wait_cqe_nr(struct io_uring *ring, struct io_uring_cqe **cqe_ptr, unsigned wait_nr);
int io_uring_wait_cqe(struct io_uring *ring, struct io_uring_cqe **cqe_ptr);
int io_uring_peek_cqe(struct io_uring *ring, struct io_uring_cqe **cqe_ptr);
/* The helper behind the peek/wait calls (exported by liburing too): enters
 * with `submit` as the count to submit, of the SQEs published already
 * (__io_uring_flush_sq), and waits for wait_nr CQEs. */
int __io_uring_get_cqe(struct io_uring *ring, struct io_uring_cqe **cqe_ptr, unsigned submit, unsigned wait_nr,
		       sigset_t *sigmask);
/* The oldest CQE ready (NULL when none) and, when nr_available is not NULL,
 * how many are ready; never enters, consumes nothing, returns 0 (liburing
 * 2.3 makes it static inline). */
int __io_uring_peek_cqe(struct io_uring *ring, struct io_uring_cqe **cqe_ptr, unsigned *nr_available);
/* Publishes the SQEs taken so far without entering; returns those not yet consumed. */
unsigned __io_uring_flush_sq(struct io_uring *ring);

void io_uring_cq_advance(struct io_uring *ring, unsigned nr);
void io_uring_cqe_seen(struct io_uring *ring, struct io_uring_cqe *cqe);
unsigned io_uring_cq_ready(const struct io_uring *ring);
bool io_uring_cq_has_overflow(const struct io_uring *ring);
bool io_uring_cq_eventfd_enabled(const struct io_uring *ring);
int io_uring_cq_eventfd_toggle(struct io_uring *ring, bool enabled);

unsigned io_uring_sq_ready(const struct io_uring *ring);
unsigned io_uring_sq_space_left(const struct io_uring *ring);
int io_uring_sqring_wait(struct io_uring *ring);
int __io_uring_sqring_wait(struct io_uring *ring);

/* user_data that liburing reserved for its internal timeouts. */
#define LIBURING_UDATA_TIMEOUT ((__u64)-1)

/* CQ slots per CQE: 1, or 2 on CQE32 rings, as a shift. */
#define io_uring_cqe_shift(ring) (!!((ring)->flags & IORING_SETUP_CQE32))
#define io_uring_cqe_index(ring, ptr, mask) (((ptr) & (mask)) << io_uring_cqe_shift(ring))

/* Visits every CQE ready now without consuming any: afterwards hand them
 * back with io_uring_cq_advance(ring, count). The tail is read with acquire
 * order, so each CQE's contents are complete when the loop body sees it. */
#define io_uring_for_each_cqe(ring, head, cqe)                                                    \
	for ((head) = IO_URING_READ_ONCE(*(ring)->cq.khead);                                      \
	     ((cqe) = ((head) != io_uring_smp_load_acquire((ring)->cq.ktail)                      \
			       ? &(ring)->cq.cqes[io_uring_cqe_index(ring, head, (ring)->cq.ring_mask)] \
			       : NULL));                                                          \
	     (head)++)

/* ---- Registration --------------------------------------------------------- */

int io_uring_register_buffers(struct io_uring *ring, const struct iovec *iovecs, unsigned nr_iovecs);
int io_uring_register_buffers_tags(struct io_uring *ring, const struct iovec *iovecs, const __u64 *tags,
				   unsigned nr);
int io_uring_register_buffers_sparse(struct io_uring *ring, unsigned nr);
int io_uring_register_buffers_update_tag(struct io_uring *ring, unsigned off, const struct iovec *iovecs,
					 const __u64 *tags, unsigned nr);
int io_uring_unregister_buffers(struct io_uring *ring);

int io_uring_register_files(struct io_uring *ring, const int *files, unsigned nr_files);
int io_uring_register_files_tags(struct io_uring *ring, const int *files, const __u64 *tags, unsigned nr);
int io_uring_register_files_sparse(struct io_uring *ring, unsigned nr);
int io_uring_register_files_update_tag(struct io_uring *ring, unsigned off, const int *files, const __u64 *tags,
				       unsigned nr_files);
int io_uring_unregister_files(struct io_uring *ring);
int io_uring_register_files_update(struct io_uring *ring, unsigned off, const int *files, unsigned nr_files);

int io_uring_register_eventfd(struct io_uring *ring, int fd);
int io_uring_register_eventfd_async(struct io_uring *ring, int fd);
int io_uring_unregister_eventfd(struct io_uring *ring);
int io_uring_register_probe(struct io_uring *ring, struct io_uring_probe *p, unsigned nr);
int io_uring_register_personality(struct io_uring *ring);
int io_uring_unregister_personality(struct io_uring *ring, int id);
int io_uring_register_restrictions(struct io_uring *ring, struct io_uring_restriction *res, unsigned int nr_res);
int io_uring_enable_rings(struct io_uring *ring);
int io_uring_register_iowq_aff(struct io_uring *ring, size_t cpusz, const cpu_set_t *mask);
int io_uring_unregister_iowq_aff(struct io_uring *ring);
int io_uring_register_iowq_max_workers(struct io_uring *ring, unsigned int *values);
int io_uring_register_ring_fd(struct io_uring *ring);
int io_uring_unregister_ring_fd(struct io_uring *ring);
int io_uring_close_ring_fd(struct io_uring *ring);
int io_uring_register_buf_ring(struct io_uring *ring, struct io_uring_buf_reg *reg, unsigned int flags);
int io_uring_unregister_buf_ring(struct io_uring *ring, int bgid);
int io_uring_register_sync_cancel(struct io_uring *ring, struct io_uring_sync_cancel_reg *reg);
int io_uring_register_file_alloc_range(struct io_uring *ring, unsigned off, unsigned len);

/* ---- Provided-buffer rings (the ring memory is the caller's) --------------- */

int io_uring_buf_ring_mask(__u32 ring_entries);
void io_uring_buf_ring_init(struct io_uring_buf_ring *br);
void io_uring_buf_ring_add(struct io_uring_buf_ring *br, void *addr, unsigned int len, unsigned short bid, int mask,
			   int buf_offset);
void io_uring_buf_ring_advance(struct io_uring_buf_ring *br, int count);
void io_uring_buf_ring_cq_advance(struct io_uring *ring, struct io_uring_buf_ring *br, int count);

/* ---- Multishot RECVMSG results ------------------------------------------- */

struct io_uring_recvmsg_out *io_uring_recvmsg_validate(void *buf, int buf_len, struct msghdr *msgh);
void *io_uring_recvmsg_name(struct io_uring_recvmsg_out *o);
struct cmsghdr *io_uring_recvmsg_cmsg_firsthdr(struct io_uring_recvmsg_out *o, struct msghdr *msgh);
struct cmsghdr *io_uring_recvmsg_cmsg_nexthdr(struct io_uring_recvmsg_out *o, struct msghdr *msgh,
					      struct cmsghdr *cmsg);
void *io_uring_recvmsg_payload(struct io_uring_recvmsg_out *o, struct msghdr *msgh);
unsigned int io_uring_recvmsg_payload_length(struct io_uring_recvmsg_out *o, int buf_len, struct msghdr *msgh);

/* ---- Raw system calls, memory, versions ----------------------------------- */

int io_uring_setup(unsigned int entries, struct io_uring_params *p);
int io_uring_enter(unsigned int fd, unsigned int to_submit, unsigned int min_complete, unsigned int flags,
		   sigset_t *sig);
int io_uring_enter2(unsigned int fd, unsigned int to_submit, unsigned int min_complete, unsigned int flags,
		    sigset_t *sig, size_t sz);
int io_uring_register(unsigned int fd, unsigned int opcode, const void *arg, unsigned int nr_args);

ssize_t io_uring_mlock_size(unsigned entries, unsigned flags);
ssize_t io_uring_mlock_size_params(unsigned entries, struct io_uring_params *p);

int io_uring_major_version(void);
int io_uring_minor_version(void);
bool io_uring_check_version(int major, int minor);
#define IO_URING_CHECK_VERSION(major, minor) \
	((major) > IO_URING_VERSION_MAJOR ||   \
	 ((major) == IO_URING_VERSION_MAJOR && (minor) >= IO_URING_VERSION_MINOR))

#ifdef __cplusplus
}
#endif

/* Every io_uring_prep_* and the SQE/CQE data helpers. */
#if __has_include("liburing/prep.h")
#include "liburing/prep.h"
#endif

#endif
