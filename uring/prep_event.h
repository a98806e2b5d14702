// Event opcode builders: polling (POLL_ADD/REMOVE, EPOLL_CTL/WAIT), timeouts
// (TIMEOUT, TIMEOUT_REMOVE, LINK_TIMEOUT), cancellation (ASYNC_CANCEL),
// ring-to-ring messages (MSG_RING), futexes (FUTEX_WAIT/WAKE/WAITV), WAITID,
// and the NOP test forms not in uring/prep.h. Same rules as uring/prep.h.
//
// Lifetimes: timespecs, epoll_events, futex words, futex_waitv arrays and
// siginfo_t passed here must stay valid until the request's CQE is reaped.
// (The kernel copies a timespec when it first reads the SQE, which with
// SQPOLL or IOSQE_IO_DRAIN can be well after submit(); "until the CQE" is
// the rule that is always enough.)
#pragma once

#include <signal.h>
#include <sys/epoll.h>
#include <sys/wait.h>

#include <bit>
#include <cstdint>
#include <optional>

#include "syscalls/abi.h"
#include "uring/sqe.h"

namespace uring {

namespace prep_event_detail {

inline std::uint64_t address_of(const void* pointer) {
  return static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(pointer));
}

// The kernel reads poll32_events with its 16-bit halves swapped on
// big-endian machines (a legacy of the 16-bit poll_events field).
constexpr std::uint32_t poll_mask_for_kernel(std::uint32_t mask) {
  if constexpr (std::endian::native == std::endian::big) return (mask << 16) | (mask >> 16);
  return mask;
}

}  // namespace prep_event_detail

// ---- Polling ------------------------------------------------------------------
// `poll_mask`: POLLIN, POLLOUT, ... (EPOLLEXCLUSIVE allowed); POLLERR and
// POLLHUP are always reported. Every POLL_ADD is edge-triggered: Linux 6.18
// refuses IORING_POLL_ADD_LEVEL in a POLL_ADD with -EINVAL (io_poll_add_prep
// takes only IORING_POLL_ADD_MULTI), so no builder offers it.

// IORING_OP_POLL_ADD (5.1): one-shot poll; result = the ready events mask.
inline Prepared& prep_poll_add(Sqe& sqe, File file, unsigned poll_mask) {
  sqe.clear();
  sqe.opcode = abi::IORING_OP_POLL_ADD;
  sqe.set_file(file);
  sqe.poll32_events = prep_event_detail::poll_mask_for_kernel(poll_mask);
  return sqe;
}

// IORING_OP_POLL_ADD with IORING_POLL_ADD_MULTI (5.13): one CQE per wake-up,
// each with Cqe::more(), until removed or failed. Edge-triggered: data left
// unread posts no further CQE, each new arrival posts one.
inline Prepared& prep_poll_multishot(Sqe& sqe, File file, unsigned poll_mask) {
  prep_poll_add(sqe, file, poll_mask);
  sqe.len = abi::IORING_POLL_ADD_MULTI;
  return sqe;
}

// IORING_OP_POLL_REMOVE (5.1): removes the poll whose user_data is `target`
// (it completes with -ECANCELED); result = 0, or -ENOENT if there is none.
inline Prepared& prep_poll_remove(Sqe& sqe, std::uint64_t target) {
  sqe.clear();
  sqe.opcode = abi::IORING_OP_POLL_REMOVE;
  sqe.addr = target;
  return sqe;
}

// What prep_poll_update changes in an armed poll. Unset fields stay as they
// are; `events` replaces only the event mask, so a one-shot poll stays
// one-shot and a multishot one multishot. An update with neither field set
// is a removal: the poll completes with -ECANCELED (io_poll_remove finds no
// update flag and cancels it) -- say prep_poll_remove when that is meant.
struct PollUpdate {
  std::optional<std::uint64_t> user_data;  // the poll's CQEs carry this from now on
  std::optional<unsigned> events;          // new poll mask
};

