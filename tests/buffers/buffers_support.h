// Helpers shared by the buffer-group tests: a ring, a bounded wait for one
// CQE, sockets that close themselves.
#pragma once

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tests/support/kernel_features.h"
#include "tests/support/test_support.h"
#include "uring/buffer_group.h"
#include "uring/prep_file.h"
#include "uring/uring.h"

namespace uring::testing {

inline Ring make_ring(unsigned entries = 64, bool sqpoll = false) {
  RingOptions options;
  options.entries = entries;
  options.sqpoll = sqpoll;
  auto ring = testing::create_ring(options);
  REQUIRE_MESSAGE(ring.ok(), ring.error().message);
  return std::move(ring.value());
}

// Submits what is queued, waits (at most 5 s) for a CQE, copies it and marks it seen.
inline Cqe next_cqe(Ring& ring) {
  Cqe* cqe = ring.peek_cqe();
  if (!cqe) {
    WaitOptions wait;
    wait.timeout = std::chrono::seconds(5);
    REQUIRE(ring.submit_and_wait(1, wait) >= 0);
    cqe = ring.peek_cqe();
  }
  REQUIRE(cqe != nullptr);
  Cqe copy = *cqe;
  ring.cqe_seen(cqe);
  return copy;
}

// A file in a temporary directory holding `contents`, open for reading;
// closed (and removed) on destruction.
struct DataFile {
  explicit DataFile(std::vector<unsigned char> contents) : bytes(std::move(contents)) {
    path = dir.path() + "/data";
    const int out = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    REQUIRE(out >= 0);
    REQUIRE(::write(out, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()));
    ::close(out);
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    REQUIRE(fd >= 0);
  }
  ~DataFile() { ::close(fd); }
  DataFile(const DataFile&) = delete;
  DataFile& operator=(const DataFile&) = delete;
  TempDir dir;
  std::string path;
  std::vector<unsigned char> bytes;
  int fd = -1;
};

// Whether a CQE is a legacy group's own PROVIDE/REMOVE_BUFFERS that succeeded
// (default internal_user_data: 0xB0F5 in the top 16 bits).
inline bool is_group_success(const Cqe& cqe) { return (cqe.user_data >> 48) == 0xB0F5 && cqe.res >= 0; }

// One buffer-select read of `len` bytes at `offset` from `group`; returns its
// CQE (user_data = offset), passing over legacy groups' successful PROVIDEs.
inline Cqe read_one(Ring& ring, int fd, unsigned len, std::uint64_t offset, std::uint16_t group) {
  prep_read_buffer_select(next_sqe(ring), fd, len, offset, group).set_user_data(offset);
  for (;;) {
    const Cqe cqe = reap(ring, 1)[0];
    if (!is_group_success(cqe)) return cqe;
  }
}

// A connected AF_UNIX socket pair of `type`, closed on destruction.
struct SocketPair {
  explicit SocketPair(int type = SOCK_STREAM) {
    int fds[2];
    REQUIRE(::socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, fds) == 0);
    reader = fds[0];
    writer = fds[1];
  }
  ~SocketPair() {
    if (reader >= 0) ::close(reader);
    if (writer >= 0) ::close(writer);
  }
  SocketPair(const SocketPair&) = delete;
  SocketPair& operator=(const SocketPair&) = delete;
  int reader = -1;
  int writer = -1;
};

inline BufferGroupOptions group_options(std::uint16_t group_id, unsigned count, unsigned size) {
  BufferGroupOptions options;
  options.group_id = group_id;
  options.buffer_count = count;
  options.buffer_size = size;
  return options;
}

// A CQE as the kernel would post it for buffer `id` (for the ownership logic).
inline Cqe fake_buffer_cqe(std::uint16_t id, std::int32_t result, std::uint32_t extra_flags = 0) {
  Cqe cqe{};
  cqe.res = result;
  cqe.flags = abi::IORING_CQE_F_BUFFER | extra_flags | static_cast<std::uint32_t>(id) << abi::IORING_CQE_BUFFER_SHIFT;
  return cqe;
}

}  // namespace uring::testing
