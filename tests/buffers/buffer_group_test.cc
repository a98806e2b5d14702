// BufferGroup lifecycle and bookkeeping: creation of each kind, the errors
// for bad input, ownership tracking, the -ENOBUFS policy logic, internal
// CQEs, teardown without leaks. I/O here is plain buffer-select reads of a
// small file; the data-path tests are in buffer_io_test and buffer_recv_test.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "tests/buffers/buffers_support.h"
#include "uring/prep_buffers.h"
#include "uring/prep_file.h"
#include "uring/prep_net.h"

using namespace uring;
using namespace uring::testing;

namespace {

bool contains(const std::string& text, const char* part) { return text.find(part) != std::string::npos; }

// A 64 KiB file of a known pattern, open for reading.
std::vector<unsigned char> pattern_bytes() {
  std::vector<unsigned char> bytes(64 * 1024);
  for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<unsigned char>(i * 7 + i / 251);
  return bytes;
}
struct PatternFile : DataFile {
  PatternFile() : DataFile(pattern_bytes()) {}
};

// The kernel's own view of a group: 0 for a buffer ring, -EINVAL for a legacy
// group, -ENOENT for none (IORING_REGISTER_PBUF_STATUS, 6.8).
int kernel_group_status(Ring& ring, std::uint16_t group) {
  abi::io_uring_buf_status status{};
  status.buf_group = group;
  return ring.register_raw(abi::IORING_REGISTER_PBUF_STATUS, &status, 1);
}

// Whether the kernel can report a group's state (PBUF_STATUS), from what
// the kernel says about its register opcodes, not from trying it.
bool kernel_has_pbuf_status() { return missing_register_op(abi::IORING_REGISTER_PBUF_STATUS).empty(); }

}  // namespace

TEST_CASE("create_ring: every buffer goes to the kernel, for each kind of ring memory") {
  URING_REQUIRE(missing_register_op(abi::IORING_REGISTER_PBUF_STATUS));  // how the kernel's view is read
  Ring ring = make_ring();
  void* caller_memory = ::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  REQUIRE(caller_memory != MAP_FAILED);
  std::memset(caller_memory, 0xEE, 4096);  // the group must clear it before registering
  for (RingMemory memory : {RingMemory::library, RingMemory::kernel, RingMemory::caller}) {
    CAPTURE(static_cast<int>(memory));
    BufferGroupOptions options = group_options(3, 12, 256);
    options.ring_memory = memory;
    if (memory == RingMemory::caller) {
      options.ring_memory_address = caller_memory;
      options.ring_memory_bytes = 4096;
    }
    auto group = BufferGroup::create_ring(ring, options);
    REQUIRE_MESSAGE(group.ok(), group.error().message);
    CHECK(group->valid());
    CHECK(group->kind() == BufferGroup::Kind::ring);
    CHECK(group->ring_memory() == memory);
    CHECK(group->ring_entries() == 16);  // the smallest power of two holding 12
    CHECK(group->buffer_count() == 12);
    CHECK(group->buffer_size() == 256);
    CHECK(group->kernel_owned_count() == 12);
    CHECK(group->app_owned_count() == 0);
    CHECK(group->ring_tail() == 12);
    auto head = group->kernel_head();
    REQUIRE_MESSAGE(head.ok(), head.error().message);
    CHECK(head.value() == 0);
    CHECK(kernel_group_status(ring, 3) == 0);
    CHECK(group->close().ok());
    CHECK_FALSE(group->valid());
    CHECK(kernel_group_status(ring, 3) == -ENOENT);  // unregistered
    CHECK(group->close().ok());                       // idempotent
  }
  ::munmap(caller_memory, 4096);
}

TEST_CASE("create_provided: a legacy group the kernel holds; close removes its buffers") {
  Ring ring = make_ring();
  PatternFile file;
  auto group = BufferGroup::create_provided(ring, group_options(5, 4, 1024));
  REQUIRE_MESSAGE(group.ok(), group.error().message);
  CHECK(group->kind() == BufferGroup::Kind::provided);
  CHECK(group->ring_entries() == 0);
  CHECK(group->kernel_owned_count() == 4);
  CHECK_FALSE(group->kernel_head().ok());  // no ring head for a legacy group
  CHECK(ring.cq_ready() == 0);             // its PROVIDE's CQE was taken off the CQ

  // Exactly the 4 buffers are in the kernel: 4 reads get them, the 5th finds none.
  std::set<std::uint16_t> ids;
  for (unsigned i = 0; i < 4; ++i) {
    Cqe cqe = read_one(ring, file.fd, 100, i * 100, 5);
    REQUIRE(cqe.result() == 100);
    REQUIRE(cqe.has_buffer());
    ids.insert(cqe.buffer_id());
    BufferView view = group->take(cqe);
    REQUIRE(view.ok());
    CHECK(std::memcmp(view.data, file.bytes.data() + i * 100, 100) == 0);
  }
  CHECK(ids == std::set<std::uint16_t>{0, 1, 2, 3});
  CHECK(read_one(ring, file.fd, 100, 0, 5).result() == -ENOBUFS);
  for (std::uint16_t id : ids) CHECK(group->recycle(id) == BufferError::none);
  CHECK(group->close().ok());
  // The kernel's list for group 5 is empty now: a REMOVE finds nothing.
  prep_remove_buffers(next_sqe(ring), 100, 5);
  CHECK(reap(ring, 1)[0].result() == 0);
  CHECK(ring.cq_ready() == 0);
}

