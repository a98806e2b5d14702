#include "uring/registered_files.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <string>
#include <utility>

#include "uring/prep_file.h"
#include "uring/probe.h"
#include "uring/ring.h"

namespace uring {
namespace {

std::uint64_t pointer_value(const void* pointer) {
  return static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(pointer));
}

Error make_error(int code, const std::string& message) { return Error{code, message}; }

// "slot 3" or "slots 3..5".
std::string slots_text(unsigned first, unsigned last) {
  return first == last ? "slot " + std::to_string(first)
                       : "slots " + std::to_string(first) + ".." + std::to_string(last);
}

// What an update did to fds[0..done) (slots from `offset`): runs of
// "slots 0..1 updated", "slot 2 emptied" (-1) and "slot 3 skipped"
// (IORING_REGISTER_FILES_SKIP, which the kernel counts among its successes
// but leaves as it is).
std::string done_slots_text(std::span<const int> fds, unsigned offset, unsigned done) {
  // What the kernel did to one slot: 0 set, 1 emptied (-1), 2 skipped.
  auto kind = [&](unsigned i) { return fds[i] == abi::IORING_REGISTER_FILES_SKIP ? 2 : fds[i] == -1 ? 1 : 0; };
  static const char* const kWords[] = {" updated", " emptied", " skipped"};
  std::string text;
  for (unsigned i = 0; i < done;) {
    const int k = kind(i);
    unsigned end = i + 1;
    while (end < done && kind(end) == k) ++end;
    if (!text.empty()) text += ", ";
    text += slots_text(offset + i, offset + end - 1) + kWords[k];
    i = end;
  }
  return text;
}

// The kernel's error plus what to do about it.
Error explained(int ret, const std::string& what, const char* hint) {
  Error error = error_from_errno(ret, what);
  if (hint) error.message += std::string("; ") + hint;
  return error;
}

Error file_error(int ret, const std::string& what) {
  switch (-ret) {
    case EBUSY:
      return explained(ret, what, "this ring already has a file table; unregister it first");
    case EMFILE:
      return explained(ret, what,
                       "more slots than RLIMIT_NOFILE (ulimit -n) or the kernel's 1048576 allow; "
                       "raise the limit or register fewer");
    case EBADF:
      return explained(ret, what, "an fd is not open, or is an io_uring fd (rings cannot be registered)");
    case ENXIO:
      return explained(ret, what, "this ring has no file table registered");
    case EOVERFLOW:
      return explained(ret, what, "offset + count overflows");
    default:
      return error_from_errno(ret, what);
  }
}

// Why the kernel answered EFAULT for `buffers` (slot numbers from
// `first_slot`): the checks io_uring/rsrc.c makes before it pins anything,
// in its order; failing all of them, the memory itself could not be pinned.
std::string buffer_fault(std::span<const iovec> buffers, unsigned first_slot) {
  constexpr std::size_t kMaxBufferBytes = std::size_t{1} << 30;  // SZ_1G in io_buffer_validate
  for (std::size_t i = 0; i < buffers.size(); ++i) {
    const std::string slot = "buffer " + std::to_string(first_slot + i);
    const iovec& buffer = buffers[i];
    if (buffer.iov_base == nullptr && buffer.iov_len != 0) {
      return slot + " has " + std::to_string(buffer.iov_len) +
             " bytes but no address; an empty slot is {nullptr, 0}";
    }
    if (buffer.iov_base != nullptr && buffer.iov_len == 0) {
      return slot + " has an address but 0 bytes; an empty slot is {nullptr, 0}";
    }
    if (buffer.iov_len > kMaxBufferBytes) {
      return slot + " is " + std::to_string(buffer.iov_len) +
             " bytes; the kernel registers at most 1 GiB (1073741824 bytes) per buffer: split it into several";
    }
  }
  return "a buffer is not mapped, writable memory of this process";
}

Error buffer_error(int ret, const std::string& what, std::span<const iovec> buffers = {}, unsigned first_slot = 0) {
  switch (-ret) {
    case EBUSY:
      return explained(ret, what, "this ring already has a buffer table; unregister it first");
    case ENOMEM:
      return explained(ret, what,
                       "registered buffers are pinned and count against RLIMIT_MEMLOCK (ulimit -l) "
                       "without CAP_IPC_LOCK; raise the limit or register less");
    case EFAULT:
      return explained(ret, what, buffer_fault(buffers, first_slot).c_str());
    case EOPNOTSUPP:
      return explained(ret, what, "file-backed memory (other than shmem/hugetlbfs) cannot be registered");
    case EOVERFLOW:
      return explained(ret, what, "a buffer's address + length overflows");
    case EINVAL:
      return explained(ret, what, "a table holds at most 16384 buffers, and a tag needs a non-empty slot");
    case ENXIO:
      return explained(ret, what, "this ring has no buffer table registered");
    default:
      return error_from_errno(ret, what);
  }
}

// Why the kernel could not put `fd` into a file slot (io_uring/rsrc.c
// __io_sqe_files_update), asked without side effects: the -errno and what to do.
std::pair<int, std::string> file_slot_failure(int fd) {
  if (::fcntl(fd, F_GETFD) < 0) return {-EBADF, "fd " + std::to_string(fd) + " is not open"};
  char target[64] = {};
  const std::string link = "/proc/self/fd/" + std::to_string(fd);
  if (::readlink(link.c_str(), target, sizeof target - 1) > 0 && std::string(target) == "anon_inode:[io_uring]") {
    return {-EBADF, "fd " + std::to_string(fd) + " is an io_uring; rings cannot be registered as files"};
  }
  return {-ENOMEM, "the kernel could not allocate the slot's node"};
}

// Checks what the library can know about tags before asking the kernel.
// Slot numbers in messages count from `first_slot`.
template <class T, class IsEmpty>
Status check_tags(std::span<const T> items, std::span<const std::uint64_t> tags, bool tags_api,
                  IsEmpty is_empty, const char* what, unsigned first_slot = 0) {
  if (tags.empty()) return ok_status();
  if (!tags_api) {
    return make_error(EINVAL, std::string(what) +
                                  ": tags need IORING_FEAT_RSRC_TAGS (Linux 5.13); this kernel is " +
                                  kernel_release() + " (or RegisterApi::kLegacy was asked for)");
  }
  if (tags.size() != items.size()) {
    return make_error(EINVAL, std::string(what) + ": " + std::to_string(tags.size()) + " tags for " +
                                  std::to_string(items.size()) + " slots; give one tag per slot or none");
  }
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (tags[i] != 0 && is_empty(items[i])) {
      return make_error(EINVAL, std::string(what) + ": slot " + std::to_string(first_slot + i) + " is " +
                                    is_empty(items[i]) + " but has a tag; only a file or buffer can carry a tag "
                                    "(give that slot tag 0)");
    }
  }
  return ok_status();
}

