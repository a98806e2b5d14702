// uring::Ring: one io_uring instance — its fd, its mapped SQ and CQ, and the
// hot path to fill, publish and reap entries.
//
//   auto ring = uring::Ring::create({.entries = 64});
//   if (!ring) { fprintf(stderr, "%s\n", ring.error().message.c_str()); ... }
//   uring::Sqe* sqe = ring->get_sqe();          // nullptr when the SQ is full
//   uring::prep_nop(*sqe).set_user_data(42);
//   ring->submit_and_wait(1);                   // one io_uring_enter
//   ring->for_each_cqe([](const uring::Cqe& cqe) { use(cqe.data(), cqe.result()); });
//
// Threading: a Ring is not synchronised. At most one thread submits
// (get_sqe, submit*, wait_for_sq_space) and at most one reaps (peek_cqe,
// for_each_cqe, advance, wait_cqes, wait_cqe) at a time; they may be two
// different threads, because reaping and waiting never touch the SQ (only
// submit* publishes SQEs). Everything else (create, close, resize, register
// calls, moves) needs the Ring to itself. SINGLE_ISSUER / DEFER_TASKRUN rings
// add the kernel's rule: only one thread submits — the creating thread, or
// for a start_disabled ring the one that calls enable() — and with
// DEFER_TASKRUN only it waits (-EEXIST otherwise).
//
// The registered ring fd (the default when the kernel has it) lives in the
// creating thread's table of registered rings (for a start_disabled
// single_issuer ring: the enabling thread's): enter and register calls use it
// only from that thread, and the plain fd from any other thread or a forked
// child (a registered_fd_only ring has no plain fd: from elsewhere its calls
// fail with -EBADF).
//
// Setup, registration and teardown are in ring.cc; everything called per
// request is inline below. Barriers: uring/barrier.h.
#pragma once

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "syscalls/abi.h"
#include "syscalls/syscalls.h"
#include "uring/barrier.h"
#include "uring/result.h"
#include "uring/sqe.h"

namespace uring {

namespace detail {
// Names the calling thread for the registered-ring check: 0 until the thread
// creates a Ring, then a number no other thread of this process has had (a
// forked child starts again from 0). Initial-exec TLS: one load, no call.
#if defined(__GNUC__)
__attribute__((tls_model("initial-exec")))
#endif
inline thread_local std::uint64_t this_thread_token = 0;

// What the kernel-word pointers of a Ring that is not open (default-made,
// moved from, closed) point at, so that its hot-path calls need no check of
// their own and answer as a closed ring: each queue's head and tail are one
// word (always empty: get_sqe() finds no room, peek_cqe() no CQE, even if
// advance() is misused), and the every-bit word makes submit/peek enter,
// where the fd of -1 gives -EBADF. Shared by every such Ring; only stores of
// a head or tail reach it, through atomic_ref, so closed Rings on several
// threads do not race. (Not const: barrier.h loads through atomic_ref.)
struct NotOpenRing {
  std::uint32_t sq_head_and_tail = 0;
  std::uint32_t cq_head_and_tail = 0;
  std::uint32_t zero = 0;  // sq_flags, dropped, overflow: only ever read
  std::uint32_t every_bit = ~0u;
  alignas(16) unsigned char cqe[32] = {};  // cqe_at() of a misused advance(): a zeroed CQE
};
inline NotOpenRing not_open_ring;

// The one answer of a Result call on a Ring that is not open:
// EBADF, "<what>: the ring is closed".
Error ring_closed(const char* what);
}  // namespace detail

class Ring;

// How to set up a ring. Every IORING_SETUP_* flag of Linux 6.18 has a field;
// flags newer than this library can be passed in `extra_setup_flags`.
struct RingOptions {
  unsigned entries = 64;        // SQ size; the kernel rounds up to a power of two
  unsigned cq_entries = 0;      // CQ size (IORING_SETUP_CQSIZE) when non-zero; default 2 x SQ
  bool clamp = false;           // CLAMP: cap entries at the kernel's maximum instead of failing

  bool sqpoll = false;            // SQPOLL: a kernel thread polls the SQ
  unsigned sqpoll_idle_ms = 0;    // how long the poller spins before sleeping (0 = kernel default)
  std::optional<int> sqpoll_cpu = std::nullopt;  // SQ_AFF: pin the poller to this CPU (needs sqpoll)

  bool iopoll = false;         // IOPOLL: busy-poll completions (O_DIRECT on polled devices)
  bool hybrid_iopoll = false;  // HYBRID_IOPOLL (6.13): sleep before polling (needs iopoll)

  // ATTACH_WQ: attach to the ring whose fd this is (a ring made elsewhere),
  // or to `attach_wq` (set one of the two). What is shared on Linux 5.12 and
  // later: an SQPOLL ring shares the poller thread of an SQPOLL ring of the
  // same process; io-wq workers always belong to the submitting thread, so
  // for a ring without SQPOLL the kernel only checks that the fd is a ring.
  std::optional<int> attach_wq_fd = std::nullopt;
  const Ring* attach_wq = nullptr;  // must be open and have an fd (not registered_fd_only)

