// tools/cp: copy one file with a queue of linked READ -> WRITE pairs.
//
//   cp [--queue-depth N] [--block-size N] [--registered] [--no-fsync]
//      [--no-progress] [--trace] SOURCE DEST
//
// What it shows: IOSQE_IO_LINK. The source is cut into blocks; each of the
// --queue-depth slots of memory holds one block, and for each the ring gets
// two SQEs, a READ of the block into the slot and, linked to it, a WRITE of
// the slot at the same offset of the destination. The kernel starts the
// WRITE only when the READ has succeeded, so one submit moves a block with
// no round trip through this program in between; --queue-depth pairs are in
// flight at once, and as each slot's WRITE completes the slot takes the next
// block. With --registered the two files are a registered file table
// (FileTable, IOSQE_FIXED_FILE) and the slots a registered buffer table
// (BufferTable, READ_FIXED / WRITE_FIXED): the kernel neither looks the
// files up nor pins the pages again for every request.
//
// The catch of a linked pair is that the WRITE's length is fixed when it is
// queued, before the READ has run. What the kernel does about it
// (io_uring/rw.c, __io_complete_rw_common): a READ or WRITE that moves fewer
// bytes than it asked for counts as failed for its link, so the WRITE after
// a short READ is never run; it completes with -ECANCELED, and the READ's CQE
// says how many bytes did arrive. The repair, in on_read() below: write
// those bytes with a plain WRITE, and queue a new linked pair for the rest
// of the block. A short WRITE gets a WRITE of its remainder (on_write()).
// Short reads happen at the end of a file that shrank, and all the time on
// pipes: `cp /dev/stdin DEST` works (then one pair at a time, since a
// pipe has no offsets to read out of order). Short writes happen when a
// disk fills up or a file size limit is reached: the WRITE of the remainder
// then fails with the error (ENOSPC, EFBIG) that cp reports.
//
// Nothing half-written is ever visible: the data goes into an unnamed file
// (O_TMPFILE) in DEST's directory, and only when all of it is there is the
// file synced (IORING_OP_FSYNC; --no-fsync skips that), given a temporary
// name (IORING_OP_LINKAT of /proc/self/fd/N) and renamed over DEST
// (IORING_OP_RENAMEAT), the three linked in one chain. On a failure, or on
// SIGINT/SIGTERM, everything in flight is cancelled (IORING_ASYNC_CANCEL_ANY),
// the unnamed file is closed and so disappears, and DEST is as it was. (A
// filesystem without O_TMPFILE gets a named temporary file instead, removed
// on failure; a SIGKILL would leave that one behind.) DEST, if it exists, is
// replaced by a new file with SOURCE's permissions, not written in place
// (a symbolic link as DEST is replaced too, not followed).
//
// Other rules: DEST may be a directory (the copy goes into it, under
// SOURCE's name); SOURCE and DEST may not be the same file; SOURCE may not
// be a directory; an existing DEST must be a regular file. A progress line
// is drawn on stderr when it is a terminal and SOURCE is at least 16 MiB.
// --trace prints every READ and WRITE completion (slot, offsets, length,
// cqe->res) on stderr, to watch the pairs and the repairs happen.
// Holes: a regular SOURCE is read only where it has data (lseek SEEK_DATA /
// SEEK_HOLE); nothing is written over a hole, and the copy is given
// SOURCE's size with ftruncate, so a sparse file stays sparse. A regular
// file whose st_size is 0 (/proc, /sys: the content is made on read) is read
// to its end like a pipe. The slots allocated are no more than the file
// needs (mmap: under a memory limit, "cp: cannot allocate N bytes", exit 1).
// A FIFO is opened O_NONBLOCK and waited for with poll(2) beside the
// signalfd, so that SIGINT/SIGTERM end a wait for a writer that never comes.
// Exit status: 0 copied, 1 an error (one line on stderr naming the file),
// 2 a bad command line, 128 + N after signal N ("cp: stopped by SIGINT
// after N of M bytes; 'DEST' left as it was").
#include <fcntl.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <string>
#include <vector>

