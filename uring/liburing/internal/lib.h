/* What liburing's test programs get from liburing's internal "lib.h" (they
 * include it as ../src/lib.h): the page size, allocation wrappers and a few
 * attribute macros. uring builds only with libc, so CONFIG_NOLIBC changes
 * nothing here. */
#ifndef URING_LIBURING_INTERNAL_LIB_H
#define URING_LIBURING_INTERNAL_LIB_H

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef offsetof
#define offsetof(TYPE, FIELD) __builtin_offsetof(TYPE, FIELD)
#endif

#ifndef container_of
#define container_of(PTR, TYPE, FIELD) ((TYPE *)((char *)(PTR) - offsetof(TYPE, FIELD)))
#endif

#define __maybe_unused __attribute__((__unused__))
#define __hot __attribute__((__hot__))
#define __cold __attribute__((__cold__))

static inline long get_page_size(void)
{
	long size = sysconf(_SC_PAGESIZE);
	return size > 0 ? size : 4096;
}

static inline void *uring_malloc(size_t len) { return malloc(len); }
static inline void uring_free(void *ptr) { free(ptr); }

#endif
