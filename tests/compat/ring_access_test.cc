// The accessors of uring::Ring that the liburing layer (uring/liburing)
// builds struct io_uring from: adopt() of a ring set up by io_uring_setup(2)
// elsewhere, mapping(), sqe_tail(), flush_sq(), and registering,
// unregistering and closing the ring fd after setup, and params().
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "tests/support/kernel_features.h"
#include "tests/support/test_support.h"
#include "uring/uring.h"

using namespace uring;

namespace {

// A ring fd and its params straight from the kernel.
int raw_setup(unsigned entries, abi::io_uring_params& params) {
  params = abi::io_uring_params{};
  return sys::io_uring_setup(entries, &params);
}

bool fd_is_open(int fd) { return ::fcntl(fd, F_GETFD) >= 0; }

}  // namespace

TEST_CASE("adopt maps a ring set up elsewhere, runs NOPs on it and closes its fd") {
  const int fds_before = testing::open_fd_count();
  const testing::MappingSnapshot maps_before;
  abi::io_uring_params params;
  const int fd = raw_setup(8, params);
  REQUIRE(fd >= 0);
  {
    auto ring = Ring::adopt(fd, params);
    REQUIRE_MESSAGE(ring.ok(), ring.error().message);
    CHECK(ring->fd() == fd);
    CHECK(ring->registered_index() == -1);  // adopt does not register the fd
    CHECK(ring->sq_entries() == params.sq_entries);
    CHECK(ring->cq_entries() == params.cq_entries);
    CHECK(ring->features() == params.features);
    for (std::uint64_t i = 0; i < 3; ++i) prep_nop(*ring->get_sqe()).set_user_data(100 + i);
    CHECK(ring->submit_and_wait(3) == 3);
    std::uint64_t sum = 0;
    CHECK(ring->for_each_cqe([&](const Cqe& cqe) { sum += cqe.data(); }) == 3);
    CHECK(sum == 303);
  }
  CHECK_FALSE(fd_is_open(fd));
  CHECK(testing::open_fd_count() == fds_before);
  CHECK(testing::MappingSnapshot{} == maps_before);
}

TEST_CASE("adopt refuses what it cannot map and leaves the fd to the caller") {
  abi::io_uring_params params;
  const int fd = raw_setup(4, params);
  REQUIRE(fd >= 0);
  // Not a ring: its mmap fails, and the fd stays the caller's.
  const int not_a_ring = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  REQUIRE(not_a_ring >= 0);
  const testing::MappingSnapshot maps_before;
  auto refused = Ring::adopt(not_a_ring, params);
  CHECK_FALSE(refused.ok());
  CHECK(fd_is_open(not_a_ring));
  CHECK(testing::MappingSnapshot{} == maps_before);
  ::close(not_a_ring);
  abi::io_uring_params wrong = params;
  wrong.flags |= abi::IORING_SETUP_NO_MMAP;
  auto no_mmap = Ring::adopt(fd, wrong);
  REQUIRE_FALSE(no_mmap.ok());
  CHECK(no_mmap.code() == EINVAL);
  CHECK(fd_is_open(fd));
  CHECK(Ring::adopt(-1, params).code() == EBADF);
  ::close(fd);
}

