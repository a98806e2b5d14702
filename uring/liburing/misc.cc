// The rest of the liburing API: the probe, provided-buffer rings in the
// caller's memory, multishot RECVMSG result parsing, io_uring_mlock_size*
// and the version calls.
#include "internal/ring_view.h"

#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "uring/barrier.h"

using uring::Ring;
using uring::compat::ring_of;

namespace {

// The kernel's limits (IORING_MAX_ENTRIES, IORING_MAX_CQ_ENTRIES).
constexpr unsigned kMaxSqEntries = 32768;
constexpr unsigned kMaxCqEntries = 2 * kMaxSqEntries;
// Room for the kernel's struct io_rings ahead of the CQEs, as the 5.11
// kernels sized it.
constexpr std::size_t kRingsHeaderBytes = 320;

unsigned next_pow2(unsigned n) {
  unsigned p = 1;
  while (p < n) p <<= 1;
  return p;
}

// Pages of a kernel allocation of `bytes`: the pre-5.12 kernels took whole
// power-of-two page blocks (get_order).
std::size_t block_bytes(std::size_t bytes, std::size_t page) {
  std::size_t block = page;
  while (block < bytes) block <<= 1;
  return block;
}

unsigned char* after_header(struct io_uring_recvmsg_out* o) { return reinterpret_cast<unsigned char*>(o + 1); }

}  // namespace

