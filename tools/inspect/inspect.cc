// tools/inspect: an io_uring, live, for people studying how it works.
//
//   inspect [--entries N] [--sqpoll] [--cqe32] ...          the ring's layout
//   inspect --trace [...]                                   then watch it work
//
// It sets up a ring with the flags given (uring::Ring, so a refusal comes
// back as the library's message) and prints what io_uring_setup(2) answered:
// sizes and masks, every sq_off / cq_off offset, the three mappings (and the
// lines of /proc/self/maps the kernel made for them), the feature bits by
// name. With --trace it then runs a short script -- NOPs, a linked READ ->
// WRITE on a temp file, a TIMEOUT, an SQ filled to the brim, a CQ overflowed
// (FEAT_NODROP), and with --sqpoll the SQ thread falling asleep and being
// woken -- and after every call reads the ring's shared words again, prints
// them, each SQE as the kernel reads it, each CQE the kernel posted, and one
// line saying what moved and why.
//
// Output, stable for programs (tests/tools/inspect_test.cc parses it):
//   * a record line is `KIND: key=value key=value ...`, KIND one of ring,
//     setup, features, sq_off, cq_off, mmap, maps, step, state, change, sqe,
//     cqe, file, check, skip, stopped, totals. Numbers are decimal, or 0x hex;
//     bit sets are `0xHEX(NAME|NAME)` (`0x0(none)`); text is "quoted"
//     (never holding a quote); a result may carry its errno: `res=-62(ETIME)`.
//   * `state:` has every word: sq.local_tail (SQEs handed out by get_sqe,
//     published or not), sq.ktail sq.khead (the SQ tail and head the kernel
//     sees), cq.ktail cq.khead, sq_flags, cq.overflow (CQEs dropped),
//     sq.dropped (SQEs skipped). `change: WORD=OLD->NEW ... | why` comes before each
//     state after the first and lists exactly the words that differ from the
//     previous state (`change: none | why` if none do). After it: an `sqe:`
//     line for every SQE the SQ tail store just published, a `cqe:` line for
//     every CQE the CQ tail moved over (at most 32 of each per change; a
//     prose line counts the rest).
//   * a prose line starts with two spaces; empty lines separate steps.
//
// The ring's own API does everything (get_sqe, flush_sq, submit_and_wait,
// for_each_cqe, enter); the words are read through Ring::mapping(), the
// layout from Ring::params(). Every wait is bounded (2 s). SIGINT/SIGTERM stop
// the script between steps (`stopped: signal=INT`, totals, exit 128 + N).
#include <fcntl.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "tools/common/cli.h"
#include "uring/uring.h"

