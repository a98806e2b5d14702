// File-system ops: open/close, statx against stat(2), directory entries,
// space management, sync and advice — each checked by its effect.
#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>  // RESOLVE_* (struct open_how itself comes from abi.h)
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>  // makedev
#include <sys/vfs.h>
#include <unistd.h>

#include <set>

#include "tests/files/files_test_util.h"
#include "tests/support/kernel_features.h"

#ifndef SYS_cachestat
#define SYS_cachestat 451  // the same number on every architecture (Linux 6.5)
#endif

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

// ---- The page cache of one file, as cachestat(2) counts it ------------------------
// Sync and advice ops have no result worth checking beyond 0; what they do
// shows in the page cache: FSYNC and SYNC_FILE_RANGE turn dirty pages clean,
// FADVISE(DONTNEED) drops clean pages, FADVISE(WILLNEED) reads them in.
// cachestat(2) counts, for a byte range of one file, the pages cached, dirty
// and under writeback, so each test can say which pages changed, and a
// request that did nothing, or worked on the wrong range, fails.

constexpr std::size_t kPage = 4096;

struct CacheRange {
  std::uint64_t off, len;
};
struct CacheStat {
  std::uint64_t cache, dirty, writeback, evicted, recently_evicted;
};

CacheStat cache_stat(int fd, std::size_t first_page, std::size_t pages) {
  CacheRange range{first_page * kPage, pages * kPage};
  CacheStat stat{};
  REQUIRE(::syscall(SYS_cachestat, fd, &range, &stat, 0) == 0);
  return stat;
}

// Why the page cache of files under `dir` cannot be watched, or "" if it
// can: cachestat(2) must exist (Linux 6.5), and the file system must keep
// pages dirty until they are written back (tmpfs, for one, has no writeback).
// Decided with plain system calls on a scratch file, before any io_uring call.
std::string page_cache_unobservable(const std::string& dir) {
  const std::string path = dir + "/cachestat-probe";
  Fd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0644));
  REQUIRE(fd.get() >= 0);
  struct statfs fs {};
  REQUIRE(::fstatfs(fd.get(), &fs) == 0);
  char fs_type[32];
  std::snprintf(fs_type, sizeof fs_type, "0x%lx", static_cast<unsigned long>(fs.f_type));
  const std::vector<unsigned char> page(kPage, 0x5a);
  REQUIRE(::pwrite(fd.get(), page.data(), kPage, 0) == static_cast<ssize_t>(kPage));
  CacheRange range{0, kPage};
  CacheStat before{};
  if (::syscall(SYS_cachestat, fd.get(), &range, &before, 0) != 0) {
    return std::string("cachestat(2) is unavailable (") + std::strerror(errno) +
           "; Linux 6.5), so the page cache of a file cannot be counted";
  }
  REQUIRE(::fsync(fd.get()) == 0);
  CacheStat after{};
  REQUIRE(::syscall(SYS_cachestat, fd.get(), &range, &after, 0) == 0);
  ::unlink(path.c_str());
  if (before.dirty != 1 || after.dirty != 0 || after.cache != 1) {
    return "the file system under " + dir + " (f_type " + fs_type +
           ") shows no dirty page after write(2) or none cleaned by fsync(2): no writeback to observe";
  }
  return {};
}

// A page-cache folio is dropped or written back whole, and one large write
// makes one large folio (ext4 makes them since Linux 6.16): a range that cuts
// a folio would then show nothing. So the tests write one page per pwrite(2),
// which gives every page a folio of its own.
std::string make_paged_file(const testing::TempDir& dir, const std::string& name,
                            const std::vector<unsigned char>& data) {
  REQUIRE(data.size() % kPage == 0);
  const std::string path = dir.path() + "/" + name;
  Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644));
  REQUIRE(fd.get() >= 0);
  for (std::size_t off = 0; off < data.size(); off += kPage) {
    REQUIRE(::pwrite(fd.get(), data.data() + off, kPage, static_cast<off_t>(off)) == static_cast<ssize_t>(kPage));
  }
  return path;
}

