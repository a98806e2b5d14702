// The three io_uring system calls, raw.
//
// Each wrapper returns what the kernel returned: a value >= 0 on success, or
// -errno on failure. None of them reads or writes `errno`, so they are safe to
// call between a failing libc call and the code that inspects its errno.
//
// On x86_64 and aarch64 (LP64) the call is a few lines of inline assembly (no
// libc in the path, which is what the hot path wants), with the numbers
// 425/426/427. Elsewhere syscall(2) is used, with the numbers from
// <sys/syscall.h> (they differ by architecture: alpha 535..537, MIPS o32
// 4425.., n64 5425.., n32 6425.., x32 425 | __X32_SYSCALL_BIT), and errno is
// saved and restored around it.
//
// URING_SYSCALLS_FORCE_LIBC, defined before this header is included (e.g.
// copts = ["-DURING_SYSCALLS_FORCE_LIBC"]), selects the syscall(2) path on
// x86_64 and aarch64 too; //tests:syscalls_libc_test runs the syscall tests
// that way. The two paths' wrappers live in different inline namespaces
// (sys::via_libc, sys::via_asm), so a file built with the macro links with a
// uring/ built without it and each keeps its own path; to move uring/ itself
// to syscall(2), define it for the whole build.
#pragma once

#include <sys/syscall.h>

#include <csignal>
#include <cstddef>

#include "syscalls/abi.h"

#if defined(URING_SYSCALLS_FORCE_LIBC) || \
    !((defined(__x86_64__) || defined(__aarch64__)) && defined(__LP64__))
#define URING_SYSCALLS_VIA_LIBC 1
#include <cerrno>
#include <unistd.h>
#if !defined(__NR_io_uring_setup) || !defined(__NR_io_uring_enter) || !defined(__NR_io_uring_register)
#error "this libc's headers lack io_uring syscall numbers; use kernel headers 5.1+"
#endif
#else
#define URING_SYSCALLS_VIA_LIBC 0
#endif

namespace uring::sys {

#if URING_SYSCALLS_VIA_LIBC
inline namespace via_libc {
#else
inline namespace via_asm {
#endif

// True when the wrappers below go through syscall(2).
inline constexpr bool kViaLibc = URING_SYSCALLS_VIA_LIBC;

#if URING_SYSCALLS_VIA_LIBC
inline constexpr long kNrIoUringSetup = __NR_io_uring_setup;
inline constexpr long kNrIoUringEnter = __NR_io_uring_enter;
inline constexpr long kNrIoUringRegister = __NR_io_uring_register;
#else
// x86_64 and aarch64 share the numbers of the unified syscall table.
inline constexpr long kNrIoUringSetup = 425;
inline constexpr long kNrIoUringEnter = 426;
inline constexpr long kNrIoUringRegister = 427;
#if defined(__NR_io_uring_setup)
static_assert(kNrIoUringSetup == __NR_io_uring_setup, "io_uring_setup is not 425 here");
#endif
#if defined(__NR_io_uring_enter)
static_assert(kNrIoUringEnter == __NR_io_uring_enter, "io_uring_enter is not 426 here");
#endif
#if defined(__NR_io_uring_register)
static_assert(kNrIoUringRegister == __NR_io_uring_register, "io_uring_register is not 427 here");
#endif
#endif

// Size of the kernel's sigset_t, _NSIG / 8 bytes, which io_uring_enter
// requires as argsz when a signal mask is passed without
// IORING_ENTER_EXT_ARG (set_user_sigmask). The kernel's _NSIG is 128 on MIPS
// (arch/mips/include/uapi/asm/signal.h) and 64 everywhere else. Not libc's
// sizeof(sigset_t) (128 bytes in glibc), and not derived from libc's _NSIG,
// which is 65 on x86 but 128, not 129, on MIPS (glibc's __SIGRTMAX is 127).
#if defined(__mips__)
inline constexpr std::size_t kKernelSigsetSize = 128 / 8;
#else
inline constexpr std::size_t kKernelSigsetSize = 64 / 8;
#endif

namespace detail {

inline long raw_syscall6(long nr, long a1, long a2, long a3, long a4, long a5, long a6) {
#if URING_SYSCALLS_VIA_LIBC
  const int saved_errno = errno;
  long ret = ::syscall(nr, a1, a2, a3, a4, a5, a6);
  if (ret == -1) ret = -errno;
  errno = saved_errno;
  return ret;
#elif defined(__x86_64__)
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

}  // inline namespace via_libc / via_asm
}  // namespace uring::sys
