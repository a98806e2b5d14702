#include "uring/result.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace uring {

namespace detail {
void die_on_failed_result(const Error& error) {
  std::fprintf(stderr, "uring: value() called on a failed result: %s\n", error.message.c_str());
  std::abort();
}

const Error& no_error() {
  // Built on first use and never destroyed, so it stays valid for code that
  // runs during static destruction.
  static const Error* const none = new Error{};
  return *none;
}
}  // namespace detail

const char* errno_name(int positive_errno) {
  switch (positive_errno) {
    case EPERM: return "EPERM";
    case ENOENT: return "ENOENT";
    case ESRCH: return "ESRCH";
    case EINTR: return "EINTR";
    case EIO: return "EIO";
    case ENXIO: return "ENXIO";
    case E2BIG: return "E2BIG";
    case EBADF: return "EBADF";
    case EAGAIN: return "EAGAIN";
    case ENOMEM: return "ENOMEM";
    case EACCES: return "EACCES";
    case EFAULT: return "EFAULT";
    case EBUSY: return "EBUSY";
    case EEXIST: return "EEXIST";
    case EXDEV: return "EXDEV";
    case ENODEV: return "ENODEV";
    case EINVAL: return "EINVAL";
    case ENFILE: return "ENFILE";
    case EMFILE: return "EMFILE";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    case ENOSYS: return "ENOSYS";
    case EOVERFLOW: return "EOVERFLOW";
    case ETIME: return "ETIME";
    case ECANCELED: return "ECANCELED";
    case ENOBUFS: return "ENOBUFS";
    case EALREADY: return "EALREADY";
    case ETIMEDOUT: return "ETIMEDOUT";
    case ERANGE: return "ERANGE";
    // What io_uring calls and requests also answer: unnamed, a message
    // ended in "(E?)" (EBADFD: enable() twice, restrictions after enable()).
    case EBADFD: return "EBADFD";
    case EOWNERDEAD: return "EOWNERDEAD";
    case EBADR: return "EBADR";
    case ENOSPC: return "ENOSPC";
    case EPIPE: return "EPIPE";
    case ESPIPE: return "ESPIPE";
    case ENOTDIR: return "ENOTDIR";
    case EISDIR: return "EISDIR";
    case ENOTEMPTY: return "ENOTEMPTY";
    case ENAMETOOLONG: return "ENAMETOOLONG";
    case ELOOP: return "ELOOP";
    case EROFS: return "EROFS";
    case ENOTTY: return "ENOTTY";
    case EFBIG: return "EFBIG";
    case ECHILD: return "ECHILD";
    case ENODATA: return "ENODATA";
    case ENOTSOCK: return "ENOTSOCK";
    case ENOTCONN: return "ENOTCONN";
    case ECONNRESET: return "ECONNRESET";
    case ECONNREFUSED: return "ECONNREFUSED";
    case EMSGSIZE: return "EMSGSIZE";
    case EADDRINUSE: return "EADDRINUSE";
    case EAFNOSUPPORT: return "EAFNOSUPPORT";
    case EPROTONOSUPPORT: return "EPROTONOSUPPORT";
    default: return "E?";
  }
}

Error error_from_errno(int negative_errno, const std::string& what) {
  const int code = negative_errno < 0 ? -negative_errno : negative_errno;
  std::string message = what + ": " + std::strerror(code) + " (" + errno_name(code) + ")";
  return Error{code, std::move(message)};
}

}  // namespace uring
