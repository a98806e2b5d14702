// READ, WRITE, READV, WRITEV and their registered-buffer forms against real
// files: the bytes that come back are the bytes that went in.
#include <fcntl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <memory>
#include <numeric>
#include <set>

#include "tests/files/files_test_util.h"
#include "tests/support/kernel_features.h"

#include "uring/prep_buffers.h"

using namespace uring;
using namespace uring::files_test;

namespace {

struct Free {
  void operator()(void* p) const { std::free(p); }
};
using Memory = std::unique_ptr<unsigned char, Free>;

Memory page_aligned(std::size_t size) {
  void* p = std::aligned_alloc(4096, (size + 4095) / 4096 * 4096);
  REQUIRE(p != nullptr);
  std::memset(p, 0, size);
  return Memory(static_cast<unsigned char*>(p));
}

}  // namespace

TEST_CASE("WRITE then READ at explicit offsets move exactly the bytes asked for") {
  Ring ring = make_ring();
  testing::TempDir dir;
  const std::string path = dir.path() + "/data";
  Fd fd(::open(path.c_str(), O_RDWR | O_CREAT, 0644));
  REQUIRE(fd.get() >= 0);

  const std::string a = "first chunk|", b = "second|", c = "third and last";
  CHECK(run_one(ring, [&](Sqe& s) { prep_write(s, fd.get(), b.data(), IoLength::at_most(b.size()), a.size()); }) ==
        static_cast<int>(b.size()));
  CHECK(run_one(ring, [&](Sqe& s) { prep_write(s, fd.get(), a.data(), IoLength::at_most(a.size()), 0); }) ==
        static_cast<int>(a.size()));
  CHECK(run_one(ring, [&](Sqe& s) { prep_write(s, fd.get(), c.data(), IoLength::at_most(c.size()), a.size() + b.size()); }) ==
        static_cast<int>(c.size()));
  CHECK(file_content(path) == a + b + c);

  char buf[64] = {};
  CHECK(run_one(ring, [&](Sqe& s) { prep_read(s, fd.get(), buf, 6, a.size()); }) == 6);
  CHECK(std::string(buf, 6) == "second");
  // Past the end: a short read, then 0.
  const std::uint64_t size = a.size() + b.size() + c.size();
  CHECK(run_one(ring, [&](Sqe& s) { prep_read(s, fd.get(), buf, sizeof buf, size - 4); }) == 4);
  CHECK(std::string(buf, 4) == "last");
  CHECK(run_one(ring, [&](Sqe& s) { prep_read(s, fd.get(), buf, sizeof buf, size); }) == 0);
}

TEST_CASE("kCurrentPosition reads and writes at the file position and advances it") {
  Ring ring = make_ring();
  if (!ring.has_feature(abi::IORING_FEAT_RW_CUR_POS)) {
    URING_SKIP("offset -1 = current position needs IORING_FEAT_RW_CUR_POS (Linux 5.6)");
  }
  testing::TempDir dir;
  const std::string path = dir.path() + "/pos";
  Fd fd(::open(path.c_str(), O_RDWR | O_CREAT, 0644));
  REQUIRE(fd.get() >= 0);
  CHECK(run_one(ring, [&](Sqe& s) { prep_write(s, fd.get(), "abc", 3, kCurrentPosition); }) == 3);
  CHECK(run_one(ring, [&](Sqe& s) { prep_write(s, fd.get(), "defg", 4, kCurrentPosition); }) == 4);
  CHECK(::lseek(fd.get(), 0, SEEK_CUR) == 7);
  CHECK(file_content(path) == "abcdefg");

  REQUIRE(::lseek(fd.get(), 1, SEEK_SET) == 1);
  char buf[8] = {};
  CHECK(run_one(ring, [&](Sqe& s) { prep_read(s, fd.get(), buf, 2, kCurrentPosition); }) == 2);
  CHECK(run_one(ring, [&](Sqe& s) { prep_read(s, fd.get(), buf + 2, 3, kCurrentPosition); }) == 3);
  CHECK(std::string(buf, 5) == "bcdef");
  CHECK(::lseek(fd.get(), 0, SEEK_CUR) == 6);
  // An explicit offset leaves the position alone.
  CHECK(run_one(ring, [&](Sqe& s) { prep_read(s, fd.get(), buf, 1, 0); }) == 1);
  CHECK(::lseek(fd.get(), 0, SEEK_CUR) == 6);
}

