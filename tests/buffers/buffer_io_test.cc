// Buffer selection with real reads: the seed's semantics one by one (flag,
// id, -ENOBUFS when empty, a recycled buffer is reused), a whole file read
// through each kind of group, and multishot reads from a pipe.
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "tests/buffers/buffers_support.h"
#include "uring/prep_file.h"

using namespace uring;
using namespace uring::testing;

namespace {

std::uint64_t fnv1a(const unsigned char* data, std::size_t size) {
  std::uint64_t hash = 1469598103934665603ull;
  for (std::size_t i = 0; i < size; ++i) hash = (hash ^ data[i]) * 1099511628211ull;
  return hash;
}

std::vector<unsigned char> random_bytes(std::size_t size, unsigned seed) {
  std::vector<unsigned char> bytes(size);
  std::mt19937 random(seed);
  for (auto& byte : bytes) byte = static_cast<unsigned char>(random());
  return bytes;
}
struct RandomFile : DataFile {
  explicit RandomFile(std::size_t size, unsigned seed = 1) : DataFile(random_bytes(size, seed)) {}
};

// A buffer ring registered by hand, for the raw semantics: one entry per
// (address, length, id) given.
struct RawBufferRing {
  RawBufferRing(Ring& ring, std::uint16_t group) : ring_(ring), group_(group) {
    memory_ = ::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    REQUIRE(memory_ != MAP_FAILED);
    abi::io_uring_buf_reg reg{};
    reg.ring_addr = reinterpret_cast<std::uintptr_t>(memory_);
    reg.ring_entries = 8;
    reg.bgid = group;
    registered = ring.register_raw(abi::IORING_REGISTER_PBUF_RING, &reg, 1) == 0;
  }
  ~RawBufferRing() {
    abi::io_uring_buf_reg reg{};
    reg.bgid = group_;
    if (registered) (void)ring_.register_raw(abi::IORING_UNREGISTER_PBUF_RING, &reg, 1);
    ::munmap(memory_, 4096);
  }
  void add(void* address, unsigned len, std::uint16_t id) {
    auto* entry = static_cast<abi::io_uring_buf*>(memory_) + (tail_ & 7);
    entry->addr = reinterpret_cast<std::uintptr_t>(address);
    entry->len = len;
    entry->bid = id;
    ++tail_;
    barrier::store_release(&static_cast<abi::io_uring_buf_ring*>(memory_)->tail, tail_);
  }
  Ring& ring_;
  std::uint16_t group_;
  void* memory_;
  std::uint16_t tail_ = 0;
  bool registered = false;
};

}  // namespace

TEST_CASE("seed semantics, raw: F_BUFFER, the id in the upper 16 bits, -ENOBUFS, gone until given again") {
  URING_REQUIRE(missing_op(abi::IORING_OP_PROVIDE_BUFFERS));
  URING_REQUIRE(missing_register_op(abi::IORING_REGISTER_PBUF_RING));
  Ring ring = make_ring();
  RandomFile file(4096);
  for (bool use_ring : {false, true}) {
    CAPTURE(use_ring);
    const std::uint16_t group = use_ring ? 41 : 40;
    std::vector<unsigned char> memory(2 * 300, 0);
    std::unique_ptr<RawBufferRing> raw;
    if (use_ring) {
      raw = std::make_unique<RawBufferRing>(ring, group);
      REQUIRE(raw->registered);
      raw->add(memory.data(), 300, 0xBEEF);
    } else {
      prep_provide_buffers(next_sqe(ring), memory.data(), 300, 1, group, 0xBEEF);
      REQUIRE(reap(ring, 1)[0].result() == 0);
    }
    // 1. The CQE says a buffer was picked, and which: id 0xBEEF, from flags >> 16.
    Cqe cqe = read_one(ring, file.fd, 200, 1000, group);
    REQUIRE(cqe.result() == 200);
    CHECK((cqe.flags & abi::IORING_CQE_F_BUFFER) != 0);
    CHECK((cqe.flags >> abi::IORING_CQE_BUFFER_SHIFT) == 0xBEEF);
    CHECK(cqe.buffer_id() == 0xBEEF);
    CHECK(std::memcmp(memory.data(), file.bytes.data() + 1000, 200) == 0);  // the bytes are in that buffer
    // 2. That buffer is gone from the pool: the group is empty now.
    Cqe empty = read_one(ring, file.fd, 200, 0, group);
    CHECK(empty.result() == -ENOBUFS);
    CHECK_FALSE(empty.has_buffer());
    // 3. Given again, it is picked again, and new bytes land in it.
    if (use_ring) {
      raw->add(memory.data(), 300, 0xBEEF);
    } else {
      prep_provide_buffers(next_sqe(ring), memory.data(), 300, 1, group, 0xBEEF);
      REQUIRE(reap(ring, 1)[0].result() == 0);
    }
    cqe = read_one(ring, file.fd, 0, 2000, group);  // len 0: as much as the buffer holds
    REQUIRE(cqe.result() == 300);
    CHECK(cqe.buffer_id() == 0xBEEF);
    CHECK(std::memcmp(memory.data(), file.bytes.data() + 2000, 300) == 0);
  }
  // A group nobody created is an empty group.
  CHECK(read_one(ring, file.fd, 10, 0, 4242).result() == -ENOBUFS);
}

