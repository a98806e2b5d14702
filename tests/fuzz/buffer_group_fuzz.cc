// Fuzz target: CQE views (uring/sqe.h Cqe) and BufferGroup::take()/recycle()
// (uring/buffer_group.h) fed arbitrary CQEs.
//
// One Ring per process (a small SQ, so legacy recycles meet a full SQ). Each
// input sets up one group on it - a buffer ring, an incremental buffer ring
// (IOU_PBUF_RING_INC) or a legacy PROVIDE_BUFFERS group, with 1..16 buffers
// of 1..48 bytes - and then drives a sequence of calls: take() of made-up
// CQEs (any result, flags, buffer id, F_BUF_MORE, bundle or not), recycle()
// of a view from the history (fresh, recycled already, or stale) or of a
// buffer id, submit-and-reap of the group's own PROVIDE_BUFFERS CQEs, the
// -ENOBUFS calls, segment reads, and close. The group is closed and the
// kernel's side emptied at the end of every input, so an input replays the
// same way on its own.
//
// The oracle keeps its own record of which buffers the application holds
// and under which hand-over (generation), and checks after every call:
//   - a buffer is never handed out twice while not recycled: take() hands
//     over only buffers the kernel owned, each once, and a CQE naming a
//     buffer the application holds is refused (not_kernel_owned);
//   - nothing is lost: for every id, kernel_owns(id) is what the record
//     says, and app_owned_count() + kernel_owned_count() == buffer_count();
//   - recycle() of a view refuses, changing nothing, a view whose buffer
//     the kernel owns again (kernel_owned: recycled twice) or that a later
//     take() holds now (stale_view); recycle(id) refuses ids out of range
//     and buffers the kernel owns; what they accept goes back to the kernel;
//   - every error is a BufferError value (describe() has a line for it);
//     errors change nothing;
//   - a view's bytes lie in its buffers: the first at the buffer's unread
//     part, the others from their start, no segment past its buffer; the
//     segments add up to the view's size, copy_out copies exactly them; the
//     size is the CQE's result unless truncated, and never more;
//   - groups that are not incremental hand over one whole buffer per CQE
//     without a bundle, from its start;
//   - the Cqe accessors read the CQE's own fields, and extra() the two words
//     that follow it in a 32-byte entry.
#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <vector>

#include "syscalls/abi.h"
#include "tests/fuzz/fuzz_support.h"
#include "uring/buffer_group.h"
#include "uring/prep_buffers.h"
#include "uring/ring.h"
#include "uring/sqe.h"

