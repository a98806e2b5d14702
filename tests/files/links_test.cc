// SQE flags on file ops: IO_LINK, IO_HARDLINK, IO_DRAIN, ASYNC,
// CQE_SKIP_SUCCESS, and the personality field.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>

#include "tests/files/files_test_util.h"
#include "tests/support/kernel_features.h"

using namespace uring;
using namespace uring::files_test;

namespace {

std::map<std::uint64_t, int> by_tag(const std::vector<Completion>& cqes) {
  std::map<std::uint64_t, int> results;
  for (const Completion& c : cqes) {
    CHECK(results.count(c.data) == 0);  // each user_data exactly once
    results[c.data] = c.res;
  }
  return results;
}

constexpr uid_t kNobody = 65534;

// Why this process cannot switch its effective uid from root to nobody and
// back, or "" if it can: it must be root, and uid 65534 must exist in its
// user namespace (Bazel's sandbox maps only the caller's own uid). Decided
// from geteuid() and /proc/self/uid_map, before anything is tried.
std::string cannot_become_nobody() {
  if (::geteuid() != 0) return "this test runs as uid " + std::to_string(::geteuid()) + ", not root";
  std::ifstream map("/proc/self/uid_map");
  unsigned long inside = 0, outside = 0, count = 0;
  while (map >> inside >> outside >> count) {
    if (kNobody >= inside && kNobody - inside < count) return {};
  }
  return "uid 65534 is not mapped in this user namespace (/proc/self/uid_map)";
}

}  // namespace

TEST_CASE("IO_LINK: a failed member cancels the rest of the chain with -ECANCELED, and they do not run") {
  Ring ring = make_ring();
  testing::TempDir dir;
  const std::string path = dir.path() + "/chain";
  Fd fd(::open(path.c_str(), O_RDWR | O_CREAT, 0644));
  REQUIRE(fd.get() >= 0);
  char buf[8];

  prep_write(*ring.get_sqe(), fd.get(), "one", 3, 0).set_user_data(1).link();
  prep_read(*ring.get_sqe(), -1, buf, sizeof buf, 0).set_user_data(2).link();  // fails: bad fd
  prep_write(*ring.get_sqe(), fd.get(), "two", 3, 3).set_user_data(3).link();
  prep_fsync(*ring.get_sqe(), fd.get()).set_user_data(4);
  prep_write(*ring.get_sqe(), fd.get(), "!", 1, 10).set_user_data(5);  // not in the chain
  auto results = by_tag(submit_and_collect(ring, 5));
  REQUIRE(results.size() == 5);
  CHECK(results[1] == 3);
  CHECK(results[2] == -EBADF);
  CHECK(results[3] == -ECANCELED);
  CHECK(results[4] == -ECANCELED);
  CHECK(results[5] == 1);
  const std::string content = file_content(path);
  CHECK(content.substr(0, 3) == "one");
  CHECK(content.substr(3, 3) == std::string(3, '\0'));  // "two" never written
  CHECK(content.size() == 11);

  // A short read also breaks a chain (the kernel counts it as a failure).
  prep_read(*ring.get_sqe(), fd.get(), buf, sizeof buf, 8).set_user_data(6).link();  // 3 of 8 bytes
  prep_write(*ring.get_sqe(), fd.get(), "x", 1, 0).set_user_data(7);
  results = by_tag(submit_and_collect(ring, 2));
  CHECK(results[6] == 3);
  CHECK(results[7] == -ECANCELED);
}

TEST_CASE("IO_HARDLINK: the next member runs whatever the result, in order") {
  Ring ring = make_ring();
  testing::TempDir dir;
  const std::string path = dir.path() + "/hard";
  Fd fd(::open(path.c_str(), O_RDWR | O_CREAT, 0644));
  REQUIRE(fd.get() >= 0);
  char buf[8];

  prep_read(*ring.get_sqe(), -1, buf, sizeof buf, 0).set_user_data(1).hardlink();
  prep_write(*ring.get_sqe(), fd.get(), "ran", 3, 0).set_user_data(2).hardlink();
  prep_read(*ring.get_sqe(), fd.get(), buf, sizeof buf, 0).set_user_data(3);  // sees the write
  const auto cqes = submit_and_collect(ring, 3);
  auto results = by_tag(cqes);
  CHECK(results[1] == -EBADF);
  CHECK(results[2] == 3);
  CHECK(results[3] == 3);
  CHECK(std::string(buf, 3) == "ran");
  // A chain completes in order.
  REQUIRE(cqes.size() == 3);
  CHECK(cqes[0].data == 1);
  CHECK(cqes[1].data == 2);
  CHECK(cqes[2].data == 3);
}

