// IORING_REGISTER_CLONE_BUFFERS: a ring gets another ring's registered
// buffers (the same pinned pages). Checked by writing from the cloned
// buffer indexes of the destination ring into a file and reading it back.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "tests/register/register_support.h"
#include "uring/prep_file.h"
#include "uring/register.h"

using namespace uring;
using namespace uring::testing;

namespace {

constexpr unsigned kBuffers = 4;
constexpr std::size_t kBufferBytes = 4096;

// Four page-sized buffers filled with 'A', 'B', 'C', 'D'.
struct SourceBuffers {
  SourceBuffers() {
    memory = static_cast<unsigned char*>(
        ::mmap(nullptr, kBuffers * kBufferBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    REQUIRE(memory != MAP_FAILED);
    for (unsigned i = 0; i < kBuffers; ++i) {
      std::memset(memory + i * kBufferBytes, 'A' + static_cast<int>(i), kBufferBytes);
      iovecs[i] = iovec{memory + i * kBufferBytes, kBufferBytes};
    }
  }
  ~SourceBuffers() { ::munmap(memory, kBuffers * kBufferBytes); }
  unsigned char* at(unsigned i) const { return memory + i * kBufferBytes; }
  unsigned char* memory;
  iovec iovecs[kBuffers];
};

// Writes 16 bytes from registered buffer `index` (at `address`, inside it)
// of `ring` into `fd` at 0 and returns what the file then holds.
std::string write_from_fixed(Ring& ring, int fd, unsigned index, const void* address) {
  REQUIRE(::ftruncate(fd, 0) == 0);
  Sqe* sqe = ring.get_sqe();
  REQUIRE(sqe != nullptr);
  prep_write_fixed(*sqe, fd, address, 16, 0, FixedBuffer::checked(index).value()).set_user_data(index);
  REQUIRE(ring.submit() == 1);
  const Cqe done = reap_one(ring);
  if (done.result() != 16) return "result " + std::to_string(done.result());
  char got[17] = {};
  REQUIRE(::pread(fd, got, 16, 0) == 16);
  return got;
}

}  // namespace

TEST_CASE("clone_buffers: the destination ring uses the source's buffers, by fd or registered index") {
  URING_REQUIRE(missing_register_op(abi::IORING_REGISTER_CLONE_BUFFERS));
  // The replace below clones one buffer into a chosen slot: offsets, count
  // and IORING_REGISTER_DST_REPLACE came a release after the opcode.
  URING_REQUIRE(missing_since("IORING_REGISTER_CLONE_BUFFERS offsets and DST_REPLACE", "6.13"));
  TempDir dir;
  const int file = ::open((dir.path() + "/out").c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0600);
  REQUIRE(file >= 0);
  SourceBuffers buffers;
  for (Via via : kBothWays) {
    for (bool by_index : {false, true}) {
      INFO("via ", std::string(via_name(via)), ", source by registered index ", by_index);
      Ring src = make_ring(Via::fd);
      Ring dst = make_ring(via);
      REQUIRE(src.register_raw(abi::IORING_REGISTER_BUFFERS, buffers.iovecs, kBuffers) == 0);

      CloneBuffersOptions all;
      all.by_registered_index = by_index;
      Status cloned = clone_buffers(dst, src, all);
      REQUIRE_MESSAGE(cloned.ok(), cloned.error().message);
      CHECK(write_from_fixed(dst, file, 2, buffers.at(2)) == std::string(16, 'C'));
      CHECK(write_from_fixed(dst, file, 3, buffers.at(3) + 100) == std::string(16, 'D'));

      // Already has buffers: refused unless replacing.
      Status again = clone_buffers(dst, src, all);
      REQUIRE_FALSE(again.ok());
      CHECK(again.code() == EBUSY);
      CHECK(again.error().message.find("replace = true") != std::string::npos);

      // Replace slot 0 with the source's buffer 1 ('B'); slot 3 keeps 'D'.
      CloneBuffersOptions one;
      one.by_registered_index = by_index;
      one.replace = true;
      one.src_offset = 1;
      one.dst_offset = 0;
      one.count = 1;
      Status replaced = clone_buffers(dst, src, one);
      REQUIRE_MESSAGE(replaced.ok(), replaced.error().message);
      CHECK(write_from_fixed(dst, file, 0, buffers.at(1)) == std::string(16, 'B'));
      CHECK(write_from_fixed(dst, file, 0, buffers.at(0)).find("result -14") == 0);  // EFAULT: slot 0 is now B's range
      CHECK(write_from_fixed(dst, file, 3, buffers.at(3)) == std::string(16, 'D'));

      // The clone holds the pages: it works after the source ring is gone.
      src.close();
      CHECK(write_from_fixed(dst, file, 2, buffers.at(2)) == std::string(16, 'C'));
    }
  }
  ::close(file);
}

TEST_CASE("clone_buffers: what cannot be cloned says why") {
  URING_REQUIRE(missing_register_op(abi::IORING_REGISTER_CLONE_BUFFERS));
  Ring src = make_ring(Via::fd);
  Ring dst = make_ring(Via::fd);
  Status empty = clone_buffers(dst, src);
  REQUIRE_FALSE(empty.ok());
  CHECK(empty.code() == ENXIO);
  CHECK(empty.error().message.find("no registered buffers") != std::string::npos);

  Status self = clone_buffers(dst, dst);
  REQUIRE_FALSE(self.ok());
  CHECK(self.code() == ELOOP);

  SourceBuffers buffers;
  REQUIRE(src.register_raw(abi::IORING_REGISTER_BUFFERS, buffers.iovecs, kBuffers) == 0);
  CloneBuffersOptions too_many;
  too_many.count = kBuffers + 1;
  Status beyond = clone_buffers(dst, src, too_many);
  REQUIRE_FALSE(beyond.ok());
  CHECK(beyond.code() == EINVAL);

  Ring closed;
  Status from_closed = clone_buffers(dst, closed);
  REQUIRE_FALSE(from_closed.ok());
  CHECK(from_closed.error().message.find("closed") != std::string::npos);
}

TEST_CASE("clone_buffers: count 0 with an offset, and ranges past the source, say what to change (issue 12, item 8)") {
  URING_REQUIRE(missing_register_op(abi::IORING_REGISTER_CLONE_BUFFERS));
  URING_REQUIRE(missing_since("IORING_REGISTER_CLONE_BUFFERS offsets and count", "6.13"));
  Ring src = make_ring(Via::fd);
  Ring dst = make_ring(Via::fd);
  SourceBuffers buffers;
  REQUIRE(src.register_raw(abi::IORING_REGISTER_BUFFERS, buffers.iovecs, kBuffers) == 0);

  // count 0 is "all of them", which the kernel refuses with an offset.
  CloneBuffersOptions rest;
  rest.src_offset = 1;
  Status all_from_one = clone_buffers(dst, src, rest);
  REQUIRE_FALSE(all_from_one.ok());
  CHECK(all_from_one.code() == EINVAL);
  INFO(all_from_one.error().message);
  CHECK(all_from_one.error().message.find("count 0 clones all of the source's buffers") != std::string::npos);
  CHECK(all_from_one.error().message.find("give the number of buffers to clone") != std::string::npos);

  // src_offset + count past the source's 4 buffers: EOVERFLOW.
  CloneBuffersOptions past;
  past.src_offset = 3;
  past.count = 2;
  Status beyond = clone_buffers(dst, src, past);
  REQUIRE_FALSE(beyond.ok());
  CHECK(beyond.code() == EOVERFLOW);
  INFO(beyond.error().message);
  CHECK(beyond.error().message.find("src_offset 3 + count 2 runs past the end of the source ring's buffer table") !=
        std::string::npos);

  // More than the source has, and past the 16384 slots a table holds: EINVAL.
  CloneBuffersOptions too_many;
  too_many.count = kBuffers + 1;
  Status more = clone_buffers(dst, src, too_many);
  REQUIRE_FALSE(more.ok());
  CHECK(more.code() == EINVAL);
  INFO(more.error().message);
  CHECK(more.error().message.find("count 5 is more than the source ring's buffers") != std::string::npos);
  CloneBuffersOptions high;
  high.dst_offset = 16383;
  high.count = 2;
  Status slots = clone_buffers(dst, src, high);
  REQUIRE_FALSE(slots.ok());
  CHECK(slots.code() == EINVAL);
  CHECK(slots.error().message.find("16384") != std::string::npos);

  // None of it changed the destination: a whole clone still works.
  Status whole = clone_buffers(dst, src);
  REQUIRE_MESSAGE(whole.ok(), whole.error().message);
}