namespace {

using uring::BufferError;
using uring::BufferGroup;
using uring::BufferView;
using uring::Bundle;
using uring::Cqe;
using uring::NoBuffersAction;
using uring_fuzz::Input;
namespace abi = uring::abi;

constexpr std::uint16_t kGroupId = 7;
constexpr std::uint64_t kTag = 0xB0F5ull << 48 | std::uint64_t{kGroupId} << 20;  // the default internal user_data
constexpr unsigned kMaxBids = 65536;

uring::Ring& ring() {
  static uring::Ring* ring = [] {
    uring::RingOptions options;
    options.entries = 8;
    options.cq_entries = 64;
    auto created = uring::Ring::create(options);
    if (!created) {
      std::fprintf(stderr, "buffer_group_fuzz: cannot set up a ring: %s\n", created.error().message.c_str());
      std::abort();
    }
    return new uring::Ring(std::move(created.value()));
  }();
  return *ring;
}

// FUZZ_TRACE=1 in the environment: print each take/recycle (for reading a reproducer).
bool trace() {
  static const bool on = std::getenv("FUZZ_TRACE") != nullptr;
  return on;
}

bool known(BufferError error) {
  switch (error) {
    case BufferError::none:
    case BufferError::no_buffer:
    case BufferError::unknown_id:
    case BufferError::not_kernel_owned:
    case BufferError::kernel_owned:
    case BufferError::stale_view:
    case BufferError::sq_full:
    case BufferError::bundle_lost:
    case BufferError::bundle_needs_ring:
    case BufferError::closed:
      return std::strlen(uring::describe(error)) > 0;
  }
  return false;
}

// A 32-byte CQE on the heap, exactly: extra(0) and extra(1) are its last 16
// bytes, and ASan sees a read past them.
struct Cqe32 {
  std::unique_ptr<unsigned char[]> storage{new unsigned char[32]};
  Cqe& cqe() { return *std::launder(reinterpret_cast<Cqe*>(storage.get())); }
};

// The Cqe accessors against the raw fields.
void check_cqe_view(Cqe32& entry, std::uint64_t extra0, std::uint64_t extra1) {
  const Cqe& cqe = entry.cqe();
  const std::uint32_t flags = cqe.flags;
  FUZZ_CHECK(cqe.result() == cqe.res);
  FUZZ_CHECK(cqe.data() == cqe.user_data);
  FUZZ_CHECK(cqe.more() == ((flags & abi::IORING_CQE_F_MORE) != 0));
  FUZZ_CHECK(cqe.has_buffer() == ((flags & abi::IORING_CQE_F_BUFFER) != 0));
  FUZZ_CHECK(cqe.buffer_id() == (flags >> 16));
  FUZZ_CHECK(cqe.sock_nonempty() == ((flags & abi::IORING_CQE_F_SOCK_NONEMPTY) != 0));
  FUZZ_CHECK(cqe.notif() == ((flags & abi::IORING_CQE_F_NOTIF) != 0));
  FUZZ_CHECK(cqe.buffer_more() == ((flags & abi::IORING_CQE_F_BUF_MORE) != 0));
  FUZZ_CHECK(cqe.extra(0) == extra0);
  FUZZ_CHECK(cqe.extra(1) == extra1);
  FUZZ_CHECK(cqe.data_as_pointer<void>() == reinterpret_cast<void*>(static_cast<std::uintptr_t>(cqe.user_data)));
}

struct Recorded {
  BufferView view;
  std::vector<std::uint16_t> returned;  // the buffers it handed over, in segment order
};

class Harness {
 public:
  Harness(Input& in) : in_(in) {}

  void run() {
    const std::uint8_t shape = in_.u8();
    kind_ = shape % 3;  // 0 ring, 1 incremental ring, 2 legacy
    count_ = 1 + in_.u8() % 16u;
    size_ = 1 + in_.u8() % 48u;
    uring::BufferGroupOptions options;
    options.group_id = kGroupId;
    options.buffer_count = count_;
    options.buffer_size = size_;
    options.incremental = kind_ == 1;
    if (kind_ != 2 && (shape & 8)) options.ring_entries = 32;
    options.skip_success_cqes = kind_ == 2 && (shape & 4);
    options.no_buffers = (shape & 16) ? uring::NoBuffersPolicy::recycle_and_retry : uring::NoBuffersPolicy::fail;
    options.max_parked = shape >> 5;
    max_parked_ = options.max_parked;
    retry_policy_ = (shape & 16) != 0;

    auto created = kind_ == 2 ? BufferGroup::create_provided(ring(), options)
                              : BufferGroup::create_ring(ring(), options);
    if (!created) {
      std::fprintf(stderr, "buffer_group_fuzz: cannot set up the group (kind %u, %u x %u): %s\n", kind_,
                   count_, size_, created.error().message.c_str());
      std::abort();
    }
    group_ = std::move(created.value());
    if (trace()) std::fprintf(stderr, "group: kind %u (0 ring, 1 incremental, 2 legacy), %u x %u bytes\n", kind_, count_, size_);
    FUZZ_CHECK(group_.buffer_count() == count_);
    FUZZ_CHECK(group_.buffer_size() == size_);
    FUZZ_CHECK(group_.incremental() == (kind_ == 1));
    base_ = group_.buffer(0).data();
    held_.assign(count_, 0);
    last_generation_.assign(count_, 0);
    consumed_.assign(count_, 0);
    check_ownership();

    unsigned steps = 0;
    while (!in_.empty() && steps++ < 400) step();
    finish();
  }

 private:
  // ---- the oracle's record

