// SPLICE, TEE and PIPE move exactly the bytes asked for; READ_MULTISHOT on a
// pipe delivers a stream in provided buffers over several CQEs.
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <map>

#include "tests/files/files_test_util.h"

#include "uring/prep_buffers.h"

using namespace uring;
using namespace uring::files_test;

namespace {

struct Pipe {
  Fd read_end, write_end;
  Pipe() {
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    read_end.reset(fds[0]);
    write_end.reset(fds[1]);
  }
};

// Reads `size` bytes from a pipe, waiting at most 5 s for each piece.
std::string read_exactly(int fd, std::size_t size) {
  std::string out(size, '\0');
  std::size_t done = 0;
  while (done < size) {
    pollfd ready{fd, POLLIN, 0};
    REQUIRE_MESSAGE(::poll(&ready, 1, 5000) == 1,
                    "no data within 5 s after " << done << " of " << size << " bytes");
    const ssize_t n = ::read(fd, out.data() + done, size - done);
    REQUIRE(n > 0);
    done += static_cast<std::size_t>(n);
  }
  return out;
}

}  // namespace

TEST_CASE("SPLICE file -> pipe -> file moves the exact bytes, at offsets and at the file position") {
  Ring ring = make_ring();
  const Probe probe = probe_of(ring);
  URING_REQUIRE_OP(probe, abi::IORING_OP_SPLICE);
  testing::TempDir dir;
  const std::vector<unsigned char> data = random_bytes(100 * 1024, 21);
  const std::string source = make_file(dir, "source", data.data(), data.size());
  const std::string target = dir.path() + "/target";
  Fd in(::open(source.c_str(), O_RDONLY));
  Fd out(::open(target.c_str(), O_RDWR | O_CREAT, 0644));
  REQUIRE(in.get() >= 0);
  REQUIRE(out.get() >= 0);
  Pipe pipe;

  // 16 KiB chunks (a pipe holds 64 KiB), from offset 1000 of the source to
  // offset 0 of the target, linked pairwise: file -> pipe, then pipe -> file.
  constexpr unsigned kChunk = 16 * 1024;
  const std::uint64_t start = 1000, total = 80 * 1024;
  for (std::uint64_t done = 0; done < total; done += kChunk) {
    const unsigned len = static_cast<unsigned>(std::min<std::uint64_t>(kChunk, total - done));
    prep_splice(*ring.get_sqe(), in.get(), start + done, pipe.write_end.get(), kCurrentPosition, len)
        .set_user_data(1)
        .link();
    prep_splice(*ring.get_sqe(), pipe.read_end.get(), kCurrentPosition, out.get(), done, len)
        .set_user_data(2);
    const auto cqes = submit_and_collect(ring, 2);
    REQUIRE(cqes.size() == 2);
    for (const Completion& c : cqes) CHECK(c.res == static_cast<int>(len));
  }
  const std::string copied = file_content(target);
  REQUIRE(copied.size() == total);
  CHECK(std::memcmp(copied.data(), data.data() + start, total) == 0);
  CHECK(::lseek(in.get(), 0, SEEK_CUR) == 0);  // explicit offsets leave positions alone

  // kCurrentPosition on a file: it reads from (and advances) the file position.
  REQUIRE(::lseek(in.get(), 5, SEEK_SET) == 5);
  CHECK(run_one(ring, [&](Sqe& s) {
          prep_splice(s, in.get(), kCurrentPosition, pipe.write_end.get(), kCurrentPosition, 7);
        }) == 7);
  CHECK(::lseek(in.get(), 0, SEEK_CUR) == 12);
  CHECK(read_exactly(pipe.read_end.get(), 7) == std::string(data.begin() + 5, data.begin() + 12));
  // Neither side a pipe: the kernel refuses.
  CHECK(run_one(ring, [&](Sqe& s) { prep_splice(s, in.get(), 0, out.get(), 0, 10); }) == -EINVAL);
}

