// FileSender's steps and send_file(); the rules they follow are in sendfile.h.
#include "uring/sendfile.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <string>
#include <utility>

#include "uring/prep.h"
#include "uring/prep_event.h"
#include "uring/prep_file.h"

namespace uring {

const char* send_state_name(SendState state) {
  switch (state) {
    case SendState::in_flight: return "in_flight";
    case SendState::ready: return "ready";
    case SendState::finished: return "finished";
    case SendState::failed: return "failed";
  }
  return "?";
}

Result<FileSender> FileSender::create(int file_fd, int socket_fd, std::uint64_t offset, std::uint64_t length,
                                      const FileSenderOptions& options) {
  if (file_fd < 0 || socket_fd < 0) {
    return Error{EINVAL, "FileSender: file fd " + std::to_string(file_fd) + " and socket fd " +
                             std::to_string(socket_fd) + " must both be open descriptors (>= 0)"};
  }
  if (offset > static_cast<std::uint64_t>(INT64_MAX)) {
    return Error{EINVAL, "FileSender: offset " + std::to_string(offset) +
                             " is past the largest file offset (2^63-1); pass an offset inside the file"};
  }
  FileSender sender;
  sender.file_fd_ = file_fd;
  sender.socket_fd_ = socket_fd;
  sender.offset_ = offset;
  sender.next_offset_ = offset;
  // Past 2^63-1 the file surely ends first: a length that would go beyond
  // means "to the end of the file".
  sender.length_ = length;
  const long page = ::sysconf(_SC_PAGESIZE);
  sender.page_size_ = page > 0 ? static_cast<std::uint32_t>(page) : 4096u;

  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    const int err = errno;
    return Error{err, std::string("FileSender: pipe2: ") + errno_name(err) +
                          (err == EMFILE || err == ENFILE
                               ? ": too many open files; close some or raise the limit (ulimit -n)"
                               : "")};
  }
  sender.pipe_read_ = fds[0];
  sender.pipe_write_ = fds[1];
  if (options.pipe_size != 0 && ::fcntl(sender.pipe_write_, F_SETPIPE_SZ, static_cast<int>(options.pipe_size)) < 0) {
    const int err = errno;
    std::string why;
    if (err == EPERM) {
      why = ": above /proc/sys/fs/pipe-max-size (or the user's pipe quota, fs/pipe-user-pages-soft) without "
            "CAP_SYS_RESOURCE; ask for less or raise the limit";
    } else if (err == EINVAL) {
      why = ": larger than the kernel allows (2^31 bytes); ask for less";
    }
    return Error{err, "FileSender: F_SETPIPE_SZ " + std::to_string(options.pipe_size) + ": " + errno_name(err) + why};
  }
  const int pipe_bytes = ::fcntl(sender.pipe_write_, F_GETPIPE_SZ);
  if (pipe_bytes <= 0) {
    const int err = errno;
    return Error{err, std::string("FileSender: F_GETPIPE_SZ: ") + errno_name(err)};
  }
  sender.pipe_size_ = static_cast<std::uint32_t>(pipe_bytes);
  std::uint32_t chunk = options.chunk_size == 0 ? sender.pipe_size_ : options.chunk_size;
  if (chunk > sender.pipe_size_) {
    return Error{EINVAL, "FileSender: chunk_size " + std::to_string(chunk) + " is larger than the pipe (" +
                             std::to_string(sender.pipe_size_) +
                             " bytes): a splice into the pipe never moves more; raise pipe_size or lower chunk_size"};
  }
  chunk -= chunk % sender.page_size_;
  sender.chunk_size_ = chunk == 0 ? sender.page_size_ : chunk;
  sender.error_ = 0;
  sender.state_ = length == 0 ? SendState::finished : SendState::ready;
  return sender;
}

void FileSender::swap(FileSender& other) noexcept {
  using std::swap;  // every member is a plain value: swap them one by one
  swap(file_fd_, other.file_fd_);
  swap(socket_fd_, other.socket_fd_);
  swap(pipe_read_, other.pipe_read_);
  swap(pipe_write_, other.pipe_write_);
  swap(offset_, other.offset_);
  swap(length_, other.length_);
  swap(next_offset_, other.next_offset_);
  swap(sent_, other.sent_);
  swap(base_, other.base_);
  swap(pipe_size_, other.pipe_size_);
  swap(chunk_size_, other.chunk_size_);
  swap(page_size_, other.page_size_);
  swap(in_pipe_, other.in_pipe_);
  swap(step_, other.step_);
  swap(in_flight_, other.in_flight_);
  swap(asked_, other.asked_);
  swap(first_seen_, other.first_seen_);
  swap(second_seen_, other.second_seen_);
  swap(first_result_, other.first_result_);
  swap(second_result_, other.second_result_);
  swap(eof_, other.eof_);
  swap(would_block_, other.would_block_);
  swap(error_, other.error_);
  swap(state_, other.state_);
  swap(counters_, other.counters_);
}

