// uring::FileSender: sendfile(2) over io_uring. Moves a range of a file to a
// socket through a pipe the sender owns, one chunk at a time: a SPLICE
// file -> pipe linked (IOSQE_IO_LINK) to a SPLICE pipe -> socket, the pages
// going from the page cache to the socket without a copy into user memory
// (liburing issue #173). A non-blocking state machine for any event loop over
// a uring::Ring, plus a blocking send_file() on top.
//
//   auto sender = uring::FileSender::create(file_fd, socket_fd, 0, size);
//   if (!sender) { fprintf(stderr, "%s\n", sender.error().message.c_str()); ... }
//   sender->queue(ring, 0x100);                  // SQEs carry 0x100 and 0x101
//   ring.submit();
//   ... for each CQE with sender->owns(cqe.data()):
//   switch (sender->on_cqe(cqe)) {
//     case uring::SendState::in_flight: break;   // the step's other CQE is still due
//     case uring::SendState::ready: sender->queue(ring, 0x100); break;
//     case uring::SendState::finished: done(sender->sent()); break;
//     case uring::SendState::failed: fail(sender->error()); break;  // -EPIPE, -ECONNRESET, ...
//   }
//
// user_data. queue(ring, base) takes an even `base`; every SQE of the step
// carries `base` or `base | 1`, and nothing else:
//   base      the first SQE of the step: the file -> pipe SPLICE of a chunk,
//             or the POLL_ADD(POLLOUT) that waits for a non-blocking socket;
//   base | 1  the pipe -> socket SPLICE.
// A step has one or two CQEs (in_flight() says how many are still due); each
// goes to on_cqe. The caller may use a different base for every step.
//
// Steps. Each queue() puts one step on the SQ (it never submits):
//   chunk  SPLICE file -> pipe of up to chunk_size bytes at the next file
//          offset, linked to SPLICE pipe -> socket of the same length;
//   drain  SPLICE pipe -> socket of the bytes left in the pipe (after a
//          short splice of either kind), the pipe emptied before the next
//          chunk;
//   wait   (a non-blocking socket that answered -EAGAIN) POLL_ADD(POLLOUT)
//          on the socket linked to the drain splice.
//
// The kernel's rules this follows (io_uring/splice.c, fs/splice.c):
//   - io_uring runs every SPLICE in an io-wq worker (REQ_F_FORCE_ASYNC),
//     blocking: a blocking socket's splice sleeps there until the socket
//     takes bytes or fails;
//   - a SPLICE that moves fewer bytes than asked counts as failed for its
//     link: a short file -> pipe splice (end of file, a file that shrank, or
//     a chunk the pipe's slots could not hold) gets its linked pipe -> socket
//     splice cancelled (-ECANCELED), so that splice never asks for more than
//     the pipe holds (which, with the write end open, would sleep for ever);
//     the bytes that did reach the pipe go out with a drain step;
//   - a file -> pipe splice never moves more than the pipe has room for (in
//     pages: a chunk starting in the middle of a page needs one slot more),
//     so chunks end on page boundaries of the file: only the first and the
//     last can be shorter than chunk_size, and each fits the pipe exactly;
//   - a pipe -> socket splice may be short (the socket's buffer); the rest of
//     the pipe goes out (drain) before the next chunk, so nothing is lost,
//     duplicated or reordered;
//   - a socket with O_NONBLOCK makes the socket side MSG_DONTWAIT: a full
//     socket answers -EAGAIN (or a short count), then the wait step polls;
//   - the link is not a promise under SQPOLL: a poller shared by rings
//     (attach_wq) takes at most 8 SQEs of a ring per pass, and a link split
//     across passes runs its second SQE unlinked (possibly before the first,
//     and not cancelled by a short first);
//   - flags: SPLICE_F_MOVE is not used (a hint for pipe -> file page
//     stealing; sockets ignore it). Every pipe -> socket splice carries
//     SPLICE_F_NONBLOCK: in splice_to_socket it only turns "the pipe is
//     empty" into -EAGAIN instead of a sleep; whether the socket side blocks
//     still follows the socket's own O_NONBLOCK (MSG_DONTWAIT). When the
//     output is itself a pipe (pipe -> pipe), a full output pipe answers
//     -EAGAIN too, and the sender waits for POLLOUT as for a full socket. With an intact link the pipe is never empty
//     there; with a split one (above) a socket splice that found it empty
//     answers -EAGAIN: the sender then drains what the file splice put in
//     (a wait step, whose POLLOUT fires at once on a socket with room), or
//     is done at the end of the file, instead of a splice asleep for ever on
//     an empty pipe. On the file side SPLICE_F_NONBLOCK would only fail a
//     splice into a full pipe, which never happens here: not used.
//
// Results. finished: sent() == length(), or the file ended first
// (reached_eof(), sent() < length(); a length of kToEndOfFile always ends
// this way). failed: error() is the -errno of the first failing splice or
// poll (-EPIPE or -ECONNRESET when the peer closed; -EBADF, -ESPIPE, -EINVAL
// for fds that cannot splice; -EINTR or -ECANCELED when cancelled), and
// sent() counts the bytes the socket took before it.
//
// SIGPIPE. A splice to a socket whose peer is gone raises SIGPIPE in the
// thread that runs it (splice has no MSG_NOSIGNAL). On Linux 6.18 that is the
// io-wq worker, which blocks every signal, so the process is not killed; no
// kernel promises it. Programs that send to sockets ignore SIGPIPE
// (signal(SIGPIPE, SIG_IGN)) and read -EPIPE from the CQE: do that.
//
// Stopping early: shutdown(2) of the socket wakes a splice blocked on it
// (-EPIPE); ASYNC_CANCEL of base | 1 (prep_cancel) answers -EALREADY for a
// splice already running and interrupts its worker, whose CQE then carries
// the kernel-internal -ERESTARTSYS (-512) on 6.18: error() reports that (and
// the other restart codes) as -EINTR. Either way, feed on_cqe until
// in_flight() is 0.
//
// Lifetime. The sender owns its pipe (both ends, O_CLOEXEC) and closes it in
// its destructor. Destroy or move-assign over it ONLY while in_flight() is 0.
// A step's SQEs name the pipe by fd *number*, and a linked SQE (the splice
// after a POLLOUT wait or after the file splice) looks its fd up only when
// the kernel issues it, which can be long after submit. Destroyed with a
// step in flight, the pipe's numbers are free, the next pipe2/open/accept
// gets them, and the stale splice then reads or writes that other file:
// another sender's pipe (its client's bytes go to this socket: a data leak)
// or anything else. A destructor cannot wait for CQEs; what it does instead:
// with in_flight() > 0 it does NOT close the pipe but leaks its two fds on
// purpose, so the stale SQEs find this pipe and no other file (a leak of 2
// descriptors per misuse, not a wrong byte on a socket). Do not rely on it:
// cancel the step (prep_cancel of base | 1 and base, or shutdown
// of the socket) and feed on_cqe until in_flight() is 0 first. send_file
// never returns with a step of its own in flight, except when the ring
// itself fails under it after taking the step (see there).
// The file's position is never used or moved (explicit offsets); the caller
// keeps file_fd and socket_fd open until the end.
//
// Per chunk there is no allocation and no system call besides the caller's
// submit. One thread at a time uses a sender (like the Ring).
#pragma once

