// Registered files and buffers: dense and sparse tables, updates (register
// call and FILES_UPDATE op) with tags, direct descriptors, CLOSE of a slot,
// FIXED_FD_INSTALL, registered buffers and their range checks, RAII moves.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <optional>
#include <set>

#include "tests/files/files_test_util.h"
#include "tests/support/kernel_features.h"

using namespace uring;
using namespace uring::files_test;

namespace {

// Files whose content names them: "file-0", "file-1", ...
struct NamedFiles {
  testing::TempDir dir;
  std::vector<std::string> paths;
  std::vector<int> fds;
  explicit NamedFiles(int count) {
    for (int i = 0; i < count; ++i) {
      paths.push_back(make_file(dir, "f" + std::to_string(i), "file-" + std::to_string(i)));
      fds.push_back(::open(paths.back().c_str(), O_RDONLY));
      REQUIRE(fds.back() >= 0);
    }
  }
  ~NamedFiles() {
    for (int fd : fds) ::close(fd);
  }
};

// Reads a registered slot through the ring: the content, or the -errno.
std::string read_slot(Ring& ring, FixedFile slot) {
  char buf[64] = {};
  const int res = run_one(ring, [&](Sqe& s) { prep_read(s, slot, buf, sizeof buf, 0); });
  if (res < 0) return "errno " + std::to_string(-res);
  return std::string(buf, static_cast<std::size_t>(res));
}

const std::string kEbadf = "errno " + std::to_string(EBADF);

}  // namespace

TEST_CASE("a dense file table reads each file through its slot; unknown slots are EBADF") {
  Ring ring = make_ring();
  NamedFiles files(3);
  auto table = FileTable::create(ring, files.fds);
  REQUIRE_MESSAGE(table.ok(), table.error().message);
  CHECK(table->registered());
  CHECK(table->size() == 3);
  CHECK(table->contains(FixedFile(2)));
  CHECK_FALSE(table->contains(FixedFile(3)));
  for (unsigned i = 0; i < 3; ++i) {
    CHECK(read_slot(ring, FixedFile::checked(i).value()) == "file-" + std::to_string(i));
  }
  CHECK(read_slot(ring, FixedFile(3)) == kEbadf);
  // The fd can be closed: the table holds its own reference.
  ::close(files.fds[1]);
  files.fds[1] = ::open("/dev/null", O_RDONLY);
  CHECK(read_slot(ring, FixedFile(1)) == "file-1");
}

TEST_CASE("a second table is EBUSY with a message; after the first is gone a new one registers") {
  Ring ring = make_ring();
  NamedFiles files(1);
  {
    auto first = FileTable::create(ring, files.fds);
    REQUIRE_MESSAGE(first.ok(), first.error().message);
    auto second = FileTable::create_sparse(ring, 4);
    REQUIRE_FALSE(second.ok());
    CHECK(second.code() == EBUSY);
    CHECK(second.error().message.find("unregister it first") != std::string::npos);
  }
  auto again = FileTable::create_sparse(ring, 4);
  REQUIRE_MESSAGE(again.ok(), again.error().message);
  CHECK(read_slot(ring, FixedFile(0)) == kEbadf);  // the old registration is gone
}

TEST_CASE("FileTable moves: the moved-from table is empty and unregisters nothing") {
  Ring ring = make_ring();
  NamedFiles files(2);
  auto created = FileTable::create(ring, files.fds);
  REQUIRE_MESSAGE(created.ok(), created.error().message);
  FileTable table = std::move(created.value());
  CHECK_FALSE(created->registered());
  CHECK(table.registered());
  {
    FileTable moved(std::move(table));
    CHECK_FALSE(table.registered());
    CHECK(read_slot(ring, FixedFile(1)) == "file-1");
    FileTable assigned;
    assigned = std::move(moved);
    CHECK(read_slot(ring, FixedFile(0)) == "file-0");
    CHECK_FALSE(moved.update(0, std::vector<int>{-1}).ok());  // empty: ENXIO, says why
  }                                                           // `assigned` unregisters here, once
  CHECK(read_slot(ring, FixedFile(0)) == kEbadf);
  CHECK(table.unregister().ok());  // nothing to do
  auto fresh = FileTable::create(ring, files.fds);
  CHECK(fresh.ok());
}

