// The liburing #109 scenario: one ring per thread, every ring after the
// first set up with ATTACH_WQ to the first; each thread reads its part of a
// file through its own ring, some reads forced to io-wq. Every read must
// complete exactly once, with the right bytes. Run without SQPOLL (what
// attaching shares there: nothing but the fd check) and with SQPOLL (all
// rings on the first ring's one poller thread).
#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "tests/register/register_support.h"
#include "uring/prep_file.h"

using namespace uring;
using namespace uring::testing;

namespace {

constexpr unsigned kThreads = 4;
constexpr unsigned kChunksPerThread = 48;
constexpr unsigned kChunkBytes = 4096;
constexpr unsigned kChunks = (kThreads + 1) * kChunksPerThread;  // the first ring reads a part too

unsigned char expected_byte(std::size_t offset) {
  return static_cast<unsigned char>((offset * 131 + offset / kChunkBytes * 7) & 0xff);
}

// What one thread saw: per chunk, how many completions and whether the
// bytes were right; plus anything that went wrong outside a CQE.
struct Outcome {
  std::array<int, kChunks> completions{};
  std::array<bool, kChunks> bytes_ok{};
  std::string failure;
};

// Reads chunks [first_chunk, first_chunk + kChunksPerThread) of `fd`
// through `ring`, 8 in flight, every third one forced to io-wq.
void read_chunks(Ring& ring, int fd, unsigned first_chunk, Outcome& outcome) {
  std::vector<unsigned char> buffers(std::size_t{kChunksPerThread} * kChunkBytes);
  unsigned submitted = 0, completed = 0;
  while (completed < kChunksPerThread) {
    while (submitted < kChunksPerThread && submitted - completed < 8) {
      Sqe* sqe = ring.get_sqe();
      if (!sqe) break;
      const unsigned chunk = first_chunk + submitted;
      prep_read(*sqe, fd, buffers.data() + std::size_t{submitted} * kChunkBytes, kChunkBytes,
                std::uint64_t{chunk} * kChunkBytes)
          .set_user_data(chunk);
      if (submitted % 3 == 0) sqe->force_async();
      ++submitted;
    }
    if (ring.submit() < 0) {
      outcome.failure = "submit failed";
      return;
    }
    if (ring.wait_cqes(1, WaitOptions{.timeout = std::chrono::seconds(10)}) != 0) {
      outcome.failure = "no completion within 10 s";
      return;
    }
    ring.for_each_cqe([&](const Cqe& cqe) {
      ++completed;
      const std::uint64_t chunk = cqe.data();
      if (chunk < first_chunk || chunk >= first_chunk + kChunksPerThread) {
        outcome.failure = "a CQE with a foreign user_data " + std::to_string(chunk);
        return;
      }
      ++outcome.completions[chunk];
      bool ok = cqe.result() == static_cast<int>(kChunkBytes);
      const unsigned char* data = buffers.data() + (chunk - first_chunk) * kChunkBytes;
      for (unsigned i = 0; ok && i < kChunkBytes; ++i) ok = data[i] == expected_byte(chunk * kChunkBytes + i);
      outcome.bytes_ok[chunk] = ok;
    });
  }
}

}  // namespace

namespace {

// The #109 run: a file of kChunks chunks, a first ring, then kThreads
// threads each with a ring attached to it, every ring reading its part.
void run_attached_readers(bool sqpoll) {
  TempDir dir;
  const std::string path = dir.path() + "/data";
  {
    std::vector<unsigned char> content(std::size_t{kChunks} * kChunkBytes);
    for (std::size_t i = 0; i < content.size(); ++i) content[i] = expected_byte(i);
    const int fd = ::open(path.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
    REQUIRE(fd >= 0);
    REQUIRE(::write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size()));
    ::close(fd);
  }
  const int fds_before = open_fd_count();
  {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    REQUIRE(fd >= 0);
    RingOptions first_options;
    first_options.entries = 32;
    first_options.sqpoll = sqpoll;
    first_options.sqpoll_idle_ms = 20;
    auto first = testing::create_ring(first_options);
    REQUIRE_MESSAGE(first.ok(), first.error().message);

    std::vector<Outcome> outcomes(kThreads + 1);
    std::atomic<unsigned> attached{0};
    std::vector<std::thread> threads;
    for (unsigned t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        RingOptions options = first_options;
        options.attach_wq = &*first;  // the #109 step: ATTACH_WQ with wq_fd = the first ring's fd
        auto ring = testing::create_ring(options);
        if (!ring) {
          outcomes[t].failure = ring.error().message;
          return;
        }
        if (ring->setup_flags() & abi::IORING_SETUP_ATTACH_WQ) ++attached;
        read_chunks(*ring, fd, t * kChunksPerThread, outcomes[t]);
      });
    }
    read_chunks(*first, fd, kThreads * kChunksPerThread, outcomes[kThreads]);  // the first ring works too
    for (std::thread& thread : threads) thread.join();

    CHECK(attached == kThreads);
    for (unsigned t = 0; t <= kThreads; ++t) {
      INFO("thread ", t);
      CHECK(outcomes[t].failure.empty());
      INFO(outcomes[t].failure);
      for (unsigned chunk = t * kChunksPerThread; chunk < (t + 1) * kChunksPerThread; ++chunk) {
        INFO("chunk ", chunk);
        CHECK(outcomes[t].completions[chunk] == 1);
        CHECK(outcomes[t].bytes_ok[chunk]);
      }
    }
    if (sqpoll) {
      // All five rings on one poller. (A worker the poller just cloned
      // carries its name for a moment, hence the wait.)
      CHECK(eventually([] { return count_threads("iou-sqp-") == 1; }, std::chrono::seconds(10)));
    }
    ::close(fd);
  }
  CHECK(open_fd_count() == fds_before);
}

}  // namespace

TEST_CASE("#109: four threads, each with a ring attached to a first ring, read a file: every read once, right bytes") {
  URING_REQUIRE(missing_setup_flags(abi::IORING_SETUP_ATTACH_WQ));
  run_attached_readers(/*sqpoll=*/false);
}

TEST_CASE("#109 with SQPOLL: the five rings share the first ring's poller; every read once, right bytes") {
  URING_REQUIRE(missing_sqpoll(abi::IORING_SETUP_ATTACH_WQ));
  run_attached_readers(/*sqpoll=*/true);
}
