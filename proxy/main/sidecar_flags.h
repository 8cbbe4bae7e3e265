// The command-line pieces of remora-proxy that issue 8 added, kept out of
// main.cc so that file stays a table of contents:
//   - the bootstrap-from-flags options (--control-plane, --node-id, ...;
//     flag_bootstrap.h) and --print-bootstrap, on the run command;
//   - the `wait-ready` subcommand (wait_ready.h).
//
// CLI11 lives only in the remora-proxy executable; these functions are
// compiled into it, not into remora_server. Main thread, before any loop.
#pragma once

#include <CLI/CLI.hpp>
#include <optional>

#include "proxy/main/flag_bootstrap.h"
#include "proxy/main/server.h"
#include "proxy/main/wait_ready.h"

namespace remora::server {

struct SidecarFlags {
  FlagBootstrapOptions bootstrap;
  bool print_bootstrap = false;
};

// Registers --control-plane and its companions on the run command.
void addSidecarFlags(CLI::App& app, SidecarFlags& flags);

// After parsing. With --control-plane: checks the flags, resolves the
// control plane and puts the generated bootstrap in `options`. Returns an
// exit code when the process must end now (2: bad or conflicting flags;
// 1: the control plane's name does not resolve or the bootstrap is
// invalid; 0: --print-bootstrap printed it), or nullopt to go on. Without
// --control-plane it only refuses its companions (exit 2).
std::optional<int> prepareFlagBootstrap(const CLI::App& app, const SidecarFlags& flags, Options& options);

struct WaitReadyFlags {
  WaitReadyOptions options;
  double timeout_seconds = 60;
};

// `remora-proxy wait-ready [--timeout S] [--admin-address IP:PORT]`.
CLI::App* addWaitReadyCommand(CLI::App& app, WaitReadyFlags& flags);
int runWaitReady(WaitReadyFlags& flags);

}  // namespace remora::server
