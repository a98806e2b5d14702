// The SQE view's typed setters: flags set by type, never by bit math at call sites.
#include "tests/support/test_support.h"
#include "uring/uring.h"

using namespace uring;

TEST_CASE("set_file: a plain fd leaves IOSQE_FIXED_FILE clear, a FixedFile sets it") {
  Sqe sqe;
  prep_nop(sqe).set_file(7);
  CHECK(sqe.fd == 7);
  CHECK((sqe.flags & abi::IOSQE_FIXED_FILE) == 0);
  prep_nop(sqe).set_file(FixedFile(3));
  CHECK(sqe.fd == 3);
  CHECK((sqe.flags & abi::IOSQE_FIXED_FILE) != 0);
}

TEST_CASE("DirectSlot encodes slot + 1, and any() asks the kernel to pick") {
  Sqe sqe;
  prep_nop(sqe).set_direct_slot(DirectSlot(0));
  CHECK(sqe.file_index == 1);
  prep_nop(sqe).set_direct_slot(DirectSlot::any());
  CHECK(sqe.file_index == abi::IORING_FILE_INDEX_ALLOC);
}

TEST_CASE("flag setters each set exactly their bit") {
  Sqe sqe;
  CHECK(prep_nop(sqe).link().flags == abi::IOSQE_IO_LINK);
  CHECK(prep_nop(sqe).hardlink().flags == abi::IOSQE_IO_HARDLINK);
  CHECK(prep_nop(sqe).drain().flags == abi::IOSQE_IO_DRAIN);
  CHECK(prep_nop(sqe).force_async().flags == abi::IOSQE_ASYNC);
  CHECK(prep_nop(sqe).skip_success().flags == abi::IOSQE_CQE_SKIP_SUCCESS);
  prep_nop(sqe).buffer_select(9);
  CHECK(sqe.flags == abi::IOSQE_BUFFER_SELECT);
  CHECK(sqe.buf_group == 9);
  int object = 0;
  CHECK(prep_nop(sqe).set_user_data(&object).user_data == reinterpret_cast<std::uintptr_t>(&object));
}