TEST_CASE("bad ring shapes and memory are refused before the kernel sees them, with what to do") {
  Ring ring = make_ring();
  struct Case {
    const char* what;
    BufferGroupOptions options;
    const char* message_part;
  };
  std::vector<Case> cases;
  auto add = [&](const char* what, auto edit, const char* part) {
    BufferGroupOptions options = group_options(9, 8, 64);
    edit(options);
    cases.push_back({what, options, part});
  };
  add("entries not a power of two", [](BufferGroupOptions& o) { o.ring_entries = 12; }, "not a power of two: use 16");
  add("entries below count", [](BufferGroupOptions& o) { o.ring_entries = 4; }, "cannot hold buffer_count 8");
  add("too many entries", [](BufferGroupOptions& o) { o.ring_entries = 65536; o.buffer_count = 1; }, "at most 32768");
  add("no buffers", [](BufferGroupOptions& o) { o.buffer_count = 0; }, "1 .. 32768 buffers");
  add("too many buffers", [](BufferGroupOptions& o) { o.buffer_count = 40000; o.ring_entries = 32768; }, "1 .. 32768 buffers");
  add("zero-byte buffers", [](BufferGroupOptions& o) { o.buffer_size = 0; }, "1 byte .. 1 GiB");
  add("caller memory missing", [](BufferGroupOptions& o) { o.ring_memory = RingMemory::caller; }, "needs ring_memory_address");
  add("address without caller memory", [](BufferGroupOptions& o) { o.ring_memory_address = &o; }, "is not RingMemory::caller");
  add("internal user_data with low bits", [](BufferGroupOptions& o) { o.internal_user_data = 0x1234; }, "low 17 bits");
  // It used to be reserved unchecked: UINT_MAX threw std::bad_alloc out of create_ring (issue 12, review).
  add("max_parked past its cap", [](BufferGroupOptions& o) { o.max_parked = ~0u; }, "at most 65536 requests can be parked");
  add("more buffers given than there are", [](BufferGroupOptions& o) { o.given_at_start = 9; },
      "given_at_start 9 is more than buffer_count 8");
  for (const Case& c : cases) {
    CAPTURE(c.what);
    auto group = BufferGroup::create_ring(ring, c.options);
    REQUIRE_FALSE(group.ok());
    CHECK(group.code() == EINVAL);
    CHECK_MESSAGE(contains(group.error().message, c.message_part), group.error().message);
  }
  CHECK(kernel_group_status(ring, 9) != 0);  // nothing was registered

  // Misaligned and short caller memory.
  void* pages = ::mmap(nullptr, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  REQUIRE(pages != MAP_FAILED);
  BufferGroupOptions options = group_options(9, 8, 64);
  options.ring_memory = RingMemory::caller;
  options.ring_memory_address = static_cast<char*>(pages) + 64;
  options.ring_memory_bytes = 4096;
  auto misaligned = BufferGroup::create_ring(ring, options);
  REQUIRE_FALSE(misaligned.ok());
  CHECK(misaligned.code() == EINVAL);
  CHECK_MESSAGE(contains(misaligned.error().message, "is not page-aligned (page size"), misaligned.error().message);
  options.ring_memory_address = pages;
  options.ring_memory_bytes = 64;
  auto too_small = BufferGroup::create_ring(ring, options);
  REQUIRE_FALSE(too_small.ok());
  CHECK_MESSAGE(contains(too_small.error().message, "it needs 128"), too_small.error().message);

  // The library refuses what the kernel would refuse anyway: the kernel agrees.
  abi::io_uring_buf_reg reg{};
  reg.bgid = 9;
  reg.ring_entries = 12;
  reg.ring_addr = reinterpret_cast<std::uintptr_t>(pages);
  CHECK(ring.register_raw(abi::IORING_REGISTER_PBUF_RING, &reg, 1) == -EINVAL);
  reg.ring_entries = 8;
  reg.ring_addr = reinterpret_cast<std::uintptr_t>(pages) + 64;
  CHECK(ring.register_raw(abi::IORING_REGISTER_PBUF_RING, &reg, 1) == -EINVAL);
  ::munmap(pages, 8192);

  // create_provided takes no ring options.
  options = group_options(9, 8, 64);
  options.incremental = true;
  auto provided = BufferGroup::create_provided(ring, options);
  REQUIRE_FALSE(provided.ok());
  CHECK(contains(provided.error().message, "are for create_ring"));
}

TEST_CASE("given_at_start: the kernel gets buffers 0 .. n-1 and no more; the rest are yours until recycle(id); a legacy group needs 1") {
  PatternFile file;
  for (bool use_ring : {true, false}) {
    for (unsigned given : {0u, 3u}) {
      CAPTURE(use_ring);
      CAPTURE(given);
      Ring ring = make_ring();
      BufferGroupOptions options = group_options(40, 8, 64);
      options.given_at_start = given;
      auto made = use_ring ? BufferGroup::create_ring(ring, options) : BufferGroup::create_provided(ring, options);
      if (!use_ring && given == 0) {
        // The kernel would have no list for the group (bundles: ENOENT, not ENOBUFS).
        REQUIRE_FALSE(made.ok());
        CHECK(made.code() == EINVAL);
        CHECK_MESSAGE(contains(made.error().message, "give it at least 1 buffer at start"), made.error().message);
        CHECK(ring.sq_pending() == 0);
        continue;
      }
      REQUIRE_MESSAGE(made.ok(), made.error().message);
      BufferGroup& group = made.value();
      CHECK(group.kernel_owned_count() == given);
      CHECK(group.app_owned_count() == 8 - given);
      for (std::uint16_t id = 0; id < 8; ++id) CHECK(group.kernel_owns(id) == (id < given));
      // The kernel has those and no others: `given` reads get one each, the next none.
      std::set<std::uint16_t> ids;
      for (unsigned i = 0; i < given; ++i) {
        const Cqe cqe = read_one(ring, file.fd, 64, i * 64, 40);
        REQUIRE(cqe.result() == 64);
        const BufferView view = group.take(cqe);
        REQUIRE(view.ok());
        CHECK(std::equal(view.bytes().begin(), view.bytes().end(), file.bytes.begin() + i * 64));
        ids.insert(view.id);
      }
      CHECK(ids.size() == given);
      CHECK((ids.empty() || *ids.rbegin() < given));
      CHECK(read_one(ring, file.fd, 64, 0, 40).result() == -ENOBUFS);
      // A buffer kept back goes to the kernel with recycle(id), once.
      REQUIRE(group.recycle(6) == BufferError::none);
      CHECK(group.recycle(6) == BufferError::kernel_owned);
      const Cqe cqe = read_one(ring, file.fd, 64, 640, 40);
      REQUIRE(cqe.result() == 64);
      const BufferView view = group.take(cqe);
      REQUIRE(view.ok());
      CHECK(view.id == 6);
      CHECK(std::equal(view.bytes().begin(), view.bytes().end(), file.bytes.begin() + 640));
      CHECK(group.kernel_owned_count() == 0);
      REQUIRE(group.close());
    }
  }
  // The same through allow_fallback (a ring flag the kernel refuses): the error says why it fell back.
  Ring ring = make_ring();
  BufferGroupOptions options = group_options(41, 8, 64);
  options.given_at_start = 0;
  options.extra_ring_flags = 0x4000;  // no kernel knows it
  options.allow_fallback = true;
  auto fell_back = BufferGroup::create_ring(ring, options);
  REQUIRE_FALSE(fell_back.ok());
  CHECK(fell_back.code() == EINVAL);
  CHECK_MESSAGE(contains(fell_back.error().message, "the fallback from a buffer ring: IORING_REGISTER_PBUF_RING refused"),
                fell_back.error().message);
}

TEST_CASE("a group id already in use is refused with EEXIST, whoever holds it") {
  Ring ring = make_ring();
  auto first = BufferGroup::create_ring(ring, group_options(11, 4, 64));
  REQUIRE_MESSAGE(first.ok(), first.error().message);
  auto ring_again = BufferGroup::create_ring(ring, group_options(11, 4, 64));
  REQUIRE_FALSE(ring_again.ok());
  CHECK(ring_again.code() == EEXIST);
  CHECK(contains(ring_again.error().message, "buffer group 11 is already in use on this ring"));
  CHECK(contains(ring_again.error().message, "choose another group_id"));
  auto provided_again = BufferGroup::create_provided(ring, group_options(11, 4, 64));
  REQUIRE_FALSE(provided_again.ok());
  CHECK(provided_again.code() == EEXIST);
  CHECK(first->kernel_owned_count() == 4);  // the refused attempts touched nothing
  CHECK(kernel_group_status(ring, 11) == 0);

  auto legacy = BufferGroup::create_provided(ring, group_options(12, 4, 64));
  REQUIRE_MESSAGE(legacy.ok(), legacy.error().message);
  auto over_legacy = BufferGroup::create_ring(ring, group_options(12, 4, 64));
  REQUIRE_FALSE(over_legacy.ok());
  CHECK(over_legacy.code() == EEXIST);

  // Another ring may use the same id: groups belong to a ring.
  Ring other = make_ring();
  auto elsewhere = BufferGroup::create_ring(other, group_options(11, 4, 64));
  CHECK_MESSAGE(elsewhere.ok(), elsewhere.error().message);

  // A ring registered behind the library's back: the kernel says EEXIST.
  void* memory = ::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  REQUIRE(memory != MAP_FAILED);
  abi::io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<std::uintptr_t>(memory);
  reg.ring_entries = 4;
  reg.bgid = 13;
  REQUIRE(ring.register_raw(abi::IORING_REGISTER_PBUF_RING, &reg, 1) == 0);
  auto raw_clash = BufferGroup::create_ring(ring, group_options(13, 4, 64));
  REQUIRE_FALSE(raw_clash.ok());
  CHECK(raw_clash.code() == EEXIST);
  CHECK(contains(raw_clash.error().message, "IORING_REGISTER_PBUF_RING: EEXIST"));
  if (kernel_has_pbuf_status()) {
    auto raw_clash_legacy = BufferGroup::create_provided(ring, group_options(13, 4, 64));
    REQUIRE_FALSE(raw_clash_legacy.ok());
    CHECK(raw_clash_legacy.code() == EEXIST);
    CHECK(contains(raw_clash_legacy.error().message, "it is a buffer ring"));
  }
  reg = abi::io_uring_buf_reg{};
  reg.bgid = 13;
  CHECK(ring.register_raw(abi::IORING_UNREGISTER_PBUF_RING, &reg, 1) == 0);
  ::munmap(memory, 4096);

  // Once closed, the id is free again.
  CHECK(first->close().ok());
  auto reused = BufferGroup::create_ring(ring, group_options(11, 4, 64));
  CHECK_MESSAGE(reused.ok(), reused.error().message);
}

TEST_CASE("a ring flag the kernel refuses: an error naming the kernel, or the fallback when allowed") {
  Ring ring = make_ring();
  PatternFile file;
  BufferGroupOptions options = group_options(14, 4, 512);
  options.extra_ring_flags = 0x4000;  // no kernel up to 6.18 knows this bit
  auto refused = BufferGroup::create_ring(ring, options);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.code() == EINVAL);
  CHECK_MESSAGE(contains(refused.error().message, "this kernel is"), refused.error().message);
  CHECK(contains(refused.error().message, "allow_fallback"));
  CHECK(kernel_group_status(ring, 14) != 0);

  options.allow_fallback = true;
  options.incremental = true;
  auto fallback = BufferGroup::create_ring(ring, options);
  REQUIRE_MESSAGE(fallback.ok(), fallback.error().message);
  CHECK(fallback->kind() == BufferGroup::Kind::provided);
  CHECK_FALSE(fallback->incremental());
  CHECK_MESSAGE(contains(fallback->fallback_note(), "legacy provided buffers"), fallback->fallback_note());
  // And it works: a read gets one of its buffers.
  Cqe cqe = read_one(ring, file.fd, 512, 512, 14);
  REQUIRE(cqe.result() == 512);
  BufferView view = fallback->take(cqe);
  REQUIRE(view.ok());
  CHECK(std::memcmp(view.data, file.bytes.data() + 512, 512) == 0);
  CHECK(fallback->recycle(view) == BufferError::none);
}