  void check_ownership() {
    if (closed_) {
      FUZZ_CHECK(group_.app_owned_count() == 0);
      FUZZ_CHECK(group_.kernel_owned_count() == 0);
      FUZZ_CHECK(group_.buffer_count() == 0);
      for (unsigned id = 0; id < count_; ++id) FUZZ_CHECK(!group_.kernel_owns(static_cast<std::uint16_t>(id)));
      return;
    }
    unsigned held = 0;
    for (unsigned id = 0; id < count_; ++id) {
      FUZZ_CHECK(group_.kernel_owns(static_cast<std::uint16_t>(id)) == (held_[id] == 0));
      held += held_[id] != 0;
    }
    FUZZ_CHECK(!group_.kernel_owns(static_cast<std::uint16_t>(count_)));
    FUZZ_CHECK(group_.app_owned_count() == held);
    FUZZ_CHECK(group_.app_owned_count() + group_.kernel_owned_count() == group_.buffer_count());
    FUZZ_CHECK(group_.buffer_count() == count_);
  }

  std::uint16_t id_at(const unsigned char* p) const {
    FUZZ_CHECK(p >= base_);
    const std::size_t offset = static_cast<std::size_t>(p - base_);
    FUZZ_CHECK(offset / size_ < count_);
    return static_cast<std::uint16_t>(offset / size_);
  }

  // ---- made-up CQEs

  Cqe32 make_cqe(std::uint64_t* extra0, std::uint64_t* extra1) {
    Cqe32 entry;
    const std::uint8_t how = in_.u8();
    std::uint32_t id = (how & 1) ? in_.u16() : in_.u8() % (count_ + 1);
    std::uint32_t low = in_.u8();
    if (!(how & 2)) low |= abi::IORING_CQE_F_BUFFER;
    std::uint32_t flags = (low & 0xFFFF) | id << 16;
    if ((how & 0xC0) == 0xC0) flags = in_.u32();
    // The kernel sets F_BUF_MORE only for incremental rings (io_kbuf_commit);
    // on any other group take() must ignore it, so it is left in at random.
    std::int32_t res = 0;
    switch ((how >> 2) & 3) {
      case 0:  // fits a buffer
        res = static_cast<std::int32_t>(in_.u8() % (size_ + 1));
        break;
      case 1:  // may span buffers
        res = static_cast<std::int32_t>(in_.u16() % (size_ * count_ * 2 + 1));
        break;
      case 2:  // an error (-ENOBUFS is 105)
        res = -static_cast<std::int32_t>(in_.u8());
        break;
      default:
        res = static_cast<std::int32_t>(in_.u32());
        break;
    }
    abi::io_uring_cqe raw{};
    raw.user_data = (how & 0x20) ? in_.u64() : in_.u8();
    raw.res = res;
    raw.flags = flags;
    *extra0 = in_.u8() * 0x0101010101010101ull;
    *extra1 = ~*extra0 ^ in_.u8();
    std::memcpy(entry.storage.get(), &raw, sizeof raw);
    std::memcpy(entry.storage.get() + 16, extra0, 8);
    std::memcpy(entry.storage.get() + 24, extra1, 8);
    check_cqe_view(entry, *extra0, *extra1);
    return entry;
  }

  // ---- steps

  void step() {
    switch (in_.u8() % 10) {
      case 0:
      case 1:
      case 2:
        take(Bundle::no);
        break;
      case 3:
        take(Bundle::yes);
        break;
      case 4:
      case 5:
        recycle_view();
        break;
      case 6:
        recycle_id();
        break;
      case 7:
        reap();
        break;
      case 8:
        no_buffers();
        break;
      default:
        if (in_.u8() == 0xC1) {
          close_group();
        } else {
          read_view();
        }
        break;
    }
    check_ownership();
  }

