// Registered (fixed) files and buffers: the ring's file table and buffer
// table, as RAII objects over io_uring_register(2).
//
//   auto files = uring::FileTable::create_sparse(ring, 16);    // 16 empty slots
//   uring::prep_openat_direct(*sqe, AT_FDCWD, "f", O_RDONLY, 0, uring::DirectSlot(3));
//   uring::prep_read(*sqe2, uring::FixedFile(3), buf, n, 0);     // IOSQE_FIXED_FILE by type
//
//   iovec region{memory, 1 << 20};
//   auto buffers = uring::BufferTable::create(ring, {&region, 1});
//   auto sqe = buffers->read_fixed(fd, memory + 4096, 8192, 0, uring::FixedBuffer(0));
//   if (!sqe) { /* the range is not inside buffer 0: nothing was queued */ }
//   else (*sqe)->set_user_data(1);
//
// Lifetime: a table holds its Ring through a RingRef (uring/ring.h): the
// Ring may move (the table follows it) and may close or be destroyed first
// (the kernel drops the registration with the ring; the table then reads
// as not registered, its calls fail with ENXIO, and its destructor does
// nothing). Tables themselves move safely: the moved-from table is empty
// and its destructor does nothing.
//
// A ring has at most one file table and one buffer table at a time (a
// second registration fails with EBUSY).
//
// Tags: each slot may carry a non-zero 64-bit tag (Linux 5.13,
// IORING_FEAT_RSRC_TAGS). When the kernel lets go of a tagged file or buffer
// (the slot is updated, or the table unregistered) and no request still uses
// it, it posts a CQE with user_data = the tag and result 0. Pick tags that
// cannot be mistaken for a request's user_data, and reap them like any CQE.
//
// Before Linux 5.13 (no IORING_FEAT_RSRC_TAGS) tables are registered with the
// original calls (IORING_REGISTER_FILES/BUFFERS, FILES_UPDATE): tags are then
// refused with a message, sparse file tables are filled with -1, and buffer
// updates and sparse buffer tables are unavailable.
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "syscalls/abi.h"
#include "uring/result.h"
#include "uring/ring.h"
#include "uring/sqe.h"

namespace uring {


// Which registration calls a table uses. kAuto picks the tagged ones
// (FILES2/BUFFERS2, Linux 5.13) when the ring has IORING_FEAT_RSRC_TAGS;
// kLegacy forces the original ones on any kernel (to test that path).
enum class RegisterApi { kAuto, kLegacy };

class FileTable {
 public:
  // Registers `fds` as slots 0..n-1 (an fd of -1 leaves its slot empty;
  // IORING_REGISTER_FILES_SKIP is refused: it means something only to update()).
  // `tags` is empty or has one tag per fd (0 = untagged; empty slots must be 0).
  static Result<FileTable> create(Ring& ring, std::span<const int> fds,
                                  std::span<const std::uint64_t> tags = {},
                                  RegisterApi api = RegisterApi::kAuto);
  // Registers `slots` empty slots (IORING_RSRC_REGISTER_SPARSE), to be filled
  // by update(), FILES_UPDATE or direct-descriptor ops (OPENAT into a DirectSlot).
  static Result<FileTable> create_sparse(Ring& ring, unsigned slots, RegisterApi api = RegisterApi::kAuto);

  FileTable() = default;  // no table
  FileTable(FileTable&& other) noexcept;
  FileTable& operator=(FileTable&& other) noexcept;
  FileTable(const FileTable&) = delete;
  FileTable& operator=(const FileTable&) = delete;
  ~FileTable();  // unregisters

  bool registered() const { return ring_.get() != nullptr; }
  unsigned size() const { return size_; }
  // True when `file` names a slot of this table (it may still be empty).
  bool contains(FixedFile file) const { return registered() && file.index < size_; }

  // Puts fds[i] into slot offset + i (-1 empties the slot,
  // abi::IORING_REGISTER_FILES_SKIP leaves it and its tag as they are), with
  // optional tags (an empty or skipped slot takes tag 0). Returns fds.size():
  // the kernel counts emptied and skipped slots with the set ones. The kernel stops at the first fd it
  // cannot register (not open, or a ring) after emptying that slot: then
  // the result is an error (EBADF, ...) whose message says which slots
  // were updated, which slot is now empty and which are unchanged.
  Result<unsigned> update(unsigned offset, std::span<const int> fds,
                          std::span<const std::uint64_t> tags = {});

  // Makes DirectSlot::any() (IORING_FILE_INDEX_ALLOC) pick slots only in
  // [offset, offset + count) (IORING_REGISTER_FILE_ALLOC_RANGE, Linux 6.0).
  Status set_alloc_range(unsigned offset, unsigned count);