  bool start_disabled = false;  // R_DISABLED: no submissions until enable() (restrictions first)
  bool submit_all = false;      // SUBMIT_ALL: keep submitting the batch after one SQE fails
  bool coop_taskrun = false;    // COOP_TASKRUN: no IPI to run task work; it runs on enter
  bool taskrun_flag = false;    // TASKRUN_FLAG: IORING_SQ_TASKRUN tells when task work waits
  bool sqe128 = false;          // SQE128: 128-byte SQEs (URING_CMD with big payloads)
  bool cqe32 = false;           // CQE32: 32-byte CQEs (two extra words per CQE)
  bool cqe_mixed = false;       // CQE_MIXED (6.18): 16-byte CQEs with 32-byte ones mixed in
  bool single_issuer = false;   // SINGLE_ISSUER: only the creating task submits
  bool defer_taskrun = false;   // DEFER_TASKRUN: completions posted only when waiting (needs single_issuer);
                                // implies taskrun_flag, so a peek knows when waiting would post some
  bool no_sqarray = false;      // NO_SQARRAY: no SQ index array; SQ tail indexes SQEs directly

  // NO_MMAP: the rings live in memory from this process instead of kernel
  // mappings. Pass page-aligned memory of Ring::no_mmap_bytes(options) bytes,
  // or leave it null and the Ring allocates it.
  bool no_mmap = false;
  void* no_mmap_memory = nullptr;
  std::size_t no_mmap_memory_bytes = 0;

  // REGISTERED_FD_ONLY: the ring has no fd in the fd table, only a registered
  // index (needs no_mmap).
  bool registered_fd_only = false;

  // After setup, register the ring fd (IORING_REGISTER_RING_FDS, 5.18) so
  // enter calls skip the fd lookup; silently not used where the kernel
  // refuses it. A thread holds at most 16 registered ring fds.
  bool register_ring_fd = true;

  std::uint32_t extra_setup_flags = 0;  // raw IORING_SETUP_* bits, passed as they are

  // The IORING_SETUP_* bits these options ask for.
  std::uint32_t setup_flags() const;
};

// How long a wait (wait_cqes, wait_cqe, submit_and_wait with options) may
// block, and what may interrupt it. All times count from the call.
struct WaitOptions {
  // Give up with -ETIME after this long (needs FEAT_EXT_ARG, 5.11), also when
  // min_wait is longer. Negative: no limit.
  std::chrono::nanoseconds timeout{-1};
  // Batching (FEAT_MIN_TIMEOUT, 6.12), as the kernel does it: for the first
  // min_wait, wait for the full count; after it, return as soon as at least
  // one CQE is ready. Zero: always wait for the full count. At most 2^32-1
  // microseconds (the kernel's field; -EINVAL beyond).
  std::chrono::microseconds min_wait{0};
  // Signal mask to apply while blocked (like ppoll); null keeps the current one.
  const sigset_t* sigmask = nullptr;
  // Before waiting in the kernel, watch the CQ from user space for up to this
  // long (no system call while it spins; it burns this thread's CPU). On an
  // SQPOLL ring the poller posts completions without any io_uring_enter, so a
  // spin reaps them with no system call at all, as fio's SQPOLL engine does
  // (submit_and_wait publishes first and enters only to wake a sleeping
  // poller). Elsewhere submit_and_wait submits in an enter that does not
  // wait, then spins: what completes inline (a NOP, a page-cache read) is
  // there at once, and completions of task work reach a spinning thread
  // (default and COOP_TASKRUN rings); on DEFER_TASKRUN and IOPOLL rings,
  // where only an enter posts them, there is no spin. The spin ends at its
  // length or the timeout, once min_wait is over with a CQE ready, or when
  // completions wait for an enter (overflow, TASKRUN_FLAG). The spinning
  // thread keeps its CPU: it pays only where the poller or the completing
  // side has a CPU of its own (pin them apart). A signal handled during the
  // spin interrupts nothing (no system call is in progress): to hear of it
  // as -EINTR, keep it blocked and pass a sigmask that unblocks it, so it
  // stays pending and ends the kernel's wait. Zero or negative: no spin.
  // Not with registered_wait (-EINVAL).
  std::chrono::nanoseconds spin{0};
  // IORING_ENTER_EXT_ARG_REG (6.13): wait with entry `registered_wait` of
  // the ring's registered wait region (Ring::register_mem_region with
  // wait_args) instead of the three fields above, which must stay unset.
  // The first io_uring_enter hands the kernel the entry in place; if the
  // wait must go on (fewer than the count), later enters pass the entry's
  // values with the time left, so its timeout still counts from the call
  // (the first enter's min_wait, read by the kernel from the entry, is not
  // cut to the timeout: keep the entry's min_wait within its timeout).
  std::optional<unsigned> registered_wait = std::nullopt;
};

// Memory shared with the kernel through IORING_REGISTER_MEM_REGION (6.13).
struct MemRegionOptions {
  std::size_t bytes = 0;          // rounded up to whole pages
  bool wait_args = false;         // holds io_uring_reg_wait entries (needs a start_disabled ring, before enable())
  bool kernel_memory = false;     // the kernel allocates it and the ring mmaps it (needs a ring fd);
                                  // otherwise the ring allocates it and the kernel pins it
};

// New sizes for Ring::resize; zero cq_entries means twice sq_entries.
struct ResizeOptions {
  unsigned sq_entries = 0;
  unsigned cq_entries = 0;
  bool clamp = false;  // cap at the kernel's maximum instead of failing
};

// What an object that depends on a Ring (BufferGroup, FileTable,
// BufferTable, Personality) holds instead of a Ring*: a link that follows
// the Ring through moves and swaps, and reads null once the Ring is closed
// or destroyed, so the dependent can answer "the ring is closed" instead of
// reaching a moved-from or freed Ring. Linking and unlinking need the Ring
// to itself, like every registration call.
class RingRef {
 public:
  RingRef() = default;
  // `key` (not 0) names what the dependent holds of the ring, e.g. a buffer
  // group id, so that Ring::has_dependent(key) can refuse a second holder.
  explicit RingRef(Ring& ring, std::uint64_t key = 0) noexcept : key_(key) { link(ring); }
  RingRef(RingRef&& other) noexcept { take(other); }
  RingRef& operator=(RingRef&& other) noexcept {
    if (this != &other) {
      reset();
      take(other);
    }
    return *this;
  }
  RingRef(const RingRef&) = delete;
  RingRef& operator=(const RingRef&) = delete;
  ~RingRef() { reset(); }

