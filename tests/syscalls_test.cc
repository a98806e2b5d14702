// The raw wrappers: kernel value or -errno, and errno never touched.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "syscalls/syscalls.h"
#include "tests/support/kernel_features.h"
#include "tests/support/test_support.h"

using namespace uring;

TEST_CASE("io_uring_setup returns an fd, and -errno without touching errno") {
  abi::io_uring_params params{};
  errno = 1234;
  const int fd = sys::io_uring_setup(4, &params);
  REQUIRE(fd >= 0);
  CHECK(errno == 1234);
  CHECK(params.sq_entries == 4);
  CHECK(params.cq_entries == 8);
  CHECK(::close(fd) == 0);

  abi::io_uring_params zero{};
  errno = 1234;
  CHECK(sys::io_uring_setup(0, &zero) == -EINVAL);
  CHECK(errno == 1234);
}

TEST_CASE("io_uring_enter and io_uring_register report -errno on a non-ring fd") {
  const int fd = ::open("/dev/null", O_RDONLY);
  REQUIRE(fd >= 0);
  errno = 77;
  CHECK(sys::io_uring_enter(fd, 0, 0, 0) == -EOPNOTSUPP);
  CHECK(sys::io_uring_register(fd, abi::IORING_REGISTER_PROBE, nullptr, 0) == -EOPNOTSUPP);
  CHECK(sys::io_uring_enter(-1, 0, 0, 0) == -EBADF);
  CHECK(errno == 77);
  ::close(fd);
}

TEST_CASE("io_uring_enter with EXT_ARG: a timed wait on an empty ring gives -ETIME") {
  URING_REQUIRE(testing::missing_feature(abi::IORING_FEAT_EXT_ARG));
  abi::io_uring_params params{};
  const int fd = sys::io_uring_setup(4, &params);
  REQUIRE(fd >= 0);
  CHECK((params.features & abi::IORING_FEAT_EXT_ARG) != 0);
  abi::kernel_timespec ts{};
  ts.tv_nsec = 1000000;  // 1 ms
  abi::io_uring_getevents_arg arg{};
  arg.ts = reinterpret_cast<std::uintptr_t>(&ts);
  CHECK(sys::io_uring_enter(fd, 0, 1, abi::IORING_ENTER_GETEVENTS | abi::IORING_ENTER_EXT_ARG, &arg,
                            sizeof arg) == -ETIME);
  ::close(fd);
}