TEST_CASE("incremental mode: a kernel that has it gives an incremental buffer ring") {
  // IOU_PBUF_RING_INC arrived in 6.12 (io_uring/kbuf.c, "add support for
  // incremental buffer consumption"); no interface reports it by itself.
  URING_REQUIRE(missing_since("IOU_PBUF_RING_INC", "6.12"));
  Ring ring = make_ring();
  BufferGroupOptions options = group_options(15, 2, 4096);
  options.incremental = true;
  auto group = BufferGroup::create_ring(ring, options);
  REQUIRE_MESSAGE(group.ok(), group.error().message);
  CHECK(group->kind() == BufferGroup::Kind::ring);
  CHECK(group->incremental());
  CHECK(group->fallback_note().empty());
  CHECK(kernel_group_status(ring, 15) == 0);  // registered with the kernel as a ring
}

TEST_CASE("ownership: take makes a buffer yours, recycle gives it back, and neither happens twice") {
  Ring ring = make_ring();
  PatternFile file;
  for (bool use_ring : {true, false}) {
    CAPTURE(use_ring);
    const std::uint16_t gid = use_ring ? 16 : 17;
    auto made = use_ring ? BufferGroup::create_ring(ring, group_options(gid, 4, 128))
                         : BufferGroup::create_provided(ring, group_options(gid, 4, 128));
    REQUIRE_MESSAGE(made.ok(), made.error().message);
    BufferGroup& group = made.value();

    // The kernel owns all four: none may be recycled.
    for (std::uint16_t id = 0; id < 4; ++id) CHECK(group.recycle(id) == BufferError::kernel_owned);
    CHECK(group.recycle(4) == BufferError::unknown_id);
    const std::uint16_t tail = group.ring_tail();
    CHECK(ring.sq_pending() == 0);  // no PROVIDE was queued for a refused recycle

    Cqe cqe = read_one(ring, file.fd, 128, 256, gid);
    REQUIRE(cqe.result() == 128);
    const std::uint16_t id = cqe.buffer_id();
    BufferView view = group.take(cqe);
    REQUIRE(view.ok());
    CHECK(view.id == id);
    CHECK(view.segments == 1);
    CHECK(view.returned() == 1);
    CHECK(view.size == 128);
    CHECK(view.data == group.buffer(id).data());
    CHECK(std::memcmp(view.bytes().data(), file.bytes.data() + 256, 128) == 0);
    CHECK_FALSE(group.kernel_owns(id));
    CHECK(group.app_owned_count() == 1);

    // The same CQE again: the group knows the buffer is already yours.
    BufferView again = group.take(cqe);
    CHECK(again.error == BufferError::not_kernel_owned);
    CHECK(again.segments == 0);
    CHECK(group.app_owned_count() == 1);
    // A CQE naming a buffer id this group does not have, and a view of one.
    CHECK(group.take(fake_buffer_cqe(9, 10)).error == BufferError::unknown_id);
    BufferView foreign;
    foreign.id = 9;
    foreign.segments = 1;
    CHECK(group.recycle(foreign) == BufferError::unknown_id);
    // A CQE without a buffer (an error): nothing to take, nothing to recycle.
    Cqe failed{};
    failed.res = -EIO;
    BufferView none = group.take(failed);
    CHECK(none.error == BufferError::no_buffer);
    CHECK(group.recycle(none) == BufferError::none);

    CHECK(group.recycle(view) == BufferError::none);
    CHECK(group.kernel_owns(id));
    CHECK(group.recycle(view) == BufferError::kernel_owned);  // twice: refused
    CHECK(group.recycle(id) == BufferError::kernel_owned);
    if (use_ring) {
      CHECK(group.ring_tail() == static_cast<std::uint16_t>(tail + 1));  // one entry, not two
      auto head = group.kernel_head();
      if (head.ok()) CHECK(head.value() == 1);
    } else {
      CHECK(ring.sq_pending() == 1);  // one PROVIDE queued, not two
    }
    // Four reads now get four different buffers: none was given twice.
    std::set<std::uint16_t> ids;
    std::vector<BufferView> views;
    for (unsigned i = 0; i < 4; ++i) {
      Cqe next = read_one(ring, file.fd, 128, i * 128, gid);
      REQUIRE(next.result() == 128);
      ids.insert(next.buffer_id());
      views.push_back(group.take(next));
      CHECK(views.back().ok());
    }
    CHECK(ids.size() == 4);
    CHECK(read_one(ring, file.fd, 128, 0, gid).result() == -ENOBUFS);
    CHECK(group.app_owned_count() == 4);
    for (const BufferView& v : views) CHECK(group.recycle(v) == BufferError::none);
    CHECK(group.kernel_owned_count() == 4);
    REQUIRE(ring.submit() >= 0);
    CHECK(group.close().ok());
  }
}