namespace {

using namespace uring;

constexpr const char* kTool = "inspect";
constexpr auto kPatience = std::chrono::seconds(2);  // the longest any wait here may take
constexpr unsigned kMaxEntryLines = 32;               // sqe:/cqe: lines per change, at most

const char kUsage[] =
    "usage: inspect [--entries N] [--cq-entries N] [--sqpoll [--sqpoll-idle MS]] [--defer-taskrun]\n"
    "               [--coop-taskrun] [--cqe32] [--sqe128] [--no-sqarray] [--no-mmap] [--trace]\n"
    "Sets up an io_uring with these flags and prints its layout: sizes, masks, every sq_off/cq_off\n"
    "offset, the mappings, the feature bits. --trace then runs a short script and shows, after every\n"
    "call, the SQ and CQ heads and tails, sq_flags, each SQE as the kernel reads it, each new CQE,\n"
    "and what changed and why.\n"
    "  --entries N       SQ entries (default 8; the kernel rounds up to a power of two)\n"
    "  --cq-entries N    CQ entries (IORING_SETUP_CQSIZE; default twice the SQ)\n"
    "  --sqpoll          a kernel thread reads the SQ (IORING_SETUP_SQPOLL)\n"
    "  --sqpoll-idle MS  how long that thread spins before it sleeps (default 10)\n"
    "  --defer-taskrun   IORING_SETUP_DEFER_TASKRUN, with the SINGLE_ISSUER it needs\n"
    "  --coop-taskrun    IORING_SETUP_COOP_TASKRUN\n"
    "  --cqe32           32-byte CQEs (IORING_SETUP_CQE32)\n"
    "  --sqe128          128-byte SQEs (IORING_SETUP_SQE128)\n"
    "  --no-sqarray      no SQ index array: the SQ tail indexes SQEs directly (IORING_SETUP_NO_SQARRAY)\n"
    "  --no-mmap         the rings live in memory this process allocated (IORING_SETUP_NO_MMAP)\n"
    "  --trace           run the script\n"
    "SIGINT/SIGTERM stop the script between steps (exit 128 + N).\n"
    "Output: `KIND: key=value ...` records for programs, two-space-indented prose for people\n"
    "(the format is described at the top of tools/inspect/inspect.cc).\n";

// ---- Names -----------------------------------------------------------------

constexpr abi::flag_info kSqFlags[] = {{abi::IORING_SQ_NEED_WAKEUP, "NEED_WAKEUP", ""},
                                       {abi::IORING_SQ_CQ_OVERFLOW, "CQ_OVERFLOW", ""},
                                       {abi::IORING_SQ_TASKRUN, "TASKRUN", ""}};
constexpr abi::flag_info kSqeFlags[] = {
    {abi::IOSQE_FIXED_FILE, "FIXED_FILE", ""}, {abi::IOSQE_IO_DRAIN, "IO_DRAIN", ""},
    {abi::IOSQE_IO_LINK, "IO_LINK", ""},       {abi::IOSQE_IO_HARDLINK, "IO_HARDLINK", ""},
    {abi::IOSQE_ASYNC, "ASYNC", ""},           {abi::IOSQE_BUFFER_SELECT, "BUFFER_SELECT", ""},
    {abi::IOSQE_CQE_SKIP_SUCCESS, "CQE_SKIP_SUCCESS", ""}};
constexpr abi::flag_info kCqeFlags[] = {
    {abi::IORING_CQE_F_BUFFER, "F_BUFFER", ""},   {abi::IORING_CQE_F_MORE, "F_MORE", ""},
    {abi::IORING_CQE_F_SOCK_NONEMPTY, "F_SOCK_NONEMPTY", ""}, {abi::IORING_CQE_F_NOTIF, "F_NOTIF", ""},
    {abi::IORING_CQE_F_BUF_MORE, "F_BUF_MORE", ""}, {abi::IORING_CQE_F_SKIP, "F_SKIP", ""},
    {abi::IORING_CQE_F_32, "F_32", ""}};

// `0x6(CQ_OVERFLOW|TASKRUN)`: the value, then the names of its bits.
template <std::size_t N>
std::string named(std::uint32_t value, const abi::flag_info (&table)[N]) {
  std::string names;
  std::uint32_t known = 0;
  for (const abi::flag_info& flag : table) {
    if (!(value & flag.bit)) continue;
    names += (names.empty() ? "" : "|") + std::string(flag.name);
    known |= flag.bit;
  }
  char text[32];
  if (value & ~known) {
    std::snprintf(text, sizeof text, "0x%x", value & ~known);
    names += (names.empty() ? "" : "|") + std::string(text);
  }
  std::snprintf(text, sizeof text, "0x%x", value);
  return std::string(text) + "(" + (names.empty() ? "none" : names) + ")";
}

// `-62(ETIME)` for a negative result, `16` for a count.
std::string result(std::int32_t res) {
  std::string text = std::to_string(res);
  if (res < 0) {
    const char* name = strerrorname_np(-res);
    text += "(" + std::string(name ? name : "?") + ")";
  }
  return text;
}

std::string plural(std::uint32_t n, const char* what) {
  return std::to_string(n) + " " + what + (n == 1 ? "" : "s");
}

// ---- The layout --------------------------------------------------------------

// The /proc/self/maps line of the mapping that holds `address`: the kernel's
// own account of what it mapped.
void print_maps_line(const char* region, const void* address) {
  FILE* maps = std::fopen("/proc/self/maps", "r");
  if (!maps) return;
  char line[512];
  while (std::fgets(line, sizeof line, maps)) {
    unsigned long start = 0, end = 0, offset = 0;
    char perms[8] = {}, path[256] = {};
    if (std::sscanf(line, "%lx-%lx %7s %lx %*s %*s %255[^\n]", &start, &end, perms, &offset, path) < 4) continue;
    const auto at = reinterpret_cast<unsigned long>(address);
    if (at < start || at >= end) continue;
    const char* name = path;
    while (*name == ' ') ++name;
    std::printf("maps: region=%s start=0x%lx end=0x%lx perms=%s pgoff=0x%lx path=\"%s\"\n", region, start, end,
                perms, offset, name);
    break;
  }
  std::fclose(maps);
}

void print_layout(const Ring& ring) {
  const abi::io_uring_params& p = ring.params();
  const Ring::Mapping m = ring.mapping();
  const unsigned sqe_bytes = (p.flags & abi::IORING_SETUP_SQE128) ? 128 : 64;
  const unsigned cqe_bytes = (p.flags & abi::IORING_SETUP_CQE32) ? 32 : 16;
  std::printf("  io_uring_setup(2) made ring fd %d; what it answered in struct io_uring_params:\n", ring.fd());
  std::printf("ring: fd=%d registered_index=%d sq_entries=%u cq_entries=%u sq_mask=%u cq_mask=%u "
              "sqe_bytes=%u cqe_bytes=%u sq_thread_idle=%u\n",
              ring.fd(), ring.registered_index(), p.sq_entries, p.cq_entries, m.sq_mask, m.cq_mask, sqe_bytes,
              cqe_bytes, p.sq_thread_idle);
  std::printf("  an index into either ring is a free-running 32-bit counter; its slot is counter & mask "
              "(entries - 1, read from the ring's own ring_mask word)\n");
  std::printf("setup: flags=%s\n", named(p.flags, abi::setup_flags).c_str());
  std::printf("features: bits=%s\n", named(p.features, abi::feature_flags).c_str());
  std::printf("  sq_off / cq_off: where each shared word lies, in bytes from the start of the SQ / CQ ring\n");
  const abi::io_sqring_offsets& s = p.sq_off;
  std::printf("sq_off: head=%u tail=%u ring_mask=%u ring_entries=%u flags=%u dropped=%u array=%u resv1=%u "
              "user_addr=0x%" PRIx64 "\n",
              s.head, s.tail, s.ring_mask, s.ring_entries, s.flags, s.dropped, s.array, s.resv1, s.user_addr);
  const abi::io_cqring_offsets& c = p.cq_off;
  std::printf("cq_off: head=%u tail=%u ring_mask=%u ring_entries=%u overflow=%u cqes=%u flags=%u resv1=%u "
              "user_addr=0x%" PRIx64 "\n",
              c.head, c.tail, c.ring_mask, c.ring_entries, c.overflow, c.cqes, c.flags, c.resv1, c.user_addr);
  if (p.flags & abi::IORING_SETUP_NO_SQARRAY) {
    std::printf("  NO_SQARRAY: no index array (sq_off.array is unused); the SQ tail names SQE tail & mask\n");
  }

  const bool no_mmap = (p.flags & abi::IORING_SETUP_NO_MMAP) != 0;
  if (no_mmap) {
    std::printf("  NO_MMAP: nothing is mmap'd from the ring fd; this process allocated the memory and passed\n"
                "  its addresses in cq_off.user_addr (the rings) and sq_off.user_addr (the SQEs)\n");
    // One allocation (Ring::no_mmap_bytes): the rings, then the SQEs.
    const std::size_t rings_bytes = static_cast<std::size_t>(m.sqes - static_cast<unsigned char*>(m.sq_ring));
    std::printf("mmap: region=rings pgoff=none addr=%p bytes=%zu\n", m.sq_ring, rings_bytes);
    std::printf("mmap: region=sqes pgoff=none addr=%p bytes=%zu\n", static_cast<void*>(m.sqes), m.sqes_bytes);
    print_maps_line("rings", m.sq_ring);
    print_maps_line("sqes", m.sqes);
    return;
  }
  std::printf("  mmap(2) of the ring fd: the offset argument picks what is mapped\n");
  std::printf("mmap: region=sq_ring pgoff=0x%" PRIx64 " addr=%p bytes=%zu\n", abi::IORING_OFF_SQ_RING, m.sq_ring,
              m.sq_ring_bytes);
  if (m.cq_ring == m.sq_ring) {
    std::printf("mmap: region=cq_ring pgoff=none addr=%p bytes=%zu same_as=sq_ring\n", m.cq_ring, m.cq_ring_bytes);
    std::printf("  FEAT_SINGLE_MMAP: the CQ ring is in the same mapping as the SQ ring (one mmap, not two)\n");
  } else {
    std::printf("mmap: region=cq_ring pgoff=0x%" PRIx64 " addr=%p bytes=%zu\n", abi::IORING_OFF_CQ_RING, m.cq_ring,
                m.cq_ring_bytes);
  }
  std::printf("mmap: region=sqes pgoff=0x%" PRIx64 " addr=%p bytes=%zu\n", abi::IORING_OFF_SQES,
              static_cast<void*>(m.sqes), m.sqes_bytes);
  print_maps_line("sq_ring", m.sq_ring);
  if (m.cq_ring != m.sq_ring) print_maps_line("cq_ring", m.cq_ring);
  print_maps_line("sqes", m.sqes);
}

// ---- Watching the words ------------------------------------------------------

// Every word of the ring that moves, read at one moment.
struct Words {
  std::uint32_t sq_head, sq_tail, local_tail, cq_head, cq_tail, sq_flags, cq_overflow, sq_dropped;
};
struct WordName {
  const char* name;
  std::uint32_t Words::*member;
};
// In the order one request moves them: get_sqe, publish, the kernel reads,
// the kernel posts, we reap; then the flags and the two error counters.
constexpr WordName kWords[] = {{"sq.local_tail", &Words::local_tail}, {"sq.ktail", &Words::sq_tail},
                               {"sq.khead", &Words::sq_head},         {"cq.ktail", &Words::cq_tail},
                               {"cq.khead", &Words::cq_head},         {"sq_flags", &Words::sq_flags},
                               {"cq.overflow", &Words::cq_overflow},  {"sq.dropped", &Words::sq_dropped}};

// What a word's move means, in words.
std::string meaning(const WordName& word, const Words& before, const Words& after, bool sqpoll) {
  const std::uint32_t from = before.*word.member, to = after.*word.member, n = to - from;
  const std::string moved = " (" + std::to_string(from) + " -> " + std::to_string(to) + ")";
  if (word.member == &Words::local_tail) {
    if (after.sq_tail != before.sq_tail) return "get_sqe() handed out " + plural(n, "SQE") + moved;
    return "get_sqe() handed out " + plural(n, "SQE") + ": only our local tail moved" + moved +
           ", the kernel cannot see " + (n == 1 ? "it" : "them") + " yet";
  }
  if (word.member == &Words::sq_tail) {
    return "one release-store of the SQ tail" + moved + " published " + plural(n, "SQE") + ": the kernel may read " +
           (n == 1 ? "it" : "them") + " from now on";
  }
  if (word.member == &Words::sq_head) {
    return std::string(sqpoll ? "the SQ thread" : "the kernel (in io_uring_enter)") + " consumed " +
           plural(n, "SQE") + ": SQ head" + moved;
  }
  if (word.member == &Words::cq_tail) return "the kernel posted " + plural(n, "CQE") + ": CQ tail" + moved;
  if (word.member == &Words::cq_head) {
    return "we reaped " + plural(n, "CQE") + ": one store of the CQ head" + moved + " hands their slots back";
  }
  if (word.member == &Words::cq_overflow) return "the kernel dropped " + plural(n, "CQE") + " (no room, no NODROP)";
  if (word.member == &Words::sq_dropped) return "the kernel skipped " + plural(n, "invalid SQE");
  std::string text;  // sq_flags: one clause per bit that flipped
  auto flipped = [&](std::uint32_t bit, const char* on, const char* off) {
    if (((from ^ to) & bit) == 0) return;
    if (!text.empty()) text += "; ";
    text += (to & bit) ? on : off;
  };
  flipped(abi::IORING_SQ_NEED_WAKEUP,
          "the SQ thread went to sleep (IORING_SQ_NEED_WAKEUP set): from now on SQEs are read only after an "
          "io_uring_enter with IORING_ENTER_SQ_WAKEUP",
          "the SQ thread is awake (IORING_SQ_NEED_WAKEUP cleared)");
  flipped(abi::IORING_SQ_CQ_OVERFLOW,
          "the CQ overflowed: the kernel keeps further CQEs in its overflow list (IORING_SQ_CQ_OVERFLOW set)",
          "the overflow list is empty again (IORING_SQ_CQ_OVERFLOW cleared)");
  flipped(abi::IORING_SQ_TASKRUN,
          "task work waits (IORING_SQ_TASKRUN set): an io_uring_enter runs it and posts its CQEs",
          "the task work ran (IORING_SQ_TASKRUN cleared)");
  return text;
}

class Tracer {
 public:
  explicit Tracer(Ring& ring)
      : ring_(ring), m_(ring.mapping()), sqpoll_((ring.setup_flags() & abi::IORING_SETUP_SQPOLL) != 0),
        sqe_shift_((ring.setup_flags() & abi::IORING_SETUP_SQE128) ? 7 : 6),
        cqe32_((ring.setup_flags() & abi::IORING_SETUP_CQE32) != 0), last_(read()) {
    print_state(last_);  // the first state: what every change is measured from
  }

