// The SQE view's typed setters: flags set by type, never by bit math at call sites.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdint>
#include <cstdio>
#include <string>
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

// ---- Lengths and buffer indexes that do not fit (issue 12, item 11) --------
// A send/recv length lives in an int in the kernel (2^31..2^32-1: -EINVAL) and
// in 32 bits in the SQE (a size_t above 4 GiB was cut modulo 2^32); a
// registered-buffer index lives in 16 bits (65536 + n named buffer n).

namespace {

template <auto N>
concept constant_socket_length =
    requires { typename std::integral_constant<std::uint32_t, SocketLength(N).value()>; };
template <auto N>
concept constant_fixed_buffer = requires { typename std::integral_constant<unsigned, FixedBuffer(N).index>; };

}  // namespace

static_assert(constant_socket_length<0>);
static_assert(constant_socket_length<0x7fffffff>);
static_assert(!constant_socket_length<0x80000000u>, "2^31 is -EINVAL in the kernel");
static_assert(!constant_socket_length<(std::uint64_t{5} << 30) + 10>, "5 GiB + 10 must not become 1 GiB + 10");
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

TEST_CASE("FixedBuffer: run-time indexes are checked; one that cannot fit stops the program, naming checked()") {
  CHECK_FALSE(FixedBuffer::checked(65536 + 3).has_value());
  CHECK_FALSE(FixedBuffer::checked(16384).has_value());
  CHECK_FALSE(FixedBuffer::checked(-1).has_value());
  REQUIRE(FixedBuffer::checked(16383u).has_value());
  CHECK(FixedBuffer::checked(16383u)->index == 16383);
  volatile unsigned in_range = 7;
  CHECK(FixedBuffer(in_range).index == 7);
  char buf[16];
  Sqe sqe;
  prep_read_fixed(sqe, 3, buf, sizeof buf, 0, FixedBuffer(16383));
  CHECK(sqe.buf_index == 16383);

  // FixedBuffer(unsigned) with a run-time index that no kernel accepts: the
  // child must die with SIGABRT and say what to use instead.
  int err_pipe[2];
  REQUIRE(::pipe(err_pipe) == 0);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    std::signal(SIGABRT, SIG_DFL);  // not doctest's crash report: the plain signal
    const int devnull = ::open("/dev/null", O_WRONLY);
    ::dup2(devnull, 1);
    ::dup2(err_pipe[1], 2);
    volatile unsigned wrapped = 65536 + 3;
    const FixedBuffer never(wrapped);
    std::printf("%u\n", never.index);  // not reached
    ::_exit(0);
  }
  ::close(err_pipe[1]);
  std::string message;
  char chunk[256];
  for (ssize_t n; (n = ::read(err_pipe[0], chunk, sizeof chunk)) > 0;) message.append(chunk, static_cast<std::size_t>(n));
  ::close(err_pipe[0]);
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  CHECK(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGABRT);
  CHECK(message.find("65539") != std::string::npos);
  CHECK(message.find("FixedBuffer::checked") != std::string::npos);
}