  Ring* get() const noexcept { return ring_; }
  explicit operator bool() const noexcept { return ring_ != nullptr; }
  void reset() noexcept;  // unlinks; get() is null afterwards

 private:
  friend class Ring;
  void link(Ring& ring) noexcept;
  void take(RingRef& other) noexcept;  // other's place in the list, and its Ring
  Ring* ring_ = nullptr;
  RingRef* prev_ = nullptr;
  RingRef* next_ = nullptr;
  std::uint64_t key_ = 0;
};

class Ring {
 public:
  // Sets up a ring; on failure the error says what to change. Nothing leaks
  // on any failure path.
  static Result<Ring> create(const RingOptions& options);

  // Bytes of caller memory a NO_MMAP ring with these options needs (rings
  // followed by SQEs, each part page-aligned).
  static std::size_t no_mmap_bytes(const RingOptions& options);

  // Takes over a ring that io_uring_setup(2) made elsewhere: `params` as the
  // kernel filled them in for `fd`. Maps its rings (NO_MMAP rings are
  // refused: EINVAL) and owns `fd` from then on (close() closes it). The
  // ring fd is not registered: register_ring_fd() does that. On failure the
  // caller still owns `fd`, and nothing else is left behind. For
  // io_uring_queue_mmap() of the liburing layer (uring/liburing).
  static Result<Ring> adopt(int fd, const abi::io_uring_params& params);

  Ring() = default;  // an empty ring: valid() is false
  Ring(Ring&& other) noexcept { swap(other); }
  Ring& operator=(Ring&& other) noexcept {
    if (this != &other) {
      Ring(std::move(other)).swap(*this);
    }
    return *this;
  }
  Ring(const Ring&) = delete;
  Ring& operator=(const Ring&) = delete;
  ~Ring() { close(); }

  // Unmaps the rings, unregisters the ring fd and closes it. Idempotent.
  // A Ring that is not open (default-made, moved from, closed) answers every
  // call as a closed ring: get_sqe() and peek_cqe() nullptr, submit*, the
  // waits, wait_for_sq_space, register_raw, (un)register_ring_fd and
  // close_ring_fd -EBADF; the Result calls, here and of the calls that take
  // a Ring (FileTable, BufferTable, BufferGroup, Personality, cancel_sync,
  // clone_buffers, send_msg_ring, ...), EBADF "...: the ring is closed".
  void close();
  bool valid() const { return s_.enter_fd >= 0; }

  // ---- Submission ---------------------------------------------------------

  // The next free SQE, or nullptr when the SQ is full (then
  // wait_for_sq_space()). The entry is yours until the next submit; every
  // builder clears it, so no field from an earlier request survives.
  [[nodiscard]] Sqe* get_sqe() noexcept {
    const std::uint32_t tail = s_.sqe_tail;
    if (tail == s_.sq_tail_limit) [[unlikely]] {
      // Looks full: see how far the kernel (or the SQPOLL thread) has read.
      if (!refresh_sq_space()) return nullptr;
    }
    s_.sqe_tail = tail + 1;
    return reinterpret_cast<Sqe*>(s_.sqes + ((tail & s_.sq_mask) << s_.sqe_shift));
  }

  // SQEs handed out by get_sqe() and not yet consumed by the kernel.
  unsigned sq_pending() const { return s_.sqe_tail - barrier::load_relaxed(s_.sq_khead); }
  unsigned sq_space_left() const { return s_.sq_entries - sq_pending(); }

  // Publishes every SQE taken since the last submit with one store of the SQ
  // tail, then makes at most one io_uring_enter (none when there is nothing
  // to submit or reap). Returns the number of SQEs submitted, or -errno:
  //   -EAGAIN  the kernel could not allocate a request: reap, submit again;
  //   -EBUSY   (5.x kernels without FEAT_NODROP) the CQ overflowed: reap first;
  //   -EINTR   a signal arrived while the kernel ran task work: submit again;
  //   -EBADR   completions were dropped (reported once; check cq_overflow());
  //   -EEXIST  a SINGLE_ISSUER ring used from a thread that did not create it;
  //   -EOWNERDEAD  the SQPOLL thread is gone;
  //   -EBADF / -EBADFD  the ring is closed / still R_DISABLED.
  // On an error nothing is lost: the SQEs stay queued for the next submit.
  // On an IOPOLL ring every submit also polls for completions (GETEVENTS).
  int submit() { return submit_and_wait(0); }

