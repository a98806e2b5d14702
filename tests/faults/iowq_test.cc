// io-wq with IORING_REGISTER_IOWQ_MAX_WORKERS = 1 under blocking work
// (issue 14, Faults).
//
// Which requests really block an io-wq worker (Linux 6.18,
// io_uring/io_uring.c io_wq_submit_work): a forced-async (IOSQE_ASYNC) READ
// on a pipe is issued by the worker non-blocking and, on -EAGAIN, armed on
// the pipe's poll queue, so it holds no worker; SPLICE has no poll support
// (io_issue_defs: no pollin), so a SPLICE from an empty pipe sleeps in the
// worker. Both go to the unbounded pool (pipes are not regular files).
//
// With the limits at 1 and 1 there is never more than one worker however
// many splices block, and yet every request completes once its pipe is
// written — the one worker finishes the splice it sleeps in and takes the
// next, which no longer blocks. A control without the limit shows one
// worker per blocked splice, so the limit is what the first check sees.
// Each run is in a thread of its own: io-wq belongs to the submitting
// thread, so its limits and workers go with that thread.
#include <dirent.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tests/faults/faults_support.h"
#include "uring/register.h"

using namespace uring;
using namespace uring::faults;

namespace {

// Threads of this process named iou-wrk-* (io-wq workers).
int worker_count() {
  DIR* dir = ::opendir("/proc/self/task");
  if (!dir) return -1;
  int count = 0;
  while (const dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] == '.') continue;
    const std::string path = std::string("/proc/self/task/") + entry->d_name + "/comm";
    std::FILE* file = std::fopen(path.c_str(), "r");
    if (!file) continue;
    char comm[32] = {};
    if (std::fgets(comm, sizeof comm, file) && std::strncmp(comm, "iou-wrk-", 8) == 0) ++count;
    std::fclose(file);
  }
  ::closedir(dir);
  return count;
}

constexpr int kSplices = 6;
constexpr int kReads = 6;

struct RunResult {
  bool setup_ok = false;
  std::string setup_error;
  int workers_seen_max = 0;      // most workers seen while the splices blocked
  bool workers_reached = false;  // the expected number of workers showed up
  bool all_completed = false;
  std::vector<Cqe> cqes;
  std::string moved;  // what the splices moved, pipe by pipe
};

