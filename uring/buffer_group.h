// uring::BufferGroup: N buffers of S bytes that the kernel picks from when a
// request carries IOSQE_BUFFER_SELECT (Sqe::buffer_select), over either kind
// of provided-buffer group:
//
//   - a buffer ring (IORING_REGISTER_PBUF_RING, 5.19): the buffers sit in a
//     ring shared with the kernel; recycling writes an entry and publishes
//     the ring's tail (a store-release, uring/barrier.h). No system call.
//     Optionally mapped from the kernel (IOU_PBUF_RING_MMAP, 6.4) and
//     consumed incrementally (IOU_PBUF_RING_INC, 6.12);
//   - legacy provided buffers (IORING_OP_PROVIDE_BUFFERS, 5.7): recycling
//     queues a PROVIDE_BUFFERS SQE that goes in with your next submit.
//
//   auto group = uring::BufferGroup::create_ring(ring, {.group_id = 1,
//                                                       .buffer_count = 8,
//                                                       .buffer_size = 4096});
//   uring::prep_recv_multishot(*ring.get_sqe(), fd, 0, 1);
//   ...  for each CQE of that request:
//   uring::BufferView view = group->take(cqe);   // which bytes, in which buffer
//   consume(view.bytes());
//   (void)group->recycle(view);                  // back to the kernel
//
// Ownership. Every buffer is either the kernel's (given to it, or picked by a
// request whose CQE you have not taken yet) or yours (taken, not recycled).
// take() moves a buffer to you, recycle() back to the kernel; recycling a
// buffer the kernel owns is refused (BufferError::kernel_owned) in every
// build, so a buffer is never given to the kernel twice, and so is a view
// whose buffer has come round again since (BufferError::stale_view).
//
// Bundles. A CQE does not say whether its request was a bundle
// (IORING_RECVSEND_BUNDLE, prep_recv_bundle*): you say it, take(cqe,
// Bundle::yes). Without it a CQE is one buffer, and a result larger than
// the buffer (recv with MSG_TRUNC on a datagram socket returns the
// datagram's full length) is cut to what the buffer holds, with
// BufferView::truncated set (on an incremental ring the kernel moves on by
// the whole result: the buffers it passed over come with the view).
//
// Per-CQE calls (take, recycle, segment) are allocation-free and make no
// system call (on_no_buffers / rearm_parked may ask the kernel for the ring
// head, at most once per pass of your loop, and rearm_parked submits the
// ring when the SQ is full); they are
// inline, except take()'s path for results larger than the buffer (bundles,
// truncation), in buffer_group.cc.
// Setup and teardown are in buffer_group.cc, which calls mmap/munmap for
// buffer-ring memory only (IOU_PBUF_RING_MMAP rings, mapped from the ring
// fd, and rings whose memory the library allocates).
//
// The Ring: the group holds a RingRef (uring/ring.h), so the Ring may move
// (the group follows it) and may close or be destroyed first: then the
// kernel has dropped the group with the ring, the group's calls answer
// BufferError::closed / EBADF, and close() only frees the memory.
//
// What the caller must guarantee:
//   - before the group (or its Ring) is closed or destroyed, no request that selects from
//     it is in flight (cancel them and reap their CQEs): a request that has
//     already picked a buffer may still write into it, and the group frees
//     that memory once the kernel can pick no more (ring unregistered, or
//     legacy buffers removed);
//   - bundles are received into buffer rings only (a legacy group's bundle
//     CQE can name one buffer of two it filled: take() says
//     bundle_needs_ring), and taken with Bundle::yes, everything else
//     without it; a bundle with MSG_TRUNC is not supported (its result does
//     not say how many buffers the kernel used when the data was cut);
//   - one thread at a time uses the group (like the Ring);
//   - incremental rings are for requests the kernel issues inline or when
//     their socket or pipe is ready, where it moves on by the bytes
//     received; a request that runs in io-wq (IOSQE_ASYNC, or a regular
//     file) makes it move on by the length it selected — the whole buffer,
//     or len — whatever the result (io_ring_buffer_select commits at
//     selection for IO_URING_F_UNLOCKED), which no CQE reports: do not send
//     such requests to an incremental ring;
//   - a multishot receive on a legacy group is not forced into io-wq
//     (IOSQE_ASYNC): on 6.18 it sometimes never posts its end-of-stream
//     CQE on an AF_UNIX stream (README, "Buffer groups");
//   - on every group (buffer rings too), each CQE is first checked with
//     is_internal() and, if true, given to handle_internal() and not treated
//     as one of your requests' (its result is not data, an end of stream or
//     an error of yours). They carry the group's internal user_data
//     (internal_user_data, its low 17 bits the op):
//       * buffer rings with NoBuffersPolicy::recycle_and_retry: the wake-up
//         NOP rearm_parked queues (internal_user_data | 0x10001, result 0)
//         when it handed back some parked requests and others stay parked;
//         it comes with your next submit; handle_internal() returns 0;
//       * legacy groups: each recycle()'s PROVIDE_BUFFERS posts one (user_data
//         internal_user_data | buffer id; unless skip_success_cqes, which
//         costs the ring IOSQE_IO_DRAIN and is not applied to recycles with
//         NoBuffersPolicy::recycle_and_retry, see BufferGroupOptions) once your
//         next submit has run it; handle_internal() returns 0, or the
//         -errno of a failed PROVIDE (the buffer is then yours again). The
//         group takes its own off the CQ in create/close when they are
//         first in it.
//     A loop that skips this sees the NOP's CQE (result 0, no buffer, no
//     IORING_CQE_F_MORE) as the end of a stream with user_data it never set.
//     After close() is_internal() is false for all of them: a CQE of the
//     group still in flight then (a wake-up NOP, a legacy REMOVE/PROVIDE)
//     comes with the user_data above; drop it, it holds nothing of yours.
#pragma once

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "syscalls/abi.h"
#include "uring/barrier.h"
#include "uring/prep_buffers.h"
#include "uring/result.h"
#include "uring/ring.h"
#include "uring/sqe.h"

