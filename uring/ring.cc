// Ring setup, mapping and teardown: the one file that calls mmap/munmap.
#include "uring/ring.h"

#include <pthread.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "uring/register.h"
#include "uring/setup_error.h"

namespace uring {
namespace {

constexpr std::size_t kPageSize = 4096;

// The kernel aligns the SQ index array after the CQEs to SMP_CACHE_BYTES,
// which is per architecture (and, on MIPS, per configuration). 0: unknown here.
#if defined(__x86_64__) || defined(__i386__) || defined(__aarch64__) || defined(__riscv) || \
    defined(__loongarch__)
constexpr std::size_t kKernelCacheLine = 64;
#elif defined(__powerpc64__)
constexpr std::size_t kKernelCacheLine = 128;
#elif defined(__s390x__)
constexpr std::size_t kKernelCacheLine = 256;
#else
constexpr std::size_t kKernelCacheLine = 0;
#endif
// No architecture aligns to more: the NO_MMAP layout leaves this much room.
constexpr std::size_t kMaxKernelCacheLine = 256;

std::size_t round_up(std::size_t value, std::size_t to) { return (value + to - 1) / to * to; }

std::uint32_t round_up_pow2(std::uint32_t value) {
  std::uint32_t result = 1;
  while (result < value) result <<= 1;
  return result;
}

std::size_t page_size() {
  const long size = ::sysconf(_SC_PAGESIZE);
  return size > 0 ? static_cast<std::size_t>(size) : kPageSize;
}

// Sizes of the two NO_MMAP parts for these options. The kernel's rings region
// is its struct io_rings header (under one page), the CQEs, then (without
// NO_SQARRAY) the SQ index array, cache-line aligned.
struct NoMmapLayout {
  std::size_t rings_bytes = 0;
  std::size_t sqes_bytes = 0;
};

NoMmapLayout no_mmap_layout(const RingOptions& options) {
  const std::size_t page = page_size();
  std::uint32_t sq = round_up_pow2(std::max(1u, std::min(options.entries, 32768u)));
  std::uint32_t cq = options.cq_entries ? round_up_pow2(std::min(options.cq_entries, 65536u)) : 2 * sq;
  const std::size_t cqe_bytes = options.cqe32 ? 32 : 16;
  const std::size_t sqe_bytes = options.sqe128 ? 128 : 64;
  NoMmapLayout layout;
  layout.rings_bytes =
      round_up(page + cq * cqe_bytes + kMaxKernelCacheLine + (options.no_sqarray ? 0 : sq * 4u), page);
  layout.sqes_bytes = round_up(sq * sqe_bytes, page);
  return layout;
}

void unmap(void* address, std::size_t bytes) {
  if (address) ::munmap(address, bytes);
}

// ---- Which thread holds a registered ring fd ---------------------------------
//
// IORING_REGISTER_RING_FDS puts the ring in the *calling thread's* table, and
// IORING_ENTER_REGISTERED_RING looks the index up in the calling thread's
// table: from another thread the same number names that thread's ring, if it
// has one. So each Ring remembers the token of the thread that registered it.

// IOPOLL rings read this instead of sq_flags to decide whether to enter
// (never written; not const, since barrier.h loads through atomic_ref).
std::uint32_t kEveryBit = ~0u;

std::atomic<std::uint64_t> g_last_token{0};

// A thread cannot unregister another thread's slot. A Ring closed away from
// its creating thread leaves its slot here; the creating thread releases it
// the next time it creates or closes a Ring, and its entries go when it
// exits (the kernel drops the thread's whole table then).
struct Orphan {
  std::uint64_t token;
  int index;
};
// A pthread mutex, held across fork() by the handlers below, so a child
// never inherits it locked by a thread that does not exist there.
pthread_mutex_t g_orphans_mutex = PTHREAD_MUTEX_INITIALIZER;
std::vector<Orphan> g_orphans;
std::atomic<int> g_orphan_count{0};

struct OrphansLock {
  OrphansLock() { ::pthread_mutex_lock(&g_orphans_mutex); }
  ~OrphansLock() { ::pthread_mutex_unlock(&g_orphans_mutex); }
  OrphansLock(const OrphansLock&) = delete;
  OrphansLock& operator=(const OrphansLock&) = delete;
};

void drop_orphans_of(std::uint64_t token) {
  g_orphans.erase(std::remove_if(g_orphans.begin(), g_orphans.end(),
                                 [token](const Orphan& orphan) { return orphan.token == token; }),
                  g_orphans.end());
  g_orphan_count.store(static_cast<int>(g_orphans.size()), std::memory_order_relaxed);
}

void before_fork() { ::pthread_mutex_lock(&g_orphans_mutex); }
void after_fork_in_parent() { ::pthread_mutex_unlock(&g_orphans_mutex); }
void after_fork_in_child() {
  // The child has no registered rings: no slot to release, and its one
  // thread gets a new token when it next creates a ring.
  g_orphans.clear();
  g_orphan_count.store(0, std::memory_order_relaxed);
  detail::this_thread_token = 0;
  ::pthread_mutex_unlock(&g_orphans_mutex);
}

// Dropped at thread exit: the kernel has released the thread's slots.
struct ForgetOrphansAtExit {
  ~ForgetOrphansAtExit() {
    if (g_orphan_count.load(std::memory_order_relaxed) == 0) return;
    OrphansLock lock;
    drop_orphans_of(detail::this_thread_token);
  }
};

std::uint64_t this_thread_token() {
  if (detail::this_thread_token == 0) {
    static const int at_fork = ::pthread_atfork(before_fork, after_fork_in_parent, after_fork_in_child);
    (void)at_fork;
    static thread_local ForgetOrphansAtExit at_exit;
    (void)&at_exit;
    detail::this_thread_token = g_last_token.fetch_add(1, std::memory_order_relaxed) + 1;
  }
  return detail::this_thread_token;
}

void unregister_ring_index(int index) {
  abi::io_uring_rsrc_update update{};
  update.offset = static_cast<std::uint32_t>(index);
  // Through the index itself: works for rings with and without a plain fd.
  (void)sys::io_uring_register(index, abi::IORING_UNREGISTER_RING_FDS | abi::IORING_REGISTER_USE_REGISTERED_RING,
                               &update, 1);
}

void release_orphans_of_this_thread() {
  if (g_orphan_count.load(std::memory_order_relaxed) == 0 || detail::this_thread_token == 0) return;
  OrphansLock lock;
  for (const Orphan& orphan : g_orphans) {
    if (orphan.token == detail::this_thread_token) unregister_ring_index(orphan.index);
  }
  drop_orphans_of(detail::this_thread_token);
}

void leave_orphan(std::uint64_t token, int index) {
  OrphansLock lock;
  g_orphans.push_back({token, index});
  g_orphan_count.store(static_cast<int>(g_orphans.size()), std::memory_order_relaxed);
}

// A spin-wait hint to the CPU (lets the sibling hyperthread run, saves power).
inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#endif
}

std::int64_t monotonic_ns() {
  timespec now{};
  ::clock_gettime(CLOCK_MONOTONIC, &now);
  return std::int64_t{now.tv_sec} * 1000000000 + now.tv_nsec;
}

abi::kernel_timespec to_kernel_timespec(std::int64_t ns) {
  abi::kernel_timespec ts{};
  ts.tv_sec = ns / 1000000000;
  ts.tv_nsec = ns % 1000000000;
  return ts;
}

}  // namespace

