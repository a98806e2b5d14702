// URING_CMD on a block device: BLOCK_URING_CMD_DISCARD (prep_uring_cmd_discard)
// on a loop device over a file of the test's own, checked by the backing
// file's holes and by what the device reads back.
//
// The loop device is set up with plain ioctls before any io_uring call; a
// machine that cannot give the test one (no /dev/loop-control, no
// CAP_SYS_ADMIN, every device busy) is a named machine limit and skips.
#include <linux/fs.h>
#include <linux/loop.h>
#include <sys/ioctl.h>

#include <cerrno>
#include <string>

#include "tests/files/files_test_util.h"
#include "tests/support/kernel_features.h"

using namespace uring;
using namespace uring::files_test;

namespace {

// A loop device attached to `backing` (open read-write), detached when this
// goes away. `why_not` says what stopped the setup, if anything did.
class LoopDevice {
 public:
  explicit LoopDevice(int backing) {
    Fd control(::open("/dev/loop-control", O_RDWR | O_CLOEXEC));
    if (control.get() < 0) {
      why_not = std::string("cannot open /dev/loop-control: ") + std::strerror(errno);
      return;
    }
    for (int attempt = 0; attempt < 20; ++attempt) {
      const int number = ::ioctl(control.get(), LOOP_CTL_GET_FREE);
      if (number < 0) {
        why_not = std::string("LOOP_CTL_GET_FREE: ") + std::strerror(errno);
        return;
      }
      path = "/dev/loop" + std::to_string(number);
      Fd device(::open(path.c_str(), O_RDWR | O_CLOEXEC));
      if (device.get() < 0) {
        why_not = "cannot open " + path + ": " + std::strerror(errno);
        return;
      }
      loop_config config{};
      config.fd = static_cast<std::uint32_t>(backing);
      config.block_size = 512;
      config.info.lo_flags = LO_FLAGS_AUTOCLEAR;  // detached at the last close even if the test dies
      if (::ioctl(device.get(), LOOP_CONFIGURE, &config) == 0) {
        fd.reset(device.release());
        why_not.clear();
        return;
      }
      why_not = "LOOP_CONFIGURE on " + path + ": " + std::strerror(errno);
      if (errno != EBUSY) return;  // another process took it first: try the next free one
    }
  }
  ~LoopDevice() {
    if (fd.get() >= 0) CHECK(::ioctl(fd.get(), LOOP_CLR_FD, 0) == 0);
  }
  LoopDevice(const LoopDevice&) = delete;
  LoopDevice& operator=(const LoopDevice&) = delete;

  Fd fd;
  std::string path;
  std::string why_not = "not set up";
};

}  // namespace

TEST_CASE("BLOCK_URING_CMD_DISCARD punches the range out of a loop device, and refuses what the kernel refuses") {
  URING_REQUIRE(testing::missing_op(abi::IORING_OP_URING_CMD));
  // "block: implement async io_uring discard cmd", Linux 6.12.
  URING_REQUIRE(testing::missing_since("URING_CMD BLOCK_URING_CMD_DISCARD", "6.12"));
  URING_REQUIRE(testing::missing_capability(21, "CAP_SYS_ADMIN"));  // loop devices
  testing::TempDir dir;
  constexpr std::size_t kBytes = 1 << 20;
  const std::vector<unsigned char> data(kBytes, 'q');
  const std::string backing_path = make_file(dir, "backing", data.data(), data.size());
  Fd backing(::open(backing_path.c_str(), O_RDWR | O_CLOEXEC));
  REQUIRE(backing.get() >= 0);
  REQUIRE(::fsync(backing.get()) == 0);
  struct stat before {};
  REQUIRE(::fstat(backing.get(), &before) == 0);
  LoopDevice loop(backing.get());
  URING_REQUIRE(loop.why_not);
  Ring ring = make_ring();

  // The first half: gone from the backing file, zeros through the device.
  CHECK(run_one(ring, [&](Sqe& s) { prep_uring_cmd_discard(s, loop.fd.get(), 0, kBytes / 2); }) == 0);
  struct stat after {};
  REQUIRE(::fstat(backing.get(), &after) == 0);
  CHECK(after.st_blocks < before.st_blocks);
  std::vector<unsigned char> got(kBytes);
  REQUIRE(::pread(loop.fd.get(), got.data(), kBytes, 0) == static_cast<ssize_t>(kBytes));
  CHECK(std::vector<unsigned char>(got.begin(), got.begin() + kBytes / 2) ==
        std::vector<unsigned char>(kBytes / 2, 0));
  CHECK(std::vector<unsigned char>(got.begin() + kBytes / 2, got.end()) ==
        std::vector<unsigned char>(kBytes / 2, 'q'));

  // Not on a logical-block boundary, and past the end of the device: -EINVAL.
  CHECK(run_one(ring, [&](Sqe& s) { prep_uring_cmd_discard(s, loop.fd.get(), 100, 512); }) == -EINVAL);
  CHECK(run_one(ring, [&](Sqe& s) { prep_uring_cmd_discard(s, loop.fd.get(), kBytes, 512); }) == -EINVAL);
  // A device opened read-only may not discard: -EBADF.
  Fd read_only(::open(loop.path.c_str(), O_RDONLY | O_CLOEXEC));
  REQUIRE(read_only.get() >= 0);
  CHECK(run_one(ring, [&](Sqe& s) { prep_uring_cmd_discard(s, read_only.get(), kBytes / 2, 512); }) == -EBADF);
  // Not a block device at all: the file has no command handler.
  CHECK(run_one(ring, [&](Sqe& s) { prep_uring_cmd_discard(s, backing.get(), 0, 512); }) == -EOPNOTSUPP);
  REQUIRE(::pread(loop.fd.get(), got.data(), 512, kBytes / 2) == 512);
  CHECK(got[0] == 'q');  // the refused discards changed nothing
}
