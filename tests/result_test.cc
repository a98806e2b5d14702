// uring::Result<T>: what value(), error() and code() give on success and on
// failure.
#include <cerrno>
#include <climits>
#include <cstring>
#include <string>

#include "tests/support/test_support.h"
#include "uring/result.h"

using namespace uring;

TEST_CASE("error() on a success is an Error with code 0 and an empty message, never a throw") {
  const Result<int> ok = 42;
  REQUIRE(ok.ok());
  // doctest evaluates REQUIRE_MESSAGE's message even when the check passes
  // (e.g. with -s), so code like REQUIRE_MESSAGE(r.ok(), r.error().message)
  // calls error() on successes.
  CHECK_NOTHROW((void)ok.error());
  const Error* first = nullptr;
  try {
    first = &ok.error();
  } catch (...) {
    FAIL("error() threw on a success");
  }
  REQUIRE(first != nullptr);
  CHECK(first->code == 0);
  CHECK(first->message.empty());
  CHECK(ok.code() == 0);
  CHECK(ok.value() == 42);

  // Every success hands out the same shared, empty Error.
  const Status done = ok_status();
  REQUIRE(done.ok());
  CHECK_NOTHROW((void)done.error());
  try {
    CHECK(&done.error() == first);
  } catch (...) {
    FAIL("error() threw on a success");
  }
}

TEST_CASE("error() on a failure is that failure; code() is its errno") {
  const Result<int> failed = error_from_errno(-EBADF, "io_uring_register(PROBE)");
  REQUIRE_FALSE(failed.ok());
  CHECK_FALSE(static_cast<bool>(failed));
  CHECK(failed.error().code == EBADF);
  CHECK(failed.code() == EBADF);
  CHECK(failed.error().message == "io_uring_register(PROBE): Bad file descriptor (EBADF)");

  const Status refused = Error{EPERM, "not allowed; ask for less"};
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.code() == EPERM);
  CHECK(refused.error().message == "not allowed; ask for less");
}

// Every errno Linux has (1..133; 41 and 58 are unused) has its name, so no
// message ends in "(E?)". On glibc 2.32+ the names are checked against
// strerrorname_np; elsewhere against strerror knowing the number.
TEST_CASE("errno_name names every errno 1..133") {
  int named = 0;
  for (int code = 1; code <= 133; ++code) {
    CAPTURE(code);
    const std::string name = errno_name(code);
    const std::string text = std::strerror(code);
    const bool exists = text.rfind("Unknown error", 0) != 0;
    if (!exists) {
      CHECK(name == "E?");
      continue;
    }
    CAPTURE(text);
    CHECK(name != "E?");
    CHECK(name.size() > 1);
    CHECK(name[0] == 'E');
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 32))
    const char* glibc = ::strerrorname_np(code);
    REQUIRE(glibc != nullptr);
    CHECK(name == std::string(glibc));
#endif
    ++named;
  }
  CHECK(named == 131);
  CHECK(std::string(errno_name(0)) == "E?");
  CHECK(std::string(errno_name(134)) == "E?");
  CHECK(std::string(errno_name(-1)) == "E?");
  CHECK(std::string(errno_name(ECONNABORTED)) == "ECONNABORTED");
  CHECK(error_from_errno(-EHOSTUNREACH, "connect").message.find("(EHOSTUNREACH)") != std::string::npos);
}

// Kernel-internal codes (include/linux/errno.h, 512..531) are not in any
// user-space header, yet some reach CQEs as they are: a splice interrupted in
// its io-wq worker posts -ERESTARTSYS (512), a driver's -ENOTSUPP (524)
// passes through a uring_cmd. Review of 4fd6d6d: they said "E?".
TEST_CASE("errno_name names the kernel-internal codes a CQE can carry (512..531)") {
  CHECK(std::string(errno_name(512)) == "ERESTARTSYS");
  CHECK(std::string(errno_name(513)) == "ERESTARTNOINTR");
  CHECK(std::string(errno_name(514)) == "ERESTARTNOHAND");
  CHECK(std::string(errno_name(516)) == "ERESTART_RESTARTBLOCK");
  CHECK(std::string(errno_name(524)) == "ENOTSUPP");
  CHECK(std::string(errno_name(529)) == "EIOCBQUEUED");
  CHECK(std::string(errno_name(520)) == "E?");  // no such code
  CHECK(std::string(errno_name(531)) == "ENOGRACE");
  CHECK(std::string(errno_name(532)) == "E?");
  const Error restart = error_from_errno(-512, "splice");
  CHECK(restart.code == 512);
  CHECK(restart.message.find("(ERESTARTSYS)") != std::string::npos);
  CHECK(restart.message.find("kernel-internal") != std::string::npos);  // strerror says only "Unknown error 512"
}

// Review of 4fd6d6d: error_from_errno negated INT_MIN (undefined behaviour,
// UBSan flags it); a result no errno has still gets a message, never UB.
TEST_CASE("error_from_errno of INT_MIN or INT_MAX: a message, no overflow") {
  const Error low = error_from_errno(INT_MIN, "call");
  CHECK(low.code > 0);
  CHECK(low.message.find("call: ") == 0);
  CHECK(low.message.find("(E?)") != std::string::npos);
  const Error high = error_from_errno(INT_MAX, "call");
  CHECK(high.code == INT_MAX);
  CHECK(high.message.find("(E?)") != std::string::npos);
}