Error detail::ring_closed(const char* what) { return Error{EBADF, std::string(what) + ": the ring is closed"}; }

std::uint32_t RingOptions::setup_flags() const {
  std::uint32_t flags = extra_setup_flags;
  if (cq_entries) flags |= abi::IORING_SETUP_CQSIZE;
  if (clamp) flags |= abi::IORING_SETUP_CLAMP;
  if (sqpoll) flags |= abi::IORING_SETUP_SQPOLL;
  if (sqpoll_cpu) flags |= abi::IORING_SETUP_SQ_AFF;
  if (iopoll) flags |= abi::IORING_SETUP_IOPOLL;
  if (hybrid_iopoll) flags |= abi::IORING_SETUP_HYBRID_IOPOLL;
  if (attach_wq_fd || attach_wq) flags |= abi::IORING_SETUP_ATTACH_WQ;
  if (start_disabled) flags |= abi::IORING_SETUP_R_DISABLED;
  if (submit_all) flags |= abi::IORING_SETUP_SUBMIT_ALL;
  if (coop_taskrun) flags |= abi::IORING_SETUP_COOP_TASKRUN;
  if (taskrun_flag) flags |= abi::IORING_SETUP_TASKRUN_FLAG;
  if (sqe128) flags |= abi::IORING_SETUP_SQE128;
  if (cqe32) flags |= abi::IORING_SETUP_CQE32;
  if (cqe_mixed) flags |= abi::IORING_SETUP_CQE_MIXED;
  if (single_issuer) flags |= abi::IORING_SETUP_SINGLE_ISSUER;
  if (defer_taskrun) flags |= abi::IORING_SETUP_DEFER_TASKRUN;
  if (no_mmap) flags |= abi::IORING_SETUP_NO_MMAP;
  if (registered_fd_only) flags |= abi::IORING_SETUP_REGISTERED_FD_ONLY;
  if (no_sqarray) flags |= abi::IORING_SETUP_NO_SQARRAY;
  // DEFER_TASKRUN posts completions only from io_uring_enter(GETEVENTS);
  // TASKRUN_FLAG makes the kernel say (IORING_SQ_TASKRUN) when one would
  // post some, so peek_cqe / for_each_cqe enter exactly then.
  if (flags & abi::IORING_SETUP_DEFER_TASKRUN) flags |= abi::IORING_SETUP_TASKRUN_FLAG;
  return flags;
}

std::size_t Ring::no_mmap_bytes(const RingOptions& options) {
  const NoMmapLayout layout = no_mmap_layout(options);
  return layout.rings_bytes + layout.sqes_bytes;
}

Result<Ring> Ring::create(const RingOptions& options) {
  if (auto error = check_setup_options(options)) return *std::move(error);
  release_orphans_of_this_thread();  // free slots of rings closed by other threads

  abi::io_uring_params params{};
  params.flags = options.setup_flags();
  params.cq_entries = options.cq_entries;
  params.sq_thread_idle = options.sqpoll_idle_ms;
  if (options.sqpoll_cpu) params.sq_thread_cpu = static_cast<std::uint32_t>(*options.sqpoll_cpu);
  if (options.attach_wq_fd) params.wq_fd = static_cast<std::uint32_t>(*options.attach_wq_fd);
  if (options.attach_wq) params.wq_fd = static_cast<std::uint32_t>(options.attach_wq->fd());

  Ring ring;
  State& s = ring.s_;
  if (options.no_mmap) {
    const NoMmapLayout layout = no_mmap_layout(options);
    unsigned char* memory = static_cast<unsigned char*>(options.no_mmap_memory);
    const std::size_t bytes = layout.rings_bytes + layout.sqes_bytes;
    if (memory == nullptr) {
      void* mapped = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (mapped == MAP_FAILED) {
        return error_from_errno(-errno, "NO_MMAP: allocating " + std::to_string(bytes) +
                                            " bytes of ring memory");
      }
      memory = static_cast<unsigned char*>(mapped);
      s.rings = Region{memory, bytes, true};
    } else {
      s.rings = Region{memory, bytes, false};
    }
    params.cq_off.user_addr = reinterpret_cast<std::uintptr_t>(memory);
    params.sq_off.user_addr = reinterpret_cast<std::uintptr_t>(memory + layout.rings_bytes);
    s.sqe_array = Region{memory + layout.rings_bytes, layout.sqes_bytes, false};
  }

  const int fd = sys::io_uring_setup(options.entries, &params);
  if (fd < 0) {
    // `ring` unmaps the NO_MMAP memory it allocated on the way out.
    return describe_setup_error(fd, options);
  }
  if (options.registered_fd_only) {
    s.registered_index = fd;
    s.enter_fd = fd;
    s.enter_flags = abi::IORING_ENTER_REGISTERED_RING;
    s.owner_token = this_thread_token();
  } else {
    s.ring_fd = fd;
    s.enter_fd = fd;
  }
  init_from_params(s, params);
  s.creator_pid = ::getpid();
  s.creator_pid_namespace = pid_namespace_id();

  unsigned char* nommap_rings = nullptr;
  unsigned char* nommap_sqes = nullptr;
  if (options.no_mmap) {
    nommap_rings = static_cast<unsigned char*>(s.rings.address);
    nommap_sqes = static_cast<unsigned char*>(s.sqe_array.address);
  }
  if (auto mapped = map_rings(s, fd, params, nommap_rings, nommap_sqes); !mapped) return mapped.error();
  s.sqe_tail = s.sq_head_cache = s.sqpoll_published = barrier::load_relaxed(s.sq_ktail);
  s.sq_tail_limit = s.sq_head_cache + s.sq_entries;

  if (options.register_ring_fd && !options.registered_fd_only) {
    constexpr std::uint32_t kIssuerAtEnable = abi::IORING_SETUP_R_DISABLED | abi::IORING_SETUP_SINGLE_ISSUER;
    if ((params.flags & kIssuerAtEnable) == kIssuerAtEnable) {
      // The thread that calls enable() becomes the only submitter
      // (io_register_enable_rings), and from then on the kernel refuses
      // register calls, IORING_UNREGISTER_RING_FDS included, from any other
      // thread: a slot registered here could never be released. Register
      // from the enabling thread instead.
      s.register_fd_at_enable = true;
    } else {
      register_ring_fd(s);
    }
  }
  return ring;
}