bool uses_tags_api(const Ring& ring, RegisterApi api) {
  return api == RegisterApi::kAuto && ring.has_feature(abi::IORING_FEAT_RSRC_TAGS);
}

// What a slot holds that cannot carry a tag (nullptr: a file or buffer).
const char* empty_fd(int fd) { return fd == -1 ? "empty" : nullptr; }
// In an update, IORING_REGISTER_FILES_SKIP leaves the slot (and its tag) as it is.
const char* empty_or_skipped_fd(int fd) {
  return fd == abi::IORING_REGISTER_FILES_SKIP ? "IORING_REGISTER_FILES_SKIP (left as it is)" : empty_fd(fd);
}
const char* empty_iovec(const iovec& iov) { return iov.iov_base == nullptr ? "empty" : nullptr; }

}  // namespace

// ---- FileTable -------------------------------------------------------------

Result<FileTable> FileTable::create(Ring& ring, std::span<const int> fds, std::span<const std::uint64_t> tags,
                                    RegisterApi api) {
  const char* what = "register files";
  if (!ring.valid()) return detail::ring_closed(what);
  if (fds.empty()) return make_error(EINVAL, "register files: the table needs at least one slot");
  const bool tags_api = uses_tags_api(ring, api);
  for (std::size_t i = 0; i < fds.size(); ++i) {
    if (fds[i] == abi::IORING_REGISTER_FILES_SKIP) {
      return make_error(EINVAL, "register files: slot " + std::to_string(i) +
                                    " is IORING_REGISTER_FILES_SKIP, which only update() understands; "
                                    "use -1 for an empty slot");
    }
  }
  if (Status ok = check_tags(fds, tags, tags_api, empty_fd, what); !ok) return ok.error();
  const unsigned count = static_cast<unsigned>(fds.size());
  int ret;
  if (tags_api) {
    abi::io_uring_rsrc_register reg{};
    reg.nr = count;
    reg.data = pointer_value(fds.data());
    reg.tags = tags.empty() ? 0 : pointer_value(tags.data());
    ret = ring.register_raw(abi::IORING_REGISTER_FILES2, &reg, sizeof reg);
  } else {
    ret = ring.register_raw(abi::IORING_REGISTER_FILES, fds.data(), count);
  }
  if (ret < 0) {
    return file_error(ret, std::string("io_uring_register(") + (tags_api ? "FILES2" : "FILES") + ", " +
                               std::to_string(count) + " slots)");
  }
  return FileTable(ring, count, api);
}

