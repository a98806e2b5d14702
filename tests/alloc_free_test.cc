// The submit/reap path allocates nothing: operator new and malloc are
// counted around a loop of get_sqe / prep / submit_and_wait / for_each_cqe.
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <new>

#include "tests/support/test_support.h"
#include "uring/uring.h"

namespace {
thread_local bool g_counting = false;
thread_local long g_allocations = 0;
void note_allocation() {
  if (g_counting) ++g_allocations;
}
}  // namespace

#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
// glibc's malloc is interposable: count direct malloc calls too (sanitizers
// replace malloc themselves, so there only operator new is counted).
extern "C" void* __libc_malloc(std::size_t);
extern "C" void* malloc(std::size_t size) {
  note_allocation();
  return __libc_malloc(size);
}
static void* uncounted_malloc(std::size_t size) { return __libc_malloc(size); }
constexpr bool kCountsMalloc = true;
#else
static void* uncounted_malloc(std::size_t size) { return std::malloc(size); }
constexpr bool kCountsMalloc = false;
#endif

// Replacing operator new counts every C++ allocation of this program.
void* operator new(std::size_t size) {
  note_allocation();
  if (void* p = uncounted_malloc(size ? size : 1)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size) { return operator new(size); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

using namespace uring;

TEST_CASE("submit and reap 100000 NOPs in batches without one heap allocation") {
  if (!kCountsMalloc) std::printf("note: under a sanitizer only operator new is counted, not malloc\n");
  for (bool registered : {true, false}) {
    CAPTURE(registered);
    RingOptions options;
    options.entries = 64;
    options.register_ring_fd = registered;
    auto ring = testing::create_ring(options);
    REQUIRE(ring.ok());
    std::uint64_t sum = 0;
    unsigned reaped = 0;
    g_allocations = 0;
    g_counting = true;
    for (unsigned round = 0; round < 100000 / 32; ++round) {
      for (unsigned i = 0; i < 32; ++i) {
        Sqe* sqe = ring->get_sqe();
        if (!sqe) break;
        prep_nop(*sqe).set_user_data(i);
      }
      if (ring->submit_and_wait(32) < 0) break;
      reaped += ring->for_each_cqe([&](const Cqe& cqe) { sum += cqe.data(); });
    }
    g_counting = false;
    CHECK(g_allocations == 0);
    CHECK(reaped == 100000 / 32 * 32);
    CHECK(sum == (100000 / 32) * (31 * 32 / 2));
  }
}

TEST_CASE("the counter does count: one operator new is seen") {
  g_allocations = 0;
  g_counting = true;
  auto* p = new int(5);
  g_counting = false;
  delete p;
  CHECK(g_allocations == 1);
}