#include "tools/common/cli.h"
#include "uring/uring.h"

namespace {

constexpr const char* kUsage =
    "usage: cp [--queue-depth N] [--block-size N] [--registered] [--no-fsync] [--no-progress] [--trace] SOURCE DEST\n"
    "Copies SOURCE to DEST (or into DEST/, a directory) with linked io_uring READ->WRITE pairs.\n"
    "  --queue-depth N  read->write pairs in flight (1..4096; default 32)\n"
    "  --block-size N   bytes per pair (512..64M, K/M suffixes; default 128K);\n"
    "                   queue depth x block size is at most 1G\n"
    "  --registered     registered files and buffers (READ_FIXED/WRITE_FIXED)\n"
    "  --no-fsync       do not fsync DEST before it replaces the old one\n"
    "  --no-progress    no progress line (drawn only when stderr is a terminal)\n"
    "  --trace          one line on stderr per READ/WRITE completion\n";

constexpr std::uint64_t kProgressFrom = 16 << 20;  // sources this large get a progress line

// user_data of the requests that are not Ops (an Op's user_data is its address).
constexpr std::uint64_t kSignal = 1;  // READ of the signalfd
constexpr std::uint64_t kCancel = 2;  // ASYNC_CANCEL of everything
constexpr std::uint64_t kFsync = 3, kLink = 4, kRename = 5;

double now() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// One READ or WRITE in flight: `len` bytes at `offset` of the files, from
// or into the slot's memory at `at`.
struct Op {
  bool is_read = false;
  unsigned slot = 0;
  std::uint64_t offset = 0;
  std::uint32_t at = 0;
  std::uint32_t len = 0;
};

struct Copy {
  // The command line.
  std::string source, dest;
  std::uint64_t depth = 32, block = 128 << 10;
  bool registered = false, fsync = true, progress = true, trace = false;

  // The files.
  int src_fd = -1, tmp_fd = -1;
  bool stream = false;     // SOURCE is a pipe or the like: no offsets, no size
  std::uint64_t size = 0;  // SOURCE's size (a regular file)
  std::string tmp_path;    // a named temporary file (no O_TMPFILE), else empty

  // The ring and what it works with.
  uring::Ring ring;
  uring::FileTable files;      // --registered: slot 0 SOURCE, slot 1 the temporary file
  uring::BufferTable buffers;  // --registered: buffer i = slot i
  char* memory = nullptr;      // depth x block bytes: the slots (mmap)
  std::vector<unsigned> busy;  // per slot: its Ops in flight
  std::deque<Op> op_store;     // Ops never move (a deque grows at the end)
  std::vector<Op*> free_ops;
  unsigned in_flight = 0;      // Ops in flight
  int signal_fd = -1;
  signalfd_siginfo siginfo{};

  // Progress of the copy.
  std::uint64_t next_offset = 0;  // where the next new pair starts
  std::uint64_t data_end = 0;     // where the data region next_offset is in ends (a hole or EOF)
  std::uint64_t skipped = 0;      // bytes of holes not read
  bool eof = false;               // a stream's READ returned 0
  std::uint64_t bytes_read = 0, bytes_written = 0;
  bool stopping = false;  // cancelling everything: queue nothing new
  int stop_signal = 0;
  std::string error;      // why it stops, if not a signal
  bool show_progress = false, progress_drawn = false;
  double progress_at = 0;

  uring::File src_file() const { return registered ? uring::File(uring::FixedFile(0)) : uring::File(src_fd); }
  uring::File dst_file() const { return registered ? uring::File(uring::FixedFile(1)) : uring::File(tmp_fd); }
  char* slot_memory(unsigned slot) { return memory + slot * block; }

