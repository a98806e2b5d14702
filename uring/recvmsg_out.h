// Reading what a multishot RECVMSG (prep_recvmsg_multishot) left in a
// provided buffer. The kernel lays each message out as
//
//   | io_uring_recvmsg_out | name: namelen bytes | control: controllen bytes | payload |
//
// where namelen/controllen are the msg_namelen/msg_controllen of the msghdr
// the request was armed with (the room reserved in every buffer, used or
// not), and the CQE result counts all of it. RecvmsgOut::parse checks every
// length against the buffer before anything is read; the accessors never
// read outside it and never dereference a misaligned struct.
//
//   auto msg = uring::RecvmsgOut::parse(buffer_of(cqe.buffer_id()), cqe.result(), armed_msghdr);
//   if (!msg) { ... msg.error().message ... }
//   use(msg->payload(), msg->payload_size());
#pragma once

#include <sys/socket.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>

#include "syscalls/abi.h"
#include "uring/result.h"

namespace uring {

// One control message (cmsghdr) inside a RecvmsgOut, copied out of the buffer.
struct ControlMessage {
  int level = 0;                        // cmsg_level (SOL_SOCKET, IPPROTO_IP, ...)
  int type = 0;                         // cmsg_type (SCM_RIGHTS, IP_PKTINFO, ...)
  const unsigned char* data = nullptr;  // CMSG_DATA: may be misaligned, memcpy from it
  std::size_t size = 0;                 // bytes of data
};

class RecvmsgOut {
 public:
  // `buffer`: the provided buffer the CQE named (Cqe::buffer_id());
  // `result`: the CQE's result, the bytes the kernel put in the buffer;
  // `namelen`/`controllen`: what the armed msghdr reserved. A negative
  // result is the request's error (-ENOBUFS, ...), not a message: refused
  // with that errno as the error's code, the buffer untouched.
  static Result<RecvmsgOut> parse(const void* buffer, std::int64_t result, socklen_t namelen,
                                  socklen_t controllen) {
    const std::size_t head = sizeof(abi::io_uring_recvmsg_out);
    if (result < 0) {
      const int code = result < -4095 ? EINVAL : static_cast<int>(-result);
      return Error{code, "io_uring_recvmsg_out: the CQE's result " + std::to_string(result) + " (" +
                             errno_name(code) + ") is the request's error, not a message: handle the error "
                             "(BufferGroup::on_multishot_end for -ENOBUFS) instead of parsing"};
    }
    const std::size_t bytes = static_cast<std::size_t>(result);
    if (buffer == nullptr) return fail("null buffer");
    if (bytes < head) {
      return fail(std::to_string(bytes) + " bytes cannot hold the " + std::to_string(head) +
                  "-byte io_uring_recvmsg_out header");
    }
    const std::size_t reserved = head + std::size_t{namelen} + std::size_t{controllen};
    if (bytes < reserved) {
      return fail(std::to_string(bytes) + " bytes are fewer than header + name + control room (" +
                  std::to_string(reserved) + "): was the request armed with a different msghdr?");
    }
    RecvmsgOut out;
    out.base_ = static_cast<const unsigned char*>(buffer);
    std::memcpy(&out.header_, out.base_, head);
    out.name_room_ = namelen;
    out.control_room_ = controllen;
    out.payload_size_ = bytes - reserved;
    if (out.header_.controllen > controllen) {
      return fail("header says " + std::to_string(out.header_.controllen) + " control bytes but only " +
                  std::to_string(controllen) + " were reserved");
    }
    if (out.payload_size_ > out.header_.payloadlen) {
      return fail("buffer holds " + std::to_string(out.payload_size_) + " payload bytes but header says " +
                  std::to_string(out.header_.payloadlen));
    }
    return out;
  }

  static Result<RecvmsgOut> parse(const void* buffer, std::int64_t result, const msghdr& armed) {
    return parse(buffer, result, armed.msg_namelen, static_cast<socklen_t>(armed.msg_controllen));
  }