// In the calling thread: a ring whose io-wq is limited to `limit` workers
// per pool (0: no limit), kSplices splices that block, kReads forced-async
// reads; then every pipe written and every CQE reaped.
void run(unsigned limit, RunResult& result) {
  RingOptions options;
  options.entries = 32;
  auto created = testing::create_ring(options);
  if (!created.ok()) {
    result.setup_error = created.error().message;
    return;
  }
  Ring& ring = created.value();
  // A NOP first: the thread has an io-wq from its first submission on.
  prep_nop(*ring.get_sqe()).set_user_data(99);
  if (ring.submit_and_wait(1) != 1 || ring.peek_cqe() == nullptr) {
    result.setup_error = "the first NOP did not complete";
    return;
  }
  ring.advance(1);
  if (limit != 0) {
    auto previous = set_iowq_max_workers(ring, {.bounded = limit, .unbounded = limit});
    if (!previous.ok()) {
      result.setup_error = previous.error().message;
      return;
    }
  }
  result.setup_ok = true;

  std::vector<std::unique_ptr<Pipe>> in, out, reads;
  char buf[kReads] = {};
  for (int i = 0; i < kSplices; ++i) {
    in.push_back(std::make_unique<Pipe>());
    out.push_back(std::make_unique<Pipe>());
    prep_splice(*ring.get_sqe(), in[i]->r, kCurrentPosition, out[i]->w, kCurrentPosition, 1)
        .set_user_data(100 + i)
        .force_async();
  }
  for (int i = 0; i < kReads; ++i) {
    reads.push_back(std::make_unique<Pipe>());
    prep_read(*ring.get_sqe(), reads[i]->r, &buf[i], 1, kCurrentPosition).set_user_data(200 + i).force_async();
  }
  if (ring.submit() != kSplices + kReads) {
    result.setup_ok = false;
    result.setup_error = "submit did not take every SQE";
    return;
  }

  // While nothing is written: the workers the splices hold.
  const int expected = limit != 0 ? static_cast<int>(limit) : kSplices;
  result.workers_reached = testing::eventually(
      [&] {
        const int now = worker_count();
        if (now > result.workers_seen_max) result.workers_seen_max = now;
        return now >= expected;
      },
      20000ms);
  if (limit != 0) {
    // Watch a while longer: a second worker would show up here.
    const auto until = std::chrono::steady_clock::now() + 300ms;
    while (std::chrono::steady_clock::now() < until) {
      const int now = worker_count();
      if (now > result.workers_seen_max) result.workers_seen_max = now;
      std::this_thread::sleep_for(2ms);
    }
  }
  if (ring.cq_ready() != 0) {
    result.setup_error = "a request completed before its pipe was written";
  }

  // Write everything, in reverse order of submission for the splices: the
  // one worker still gets through them all.
  for (int i = kSplices - 1; i >= 0; --i) {
    const char c = static_cast<char>('a' + i);
    if (::write(in[i]->w, &c, 1) != 1) return;
  }
  for (int i = 0; i < kReads; ++i) {
    if (!reads[i]->put(static_cast<char>('A' + i))) return;
  }
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (result.cqes.size() < static_cast<std::size_t>(kSplices + kReads) &&
         std::chrono::steady_clock::now() < deadline) {
    const int ret = ring.wait_cqes(1, WaitOptions{.timeout = 200ms});
    if (ret != 0 && ret != -ETIME && ret != -EINTR) break;
    ring.for_each_cqe([&](const Cqe& cqe) { result.cqes.push_back(cqe); });
  }
  result.all_completed = result.cqes.size() == static_cast<std::size_t>(kSplices + kReads);
  for (int i = 0; i < kSplices; ++i) {
    char c = 0;
    result.moved += ::read(out[i]->r, &c, 1) == 1 ? c : '?';
  }
  result.moved += std::string(buf, kReads);
}

void check_completions(const RunResult& result) {
  CHECK(result.all_completed);
  std::vector<int> splices(kSplices, 0), reads(kReads, 0);
  for (const Cqe& cqe : result.cqes) {
    INFO("user_data " << cqe.data() << " result " << cqe.result());
    CHECK(cqe.result() == 1);
    if (cqe.data() >= 100 && cqe.data() < 100 + kSplices) {
      ++splices[cqe.data() - 100];
    } else if (cqe.data() >= 200 && cqe.data() < 200 + kReads) {
      ++reads[cqe.data() - 200];
    } else {
      FAIL_CHECK("unexpected CQE");
    }
  }
  for (int i = 0; i < kSplices; ++i) CHECK(splices[i] == 1);
  for (int i = 0; i < kReads; ++i) CHECK(reads[i] == 1);
  CHECK(result.moved == "abcdefABCDEF");
}

RunResult run_in_thread(unsigned limit) {
  // Workers of an earlier run exit with its thread: start from none.
  CHECK(testing::eventually([] { return worker_count() == 0; }, 20000ms));
  RunResult result;
  std::thread thread([&] { run(limit, result); });
  thread.join();
  INFO("setup: " << result.setup_error);
  REQUIRE(result.setup_ok);
  CHECK(result.setup_error.empty());
  return result;
}

}  // namespace

TEST_CASE("io-wq limited to 1 worker: blocked splices and async reads all complete once written, never a second worker") {
  URING_REQUIRE(testing::missing_op(abi::IORING_OP_SPLICE));
  URING_REQUIRE(testing::missing_register_op(abi::IORING_REGISTER_IOWQ_MAX_WORKERS));
  const RunResult result = run_in_thread(1);
  CHECK(result.workers_reached);
  CHECK(result.workers_seen_max == 1);
  check_completions(result);
}

TEST_CASE("io-wq without a limit: one worker per blocked splice (the control for the limit)") {
  URING_REQUIRE(testing::missing_op(abi::IORING_OP_SPLICE));
  const RunResult result = run_in_thread(0);
  CHECK(result.workers_reached);
  CHECK(result.workers_seen_max >= kSplices);
  check_completions(result);
}
