// IORING_REGISTER_ZCRX_IFQ: a zero-copy receive queue. Only a NIC with
// header/data split and a spare RX queue can take one, and a test cannot
// count on having such a NIC to itself. So the positive path is not tested
// here; what is tested is what can be decided beforehand: loopback never
// has such a queue, and the kernel's refusal of it is deterministic.
#include <net/if.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "tests/register/register_support.h"
#include "uring/register.h"

using namespace uring;
using namespace uring::testing;

namespace {

struct Pages {
  explicit Pages(std::size_t bytes) : size(bytes) {
    data = static_cast<unsigned char*>(::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    REQUIRE(data != MAP_FAILED);
  }
  ~Pages() { ::munmap(data, size); }
  std::span<unsigned char> span() { return {data, size}; }
  unsigned char* data;
  std::size_t size;
};

// The kernel asks capable(CAP_NET_ADMIN), i.e. in the initial user
// namespace. "" when this process has it there; else what is lacking.
// The initial namespace is recognised by its identity map of every uid (a
// sandbox's namespace maps a few ids).
std::string missing_net_admin_in_initial_namespace() {
  const std::string capability = missing_capability(12, "CAP_NET_ADMIN");
  if (!capability.empty()) return capability;
  FILE* map = std::fopen("/proc/self/uid_map", "r");
  if (!map) return "cannot read /proc/self/uid_map to tell the user namespace";
  unsigned long inside = 1, outside = 1, count = 0;
  const int fields = std::fscanf(map, "%lu %lu %lu", &inside, &outside, &count);
  std::fclose(map);
  if (fields == 3 && inside == 0 && outside == 0 && count == 4294967295ul) return {};
  return "CAP_NET_ADMIN is held only inside a user namespace, not in the initial one";
}

RingOptions zcrx_ring() {
  RingOptions options;
  options.single_issuer = true;
  options.defer_taskrun = true;
  options.cqe32 = true;
  return options;
}

}  // namespace

TEST_CASE("zcrx: rings and memory that can never work are refused before the call") {
  Pages area(64 * 4096);
  Pages refill(zcrx_refill_bytes(64));
  ZcrxQueueOptions options;
  options.interface_index = ::if_nametoindex("lo");
  options.refill_entries = 64;
  options.area = area.span();
  options.refill_memory = refill.span();

  Ring plain = make_ring(Via::fd);
  auto wrong_ring = register_zcrx_ifq(plain, options);
  REQUIRE_FALSE(wrong_ring.ok());
  CHECK(wrong_ring.error().message.find("defer_taskrun and cqe32") != std::string::npos);

  Ring ring = make_ring(Via::fd, zcrx_ring());
  ZcrxQueueOptions odd = options;
  odd.refill_entries = 48;
  CHECK(register_zcrx_ifq(ring, odd).error().message.find("power of two") != std::string::npos);
  ZcrxQueueOptions small = options;
  small.refill_memory = small.refill_memory.first(100);
  CHECK(register_zcrx_ifq(ring, small).error().message.find("zcrx_refill_bytes(64)") != std::string::npos);
}

TEST_CASE("zcrx: loopback has no RX queue to give; the kernel refuses it, through fd and registered index") {
  URING_REQUIRE(missing_register_op(abi::IORING_REGISTER_ZCRX_IFQ));
  const unsigned loopback = ::if_nametoindex("lo");
  REQUIRE(loopback != 0);
  // Loopback is a virtual device: no parent (bus) device, so no DMA, no
  // queue to hand to a memory provider (io_uring/zcrx.c answers -EOPNOTSUPP).
  struct stat device{};
  REQUIRE(::stat("/sys/class/net/lo/device", &device) != 0);
  // What the kernel checks first decides the answer: without CAP_NET_ADMIN
  // (in the initial user namespace) -EPERM. A kernel built without
  // CONFIG_IO_URING_ZCRX answers -EOPNOTSUPP before asking, so that answer
  // is right in both cases.
  const std::string no_admin = missing_net_admin_in_initial_namespace();
  INFO("CAP_NET_ADMIN: ", no_admin.empty() ? std::string("held") : no_admin);
  for (Via via : kBothWays) {
    INFO("via ", std::string(via_name(via)));
    Ring ring = make_ring(via, zcrx_ring());
    Pages area(64 * 4096);
    Pages refill(zcrx_refill_bytes(64));
    ZcrxQueueOptions options;
    options.interface_index = loopback;
    options.rx_queue = 0;
    options.refill_entries = 64;
    options.area = area.span();
    options.refill_memory = refill.span();
    auto queue = register_zcrx_ifq(ring, options);
    REQUIRE_FALSE(queue.ok());
    const std::string& message = queue.error().message;
    INFO(message);
    CHECK(message.find("io_uring_register(ZCRX_IFQ)") != std::string::npos);
    if (no_admin.empty()) {
      CHECK(queue.code() == EOPNOTSUPP);
    } else {
      CHECK((queue.code() == EPERM || queue.code() == EOPNOTSUPP));
    }
    if (queue.code() == EPERM) CHECK(message.find("needs CAP_NET_ADMIN") != std::string::npos);
    if (queue.code() == EOPNOTSUPP) CHECK(message.find("cannot do zero-copy receive") != std::string::npos);
    nop_round_trip(ring, 9);  // the refusal left the ring working
  }
}