Result<FileTable> FileTable::create_sparse(Ring& ring, unsigned slots, RegisterApi api) {
  if (!ring.valid()) return detail::ring_closed("register sparse files");
  if (slots == 0) return make_error(EINVAL, "register sparse files: the table needs at least one slot");
  if (!uses_tags_api(ring, api)) {
    // Before IORING_RSRC_REGISTER_SPARSE, an fd of -1 was the empty slot.
    const std::vector<int> empty(slots, -1);
    return create(ring, empty, {}, RegisterApi::kLegacy);
  }
  abi::io_uring_rsrc_register reg{};
  reg.nr = slots;
  reg.flags = abi::IORING_RSRC_REGISTER_SPARSE;
  const int ret = ring.register_raw(abi::IORING_REGISTER_FILES2, &reg, sizeof reg);
  if (ret < 0) {
    return file_error(ret, "io_uring_register(FILES2, SPARSE, " + std::to_string(slots) + " slots)");
  }
  return FileTable(ring, slots, api);
}

FileTable::FileTable(FileTable&& other) noexcept
    : ring_(std::move(other.ring_)), size_(other.size_), api_(other.api_) {
  other.size_ = 0;
}

FileTable& FileTable::operator=(FileTable&& other) noexcept {
  if (this != &other) {
    (void)unregister();
    ring_ = std::move(other.ring_);
    size_ = other.size_;
    api_ = other.api_;
    other.size_ = 0;
  }
  return *this;
}

FileTable::~FileTable() { (void)unregister(); }

