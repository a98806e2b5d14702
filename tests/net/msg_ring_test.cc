// MSG_RING: data to another ring (user_data, result, passed CQE flags), a
// fixed file passed to another ring and used there, CQE_SKIP, and the errors.
//
// MSG_RING's sub-commands and flags are not in the probe, so their release
// decides (io_uring/msg_ring.c): IORING_MSG_SEND_FD with
// IORING_MSG_RING_CQE_SKIP came in Linux 6.0 ("io_uring: add support for
// passing fixed file descriptors"), IORING_MSG_RING_FLAGS_PASS in 6.3
// ("io_uring/msg_ring: Pass custom flags to the cqe", for-6.3).
#include "tests/net/net_support.h"
#include "tests/support/kernel_features.h"

using namespace uring;
using namespace uring::nettest;

TEST_CASE("MSG_RING data arrives in the other ring with its user_data and result") {
  URING_REQUIRE(testing::missing_op(abi::IORING_OP_MSG_RING));
  FdLeakCheck leaks;
  Ring source = make_ring();
  Ring target = make_ring();

  prep_msg_ring(next_sqe(source), target.fd(), 42, 0xabcdef).set_user_data(1);
  prep_msg_ring(next_sqe(source), target.fd(), -7, 0x1234).set_user_data(2);
  auto sent = reap(source, 2);
  CHECK(only(sent, 1).result() == 0);
  CHECK(only(sent, 2).result() == 0);

  // Nothing was submitted to the target ring, yet it has two CQEs, in order.
  auto got = reap(target, 2);
  CHECK(got[0].data() == 0xabcdef);
  CHECK(got[0].result() == 42);
  CHECK(got[0].flags == 0);
  CHECK(got[1].data() == 0x1234);
  CHECK(got[1].result() == -7);
  CHECK(source.cq_ready() == 0);

  // A ring can message itself.
  prep_msg_ring(next_sqe(source), source.fd(), 9, 0x99).set_user_data(4);
  auto self = reap(source, 2);
  CHECK(only(self, 4).result() == 0);
  CHECK(only(self, 0x99).result() == 9);
}

TEST_CASE("MSG_RING with FLAGS_PASS: the target CQE carries the flags we choose") {
  URING_REQUIRE(testing::missing_op(abi::IORING_OP_MSG_RING));
  URING_REQUIRE(testing::missing_since("IORING_MSG_RING_FLAGS_PASS", "6.3"));
  FdLeakCheck leaks;
  Ring source = make_ring();
  Ring target = make_ring();

  prep_msg_ring_cqe_flags(next_sqe(source), target.fd(), 5, 0x77, 0x00420000u | abi::IORING_CQE_F_MORE)
      .set_user_data(3);
  CHECK(reap_one(source).result() == 0);
  Cqe passed = reap_one(target);
  CHECK(passed.data() == 0x77);
  CHECK(passed.result() == 5);
  CHECK(passed.flags == (0x00420000u | abi::IORING_CQE_F_MORE));
  CHECK(passed.buffer_id() == 0x42);
  CHECK(passed.more());

  // Without FLAGS_PASS the flags field is not copied: the CQE's flags stay 0.
  prep_msg_ring(next_sqe(source), target.fd(), 6, 0x78).set_user_data(4);
  CHECK(reap_one(source).result() == 0);
  Cqe plain = reap_one(target);
  CHECK(plain.data() == 0x78);
  CHECK(plain.flags == 0);
}

