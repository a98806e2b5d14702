// Views over the kernel's submission and completion entries.
//
// Sqe and Cqe add no data to abi::io_uring_sqe / abi::io_uring_cqe: a pointer
// into the mapped ring is a pointer to one of these. Builders (uring/prep.h)
// fill an Sqe and return it as a Prepared, whose named setters add the
// per-request flags, so call sites never do raw bit math on `flags`. The
// typed arguments (FixedFile, DirectSlot, FixedBuffer, SocketLength, IoLength) cannot
// hold a value their SQE field cannot carry.
#pragma once

#include <concepts>
#include <cstdint>
#include <cstring>
#include <optional>
#include <type_traits>
#include <utility>

#include "syscalls/abi.h"

namespace uring {

// The most slots a registered file table can have on any kernel
// (IORING_MAX_FIXED_FILES, io_uring/rsrc.h): a slot number at or past it
// names nothing, and the SQE encodings (slot + 1, ~0U = any slot) would turn
// the largest ones into something else.
inline constexpr std::uint32_t kMaxFileSlots = 1U << 20;

namespace detail {

// Deliberately not constexpr and never defined: a constant slot number that
// reaches this call does not compile ("call to non-constexpr function").
void file_slot_number_must_be_below_kMaxFileSlots();

template <std::integral T>
constexpr bool is_file_slot(T slot) {
  return std::cmp_greater_equal(slot, 0) && std::cmp_less(slot, kMaxFileSlots);
}

template <std::integral T>
consteval std::uint32_t constant_file_slot(T slot) {
  if (!is_file_slot(slot)) file_slot_number_must_be_below_kMaxFileSlots();
  return static_cast<std::uint32_t>(slot);
}

struct Checked {};  // tag: the value was checked by the caller

// An integer that is a number: not a bool (true is not slot 1) and not a
// character type (u'x' is not a length). std::uint8_t is unsigned char, a
// number.
template <class T>
concept number = std::integral<T> && !std::same_as<std::remove_cv_t<T>, bool> &&
                 !std::same_as<std::remove_cv_t<T>, char> && !std::same_as<std::remove_cv_t<T>, wchar_t> &&
                 !std::same_as<std::remove_cv_t<T>, char8_t> && !std::same_as<std::remove_cv_t<T>, char16_t> &&
                 !std::same_as<std::remove_cv_t<T>, char32_t>;

// An old-style constant: `enum { kChunk = 4096 };` (scoped enums are types
// of their own and stay refused).
template <class T>
concept unscoped_enum = std::is_enum_v<T> && std::is_convertible_v<T, std::underlying_type_t<T>>;

}  // namespace detail

// A slot in the ring's registered file table (IORING_REGISTER_FILES). Made
// explicitly, so an index can never be passed where an fd is meant.
//   FixedFile(3)                  a constant: a number >= kMaxFileSlots does not compile
//   FixedFile::checked(n)         a run-time number: std::nullopt when n >= kMaxFileSlots
struct FixedFile {
  template <detail::number T>
  consteval explicit FixedFile(T slot) : index(detail::constant_file_slot(slot)) {}
  template <detail::number T>
  static constexpr std::optional<FixedFile> checked(T slot) {
    if (!detail::is_file_slot(slot)) return std::nullopt;
    return FixedFile(static_cast<std::uint32_t>(slot), detail::Checked{});
  }
  unsigned index;  // < kMaxFileSlots

 private:
  constexpr FixedFile(std::uint32_t slot, detail::Checked) : index(slot) {}
};

// The file an SQE works on: a plain fd (implicitly, from an int and nothing
// else: not from an unsigned slot number, FixedFile(3).index, a bool or a
// long) or a FixedFile. Sqe::set_file() sets IOSQE_FIXED_FILE for the latter
// by itself.
class File {
 public:
  template <std::same_as<int> Fd>
  constexpr File(Fd fd) : value_(fd), fixed_(false) {}  // NOLINT: an fd is a File
  constexpr File(FixedFile file) : value_(static_cast<std::int32_t>(file.index)), fixed_(true) {}
  constexpr std::int32_t value() const { return value_; }
  constexpr bool fixed() const { return fixed_; }