  // An SQE; when the SQ is full, what it holds is submitted first.
  uring::Sqe& sqe() {
    for (;;) {
      if (uring::Sqe* sqe = ring.get_sqe()) return *sqe;
      if (int rc = ring.submit(); rc < 0 && rc != -EINTR && rc != -EAGAIN) fatal_errno("io_uring_enter", rc);
    }
  }
  // Room for `n` SQEs in a row: a link runs only between SQEs submitted
  // together (the kernel ends an open link at the end of a submit).
  void reserve(unsigned n) {
    while (ring.sq_space_left() < n) {
      if (int rc = ring.submit(); rc < 0 && rc != -EINTR && rc != -EAGAIN) fatal_errno("io_uring_enter", rc);
    }
  }

  Op* new_op(bool is_read, unsigned slot, std::uint64_t offset, std::uint32_t at, std::uint32_t len) {
    Op* op;
    if (free_ops.empty()) {
      op = &op_store.emplace_back();
    } else {
      op = free_ops.back();
      free_ops.pop_back();
    }
    *op = {is_read, slot, offset, at, len};
    ++busy[slot];
    ++in_flight;
    return op;
  }

  // The READ of `op`, or its WRITE, into an SQE.
  uring::Prepared& prep(const Op* op) {
    char* memory_at = slot_memory(op->slot) + op->at;
    uring::Prepared* prepared;
    if (registered) {
      // BufferTable checks the range lies inside buffer `slot`, then takes the SQE.
      reserve(1);
      const uring::FixedBuffer index = *uring::FixedBuffer::checked(op->slot);
      auto queued = op->is_read ? buffers.read_fixed(src_file(), memory_at, op->len, read_offset(op), index)
                                : buffers.write_fixed(dst_file(), memory_at, op->len, op->offset, index);
      if (!queued) fatal(queued.error().message);
      prepared = *queued;
    } else if (op->is_read) {
      prepared = &uring::prep_read(sqe(), src_file(), memory_at, op->len, read_offset(op));
    } else {
      prepared = &uring::prep_write(sqe(), dst_file(), memory_at, op->len, op->offset);
    }
    return prepared->set_user_data(op);
  }
  // A pipe has no offsets (the kernel ignores them): read where it is.
  std::uint64_t read_offset(const Op* op) const { return stream ? uring::kCurrentPosition : op->offset; }

  // READ [offset, offset + len) into the slot at `at`, and WRITE it, linked.
  void queue_pair(unsigned slot, std::uint64_t offset, std::uint32_t at, std::uint32_t len) {
    reserve(2);
    prep(new_op(true, slot, offset, at, len)).link();  // IOSQE_IO_LINK: the next SQE waits for this one
    prep(new_op(false, slot, offset, at, len));
  }

  void queue_write(unsigned slot, std::uint64_t offset, std::uint32_t at, std::uint32_t len) {
    prep(new_op(false, slot, offset, at, len));
  }

  // At the end of a data region, steps over the hole after it:
  // next_offset to the next data (SEEK_DATA), data_end to the hole after
  // that (SEEK_HOLE). A file system without them reports all as data.
  void skip_hole() {
    if (next_offset < data_end || next_offset >= size) return;
    off_t data = ::lseek(src_fd, static_cast<off_t>(next_offset), SEEK_DATA);
    if (data < 0 && errno == ENXIO) data = static_cast<off_t>(size);  // a hole up to the end
    if (data < 0) {
      data_end = size;
      return;
    }
    const std::uint64_t at = std::min<std::uint64_t>(static_cast<std::uint64_t>(data), size);
    skipped += at - next_offset;
    next_offset = at;
    const off_t hole = ::lseek(src_fd, data, SEEK_HOLE);
    data_end = hole < 0 ? size : std::min<std::uint64_t>(static_cast<std::uint64_t>(hole), size);
  }

  // Every free slot takes the next block (a stream has one slot).
  void fill() {
    for (unsigned slot = 0; slot < depth && !stopping; ++slot) {
      if (busy[slot] != 0) continue;
      if (!stream) skip_hole();
      if (stream ? eof : next_offset >= size) return;
      const std::uint64_t len = stream ? block : std::min<std::uint64_t>(block, data_end - next_offset);
      queue_pair(slot, next_offset, 0, static_cast<std::uint32_t>(len));
      next_offset += len;
    }
  }