TEST_CASE("a sparse table fills through update(), emptied slots are EBADF again") {
  Ring ring = make_ring();
  NamedFiles files(3);
  auto table = FileTable::create_sparse(ring, 8);
  REQUIRE_MESSAGE(table.ok(), table.error().message);
  CHECK(table->size() == 8);
  CHECK(read_slot(ring, FixedFile(0)) == kEbadf);

  auto updated = table->update(5, files.fds);
  REQUIRE_MESSAGE(updated.ok(), updated.error().message);
  CHECK(*updated == 3);
  CHECK(read_slot(ring, FixedFile(5)) == "file-0");
  CHECK(read_slot(ring, FixedFile(7)) == "file-2");
  // SKIP leaves a slot, -1 empties one.
  const int edit[] = {abi::IORING_REGISTER_FILES_SKIP, -1};
  CHECK(table->update(5, edit).value() == 2);
  CHECK(read_slot(ring, FixedFile(5)) == "file-0");
  CHECK(read_slot(ring, FixedFile(6)) == kEbadf);
  // Past the end: refused before the kernel is asked.
  auto past = table->update(7, files.fds);
  REQUIRE_FALSE(past.ok());
  CHECK(past.code() == EINVAL);
  CHECK(past.error().message.find("past the table") != std::string::npos);
}

TEST_CASE("tagged files post a CQE with their tag when updated away and when unregistered") {
  URING_REQUIRE(testing::missing_feature(abi::IORING_FEAT_RSRC_TAGS));
  Ring ring = make_ring();
  NamedFiles files(3);
  const std::uint64_t kTagA = 0x7a6000000001, kTagB = 0x7a6000000002, kTagC = 0x7a6000000003;
  const std::uint64_t tags[] = {kTagA, 0, kTagB};
  auto table = FileTable::create(ring, files.fds, tags);
  REQUIRE_MESSAGE(table.ok(), table.error().message);
  CHECK(read_slot(ring, FixedFile(2)) == "file-2");
  CHECK(collect_stray(ring).empty());  // nothing posted while the files stay

  // Replace slot 0: tag A comes back, result 0.
  const int one[] = {files.fds[1]};
  const std::uint64_t one_tag[] = {kTagC};
  CHECK(table->update(0, one, one_tag).value() == 1);
  auto posted = submit_and_collect(ring, 1);
  REQUIRE(posted.size() == 1);
  CHECK(posted[0].data == kTagA);
  CHECK(posted[0].res == 0);
  CHECK(read_slot(ring, FixedFile(0)) == "file-1");

  // Unregister: B and C (slot 1 was untagged).
  REQUIRE(table->unregister().ok());
  posted = submit_and_collect(ring, 2);
  std::set<std::uint64_t> seen;
  for (const Completion& c : posted) seen.insert(c.data);
  CHECK(seen == std::set<std::uint64_t>{kTagB, kTagC});
  CHECK(collect_stray(ring).empty());

  // What the library can know is refused before the kernel sees it.
  const std::uint64_t wrong_count[] = {1, 2};
  auto bad = FileTable::create(ring, files.fds, wrong_count);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.code() == EINVAL);
  const int with_hole[] = {files.fds[0], -1};
  const std::uint64_t hole_tag[] = {0, 5};
  bad = FileTable::create(ring, with_hole, hole_tag);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message.find("empty but has a tag") != std::string::npos);
}