TEST_CASE("READV and WRITEV scatter and gather across iovecs of different sizes") {
  Ring ring = make_ring();
  testing::TempDir dir;
  const std::string path = dir.path() + "/vec";
  Fd fd(::open(path.c_str(), O_RDWR | O_CREAT, 0644));
  REQUIRE(fd.get() >= 0);

  char p1[] = "0123", p2[] = "abcdefghij", p3[] = "XY";
  iovec out[] = {{p1, 4}, {p2, 10}, {p3, 2}};
  CHECK(run_one(ring, [&](Sqe& s) { prep_writev(s, fd.get(), out, 3, 100); }) == 16);
  std::string content = file_content(path);
  REQUIRE(content.size() == 116);
  CHECK(content.substr(100) == "0123abcdefghijXY");
  CHECK(content.substr(0, 100) == std::string(100, '\0'));

  char q1[7] = {}, q2[9] = {};
  iovec in[] = {{q1, 7}, {q2, 9}};
  CHECK(run_one(ring, [&](Sqe& s) { prep_readv(s, fd.get(), in, 2, 100); }) == 16);
  CHECK(std::string(q1, 7) == "0123abc");
  CHECK(std::string(q2, 9) == "defghijXY");
}

TEST_CASE("rw_flags reach the kernel: RWF_APPEND appends, an unknown RWF bit is refused") {
  Ring ring = make_ring();
  testing::TempDir dir;
  const std::string path = make_file(dir, "append", "start");
  Fd fd(::open(path.c_str(), O_RDWR));
  REQUIRE(fd.get() >= 0);
  // Offset 0, but RWF_APPEND puts the data at the end.
  CHECK(run_one(ring, [&](Sqe& s) { prep_write(s, fd.get(), "-w", 2, 0, RWF_APPEND); }) == 2);
  char tail[] = "-v";
  iovec iov{tail, 2};
  CHECK(run_one(ring, [&](Sqe& s) { prep_writev(s, fd.get(), &iov, 1, 0, RWF_APPEND); }) == 2);
  CHECK(file_content(path) == "start-w-v");

  char buf[4];
  iovec in{buf, sizeof buf};
  CHECK(run_one(ring, [&](Sqe& s) { prep_readv(s, fd.get(), &in, 1, 0, 0x40000000); }) == -EOPNOTSUPP);
  CHECK(run_one(ring, [&](Sqe& s) { prep_read(s, fd.get(), buf, 4, 0, 0x40000000); }) == -EOPNOTSUPP);
}

TEST_CASE("a registered file (FixedFile) reads and writes like its fd") {
  Ring ring = make_ring();
  testing::TempDir dir;
  const std::string path = make_file(dir, "fixed", "registered file content");
  Fd fd(::open(path.c_str(), O_RDWR));
  REQUIRE(fd.get() >= 0);
  const int fds[] = {-1, fd.get()};
  auto table = FileTable::create(ring, fds);
  REQUIRE_MESSAGE(table.ok(), table.error().message);
  char buf[32] = {};
  CHECK(run_one(ring, [&](Sqe& s) { prep_read(s, FixedFile(1), buf, 10, 0); }) == 10);
  CHECK(std::string(buf, 10) == "registered");
  CHECK(run_one(ring, [&](Sqe& s) { prep_write(s, FixedFile(1), "REG", 3, 0); }) == 3);
  CHECK(file_content(path) == "REGistered file content");
}

