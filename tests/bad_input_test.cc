// The bad-input table (README "Bad input: what you get"): one test case per
// row, each named "bad input: <row>". Each one makes the mistake, checks the
// exact answer (the CQE's res and user_data, or the error code and that the
// message says what to do), then that the ring still works (a NOP round
// trip, nothing else in the CQ) and that nothing leaked (fds, mappings).
// The last case checks that every test the README's table names exists.
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/kernel_features.h"
#include "tests/support/test_support.h"
#include "uring/uring.h"

using namespace uring;
using namespace uring::testing;

namespace {

// What a test case starts with, and must end with again.
struct Baseline {
  int fds = open_fd_count();
  MappingSnapshot maps;
  void check_nothing_left() const {
    CHECK(open_fd_count() == fds);
    CHECK(MappingSnapshot() == maps);
  }
};

Ring make(const RingOptions& options) {
  auto ring = create_ring(options);
  REQUIRE_MESSAGE(ring.ok(), ring.error().message);
  return std::move(*ring);
}

Ring make(unsigned entries = 16, unsigned cq_entries = 0) {
  RingOptions options;
  options.entries = entries;
  options.cq_entries = cq_entries;
  return make(options);
}

// The ring still works after the misuse: a NOP comes back with its
// user_data and result 0, and nothing else is in the CQ.
void nop_round_trip(Ring& ring, std::uint64_t user_data = 0x4e4f50) {
  prep_nop(next_sqe(ring)).set_user_data(user_data);
  const Cqe done = reap_one(ring);
  CHECK(done.user_data == user_data);
  CHECK(done.res == 0);
  CHECK(ring.peek_cqe() == nullptr);
  // An SQPOLL poller moves the SQ head at the end of its pass, which can
  // come after the CQE: give it a moment (seen once under load).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (ring.sq_pending() != 0 && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
  CHECK(ring.sq_pending() == 0);
}

// The frame of most cases: `body` misuses a fresh ring made with `options`
// (or make(entries, cq_entries)); then a NOP must still round-trip on it,
// and once the ring is gone no fd or mapping is left that was not open
// before. No URING_SKIP/URING_REQUIRE inside `body` (their return would
// leave only the lambda): skip before calling this.
template <class Body>
void on_fresh_ring(const RingOptions& options, Body body) {
  const Baseline before;
  {
    Ring ring = make(options);
    body(ring);
    nop_round_trip(ring);
  }
  before.check_nothing_left();
}

template <class Body>
void on_fresh_ring(unsigned entries, unsigned cq_entries, Body body) {
  on_fresh_ring(RingOptions{.entries = entries, .cq_entries = cq_entries}, body);
}

template <class Body>
void on_fresh_ring(Body body) {
  on_fresh_ring(16, 0, body);
}

// Submits one request built by `fill`, tagged `user_data`, and returns its
// result; exactly one CQE must come, with that user_data.
template <class Fill>
int run_one(Ring& ring, Fill fill, std::uint64_t user_data = 0xbad) {
  Sqe& sqe = next_sqe(ring);
  fill(sqe);
  sqe.set_user_data(user_data);
  const Cqe done = reap_one(ring);
  CHECK(done.user_data == user_data);
  CHECK(ring.peek_cqe() == nullptr);
  return done.res;
}

bool says(const Error& error, const char* words) {
  INFO(error.message);
  return error.message.find(words) != std::string::npos;
}

// create_ring(options) must fail with `code` and a message that says
// `words`; its error comes back for more checks.
Error check_refused(const RingOptions& options, int code, const std::string& words) {
  auto ring = create_ring(options);
  REQUIRE_FALSE(ring.ok());
  CHECK(ring.code() == code);
  CHECK(says(ring.error(), words.c_str()));
  return ring.error();
}

struct Pipe {
  int read = -1, write = -1;
  Pipe() { REQUIRE(::pipe2(&read, O_CLOEXEC | O_NONBLOCK) == 0); }
  ~Pipe() {
    ::close(read);
    ::close(write);
  }
};

struct SocketPair {
  int a = -1, b = -1;
  SocketPair(int type = SOCK_STREAM) {
    int fds[2];
    REQUIRE(::socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, fds) == 0);
    a = fds[0];
    b = fds[1];
  }
  ~SocketPair() {
    ::close(a);
    ::close(b);
  }
};

// Writes `bytes` into `pair` and receives them at its other end with a
// buffer-select RECV (at most 64 bytes) from group `group`, tagged
// `user_data`: the CQE that comes back.
Cqe recv_selected(Ring& ring, const SocketPair& pair, const std::string& bytes, std::uint16_t group,
                  std::uint64_t user_data) {
  REQUIRE(::write(pair.b, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()));
  prep_recv_buffer_select(next_sqe(ring), pair.a, 64, 0, group).set_user_data(user_data);
  return reap_one(ring);
}

// The calls a user might make on a Ring that is not open (moved from, or
// closed): every one returns at once with the documented answer.
void check_not_open(Ring& ring) {
  CHECK_FALSE(ring.valid());
  CHECK(ring.fd() == -1);
  CHECK(ring.get_sqe() == nullptr);
  CHECK(ring.get_sqe() == nullptr);
  CHECK(ring.sq_pending() == 0);
  CHECK(ring.sq_space_left() == 0);
  CHECK(ring.cq_ready() == 0);
  CHECK(ring.cq_overflow() == 0);
  CHECK(ring.sq_dropped() == 0);
  CHECK_FALSE(ring.sq_needs_wakeup());
  CHECK_FALSE(ring.cq_overflow_pending());
  CHECK(ring.flush_sq() == 0);
  CHECK(ring.submit() == -EBADF);
  CHECK(ring.submit_and_wait(1) == -EBADF);
  CHECK(ring.submit_and_wait(1, WaitOptions{}) == -EBADF);
  CHECK(ring.wait_cqes(1) == -EBADF);
  WaitOptions timed;
  timed.timeout = std::chrono::milliseconds(10);
  CHECK(ring.wait_cqes(1, timed) == -EBADF);
  int error = 0;
  CHECK(ring.wait_cqe(&error) == nullptr);
  CHECK(error == -EBADF);
  CHECK(ring.wait_for_sq_space() == -EBADF);  // a get_sqe/wait_for_sq_space loop ends
  CHECK(ring.peek_cqe() == nullptr);
  CHECK(ring.for_each_cqe([](const Cqe&) { FAIL("a closed ring has no CQE"); }) == 0);
  CHECK(ring.register_raw(abi::IORING_REGISTER_PROBE, nullptr, 0) == -EBADF);
  CHECK(ring.register_ring_fd() == -EBADF);
  Status enabled = ring.enable();
  CHECK(enabled.code() == EBADF);
  CHECK(says(enabled.error(), "closed"));
  Status resized = ring.resize(ResizeOptions{.sq_entries = 32});
  CHECK(resized.code() == EBADF);
  CHECK(says(resized.error(), "closed"));
  auto probe = Probe::query(ring);
  CHECK_FALSE(probe.ok());
  auto group = BufferGroup::create_ring(ring, {.group_id = 1, .buffer_count = 4, .buffer_size = 64});
  CHECK(group.code() == EBADF);
  CHECK(says(group.error(), "the ring is closed"));
  CHECK(ring.close_ring_fd() == -EBADF);
  CHECK(ring.unregister_ring_fd() == -EBADF);
  CHECK(ring.registered_index() == -1);
  // Every Result call of a ring's dependents: EBADF, "the ring is closed".
  auto closed = [](const auto& result, const char* what) {
    CAPTURE(what);
    CHECK(result.code() == EBADF);
    if (!result.ok()) CHECK(says(result.error(), "the ring is closed"));
  };
  const int fds[] = {0};
  closed(FileTable::create(ring, fds), "FileTable::create");
  closed(FileTable::create_sparse(ring, 4), "FileTable::create_sparse");
  std::vector<char> memory(64);
  const iovec region{memory.data(), memory.size()};
  closed(BufferTable::create(ring, {&region, 1}), "BufferTable::create");
  closed(BufferTable::create_sparse(ring, 4), "BufferTable::create_sparse");
  closed(cancel_sync(ring, CancelMatch{.any = true}, std::chrono::milliseconds(1)), "cancel_sync(any)");
  closed(cancel_sync(ring, CancelMatch{.user_data = 1}, std::chrono::milliseconds(1)), "cancel_sync(user_data)");
  closed(Personality::create(ring), "Personality::create");
  closed(register_personality(ring), "register_personality");
  closed(register_eventfd(ring, 0), "register_eventfd");
  closed(unregister_eventfd(ring), "unregister_eventfd");
  closed(set_eventfd_enabled(ring, true), "set_eventfd_enabled");  // not "needs Linux 5.8"
  closed(unregister_personality(ring, 1), "unregister_personality");
  closed(register_napi(ring, NapiSettings{}), "register_napi");
  closed(unregister_napi(ring), "unregister_napi");
  closed(napi_add_id(ring, 1), "napi_add_id");
  closed(napi_remove_id(ring, 1), "napi_remove_id");
  closed(register_clock(ring, CLOCK_MONOTONIC), "register_clock");
  cpu_set_t cpus;
  CPU_ZERO(&cpus);
  CPU_SET(0, &cpus);
  closed(register_iowq_affinity(ring, cpus), "register_iowq_affinity");
  closed(unregister_iowq_affinity(ring), "unregister_iowq_affinity");
  closed(set_iowq_max_workers(ring, IowqMaxWorkers{}), "set_iowq_max_workers");
  closed(register_restrictions(ring, Restrictions().allow_sqe_op(abi::IORING_OP_NOP)), "register_restrictions");
  closed(query_opcodes(&ring), "query_opcodes");
  closed(send_msg_ring(ring, 1, 2), "send_msg_ring");
  closed(ring.register_mem_region({.bytes = 4096}), "register_mem_region");
  {
    Ring open = make(4);
    closed(clone_buffers(ring, open, {}), "clone_buffers (closed destination)");
    closed(clone_buffers(open, ring, {}), "clone_buffers (closed source)");
  }
  ring.close();  // idempotent
  CHECK_FALSE(ring.valid());
}

}  // namespace

// ---- The SQE ----------------------------------------------------------------

TEST_CASE("bad input: a bad or closed fd in an SQE") {
  on_fresh_ring([&](Ring& ring) {
    char buf[16];
    const int closed = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    REQUIRE(closed >= 0);
    ::close(closed);
    CHECK(run_one(ring, [&](Sqe& s) { prep_read(s, -1, buf, sizeof buf, 0); }, 1) == -EBADF);
    CHECK(run_one(ring, [&](Sqe& s) { prep_read(s, closed, buf, sizeof buf, 0); }, 2) == -EBADF);
    CHECK(run_one(ring, [&](Sqe& s) { prep_write(s, 1 << 20, buf, sizeof buf, 0); }, 3) == -EBADF);
    CHECK(run_one(ring, [&](Sqe& s) { prep_fsync(s, -1); }, 4) == -EBADF);
    const int read_only = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    REQUIRE(read_only >= 0);
    CHECK(run_one(ring, [&](Sqe& s) { prep_write(s, read_only, buf, sizeof buf, 0); }, 5) == -EBADF);
    ::close(read_only);
  });
}

