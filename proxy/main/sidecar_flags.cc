#include "proxy/main/sidecar_flags.h"

#include <cmath>
#include <cstdio>

#include "proxy/config/bootstrap_loader.h"

namespace remora::server {

namespace {

// The companions of --control-plane: meaningless with --config.
constexpr const char* kCompanions[] = {
    "--node-id",         "--service",          "--namespace",        "--service-account",       "--pod-ip",
    "--app-ports",       "--interception",     "--ca-file",          "--trust-domain",          "--zone",
    "--region",          "--insecure-xds",     "--admin-address",    "--control-plane-identity", "--outbound-address",
    "--inbound-address", "--app-address",      "--label",            "--print-bootstrap"};

}  // namespace

void addSidecarFlags(CLI::App& app, SidecarFlags& flags) {
  auto& b = flags.bootstrap;
  const std::string group = "Without a bootstrap file (docs/config/bootstrap.md)";
  auto add = [&](const std::string& name, std::string& into, const std::string& help) {
    app.add_option(name, into, help)->group(group);
  };
  add("--control-plane", b.control_plane, "remora-cp's xDS address HOST:PORT, or several replicas HOST:PORT,HOST:PORT (HOST may be a DNS name resolving to several); builds the bootstrap from these flags instead of --config");
  add("--node-id", b.node_id, "this sidecar's node id (unique per pod)");
  add("--service", b.service, "the service this pod's app belongs to");
  app.add_option("--namespace", b.namespace_, "the service's namespace")->group(group)->capture_default_str();
  add("--service-account", b.service_account, "the workload's service account (default: the service)");
  add("--pod-ip", b.pod_ip, "the pod's IP, registered as the service's endpoint");
  add("--app-ports", b.app_ports, "the app's ports, comma-separated (8080,9090)");
  app.add_option("--interception", b.interception, "redirect (iptables capture, see `remora-proxy init`) or none")
      ->group(group)
      ->capture_default_str();
  add("--ca-file", b.ca_file, "the mesh root remora-cp's certificate is checked against");
  app.add_option("--trust-domain", b.trust_domain, "the mesh's SPIFFE trust domain")->group(group)->capture_default_str();
  add("--control-plane-identity", b.control_plane_identity,
      "remora-cp's SPIFFE ID (default spiffe://<trust-domain>/ns/remora-system/sa/remora-cp)");
  add("--zone", b.zone, "node.locality.zone");
  add("--region", b.region, "node.locality.region");
  app.add_flag("--insecure-xds", b.insecure_xds, "plaintext xDS, for a remora-cp started with --insecure")->group(group);
  app.add_option("--admin-address", b.admin_address, "the admin endpoint's ip:port")->group(group)->capture_default_str();
  add("--outbound-address", b.outbound_address, "ip:port of the outbound listener (node.metadata.OUTBOUND_ADDRESS)");
  add("--inbound-address", b.inbound_address, "ip:port of the inbound listener (node.metadata.INBOUND_ADDRESS)");
  add("--app-address", b.app_address, "the IP the app listens on (node.metadata.APP_ADDRESS, default 127.0.0.1)");
  app.add_option("--label", b.labels, "key=value, repeatable: the registered endpoint's labels")->group(group);
  app.add_flag("--print-bootstrap", flags.print_bootstrap, "print the bootstrap built from these flags and exit")
      ->group(group);
}

std::optional<int> prepareFlagBootstrap(const CLI::App& app, const SidecarFlags& flags, Options& options) {
  const bool from_flags = app.get_option("--control-plane")->count() > 0;
  if (!from_flags) {
    for (const char* name : kCompanions) {
      if (app.get_option(name)->count() > 0) {
        std::fprintf(stderr, "remora-proxy: %s needs --control-plane (it builds the bootstrap from flags)\n", name);
        return 2;
      }
    }
    return std::nullopt;
  }
  if (!options.config_path.empty()) {
    std::fprintf(stderr,
                 "remora-proxy: --config and --control-plane are mutually exclusive: a bootstrap file names its "
                 "control plane itself; --control-plane builds the bootstrap from flags\n");
    return 2;
  }
  if (auto s = checkFlagBootstrap(flags.bootstrap); !s) {
    std::fprintf(stderr, "remora-proxy: %s\n", s.message().c_str());
    return 2;
  }
  // Resolved now, before any loop runs; a list naming DNS names is resolved
  // again by the ADS client (off the loop) whenever every address failed.
  auto resolved = resolveControlPlanes(flags.bootstrap.control_plane);
  if (!resolved) {
    std::fprintf(stderr, "remora-proxy: %s\n", resolved.error().message.c_str());
    return 1;
  }
  std::string yaml = flagBootstrapYaml(flags.bootstrap, *resolved);
  // The same loader as a file: whatever it refuses, it refuses here too.
  if (auto loaded = config::loadBootstrapString(yaml, config::ConfigFormat::kYaml, "<flags>"); !loaded) {
    std::fprintf(stderr, "remora-proxy: the bootstrap built from flags is invalid: %s\n",
                 loaded.error().message.c_str());
    return 1;
  }
  if (flags.print_bootstrap) {
    std::fputs(yaml.c_str(), stdout);
    return 0;
  }
  options.bootstrap_yaml = std::move(yaml);
  if (controlPlanesHaveNames(flags.bootstrap.control_plane)) options.control_planes = flags.bootstrap.control_plane;
  return std::nullopt;
}

CLI::App* addWaitReadyCommand(CLI::App& app, WaitReadyFlags& flags) {
  CLI::App* cmd = app.add_subcommand(
      "wait-ready", "block until the local proxy's /ready answers 200 (exit 0), or the timeout passes (exit 1)");
  cmd->add_option("--timeout", flags.timeout_seconds, "seconds to wait")
      ->check(CLI::Range(0.0, 86400.0))
      ->capture_default_str();
  cmd->add_option("--admin-address", flags.options.admin_address, "the proxy's admin endpoint ip:port")
      ->capture_default_str();
  return cmd;
}

int runWaitReady(WaitReadyFlags& flags) {
  flags.options.timeout = std::chrono::milliseconds(static_cast<int64_t>(std::llround(flags.timeout_seconds * 1000)));
  return waitReady(flags.options, stdout, stderr);
}

}  // namespace remora::server