TEST_CASE("mapping() points at the kernel's words, and sqe_tail/flush_sq follow get_sqe") {
  RingOptions options;
  options.entries = 8;
  options.register_ring_fd = false;
  auto ring = testing::create_ring(options);
  REQUIRE(ring.ok());
  const Ring::Mapping m = ring->mapping();
  REQUIRE(m.sq_khead != nullptr);
  CHECK(m.sq_entries == ring->sq_entries());
  CHECK(m.cq_entries == ring->cq_entries());
  CHECK(m.sq_mask == ring->sq_entries() - 1);
  CHECK(m.cq_mask == ring->cq_entries() - 1);
  REQUIRE(m.sq_array != nullptr);
  for (unsigned i = 0; i < m.sq_entries; ++i) CHECK(m.sq_array[i] == i);
  CHECK(m.sqes_bytes == m.sq_entries * 64u);
  // The ring words lie inside the SQ/CQ mappings.
  auto inside = [](const void* p, const void* base, std::size_t bytes) {
    auto* c = static_cast<const unsigned char*>(p);
    auto* b = static_cast<const unsigned char*>(base);
    return c >= b && c < b + bytes;
  };
  CHECK(inside(m.sq_khead, m.sq_ring, m.sq_ring_bytes));
  CHECK(inside(m.sq_kdropped, m.sq_ring, m.sq_ring_bytes));
  CHECK(inside(m.cq_ktail, m.cq_ring, m.cq_ring_bytes));
  CHECK(inside(m.cq_koverflow, m.cq_ring, m.cq_ring_bytes));
  CHECK(inside(m.cqes, m.cq_ring, m.cq_ring_bytes));

  const std::uint32_t start = ring->sqe_tail();
  Sqe* sqe = ring->get_sqe();
  REQUIRE(sqe != nullptr);
  CHECK(reinterpret_cast<unsigned char*>(sqe) == m.sqes + ((start & m.sq_mask) * 64));
  prep_nop(*sqe).set_user_data(7);
  CHECK(ring->sqe_tail() == start + 1);
  CHECK(*m.sq_ktail == start);  // nothing published yet
  CHECK(ring->flush_sq() == 1);
  CHECK(*m.sq_ktail == start + 1);  // published, not submitted
  CHECK(*m.sq_khead == start);
  // The caller enters itself, as __io_uring_flush_sq users do.
  CHECK(sys::io_uring_enter(ring->fd(), 1, 1, abi::IORING_ENTER_GETEVENTS) == 1);
  CHECK(*m.sq_khead == start + 1);
  CHECK(ring->cq_ready() == 1);
  Cqe* cqe = ring->peek_cqe();
  REQUIRE(cqe != nullptr);
  CHECK(cqe->data() == 7);
  CHECK(reinterpret_cast<unsigned char*>(cqe) == m.cqes + ((*m.cq_khead & m.cq_mask) * 16));
  ring->cqe_seen(cqe);
  CHECK(ring->sq_pending() == 0);
}

TEST_CASE("register_ring_fd / unregister_ring_fd after setup, from the registering thread only") {
  URING_REQUIRE(testing::missing_register_op(abi::IORING_REGISTER_RING_FDS));
  RingOptions options;
  options.register_ring_fd = false;
  auto ring = testing::create_ring(options);
  REQUIRE(ring.ok());
  CHECK(ring->registered_index() == -1);
  CHECK(ring->unregister_ring_fd() == -EINVAL);
  CHECK(ring->register_ring_fd() == 1);
  const int index = ring->registered_index();
  CHECK(index >= 0);
  CHECK(ring->register_ring_fd() == -EEXIST);
  // The index works for enter from this thread.
  prep_nop(*ring->get_sqe()).set_user_data(1);
  CHECK(ring->flush_sq() == 1);
  CHECK(sys::io_uring_enter(index, 1, 1, abi::IORING_ENTER_GETEVENTS | abi::IORING_ENTER_REGISTERED_RING) == 1);
  CHECK(ring->for_each_cqe([](const Cqe&) {}) == 1);
  int from_other = 0;
  std::thread([&] { from_other = ring->unregister_ring_fd(); }).join();
  CHECK(from_other == -EBADF);
  CHECK(ring->registered_index() == index);
  CHECK(ring->unregister_ring_fd() == 1);
  CHECK(ring->registered_index() == -1);
  // The kernel's slot is free again: entering through it fails.
  CHECK(sys::io_uring_enter(index, 0, 0, abi::IORING_ENTER_REGISTERED_RING) == -EBADF);
  // Submits go through the plain fd now.
  prep_nop(*ring->get_sqe()).set_user_data(2);
  CHECK(ring->submit_and_wait(1) == 1);
  CHECK(ring->for_each_cqe([](const Cqe&) {}) == 1);
}

TEST_CASE("close_ring_fd keeps the ring running through its registered index") {
  URING_REQUIRE(testing::missing_feature(abi::IORING_FEAT_REG_REG_RING));
  const int fds_before = testing::open_fd_count();
  {
    RingOptions options;
    options.register_ring_fd = false;
    auto ring = testing::create_ring(options);
    REQUIRE(ring.ok());
    CHECK(ring->close_ring_fd() == -EINVAL);  // not registered: it would be unreachable
    CHECK(testing::open_fd_count() == fds_before + 1);
    REQUIRE(ring->register_ring_fd() == 1);
    const int fd = ring->fd();
    CHECK(ring->close_ring_fd() == 1);
    CHECK(ring->fd() == -1);
    CHECK_FALSE(fd_is_open(fd));
    CHECK(testing::open_fd_count() == fds_before);
    CHECK(ring->close_ring_fd() == -EBADF);
    prep_nop(*ring->get_sqe()).set_user_data(9);
    CHECK(ring->submit_and_wait(1) == 1);
    Cqe* cqe = ring->peek_cqe();
    REQUIRE(cqe != nullptr);
    CHECK(cqe->data() == 9);
    ring->cqe_seen(cqe);
    // Register calls go through the index too.
    CHECK(ring->register_raw(abi::IORING_REGISTER_PROBE, nullptr, 0) != -EBADF);
  }
  CHECK(testing::open_fd_count() == fds_before);
}

