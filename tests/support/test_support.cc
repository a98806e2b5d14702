// doctest's main for every test binary, plus the helpers of test_support.h.
#define DOCTEST_CONFIG_IMPLEMENT
#include "tests/support/test_support.h"

#include <dirent.h>
#include <ftw.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>
#include <string>

namespace uring::testing {
namespace {

std::string g_current_test;
std::set<std::string> g_skipped;

// Remembers which test case is running, so a skip can name it.
struct CurrentTestListener : doctest::IReporter {
  explicit CurrentTestListener(const doctest::ContextOptions&) {}
  void report_query(const doctest::QueryData&) override {}
  void test_run_start() override {}
  void test_run_end(const doctest::TestRunStats&) override {}
  void test_case_start(const doctest::TestCaseData& data) override { g_current_test = data.m_name; }
  void test_case_reenter(const doctest::TestCaseData&) override {}
  void test_case_end(const doctest::CurrentTestCaseStats&) override {}
  void test_case_exception(const doctest::TestCaseException&) override {}
  void subcase_start(const doctest::SubcaseSignature&) override {}
  void subcase_end() override {}
  void log_assert(const doctest::AssertData&) override {}
  void log_message(const doctest::MessageData&) override {}
  void test_case_skipped(const doctest::TestCaseData&) override {}
};

}  // namespace

void report_skip(const std::string& reason) {
  g_skipped.insert(g_current_test);
  std::printf("uring-skip: [%s] %s\n", g_current_test.c_str(), reason.c_str());
  std::fflush(stdout);
}

Result<Ring> create_ring(const RingOptions& options) {
  Result<Ring> ring = Ring::create(options);
  for (int attempt = 0; !ring && ring.error().code == ENOMEM && attempt < 10000; ++attempt) {
    ::usleep(1000);
    ring = Ring::create(options);
  }
  return ring;
}

Sqe& next_sqe(Ring& ring) {
  Sqe* sqe = ring.get_sqe();
  REQUIRE(sqe != nullptr);
  return *sqe;
}

std::vector<Cqe> reap(Ring& ring, unsigned count, std::chrono::milliseconds timeout) {
  std::vector<Cqe> out;
  REQUIRE(ring.submit() >= 0);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (out.size() < count) {
    if (Cqe* cqe = ring.peek_cqe()) {
      out.push_back(*cqe);
      ring.cqe_seen(cqe);
      continue;
    }
    const auto left = deadline - std::chrono::steady_clock::now();
    WaitOptions options;
    options.timeout = left;
    const int ret = left > std::chrono::nanoseconds(0) ? ring.wait_cqes(1, options) : -ETIME;
    if (ret == -ETIME) {
      FAIL("timed out: " << out.size() << " of " << count << " CQEs arrived");
    }
    REQUIRE(ret == 0);
  }
  return out;
}

Cqe reap_one(Ring& ring, std::chrono::milliseconds timeout) { return reap(ring, 1, timeout)[0]; }

bool blocked_in_syscall(pid_t tid, long number) {
  const std::string path = "/proc/self/task/" + std::to_string(tid) + "/syscall";
  FILE* file = std::fopen(path.c_str(), "r");
  if (!file) return false;
  long current = -1;
  const bool read = std::fscanf(file, "%ld", &current) == 1;
  std::fclose(file);
  return read && current == number;
}

int open_fd_count() {
  DIR* dir = ::opendir("/proc/self/fd");
  if (!dir) return -1;
  int count = 0;
  while (dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] != '.') ++count;
  }
  ::closedir(dir);
  return count - 1;  // the directory stream's own fd
}

int mapping_count(const char* containing) {
  FILE* maps = std::fopen("/proc/self/maps", "r");
  if (!maps) return -1;
  int count = 0;
  char line[4096];
  while (std::fgets(line, sizeof line, maps)) {
    if (!containing || std::strstr(line, containing)) ++count;
  }
  std::fclose(maps);
  return count;
}

bool MappingSnapshot::operator==(const MappingSnapshot& other) const {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  return io_uring == other.io_uring;
#else
  return io_uring == other.io_uring && all == other.all;
#endif
}

TempDir::TempDir() {
  const char* base = std::getenv("TEST_TMPDIR");
  std::string templ = std::string(base && *base ? base : "/tmp") + "/uring-test-XXXXXX";
  if (::mkdtemp(templ.data()) == nullptr) {
    std::perror("mkdtemp");
    std::abort();
  }
  path_ = templ;
}

TempDir::~TempDir() {
  ::nftw(
      path_.c_str(),
      [](const char* path, const struct stat*, int, struct FTW*) { return ::remove(path); }, 16,
      FTW_DEPTH | FTW_PHYS);
}

}  // namespace uring::testing

DOCTEST_REGISTER_LISTENER("uring-current-test", 1, uring::testing::CurrentTestListener);

int main(int argc, char** argv) {
  doctest::Context context(argc, argv);
  const int status = context.run();
  // One summary line for .ci/run: test cases that skipped (they also count
  // as passed in doctest's own line above).
  std::printf("uring-skipped-test-cases: %zu\n", uring::testing::g_skipped.size());
  return status;
}
