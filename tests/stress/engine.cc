// The stress engine and its oracle; the design is at the top of engine.h.
#include "tests/stress/engine.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "uring/buffer_group.h"
#include "uring/prep.h"
#include "uring/probe.h"
#include "uring/register.h"
#include "uring/registered_files.h"
#include "uring/ring.h"

namespace stress {

namespace abi = uring::abi;

// ---- Names -------------------------------------------------------------------

const char* variant_name(Variant variant) {
  switch (variant) {
    case Variant::plain: return "plain";
    case Variant::sqpoll: return "sqpoll";
    case Variant::defer_taskrun: return "defer_taskrun";
    case Variant::cqe32: return "cqe32";
    case Variant::no_sqarray: return "no_sqarray";
    case Variant::tiny_cq: return "tiny_cq";
    case Variant::registered_thread: return "registered_thread";
    case Variant::reaper_thread: return "reaper_thread";
    case Variant::sqpoll_reaper: return "sqpoll_reaper";
  }
  return "?";
}

bool parse_variant(const std::string& name, Variant* variant) {
  for (Variant v : kAllVariants) {
    if (name == variant_name(v)) {
      *variant = v;
      return true;
    }
  }
  return false;
}

namespace {

uring::RingOptions ring_options(Variant variant) {
  uring::RingOptions o{.entries = 32};
  switch (variant) {
    case Variant::plain: break;
    case Variant::sqpoll:
    case Variant::sqpoll_reaper:
      o.sqpoll = true;
      o.sqpoll_idle_ms = 20;
      break;
    case Variant::defer_taskrun:
      o.single_issuer = true;
      o.defer_taskrun = true;
      break;
    case Variant::cqe32: o.cqe32 = true; break;
    case Variant::no_sqarray: o.no_sqarray = true; break;
    case Variant::tiny_cq:
      o.entries = 8;
      o.cq_entries = 8;
      break;
    case Variant::registered_thread: o.register_ring_fd = false; break;  // the worker registers it
    case Variant::reaper_thread: break;
  }
  return o;
}

}  // namespace

std::uint32_t variant_setup_flags(Variant variant) { return ring_options(variant).setup_flags(); }

std::string variant_unsupported(Variant variant) {
  uring::RingOptions o = ring_options(variant);
  o.register_ring_fd = false;
  auto ring = uring::Ring::create(o);
  return ring ? std::string() : ring.error().message;
}

const char* op_kind_name(OpKind kind) {
  static constexpr const char* names[] = {
      "nop",           "nop_inject",      "nop_cqe32",     "file_rw",           "file_rwv",
      "file_fixed",    "pipe_rw",         "pipe_fixed",    "chain_link",        "chain_hardlink",
      "timeout_rel",   "timeout_abs",     "timeout_count", "timeout_remove",    "timeout_update",
      "link_timeout_fire", "link_timeout_cancel", "cancel_user_data", "cancel_fd", "cancel_any",
      "poll_single",   "poll_multi",      "msg_ring",      "recv_multishot",    "send_zc",
      "timeout_multishot", "link_timeout_update", "poll_update"};
  static_assert(sizeof names / sizeof names[0] == static_cast<std::size_t>(OpKind::count_));
  const auto i = static_cast<std::size_t>(kind);
  return i < sizeof names / sizeof names[0] ? names[i] : "?";
}

std::string describe(const Op& op) {
  char line[160];
  std::snprintf(line, sizeof line, "#%u %s%s%s%s%s param=0x%016llx", op.index, op_kind_name(op.kind),
                (op.flags & kFlagNewRound) ? " new-round" : "", (op.flags & kFlagAsync) ? " async" : "",
                (op.flags & kFlagSkipSuccess) ? " skip-success" : "", (op.flags & kFlagDrain) ? " drain" : "",
                static_cast<unsigned long long>(op.param));
  return line;
}

// ---- Capabilities ----------------------------------------------------------------

Caps detect_caps() {
  Caps caps;
  auto probe = uring::Probe::query();
  if (!probe) {
    caps.missing = "no probe: " + probe.error().message;
    return caps;
  }
  // The newest release the kernel proves it includes, from the opcodes it
  // supports and from IORING_REGISTER_QUERY (6.18) — the rule of
  // tests/support/kernel_features.h, for the flags no interface reports.
  int proven = uring::version_code("5.1");
  for (unsigned op = 0; op < abi::kNamedOps; ++op) {
    if (probe->supports(op) && abi::op_since(op)) proven = std::max(proven, uring::version_code(abi::op_since(op)));
  }
  if (auto query = uring::query_opcodes(); query && query->nr_register_opcodes > 0) {
    if (const char* since = uring::register_op_since(abi::IORING_REGISTER_QUERY)) {
      proven = std::max(proven, uring::version_code(since));
    }
    if (const char* since = uring::register_op_since(query->nr_register_opcodes - 1)) {
      proven = std::max(proven, uring::version_code(since));
    }
  }
  auto has = [&](const char* since) { return proven >= uring::version_code(since); };
  caps.nop_inject = has("6.10");
  caps.nop_cqe32 = has("6.18");
  caps.msg_ring = probe->supports(abi::IORING_OP_MSG_RING);
  caps.cancel_fd_any = has("5.19");
  caps.poll_multishot = has("5.13");
  caps.timeout_update = has("5.11");
  caps.recv_multishot = has("6.0");
  caps.send_zc = probe->supports(abi::IORING_OP_SEND_ZC);
  caps.msg_ring_pass = caps.msg_ring && has("6.3");
  caps.timeout_multishot = has("6.4");
  caps.link_timeout_update = has("5.15");
  caps.fixed = true;
  if (!caps.nop_inject) caps.missing += "NOP inject-result needs 6.10; ";
  if (!caps.nop_cqe32) caps.missing += "NOP CQE32 needs 6.18; ";
  if (!caps.send_zc) caps.missing += "SEND_ZC needs 6.0; ";
  return caps;
}

// ---- Generation ---------------------------------------------------------------------

namespace {

// SplitMix64: small, fast, and every seed gives a full-period stream.
struct Prng {
  std::uint64_t state;
  explicit Prng(std::uint64_t seed) : state(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  std::uint64_t below(std::uint64_t n) { return n ? next() % n : 0; }
  bool one_in(std::uint64_t n) { return below(n) == 0; }
};

}  // namespace

bool kind_available(OpKind kind, Variant variant, const Caps& caps) {
  switch (kind) {
    case OpKind::nop_inject: return caps.nop_inject;
    case OpKind::nop_cqe32: return caps.nop_cqe32 && variant == Variant::cqe32;
    case OpKind::file_fixed:
    case OpKind::pipe_fixed: return caps.fixed;
    case OpKind::timeout_update: return caps.timeout_update;
    case OpKind::cancel_fd:
    case OpKind::cancel_any: return caps.cancel_fd_any;
    case OpKind::poll_multi:
    case OpKind::poll_update: return caps.poll_multishot;
    case OpKind::msg_ring: return caps.msg_ring;
    case OpKind::recv_multishot: return caps.recv_multishot;
    case OpKind::send_zc: return caps.send_zc;
    case OpKind::timeout_multishot: return caps.timeout_multishot;
    case OpKind::link_timeout_update: return caps.link_timeout_update;
    case OpKind::count_: return false;
    default: return true;
  }
}

namespace {

// Relative weights of the op kinds (in OpKind order).
constexpr unsigned kWeights[] = {10, 5, 6, 8, 6, 6, 7, 4, 6, 5, 3, 2, 2, 3, 2, 2, 3, 3, 3, 1, 4, 3, 5, 3, 3, 2, 2, 2};
static_assert(sizeof kWeights / sizeof kWeights[0] == static_cast<std::size_t>(OpKind::count_));

}  // namespace

std::vector<Op> generate(std::uint64_t seed, std::size_t count, Variant variant, const Caps& caps) {
  Prng prng(seed);
  unsigned total = 0;
  unsigned weights[static_cast<std::size_t>(OpKind::count_)];
  for (std::size_t k = 0; k < static_cast<std::size_t>(OpKind::count_); ++k) {
    weights[k] = kind_available(static_cast<OpKind>(k), variant, caps) ? kWeights[k] : 0;
    total += weights[k];
  }
  std::vector<Op> ops(count);
  for (std::size_t i = 0; i < count; ++i) {
    Op& op = ops[i];
    op.index = static_cast<std::uint32_t>(i);
    unsigned pick = static_cast<unsigned>(prng.below(total));
    std::size_t k = 0;
    while (pick >= weights[k]) pick -= weights[k++];
    op.kind = static_cast<OpKind>(k);
    if (prng.one_in(10)) op.flags |= kFlagNewRound;
    if (prng.one_in(6)) op.flags |= kFlagAsync;
    // Asked for where sanitize() lets them stay (the draws do not depend
    // on the variant, so a seed gives the same list on every variant but
    // for what sanitize() takes away).
    if (i < count / 2) {
      if (prng.one_in(32)) op.flags |= kFlagDrain;
    } else if (prng.one_in(4)) {
      op.flags |= kFlagSkipSuccess;
    }
    op.param = prng.next();
  }
  sanitize(ops, variant, caps);
  return ops;
}

void sanitize(std::vector<Op>& ops, Variant variant, const Caps& caps) {
  const std::size_t count = ops.size();
  for (std::size_t i = 0; i < count; ++i) {
    Op& op = ops[i];
    op.index = static_cast<std::uint32_t>(i);
    if (static_cast<std::size_t>(op.kind) >= static_cast<std::size_t>(OpKind::count_) ||
        !kind_available(op.kind, variant, caps)) {
      op.kind = OpKind::nop;
    }
    op.flags &= kFlagNewRound | kFlagAsync | kFlagSkipSuccess | kFlagDrain;
    if (i < count / 2) {
      // IOSQE_CQE_SKIP_SUCCESS turns IOSQE_IO_DRAIN off for good on the
      // ring (io_uring.c io_init_req sets ctx->drain_disabled): skip-success
      // only after every drain, in the second half.
      op.flags &= static_cast<std::uint8_t>(~kFlagSkipSuccess);
      // Not on SQPOLL rings: there (6.18) a drained MSG_RING leaves
      // ctx->drain_active set after it and a NOP after it completed, and
      // from then on a POLL_REMOVE of an armed multishot poll waits behind
      // that poll forever (io_uring.c io_drain_req / io_queue_deferred: the
      // first deferred request waits until nr_req_allocated == nr_drained).
      if (is_sqpoll(variant)) op.flags &= static_cast<std::uint8_t>(~kFlagDrain);
    } else {
      op.flags &= static_cast<std::uint8_t>(~kFlagDrain);
    }
  }
}

// ---- The engine ------------------------------------------------------------------------

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::uint64_t kTagA = 0xA5ULL << 56;  // requests on the main ring
constexpr std::uint64_t kTagB = 0xB6ULL << 56;  // MSG_RING CQEs posted on the second ring
constexpr std::uint64_t kTagHouse = 0xC7ULL << 56;  // the engine's own NOP that clears drain_active
constexpr std::uint64_t kSeqMask = (1ULL << 56) - 1;
constexpr unsigned kRegion = 8192;  // bytes of file and buffer per unit slot
constexpr unsigned kPipes = 8;
constexpr std::uint16_t kGroupId = 7;
constexpr unsigned kGroupBuffers = 8;
constexpr unsigned kGroupBufferSize = 256;
constexpr long long kLongTimeoutNs = 1'000'000'000;  // only for timeouts that get removed or updated

// The result sets the kernel may give. `values` exactly; a range; or a poll
// mask that must include `mask_bits`.
struct Allowed {
  std::array<int, 4> values{};
  std::uint8_t n = 0;
  int lo = 1, hi = 0;  // [lo, hi] when lo <= hi
  unsigned mask_bits = 0;
  bool ok(int res) const {
    for (unsigned i = 0; i < n; ++i) {
      if (values[i] == res) return true;
    }
    if (lo <= hi && res >= lo && res <= hi) return true;
    if (mask_bits && res > 0 && (static_cast<unsigned>(res) & mask_bits) == mask_bits) return true;
    return false;
  }
  Allowed& also(int v) {
    values[n++] = v;
    return *this;
  }
  std::string str() const {
    std::string s = "{";
    for (unsigned i = 0; i < n; ++i) s += (i ? ", " : "") + std::to_string(values[i]);
    if (lo <= hi) s += std::string(n ? ", " : "") + "[" + std::to_string(lo) + ".." + std::to_string(hi) + "]";
    if (mask_bits) s += std::string(n || lo <= hi ? ", " : "") + "mask with 0x" + [&] {
      char b[16];
      std::snprintf(b, sizeof b, "%x", mask_bits);
      return std::string(b);
    }();
    return s + "}";
  }
};
Allowed exactly(int v) { return Allowed{}.also(v); }
Allowed range(int lo, int hi) {
  Allowed a;
  a.lo = lo;
  a.hi = hi;
  return a;
}
Allowed poll_mask(unsigned bits) {
  Allowed a;
  a.mask_bits = bits;
  return a;
}

enum class Shape : std::uint8_t { single, multishot, zc };

struct Request {
  std::uint64_t ud = 0;
  std::uint32_t op_index = 0;
  std::uint16_t unit = 0;
  const char* what = "";
  Shape shape = Shape::single;
  Allowed final_ok;
  Allowed more_ok;
  bool silent = false;     // IOSQE_CQE_SKIP_SUCCESS on a request that must succeed: no CQE at all
  bool on_ring_b = false;  // a MSG_RING's CQE on the second ring
  bool done = false;
  bool zc_result_seen = false;
  std::uint32_t more_seen = 0;
  int res = 0;  // the final result
};

struct CqeCopy {
  std::uint64_t ud;
  std::int32_t res;
  std::uint32_t flags;
  std::uint64_t extra[2];
};

// One op of a round while it runs.
struct Unit {
  Op op;
  unsigned slot = 0;
  int pipe = -1;                   // index into the pipe pool
  std::array<int, 4> pipes{};      // cancel_any: the pipes it reads
  unsigned npipes = 0;
  unsigned len = 0;
  unsigned char* wbuf = nullptr;   // kRegion bytes each, inside the registered arena
  unsigned char* rbuf = nullptr;
  std::array<iovec, 3> iov{};
  std::array<abi::kernel_timespec, 2> ts{};
  std::uint64_t main_ud = 0;       // the request follow-ups refer to
  std::uint64_t aux_ud = 0;
  unsigned writes_left = 0;        // poll_multi / recv_multishot: sends not yet completed
  unsigned received = 0;
  bool armed = false;              // recv_multishot: a receive is armed
  bool cancel_queued = false;
  int remove_res = 1;              // poll_multi: the removal's result (1: none yet)
  int poll_final = 1;
  std::uint64_t e1 = 0, e2 = 0;
  bool misexpected = false;  // Faults::misexpect_op applied
};

std::string errno_name(int res) {
  if (res >= 0) return std::to_string(res);
  const char* name = strerrordesc_np(-res);
  return std::to_string(res) + " (" + (name ? name : "?") + ")";
}

std::uint64_t fnv(const unsigned char* p, std::size_t n) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (std::size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 0x100000001b3ULL;
  return h;
}

void fill_pattern(unsigned char* p, std::size_t n, std::uint64_t seed) {
  Prng prng(seed);
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const std::uint64_t v = prng.next();
    std::memcpy(p + i, &v, 8);
  }
  const std::uint64_t v = prng.next();
  std::memcpy(p + i, &v, n - i);
}

class Engine {
 public:
  using Prepared = uring::Prepared;
  explicit Engine(const RunOptions& options) : options_(options) {}
  ~Engine() { teardown(); }