TEST_CASE("params() is the kernel's answer to io_uring_setup: the same offsets a raw setup gets, and mapping() agrees") {
  RingOptions options;
  options.entries = 8;
  options.cq_entries = 32;
  options.cqe32 = true;
  options.register_ring_fd = false;
  auto ring = testing::create_ring(options);
  REQUIRE(ring.ok());
  abi::io_uring_params raw{};
  raw.flags = options.setup_flags();
  raw.cq_entries = options.cq_entries;
  const int fd = sys::io_uring_setup(options.entries, &raw);
  REQUIRE(fd >= 0);
  ::close(fd);

  const abi::io_uring_params& p = ring->params();
  CHECK(p.sq_entries == raw.sq_entries);
  CHECK(p.cq_entries == raw.cq_entries);
  CHECK(p.flags == raw.flags);
  CHECK(p.features == raw.features);
  CHECK(std::memcmp(&p.sq_off, &raw.sq_off, sizeof raw.sq_off) == 0);
  CHECK(std::memcmp(&p.cq_off, &raw.cq_off, sizeof raw.cq_off) == 0);
  // Every offset leads to the word mapping() points at.
  const Ring::Mapping m = ring->mapping();
  auto at = [](void* base, std::uint32_t offset) { return static_cast<unsigned char*>(base) + offset; };
  CHECK(at(m.sq_ring, p.sq_off.head) == reinterpret_cast<unsigned char*>(m.sq_khead));
  CHECK(at(m.sq_ring, p.sq_off.tail) == reinterpret_cast<unsigned char*>(m.sq_ktail));
  CHECK(at(m.sq_ring, p.sq_off.flags) == reinterpret_cast<unsigned char*>(m.sq_kflags));
  CHECK(at(m.sq_ring, p.sq_off.dropped) == reinterpret_cast<unsigned char*>(m.sq_kdropped));
  CHECK(at(m.sq_ring, p.sq_off.array) == reinterpret_cast<unsigned char*>(m.sq_array));
  CHECK(*reinterpret_cast<std::uint32_t*>(at(m.sq_ring, p.sq_off.ring_mask)) == m.sq_mask);
  CHECK(*reinterpret_cast<std::uint32_t*>(at(m.sq_ring, p.sq_off.ring_entries)) == m.sq_entries);
  CHECK(at(m.cq_ring, p.cq_off.head) == reinterpret_cast<unsigned char*>(m.cq_khead));
  CHECK(at(m.cq_ring, p.cq_off.tail) == reinterpret_cast<unsigned char*>(m.cq_ktail));
  CHECK(at(m.cq_ring, p.cq_off.overflow) == reinterpret_cast<unsigned char*>(m.cq_koverflow));
  CHECK(at(m.cq_ring, p.cq_off.cqes) == m.cqes);
  CHECK(*reinterpret_cast<std::uint32_t*>(at(m.cq_ring, p.cq_off.ring_mask)) == m.cq_mask);
  CHECK(*reinterpret_cast<std::uint32_t*>(at(m.cq_ring, p.cq_off.ring_entries)) == m.cq_entries);
}

TEST_CASE("params() follows resize(): the new sizes, and offsets that lead to the new mapping") {
  URING_REQUIRE(testing::missing_register_op(abi::IORING_REGISTER_RESIZE_RINGS));
  RingOptions options;
  options.entries = 8;
  options.single_issuer = true;
  options.defer_taskrun = true;
  auto ring = testing::create_ring(options);
  REQUIRE(ring.ok());
  REQUIRE(ring->resize(ResizeOptions{.sq_entries = 32, .cq_entries = 128}).ok());
  const abi::io_uring_params& p = ring->params();
  CHECK(p.sq_entries == 32);
  CHECK(p.cq_entries == 128);
  CHECK((p.flags & abi::IORING_SETUP_DEFER_TASKRUN) != 0);  // setup's flags, not the resize's
  const Ring::Mapping m = ring->mapping();
  auto at = [](void* base, std::uint32_t offset) { return static_cast<unsigned char*>(base) + offset; };
  CHECK(at(m.sq_ring, p.sq_off.array) == reinterpret_cast<unsigned char*>(m.sq_array));
  CHECK(at(m.cq_ring, p.cq_off.cqes) == m.cqes);
  CHECK(*reinterpret_cast<std::uint32_t*>(at(m.sq_ring, p.sq_off.ring_entries)) == 32);
  CHECK(*reinterpret_cast<std::uint32_t*>(at(m.cq_ring, p.cq_off.ring_entries)) == 128);
}