  void take(Bundle bundle) {
    std::uint64_t e0, e1;
    Cqe32 entry = make_cqe(&e0, &e1);
    const Cqe& cqe = entry.cqe();
    const std::vector<std::uint32_t> held_before = held_;
    const BufferView view = group_.take(cqe, bundle);
    if (trace()) {
      std::fprintf(stderr, "take(res %d, flags 0x%x = id %u%s%s, %s) -> error %d, id %u, size %u, first %u, "
                   "segments %u, generation %u%s%s\n", cqe.res, cqe.flags, cqe.buffer_id(),
                   cqe.has_buffer() ? "" : " no F_BUFFER", cqe.buffer_more() ? " BUF_MORE" : "",
                   bundle == Bundle::yes ? "bundle" : "no bundle", static_cast<int>(view.error), view.id,
                   view.size, view.first_size, view.segments, view.generation,
                   view.kernel_keeps_last ? " kernel_keeps_last" : "", view.truncated ? " truncated" : "");
    }
    FUZZ_CHECK(known(view.error));
    FUZZ_CHECK(view.ok() == (view.error == BufferError::none));
    const std::uint16_t id = cqe.buffer_id();

    BufferError expected = BufferError::none;
    if (!cqe.has_buffer()) {
      expected = BufferError::no_buffer;
    } else if (closed_) {
      expected = BufferError::closed;
    } else if (id >= count_) {
      expected = BufferError::unknown_id;
    } else if (held_[id] != 0) {
      expected = BufferError::not_kernel_owned;  // never handed out twice
    }
    if (expected != BufferError::none) {
      FUZZ_CHECK(view.error == expected);
      FUZZ_CHECK(view.segments == 0);
      FUZZ_CHECK(view.returned() == 0);
      FUZZ_CHECK(held_ == held_before);
      if (expected != BufferError::no_buffer) FUZZ_CHECK(view.id == id);
      remember(view, {});
      return;
    }
    // A legacy group refuses a bundle CQE larger than its buffer (it still hands over the named buffer).
    const std::uint32_t result_size = cqe.res > 0 ? static_cast<std::uint32_t>(cqe.res) : 0;
    if (kind_ == 2 && bundle == Bundle::yes && result_size > size_) {
      FUZZ_CHECK(view.error == BufferError::bundle_needs_ring);
    } else {
      FUZZ_CHECK(view.error == BufferError::none || view.error == BufferError::bundle_lost);
    }
    FUZZ_CHECK(view.id == id);
    FUZZ_CHECK(view.segments >= 1);
    FUZZ_CHECK(view.segments <= count_);
    FUZZ_CHECK(view.first_size <= view.size);
    FUZZ_CHECK(view.first_size <= size_);
    const std::uint32_t result = cqe.res > 0 ? static_cast<std::uint32_t>(cqe.res) : 0;
    FUZZ_CHECK(view.size <= result);
    // All of the result unless cut (bundle_lost: the bytes are not to be trusted, the view says so).
    if (!view.truncated && (view.ok() || view.error == BufferError::bundle_needs_ring)) {
      FUZZ_CHECK(view.size == result);
    }
    if (view.truncated) FUZZ_CHECK(result > view.size);
    if (view.kernel_keeps_last) FUZZ_CHECK(kind_ == 1);  // never believed elsewhere
    if (bundle == Bundle::no) FUZZ_CHECK(view.size == view.first_size);
    if (kind_ != 1) {
      // Not incremental: one buffer per CQE without a bundle (always, on a legacy group), from its start.
      if (bundle == Bundle::no || kind_ == 2) FUZZ_CHECK(view.segments == 1);
      FUZZ_CHECK(view.data == base_ + std::size_t{id} * size_);
    }
    // The first segment: in buffer `id`, at its unread part.
    const unsigned char* first = base_ + std::size_t{id} * size_;
    FUZZ_CHECK(view.data >= first);
    FUZZ_CHECK(view.data + view.first_size <= first + size_);
    if (view.segments == 1 && !view.truncated && consumed_[id] >= 0) {
      FUZZ_CHECK(view.data == first + consumed_[id]);
    }

    // Which buffers it used: distinct, each the kernel's before.
    std::vector<std::uint16_t> used{id};
    for (unsigned k = 1; k < view.segments; ++k) {
      const auto span = group_.segment(view, k);
      const std::uint16_t other = id_at(span.data());
      FUZZ_CHECK(span.data() == base_ + std::size_t{other} * size_);
      FUZZ_CHECK(span.size() <= size_);
      used.push_back(other);
    }
    for (std::size_t i = 0; i < used.size(); ++i) {
      FUZZ_CHECK(held_before[used[i]] == 0);
      for (std::size_t j = 0; j < i; ++j) FUZZ_CHECK(used[i] != used[j]);
    }
    check_segments(view);

    // Record the hand-over.
    const unsigned returned = view.returned();
    std::vector<std::uint16_t> handed(used.begin(), used.begin() + returned);
    if (returned > 0) {
      FUZZ_CHECK(view.generation != 0);
      for (unsigned other = 0; other < count_; ++other) FUZZ_CHECK(held_[other] != view.generation);
    }
    const bool simple = view.segments == 1 && !view.truncated;
    for (std::uint16_t h : handed) {
      held_[h] = view.generation;
      last_generation_[h] = view.generation;
    }
    if (view.kernel_keeps_last) {
      const std::uint16_t kept = used.back();
      FUZZ_CHECK(group_.kernel_owns(kept));
      if (simple && consumed_[kept] >= 0) {
        consumed_[kept] += view.size;
      } else {
        consumed_[kept] = -1;  // the walk over several slots: where the kernel is now is not modelled
      }
    }
    if (!simple) {
      for (std::uint16_t u : used) consumed_[u] = -1;
    }
    remember(view, std::move(handed));
  }

