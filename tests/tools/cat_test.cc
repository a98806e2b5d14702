// tools/cat end to end: the built binary prints files byte for byte (empty,
// 1 byte, 1 MiB + 3, a 1 GiB sparse file with data between its holes, stdin,
// through a one-page pipe that makes every write short), reports missing
// files and directories as coreutils' cat does while still printing the
// rest, dies quietly of SIGPIPE when its reader goes away, and ends with
// 128 + N on SIGINT/SIGTERM.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/test_support.h"
#include "tests/tools/tool_runner.h"

namespace {

std::string cat_path() { return tool_runner::tool_path("tools/cat/cat"); }

using tool_runner::read_until_end;
using tool_runner::wait_status;

std::string random_bytes(std::size_t n, unsigned seed) {
  std::mt19937 gen(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(gen());
  return s;
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(out.good());
}

}  // namespace

TEST_CASE("cat: --help prints the usage and exits 0; an unknown option prints it on stderr and exits 2") {
  tool_runner::Result help = tool_runner::run(cat_path(), {"--help"});
  CHECK(help.exit_code == 0);
  CHECK(help.out.find("usage: cat") == 0);
  tool_runner::Result bad = tool_runner::run(cat_path(), {"--frobnicate"});
  CHECK(bad.exit_code == 2);
  CHECK(bad.out.empty());
  CHECK(bad.err.find("cat: unknown option --frobnicate\nusage: cat") == 0);
  tool_runner::Result bad_number = tool_runner::run(cat_path(), {"--block-size", "0"});
  CHECK(bad_number.exit_code == 2);
  tool_runner::Result too_much = tool_runner::run(cat_path(), {"--block-size", "16M", "--blocks", "1024"});
  CHECK(too_much.exit_code == 2);
  CHECK(too_much.err.find("cat: --block-size x --blocks is more than 256M\nusage: cat") == 0);
}

TEST_CASE("cat: empty, 1-byte and 1 MiB + 3 files come out byte-identical, also with one-byte blocks") {
  uring::testing::TempDir dir;
  for (std::size_t size : {std::size_t{0}, std::size_t{1}, std::size_t{(1u << 20) + 3}}) {
    CAPTURE(size);
    const std::string path = dir.path() + "/f" + std::to_string(size);
    const std::string bytes = random_bytes(size, static_cast<unsigned>(size) + 1);
    write_file(path, bytes);
    tool_runner::Result r = tool_runner::run(cat_path(), {path});
    CHECK(r.exit_code == 0);
    CHECK(r.err.empty());
    CHECK(r.out.size() == bytes.size());
    CHECK(r.out == bytes);
  }
  // Blocks of 1 byte, 3 per READV: odd sizes cut every way.
  const std::string path = dir.path() + "/small";
  const std::string bytes = random_bytes(10007, 9);
  write_file(path, bytes);
  tool_runner::Result r = tool_runner::run(cat_path(), {"--block-size", "1", "--blocks", "3", path});
  CHECK(r.exit_code == 0);
  CHECK(r.out == bytes);
  // The same file twice: files follow each other.
  tool_runner::Result twice = tool_runner::run(cat_path(), {path, path});
  CHECK(twice.out == bytes + bytes);
}

TEST_CASE("cat: stdin when no file is named, and for '-' between files") {
  uring::testing::TempDir dir;
  const std::string input = random_bytes(300000, 3);
  tool_runner::Result r = tool_runner::run(cat_path(), {}, input);
  CHECK(r.exit_code == 0);
  CHECK(r.out == input);
  write_file(dir.path() + "/a", "first\n");
  write_file(dir.path() + "/b", "last\n");
  tool_runner::Result mixed = tool_runner::run(cat_path(), {dir.path() + "/a", "-", dir.path() + "/b"}, "middle\n");
  CHECK(mixed.exit_code == 0);
  CHECK(mixed.out == "first\nmiddle\nlast\n");
}

TEST_CASE("cat: a 1 GiB sparse file (data at both ends and between holes) streams out byte-identical") {
  uring::testing::TempDir dir;
  const std::string path = dir.path() + "/sparse";
  const std::uint64_t size = 1ull << 30;
  // Islands of data: at 0, inside, across a 64 KiB block boundary, and the last bytes.
  struct Island {
    std::uint64_t offset;
    std::string bytes;
  };
  const std::vector<Island> islands = {{0, random_bytes(5000, 11)},
                                       {(512ull << 20) + 12345, random_bytes(70000, 12)},
                                       {(768ull << 20) - 10, random_bytes(20, 13)},
                                       {size - 4097, random_bytes(4097, 14)}};
  {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    REQUIRE(fd >= 0);
    REQUIRE(::ftruncate(fd, static_cast<off_t>(size)) == 0);
    for (const Island& island : islands) {
      REQUIRE(::pwrite(fd, island.bytes.data(), island.bytes.size(), static_cast<off_t>(island.offset)) ==
              static_cast<ssize_t>(island.bytes.size()));
    }
    ::close(fd);
    struct stat st{};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    REQUIRE(static_cast<std::uint64_t>(st.st_blocks) * 512 < (16u << 20));  // it really is holes
  }
  int out[2];
  REQUIRE(::pipe2(out, O_CLOEXEC) == 0);
  const pid_t child = tool_runner::spawn(cat_path(), {path}, {-1, out[1], -1});
  ::close(out[1]);
  // Compare as it streams: each chunk against zeros with the islands laid over them.
  std::uint64_t offset = 0, mismatches = 0, first_mismatch = 0;
  std::vector<char> chunk(1 << 20), expected(1 << 20);
  for (;;) {
    pollfd pfd{out[0], POLLIN, 0};
    if (::poll(&pfd, 1, 30000) <= 0) break;  // bounded: 30 s without output ends the test
    const ssize_t got = ::read(out[0], chunk.data(), chunk.size());
    if (got <= 0) break;
    const std::uint64_t end = offset + static_cast<std::uint64_t>(got);
    std::memset(expected.data(), 0, static_cast<std::size_t>(got));
    for (const Island& island : islands) {
      const std::uint64_t from = std::max(offset, island.offset);
      const std::uint64_t to = std::min(end, island.offset + island.bytes.size());
      if (from < to) std::memcpy(&expected[from - offset], &island.bytes[from - island.offset], to - from);
    }
    if (std::memcmp(chunk.data(), expected.data(), static_cast<std::size_t>(got)) != 0 && mismatches++ == 0) {
      first_mismatch = offset;
    }
    offset = end;
  }
  ::close(out[0]);
  const int status = wait_status(child, 30);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(offset == size);
  CHECK_MESSAGE(mismatches == 0, "first wrong chunk at offset " << first_mismatch);
}

TEST_CASE("cat: through a one-page pipe every WRITEV is short, and all of it still arrives") {
  uring::testing::TempDir dir;
  const std::string path = dir.path() + "/f";
  const std::string bytes = random_bytes((1u << 20) + 3, 21);
  write_file(path, bytes);
  int out[2];
  REQUIRE(::pipe2(out, O_CLOEXEC) == 0);
  REQUIRE(::fcntl(out[1], F_SETPIPE_SZ, 4096) >= 4096);
  REQUIRE(::fcntl(out[1], F_GETPIPE_SZ) == 4096);
  const pid_t child = tool_runner::spawn(cat_path(), {path}, {-1, out[1], -1});
  ::close(out[1]);
  const std::string got = read_until_end(out[0], 30);
  ::close(out[0]);
  const int status = wait_status(child, 30);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(got.size() == bytes.size());
  CHECK(got == bytes);
}

TEST_CASE("cat: a missing file and a directory are named on stderr, the others still printed, exit 1") {
  uring::testing::TempDir dir;
  write_file(dir.path() + "/a", "AAA");
  write_file(dir.path() + "/b", "BBB");
  const std::string missing = dir.path() + "/missing";
  tool_runner::Result r = tool_runner::run(cat_path(), {missing});
  CHECK(r.exit_code == 1);
  CHECK(r.out.empty());
  CHECK(r.err == "cat: " + missing + ": No such file or directory\n");

  tool_runner::Result mixed =
      tool_runner::run(cat_path(), {dir.path() + "/a", missing, dir.path(), dir.path() + "/b"});
  CHECK(mixed.exit_code == 1);
  CHECK(mixed.out == "AAABBB");
  CHECK(mixed.err == "cat: " + missing + ": No such file or directory\ncat: " + dir.path() + ": Is a directory\n");

}

TEST_CASE("cat: an unreadable file is named (Permission denied), the next one still printed, exit 1") {
  // Root passes permission checks through CAP_DAC_OVERRIDE/CAP_DAC_READ_SEARCH:
  // dropped from the bounding set before exec, cat runs without them.
  if (!tool_runner::can_drop_dac_capabilities()) {
    URING_SKIP("no CAP_SETPCAP: cannot drop CAP_DAC_OVERRIDE from cat's bounding set");
  }
  uring::testing::TempDir dir;
  const std::string closed = dir.path() + "/closed";
  write_file(closed, "secret");
  REQUIRE(::chmod(closed.c_str(), 0) == 0);
  write_file(dir.path() + "/open", "public");
  const tool_runner::Result r =
      tool_runner::run(cat_path(), {closed, dir.path() + "/open"}, "", 30, tool_runner::drop_dac_capabilities);
  CHECK(r.exited);
  CHECK(r.exit_code == 1);
  CHECK(r.out == "public");
  CHECK(r.err == "cat: " + closed + ": Permission denied\n");
}

TEST_CASE("cat: stdout's reader gone (EPIPE): cat dies of SIGPIPE as coreutils' cat does, printing nothing") {
  uring::testing::TempDir dir;
  const std::string path = dir.path() + "/f";
  write_file(path, random_bytes(1 << 20, 31));
  int out[2], err[2];
  REQUIRE(::pipe2(out, O_CLOEXEC) == 0);
  REQUIRE(::pipe2(err, O_CLOEXEC) == 0);
  ::close(out[0]);  // no reader at all: the first WRITEV gets -EPIPE
  const pid_t child = tool_runner::spawn(cat_path(), {path}, {-1, out[1], err[1]});
  ::close(out[1]);
  ::close(err[1]);
  const std::string messages = read_until_end(err[0], 30);
  ::close(err[0]);
  const int status = wait_status(child, 30);
  CHECK(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGPIPE);
  CHECK(messages.empty());
}

TEST_CASE("cat: SIGINT and SIGTERM while it waits on stdin end it with 128 + N and one line of totals") {
  for (int sig : {SIGINT, SIGTERM}) {
    CAPTURE(sig);
    int in[2], out[2], err[2];
    REQUIRE(::pipe2(in, O_CLOEXEC) == 0);
    REQUIRE(::pipe2(out, O_CLOEXEC) == 0);
    REQUIRE(::pipe2(err, O_CLOEXEC) == 0);
    const pid_t child = tool_runner::spawn(cat_path(), {}, {in[0], out[1], err[1]});
    ::close(in[0]);
    ::close(out[1]);
    ::close(err[1]);
    // Something goes through first: cat is running its loop.
    REQUIRE(::write(in[1], "ping\n", 5) == 5);
    std::string got;
    char chunk[16];
    for (int i = 0; i < 100 && got.size() < 5; ++i) {
      pollfd pfd{out[0], POLLIN, 0};
      if (::poll(&pfd, 1, 100) == 1) {
        const ssize_t n = ::read(out[0], chunk, sizeof chunk);
        if (n > 0) got.append(chunk, static_cast<std::size_t>(n));
      }
    }
    REQUIRE(got == "ping\n");
    // Then it waits for more: the signals are blocked (a signalfd takes them)
    // and it sleeps in io_uring_enter.
    CHECK(tool_runner::ready_for_stop_signals(child, /*in_io_uring_enter=*/true));
    REQUIRE(::kill(child, sig) == 0);
    const int status = wait_status(child, 10);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 128 + sig);
    // One line of totals: the 5 bytes printed before the signal.
    CHECK(read_until_end(err[0], 30) == std::string("cat: stopped by ") + (sig == SIGINT ? "SIGINT" : "SIGTERM") +
                                  " after 5 bytes\n");
    CHECK(read_until_end(out[0], 30).empty());
    for (int fd : {in[1], out[0], err[0]}) ::close(fd);
  }
}