// Writes `pages` pages with one pwrite(2) each and returns once all of them
// are dirty. The kernel's flusher may
// clean them at any moment; then they are written again.
void make_dirty(int fd, std::size_t pages, unsigned char fill) {
  const std::vector<unsigned char> page(kPage, fill);
  for (int attempt = 0; attempt < 20; ++attempt) {
    for (std::size_t i = 0; i < pages; ++i) {
      REQUIRE(::pwrite(fd, page.data(), kPage, static_cast<off_t>(i * kPage)) == static_cast<ssize_t>(kPage));
    }
    if (cache_stat(fd, 0, pages).dirty == pages) return;
  }
  FAIL("the flusher kept cleaning the pages before the test could use them dirty");
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

TEST_CASE("FALLOCATE sets the file size and allocation") {
  URING_REQUIRE(testing::missing_op(abi::IORING_OP_FALLOCATE));
  Ring ring = make_ring();
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
}

TEST_CASE("FTRUNCATE sets the file size") {
  URING_REQUIRE(testing::missing_op(abi::IORING_OP_FTRUNCATE));
  Ring ring = make_ring();
  testing::TempDir dir;
  const std::string path = make_file(dir, "truncated", std::string(100000, 't'));
  Fd fd(::open(path.c_str(), O_RDWR));
  REQUIRE(fd.get() >= 0);
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

TEST_CASE("FSYNC and DATASYNC write every dirty page back; a range, only that range") {
  URING_REQUIRE(testing::missing_op(abi::IORING_OP_FSYNC));
  testing::TempDir dir;
  URING_REQUIRE(page_cache_unobservable(dir.path()));
  Ring ring = make_ring();
  const std::string path = dir.path() + "/synced";
  Fd fd(::open(path.c_str(), O_RDWR | O_CREAT, 0644));
  REQUIRE(fd.get() >= 0);
  constexpr std::size_t kPages = 8;

  make_dirty(fd.get(), kPages, 'a');
  CHECK(run_one(ring, [&](Sqe& s) { prep_fsync(s, fd.get()); }) == 0);
  CacheStat all = cache_stat(fd.get(), 0, kPages);
  CHECK(all.cache == kPages);
  CHECK(all.dirty == 0);
  CHECK(all.writeback == 0);

  make_dirty(fd.get(), kPages, 'b');
  CHECK(run_one(ring, [&](Sqe& s) { prep_fsync(s, fd.get(), abi::IORING_FSYNC_DATASYNC); }) == 0);
  all = cache_stat(fd.get(), 0, kPages);
  CHECK(all.dirty == 0);
  CHECK(all.writeback == 0);

  // A range: pages 2..4 are written back, the others stay dirty. The kernel
  // (io_uring/sync.c) hands off + len to vfs_fsync_range() as the *inclusive*
  // last byte, so the first byte past the range, page 5, is synced too.
  make_dirty(fd.get(), kPages, 'c');
  CHECK(run_one(ring, [&](Sqe& s) {
          prep_fsync_range(s, fd.get(), 2 * kPage, 3 * kPage, abi::IORING_FSYNC_DATASYNC);
        }) == 0);
  CHECK(cache_stat(fd.get(), 0, 2).dirty == 2);
  CHECK(cache_stat(fd.get(), 2, 3).dirty == 0);
  CHECK(cache_stat(fd.get(), 2, 3).writeback == 0);
  CHECK(cache_stat(fd.get(), 6, 2).dirty == 2);

  CHECK(run_one(ring, [&](Sqe& s) { prep_fsync(s, fd.get(), 2); }) == -EINVAL);  // unknown fsync flag
  CHECK(run_one(ring, [&](Sqe& s) { prep_fsync(s, -1); }) == -EBADF);
  CHECK(file_content(path) == std::string(kPages * kPage, 'c'));
}

TEST_CASE(
    "FSYNC range with len 0: the whole file from offset 0, only the page at offset from anywhere else") {
  // io_uring/sync.c: end = off + len, and only an end of 0 means "to the
  // end" (LLONG_MAX). So len 0 is "to the end" for offset 0 alone.
  URING_REQUIRE(testing::missing_op(abi::IORING_OP_FSYNC));
  testing::TempDir dir;
  URING_REQUIRE(page_cache_unobservable(dir.path()));
  Ring ring = make_ring();
  const std::string path = dir.path() + "/synced";
  Fd fd(::open(path.c_str(), O_RDWR | O_CREAT, 0644));
  REQUIRE(fd.get() >= 0);
  constexpr std::size_t kPages = 8;

  // From page 2 with len 0: page 2 is written back, pages 3..7 (after it)
  // and 0..1 (before it) stay dirty. The flusher may clean a page at any
  // moment, so a page found clean that should be dirty is tried again.
  bool later_pages_stayed_dirty = false;
  for (int attempt = 0; attempt < 5 && !later_pages_stayed_dirty; ++attempt) {
    make_dirty(fd.get(), kPages, 'a');
    CHECK(run_one(ring, [&](Sqe& s) { prep_fsync_range(s, fd.get(), 2 * kPage, 0); }) == 0);
    CHECK(cache_stat(fd.get(), 2, 1).dirty == 0);
    later_pages_stayed_dirty = cache_stat(fd.get(), 3, 5).dirty == 5 && cache_stat(fd.get(), 0, 2).dirty == 2;
  }
  CHECK_MESSAGE(later_pages_stayed_dirty,
                "len 0 from offset 2 pages synced more than the page at the offset");

  // From offset 0 with len 0: every page.
  make_dirty(fd.get(), kPages, 'b');
  CHECK(run_one(ring, [&](Sqe& s) { prep_fsync_range(s, fd.get(), 0, 0); }) == 0);
  CHECK(cache_stat(fd.get(), 0, kPages).dirty == 0);
  CHECK(cache_stat(fd.get(), 0, kPages).writeback == 0);
  CHECK(file_content(path) == std::string(kPages * kPage, 'b'));
}

TEST_CASE("SYNC_FILE_RANGE with WAIT_BEFORE|WRITE|WAIT_AFTER writes back exactly its range") {
  URING_REQUIRE(testing::missing_op(abi::IORING_OP_SYNC_FILE_RANGE));
  testing::TempDir dir;
  URING_REQUIRE(page_cache_unobservable(dir.path()));
  Ring ring = make_ring();
  const std::string path = dir.path() + "/ranged";
  Fd fd(::open(path.c_str(), O_RDWR | O_CREAT, 0644));
  REQUIRE(fd.get() >= 0);
  constexpr std::size_t kPages = 8;
  constexpr unsigned kWriteAndWait =
      SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER;

  // Pages 4..7 (offset and length are separate SQE fields): clean and not
  // under writeback when the CQE arrives; pages 0..3 still dirty.
  make_dirty(fd.get(), kPages, 'r');
  CHECK(run_one(ring, [&](Sqe& s) { prep_sync_file_range(s, fd.get(), 4 * kPage, 4 * kPage, kWriteAndWait); }) ==
        0);
  CHECK(cache_stat(fd.get(), 0, 4).dirty == 4);
  const CacheStat synced = cache_stat(fd.get(), 4, 4);
  CHECK(synced.cache == 4);
  CHECK(synced.dirty == 0);
  CHECK(synced.writeback == 0);

  // Length 0: from the offset to the end of the file.
  CHECK(run_one(ring, [&](Sqe& s) { prep_sync_file_range(s, fd.get(), kPage, 0, kWriteAndWait); }) == 0);
  CHECK(cache_stat(fd.get(), 0, 1).dirty == 1);
  CHECK(cache_stat(fd.get(), 1, kPages - 1).dirty == 0);

  CHECK(run_one(ring, [&](Sqe& s) { prep_sync_file_range(s, fd.get(), 0, 7, 0x100); }) == -EINVAL);
}

TEST_CASE("FADVISE: DONTNEED drops exactly its range of clean pages, WILLNEED reads its range in") {
  URING_REQUIRE(testing::missing_op(abi::IORING_OP_FADVISE));
  testing::TempDir dir;
  URING_REQUIRE(page_cache_unobservable(dir.path()));
  Ring ring = make_ring();
  constexpr std::size_t kPages = 16;
  const std::vector<unsigned char> data = random_bytes(kPages * kPage, 5);
  const std::string path = make_paged_file(dir, "advised", data);
  Fd fd(::open(path.c_str(), O_RDONLY));
  REQUIRE(fd.get() >= 0);
  REQUIRE(::fsync(fd.get()) == 0);  // clean pages: only those can be dropped
  REQUIRE(cache_stat(fd.get(), 0, kPages).cache == kPages);

  // DONTNEED on pages 4..11: those leave the cache, 0..3 and 12..15 stay.
  CHECK(run_one(ring, [&](Sqe& s) { prep_fadvise(s, fd.get(), 4 * kPage, 8 * kPage, POSIX_FADV_DONTNEED); }) ==
        0);
  CHECK(cache_stat(fd.get(), 0, 4).cache == 4);
  CHECK(cache_stat(fd.get(), 4, 8).cache == 0);
  CHECK(cache_stat(fd.get(), 12, 4).cache == 4);

  // WILLNEED on pages 4..7: read in (the read may still be in flight, but
  // the pages are in the cache when the CQE arrives); 8..11 stay out.
  CHECK(run_one(ring, [&](Sqe& s) { prep_fadvise(s, fd.get(), 4 * kPage, 4 * kPage, POSIX_FADV_WILLNEED); }) ==
        0);
  CHECK(cache_stat(fd.get(), 4, 4).cache == 4);
  CHECK(cache_stat(fd.get(), 8, 4).cache == 0);
  // Reading them waits for that read (a page still being read cannot be
  // dropped below), and they hold the file's bytes.
  std::vector<unsigned char> back(4 * kPage);
  REQUIRE(::pread(fd.get(), back.data(), back.size(), 4 * kPage) == static_cast<ssize_t>(back.size()));
  CHECK(std::memcmp(back.data(), data.data() + 4 * kPage, back.size()) == 0);
  CHECK(cache_stat(fd.get(), 8, 4).cache == 0);

  // Length 0: to the end of the file.
  CHECK(run_one(ring, [&](Sqe& s) { prep_fadvise(s, fd.get(), 2 * kPage, 0, POSIX_FADV_DONTNEED); }) == 0);
  CHECK(cache_stat(fd.get(), 0, 2).cache == 2);
  CHECK(cache_stat(fd.get(), 2, kPages - 2).cache == 0);

  // Advice that changes no page: accepted; unknown advice and pipes are not.
  CHECK(run_one(ring, [&](Sqe& s) { prep_fadvise(s, fd.get(), 0, data.size(), POSIX_FADV_SEQUENTIAL); }) ==
        0);
  CHECK(run_one(ring, [&](Sqe& s) { prep_fadvise(s, fd.get(), 0, 4096, 12345); }) == -EINVAL);
  Fd pipe_read, pipe_write;
  {
    int p[2];
    REQUIRE(::pipe(p) == 0);
    pipe_read.reset(p[0]);
    pipe_write.reset(p[1]);
  }
  CHECK(run_one(ring, [&](Sqe& s) { prep_fadvise(s, pipe_read.get(), 0, 10, POSIX_FADV_NORMAL); }) ==
        -ESPIPE);
}

TEST_CASE("FADVISE takes a length past 4 GiB whole, not cut to 32 bits") {
  URING_REQUIRE(testing::missing_op(abi::IORING_OP_FADVISE));
  // "io_uring/advise: support 64-bit lengths": the length moved from the
  // 32-bit len field to off/addr, Linux 6.11.
  URING_REQUIRE(testing::missing_since("FADVISE with a 64-bit length", "6.11"));
  testing::TempDir dir;
  URING_REQUIRE(page_cache_unobservable(dir.path()));
  Ring ring = make_ring();
  constexpr std::size_t kPages = 16;
  const std::vector<unsigned char> data = random_bytes(kPages * kPage, 6);
  const std::string path = make_paged_file(dir, "wide", data);
  Fd fd(::open(path.c_str(), O_RDONLY));
  REQUIRE(fd.get() >= 0);
  REQUIRE(::fsync(fd.get()) == 0);
  REQUIRE(cache_stat(fd.get(), 0, kPages).cache == kPages);
  // 4 GiB + 2 pages: cut to 32 bits it would be 2 pages, and 14 would stay.
  const std::uint64_t wide = (std::uint64_t{1} << 32) + 2 * kPage;
  CHECK(run_one(ring, [&](Sqe& s) { prep_fadvise(s, fd.get(), 0, wide, POSIX_FADV_DONTNEED); }) == 0);
  CHECK(cache_stat(fd.get(), 0, kPages).cache == 0);
}

TEST_CASE("MADVISE reaches the kernel: MADV_DONTNEED zeroes anonymous pages") {
  URING_REQUIRE(testing::missing_op(abi::IORING_OP_MADVISE));
  Ring ring = make_ring();
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
