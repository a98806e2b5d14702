// IORING_REGISTER_ZCRX_IFQ: a zero-copy receive queue. Only a NIC with
// header/data split and a spare RX queue can take one; here the call is
// tried on loopback, and what cannot work is refused with its reason.
#include <net/if.h>
#include <sys/mman.h>

#include <cerrno>
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

TEST_CASE("zcrx: registering on loopback, through fd and registered index") {
  for (Via via : kBothWays) {
    INFO("via ", std::string(via_name(via)));
    Ring ring = make_ring(via, zcrx_ring());
    Pages area(64 * 4096);
    Pages refill(zcrx_refill_bytes(64));
    ZcrxQueueOptions options;
    options.interface_index = ::if_nametoindex("lo");
    REQUIRE(options.interface_index != 0);
    options.rx_queue = 0;
    options.refill_entries = 64;
    options.area = area.span();
    options.refill_memory = refill.span();
    auto queue = register_zcrx_ifq(ring, options);
    if (!queue) {
      // The kernel looked at the request and said no: the message names the
      // opcode and the reason. A NIC that can do it is needed for more.
      CHECK(queue.error().message.find("io_uring_register(ZCRX_IFQ)") != std::string::npos);
      CHECK(queue.code() != EFAULT);  // the memory and structures were readable
      URING_SKIP("zero-copy receive on lo: " + queue.error().message);
    }
    CHECK(queue->offsets.rqes >= queue->offsets.tail);
  }
}
