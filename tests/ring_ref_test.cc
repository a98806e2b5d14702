// RingRef: how BufferGroup, FileTable, BufferTable and Personality hold
// their Ring (issue 12, item 2). It must follow the Ring through every move
// and read null once the Ring is closed, in any order of destruction.
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "tests/support/test_support.h"
#include "uring/uring.h"

using namespace uring;

namespace {

Ring make_ring() {
  auto ring = testing::create_ring(RingOptions{.entries = 4});
  REQUIRE_MESSAGE(ring.ok(), ring.error().message);
  return std::move(ring.value());
}

}  // namespace

TEST_CASE("a RingRef follows its Ring through move construction, move assignment and swap") {
  Ring a = make_ring();
  RingRef ref(a);
  CHECK(ref.get() == &a);
  CHECK(a.dependents() == 1);

  Ring b(std::move(a));
  CHECK(ref.get() == &b);
  CHECK(a.dependents() == 0);
  CHECK(b.dependents() == 1);

  Ring c;
  c = std::move(b);
  CHECK(ref.get() == &c);

  Ring d = make_ring();
  RingRef other(d);
  c.swap(d);
  CHECK(ref.get() == &d);
  CHECK(other.get() == &c);
  CHECK(c.dependents() == 1);
  CHECK(d.dependents() == 1);
}

TEST_CASE("a RingRef reads null once its Ring is closed, destroyed or assigned over") {
  RingRef closed_ref;
  RingRef destroyed_ref;
  RingRef assigned_ref;
  {
    Ring a = make_ring();
    closed_ref = RingRef(a);
    a.close();
    CHECK_FALSE(closed_ref);
    CHECK(a.dependents() == 0);

    Ring b = make_ring();
    destroyed_ref = RingRef(b);
    Ring c = make_ring();
    assigned_ref = RingRef(c);
    c = make_ring();  // the old ring c held is closed; its dependents see that
    CHECK_FALSE(assigned_ref);
    CHECK(destroyed_ref.get() == &b);
  }
  CHECK_FALSE(destroyed_ref);
  CHECK(closed_ref.get() == nullptr);
}

TEST_CASE("many RingRefs, moved and dropped in any order, keep the Ring's list whole") {
  Ring ring = make_ring();
  std::vector<RingRef> refs;
  refs.reserve(8);  // no reallocation: the test moves them itself below
  for (int i = 0; i < 8; ++i) refs.emplace_back(ring);
  CHECK(ring.dependents() == 8);
  std::vector<RingRef> moved;
  for (int i = 7; i >= 0; i -= 2) moved.push_back(std::move(refs[i]));  // 7, 5, 3, 1 move out
  CHECK(ring.dependents() == 8);
  for (int i = 1; i < 8; i += 2) CHECK_FALSE(refs[i]);
  refs[0].reset();
  refs[4].reset();
  CHECK(ring.dependents() == 6);
  Ring elsewhere(std::move(ring));
  for (const RingRef& ref : moved) CHECK(ref.get() == &elsewhere);
  CHECK(refs[2].get() == &elsewhere);
  CHECK(refs[6].get() == &elsewhere);
  moved.clear();
  CHECK(elsewhere.dependents() == 2);
  elsewhere.close();
  CHECK_FALSE(refs[2]);
  CHECK_FALSE(refs[6]);
}

// ---- The dependents: each follows its Ring through a move, and a Ring that
// closed or died first gives them a clear error instead of undefined
// behaviour. Before, each kept a Ring* (issue 12, item 2).

TEST_CASE("a buffer ring group closed after its Ring moved unregisters from the moved ring") {
  Ring ring = make_ring();
  auto group = BufferGroup::create_ring(ring, {.group_id = 7, .buffer_count = 4, .buffer_size = 64});
  REQUIRE_MESSAGE(group.ok(), group.error().message);
  Ring moved(std::move(ring));
  Status closed = group->close();
  CHECK_MESSAGE(closed.ok(), closed.error().message);
  // The group id is free again on the ring that has it now.
  auto again = BufferGroup::create_ring(moved, {.group_id = 7, .buffer_count = 4, .buffer_size = 64});
  CHECK_MESSAGE(again.ok(), (again.ok() ? "" : again.error().message));
}

TEST_CASE("a legacy group closed after its Ring moved removes its buffers through the moved ring") {
  Ring ring = make_ring();
  auto group = BufferGroup::create_provided(ring, {.group_id = 8, .buffer_count = 4, .buffer_size = 64});
  REQUIRE_MESSAGE(group.ok(), group.error().message);
  Ring moved(std::move(ring));
  Status closed = group->close();  // a REMOVE_BUFFERS SQE, through the ring that has the group now
  CHECK_MESSAGE(closed.ok(), closed.error().message);
  CHECK(moved.dependents() == 0);
  // The buffers are gone from the kernel: a read that selects from group 8
  // finds none (-ENOBUFS), instead of writing into the freed memory.
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  REQUIRE(::write(fds[1], "data", 4) == 4);
  prep_read_buffer_select(*moved.get_sqe(), File(fds[0]), 64, 0, 8).set_user_data(80);
  const Cqe cqe = testing::reap_one(moved);
  CHECK(cqe.data() == 80u);
  CHECK(cqe.result() == -ENOBUFS);
  ::close(fds[0]);
  ::close(fds[1]);
}

