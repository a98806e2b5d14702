// The per-request paths allocate nothing: every heap allocation of this
// program is counted (operator new in all its forms, and in the plain build
// malloc, calloc, realloc and the aligned allocators too) around loops of
// get_sqe / prep / submit / wait / reap, peek_cqe, timed waits, SQPOLL, and
// BufferGroup take / recycle.
#include <malloc.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>

#include "tests/support/kernel_features.h"
#include "tests/support/test_support.h"
#include "uring/uring.h"

namespace {
thread_local bool g_counting = false;
thread_local long g_allocations = 0;
void note_allocation() {
  if (g_counting) ++g_allocations;
}

// Counts the allocations `fn` makes on this thread.
template <class Fn>
long allocations_in(Fn&& fn) {
  g_allocations = 0;
  g_counting = true;
  fn();
  g_counting = false;
  return g_allocations;
}
}  // namespace

#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
// glibc's allocator is interposable: every C allocation entry point is
// counted and forwarded to glibc's own (sanitizers replace these themselves,
// so there only operator new is counted).
extern "C" {
void* __libc_malloc(std::size_t);
void* __libc_calloc(std::size_t, std::size_t);
void* __libc_realloc(void*, std::size_t);
void* __libc_memalign(std::size_t, std::size_t);
void* __libc_valloc(std::size_t);
void* __libc_pvalloc(std::size_t);

void* malloc(std::size_t size) noexcept {
  note_allocation();
  return __libc_malloc(size);
}
void* calloc(std::size_t count, std::size_t size) noexcept {
  note_allocation();
  return __libc_calloc(count, size);
}
void* realloc(void* p, std::size_t size) noexcept {
  note_allocation();
  return __libc_realloc(p, size);
}
void* memalign(std::size_t alignment, std::size_t size) noexcept {
  note_allocation();
  return __libc_memalign(alignment, size);
}
void* aligned_alloc(std::size_t alignment, std::size_t size) noexcept {
  note_allocation();
  return __libc_memalign(alignment, size);
}
int posix_memalign(void** out, std::size_t alignment, std::size_t size) noexcept {
  note_allocation();
  if (alignment < sizeof(void*) || (alignment & (alignment - 1)) != 0) return EINVAL;
  void* p = __libc_memalign(alignment, size);
  if (!p) return ENOMEM;
  *out = p;
  return 0;
}
void* valloc(std::size_t size) noexcept {
  note_allocation();
  return __libc_valloc(size);
}
void* pvalloc(std::size_t size) noexcept {
  note_allocation();
  return __libc_pvalloc(size);
}
}  // extern "C"
static void* uncounted_malloc(std::size_t size) { return __libc_malloc(size); }
static void* uncounted_aligned(std::size_t alignment, std::size_t size) { return __libc_memalign(alignment, size); }
constexpr bool kCountsMalloc = true;
#else
static void* uncounted_malloc(std::size_t size) { return std::malloc(size); }
static void* uncounted_aligned(std::size_t alignment, std::size_t size) {
  return std::aligned_alloc(alignment, (size + alignment - 1) / alignment * alignment);
}
constexpr bool kCountsMalloc = false;
#endif

