// The io_uring_register* calls of the liburing API. Each goes through
// Ring::register_raw, uring's one registration entry point (it also reaches
// a ring whose plain fd was closed, through its registered index), and
// returns what liburing's call returns: the kernel's value, or for the calls
// liburing documents as "0 on success", 0; -errno on failure. uring's typed
// calls (registered_files.h, register.h) are not used here because they
// refuse some inputs before the kernel sees them, and a liburing program
// (liburing's tests first) expects the kernel's own answer to those.
#include "internal/ring_view.h"

#include <sys/resource.h>

#include <cstring>

using uring::Ring;
using uring::compat::ring_of;

namespace {

int reg(struct io_uring* view, unsigned opcode, const void* arg, unsigned nr) {
  Ring* ring = ring_of(view);
  if (!ring) return -EBADF;
  return ring->register_raw(opcode, arg, nr);
}

int zero_or_error(int ret) { return ret < 0 ? ret : 0; }

// The kernel counts registered files against RLIMIT_NOFILE: on EMFILE raise
// the soft limit (within the hard one) by the number asked for, once, and
// try again, as liburing does.
template <class Call>
int with_nofile_room(unsigned nr, Call call) {
  int ret = call();
  if (ret != -EMFILE) return ret;
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) < 0) return ret;
  if (limit.rlim_cur >= nr) return ret;
  rlim_t wanted = limit.rlim_cur + nr;
  if (limit.rlim_max != RLIM_INFINITY && wanted > limit.rlim_max) wanted = limit.rlim_max;
  limit.rlim_cur = wanted;
  if (::setrlimit(RLIMIT_NOFILE, &limit) < 0) return ret;
  return call();
}

std::uint64_t as_u64(const void* p) { return reinterpret_cast<std::uintptr_t>(p); }

}  // namespace

