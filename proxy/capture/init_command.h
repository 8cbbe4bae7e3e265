// `remora-proxy init`: programs (or, with --cleanup, removes) the pod's
// traffic capture rules, then exits. Runs in an init container with
// CAP_NET_ADMIN, before the app and the sidecar start; main thread only, no
// event loop.
//
// main.cc registers the subcommand with addInitCommand() and, when it was
// chosen, calls runInit(). Exit codes: 0 done, 1 iptables failed (its stderr
// is printed), 2 a flag value is invalid (one line naming the flag).
#pragma once

#include <cstdio>

#include "proxy/capture/capture_options.h"

namespace CLI {
class App;
}

namespace remora::capture {

// Adds the `init` subcommand and its flags to `app`, writing into `flags`
// (which must outlive parsing). Returns the subcommand, to test parsed().
CLI::App* addInitCommand(CLI::App& app, InitFlags& flags);

// Validates `flags` and does what they say; reports on `out`, failures on `err`.
int runInit(const InitFlags& flags, std::FILE* out = stdout, std::FILE* err = stderr);

}  // namespace remora::capture
