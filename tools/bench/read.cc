// bench read: 4 KiB random reads from a file in the page cache (default
// 1 GiB), at a queue depth of QD reads in flight, for --seconds per
// repetition. Each read must return 4096 bytes.
//
// Setups: pread (a plain pread(2) loop, one read at a time: the synchronous
// baseline), plain (READ on the file's fd), fixed (the file registered and
// the buffers registered: READ_FIXED on a fixed file), sqpoll (fixed, and an
// SQPOLL thread submits; the loop waits in the kernel for completions),
// sqpoll-spin (the same, reaping by watching the CQ from user space first:
// WaitOptions::spin, as fio's SQPOLL engine reaps); and fio's io_uring
// engine at the same depth and block size in the same run: fio (plain),
// fio-fixed (--registerfiles
// --fixedbufs), fio-sqpoll (those and --sqthread_poll), fio-psync
// (--ioengine=psync). fio runs --seconds too (whole seconds, at least 1)
// with --invalidate=0, so it reads from the page cache as we do.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "tools/bench/bench.h"
#include "tools/common/cli.h"
#include "uring/uring.h"

namespace bench {
namespace {

const char* kUsage =
    "usage: bench read [--qd 1,32,128] [--seconds S] [--reps N] [--setup LIST] [--file PATH] [--size N] [--json]\n"
    "  --qd LIST     reads in flight, comma-separated (1..4096)\n"
    "  --seconds S   seconds per repetition of each setup (default 2)\n"
    "  --reps N      repetitions, interleaved across setups (default 3)\n"
    "  --setup LIST  comma-separated (default: pread,plain,fixed); the first is the baseline:\n"
    "                pread plain fixed sqpoll sqpoll-spin fio fio-fixed fio-sqpoll fio-psync\n"
    "  --file PATH   the file to read (default /tmp/uring-bench-read.dat; made, and filled, when\n"
    "                missing or smaller than --size)\n"
    "  --size N      its size (default 1G; K/M/G suffixes)\n"
    "  --json        one JSON document instead of lines\n";

constexpr unsigned kBlock = 4096;

// xorshift64*: cheap random block numbers, the same sequence every run.
struct Random {
  std::uint64_t state = 0x9e3779b97f4a7c15ull;
  std::uint64_t next() {
    state ^= state >> 12;
    state ^= state << 25;
    state ^= state >> 27;
    return state * 0x2545f4914f6cdd1dull;
  }
};

// Makes `path` at least `size` bytes of data (not holes: a hole reads
// zeroes without the page cache) and reads it once, so it sits in the page
// cache. Returns an O_RDONLY fd, or exits with a message.
int prepare_file(const std::string& path, std::uint64_t size) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || static_cast<std::uint64_t>(st.st_size) < size ||
      static_cast<std::uint64_t>(st.st_blocks) * 512 < size) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) cli::fail_errno("bench", path, errno);
    std::vector<unsigned char> chunk(1 << 20);
    for (std::size_t i = 0; i < chunk.size(); ++i) chunk[i] = static_cast<unsigned char>(i * 131 + 7);
    for (std::uint64_t done = 0; done < size;) {
      const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(chunk.size(), size - done));
      const ssize_t put = ::write(fd, chunk.data(), n);
      if (put <= 0) cli::fail_errno("bench", "writing " + path, put < 0 ? errno : ENOSPC);
      done += static_cast<std::uint64_t>(put);
    }
    ::close(fd);
  }
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) cli::fail_errno("bench", path, errno);
  std::vector<unsigned char> chunk(1 << 20);
  for (std::uint64_t offset = 0; offset < size; offset += chunk.size()) {
    if (::pread(fd, chunk.data(), chunk.size(), static_cast<off_t>(offset)) < 0) cli::fail_errno("bench", path, errno);
  }
  return fd;
}

struct Target {
  int fd = -1;
  std::string path;
  std::uint64_t blocks = 0;  // the file's size in 4 KiB blocks
  double seconds = 2;
};

Sample run_pread(const Target& target) {
  alignas(4096) static unsigned char buffer[kBlock];
  Random random;
  std::uint64_t done = 0;
  const Timer timer;
  for (;;) {
    for (int i = 0; i < 256; ++i, ++done) {
      const off_t offset = static_cast<off_t>(random.next() % target.blocks * kBlock);
      if (::pread(target.fd, buffer, kBlock, offset) != kBlock) return failed("pread: a short read or an error");
    }
    if (timer.seconds() >= target.seconds) break;
  }
  return timer.stop(static_cast<double>(done));
}