TEST_CASE("bad input: an unknown opcode") {
  on_fresh_ring([&](Ring& ring) {
    for (unsigned opcode : {static_cast<unsigned>(abi::IORING_OP_LAST), 200u, 255u}) {
      CAPTURE(opcode);
      CHECK(run_one(ring, [&](Sqe& s) { prep_nop(s);
                      s.opcode = static_cast<std::uint8_t>(opcode); },
                    opcode) == -EINVAL);
    }
  });
}

TEST_CASE("bad input: SQE flags the kernel does not know") {
  on_fresh_ring([&](Ring& ring) {
    // Bit 7 is no IOSQE_* flag in Linux 6.18 (IOSQE_CQE_SKIP_SUCCESS is bit 6).
    CHECK(run_one(ring, [](Sqe& s) { prep_nop(s).flags |= 0x80; }, 7) == -EINVAL);
    // A known flag on an op that cannot use it: BUFFER_SELECT on a NOP.
    CHECK(run_one(ring, [](Sqe& s) { prep_nop(s).flags |= abi::IOSQE_BUFFER_SELECT; }, 8) == -EOPNOTSUPP);
    // Fields the opcode does not read, set anyway: NOP with rw_flags bits it does not know.
    CHECK(run_one(ring, [](Sqe& s) { prep_nop(s).rw_flags = 1u << 30; }, 9) == -EINVAL);
  });
}

TEST_CASE("bad input: setup flags the kernel does not know") {
  const Baseline before;
  RingOptions options;
  options.extra_setup_flags = 1u << 31;
  check_refused(options, EINVAL, "setup flag bit(s) 0x80000000");
  before.check_nothing_left();
}

TEST_CASE("bad input: io_uring_enter flags the kernel does not know") {
  on_fresh_ring([&](Ring& ring) {
    prep_nop(next_sqe(ring)).set_user_data(11);
    ring.flush_sq();
    CHECK(ring.enter(1, 0, 1u << 30, nullptr, 0) == -EINVAL);
    CHECK(ring.sq_pending() == 1);  // refused before anything was submitted
    const Cqe done = reap_one(ring);  // submitted now, exactly once
    CHECK(done.user_data == 11);
    CHECK(done.res == 0);
  });
}

TEST_CASE("bad input: a register opcode the kernel does not know") {
  on_fresh_ring([&](Ring& ring) {
    CHECK(ring.register_raw(250, nullptr, 0) == -EINVAL);
    CHECK(ring.register_raw(abi::IORING_REGISTER_PROBE, nullptr, 1000) == -EINVAL);  // no buffer
  });
}

// ---- Ring sizes ---------------------------------------------------------------

TEST_CASE("bad input: entries 0") {
  const Baseline before;
  RingOptions options;
  options.entries = 0;
  check_refused(options, EINVAL, "entries must be at least 1");
  before.check_nothing_left();
}

TEST_CASE("bad input: entries above the maximum, with and without clamp") {
  const Baseline before;
  for (unsigned entries : {32769u, 0x80000001u, 0xffffffffu}) {
    CAPTURE(entries);
    RingOptions options;
    options.entries = entries;
    check_refused(options, EINVAL, "above the kernel's maximum 32768; ask for fewer, or set clamp = true");
  }
  RingOptions cq;
  cq.cq_entries = 65537;
  auto refused = create_ring(cq);
  CHECK(refused.code() == EINVAL);
  CHECK(says(refused.error(), "cq_entries 65537 is above the kernel's maximum 65536"));
  before.check_nothing_left();

  URING_REQUIRE(missing_setup_flags(abi::IORING_SETUP_CLAMP | abi::IORING_SETUP_CQSIZE));
  {
    RingOptions clamped;
    clamped.entries = 0xffffffffu;
    clamped.cq_entries = 0xffffffffu;
    clamped.clamp = true;
    auto ring = create_ring(clamped);
    REQUIRE_MESSAGE(ring.ok(), ring.error().message);
    CHECK(ring->sq_entries() == 32768);
    CHECK(ring->cq_entries() == 65536);
    nop_round_trip(*ring);
  }
  before.check_nothing_left();
}

TEST_CASE("bad input: entries that are not a power of two") {
  const Baseline before;
  {
    Ring ring = make(3, 0);  // rounded up by the kernel
    CHECK(ring.sq_entries() == 4);
    CHECK(ring.cq_entries() == 8);
    for (unsigned i = 0; i < 4; ++i) CHECK(ring.get_sqe() != nullptr);
    CHECK(ring.get_sqe() == nullptr);  // exactly 4 fit
    CHECK(ring.submit() == 4);
    CHECK(reap(ring, 4).size() == 4);
    nop_round_trip(ring);
  }
  {
    Ring ring = make(5, 17);
    CHECK(ring.sq_entries() == 8);
    CHECK(ring.cq_entries() == 32);
    nop_round_trip(ring);
  }
  RingOptions small_cq;
  small_cq.entries = 64;
  small_cq.cq_entries = 33;  // rounds to 64: still not less than entries, so the kernel takes it
  {
    auto ring = create_ring(small_cq);
    REQUIRE_MESSAGE(ring.ok(), ring.error().message);
    CHECK(ring->cq_entries() == 64);
  }
  small_cq.cq_entries = 20;
  auto refused = create_ring(small_cq);
  CHECK(refused.code() == EINVAL);
  CHECK(says(refused.error(), "cq_entries (20) must be at least entries (64)"));
  before.check_nothing_left();
}

namespace {
// The CPUs of a kernel CPU list such as /sys/devices/system/cpu/online ("0-3,6").
std::set<int> cpu_list(const std::string& path) {
  std::ifstream in(path);
  std::string text;
  std::getline(in, text);
  std::set<int> cpus;
  std::stringstream items(text);
  for (std::string item; std::getline(items, item, ',');) {
    int first = 0, last = 0;
    const int n = std::sscanf(item.c_str(), "%d-%d", &first, &last);
    if (n < 1) continue;
    if (n == 1) last = first;
    for (int cpu = first; cpu <= last; ++cpu) cpus.insert(cpu);
  }
  return cpus;
}

// Pins the calling thread to one CPU while it lives; puts the old mask back.
struct PinnedTo {
  cpu_set_t old;
  explicit PinnedTo(int cpu) {
    REQUIRE(::sched_getaffinity(0, sizeof old, &old) == 0);
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    REQUIRE(::sched_setaffinity(0, sizeof one, &one) == 0);
  }
  ~PinnedTo() { ::sched_setaffinity(0, sizeof old, &old); }
};
}  // namespace

// io_sq_offload_create (io_uring/sqpoll.c) refuses sq_thread_cpu when it is
// >= nr_cpu_ids or offline, or outside the caller's cpuset
// (cpuset_cpus_allowed); never for the caller's own affinity mask.
TEST_CASE("bad input: an SQPOLL CPU this process cannot use") {
  URING_REQUIRE(missing_setup_flags(abi::IORING_SETUP_SQPOLL | abi::IORING_SETUP_SQ_AFF));
  const Baseline before;
  const std::set<int> online = cpu_list("/sys/devices/system/cpu/online");
  REQUIRE_FALSE(online.empty());
  int offline = 0;
  while (online.count(offline)) ++offline;  // the first CPU that is not online (past the last one, here)
  for (int cpu : {offline, 4095}) {
    CAPTURE(cpu);
    RingOptions options;
    options.sqpoll = true;
    options.sqpoll_cpu = cpu;
    const Error refused = check_refused(options, EINVAL, "sqpoll_cpu " + std::to_string(cpu) + " is not online");
    CHECK(says(refused, "pick one of those, or leave sqpoll_cpu unset"));
  }
  before.check_nothing_left();
  // Outside this thread's affinity but online (and in the cpuset): the kernel
  // takes it, so an EINVAL with another cause is not blamed on the CPU.
  if (online.size() >= 2) {
    const int mine = *online.begin(), other = *std::next(online.begin());
    const PinnedTo pinned(mine);
    RingOptions options;
    options.sqpoll = true;
    options.sqpoll_cpu = other;
    {
      auto ring = create_ring(options);
      REQUIRE_MESSAGE(ring.ok(), ring.error().message);
      nop_round_trip(*ring);
    }
    options.extra_setup_flags = 1u << 31;
    auto refused = create_ring(options);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.code() == EINVAL);
    CHECK_FALSE(says(refused.error(), "sqpoll_cpu"));
    CHECK(says(refused.error(), "setup flag bit(s) 0x80000000"));
  }
  before.check_nothing_left();
  // Review of 4fd6d6d: the kernel refuses a flag it does not know before it
  // looks at the CPU, and a ring that attaches to another's poller never has
  // its CPU looked at (io_sq_offload_create returns once attached): neither
  // is blamed on the CPU.
  {
    RingOptions options;
    options.sqpoll = true;
    options.sqpoll_cpu = offline;
    options.extra_setup_flags = 1u << 31;
    const Error refused = check_refused(options, EINVAL, "setup flag bit(s) 0x80000000");
    CHECK_FALSE(says(refused, "sqpoll_cpu"));
    CHECK(says(refused, "drop them"));
  }
  {
    RingOptions poller_options;
    poller_options.sqpoll = true;
    auto poller = create_ring(poller_options);
    REQUIRE_MESSAGE(poller.ok(), poller.error().message);
    RingOptions options;
    options.sqpoll = true;
    options.sqpoll_cpu = offline;
    options.attach_wq = &poller.value();
    {
      auto attached = create_ring(options);  // the kernel ignores the CPU of an attaching ring
      REQUIRE_MESSAGE(attached.ok(), attached.error().message);
      nop_round_trip(*attached);
    }
    options.extra_setup_flags = 1u << 31;
    const Error refused = check_refused(options, EINVAL, "setup flag bit(s) 0x80000000");
    CHECK_FALSE(says(refused, "sqpoll_cpu"));
    // Review of ac76372: a poller of another process (the fd inherited over
    // fork) cannot be attached to (io_attach_sq_data: -EPERM), so the
    // kernel makes a new one and checks the CPU: then it is the cause.
    const int wq_fd = poller->fd();
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      RingOptions in_child;
      in_child.sqpoll = true;
      in_child.attach_wq_fd = wq_fd;
      in_child.sqpoll_cpu = offline;
      auto made = Ring::create(in_child);
      const bool blamed = !made.ok() && made.error().code == EINVAL &&
                          made.error().message.find("sqpoll_cpu " + std::to_string(offline) + " is not online") !=
                              std::string::npos;
      ::_exit(made.ok() ? 2 : blamed ? 0 : 1);
    }
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);  // 1: refused for another reason named; 2: created
  }
  before.check_nothing_left();
}

