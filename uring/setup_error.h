// Turning a failed io_uring_setup into a message that says what to do.
// Internal to uring/ (ring.cc), public so tests can check each mapping
// without provoking it (e.g. EPERM from kernel.io_uring_disabled).
#pragma once

#include <cstdint>
#include <optional>

#include "uring/result.h"

namespace uring {

struct RingOptions;

// Option combinations that can never work, caught before the system call.
std::optional<Error> check_setup_options(const RingOptions& options);

// The Error for io_uring_setup returning `negative_errno` with these options.
Error describe_setup_error(int negative_errno, const RingOptions& options);

// This process's PID namespace (the inode of /proc/self/ns/pid; 0 when /proc
// cannot say): with getpid(), which process made a Ring (Ring::create
// records both), as describe_setup_error needs it for attach_wq.
std::uint64_t pid_namespace_id();

}  // namespace uring
