#include "uring/result.h"

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

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

namespace {
struct ErrnoName {
  int code;
  const char* name;
};
// Every errno Linux defines (asm-generic/errno-base.h, errno.h: 1..133 on
// most architectures), by its macro, so the numbers are this platform's.
// A table rather than strerrorname_np (glibc 2.32+ only): the library also
// builds with other C libraries. Aliases (EWOULDBLOCK, EDEADLOCK, ENOTSUP)
// share a number with the name listed, which is the one glibc gives.
#define URING_ERRNO(name) {name, #name}
constexpr ErrnoName kErrnoNames[] = {
    URING_ERRNO(EPERM), URING_ERRNO(ENOENT), URING_ERRNO(ESRCH), URING_ERRNO(EINTR), URING_ERRNO(EIO),
    URING_ERRNO(ENXIO), URING_ERRNO(E2BIG), URING_ERRNO(ENOEXEC), URING_ERRNO(EBADF), URING_ERRNO(ECHILD),
    URING_ERRNO(EAGAIN), URING_ERRNO(ENOMEM), URING_ERRNO(EACCES), URING_ERRNO(EFAULT), URING_ERRNO(ENOTBLK),
    URING_ERRNO(EBUSY), URING_ERRNO(EEXIST), URING_ERRNO(EXDEV), URING_ERRNO(ENODEV), URING_ERRNO(ENOTDIR),
    URING_ERRNO(EISDIR), URING_ERRNO(EINVAL), URING_ERRNO(ENFILE), URING_ERRNO(EMFILE), URING_ERRNO(ENOTTY),
    URING_ERRNO(ETXTBSY), URING_ERRNO(EFBIG), URING_ERRNO(ENOSPC), URING_ERRNO(ESPIPE), URING_ERRNO(EROFS),
    URING_ERRNO(EMLINK), URING_ERRNO(EPIPE), URING_ERRNO(EDOM), URING_ERRNO(ERANGE), URING_ERRNO(EDEADLK),
    URING_ERRNO(ENAMETOOLONG), URING_ERRNO(ENOLCK), URING_ERRNO(ENOSYS), URING_ERRNO(ENOTEMPTY),
    URING_ERRNO(ELOOP), URING_ERRNO(ENOMSG), URING_ERRNO(EIDRM), URING_ERRNO(ECHRNG), URING_ERRNO(EL2NSYNC),
    URING_ERRNO(EL3HLT), URING_ERRNO(EL3RST), URING_ERRNO(ELNRNG), URING_ERRNO(EUNATCH), URING_ERRNO(ENOCSI),
    URING_ERRNO(EL2HLT), URING_ERRNO(EBADE), URING_ERRNO(EBADR), URING_ERRNO(EXFULL), URING_ERRNO(ENOANO),
    URING_ERRNO(EBADRQC), URING_ERRNO(EBADSLT), URING_ERRNO(EBFONT), URING_ERRNO(ENOSTR), URING_ERRNO(ENODATA),
    URING_ERRNO(ETIME), URING_ERRNO(ENOSR), URING_ERRNO(ENONET), URING_ERRNO(ENOPKG), URING_ERRNO(EREMOTE),
    URING_ERRNO(ENOLINK), URING_ERRNO(EADV), URING_ERRNO(ESRMNT), URING_ERRNO(ECOMM), URING_ERRNO(EPROTO),
    URING_ERRNO(EMULTIHOP), URING_ERRNO(EDOTDOT), URING_ERRNO(EBADMSG), URING_ERRNO(EOVERFLOW),
    URING_ERRNO(ENOTUNIQ), URING_ERRNO(EBADFD), URING_ERRNO(EREMCHG), URING_ERRNO(ELIBACC),
    URING_ERRNO(ELIBBAD), URING_ERRNO(ELIBSCN), URING_ERRNO(ELIBMAX), URING_ERRNO(ELIBEXEC),
    URING_ERRNO(EILSEQ), URING_ERRNO(ERESTART), URING_ERRNO(ESTRPIPE), URING_ERRNO(EUSERS),
    URING_ERRNO(ENOTSOCK), URING_ERRNO(EDESTADDRREQ), URING_ERRNO(EMSGSIZE), URING_ERRNO(EPROTOTYPE),
    URING_ERRNO(ENOPROTOOPT), URING_ERRNO(EPROTONOSUPPORT), URING_ERRNO(ESOCKTNOSUPPORT),
    URING_ERRNO(EOPNOTSUPP), URING_ERRNO(EPFNOSUPPORT), URING_ERRNO(EAFNOSUPPORT), URING_ERRNO(EADDRINUSE),
    URING_ERRNO(EADDRNOTAVAIL), URING_ERRNO(ENETDOWN), URING_ERRNO(ENETUNREACH), URING_ERRNO(ENETRESET),
    URING_ERRNO(ECONNABORTED), URING_ERRNO(ECONNRESET), URING_ERRNO(ENOBUFS), URING_ERRNO(EISCONN),
    URING_ERRNO(ENOTCONN), URING_ERRNO(ESHUTDOWN), URING_ERRNO(ETOOMANYREFS), URING_ERRNO(ETIMEDOUT),
    URING_ERRNO(ECONNREFUSED), URING_ERRNO(EHOSTDOWN), URING_ERRNO(EHOSTUNREACH), URING_ERRNO(EALREADY),
    URING_ERRNO(EINPROGRESS), URING_ERRNO(ESTALE), URING_ERRNO(EUCLEAN), URING_ERRNO(ENOTNAM),
    URING_ERRNO(ENAVAIL), URING_ERRNO(EISNAM), URING_ERRNO(EREMOTEIO), URING_ERRNO(EDQUOT),
    URING_ERRNO(ENOMEDIUM), URING_ERRNO(EMEDIUMTYPE), URING_ERRNO(ECANCELED), URING_ERRNO(ENOKEY),
    URING_ERRNO(EKEYEXPIRED), URING_ERRNO(EKEYREVOKED), URING_ERRNO(EKEYREJECTED), URING_ERRNO(EOWNERDEAD),
    URING_ERRNO(ENOTRECOVERABLE), URING_ERRNO(ERFKILL), URING_ERRNO(EHWPOISON),
};
#undef URING_ERRNO

// The kernel's own codes (include/linux/errno.h, 512..531: "should never be
// seen by user programs"), which some CQEs carry all the same: an interrupted
// splice in an io-wq worker posts ERESTARTSYS, a driver's ENOTSUPP passes
// through.
// No user-space header defines them, so the numbers are written out.
constexpr ErrnoName kKernelInternalNames[] = {
    {512, "ERESTARTSYS"}, {513, "ERESTARTNOINTR"}, {514, "ERESTARTNOHAND"}, {515, "ENOIOCTLCMD"},
    {516, "ERESTART_RESTARTBLOCK"}, {517, "EPROBE_DEFER"}, {518, "EOPENSTALE"}, {519, "ENOPARAM"},
    {521, "EBADHANDLE"}, {522, "ENOTSYNC"}, {523, "EBADCOOKIE"}, {524, "ENOTSUPP"},
    {525, "ETOOSMALL"}, {526, "ESERVERFAULT"}, {527, "EBADTYPE"}, {528, "EJUKEBOX"},
    {529, "EIOCBQUEUED"}, {530, "ERECALLCONFLICT"}, {531, "ENOGRACE"},
};
}  // namespace

const char* errno_name(int positive_errno) {
  for (const ErrnoName& entry : kErrnoNames) {
    if (entry.code == positive_errno) return entry.name;
  }
  for (const ErrnoName& entry : kKernelInternalNames) {
    if (entry.code == positive_errno) return entry.name;
  }
  return "E?";
}

Error error_from_errno(int negative_errno, const std::string& what) {
  // INT_MIN has no positive int: it is no errno, so say it as it came.
  const int code = negative_errno == INT_MIN ? INT_MAX : negative_errno < 0 ? -negative_errno : negative_errno;
  std::string message = what + ": ";
  if (negative_errno == INT_MIN) {
    message += "result " + std::to_string(negative_errno) + ", which is no errno";
  } else if (code >= 512 && code <= 531) {
    message += "kernel-internal error " + std::to_string(code);
  } else {
    message += std::strerror(code);
  }
  message += std::string(" (") + errno_name(code) + ")";
  return Error{code, std::move(message)};
}

}  // namespace uring
