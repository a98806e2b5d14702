// BufferGroup setup and teardown: validation, the PBUF_RING registration
// (with its fallbacks), the legacy PROVIDE/REMOVE round trips, and the ring
// memory. This file calls mmap/munmap for buffer-ring memory only: rings the
// library allocates (anonymous, page-aligned, pinned by the kernel) and
// IOU_PBUF_RING_MMAP rings (mapped from the ring fd at
// IORING_OFF_PBUF_RING | group_id << IORING_OFF_PBUF_SHIFT).
#include "uring/buffer_group.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <new>
#include <thread>

#include "uring/prep.h"
#include "uring/probe.h"

namespace uring {
namespace {

constexpr unsigned kMaxBuffers = 32768;           // ring entries must stay below 65536
constexpr std::uint32_t kMaxBufferSize = 1u << 30;
constexpr unsigned kMaxParked = 65536;            // parked requests: the list is reserved up front
constexpr std::uint64_t kDefaultTagBase = 0xB0F5ull << 48;
// A kernel-mapped ring is mmap'd at IORING_OFF_PBUF_RING | id << IORING_OFF_PBUF_SHIFT,
// and io_uring/memmap.c tells the regions apart by offset & IORING_OFF_MMAP_MASK:
// the id must stay below the mask's bits (0 .. 2047).
constexpr std::uint64_t kMaxKernelMappedGroup =
    (~abi::IORING_OFF_MMAP_MASK & 0xFFFFFFFFull) >> abi::IORING_OFF_PBUF_SHIFT;
static_assert(kMaxKernelMappedGroup == 2047);
// How long create/close wait for the kernel to run the group's own
// PROVIDE/REMOVE_BUFFERS once it has consumed the SQE.
constexpr auto kGroupOpWait = std::chrono::seconds(1);

std::size_t page_size() {
  static const std::size_t size = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  return size;
}

std::size_t round_up(std::size_t value, std::size_t to) { return (value + to - 1) / to * to; }

std::string hex(std::uint64_t value) {
  char text[32];
  std::snprintf(text, sizeof text, "0x%llx", static_cast<unsigned long long>(value));
  return text;
}

Error invalid(const std::string& message) { return Error{EINVAL, message}; }

// The RingRef key of a group: the kernel accepts PROVIDE_BUFFERS into a
// legacy group that already has buffers, and lets a buffer ring replace a
// legacy group whose buffers are all out, so a clash between two groups with
// one id is caught on the Ring's list of dependents.
constexpr std::uint64_t kGroupKeyBase = 0xB0F5000000000000ull;
std::uint64_t group_key(std::uint16_t group_id) { return kGroupKeyBase | group_id; }

std::string kernel_mapped_id_limit(std::uint16_t group_id) {
  return "RingMemory::kernel: group id " + std::to_string(group_id) +
         " cannot be mapped: the kernel's buffer ring is mmap'd at IORING_OFF_PBUF_RING | id << 16, and "
         "io_uring/memmap.c finds the region from the offset's IORING_OFF_MMAP_MASK bits, which ids above "
         "2047 reach into (the mmap then fails); use a group id 0 .. 2047, or RingMemory::library";
}

Error group_in_use(std::uint16_t group_id, const char* how) {
  return Error{EEXIST, "buffer group " + std::to_string(group_id) + " is already in use on this ring (" +
                           how + "): choose another group_id, or close the group that holds it"};
}

int pbuf_status(const Ring& ring, std::uint16_t group_id, std::uint16_t* head) {
  abi::io_uring_buf_status status{};
  status.buf_group = group_id;
  const int ret = ring.register_raw(abi::IORING_REGISTER_PBUF_STATUS, &status, 1);
  if (ret >= 0 && head) *head = static_cast<std::uint16_t>(status.head);
  return ret;
}

// Submits everything queued and makes sure the kernel has consumed it (and
// so executed PROVIDE/REMOVE_BUFFERS, which complete inline). With SQPOLL the
// poller does the work: wait for it, bounded.
Status submit_and_drain_sq(Ring& ring, const char* what) {
  const bool sqpoll = (ring.setup_flags() & abi::IORING_SETUP_SQPOLL) != 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  for (;;) {
    const int ret = ring.submit();
    if (ret < 0 && ret != -EBUSY && ret != -EAGAIN) {
      return error_from_errno(ret, std::string("io_uring_enter to submit ") + what);
    }
    if (ring.sq_pending() == 0) return ok_status();
    if (std::chrono::steady_clock::now() > deadline) {
      return Error{ETIMEDOUT, std::string(what) + ": the kernel did not consume the SQE within 2 s" +
                                  (sqpoll ? " (SQPOLL thread stalled?)" : " (CQ full? reap CQEs and retry)")};
    }
    std::this_thread::sleep_for(std::chrono::microseconds(sqpoll ? 20 : 200));
  }
}

}  // namespace

const char* describe(BufferError error) {
  switch (error) {
    case BufferError::none:
      return "no error";
    case BufferError::no_buffer:
      return "the CQE carries no buffer (IORING_CQE_F_BUFFER clear): see cqe.result() - an error, "
             "-ENOBUFS (BufferGroup::on_no_buffers) or the end of the stream";
    case BufferError::unknown_id:
      return "the buffer id is not one of this group's: was the CQE from a request on another group?";
    case BufferError::not_kernel_owned:
      return "the CQE names a buffer you already hold: a CQE taken twice, or one from another group";
    case BufferError::kernel_owned:
      return "refused: the kernel owns this buffer; recycle only a buffer take() gave you, and only once";
    case BufferError::stale_view:
      return "refused: this view is stale - its buffer was recycled and handed out again since (to a "
             "later CQE's view); recycle that view instead";
    case BufferError::sq_full:
      return "no free SQE to give the buffer back (legacy group): submit, then recycle again";
    case BufferError::bundle_lost:
      return "some of this bundle's buffers were already handed out by another CQE (one taken twice?): "
             "the view holds the others - recycle it - and its bytes cannot be trusted";
    case BufferError::bundle_needs_ring:
      return "a bundle receive on a legacy group got more than its buffer holds: the kernel filled the "
             "next provided buffer too and named only the first, so those bytes and that buffer are "
             "lost; receive bundles with a "
             "buffer ring (create_ring, and check kind() when allow_fallback may have given a legacy "
             "group). The view holds the buffer the CQE names: recycle it";
    case BufferError::closed:
      return "the buffer group is closed";
  }
  return "unknown BufferError";
}

Status BufferGroup::check_common(const Ring& ring, const BufferGroupOptions& options) {
  if (!ring.valid()) return Error{EBADF, "buffer group: the ring is closed"};
  if (options.buffer_count == 0 || options.buffer_count > kMaxBuffers) {
    return invalid("buffer_count " + std::to_string(options.buffer_count) +
                   ": a group holds 1 .. 32768 buffers");
  }
  if (options.buffer_size == 0 || options.buffer_size > kMaxBufferSize) {
    return invalid("buffer_size " + std::to_string(options.buffer_size) +
                   ": each buffer is 1 byte .. 1 GiB");
  }
  if (options.max_parked > kMaxParked) {
    return invalid("max_parked " + std::to_string(options.max_parked) + ": at most " +
                   std::to_string(kMaxParked) + " requests can be parked (the list is reserved up front)");
  }
  if (options.given_at_start != BufferGroupOptions::kAllBuffers && options.given_at_start > options.buffer_count) {
    return invalid("given_at_start " + std::to_string(options.given_at_start) + " is more than buffer_count " +
                   std::to_string(options.buffer_count) + ": give the kernel 0 .. buffer_count buffers at start");
  }
  if (options.internal_user_data & kInternalLowMask) {
    return invalid("internal_user_data " + hex(options.internal_user_data) +
                   ": its low 17 bits must be zero (they carry the buffer id)");
  }
  return ok_status();
}

Status BufferGroup::init(Ring& ring, const BufferGroupOptions& options) {
  if (Status status = check_common(ring, options); !status) return status;
  if (ring.has_dependent(group_key(options.group_id))) {
    return group_in_use(options.group_id, "held by another BufferGroup");
  }
  ring_ = RingRef(ring, group_key(options.group_id));
  s_.group_id = options.group_id;
  s_.count = options.buffer_count;
  s_.size = options.buffer_size;
  s_.policy = options.no_buffers;
  s_.max_parked = options.max_parked;
  s_.parked.reserve(options.max_parked);
  s_.internal_tag = options.internal_user_data
                        ? options.internal_user_data
                        : kDefaultTagBase | static_cast<std::uint64_t>(options.group_id) << 20;
  s_.skip_success = options.skip_success_cqes && ring.has_feature(abi::IORING_FEAT_CQE_SKIP);

  s_.buffer_bytes = static_cast<std::size_t>(s_.count) * s_.size;
  if (options.buffer_memory) {
    s_.base = static_cast<unsigned char*>(options.buffer_memory);
  } else {
    s_.base = static_cast<unsigned char*>(
        ::operator new(s_.buffer_bytes, std::align_val_t(page_size()), std::nothrow));
    if (!s_.base) {
      return Error{ENOMEM, "buffer group: cannot allocate " + std::to_string(s_.buffer_bytes) +
                               " bytes for " + std::to_string(s_.count) + " buffers"};
    }
    s_.owns_buffer_memory = true;
  }
  s_.buffers.reset(new (std::nothrow) BufferState[s_.count]);
  if (!s_.buffers) return Error{ENOMEM, "buffer group: cannot allocate the per-buffer state"};
  s_.app_owned = s_.count;  // every buffer is ours until given to the kernel
  s_.given_at_start = std::min(options.given_at_start, s_.count);
  return ok_status();
}

Result<BufferGroup> BufferGroup::create_ring(Ring& ring, const BufferGroupOptions& options) {
  // Everything that needs nothing from the kernel is checked first.
  if (Status status = check_common(ring, options); !status) return status.error();
  unsigned entries = options.ring_entries;
  if (entries == 0) {
    entries = std::bit_ceil(std::max(options.buffer_count, 1u));
  } else if (!std::has_single_bit(entries)) {
    return invalid("ring_entries " + std::to_string(entries) + " is not a power of two: use " +
                   std::to_string(std::bit_ceil(entries)) +
                   " (or 0 for the smallest that holds buffer_count)");
  }
  if (entries > kMaxBuffers) {
    return invalid("ring_entries " + std::to_string(entries) + ": a buffer ring has at most 32768 entries");
  }
  if (entries < options.buffer_count) {
    return invalid("ring_entries " + std::to_string(entries) + " cannot hold buffer_count " +
                   std::to_string(options.buffer_count) + ": use " +
                   std::to_string(std::bit_ceil(options.buffer_count)) + " or more");
  }
  const std::size_t ring_bytes = static_cast<std::size_t>(entries) * sizeof(abi::io_uring_buf);
  if (options.ring_memory == RingMemory::caller) {
    const auto address = reinterpret_cast<std::uintptr_t>(options.ring_memory_address);
    if (address == 0) return invalid("RingMemory::caller needs ring_memory_address");
    if (address % page_size() != 0) {
      return invalid("ring memory " + hex(address) + " is not page-aligned (page size " +
                     std::to_string(page_size()) +
                     "): the kernel maps buffer rings by whole pages; use mmap or "
                     "aligned_alloc(page size, ...), or RingMemory::library");
    }
    if (options.ring_memory_bytes < ring_bytes) {
      return invalid("ring_memory_bytes " + std::to_string(options.ring_memory_bytes) + " cannot hold " +
                     std::to_string(entries) + " ring entries: it needs " + std::to_string(ring_bytes));
    }
  } else if (options.ring_memory_address) {
    return invalid("ring_memory_address is set but ring_memory is not RingMemory::caller");
  }
  if (options.ring_memory == RingMemory::kernel && ring.fd() < 0 && !options.allow_fallback) {
    return invalid("RingMemory::kernel maps the ring from the ring's fd, and this ring has none "
                   "(registered_fd_only): use RingMemory::library");
  }
  if (options.ring_memory == RingMemory::kernel && options.group_id > kMaxKernelMappedGroup &&
      !options.allow_fallback) {
    return invalid(kernel_mapped_id_limit(options.group_id));
  }

  BufferGroup group;
  if (Status status = group.init(ring, options); !status) return status.error();
  group.s_.mask = static_cast<std::uint16_t>(entries - 1);
  group.s_.ring_bytes = round_up(ring_bytes, page_size());
  group.s_.slot_ids.reset(new (std::nothrow) std::uint16_t[entries]());
  if (!group.s_.slot_ids) return Error{ENOMEM, "buffer group: cannot allocate the ring's slot table"};

  Status registered = group.register_ring(options);
  if (!registered) {
    if (registered.code() != EINVAL || !options.allow_fallback) return registered.error();
    // The kernel has no buffer rings (before 5.19) or refuses these flags: legacy buffers.
    group.release_ring_memory();
    group.s_.slot_ids.reset();
    group.s_.fallback_note += (group.s_.fallback_note.empty() ? "" : "; ") + registered.error().message +
                              " - using legacy provided buffers (PROVIDE_BUFFERS) instead";
    if (Status provided = group.provide_initial(); !provided) return provided.error();
    return group;
  }
  // The first given_at_start buffers to the kernel, published with one tail store.
  for (unsigned id = 0; id < group.s_.given_at_start; ++id) group.add_to_ring(static_cast<std::uint16_t>(id));
  group.keep_back_rest();
  group.publish_ring_tail();
  group.s_.recycles = 0;
  return group;
}

Status BufferGroup::register_ring(const BufferGroupOptions& options) {
  Ring& ring = *ring_.get();
  const unsigned entries = s_.mask + 1u;
  bool incremental = options.incremental;
  RingMemory memory = options.ring_memory;
  if (memory == RingMemory::kernel && ring.fd() < 0) {  // only with allow_fallback (checked above)
    s_.fallback_note = "RingMemory::kernel needs a ring fd (this ring is registered_fd_only): using RingMemory::library";
    memory = RingMemory::library;
  }
  if (memory == RingMemory::kernel && s_.group_id > kMaxKernelMappedGroup) {  // likewise
    s_.fallback_note = "RingMemory::kernel needs a group id 0 .. 2047 (above, its mmap offset reaches into "
                       "IORING_OFF_MMAP_MASK): using RingMemory::library";
    memory = RingMemory::library;
  }
  for (;;) {
    void* address = nullptr;
    if (memory == RingMemory::library) {
      if (!s_.ring_base) {
        void* mapped = ::mmap(nullptr, s_.ring_bytes, PROT_READ | PROT_WRITE,
                              MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (mapped == MAP_FAILED) {
          return error_from_errno(-errno, "mmap of " + std::to_string(s_.ring_bytes) + " bytes for a buffer ring");
        }
        s_.ring_base = static_cast<unsigned char*>(mapped);
        s_.ring_memory = RingMemory::library;
      }
      address = s_.ring_base;
    } else if (memory == RingMemory::caller) {
      address = options.ring_memory_address;
      // The kernel reads the tail from this memory: start from an empty ring.
      std::memset(address, 0, static_cast<std::size_t>(entries) * sizeof(abi::io_uring_buf));
    }
    std::uint16_t flags = options.extra_ring_flags;
    if (incremental) flags |= abi::IOU_PBUF_RING_INC;
    if (memory == RingMemory::kernel) flags |= abi::IOU_PBUF_RING_MMAP;

    abi::io_uring_buf_reg reg{};
    reg.ring_addr = reinterpret_cast<std::uintptr_t>(address);
    reg.ring_entries = entries;
    reg.bgid = s_.group_id;
    reg.flags = flags;
    const int ret = ring.register_raw(abi::IORING_REGISTER_PBUF_RING, &reg, 1);
    if (ret == 0) {
      s_.kernel_has_group = true;
      s_.incremental = (flags & abi::IOU_PBUF_RING_INC) != 0;  // also when asked for through extra_ring_flags
      if (memory == RingMemory::kernel) {
        const off_t offset = static_cast<off_t>(abi::IORING_OFF_PBUF_RING |
                                                static_cast<std::uint64_t>(s_.group_id) << abi::IORING_OFF_PBUF_SHIFT);
        void* mapped = ::mmap(nullptr, s_.ring_bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
                              ring.fd(), offset);
        if (mapped == MAP_FAILED) {
          const int error = errno;
          reg = abi::io_uring_buf_reg{};
          reg.bgid = s_.group_id;
          (void)ring.register_raw(abi::IORING_UNREGISTER_PBUF_RING, &reg, 1);
          s_.kernel_has_group = false;
          const std::string what = "mmap of the kernel's buffer ring for group " + std::to_string(s_.group_id);
          if (options.allow_fallback) {
            memory = RingMemory::library;
            s_.fallback_note += (s_.fallback_note.empty() ? "" : "; ") + what + " failed (" +
                                std::strerror(error) + "): library memory";
            continue;
          }
          return error_from_errno(-error, what);
        }
        s_.ring_base = static_cast<unsigned char*>(mapped);
        s_.ring_memory = RingMemory::kernel;
      } else if (memory == RingMemory::caller) {
        s_.ring_base = static_cast<unsigned char*>(address);
        s_.ring_memory = RingMemory::caller;
      }
      return ok_status();
    }
    if (ret == -EEXIST) return group_in_use(s_.group_id, "IORING_REGISTER_PBUF_RING: EEXIST");
    if (ret != -EINVAL) {
      return error_from_errno(ret, "IORING_REGISTER_PBUF_RING for group " + std::to_string(s_.group_id));
    }
    // Arguments were checked above, so EINVAL is the kernel refusing a feature.
    if (options.allow_fallback && incremental) {
      incremental = false;
      s_.fallback_note = "incremental buffer rings (IOU_PBUF_RING_INC, Linux 6.12) refused: plain buffer ring";
      continue;
    }
    if (options.allow_fallback && memory == RingMemory::kernel) {
      memory = RingMemory::library;
      s_.fallback_note += std::string(s_.fallback_note.empty() ? "" : "; ") +
                          "kernel-mapped buffer rings (IOU_PBUF_RING_MMAP, Linux 6.4) refused: library memory";
      continue;
    }
    std::string wanted = "buffer rings (Linux 5.19)";
    if (incremental) wanted += ", incremental mode (IOU_PBUF_RING_INC, 6.12)";
    if (memory == RingMemory::kernel) wanted += ", kernel-mapped rings (IOU_PBUF_RING_MMAP, 6.4)";
    if (options.extra_ring_flags) wanted += ", extra flags " + hex(options.extra_ring_flags);
    return invalid("IORING_REGISTER_PBUF_RING refused (EINVAL): this needs " + wanted + "; this kernel is " +
                   kernel_release() + ". Drop what it lacks, or set allow_fallback");
  }
}

Result<BufferGroup> BufferGroup::create_provided(Ring& ring, const BufferGroupOptions& options) {
  if (options.ring_entries || options.incremental || options.ring_memory_address ||
      options.ring_memory != RingMemory::library || options.extra_ring_flags) {
    return invalid("create_provided makes a legacy group: ring_entries, ring_memory, incremental and "
                   "extra_ring_flags are for create_ring");
  }
  BufferGroup group;
  if (Status status = group.init(ring, options); !status) return status.error();
  if (Status provided = group.provide_initial(); !provided) return provided.error();
  return group;
}

Status BufferGroup::provide_initial() {
  Ring& ring = *ring_.get();
  // A buffer ring with this id (made outside this library) would fail the
  // PROVIDE with EINVAL; ask first where the kernel can tell (6.8).
  if (pbuf_status(ring, s_.group_id, nullptr) == 0) {
    return group_in_use(s_.group_id, "it is a buffer ring");
  }
  const unsigned given = s_.given_at_start;
  if (given == 0) {
    // Before its first PROVIDE the kernel has no list for the group, and a
    // bundle (send or receive) then fails with -ENOENT, not -ENOBUFS
    // (io_buffers_select), past the no-buffers policy.
    return invalid("given_at_start 0 on a legacy group (PROVIDE_BUFFERS" +
                   (s_.fallback_note.empty() ? std::string() : ", the fallback from a buffer ring: " + s_.fallback_note) +
                   "): the kernel has no list for the group until buffers are provided, and bundles then "
                   "fail with ENOENT; give it at least 1 buffer at start");
  }
  const bool cq_was_empty = ring.cq_ready() == 0;  // then our CQE will be the first
  Sqe* sqe = ring.get_sqe();
  if (!sqe) {
    (void)ring.submit();
    sqe = ring.get_sqe();
    if (!sqe) return Error{EBUSY, "buffer group: no free SQE for PROVIDE_BUFFERS; reap CQEs and retry"};
  }
  const std::uint64_t tag = s_.internal_tag | kInternalGroupOp;
  prep_provide_buffers(*sqe, s_.base, s_.size, given, s_.group_id, 0).set_user_data(tag);
  if (s_.skip_success) sqe->skip_success();
  if (Status status = submit_and_drain_sq(ring, "PROVIDE_BUFFERS"); !status) {
    if (!(ring.setup_flags() & abi::IORING_SETUP_SQPOLL) && ring.sq_pending() != 0) {
      // Not consumed: make it harmless before the memory goes away.
      prep_nop(*sqe).set_user_data(tag);
      if (s_.skip_success) sqe->skip_success();
      return status;
    }
    s_.kernel_has_group = true;  // it may have run: let close() remove what it gave
    return status;
  }
  s_.kernel_has_group = true;
  // Consumed is not run: after a request with IOSQE_IO_DRAIN the kernel runs
  // the next SQEs from its drain queue, after io_uring_enter has returned.
  const int outcome = await_group_op(cq_was_empty, /*provide=*/true);
  if (outcome == kOpPending) {
    // The kernel will run it later and take the memory then: never free it.
    s_.kernel_has_group = false;
    s_.owns_buffer_memory = false;
    return Error{EBUSY, "PROVIDE_BUFFERS for group " + std::to_string(s_.group_id) +
                            " has not taken effect within 1 s: it waits behind an earlier request with "
                            "IOSQE_IO_DRAIN that has not completed (the kernel runs it once that request "
                            "completes), or it failed; its CQE, user_data " + hex(tag) +
                            ", tells which when it comes. The group's memory is not freed, since the "
                            "kernel may still take it: after that CQE, REMOVE_BUFFERS group " +
                            std::to_string(s_.group_id) + " before reusing the memory or the id"};
  }
  if (outcome < 0) {  // its CQE: the kernel's own errno
    s_.kernel_has_group = false;
    return error_from_errno(outcome, "PROVIDE_BUFFERS of " + std::to_string(given) + " buffers for group " +
                                         std::to_string(s_.group_id));
  }
  for (unsigned id = 0; id < given; ++id) s_.buffers[id].kernel_owned = 1;
  s_.app_owned = s_.count - given;
  keep_back_rest();
  return ok_status();
}

int BufferGroup::await_group_op(bool cq_was_empty, bool provide) {
  Ring& ring = *ring_.get();
  const std::uint64_t tag = s_.internal_tag | kInternalGroupOp;
  const auto deadline = std::chrono::steady_clock::now() + kGroupOpWait;
  // With the CQ empty before, only the group's own CQEs (this one, earlier
  // recycles') can come before ours: read them. Otherwise, or when successes
  // post nothing, ask the kernel whether the group exists (PBUF_STATUS, 6.8;
  // a kernel without it, or an id in use before, cannot tell: taken as run).
  bool read_cqes = cq_was_empty && !s_.skip_success;
  for (;;) {
    while (read_cqes) {
      Cqe* cqe = ring.peek_cqe();
      if (!cqe) break;
      if (!is_internal(*cqe)) {
        read_cqes = false;  // another request's CQE: ours may be behind it
        break;
      }
      const Cqe copy = *cqe;
      ring.cqe_seen(cqe);
      if (copy.user_data == tag) return copy.res;
      (void)handle_internal(copy);
    }
    if (!read_cqes) {
      if (!provide || pbuf_status(ring, s_.group_id, nullptr) != -ENOENT) return kOpRanUnread;
    }
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return kOpPending;
    // Deferred task work (drain queue, DEFER_TASKRUN) runs when we wait.
    if (read_cqes) {
      WaitOptions wait;
      wait.timeout = std::min<std::chrono::nanoseconds>(deadline - now, std::chrono::milliseconds(10));
      const int ret = ring.wait_cqes(1, wait);
      if (ret == 0 || ret == -ETIME || ret == -EINTR) continue;
    }
    (void)ring.enter(0, 0, abi::IORING_ENTER_GETEVENTS, nullptr, 0);
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
}

void BufferGroup::release_ring_memory() {
  if (s_.ring_base && s_.ring_memory != RingMemory::caller) ::munmap(s_.ring_base, s_.ring_bytes);
  s_.ring_base = nullptr;
}

Status BufferGroup::close() {
  if (!ring_.get()) {
    // Never opened, closed already, or its Ring closed first: the kernel
    // dropped the group with the ring, so only the memory is left to free.
    release_ring_memory();
    if (s_.owns_buffer_memory) ::operator delete(s_.base, std::align_val_t(page_size()));
    s_ = State{};
    return ok_status();
  }
  Ring& ring = *ring_.get();
  Status status = ok_status();
  bool kernel_let_go = true;
  if (s_.kernel_has_group && ring.valid()) {
    if (s_.ring_base) {
      abi::io_uring_buf_reg reg{};
      reg.bgid = s_.group_id;
      const int ret = ring.register_raw(abi::IORING_UNREGISTER_PBUF_RING, &reg, 1);
      if (ret < 0 && ret != -ENOENT) {
        kernel_let_go = false;
        status = error_from_errno(ret, "IORING_UNREGISTER_PBUF_RING for group " + std::to_string(s_.group_id) +
                                           " (its buffers are leaked, not freed under the kernel)");
      }
    } else if (kernel_owned_count() > 0) {
      Sqe* sqe = ring.get_sqe();
      if (!sqe) {
        (void)ring.submit();
        sqe = ring.get_sqe();
      }
      if (!sqe) {
        kernel_let_go = false;
        status = Error{EBUSY, "buffer group " + std::to_string(s_.group_id) +
                                  ": no free SQE for REMOVE_BUFFERS (its buffers are leaked)"};
      } else {
        const bool cq_was_empty = ring.cq_ready() == 0;
        prep_remove_buffers(*sqe, s_.count, s_.group_id).set_user_data(s_.internal_tag | kInternalGroupOp);
        if (s_.skip_success) sqe->skip_success();
        Status drained = submit_and_drain_sq(ring, "REMOVE_BUFFERS");
        if (!drained) {
          kernel_let_go = false;
          status = Error{drained.code(), drained.error().message + " (the group's buffers are leaked)"};
        } else if (await_group_op(cq_was_empty, /*provide=*/false) == kOpPending) {
          kernel_let_go = false;
          status = Error{EBUSY, "REMOVE_BUFFERS for group " + std::to_string(s_.group_id) +
                                    " has not run within 1 s (it waits behind an earlier request with "
                                    "IOSQE_IO_DRAIN that has not completed?): the group's buffers are "
                                    "leaked, not freed under the kernel"};
        }
      }
    }
  }
  release_ring_memory();
  if (s_.owns_buffer_memory && kernel_let_go) ::operator delete(s_.base, std::align_val_t(page_size()));
  ring_.reset();
  s_ = State{};
  return status;
}

BufferView BufferGroup::take_slow(BufferView view, std::uint32_t size, Bundle bundle) {
  // The CQE's BUF_MORE is not trusted here: see the walk below.
  const std::uint16_t first = view.id;
  BufferState& head = s_.buffers[first];
  const std::uint32_t room = s_.size - head.consumed;
  const std::uint32_t generation = next_generation();
  view.data = buffer_address(first) + head.consumed;
  view.generation = generation;
  if (!s_.ring_base || (bundle == Bundle::no && !s_.incremental)) {
    // One buffer, whatever the result says: a legacy group takes one off its
    // list, a plain ring moves its head by one (io_kbuf_commit, nr = 1). A
    // legacy bundle receive filled more that no CQE names (take's comment).
    view.size = room;
    view.first_size = room;
    view.segments = 1;
    view.truncated = true;
    if (bundle == Bundle::yes && !s_.ring_base) view.error = BufferError::bundle_needs_ring;
    hand_over(head, generation);
    return view;
  }
  // The kernel commits `size` bytes from the first buffer's ring slot on: a
  // bundle over as many buffers as the bytes fill (io_bundle_nbufs), or an
  // incremental ring walking its entries by bytes (io_kbuf_inc_commit) - a
  // truncated datagram then lies in the first buffer only, and the buffers
  // after it are passed over. Walk it the same way. A slot never published
  // stops it (the kernel found nothing there; its BUF_MORE then names no
  // buffer of ours), as does a buffer handed out already (bundle_lost: the
  // kernel consumed it, another CQE gave it to you).
  const bool data_in_each = bundle == Bundle::yes;
  const std::uint16_t start = head.ring_pos;
  const unsigned entries = s_.mask + 1u;
  std::uint32_t left = size;
  std::uint32_t held = 0;
  unsigned n = 0;
  std::uint16_t previous = first;
  for (unsigned k = 0; left > 0 && k < entries; ++k) {
    const auto position = static_cast<std::uint16_t>(start + k);
    if (position == s_.tail) break;
    const int found = k == 0 ? first : buffer_added_at(position);
    if (found < 0) {
      view.error = BufferError::bundle_lost;
      left -= std::min(left, s_.size);
      continue;
    }
    const auto id = static_cast<std::uint16_t>(found);
    BufferState& buffer = s_.buffers[id];
    const std::uint32_t space = s_.size - buffer.consumed;
    const std::uint32_t used = std::min(left, space);
    left -= used;
    if (data_in_each || k == 0) held += used;
    if (n > 0) s_.buffers[previous].next = id;
    previous = id;
    ++n;
    if (used < space && s_.incremental) {  // room left: the kernel keeps it
      buffer.consumed += used;
      view.kernel_keeps_last = true;
      break;
    }
    hand_over(buffer, generation);
  }
  view.size = held;
  view.first_size = std::min(held, room);
  view.segments = static_cast<std::uint16_t>(n);
  view.truncated = bundle == Bundle::no || left > 0;
  return view;
}

int BufferGroup::buffer_added_at(std::uint16_t position) const {
  const std::uint16_t id = s_.slot_ids[position & s_.mask];
  if (s_.buffers[id].kernel_owned && s_.buffers[id].ring_pos == position) return id;
  // The slot was written again since (CQEs taken out of ring order): find the buffer itself.
  for (unsigned i = 0; i < s_.count; ++i) {
    if (s_.buffers[i].kernel_owned && s_.buffers[i].ring_pos == position) return static_cast<int>(i);
  }
  return -1;
}

std::size_t BufferGroup::copy_out(const BufferView& view, void* out, std::size_t capacity) const {
  std::size_t copied = 0;
  auto* to = static_cast<unsigned char*>(out);
  for_each_segment(view, [&](std::span<unsigned char> part) {
    const std::size_t n = std::min(part.size(), capacity - copied);
    if (n) std::memcpy(to + copied, part.data(), n);
    copied += n;
  });
  return copied;
}

Result<std::uint16_t> BufferGroup::kernel_head() const {
  if (!ring_.get()) return Error{EBADF, "buffer group: closed"};
  if (!s_.ring_base) return invalid("kernel_head: group " + std::to_string(s_.group_id) + " is not a buffer ring");
  std::uint16_t head = 0;
  const int ret = pbuf_status(*ring_.get(), s_.group_id, &head);
  if (ret == -EINVAL) {
    return invalid("IORING_REGISTER_PBUF_STATUS needs Linux 6.8; this kernel is " + kernel_release());
  }
  if (ret < 0) return error_from_errno(ret, "IORING_REGISTER_PBUF_STATUS for group " + std::to_string(s_.group_id));
  return head;
}

void BufferGroup::keep_back_rest() {
  for (unsigned id = s_.given_at_start; id < s_.count; ++id) s_.buffers[id].kept_back = 1;
  s_.kept_back = s_.count - s_.given_at_start;
}

unsigned BufferGroup::available_to_kernel() const {
  if (s_.ring_base) {
    auto head = kernel_head();
    if (head) return static_cast<std::uint16_t>(s_.tail - head.value());
  }
  // No count from the kernel (legacy groups; rings before 6.8): a buffer the
  // kernel owns may have been picked by a request whose CQE is not taken
  // yet. Count only what came back since the last answer, so that a re-arm
  // that met -ENOBUFS again is not answered rearm_now again.
  const std::uint64_t since = s_.recycles - s_.recycles_at_answer;
  const unsigned owned = kernel_owned_count();
  return since < owned ? static_cast<unsigned>(since) : owned;
}

NoBuffersAction BufferGroup::on_no_buffers(const Cqe& cqe) {
  if (cqe.res != -ENOBUFS) return NoBuffersAction::not_enobufs;
  return apply_no_buffers_policy(cqe.user_data);
}

NoBuffersAction BufferGroup::on_multishot_end(const Cqe& cqe, Bundle bundle) {
  if (cqe.more()) return NoBuffersAction::not_enobufs;
  if (cqe.res == -ENOBUFS) return apply_no_buffers_policy(cqe.user_data);
  if (cqe.res <= 0) return NoBuffersAction::not_enobufs;
  // Ended on data. Without a bundle that is never for want of buffers (the
  // next receive would have failed with -ENOBUFS): a full CQ, or the
  // total-length limit (io_uring/net.c, io_recv_finish). A bundle also ends
  // when it took the last buffers (REQ_F_BL_EMPTY).
  if (bundle == Bundle::yes && ring_.get()) {
    if (uses_kernel_count()) {
      const unsigned free_now = unpromised_free();
      if (uses_kernel_count()) {
        if (free_now == 0) return apply_no_buffers_policy(cqe.user_data);
        ++s_.promised;  // you re-arm it: it may take one
        return NoBuffersAction::ended_with_data;
      }
    }
    if (available_to_kernel() == 0) return apply_no_buffers_policy(cqe.user_data);
  }
  return NoBuffersAction::ended_with_data;
}

unsigned BufferGroup::unpromised_free() {
  if (!s_.counted) {
    std::uint32_t free_now = 0;
    if (kernel_owned_count() == 0) {
      free_now = 0;  // you hold every buffer: no need to ask
    } else if (s_.dry_at_pass_end && s_.recycles == s_.recycles_at_pass_end) {
      free_now = 0;  // none free, none promised at the last pass, none recycled since
    } else {
      auto head = kernel_head();
      if (!head) {  // before 6.8: the kernel cannot say; the legacy rules from now on
        s_.no_kernel_count = true;
        return 0;
      }
      free_now = static_cast<std::uint16_t>(s_.tail - head.value());
    }
    s_.counted = true;
    s_.free_at_count = free_now;
    s_.promised = 0;
    s_.recycles_at_count = s_.recycles;
  }
  const std::uint64_t free_now = s_.free_at_count + (s_.recycles - s_.recycles_at_count);
  return free_now > s_.promised ? static_cast<unsigned>(free_now - s_.promised) : 0u;
}

NoBuffersAction BufferGroup::apply_no_buffers_policy(std::uint64_t user_data) {
  if (s_.policy == NoBuffersPolicy::fail || !ring_.get()) return NoBuffersAction::fail;
  bool rearm = false;
  if (uses_kernel_count()) {
    const unsigned free_now = unpromised_free();
    if (uses_kernel_count()) {
      // Behind the requests already parked, never ahead of them.
      rearm = s_.parked.empty() && free_now > 0;
      if (rearm) ++s_.promised;
    } else {
      rearm = available_to_kernel() > 0;
      s_.recycles_at_answer = s_.recycles;
    }
  } else {
    rearm = available_to_kernel() > 0;
    s_.recycles_at_answer = s_.recycles;
  }
  if (rearm) return NoBuffersAction::rearm_now;
  if (s_.parked.size() >= s_.max_parked) return NoBuffersAction::fail;
  s_.parked.push_back(user_data);
  s_.recycles_when_parked = s_.recycles;
  // A PROVIDE CQE seen in this pass or the one before may have come before
  // the -ENOBUFS it answers (see rearm_parked): it counts as after the park.
  s_.provided_when_parked = s_.provided_at_pass_before;
  return NoBuffersAction::parked;
}

unsigned BufferGroup::parked_to_hand_back() {
  if (s_.parked.empty() || !ring_.get()) return 0;
  const unsigned parked = static_cast<unsigned>(s_.parked.size());
  if (uses_kernel_count()) {
    const unsigned free_now = unpromised_free();
    if (uses_kernel_count()) {
      const unsigned n = std::min(parked, free_now);
      s_.promised += n;
      return n;
    }
  }
  if (s_.recycles != s_.recycles_when_parked || s_.provided != s_.provided_when_parked) return parked;
  // Nothing recycled since the newest park. If you hold no buffer you took
  // (given_at_start's kept back ones need not come), nothing need be: try
  // them once (see rearm_parked), not on every pass.
  if (s_.app_owned == s_.kept_back && s_.recycles != s_.recycles_at_dry_hand_back) {
    s_.recycles_at_dry_hand_back = s_.recycles;
    return parked;
  }
  return 0;
}

bool BufferGroup::finish_rearm() {
  s_.provided_at_pass_before = s_.provided_at_last_pass;
  s_.provided_at_last_pass = s_.provided;
  bool woken = true;
  if (uses_kernel_count() && s_.counted) {
    // Some requests were promised a buffer, and some still wait: if the
    // promised ones find idle sockets they post nothing, and the buffers
    // they leave free must reach the others. A NOP's CQE brings the loop back.
    if (!s_.parked.empty() && s_.promised > 0) {
      Sqe* sqe = make_sq_room() ? ring_.get()->get_sqe() : nullptr;
      if (sqe) {
        prep_nop(*sqe).set_user_data(s_.internal_tag | kInternalWake);
      } else {
        woken = false;  // no room even after a submit: the next call hands the rest back
      }
    }
    s_.dry_at_pass_end = s_.promised == 0 && unpromised_free() == 0;
    s_.recycles_at_pass_end = s_.recycles;
    s_.counted = false;
  } else {
    s_.dry_at_pass_end = false;
  }
  return woken;
}

bool BufferGroup::make_sq_room() {
  Ring* ring = ring_.get();
  if (!ring) return false;
  if (ring->sq_space_left() > 0) return true;
  // Submits; on SQPOLL also waits (IORING_ENTER_SQ_WAIT) until the poller
  // has taken some, since a submit alone leaves its SQ as full as before.
  // An error leaves the SQEs queued: then no room, said by the check below.
  (void)ring->wait_for_sq_space();
  return ring->sq_space_left() > 0;
}

int BufferGroup::handle_internal(const Cqe& cqe) {
  if (!is_internal(cqe)) return 0;
  if (cqe.res >= 0) {
    if (!(cqe.user_data & kInternalGroupOp)) ++s_.provided;  // a recycled buffer reached the kernel
    return 0;
  }
  if (!(cqe.user_data & kInternalGroupOp)) {
    const auto id = static_cast<std::uint16_t>(cqe.user_data & 0xFFFF);
    if (id < s_.count && s_.buffers[id].kernel_owned) {
      s_.buffers[id].kernel_owned = 0;  // the PROVIDE failed: still ours
      ++s_.app_owned;
    }
  }
  return cqe.res;
}

}  // namespace uring