namespace uring {

// What went wrong in a per-CQE call. describe() gives one line saying what to do.
enum class BufferError : std::uint8_t {
  none,
  no_buffer,         // the CQE carries no buffer (no IORING_CQE_F_BUFFER): an error, -ENOBUFS, EOF on a socket
  unknown_id,        // the buffer id is not one of this group's: a CQE of another group?
  not_kernel_owned,  // take(): the CQE names a buffer you already hold (CQE taken twice, or another group's)
  kernel_owned,      // recycle(): the kernel owns this buffer (not taken yet, or recycled already)
  stale_view,        // recycle(view): the view's buffer was recycled and handed out again since
  sq_full,           // recycle() on a legacy group: no free SQE for PROVIDE_BUFFERS; submit, then retry
  bundle_lost,       // take(): some of the bundle's buffers were already handed out by another CQE;
                     // the view holds the rest (recycle it), its bytes are not to be trusted
  bundle_needs_ring, // take(cqe, Bundle::yes) on a legacy group, a result larger than the buffer: the
                     // kernel filled buffers the CQE does not name; the view holds the one it names
  closed,            // the group has been closed
};
const char* describe(BufferError error);

// What to do when a request on the group fails with -ENOBUFS (the kernel
// found no buffer). A multishot request ends with it (no IORING_CQE_F_MORE).
enum class NoBuffersPolicy : std::uint8_t {
  fail,               // report it: the request stays ended
  recycle_and_retry,  // re-arm the request as soon as the group has a buffer again
};

// BufferGroup::on_no_buffers' / on_multishot_end's answer for one CQE.
enum class NoBuffersAction : std::uint8_t {
  not_enobufs,  // not a buffer shortage (still armed, end of stream, another error): nothing to do here
  fail,         // policy fail (or too many parked requests): treat it as an error
  rearm_now,    // buffers came back since the kernel ran dry: submit the request again now
  parked,       // no buffer yet: the CQE's user_data is kept; a later rearm_parked() hands it
                // back (on a buffer ring with a kernel count, once a buffer is free and
                // unpromised for it; on a legacy group, after a recycle())
  ended_with_data,  // on_multishot_end: the multishot ended on a data CQE, not for want of
                    // buffers (the CQ was full, or it reached its total-length limit):
                    // submit it again if you want more
};

// Whether a request may fill several buffers per CQE (IORING_RECVSEND_BUNDLE).
// The CQE does not say; take() and on_multishot_end() need to be told.
enum class Bundle : bool { no, yes };

// Where a buffer ring's entries live.
enum class RingMemory : std::uint8_t {
  library,  // the group maps page-aligned memory and the kernel pins it
  kernel,   // IOU_PBUF_RING_MMAP (6.4): the kernel allocates it; the group mmaps it from the ring fd
  caller,   // yours: ring_memory_address, page-aligned, ring_memory_bytes >= 16 * ring_entries
};

struct BufferGroupOptions {
  std::uint16_t group_id = 0;  // the IOSQE_BUFFER_SELECT group (sqe->buf_group)
  unsigned buffer_count = 0;   // 1 .. 32768 buffers, ids 0 .. buffer_count-1
  unsigned buffer_size = 0;    // bytes each, 1 .. 1 GiB
  // buffer_count * buffer_size bytes of yours (buffer i at offset i * buffer_size),
  // or null: the group allocates them, page-aligned, and frees them.
  void* buffer_memory = nullptr;
  // How many buffers the kernel gets at creation: ids 0 .. given_at_start-1.
  // The others start as yours, as if taken: recycle(id) gives one to the
  // kernel when you want it used. A kernel that picks from many buffers
  // spreads the data over all of them (a buffer ring hands them out in ring
  // order); few free at a time keep the buffers in use warm in the cache.
  // A legacy group needs at least 1 (EINVAL for 0 from create_provided, and
  // from create_ring when allow_fallback falls back to legacy buffers).
  static constexpr unsigned kAllBuffers = ~0u;
  unsigned given_at_start = kAllBuffers;  // 0 .. buffer_count, or all of them

