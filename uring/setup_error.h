// Turning a failed io_uring_setup into a message that says what to do.
// Internal to uring/ (ring.cc), public so tests can check each mapping
// without provoking it (e.g. EPERM from kernel.io_uring_disabled).
#pragma once

#include <optional>

#include "uring/result.h"

namespace uring {

struct RingOptions;

// Option combinations that can never work, caught before the system call.
std::optional<Error> check_setup_options(const RingOptions& options);

// The Error for io_uring_setup returning `negative_errno` with these options.
Error describe_setup_error(int negative_errno, const RingOptions& options);

}  // namespace uring
