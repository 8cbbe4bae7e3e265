// The whole control plane with real sidecars: remora-cp (SQLite in a temp
// dir), remora-proxy sidecars configured by it over ADS, Python backends as
// the apps, and remoractl as the operator. What remoractl applies changes
// how requests flow within a second; what it deletes stops flowing; a
// sidecar that connects is an endpoint of its service until it leaves.
#include <catch2/catch.hpp>

#include <csignal>
#include <chrono>
#include <map>
#include <optional>
#include <regex>
#include <thread>

#include "tests/integration/harness/backend_process.h"
#include "tests/integration/harness/control_plane_process.h"
#include "tests/integration/harness/http_client.h"
#include "tests/integration/harness/mesh_probe.h"
#include "tests/integration/harness/paths.h"
#include "tests/integration/harness/proxy_process.h"
#include "tests/integration/harness/temp_dir.h"

using namespace std::chrono_literals;
namespace harness = remora::harness;
using harness::BackendProcess;
using harness::ControlPlaneProcess;
using harness::ProxyProcess;

namespace {

using Clock = std::chrono::steady_clock;

// A sidecar of `service` talking to remora-cp; both listeners on 127.0.0.1
// port 0, since several sidecars share this host without interception.
std::string sidecarBootstrap(uint16_t xds_port, const std::string& node_id, const std::string& service,
                             const std::string& app_ports) {
  std::string metadata = "REMORA_SERVICE: " + service +
                         ", REMORA_NAMESPACE: default, OUTBOUND_ADDRESS: '127.0.0.1:0', INBOUND_ADDRESS: '127.0.0.1:0'";
  if (!app_ports.empty()) metadata += ", POD_IP: 127.0.0.1, APP_PORTS: '" + app_ports + "'";
  return harness::adsBootstrap(xds_port, "{id: " + node_id + ", cluster: " + service + ", metadata: {" + metadata + "}}");
}

std::unique_ptr<ProxyProcess> startSidecar(ControlPlaneProcess& cp, const std::string& node_id,
                                           const std::string& service, const std::string& app_ports = "") {
  harness::ProxyOptions options;
  options.bootstrap_yaml = sidecarBootstrap(cp.xdsPort(), node_id, service, app_ports);
  auto proxy = ProxyProcess::start(options);
  INFO((proxy ? std::string() : proxy.error().message));
  REQUIRE(proxy);
  auto ready = (*proxy)->waitReady();
  INFO((*proxy)->logs());
  REQUIRE(ready);
  return std::move(*proxy);
}

using harness::remoractl;

void apply(ControlPlaneProcess& cp, harness::TempDir& dir, const std::string& yaml) {
  const std::string file = dir.file("apply.yaml");
  REQUIRE(harness::writeFile(file, yaml));
  auto result = remoractl(cp, {"apply", "-f", file});
  INFO(result.describe());
  REQUIRE(result.exit_code == 0);
}

// Which backend port answered a request for `host` through the sidecar's
// outbound listener; 0 when no backend did (the status is in `status`).
int askVia(const std::string& outbound, const std::string& host, int* status = nullptr) {
  return harness::echoPortVia(outbound, host, status);
}

// Asks until `done` holds for `in_a_row` answers in a row, for at most
// `within`; returns how long it took, or nullopt.
std::optional<std::chrono::milliseconds> until(const std::function<bool()>& done, std::chrono::milliseconds within,
                                               int in_a_row = 5) {
  return harness::pollUntil(done, within, in_a_row, 5ms);
}

}  // namespace

TEST_CASE("what remoractl applies changes how traffic flows within a second, and what it deletes stops it",
          "[integration][cp]") {
  auto cp = ControlPlaneProcess::start();
  INFO((cp ? std::string() : cp.error().message));
  REQUIRE(cp);
  auto v1 = BackendProcess::httpEcho();
  auto v2 = BackendProcess::httpEcho();
  REQUIRE(v1);
  REQUIRE(v2);
  auto web = startSidecar(**cp, "web-1", "web");
  auto outbound = web->listenerAddress("outbound");
  REQUIRE(outbound);
  harness::TempDir dir("remoractl");
  const int p1 = v1->port();
  const int p2 = v2->port();

  // Nothing is routed to reviews yet.
  int status = 0;
  CHECK(askVia(*outbound, "reviews:9080", &status) == 0);
  CHECK(status == 404);

  apply(**cp, dir, R"(kind: Service
metadata: {name: reviews}
spec: {ports: [{port: 9080, protocol: HTTP}]}
---
kind: Endpoint
metadata: {name: reviews-v1}
spec: {service: reviews, address: 127.0.0.1, port: )" + std::to_string(p1) + R"(, labels: {version: v1}}
---
kind: Endpoint
metadata: {name: reviews-v2}
spec: {service: reviews, address: 127.0.0.1, port: )" + std::to_string(p2) + R"(, labels: {version: v2}}
)");
  auto routed = until([&] { return askVia(*outbound, "reviews:9080") != 0; }, 1s, 1);
  INFO(web->logs());
  REQUIRE(routed);
  std::map<int, int> seen;
  for (int i = 0; i < 20; ++i) ++seen[askVia(*outbound, "reviews:9080")];
  CHECK(seen[p1] > 0);
  CHECK(seen[p2] > 0);
  CHECK(seen[0] == 0);

  // A RouteRule sends everything to v2.
  apply(**cp, dir, R"(kind: RouteRule
metadata: {name: reviews-canary}
spec: {service: reviews, routes: [{split: [{version: v2, weight: 100}]}]}
)");
  auto to_v2 = until([&] { return askVia(*outbound, "reviews:9080") == p2; }, 1s, 10);
  CHECK(to_v2);

  // Deleting it spreads the traffic again.
  auto deleted = remoractl(**cp, {"delete", "routerule", "reviews-canary"});
  INFO(deleted.describe());
  REQUIRE(deleted.exit_code == 0);
  auto spread = until([&] { return askVia(*outbound, "reviews:9080") == p1; }, 1s, 1);
  CHECK(spread);

  // Deleting the service removes its route.
  REQUIRE(remoractl(**cp, {"delete", "service", "reviews"}).exit_code == 0);
  auto gone = until(
      [&] {
        int s = 0;
        askVia(*outbound, "reviews:9080", &s);
        return s == 404;
      },
      1s, 3);
  CHECK(gone);
}

