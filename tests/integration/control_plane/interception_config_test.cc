// remora-cp's INTERCEPTION_MODE REDIRECT config against a real remora-proxy:
// the sidecar ACKs every type (original_dst listener filter, prefix_ranges,
// PassthroughCluster, the passthrough virtual host), and its route table
// answers to a service's virtual IP authority. No iptables here: the
// requests reach the outbound listener explicitly, so they exercise the
// config, not the capture (tests/e2e/ does that).
#include <catch2/catch.hpp>
#include <chrono>
#include <functional>
#include <regex>
#include <thread>

#include "tests/integration/harness/backend_process.h"
#include "tests/integration/harness/control_plane_process.h"
#include "tests/integration/harness/http_client.h"
#include "tests/integration/harness/paths.h"
#include "tests/integration/harness/proxy_process.h"
#include "tests/integration/harness/temp_dir.h"

using namespace std::chrono_literals;
namespace harness = remora::harness;
using harness::BackendProcess;
using harness::ControlPlaneProcess;
using harness::ProxyProcess;

namespace {

std::unique_ptr<ProxyProcess> startRedirectSidecar(ControlPlaneProcess& cp, const std::string& app_port) {
  harness::ProxyOptions options;
  options.bootstrap_yaml = harness::adsBootstrap(
      cp.xdsPort(),
      "{id: web-1, cluster: web, metadata: {REMORA_SERVICE: web, REMORA_NAMESPACE: default, "
      "INTERCEPTION_MODE: REDIRECT, OUTBOUND_ADDRESS: '127.0.0.1:0', INBOUND_ADDRESS: '127.0.0.1:0', "
      "POD_IP: 127.0.0.1, APP_PORTS: '" + app_port + "'}}");
  auto proxy = ProxyProcess::start(options);
  INFO((proxy ? std::string() : proxy.error().message));
  REQUIRE(proxy);
  auto ready = (*proxy)->waitReady();
  INFO((*proxy)->logs());
  REQUIRE(ready);
  return std::move(*proxy);
}

harness::CommandResult remoractl(ControlPlaneProcess& cp, std::vector<std::string> args) {
  std::vector<std::string> command = {harness::binaryPath("remoractl"), "--server", cp.apiUrl()};
  command.insert(command.end(), args.begin(), args.end());
  return harness::run(command, 10s);
}

bool eventually(const std::function<bool()>& done, std::chrono::milliseconds within) {
  const auto deadline = std::chrono::steady_clock::now() + within;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return done();
}

}  // namespace

TEST_CASE("a REDIRECT sidecar ACKs remora-cp's interception config and routes a VIP authority",
          "[integration][cp][interception]") {
  auto policy = GENERATE(as<std::string>{}, "allow-any", "registry-only");
  INFO("--outbound-traffic-policy " << policy);
  auto cp = ControlPlaneProcess::start({.extra_args = {"--outbound-traffic-policy", policy}});
  REQUIRE(cp);
  auto app = BackendProcess::httpEcho();
  REQUIRE(app);
  harness::TempDir dir("interception");
  const std::string file = dir.file("mesh.yaml");
  // reviews: HTTP with a VIP; db: TCP with a VIP and an IPv6 one (prefix ranges).
  REQUIRE(harness::writeFile(file, R"(kind: Service
metadata: {name: reviews}
spec: {ports: [{port: 9080}], addresses: [10.96.0.20]}
---
kind: Endpoint
metadata: {name: reviews-1}
spec: {service: reviews, address: 127.0.0.1, port: )" + std::to_string(app->port()) + R"(}
---
kind: Service
metadata: {name: db}
spec: {ports: [{port: 5432, protocol: TCP}], addresses: [10.96.0.40, 'fd00:96::40']}
)"));
  auto applied = remoractl(**cp, {"apply", "-f", file});
  INFO(applied.describe());
  REQUIRE(applied.exit_code == 0);

  auto web = startRedirectSidecar(**cp, "18080");
  INFO(web->logs());
  auto outbound = web->listenerAddress("outbound");
  REQUIRE(outbound);

  // The VIP authority routes to the service (an HTTP request sniffed on the
  // "http" chain); it proves the listener, routes and clusters were taken.
  auto answered = eventually(
      [&] {
        harness::HttpRequest request;
        request.path = "/echo";
        request.host = "10.96.0.20:9080";
        auto response = harness::httpRequest(*outbound, request, 5s);
        return response && response->status == 200;
      },
      5s);
  CHECK(answered);

  // Every type ACKed, none NACKed.
  harness::CommandResult status;
  const bool acked = eventually(
      [&] {
        status = remoractl(**cp, {"proxy-status"});
        return status.exit_code == 0 && status.stdout_text.find("web-1") != std::string::npos &&
               status.stdout_text.find("ACKED") != std::string::npos &&
               status.stdout_text.find("NACKED") == std::string::npos &&
               status.stdout_text.find("STALE") == std::string::npos;
      },
      5s);
  INFO(status.describe());
  CHECK(acked);

  // A host outside the mesh takes the passthrough virtual host.
  harness::HttpRequest outside;
  outside.path = "/";
  outside.host = "example.invalid";
  auto response = harness::httpRequest(*outbound, outside, 5s);
  REQUIRE(response);
  CHECK(response->status == 502);
  if (policy == "registry-only") {
    CHECK(response->body.find("not a service in the mesh registry") != std::string::npos);
  }
}
