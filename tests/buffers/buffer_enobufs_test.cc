// NoBuffersPolicy::recycle_and_retry with more busy connections than
// buffers, over TCP on loopback (the kernel reports a TCP socket's queue,
// which decides when a multishot RECV retries): the cost (-ENOBUFS per
// receive stays small) and liveness (no parked request waits forever, whichever
// connections are idle).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

#include "tests/buffers/buffers_support.h"

namespace uring::testing {
namespace {

// N connected TCP pairs on 127.0.0.1: client[i] writes, server[i] is read through the ring.
struct TcpPairs {
  explicit TcpPairs(unsigned n) {
    const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(listener >= 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    REQUIRE(::listen(listener, 1024) == 0);
    socklen_t length = sizeof address;
    REQUIRE(::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length) == 0);
    for (unsigned i = 0; i < n; ++i) {
      const int client = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      REQUIRE(client >= 0);
      REQUIRE(::connect(client, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
      const int server = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
      REQUIRE(server >= 0);
      clients.push_back(client);
      servers.push_back(server);
    }
    ::close(listener);
  }
  ~TcpPairs() {
    for (int fd : clients) ::close(fd);
    for (int fd : servers) ::close(fd);
  }
  TcpPairs(const TcpPairs&) = delete;
  TcpPairs& operator=(const TcpPairs&) = delete;
  std::vector<int> clients, servers;
};

void write_all(int fd, std::size_t bytes, unsigned char fill) {
  std::vector<unsigned char> data(bytes, fill);
  std::size_t done = 0;
  while (done < bytes) {
    const ssize_t n = ::write(fd, data.data() + done, bytes - done);
    if (n < 0 && errno == EINTR) continue;
    REQUIRE(n > 0);
    done += static_cast<std::size_t>(n);
  }
}

Ring tcp_ring(bool defer) {
  RingOptions options;
  options.entries = 256;
  options.cq_entries = 4096;
  options.single_issuer = options.defer_taskrun = defer;
  auto ring = testing::create_ring(options);
  REQUIRE_MESSAGE(ring.ok(), ring.error().message);
  return std::move(ring.value());
}

// Passes of a server loop - a submit-and-wait of at most 50 ms, the CQEs,
// then `hand_back` (rearm_parked) - until request `expected` gets data, at
// most `passes` of them: the group's own CQEs go to handle_internal(), the
// data is taken and recycled, and any other request's CQE fails the test
// (the idle ones post nothing). Returns that request's result, or -1.
template <class HandBack>
std::int32_t serve_until_data(Ring& ring, BufferGroup& group, std::uint64_t expected, int passes, HandBack&& hand_back) {
  std::int32_t got = -1;
  for (int pass = 0; pass < passes && got < 0; ++pass) {
    WaitOptions wait;
    wait.timeout = std::chrono::milliseconds(50);
    (void)ring.submit_and_wait(1, wait);
    while (Cqe* c = ring.peek_cqe()) {
      const Cqe cqe = *c;
      ring.cqe_seen(c);
      if (group.is_internal(cqe)) {
        REQUIRE(group.handle_internal(cqe) == 0);
        continue;
      }
      REQUIRE(cqe.user_data == expected);
      REQUIRE(cqe.has_buffer());
      got = cqe.res;
      const BufferView bytes = group.take(cqe);
      REQUIRE(bytes.ok());
      REQUIRE(group.recycle(bytes) == BufferError::none);
    }
    hand_back();
  }
  return got;
}

// Cancels every request still armed and reaps for `passes` x 20 ms, giving
// any buffer a CQE carries back to `group` (when given), so the test ends
// with nothing in flight before its group and ring go.
void cancel_all_and_drain(Ring& ring, BufferGroup* group = nullptr, int passes = 20) {
  Sqe* sqe = ring.get_sqe();
  if (!sqe) {
    REQUIRE(ring.wait_for_sq_space() >= 0);
    sqe = ring.get_sqe();
  }
  REQUIRE(sqe != nullptr);
  prep_cancel_any(*sqe).set_user_data(~0ull);
  REQUIRE(ring.submit() >= 0);
  for (int i = 0; i < passes; ++i) {
    WaitOptions wait;
    wait.timeout = std::chrono::milliseconds(20);
    (void)ring.submit_and_wait(1, wait);
    while (Cqe* c = ring.peek_cqe()) {
      if (group && c->has_buffer()) {
        const BufferView view = group->take(*c);
        if (view.ok()) REQUIRE(group->recycle(view) == BufferError::none);
      }
      ring.cqe_seen(c);
    }
  }
}

// The receiving side of both tests: one multishot RECV per connection
// (user_data = its index), buffers held until the end of each batch (as a
// server holds them until it has sent them on), then recycled, then the
// parked requests handed back.
struct Receiver {
  Receiver(Ring& ring, BufferGroup& group, const TcpPairs& pairs, std::uint16_t group_id)
      : ring(ring), group(group), pairs(pairs), group_id(group_id), bytes(pairs.servers.size(), 0) {}

  void arm(std::uint64_t index) {
    Sqe* sqe = ring.get_sqe();
    if (!sqe) {
      REQUIRE(ring.submit() >= 0);
      sqe = ring.get_sqe();
    }
    REQUIRE(sqe != nullptr);
    prep_recv_multishot(*sqe, pairs.servers[index], 0, group_id).set_user_data(index);
  }

  // One pass: submit, wait (at most 3 s: while data waits in some socket, a
  // wait that times out is a stall), take every CQE.
  void pass(bool recycle_at_end = true) {
    WaitOptions wait;
    wait.timeout = std::chrono::seconds(3);
    const int rc = ring.submit_and_wait(1, wait);
    REQUIRE((rc >= 0 || rc == -ETIME || rc == -EINTR));
    if (rc == -ETIME) ++timeouts;
    while (Cqe* peeked = ring.peek_cqe()) {
      const Cqe cqe = *peeked;
      ring.cqe_seen(peeked);
      if (group.is_internal(cqe)) {
        REQUIRE(group.handle_internal(cqe) == 0);
        ++internal_cqes;
        continue;
      }
      REQUIRE(cqe.user_data < bytes.size());
      if (cqe.has_buffer()) {
        const BufferView view = group.take(cqe);
        REQUIRE_MESSAGE(view.ok(), std::string(describe(view.error)));
        bytes[cqe.user_data] += view.size;
        ++receives;
        held.push_back(view);
      }
      if (!cqe.more()) {
        if (cqe.res == -ENOBUFS) ++enobufs;
        const NoBuffersAction action = group.on_multishot_end(cqe);
        REQUIRE_MESSAGE(action != NoBuffersAction::fail, "result " << cqe.res);
        REQUIRE_MESSAGE(action != NoBuffersAction::not_enobufs, "result " << cqe.res);
        if (action == NoBuffersAction::parked) {
          ++parks;
        } else {
          arm(cqe.user_data);
        }
      }
    }
    if (recycle_at_end) recycle_held();
    group.rearm_parked([&](std::uint64_t user_data) { arm(user_data); });
  }

  void recycle_held() {
    for (const BufferView& view : held) REQUIRE(group.recycle(view) == BufferError::none);
    held.clear();
  }

  std::uint64_t total() const {
    std::uint64_t sum = 0;
    for (std::uint64_t b : bytes) sum += b;
    return sum;
  }

  Ring& ring;
  BufferGroup& group;
  const TcpPairs& pairs;
  std::uint16_t group_id;
  std::vector<std::uint64_t> bytes;
  std::vector<BufferView> held;
  std::uint64_t receives = 0, enobufs = 0, parks = 0, internal_cqes = 0, timeouts = 0;
};

TEST_CASE("recycle_and_retry: 64 connections x 16 KiB messages on 8 buffers of 4 KiB: -ENOBUFS at most 2 per receive") {
  for (bool defer : {false, true}) {
    CAPTURE(defer);
    Ring ring = tcp_ring(defer);
    TcpPairs pairs(64);
    BufferGroupOptions options = group_options(61, 8, 4096);
    options.no_buffers = NoBuffersPolicy::recycle_and_retry;
    options.max_parked = 64;
    auto made = BufferGroup::create_ring(ring, options);
    REQUIRE_MESSAGE(made.ok(), made.error().message);
    // Decided before the calls under test: the kernel reports the ring's head (6.8).
    if (!made->kernel_head().ok()) {
      MESSAGE("skipped: " << made->kernel_head().error().message);
      return;
    }
    Receiver receiver(ring, *made, pairs, 61);
    constexpr std::size_t kMessage = 16 * 1024;
    constexpr unsigned kMessages = 8;
    for (unsigned i = 0; i < 64; ++i) receiver.arm(i);
    std::thread writer([&] {
      for (unsigned m = 0; m < kMessages; ++m) {
        for (int fd : pairs.clients) write_all(fd, kMessage, static_cast<unsigned char>(m));
      }
    });
    const std::uint64_t expected = 64ull * kMessages * kMessage;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (receiver.total() < expected && std::chrono::steady_clock::now() < deadline) receiver.pass();
    writer.join();
    CHECK(receiver.total() == expected);
    for (unsigned i = 0; i < 64; ++i) CHECK(receiver.bytes[i] == kMessages * kMessage);
    MESSAGE("receives " << receiver.receives << ", -ENOBUFS " << receiver.enobufs << ", parked " << receiver.parks
                        << ", group CQEs " << receiver.internal_cqes);
    CHECK(receiver.enobufs <= 2 * receiver.receives);
    CHECK(receiver.timeouts == 0);
    // Cancel the RECVs still armed, and take their CQEs before the group goes.
    cancel_all_and_drain(ring, &*made, 50);
  }
}

TEST_CASE("recycle_and_retry: parked idle connections hand back no buffer, and the busy ones parked behind them still get theirs") {
  for (bool defer : {false, true}) {
    CAPTURE(defer);
    Ring ring = tcp_ring(defer);
    TcpPairs pairs(64);
    BufferGroupOptions options = group_options(62, 8, 4096);
    options.no_buffers = NoBuffersPolicy::recycle_and_retry;
    options.max_parked = 64;
    auto made = BufferGroup::create_ring(ring, options);
    REQUIRE_MESSAGE(made.ok(), made.error().message);
    if (!made->kernel_head().ok()) {
      MESSAGE("skipped: " << made->kernel_head().error().message);
      return;
    }
    BufferGroup& group = *made;
    Receiver receiver(ring, group, pairs, 62);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    auto before_deadline = [&] { return std::chrono::steady_clock::now() < deadline; };

    // Connection 0 takes all 8 buffers, which we hold: the group is dry.
    write_all(pairs.clients[0], 8 * 4096, 0xA0);
    receiver.arm(0);
    while (receiver.bytes[0] < 8 * 4096 && before_deadline()) receiver.pass(/*recycle_at_end=*/false);
    REQUIRE(receiver.held.size() == 8);
    CHECK(receiver.timeouts == 0);
    REQUIRE(group.kernel_owned_count() == 0);
    // Connections 1..56 are idle: armed now, they fail with -ENOBUFS at once and are parked first.
    for (unsigned i = 1; i <= 56; ++i) receiver.arm(i);
    while (group.parked_count() < 56 && before_deadline()) receiver.pass(false);
    REQUIRE(group.parked_count() == 56);
    CHECK(receiver.timeouts == 0);
    // Connections 57..63 have data waiting; parked behind the idle ones.
    for (unsigned i = 57; i < 64; ++i) write_all(pairs.clients[i], 16 * 1024, static_cast<unsigned char>(i));
    for (unsigned i = 57; i < 64; ++i) receiver.arm(i);
    while (group.parked_count() < 63 && before_deadline()) receiver.pass(false);
    REQUIRE(group.parked_count() == 63);
    CHECK(receiver.timeouts == 0);

    // The 8 buffers come back. Every byte must arrive, in bounded time.
    receiver.recycle_held();
    group.rearm_parked([&](std::uint64_t user_data) { receiver.arm(user_data); });  // after recycling, before waiting
    std::uint64_t expected = 8 * 4096 + 7 * 16 * 1024;
    while (receiver.total() < expected && before_deadline()) receiver.pass();
    CHECK(receiver.total() == expected);
    CHECK(receiver.timeouts == 0);
    // Then the idle ones each send one message, the busy ones another 16 KiB.
    for (unsigned i = 1; i <= 56; ++i) write_all(pairs.clients[i], 100, static_cast<unsigned char>(i));
    for (unsigned i = 57; i < 64; ++i) write_all(pairs.clients[i], 16 * 1024, static_cast<unsigned char>(i));
    expected += 56 * 100 + 7 * 16 * 1024;
    while (receiver.total() < expected && before_deadline()) receiver.pass();
    CHECK(receiver.total() == expected);
    for (unsigned i = 1; i <= 56; ++i) CHECK(receiver.bytes[i] == 100);
    for (unsigned i = 57; i < 64; ++i) CHECK(receiver.bytes[i] == 2 * 16 * 1024);
    CHECK(group.parked_count() == 0);
    CHECK(receiver.timeouts == 0);  // no pass waited while data was there to read
    MESSAGE("receives " << receiver.receives << ", -ENOBUFS " << receiver.enobufs << ", group CQEs "
                        << receiver.internal_cqes);

    cancel_all_and_drain(ring, &group, 50);
  }
}


// Reviewer's d_misc sqfull shape: a 4-entry SQ, 4 buffers, 8 requests parked.
// rearm_parked used to queue the 4 it promised buffers, find no SQE for its
// NOP and then hand back the other 4 into the full SQ: rearm() had no SQE
// (the README's *ring->get_sqe() dereferences null) and 8 requests raced for
// 4 buffers.
TEST_CASE("rearm_parked with a full SQ: rearm() always has an SQE, and no more are handed back than buffers are free") {
  RingOptions ring_options;
  ring_options.entries = 4;
  ring_options.cq_entries = 256;
  auto made_ring = testing::create_ring(ring_options);
  REQUIRE_MESSAGE(made_ring.ok(), made_ring.error().message);
  Ring& ring = made_ring.value();
  TcpPairs pairs(9);
  BufferGroupOptions options = group_options(62, 4, 64);
  options.no_buffers = NoBuffersPolicy::recycle_and_retry;
  auto made = BufferGroup::create_ring(ring, options);
  REQUIRE_MESSAGE(made.ok(), made.error().message);
  BufferGroup& group = *made;
  if (!group.kernel_head().ok()) {
    MESSAGE("skipped: " << group.kernel_head().error().message);
    return;
  }
  // Connection 0 takes every buffer; we hold them.
  std::vector<BufferView> held;
  for (unsigned k = 0; k < 4; ++k) {
    write_all(pairs.clients[0], 1, 'x');
    prep_recv_buffer_select(*ring.get_sqe(), pairs.servers[0], 0, 0, 62).set_user_data(100);
    REQUIRE(ring.submit_and_wait(1) >= 0);
    const Cqe cqe = next_cqe(ring);
    REQUIRE(cqe.res == 1);
    held.push_back(group.take(cqe));
    REQUIRE(held.back().ok());
  }
  // 8 more find the group empty and are parked.
  for (unsigned i = 1; i < 9; ++i) {
    prep_recv_multishot(*ring.get_sqe(), pairs.servers[i], 0, 62).set_user_data(i);
    REQUIRE(ring.submit_and_wait(1) >= 0);
    const Cqe cqe = next_cqe(ring);
    REQUIRE(cqe.res == -ENOBUFS);
    REQUIRE(group.on_multishot_end(cqe) == NoBuffersAction::parked);
  }
  for (const BufferView& view : held) REQUIRE(group.recycle(view) == BufferError::none);
  unsigned without_sqe = 0, rearmed = 0;
  const unsigned n = group.rearm_parked([&](std::uint64_t user_data) {
    Sqe* sqe = ring.get_sqe();
    if (!sqe) {
      ++without_sqe;
      return;
    }
    ++rearmed;
    prep_recv_multishot(*sqe, pairs.servers[user_data], 0, 62).set_user_data(user_data);
  });
  CHECK(without_sqe == 0);
  CHECK(n == rearmed + without_sqe);
  CHECK(n <= 4);
  CHECK(n >= 1);
  CHECK(group.parked_count() == 8 - n);
  // Clean up: cancel everything, reap.
  REQUIRE(ring.submit() >= 0);
  cancel_all_and_drain(ring, nullptr, 20);
}

// A wake-up NOP still in flight when the group closes: documented as a CQE
// with internal_user_data | 0x10001 that is_internal() no longer recognises.
TEST_CASE("a wake-up NOP in flight at close() comes with internal_user_data | 0x10001, is_internal false") {
  auto made_ring = testing::create_ring(RingOptions{.entries = 64, .cq_entries = 256});
  REQUIRE_MESSAGE(made_ring.ok(), made_ring.error().message);
  Ring& ring = made_ring.value();
  TcpPairs pairs(3);
  BufferGroupOptions options = group_options(63, 1, 64);
  options.no_buffers = NoBuffersPolicy::recycle_and_retry;
  options.internal_user_data = std::uint64_t{0x5A5A} << 40;
  auto made = BufferGroup::create_ring(ring, options);
  REQUIRE_MESSAGE(made.ok(), made.error().message);
  if (!made->kernel_head().ok()) {
    MESSAGE("skipped: " << made->kernel_head().error().message);
    return;
  }
  write_all(pairs.clients[0], 1, 'x');
  prep_recv_buffer_select(*ring.get_sqe(), pairs.servers[0], 0, 0, 63).set_user_data(100);
  REQUIRE(ring.submit_and_wait(1) >= 0);
  const BufferView view = made->take(next_cqe(ring));
  REQUIRE(view.ok());
  for (unsigned i = 1; i < 3; ++i) {
    prep_recv_multishot(*ring.get_sqe(), pairs.servers[i], 0, 63).set_user_data(i);
    REQUIRE(ring.submit_and_wait(1) >= 0);
    REQUIRE(made->on_multishot_end(next_cqe(ring)) == NoBuffersAction::parked);
  }
  REQUIRE(made->recycle(view) == BufferError::none);
  std::vector<std::uint64_t> handed;
  REQUIRE(made->rearm_parked([&](std::uint64_t user_data) { handed.push_back(user_data); }) == 1);
  REQUIRE(handed == std::vector<std::uint64_t>{1});
  REQUIRE(ring.sq_pending() == 1);  // the NOP only (we did not re-arm the request)
  REQUIRE(made->close().ok());
  REQUIRE(ring.submit_and_wait(1) >= 0);
  const Cqe nop = next_cqe(ring);
  CHECK(nop.user_data == (options.internal_user_data | 0x10001));
  CHECK(nop.res == 0);
  CHECK_FALSE(made->is_internal(nop));
  CHECK(made->handle_internal(nop) == 0);
}

// Reviewer's c_random_driver (2 plain single legacy tcp) stalled with one
// request parked, nothing armed, and both buffers with the kernel. A legacy
// group counts recycles, not free buffers: here one recycle goes to the
// first -ENOBUFS (rearm_now), that request's socket is idle so it leaves the
// buffer free, and the second request - parked with nothing recycled after
// it - used to wait for a recycle that could never come (the app held no
// buffer). Now rearm_parked hands the parked requests back once when the
// app holds no buffer of the group, so the second one gets its bytes.
TEST_CASE("legacy group: a request parked while the app holds no buffer is handed back, not parked forever") {
  for (bool defer : {false, true}) {
    CAPTURE(defer);
    Ring ring = tcp_ring(defer);
    TcpPairs pairs(3);  // 0 takes the only buffer; 1 is idle; 2 gets data late
    BufferGroupOptions options = group_options(61, 1, 64);
    options.no_buffers = NoBuffersPolicy::recycle_and_retry;
    options.max_parked = 4;
    auto made = BufferGroup::create_provided(ring, options);
    REQUIRE_MESSAGE(made.ok(), made.error().message);
    BufferGroup& group = *made;
    auto next_request_cqe = [&] {  // the next CQE that is not the group's own
      for (;;) {
        const Cqe cqe = next_cqe(ring);
        if (!group.is_internal(cqe)) return cqe;
        REQUIRE(group.handle_internal(cqe) == 0);
      }
    };
    auto arm = [&](std::uint64_t i) {
      Sqe* sqe = ring.get_sqe();
      REQUIRE(sqe != nullptr);
      prep_recv_buffer_select(*sqe, pairs.servers[i], 0, 0, 61).set_user_data(i);
    };

    write_all(pairs.clients[0], 10, 'a');
    arm(0);
    const Cqe first = next_request_cqe();
    REQUIRE(first.res == 10);
    const BufferView view = group.take(first);
    REQUIRE(view.ok());
    REQUIRE(group.kernel_owned_count() == 0);

    // 1 and 2 are armed on idle sockets with the group dry: -ENOBUFS at once.
    arm(1);
    arm(2);
    REQUIRE(ring.submit() == 2);
    const Cqe a = next_request_cqe();
    const Cqe b = next_request_cqe();
    REQUIRE(a.res == -ENOBUFS);
    REQUIRE(b.res == -ENOBUFS);

    // The buffer goes back; the first answer may re-arm, the second parks.
    REQUIRE(group.recycle(view) == BufferError::none);
    REQUIRE(group.on_no_buffers(a) == NoBuffersAction::rearm_now);
    arm(a.user_data);
    REQUIRE(group.on_no_buffers(b) == NoBuffersAction::parked);
    REQUIRE(group.app_owned_count() == 0);

    // The re-armed request's socket stays idle: it leaves the buffer free.
    // The parked one must be handed back, and get its bytes.
    std::vector<std::uint64_t> handed;
    auto hand_back = [&] { group.rearm_parked([&](std::uint64_t ud) { handed.push_back(ud); arm(ud); }); };
    hand_back();
    REQUIRE(ring.submit() >= 0);
    write_all(pairs.clients[b.user_data], 5, 'b');
    const std::int32_t got = serve_until_data(ring, group, b.user_data, 20, hand_back);
    CHECK(handed == std::vector<std::uint64_t>{b.user_data});
    CHECK(got == 5);
    CHECK(group.parked_count() == 0);
    cancel_all_and_drain(ring, nullptr, 10);
  }
}

// The rule above with buffers given_at_start kept back (never taken): the
// app holds none it took, so the hand-back must still come. Here the two
// -ENOBUFS are answered passes after the recycle's PROVIDE CQE (as late
// task work would be), so only that rule can hand the parked one back
// (review of f507947: a kept-back buffer counted as held, and it stayed
// parked with the kernel's buffer free and its data waiting).
TEST_CASE("legacy group: buffers kept back by given_at_start do not count as held for the hand-back") {
  for (const unsigned kept_back : {0u, 1u, 3u}) {
    CAPTURE(kept_back);
    Ring ring = tcp_ring(false);
    TcpPairs pairs(3);  // 0 takes the only buffer given; 1 is idle; 2 has data
    BufferGroupOptions options = group_options(62, 1 + kept_back, 64);
    options.given_at_start = 1;
    options.no_buffers = NoBuffersPolicy::recycle_and_retry;
    options.max_parked = 4;
    auto made = BufferGroup::create_provided(ring, options);
    REQUIRE_MESSAGE(made.ok(), made.error().message);
    BufferGroup& group = *made;
    auto arm = [&](std::uint64_t i) {
      Sqe* sqe = ring.get_sqe();
      REQUIRE(sqe != nullptr);
      prep_recv_buffer_select(*sqe, pairs.servers[i], 0, 0, 62).set_user_data(i);
    };
    auto next_request_cqe = [&] {
      for (;;) {
        const Cqe cqe = next_cqe(ring);
        if (!group.is_internal(cqe)) return cqe;
        REQUIRE(group.handle_internal(cqe) == 0);
      }
    };
    write_all(pairs.clients[0], 10, 'a');
    arm(0);
    const Cqe first = next_request_cqe();
    REQUIRE(first.res == 10);
    const BufferView view = group.take(first);
    REQUIRE(view.ok());
    write_all(pairs.clients[2], 7, 'c');
    arm(1);
    arm(2);
    const Cqe a = next_request_cqe();
    const Cqe b = next_request_cqe();
    REQUIRE(a.res == -ENOBUFS);
    REQUIRE(b.res == -ENOBUFS);
    // The buffer goes back and its PROVIDE's CQE is seen; passes go by.
    REQUIRE(group.recycle(view) == BufferError::none);
    REQUIRE(ring.submit() == 1);
    const Cqe provided = next_cqe(ring);
    REQUIRE(group.is_internal(provided));
    REQUIRE(group.handle_internal(provided) == 0);
    for (int pass = 0; pass < 3; ++pass) CHECK(group.rearm_parked([](std::uint64_t) {}) == 0);
    // Now the late answers: the first re-arms (its socket idle, the buffer stays free), the second parks.
    REQUIRE(group.on_no_buffers(a) == NoBuffersAction::rearm_now);
    arm(a.user_data);
    REQUIRE(group.on_no_buffers(b) == NoBuffersAction::parked);
    CHECK(group.app_owned_count() == kept_back);
    const auto hand_back = [&] { group.rearm_parked([&](std::uint64_t ud) { arm(ud); }); };
    hand_back();
    const std::int32_t got = serve_until_data(ring, group, b.user_data, 10, hand_back);
    CHECK(got == 7);
    CHECK(group.parked_count() == 0);
    cancel_all_and_drain(ring, nullptr, 10);
  }
}

// The same shape with a second buffer you keep (so the rule above does not
// apply), as an SQPOLL thread makes it happen (c_random_driver 3 sqpoll
// single legacy tcp): both -ENOBUFS were posted before the recycled buffer's
// PROVIDE_BUFFERS ran, so its CQE comes after them. The first answer re-arms
// (its socket is idle: the buffer stays free), the second parks; the
// PROVIDE's CQE, given to handle_internal() after the park, hands it back.
TEST_CASE("legacy group: a request parked before its recycled buffer's PROVIDE_BUFFERS CQE is handed back by that CQE") {
  for (bool skip_success : {false, true}) {
    CAPTURE(skip_success);
    Ring ring = tcp_ring(/*defer=*/false);
    TcpPairs pairs(4);  // 0 and 1 take the two buffers; 2 is idle; 3 gets data late
    BufferGroupOptions options = group_options(60, 2, 64);
    options.no_buffers = NoBuffersPolicy::recycle_and_retry;
    options.max_parked = 4;
    options.skip_success_cqes = skip_success;  // recycle_and_retry posts the recycle's CQE anyway
    auto made = BufferGroup::create_provided(ring, options);
    REQUIRE_MESSAGE(made.ok(), made.error().message);
    BufferGroup& group = *made;
    auto arm = [&](std::uint64_t i) {
      Sqe* sqe = ring.get_sqe();
      REQUIRE(sqe != nullptr);
      prep_recv_buffer_select(*sqe, pairs.servers[i], 0, 0, 60).set_user_data(i);
    };
    std::vector<BufferView> held;
    for (unsigned i = 0; i < 2; ++i) {
      write_all(pairs.clients[i], 10, 'a');
      arm(i);
      Cqe cqe = next_cqe(ring);
      while (group.is_internal(cqe)) {
        REQUIRE(group.handle_internal(cqe) == 0);
        cqe = next_cqe(ring);
      }
      REQUIRE(cqe.res == 10);
      held.push_back(group.take(cqe));
      REQUIRE(held.back().ok());
    }
    REQUIRE(group.kernel_owned_count() == 0);
    arm(2);
    arm(3);
    REQUIRE(ring.submit() == 2);
    WaitOptions settle;
    settle.timeout = std::chrono::milliseconds(200);
    (void)ring.submit_and_wait(2, settle);
    REQUIRE(ring.cq_ready() == 2);  // both -ENOBUFS, not reaped yet
    REQUIRE(group.recycle(held[0]) == BufferError::none);
    REQUIRE(ring.submit() == 1);  // the PROVIDE runs now, behind the two -ENOBUFS in the CQ
    (void)ring.submit_and_wait(3, settle);
    REQUIRE(ring.cq_ready() == 3);

    // One pass, in CQ order.
    std::vector<bool> internal;
    while (Cqe* c = ring.peek_cqe()) {
      const Cqe cqe = *c;
      ring.cqe_seen(c);
      internal.push_back(group.is_internal(cqe));
      if (internal.back()) {
        REQUIRE(group.handle_internal(cqe) == 0);
        continue;
      }
      REQUIRE(cqe.res == -ENOBUFS);
      const NoBuffersAction action = group.on_no_buffers(cqe);
      if (cqe.user_data == 2) {
        REQUIRE(action == NoBuffersAction::rearm_now);
        arm(2);
      } else {
        REQUIRE(action == NoBuffersAction::parked);
      }
    }
    CHECK(internal == std::vector<bool>{false, false, true});  // the PROVIDE's CQE came last
    std::vector<std::uint64_t> handed;
    auto hand_back = [&] { group.rearm_parked([&](std::uint64_t ud) { handed.push_back(ud); arm(ud); }); };
    hand_back();
    CHECK(handed == std::vector<std::uint64_t>{3});

    // You still hold buffer 1; request 3 gets its bytes in the buffer 2 left free.
    REQUIRE(ring.submit() >= 0);
    write_all(pairs.clients[3], 5, 'b');
    const std::int32_t got = serve_until_data(ring, group, 3, 20, hand_back);
    CHECK(got == 5);
    CHECK(group.parked_count() == 0);
    REQUIRE(group.recycle(held[1]) == BufferError::none);
    cancel_all_and_drain(ring, nullptr, 10);
  }
}

// Reviewer's sqpoll_rearm_hang: on SQPOLL one submit() does not make room
// (the poller has not moved the head yet), so rearm_parked used to leave the
// rest parked with no wake-up NOP; the handed-back sockets were idle and a
// loop that waits for CQEs never came back, though buffers were free and the
// parked connections had data. Now it waits for the poller (SQ_WAIT).
TEST_CASE("rearm_parked on a full SQPOLL SQ waits for the poller: every parked connection with data is served") {
  RingOptions ring_options;
  ring_options.entries = 4;
  ring_options.cq_entries = 256;
  ring_options.sqpoll = true;
  ring_options.sqpoll_idle_ms = 1;
  auto made_ring = testing::create_ring(ring_options);
  REQUIRE_MESSAGE(made_ring.ok(), made_ring.error().message);
  Ring& ring = made_ring.value();
  TcpPairs pairs(9);
  BufferGroupOptions options = group_options(59, 4, 64);
  options.no_buffers = NoBuffersPolicy::recycle_and_retry;
  auto made = BufferGroup::create_ring(ring, options);
  REQUIRE_MESSAGE(made.ok(), made.error().message);
  BufferGroup& group = *made;
  if (!group.kernel_head().ok()) {
    MESSAGE("skipped: " << group.kernel_head().error().message);
    return;
  }
  std::vector<BufferView> held;
  for (unsigned k = 0; k < 4; ++k) {
    write_all(pairs.clients[0], 1, 'x');
    prep_recv_buffer_select(*ring.get_sqe(), pairs.servers[0], 0, 0, 59).set_user_data(100);
    const Cqe cqe = next_cqe(ring);
    REQUIRE(cqe.res == 1);
    held.push_back(group.take(cqe));
    REQUIRE(held.back().ok());
  }
  for (unsigned i = 1; i < 9; ++i) {
    prep_recv_multishot(*ring.get_sqe(), pairs.servers[i], 0, 59).set_user_data(i);
    const Cqe cqe = next_cqe(ring);
    REQUIRE(cqe.res == -ENOBUFS);
    REQUIRE(group.on_multishot_end(cqe) == NoBuffersAction::parked);
  }
  for (unsigned i = 5; i < 9; ++i) write_all(pairs.clients[i], 4, 'd');  // 1..4 stay idle
  for (const BufferView& view : held) REQUIRE(group.recycle(view) == BufferError::none);
  unsigned without_sqe = 0, served = 0, passes = 0;
  for (; passes < 20 && served < 4; ++passes) {
    group.rearm_parked([&](std::uint64_t user_data) {
      Sqe* sqe = ring.get_sqe();
      if (!sqe) {
        ++without_sqe;
        return;
      }
      prep_recv_multishot(*sqe, pairs.servers[user_data], 0, 59).set_user_data(user_data);
    });
    WaitOptions wait;
    wait.timeout = std::chrono::seconds(2);  // the loop waits for a CQE; 2 s of none is the hang
    const int waited = ring.submit_and_wait(1, wait);
    REQUIRE_MESSAGE(ring.cq_ready() > 0, "pass " << passes << ": no CQE (" << waited << "), parked "
                                                  << group.parked_count() << ", served " << served);
    while (Cqe* c = ring.peek_cqe()) {
      const Cqe cqe = *c;
      ring.cqe_seen(c);
      if (group.is_internal(cqe)) {
        CHECK(group.handle_internal(cqe) == 0);
      } else if (cqe.res > 0) {
        CHECK(cqe.user_data >= 5);
        ++served;
        const BufferView view = group.take(cqe);
        REQUIRE(view.ok());
        REQUIRE(group.recycle(view) == BufferError::none);
      } else if (!cqe.more()) {
        CHECK(group.on_multishot_end(cqe) != NoBuffersAction::fail);
      }
    }
  }
  CHECK(served == 4);
  CHECK(without_sqe == 0);
  cancel_all_and_drain(ring, nullptr, 20);
}

// Review of 5813d91 (legacy_defer_async_park): on a DEFER_TASKRUN ring an
// -ENOBUFS that an io-wq worker decided before a recycle's PROVIDE_BUFFERS
// ran is posted (task work) after that PROVIDE's CQE. The app holds a buffer
// (the first half of D's message), so neither rule handed D back: the kernel
// had a buffer free and D had data, parked for ever. A PROVIDE CQE seen in
// the pass of the park or the one before it now hands the parked back.
TEST_CASE("legacy group on DEFER_TASKRUN: an io-wq -ENOBUFS posted after the recycle's PROVIDE CQE is handed back") {
  Ring ring = tcp_ring(/*defer=*/true);
  TcpPairs pairs(4);  // 1 = B, 2 = C (idle), 3 = D
  BufferGroupOptions options = group_options(58, 2, 64);
  options.no_buffers = NoBuffersPolicy::recycle_and_retry;
  options.max_parked = 8;
  auto made = BufferGroup::create_provided(ring, options);
  REQUIRE_MESSAGE(made.ok(), made.error().message);
  BufferGroup& group = *made;
  auto recv = [&](std::uint64_t who, bool async) {
    Sqe* sqe = ring.get_sqe();
    REQUIRE(sqe != nullptr);
    prep_recv_buffer_select(*sqe, pairs.servers[who], 0, 0, 58).set_user_data(who);
    if (async) sqe->force_async();
  };
  auto next = [&](std::chrono::milliseconds limit, Cqe* out) {  // the next CQE not the group's own
    WaitOptions wait;
    wait.timeout = limit;
    for (;;) {
      Cqe* c = ring.peek_cqe();
      if (!c) {
        if (ring.wait_cqes(1, wait) < 0) return false;
        c = ring.peek_cqe();
        if (!c) return false;
      }
      *out = *c;
      ring.cqe_seen(c);
      if (!group.is_internal(*out)) return true;
      REQUIRE(group.handle_internal(*out) == 0);
    }
  };
  write_all(pairs.clients[3], 8, 'd');
  write_all(pairs.clients[1], 5, 'b');
  recv(3, false);
  recv(1, false);
  REQUIRE(ring.submit() == 2);
  BufferView held_d{}, view_b{};
  for (int k = 0; k < 2; ++k) {
    Cqe cqe;
    REQUIRE(next(std::chrono::seconds(2), &cqe));
    const BufferView view = group.take(cqe);
    REQUIRE(view.ok());
    (cqe.user_data == 3 ? held_d : view_b) = view;
  }
  write_all(pairs.clients[3], 8, 'e');  // D's second half
  recv(2, true);
  REQUIRE(ring.submit() == 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  recv(3, true);
  REQUIRE(ring.submit() == 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  REQUIRE(group.recycle(view_b) == BufferError::none);
  REQUIRE(ring.submit() >= 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  for (int k = 0; k < 2; ++k) {
    Cqe cqe;
    REQUIRE(next(std::chrono::seconds(2), &cqe));
    REQUIRE(cqe.res == -ENOBUFS);
    const NoBuffersAction action = group.on_no_buffers(cqe);
    if (action == NoBuffersAction::rearm_now) recv(cqe.user_data, false);
  }
  bool d_done = false;
  for (int pass = 0; pass < 20 && !d_done; ++pass) {
    group.rearm_parked([&](std::uint64_t user_data) { recv(user_data, false); });
    REQUIRE(ring.submit() >= 0);
    Cqe cqe;
    if (!next(std::chrono::milliseconds(100), &cqe)) continue;
    if (cqe.has_buffer()) {
      const BufferView view = group.take(cqe);
      REQUIRE(view.ok());
      if (cqe.user_data == 3 && cqe.res == 8) d_done = true;
      REQUIRE(group.recycle(view) == BufferError::none);
    } else if (cqe.res == -ENOBUFS) {
      (void)group.on_no_buffers(cqe);
    }
  }
  CHECK(d_done);
  REQUIRE(group.recycle(held_d) == BufferError::none);
  cancel_all_and_drain(ring, nullptr, 10);
}

}  // namespace
}  // namespace uring::testing