TEST_CASE("dependents of a Ring that closed or died first report a closed ring and are destroyed safely") {
  auto ring = std::make_unique<Ring>(make_ring());
  auto group = BufferGroup::create_ring(*ring, {.group_id = 9, .buffer_count = 2, .buffer_size = 64});
  REQUIRE_MESSAGE(group.ok(), group.error().message);
  auto files = FileTable::create_sparse(*ring, 4);
  REQUIRE_MESSAGE(files.ok(), files.error().message);
  static char memory[4096];
  const iovec region{memory, sizeof memory};
  auto buffers = BufferTable::create(*ring, {&region, 1});
  REQUIRE_MESSAGE(buffers.ok(), buffers.error().message);
  auto personality = Personality::create(*ring);
  REQUIRE_MESSAGE(personality.ok(), personality.error().message);
  CHECK(ring->dependents() == 4);
  ring.reset();  // the Ring is gone; each dependent must know it (ASan: no use after free)
  CHECK_FALSE(group->valid());
  CHECK_FALSE(files->registered());
  CHECK_FALSE(buffers->registered());
  CHECK_FALSE(personality->valid());
  const int fd = -1;
  auto updated = files->update(0, {&fd, 1});
  REQUIRE_FALSE(updated.ok());
  CHECK(updated.code() == ENXIO);
  CHECK(updated.error().message.find("Ring closed") != std::string::npos);
  CHECK(group->close().ok());  // nothing left to unregister: the kernel dropped it with the ring
}

TEST_CASE("registered tables and personalities follow their Ring through a move") {
  std::optional<Ring> ring(make_ring());
  static char memory[4096];
  const iovec region{memory, sizeof memory};
  auto files = FileTable::create_sparse(*ring, 4);
  REQUIRE_MESSAGE(files.ok(), files.error().message);
  auto buffers = BufferTable::create(*ring, {&region, 1});
  REQUIRE_MESSAGE(buffers.ok(), buffers.error().message);
  auto personality = Personality::create(*ring);
  REQUIRE_MESSAGE(personality.ok(), personality.error().message);
  const std::uint16_t id = personality->id();
  Ring moved(std::move(*ring));
  ring.reset();  // the object they were made with is gone; the ring lives on in `moved`
  CHECK(files->registered());
  CHECK(buffers->registered());
  CHECK(personality->valid());
  files = FileTable();  // each unregisters from the ring that has it now
  buffers = BufferTable();
  personality = Personality();
  auto files_again = FileTable::create_sparse(moved, 4);  // EBUSY if the first were still registered
  CHECK_MESSAGE(files_again.ok(), (files_again.ok() ? "" : files_again.error().message));
  auto buffers_again = BufferTable::create(moved, {&region, 1});
  CHECK_MESSAGE(buffers_again.ok(), (buffers_again.ok() ? "" : buffers_again.error().message));
  prep_nop(*moved.get_sqe()).set_user_data(1).set_personality(id);
  const Cqe cqe = testing::reap_one(moved);
  CHECK(cqe.result() == -EINVAL);  // the personality is unregistered
}

// Review of issue 12: once the Ring closed, a legacy group's recycle() took
// an SQE from the null Ring (SIGSEGV), and a ring group's take/recycle went
// on as if the group were open.
TEST_CASE("take and recycle after the Ring closed answer BufferError::closed, for both kinds of group") {
  for (const bool legacy : {true, false}) {
    INFO("legacy: " << legacy);
    Ring ring = make_ring();
    const BufferGroupOptions options{.group_id = 11, .buffer_count = 2, .buffer_size = 64};
    auto group = legacy ? BufferGroup::create_provided(ring, options) : BufferGroup::create_ring(ring, options);
    REQUIRE_MESSAGE(group.ok(), group.error().message);
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    REQUIRE(::write(fds[1], "abcd", 4) == 4);
    prep_read_buffer_select(*ring.get_sqe(), File(fds[0]), 64, 0, 11).set_user_data(1);
    Cqe cqe{};
    for (;;) {  // skip the legacy group's own PROVIDE_BUFFERS CQEs
      cqe = testing::reap_one(ring);
      if (!group->is_internal(cqe)) break;
      group->handle_internal(cqe);
    }
    REQUIRE(cqe.result() == 4);
    const BufferView view = group->take(cqe);
    REQUIRE(view.ok());
    ring.close();
    CHECK(group->recycle(view) == BufferError::closed);
    CHECK(group->take(cqe).error == BufferError::closed);
    CHECK(group->close().ok());
    ::close(fds[0]);
    ::close(fds[1]);
  }
}
