// Ring setup, mapping and teardown: the one file that calls mmap/munmap.
#include "uring/ring.h"

#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

#include "uring/register.h"
#include "uring/setup_error.h"

namespace uring {
namespace {

constexpr std::size_t kPageSize = 4096;

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
  layout.rings_bytes = round_up(page + cq * cqe_bytes + 64 + (options.no_sqarray ? 0 : sq * 4u), page);
  layout.sqes_bytes = round_up(sq * sqe_bytes, page);
  return layout;
}

void unmap(void* address, std::size_t bytes) {
  if (address) ::munmap(address, bytes);
}

}  // namespace

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
  return flags;
}

std::size_t Ring::no_mmap_bytes(const RingOptions& options) {
  const NoMmapLayout layout = no_mmap_layout(options);
  return layout.rings_bytes + layout.sqes_bytes;
}

Result<Ring> Ring::create(const RingOptions& options) {
  if (auto error = check_setup_options(options)) return *std::move(error);

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
  } else {
    s.ring_fd = fd;
    s.enter_fd = fd;
  }
  s.setup_flags = params.flags;
  s.features = params.features;
  s.sqpoll = (params.flags & abi::IORING_SETUP_SQPOLL) != 0;
  s.sqe_shift = (params.flags & abi::IORING_SETUP_SQE128) ? 7 : 6;
  s.cqe_shift = (params.flags & abi::IORING_SETUP_CQE32) ? 5 : 4;
  s.cqe_mixed = (params.flags & abi::IORING_SETUP_CQE_MIXED) != 0;

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
    // IORING_REGISTER_RING_FDS (5.18) has no feature bit: just try. It is an
    // optimisation only: if it fails, enter keeps using the plain fd.
    abi::io_uring_rsrc_update update{};
    update.offset = ~0u;  // let the kernel pick a free slot
    update.data = static_cast<std::uint64_t>(fd);
    if (sys::io_uring_register(fd, abi::IORING_REGISTER_RING_FDS, &update, 1) == 1) {
      s.registered_index = static_cast<int>(update.offset);
      s.enter_fd = s.registered_index;
      s.enter_flags = abi::IORING_ENTER_REGISTERED_RING;
    }
  }
  return ring;
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
  s.sq_mask = *reinterpret_cast<std::uint32_t*>(sq_ring + params.sq_off.ring_mask);
  s.sq_entries = *reinterpret_cast<std::uint32_t*>(sq_ring + params.sq_off.ring_entries);
  if (!(params.flags & abi::IORING_SETUP_NO_SQARRAY)) {
    // Identity map, written once: SQ slot i always holds SQE i, so the
    // submit path never touches this array.
    auto* array = reinterpret_cast<std::uint32_t*>(sq_ring + params.sq_off.array);
    for (std::uint32_t i = 0; i < s.sq_entries; ++i) array[i] = i;
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

void Ring::close() {
  State& s = s_;
  if (s.registered_index >= 0) {
    abi::io_uring_rsrc_update update{};
    update.offset = static_cast<std::uint32_t>(s.registered_index);
    (void)register_raw(abi::IORING_UNREGISTER_RING_FDS, &update, 1);
  }
  unmap_rings(s);
  if (s.param_region.owned) unmap(s.param_region.address, s.param_region.bytes);
  if (s.ring_fd >= 0) ::close(s.ring_fd);
  s = State{};
}

int Ring::enter_failed(int ret, unsigned to_submit, unsigned min_complete, unsigned flags,
                       const void* arg, std::size_t argsz) {
  if ((ret == -EBADF || ret == -EINVAL) && s_.enter_flags != 0 && s_.ring_fd >= 0) {
    ret = sys::io_uring_enter(s_.ring_fd, to_submit, min_complete, flags, arg, argsz);
  }
  return ret;
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

int Ring::register_raw(unsigned opcode, const void* arg, unsigned nr_args) const {
  if (s_.ring_fd >= 0) return sys::io_uring_register(s_.ring_fd, opcode, arg, nr_args);
  if (s_.registered_index >= 0) {
    return sys::io_uring_register(s_.registered_index,
                                  opcode | abi::IORING_REGISTER_USE_REGISTERED_RING, arg, nr_args);
  }
  return -EBADF;
}

Status Ring::enable() {
  const int ret = register_raw(abi::IORING_REGISTER_ENABLE_RINGS, nullptr, 0);
  if (ret < 0) {
    return error_from_errno(ret, ret == -EBADFD ? "enable: the ring was not set up with start_disabled "
                                                  "(R_DISABLED), or is already enabled"
                                                : "io_uring_register(ENABLE_RINGS)");
  }
  return ok_status();
}

int Ring::wait_cqes(unsigned count, const WaitOptions& options) {
  if (options.registered_wait) return wait_registered(count, options);
  const bool timed = options.timeout.count() >= 0;
  const bool min_wait = options.min_wait.count() > 0;
  if ((timed || min_wait) && !has_feature(abi::IORING_FEAT_EXT_ARG)) return -EOPNOTSUPP;
  if (min_wait && !has_feature(abi::IORING_FEAT_MIN_TIMEOUT)) return -EOPNOTSUPP;

  timespec deadline{};
  if (timed) {
    ::clock_gettime(CLOCK_MONOTONIC, &deadline);
    const long long ns = deadline.tv_nsec + options.timeout.count() % 1000000000;
    deadline.tv_sec += options.timeout.count() / 1000000000 + ns / 1000000000;
    deadline.tv_nsec = ns % 1000000000;
  }
  for (;;) {
    if (cq_ready() >= count) return 0;
    const unsigned pending = publish_sq_tail();
    s_.sqpoll_published = s_.sqe_tail;
    const unsigned flags = abi::IORING_ENTER_GETEVENTS | sqpoll_wakeup_flag(pending);
    int ret;
    if (timed || min_wait) {
      abi::kernel_timespec left{};
      abi::io_uring_getevents_arg arg{};
      arg.sigmask = reinterpret_cast<std::uintptr_t>(options.sigmask);
      arg.sigmask_sz = options.sigmask ? static_cast<std::uint32_t>(sys::kKernelSigsetSize) : 0;
      arg.min_wait_usec = static_cast<std::uint32_t>(options.min_wait.count());
      if (timed) {
        timespec now{};
        ::clock_gettime(CLOCK_MONOTONIC, &now);
        long long left_ns = (deadline.tv_sec - now.tv_sec) * 1000000000LL + (deadline.tv_nsec - now.tv_nsec);
        if (left_ns <= 0) return cq_ready() >= count ? 0 : -ETIME;
        left.tv_sec = left_ns / 1000000000;
        left.tv_nsec = left_ns % 1000000000;
        arg.ts = reinterpret_cast<std::uintptr_t>(&left);
      }
      ret = enter(pending, count, flags | abi::IORING_ENTER_EXT_ARG, &arg, sizeof arg);
    } else {
      ret = enter(pending, count, flags, options.sigmask,
                  options.sigmask ? sys::kKernelSigsetSize : 0);
    }
    if (ret == -EINTR) continue;  // a signal: CQEs already posted stay; wait again
    if (ret == -ETIME) return cq_ready() >= count ? 0 : -ETIME;
    if (ret < 0) return ret;
  }
}

int Ring::wait_registered(unsigned count, const WaitOptions& options) {
  // The entry replaces the per-call arguments; mixing them would silently drop one.
  if (options.timeout.count() >= 0 || options.min_wait.count() > 0 || options.sigmask) return -EINVAL;
  const unsigned index = *options.registered_wait;
  if (index >= s_.wait_entry_count) return -EINVAL;
  // With EXT_ARG_REG the "pointer" is a byte offset into the region.
  const void* offset = reinterpret_cast<const void*>(std::uintptr_t{index} * sizeof(abi::io_uring_reg_wait));
  for (;;) {
    if (cq_ready() >= count) return 0;
    const unsigned pending = publish_sq_tail();
    s_.sqpoll_published = s_.sqe_tail;
    const unsigned flags = abi::IORING_ENTER_GETEVENTS | abi::IORING_ENTER_EXT_ARG |
                           abi::IORING_ENTER_EXT_ARG_REG | sqpoll_wakeup_flag(pending);
    const int ret = enter(pending, count, flags, offset, sizeof(abi::io_uring_reg_wait));
    if (ret == -EINTR) continue;
    if (ret == -ETIME) return cq_ready() >= count ? 0 : -ETIME;
    if (ret < 0) return ret;
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
  if (options.sq_entries == 0) return Error{EINVAL, "resize: sq_entries must be at least 1"};
  if (!(s_.setup_flags & abi::IORING_SETUP_DEFER_TASKRUN)) {
    return Error{EINVAL,
                 "resize: the kernel resizes only DEFER_TASKRUN rings; set the ring up with "
                 "single_issuer = true and defer_taskrun = true"};
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
  if (!(params.flags & abi::IORING_SETUP_NO_SQARRAY)) {
    // Resizing reports every offset but the SQ array's (it comes back 0).
    // The kernel puts it where rings_size() (io_uring/io_uring.c) says: after
    // the header and 16-byte CQEs, that whole size doubled for CQE32, then
    // aligned to a cache line.
    constexpr std::size_t kCacheLine = 64;
    std::size_t end = params.cq_off.cqes + std::size_t{params.cq_entries} * sizeof(abi::io_uring_cqe);
    if (s_.cqe_shift == 5) end <<= 1;
    params.sq_off.array = static_cast<std::uint32_t>(round_up(end, kCacheLine));
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
  unmap_rings(s_);
  s_ = next;
  return ok_status();
}

}  // namespace uring