void Ring::init_from_params(State& s, const abi::io_uring_params& params) {
  s.params = params;
  s.setup_flags = params.flags;
  s.features = params.features;
  s.sqpoll = (params.flags & abi::IORING_SETUP_SQPOLL) != 0;
  s.sqe_shift = (params.flags & abi::IORING_SETUP_SQE128) ? 7 : 6;
  s.cqe_shift = (params.flags & abi::IORING_SETUP_CQE32) ? 5 : 4;
  s.cqe_mixed = (params.flags & abi::IORING_SETUP_CQE_MIXED) != 0;
  s.cq_enter_bits = abi::IORING_SQ_CQ_OVERFLOW;
  // Without TASKRUN_FLAG the kernel does not promise to keep this bit
  // meaningful (after a resize it can stay set), so it is trusted only with it.
  if (params.flags & abi::IORING_SETUP_TASKRUN_FLAG) s.cq_enter_bits |= abi::IORING_SQ_TASKRUN;
}

Result<Ring> Ring::adopt(int fd, const abi::io_uring_params& params) {
  if (fd < 0) return Error{EBADF, "adopt: fd " + std::to_string(fd) + " is not a ring fd"};
  if (params.flags & (abi::IORING_SETUP_NO_MMAP | abi::IORING_SETUP_REGISTERED_FD_ONLY)) {
    return Error{EINVAL,
                 "adopt: a NO_MMAP ring lives in memory its creator chose; set it up with Ring::create instead"};
  }
  release_orphans_of_this_thread();
  Ring ring;
  State& s = ring.s_;
  init_from_params(s, params);
  // s.ring_fd stays -1 until the mapping worked: on failure `ring` unmaps
  // what it mapped and leaves the fd to the caller.
  if (auto mapped = map_rings(s, fd, params, nullptr, nullptr); !mapped) return mapped.error();
  s.ring_fd = fd;
  s.enter_fd = fd;
  s.sqe_tail = s.sq_head_cache = s.sqpoll_published = barrier::load_relaxed(s.sq_ktail);
  s.sq_tail_limit = s.sq_head_cache + s.sq_entries;
  return ring;
}

int Ring::register_ring_fd(State& s) {
  // IORING_REGISTER_RING_FDS (5.18) has no feature bit: just try. It is an
  // optimisation only: if it fails, enter keeps using the plain fd.
  abi::io_uring_rsrc_update update{};
  update.offset = ~0u;  // let the kernel pick a free slot
  update.data = static_cast<std::uint64_t>(s.ring_fd);
  const int ret = sys::io_uring_register(s.ring_fd, abi::IORING_REGISTER_RING_FDS, &update, 1);
  if (ret == 1) {
    s.registered_index = static_cast<int>(update.offset);
    s.enter_fd = s.registered_index;
    s.enter_flags = abi::IORING_ENTER_REGISTERED_RING;
    s.owner_token = this_thread_token();
  }
  return ret;
}

int Ring::register_ring_fd() {
  if (!valid()) return -EBADF;
  if (s_.registered_index >= 0) return -EEXIST;
  if (s_.ring_fd < 0) return -EBADF;
  const int ret = register_ring_fd(s_);
  if (ret == 1) s_.register_fd_at_enable = false;
  return ret < 0 ? ret : (ret == 1 ? 1 : -EIO);
}

int Ring::unregister_ring_fd() {
  if (!valid()) return -EBADF;
  if (s_.registered_index < 0) return -EINVAL;
  if (s_.owner_token != detail::this_thread_token || s_.ring_fd < 0) return -EBADF;
  abi::io_uring_rsrc_update update{};
  update.offset = static_cast<std::uint32_t>(s_.registered_index);
  const int ret = sys::io_uring_register(s_.ring_fd, abi::IORING_UNREGISTER_RING_FDS, &update, 1);
  if (ret != 1) return ret < 0 ? ret : -EIO;
  s_.registered_index = -1;
  s_.enter_fd = s_.ring_fd;
  s_.enter_flags = 0;
  s_.owner_token = 0;
  return 1;
}

int Ring::close_ring_fd() {
  if (!valid()) return -EBADF;
  if (!has_feature(abi::IORING_FEAT_REG_REG_RING)) return -EOPNOTSUPP;
  if (s_.registered_index < 0) return -EINVAL;
  if (s_.ring_fd < 0) return -EBADF;
  ::close(s_.ring_fd);
  s_.ring_fd = -1;
  return 1;
}

int Ring::replace_fd(int fd) {
  if (fd < 0 || !valid()) return -EBADF;
  // Without a registered index the plain fd is also what enter uses.
  if (s_.registered_index < 0) s_.enter_fd = fd;
  s_.ring_fd = fd;
  return 0;
}

int Ring::resync_sqe_tail(std::uint32_t sqe_tail) {
  if (!valid()) return -EBADF;
  const std::uint32_t head = barrier::load_acquire(s_.sq_khead);
  const std::uint32_t published = barrier::load_acquire(s_.sq_ktail);
  if (static_cast<std::int32_t>(sqe_tail - published) < 0 || sqe_tail - head > s_.sq_entries) return -EINVAL;
  s_.sqe_tail = sqe_tail;
  s_.sq_head_cache = head;
  s_.sq_tail_limit = head + s_.sq_entries;
  s_.sqpoll_published = published;
  return 0;
}