  RunResult run(const std::vector<Op>& ops) {
    if (!setup()) {
      result_.setup_failed = true;
      return result_;
    }
    const auto start = Clock::now();
    if (options_.variant == Variant::registered_thread) {
      // The ring was made (and its tables registered) on this thread; a
      // second thread registers the ring fd and does all the I/O through the
      // index (Ring's thread rules: the registering thread enters by index).
      std::thread worker([&] {
        const int reg = ring_.register_ring_fd();
        if (reg != 1 || ring_.registered_index() < 0) {
          fail_setup("register_ring_fd from the worker thread: " + errno_name(reg));
          return;
        }
        run_rounds(ops);
        if (const int unreg = ring_.unregister_ring_fd(); unreg != 1 && !result_.failed) {
          fail(0, "unregister_ring_fd from the worker thread: " + errno_name(unreg));
        }
      });
      worker.join();
    } else if (has_reaper(options_.variant)) {
      reaper_ = std::thread([this] { reaper_loop(); });
      run_rounds(ops);
      stop_reaper();
    } else {
      run_rounds(ops);
    }
    result_.stats.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    return result_;
  }

 private:
  // ---- Setup and teardown --------------------------------------------------------

  bool fail_setup(const std::string& what) {
    if (!result_.failed) {
      result_.failed = true;
      result_.setup_failed = true;
      result_.message = what;
    }
    return false;
  }

  bool setup() {
    std::string path = options_.temp_dir + "/uring-stress-XXXXXX";
    file_fd_ = ::mkstemp(path.data());
    if (file_fd_ < 0) return fail_setup("mkstemp in " + options_.temp_dir + ": " + std::strerror(errno));
    ::unlink(path.c_str());
    if (::ftruncate(file_fd_, kRegion * kMaxUnitsPerRound) != 0) return fail_setup("ftruncate");
    for (auto& p : pipes_) {
      if (::pipe2(p.data(), O_CLOEXEC) != 0) return fail_setup("pipe2");
    }
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, unix_pair_.data()) != 0) return fail_setup("socketpair");
    if (options_.caps.send_zc && !make_tcp_pair()) return false;

    arena_.reset(static_cast<unsigned char*>(std::aligned_alloc(4096, 2 * kRegion * kMaxUnitsPerRound)));
    if (!arena_) return fail_setup("aligned_alloc");
    std::memset(arena_.get(), 0, 2 * kRegion * kMaxUnitsPerRound);

    auto ring = uring::Ring::create(ring_options(options_.variant));
    if (!ring) return fail_setup("ring: " + ring.error().message);
    ring_ = std::move(*ring);
    auto ring_b = uring::Ring::create({.entries = 16, .cq_entries = 256});
    if (!ring_b) return fail_setup("second ring: " + ring_b.error().message);
    ring_b_ = std::move(*ring_b);
    cqe32_ = (ring_.setup_flags() & abi::IORING_SETUP_CQE32) != 0;

