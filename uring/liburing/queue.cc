// Setup, teardown, submission and completion of the liburing API, each a
// call of uring::Ring: io_uring_queue_init* sets the ring up with the
// caller's io_uring_params (io_uring_setup(2) as liburing makes it) and
// hands the fd to Ring::adopt, so the Ring is the only owner of the fd, the
// mappings and the SQ/CQ state; struct io_uring only points into them.
#include "internal/ring_view.h"

#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>

#include <chrono>
#include <climits>
#include <cstring>
#include <new>
#include <utility>

namespace uring::compat {

void fill_view(::io_uring* view, State* state, const ::io_uring_params& params) {
  Ring* ring = &state->ring;
  const Ring::Mapping m = ring->mapping();
  view->uring_ring = state;
  io_uring_sq& sq = view->sq;
  sq.khead = m.sq_khead;
  sq.ktail = m.sq_ktail;
  sq.kflags = m.sq_kflags;
  sq.kdropped = m.sq_kdropped;
  sq.array = m.sq_array;
  sq.sqes = reinterpret_cast<::io_uring_sqe*>(m.sqes);
  sq.ring_sz = m.sq_ring_bytes;
  sq.ring_ptr = m.sq_ring;
  sq.ring_mask = m.sq_mask;
  sq.ring_entries = m.sq_entries;
  sq.kring_mask = reinterpret_cast<unsigned*>(static_cast<unsigned char*>(m.sq_ring) + params.sq_off.ring_mask);
  sq.kring_entries =
      reinterpret_cast<unsigned*>(static_cast<unsigned char*>(m.sq_ring) + params.sq_off.ring_entries);
  io_uring_cq& cq = view->cq;
  cq.khead = m.cq_khead;
  cq.ktail = m.cq_ktail;
  cq.kflags = m.cq_kflags;
  cq.koverflow = m.cq_koverflow;
  cq.cqes = reinterpret_cast<::io_uring_cqe*>(m.cqes);
  cq.ring_sz = m.cq_ring_bytes;
  cq.ring_ptr = m.cq_ring;
  cq.ring_mask = m.cq_mask;
  cq.ring_entries = m.cq_entries;
  cq.kring_mask = reinterpret_cast<unsigned*>(static_cast<unsigned char*>(m.cq_ring) + params.cq_off.ring_mask);
  cq.kring_entries =
      reinterpret_cast<unsigned*>(static_cast<unsigned char*>(m.cq_ring) + params.cq_off.ring_entries);
  view->flags = ring->setup_flags();
  view->features = ring->features();
  note_published(view, *ring);  // a fresh ring: tail handed out == tail published
  note_ring_fd(view, *ring);
}

void note_ring_fd(::io_uring* view, const Ring& ring) {
  view->ring_fd = ring.fd();
  const int index = ring.registered_index();
  if (index >= 0) {
    view->enter_ring_fd = index;
    view->int_flags |= URING_INT_FLAG_REG_RING;
  } else {
    view->enter_ring_fd = ring.fd();
    view->int_flags &= static_cast<__u8>(~URING_INT_FLAG_REG_RING);
  }
}

void follow_ring_fd(const ::io_uring* view, Ring* ring) {
  // liburing enters and registers through ring->ring_fd, and its queue_exit
  // closes that fd: so does the Ring from now on. The fd it replaces is the
  // program's (closed already, in liburing's test/sq-poll-dup).
  if (view->ring_fd >= 0) (void)ring->replace_fd(view->ring_fd);
}

void follow_sqe_tail(::io_uring* view, State* state) {
  // liburing's SQ bookkeeping is sq.sqe_tail/sqe_head of the struct; where
  // it lives in MAP_SHARED memory (test/across-fork), the process that
  // submitted last left its tail there, and this process's Ring copy is
  // behind. The kernel's SQ words, shared too, check the value. The
  // comparison is with noted_tail, which only this process's submitting
  // thread writes, never with the Ring's live tail: get_sqe moves that one
  // before the view is told.
  if (state->ring.resync_sqe_tail(view->sq.sqe_tail) < 0) view->sq.sqe_tail = state->ring.sqe_tail();
  state->noted_tail = view->sq.sqe_tail;
}

namespace {

// The States io_uring_queue_init* made in this process and
// io_uring_queue_exit has not freed yet: an intrusive list (no allocation,
// no static destructor, so an exit from an atexit handler still works),
// under a pthread mutex held across fork() so a child never inherits it
// locked. A forked child keeps the list: its copies of the States (heap
// memory, copied by fork) are its own, with its copies of the mappings and
// fds, and its io_uring_queue_exit frees those, never the parent's.
pthread_mutex_t g_live_mutex = PTHREAD_MUTEX_INITIALIZER;
State* g_live = nullptr;

struct LiveLock {
  LiveLock() { ::pthread_mutex_lock(&g_live_mutex); }
  ~LiveLock() { ::pthread_mutex_unlock(&g_live_mutex); }
  LiveLock(const LiveLock&) = delete;
  LiveLock& operator=(const LiveLock&) = delete;
};

void lock_live() { ::pthread_mutex_lock(&g_live_mutex); }
void unlock_live() { ::pthread_mutex_unlock(&g_live_mutex); }

void add_live(State* state, const ::io_uring* view) {
  static const int at_fork = ::pthread_atfork(lock_live, unlock_live, unlock_live);
  (void)at_fork;
  LiveLock lock;
  state->view = view;
  state->prev = nullptr;
  state->next = g_live;
  if (g_live) g_live->prev = state;
  g_live = state;
}

// The live State that `view` points at and was made for, out of the list;
// null when there is none (never set up, or exited already: a State freed
// and another allocated at its address is some other view's).
State* take_live(const ::io_uring* view) {
  LiveLock lock;
  for (State* state = g_live; state; state = state->next) {
    if (state != view->uring_ring || state->view != view) continue;
    if (state->prev) state->prev->next = state->next;
    else g_live = state->next;
    if (state->next) state->next->prev = state->prev;
    state->prev = state->next = nullptr;
    return state;
  }
  return nullptr;
}

// A __kernel_timespec as a WaitOptions timeout. A negative time has passed
// already (the kernel's wait ends at once); one too long for the Ring's
// clock arithmetic is no limit.
std::chrono::nanoseconds timeout_of(const __kernel_timespec& ts) {
  if (ts.tv_sec < 0 || (ts.tv_sec == 0 && ts.tv_nsec < 0)) return std::chrono::nanoseconds(0);
  constexpr long long kMaxSeconds = (1LL << 62) / 1000000000LL;
  if (ts.tv_sec >= kMaxSeconds) return std::chrono::nanoseconds(LLONG_MAX);
  return std::chrono::nanoseconds(static_cast<long long>(ts.tv_sec) * 1000000000LL + ts.tv_nsec);
}

WaitOptions wait_options(const __kernel_timespec* ts, const sigset_t* sigmask) {
  WaitOptions options;
  if (ts) options.timeout = timeout_of(*ts);
  options.sigmask = sigmask;
  return options;
}

// The kernel caps a wait's min_events at the CQ's size (io_cqring_wait):
// asking for more returns once the CQ is full. Ring refuses such a count
// (-EINVAL); liburing programs get the kernel's answer.
unsigned clamp_wait(const ::io_uring* view, unsigned wait_nr) {
  return wait_nr > view->cq.ring_entries ? view->cq.ring_entries : wait_nr;
}

::io_uring_cqe* as_c(Cqe* cqe) { return reinterpret_cast<::io_uring_cqe*>(cqe); }

// After a wait: the oldest CQE into *cqe_ptr; the wait's error, else
// -EAGAIN when no CQE is there (a wait for 0). A timed wait that ran out
// with fewer CQEs than asked for but at least one is a success, as in
// liburing: the kernel's io_cqring_wait reports 0 whenever the CQ is not
// empty when it stops waiting, and liburing hands that CQE out (Ring's
// wait_cqes says -ETIME: the count was not reached).
int take_first(Ring& ring, int wait_result, ::io_uring_cqe** cqe_ptr) {
  Cqe* cqe = ring.peek_cqe();
  *cqe_ptr = as_c(cqe);
  if (wait_result == -ETIME && cqe) return 0;
  if (wait_result < 0) return wait_result;
  return cqe ? 0 : -EAGAIN;
}

}  // namespace
}  // namespace uring::compat

