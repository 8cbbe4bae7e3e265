// The admin endpoints that answer "why": /explain for a matched route, an
// unknown authority and a cluster whose endpoints are all ejected — each
// checked against what the proxy really does with the same request — plus
// /logging, /live, /clusters' new fields, and the scrape-only port that
// serves metrics and nothing else.
#include <catch2/catch.hpp>

#include <thread>

#include "tests/integration/harness/http_client.h"
#include "tests/integration/observability/obs_fixture.h"

using namespace remora;
using namespace std::chrono_literals;
using obstest::MeshFixture;

namespace {

std::string explainPath(const std::string& authority, const std::string& path) {
  return "/explain?authority=" + authority + "&path=" + path + "&method=GET";
}

// Sends requests to /dead until /clusters shows both dead endpoints ejected.
void ejectDeadHosts(MeshFixture& fx) {
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (std::chrono::steady_clock::now() < deadline) {
    const auto clusters = fx.admin("/clusters").body;
    size_t ejected = 0;
    for (size_t at = clusters.find("outlier_ejected"); at != std::string::npos;
         at = clusters.find("outlier_ejected", at + 1)) {
      ++ejected;
    }
    if (ejected == fx.dead_endpoints.size()) return;
    auto r = fx.send("shop.local", "/dead/x");
    CHECK(r.status == 503);
    std::this_thread::sleep_for(20ms);
  }
  FAIL("the dead endpoints were not ejected within 20 s: " << fx.admin("/clusters").body);
}

}  // namespace

TEST_CASE("/explain names the route and cluster a served request takes", "[integration][observability][explain]") {
  MeshFixture fx;
  auto served = fx.send("shop.local", "/catalog/items");
  REQUIRE(served.status == 200);
  CHECK(served.header("x-served-by") == "echo-a");

  auto r = fx.admin(explainPath("shop.local", "/catalog/items"));
  INFO(r.body);
  REQUIRE(r.status == 200);
  CHECK(r.header("content-type") == "application/json");
  CHECK_THAT(r.body, Catch::Contains("would route to cluster 'backend': 1 of 1 endpoint available"));
  CHECK_THAT(r.body, Catch::Contains("route 'default' (prefix '/')"));
  CHECK_THAT(r.body, Catch::Contains(R"("matched_domain":"shop.local")"));
  CHECK_THAT(r.body, Catch::Contains(R"({"index":1,"name":"dead","matched":false,"reason":"path '/catalog/items' does not start with '/dead'"})"));
  CHECK_THAT(r.body, Catch::Contains(R"("address":")" + fx.echo->address() + R"(","weight":1)"));
  // The same answer as one line for people.
  auto text = fx.admin(explainPath("shop.local", "/catalog/items") + "&format=text");
  CHECK_THAT(text.body, Catch::StartsWith("listener 'ingress' chain '0': would route to cluster 'backend'"));
  fx.checkCleanExit();
}

TEST_CASE("/explain of an unknown authority says 404 and lists the domains, as the proxy answers",
          "[integration][observability][explain]") {
  MeshFixture fx;
  auto real = fx.send("billing.local", "/");
  CHECK(real.status == 404);
  auto r = fx.admin(explainPath("billing.local", "/"));
  INFO(r.body);
  REQUIRE(r.status == 200);
  CHECK_THAT(r.body, Catch::Contains("would get 404: no virtual host for authority 'billing.local' (domains: "
                                     "shop.local)"));
  CHECK_THAT(r.body, Catch::Contains(R"("verdict":"no_virtual_host")"));
  // A request /explain cannot describe is refused with the reason.
  auto bad = fx.admin("/explain?path=/");
  CHECK(bad.status == 400);
  CHECK_THAT(bad.body, Catch::Contains("needs authority="));
  fx.checkCleanExit();
}

