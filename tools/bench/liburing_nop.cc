// The NOP loop of tools/bench on liburing (Debian's liburing-dev, 2.3): the
// same work as uring's loop in bench.cc, written the way liburing's
// documentation says to, so `bench nop --setup liburing,plain` compares the
// two libraries in one process, interleaved. Built only by the manual target
// //tools/bench:bench_liburing (tools/bench/run_all.sh); nothing depends on it.
#include <liburing.h>

#include <cstring>

#include "tools/bench/bench.h"

namespace bench {
namespace {

// One batch: `batch` NOPs, one io_uring_submit_and_wait, reap all of them.
// Returns the sum of user_data seen, or -1.
long long nop_batch(io_uring* ring, unsigned batch) {
  for (unsigned i = 0; i < batch; ++i) {
    io_uring_sqe* sqe = io_uring_get_sqe(ring);
    if (sqe == nullptr) {  // SQPOLL: the poller may not have moved the SQ head past the last batch yet
      if (io_uring_sqring_wait(ring) < 0) return -1;
      sqe = io_uring_get_sqe(ring);
    }
    if (sqe == nullptr) return -1;
    io_uring_prep_nop(sqe);
    io_uring_sqe_set_data64(sqe, i);
  }
  if (io_uring_submit_and_wait(ring, batch) < 0) return -1;
  long long sum = 0;
  unsigned seen = 0;
  while (seen < batch) {  // SQPOLL may post the batch in pieces
    unsigned head;
    unsigned now = 0;
    io_uring_cqe* cqe;
    io_uring_for_each_cqe(ring, head, cqe) {
      sum += static_cast<long long>(cqe->user_data);
      ++now;
    }
    io_uring_cq_advance(ring, now);
    seen += now;
    if (seen < batch && io_uring_wait_cqe(ring, &cqe) < 0) return -1;
  }
  return sum;
}

}  // namespace

const char* liburing_setups() { return "liburing,liburing-regfd,liburing-defer,liburing-sqpoll"; }

bool liburing_nop(const std::string& setup, unsigned batch, unsigned long long ops, unsigned entries, Sample* sample) {
  io_uring_params params;
  std::memset(&params, 0, sizeof params);
  bool register_fd = false;
  if (setup == "liburing") {
  } else if (setup == "liburing-regfd") {
    register_fd = true;
  } else if (setup == "liburing-defer") {
    params.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
  } else if (setup == "liburing-sqpoll") {
    params.flags = IORING_SETUP_SQPOLL;
    params.sq_thread_idle = 1000;
  } else {
    return false;
  }
  io_uring ring;
  if (int rc = io_uring_queue_init_params(entries, &ring, &params); rc < 0) {
    *sample = failed(std::string("io_uring_queue_init_params: ") + std::strerror(-rc));
    return true;
  }
  if (register_fd && io_uring_register_ring_fd(&ring) != 1) {
    io_uring_queue_exit(&ring);
    *sample = failed("io_uring_register_ring_fd failed");
    return true;
  }
  long long expected = 0;
  for (unsigned i = 0; i < batch; ++i) expected += i;
  const unsigned long long rounds = ops / batch;
  const Timer timer;
  for (unsigned long long r = 0; r < rounds; ++r) {
    if (nop_batch(&ring, batch) != expected) {
      io_uring_queue_exit(&ring);
      *sample = failed("a batch came back incomplete");
      return true;
    }
  }
  *sample = timer.stop(static_cast<double>(rounds * batch));
  io_uring_queue_exit(&ring);
  return true;
}

}  // namespace bench
