// Must fail under TSan: two threads write one plain int with no ordering.
#include <thread>

#include "tests/support/test_support.h"

namespace {

int g_counter = 0;

TEST_CASE("canary: two threads race on a plain int (ThreadSanitizer reports it)") {
  auto bump = [] {
    for (int i = 0; i < 100000; ++i) g_counter = g_counter + 1;
  };
  std::thread a(bump), b(bump);
  a.join();
  b.join();
  CHECK(g_counter > 0);
}

}  // namespace
