// File-system ops: open/close, statx against stat(2), directory entries,
// space management, sync and advice — each checked by its effect.
#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>  // RESOLVE_* (struct open_how itself comes from abi.h)
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>  // makedev
#include <unistd.h>

#include <set>

#include "tests/files/files_test_util.h"

using namespace uring;
using namespace uring::files_test;

namespace {

std::set<std::string> list_dir(const std::string& path) {
  std::set<std::string> names;
  DIR* dir = ::opendir(path.c_str());
  REQUIRE(dir != nullptr);
  while (dirent* entry = ::readdir(dir)) {
    const std::string name = entry->d_name;
    if (name != "." && name != "..") names.insert(name);
  }
  ::closedir(dir);
  return names;
}

struct stat stat_of(const std::string& path) {
  struct stat st {};
  REQUIRE(::lstat(path.c_str(), &st) == 0);
  return st;
}

}  // namespace

TEST_CASE("OPENAT creates and opens, CLOSE closes: no fd leaks") {
  Ring ring = make_ring();
  const Probe probe = probe_of(ring);
  URING_REQUIRE_OP(probe, abi::IORING_OP_OPENAT);
  URING_REQUIRE_OP(probe, abi::IORING_OP_CLOSE);
  testing::TempDir dir;
  const int fds_before = testing::open_fd_count();
  const std::string path = dir.path() + "/opened";

  const int fd =
      run_one(ring, [&](Sqe& s) { prep_openat(s, AT_FDCWD, path.c_str(), O_RDWR | O_CREAT | O_EXCL, 0640); });
  REQUIRE(fd >= 0);
  const mode_t umask_now = ::umask(0);
  ::umask(umask_now);
  CHECK((stat_of(path).st_mode & 0777) == (0640 & ~umask_now));
  CHECK(::write(fd, "via openat", 10) == 10);
  CHECK(file_content(path) == "via openat");
  CHECK(testing::open_fd_count() == fds_before + 1);
  // O_EXCL on an existing file: the kernel's error comes back.
  CHECK(run_one(ring, [&](Sqe& s) {
          prep_openat(s, AT_FDCWD, path.c_str(), O_RDWR | O_CREAT | O_EXCL, 0640);
        }) == -EEXIST);
  // Relative to a directory fd.
  Fd dir_fd(::open(dir.path().c_str(), O_RDONLY | O_DIRECTORY));
  REQUIRE(dir_fd.get() >= 0);
  const int fd2 = run_one(ring, [&](Sqe& s) { prep_openat(s, dir_fd.get(), "opened", O_RDONLY, 0); });
  REQUIRE(fd2 >= 0);
  char buf[16] = {};
  CHECK(::read(fd2, buf, sizeof buf) == 10);

  CHECK(run_one(ring, [&](Sqe& s) { prep_close(s, fd); }) == 0);
  CHECK(run_one(ring, [&](Sqe& s) { prep_close(s, fd2); }) == 0);
  CHECK(::fcntl(fd, F_GETFD) == -1);
  CHECK(run_one(ring, [&](Sqe& s) { prep_close(s, fd); }) == -EBADF);
  dir_fd.reset();
  CHECK(testing::open_fd_count() == fds_before);
}