TEST_CASE("the original registration calls (RegisterApi::kLegacy) work too, without tags") {
  Ring ring = make_ring();
  NamedFiles files(2);
  {
    auto table = FileTable::create(ring, files.fds, {}, RegisterApi::kLegacy);
    REQUIRE_MESSAGE(table.ok(), table.error().message);
    CHECK(read_slot(ring, FixedFile(1)) == "file-1");
    const std::uint64_t tags[] = {1, 2};
    auto refused = table->update(0, files.fds, tags);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().message.find("tags need") != std::string::npos);
  }
  auto sparse = FileTable::create_sparse(ring, 4, RegisterApi::kLegacy);
  REQUIRE_MESSAGE(sparse.ok(), sparse.error().message);
  CHECK(read_slot(ring, FixedFile(3)) == kEbadf);
  CHECK(sparse->update(3, std::vector<int>{files.fds[0]}).value() == 1);
  CHECK(read_slot(ring, FixedFile(3)) == "file-0");
}

TEST_CASE("FILES_UPDATE op: into given slots, and into slots the kernel allocates") {
  Ring ring = make_ring();
  const Probe probe = probe_of(ring);
  URING_REQUIRE_OP(probe, abi::IORING_OP_FILES_UPDATE);
  NamedFiles files(3);
  auto table = FileTable::create_sparse(ring, 8);
  REQUIRE_MESSAGE(table.ok(), table.error().message);

  CHECK(run_one(ring, [&](Sqe& s) { prep_files_update(s, files.fds.data(), 2, 4); }) == 2);
  CHECK(read_slot(ring, FixedFile(4)) == "file-0");
  CHECK(read_slot(ring, FixedFile(5)) == "file-1");
  const int empty_one[] = {-1};
  CHECK(run_one(ring, [&](Sqe& s) { prep_files_update(s, empty_one, 1, 4); }) == 1);
  CHECK(read_slot(ring, FixedFile(4)) == kEbadf);

  int alloc[] = {files.fds[2], files.fds[0]};
  CHECK(run_one(ring, [&](Sqe& s) { prep_files_update_alloc(s, alloc, 2); }) == 2);
  for (int slot : alloc) {
    CHECK(slot >= 0);
    CHECK(slot < 8);
    CHECK(slot != 5);
  }
  CHECK(read_slot(ring, FixedFile::checked(alloc[0]).value()) == "file-2");
  CHECK(read_slot(ring, FixedFile::checked(alloc[1]).value()) == "file-0");
  CHECK(run_one(ring, [&](Sqe& s) { prep_files_update(s, files.fds.data(), 2, 7); }) ==
        -EINVAL);  // past the end
}

TEST_CASE("OPENAT/OPENAT2 into DirectSlots, CLOSE of a slot") {
  URING_REQUIRE(testing::missing_op(abi::IORING_OP_OPENAT));
  URING_REQUIRE(testing::missing_op(abi::IORING_OP_OPENAT2));
  Ring ring = make_ring();
  NamedFiles files(2);
  auto table = FileTable::create_sparse(ring, 8);
  REQUIRE_MESSAGE(table.ok(), table.error().message);
  const int fds_before = testing::open_fd_count();
  const char* path0 = files.paths[0].c_str();

  CHECK(run_one(ring, [&](Sqe& s) { prep_openat_direct(s, AT_FDCWD, path0, O_RDONLY, 0, DirectSlot(1)); }) ==
        0);
  CHECK(read_slot(ring, FixedFile(1)) == "file-0");
  abi::open_how how{};
  how.flags = O_RDONLY;
  CHECK(run_one(ring, [&](Sqe& s) {
          prep_openat2_direct(s, AT_FDCWD, files.paths[1].c_str(), &how, DirectSlot(2));
        }) == 0);
  CHECK(read_slot(ring, FixedFile(2)) == "file-1");
  CHECK(testing::open_fd_count() == fds_before);  // direct descriptors are not fds

  // O_CLOEXEC means nothing for a slot: refused.
  CHECK(run_one(ring, [&](Sqe& s) {
          prep_openat_direct(s, AT_FDCWD, path0, O_RDONLY | O_CLOEXEC, 0, DirectSlot(3));
        }) == -EINVAL);

  // CLOSE of a slot empties it; closing it again is EBADF; the other stays.
  CHECK(run_one(ring, [&](Sqe& s) { prep_close(s, FixedFile(1)); }) == 0);
  CHECK(read_slot(ring, FixedFile(1)) == kEbadf);
  CHECK(run_one(ring, [&](Sqe& s) { prep_close(s, FixedFile(1)); }) == -EBADF);
  CHECK(read_slot(ring, FixedFile(2)) == "file-1");
  CHECK(testing::open_fd_count() == fds_before);
}

