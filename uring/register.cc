#include "uring/register.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "syscalls/syscalls.h"
#include "uring/barrier.h"
#include "uring/prep_event.h"
#include "uring/probe.h"

namespace uring {
namespace {

struct RegisterOpInfo {
  const char* name;
  const char* since;
};

// Indexed by opcode; must stay in the order of abi::io_uring_register_op.
constexpr RegisterOpInfo kRegisterOps[] = {
    {"BUFFERS", "5.1"},
    {"UNREGISTER_BUFFERS", "5.1"},
    {"FILES", "5.1"},
    {"UNREGISTER_FILES", "5.1"},
    {"EVENTFD", "5.2"},
    {"UNREGISTER_EVENTFD", "5.2"},
    {"FILES_UPDATE", "5.5"},
    {"EVENTFD_ASYNC", "5.6"},
    {"PROBE", "5.6"},
    {"PERSONALITY", "5.6"},
    {"UNREGISTER_PERSONALITY", "5.6"},
    {"RESTRICTIONS", "5.10"},
    {"ENABLE_RINGS", "5.10"},
    {"FILES2", "5.13"},
    {"FILES_UPDATE2", "5.13"},
    {"BUFFERS2", "5.13"},
    {"BUFFERS_UPDATE", "5.13"},
    {"IOWQ_AFF", "5.14"},
    {"UNREGISTER_IOWQ_AFF", "5.14"},
    {"IOWQ_MAX_WORKERS", "5.15"},
    {"RING_FDS", "5.18"},
    {"UNREGISTER_RING_FDS", "5.18"},
    {"PBUF_RING", "5.19"},
    {"UNREGISTER_PBUF_RING", "5.19"},
    {"SYNC_CANCEL", "6.0"},
    {"FILE_ALLOC_RANGE", "6.0"},
    {"PBUF_STATUS", "6.8"},
    {"NAPI", "6.9"},
    {"UNREGISTER_NAPI", "6.9"},
    {"CLOCK", "6.12"},
    {"CLONE_BUFFERS", "6.12"},
    {"SEND_MSG_RING", "6.13"},
    {"ZCRX_IFQ", "6.15"},
    {"RESIZE_RINGS", "6.13"},
    {"MEM_REGION", "6.13"},
    {"QUERY", "6.18"},
};
static_assert(sizeof(kRegisterOps) / sizeof(kRegisterOps[0]) == abi::IORING_REGISTER_LAST,
              "one kRegisterOps row per register opcode");

std::string op_label(unsigned opcode) {
  const char* name = register_op_name(opcode);
  return name ? std::string(name) : "opcode " + std::to_string(opcode);
}

// The number of register opcodes the running kernel knows, from
// IORING_REGISTER_QUERY; 0 when the kernel cannot say (before 6.18).
unsigned kernel_register_op_count() {
  static const unsigned count = [] {
    abi::io_uring_query_opcode result{};
    abi::io_uring_query_hdr header{};
    header.query_data = reinterpret_cast<std::uintptr_t>(&result);
    header.query_op = abi::IO_URING_QUERY_OPCODES;
    header.size = sizeof result;
    if (sys::io_uring_register(-1, abi::IORING_REGISTER_QUERY, &header, 0) != 0 || header.result != 0) return 0u;
    return result.nr_register_opcodes;
  }();
  return count;
}

Status status_of(unsigned opcode, int ret, const std::string& hint = {}) {
  if (ret < 0) return register_error(opcode, ret, hint);
  return ok_status();
}

NapiSettings napi_settings_of(const abi::io_uring_napi& napi) {
  NapiSettings settings;
  settings.busy_poll_timeout = std::chrono::microseconds(napi.busy_poll_to);
  settings.prefer_busy_poll = napi.prefer_busy_poll != 0;
  settings.tracking = static_cast<abi::io_uring_napi_tracking_strategy>(napi.op_param);
  return settings;
}

Status napi_id_op(Ring& ring, abi::io_uring_napi_op op, unsigned napi_id) {
  if (!ring.valid()) return detail::ring_closed("napi_add_id / napi_remove_id");
  abi::io_uring_napi napi{};
  napi.opcode = op;
  napi.op_param = napi_id;
  const int ret = ring.register_raw(abi::IORING_REGISTER_NAPI, &napi, 1);
  return status_of(abi::IORING_REGISTER_NAPI, ret,
                   ret == -EINVAL ? "NAPI ids can be added or removed only with static tracking "
                                    "(register_napi with IO_URING_NAPI_TRACKING_STATIC, Linux 6.13), and "
                                    "only ids of live NAPI instances"
                                  : std::string());
}

}  // namespace

// ---- Names, versions, errors ------------------------------------------------

const char* register_op_name(unsigned opcode) {
  return opcode < abi::IORING_REGISTER_LAST ? kRegisterOps[opcode].name : nullptr;
}

const char* register_op_since(unsigned opcode) {
  return opcode < abi::IORING_REGISTER_LAST ? kRegisterOps[opcode].since : nullptr;
}

std::string register_op_missing(unsigned opcode) {
  const unsigned known = kernel_register_op_count();
  const char* since = register_op_since(opcode);
  const std::string label = "IORING_REGISTER_" + op_label(opcode);
  if (known > 0) {
    if (opcode < known) return {};
    return label + (since ? " needs Linux " + std::string(since) : " is unknown") + "; this kernel is " +
           kernel_release();
  }
  const int running = kernel_version_code();
  if (since && running > 0 && version_code(since) > running) {
    return label + " needs Linux " + since + "; this kernel is " + kernel_release();
  }
  return {};
}

Error register_error(unsigned opcode, int negative_errno, const std::string& hint) {
  std::string what = "io_uring_register(" + op_label(opcode) + ")";
  if (negative_errno == -EINVAL) {
    const std::string missing = register_op_missing(opcode);
    if (!missing.empty()) return Error{EINVAL, what + ": " + missing};
  }
  Error error = error_from_errno(negative_errno, what);
  if (!hint.empty()) error.message += ": " + hint;
  return error;
}

// ---- eventfd ----------------------------------------------------------------

Status register_eventfd(Ring& ring, int eventfd, EventfdMode mode) {
  if (!ring.valid()) return detail::ring_closed("register_eventfd");
  const unsigned opcode = mode == EventfdMode::async_only ? abi::IORING_REGISTER_EVENTFD_ASYNC
                                                          : abi::IORING_REGISTER_EVENTFD;
  const std::int32_t fd = eventfd;
  const int ret = ring.register_raw(opcode, &fd, 1);
  std::string hint;
  if (ret == -EBUSY) hint = "this ring already has an eventfd; unregister_eventfd first";
  if (ret == -EINVAL && register_op_missing(opcode).empty()) hint = "fd " + std::to_string(eventfd) + " is not an eventfd";
  if (ret == -EBADF) hint = "fd " + std::to_string(eventfd) + " is not an open file descriptor";
  return status_of(opcode, ret, hint);
}

Status unregister_eventfd(Ring& ring) {
  if (!ring.valid()) return detail::ring_closed("unregister_eventfd");
  const int ret = ring.register_raw(abi::IORING_UNREGISTER_EVENTFD, nullptr, 0);
  return status_of(abi::IORING_UNREGISTER_EVENTFD, ret,
                   ret == -ENXIO ? "no eventfd is registered with this ring" : std::string());
}

Status set_eventfd_enabled(Ring& ring, bool enabled) {
  if (!ring.valid()) return detail::ring_closed("set_eventfd_enabled");
  if (!ring.has_cq_flags()) {
    return Error{EOPNOTSUPP, "IORING_CQ_EVENTFD_DISABLED needs Linux 5.8 (the CQ ring has no flags word); "
                             "this kernel is " + kernel_release()};
  }
  const std::uint32_t flags = ring.cq_flags();
  ring.set_cq_flags(enabled ? (flags & ~abi::IORING_CQ_EVENTFD_DISABLED) : (flags | abi::IORING_CQ_EVENTFD_DISABLED));
  return ok_status();
}

bool eventfd_enabled(const Ring& ring) { return (ring.cq_flags() & abi::IORING_CQ_EVENTFD_DISABLED) == 0; }

// ---- Personalities ------------------------------------------------------------

Result<std::uint16_t> register_personality(Ring& ring) {
  if (!ring.valid()) return detail::ring_closed("register_personality");
  const int ret = ring.register_raw(abi::IORING_REGISTER_PERSONALITY, nullptr, 0);
  if (ret < 0) return register_error(abi::IORING_REGISTER_PERSONALITY, ret);
  return static_cast<std::uint16_t>(ret);
}

Status unregister_personality(Ring& ring, std::uint16_t id) {
  if (!ring.valid()) return detail::ring_closed("unregister_personality");
  const int ret = ring.register_raw(abi::IORING_UNREGISTER_PERSONALITY, nullptr, id);
  return status_of(abi::IORING_UNREGISTER_PERSONALITY, ret,
                   ret == -EINVAL ? "no personality " + std::to_string(id) + " is registered with this ring"
                                  : std::string());
}

Result<Personality> Personality::create(Ring& ring) {
  auto id = register_personality(ring);
  if (!id) return id.error();
  return Personality(ring, *id);
}

Personality& Personality::operator=(Personality&& other) noexcept {
  if (this != &other) {
    reset();
    ring_ = std::move(other.ring_);
    id_ = other.id_;
  }
  return *this;
}

void Personality::reset() {
  if (Ring* ring = ring_.get(); ring && ring->valid()) (void)unregister_personality(*ring, id_);
  ring_.reset();
}

// ---- Restrictions ---------------------------------------------------------------

Restrictions& Restrictions::allow_register_op(unsigned opcode) {
  if (opcode >= abi::IORING_REGISTER_LAST) {
    if (invalid_.empty()) invalid_ = "register opcode " + std::to_string(opcode) + " does not exist";
  } else if (!register_op_allowed(opcode)) {
    register_ops_.push_back(static_cast<std::uint8_t>(opcode));
  }
  return *this;
}

Restrictions& Restrictions::allow_sqe_op(unsigned opcode) {
  if (opcode >= abi::IORING_OP_LAST) {
    if (invalid_.empty()) invalid_ = "SQE opcode " + std::to_string(opcode) + " does not exist";
  } else if (!sqe_op_allowed(opcode)) {
    sqe_ops_.push_back(static_cast<std::uint8_t>(opcode));
  }
  return *this;
}

Restrictions& Restrictions::allow_sqe_flags(std::uint8_t flags) {
  flags_allowed_ = static_cast<std::uint8_t>(flags_allowed_.value_or(0) | flags);
  return *this;
}

Restrictions& Restrictions::require_sqe_flags(std::uint8_t flags) {
  flags_required_ = static_cast<std::uint8_t>(flags_required_.value_or(0) | flags);
  return *this;
}

bool Restrictions::register_op_allowed(unsigned opcode) const {
  return std::find(register_ops_.begin(), register_ops_.end(), opcode) != register_ops_.end();
}

bool Restrictions::sqe_op_allowed(unsigned opcode) const {
  return std::find(sqe_ops_.begin(), sqe_ops_.end(), opcode) != sqe_ops_.end();
}

std::vector<abi::io_uring_restriction> Restrictions::rules() const {
  std::vector<abi::io_uring_restriction> rules;
  for (std::uint8_t op : register_ops_) {
    abi::io_uring_restriction rule{};
    rule.opcode = abi::IORING_RESTRICTION_REGISTER_OP;
    rule.register_op = op;
    rules.push_back(rule);
  }
  for (std::uint8_t op : sqe_ops_) {
    abi::io_uring_restriction rule{};
    rule.opcode = abi::IORING_RESTRICTION_SQE_OP;
    rule.sqe_op = op;
    rules.push_back(rule);
  }
  if (flags_allowed_) {
    abi::io_uring_restriction rule{};
    rule.opcode = abi::IORING_RESTRICTION_SQE_FLAGS_ALLOWED;
    rule.sqe_flags = *flags_allowed_;
    rules.push_back(rule);
  }
  if (flags_required_) {
    abi::io_uring_restriction rule{};
    rule.opcode = abi::IORING_RESTRICTION_SQE_FLAGS_REQUIRED;
    rule.sqe_flags = *flags_required_;
    rules.push_back(rule);
  }
  return rules;
}

Status register_restrictions(Ring& ring, const Restrictions& restrictions) {
  if (!ring.valid()) return detail::ring_closed("register_restrictions");
  if (!restrictions.invalid_.empty()) {
    return Error{EINVAL, "register_restrictions: " + restrictions.invalid_};
  }
  Restrictions with_release = restrictions;
  with_release.allow_register_op(abi::IORING_UNREGISTER_RING_FDS);
  const std::vector<abi::io_uring_restriction> rules = with_release.rules();
  const int ret =
      ring.register_raw(abi::IORING_REGISTER_RESTRICTIONS, rules.data(), static_cast<unsigned>(rules.size()));
  std::string hint;
  if (ret == -EBADFD) {
    hint = "restrictions need a ring set up with start_disabled = true, registered before enable()";
  } else if (ret == -EBUSY) {
    hint = "this ring already has its restrictions (the kernel takes them once)";
  }
  return status_of(abi::IORING_REGISTER_RESTRICTIONS, ret, hint);
}

// ---- Synchronous cancel ----------------------------------------------------------

namespace {

// How long one IORING_REGISTER_SYNC_CANCEL may wait for a running request
// before cancel_sync asks again. The kernel's wait (io_sync_cancel) sleeps
// on the CQ's wait queue: on a DEFER_TASKRUN ring an io-wq completion is
// task work that wakes only a task waiting for CQEs, so that sleep lasts
// the whole timeout (tested in tests/register/sync_cancel_test.cc); and on
// any ring a worker posts its CQE before it lets go of the request, so a
// re-check can still see it running just after the wake-up. Asking again
// after a short wait sees the request gone either way.
constexpr std::chrono::milliseconds kCancelRecheck{10};

// Single-match IORING_REGISTER_SYNC_CANCEL calls (no ALL/ANY: only then
// does the kernel report a request running in io-wq, -EALREADY, and wait
// for it), each bounded by the deadline.
//
// A single-match call cannot tell a cancelled poll from a live one: the
// kernel flags the poll and leaves it in its cancel hash until the poll's
// task work runs (on DEFER_TASKRUN when the ring waits for CQEs, on SQPOLL
// in the poller thread, otherwise when the arming thread next enters the
// kernel), and each fresh call (a fresh cancel sequence) finds it again and
// answers 0. So a call that answered 0 without waiting is never repeated.
class SyncCanceller {
 public:
  SyncCanceller(Ring& ring, std::chrono::nanoseconds timeout) : ring_(ring) {
    const auto now = std::chrono::steady_clock::now();
    // A timeout past the clock's range is no limit (adding it would overflow).
    if (timeout.count() >= 0 && timeout < std::chrono::steady_clock::time_point::max() - now) {
      timed_ = true;
      deadline_ = now + std::chrono::duration_cast<std::chrono::steady_clock::duration>(timeout);
    }
  }

