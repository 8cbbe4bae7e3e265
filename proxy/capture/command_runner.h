// Runs one program to completion: argv without a shell, text on its stdin,
// stdout and stderr collected. Used by `remora-proxy init` (main thread, no
// loop running) to drive iptables-restore and iptables-save.
//
// posix_spawn with pipes; stdin is written while both outputs are read (poll),
// so a child that prints a lot before reading cannot deadlock us. SIGPIPE
// from a child that exits without reading is absorbed, not fatal.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "xds/base/status.h"

namespace remora::capture {

struct CommandOutput {
  // The exit code, or 128 + the signal number when a signal ended it.
  int exit_code = 0;
  std::string stdout_text;
  std::string stderr_text;
};

// The absolute path of `name`: searched in $PATH, then in /usr/sbin and
// /sbin (iptables lives there and a non-login PATH may lack them). A name
// containing '/' is returned as is. kNotFound when nowhere executable.
base::Result<std::string> findExecutable(const std::string& name);

// Fails (kIo) when the program cannot be found or started, or when it runs
// past `timeout` (it is then killed); a non-zero exit is not a failure here.
base::Result<CommandOutput> runCommand(const std::vector<std::string>& args, const std::string& stdin_text,
                                       std::chrono::milliseconds timeout = std::chrono::seconds(30));

}  // namespace remora::capture