Ring::Mapping Ring::mapping() const {
  Mapping m;
  if (!valid()) return m;  // nothing is mapped (the pointers name detail::not_open_ring)
  m.sq_khead = s_.sq_khead;
  m.sq_ktail = s_.sq_ktail;
  m.sq_kflags = s_.sq_kflags;
  m.sq_kdropped = s_.sq_kdropped;
  m.sq_array = s_.sq_array;
  m.sqes = s_.sqes;
  m.sq_mask = s_.sq_mask;
  m.sq_entries = s_.sq_entries;
  m.cq_khead = s_.cq_khead;
  m.cq_ktail = s_.cq_ktail;
  m.cq_kflags = s_.cq_kflags;
  m.cq_koverflow = s_.cq_koverflow;
  m.cqes = s_.cqes;
  m.cq_mask = s_.cq_mask;
  m.cq_entries = s_.cq_entries;
  m.sq_ring = s_.rings.address;
  m.sq_ring_bytes = s_.rings.bytes;
  if (s_.cq_ring.address) {
    m.cq_ring = s_.cq_ring.address;
    m.cq_ring_bytes = s_.cq_ring.bytes;
  } else {
    m.cq_ring = s_.rings.address;
    m.cq_ring_bytes = s_.rings.bytes;
  }
  m.sqes_bytes = std::size_t{s_.sq_entries} << s_.sqe_shift;
  return m;
}

Status Ring::map_rings(State& s, int fd, const abi::io_uring_params& params, unsigned char* rings_memory,
                       unsigned char* sqes_memory) {
  unsigned char* sq_ring = nullptr;
  unsigned char* cq_ring = nullptr;
  if (rings_memory) {
    sq_ring = cq_ring = rings_memory;
    s.sqes = sqes_memory;
  } else {
    const std::size_t cqe_bytes = std::size_t{1} << s.cqe_shift;
    std::size_t sq_bytes = params.sq_off.array + params.sq_entries * sizeof(std::uint32_t);
    const std::size_t cq_bytes = params.cq_off.cqes + params.cq_entries * cqe_bytes;
    const bool single_mmap = (params.features & abi::IORING_FEAT_SINGLE_MMAP) != 0;
    if (single_mmap) sq_bytes = std::max(sq_bytes, cq_bytes);
    void* mapped = ::mmap(nullptr, sq_bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd,
                          static_cast<off_t>(abi::IORING_OFF_SQ_RING));
    if (mapped == MAP_FAILED) return error_from_errno(-errno, "mmap of the SQ ring");
    s.rings = Region{mapped, sq_bytes, true};
    sq_ring = cq_ring = static_cast<unsigned char*>(mapped);
    if (!single_mmap) {
      mapped = ::mmap(nullptr, cq_bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd,
                      static_cast<off_t>(abi::IORING_OFF_CQ_RING));
      if (mapped == MAP_FAILED) return error_from_errno(-errno, "mmap of the CQ ring");
      s.cq_ring = Region{mapped, cq_bytes, true};
      cq_ring = static_cast<unsigned char*>(mapped);
    }
    const std::size_t sqes_bytes = std::size_t{params.sq_entries} << s.sqe_shift;
    mapped = ::mmap(nullptr, sqes_bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd,
                    static_cast<off_t>(abi::IORING_OFF_SQES));
    if (mapped == MAP_FAILED) return error_from_errno(-errno, "mmap of the SQE array");
    s.sqe_array = Region{mapped, sqes_bytes, true};
    s.sqes = static_cast<unsigned char*>(mapped);
  }

  s.sq_khead = reinterpret_cast<std::uint32_t*>(sq_ring + params.sq_off.head);
  s.sq_ktail = reinterpret_cast<std::uint32_t*>(sq_ring + params.sq_off.tail);
  s.sq_kflags = reinterpret_cast<std::uint32_t*>(sq_ring + params.sq_off.flags);
  s.sq_kdropped = reinterpret_cast<std::uint32_t*>(sq_ring + params.sq_off.dropped);
  // s.setup_flags, not params.flags: for a resize, params holds only the resize's own flags.
  s.cq_enter_word = polls_in_enter(s) ? &kEveryBit : s.sq_kflags;
  s.sq_mask = *reinterpret_cast<std::uint32_t*>(sq_ring + params.sq_off.ring_mask);
  s.sq_entries = *reinterpret_cast<std::uint32_t*>(sq_ring + params.sq_off.ring_entries);
  if (!(s.setup_flags & abi::IORING_SETUP_NO_SQARRAY)) {
    // Identity map, written once: SQ slot i always holds SQE i, so the
    // submit path never touches this array.
    auto* array = reinterpret_cast<std::uint32_t*>(sq_ring + params.sq_off.array);
    for (std::uint32_t i = 0; i < s.sq_entries; ++i) array[i] = i;
    s.sq_array = array;
  }

  s.cq_khead = reinterpret_cast<std::uint32_t*>(cq_ring + params.cq_off.head);
  s.cq_ktail = reinterpret_cast<std::uint32_t*>(cq_ring + params.cq_off.tail);
  s.cq_koverflow = reinterpret_cast<std::uint32_t*>(cq_ring + params.cq_off.overflow);
  s.cq_kflags = params.cq_off.flags ? reinterpret_cast<std::uint32_t*>(cq_ring + params.cq_off.flags) : nullptr;
  s.cq_mask = *reinterpret_cast<std::uint32_t*>(cq_ring + params.cq_off.ring_mask);
  s.cq_entries = *reinterpret_cast<std::uint32_t*>(cq_ring + params.cq_off.ring_entries);
  s.cqes = cq_ring + params.cq_off.cqes;
  return ok_status();
}

void Ring::unmap_rings(State& s) {
  for (Region* region : {&s.sqe_array, &s.cq_ring, &s.rings}) {
    if (region->owned) unmap(region->address, region->bytes);
    *region = Region{};
  }
}

void RingRef::link(Ring& ring) noexcept {
  ring_ = &ring;
  next_ = ring.s_.dependents;
  if (next_) next_->prev_ = this;
  ring.s_.dependents = this;
}

void RingRef::take(RingRef& other) noexcept {
  key_ = other.key_;
  ring_ = other.ring_;
  prev_ = other.prev_;
  next_ = other.next_;
  if (prev_) {
    prev_->next_ = this;
  } else if (ring_) {
    ring_->s_.dependents = this;
  }
  if (next_) next_->prev_ = this;
  other.ring_ = nullptr;
  other.prev_ = other.next_ = nullptr;
}

void RingRef::reset() noexcept {
  if (ring_) {
    if (prev_) {
      prev_->next_ = next_;
    } else {
      ring_->s_.dependents = next_;
    }
    if (next_) next_->prev_ = prev_;
  }
  ring_ = nullptr;
  prev_ = next_ = nullptr;
  key_ = 0;
}

