// remora-proxy configured over ADS by a management server that is not ours:
// tests/integration/xds_server/server.js, built on @grpc/grpc-js and Envoy's
// official .proto files. Listeners, routes, clusters and endpoints arrive by
// xDS; traffic goes through the proxy by them; bad resources are NACKed while
// the old config keeps serving; pushes and control-plane restarts under load
// lose no request.
#include <catch2/catch.hpp>
#include <chrono>
#include <regex>
#include <thread>

#include "tests/integration/harness/backend_process.h"
#include "tests/integration/harness/http_client.h"
#include "tests/integration/harness/process.h"
#include "tests/integration/harness/raw_connection.h"
#include "tests/integration/harness/proxy_process.h"
#include "tests/integration/harness/temp_dir.h"
#include "tests/integration/harness/xds_server_process.h"

using namespace std::chrono_literals;
using remora::harness::BackendProcess;
using remora::harness::ProxyOptions;
using remora::harness::ProxyProcess;
using remora::harness::TempDir;
using remora::harness::XdsRequest;
using remora::harness::XdsServerProcess;
namespace harness = remora::harness;

namespace {

std::string bootstrap(const XdsServerProcess& xds, bool delta) {
  // A static listener routing to a cluster that arrives by CDS: static and
  // dynamic resources mix.
  return harness::adsBootstrap(xds.xdsPort(),
                               "{id: sidecar-1, cluster: reviews, metadata: {REMORA_SERVICE: reviews, "
                               "REMORA_NAMESPACE: default, POD_IP: 127.0.0.1}}",
                               delta, R"(  listeners:
  - name: static_in
    address: {socket_address: {address: 127.0.0.1, port_value: 0}}
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: static_in
          route_config:
            virtual_hosts: [{name: all, domains: ["*"], routes: [{match: {prefix: "/"}, route: {cluster: backend}}]}]
          http_filters:
          - name: envoy.filters.http.router
            typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router}
)");
}

std::string edsCluster(const std::string& name, int connect_timeout_s = 1) {
  return R"({"@type":"type.googleapis.com/envoy.config.cluster.v3.Cluster","name":")" + name +
         R"(","type":"EDS","connect_timeout":")" + std::to_string(connect_timeout_s) +
         R"(s","eds_cluster_config":{"eds_config":{"ads":{}}}})";
}

std::string assignment(const std::string& cluster, const std::vector<const BackendProcess*>& backends) {
  std::string eps;
  for (const auto* b : backends) {
    if (!eps.empty()) eps += ",";
    eps += R"({"endpoint":{"address":{"socket_address":{"address":"127.0.0.1","port_value":)" +
           std::to_string(b->port()) + "}}}}";
  }
  return R"({"@type":"type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment","cluster_name":")" +
         cluster + R"(","endpoints":[{"lb_endpoints":[)" + eps + "]}]}";
}

