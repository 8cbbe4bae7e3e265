#include "proxy/observability/prometheus_text.h"

#include <catch2/catch.hpp>

#include <unistd.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "proxy/observability/stats_registry.h"

using remora::observability::escapeHelp;
using remora::observability::escapeLabelValue;
using remora::observability::FamilySnapshot;
using remora::observability::formatValue;
using remora::observability::MetricFamily;
using remora::observability::MetricType;
using remora::observability::renderPrometheusText;
using remora::observability::SeriesSnapshot;
using remora::observability::StatsRegistry;
using remora::observability::StatsSnapshot;

namespace {

// Runs `command` with `input` on stdin; returns the exit status and output.
std::pair<int, std::string> runWithInput(const std::string& command, const std::string& input) {
  char path[] = "/tmp/remora_promtool_XXXXXX";
  int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  close(fd);
  std::ofstream(path) << input;
  std::string full = command + " < " + path + " 2>&1";
  FILE* pipe = popen(full.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::string output;
  std::array<char, 512> chunk{};
  while (fgets(chunk.data(), static_cast<int>(chunk.size()), pipe) != nullptr) output += chunk.data();
  int status = pclose(pipe);
  unlink(path);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

// A registry shaped like the proxy's own metrics, with hostile label values.
std::string renderSample() {
  StatsRegistry registry;
  auto requests = *registry.declareCounter("remora_http_requests", "Requests routed, by cluster.",
                                           {"cluster", "code_class"});
  auto latency = *registry.declareHistogram("remora_http_request_duration_seconds",
                                            "Time from request headers to response end.", {"cluster"});
  auto age = *registry.declareGauge("remora_config_age_seconds", "Seconds since the last accepted config.\nMain.");
  auto restarts = *registry.declareCounter("remora_worker_restarts", "Worker restarts.");
  (void)restarts;
  auto& w0 = registry.addShard("worker_0");
  auto& w1 = registry.addShard("worker_1");
  w0.counter(requests, {"cart", "2xx"}).inc(7);
  w1.counter(requests, {"cart", "2xx"}).inc(3);
  w1.counter(requests, {"we\"ird\\name\nx", "5xx"}).inc();
  w0.histogram(latency, {"cart"}).record(0.003);
  w1.histogram(latency, {"cart"}).record(0.2);
  w1.histogram(latency, {"cart"}).record(42);
  registry.mainStats().gauge(age).set(1.5);
  return registry.renderPrometheus();
}

}  // namespace

TEST_CASE("label values escape backslash, quote and newline, help escapes backslash and newline",
          "[observability]") {
  CHECK(escapeLabelValue("a\\b\"c\nd") == "a\\\\b\\\"c\\nd");
  CHECK(escapeLabelValue("plain") == "plain");
  CHECK(escapeHelp("one \"quoted\"\\\nline") == "one \"quoted\"\\\\\\nline");
}

TEST_CASE("values print as Prometheus reads them", "[observability]") {
  CHECK(formatValue(0) == "0");
  CHECK(formatValue(10) == "10");
  CHECK(formatValue(0.0005) == "0.0005");
  CHECK(formatValue(2.5) == "2.5");
  CHECK(formatValue(40000) == "40000");
  CHECK(formatValue(-3) == "-3");
  CHECK(formatValue(1e20) == "1e+20");
  CHECK(formatValue(0.1 + 0.2) == "0.30000000000000004");
  CHECK(formatValue(NAN) == "NaN");
  CHECK(formatValue(INFINITY) == "+Inf");
  CHECK(formatValue(-INFINITY) == "-Inf");
}

TEST_CASE("a histogram renders cumulative buckets ending in +Inf, then sum and count", "[observability]") {
  StatsSnapshot snapshot;
  MetricFamily family{0, "lat_seconds", "Latency.", MetricType::kHistogram, {"cluster"}, {0.1, 1}};
  SeriesSnapshot series;
  series.label_values = {"a"};
  series.cumulative_buckets = {1, 3, 4};
  series.sum = 7.25;
  series.count = 4;
  snapshot.families.push_back(FamilySnapshot{family, {series}});
  CHECK(renderPrometheusText(snapshot) ==
        "# HELP lat_seconds Latency.\n"
        "# TYPE lat_seconds histogram\n"
        "lat_seconds_bucket{cluster=\"a\",le=\"0.1\"} 1\n"
        "lat_seconds_bucket{cluster=\"a\",le=\"1\"} 3\n"
        "lat_seconds_bucket{cluster=\"a\",le=\"+Inf\"} 4\n"
        "lat_seconds_sum{cluster=\"a\"} 7.25\n"
        "lat_seconds_count{cluster=\"a\"} 4\n");
}

TEST_CASE("merged shards render as counters with _total, gauges and escaped labels", "[observability]") {
  std::string text = renderSample();
  CHECK_THAT(text, Catch::Contains("# TYPE remora_http_requests_total counter\n"));
  CHECK_THAT(text, Catch::Contains("remora_http_requests_total{cluster=\"cart\",code_class=\"2xx\"} 10\n"));
  CHECK_THAT(text, Catch::Contains("{cluster=\"we\\\"ird\\\\name\\nx\",code_class=\"5xx\"} 1\n"));
  CHECK_THAT(text,
             Catch::Contains("# HELP remora_config_age_seconds Seconds since the last accepted config.\\nMain.\n"));
  CHECK_THAT(text, Catch::Contains("remora_config_age_seconds 1.5\n"));
  CHECK_THAT(text, Catch::Contains("remora_worker_restarts_total 0\n"));
  CHECK_THAT(text, Catch::Contains("remora_http_request_duration_seconds_bucket{cluster=\"cart\",le=\"0.005\"} 1\n"));
  CHECK_THAT(text, Catch::Contains("remora_http_request_duration_seconds_bucket{cluster=\"cart\",le=\"10\"} 2\n"));
  CHECK_THAT(text, Catch::Contains("remora_http_request_duration_seconds_bucket{cluster=\"cart\",le=\"+Inf\"} 3\n"));
  CHECK_THAT(text, Catch::Contains("remora_http_request_duration_seconds_count{cluster=\"cart\"} 3\n"));
}

TEST_CASE("promtool accepts the Prometheus output", "[observability]") {
  if (std::system("command -v promtool >/dev/null 2>&1") != 0) {
    WARN("promtool is not installed (scripts/deps.sh installs the prometheus package); skipping");
    return;
  }
  std::string text = renderSample();
  auto [status, output] = runWithInput("promtool check metrics", text);
  INFO(text);
  INFO(output);
  CHECK(status == 0);

  // The check must be able to fail: a counter without _total is linted.
  auto [bad_status, bad_output] =
      runWithInput("promtool check metrics", "# HELP bad Bad.\n# TYPE bad counter\nbad 1\n");
  INFO(bad_output);
  CHECK(bad_status != 0);
}
