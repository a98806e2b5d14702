// Typed io_uring_register(2) calls: eventfd, personalities, restrictions,
// synchronous cancel, NAPI busy polling, the wait clock, cloning buffers
// between rings, wait regions, MSG_RING without a ring, the capability
// query, and io-wq affinity and worker limits. Files and buffers are in
// uring/registered_files.h; resizing and memory regions are Ring methods
// (they remap), with thin wrappers here.
//
//   uring::register_eventfd(ring, efd);                       // eventfd per completion
//   auto old = uring::set_iowq_max_workers(ring, {.bounded = 4, .unbounded = 16});
//   auto sandbox = uring::Restrictions().allow_sqe_op(abi::IORING_OP_READ);
//   uring::register_restrictions(ring, sandbox);  ring.enable();
//
// Every call goes through Ring::register_raw, so it works on a ring known
// only by its registered index (IORING_REGISTER_USE_REGISTERED_RING). Every
// failure names the opcode; when the running kernel predates the opcode the
// message says which Linux release added it.
#pragma once

#include <sched.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "syscalls/abi.h"
#include "uring/result.h"
#include "uring/ring.h"
#include "uring/sqe.h"

namespace uring {

// ---- Names, versions, errors ---------------------------------------------

// "EVENTFD" for IORING_REGISTER_EVENTFD ("UNREGISTER_EVENTFD" for the
// unregister ones); nullptr for opcodes this library does not know.
const char* register_op_name(unsigned opcode);
// First Linux release with the opcode ("5.2"); nullptr if unknown.
const char* register_op_since(unsigned opcode);

// Empty when the running kernel has `opcode` as far as can be told, else a
// line such as "IORING_REGISTER_CLOCK needs Linux 6.12; this kernel is 6.1.0".
// Asks the kernel (IORING_REGISTER_QUERY, 6.18) where it can; otherwise
// words the answer from the release (used for messages and test skips only).
std::string register_op_missing(unsigned opcode);

// The Error for io_uring_register(`opcode`) returning `negative_errno`:
// "io_uring_register(CLOCK): Invalid argument (EINVAL): <hint>", or the
// missing-opcode line when that explains an EINVAL.
Error register_error(unsigned opcode, int negative_errno, const std::string& hint = {});

// ---- eventfd (5.2; EVENTFD_ASYNC 5.6; CQ_EVENTFD_DISABLED 5.8) ------------

enum class EventfdMode {
  every_completion,  // IORING_REGISTER_EVENTFD
  async_only,        // IORING_REGISTER_EVENTFD_ASYNC: only completions posted from io-wq workers
};

// The kernel adds to `eventfd` when it posts CQEs. One eventfd per ring
// (EBUSY for a second); the ring takes its own reference to it.
Status register_eventfd(Ring& ring, int eventfd, EventfdMode mode = EventfdMode::every_completion);
Status unregister_eventfd(Ring& ring);
// IORING_CQ_EVENTFD_DISABLED in the CQ ring's flags: stop (false) or resume
// (true) the notifications without unregistering. Not a system call.
Status set_eventfd_enabled(Ring& ring, bool enabled);
bool eventfd_enabled(const Ring& ring);

// ---- Personalities (5.6) ---------------------------------------------------

// Registers the calling thread's current credentials; returns the id to put
// in an SQE (Sqe::set_personality) so that request runs with them.
Result<std::uint16_t> register_personality(Ring& ring);
Status unregister_personality(Ring& ring, std::uint16_t id);

// A registered personality that unregisters itself. It holds its Ring through
// a RingRef: the Ring may move (it follows) or close first (then the kernel
// dropped the personality with the ring, and valid() is false).
class Personality {
 public:
  static Result<Personality> create(Ring& ring);
  Personality() = default;
  Personality(Personality&& other) noexcept : ring_(std::move(other.ring_)), id_(other.id_) {}
  Personality& operator=(Personality&& other) noexcept;
  Personality(const Personality&) = delete;
  Personality& operator=(const Personality&) = delete;
  ~Personality() { reset(); }

  std::uint16_t id() const { return id_; }
  bool valid() const { return ring_.get() != nullptr; }
  // Unregisters now (errors are ignored: the ring may be gone already).
  void reset();