  // Buffer rings only.
  unsigned ring_entries = 0;  // a power of two >= buffer_count; 0: the smallest such
  RingMemory ring_memory = RingMemory::library;
  void* ring_memory_address = nullptr;  // RingMemory::caller
  std::size_t ring_memory_bytes = 0;    // RingMemory::caller
  bool incremental = false;  // IOU_PBUF_RING_INC (6.12): a buffer serves several receives (IORING_CQE_F_BUF_MORE)
  // When the kernel refuses part of the request: drop incremental mode, then
  // kernel-mapped memory, then use legacy provided buffers (fallback_note()
  // says what happened). Otherwise create_ring fails.
  bool allow_fallback = false;
  std::uint16_t extra_ring_flags = 0;  // raw IOU_PBUF_RING_* bits newer than this library

  NoBuffersPolicy no_buffers = NoBuffersPolicy::fail;
  unsigned max_parked = 64;  // requests on_no_buffers() may park (reserved up front; at most 65536)

  // Legacy groups: mark the group's PROVIDE/REMOVE_BUFFERS SQEs
  // IOSQE_CQE_SKIP_SUCCESS (IORING_FEAT_CQE_SKIP, 5.17), so a recycle posts
  // no CQE unless it fails. The kernel then refuses IOSQE_IO_DRAIN on this
  // ring for good (io_init_req sets ctx->drain_disabled; drained SQEs fail
  // with -EOPNOTSUPP), so this is off unless you ask. With
  // NoBuffersPolicy::recycle_and_retry a recycle's PROVIDE_BUFFERS posts its
  // CQE anyway: it is how the group sees a buffer reach the kernel (see
  // rearm_parked).
  bool skip_success_cqes = false;

  // user_data of the group's own SQEs (every group: legacy PROVIDE/REMOVE
  // and a buffer ring's wake-up NOP, see rearm_parked): its low 17 bits must
  // be zero (they carry the buffer id or the op). 0: 0xB0F5 << 48 | group_id << 20.
  std::uint64_t internal_user_data = 0;
};

// The bytes one CQE delivered. Valid until its buffers are recycled.
struct BufferView {
  unsigned char* data = nullptr;  // first byte received (in buffer `id`)
  std::uint32_t size = 0;         // bytes in the buffers, over every segment
  std::uint32_t first_size = 0;   // of those, the bytes in the first buffer
  std::uint32_t generation = 0;   // which hand-over this is: recycle(view) refuses a stale view
  std::uint16_t id = 0;           // the first buffer's id
  // Buffers this CQE used: 1, several for a bundle, 0 without a buffer. On
  // an incremental ring a truncated receive also moves the kernel past
  // buffers it wrote nothing into; they are segments of no bytes.
  std::uint16_t segments = 0;
  // Incremental rings (IORING_CQE_F_BUF_MORE): the last buffer has room left
  // and stays with the kernel; the next CQE naming it continues where this ended.
  bool kernel_keeps_last = false;
  // cqe.result() is more than the buffers hold (recv with MSG_TRUNC on a
  // datagram socket: the datagram's full length): `size` is what is in them.
  bool truncated = false;
  BufferError error = BufferError::none;

  bool ok() const { return error == BufferError::none; }
  // Buffers this CQE handed to you: recycle(view) gives them all back.
  unsigned returned() const { return segments - (kernel_keeps_last ? 1u : 0u); }
  // All the bytes when they lie in one buffer (segments <= 1); for a bundle,
  // the first segment only (BufferGroup::segment / for_each_segment for the rest).
  std::span<unsigned char> bytes() const { return {data, first_size}; }
};

class BufferGroup {
 public:
  enum class Kind : std::uint8_t { provided, ring };

  // A buffer ring with options.buffer_count buffers, given to the kernel
  // (given_at_start of them; by default all).
  // Errors say what to do: group id in use (EEXIST), ring_entries not a
  // power of two, misaligned ring memory, RingMemory::kernel for a group id
  // above 2047 (its mmap offset would reach into IORING_OFF_MMAP_MASK)
  // (EINVAL), a kernel without buffer rings or without the requested mode
  // (EINVAL; see allow_fallback, which also covers the two before).
  static Result<BufferGroup> create_ring(Ring& ring, const BufferGroupOptions& options);
  // A legacy group: one PROVIDE_BUFFERS SQE for the buffers given at start
  // (given_at_start 0 is EINVAL here: the kernel would have no list for the
  // group, and bundles fail with ENOENT), submitted (with
  // anything else queued on the ring) before this returns, which waits (up
  // to a second) until the kernel has run it: after a request with
  // IOSQE_IO_DRAIN the kernel runs it later, from its drain queue. Its CQE
  // is taken off the CQ when nothing else is before it. Errors: the kernel's
  // errno from that CQE; EBUSY when it has not run within the second (a
  // drained request ahead of it still in flight) - the memory is then not
  // freed, since the kernel may still take it.
  static Result<BufferGroup> create_provided(Ring& ring, const BufferGroupOptions& options);

