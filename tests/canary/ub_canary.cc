// Must fail under UBSan: a signed integer overflow (-fno-sanitize-recover
// turns the report into an abort).
#include <climits>

#include "tests/support/test_support.h"

namespace {

volatile int g_big = INT_MAX;

TEST_CASE("canary: overflows a signed int (UBSan reports it)") {
  int value = g_big;
  value += g_big;  // undefined behaviour
  CHECK(value != 0);
}

}  // namespace