#include <cstdint>

#include "uring/result.h"
#include "uring/ring.h"
#include "uring/sqe.h"

namespace uring {

// A length meaning "to the end of the file".
inline constexpr std::uint64_t kToEndOfFile = ~0ull;

struct FileSenderOptions {
  // The pipe's size (fcntl F_SETPIPE_SZ), in bytes; the kernel rounds it up
  // to a power-of-two number of pages. 0 keeps the default (16 pages, 64 KiB
  // with 4 KiB pages). Above /proc/sys/fs/pipe-max-size it needs
  // CAP_SYS_RESOURCE (else EPERM).
  std::uint32_t pipe_size = 0;
  // Bytes asked of each file -> pipe splice, at most the pipe's size
  // (larger: EINVAL); rounded down to whole pages, at least one. 0: the
  // pipe's size.
  std::uint32_t chunk_size = 0;
};

enum class SendState : std::uint8_t {
  in_flight,  // a step is queued or running: wait for its CQEs
  ready,      // call queue() for the next step
  finished,   // done: sent() bytes (reached_eof() if the file ended first)
  failed,     // error() says why; sent() bytes reached the socket before it
};

const char* send_state_name(SendState state);  // "in_flight", "ready", ...

class FileSender {
 public:
  // A sender of [offset, offset + length) of file_fd (a regular file or
  // anything else with splice_read and an offset) to socket_fd (any fd with
  // splice_write: a connected stream socket, a pipe, ...), in state ready
  // (finished at once for length 0, with no step to queue). Makes the pipe;
  // errors: EINVAL (a negative fd, offset past 2^63-1, chunk_size above the
  // pipe's size), the errno of pipe2 (EMFILE, ENFILE) or F_SETPIPE_SZ
  // (EPERM above pipe-max-size, EBUSY below the pipe's use), each with what
  // to change.
  static Result<FileSender> create(int file_fd, int socket_fd, std::uint64_t offset, std::uint64_t length,
                                   const FileSenderOptions& options = {});