std::string rdsListener(const std::string& name, const std::string& route_config, int port = 0) {
  return R"({"@type":"type.googleapis.com/envoy.config.listener.v3.Listener","name":")" + name +
         R"(","address":{"socket_address":{"address":"127.0.0.1","port_value":)" + std::to_string(port) + R"(}},"filter_chains":[{"filters":[{"name":"envoy.filters.network.http_connection_manager","typed_config":{"@type":"type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager","stat_prefix":"in","rds":{"config_source":{"ads":{}},"route_config_name":")" +
         route_config +
         R"("},"http_filters":[{"name":"envoy.filters.http.router","typed_config":{"@type":"type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}}]}}]}]})";
}

// Routes everything to `cluster`, tagging responses with x-route-version.
std::string routeConfig(const std::string& name, const std::string& cluster, const std::string& tag) {
  return R"({"@type":"type.googleapis.com/envoy.config.route.v3.RouteConfiguration","name":")" + name +
         R"(","virtual_hosts":[{"name":"all","domains":["*"],"routes":[{"match":{"prefix":"/"},"route":{"cluster":")" +
         cluster + R"("},"response_headers_to_add":[{"header":{"key":"x-route-version","value":")" + tag +
         R"("}}]}]}]})";
}

std::string array(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) out += (i ? "," : "") + items[i];
  return out + "]";
}

// The server answers SotW ACKs with the version; delta ACKs carry none, so
// for delta any ACK of the type after the push counts.
bool acked(XdsServerProcess& xds, std::string_view type, const std::string& version, bool delta,
           std::chrono::milliseconds timeout = 10s) {
  auto r = xds.waitForRequest(
      [&](const XdsRequest& q) { return q.type_url == type && q.isAck() && (delta || q.version_info == version); },
      timeout);
  return static_cast<bool>(r);
}

// A mesh of two echo backends, the management server and the proxy, with
// listener "in" routing every request to cluster "backend".
struct XdsMesh {
  explicit XdsMesh(bool delta_mode, int concurrency = 1) : delta(delta_mode) {
    auto b1 = BackendProcess::httpEcho();
    auto b2 = BackendProcess::httpEcho();
    REQUIRE(b1);
    REQUIRE(b2);
    be1 = std::make_unique<BackendProcess>(std::move(*b1));
    be2 = std::make_unique<BackendProcess>(std::move(*b2));
    auto server = XdsServerProcess::start(dir);
    INFO((server ? "" : server.error().message));
    REQUIRE(server);
    xds = std::make_unique<XdsServerProcess>(std::move(*server));
    push("clusters", array({edsCluster("backend")}));
    push("endpoints", array({assignment("backend", {be1.get()})}));
    push("listeners", array({rdsListener("in", "r1")}));
    push("routes", array({routeConfig("r1", "backend", "1")}));
    ProxyOptions o;
    o.bootstrap_yaml = bootstrap(*xds, delta);
    o.concurrency = concurrency;
    auto p = ProxyProcess::start(o);
    INFO((p ? "" : p.error().message));
    REQUIRE(p);
    proxy = std::move(*p);
    INFO(proxy->logs());
    REQUIRE(proxy->waitReady(15s));
    auto address = proxy->listenerAddress("in");
    REQUIRE(address);
    listener = *address;
  }

  // Sets a kind and returns the version the server gave it.
  std::string push(std::string_view kind, const std::string& resources) {
    auto v = xds->setResources(kind, resources);
    INFO((v ? "" : v.error().message));
    REQUIRE(v);
    return *v;
  }

  uint64_t stat(const std::string& name) {
    auto v = proxy->stats(name);
    return v ? *v : ~uint64_t{0};
  }

  bool delta;
  TempDir dir;
  std::unique_ptr<BackendProcess> be1;
  std::unique_ptr<BackendProcess> be2;
  std::unique_ptr<XdsServerProcess> xds;
  std::unique_ptr<ProxyProcess> proxy;
  std::string listener;
};

void routesByXds(bool delta) {
  XdsMesh m(delta);
  auto r = harness::httpGet(m.listener, "/echo");
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->header("x-route-version") == "1");

  // The static listener routes to the cluster that came by CDS.
  auto static_in = m.proxy->listenerAddress("static_in");
  REQUIRE(static_in);
  auto via_static = harness::httpGet(*static_in, "/echo");
  REQUIRE(via_static);
  CHECK(via_static->status == 200);

  // The node identity and metadata went in the first request.
  auto streams = m.xds->streamsJson();
  REQUIRE(streams);
  CHECK_THAT(*streams, Catch::Contains("sidecar-1"));
  CHECK_THAT(*streams, Catch::Contains("REMORA_SERVICE"));

  // Endpoints move to the second backend; the first one then goes away, and
  // traffic must not notice.
  m.xds->resetRequests();
  const auto v = m.push("endpoints", array({assignment("backend", {m.be2.get()})}));
  REQUIRE(acked(*m.xds, harness::kXdsEndpointType, v, delta));
  m.be1.reset();
  for (int i = 0; i < 5; ++i) {
    auto again = harness::httpGet(m.listener, "/echo");
    REQUIRE(again);
    CHECK(again->status == 200);
  }

  // A route change applies to the next request.
  m.xds->resetRequests();
  const auto rv = m.push("routes", array({routeConfig("r1", "backend", "2")}));
  REQUIRE(acked(*m.xds, harness::kXdsRouteType, rv, delta));
  auto changed = harness::httpGet(m.listener, "/echo");
  REQUIRE(changed);
  CHECK(changed->header("x-route-version") == "2");

  // /config_dump shows every resource with its version and acceptance time.
  auto dump = m.proxy->admin("GET", "/config_dump");
  REQUIRE(dump);
  CHECK_THAT(dump->body, Catch::Contains("\"last_updated\":\""));
  CHECK_THAT(dump->body, Catch::Contains("\"name\":\"backend\""));
  CHECK_THAT(dump->body, Catch::Contains("\"name\":\"r1\""));
  CHECK_THAT(dump->body, Catch::Contains("\"initialized\":true"));
  CHECK(m.stat("remora_xds_connected") == 1);
  CHECK(m.stat("remora_xds_updates_total{type=\"RouteConfiguration\",result=\"accepted\"}") >= 2);
}

// h2load's summary, for a run of unknown length (-D): every request
// succeeded with a 2xx, and there were some.
void checkAllSucceeded(const harness::Process& load, int exit_code) {
  const std::string out = load.readStdout();
  INFO(out << load.readStderr());
  REQUIRE(exit_code == 0);
  std::smatch m;
  REQUIRE(std::regex_search(out, m, std::regex(R"(requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored)")));
  const long done = std::stol(m[3]);
  CHECK(done > 100);
  CHECK(std::stol(m[4]) == done);
  CHECK(m[5] == "0");
  CHECK(m[6] == "0");
  REQUIRE(std::regex_search(out, m, std::regex(R"(status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx)")));
  // Requests still in flight when -D ends are counted by status but not done.
  CHECK(std::stol(m[1]) >= done);
  CHECK(m[3] == "0");
  CHECK(m[4] == "0");
}

std::unique_ptr<harness::Process> startLoad(const std::string& address, int seconds) {
  harness::ProcessOptions o;
  // 4 connections x 50 requests/s, bounded by time.
  o.args = {"h2load", "--h1", "-c", "4", "--rps", "50", "-D", std::to_string(seconds), "-T", "10",
            "http://" + address + "/echo"};
  auto p = harness::Process::start(o);
  REQUIRE(p);
  return std::make_unique<harness::Process>(std::move(*p));
}

}  // namespace

TEST_CASE("remora-proxy routes by listeners, routes, clusters and endpoints from a real-proto xDS server (SotW)",
          "[integration][xds]") {
  routesByXds(false);
}

TEST_CASE("remora-proxy routes by resources from a real-proto xDS server over delta xDS", "[integration][xds]") {
  routesByXds(true);
}

TEST_CASE("an invalid cluster is NACKed with error_detail while traffic keeps flowing on the old config",
          "[integration][xds]") {
  XdsMesh m(false);
  m.xds->resetRequests();
  auto bad = m.xds->setResources(
      "clusters", R"([{"@type":"type.googleapis.com/envoy.config.cluster.v3.Cluster","name":"backend","type":"EDS",
                      "connect_timeout":"-1s","eds_cluster_config":{"eds_config":{"ads":{}}}}])");
  REQUIRE(bad);
  auto nack = m.xds->waitForRequest([](const XdsRequest& q) { return q.isNack(); }, 10s);
  REQUIRE(nack);
  CHECK(nack->type_url == harness::kXdsClusterType);
  REQUIRE(nack->error_detail);
  CHECK(nack->error_detail->code == 3);
  CHECK_THAT(nack->error_detail->message, Catch::Contains("Cluster 'backend'"));
  CHECK_THAT(nack->error_detail->message, Catch::Contains("connect_timeout"));
  // The NACK names the last version that was accepted.
  CHECK(nack->version_info == "1");

  auto r = harness::httpGet(m.listener, "/echo");
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(m.stat("remora_xds_updates_total{type=\"Cluster\",result=\"rejected\"}") == 1);
  auto dump = m.proxy->admin("GET", "/config_dump");
  REQUIRE(dump);
  CHECK_THAT(dump->body, Catch::Contains("connect_timeout: must not be negative"));

  // Bytes that are no Cluster at all are refused the same way.
  m.xds->resetRequests();
  auto raw = m.xds->setRawResources("clusters", R"([{"value_base64":"////","name":"junk"}])");
  REQUIRE(raw);
  auto nack2 = m.xds->waitForRequest([](const XdsRequest& q) { return q.isNack(); }, 10s);
  REQUIRE(nack2);
  CHECK_THAT(nack2->error_detail->message, Catch::Contains("Cluster"));

  // A good update afterwards is ACKed again.
  m.xds->resetRequests();
  const auto v = m.push("clusters", array({edsCluster("backend", 2)}));
  REQUIRE(acked(*m.xds, harness::kXdsClusterType, v, false));
  auto after = harness::httpGet(m.listener, "/echo");
  REQUIRE(after);
  CHECK(after->status == 200);
}