// IORING_OP_POLL_REMOVE with IORING_POLL_UPDATE_* (5.13): updates the armed
// poll `target` in place; result = 0, or -ENOENT if there is none.
inline Prepared& prep_poll_update(Sqe& sqe, std::uint64_t target, const PollUpdate& update) {
  prep_poll_remove(sqe, target);
  std::uint32_t flags = 0;
  if (update.user_data) {
    flags |= abi::IORING_POLL_UPDATE_USER_DATA;
    sqe.off = *update.user_data;
  }
  if (update.events) {
    flags |= abi::IORING_POLL_UPDATE_EVENTS;
    sqe.poll32_events = prep_event_detail::poll_mask_for_kernel(*update.events);
  }
  sqe.len = flags;
  return sqe;
}

// IORING_OP_EPOLL_CTL (5.6): epoll_ctl(epfd, op, fd, event); result = 0.
// The epoll fd cannot be a fixed file.
inline Prepared& prep_epoll_ctl(Sqe& sqe, int epfd, int fd, int op, epoll_event* event) {
  sqe.clear();
  sqe.opcode = abi::IORING_OP_EPOLL_CTL;
  sqe.fd = epfd;
  sqe.off = static_cast<std::uint32_t>(fd);
  sqe.len = static_cast<std::uint32_t>(op);
  sqe.addr = prep_event_detail::address_of(event);
  return sqe;
}

// IORING_OP_EPOLL_WAIT (6.15): waits for at least one ready event;
// result = the number of events stored in `events`.
inline Prepared& prep_epoll_wait(Sqe& sqe, File epfd, epoll_event* events, unsigned maxevents) {
  sqe.clear();
  sqe.opcode = abi::IORING_OP_EPOLL_WAIT;
  sqe.set_file(epfd);
  sqe.addr = prep_event_detail::address_of(events);
  sqe.len = maxevents;
  return sqe;
}

// ---- Timeouts -------------------------------------------------------------------
// Every `ts` must stay valid until the request's CQE (see the top of this file).
// `flags` (IORING_TIMEOUT_*): ABS (ts is a point in time, not a duration),
// one clock: BOOTTIME or REALTIME (default CLOCK_MONOTONIC), ETIME_SUCCESS
// (expiry is not a failure, so it does not break a link chain).

// IORING_OP_TIMEOUT (5.4): result = -ETIME when `ts` passes, or 0 once
// `count` other CQEs were posted (count 0: time only). -EFAULT for a null ts.
inline Prepared& prep_timeout(Sqe& sqe, const abi::kernel_timespec* ts, unsigned count = 0,
                              std::uint32_t flags = 0) {
  sqe.clear();
  sqe.opcode = abi::IORING_OP_TIMEOUT;
  sqe.addr = prep_event_detail::address_of(ts);
  sqe.len = 1;  // one timespec
  sqe.off = count;
  sqe.timeout_flags = flags;
  return sqe;
}

// IORING_OP_TIMEOUT with IORING_TIMEOUT_MULTISHOT (6.4): -ETIME every `ts`
// (relative only), `repeats` times (0: until removed); Cqe::more() on all
// but the last.
inline Prepared& prep_timeout_multishot(Sqe& sqe, const abi::kernel_timespec* ts, unsigned repeats,
                                        std::uint32_t flags = 0) {
  return prep_timeout(sqe, ts, repeats, flags | abi::IORING_TIMEOUT_MULTISHOT);
}

// IORING_OP_TIMEOUT_REMOVE (5.5): removes the timeout whose user_data is
// `target` (it completes with -ECANCELED); result = 0, -ENOENT (none), or
// -EALREADY (it is firing right now).
inline Prepared& prep_timeout_remove(Sqe& sqe, std::uint64_t target) {
  sqe.clear();
  sqe.opcode = abi::IORING_OP_TIMEOUT_REMOVE;
  sqe.addr = target;
  return sqe;
}