TEST_CASE("cat: stdout closed gives 'write error: Bad file descriptor'; stdin closed, '-' is a read error; SIGTERM still ends it") {
  uring::testing::TempDir dir;
  const std::string path = dir.path() + "/f";
  write_file(path, "hello\n");
  const tool_runner::Result no_stdout = tool_runner::run(cat_path(), {path}, "", 30, [] { ::close(1); });
  CHECK(no_stdout.exited);
  CHECK(no_stdout.exit_code == 1);
  CHECK(no_stdout.err == "cat: write error: Bad file descriptor\n");

  const tool_runner::Result no_stdin = tool_runner::run(cat_path(), {"-", path}, "", 30, [] { ::close(0); });
  CHECK(no_stdin.exited);
  CHECK(no_stdin.exit_code == 1);
  CHECK(no_stdin.err == "cat: -: Bad file descriptor\n");
  CHECK(no_stdin.out == "hello\n");  // the file after '-' is still printed

  // stdin closed, waiting on a FIFO nobody writes: SIGTERM ends it (before,
  // its signalfd was fd 0 and cat read the SIGTERM as data).
  const std::string fifo = dir.path() + "/p";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  const pid_t child = tool_runner::spawn(cat_path(), {fifo}, {}, [] { ::close(0); });
  ::usleep(200000);
  REQUIRE(::kill(child, SIGTERM) == 0);
  const int status = wait_status(child, 10);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 128 + SIGTERM);
}