TEST_CASE("OPENAT2 honours open_how: flags, mode and RESOLVE_BENEATH") {
  Ring ring = make_ring();
  const Probe probe = probe_of(ring);
  URING_REQUIRE_OP(probe, abi::IORING_OP_OPENAT2);
  testing::TempDir dir;
  make_file(dir, "inside", "beneath");
  Fd dir_fd(::open(dir.path().c_str(), O_RDONLY | O_DIRECTORY));
  REQUIRE(dir_fd.get() >= 0);

  abi::open_how how{};
  how.flags = O_RDONLY | O_CLOEXEC;
  how.resolve = RESOLVE_BENEATH;
  const int fd = run_one(ring, [&](Sqe& s) { prep_openat2(s, dir_fd.get(), "inside", &how); });
  REQUIRE(fd >= 0);
  Fd opened(fd);
  char buf[16] = {};
  CHECK(::read(fd, buf, sizeof buf) == 7);
  CHECK(std::string(buf, 7) == "beneath");
  CHECK((::fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);
  // Escaping the directory is refused by RESOLVE_BENEATH (plain openat would allow it).
  CHECK(run_one(ring, [&](Sqe& s) { prep_openat2(s, dir_fd.get(), "../", &how); }) == -EXDEV);

  abi::open_how create{};
  create.flags = O_WRONLY | O_CREAT | O_EXCL;
  create.mode = 0600;
  const int fd2 = run_one(ring, [&](Sqe& s) { prep_openat2(s, dir_fd.get(), "made", &create); });
  REQUIRE(fd2 >= 0);
  Fd made(fd2);
  CHECK(S_ISREG(stat_of(dir.path() + "/made").st_mode));
  CHECK((stat_of(dir.path() + "/made").st_mode & 0077) == 0);
  // Unknown open_how.resolve bits are refused.
  abi::open_how bad{};
  bad.resolve = 1ull << 40;
  CHECK(run_one(ring, [&](Sqe& s) { prep_openat2(s, dir_fd.get(), "inside", &bad); }) == -EINVAL);
}

TEST_CASE("STATX matches stat(2)") {
  Ring ring = make_ring();
  const Probe probe = probe_of(ring);
  URING_REQUIRE_OP(probe, abi::IORING_OP_STATX);
  testing::TempDir dir;
  const std::vector<unsigned char> data = random_bytes(12345, 3);
  const std::string path = make_file(dir, "stat-me", data.data(), data.size());
  REQUIRE(::chmod(path.c_str(), 0604) == 0);

  struct statx sx {};
  CHECK(run_one(ring, [&](Sqe& s) { prep_statx(s, AT_FDCWD, path.c_str(), 0, STATX_BASIC_STATS, &sx); }) ==
        0);
  const struct stat st = stat_of(path);
  CHECK((sx.stx_mask & STATX_BASIC_STATS) == STATX_BASIC_STATS);
  CHECK(sx.stx_size == static_cast<std::uint64_t>(st.st_size));
  CHECK(sx.stx_size == 12345);
  CHECK(sx.stx_mode == st.st_mode);
  CHECK((sx.stx_mode & 07777) == 0604);
  CHECK(sx.stx_ino == st.st_ino);
  CHECK(sx.stx_nlink == st.st_nlink);
  CHECK(sx.stx_uid == st.st_uid);
  CHECK(sx.stx_gid == st.st_gid);
  CHECK(sx.stx_blocks == static_cast<std::uint64_t>(st.st_blocks));
  CHECK(sx.stx_mtime.tv_sec == st.st_mtim.tv_sec);
  CHECK(sx.stx_mtime.tv_nsec == static_cast<std::uint32_t>(st.st_mtim.tv_nsec));
  CHECK(makedev(sx.stx_dev_major, sx.stx_dev_minor) == st.st_dev);

  // AT_EMPTY_PATH on a directory fd stats the directory itself; AT_SYMLINK_NOFOLLOW a link.
  Fd dir_fd(::open(dir.path().c_str(), O_RDONLY | O_DIRECTORY));
  struct statx dx {};
  CHECK(run_one(ring, [&](Sqe& s) {
          prep_statx(s, dir_fd.get(), "", AT_EMPTY_PATH, STATX_TYPE | STATX_INO, &dx);
        }) == 0);
  CHECK(S_ISDIR(dx.stx_mode));
  CHECK(dx.stx_ino == stat_of(dir.path()).st_ino);
  REQUIRE(::symlink("stat-me", (dir.path() + "/link").c_str()) == 0);
  struct statx lx {};
  CHECK(run_one(ring, [&](Sqe& s) {
          prep_statx(s, dir_fd.get(), "link", AT_SYMLINK_NOFOLLOW, STATX_TYPE, &lx);
        }) == 0);
  CHECK(S_ISLNK(lx.stx_mode));
  CHECK(run_one(ring, [&](Sqe& s) { prep_statx(s, dir_fd.get(), "missing", 0, STATX_TYPE, &lx); }) ==
        -ENOENT);
}

TEST_CASE("MKDIRAT, RENAMEAT, LINKAT, SYMLINKAT, UNLINKAT: each change is visible in the directory") {
  Ring ring = make_ring();
  const Probe probe = probe_of(ring);
  for (unsigned op : {abi::IORING_OP_MKDIRAT, abi::IORING_OP_RENAMEAT, abi::IORING_OP_LINKAT,
                      abi::IORING_OP_SYMLINKAT, abi::IORING_OP_UNLINKAT}) {
    URING_REQUIRE_OP(probe, op);
  }
  testing::TempDir dir;
  const std::string& d = dir.path();
  Fd dir_fd(::open(d.c_str(), O_RDONLY | O_DIRECTORY));
  REQUIRE(dir_fd.get() >= 0);
  make_file(dir, "file", "content");

  CHECK(run_one(ring, [&](Sqe& s) { prep_mkdirat(s, dir_fd.get(), "sub", 0750); }) == 0);
  CHECK(S_ISDIR(stat_of(d + "/sub").st_mode));
  CHECK(run_one(ring, [&](Sqe& s) { prep_mkdirat(s, dir_fd.get(), "sub", 0750); }) == -EEXIST);
  CHECK(list_dir(d) == std::set<std::string>{"file", "sub"});

  // rename into the subdirectory, relative to two directory fds
  Fd sub_fd(::open((d + "/sub").c_str(), O_RDONLY | O_DIRECTORY));
  REQUIRE(sub_fd.get() >= 0);
  const ino_t ino = stat_of(d + "/file").st_ino;
  CHECK(run_one(ring, [&](Sqe& s) { prep_renameat(s, dir_fd.get(), "file", sub_fd.get(), "moved"); }) == 0);
  CHECK(list_dir(d) == std::set<std::string>{"sub"});
  CHECK(list_dir(d + "/sub") == std::set<std::string>{"moved"});
  CHECK(stat_of(d + "/sub/moved").st_ino == ino);
  CHECK(file_content(d + "/sub/moved") == "content");

  // hard link: same inode, link count 2
  // Paths must outlive the request: the kernel reads them at submission.
  const std::string moved = d + "/sub/moved";
  CHECK(run_one(ring, [&](Sqe& s) { prep_linkat(s, AT_FDCWD, moved.c_str(), dir_fd.get(), "hard"); }) == 0);
  CHECK(stat_of(d + "/hard").st_ino == ino);
  CHECK(stat_of(d + "/hard").st_nlink == 2);

  // RENAME_NOREPLACE reaches the kernel: renaming onto an existing name fails.
  CHECK(run_one(ring, [&](Sqe& s) {
          prep_renameat(s, dir_fd.get(), "hard", sub_fd.get(), "moved", RENAME_NOREPLACE);
        }) == -EEXIST);

  // symlink: readlink gives the target, following it reaches the file
  CHECK(run_one(ring, [&](Sqe& s) { prep_symlinkat(s, "sub/moved", dir_fd.get(), "soft"); }) == 0);
  char target[64] = {};
  CHECK(::readlink((d + "/soft").c_str(), target, sizeof target) == 9);
  CHECK(std::string(target) == "sub/moved");
  CHECK(file_content(d + "/soft") == "content");
  CHECK(list_dir(d) == std::set<std::string>{"sub", "hard", "soft"});

  // LINKAT with AT_SYMLINK_FOLLOW links the target, without it the link itself.
  CHECK(run_one(ring, [&](Sqe& s) {
          prep_linkat(s, dir_fd.get(), "soft", dir_fd.get(), "followed", AT_SYMLINK_FOLLOW);
        }) == 0);
  CHECK(stat_of(d + "/followed").st_ino == ino);

  // unlink: names go away, the link count drops
  CHECK(run_one(ring, [&](Sqe& s) { prep_unlinkat(s, dir_fd.get(), "hard"); }) == 0);
  CHECK(run_one(ring, [&](Sqe& s) { prep_unlinkat(s, dir_fd.get(), "followed"); }) == 0);
  CHECK(run_one(ring, [&](Sqe& s) { prep_unlinkat(s, dir_fd.get(), "soft"); }) == 0);
  CHECK(stat_of(d + "/sub/moved").st_nlink == 1);
  CHECK(list_dir(d) == std::set<std::string>{"sub"});

  // directories: plain unlink refuses, AT_REMOVEDIR needs it empty
  CHECK(run_one(ring, [&](Sqe& s) { prep_unlinkat(s, dir_fd.get(), "sub"); }) == -EISDIR);
  CHECK(run_one(ring, [&](Sqe& s) { prep_unlinkat(s, dir_fd.get(), "sub", AT_REMOVEDIR); }) == -ENOTEMPTY);
  CHECK(run_one(ring, [&](Sqe& s) { prep_unlinkat(s, sub_fd.get(), "moved"); }) == 0);
  CHECK(run_one(ring, [&](Sqe& s) { prep_unlinkat(s, dir_fd.get(), "sub", AT_REMOVEDIR); }) == 0);
  CHECK(list_dir(d).empty());
  CHECK_FALSE(path_exists(d + "/sub"));
}

TEST_CASE("FALLOCATE and FTRUNCATE set the file size and allocation") {
  Ring ring = make_ring();
  const Probe probe = probe_of(ring);
  URING_REQUIRE_OP(probe, abi::IORING_OP_FALLOCATE);
  testing::TempDir dir;
  const std::string path = dir.path() + "/space";
  Fd fd(::open(path.c_str(), O_RDWR | O_CREAT, 0644));
  REQUIRE(fd.get() >= 0);

  CHECK(run_one(ring, [&](Sqe& s) { prep_fallocate(s, fd.get(), 0, 0, 1 << 20); }) == 0);
  CHECK(stat_of(path).st_size == 1 << 20);
  const blkcnt_t blocks = stat_of(path).st_blocks;
  CHECK(blocks * 512 >= 1 << 20);
  // KEEP_SIZE: more blocks, same size (mode and length go to different SQE fields).
  CHECK(run_one(ring, [&](Sqe& s) { prep_fallocate(s, fd.get(), FALLOC_FL_KEEP_SIZE, 1 << 20, 1 << 20); }) ==
        0);
  CHECK(stat_of(path).st_size == 1 << 20);
  CHECK(stat_of(path).st_blocks > blocks);
  CHECK(run_one(ring, [&](Sqe& s) { prep_fallocate(s, fd.get(), 0, 0, 0); }) == -EINVAL);

  if (!probe.supports(abi::IORING_OP_FTRUNCATE)) {
    URING_SKIP(probe.unsupported_reason(abi::IORING_OP_FTRUNCATE));
  }
  CHECK(run_one(ring, [&](Sqe& s) { prep_ftruncate(s, fd.get(), 12345); }) == 0);
  CHECK(stat_of(path).st_size == 12345);
  CHECK(run_one(ring, [&](Sqe& s) { prep_ftruncate(s, fd.get(), 3u << 30); }) == 0);  // sparse, past 2 GiB
  CHECK(stat_of(path).st_size == 3ll << 30);
  CHECK(run_one(ring, [&](Sqe& s) { prep_ftruncate(s, fd.get(), 0); }) == 0);
  CHECK(stat_of(path).st_size == 0);
  Fd read_only(::open(path.c_str(), O_RDONLY));
  const int refused = run_one(ring, [&](Sqe& s) { prep_ftruncate(s, read_only.get(), 10); });
  CHECK((refused == -EINVAL || refused == -EBADF));  // not open for writing
}

TEST_CASE("FSYNC (and DATASYNC, and a range) and SYNC_FILE_RANGE succeed; bad flags are refused") {
  Ring ring = make_ring();
  const Probe probe = probe_of(ring);
  testing::TempDir dir;
  const std::string path = dir.path() + "/synced";
  Fd fd(::open(path.c_str(), O_RDWR | O_CREAT, 0644));
  REQUIRE(fd.get() >= 0);
  REQUIRE(::write(fd.get(), "to disk", 7) == 7);

  CHECK(run_one(ring, [&](Sqe& s) { prep_fsync(s, fd.get()); }) == 0);
  CHECK(run_one(ring, [&](Sqe& s) { prep_fsync(s, fd.get(), abi::IORING_FSYNC_DATASYNC); }) == 0);
  CHECK(run_one(ring, [&](Sqe& s) { prep_fsync_range(s, fd.get(), 0, 4096, abi::IORING_FSYNC_DATASYNC); }) ==
        0);
  CHECK(run_one(ring, [&](Sqe& s) { prep_fsync(s, fd.get(), 2); }) == -EINVAL);  // unknown fsync flag
  CHECK(run_one(ring, [&](Sqe& s) { prep_fsync(s, -1); }) == -EBADF);
  CHECK(file_content(path) == "to disk");

  URING_REQUIRE_OP(probe, abi::IORING_OP_SYNC_FILE_RANGE);
  CHECK(run_one(ring, [&](Sqe& s) {
          prep_sync_file_range(
              s, fd.get(), 0, 7,
              SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER);
        }) == 0);
  CHECK(run_one(ring, [&](Sqe& s) { prep_sync_file_range(s, fd.get(), 0, 7, 0x100); }) == -EINVAL);
}

TEST_CASE("FADVISE and MADVISE reach the kernel: MADV_DONTNEED zeroes anonymous pages") {
  Ring ring = make_ring();
  const Probe probe = probe_of(ring);
  URING_REQUIRE_OP(probe, abi::IORING_OP_FADVISE);
  testing::TempDir dir;
  const std::vector<unsigned char> data = random_bytes(64 * 1024, 5);
  const std::string path = make_file(dir, "advised", data.data(), data.size());
  Fd fd(::open(path.c_str(), O_RDONLY));
  REQUIRE(fd.get() >= 0);
  CHECK(run_one(ring, [&](Sqe& s) { prep_fadvise(s, fd.get(), 0, data.size(), POSIX_FADV_SEQUENTIAL); }) ==
        0);
  CHECK(run_one(ring, [&](Sqe& s) { prep_fadvise(s, fd.get(), 0, 0, POSIX_FADV_WILLNEED); }) == 0);
  CHECK(run_one(ring, [&](Sqe& s) { prep_fadvise(s, fd.get(), 0, data.size(), POSIX_FADV_DONTNEED); }) == 0);
  CHECK(run_one(ring, [&](Sqe& s) { prep_fadvise(s, fd.get(), 0, 4096, 12345); }) == -EINVAL);
  // A length past 4 GiB uses the 64-bit field (Linux 6.11); older kernels refuse it.
  const int big = run_one(ring, [&](Sqe& s) { prep_fadvise(s, fd.get(), 0, 5ull << 30, POSIX_FADV_NORMAL); });
  CHECK((big == 0 || (big == -EINVAL && kernel_version_code() < version_code("6.11"))));
  Fd pipe_read, pipe_write;
  {
    int p[2];
    REQUIRE(::pipe(p) == 0);
    pipe_read.reset(p[0]);
    pipe_write.reset(p[1]);
  }
  CHECK(run_one(ring, [&](Sqe& s) { prep_fadvise(s, pipe_read.get(), 0, 10, POSIX_FADV_NORMAL); }) ==
        -ESPIPE);

  URING_REQUIRE_OP(probe, abi::IORING_OP_MADVISE);
  const std::size_t page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  void* mapping = ::mmap(nullptr, 4 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  REQUIRE(mapping != MAP_FAILED);
  auto* bytes = static_cast<unsigned char*>(mapping);
  std::memset(bytes, 0xab, 4 * page);
  CHECK(run_one(ring, [&](Sqe& s) { prep_madvise(s, bytes + page, 2 * page, MADV_DONTNEED); }) == 0);
  CHECK(bytes[0] == 0xab);
  CHECK(bytes[page] == 0);
  CHECK(bytes[3 * page - 1] == 0);
  CHECK(bytes[3 * page] == 0xab);
  CHECK(run_one(ring, [&](Sqe& s) { prep_madvise(s, bytes, page, 12345); }) == -EINVAL);
  CHECK(run_one(ring, [&](Sqe& s) { prep_madvise(s, bytes + 1, page, MADV_NORMAL); }) ==
        -EINVAL);  // unaligned
  ::munmap(mapping, 4 * page);
}
