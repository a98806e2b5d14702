// RingRef: how BufferGroup, FileTable, BufferTable and Personality hold
// their Ring (issue 12, item 2). It must follow the Ring through every move
// and read null once the Ring is closed, in any order of destruction.
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