  BufferGroup() = default;  // an empty group: valid() is false
  BufferGroup(BufferGroup&& other) noexcept { swap(other); }
  BufferGroup& operator=(BufferGroup&& other) noexcept {
    if (this != &other) {
      BufferGroup(std::move(other)).swap(*this);
    }
    return *this;
  }
  BufferGroup(const BufferGroup&) = delete;
  BufferGroup& operator=(const BufferGroup&) = delete;
  ~BufferGroup() { (void)close(); }

  // Takes the buffers back from the kernel (unregisters the ring, or removes
  // the legacy buffers: a REMOVE_BUFFERS SQE, submitted with whatever else is
  // queued and waited for as create_provided's PROVIDE; when its CQE cannot
  // be taken off the CQ it still comes, with the internal user_data of a
  // group that is gone), then frees the memory the group allocated. If the
  // kernel could not be made to let go, the memory is leaked rather than
  // freed under it, and the error says so. Idempotent; the destructor calls it.
  Status close();
  bool valid() const { return ring_.get() != nullptr; }

  // ---- Per CQE -------------------------------------------------------------

  // The bytes a CQE of a buffer-select request delivered, and which buffers
  // hold them. The buffers become yours (except one the kernel keeps, see
  // BufferView::kernel_keeps_last). `bundle`: the request was a bundle
  // (prep_recv_bundle*), so its bytes may run on into the following ring
  // slots; otherwise the CQE used one buffer and a larger result is cut to
  // it (truncated). A CQE without a buffer gives a view with error no_buffer
  // and no segments (check cqe.result() for the reason); unknown_id,
  // not_kernel_owned and closed give none either. On a legacy group a
  // bundle receive's CQE with more than the named buffer holds gives
  // bundle_needs_ring: the kernel fills one provided buffer per try, and
  // newer kernels (the recv-bundle retry of 'io_uring/net: improve recv
  // bundles', about 6.15) try again with the next and post one CQE for both
  // naming only the first, so the bytes past the first buffer, and that
  // buffer, are lost to you; the view holds the named buffer (recycle it).
  // A legacy send bundle posts a CQE per buffer: nothing is refused there.
  // bundle_lost still hands
  // over what the kernel consumed: recycle the view.
  BufferView take(const Cqe& cqe, Bundle bundle = Bundle::no) {
    BufferView view;
    const std::uint32_t flags = cqe.flags;
    if (!(flags & abi::IORING_CQE_F_BUFFER)) {
      view.error = BufferError::no_buffer;
      return view;
    }
    const auto id = static_cast<std::uint16_t>(flags >> abi::IORING_CQE_BUFFER_SHIFT);
    view.id = id;
    if (id >= s_.count || !ring_.get()) [[unlikely]] {
      // Past the group, or the group (or its Ring) is closed: the kernel
      // dropped the group with the ring, nothing is handed over.
      view.error = ring_.get() ? BufferError::unknown_id : BufferError::closed;
      return view;
    }
    BufferState& buffer = s_.buffers[id];
    if (!buffer.kernel_owned) [[unlikely]] {
      view.error = BufferError::not_kernel_owned;
      return view;
    }
    const std::uint32_t size = cqe.res > 0 ? static_cast<std::uint32_t>(cqe.res) : 0;
    const std::uint32_t offset = buffer.consumed;
    // More than the buffer's room: a bundle, or a truncated datagram.
    if (size > s_.size - offset) [[unlikely]] return take_slow(view, size, bundle);
    view.data = s_.base + static_cast<std::size_t>(id) * s_.size + offset;
    view.size = size;
    view.first_size = size;
    view.segments = 1;
    // BUF_MORE comes from the kernel only on incremental rings; on any other
    // group the flag names nothing (a CQE from elsewhere) and is ignored.
    if ((flags & abi::IORING_CQE_F_BUF_MORE) && s_.incremental) {
      buffer.consumed = offset + size;  // the kernel continues after these bytes
      view.kernel_keeps_last = true;
    } else {
      view.generation = hand_over(buffer, next_generation());
    }
    return view;
  }

  // Gives buffer `id` back to the kernel: a ring entry published at once, or
  // a PROVIDE_BUFFERS SQE that goes in with your next submit (queue it
  // before the request that needs the buffer). Refused when the kernel
  // already owns it.
  [[nodiscard]] BufferError recycle(std::uint16_t id) {
    if (BufferError error = check_recyclable(id); error != BufferError::none) [[unlikely]] {
      return error;
    }
    if (s_.ring_base) {
      add_to_ring(id);
      publish_ring_tail();
    } else if (!provide_one(id)) [[unlikely]] {
      return BufferError::sq_full;
    }
    return BufferError::none;
  }

