// The raw system calls of the liburing API (io_uring_setup, io_uring_enter,
// io_uring_enter2, io_uring_register) and the __sys_* names liburing's
// tests use (internal/syscall.h): uring's wrappers, -errno, errno untouched.
#include "internal/ring_view.h"

#include "internal/syscall.h"

namespace {

int enter(unsigned fd, unsigned to_submit, unsigned min_complete, unsigned flags, const void* arg, size_t sz) {
  return uring::sys::io_uring_enter(static_cast<int>(fd), to_submit, min_complete, flags, arg, sz);
}

}  // namespace

extern "C" {

int __sys_io_uring_setup(unsigned int entries, struct io_uring_params* p) {
  return uring::sys::io_uring_setup(entries, reinterpret_cast<uring::abi::io_uring_params*>(p));
}

// liburing passes _NSIG / 8 as the sigset size whether or not there is a mask.
int __sys_io_uring_enter(unsigned int fd, unsigned int to_submit, unsigned int min_complete, unsigned int flags,
                         sigset_t* sig) {
  return enter(fd, to_submit, min_complete, flags, sig, _NSIG / 8);
}

int __sys_io_uring_enter2(unsigned int fd, unsigned int to_submit, unsigned int min_complete, unsigned int flags,
                          sigset_t* sig, size_t sz) {
  return enter(fd, to_submit, min_complete, flags, sig, sz);
}

int __sys_io_uring_register(unsigned int fd, unsigned int opcode, const void* arg, unsigned int nr_args) {
  return uring::sys::io_uring_register(static_cast<int>(fd), opcode, arg, nr_args);
}

int io_uring_setup(unsigned int entries, struct io_uring_params* p) { return __sys_io_uring_setup(entries, p); }

int io_uring_enter(unsigned int fd, unsigned int to_submit, unsigned int min_complete, unsigned int flags,
                   sigset_t* sig) {
  return __sys_io_uring_enter(fd, to_submit, min_complete, flags, sig);
}

int io_uring_enter2(unsigned int fd, unsigned int to_submit, unsigned int min_complete, unsigned int flags,
                    sigset_t* sig, size_t sz) {
  return __sys_io_uring_enter2(fd, to_submit, min_complete, flags, sig, sz);
}

int io_uring_register(unsigned int fd, unsigned int opcode, const void* arg, unsigned int nr_args) {
  return __sys_io_uring_register(fd, opcode, arg, nr_args);
}

}  // extern "C"