TEST_CASE("READ_FIXED and WRITE_FIXED through a registered buffer") {
  Ring ring = make_ring();
  testing::TempDir dir;
  const std::string path = dir.path() + "/fixed-rw";
  Fd fd(::open(path.c_str(), O_RDWR | O_CREAT, 0644));
  REQUIRE(fd.get() >= 0);

  constexpr std::size_t kSize = 64 * 1024;
  Memory memory = page_aligned(kSize);
  const std::vector<unsigned char> data = random_bytes(8192, 11);
  std::memcpy(memory.get() + 1000, data.data(), data.size());
  Memory other = page_aligned(4096);
  const iovec regions[] = {{other.get(), 4096}, {memory.get(), kSize}};  // used: slot 1
  auto buffers = BufferTable::create(ring, regions);
  REQUIRE_MESSAGE(buffers.ok(), buffers.error().message);
  CHECK(buffers->buffer(FixedBuffer(1)).iov_base == memory.get());

  // The plain builders, then the range-checked ones.
  CHECK(run_one(ring, [&](Sqe& s) {
          prep_write_fixed(s, fd.get(), memory.get() + 1000, 4096, 0, FixedBuffer(1));
        }) == 4096);
  CHECK(run_one(ring, [&](Sqe& s) {
          prep_write_fixed(s, fd.get(), memory.get() + 1000, 4096, 0, FixedBuffer(0));
        }) == -EFAULT);  // the range is not in slot 0
  {
    auto sqe = buffers->write_fixed(fd.get(), memory.get() + 1000 + 4096, 4096, 4096, FixedBuffer(1));
    REQUIRE_MESSAGE(sqe.ok(), sqe.error().message);
    (*sqe)->set_user_data(5);
    const auto done = submit_and_collect(ring, 1);
    REQUIRE(done.size() == 1);
    CHECK(done[0].data == 5);
    CHECK(done[0].res == 4096);
  }
  CHECK(file_content(path) == std::string(data.begin(), data.end()));

  unsigned char* into = memory.get() + 40000;
  CHECK(run_one(ring, [&](Sqe& s) { prep_read_fixed(s, fd.get(), into, 3000, 100, FixedBuffer(1)); }) ==
        3000);
  CHECK(std::memcmp(into, data.data() + 100, 3000) == 0);
  {
    auto sqe = buffers->read_fixed(fd.get(), into, 5000, 3000, FixedBuffer(1));
    REQUIRE_MESSAGE(sqe.ok(), sqe.error().message);
    (*sqe)->set_user_data(6);
    const auto done = submit_and_collect(ring, 1);
    REQUIRE(done.size() == 1);
    CHECK(done[0].res == 5000);
    CHECK(std::memcmp(into, data.data() + 3000, 5000) == 0);
  }
}

TEST_CASE("READV_FIXED and WRITEV_FIXED gather and scatter inside a registered buffer") {
  Ring ring = make_ring();
  const Probe probe = probe_of(ring);
  URING_REQUIRE_OP(probe, abi::IORING_OP_READV_FIXED);
  URING_REQUIRE_OP(probe, abi::IORING_OP_WRITEV_FIXED);
  testing::TempDir dir;
  const std::string path = dir.path() + "/fixed-vec";
  Fd fd(::open(path.c_str(), O_RDWR | O_CREAT, 0644));
  REQUIRE(fd.get() >= 0);

  constexpr std::size_t kSize = 32 * 1024;
  Memory memory = page_aligned(kSize), other = page_aligned(4096);
  const iovec regions[] = {{other.get(), 4096}, {memory.get(), kSize}};  // used: slot 1
  auto buffers = BufferTable::create(ring, regions);
  REQUIRE_MESSAGE(buffers.ok(), buffers.error().message);
  std::memcpy(memory.get() + 10, "hello ", 6);
  std::memcpy(memory.get() + 5000, "fixed ", 6);
  std::memcpy(memory.get() + 9000, "vectors", 7);
  iovec out[] = {{memory.get() + 10, 6}, {memory.get() + 5000, 6}, {memory.get() + 9000, 7}};
  CHECK(run_one(ring, [&](Sqe& s) { prep_writev_fixed(s, fd.get(), out, 3, 0, FixedBuffer(1)); }) == 19);
  CHECK(run_one(ring, [&](Sqe& s) { prep_writev_fixed(s, fd.get(), out, 3, 0, FixedBuffer(0)); }) == -EFAULT);
  CHECK(file_content(path) == "hello fixed vectors");

  iovec in[] = {{memory.get() + 20000, 8}, {memory.get() + 12000, 11}};
  auto sqe = buffers->readv_fixed(fd.get(), in, 2, 0, FixedBuffer(1));
  REQUIRE_MESSAGE(sqe.ok(), sqe.error().message);
  (*sqe)->set_user_data(9);
  const auto done = submit_and_collect(ring, 1);
  REQUIRE(done.size() == 1);
  CHECK(done[0].res == 19);
  CHECK(std::string(reinterpret_cast<char*>(memory.get() + 20000), 8) == "hello fi");
  CHECK(std::string(reinterpret_cast<char*>(memory.get() + 12000), 11) == "xed vectors");

  // writev_fixed through the table checks every iovec.
  iovec bad[] = {{memory.get(), 4}, {memory.get() + kSize - 2, 4}};
  auto refused = buffers->writev_fixed(fd.get(), bad, 2, 0, FixedBuffer(1));
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.code() == EFAULT);
  CHECK(refused.error().message.find("iovec 1") != std::string::npos);
}

