#include "uring/setup_error.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>

#include "syscalls/abi.h"
#include "uring/probe.h"
#include "uring/ring.h"

namespace uring {
namespace {

constexpr unsigned kMaxEntries = 32768;    // IORING_MAX_ENTRIES
constexpr unsigned kMaxCqEntries = 65536;  // IORING_MAX_CQ_ENTRIES

Error invalid(std::string message) { return Error{EINVAL, "io_uring_setup: " + std::move(message)}; }

// The power of two the kernel rounds `value` up to (roundup_pow_of_two). In
// 64 bits, so that every unsigned value has one (2^32 for those above 2^31)
// and the loop ends.
std::uint64_t round_up_pow2(unsigned value) {
  std::uint64_t result = 1;
  while (result < value) result <<= 1;
  return result;
}

// What /proc/self/fd/N points to ("anon_inode:[io_uring]" for a ring), or "".
std::string fd_target(int fd) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  char target[256];
  const ssize_t n = ::readlink(path, target, sizeof target - 1);
  if (n <= 0) return {};
  return std::string(target, static_cast<std::size_t>(n));
}

// The fd ATTACH_WQ will name, from either option.
std::optional<int> wq_fd_of(const RingOptions& o) {
  if (o.attach_wq) return o.attach_wq->fd();
  return o.attach_wq_fd;
}

// The "SqThread:" value of a ring's /proc/self/fdinfo entry: the poller's
// pid, -1 for a ring without SQPOLL or whose poller has exited; nullopt when
// the file cannot be read or has no such line. The kernel (6.18 here)
// prints the ring's part only if it gets the ring's uring_lock
// (mutex_trylock in io_uring_show_fdinfo), which the poller holds while it
// submits, as does every submit and register call: 20 tries 100 us apart
// (a few ms, on the error path only), then nullopt.
std::optional<long> sq_thread_of(int fd) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/self/fdinfo/%d", fd);
  for (int attempt = 0; attempt < 20; ++attempt) {
    if (attempt > 0) ::usleep(100);
    FILE* file = std::fopen(path, "r");
    if (!file) return std::nullopt;
    std::optional<long> pid;
    char line[256];
    while (std::fgets(line, sizeof line, file)) {
      long value = 0;
      if (std::sscanf(line, "SqThread: %ld", &value) == 1) {
        pid = value;
        break;
      }
    }
    std::fclose(file);
    if (pid) return pid;
  }
  return std::nullopt;
}

// Whether this process is in the initial PID namespace (its inode is fixed:
// PROC_PID_INIT_INO), where fdinfo's SqThread (sqd->task_pid, a pid there)
// and /proc/self/task name threads alike. In any other, SqThread is still
// the initial namespace's pid while /proc/self/task lists this one's.
bool in_initial_pid_namespace() {
  char target[64];
  const ssize_t n = ::readlink("/proc/self/ns/pid", target, sizeof target - 1);
  return n > 0 && std::string(target, static_cast<std::size_t>(n)) == "pid:[4026531836]";
}

// What the kernel does with the poller of the ring an SQPOLL ring names to
// attach to (io_sq_offload_create, io_uring/sqpoll.c): a poller of this
// process (thread group) is shared, and the kernel returns before it looks
// at sqpoll_cpu; io_attach_sq_data refuses another process's (-EPERM, its
// poller running or exited), and the kernel makes the ring a poller of its
// own, whose CPU it checks; a ring without SQPOLL is -EINVAL. (Attaching to
// an exited poller of this process is -ENXIO, not EINVAL.)
enum class Poller {
  shared,          // this process's: the CPU is never looked at
  own,             // another process's: the ring gets its own, the CPU is checked
  none,            // the ring named has no SQPOLL: that is the refusal
  none_or_exited,  // fdinfo says -1: no SQPOLL, or its poller has exited
  unknown,         // could not tell; `why` says why
};
struct AttachTarget {
  Poller poller;
  std::string why;
};

// For attach_wq, the process whose create() made that Ring: its getpid()
// (0 when the Ring was adopted) and the PID namespace that pid is in (0
// unknown). A pid is unique only within its namespace: a child in a nested
// one can be pid 1 like its parent.
struct Creator {
  int pid = 0;
  std::uint64_t pid_namespace = 0;
};

