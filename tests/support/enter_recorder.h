// Which io_uring_enter calls a piece of code makes: the proof that a call
// did (or did not) enter the kernel, with the arguments it passed.
//
// record_enters(fn) runs fn on a new thread under a seccomp filter that turns
// every io_uring_enter of that thread into a user notification
// (SECCOMP_RET_USER_NOTIF, Linux 5.0; CONTINUE, 5.5). The calling thread
// notes each call's arguments and lets it run unchanged
// (SECCOMP_USER_NOTIF_FLAG_CONTINUE), so fn behaves exactly as it would
// unwatched. The filter dies with the thread.
//
// fn runs on another thread: a ring with a registered fd enters through its
// plain fd there, and a SINGLE_ISSUER ring refuses it (-EEXIST) — the call
// is still recorded.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace uring::testing {

struct EnterCall {
  int fd = -1;
  unsigned to_submit = 0;
  unsigned min_complete = 0;
  unsigned flags = 0;
};

// The io_uring_enter calls fn made, in order; nullopt if the filter could not
// be installed (check missing_enter_recorder() first, in URING_REQUIRE).
std::optional<std::vector<EnterCall>> record_enters(const std::function<void()>& fn);

// Empty when record_enters works here, else why not (for URING_REQUIRE).
std::string missing_enter_recorder();

}  // namespace uring::testing
