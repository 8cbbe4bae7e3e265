// Issue 7's format acceptance: promtool (Debian's prometheus package) accepts
// the proxy's and the control plane's metrics after traffic, and the checks
// promtool does not make hold too — every histogram series has its +Inf
// bucket, _sum and _count; label names are lower-case; and 10,000 distinct
// request paths add no series (paths are never labels).
#include <catch2/catch.hpp>

#include <fstream>
#include <thread>
#include <set>
#include <string>

#include "tests/integration/harness/control_plane_process.h"
#include "tests/integration/harness/http_client.h"
#include "tests/integration/observability/obs_fixture.h"

using namespace remora;
using namespace std::chrono_literals;
using obstest::MeshFixture;

namespace {

// promtool reads the exposition from stdin; it exits 0 when the text parses
// and prints nothing when no lint rule (naming, units, HELP) is broken.
void checkWithPromtool(const harness::TempDir& dir, const std::string& text, const std::string& what) {
  const std::string path = dir.file(what + ".txt");
  std::ofstream(path) << text;
  auto r = harness::run({"sh", "-c", "promtool check metrics < \"$0\"", path}, 30s);
  INFO(what << ": " << r.describe() << "\n" << text.substr(0, 4000));
  CHECK(r.exit_code == 0);
  CHECK(r.stdout_text.empty());
  CHECK(r.stderr_text.empty());
}

obstest::Exposition parse(const std::string& text) {
  auto e = obstest::parseExposition(text);
  INFO((e ? std::string() : e.error().message));
  REQUIRE(e);
  return *e;
}

void checkExtra(const obstest::Exposition& e) {
  std::string problems;
  for (const auto& p : obstest::extraChecks(e)) problems += p + "\n";
  INFO(problems);
  CHECK(problems.empty());
}

std::string scrape(MeshFixture& fx) {
  auto r = fx.admin("/stats/prometheus");
  REQUIRE(r.status == 200);
  return r.body;
}

}  // namespace

TEST_CASE("promtool accepts the proxy's metrics after traffic, and every histogram is complete",
          "[integration][observability][prometheus]") {
  MeshFixture fx;
  REQUIRE(fx.sendMany("/p/", 20) == 20);
  REQUIRE(fx.send("shop.local", "/health").status == 200);
  REQUIRE(fx.send("billing.local", "/").status == 404);
  REQUIRE(fx.send("shop.local", "/dead/1").status == 503);
  const std::string text = scrape(fx);
  checkWithPromtool(fx.dir, text, "proxy");
  const auto e = parse(text);
  checkExtra(e);
  // Issue 7 asks for latency histograms: at least one family must exist and
  // have observed the traffic above.
  size_t histograms = 0;
  for (const auto& [name, type] : e.types) histograms += type == "histogram" ? 1 : 0;
  CHECK(histograms >= 1);
  // The scrape-only port serves the same families.
  auto same = harness::httpGet(fx.scrape_address, "/metrics");
  REQUIRE(same);
  checkWithPromtool(fx.dir, same->body, "proxy-scrape-port");
  CHECK(parse(same->body).types == e.types);
  fx.checkCleanExit();
}

TEST_CASE("10,000 distinct request paths do not add a single series", "[integration][observability][prometheus]") {
  MeshFixture fx;
  // Every kind of answer once, so every series that traffic creates exists.
  REQUIRE(fx.sendMany("/warm/", 5) == 5);
  REQUIRE(fx.send("shop.local", "/health").status == 200);
  REQUIRE(fx.send("billing.local", "/x").status == 404);
  const auto before = parse(scrape(fx));
  std::set<std::string> before_series;
  for (const auto& s : before.samples) before_series.insert(s.key());

  REQUIRE(fx.sendMany("/unique/path-", 10000) == 10000);

  const auto after = parse(scrape(fx));
  std::set<std::string> after_series;
  for (const auto& s : after.samples) after_series.insert(s.key());
  std::string added;
  for (const auto& k : after_series) {
    if (!before_series.count(k)) added += k + "\n";
  }
  INFO("series added by 10,000 paths:\n" << added.substr(0, 4000));
  CHECK(after_series.size() == before_series.size());
  CHECK(added.empty());
  // And the requests were counted.
  bool counted = false;
  for (const auto& s : after.samples) {
    if (s.name == "remora_downstream_requests_total" && s.labels.at("listener") == "ingress") {
      counted = std::stod(s.value) >= 10007;
    }
  }
  CHECK(counted);
  fx.checkCleanExit();
}

// The value of the sample `key` (Sample::key() form), or -1.
double sampleValue(const obstest::Exposition& e, const std::string& key) {
  for (const auto& s : e.samples) {
    if (s.key() == key) return std::stod(s.value);
  }
  return -1;
}

TEST_CASE("promtool accepts remora-cp's metrics, with pushes to a connected proxy counted and timed",
          "[integration][observability][prometheus]") {
  auto cp = harness::ControlPlaneProcess::start();
  INFO((cp ? std::string() : cp.error().message));
  REQUIRE(cp);
  harness::ProxyOptions po;
  po.bootstrap_yaml = harness::adsBootstrap(
      (*cp)->xdsPort(), "{id: obs-sidecar, cluster: shop, metadata: {REMORA_SERVICE: shop, REMORA_NAMESPACE: default, "
                        "OUTBOUND_ADDRESS: '127.0.0.1:0', INBOUND_ADDRESS: '127.0.0.1:0'}}");
  auto proxy = harness::ProxyProcess::start(po);
  INFO((proxy ? std::string() : proxy.error().message));
  REQUIRE(proxy);
  REQUIRE((*proxy)->waitReady());

  // A store change after the proxy is connected: its push is timed.
  auto created = (*cp)->api("POST", "/api/v1/namespaces/default/services",
                            R"({"kind":"Service","metadata":{"name":"reviews"},"spec":{"ports":[{"name":"http","port":9080}]}})");
  REQUIRE(created);
  INFO(created->body);
  REQUIRE(created->status == 201);

  obstest::Exposition e;
  std::string text;
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (true) {
    auto r = (*cp)->api("GET", "/metrics");
    REQUIRE(r);
    REQUIRE(r->status == 200);
    text = r->body;
    e = parse(text);
    if (sampleValue(e, "remora_cp_xds_push_latency_seconds_count{}") >= 1 ||
        std::chrono::steady_clock::now() > deadline) {
      break;
    }
    std::this_thread::sleep_for(50ms);
  }
  INFO(text);
  harness::TempDir dir("remora-obs-cp");
  checkWithPromtool(dir, text, "remora-cp");
  checkExtra(e);
  CHECK(sampleValue(e, "remora_cp_proxies_connected{}") == 1);
  CHECK(sampleValue(e, "remora_cp_xds_pushes_total{type=\"Cluster\"}") >= 1);
  CHECK(sampleValue(e, "remora_cp_xds_pushes_total{type=\"Listener\"}") >= 1);
  CHECK(sampleValue(e, "remora_cp_xds_push_latency_seconds_count{}") >= 1);
  CHECK(sampleValue(e, "remora_cp_xds_push_latency_seconds_bucket{le=\"+Inf\"}") ==
        sampleValue(e, "remora_cp_xds_push_latency_seconds_count{}"));
  CHECK(sampleValue(e, "remora_cp_api_requests_total{code=\"201\",method=\"POST\"}") == 1);
  CHECK(e.types.at("remora_cp_xds_push_latency_seconds") == "histogram");
  CHECK(e.types.at("remora_cp_xds_nacks_total") == "counter");
  CHECK(e.types.at("remora_cp_xds_pushes_total") == "counter");
}
