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
#include <mutex>
#include <new>
#include <thread>

#include "uring/prep.h"
#include "uring/probe.h"

namespace uring {
namespace {

constexpr unsigned kMaxBuffers = 32768;           // ring entries must stay below 65536
constexpr std::uint32_t kMaxBufferSize = 1u << 30;
constexpr std::uint64_t kDefaultTagBase = 0xB0F5ull << 48;

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

// Groups this library holds, per ring. The kernel accepts PROVIDE_BUFFERS
// into a legacy group that already has buffers, and lets a buffer ring
// replace a legacy group whose buffers are all out, so a clash between two
// groups with one id is caught here.
std::mutex registry_mutex;
std::vector<std::pair<const Ring*, std::uint16_t>>& registry() {
  static auto* groups = new std::vector<std::pair<const Ring*, std::uint16_t>>();  // never destroyed
  return *groups;
}

bool claim(const Ring* ring, std::uint16_t group_id) {
  std::lock_guard<std::mutex> lock(registry_mutex);
  auto& groups = registry();
  const auto key = std::make_pair(ring, group_id);
  if (std::find(groups.begin(), groups.end(), key) != groups.end()) return false;
  groups.push_back(key);
  return true;
}

void unclaim(const Ring* ring, std::uint16_t group_id) {
  std::lock_guard<std::mutex> lock(registry_mutex);
  auto& groups = registry();
  const auto it = std::find(groups.begin(), groups.end(), std::make_pair(ring, group_id));
  if (it != groups.end()) groups.erase(it);
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
    case BufferError::sq_full:
      return "no free SQE to give the buffer back (legacy group): submit, then recycle again";
    case BufferError::size_mismatch:
      return "the CQE reports more bytes than its buffer holds: bundles need a buffer ring";
    case BufferError::bundle_lost:
      return "the ring slots of this bundle were refilled before its CQE was taken: take CQEs in the "
             "order the ring posts them";
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
  if (options.internal_user_data & kInternalLowMask) {
    return invalid("internal_user_data " + hex(options.internal_user_data) +
                   ": its low 17 bits must be zero (they carry the buffer id)");
  }
  return ok_status();
}

Status BufferGroup::init(Ring& ring, const BufferGroupOptions& options) {
  if (Status status = check_common(ring, options); !status) return status;
  if (!claim(&ring, options.group_id)) return group_in_use(options.group_id, "held by another BufferGroup");
  s_.claimed = true;
  s_.ring = &ring;
  s_.group_id = options.group_id;
  s_.count = options.buffer_count;
  s_.size = options.buffer_size;
  s_.policy = options.no_buffers;
  s_.max_parked = options.max_parked;
  s_.parked.reserve(options.max_parked);
  s_.internal_tag = options.internal_user_data
                        ? options.internal_user_data
                        : kDefaultTagBase | static_cast<std::uint64_t>(options.group_id) << 20;
  s_.skip_success = ring.has_feature(abi::IORING_FEAT_CQE_SKIP);

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
    if (Status provided = group.provide_all(); !provided) return provided.error();
    return group;
  }
  // Every buffer to the kernel, published with one tail store.
  for (unsigned id = 0; id < group.s_.count; ++id) group.add_to_ring(static_cast<std::uint16_t>(id));
  group.publish_ring_tail();
  group.s_.recycles = 0;
  return group;
}

Status BufferGroup::register_ring(const BufferGroupOptions& options) {
  Ring& ring = *s_.ring;
  const unsigned entries = s_.mask + 1u;
  bool incremental = options.incremental;
  RingMemory memory = options.ring_memory;
  if (memory == RingMemory::kernel && ring.fd() < 0) {  // only with allow_fallback (checked above)
    s_.fallback_note = "RingMemory::kernel needs a ring fd (this ring is registered_fd_only): using RingMemory::library";
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
      s_.incremental = incremental;
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
          return error_from_errno(-error, "mmap of the kernel's buffer ring for group " +
                                              std::to_string(s_.group_id));
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
  if (Status provided = group.provide_all(); !provided) return provided.error();
  return group;
}

Status BufferGroup::provide_all() {
  Ring& ring = *s_.ring;
  // A buffer ring with this id (made outside this library) would fail the
  // PROVIDE with EINVAL; ask first where the kernel can tell (6.8).
  if (pbuf_status(ring, s_.group_id, nullptr) == 0) {
    return group_in_use(s_.group_id, "it is a buffer ring");
  }
  Sqe* sqe = ring.get_sqe();
  if (!sqe) {
    (void)ring.submit();
    sqe = ring.get_sqe();
    if (!sqe) return Error{EBUSY, "buffer group: no free SQE for PROVIDE_BUFFERS; reap CQEs and retry"};
  }
  prep_provide_buffers(*sqe, s_.base, s_.size, s_.count, s_.group_id, 0)
      .set_user_data(s_.internal_tag | kInternalGroupOp);
  if (s_.skip_success) sqe->skip_success();
  if (Status status = submit_and_drain_sq(ring, "PROVIDE_BUFFERS"); !status) {
    if (!(ring.setup_flags() & abi::IORING_SETUP_SQPOLL) && ring.sq_pending() != 0) {
      // Not consumed: make it harmless before the memory goes away.
      prep_nop(*sqe).set_user_data(s_.internal_tag | kInternalGroupOp);
      if (s_.skip_success) sqe->skip_success();
      return status;
    }
    s_.kernel_has_group = true;  // it may have run: let close() remove what it gave
    return status;
  }
  s_.kernel_has_group = true;
  // The PROVIDE ran inline. Where the kernel can say (6.8), check that the
  // group now exists: a failure leaves it absent (-ENOENT).
  if (pbuf_status(ring, s_.group_id, nullptr) == -ENOENT) {
    s_.kernel_has_group = false;
    return Error{ENOMEM, "PROVIDE_BUFFERS for group " + std::to_string(s_.group_id) +
                             " failed (its CQE, user_data " + hex(s_.internal_tag | kInternalGroupOp) +
                             ", has the errno; most likely out of memory)"};
  }
  for (unsigned id = 0; id < s_.count; ++id) s_.buffers[id].kernel_owned = 1;
  s_.app_owned = 0;
  return ok_status();
}

void BufferGroup::release_ring_memory() {
  if (s_.ring_base && s_.ring_memory != RingMemory::caller) ::munmap(s_.ring_base, s_.ring_bytes);
  s_.ring_base = nullptr;
}

Status BufferGroup::close() {
  if (!s_.ring) return ok_status();
  Ring& ring = *s_.ring;
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
        prep_remove_buffers(*sqe, s_.count, s_.group_id).set_user_data(s_.internal_tag | kInternalGroupOp);
        if (s_.skip_success) sqe->skip_success();
        Status drained = submit_and_drain_sq(ring, "REMOVE_BUFFERS");
        if (!drained) {
          kernel_let_go = false;
          status = Error{drained.code(), drained.error().message + " (the group's buffers are leaked)"};
        }
      }
    }
  }
  release_ring_memory();
  if (s_.owns_buffer_memory && kernel_let_go) ::operator delete(s_.base, std::align_val_t(page_size()));
  if (s_.claimed) unclaim(s_.ring, s_.group_id);
  s_ = State{};
  return status;
}

