// Shared by the tests of tests/register: rings reached by fd or only by
// their registered index, one-CQE round trips, and kernel-thread counts.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/kernel_features.h"
#include "tests/support/test_support.h"
#include "uring/uring.h"

namespace uring::testing {

// How register calls reach the ring: its fd, or only its registered index
// (a registered_fd_only ring: every io_uring_register carries
// IORING_REGISTER_USE_REGISTERED_RING).
enum class Via { fd, registered_index };
inline constexpr Via kBothWays[] = {Via::fd, Via::registered_index};
inline const char* via_name(Via via) { return via == Via::fd ? "fd" : "registered index"; }

// A ring reached `via`; `options` adds what the test needs.
Ring make_ring(Via via, RingOptions options = {});

// The CQE's fields, copied before the slot goes back to the kernel.

// Submits a NOP tagged `tag` (through io-wq when `async`) and checks that it
// comes back with result 0.
void nop_round_trip(Ring& ring, std::uint64_t tag, bool async = false);

// io-wq workers are named iou-wrk-<id of the thread they serve>, the id as
// the outermost pid namespace sees it: inside a sandbox's pid namespace it
// is not gettid(), and cannot be learnt. So tests tell workers apart by
// owner without knowing which owner is which: a snapshot of the owners
// present at construction, then the workers of owners that appeared since
// (a fresh thread is such an owner).
class WorkerWatch {
 public:
  WorkerWatch();
  // Per new owner ("iou-wrk-<id>"), how many workers it has now.
  std::map<std::string, int> new_owners() const;
  // All workers of new owners.
  int count() const;
  // The task directories (/proc/self/task/<n>) of those workers.
  std::vector<std::string> task_dirs() const;

 private:
  std::set<std::string> before_;
};

// What an SQPOLL ring needs, decided before any is set up: the setup flags
// (`extra` adds more, ATTACH_WQ say), and before Linux 5.11 (no
// IORING_FEAT_SQPOLL_NONFIXED) CAP_SYS_ADMIN. "" when all is there.
std::string missing_sqpoll(std::uint32_t extra_setup_flags = 0);

// NAPI busy polling exists only in kernels built with CONFIG_NET_RX_BUSY_POLL;
// without it IORING_REGISTER_NAPI is a stub that answers -EOPNOTSUPP. The
// same option gates the socket option SO_BUSY_POLL (net/core/sock.c), so a
// getsockopt of it on a fresh AF_UNIX socket (-ENOPROTOOPT without the
// option) tells, without touching io_uring. "" when the kernel has it.
std::string missing_busy_poll();

// Threads of this process whose name starts with `prefix` (iou-sqp-,
// iou-wrk-, ...), from /proc/self/task/*/comm.
int count_threads(const std::string& prefix);

// Runs `body` on a new thread and joins it. A failed REQUIRE there (an
// exception) is carried over and rethrown here, so it fails the test case
// instead of terminating the process.
void run_in_thread(const std::function<void()>& body);

}  // namespace uring::testing
