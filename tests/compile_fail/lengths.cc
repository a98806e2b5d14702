// Lengths and registered-buffer indexes that do not fit their SQE field must
// not compile (issue 12, item 11): a run-time size goes through
// SocketLength / IoLength ::checked or ::at_most, a run-time buffer index
// through FixedBuffer::checked, a constant is checked where it is written.
// case 1: 'data' is not a constant expression
// case 2: 'n' is not a constant expression
// case 3: 'data' is not a constant expression
// case 4: 'data' is not a constant expression
// case 5: socket_length_must_be_at_most_kMaxSocketLength
// case 6: socket_length_must_be_at_most_kMaxSocketLength
// case 7: 'n' is not a constant expression
// case 8: registered_buffer_index_must_be_below_kMaxRegisteredBuffers
// case 9: 'signed_index' is not a constant expression
// case 10: 'n' is not a constant expression
// case 11: 'data' is not a constant expression
// case 12: io_length_must_fit_in_32_bits
// case 13: 'data' is not a constant expression
// case 14: 'data' is not a constant expression
// case 15: io_length_must_fit_in_32_bits
// case 16: 'data' is not a constant expression
// case 17: 'n' is not a constant expression
// case 18: 'data' is not a constant expression
// case 19: 'data' is not a constant expression
// case 20: 'data' is not a constant expression
// case 21: 'data' is not a constant expression
// case 22: io_length_must_fit_in_32_bits
#include <sys/socket.h>

#include <cstddef>
#include <string>

#include "uring/uring.h"

using namespace uring;

void build(Sqe& sqe, int fd, const std::string& data, unsigned n, char* buf, const sockaddr* to, int signed_index) {
  (void)data, (void)n, (void)buf, (void)to, (void)signed_index;
#if URING_CASE == 0
  prep_send(sqe, fd, data.data(), SocketLength::at_most(data.size()), 0);
  prep_recv(sqe, fd, buf, SocketLength::checked(n).value(), 0);
  prep_send_zc(sqe, fd, data.data(), SocketLength::at_most(data.size()), 0);
  prep_sendto(sqe, fd, data.data(), SocketLength::at_most(data.size()), 0, to, sizeof(sockaddr));
  prep_send(sqe, fd, buf, 0x7fffffff, 0);
  prep_recv_buffer_select(sqe, fd, 4096, 0, 1);
  prep_read_fixed(sqe, fd, buf, 16, 0, FixedBuffer(16383));
  prep_read_fixed(sqe, fd, buf, 16, 0, FixedBuffer::checked(signed_index).value());
  prep_recv_bundle(sqe, fd, SocketLength::checked(n).value(), 0, 1);
  prep_recv_bundle(sqe, fd, 0, 0, 1);
  prep_read(sqe, fd, buf, n, 0);  // an unsigned always fits sqe->len
  prep_write(sqe, fd, data.data(), IoLength::at_most(data.size()), 0);
  prep_read(sqe, fd, buf, IoLength::checked(data.size()).value(), 0);
  prep_write(sqe, fd, buf, 0xffffffffu, 0);
  prep_splice(sqe, fd, 0, fd, 0, IoLength::at_most(data.size()));
  prep_tee(sqe, fd, fd, n);
  prep_fsync_range(sqe, fd, 0, 4096);
  prep_sync_file_range(sqe, fd, 0, n, 0);
  prep_read_fixed(sqe, fd, buf, 16, 0, FixedBuffer::checked(n).value());
  enum { kChunk = 4096, kSlot = 2 };  // old-style constants are constants too
  prep_read(sqe, fd, buf, kChunk, 0);
  prep_send(sqe, fd, buf, kChunk, 0);
  prep_read_fixed(sqe, fd, buf, kChunk, 0, FixedBuffer(kSlot));
  prep_provide_buffers(sqe, buf, n, 4, 1, 0);
  prep_fgetxattr(sqe, fd, "user.x", buf, IoLength::at_most(data.size()));
  prep_recv_zc(sqe, fd, 0, n);
#elif URING_CASE == 1
  prep_send(sqe, fd, data.data(), data.size(), 0);  // a run-time size_t, maybe above 4 GiB
#elif URING_CASE == 2
  prep_recv(sqe, fd, buf, n, 0);  // a run-time unsigned: 2^31.. would fail with -EINVAL
#elif URING_CASE == 3
  prep_send_zc(sqe, fd, data.data(), data.size(), 0);
#elif URING_CASE == 4
  prep_sendto(sqe, fd, data.data(), data.size(), 0, to, sizeof(sockaddr));
#elif URING_CASE == 5
  prep_send(sqe, fd, buf, (std::size_t{5} << 30) + 10, 0);  // used to become 1 GiB + 10
#elif URING_CASE == 6
  prep_recv(sqe, fd, buf, 0x80000000u, 0);  // used to reach the kernel and fail with -EINVAL
#elif URING_CASE == 7
  prep_recv_buffer_select(sqe, fd, n, 0, 1);
#elif URING_CASE == 8
  prep_read_fixed(sqe, fd, buf, 16, 0, FixedBuffer(65536 + 3));  // used to name buffer 3
#elif URING_CASE == 9
  prep_read_fixed(sqe, fd, buf, 16, 0, FixedBuffer(signed_index));  // may be negative or too big
#elif URING_CASE == 10
  prep_recv_bundle(sqe, fd, n, 0, 1);  // a bundle's byte cap is a socket length too
#elif URING_CASE == 11
  prep_read(sqe, fd, buf, data.size(), 0);  // a run-time size_t: above 4 GiB it used to be cut to 32 bits
#elif URING_CASE == 12
  prep_write(sqe, fd, buf, (std::size_t{5} << 30) + 10, 0);  // used to become 1 GiB + 10
#elif URING_CASE == 13
  prep_splice(sqe, fd, 0, fd, 0, data.size());
#elif URING_CASE == 14
  prep_tee(sqe, fd, fd, data.size());
#elif URING_CASE == 15
  prep_fsync_range(sqe, fd, 0, -1);  // used to become 4 GiB - 1
#elif URING_CASE == 16
  prep_sync_file_range(sqe, fd, 0, data.size(), 0);
#elif URING_CASE == 17
  prep_read_fixed(sqe, fd, buf, 16, 0, FixedBuffer(n));  // used to compile and stop the program when n >= 16384
#elif URING_CASE == 18
  prep_write_fixed(sqe, fd, buf, data.size(), 0, FixedBuffer(0));
#elif URING_CASE == 19
  prep_provide_buffers(sqe, buf, data.size(), 4, 1, 0);  // used to be cut to 32 bits (2^32 + 16 -> 16)
#elif URING_CASE == 20
  prep_fgetxattr(sqe, fd, "user.x", buf, data.size());
#elif URING_CASE == 21
  prep_recv_zc(sqe, fd, 0, data.size());  // exactly 4 GiB used to become 0: no limit
#elif URING_CASE == 22
  enum : long long { kHuge = 1LL << 33 };
  prep_read(sqe, fd, buf, kHuge, 0);
#endif
}