// A Ring knows whether it is SQPOLL and which process made it, so its answer
// needs no fdinfo; a bare fd's (or a Ring's whose maker is unknown) comes
// from fdinfo's SqThread and /proc/self/task.
AttachTarget attach_target(const RingOptions& o, int wq_fd, Creator creator) {
  const bool known_sqpoll = o.attach_wq != nullptr;
  if (o.attach_wq) {
    if (!(o.attach_wq->setup_flags() & abi::IORING_SETUP_SQPOLL)) return {Poller::none, {}};
    const std::uint64_t here = pid_namespace_id();
    if (creator.pid != 0 && creator.pid_namespace != 0 && here != 0) {
      const bool same = creator.pid == ::getpid() && creator.pid_namespace == here;
      return {same ? Poller::shared : Poller::own, {}};
    }
  }
  char path[64];
  std::snprintf(path, sizeof path, "/proc/self/fdinfo/%d", wq_fd);
  const std::optional<long> pid = sq_thread_of(wq_fd);
  if (!pid) {
    return {Poller::unknown, std::string(path) +
                                 " has no SqThread line (the kernel leaves it out while something holds that "
                                 "ring's lock: a submit, its poller, a register call)"};
  }
  if (*pid <= 0) return {known_sqpoll ? Poller::own : Poller::none_or_exited, {}};
  if (!in_initial_pid_namespace()) {
    return {Poller::unknown,
            "this process is in a PID namespace, and fdinfo's SqThread (" + std::to_string(*pid) +
                ") can be the poller's pid outside it, which /proc/self/task cannot be matched with"};
  }
  std::snprintf(path, sizeof path, "/proc/self/task/%ld", *pid);
  return {::access(path, F_OK) == 0 ? Poller::shared : Poller::own, {}};
}

// Names of the requested setup flags that are newer than the running kernel,
// e.g. "NO_SQARRAY (Linux 6.6)". Empty when none is (or the release is unknown).
std::string flags_newer_than_kernel(std::uint32_t flags) {
  const int running = kernel_version_code();
  std::string names;
  if (running == 0) return names;
  for (const abi::flag_info& flag : abi::setup_flags) {
    if ((flags & flag.bit) && version_code(flag.since) > running) {
      if (!names.empty()) names += ", ";
      names += std::string(flag.name) + " (Linux " + flag.since + ")";
    }
  }
  return names;
}