TEST_CASE("describe() says what each BufferError means") {
  std::set<std::string> texts;
  for (BufferError error : {BufferError::none, BufferError::no_buffer, BufferError::unknown_id,
                            BufferError::not_kernel_owned, BufferError::kernel_owned, BufferError::stale_view,
                            BufferError::sq_full, BufferError::bundle_lost, BufferError::closed}) {
    const std::string text = describe(error);
    CHECK(text.size() > 5);
    texts.insert(text);
  }
  CHECK(texts.size() == 9);
  CHECK(contains(describe(BufferError::kernel_owned), "the kernel owns this buffer"));
}

TEST_CASE("IORING_CQE_F_BUF_MORE on a group that is not incremental is not believed: the buffer is handed over (fuzzing)") {
  for (bool legacy : {false, true}) {
    INFO("legacy: " << legacy);
    Ring ring = make_ring();
    PatternFile file;
    auto group = legacy ? BufferGroup::create_provided(ring, group_options(19, 2, 64))
                        : BufferGroup::create_ring(ring, group_options(19, 2, 64));
    REQUIRE_MESSAGE(group.ok(), group.error().message);
    REQUIRE_FALSE(group->incremental());
    Cqe cqe = read_one(ring, file.fd, 16, 0, 19);
    REQUIRE(cqe.result() == 16);
    cqe.flags |= abi::IORING_CQE_F_BUF_MORE;  // only incremental rings get it from the kernel
    const BufferView view = group->take(cqe);
    REQUIRE(view.ok());
    CHECK_FALSE(view.kernel_keeps_last);             // used to be kept as the kernel's...
    CHECK_FALSE(group->kernel_owns(cqe.buffer_id()));  // ...and never handed over
    CHECK(group->recycle(view) == BufferError::none);
  }
}

TEST_CASE("a ring made incremental through extra_ring_flags is incremental: F_BUF_MORE is believed there (review of 3e87b2c)") {
  URING_REQUIRE(missing_since("IOU_PBUF_RING_INC", "6.12"));
  Ring ring = make_ring();
  BufferGroupOptions options = group_options(21, 2, 64);
  options.extra_ring_flags = abi::IOU_PBUF_RING_INC;
  auto group = BufferGroup::create_ring(ring, options);
  REQUIRE_MESSAGE(group.ok(), group.error().message);
  CHECK(group->incremental());  // the kernel consumes its buffers incrementally either way
}

TEST_CASE("legacy recycle with a full SQ: sq_full, and the buffer stays yours") {
  Ring ring = make_ring(4);
  PatternFile file;
  auto group = BufferGroup::create_provided(ring, group_options(18, 1, 64));
  REQUIRE_MESSAGE(group.ok(), group.error().message);
  Cqe cqe = read_one(ring, file.fd, 64, 0, 18);
  REQUIRE(cqe.result() == 64);
  BufferView view = group->take(cqe);
  REQUIRE(view.ok());
  std::vector<Prepared*> taken;
  while (Sqe* sqe = ring.get_sqe()) taken.push_back(&prep_nop(*sqe));
  CHECK(group->recycle(view) == BufferError::sq_full);
  CHECK_FALSE(group->kernel_owns(view.id));
  CHECK(contains(describe(BufferError::sq_full), "submit, then recycle again"));
  (void)reap(ring, static_cast<unsigned>(taken.size()));
  CHECK(group->recycle(view) == BufferError::none);
  REQUIRE(ring.submit() == 1);
  CHECK(read_one(ring, file.fd, 64, 64, 18).buffer_id() == view.id);  // back and reused
}

