/* The ordering macros liburing programs use on the mapped ring words, in C
 * and C++ alike (GCC/Clang __atomic builtins). uring's own rules, with the
 * kernel access each pairs with, are in uring/barrier.h; these are the same
 * orders under liburing's names:
 *
 *   io_uring_smp_load_acquire(p)      read CQ tail / SQ head, then the entries
 *                                     the kernel wrote before moving it
 *   io_uring_smp_store_release(p, v)  publish SQ tail / CQ head / buffer-ring
 *                                     tail after the entries it covers
 *   IO_URING_READ_ONCE / WRITE_ONCE   flag words (sq_flags, cq_flags): one
 *                                     untorn access, no ordering
 *   io_uring_smp_mb()                 full fence (SQPOLL: tail store, then the
 *                                     NEED_WAKEUP read)
 */
#ifndef URING_LIBURING_BARRIER_H
#define URING_LIBURING_BARRIER_H

#define IO_URING_WRITE_ONCE(var, val) __atomic_store_n(&(var), (val), __ATOMIC_RELAXED)
#define IO_URING_READ_ONCE(var) __atomic_load_n(&(var), __ATOMIC_RELAXED)

#define io_uring_smp_store_release(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define io_uring_smp_load_acquire(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)

#define io_uring_smp_mb() __atomic_thread_fence(__ATOMIC_SEQ_CST)

#endif
