// Helpers shared by the tests of tests/files: bounded submit-and-reap, one-shot
// requests, files with known bytes, checksums.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "tests/support/test_support.h"
#include "uring/prep_file.h"
#include "uring/registered_files.h"
#include "uring/uring.h"

namespace uring::files_test {

using namespace std::chrono_literals;

// A CQE copied out of the ring.
struct Completion {
  std::uint64_t data = 0;
  std::int32_t res = 0;
  std::uint32_t flags = 0;
  bool more() const { return (flags & abi::IORING_CQE_F_MORE) != 0; }
  bool has_buffer() const { return (flags & abi::IORING_CQE_F_BUFFER) != 0; }
  std::uint16_t buffer_id() const {
    return static_cast<std::uint16_t>(flags >> abi::IORING_CQE_BUFFER_SHIFT);
  }
};

inline Ring make_ring(unsigned entries = 64) {
  RingOptions options;
  options.entries = entries;
  auto ring = testing::create_ring(options);
  REQUIRE_MESSAGE(ring.ok(), (ring.ok() ? std::string() : ring.error().message));
  return std::move(ring.value());
}

// Submits everything queued (again, if the kernel stopped early at a failing
// SQE) and reaps until at least `count` CQEs came back. Every wait is bounded.
inline std::vector<Completion> submit_and_collect(Ring& ring, unsigned count,
                                                  std::chrono::milliseconds timeout = 5000ms) {
  for (int round = 0; ring.sq_pending() > 0 && round < 1000; ++round) {
    const int submitted = ring.submit();
    REQUIRE_MESSAGE(submitted >= 0, "submit: " << submitted);
    if (submitted == 0) break;
  }
  std::vector<Completion> out;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    ring.for_each_cqe([&](const Cqe& cqe) { out.push_back({cqe.data(), cqe.result(), cqe.flags}); });
    if (out.size() >= count) break;
    const auto left = deadline - std::chrono::steady_clock::now();
    REQUIRE_MESSAGE(left > 0ns, "only " << out.size() << " of " << count << " CQEs within the timeout");
    WaitOptions options;
    options.timeout = left;
    const int waited = ring.wait_cqes(1, options);
    REQUIRE_MESSAGE((waited == 0 || waited == -ETIME), "wait_cqes: " << waited);
  }
  return out;
}

// The CQEs that come before a marker NOP submitted now, i.e. everything
// already due: nothing, when no request should have completed. This asks the
// kernel for its order instead of waiting some milliseconds for CQEs that
// should not come (such a wait proves little on a loaded machine). Not for use
// behind an IOSQE_IO_DRAIN request: the marker would wait for it too.
inline std::vector<Completion> collect_stray(Ring& ring) {
  constexpr std::uint64_t kMarker = 0x5747a7c0de;
  Sqe* sqe = ring.get_sqe();
  REQUIRE(sqe != nullptr);
  prep_nop(*sqe).set_user_data(kMarker);
  std::vector<Completion> stray;
  bool marker_seen = false;
  for (const Completion& c : submit_and_collect(ring, 1)) {
    if (c.data == kMarker && !marker_seen) {
      CHECK(c.res == 0);
      marker_seen = true;
    } else {
      stray.push_back(c);  // before the marker, or in the same batch after it
    }
  }
  for (int round = 0; !marker_seen && round < 1000; ++round) {
    for (const Completion& c : submit_and_collect(ring, 1)) {
      if (c.data == kMarker && !marker_seen) {
        marker_seen = true;
      } else {
        stray.push_back(c);
      }
    }
  }
  REQUIRE(marker_seen);
  return stray;
}

// Builds one request with `fill`, tags it, submits it and returns its result.
template <class Fill>
int run_one(Ring& ring, Fill&& fill, std::uint64_t user_data = 0x600d) {
  Sqe* sqe = ring.get_sqe();
  REQUIRE(sqe != nullptr);
  fill(*sqe);
  sqe->set_user_data(user_data);
  const std::vector<Completion> done = submit_and_collect(ring, 1);
  REQUIRE(done.size() == 1);
  CHECK(done[0].data == user_data);
  return done[0].res;
}

// The probe of this ring; tests skip with its reason when an op is missing.
inline Probe probe_of(const Ring& ring) {
  auto probe = Probe::query(ring);
  REQUIRE_MESSAGE(probe.ok(), (probe.ok() ? std::string() : probe.error().message));
  return probe.value();
}

#define URING_REQUIRE_OP(probe, op)                                        \
  do {                                                                     \
    if (!(probe).supports(op)) URING_SKIP((probe).unsupported_reason(op)); \
  } while (0)

inline std::vector<unsigned char> random_bytes(std::size_t size, std::uint64_t seed) {
  std::mt19937_64 generator(seed);
  std::vector<unsigned char> bytes(size);
  for (std::size_t i = 0; i < size; i += 8) {
    const std::uint64_t word = generator();
    std::memcpy(bytes.data() + i, &word, std::min<std::size_t>(8, size - i));
  }
  return bytes;
}

// FNV-1a, 64 bits.
inline std::uint64_t checksum(const unsigned char* data, std::size_t size) {
  std::uint64_t hash = 0xcbf29ce484222325ull;
  for (std::size_t i = 0; i < size; ++i) hash = (hash ^ data[i]) * 0x100000001b3ull;
  return hash;
}
inline std::uint64_t checksum(const std::vector<unsigned char>& bytes) {
  return checksum(bytes.data(), bytes.size());
}

// Writes `bytes` to a new file (with plain system calls, independent of the
// library) and returns its path.
inline std::string make_file(const testing::TempDir& dir, const std::string& name, const void* bytes,
                             std::size_t size) {
  const std::string path = dir.path() + "/" + name;
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  REQUIRE(fd >= 0);
  const auto* p = static_cast<const unsigned char*>(bytes);
  std::size_t done = 0;
  while (done < size) {
    const ssize_t n = ::write(fd, p + done, size - done);
    REQUIRE(n > 0);
    done += static_cast<std::size_t>(n);
  }
  ::close(fd);
  return path;
}
inline std::string make_file(const testing::TempDir& dir, const std::string& name, const std::string& text) {
  return make_file(dir, name, text.data(), text.size());
}

// The whole content of a file, read with plain system calls.
inline std::string file_content(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  REQUIRE(fd >= 0);
  std::string out;
  char chunk[4096];
  while (true) {
    const ssize_t n = ::read(fd, chunk, sizeof chunk);
    REQUIRE(n >= 0);
    if (n == 0) break;
    out.append(chunk, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

inline bool path_exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

// A descriptor closed at scope exit.
class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() { reset(); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }
  int release() {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_;
};

}  // namespace uring::files_test
