// tools/cat: print files, the classic first io_uring program.
//
//   cat [--block-size N] [--blocks N] [FILE...]      (no FILE, or "-": stdin)
//
// What it shows: vectored I/O through the ring. Each file is read with
// IORING_OP_READV into an array of iovecs, one iovec per block (--blocks of
// --block-size bytes each, 16 x 64 KiB by default), and what came back is
// written to stdout with IORING_OP_WRITEV from the same iovecs, the last one
// trimmed to the bytes read. One request is in flight at a time, plus a READ
// on a signalfd so that SIGINT/SIGTERM end the wait; the whole program is
// "fill an SQE, submit, wait for its CQE, look at cqe->res".
//
// Both use offset -1 (uring::kCurrentPosition): the kernel then reads and
// advances the file position as readv(2) and writev(2) do, so stdin may be a
// pipe, a terminal or a file opened at any position, and stdout a pipe or a
// file (O_APPEND included). On a pipe or socket the kernel ignores offsets
// anyway (FMODE_STREAM).
//
// What the kernel can answer, and what cat does with it:
//   READV res > 0    bytes read into the first blocks: write them out;
//   READV res == 0   end of file: next file;
//   READV res < 0    -errno: "cat: NAME: strerror" (a directory gives
//                    -EISDIR: "cat: NAME: Is a directory"), the other files
//                    are still printed, and cat exits 1 at the end, as
//                    coreutils' cat does;
//   WRITEV res < n   a short write (a pipe, a signal, a full disk): write the
//                    rest, moving the iovecs past what went out;
//   WRITEV -EPIPE    the reader of stdout went away. SIGPIPE is ignored so
//                    that the ring gets to say so; cat then ends silently,
//                    killed by SIGPIPE as coreutils' cat would be (the shell
//                    sees status 141, nothing is printed);
//   WRITEV other     "cat: write error: strerror", exit 1.
// SIGINT or SIGTERM: the request in flight is cancelled (ASYNC_CANCEL), cat
// prints its totals ("cat: stopped by SIGTERM after N bytes", the bytes
// written to stdout) and exits with 128 + the signal number.
//
// Also as coreutils' cat: a FILE that is stdout itself (`cat f >> f`, which
// would grow f for ever) is refused with "cat: f: input file is output
// file". A FIFO is opened with O_NONBLOCK (a blocking open(2) would wait for
// a writer where no signal can end it: they are blocked) and then waited for
// with a POLL_ADD on the ring, beside the signalfd READ.
#include <fcntl.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/signalfd.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "tools/common/cli.h"
#include "uring/uring.h"

namespace {

constexpr const char* kUsage =
    "usage: cat [--block-size N] [--blocks N] [FILE...]\n"
    "Prints each FILE (stdin when there is none, or for \"-\") on stdout, reading\n"
    "with io_uring READV (one iovec per block) and writing with WRITEV.\n"
    "  --block-size N  bytes per block (1..16M, K/M suffixes; default 64K)\n"
    "  --blocks N      blocks (iovecs) per READV (1..1024; default 16);\n"
    "                  block size x blocks is at most 256M\n";

// user_data of the two kinds of request.
constexpr std::uint64_t kIo = 1;      // the READV or WRITEV in flight
constexpr std::uint64_t kSignal = 2;  // the READ on the signalfd

struct Cat {
  uring::Ring ring;
  int signal_fd = -1;
  signalfd_siginfo siginfo{};
  std::uint64_t written = 0;  // bytes written to stdout, for the totals line

  // Takes an SQE; the SQ holds at most two requests here, so there is one.
  uring::Sqe& sqe() {
    uring::Sqe* sqe = ring.get_sqe();
    if (sqe == nullptr) cli::fail("cat", "the submission queue is full (a bug)");
    return *sqe;
  }