namespace {

// The first CPU that is not online (past the last one, here).
int first_offline_cpu() {
  const std::set<int> online = cpu_list("/sys/devices/system/cpu/online");
  REQUIRE_FALSE(online.empty());
  int offline = 0;
  while (online.count(offline)) ++offline;
  return offline;
}

// The "SqThread:" value of /proc/self/fdinfo/<fd>: the poller's pid, -1 for
// none; nullopt when the line is missing (the kernel leaves the ring part out
// while the ring's uring_lock is held) or the file cannot be read.
std::optional<long> fdinfo_sq_thread(int fd) {
  std::ifstream file("/proc/self/fdinfo/" + std::to_string(fd));
  for (std::string line; std::getline(file, line);) {
    long value = 0;
    if (std::sscanf(line.c_str(), "SqThread: %ld", &value) == 1) return value;
  }
  return std::nullopt;
}

// What a forked process reports back through a pipe: lines of text, read
// until every writer has closed it or `limit` has passed.
std::string read_all(int fd, std::chrono::seconds limit) {
  std::string text;
  const auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd readable{fd, POLLIN, 0};
    if (::poll(&readable, 1, static_cast<int>(left.count())) <= 0) break;
    char chunk[4096];
    const ssize_t n = ::read(fd, chunk, sizeof chunk);
    if (n <= 0) break;
    text.append(chunk, static_cast<std::size_t>(n));
  }
  return text;
}

// The line of `report` that starts with `key` + ":", without the key; "" if none.
std::string report_line(const std::string& report, const std::string& key) {
  std::istringstream lines(report);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(key + ":", 0) == 0) return line.substr(key.size() + 1);
  }
  return {};
}

// For a forked process: one line "key:<errno>:<message>" ("key:created" when
// the ring was made) for Ring::create(options).
void report_create(int out, const std::string& key, const RingOptions& options) {
  auto made = Ring::create(options);
  std::string line = key + ":" + (made.ok() ? std::string("created") : std::to_string(made.error().code) + ":" + made.error().message);
  line += "\n";
  (void)!::write(out, line.data(), line.size());
}

void report_text(int out, const std::string& line) { (void)!::write(out, (line + "\n").data(), line.size() + 1); }

}  // namespace

// Review of 0149350 (D3): the kernel prints a ring's fdinfo only when it gets
// the ring's uring_lock (mutex_trylock in io_uring_show_fdinfo, 6.18), so
// while a register call (or the poller submitting) holds it there is no
// SqThread line. A ring attaching to a poller of this process never has its
// CPU looked at, busy or not; with the Ring named (attach_wq) the library
// knows that without fdinfo, and with only its fd (attach_wq_fd) an answer it
// could not get must not be stated as the CPU.
TEST_CASE("SQPOLL CPU blame: attaching to a busy poller of this process") {
  URING_REQUIRE(missing_setup_flags(abi::IORING_SETUP_SQPOLL | abi::IORING_SETUP_SQ_AFF | abi::IORING_SETUP_CQSIZE));
  const int offline = first_offline_cpu();
  const int fds_before = open_fd_count();  // (mappings are not compared: the C library keeps the thread's stack)
  {
    auto poller = create_ring({.entries = 8, .sqpoll = true});
    REQUIRE_MESSAGE(poller.ok(), poller.error().message);
    const int fd = poller->fd();
    std::atomic<bool> stop{false};
    std::thread busy([&] {  // holds the poller ring's uring_lock most of the time
      std::vector<unsigned char> probe(sizeof(abi::io_uring_probe) + 256 * sizeof(abi::io_uring_probe_op));
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
      while (!stop.load() && std::chrono::steady_clock::now() < deadline) {
        std::memset(probe.data(), 0, probe.size());
        (void)sys::io_uring_register(fd, abi::IORING_REGISTER_PROBE, probe.data(), 256);
      }
    });
    RingOptions options;
    options.sqpoll = true;
    options.sqpoll_cpu = offline;
    options.extra_setup_flags = abi::IORING_SETUP_CQSIZE;  // with cq_entries 0: EINVAL before any poller is looked at
    const std::string not_online = "sqpoll_cpu " + std::to_string(offline) + " is not online";
    int by_ring_blamed = 0, by_fd_blamed = 0, by_fd_unsure = 0, other = 0;
    std::string sample_ring, sample_fd;
    for (int i = 0; i < 300; ++i) {
      options.attach_wq_fd.reset();
      options.attach_wq = &poller.value();
      auto by_ring = create_ring(options);
      options.attach_wq = nullptr;
      options.attach_wq_fd = fd;
      auto by_fd = create_ring(options);
      if (by_ring.ok() || by_fd.ok() || by_ring.code() != EINVAL || by_fd.code() != EINVAL) {
        ++other;
        continue;
      }
      if (by_ring.error().message.find("sqpoll_cpu") != std::string::npos) {
        ++by_ring_blamed;
        sample_ring = by_ring.error().message;
      }
      const std::string& said = by_fd.error().message;
      if (said.find(not_online) != std::string::npos) {
        // Only as one of two possibilities: the other is sharing this
        // process's poller, whose CPU the kernel never looks at.
        if (said.find("shares it") != std::string::npos && said.find("never looked at") != std::string::npos) {
          ++by_fd_unsure;
        } else {
          ++by_fd_blamed;
          sample_fd = said;
        }
      }
    }
    stop = true;
    busy.join();
    INFO("attach_wq blamed on the CPU: " << sample_ring);
    INFO("attach_wq_fd blamed on the CPU: " << sample_fd);
    INFO("attach_wq_fd told both possibilities " << by_fd_unsure << " times of 300");
    CHECK(other == 0);
    CHECK(by_ring_blamed == 0);
    CHECK(by_fd_blamed == 0);
  }
  CHECK(open_fd_count() == fds_before);
}

// Review of 0149350 (D3b): a ring whose poller has exited with the process
// that made it (this test's child), kept by that process's child. fdinfo
// says "SqThread: -1", as for a ring without SQPOLL; but the ring is SQPOLL,
// the kernel gives an attaching ring of another process a poller of its own
// (io_attach_sq_data: -EPERM) and refuses its CPU. Named as a Ring the
// library knows it is SQPOLL and made elsewhere: the CPU is the cause; by fd
// alone both possibilities are named.
TEST_CASE("SQPOLL CPU blame: a ring kept from a process that has exited, its poller gone") {
  URING_REQUIRE(missing_setup_flags(abi::IORING_SETUP_SQPOLL | abi::IORING_SETUP_SQ_AFF));
  const int offline = first_offline_cpu();
  int report[2];
  REQUIRE(::pipe2(report, O_CLOEXEC) == 0);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    ::close(report[0]);
    ::alarm(30);
    auto poller = Ring::create({.entries = 8, .sqpoll = true});
    if (!poller.ok()) {
      report_text(report[1], "error:poller: " + poller.error().message);
      ::_exit(0);
    }
    const pid_t grandchild = ::fork();
    if (grandchild == 0) {
      // The child exits at once; its poller goes with it.
      bool gone = false;
      for (int i = 0; i < 1000 && !gone; ++i) {
        gone = fdinfo_sq_thread(poller->fd()) == -1;
        if (!gone) ::usleep(10000);
      }
      if (!gone) {
        report_text(report[1], "error:the poller is still there 10 s after its process exited");
        ::_exit(0);
      }
      RingOptions by_fd;
      by_fd.sqpoll = true;
      by_fd.sqpoll_cpu = offline;
      by_fd.attach_wq_fd = poller->fd();
      report_create(report[1], "fd", by_fd);
      RingOptions by_ring;
      by_ring.sqpoll = true;
      by_ring.sqpoll_cpu = offline;
      by_ring.attach_wq = &poller.value();
      report_create(report[1], "ring", by_ring);
      ::_exit(0);
    }
    if (grandchild < 0) report_text(report[1], "error:fork: " + std::string(std::strerror(errno)));
    ::_exit(0);
  }
  ::close(report[1]);
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  const std::string said = read_all(report[0], std::chrono::seconds(30));
  ::close(report[0]);
  INFO(said);
  REQUIRE(report_line(said, "error").empty());
  const std::string not_online = "sqpoll_cpu " + std::to_string(offline) + " is not online";
  const std::string by_fd = report_line(said, "fd");
  CHECK(by_fd.rfind("22:", 0) == 0);  // EINVAL
  CHECK(by_fd.find("a ring without SQPOLL, or one whose poller has exited") != std::string::npos);
  CHECK(by_fd.find(not_online) != std::string::npos);
  const std::string by_ring = report_line(said, "ring");
  CHECK(by_ring.rfind("22:", 0) == 0);
  CHECK(by_ring.find(not_online + " (online CPUs: ") != std::string::npos);
  CHECK(by_ring.find("pick one of those, or leave sqpoll_cpu unset") != std::string::npos);
  CHECK(by_ring.find("without SQPOLL") == std::string::npos);
}