 private:
  Personality(Ring& ring, std::uint16_t id) : ring_(ring), id_(id) {}
  RingRef ring_;
  std::uint16_t id_ = 0;
};

// ---- Restrictions (5.10) ---------------------------------------------------

// An allow-list for a ring set up with start_disabled = true. Once
// registered and the ring enabled, the kernel refuses everything else:
// an SQE opcode not allowed, or SQE flags outside allowed|required or
// missing a required one, completes with -EACCES; a register opcode not
// allowed fails with -EACCES.
//
//   RingOptions o; o.start_disabled = true;
//   auto ring = Ring::create(o);
//   register_restrictions(*ring, Restrictions()
//                                    .allow_sqe_op(abi::IORING_OP_READ)
//                                    .allow_sqe_flags(abi::IOSQE_FIXED_FILE));
//   ring->enable();  // now hand the ring over
class Restrictions {
 public:
  Restrictions& allow_register_op(unsigned opcode);
  Restrictions& allow_sqe_op(unsigned opcode);
  // SQE flags (IOSQE_*) a request may carry. Without a call, none.
  Restrictions& allow_sqe_flags(std::uint8_t flags);
  // SQE flags every request must carry.
  Restrictions& require_sqe_flags(std::uint8_t flags);

  // The rules as the kernel reads them.
  std::vector<abi::io_uring_restriction> rules() const;
  bool register_op_allowed(unsigned opcode) const;
  bool sqe_op_allowed(unsigned opcode) const;

