// The baseline: the smallest correct NOP loop written straight on syscalls/
// (no uring/), as a reader would hand-write it. `bench nop --setup raw` runs
// it beside the library so the two are measured in the same process and run.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstring>

#include "syscalls/abi.h"
#include "syscalls/syscalls.h"

namespace bench {

class RawRing {
 public:
  // Plain setup (flags 0), single mmap, identity SQ array. False on failure.
  bool init(unsigned entries) {
    using namespace uring::abi;
    io_uring_params p{};
    fd_ = uring::sys::io_uring_setup(entries, &p);
    if (fd_ < 0) return false;
    ring_bytes_ = p.sq_off.array + p.sq_entries * 4;
    const std::size_t cq_bytes = p.cq_off.cqes + p.cq_entries * sizeof(io_uring_cqe);
    if (cq_bytes > ring_bytes_) ring_bytes_ = cq_bytes;
    ring_ = static_cast<unsigned char*>(
        ::mmap(nullptr, ring_bytes_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd_, IORING_OFF_SQ_RING));
    sqes_bytes_ = p.sq_entries * sizeof(io_uring_sqe);
    sqes_ = static_cast<io_uring_sqe*>(
        ::mmap(nullptr, sqes_bytes_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd_, IORING_OFF_SQES));
    if (ring_ == MAP_FAILED || sqes_ == MAP_FAILED) return false;
    sq_tail_ = reinterpret_cast<std::uint32_t*>(ring_ + p.sq_off.tail);
    sq_mask_ = *reinterpret_cast<std::uint32_t*>(ring_ + p.sq_off.ring_mask);
    cq_head_ = reinterpret_cast<std::uint32_t*>(ring_ + p.cq_off.head);
    cq_tail_ = reinterpret_cast<std::uint32_t*>(ring_ + p.cq_off.tail);
    cq_mask_ = *reinterpret_cast<std::uint32_t*>(ring_ + p.cq_off.ring_mask);
    cqes_ = reinterpret_cast<io_uring_cqe*>(ring_ + p.cq_off.cqes);
    auto* array = reinterpret_cast<std::uint32_t*>(ring_ + p.sq_off.array);
    for (unsigned i = 0; i < p.sq_entries; ++i) array[i] = i;
    tail_ = *sq_tail_;
    return true;
  }

  ~RawRing() {
    if (sqes_ && sqes_ != MAP_FAILED) ::munmap(sqes_, sqes_bytes_);
    if (ring_ && ring_ != MAP_FAILED) ::munmap(ring_, ring_bytes_);
    if (fd_ >= 0) ::close(fd_);
  }

  // One batch: `batch` NOPs in, one enter, `batch` CQEs out. Returns the sum
  // of user_data seen (so the work cannot be optimised away), or -1.
  long long nop_batch(unsigned batch) {
    using namespace uring::abi;
    for (unsigned i = 0; i < batch; ++i) {
      io_uring_sqe* sqe = &sqes_[tail_ & sq_mask_];
      std::memset(sqe, 0, sizeof *sqe);
      sqe->opcode = IORING_OP_NOP;
      sqe->user_data = i;
      ++tail_;
    }
    std::atomic_ref<std::uint32_t>(*sq_tail_).store(tail_, std::memory_order_release);
    if (uring::sys::io_uring_enter(fd_, batch, batch, IORING_ENTER_GETEVENTS) < 0) return -1;
    std::uint32_t head = *cq_head_;
    const std::uint32_t tail = std::atomic_ref<std::uint32_t>(*cq_tail_).load(std::memory_order_acquire);
    long long sum = 0;
    for (; head != tail; ++head) sum += static_cast<long long>(cqes_[head & cq_mask_].user_data);
    std::atomic_ref<std::uint32_t>(*cq_head_).store(head, std::memory_order_release);
    return sum;
  }

 private:
  int fd_ = -1;
  unsigned char* ring_ = nullptr;
  std::size_t ring_bytes_ = 0;
  uring::abi::io_uring_sqe* sqes_ = nullptr;
  std::size_t sqes_bytes_ = 0;
  std::uint32_t* sq_tail_ = nullptr;
  std::uint32_t sq_mask_ = 0;
  std::uint32_t tail_ = 0;
  std::uint32_t* cq_head_ = nullptr;
  std::uint32_t* cq_tail_ = nullptr;
  std::uint32_t cq_mask_ = 0;
  uring::abi::io_uring_cqe* cqes_ = nullptr;
};

}  // namespace bench