TEST_CASE("MSG_RING passes a fixed file to another ring, usable there") {
  URING_REQUIRE(testing::missing_op(abi::IORING_OP_MSG_RING));
  URING_REQUIRE(testing::missing_since("IORING_MSG_SEND_FD and IORING_MSG_RING_CQE_SKIP", "6.0"));
  FdLeakCheck leaks;
  Ring source = make_ring();
  Ring target = make_ring();
  auto [client, server] = tcp_pair();
  register_files(source, {-1, client.get()});
  register_sparse_files(target, 8);

  // Into slot 2 of the target: both sides see result 0.
  prep_msg_ring_send_fd(next_sqe(source), target.fd(), FixedFile(1), DirectSlot(2), 0x5001).set_user_data(1);
  CHECK(reap_one(source).result() == 0);
  Cqe arrived = reap_one(target);
  CHECK(arrived.data() == 0x5001);
  CHECK(arrived.result() == 0);

  // The target sends through its new slot; the bytes come out of the peer.
  const auto bytes = pattern(4000, 8);
  prep_send(next_sqe(target), FixedFile(2), bytes.data(), length_of(bytes.size()), 0).set_user_data(2);
  CHECK(reap_one(target).result() == static_cast<int>(bytes.size()));
  CHECK(recv_exact(server.get(), bytes.size()) == bytes);

  // Into any free slot: the result is the slot chosen, on both sides.
  prep_msg_ring_send_fd(next_sqe(source), target.fd(), FixedFile(1), DirectSlot::any(), 0x5002)
      .set_user_data(3);
  const int slot = reap_one(source).result();
  REQUIRE(slot >= 0);
  CHECK(slot != 2);
  Cqe any = reap_one(target);
  CHECK(any.data() == 0x5002);
  CHECK(any.result() == slot);

  // CQE_SKIP: the file is installed but the target hears nothing.
  prep_msg_ring_send_fd(next_sqe(source), target.fd(), FixedFile(1), DirectSlot(6), 0x5003, false)
      .set_user_data(4);
  CHECK(reap_one(source).result() == 0);
  // The next message is the first thing the target hears: no CQE for slot 6.
  prep_msg_ring(next_sqe(source), target.fd(), 0, 0x5004).set_user_data(6);
  CHECK(reap_one(source).result() == 0);
  CHECK(reap_one(target).data() == 0x5004);
  CHECK(target.cq_ready() == 0);
  const auto more = pattern(100, 9);
  prep_send(next_sqe(target), FixedFile(6), more.data(), length_of(more.size()), 0).set_user_data(5);
  CHECK(reap_one(target).result() == static_cast<int>(more.size()));
  CHECK(recv_exact(server.get(), more.size()) == more);

  // A ring fd cannot itself go into a file table (the kernel refuses to
  // register io_uring files), so the target is always named by its plain fd.
  int fds[1] = {target.fd()};
  abi::io_uring_rsrc_update2 update{};
  update.data = reinterpret_cast<std::uintptr_t>(fds);
  update.nr = 1;
  CHECK(source.register_raw(abi::IORING_REGISTER_FILES_UPDATE2, &update, sizeof update) == -EBADF);
}

TEST_CASE("MSG_RING errors: not a ring, empty source slot, bad flags") {
  URING_REQUIRE(testing::missing_op(abi::IORING_OP_MSG_RING));
  URING_REQUIRE(testing::missing_since("IORING_MSG_SEND_FD", "6.0"));
  FdLeakCheck leaks;
  Ring source = make_ring();
  Ring target = make_ring();
  auto [read_end, write_end] = make_pipe();

  // To a pipe: not a ring.
  prep_msg_ring(next_sqe(source), read_end.get(), 1, 1).set_user_data(1);
  CHECK(reap_one(source).result() == -EBADFD);
  // To a closed fd.
  int closed = ::dup(read_end.get());
  ::close(closed);
  prep_msg_ring(next_sqe(source), closed, 1, 1).set_user_data(2);
  CHECK(reap_one(source).result() == -EBADF);

  // Passing a file from an empty slot, or to our own ring.
  register_files(source, {-1, read_end.get()});
  register_sparse_files(target, 4);
  prep_msg_ring_send_fd(next_sqe(source), target.fd(), FixedFile(0), DirectSlot(0), 3).set_user_data(3);
  CHECK(reap_one(source).result() == -EBADF);
  prep_msg_ring_send_fd(next_sqe(source), source.fd(), FixedFile(1), DirectSlot(0), 4).set_user_data(4);
  CHECK(reap_one(source).result() == -EINVAL);
  // A target slot outside the target's table.
  prep_msg_ring_send_fd(next_sqe(source), target.fd(), FixedFile(1), DirectSlot(9), 5).set_user_data(5);
  CHECK(reap_one(source).result() == -EINVAL);

  // CQE_SKIP is only for passing files; on data it is refused.
  Prepared& data_skip = prep_msg_ring(next_sqe(source), target.fd(), 1, 6);
  data_skip.msg_ring_flags = abi::IORING_MSG_RING_CQE_SKIP;
  data_skip.set_user_data(6);
  CHECK(reap_one(source).result() == -EINVAL);
  // Nothing reached the target: the next message is the first CQE it has.
  prep_msg_ring(next_sqe(source), target.fd(), 0, 0x77).set_user_data(7);
  CHECK(reap_one(source).result() == 0);
  CHECK(reap_one(target).data() == 0x77);
  CHECK(target.cq_ready() == 0);
}
