#include "uring/probe.h"

#include <sys/utsname.h>

#include <cstdio>
#include <cstdlib>

#include "uring/ring.h"

namespace uring {

Result<Probe> Probe::query(const Ring& ring) {
  if (!ring.valid()) return detail::ring_closed("Probe::query");
  // The kernel fills a header plus one io_uring_probe_op per opcode slot.
  struct {
    abi::io_uring_probe header;
    abi::io_uring_probe_op ops[256];
  } buffer{};
  const int ret = ring.register_raw(abi::IORING_REGISTER_PROBE, &buffer, 256);
  if (ret < 0) {
    return error_from_errno(ret, ret == -EINVAL ? "io_uring_register(PROBE): this kernel has no probe "
                                                  "(needs Linux 5.6)"
                                                : "io_uring_register(PROBE)");
  }
  Probe probe;
  probe.last_op_ = buffer.header.last_op;
  const unsigned count = buffer.header.ops_len;  // a u8: at most 255 entries
  for (unsigned i = 0; i < count; ++i) probe.ops_[buffer.ops[i].op] = buffer.ops[i].flags;
  return probe;
}

Result<Probe> Probe::query() {
  RingOptions options;
  options.entries = 1;
  options.register_ring_fd = false;
  Result<Ring> ring = Ring::create(options);
  if (!ring) return ring.error();
  return query(*ring);
}

std::string Probe::unsupported_reason(unsigned opcode) const {
  if (supports(opcode)) return {};
  const char* name = abi::op_name(opcode);
  const char* since = abi::op_since(opcode);
  std::string line = "IORING_OP_" + std::string(name ? name : "?");
  line += (since && version_code(since) > 0) ? " needs Linux " + std::string(since) : " is not supported";
  line += "; this kernel is " + kernel_release();
  return line;
}

std::string kernel_release() {
  utsname name{};
  if (::uname(&name) != 0) return "unknown";
  return name.release;
}

int version_code(const char* major_minor) {
  int major = 0, minor = 0;
  if (!major_minor || std::sscanf(major_minor, "%d.%d", &major, &minor) != 2) return 0;
  return major * 1000 + minor;
}

int kernel_version_code() { return version_code(kernel_release().c_str()); }

}  // namespace uring