void Ring::close() {
  State& s = s_;
  // Dependents first: from here on they see a closed ring (the kernel drops
  // their registrations with the ring).
  for (RingRef* ref = s.dependents; ref;) {
    RingRef* next = ref->next_;
    ref->ring_ = nullptr;
    ref->prev_ = ref->next_ = nullptr;
    ref = next;
  }
  s.dependents = nullptr;
  if (s.registered_index >= 0) {
    if (s.owner_token == detail::this_thread_token) {
      unregister_ring_index(s.registered_index);
    } else {
      leave_orphan(s.owner_token, s.registered_index);  // only its own thread can release the slot
    }
  }
  unmap_rings(s);
  if (s.param_region.owned) unmap(s.param_region.address, s.param_region.bytes);
  if (s.ring_fd >= 0) ::close(s.ring_fd);
  s = State{};
  release_orphans_of_this_thread();
}

unsigned Ring::sqpoll_wakeup_flag(unsigned pending) const {
  if (!s_.sqpoll || pending == 0) return 0;
  barrier::full_fence();  // see barrier.h: tail store vs NEED_WAKEUP read
  return sq_needs_wakeup() ? abi::IORING_ENTER_SQ_WAKEUP : 0;
}

int Ring::submit_sqpoll(unsigned wait_nr) {
  // The poller may consume SQEs the moment the tail is stored, so "how many
  // did this call submit" is what it published, not what is still pending.
  const unsigned published = s_.sqe_tail - s_.sqpoll_published;
  s_.sqpoll_published = s_.sqe_tail;
  unsigned flags = sqpoll_wakeup_flag(sq_pending());
  if (wait_nr > 0 || cq_needs_flush()) flags |= abi::IORING_ENTER_GETEVENTS;
  // The poller submits on its own: without a wake-up or a wait, no system call.
  if (flags != 0) {
    const int ret = enter(published, wait_nr, flags, nullptr, 0);
    if (ret < 0) return ret;
  }
  return static_cast<int>(published);
}

int Ring::wait_for_sq_space() {
  if (!valid()) return -EBADF;  // else submit() finds nothing to do and a get_sqe loop spins
  // Without SQPOLL this consumes the SQEs; with it the poller can only
  // consume what this publishes.
  const int submitted = submit();
  if (submitted < 0) return submitted;
  if (!s_.sqpoll || sq_space_left() > 0) return 0;
  // IORING_ENTER_SQ_WAIT sleeps until the SQ is not full; wake the poller
  // first if it sleeps, or nothing would ever drain it.
  const int ret = enter(0, 0, abi::IORING_ENTER_SQ_WAIT | sqpoll_wakeup_flag(sq_pending()), nullptr, 0);
  return ret < 0 ? ret : 0;
}

int Ring::register_raw(unsigned opcode, const void* arg, unsigned nr_args) const {
  if (s_.ring_fd >= 0) return sys::io_uring_register(s_.ring_fd, opcode, arg, nr_args);
  if (s_.registered_index >= 0 && s_.owner_token == detail::this_thread_token) {
    return sys::io_uring_register(s_.registered_index,
                                  opcode | abi::IORING_REGISTER_USE_REGISTERED_RING, arg, nr_args);
  }
  return -EBADF;  // closed, or a registered_fd_only ring away from its creating thread
}

Status Ring::enable() {
  if (!valid()) return Error{EBADF, "enable: the ring is closed"};
  const int ret = register_raw(abi::IORING_REGISTER_ENABLE_RINGS, nullptr, 0);
  if (ret < 0) {
    return error_from_errno(ret, ret == -EBADFD ? "enable: the ring was not set up with start_disabled "
                                                  "(R_DISABLED), or is already enabled"
                                                : "io_uring_register(ENABLE_RINGS)");
  }
  if (s_.register_fd_at_enable) {
    s_.register_fd_at_enable = false;
    register_ring_fd(s_);
  }
  return ok_status();
}

int Ring::wait_cqes(unsigned count, const WaitOptions& options) { return wait_loop(count, options, false); }

int Ring::submit_and_wait(unsigned wait_nr, const WaitOptions& options) {
  return wait_loop(wait_nr, options, true);
}

