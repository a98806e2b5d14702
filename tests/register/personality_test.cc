// IORING_REGISTER_PERSONALITY / UNREGISTER_PERSONALITY: an SQE carrying the
// id runs with the credentials registered under it, whatever the
// submitter's credentials are by then.
#include <fcntl.h>
#include <linux/capability.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <optional>
#include <string>

#include "tests/register/register_support.h"
#include "uring/prep_file.h"
#include "uring/register.h"

using namespace uring;
using namespace uring::testing;

namespace {

// NOP carrying `personality`: 0 when the kernel knows the id, -EINVAL if not.
int nop_with_personality(Ring& ring, std::uint16_t personality) {
  Sqe* sqe = ring.get_sqe();
  REQUIRE(sqe != nullptr);
  prep_nop(*sqe).set_user_data(personality).set_personality(personality);
  REQUIRE(ring.submit() == 1);
  const Cqe done = reap_one(ring);
  CHECK(done.user_data == personality);
  return done.result();
}

// OPENAT of `path` read-only, optionally with a personality: the fd or -errno.
int open_through(Ring& ring, const std::string& path, std::optional<std::uint16_t> personality) {
  Sqe* sqe = ring.get_sqe();
  REQUIRE(sqe != nullptr);
  prep_openat(*sqe, AT_FDCWD, path.c_str(), O_RDONLY | O_CLOEXEC, 0).set_user_data(77);
  if (personality) sqe->set_personality(*personality);
  REQUIRE(ring.submit() == 1);
  return reap_one(ring).result();
}

// Drops (or restores) CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH in this
// thread's effective set only (capset(2) on the calling thread; they stay
// permitted, so they can come back). Without them even root cannot open a
// file whose mode is 0000. False when the thread does not have them.
bool set_dac_override(bool on) {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  if (::syscall(SYS_capget, &header, data) != 0) return false;
  const unsigned bits = (1u << CAP_DAC_OVERRIDE) | (1u << CAP_DAC_READ_SEARCH);
  if ((data[0].permitted & bits) != bits) return false;
  data[0].effective = on ? (data[0].effective | bits) : (data[0].effective & ~bits);
  return ::syscall(SYS_capset, &header, data) == 0;
}

}  // namespace

TEST_CASE("personality: ids are known to the kernel until unregistered") {
  for (Via via : kBothWays) {
    INFO("via ", std::string(via_name(via)));
    Ring ring = make_ring(via);
    auto first = register_personality(ring);
    REQUIRE_MESSAGE(first.ok(), first.error().message);
    auto second = register_personality(ring);
    REQUIRE(second.ok());
    CHECK(*first != *second);
    CHECK(nop_with_personality(ring, *first) == 0);
    CHECK(nop_with_personality(ring, *second) == 0);
    const std::uint16_t unknown = static_cast<std::uint16_t>(*second + 100);
    CHECK(nop_with_personality(ring, unknown) == -EINVAL);

    REQUIRE(unregister_personality(ring, *first).ok());
    CHECK(nop_with_personality(ring, *first) == -EINVAL);
    CHECK(nop_with_personality(ring, *second) == 0);
    Status again = unregister_personality(ring, *first);
    REQUIRE_FALSE(again.ok());
    CHECK(again.code() == EINVAL);
    CHECK(again.error().message.find("no personality") != std::string::npos);

    // The RAII form unregisters when it goes.
    std::uint16_t scoped_id = 0;
    {
      auto scoped = Personality::create(ring);
      REQUIRE(scoped.ok());
      scoped_id = scoped->id();
      Personality moved = std::move(scoped.value());
      CHECK(moved.valid());
      CHECK(nop_with_personality(ring, scoped_id) == 0);
    }
    CHECK(nop_with_personality(ring, scoped_id) == -EINVAL);
  }
}

TEST_CASE("personality: a request runs with the registered credentials, not the submitter's") {
  // Dropping the two capabilities must make the file unreadable for this
  // thread, and restoring them must work: both need them held to begin with.
  URING_REQUIRE(missing_capability(CAP_DAC_OVERRIDE, "CAP_DAC_OVERRIDE"));
  URING_REQUIRE(missing_capability(CAP_DAC_READ_SEARCH, "CAP_DAC_READ_SEARCH"));
  REQUIRE(set_dac_override(true));
  TempDir dir;
  const std::string path = dir.path() + "/mode-0000";
  const int made = ::open(path.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0);
  REQUIRE(made >= 0);
  ::close(made);
  REQUIRE(::chmod(path.c_str(), 0) == 0);
  const int fds_before = open_fd_count();
  for (Via via : kBothWays) {
    INFO("via ", std::string(via_name(via)));
    Ring ring = make_ring(via);
    auto privileged = Personality::create(ring);  // the credentials of now, capabilities included
    REQUIRE_MESSAGE(privileged.ok(), privileged.error().message);

    REQUIRE(set_dac_override(false));  // this thread only
    const int plain = open_through(ring, path, std::nullopt);
    const int with_personality = open_through(ring, path, privileged->id());
    REQUIRE(set_dac_override(true));

    CHECK(plain == -EACCES);          // the submitter's own credentials now
    CHECK(with_personality >= 0);     // the registered ones
    if (with_personality >= 0) ::close(with_personality);
  }
  CHECK(open_fd_count() == fds_before);
}
