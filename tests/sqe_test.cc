// The SQE view's typed setters: flags set by type, never by bit math at call sites.
#include <cstdint>
#include <type_traits>

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

// ---- Slots of the registered file table (issue 12, item 10) ----------------
// A direct-descriptor destination is encoded as slot + 1, with ~0U meaning
// "any free slot" (IORING_FILE_INDEX_ALLOC), and a table has at most 2^20
// slots (IORING_MAX_FIXED_FILES in io_uring/rsrc.h). A slot number that no
// table can have must not compile when it is a constant: ~0U used to wrap to
// 0 (no direct descriptor: a normal fd), 0xfffffffe to ALLOC (any slot).

namespace {

template <auto N>
concept constant_direct_slot =
    requires { typename std::integral_constant<std::uint32_t, DirectSlot(N).encoded()>; };
template <auto N>
concept constant_fixed_file = requires { typename std::integral_constant<unsigned, FixedFile(N).index>; };

}  // namespace

static_assert(constant_direct_slot<0u>);
static_assert(constant_direct_slot<(1u << 20) - 1>);
static_assert(!constant_direct_slot<abi::IORING_FILE_INDEX_ALLOC>, "~0U must not encode 0 (a normal fd)");
static_assert(!constant_direct_slot<0xfffffffeu>, "0xfffffffe must not encode IORING_FILE_INDEX_ALLOC");
static_assert(!constant_direct_slot<1u << 20>, "no table has slot 2^20");
static_assert(!constant_direct_slot<-1>);
static_assert(constant_fixed_file<0u>);
static_assert(constant_fixed_file<(1u << 20) - 1>);
// prep_close(FixedFile) encodes slot + 1 as well: ~0U wrapped to 0 and closed
// the plain fd in sqe->fd (0) instead of a slot.
static_assert(!constant_fixed_file<~0u>, "~0U must not name a slot");
static_assert(!constant_fixed_file<1u << 20>);

TEST_CASE("DirectSlot and FixedFile: constants are checked at compile time, the encodings are exact") {
  CHECK(DirectSlot(0).encoded() == 1);
  CHECK(DirectSlot((1u << 20) - 1).encoded() == (1u << 20));
  CHECK(DirectSlot::any().encoded() == abi::IORING_FILE_INDEX_ALLOC);
  Sqe sqe;
  prep_close(sqe, FixedFile((1u << 20) - 1));
  CHECK(sqe.file_index == (1u << 20));
  CHECK(sqe.fd == 0);
}

TEST_CASE("DirectSlot::checked and FixedFile::checked: run-time numbers no table can have are refused") {
  volatile unsigned alloc = abi::IORING_FILE_INDEX_ALLOC;  // a run-time value
  CHECK_FALSE(DirectSlot::checked(alloc).has_value());
  CHECK_FALSE(DirectSlot::checked(0xfffffffeu).has_value());
  CHECK_FALSE(DirectSlot::checked(kMaxFileSlots).has_value());
  CHECK_FALSE(DirectSlot::checked(-1).has_value());
  CHECK_FALSE(DirectSlot::checked(std::uint64_t{1} << 32).has_value());
  REQUIRE(DirectSlot::checked(kMaxFileSlots - 1).has_value());
  CHECK(DirectSlot::checked(kMaxFileSlots - 1)->encoded() == kMaxFileSlots);
  CHECK(DirectSlot::checked(7)->encoded() == 8);

  CHECK_FALSE(FixedFile::checked(alloc).has_value());
  CHECK_FALSE(FixedFile::checked(kMaxFileSlots).has_value());
  CHECK_FALSE(FixedFile::checked(-3).has_value());
  REQUIRE(FixedFile::checked(kMaxFileSlots - 1).has_value());
  CHECK(FixedFile::checked(kMaxFileSlots - 1)->index == kMaxFileSlots - 1);
  const File file = FixedFile::checked(12).value();
  CHECK(file.fixed());
  CHECK(file.value() == 12);
}