  // Segment reads of a view: inside its buffers, adding up to its size.
  void check_segments(const BufferView& view) {
    std::uint64_t total = 0;
    unsigned k = 0;
    std::vector<unsigned char> joined;
    group_.for_each_segment(view, [&](std::span<unsigned char> part) {
      const auto direct = group_.segment(view, k);
      FUZZ_CHECK(direct.data() == part.data());
      FUZZ_CHECK(direct.size() == part.size());
      if (!part.empty()) {
        const std::uint16_t id = id_at(part.data());
        FUZZ_CHECK(part.data() + part.size() <= base_ + (std::size_t{id} + 1) * size_);
      }
      joined.insert(joined.end(), part.begin(), part.end());  // ASan: readable
      total += part.size();
      ++k;
    });
    FUZZ_CHECK(k == (closed_ ? 0u : view.segments));
    if (closed_) return;
    FUZZ_CHECK(group_.segment(view, view.segments).empty());
    FUZZ_CHECK(total == view.size);
    std::vector<unsigned char> copy(view.size + 8);
    const std::size_t cap = in_.u8() % (view.size + 2);
    FUZZ_CHECK(group_.copy_out(view, copy.data(), cap) == (cap < view.size ? cap : view.size));
    const std::size_t copied = cap < view.size ? cap : view.size;
    FUZZ_CHECK(copied == 0 || std::memcmp(copy.data(), joined.data(), copied) == 0);
  }

  void remember(const BufferView& view, std::vector<std::uint16_t> handed) {
    if (history_.size() >= 24) history_.erase(history_.begin());
    history_.push_back(Recorded{view, std::move(handed)});
  }

  // What recycle() must answer for a record, and whether it gives buffers back.
  BufferError expected_recycle(const Recorded& r) const {
    if (r.view.segments == 0) return r.view.error == BufferError::no_buffer ? BufferError::none : r.view.error;
    if (r.returned.empty()) return BufferError::none;  // the kernel kept its only buffer: nothing to give back
    if (closed_) return BufferError::closed;
    for (std::uint16_t id : r.returned) {
      if (held_[id] == 0) return BufferError::kernel_owned;        // recycled already
      if (held_[id] != r.view.generation) return BufferError::stale_view;  // handed out again since
    }
    if (kind_ == 2 && ring().sq_space_left() == 0) return BufferError::sq_full;
    return BufferError::none;
  }

  void give_back(std::uint16_t id) {
    held_[id] = 0;
    consumed_[id] = 0;
  }

  void recycle_view() {
    if (history_.empty()) return;
    const Recorded& r = history_[in_.u8() % history_.size()];
    const BufferError expected = expected_recycle(r);
    const std::vector<std::uint32_t> held_before = held_;
    const BufferError got = group_.recycle(r.view);
    if (trace()) {
      std::fprintf(stderr, "recycle(view id %u, generation %u, segments %u) -> %d (expected %d)\n", r.view.id,
                   r.view.generation, r.view.segments, static_cast<int>(got), static_cast<int>(expected));
    }
    FUZZ_CHECK(known(got));
    FUZZ_CHECK(got == expected);
    if (got == BufferError::none && r.view.segments > 0) {
      for (std::uint16_t id : r.returned) give_back(id);
    } else {
      FUZZ_CHECK(held_ == held_before);  // refused: nothing changes
    }
  }