extern "C" {

// ---- Buffers -----------------------------------------------------------------

int io_uring_register_buffers(struct io_uring* view, const struct iovec* iovecs, unsigned nr_iovecs) {
  return zero_or_error(reg(view, IORING_REGISTER_BUFFERS, iovecs, nr_iovecs));
}

int io_uring_register_buffers_tags(struct io_uring* view, const struct iovec* iovecs, const __u64* tags,
                                   unsigned nr) {
  struct io_uring_rsrc_register r;
  std::memset(&r, 0, sizeof r);
  r.nr = nr;
  r.data = as_u64(iovecs);
  r.tags = as_u64(tags);
  return reg(view, IORING_REGISTER_BUFFERS2, &r, sizeof r);
}

int io_uring_register_buffers_sparse(struct io_uring* view, unsigned nr) {
  struct io_uring_rsrc_register r;
  std::memset(&r, 0, sizeof r);
  r.flags = IORING_RSRC_REGISTER_SPARSE;
  r.nr = nr;
  return reg(view, IORING_REGISTER_BUFFERS2, &r, sizeof r);
}

int io_uring_register_buffers_update_tag(struct io_uring* view, unsigned off, const struct iovec* iovecs,
                                         const __u64* tags, unsigned nr) {
  struct io_uring_rsrc_update2 up;
  std::memset(&up, 0, sizeof up);
  up.offset = off;
  up.data = as_u64(iovecs);
  up.tags = as_u64(tags);
  up.nr = nr;
  return reg(view, IORING_REGISTER_BUFFERS_UPDATE, &up, sizeof up);
}

int io_uring_unregister_buffers(struct io_uring* view) {
  return zero_or_error(reg(view, IORING_UNREGISTER_BUFFERS, nullptr, 0));
}

// ---- Files -------------------------------------------------------------------

int io_uring_register_files(struct io_uring* view, const int* files, unsigned nr_files) {
  return with_nofile_room(nr_files, [&] { return reg(view, IORING_REGISTER_FILES, files, nr_files); });
}

int io_uring_register_files_tags(struct io_uring* view, const int* files, const __u64* tags, unsigned nr) {
  struct io_uring_rsrc_register r;
  std::memset(&r, 0, sizeof r);
  r.nr = nr;
  r.data = as_u64(files);
  r.tags = as_u64(tags);
  return with_nofile_room(nr, [&] { return reg(view, IORING_REGISTER_FILES2, &r, sizeof r); });
}

int io_uring_register_files_sparse(struct io_uring* view, unsigned nr) {
  struct io_uring_rsrc_register r;
  std::memset(&r, 0, sizeof r);
  r.flags = IORING_RSRC_REGISTER_SPARSE;
  r.nr = nr;
  return with_nofile_room(nr, [&] { return reg(view, IORING_REGISTER_FILES2, &r, sizeof r); });
}

int io_uring_register_files_update_tag(struct io_uring* view, unsigned off, const int* files, const __u64* tags,
                                       unsigned nr_files) {
  struct io_uring_rsrc_update2 up;
  std::memset(&up, 0, sizeof up);
  up.offset = off;
  up.data = as_u64(files);
  up.tags = as_u64(tags);
  up.nr = nr_files;
  return reg(view, IORING_REGISTER_FILES_UPDATE2, &up, sizeof up);
}

int io_uring_register_files_update(struct io_uring* view, unsigned off, const int* files, unsigned nr_files) {
  struct io_uring_files_update up;
  std::memset(&up, 0, sizeof up);
  up.offset = off;
  up.fds = as_u64(files);
  return reg(view, IORING_REGISTER_FILES_UPDATE, &up, nr_files);
}

int io_uring_unregister_files(struct io_uring* view) {
  return zero_or_error(reg(view, IORING_UNREGISTER_FILES, nullptr, 0));
}

int io_uring_register_file_alloc_range(struct io_uring* view, unsigned off, unsigned len) {
  struct io_uring_file_index_range range;
  std::memset(&range, 0, sizeof range);
  range.off = off;
  range.len = len;
  return reg(view, IORING_REGISTER_FILE_ALLOC_RANGE, &range, 0);
}

// ---- eventfd, probe, personality, restrictions, enable -------------------------

int io_uring_register_eventfd(struct io_uring* view, int fd) {
  return zero_or_error(reg(view, IORING_REGISTER_EVENTFD, &fd, 1));
}

int io_uring_register_eventfd_async(struct io_uring* view, int fd) {
  return zero_or_error(reg(view, IORING_REGISTER_EVENTFD_ASYNC, &fd, 1));
}

int io_uring_unregister_eventfd(struct io_uring* view) {
  return zero_or_error(reg(view, IORING_UNREGISTER_EVENTFD, nullptr, 0));
}

int io_uring_register_probe(struct io_uring* view, struct io_uring_probe* p, unsigned nr) {
  return zero_or_error(reg(view, IORING_REGISTER_PROBE, p, nr));
}

int io_uring_register_personality(struct io_uring* view) { return reg(view, IORING_REGISTER_PERSONALITY, nullptr, 0); }

int io_uring_unregister_personality(struct io_uring* view, int id) {
  return reg(view, IORING_UNREGISTER_PERSONALITY, nullptr, static_cast<unsigned>(id));
}

int io_uring_register_restrictions(struct io_uring* view, struct io_uring_restriction* res, unsigned int nr_res) {
  return zero_or_error(reg(view, IORING_REGISTER_RESTRICTIONS, res, nr_res));
}

int io_uring_enable_rings(struct io_uring* view) {
  Ring* ring = ring_of(view);
  if (!ring) return -EBADF;
  const uring::Status enabled = ring->enable();
  return enabled ? 0 : -enabled.code();
}

// ---- io-wq ---------------------------------------------------------------------

int io_uring_register_iowq_aff(struct io_uring* view, size_t cpusz, const cpu_set_t* mask) {
  if (cpusz >= (1U << 31)) return -EINVAL;  // nr_args is an unsigned int the kernel reads as a length
  return reg(view, IORING_REGISTER_IOWQ_AFF, mask, static_cast<unsigned>(cpusz));
}

int io_uring_unregister_iowq_aff(struct io_uring* view) { return reg(view, IORING_UNREGISTER_IOWQ_AFF, nullptr, 0); }

int io_uring_register_iowq_max_workers(struct io_uring* view, unsigned int* values) {
  return reg(view, IORING_REGISTER_IOWQ_MAX_WORKERS, values, 2);
}

// ---- The ring fd itself -------------------------------------------------------------
//
// Ring keeps the registered index for the thread that registered it: enter
// and register calls from that thread use it, calls from any other thread
// the plain fd. enter_ring_fd and int_flags say what the registering thread
// uses.

int io_uring_register_ring_fd(struct io_uring* view) {
  Ring* ring = ring_of(view);
  if (!ring) return -EBADF;
  const int ret = ring->register_ring_fd();
  if (ret == 1) uring::compat::note_ring_fd(view, *ring);
  return ret;
}

int io_uring_unregister_ring_fd(struct io_uring* view) {
  Ring* ring = ring_of(view);
  if (!ring) return -EBADF;
  const int ret = ring->unregister_ring_fd();
  if (ret == 1) uring::compat::note_ring_fd(view, *ring);
  return ret;
}

int io_uring_close_ring_fd(struct io_uring* view) {
  Ring* ring = ring_of(view);
  if (!ring) return -EBADF;
  const int ret = ring->close_ring_fd();
  if (ret == 1) uring::compat::note_ring_fd(view, *ring);
  return ret;
}

// ---- Buffer rings, sync cancel ------------------------------------------------------

int io_uring_register_buf_ring(struct io_uring* view, struct io_uring_buf_reg* r, unsigned int flags) {
  (void)flags;  // liburing 2.3 takes it and passes nothing on
  return reg(view, IORING_REGISTER_PBUF_RING, r, 1);
}

int io_uring_unregister_buf_ring(struct io_uring* view, int bgid) {
  struct io_uring_buf_reg r;
  std::memset(&r, 0, sizeof r);
  r.bgid = static_cast<__u16>(bgid);
  return reg(view, IORING_UNREGISTER_PBUF_RING, &r, 1);
}

int io_uring_register_sync_cancel(struct io_uring* view, struct io_uring_sync_cancel_reg* r) {
  return reg(view, IORING_REGISTER_SYNC_CANCEL, r, 1);
}

}  // extern "C"