// Review of 0149350 (D2): in a PID namespace fdinfo's SqThread is the
// poller's pid outside it (sqd->task_pid = current->pid), which
// /proc/self/task (this namespace's pids) never lists: a ring attaching to
// this process's own poller was blamed on a CPU the kernel never looked at.
// Needs CAP_SYS_ADMIN for the namespaces: a child tries them first, and the
// case is skipped when it cannot.
TEST_CASE("SQPOLL CPU blame: attaching to this process's poller in a PID namespace of its own") {
  URING_REQUIRE(missing_setup_flags(abi::IORING_SETUP_SQPOLL | abi::IORING_SETUP_SQ_AFF | abi::IORING_SETUP_CQSIZE));
  const int offline = first_offline_cpu();
  int report[2];
  REQUIRE(::pipe2(report, O_CLOEXEC) == 0);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    ::close(report[0]);
    ::alarm(30);
    if (::unshare(CLONE_NEWPID | CLONE_NEWNS) != 0) {
      report_text(report[1], "skip:unshare(CLONE_NEWPID | CLONE_NEWNS): " + std::string(std::strerror(errno)));
      ::_exit(0);
    }
    const pid_t grandchild = ::fork();  // pid 1 of the new namespace
    if (grandchild == 0) {
      // This namespace's /proc, in a mount namespace of its own.
      if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
          ::mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0) {
        report_text(report[1], "skip:mounting /proc for the new PID namespace: " + std::string(std::strerror(errno)));
        ::_exit(0);
      }
      if (::getpid() != 1) {
        report_text(report[1], "skip:not in a new PID namespace (pid " + std::to_string(::getpid()) + ")");
        ::_exit(0);
      }
      auto poller = Ring::create({.entries = 8, .sqpoll = true});
      if (!poller.ok()) {
        report_text(report[1], "error:poller: " + poller.error().message);
        ::_exit(0);
      }
      const std::optional<long> sq_thread = fdinfo_sq_thread(poller->fd());
      report_text(report[1], "sq_thread:" + (sq_thread ? std::to_string(*sq_thread) : std::string("none")));
      RingOptions options;
      options.sqpoll = true;
      options.sqpoll_cpu = offline;
      options.extra_setup_flags = abi::IORING_SETUP_CQSIZE;  // with cq_entries 0: EINVAL before the poller
      options.attach_wq = &poller.value();
      report_create(report[1], "ring", options);
      options.attach_wq = nullptr;
      options.attach_wq_fd = poller->fd();
      report_create(report[1], "fd", options);
      // A child of this pid 1 in a nested PID namespace is pid 1 too, yet
      // another process to the kernel: it gets a poller of its own, and the
      // offline CPU is the refusal (review of f0eae68: a pid alone said shared).
      if (::unshare(CLONE_NEWPID) != 0) {
        report_text(report[1], "error:unshare(CLONE_NEWPID) again: " + std::string(std::strerror(errno)));
        ::_exit(0);
      }
      const pid_t nested = ::fork();
      if (nested == 0) {
        RingOptions own;
        own.sqpoll = true;
        own.sqpoll_cpu = offline;
        own.attach_wq = &poller.value();
        report_text(report[1], "nested_pid:" + std::to_string(::getpid()));
        report_create(report[1], "nested", own);
        ::_exit(0);
      }
      if (nested > 0) (void)::waitpid(nested, nullptr, 0);
      ::_exit(0);
    }
    if (grandchild < 0) {
      report_text(report[1], "error:fork: " + std::string(std::strerror(errno)));
      ::_exit(0);
    }
    int status = 0;
    (void)::waitpid(grandchild, &status, 0);
    ::_exit(0);
  }
  ::close(report[1]);
  const std::string said = read_all(report[0], std::chrono::seconds(30));
  ::close(report[0]);
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  INFO(said);
  if (const std::string why = report_line(said, "skip"); !why.empty()) URING_SKIP(why);
  REQUIRE(report_line(said, "error").empty());
  const std::string by_ring = report_line(said, "ring");
  CHECK(by_ring.rfind("22:", 0) == 0);
  CHECK(by_ring.find("sqpoll_cpu") == std::string::npos);
  CHECK(by_ring.find("the kernel rejected these parameters") != std::string::npos);
  // By fd the library cannot match the pid: it may name the CPU only as one
  // of two possibilities, and says why it cannot tell.
  const std::string by_fd = report_line(said, "fd");
  CHECK(by_fd.rfind("22:", 0) == 0);
  if (by_fd.find("sqpoll_cpu") != std::string::npos) {
    CHECK(by_fd.find("shares it") != std::string::npos);
    CHECK(by_fd.find("PID namespace") != std::string::npos);
  }
  CHECK(report_line(said, "nested_pid") == "1");
  const std::string nested = report_line(said, "nested");
  CHECK(nested.rfind("22:", 0) == 0);
  CHECK(nested.find("is not online") != std::string::npos);
}

TEST_CASE("bad input: resize to sizes the kernel refuses") {
  URING_REQUIRE(missing_register_op(abi::IORING_REGISTER_RESIZE_RINGS));
  on_fresh_ring({.entries = 8, .single_issuer = true, .defer_taskrun = true}, [&](Ring& ring) {
    prep_nop(next_sqe(ring)).set_user_data(1);  // queued across the refused resizes
    Status zero = ring.resize({.sq_entries = 0});
    CHECK(zero.code() == EINVAL);
    CHECK(says(zero.error(), "sq_entries must be at least 1"));
    Status big = ring.resize({.sq_entries = 40000});
    CHECK(big.code() == EINVAL);
    CHECK(says(big.error(), "sq_entries 40000 is above the kernel's maximum 32768; ask for fewer, or set clamp = true"));
    Status big_cq = ring.resize({.sq_entries = 8, .cq_entries = 70000});
    CHECK(big_cq.code() == EINVAL);
    CHECK(says(big_cq.error(), "cq_entries 70000 is above the kernel's maximum 65536"));
    Status small_cq = ring.resize({.sq_entries = 64, .cq_entries = 16});
    CHECK(small_cq.code() == EINVAL);
    CHECK(says(small_cq.error(), "cq_entries (16) must be at least sq_entries (64)"));
    CHECK(ring.sq_entries() == 8);
    CHECK(ring.sq_pending() == 1);
    const Cqe done = reap_one(ring);
    CHECK(done.user_data == 1);
    Status odd = ring.resize({.sq_entries = 5});  // rounded up, like setup
    REQUIRE_MESSAGE(odd.ok(), odd.error().message);
    CHECK(ring.sq_entries() == 8);
    Status clamped = ring.resize({.sq_entries = 40000, .clamp = true});
    REQUIRE_MESSAGE(clamped.ok(), clamped.error().message);
    CHECK(ring.sq_entries() == 32768);
  });
}

TEST_CASE("bad input: more rings in one thread than its 16 registered ring slots") {
  const Baseline before;
  {
    std::vector<Ring> rings;
    for (int i = 0; i < 24; ++i) rings.push_back(make(4));
    int registered = 0;
    for (Ring& ring : rings) registered += ring.registered_index() >= 0 ? 1 : 0;
    CHECK(registered <= 16);
    CHECK(registered >= 1);
    std::uint64_t tag = 1000;
    for (Ring& ring : rings) nop_round_trip(ring, tag++);  // the rest enter through their fd
  }
  before.check_nothing_left();
}