  // Gives back every buffer the view handed to you (one tail store for a
  // bundle), all or none. A view without buffers is fine (nothing to do).
  // Refused with stale_view when a buffer of the view has been recycled and
  // handed out again since (by a later CQE): that is the newer view's now.
  [[nodiscard]] BufferError recycle(const BufferView& view) {
    if (view.segments == 0) {
      return view.error == BufferError::no_buffer ? BufferError::none : view.error;
    }
    const unsigned n = view.returned();
    std::uint16_t id = view.id;
    for (unsigned i = 0; i < n; ++i) {  // check all first: all or nothing
      if (BufferError error = check_recyclable(id); error != BufferError::none) return error;
      if (s_.buffers[id].generation != view.generation) [[unlikely]] return BufferError::stale_view;
      id = s_.buffers[id].next;
    }
    if (n == 0) return BufferError::none;
    if (!s_.ring_base) {  // legacy views hold one buffer
      return provide_one(view.id) ? BufferError::none : BufferError::sq_full;
    }
    id = view.id;
    for (unsigned i = 0; i < n; ++i) {
      const std::uint16_t next = s_.buffers[id].next;
      add_to_ring(id);
      id = next;
    }
    publish_ring_tail();
    return BufferError::none;
  }

  // Segment k of a view (k < view.segments): bytes in one buffer.
  std::span<unsigned char> segment(const BufferView& view, unsigned k) const {
    if (k >= view.segments || !s_.buffers) return {};
    if (k == 0) return view.bytes();
    std::uint16_t id = view.id;
    for (unsigned i = 0; i < k; ++i) id = s_.buffers[id].next;
    const std::uint64_t before = view.first_size + static_cast<std::uint64_t>(k - 1) * s_.size;
    const std::uint64_t left = view.size > before ? view.size - before : 0;
    return {buffer_address(id), static_cast<std::size_t>(left < s_.size ? left : s_.size)};
  }

  // Calls fn(std::span<unsigned char>) for each segment, in order.
  template <class Fn>
  void for_each_segment(const BufferView& view, Fn&& fn) const {
    if (view.segments == 0 || !s_.buffers) return;
    fn(view.bytes());
    std::uint32_t left = view.size - view.first_size;
    std::uint16_t id = view.id;
    for (unsigned k = 1; k < view.segments; ++k) {
      id = s_.buffers[id].next;
      const std::uint32_t n = left < s_.size ? left : s_.size;
      fn(std::span<unsigned char>(buffer_address(id), n));
      left -= n;
    }
  }

  // Copies the view's bytes (at most `capacity`) to `out`; returns how many.
  std::size_t copy_out(const BufferView& view, void* out, std::size_t capacity) const;

  // The whole of buffer `id` (buffer_size bytes).
  std::span<unsigned char> buffer(std::uint16_t id) const {
    if (id >= s_.count) return {};
    return {buffer_address(id), s_.size};
  }

  // Ownership, as the group tracks it.
  bool kernel_owns(std::uint16_t id) const { return id < s_.count && s_.buffers[id].kernel_owned; }
  unsigned app_owned_count() const { return s_.app_owned; }
  unsigned kernel_owned_count() const { return s_.count - s_.app_owned; }

  // ---- -ENOBUFS ------------------------------------------------------------