// The first line of a small text file, without its newline; "" when unreadable.
std::string first_line(const std::string& path) {
  FILE* file = std::fopen(path.c_str(), "r");
  if (!file) return {};
  char line[4096];
  std::string text;
  if (std::fgets(line, sizeof line, file)) text = line;
  std::fclose(file);
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

// Whether `cpu` is in a kernel CPU list such as "0-3,8,10-11".
bool in_cpu_list(const std::string& list, int cpu) {
  std::size_t at = 0;
  while (at < list.size()) {
    int first = 0, last = 0, used = 0;
    const int n = std::sscanf(list.c_str() + at, "%d%n-%d%n", &first, &used, &last, &used);
    if (n < 1) return false;
    if (n == 1) last = first;
    if (cpu >= first && cpu <= last) return true;
    at += static_cast<std::size_t>(used);
    if (at < list.size() && list[at] == ',') ++at;
    else break;
  }
  return false;
}

// The CPUs of the cpuset this process is in, as the kernel lists them, or
// "" when they cannot be read. /proc/self/cpuset names the cpuset; its
// effective CPUs are in the cpuset hierarchy's file for it: the cgroup v2
// cpuset.cpus.effective (the nearest ancestor that has one: a cgroup without
// the cpuset controller uses its parent's), or cgroup v1's
// cpuset.effective_cpus.
std::string cpuset_cpus() {
  std::string path = first_line("/proc/self/cpuset");
  if (path.empty() || path[0] != '/') return {};
  FILE* mounts = std::fopen("/proc/self/mounts", "r");
  if (!mounts) return {};
  std::string v1_root, v2_root;
  char line[4096];
  while (std::fgets(line, sizeof line, mounts)) {
    char device[256], dir[2048], type[64], options[1024];
    if (std::sscanf(line, "%255s %2047s %63s %1023s", device, dir, type, options) != 4) continue;
    const std::string kind = type;
    if (kind == "cgroup2" && v2_root.empty()) v2_root = dir;
    if (kind == "cgroup" && v1_root.empty()) {
      const std::string opts = std::string(",") + options + ",";
      if (opts.find(",cpuset,") != std::string::npos) v1_root = dir;
    }
  }
  std::fclose(mounts);
  if (path == "/") path.clear();
  if (!v1_root.empty()) return first_line(v1_root + path + "/cpuset.effective_cpus");
  if (v2_root.empty()) return {};
  for (;;) {
    const std::string cpus = first_line(v2_root + path + "/cpuset.cpus.effective");
    if (!cpus.empty() || path.empty()) return cpus;  // the root cgroup has no such file: every CPU
    path.erase(path.rfind('/'));
  }
}

// Why the kernel would refuse sqpoll_cpu for a poller it makes
// (io_sq_offload_create: the CPU is >= nr_cpu_ids or offline, or outside
// the caller's cpuset, cpuset_cpus_allowed; the affinity mask plays no
// part), e.g. "sqpoll_cpu 7 is not online (online CPUs: 0-1)"; "" if it
// would take it (or nothing can be read).
std::string cpu_refusal(const RingOptions& o) {
  if (!o.sqpoll_cpu) return {};
  const int cpu = *o.sqpoll_cpu;
  const std::string online = first_line("/sys/devices/system/cpu/online");
  if (!online.empty() && !in_cpu_list(online, cpu)) {
    return "sqpoll_cpu " + std::to_string(cpu) + " is not online (online CPUs: " + online + ")";
  }
  const std::string cpuset = cpuset_cpus();
  if (!cpuset.empty() && !in_cpu_list(cpuset, cpu)) {
    return "sqpoll_cpu " + std::to_string(cpu) + " is outside this process's cpuset (CPUs " + cpuset + ")";
  }
  return {};
}

// "entries 64, cq_entries 0, flags 0x2e": the parameters as the kernel got them.
std::string parameters(const RingOptions& o) {
  char hex[16];
  std::snprintf(hex, sizeof hex, "%#x", static_cast<unsigned>(o.setup_flags()));
  return "entries " + std::to_string(o.entries) + ", cq_entries " + std::to_string(o.cq_entries) + ", flags " + hex;
}

// The most likely cause of EINVAL for these options, checked in the order the
// kernel checks them. `creator` as for attach_target.
std::string explain_einval(const RingOptions& o, Creator creator) {
  const std::uint32_t flags = o.setup_flags();
  const std::string newer = flags_newer_than_kernel(flags);
  if (!newer.empty()) {
    return "this kernel (" + kernel_release() + ") does not know setup flag(s) " + newer +
           "; drop them (tools/probe lists what this kernel accepts)";
  }
  // Bits this library has no name for (extra_setup_flags): the kernel checks
  // its flags before anything else, so a bit it does not know either is the
  // refusal.
  std::uint32_t known = 0;
  for (const abi::flag_info& flag : abi::setup_flags) known |= flag.bit;
  if (const std::uint32_t unknown = flags & ~known) {
    char bits[16];
    std::snprintf(bits, sizeof bits, "%#x", static_cast<unsigned>(unknown));
    return std::string("setup flag bit(s) ") + bits +
           " (extra_setup_flags) are not ones this library knows; if this kernel (" + kernel_release() +
           ") does not know them either, that is the refusal: drop them (tools/probe lists what it accepts)";
  }
  if (o.entries > kMaxEntries && !o.clamp) {
    return "entries " + std::to_string(o.entries) + " is above the kernel's maximum " +
           std::to_string(kMaxEntries) + "; ask for fewer, or set clamp = true";
  }
  if (o.cq_entries > kMaxCqEntries && !o.clamp) {
    return "cq_entries " + std::to_string(o.cq_entries) + " is above the kernel's maximum " +
           std::to_string(kMaxCqEntries) + "; ask for fewer, or set clamp = true";
  }
  // Sizes above the maximums got here only with clamp, and the kernel caps
  // them before it rounds and compares: so do we. (A capped CQ, 65536, is
  // never below a capped SQ, so the message holds for the sizes as given.)
  const unsigned sq = std::min(o.entries, kMaxEntries);
  const unsigned cq = std::min(o.cq_entries, kMaxCqEntries);
  if (o.cq_entries && round_up_pow2(cq) < round_up_pow2(sq)) {
    return "cq_entries (" + std::to_string(o.cq_entries) + ") must be at least entries (" +
           std::to_string(o.entries) + ") once both are rounded up to powers of two";
  }
  if (o.sqpoll && (o.coop_taskrun || o.taskrun_flag || o.defer_taskrun)) {
    return "sqpoll cannot be combined with coop_taskrun, taskrun_flag or defer_taskrun "
           "(task work runs in the poller thread)";
  }
  if (o.defer_taskrun && !o.single_issuer) return "defer_taskrun needs single_issuer = true";
  if (o.taskrun_flag && !o.coop_taskrun && !o.defer_taskrun) {
    return "taskrun_flag needs coop_taskrun or defer_taskrun";
  }
  if (o.hybrid_iopoll && !o.iopoll) return "hybrid_iopoll needs iopoll = true";
  if (o.cqe32 && o.cqe_mixed) return "cqe32 and cqe_mixed exclude each other; pick one";
  // Whether the kernel looks at sqpoll_cpu: only for a poller it makes.
  bool cpu_checked = o.sqpoll && o.sqpoll_cpu;
  if (const std::optional<int> wq_fd = wq_fd_of(o)) {
    const std::string target = fd_target(*wq_fd);
    const std::string wq = "wq_fd " + std::to_string(*wq_fd);
    if (target.find("io_uring") == std::string::npos) {
      return wq + " is not an io_uring fd" + (target.empty() ? std::string() : " (it is " + target + ")") +
             "; attach_wq_fd needs the fd of a live ring";
    }
    if (o.sqpoll) {
      const AttachTarget attach = attach_target(o, *wq_fd, creator);
      const std::string cpu = cpu_refusal(o);
      switch (attach.poller) {
        case Poller::none:
          return wq + " is a ring without SQPOLL: an sqpoll ring can attach only to another sqpoll ring (whose "
                      "poller thread it then shares)";
        case Poller::none_or_exited:
          if (cpu.empty()) {
            return wq + " is a ring without SQPOLL, or one whose poller has exited (fdinfo's SqThread is -1 for "
                        "both): an sqpoll ring can attach only to another sqpoll ring, whose poller thread it then "
                        "shares; to one whose poller has exited (with the process that made it) the kernel gives "
                        "a poller of its own instead, and then the refusal is elsewhere (" +
                   parameters(o) + ")";
          }
          return wq + " is a ring without SQPOLL, or one whose poller has exited (fdinfo's SqThread is -1 for "
                      "both). Without SQPOLL that is the refusal: an sqpoll ring can attach only to another sqpoll "
                      "ring. With its poller gone (the process that made it has exited) the kernel gives this ring "
                      "a poller of its own, and refuses it: " +
                 cpu + ". Attach to a live SQPOLL ring of this process, or pick one of those CPUs or leave "
                       "sqpoll_cpu unset";
        case Poller::shared:
          cpu_checked = false;
          break;
        case Poller::own:
          break;
        case Poller::unknown:
          if (!cpu.empty()) {
            return cpu + ", which is the refusal if this ring got a poller of its own, as it does when " + wq +
                   "'s poller belongs to another process or has exited; if that poller is this process's, this "
                   "ring shares it and its CPU is never looked at, and the refusal is elsewhere (" +
                   parameters(o) + ")" +
                   (o.attach_wq ? std::string()
                                : "; and if " + wq + " has no SQPOLL at all, that is the refusal (an sqpoll ring "
                                                     "attaches only to another sqpoll ring)") +
                   ". Which could not be told: " + attach.why + ". Pick one of those CPUs, or leave sqpoll_cpu unset" +
                   (o.attach_wq ? "" : "; with the Ring itself as attach_wq this library can tell");
          }
          cpu_checked = false;  // the CPU is no cause either way
          break;
      }
    }
  }
  if (cpu_checked) {
    if (const std::string cpu = cpu_refusal(o); !cpu.empty()) {
      return cpu + "; pick one of those, or leave sqpoll_cpu unset";
    }
  }
  if (o.no_mmap) {
    return "the kernel refused the NO_MMAP memory (kernels before 6.13 need the rings to fit in "
           "one page or one huge page; try fewer entries)";
  }
  return "the kernel rejected these parameters (" + parameters(o) +
         "); tools/probe shows which setup flags this kernel accepts";
}

}  // namespace