  // Same, in the same single io_uring_enter, and the kernel waits until at
  // least `wait_nr` CQEs are ready. The kernel's rules, not a loop: it also
  // returns early when a TIMEOUT request completes or a signal arrives (and
  // then still reports the submitted count), and when it stopped submitting
  // at an SQE that failed (rings without submit_all) it does not wait at all;
  // the rest stay queued for the next submit. For "at least wait_nr, or an
  // error", use submit_and_wait(wait_nr, WaitOptions{}).
  int submit_and_wait(unsigned wait_nr) {
    const std::uint32_t tail = s_.sqe_tail;
    barrier::store_release(s_.sq_ktail, tail);  // publish the whole batch at once
    if (s_.sqpoll) return submit_sqpoll(wait_nr);
    // Exactly the SQEs the kernel has not consumed. It must be exact: when
    // io_uring_enter submits fewer than to_submit it returns at once, without
    // waiting, flushing overflow or running DEFER_TASKRUN work. Without
    // SQPOLL only io_uring_enter moves the head, and only this (the one
    // submitting) thread enters with SQEs to submit, so a relaxed load is
    // current (see barrier.h).
    const unsigned to_submit = tail - barrier::load_relaxed(s_.sq_khead);
    unsigned flags = abi::IORING_ENTER_GETEVENTS;
    if (wait_nr == 0 && !cq_needs_flush()) {
      if (to_submit == 0) return 0;  // nothing to do: no system call
      flags = 0;
    }
    return enter(to_submit, wait_nr, flags, nullptr, 0);
  }

  // Submits, then waits as wait_cqes(wait_nr, options) does. Returns the SQEs
  // submitted once `wait_nr` CQEs are ready (or, as above, at once if the
  // kernel stopped at a failing SQE), or -errno: -ETIME, -EINTR, ... as
  // wait_cqes (the SQEs were submitted all the same: sq_pending() says what
  // is left). For a single thread, the one call to submit and wait with a
  // timeout: one io_uring_enter when the wait needs no more. With a sigmask
  // (options or registered entry) it submits in one enter and waits in the
  // next, because an enter that submits reports the count and never its
  // wait's -EINTR; without one, a signal during that first enter goes
  // unreported and the wait goes on.
  int submit_and_wait(unsigned wait_nr, const WaitOptions& options);

  // Makes room in a full SQ, for
  //   while (!(sqe = get_sqe()))
  //     if (int ret = wait_for_sq_space(); ret < 0) return ret;
  // Without SQPOLL it submits (the kernel consumes SQEs as it submits them).
  // With SQPOLL it publishes what was taken, wakes the poller if it sleeps,
  // and blocks until the poller has consumed at least one SQE. Returns 0 or
  // -errno (as submit()); check it: on a closed Ring get_sqe() stays
  // nullptr and this answers -EBADF at once, so a loop that drops the answer
  // never ends.
  [[nodiscard]] int wait_for_sq_space();

  // ---- Completion ---------------------------------------------------------

  // The oldest unreaped CQE, or nullptr. Stays valid until cqe_seen()/advance().
  [[nodiscard]] Cqe* peek_cqe() {
    std::uint32_t head = barrier::load_relaxed(s_.cq_khead);
    std::uint32_t tail = barrier::load_acquire(s_.cq_ktail);
    if (head == tail) {
      if (!cq_needs_flush()) return nullptr;
      flush_cq();  // overflowed CQEs or pending task work: let the kernel post them
      tail = barrier::load_acquire(s_.cq_ktail);
      if (head == tail) return nullptr;
    }
    Cqe* cqe = cqe_at(head);
    if (s_.cqe_mixed && (cqe->flags & abi::IORING_CQE_F_SKIP)) {
      // CQE_MIXED padding before a 32-byte CQE that would wrap: not a completion.
      barrier::store_release(s_.cq_khead, ++head);
      if (head == tail) return nullptr;
      cqe = cqe_at(head);
    }
    return cqe;
  }

  // Hands `slots` reaped CQ slots back to the kernel with one store of the CQ
  // head. A CQE is one slot, except a 32-byte CQE on a CQE_MIXED ring (two):
  // cqe_seen() counts that for you.
  void advance(unsigned slots) {
    barrier::store_release(s_.cq_khead, barrier::load_relaxed(s_.cq_khead) + slots);
  }
  void cqe_seen(const Cqe* cqe) { advance(slots_of(cqe)); }

  // Number of CQEs ready to reap now (no system call).
  unsigned cq_ready() const {
    return barrier::load_acquire(s_.cq_ktail) - barrier::load_relaxed(s_.cq_khead);
  }

