// RouteExplainer over a snapshot built from a real bootstrap: matched routes
// (by prefix, by header), an unknown authority, a virtual host without a
// matching route, a direct response, and a cluster whose hosts HostHealth has
// all ejected after the outcomes a worker would report.
#include "proxy/main/route_explainer.h"

#include <catch2/catch.hpp>

#include "proxy/config/bootstrap_loader.h"
#include "proxy/main/admin_handlers.h"
#include "tests/unit/upstream/strict_loop_fixture.h"

using remora::config::ConfigFormat;
using remora::server::ExplainQuery;
using remora::server::RouteExplainer;
using remora::testing::StrictLoopFixture;
namespace server = remora::server;

namespace {

const char* kBootstrap = R"(
static_resources:
  listeners:
  - name: ingress
    address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: ingress
          route_config:
            name: shop_routes
            virtual_hosts:
            - name: shop
              domains: ["shop.local", "*.shop.local"]
              routes:
              - name: api-v2
                match: { prefix: "/api", headers: [{ name: x-version, exact_match: v2 }] }
                route: { cluster: catalog-v2 }
              - name: api
                match: { prefix: "/api" }
                route:
                  cluster: catalog
                  timeout: 3s
                  retry_policy: { retry_on: "5xx,connect-failure", num_retries: 2 }
              - name: health
                match: { path: "/health" }
                direct_response: { status: 200, body: { inline_string: "ok" } }
          http_filters:
          - name: envoy.filters.http.router
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
  clusters:
  - name: catalog
    type: STATIC
    connect_timeout: 1s
    common_lb_config: { healthy_panic_threshold: { value: 0 } }
    outlier_detection:
      consecutive_gateway_failure: 2
      enforcing_consecutive_gateway_failure: 100
      max_ejection_percent: 100
      interval: 10s
      base_ejection_time: 60s
    load_assignment:
      cluster_name: catalog
      endpoints:
      - lb_endpoints:
        - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: 9001 } } }
        - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: 9002 } } }
        - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: 9003 } } }
  - name: catalog-v2
    type: STATIC
    connect_timeout: 1s
    load_assignment:
      cluster_name: catalog-v2
      endpoints:
      - lb_endpoints:
        - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: 9100 } } }
)";

std::shared_ptr<const remora::config::Snapshot> snapshot() {
  auto loaded = remora::config::loadBootstrapString(kBootstrap, ConfigFormat::kYaml, "explain.yaml");
  INFO((loaded ? std::string() : loaded.error().message));
  REQUIRE(loaded);
  auto bootstrap = std::make_shared<const remora::xds::resources::Bootstrap>(std::move(loaded->bootstrap));
  auto built = remora::config::buildSnapshot(bootstrap, 1);
  INFO((built ? std::string() : built.error().message));
  REQUIRE(built);
  return *built;
}

ExplainQuery query(std::string authority, std::string path) {
  ExplainQuery q;
  q.authority = std::move(authority);
  q.path = std::move(path);
  return q;
}

}  // namespace

TEST_CASE("explain names the virtual host, the route rule and the cluster a request would get", "[admin][explain]") {
  auto s = snapshot();
  RouteExplainer explainer(*s, nullptr, nullptr);
  auto r = explainer.explain(query("shop.local:8080", "/api/items?page=2"));
  INFO(r.json);
  CHECK(r.status == 200);
  CHECK(r.text == "listener 'ingress' chain '0': would route to cluster 'catalog': 3 of 3 endpoints available; matched by "
                  "virtual host 'shop' (exact domain 'shop.local'), route 'api' (prefix '/api')\n");
  CHECK_THAT(r.json, Catch::Contains(R"("matched_domain":"shop.local","domain_match":"exact domain")"));
  // The first route was tried and skipped for its header rule.
  CHECK_THAT(r.json, Catch::Contains(R"({"index":0,"name":"api-v2","matched":false,"reason":"header 'x-version' is absent"})"));
  CHECK_THAT(r.json, Catch::Contains(R"("retry_policy":{"retry_on":["5xx","connect-failure"],"num_retries":2)"));
  CHECK_THAT(r.json, Catch::Contains(R"("timeout_ms":3000)"));
  CHECK_THAT(r.json, Catch::Contains(R"("lb_policy":"ROUND_ROBIN")"));
  CHECK_THAT(r.json, Catch::Contains(R"("consecutive_gateway_failure":2)"));
  CHECK_THAT(r.json, Catch::Contains(R"("available":3,"total":3,"verdict":"route")"));
}

TEST_CASE("explain follows header matches and wildcard domains", "[admin][explain]") {
  auto s = snapshot();
  RouteExplainer explainer(*s, nullptr, nullptr);
  ExplainQuery q = query("eu.shop.local", "/api");
  q.headers = {{"x-version", "v2"}};
  auto r = explainer.explain(q);
  INFO(r.json);
  CHECK_THAT(r.text, Catch::Contains("would route to cluster 'catalog-v2': 1 of 1 endpoint available"));
  CHECK_THAT(r.text, Catch::Contains("suffix wildcard '*.shop.local'"));
  CHECK_THAT(r.text, Catch::Contains("route 'api-v2' (prefix '/api' and header 'x-version' exact 'v2')"));
}