TEST_CASE("internal CQEs: a failed re-provide gives the buffer back to the application") {
  Ring ring = make_ring();
  PatternFile file;
  BufferGroupOptions options = group_options(19, 2, 64);
  options.internal_user_data = 0x7700000000000000ull;
  auto group = BufferGroup::create_provided(ring, options);
  REQUIRE_MESSAGE(group.ok(), group.error().message);
  BufferView first = group->take(read_one(ring, file.fd, 64, 0, 19));
  BufferView second = group->take(read_one(ring, file.fd, 64, 64, 19));
  REQUIRE(first.ok());
  REQUIRE(second.ok());
  // The kernel's list is empty, so a buffer ring may take over id 19 (made
  // behind the library's back): the next PROVIDE into it fails for real.
  void* memory = ::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  REQUIRE(memory != MAP_FAILED);
  abi::io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<std::uintptr_t>(memory);
  reg.ring_entries = 2;
  reg.bgid = 19;
  REQUIRE(ring.register_raw(abi::IORING_REGISTER_PBUF_RING, &reg, 1) == 0);

  CHECK(group->recycle(first) == BufferError::none);
  CHECK(group->kernel_owns(first.id));
  Cqe failure = reap(ring, 1)[0];
  CHECK(failure.data() == (0x7700000000000000ull | first.id));
  CHECK(failure.result() == -EINVAL);
  CHECK(group->is_internal(failure));
  Cqe foreign{};
  foreign.user_data = 0x7700000000000000ull + 0x20000;
  CHECK_FALSE(group->is_internal(foreign));
  CHECK(group->handle_internal(foreign) == 0);
  CHECK(group->handle_internal(failure) == -EINVAL);
  CHECK_FALSE(group->kernel_owns(first.id));  // yours again: recycle it later
  CHECK(group->app_owned_count() == 2);

  reg = abi::io_uring_buf_reg{};
  reg.bgid = 19;
  CHECK(ring.register_raw(abi::IORING_UNREGISTER_PBUF_RING, &reg, 1) == 0);
  ::munmap(memory, 4096);
  CHECK(group->close().ok());
  CHECK(ring.cq_ready() == 0);  // nothing in the kernel: no REMOVE was needed
}

TEST_CASE("-ENOBUFS policy: fail, or park the request and re-arm it after a recycle") {
  Ring ring = make_ring();
  PatternFile file;
  for (bool use_ring : {true, false}) {
    CAPTURE(use_ring);
    BufferGroupOptions options = group_options(use_ring ? 20 : 21, 2, 64);
    options.no_buffers = NoBuffersPolicy::recycle_and_retry;
    options.max_parked = 2;
    auto group = use_ring ? BufferGroup::create_ring(ring, options) : BufferGroup::create_provided(ring, options);
    REQUIRE_MESSAGE(group.ok(), group.error().message);
    const std::uint16_t gid = options.group_id;

    Cqe ok_cqe = read_one(ring, file.fd, 64, 0, gid);
    CHECK(group->on_no_buffers(ok_cqe) == NoBuffersAction::not_enobufs);
    BufferView first = group->take(ok_cqe);
    BufferView second = group->take(read_one(ring, file.fd, 64, 64, gid));
    REQUIRE(first.ok());
    REQUIRE(second.ok());
    Cqe empty = read_one(ring, file.fd, 64, 128, gid);
    REQUIRE(empty.result() == -ENOBUFS);
    CHECK(empty.data() == 128);

    // Nothing came back yet: parked, and nothing to re-arm until a recycle.
    CHECK(group->on_no_buffers(empty) == NoBuffersAction::parked);
    CHECK(group->parked_count() == 1);
    std::vector<std::uint64_t> rearmed;
    auto rearm = [&](std::uint64_t user_data) { rearmed.push_back(user_data); };
    CHECK(group->rearm_parked(rearm) == 0);
    Cqe empty2 = empty;
    empty2.user_data = 129;
    CHECK(group->on_no_buffers(empty2) == NoBuffersAction::parked);
    Cqe empty3 = empty;
    empty3.user_data = 130;
    CHECK(group->on_no_buffers(empty3) == NoBuffersAction::fail);  // max_parked reached

    CHECK(group->recycle(first) == BufferError::none);
    REQUIRE(ring.submit() >= 0);  // legacy: the PROVIDE goes in
    if (use_ring) {
      // A buffer ring hands back as many as the kernel has buffers free: one,
      // and queues a NOP (the group's internal user_data) so that the loop
      // comes back for the other even if the first finds no data.
      CHECK(group->rearm_parked(rearm) == 1);
      CHECK(rearmed == std::vector<std::uint64_t>{128});
      CHECK(group->parked_count() == 1);
      const Cqe wake = next_cqe(ring);
      CHECK(group->is_internal(wake));
      CHECK(wake.result() == 0);
      CHECK(group->handle_internal(wake) == 0);
      // 128 was not submitted, so the buffer is still free: 129 gets it.
      CHECK(group->rearm_parked(rearm) == 1);
    } else {
      CHECK(group->rearm_parked(rearm) == 2);  // legacy: the kernel cannot say how many are free
    }
    CHECK(rearmed == std::vector<std::uint64_t>{128, 129});
    CHECK(group->parked_count() == 0);
    CHECK(group->rearm_parked(rearm) == 0);
    // The retry finds the recycled buffer.
    Cqe retried = read_one(ring, file.fd, 64, 128, gid);
    REQUIRE(retried.result() == 64);
    CHECK(retried.buffer_id() == first.id);
    BufferView third = group->take(retried);
    CHECK(std::memcmp(third.data, file.bytes.data() + 128, 64) == 0);

    // A buffer came back between the kernel's -ENOBUFS and our look at it: re-arm now.
    CHECK(group->recycle(third) == BufferError::none);
    REQUIRE(ring.submit() >= 0);
    CHECK(group->on_no_buffers(empty) == NoBuffersAction::rearm_now);
    CHECK(group->recycle(second) == BufferError::none);
    REQUIRE(ring.submit() >= 0);
  }
  // Policy fail: always fail.
  auto failing = BufferGroup::create_ring(ring, group_options(22, 1, 64));
  REQUIRE(failing.ok());
  CHECK(failing->no_buffers_policy() == NoBuffersPolicy::fail);
  Cqe enobufs{};
  enobufs.res = -ENOBUFS;
  CHECK(failing->on_no_buffers(enobufs) == NoBuffersAction::fail);
}

TEST_CASE("a moved group keeps working; the moved-from one is empty") {
  Ring ring = make_ring();
  PatternFile file;
  auto made = BufferGroup::create_ring(ring, group_options(23, 2, 64));
  REQUIRE(made.ok());
  BufferGroup group = std::move(made.value());
  CHECK_FALSE(made.value().valid());
  BufferGroup other;
  CHECK_FALSE(other.valid());
  CHECK(other.close().ok());
  CHECK(other.take(fake_buffer_cqe(0, 1)).error == BufferError::closed);
  CHECK(other.recycle(0) == BufferError::closed);
  BufferView stale;  // a view kept past its group's life
  stale.id = 1;
  stale.segments = 1;
  CHECK(other.recycle(stale) == BufferError::closed);
  CHECK(other.segment(stale, 0).empty());
  other = std::move(group);
  CHECK(other.valid());
  CHECK_FALSE(group.valid());
  Cqe cqe = read_one(ring, file.fd, 64, 0, 23);
  BufferView view = other.take(cqe);
  REQUIRE(view.ok());
  CHECK(other.recycle(view) == BufferError::none);
}