TEST_CASE("a listener the proxy has no use for is skipped and reported, not a reason to NACK", "[integration][xds]") {
  XdsMesh m(false);
  m.xds->resetRequests();
  const std::string api_listener =
      R"({"@type":"type.googleapis.com/envoy.config.listener.v3.Listener","name":"grpc-api","api_listener":{"api_listener":{"@type":"type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager","stat_prefix":"api","rds":{"config_source":{"ads":{}},"route_config_name":"r1"}}}})";
  const auto v = m.push("listeners", array({rdsListener("in", "r1"), api_listener}));
  REQUIRE(acked(*m.xds, harness::kXdsListenerType, v, false));
  auto dump = m.proxy->admin("GET", "/config_dump");
  REQUIRE(dump);
  CHECK_THAT(dump->body, Catch::Contains("\"name\":\"grpc-api\""));
  CHECK_THAT(dump->body, Catch::Contains("\"skipped\":"));
  auto r = harness::httpGet(m.listener, "/echo");
  REQUIRE(r);
  CHECK(r->status == 200);
}

TEST_CASE("a changed listener keeps its port and drains the connections on its old config, and a removed one closes",
          "[integration][xds]") {
  XdsMesh m(false);
  auto bound = harness::splitHostPort(m.listener);
  REQUIRE(bound);
  const int port = bound->second;
  // The listener is pinned to the port it got, so the change below is not an
  // address change.
  m.xds->resetRequests();
  auto v = m.push("listeners", array({rdsListener("in", "r1", port)}));
  REQUIRE(acked(*m.xds, harness::kXdsListenerType, v, false));
  REQUIRE(m.proxy->listenerAddress("in").value_or("") == m.listener);

  auto conn = harness::RawConnection::connect(m.listener);
  REQUIRE(conn);
  const std::string request = "GET /echo HTTP/1.1\r\nhost: x\r\n\r\n";
  REQUIRE(conn->send(request));
  auto first = conn->readUntil("}\n", 5s);  // the end of /echo's one-line JSON body
  CHECK_THAT(first, Catch::StartsWith("HTTP/1.1 200"));
  CHECK_THAT(first, !Catch::Contains("connection: close"));

  // Another filter chain setting (not only routes): a new generation.
  m.xds->resetRequests();
  std::string changed = rdsListener("in", "r2", port);
  v = m.push("listeners", array({changed}));
  REQUIRE(acked(*m.xds, harness::kXdsListenerType, v, false));
  // r2 has not arrived: the old listener keeps serving while the new one warms.
  auto during = harness::httpGet(m.listener, "/echo");
  REQUIRE(during);
  CHECK(during->header("x-route-version") == "1");
  m.xds->resetRequests();
  v = m.push("routes", array({routeConfig("r1", "backend", "1"), routeConfig("r2", "backend", "2")}));
  REQUIRE(acked(*m.xds, harness::kXdsRouteType, v, false));

  // The old connection is told to close after its next response; a new one
  // on the same port gets the new config.
  REQUIRE(conn->send(request));
  auto second = conn->readUntilClose(5s);
  INFO("first: " << first << "\nsecond: " << second << "\n" << m.proxy->logs());
  CHECK_THAT(second, Catch::StartsWith("HTTP/1.1 200"));
  CHECK_THAT(second, Catch::Contains("connection: close"));
  CHECK(conn->peerClosed());
  auto fresh = harness::httpGet(m.listener, "/echo");
  REQUIRE(fresh);
  CHECK(fresh->header("x-route-version") == "2");

  // Removed: the port closes.
  m.xds->resetRequests();
  v = m.push("listeners", "[]");
  REQUIRE(acked(*m.xds, harness::kXdsListenerType, v, false));
  // The ACK leaves once the main thread has applied the update; the workers
  // close their sockets just after.
  bool refused = false;
  for (int i = 0; i < 40 && !refused; ++i) {
    refused = !harness::RawConnection::connect(m.listener, 2s);
    if (!refused) std::this_thread::sleep_for(50ms);
  }
  CHECK(refused);
}

