// Must fail to build in every pass: CI proves that a target that cannot be
// built is counted as a failure, not silently left out.
#include "tests/support/test_support.h"

TEST_CASE("canary: never compiles") { this_name_is_not_declared_anywhere(); }