  Words read() const {
    return {barrier::load_acquire(m_.sq_khead), barrier::load_acquire(m_.sq_ktail), ring_.sqe_tail(),
            barrier::load_acquire(m_.cq_khead), barrier::load_acquire(m_.cq_ktail),
            barrier::load_acquire(m_.sq_kflags), barrier::load_acquire(m_.cq_koverflow),
            barrier::load_acquire(m_.sq_kdropped)};
  }
  const Words& last() const { return last_; }

  // After `action`: what moved and why, the words now, every SQE the SQ tail
  // published since the last look and every CQE the CQ tail moved over.
  void observe(const std::string& action) {
    const Words now = read();
    std::string fields, why;
    for (const WordName& word : kWords) {
      const std::uint32_t from = last_.*word.member, to = now.*word.member;
      if (from == to) continue;
      char field[96];
      if (word.member == &Words::sq_flags) {
        std::snprintf(field, sizeof field, " %s=0x%x->0x%x", word.name, from, to);
      } else {
        std::snprintf(field, sizeof field, " %s=%u->%u", word.name, from, to);
      }
      fields += field;
      why += "; " + meaning(word, last_, now, sqpoll_);
    }
    std::printf("change:%s | %s%s\n", fields.empty() ? " none" : fields.c_str(), action.c_str(),
                why.empty() ? ": nothing moved" : why.c_str());
    print_state(now);
    for (std::uint32_t pos = last_.sq_tail; pos != now.sq_tail; ++pos) {
      if (pos - last_.sq_tail == kMaxEntryLines) {
        std::printf("  (%u more SQEs)\n", now.sq_tail - pos);
        break;
      }
      print_sqe(pos);
    }
    for (std::uint32_t pos = last_.cq_tail; pos != now.cq_tail; ++pos) {
      if (pos - last_.cq_tail == kMaxEntryLines) {
        std::printf("  (%u more CQEs)\n", now.cq_tail - pos);
        break;
      }
      print_cqe(pos);
    }
    last_ = now;
  }

