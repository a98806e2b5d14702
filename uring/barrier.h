// Every ordering rule between this process and the kernel on the shared ring
// memory lives here. Each helper names the kernel access it pairs with; the
// ring code calls these and nothing else (no volatile, no other fences).
//
//   access                          order     pairs with (kernel side)
//   read CQ tail                    acquire   smp_store_release of cq.tail after
//                                             writing the CQE (io_commit_cqring)
//   write CQ head                   release   smp_load_acquire of cq.head before
//                                             the kernel overwrites a CQE slot
//   write SQ tail                   release   smp_load_acquire of sq.tail before
//                                             the kernel reads the new SQEs
//   read SQ head before reusing     acquire   smp_store_release of sq.head after
//   SQE slots (get_sqe)                       the kernel finished reading SQEs
//   read SQ head to count pending   relaxed   only decides to_submit / sq_pending;
//   SQEs                                      without SQPOLL only the submitter's
//                                             own io_uring_enter moves it
//   SQPOLL: SQ tail store, then     full      the poller's smp_mb() between setting
//   read of NEED_WAKEUP             fence     NEED_WAKEUP and re-checking the tail
//   read sq_flags (CQ_OVERFLOW,     relaxed   only decides whether io_uring_enter
//   TASKRUN, NEED_WAKEUP)                     is needed; the syscall orders the rest
//   write cq_flags                  relaxed   read by the kernel when it posts
//                                             (EVENTFD_DISABLED is advisory)
//   write a buffer ring's tail      release   smp_load_acquire of br->tail when the
//                                             kernel picks a provided buffer
#pragma once

#include <atomic>
#include <cstdint>

namespace uring::barrier {

// Kernel -> us: a counter the kernel advanced after writing the data it covers
// (CQ tail, SQ head). Everything the kernel wrote before its store-release is
// visible after this.
inline std::uint32_t load_acquire(const std::uint32_t* word) {
  return std::atomic_ref<std::uint32_t>(*const_cast<std::uint32_t*>(word))
      .load(std::memory_order_acquire);
}

// Us -> kernel: publish a counter (SQ tail, CQ head, buffer-ring tail) after
// the data it covers. Everything we wrote before is visible to the kernel's
// load-acquire of the same word.
inline void store_release(std::uint32_t* word, std::uint32_t value) {
  std::atomic_ref<std::uint32_t>(*word).store(value, std::memory_order_release);
}

// Same, for the 16-bit tail of a provided-buffer ring (io_uring_buf_ring).
inline void store_release(std::uint16_t* word, std::uint16_t value) {
  std::atomic_ref<std::uint16_t>(*word).store(value, std::memory_order_release);
}

// A word whose value only decides whether to make a system call (sq_flags,
// cq_flags, our own published counters); the system call itself orders the rest.
inline std::uint32_t load_relaxed(const std::uint32_t* word) {
  return std::atomic_ref<std::uint32_t>(*const_cast<std::uint32_t*>(word))
      .load(std::memory_order_relaxed);
}

inline void store_relaxed(std::uint32_t* word, std::uint32_t value) {
  std::atomic_ref<std::uint32_t>(*word).store(value, std::memory_order_relaxed);
}

// SQPOLL only: between our store of the SQ tail and our read of
// IORING_SQ_NEED_WAKEUP. The poller does the mirror image (sets NEED_WAKEUP,
// full barrier, re-reads the tail before sleeping). Without a full fence on
// both sides, the store can sit in our store buffer while we read a stale
// "awake" flag, and the poller can go to sleep without seeing our tail: the
// SQEs then wait forever (liburing #219/#541, tokio #197). A release store
// does not prevent this store->load reordering; only a full fence does.
inline void full_fence() { std::atomic_thread_fence(std::memory_order_seq_cst); }

}  // namespace uring::barrier
