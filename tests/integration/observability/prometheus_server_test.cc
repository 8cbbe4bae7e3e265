// Issue 7's scrape acceptance: a real Prometheus server (Debian's
// /usr/bin/prometheus) scrapes a running proxy — its scrape-only port and its
// admin /stats/prometheus — every second, reports both targets up, and
// returns the request counter through its query API. Answers are read with
// nlohmann-json, independent of anything in Remora.
#include <catch2/catch.hpp>

#include <cctype>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <thread>

#include "tests/integration/harness/http_client.h"
#include "tests/integration/observability/obs_fixture.h"

using namespace remora;
using namespace std::chrono_literals;
using obstest::MeshFixture;

namespace {

struct PrometheusServer {
  std::unique_ptr<harness::Process> process;
  std::string address;  // "127.0.0.1:port"
};

std::string prometheusConfig(const std::string& scrape_target, const std::string& admin_target) {
  return "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n"
         "scrape_configs:\n"
         "  - job_name: remora-scrape-port\n    metrics_path: /metrics\n"
         "    static_configs:\n      - targets: [\"" + scrape_target + "\"]\n"
         "  - job_name: remora-admin\n    metrics_path: /stats/prometheus\n"
         "    static_configs:\n      - targets: [\"" + admin_target + "\"]\n";
}

// Prometheus cannot bind port 0 and tell us the port: pick a free one, and
// try another if it was taken meanwhile (Prometheus then exits at once).
PrometheusServer startPrometheus(const harness::TempDir& dir, const std::string& config) {
  const std::string config_path = dir.file("prometheus.yml");
  REQUIRE(harness::writeFile(config_path, config));
  auto check = harness::run({"promtool", "check", "config", config_path}, 30s);
  INFO(check.describe());
  REQUIRE(check.exit_code == 0);
  std::string failures;
  for (int attempt = 0; attempt < 5; ++attempt) {
    const std::string address = "127.0.0.1:" + std::to_string(obstest::pickFreePort());
    const std::string data = dir.file("tsdb-" + std::to_string(attempt));
    harness::ProcessOptions o;
    o.args = {"/usr/bin/prometheus", "--config.file=" + config_path, "--storage.tsdb.path=" + data,
              "--web.listen-address=" + address, "--log.level=warn"};
    o.output_dir = dir.path();
    o.name = "prometheus-" + std::to_string(attempt);
    auto p = harness::Process::start(o);
    REQUIRE(p);
    auto process = std::make_unique<harness::Process>(std::move(*p));
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (std::chrono::steady_clock::now() < deadline && process->running()) {
      auto ready = harness::httpGet(address, "/-/ready", 2s);
      if (ready && ready->status == 200) return PrometheusServer{std::move(process), address};
      std::this_thread::sleep_for(100ms);
    }
    failures += "attempt " + std::to_string(attempt) + " on " + address + ": " + process->readStderr() + "\n";
    process->stop();
  }
  FAIL("Prometheus did not start:\n" << failures);
  return {};
}

nlohmann::json apiGet(const PrometheusServer& prom, const std::string& path) {
  auto r = harness::httpGet(prom.address, path, 5s);
  REQUIRE(r);
  INFO(path << ": " << r->status << " " << r->body);
  REQUIRE(r->status == 200);
  auto doc = nlohmann::json::parse(r->body, nullptr, /*allow_exceptions=*/false);
  REQUIRE(!doc.is_discarded());
  REQUIRE(doc.value("status", "") == "success");
  return doc;
}

// True when every active target reports health "up" and there are `expected`.
bool targetsUp(const PrometheusServer& prom, size_t expected, std::string& seen) {
  auto doc = apiGet(prom, "/api/v1/targets?state=active");
  seen = doc.dump();
  const auto& targets = doc["data"]["activeTargets"];
  if (targets.size() != expected) return false;
  for (const auto& t : targets) {
    if (t.value("health", "") != "up") return false;
  }
  return true;
}

// The query's single value, or -1 while Prometheus has none.
double queryValue(const PrometheusServer& prom, const std::string& query, std::string& seen) {
  std::string encoded;
  for (char c : query) {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '_') {
      encoded += c;
    } else {
      char buf[4];
      std::snprintf(buf, sizeof(buf), "%%%02X", static_cast<unsigned char>(c));
      encoded += buf;
    }
  }
  auto doc = apiGet(prom, "/api/v1/query?query=" + encoded);
  seen = doc.dump();
  const auto& result = doc["data"]["result"];
  if (!result.is_array() || result.empty()) return -1;
  return std::stod(result[0]["value"][1].get<std::string>());
}

}  // namespace

TEST_CASE("a real Prometheus scrapes the proxy's scrape port and admin port and returns the request counter",
          "[integration][observability][prometheus]") {
  MeshFixture fx;
  constexpr size_t kRequests = 25;
  REQUIRE(fx.sendMany("/through/prometheus-", kRequests) == kRequests);

  harness::TempDir dir("remora-prometheus");
  PrometheusServer prom = startPrometheus(dir, prometheusConfig(fx.scrape_address, fx.proxy->adminAddress()));

  std::string seen;
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  bool up = false;
  while (!up && std::chrono::steady_clock::now() < deadline) {
    up = targetsUp(prom, 2, seen);
    if (!up) std::this_thread::sleep_for(250ms);
  }
  INFO("targets: " << seen);
  REQUIRE(up);

  // Both jobs carry the counter; each must reach what was sent.
  for (const char* job : {"remora-scrape-port", "remora-admin"}) {
    const std::string query =
        std::string("sum(remora_downstream_requests_total{job=\"") + job + "\",listener=\"ingress\"})";
    double value = -1;
    while (std::chrono::steady_clock::now() < deadline + 15s) {
      value = queryValue(prom, query, seen);
      if (value >= static_cast<double>(kRequests)) break;
      std::this_thread::sleep_for(250ms);
    }
    INFO(job << ": " << seen);
    CHECK(value >= static_cast<double>(kRequests));
  }
  // A histogram is queryable as one (its buckets carry le).
  const double buckets = queryValue(prom, "count(remora_upstream_attempt_duration_seconds_bucket{job=\"remora-admin\"})", seen);
  INFO(seen);
  CHECK(buckets >= 1);
  prom.process->stop();
  fx.checkCleanExit();
}
