// Bad input: the kernel's -errno comes back in the CQE where only the kernel
// can know; the library refuses before submission where it can; nothing
// crashes and every submitted user_data comes back exactly once.
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>
#include <map>
#include <memory>

#include "tests/files/files_test_util.h"
#include "tests/support/kernel_features.h"

using namespace uring;
using namespace uring::files_test;

TEST_CASE("a bad fd is -EBADF in the CQE, for plain and fixed files") {
  Ring ring = make_ring();
  char buf[16];
  const int closed = ::open("/dev/null", O_RDONLY);
  REQUIRE(closed >= 0);
  ::close(closed);
  CHECK(run_one(ring, [&](Sqe& s) { prep_read(s, -1, buf, sizeof buf, 0); }) == -EBADF);
  CHECK(run_one(ring, [&](Sqe& s) { prep_read(s, closed, buf, sizeof buf, 0); }) == -EBADF);
  CHECK(run_one(ring, [&](Sqe& s) { prep_write(s, 12345, buf, sizeof buf, 0); }) == -EBADF);
  CHECK(run_one(ring, [&](Sqe& s) { prep_fsync(s, -1); }) == -EBADF);
  // Opened read-only, then written: the file is fine, the mode is not.
  Fd read_only(::open("/dev/null", O_RDONLY));
  CHECK(run_one(ring, [&](Sqe& s) { prep_write(s, read_only.get(), buf, sizeof buf, 0); }) == -EBADF);

  // Fixed files: no table at all, then an index past the table.
  CHECK(run_one(ring, [&](Sqe& s) { prep_read(s, FixedFile(0), buf, sizeof buf, 0); }) == -EBADF);
  const int fds[] = {read_only.get()};
  auto table = FileTable::create(ring, fds);
  REQUIRE_MESSAGE(table.ok(), table.error().message);
  CHECK(run_one(ring, [&](Sqe& s) { prep_read(s, FixedFile(0), buf, sizeof buf, 0); }) == 0);
  CHECK(run_one(ring, [&](Sqe& s) { prep_read(s, FixedFile(1), buf, sizeof buf, 0); }) == -EBADF);
  CHECK(run_one(ring, [&](Sqe& s) { prep_read(s, FixedFile(kMaxFileSlots - 1), buf, sizeof buf, 0); }) ==
        -EBADF);
  CHECK(run_one(ring, [&](Sqe& s) { prep_close(s, FixedFile(1000)); }) == -EINVAL);  // past the table
}

