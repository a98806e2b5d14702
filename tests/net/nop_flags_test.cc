// The NOP test forms of prep_nop_with(): file and fixed-file lookups,
// registered-buffer lookups, completion through task work. A failed lookup
// marks the NOP failed, which is seen through the request linked after it.
//
// No interface reports NOP's flags, so the release decides: IORING_NOP_FILE,
// _FIXED_FILE and _FIXED_BUFFER came with Linux 6.13 (io_uring/nop.c, commit
// "io_uring/nop: add support for testing registered files and buffers"),
// IORING_NOP_TW with 6.17 ("io_uring/nop: add IORING_NOP_TW completion flag",
// merged for 6.17). On a kernel that has them, -EINVAL is a failure.
#include <sys/uio.h>

#include "tests/net/net_support.h"
#include "tests/support/kernel_features.h"

using namespace uring;
using namespace uring::nettest;

namespace {

// Submits the NOP built by `options`, linked to a plain NOP, and returns
// {the NOP's result, the linked NOP's result}.
std::pair<int, int> nop_then_link(Ring& ring, const NopOptions& options) {
  prep_nop_with(next_sqe(ring), options).set_user_data(1).link();
  prep_nop(next_sqe(ring)).set_user_data(2);
  auto cqes = reap(ring, 2);
  return {only(cqes, 1).result(), only(cqes, 2).result()};
}

}  // namespace

TEST_CASE("NOP looks up files, fixed files and registered buffers when asked") {
  URING_REQUIRE(
      testing::missing_since("IORING_NOP_FILE, IORING_NOP_FIXED_FILE and IORING_NOP_FIXED_BUFFER", "6.13"));
  FdLeakCheck leaks;
  Ring ring = make_ring();
  auto [read_end, write_end] = make_pipe();

  NopOptions file;
  file.file = File(read_end.get());
  auto [file_ok, file_link] = nop_then_link(ring, file);
  CHECK(file_ok == 0);
  CHECK(file_link == 0);

  // A closed fd: the lookup fails; the linked request is cancelled. The
  // result is the lookup's -EBADF on kernels with upstream e97ff8b62d46
  // (2026, in stable kernels such as 6.18.44), the injected value before it
  // (prep_nop_with's comment): a distinct injected 7 tells the two apart
  // from any other answer.
  int closed = ::dup(read_end.get());
  ::close(closed);
  NopOptions bad_file;
  bad_file.file = File(closed);
  bad_file.inject_result = 7;
  auto [bad_result, bad_link] = nop_then_link(ring, bad_file);
  CHECK((bad_result == -EBADF || bad_result == 7));
  CHECK(bad_link == -ECANCELED);

  // Fixed files: slot 1 holds the pipe, slot 0 is empty.
  register_files(ring, {-1, write_end.get()});
  NopOptions fixed;
  fixed.file = File(FixedFile(1));
  auto [fixed_result, fixed_link] = nop_then_link(ring, fixed);
  CHECK(fixed_result == 0);
  CHECK(fixed_link == 0);
  NopOptions empty_slot;
  empty_slot.file = File(FixedFile(0));
  auto [empty_result, empty_link] = nop_then_link(ring, empty_slot);
  CHECK((empty_result == -EBADF || empty_result == 0));
  CHECK(empty_link == -ECANCELED);
  NopOptions past_table;
  past_table.file = File(FixedFile(5));
  auto [past_result, past_link] = nop_then_link(ring, past_table);
  CHECK((past_result == -EBADF || past_result == 0));
  CHECK(past_link == -ECANCELED);
  // Kernels agree on one thing per case: the same answer for all three.
  CHECK(empty_result == past_result);
  CHECK((empty_result == -EBADF) == (bad_result == -EBADF));

  // Registered buffers: index 0 exists, index 3 does not.
  std::vector<unsigned char> memory(4096);
  iovec buffer{memory.data(), memory.size()};
  REQUIRE(ring.register_raw(abi::IORING_REGISTER_BUFFERS, &buffer, 1) == 0);
  NopOptions with_buffer;
  with_buffer.buffer = FixedBuffer(0);
  auto [buffer_result, buffer_link] = nop_then_link(ring, with_buffer);
  CHECK(buffer_result == 0);
  CHECK(buffer_link == 0);
  NopOptions missing_buffer;
  missing_buffer.buffer = FixedBuffer(3);
  auto [missing_result, missing_link] = nop_then_link(ring, missing_buffer);
  CHECK(missing_result == (bad_result == -EBADF ? -EFAULT : 0));
  CHECK(missing_link == -ECANCELED);
  REQUIRE(ring.register_raw(abi::IORING_UNREGISTER_BUFFERS, nullptr, 0) == 0);

  // A fixed-file lookup with an injected result.
  NopOptions injected;
  injected.inject_result = 1234;
  injected.file = File(FixedFile(1));
  auto [injected_result, injected_link] = nop_then_link(ring, injected);
  CHECK(injected_result == 1234);
  CHECK(injected_link == 0);
}

TEST_CASE("NOP completing through task work") {
  URING_REQUIRE(testing::missing_since("IORING_NOP_TW", "6.17"));
  Ring ring = make_ring();
  NopOptions tw;
  tw.task_work = true;
  for (std::uint64_t i = 0; i < 16; ++i) prep_nop_with(next_sqe(ring), tw).set_user_data(100 + i);
  auto cqes = reap(ring, 16);
  for (std::uint64_t i = 0; i < 16; ++i) CHECK(only(cqes, 100 + i).result() == 0);

  // An injected failure through task work still breaks the link.
  NopOptions failing;
  failing.task_work = true;
  failing.inject_result = -EIO;
  prep_nop_with(next_sqe(ring), failing).set_user_data(1).link();
  prep_nop(next_sqe(ring)).set_user_data(2);
  auto chain = reap(ring, 2);
  CHECK(only(chain, 1).result() == -EIO);
  CHECK(only(chain, 2).result() == -ECANCELED);

  // Everything at once: a fixed-file lookup, an injected result, task work.
  FdLeakCheck leaks;
  auto [read_end, write_end] = make_pipe();
  register_files(ring, {-1, write_end.get()});
  NopOptions all;
  all.inject_result = 1234;
  all.file = File(FixedFile(1));
  all.task_work = true;
  auto [all_result, all_link] = nop_then_link(ring, all);
  CHECK(all_result == 1234);
  CHECK(all_link == 0);
  NopOptions all_empty_slot = all;
  all_empty_slot.file = File(FixedFile(0));
  CHECK(nop_then_link(ring, all_empty_slot).second == -ECANCELED);
}
