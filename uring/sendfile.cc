// FileSender's steps and send_file(); the rules they follow are in sendfile.h.
#include "uring/sendfile.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <string>
#include <utility>

#include "uring/prep.h"
#include "uring/prep_event.h"
#include "uring/prep_file.h"

namespace uring {

namespace {
// SPLICE_F_NONBLOCK (include/linux/splice.h: 0x02), spelled out: glibc's
// <fcntl.h> defines it only with _GNU_SOURCE.
constexpr unsigned kSpliceNonblock = 0x02;
}  // namespace

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
  if (length != 0 && offset == static_cast<std::uint64_t>(INT64_MAX)) {
    // No byte of any file lies at 2^63-1 or beyond: the end of the file.
    sender.eof_ = true;
    sender.state_ = SendState::finished;
  }
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
  swap(step_failed_, other.step_failed_);
  swap(state_, other.state_);
  swap(counters_, other.counters_);
}

void FileSender::close_pipe() noexcept {
  if (in_flight_ != 0) {
    // Destroyed with a step in flight (sendfile.h, Lifetime): a linked
    // splice not yet issued looks the pipe's fd numbers up when it runs.
    // Closed, those numbers would go to the next pipe2/open/accept and the
    // splice would move that file's bytes (another sender's client's) to
    // this socket. Kept open (leaked, 2 fds), the stale splice finds this
    // pipe: what it held, or -EAGAIN on it empty (SPLICE_F_NONBLOCK).
    pipe_read_ = pipe_write_ = -1;
    return;
  }
  if (pipe_read_ >= 0) ::close(pipe_read_);
  if (pipe_write_ >= 0) ::close(pipe_write_);
  pipe_read_ = pipe_write_ = -1;
}