TEST_CASE("cat: a FIFO with no writer: SIGINT and SIGTERM end the wait for one; a writer that comes is printed") {
  uring::testing::TempDir dir;
  const std::string fifo = dir.path() + "/p";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  for (int sig : {SIGINT, SIGTERM}) {
    CAPTURE(sig);
    int err[2];
    REQUIRE(::pipe2(err, O_CLOEXEC) == 0);
    const pid_t child = tool_runner::spawn(cat_path(), {fifo}, {-1, -1, err[1]});
    ::close(err[1]);
    CHECK(tool_runner::ready_for_stop_signals(child, /*in_io_uring_enter=*/false));
    ::usleep(100000);
    REQUIRE(::kill(child, sig) == 0);
    const int status = wait_status(child, 10);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 128 + sig);
    CHECK(read_until_end(err[0], 30) == std::string("cat: stopped by ") + (sig == SIGINT ? "SIGINT" : "SIGTERM") +
                                  " after 0 bytes\n");
    ::close(err[0]);
  }
  int out[2];
  REQUIRE(::pipe2(out, O_CLOEXEC) == 0);
  const pid_t child = tool_runner::spawn(cat_path(), {fifo}, {-1, out[1], -1});
  ::close(out[1]);
  ::usleep(200000);
  const int writer = ::open(fifo.c_str(), O_WRONLY | O_CLOEXEC);
  REQUIRE(writer >= 0);
  REQUIRE(::write(writer, "late\n", 5) == 5);
  ::close(writer);
  CHECK(read_until_end(out[0], 30) == "late\n");
  ::close(out[0]);
  const int status = wait_status(child, 10);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("cat: 'cat f >> f' is refused (input file is output file), the other files still printed, exit 1") {
  uring::testing::TempDir dir;
  const std::string f = dir.path() + "/f", g = dir.path() + "/g";
  write_file(f, "ff\n");
  write_file(g, "gg\n");
  for (const int flags : {O_WRONLY | O_APPEND, O_RDWR}) {
    CAPTURE(flags);
    write_file(f, "ff\n");
    const int out = ::open(f.c_str(), flags | O_CLOEXEC);
    REQUIRE(out >= 0);  // O_RDWR: offset 0 < size, the same loop
    int err[2];
    REQUIRE(::pipe2(err, O_CLOEXEC) == 0);
    const pid_t child = tool_runner::spawn(cat_path(), {f, g}, {-1, out, err[1]});
    ::close(out);
    ::close(err[1]);
    const std::string messages = read_until_end(err[0], 30);
    ::close(err[0]);
    const int status = wait_status(child, 10);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 1);
    CHECK(messages == "cat: " + f + ": input file is output file\n");
    std::ifstream in(f, std::ios::binary);
    std::stringstream got;
    got << in.rdbuf();
    CHECK(got.str() == (flags & O_APPEND ? "ff\ngg\n" : "gg\n"));
  }
}

TEST_CASE("cat: buffers it cannot allocate are a 'cat: cannot allocate' line and exit 1, not an abort") {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  MESSAGE("skipped under ASan and TSan: RLIMIT_AS cannot hold the sanitizer's shadow memory");
#else
  uring::testing::TempDir dir;
  const std::string f = dir.path() + "/f";
  write_file(f, "x\n");
  const tool_runner::Result r =
      tool_runner::run(cat_path(), {"--block-size", "16M", "--blocks", "16", f}, "", 30, [] {
        const rlimit limit{200u << 20, 200u << 20};
        ::setrlimit(RLIMIT_AS, &limit);
      });
  CHECK(r.exited);
  CHECK(r.exit_code == 1);
  CHECK(r.err ==
        "cat: cannot allocate 268435456 bytes of buffers (--block-size x --blocks): Cannot allocate memory\n");
#endif
}