  FileSender() = default;  // empty: state() is failed with -EBADF, queue() refuses
  FileSender(FileSender&& other) noexcept { swap(other); }
  FileSender& operator=(FileSender&& other) noexcept {
    if (this != &other) FileSender(static_cast<FileSender&&>(other)).swap(*this);
    return *this;
  }
  FileSender(const FileSender&) = delete;
  FileSender& operator=(const FileSender&) = delete;
  ~FileSender() { close_pipe(); }

  // Puts the next step on the ring's SQ (not submitted: the caller submits),
  // its SQEs carrying `base` and `base | 1`. Returns the SQEs queued (1 or
  // 2, linked), or -errno with nothing queued:
  //   -EBUSY   the SQ has no room for the step: submit (with SQPOLL:
  //            wait_for_sq_space(), since the poller moves the SQ head only
  //            at the end of its pass, after the step's CQEs may have come),
  //            then call again;
  //   -EBADF   the ring is closed (nothing changes: queue it on an open ring);
  //   -EINVAL  `base` is odd, the state is not ready (a step in flight,
  //            or finished/failed: nothing to queue), or the ring has fewer
  //            than 2 SQ entries (a chunk is two linked SQEs: never room).
  int queue(Ring& ring, std::uint64_t base);

  // Whether `user_data` belongs to the step in flight (base or base | 1 of
  // the last queue(), while in_flight() > 0).
  bool owns(std::uint64_t user_data) const {
    return in_flight_ != 0 && (user_data & ~std::uint64_t{1}) == base_;
  }

  // The step queue() put on the SQ will never reach the kernel: the ring
  // refused the submit and you turned its SQEs into NOPs, or you close the
  // ring without submitting them. Forgets it (in_flight() becomes 0, so the
  // pipe closes with the sender instead of being kept for a splice that will
  // never run) and fails the sender with `negative_errno` (the refusal).
  // Never call it for a step the kernel may have taken: then wait for its CQEs.
  void abandon_step(int negative_errno);

  // Takes one CQE of the step in flight and says what comes next: in_flight
  // until the step's last CQE, then ready, finished or failed. A CQE the
  // sender does not own changes nothing (the state is returned as it is).
  // A splice result above what the step asked is failed with -EIO.
  SendState on_cqe(const Cqe& cqe) { return on_cqe(cqe.data(), cqe.result()); }
  // The same for a CQE copied out of the ring (its user_data and result).
  SendState on_cqe(std::uint64_t user_data, std::int32_t result);

  SendState state() const { return state_; }
  unsigned in_flight() const { return in_flight_; }  // CQEs of the step still due
  std::uint64_t sent() const { return sent_; }       // bytes the socket took
  std::uint64_t length() const { return length_; }   // as given to create()
  std::uint64_t offset() const { return offset_; }   // as given to create()
  bool reached_eof() const { return eof_; }          // the file ended before length()
  int error() const { return error_; }               // -errno when failed, else 0
  // Which request failed: the file -> pipe splice, the pipe -> socket
  // splice, or the POLLOUT wait (none while not failed).
  enum class FailedSide : std::uint8_t { none, file, socket, poll };
  FailedSide failed_side() const { return step_failed_; }
  std::uint32_t pipe_size() const { return pipe_size_; }    // bytes (F_GETPIPE_SZ)
  std::uint32_t chunk_size() const { return chunk_size_; }  // bytes per chunk step
  std::uint32_t in_pipe() const { return in_pipe_; }        // bytes spliced in, not yet out

  // Steps queued so far, by kind (what the tests and tools count).
  struct Counters {
    std::uint64_t chunks = 0;  // file -> pipe -> socket pairs
    std::uint64_t drains = 0;  // pipe -> socket after a short splice
    std::uint64_t waits = 0;   // POLLOUT waits after -EAGAIN
  };
  const Counters& counters() const { return counters_; }

  void swap(FileSender& other) noexcept;

 private:
  enum class Step : std::uint8_t { none, chunk, drain, wait };

  void close_pipe() noexcept;
  void finish_step();
  void fail(int negative_errno);