TEST_CASE("legacy groups on an SQPOLL ring: the poller runs PROVIDE and REMOVE") {
  Ring ring = make_ring(16, /*sqpoll=*/true);
  PatternFile file;
  auto group = BufferGroup::create_provided(ring, group_options(24, 3, 256));
  REQUIRE_MESSAGE(group.ok(), group.error().message);
  Cqe cqe = read_one(ring, file.fd, 256, 1024, 24);
  REQUIRE(cqe.result() == 256);
  BufferView view = group->take(cqe);
  CHECK(std::memcmp(view.data, file.bytes.data() + 1024, 256) == 0);
  CHECK(group->recycle(view) == BufferError::none);
  REQUIRE(ring.submit() >= 0);
  CHECK(group->close().ok());
  prep_remove_buffers(next_sqe(ring), 100, 24);
  CHECK(reap(ring, 1)[0].result() == 0);  // close() removed all three
}

TEST_CASE("creating and destroying groups x200 leaves no fd and no mapping behind") {
  Ring ring = make_ring();
  {  // warm up allocator and kernel caches
    auto group = BufferGroup::create_ring(ring, group_options(25, 8, 4096));
    REQUIRE(group.ok());
  }
  const int fds_before = open_fd_count();
  const MappingSnapshot maps_before;
  for (int i = 0; i < 200; ++i) {
    BufferGroupOptions options = group_options(static_cast<std::uint16_t>(25 + i % 3), 8, 4096);
    switch (i % 4) {
      case 0: options.ring_memory = RingMemory::kernel; break;
      case 1: options.ring_memory = RingMemory::library; break;
      case 2: options.incremental = true; options.allow_fallback = true; break;
      default: break;
    }
    auto group = i % 4 == 3 ? BufferGroup::create_provided(ring, options) : BufferGroup::create_ring(ring, options);
    REQUIRE_MESSAGE(group.ok(), group.error().message);
    if (i % 4 == 0) CHECK(mapping_count("[io_uring]") >= 1);
  }
  CHECK(open_fd_count() == fds_before);
  CHECK(MappingSnapshot() == maps_before);
  CHECK(ring.cq_ready() == 0);  // the legacy groups took their PROVIDE/REMOVE CQEs off the CQ
}

TEST_CASE("buffers in caller memory: the kernel fills them, the group never frees them") {
  Ring ring = make_ring();
  PatternFile file;
  for (bool use_ring : {true, false}) {
    CAPTURE(use_ring);
    std::vector<unsigned char> memory(4 * 100, 0);
    BufferGroupOptions options = group_options(26, 4, 100);
    options.buffer_memory = memory.data();
    auto group = use_ring ? BufferGroup::create_ring(ring, options) : BufferGroup::create_provided(ring, options);
    REQUIRE_MESSAGE(group.ok(), group.error().message);
    CHECK(group->buffer(2).data() == memory.data() + 200);
    Cqe cqe = read_one(ring, file.fd, 100, 300, 26);
    REQUIRE(cqe.result() == 100);
    BufferView view = group->take(cqe);
    REQUIRE(view.ok());
    CHECK(view.data == memory.data() + 100 * view.id);
    CHECK(std::memcmp(memory.data() + 100 * view.id, file.bytes.data() + 300, 100) == 0);
    CHECK(group->recycle(view) == BufferError::none);
    REQUIRE(ring.submit() >= 0);
    CHECK(group->close().ok());  // (ASan would see a free of `memory` here)
  }
}

namespace {

// Selects from `group` until it runs dry: every buffer it holds comes out
// once (10-byte reads of file `fd`, or, with `writer` >= 0, 10-byte receives
// from socket `fd` of what is sent to `writer`), then -ENOBUFS. Gives them all
// back and returns the ids seen.
std::set<std::uint16_t> drain_group(Ring& ring, BufferGroup& group, int fd, int writer = -1) {
  std::set<std::uint16_t> ids;
  std::vector<BufferView> views;
  for (unsigned i = 0; i <= group.buffer_count(); ++i) {
    if (writer >= 0) {
      REQUIRE(::send(writer, "0123456789", 10, MSG_NOSIGNAL) == 10);
      prep_recv_buffer_select(next_sqe(ring), fd, 10, 0, group.group_id()).set_user_data(7000 + i);
    } else {
      prep_read_buffer_select(next_sqe(ring), fd, 10, i * 10, group.group_id()).set_user_data(7000 + i);
    }
    Cqe cqe;
    do {
      cqe = reap_one(ring);
    } while (group.is_internal(cqe) && group.handle_internal(cqe) == 0);
    REQUIRE(cqe.data() == 7000 + i);
    if (cqe.result() == -ENOBUFS) break;
    REQUIRE(cqe.result() == 10);
    CHECK(ids.insert(cqe.buffer_id()).second);  // never one twice
    views.push_back(group.take(cqe));
    REQUIRE(views.back().ok());
  }
  CHECK(ids.size() == views.size());
  for (const BufferView& view : views) REQUIRE(group.recycle(view) == BufferError::none);
  REQUIRE(ring.submit() >= 0);
  return ids;
}

}  // namespace

TEST_CASE("take() on a legacy group, a datagram longer than the buffer (MSG_TRUNC): the buffer is handed over (issue 12, item 3)") {
  Ring ring = make_ring();
  PatternFile file;
  {
    auto group = BufferGroup::create_provided(ring, group_options(30, 4, 16));
    REQUIRE_MESSAGE(group.ok(), group.error().message);
    int fds[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, fds) == 0);
    std::vector<unsigned char> sent(40, 0x5A);
    REQUIRE(::send(fds[1], sent.data(), sent.size(), 0) == 40);
    prep_recv_buffer_select(next_sqe(ring), fds[0], 0, MSG_TRUNC, 30).set_user_data(1);
    const Cqe cqe = reap_one(ring);
    REQUIRE(cqe.result() == 40);
    REQUIRE(cqe.has_buffer());
    BufferView view = group->take(cqe);
    CHECK(view.ok());
    CHECK(view.truncated);
    CHECK(view.size == 16);
    CHECK(view.segments == 1);
    CHECK(view.id == cqe.buffer_id());
    CHECK_FALSE(group->kernel_owns(cqe.buffer_id()));
    CHECK(group->recycle(view) == BufferError::none);
    REQUIRE(ring.submit() >= 0);
    CHECK(drain_group(ring, *group, file.fd) == std::set<std::uint16_t>{0, 1, 2, 3});
    ::close(fds[0]);
    ::close(fds[1]);
  }
}