// IORING_OP_TIMEOUT_REMOVE with IORING_TIMEOUT_UPDATE (5.11): re-arms timeout
// `target` with `ts`, from now on time-only (a completion count it had is
// dropped); result = 0 or -ENOENT. `flags`: 0 (ts is relative) or
// IORING_TIMEOUT_ABS. The timeout keeps the clock it was armed with (an ABS
// ts is read on that clock); a clock flag (BOOTTIME, REALTIME) here makes the
// kernel fail the update with -EINVAL (io_timeout_remove_prep).
inline Prepared& prep_timeout_update(Sqe& sqe, std::uint64_t target, const abi::kernel_timespec* ts,
                                     std::uint32_t flags = 0) {
  prep_timeout_remove(sqe, target);
  sqe.addr2 = prep_event_detail::address_of(ts);
  sqe.timeout_flags = flags | abi::IORING_TIMEOUT_UPDATE;
  return sqe;
}

// IORING_OP_TIMEOUT_REMOVE with IORING_LINK_TIMEOUT_UPDATE (5.15): re-arms
// the linked timeout `target`; result = 0 or -ENOENT. `flags` as for
// prep_timeout_update (0 or ABS; the clock stays). (The kernel takes the
// update path only with IORING_TIMEOUT_UPDATE set as well.)
inline Prepared& prep_link_timeout_update(Sqe& sqe, std::uint64_t target, const abi::kernel_timespec* ts,
                                          std::uint32_t flags = 0) {
  return prep_timeout_update(sqe, target, ts, flags | abi::IORING_LINK_TIMEOUT_UPDATE);
}

// IORING_OP_LINK_TIMEOUT (5.5): put it right after an SQE marked link(); if
// `ts` passes first, that request is cancelled (-ECANCELED, or -EINTR if it
// was already running) and this one completes with -ETIME; if the request
// finishes first, this one completes with -ECANCELED.
inline Prepared& prep_link_timeout(Sqe& sqe, const abi::kernel_timespec* ts, std::uint32_t flags = 0) {
  sqe.clear();
  sqe.opcode = abi::IORING_OP_LINK_TIMEOUT;
  sqe.addr = prep_event_detail::address_of(ts);
  sqe.len = 1;
  sqe.timeout_flags = flags;
  return sqe;
}

// ---- Cancellation ------------------------------------------------------------------
// Result: 0 when one request was found and cancelled (it completes with
// -ECANCELED; for FUTEX_WAIT/WAITV and WAITID requests the kernel says 1),
// -ENOENT when none matched, -EALREADY when it was already running (it may
// still complete normally). With IORING_ASYNC_CANCEL_ALL or ANY: the number
// of requests cancelled, 0 when none matched.

// IORING_OP_ASYNC_CANCEL (5.5): the request whose user_data is `target`.
// `flags`: IORING_ASYNC_CANCEL_ALL (5.19) to cancel every request with it.
// fd is -1: IORING_ASYNC_CANCEL_FD passed here names no file (-EBADF), not
// stdin; prep_cancel_fd matches on a file.
inline Prepared& prep_cancel(Sqe& sqe, std::uint64_t target, std::uint32_t flags = 0) {
  sqe.clear();
  sqe.opcode = abi::IORING_OP_ASYNC_CANCEL;
  sqe.fd = -1;
  sqe.addr = target;
  sqe.cancel_flags = flags;
  return sqe;
}

// IORING_OP_ASYNC_CANCEL of the request whose user_data is the pointer
// `target` (set with set_user_data(const void*)). As prep_cancel above.
template <class T>
inline Prepared& prep_cancel(Sqe& sqe, const T* target, std::uint32_t flags = 0) {
  return prep_cancel(sqe, static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(target)), flags);
}

