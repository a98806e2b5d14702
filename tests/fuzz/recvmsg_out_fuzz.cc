// Fuzz target: uring::RecvmsgOut (uring/recvmsg_out.h), the parser of what a
// multishot RECVMSG left in a provided buffer.
//
// The first input byte picks one of two modes:
//
//  raw (even): the rest is an arbitrary buffer, with arbitrary name/control
//    room and an arbitrary CQE result (negative, short, up to the buffer's
//    size; the kernel never reports more than the buffer holds, and parse
//    has no buffer length to check that against). The buffer is a heap
//    block of exactly its size, so ASan sees any read past it. Oracle: parse
//    accepts exactly the results the layout allows (header, then namelen
//    bytes of name room, then controllen bytes of control room, then the
//    payload; the header's controllen within its room, the payload in the
//    buffer no longer than the header's payloadlen), and every accessor of
//    an accepted message reports what those rules give for these bytes:
//    name = min(header namelen, room) bytes after the header, control at
//    header + name room, payload after both rooms, truncation flags from
//    MSG_TRUNC / MSG_CTRUNC and the lengths; each control message lies
//    inside the header's control bytes, in order, without overlap.
//
//  kernel (odd): the rest describes a message (source address, control
//    messages, datagram) and a buffer; the target lays it out the way
//    io_uring/net.c io_recvmsg_multishot and net/core/scm.c put_cmsg do
//    (control messages cut at the room with MSG_CTRUNC, the address cut at
//    its room with the header keeping its full length, the datagram cut at
//    the payload room with MSG_TRUNC, payloadlen the full length when the
//    request passed MSG_TRUNC) and checks that parse gets every part back
//    exactly: the address bytes, each control message's level, type and
//    data, the payload bytes, and the truncation flags.
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "syscalls/abi.h"
#include "tests/fuzz/fuzz_support.h"
#include "uring/recvmsg_out.h"

