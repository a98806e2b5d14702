// FSETXATTR, SETXATTR, FGETXATTR, GETXATTR: user.* attributes round-trip, and
// agree with the xattr system calls. Needs a file system with user xattrs:
// TEST_TMPDIR first, then /dev/shm, then /tmp; skipped with the reason if none.
#include <fcntl.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <memory>
#include <optional>

#include "tests/files/files_test_util.h"

using namespace uring;
using namespace uring::files_test;

namespace {

// A temporary directory on a file system that accepts user.* xattrs.
struct XattrDir {
  std::unique_ptr<testing::TempDir> dir;
  std::string refusals;  // why the other candidates were refused
};

XattrDir find_xattr_dir() {
  XattrDir result;
  const char* default_base = std::getenv("TEST_TMPDIR");
  std::vector<std::string> bases = {default_base && *default_base ? default_base : "/tmp", "/dev/shm",
                                    "/tmp"};
  for (const std::string& base : bases) {
    const char* saved = std::getenv("TEST_TMPDIR");
    const std::string saved_value = saved ? saved : "";
    ::setenv("TEST_TMPDIR", base.c_str(), 1);  // TempDir creates its directory under TEST_TMPDIR
    auto dir = std::make_unique<testing::TempDir>();
    if (saved) {
      ::setenv("TEST_TMPDIR", saved_value.c_str(), 1);
    } else {
      ::unsetenv("TEST_TMPDIR");
    }
    const std::string probe = dir->path() + "/probe";
    Fd fd(::open(probe.c_str(), O_RDWR | O_CREAT, 0644));
    if (fd.get() >= 0 && ::fsetxattr(fd.get(), "user.probe", "1", 1, 0) == 0) {
      result.dir = std::move(dir);
      return result;
    }
    const int error = errno;
    result.refusals += base + ": " + std::strerror(error) + "; ";
  }
  return result;
}

}  // namespace

TEST_CASE("xattrs set and got through the ring round-trip and match the system calls") {
  Ring ring = make_ring();
  const Probe probe = probe_of(ring);
  for (unsigned op : {abi::IORING_OP_FSETXATTR, abi::IORING_OP_SETXATTR, abi::IORING_OP_FGETXATTR,
                      abi::IORING_OP_GETXATTR}) {
    URING_REQUIRE_OP(probe, op);
  }
  XattrDir where = find_xattr_dir();
  if (!where.dir) URING_SKIP("no file system here accepts user.* xattrs: " + where.refusals);
  const std::string path = make_file(*where.dir, "tagged", "data");
  Fd fd(::open(path.c_str(), O_RDWR));
  REQUIRE(fd.get() >= 0);

  // FSETXATTR, read back with fgetxattr(2) and with FGETXATTR.
  const std::string value = "value set through io_uring";
  CHECK(run_one(ring, [&](Sqe& s) {
          prep_fsetxattr(s, fd.get(), "user.uring.f", value.data(), static_cast<unsigned>(value.size()));
        }) == 0);
  char sys_buf[64] = {};
  CHECK(::fgetxattr(fd.get(), "user.uring.f", sys_buf, sizeof sys_buf) == static_cast<ssize_t>(value.size()));
  CHECK(std::string(sys_buf, value.size()) == value);
  char buf[64] = {};
  CHECK(run_one(ring, [&](Sqe& s) { prep_fgetxattr(s, fd.get(), "user.uring.f", buf, sizeof buf); }) ==
        static_cast<int>(value.size()));
  CHECK(std::string(buf, value.size()) == value);
  // Size 0 asks only for the length; too small a buffer is -ERANGE.
  CHECK(run_one(ring, [&](Sqe& s) { prep_fgetxattr(s, fd.get(), "user.uring.f", nullptr, 0); }) ==
        static_cast<int>(value.size()));
  CHECK(run_one(ring, [&](Sqe& s) { prep_fgetxattr(s, fd.get(), "user.uring.f", buf, 3); }) == -ERANGE);

  // SETXATTR by path, read back with getxattr(2) and GETXATTR.
  const unsigned char binary[] = {0, 1, 2, 0xff, 0x80, 0};
  CHECK(run_one(ring,
                [&](Sqe& s) { prep_setxattr(s, path.c_str(), "user.uring.p", binary, sizeof binary); }) == 0);
  unsigned char got[16] = {};
  CHECK(::getxattr(path.c_str(), "user.uring.p", got, sizeof got) == static_cast<ssize_t>(sizeof binary));
  CHECK(std::memcmp(got, binary, sizeof binary) == 0);
  std::memset(got, 0x55, sizeof got);
  CHECK(run_one(ring, [&](Sqe& s) { prep_getxattr(s, path.c_str(), "user.uring.p", got, sizeof got); }) ==
        static_cast<int>(sizeof binary));
  CHECK(std::memcmp(got, binary, sizeof binary) == 0);

  // Flags reach the kernel: XATTR_CREATE on an existing name, XATTR_REPLACE on a missing one.
  CHECK(run_one(ring, [&](Sqe& s) { prep_fsetxattr(s, fd.get(), "user.uring.f", "x", 1, XATTR_CREATE); }) ==
        -EEXIST);
  CHECK(run_one(ring, [&](Sqe& s) {
          prep_setxattr(s, path.c_str(), "user.uring.new", "x", 1, XATTR_REPLACE);
        }) == -ENODATA);
  CHECK(run_one(ring, [&](Sqe& s) {
          prep_setxattr(s, path.c_str(), "user.uring.f", "new", 3, XATTR_REPLACE);
        }) == 0);
  CHECK(::fgetxattr(fd.get(), "user.uring.f", sys_buf, sizeof sys_buf) == 3);
  CHECK(std::string(sys_buf, 3) == "new");

  // Missing attributes and missing files come back as the kernel's errors.
  CHECK(run_one(ring, [&](Sqe& s) { prep_fgetxattr(s, fd.get(), "user.uring.none", buf, sizeof buf); }) ==
        -ENODATA);
  const std::string missing = path + ".missing";
  CHECK(run_one(ring, [&](Sqe& s) { prep_getxattr(s, missing.c_str(), "user.uring.p", buf, sizeof buf); }) ==
        -ENOENT);
  CHECK(run_one(ring, [&](Sqe& s) { prep_fgetxattr(s, -1, "user.uring.f", buf, sizeof buf); }) == -EBADF);
}
