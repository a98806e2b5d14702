// PROVIDE_BUFFERS / REMOVE_BUFFERS / bundle-recv builders: the exact SQE
// fields, and what the kernel answers to PROVIDE and REMOVE (no I/O).
#include <sys/mman.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "tests/buffers/buffers_support.h"
#include "uring/prep_buffers.h"

using namespace uring;
using namespace uring::testing;

namespace {

// An SQE full of junk, so a builder that forgets clear() shows up.
Sqe dirty_sqe() {
  Sqe sqe;
  std::memset(static_cast<void*>(&sqe), 0xA5, sizeof sqe);
  return sqe;
}

}  // namespace

TEST_CASE("prep_provide_buffers sets count, address, size, group and first id, nothing else") {
  std::vector<unsigned char> memory(4 * 100);
  Sqe sqe = dirty_sqe();
  prep_provide_buffers(sqe, memory.data(), 100, 4, 513, 7).set_user_data(9);
  CHECK(sqe.opcode == abi::IORING_OP_PROVIDE_BUFFERS);
  CHECK(sqe.fd == 4);
  CHECK(sqe.addr == reinterpret_cast<std::uintptr_t>(memory.data()));
  CHECK(sqe.len == 100);
  CHECK(sqe.off == 7);
  CHECK(sqe.buf_group == 513);
  CHECK(sqe.flags == 0);  // no BUFFER_SELECT: this op gives buffers, it does not pick one
  CHECK(sqe.ioprio == 0);
  CHECK(sqe.rw_flags == 0);
  CHECK(sqe.personality == 0);
  CHECK(sqe.splice_fd_in == 0);
  CHECK(sqe.user_data == 9);
}

TEST_CASE("prep_remove_buffers sets count and group only") {
  Sqe sqe = dirty_sqe();
  prep_remove_buffers(sqe, 12, 3);
  CHECK(sqe.opcode == abi::IORING_OP_REMOVE_BUFFERS);
  CHECK(sqe.fd == 12);
  CHECK(sqe.buf_group == 3);
  CHECK(sqe.addr == 0);
  CHECK(sqe.len == 0);
  CHECK(sqe.off == 0);
  CHECK(sqe.flags == 0);
  CHECK(sqe.rw_flags == 0);
  CHECK(sqe.user_data == 0);
}

TEST_CASE("prep_recv_bundle: RECV, BUNDLE in ioprio, buffer select, no buffer pointer") {
  Sqe sqe = dirty_sqe();
  prep_recv_bundle(sqe, 5, 300, MSG_DONTWAIT, 4);
  CHECK(sqe.opcode == abi::IORING_OP_RECV);
  CHECK(sqe.fd == 5);
  CHECK(sqe.addr == 0);
  CHECK(sqe.len == 300);
  CHECK(sqe.msg_flags == MSG_DONTWAIT);
  CHECK(sqe.ioprio == abi::IORING_RECVSEND_BUNDLE);
  CHECK(sqe.flags == abi::IOSQE_BUFFER_SELECT);
  CHECK(sqe.buf_group == 4);
  CHECK(sqe.off == 0);

  prep_recv_bundle_multishot(sqe, FixedFile(2), 0, 6);
  CHECK(sqe.opcode == abi::IORING_OP_RECV);
  CHECK(sqe.fd == 2);
  CHECK(sqe.len == 0);
  CHECK(sqe.ioprio == (abi::IORING_RECV_MULTISHOT | abi::IORING_RECVSEND_BUNDLE));
  CHECK(sqe.flags == (abi::IOSQE_BUFFER_SELECT | abi::IOSQE_FIXED_FILE));
  CHECK(sqe.buf_group == 6);
}

TEST_CASE("has_buffer_builder names PROVIDE and REMOVE_BUFFERS") {
  CHECK(has_buffer_builder(abi::IORING_OP_PROVIDE_BUFFERS));
  CHECK(has_buffer_builder(abi::IORING_OP_REMOVE_BUFFERS));
  CHECK_FALSE(has_buffer_builder(abi::IORING_OP_NOP));
  CHECK_FALSE(has_buffer_builder(abi::IORING_OP_READ));
}