  // Submits the request just prepared (user_data kIo) and waits for its CQE,
  // watching the signalfd meanwhile. Returns cqe->res.
  int run() {
    for (;;) {
      if (int rc = ring.submit_and_wait(1); rc < 0 && rc != -EINTR) cli::fail_errno("cat", "io_uring_enter", rc);
      uring::Cqe* cqe = ring.peek_cqe();
      if (cqe == nullptr) continue;
      const std::uint64_t what = cqe->data();
      const int res = cqe->result();
      ring.cqe_seen(cqe);
      if (what == kIo) return res;
      if (what == kSignal) stop();
    }
  }

  // A stop signal arrived: cancel the request in flight, wait for it to end,
  // and exit with 128 + the signal number.
  [[noreturn]] void stop() {
    uring::prep_cancel(sqe(), kIo).set_user_data(std::uint64_t{0});
    for (bool io_done = false; !io_done;) {
      if (int rc = ring.submit_and_wait(1); rc < 0 && rc != -EINTR) break;
      while (uring::Cqe* cqe = ring.peek_cqe()) {
        io_done = io_done || cqe->data() == kIo;
        ring.cqe_seen(cqe);
      }
    }
    const int sig = static_cast<int>(siginfo.ssi_signo);
    std::fprintf(stderr, "cat: stopped by %s after %llu bytes\n", sig == SIGINT ? "SIGINT" : "SIGTERM",
                 static_cast<unsigned long long>(written));
    std::exit(128 + sig);
  }

  // Writes the first `bytes` bytes held by `blocks` to stdout, however many
  // WRITEVs that takes.
  void write_out(std::vector<iovec> blocks, std::size_t bytes) {
    // The iovecs to write: the full blocks, then the last one trimmed.
    std::size_t count = 0;
    for (std::size_t left = bytes; left > 0; ++count) {
      if (blocks[count].iov_len > left) blocks[count].iov_len = left;
      left -= blocks[count].iov_len;
    }
    iovec* first = blocks.data();
    while (bytes > 0) {
      uring::prep_writev(sqe(), STDOUT_FILENO, first, static_cast<unsigned>(count), uring::kCurrentPosition)
          .set_user_data(kIo);
      const int res = run();
      if (res == -EPIPE) {
        // Nobody reads stdout any more: end as coreutils' cat does by default.
        std::signal(SIGPIPE, SIG_DFL);
        std::raise(SIGPIPE);
      }
      if (res < 0) cli::fail_errno("cat", "write error", res);
      if (res == 0) cli::fail("cat", "write error: stdout accepted no bytes");
      // A short write: step over the iovecs (and part of one) that went out.
      bytes -= static_cast<std::size_t>(res);
      written += static_cast<std::uint64_t>(res);
      for (std::size_t done = static_cast<std::size_t>(res); done > 0;) {
        if (first->iov_len <= done) {
          done -= first->iov_len;
          ++first;
          --count;
        } else {
          first->iov_base = static_cast<char*>(first->iov_base) + done;
          first->iov_len -= done;
          done = 0;
        }
      }
    }
  }

  // Opens FILE for print(). A FIFO with no writer would block open(2), so
  // it is opened O_NONBLOCK and waited for on the ring (POLL_ADD, ended by a
  // stop signal too); then O_NONBLOCK is cleared: READV waits for data as
  // read(2) would. -errno on failure.
  int open_input(const std::string& name) {
    const int fd = ::open(name.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return -errno;
    struct stat st{};
    if (::fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode)) {
      uring::prep_poll_add(sqe(), fd, POLLIN).set_user_data(kIo);
      if (const int res = run(); res < 0) {
        ::close(fd);
        return res;
      }
    }
    if (const int flags = ::fcntl(fd, F_GETFL); flags < 0 || ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0) {
      const int error = errno;
      ::close(fd);
      return -error;
    }
    return fd;
  }

