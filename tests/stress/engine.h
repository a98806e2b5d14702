// Exactly-once stress: a seeded random load over uring::Ring and an oracle
// that knows, for every request it submitted, which CQEs must come.
//
// Design
// ------
// * The load is a list of Ops, generated up front from the seed
//   (generate()): each Op is a kind (NOP, a file or pipe round trip, a
//   chain with a failing member, a timeout form, a cancel form, a poll, a
//   MSG_RING, a multishot receive, a zero-copy send, ...), a few flag bits
//   (IOSQE_ASYNC / IOSQE_CQE_SKIP_SUCCESS / IOSQE_IO_DRAIN asked for at
//   random), a "starts a new round" bit and a 64-bit parameter from which
//   the op draws everything else (sizes, bytes, delays). An op never reads
//   the generator, so removing ops from the list (shrinking) leaves every
//   other op exactly as it was.
// * run() executes a list in rounds. A round is up to kMaxUnitsPerRound
//   consecutive ops (broken where an op says so, and around ops that need
//   the ring to themselves, such as ASYNC_CANCEL_ANY). Each op of a round
//   becomes a Unit that queues its requests, may queue more when its CQEs
//   come (a multishot poll's removal after the writes that trigger it, a
//   receive re-armed after -ENOBUFS) and checks its data at the end (bytes
//   read back, bytes left in its pipe, bytes that reached the socket peer).
//   A round ends when every request of it has its final CQE; everything it
//   used (file region, pipe, buffers, timespecs) is then free again, so a
//   CQE that comes later for one of its requests is a duplicate.
// * The oracle (class Engine, dispatch()) holds one Request per user_data
//   and checks every CQE against it: an unknown user_data, a second final
//   CQE, a result outside the set the kernel may give for that request, a
//   F_MORE on a single-shot request, a missing notification, and at the end
//   of a round (deadline) any request still without its final CQE. Where
//   the kernel may legitimately answer one of several results, the set is
//   written down next to the request with the reason (io_uring/*.c).
// * Flags at random, within the kernel's rules (each rule was found by a
//   failing run and is explained where it is applied in engine.cc):
//   IOSQE_ASYNC on requests whose order does not matter; IOSQE_IO_DRAIN in
//   the first half of the list only (never with CQE_SKIP_SUCCESS, which
//   disables drain for the ring), only on ops whose first SQE completes by
//   itself, only in rounds without follow-ups, cancels, removals or SEND_ZC,
//   never on SQPOLL rings, and followed by the engine's own NOPs that clear
//   the kernel's lingering drain_active; CQE_SKIP_SUCCESS only on requests
//   that must succeed and run inline (the oracle then wants no CQE at all).
// * Resources are bounded: one temp file cut into one region per unit,
//   a small pool of pipes, one socketpair with a buffer ring, one TCP pair
//   for SEND_ZC, every timeout at most one second (only the ones that are
//   removed or updated are that long; the rest are microseconds).
// * On a failure run() returns the op index and a message (request, CQE,
//   seed); shrink() then re-runs shorter prefixes and lists with ops
//   removed (delta debugging) and returns the smallest list that still fails.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace stress {

enum class Variant : std::uint8_t {
  plain,              // default ring
  sqpoll,             // IORING_SETUP_SQPOLL
  defer_taskrun,      // SINGLE_ISSUER | DEFER_TASKRUN
  cqe32,              // 32-byte CQEs (and NOP's CQE32 form)
  no_sqarray,         // IORING_SETUP_NO_SQARRAY
  tiny_cq,            // SQ 8, CQ 8: the CQ overflows all the time
  registered_thread,  // ring made here, its fd registered and used by a second thread
  reaper_thread,      // one thread submits, another reaps
  sqpoll_reaper,      // SQPOLL, and a reaper thread apart from the submitter
};
inline bool is_sqpoll(Variant v) { return v == Variant::sqpoll || v == Variant::sqpoll_reaper; }
inline bool has_reaper(Variant v) { return v == Variant::reaper_thread || v == Variant::sqpoll_reaper; }
inline constexpr Variant kAllVariants[] = {Variant::plain,         Variant::sqpoll,     Variant::defer_taskrun,
                                           Variant::cqe32,         Variant::no_sqarray, Variant::tiny_cq,
                                           Variant::registered_thread, Variant::reaper_thread, Variant::sqpoll_reaper};
const char* variant_name(Variant variant);
bool parse_variant(const std::string& name, Variant* variant);
// The IORING_SETUP_* flags the variant's main ring asks for.
std::uint32_t variant_setup_flags(Variant variant);
// "" when a ring of the variant can be set up here, else why not (for the
// binary; the test decides from tests/support/kernel_features.h).
std::string variant_unsupported(Variant variant);