TEST_CASE("take() of a bundle whose second buffer another CQE handed out: bundle_lost, and the rest is handed over (issue 12, item 3)") {
  URING_REQUIRE(missing_feature(abi::IORING_FEAT_RECVSEND_BUNDLE));
  Ring ring = make_ring();
  {
    auto group = BufferGroup::create_ring(ring, group_options(31, 4, 16));
    REQUIRE_MESSAGE(group.ok(), group.error().message);
    int fds[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0);
    std::vector<unsigned char> sent(40, 0x33);
    REQUIRE(::send(fds[1], sent.data(), sent.size(), 0) == 40);
    prep_recv_bundle(next_sqe(ring), fds[0], 0, 0, 31).set_user_data(2);
    const Cqe bundle = reap_one(ring);
    REQUIRE(bundle.result() > 16);     // at least two buffers,
    REQUIRE(bundle.buffer_id() == 0);  // 0 and 1 (and 2), in ring order
    const unsigned used = static_cast<unsigned>(bundle.result() + 15) / 16;
    char rest[64];
    (void)::recv(fds[0], rest, sizeof rest, MSG_DONTWAIT);  // what the bundle left
    // A CQE naming buffer 1 (taken twice, say) gets there first.
    BufferView stolen = group->take(fake_buffer_cqe(1, 16));
    REQUIRE(stolen.ok());
    BufferView view = group->take(bundle, Bundle::yes);
    CHECK(view.error == BufferError::bundle_lost);
    CHECK(view.segments >= 1);  // at least the buffer the CQE names
    CHECK(view.id == 0);
    for (std::uint16_t id = 0; id < used; ++id) CHECK_FALSE(group->kernel_owns(id));  // all consumed
    CHECK(group->recycle(view) == BufferError::none);
    CHECK(group->recycle(stolen) == BufferError::none);
    CHECK(group->kernel_owned_count() == 4);
    CHECK(drain_group(ring, *group, fds[0], fds[1]) == std::set<std::uint16_t>{0, 1, 2, 3});
    ::close(fds[0]);
    ::close(fds[1]);
  }
}

TEST_CASE("kernel-mapped rings above group id 2047: refused up front with the reason, or library memory with allow_fallback (issue 12, item 4)") {
  // io_uring/memmap.c maps IORING_OFF_PBUF_RING | bgid << IORING_OFF_PBUF_SHIFT
  // and decodes the region from offset & IORING_OFF_MMAP_MASK (0xf8000000):
  // from id 2048 on, the id's bits reach into the mask and the mmap finds nothing.
  URING_REQUIRE(missing_since("IOU_PBUF_RING_MMAP", "6.4"));
  URING_REQUIRE(missing_register_op(abi::IORING_REGISTER_PBUF_STATUS));  // the kernel's view of a group
  static_assert(((abi::IORING_OFF_PBUF_RING | 2047ull << abi::IORING_OFF_PBUF_SHIFT) & abi::IORING_OFF_MMAP_MASK) ==
                abi::IORING_OFF_PBUF_RING);
  static_assert(((abi::IORING_OFF_PBUF_RING | 2048ull << abi::IORING_OFF_PBUF_SHIFT) & abi::IORING_OFF_MMAP_MASK) !=
                abi::IORING_OFF_PBUF_RING);
  Ring ring = make_ring();
  PatternFile file;
  // The kernel agrees: it registers group 2048 kernel-mapped, but will not map it.
  {
    abi::io_uring_buf_reg reg{};
    reg.ring_entries = 4;
    reg.bgid = 2048;
    reg.flags = abi::IOU_PBUF_RING_MMAP;
    REQUIRE(ring.register_raw(abi::IORING_REGISTER_PBUF_RING, &reg, 1) == 0);
    void* mapped = ::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, ring.fd(),
                          static_cast<off_t>(abi::IORING_OFF_PBUF_RING | 2048ull << abi::IORING_OFF_PBUF_SHIFT));
    CHECK(mapped == MAP_FAILED);
    if (mapped != MAP_FAILED) ::munmap(mapped, 4096);
    reg = abi::io_uring_buf_reg{};
    reg.bgid = 2048;
    REQUIRE(ring.register_raw(abi::IORING_UNREGISTER_PBUF_RING, &reg, 1) == 0);
  }
  for (unsigned id : {2048u, 4095u, 65535u}) {
    CAPTURE(id);
    BufferGroupOptions options = group_options(static_cast<std::uint16_t>(id), 4, 64);
    options.ring_memory = RingMemory::kernel;
    auto refused = BufferGroup::create_ring(ring, options);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.code() == EINVAL);
    const std::string& message = refused.error().message;
    CHECK_MESSAGE(contains(message, "0 .. 2047"), message);
    CHECK_MESSAGE(contains(message, "IORING_OFF_MMAP_MASK"), message);
    CHECK_MESSAGE(contains(message, "RingMemory::library"), message);
    CHECK(kernel_group_status(ring, static_cast<std::uint16_t>(id)) == -ENOENT);  // nothing registered

    options.allow_fallback = true;
    auto fallback = BufferGroup::create_ring(ring, options);
    REQUIRE_MESSAGE(fallback.ok(), fallback.error().message);
    CHECK(fallback->kind() == BufferGroup::Kind::ring);
    CHECK(fallback->ring_memory() == RingMemory::library);
    CHECK_MESSAGE(contains(fallback->fallback_note(), "2047"), fallback->fallback_note());
    CHECK(kernel_group_status(ring, static_cast<std::uint16_t>(id)) == 0);
    // And it works.
    Cqe cqe = read_one(ring, file.fd, 64, 128, static_cast<std::uint16_t>(id));
    REQUIRE(cqe.result() == 64);
    BufferView view = fallback->take(cqe);
    REQUIRE(view.ok());
    CHECK(std::memcmp(view.data, file.bytes.data() + 128, 64) == 0);
    CHECK(fallback->recycle(view) == BufferError::none);
  }
  // 2047, the largest that fits, is kernel-mapped as asked.
  BufferGroupOptions options = group_options(2047, 4, 64);
  options.ring_memory = RingMemory::kernel;
  auto largest = BufferGroup::create_ring(ring, options);
  REQUIRE_MESSAGE(largest.ok(), largest.error().message);
  CHECK(largest->ring_memory() == RingMemory::kernel);
  CHECK(largest->fallback_note().empty());
}

