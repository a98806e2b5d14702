// FileTable and BufferTable (uring/registered_files.h) where the kernel
// refuses part of what it is given: the message names the slot and the
// real cause (checked against io_uring/rsrc.c: io_buffer_validate,
// io_sqe_buffers_register, __io_sqe_files_update, __io_sqe_buffers_update),
// and a partial update is an error that says what changed (issue 12, item 8).
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "tests/register/register_support.h"
#include "uring/prep_file.h"
#include "uring/registered_files.h"

using namespace uring;
using namespace uring::testing;

namespace {

constexpr std::size_t kGiB = std::size_t{1} << 30;

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// Reads 16 bytes through file slot `slot`: the bytes, or "errno N".
std::string read_slot(Ring& ring, unsigned slot) {
  char buffer[16] = {};
  prep_read(next_sqe(ring), FixedFile::checked(slot).value(), buffer, sizeof buffer, 0).set_user_data(slot);
  const Cqe done = reap_one(ring);
  if (done.result() < 0) return "errno " + std::to_string(-done.result());
  return std::string(buffer, static_cast<std::size_t>(done.result()));
}

// Writes 4 bytes from fixed buffer `slot` at `address` into `fd`: the result.
int write_fixed_from(Ring& ring, int fd, unsigned slot, const void* address) {
  prep_write_fixed(next_sqe(ring), fd, address, 4, 0, FixedBuffer::checked(slot).value()).set_user_data(100 + slot);
  return reap_one(ring).result();
}

// A file holding `text`, opened for reading.
int file_with(const TempDir& dir, const std::string& name, const std::string& text) {
  const std::string path = dir.path() + "/" + name;
  const int fd = ::open(path.c_str(), O_CREAT | O_RDWR | O_TRUNC | O_CLOEXEC, 0600);
  REQUIRE(fd >= 0);
  REQUIRE(::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
  return fd;
}

}  // namespace

TEST_CASE("a buffer over 1 GiB is refused with the kernel's 1 GiB limit, not as unmapped memory (issue 12, item 8)") {
  Ring ring = make_ring(Via::fd);
  static char small[4096];
  // io_buffer_validate refuses the length before it touches the memory.
  const iovec buffers[] = {{small, sizeof small}, {small, kGiB + 4096}};
  auto table = BufferTable::create(ring, buffers);
  REQUIRE_FALSE(table.ok());
  CHECK(table.code() == EFAULT);
  INFO(table.error().message);
  CHECK(contains(table.error().message, "buffer 1 is 1073745920 bytes"));
  CHECK(contains(table.error().message, "at most 1 GiB"));
  CHECK_FALSE(contains(table.error().message, "not mapped"));

  // Exactly 1 GiB is the limit, not past it: refused only for memory that
  // is not there (PROT_NONE reserves the range without mapping pages).
  void* reserved = ::mmap(nullptr, kGiB, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  REQUIRE(reserved != MAP_FAILED);
  const iovec limit[] = {{reserved, kGiB}};
  auto unmapped = BufferTable::create(ring, limit);
  ::munmap(reserved, kGiB);
  REQUIRE_FALSE(unmapped.ok());
  CHECK(unmapped.code() == EFAULT);
  INFO(unmapped.error().message);
  CHECK(contains(unmapped.error().message, "not mapped, writable memory"));

  // An address with no length, and a length with no address.
  const iovec no_length[] = {{small, 0}};
  auto zero = BufferTable::create(ring, no_length);
  REQUIRE_FALSE(zero.ok());
  CHECK(zero.code() == EFAULT);
  CHECK(contains(zero.error().message, "buffer 0 has an address but 0 bytes"));
  const iovec no_address[] = {{small, sizeof small}, {nullptr, 64}};
  auto null = BufferTable::create(ring, no_address);
  REQUIRE_FALSE(null.ok());
  CHECK(null.code() == EFAULT);
  CHECK(contains(null.error().message, "buffer 1 has 64 bytes but no address"));

  // EINVAL is about the table, not about a buffer's size.
  std::vector<iovec> too_many(16385, iovec{small, sizeof small});
  auto many = BufferTable::create(ring, too_many);
  REQUIRE_FALSE(many.ok());
  CHECK(many.code() == EINVAL);
  INFO(many.error().message);
  CHECK(contains(many.error().message, "16384 buffers"));
  CHECK_FALSE(contains(many.error().message, "1 GiB"));
}

TEST_CASE("FileTable::update that the kernel stops part way is an error naming the slots (issue 12, item 8)") {
  URING_REQUIRE(missing_feature(abi::IORING_FEAT_RSRC_TAGS));
  TempDir dir;
  const int a = file_with(dir, "a", "aaaa");
  const int b = file_with(dir, "b", "bbbb");
  const int c = file_with(dir, "c", "cccc");
  for (RegisterApi api : {RegisterApi::kAuto, RegisterApi::kLegacy}) {
    INFO("api ", std::string(api == RegisterApi::kAuto ? "FILES_UPDATE2" : "FILES_UPDATE"));
    Ring ring = make_ring(Via::fd);
    const int closed = ::fcntl(a, F_DUPFD_CLOEXEC, 900);
    REQUIRE(closed >= 900);
    REQUIRE(::close(closed) == 0);  // a number far above the fds in use, and not open now
    const int initial[] = {c, c, c, c};
    auto table = FileTable::create(ring, initial, {}, api);
    REQUIRE_MESSAGE(table.ok(), table.error().message);

    // Slot 1 gets b, slot 2 an fd that is not open: the kernel fills slot 1,
    // empties slot 2, fails it, and reports 1 slot as its success.
    const int edit[] = {b, closed, a};
    auto updated = table->update(1, edit);
    REQUIRE_FALSE(updated.ok());
    CHECK(updated.code() == EBADF);
    const std::string& message = updated.error().message;
    INFO(message);
    CHECK(contains(message, "slot 1 updated"));
    CHECK(contains(message, "slot 2 (fd " + std::to_string(closed) + ") failed"));
    CHECK(contains(message, "is not open"));
    CHECK(contains(message, "slot 2 is now empty"));
    CHECK(contains(message, "slot 3 unchanged"));
    // ...and the table is what the message says.
    CHECK(read_slot(ring, 0) == "cccc");
    CHECK(read_slot(ring, 1) == "bbbb");
    CHECK(read_slot(ring, 2) == "errno " + std::to_string(EBADF));
    CHECK(read_slot(ring, 3) == "cccc");

    // A ring cannot be registered: said so, whichever slot it is in.
    Ring other = make_ring(Via::fd);
    const int ring_fd[] = {other.fd()};
    auto refused = table->update(0, ring_fd);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.code() == EBADF);
    CHECK(contains(refused.error().message, "is an io_uring"));
    CHECK(contains(refused.error().message, "slot 0 is now empty"));
  }
  ::close(a);
  ::close(b);
  ::close(c);
}

TEST_CASE("FileTable::update stopped part way says which slots were skipped, not updated (issue 12, item 8 review)") {
  TempDir dir;
  const int c = file_with(dir, "c", "cccc");
  const int b = file_with(dir, "b", "bbbb");
  for (RegisterApi api : {RegisterApi::kAuto, RegisterApi::kLegacy}) {
    INFO("api ", std::string(api == RegisterApi::kAuto ? "FILES_UPDATE2" : "FILES_UPDATE"));
    Ring ring = make_ring(Via::fd);
    const int closed = ::fcntl(c, F_DUPFD_CLOEXEC, 900);
    REQUIRE(closed >= 900);
    REQUIRE(::close(closed) == 0);
    const int initial[] = {c, c, c, c};
    auto table = FileTable::create(ring, initial, {}, api);
    REQUIRE_MESSAGE(table.ok(), table.error().message);
    // Slot 0 skipped, slot 1 updated, slot 2 skipped, slot 3 fails.
    const int edit[] = {abi::IORING_REGISTER_FILES_SKIP, b, abi::IORING_REGISTER_FILES_SKIP, closed};
    auto updated = table->update(0, edit);
    REQUIRE_FALSE(updated.ok());
    CHECK(updated.code() == EBADF);
    const std::string& message = updated.error().message;
    INFO(message);
    CHECK_FALSE(contains(message, "slots 0..2 updated"));
    CHECK(contains(message, "slot 0 skipped"));
    CHECK(contains(message, "slot 1 updated"));
    CHECK(contains(message, "slot 2 skipped"));
    CHECK(contains(message, "slot 3 (fd " + std::to_string(closed) + ") failed"));
    CHECK(read_slot(ring, 0) == "cccc");
    CHECK(read_slot(ring, 1) == "bbbb");
    CHECK(read_slot(ring, 2) == "cccc");

    // Only a skipped slot before the failing one: nothing "updated".
    const int skip_then_bad[] = {abi::IORING_REGISTER_FILES_SKIP, closed};
    auto skipped = table->update(0, skip_then_bad);
    REQUIRE_FALSE(skipped.ok());
    INFO(skipped.error().message);
    CHECK_FALSE(contains(skipped.error().message, "updated"));
    CHECK(contains(skipped.error().message, "slot 0 skipped"));

    // An emptied slot (-1) is said to be emptied, not updated (break-it review).
    const int empty_then_bad[] = {-1, closed};
    auto emptied = table->update(1, empty_then_bad);
    REQUIRE_FALSE(emptied.ok());
    INFO(emptied.error().message);
    CHECK_FALSE(contains(emptied.error().message, "slot 1 updated"));
    CHECK(contains(emptied.error().message, "slot 1 emptied"));
  }
  ::close(b);
  ::close(c);
}

TEST_CASE("FileTable::update refuses a tag on an IORING_REGISTER_FILES_SKIP slot before the call (issue 12, item 8)") {
  URING_REQUIRE(missing_feature(abi::IORING_FEAT_RSRC_TAGS));
  TempDir dir;
  const int a = file_with(dir, "a", "aaaa");
  Ring ring = make_ring(Via::fd);
  const int initial[] = {a, a};
  auto table = FileTable::create(ring, initial);
  REQUIRE_MESSAGE(table.ok(), table.error().message);
  const int skip[] = {-1, abi::IORING_REGISTER_FILES_SKIP};
  const std::uint64_t tags[] = {0, 77};
  auto refused = table->update(0, skip, tags);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.code() == EINVAL);
  INFO(refused.error().message);
  CHECK(contains(refused.error().message, "slot 1 is IORING_REGISTER_FILES_SKIP"));
  CHECK(contains(refused.error().message, "tag 0"));
  // Refused before the call: slot 0 was not emptied.
  CHECK(read_slot(ring, 0) == "aaaa");
  CHECK(read_slot(ring, 1) == "aaaa");
  // Slot numbers count from the update's offset.
  const int one_skip[] = {abi::IORING_REGISTER_FILES_SKIP};
  const std::uint64_t one_tag[] = {5};
  auto offset = table->update(1, one_skip, one_tag);
  REQUIRE_FALSE(offset.ok());
  CHECK(contains(offset.error().message, "slot 1 is IORING_REGISTER_FILES_SKIP"));
  // Without a tag, SKIP leaves the slot as it is.
  auto skipped = table->update(0, skip);
  REQUIRE_MESSAGE(skipped.ok(), skipped.error().message);
  CHECK(*skipped == 2);
  CHECK(read_slot(ring, 0) == "errno " + std::to_string(EBADF));
  CHECK(read_slot(ring, 1) == "aaaa");
  // At registration SKIP means nothing: refused with what to use instead.
  const int at_create[] = {abi::IORING_REGISTER_FILES_SKIP};
  Ring fresh = make_ring(Via::fd);
  auto created = FileTable::create(fresh, at_create);
  REQUIRE_FALSE(created.ok());
  CHECK(contains(created.error().message, "use -1 for an empty slot"));
  ::close(a);
}

