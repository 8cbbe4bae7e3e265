#include "proxy/observability/stats_registry.h"

#include <algorithm>
#include <map>
#include <numeric>
#include <utility>

#include "proxy/observability/plain_stats.h"
#include "proxy/observability/prometheus_text.h"

namespace remora::observability {

using base::Error;
using base::fail;
using base::Result;
using base::Status;

namespace {

using SeriesMap = std::map<std::vector<std::string>, SeriesSnapshot>;

SeriesSnapshot& seriesSlot(SeriesMap& map, const MetricFamily& family, const std::vector<std::string>& labels) {
  auto [it, inserted] = map.try_emplace(labels);
  if (inserted) {
    it->second.label_values = labels;
    if (family.type == MetricType::kHistogram) it->second.cumulative_buckets.assign(family.bucket_bounds.size() + 1, 0);
  }
  return it->second;
}

void addSeries(SeriesSnapshot& out, const Series& series) {
  switch (series.family->type) {
    case MetricType::kCounter: out.counter += series.counter.load(std::memory_order_relaxed); break;
    case MetricType::kGauge: out.gauge += series.gauge.load(std::memory_order_relaxed); break;
    case MetricType::kHistogram:
      for (size_t i = 0; i < out.cumulative_buckets.size(); ++i) {
        out.cumulative_buckets[i] += series.buckets[i].load(std::memory_order_relaxed);
      }
      out.sum += series.sum.load(std::memory_order_relaxed);
      break;
  }
}

// Turns merged per-bucket counts into Prometheus' cumulative ones. _count is
// taken from the buckets rather than stored apart, so it always equals the
// +Inf bucket even while a worker is mid-record.
void makeCumulative(SeriesSnapshot& series) {
  uint64_t running = 0;
  for (uint64_t& bucket : series.cumulative_buckets) {
    running += bucket;
    bucket = running;
  }
  series.count = running;
}

}  // namespace

StatsRegistry::StatsRegistry() {
  shards_.push_back(std::make_unique<WorkerStats>("main"));
  main_ = shards_.back().get();
}

Result<const MetricFamily*> StatsRegistry::declare(MetricFamily family) {
  if (Status status = validateFamily(family); !status) return status;
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::string> wanted = sampleNames(family);
  for (const MetricFamily& existing : families_) {
    for (const std::string& taken : sampleNames(existing)) {
      if (std::find(wanted.begin(), wanted.end(), taken) != wanted.end()) {
        return fail(Error::kAlreadyExists,
                    "metric '" + family.name + "': the name '" + taken + "' is used by metric '" + existing.name + "'");
      }
    }
  }
  family.id = families_.size();
  families_.push_back(std::move(family));
  return &families_.back();
}

Result<CounterFamily> StatsRegistry::declareCounter(std::string name, std::string help,
                                                    std::vector<std::string> label_names) {
  if (!name.ends_with("_total")) name += "_total";
  auto declared = declare(MetricFamily{0, std::move(name), std::move(help), MetricType::kCounter,
                                       std::move(label_names), {}});
  if (!declared) return declared.error();
  return CounterFamily(*declared);
}

Result<GaugeFamily> StatsRegistry::declareGauge(std::string name, std::string help,
                                                std::vector<std::string> label_names) {
  auto declared =
      declare(MetricFamily{0, std::move(name), std::move(help), MetricType::kGauge, std::move(label_names), {}});
  if (!declared) return declared.error();
  return GaugeFamily(*declared);
}

Result<HistogramFamily> StatsRegistry::declareHistogram(std::string name, std::string help,
                                                        std::vector<std::string> label_names,
                                                        std::vector<double> bucket_bounds) {
  auto declared = declare(MetricFamily{0, std::move(name), std::move(help), MetricType::kHistogram,
                                       std::move(label_names), std::move(bucket_bounds)});
  if (!declared) return declared.error();
  return HistogramFamily(*declared);
}

WorkerStats& StatsRegistry::addShard(std::string name) {
  std::lock_guard<std::mutex> lock(mutex_);
  shards_.push_back(std::make_unique<WorkerStats>(std::move(name)));
  return *shards_.back();
}

StatsSnapshot StatsRegistry::snapshot() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<SeriesMap> merged(families_.size());
  for (const MetricFamily& family : families_) {
    if (family.label_names.empty()) seriesSlot(merged[family.id], family, {});
  }
  for (const auto& shard : shards_) {
    shard->forEachSeries([&](const Series& series) {
      addSeries(seriesSlot(merged[series.family->id], *series.family, series.label_values), series);
    });
  }

  std::vector<size_t> order(families_.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return families_[a].name < families_[b].name; });

  StatsSnapshot snapshot;
  for (size_t id : order) {
    if (merged[id].empty()) continue;
    FamilySnapshot family{families_[id], {}};
    family.series.reserve(merged[id].size());
    for (auto& [labels, series] : merged[id]) {
      if (family.family.type == MetricType::kHistogram) makeCumulative(series);
      family.series.push_back(std::move(series));
    }
    snapshot.families.push_back(std::move(family));
  }
  return snapshot;
}

std::string StatsRegistry::renderPrometheus() const { return renderPrometheusText(snapshot()); }

std::string StatsRegistry::renderPlain() const { return renderPlainStats(snapshot()); }

}  // namespace remora::observability