TEST_CASE("IO_DRAIN: a drained request waits for everything before it, and everything after waits for it") {
  Ring ring = make_ring();
  int p[2];
  REQUIRE(::pipe(p) == 0);
  Fd read_end(p[0]), write_end(p[1]);
  testing::TempDir dir;
  const std::string path = make_file(dir, "drained", "drain");
  Fd fd(::open(path.c_str(), O_RDONLY));
  REQUIRE(fd.get() >= 0);

  char pipe_buf[8] = {}, file_buf[8] = {}, after_buf[8] = {};
  prep_read(*ring.get_sqe(), read_end.get(), pipe_buf, sizeof pipe_buf, kCurrentPosition).set_user_data(1);
  prep_read(*ring.get_sqe(), fd.get(), file_buf, sizeof file_buf, 0).set_user_data(2).drain();
  prep_read(*ring.get_sqe(), fd.get(), after_buf, sizeof after_buf, 0).set_user_data(3);
  REQUIRE(ring.submit() == 3);
  // The pipe is empty, so request 1 waits; 2 is drained behind it and 3 behind 2.
  // (A file read that was free to run completes during the submit itself:
  // the second half of this test shows it.)
  CHECK(ring.cq_ready() == 0);
  CHECK(std::string(file_buf, 5) != "drain");
  CHECK(std::string(after_buf, 5) != "drain");

  REQUIRE(::write(write_end.get(), "go", 2) == 2);
  const auto cqes = submit_and_collect(ring, 3);
  REQUIRE(cqes.size() == 3);
  CHECK(cqes[0].data == 1);
  CHECK(cqes[0].res == 2);
  CHECK(cqes[1].data == 2);
  CHECK(cqes[1].res == 5);
  CHECK(cqes[2].data == 3);
  CHECK(cqes[2].res == 5);
  CHECK(std::string(file_buf, 5) == "drain");

  // Without the drain, the file read does not wait for the pipe.
  prep_read(*ring.get_sqe(), read_end.get(), pipe_buf, sizeof pipe_buf, kCurrentPosition).set_user_data(4);
  prep_read(*ring.get_sqe(), fd.get(), file_buf, sizeof file_buf, 0).set_user_data(5);
  REQUIRE(ring.submit() == 2);
  auto first = submit_and_collect(ring, 1);
  REQUIRE(first.size() == 1);
  CHECK(first[0].data == 5);
  REQUIRE(::write(write_end.get(), "x", 1) == 1);
  auto second = submit_and_collect(ring, 1);
  REQUIRE(second.size() == 1);
  CHECK(second[0].data == 4);
}

TEST_CASE("CQE_SKIP_SUCCESS: no CQE when it succeeds, one when it fails") {
  Ring ring = make_ring();
  if (!ring.has_feature(abi::IORING_FEAT_CQE_SKIP)) {
    URING_SKIP("IOSQE_CQE_SKIP_SUCCESS needs IORING_FEAT_CQE_SKIP (Linux 5.17); this kernel is " +
               kernel_release());
  }
  testing::TempDir dir;
  const std::string path = dir.path() + "/skip";
  Fd fd(::open(path.c_str(), O_RDWR | O_CREAT, 0644));
  REQUIRE(fd.get() >= 0);
  char buf[8];

  prep_write(*ring.get_sqe(), fd.get(), "quiet", 5, 0).set_user_data(1).skip_success();
  prep_read(*ring.get_sqe(), -1, buf, sizeof buf, 0).set_user_data(2).skip_success();
  prep_fsync(*ring.get_sqe(), fd.get()).set_user_data(3);
  const auto cqes = submit_and_collect(ring, 2);
  auto results = by_tag(cqes);
  CHECK(results.size() == 2);
  CHECK(results.count(1) == 0);          // succeeded silently ...
  CHECK(file_content(path) == "quiet");  // ... but it did run
  CHECK(results[2] == -EBADF);
  CHECK(results[3] == 0);
  CHECK(collect_stray(ring).empty());

  // In a chain: the quiet member links to the next as usual.
  prep_write(*ring.get_sqe(), fd.get(), "Q", 1, 0).set_user_data(4).skip_success().link();
  prep_read(*ring.get_sqe(), fd.get(), buf, 5, 0).set_user_data(5);
  const auto chain = submit_and_collect(ring, 1);
  REQUIRE(chain.size() == 1);
  CHECK(chain[0].data == 5);
  CHECK(chain[0].res == 5);
  CHECK(std::string(buf, 5) == "Quiet");
  CHECK(collect_stray(ring).empty());
}