TEST_CASE("the kernel: PROVIDE answers 0, REMOVE answers how many it took out") {
  URING_REQUIRE(missing_op(abi::IORING_OP_PROVIDE_BUFFERS));
  Ring ring = make_ring(16);
  std::vector<unsigned char> memory(6 * 64);
  prep_provide_buffers(next_sqe(ring), memory.data(), 64, 6, 21, 100).set_user_data(1);
  Cqe cqe = reap(ring, 1)[0];
  CHECK(cqe.data() == 1);
  CHECK(cqe.result() == 0);
  CHECK_FALSE(cqe.has_buffer());

  prep_remove_buffers(next_sqe(ring), 4, 21).set_user_data(2);  // 4 of the 6
  cqe = reap(ring, 1)[0];
  CHECK(cqe.data() == 2);
  CHECK(cqe.result() == 4);
  prep_remove_buffers(next_sqe(ring), 10, 21).set_user_data(3);  // the 2 left
  CHECK(reap(ring, 1)[0].result() == 2);
  prep_remove_buffers(next_sqe(ring), 10, 21).set_user_data(4);  // none left: 0, not an error
  CHECK(reap(ring, 1)[0].result() == 0);
}

TEST_CASE("the kernel refuses bad PROVIDE/REMOVE arguments with the errno it documents") {
  Ring ring = make_ring(16);
  std::vector<unsigned char> memory(4 * 64);
  struct Case {
    const char* what;
    void* addr;
    unsigned len, count;
    std::uint16_t first_id;
    int expected;
  };
  const Case cases[] = {
      {"no buffers", memory.data(), 64, 0, 0, -E2BIG},
      {"zero length", memory.data(), 0, 4, 0, -EINVAL},
      {"ids past 65535", memory.data(), 64, 4, 65533, -EINVAL},
      {"kernel address", reinterpret_cast<void*>(0xffffffffffff0000ull), 64, 4, 0, -EFAULT},
  };
  for (const Case& c : cases) {
    CAPTURE(c.what);
    prep_provide_buffers(next_sqe(ring), c.addr, c.len, c.count, 30, c.first_id);
    CHECK(reap(ring, 1)[0].result() == c.expected);
  }
  // The last ids that fit: 65533, 65534, 65535.
  prep_provide_buffers(next_sqe(ring), memory.data(), 64, 3, 30, 65533);
  CHECK(reap(ring, 1)[0].result() == 0);

  prep_remove_buffers(next_sqe(ring), 1, 31);  // a group nobody made
  CHECK(reap(ring, 1)[0].result() == -ENOENT);
  prep_remove_buffers(next_sqe(ring), 0, 30);
  CHECK(reap(ring, 1)[0].result() == -EINVAL);
}

TEST_CASE("the kernel: PROVIDE and REMOVE refuse a group that is a buffer ring") {
  URING_REQUIRE(missing_op(abi::IORING_OP_PROVIDE_BUFFERS));
  URING_REQUIRE(missing_register_op(abi::IORING_REGISTER_PBUF_RING));
  Ring ring = make_ring(16);
  void* ring_memory = ::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  REQUIRE(ring_memory != MAP_FAILED);
  abi::io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<std::uintptr_t>(ring_memory);
  reg.ring_entries = 8;
  reg.bgid = 40;
  REQUIRE(ring.register_raw(abi::IORING_REGISTER_PBUF_RING, &reg, 1) == 0);
  std::vector<unsigned char> memory(64);
  prep_provide_buffers(next_sqe(ring), memory.data(), 64, 1, 40, 0);
  CHECK(reap(ring, 1)[0].result() == -EINVAL);
  prep_remove_buffers(next_sqe(ring), 1, 40);
  CHECK(reap(ring, 1)[0].result() == -EINVAL);
  reg = abi::io_uring_buf_reg{};
  reg.bgid = 40;
  CHECK(ring.register_raw(abi::IORING_UNREGISTER_PBUF_RING, &reg, 1) == 0);
  CHECK(ring.register_raw(abi::IORING_UNREGISTER_PBUF_RING, &reg, 1) == -ENOENT);
  ::munmap(ring_memory, 4096);
}