  // Applies the group's NoBuffersPolicy to a CQE that failed with -ENOBUFS
  // (see NoBuffersAction); any other CQE gives not_enobufs.
  //
  // recycle_and_retry on a buffer ring, the promise: the group counts the
  // buffers the kernel has free (its ring head, IORING_REGISTER_PBUF_STATUS,
  // 6.8: read at most once between two rearm_parked() calls, and not at all
  // while you hold every buffer), plus those you recycled since, minus those
  // already promised: each rearm_now answer and each request rearm_parked()
  // hands back is promised one. So an answer is rearm_now only while no request
  // is parked and a free buffer is not promised yet; otherwise parked. The
  // promises end at the next rearm_parked() (the re-armed requests have run
  // by then: submit them before that call).
  //
  // A legacy group (or a ring where the kernel cannot say) counts the
  // buffers recycled since its previous answer, so a buffer a request picked
  // but whose CQE you have not taken yet can cost one re-arm that meets
  // -ENOBUFS again; the next answer, with nothing recycled in between, is
  // parked (or fail), never rearm_now again.
  NoBuffersAction on_no_buffers(const Cqe& cqe);
  // For the CQE that ended a multishot request (no IORING_CQE_F_MORE):
  // -ENOBUFS gets the policy; the end of the stream (0) and other errors
  // are not_enobufs. A request also ends on a data CQE: when the CQ was full
  // (io_req_post_cqe failed), or at its total-length limit (multishot RECV
  // with sqe->optlen, 6.17): ended_with_data. A bundle (Bundle::yes) also
  // ends on data when it took the last buffers of the ring: if the kernel
  // has no buffer left when you ask, that is a shortage and gets the policy.
  NoBuffersAction on_multishot_end(const Cqe& cqe, Bundle bundle = Bundle::no);
  // Call it exactly once per pass of your loop, after taking the CQEs and
  // recycling, before you submit and wait (on a buffer ring each call ends the
  // promises of the pass and may queue a NOP: called twice per pass it can hand back
  // requests for buffers the first call already promised, which then meet
  // -ENOBUFS again and park, and queue a second NOP; not called, parked
  // requests stay parked and rearm_now answers stay promised): calls rearm(std::uint64_t user_data) for
  // parked requests, oldest first, and returns how many.
  //
  // On a buffer ring (6.8), at most as many as the kernel has buffers free
  // and not promised (see on_no_buffers), so N parked requests do not race
  // for one buffer. A request handed back to an idle socket takes no buffer
  // and posts nothing (the kernel picks a buffer only when data is there;
  // on -EAGAIN it puts it back), so when requests stay parked after some
  // were handed back, the group also queues a NOP with its internal
  // user_data (internal_user_data | 0x10001, result 0): its CQE, after your
  // next submit, brings your loop back here, where the buffers still free go
  // to the next parked requests. Your loop must give it to
  // is_internal()/handle_internal() (0) like a legacy group's CQEs, or it
  // looks like an end of stream with a user_data you never set. So
  // every parked request is handed back as long as you keep calling this and
  // recycling the buffers you take, whichever sockets are idle.
  //
  // A full SQ: before each rearm() and before the NOP, when the SQ has no
  // free entry, this calls ring.wait_for_sq_space() to make room (a submit;
  // on SQPOLL also an io_uring_enter(IORING_ENTER_SQ_WAIT) until the poller
  // has taken some), so rearm() always finds one SQE free (it may take one;
  // it must not submit the ring itself). If the SQ is still full (the submit
  // failed: -EBUSY, -EAGAIN, ...), the requests not yet handed back stay
  // parked, with no NOP queued: the next call hands them back, so keep your
  // wait bounded (a timeout) while parked_count() > 0.
  //
  // A legacy group, or a ring before 6.8, hands back every parked request
  // once a buffer has been recycled since the newest was parked, or once
  // handle_internal() has seen a recycled buffer's PROVIDE_BUFFERS succeed
  // in the pass of that park, the pass before it, or since (legacy groups:
  // a -ENOBUFS the kernel decided before that PROVIDE ran - an SQPOLL thread
  // runs it late, a request queued before the recycle runs first - comes
  // earlier in the CQ, or, decided in io-wq on a DEFER_TASKRUN ring, up to
  // one pass later, as task work; give the group's CQEs to
  // handle_internal() as you reap them. One decided in io-wq and posted
  // later still waits for the next recycle); and, once
  // per recycle, when you hold none of the group's buffers that you took
  // (given_at_start's kept back ones do not count): then no recycle
  // can come, yet the kernel may have a buffer free (a rearm_now answer's
  // request that found its socket idle leaves the recycled buffer unused),
  // so a request parked behind it must try again. If it meets -ENOBUFS again,
  // every buffer is taken by a request whose CQE is still to come, and it
  // waits for that buffer's recycle. A ring before 6.8 has no PROVIDE CQE
  // to go by (a recycle is a tail store): a request parked behind a
  // rearm_now answer whose socket stayed idle, while you hold a buffer you
  // took, waits for your next recycle (so do not hold buffers until a
  // parked request's data comes).
  template <class Fn>
  unsigned rearm_parked(Fn&& rearm) {
    const unsigned n = parked_to_hand_back();
    unsigned done = 0;
    while (done < n && make_sq_room()) rearm(s_.parked[done++]);
    if (done < n) unpromise(n - done);  // no SQE even after a submit: the rest stay parked
    if (done) s_.parked.erase(s_.parked.begin(), s_.parked.begin() + done);
    finish_rearm();
    return done;
  }
  unsigned parked_count() const { return static_cast<unsigned>(s_.parked.size()); }
  NoBuffersPolicy no_buffers_policy() const { return s_.policy; }

  // ---- The group's own CQEs (every group) ---------------------------------
  // Check every CQE with is_internal() before anything else (see the class
  // comment): a buffer ring's wake-up NOP (internal_user_data | 0x10001,
  // result 0) and a legacy group's PROVIDE_BUFFERS (internal_user_data | id).
  // False once the group is closed: such a CQE still in flight then is
  // safe to drop.

  bool is_internal(const Cqe& cqe) const {
    return ring_.get() && (cqe.user_data & ~kInternalLowMask) == s_.internal_tag;
  }
  // A failed PROVIDE_BUFFERS for a recycled buffer gives the buffer back to
  // you (recycle it again later). Returns 0 for a success, for the wake-up
  // NOP and for a CQE that is not the group's, else the CQE's -errno.
  int handle_internal(const Cqe& cqe);

  // ---- Description ---------------------------------------------------------