namespace {

using uring::RecvmsgOut;
using uring_fuzz::Input;

constexpr std::size_t kHead = sizeof(uring::abi::io_uring_recvmsg_out);
static_assert(kHead == 16);

struct Seen {
  int level;
  int type;
  std::size_t offset;  // of the data, from the start of the control bytes
  std::size_t size;
};

// Every control message for_each_control_message reports, checked to lie in
// the control bytes, in order and without overlap.
std::vector<Seen> walk_controls(const RecvmsgOut& msg, bool* well_formed) {
  std::vector<Seen> seen;
  const unsigned char* const begin = msg.control();
  const unsigned char* const end = begin + msg.control_size();
  const unsigned char* previous_end = begin;
  *well_formed = msg.for_each_control_message([&](const uring::ControlMessage& m) {
    FUZZ_CHECK(m.data >= begin + sizeof(cmsghdr));
    FUZZ_CHECK(m.data >= previous_end + sizeof(cmsghdr));
    FUZZ_CHECK(m.size <= static_cast<std::size_t>(end - m.data));
    // The header the data belongs to says so.
    cmsghdr header;
    std::memcpy(&header, m.data - CMSG_LEN(0), sizeof header);
    FUZZ_CHECK(header.cmsg_len == CMSG_LEN(m.size));
    FUZZ_CHECK(header.cmsg_level == m.level);
    FUZZ_CHECK(header.cmsg_type == m.type);
    volatile unsigned char sink = 0;
    for (std::size_t i = 0; i < m.size; ++i) sink = sink + m.data[i];  // ASan: every byte readable
    (void)sink;
    previous_end = m.data + m.size;
    seen.push_back(Seen{m.level, m.type, static_cast<std::size_t>(m.data - begin), m.size});
    return true;
  });
  // Stopping early stops early: a callback that says "enough" sees one message.
  unsigned calls = 0;
  const bool early = msg.for_each_control_message([&](const uring::ControlMessage&) {
    ++calls;
    return false;
  });
  FUZZ_CHECK(calls == (seen.empty() ? 0u : 1u));
  if (!seen.empty()) FUZZ_CHECK(early);
  // find_control_message finds the first of its kind.
  for (std::size_t i = 0; i < seen.size(); ++i) {
    const auto found = msg.find_control_message(seen[i].level, seen[i].type);
    FUZZ_CHECK(found.has_value());
    std::size_t first = 0;
    while (seen[first].level != seen[i].level || seen[first].type != seen[i].type) ++first;
    FUZZ_CHECK(found->data == begin + seen[first].offset);
    FUZZ_CHECK(found->size == seen[first].size);
  }
  return seen;
}

// What every accepted message must report, from the layout rules alone.
void check_accepted(const RecvmsgOut& msg, const unsigned char* buffer, std::size_t bytes,
                    socklen_t name_room, socklen_t control_room) {
  uring::abi::io_uring_recvmsg_out header;
  std::memcpy(&header, buffer, kHead);
  FUZZ_CHECK(std::memcmp(&msg.header(), &header, kHead) == 0);
  FUZZ_CHECK(msg.flags() == header.flags);

  const std::size_t reserved = kHead + std::size_t{name_room} + control_room;
  FUZZ_CHECK(bytes >= reserved);
  FUZZ_CHECK(header.controllen <= control_room);

  // Name: the address length, capped at its room, right after the header.
  const std::size_t name_size = header.namelen < name_room ? header.namelen : name_room;
  FUZZ_CHECK(msg.name_size() == name_size);
  FUZZ_CHECK(msg.name_truncated() == (header.namelen > name_room));
  const sockaddr_storage name = msg.name();
  const auto* name_bytes = reinterpret_cast<const unsigned char*>(&name);
  const std::size_t stored = name_size < sizeof name ? name_size : sizeof name;
  FUZZ_CHECK(std::memcmp(name_bytes, buffer + kHead, stored) == 0);
  for (std::size_t i = stored; i < sizeof name; ++i) FUZZ_CHECK(name_bytes[i] == 0);

  // Control: after the whole name room, the header's count of bytes.
  FUZZ_CHECK(msg.control() == buffer + kHead + name_room);
  FUZZ_CHECK(msg.control_size() == header.controllen);
  FUZZ_CHECK(msg.control_truncated() == ((header.flags & MSG_CTRUNC) != 0));

  // Payload: after both rooms, to the end of the result.
  FUZZ_CHECK(msg.payload() == buffer + reserved);
  FUZZ_CHECK(msg.payload_size() == bytes - reserved);
  FUZZ_CHECK(msg.payload_size() <= header.payloadlen);
  FUZZ_CHECK(msg.payload_truncated() ==
             ((header.flags & MSG_TRUNC) != 0 || header.payloadlen > msg.payload_size()));
  FUZZ_CHECK(msg.payload() + msg.payload_size() == buffer + bytes);
}

void raw_mode(Input& in) {
  const std::uint8_t shape = in.u8();
  // Rooms: mostly small, sometimes anything (a 32-bit socklen_t).
  socklen_t name_room = (shape & 1) ? in.u32() : in.u8();
  socklen_t control_room = (shape & 2) ? in.u32() : in.u16() % 512;
  const std::uint8_t result_kind = in.u8();
  const std::uint32_t result_value = in.u32();
  const bool null_buffer = (shape & 0xF0) == 0xF0;
  std::size_t size = 0;
  const std::uint8_t* rest = in.rest(&size);

  // The buffer, exactly `size` bytes on the heap.
  std::unique_ptr<unsigned char[]> buffer(new unsigned char[size]);
  if (size) std::memcpy(buffer.get(), rest, size);

  std::int64_t result = 0;
  switch (result_kind % 4) {
    case 0:  // the kernel filled it all
      result = static_cast<std::int64_t>(size);
      break;
    case 1:  // part of it
      result = static_cast<std::int64_t>(result_value % (size + 1));
      break;
    case 2:  // an error, small or not
      result = -static_cast<std::int64_t>(result_value % 5000) - 1;
      break;
    default:  // any negative 64-bit value
      result = -static_cast<std::int64_t>(result_value) * 4096 - 1;
      break;
  }

  const unsigned char* base = null_buffer ? nullptr : buffer.get();
  auto parsed = RecvmsgOut::parse(base, result, name_room, control_room);
  // The msghdr form says the same.
  msghdr armed{};
  armed.msg_namelen = name_room;
  armed.msg_controllen = control_room;
  auto parsed_msghdr = RecvmsgOut::parse(base, result, armed);
  FUZZ_CHECK(static_cast<bool>(parsed) == static_cast<bool>(parsed_msghdr));

  if (result < 0) {
    // The request's error: refused, with that errno (EINVAL past the errno range).
    FUZZ_CHECK(!parsed);
    const int expected = result < -4095 ? EINVAL : static_cast<int>(-result);
    FUZZ_CHECK(parsed.error().code == expected);
    FUZZ_CHECK(!parsed.error().message.empty());
    return;
  }
  const std::size_t bytes = static_cast<std::size_t>(result);
  const std::size_t reserved = kHead + std::size_t{name_room} + control_room;
  bool layout_ok = base != nullptr && bytes >= kHead && bytes >= reserved;
  if (layout_ok) {
    uring::abi::io_uring_recvmsg_out header;
    std::memcpy(&header, base, kHead);
    layout_ok = header.controllen <= control_room && bytes - reserved <= header.payloadlen;
  }
  FUZZ_CHECK(static_cast<bool>(parsed) == layout_ok);
  if (!parsed) {
    FUZZ_CHECK(parsed.error().code == EINVAL);
    FUZZ_CHECK(!parsed.error().message.empty());
    return;
  }
  check_accepted(*parsed, base, bytes, name_room, control_room);
  bool well_formed = false;
  walk_controls(*parsed, &well_formed);
}

// ---- kernel mode ----------------------------------------------------------

struct Control {
  int level;
  int type;
  std::vector<unsigned char> data;
};

void kernel_mode(Input& in) {
  // The request: the rooms its msghdr reserved, MSG_TRUNC passed or not.
  const socklen_t name_room = in.u8() % 160;
  const socklen_t control_room = in.u16() % 400;
  const std::size_t payload_room = in.u16() % 2048;
  const bool request_trunc = in.flag();
  const std::uint32_t extra_flags = in.u32() & (MSG_EOR | MSG_OOB | MSG_ERRQUEUE);

  // The message: address, control messages, datagram.
  std::size_t address_size = in.u8() % (sizeof(sockaddr_storage) + 1);
  if (name_room == 0) address_size = 0;  // no msg_name: the protocol reports none
  unsigned char address[sizeof(sockaddr_storage)];
  std::memset(address, 0x5A, sizeof address);
  in.bytes(address, address_size);
  std::vector<Control> controls(in.u8() % 9);
  for (Control& c : controls) {
    c.level = static_cast<int>(in.u32());
    c.type = static_cast<int>(in.u32());
    c.data.resize(in.u8() % 80);
    for (auto& b : c.data) b = in.u8();
  }
  const std::size_t datagram_size = in.u16() % 4096;
  std::vector<unsigned char> datagram(datagram_size);
  for (auto& b : datagram) b = in.u8();
  const std::uint8_t garbage = in.u8();  // what was in the buffer before

  // The buffer the kernel picked: header + rooms + payload room.
  const std::size_t reserved = kHead + name_room + control_room;
  const std::size_t size = reserved + payload_room;
  std::unique_ptr<unsigned char[]> buffer(new unsigned char[size]);
  std::memset(buffer.get(), garbage, size);
  unsigned char* const control = buffer.get() + kHead + name_room;

  // put_cmsg, one after the other, into the control room.
  std::uint32_t msg_flags = extra_flags;
  std::size_t remaining = control_room;
  std::vector<Control> written;
  for (const Control& c : controls) {
    if (remaining < sizeof(cmsghdr)) {
      msg_flags |= MSG_CTRUNC;
      continue;
    }
    std::size_t cmlen = CMSG_LEN(c.data.size());
    if (remaining < cmlen) {
      msg_flags |= MSG_CTRUNC;
      cmlen = remaining;
    }
    unsigned char* at = control + (control_room - remaining);
    cmsghdr header{};
    header.cmsg_len = cmlen;
    header.cmsg_level = c.level;
    header.cmsg_type = c.type;
    std::memcpy(at, &header, sizeof header);
    const std::size_t data_size = cmlen - CMSG_LEN(0);
    if (data_size) std::memcpy(at + CMSG_LEN(0), c.data.data(), data_size);
    written.push_back(Control{c.level, c.type, std::vector<unsigned char>(c.data.begin(), c.data.begin() + data_size)});
    const std::size_t step = CMSG_SPACE(c.data.size()) < remaining ? CMSG_SPACE(c.data.size()) : remaining;
    remaining -= step;
  }

  // The datagram, cut at the payload room.
  const std::size_t copied = datagram_size < payload_room ? datagram_size : payload_room;
  if (copied) std::memcpy(buffer.get() + reserved, datagram.data(), copied);
  if (datagram_size > payload_room) msg_flags |= MSG_TRUNC;
  const std::size_t err = request_trunc ? datagram_size : copied;

  // The address, cut at its room; the header keeps its full length.
  const std::size_t name_copied = address_size < name_room ? address_size : name_room;
  if (name_copied) std::memcpy(buffer.get() + kHead, address, name_copied);

  uring::abi::io_uring_recvmsg_out header{};
  header.namelen = static_cast<std::uint32_t>(address_size);
  header.controllen = static_cast<std::uint32_t>(control_room - remaining);
  header.payloadlen = static_cast<std::uint32_t>(err);
  header.flags = msg_flags;
  std::memcpy(buffer.get(), &header, kHead);
  const std::int64_t result = static_cast<std::int64_t>(reserved + (err < payload_room ? err : payload_room));

  auto parsed = RecvmsgOut::parse(buffer.get(), result, name_room, control_room);
  FUZZ_CHECK(parsed);  // a buffer the kernel laid out is always accepted
  const RecvmsgOut& msg = *parsed;
  check_accepted(msg, buffer.get(), static_cast<std::size_t>(result), name_room, control_room);

  FUZZ_CHECK(msg.name_size() == name_copied);
  FUZZ_CHECK(msg.name_truncated() == (address_size > name_room));
  const sockaddr_storage name = msg.name();
  FUZZ_CHECK(std::memcmp(&name, address, name_copied) == 0);

  bool well_formed = false;
  const std::vector<Seen> seen = walk_controls(msg, &well_formed);
  FUZZ_CHECK(well_formed);
  FUZZ_CHECK(seen.size() == written.size());
  for (std::size_t i = 0; i < seen.size(); ++i) {
    FUZZ_CHECK(seen[i].level == written[i].level);
    FUZZ_CHECK(seen[i].type == written[i].type);
    FUZZ_CHECK(seen[i].size == written[i].data.size());
    FUZZ_CHECK(seen[i].size == 0 ||
               std::memcmp(msg.control() + seen[i].offset, written[i].data.data(), seen[i].size) == 0);
  }
  FUZZ_CHECK(msg.control_truncated() == ((msg_flags & MSG_CTRUNC) != 0));

  FUZZ_CHECK(msg.payload_size() == copied);
  FUZZ_CHECK(copied == 0 || std::memcmp(msg.payload(), datagram.data(), copied) == 0);
  FUZZ_CHECK(msg.payload_truncated() == (datagram_size > payload_room));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Input in(data, size);
  if (in.u8() & 1) {
    kernel_mode(in);
  } else {
    raw_mode(in);
  }
  return 0;
}