Result<unsigned> FileTable::update(unsigned offset, std::span<const int> fds,
                                   std::span<const std::uint64_t> tags) {
  const char* what = "update files";
  if (!ring_)
    return make_error(ENXIO, "update files: this FileTable is not registered (unregistered, moved from, or its Ring closed)");
  if (fds.empty()) return 0u;
  if (offset > size_ || fds.size() > size_ - offset) {
    return make_error(EINVAL, "update files: slots " + std::to_string(offset) + ".." +
                                  std::to_string(offset + fds.size() - 1) + " run past the table's " +
                                  std::to_string(size_) + " slots");
  }
  const bool tags_api = uses_tags_api(*ring_.get(), api_);
  if (Status ok = check_tags(fds, tags, tags_api, empty_or_skipped_fd, what, offset); !ok) return ok.error();
  const unsigned count = static_cast<unsigned>(fds.size());
  int ret;
  if (tags_api) {
    abi::io_uring_rsrc_update2 up{};
    up.offset = offset;
    up.data = pointer_value(fds.data());
    up.tags = tags.empty() ? 0 : pointer_value(tags.data());
    up.nr = count;
    ret = ring_.get()->register_raw(abi::IORING_REGISTER_FILES_UPDATE2, &up, sizeof up);
  } else {
    abi::io_uring_rsrc_update up{};
    up.offset = offset;
    up.data = pointer_value(fds.data());
    ret = ring_.get()->register_raw(abi::IORING_REGISTER_FILES_UPDATE, &up, count);
  }
  const std::string call = std::string("io_uring_register(") + (tags_api ? "FILES_UPDATE2" : "FILES_UPDATE") +
                           ", slots " + std::to_string(offset) + ".." + std::to_string(offset + count - 1) + ")";
  if (ret == -EBADF) {
    // Nothing was updated: the first slot's fd failed, after the kernel had emptied that slot.
    const auto [code, why] = file_slot_failure(fds[0]);
    if (code == -EBADF) return explained(ret, call, (why + "; slot " + std::to_string(offset) + " is now empty").c_str());
  }
  if (ret < 0) return file_error(ret, call);
  if (static_cast<unsigned>(ret) < count) {
    // The kernel stops at the first slot it cannot fill and reports only the
    // slots before it as a success, after it has emptied the failing slot.
    const unsigned failed = offset + static_cast<unsigned>(ret);
    const int fd = fds[static_cast<unsigned>(ret)];
    const auto [code, why] = file_slot_failure(fd);
    std::string message = std::string(what) + ": " + done_slots_text(fds, offset, static_cast<unsigned>(ret)) +
                          ", then slot " + std::to_string(failed) + " (fd " + std::to_string(fd) + ") failed: " +
                          error_from_errno(code, call).message + ": " + why + "; slot " + std::to_string(failed) +
                          " is now empty";
    if (failed + 1 < offset + count) message += " and " + slots_text(failed + 1, offset + count - 1) + " unchanged";
    return make_error(-code, message);
  }
  return static_cast<unsigned>(ret);
}

Status FileTable::set_alloc_range(unsigned offset, unsigned count) {
  if (!ring_) return make_error(ENXIO, "file alloc range: this FileTable is not registered (or its Ring closed)");
  if (offset > size_ || count > size_ - offset) {
    return make_error(EINVAL, "file alloc range: [" + std::to_string(offset) + ", " +
                                  std::to_string(offset + std::uint64_t{count}) +
                                  ") is not inside the table's " + std::to_string(size_) + " slots");
  }
  abi::io_uring_file_index_range range{};
  range.off = offset;
  range.len = count;
  const int ret = ring_.get()->register_raw(abi::IORING_REGISTER_FILE_ALLOC_RANGE, &range, 0);
  if (ret < 0) {
    const char* hint = nullptr;
    if (ret == -EINVAL && kernel_version_code() > 0 && kernel_version_code() < version_code("6.0")) {
      hint = "IORING_REGISTER_FILE_ALLOC_RANGE needs Linux 6.0";
    }
    if (hint) return explained(ret, "io_uring_register(FILE_ALLOC_RANGE)", hint);
    return file_error(ret, "io_uring_register(FILE_ALLOC_RANGE)");
  }
  return ok_status();
}

Status FileTable::unregister() {
  Ring* ring = ring_.get();
  ring_.reset();
  size_ = 0;
  if (!ring) return ok_status();  // never registered, or its Ring closed (the kernel dropped the table)
  const int ret = ring->register_raw(abi::IORING_UNREGISTER_FILES, nullptr, 0);
  if (ret < 0) return file_error(ret, "io_uring_register(UNREGISTER_FILES)");
  return ok_status();
}

// ---- BufferTable ----------------------------------------------------------