TEST_CASE("SPLICE with a fixed input (SPLICE_F_FD_IN_FIXED) and a fixed output") {
  Ring ring = make_ring();
  const Probe probe = probe_of(ring);
  URING_REQUIRE_OP(probe, abi::IORING_OP_SPLICE);
  testing::TempDir dir;
  const std::string source = make_file(dir, "source", "0123456789 fixed splice source");
  Fd in(::open(source.c_str(), O_RDONLY));
  REQUIRE(in.get() >= 0);
  Pipe pipe;
  const int fds[] = {in.get(), pipe.write_end.get()};
  auto table = FileTable::create(ring, fds);
  REQUIRE_MESSAGE(table.ok(), table.error().message);

  Sqe* sqe = ring.get_sqe();
  REQUIRE(sqe != nullptr);
  prep_splice(*sqe, FixedFile(0), 11, pipe.write_end.get(), kCurrentPosition, 12);
  CHECK((sqe->splice_flags & abi::SPLICE_F_FD_IN_FIXED) != 0);
  CHECK((sqe->flags & abi::IOSQE_FIXED_FILE) == 0);
  sqe->set_user_data(1);
  auto done = submit_and_collect(ring, 1);
  REQUIRE(done.size() == 1);
  CHECK(done[0].res == 12);
  CHECK(read_exactly(pipe.read_end.get(), 12) == "fixed splice");

  sqe = ring.get_sqe();
  prep_splice(*sqe, in.get(), 0, FixedFile(1), kCurrentPosition, 10);
  CHECK((sqe->splice_flags & abi::SPLICE_F_FD_IN_FIXED) == 0);
  CHECK((sqe->flags & abi::IOSQE_FIXED_FILE) != 0);
  sqe->set_user_data(2);
  done = submit_and_collect(ring, 1);
  REQUIRE(done.size() == 1);
  CHECK(done[0].res == 10);
  CHECK(read_exactly(pipe.read_end.get(), 10) == "0123456789");
  // A fixed input index that is not in the table.
  CHECK(run_one(ring, [&](Sqe& s) {
          prep_splice(s, FixedFile(9), 0, pipe.write_end.get(), kCurrentPosition, 4);
        }) == -EBADF);
}

TEST_CASE("TEE duplicates pipe data without consuming it") {
  Ring ring = make_ring();
  const Probe probe = probe_of(ring);
  URING_REQUIRE_OP(probe, abi::IORING_OP_TEE);
  Pipe a, b;
  REQUIRE(::write(a.write_end.get(), "hello, tee", 10) == 10);
  CHECK(run_one(ring, [&](Sqe& s) { prep_tee(s, a.read_end.get(), b.write_end.get(), 5); }) == 5);
  CHECK(read_exactly(b.read_end.get(), 5) == "hello");
  CHECK(read_exactly(a.read_end.get(), 10) == "hello, tee");  // still all there

  // Fixed ends work too.
  const int fds[] = {a.read_end.get(), b.write_end.get()};
  auto table = FileTable::create(ring, fds);
  REQUIRE_MESSAGE(table.ok(), table.error().message);
  REQUIRE(::write(a.write_end.get(), "fixed", 5) == 5);
  CHECK(run_one(ring, [&](Sqe& s) { prep_tee(s, FixedFile(0), FixedFile(1), 64); }) == 5);
  CHECK(read_exactly(b.read_end.get(), 5) == "fixed");
  CHECK(read_exactly(a.read_end.get(), 5) == "fixed");
  // Not pipes: refused.
  testing::TempDir dir;
  Fd file(::open(make_file(dir, "f", "x").c_str(), O_RDONLY));
  CHECK(run_one(ring, [&](Sqe& s) { prep_tee(s, file.get(), b.write_end.get(), 1); }) == -EINVAL);
}

TEST_CASE("PIPE returns two working fds (and honours O_CLOEXEC), nothing leaks") {
  Ring ring = make_ring();
  const Probe probe = probe_of(ring);
  URING_REQUIRE_OP(probe, abi::IORING_OP_PIPE);
  const int fds_before = testing::open_fd_count();
  for (int flags : {0, O_CLOEXEC, O_NONBLOCK}) {
    CAPTURE(flags);
    int fds[2] = {-1, -1};
    CHECK(run_one(ring, [&](Sqe& s) { prep_pipe(s, fds, flags); }) == 0);
    REQUIRE(fds[0] >= 0);
    REQUIRE(fds[1] >= 0);
    Fd read_end(fds[0]), write_end(fds[1]);
    CHECK(testing::open_fd_count() == fds_before + 2);
    CHECK(::write(fds[1], "through the pipe", 16) == 16);
    CHECK(read_exactly(fds[0], 16) == "through the pipe");
    CHECK(((::fcntl(fds[0], F_GETFD) & FD_CLOEXEC) != 0) == (flags == O_CLOEXEC));
    CHECK(((::fcntl(fds[1], F_GETFL) & O_NONBLOCK) != 0) == (flags == O_NONBLOCK));
    // The data also flows through the ring.
    CHECK(run_one(ring, [&](Sqe& s) { prep_write(s, fds[1], "ring", 4, kCurrentPosition); }) == 4);
    char buf[8] = {};
    CHECK(run_one(ring, [&](Sqe& s) { prep_read(s, fds[0], buf, sizeof buf, kCurrentPosition); }) == 4);
    CHECK(std::string(buf, 4) == "ring");
  }
  CHECK(testing::open_fd_count() == fds_before);
  int fds[2];
  CHECK(run_one(ring, [&](Sqe& s) { prep_pipe(s, fds, O_RDWR); }) == -EINVAL);
}