using uring::Ring;
using uring::compat::as_c;
using uring::compat::clamp_wait;
using uring::compat::note_published;
using uring::compat::ring_of;
using uring::compat::sq_ring_of;
using uring::compat::take_first;
using uring::compat::wait_options;

extern "C" {

int io_uring_queue_mmap(int fd, struct io_uring_params* p, struct io_uring* view) {
  std::memset(view, 0, sizeof *view);
  view->ring_fd = view->enter_ring_fd = -1;
  if (!p) return -EFAULT;
  auto* state = new (std::nothrow) uring::compat::State();
  if (!state) return -ENOMEM;
  auto adopted = Ring::adopt(fd, *reinterpret_cast<const uring::abi::io_uring_params*>(p));
  if (!adopted) {
    delete state;
    return -adopted.code();  // the fd stays the caller's
  }
  state->ring = std::move(*adopted);
  uring::compat::fill_view(view, state, *p);
  uring::compat::add_live(state, view);
  return 0;
}

int io_uring_queue_init_params(unsigned entries, struct io_uring* view, struct io_uring_params* p) {
  const int fd = uring::sys::io_uring_setup(entries, reinterpret_cast<uring::abi::io_uring_params*>(p));
  if (fd < 0) {
    std::memset(view, 0, sizeof *view);
    view->ring_fd = view->enter_ring_fd = -1;
    return fd;
  }
  const int ret = io_uring_queue_mmap(fd, p, view);
  if (ret) ::close(fd);
  return ret;
}

int io_uring_queue_init(unsigned entries, struct io_uring* view, unsigned flags) {
  struct io_uring_params p;
  std::memset(&p, 0, sizeof p);
  p.flags = flags;
  return io_uring_queue_init_params(entries, view, &p);
}

// Frees this process's ring behind `view` and leaves the struct as it is,
// as liburing does: a child's exit on a struct shared across fork must not
// take the parent's ring away. Only init may use the struct afterwards; a
// second exit does nothing.
void io_uring_queue_exit(struct io_uring* view) {
  if (!view) return;
  uring::compat::State* state = uring::compat::take_live(view);
  if (!state) return;
  // liburing closes the ring_fd the struct holds (a dup the program stored).
  if (view->ring_fd != state->ring.fd()) uring::compat::follow_ring_fd(view, &state->ring);
  delete state;  // unregisters the ring fd, unmaps, closes
}

int io_uring_ring_dontfork(struct io_uring* view) {
  Ring* ring = ring_of(view);
  if (!ring) return -EINVAL;
  const Ring::Mapping m = ring->mapping();
  if (!m.sq_ring || !m.sqes || !m.cq_ring) return -EINVAL;
  if (::madvise(m.sqes, m.sqes_bytes, MADV_DONTFORK) < 0) return -errno;
  if (::madvise(m.sq_ring, m.sq_ring_bytes, MADV_DONTFORK) < 0) return -errno;
  if (m.cq_ring != m.sq_ring && ::madvise(m.cq_ring, m.cq_ring_bytes, MADV_DONTFORK) < 0) return -errno;
  return 0;
}

// ---- Submission ------------------------------------------------------------

struct io_uring_sqe* io_uring_get_sqe(struct io_uring* view) {
  Ring* ring = sq_ring_of(view);
  if (!ring) return nullptr;
  uring::Sqe* sqe = ring->get_sqe();
  if (!sqe) return nullptr;
  uring::compat::note_sqe_taken(view, *ring);
  return reinterpret_cast<struct io_uring_sqe*>(sqe);
}

unsigned __io_uring_flush_sq(struct io_uring* view) {
  Ring* ring = sq_ring_of(view);
  if (!ring) return 0;
  const unsigned pending = ring->flush_sq();
  note_published(view, *ring);
  return pending;
}

int io_uring_submit(struct io_uring* view) {
  Ring* ring = sq_ring_of(view);
  if (!ring) return -EBADF;
  const int ret = ring->submit();
  note_published(view, *ring);
  return ret;
}

int io_uring_submit_and_wait(struct io_uring* view, unsigned wait_nr) {
  Ring* ring = sq_ring_of(view);
  if (!ring) return -EBADF;
  const int ret = ring->submit_and_wait(clamp_wait(view, wait_nr));
  note_published(view, *ring);
  return ret;
}

int io_uring_submit_and_wait_timeout(struct io_uring* view, struct io_uring_cqe** cqe_ptr, unsigned wait_nr,
                                     struct __kernel_timespec* ts, sigset_t* sigmask) {
  Ring* ring = sq_ring_of(view);
  if (!ring) return -EBADF;
  const unsigned pending = ring->sq_pending();
  int ret;
  if (ts || sigmask) {
    ret = ring->submit_and_wait(clamp_wait(view, wait_nr), wait_options(ts, sigmask));
  } else {
    ret = ring->submit_and_wait(clamp_wait(view, wait_nr));
  }
  note_published(view, *ring);
  uring::Cqe* cqe = ring->peek_cqe();
  *cqe_ptr = as_c(cqe);
  if (ret == -ETIME && cqe) {
    // Ran out with some CQEs: a success, as in take_first. The SQEs were
    // submitted all the same (SQPOLL: published for the poller).
    ret = (view->flags & IORING_SETUP_SQPOLL) ? static_cast<int>(pending)
                                              : static_cast<int>(pending - ring->sq_pending());
  }
  // Nothing submitted, nothing waited for and no CQE: liburing's get-CQE
  // loop says -EAGAIN, as io_uring_peek_cqe does.
  if (ret == 0 && wait_nr == 0 && !cqe) return -EAGAIN;
  return ret;  // the SQEs submitted, or -errno (-ETIME: no CQE came in time, as the 2.3 man page says)
}

int io_uring_submit_and_get_events(struct io_uring* view) {
  Ring* ring = sq_ring_of(view);
  if (!ring) return -EBADF;
  int ret;
  if (view->flags & IORING_SETUP_SQPOLL) {
    // Ring::submit wakes the poller when it sleeps; then ask for events.
    ret = ring->submit();
    if (ret >= 0) {
      const int got = ring->enter(0, 0, IORING_ENTER_GETEVENTS, nullptr, 0);
      if (got < 0) ret = got;
    }
  } else {
    const unsigned pending = ring->flush_sq();  // one enter that submits and flushes completions
    ret = ring->enter(pending, 0, IORING_ENTER_GETEVENTS, nullptr, 0);
  }
  note_published(view, *ring);
  return ret;
}

int io_uring_get_events(struct io_uring* view) {
  Ring* ring = ring_of(view);
  if (!ring) return -EBADF;
  return ring->enter(0, 0, IORING_ENTER_GETEVENTS, nullptr, 0);
}

unsigned io_uring_sq_ready(const struct io_uring* view) {
  Ring* ring = sq_ring_of(view);
  return ring ? ring->sq_pending() : 0;
}

unsigned io_uring_sq_space_left(const struct io_uring* view) {
  Ring* ring = sq_ring_of(view);
  return ring ? ring->sq_space_left() : 0;
}

int __io_uring_sqring_wait(struct io_uring* view) {
  Ring* ring = ring_of(view);
  if (!ring) return -EBADF;
  return ring->enter(0, 0, IORING_ENTER_SQ_WAIT, nullptr, 0);
}

int io_uring_sqring_wait(struct io_uring* view) {
  Ring* ring = sq_ring_of(view);
  if (!ring) return -EBADF;
  if (!(view->flags & IORING_SETUP_SQPOLL) || ring->sq_space_left() > 0) return 0;
  // Publishes what was taken and wakes a sleeping poller before waiting:
  // a full SQ of unpublished SQEs would never drain otherwise.
  const int ret = ring->wait_for_sq_space();
  note_published(view, *ring);
  return ret;
}

// ---- Completion ------------------------------------------------------------

int io_uring_peek_cqe(struct io_uring* view, struct io_uring_cqe** cqe_ptr) {
  Ring* ring = ring_of(view);
  if (!ring) return -EBADF;
  uring::Cqe* cqe = ring->peek_cqe();  // enters only when the kernel holds completions back
  *cqe_ptr = as_c(cqe);
  return cqe ? 0 : -EAGAIN;
}

int __io_uring_peek_cqe(struct io_uring* view, struct io_uring_cqe** cqe_ptr, unsigned* nr_available) {
  Ring* ring = ring_of(view);
  if (!ring) return -EBADF;
  // No internal timeout CQEs to skip: this layer queues none.
  const unsigned ready = ring->cq_ready();
  const unsigned shift = (view->flags & IORING_SETUP_CQE32) ? 1 : 0;
  const unsigned head = IO_URING_READ_ONCE(*view->cq.khead);
  *cqe_ptr = ready ? &view->cq.cqes[(head & view->cq.ring_mask) << shift] : nullptr;
  if (nr_available) *nr_available = ready;
  return 0;
}

int io_uring_wait_cqe(struct io_uring* view, struct io_uring_cqe** cqe_ptr) {
  Ring* ring = ring_of(view);
  if (!ring) return -EBADF;
  int error = 0;
  *cqe_ptr = as_c(ring->wait_cqe(&error));
  return error;
}

int io_uring_wait_cqe_nr(struct io_uring* view, struct io_uring_cqe** cqe_ptr, unsigned wait_nr) {
  Ring* ring = ring_of(view);
  if (!ring) return -EBADF;
  return take_first(*ring, ring->wait_cqes(clamp_wait(view, wait_nr)), cqe_ptr);
}

int io_uring_wait_cqes(struct io_uring* view, struct io_uring_cqe** cqe_ptr, unsigned wait_nr,
                       struct __kernel_timespec* ts, sigset_t* sigmask) {
  Ring* ring = ring_of(view);
  if (!ring) return -EBADF;
  return take_first(*ring, ring->wait_cqes(clamp_wait(view, wait_nr), wait_options(ts, sigmask)), cqe_ptr);
}

int io_uring_wait_cqe_timeout(struct io_uring* view, struct io_uring_cqe** cqe_ptr, struct __kernel_timespec* ts) {
  return io_uring_wait_cqes(view, cqe_ptr, 1, ts, nullptr);
}

int __io_uring_get_cqe(struct io_uring* view, struct io_uring_cqe** cqe_ptr, unsigned submit, unsigned wait_nr,
                       sigset_t* sigmask) {
  Ring* ring = submit > 0 ? sq_ring_of(view) : ring_of(view);  // the SQ side only when it submits
  if (!ring) return -EBADF;
  int ret;
  if (submit > 0) {
    // `submit` SQEs of those published already (liburing's callers flush
    // first): one enter that submits them, publishing nothing more, then
    // the rest of the wait if the kernel stopped short of it.
    const unsigned want = clamp_wait(view, wait_nr);
    unsigned flags = want ? IORING_ENTER_GETEVENTS : 0;
    if (view->flags & IORING_SETUP_SQPOLL) {
      uring::barrier::full_fence();  // barrier.h: the SQ tail store before the NEED_WAKEUP read
      if (ring->sq_needs_wakeup()) flags |= IORING_ENTER_SQ_WAKEUP;
    }
    ret = ring->enter(submit, want, flags, sigmask, _NSIG / 8);
    if (ret >= 0) ret = ring->cq_ready() >= want ? 0 : ring->wait_cqes(want, wait_options(nullptr, sigmask));
  } else {
    ret = ring->wait_cqes(clamp_wait(view, wait_nr), wait_options(nullptr, sigmask));
  }
  return take_first(*ring, ret, cqe_ptr);
}

unsigned io_uring_peek_batch_cqe(struct io_uring* view, struct io_uring_cqe** cqes, unsigned count) {
  Ring* ring = ring_of(view);
  if (!ring) return 0;
  unsigned ready = ring->cq_ready();
  if (ready == 0) {
    // Let the kernel post what it holds back (overflow, task work), as peek does.
    if (!ring->peek_cqe()) return 0;
    ready = ring->cq_ready();
  }
  if (count > ready) count = ready;
  const unsigned shift = (view->flags & IORING_SETUP_CQE32) ? 1 : 0;
  const unsigned head = IO_URING_READ_ONCE(*view->cq.khead);
  for (unsigned i = 0; i < count; ++i) cqes[i] = &view->cq.cqes[((head + i) & view->cq.ring_mask) << shift];
  return count;
}

void io_uring_cq_advance(struct io_uring* view, unsigned nr) {
  Ring* ring = ring_of(view);
  if (ring && nr) ring->advance(nr);
}

void io_uring_cqe_seen(struct io_uring* view, struct io_uring_cqe* cqe) {
  Ring* ring = ring_of(view);
  if (ring && cqe) ring->cqe_seen(reinterpret_cast<uring::Cqe*>(cqe));
}

unsigned io_uring_cq_ready(const struct io_uring* view) {
  Ring* ring = ring_of(view);
  return ring ? ring->cq_ready() : 0;
}

bool io_uring_cq_has_overflow(const struct io_uring* view) {
  Ring* ring = ring_of(view);
  return ring && ring->cq_overflow_pending();
}

bool io_uring_cq_eventfd_enabled(const struct io_uring* view) {
  Ring* ring = ring_of(view);
  if (!ring || !ring->has_cq_flags()) return true;
  return !(ring->cq_flags() & IORING_CQ_EVENTFD_DISABLED);
}

int io_uring_cq_eventfd_toggle(struct io_uring* view, bool enabled) {
  Ring* ring = ring_of(view);
  if (!ring) return -EBADF;
  if (enabled == io_uring_cq_eventfd_enabled(view)) return 0;
  if (!ring->has_cq_flags()) return -EOPNOTSUPP;
  const std::uint32_t flags = ring->cq_flags();
  ring->set_cq_flags(enabled ? (flags & ~IORING_CQ_EVENTFD_DISABLED) : (flags | IORING_CQ_EVENTFD_DISABLED));
  return 0;
}

}  // extern "C"
