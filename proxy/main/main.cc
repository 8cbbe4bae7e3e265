// remora-proxy's entry point: flags, subcommands, logging, then the Server.
//
//   remora-proxy --config FILE [--concurrency N] [--log-level LEVEL] [--admin-address-path FILE] [--token-file FILE]
//                [--stats-address IP:PORT [--stats-address-path FILE]]
//   remora-proxy --control-plane HOST:PORT --node-id ID --service NAME --pod-ip IP ... [--print-bootstrap]
//                (the bootstrap built from flags: flag_bootstrap.h, sidecar_flags.h)
//   remora-proxy validate FILE
//   remora-proxy init [--dry-run] [--cleanup] [capture flags]   (proxy/capture/init_command.h)
//   remora-proxy wait-ready [--timeout S] [--admin-address IP:PORT]
//
// CLI11 reports bad flags by throwing; this file is the one place in proxy/
// where that exception is caught (docs/decisions/004-exception-boundaries.md),
// and it never reaches a libuv callback because no loop runs yet.
#include <malloc.h>
#include <signal.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>

#include "proxy/capture/init_command.h"
#include "proxy/config/bootstrap_loader.h"
#include "proxy/config/snapshot.h"
#include "proxy/config/tls_registry.h"
#include "proxy/main/server.h"
#include "proxy/main/sidecar_flags.h"

namespace {

int validate(const std::string& path) {
  auto loaded = remora::config::loadBootstrapFile(path);
  if (!loaded) {
    std::fprintf(stderr, "%s: invalid: %s\n", path.c_str(), loaded.error().message.c_str());
    return 1;
  }
  auto bootstrap = std::make_shared<const remora::xds::resources::Bootstrap>(std::move(loaded->bootstrap));
  // TLS files are read and parsed here too; secrets from the control plane
  // (the workload certificate, ROOTCA) are only named, not waited for.
  remora::config::TlsRegistry tls;
  auto snapshot = remora::config::buildSnapshot(bootstrap, 1, &tls);
  if (!snapshot) {
    std::fprintf(stderr, "%s: invalid: %s\n", path.c_str(), snapshot.error().message.c_str());
    return 1;
  }
  std::printf("%s: OK (%zu listener(s), %zu cluster(s))\n", path.c_str(), bootstrap->listeners.size(),
              bootstrap->clusters.size());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"remora-proxy: the Remora sidecar"};
  app.set_version_flag("--version", "remora-proxy 0.1.0");
  remora::server::Options options;
  std::string log_level = "info";
  uint32_t drain_ms = 5000;
  app.add_option("-c,--config", options.config_path, "bootstrap file (YAML or JSON, Envoy v3 Bootstrap shape)");
  app.add_option("--concurrency", options.concurrency, "worker threads")->check(CLI::Range(1, 64));
  app.add_option("-l,--log-level", log_level, "trace, debug, info, warn, error, critical or off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));
  app.add_option("--admin-address-path", options.admin_address_path,
                 "write the admin endpoint's ip:port here once ready (for port 0)");
  app.add_option("--stats-address", options.stats_address,
                 "serve /stats/prometheus (and /metrics), and nothing else, on this ip:port");
  app.add_option("--stats-address-path", options.stats_address_path,
                 "write the scrape endpoint's ip:port here once ready (for port 0)");
  app.add_option("--drain-time-ms", drain_ms, "how long in-flight requests get after SIGTERM")
      ->check(CLI::Range(0u, 3600000u));
  app.add_option("--token-file", options.token_file,
                 "a join token for the workload certificate (remoractl token create ...)");
  std::string validate_path;
  CLI::App* validate_cmd = app.add_subcommand("validate", "check a bootstrap file, name the bad field, exit non-zero");
  validate_cmd->add_option("file", validate_path, "bootstrap file")->required();
  remora::capture::InitFlags init_flags;
  CLI::App* init_cmd = remora::capture::addInitCommand(app, init_flags);
  remora::server::SidecarFlags sidecar_flags;
  remora::server::addSidecarFlags(app, sidecar_flags);
  remora::server::WaitReadyFlags wait_ready_flags;
  CLI::App* wait_ready_cmd = remora::server::addWaitReadyCommand(app, wait_ready_flags);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  if (validate_cmd->parsed()) return validate(validate_path);
  if (init_cmd->parsed()) return remora::capture::runInit(init_flags);
  if (wait_ready_cmd->parsed()) return remora::server::runWaitReady(wait_ready_flags);
  if (auto done = remora::server::prepareFlagBootstrap(app, sidecar_flags, options)) return *done;
  if (options.config_path.empty() && options.bootstrap_yaml.empty()) {
    std::fprintf(stderr, "remora-proxy: --config or --control-plane is required (see --help)\n");
    return 2;
  }
  options.drain_time = std::chrono::milliseconds(drain_ms);

  auto logger = spdlog::stderr_color_mt("remora");
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(log_level));
  // A peer that closes while we write must not kill the process.
  ::signal(SIGPIPE, SIG_IGN);
  // glibc gives a worker arena's free top back with madvise as soon as it
  // passes the trim threshold (128 KiB, or less after adjustment), and the
  // next request's buffers fault it in again: profiled at a quarter of a
  // TLS-terminating sidecar's CPU (madvise and TLB flushes). A fixed 4 MiB
  // keeps the churn in user space; memory the proxy never touched stays out
  // of its RSS.
  ::mallopt(M_TRIM_THRESHOLD, 4 * 1024 * 1024);

  remora::server::Server server(std::move(options));
  return server.run();
}