TEST_CASE("PIPE into direct descriptors: a given slot pair, and slots the kernel picks") {
  Ring ring = make_ring();
  const Probe probe = probe_of(ring);
  URING_REQUIRE_OP(probe, abi::IORING_OP_PIPE);
  auto table = FileTable::create_sparse(ring, 8);
  REQUIRE_MESSAGE(table.ok(), table.error().message);
  const int fds_before = testing::open_fd_count();

  int fds[2] = {-1, -1};
  CHECK(run_one(ring, [&](Sqe& s) { prep_pipe_direct(s, fds, 0, DirectSlot(2)); }) == 0);
  CHECK(testing::open_fd_count() == fds_before);  // no normal fds were made
  // The read end is slot 2, the write end slot 3.
  CHECK(run_one(ring, [&](Sqe& s) { prep_write(s, FixedFile(3), "direct pipe", 11, kCurrentPosition); }) ==
        11);
  char buf[16] = {};
  CHECK(run_one(ring, [&](Sqe& s) { prep_read(s, FixedFile(2), buf, sizeof buf, kCurrentPosition); }) == 11);
  CHECK(std::string(buf, 11) == "direct pipe");

  CHECK(run_one(ring, [&](Sqe& s) { prep_pipe_direct(s, fds, 0, DirectSlot::any()); }) == 0);
  CHECK(fds[0] != fds[1]);
  for (int slot : fds) {
    CHECK(slot >= 0);
    CHECK(slot < 8);
    CHECK(slot != 2);
    CHECK(slot != 3);
  }
  const FixedFile reader = FixedFile::checked(fds[0]).value(), writer = FixedFile::checked(fds[1]).value();
  CHECK(run_one(ring, [&](Sqe& s) { prep_write(s, writer, "picked", 6, kCurrentPosition); }) == 6);
  CHECK(run_one(ring, [&](Sqe& s) { prep_read(s, reader, buf, sizeof buf, kCurrentPosition); }) == 6);
  CHECK(std::string(buf, 6) == "picked");
  // Direct descriptors have no close-on-exec: O_CLOEXEC is refused.
  CHECK(run_one(ring, [&](Sqe& s) { prep_pipe_direct(s, fds, O_CLOEXEC, DirectSlot::any()); }) == -EINVAL);
  CHECK(testing::open_fd_count() == fds_before);
}

TEST_CASE("READ_MULTISHOT reads a pipe into provided buffers, one CQE per read, exact bytes") {
  Ring ring = make_ring();
  const Probe probe = probe_of(ring);
  URING_REQUIRE_OP(probe, abi::IORING_OP_READ_MULTISHOT);
  URING_REQUIRE_OP(probe, abi::IORING_OP_PROVIDE_BUFFERS);
  constexpr unsigned kBufSize = 64, kBuffers = 16;
  constexpr std::uint16_t kGroup = 5;
  std::vector<char> memory(kBufSize * kBuffers, 0);
  CHECK(run_one(ring,
                [&](Sqe& s) { prep_provide_buffers(s, memory.data(), kBufSize, kBuffers, kGroup, 0); }) == 0);

  Pipe pipe;
  prep_read_multishot(*ring.get_sqe(), pipe.read_end.get(), 0, 0, kGroup).set_user_data(77);
  REQUIRE(ring.submit() == 1);
  CHECK(collect_stray(ring).empty());  // armed, waiting for data

  // Three writes, each of several buffers' worth: every CQE holds at most one buffer.
  const std::vector<unsigned char> data = random_bytes(3 * 150, 8);
  std::string received;
  std::map<std::uint16_t, int> ids;
  unsigned cqes = 0;
  for (int round = 0; round < 3; ++round) {
    REQUIRE(::write(pipe.write_end.get(), data.data() + round * 150, 150) == 150);
    const std::size_t want = static_cast<std::size_t>(round + 1) * 150;
    for (int tries = 0; received.size() < want && tries < 100; ++tries) {
      for (const Completion& c : submit_and_collect(ring, 1)) {
        ++cqes;
        CHECK(c.data == 77);
        REQUIRE(c.res > 0);
        CHECK(c.res <= static_cast<int>(kBufSize));
        CHECK(c.more());
        REQUIRE(c.has_buffer());
        REQUIRE(c.buffer_id() < kBuffers);
        ++ids[c.buffer_id()];
        received.append(memory.data() + c.buffer_id() * kBufSize, static_cast<std::size_t>(c.res));
      }
    }
  }
  CHECK(received.size() == data.size());
  CHECK(std::memcmp(received.data(), data.data(), data.size()) == 0);
  CHECK(cqes >= 9);  // 150 bytes in 64-byte buffers: at least 3 CQEs a write
  for (const auto& [id, times] : ids) CHECK(times == 1);

  // Closing the write end ends the stream: a final CQE with 0 and no MORE.
  pipe.write_end.reset();
  const auto last = submit_and_collect(ring, 1);
  REQUIRE(last.size() == 1);
  CHECK(last[0].data == 77);
  CHECK(last[0].res == 0);
  CHECK_FALSE(last[0].more());

  // A regular file cannot be polled: -EBADFD.
  testing::TempDir dir;
  Fd file(::open(make_file(dir, "regular", "abc").c_str(), O_RDONLY));
  CHECK(run_one(ring, [&](Sqe& s) { prep_read_multishot(s, file.get(), 0, 0, kGroup); }) == -EBADFD);
}