extern "C" {

// ---- Probe ---------------------------------------------------------------------

struct io_uring_probe* io_uring_get_probe_ring(struct io_uring* view) {
  Ring* ring = ring_of(view);
  if (!ring) return nullptr;
  const std::size_t bytes = sizeof(struct io_uring_probe) + 256 * sizeof(struct io_uring_probe_op);
  auto* probe = static_cast<struct io_uring_probe*>(std::calloc(1, bytes));
  if (!probe) return nullptr;
  if (ring->register_raw(IORING_REGISTER_PROBE, probe, 256) < 0) {
    std::free(probe);
    return nullptr;
  }
  return probe;
}

struct io_uring_probe* io_uring_get_probe(void) {
  struct io_uring ring;
  if (io_uring_queue_init(2, &ring, 0) < 0) return nullptr;
  struct io_uring_probe* probe = io_uring_get_probe_ring(&ring);
  io_uring_queue_exit(&ring);
  return probe;
}

void io_uring_free_probe(struct io_uring_probe* probe) { std::free(probe); }

int io_uring_opcode_supported(const struct io_uring_probe* p, int op) {
  if (!p || op < 0 || op > p->last_op) return 0;
  return (p->ops[op].flags & IO_URING_OP_SUPPORTED) != 0;
}

// ---- Provided-buffer rings --------------------------------------------------------

int io_uring_buf_ring_mask(__u32 ring_entries) { return static_cast<int>(ring_entries - 1); }

void io_uring_buf_ring_init(struct io_uring_buf_ring* br) { br->tail = 0; }

void io_uring_buf_ring_add(struct io_uring_buf_ring* br, void* addr, unsigned int len, unsigned short bid, int mask,
                           int buf_offset) {
  // Slot tail + buf_offset: the count-th buffer added since the last advance.
  struct io_uring_buf* buf = &br->bufs[(br->tail + buf_offset) & mask];
  buf->addr = reinterpret_cast<std::uintptr_t>(addr);
  buf->len = len;
  buf->bid = bid;
}

void io_uring_buf_ring_advance(struct io_uring_buf_ring* br, int count) {
  // The buffers written by io_uring_buf_ring_add must be visible before the
  // kernel sees the new tail (uring/barrier.h: buffer-ring tail, release).
  uring::barrier::store_release(&br->tail, static_cast<std::uint16_t>(br->tail + count));
}

void io_uring_buf_ring_cq_advance(struct io_uring* view, struct io_uring_buf_ring* br, int count) {
  io_uring_buf_ring_advance(br, count);
  io_uring_cq_advance(view, static_cast<unsigned>(count));
}

// ---- Multishot RECVMSG results -------------------------------------------------------
//
// The buffer of one result: struct io_uring_recvmsg_out, then msg_namelen
// bytes of name room, msg_controllen bytes of control room, then the
// payload (the msghdr is the one the request was armed with).

struct io_uring_recvmsg_out* io_uring_recvmsg_validate(void* buf, int buf_len, struct msghdr* msgh) {
  const unsigned long reserved =
      sizeof(struct io_uring_recvmsg_out) + msgh->msg_namelen + static_cast<unsigned long>(msgh->msg_controllen);
  if (buf_len < 0 || static_cast<unsigned long>(buf_len) < reserved) return nullptr;
  return static_cast<struct io_uring_recvmsg_out*>(buf);
}

void* io_uring_recvmsg_name(struct io_uring_recvmsg_out* o) { return after_header(o); }

struct cmsghdr* io_uring_recvmsg_cmsg_firsthdr(struct io_uring_recvmsg_out* o, struct msghdr* msgh) {
  if (o->controllen < sizeof(struct cmsghdr)) return nullptr;
  return reinterpret_cast<struct cmsghdr*>(after_header(o) + msgh->msg_namelen);
}

struct cmsghdr* io_uring_recvmsg_cmsg_nexthdr(struct io_uring_recvmsg_out* o, struct msghdr* msgh,
                                              struct cmsghdr* cmsg) {
  if (cmsg->cmsg_len < sizeof(struct cmsghdr)) return nullptr;
  const unsigned char* end = after_header(o) + msgh->msg_namelen + o->controllen;
  auto* next = reinterpret_cast<unsigned char*>(cmsg) + CMSG_ALIGN(cmsg->cmsg_len);
  // The next header, and all it says it holds, must lie inside the control data.
  if (next + sizeof(struct cmsghdr) > end) return nullptr;
  auto* next_cmsg = reinterpret_cast<struct cmsghdr*>(next);
  if (next + CMSG_ALIGN(next_cmsg->cmsg_len) > end) return nullptr;
  return next_cmsg;
}

void* io_uring_recvmsg_payload(struct io_uring_recvmsg_out* o, struct msghdr* msgh) {
  return after_header(o) + msgh->msg_namelen + msgh->msg_controllen;
}

unsigned int io_uring_recvmsg_payload_length(struct io_uring_recvmsg_out* o, int buf_len, struct msghdr* msgh) {
  auto* start = static_cast<unsigned char*>(io_uring_recvmsg_payload(o, msgh));
  auto* end = reinterpret_cast<unsigned char*>(o) + buf_len;
  return static_cast<unsigned int>(end - start);
}

// ---- Locked memory ----------------------------------------------------------------------

// Kernels with IORING_FEAT_NATIVE_WORKERS (5.12) charge ring memory to the
// memory cgroup, not RLIMIT_MEMLOCK: 0. Older ones locked the rings and the
// SQEs, each in a power-of-two block of pages: that many bytes.
ssize_t io_uring_mlock_size_params(unsigned entries, struct io_uring_params* p) {
  struct io_uring_params probe_params;
  std::memset(&probe_params, 0, sizeof probe_params);
  struct io_uring ring;
  if (io_uring_queue_init_params(entries, &ring, &probe_params) == 0) io_uring_queue_exit(&ring);
  if (probe_params.features & IORING_FEAT_NATIVE_WORKERS) return 0;

  if (entries == 0) return -EINVAL;
  if (entries > kMaxSqEntries) {
    if (!(p->flags & IORING_SETUP_CLAMP)) return -EINVAL;
    entries = kMaxSqEntries;
  }
  entries = next_pow2(entries);
  unsigned cq_entries = 2 * entries;
  if (p->flags & IORING_SETUP_CQSIZE) {
    if (p->cq_entries == 0) return -EINVAL;
    cq_entries = p->cq_entries;
    if (cq_entries > kMaxCqEntries) {
      if (!(p->flags & IORING_SETUP_CLAMP)) return -EINVAL;
      cq_entries = kMaxCqEntries;
    }
    cq_entries = next_pow2(cq_entries);
    if (cq_entries < entries) return -EINVAL;
  }
  long page_size = ::sysconf(_SC_PAGESIZE);
  if (page_size <= 0) page_size = 4096;
  const std::size_t page = static_cast<std::size_t>(page_size);
  const std::size_t cqe_bytes = sizeof(struct io_uring_cqe) * ((p->flags & IORING_SETUP_CQE32) ? 2 : 1);
  const std::size_t sqe_bytes = sizeof(struct io_uring_sqe) * ((p->flags & IORING_SETUP_SQE128) ? 2 : 1);
  std::size_t rings = kRingsHeaderBytes + cqe_bytes * cq_entries;
  rings = (rings + 63) & ~std::size_t{63};
  return static_cast<ssize_t>(block_bytes(rings, page) + block_bytes(sqe_bytes * entries, page));
}

ssize_t io_uring_mlock_size(unsigned entries, unsigned flags) {
  struct io_uring_params p;
  std::memset(&p, 0, sizeof p);
  p.flags = flags;
  return io_uring_mlock_size_params(entries, &p);
}

// ---- Versions ----------------------------------------------------------------------------

int io_uring_major_version(void) { return IO_URING_VERSION_MAJOR; }
int io_uring_minor_version(void) { return IO_URING_VERSION_MINOR; }
// As liburing's: true when (major, minor) is this API's release or a later one.
bool io_uring_check_version(int major, int minor) { return IO_URING_CHECK_VERSION(major, minor); }

}  // extern "C"