  int file_fd_ = -1;
  int socket_fd_ = -1;
  int pipe_read_ = -1;
  int pipe_write_ = -1;
  std::uint64_t offset_ = 0;
  std::uint64_t length_ = 0;
  std::uint64_t next_offset_ = 0;  // file offset of the next chunk
  std::uint64_t sent_ = 0;
  std::uint64_t base_ = 0;
  std::uint32_t pipe_size_ = 0;
  std::uint32_t chunk_size_ = 0;
  std::uint32_t page_size_ = 4096;
  std::uint32_t in_pipe_ = 0;
  // The step in flight: what it asked and what its CQEs said.
  Step step_ = Step::none;
  unsigned in_flight_ = 0;
  std::uint32_t asked_ = 0;  // bytes asked of the step's splices
  bool first_seen_ = false, second_seen_ = false;
  std::int32_t first_result_ = 0, second_result_ = 0;
  bool eof_ = false;
  bool would_block_ = false;  // the socket said -EAGAIN: the next step waits for POLLOUT
  int error_ = -EBADF;
  FailedSide step_failed_ = FailedSide::none;
  SendState state_ = SendState::failed;
  Counters counters_;
};

// The user_data values send_file() gives its SQEs: kSendFileUserData with
// the low byte (outside kSendFileUserDataMask) a per-call base, bits 1..7 a
// call number (process-wide, counting up and wrapping after 128 calls) and
// bit 0 the SQE of the step (base, base | 1: see FileSender). So
// (user_data & kSendFileUserDataMask) == kSendFileUserData for every one of
// them, and a step an earlier call left running (an SQPOLL ring that refused
// the enter, below) is not taken for a later call's own: its CQE is a stray
// to that call (EBUSY naming it), unless 128 calls (a multiple) came between.
inline constexpr std::uint64_t kSendFileUserData = 0x53454e4446494c00ull;  // "SENDFIL\0"
inline constexpr std::uint64_t kSendFileUserDataMask = ~std::uint64_t{0xff};

// Blocking: sends [offset, offset + length) of file_fd to socket_fd through a
// FileSender and returns the bytes sent (fewer than length only when the file
// ended first), or the error: the sender's setup errors; the failing
// request's errno, the message naming its side ("splice from file fd N":
// EBADF not open for reading, ESPIPE a FIFO, EINVAL a directory or socket;
// "splice to socket fd N": EPIPE, ECONNRESET, EBADF, ...) with what to do and
// the bytes sent before it; io_uring_enter's errno when the ring refuses
// (EINTR, EAGAIN and EBUSY are waited out; EBADFD: a start_disabled ring not
// yet enabled; EEXIST: a single-issuer ring used from another thread), the
// SQEs it did not take left queued as NOPs that post nothing (the sender's
// pipe closes on return; the ring's SQ has no way to take them back, so a
// later send_file on that ring answers EBUSY until they are submitted; they
// carry IOSQE_CQE_SKIP_SUCCESS, after which the kernel refuses
// IOSQE_IO_DRAIN on that ring). On SQPOLL (unless EBADFD or EOWNERDEAD: no
// poller runs) the poller may take them without any enter, so they are left
// as they are, and send_file watches the CQ (no enter: the poller and io-wq
// post CQEs without one) for up to 2 s while the poller is awake or has
// taken them: the step's CQEs are counted (it still fails with the enter's
// errno, the message giving the bytes that went out) and, the step done,
// the pipe closes and the ring is idle. Only when the step is still
// running after 2 s (a splice asleep on a full socket), or stays queued with
// the poller asleep (nothing but an enter wakes it), does it return with the
// step in flight (the message says which): its bytes may still go out, and
// the pipe is kept open for it (2 fds); its CQEs, when they come, carry that
// call's user_data, a stray to any later call. EINVAL for a ring of fewer
// than 2 SQ entries; EBUSY when the ring is not idle. A full SQ (an SQPOLL
// poller that has not moved its head yet) is waited out with
// wait_for_sq_space (at most 10 s).
// The ring must have NO other request in flight, and send_file cannot see
// one that was submitted and has not completed (only queued SQEs and
// unreaped CQEs, refused with EBUSY at the start, nothing done): it reaps
// every CQE until its own end, so other requests' CQEs arriving meanwhile
// are consumed and lost; send_file then stops after its current step and
// fails with EBUSY naming the first such user_data (decimal and hex) and
// result. A ring of 4 entries is enough.
Result<std::uint64_t> send_file(Ring& ring, int file_fd, int socket_fd, std::uint64_t offset,
                                std::uint64_t length, const FileSenderOptions& options = {});

}  // namespace uring