 private:
  static void print_state(const Words& w) {
    std::printf("state: sq.local_tail=%u sq.ktail=%u sq.khead=%u cq.ktail=%u cq.khead=%u sq_flags=%s "
                "cq.overflow=%u sq.dropped=%u\n",
                w.local_tail, w.sq_tail, w.sq_head, w.cq_tail, w.cq_head, named(w.sq_flags, kSqFlags).c_str(),
                w.cq_overflow, w.sq_dropped);
  }

  // As the kernel reads it (io_get_sqe): slot = position & mask; the SQE
  // index is sq_array[slot] (NO_SQARRAY: the slot itself); the SQE is at
  // sqes + (index << 6), << 7 for SQE128.
  void print_sqe(std::uint32_t pos) const {
    const std::uint32_t slot = pos & m_.sq_mask;
    const std::uint32_t index = m_.sq_array ? m_.sq_array[slot] : slot;
    std::string array = m_.sq_array ? std::to_string(index) : "none";
    const auto* sqe = reinterpret_cast<const abi::io_uring_sqe*>(m_.sqes + (std::size_t{index & m_.sq_mask}
                                                                             << sqe_shift_));
    const char* op = abi::op_name(sqe->opcode);
    std::printf("sqe: pos=%u slot=%u array=%s opcode=%s flags=%s ioprio=%u fd=%d off=%" PRIu64 " addr=0x%" PRIx64
                " len=%u op_flags=0x%x user_data=%" PRIu64 " buf_index=%u personality=%u\n",
                pos, slot, array.c_str(), op ? op : "?", named(sqe->flags, kSqeFlags).c_str(), sqe->ioprio, sqe->fd,
                sqe->off, sqe->addr, sqe->len, sqe->rw_flags, sqe->user_data, sqe->buf_index, sqe->personality);
  }