TEST_CASE("bad input: NO_MMAP memory that is too small or not page-aligned") {
  const Baseline before;
  RingOptions options;
  options.no_mmap = true;
  options.entries = 64;
  const std::size_t needed = Ring::no_mmap_bytes(options);
  void* memory = ::mmap(nullptr, needed + 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  REQUIRE(memory != MAP_FAILED);
  options.no_mmap_memory = memory;
  options.no_mmap_memory_bytes = needed - 1;
  auto small = create_ring(options);
  CHECK(small.code() == EINVAL);
  CHECK(says(small.error(), ("these options need " + std::to_string(needed) + " (Ring::no_mmap_bytes)").c_str()));
  options.no_mmap_memory = static_cast<char*>(memory) + 64;
  options.no_mmap_memory_bytes = needed;
  auto unaligned = create_ring(options);
  CHECK(unaligned.code() == EINVAL);
  CHECK(says(unaligned.error(), "no_mmap_memory must be page-aligned"));
  options.no_mmap_memory = memory;
  options.no_mmap_memory_bytes = 0;
  auto half = create_ring(options);
  CHECK(half.code() == EINVAL);
  CHECK(says(half.error(), "no_mmap_memory and no_mmap_memory_bytes go together"));
  ::munmap(memory, needed + 4096);
  before.check_nothing_left();
}

TEST_CASE("bad input: attach_wq naming a closed ring, or an fd that is no ring") {
  const Baseline before;
  Ring closed;
  RingOptions options;
  options.attach_wq = &closed;
  auto to_closed = create_ring(options);
  CHECK(to_closed.code() == EBADF);
  CHECK(says(to_closed.error(), "attach_wq names a ring that is already closed; attach to an open ring"));
  const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  REQUIRE(null_fd >= 0);
  RingOptions by_fd;
  by_fd.attach_wq_fd = null_fd;
  auto to_null = create_ring(by_fd);
  CHECK(to_null.code() == EINVAL);
  CHECK(says(to_null.error(), "is not an io_uring fd (it is /dev/null)"));
  ::close(null_fd);
  before.check_nothing_left();
}

// ---- Queues ---------------------------------------------------------------------

TEST_CASE("bad input: get_sqe on a full SQ") {
  on_fresh_ring(8, 0, [&](Ring& ring) {
    for (std::uint64_t i = 0; i < 8; ++i) prep_nop(next_sqe(ring)).set_user_data(100 + i);
    for (int i = 0; i < 3; ++i) CHECK(ring.get_sqe() == nullptr);  // never an SQE that is in use
    CHECK(ring.sq_space_left() == 0);
    CHECK(ring.wait_for_sq_space() == 0);  // submits: room again
    CHECK(ring.sq_space_left() == 8);
    std::set<std::uint64_t> seen;
    for (const Cqe& cqe : reap(ring, 8)) {
      CHECK(cqe.res == 0);
      CHECK(seen.insert(cqe.user_data).second);
    }
    CHECK(seen.size() == 8);
    CHECK(*seen.begin() == 100);
    CHECK(*seen.rbegin() == 107);
  });
}

TEST_CASE("bad input: CQ overflow (more completions than the CQ holds, none reaped)") {
  URING_REQUIRE(missing_feature(abi::IORING_FEAT_NODROP));
  on_fresh_ring(8, 8, [&](Ring& ring) {
    constexpr unsigned kTotal = 200;
    unsigned sent = 0;
    while (sent < kTotal) {
      Sqe* sqe = ring.get_sqe();
      if (sqe == nullptr) {
        REQUIRE(ring.submit() > 0);  // never -EBUSY with FEAT_NODROP on this kernel
        continue;
      }
      prep_nop(*sqe).set_user_data(sent++);
    }
    REQUIRE(ring.submit() >= 0);
    CHECK(ring.cq_ready() == 8);
    CHECK(ring.cq_overflow_pending());
    std::vector<int> seen(kTotal, 0);
    unsigned received = 0;
    for (int round = 0; received < kTotal && round < 10000; ++round) {
      received += ring.for_each_cqe([&](const Cqe& cqe) {
        REQUIRE(cqe.user_data < kTotal);
        CHECK(cqe.res == 0);
        ++seen[cqe.user_data];
      });
    }
    CHECK(received == kTotal);
    for (unsigned i = 0; i < kTotal; ++i) {
      CAPTURE(i);
      CHECK(seen[i] == 1);
    }
    CHECK(ring.cq_overflow() == 0);  // nothing dropped
    CHECK_FALSE(ring.cq_overflow_pending());
  });
}

TEST_CASE("bad input: waiting for more CQEs than the CQ holds") {
  on_fresh_ring(8, 16, [&](Ring& ring) {
    CHECK(ring.wait_cqes(17) == -EINVAL);
    CHECK(ring.submit_and_wait(17, WaitOptions{}) == -EINVAL);
  });
}

TEST_CASE("bad input: WaitOptions the kernel cannot take") {
  on_fresh_ring([&](Ring& ring) {
    prep_nop(next_sqe(ring)).set_user_data(1);
    REQUIRE(ring.submit() == 1);
    WaitOptions long_min_wait;
    long_min_wait.min_wait = std::chrono::microseconds(std::int64_t{1} << 33);  // above 2^32-1 us
    CHECK(ring.wait_cqes(1, long_min_wait) == -EINVAL);
    WaitOptions negative;
    negative.min_wait = std::chrono::microseconds(-1);
    CHECK(ring.wait_cqes(1, negative) == -EINVAL);
    WaitOptions no_region;
    no_region.registered_wait = 0;  // no wait region registered
    CHECK(ring.wait_cqes(1, no_region) == -EINVAL);
    no_region.timeout = std::chrono::milliseconds(1);  // and with fields it replaces
    CHECK(ring.wait_cqes(1, no_region) == -EINVAL);
    no_region.timeout = std::chrono::nanoseconds(-1);
    no_region.spin = std::chrono::milliseconds(1);  // or a spin
    CHECK(ring.wait_cqes(1, no_region) == -EINVAL);
    const Cqe done = reap_one(ring);  // the NOP was not lost
    CHECK(done.user_data == 1);
  });
}

TEST_CASE("bad input: requests that name what does not exist (cancel, timeout remove, MSG_RING target)") {
  on_fresh_ring([&](Ring& ring) {
    CHECK(run_one(ring, [](Sqe& s) { prep_cancel(s, std::uint64_t{0xdead}); }, 1) == -ENOENT);
    CHECK(run_one(ring, [](Sqe& s) { prep_timeout_remove(s, 0xdead); }, 2) == -ENOENT);
    const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    REQUIRE(null_fd >= 0);
    CHECK(run_one(ring, [&](Sqe& s) { prep_msg_ring(s, null_fd, 0, 7); }, 3) == -EBADFD);
    CHECK(run_one(ring, [&](Sqe& s) { prep_msg_ring(s, -1, 0, 7); }, 4) == -EBADF);
    ::close(null_fd);
    abi::kernel_timespec bad{0, -1};
    CHECK(run_one(ring, [&](Sqe& s) { prep_timeout(s, &bad); }, 5) == -EINVAL);
    bad = {-1, 0};
    CHECK(run_one(ring, [&](Sqe& s) { prep_timeout(s, &bad); }, 7) == -EINVAL);
  });
}

TEST_CASE("bad input: a link flag on the last SQE of a submit") {
  on_fresh_ring([&](Ring& ring) {
    prep_nop(next_sqe(ring)).set_user_data(1).link();
    prep_nop(next_sqe(ring)).set_user_data(2).link();  // links to nothing
    std::set<std::uint64_t> seen;
    for (const Cqe& cqe : reap(ring, 2)) {
      CHECK(cqe.res == 0);
      seen.insert(cqe.user_data);
    }
    CHECK(seen == std::set<std::uint64_t>{1, 2});
    // on_fresh_ring's NOP round trip comes next: the next submit is not part of that chain.
  });
}

// ---- Provided buffers -------------------------------------------------------------

TEST_CASE("bad input: a buffer group id that was never registered") {
  on_fresh_ring([&](Ring& ring) {
    SocketPair pair;
    REQUIRE(::write(pair.b, "x", 1) == 1);
    const int res = run_one(ring, [&](Sqe& s) { prep_recv_buffer_select(s, pair.a, 64, 0, 77); }, 77);
    CHECK(res == -ENOBUFS);
    // The byte is still there: the failed request consumed nothing.
    char got = 0;
    CHECK(::read(pair.a, &got, 1) == 1);
    CHECK(got == 'x');
  });
}

TEST_CASE("bad input: a buffer group id another BufferGroup holds, of either kind") {
  const Baseline before;
  {
    Ring ring = make();
    auto first = BufferGroup::create_ring(ring, {.group_id = 5, .buffer_count = 4, .buffer_size = 64});
    REQUIRE_MESSAGE(first.ok(), first.error().message);
    auto second = BufferGroup::create_ring(ring, {.group_id = 5, .buffer_count = 4, .buffer_size = 64});
    CHECK(second.code() == EEXIST);
    CHECK(says(second.error(), "buffer group 5 is already in use on this ring"));
    CHECK(says(second.error(), "choose another group_id, or close the group that holds it"));
    auto legacy = BufferGroup::create_provided(ring, {.group_id = 5, .buffer_count = 4, .buffer_size = 64});
    CHECK(legacy.code() == EEXIST);
    CHECK(says(legacy.error(), "buffer group 5 is already in use"));
    // A buffer ring registered behind the library's back (raw register call):
    // the kernel's EEXIST, or PROVIDE_BUFFERS refused, named the same way.
    std::vector<abi::io_uring_buf> raw_ring(8);
    void* memory = ::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    REQUIRE(memory != MAP_FAILED);
    abi::io_uring_buf_reg reg{};
    reg.ring_addr = reinterpret_cast<std::uintptr_t>(memory);
    reg.ring_entries = 8;
    reg.bgid = 9;
    REQUIRE(ring.register_raw(abi::IORING_REGISTER_PBUF_RING, &reg, 1) == 0);
    auto over_raw = BufferGroup::create_ring(ring, {.group_id = 9, .buffer_count = 4, .buffer_size = 64});
    CHECK(over_raw.code() == EEXIST);
    CHECK(says(over_raw.error(), "buffer group 9 is already in use"));
    auto legacy_over_raw = BufferGroup::create_provided(ring, {.group_id = 9, .buffer_count = 4, .buffer_size = 64});
    CHECK(legacy_over_raw.code() == EEXIST);
    CHECK(says(legacy_over_raw.error(), "it is a buffer ring"));
    REQUIRE(ring.register_raw(abi::IORING_UNREGISTER_PBUF_RING, &reg, 1) == 0);
    ::munmap(memory, 4096);
    nop_round_trip(ring);
    // The first group still works.
    const Cqe got = recv_selected(ring, SocketPair(), "hi", 5, 5);
    CHECK(got.res == 2);
    BufferView view = first->take(got);
    REQUIRE(view.ok());
    CHECK(std::string(reinterpret_cast<char*>(view.data), view.size) == "hi");
    CHECK(first->recycle(view) == BufferError::none);
  }
  before.check_nothing_left();
}

TEST_CASE("bad input: a CQE taken by the wrong group, or taken twice") {
  on_fresh_ring([&](Ring& ring) {
    auto small = BufferGroup::create_ring(ring, {.group_id = 1, .buffer_count = 2, .buffer_size = 64});
    auto large = BufferGroup::create_ring(ring, {.group_id = 2, .buffer_count = 8, .buffer_size = 64});
    REQUIRE(small.ok());
    REQUIRE(large.ok());
    SocketPair pair(SOCK_DGRAM);
    Cqe got{};
    // Receive into group 2 until the kernel picks a buffer id group 1 does not have.
    for (int i = 0; i < 8; ++i) {
      got = recv_selected(ring, pair, "abc", 2, 20 + i);
      REQUIRE(got.res == 3);
      REQUIRE(got.has_buffer());
      if (got.buffer_id() >= 2) break;
      BufferView mine = large->take(got);
      REQUIRE(mine.ok());
      REQUIRE(large->recycle(mine) == BufferError::none);
    }
    REQUIRE(got.buffer_id() >= 2);
    const BufferView wrong = small->take(got);  // group 1 has ids 0 and 1 only
    CHECK(wrong.error == BufferError::unknown_id);
    CHECK(std::string(describe(wrong.error)).find("another group") != std::string::npos);
    CHECK(small->kernel_owned_count() == 2);  // nothing moved
    const BufferView right = large->take(got);
    REQUIRE(right.ok());
    const BufferView twice = large->take(got);
    CHECK(twice.error == BufferError::not_kernel_owned);
    CHECK(std::string(describe(twice.error)).find("taken twice") != std::string::npos);
    CHECK(large->app_owned_count() == 1);
    CHECK(large->recycle(right) == BufferError::none);
    CHECK(large->kernel_owned_count() == 8);
    // A CQE that carries no buffer at all (an error).
    Cqe failed{};
    failed.res = -ENOBUFS;
    CHECK(large->take(failed).error == BufferError::no_buffer);
  });
}

TEST_CASE("bad input: recycling a buffer id out of range, or twice") {
  on_fresh_ring([&](Ring& ring) {
    for (bool legacy : {false, true}) {
      CAPTURE(legacy);
      const BufferGroupOptions options{.group_id = 3, .buffer_count = 4, .buffer_size = 64};
      auto group = legacy ? BufferGroup::create_provided(ring, options) : BufferGroup::create_ring(ring, options);
      REQUIRE_MESSAGE(group.ok(), group.error().message);
      CHECK(group->recycle(4) == BufferError::unknown_id);
      CHECK(group->recycle(65535) == BufferError::unknown_id);
      CHECK(group->recycle(0) == BufferError::kernel_owned);  // never taken
      CHECK(std::string(describe(BufferError::kernel_owned)).find("only once") != std::string::npos);
      SocketPair pair;
      const Cqe got = recv_selected(ring, pair, "data", 3, 30);
      REQUIRE(got.res == 4);
      BufferView view = group->take(got);
      REQUIRE(view.ok());
      CHECK(group->recycle(view) == BufferError::none);
      CHECK(group->recycle(view) == BufferError::kernel_owned);      // the same view again
      CHECK(group->recycle(view.id) == BufferError::kernel_owned);   // by id
      CHECK(group->kernel_owned_count() == 4);
      if (legacy) {
        // The one PROVIDE_BUFFERS the first recycle queued, and nothing more.
        REQUIRE(ring.submit() == 1);
        const Cqe provided = reap_one(ring);
        CHECK(group->is_internal(provided));
        CHECK(group->handle_internal(provided) >= 0);
      }
      CHECK(ring.peek_cqe() == nullptr);
      // Each buffer is handed out once more, never twice.
      std::set<unsigned> ids;
      for (int i = 0; i < 4; ++i) {
        const Cqe again = recv_selected(ring, pair, "more", 3, 40 + i);
        REQUIRE(again.res == 4);
        BufferView v = group->take(again);
        REQUIRE(v.ok());
        CHECK(ids.insert(v.id).second);
      }
      CHECK(ids.size() == 4);
      REQUIRE(::write(pair.b, "none", 4) == 4);
      CHECK(run_one(ring, [&](Sqe& s) { prep_recv_buffer_select(s, pair.a, 64, 0, 3); }) == -ENOBUFS);
      for (unsigned id : ids) CHECK(group->recycle(static_cast<std::uint16_t>(id)) == BufferError::none);
      if (legacy) {
        REQUIRE(ring.submit() == 4);
        for (const Cqe& c : reap(ring, 4)) CHECK(group->handle_internal(c) >= 0);
      }
      REQUIRE(group->close().ok());
    }
  });
}

TEST_CASE("bad input: buffer group sizes no group can have") {
  on_fresh_ring([&](Ring& ring) {
    struct Case {
      BufferGroupOptions options;
      const char* words;
    };
    const Case cases[] = {
        {{.group_id = 1, .buffer_count = 0, .buffer_size = 64}, "buffer_count 0: a group holds 1 .. 32768 buffers"},
        {{.group_id = 1, .buffer_count = 40000, .buffer_size = 64}, "buffer_count 40000: a group holds 1 .. 32768"},
        {{.group_id = 1, .buffer_count = 4, .buffer_size = 0}, "buffer_size 0: each buffer is 1 byte .. 1 GiB"},
        {{.group_id = 1, .buffer_count = 1, .buffer_size = 2u << 30}, "each buffer is 1 byte .. 1 GiB"},
        {{.group_id = 1, .buffer_count = 4, .buffer_size = 64, .ring_entries = 6},
         "ring_entries 6 is not a power of two: use 8"},
        {{.group_id = 1, .buffer_count = 4, .buffer_size = 64, .ring_entries = 2},
         "ring_entries 2 cannot hold buffer_count 4: use 4 or more"},
    };
    for (const Case& c : cases) {
      CAPTURE(c.words);
      auto group = BufferGroup::create_ring(ring, c.options);
      CHECK(group.code() == EINVAL);
      CHECK(says(group.error(), c.words));
      if (c.options.ring_entries == 0) {
        auto legacy = BufferGroup::create_provided(ring, c.options);
        CHECK(legacy.code() == EINVAL);
        CHECK(says(legacy.error(), c.words));
      }
    }
    CHECK(ring.dependents() == 0);
  });
}

// ---- Registered files and buffers --------------------------------------------------

TEST_CASE("bad input: a fixed file index past the table, in an emptied slot, or with no table") {
  on_fresh_ring([&](Ring& ring) {
    char buf[16];
    CHECK(run_one(ring, [&](Sqe& s) { prep_read(s, FixedFile(0), buf, sizeof buf, 0); }, 1) == -EBADF);
    const int null_fd = ::open("/dev/zero", O_RDONLY | O_CLOEXEC);
    REQUIRE(null_fd >= 0);
    const int fds[] = {null_fd, null_fd};
    auto table = FileTable::create(ring, fds);
    REQUIRE_MESSAGE(table.ok(), table.error().message);
    ::close(null_fd);  // the table holds its own reference
    CHECK(run_one(ring, [&](Sqe& s) { prep_read(s, FixedFile(1), buf, sizeof buf, 0); }, 2) == 16);
    CHECK(run_one(ring, [&](Sqe& s) { prep_read(s, FixedFile(2), buf, sizeof buf, 0); }, 3) == -EBADF);
    CHECK(run_one(ring, [&](Sqe& s) { prep_read(s, FixedFile(kMaxFileSlots - 1), buf, sizeof buf, 0); }, 4) ==
          -EBADF);
    const int empty[] = {-1};
    REQUIRE(table->update(1, empty).ok());
    CHECK(run_one(ring, [&](Sqe& s) { prep_read(s, FixedFile(1), buf, sizeof buf, 0); }, 5) == -EBADF);
    CHECK(run_one(ring, [&](Sqe& s) { prep_read(s, FixedFile(0), buf, sizeof buf, 0); }, 6) == 16);
    // update() past the table: the kernel's EINVAL, with what to do.
    auto past = table->update(2, empty);
    CHECK(past.code() == EINVAL);
    CHECK_FALSE(past.error().message.empty());
    CHECK_FALSE(table->contains(FixedFile(2)));
    // Run-time numbers no table can have are refused before any SQE exists.
    CHECK_FALSE(FixedFile::checked(kMaxFileSlots).has_value());
    CHECK_FALSE(DirectSlot::checked(kMaxFileSlots).has_value());
  });
}

TEST_CASE("bad input: a fixed buffer index past the table, or a range outside the buffer") {
  on_fresh_ring([&](Ring& ring) {
    const int zero = ::open("/dev/zero", O_RDONLY | O_CLOEXEC);
    REQUIRE(zero >= 0);
    std::vector<char> memory(4096, 'm');
    char* base = memory.data();
    const iovec region{base + 1024, 1024};
    auto table = BufferTable::create(ring, {&region, 1});
    REQUIRE_MESSAGE(table.ok(), table.error().message);
    auto past = table->read_fixed(zero, base + 1024, 16, 0, FixedBuffer(1));
    CHECK(past.code() == EINVAL);
    CHECK(says(past.error(), "fixed buffer"));
    auto outside = table->read_fixed(zero, base + 2000, 100, 0, FixedBuffer(0));
    CHECK(outside.code() == EFAULT);
    CHECK(says(outside.error(), "fixed buffer"));
    CHECK(ring.sq_pending() == 0);  // nothing was queued
    CHECK_FALSE(FixedBuffer::checked(kMaxRegisteredBuffers).has_value());
    // The same through the unchecked builders: the kernel refuses, nothing is written.
    CHECK(run_one(ring, [&](Sqe& s) { prep_read_fixed(s, zero, base + 1024, 16, 0, FixedBuffer(1)); }, 1) ==
          -EFAULT);
    CHECK(run_one(ring, [&](Sqe& s) { prep_read_fixed(s, zero, base + 2000, 100, 0, FixedBuffer(0)); }, 2) ==
          -EFAULT);
    CHECK(run_one(ring, [&](Sqe& s) { prep_read_fixed(s, zero, base + 1000, 100, 0, FixedBuffer(0)); }, 3) ==
          -EFAULT);
    CHECK(std::all_of(memory.begin(), memory.end(), [](char c) { return c == 'm'; }));
    ::close(zero);
  });
}

TEST_CASE("bad input: a second table, a ring fd as a file, tables no kernel can hold") {
  on_fresh_ring([&](Ring& ring) {
    auto files = FileTable::create_sparse(ring, 4);
    REQUIRE_MESSAGE(files.ok(), files.error().message);
    auto second = FileTable::create_sparse(ring, 4);
    CHECK(second.code() == EBUSY);
    CHECK(says(second.error(), "this ring already has a file table; unregister it first"));
    auto past = files->update(4, std::vector<int>{-1});
    CHECK(past.code() == EINVAL);
    CHECK(says(past.error(), "run past the table's 4 slots"));
    auto not_open = files->update(0, std::vector<int>{1 << 20});
    CHECK(not_open.code() == EBADF);
    CHECK(says(not_open.error(), "is not open"));
    const int ring_fd[] = {ring.fd()};
    auto self = files->update(0, ring_fd);
    CHECK(self.code() == EBADF);
    CHECK(says(self.error(), "io_uring"));
    auto range = files->set_alloc_range(2, 10);
    CHECK(range.code() == EINVAL);
    CHECK(says(range.error(), "is not inside the table's 4 slots"));
    auto no_slots = FileTable::create_sparse(ring, 0);
    CHECK(no_slots.code() == EINVAL);

    std::vector<char> memory(64);
    const iovec too_big{memory.data(), (std::size_t{1} << 30) + 1};
    auto big = BufferTable::create(ring, {&too_big, 1});
    CHECK(big.code() == EFAULT);
    CHECK(says(big.error(), "the kernel registers at most 1 GiB (1073741824 bytes) per buffer: split it"));
    const iovec unmapped{reinterpret_cast<void*>(0x1000), 4096};
    auto bad_memory = BufferTable::create(ring, {&unmapped, 1});
    CHECK(bad_memory.code() == EFAULT);
    auto too_many = BufferTable::create_sparse(ring, kMaxRegisteredBuffers + 1);
    CHECK(too_many.code() == EINVAL);
    CHECK(says(too_many.error(), "a table holds at most 16384 buffers"));
    auto buffers = BufferTable::create(ring, {&too_big, 0});  // no buffers at all
    CHECK_FALSE(buffers.ok());
  });
}

// ---- Lengths and counts -------------------------------------------------------------

TEST_CASE("bad input: an iovec count past UIO_MAXIOV") {
  on_fresh_ring([&](Ring& ring) {
    const int zero = ::open("/dev/zero", O_RDONLY | O_CLOEXEC);
    REQUIRE(zero >= 0);
    std::vector<char> bytes(IOV_MAX + 1, 1);
    std::vector<iovec> vecs(IOV_MAX + 1);
    for (std::size_t i = 0; i < vecs.size(); ++i) vecs[i] = {&bytes[i], 1};
    CHECK(run_one(ring, [&](Sqe& s) { prep_readv(s, zero, vecs.data(), IOV_MAX, 0); }, 1) == IOV_MAX);
    CHECK(run_one(ring, [&](Sqe& s) { prep_readv(s, zero, vecs.data(), IOV_MAX + 1, 0); }, 2) == -EINVAL);
    CHECK(run_one(ring, [&](Sqe& s) { prep_writev(s, zero, vecs.data(), IOV_MAX + 1, 0); }, 3) == -EINVAL);
    CHECK(run_one(ring, [&](Sqe& s) { prep_readv(s, zero, vecs.data(), 0xffffffffu, 0); }, 4) == -EINVAL);
    // The checked fixed-buffer calls refuse the count before they read the
    // array (a 2-entry array with count 2^32 - 1 is never walked past).
    const iovec region{bytes.data(), bytes.size()};
    auto table = BufferTable::create(ring, {&region, 1});
    REQUIRE_MESSAGE(table.ok(), table.error().message);
    auto past = table->readv_fixed(zero, vecs.data(), IOV_MAX + 1, 0, FixedBuffer(0));
    CHECK(past.code() == EINVAL);
    CHECK(says(past.error(), "1025 iovecs: more than UIO_MAXIOV (1024)"));
    std::vector<iovec> two(2, iovec{bytes.data(), 1});
    auto huge = table->readv_fixed(zero, two.data(), 0xffffffffu, 0, FixedBuffer(0));
    CHECK(huge.code() == EINVAL);
    CHECK(says(huge.error(), "4294967295 iovecs: more than UIO_MAXIOV (1024)"));
    auto huge_write = table->writev_fixed(zero, two.data(), 0xffffffffu, 0, FixedBuffer(0));
    CHECK(huge_write.code() == EINVAL);
    CHECK(ring.sq_pending() == 0);  // nothing was queued
    CHECK(table->readv_fixed(zero, vecs.data(), IOV_MAX, 0, FixedBuffer(0)).ok());  // 1024 is fine
    CHECK(reap_one(ring).res == IOV_MAX);
    ::close(zero);
  });
}

TEST_CASE("bad input: lengths above INT_MAX") {
  on_fresh_ring([&](Ring& ring) {
    // Send and receive lengths do not fit the kernel's int: refused where written.
    CHECK_FALSE(SocketLength::checked(std::size_t{INT_MAX} + 1).has_value());
    CHECK(SocketLength::at_most(std::size_t{1} << 33).value() == INT_MAX);
    // Read/write lengths fit sqe->len (32 bits); a size_t beyond is refused, never cut.
    CHECK_FALSE(IoLength::checked((std::size_t{5} << 30) + 10).has_value());
    CHECK(IoLength::at_most(std::size_t{5} << 30).value() == 0xffffffffu);
    // A length of 2^31..2^32-1 in the SQE: a read moves what there is (at
    // most 0x7ffff000 bytes), never writes past it; the raw SQE field for a
    // receive is refused by the kernel.
    // The buffer must really span the length (the kernel checks that the
    // whole range is user memory): 3 GiB reserved, never touched but for 5 bytes.
    void* big = ::mmap(nullptr, 0xc0000000u, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                       -1, 0);
    REQUIRE(big != MAP_FAILED);
    Pipe pipe;
    REQUIRE(::write(pipe.write, "hello", 5) == 5);
    CHECK(run_one(ring, [&](Sqe& s) { prep_read(s, pipe.read, big, 0xc0000000u, kCurrentPosition); }, 1) == 5);
    CHECK(std::memcmp(big, "hello", 5) == 0);
    ::munmap(big, 0xc0000000u);
    char buf[64] = {};
    SocketPair pair;
    REQUIRE(::write(pair.b, "abc", 3) == 3);
    const int recv = run_one(
        ring, [&](Sqe& s) { prep_recv(s, pair.a, buf, 16, 0).len = 0x80000000u; }, 2);
    CHECK(recv == -EINVAL);
    CHECK(::recv(pair.a, buf, sizeof buf, MSG_DONTWAIT) == 3);  // nothing was consumed
  });
}

// ---- Types --------------------------------------------------------------------------

namespace {
// A requires-expression turns "does not compile" into false.
template <class FileArg>
concept read_takes_as_file = requires(Sqe& sqe, FileArg file, char* buf) {
  prep_read(sqe, file, buf, 16u, std::uint64_t{0});
};
template <class S>
concept read_fixed_then_buffer_select = requires(S& sqe, char* buf, FixedBuffer index) {
  prep_read_fixed(sqe, 3, buf, 16u, std::uint64_t{0}, index).buffer_select(std::uint16_t{1});
};
template <class S>
concept recv_then_buffer_select = requires(S& sqe, char* buf) {
  prep_recv(sqe, 3, buf, SocketLength::at_most(16), 0).buffer_select(std::uint16_t{1});
};
}  // namespace

TEST_CASE("bad input: a slot number or a bool as a file, buffer_select over a builder's buffer (does not compile)") {
  static_assert(read_takes_as_file<int>);
  static_assert(read_takes_as_file<FixedFile>);
  static_assert(!read_takes_as_file<unsigned>, "a slot number is not an fd");
  static_assert(!read_takes_as_file<bool>, "true is not an fd");
  static_assert(!read_takes_as_file<std::size_t>);
  static_assert(!read_fixed_then_buffer_select<Sqe>, "buffer_select would overwrite buf_index");
  static_assert(!recv_then_buffer_select<Sqe>, "buffer_select would drop buf");
  // The positive form of each: the concepts can be true.
  Sqe sqe;
  char buf[16];
  prep_read(sqe, FixedFile(2), buf, 16u, 0);
  CHECK((sqe.flags & abi::IOSQE_FIXED_FILE) != 0);
  CHECK(sqe.fd == 2);
}

// ---- Pointers ---------------------------------------------------------------------

TEST_CASE("bad input: null pointers where the kernel would fault") {
  on_fresh_ring([&](Ring& ring) {
    const int zero = ::open("/dev/zero", O_RDWR | O_CLOEXEC);
    REQUIRE(zero >= 0);
    CHECK(run_one(ring, [&](Sqe& s) { prep_read(s, zero, nullptr, 16, 0); }, 1) == -EFAULT);
    CHECK(run_one(ring, [&](Sqe& s) { prep_readv(s, zero, nullptr, 1, 0); }, 2) == -EFAULT);
    CHECK(run_one(ring, [&](Sqe& s) { prep_writev(s, zero, nullptr, 1, 0); }, 3) == -EFAULT);
    const iovec null_base{nullptr, 16};
    CHECK(run_one(ring, [&](Sqe& s) { prep_readv(s, zero, &null_base, 1, 0); }, 4) == -EFAULT);
    CHECK(run_one(ring, [&](Sqe& s) { prep_openat(s, AT_FDCWD, nullptr, O_RDONLY, 0); }, 5) == -EFAULT);
    CHECK(run_one(ring, [&](Sqe& s) { prep_timeout(s, nullptr); }, 6) == -EFAULT);
    SocketPair pair;
    CHECK(run_one(ring, [&](Sqe& s) { prep_sendmsg(s, pair.a, nullptr, 0); }, 7) == -EFAULT);
    CHECK(run_one(ring, [&](Sqe& s) { prep_send(s, pair.a, nullptr, 8, 0); }, 8) == -EFAULT);
    // The library's own checked calls refuse a null array instead of reading it.
    std::vector<char> memory(256);
    const iovec region{memory.data(), memory.size()};
    auto table = BufferTable::create(ring, {&region, 1});
    REQUIRE_MESSAGE(table.ok(), table.error().message);
    auto readv = table->readv_fixed(zero, nullptr, 1, 0, FixedBuffer(0));
    CHECK(readv.code() == EFAULT);
    CHECK(says(readv.error(), "fixed I/O: iovecs is null with count 1; pass an array of count iovecs inside fixed "
                              "buffer 0"));
    auto writev = table->writev_fixed(zero, nullptr, 2, 0, FixedBuffer(0));
    CHECK(writev.code() == EFAULT);
    CHECK(says(writev.error(), "fixed I/O: iovecs is null with count 2"));
    CHECK(ring.sq_pending() == 0);
    CHECK(run_one(ring, [&](Sqe& s) { prep_readv_fixed(s, zero, nullptr, 1, 0, FixedBuffer(0)); }, 9) == -EFAULT);
    ::close(zero);
  });
}

// ---- The Ring object ----------------------------------------------------------------

TEST_CASE("bad input: a moved-from Ring used") {
  const Baseline before;
  {
    Ring ring = make();
    prep_nop(next_sqe(ring)).set_user_data(1);
    Ring moved = std::move(ring);
    check_not_open(ring);
    // The SQE taken before the move went with the ring.
    const Cqe done = reap_one(moved);
    CHECK(done.user_data == 1);
    nop_round_trip(moved);
    Ring assigned;
    assigned = std::move(moved);
    check_not_open(moved);
    nop_round_trip(assigned);
  }
  {
    Ring never_opened;
    check_not_open(never_opened);
  }
  before.check_nothing_left();
}

TEST_CASE("bad input: a closed Ring used") {
  std::thread([] {}).join();  // glibc keeps a joined thread's stack mapped: map one before the baseline
  const Baseline before;
  {
    Ring ring = make();
    prep_nop(next_sqe(ring)).set_user_data(1);  // taken, never submitted
    ring.close();
    check_not_open(ring);
    // Two closed rings at once, used from two threads: no shared state to race on.
    Ring other = make();
    other.close();
    // Each thread counts the answers that are not a closed ring's; doctest's
    // checks are not for other threads, so they are checked after the join.
    struct Wrong {
      int sqes = 0, cqes = 0, submits = 0, waits = 0;
    };
    auto use = [](Ring& closed) {
      Wrong wrong;
      for (int i = 0; i < 1000; ++i) {
        wrong.sqes += closed.get_sqe() != nullptr;
        wrong.cqes += closed.peek_cqe() != nullptr;
        wrong.submits += closed.submit() != -EBADF;
        wrong.waits += closed.wait_for_sq_space() != -EBADF;
      }
      return wrong;
    };
    Wrong there;
    std::thread elsewhere([&] { there = use(other); });
    const Wrong here = use(ring);
    elsewhere.join();
    for (const Wrong& wrong : {here, there}) {
      CHECK(wrong.sqes == 0);
      CHECK(wrong.cqes == 0);
      CHECK(wrong.submits == 0);
      CHECK(wrong.waits == 0);
    }
    check_not_open(other);
  }
  before.check_nothing_left();
}

TEST_CASE("bad input: a BufferGroup, FileTable, BufferTable, Personality or RingRef that outlives its Ring") {
  const Baseline before;
  {
    std::optional<BufferGroup> ring_group, legacy_group;
    std::optional<FileTable> files;
    std::optional<BufferTable> buffers;
    std::optional<Personality> personality;
    RingRef ref;
    BufferView held;
    std::vector<char> memory(256);
    const iovec region{memory.data(), memory.size()};
    {
      Ring ring = make();
      auto g1 = BufferGroup::create_ring(ring, {.group_id = 1, .buffer_count = 4, .buffer_size = 64});
      auto g2 = BufferGroup::create_provided(ring, {.group_id = 2, .buffer_count = 4, .buffer_size = 64});
      REQUIRE(g1.ok());
      REQUIRE(g2.ok());
      ring_group = std::move(*g1);
      legacy_group = std::move(*g2);
      const int fds[] = {0};
      auto f = FileTable::create(ring, fds);
      REQUIRE(f.ok());
      files = std::move(*f);
      auto b = BufferTable::create(ring, {&region, 1});
      REQUIRE(b.ok());
      buffers = std::move(*b);
      auto p = Personality::create(ring);
      REQUIRE(p.ok());
      personality = std::move(*p);
      ref = RingRef(ring);
      const Cqe got = recv_selected(ring, SocketPair(), "x", 1, 1);
      REQUIRE(got.res == 1);
      held = ring_group->take(got);
      REQUIRE(held.ok());
      CHECK(ring.dependents() == 6);
    }  // the Ring is destroyed first
    CHECK_FALSE(ref);
    CHECK(ref.get() == nullptr);
    CHECK_FALSE(ring_group->valid());
    CHECK(ring_group->recycle(held) == BufferError::closed);
    CHECK(ring_group->recycle(0) == BufferError::closed);
    Cqe fake{};
    fake.res = 1;
    fake.flags = abi::IORING_CQE_F_BUFFER;
    CHECK(ring_group->take(fake).error == BufferError::closed);
    CHECK(legacy_group->recycle(0) == BufferError::closed);
    CHECK(std::string(describe(BufferError::closed)).find("closed") != std::string::npos);
    CHECK_FALSE(files->registered());
    auto update = files->update(0, std::vector<int>{-1});
    CHECK(update.code() == ENXIO);
    CHECK(says(update.error(), "its Ring closed"));
    CHECK_FALSE(buffers->registered());
    auto read = buffers->read_fixed(0, memory.data(), 16, 0, FixedBuffer(0));
    CHECK(read.code() == ENXIO);
    CHECK(says(read.error(), "its Ring closed"));
    CHECK_FALSE(personality->valid());
    CHECK(ring_group->close().ok());
    CHECK(legacy_group->close().ok());
    CHECK(files->unregister().ok());
    CHECK(buffers->unregister().ok());
    personality->reset();
    ring_group.reset();
    legacy_group.reset();
    files.reset();
    buffers.reset();
    personality.reset();
  }
  before.check_nothing_left();  // the groups' buffer memory and ring mappings are gone too
}

// ---- Restrictions ---------------------------------------------------------------------

TEST_CASE("bad input: a forbidden op, flag or register call on a restricted ring") {
  URING_REQUIRE(missing_register_op(abi::IORING_REGISTER_RESTRICTIONS));
  on_fresh_ring({.start_disabled = true}, [&](Ring& ring) {
    REQUIRE(register_restrictions(ring, Restrictions().allow_sqe_op(abi::IORING_OP_NOP)).ok());
    REQUIRE(ring.enable().ok());
    Pipe pipe;
    CHECK(run_one(ring, [&](Sqe& s) { prep_write(s, pipe.write, "no", 2, kCurrentPosition); }, 1) == -EACCES);
    char got[4];
    CHECK(::read(pipe.read, got, sizeof got) == -1);  // not carried out
    CHECK(run_one(ring, [](Sqe& s) { prep_nop(s).force_async(); }, 2) == -EACCES);
    auto personality = register_personality(ring);
    CHECK(personality.code() == EACCES);
    CHECK(ring.register_raw(abi::IORING_REGISTER_PROBE, nullptr, 0) == -EACCES);
    // Register calls the list does not allow, ENABLE_RINGS and RESTRICTIONS included.
    auto again = register_restrictions(ring, Restrictions().allow_sqe_op(abi::IORING_OP_WRITE));
    CHECK(again.code() == EACCES);
    CHECK(says(again.error(), "(EACCES)"));
    auto enable_twice = ring.enable();
    CHECK(enable_twice.code() == EACCES);
    CHECK(says(enable_twice.error(), "(EACCES)"));
  });
}

TEST_CASE("bad input: enable() twice, or restrictions on a ring already enabled") {
  on_fresh_ring({.start_disabled = true}, [&](Ring& ring) {
    prep_nop(next_sqe(ring)).set_user_data(1);
    CHECK(ring.submit() == -EBADFD);  // still disabled: the SQE stays queued
    REQUIRE(ring.enable().ok());
    auto twice = ring.enable();
    CHECK(twice.code() == EBADFD);
    CHECK(says(twice.error(), "(EBADFD)"));
    CHECK(says(twice.error(), "already enabled"));
    auto late = register_restrictions(ring, Restrictions().allow_sqe_op(abi::IORING_OP_NOP));
    CHECK(late.code() == EBADFD);
    CHECK(says(late.error(), "(EBADFD)"));
    CHECK(says(late.error(), "registered before enable()"));
    const Cqe done = reap_one(ring);
    CHECK(done.user_data == 1);
  });
}

// ---- The table itself -------------------------------------------------------------------

namespace {

// The names of the "bad input: ..." TEST_CASEs in C++ source `text`, in
// order (a name twice is there twice). A TEST_CASE counts only in code:
// not in a comment, not inside a string literal; the name is the string
// literal (adjacent literals joined) that follows `TEST_CASE(`, across
// whitespace, newlines and comments, whatever decorators follow it
// (`* doctest::timeout(5)`).
std::vector<std::string> bad_input_cases(const std::string& text) {
  std::vector<std::string> names;
  const std::size_t n = text.size();
  // Skips whitespace and comments from `at`.
  auto skip_blank = [&](std::size_t at) {
    while (at < n) {
      if (std::isspace(static_cast<unsigned char>(text[at]))) {
        ++at;
      } else if (text.compare(at, 2, "//") == 0) {
        at = text.find('\n', at);
        if (at == std::string::npos) return n;
      } else if (text.compare(at, 2, "/*") == 0) {
        at = text.find("*/", at + 2);
        if (at == std::string::npos) return n;
        at += 2;
      } else {
        break;
      }
    }
    return at;
  };
  // A literal starting at `at` ("..." or R"d(...)d"): its text, and where it ends.
  auto literal = [&](std::size_t at, std::string* value) {
    if (text.compare(at, 2, "R\"") == 0) {
      const std::size_t open = text.find('(', at + 2);
      if (open == std::string::npos) return n;
      const std::string close = ")" + text.substr(at + 2, open - at - 2) + "\"";
      const std::size_t end = text.find(close, open + 1);
      if (end == std::string::npos) return n;
      if (value) *value += text.substr(open + 1, end - open - 1);
      return end + close.size();
    }
    const char quote = text[at];
    std::size_t i = at + 1;
    for (; i < n && text[i] != quote; ++i) {
      if (text[i] == '\\' && i + 1 < n) ++i;
      if (value) value->push_back(text[i]);
    }
    return i < n ? i + 1 : n;
  };
  auto starts_literal = [&](std::size_t at) {
    return at < n && (text[at] == '"' || text.compare(at, 2, "R\"") == 0);
  };
  auto identifier_char = [&](std::size_t at) {
    return at < n && (std::isalnum(static_cast<unsigned char>(text[at])) || text[at] == '_');
  };
  for (std::size_t at = 0; at < n;) {
    const std::size_t blank = skip_blank(at);
    if (blank != at) {
      at = blank;
      continue;
    }
    if (starts_literal(at) && !(at > 0 && identifier_char(at - 1))) {
      at = literal(at, nullptr);
      continue;
    }
    if (text[at] == '\'' && !(at > 0 && identifier_char(at - 1))) {  // not a digit separator (1'000)
      at = literal(at, nullptr);
      continue;
    }
    if (text.compare(at, 9, "TEST_CASE") == 0 && !(at > 0 && identifier_char(at - 1)) &&
        !identifier_char(at + 9)) {
      std::size_t next = skip_blank(at + 9);
      if (next < n && text[next] == '(') {
        next = skip_blank(next + 1);
        std::string name;
        bool any = false;
        while (starts_literal(next)) {
          next = skip_blank(literal(next, &name));
          any = true;
        }
        if (any && name.rfind("bad input: ", 0) == 0) names.push_back(name);
        at = next;
        continue;
      }
      at += 9;
      continue;
    }
    ++at;
  }
  return names;
}

// The "bad input: ..." names the table's rows cite, in order.
std::vector<std::string> cited_cases(const std::string& section) {
  std::vector<std::string> cited;
  const std::regex row(R"(\n\|[^\n]*\| `//tests:bad_input_test` `(bad input: [^`]+)` \|)");
  for (std::sregex_iterator it(section.begin(), section.end(), row), stop; it != stop; ++it) {
    cited.push_back((*it)[1]);
  }
  return cited;
}

std::string runfile(const std::string& path) {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  const char* workspace = std::getenv("TEST_WORKSPACE");
  const std::string root =
      srcdir && workspace ? std::string(srcdir) + "/" + workspace + "/" : std::string();  // else: from the repo root
  std::ifstream in(root + path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

// The checker below finds every case a reader would call a test case, and
// nothing else: decorated and wrapped ones count, commented-out ones and
// look-alikes inside string literals do not.
TEST_CASE("the bad-input case finder sees decorated and wrapped cases, not commented or quoted ones") {
  const std::string source =
      "TEST_CASE(\"bad input: plain\") {}\n"
      "TEST_CASE(\"bad input: decorated\" * doctest::timeout(5)) {}\n"
      "TEST_CASE(\n    \"bad input: wrapped\") {}\n"
      "TEST_CASE( /* why */ \"bad input: split \"\n  \"in two\") {}\n"
      "// TEST_CASE(\"bad input: commented out\") {}\n"
      "/* TEST_CASE(\"bad input: in a block comment\") {}\n"
      "   TEST_CASE(\"bad input: still in it\") {} */\n"
      "const char* s = \"TEST_CASE(\\\"bad input: quoted\\\")\";\n"
      "const char* r = R\"x(TEST_CASE(\"bad input: raw quoted\") // )x\";\n"
      "TEST_CASE(\"other: not a bad-input case\") {}\n"
      "MY_TEST_CASE(\"bad input: another macro\") {}\n"
      "TEST_CASE(\"bad input: last\") {}\n";
  const std::vector<std::string> expected = {"bad input: plain", "bad input: decorated", "bad input: wrapped",
                                             "bad input: split in two", "bad input: last"};
  CHECK(bad_input_cases(source) == expected);
  // And the rows: one per table line that cites a case.
  const std::string section =
      "\n| misuse | what | test |\n| --- | --- | --- |\n"
      "| a | b | `//tests:bad_input_test` `bad input: plain` |\n"
      "| c | d | `//tests:bad_input_test` `bad input: wrapped` |\n";
  CHECK(cited_cases(section) == std::vector<std::string>{"bad input: plain", "bad input: wrapped"});
}

// ring.h documents a loop for a full SQ; on a closed Ring get_sqe() stays
// nullptr and wait_for_sq_space() answers -EBADF at once, so a loop that
// drops that answer never ends. The documented form must check it.
TEST_CASE("ring.h's get_sqe / wait_for_sq_space loop checks wait_for_sq_space's answer") {
  const std::string header = runfile("uring/ring.h");
  REQUIRE_MESSAGE(!header.empty(), "uring/ring.h is not in the runfiles");
  const std::regex loop(R"(while \(!\(sqe = (\w+\.)?get_sqe\(\)\)\)\s*(\w+\.)?wait_for_sq_space\(\);)");
  CHECK_FALSE(std::regex_search(header, loop));
  CHECK(header.find("wait_for_sq_space(); ret < 0) return ret;") != std::string::npos);
  // And it ends: the documented loop on a moved-from Ring, bounded.
  Ring ring = make(4);
  Ring moved = std::move(ring);
  Sqe* sqe = nullptr;
  int spins = 0, ret = 0;
  while (!(sqe = ring.get_sqe()) && ++spins < 1000) {
    if (ret = ring.wait_for_sq_space(); ret < 0) break;
  }
  CHECK(ret == -EBADF);
  CHECK(spins == 1);
}

// The README's bad-input table and the test cases here name each other:
// every row cites `//tests:bad_input_test` and a TEST_CASE of this file that
// exists, and every "bad input: ..." case here has its row, so renaming,
// removing or adding a case without its row fails this test.
TEST_CASE("bad input: the README table and these test cases name each other") {
  const std::string readme = runfile("README.md");
  const std::string source = runfile("tests/bad_input_test.cc");
  REQUIRE_MESSAGE(!readme.empty(), "README.md is not in the runfiles");
  REQUIRE_MESSAGE(!source.empty(), "tests/bad_input_test.cc is not in the runfiles");
  const auto start = readme.find("\n## Bad input: what you get\n");
  REQUIRE(start != std::string::npos);
  const std::string section = readme.substr(start, readme.find("\n## ", start + 1) - start);

  std::set<std::string> cited;
  for (const std::string& name : cited_cases(section)) {
    CHECK_MESSAGE(cited.insert(name).second, "cited twice: " << name);
  }
  int table_rows = 0;
  for (std::size_t at = section.find("\n| "); at != std::string::npos; at = section.find("\n| ", at + 1)) {
    ++table_rows;
  }
  CHECK(table_rows == static_cast<int>(cited.size()) + 2);  // + header and rule; every row cites a case

  std::set<std::string> cases;
  for (const std::string& name : bad_input_cases(source)) {
    CHECK_MESSAGE(cases.insert(name).second, "two TEST_CASEs named: " << name);
  }
  CHECK(cases.count("bad input: the README table and these test cases name each other") == 1);
  cases.erase("bad input: the README table and these test cases name each other");
  for (const std::string& name : cited) CHECK_MESSAGE(cases.count(name) == 1, "no such TEST_CASE: " << name);
  for (const std::string& name : cases) CHECK_MESSAGE(cited.count(name) == 1, "not in the README table: " << name);
  CHECK(cases.size() >= 20);
}