// Replacing operator new (plain, array, aligned, nothrow) counts every C++
// allocation of this program.
void* operator new(std::size_t size) {
  note_allocation();
  if (void* p = uncounted_malloc(size ? size : 1)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size) { return operator new(size); }
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  note_allocation();
  return uncounted_malloc(size ? size : 1);
}
void* operator new[](std::size_t size, const std::nothrow_t& tag) noexcept { return operator new(size, tag); }
void* operator new(std::size_t size, std::align_val_t alignment) {
  note_allocation();
  if (void* p = uncounted_aligned(static_cast<std::size_t>(alignment), size ? size : 1)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size, std::align_val_t alignment) { return operator new(size, alignment); }
void* operator new(std::size_t size, std::align_val_t alignment, const std::nothrow_t&) noexcept {
  note_allocation();
  return uncounted_aligned(static_cast<std::size_t>(alignment), size ? size : 1);
}
void* operator new[](std::size_t size, std::align_val_t alignment, const std::nothrow_t& tag) noexcept {
  return operator new(size, alignment, tag);
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }

using namespace uring;
using namespace std::chrono_literals;

namespace {

// Where the deliberate allocations below go, so no compiler can drop them.
void* volatile g_sink = nullptr;

Ring make_ring(const RingOptions& options) {
  auto ring = testing::create_ring(options);
  REQUIRE_MESSAGE(ring.ok(), ring.error().message);
  return std::move(ring.value());
}

}  // namespace

TEST_CASE("the counter counts every allocation function this build can count") {
  struct alignas(64) Wide {
    char bytes[64];
  };
  CHECK(allocations_in([] {
          g_sink = new int(5);
          delete static_cast<int*>(g_sink);
        }) == 1);
  CHECK(allocations_in([] {
          g_sink = new int[4];
          delete[] static_cast<int*>(g_sink);
        }) == 1);
  CHECK(allocations_in([] {
          g_sink = new (std::nothrow) int(6);
          delete static_cast<int*>(g_sink);
        }) == 1);
  CHECK(allocations_in([] {
          g_sink = new Wide;
          delete static_cast<Wide*>(g_sink);
        }) == 1);
  CHECK(allocations_in([] {
          g_sink = new Wide[2];
          delete[] static_cast<Wide*>(g_sink);
        }) == 1);
  if (!kCountsMalloc) {
    std::printf("note: under a sanitizer only operator new is counted, not malloc and its kin\n");
    return;
  }
  CHECK(allocations_in([] {
          g_sink = std::malloc(10);
          std::free(g_sink);
        }) == 1);
  CHECK(allocations_in([] {
          g_sink = std::calloc(3, 10);
          std::free(g_sink);
        }) == 1);
  CHECK(allocations_in([] {
          g_sink = std::realloc(nullptr, 10);
          g_sink = std::realloc(g_sink, 4000);
          std::free(g_sink);
        }) == 2);
  CHECK(allocations_in([] {
          g_sink = std::aligned_alloc(64, 128);
          std::free(g_sink);
        }) == 1);
  CHECK(allocations_in([] {
          void* p = nullptr;
          if (::posix_memalign(&p, 64, 100) == 0) g_sink = p;
          std::free(p);
        }) == 1);
  CHECK(allocations_in([] {
          g_sink = ::memalign(64, 100);
          std::free(g_sink);
        }) == 1);
  CHECK(allocations_in([] {
          g_sink = ::valloc(100);
          std::free(g_sink);
        }) == 1);
  // And what glibc allocates inside itself goes through the same entry points.
  CHECK(allocations_in([] {
          char* copy = ::strdup("a string");
          g_sink = copy;
          std::free(copy);
        }) == 1);
}

TEST_CASE("submit and reap 100000 NOPs in batches without one heap allocation") {
  for (bool registered : {true, false}) {
    CAPTURE(registered);
    RingOptions options;
    options.entries = 64;
    options.register_ring_fd = registered;
    Ring ring = make_ring(options);
    std::uint64_t sum = 0;
    unsigned reaped = 0;
    const long allocations = allocations_in([&] {
      for (unsigned round = 0; round < 100000 / 32; ++round) {
        for (unsigned i = 0; i < 32; ++i) {
          Sqe* sqe = ring.get_sqe();
          if (!sqe) break;
          prep_nop(*sqe).set_user_data(i);
        }
        if (ring.submit_and_wait(32) < 0) break;
        // submit_and_wait may return before all 32 are there (issue 11): wait for the rest.
        if (ring.cq_ready() < 32 && ring.wait_cqes(32) != 0) break;
        reaped += ring.for_each_cqe([&](const Cqe& cqe) { sum += cqe.data(); });
      }
    });
    CHECK(allocations == 0);
    CHECK(reaped == 100000 / 32 * 32);
    CHECK(sum == (100000 / 32) * (31 * 32 / 2));
  }
}

TEST_CASE("peek_cqe / cqe_seen and timed waits allocate nothing") {
  URING_REQUIRE(testing::missing_feature(abi::IORING_FEAT_EXT_ARG));
  Ring ring = make_ring(RingOptions{.entries = 16});
  std::uint64_t sum = 0;
  unsigned reaped = 0;
  unsigned timed_out = 0;
  unsigned failures = 0;
  const long allocations = allocations_in([&] {
    for (unsigned round = 0; round < 2000; ++round) {
      for (unsigned i = 0; i < 8; ++i) prep_nop(*ring.get_sqe()).set_user_data(round * 8 + i);
      WaitOptions wait;
      wait.timeout = 5s;
      if (ring.submit_and_wait(8, wait) != 8) ++failures;  // submits the 8, then waits with a timeout
      while (Cqe* cqe = ring.peek_cqe()) {
        sum += cqe->data();
        ++reaped;
        ring.cqe_seen(cqe);
      }
      if (round % 100 == 0) {
        // A timed wait that expires, and wait_cqe's timed path.
        WaitOptions quick;
        quick.timeout = 1ms;
        if (ring.wait_cqes(1, quick) == -ETIME) ++timed_out;
        int error = 0;
        if (ring.wait_cqe(&error, quick) == nullptr && error == -ETIME) ++timed_out;
      }
    }
  });
  CHECK(allocations == 0);
  CHECK(failures == 0);
  CHECK(reaped == 2000 * 8);
  CHECK(sum == std::uint64_t{2000 * 8} * (2000 * 8 - 1) / 2);
  CHECK(timed_out == 2 * 20);
}

TEST_CASE("an SQPOLL ring's submit and reap allocate nothing") {
  URING_REQUIRE(testing::missing_setup_flags(abi::IORING_SETUP_SQPOLL));
  RingOptions options;
  options.entries = 32;
  options.sqpoll = true;
  options.sqpoll_idle_ms = 10;  // let it fall asleep now and then: the wake-up path is counted too
  Ring ring = make_ring(options);
  std::uint64_t sum = 0;
  unsigned reaped = 0;
  unsigned failures = 0;
  const long allocations = allocations_in([&] {
    for (unsigned round = 0; round < 2000; ++round) {
      for (unsigned i = 0; i < 16; ++i) prep_nop(*ring.get_sqe()).set_user_data(i);
      if (ring.submit() != 16) ++failures;
      if (ring.wait_cqes(16) != 0) ++failures;
      reaped += ring.for_each_cqe([&](const Cqe& cqe) { sum += cqe.data(); });
      if (round % 500 == 0) ::usleep(20000);  // past the idle time: the poller sleeps
    }
  });
  CHECK(allocations == 0);
  CHECK(failures == 0);
  CHECK(reaped == 2000 * 16);
  CHECK(sum == 2000 * (15 * 16 / 2));
}

TEST_CASE("BufferGroup take / recycle on a buffer ring allocate nothing") {
  URING_REQUIRE(testing::missing_register_op(abi::IORING_REGISTER_PBUF_RING));
  URING_REQUIRE(testing::missing_op(abi::IORING_OP_RECV));
  Ring ring = make_ring(RingOptions{.entries = 16});
  BufferGroupOptions group_options;
  group_options.group_id = 3;
  group_options.buffer_count = 4;
  group_options.buffer_size = 64;
  auto group = BufferGroup::create_ring(ring, group_options);
  REQUIRE_MESSAGE(group.ok(), group.error().message);
  REQUIRE(group->kind() == BufferGroup::Kind::ring);
  int fds[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0);

  constexpr unsigned kRounds = 2000;
  unsigned matched = 0;
  unsigned failures = 0;
  std::uint32_t ids_seen = 0;  // bit per buffer id: recycled buffers come round again
  const long allocations = allocations_in([&] {
    char message[16];
    for (unsigned round = 0; round < kRounds; ++round) {
      std::memset(message, 'a' + static_cast<int>(round % 26), sizeof message);
      std::memcpy(message, &round, sizeof round);
      if (::write(fds[1], message, sizeof message) != static_cast<ssize_t>(sizeof message)) ++failures;
      prep_recv_buffer_select(*ring.get_sqe(), fds[0], sizeof message, 0, group_options.group_id)
          .set_user_data(round);
      if (ring.submit_and_wait(1, WaitOptions{}) != 1) {
        ++failures;
        break;
      }
      Cqe* cqe = ring.peek_cqe();
      if (!cqe) {
        ++failures;
        break;
      }
      const BufferView view = group->take(*cqe);
      if (view.ok() && cqe->data() == round && view.size == sizeof message &&
          std::memcmp(view.bytes().data(), message, sizeof message) == 0) {
        ++matched;
        ids_seen |= 1u << view.id;
      }
      if (group->recycle(view) != BufferError::none) ++failures;
      ring.cqe_seen(cqe);
    }
  });
  CHECK(allocations == 0);
  CHECK(failures == 0);
  CHECK(matched == kRounds);
  CHECK(ids_seen == 0xF);  // all four buffers served, so recycling put them back
  CHECK(group->kernel_owned_count() == 4);
  ::close(fds[0]);
  ::close(fds[1]);
}