  void print_cqe(std::uint32_t pos) const {
    const std::uint32_t slot = pos & m_.cq_mask;
    const auto* cqe = reinterpret_cast<const Cqe*>(m_.cqes + (std::size_t{slot} << (cqe32_ ? 5 : 4)));
    std::printf("cqe: pos=%u slot=%u user_data=%" PRIu64 " res=%s flags=%s", pos, slot, cqe->data(),
                result(cqe->result()).c_str(), named(cqe->flags, kCqeFlags).c_str());
    if (cqe32_) std::printf(" extra0=0x%" PRIx64 " extra1=0x%" PRIx64, cqe->extra(0), cqe->extra(1));
    std::printf("\n");
  }

  Ring& ring_;
  const Ring::Mapping m_;
  const bool sqpoll_;
  const unsigned sqe_shift_;
  const bool cqe32_;
  Words last_;
};

// ---- The script --------------------------------------------------------------

// A request's user_data: its step * 100000 + its number in the step, so a
// CQE names the SQE that asked for it.
std::uint64_t tag(unsigned step, unsigned n) { return std::uint64_t{step} * 100000 + n; }

// SIGINT and SIGTERM are blocked and readable on this signalfd
// (cli::stop_signals_fd): the script stops between steps, when nothing is in
// flight, and says so.
int stop_fd = -1;
int stop_signal = 0;

// The signal that asked us to stop, or 0.
int stop_requested() {
  signalfd_siginfo info;
  if (stop_signal == 0 && ::read(stop_fd, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
    stop_signal = static_cast<int>(info.ssi_signo);
  }
  return stop_signal;
}

// Polls `done` every millisecond for at most kPatience; true once it holds.
template <class Done>
bool poll_until(Done done) {
  const auto give_up = std::chrono::steady_clock::now() + kPatience;
  while (!done()) {
    if (std::chrono::steady_clock::now() > give_up) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

// The next SQE, where the script knows there is room (each step starts
// with an empty SQ and takes at most sq_entries).
Sqe& next_sqe(Ring& ring) {
  Sqe* sqe = ring.get_sqe();
  if (!sqe) cli::fail(kTool, "the SQ is full where the script expected room (an earlier step did not finish)");
  return *sqe;
}

void step_header(unsigned n, const char* name, const char* what) {
  std::printf("\nstep: n=%u name=%s\n  %s\n", n, name, what);
}

// Publishes what get_sqe handed out, has the kernel consume it and post
// `count` CQEs, reaps them; every call watched.
void publish_submit_reap(Tracer& t, Ring& ring, unsigned count) {
  ring.flush_sq();
  t.observe("flush_sq()");
  if (ring.setup_flags() & abi::IORING_SETUP_SQPOLL) {
    // The SQ thread submits; submit() only wakes it if it sleeps. (Not
    // submit_and_wait(count, options): after flush_sq it has nothing of its
    // own to publish and then does not wake a sleeping SQ thread.)
    const bool asleep = (t.last().sq_flags & abi::IORING_SQ_NEED_WAKEUP) != 0;
    const int ret = ring.submit();
    t.observe("submit() = " + result(ret) + " (it counts SQEs this call published: flush_sq did): " +
              (asleep ? "NEED_WAKEUP was set, so io_uring_enter(IORING_ENTER_SQ_WAKEUP) woke the SQ thread"
                      : "NEED_WAKEUP was clear: no system call, the SQ thread reads the SQ by itself"));
    const int waited = ring.has_feature(abi::IORING_FEAT_EXT_ARG) ? ring.wait_cqes(count, {.timeout = kPatience})
                                                                   : ring.wait_cqes(count);
    t.observe("wait_cqes(" + std::to_string(count) + ") = " + result(waited) + ": io_uring_enter(GETEVENTS)");
  } else {
    const std::uint32_t to_submit = t.last().sq_tail - t.last().sq_head;
    const int ret = ring.has_feature(abi::IORING_FEAT_EXT_ARG)
                        ? ring.submit_and_wait(count, WaitOptions{.timeout = kPatience})
                        : ring.submit_and_wait(count);
    t.observe("submit_and_wait(" + std::to_string(count) + ") = " + result(ret) +
              ": io_uring_enter(to_submit=" + std::to_string(to_submit) + ", min_complete=" +
              std::to_string(count) + ", GETEVENTS)");
  }
  const unsigned seen = ring.for_each_cqe([](const Cqe&) {});
  t.observe("for_each_cqe() read " + plural(seen, "CQE"));
}

void step_nops(Tracer& t, Ring& ring) {
  step_header(1, "nops", "NOPs (three, or as many as the SQ holds): the whole round trip, one word at a time");
  const unsigned n = std::min(3u, ring.sq_entries());
  for (unsigned i = 1; i <= n; ++i) prep_nop(next_sqe(ring)).set_user_data(tag(1, i));
  t.observe("get_sqe() x" + std::to_string(n) + ", prep_nop");
  publish_submit_reap(t, ring, n);
}

void step_linked_rw(Tracer& t, Ring& ring, const Probe& probe) {
  step_header(2, "linked_read_write",
              "READ 0..N of a temp file into a buffer, linked (IOSQE_IO_LINK) to a WRITE of that buffer at 4096:\n"
              "  the link makes the WRITE start only after the READ succeeded");
  if (ring.sq_entries() < 2) {
    std::printf("skip: step=2 reason=\"a link needs both SQEs in one submission: this SQ holds 1\"\n");
    return;
  }
  for (unsigned op : {abi::IORING_OP_READ, abi::IORING_OP_WRITE}) {
    if (!probe.supports(op)) {
      std::printf("skip: step=2 reason=\"%s\"\n", probe.unsupported_reason(op).c_str());
      return;
    }
  }
  const char* dir = std::getenv("TMPDIR");
  std::string path = std::string(dir && *dir ? dir : "/tmp") + "/inspect.XXXXXX";
  const int fd = ::mkstemp(path.data());
  if (fd < 0) cli::fail_errno(kTool, "a temp file in " + path, errno);
  ::unlink(path.c_str());  // the file lives as long as fd: nothing is left behind, even if killed
  static const char kText[] = "these bytes went file -> READ -> buffer -> WRITE -> file";
  const unsigned len = sizeof kText - 1;
  if (::pwrite(fd, kText, len, 0) != static_cast<ssize_t>(len)) cli::fail_errno(kTool, "pwrite", errno);
  std::printf("file: offset=0 bytes=%u text=\"%s\"\n", len, kText);
  char buffer[sizeof kText] = {};
  prep_read(next_sqe(ring), fd, buffer, len, 0).link().set_user_data(tag(2, 1));
  prep_write(next_sqe(ring), fd, buffer, len, 4096).set_user_data(tag(2, 2));
  t.observe("get_sqe() x2, prep_read(...).link(), prep_write");
  publish_submit_reap(t, ring, 2);
  char back[sizeof kText] = {};
  const ssize_t got = ::pread(fd, back, len, 4096);
  std::printf("check: step=2 offset=4096 bytes=%zd read_back=\"%s\" same=%s\n", got, back,
              got == len && std::memcmp(back, kText, len) == 0 ? "yes" : "no");
  ::close(fd);
}

void step_timeout(Tracer& t, Ring& ring, const Probe& probe) {
  step_header(3, "timeout", "a TIMEOUT of 10 ms with no count: it completes with -ETIME when the time is up");
  if (!probe.supports(abi::IORING_OP_TIMEOUT)) {
    std::printf("skip: step=3 reason=\"%s\"\n", probe.unsupported_reason(abi::IORING_OP_TIMEOUT).c_str());
    return;
  }
  abi::kernel_timespec ts{.tv_sec = 0, .tv_nsec = 10'000'000};
  prep_timeout(next_sqe(ring), &ts).set_user_data(tag(3, 1));
  t.observe("get_sqe(), prep_timeout(10 ms)");
  const auto start = std::chrono::steady_clock::now();
  publish_submit_reap(t, ring, 1);
  const std::chrono::duration<double, std::milli> took = std::chrono::steady_clock::now() - start;
  std::printf("check: step=3 timeout_ms=10 elapsed_ms=%.3f\n", took.count());
}

void step_sq_full(Tracer& t, Ring& ring) {
  step_header(4, "sq_full", "take SQEs until get_sqe() says the SQ is full: nothing is ever overwritten");
  unsigned taken = 0;
  while (Sqe* sqe = ring.get_sqe()) prep_nop(*sqe).set_user_data(tag(4, ++taken));
  t.observe("get_sqe() x" + std::to_string(taken + 1) + ", the last one returned nullptr");
  std::printf("check: step=4 handed_out=%u sq_entries=%u get_sqe=nullptr sq_space_left=%u\n", taken,
              ring.sq_entries(), ring.sq_space_left());
  std::printf("  nullptr is the library's \"SQ full\": local tail - kernel head = sq_entries; submit (or\n"
              "  wait_for_sq_space) lets the kernel consume some, then get_sqe works again\n");
  publish_submit_reap(t, ring, taken);
}

void step_cq_overflow(Tracer& t, Ring& ring) {
  step_header(5, "cq_overflow", "submit more NOPs than the CQ holds, without reaping");
  if (!ring.has_feature(abi::IORING_FEAT_NODROP)) {
    std::printf("skip: step=5 reason=\"no IORING_FEAT_NODROP (Linux 5.5): this kernel would drop CQEs\"\n");
    return;
  }
  const unsigned total = ring.cq_entries() + 2;
  const std::uint32_t posted_before = t.last().cq_tail;
  unsigned sent = 0;
  while (sent < total) {
    const unsigned batch = std::min(total - sent, ring.sq_space_left());
    for (unsigned i = 0; i < batch; ++i) prep_nop(next_sqe(ring)).set_user_data(tag(5, ++sent));
    const int ret = ring.submit();
    // What the kernel promises once it consumed them: the CQ holds as many
    // as fit; the rest wait in the overflow list, and the flag says so.
    poll_until([&] {
      const Words now = t.read();
      return now.sq_head == now.sq_tail && now.cq_tail - posted_before == std::min(sent, ring.cq_entries()) &&
             (sent <= ring.cq_entries() || (now.sq_flags & abi::IORING_SQ_CQ_OVERFLOW));
    });
    t.observe("get_sqe() x" + std::to_string(batch) + ", submit() = " + result(ret));
  }
  const std::uint32_t posted = t.last().cq_tail - posted_before;
  std::printf("check: step=5 submitted=%u posted=%u kept=%u cq_entries=%u cq_overflow_flag=%s\n", sent, posted,
              sent - posted, ring.cq_entries(),
              (t.last().sq_flags & abi::IORING_SQ_CQ_OVERFLOW) ? "yes" : "no");
  std::printf("  the CQ is full (%s) and the kernel kept %u more in its overflow list (FEAT_NODROP:\n"
              "  nothing is lost, cq.overflow stays 0); they come out, in order, once there is room\n",
              plural(ring.cq_entries(), "CQE").c_str(), sent - posted);
  const unsigned seen = ring.for_each_cqe([](const Cqe&) {});
  t.observe("for_each_cqe() read " + plural(seen, "CQE"));
  std::printf("  the CQ has room now, but the flag stays: only an io_uring_enter moves the overflow list in\n");
  // Each enter moves as many as fit; the flag goes once the list is empty.
  for (unsigned round = 0; (t.last().sq_flags & abi::IORING_SQ_CQ_OVERFLOW) && round <= sent - posted; ++round) {
    const int ret = ring.enter(0, 0, abi::IORING_ENTER_GETEVENTS, nullptr, 0);
    t.observe("io_uring_enter(0, 0, GETEVENTS) = " + result(ret) +
              ": the kernel moved what fits from its overflow list into the CQ");
    const unsigned rest = ring.for_each_cqe([](const Cqe&) {});
    t.observe("for_each_cqe() read " + plural(rest, "CQE"));
  }
}

void step_sqpoll_sleep(Tracer& t, Ring& ring) {
  const unsigned idle = ring.params().sq_thread_idle;
  step_header(6, "sqpoll_sleep", "the SQ thread spins for sq_thread_idle ms with nothing to do, then sleeps");
  const auto start = std::chrono::steady_clock::now();
  const bool asleep = poll_until([&] { return ring.sq_needs_wakeup() || stop_requested(); });
  if (stop_requested()) return;  // nothing is in flight yet
  if (!asleep) {
    t.observe("waited 2 s for IORING_SQ_NEED_WAKEUP");
    std::printf("skip: step=6 reason=\"the SQ thread did not sleep within 2 s of sq_thread_idle=%u ms\"\n", idle);
    return;
  }
  const std::chrono::duration<double, std::milli> took = std::chrono::steady_clock::now() - start;
  t.observe("polled sq_flags");
  std::printf("check: step=6 sq_thread_idle=%u asleep_after_ms=%.3f\n", idle, took.count());
  prep_nop(next_sqe(ring)).set_user_data(tag(6, 1));
  ring.flush_sq();
  t.observe("get_sqe(), prep_nop, flush_sq()");
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  t.observe("slept 20 ms");
  if (t.last().sq_head != t.last().sq_tail) {
    std::printf("  the SQE waits: the SQ thread sleeps, and nobody else reads the SQ\n");
  } else {
    std::printf("  the SQ thread saw the new tail just before it fell asleep, and read it\n");
  }
  const int ret = ring.enter(0, 0, abi::IORING_ENTER_SQ_WAKEUP, nullptr, 0);
  poll_until([&] { return t.read().sq_head == t.read().sq_tail; });
  t.observe("io_uring_enter(0, 0, SQ_WAKEUP) = " + result(ret) + ": wakes the SQ thread");
  const int waited = ring.has_feature(abi::IORING_FEAT_EXT_ARG) ? ring.wait_cqes(1, {.timeout = kPatience})
                                                                 : ring.wait_cqes(1);
  t.observe("wait_cqes(1) = " + result(waited) + ": io_uring_enter(GETEVENTS)");
  const unsigned seen = ring.for_each_cqe([](const Cqe&) {});
  t.observe("for_each_cqe() read " + plural(seen, "CQE"));
}

}  // namespace

int main(int argc, char** argv) {
  cli::Parser args(kTool, kUsage);
  constexpr std::uint64_t kNotGiven = UINT64_MAX;
  std::uint64_t entries = 8, cq_entries = 0, idle = kNotGiven;
  bool sqpoll = false, defer = false, coop = false, cqe32 = false, sqe128 = false, no_sqarray = false,
       no_mmap = false, trace = false;
  args.number("--entries", &entries, 1, UINT32_MAX);
  args.number("--cq-entries", &cq_entries, 1, UINT32_MAX);
  args.flag("--sqpoll", &sqpoll);
  args.number("--sqpoll-idle", &idle, 0, UINT32_MAX);
  args.flag("--defer-taskrun", &defer);
  args.flag("--coop-taskrun", &coop);
  args.flag("--cqe32", &cqe32);
  args.flag("--sqe128", &sqe128);
  args.flag("--no-sqarray", &no_sqarray);
  args.flag("--no-mmap", &no_mmap);
  args.flag("--trace", &trace);
  args.parse(argc, argv, 0, 0);
  if (idle != kNotGiven && !sqpoll) args.usage_error("--sqpoll-idle needs --sqpoll");
  if (idle == kNotGiven) idle = 10;

  RingOptions options;
  options.entries = static_cast<unsigned>(entries);
  options.cq_entries = static_cast<unsigned>(cq_entries);
  options.sqpoll = sqpoll;
  options.sqpoll_idle_ms = sqpoll ? static_cast<unsigned>(idle) : 0;
  options.single_issuer = defer;
  options.defer_taskrun = defer;
  options.coop_taskrun = coop;
  options.cqe32 = cqe32;
  options.sqe128 = sqe128;
  options.no_sqarray = no_sqarray;
  options.no_mmap = no_mmap;
  stop_fd = cli::stop_signals_fd(kTool);
  auto ring = Ring::create(options);
  if (!ring) cli::fail(kTool, ring.error().message);
  print_layout(*ring);
  if (!trace) {
    std::printf("  (--trace runs a short script on this ring and shows every word move)\n");
    return 0;
  }
  auto probe = Probe::query(*ring);
  if (!probe) cli::fail(kTool, probe.error().message);

  std::printf("\n  the trace: after each call, the ring's words again. The kernel's SQ head and CQ tail are its\n"
              "  own; the SQ tail and CQ head are ours to store; sq.local_tail is our count of SQEs handed out\n");
  Tracer t(*ring);
  const Words first = t.last();
  std::vector<std::function<void()>> script = {
      [&] { step_nops(t, *ring); },        [&] { step_linked_rw(t, *ring, *probe); },
      [&] { step_timeout(t, *ring, *probe); }, [&] { step_sq_full(t, *ring); },
      [&] { step_cq_overflow(t, *ring); }};
  if (sqpoll) script.push_back([&] { step_sqpoll_sleep(t, *ring); });
  for (const auto& step : script) {
    step();
    if (stop_requested()) break;
  }
  if (stop_requested()) {
    std::printf("\nstopped: signal=%s\n  every request of the steps run so far has completed and been reaped\n",
                sigabbrev_np(stop_signal));
  }
  const Words& end = t.last();
  std::printf("\ntotals: sqes=%u cqes=%u\n", end.sq_head - first.sq_head, end.cq_head - first.cq_head);
  return stop_signal ? 128 + stop_signal : 0;
}