TEST_CASE("a legacy group leaves IOSQE_IO_DRAIN working on its ring (issue 12, item 5)") {
  // io_uring/io_uring.c, io_init_req(): one SQE with IOSQE_CQE_SKIP_SUCCESS
  // sets ctx->drain_disabled for good, and every IOSQE_IO_DRAIN after it
  // fails with -EOPNOTSUPP. The group's own SQEs must not do that.
  Ring ring = make_ring();
  PatternFile file;
  auto group = BufferGroup::create_provided(ring, group_options(32, 2, 64));
  REQUIRE_MESSAGE(group.ok(), group.error().message);
  Cqe cqe = read_one(ring, file.fd, 64, 0, 32);  // a recycle queues a PROVIDE_BUFFERS too
  REQUIRE(cqe.result() == 64);
  BufferView view = group->take(cqe);
  REQUIRE(view.ok());
  REQUIRE(group->recycle(view) == BufferError::none);
  prep_nop(next_sqe(ring)).drain().set_user_data(77);
  bool nop_seen = false;
  for (int i = 0; i < 4 && !nop_seen; ++i) {
    const Cqe next = reap_one(ring);
    if (group->is_internal(next)) {
      CHECK(group->handle_internal(next) == 0);
      continue;
    }
    CHECK(next.data() == 77);
    CHECK(next.result() == 0);  // not -EOPNOTSUPP
    nop_seen = true;
  }
  CHECK(nop_seen);
  CHECK(group->close().ok());
  prep_nop(next_sqe(ring)).drain().set_user_data(78);
  for (int i = 0; i < 4; ++i) {
    const Cqe next = reap_one(ring);
    if ((next.data() >> 48) == 0xB0F5) continue;  // the REMOVE_BUFFERS of close(), if it posted
    CHECK(next.data() == 78);
    CHECK(next.result() == 0);
    break;
  }
}

TEST_CASE("a legacy group created after a drained request works (issue 12, item 5)") {
  // After an IOSQE_IO_DRAIN request the kernel runs the next SQE through its
  // drain queue, off the submitting call (io_drain_req), so PROVIDE_BUFFERS
  // has not run when io_uring_enter returns.
  Ring ring = make_ring();
  PatternFile file;
  prep_nop(next_sqe(ring)).drain().set_user_data(1);
  REQUIRE(ring.submit_and_wait(1) == 1);  // submitted and completed in one io_uring_enter
  Cqe* done = ring.peek_cqe();
  REQUIRE(done != nullptr);
  CHECK(done->result() == 0);
  ring.cqe_seen(done);
  auto group = BufferGroup::create_provided(ring, group_options(33, 2, 64));
  REQUIRE_MESSAGE(group.ok(), group.error().message);
  CHECK(group->kernel_owned_count() == 2);
  CHECK(drain_group(ring, *group, file.fd) == std::set<std::uint16_t>{0, 1});
}

TEST_CASE("a legacy group behind a drained request still in flight: an error that says so, and nothing freed under the kernel (issue 12, item 5)") {
  Ring ring = make_ring();
  int pipe_fds[2];
  REQUIRE(::pipe2(pipe_fds, O_CLOEXEC) == 0);
  char byte = 0;
  prep_read(next_sqe(ring), pipe_fds[0], &byte, 1, 0).drain().set_user_data(1);  // waits for a byte
  REQUIRE(ring.submit() == 1);
  std::vector<unsigned char> memory(2 * 64);  // caller memory: the group may not free it
  BufferGroupOptions options = group_options(34, 2, 64);
  options.buffer_memory = memory.data();
  auto group = BufferGroup::create_provided(ring, options);
  REQUIRE_FALSE(group.ok());
  const std::string& message = group.error().message;
  CHECK_MESSAGE(contains(message, "IOSQE_IO_DRAIN"), message);
  CHECK_MESSAGE(!contains(message, "out of memory"), message);
  // Once the drained read completes, the PROVIDE runs after it.
  REQUIRE(::write(pipe_fds[1], "x", 1) == 1);
  std::vector<Cqe> cqes = reap(ring, 2);
  CHECK(cqes[0].data() == 1);
  CHECK(cqes[0].result() == 1);
  CHECK((cqes[1].data() >> 48) == 0xB0F5);  // the group's PROVIDE_BUFFERS
  CHECK(cqes[1].result() == 0);
  prep_remove_buffers(next_sqe(ring), 2, 34);  // give the kernel's copy back before `memory` goes
  CHECK(reap_one(ring).result() == 2);
  ::close(pipe_fds[0]);
  ::close(pipe_fds[1]);
}

TEST_CASE("a stale view, recycled after its buffer came round again, is refused (issue 12, item 6)") {
  Ring ring = make_ring();
  PatternFile file;
  for (bool use_ring : {true, false}) {
    CAPTURE(use_ring);
    const std::uint16_t gid = use_ring ? 35 : 36;
    auto made = use_ring ? BufferGroup::create_ring(ring, group_options(gid, 1, 64))
                         : BufferGroup::create_provided(ring, group_options(gid, 1, 64));
    REQUIRE_MESSAGE(made.ok(), made.error().message);
    BufferGroup& group = made.value();
    BufferView first = group.take(read_one(ring, file.fd, 64, 0, gid));
    REQUIRE(first.ok());
    REQUIRE(group.recycle(first) == BufferError::none);
    REQUIRE(ring.submit() >= 0);
    BufferView second = group.take(read_one(ring, file.fd, 64, 64, gid));
    REQUIRE(second.ok());
    REQUIRE(second.id == first.id);  // the one buffer, taken again
    CHECK(group.recycle(first) == BufferError::stale_view);  // its bytes are `second`'s now
    CHECK_FALSE(group.kernel_owns(second.id));         // still yours
    CHECK(std::memcmp(second.data, file.bytes.data() + 64, 64) == 0);
    CHECK(ring.sq_pending() == 0);                     // no PROVIDE was queued for it
    CHECK(group.recycle(second) == BufferError::none);
    REQUIRE(ring.submit() >= 0);
    CHECK(group.kernel_owned_count() == 1);
  }
}

TEST_CASE("skip_success_cqes: recycles post no CQE, and the ring loses IOSQE_IO_DRAIN, as documented (issue 12, item 5)") {
  URING_REQUIRE(missing_feature(abi::IORING_FEAT_CQE_SKIP));
  Ring ring = make_ring();
  PatternFile file;
  BufferGroupOptions options = group_options(37, 2, 64);
  options.skip_success_cqes = true;
  auto group = BufferGroup::create_provided(ring, options);
  REQUIRE_MESSAGE(group.ok(), group.error().message);
  CHECK(ring.cq_ready() == 0);
  Cqe cqe = read_one(ring, file.fd, 64, 0, 37);
  REQUIRE(cqe.result() == 64);
  BufferView view = group->take(cqe);
  REQUIRE(group->recycle(view) == BufferError::none);
  REQUIRE(ring.submit() == 1);
  CHECK(ring.cq_ready() == 0);  // the PROVIDE posted nothing
  prep_nop(next_sqe(ring)).drain().set_user_data(5);
  const Cqe nop = reap_one(ring);
  CHECK(nop.data() == 5);
  CHECK(nop.result() == -EOPNOTSUPP);  // the kernel's price for CQE_SKIP_SUCCESS
  CHECK(drain_group(ring, *group, file.fd) == std::set<std::uint16_t>{0, 1});
}