void FileSender::close_pipe() noexcept {
  if (pipe_read_ >= 0) ::close(pipe_read_);
  if (pipe_write_ >= 0) ::close(pipe_write_);
  pipe_read_ = pipe_write_ = -1;
}

int FileSender::queue(Ring& ring, std::uint64_t base) {
  if ((base & 1) != 0 || state_ != SendState::ready) return -EINVAL;
  // Drain first: the pipe must be empty before the next chunk goes in, or a
  // chunk could not fill it exactly and its socket splice would send older
  // bytes and leave newer ones behind.
  Step step = Step::chunk;
  if (in_pipe_ != 0) step = would_block_ ? Step::wait : Step::drain;
  const unsigned needed = step == Step::drain ? 1u : 2u;
  if (ring.sq_space_left() < needed) return -EBUSY;

  std::uint32_t len = in_pipe_;
  if (step == Step::chunk) {
    // Up to chunk_size, ending on a page boundary of the file, so that the
    // splice fills whole pipe slots (a chunk that starts mid-page takes the
    // rest of that page in its first slot).
    std::uint64_t want = chunk_size_ - next_offset_ % page_size_;
    if (length_ != kToEndOfFile) {
      const std::uint64_t left = length_ - sent_;
      if (left < want) want = left;
    }
    len = static_cast<std::uint32_t>(want);
  }

  Sqe* first = ring.get_sqe();
  Sqe* second = needed == 2 ? ring.get_sqe() : nullptr;
  if (first == nullptr || (needed == 2 && second == nullptr)) {
    // Not reached (room was checked); should it be, the SQE taken becomes a
    // NOP that posts no CQE, so nothing half-built reaches the kernel.
    if (first != nullptr) prep_nop(*first).skip_success();
    return -EBUSY;
  }
  switch (step) {
    case Step::chunk:
      prep_splice(*first, file_fd_, next_offset_, pipe_write_, kCurrentPosition, len).set_user_data(base).link();
      prep_splice(*second, pipe_read_, kCurrentPosition, socket_fd_, kCurrentPosition, len).set_user_data(base | 1);
      ++counters_.chunks;
      break;
    case Step::wait:
      prep_poll_add(*first, socket_fd_, POLLOUT).set_user_data(base).link();
      prep_splice(*second, pipe_read_, kCurrentPosition, socket_fd_, kCurrentPosition, len).set_user_data(base | 1);
      ++counters_.waits;
      break;
    case Step::drain:
      prep_splice(*first, pipe_read_, kCurrentPosition, socket_fd_, kCurrentPosition, len).set_user_data(base | 1);
      ++counters_.drains;
      break;
    case Step::none:
      break;
  }
  step_ = step;
  base_ = base;
  asked_ = len;
  in_flight_ = needed;
  first_seen_ = second_seen_ = false;
  first_result_ = second_result_ = 0;
  if (step == Step::drain) first_seen_ = true;  // a drain has only the socket splice
  would_block_ = false;
  state_ = SendState::in_flight;
  return static_cast<int>(needed);
}

SendState FileSender::on_cqe(std::uint64_t user_data, std::int32_t result) {
  if (!owns(user_data)) return state_;
  if ((user_data & 1) == 0) {
    if (first_seen_) return state_;  // a second CQE for it: not ours to count
    first_seen_ = true;
    first_result_ = result;
  } else {
    if (second_seen_) return state_;
    second_seen_ = true;
    second_result_ = result;
  }
  if (--in_flight_ == 0) finish_step();
  return state_;
}

void FileSender::fail(int negative_errno) {
  // A splice interrupted in its io-wq worker (ASYNC_CANCEL of a running
  // splice signals the worker) posts the kernel-internal -ERESTARTSYS (512)
  // as it is, and the restart codes next to it (513, 514, 516) could come
  // the same way: to the caller they are all -EINTR.
  constexpr int kRestartSys = 512, kRestartBlock = 516;
  if (negative_errno <= -kRestartSys && negative_errno >= -kRestartBlock) negative_errno = -EINTR;
  error_ = negative_errno < 0 ? negative_errno : -EIO;
  state_ = SendState::failed;
}