  // Calls fn(const Cqe&) for every CQE ready now, then hands them all back
  // with one head store. Returns how many were seen. fn must not reap (the
  // CQEs are handed back for it); if it does, the head never moves back.
  template <class Fn>
  unsigned for_each_cqe(Fn&& fn) {
    std::uint32_t head = barrier::load_relaxed(s_.cq_khead);
    std::uint32_t tail = barrier::load_acquire(s_.cq_ktail);
    if (head == tail && cq_needs_flush()) {
      flush_cq();
      tail = barrier::load_acquire(s_.cq_ktail);
    }
    unsigned seen = tail - head;
    if (!s_.cqe_mixed) {
      for (std::uint32_t i = head; i != tail; ++i) fn(static_cast<const Cqe&>(*cqe_at(i)));
    } else {
      seen = 0;
      for (std::uint32_t i = head; i != tail;) {
        const Cqe* cqe = cqe_at(i);
        i += slots_of(cqe);
        if (cqe->flags & abi::IORING_CQE_F_SKIP) continue;
        fn(*cqe);
        ++seen;
      }
    }
    // Hand back [head, tail) — unless fn moved the head past tail itself:
    // storing tail then would move it back over CQEs already handed back.
    if (static_cast<std::int32_t>(tail - barrier::load_relaxed(s_.cq_khead)) > 0) {
      barrier::store_release(s_.cq_khead, tail);
    }
    return seen;
  }

  // Blocks until at least `count` CQEs are ready (they are not consumed).
  // It never submits: call submit() first, or submit_and_wait(count,
  // options); so a reaper thread can wait while another thread fills SQEs.
  // Returns 0, or -errno:
  //   -ETIME   options.timeout passed with fewer than `count` ready (those
  //            ready stay, to reap);
  //   -EINTR   a signal arrived while no CQE was ready (with some ready the
  //            kernel reports success, so the wait goes on for the rest);
  //   -EINVAL  count > cq_entries (it could never be met), or a bad
  //            registered_wait;
  //   -EOPNOTSUPP  the kernel lacks a requested wait feature, or min_wait on
  //            an IOPOLL ring (the kernel polls without a timer);
  //   -EBADR   completions were dropped (reported once);
  //   -EEXIST  a DEFER_TASKRUN ring waited on from another thread.
  // On a CQE_MIXED ring `count` is in CQ slots, as the kernel counts them (a
  // 32-byte CQE takes two). On an IOPOLL ring without SQPOLL the kernel polls
  // in io_uring_enter, only while the CQ is empty, so the wait returns once
  // one CQE is ready, whatever the count; its polling has no timer, so the
  // timeout is checked between polls (a poll with I/O in flight can run past
  // it), the sigmask is not applied, and with nothing in flight the wait
  // spins. Every wait enters the kernel at least once, even with a timeout
  // of 0: some completions are posted only there (DEFER_TASKRUN, overflow).
  int wait_cqes(unsigned count, const WaitOptions& options = {});

  // Waits for one CQE and returns it (not consumed), or nullptr with
  // *error = -errno as wait_cqes. *error is 0 whenever a CQE is returned.
  Cqe* wait_cqe(int* error = nullptr, const WaitOptions& options = {}) {
    for (;;) {
      if (Cqe* cqe = peek_cqe()) {
        if (error) *error = 0;
        return cqe;
      }
      // Ready slots can be CQE_MIXED padding that peek_cqe just skipped:
      // then nothing was handed out, and the wait goes on.
      const int ret = wait_cqes(1, options);
      if (ret < 0) {
        if (error) *error = ret;
        return nullptr;
      }
    }
  }

  // ---- Registration & state ----------------------------------------------

  // io_uring_register(2) on this ring: through its fd, or for a
  // registered_fd_only ring through its registered index
  // (IORING_REGISTER_USE_REGISTERED_RING, from the creating thread). Returns
  // the kernel's value or -errno. The typed calls are built on this.
  int register_raw(unsigned opcode, const void* arg, unsigned nr_args) const;

  // R_DISABLED rings: allow submissions (IORING_REGISTER_ENABLE_RINGS).
  Status enable();

  // IORING_REGISTER_RESIZE_RINGS (6.13): gives the SQ and CQ new sizes in
  // place and maps them again. Every CQE not yet reaped and every SQE taken
  // with get_sqe() but not yet submitted is kept (the SQEs are published to
  // the kernel first so it copies them; they are submitted by the next
  // submit). The kernel allows it only on DEFER_TASKRUN rings, and fails with
  // EOVERFLOW when the new sizes cannot hold what is pending. Pointers to
  // SQEs and CQEs taken before the call are invalid after it. The new rings
  // are mmap'd through the plain fd (NO_MMAP rings excepted): after
  // close_ring_fd() it fails with EBADF before the kernel sees it, and the
  // ring goes on unchanged; resize first.
  Status resize(const ResizeOptions& options);

  // IORING_REGISTER_MEM_REGION (6.13): memory the ring owns until close().
  // One region per ring. uring/register.h has the typed wait-region call.
  Result<std::span<unsigned char>> register_mem_region(const MemRegionOptions& options);
  // The registered wait entries (empty without a wait_args region); fill
  // them before waiting with WaitOptions::registered_wait.
  std::span<abi::io_uring_reg_wait> wait_region() const {
    return {s_.wait_entries, s_.wait_entry_count};
  }

  // The CQ ring's flags word (IORING_CQ_EVENTFD_DISABLED): false when the
  // kernel has none (before 5.8). Only this process writes it; the kernel
  // reads it when it posts (relaxed, see barrier.h).
  bool has_cq_flags() const { return s_.cq_kflags != nullptr; }
  std::uint32_t cq_flags() const { return s_.cq_kflags ? barrier::load_relaxed(s_.cq_kflags) : 0; }
  void set_cq_flags(std::uint32_t flags) {
    if (s_.cq_kflags) barrier::store_relaxed(s_.cq_kflags, flags);
  }