// What the kernel has, decided before the run (never from a request's error).
struct Caps {
  bool nop_inject = false;      // IORING_NOP_INJECT_RESULT (6.10)
  bool nop_cqe32 = false;       // IORING_NOP_CQE32 (6.18)
  bool msg_ring = false;        // IORING_OP_MSG_RING (5.18)
  bool cancel_fd_any = false;   // IORING_ASYNC_CANCEL_FD / ANY (5.19)
  bool poll_multishot = false;  // IORING_POLL_ADD_MULTI (5.13)
  bool timeout_update = false;  // IORING_TIMEOUT_UPDATE (5.11)
  bool recv_multishot = false;  // multishot RECV (6.0) through a buffer ring (5.19)
  bool send_zc = false;         // IORING_OP_SEND_ZC (6.0)
  bool msg_ring_pass = false;   // IORING_MSG_RING_FLAGS_PASS (6.3)
  bool timeout_multishot = false;  // IORING_TIMEOUT_MULTISHOT (6.4)
  bool link_timeout_update = false;  // IORING_LINK_TIMEOUT_UPDATE (5.15)
  bool fixed = false;           // registered files and buffers (always: 5.1)
  std::string missing;          // what is off and why, for the log
};
// From the probe, the feature bits and IORING_REGISTER_QUERY, as
// tests/support/kernel_features.h decides (for the binary, which has no
// doctest): a release's features count only when the kernel proves it.
Caps detect_caps();

enum class OpKind : std::uint8_t {
  nop,
  nop_inject,
  nop_cqe32,
  file_rw,        // WRITE then linked READ of the same region, compared
  file_rwv,       // WRITEV then linked READV
  file_fixed,     // WRITE_FIXED / READ_FIXED through a fixed file and a registered buffer
  pipe_rw,        // READ on a pipe, then the WRITE that feeds it
  pipe_fixed,     // the same through fixed files
  chain_link,     // NOPs linked, a failing member in the middle: the rest -ECANCELED
  chain_hardlink, // the same hard-linked: the rest run
  timeout_rel,
  timeout_abs,
  timeout_count,
  timeout_remove,
  timeout_update,
  link_timeout_fire,    // a pipe READ nobody feeds, linked to a LINK_TIMEOUT
  link_timeout_cancel,  // a NOP linked to a long LINK_TIMEOUT
  cancel_user_data,
  cancel_fd,
  cancel_any,  // alone in its round
  poll_single,
  poll_multi,
  msg_ring,
  recv_multishot,
  send_zc,
  timeout_multishot,    // IORING_TIMEOUT_MULTISHOT: n CQEs, all -ETIME, F_MORE on all but the last
  link_timeout_update,  // a pipe READ linked to a 1 s LINK_TIMEOUT, re-armed short by IORING_LINK_TIMEOUT_UPDATE
  poll_update,          // a multishot poll whose user_data POLL_REMOVE's update changes, then woken and removed
  count_,
};
const char* op_kind_name(OpKind kind);

struct Op {
  std::uint32_t index = 0;  // position in the generated list (kept by shrinking)
  OpKind kind = OpKind::nop;
  std::uint8_t flags = 0;   // kFlag* below
  std::uint64_t param = 0;  // everything else the op draws
};
inline constexpr std::uint8_t kFlagNewRound = 1;
inline constexpr std::uint8_t kFlagAsync = 2;
inline constexpr std::uint8_t kFlagSkipSuccess = 4;
inline constexpr std::uint8_t kFlagDrain = 8;
inline constexpr unsigned kMaxUnitsPerRound = 16;

std::string describe(const Op& op);

// `count` ops from `seed`, only of kinds this kernel and variant can run.
// Ops in the first half may ask for IOSQE_IO_DRAIN, ops in the second half
// for IOSQE_CQE_SKIP_SUCCESS: the kernel refuses DRAIN for good on a ring
// once it has seen CQE_SKIP_SUCCESS (io_uring.c, io_init_req sets
// ctx->drain_disabled), so the two never mix within one ring's life.
std::vector<Op> generate(std::uint64_t seed, std::size_t count, Variant variant, const Caps& caps);