  // One call, waiting at most `wait` for a running request (a negative
  // wait: as long as the kernel likes).
  int call(abi::io_uring_sync_cancel_reg reg, std::chrono::nanoseconds wait) {
    if (wait.count() < 0) {
      reg.timeout.tv_sec = -1;
      reg.timeout.tv_nsec = -1;
    } else {
      reg.timeout.tv_sec = wait.count() / 1000000000;
      reg.timeout.tv_nsec = wait.count() % 1000000000;
    }
    return ring_.register_raw(abi::IORING_REGISTER_SYNC_CANCEL, &reg, 1);
  }

  // Cancels the first request matching `reg` (single match), or waits for
  // a running one until it has finished. 1 when one matched, 0 when none,
  // else -errno (-ETIME: still running at the deadline).
  int one(const abi::io_uring_sync_cancel_reg& reg) {
    const int ret = call(reg, std::chrono::nanoseconds(0));  // no wait: -ETIME means running
    if (ret == -ENOENT) return 0;
    if (ret >= 0) return 1;
    if (ret != -ETIME) return ret;
    return until_gone(reg);
  }

  // After the ALL/ANY pass: waits for each request matching `reg` that is
  // still running in io-wq, adding it to waited(). Stops at the first call
  // that finds nothing (-ENOENT) or answers without waiting (0: a
  // cancelled poll still in the hash, already counted, or a request
  // submitted since, not this call's). 0 or -errno.
  int running(const abi::io_uring_sync_cancel_reg& reg) {
    for (;;) {
      int ret = call(reg, std::chrono::nanoseconds(0));
      // An answer at once may be a cancelled poll still in the hash hiding a
      // running request: run the ring's task work and ask again, for as
      // long as the kernel says task work is left (it runs a few items per
      // enter) and the deadline allows.
      for (bool ran = false; ret >= 0 && (!ran || task_work_pending()) && !past_deadline() && run_task_work();
           ran = true) {
        ret = call(reg, std::chrono::nanoseconds(0));
      }
      if (ret == -ENOENT || ret >= 0) return 0;
      if (ret != -ETIME) return ret;
      const int gone = until_gone(reg);
      if (gone < 0) return gone;
      ++waited_;
    }
  }