 private:
  std::vector<std::uint8_t> register_ops_;
  std::vector<std::uint8_t> sqe_ops_;
  std::optional<std::uint8_t> flags_allowed_;
  std::optional<std::uint8_t> flags_required_;
  std::string invalid_;  // first rule that can never be valid
  friend Status register_restrictions(Ring& ring, const Restrictions& restrictions);
};

// IORING_REGISTER_RESTRICTIONS: once per ring, before ring.enable(). Always
// allows IORING_UNREGISTER_RING_FDS as well, which only removes the calling
// thread's own registered ring fds: without it ~Ring could not release the
// registered index of a restricted ring.
Status register_restrictions(Ring& ring, const Restrictions& restrictions);

// ---- Synchronous cancel (6.0) ---------------------------------------------

// Which requests to cancel. With nothing set, the one whose user_data is 0.
struct CancelMatch {
  std::optional<std::uint64_t> user_data = std::nullopt;  // IORING_ASYNC_CANCEL_USERDATA
  std::optional<File> file = std::nullopt;                // IORING_ASYNC_CANCEL_FD (FD_FIXED for a FixedFile)
  std::optional<std::uint8_t> opcode = std::nullopt;      // IORING_ASYNC_CANCEL_OP (6.6)
  bool any = false;                        // IORING_ASYNC_CANCEL_ANY: every request (no other match)
  bool all = false;                        // IORING_ASYNC_CANCEL_ALL: every match, not only the first
};

// IORING_REGISTER_SYNC_CANCEL: cancels the matching requests and waits (up
// to `timeout`; negative: no limit) for each one that is running in io-wq
// until it has finished. Each matched request has posted its CQE (usually
// -ECANCELED; a running one may end with its own result) when the call
// returns (one exception with `all`/`any`, below). On a DEFER_TASKRUN ring the kernel posts an io-wq request's CQE,
// and a cancelled poll's, from the ring's task work: the next peek_cqe,
// for_each_cqe or wait runs it (cq_ready() does not count it until then).
// The timeout is checked between every two kernel calls.
//
// Without `all`/`any`: one request; returns 1 when one was cancelled or
// waited for, 0 when none matched. A poll cancelled earlier whose task work
// has not run yet is still matched (the kernel keeps it in its cancel hash).
//
// With `all`/`any`: one single-match call (does anything match?), one call
// with the kernel's ALL/ANY (cancels every poll, timeout, futex and waitid
// wait and every queued io-wq request; a running io-wq request is only
// signalled), then single-match calls that wait for each request still
// running in io-wq (`any`: one match per opcode, IORING_ASYNC_CANCEL_OP,
// Linux 6.6; before it `any` is the kernel's ANY alone, which does not wait
// for running requests). A cancelled poll stays in the kernel's hash until
// its task work runs, and every fresh single-match call finds it again: on
// a DEFER_TASKRUN ring such an answer makes cancel_sync run the ring's task
// work (a wait for no CQE) and ask again, while the kernel says task work is
// left (IORING_SQ_TASKRUN) and the deadline allows; the calling thread's own polls leave the hash on the way
// back from each call. They stop at the next answer given without a wait,
// so a running io-wq request is not waited for only when a poll matched by
// the same criteria was armed by another thread that has not entered the
// kernel since (or, on SQPOLL, the poller has not run its task work yet).
// A timeout too large for the clock is no limit. On a SINGLE_ISSUER ring
// only the submitter thread may call it (EEXIST from any other). The count is a lower bound:
// 0 only when nothing matched, never more than the requests cancelled or
// waited for. It is the largest of 1, the kernel's ALL/ANY count (one per
// poll, timeout, futex or waitid batch; io-wq work once per thread, none
// when one of that thread's matched requests was running) and the number
// of running io-wq requests waited for.
// The kernel sees only requests it could cancel: queued or running in io-wq,
// armed polls, timeouts, futex and waitid waits. A read or write already
// handed to a device (a regular file or block device read without io-wq)
// is not matched, and completes on its own.
//
// Errors: ETIME when a matched request was still running as the timeout
// passed; EINTR when a signal interrupted the wait (call again). The
// message says how many were counted before.
Result<unsigned> cancel_sync(Ring& ring, const CancelMatch& match,
                             std::chrono::nanoseconds timeout = std::chrono::nanoseconds(-1));

// ---- NAPI busy polling (6.9) -----------------------------------------------

struct NapiSettings {
  std::chrono::microseconds busy_poll_timeout{0};
  bool prefer_busy_poll = false;
  // IO_URING_NAPI_TRACKING_DYNAMIC (ids learnt from the sockets used) or
  // _STATIC (add ids with napi_add_id), 6.13.
  abi::io_uring_napi_tracking_strategy tracking = abi::IO_URING_NAPI_TRACKING_DYNAMIC;
};

// Turns NAPI busy polling on for waits on this ring; returns the settings
// in force before. Works with no NAPI device at all (nothing gets polled).
// EINVAL on IOPOLL rings.
Result<NapiSettings> register_napi(Ring& ring, const NapiSettings& settings);
// Turns it off; returns the timeout and prefer flag that were in force
// (the kernel does not report the tracking: it comes back as _INACTIVE).
Result<NapiSettings> unregister_napi(Ring& ring);
// Static tracking: add or remove a NAPI id (see SO_INCOMING_NAPI_ID).
Status napi_add_id(Ring& ring, unsigned napi_id);
Status napi_remove_id(Ring& ring, unsigned napi_id);

// ---- Wait clock (6.12) -------------------------------------------------------

// The clock of wait timeouts: CLOCK_MONOTONIC (the default) or CLOCK_BOOTTIME.
Status register_clock(Ring& ring, clockid_t clock);

// ---- Cloning registered buffers (6.12) --------------------------------------

// The offsets and count need Linux 6.13; 6.12 clones all buffers only.
struct CloneBuffersOptions {
  unsigned src_offset = 0;  // first source buffer
  unsigned dst_offset = 0;  // first destination slot
  // 0: all of the source's buffers, into the same slots (then both offsets
  // must be 0: the kernel refuses an offset with count 0, and so does
  // clone_buffers, before the call). src_offset + count must stay inside
  // the source's table (EOVERFLOW), dst_offset + count at most 16384.
  unsigned count = 0;
  bool replace = false;     // IORING_REGISTER_DST_REPLACE: overwrite what `dst` has
  // Name `src` by its registered index (IORING_REGISTER_SRC_REGISTERED)
  // instead of its fd. Automatic for a ring without an fd; the index is
  // only valid in the thread that created `src`.
  bool by_registered_index = false;
};

// IORING_REGISTER_CLONE_BUFFERS: `dst` gets `src`'s registered buffers,
// sharing the same pinned pages (no new accounting).
Status clone_buffers(Ring& dst, const Ring& src, const CloneBuffersOptions& options = {});

// ---- Memory regions and registered waits (6.13) ---------------------------

// A region of `entries` io_uring_reg_wait slots for
// WaitOptions::registered_wait; the ring must still be disabled.
Result<std::span<abi::io_uring_reg_wait>> register_wait_region(Ring& ring, unsigned entries,
                                                               bool kernel_memory = false);
// Fills a wait entry: timeout (negative: none), min_wait and sigmask.
void set_wait_entry(abi::io_uring_reg_wait& entry, std::chrono::nanoseconds timeout,
                    std::chrono::microseconds min_wait = std::chrono::microseconds(0),
                    const sigset_t* sigmask = nullptr);

// Ring::resize, named like the other calls.
inline Status resize_rings(Ring& ring, const ResizeOptions& options) { return ring.resize(options); }

// ---- MSG_RING without a source ring (6.13) ----------------------------------

// IORING_REGISTER_SEND_MSG_RING: posts a CQE {user_data, result} (and,
// when `cqe_flags` is set, IORING_MSG_RING_FLAGS_PASS with those flags) in
// the ring `target_ring_fd`, from a thread that has no ring at all.
Status send_msg_ring(int target_ring_fd, std::uint64_t user_data, std::int32_t result,
                     std::optional<std::uint32_t> cqe_flags = std::nullopt);
inline Status send_msg_ring(const Ring& target, std::uint64_t user_data, std::int32_t result,
                            std::optional<std::uint32_t> cqe_flags = std::nullopt) {
  if (!target.valid()) return detail::ring_closed("send_msg_ring (the target)");
  return send_msg_ring(target.fd(), user_data, result, cqe_flags);
}

// ---- Capability query (6.18) -------------------------------------------------

// IORING_REGISTER_QUERY, IO_URING_QUERY_OPCODES: what the running kernel
// accepts. Needs no ring (`ring` null: fd -1); with a ring, through it.
Result<abi::io_uring_query_opcode> query_opcodes(const Ring* ring = nullptr);

// ---- Zero-copy receive queue (6.15) -------------------------------------------

// Memory and queue for IORING_REGISTER_ZCRX_IFQ. Both spans are the
// caller's, page-aligned, and must outlive the ring.
struct ZcrxQueueOptions {
  unsigned interface_index = 0;            // if_nametoindex(3) of the NIC
  unsigned rx_queue = 0;                   // a hardware RX queue, given to this ring alone
  unsigned refill_entries = 0;             // refill ring size (a power of two)
  std::span<unsigned char> area;           // where packets land
  std::span<unsigned char> refill_memory;  // at least zcrx_refill_bytes(refill_entries)
};

struct ZcrxQueue {
  std::uint32_t id = 0;                  // for prep_recv_zc (sqe->zcrx_ifq_idx)
  std::uint64_t area_token = 0;          // or-ed into refill entries' offsets
  abi::io_uring_zcrx_offsets offsets{};  // refill ring layout inside refill_memory
};

// Bytes of refill memory for `entries` refill entries, page-rounded.
std::size_t zcrx_refill_bytes(unsigned entries);

// Registers a zero-copy receive queue: the NIC writes packet data straight
// into `area`, and RECV_ZC completions point into it. Needs a DEFER_TASKRUN
// ring with CQE32 or CQE_MIXED, CAP_NET_ADMIN, and a NIC with header/data
// split and flow steering (loopback and most virtual NICs cannot).
Result<ZcrxQueue> register_zcrx_ifq(Ring& ring, const ZcrxQueueOptions& options);

// ---- io-wq (affinity 5.14, worker limits 5.15) ------------------------------

// Pins the io-wq workers of the calling thread (of the SQPOLL thread, for an
// SQPOLL ring) to `cpus`. Workers created after the call run there;
// existing ones keep their CPUs until they exit (after a few idle seconds).
// The thread must have an io-wq: it gets one when it first submits to a
// ring or registers a ring fd (Ring::create does, in the creating thread);
// from a thread without one the error says so.
//
// `cpus` is a set of `set_size` bytes, as CPU_ALLOC(n) / CPU_ALLOC_SIZE(n)
// make for machines with more CPUs than a cpu_set_t holds (1024). Refused
// before the call: a set that names no CPU, or a CPU this machine does not
// have (/sys/devices/system/cpu/possible): the kernel takes those without
// a word, and its workers then run on every CPU.
Status register_iowq_affinity(Ring& ring, const cpu_set_t* cpus, std::size_t set_size);
// The same for a plain cpu_set_t (CPUs 0..1023).
Status register_iowq_affinity(Ring& ring, const cpu_set_t& cpus);
// Lets the workers run on every CPU of the thread's cpuset again.
Status unregister_iowq_affinity(Ring& ring);

// Worker limits per io-wq; 0 leaves a limit as it is.
struct IowqMaxWorkers {
  unsigned bounded = 0;    // regular files and block devices
  unsigned unbounded = 0;  // everything else (sockets, pipes, ...)
};
// IORING_REGISTER_IOWQ_MAX_WORKERS: sets the limits of the calling thread's
// io-wq (the SQPOLL thread's for an SQPOLL ring) and returns the ones
// before. {0, 0} only reads them. The ring records the limits too: it sets
// them on the io-wq of every other thread that has used it, and of a thread
// whose first io_uring use is this ring. From a thread without an io-wq
// (see register_iowq_affinity) there are no limits to return: ENXIO, whose
// message says so (the limits were still recorded on the ring).
Result<IowqMaxWorkers> set_iowq_max_workers(Ring& ring, IowqMaxWorkers limits);

}  // namespace uring
