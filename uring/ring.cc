// Ring setup, mapping and teardown: the one file that calls mmap/munmap.
#include "uring/ring.h"

#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

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
  if (attach_wq_fd) flags |= abi::IORING_SETUP_ATTACH_WQ;
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

  unsigned char* sq_ring = nullptr;
  unsigned char* cq_ring = nullptr;
  if (options.no_mmap) {
    sq_ring = cq_ring = static_cast<unsigned char*>(s.rings.address);
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
  }

  s.sq_khead = reinterpret_cast<std::uint32_t*>(sq_ring + params.sq_off.head);
  s.sq_ktail = reinterpret_cast<std::uint32_t*>(sq_ring + params.sq_off.tail);
  s.sq_kflags = reinterpret_cast<std::uint32_t*>(sq_ring + params.sq_off.flags);
  s.sq_kdropped = reinterpret_cast<std::uint32_t*>(sq_ring + params.sq_off.dropped);
  s.sq_mask = *reinterpret_cast<std::uint32_t*>(sq_ring + params.sq_off.ring_mask);
  s.sq_entries = *reinterpret_cast<std::uint32_t*>(sq_ring + params.sq_off.ring_entries);
  s.sqes = static_cast<unsigned char*>(s.sqe_array.address);
  s.sqe_tail = s.sq_head_cache = s.sqpoll_published = barrier::load_relaxed(s.sq_ktail);
  s.sq_tail_limit = s.sq_head_cache + s.sq_entries;
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

void Ring::close() {
  State& s = s_;
  if (s.registered_index >= 0) {
    abi::io_uring_rsrc_update update{};
    update.offset = static_cast<std::uint32_t>(s.registered_index);
    (void)register_raw(abi::IORING_UNREGISTER_RING_FDS, &update, 1);
  }
  for (Region* region : {&s.sqe_array, &s.cq_ring, &s.rings}) {
    if (region->owned) unmap(region->address, region->bytes);
  }
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

}  // namespace uring
