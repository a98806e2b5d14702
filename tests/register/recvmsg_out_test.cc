// RecvmsgOut::parse (uring/recvmsg_out.h) given a CQE that failed: a
// negative result is the request's error, never a size (issue 12, item 8).
// The parsing of real multishot RECVMSG buffers is tested in tests/net/msg_test.cc.
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "tests/support/test_support.h"
#include "uring/recvmsg_out.h"

using namespace uring;

TEST_CASE("RecvmsgOut::parse refuses a negative CQE result with that errno, not as a huge size (issue 12, item 8)") {
  // A buffer that would parse if its length were believed: a header that
  // claims a large payload, and nothing reserved for name or control.
  alignas(8) unsigned char buffer[256] = {};
  abi::io_uring_recvmsg_out header{};
  header.payloadlen = 0xffffffffu;
  std::memcpy(buffer, &header, sizeof header);
  for (const int result : {-ENOBUFS, -ECANCELED, -EINVAL, -1}) {
    INFO("result ", result);
    auto parsed = RecvmsgOut::parse(buffer, result, 0, 0);
    REQUIRE_FALSE(parsed.ok());
    CHECK(parsed.code() == -result);  // the request's own error
    const std::string& message = parsed.error().message;
    INFO(message);
    CHECK(message.find("result " + std::to_string(result)) != std::string::npos);
    CHECK(message.find(errno_name(-result)) != std::string::npos);
    CHECK(message.find("payload bytes") == std::string::npos);  // never read as a length
  }
  // Through the msghdr overload too.
  msghdr armed{};
  armed.msg_namelen = 16;
  auto through_msghdr = RecvmsgOut::parse(buffer, -ENOBUFS, armed);
  REQUIRE_FALSE(through_msghdr.ok());
  CHECK(through_msghdr.code() == ENOBUFS);
  // A result that is no errno at all is still refused, as EINVAL.
  auto nonsense = RecvmsgOut::parse(buffer, -100000, 0, 0);
  REQUIRE_FALSE(nonsense.ok());
  CHECK(nonsense.code() == EINVAL);
  // Zero and positive results are lengths, as before.
  CHECK(RecvmsgOut::parse(buffer, 0, 0, 0).code() == EINVAL);  // shorter than the header
  header.payloadlen = 4;
  std::memcpy(buffer, &header, sizeof header);
  auto ok = RecvmsgOut::parse(buffer, static_cast<int>(sizeof header) + 4, 0, 0);
  REQUIRE_MESSAGE(ok.ok(), ok.error().message);
  CHECK(ok->payload_size() == 4);
}