// The list-level rules every list given to run() keeps, in one place
// (generate() applies them to what it draws; the fuzz target
// tests/fuzz/stress_ops_fuzz.cc to what it decodes): kinds this kernel or
// variant cannot run become NOPs (kind_available: Caps, NOP CQE32 only on
// the cqe32 variant), kinds out of range too; only the kFlag* bits stay;
// IOSQE_IO_DRAIN only in the first half of the list and never on SQPOLL
// rings, IOSQE_CQE_SKIP_SUCCESS only in the second half (so no drain ever
// follows a CQE_SKIP_SUCCESS on one ring); Op::index becomes the position.
// The per-round rules (which kinds may drain, ASYNC never with a silent
// success, CANCEL_ANY alone in its round, ...) are run()'s, decided as it
// runs, so any list sanitize() returns is one run() can execute.
void sanitize(std::vector<Op>& ops, Variant variant, const Caps& caps);
// Whether the kernel (`caps`) and `variant` can run ops of `kind`.
bool kind_available(OpKind kind, Variant variant, const Caps& caps);

// Test hooks that break the reap path on purpose, to prove the oracle
// notices (tests/stress/stress_test.cc "the oracle catches ...").
struct Faults {
  std::uint64_t drop_cqe = 0;       // ignore the Nth CQE reaped (1-based; 0: none)
  std::uint64_t duplicate_cqe = 0;  // dispatch the Nth CQE twice
  std::uint32_t misexpect_op = 0;   // Op::index + 1 whose first request the oracle expects -12345 of
  // Break the ring's own state after round N (1-based; 0: never), to prove
  // the ring-state check notices (tests/stress/stress_test.cc "the ring-state
  // check catches ..."):
  std::uint64_t stray_cqe_round = 0;       // a NOP of nobody's, its CQE left in the CQ unreaped
  std::uint64_t unpublished_sqe_round = 0;  // an SQE taken from get_sqe() and never submitted
};

struct RunOptions {
  Variant variant = Variant::plain;
  Caps caps;
  std::uint64_t seed = 0;  // printed in failures; the ops carry their own parameters
  Faults faults;
  std::string temp_dir = "/tmp";
  unsigned round_deadline_ms = 5000;  // a request without its final CQE by then is lost
};

// After every round (all its requests have their final CQE, every CQE was
// reaped) run() also checks the rings' own state, through uring::Ring's
// public view (mapping(), sqe_tail(), sq_pending(), cq_ready(), ...), on
// the main ring and on the MSG_RING target ring:
//   - SQ: every SQE handed out was published (the kernel's SQ tail is the
//     Ring's sqe_tail()) and consumed (the kernel's SQ head is its tail;
//     SQPOLL: within the round deadline), tail - head never above the SQ
//     size, sq_pending() 0 and sq_space_left() the whole SQ, no SQE dropped
//     as invalid (sq_dropped() 0);
//   - CQ: empty (cq_ready() 0, the kernel's CQ head is its tail), nothing
//     left in the kernel's overflow list (IORING_SQ_CQ_OVERFLOW clear), no
//     CQE lost (cq_overflow() 0), and the CQ tail moved on since the last
//     check by exactly the CQEs the engine reaped from that ring;
//   - the buffer group: every buffer back with the kernel, none parked;
//   - reaper variants: nothing the reaper took is still waiting for the oracle.
// A failure says "ring state after the round: ..." with the numbers.

struct Stats {
  std::uint64_t requests = 0;  // requests submitted (each with its own user_data)
  std::uint64_t cqes = 0;      // CQEs checked, both rings
  std::uint64_t rounds = 0;
  std::uint64_t overflow_rounds = 0;  // rounds in which the kernel held CQEs in its overflow list
  std::uint64_t rearms = 0;           // receives armed again (-ENOBUFS, ended on data), POLL_REMOVEs asked again (-EALREADY)
  std::uint64_t silent = 0;           // CQE_SKIP_SUCCESS requests that posted nothing
  std::uint64_t parked = 0;           // BufferGroup::on_multishot_end answered parked (re-armed anyway)
  double seconds = 0;
};

struct RunResult {
  bool failed = false;
  bool setup_failed = false;     // the ring or a resource could not be made (message says why)
  std::uint32_t op_index = 0;    // Op::index of the op whose request failed
  std::string message;           // what, with the request and the CQE
  Stats stats;
};

RunResult run(const RunOptions& options, const std::vector<Op>& ops);

// Re-runs shorter lists (the prefix up to the failing op, then with chunks
// removed, delta-debugging style) while they still fail the same way, within `budget`
// re-runs (and `time_limit_seconds`); returns the smallest failing list found (at least `ops` cut
// after the failing op if that still fails, else `ops` itself). `log` gets
// one line per step.
std::vector<Op> shrink(const RunOptions& options, const std::vector<Op>& ops, const RunResult& failure,
                       unsigned budget, const std::function<void(const std::string&)>& log,
                       double time_limit_seconds = 0);  // 0: no limit but the budget

// The seed, the failure and the shrunk op list, as printed on a failure.
std::string failure_report(const RunOptions& options, const RunResult& failure, const std::vector<Op>& shrunk);

}  // namespace stress
