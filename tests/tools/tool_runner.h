// Runs the programs of tools/ as a user would, for the end-to-end tests in
// tests/tools/: a one-shot run (arguments, stdin, exit status, both output
// streams, a time limit) and a server (started, its port read from its
// `listening on 127.0.0.1:PORT` line, stopped by a signal).
#pragma once

#include <sys/types.h>

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

// Runs `path` with `args`, feeding `input` on stdin (then closing it), and
// waits at most `timeout_seconds` (then SIGKILL, timed_out). Both output
// streams are read while it runs, so any amount of output is fine.
Result run(const std::string& path, const std::vector<std::string>& args, const std::string& input = "",
           double timeout_seconds = 60);

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