TEST_CASE("a proxy that never got config is not ready and says why", "[integration][xds]") {
  TempDir dir;
  auto server = XdsServerProcess::start(dir);
  REQUIRE(server);
  ProxyOptions o;
  o.bootstrap_yaml = bootstrap(*server, false);
  auto p = ProxyProcess::start(o);
  REQUIRE(p);
  auto& proxy = *p;
  // The server is up but has nothing to send.
  std::this_thread::sleep_for(500ms);
  auto ready = proxy->admin("GET", "/ready");
  REQUIRE(ready);
  CHECK(ready->status == 503);
  CHECK_THAT(ready->body, Catch::Contains("no Cluster (CDS) response"));
  // Now the control plane goes away: the reason says so.
  server->kill();
  harness::HttpResponse last;
  for (int i = 0; i < 50; ++i) {
    auto r = proxy->admin("GET", "/ready");
    REQUIRE(r);
    last = *r;
    // The first failure is the stream closing; the retries find nobody.
    if (last.body.find("connection refused") != std::string::npos) break;
    std::this_thread::sleep_for(100ms);
  }
  CHECK(last.status == 503);
  CHECK_THAT(last.body, Catch::Contains("control plane unreachable"));
  CHECK_THAT(last.body, Catch::Contains("connection refused"));
  auto age = proxy->stats("remora_xds_connected");
  REQUIRE(age);
  CHECK(*age == 0);
}

