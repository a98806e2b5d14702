// The three io_uring system calls, raw.
//
// Each wrapper returns what the kernel returned: a value >= 0 on success, or
// -errno on failure. None of them reads or writes `errno`, so they are safe to
// call between a failing libc call and the code that inspects its errno.
//
// On x86_64 and aarch64 the call is a few lines of inline assembly (no libc in
// the path, which is what the hot path wants); elsewhere syscall(2) is used and
// errno is saved and restored around it.
#pragma once

#include <csignal>
#include <cstddef>

#include "syscalls/abi.h"

#if !defined(__x86_64__) && !defined(__aarch64__)
#include <cerrno>
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace uring::sys {

// The io_uring system call numbers are the same on every architecture that
// has them (they were added after the syscall tables were unified).
inline constexpr long kNrIoUringSetup = 425;
inline constexpr long kNrIoUringEnter = 426;
inline constexpr long kNrIoUringRegister = 427;

// Size of the kernel's sigset_t (_NSIG / 8), which io_uring_enter checks
// when a signal mask is passed without IORING_ENTER_EXT_ARG.
inline constexpr std::size_t kKernelSigsetSize = 64 / 8;

namespace detail {

inline long raw_syscall6(long nr, long a1, long a2, long a3, long a4, long a5, long a6) {
#if defined(__x86_64__)
  // Linux x86_64 convention: number in rax, arguments in rdi rsi rdx r10 r8
  // r9; the `syscall` instruction clobbers rcx and r11.
  register long r10 __asm__("r10") = a4;
  register long r8 __asm__("r8") = a5;
  register long r9 __asm__("r9") = a6;
  long ret;
  __asm__ volatile("syscall"
                   : "=a"(ret)
                   : "a"(nr), "D"(a1), "S"(a2), "d"(a3), "r"(r10), "r"(r8), "r"(r9)
                   : "rcx", "r11", "memory");
  return ret;
#elif defined(__aarch64__)
  // Linux aarch64 convention: number in x8, arguments in x0..x5, result in x0.
  register long x8 __asm__("x8") = nr;
  register long x0 __asm__("x0") = a1;
  register long x1 __asm__("x1") = a2;
  register long x2 __asm__("x2") = a3;
  register long x3 __asm__("x3") = a4;
  register long x4 __asm__("x4") = a5;
  register long x5 __asm__("x5") = a6;
  __asm__ volatile("svc 0"
                   : "+r"(x0)
                   : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5)
                   : "memory");
  return x0;
#else
  const int saved_errno = errno;
  long ret = ::syscall(nr, a1, a2, a3, a4, a5, a6);
  if (ret == -1) ret = -errno;
  errno = saved_errno;
  return ret;
#endif
}

}  // namespace detail

// io_uring_setup(2): creates a ring with room for `entries` SQEs, fills in
// `params` (offsets, features) and returns the ring's fd.
inline int io_uring_setup(unsigned entries, abi::io_uring_params* params) {
  return static_cast<int>(detail::raw_syscall6(kNrIoUringSetup, static_cast<long>(entries),
                                               reinterpret_cast<long>(params), 0, 0, 0, 0));
}

// io_uring_enter(2), general form: `arg`/`argsz` are a sigset_t and its size,
// or (with IORING_ENTER_EXT_ARG) an io_uring_getevents_arg and its size, or
// (with IORING_ENTER_EXT_ARG_REG) an offset into the registered wait region.
// Returns the number of SQEs consumed, or -errno.
inline int io_uring_enter(int ring_fd, unsigned to_submit, unsigned min_complete, unsigned flags,
                          const void* arg, std::size_t argsz) {
  return static_cast<int>(detail::raw_syscall6(
      kNrIoUringEnter, ring_fd, static_cast<long>(to_submit), static_cast<long>(min_complete),
      static_cast<long>(flags), reinterpret_cast<long>(arg), static_cast<long>(argsz)));
}

// io_uring_enter(2) with an optional signal mask to apply while waiting.
inline int io_uring_enter(int ring_fd, unsigned to_submit, unsigned min_complete, unsigned flags,
                          const sigset_t* sigmask = nullptr) {
  return io_uring_enter(ring_fd, to_submit, min_complete, flags, sigmask,
                        sigmask ? kKernelSigsetSize : 0);
}

// io_uring_register(2): `opcode` is an abi::io_uring_register_op, optionally
// or'ed with IORING_REGISTER_USE_REGISTERED_RING (then `ring_fd` is an index
// into the registered ring fds). Returns the opcode's result or -errno.
inline int io_uring_register(int ring_fd, unsigned opcode, const void* arg, unsigned nr_args) {
  return static_cast<int>(detail::raw_syscall6(kNrIoUringRegister, ring_fd,
                                               static_cast<long>(opcode),
                                               reinterpret_cast<long>(arg),
                                               static_cast<long>(nr_args), 0, 0));
}

}  // namespace uring::sys
