// A child process started by a test: a backend, remora-proxy, or a client
// such as curl. Owned by the test thread that started it.
//
// Only the one PID it spawned is ever signalled or reaped (never a process
// group, never by name): a test must not disturb anything it did not start.
// stdout and stderr go to files, so a chatty child cannot block on a full
// pipe and the output survives for failure messages.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tests/integration/harness/temp_dir.h"
#include "xds/base/status.h"

namespace remora::harness {

struct ProcessOptions {
  // args[0] is the program: a path, or a name looked up in $PATH.
  std::vector<std::string> args;
  // Added to (or replacing in) the test's own environment.
  std::vector<std::pair<std::string, std::string>> env;
  // Directory for <name>.stdout / <name>.stderr; empty: a private TempDir
  // owned by the Process.
  std::string output_dir;
  // File name prefix for the output files; empty: the program's base name.
  std::string name;
};

class Process {
 public:
  // posix_spawn()s the child with stdin from /dev/null, default signal
  // dispositions and an empty signal mask.
  static base::Result<Process> start(ProcessOptions options);

  // SIGTERM, up to 2 s for it to exit, then SIGKILL; only if still unreaped.
  ~Process();
  Process(Process&& other) noexcept;
  Process& operator=(Process&& other) noexcept;
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }

  // Sends `signo` to the child, unless it has already been reaped.
  base::Status signal(int signo);

  // Waits for the child to exit. Returns its exit code, or 128 + the signal
  // number when a signal ended it (the shell's convention). Fails on timeout
  // (the child keeps running). Once reaped, returns the same code again.
  base::Result<int> waitExit(std::chrono::milliseconds timeout);

  // True while the child has not exited (reaps it if it just did).
  bool running();

  // SIGTERM, wait up to `grace`, then SIGKILL; returns the exit code.
  int stop(std::chrono::milliseconds grace = std::chrono::seconds(2));

  const std::string& stdoutPath() const { return stdout_path_; }
  const std::string& stderrPath() const { return stderr_path_; }
  // The output so far ("" when unreadable).
  std::string readStdout() const;
  std::string readStderr() const;

 private:
  Process() = default;
  // Reaps without blocking; true when the child has exited.
  bool tryReap();
  void release();

  pid_t pid_ = -1;
  std::optional<int> exit_code_;
  std::unique_ptr<TempDir> own_dir_;
  std::string stdout_path_;
  std::string stderr_path_;
};

// What a finished command printed and how it ended.
struct CommandResult {
  // Exit code (128 + signal if killed); -1 when timed out; 127 when it could
  // not be started (stderr_text says why).
  int exit_code = -1;
  bool timed_out = false;
  std::string stdout_text;
  std::string stderr_text;

  // One paragraph for INFO()/failure messages: exit code and both outputs.
  std::string describe() const;
};

// Runs a command to completion with a hard timeout (SIGKILL when it expires).
// For curl, nghttp, h2load, grpc_echo_client and other short-lived clients.
CommandResult run(const std::vector<std::string>& args, std::chrono::milliseconds timeout,
                  const std::vector<std::pair<std::string, std::string>>& env = {});

}  // namespace remora::harness