TEST_CASE("/explain of a service whose endpoints are all ejected says it would fail, and why",
          "[integration][observability][explain]") {
  MeshFixture fx;
  ejectDeadHosts(fx);
  auto real = fx.send("shop.local", "/dead/y");
  CHECK(real.status == 503);
  CHECK(real.header("x-remora-error") == "no_healthy_upstream");

  auto r = fx.admin(explainPath("shop.local", "/dead/y"));
  INFO(r.body);
  REQUIRE(r.status == 200);
  CHECK_THAT(r.body, Catch::Contains("would fail: no healthy upstream (all 2 endpoints ejected: 2 consecutive "));
  CHECK_THAT(r.body, Catch::Contains(R"("verdict":"no_healthy_upstream")"));
  CHECK_THAT(r.body, Catch::Contains(R"("available":0,"total":2)"));
  CHECK_THAT(r.body, Catch::Contains(R"("consecutive_gateway_failure":2)"));
  for (const auto& ep : fx.dead_endpoints) {
    CHECK_THAT(r.body, Catch::Contains(R"("address":")" + ep + R"(","weight":1,"priority":0,"healthy":false,"flags":["outlier_ejected"])"));
  }
  // /clusters: the same state, each cluster's active requests, and a success
  // rate field for the cluster whose outcomes are tallied.
  auto clusters = fx.admin("/clusters");
  INFO(clusters.body);
  CHECK_THAT(clusters.body, Catch::Contains(R"({"name":"dead","active_requests":0,"hosts":[)"));
  CHECK_THAT(clusters.body, Catch::Contains(R"("success_rate":)"));
  fx.checkCleanExit();
}

TEST_CASE("/logging shows the log level, POST changes it, and a bad level is a 400",
          "[integration][observability][logging]") {
  MeshFixture fx;
  auto before = fx.admin("/logging");
  CHECK(before.status == 200);
  CHECK(before.body == "level: info\n");
  auto changed = fx.admin("/logging?level=debug", "POST");
  CHECK(changed.status == 200);
  CHECK(changed.body == "level: debug (was info)\n");
  CHECK(fx.admin("/logging").body == "level: debug\n");
  auto bad = fx.admin("/logging?level=loud", "POST");
  CHECK(bad.status == 400);
  CHECK(bad.body == "unknown log level 'loud': use trace, debug, info, warn, error, critical or off\n");
  CHECK(fx.admin("/logging?level=loud", "PUT").status == 405);
  CHECK(fx.admin("/logging").body == "level: debug\n");
  CHECK(fx.admin("/live").status == 200);
  fx.checkCleanExit();
}

TEST_CASE("the scrape-only port serves /stats/prometheus and /metrics and nothing else",
          "[integration][observability][scrape]") {
  MeshFixture fx;
  REQUIRE(fx.send("shop.local", "/x").status == 200);
  auto metrics = harness::httpGet(fx.scrape_address, "/metrics");
  REQUIRE(metrics);
  CHECK(metrics->status == 200);
  CHECK(metrics->header("content-type") == "text/plain; version=0.0.4; charset=utf-8");
  CHECK_THAT(metrics->body, Catch::Contains("remora_downstream_requests_total{listener=\"ingress\"} 1\n"));
  auto prom = harness::httpGet(fx.scrape_address, "/stats/prometheus");
  REQUIRE(prom);
  CHECK(prom->status == 200);
  CHECK_THAT(prom->body, Catch::Contains("# TYPE remora_downstream_requests_total counter"));
  for (const char* path : {"/", "/ready", "/clusters", "/config_dump", "/explain?authority=shop.local", "/stats",
                           "/logging"}) {
    auto r = harness::httpGet(fx.scrape_address, path);
    REQUIRE(r);
    INFO(path << ": " << r->body);
    CHECK(r->status == 404);
  }
  auto quit = harness::httpPost(fx.scrape_address, "/quitquitquit");
  REQUIRE(quit);
  CHECK(quit->status == 404);
  CHECK(fx.proxy->process().running());
  fx.checkCleanExit();
}

TEST_CASE("/clusters shows a host's requests in flight, summed over the workers",
          "[integration][observability][clusters]") {
  MeshFixture fx;
  const std::string host_key = R"({"address":")" + fx.echo->address() + R"(")";
  // Idle: the host has no request in flight.
  auto idle = fx.admin("/clusters").body;
  INFO(idle);
  REQUIRE(idle.find(host_key) != std::string::npos);
  CHECK(idle.find(R"("active_requests":0)", idle.find(host_key)) != std::string::npos);
  // A slow request holds the host while /clusters is asked.
  std::thread slow([&] { fx.send("shop.local", "/delay/1500"); });
  bool seen = false;
  const auto deadline = std::chrono::steady_clock::now() + 1200ms;
  while (!seen && std::chrono::steady_clock::now() < deadline) {
    const std::string body = fx.admin("/clusters").body;
    const size_t at = body.find(host_key);
    seen = at != std::string::npos && body.find(R"("active_requests":1)", at) < body.find('}', at);
    if (!seen) std::this_thread::sleep_for(20ms);
  }
  slow.join();
  CHECK(seen);
}
