// The default bench has no liburing setups: only the manual target
// //tools/bench:bench_liburing links liburing (tools/bench/liburing_nop.cc).
#include "tools/bench/bench.h"

namespace bench {

bool liburing_nop(const std::string&, unsigned, unsigned long long, unsigned, Sample*) { return false; }
const char* liburing_setups() { return ""; }

}  // namespace bench
