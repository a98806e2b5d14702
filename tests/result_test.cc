// uring::Result<T>: what value(), error() and code() give on success and on
// failure.
#include <cerrno>
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