// Both CQEs of the step are in: account for the bytes, then decide.
void FileSender::finish_step() {
  const Step step = step_;
  step_ = Step::none;
  const std::int32_t out = second_result_;
  if (step == Step::chunk) {
    const std::int32_t in = first_result_;
    if (in < 0) {
      // Nothing entered the pipe; the socket splice was cancelled with it.
      return fail(in);
    }
    in_pipe_ += static_cast<std::uint32_t>(in);
    next_offset_ += static_cast<std::uint64_t>(in);
    if (in == 0) eof_ = true;  // at or past the end of the file
    // A short file splice (in < asked) cancels the linked socket splice:
    // -ECANCELED then is the link rule, not a failure. With a full one the
    // socket splice ran; a -ECANCELED then came from someone's cancel.
    if (out < 0 && !(out == -ECANCELED && static_cast<std::uint32_t>(in) < asked_)) {
      if (out != -EAGAIN) return fail(out);
      would_block_ = true;
    }
  } else if (step == Step::wait) {
    // The poll result is an event mask (POLLERR/POLLHUP included: then the
    // splice itself reports the error). A failed poll cancels the splice.
    if (first_result_ < 0) return fail(first_result_);
    if (out < 0 && out != -EAGAIN) return fail(out);
    if (out == -EAGAIN) would_block_ = true;
  } else {
    if (out < 0 && out != -EAGAIN) return fail(out);
    if (out == -EAGAIN) would_block_ = true;
  }
  if (out > 0) {
    const std::uint32_t moved = static_cast<std::uint32_t>(out);
    if (moved > in_pipe_) return fail(-EIO);  // more out than in: cannot happen
    in_pipe_ -= moved;
    sent_ += moved;
  } else if (out == 0 && in_pipe_ != 0 && step != Step::chunk) {
    // A socket splice that took nothing from a non-empty pipe would make the
    // next drain the same request again, for ever.
    return fail(-EIO);
  }
  if (in_pipe_ != 0) {
    state_ = SendState::ready;  // drain (or wait) next
  } else if (eof_ || (length_ != kToEndOfFile && sent_ == length_)) {
    state_ = SendState::finished;
  } else {
    state_ = SendState::ready;
  }
}

namespace {

// The SQEs taken and not yet consumed by the kernel (send_file's own: the
// ring was idle when it started) become NOPs that post no CQE, for when
// send_file must return with them still queued: they name the sender's pipe,
// which closes on return.
void neutralize_queued(Ring& ring) {
  const Ring::Mapping map = ring.mapping();
  const unsigned shift = (ring.setup_flags() & abi::IORING_SETUP_SQE128) != 0 ? 7 : 6;
  const std::uint32_t tail = ring.sqe_tail();
  for (std::uint32_t i = tail - ring.sq_pending(); i != tail; ++i) {
    auto* sqe = reinterpret_cast<Sqe*>(map.sqes + (static_cast<std::size_t>(i & map.sq_mask) << shift));
    prep_nop(*sqe).skip_success();
  }
}

}  // namespace

Result<std::uint64_t> send_file(Ring& ring, int file_fd, int socket_fd, std::uint64_t offset,
                                std::uint64_t length, const FileSenderOptions& options) {
  if (!ring.valid()) return Error{EBADF, "send_file: the ring is closed"};
  if (ring.sq_pending() != 0 || ring.cq_ready() != 0) {
    return Error{EBUSY, "send_file: the ring has " + std::to_string(ring.sq_pending()) + " SQEs queued and " +
                            std::to_string(ring.cq_ready()) +
                            " CQEs unreaped; it needs an idle ring (reap first, or give it a ring of its own)"};
  }
  if (ring.sq_entries() < 2) {
    return Error{EINVAL, "send_file: a chunk is two linked SQEs; this ring has " + std::to_string(ring.sq_entries()) +
                             " SQ entry: give it a ring of at least 2 (4 is plenty)"};
  }
  auto made = FileSender::create(file_fd, socket_fd, offset, length, options);
  if (!made) return made.error();
  FileSender& sender = made.value();
  std::uint64_t stray = 0;
  bool has_stray = false;
  int wait_error = 0;  // a fatal io_uring_enter error
  while (sender.state() == SendState::ready || sender.in_flight() != 0) {
    if (sender.state() == SendState::ready) {
      const int queued = sender.queue(ring, kSendFileUserData);
      if (queued < 0) return Error{-queued, "send_file: queue: " + std::string(errno_name(-queued))};
    }
    const int ret = ring.submit_and_wait(1);
    if (ret < 0 && ret != -EINTR && ret != -EAGAIN && ret != -EBUSY) {
      // The ring refuses (closed, disabled, another thread's, SQPOLL gone,
      // completions dropped): what it did not take is made harmless; what it
      // took completes later, with kSendFileUserData, on a pipe now closed
      // (the kernel holds its own references: no hang, no reuse).
      wait_error = ret;
      if (ring.sq_pending() != 0) neutralize_queued(ring);
      break;
    }
    ring.for_each_cqe([&](const Cqe& cqe) {
      if (sender.owns(cqe.data())) {
        (void)sender.on_cqe(cqe);
      } else if (!has_stray) {
        has_stray = true;
        stray = cqe.data();
      }
    });
    if (has_stray && sender.in_flight() == 0) break;
  }
  if (has_stray) {
    return Error{EBUSY, "send_file: a CQE with user_data " + std::to_string(stray) +
                            " (not its own) came while sending; it stopped after " + std::to_string(sender.sent()) +
                            " bytes: give send_file a ring with nothing else in flight"};
  }
  if (wait_error != 0) {
    return error_from_errno(wait_error, "send_file: io_uring_enter after " + std::to_string(sender.sent()) + " bytes");
  }
  if (sender.state() == SendState::failed) {
    return error_from_errno(sender.error(), "send_file: splice to socket fd " + std::to_string(socket_fd) + " after " +
                                                std::to_string(sender.sent()) + " bytes");
  }
  return sender.sent();
}

}  // namespace uring