  // IORING_UNREGISTER_FILES now; the destructor then does nothing.
  Status unregister();

 private:
  FileTable(Ring& ring, unsigned size, RegisterApi api) : ring_(ring), size_(size), api_(api) {}
  RingRef ring_;  // follows the Ring's moves; null once it closed
  unsigned size_ = 0;
  RegisterApi api_ = RegisterApi::kAuto;
};

class BufferTable {
 public:
  // Registers each iovec as a buffer (slot i = buffers[i]); the memory is
  // pinned until it is unregistered and counts against RLIMIT_MEMLOCK unless
  // the process has CAP_IPC_LOCK. An iovec {nullptr, 0} is an empty slot; a
  // buffer is at most 1 GiB (the kernel's limit: EFAULT, with a message
  // naming the buffer).
  // `tags` is empty or has one tag per buffer (0 = untagged).
  static Result<BufferTable> create(Ring& ring, std::span<const iovec> buffers,
                                    std::span<const std::uint64_t> tags = {},
                                    RegisterApi api = RegisterApi::kAuto);
  // Registers `slots` empty slots (IORING_RSRC_REGISTER_SPARSE, Linux 5.13).
  static Result<BufferTable> create_sparse(Ring& ring, unsigned slots);

  BufferTable() = default;
  BufferTable(BufferTable&& other) noexcept;
  BufferTable& operator=(BufferTable&& other) noexcept;
  BufferTable(const BufferTable&) = delete;
  BufferTable& operator=(const BufferTable&) = delete;
  ~BufferTable();  // unregisters

  bool registered() const { return ring_.get() != nullptr; }
  unsigned size() const { return static_cast<unsigned>(buffers_.size()); }
  // The memory registered in a slot ({nullptr, 0}: empty or out of range).
  iovec buffer(FixedBuffer index) const;

  // Replaces slots offset.. with `buffers` ({nullptr, 0} empties a slot),
  // with optional tags (IORING_REGISTER_BUFFERS_UPDATE, Linux 5.13). Returns
  // the number of slots updated: all of them. The kernel stops at the first
  // buffer it cannot register: then the result is the error for that buffer
  // (EFAULT, ENOMEM, ...), whose message says which slots were updated; that
  // slot and the ones after it keep their old buffers (buffer() tracks it).
  Result<unsigned> update(unsigned offset, std::span<const iovec> buffers,
                          std::span<const std::uint64_t> tags = {});

  // IORING_UNREGISTER_BUFFERS now; the destructor then does nothing.
  Status unregister();

  // OK when [addr, addr + len) lies inside registered buffer `index`. Else an
  // error saying why: EINVAL for an index past the table, EFAULT for an empty
  // slot or a range that starts before the buffer or runs past its end (the
  // kernel would fail the request with -EFAULT).
  Status check_range(FixedBuffer index, const void* addr, std::size_t len) const;

  // Range-checked READ_FIXED / WRITE_FIXED / READV_FIXED / WRITEV_FIXED: check
  // every range against the registered buffer, and only then take an SQE from
  // the ring and build the request. On error nothing is queued (EBUSY: the SQ
  // is full — submit first). The result is a builder's Prepared: it takes
  // set_user_data(), link() etc., never set_file() or buffer_select().
  Result<Prepared*> read_fixed(File file, void* buf, IoLength len, std::uint64_t offset, FixedBuffer index);
  Result<Prepared*> write_fixed(File file, const void* buf, IoLength len, std::uint64_t offset,
                                FixedBuffer index);
  Result<Prepared*> readv_fixed(File file, const iovec* iovecs, unsigned count, std::uint64_t offset,
                                FixedBuffer index);
  Result<Prepared*> writev_fixed(File file, const iovec* iovecs, unsigned count, std::uint64_t offset,
                                 FixedBuffer index);

 private:
  BufferTable(Ring& ring, std::vector<iovec> buffers) : ring_(ring), buffers_(std::move(buffers)) {}
  Status check_iovecs(FixedBuffer index, const iovec* iovecs, unsigned count) const;
  Result<Sqe*> take_sqe();
  // Refuses a bad range before taking an SQE (so nothing is queued), then
  // builds the op into the SQE. Defined in registered_files.cc, its only user.
  template <class Build>
  Result<Prepared*> queue_checked(const Status& range, Build&& build);

  RingRef ring_;  // follows the Ring's moves; null once it closed
  std::vector<iovec> buffers_;  // what each slot holds, as far as this table was told
};

}  // namespace uring