  void recycle_id() {
    const std::uint16_t id = (in_.u8() & 1) ? in_.u16() : static_cast<std::uint16_t>(in_.u8() % (count_ + 1));
    BufferError expected = BufferError::none;
    if (closed_) {
      expected = BufferError::closed;
    } else if (id >= count_) {
      expected = BufferError::unknown_id;
    } else if (held_[id] == 0) {
      expected = BufferError::kernel_owned;
    } else if (kind_ == 2 && ring().sq_space_left() == 0) {
      expected = BufferError::sq_full;
    }
    const BufferError got = group_.recycle(id);
    if (trace()) std::fprintf(stderr, "recycle(%u) -> %d (expected %d)\n", id, static_cast<int>(got), static_cast<int>(expected));
    FUZZ_CHECK(known(got));
    FUZZ_CHECK(got == expected);
    if (got == BufferError::none) give_back(id);
  }

  // Submits the queued PROVIDE_BUFFERS and hands their CQEs to the group.
  void reap() {
    const int submitted = ring().submit();
    FUZZ_CHECK(submitted >= 0);
    FUZZ_CHECK(ring().sq_pending() == 0);
    while (Cqe* cqe = ring().peek_cqe()) {
      const Cqe copy = *cqe;
      ring().cqe_seen(cqe);
      FUZZ_CHECK((copy.user_data & ~std::uint64_t{0x1FFFF}) == kTag);  // only the group's own requests run here
      if (closed_) continue;
      FUZZ_CHECK(group_.is_internal(copy));
      const int ret = group_.handle_internal(copy);
      FUZZ_CHECK(ret == (copy.res < 0 ? copy.res : 0));
      if (copy.res < 0 && !(copy.user_data & 0x10000)) {
        // A failed PROVIDE: the buffer is the application's again, under its last hand-over.
        const auto id = static_cast<std::uint16_t>(copy.user_data & 0xFFFF);
        if (id < count_ && held_[id] == 0) held_[id] = last_generation_[id];
      }
    }
  }

  void no_buffers() {
    std::uint64_t e0, e1;
    Cqe32 entry = make_cqe(&e0, &e1);
    const Cqe& cqe = entry.cqe();
    const unsigned parked_before = group_.parked_count();
    NoBuffersAction action;
    const std::uint8_t which = in_.u8();
    if (which & 1) {
      action = group_.on_no_buffers(cqe);
      if (cqe.res != -ENOBUFS) FUZZ_CHECK(action == NoBuffersAction::not_enobufs);
      FUZZ_CHECK(action != NoBuffersAction::ended_with_data);
    } else {
      const Bundle bundle = (which & 2) ? Bundle::yes : Bundle::no;
      action = group_.on_multishot_end(cqe, bundle);
      if (cqe.more() || (cqe.res <= 0 && cqe.res != -ENOBUFS)) FUZZ_CHECK(action == NoBuffersAction::not_enobufs);
      if (!cqe.more() && cqe.res > 0 && bundle == Bundle::no) FUZZ_CHECK(action == NoBuffersAction::ended_with_data);
    }
    // The policy's answers: fail, rearm_now (buffers came back) or parked.
    if (action == NoBuffersAction::fail || action == NoBuffersAction::rearm_now ||
        action == NoBuffersAction::parked) {
      if (!retry_policy_ || closed_) FUZZ_CHECK(action == NoBuffersAction::fail);
      if (action == NoBuffersAction::fail && retry_policy_ && !closed_) FUZZ_CHECK(parked_before == max_parked_);
      if (action == NoBuffersAction::parked) {
        FUZZ_CHECK(parked_before < max_parked_);
        parked_.push_back(cqe.user_data);
      }
    } else {
      FUZZ_CHECK(action == NoBuffersAction::not_enobufs || action == NoBuffersAction::ended_with_data);
    }
    FUZZ_CHECK(group_.parked_count() == parked_.size());
    FUZZ_CHECK(group_.parked_count() <= max_parked_);
    // Hand back what is parked: the oldest first. A legacy group hands back
    // all of them (once a buffer came back since the newest was parked); a
    // buffer ring at most as many as the kernel has buffers free and not
    // promised, and when some stay parked after it promised any, it queues a
    // NOP (the group's own user_data) so the loop comes back: that is how the
    // ones left are not forgotten (reap() gives its CQE to the group).
    std::vector<std::uint64_t> rearmed;
    const unsigned pending_before = ring().sq_pending();
    const unsigned n = group_.rearm_parked([&](std::uint64_t user_data) { rearmed.push_back(user_data); });
    FUZZ_CHECK(n == rearmed.size());
    FUZZ_CHECK(n <= parked_.size());
    FUZZ_CHECK(std::equal(rearmed.begin(), rearmed.end(), parked_.begin()));
    if (group_.kind() == uring::BufferGroup::Kind::provided) FUZZ_CHECK(n == 0 || n == parked_.size());
    parked_.erase(parked_.begin(), parked_.begin() + n);
    if (group_.kind() == uring::BufferGroup::Kind::ring && n > 0 && !parked_.empty()) {
      FUZZ_CHECK(ring().sq_pending() == pending_before + 1);  // the wake-up NOP
    }
    FUZZ_CHECK(group_.parked_count() == parked_.size());
  }