Result<BufferTable> BufferTable::create(Ring& ring, std::span<const iovec> buffers,
                                        std::span<const std::uint64_t> tags, RegisterApi api) {
  const char* what = "register buffers";
  if (!ring.valid()) return detail::ring_closed(what);
  if (buffers.empty()) return make_error(EINVAL, "register buffers: the table needs at least one slot");
  const bool tags_api = uses_tags_api(ring, api);
  if (Status ok = check_tags(buffers, tags, tags_api, empty_iovec, what); !ok) return ok.error();
  const unsigned count = static_cast<unsigned>(buffers.size());
  int ret;
  if (tags_api) {
    abi::io_uring_rsrc_register reg{};
    reg.nr = count;
    reg.data = pointer_value(buffers.data());
    reg.tags = tags.empty() ? 0 : pointer_value(tags.data());
    ret = ring.register_raw(abi::IORING_REGISTER_BUFFERS2, &reg, sizeof reg);
  } else {
    ret = ring.register_raw(abi::IORING_REGISTER_BUFFERS, buffers.data(), count);
  }
  if (ret < 0) {
    return buffer_error(ret, std::string("io_uring_register(") + (tags_api ? "BUFFERS2" : "BUFFERS") + ", " +
                                 std::to_string(count) + " buffers)",
                        buffers);
  }
  return BufferTable(ring, std::vector<iovec>(buffers.begin(), buffers.end()));
}

Result<BufferTable> BufferTable::create_sparse(Ring& ring, unsigned slots) {
  if (!ring.valid()) return detail::ring_closed("register sparse buffers");
  if (slots == 0) return make_error(EINVAL, "register sparse buffers: the table needs at least one slot");
  if (!ring.has_feature(abi::IORING_FEAT_RSRC_TAGS)) {
    return make_error(EOPNOTSUPP,
                      "register sparse buffers: needs IORING_REGISTER_BUFFERS2 (Linux 5.13); "
                      "this kernel is " +
                          kernel_release() + "; register real buffers instead");
  }
  abi::io_uring_rsrc_register reg{};
  reg.nr = slots;
  reg.flags = abi::IORING_RSRC_REGISTER_SPARSE;
  const int ret = ring.register_raw(abi::IORING_REGISTER_BUFFERS2, &reg, sizeof reg);
  if (ret < 0) {
    return buffer_error(ret, "io_uring_register(BUFFERS2, SPARSE, " + std::to_string(slots) + " slots)");
  }
  return BufferTable(ring, std::vector<iovec>(slots, iovec{nullptr, 0}));
}

BufferTable::BufferTable(BufferTable&& other) noexcept
    : ring_(std::move(other.ring_)), buffers_(std::move(other.buffers_)) {
  other.buffers_.clear();
}

BufferTable& BufferTable::operator=(BufferTable&& other) noexcept {
  if (this != &other) {
    (void)unregister();
    ring_ = std::move(other.ring_);
    buffers_ = std::move(other.buffers_);
    other.buffers_.clear();
  }
  return *this;
}

BufferTable::~BufferTable() { (void)unregister(); }

iovec BufferTable::buffer(FixedBuffer index) const {
  if (index.index >= buffers_.size()) return iovec{nullptr, 0};
  return buffers_[index.index];
}