 private:
  std::int32_t value_;
  bool fixed_;
};

// The most buffers a registered buffer table can have on any kernel
// (IORING_MAX_REG_BUFFERS, io_uring/rsrc.h). sqe->buf_index is 16 bits: an
// index written there unchecked would wrap (65536 + n naming buffer n).
inline constexpr std::uint32_t kMaxRegisteredBuffers = 1U << 14;

namespace detail {

// Not constexpr and never defined: reaching it in a constant expression is
// the compile error for an index or length that cannot fit.
void registered_buffer_index_must_be_below_kMaxRegisteredBuffers();
void socket_length_must_be_at_most_kMaxSocketLength();
void io_length_must_fit_in_32_bits();

template <std::integral T>
constexpr bool is_buffer_index(T index) {
  return std::cmp_greater_equal(index, 0) && std::cmp_less(index, kMaxRegisteredBuffers);
}

}  // namespace detail

// A registered buffer (IORING_REGISTER_BUFFERS) by index, for *_FIXED ops.
//   FixedBuffer(3)                a constant: an index >= kMaxRegisteredBuffers does not compile
//   FixedBuffer::checked(n)       a run-time index: std::nullopt when n >= kMaxRegisteredBuffers
//                                 (a run-time number cannot be checked where it is written,
//                                 and buf_index is 16 bits: unchecked, 65536 + n would name
//                                 buffer n)
struct FixedBuffer {
  template <detail::number T>
  consteval explicit FixedBuffer(T constant) : index(0) {
    if (!detail::is_buffer_index(constant))
      detail::registered_buffer_index_must_be_below_kMaxRegisteredBuffers();
    index = static_cast<unsigned>(constant);
  }
  template <detail::unscoped_enum E>
  consteval explicit FixedBuffer(E constant) : FixedBuffer(static_cast<std::underlying_type_t<E>>(constant)) {}
  template <detail::number T>
  static constexpr std::optional<FixedBuffer> checked(T index) {
    if (!detail::is_buffer_index(index)) return std::nullopt;
    return FixedBuffer(static_cast<unsigned>(index), detail::Checked{});
  }
  unsigned index;  // < kMaxRegisteredBuffers, so it fits sqe->buf_index

 private:
  constexpr FixedBuffer(unsigned index_in_range, detail::Checked) : index(index_in_range) {}
};

// The bytes one send or receive may ask for: 0..kMaxSocketLength. The kernel
// keeps a send/recv length in an int (io_sr_msg::len), so 2^31..2^32-1 would
// fail with -EINVAL and a size_t above 4 GiB would be cut modulo 2^32 (5 GiB + 10
// becoming 1 GiB + 10). Each request moves at most MAX_RW_COUNT (0x7ffff000)
// bytes, as send(2) and recv(2) do: a longer one completes short.
//   16, sizeof buf                a constant: one above kMaxSocketLength does not compile
//   a std::uint8_t/std::uint16_t  always fits: converts at run time
//   SocketLength::checked(n)      any other run-time value: std::nullopt when it does not fit
//   SocketLength::at_most(n)      any other run-time value, clamped to 0..kMaxSocketLength:
//                                 for streams, where a short transfer is normal anyway
//   enum { kChunk = 4096 }        an unscoped enum constant: checked as a constant
inline constexpr std::uint32_t kMaxSocketLength = 0x7fffffff;  // INT_MAX

class SocketLength {
 public:
  template <detail::number T>
  requires(!(std::unsigned_integral<T> && sizeof(T) <= 2)) consteval SocketLength(T constant)
      : bytes_(0) {  // NOLINT: a constant converts
    if (!fits(constant)) detail::socket_length_must_be_at_most_kMaxSocketLength();
    bytes_ = static_cast<std::uint32_t>(constant);
  }
  template <detail::number T>
  requires(std::unsigned_integral<T> && sizeof(T) <= 2) constexpr SocketLength(T bytes)
      : bytes_(bytes) {}  // NOLINT: always fits
  template <detail::unscoped_enum E>
  consteval SocketLength(E constant)  // NOLINT: a constant converts
      : SocketLength(static_cast<std::underlying_type_t<E>>(constant)) {}

