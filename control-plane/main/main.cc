// remora-cp's entry point: flags, logging, then the ControlPlane until
// SIGTERM or SIGINT.
//
//   remora-cp --data-dir DIR [--xds-address A] [--api-address A]
//             [--store sqlite|etcd --etcd-endpoints H:P,... [--etcd-prefix P]
//              [--etcd-ca-file F [--etcd-cert-file F --etcd-key-file F]]
//              [--etcd-username U --etcd-password-file F] [--replica-name N]]
//             [--api-token-file F] [--api-tls-cert F --api-tls-key F]
//             [--endpoint-grace-period 10s] [--push-debounce 100ms] [--log-level L]
//             [--api-address-path F] [--xds-address-path F]
//             [--insecure] [--trust-domain TD] [--ca-cert F --ca-key F [--ca-bundle F]]
//             [--cert-ttl 24h] [--max-cert-ttl 72h] [--mesh-tls-min-version 1.3]
//             [--tracing-collector otlp://IP:PORT[/path] | zipkin://IP:PORT[/path]]
//             [--tracing-sampling 100] [--outbound-traffic-policy allow-any|registry-only]
//
// CLI11 reports bad flags by throwing; this file is the one place in
// control-plane/ where that exception is caught, before any server thread
// runs (docs/decisions/004-exception-boundaries.md).
#include <signal.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <string>

#include "control-plane/main/cli_values.h"
#include "control-plane/main/control_plane.h"

