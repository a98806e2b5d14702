// Must fail under ASan: memory lost for good, reported by LeakSanitizer at
// exit, after doctest has printed a clean summary.
#include <cstdint>

#include "tests/support/test_support.h"

namespace {

int* volatile g_sink = nullptr;

TEST_CASE("canary: leaks 4 KiB (LeakSanitizer reports it at exit)") {
  g_sink = new int[1024];
  g_sink[7] = 7;
  CHECK(g_sink[7] == 7);
  g_sink = nullptr;  // the last pointer to it is gone
}

}  // namespace