TEST_CASE("registered buffers: a bad index or range is refused before submission, and by the kernel after") {
  Ring ring = make_ring();
  testing::TempDir dir;
  const std::string path = make_file(dir, "data", std::string(8192, 'd'));
  Fd fd(::open(path.c_str(), O_RDONLY));
  REQUIRE(fd.get() >= 0);
  std::vector<char> memory(4096, 0);
  char* base = memory.data();

  // No buffers registered at all: the kernel says -EFAULT.
  CHECK(run_one(ring, [&](Sqe& s) { prep_read_fixed(s, fd.get(), base, 16, 0, FixedBuffer(0)); }) == -EFAULT);

  // Register the middle 2 KiB only.
  const iovec region{base + 1024, 2048};
  auto table = BufferTable::create(ring, {&region, 1});
  REQUIRE_MESSAGE(table.ok(), table.error().message);
  const unsigned pending_before = ring.sq_pending();

  struct Case {
    const char* what;
    unsigned index;
    char* addr;
    unsigned len;
    int code;
  };
  const Case cases[] = {
      {"index past the table", 1, base + 1024, 16, EINVAL},
      {"index far past the table", 16383, base + 1024, 16, EINVAL},  // the last any kernel allows
      {"starts before the buffer", 0, base + 1000, 100, EFAULT},
      {"runs past its end", 0, base + 3000, 100, EFAULT},
      {"larger than the buffer", 0, base + 1024, 2049, EFAULT},
      {"starts past its end", 0, base + 3073, 1, EFAULT},
      {"4 GiB long", 0, base + 2048, ~0u, EFAULT},
  };
  for (const Case& c : cases) {
    CAPTURE(c.what);
    Status checked = table->check_range(FixedBuffer::checked(c.index).value(), c.addr, c.len);
    REQUIRE_FALSE(checked.ok());
    CHECK(checked.code() == c.code);
    CHECK(checked.error().message.find("fixed buffer") != std::string::npos);
    auto read = table->read_fixed(fd.get(), c.addr, c.len, 0, FixedBuffer::checked(c.index).value());
    REQUIRE_FALSE(read.ok());
    CHECK(read.code() == c.code);
    auto write = table->write_fixed(fd.get(), c.addr, c.len, 0, FixedBuffer::checked(c.index).value());
    CHECK(write.code() == c.code);
    const iovec vec[] = {{base + 1024, 8}, {c.addr, c.len}};
    auto readv = table->readv_fixed(fd.get(), vec, 2, 0, FixedBuffer::checked(c.index).value());
    CHECK(readv.code() == c.code);
    CHECK(ring.sq_pending() == pending_before);  // nothing was queued
  }
  // An index no table can have (>= 16384, IORING_MAX_REG_BUFFERS) cannot even
  // be made from a run-time number: sqe->buf_index is 16 bits, and 65536 + n
  // would name buffer n.
  CHECK_FALSE(FixedBuffer::checked(60000).has_value());
  CHECK_FALSE(FixedBuffer::checked(65536 + 1).has_value());
  // The edges themselves are fine.
  CHECK(table->check_range(FixedBuffer(0), base + 1024, 2048).ok());
  CHECK(table->check_range(FixedBuffer(0), base + 3072, 0).ok());

  // The same mistakes through the plain builders: the kernel's -EFAULT, no crash.
  CHECK(run_one(ring, [&](Sqe& s) { prep_read_fixed(s, fd.get(), base + 1024, 16, 0, FixedBuffer(1)); }) ==
        -EFAULT);
  CHECK(run_one(ring, [&](Sqe& s) { prep_read_fixed(s, fd.get(), base + 1000, 100, 0, FixedBuffer(0)); }) ==
        -EFAULT);
  CHECK(run_one(ring, [&](Sqe& s) { prep_read_fixed(s, fd.get(), base + 3000, 100, 0, FixedBuffer(0)); }) ==
        -EFAULT);
  CHECK(run_one(ring, [&](Sqe& s) { prep_read_fixed(s, fd.get(), base + 1024, 2048, 0, FixedBuffer(0)); }) ==
        2048);
  CHECK(memory[1023] == 0);
  CHECK(memory[1024] == 'd');
  CHECK(memory[3071] == 'd');
  CHECK(memory[3072] == 0);
}

// Why direct I/O cannot be tested under `dir`, or "" if it can: a scratch
// file there must open with O_DIRECT and serve an aligned 4 KiB pread(2)
// (tmpfs, for one, refuses O_DIRECT). Plain system calls, before any io_uring call.
static std::string no_direct_io(const testing::TempDir& dir, void* aligned_page) {
  const std::string path = make_file(dir, "direct-probe", std::string(4096, 'p'));
  Fd fd(::open(path.c_str(), O_RDONLY | O_DIRECT));
  if (fd.get() < 0) return "the file system under " + dir.path() + " refuses O_DIRECT: " + std::strerror(errno);
  if (::pread(fd.get(), aligned_page, 4096, 0) != 4096) {
    return "the file system under " + dir.path() + " opens O_DIRECT but an aligned 4 KiB read fails: " +
           std::strerror(errno);
  }
  return {};
}

TEST_CASE("O_DIRECT with an unaligned buffer: only the kernel knows, and says -EINVAL") {
  testing::TempDir dir;
  void* raw = std::aligned_alloc(4096, 8192);
  std::unique_ptr<void, decltype(&std::free)> owner(raw, &std::free);
  URING_REQUIRE(no_direct_io(dir, raw));
  Ring ring = make_ring();
  const std::string path = make_file(dir, "direct", std::string(8192, 'o'));
  Fd fd(::open(path.c_str(), O_RDONLY | O_DIRECT));
  REQUIRE(fd.get() >= 0);
  char* aligned = static_cast<char*>(raw);
  CHECK(run_one(ring, [&](Sqe& s) { prep_read(s, fd.get(), aligned, 4096, 0); }) == 4096);
  CHECK(aligned[4095] == 'o');
  CHECK(run_one(ring, [&](Sqe& s) { prep_read(s, fd.get(), aligned + 1, 4096, 0); }) == -EINVAL);
  CHECK(run_one(ring, [&](Sqe& s) { prep_read(s, fd.get(), aligned, 4095, 0); }) == -EINVAL);
  CHECK(run_one(ring, [&](Sqe& s) { prep_read(s, fd.get(), aligned, 4096, 1); }) == -EINVAL);
}