namespace {

using remora::cp::ControlPlaneConfig;

int usage(const std::string& message) {
  std::fprintf(stderr, "remora-cp: %s (see --help)\n", message.c_str());
  return 2;
}

// Writes "ip:port" to `path` atomically (a reader never sees half of it).
bool writeAddress(const std::string& path, const std::string& host, uint16_t port) {
  if (path.empty()) return true;
  const std::string temp = path + ".tmp";
  {
    std::ofstream out(temp, std::ios::trunc);
    out << host << ':' << port << '\n';
    if (!out) return false;
  }
  return std::rename(temp.c_str(), path.c_str()) == 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"remora-cp: the Remora control plane"};
  app.set_version_flag("--version", "remora-cp 0.1.0");
  ControlPlaneConfig config;
  std::string store = "sqlite";
  std::string log_level = "info";
  std::string grace = "10s";
  std::string debounce = "100ms";
  std::string token_file;
  std::string api_address_path;
  std::string xds_address_path;
  std::string cert_ttl = "24h";
  std::string max_cert_ttl = "72h";
  config.api.address = "127.0.0.1:15080";
  app.add_option("--data-dir", config.data_dir, "directory of the store (remora.db); created if missing")->required();
  app.add_option("--xds-address", config.xds_address, "where proxies connect for xDS (ip:port; port 0 picks one)")
      ->capture_default_str();
  app.add_option("--api-address", config.api.address, "the JSON management API (ip:port; loopback unless secured)")
      ->capture_default_str();
  app.add_option("--store", store, "the store backend: sqlite (in --data-dir) or etcd (shared by replicas)")
      ->check(CLI::IsMember({"sqlite", "etcd"}))
      ->capture_default_str();
  std::string etcd_endpoints;
  std::string etcd_password_file;
  auto& etcd = config.store.etcd;
  app.add_option("--etcd-endpoints", etcd_endpoints, "etcd members, host:port,... (with --store etcd)");
  app.add_option("--etcd-prefix", config.store.etcd_prefix, "the key prefix of every key remora-cp writes in etcd")
      ->capture_default_str();
  app.add_option("--etcd-ca-file", etcd.ca_file, "PEM CA of etcd's client certificates: talk TLS to etcd");
  app.add_option("--etcd-cert-file", etcd.cert_file, "PEM client certificate for etcd (--client-cert-auth)");
  app.add_option("--etcd-key-file", etcd.key_file, "PEM private key of --etcd-cert-file");
  app.add_option("--etcd-username", etcd.username, "etcd user (etcd authentication)");
  app.add_option("--etcd-password-file", etcd_password_file, "file holding --etcd-username's password");
  std::string lease_ttl = "10s";
  app.add_option("--replica-lease-ttl", lease_ttl,
                 "how long etcd keeps a dead replica's sidecar registrations (its proxies re-register elsewhere first)")
      ->capture_default_str();
  app.add_option("--replica-name", config.store.replica_name,
                 "this replica's name in proxy-status and etcd (default: the host name)");
  app.add_option("--api-token-file", token_file, "file holding the bearer token the API requires");
  app.add_option("--api-tls-cert", config.api.tls_cert_file, "PEM certificate chain: serve the API over HTTPS");
  app.add_option("--api-tls-key", config.api.tls_key_file, "PEM private key of --api-tls-cert");
  app.add_option("--endpoint-grace-period", grace,
                 "how long a disconnected sidecar stays an endpoint (e.g. 10s, 500ms)")
      ->capture_default_str();
  app.add_option("--push-debounce", debounce, "how long a change waits for more before it is pushed")
      ->capture_default_str();
  app.add_option("-l,--log-level", log_level, "trace, debug, info, warn, error, critical or off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));
  app.add_option("--api-address-path", api_address_path, "write the API's ip:port here once it serves");
  app.add_option("--xds-address-path", xds_address_path, "write the xDS server's ip:port here once it serves");
  app.add_flag("--insecure", config.security.insecure,
               "plaintext xDS, no CA, no certificate service, no mTLS in the mesh (experiments and old tests)");
  app.add_option("--trust-domain", config.security.trust_domain, "the SPIFFE trust domain of the mesh")
      ->capture_default_str();
  app.add_option("--ca-cert", config.security.ca_cert,
                 "operator CA: PEM signing certificate (root or intermediate, then its intermediates)");
  app.add_option("--ca-key", config.security.ca_key, "operator CA: the PEM private key of --ca-cert");
  app.add_option("--ca-bundle", config.security.ca_bundle, "operator CA: the PEM root(s) the mesh trusts");
  app.add_option("--cert-ttl", cert_ttl, "workload certificate lifetime when the proxy asks for none")
      ->capture_default_str();
  app.add_option("--max-cert-ttl", max_cert_ttl, "the longest workload certificate lifetime granted")
      ->capture_default_str();
  std::string mesh_tls_min = "1.3";
  app.add_option("--mesh-tls-min-version", mesh_tls_min, "the lowest TLS version sidecars speak to each other")
      ->check(CLI::IsMember({"1.2", "1.3"}))
      ->capture_default_str();
  std::string tracing_collector;
  std::string tracing_sampling;
  app.add_option("--tracing-collector", tracing_collector,
                 "where every sidecar exports spans: otlp://IP:PORT[/path] (OTLP/HTTP, default path /v1/traces) "
                 "or zipkin://IP:PORT[/path] (Zipkin v2 JSON, default /api/v2/spans); unset: no tracing");
  app.add_option("--tracing-sampling", tracing_sampling,
                 "percent of requests traced when the caller did not decide, 0..100 (default 100)");
  std::string outbound_policy = "allow-any";
  app.add_option("--outbound-traffic-policy", outbound_policy,
                 "where intercepted sidecars (INTERCEPTION_MODE REDIRECT) send traffic for hosts outside the mesh: "
                 "allow-any (on to its original destination) or registry-only (refused)")
      ->check(CLI::IsMember({"allow-any", "registry-only"}))
      ->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  auto grace_value = remora::cp::parseDuration(grace);
  if (!grace_value) return usage("--endpoint-grace-period: " + grace_value.error().message);
  config.endpoint_grace = *grace_value;
  auto debounce_value = remora::cp::parseDuration(debounce);
  if (!debounce_value) return usage("--push-debounce: " + debounce_value.error().message);
  config.push_debounce = *debounce_value;
  auto cert_ttl_value = remora::cp::parseDuration(cert_ttl);
  if (!cert_ttl_value) return usage("--cert-ttl: " + cert_ttl_value.error().message);
  config.security.mesh_allow_tls12 = mesh_tls_min == "1.2";
  auto max_cert_ttl_value = remora::cp::parseDuration(max_cert_ttl);
  if (!max_cert_ttl_value) return usage("--max-cert-ttl: " + max_cert_ttl_value.error().message);
  config.security.cert_ttl = std::chrono::duration_cast<std::chrono::seconds>(*cert_ttl_value);
  config.security.max_cert_ttl = std::chrono::duration_cast<std::chrono::seconds>(*max_cert_ttl_value);
  if (config.security.cert_ttl.count() <= 0 || config.security.max_cert_ttl < config.security.cert_ttl) {
    return usage("need 1s <= --cert-ttl <= --max-cert-ttl");
  }
  if (config.security.ca_cert.empty() != config.security.ca_key.empty()) {
    return usage("--ca-cert and --ca-key go together");
  }
  if (!config.security.ca_bundle.empty() && config.security.ca_cert.empty()) {
    return usage("--ca-bundle needs --ca-cert and --ca-key");
  }
  if (config.security.insecure && !config.security.ca_cert.empty()) {
    return usage("--insecure runs no CA: drop --ca-cert/--ca-key");
  }
  if (!token_file.empty()) {
    auto token = remora::cp::readToken(token_file);
    if (!token) return usage("--api-token-file: " + token.error().message);
    config.api.token = std::move(*token);
  }
  if (config.api.tls_cert_file.empty() != config.api.tls_key_file.empty()) {
    return usage("--api-tls-cert and --api-tls-key go together");
  }
  if (auto s = remora::cp::checkApiExposure(config.api.address, !config.api.token.empty(),
                                            !config.api.tls_cert_file.empty());
      !s) {
    return usage(s.error().message);
  }
  for (const std::string* address : {&config.xds_address, &config.api.address}) {
    if (auto s = remora::cp::splitHostPort(*address); !s) return usage(s.error().message);
  }
  if (!tracing_collector.empty()) {
    auto tracing = remora::cp::parseTracingCollector(tracing_collector);
    if (!tracing) return usage("--tracing-collector: " + tracing.error().message);
    config.tracing = std::move(*tracing);
  }
  if (!tracing_sampling.empty()) {
    if (tracing_collector.empty()) return usage("--tracing-sampling needs --tracing-collector");
    auto percent = remora::cp::parseSamplingPercent(tracing_sampling);
    if (!percent) return usage("--tracing-sampling: " + percent.error().message);
    config.tracing.sampling_percent = *percent;
  }
  if (outbound_policy == "registry-only") {
    config.outbound_traffic_policy = remora::cp::mesh::OutboundTrafficPolicy::kRegistryOnly;
  }
  if (store == "etcd") {
    config.store.backend = remora::cp::StoreConfig::Backend::kEtcd;
    if (etcd_endpoints.empty()) return usage("--store etcd needs --etcd-endpoints");
    auto endpoints = remora::cp::parseEtcdEndpoints(etcd_endpoints);
    if (!endpoints) return usage("--etcd-endpoints: " + endpoints.error().message);
    etcd.endpoints = std::move(*endpoints);
    if (etcd.cert_file.empty() != etcd.key_file.empty()) {
      return usage("--etcd-cert-file and --etcd-key-file go together");
    }
    if (!etcd.cert_file.empty() && etcd.ca_file.empty()) return usage("--etcd-cert-file needs --etcd-ca-file");
    if (etcd.username.empty() != etcd_password_file.empty()) {
      return usage("--etcd-username and --etcd-password-file go together");
    }
    if (!etcd_password_file.empty()) {
      auto password = remora::cp::readToken(etcd_password_file);
      if (!password) return usage("--etcd-password-file: " + password.error().message);
      etcd.password = std::move(*password);
    }
    auto ttl = remora::cp::parseDuration(lease_ttl);
    if (!ttl) return usage("--replica-lease-ttl: " + ttl.error().message);
    config.store.lease_ttl = std::chrono::duration_cast<std::chrono::seconds>(*ttl);
    if (config.store.lease_ttl.count() < 2) return usage("--replica-lease-ttl: at least 2s");
    if (!config.security.insecure && config.security.ca_cert.empty()) {
      return usage("--store etcd runs replicas that must share one CA: give every replica the same --ca-cert and "
                   "--ca-key (or run --insecure)");
    }
    if (config.store.etcd_prefix.empty() || config.store.etcd_prefix.back() != '/') {
      return usage("--etcd-prefix must end with '/' (e.g. /remora/)");
    }
  } else if (!etcd_endpoints.empty() || !etcd.ca_file.empty() || !etcd.username.empty()) {
    return usage("the --etcd-* flags need --store etcd");
  }
  if (config.store.replica_name.empty()) {
    char host[256] = {};
    if (::gethostname(host, sizeof(host) - 1) == 0) config.store.replica_name = host;
  }
  if (config.store.replica_name.empty() || config.store.replica_name.find('/') != std::string::npos) {
    return usage("--replica-name: give a name without '/'");
  }
  if (::mkdir(config.data_dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return usage("--data-dir " + config.data_dir + ": " + std::strerror(errno));
  }

  auto logger = spdlog::stderr_color_mt("remora-cp");
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(log_level));
  ::signal(SIGPIPE, SIG_IGN);
  // Block the stop signals before any thread starts, so only sigwait sees them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  auto cp = remora::cp::ControlPlane::start(config);
  if (!cp) {
    spdlog::critical("cannot start: {}", cp.error().message);
    return 1;
  }
  const std::string xds_host = remora::cp::splitHostPort(config.xds_address)->first;
  const std::string api_host = remora::cp::splitHostPort(config.api.address)->first;
  spdlog::info("serving xDS{} on {}:{} and the API on {}://{}:{}",
               config.security.insecure ? " (plaintext, --insecure)" : " over TLS", xds_host, (*cp)->xdsPort(),
               config.api.tls_cert_file.empty() ? "http" : "https", api_host, (*cp)->apiPort());
  if (config.tracing.enabled) {
    spdlog::info("sidecars export spans ({}) to {}{}, sampling {}%",
                 config.tracing.format == remora::cp::mesh::MeshTracing::Format::kOtlp ? "OTLP/HTTP" : "Zipkin JSON",
                 remora::cp::mesh::tracingAuthority(config.tracing), config.tracing.path,
                 config.tracing.sampling_percent);
  }
  if (config.outbound_traffic_policy == remora::cp::mesh::OutboundTrafficPolicy::kRegistryOnly) {
    spdlog::info("intercepted sidecars refuse traffic for hosts outside the mesh (--outbound-traffic-policy "
                 "registry-only)");
  }
  if (!writeAddress(xds_address_path, xds_host, (*cp)->xdsPort()) ||
      !writeAddress(api_address_path, api_host, (*cp)->apiPort())) {
    spdlog::critical("cannot write the address files");
    return 1;
  }
  int signo = 0;
  sigwait(&stop_signals, &signo);
  spdlog::info("signal {}: shutting down", signo);
  (*cp)->shutdown();
  return 0;
}