  template <detail::number T>
  static constexpr std::optional<SocketLength> checked(T bytes) {
    if (!fits(bytes)) return std::nullopt;
    return SocketLength(static_cast<std::uint32_t>(bytes), detail::Checked{});
  }
  // Negative: 0 (a bookkeeping error must not become a 2 GiB transfer).
  template <detail::number T>
  static constexpr SocketLength at_most(T bytes) {
    if (std::cmp_less(bytes, 0)) return SocketLength(0u, detail::Checked{});
    return SocketLength(std::cmp_less(bytes, kMaxSocketLength) ? static_cast<std::uint32_t>(bytes) : kMaxSocketLength,
                        detail::Checked{});
  }
  constexpr std::uint32_t value() const { return bytes_; }

 private:
  template <std::integral T>
  static constexpr bool fits(T bytes) {
    return std::cmp_greater_equal(bytes, 0) && std::cmp_less_equal(bytes, kMaxSocketLength);
  }
  constexpr SocketLength(std::uint32_t bytes, detail::Checked) : bytes_(bytes) {}
  std::uint32_t bytes_;
};

// The bytes one read, write, splice, tee or sync asks for: sqe->len is 32
// bits, so a size_t above 4 GiB would be cut modulo 2^32 (5 GiB + 10 becoming
// 1 GiB + 10). The kernel moves at most MAX_RW_COUNT (0x7ffff000) bytes per
// read or write, as read(2) and write(2) do: a longer request completes short.
//   4096, sizeof buf              a constant: one above 0xffffffff (or below 0) does not compile
//   an unsigned of 32 bits or less  always fits: converts at run time
//   IoLength::checked(n)          any other run-time value: std::nullopt when it does not fit
//   IoLength::at_most(n)          any other run-time value, clamped to 0..kMaxIoLength: the
//                                 request then completes short, which every caller of a
//                                 read or write must handle anyway
//   enum { kChunk = 4096 }        an unscoped enum constant: checked as a constant
inline constexpr std::uint32_t kMaxIoLength = 0xffffffff;

class IoLength {
 public:
  template <detail::number T>
  requires(!(std::unsigned_integral<T> && sizeof(T) <= 4)) consteval IoLength(T constant)
      : bytes_(0) {  // NOLINT: a constant converts
    if (!fits(constant)) detail::io_length_must_fit_in_32_bits();
    bytes_ = static_cast<std::uint32_t>(constant);
  }
  template <detail::number T>
  requires(std::unsigned_integral<T> && sizeof(T) <= 4) constexpr IoLength(T bytes)
      : bytes_(bytes) {}  // NOLINT: always fits
  template <detail::unscoped_enum E>
  consteval IoLength(E constant)  // NOLINT: a constant converts
      : IoLength(static_cast<std::underlying_type_t<E>>(constant)) {}

  template <detail::number T>
  static constexpr std::optional<IoLength> checked(T bytes) {
    if (!fits(bytes)) return std::nullopt;
    return IoLength(static_cast<std::uint32_t>(bytes), detail::Checked{});
  }
  // Negative: 0 (a bookkeeping error must not become a 4 GiB transfer).
  template <detail::number T>
  static constexpr IoLength at_most(T bytes) {
    if (std::cmp_less(bytes, 0)) return IoLength(0u, detail::Checked{});
    return IoLength(std::cmp_less(bytes, kMaxIoLength) ? static_cast<std::uint32_t>(bytes) : kMaxIoLength,
                    detail::Checked{});
  }
  constexpr std::uint32_t value() const { return bytes_; }

 private:
  template <std::integral T>
  static constexpr bool fits(T bytes) {
    return std::cmp_greater_equal(bytes, 0) && std::cmp_less_equal(bytes, kMaxIoLength);
  }
  constexpr IoLength(std::uint32_t bytes, detail::Checked) : bytes_(bytes) {}
  std::uint32_t bytes_;
};

// Where an op that creates a file (OPENAT, ACCEPT, SOCKET, PIPE, MSG_RING's
// SEND_FD, ...) puts it when it should be a direct descriptor instead of a
// normal fd: a given slot of the registered file table, or any free one.
//   DirectSlot(3)                 a constant slot: a number >= kMaxFileSlots does not compile
//   DirectSlot::checked(n)        a run-time slot: std::nullopt when n >= kMaxFileSlots
//   DirectSlot::any()             any free slot (IORING_FILE_INDEX_ALLOC): the CQE
//                                 result is then the slot chosen. The only way to
//                                 ask for that: DirectSlot(IORING_FILE_INDEX_ALLOC)
//                                 does not compile.
class DirectSlot {
 public:
  template <detail::number T>
  consteval explicit DirectSlot(T slot) : encoded_(detail::constant_file_slot(slot) + 1) {}
  template <detail::number T>
  static constexpr std::optional<DirectSlot> checked(T slot) {
    if (!detail::is_file_slot(slot)) return std::nullopt;
    return DirectSlot(static_cast<std::uint32_t>(slot) + 1, detail::Checked{});
  }
  static constexpr DirectSlot any() { return DirectSlot(abi::IORING_FILE_INDEX_ALLOC, detail::Checked{}); }
  // The value of io_uring_sqe::file_index: slot + 1 (1..kMaxFileSlots), or
  // IORING_FILE_INDEX_ALLOC; never 0, which would mean "no direct descriptor".
  constexpr std::uint32_t encoded() const { return encoded_; }