TEST_CASE("READ with a provided buffer: the kernel picks the buffer and says which") {
  Ring ring = make_ring();
  const Probe probe = probe_of(ring);
  URING_REQUIRE_OP(probe, abi::IORING_OP_PROVIDE_BUFFERS);
  testing::TempDir dir;
  const std::string path = make_file(dir, "selected", "provided buffers hold this text");
  Fd fd(::open(path.c_str(), O_RDONLY));
  REQUIRE(fd.get() >= 0);
  constexpr unsigned kBufSize = 16;
  constexpr std::uint16_t kGroup = 3;
  std::vector<char> memory(2 * kBufSize, 0);
  CHECK(run_one(ring, [&](Sqe& s) { prep_provide_buffers(s, memory.data(), kBufSize, 2, kGroup, 40); }) == 0);

  std::set<std::uint16_t> used;
  for (std::uint64_t offset : {0u, 9u}) {
    Sqe* sqe = ring.get_sqe();
    REQUIRE(sqe != nullptr);
    prep_read_buffer_select(*sqe, fd.get(), 8, offset, kGroup).set_user_data(offset);
    CHECK(sqe->addr == 0);
    const auto done = submit_and_collect(ring, 1);
    REQUIRE(done.size() == 1);
    REQUIRE(done[0].res == 8);
    REQUIRE(done[0].has_buffer());
    const std::uint16_t id = done[0].buffer_id();
    REQUIRE((id == 40 || id == 41));
    used.insert(id);
    CHECK(std::string(memory.data() + (id - 40) * kBufSize, 8) ==
          std::string("provided buffers hold this text").substr(offset, 8));
  }
  CHECK(used.size() == 2);
  // Both buffers are used up: the group is empty now.
  CHECK(run_one(ring, [&](Sqe& s) { prep_read_buffer_select(s, fd.get(), 8, 0, kGroup); }) == -ENOBUFS);
}