// IORING_OP_ASYNC_CANCEL with IORING_ASYNC_CANCEL_FD (5.19): requests on
// `file`. The kernel matches the open file itself, so a FixedFile slot and
// a plain fd for the same file match the same requests.
// `flags`: IORING_ASYNC_CANCEL_ALL.
inline Prepared& prep_cancel_fd(Sqe& sqe, File file, std::uint32_t flags = 0) {
  sqe.clear();
  sqe.opcode = abi::IORING_OP_ASYNC_CANCEL;
  sqe.fd = file.value();
  sqe.cancel_flags =
      flags | abi::IORING_ASYNC_CANCEL_FD | (file.fixed() ? abi::IORING_ASYNC_CANCEL_FD_FIXED : 0U);
  return sqe;
}

// IORING_OP_ASYNC_CANCEL with IORING_ASYNC_CANCEL_ANY (5.19): every pending
// request of the ring; result = how many.
inline Prepared& prep_cancel_any(Sqe& sqe) { return prep_cancel(sqe, 0, abi::IORING_ASYNC_CANCEL_ANY); }

// IORING_OP_ASYNC_CANCEL with IORING_ASYNC_CANCEL_OP (6.6): requests with
// this opcode. `flags`: IORING_ASYNC_CANCEL_ALL; IORING_ASYNC_CANCEL_USERDATA
// (also match `target`). To match the opcode on one file only, use
// prep_cancel_fd_op (the kernel takes FD and OP together; not with ANY).
inline Prepared& prep_cancel_op(Sqe& sqe, unsigned opcode, std::uint32_t flags = 0,
                                std::uint64_t target = 0) {
  prep_cancel(sqe, target, flags | abi::IORING_ASYNC_CANCEL_OP);
  sqe.len = opcode;
  return sqe;
}

// IORING_OP_ASYNC_CANCEL with IORING_ASYNC_CANCEL_FD | IORING_ASYNC_CANCEL_OP
// (6.6): requests on `file` that have this opcode; others on the same file
// stay. `flags`: IORING_ASYNC_CANCEL_ALL.
inline Prepared& prep_cancel_fd_op(Sqe& sqe, File file, unsigned opcode, std::uint32_t flags = 0) {
  prep_cancel_fd(sqe, file, flags | abi::IORING_ASYNC_CANCEL_OP);
  sqe.len = opcode;
  return sqe;
}

// ---- Messages to another ring -----------------------------------------------------
// `target_ring_fd` is the other ring's fd (Ring::fd()). It is a plain int on
// purpose: the kernel never lets a ring fd into a fixed-file table.

// IORING_OP_MSG_RING, IORING_MSG_DATA (5.18): posts a CQE {user_data,
// result} in the target ring; result here = 0 (-EBADFD: not a ring;
// -EOVERFLOW: the target's CQ is full).
inline Prepared& prep_msg_ring(Sqe& sqe, int target_ring_fd, std::int32_t result, std::uint64_t user_data) {
  sqe.clear();
  sqe.opcode = abi::IORING_OP_MSG_RING;
  sqe.fd = target_ring_fd;
  sqe.addr = abi::IORING_MSG_DATA;
  sqe.len = static_cast<std::uint32_t>(result);
  sqe.off = user_data;
  return sqe;
}

// IORING_OP_MSG_RING with IORING_MSG_RING_FLAGS_PASS (6.3): as prep_msg_ring,
// and the target CQE's flags are `cqe_flags`.
inline Prepared& prep_msg_ring_cqe_flags(Sqe& sqe, int target_ring_fd, std::int32_t result,
                                         std::uint64_t user_data, std::uint32_t cqe_flags) {
  prep_msg_ring(sqe, target_ring_fd, result, user_data);
  sqe.msg_ring_flags = abi::IORING_MSG_RING_FLAGS_PASS;
  sqe.file_index = cqe_flags;
  return sqe;
}