// remora-cp with `grace` as --endpoint-grace-period, web's sidecar (the
// caller), and a ratings Service whose target port is an echo app's.
struct RatingsMesh {
  std::unique_ptr<ControlPlaneProcess> cp;
  std::optional<BackendProcess> app;
  std::unique_ptr<ProxyProcess> web;
  std::string outbound;

  explicit RatingsMesh(const std::string& grace) {
    auto started = ControlPlaneProcess::start({.extra_args = {"--endpoint-grace-period", grace}});
    REQUIRE(started);
    cp = std::move(*started);
    auto echo = BackendProcess::httpEcho();
    REQUIRE(echo);
    app.emplace(std::move(*echo));
    web = startSidecar(*cp, "web-1", "web");
    auto address = web->listenerAddress("outbound");
    REQUIRE(address);
    outbound = *address;
    harness::TempDir dir("remoractl");
    apply(*cp, dir, R"(kind: Service
metadata: {name: ratings}
spec: {ports: [{port: 8000, targetPort: )" + std::to_string(app->port()) + R"(}]}
)");
  }
  // The ratings pod's sidecar, announcing the app's port.
  std::unique_ptr<ProxyProcess> startRatings() {
    return startSidecar(*cp, "ratings-1", "ratings", std::to_string(app->port()));
  }
  bool refused() {
    int s = 0;
    askVia(outbound, "ratings:8000", &s);
    return s == 503;
  }
};

TEST_CASE("a sidecar is an endpoint of its service while connected, and for a grace period after",
          "[integration][cp]") {
  RatingsMesh mesh("1s");
  // No endpoint yet: the route exists, no host does.
  REQUIRE(until([&] { return mesh.refused(); }, 2s, 1));

  // The ratings pod's sidecar connects and announces its app port.
  auto ratings = mesh.startRatings();
  auto reachable = until([&] { return askVia(mesh.outbound, "ratings:8000") == mesh.app->port(); }, 1s, 3);
  INFO(mesh.web->logs());
  CHECK(reachable);

  auto status = remoractl(*mesh.cp, {"proxy-status", "-o", "json"});
  INFO(status.describe());
  CHECK(status.exit_code == 0);
  CHECK(status.stdout_text.find("ratings-1") != std::string::npos);
  CHECK(status.stdout_text.find("web-1") != std::string::npos);

  // Its link breaks (SIGKILL: no goodbye): the endpoint stays for the grace
  // period, then goes.
  REQUIRE(ratings->process().signal(SIGKILL));
  REQUIRE(ratings->process().waitExit(5s));
  const auto left = Clock::now();
  CHECK(askVia(mesh.outbound, "ratings:8000") == mesh.app->port());
  REQUIRE(until([&] { return mesh.refused(); }, 5s, 3));
  CHECK(Clock::now() - left >= 900ms);
}

TEST_CASE("a sidecar that shuts down says goodbye and is withdrawn without a grace period", "[integration][cp]") {
  // A grace period far longer than the test: only the goodbye can remove it.
  RatingsMesh mesh("10m");
  auto ratings = mesh.startRatings();
  REQUIRE(until([&] { return askVia(mesh.outbound, "ratings:8000") == mesh.app->port(); }, 1s, 3));

  // SIGTERM: the sidecar drains (it still runs for its drain time) and
  // half-closes its ADS stream; remora-cp withdraws its endpoint at once.
  REQUIRE(ratings->process().signal(SIGTERM));
  auto removed = until([&] { return mesh.refused(); }, 5s, 1);
  INFO(ratings->logs() << mesh.cp->logs());
  CHECK(removed);
}
