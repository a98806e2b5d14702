// For the .cc files of uring/liburing only: struct io_uring as a view of a
// uring::Ring. Include it first: uring's C++ headers must come before
// <liburing.h>, whose C macros (IORING_SETUP_SQPOLL, ...) would rewrite
// syscalls/abi.h's names. After it, write the C names, not abi:: ones.
#pragma once

#include <cstddef>
#include <cstdint>

#include "syscalls/abi.h"
#include "syscalls/syscalls.h"
#include "uring/ring.h"
#include "uring/sqe.h"

#include "liburing.h"

namespace uring::compat {

static_assert(sizeof(::io_uring_params) == sizeof(abi::io_uring_params));
static_assert(sizeof(::io_uring_sqe) == sizeof(Sqe));
static_assert(sizeof(::io_uring_cqe) == sizeof(abi::io_uring_cqe));

// Brings the Ring in line with what the program changed in the view, as
// liburing, whose state the struct is, would see it: a new ring_fd (a dup of
// the ring fd) becomes the Ring's fd, and an sq.sqe_tail another process
// moved (the struct in memory shared across fork) the Ring's SQ tail. A
// value the Ring refuses (a negative fd, a tail the kernel's words rule out)
// leaves the Ring as it was.
void follow_view(const ::io_uring* view, Ring* ring);

// The Ring behind a view, in line with it; null before
// io_uring_queue_init* and after io_uring_queue_exit. Every entry point
// comes through here, so a view changed between calls is seen at the next.
inline Ring* ring_of(const ::io_uring* view) {
  Ring* ring = view ? static_cast<Ring*>(view->uring_ring) : nullptr;
  if (ring && (view->ring_fd != ring->fd() || view->sq.sqe_tail != ring->sqe_tail())) [[unlikely]] {
    follow_view(view, ring);
  }
  return ring;
}

// Sets every field of `view` from `ring` (after setup, and after anything
// that moves the mappings). `params` gives the offsets of the two words the
// Ring does not keep a pointer to (the kernel's ring_mask and ring_entries).
void fill_view(::io_uring* view, Ring* ring, const ::io_uring_params& params);

// After io_uring_get_sqe: sq.sqe_tail is the Ring's tail of SQEs handed out.
inline void note_sqe_taken(::io_uring* view, const Ring& ring) { view->sq.sqe_tail = ring.sqe_tail(); }
// After a submit or flush: everything handed out is published.
inline void note_published(::io_uring* view, const Ring& ring) {
  view->sq.sqe_head = view->sq.sqe_tail = ring.sqe_tail();
}
// After the ring fd was registered, unregistered or closed.
void note_ring_fd(::io_uring* view, const Ring& ring);

}  // namespace uring::compat