// IORING_OP_MSG_RING, IORING_MSG_SEND_FD (6.0): installs this ring's fixed
// file `source` into the target ring's file table at `target_slot`; the
// target gets a CQE {user_data, 0 or the chosen slot} unless `post_cqe` is
// false (IORING_MSG_RING_CQE_SKIP, 6.1). Result here: the same 0 or slot.
inline Prepared& prep_msg_ring_send_fd(Sqe& sqe, int target_ring_fd, FixedFile source, DirectSlot target_slot,
                                       std::uint64_t user_data, bool post_cqe = true) {
  sqe.clear();
  sqe.opcode = abi::IORING_OP_MSG_RING;
  sqe.fd = target_ring_fd;
  sqe.addr = abi::IORING_MSG_SEND_FD;
  sqe.addr3 = source.index;
  sqe.set_direct_slot(target_slot);
  sqe.off = user_data;
  if (!post_cqe) sqe.msg_ring_flags = abi::IORING_MSG_RING_CQE_SKIP;
  return sqe;
}

// ---- Futexes and child processes -----------------------------------------------------

// futex2 flags (linux/futex.h, Linux 6.7), spelled here because older system
// headers lack them. The kernel accepts 32-bit futexes only.
namespace futex2 {
inline constexpr std::uint32_t size_u32 = 0x02;          // FUTEX2_SIZE_U32
inline constexpr std::uint32_t private_flag = 0x80;      // FUTEX2_PRIVATE: not shared between processes
inline constexpr std::uint64_t match_any = 0xffffffffu;  // FUTEX_BITSET_MATCH_ANY
inline constexpr std::uint32_t default_flags = size_u32 | private_flag;
}  // namespace futex2

// struct futex_waitv (linux/futex.h, 5.16): one futex of a FUTEX_WAITV.
struct FutexWaitv {
  std::uint64_t val;    // expected value
  std::uint64_t uaddr;  // address of the futex word
  std::uint32_t flags;  // futex2 flags
  std::uint32_t reserved;
};
static_assert(sizeof(FutexWaitv) == 24, "struct futex_waitv is 24 bytes");

inline FutexWaitv futex_waitv_entry(const std::uint32_t* futex, std::uint32_t expected,
                                    std::uint32_t flags = futex2::default_flags) {
  return FutexWaitv{expected, prep_event_detail::address_of(futex), flags, 0};
}

// IORING_OP_FUTEX_WAIT (6.7): sleeps while *futex == expected until woken
// with a matching `mask`; result = 0 when woken, -EAGAIN if *futex differed.
inline Prepared& prep_futex_wait(Sqe& sqe, std::uint32_t* futex, std::uint32_t expected,
                                 std::uint64_t mask = futex2::match_any,
                                 std::uint32_t flags = futex2::default_flags) {
  sqe.clear();
  sqe.opcode = abi::IORING_OP_FUTEX_WAIT;
  sqe.fd = static_cast<std::int32_t>(flags);
  sqe.addr = prep_event_detail::address_of(futex);
  sqe.addr2 = expected;
  sqe.addr3 = mask;
  return sqe;
}

// IORING_OP_FUTEX_WAKE (6.7): wakes up to `count` waiters on `futex` whose
// mask matches; result = the number woken.
inline Prepared& prep_futex_wake(Sqe& sqe, std::uint32_t* futex, std::uint64_t count,
                                 std::uint64_t mask = futex2::match_any,
                                 std::uint32_t flags = futex2::default_flags) {
  sqe.clear();
  sqe.opcode = abi::IORING_OP_FUTEX_WAKE;
  sqe.fd = static_cast<std::int32_t>(flags);
  sqe.addr = prep_event_detail::address_of(futex);
  sqe.addr2 = count;
  sqe.addr3 = mask;
  return sqe;
}

// IORING_OP_FUTEX_WAITV (6.7): waits on `count` futexes (at most 128) at once;
// result = the index of the entry that was woken, -EAGAIN if a value differed.
inline Prepared& prep_futex_waitv(Sqe& sqe, FutexWaitv* entries, unsigned count) {
  sqe.clear();
  sqe.opcode = abi::IORING_OP_FUTEX_WAITV;
  sqe.addr = prep_event_detail::address_of(entries);
  sqe.len = count;
  return sqe;
}