Result<unsigned> BufferTable::update(unsigned offset, std::span<const iovec> buffers,
                                     std::span<const std::uint64_t> tags) {
  const char* what = "update buffers";
  if (!ring_)
    return make_error(ENXIO,
                      "update buffers: this BufferTable is not registered (unregistered, moved from, or its Ring closed)");
  if (buffers.empty()) return 0u;
  const unsigned size = this->size();
  if (offset > size || buffers.size() > size - offset) {
    return make_error(EINVAL, "update buffers: slots " + std::to_string(offset) + ".." +
                                  std::to_string(offset + buffers.size() - 1) + " run past the table's " +
                                  std::to_string(size) + " slots");
  }
  if (!ring_.get()->has_feature(abi::IORING_FEAT_RSRC_TAGS)) {
    return make_error(EOPNOTSUPP,
                      "update buffers: IORING_REGISTER_BUFFERS_UPDATE needs Linux 5.13; this "
                      "kernel is " +
                          kernel_release() + "; unregister and register again instead");
  }
  if (Status ok = check_tags(buffers, tags, true, empty_iovec, what, offset); !ok) return ok.error();
  abi::io_uring_rsrc_update2 up{};
  up.offset = offset;
  up.data = pointer_value(buffers.data());
  up.tags = tags.empty() ? 0 : pointer_value(tags.data());
  up.nr = static_cast<std::uint32_t>(buffers.size());
  const int ret = ring_.get()->register_raw(abi::IORING_REGISTER_BUFFERS_UPDATE, &up, sizeof up);
  const std::string call = "io_uring_register(BUFFERS_UPDATE, slots " + std::to_string(offset) + ".." +
                           std::to_string(offset + buffers.size() - 1) + ")";
  if (ret < 0) return buffer_error(ret, call, buffers.first(1), offset);
  // The kernel stops at the first slot it cannot update and reports only
  // the slots before it; that slot and the rest keep their old buffers.
  for (int i = 0; i < ret; ++i)
    buffers_[offset + static_cast<unsigned>(i)] = buffers[static_cast<unsigned>(i)];
  if (static_cast<std::size_t>(ret) < buffers.size()) {
    const unsigned failed = offset + static_cast<unsigned>(ret);
    const unsigned last = offset + static_cast<unsigned>(buffers.size()) - 1;
    // Ask again for that slot alone, to learn why: it fails the same way
    // before it changes anything (the kernel validates and pins first).
    abi::io_uring_rsrc_update2 again{};
    again.offset = failed;
    again.data = pointer_value(&buffers[static_cast<unsigned>(ret)]);
    again.tags = tags.empty() ? 0 : pointer_value(&tags[static_cast<unsigned>(ret)]);
    again.nr = 1;
    const int why = ring_.get()->register_raw(abi::IORING_REGISTER_BUFFERS_UPDATE, &again, sizeof again);
    std::string message = std::string(what) + ": " + slots_text(offset, failed - 1) + " updated, then slot " +
                          std::to_string(failed) + " failed";
    int code = EAGAIN;
    if (why < 0) {
      const Error cause = buffer_error(why, call, buffers.subspan(static_cast<unsigned>(ret), 1), failed);
      code = cause.code;
      message += ": " + cause.message + "; " + slots_text(failed, last) + " keep their old buffers";
    } else {
      // It went in this time (memory came back meanwhile).
      buffers_[failed] = buffers[static_cast<unsigned>(ret)];
      message += " and went in on a second try";
      if (failed < last) message += "; " + slots_text(failed + 1, last) + " keep their old buffers: update them again";
    }
    return make_error(code, message);
  }
  return static_cast<unsigned>(ret);
}

Status BufferTable::unregister() {
  Ring* ring = ring_.get();
  ring_.reset();
  buffers_.clear();
  if (!ring) return ok_status();  // never registered, or its Ring closed (the kernel dropped the table)
  const int ret = ring->register_raw(abi::IORING_UNREGISTER_BUFFERS, nullptr, 0);
  if (ret < 0) return buffer_error(ret, "io_uring_register(UNREGISTER_BUFFERS)");
  return ok_status();
}