    std::vector<int> fds{file_fd_};
    for (auto& p : pipes_) {
      fds.push_back(p[0]);
      fds.push_back(p[1]);
    }
    auto files = uring::FileTable::create(ring_, fds);
    if (!files) return fail_setup("FileTable: " + files.error().message);
    files_ = std::move(*files);
    const iovec arena{arena_.get(), 2 * kRegion * kMaxUnitsPerRound};
    auto buffers = uring::BufferTable::create(ring_, std::span<const iovec>(&arena, 1));
    if (!buffers) return fail_setup("BufferTable: " + buffers.error().message);
    buffers_ = std::move(*buffers);
    if (options_.caps.recv_multishot) {
      auto group = uring::BufferGroup::create_ring(
          ring_, {.group_id = kGroupId, .buffer_count = kGroupBuffers, .buffer_size = kGroupBufferSize,
                  .no_buffers = uring::NoBuffersPolicy::recycle_and_retry});
      if (!group) return fail_setup("BufferGroup: " + group.error().message);
      group_ = std::move(*group);
    }
    cq_tail_a_ = load(ring_.mapping().cq_ktail);
    cq_tail_b_ = load(ring_b_.mapping().cq_ktail);
    return true;
  }

  bool make_tcp_pair() {
    const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    bool ok = listener >= 0 && ::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
              ::listen(listener, 1) == 0 && ::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
    if (ok) {
      tcp_[0] = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      ok = tcp_[0] >= 0 && ::connect(tcp_[0], reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    }
    if (ok) {
      tcp_[1] = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
      ok = tcp_[1] >= 0;
    }
    if (listener >= 0) ::close(listener);
    if (!ok) return fail_setup(std::string("TCP loopback pair: ") + std::strerror(errno));
    const int one = 1;
    ::setsockopt(tcp_[0], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return true;
  }

  void teardown() {
    stop_reaper();
    if (ring_.valid() && round_open_) {
      // A failed round may leave requests in flight (reads on pipes, long
      // timeouts, an armed receive) that point into the arena and the units:
      // cancel them and let their CQEs come before anything is freed.
      if (uring::Sqe* sqe = ring_.get_sqe()) {
        uring::prep_cancel_any(*sqe).set_user_data(std::uint64_t{0});
        (void)ring_.submit();
      }
      for (int i = 0; i < 50; ++i) {
        (void)ring_.submit_and_wait(1, uring::WaitOptions{.timeout = std::chrono::milliseconds(2)});
        ring_.for_each_cqe([](const uring::Cqe& cqe) {
          if (std::getenv("URING_STRESS_DEBUG")) {
            std::fprintf(stderr, "teardown CQE user_data 0x%llx res %d flags 0x%x\n",
                         static_cast<unsigned long long>(cqe.user_data), cqe.res, cqe.flags);
          }
        });
      }
    }
    (void)group_.close();
    files_ = uring::FileTable();
    buffers_ = uring::BufferTable();
    ring_.close();
    ring_b_.close();
    arena_.reset();
    for (auto& p : pipes_) {
      for (int& fd : p) {
        if (fd >= 0) ::close(fd);
        fd = -1;
      }
    }
    for (int* fd : {&unix_pair_[0], &unix_pair_[1], &tcp_[0], &tcp_[1], &file_fd_}) {
      if (*fd >= 0) ::close(*fd);
      *fd = -1;
    }
  }

  // ---- Reaper thread (Variant::reaper_thread) ----------------------------------------

  void reaper_loop() {
    std::vector<CqeCopy> local;
    while (!stop_.load(std::memory_order_acquire)) {
      const int ret = ring_.wait_cqes(1, uring::WaitOptions{.timeout = std::chrono::milliseconds(2)});
      if (ret < 0 && ret != -ETIME && ret != -EINTR) {
        std::lock_guard lock(mutex_);
        reaper_error_ = ret;
      }
      local.clear();
      ring_.for_each_cqe([&](const uring::Cqe& cqe) { local.push_back(copy(cqe)); });
      if (!local.empty()) {
        std::lock_guard lock(mutex_);
        queue_.insert(queue_.end(), local.begin(), local.end());
        cv_.notify_one();
      }
    }
  }

  void stop_reaper() {
    if (reaper_.joinable()) {
      stop_.store(true, std::memory_order_release);
      reaper_.join();
    }
  }

  CqeCopy copy(const uring::Cqe& cqe) const {
    CqeCopy c{cqe.user_data, cqe.res, cqe.flags, {0, 0}};
    if (cqe32_) {
      c.extra[0] = cqe.extra(0);
      c.extra[1] = cqe.extra(1);
    }
    return c;
  }

  // ---- Failures ----------------------------------------------------------------

  void fail(std::uint32_t op_index, const std::string& message) {
    if (result_.failed) return;
    result_.failed = true;
    result_.op_index = op_index;
    char head[96];
    std::snprintf(head, sizeof head, "variant %s, seed 0x%llx: ", variant_name(options_.variant),
                  static_cast<unsigned long long>(options_.seed));
    result_.message = head + message;
  }

  std::string show(const Request& r) const {
    char line[256];
    std::snprintf(line, sizeof line, "request %s (user_data 0x%llx, op %s) expects %s%s%s", r.what,
                  static_cast<unsigned long long>(r.ud), describe(units_[r.unit].op).c_str(), r.final_ok.str().c_str(),
                  r.shape == Shape::multishot ? (", F_MORE CQEs " + r.more_ok.str()).c_str() : "",
                  r.shape == Shape::zc ? ", then a notification" : "");
    return line;
  }
  static std::string show(const CqeCopy& c) {
    char line[128];
    std::snprintf(line, sizeof line, "CQE {user_data 0x%llx, res %s, flags 0x%x}",
                  static_cast<unsigned long long>(c.ud), errno_name(c.res).c_str(), c.flags);
    return line;
  }

  // ---- Requests ------------------------------------------------------------------

  std::uint64_t add(Unit& u, const char* what, Allowed final_ok, Shape shape = Shape::single,
                    Allowed more_ok = {}, bool on_ring_b = false) {
    Request r;
    const std::uint64_t seq = next_seq_++;
    r.ud = (on_ring_b ? kTagB : kTagA) | seq;
    r.op_index = u.op.index;
    r.unit = static_cast<std::uint16_t>(&u - units_.data());
    r.what = what;
    r.shape = shape;
    r.final_ok = final_ok;
    r.more_ok = more_ok;
    r.on_ring_b = on_ring_b;
    if (options_.faults.misexpect_op == u.op.index + 1 && !u.misexpected) {
      u.misexpected = true;
      r.final_ok = exactly(-12345);
    }
    reqs_.push_back(r);
    ++outstanding_;
    ++result_.stats.requests;
    return r.ud;
  }
  Request& req(std::uint64_t ud) { return reqs_[(ud & kSeqMask) - round_base_]; }

  // A request marked IOSQE_CQE_SKIP_SUCCESS that must succeed: it posts nothing.
  void make_silent(Prepared& sqe, std::uint64_t ud) {
    sqe.skip_success();
    Request& r = req(ud);
    r.silent = true;
    --outstanding_;
    ++result_.stats.silent;
  }

  // The next SQE, submitting (or waiting for the SQPOLL thread) when the SQ is full.
  uring::Sqe& sqe() {
    for (;;) {
      if (uring::Sqe* s = ring_.get_sqe()) return *s;
      const int ret = ring_.wait_for_sq_space();
      if (ret < 0 && ret != -EAGAIN && ret != -EBUSY && ret != -EINTR) fail(0, "wait_for_sq_space: " + errno_name(ret));
      if (ret < 0) collect(false);
    }
  }
  // Room for `n` SQEs in one submission, so that a link chain is never cut by a submit.
  void reserve(unsigned n) {
    while (ring_.sq_space_left() < n && !result_.failed) {
      const int ret = ring_.wait_for_sq_space();
      if (ret < 0 && ret != -EAGAIN && ret != -EBUSY && ret != -EINTR) fail(0, "wait_for_sq_space: " + errno_name(ret));
      if (ret < 0) collect(false);
    }
  }
  void submit() {
    for (int tries = 0; tries < 1000 && !result_.failed; ++tries) {
      const int ret = ring_.submit();
      if (ret >= 0) {
        if (ring_.sq_pending() == 0 || is_sqpoll(options_.variant)) return;
        continue;
      }
      if (ret != -EAGAIN && ret != -EBUSY && ret != -EINTR) {
        fail(0, "submit: " + errno_name(ret));
        return;
      }
      collect(false);
    }
  }

  // IOSQE_IO_DRAIN only, for requests that must be armed in submission
  // order (a timeout the next SQE removes, a read a linked timeout cancels):
  // IOSQE_ASYNC would arm them in io-wq, after the SQEs that follow.
  void drain_only(Unit& u, Prepared& sqe) {
    if ((u.op.flags & kFlagDrain) && drain_safe_ && drains_alone(u.op.kind)) {
      sqe.drain();
      drain_used_ = true;
    }
  }
  void flags(Unit& u, Prepared& sqe, std::uint64_t ud, bool first, bool may_skip) {
    if (u.op.flags & kFlagAsync) sqe.force_async();
    if (first) drain_only(u, sqe);
    // Silent only when issued inline: such a request has finished before
    // the next SQE of its submission is issued, so no later CANCEL_ANY can
    // still find it. One in io-wq can be in flight after the oracle saw the
    // CQEs of its round (found: CANCEL_ANY cancelled a silent async NOP of
    // the round before).
    if (may_skip && (u.op.flags & kFlagSkipSuccess) && !(u.op.flags & kFlagAsync)) make_silent(sqe, ud);
  }

  // ---- The ops ------------------------------------------------------------------------

  // Kinds whose requests complete without help from SQEs queued after them
  // (a later follow-up): a drained SQE after them cannot wait forever.
  static bool self_completing(OpKind kind) {
    return kind != OpKind::poll_multi && kind != OpKind::recv_multishot && kind != OpKind::poll_update;
  }

  // Kinds whose first SQE (with the chain linked to it) completes by
  // itself. Only those take IOSQE_IO_DRAIN: a drained SQE holds back every
  // later one until it completes (io_uring_enter(2)), so a drained pipe
  // READ would wait forever for the WRITE queued after it, and a drained
  // TIMEOUT would run its whole second before the TIMEOUT_REMOVE after it.
  static bool drains_alone(OpKind kind) {
    switch (kind) {
      case OpKind::pipe_rw:
      case OpKind::pipe_fixed:
      case OpKind::poll_single:
      case OpKind::poll_multi:
      case OpKind::timeout_remove:
      case OpKind::timeout_update:
      case OpKind::cancel_user_data:
      case OpKind::cancel_fd:
      case OpKind::cancel_any:
      case OpKind::recv_multishot:
      case OpKind::send_zc:
      case OpKind::link_timeout_update:
      case OpKind::poll_update: return false;
      default: return true;
    }
  }

  static bool order_free(OpKind kind) {
    switch (kind) {
      case OpKind::send_zc:
      case OpKind::cancel_user_data:
      case OpKind::cancel_fd:
      case OpKind::cancel_any:
      case OpKind::timeout_remove:
      case OpKind::timeout_update:
      case OpKind::link_timeout_fire:
      case OpKind::link_timeout_update:
      case OpKind::poll_update: return false;
      default: return true;
    }
  }

  static bool needs_pipe(OpKind kind) {
    switch (kind) {
      case OpKind::pipe_rw:
      case OpKind::pipe_fixed:
      case OpKind::link_timeout_fire:
      case OpKind::cancel_user_data:
      case OpKind::cancel_fd:
      case OpKind::poll_single:
      case OpKind::poll_multi:
      case OpKind::link_timeout_update:
      case OpKind::poll_update: return true;
      default: return false;
    }
  }

  uring::FixedFile fixed_pipe(int pipe, int end) const {
    return *uring::FixedFile::checked(1 + 2 * pipe + end);
  }

  void start(Unit& u) {
    Prng prng(u.op.param);
    const OpKind kind = u.op.kind;
    switch (kind) {
      case OpKind::nop: {
        reserve(1);
        const auto ud = add(u, "NOP", exactly(0));
        flags(u, uring::prep_nop(sqe()).set_user_data(ud), ud, true, true);
        break;
      }
      case OpKind::nop_inject: {
        // A negative result fails the request (io_uring/nop.c: req_set_fail
        // when nop->result < 0), so only a non-negative one may be silent.
        const int value = prng.one_in(2) ? -static_cast<int>(1 + prng.below(133)) : static_cast<int>(prng.below(1 << 20));
        reserve(1);
        const auto ud = add(u, "NOP inject-result", exactly(value));
        flags(u, uring::prep_nop_inject_result(sqe(), value).set_user_data(ud), ud, true, value >= 0);
        break;
      }
      case OpKind::nop_cqe32: {
        u.e1 = prng.next();
        u.e2 = prng.next();
        reserve(1);
        u.main_ud = add(u, "NOP CQE32", exactly(0));
        flags(u, uring::prep_nop_cqe32(sqe(), u.e1, u.e2).set_user_data(u.main_ud), u.main_ud, true, false);
        break;
      }
      case OpKind::file_rw:
      case OpKind::file_rwv:
      case OpKind::file_fixed: {
        u.len = 1 + static_cast<unsigned>(prng.below(kRegion));
        const std::uint64_t offset = std::uint64_t{u.slot} * kRegion + prng.below(kRegion - u.len + 1);
        fill_pattern(u.wbuf, u.len, prng.next());
        std::memset(u.rbuf, 0, u.len);
        reserve(2);
        const auto w = add(u, kind == OpKind::file_rw ? "WRITE file" : kind == OpKind::file_rwv ? "WRITEV file" : "WRITE_FIXED file",
                           exactly(static_cast<int>(u.len)));
        u.main_ud = add(u, kind == OpKind::file_rw ? "READ file" : kind == OpKind::file_rwv ? "READV file" : "READ_FIXED file",
                        exactly(static_cast<int>(u.len)));
        if (kind == OpKind::file_rw) {
          flags(u, uring::prep_write(sqe(), file_fd_, u.wbuf, u.len, offset).set_user_data(w).link(), w, true, true);
          flags(u, uring::prep_read(sqe(), file_fd_, u.rbuf, u.len, offset).set_user_data(u.main_ud), u.main_ud, false, false);
        } else if (kind == OpKind::file_rwv) {
          const unsigned a = static_cast<unsigned>(prng.below(u.len + 1));
          const unsigned b = a + static_cast<unsigned>(prng.below(u.len - a + 1));
          // Both iovec arrays live until the round ends (past the CQEs).
          wiov_[u.slot] = {iovec{u.wbuf, a}, iovec{u.wbuf + a, b - a}, iovec{u.wbuf + b, u.len - b}};
          u.iov = {iovec{u.rbuf, b}, iovec{u.rbuf + b, u.len - b}, iovec{nullptr, 0}};
          flags(u, uring::prep_writev(sqe(), file_fd_, wiov_[u.slot].data(), 3, offset).set_user_data(w).link(), w, true, true);
          flags(u, uring::prep_readv(sqe(), file_fd_, u.iov.data(), 2, offset).set_user_data(u.main_ud), u.main_ud, false, false);
        } else {
          const uring::FixedFile file = uring::FixedFile(0);
          flags(u, uring::prep_write_fixed(sqe(), file, u.wbuf, u.len, offset, uring::FixedBuffer(0)).set_user_data(w).link(), w,
                true, true);
          flags(u, uring::prep_read_fixed(sqe(), file, u.rbuf, u.len, offset, uring::FixedBuffer(0)).set_user_data(u.main_ud),
                u.main_ud, false, false);
        }
        break;
      }
      case OpKind::pipe_rw:
      case OpKind::pipe_fixed: {
        // At most PIPE_BUF bytes: the write is atomic, so the pending read
        // gets all of them at once (pipe(7)).
        u.len = 1 + static_cast<unsigned>(prng.below(4096));
        fill_pattern(u.wbuf, u.len, prng.next());
        reserve(2);
        u.main_ud = add(u, "READ pipe", exactly(static_cast<int>(u.len)));
        const auto w = add(u, "WRITE pipe", exactly(static_cast<int>(u.len)));
        if (kind == OpKind::pipe_rw) {
          flags(u, uring::prep_read(sqe(), pipes_[u.pipe][0], u.rbuf, u.len, 0).set_user_data(u.main_ud), u.main_ud, true, false);
          flags(u, uring::prep_write(sqe(), pipes_[u.pipe][1], u.wbuf, u.len, 0).set_user_data(w), w, false, true);
        } else {
          flags(u, uring::prep_read(sqe(), fixed_pipe(u.pipe, 0), u.rbuf, u.len, 0).set_user_data(u.main_ud), u.main_ud, true,
                false);
          flags(u, uring::prep_write(sqe(), fixed_pipe(u.pipe, 1), u.wbuf, u.len, 0).set_user_data(w), w, false, true);
        }
        break;
      }
      case OpKind::chain_link:
      case OpKind::chain_hardlink: {
        const bool hard = kind == OpKind::chain_hardlink;
        const unsigned n = 3 + static_cast<unsigned>(prng.below(3));
        const unsigned bad = 1 + static_cast<unsigned>(prng.below(n - 2));
        // Without NOP inject-result the failing member reads fd -1: the
        // file is looked up at issue (io_assign_file), so it is an ordinary
        // failure that breaks the chain (-EBADF), not a submission error.
        const int bad_res = options_.caps.nop_inject ? -static_cast<int>(1 + prng.below(133)) : -EBADF;
        reserve(n);
        for (unsigned i = 0; i < n; ++i) {
          // link: a failure cancels the rest of the chain (io_fail_links:
          // -ECANCELED); hardlink: the rest run (REQ_F_HARDLINK).
          const int expect = i < bad ? 0 : i == bad ? bad_res : (hard ? 0 : -ECANCELED);
          const auto ud = add(u, i == bad ? "chain member (failing)" : "chain member", exactly(expect));
          Prepared* p;
          if (i == bad) {
            p = options_.caps.nop_inject ? &uring::prep_nop_inject_result(sqe(), bad_res)
                                         : &uring::prep_read(sqe(), -1, u.rbuf, 16, 0);
          } else {
            p = &uring::prep_nop(sqe());
          }
          p->set_user_data(ud);
          if (i + 1 < n) hard ? p->hardlink() : p->link();
          flags(u, *p, ud, i == 0, expect == 0 && prng.one_in(2));
        }
        break;
      }
      case OpKind::timeout_rel:
      case OpKind::timeout_abs:
      case OpKind::timeout_count: {
        const long long ns = static_cast<long long>(prng.below(300'000));
        std::uint32_t tflags = 0;
        unsigned count = 0;
        Allowed ok = exactly(-ETIME);
        if (kind == OpKind::timeout_abs) {
          timespec now;
          ::clock_gettime(CLOCK_MONOTONIC, &now);
          const long long at = now.tv_sec * 1'000'000'000LL + now.tv_nsec + ns;
          u.ts[0] = {at / 1'000'000'000LL, at % 1'000'000'000LL};
          tflags = abi::IORING_TIMEOUT_ABS;
        } else if (kind == OpKind::timeout_count) {
          // Ends with 0 once `count` other CQEs were posted after it was
          // armed, or -ETIME at its time, whichever comes first
          // (io_uring/timeout.c: io_flush_timeouts completes it with 0 when
          // cq_tail passes its target; io_timeout_fn with -ETIME).
          count = 1 + static_cast<unsigned>(prng.below(4));
          u.ts[0] = {0, 1'000'000};
          ok = Allowed{}.also(0).also(-ETIME);
        } else {
          u.ts[0] = {0, ns};
        }
        reserve(1);
        const auto ud = add(u, op_kind_name(kind), ok);
        flags(u, uring::prep_timeout(sqe(), &u.ts[0], count, tflags).set_user_data(ud), ud, true, false);
        break;
      }
      case OpKind::timeout_remove:
      case OpKind::timeout_update: {
        // A timeout of one second, removed (-ECANCELED; the remove: 0) or
        // re-armed to a few microseconds (-ETIME; the update: 0) by the next
        // SQE of the same submission. io_timeout_remove finds it armed: it
        // was armed when its SQE was issued, before the remove's.
        const bool update = kind == OpKind::timeout_update;
        u.ts[0] = {0, kLongTimeoutNs - 1};
        u.ts[1] = {0, static_cast<long long>(prng.below(300'000))};
        reserve(2);
        u.main_ud = add(u, "TIMEOUT (1 s)", exactly(update ? -ETIME : -ECANCELED));
        const auto r = add(u, update ? "TIMEOUT_UPDATE" : "TIMEOUT_REMOVE", exactly(0));
        drain_only(u, uring::prep_timeout(sqe(), &u.ts[0]).set_user_data(u.main_ud));
        Prepared& p = update ? uring::prep_timeout_update(sqe(), u.main_ud, &u.ts[1]) : uring::prep_timeout_remove(sqe(), u.main_ud);
        p.set_user_data(r);
        if (u.op.flags & kFlagSkipSuccess) make_silent(p, r);
        break;
      }
      case OpKind::link_timeout_fire: {
        // Nobody writes to the pipe: the linked timeout fires (-ETIME) and
        // cancels the read, which waits armed in the poll table, so its
        // cancellation is io_poll_cancel's -ECANCELED (io_uring/timeout.c
        // io_req_task_link_timeout -> io_try_cancel).
        u.ts[0] = {0, 20'000 + static_cast<long long>(prng.below(280'000))};
        reserve(2);
        u.main_ud = add(u, "READ pipe (never fed)", exactly(-ECANCELED));
        const auto lt = add(u, "LINK_TIMEOUT", exactly(-ETIME));
        drain_only(u, uring::prep_read(sqe(), pipes_[u.pipe][0], u.rbuf, 64, 0).set_user_data(u.main_ud).link());
        uring::prep_link_timeout(sqe(), &u.ts[0]).set_user_data(lt);
        break;
      }
      case OpKind::link_timeout_cancel: {
        // The NOP finishes first: its linked timeout is cancelled (-ECANCELED).
        u.ts[0] = {0, kLongTimeoutNs - 1};
        reserve(2);
        const auto nop = add(u, "NOP (timed)", exactly(0));
        const auto lt = add(u, "LINK_TIMEOUT (1 s)", exactly(-ECANCELED));
        flags(u, uring::prep_nop(sqe()).set_user_data(nop).link(), nop, true, true);
        uring::prep_link_timeout(sqe(), &u.ts[0]).set_user_data(lt);
        break;
      }
      case OpKind::cancel_user_data:
      case OpKind::cancel_fd: {
        // The read waits armed in the poll table (pipe empty, no
        // IOSQE_ASYNC), so the cancel finds it there: -ECANCELED, and the
        // cancel's result is 0 (1 with CANCEL_ALL, which counts).
        const bool by_fd = kind == OpKind::cancel_fd;
        const bool all = by_fd && prng.one_in(2);
        reserve(2);
        u.main_ud = add(u, "READ pipe (to cancel)", exactly(-ECANCELED));
        const auto c = add(u, by_fd ? (all ? "ASYNC_CANCEL fd all" : "ASYNC_CANCEL fd") : "ASYNC_CANCEL user_data",
                           exactly(all ? 1 : 0));
        uring::prep_read(sqe(), pipes_[u.pipe][0], u.rbuf, 64, 0).set_user_data(u.main_ud);
        Prepared& p = by_fd ? uring::prep_cancel_fd(sqe(), pipes_[u.pipe][0], all ? abi::IORING_ASYNC_CANCEL_ALL : 0)
                            : uring::prep_cancel(sqe(), u.main_ud);
        p.set_user_data(c);
        if (u.op.flags & kFlagSkipSuccess) make_silent(p, c);
        break;
      }
      case OpKind::cancel_any: {
        // Alone in its round: every request in flight is one of its reads,
        // so CANCEL_ANY cancels exactly those (its result counts them).
        reserve(u.npipes + 1);
        for (unsigned i = 0; i < u.npipes; ++i) {
          const auto r = add(u, "READ pipe (to cancel any)", exactly(-ECANCELED));
          uring::prep_read(sqe(), pipes_[u.pipes[i]][0], u.rbuf + 64 * i, 64, 0).set_user_data(r);
        }
        const auto c = add(u, "ASYNC_CANCEL any", exactly(static_cast<int>(u.npipes)));
        uring::prep_cancel_any(sqe()).set_user_data(c);
        break;
      }
      case OpKind::poll_single: {
        u.len = 1 + static_cast<unsigned>(prng.below(512));
        fill_pattern(u.wbuf, u.len, prng.next());
        reserve(2);
        const auto p = add(u, "POLL_ADD POLLIN", poll_mask(POLLIN));
        const auto w = add(u, "WRITE pipe (wakes the poll)", exactly(static_cast<int>(u.len)));
        flags(u, uring::prep_poll_add(sqe(), pipes_[u.pipe][0], POLLIN).set_user_data(p), p, true, false);
        flags(u, uring::prep_write(sqe(), pipes_[u.pipe][1], u.wbuf, u.len, 0).set_user_data(w), w, false, true);
        u.received = u.len;  // the bytes finish() must find in the pipe
        break;
      }
      case OpKind::poll_multi: {
        // Armed first (same submission, in order), then 1..3 writes each
        // wake it; once their CQEs are in, a POLL_REMOVE ends it. Its final
        // CQE is -ECANCELED from the removal, or, if the CQ was full when a
        // wake-up had to post, the event mask without F_MORE
        // (io_uring/poll.c io_poll_check_events: io_req_post_cqe failed ->
        // IOU_POLL_REMOVE_POLL_USE_RES) and then the removal finds nothing
        // (-ENOENT). finish() checks the two agree.
        const unsigned writes = 1 + static_cast<unsigned>(prng.below(3));
        u.writes_left = writes;
        reserve(1 + writes);
        u.main_ud = add(u, "POLL_ADD multishot", poll_mask(POLLIN).also(-ECANCELED), Shape::multishot, poll_mask(POLLIN));
        uring::prep_poll_multishot(sqe(), pipes_[u.pipe][0], POLLIN).set_user_data(u.main_ud);
        // The writes are linked: unlinked, IOSQE_ASYNC ones could reach the
        // pipe in any order (io-wq workers run in parallel).
        unsigned at = 0;
        for (unsigned i = 0; i < writes; ++i) {
          const unsigned n = 1 + static_cast<unsigned>(prng.below(256));
          fill_pattern(u.wbuf + at, n, prng.next());
          const auto w = add(u, "WRITE pipe (wakes the multishot poll)", exactly(static_cast<int>(n)));
          Prepared& p = uring::prep_write(sqe(), pipes_[u.pipe][1], u.wbuf + at, n, 0).set_user_data(w);
          if (i + 1 < writes) p.link();
          flags(u, p, w, false, false);
          at += n;
        }
        u.received = at;
        break;
      }
      case OpKind::poll_update: {
        // POLL_ADD multishot as A, then (same submission, in order) a
        // POLL_REMOVE with IORING_POLL_UPDATE_USER_DATA making it B: 0, and
        // from then on every CQE of the poll carries B, none A
        // (io_uring/poll.c io_poll_remove: preq->cqe.user_data =
        // new_user_data, re-armed by io_poll_add). Then a write wakes it
        // and a POLL_REMOVE of B ends it, as poll_multi.
        u.len = 1 + static_cast<unsigned>(prng.below(256));
        fill_pattern(u.wbuf, u.len, prng.next());
        u.received = u.len;
        u.writes_left = 1;
        reserve(2);
        u.e2 = add(u, "POLL_ADD multishot (its user_data to be updated)", exactly(-ECANCELED), Shape::multishot, poll_mask(POLLIN));
        u.main_ud = add(u, "the updated poll's user_data", poll_mask(POLLIN).also(-ECANCELED), Shape::multishot, poll_mask(POLLIN));
        --outstanding_;  // B is no SQE of its own: it is owed CQEs only once the update succeeded
        req(u.main_ud).silent = true;
        u.e1 = add(u, "POLL_REMOVE update user_data", exactly(0));
        uring::prep_poll_multishot(sqe(), pipes_[u.pipe][0], POLLIN).set_user_data(u.e2);
        uring::prep_poll_update(sqe(), u.e2, uring::PollUpdate{.user_data = u.main_ud, .events = std::nullopt}).set_user_data(u.e1);
        break;
      }
      case OpKind::msg_ring: {
        const int value = static_cast<int>(prng.below(1u << 30)) - (1 << 29);
        reserve(1);
        // With IORING_MSG_RING_FLAGS_PASS (6.3) the target CQE carries the
        // flags given (here in the buffer-id half, no flag bit the oracle
        // reads), checked in on_cqe.
        const bool pass = options_.caps.msg_ring_pass && prng.one_in(2);
        u.e1 = pass ? static_cast<std::uint32_t>(1 + prng.below(0xffff)) << 16 : 0;
        const auto src = add(u, pass ? "MSG_RING flags-pass" : "MSG_RING", exactly(0));
        u.main_ud = add(u, "MSG_RING's CQE on the target ring", exactly(value), Shape::single, {}, true);
        Prepared& p = pass ? uring::prep_msg_ring_cqe_flags(sqe(), ring_b_.fd(), value, u.main_ud, static_cast<std::uint32_t>(u.e1))
                           : uring::prep_msg_ring(sqe(), ring_b_.fd(), value, u.main_ud);
        flags(u, p.set_user_data(src), src, true, true);
        break;
      }
      case OpKind::timeout_multishot: {
        // `repeats` expiries, each -ETIME; F_MORE on all but the last. If a
        // CQE cannot be posted (CQ full) the timeout ends there, early,
        // still -ETIME (io_uring/timeout.c io_timeout_complete: when
        // io_req_post_cqe fails it completes instead of re-arming).
        u.writes_left = 1 + static_cast<unsigned>(prng.below(4));
        u.ts[0] = {0, 10'000 + static_cast<long long>(prng.below(100'000))};
        reserve(1);
        u.main_ud = add(u, "TIMEOUT multishot", exactly(-ETIME), Shape::multishot, exactly(-ETIME));
        flags(u, uring::prep_timeout_multishot(sqe(), &u.ts[0], u.writes_left).set_user_data(u.main_ud), u.main_ud, true, false);
        break;
      }
      case OpKind::link_timeout_update: {
        // A READ nobody feeds, linked to a 1 s LINK_TIMEOUT that the next
        // SQE re-arms to microseconds: the update finds it armed (it is
        // armed when the read is issued, io_queue_linked_timeout) and
        // answers 0 (io_linked_timeout_update); then it fires (-ETIME) and
        // cancels the read (-ECANCELED, as link_timeout_fire).
        u.ts[0] = {0, kLongTimeoutNs - 1};
        u.ts[1] = {0, 20'000 + static_cast<long long>(prng.below(200'000))};
        reserve(3);
        const auto rd = add(u, "READ pipe (never fed)", exactly(-ECANCELED));
        u.main_ud = add(u, "LINK_TIMEOUT (1 s, updated)", exactly(-ETIME));
        const auto up = add(u, "LINK_TIMEOUT_UPDATE", exactly(0));
        uring::prep_read(sqe(), pipes_[u.pipe][0], u.rbuf, 64, 0).set_user_data(rd).link();
        uring::prep_link_timeout(sqe(), &u.ts[0]).set_user_data(u.main_ud);
        Prepared& p = uring::prep_link_timeout_update(sqe(), u.main_ud, &u.ts[1]).set_user_data(up);
        if (u.op.flags & kFlagSkipSuccess) make_silent(p, up);
        break;
      }
      case OpKind::recv_multishot: {
        // Multishot RECV on one end of a socketpair, through the buffer
        // ring; 1..3 SENDs from the other end. Every CQE's bytes are checked
        // against the stream and recycled at once; the receive is armed
        // again whenever it ends before all bytes came (-ENOBUFS: the
        // kernel found no buffer, io_uring/net.c io_recv_finish; or a data
        // CQE without F_MORE when the CQ was full), and cancelled once they
        // all came. 8 buffers of 256 bytes against up to 3 KiB in flight:
        // -ENOBUFS happens.
        // The sends are linked, so the stream arrives in order.
        const unsigned sends = 1 + static_cast<unsigned>(prng.below(3));
        u.writes_left = sends;
        u.len = 0;
        reserve(1 + sends);
        arm_recv(u);
        for (unsigned i = 0; i < sends; ++i) {
          const unsigned n = 1 + static_cast<unsigned>(prng.below(1024));
          fill_pattern(u.wbuf + u.len, n, prng.next());
          const auto s = add(u, "SEND (to the multishot receive)", exactly(static_cast<int>(n)));
          Prepared& p = uring::prep_send(sqe(), unix_pair_[1], u.wbuf + u.len, static_cast<std::uint16_t>(n), 0).set_user_data(s);
          if (i + 1 < sends) p.link();
          flags(u, p, s, false, true);
          u.len += n;
        }
        break;
      }
      case OpKind::send_zc: {
        // MSG_WAITALL: a stream socket retries a short send until all of it
        // went (io_uring/net.c io_send_zc: min_ret). The result CQE has
        // F_MORE and the notification follows (F_NOTIF, res 0).
        u.len = 1 + static_cast<unsigned>(prng.below(kRegion));
        fill_pattern(u.wbuf, u.len, prng.next());
        reserve(1);
        const auto z = add(u, "SEND_ZC", exactly(static_cast<int>(u.len)), Shape::zc);
        flags(u, uring::prep_send_zc(sqe(), tcp_[0], u.wbuf, static_cast<std::uint16_t>(u.len), MSG_WAITALL).set_user_data(z), z,
              true, false);
        break;
      }
      case OpKind::count_: break;
    }
  }

  // POLL_REMOVE of the unit's multishot poll: 0 (it ends with -ECANCELED),
  // -ENOENT (it ended already: the CQ was full), or -EALREADY when its
  // wake-up task work owned the poll at that moment (io_uring/poll.c
  // io_poll_remove -> io_poll_disarm: !io_poll_get_ownership); then the
  // poll stays armed and the removal must be asked again.
  void queue_poll_remove(Unit& u) {
    reserve(1);
    u.aux_ud = add(u, "POLL_REMOVE", Allowed{}.also(0).also(-ENOENT).also(-EALREADY));
    uring::prep_poll_remove(sqe(), u.main_ud).set_user_data(u.aux_ud);
  }

  void arm_recv(Unit& u) {
    Allowed final_ok = range(1, kGroupBufferSize);
    final_ok.also(-ENOBUFS).also(-ECANCELED);
    u.main_ud = add(u, "RECV multishot (buffer ring)", final_ok, Shape::multishot, range(1, kGroupBufferSize));
    uring::prep_recv_multishot(sqe(), unix_pair_[0], 0, kGroupId).set_user_data(u.main_ud);
    u.armed = true;
  }

  // A CQE the oracle accepted for request `r` of unit `u`.
  void on_cqe(Unit& u, Request& r, const CqeCopy& c) {
    switch (u.op.kind) {
      case OpKind::nop_cqe32:
        if (c.extra[0] != u.e1 || c.extra[1] != u.e2) {
          char line[160];
          std::snprintf(line, sizeof line, "NOP CQE32 extra words 0x%llx 0x%llx, expected 0x%llx 0x%llx",
                        static_cast<unsigned long long>(c.extra[0]), static_cast<unsigned long long>(c.extra[1]),
                        static_cast<unsigned long long>(u.e1), static_cast<unsigned long long>(u.e2));
          fail(u.op.index, std::string(line) + "; " + show(r) + "; " + show(c));
        }
        break;
      case OpKind::file_rw:
      case OpKind::file_rwv:
      case OpKind::file_fixed:
      case OpKind::pipe_rw:
      case OpKind::pipe_fixed:
        if (r.ud == u.main_ud && std::memcmp(u.rbuf, u.wbuf, u.len) != 0) {
          fail(u.op.index, "data read back differs from what was written: checksum " + std::to_string(fnv(u.rbuf, u.len)) +
                               " != " + std::to_string(fnv(u.wbuf, u.len)) + "; " + show(r) + "; " + show(c));
        }
        break;
      case OpKind::poll_multi:
        if (r.ud == u.main_ud) {
          if (r.done) u.poll_final = r.res;
        } else if (r.ud == u.aux_ud) {
          if (r.res == -EALREADY && !req(u.main_ud).done) {
            ++result_.stats.rearms;
            queue_poll_remove(u);  // the poll was busy posting: it is still armed, so again
          } else {
            u.remove_res = r.res;
          }
        } else if (--u.writes_left == 0) {
          queue_poll_remove(u);
        }
        break;
      case OpKind::poll_update:
        if (r.ud == u.e1) {
          // The update took: A is B now. A is owed nothing more, B its CQEs.
          Request& a = req(u.e2);
          a.done = true;
          --outstanding_;
          Request& b = req(u.main_ud);
          b.silent = false;
          ++outstanding_;
          reserve(1);
          const auto w = add(u, "WRITE pipe (wakes the updated poll)", exactly(static_cast<int>(u.len)));
          uring::prep_write(sqe(), pipes_[u.pipe][1], u.wbuf, u.len, 0).set_user_data(w);
        } else if (r.ud == u.main_ud) {
          if (r.done) u.poll_final = r.res;
        } else if (r.ud == u.aux_ud) {
          if (r.res == -EALREADY && !req(u.main_ud).done) {
            ++result_.stats.rearms;
            queue_poll_remove(u);
          } else {
            u.remove_res = r.res;
          }
        } else if (r.ud != u.e2 && --u.writes_left == 0) {
          queue_poll_remove(u);
        }
        break;
      case OpKind::msg_ring:
        if (r.ud == u.main_ud && c.flags != u.e1) {
          fail(u.op.index, "MSG_RING's CQE has flags 0x" + std::to_string(c.flags) + ", sent " + std::to_string(u.e1) + "; " +
                               show(r) + "; " + show(c));
        }
        break;
      case OpKind::timeout_multishot:
        if (r.done && r.more_seen + 1 > u.writes_left) {
          fail(u.op.index, "multishot TIMEOUT posted " + std::to_string(r.more_seen + 1) + " CQEs for " +
                               std::to_string(u.writes_left) + " repeats; " + show(r) + "; " + show(c));
        }
        break;
      case OpKind::send_zc:
        if (r.zc_result_seen && !r.done && c.res > 0) {
          // The notification comes once the peer's ACK frees the data
          // (TCP): read it now, with an immediate ACK, instead of waiting
          // for the delayed-ACK timer (40 ms a round otherwise).
          const int one = 1;
          ::setsockopt(tcp_[1], IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
          const ssize_t n = ::recv(tcp_[1], u.rbuf, u.len, MSG_WAITALL);
          u.received = n > 0 ? static_cast<unsigned>(n) : 0;
          ::setsockopt(tcp_[1], IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
        }
        break;
      case OpKind::recv_multishot:
        if (r.ud == u.main_ud) {
          on_recv(u, r, c);
        } else if (r.ud != u.aux_ud) {
          --u.writes_left;
        }
        break;
      default: break;
    }
  }

  void on_recv(Unit& u, Request& r, const CqeCopy& c) {
    if (c.res > 0) {
      uring::Cqe cqe{};
      cqe.user_data = c.ud;
      cqe.res = c.res;
      cqe.flags = c.flags;
      const uring::BufferView view = group_.take(cqe);
      if (!view.ok() || view.size != static_cast<std::uint32_t>(c.res)) {
        return fail(u.op.index, std::string("BufferGroup::take: ") + uring::describe(view.error) + "; " + show(r) + "; " + show(c));
      }
      if (u.received + view.size > u.len || std::memcmp(view.data, u.wbuf + u.received, view.size) != 0) {
        return fail(u.op.index, "received bytes differ from the stream sent at offset " + std::to_string(u.received) + "; " +
                                    show(r) + "; " + show(c));
      }
      u.received += view.size;
      if (const uring::BufferError e = group_.recycle(view); e != uring::BufferError::none) {
        return fail(u.op.index, std::string("BufferGroup::recycle: ") + uring::describe(e) + "; " + show(c));
      }
    }
    if (!r.done) {
      if (u.received == u.len && !u.cancel_queued) {
        // Everything came and the receive is still armed: cancel it.
        u.cancel_queued = true;
        reserve(1);
        u.aux_ud = add(u, "ASYNC_CANCEL (the multishot receive)", exactly(0));
        uring::prep_cancel(sqe(), u.main_ud).set_user_data(u.aux_ud);
        req(u.main_ud).final_ok = exactly(-ECANCELED);
      }
      return;
    }
    u.armed = false;
    if (r.res == -ECANCELED && !u.cancel_queued) {
      return fail(u.op.index, "multishot receive cancelled by nobody; " + show(r) + "; " + show(c));
    }
    uring::Cqe cqe{};
    cqe.user_data = c.ud;
    cqe.res = c.res;
    cqe.flags = c.flags;
    const uring::NoBuffersAction action = group_.on_multishot_end(cqe);
    if (action == uring::NoBuffersAction::fail) {
      return fail(u.op.index, "BufferGroup::on_multishot_end says fail; " + show(c));
    }
    // Every buffer is back by now (each data CQE's buffer is recycled as it
    // is taken), so the group answers rearm_now unless another receive took
    // the free ones first (or one is parked ahead). Counted, and re-armed
    // below either way; rearm_parked may queue a NOP (check() ignores it).
    if (action == uring::NoBuffersAction::parked) ++result_.stats.parked;
    (void)group_.rearm_parked([](std::uint64_t) {});
    if (u.received < u.len) {
      ++result_.stats.rearms;
      reserve(1);
      arm_recv(u);
    }
  }

  // After the round: what the unit left behind.
  void finish(Unit& u) {
    switch (u.op.kind) {
      case OpKind::poll_single:
      case OpKind::poll_multi:
      case OpKind::poll_update: {
        if (u.op.kind != OpKind::poll_single) {
          // Removed while armed (0, poll -ECANCELED), or ended by a full CQ
          // before the removal came (-ENOENT, poll's final is its mask).
          if ((u.remove_res == 0) != (u.poll_final == -ECANCELED)) {
            return fail(u.op.index, "POLL_REMOVE returned " + errno_name(u.remove_res) + " but the multishot poll ended with " +
                                        errno_name(u.poll_final));
          }
        }
        // The pipe holds exactly the bytes written, in order.
        int avail = -1;
        ::ioctl(pipes_[u.pipe][0], FIONREAD, &avail);
        if (avail != static_cast<int>(u.received)) {
          return fail(u.op.index, "pipe holds " + std::to_string(avail) + " bytes, " + std::to_string(u.received) + " written");
        }
        if (::read(pipes_[u.pipe][0], u.rbuf, u.received) != static_cast<ssize_t>(u.received) ||
            std::memcmp(u.rbuf, u.wbuf, u.received) != 0) {
          return fail(u.op.index, "bytes in the pipe differ from the ones written");
        }
        break;
      }
      case OpKind::recv_multishot:
        if (u.received != u.len || u.armed) {
          return fail(u.op.index, "multishot receive got " + std::to_string(u.received) + " of " + std::to_string(u.len) +
                                      " bytes" + (u.armed ? ", still armed" : ""));
        }
        break;
      case OpKind::send_zc: {
        if (u.received != u.len || std::memcmp(u.rbuf, u.wbuf, u.len) != 0) {
          return fail(u.op.index, "the SEND_ZC peer got " + std::to_string(u.received) + " bytes, or other bytes, of " +
                                      std::to_string(u.len) + " sent");
        }
        break;
      }
      default: break;
    }
    if (needs_pipe(u.op.kind) || u.op.kind == OpKind::cancel_any) {
      // Every unit leaves its pipes empty.
      for (unsigned i = 0; i < (u.op.kind == OpKind::cancel_any ? u.npipes : 1); ++i) {
        const int p = u.op.kind == OpKind::cancel_any ? u.pipes[i] : u.pipe;
        int avail = -1;
        ::ioctl(pipes_[p][0], FIONREAD, &avail);
        if (avail != 0) return fail(u.op.index, "pipe " + std::to_string(p) + " left with " + std::to_string(avail) + " bytes");
      }
    }
  }

  // ---- The oracle -------------------------------------------------------------------

  void dispatch(const CqeCopy& c, bool on_ring_b) {
    ++result_.stats.cqes;
    const std::uint64_t n = ++reaped_;
    if (n == options_.faults.drop_cqe) return;
    check(c, on_ring_b);
    if (n == options_.faults.duplicate_cqe) check(c, on_ring_b);
  }

  void check(const CqeCopy& c, bool on_ring_b) {
    if (result_.failed) {
      if (std::getenv("URING_STRESS_DEBUG")) std::fprintf(stderr, "after the failure: %s\n", show(c).c_str());
      return;
    }
    const std::uint64_t tag = c.ud & ~kSeqMask;
    const std::uint64_t seq = c.ud & kSeqMask;
    if (tag == kTagHouse && !on_ring_b && house_pending_ && c.res == 0 && c.flags == 0) {
      house_pending_ = false;
      return;
    }
    if (!on_ring_b && group_.valid() && c.res == 0 && c.flags == 0) {
      uring::Cqe cqe{};
      cqe.user_data = c.ud;
      // BufferGroup::rearm_parked's wake-up NOP (it left requests parked after promising some a buffer).
      if (group_.is_internal(cqe)) return;
    }
    if (tag != (on_ring_b ? kTagB : kTagA)) {
      return fail(current_op_, std::string("CQE with a user_data nobody submitted on the ") + (on_ring_b ? "second" : "main") +
                                   " ring; " + show(c));
    }
    if (seq < round_base_) {
      return fail(current_op_, "CQE for a request of an earlier round, which had its final CQE already (a duplicate); " + show(c));
    }
    if (seq >= round_base_ + reqs_.size()) return fail(current_op_, "CQE with a user_data never submitted; " + show(c));
    Request& r = req(c.ud);
    if (r.on_ring_b != on_ring_b) return fail(r.op_index, "CQE on the wrong ring; " + show(r) + "; " + show(c));
    if (r.done) return fail(r.op_index, "a CQE after the request's final CQE (exactly-once broken); " + show(r) + "; " + show(c));
    if (r.silent) return fail(r.op_index, "a CQE for a successful IOSQE_CQE_SKIP_SUCCESS request; " + show(r) + "; " + show(c));
    const bool more = (c.flags & abi::IORING_CQE_F_MORE) != 0;
    const bool notif = (c.flags & abi::IORING_CQE_F_NOTIF) != 0;
    switch (r.shape) {
      case Shape::single:
        if (more || notif) return fail(r.op_index, "F_MORE/F_NOTIF on a single-shot request; " + show(r) + "; " + show(c));
        if (!r.final_ok.ok(c.res)) return fail(r.op_index, "wrong result; " + show(r) + "; " + show(c));
        finish_request(r, c.res);
        break;
      case Shape::multishot:
        if (more) {
          if (!r.more_ok.ok(c.res)) return fail(r.op_index, "wrong result on an F_MORE CQE; " + show(r) + "; " + show(c));
          ++r.more_seen;
        } else {
          if (!r.final_ok.ok(c.res)) return fail(r.op_index, "wrong final result; " + show(r) + "; " + show(c));
          finish_request(r, c.res);
        }
        break;
      case Shape::zc:
        // io_uring/net.c io_send_zc: the result CQE carries F_MORE when a
        // notification will follow; the notification has F_NOTIF, res 0
        // and ends the request.
        if (!r.zc_result_seen) {
          if (notif) return fail(r.op_index, "zero-copy notification before the send's result; " + show(r) + "; " + show(c));
          if (!r.final_ok.ok(c.res)) return fail(r.op_index, "wrong result; " + show(r) + "; " + show(c));
          r.res = c.res;
          if (more) {
            r.zc_result_seen = true;
          } else {
            finish_request(r, c.res);
          }
        } else {
          if (!notif || more || c.res != 0) {
            return fail(r.op_index, "expected the zero-copy notification (F_NOTIF, no F_MORE, res 0); " + show(r) + "; " + show(c));
          }
          finish_request(r, r.res);
        }
        break;
    }
    if (!result_.failed) on_cqe(units_[r.unit], r, c);
  }

  void finish_request(Request& r, int res) {
    r.done = true;
    r.res = res;
    --outstanding_;
  }

  // Takes every CQE there is from both rings; with `wait`, waits up to a
  // millisecond for the first.
  void collect(bool wait) {
    // Local: on_cqe may submit, and a full SQ may bring us back here.
    std::vector<CqeCopy> batch;
    batch.reserve(32);
    if (has_reaper(options_.variant)) {
      std::unique_lock lock(mutex_);
      if (wait && queue_.empty()) cv_.wait_for(lock, std::chrono::milliseconds(1));
      batch.assign(queue_.begin(), queue_.end());
      queue_.clear();
      if (reaper_error_) {
        const int e = reaper_error_;
        lock.unlock();
        return fail(current_op_, "reaper thread's wait_cqes: " + errno_name(e));
      }
    } else {
      if (wait) {
        const int ret = ring_.submit_and_wait(1, uring::WaitOptions{.timeout = std::chrono::milliseconds(1)});
        if (ret < 0 && ret != -ETIME && ret != -EINTR && ret != -EAGAIN && ret != -EBUSY) {
          return fail(current_op_, "submit_and_wait: " + errno_name(ret));
        }
      }
      if (ring_.cq_overflow_pending()) overflow_seen_ = true;
      ring_.for_each_cqe([&](const uring::Cqe& cqe) { batch.push_back(copy(cqe)); });
    }
    const std::size_t from_a = batch.size();
    ring_b_.for_each_cqe([&](const uring::Cqe& cqe) { batch.push_back(CqeCopy{cqe.user_data, cqe.res, cqe.flags, {0, 0}}); });
    reaped_a_ += from_a;
    reaped_b_ += batch.size() - from_a;
    for (std::size_t i = 0; i < batch.size(); ++i) dispatch(batch[i], i >= from_a);
  }

  // ---- Rounds -------------------------------------------------------------------

  void run_rounds(const std::vector<Op>& ops) {
    std::size_t i = 0;
    while (i < ops.size() && !result_.failed) {
      std::size_t end = i + 1;
      if (ops[i].kind != OpKind::cancel_any) {
        while (end < ops.size() && end - i < kMaxUnitsPerRound && !(ops[end].flags & kFlagNewRound) &&
               ops[end].kind != OpKind::cancel_any) {
          ++end;
        }
      }
      run_round(ops, i, end);
      i = end;
    }
    if (result_.failed) return;
    // Nothing may come after the last round: any CQE now is a duplicate.
    round_base_ = next_seq_;
    reqs_.clear();
    for (int k = 0; k < 3 && !result_.failed; ++k) collect(true);
    check_ring_state("after the last round");
  }

  // ---- The rings' own state ---------------------------------------------------------

  static std::uint32_t load(const std::uint32_t* word) { return word ? __atomic_load_n(word, __ATOMIC_ACQUIRE) : 0; }

  // What the ring's own words say once a round is over (engine.h, above
  // RunOptions): empty, consistent, and the CQ tail moved by exactly the
  // CQEs reaped since the last check. `reaped` and `cq_tail_mark` are the
  // engine's count of CQEs taken from the ring and the CQ tail at the last
  // check.
  std::string ring_problems(const char* name, uring::Ring& ring, std::uint64_t reaped, std::uint64_t& reaped_mark,
                            std::uint32_t& cq_tail_mark, bool sqpoll) {
    const uring::Ring::Mapping m = ring.mapping();
    std::uint32_t sq_head = load(m.sq_khead);
    const std::uint32_t sq_tail = load(m.sq_ktail);
    if (sqpoll && sq_head != sq_tail) {
      // The poller consumes SQEs on its own time (a silent success at the
      // end of a round may still be on its way): give it the round's deadline.
      const auto deadline = Clock::now() + std::chrono::milliseconds(options_.round_deadline_ms);
      while (sq_head != sq_tail && Clock::now() < deadline) {
        (void)ring.submit();  // wakes the poller if it sleeps
        std::this_thread::sleep_for(std::chrono::microseconds(50));
        sq_head = load(m.sq_khead);
      }
    }
    const std::uint32_t cq_head = load(m.cq_khead);
    const std::uint32_t cq_tail = load(m.cq_ktail);
    std::string out;
    auto problem = [&](const std::string& what) { out += std::string(out.empty() ? "" : "; ") + name + " " + what; };
    if (ring.sqe_tail() != sq_tail) {
      problem("SQ: " + std::to_string(ring.sqe_tail() - sq_tail) + " SQEs handed out (sqe_tail " +
              std::to_string(ring.sqe_tail()) + ") but never published (kernel SQ tail " + std::to_string(sq_tail) + ")");
    }
    if (sq_tail - sq_head > m.sq_entries) {
      problem("SQ: tail " + std::to_string(sq_tail) + " - head " + std::to_string(sq_head) + " above the SQ size " +
              std::to_string(m.sq_entries));
    } else if (sq_head != sq_tail) {
      problem("SQ: " + std::to_string(sq_tail - sq_head) + " published SQEs not consumed (head " + std::to_string(sq_head) +
              ", tail " + std::to_string(sq_tail) + ")");
    }
    if (ring.sq_pending() != 0 || ring.sq_space_left() != ring.sq_entries()) {
      problem("SQ: sq_pending() " + std::to_string(ring.sq_pending()) + ", sq_space_left() " +
              std::to_string(ring.sq_space_left()) + " of " + std::to_string(ring.sq_entries()));
    }
    if (ring.sq_dropped() != 0) problem("SQ: " + std::to_string(ring.sq_dropped()) + " SQEs dropped as invalid");
    if (cq_tail - cq_head > m.cq_entries) {
      problem("CQ: tail " + std::to_string(cq_tail) + " - head " + std::to_string(cq_head) + " above the CQ size " +
              std::to_string(m.cq_entries));
    } else if (cq_head != cq_tail || ring.cq_ready() != 0) {
      problem("CQ: " + std::to_string(cq_tail - cq_head) + " CQEs left unreaped (head " + std::to_string(cq_head) + ", tail " +
              std::to_string(cq_tail) + ", cq_ready() " + std::to_string(ring.cq_ready()) + ")");
    }
    if (ring.cq_overflow_pending()) problem("CQ: IORING_SQ_CQ_OVERFLOW still set: CQEs wait in the kernel's overflow list");
    if (ring.cq_overflow() != 0) problem("CQ: " + std::to_string(ring.cq_overflow()) + " CQEs dropped (cq_overflow)");
    const std::uint32_t posted = cq_tail - cq_tail_mark;
    if (posted != static_cast<std::uint32_t>(reaped - reaped_mark)) {
      problem("CQ: the tail moved by " + std::to_string(posted) + " since the last check, but " +
              std::to_string(reaped - reaped_mark) + " CQEs were reaped");
    }
    cq_tail_mark = cq_tail;
    reaped_mark = reaped;
    return out;
  }

  void check_ring_state(const char* when) {
    if (result_.failed) return;
    std::string problems = ring_problems("main ring", ring_, reaped_a_, reaped_a_mark_, cq_tail_a_, is_sqpoll(options_.variant));
    const std::string b = ring_problems("MSG_RING target ring", ring_b_, reaped_b_, reaped_b_mark_, cq_tail_b_, false);
    if (!b.empty()) problems += (problems.empty() ? "" : "; ") + b;
    if (group_.valid() && (group_.kernel_owned_count() != group_.buffer_count() || group_.parked_count() != 0)) {
      problems += std::string(problems.empty() ? "" : "; ") + "buffer group: " + std::to_string(group_.kernel_owned_count()) +
                  " of " + std::to_string(group_.buffer_count()) + " buffers with the kernel, " +
                  std::to_string(group_.parked_count()) + " parked";
    }
    if (has_reaper(options_.variant)) {
      std::lock_guard lock(mutex_);
      if (!queue_.empty()) {
        problems += std::string(problems.empty() ? "" : "; ") + std::to_string(queue_.size()) +
                    " CQEs the reaper took still wait for the oracle";
      }
    }
    if (!problems.empty()) fail(current_op_, std::string("ring state ") + when + ": " + problems);
  }

  // Faults::stray_cqe_round / unpublished_sqe_round: break the state the
  // check above reads, after round `round` (1-based).
  void break_ring_state(std::uint64_t round) {
    if (round == options_.faults.stray_cqe_round) {
      // A NOP nobody counts; wait (up to the deadline) until its CQE is in
      // the CQ, and leave it there.
      uring::prep_nop(sqe()).set_user_data(kTagHouse | 1);
      (void)ring_.submit_and_wait(1, uring::WaitOptions{.timeout = std::chrono::milliseconds(options_.round_deadline_ms)});
    }
    if (round == options_.faults.unpublished_sqe_round) {
      if (uring::Sqe* s = ring_.get_sqe()) uring::prep_nop(*s).set_user_data(kTagHouse | 2);
    }
  }

  // After a round that used IOSQE_IO_DRAIN the kernel may still have
  // ctx->drain_active set (it clears it only when a request passes straight
  // through io_drain_req), and then the next request is issued from task
  // work, after the SQEs that follow it in its submission: a TIMEOUT_REMOVE
  // could run before the TIMEOUT it removes (-ENOENT). One NOP of the
  // engine's own, alone, clears it before the next round starts.
  // The NOP clears it only if nothing else is allocated when it is
  // submitted: a request whose CQE we saw can still be on its way to being
  // freed (an io-wq worker posts, then frees), and then the NOP itself is
  // deferred and drain_active stays (found: a later CANCEL_ANY raced its
  // reads in io-wq and counted 2 of 3). So: a pause for those frees, and
  // two NOPs, one after the other.
  void clear_drain() {
    for (int k = 0; k < 2 && !result_.failed; ++k) {
      std::this_thread::sleep_for(std::chrono::microseconds(300));
      house_pending_ = true;
      reserve(1);
      uring::prep_nop(sqe()).set_user_data(kTagHouse);
      submit();
      const auto deadline = Clock::now() + std::chrono::milliseconds(options_.round_deadline_ms);
      while (house_pending_ && !result_.failed) {
        collect(true);
        if (house_pending_ && Clock::now() > deadline) fail(current_op_, "the engine's drain-clearing NOP never completed");
      }
    }
  }

  void run_round(const std::vector<Op>& ops, std::size_t first, std::size_t end) {
    if (drain_used_) {
      clear_drain();
      drain_used_ = false;
    }
    round_base_ = next_seq_;
    reqs_.clear();
    outstanding_ = 0;
    overflow_seen_ = false;
    round_open_ = true;
    unsigned next_pipe = 0;
    const std::size_t n = end - first;
    // IOSQE_IO_DRAIN only in rounds whose requests all complete without a
    // follow-up SQE. Since Linux 6.16 ("io_uring: drain based on allocates
    // reqs", io_uring.c io_drain_req / io_queue_deferred) a request
    // submitted while ctx->drain_active is still set goes to the defer list
    // and, as its first entry, waits until no other request is in flight;
    // drain_active is cleared only when a later request passes straight
    // through. So a follow-up (a POLL_REMOVE, the cancel of a multishot
    // receive) submitted after a drained request of the same round can wait
    // for the very request it is meant to end: a deadlock the shrinker
    // found (seed 1, ops 78-79 before this rule). A round starts with
    // nothing in flight, so its first request clears drain_active again.
    drain_safe_ = true;
    // Nor in rounds with a SEND_ZC: on 6.16+ a SEND_ZC that is drained, or
    // submitted while drain_active is set, never completes. Its
    // notification is a request of its own (io_uring/notif.c
    // io_alloc_notif), allocated at prep and never counted in nr_drained, so
    // io_queue_deferred's nr_req_allocated == nr_drained never holds
    // (reproduced on 6.18 by a drained NOP then a SEND_ZC: no CQE, ever).
    // And not with ops whose result depends on one request being armed
    // before the next runs (a cancel, a timeout removal, a linked timeout
    // cancelling a read): while drain_active is set every new request is
    // marked REQ_F_FORCE_ASYNC (io_init_req, "knock it to the slow queue
    // path") and runs in io-wq, where a cancel can run before its target
    // is queued (found: CANCEL_FD|ALL answered 0).
    for (std::size_t k = first; k < end; ++k) {
      if (!self_completing(ops[k].kind) || !order_free(ops[k].kind)) drain_safe_ = false;
    }
    for (std::size_t k = 0; k < n && !result_.failed; ++k) {
      Unit& u = units_[k];
      u = Unit{};
      u.op = ops[first + k];
      u.slot = static_cast<unsigned>(k);
      u.wbuf = arena_.get() + 2 * kRegion * k;
      u.rbuf = u.wbuf + kRegion;
      current_op_ = u.op.index;
      // What this kernel or round cannot give the op turns it into a NOP:
      // decided from the list alone, so a re-run does the same.
      if (needs_pipe(u.op.kind)) {
        if (next_pipe < kPipes) {
          u.pipe = static_cast<int>(next_pipe++);
        } else {
          u.op.kind = OpKind::nop;
        }
      }
      if (u.op.kind == OpKind::cancel_any) {
        u.npipes = 1 + static_cast<unsigned>(u.op.param % 4);
        for (unsigned p = 0; p < u.npipes; ++p) u.pipes[p] = static_cast<int>(next_pipe++);
      }
      if ((u.op.kind == OpKind::recv_multishot && (recv_busy_ || !group_.valid())) ||
          (u.op.kind == OpKind::send_zc && (zc_busy_ || tcp_[0] < 0))) {
        u.op.kind = OpKind::nop;
      }
      if (u.op.kind == OpKind::recv_multishot) recv_busy_ = true;
      if (u.op.kind == OpKind::send_zc) zc_busy_ = true;
      start(u);
    }
    submit();
    const auto deadline = Clock::now() + std::chrono::milliseconds(options_.round_deadline_ms);
    while (outstanding_ > 0 && !result_.failed) {
      collect(true);
      submit();
      if (outstanding_ > 0 && Clock::now() > deadline) {
        std::string missing;
        std::uint32_t op = current_op_;
        for (const Request& r : reqs_) {
          if (!r.done && !r.silent) {
            if (missing.empty()) op = r.op_index;
            missing += "\n  " + show(r) + (r.more_seen ? " (" + std::to_string(r.more_seen) + " F_MORE CQEs came)" : "");
          }
        }
        fail(op, "no final CQE within " + std::to_string(options_.round_deadline_ms) + " ms for:" + missing);
      }
    }
    for (std::size_t k = 0; k < n && !result_.failed; ++k) finish(units_[k]);
    // The ring's own counters: nothing dropped (FEAT_NODROP keeps overflowed
    // CQEs in the kernel's list; cq_overflow counts only lost ones), no SQE
    // skipped as invalid, every SQE consumed.
    if (!result_.failed && (ring_.cq_overflow() != 0 || ring_.sq_dropped() != 0 ||
                            (ring_.sq_pending() != 0 && !is_sqpoll(options_.variant)))) {
      fail(current_op_, "ring counters after the round: cq_overflow " + std::to_string(ring_.cq_overflow()) + ", sq_dropped " +
                            std::to_string(ring_.sq_dropped()) + ", SQEs not consumed " + std::to_string(ring_.sq_pending()));
    }
    recv_busy_ = zc_busy_ = false;
    ++result_.stats.rounds;
    if (overflow_seen_) ++result_.stats.overflow_rounds;
    break_ring_state(result_.stats.rounds);
    check_ring_state("after the round");
    if (!result_.failed) round_open_ = false;
  }

  RunOptions options_;
  RunResult result_;
  uring::Ring ring_;
  uring::Ring ring_b_;
  bool cqe32_ = false;
  uring::FileTable files_;
  uring::BufferTable buffers_;
  uring::BufferGroup group_;
  int file_fd_ = -1;
  std::array<std::array<int, 2>, kPipes> pipes_{{{-1, -1}, {-1, -1}, {-1, -1}, {-1, -1}, {-1, -1}, {-1, -1}, {-1, -1}, {-1, -1}}};
  std::array<int, 2> unix_pair_{-1, -1};
  std::array<int, 2> tcp_{-1, -1};
  struct FreeDeleter {
    void operator()(unsigned char* p) const { std::free(p); }
  };
  std::unique_ptr<unsigned char, FreeDeleter> arena_;

  std::array<Unit, kMaxUnitsPerRound> units_;
  std::array<std::array<iovec, 3>, kMaxUnitsPerRound> wiov_{};
  std::deque<Request> reqs_;  // deque: a Request& stays valid while on_cqe adds follow-ups
  std::uint64_t next_seq_ = 1;
  std::uint64_t round_base_ = 1;
  unsigned outstanding_ = 0;
  std::uint64_t reaped_ = 0;
  // CQEs taken from each ring (collect), and at the last ring-state check
  // with the CQ tail then.
  std::uint64_t reaped_a_ = 0, reaped_b_ = 0;
  std::uint64_t reaped_a_mark_ = 0, reaped_b_mark_ = 0;
  std::uint32_t cq_tail_a_ = 0, cq_tail_b_ = 0;
  std::uint32_t current_op_ = 0;
  bool drain_safe_ = true;
  bool drain_used_ = false;
  bool house_pending_ = false;
  bool round_open_ = false;
  bool overflow_seen_ = false;
  bool recv_busy_ = false;
  bool zc_busy_ = false;

  std::thread reaper_;
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<CqeCopy> queue_;
  int reaper_error_ = 0;
};

}  // namespace

RunResult run(const RunOptions& options, const std::vector<Op>& ops) {
  Engine engine(options);
  return engine.run(ops);
}

// ---- Shrinking ---------------------------------------------------------------------

std::vector<Op> shrink(const RunOptions& options, const std::vector<Op>& ops, const RunResult& failure, unsigned budget,
                       const std::function<void(const std::string&)>& log, double time_limit_seconds) {
  unsigned runs = 0;
  const auto start = Clock::now();
  // What kind of failure it was: the words after the "variant V, seed S: "
  // head up to the first ';' or ':' ("wrong result", "no final CQE within
  // 5000 ms for"). A candidate counts only if it fails the same way, so the
  // shrinker does not wander off to another failure.
  auto kind_of = [](const std::string& message) {
    const std::size_t head = message.find(": ");
    const std::size_t from = head == std::string::npos ? 0 : head + 2;
    const std::size_t to = message.find_first_of(";:", from);
    return message.substr(from, to == std::string::npos ? std::string::npos : to - from);
  };
  const std::string wanted = kind_of(failure.message);
  auto still_fails = [&](const std::vector<Op>& candidate) {
    ++runs;
    if (time_limit_seconds > 0 && std::chrono::duration<double>(Clock::now() - start).count() > time_limit_seconds) {
      runs = budget;  // out of time: stop here
      return false;
    }
    const RunResult r = run(options, candidate);
    return r.failed && !r.setup_failed && kind_of(r.message) == wanted;
  };
  std::vector<Op> best = ops;
  // 1. The prefix that ends with the failing op.
  const auto at = std::find_if(best.begin(), best.end(), [&](const Op& op) { return op.index == failure.op_index; });
  if (at != best.end() && at + 1 != best.end()) {
    std::vector<Op> prefix(best.begin(), at + 1);
    if (still_fails(prefix)) {
      best = std::move(prefix);
      log("shrink: the prefix of " + std::to_string(best.size()) + " ops up to the failing op still fails");
    } else {
      log("shrink: the prefix up to the failing op passes; shrinking the whole list");
    }
  }
  // 2. Delta debugging: remove chunks while the rest still fails.
  std::size_t parts = 2;
  while (best.size() > 1 && runs < budget) {
    const std::size_t chunk = (best.size() + parts - 1) / parts;
    bool removed = false;
    for (std::size_t start = 0; start < best.size() && runs < budget; start += chunk) {
      std::vector<Op> candidate;
      candidate.reserve(best.size());
      for (std::size_t k = 0; k < best.size(); ++k) {
        if (k < start || k >= start + chunk) candidate.push_back(best[k]);
      }
      if (!candidate.empty() && still_fails(candidate)) {
        best = std::move(candidate);
        log("shrink: " + std::to_string(best.size()) + " ops still fail");
        parts = std::max<std::size_t>(parts - 1, 2);
        removed = true;
        break;
      }
    }
    if (!removed) {
      if (chunk <= 1) break;
      parts = std::min(parts * 2, best.size());
    }
  }
  log("shrink: done after " + std::to_string(runs) + " re-runs: " + std::to_string(best.size()) + " ops");
  return best;
}

std::string failure_report(const RunOptions& options, const RunResult& failure, const std::vector<Op>& shrunk) {
  char head[200];
  std::snprintf(head, sizeof head, "stress FAILED: variant %s, seed 0x%llx (%llu), op #%u\n", variant_name(options.variant),
                static_cast<unsigned long long>(options.seed), static_cast<unsigned long long>(options.seed), failure.op_index);
  std::string out = head + failure.message + "\nshrunk op list (" + std::to_string(shrunk.size()) + " ops):\n";
  std::string only;
  for (const Op& op : shrunk) {
    out += "  " + describe(op) + "\n";
    only += (only.empty() ? "" : ",") + std::to_string(op.index);
  }
  out += "re-run: tools/bazelw run //tests/stress:stress -- --variant " + std::string(variant_name(options.variant)) +
         " --seed " + std::to_string(options.seed) + " --ops <the count generated>" +
         (shrunk.size() <= 200 ? " --only " + only : std::string(" (not shrunk below 200 ops)")) +
         "\n(URING_STRESS_DEBUG=1 prints the CQEs that come after the failure)\n";
  return out;
}

}  // namespace stress
