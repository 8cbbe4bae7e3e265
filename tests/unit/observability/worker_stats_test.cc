#include "proxy/observability/worker_stats.h"

#include <catch2/catch.hpp>

#include <chrono>
#include <cmath>
#include <string>
#include <vector>

#include "proxy/observability/stats_registry.h"

using remora::observability::Counter;
using remora::observability::Histogram;
using remora::observability::Series;
using remora::observability::StatsRegistry;
using remora::observability::WorkerStats;

TEST_CASE("a label set maps to one series per shard, found again without a new one", "[observability]") {
  StatsRegistry registry;
  auto requests = *registry.declareCounter("requests", "Requests.", {"cluster"});
  WorkerStats& shard = registry.addShard("worker_0");
  Counter a = shard.counter(requests, {"a"});
  a.inc();
  a.inc(4);
  std::string runtime_name = "a";
  std::vector<std::string_view> labels{runtime_name};
  Counter again = shard.counter(requests, labels);
  CHECK(again.value() == 5);
  shard.counter(requests, {"b"}).inc();
  CHECK(shard.seriesCount() == 2);
  CHECK(shard.counter(requests, {"b"}).value() == 1);
}

TEST_CASE("a shard keeps per-bucket histogram counts and the sum", "[observability]") {
  StatsRegistry registry;
  auto latency = *registry.declareHistogram("latency_seconds", "Latency.", {}, {0.1, 1});
  WorkerStats& shard = registry.addShard("worker_0");
  Histogram histogram = shard.histogram(latency);
  histogram.record(0.1);   // le="0.1" includes its bound
  histogram.record(0.5);
  histogram.record(30);    // above every bound: +Inf only
  histogram.recordDuration(std::chrono::milliseconds(50));
  histogram.record(NAN);   // dropped
  std::vector<uint64_t> buckets;
  double sum = 0;
  shard.forEachSeries([&](const Series& series) {
    for (size_t i = 0; i < 3; ++i) buckets.push_back(series.buckets[i].load());
    sum = series.sum.load();
  });
  CHECK(buckets == std::vector<uint64_t>{2, 1, 1});
  CHECK(sum == Approx(30.65));
}

TEST_CASE("default handles are disabled and ignore writes", "[observability]") {
  Counter counter;
  counter.inc();
  CHECK_FALSE(counter.enabled());
  CHECK(counter.value() == 0);
  remora::observability::Gauge gauge;
  gauge.set(3);
  CHECK(gauge.value() == 0);
  Histogram histogram;
  histogram.record(1);
  CHECK_FALSE(histogram.enabled());
  WorkerStats shard("lonely");
  CHECK_FALSE(shard.counter(remora::observability::CounterFamily()).enabled());
  CHECK(shard.seriesCount() == 0);
}

TEST_CASE("gauges go up and down", "[observability]") {
  StatsRegistry registry;
  auto active = *registry.declareGauge("active_connections", "Open connections.");
  auto gauge = registry.addShard("w").gauge(active);
  gauge.add(3);
  gauge.sub(1);
  CHECK(gauge.value() == 2);
  gauge.set(-0.5);
  CHECK(gauge.value() == -0.5);
}