  // A READ's CQE. Its linked WRITE ran only if `res` == op->len.
  void on_read(const Op& op, int res) {
    if (res == static_cast<int>(op.len)) {
      bytes_read += op.len;
    } else if (res == -ECANCELED && stopping) {
      // cancelled by stop()
    } else if (res < 0) {
      fail("error reading '" + source + "': " + std::strerror(-res));
    } else if (res == 0) {
      if (stream) eof = true;  // the end of the pipe
      else fail("'" + source + "' got shorter while it was being copied");
    } else if (!stopping) {
      // Short: the WRITE was cancelled. Write what came, and read the rest
      // of the block with a new linked pair.
      bytes_read += static_cast<std::uint64_t>(res);
      const auto got = static_cast<std::uint32_t>(res);
      queue_write(op.slot, op.offset, op.at, got);
      queue_pair(op.slot, op.offset + got, op.at + got, op.len - got);
    }
  }

  // A WRITE's CQE. -ECANCELED: its READ came back short or failed, and the
  // READ's CQE says what happens next (or stop() cancelled it).
  void on_write(const Op& op, int res) {
    if (res == static_cast<int>(op.len)) {
      bytes_written += op.len;
    } else if (res == -ECANCELED) {
    } else if (res < 0) {
      fail("error writing '" + dest + "': " + std::strerror(-res));
    } else if (res == 0) {
      fail("error writing '" + dest + "': the file system took no bytes");
    } else if (!stopping) {
      // Short: write the rest.
      bytes_written += static_cast<std::uint64_t>(res);
      const auto done = static_cast<std::uint32_t>(res);
      queue_write(op.slot, op.offset + done, op.at + done, op.len - done);
    }
  }

  // The first error stops the copy; later ones (the cancelled rest) are not news.
  void fail(const std::string& message) {
    if (error.empty() && stop_signal == 0) error = message;
    stop();
  }
  // Cancel everything in flight (one ASYNC_CANCEL with CANCEL_ANY, 5.19);
  // the copy loop then runs until every Op's CQE is in.
  void stop() {
    if (stopping) return;
    stopping = true;
    uring::prep_cancel_any(sqe()).set_user_data(kCancel);
  }

  // The copy: pairs in flight until all of SOURCE is written, or a stop.
  void run() {
    fill();
    while (in_flight > 0) {
      if (int rc = ring.submit_and_wait(1); rc < 0 && rc != -EINTR) fatal_errno("io_uring_enter", rc);
      while (uring::Cqe* cqe = ring.peek_cqe()) {
        const std::uint64_t what = cqe->data();
        const int res = cqe->result();
        ring.cqe_seen(cqe);
        if (what == kSignal) {
          if (res > 0 && !stopping) {
            stop_signal = static_cast<int>(siginfo.ssi_signo);
            stop();
          }
          continue;
        }
        if (what == kCancel) continue;
        Op* op = reinterpret_cast<Op*>(static_cast<std::uintptr_t>(what));
        if (trace) {
          std::fprintf(stderr, "%s slot=%u offset=%llu at=%u len=%u res=%d\n", op->is_read ? "READ " : "WRITE",
                       op->slot, static_cast<unsigned long long>(op->offset), op->at, op->len, res);
        }
        --busy[op->slot];
        --in_flight;
        if (op->is_read) on_read(*op, res);
        else on_write(*op, res);
        free_ops.push_back(op);
      }
      fill();
      draw_progress(false);
    }
    // Every byte read was written, or something is wrong with the repairs.
    if (!stopping && bytes_written + skipped != (stream ? bytes_read : size)) {
      error = "copied " + std::to_string(bytes_written) + " of " + std::to_string(stream ? bytes_read : size) +
              " bytes (a bug)";
    }
    // The holes at the end (and a file all hole) get their size this way.
    if (!stopping && error.empty() && !stream && ::ftruncate(tmp_fd, static_cast<off_t>(size)) != 0) {
      error = "error writing '" + dest + "': " + std::strerror(errno);
    }
  }

