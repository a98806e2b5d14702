#include "tests/support/kernel_features.h"

#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>
#include <optional>
#include <string>

#include "uring/probe.h"
#include "uring/register.h"
#include "uring/ring.h"

namespace uring::testing {
namespace {

// What the kernel says about itself, asked once per process through a small
// ring of its own (never the ring a test is about to use).
struct KernelFacts {
  Probe probe;
  bool probed = false;
  std::uint32_t features = 0;
  std::optional<abi::io_uring_query_opcode> query;  // Linux 6.18+
  int proven = 0;
  std::string evidence;
};

std::string release_name(int code) { return std::to_string(code / 1000) + "." + std::to_string(code % 1000); }

void prove(KernelFacts& facts, const char* since, const std::string& what) {
  if (!since) return;
  const int code = version_code(since);
  if (code > facts.proven) {
    facts.proven = code;
    facts.evidence = what;
  }
}

const KernelFacts& facts() {
  static const KernelFacts cached = [] {
    KernelFacts f;
    auto ring = create_ring(RingOptions{.entries = 4});
    if (ring) {
      f.features = ring->features();
      if (auto probe = Probe::query(*ring)) {
        f.probe = *probe;
        f.probed = true;
      }
    }
    if (auto query = query_opcodes()) f.query = *query;

    prove(f, "5.1", "io_uring_setup works");
    for (unsigned op = 0; op < abi::kNamedOps; ++op) {
      if (f.probed && f.probe.supports(op)) {
        prove(f, abi::op_since(op), std::string("IORING_OP_") + abi::op_name(op) + " is supported");
      }
    }
    for (const abi::flag_info& feature : abi::feature_flags) {
      if (f.features & feature.bit) prove(f, feature.since, std::string("IORING_FEAT_") + feature.name + " is set");
    }
    if (f.query) {
      prove(f, register_op_since(abi::IORING_REGISTER_QUERY), "IORING_REGISTER_QUERY answers");
      const unsigned known = f.query->nr_register_opcodes;
      if (known > 0 && known <= abi::IORING_REGISTER_LAST) {
        prove(f, register_op_since(known - 1),
              std::string("IORING_REGISTER_QUERY knows IORING_REGISTER_") + register_op_name(known - 1));
      }
    }
    return f;
  }();
  return cached;
}

std::string shows(const KernelFacts& f) {
  return "this kernel (" + kernel_release() + ") shows nothing newer than Linux " + release_name(f.proven) + " (" +
         f.evidence + ")";
}

}  // namespace

int proven_release() { return facts().proven; }
const std::string& proven_release_evidence() { return facts().evidence; }

std::string missing_since(const std::string& what, const char* since) {
  const KernelFacts& f = facts();
  if (f.proven >= version_code(since)) return {};
  return what + " needs Linux " + since + "; " + shows(f);
}

std::string missing_op(unsigned opcode) {
  const KernelFacts& f = facts();
  if (!f.probed) return "IORING_REGISTER_PROBE is unavailable (Linux 5.6), so no opcode can be checked";
  return f.probe.unsupported_reason(opcode);
}

std::string missing_feature(std::uint32_t feature_bit) {
  const KernelFacts& f = facts();
  if ((f.features & feature_bit) == feature_bit) return {};
  std::string names;
  for (const abi::flag_info& feature : abi::feature_flags) {
    if ((feature_bit & feature.bit) && !(f.features & feature.bit)) {
      if (!names.empty()) names += ", ";
      names += std::string("IORING_FEAT_") + feature.name + " (Linux " + feature.since + ")";
    }
  }
  return "this kernel (" + kernel_release() + ") lacks " + names;
}

std::string missing_setup_flags(std::uint32_t flags) {
  const KernelFacts& f = facts();
  std::string missing;
  for (const abi::flag_info& flag : abi::setup_flags) {
    if (!(flags & flag.bit)) continue;
    const bool known = f.query ? (f.query->ring_setup_flags & flag.bit) != 0 : f.proven >= version_code(flag.since);
    if (known) continue;
    if (!missing.empty()) missing += ", ";
    missing += std::string("IORING_SETUP_") + flag.name + " (Linux " + flag.since + ")";
  }
  if (missing.empty()) return {};
  if (f.query) return "this kernel (" + kernel_release() + ") does not know setup flag(s) " + missing + " (IORING_REGISTER_QUERY)";
  return "setup flag(s) " + missing + " not proved: " + shows(f);
}

std::string missing_register_op(unsigned opcode) {
  const KernelFacts& f = facts();
  const char* name = register_op_name(opcode);
  const std::string label = std::string("IORING_REGISTER_") + (name ? name : std::to_string(opcode).c_str());
  if (f.query) {
    if (opcode < f.query->nr_register_opcodes) return {};
    return label + " is unknown to this kernel (" + kernel_release() + ", IORING_REGISTER_QUERY)";
  }
  const char* since = register_op_since(opcode);
  if (!since) return label + " is unknown to this library";
  return missing_since(label, since);
}

std::string missing_capability(int capability, const char* name) {
  // capget(2) through the raw system call: no libcap dependency.
  struct {
    std::uint32_t version = 0x20080522;  // _LINUX_CAPABILITY_VERSION_3
    int pid = 0;
  } header;
  struct {
    std::uint32_t effective, permitted, inheritable;
  } data[2] = {};
  if (::syscall(SYS_capget, &header, data) != 0) return std::string("capget failed; cannot tell whether ") + name + " is held";
  const std::uint32_t word = data[capability / 32].effective;
  if (word & (1u << (capability % 32))) return {};
  return std::string("this process lacks ") + name;
}

std::string missing_cpus(int needed) {
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  if (::sched_getaffinity(0, sizeof allowed, &allowed) != 0) return "sched_getaffinity failed";
  const int have = CPU_COUNT(&allowed);
  if (have >= needed) return {};
  return "needs " + std::to_string(needed) + " usable CPUs; this process may run on " + std::to_string(have);
}

}  // namespace uring::testing