std::optional<Error> check_setup_options(const RingOptions& o) {
  if (o.entries == 0) return invalid("entries must be at least 1");
  if (o.attach_wq) {
    if (o.attach_wq_fd) return invalid("set attach_wq or attach_wq_fd, not both");
    if (!o.attach_wq->valid()) {
      return Error{EBADF, "io_uring_setup: attach_wq names a ring that is already closed; attach to an open ring"};
    }
    if (o.attach_wq->fd() < 0) {
      return invalid("attach_wq names a registered_fd_only ring, which has no fd for the kernel to look up; "
                     "attach to a ring that has one");
    }
  }
  if (o.sqpoll_cpu && !o.sqpoll) return invalid("sqpoll_cpu (SQ_AFF) needs sqpoll = true");
  if (o.sqpoll_cpu && *o.sqpoll_cpu < 0) return invalid("sqpoll_cpu must be a CPU number >= 0");
  if (o.registered_fd_only && !o.no_mmap) {
    return invalid("registered_fd_only needs no_mmap = true (a ring without an fd cannot be mmap'd)");
  }
  if ((o.no_mmap_memory != nullptr) != (o.no_mmap_memory_bytes != 0)) {
    return invalid("no_mmap_memory and no_mmap_memory_bytes go together");
  }
  if (o.no_mmap_memory) {
    if (!o.no_mmap) return invalid("no_mmap_memory is only used with no_mmap = true");
    if (reinterpret_cast<std::uintptr_t>(o.no_mmap_memory) % static_cast<std::uintptr_t>(::getpagesize())) {
      return invalid("no_mmap_memory must be page-aligned");
    }
    const std::size_t needed = Ring::no_mmap_bytes(o);
    if (o.no_mmap_memory_bytes < needed) {
      return invalid("no_mmap_memory holds " + std::to_string(o.no_mmap_memory_bytes) +
                     " bytes; these options need " + std::to_string(needed) + " (Ring::no_mmap_bytes)");
    }
  }
  return std::nullopt;
}