 private:
  constexpr DirectSlot(std::uint32_t encoded, detail::Checked) : encoded_(encoded) {}
  std::uint32_t encoded_;
};

// What a builder returns: the prepared SQE, with only the setters that make
// sense on any request (user_data, links, drain, async, skip-success,
// personality). The fields a builder owns -- the target file, the
// direct-descriptor slot, the provided-buffer group -- cannot be changed
// through it, so prep_read_fixed(...).buffer_select(g) (which would overwrite
// buf_index) or prep_openat(...).set_file(fd) do not compile. The raw fields
// stay readable and writable, as on every io_uring_sqe.
class Prepared : public abi::io_uring_sqe {
 public:
  // Carried untouched to the request's CQE(s).
  Prepared& set_user_data(std::uint64_t value) {
    user_data = value;
    return *this;
  }
  Prepared& set_user_data(const void* pointer) {
    user_data = reinterpret_cast<std::uintptr_t>(pointer);
    return *this;
  }

  // The next SQE runs only if this one succeeds; a failure cancels the rest
  // of the chain with -ECANCELED.
  Prepared& link() { return add_flags(abi::IOSQE_IO_LINK); }
  // The next SQE runs after this one whatever its result.
  Prepared& hardlink() { return add_flags(abi::IOSQE_IO_HARDLINK); }
  // Starts only after every earlier SQE completed; later ones wait for it.
  Prepared& drain() { return add_flags(abi::IOSQE_IO_DRAIN); }
  // Skip the non-blocking attempt: go straight to an io-wq worker.
  Prepared& force_async() { return add_flags(abi::IOSQE_ASYNC); }
  // Post no CQE when the request succeeds (failures still post one).
  Prepared& skip_success() { return add_flags(abi::IOSQE_CQE_SKIP_SUCCESS); }
  // Run with the credentials registered under `id` (IORING_REGISTER_PERSONALITY).
  Prepared& set_personality(std::uint16_t id) {
    personality = id;
    return *this;
  }

 protected:
  Prepared& add_flags(std::uint8_t bits) {
    flags = static_cast<std::uint8_t>(flags | bits);
    return *this;
  }
};
static_assert(sizeof(Prepared) == sizeof(abi::io_uring_sqe), "Prepared must overlay the kernel's SQE");

// A slot of the submission queue (Ring::get_sqe) before a builder fills it.
class Sqe : public Prepared {
 public:
  // Zero the 64 bytes every opcode shares. Every builder starts here, so a
  // reused slot never carries a field from its previous request.
  void clear() { std::memset(static_cast<abi::io_uring_sqe*>(this), 0, sizeof(abi::io_uring_sqe)); }

  // For builders (uring/prep*.h); a builder's result does not offer them.
  // The target file, setting IOSQE_FIXED_FILE for a FixedFile:
  Sqe& set_file(File file) {
    fd = file.value();
    if (file.fixed()) add_flags(abi::IOSQE_FIXED_FILE);
    return *this;
  }
  // A direct-descriptor destination, for ops that create files:
  Sqe& set_direct_slot(DirectSlot slot) {
    file_index = slot.encoded();
    return *this;
  }
  // The kernel picks the buffer from provided-buffer group `group` when data
  // is ready; the CQE says which (Cqe::buffer_id()). The builders set it
  // (the *_buffer_select, bundle and multishot ones); they return Prepared&,
  // which does not offer it, so it cannot be chained onto one that has a
  // buffer of its own. On a raw Sqe it is yours to get right.
  Sqe& buffer_select(std::uint16_t group) {
    buf_group = group;
    add_flags(abi::IOSQE_BUFFER_SELECT);
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