int FileSender::queue(Ring& ring, std::uint64_t base) {
  if (!ring.valid()) return -EBADF;  // before the size check: a closed ring has 0 entries
  if ((base & 1) != 0 || state_ != SendState::ready) return -EINVAL;
  // A chunk is two linked SQEs: a ring of one SQ entry never has room.
  if (ring.sq_entries() < 2) return -EINVAL;
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
    // No file offset goes past 2^63-1 (the kernel answers EINVAL): stop
    // there, which is the end of any file (create() finishes a sender that
    // starts at 2^63-1, and finish_step one that gets there).
    const std::uint64_t room = static_cast<std::uint64_t>(INT64_MAX) - next_offset_;
    if (room < want) want = room;
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
      prep_splice(*second, pipe_read_, kCurrentPosition, socket_fd_, kCurrentPosition, len, kSpliceNonblock)
          .set_user_data(base | 1);
      ++counters_.chunks;
      break;
    case Step::wait:
      prep_poll_add(*first, socket_fd_, POLLOUT).set_user_data(base).link();
      prep_splice(*second, pipe_read_, kCurrentPosition, socket_fd_, kCurrentPosition, len, kSpliceNonblock)
          .set_user_data(base | 1);
      ++counters_.waits;
      break;
    case Step::drain:
      prep_splice(*first, pipe_read_, kCurrentPosition, socket_fd_, kCurrentPosition, len, kSpliceNonblock)
          .set_user_data(base | 1);
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

void FileSender::abandon_step(int negative_errno) {
  if (in_flight_ == 0) return;
  in_flight_ = 0;
  step_ = Step::none;
  fail(negative_errno);
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
  if (step_failed_ == FailedSide::none) step_failed_ = FailedSide::socket;
}

// Both CQEs of the step are in: account for the bytes, then decide.
void FileSender::finish_step() {
  const Step step = step_;
  step_ = Step::none;
  const std::int32_t out = second_result_;
  if (step == Step::chunk) {
    const std::int32_t in = first_result_;
    if (in < 0) {
      // Nothing entered the pipe; the socket splice was cancelled with it
      // (or, split from it by an SQPOLL poller, found the pipe empty).
      step_failed_ = FailedSide::file;
      return fail(in);
    }
    if (static_cast<std::uint32_t>(in) > asked_) {
      step_failed_ = FailedSide::file;
      return fail(-EIO);  // more than asked: not a kernel answer to trust
    }
    in_pipe_ += static_cast<std::uint32_t>(in);
    next_offset_ += static_cast<std::uint64_t>(in);
    if (in == 0 || next_offset_ == static_cast<std::uint64_t>(INT64_MAX)) eof_ = true;  // the end of the file
    // A short file splice (in < asked) cancels the linked socket splice:
    // -ECANCELED then is the link rule, not a failure. With a full one the
    // socket splice ran; a -ECANCELED then came from someone's cancel.
    // -EAGAIN: a full non-blocking socket, or (SPLICE_F_NONBLOCK) a pipe
    // that was empty when the socket splice ran, which only happens when an
    // SQPOLL poller split the link (it takes at most 8 SQEs of a ring per
    // pass when rings share it): the pipe now holds `in` bytes, and the
    // wait step (POLLOUT, at once on a socket with room) then drains them;
    // with nothing in the pipe (the end of the file) the sender is done.
    if (out < 0 && !(out == -ECANCELED && static_cast<std::uint32_t>(in) < asked_)) {
      if (out != -EAGAIN) return fail(out);
      would_block_ = true;
    }
  } else if (step == Step::wait) {
    // The poll result is an event mask (POLLERR/POLLHUP included: then the
    // splice itself reports the error). A failed poll cancels the splice.
    if (first_result_ < 0) {
      step_failed_ = FailedSide::poll;
      return fail(first_result_);
    }
    if (out < 0 && out != -EAGAIN) return fail(out);
    if (out == -EAGAIN) would_block_ = true;
  } else {
    if (out < 0 && out != -EAGAIN) return fail(out);
    if (out == -EAGAIN) would_block_ = true;
  }
  if (out > 0) {
    const std::uint32_t moved = static_cast<std::uint32_t>(out);
    if (moved > in_pipe_ || moved > asked_) return fail(-EIO);  // more out than in: cannot happen
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
// send_file must return with them still queued (they would name the
// sender's pipe, which closes on return).
void neutralize_queued(Ring& ring) {
  const Ring::Mapping map = ring.mapping();
  const unsigned shift = (ring.setup_flags() & abi::IORING_SETUP_SQE128) != 0 ? 7 : 6;
  const std::uint32_t tail = ring.sqe_tail();
  for (std::uint32_t i = tail - ring.sq_pending(); i != tail; ++i) {
    auto* sqe = reinterpret_cast<Sqe*>(map.sqes + (static_cast<std::size_t>(i & map.sq_mask) << shift));
    prep_nop(*sqe).skip_success();
  }
}

// What to do about a failed send, by the side that failed and its errno.
std::string send_hint(FileSender::FailedSide side, int err) {
  using Side = FileSender::FailedSide;
  if (side == Side::file) {
    switch (err) {
      case EBADF: return ": the file fd is not open, or not open for reading; open it O_RDONLY or O_RDWR";
      case ESPIPE: return ": the file has no offsets (a pipe or FIFO?); pass a regular file";
      case EINVAL: return ": it cannot be spliced from (a directory, a socket, O_DIRECT?); pass a regular file";
      case EISDIR: return ": it is a directory; pass a regular file";
      default: return "";
    }
  }
  switch (err) {
    case EPIPE: return ": the connection is closed for writing (the peer closed it, or this side shut it down)";
    case ECONNRESET: return ": the peer reset the connection";
    case EBADF: return ": the socket fd is not open, or not open for writing";
    case EINVAL: return ": it cannot be spliced to (not a connected stream socket, pipe or file?)";
    default: return "";
  }
}

// io_uring_enter's errors that mean the ring itself refuses.
std::string enter_hint(int err) {
  switch (err) {
    case EBADFD: return ": the ring is disabled (start_disabled): enable() it first";
    case EEXIST: return ": the ring is single-issuer (DEFER_TASKRUN) and this is not its thread: call from that thread";
    case EOWNERDEAD: return ": the ring's SQPOLL thread is gone; make a new ring";
    case EBADF: return ": the ring fd is not usable from this thread (registered_fd_only?)";
    default: return "";
  }
}

// Queues the sender's next step; an SQPOLL ring's SQ may still hold the
// last step's SQEs for a moment after their CQEs came (the poller moves the
// head when its pass ends): wait for the room (bounded: 10 s).
int queue_step(Ring& ring, FileSender& sender, std::uint64_t base) {
  int queued = sender.queue(ring, base);
  for (int round = 0; queued == -EBUSY && round < 100000; ++round) {
    const int waited = ring.wait_for_sq_space();
    if (waited < 0 && waited != -EINTR && waited != -EAGAIN) return waited;
    queued = sender.queue(ring, base);
    if (queued == -EBUSY && ring.sq_space_left() > 0) {
      // One slot free of the two a chunk needs: wait_for_sq_space returns at
      // once; give the poller 100 us to finish its pass.
      const timespec pause{0, 100000};
      ::nanosleep(&pause, nullptr);
    }
  }
  return queued;
}

// This call's user_data base: kSendFileUserData with a call number in bits
// 1..7, so that a step an earlier call left running (below) is never taken
// for this call's own when its CQE comes.
std::uint64_t next_call_base() {
  static std::atomic<std::uint32_t> calls{0};
  const std::uint32_t call = calls.fetch_add(1, std::memory_order_relaxed);
  return kSendFileUserData | ((static_cast<std::uint64_t>(call) << 1) & ~kSendFileUserDataMask);
}

// What became of the step after a refused enter on an SQPOLL ring.
enum class LeftStep { none, done, queued, running };

// The enter was refused on an SQPOLL ring whose poller may take the step on
// its own (and post its CQEs: no enter is needed for that on SQPOLL, and
// none can be made). Watches the CQ from user space, for at most
// kPollerStepWait, feeding the step's CQEs to the sender (`on_cqe`): sent()
// then counts what went out and, with nothing in flight, the pipe closes on
// return. Once the step is done it waits for the poller to move the SQ head
// past it too. Stops early when the poller is asleep with the step still on
// the SQ: nothing wakes it but an enter (or another ring's, with attach_wq),
// so the step stays queued. The poller sets NEED_WAKEUP before its last look
// at the SQ and clears it when it finds SQEs there, so asleep counts only
// when seen for 10 ms in a row.
template <class OnCqe>
LeftStep watch_poller_step(Ring& ring, const FileSender& sender, OnCqe&& on_cqe) {
  using Clock = std::chrono::steady_clock;
  constexpr auto kPollerStepWait = std::chrono::seconds(2);
  constexpr auto kAsleepFor = std::chrono::milliseconds(10);
  const auto deadline = Clock::now() + kPollerStepWait;
  bool asleep = false;
  Clock::time_point asleep_since{};
  for (;;) {
    ring.for_each_cqe(on_cqe);
    const auto now = Clock::now();
    if (sender.in_flight() == 0) {
      // The poller moves the SQ head at the end of its pass, which can come
      // after the io-wq splices posted their CQEs: wait for it too, so that
      // the ring is idle on return (a retry is not refused with EBUSY).
      if (ring.sq_pending() == 0 || now >= deadline) return LeftStep::done;
      ::sched_yield();
      continue;
    }
    if (ring.sq_pending() != 0 && ring.sq_needs_wakeup()) {
      if (!asleep) asleep_since = now;
      asleep = true;
      if (now - asleep_since >= kAsleepFor) return LeftStep::queued;
    } else {
      asleep = false;
    }
    if (now >= deadline) return ring.sq_pending() != 0 ? LeftStep::queued : LeftStep::running;
    const timespec pause{0, 50000};  // 50 us: a step of a few splices takes about that
    ::nanosleep(&pause, nullptr);
  }
}

}  // namespace

Result<std::uint64_t> send_file(Ring& ring, int file_fd, int socket_fd, std::uint64_t offset,
                                std::uint64_t length, const FileSenderOptions& options) {
  if (!ring.valid()) return Error{EBADF, "send_file: the ring is closed"};
  if (ring.sq_pending() != 0 || ring.cq_ready() != 0) {
    return Error{EBUSY, "send_file: the ring has " + std::to_string(ring.sq_pending()) + " SQEs queued and " +
                            std::to_string(ring.cq_ready()) +
                            " CQEs unreaped; it needs an idle ring (submit and reap first, or give it a ring of its own)"};
  }
  if (ring.sq_entries() < 2) {
    return Error{EINVAL, "send_file: a chunk is two linked SQEs; this ring has " + std::to_string(ring.sq_entries()) +
                             " SQ entry: give it a ring of at least 2 (4 is plenty)"};
  }
  auto made = FileSender::create(file_fd, socket_fd, offset, length, options);
  if (!made) return made.error();
  FileSender& sender = made.value();
  const std::uint64_t base = next_call_base();
  std::uint64_t stray = 0;
  std::int32_t stray_result = 0;
  bool has_stray = false;
  const auto take = [&](const Cqe& cqe) {
    if (sender.owns(cqe.data())) {
      (void)sender.on_cqe(cqe);
    } else if (!has_stray) {
      has_stray = true;
      stray = cqe.data();
      stray_result = cqe.result();
    }
  };
  int wait_error = 0;  // a fatal io_uring_enter error
  LeftStep left = LeftStep::none;  // after wait_error on SQPOLL: the step the poller may take
  while (sender.state() == SendState::ready || sender.in_flight() != 0) {
    if (sender.state() == SendState::ready) {
      const int queued = queue_step(ring, sender, base);
      if (queued < 0) {
        // Nothing of this step is queued; the last step's CQEs are all in.
        if (queued == -EBUSY) {
          return Error{EBUSY, "send_file: the SQ stayed full for 10 s after " + std::to_string(sender.sent()) +
                                  " bytes (an SQPOLL poller that does not run?)"};
        }
        return error_from_errno(queued, "send_file: waiting for SQ room after " + std::to_string(sender.sent()) +
                                            " bytes" + enter_hint(-queued));
      }
    }
    const int ret = ring.submit_and_wait(1);
    if (ret < 0 && ret != -EINTR && ret != -EAGAIN && ret != -EBUSY) {
      // The ring refuses (closed, disabled, another thread's, SQPOLL gone,
      // completions dropped). The SQEs it did not take become NOPs that
      // post nothing. Any it did take would still run after the return and
      // read the pipe's fd *number* when issued, by then perhaps another
      // file's. With none of the step's taken (the usual case for these
      // errors: the enter refuses before it submits; the ring was idle, so
      // every queued SQE is the step's) nothing is left in flight: the
      // sender forgets the step and its pipe closes on return. With some
      // taken it keeps the pipe open (see close_pipe).
      // On SQPOLL a refused enter says nothing of the poller, which takes
      // SQEs on its own (a registered_fd_only ring used from another
      // thread: EBADF): rewriting them would race it, and the step may run.
      // Only a ring not yet enabled (no poller yet) or whose poller is gone
      // is sure to leave them: otherwise they stay as they are, for the
      // poller, and send_file waits (bounded) for the step's CQEs, which the
      // poller and io-wq post without an enter: returned at once, the ring
      // would look idle (SQ taken, CQ empty) while the splices run, and the
      // pipe would be kept open for them.
      wait_error = ret;
      const bool poller_may_take = (ring.setup_flags() & abi::IORING_SETUP_SQPOLL) != 0 && ret != -EBADFD &&
                                   ret != -EOWNERDEAD;
      if (!poller_may_take) {
        const unsigned queued = ring.sq_pending();
        if (queued != 0) neutralize_queued(ring);
        if (queued >= sender.in_flight()) sender.abandon_step(ret);
      } else {
        left = watch_poller_step(ring, sender, take);
      }
      break;
    }
    ring.for_each_cqe(take);
    if (has_stray && sender.in_flight() == 0) break;
  }
  if (has_stray) {
    char hex[32];
    std::snprintf(hex, sizeof hex, "0x%llx", static_cast<unsigned long long>(stray));
    const bool earlier_call = (stray & kSendFileUserDataMask) == kSendFileUserData;
    return Error{EBUSY, "send_file: a CQE with user_data " + std::to_string(stray) + " (" + hex + ", result " +
                            std::to_string(stray_result) + ") that is not its own came while sending" +
                            (earlier_call ? " (a send_file user_data: an earlier call's step, left running when that call failed)"
                                          : "") +
                            ": it and any other such CQE are consumed and lost; stopped after " +
                            std::to_string(sender.sent()) +
                            " bytes: give send_file a ring with no other request in flight"};
  }
  if (wait_error != 0) {
    std::string what;
    switch (left) {
      case LeftStep::none: break;
      case LeftStep::done: what = "; the SQPOLL poller had taken its step, which ended before this returned"; break;
      case LeftStep::queued:
        what = "; its step stays queued for the SQPOLL poller (asleep; it runs at the next submit from a thread "
               "that may enter), and its pipe stays open for it (2 fds)";
        break;
      case LeftStep::running:
        what = "; the SQPOLL poller took its step, still running after 2 s: its bytes may still go out, and its "
               "pipe stays open for it (2 fds)";
        break;
    }
    return error_from_errno(wait_error, "send_file: io_uring_enter after " + std::to_string(sender.sent()) + " bytes" +
                                            enter_hint(-wait_error) + what);
  }
  if (sender.state() == SendState::failed) {
    const int err = -sender.error();
    std::string what;
    switch (sender.failed_side()) {
      case FileSender::FailedSide::file: what = "splice from file fd " + std::to_string(file_fd); break;
      case FileSender::FailedSide::poll: what = "POLLOUT wait on socket fd " + std::to_string(socket_fd); break;
      default: what = "splice to socket fd " + std::to_string(socket_fd); break;
    }
    Error error = error_from_errno(sender.error(), "send_file: " + what + " after " + std::to_string(sender.sent()) +
                                                       " bytes");
    error.message += send_hint(sender.failed_side(), err);
    return error;
  }
  return sender.sent();
}

}  // namespace uring
