// Counter, Gauge and Histogram: the handles the hot path writes through, and
// Series, the storage they point at.
//
// A handle comes from one WorkerStats shard and is used only on the thread
// that owns that shard (its single writer). Writes are relaxed atomic loads
// and stores, no read-modify-write and no lock: the only reader is the
// scraper on the main thread, which needs each value to be untorn, not
// ordered. Handles are small values, cheap to copy and cache (look them up at
// config time, not per request). A default-constructed handle is disabled:
// its writes do nothing, so components built without stats still run.
#pragma once

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "proxy/observability/metric_family.h"

namespace remora::observability {

// One labelled time series in one shard. Created by WorkerStats on its
// owner's thread; values written by the owner, read by the scraper.
struct Series {
  Series(const MetricFamily* family, std::vector<std::string> label_values);

  const MetricFamily* family;
  const std::vector<std::string> label_values;
  std::atomic<uint64_t> counter{0};
  std::atomic<double> gauge{0};
  // Histograms: per-bucket (not cumulative) counts, one per bound and a last
  // one for values above every bound (+Inf); and the sum of observed values.
  std::unique_ptr<std::atomic<uint64_t>[]> buckets;
  std::atomic<double> sum{0};
};

inline Series::Series(const MetricFamily* family_in, std::vector<std::string> label_values_in)
    : family(family_in), label_values(std::move(label_values_in)) {
  if (family->type == MetricType::kHistogram) {
    // Value-initialized: C++20 atomics start at zero.
    buckets = std::make_unique<std::atomic<uint64_t>[]>(family->bucket_bounds.size() + 1);
  }
}

class Counter {
 public:
  Counter() = default;
  explicit Counter(Series* series) : series_(series) {}

  void inc(uint64_t n = 1) const {
    if (series_ == nullptr) return;
    // Single writer: load + store is enough and avoids a locked RMW.
    series_->counter.store(series_->counter.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  uint64_t value() const { return series_ ? series_->counter.load(std::memory_order_relaxed) : 0; }
  bool enabled() const { return series_ != nullptr; }

 private:
  Series* series_ = nullptr;
};

// A gauge summed across shards on scrape: per-worker parts (active
// connections) add up to the proxy's value; proxy-wide values (config age)
// are set on the main thread's shard only.
class Gauge {
 public:
  Gauge() = default;
  explicit Gauge(Series* series) : series_(series) {}

  void set(double value) const {
    if (series_ != nullptr) series_->gauge.store(value, std::memory_order_relaxed);
  }
  void add(double delta) const {
    if (series_ == nullptr) return;
    series_->gauge.store(series_->gauge.load(std::memory_order_relaxed) + delta, std::memory_order_relaxed);
  }
  void sub(double delta) const { add(-delta); }
  double value() const { return series_ ? series_->gauge.load(std::memory_order_relaxed) : 0; }
  bool enabled() const { return series_ != nullptr; }

 private:
  Series* series_ = nullptr;
};

class Histogram {
 public:
  Histogram() = default;
  explicit Histogram(Series* series) : series_(series) {}

  // Observes one value in the family's unit (seconds for latencies). NaN is
  // dropped: it would poison _sum forever.
  void record(double value) const {
    if (series_ == nullptr || std::isnan(value)) return;
    const std::vector<double>& bounds = series_->family->bucket_bounds;
    size_t bucket = 0;
    while (bucket < bounds.size() && value > bounds[bucket]) ++bucket;  // le: value <= bound
    std::atomic<uint64_t>& count = series_->buckets[bucket];
    count.store(count.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    series_->sum.store(series_->sum.load(std::memory_order_relaxed) + value, std::memory_order_relaxed);
  }
  void recordDuration(std::chrono::nanoseconds duration) const {
    record(std::chrono::duration<double>(duration).count());
  }
  bool enabled() const { return series_ != nullptr; }

 private:
  Series* series_ = nullptr;
};

}  // namespace remora::observability