  Kind kind() const { return s_.ring_base ? Kind::ring : Kind::provided; }
  std::uint16_t group_id() const { return s_.group_id; }
  unsigned buffer_count() const { return s_.count; }
  unsigned buffer_size() const { return s_.size; }
  unsigned ring_entries() const { return s_.ring_base ? s_.mask + 1u : 0u; }
  bool incremental() const { return s_.incremental; }
  RingMemory ring_memory() const { return s_.ring_memory; }
  // Empty, or what allow_fallback changed and why.
  const std::string& fallback_note() const { return s_.fallback_note; }
  // The kernel's head of the buffer ring (IORING_REGISTER_PBUF_STATUS, 6.8):
  // how many buffers it has taken from the ring so far, modulo 2^16.
  Result<std::uint16_t> kernel_head() const;
  // The ring's tail as published (buffers ever added, modulo 2^16).
  std::uint16_t ring_tail() const { return s_.tail; }

  void swap(BufferGroup& other) noexcept {
    std::swap(s_, other.s_);
    RingRef mine(std::move(ring_));
    ring_ = std::move(other.ring_);
    other.ring_ = std::move(mine);
  }

 private:
  static constexpr std::uint64_t kInternalLowMask = 0x1FFFF;  // bit 16: whole-group op; 0..15: id
  static constexpr std::uint64_t kInternalGroupOp = 0x10000;
  static constexpr std::uint64_t kInternalWake = kInternalGroupOp | 1;  // rearm_parked's NOP

  struct BufferState {
    std::uint32_t consumed = 0;    // incremental rings: bytes the kernel has filled so far
    std::uint32_t generation = 0;  // the hand-over that made it yours (BufferView::generation)
    std::uint16_t ring_pos = 0;    // ring rings: the tail value this buffer was added at
    std::uint16_t next = 0;        // the following buffer of a bundle (set by take)
    std::uint8_t kernel_owned = 0;
    std::uint8_t kept_back = 0;  // given_at_start kept it from the kernel, and it has not been recycled since
  };

  struct State {
    unsigned char* base = nullptr;  // buffer i at base + i * size
    std::unique_ptr<BufferState[]> buffers;
    std::uint32_t count = 0;
    std::uint32_t size = 0;
    std::uint32_t app_owned = 0;
    std::uint32_t kept_back = 0;  // of those, buffers given_at_start kept back and not recycled yet
    std::uint32_t generation = 0;  // hand-overs so far
    std::uint16_t group_id = 0;

    // Buffer rings (ring_base null for legacy groups).
    unsigned char* ring_base = nullptr;  // io_uring_buf entries; the tail overlays bufs[0].resv
    std::unique_ptr<std::uint16_t[]> slot_ids;  // which buffer each ring slot was last given
    std::uint16_t tail = 0;              // our copy of the published tail
    std::uint16_t mask = 0;
    bool incremental = false;
    RingMemory ring_memory = RingMemory::library;
    std::size_t ring_bytes = 0;

    // Legacy groups.
    bool skip_success = false;  // skip_success_cqes (and IORING_FEAT_CQE_SKIP): CQEs only on failure
    std::uint64_t internal_tag = 0;

    // -ENOBUFS handling.
    NoBuffersPolicy policy = NoBuffersPolicy::fail;
    unsigned max_parked = 0;
    std::vector<std::uint64_t> parked;
    std::uint64_t recycles = 0;
    std::uint64_t recycles_when_parked = 0;
    std::uint64_t recycles_at_answer = 0;  // at the last shortage answer (no kernel count)
    // No kernel count: the recycle count at the last hand-back made because
    // you held no buffer (at most one per recycle; none made yet: ~0).
    std::uint64_t recycles_at_dry_hand_back = ~std::uint64_t{0};
    // Legacy groups: recycled buffers whose PROVIDE_BUFFERS CQE said they
    // reached the kernel (handle_internal); that count at the end of the
    // last two rearm_parked calls; and the one a park compares with (the
    // older of the two: see rearm_parked).
    std::uint64_t provided = 0;
    std::uint64_t provided_at_last_pass = 0;
    std::uint64_t provided_at_pass_before = 0;
    std::uint64_t provided_when_parked = 0;
    // Buffer rings with a kernel count: free buffers not yet promised are
    // free_at_count + (recycles - recycles_at_count) - promised, while
    // counted (until the next rearm_parked).
    bool counted = false;
    bool no_kernel_count = false;       // PBUF_STATUS refused: the legacy rules
    std::uint32_t free_at_count = 0;
    std::uint32_t promised = 0;
    std::uint64_t recycles_at_count = 0;
    // At the end of the last rearm_parked: nothing left free and nothing
    // promised, so unless buffers are recycled the kernel has none free.
    bool dry_at_pass_end = false;
    std::uint64_t recycles_at_pass_end = 0;

    bool owns_buffer_memory = false;
    std::size_t buffer_bytes = 0;
    bool kernel_has_group = false;  // ring registered / buffers provided: close() must undo it
    unsigned given_at_start = 0;    // BufferGroupOptions::given_at_start, at most count
    std::string fallback_note;
  };