// IORING_OP_WAITID (6.7): waitid(idtype, id, info, options); result = 0 with
// *info filled as waitid(2) fills it (si_pid, si_status, si_code, ...).
inline Prepared& prep_waitid(Sqe& sqe, idtype_t idtype, id_t id, siginfo_t* info, int options) {
  sqe.clear();
  sqe.opcode = abi::IORING_OP_WAITID;
  sqe.len = static_cast<std::uint32_t>(idtype);
  sqe.fd = static_cast<std::int32_t>(id);
  sqe.file_index = static_cast<std::uint32_t>(options);
  sqe.addr2 = prep_event_detail::address_of(info);
  return sqe;
}

// ---- NOP test forms -----------------------------------------------------------------

// What a NOP should exercise before completing (uring/prep.h has the plain
// NOP, the injected result and the CQE32 form).
struct NopOptions {
  std::optional<std::int32_t> inject_result;  // IORING_NOP_INJECT_RESULT (6.10)
  std::optional<File> file;           // IORING_NOP_FILE (6.13): look the file up (FIXED_FILE for a FixedFile)
  std::optional<FixedBuffer> buffer;  // IORING_NOP_FIXED_BUFFER (6.13): look the registered buffer up
  bool task_work = false;             // IORING_NOP_TW (6.17): complete through task work
};

// IORING_OP_NOP with flags: result = 0 (or the injected result). A failed
// lookup fails the request, so linked requests after it are cancelled
// (-ECANCELED), and the file lookup comes first (a failed one skips the
// buffer lookup). The result is then the lookup's error, -EBADF (no such fd,
// an empty or missing slot) or -EFAULT (no such registered buffer), on
// kernels with upstream commit e97ff8b62d46 (2026, backported to stable
// kernels, 6.18.44 among them); before it the result was the injected value
// (0 by default) even then.
inline Prepared& prep_nop_with(Sqe& sqe, const NopOptions& options) {
  sqe.clear();
  sqe.opcode = abi::IORING_OP_NOP;
  std::uint32_t flags = 0;
  if (options.inject_result) {
    flags |= abi::IORING_NOP_INJECT_RESULT;
    sqe.len = static_cast<std::uint32_t>(*options.inject_result);
  }
  if (options.file) {
    flags |= abi::IORING_NOP_FILE;
    if (options.file->fixed()) flags |= abi::IORING_NOP_FIXED_FILE;
    sqe.fd = options.file->value();  // not set_file(): NOP has its own fixed-file flag
  }
  if (options.buffer) {
    flags |= abi::IORING_NOP_FIXED_BUFFER;
    sqe.buf_index = static_cast<std::uint16_t>(options.buffer->index);
  }
  if (options.task_work) flags |= abi::IORING_NOP_TW;
  sqe.nop_flags = flags;
  return sqe;
}

// True for each opcode this header has a builder for (NOP's plain builder
// lives in uring/prep.h).
inline constexpr bool has_event_builder(unsigned opcode) {
  switch (opcode) {
    case abi::IORING_OP_POLL_ADD:
    case abi::IORING_OP_POLL_REMOVE:
    case abi::IORING_OP_EPOLL_CTL:
    case abi::IORING_OP_EPOLL_WAIT:
    case abi::IORING_OP_TIMEOUT:
    case abi::IORING_OP_TIMEOUT_REMOVE:
    case abi::IORING_OP_LINK_TIMEOUT:
    case abi::IORING_OP_ASYNC_CANCEL:
    case abi::IORING_OP_MSG_RING:
    case abi::IORING_OP_FUTEX_WAIT:
    case abi::IORING_OP_FUTEX_WAKE:
    case abi::IORING_OP_FUTEX_WAITV:
    case abi::IORING_OP_WAITID:
      return true;
    default:
      return false;
  }
}

}  // namespace uring
