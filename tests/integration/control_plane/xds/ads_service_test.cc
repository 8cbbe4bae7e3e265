// remora-proxy configured over ADS by remora-cp's own ADS service
// (control-plane/xds through remora-xds-testserver): listeners, routes,
// clusters and endpoints arrive, traffic flows by them, and a snapshot change
// is pushed, applied and ACKed, as the server's ProxyStatus shows. SotW and
// delta.
#include <signal.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

#include "tests/integration/harness/backend_process.h"
#include "tests/integration/harness/http_client.h"
#include "tests/integration/harness/paths.h"
#include "tests/integration/harness/proxy_process.h"
#include "tests/integration/harness/temp_dir.h"

using namespace std::chrono_literals;
using remora::harness::BackendProcess;
using remora::harness::ProxyOptions;
using remora::harness::ProxyProcess;
using remora::harness::TempDir;
namespace harness = remora::harness;

namespace {

std::string resourcesJson(const std::string& version, uint16_t backend_port, const std::string& tag) {
  return R"({"version":")" + version + R"(","resources":[
 {"@type":"type.googleapis.com/envoy.config.cluster.v3.Cluster","name":"backend","type":"EDS","connect_timeout":"1s","eds_cluster_config":{"eds_config":{"ads":{}}}},
 {"@type":"type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment","cluster_name":"backend","endpoints":[{"lb_endpoints":[{"endpoint":{"address":{"socket_address":{"address":"127.0.0.1","port_value":)" +
         std::to_string(backend_port) + R"(}}}}]}]},
 {"@type":"type.googleapis.com/envoy.config.listener.v3.Listener","name":"in","address":{"socket_address":{"address":"127.0.0.1","port_value":0}},"filter_chains":[{"filters":[{"name":"envoy.filters.network.http_connection_manager","typed_config":{"@type":"type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager","stat_prefix":"in","rds":{"config_source":{"ads":{}},"route_config_name":"r1"},"http_filters":[{"name":"envoy.filters.http.router","typed_config":{"@type":"type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}}]}}]}]},
 {"@type":"type.googleapis.com/envoy.config.route.v3.RouteConfiguration","name":"r1","virtual_hosts":[{"name":"all","domains":["*"],"routes":[{"match":{"prefix":"/"},"route":{"cluster":"backend"},"response_headers_to_add":[{"header":{"key":"x-route-version","value":")" +
         tag + R"("}}]}]}]}
]})";
}

std::string bootstrap(uint16_t xds_port, bool delta) {
  return harness::adsBootstrap(xds_port, "{id: sidecar-1, cluster: reviews, metadata: {REMORA_SERVICE: reviews}}", delta);
}

// Asks the server for its status file until `match` holds (or times out);
// returns the last status seen.
std::string waitForStatus(BackendProcess& server, const std::string& path, const std::function<bool(const std::string&)>& match,
                          std::chrono::milliseconds timeout = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string last;
  while (std::chrono::steady_clock::now() < deadline) {
    REQUIRE(server.process().signal(SIGUSR1));
    std::this_thread::sleep_for(50ms);
    auto text = harness::readFile(path);
    if (text) last = *text;
    if (match(last)) return last;
  }
  return last;
}

void servesAndFollowsSnapshots(bool delta) {
  TempDir dir;
  auto backend = BackendProcess::httpEcho();
  REQUIRE(backend);
  const std::string resources = dir.file("resources.json");
  const std::string status = dir.file("status.json");
  REQUIRE(harness::writeFile(resources, resourcesJson("v1", backend->port(), "1")));
  auto server = BackendProcess::start({harness::binaryPath("remora-xds-testserver"), "--resources", resources,
                                       "--status-file", status},
                                      "xds-testserver");
  INFO((server ? "" : server.error().message));
  REQUIRE(server);

  ProxyOptions o;
  o.bootstrap_yaml = bootstrap(server->port(), delta);
  auto p = ProxyProcess::start(o);
  INFO((p ? "" : p.error().message));
  REQUIRE(p);
  auto& proxy = *p;
  INFO(proxy->logs() << server->process().readStderr());
  REQUIRE(proxy->waitReady(15s));
  auto listener = proxy->listenerAddress("in");
  REQUIRE(listener);
  auto r = harness::httpGet(*listener, "/echo");
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->header("x-route-version") == "1");

  const std::string kRoute = "\"type.googleapis.com/envoy.config.route.v3.RouteConfiguration\":{";
  auto first = waitForStatus(*server, status, [&](const std::string& s) {
    auto at = s.find(kRoute);
    return at != std::string::npos && s.find("\"version_acked\":\"v1\"", at) != std::string::npos;
  });
  INFO(first);
  CHECK_THAT(first, Catch::Contains("\"node_id\":\"sidecar-1\""));
  CHECK_THAT(first, Catch::Contains("\"REMORA_SERVICE\":\"reviews\""));
  CHECK_THAT(first, Catch::Contains(delta ? "\"delta\":true" : "\"delta\":false"));
  CHECK_THAT(first, Catch::Contains("\"version_acked\":\"v1\""));

  // The route changes: the new snapshot is pushed and ACKed, and traffic
  // follows it.
  REQUIRE(harness::writeFile(resources, resourcesJson("v2", backend->port(), "2")));
  REQUIRE(server->process().signal(SIGHUP));
  auto second = waitForStatus(*server, status, [&](const std::string& s) {
    auto at = s.find(kRoute);
    return at != std::string::npos && s.find("\"version_acked\":\"v2\"", at) != std::string::npos &&
           s.find("\"version_acked\":\"v2\"", at) < s.find('}', at);
  });
  INFO(second);
  auto at = second.find(kRoute);
  REQUIRE(at != std::string::npos);
  CHECK(second.find("\"version_acked\":\"v2\"", at) < second.find('}', at));
  auto changed = harness::httpGet(*listener, "/echo");
  REQUIRE(changed);
  CHECK(changed->header("x-route-version") == "2");
  // Only the route changed: the cluster was not sent again.
  const std::string kCluster = "\"type.googleapis.com/envoy.config.cluster.v3.Cluster\":{";
  auto c = second.find(kCluster);
  REQUIRE(c != std::string::npos);
  CHECK(second.find("\"responses\":1", c) < second.find('}', c));
  CHECK(second.find("\"nacks\":0", c) < second.find('}', c));
}

}  // namespace

TEST_CASE("remora-proxy is configured over SotW ADS by remora-cp's xDS service and ACKs a new snapshot",
          "[integration][cp][xds]") {
  servesAndFollowsSnapshots(false);
}

TEST_CASE("remora-proxy is configured over delta ADS by remora-cp's xDS service and ACKs a new snapshot",
          "[integration][cp][xds]") {
  servesAndFollowsSnapshots(true);
}
