// Receives with buffer selection on socket pairs: multishot recv of 1,000
// messages through 8 small buffers (both kinds of group, message and stream
// sockets), incremental buffer rings (IORING_CQE_F_BUF_MORE), and bundles.
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <deque>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "tests/buffers/buffers_support.h"
#include "uring/prep_buffers.h"
#include "uring/prep_net.h"

using namespace uring;
using namespace uring::testing;

namespace {

// Message i: "#0042:" and then 4..40 bytes of a pattern that depends on i.
std::string message(unsigned i) {
  char head[16];
  std::snprintf(head, sizeof head, "#%04u:", i);
  std::string text = head;
  const unsigned extra = 4 + (i * 7) % 37;
  for (unsigned k = 0; k < extra; ++k) text.push_back(static_cast<char>('a' + (i + k) % 26));
  return text;
}

bool send_nonblocking(int fd, const std::string& text) {
  const ssize_t n = ::send(fd, text.data(), text.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  if (n < 0) {
    REQUIRE(errno == EAGAIN);
    return false;
  }
  REQUIRE(n == static_cast<ssize_t>(text.size()));
  return true;
}

void send_all(int fd, const void* data, std::size_t size) {
  REQUIRE(::send(fd, data, size, MSG_NOSIGNAL) == static_cast<ssize_t>(size));
}

// Whether the kernel reports a buffer ring's head (PBUF_STATUS, 6.8), from
// what it says about its register opcodes.
bool kernel_has_ring_head() { return missing_register_op(abi::IORING_REGISTER_PBUF_STATUS).empty(); }

// The test's own ledger of who holds each buffer, kept beside the group's.
struct Ledger {
  explicit Ledger(unsigned count) : with_app(count, false) {}
  void taken(const BufferGroup& group, const BufferView& view) {
    std::uint16_t id = view.id;
    for (unsigned k = 0; k < view.returned(); ++k) {
      REQUIRE(id < with_app.size());
      REQUIRE_FALSE(with_app[id]);  // the kernel handed out a buffer it did not have
      with_app[id] = true;
      if (k + 1 < view.returned()) id = next_id(group, view, k + 1);
    }
  }
  void recycled(const BufferView& view, const BufferGroup& group) {
    for (unsigned k = 0; k < view.returned(); ++k) {
      const std::uint16_t id = k == 0 ? view.id : next_id(group, view, k);
      REQUIRE(with_app[id]);
      with_app[id] = false;
    }
  }
  static std::uint16_t next_id(const BufferGroup& group, const BufferView& view, unsigned k) {
    const auto segment = group.segment(view, k);
    return static_cast<std::uint16_t>((segment.data() - group.buffer(0).data()) / group.buffer_size());
  }
  unsigned held() const { return static_cast<unsigned>(std::count(with_app.begin(), with_app.end(), true)); }
  std::vector<bool> with_app;
};

struct StreamConfig {
  const char* name;
  bool ring;
  int socket_type;
};

}  // namespace

TEST_CASE("multishot recv, 8 buffers, 1,000 messages: each once, in order, recycled, none lost") {
  Ring ring = make_ring(64);
  auto probe = Probe::query(ring);
  REQUIRE(probe.ok());
  const StreamConfig configs[] = {{"ring, SEQPACKET", true, SOCK_SEQPACKET},
                                  {"ring, STREAM", true, SOCK_STREAM},
                                  {"legacy, SEQPACKET", false, SOCK_SEQPACKET},
                                  {"legacy, STREAM", false, SOCK_STREAM}};
  for (const StreamConfig& config : configs) {
    CAPTURE(std::string(config.name));
    SocketPair sockets(config.socket_type);
    BufferGroupOptions options = group_options(50, 8, 64);
    options.no_buffers = NoBuffersPolicy::recycle_and_retry;
    auto made = config.ring ? BufferGroup::create_ring(ring, options) : BufferGroup::create_provided(ring, options);
    REQUIRE_MESSAGE(made.ok(), made.error().message);
    BufferGroup& group = made.value();
    Ledger ledger(8);

    std::string expected_stream, received_stream;
    unsigned sent = 0, received = 0, rearms = 0, parks = 0, cqes = 0;
    // Hold buffers a while, so the kernel runs dry now and then. On the
    // message sockets, recycle only when it has: every -ENOBUFS then finds
    // all 8 buffers with us, and the request is parked until we recycle.
    std::deque<BufferView> held;
    const unsigned hold_limit = config.socket_type == SOCK_SEQPACKET ? 9 : 5;
    bool armed = false;
    auto arm = [&] {
      prep_recv_multishot(next_sqe(ring), sockets.reader, 0, 50).set_user_data(1000);
      armed = true;
    };
    auto recycle_held = [&] {
      while (!held.empty()) {
        ledger.recycled(held.front(), group);
        REQUIRE(group.recycle(held.front()) == BufferError::none);
        held.pop_front();
      }
    };
    arm();
    for (int round = 0; round < 200000 && received < 1000; ++round) {
      while (sent < 1000 && sent - received < 40 && send_nonblocking(sockets.writer, message(sent))) {
        expected_stream += message(sent);
        ++sent;
      }
      REQUIRE(ring.submit() >= 0);
      if (ring.cq_ready() == 0) {
        WaitOptions wait;
        wait.timeout = std::chrono::seconds(5);
        REQUIRE(ring.wait_cqes(1, wait) == 0);
      }
      while (Cqe* peeked = ring.peek_cqe()) {
        const Cqe cqe = *peeked;
        ring.cqe_seen(peeked);
        if (group.is_internal(cqe)) {
          REQUIRE(group.handle_internal(cqe) == 0);
          continue;
        }
        REQUIRE(cqe.data() == 1000);
        ++cqes;
        if (cqe.result() > 0) {
          BufferView view = group.take(cqe);
          REQUIRE_MESSAGE(view.ok(), std::string(describe(view.error)));
          REQUIRE(view.segments == 1);
          ledger.taken(group, view);
          REQUIRE(group.app_owned_count() == ledger.held());
          const std::string text(reinterpret_cast<const char*>(view.data), view.size);
          if (config.socket_type == SOCK_SEQPACKET) {
            REQUIRE(text == message(received));  // one message per CQE, in order
            ++received;
          } else {
            received_stream += text;
            received = static_cast<unsigned>(
                std::count(received_stream.begin(), received_stream.end(), '#'));
          }
          held.push_back(view);
          if (held.size() >= hold_limit) recycle_held();
        } else {
          REQUIRE(cqe.result() == -ENOBUFS);
          REQUIRE_FALSE(cqe.more());
        }
        if (!cqe.more()) {
          armed = false;
          const NoBuffersAction action = group.on_multishot_end(cqe);
          // ended_with_data: the CQ was full (legacy recycles post CQEs too).
          if (action == NoBuffersAction::rearm_now || action == NoBuffersAction::ended_with_data) {
            arm();
            ++rearms;
          } else {
            REQUIRE(action == NoBuffersAction::parked);
            ++parks;
            recycle_held();
            REQUIRE(group.rearm_parked([&](std::uint64_t user_data) {
              REQUIRE(user_data == 1000);
              arm();
              ++rearms;
            }) == 1);
          }
        }
      }
    }
    CHECK(received == 1000);
    CHECK(sent == 1000);
    if (config.socket_type == SOCK_STREAM) {
      // The byte stream may still be a few bytes short of the last message.
      for (int i = 0; i < 100 && received_stream.size() < expected_stream.size(); ++i) {
        REQUIRE(ring.submit() >= 0);
        const Cqe cqe = next_cqe(ring);
        if (group.is_internal(cqe)) continue;
        BufferView view = group.take(cqe);
        if (!view.ok()) {
          REQUIRE(cqe.result() == -ENOBUFS);
          recycle_held();
          arm();
          continue;
        }
        ledger.taken(group, view);
        received_stream.append(reinterpret_cast<const char*>(view.data), view.size);
        held.push_back(view);
        recycle_held();
      }
      CHECK(received_stream == expected_stream);
    }
    recycle_held();
    CHECK(group.app_owned_count() == 0);
    CHECK(ledger.held() == 0);
    CHECK(group.kernel_owned_count() == 8);
    if (config.socket_type == SOCK_SEQPACKET) CHECK(parks > 0);
    REQUIRE(ring.submit() >= 0);  // legacy: the PROVIDEs go in before the end of stream
    MESSAGE(std::string(config.name) << ": " << cqes << " CQEs, " << rearms << " re-arms (" << parks << " parked)");

    // End it: closing the writer gives the multishot a 0 (end of stream).
    ::close(sockets.writer);
    sockets.writer = -1;
    if (!armed) arm();
    REQUIRE(ring.submit() >= 0);
    for (int i = 0; i < 10; ++i) {
      const Cqe cqe = next_cqe(ring);
      if (group.is_internal(cqe)) continue;
      CHECK(cqe.result() == 0);
      CHECK_FALSE(cqe.more());
      CHECK_FALSE(cqe.has_buffer());  // no buffer is spent on the end of stream
      break;
    }
    // None lost: the kernel can hand out all 8 again.
    if (config.ring && kernel_has_ring_head()) {
      auto head = group.kernel_head();
      REQUIRE(head.ok());
      CHECK(static_cast<std::uint16_t>(group.ring_tail() - head.value()) == 8);
    }
    REQUIRE(ring.submit() >= 0);
    CHECK(group.close().ok());
  }
}

TEST_CASE("incremental ring: one large buffer filled by several recvs, F_BUF_MORE honoured") {
  URING_REQUIRE(missing_since("IOU_PBUF_RING_INC", "6.12"));
  Ring ring = make_ring();
  BufferGroupOptions options = group_options(51, 1, 1024);
  options.incremental = true;
  auto group = BufferGroup::create_ring(ring, options);
  REQUIRE_MESSAGE(group.ok(), group.error().message);
  REQUIRE(group->incremental());
  SocketPair sockets;
  const bool has_head = kernel_has_ring_head();
  std::mt19937 random(5);
  const unsigned char* base = group->buffer(0).data();

  for (int lap = 0; lap < 3; ++lap) {  // fill the buffer, give it back, fill it again
    CAPTURE(lap);
    unsigned filled = 0;
    std::vector<unsigned char> expected;
    const unsigned sizes[] = {100, 200, 1, 300, 123};  // 724 bytes, then the 300 that fill it
    for (unsigned size : sizes) {
      std::vector<unsigned char> chunk(size);
      for (auto& byte : chunk) byte = static_cast<unsigned char>(random());
      send_all(sockets.writer, chunk.data(), chunk.size());
      prep_recv_buffer_select(next_sqe(ring), sockets.reader, 0, 0, 51).set_user_data(size);
      const Cqe cqe = reap(ring, 1)[0];
      REQUIRE(cqe.result() == static_cast<int>(size));
      CHECK(cqe.buffer_id() == 0);
      CHECK(cqe.buffer_more());  // room left: the kernel keeps the buffer
      BufferView view = group->take(cqe);
      REQUIRE(view.ok());
      CHECK(view.kernel_keeps_last);
      CHECK(view.returned() == 0);
      CHECK(view.data == base + filled);  // right after the previous receive
      CHECK(std::memcmp(view.data, chunk.data(), size) == 0);
      CHECK(group->kernel_owns(0));
      CHECK(group->recycle(view) == BufferError::none);  // nothing to give back
      CHECK(group->recycle(0) == BufferError::kernel_owned);
      filled += size;
      expected.insert(expected.end(), chunk.begin(), chunk.end());
      if (has_head) CHECK(group->kernel_head().value() == lap);  // still the same buffer
    }
    // Exactly the room left: the buffer is used up and comes back.
    std::vector<unsigned char> last(1024 - filled, static_cast<unsigned char>(lap + 1));
    send_all(sockets.writer, last.data(), last.size());
    prep_recv_buffer_select(next_sqe(ring), sockets.reader, 0, 0, 51);
    const Cqe cqe = reap(ring, 1)[0];
    REQUIRE(cqe.result() == static_cast<int>(last.size()));
    CHECK_FALSE(cqe.buffer_more());
    BufferView view = group->take(cqe);
    REQUIRE(view.ok());
    CHECK_FALSE(view.kernel_keeps_last);
    CHECK(view.returned() == 1);
    CHECK(view.data == base + filled);
    expected.insert(expected.end(), last.begin(), last.end());
    CHECK(std::memcmp(base, expected.data(), 1024) == 0);  // the whole buffer, in order
    CHECK_FALSE(group->kernel_owns(0));
    if (has_head) CHECK(group->kernel_head().value() == lap + 1);
    // While it is ours the group is empty.
    prep_recv_buffer_select(next_sqe(ring), sockets.reader, 0, MSG_DONTWAIT, 51);
    send_all(sockets.writer, "x", 1);
    CHECK(reap(ring, 1)[0].result() == -ENOBUFS);
    char drain;
    REQUIRE(::recv(sockets.reader, &drain, 1, 0) == 1);
    CHECK(group->recycle(view) == BufferError::none);
  }
}

TEST_CASE("incremental ring with multishot recv: the stream arrives whole across partly used buffers") {
  URING_REQUIRE(missing_since("IOU_PBUF_RING_INC", "6.12"));
  Ring ring = make_ring();
  BufferGroupOptions options = group_options(52, 2, 256);
  options.incremental = true;
  options.no_buffers = NoBuffersPolicy::recycle_and_retry;
  auto group = BufferGroup::create_ring(ring, options);
  REQUIRE_MESSAGE(group.ok(), group.error().message);
  SocketPair sockets;
  std::vector<unsigned char> sent, received;
  std::mt19937 random(9);
  auto arm = [&] { prep_recv_multishot(next_sqe(ring), sockets.reader, 0, 52).set_user_data(5); };
  arm();
  unsigned more_seen = 0, ends = 0;
  for (int round = 0; round < 10000 && received.size() < 20000; ++round) {
    if (sent.size() < 20000 && sent.size() - received.size() < 200) {
      std::vector<unsigned char> chunk(1 + random() % 60);
      for (auto& byte : chunk) byte = static_cast<unsigned char>(random());
      send_all(sockets.writer, chunk.data(), std::min<std::size_t>(chunk.size(), 20000 - sent.size()));
      sent.insert(sent.end(), chunk.begin(), chunk.begin() + std::min<std::size_t>(chunk.size(), 20000 - sent.size()));
    }
    REQUIRE(ring.submit() >= 0);
    const Cqe cqe = next_cqe(ring);
    if (cqe.result() > 0) {
      BufferView view = group->take(cqe);
      REQUIRE_MESSAGE(view.ok(), std::string(describe(view.error)));
      REQUIRE(view.segments == 1);
      received.insert(received.end(), view.data, view.data + view.size);
      if (view.kernel_keeps_last) ++more_seen;
      REQUIRE(group->recycle(view) == BufferError::none);
    }
    if (!cqe.more()) {
      REQUIRE(group->on_multishot_end(cqe) == NoBuffersAction::rearm_now);
      arm();
      ++ends;
    }
  }
  CHECK(received.size() == 20000);
  CHECK(received == sent);
  CHECK(more_seen > 0);
  CHECK(group->app_owned_count() == 0);
}

TEST_CASE("bundle recv: several buffers in one CQE, found in ring order even when recycled out of order") {
  URING_REQUIRE(missing_feature(abi::IORING_FEAT_RECVSEND_BUNDLE));
  Ring ring = make_ring();
  auto group = BufferGroup::create_ring(ring, group_options(53, 8, 16));
  REQUIRE_MESSAGE(group.ok(), group.error().message);
  SocketPair sockets;
  Ledger ledger(8);
  std::mt19937 random(11);
  unsigned largest_bundle = 0;
  bool saw_scattered_ids = false;

  for (int lap = 0; lap < 6; ++lap) {
    CAPTURE(lap);
    std::vector<unsigned char> sent(100);
    for (auto& byte : sent) byte = static_cast<unsigned char>(random());
    send_all(sockets.writer, sent.data(), sent.size());
    std::vector<unsigned char> received;
    std::vector<BufferView> views;
    for (int i = 0; i < 20 && received.size() < sent.size(); ++i) {
      prep_recv_bundle(next_sqe(ring), sockets.reader, 0, 0, 53).set_user_data(lap);
      const Cqe cqe = reap(ring, 1)[0];
      REQUIRE(cqe.result() > 0);
      BufferView view = group->take(cqe, Bundle::yes);
      REQUIRE_MESSAGE(view.ok(), std::string(describe(view.error)));
      CHECK(view.size == static_cast<std::uint32_t>(cqe.result()));
      CHECK_FALSE(view.truncated);
      CHECK(view.segments == (view.size + 15) / 16);
      CHECK(view.returned() == view.segments);
      ledger.taken(*group, view);
      largest_bundle = std::max<unsigned>(largest_bundle, view.segments);
      // The segments, in order, are the bytes; copy_out agrees.
      std::vector<unsigned char> joined;
      std::vector<std::uint16_t> ids;
      group->for_each_segment(view, [&](std::span<unsigned char> part) {
        joined.insert(joined.end(), part.begin(), part.end());
        ids.push_back(static_cast<std::uint16_t>((part.data() - group->buffer(0).data()) / 16));
      });
      CHECK(joined.size() == view.size);
      std::vector<unsigned char> copied(view.size + 5);
      CHECK(group->copy_out(view, copied.data(), copied.size()) == view.size);
      CHECK(std::equal(joined.begin(), joined.end(), copied.begin()));
      for (unsigned k = 1; k < ids.size(); ++k) {
        if (ids[k] != static_cast<std::uint16_t>((ids[k - 1] + 1) % 8)) saw_scattered_ids = true;
      }
      received.insert(received.end(), joined.begin(), joined.end());
      views.push_back(view);
    }
    CHECK(received == sent);
    // Give them back in reverse, so the next lap's ring order is scrambled.
    for (auto it = views.rbegin(); it != views.rend(); ++it) {
      ledger.recycled(*it, *group);
      REQUIRE(group->recycle(*it) == BufferError::none);
      CHECK(group->recycle(*it) == BufferError::kernel_owned);
    }
    CHECK(group->kernel_owned_count() == 8);
  }
  CHECK(largest_bundle > 1);
  MESSAGE("largest bundle: " << largest_bundle << " buffers; ids out of order seen: " << saw_scattered_ids);
}

TEST_CASE("multishot bundle recv: 20 KB through 8 x 64-byte buffers, byte for byte") {
  URING_REQUIRE(missing_feature(abi::IORING_FEAT_RECVSEND_BUNDLE));
  Ring ring = make_ring();
  BufferGroupOptions options = group_options(54, 8, 64);
  options.no_buffers = NoBuffersPolicy::recycle_and_retry;
  auto group = BufferGroup::create_ring(ring, options);
  REQUIRE_MESSAGE(group.ok(), group.error().message);
  SocketPair sockets;
  std::vector<unsigned char> sent, received;
  std::mt19937 random(13);
  auto arm = [&] { prep_recv_bundle_multishot(next_sqe(ring), sockets.reader, 0, 54).set_user_data(6); };
  arm();
  unsigned bundles = 0, ends = 0;
  for (int round = 0; round < 10000 && received.size() < 20000; ++round) {
    if (sent.size() < 20000 && sent.size() - received.size() < 400) {
      std::vector<unsigned char> chunk(std::min<std::size_t>(1 + random() % 300, 20000 - sent.size()));
      for (auto& byte : chunk) byte = static_cast<unsigned char>(random());
      send_all(sockets.writer, chunk.data(), chunk.size());
      sent.insert(sent.end(), chunk.begin(), chunk.end());
    }
    REQUIRE(ring.submit() >= 0);
    const Cqe cqe = next_cqe(ring);
    REQUIRE(cqe.data() == 6);
    if (cqe.result() > 0) {
      BufferView view = group->take(cqe, Bundle::yes);
      REQUIRE_MESSAGE(view.ok(), std::string(describe(view.error)));
      if (view.segments > 1) ++bundles;
      const std::size_t at = received.size();
      received.resize(at + view.size);
      REQUIRE(group->copy_out(view, received.data() + at, view.size) == view.size);
      REQUIRE(group->recycle(view) == BufferError::none);
    }
    if (!cqe.more()) {
      // The kernel ends a multishot bundle on data when it took the last buffers
      // it could see; they are back (recycled above), so: re-arm.
      const NoBuffersAction action = group->on_multishot_end(cqe, Bundle::yes);
      REQUIRE((action == NoBuffersAction::rearm_now || action == NoBuffersAction::ended_with_data));
      arm();
      ++ends;
    }
  }
  CHECK(received.size() == sent.size());
  CHECK(received == sent);
  CHECK(bundles > 0);
  MESSAGE(bundles << " bundles of several buffers; the multishot ended and was re-armed " << ends << " times");
  CHECK(group->kernel_owned_count() == 8);
}

TEST_CASE("bundle recv on a legacy group: a CQE larger than its buffer is refused (bundle_needs_ring), naming the one buffer it gives") {
  // On a legacy group the kernel picks one buffer per try; newer kernels'
  // bundle receive that filled it tries again with the next buffer of the
  // list and posts one CQE for both, naming only the first (io_uring/net.c,
  // io_recv_finish): the second buffer's bytes, and the buffer, reach no CQE.
  // A result within the buffer lost nothing and is taken as usual.
  URING_REQUIRE(missing_feature(abi::IORING_FEAT_RECVSEND_BUNDLE));
  Ring ring = make_ring();
  auto group = BufferGroup::create_provided(ring, group_options(57, 8, 64));
  REQUIRE_MESSAGE(group.ok(), group.error().message);
  SocketPair sockets;
  for (const std::size_t bytes : {std::size_t{40}, std::size_t{200}}) {
    CAPTURE(bytes);
    std::vector<unsigned char> sent(bytes);
    for (std::size_t i = 0; i < bytes; ++i) sent[i] = static_cast<unsigned char>(i * 7 + bytes);
    send_all(sockets.writer, sent.data(), sent.size());
    prep_recv_bundle(next_sqe(ring), sockets.reader, 0, 0, 57).set_user_data(bytes);
    Cqe cqe{};
    do cqe = next_cqe(ring);
    while (group->is_internal(cqe) && group->handle_internal(cqe) == 0);
    REQUIRE(cqe.data() == bytes);
    REQUIRE(cqe.result() > 0);
    MESSAGE("sent " << bytes << ", the legacy bundle's CQE: " << cqe.result() << " bytes, one buffer named");
    const BufferView view = group->take(cqe, Bundle::yes);
    if (cqe.result() > 64) {
      CHECK(view.error == BufferError::bundle_needs_ring);
      CHECK(std::string(describe(view.error)).find("buffer ring") != std::string::npos);
      CHECK(view.truncated);
    } else {
      CHECK(view.ok());
      CHECK_FALSE(view.truncated);
    }
    // The one buffer the CQE names is handed over, with its bytes.
    REQUIRE(view.segments == 1);
    CHECK(view.size == std::min<std::uint32_t>(static_cast<std::uint32_t>(cqe.result()), 64));
    CHECK(std::equal(view.bytes().begin(), view.bytes().end(), sent.begin()));
    CHECK_FALSE(group->kernel_owns(view.id));
    CHECK(group->recycle(view) == BufferError::none);
    // Drain what the receive left on the socket.
    const std::size_t got = std::min<std::size_t>(static_cast<std::size_t>(cqe.result()), bytes);
    std::vector<unsigned char> rest(512);
    if (got < bytes) REQUIRE(::recv(sockets.reader, rest.data(), rest.size(), MSG_DONTWAIT) == static_cast<ssize_t>(bytes - got));
    REQUIRE(ring.submit() >= 0);
  }
}

TEST_CASE("send bundle from a legacy group: a CQE per buffer, each taken with Bundle::yes without error") {
  URING_REQUIRE(missing_feature(abi::IORING_FEAT_RECVSEND_BUNDLE));
  Ring ring = make_ring();
  auto group = BufferGroup::create_provided(ring, group_options(58, 4, 32));
  REQUIRE_MESSAGE(group.ok(), group.error().message);
  for (std::uint16_t id = 0; id < 4; ++id) {
    for (std::size_t k = 0; k < 32; ++k) group->buffer(id)[k] = static_cast<unsigned char>(id * 32 + k);
  }
  SocketPair sockets;
  prep_send_bundle(next_sqe(ring), sockets.writer, 0, 0, 58).set_user_data(9);
  unsigned taken = 0, bytes = 0;
  for (int i = 0; i < 20 && bytes < 128; ++i) {
    const Cqe cqe = next_cqe(ring);
    REQUIRE(cqe.data() == 9);
    REQUIRE(cqe.result() > 0);
    const BufferView view = group->take(cqe, Bundle::yes);
    CHECK_MESSAGE(view.ok(), describe(view.error));
    CHECK(view.size == static_cast<std::uint32_t>(cqe.result()));
    bytes += view.size;
    taken += view.returned();
    if (!cqe.more()) break;
  }
  CHECK(bytes == 128);
  CHECK(taken == 4);
  std::vector<unsigned char> got(256);
  REQUIRE(::recv(sockets.reader, got.data(), got.size(), MSG_DONTWAIT) == 128);
  for (std::size_t k = 0; k < 128; ++k) CHECK(got[k] == static_cast<unsigned char>(k));
}

TEST_CASE("incremental ring with bundles: a bundle starts inside a partly used buffer") {
  URING_REQUIRE(missing_feature(abi::IORING_FEAT_RECVSEND_BUNDLE));
  URING_REQUIRE(missing_since("IOU_PBUF_RING_INC", "6.12"));
  Ring ring = make_ring();
  BufferGroupOptions options = group_options(55, 4, 64);
  options.incremental = true;
  auto group = BufferGroup::create_ring(ring, options);
  REQUIRE_MESSAGE(group.ok(), group.error().message);
  SocketPair sockets;
  Ledger ledger(4);
  std::mt19937 random(17);
  std::vector<unsigned char> sent, received;
  unsigned offset_bundles = 0;
  for (unsigned size : {30u, 100u, 10u, 90u, 26u, 200u, 5u, 64u, 1u, 150u}) {
    CAPTURE(size);
    std::vector<unsigned char> chunk(size);
    for (auto& byte : chunk) byte = static_cast<unsigned char>(random());
    send_all(sockets.writer, chunk.data(), chunk.size());
    sent.insert(sent.end(), chunk.begin(), chunk.end());
    for (int i = 0; i < 10 && received.size() < sent.size(); ++i) {
      prep_recv_bundle(next_sqe(ring), sockets.reader, 0, 0, 55);
      const Cqe cqe = reap(ring, 1)[0];
      REQUIRE(cqe.result() > 0);
      BufferView view = group->take(cqe, Bundle::yes);
      REQUIRE_MESSAGE(view.ok(), std::string(describe(view.error)));
      CHECK(view.kernel_keeps_last == cqe.buffer_more());
      const auto offset = view.data - group->buffer(view.id).data();
      if (view.segments > 1 && offset > 0) ++offset_bundles;
      ledger.taken(*group, view);
      const std::size_t at = received.size();
      received.resize(at + view.size);
      REQUIRE(group->copy_out(view, received.data() + at, view.size) == view.size);
      ledger.recycled(view, *group);
      REQUIRE(group->recycle(view) == BufferError::none);
      CHECK(group->app_owned_count() == 0);
    }
  }
  CHECK(received == sent);
  CHECK(offset_bundles > 0);
}

// ---- Truncated datagrams (MSG_TRUNC) -----------------------------------------

namespace {

// 40-byte datagram number `round`: every byte says which datagram it is from.
std::vector<unsigned char> datagram(unsigned round) {
  std::vector<unsigned char> bytes(40);
  for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<unsigned char>(round * 41 + i);
  return bytes;
}

// How many entries the kernel still has in a buffer ring: what it can hand out.
unsigned kernel_ring_entries(const BufferGroup& group) {
  auto head = group.kernel_head();
  REQUIRE_MESSAGE(head.ok(), head.error().message);
  return static_cast<std::uint16_t>(group.ring_tail() - head.value());
}

}  // namespace

TEST_CASE("recv with MSG_TRUNC through 4 buffers: one buffer per datagram, clamped, no id twice (issue 12, item 1)") {
  URING_REQUIRE(missing_register_op(abi::IORING_REGISTER_PBUF_STATUS));  // the kernel's count of ring entries
  Ring ring = make_ring();
  for (bool use_ring : {true, false}) {
    CAPTURE(use_ring);
    const std::uint16_t gid = use_ring ? 60 : 61;
    auto made = use_ring ? BufferGroup::create_ring(ring, group_options(gid, 4, 16))
                         : BufferGroup::create_provided(ring, group_options(gid, 4, 16));
    REQUIRE_MESSAGE(made.ok(), made.error().message);
    BufferGroup& group = made.value();
    SocketPair sockets(SOCK_DGRAM);
    std::vector<bool> with_us(4, false);  // by the kernel's own word: the ids its CQEs named
    std::deque<BufferView> held;
    for (unsigned round = 0; round < 16; ++round) {
      CAPTURE(round);
      const std::vector<unsigned char> sent = datagram(round);
      send_all(sockets.writer, sent.data(), sent.size());
      prep_recv_buffer_select(next_sqe(ring), sockets.reader, 0, MSG_TRUNC, gid).set_user_data(round);
      Cqe cqe;
      do {  // legacy groups: the recycles' PROVIDE_BUFFERS completions come first
        cqe = reap_one(ring);
      } while (group.is_internal(cqe) && group.handle_internal(cqe) == 0);
      REQUIRE(cqe.data() == round);
      REQUIRE(cqe.result() == 40);  // MSG_TRUNC: the datagram's real length
      REQUIRE(cqe.has_buffer());
      const std::uint16_t id = cqe.buffer_id();
      REQUIRE(id < 4);
      CHECK_FALSE(with_us[id]);  // never a buffer we have not given back
      with_us[id] = true;
      BufferView view = group.take(cqe);
      REQUIRE_MESSAGE(view.ok(), std::string(describe(view.error)));
      CHECK(view.id == id);
      CHECK(view.segments == 1);  // the kernel used one buffer
      CHECK(view.size == 16);     // what it holds of the 40 bytes
      CHECK(view.truncated);
      CHECK(std::memcmp(view.data, sent.data(), 16) == 0);
      CHECK(group.app_owned_count() == held.size() + 1);
      held.push_back(view);
      if (held.size() == 2) {  // hold two, so the kernel has to pick among the other two
        with_us[held.front().id] = false;
        REQUIRE(group.recycle(held.front()) == BufferError::none);
        held.pop_front();
        REQUIRE(ring.submit() >= 0);
      }
      if (use_ring) CHECK(kernel_ring_entries(group) == 4 - held.size());
    }
    for (const BufferView& view : held) REQUIRE(group.recycle(view) == BufferError::none);
    REQUIRE(ring.submit() >= 0);
    CHECK(group.kernel_owned_count() == 4);
    if (use_ring) CHECK(kernel_ring_entries(group) == 4);  // four entries, not five
    // The kernel hands out exactly four different buffers, then has none.
    std::set<std::uint16_t> ids;
    std::vector<BufferView> views;
    for (unsigned i = 0; i < 5; ++i) {
      send_all(sockets.writer, "0123456789", 10);
      prep_recv_buffer_select(next_sqe(ring), sockets.reader, 0, 0, gid).set_user_data(100 + i);
      Cqe cqe;
      do {
        cqe = reap_one(ring);
      } while (group.is_internal(cqe) && group.handle_internal(cqe) == 0);
      REQUIRE(cqe.data() == 100 + i);
      if (i == 4) {
        CHECK(cqe.result() == -ENOBUFS);
        break;
      }
      REQUIRE(cqe.result() == 10);
      ids.insert(cqe.buffer_id());
      views.push_back(group.take(cqe));
      REQUIRE(views.back().ok());
    }
    CHECK(ids.size() == 4);
    for (const BufferView& view : views) REQUIRE(group.recycle(view) == BufferError::none);
    REQUIRE(ring.submit() >= 0);
  }
}

TEST_CASE("incremental ring, recv with MSG_TRUNC: the buffers the kernel moves past come back, none twice (issue 12, item 1)") {
  // io_uring/kbuf.c, io_kbuf_inc_commit(): an incremental ring is advanced by
  // the CQE's result, so a datagram longer than the buffer's room moves the
  // kernel past buffers it never wrote into (and partly into the next one).
  URING_REQUIRE(missing_since("IOU_PBUF_RING_INC", "6.12"));
  URING_REQUIRE(missing_register_op(abi::IORING_REGISTER_PBUF_STATUS));
  Ring ring = make_ring();
  BufferGroupOptions options = group_options(62, 4, 16);
  options.incremental = true;
  auto made = BufferGroup::create_ring(ring, options);
  REQUIRE_MESSAGE(made.ok(), made.error().message);
  BufferGroup& group = made.value();
  REQUIRE(group.incremental());
  SocketPair sockets(SOCK_DGRAM);
  for (unsigned round = 0; round < 12; ++round) {
    CAPTURE(round);
    const std::vector<unsigned char> sent = datagram(round);
    send_all(sockets.writer, sent.data(), sent.size());
    prep_recv_buffer_select(next_sqe(ring), sockets.reader, 0, MSG_TRUNC, 62).set_user_data(round);
    const Cqe cqe = reap_one(ring);
    REQUIRE(cqe.result() == 40);
    REQUIRE(cqe.has_buffer());
    const std::uint16_t id = cqe.buffer_id();
    const unsigned char* first = group.buffer(id).data();
    BufferView view = group.take(cqe);
    REQUIRE_MESSAGE(view.ok(), std::string(describe(view.error)));
    CHECK(view.id == id);
    // The bytes are the datagram's first ones, in the room the buffer had.
    REQUIRE(view.size >= 1);
    REQUIRE(view.size <= 16);
    CHECK(view.data + view.size == first + 16);
    CHECK(std::memcmp(view.data, sent.data(), view.size) == 0);
    CHECK(view.truncated);
    CHECK(view.segments >= 2);  // 40 bytes of room passed over: more than this buffer
    std::size_t segment_bytes = 0;
    group.for_each_segment(view, [&](std::span<unsigned char> part) { segment_bytes += part.size(); });
    CHECK(segment_bytes == view.size);  // the buffers passed over hold nothing of it
    // Whatever the kernel moved past is with us now: our count and the kernel's agree.
    CHECK(kernel_ring_entries(group) == group.kernel_owned_count());
    REQUIRE(group.recycle(view) == BufferError::none);
    CHECK(kernel_ring_entries(group) == group.kernel_owned_count());
    CHECK(group.app_owned_count() == 0);
  }
  CHECK(group.kernel_owned_count() == 4);
}

// ---- How a multishot ends (issue 12, item 6) -----------------------------------

namespace {

// Reaps until a CQE without IORING_CQE_F_MORE for user_data `tag`, taking and
// recycling every buffer; returns that last CQE. Internal CQEs of a legacy
// group go to handle_internal.
Cqe reap_until_end(Ring& ring, BufferGroup& group, std::uint64_t tag, unsigned* data_cqes) {
  for (int i = 0; i < 1000; ++i) {
    const Cqe cqe = next_cqe(ring);
    if (group.is_internal(cqe)) {
      REQUIRE(group.handle_internal(cqe) == 0);
      continue;
    }
    REQUIRE(cqe.data() == tag);
    if (cqe.result() > 0) {
      ++*data_cqes;
      BufferView view = group.take(cqe);
      REQUIRE_MESSAGE(view.ok(), std::string(describe(view.error)));
      REQUIRE(group.recycle(view) == BufferError::none);
      REQUIRE(ring.submit() >= 0);  // a legacy group's PROVIDE_BUFFERS
    }
    if (!cqe.more()) return cqe;
  }
  FAIL("the multishot never ended");
  return Cqe{};
}

}  // namespace

TEST_CASE("a multishot that ends with data because the CQ was full is no buffer shortage (issue 12, item 6)") {
  // io_uring/net.c, io_recv_finish(): when io_req_post_cqe() finds the CQ
  // full, the multishot ends, and its last data goes out without F_MORE.
  URING_REQUIRE(missing_feature(abi::IORING_FEAT_NODROP));  // that last CQE waits in the overflow list
  for (bool use_ring : {true, false}) {
    CAPTURE(use_ring);
    RingOptions options;
    options.entries = 4;
    options.cq_entries = 4;
    auto made_ring = testing::create_ring(options);
    REQUIRE_MESSAGE(made_ring.ok(), made_ring.error().message);
    Ring& ring = made_ring.value();
    auto made = use_ring ? BufferGroup::create_ring(ring, group_options(63, 16, 64))
                         : BufferGroup::create_provided(ring, group_options(63, 16, 64));
    REQUIRE_MESSAGE(made.ok(), made.error().message);
    BufferGroup& group = made.value();  // policy fail: a shortage would be answered `fail`
    SocketPair sockets(SOCK_DGRAM);
    for (int i = 0; i < 10; ++i) send_all(sockets.writer, "hello", 5);  // more than the CQ holds
    prep_recv_multishot(next_sqe(ring), sockets.reader, 0, 63).set_user_data(9);
    REQUIRE(ring.submit() == 1);
    unsigned data_cqes = 0;
    const Cqe end = reap_until_end(ring, group, 9, &data_cqes);
    REQUIRE(end.result() == 5);  // it ended on data, not -ENOBUFS
    CHECK(data_cqes < 10);
    CHECK(group.kernel_owned_count() == 16);  // and with every buffer in the kernel
    CHECK(group.on_multishot_end(end) == NoBuffersAction::ended_with_data);
    CHECK(group.parked_count() == 0);
  }
}

TEST_CASE("a multishot that ends with data at its total-length cap is no buffer shortage (issue 12, item 6)") {
  // io_uring/net.c: multishot RECV takes a total byte limit in sqe->optlen
  // (IORING_RECV_MSHOT_LIM, internal) and ends with the data CQE that reaches it.
  URING_REQUIRE(missing_since("the multishot recv total-length cap (sqe->optlen)", "6.17"));
  Ring ring = make_ring();
  auto made = BufferGroup::create_ring(ring, group_options(64, 16, 64));
  REQUIRE_MESSAGE(made.ok(), made.error().message);
  BufferGroup& group = made.value();
  SocketPair sockets(SOCK_DGRAM);
  for (int i = 0; i < 4; ++i) send_all(sockets.writer, "hello", 5);
  prep_recv_multishot(next_sqe(ring), sockets.reader, 0, 64).set_user_data(9).optlen = 12;
  unsigned data_cqes = 0;
  const Cqe end = reap_until_end(ring, group, 9, &data_cqes);
  REQUIRE(end.result() == 5);
  CHECK(data_cqes == 3);  // 5 + 5 + 5 >= 12
  CHECK(group.on_multishot_end(end) == NoBuffersAction::ended_with_data);
}

TEST_CASE("-ENOBUFS while another request's CQE, naming the last buffer, is not taken yet: parked, no spin (issue 12, item 6)") {
  for (bool use_ring : {true, false}) {
    CAPTURE(use_ring);
    Ring ring = make_ring();
    BufferGroupOptions options = group_options(65, 1, 64);
    options.no_buffers = NoBuffersPolicy::recycle_and_retry;
    auto made = use_ring ? BufferGroup::create_ring(ring, options) : BufferGroup::create_provided(ring, options);
    REQUIRE_MESSAGE(made.ok(), made.error().message);
    BufferGroup& group = made.value();
    SocketPair a, b;
    auto recv_on = [&](SocketPair& pair, std::uint64_t tag) {
      send_all(pair.writer, "ping", 4);
      prep_recv_buffer_select(next_sqe(ring), pair.reader, 0, 0, 65).set_user_data(tag);
    };
    auto next_of = [&](std::uint64_t tag) {
      for (;;) {
        const Cqe cqe = next_cqe(ring);
        if (group.is_internal(cqe)) {
          REQUIRE(group.handle_internal(cqe) == 0);
          continue;
        }
        REQUIRE(cqe.data() == tag);
        return cqe;
      }
    };
    recv_on(a, 1);
    BufferView held = group.take(next_of(1));  // the only buffer is ours
    REQUIRE(held.ok());
    recv_on(a, 2);
    const Cqe dry = next_of(2);
    REQUIRE(dry.result() == -ENOBUFS);
    // The buffer goes back and B's receive picks it at once; B's CQE is read, not taken yet.
    REQUIRE(group.recycle(held) == BufferError::none);
    recv_on(b, 3);
    const Cqe b_cqe = next_of(3);
    REQUIRE(b_cqe.result() == 4);
    // A's -ENOBUFS: at most one re-arm that finds nothing, then parked.
    NoBuffersAction action = group.on_no_buffers(dry);
    unsigned rearms = 0;
    while (action == NoBuffersAction::rearm_now && rearms < 5) {
      ++rearms;
      prep_recv_buffer_select(next_sqe(ring), a.reader, 0, 0, 65).set_user_data(2);
      const Cqe again = next_of(2);
      REQUIRE(again.result() == -ENOBUFS);  // the kernel is empty: B has the buffer
      action = group.on_no_buffers(again);
    }
    CHECK(action == NoBuffersAction::parked);
    CHECK(rearms <= 1);
    if (use_ring) CHECK(rearms == 0);  // the ring's head says it at once
    // B's CQE is taken and recycled: A is re-armed and gets the data.
    BufferView b_view = group.take(b_cqe);
    REQUIRE(b_view.ok());
    REQUIRE(group.recycle(b_view) == BufferError::none);
    unsigned rearmed = group.rearm_parked([&](std::uint64_t user_data) {
      CHECK(user_data == 2);
      prep_recv_buffer_select(next_sqe(ring), a.reader, 0, 0, 65).set_user_data(2);
    });
    CHECK(rearmed == 1);
    const Cqe got = next_of(2);
    CHECK(got.result() == 4);  // the ping that found no buffer
    BufferView a_view = group.take(got);
    REQUIRE(a_view.ok());
    CHECK(std::memcmp(a_view.data, "ping", 4) == 0);
    REQUIRE(group.recycle(a_view) == BufferError::none);
    REQUIRE(ring.submit() >= 0);
  }
}

TEST_CASE("a multishot bundle that took the last buffers ends on data: a shortage only while the ring is empty (issue 12, item 6)") {
  URING_REQUIRE(missing_feature(abi::IORING_FEAT_RECVSEND_BUNDLE));
  URING_REQUIRE(missing_register_op(abi::IORING_REGISTER_PBUF_STATUS));  // the kernel's count of ring entries
  for (NoBuffersPolicy policy : {NoBuffersPolicy::fail, NoBuffersPolicy::recycle_and_retry}) {
    CAPTURE(static_cast<int>(policy));
    Ring ring = make_ring();
    BufferGroupOptions options = group_options(66, 2, 16);
    options.no_buffers = policy;
    auto made = BufferGroup::create_ring(ring, options);
    REQUIRE_MESSAGE(made.ok(), made.error().message);
    BufferGroup& group = made.value();
    SocketPair sockets;
    std::vector<unsigned char> sent(100, 0x42);
    send_all(sockets.writer, sent.data(), sent.size());
    prep_recv_bundle_multishot(next_sqe(ring), sockets.reader, 0, 66).set_user_data(4);
    const Cqe end = next_cqe(ring);
    REQUIRE(end.result() == 32);  // both buffers, and then the ring was empty
    REQUIRE_FALSE(end.more());
    BufferView view = group.take(end, Bundle::yes);
    REQUIRE(view.ok());
    CHECK(view.segments == 2);
    CHECK(kernel_ring_entries(group) == 0);
    // Held, so the ring is empty: the policy answers.
    const NoBuffersAction action = group.on_multishot_end(end, Bundle::yes);
    CHECK(action == (policy == NoBuffersPolicy::fail ? NoBuffersAction::fail : NoBuffersAction::parked));
    // Without Bundle::yes a data CQE never means a shortage.
    CHECK(group.on_multishot_end(end) == NoBuffersAction::ended_with_data);
    REQUIRE(group.recycle(view) == BufferError::none);
    // Recycled: not short of buffers any more.
    CHECK(group.on_multishot_end(end, Bundle::yes) == NoBuffersAction::ended_with_data);
  }
}
