// tools/probe: what this kernel's io_uring can do, asked of the kernel.
//
//   probe            plain text
//   probe --json     the same as one JSON object
//
// Prints the kernel release, the feature bits by name, every opcode 0..62
// with supported / not supported (and whether uring has a builder for it),
// which setup flags the kernel accepts (each tried on its own ring), and the
// ring size limits it reports.
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "uring/uring.h"

namespace {

struct SetupTrial {
  const char* flag;        // name as in abi::setup_flags
  std::uint32_t bit;
  bool accepted;
  std::string why_not;     // the library's message when refused
};

// Options that exercise exactly one setup flag, plus whatever the kernel
// requires beside it (DEFER_TASKRUN needs SINGLE_ISSUER, and so on).
uring::RingOptions options_for(std::uint32_t bit, int other_ring_fd) {
  uring::RingOptions o;
  o.entries = 8;
  o.register_ring_fd = false;
  using namespace uring::abi;
  if (bit == IORING_SETUP_IOPOLL) o.iopoll = true;
  else if (bit == IORING_SETUP_SQPOLL) o.sqpoll = true;
  else if (bit == IORING_SETUP_SQ_AFF) { o.sqpoll = true; o.sqpoll_cpu = 0; }
  else if (bit == IORING_SETUP_CQSIZE) o.cq_entries = 64;
  else if (bit == IORING_SETUP_CLAMP) o.clamp = true;
  else if (bit == IORING_SETUP_ATTACH_WQ) o.attach_wq_fd = other_ring_fd;
  else if (bit == IORING_SETUP_R_DISABLED) o.start_disabled = true;
  else if (bit == IORING_SETUP_SUBMIT_ALL) o.submit_all = true;
  else if (bit == IORING_SETUP_COOP_TASKRUN) o.coop_taskrun = true;
  else if (bit == IORING_SETUP_TASKRUN_FLAG) { o.coop_taskrun = true; o.taskrun_flag = true; }
  else if (bit == IORING_SETUP_SQE128) o.sqe128 = true;
  else if (bit == IORING_SETUP_CQE32) o.cqe32 = true;
  else if (bit == IORING_SETUP_SINGLE_ISSUER) o.single_issuer = true;
  else if (bit == IORING_SETUP_DEFER_TASKRUN) { o.single_issuer = true; o.defer_taskrun = true; }
  else if (bit == IORING_SETUP_NO_MMAP) o.no_mmap = true;
  else if (bit == IORING_SETUP_REGISTERED_FD_ONLY) { o.no_mmap = true; o.registered_fd_only = true; }
  else if (bit == IORING_SETUP_NO_SQARRAY) o.no_sqarray = true;
  else if (bit == IORING_SETUP_HYBRID_IOPOLL) { o.iopoll = true; o.hybrid_iopoll = true; }
  else if (bit == IORING_SETUP_CQE_MIXED) o.cqe_mixed = true;
  else o.extra_setup_flags = bit;
  return o;
}

std::string json_escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20) continue;
    out += c;
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  bool json = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--json") == 0) {
      json = true;
    } else {
      std::fprintf(stderr, "usage: %s [--json]\n", argv[0]);
      return 2;
    }
  }

  uring::RingOptions base;
  base.entries = 8;
  auto ring = uring::Ring::create(base);
  if (!ring) {
    std::fprintf(stderr, "probe: %s\n", ring.error().message.c_str());
    return 1;
  }
  auto probe = uring::Probe::query(*ring);
  if (!probe) {
    std::fprintf(stderr, "probe: %s\n", probe.error().message.c_str());
    return 1;
  }

  std::vector<SetupTrial> trials;
  for (const uring::abi::flag_info& flag : uring::abi::setup_flags) {
    auto trial_ring = uring::Ring::create(options_for(flag.bit, ring->fd()));
    trials.push_back({flag.name, flag.bit, trial_ring.ok(),
                      trial_ring.ok() ? std::string() : trial_ring.error().message});
  }

  uring::RingOptions big;
  big.entries = 1u << 20;
  big.clamp = true;
  big.register_ring_fd = false;
  auto clamped = uring::Ring::create(big);
  const unsigned max_sq = clamped ? clamped->sq_entries() : 0;
  const unsigned max_cq = clamped ? clamped->cq_entries() : 0;

  const std::uint32_t features = ring->features();
  // 6.18's opcodes and the newer ones the ABI header names.
  const unsigned op_count = uring::abi::kNamedOps;
  if (json) {
    std::printf("{\n  \"kernel\": \"%s\",\n", json_escape(uring::kernel_release()).c_str());
    std::printf("  \"features\": {\"mask\": %u, \"names\": [", features);
    bool first = true;
    for (const auto& f : uring::abi::feature_flags) {
      if (features & f.bit) {
        std::printf("%s\"%s\"", first ? "" : ", ", f.name);
        first = false;
      }
    }
    std::printf("]},\n  \"last_op\": %u,\n  \"opcodes\": [\n", probe->last_op());
    for (unsigned op = 0; op < op_count; ++op) {
      std::printf("    {\"op\": %u, \"name\": \"%s\", \"since\": \"%s\", \"supported\": %s, \"builder\": %s}%s\n",
                  op, uring::abi::op_name(op), uring::abi::op_since(op),
                  probe->supports(op) ? "true" : "false", uring::has_builder(op) ? "true" : "false",
                  op + 1 < op_count ? "," : "");
    }
    std::printf("  ],\n  \"setup_flags\": [\n");
    for (std::size_t i = 0; i < trials.size(); ++i) {
      std::printf("    {\"flag\": \"%s\", \"bit\": %u, \"accepted\": %s, \"error\": \"%s\"}%s\n",
                  trials[i].flag, trials[i].bit, trials[i].accepted ? "true" : "false",
                  json_escape(trials[i].why_not).c_str(), i + 1 < trials.size() ? "," : "");
    }
    std::printf("  ],\n  \"limits\": {\"max_sq_entries\": %u, \"max_cq_entries\": %u}\n}\n", max_sq, max_cq);
    return 0;
  }

  std::printf("kernel: %s\n\n", uring::kernel_release().c_str());
  std::printf("features (0x%x):\n", features);
  for (const auto& f : uring::abi::feature_flags) {
    std::printf("  %-3s %-18s (Linux %s)\n", (features & f.bit) ? "yes" : "no", f.name, f.since);
  }
  std::printf("\nopcodes (kernel's last_op = %u):\n", probe->last_op());
  std::printf("  %3s  %-20s %-6s %-10s %s\n", "op", "name", "since", "kernel", "builder");
  for (unsigned op = 0; op < op_count; ++op) {
    std::printf("  %3u  %-20s %-6s %-10s %s\n", op, uring::abi::op_name(op), uring::abi::op_since(op),
                probe->supports(op) ? "supported" : "no", uring::has_builder(op) ? "yes" : "no");
  }
  std::printf("\nsetup flags (each tried on its own ring):\n");
  for (const SetupTrial& t : trials) {
    std::printf("  %-8s %-20s%s%s\n", t.accepted ? "accepted" : "refused", t.flag,
                t.accepted ? "" : "  ", t.why_not.c_str());
  }
  std::printf("\nlimits: max SQ entries %u, max CQ entries %u (CLAMP of a 1M-entry request)\n", max_sq, max_cq);
  return 0;
}
