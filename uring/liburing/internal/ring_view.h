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

// What io_uring_queue_init* allocates for a view, in this process's heap
// (view->uring_ring points here): the Ring, and the SQ tail this layer last
// wrote into view->sq.sqe_tail. Only the SQ-side calls (the submitting
// thread's) read or write noted_tail, so a view->sq.sqe_tail that differs
// from it was moved by someone else: another process sharing the struct.
struct State {
  Ring ring;
  std::uint32_t noted_tail = 0;
  // The registry of this process's live States (queue.cc), consulted only by
  // io_uring_queue_init* and io_uring_queue_exit: the view it was made for,
  // and its neighbours in the list.
  const ::io_uring* view = nullptr;
  State* prev = nullptr;
  State* next = nullptr;
};

inline State* state_of(const ::io_uring* view) { return view ? static_cast<State*>(view->uring_ring) : nullptr; }

// A ring_fd the program replaced (a dup of the ring fd) becomes the Ring's
// fd. A negative one leaves the Ring as it was.
void follow_ring_fd(const ::io_uring* view, Ring* ring);
// An sq.sqe_tail another process moved (the struct in memory shared across
// fork) becomes the Ring's SQ tail; one the kernel's SQ words rule out is
// not taken, and the view gets the Ring's tail back.
void follow_sqe_tail(::io_uring* view, State* state);

// The Ring behind a view, for the CQ-side and register calls: in line with
// the view's ring_fd. It reads no SQ field, so a reaping thread may call it
// while another thread submits. Null before io_uring_queue_init*.
inline Ring* ring_of(const ::io_uring* view) {
  State* state = state_of(view);
  if (!state) return nullptr;
  if (view->ring_fd != state->ring.fd()) [[unlikely]] follow_ring_fd(view, &state->ring);
  return &state->ring;
}

// The Ring behind a view, for the SQ-side calls (get_sqe, submit*,
// sq_ready, sq_space_left, sqring_wait, flush, __io_uring_get_cqe that
// submits): in line with ring_fd and with an sq.sqe_tail moved by another
// process. Only the submitting thread calls these, as in liburing.
inline Ring* sq_ring_of(const ::io_uring* const_view) {
  State* state = state_of(const_view);
  if (!state) return nullptr;
  // The struct is the program's and writable; liburing's sq_ready and
  // sq_space_left take it const, as these do.
  auto* view = const_cast<::io_uring*>(const_view);
  if (view->ring_fd != state->ring.fd()) [[unlikely]] follow_ring_fd(view, &state->ring);
  if (view->sq.sqe_tail != state->noted_tail) [[unlikely]] follow_sqe_tail(view, state);
  return &state->ring;
}

// Sets every field of `view` from `ring` (after setup, and after anything
// that moves the mappings). `params` gives the offsets of the two words the
// Ring does not keep a pointer to (the kernel's ring_mask and ring_entries).
void fill_view(::io_uring* view, State* state, const ::io_uring_params& params);

// After io_uring_get_sqe: sq.sqe_tail is the Ring's tail of SQEs handed out.
inline void note_sqe_taken(::io_uring* view, const Ring& ring) {
  State* state = state_of(view);
  view->sq.sqe_tail = state->noted_tail = ring.sqe_tail();
}
// After a submit or flush: everything handed out is published.
inline void note_published(::io_uring* view, const Ring& ring) {
  State* state = state_of(view);
  view->sq.sqe_head = view->sq.sqe_tail = state->noted_tail = ring.sqe_tail();
}
// After the ring fd was registered, unregistered or closed.
void note_ring_fd(::io_uring* view, const Ring& ring);

}  // namespace uring::compat
