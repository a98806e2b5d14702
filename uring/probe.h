// What the running kernel supports, asked of the kernel itself
// (IORING_REGISTER_PROBE and the feature bits), never guessed from uname.
// The kernel release is read only to word messages ("needs Linux 6.7; this
// kernel is 6.1").
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "syscalls/abi.h"
#include "uring/result.h"

namespace uring {

class Ring;

class Probe {
 public:
  // Probes through an existing ring.
  static Result<Probe> query(const Ring& ring);
  // Sets up a small ring just to probe, then closes it.
  static Result<Probe> query();

  // The kernel knows this opcode (IO_URING_OP_SUPPORTED).
  bool supports(unsigned opcode) const {
    return opcode < ops_.size() && (ops_[opcode] & abi::IO_URING_OP_SUPPORTED) != 0;
  }
  // The highest opcode this kernel knows (IORING_OP_LAST - 1 of that kernel).
  unsigned last_op() const { return last_op_; }

  // An empty string when `opcode` is supported, else one line such as
  // "IORING_OP_FUTEX_WAIT needs Linux 6.7; this kernel is 6.1.0".
  std::string unsupported_reason(unsigned opcode) const;

 private:
  std::array<std::uint16_t, 256> ops_{};
  unsigned last_op_ = 0;
};

// uname's release, e.g. "6.18.44-fc-v669". For messages only.
std::string kernel_release();

// The release as major*1000+minor (6.18 -> 6018), 0 if unparseable. Only
// used to word messages: "this kernel predates X" hints, never behaviour.
int kernel_version_code();

// "6.7" -> 6007; "?" -> 0.
int version_code(const char* major_minor);

}  // namespace uring