// One loop for every wait. The kernel's io_cqring_wait (io_uring/wait.c)
// returns early in ways that do not mean "count CQEs are ready": after
// min_wait with one CQE, when a TIMEOUT request completes, on a signal or
// timeout while some CQE is ready (it then reports 0), and, when the same
// enter submitted SQEs, without saying what the wait did. So every return
// is checked against the CQ and the clock here, and the wait re-entered
// with what is left of the timeout and of min_wait, both counted from the
// call — never from the last enter.
int Ring::wait_loop(unsigned count, const WaitOptions& options, bool submit) {
  if (!valid()) return -EBADF;  // before the count check: a closed ring's CQ holds 0
  // Longest timeout in nanoseconds that an int64 holds with room to add to
  // a clock reading (~146 years); longer ones are "no limit".
  constexpr std::int64_t kForever = std::int64_t{1} << 62;
  bool timed = options.timeout.count() >= 0 && options.timeout.count() < kForever;
  std::int64_t timeout_ns = timed ? options.timeout.count() : 0;
  if (options.min_wait.count() < 0 || options.min_wait.count() > std::int64_t{UINT32_MAX}) {
    return -EINVAL;  // the kernel takes min_wait as 32-bit microseconds (~71 minutes)
  }
  std::int64_t min_wait_ns = std::int64_t{options.min_wait.count()} * 1000;
  std::uint64_t sigmask = reinterpret_cast<std::uintptr_t>(options.sigmask);
  std::uint32_t sigmask_bytes = options.sigmask ? static_cast<std::uint32_t>(sys::kKernelSigsetSize) : 0;
  const void* registered_offset = nullptr;  // the entry's offset, until the first enter used it
  bool registered = false;
  if (options.registered_wait) {
    // The entry replaces the per-call arguments; mixing them would silently drop one.
    if (options.timeout.count() >= 0 || options.min_wait.count() > 0 || options.sigmask || options.spin.count() > 0) {
      return -EINVAL;
    }
    const unsigned index = *options.registered_wait;
    if (index >= s_.wait_entry_count) return -EINVAL;
    const abi::io_uring_reg_wait& entry = s_.wait_entries[index];
    timed = (entry.flags & abi::IORING_REG_WAIT_TS) != 0 && entry.ts.tv_sec < kForever / 1000000000;
    timeout_ns = timed ? std::max<std::int64_t>(0, entry.ts.tv_sec) * 1000000000 + entry.ts.tv_nsec : 0;
    min_wait_ns = std::int64_t{entry.min_wait_usec} * 1000;
    sigmask = entry.sigmask;
    sigmask_bytes = entry.sigmask_sz;
    // With EXT_ARG_REG the "pointer" is a byte offset into the region.
    registered_offset = reinterpret_cast<const void*>(std::uintptr_t{index} * sizeof(abi::io_uring_reg_wait));
    registered = true;
  }
  const bool min_wait = min_wait_ns > 0;
  if ((timed || min_wait) && !has_feature(abi::IORING_FEAT_EXT_ARG)) return -EOPNOTSUPP;
  if (min_wait && !has_feature(abi::IORING_FEAT_MIN_TIMEOUT)) return -EOPNOTSUPP;
  const bool iopoll = polls_in_enter();
  if (min_wait && iopoll) return -EOPNOTSUPP;  // io_iopoll_check has no timer
  if (count > s_.cq_entries) return -EINVAL;  // the kernel caps its wait at cq_entries
  if (count == 0 && !submit) {
    if (cq_needs_flush()) flush_cq();
    return 0;
  }
  // A spin can only find what is posted without an enter: never on
  // DEFER_TASKRUN rings (all their completions are task work an enter runs)
  // nor on IOPOLL ones (the enter polls). At most kForever, so that
  // start + spin_ns cannot overflow.
  const bool can_spin = !iopoll && (s_.setup_flags & abi::IORING_SETUP_DEFER_TASKRUN) == 0;
  const std::int64_t spin_ns =
      can_spin && options.spin.count() > 0 ? std::min<std::int64_t>(options.spin.count(), kForever) : 0;
  const std::int64_t start = (timed || min_wait || spin_ns) ? monotonic_ns() : 0;
  // Nothing to submit is a plain wait (SQPOLL: nothing left unpublished).
  bool submit_pending =
      submit && s_.sqe_tail != (s_.sqpoll ? s_.sqpoll_published : barrier::load_relaxed(s_.sq_khead));
  int submitted = 0;
  if ((submit_pending && (sigmask || spin_ns)) || (submit && spin_ns && s_.sqpoll && sq_pending() > 0)) {
    // Submit first, in an enter that does not wait (on SQPOLL one only to
    // wake a sleeping poller, also for SQEs flush_sq published), then wait:
    //  - an enter that submits reports the count, never its wait's -EINTR;
    //    a caller who passes a signal mask wants to hear of the signal;
    //  - a spin must come before the kernel's wait, not after it.
    submitted = this->submit();  // (the parameter `submit` hides the member)
    if (submitted < 0) return submitted;
    submit_pending = false;
    if (!s_.sqpoll && sq_pending() > 0) return submitted;  // stopped at a failing SQE: no wait, as above
  }
  bool spun = false;
  bool entered = false;  // the kernel posts some completions only inside an enter: always make one
  for (;;) {
    const unsigned ready = cq_ready();
    std::int64_t now = 0;
    if (!submit_pending) {
      if (ready >= count) return submitted;
      if (iopoll && ready > 0) return submitted;  // the kernel will not poll a non-empty CQ
      if (spin_ns && !spun && !cq_needs_flush()) {
        // Once per call, before an enter that waits (the first, unless a
        // flush was needed then): the CQ tail is
        // read with acquire (cq_ready); every 64 looks the clock and the
        // flags. It ends at the spin's end or the timeout; once min_wait is
        // over with a CQE ready (the enter below then returns at once); or
        // when completions wait for an enter (overflow, TASKRUN_FLAG).
        spun = true;
        const std::int64_t end = timed ? std::min(start + spin_ns, start + timeout_ns) : start + spin_ns;
        for (unsigned look = 1;; ++look) {
          const unsigned seen = cq_ready();
          if (seen >= count) return submitted;
          if ((look & 63) == 0) {
            const std::int64_t t = monotonic_ns();
            if (t >= end || cq_needs_flush()) break;
            if (min_wait && seen > 0 && t - start >= min_wait_ns) break;
          }
          cpu_relax();
        }
        continue;
      }
      if (timed || min_wait) now = monotonic_ns();
      if (entered && min_wait && ready > 0 && now - start >= min_wait_ns) return submitted;
      if (entered && timed && now - start >= timeout_ns) return -ETIME;
    } else if (timed || min_wait) {
      now = monotonic_ns();
    }

    unsigned to_submit = 0;
    unsigned flags = abi::IORING_ENTER_GETEVENTS;
    if (submit_pending) {
      // Once: later enters only wait (the first either submitted all, or
      // stopped at a failing SQE and returned).
      if (s_.sqpoll) {
        to_submit = s_.sqe_tail - s_.sqpoll_published;
        s_.sqpoll_published = s_.sqe_tail;
        publish_sq_tail();
      } else {
        to_submit = publish_sq_tail();
      }
    }
    // SQPOLL: the first enter of a call that submits wakes a sleeping poller
    // for every SQE it has not consumed, also those published before this
    // call (flush_sq), or it would wait for CQEs that never come.
    if (s_.sqpoll && submit && !entered) flags |= sqpoll_wakeup_flag(sq_pending());

    unsigned wait_for = count;
    abi::kernel_timespec left{};
    abi::io_uring_getevents_arg arg{};
    const void* argp = nullptr;
    std::size_t argsz = 0;
    if (registered_offset) {
      flags |= abi::IORING_ENTER_EXT_ARG | abi::IORING_ENTER_EXT_ARG_REG;
      argp = registered_offset;
      argsz = sizeof(abi::io_uring_reg_wait);
    } else if (timed || min_wait || registered) {
      arg.sigmask = sigmask;
      arg.sigmask_sz = sigmask_bytes;
      if (min_wait) {
        // The kernel runs the min_wait timer first and looks at the timeout
        // only after it: a min_wait longer than what is left of the timeout
        // is cut to it, so -ETIME comes at the timeout.
        std::int64_t min_left = min_wait_ns - (now - start);
        if (timed) min_left = std::min(min_left, timeout_ns - (now - start));
        if (min_left > 0) {
          arg.min_wait_usec = static_cast<std::uint32_t>((min_left + 999) / 1000);
        } else {
          wait_for = 1;  // min_wait is over: the first CQE ends the wait (or one already ready)
        }
      }
      if (timed) {
        const std::int64_t timeout_left = timeout_ns - (now - start);
        left = to_kernel_timespec(timeout_left > 0 ? timeout_left : 0);  // 0: run what waits, then -ETIME
        arg.ts = reinterpret_cast<std::uintptr_t>(&left);
      }
      flags |= abi::IORING_ENTER_EXT_ARG;
      argp = &arg;
      argsz = sizeof arg;
    } else if (sigmask) {
      argp = reinterpret_cast<const void*>(static_cast<std::uintptr_t>(sigmask));
      argsz = sigmask_bytes;
    }
    registered_offset = nullptr;

    const int ret = enter(to_submit, wait_for, flags, argp, argsz);
    entered = true;
    if (ret == -ETIME) {
      // The kernel's clock ran out: the checks at the top decide (the
      // timeout is over, or only min_wait was and the wait goes on).
      submit_pending = false;
      continue;
    }
    if (ret < 0) return ret;  // -EINTR, -EBADR, -EEXIST, ...: nothing posted is lost
    if (submit_pending) {
      submit_pending = false;
      submitted = s_.sqpoll ? static_cast<int>(to_submit) : ret;
      // It stopped at a failing SQE and, as io_uring_enter does then, did not wait.
      if (!s_.sqpoll && static_cast<unsigned>(ret) < to_submit) return submitted;
    }
  }
}