  void read_view() {
    if (history_.empty()) return;
    const Recorded& r = history_[in_.u8() % history_.size()];
    // A stale view may read bytes that are another view's now, but never outside the group's buffers.
    for (unsigned k = 0; k <= r.view.segments; ++k) {
      const auto span = group_.segment(r.view, k);
      if (span.empty()) continue;
      FUZZ_CHECK(!closed_);
      const std::uint16_t id = id_at(span.data());
      FUZZ_CHECK(span.data() + span.size() <= base_ + (std::size_t{id} + 1) * size_);
    }
  }

  void close_group() {
    reap();
    const auto status = group_.close();
    FUZZ_CHECK(status.ok());
    closed_ = true;
    parked_.clear();
  }

  void finish() {
    if (!closed_) {
      // Everything back to the kernel: then the application holds nothing.
      for (unsigned id = 0; id < count_; ++id) {
        if (held_[id] == 0) continue;
        BufferError got = group_.recycle(static_cast<std::uint16_t>(id));
        if (got == BufferError::sq_full) {
          reap();
          got = group_.recycle(static_cast<std::uint16_t>(id));
        }
        FUZZ_CHECK(got == BufferError::none);
        give_back(static_cast<std::uint16_t>(id));
      }
      reap();
      check_ownership();
      FUZZ_CHECK(group_.app_owned_count() == 0);
      FUZZ_CHECK(group_.kernel_owned_count() == count_);
      close_group();
    }
    check_ownership();
    // Made-up CQEs left copies in the kernel's legacy list (a buffer "taken"
    // here never left it): empty the group for the next input.
    if (kind_ == 2) {
      uring::Sqe* sqe = ring().get_sqe();
      FUZZ_CHECK(sqe != nullptr);
      uring::prep_remove_buffers(*sqe, kMaxBids, kGroupId).set_user_data(kTag | 0x10000);
      FUZZ_CHECK(ring().submit() == 1);
      reap();
    }
    FUZZ_CHECK(ring().sq_pending() == 0);
    FUZZ_CHECK(ring().cq_ready() == 0);
  }

  Input& in_;
  BufferGroup group_;
  unsigned kind_ = 0;
  unsigned count_ = 0;
  unsigned size_ = 0;
  unsigned max_parked_ = 0;
  bool retry_policy_ = false;
  bool closed_ = false;
  unsigned char* base_ = nullptr;
  std::vector<std::uint32_t> held_;             // 0: the kernel's; else the generation the application holds it under
  std::vector<std::uint32_t> last_generation_;  // the last hand-over of each buffer
  std::vector<std::int64_t> consumed_;          // incremental rings: bytes the kernel filled (-1: not modelled)
  std::vector<Recorded> history_;
  std::vector<std::uint64_t> parked_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Input in(data, size);
  Harness(in).run();
  return 0;
}
