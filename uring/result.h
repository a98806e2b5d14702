// Fallible calls return Result<T>: a value, or an Error that carries the errno
// and a message saying what to do. The library throws nothing. Hot-path calls
// don't use this: they return plain values (nullptr when the SQ is full).
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace uring {

struct Error {
  int code = 0;         // positive errno value (EINVAL, EPERM, ...)
  std::string message;  // one line: what failed, why, what to do
};

namespace detail {
[[noreturn]] void die_on_failed_result(const Error& error);
// The Error that error() returns for a success: code 0, empty message.
const Error& no_error();
}  // namespace detail

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::in_place_index<0>, std::move(value)) {}
  Result(Error error) : state_(std::in_place_index<1>, std::move(error)) {}

  bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }

  // Precondition: ok(). Checked with an assertion-like abort in every build,
  // because reading the value of a failed call is always a bug.
  T& value() & { return check(), std::get<0>(state_); }
  const T& value() const& { return check(), std::get<0>(state_); }
  T&& value() && { return check(), std::move(std::get<0>(state_)); }
  T* operator->() { return &value(); }
  T& operator*() { return value(); }

  // The failure. On success: an Error with code 0 and an empty message (one
  // shared static), never a throw or an abort, so a message built whether or
  // not the call failed (REQUIRE_MESSAGE(r.ok(), r.error().message)) is safe.
  const Error& error() const {
    if (const Error* failure = std::get_if<1>(&state_)) return *failure;
    return detail::no_error();
  }
  int code() const { return error().code; }  // 0 on success

 private:
  void check() const;
  std::variant<T, Error> state_;
};

// For calls that only succeed or fail.
struct Done {};
using Status = Result<Done>;
inline Status ok_status() { return Done{}; }

template <class T>
void Result<T>::check() const {
  if (state_.index() != 0) detail::die_on_failed_result(std::get<1>(state_));
}

// Builds an Error from a negative kernel return (-errno) and a context line:
// "io_uring_register(PROBE): Invalid argument (EINVAL)".
Error error_from_errno(int negative_errno, const std::string& what);

// "EINVAL", "ENOMEM", ... ("E?" for an unknown value).
const char* errno_name(int positive_errno);

}  // namespace uring