TEST_CASE(
    "a run-time slot goes through DirectSlot::checked: into that slot, never a normal fd (issue 12, item "
    "10)") {
  URING_REQUIRE(testing::missing_op(abi::IORING_OP_OPENAT));
  Ring ring = make_ring();
  NamedFiles files(1);
  auto table = FileTable::create_sparse(ring, 8);
  REQUIRE_MESSAGE(table.ok(), table.error().message);
  const int fds_before = testing::open_fd_count();
  const char* path0 = files.paths[0].c_str();

  for (unsigned slot = 5; slot < 8; ++slot) {
    const std::optional<DirectSlot> where = DirectSlot::checked(slot);
    REQUIRE(where.has_value());
    CHECK(run_one(ring, [&](Sqe& s) { prep_openat_direct(s, AT_FDCWD, path0, O_RDONLY, 0, *where); }) == 0);
    CHECK(read_slot(ring, FixedFile::checked(slot).value()) == "file-0");
  }
  // A slot past this table but below kMaxFileSlots: the kernel refuses it.
  CHECK(run_one(ring, [&](Sqe& s) {
          prep_openat_direct(s, AT_FDCWD, path0, O_RDONLY, 0, DirectSlot::checked(8).value());
        }) == -EINVAL);
  // What used to wrap to "no direct descriptor" and open a normal fd cannot be made.
  CHECK_FALSE(DirectSlot::checked(abi::IORING_FILE_INDEX_ALLOC).has_value());
  CHECK(testing::open_fd_count() == fds_before);  // no normal fd was opened
}

TEST_CASE("DirectSlot::any() allocates within the alloc range; a closed slot is allocated again") {
  URING_REQUIRE(testing::missing_op(abi::IORING_OP_OPENAT));
  URING_REQUIRE(testing::missing_op(abi::IORING_OP_OPENAT2));
  URING_REQUIRE(testing::missing_register_op(abi::IORING_REGISTER_FILE_ALLOC_RANGE));
  Ring ring = make_ring();
  NamedFiles files(1);
  auto table = FileTable::create_sparse(ring, 8);
  REQUIRE_MESSAGE(table.ok(), table.error().message);
  const int fds_before = testing::open_fd_count();
  const char* path0 = files.paths[0].c_str();
  abi::open_how how{};
  how.flags = O_RDONLY;

  auto range = table->set_alloc_range(5, 2);
  REQUIRE_MESSAGE(range.ok(), range.error().message);
  std::set<int> picked;
  for (int i = 0; i < 2; ++i) {
    const int slot = run_one(
        ring, [&](Sqe& s) { prep_openat_direct(s, AT_FDCWD, path0, O_RDONLY, 0, DirectSlot::any()); });
    CHECK(slot >= 5);
    CHECK(slot < 7);
    picked.insert(slot);
    CHECK(read_slot(ring, FixedFile::checked(slot).value()) == "file-0");
  }
  CHECK(picked.size() == 2);
  CHECK(run_one(ring, [&](Sqe& s) { prep_openat2_direct(s, AT_FDCWD, path0, &how, DirectSlot::any()); }) ==
        -ENFILE);
  CHECK_FALSE(table->set_alloc_range(6, 3).ok());  // past the table: refused before the kernel

  // The freed slot is the one allocated next.
  CHECK(run_one(ring, [&](Sqe& s) { prep_close(s, FixedFile(5)); }) == 0);
  CHECK(read_slot(ring, FixedFile(5)) == kEbadf);
  CHECK(run_one(ring, [&](Sqe& s) {
          prep_openat_direct(s, AT_FDCWD, path0, O_RDONLY, 0, DirectSlot::any());
        }) == 5);
  CHECK(testing::open_fd_count() == fds_before);
}