TEST_CASE("BufferTable::update that the kernel stops part way is an error naming the slots (issue 12, item 8)") {
  URING_REQUIRE(missing_feature(abi::IORING_FEAT_RSRC_TAGS));
  TempDir dir;
  const int out = file_with(dir, "out", "");
  static char first[4096], second[4096], third[4096];
  std::memset(first, '1', sizeof first);
  std::memset(second, '2', sizeof second);
  std::memset(third, '3', sizeof third);
  Ring ring = make_ring(Via::fd);
  const iovec initial[] = {{first, sizeof first}, {first, sizeof first}, {first, sizeof first}};
  auto table = BufferTable::create(ring, initial);
  REQUIRE_MESSAGE(table.ok(), table.error().message);

  const iovec edit[] = {{second, sizeof second}, {third, kGiB + 1}, {third, sizeof third}};
  auto updated = table->update(0, edit);
  REQUIRE_FALSE(updated.ok());
  CHECK(updated.code() == EFAULT);
  const std::string& message = updated.error().message;
  INFO(message);
  CHECK(contains(message, "slot 0 updated"));
  CHECK(contains(message, "slot 1 failed"));
  CHECK(contains(message, "buffer 1 is 1073741825 bytes"));
  CHECK(contains(message, "slots 1..2 keep their old buffers"));
  // The table is what the message says, in the kernel and in buffer().
  CHECK(table->buffer(FixedBuffer(0)).iov_base == second);
  CHECK(table->buffer(FixedBuffer(1)).iov_base == first);
  CHECK(table->buffer(FixedBuffer(2)).iov_base == first);
  CHECK(write_fixed_from(ring, out, 0, second) == 4);
  CHECK(write_fixed_from(ring, out, 1, first) == 4);
  CHECK(write_fixed_from(ring, out, 2, third) == -EFAULT);  // slot 2 still holds `first`
  ::close(out);
}
