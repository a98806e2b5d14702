// Must fail in every pass: the test cases pass and doctest prints a clean
// summary, then a static destructor aborts the process.
#include <cstdio>
#include <cstdlib>

#include "tests/support/test_support.h"

namespace {

struct AbortsAtExit {
  ~AbortsAtExit() {
    std::fprintf(stderr, "exit_crash_canary: aborting in a static destructor\n");
    std::abort();
  }
} g_aborts_at_exit;

TEST_CASE("canary: passes, then the process aborts at exit") { CHECK(1 + 1 == 2); }

}  // namespace