  int fd() const { return s_.ring_fd; }  // -1 for REGISTERED_FD_ONLY rings
  // The ring's index in the calling thread's registered ring fds: the index
  // from the thread that created the ring (a start_disabled single_issuer
  // ring: that enabled it), -1 from any other, or when the ring fd is not
  // registered.
  int registered_index() const {
    return s_.owner_token == detail::this_thread_token ? s_.registered_index : -1;
  }
  std::uint32_t features() const { return s_.features; }
  bool has_feature(std::uint32_t feature_bit) const { return (s_.features & feature_bit) == feature_bit; }
  std::uint32_t setup_flags() const { return s_.setup_flags; }
  unsigned sq_entries() const { return s_.sq_entries; }
  unsigned cq_entries() const { return s_.cq_entries; }
  // Where the kernel's words and entries are mapped, read-only, for a C view
  // of the ring (struct io_uring of uring/liburing). Pointers change only on
  // resize() and close().
  struct Mapping {
    std::uint32_t* sq_khead = nullptr;
    std::uint32_t* sq_ktail = nullptr;
    std::uint32_t* sq_kflags = nullptr;
    std::uint32_t* sq_kdropped = nullptr;
    std::uint32_t* sq_array = nullptr;  // null on NO_SQARRAY rings
    unsigned char* sqes = nullptr;
    std::uint32_t sq_mask = 0;
    std::uint32_t sq_entries = 0;
    std::uint32_t* cq_khead = nullptr;
    std::uint32_t* cq_ktail = nullptr;
    std::uint32_t* cq_kflags = nullptr;  // null before Linux 5.8
    std::uint32_t* cq_koverflow = nullptr;
    unsigned char* cqes = nullptr;
    std::uint32_t cq_mask = 0;
    std::uint32_t cq_entries = 0;
    void* sq_ring = nullptr;  // the SQ ring's mapping (with FEAT_SINGLE_MMAP the CQ ring's too)
    std::size_t sq_ring_bytes = 0;
    void* cq_ring = nullptr;  // == sq_ring with FEAT_SINGLE_MMAP or NO_MMAP
    std::size_t cq_ring_bytes = 0;
    std::size_t sqes_bytes = 0;
  };
  Mapping mapping() const;
  // The kernel's answer to io_uring_setup(2) for this ring (for adopt(): the
  // params given): sizes, flags, features, sq_thread_idle and every sq_off /
  // cq_off offset. After resize(), the new sizes and offsets (the kernel
  // reports sq_off.array as 0 there; this holds where the rings put it) with
  // setup's flags. Read-only, for programs that show the layout (tools/inspect).
  const abi::io_uring_params& params() const { return s_.params; }
  // The SQ tail of the SQEs handed out by get_sqe(), published or not.
  std::uint32_t sqe_tail() const { return s_.sqe_tail; }
  // Publishes the SQEs taken since the last submit (one store of the SQ
  // tail) without io_uring_enter, for callers who then enter themselves.
  // Returns the SQEs the kernel has not consumed yet.
  unsigned flush_sq() {
    if (s_.sqpoll) s_.sqpoll_published = s_.sqe_tail;
    return publish_sq_tail();
  }

  // Makes `fd`, another descriptor of this ring's file (a dup(2) of fd()),
  // the ring's plain fd: enter and register calls use it from then on, and
  // close() closes it. The fd it replaces is left open: it is the caller's
  // from then on (a caller who closed it already owes nothing). That `fd`
  // is this ring's is not checked. A registered index stays as it is. For
  // the liburing layer, whose programs may store a dup in struct io_uring's
  // ring_fd (liburing's queue_exit closes the stored fd). Returns 0, or
  // -EBADF for a negative fd or a closed ring (nothing changes then).
  int replace_fd(int fd);
  // Makes `sqe_tail` this Ring's tail of SQEs handed out, in place of its
  // own, for another holder of the same mapped rings that moved on — a
  // forked process whose copy of the Ring submitted (liburing programs keep
  // struct io_uring in memory shared across fork). The next get_sqe() hands
  // out the SQE at `sqe_tail`, submit() publishes everything before it, and
  // what was published already is read from the kernel's SQ tail. Returns
  // 0, or -EINVAL when `sqe_tail` is behind the kernel's SQ tail or more
  // than sq_entries() past its SQ head, -EBADF for a closed ring (nothing
  // changes then). Not for rings another thread submits on meanwhile.
  int resync_sqe_tail(std::uint32_t sqe_tail);

  // IORING_REGISTER_RING_FDS (5.18) now, from the calling thread, which
  // becomes the one that enters through the index (registered_index()).
  // Returns 1, or -errno: -EEXIST when the ring fd is registered already,
  // -EBADF for a closed ring, the kernel's error otherwise.
  int register_ring_fd();
  // IORING_UNREGISTER_RING_FDS: enter calls use the plain fd again. Returns
  // 1, or -errno: -EBADF for a closed ring, -EINVAL when the ring fd is not
  // registered, -EBADF from a thread other than the registering one, or when
  // the ring has no plain fd.
  int unregister_ring_fd();
  // Closes the plain ring fd and keeps only the registered index (as a
  // registered_fd_only ring): fd() is -1 from then on, and calls from other
  // threads than the registering one fail with -EBADF. Returns 1, or
  // -EBADF for a closed ring, -EINVAL when the ring fd is not registered,
  // -EBADF without a plain fd,
  // -EOPNOTSUPP without IORING_FEAT_REG_REG_RING (6.3: register calls
  // through the index). Without the fd, resize() can no longer map new
  // rings (unless the ring is NO_MMAP): it refuses with EBADF.
  int close_ring_fd();