  // Prints `fd` (named `name` in messages) to its end. False after an error.
  bool print(int fd, const std::string& name, const std::vector<iovec>& blocks) {
    for (;;) {
      uring::prep_readv(sqe(), fd, blocks.data(), static_cast<unsigned>(blocks.size()), uring::kCurrentPosition)
          .set_user_data(kIo);
      const int res = run();
      if (res == 0) return true;  // end of file
      if (res < 0) {
        std::fprintf(stderr, "cat: %s: %s\n", name.c_str(), std::strerror(-res));
        return false;
      }
      write_out(blocks, static_cast<std::size_t>(res));
    }
  }
};

}  // namespace

int main(int argc, char** argv) {
  cli::Parser args("cat", kUsage);
  std::uint64_t block_size = 64 << 10;
  std::uint64_t block_count = 16;
  args.number("--block-size", &block_size, 1, 16 << 20);
  args.number("--blocks", &block_count, 1, 1024);  // UIO_MAXIOV
  std::vector<std::string> files = args.parse(argc, argv, 0, SIZE_MAX);
  if (block_size * block_count > (256u << 20)) args.usage_error("--block-size x --blocks is more than 256M");
  if (files.empty()) files.push_back("-");

  cli::keep_std_fds();  // `cat <&-`: no file of ours may become fd 0, 1 or 2
  Cat cat;
  cat.signal_fd = cli::stop_signals_fd("cat");
  std::signal(SIGPIPE, SIG_IGN);  // a closed stdout shows up as -EPIPE in the CQE
  auto ring = uring::Ring::create({.entries = 4});
  if (!ring) cli::fail("cat", ring.error().message);
  cat.ring = std::move(*ring);

  // The READ on the signalfd stays in flight for the whole run.
  uring::prep_read(cat.sqe(), cat.signal_fd, &cat.siginfo, sizeof cat.siginfo, 0).set_user_data(kSignal);

  // One buffer, cut into the blocks the iovecs point at: mmap, which says
  // ENOMEM under a memory limit instead of throwing, and touches no page.
  const std::size_t bytes = block_size * block_count;
  void* mapped = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mapped == MAP_FAILED) {
    cli::fail_errno("cat", "cannot allocate " + std::to_string(bytes) + " bytes of buffers (--block-size x --blocks)",
                    errno);
  }
  char* memory = static_cast<char*>(mapped);
  std::vector<iovec> blocks(block_count);
  for (std::size_t i = 0; i < blocks.size(); ++i) blocks[i] = {memory + i * block_size, block_size};

  // stdout, to refuse a FILE that is stdout itself (coreutils' rule: a
  // regular file, appended to or with data after its offset).
  struct stat out_st{};
  const bool out_regular = ::fstat(STDOUT_FILENO, &out_st) == 0 && S_ISREG(out_st.st_mode);
  const int out_flags = ::fcntl(STDOUT_FILENO, F_GETFL);

  int status = 0;
  for (const std::string& name : files) {
    const bool is_stdin = name == "-";
    const int fd = is_stdin ? STDIN_FILENO : cat.open_input(name);
    if (fd < 0) {
      std::fprintf(stderr, "cat: %s: %s\n", name.c_str(), std::strerror(-fd));
      status = 1;
      continue;
    }
    struct stat in_st{};
    if (out_regular && ::fstat(fd, &in_st) == 0 && in_st.st_dev == out_st.st_dev && in_st.st_ino == out_st.st_ino) {
      const off_t out_at = ::lseek(STDOUT_FILENO, 0, SEEK_CUR);
      if ((out_flags >= 0 && (out_flags & O_APPEND)) || (out_at >= 0 && out_at < in_st.st_size)) {
        std::fprintf(stderr, "cat: %s: input file is output file\n", name.c_str());
        status = 1;
        if (!is_stdin) ::close(fd);
        continue;
      }
    }
    if (!cat.print(fd, name, blocks)) status = 1;
    if (!is_stdin) ::close(fd);
  }
  return status;
}