Error describe_setup_error(int negative_errno, const RingOptions& o) {
  const int code = -negative_errno;
  std::string why;
  switch (code) {
    case EPERM:
      why = "permission denied: io_uring is disabled or restricted for this process. Check "
            "`sysctl kernel.io_uring_disabled` (2 = disabled for all, 1 = only for "
            "kernel.io_uring_group members and CAP_SYS_ADMIN) and any seccomp or container policy";
      if (o.sqpoll) why += "; before Linux 5.11 sqpoll also needs CAP_SYS_ADMIN";
      break;
    case ENOSYS:
      why = "this kernel has no io_uring (it needs Linux 5.1 or newer built with CONFIG_IO_URING)";
      break;
    case ENOMEM:
      why = "no memory for the rings. Without CAP_IPC_LOCK they count against the locked-memory "
            "limit (RLIMIT_MEMLOCK, `ulimit -l`), and a closed ring gives its share back only "
            "after the kernel's asynchronous teardown: raise the limit, ask for fewer entries, or "
            "retry shortly";
      break;
    case EMFILE:
    case ENFILE:
      why = "no file descriptor left for the ring (too many open files)";
      break;
    case ENXIO:
      if (const std::optional<int> wq_fd = wq_fd_of(o)) {
        why = "wq_fd " + std::to_string(*wq_fd) +
              " is not an open file descriptor; attach_wq_fd needs the fd of a live ring";
        if (o.sqpoll) why += " (or that ring's SQPOLL thread is exiting: it is being closed)";
      } else {
        why = "no such device or address";
      }
      break;
    case EBADF:
      why = wq_fd_of(o) ? "wq_fd " + std::to_string(*wq_fd_of(o)) + " is not an open file descriptor"
                        : "bad file descriptor";
      break;
    case EFAULT:
      why = o.no_mmap ? "the kernel could not use the NO_MMAP memory (it must be readable and writable)"
                      : "bad address";
      break;
    case EINVAL:
      // A Ring named by attach_wq is open (check_setup_options).
      why = explain_einval(o, o.attach_wq ? Creator{o.attach_wq->s_.creator_pid, o.attach_wq->s_.creator_pid_namespace}
                                          : Creator{});
      break;
    default:
      return error_from_errno(negative_errno, "io_uring_setup");
  }
  return Error{code, "io_uring_setup failed (" + std::string(errno_name(code)) + "): " + why};
}

std::uint64_t pid_namespace_id() {
  struct stat ns {};
  if (::stat("/proc/self/ns/pid", &ns) != 0) return 0;
  return static_cast<std::uint64_t>(ns.st_ino);
}

}  // namespace uring
