// Views over the kernel's submission and completion entries.
//
// Sqe and Cqe add no data to abi::io_uring_sqe / abi::io_uring_cqe: a pointer
// into the mapped ring is a pointer to one of these. Builders (uring/prep.h)
// fill an Sqe; the named setters here add the per-request flags, so call
// sites never do raw bit math on `flags`.
#pragma once

#include <cstdint>
#include <cstring>

#include "syscalls/abi.h"

namespace uring {

// A slot in the ring's registered file table (IORING_REGISTER_FILES). Made
// explicitly, so an index can never be passed where an fd is meant.
struct FixedFile {
  constexpr explicit FixedFile(unsigned slot) : index(slot) {}
  unsigned index;
};

// The file an SQE works on: a plain fd (implicitly, from an int) or a
// FixedFile. Sqe::set_file() sets IOSQE_FIXED_FILE for the latter by itself.
class File {
 public:
  constexpr File(int fd) : value_(fd), fixed_(false) {}  // NOLINT: an fd is a File
  constexpr File(FixedFile file) : value_(static_cast<std::int32_t>(file.index)), fixed_(true) {}
  constexpr std::int32_t value() const { return value_; }
  constexpr bool fixed() const { return fixed_; }

 private:
  std::int32_t value_;
  bool fixed_;
};

// A registered buffer (IORING_REGISTER_BUFFERS) by index, for *_FIXED ops.
struct FixedBuffer {
  constexpr explicit FixedBuffer(unsigned slot) : index(slot) {}
  unsigned index;
};

// Where an op that creates a file (OPENAT, ACCEPT, SOCKET, ...) puts it when
// it should be a direct descriptor instead of a normal fd: a given slot of
// the registered file table, or any free one (IORING_FILE_INDEX_ALLOC; the
// CQE result is then the slot chosen).
class DirectSlot {
 public:
  constexpr explicit DirectSlot(unsigned slot) : encoded_(slot + 1) {}
  static constexpr DirectSlot any() { return DirectSlot(abi::IORING_FILE_INDEX_ALLOC, 0); }
  // The value of io_uring_sqe::file_index (slot + 1, or IORING_FILE_INDEX_ALLOC).
  constexpr std::uint32_t encoded() const { return encoded_; }

 private:
  constexpr DirectSlot(std::uint32_t encoded, int) : encoded_(encoded) {}
  std::uint32_t encoded_;
};

class Sqe : public abi::io_uring_sqe {
 public:
  // Zero the 64 bytes every opcode shares. Every builder starts here, so a
  // reused slot never carries a field from its previous request.
  void clear() { std::memset(static_cast<abi::io_uring_sqe*>(this), 0, sizeof(abi::io_uring_sqe)); }

  // Carried untouched to the request's CQE(s).
  Sqe& set_user_data(std::uint64_t value) {
    user_data = value;
    return *this;
  }
  Sqe& set_user_data(const void* pointer) {
    user_data = reinterpret_cast<std::uintptr_t>(pointer);
    return *this;
  }

  // The next SQE runs only if this one succeeds; a failure cancels the rest
  // of the chain with -ECANCELED.
  Sqe& link() { return add_flags(abi::IOSQE_IO_LINK); }
  // The next SQE runs after this one whatever its result.
  Sqe& hardlink() { return add_flags(abi::IOSQE_IO_HARDLINK); }
  // Starts only after every earlier SQE completed; later ones wait for it.
  Sqe& drain() { return add_flags(abi::IOSQE_IO_DRAIN); }
  // Skip the non-blocking attempt: go straight to an io-wq worker.
  Sqe& force_async() { return add_flags(abi::IOSQE_ASYNC); }
  // Post no CQE when the request succeeds (failures still post one).
  Sqe& skip_success() { return add_flags(abi::IOSQE_CQE_SKIP_SUCCESS); }

  // Builders call these: the target file (setting IOSQE_FIXED_FILE for a
  // FixedFile), and a direct-descriptor destination for ops creating files.
  Sqe& set_file(File file) {
    fd = file.value();
    return file.fixed() ? add_flags(abi::IOSQE_FIXED_FILE) : *this;
  }
  Sqe& set_direct_slot(DirectSlot slot) {
    file_index = slot.encoded();
    return *this;
  }
  // The kernel picks the buffer from provided-buffer group `group` when data
  // is ready; the CQE says which (Cqe::buffer_id()).
  Sqe& buffer_select(std::uint16_t group) {
    buf_group = group;
    return add_flags(abi::IOSQE_BUFFER_SELECT);
  }
  // Run with the credentials registered under `id` (IORING_REGISTER_PERSONALITY).
  Sqe& set_personality(std::uint16_t id) {
    personality = id;
    return *this;
  }

 private:
  Sqe& add_flags(std::uint8_t bits) {
    flags = static_cast<std::uint8_t>(flags | bits);
    return *this;
  }
};
static_assert(sizeof(Sqe) == sizeof(abi::io_uring_sqe), "Sqe must overlay the kernel's SQE");

class Cqe : public abi::io_uring_cqe {
 public:
  // The request's result: >= 0 on success (bytes, an fd, ...), -errno on failure.
  std::int32_t result() const { return res; }
  std::uint64_t data() const { return user_data; }
  template <class T>
  T* data_as_pointer() const {
    return reinterpret_cast<T*>(static_cast<std::uintptr_t>(user_data));
  }

  // A multishot request posts more CQEs after this one. When false, the
  // request has ended (finished, failed or was cancelled) and must be re-armed.
  bool more() const { return (flags & abi::IORING_CQE_F_MORE) != 0; }
  // The kernel picked a provided buffer; buffer_id() says which.
  bool has_buffer() const { return (flags & abi::IORING_CQE_F_BUFFER) != 0; }
  std::uint16_t buffer_id() const {
    return static_cast<std::uint16_t>(flags >> abi::IORING_CQE_BUFFER_SHIFT);
  }
  // The socket had more data queued after this receive.
  bool sock_nonempty() const { return (flags & abi::IORING_CQE_F_SOCK_NONEMPTY) != 0; }
  // The zero-copy notification: the kernel released a send buffer.
  bool notif() const { return (flags & abi::IORING_CQE_F_NOTIF) != 0; }
  // An incremental provided buffer still has room: it stays with the kernel.
  bool buffer_more() const { return (flags & abi::IORING_CQE_F_BUF_MORE) != 0; }

  // On a CQE32 ring, the two extra 64-bit words that follow this entry
  // (index 0 or 1). Reading them on a 16-byte-CQE ring is out of bounds.
  std::uint64_t extra(unsigned index) const {
    std::uint64_t value;
    std::memcpy(&value,
                reinterpret_cast<const unsigned char*>(this) + sizeof(abi::io_uring_cqe) +
                    index * sizeof(std::uint64_t),
                sizeof value);
    return value;
  }
};
static_assert(sizeof(Cqe) == sizeof(abi::io_uring_cqe), "Cqe must overlay the kernel's CQE");

}  // namespace uring