TEST_CASE("100 config pushes under steady load fail no request", "[integration][xds][load][tsan]") {
  // Two workers: every push crosses from the main thread to both.
  XdsMesh m(false, 2);
  auto load = startLoad(m.listener, 25);
  const auto deadline = std::chrono::steady_clock::now() + 22s;
  int pushes = 0;
  for (int i = 0; i < 100 && std::chrono::steady_clock::now() < deadline; ++i) {
    std::string kind;
    std::string_view type;
    std::string resources;
    switch (i % 4) {
      case 0:  // an endpoint is added
        kind = "endpoints", type = harness::kXdsEndpointType;
        resources = array({assignment("backend", {m.be1.get(), m.be2.get()})});
        break;
      case 1:  // an endpoint is removed (alternately each of the two)
        kind = "endpoints", type = harness::kXdsEndpointType;
        resources = array({assignment("backend", {(i / 4) % 2 ? m.be1.get() : m.be2.get()})});
        break;
      case 2:  // the route changes
        kind = "routes", type = harness::kXdsRouteType;
        resources = array({routeConfig("r1", "backend", std::to_string(i))});
        break;
      default:  // the cluster is replaced by one with other settings
        kind = "clusters", type = harness::kXdsClusterType;
        resources = array({edsCluster("backend", 1 + (i / 4) % 2)});
        break;
    }
    m.xds->resetRequests();
    const auto v = m.push(kind, resources);
    REQUIRE(acked(*m.xds, type, v, false));
    ++pushes;
  }
  CHECK(pushes == 100);
  auto code = load->waitExit(60s);
  REQUIRE(code);
  // On failure, say which local replies and upstream resets there were.
  std::string why;
  if (auto all = m.proxy->allStats()) {
    for (const auto& [name, value] : *all) {
      if (value != "0" && (name.find("local_replies") != std::string::npos || name.find("resets") != std::string::npos ||
                           name.find("connect_failures") != std::string::npos)) {
        why += name + ": " + value + "\n";
      }
    }
  }
  INFO(why);
  checkAllSucceeded(*load, *code);
  CHECK(m.stat("remora_xds_updates_total{type=\"ClusterLoadAssignment\",result=\"accepted\"}") >= 50);
  // Under TSan (ctest -L tsan) a data race between the main thread and the
  // workers makes the proxy exit with 66.
  auto exit_code = m.proxy->stop();
  INFO(m.proxy->logs());
  REQUIRE(exit_code);
  CHECK(*exit_code == 0);
}

TEST_CASE("killing and restarting the management server under load fails no request, and the proxy resyncs",
          "[integration][xds][load]") {
  XdsMesh m(false);
  auto load = startLoad(m.listener, 12);
  std::this_thread::sleep_for(1s);
  const uint16_t port = m.xds->xdsPort();
  m.xds->kill();
  // The proxy serves on its last good config while it retries.
  std::this_thread::sleep_for(3s);
  CHECK(m.stat("remora_xds_connected") == 0);
  CHECK(m.stat("remora_xds_stream_failures_total") >= 2);
  auto ready = m.proxy->admin("GET", "/ready");
  REQUIRE(ready);
  CHECK(ready->status == 200);
  CHECK_THAT(ready->body, Catch::Contains("serving the last good config"));

  REQUIRE(m.xds->restart());
  REQUIRE(m.xds->xdsPort() == port);
  m.push("clusters", array({edsCluster("backend")}));
  m.push("endpoints", array({assignment("backend", {m.be2.get()})}));
  m.push("listeners", array({rdsListener("in", "r1")}));
  const auto rv = m.push("routes", array({routeConfig("r1", "backend", "after-restart")}));
  REQUIRE(acked(*m.xds, harness::kXdsRouteType, rv, false, 40s));
  CHECK(m.stat("remora_xds_connected") == 1);
  auto r = harness::httpGet(m.listener, "/echo");
  REQUIRE(r);
  CHECK(r->header("x-route-version") == "after-restart");

  auto code = load->waitExit(60s);
  REQUIRE(code);
  checkAllSucceeded(*load, *code);
}