namespace {

enum class Method { kRead, kReadv, kReadFixed, kReadvFixed };

const char* method_name(Method m) {
  switch (m) {
    case Method::kRead:
      return "READ";
    case Method::kReadv:
      return "READV";
    case Method::kReadFixed:
      return "READ_FIXED";
    case Method::kReadvFixed:
      return "READV_FIXED";
  }
  return "?";
}

struct Chunk {
  std::uint64_t offset;
  unsigned len;
  std::vector<iovec> iovecs;  // for the vectored methods
};

// Reads the whole file into `dest` in random-sized chunks issued in random
// order, up to 32 in flight; every chunk must come back once, complete.
void read_back(Ring& ring, int fd, unsigned char* dest, std::size_t size, Method method,
               std::mt19937_64& random) {
  std::vector<Chunk> chunks;
  for (std::uint64_t off = 0; off < size;) {
    const unsigned len =
        static_cast<unsigned>(std::min<std::uint64_t>(size - off, 1 + random() % (64 * 1024)));
    chunks.push_back({off, len, {}});
    off += len;
  }
  for (Chunk& chunk : chunks) {
    // 1..4 iovecs of random lengths covering the chunk.
    const unsigned pieces = 1 + static_cast<unsigned>(random() % std::min<unsigned>(4, chunk.len));
    unsigned left = chunk.len;
    unsigned char* at = dest + chunk.offset;
    for (unsigned p = 0; p < pieces; ++p) {
      const unsigned len =
          p + 1 == pieces ? left : 1 + static_cast<unsigned>(random() % (left - (pieces - 1 - p)));
      chunk.iovecs.push_back({at, len});
      at += len;
      left -= len;
    }
  }
  std::vector<std::size_t> order(chunks.size());
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), random);

  std::map<std::uint64_t, int> seen;
  std::size_t next = 0, done = 0;
  while (done < chunks.size()) {
    unsigned queued = 0;
    while (next < order.size() && queued < 32) {
      const std::size_t i = order[next++];
      Chunk& c = chunks[i];
      Sqe* sqe = ring.get_sqe();
      REQUIRE(sqe != nullptr);
      unsigned char* into = dest + c.offset;
      switch (method) {
        case Method::kRead:
          prep_read(*sqe, fd, into, c.len, c.offset);
          break;
        case Method::kReadv:
          prep_readv(*sqe, fd, c.iovecs.data(), static_cast<unsigned>(c.iovecs.size()), c.offset);
          break;
        case Method::kReadFixed:
          prep_read_fixed(*sqe, fd, into, c.len, c.offset, FixedBuffer(0));
          break;
        case Method::kReadvFixed:
          prep_readv_fixed(*sqe, fd, c.iovecs.data(), static_cast<unsigned>(c.iovecs.size()), c.offset,
                           FixedBuffer(0));
          break;
      }
      sqe->set_user_data(i);
      ++queued;
    }
    for (const Completion& cqe : submit_and_collect(ring, queued)) {
      REQUIRE(cqe.data < chunks.size());
      CHECK(cqe.res == static_cast<int>(chunks[cqe.data].len));
      ++seen[cqe.data];
      ++done;
    }
  }
  CHECK(seen.size() == chunks.size());
  for (const auto& [index, times] : seen) CHECK(times == 1);
}

}  // namespace

// Reads 1 MiB of random data back with `method`, twice, at random chunk
// sizes and offsets, and compares checksums and bytes.
static void check_read_back(Method method) {
  Ring ring = make_ring(64);
  testing::TempDir dir;
  constexpr std::size_t kSize = 1 << 20;
  const std::uint64_t seed = 0x5eed0001;
  const std::vector<unsigned char> data = random_bytes(kSize, seed);
  const std::string path = make_file(dir, "random", data.data(), data.size());
  Fd fd(::open(path.c_str(), O_RDONLY));
  REQUIRE(fd.get() >= 0);
  const std::uint64_t expected = checksum(data);

  Memory fixed = page_aligned(kSize);
  iovec region{fixed.get(), kSize};
  auto buffers = BufferTable::create(ring, {&region, 1});
  REQUIRE_MESSAGE(buffers.ok(), buffers.error().message);

  std::mt19937_64 random(seed);
  const std::string name = method_name(method);
  CAPTURE(name);
  std::vector<unsigned char> plain(kSize, 0);
  unsigned char* dest = plain.data();
  if (method == Method::kReadFixed || method == Method::kReadvFixed) {
    std::memset(fixed.get(), 0, kSize);
    dest = fixed.get();
  }
  for (int round = 0; round < 2; ++round) {
    read_back(ring, fd.get(), dest, kSize, method, random);
    CHECK(checksum(dest, kSize) == expected);
    CHECK(std::memcmp(dest, data.data(), kSize) == 0);
    std::memset(dest, 0, kSize);
  }
}

TEST_CASE("1 MiB of random data read back with READ, READV, READ_FIXED: equal checksums") {
  for (Method method : {Method::kRead, Method::kReadv, Method::kReadFixed}) check_read_back(method);
}

TEST_CASE("1 MiB of random data read back with READV_FIXED: equal checksums") {
  URING_REQUIRE(testing::missing_op(abi::IORING_OP_READV_FIXED));
  check_read_back(Method::kReadvFixed);
}