  void draw_progress(bool last) {
    if (!show_progress) return;
    const double t = now();
    if (!last && t - progress_at < 0.1) return;
    progress_at = t;
    const double mib = 1 << 20;
    const std::uint64_t done = bytes_written + skipped;  // holes count as copied
    std::fprintf(stderr, "\rcp: %s: %.1f of %.1f MiB (%d%%)%s", source.c_str(),
                 static_cast<double>(done) / mib, static_cast<double>(size) / mib,
                 static_cast<int>(size ? done * 100 / size : 100), last ? "\n" : "");
    progress_drawn = !last;
  }

  // The end of a failed or interrupted copy: the temporary file goes, DEST
  // is untouched. Exits.
  [[noreturn]] void give_up() {
    if (progress_drawn) std::fputc('\n', stderr);
    ::close(tmp_fd);  // an O_TMPFILE file is gone with its last fd
    if (!tmp_path.empty()) ::unlink(tmp_path.c_str());
    if (stop_signal != 0) {
      const char* name = stop_signal == SIGINT ? "SIGINT" : "SIGTERM";
      const auto done = static_cast<unsigned long long>(bytes_written);
      if (stream) std::fprintf(stderr, "cp: stopped by %s after %llu bytes; '%s' left as it was\n", name, done, dest.c_str());
      else
        std::fprintf(stderr, "cp: stopped by %s after %llu of %llu bytes; '%s' left as it was\n", name, done,
                     static_cast<unsigned long long>(size), dest.c_str());
      std::exit(128 + stop_signal);
    }
    cli::fail("cp", error + " ('" + dest + "' left as it was)");
  }

  // Errors of the ring itself (not of the files): give up at once.
  [[noreturn]] void fatal(const std::string& message) {
    error = message;
    stop_signal = 0;
    give_up();
  }
  [[noreturn]] void fatal_errno(const char* what, int negative_errno) {
    fatal(std::string(what) + ": " + std::strerror(-negative_errno));
  }

  // Makes the temporary file DEST: FSYNC -> LINKAT (an O_TMPFILE file gets
  // a name) -> RENAMEAT over DEST, one linked chain; a failing step cancels
  // the steps after it.
  void publish() {
    const std::string dir = directory_of(dest);
    const std::string fd_path = "/proc/self/fd/" + std::to_string(tmp_fd);
    const bool named = !tmp_path.empty();
    for (unsigned attempt = 0;; ++attempt) {
      std::string link_path = tmp_path;
      if (!named) {
        link_path = dir + "/." + base_name(dest) + ".cp-" + std::to_string(::getpid()) + "-" + std::to_string(attempt);
      }
      unsigned expected = 0;
      reserve(3);
      if (fsync) {
        uring::prep_fsync(sqe(), tmp_fd).set_user_data(kFsync).link();
        ++expected;
      }
      if (!named) {
        uring::prep_linkat(sqe(), AT_FDCWD, fd_path.c_str(), AT_FDCWD, link_path.c_str(), AT_SYMLINK_FOLLOW)
            .set_user_data(kLink)
            .link();
        ++expected;
      }
      uring::prep_renameat(sqe(), AT_FDCWD, link_path.c_str(), AT_FDCWD, dest.c_str()).set_user_data(kRename);
      ++expected;
      int fsync_res = 0, link_res = 0, rename_res = 0;
      while (expected > 0) {
        if (int rc = ring.submit_and_wait(1); rc < 0 && rc != -EINTR) fatal_errno("io_uring_enter", rc);
        while (uring::Cqe* cqe = ring.peek_cqe()) {
          const std::uint64_t what = cqe->data();
          if (what == kFsync) fsync_res = cqe->result();
          if (what == kLink) link_res = cqe->result();
          if (what == kRename) rename_res = cqe->result();
          if (what == kFsync || what == kLink || what == kRename) --expected;
          ring.cqe_seen(cqe);  // a stop signal now is let be: the copy is all but done
        }
      }
      if (link_res == -EEXIST && attempt < 10) continue;  // that name was taken: another one
      if (fsync_res < 0) error = "error syncing '" + dest + "': " + std::strerror(-fsync_res);
      else if (link_res < 0) error = "cannot create '" + link_path + "': " + std::strerror(-link_res);
      else if (rename_res < 0)
        error = "cannot rename '" + link_path + "' to '" + dest + "': " + std::strerror(-rename_res);
      if (error.empty()) return;
      if (link_res == 0) ::unlink(link_path.c_str());  // linked, not renamed
      give_up();
    }
  }

