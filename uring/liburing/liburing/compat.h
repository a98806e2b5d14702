/* What liburing's <liburing/compat.h> gives its users: the kernel types the
 * API's signatures name (struct __kernel_timespec, struct open_how) and the
 * fixed-width integer types. Debian 12's kernel headers have both kernel
 * types, so they come from there. */
#ifndef URING_LIBURING_COMPAT_H
#define URING_LIBURING_COMPAT_H

#include <inttypes.h>
#include <linux/openat2.h>    /* struct open_how */
#include <linux/time_types.h> /* struct __kernel_timespec */

#endif
