#include "proxy/observability/stats_registry.h"

#include <catch2/catch.hpp>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

using remora::base::Error;
using remora::observability::FamilySnapshot;
using remora::observability::MetricType;
using remora::observability::StatsRegistry;
using remora::observability::StatsSnapshot;
using remora::observability::WorkerStats;

namespace {

const FamilySnapshot* findFamily(const StatsSnapshot& snapshot, const std::string& name) {
  for (const FamilySnapshot& family : snapshot.families) {
    if (family.family.name == name) return &family;
  }
  return nullptr;
}

}  // namespace

TEST_CASE("counters get a _total name once", "[observability]") {
  StatsRegistry registry;
  CHECK(registry.declareCounter("remora_requests", "h")->family()->name == "remora_requests_total");
  CHECK(registry.declareCounter("remora_errors_total", "h")->family()->name == "remora_errors_total");
}

TEST_CASE("two families may not share a sample name", "[observability]") {
  StatsRegistry registry;
  REQUIRE(registry.declareHistogram("latency_seconds", "h").has_value());
  auto clash = registry.declareGauge("latency_seconds_count", "h");
  REQUIRE_FALSE(clash.has_value());
  CHECK(clash.error().code == Error::kAlreadyExists);
  CHECK(registry.declareCounter("requests", "h").has_value());
  CHECK(registry.declareCounter("requests_total", "h").error().code == Error::kAlreadyExists);
  CHECK(registry.declareGauge("bad name", "h").error().code == Error::kInvalidArgument);
}

TEST_CASE("each shard's values are merged per label set on snapshot", "[observability]") {
  StatsRegistry registry;
  auto requests = *registry.declareCounter("requests", "h", {"cluster"});
  auto active = *registry.declareGauge("active", "h");
  auto latency = *registry.declareHistogram("latency_seconds", "h", {"cluster"}, {0.01, 0.1});
  WorkerStats& w0 = registry.addShard("worker_0");
  WorkerStats& w1 = registry.addShard("worker_1");
  w0.counter(requests, {"a"}).inc(2);
  w1.counter(requests, {"a"}).inc(3);
  w1.counter(requests, {"b"}).inc(1);
  w0.gauge(active).add(4);
  w1.gauge(active).add(1);
  w0.histogram(latency, {"a"}).record(0.005);
  w1.histogram(latency, {"a"}).record(0.05);
  w1.histogram(latency, {"a"}).record(5);

  StatsSnapshot snapshot = registry.snapshot();
  REQUIRE(snapshot.families.size() == 3);
  CHECK(snapshot.families[0].family.name == "active");  // sorted by name
  CHECK(snapshot.families[0].series[0].gauge == 5);

  const FamilySnapshot* counted = findFamily(snapshot, "requests_total");
  REQUIRE(counted != nullptr);
  REQUIRE(counted->series.size() == 2);
  CHECK(counted->series[0].label_values == std::vector<std::string>{"a"});
  CHECK(counted->series[0].counter == 5);
  CHECK(counted->series[1].counter == 1);

  const FamilySnapshot* histogram = findFamily(snapshot, "latency_seconds");
  REQUIRE(histogram != nullptr);
  REQUIRE(histogram->series.size() == 1);
  CHECK(histogram->series[0].cumulative_buckets == std::vector<uint64_t>{1, 2, 3});
  CHECK(histogram->series[0].count == 3);
  CHECK(histogram->series[0].sum == Approx(5.055));
}

TEST_CASE("unlabelled families show zero before any write, labelled ones wait for a series",
          "[observability]") {
  StatsRegistry registry;
  REQUIRE(registry.declareCounter("restarts", "h").has_value());
  REQUIRE(registry.declareCounter("per_cluster", "h", {"cluster"}).has_value());
  REQUIRE(registry.declareHistogram("idle_seconds", "h", {}, {1}).has_value());
  StatsSnapshot snapshot = registry.snapshot();
  REQUIRE(snapshot.families.size() == 2);
  CHECK(findFamily(snapshot, "per_cluster_total") == nullptr);
  CHECK(findFamily(snapshot, "restarts_total")->series[0].counter == 0);
  CHECK(findFamily(snapshot, "idle_seconds")->series[0].cumulative_buckets == std::vector<uint64_t>{0, 0});
}

TEST_CASE("the main thread sets proxy-wide gauges on its own shard", "[observability]") {
  StatsRegistry registry;
  auto age = *registry.declareGauge("config_age_seconds", "h");
  registry.mainStats().gauge(age).set(12.5);
  CHECK(registry.mainStats().name() == "main");
  CHECK(registry.renderPlain() == "config_age_seconds: 12.5\n");
}

TEST_CASE("two workers write their own shards while a third thread scrapes", "[observability][tsan]") {
  StatsRegistry registry;
  auto requests = *registry.declareCounter("requests", "h", {"cluster"});
  auto latency = *registry.declareHistogram("latency_seconds", "h", {"cluster"});
  auto active = *registry.declareGauge("active", "h");
  WorkerStats& w0 = registry.addShard("worker_0");
  WorkerStats& w1 = registry.addShard("worker_1");
  constexpr int kIterations = 20000;
  constexpr int kClusters = 8;

  auto work = [&](WorkerStats* shard) {
    for (int i = 0; i < kIterations; ++i) {
      // New label values appear while the scraper walks the series lists.
      std::string cluster = "c" + std::to_string(i % kClusters);
      shard->counter(requests, {cluster}).inc();
      shard->histogram(latency, {cluster}).record(0.001 * (i % 100));
      shard->gauge(active).add(1);
    }
  };
  auto totalRequests = [](const StatsSnapshot& snapshot) {
    uint64_t total = 0;
    for (const FamilySnapshot& family : snapshot.families) {
      if (family.family.name != "requests_total") continue;
      for (const auto& series : family.series) total += series.counter;
    }
    return total;
  };

  std::atomic<bool> done{false};
  std::atomic<int> went_backwards{0};
  std::atomic<int> scrapes{0};
  std::atomic<int> inconsistent_histograms{0};
  std::thread scraper([&] {
    uint64_t last = 0;
    // At least one scrape even when the workers finish before this thread runs.
    while (!done.load() || scrapes.load() == 0) {
      StatsSnapshot snapshot = registry.snapshot();
      uint64_t total = totalRequests(snapshot);
      if (total < last) went_backwards.fetch_add(1);
      last = total;
      for (const FamilySnapshot& family : snapshot.families) {
        if (family.family.type != MetricType::kHistogram) continue;
        for (const auto& series : family.series) {
          if (series.cumulative_buckets.back() != series.count) inconsistent_histograms.fetch_add(1);
        }
      }
      (void)registry.renderPrometheus();
      scrapes.fetch_add(1);
    }
  });
  std::thread t0(work, &w0);
  std::thread t1(work, &w1);
  t0.join();
  t1.join();
  done.store(true);
  scraper.join();

  CHECK(scrapes.load() > 0);
  CHECK(went_backwards.load() == 0);
  CHECK(inconsistent_histograms.load() == 0);
  StatsSnapshot final_snapshot = registry.snapshot();
  CHECK(totalRequests(final_snapshot) == 2 * kIterations);
  const FamilySnapshot* histogram = findFamily(final_snapshot, "latency_seconds");
  REQUIRE(histogram != nullptr);
  CHECK(histogram->series.size() == kClusters);
  uint64_t observed = 0;
  for (const auto& series : histogram->series) observed += series.count;
  CHECK(observed == 2 * kIterations);
  CHECK(findFamily(final_snapshot, "active")->series[0].gauge == 2 * kIterations);
}
