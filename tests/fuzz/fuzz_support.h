// Shared by the fuzz targets in tests/fuzz/: the oracle's check macro and a
// reader that takes typed values off the front of the fuzz input.
//
// Each target defines LLVMFuzzerTestOneInput. Built with clang's
// -fsanitize=fuzzer it is a libFuzzer target (tests/fuzz/run.sh); built
// with replay_main.cc it is a plain program that runs every file of the
// committed corpus once (the //tests/fuzz:*_corpus_test Bazel targets).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

// A broken invariant: say which, where, and abort (libFuzzer saves the input
// as crash-<sha1> and the replay test reports the file it was running).
#define FUZZ_CHECK(condition)                                                                  \
  do {                                                                                         \
    if (!(condition)) {                                                                        \
      std::fprintf(stderr, "%s:%d: oracle: invariant broken: %s\n", __FILE__, __LINE__, #condition); \
      std::abort();                                                                            \
    }                                                                                          \
  } while (0)

namespace uring_fuzz {

// Values read from the input, front to back; past the end every read gives 0.
class Input {
 public:
  Input(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}

  bool empty() const { return size_ == 0; }
  std::size_t left() const { return size_; }

  std::uint8_t u8() { return static_cast<std::uint8_t>(take(1)); }
  std::uint16_t u16() { return static_cast<std::uint16_t>(take(2)); }
  std::uint32_t u32() { return static_cast<std::uint32_t>(take(4)); }
  std::uint64_t u64() { return take(8); }
  bool flag() { return (u8() & 1) != 0; }

  // Up to `n` bytes, as they are (fewer when the input runs out).
  std::size_t bytes(void* out, std::size_t n) {
    if (n > size_) n = size_;
    if (n) std::memcpy(out, data_, n);
    data_ += n;
    size_ -= n;
    return n;
  }
  // The rest of the input.
  const std::uint8_t* rest(std::size_t* n) {
    *n = size_;
    const std::uint8_t* at = data_;
    data_ += size_;
    size_ = 0;
    return at;
  }

 private:
  std::uint64_t take(std::size_t n) {
    std::uint64_t value = 0;
    for (std::size_t i = 0; i < n && size_ > 0; ++i) {
      value |= static_cast<std::uint64_t>(*data_) << (8 * i);
      ++data_;
      --size_;
    }
    return value;
  }

  const std::uint8_t* data_;
  std::size_t size_;
};

}  // namespace uring_fuzz