  // Setup steps (buffer_group.cc).
  static Status check_common(const Ring& ring, const BufferGroupOptions& options);
  Status init(Ring& ring, const BufferGroupOptions& options);
  Status register_ring(const BufferGroupOptions& options);
  Status provide_initial();
  // await_group_op's answers besides a CQE result (0, a count, -errno).
  static constexpr int kOpRanUnread = 1 << 30;     // it ran; its CQE (if any) is still in the CQ
  static constexpr int kOpPending = (1 << 30) + 1;  // not run within a second
  int await_group_op(bool cq_was_empty, bool provide);
  void release_ring_memory();
  unsigned available_to_kernel() const;
  NoBuffersAction apply_no_buffers_policy(std::uint64_t user_data);
  bool uses_kernel_count() const { return s_.ring_base && !s_.no_kernel_count; }
  unsigned unpromised_free();  // buffer rings with a kernel count
  unsigned parked_to_hand_back();
  bool finish_rearm();  // false: the wake-up NOP found no SQE, even after a submit
  bool make_sq_room();  // an SQE is free, after one submit() if need be
  void unpromise(unsigned n) {
    if (uses_kernel_count()) {
      s_.promised = s_.promised > n ? s_.promised - n : 0;
    } else {
      s_.recycles_at_dry_hand_back = ~std::uint64_t{0};  // the rest were not handed back: again next time
    }
  }

  unsigned char* buffer_address(std::uint16_t id) const {
    return s_.base + static_cast<std::size_t>(id) * s_.size;
  }

  BufferError check_recyclable(std::uint16_t id) const {
    if (!ring_.get()) return BufferError::closed;  // the group, or its Ring, is closed
    if (id >= s_.count) return BufferError::unknown_id;
    if (s_.buffers[id].kernel_owned) return BufferError::kernel_owned;
    return BufferError::none;
  }

  // Writes buffer `id` into the slot at our tail (not yet visible to the kernel).
  void add_to_ring(std::uint16_t id) {
    const std::uint16_t tail = s_.tail;
    const unsigned slot = tail & s_.mask;
    auto* entry = reinterpret_cast<abi::io_uring_buf*>(s_.ring_base) + slot;
    // Field by field: slot 0's `resv` is the ring's tail, which only
    // publish_ring_tail() writes.
    entry->addr = reinterpret_cast<std::uintptr_t>(buffer_address(id));
    entry->len = s_.size;
    entry->bid = id;
    s_.slot_ids[slot] = id;
    BufferState& buffer = s_.buffers[id];
    buffer.ring_pos = tail;
    buffer.consumed = 0;
    buffer.kernel_owned = 1;
    if (buffer.kept_back) [[unlikely]] give_kept_back(buffer);
    --s_.app_owned;
    ++s_.recycles;
    s_.tail = static_cast<std::uint16_t>(tail + 1);
  }

  // The entries written above become visible to the kernel: pairs with its
  // smp_load_acquire of the tail when it picks a buffer (uring/barrier.h).
  void publish_ring_tail() {
    barrier::store_release(&reinterpret_cast<abi::io_uring_buf_ring*>(s_.ring_base)->tail, s_.tail);
  }

  // Legacy groups: one PROVIDE_BUFFERS SQE for buffer `id`. False if the SQ is full.
  bool provide_one(std::uint16_t id) {
    Sqe* sqe = ring_.get()->get_sqe();
    if (!sqe) return false;
    prep_provide_buffers(*sqe, buffer_address(id), s_.size, 1, s_.group_id, id)
        .set_user_data(s_.internal_tag | id);
    if (s_.skip_success && s_.policy != NoBuffersPolicy::recycle_and_retry) sqe->skip_success();
    BufferState& buffer = s_.buffers[id];
    buffer.kernel_owned = 1;
    if (buffer.kept_back) [[unlikely]] give_kept_back(buffer);
    --s_.app_owned;
    ++s_.recycles;
    return true;
  }

  void give_kept_back(BufferState& buffer) {
    buffer.kept_back = 0;
    --s_.kept_back;
  }
  // Buffers given_at_start kept back become the app's, not yet taken.
  void keep_back_rest();

  std::uint32_t next_generation() { return ++s_.generation; }
  std::uint32_t hand_over(BufferState& buffer, std::uint32_t generation) {
    buffer.kernel_owned = 0;
    buffer.generation = generation;
    ++s_.app_owned;
    return generation;
  }

  // take() when the result is more than the buffer's room (buffer_group.cc).
  BufferView take_slow(BufferView view, std::uint32_t size, Bundle bundle);
  // The kernel-owned buffer that was added to the ring at `position`, or -1.
  int buffer_added_at(std::uint16_t position) const;

  State s_;
  // The Ring, followed through its moves; null once it closed (the kernel
  // then dropped the group) or the group closed. Keyed by the group id, so a
  // second BufferGroup with this id on this ring is refused.
  RingRef ring_;
};

}  // namespace uring
