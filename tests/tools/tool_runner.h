// Runs the programs of tools/ as a user would, for the end-to-end tests in
// tests/tools/: a one-shot run (arguments, stdin, exit status, both output
// streams, a time limit), a server (started, its port read from its
// `listening on 127.0.0.1:PORT` line, stopped by a signal), and a child
// whose standard fds the test gives (a pipe left open, a pty, a file).
// Every child starts as from a shell: no signal blocked, SIGPIPE at its
// default; an optional hook runs in it just before exec.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

namespace tool_runner {

// The built tool at `relative` (e.g. "tools/cat/cat") in this test's
// runfiles; fails the test when run outside `bazel test`.
std::string tool_path(const std::string& relative);

struct Result {
  bool exited = false;    // exited normally (then exit_code is valid)
  int exit_code = -1;
  int signal = 0;         // the signal that ended it, if one did
  bool timed_out = false;  // killed by run() after the time limit
  std::string out;
  std::string err;
};

// Runs in the child between fork and exec, after its fds 0-2 are set: a
// resource limit (setrlimit), capabilities dropped (prctl), a standard fd
// closed. Only async-signal-safe calls there (system calls): no allocation,
// no stdio, no doctest macro. It is called in the child, never copied, so a
// lambda capturing values made before the call is fine.
using BeforeExec = std::function<void()>;

// Runs `path` with `args`, feeding `input` on stdin (then closing it), and
// waits at most `timeout_seconds` (then SIGKILL, timed_out). Both output
// streams are read while it runs, so any amount of output is fine.
// `before_exec`, if given, runs in the child just before exec.
Result run(const std::string& path, const std::vector<std::string>& args, const std::string& input = "",
           double timeout_seconds = 60, const BeforeExec& before_exec = {});

// The fds spawn() puts on the child's 0, 1 and 2 (dup'd, so the caller
// still owns and closes its own); -1 gives /dev/null.
struct StdFds {
  int in = -1;
  int out = -1;
  int err = -1;
};

// For what run() cannot do (a stdin left open, an output read as a stream,
// a one-page pipe, a pty, a file as stdout, a signal sent mid-run): starts
// `path` with `args` on `fds` and returns its pid at once. Reap it with
// wait_status().
pid_t spawn(const std::string& path, const std::vector<std::string>& args, StdFds fds,
            const BeforeExec& before_exec = {});

// Waits at most `timeout_seconds` for `child` to end and returns its wait
// status; past that, SIGKILLs and reaps it and returns -1 (which fails
// WIFEXITED and WIFSIGNALED checks alike).
int wait_status(pid_t child, double timeout_seconds);

// What `fd` gives until its end (or an error, e.g. EIO at a pty's end), or
// until it has been silent `timeout_seconds` in all.
std::string read_until_end(int fd, double timeout_seconds);

// Waits (at most `timeout_seconds`) until `pid` has SIGINT and SIGTERM
// blocked, as a tool does once its signalfd takes them, and, with
// `in_io_uring_enter`, sleeps in io_uring_enter (/proc/PID/status and
// /proc/PID/syscall); false if it never did. Then a stop signal sent is
// one the tool handles.
bool ready_for_stop_signals(pid_t pid, bool in_io_uring_enter, double timeout_seconds = 5);

// A BeforeExec for tests run as root: drops CAP_DAC_OVERRIDE and
// CAP_DAC_READ_SEARCH from the bounding set, so the tool's permission checks
// are a user's. Needs CAP_SETPCAP: see can_drop_dac_capabilities().
void drop_dac_capabilities();
bool can_drop_dac_capabilities();

// A server tool running in the background. start() waits (at most
// `timeout_seconds`) for its first stdout line, `listening on
// 127.0.0.1:PORT`; stop() sends `sig`, waits at most `timeout_seconds` for it
// to end and returns what it printed. The destructor SIGKILLs one still
// running (and reaps it), so a failing test leaves no process behind.
class Server {
 public:
  Server() = default;
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;
  ~Server();

  // False (with the reason in *error) if it did not start or printed no
  // such line in time; its output so far is in *error then.
  bool start(const std::string& path, const std::vector<std::string>& args, std::string* error,
             double timeout_seconds = 20);
  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  bool running();  // not yet exited (reaps it if it has)
  Result stop(int sig, double timeout_seconds = 20);

 private:
  pid_t pid_ = -1;
  int out_fd_ = -1;
  int err_fd_ = -1;
  int port_ = 0;
  std::string out_;  // stdout after the listening line
  std::string err_;
  bool reaped_ = false;
  int status_ = 0;
};

// A blocking TCP connection to 127.0.0.1:port (-1 on failure, errno set).
int connect_loopback(int port);

// The number of open file descriptors of process `pid` (/proc/PID/fd).
int count_fds(pid_t pid);

}  // namespace tool_runner