  static std::string directory_of(const std::string& path) {
    const std::size_t slash = path.find_last_of('/');
    if (slash == std::string::npos) return ".";
    return slash == 0 ? "/" : path.substr(0, slash);
  }
  static std::string base_name(std::string path) {
    while (path.size() > 1 && path.back() == '/') path.pop_back();
    const std::size_t slash = path.find_last_of('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
  }

  // Opens SOURCE, works out DEST, creates the temporary file.
  void open_files() {
    // O_NONBLOCK: a FIFO's open(2) would wait for a writer with the stop
    // signals blocked; wait_for_writer() waits instead, then it is cleared.
    src_fd = ::open(source.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (src_fd < 0) cli::fail("cp", "cannot open '" + source + "' for reading: " + std::strerror(errno));
    struct stat src_st{};
    if (::fstat(src_fd, &src_st) != 0) cli::fail_errno("cp", "cannot stat '" + source + "'", errno);
    if (S_ISDIR(src_st.st_mode)) cli::fail("cp", "'" + source + "' is a directory (not copied)");
    // A block device's st_size is 0: refused rather than copied as empty.
    if (S_ISBLK(src_st.st_mode)) cli::fail("cp", "'" + source + "' is a block device (not copied)");
    // st_size 0 of a regular file: empty, or /proc and /sys content made on
    // read. Read to the end, as a pipe is.
    stream = !S_ISREG(src_st.st_mode) || src_st.st_size == 0;
    size = stream ? 0 : static_cast<std::uint64_t>(src_st.st_size);
    // Two READs in flight on a pipe could come back in either order: one slot.
    if (stream) depth = 1;
    // No more slots than the file has blocks.
    if (!stream) depth = std::max<std::uint64_t>(1, std::min<std::uint64_t>(depth, (size + block - 1) / block));

    struct stat dst_st{};
    if (::stat(dest.c_str(), &dst_st) == 0 && S_ISDIR(dst_st.st_mode)) {
      dest += (dest.back() == '/' ? "" : "/") + base_name(source);
    }
    if (::stat(dest.c_str(), &dst_st) == 0) {
      if (dst_st.st_dev == src_st.st_dev && dst_st.st_ino == src_st.st_ino) {
        cli::fail("cp", "'" + source + "' and '" + dest + "' are the same file");
      }
      if (!S_ISREG(dst_st.st_mode)) cli::fail("cp", "'" + dest + "' exists and is not a regular file (not replaced)");
    }

    if (S_ISFIFO(src_st.st_mode)) wait_for_writer();
    if (int flags = ::fcntl(src_fd, F_GETFL); flags < 0 || ::fcntl(src_fd, F_SETFL, flags & ~O_NONBLOCK) < 0) {
      cli::fail_errno("cp", "cannot read '" + source + "'", errno);
    }

    const std::string dir = directory_of(dest);
    const mode_t mode = src_st.st_mode & 0777;
    tmp_fd = ::open(dir.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, mode);
    if (tmp_fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR)) {
      // No O_TMPFILE here: a named temporary file, removed on failure.
      tmp_path = dir + "/." + base_name(dest) + ".cp-XXXXXX";
      tmp_fd = ::mkostemp(tmp_path.data(), O_CLOEXEC);
      if (tmp_fd >= 0) {
        const mode_t mask = ::umask(0);
        ::umask(mask);
        ::fchmod(tmp_fd, mode & ~mask);
      } else {
        tmp_path.clear();
      }
    }
    if (tmp_fd < 0) cli::fail("cp", "cannot create '" + dest + "': " + std::strerror(errno));
  }

  // A FIFO: until a writer has written (POLLIN) or come and gone (POLLHUP),
  // or a stop signal (then give up: nothing was created yet).
  void wait_for_writer() {
    pollfd fds[2] = {{src_fd, POLLIN, 0}, {signal_fd, POLLIN, 0}};
    for (;;) {
      if (::poll(fds, 2, -1) < 0) {
        if (errno == EINTR) continue;
        cli::fail_errno("cp", "poll", errno);
      }
      if (fds[1].revents & POLLIN) {
        if (::read(signal_fd, &siginfo, sizeof siginfo) == static_cast<ssize_t>(sizeof siginfo)) {
          stop_signal = static_cast<int>(siginfo.ssi_signo);
          stopping = true;
          give_up();
        }
      }
      if (fds[0].revents != 0) return;
    }
  }

  // The ring, the signalfd READ, and with --registered the two tables.
  void set_up() {
    // mmap: a limit gives ENOMEM (a message), not an exception; no page is
    // touched before a READ fills it.
    const std::uint64_t bytes = depth * block;
    void* mapped = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mapped == MAP_FAILED) {
      const int error_number = errno;
      ::close(tmp_fd);
      if (!tmp_path.empty()) ::unlink(tmp_path.c_str());
      cli::fail_errno("cp", "cannot allocate " + std::to_string(bytes) + " bytes of buffers (--queue-depth x --block-size)",
                      error_number);
    }
    memory = static_cast<char*>(mapped);
    busy.assign(depth, 0);
    // Each slot has a pair in flight, or after a short READ a WRITE and a
    // new pair; room for that, the cancel and the final chain.
    auto made = uring::Ring::create({.entries = static_cast<unsigned>(4 * depth + 8)});
    if (!made) fatal(made.error().message);
    ring = std::move(*made);
    if (registered) {
      const int fds[] = {src_fd, tmp_fd};
      auto table = uring::FileTable::create(ring, fds);
      if (!table) fatal(table.error().message);
      files = std::move(*table);
      std::vector<iovec> slots(depth);
      for (unsigned i = 0; i < depth; ++i) slots[i] = {slot_memory(i), block};
      auto registered_buffers = uring::BufferTable::create(ring, slots);
      if (!registered_buffers) fatal(registered_buffers.error().message);
      buffers = std::move(*registered_buffers);
    }
    uring::prep_read(sqe(), signal_fd, &siginfo, sizeof siginfo, 0).set_user_data(kSignal);
    show_progress = progress && !stream && size >= kProgressFrom && ::isatty(STDERR_FILENO);
  }
};

}  // namespace