BufferView BufferGroup::take_bundle(const Cqe& cqe, BufferView view, std::uint32_t size) {
  if (!s_.ring_base) {
    view.error = BufferError::size_mismatch;
    return view;
  }
  const std::uint16_t first = view.id;
  const std::uint16_t start = s_.buffers[first].ring_pos;
  const std::uint32_t offset = s_.buffers[first].consumed;
  const unsigned entries = s_.mask + 1u;
  // First pass: the buffers sit in consecutive ring slots from the first
  // one's; each slot must still hold the buffer the kernel read from it.
  std::uint32_t left = size;
  std::uint32_t room = s_.size - offset;
  unsigned n = 0;
  std::uint32_t last_used = 0;
  while (left > 0) {
    if (n >= entries) {
      view.error = BufferError::bundle_lost;
      return view;
    }
    const auto position = static_cast<std::uint16_t>(start + n);
    const std::uint16_t id = s_.slot_ids[position & s_.mask];
    const BufferState& buffer = s_.buffers[id];
    if (buffer.ring_pos != position || !buffer.kernel_owned) {
      view.error = BufferError::bundle_lost;
      return view;
    }
    last_used = std::min(left, room);
    left -= last_used;
    room = s_.size;
    ++n;
  }
  // Second pass: hand them over and chain them for segment().
  const bool keep_last = (cqe.flags & abi::IORING_CQE_F_BUF_MORE) != 0;
  std::uint16_t previous = first;
  for (unsigned k = 0; k < n; ++k) {
    const std::uint16_t id = s_.slot_ids[static_cast<std::uint16_t>(start + k) & s_.mask];
    BufferState& buffer = s_.buffers[id];
    if (k > 0) s_.buffers[previous].next = id;
    if (k + 1 == n && keep_last) {
      buffer.consumed += last_used;
    } else {
      buffer.kernel_owned = 0;
      ++s_.app_owned;
    }
    previous = id;
  }
  view.data = buffer_address(first) + offset;
  view.size = size;
  view.first_size = std::min(size, s_.size - offset);
  view.segments = static_cast<std::uint16_t>(n);
  view.kernel_keeps_last = keep_last;
  return view;
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
  if (!s_.ring) return Error{EBADF, "buffer group: closed"};
  if (!s_.ring_base) return invalid("kernel_head: group " + std::to_string(s_.group_id) + " is not a buffer ring");
  std::uint16_t head = 0;
  const int ret = pbuf_status(*s_.ring, s_.group_id, &head);
  if (ret == -EINVAL) {
    return invalid("IORING_REGISTER_PBUF_STATUS needs Linux 6.8; this kernel is " + kernel_release());
  }
  if (ret < 0) return error_from_errno(ret, "IORING_REGISTER_PBUF_STATUS for group " + std::to_string(s_.group_id));
  return head;
}

unsigned BufferGroup::available_to_kernel() const {
  if (s_.ring_base) {
    auto head = kernel_head();
    if (head) return static_cast<std::uint16_t>(s_.tail - head.value());
  }
  return kernel_owned_count();
}

NoBuffersAction BufferGroup::on_no_buffers(const Cqe& cqe) {
  if (cqe.res != -ENOBUFS) return NoBuffersAction::not_enobufs;
  return apply_no_buffers_policy(cqe.user_data);
}

NoBuffersAction BufferGroup::on_multishot_end(const Cqe& cqe) {
  if (cqe.more() || (cqe.res != -ENOBUFS && cqe.res <= 0)) return NoBuffersAction::not_enobufs;
  return apply_no_buffers_policy(cqe.user_data);
}

NoBuffersAction BufferGroup::apply_no_buffers_policy(std::uint64_t user_data) {
  if (s_.policy == NoBuffersPolicy::fail || !s_.ring) return NoBuffersAction::fail;
  if (available_to_kernel() > 0) return NoBuffersAction::rearm_now;
  if (s_.parked.size() >= s_.max_parked) return NoBuffersAction::fail;
  s_.parked.push_back(user_data);
  s_.recycles_when_parked = s_.recycles;
  return NoBuffersAction::parked;
}

int BufferGroup::handle_internal(const Cqe& cqe) {
  if (!is_internal(cqe)) return 0;
  if (cqe.res >= 0) return 0;
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