  unsigned waited() const { return waited_; }

 private:
  // On a DEFER_TASKRUN ring, runs the ring's task work (a wait for no CQE),
  // which takes cancelled polls out of the kernel's cancel hash; true when
  // it ran. Other rings run it on the way back from every register call.
  bool run_task_work() {
    if ((ring_.setup_flags() & abi::IORING_SETUP_DEFER_TASKRUN) == 0) return false;
    return ring_.enter(0, 0, abi::IORING_ENTER_GETEVENTS, nullptr, 0) >= 0;
  }
  // IORING_SQ_TASKRUN: the kernel has task work queued for the ring (only
  // ever set on TASKRUN_FLAG rings, which every DEFER_TASKRUN Ring is).
  bool task_work_pending() const {
    return (barrier::load_relaxed(ring_.mapping().sq_kflags) & abi::IORING_SQ_TASKRUN) != 0;
  }
  bool past_deadline() const { return timed_ && std::chrono::steady_clock::now() >= deadline_; }

  // A request matching `reg` was running: asks again in short waits until
  // it is gone (1) or the deadline passed (-ETIME).
  int until_gone(const abi::io_uring_sync_cancel_reg& reg) {
    for (;;) {
      std::chrono::nanoseconds wait = kCancelRecheck;
      if (timed_) {
        const auto left = std::chrono::duration_cast<std::chrono::nanoseconds>(deadline_ - std::chrono::steady_clock::now());
        if (left.count() <= 0) return -ETIME;
        wait = std::min(wait, left);
      }
      const int ret = call(reg, wait);
      if (ret == -ETIME) continue;               // still running
      if (ret >= 0 || ret == -ENOENT) return 1;  // finished (after the wait the kernel answers 0)
      return ret;
    }
  }