int main(int argc, char** argv) {
  Copy copy;
  bool no_fsync = false, no_progress = false;
  cli::Parser args("cp", kUsage);
  args.number("--queue-depth", &copy.depth, 1, 4096);
  args.number("--block-size", &copy.block, 512, 64 << 20);
  args.flag("--registered", &copy.registered);
  args.flag("--no-fsync", &no_fsync);
  args.flag("--no-progress", &no_progress);
  args.flag("--trace", &copy.trace);
  std::vector<std::string> paths = args.parse(argc, argv, 2, 2);
  if (copy.depth * copy.block > (1u << 30)) args.usage_error("queue depth x block size is more than 1G");
  copy.fsync = !no_fsync;
  copy.progress = !no_progress;
  copy.source = paths[0];
  copy.dest = paths[1];

  cli::keep_std_fds();  // before any open: no file of ours becomes fd 0, 1 or 2
  copy.signal_fd = cli::stop_signals_fd("cp");
  std::signal(SIGXFSZ, SIG_IGN);  // past RLIMIT_FSIZE a WRITE fails with EFBIG instead of killing cp
  copy.open_files();
  copy.set_up();
  copy.run();
  if (copy.stopping || !copy.error.empty()) copy.give_up();
  copy.draw_progress(true);
  copy.publish();
  ::close(copy.tmp_fd);
  return 0;
}