// QD reads in flight on a ring: each completion queues the next read into
// the same buffer slot (user_data = slot), one submit-and-wait per round of
// completions; after --seconds no new reads, the rest are reaped.
Sample run_ring(const Target& target, unsigned qd, bool fixed, bool sqpoll, bool spin = false) {
  uring::RingOptions options;
  options.entries = qd;
  options.sqpoll = sqpoll;
  options.sqpoll_idle_ms = sqpoll ? 1000 : 0;
  auto created = uring::Ring::create(options);
  if (!created) return failed(created.error().message);
  uring::Ring& ring = *created;
  // Page-aligned buffers (std::free matches std::aligned_alloc).
  std::unique_ptr<unsigned char, void (*)(void*)> memory(
      static_cast<unsigned char*>(std::aligned_alloc(4096, std::size_t{qd} * kBlock)), std::free);
  if (!memory) return failed("could not allocate the read buffers");
  uring::FileTable files;
  uring::BufferTable buffers;
  if (fixed) {
    auto file_table = uring::FileTable::create(ring, std::span<const int>(&target.fd, 1));
    if (!file_table) return failed(file_table.error().message);
    files = std::move(*file_table);
    const iovec region{memory.get(), std::size_t{qd} * kBlock};
    auto buffer_table = uring::BufferTable::create(ring, std::span<const iovec>(&region, 1));
    if (!buffer_table) return failed(buffer_table.error().message);
    buffers = std::move(*buffer_table);
  }
  Random random;
  // Queues a read into `slot`. The SQ has room for every slot, but on SQPOLL
  // the poller posts a batch's CQEs before it moves the SQ head past the
  // batch, so right after a reap the SQ can look full for a moment: wait.
  auto queue_read = [&](unsigned slot) -> bool {
    unsigned char* buf = memory.get() + std::size_t{slot} * kBlock;
    const std::uint64_t offset = random.next() % target.blocks * kBlock;
    for (int attempt = 0; attempt < 2; ++attempt) {
      if (attempt > 0 && ring.wait_for_sq_space() < 0) return false;
      if (fixed) {
        auto prepared = buffers.read_fixed(uring::FixedFile(0), buf, kBlock, offset, uring::FixedBuffer(0));
        if (!prepared) continue;  // EBUSY: the SQ is full
        (*prepared)->set_user_data(slot);
        return true;
      }
      uring::Sqe* sqe = ring.get_sqe();
      if (sqe == nullptr) continue;
      uring::prep_read(*sqe, target.fd, buf, kBlock, offset).set_user_data(slot);
      return true;
    }
    return false;
  };
  for (unsigned slot = 0; slot < qd; ++slot) {
    if (!queue_read(slot)) return failed("could not queue the first reads");
  }
  std::uint64_t done = 0;
  unsigned in_flight = qd;
  bool stopping = false, bad = false;
  const Timer timer;
  Sample sample;
  std::vector<unsigned> free_slots;
  free_slots.reserve(qd);
  uring::WaitOptions wait;
  if (spin) wait.spin = std::chrono::milliseconds(10);  // ends as soon as a CQE is there
  while (in_flight > 0) {
    if ((spin ? ring.submit_and_wait(1, wait) : ring.submit_and_wait(1)) < 0) return failed("submit_and_wait failed");
    ring.for_each_cqe([&](const uring::Cqe& cqe) {
      if (cqe.result() != static_cast<int>(kBlock)) bad = true;
      --in_flight;
      if (!stopping) {
        ++done;
        free_slots.push_back(static_cast<unsigned>(cqe.data()));
      }
    });
    // The next reads, once the CQEs are reaped (queue_read may submit).
    for (unsigned slot : free_slots) {
      if (queue_read(slot)) ++in_flight;
      else bad = true;
    }
    free_slots.clear();
    if (bad) break;
    if (!stopping && (done & 255) < qd && timer.seconds() >= target.seconds) {
      stopping = true;
      sample = timer.stop(static_cast<double>(done));
    }
  }
  if (bad) {
    while (in_flight > 0 && ring.wait_cqes(1) >= 0) in_flight -= ring.for_each_cqe([](const uring::Cqe&) {});
    return failed("a read returned other than 4096 bytes, or the SQ was full");
  }
  return sample;
}

