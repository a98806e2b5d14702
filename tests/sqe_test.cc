// The SQE view's typed setters: flags set by type, never by bit math at call sites.
#include <cstdint>
#include <type_traits>

#include "tests/support/test_support.h"
#include "uring/uring.h"

using namespace uring;

TEST_CASE("set_file: a plain fd leaves IOSQE_FIXED_FILE clear, a FixedFile sets it") {
  Sqe sqe;
  sqe.clear();
  sqe.set_file(7);
  CHECK(sqe.fd == 7);
  CHECK((sqe.flags & abi::IOSQE_FIXED_FILE) == 0);
  sqe.clear();
  sqe.set_file(FixedFile(3));
  CHECK(sqe.fd == 3);
  CHECK((sqe.flags & abi::IOSQE_FIXED_FILE) != 0);
}

TEST_CASE("DirectSlot encodes slot + 1, and any() asks the kernel to pick") {
  Sqe sqe;
  sqe.clear();
  sqe.set_direct_slot(DirectSlot(0));
  CHECK(sqe.file_index == 1);
  sqe.clear();
  sqe.set_direct_slot(DirectSlot::any());
  CHECK(sqe.file_index == abi::IORING_FILE_INDEX_ALLOC);
}

TEST_CASE("flag setters each set exactly their bit") {
  Sqe sqe;
  CHECK(prep_nop(sqe).link().flags == abi::IOSQE_IO_LINK);
  CHECK(prep_nop(sqe).hardlink().flags == abi::IOSQE_IO_HARDLINK);
  CHECK(prep_nop(sqe).drain().flags == abi::IOSQE_IO_DRAIN);
  CHECK(prep_nop(sqe).force_async().flags == abi::IOSQE_ASYNC);
  CHECK(prep_nop(sqe).skip_success().flags == abi::IOSQE_CQE_SKIP_SUCCESS);
  sqe.clear();
  sqe.buffer_select(9);
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
concept constant_direct_slot = requires {
  typename std::integral_constant<std::uint32_t, DirectSlot(N).encoded()>;
};
template <auto N>
concept constant_fixed_file = requires {
  typename std::integral_constant<unsigned, FixedFile(N).index>;
};

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

// ---- Lengths and buffer indexes that do not fit (issue 12, item 11) --------
// A send/recv length lives in an int in the kernel (2^31..2^32-1: -EINVAL) and
// in 32 bits in the SQE (a size_t above 4 GiB was cut modulo 2^32); a
// registered-buffer index lives in 16 bits (65536 + n named buffer n).

namespace {

template <auto N>
concept constant_socket_length = requires {
  typename std::integral_constant<std::uint32_t, SocketLength(N).value()>;
};
template <auto N>
concept constant_fixed_buffer = requires {
  typename std::integral_constant<unsigned, FixedBuffer(N).index>;
};

}  // namespace

static_assert(constant_socket_length<0>);
static_assert(constant_socket_length<0x7fffffff>);
static_assert(!constant_socket_length<0x80000000u>, "2^31 is -EINVAL in the kernel");
static_assert(!constant_socket_length<(std::uint64_t{5} << 30) + 10>,
              "5 GiB + 10 must not become 1 GiB + 10");
static_assert(!constant_socket_length<-1>);
static_assert(constant_fixed_buffer<0>);
static_assert(constant_fixed_buffer<16383>);
static_assert(!constant_fixed_buffer<16384>, "no table has buffer 16384 (IORING_MAX_REG_BUFFERS)");
static_assert(!constant_fixed_buffer<65536 + 3>, "65536 + 3 must not name buffer 3");

TEST_CASE("SocketLength: run-time sizes are checked or clamped, never cut modulo 2^32") {
  const std::uint64_t five_gib_and_ten = (std::uint64_t{5} << 30) + 10;
  CHECK_FALSE(SocketLength::checked(five_gib_and_ten).has_value());
  CHECK_FALSE(SocketLength::checked(std::uint64_t{1} << 31).has_value());
  CHECK_FALSE(SocketLength::checked(-1).has_value());
  REQUIRE(SocketLength::checked(0x7fffffff).has_value());
  CHECK(SocketLength::checked(std::size_t{4096})->value() == 4096);
  CHECK(SocketLength::at_most(five_gib_and_ten).value() == 0x7fffffff);
  CHECK(SocketLength::at_most(12).value() == 12);
  const std::uint16_t small = 500;  // a type that always fits converts at run time
  const SocketLength from_small = small;
  CHECK(from_small.value() == 500);

  char buf[16];
  Sqe sqe;
  prep_send(sqe, 4, buf, SocketLength::at_most(five_gib_and_ten), 0);
  CHECK(sqe.len == 0x7fffffff);  // not (1 GiB + 10)
  prep_recv(sqe, 4, buf, SocketLength::checked(std::size_t{sizeof buf}).value(), 0);
  CHECK(sqe.len == sizeof buf);
}

TEST_CASE("at_most clamps to the field's range, and a negative length to 0, not to the maximum (issue 12, review)") {
  CHECK(IoLength::at_most(-36).value() == 0);
  CHECK(IoLength::at_most(std::int64_t{-1}).value() == 0);
  CHECK(IoLength::at_most(std::size_t{5} << 30).value() == kMaxIoLength);
  CHECK(IoLength::at_most(4096u).value() == 4096);
  CHECK(SocketLength::at_most(-36).value() == 0);
  CHECK(SocketLength::at_most(std::size_t{1} << 31).value() == kMaxSocketLength);
  CHECK(SocketLength::at_most(100).value() == 100);
}

TEST_CASE("FixedBuffer: a run-time index is checked, never cut to 16 bits and never fatal (issue 12, item 11)") {
  CHECK_FALSE(FixedBuffer::checked(65536 + 3).has_value());
  CHECK_FALSE(FixedBuffer::checked(16384).has_value());
  CHECK_FALSE(FixedBuffer::checked(-1).has_value());
  volatile unsigned wrapped = 65536 + 3;
  CHECK_FALSE(FixedBuffer::checked(wrapped + 0u).has_value());
  REQUIRE(FixedBuffer::checked(16383u).has_value());
  CHECK(FixedBuffer::checked(16383u)->index == 16383);
  volatile unsigned in_range = 7;
  CHECK(FixedBuffer::checked(in_range + 0u)->index == 7);
  char buf[16];
  Sqe sqe;
  prep_read_fixed(sqe, 3, buf, sizeof buf, 0, FixedBuffer(16383));
  CHECK(sqe.buf_index == 16383);
}

// ---- Type safety of builders (issue 12, item 12) ---------------------------
// Each `!` below used to compile. A requires-expression inside a concept
// turns "does not compile" into false, so these are checked in every build;
// the positive forms next to them show that each concept can be true.

namespace {

// The file argument of prep_read: only an int is an fd.
template <class FileArg>
concept read_takes_as_file = requires(Sqe& sqe, FileArg file, char* buf) {
  prep_read(sqe, file, buf, 16u, std::uint64_t{0});
};

// What may follow a builder in a chain.
template <class S>
concept read_fixed_then_buffer_select = requires(S& sqe, char* buf, FixedBuffer index) {
  prep_read_fixed(sqe, 3, buf, 16u, std::uint64_t{0}, index).buffer_select(std::uint16_t{1});
};
template <class S>
concept recv_then_buffer_select = requires(S& sqe, char* buf) {
  prep_recv(sqe, 3, buf, SocketLength::at_most(16), 0).buffer_select(std::uint16_t{1});
};
// The buffer builders (uring/prep_buffers.h) too: a bundle's group is the
// builder's own, and its byte cap is a SocketLength like every socket length.
template <class S>
concept recv_bundle_then_buffer_select = requires(S& sqe) {
  prep_recv_bundle(sqe, 3, 0, 0, std::uint16_t{1}).buffer_select(std::uint16_t{2});
};
template <class S>
concept provide_buffers_then_set_file = requires(S& sqe, char* buf) {
  prep_provide_buffers(sqe, buf, 16u, 1u, std::uint16_t{1}, std::uint16_t{0}).set_file(File(4));
};
template <class S>
concept openat_then_set_file = requires(S& sqe) {
  prep_openat(sqe, 3, "f", 0, 0).set_file(File(4));
};
template <class S>
concept openat_then_set_direct_slot = requires(S& sqe, DirectSlot slot) {
  prep_openat(sqe, 3, "f", 0, 0).set_direct_slot(slot);
};
template <class S>
concept read_then_request_setters = requires(S& sqe, char* buf) {
  prep_read(sqe, 3, buf, 16u, std::uint64_t{0}).set_user_data(std::uint64_t{1}).link().drain();
};
template <class S>
concept nop_then_set_file = requires(S& sqe) {
  prep_nop(sqe).set_file(File(4));
};
template <class S>
concept nop_then_buffer_select = requires(S& sqe) {
  prep_nop(sqe).buffer_select(std::uint16_t{1});
};
// BufferTable's range-checked builders hand back the same Prepared.
template <class Table>
concept table_read_fixed_then_buffer_select = requires(Table& table, char* buf) {
  (*table.read_fixed(3, buf, 16u, std::uint64_t{0}, FixedBuffer(0)))->buffer_select(std::uint16_t{1});
};
template <class Table>
concept table_write_fixed_then_set_user_data = requires(Table& table, char* buf) {
  (*table.write_fixed(3, buf, 16u, std::uint64_t{0}, FixedBuffer(0)))->set_user_data(std::uint64_t{1}).link();
};
template <class S>
concept raw_sqe_buffer_select = requires(S& sqe) {
  sqe.buffer_select(std::uint16_t{1});
};

}  // namespace

static_assert(read_takes_as_file<int>);
static_assert(read_takes_as_file<FixedFile>);
static_assert(read_takes_as_file<File>);
static_assert(!read_takes_as_file<unsigned>, "a slot number (unsigned) is not an fd");
static_assert(!read_takes_as_file<decltype(FixedFile(3).index)>, "FixedFile(3).index is not an fd");
static_assert(!read_takes_as_file<bool>, "true is not an fd");
static_assert(!read_takes_as_file<long>);
static_assert(!read_takes_as_file<std::size_t>);
static_assert(!std::is_convertible_v<unsigned, File>);
static_assert(!std::is_constructible_v<File, bool>);

static_assert(!read_fixed_then_buffer_select<Sqe>,
              "buffer_select after prep_read_fixed would overwrite buf_index");
static_assert(!recv_then_buffer_select<Sqe>, "buffer_select after prep_recv(buf) would drop buf");
static_assert(!openat_then_set_file<Sqe>, "OPENAT's fd is the directory, not a target file");
static_assert(!recv_bundle_then_buffer_select<Sqe>, "buffer_select after prep_recv_bundle would change its group");
static_assert(!provide_buffers_then_set_file<Sqe>, "PROVIDE_BUFFERS' fd field is the buffer count");
static_assert(!openat_then_set_direct_slot<Sqe>, "the direct form is prep_openat_direct");
static_assert(read_then_request_setters<Sqe>);
static_assert(raw_sqe_buffer_select<Sqe>, "the builders themselves still set the group on the raw Sqe");

static_assert(!std::is_constructible_v<FixedFile, bool>);
static_assert(!std::is_constructible_v<DirectSlot, bool>);
static_assert(!std::is_constructible_v<FixedBuffer, bool>);
static_assert(!std::is_convertible_v<bool, SocketLength>);
static_assert(!std::is_convertible_v<char16_t, SocketLength>, "u'x' is not a length");
enum OldStyle { kOldStyleChunk = 4096 };
enum class Scoped : unsigned { chunk = 4096 };
static_assert(IoLength(kOldStyleChunk).value() == 4096);
static_assert(SocketLength(kOldStyleChunk).value() == 4096);
static_assert(!std::is_constructible_v<IoLength, Scoped>, "a scoped enum is a type of its own");
template <class T>
concept at_most_takes = requires(T value) { IoLength::at_most(value); };
static_assert(!at_most_takes<bool> && !at_most_takes<char>, "true and 'A' are not lengths");
static_assert(!std::is_convertible_v<char8_t, SocketLength>);
static_assert(!std::is_convertible_v<char16_t, IoLength>);
static_assert(!std::is_convertible_v<bool, IoLength>);
static_assert(std::is_convertible_v<std::uint16_t, SocketLength>);
static_assert(std::is_convertible_v<unsigned, IoLength>);
static_assert(!nop_then_set_file<Sqe>, "a plain NOP reads no file: prep_nop_with asks for one");
static_assert(!nop_then_buffer_select<Sqe>);
static_assert(!table_read_fixed_then_buffer_select<BufferTable>,
              "buffer_select after BufferTable::read_fixed would overwrite buf_index");
static_assert(table_write_fixed_then_set_user_data<BufferTable>);
static_assert(std::is_same_v<decltype(prep_nop(std::declval<Sqe&>())), Prepared&>);
static_assert(std::is_same_v<decltype(prep_read(std::declval<Sqe&>(), 3, nullptr, 1u, 0)), Prepared&>);

TEST_CASE("a builder's result offers only the per-request setters, and they keep the builder's fields") {
  char buf[16];
  Sqe sqe;
  Prepared& prepared = prep_read_fixed(sqe, FixedFile(2), buf, sizeof buf, 7, FixedBuffer(5))
                           .set_user_data(std::uint64_t{99})
                           .link()
                           .set_personality(3);
  CHECK(&prepared == &sqe);
  CHECK(sqe.buf_index == 5);
  CHECK(sqe.fd == 2);
  CHECK(sqe.flags == (abi::IOSQE_FIXED_FILE | abi::IOSQE_IO_LINK));
  CHECK(sqe.user_data == 99);
  CHECK(sqe.personality == 3);
}