TEST_CASE("FIXED_FD_INSTALL turns a slot into a working normal fd") {
  Ring ring = make_ring();
  const Probe probe = probe_of(ring);
  URING_REQUIRE_OP(probe, abi::IORING_OP_FIXED_FD_INSTALL);
  NamedFiles files(1);
  auto table = FileTable::create_sparse(ring, 4);
  REQUIRE_MESSAGE(table.ok(), table.error().message);
  const char* path = files.paths[0].c_str();
  CHECK(run_one(ring, [&](Sqe& s) { prep_openat_direct(s, AT_FDCWD, path, O_RDONLY, 0, DirectSlot(0)); }) ==
        0);
  const int fds_before = testing::open_fd_count();

  const int fd = run_one(ring, [&](Sqe& s) { prep_fixed_fd_install(s, FixedFile(0)); });
  REQUIRE(fd >= 0);
  Fd installed(fd);
  CHECK(testing::open_fd_count() == fds_before + 1);
  char buf[16] = {};
  CHECK(::pread(fd, buf, sizeof buf, 0) == 6);
  CHECK(std::string(buf, 6) == "file-0");
  CHECK((::fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);  // the default

  const int fd2 =
      run_one(ring, [&](Sqe& s) { prep_fixed_fd_install(s, FixedFile(0), abi::IORING_FIXED_FD_NO_CLOEXEC); });
  REQUIRE(fd2 >= 0);
  Fd installed2(fd2);
  CHECK((::fcntl(fd2, F_GETFD) & FD_CLOEXEC) == 0);
  // The slot still works after the fds are made, and an empty slot cannot be installed.
  CHECK(read_slot(ring, FixedFile(0)) == "file-0");
  CHECK(run_one(ring, [&](Sqe& s) { prep_fixed_fd_install(s, FixedFile(3)); }) == -EBADF);
  installed.reset();
  installed2.reset();
  CHECK(testing::open_fd_count() == fds_before);
}

TEST_CASE("registered buffers: slots, buffer(), round trips") {
  Ring ring = make_ring();
  testing::TempDir dir;
  const std::string path = dir.path() + "/buffers";
  Fd fd(::open(path.c_str(), O_RDWR | O_CREAT, 0644));
  REQUIRE(fd.get() >= 0);
  std::vector<char> a(4096, 'a'), b(8192, 'b');
  const iovec regions[] = {{a.data(), a.size()}, {b.data(), b.size()}};
  {
    auto table = BufferTable::create(ring, regions);
    REQUIRE_MESSAGE(table.ok(), table.error().message);
    CHECK(table->size() == 2);
    CHECK(table->buffer(FixedBuffer(1)).iov_base == b.data());
    CHECK(table->buffer(FixedBuffer(1)).iov_len == b.size());
    CHECK(table->buffer(FixedBuffer(2)).iov_base == nullptr);
    auto sqe = table->write_fixed(fd.get(), b.data() + 100, 50, 0, FixedBuffer(1));
    REQUIRE(sqe.ok());
    (*sqe)->set_user_data(1);
    CHECK(submit_and_collect(ring, 1)[0].res == 50);
    CHECK(file_content(path) == std::string(50, 'b'));
    sqe = table->read_fixed(fd.get(), a.data() + 10, 50, 0, FixedBuffer(0));
    REQUIRE(sqe.ok());
    (*sqe)->set_user_data(2);
    CHECK(submit_and_collect(ring, 1)[0].res == 50);
    CHECK(std::string(a.data() + 10, 50) == std::string(50, 'b'));
    CHECK(a[9] == 'a');
    CHECK(a[60] == 'a');
    auto second = BufferTable::create(ring, regions);
    CHECK(second.code() == EBUSY);
  }
}

TEST_CASE("registered buffers: sparse tables updated with tags") {
  URING_REQUIRE(testing::missing_feature(abi::IORING_FEAT_RSRC_TAGS));
  Ring ring = make_ring();
  testing::TempDir dir;
  const std::string path = make_file(dir, "buffers", std::string(50, 'b'));
  Fd fd(::open(path.c_str(), O_RDWR));
  REQUIRE(fd.get() >= 0);
  std::vector<char> a(4096, 'a');
  auto sparse = BufferTable::create_sparse(ring, 4);
  REQUIRE_MESSAGE(sparse.ok(), sparse.error().message);
  // An empty slot: the table refuses before submission, the kernel with -EFAULT.
  auto refused = sparse->read_fixed(fd.get(), a.data(), 10, 0, FixedBuffer(1));
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.code() == EFAULT);
  CHECK(refused.error().message.find("empty slot") != std::string::npos);
  CHECK(run_one(ring, [&](Sqe& s) { prep_read_fixed(s, fd.get(), a.data(), 10, 0, FixedBuffer(1)); }) ==
        -EFAULT);

  const std::uint64_t kTag = 0xb0f7a6;
  const iovec fill[] = {{a.data(), a.size()}};
  const std::uint64_t tag[] = {kTag};
  CHECK(sparse->update(1, fill, tag).value() == 1);
  CHECK(sparse->buffer(FixedBuffer(1)).iov_base == a.data());
  auto sqe = sparse->read_fixed(fd.get(), a.data() + 1000, 50, 0, FixedBuffer(1));
  REQUIRE_MESSAGE(sqe.ok(), sqe.error().message);
  (*sqe)->set_user_data(3);
  auto done = submit_and_collect(ring, 1);
  CHECK(done[0].data == 3);
  CHECK(done[0].res == 50);
  CHECK(std::string(a.data() + 1000, 50) == std::string(50, 'b'));
  CHECK(collect_stray(ring).empty());
  // Emptying the slot releases the buffer: its tag is posted.
  const iovec empty[] = {{nullptr, 0}};
  CHECK(sparse->update(1, empty).value() == 1);
  done = submit_and_collect(ring, 1);
  REQUIRE(done.size() == 1);
  CHECK(done[0].data == kTag);
  CHECK(done[0].res == 0);
  CHECK(sparse->buffer(FixedBuffer(1)).iov_base == nullptr);
  // Re-tag and unregister: posted again.
  CHECK(sparse->update(3, fill, tag).value() == 1);
  REQUIRE(sparse->unregister().ok());
  done = submit_and_collect(ring, 1);
  CHECK(done[0].data == kTag);
  CHECK_FALSE(sparse->registered());
  // A tag on an empty slot is refused before the kernel sees it.
  auto again = BufferTable::create_sparse(ring, 2);
  REQUIRE(again.ok());
  auto bad = again->update(0, empty, tag);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.code() == EINVAL);
}

TEST_CASE("BufferTable moves and the legacy registration call") {
  Ring ring = make_ring();
  std::vector<char> memory(4096, 'm');
  const iovec region{memory.data(), memory.size()};
  auto created = BufferTable::create(ring, {&region, 1}, {}, RegisterApi::kLegacy);
  REQUIRE_MESSAGE(created.ok(), created.error().message);
  BufferTable table(std::move(created.value()));
  CHECK_FALSE(created->registered());
  CHECK(created->size() == 0);
  CHECK(table.buffer(FixedBuffer(0)).iov_base == memory.data());
  BufferTable other;
  other = std::move(table);
  CHECK_FALSE(table.read_fixed(0, memory.data(), 1, 0, FixedBuffer(0)).ok());  // moved from
  CHECK(other.check_range(FixedBuffer(0), memory.data(), 4096).ok());
  REQUIRE(other.unregister().ok());
  auto fresh = BufferTable::create(ring, {&region, 1});  // slot free again: no EBUSY
  CHECK(fresh.ok());
}
