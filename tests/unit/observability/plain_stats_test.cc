#include "proxy/observability/plain_stats.h"

#include <catch2/catch.hpp>

#include "proxy/observability/stats_registry.h"

using remora::observability::StatsRegistry;

TEST_CASE("plain stats print one sorted name{labels}: value line per series", "[observability]") {
  StatsRegistry registry;
  auto requests = *registry.declareCounter("requests", "h", {"cluster"});
  auto latency = *registry.declareHistogram("latency_seconds", "h", {}, {0.1});
  auto active = *registry.declareGauge("active", "h");
  auto& worker = registry.addShard("worker_0");
  worker.counter(requests, {"zeta"}).inc(2);
  worker.counter(requests, {"alpha"}).inc(1);
  worker.histogram(latency).record(0.05);
  worker.histogram(latency).record(0.25);
  worker.gauge(active).set(3);
  CHECK(remora::observability::renderPlainStats(registry.snapshot()) ==
        "active: 3\n"
        "latency_seconds_count: 2\n"
        "latency_seconds_sum: 0.3\n"
        "requests_total{cluster=\"alpha\"}: 1\n"
        "requests_total{cluster=\"zeta\"}: 2\n");
}