TEST_CASE("a batch mixing good and bad requests: each user_data comes back exactly once") {
  Ring ring = make_ring(128);
  testing::TempDir dir;
  const std::string path = make_file(dir, "mixed", std::string(4096, 'm'));
  Fd fd(::open(path.c_str(), O_RDWR));
  REQUIRE(fd.get() >= 0);
  void* unmapped = ::mmap(nullptr, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  REQUIRE(unmapped != MAP_FAILED);
  std::vector<char> buffers(100 * 16);
  std::map<std::uint64_t, int> expected;
  std::mt19937_64 random(42);
  for (std::uint64_t tag = 1; tag <= 100; ++tag) {
    Sqe* sqe = ring.get_sqe();
    REQUIRE(sqe != nullptr);
    char* buf = buffers.data() + (tag - 1) * 16;
    switch (random() % 6) {
      case 0:
        prep_read(*sqe, fd.get(), buf, 16, tag);
        expected[tag] = 16;
        break;
      case 1:
        prep_read(*sqe, -1, buf, 16, 0);
        expected[tag] = -EBADF;
        break;
      case 2:
        prep_read(*sqe, fd.get(), unmapped, 16, 0);  // the kernel cannot copy there
        expected[tag] = -EFAULT;
        break;
      case 3:
        prep_read(*sqe, FixedFile(7), buf, 16, 0);  // no file table
        expected[tag] = -EBADF;
        break;
      case 4:
        prep_nop(*sqe);
        sqe->opcode = 250;  // no such opcode
        expected[tag] = -EINVAL;
        break;
      default:
        prep_read_fixed(*sqe, fd.get(), buf, 16, 0, FixedBuffer(3));  // no buffer table
        expected[tag] = -EFAULT;
        break;
    }
    sqe->set_user_data(tag);
  }
  const auto cqes = submit_and_collect(ring, 100);
  CHECK(cqes.size() == 100);
  std::map<std::uint64_t, int> seen;
  for (const Completion& c : cqes) {
    CAPTURE(c.data);
    CHECK(++seen[c.data] == 1);
    REQUIRE(expected.count(c.data) == 1);
    CHECK(c.res == expected[c.data]);
  }
  CHECK(seen.size() == 100);
  CHECK(collect_stray(ring).empty());
  CHECK(ring.sq_pending() == 0);
  ::munmap(unmapped, 4096);
}

TEST_CASE("table misuse returns errors that say what to do") {
  Ring ring = make_ring();
  auto empty = FileTable::create(ring, std::span<const int>{});
  REQUIRE_FALSE(empty.ok());
  CHECK(empty.code() == EINVAL);
  CHECK(empty.error().message.find("at least one slot") != std::string::npos);
  const int ring_fd[] = {ring.fd()};
  if (ring.fd() >= 0) {
    auto self = FileTable::create(ring, ring_fd);
    REQUIRE_FALSE(self.ok());
    CHECK(self.code() == EBADF);
    CHECK(self.error().message.find("io_uring fd") != std::string::npos);
  }
  auto zero_buffers = BufferTable::create_sparse(ring, 0);
  CHECK(zero_buffers.code() == EINVAL);
  std::vector<char> memory(64);
  const iovec unmapped{reinterpret_cast<void*>(0x1000), 4096};
  auto bad_memory = BufferTable::create(ring, {&unmapped, 1});
  REQUIRE_FALSE(bad_memory.ok());
  CHECK(bad_memory.code() == EFAULT);
  CHECK(bad_memory.error().message.find("BUFFERS") != std::string::npos);
  const iovec too_big{memory.data(), (1ull << 30) + 4096};
  auto big = BufferTable::create(ring, {&too_big, 1});
  CHECK_FALSE(big.ok());
  FileTable none;
  CHECK(none.update(0, std::vector<int>{1}).code() == ENXIO);
  CHECK(none.set_alloc_range(0, 1).code() == ENXIO);
  BufferTable no_buffers;
  CHECK(no_buffers.update(0, {&unmapped, 1}).code() == ENXIO);
  CHECK(no_buffers.check_range(FixedBuffer(0), memory.data(), 1).code() == EINVAL);
}
