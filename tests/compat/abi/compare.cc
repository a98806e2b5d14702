// The equality check's main: compares the facts the C translation unit
// recorded from the generated uring/liburing/liburing/io_uring.h with the
// ones the C++ translation unit recorded from syscalls/abi.h (both written by
// gen_io_uring_h.py --check-c / --check-cc), and names every mismatch.
// Includes neither header: they must never meet in one translation unit.
#include <cstdio>
#include <map>
#include <string>

struct abi_fact {
  const char* name;
  long long value;
};

extern "C" const abi_fact c_side_facts[];
extern "C" const unsigned long c_side_count;
extern const abi_fact cc_side_facts[];
extern const unsigned long cc_side_count;

namespace {

std::map<std::string, long long> collect(const abi_fact* facts, unsigned long count, const char* side,
                                         int& failures) {
  std::map<std::string, long long> out;
  for (unsigned long i = 0; i < count; ++i) {
    if (!out.emplace(facts[i].name, facts[i].value).second) {
      std::printf("FAIL %s is recorded twice on the %s side\n", facts[i].name, side);
      ++failures;
    }
  }
  return out;
}

}  // namespace

int main() {
  int failures = 0;
  auto c = collect(c_side_facts, c_side_count, "C (liburing/io_uring.h)", failures);
  auto cc = collect(cc_side_facts, cc_side_count, "C++ (syscalls/abi.h)", failures);
  for (const auto& [name, value] : cc) {
    auto it = c.find(name);
    if (it == c.end()) {
      std::printf("FAIL %s: syscalls/abi.h has it (%lld), the C header's check records nothing\n", name.c_str(),
                  value);
      ++failures;
    } else if (it->second != value) {
      std::printf("FAIL %s: syscalls/abi.h says %lld (%#llx), liburing/io_uring.h says %lld (%#llx)\n",
                  name.c_str(), value, static_cast<unsigned long long>(value), it->second,
                  static_cast<unsigned long long>(it->second));
      ++failures;
    }
  }
  for (const auto& [name, value] : c) {
    if (!cc.count(name)) {
      std::printf("FAIL %s: only the C header's check records it (%lld)\n", name.c_str(), value);
      ++failures;
    }
  }
  std::printf("%zu facts compared (constants, struct sizes, member offsets and sizes), %d mismatches\n", cc.size(),
              failures);
  return failures == 0 && !cc.empty() ? 0 : 1;
}