TEST_CASE("seed semantics through BufferGroup, both kinds: flag, id, -ENOBUFS, recycled buffer reused") {
  Ring ring = make_ring();
  RandomFile file(8192);
  for (bool use_ring : {false, true}) {
    CAPTURE(use_ring);
    const std::uint16_t gid = use_ring ? 43 : 42;
    auto made = use_ring ? BufferGroup::create_ring(ring, group_options(gid, 3, 512))
                         : BufferGroup::create_provided(ring, group_options(gid, 3, 512));
    REQUIRE_MESSAGE(made.ok(), made.error().message);
    BufferGroup& group = made.value();
    std::map<std::uint16_t, BufferView> held;
    for (unsigned i = 0; i < 3; ++i) {
      Cqe cqe = read_one(ring, file.fd, 512, i * 512, gid);
      REQUIRE(cqe.result() == 512);
      CHECK(cqe.has_buffer());
      BufferView view = group.take(cqe);
      REQUIRE(view.ok());
      CHECK(view.id == cqe.buffer_id());
      CHECK(view.id < 3);
      CHECK(std::memcmp(view.data, file.bytes.data() + i * 512, 512) == 0);
      CHECK(held.emplace(view.id, view).second);  // a different buffer each time
    }
    Cqe empty = read_one(ring, file.fd, 512, 0, gid);
    CHECK(empty.result() == -ENOBUFS);
    CHECK(group.take(empty).error == BufferError::no_buffer);

    const std::uint16_t recycled = held.begin()->first;
    CHECK(group.recycle(held.begin()->second) == BufferError::none);
    Cqe again = read_one(ring, file.fd, 512, 4096, gid);  // the PROVIDE (legacy) goes in first
    REQUIRE(again.result() == 512);
    CHECK(again.buffer_id() == recycled);
    BufferView view = group.take(again);
    CHECK(view.data == group.buffer(recycled).data());
    CHECK(std::memcmp(view.data, file.bytes.data() + 4096, 512) == 0);
  }
}