  // CQEs the kernel had to drop (only without FEAT_NODROP) and SQEs it skipped as invalid.
  unsigned cq_overflow() const { return barrier::load_relaxed(s_.cq_koverflow); }
  unsigned sq_dropped() const { return barrier::load_relaxed(s_.sq_kdropped); }
  // SQPOLL: the poller went to sleep; the next submit() will wake it.
  bool sq_needs_wakeup() const {
    return (barrier::load_relaxed(s_.sq_kflags) & abi::IORING_SQ_NEED_WAKEUP) != 0;
  }
  // True when IORING_SQ_CQ_OVERFLOW says completions wait in the kernel's overflow list.
  bool cq_overflow_pending() const {
    return (barrier::load_relaxed(s_.sq_kflags) & abi::IORING_SQ_CQ_OVERFLOW) != 0;
  }

  // Low level: io_uring_enter on this ring: through the registered index
  // from the creating thread, else through the plain fd (-EBADF for a
  // registered_fd_only ring, which has none).
  int enter(unsigned to_submit, unsigned min_complete, unsigned flags, const void* arg,
            std::size_t argsz) {
    // owner_token: the creating thread's token when the ring fd is
    // registered; 0 when it is not, and then enter_fd is the plain fd anyway.
    if (s_.owner_token == detail::this_thread_token) [[likely]] {
      return sys::io_uring_enter(s_.enter_fd, to_submit, min_complete, flags | s_.enter_flags, arg, argsz);
    }
    return sys::io_uring_enter(s_.ring_fd, to_submit, min_complete, flags, arg, argsz);
  }

  void swap(Ring& other) noexcept {
    State tmp = s_;
    s_ = other.s_;
    other.s_ = tmp;
    point_dependents_at(this);  // each RingRef follows its ring's state
    other.point_dependents_at(&other);
  }

  // RingRefs linked to this ring (for tests and diagnostics).
  unsigned dependents() const {
    unsigned n = 0;
    for (const RingRef* ref = s_.dependents; ref; ref = ref->next_) ++n;
    return n;
  }
  // Whether a RingRef with this (non-zero) key is linked to this ring.
  bool has_dependent(std::uint64_t key) const {
    for (const RingRef* ref = s_.dependents; ref; ref = ref->next_) {
      if (ref->key_ == key) return true;
    }
    return false;
  }

 private:
  struct Region {
    void* address = nullptr;
    std::size_t bytes = 0;
    bool owned = false;  // munmap on close (false for caller memory)
  };

  // One struct so moves are a swap and an empty Ring is the default value.
  struct State {
    // Submission queue: kernel words, then our local copies.
    // (A Ring that is not open points them at detail::not_open_ring.)
    std::uint32_t* sq_khead = &detail::not_open_ring.sq_head_and_tail;
    std::uint32_t* sq_ktail = &detail::not_open_ring.sq_head_and_tail;
    std::uint32_t* sq_kflags = &detail::not_open_ring.zero;
    std::uint32_t* sq_kdropped = &detail::not_open_ring.zero;
    std::uint32_t* sq_array = nullptr;  // for mapping(); the submit path never reads it
    unsigned char* sqes = nullptr;
    std::uint32_t sq_mask = 0;
    std::uint32_t sq_entries = 0;
    std::uint32_t sqe_tail = 0;       // next SQE to hand out
    std::uint32_t sq_head_cache = 0;  // last sq_khead seen (refreshed when looking full)
    std::uint32_t sq_tail_limit = 0;  // sq_head_cache + sq_entries: the SQ is full at this tail
    unsigned sqe_shift = 6;           // log2 of the SQE size: 6, or 7 with SQE128
    bool sqpoll = false;
    std::uint32_t sqpoll_published = 0;  // SQPOLL: tail as of the last submit

    // Completion queue.
    std::uint32_t* cq_khead = &detail::not_open_ring.cq_head_and_tail;
    std::uint32_t* cq_ktail = &detail::not_open_ring.cq_head_and_tail;
    std::uint32_t* cq_kflags = nullptr;
    std::uint32_t* cq_koverflow = &detail::not_open_ring.zero;
    unsigned char* cqes = detail::not_open_ring.cqe;
    std::uint32_t cq_mask = 0;
    std::uint32_t cq_entries = 0;
    unsigned cqe_shift = 4;  // log2 of the CQE slot size: 4, or 5 with CQE32
    bool cqe_mixed = false;  // CQE_MIXED: a CQE with IORING_CQE_F_32 takes two slots

    // CQEs reach the CQ only through io_uring_enter(GETEVENTS) when a bit
    // of cq_enter_bits is set in *cq_enter_word: sq_flags (CQ_OVERFLOW;
    // TASKRUN, trusted only on TASKRUN_FLAG rings), or on IOPOLL rings
    // without SQPOLL a word with every bit set (they always enter to poll).
    const std::uint32_t* cq_enter_word = &detail::not_open_ring.every_bit;
    std::uint32_t cq_enter_bits = ~0u;

