/* What liburing's test programs get from liburing's internal "syscall.h"
 * (they include it as ../src/syscall.h): the three io_uring system calls
 * as __sys_* functions, returning -errno and leaving errno alone, plus the
 * error-pointer helpers. Here they are uring's own wrappers
 * (syscalls/syscalls.h), defined in uring/liburing/syscall.cc. */
#ifndef URING_LIBURING_INTERNAL_SYSCALL_H
#define URING_LIBURING_INTERNAL_SYSCALL_H

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <liburing.h>

#ifdef __cplusplus
extern "C" {
#endif

int __sys_io_uring_setup(unsigned int entries, struct io_uring_params *p);
int __sys_io_uring_enter(unsigned int fd, unsigned int to_submit, unsigned int min_complete, unsigned int flags,
			 sigset_t *sig);
int __sys_io_uring_enter2(unsigned int fd, unsigned int to_submit, unsigned int min_complete, unsigned int flags,
			  sigset_t *sig, size_t sz);
int __sys_io_uring_register(unsigned int fd, unsigned int opcode, const void *arg, unsigned int nr_args);

/* A -errno carried in a pointer (the top 4095 addresses). */
static inline void *ERR_PTR(intptr_t n) { return (void *)n; }
static inline int PTR_ERR(const void *ptr) { return (int)(intptr_t)ptr; }
static inline bool IS_ERR(const void *ptr) { return uring_unlikely((uintptr_t)ptr >= (uintptr_t)-4095UL); }

#ifdef __cplusplus
}
#endif

#endif