TEST_CASE("IOSQE_ASYNC: requests forced to io-wq still do the same work") {
  Ring ring = make_ring();
  testing::TempDir dir;
  const std::vector<unsigned char> data = random_bytes(256 * 1024, 9);
  const std::string path = make_file(dir, "async", data.data(), data.size());
  Fd fd(::open(path.c_str(), O_RDONLY));
  REQUIRE(fd.get() >= 0);
  std::vector<unsigned char> out(data.size());
  constexpr unsigned kChunk = 32 * 1024;
  for (unsigned i = 0; i < data.size() / kChunk; ++i) {
    Sqe* sqe = ring.get_sqe();
    REQUIRE(sqe != nullptr);
    CHECK((prep_read(*sqe, fd.get(), out.data() + i * kChunk, kChunk, i * kChunk).force_async().flags &
           abi::IOSQE_ASYNC) != 0);
    sqe->set_user_data(i);
  }
  const auto cqes = submit_and_collect(ring, 8);
  CHECK(cqes.size() == 8);
  for (const Completion& c : cqes) CHECK(c.res == static_cast<int>(kChunk));
  CHECK(out == data);
}

TEST_CASE("personality: a registered id runs the request with its credentials; an unknown id is -EINVAL") {
  URING_REQUIRE(testing::missing_register_op(abi::IORING_REGISTER_PERSONALITY));
  Ring ring = make_ring();
  const int id = ring.register_raw(abi::IORING_REGISTER_PERSONALITY, nullptr, 0);
  REQUIRE(id > 0);
  testing::TempDir dir;
  const std::string path = make_file(dir, "mine", "personal");
  char buf[16] = {};
  Fd fd(::open(path.c_str(), O_RDONLY));
  REQUIRE(fd.get() >= 0);

  CHECK(run_one(ring, [&](Sqe& s) {
          prep_read(s, fd.get(), buf, sizeof buf, 0).set_personality(static_cast<std::uint16_t>(id));
        }) == 8);
  CHECK(std::string(buf, 8) == "personal");
  CHECK(run_one(ring, [&](Sqe& s) {
          prep_read(s, fd.get(), buf, sizeof buf, 0).set_personality(static_cast<std::uint16_t>(id + 100));
        }) == -EINVAL);

  CHECK(ring.register_raw(abi::IORING_UNREGISTER_PERSONALITY, nullptr, static_cast<unsigned>(id)) == 0);
  CHECK(run_one(ring, [&](Sqe& s) {
          prep_read(s, fd.get(), buf, sizeof buf, 0).set_personality(static_cast<std::uint16_t>(id));
        }) == -EINVAL);
}

TEST_CASE("personality: with a registered root personality, a uid that may not open a file opens it") {
  URING_REQUIRE(testing::missing_register_op(abi::IORING_REGISTER_PERSONALITY));
  URING_REQUIRE(cannot_become_nobody());
  Ring ring = make_ring();
  const int id = ring.register_raw(abi::IORING_REGISTER_PERSONALITY, nullptr, 0);  // root's credentials
  REQUIRE(id > 0);
  testing::TempDir dir;
  const std::string secret = make_file(dir, "secret", "root only");
  REQUIRE(::chmod(secret.c_str(), 0600) == 0);
  REQUIRE(::chmod(dir.path().c_str(), 0755) == 0);

  // Drop the effective uid (the kernel then drops the capabilities too),
  // try the open without and with the personality, and become root again.
  struct RestoreRoot {  // also when a REQUIRE below throws
    ~RestoreRoot() { CHECK(::seteuid(0) == 0); }
  };
  int denied = 0, allowed = -1;
  {
    REQUIRE(::seteuid(kNobody) == 0);
    RestoreRoot restore;
    denied = run_one(ring, [&](Sqe& s) { prep_openat(s, AT_FDCWD, secret.c_str(), O_RDONLY, 0); });
    allowed = run_one(ring, [&](Sqe& s) {
      prep_openat(s, AT_FDCWD, secret.c_str(), O_RDONLY, 0).set_personality(static_cast<std::uint16_t>(id));
    });
  }
  CHECK(::geteuid() == 0);
  CHECK(denied == -EACCES);
  REQUIRE(allowed >= 0);
  char buf[16] = {};
  CHECK(::read(allowed, buf, sizeof buf) == 9);
  CHECK(std::string(buf, 9) == "root only");
  ::close(allowed);
  if (denied >= 0) ::close(denied);
  CHECK(ring.register_raw(abi::IORING_UNREGISTER_PERSONALITY, nullptr, static_cast<unsigned>(id)) == 0);
}