// fio at the same depth, block size and duration; its IOPS and CPU time.
Sample run_fio(const Target& target, const std::string& setup, unsigned qd) {
  std::string engine = "--ioengine=io_uring --iodepth=" + std::to_string(qd);
  if (setup == "fio-fixed") engine += " --registerfiles=1 --fixedbufs=1";
  if (setup == "fio-sqpoll") engine += " --registerfiles=1 --fixedbufs=1 --sqthread_poll=1";
  if (setup == "fio-psync") engine = "--ioengine=psync";
  const long seconds = std::max(1L, static_cast<long>(target.seconds + 0.5));
  const std::string command = "fio --name=read --filename='" + target.path + "' --rw=randread --bs=4k --size=" +
                              std::to_string(target.blocks * kBlock) + " " + engine +
                              " --invalidate=0 --direct=0 --norandommap --randrepeat=0 --time_based --runtime=" +
                              std::to_string(seconds) + " --output-format=json 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return failed("could not run fio");
  std::string output;
  char chunk[4096];
  for (std::size_t got; (got = std::fread(chunk, 1, sizeof chunk, pipe)) > 0;) output.append(chunk, got);
  const int status = ::pclose(pipe);
  if (status != 0) {
    if (output.find("not found") != std::string::npos)
      return failed("fio is not installed (apt-get install fio, or run tools/bench/run_all.sh)");
    return failed("fio failed: " + output.substr(0, 300));
  }
  // fio's JSON: jobs[0].read.iops, jobs[0].usr_cpu / sys_cpu (percent of
  // the run), job_runtime (ms).
  auto number_after = [&](const std::string& key, std::size_t from) -> double {
    const std::size_t at = output.find("\"" + key + "\"", from);
    if (at == std::string::npos) return -1;
    const std::size_t colon = output.find(':', at);
    return std::strtod(output.c_str() + colon + 1, nullptr);
  };
  const std::size_t read_at = output.find("\"read\"");
  if (read_at == std::string::npos) return failed("fio printed no read results: " + output.substr(0, 300));
  const double iops = number_after("iops", read_at);
  const double runtime_ms = number_after("job_runtime", 0);
  const double usr = number_after("usr_cpu", 0), sys = number_after("sys_cpu", 0);
  if (iops <= 0 || runtime_ms <= 0) return failed("fio's output had no IOPS");
  Sample sample;
  sample.ok = true;
  sample.mops = iops / 1e6;
  sample.ns_per_op = 1e9 / iops;
  sample.user_ns_per_op = usr / 100 * 1e9 / iops;  // fio's CPU share of one CPU per read
  sample.sys_ns_per_op = sys / 100 * 1e9 / iops;
  return sample;
}

Sample run_read(const Target& target, const std::string& setup, unsigned qd) {
  if (setup == "pread") return run_pread(target);
  if (setup == "plain") return run_ring(target, qd, false, false);
  if (setup == "fixed") return run_ring(target, qd, true, false);
  if (setup == "sqpoll") return run_ring(target, qd, true, true);
  if (setup == "sqpoll-spin") return run_ring(target, qd, true, true, /*spin=*/true);
  if (setup.rfind("fio", 0) == 0 &&
      (setup == "fio" || setup == "fio-fixed" || setup == "fio-sqpoll" || setup == "fio-psync")) {
    return run_fio(target, setup, qd);
  }
  return failed("unknown setup " + setup + "; known: pread plain fixed sqpoll sqpoll-spin fio fio-fixed fio-sqpoll fio-psync");
}

}  // namespace

int read_main(int argc, char** argv) {
  cli::Parser parser("bench", kUsage);
  std::string qd_list = "1,32,128", setup_list = "pread,plain,fixed", seconds_text = "2";
  std::uint64_t reps = 3, size = 1ull << 30;
  Target target;
  target.path = "/tmp/uring-bench-read.dat";
  bool json = false;
  parser.text("--qd", &qd_list);
  parser.text("--seconds", &seconds_text);
  parser.number("--reps", &reps, 1, 1000);
  parser.text("--setup", &setup_list);
  parser.text("--file", &target.path);
  parser.number("--size", &size, kBlock, 1ull << 40);
  parser.flag("--json", &json);
  parser.parse(argc, argv, 0, 0);
  char* end = nullptr;
  target.seconds = std::strtod(seconds_text.c_str(), &end);
  if (*end != '\0' || !(target.seconds > 0 && target.seconds <= 3600))
    parser.usage_error("--seconds takes a number of seconds in (0, 3600], not '" + seconds_text + "'");
  std::vector<unsigned> depths;
  for (const std::string& q : split(qd_list)) {
    const unsigned long value = std::strtoul(q.c_str(), &end, 10);
    if (*end != '\0' || value == 0 || value > 4096) parser.usage_error("queue depths must be 1..4096, not '" + q + "'");
    depths.push_back(static_cast<unsigned>(value));
  }
  const std::vector<std::string> setups = split(setup_list);
  if (depths.empty() || setups.empty()) parser.usage_error("--qd and --setup need at least one value");
  target.fd = prepare_file(target.path, size);
  target.blocks = size / kBlock;
  const Table table{"read", "qd", "kiops", 1000};
  const int failures = run_interleaved(table, depths, setups, static_cast<unsigned>(reps), json,
                                       [&](const std::string& setup, unsigned qd) { return run_read(target, setup, qd); });
  ::close(target.fd);
  return failures ? 1 : 0;
}

}  // namespace bench