    // Which fd io_uring_enter gets from the creating thread, and
    // IORING_ENTER_REGISTERED_RING if it is an index.
    int enter_fd = -1;
    unsigned enter_flags = 0;
    int ring_fd = -1;
    int registered_index = -1;
    std::uint64_t owner_token = 0;  // detail::this_thread_token of the thread holding registered_index
    bool register_fd_at_enable = false;  // R_DISABLED + SINGLE_ISSUER: enable()'s thread registers it

    std::uint32_t setup_flags = 0;
    std::uint32_t features = 0;
    abi::io_uring_params params{};  // for params() only
    // getpid() of the process whose create() made the ring (0 for adopt()),
    // and the PID namespace that pid is in (pid_namespace_id(), 0 unknown):
    // the process its SQPOLL poller belongs to. A forked child's copy keeps
    // the parent's. Read only by describe_setup_error (attach_wq).
    int creator_pid = 0;
    std::uint64_t creator_pid_namespace = 0;

    Region rings;  // SQ and CQ rings (one region with FEAT_SINGLE_MMAP or NO_MMAP)
    Region cq_ring;  // separate CQ ring mapping on kernels without FEAT_SINGLE_MMAP
    Region sqe_array;
    Region param_region;  // IORING_REGISTER_MEM_REGION memory

    abi::io_uring_reg_wait* wait_entries = nullptr;  // param_region, when it holds wait args
    std::uint32_t wait_entry_count = 0;

    RingRef* dependents = nullptr;  // head of the RingRefs linked to this ring
  };

  void point_dependents_at(Ring* ring) noexcept {
    for (RingRef* ref = s_.dependents; ref; ref = ref->next_) ref->ring_ = ring;
  }

  // Maps (or, for NO_MMAP, points at `memory`) the rings `params` describes
  // and sets every ring pointer and size in `s`. Regions it maps are recorded
  // in `s` as owned, so whoever holds `s` unmaps them.
  static Status map_rings(State& s, int fd, const abi::io_uring_params& params, unsigned char* rings_memory,
                          unsigned char* sqes_memory);
  static void unmap_rings(State& s);
  // IORING_REGISTER_RING_FDS from the calling thread, which becomes the
  // owner. Returns 1 or the kernel's -errno.
  static int register_ring_fd(State& s);
  // What create() and adopt() set from the kernel's answer, before mapping.
  static void init_from_params(State& s, const abi::io_uring_params& params);
  // The wait loop of wait_cqes and submit_and_wait(n, options).
  int wait_loop(unsigned count, const WaitOptions& options, bool submit);

  unsigned slots_of(const Cqe* cqe) const {
    return 1u + static_cast<unsigned>(s_.cqe_mixed && (cqe->flags & abi::IORING_CQE_F_32));
  }

  Cqe* cqe_at(std::uint32_t index) const {
    return reinterpret_cast<Cqe*>(s_.cqes + ((index & s_.cq_mask) << s_.cqe_shift));
  }

  // Stores the SQ tail once for everything taken since the last publish
  // (storing an unchanged tail again is harmless and cheaper than a test).
  // Returns the SQEs the kernel has not consumed yet.
  unsigned publish_sq_tail() {
    const std::uint32_t tail = s_.sqe_tail;
    barrier::store_release(s_.sq_ktail, tail);
    return tail - barrier::load_relaxed(s_.sq_khead);
  }

  // Re-reads the SQ head after get_sqe() found the ring full by its cached
  // view. False if it really is full.
  bool refresh_sq_space() {
    s_.sq_head_cache = barrier::load_acquire(s_.sq_khead);
    s_.sq_tail_limit = s_.sq_head_cache + s_.sq_entries;
    return s_.sqe_tail != s_.sq_tail_limit;
  }

  // SQPOLL with SQEs pending: IORING_ENTER_SQ_WAKEUP if the poller sleeps
  // (checked after the full fence of barrier.h), else 0. 0 without SQPOLL.
  unsigned sqpoll_wakeup_flag(unsigned pending) const;

  // The SQPOLL half of submit_and_wait: enter only to wake the poller or to wait.
  int submit_sqpoll(unsigned wait_nr);

  // CQEs wait in the kernel's overflow list, or (TASKRUN_FLAG) task work must
  // run before completions appear, or the ring is IOPOLL: only an enter with
  // GETEVENTS posts them.
  bool cq_needs_flush() const {
    return (barrier::load_relaxed(s_.cq_enter_word) & s_.cq_enter_bits) != 0;
  }
  void flush_cq() { (void)enter(0, 0, abi::IORING_ENTER_GETEVENTS, nullptr, 0); }

  // IOPOLL without SQPOLL: completions are found by io_uring_enter(GETEVENTS)
  // polling (ctx->syscall_iopoll); with SQPOLL the poller thread polls.
  static bool polls_in_enter(const State& s) {
    return (s.setup_flags & (abi::IORING_SETUP_IOPOLL | abi::IORING_SETUP_SQPOLL)) == abi::IORING_SETUP_IOPOLL;
  }
  bool polls_in_enter() const { return polls_in_enter(s_); }

  friend class RingBuilder;
  friend class RingRef;
  friend Error describe_setup_error(int negative_errno, const RingOptions& options);  // reads creator_pid
  State s_;
};

}  // namespace uring