Result<std::span<unsigned char>> Ring::register_mem_region(const MemRegionOptions& options) {
  const char* what = "register_mem_region: ";
  if (!valid()) return Error{EBADF, std::string(what) + "the ring is closed"};
  if (options.bytes == 0) return Error{EINVAL, std::string(what) + "bytes must be at least 1"};
  if (s_.param_region.address) {
    return Error{EBUSY, std::string(what) + "this ring already has its memory region (the kernel allows one)"};
  }
  if (options.kernel_memory && s_.ring_fd < 0) {
    return Error{EINVAL, std::string(what) +
                             "kernel_memory must be mmap'd through the ring fd, and a registered_fd_only "
                             "ring has none: let the ring allocate the memory (kernel_memory = false)"};
  }
  const std::size_t bytes = round_up(options.bytes, page_size());
  abi::io_uring_region_desc region{};
  region.size = bytes;
  void* memory = nullptr;
  if (!options.kernel_memory) {
    memory = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (memory == MAP_FAILED) {
      return error_from_errno(-errno, std::string(what) + "allocating " + std::to_string(bytes) + " bytes");
    }
    region.user_addr = reinterpret_cast<std::uintptr_t>(memory);
    region.flags = abi::IORING_MEM_REGION_TYPE_USER;
  }
  abi::io_uring_mem_region_reg reg{};
  reg.region_uptr = reinterpret_cast<std::uintptr_t>(&region);
  reg.flags = options.wait_args ? abi::IORING_MEM_REGION_REG_WAIT_ARG : 0;
  const int ret = register_raw(abi::IORING_REGISTER_MEM_REGION, &reg, 1);
  if (ret < 0) {
    unmap(memory, bytes);
    std::string hint;
    if (ret == -EINVAL && options.wait_args) {
      hint = "a wait-argument region must be registered while the ring is still disabled: set it up with "
             "start_disabled = true and call this before enable()";
    } else if (ret == -EBUSY) {
      hint = "this ring already has a memory region (the kernel allows one)";
    }
    return register_error(abi::IORING_REGISTER_MEM_REGION, ret, hint);
  }
  if (options.kernel_memory) {
    memory = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, s_.ring_fd,
                    static_cast<off_t>(region.mmap_offset));
    if (memory == MAP_FAILED) {
      // Registered, but out of our reach: the ring keeps the region until it closes.
      return error_from_errno(-errno, std::string(what) + "mmap of the kernel's region");
    }
  }
  s_.param_region = Region{memory, bytes, true};
  if (options.wait_args) {
    s_.wait_entries = static_cast<abi::io_uring_reg_wait*>(memory);
    s_.wait_entry_count = static_cast<std::uint32_t>(bytes / sizeof(abi::io_uring_reg_wait));
  }
  return std::span<unsigned char>(static_cast<unsigned char*>(memory), bytes);
}