  Ring& ring_;
  // A bool beside a plain time_point, not an optional: GCC 12 -O2 reads the
  // optional's value as maybe-uninitialized, which -Werror (CI's vendored
  // build, -c opt) turns into a build failure.
  bool timed_ = false;
  std::chrono::steady_clock::time_point deadline_{};
  unsigned waited_ = 0;
};

// The number of request opcodes the running kernel knows (IORING_REGISTER_QUERY,
// 6.18), else the ones this library knows.
unsigned kernel_request_op_count() {
  static const unsigned count = [] {
    auto known = query_opcodes(nullptr);
    const unsigned ours = abi::IORING_OP_LAST;
    return known && known->nr_request_opcodes > ours ? known->nr_request_opcodes : ours;
  }();
  return count;
}

}  // namespace

Result<unsigned> cancel_sync(Ring& ring, const CancelMatch& match, std::chrono::nanoseconds timeout) {
  if (!ring.valid()) return detail::ring_closed("cancel_sync");
  abi::io_uring_sync_cancel_reg reg{};
  if (match.any && (match.user_data || match.file || match.opcode)) {
    return Error{EINVAL, "cancel_sync: `any` matches every request; it cannot be combined with "
                         "user_data, file or opcode"};
  }
  if (match.user_data) {
    reg.addr = *match.user_data;
    reg.flags |= abi::IORING_ASYNC_CANCEL_USERDATA;
  }
  reg.fd = -1;
  if (match.file) {
    reg.fd = match.file->value();
    reg.flags |= abi::IORING_ASYNC_CANCEL_FD;
    if (match.file->fixed()) reg.flags |= abi::IORING_ASYNC_CANCEL_FD_FIXED;
  }
  if (match.opcode) {
    reg.opcode = *match.opcode;
    reg.flags |= abi::IORING_ASYNC_CANCEL_OP;
  }
  SyncCanceller canceller(ring, timeout);
  // How many requests this call is known to have cancelled or waited for.
  unsigned count = 0;
  int ret = 0;
  // Single-match forms of the request: `reg` itself, or for `any` one per
  // opcode (IORING_ASYNC_CANCEL_OP, 6.6; empty before it).
  std::vector<abi::io_uring_sync_cancel_reg> singles;
  if (!match.any) {
    singles.push_back(reg);
  } else {
    abi::io_uring_sync_cancel_reg probe{};
    probe.fd = -1;
    probe.flags = abi::IORING_ASYNC_CANCEL_OP;
    probe.opcode = abi::IORING_OP_NOP;
    if (canceller.call(probe, std::chrono::nanoseconds(0)) != -EINVAL) {
      const unsigned ops = kernel_request_op_count();
      for (unsigned op = 0; op < ops; ++op) {
        probe.opcode = static_cast<std::uint8_t>(op);
        singles.push_back(probe);
      }
    }
  }
  if (!match.all && !match.any) {
    ret = canceller.one(reg);
    if (ret >= 0) count = static_cast<unsigned>(ret);
  } else {
    // 1. Is there anything? One single-match call (per opcode for `any`,
    // until one matches): it cancels one request, or waits for a running
    // one. Nothing: 0, exactly.
    bool any_matched = singles.empty();  // no single form: the kernel's ANY decides
    for (const auto& single : singles) {
      ret = canceller.one(single);
      if (ret != 0) break;
    }
    if (ret > 0) {
      any_matched = true;
      ret = 0;
    }
    if (ret == 0 && any_matched) {
      // 2. The kernel's ALL/ANY, once: it cancels every queued io-wq
      // request, poll, timeout, futex and waitid wait in one call (each
      // poll once: within a call the kernel skips requests it has seen)
      // and signals the running io-wq requests, without waiting for them.
      abi::io_uring_sync_cancel_reg every = reg;
      if (match.any) {
        every = abi::io_uring_sync_cancel_reg{};
        every.fd = -1;
        every.flags = abi::IORING_ASYNC_CANCEL_ANY;
      } else {
        every.flags |= abi::IORING_ASYNC_CANCEL_ALL;
      }
      ret = canceller.call(every, std::chrono::nanoseconds(-1));
      unsigned kernel_count = 0;
      if (ret >= 0) {
        kernel_count = static_cast<unsigned>(ret);
        ret = 0;
      } else if (ret == -ENOENT) {
        ret = 0;
      }
      // 3. Waits for what still runs in io-wq.
      for (const auto& single : singles) {
        if (ret != 0) break;
        ret = canceller.running(single);
      }
      // The kernel counts io-wq work per thread, not per request (a
      // thread's queued batch once, nothing while one of them runs), and
      // a cancelled poll still in its hash again: the three numbers
      // overlap, so the count is the largest, never a sum.
      count = std::max({1u, kernel_count, canceller.waited()});
      if (singles.empty() && kernel_count == 0) count = 0;
    }
  }
  if (ret < 0) {
    std::string hint;
    const std::string so_far =
        count ? " (" + std::to_string(count) + " matched requests were cancelled before it, at least)"
              : std::string();
    if (ret == -ETIME) hint = "a matched request was still running when the timeout passed" + so_far;
    if (ret == -EINTR) hint = "a signal interrupted the wait for a running request" + so_far + "; call again";
    if (ret == -EBADF) hint = "the file to match on is not open (or not a registered file)";
    if (ret == -EEXIST) hint = "a SINGLE_ISSUER ring takes cancel_sync only from the thread that submits to it";
    return register_error(abi::IORING_REGISTER_SYNC_CANCEL, ret, hint);
  }
  return count;
}

// ---- NAPI -----------------------------------------------------------------------

Result<NapiSettings> register_napi(Ring& ring, const NapiSettings& settings) {
  if (!ring.valid()) return detail::ring_closed("register_napi");
  abi::io_uring_napi napi{};
  napi.busy_poll_to = static_cast<std::uint32_t>(settings.busy_poll_timeout.count());
  napi.prefer_busy_poll = settings.prefer_busy_poll ? 1 : 0;
  napi.opcode = abi::IO_URING_NAPI_REGISTER_OP;
  napi.op_param = settings.tracking;
  const int ret = ring.register_raw(abi::IORING_REGISTER_NAPI, &napi, 1);
  if (ret < 0) {
    std::string hint;
    if (ret == -EINVAL && (ring.setup_flags() & abi::IORING_SETUP_IOPOLL)) {
      hint = "NAPI busy polling does not apply to IOPOLL rings";
    } else if (ret == -EOPNOTSUPP) {
      hint = "this kernel is built without CONFIG_NET_RX_BUSY_POLL";
    }
    return register_error(abi::IORING_REGISTER_NAPI, ret, hint);
  }
  return napi_settings_of(napi);  // the kernel wrote back the settings before
}

Result<NapiSettings> unregister_napi(Ring& ring) {
  if (!ring.valid()) return detail::ring_closed("unregister_napi");
  abi::io_uring_napi napi{};
  const int ret = ring.register_raw(abi::IORING_UNREGISTER_NAPI, &napi, 1);
  if (ret < 0) {
    return register_error(abi::IORING_UNREGISTER_NAPI, ret,
                          ret == -EOPNOTSUPP ? "this kernel is built without CONFIG_NET_RX_BUSY_POLL"
                                             : std::string());
  }
  NapiSettings settings = napi_settings_of(napi);
  settings.tracking = abi::IO_URING_NAPI_TRACKING_INACTIVE;  // the kernel reports the other two only
  return settings;
}

Status napi_add_id(Ring& ring, unsigned napi_id) { return napi_id_op(ring, abi::IO_URING_NAPI_STATIC_ADD_ID, napi_id); }

Status napi_remove_id(Ring& ring, unsigned napi_id) {
  return napi_id_op(ring, abi::IO_URING_NAPI_STATIC_DEL_ID, napi_id);
}

// ---- Wait clock -------------------------------------------------------------------

Status register_clock(Ring& ring, clockid_t clock) {
  if (!ring.valid()) return detail::ring_closed("register_clock");
  abi::io_uring_clock_register reg{};
  reg.clockid = static_cast<std::uint32_t>(clock);
  const int ret = ring.register_raw(abi::IORING_REGISTER_CLOCK, &reg, 0);
  return status_of(abi::IORING_REGISTER_CLOCK, ret,
                   ret == -EINVAL ? "the wait clock must be CLOCK_MONOTONIC or CLOCK_BOOTTIME" : std::string());
}

// ---- Cloning buffers --------------------------------------------------------------

Status clone_buffers(Ring& dst, const Ring& src, const CloneBuffersOptions& options) {
  if (!dst.valid()) return detail::ring_closed("clone_buffers (the destination)");
  if (!src.valid()) return detail::ring_closed("clone_buffers (the source)");
  if (&dst == &src) return Error{ELOOP, "clone_buffers: source and destination are the same ring"};
  abi::io_uring_clone_buffers arg{};
  if (options.by_registered_index || src.fd() < 0) {
    if (src.registered_index() < 0) {
      return Error{EINVAL, "clone_buffers: the source ring has no registered index to name it by"};
    }
    arg.src_fd = static_cast<std::uint32_t>(src.registered_index());
    arg.flags |= abi::IORING_REGISTER_SRC_REGISTERED;
  } else {
    arg.src_fd = static_cast<std::uint32_t>(src.fd());
  }
  if (options.replace) arg.flags |= abi::IORING_REGISTER_DST_REPLACE;
  if (options.count == 0 && (options.src_offset || options.dst_offset)) {
    // The kernel takes count 0 as "all of the source's buffers", and refuses
    // it with an offset (EINVAL): it does not know where "all" would end.
    return Error{EINVAL, "clone_buffers: count 0 clones all of the source's buffers into the same slots, so the "
                         "kernel refuses it with an offset; with src_offset " + std::to_string(options.src_offset) +
                             " and dst_offset " + std::to_string(options.dst_offset) +
                             " give the number of buffers to clone"};
  }
  arg.src_off = options.src_offset;
  arg.dst_off = options.dst_offset;
  arg.nr = options.count;
  const int ret = dst.register_raw(abi::IORING_REGISTER_CLONE_BUFFERS, &arg, 1);
  const std::string range = "src_offset " + std::to_string(options.src_offset) + " + count " +
                            std::to_string(options.count);
  std::string hint;
  if (ret == -EBUSY) hint = "the destination ring already has registered buffers: pass replace = true";
  if (ret == -ENXIO) hint = "the source ring has no registered buffers";
  if (ret == -EEXIST) hint = "one of the rings is SINGLE_ISSUER and owned by another thread";
  if (ret == -EBADF) hint = "the source is not an open ring (a registered index is per thread)";
  if (ret == -EOVERFLOW) {
    hint = options.count > 0xffffffffu - options.dst_offset
               ? "dst_offset " + std::to_string(options.dst_offset) + " + count " + std::to_string(options.count) +
                     " overflows 32 bits"
               : range + " runs past the end of the source ring's buffer table";
  }
  if (ret == -EINVAL && register_op_missing(abi::IORING_REGISTER_CLONE_BUFFERS).empty()) {
    hint = "count " + std::to_string(options.count) + " is more than the source ring's buffers, or dst_offset + "
           "count is above 16384 (the most a table holds), or the rings' memory is accounted to different users "
           "or processes (offsets and count need Linux 6.13)";
  }
  return status_of(abi::IORING_REGISTER_CLONE_BUFFERS, ret, hint);
}

// ---- Wait regions ---------------------------------------------------------------------

Result<std::span<abi::io_uring_reg_wait>> register_wait_region(Ring& ring, unsigned entries, bool kernel_memory) {
  if (!ring.valid()) return detail::ring_closed("register_wait_region");
  if (entries == 0) return Error{EINVAL, "register_wait_region: entries must be at least 1"};
  MemRegionOptions options;
  options.bytes = std::size_t{entries} * sizeof(abi::io_uring_reg_wait);
  options.wait_args = true;
  options.kernel_memory = kernel_memory;
  auto region = ring.register_mem_region(options);
  if (!region) return region.error();
  return ring.wait_region();
}

void set_wait_entry(abi::io_uring_reg_wait& entry, std::chrono::nanoseconds timeout,
                    std::chrono::microseconds min_wait, const sigset_t* sigmask) {
  std::memset(&entry, 0, sizeof entry);
  if (timeout.count() >= 0) {
    entry.flags = abi::IORING_REG_WAIT_TS;
    entry.ts.tv_sec = timeout.count() / 1000000000;
    entry.ts.tv_nsec = timeout.count() % 1000000000;
  }
  entry.min_wait_usec = static_cast<std::uint32_t>(min_wait.count());
  if (sigmask) {
    entry.sigmask = reinterpret_cast<std::uintptr_t>(sigmask);
    entry.sigmask_sz = static_cast<std::uint32_t>(sys::kKernelSigsetSize);
  }
}

// ---- MSG_RING without a ring ------------------------------------------------------------

Status send_msg_ring(int target_ring_fd, std::uint64_t user_data, std::int32_t result,
                     std::optional<std::uint32_t> cqe_flags) {
  if (target_ring_fd < 0) {
    return Error{EBADF, "send_msg_ring: the target needs a ring fd (a registered_fd_only ring has none)"};
  }
  // The kernel reads the same SQE an IORING_OP_MSG_RING request carries.
  Sqe sqe;
  if (cqe_flags) {
    prep_msg_ring_cqe_flags(sqe, target_ring_fd, result, user_data, *cqe_flags);
  } else {
    prep_msg_ring(sqe, target_ring_fd, result, user_data);
  }
  const int ret = sys::io_uring_register(-1, abi::IORING_REGISTER_SEND_MSG_RING, &sqe, 1);
  std::string hint;
  if (ret == -EBADFD) hint = "fd " + std::to_string(target_ring_fd) + " is not a ring, or that ring is still disabled";
  if (ret == -EBADF) hint = "fd " + std::to_string(target_ring_fd) + " is not open";
  if (ret == -EOVERFLOW) hint = "the target ring's CQ is full";
  return status_of(abi::IORING_REGISTER_SEND_MSG_RING, ret, hint);
}

// ---- Query --------------------------------------------------------------------------------

Result<abi::io_uring_query_opcode> query_opcodes(const Ring* ring) {
  if (ring && !ring->valid()) return detail::ring_closed("query_opcodes");
  abi::io_uring_query_opcode result{};
  abi::io_uring_query_hdr header{};
  header.query_data = reinterpret_cast<std::uintptr_t>(&result);
  header.query_op = abi::IO_URING_QUERY_OPCODES;
  header.size = sizeof result;
  const int ret = ring ? ring->register_raw(abi::IORING_REGISTER_QUERY, &header, 0)
                       : sys::io_uring_register(-1, abi::IORING_REGISTER_QUERY, &header, 0);
  if (ret < 0) return register_error(abi::IORING_REGISTER_QUERY, ret);
  if (header.result < 0) {
    return error_from_errno(header.result, "io_uring_register(QUERY): IO_URING_QUERY_OPCODES");
  }
  return result;
}

// ---- Zero-copy receive queue ----------------------------------------------------------------

std::size_t zcrx_refill_bytes(unsigned entries) {
  // The kernel puts the head/tail pair first (a cache line at most), then
  // the entries; a page of slack covers the header.
  const std::size_t page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  const std::size_t bytes = page + std::size_t{entries} * sizeof(abi::io_uring_zcrx_rqe);
  return (bytes + page - 1) / page * page;
}

Result<ZcrxQueue> register_zcrx_ifq(Ring& ring, const ZcrxQueueOptions& options) {
  if (!ring.valid()) return detail::ring_closed("register_zcrx_ifq");
  const char* what = "register_zcrx_ifq: ";
  const std::uint32_t flags = ring.setup_flags();
  if (!(flags & abi::IORING_SETUP_DEFER_TASKRUN) ||
      !(flags & (abi::IORING_SETUP_CQE32 | abi::IORING_SETUP_CQE_MIXED))) {
    return Error{EINVAL, std::string(what) +
                             "the ring needs single_issuer, defer_taskrun and cqe32 (or cqe_mixed): "
                             "zero-copy completions are 32-byte CQEs posted by the submitting task"};
  }
  if (options.refill_entries == 0 || (options.refill_entries & (options.refill_entries - 1)) != 0) {
    return Error{EINVAL, std::string(what) + "refill_entries must be a power of two"};
  }
  if (options.area.empty() || options.refill_memory.size() < zcrx_refill_bytes(options.refill_entries)) {
    return Error{EINVAL, std::string(what) + "give an area and at least zcrx_refill_bytes(" +
                             std::to_string(options.refill_entries) + ") bytes of refill memory"};
  }
  abi::io_uring_zcrx_area_reg area{};
  area.addr = reinterpret_cast<std::uintptr_t>(options.area.data());
  area.len = options.area.size();
  abi::io_uring_region_desc region{};
  region.user_addr = reinterpret_cast<std::uintptr_t>(options.refill_memory.data());
  region.size = options.refill_memory.size();
  region.flags = abi::IORING_MEM_REGION_TYPE_USER;
  abi::io_uring_zcrx_ifq_reg reg{};
  reg.if_idx = options.interface_index;
  reg.if_rxq = options.rx_queue;
  reg.rq_entries = options.refill_entries;
  reg.area_ptr = reinterpret_cast<std::uintptr_t>(&area);
  reg.region_ptr = reinterpret_cast<std::uintptr_t>(&region);
  const int ret = ring.register_raw(abi::IORING_REGISTER_ZCRX_IFQ, &reg, 1);
  if (ret < 0) {
    std::string hint;
    if (ret == -EPERM) hint = "needs CAP_NET_ADMIN";
    if (ret == -ENODEV) hint = "no network interface with index " + std::to_string(options.interface_index);
    if (ret == -EOPNOTSUPP) {
      hint = "the kernel or this NIC's driver cannot do zero-copy receive (header/data split and a "
             "memory-provider RX queue are needed; loopback has neither)";
    }
    if (ret == -EINVAL) {
      hint = "the NIC refused RX queue " + std::to_string(options.rx_queue) +
             " (no such queue, no header/data split, or memory not page-aligned)";
    }
    return register_error(abi::IORING_REGISTER_ZCRX_IFQ, ret, hint);
  }
  ZcrxQueue queue;
  queue.id = reg.zcrx_id;
  queue.area_token = area.rq_area_token;
  queue.offsets = reg.offsets;
  return queue;
}

// ---- io-wq ----------------------------------------------------------------------------------

namespace {

// The CPUs that exist ("possible": /sys/devices/system/cpu/possible, a list
// such as "0-3,8-11"), one flag per CPU; empty when it cannot be read.
const std::vector<bool>& possible_cpus() {
  static const std::vector<bool> cpus = [] {
    std::vector<bool> flags;
    FILE* file = std::fopen("/sys/devices/system/cpu/possible", "r");
    if (file) {
      char list[4096] = {};
      const bool read = std::fgets(list, sizeof list, file) != nullptr;
      std::fclose(file);
      for (const char* cursor = list; read && *cursor && *cursor != '\n';) {
        char* end = nullptr;
        const unsigned long first = std::strtoul(cursor, &end, 10);
        if (end == cursor) return std::vector<bool>();
        unsigned long last = first;
        cursor = end;
        if (*cursor == '-') {
          last = std::strtoul(cursor + 1, &end, 10);
          if (end == cursor + 1) return std::vector<bool>();
          cursor = end;
        }
        if (last >= 65536 || last < first) return std::vector<bool>();
        if (flags.size() <= last) flags.resize(last + 1, false);
        for (unsigned long cpu = first; cpu <= last; ++cpu) flags[cpu] = true;
        if (*cursor == ',') ++cursor;
      }
    }
    if (flags.empty()) {
      const long configured = ::sysconf(_SC_NPROCESSORS_CONF);
      if (configured > 0) flags.assign(static_cast<std::size_t>(configured), true);
    }
    return flags;
  }();
  return cpus;
}

// "0-1" or "0-3,8-11": the possible CPUs, for messages.
std::string possible_cpus_text() {
  const std::vector<bool>& cpus = possible_cpus();
  std::string text;
  for (std::size_t cpu = 0; cpu < cpus.size();) {
    if (!cpus[cpu]) {
      ++cpu;
      continue;
    }
    std::size_t last = cpu;
    while (last + 1 < cpus.size() && cpus[last + 1]) ++last;
    if (!text.empty()) text += ",";
    text += std::to_string(cpu) + (last > cpu ? "-" + std::to_string(last) : std::string());
    cpu = last + 1;
  }
  return text;
}

// The limits of the io-wq the kernel picks for `ring` from this thread
// ({0, 0}: none), read without changing any (a {0, 0} request only reads).
Result<IowqMaxWorkers> read_iowq_limits(Ring& ring) {
  if (!ring.valid()) return detail::ring_closed("read_iowq_limits");
  std::uint32_t values[2] = {0, 0};
  const int ret = ring.register_raw(abi::IORING_REGISTER_IOWQ_MAX_WORKERS, values, 2);
  if (ret < 0) return register_error(abi::IORING_REGISTER_IOWQ_MAX_WORKERS, ret);
  return IowqMaxWorkers{values[abi::IO_WQ_BOUND], values[abi::IO_WQ_UNBOUND]};
}

// Whose io-wq a call on `ring` reaches, for messages.
std::string iowq_owner(const Ring& ring) {
  return (ring.setup_flags() & abi::IORING_SETUP_SQPOLL) ? "the ring's SQPOLL thread" : "the calling thread";
}

std::string no_iowq_reason(const Ring& ring) {
  if (ring.setup_flags() & abi::IORING_SETUP_SQPOLL) return "the ring's SQPOLL thread has no io-wq (it is not running)";
  return "the calling thread has no io-wq: a thread gets one when it first submits to a ring or "
         "registers a ring fd (as Ring::create does in its thread); io-wq workers belong to the thread that "
         "submits, so call this from that thread";
}

}  // namespace

Status register_iowq_affinity(Ring& ring, const cpu_set_t* cpus, std::size_t set_size) {
  if (!ring.valid()) return detail::ring_closed("register_iowq_affinity");
  const char* what = "register_iowq_affinity: ";
  if (cpus == nullptr || set_size == 0) return Error{EINVAL, std::string(what) + "no CPU set given"};
  if (set_size > 0xffffffffu) {
    return Error{EINVAL, std::string(what) + "a CPU set of " + std::to_string(set_size) + " bytes is too big"};
  }
  // glibc's CPU_*_S macros read whole longs; the kernel takes any length
  // (io_register_iowq_aff reads min(len, cpumask_size()) bytes). So the
  // checks read a copy padded with zeros to a whole number of longs, and
  // only `set_size` bytes of the caller's set are ever read.
  const std::size_t padded_size = (set_size + sizeof(long) - 1) / sizeof(long) * sizeof(long);
  std::vector<long> padded(padded_size / sizeof(long), 0);
  std::memcpy(padded.data(), cpus, set_size);
  const cpu_set_t* checked = reinterpret_cast<const cpu_set_t*>(padded.data());
  if (CPU_COUNT_S(padded_size, checked) == 0) {
    return Error{EINVAL, std::string(what) + "the CPU set names no CPU; name at least one the thread may run on"};
  }
  // The kernel takes a CPU that does not exist without a word (it reads only
  // its own mask size, and 6.18 checks nothing else); workers then run on
  // every CPU, as if the call had not been made.
  if (const std::vector<bool>& possible = possible_cpus(); !possible.empty()) {
    for (std::size_t cpu = 0; cpu < set_size * 8; ++cpu) {
      if (CPU_ISSET_S(cpu, padded_size, checked) && (cpu >= possible.size() || !possible[cpu])) {
        return Error{EINVAL, std::string(what) + "CPU " + std::to_string(cpu) + " does not exist (this machine's CPUs: " +
                                 possible_cpus_text() + ")"};
      }
    }
  }
  const int ret = ring.register_raw(abi::IORING_REGISTER_IOWQ_AFF, cpus, static_cast<unsigned>(set_size));
  if (ret == -EINVAL && register_op_missing(abi::IORING_REGISTER_IOWQ_AFF).empty()) {
    // No io-wq (io_wq_cpu_affinity), or, on kernels that check it, CPUs
    // outside the thread's cpuset. Reading the worker limits tells them apart.
    auto limits = read_iowq_limits(ring);
    if (limits && limits->bounded == 0) return register_error(abi::IORING_REGISTER_IOWQ_AFF, ret, no_iowq_reason(ring));
    return register_error(abi::IORING_REGISTER_IOWQ_AFF, ret,
                          "the kernel refused the CPU set: it must be a subset of the CPUs " + iowq_owner(ring) +
                              "'s cpuset allows");
  }
  return status_of(abi::IORING_REGISTER_IOWQ_AFF, ret);
}

Status register_iowq_affinity(Ring& ring, const cpu_set_t& cpus) {
  return register_iowq_affinity(ring, &cpus, sizeof cpus);
}

Status unregister_iowq_affinity(Ring& ring) {
  if (!ring.valid()) return detail::ring_closed("unregister_iowq_affinity");
  const int ret = ring.register_raw(abi::IORING_UNREGISTER_IOWQ_AFF, nullptr, 0);
  if (ret == -EINVAL && register_op_missing(abi::IORING_UNREGISTER_IOWQ_AFF).empty()) {
    return register_error(abi::IORING_UNREGISTER_IOWQ_AFF, ret, no_iowq_reason(ring));
  }
  return status_of(abi::IORING_UNREGISTER_IOWQ_AFF, ret);
}

Result<IowqMaxWorkers> set_iowq_max_workers(Ring& ring, IowqMaxWorkers limits) {
  if (!ring.valid()) return detail::ring_closed("set_iowq_max_workers");
  std::uint32_t values[2] = {limits.bounded, limits.unbounded};
  const int ret = ring.register_raw(abi::IORING_REGISTER_IOWQ_MAX_WORKERS, values, 2);
  if (ret < 0) {
    return register_error(abi::IORING_REGISTER_IOWQ_MAX_WORKERS, ret,
                          ret == -EINVAL && register_op_missing(abi::IORING_REGISTER_IOWQ_MAX_WORKERS).empty()
                              ? "a limit above 2147483647"
                              : std::string());
  }
  const IowqMaxWorkers before{values[abi::IO_WQ_BOUND], values[abi::IO_WQ_UNBOUND]};
  if (before.bounded == 0) {
    // An io-wq always allows at least one bounded worker: {0, 0} is the
    // kernel's answer for "no io-wq", not a limit.
    std::string kept = limits.bounded || limits.unbounded
                           ? "; the ring still recorded the new limits: it applies them to the io-wq of the threads "
                             "that use it, and of a thread whose first io_uring use is this ring"
                           : std::string();
    return Error{ENXIO, "io_uring_register(IOWQ_MAX_WORKERS): " + no_iowq_reason(ring) +
                            ", so there are no limits to report" + kept};
  }
  return before;
}

}  // namespace uring