TEST_CASE("explain of an unknown authority lists the domains that exist", "[admin][explain]") {
  auto s = snapshot();
  RouteExplainer explainer(*s, nullptr, nullptr);
  auto r = explainer.explain(query("billing.local", "/"));
  INFO(r.json);
  CHECK(r.status == 200);
  CHECK_THAT(r.text, Catch::Contains("would get 404: no virtual host for authority 'billing.local' (domains: "
                                     "shop.local, *.shop.local)"));
  CHECK_THAT(r.json, Catch::Contains(R"("virtual_host":null,"domains":["shop.local","*.shop.local"])"));
  CHECK_THAT(r.json, Catch::Contains(R"("verdict":"no_virtual_host")"));
}

TEST_CASE("explain of a path no route takes names the virtual host, and a direct response is named",
          "[admin][explain]") {
  auto s = snapshot();
  RouteExplainer explainer(*s, nullptr, nullptr);
  auto miss = explainer.explain(query("shop.local", "/cart"));
  INFO(miss.json);
  CHECK_THAT(miss.text, Catch::Contains("would get 404: no route in virtual host 'shop' for path '/cart'"));
  CHECK_THAT(miss.json, Catch::Contains(R"("reason":"path '/cart' is not '/health'")"));
  auto direct = explainer.explain(query("shop.local", "/health"));
  INFO(direct.json);
  CHECK_THAT(direct.text, Catch::Contains("would get a direct response 200 from virtual host 'shop'"));
  CHECK_THAT(direct.json, Catch::Contains(R"("verdict":"direct_response")"));
}

TEST_CASE("explain of an unknown listener is a 404 naming the HTTP listeners", "[admin][explain]") {
  auto s = snapshot();
  RouteExplainer explainer(*s, nullptr, nullptr);
  ExplainQuery q = query("shop.local", "/");
  q.listener = "egress";
  auto r = explainer.explain(q);
  CHECK(r.status == 404);
  CHECK_THAT(r.json, Catch::Contains("no HTTP listener named 'egress' (HTTP listeners: ingress)"));
}

TEST_CASE_METHOD(StrictLoopFixture, "explain says a cluster whose endpoints are all ejected would fail, and why",
                 "[admin][explain]") {
  auto s = snapshot();
  remora::observability::StatsRegistry stats;
  auto families = server::declareProxyFamilies(stats);
  REQUIRE(families);
  {
    server::HostHealth health(dispatcher(), stats.mainStats(), *families,
                              [](const std::string&, const std::string&, remora::upstream::HostHealthFlag, bool) {});
    health.update(*s);
    const auto& catalog = s->clusters[0];
    REQUIRE(catalog->name == "catalog");
    std::vector<server::OutcomeRecord> batch;
    for (uint16_t port : {9001, 9002, 9003}) {
      auto address = remora::net::Address::fromIpPort("127.0.0.1", port);
      REQUIRE(address);
      for (int i = 0; i < 2; ++i) batch.push_back({catalog, *address, remora::upstream::HostOutcome::kGatewayFailure});
    }
    health.record(std::move(batch));
    std::map<std::string, double, std::less<>> active{{"catalog", 4}};
    RouteExplainer explainer(*s, &health, &active);
    auto r = explainer.explain(query("shop.local", "/api"));
    INFO(r.json);
    CHECK_THAT(r.text, Catch::StartsWith("listener 'ingress' chain '0': would fail: no healthy upstream (all 3 "
                                         "endpoints ejected: 2 consecutive gateway failures"));
    CHECK_THAT(r.json, Catch::Contains(R"("verdict":"no_healthy_upstream")"));
    CHECK_THAT(r.json, Catch::Contains(R"("flags":["outlier_ejected"],"ejected_until":")"));
    CHECK_THAT(r.json, Catch::Contains(R"("active_requests":4)"));
    CHECK_THAT(r.json, Catch::Contains(R"("available":0,"total":3)"));
    // /clusters shows the same hosts with the current interval's outcomes
    // still pending: no complete interval yet, so no success rate.
    const std::string clusters = health.clustersJson(*s);
    CHECK_THAT(clusters, Catch::Contains(R"("success_rate":null,"requests_last_interval":0)"));
  }
  runFor(std::chrono::milliseconds(5));
}

TEST_CASE("parseExplainQuery requires an authority and reads headers as name:value items", "[admin][explain]") {
  CHECK_FALSE(server::parseExplainQuery({{"path", "/x"}}));
  auto q = server::parseExplainQuery(
      {{"authority", "a.local"}, {"path", "x"}, {"method", "post"}, {"headers", "X-User: alice;x-v:1:2;"}});
  REQUIRE(q);
  CHECK(q->path == "/x");
  CHECK(q->method == "POST");
  REQUIRE(q->headers.size() == 2);
  CHECK(q->headers[0] == std::pair<std::string, std::string>{"x-user", "alice"});
  CHECK(q->headers[1] == std::pair<std::string, std::string>{"x-v", "1:2"});
  auto bad = server::parseExplainQuery({{"authority", "a"}, {"headers", "novalue"}});
  REQUIRE_FALSE(bad);
  CHECK_THAT(bad.error().message, Catch::Contains("'novalue' is not name:value"));
}

TEST_CASE("parseLogLevel accepts spdlog's level names and refuses others with the list", "[admin][logging]") {
  CHECK(server::parseLogLevel("debug").value() == 1);
  CHECK(server::parseLogLevel("warning").value() == server::parseLogLevel("warn").value());
  CHECK(server::parseLogLevel("off"));
  auto bad = server::parseLogLevel("loud");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message == "unknown log level 'loud': use trace, debug, info, warn, error, critical or off");
}