Status Ring::resize(const ResizeOptions& options) {
  if (!valid()) return Error{EBADF, "resize: the ring is closed"};
  if (s_.ring_fd < 0 && !(s_.setup_flags & abi::IORING_SETUP_NO_MMAP)) {
    // The resized rings are mmap'd through the plain fd: without one the
    // kernel would resize and the new rings could not be reached (a
    // registered_fd_only ring is NO_MMAP, so it never gets here).
    return Error{EBADF,
                 "resize: the ring has no fd to map the resized rings through (close_ring_fd() closed it): "
                 "resize before close_ring_fd(), or set the ring up with no_mmap"};
  }
  if (options.sq_entries == 0) return Error{EINVAL, "resize: sq_entries must be at least 1"};
  if (!(s_.setup_flags & abi::IORING_SETUP_DEFER_TASKRUN)) {
    return Error{EINVAL,
                 "resize: the kernel resizes only DEFER_TASKRUN rings; set the ring up with "
                 "single_issuer = true and defer_taskrun = true"};
  }
  // The kernel's own checks (io_uring_fill_params), said with what to do:
  // its answer is a bare EINVAL.
  if (!options.clamp && options.sq_entries > 32768) {
    return Error{EINVAL, "resize: sq_entries " + std::to_string(options.sq_entries) +
                             " is above the kernel's maximum 32768; ask for fewer, or set clamp = true"};
  }
  if (!options.clamp && options.cq_entries > 65536) {
    return Error{EINVAL, "resize: cq_entries " + std::to_string(options.cq_entries) +
                             " is above the kernel's maximum 65536; ask for fewer, or set clamp = true"};
  }
  if (options.cq_entries && round_up_pow2(std::min(options.cq_entries, 65536u)) <
                                round_up_pow2(std::min(options.sq_entries, 32768u))) {
    return Error{EINVAL, "resize: cq_entries (" + std::to_string(options.cq_entries) +
                             ") must be at least sq_entries (" + std::to_string(options.sq_entries) +
                             ") once both are rounded up to powers of two"};
  }
  if (s_.cqe_mixed && cq_ready() > 0) {
    // The kernel copies unreaped CQEs slot by slot with the new mask: on a
    // smaller CQ a 32-byte CQE can land with its halves at the end and the
    // start of the ring. (A larger CQ cannot split one; the new size is the
    // kernel's to round, so any resize is refused here.)
    return Error{EBUSY, "resize: this CQE_MIXED ring has " + std::to_string(cq_ready()) +
                            " unreaped CQ slots, and the kernel could split a 32-byte CQE among them "
                            "across the new ring's end: reap every CQE, then resize"};
  }
  if (kKernelCacheLine == 0 && !(s_.setup_flags & abi::IORING_SETUP_NO_SQARRAY)) {
    // The smallest CQ the kernel can make of this request (it rounds up).
    const std::size_t cq = options.cq_entries ? round_up_pow2(std::min(options.cq_entries, 65536u))
                                              : 2 * round_up_pow2(std::min(options.sq_entries, 32768u));
    if ((cq << s_.cqe_shift) < kMaxKernelCacheLine) {
      return Error{EOPNOTSUPP,
                   "resize: on this architecture uring does not know the kernel's cache-line size, which "
                   "places the SQ array after a CQ smaller than 256 bytes: ask for more CQ entries, or set "
                   "the ring up with no_sqarray = true"};
    }
  }
  abi::io_uring_params params{};
  params.sq_entries = options.sq_entries;
  params.cq_entries = options.cq_entries;
  if (options.cq_entries) params.flags |= abi::IORING_SETUP_CQSIZE;
  if (options.clamp) params.flags |= abi::IORING_SETUP_CLAMP;

  // The new rings' state starts as a copy: counters (heads, tails, our local
  // tails) carry over unchanged, because the kernel keeps the same indexes.
  State next = s_;
  next.rings = next.cq_ring = next.sqe_array = Region{};
  unsigned char* nommap_rings = nullptr;
  unsigned char* nommap_sqes = nullptr;
  const bool no_mmap = (s_.setup_flags & abi::IORING_SETUP_NO_MMAP) != 0;
  if (no_mmap) {
    RingOptions shape;
    shape.entries = options.sq_entries;
    shape.cq_entries = options.cq_entries;
    shape.sqe128 = s_.sqe_shift == 7;
    shape.cqe32 = s_.cqe_shift == 5;
    shape.no_sqarray = (s_.setup_flags & abi::IORING_SETUP_NO_SQARRAY) != 0;
    const NoMmapLayout layout = no_mmap_layout(shape);
    const std::size_t bytes = layout.rings_bytes + layout.sqes_bytes;
    void* mapped = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mapped == MAP_FAILED) return error_from_errno(-errno, "resize: allocating NO_MMAP ring memory");
    nommap_rings = static_cast<unsigned char*>(mapped);
    nommap_sqes = nommap_rings + layout.rings_bytes;
    next.rings = Region{mapped, bytes, true};
    params.cq_off.user_addr = reinterpret_cast<std::uintptr_t>(nommap_rings);
    params.sq_off.user_addr = reinterpret_cast<std::uintptr_t>(nommap_sqes);
  }

  // The kernel copies the SQEs between its SQ head and the SQ tail it can
  // see: publish the ones taken but not submitted, so they come along. Only
  // io_uring_enter submits on a DEFER_TASKRUN ring, so this submits nothing.
  barrier::store_release(s_.sq_ktail, s_.sqe_tail);
  const int ret = register_raw(abi::IORING_REGISTER_RESIZE_RINGS, &params, 1);
  if (ret < 0) {
    unmap_rings(next);
    std::string hint;
    if (ret == -EOVERFLOW) {
      hint = "the new sizes cannot hold what is pending (" + std::to_string(sq_pending()) + " SQEs, " +
             std::to_string(cq_ready()) + " CQEs): reap or submit first, or ask for more entries";
    }
    return register_error(abi::IORING_REGISTER_RESIZE_RINGS, ret, hint);
  }
  // From here the kernel uses the new rings and has released the old ones;
  // our mappings of the old ones stay readable until we unmap them.
  params.features = s_.features;
  if (!(s_.setup_flags & abi::IORING_SETUP_NO_SQARRAY)) {
    // Resizing reports every offset but the SQ array's (it comes back 0).
    // The kernel puts it where rings_size() (io_uring/io_uring.c) says: after
    // the header and 16-byte CQEs, that whole size doubled for CQE32, then
    // aligned to SMP_CACHE_BYTES. The header (cq_off.cqes) is cache-line
    // aligned already and the CQE bytes are a power of two, so the alignment
    // only matters when the CQEs take less than a cache line.
    std::size_t head = params.cq_off.cqes;
    std::size_t cqe_bytes = std::size_t{params.cq_entries} * sizeof(abi::io_uring_cqe);
    if (s_.cqe_shift == 5) {
      head <<= 1;
      cqe_bytes <<= 1;
    }
    // (Checked before resizing: kKernelCacheLine is known, or cqe_bytes >= 256.)
    params.sq_off.array = static_cast<std::uint32_t>(head + std::max(cqe_bytes, kKernelCacheLine));
  }
  if (auto mapped = map_rings(next, s_.ring_fd, params, nommap_rings, nommap_sqes); !mapped) {
    unmap_rings(next);
    close();  // the old mappings no longer reach the kernel: the ring cannot be used
    return Error{mapped.code(), "resize: the kernel resized the rings but mapping them failed (" +
                                    mapped.error().message + "); the ring is closed"};
  }
  // 128-byte SQEs and 32-byte CQEs: copy them again from our old mappings,
  // in case the kernel moved them as 64- and 16-byte entries (6.18 gets them
  // right; copying the same bytes again is harmless). Plain sizes are left
  // to the kernel.
  if (s_.sqe_shift != 6) {
    const std::size_t sqe_bytes = std::size_t{1} << s_.sqe_shift;
    for (std::uint32_t i = barrier::load_acquire(next.sq_khead); i != s_.sqe_tail; ++i) {
      std::memcpy(next.sqes + ((i & next.sq_mask) << s_.sqe_shift), s_.sqes + ((i & s_.sq_mask) << s_.sqe_shift),
                  sqe_bytes);
    }
  }
  if (s_.cqe_shift != 4) {
    const std::size_t cqe_bytes = std::size_t{1} << s_.cqe_shift;
    const std::uint32_t tail = barrier::load_acquire(next.cq_ktail);
    for (std::uint32_t i = barrier::load_relaxed(next.cq_khead); i != tail; ++i) {
      std::memcpy(next.cqes + ((i & next.cq_mask) << s_.cqe_shift), s_.cqes + ((i & s_.cq_mask) << s_.cqe_shift),
                  cqe_bytes);
    }
  }
  // The cached SQ limit was computed for the old size: recompute it from the
  // kernel's head (the kernel checked that what is pending fits).
  next.sq_head_cache = barrier::load_acquire(next.sq_khead);
  next.sq_tail_limit = next.sq_head_cache + next.sq_entries;
  next.params.sq_entries = params.sq_entries;
  next.params.cq_entries = params.cq_entries;
  next.params.sq_off = params.sq_off;
  next.params.cq_off = params.cq_off;
  // The 6.18 kernel marks the new rings IORING_SQ_TASKRUN | NEED_WAKEUP
  // whatever waits ("worst case an extra syscall", io_register_resize_rings;
  // newer trees copy the old flags instead). On a TASKRUN_FLAG ring the next
  // run of task work clears the bit, so until then empty peeks enter: a few
  // system calls, where ignoring the bit could strand completions.
  unmap_rings(s_);
  s_ = next;
  return ok_status();
}

}  // namespace uring