  // The kernel's header, copied.
  const abi::io_uring_recvmsg_out& header() const { return header_; }
  // MSG_* flags of this message: MSG_TRUNC (payload cut), MSG_CTRUNC (control cut), ...
  std::uint32_t flags() const { return header_.flags; }

  // ---- Source address
  // Bytes of address stored in the buffer: the address length, capped at the room reserved.
  socklen_t name_size() const {
    return header_.namelen < name_room_ ? static_cast<socklen_t>(header_.namelen) : name_room_;
  }
  // The address did not fit the room reserved (its full length is header().namelen).
  bool name_truncated() const { return header_.namelen > name_room_; }
  // The stored address bytes, copied into zeroed storage (only name_size() bytes are meaningful).
  sockaddr_storage name() const {
    sockaddr_storage storage{};
    const std::size_t size = name_size() < sizeof storage ? name_size() : sizeof storage;
    if (size > 0) std::memcpy(&storage, base_ + sizeof(abi::io_uring_recvmsg_out), size);
    return storage;
  }

  // ---- Control messages
  const unsigned char* control() const { return base_ + sizeof(abi::io_uring_recvmsg_out) + name_room_; }
  std::size_t control_size() const { return header_.controllen; }
  bool control_truncated() const { return (header_.flags & MSG_CTRUNC) != 0; }

  // Calls fn(const ControlMessage&) for each whole control message; stops
  // early when fn returns false. Returns false if a cmsg_len points outside
  // the control bytes (the rest is then skipped).
  template <class Fn>
  bool for_each_control_message(Fn&& fn) const {
    const unsigned char* cursor = control();
    const unsigned char* const end = cursor + control_size();
    const std::size_t head = CMSG_LEN(0);  // aligned cmsghdr size
    while (static_cast<std::size_t>(end - cursor) >= sizeof(cmsghdr)) {
      cmsghdr cmsg;
      std::memcpy(&cmsg, cursor, sizeof cmsg);  // the buffer may leave it misaligned
      if (cmsg.cmsg_len < head || cmsg.cmsg_len > static_cast<std::size_t>(end - cursor)) return false;
      ControlMessage message;
      message.level = cmsg.cmsg_level;
      message.type = cmsg.cmsg_type;
      message.data = cursor + head;
      message.size = cmsg.cmsg_len - head;
      if (!fn(static_cast<const ControlMessage&>(message))) return true;
      const std::size_t step = CMSG_ALIGN(cmsg.cmsg_len);
      if (step >= static_cast<std::size_t>(end - cursor)) break;
      cursor += step;
    }
    return true;
  }

  // The first control message with this level and type, if any.
  std::optional<ControlMessage> find_control_message(int level, int type) const {
    std::optional<ControlMessage> found;
    for_each_control_message([&](const ControlMessage& message) {
      if (message.level == level && message.type == type) {
        found = message;
        return false;
      }
      return true;
    });
    return found;
  }

  // ---- Payload
  const unsigned char* payload() const {
    return base_ + sizeof(abi::io_uring_recvmsg_out) + name_room_ + control_room_;
  }
  // Payload bytes in the buffer.
  std::size_t payload_size() const { return payload_size_; }
  // The message had more payload than the buffer took (MSG_TRUNC, or with
  // MSG_TRUNC passed to the request, header().payloadlen > payload_size()).
  bool payload_truncated() const {
    return (header_.flags & MSG_TRUNC) != 0 || header_.payloadlen > payload_size_;
  }

 private:
  static Error fail(const std::string& why) { return Error{EINVAL, "io_uring_recvmsg_out: " + why}; }

  const unsigned char* base_ = nullptr;
  abi::io_uring_recvmsg_out header_{};
  socklen_t name_room_ = 0;
  socklen_t control_room_ = 0;
  std::size_t payload_size_ = 0;
};

}  // namespace uring