Status BufferTable::check_range(FixedBuffer index, const void* addr, std::size_t len) const {
  if (index.index >= buffers_.size()) {
    return make_error(EINVAL, "fixed buffer " + std::to_string(index.index) + " is past the table's " +
                                  std::to_string(buffers_.size()) + " slots");
  }
  const iovec& slot = buffers_[index.index];
  if (slot.iov_base == nullptr) {
    return make_error(EFAULT, "fixed buffer " + std::to_string(index.index) +
                                  " is an empty slot; update() it with memory first");
  }
  const std::uintptr_t base = reinterpret_cast<std::uintptr_t>(slot.iov_base);
  const std::uintptr_t start = reinterpret_cast<std::uintptr_t>(addr);
  // Written so nothing overflows: start within [base, base + size], then len within what is left.
  if (start < base || start - base > slot.iov_len || len > slot.iov_len - (start - base)) {
    char line[256];
    std::snprintf(line, sizeof line,
                  "range [%#zx, +%zu) is not inside fixed buffer %u [%#zx, +%zu); the kernel would fail "
                  "it with EFAULT",
                  static_cast<std::size_t>(start), len, index.index, static_cast<std::size_t>(base),
                  slot.iov_len);
    return make_error(EFAULT, line);
  }
  return ok_status();
}

Status BufferTable::check_iovecs(FixedBuffer index, const iovec* iovecs, unsigned count) const {
  // The kernel refuses such a count before it reads the array
  // (iovec_from_user): so do we, never walking past the caller's array.
  constexpr unsigned kMaxIovecs = 1024;  // UIO_MAXIOV
  if (count > kMaxIovecs) {
    return make_error(EINVAL, "fixed I/O: " + std::to_string(count) + " iovecs: more than UIO_MAXIOV (" +
                                  std::to_string(kMaxIovecs) + ") iovecs in one request; split it");
  }
  if (iovecs == nullptr && count > 0) {
    return make_error(EFAULT, "fixed I/O: iovecs is null with count " + std::to_string(count) +
                                  "; pass an array of count iovecs inside fixed buffer " +
                                  std::to_string(index.index));
  }
  for (unsigned i = 0; i < count; ++i) {
    Status ok = check_range(index, iovecs[i].iov_base, iovecs[i].iov_len);
    if (!ok) return make_error(ok.code(), "iovec " + std::to_string(i) + ": " + ok.error().message);
  }
  return ok_status();
}

Result<Sqe*> BufferTable::take_sqe() {
  if (!ring_) return make_error(ENXIO, "fixed I/O: this BufferTable is not registered (or its Ring closed)");
  Sqe* sqe = ring_.get()->get_sqe();
  if (!sqe) return make_error(EBUSY, "fixed I/O: the SQ is full; submit before queueing more");
  return sqe;
}

template <class Build>
Result<Prepared*> BufferTable::queue_checked(const Status& range, Build&& build) {
  if (!range) return range.error();
  Result<Sqe*> sqe = take_sqe();
  if (!sqe) return sqe.error();
  return &build(**sqe);
}

Result<Prepared*> BufferTable::read_fixed(File file, void* buf, IoLength len, std::uint64_t offset, FixedBuffer index) {
  return queue_checked(check_range(index, buf, len.value()),
                       [&](Sqe& sqe) -> Prepared& { return prep_read_fixed(sqe, file, buf, len, offset, index); });
}

Result<Prepared*> BufferTable::write_fixed(File file, const void* buf, IoLength len, std::uint64_t offset,
                                           FixedBuffer index) {
  return queue_checked(check_range(index, buf, len.value()),
                       [&](Sqe& sqe) -> Prepared& { return prep_write_fixed(sqe, file, buf, len, offset, index); });
}

Result<Prepared*> BufferTable::readv_fixed(File file, const iovec* iovecs, unsigned count, std::uint64_t offset,
                                           FixedBuffer index) {
  return queue_checked(check_iovecs(index, iovecs, count), [&](Sqe& sqe) -> Prepared& {
    return prep_readv_fixed(sqe, file, iovecs, count, offset, index);
  });
}

Result<Prepared*> BufferTable::writev_fixed(File file, const iovec* iovecs, unsigned count, std::uint64_t offset,
                                            FixedBuffer index) {
  return queue_checked(check_iovecs(index, iovecs, count), [&](Sqe& sqe) -> Prepared& {
    return prep_writev_fixed(sqe, file, iovecs, count, offset, index);
  });
}

}  // namespace uring