TEST_CASE("a 1 MiB file read through 8 buffers, each kind of group: every byte in order") {
  Ring ring = make_ring(32);
  RandomFile file(1 << 20, 7);
  const std::uint64_t expected = fnv1a(file.bytes.data(), file.bytes.size());
  struct Config {
    const char* name;
    bool ring;
    RingMemory memory;
  };
  const Config configs[] = {{"legacy", false, RingMemory::library},
                            {"ring, library memory", true, RingMemory::library},
                            {"ring, kernel memory", true, RingMemory::kernel}};
  for (const Config& config : configs) {
    CAPTURE(std::string(config.name));
    BufferGroupOptions options = group_options(44, 8, 4096);
    options.ring_memory = config.memory;
    auto made = config.ring ? BufferGroup::create_ring(ring, options) : BufferGroup::create_provided(ring, options);
    REQUIRE_MESSAGE(made.ok(), made.error().message);
    BufferGroup& group = made.value();

    std::vector<unsigned char> out(file.bytes.size(), 0);
    std::uint64_t next_offset = 0;
    unsigned in_flight = 0, reads = 0;
    std::size_t done = 0;
    for (int round = 0; round < 100000 && done < out.size(); ++round) {
      // Keep up to 8 reads going: more would only meet -ENOBUFS.
      while (in_flight < 8 && next_offset < out.size()) {
        prep_read_buffer_select(next_sqe(ring), file.fd, 4096, next_offset, 44).set_user_data(next_offset);
        next_offset += 4096;
        ++in_flight;
      }
      REQUIRE(ring.submit() >= 0);
      Cqe cqe = next_cqe(ring);
      if (group.is_internal(cqe)) {  // a legacy recycle's PROVIDE_BUFFERS
        REQUIRE(group.handle_internal(cqe) == 0);
        continue;
      }
      --in_flight;
      ++reads;
      REQUIRE(cqe.result() == 4096);
      BufferView view = group.take(cqe);
      REQUIRE(view.ok());
      std::memcpy(out.data() + cqe.data(), view.data, view.size);
      done += view.size;
      REQUIRE(group.recycle(view) == BufferError::none);
    }
    CHECK(reads == 256);
    CHECK(done == out.size());
    CHECK(fnv1a(out.data(), out.size()) == expected);
    CHECK(out == file.bytes);
    CHECK(group.kernel_owned_count() == 8);
    REQUIRE(ring.submit() >= 0);
  }
}

TEST_CASE("READ_MULTISHOT from a pipe into a buffer ring: every chunk once, in order, with recycling") {
  URING_REQUIRE(missing_op(abi::IORING_OP_READ_MULTISHOT));
  Ring ring = make_ring();
  int pipe_fds[2];
  REQUIRE(::pipe2(pipe_fds, O_CLOEXEC | O_NONBLOCK) == 0);
  BufferGroupOptions options = group_options(45, 4, 256);
  options.no_buffers = NoBuffersPolicy::recycle_and_retry;
  auto group = BufferGroup::create_ring(ring, options);
  REQUIRE_MESSAGE(group.ok(), group.error().message);

  std::vector<unsigned char> sent, received;
  std::mt19937 random(3);
  auto arm = [&] { prep_read_multishot(next_sqe(ring), pipe_fds[0], 0, 0, 45).set_user_data(77); };
  arm();
  unsigned rearms = 0;
  bool closed = false;
  bool ended = false;
  for (int round = 0; round < 20000 && !ended; ++round) {
    bool wrote_now = false;
    if (sent.size() < 64 * 1024 && sent.size() - received.size() < 2048) {
      unsigned char chunk[300];
      const std::size_t n = 1 + random() % sizeof chunk;
      for (std::size_t i = 0; i < n; ++i) chunk[i] = static_cast<unsigned char>(random());
      const ssize_t wrote = ::write(pipe_fds[1], chunk, n);
      if (wrote > 0) {
        sent.insert(sent.end(), chunk, chunk + wrote);
        wrote_now = true;
      }
    } else if (sent.size() >= 64 * 1024 && !closed) {
      ::close(pipe_fds[1]);
      closed = true;
    }
    REQUIRE(ring.submit() >= 0);
    if (!wrote_now && ring.cq_ready() == 0) {
      WaitOptions wait;
      wait.timeout = std::chrono::seconds(5);
      REQUIRE(ring.wait_cqes(1, wait) == 0);
    }
    while (Cqe* peeked = ring.peek_cqe()) {
      Cqe cqe = *peeked;
      ring.cqe_seen(peeked);
      REQUIRE(cqe.data() == 77);
      if (cqe.result() > 0) {
        BufferView view = group->take(cqe);
        REQUIRE(view.ok());
        received.insert(received.end(), view.data, view.data + view.size);
        REQUIRE(group->recycle(view) == BufferError::none);
      }
      if (!cqe.more()) {
        if (cqe.result() == 0) {  // end of file: every byte is in
          ended = true;
          break;
        }
        // We recycle at once, so buffers are back by the time we look.
        REQUIRE(group->on_multishot_end(cqe) == NoBuffersAction::rearm_now);
        arm();
        ++rearms;
      }
    }
  }
  CHECK(ended);
  CHECK(closed);
  CHECK(received.size() == sent.size());
  CHECK(received == sent);
  CHECK(group->kernel_owned_count() == 4);
  MESSAGE("re-armed after -ENOBUFS " << rearms << " times");
  ::close(pipe_fds[0]);
}
