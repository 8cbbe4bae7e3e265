// WorkerStats: one thread's shard of every metric. StatsRegistry makes one
// per worker (and one for the main thread); the owning thread looks up
// handles here and writes through them; the scraper on the main thread reads
// every shard and merges them, so the hot path never contends.
//
// Threads: counter()/gauge()/histogram() only on the owning thread. Lookups
// use an owner-only index and take no lock once a series exists; creating a
// series (first use of a label set) appends it under a small mutex that the
// scraper also takes while walking the list. Increments never lock.
//
// A shard lives as long as its registry, even after its worker stops, so
// merged counters never go backwards.
#pragma once

#include <cstddef>
#include <deque>
#include <functional>
#include <initializer_list>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "proxy/observability/metric.h"
#include "proxy/observability/metric_family.h"

namespace remora::observability {

class WorkerStats {
 public:
  explicit WorkerStats(std::string name) : name_(std::move(name)) {}
  WorkerStats(const WorkerStats&) = delete;
  WorkerStats& operator=(const WorkerStats&) = delete;

  // The handle for one label set, created on first use. `label_values` must
  // have one value per label name of the family (asserted); a null family
  // gives a disabled handle. Allocates only when the series is new.
  Counter counter(const CounterFamily& family, std::initializer_list<std::string_view> label_values = {});
  Gauge gauge(const GaugeFamily& family, std::initializer_list<std::string_view> label_values = {});
  Histogram histogram(const HistogramFamily& family, std::initializer_list<std::string_view> label_values = {});

  // Same, for label values known only at run time (config-driven names).
  Counter counter(const CounterFamily& family, std::span<const std::string_view> label_values);
  Gauge gauge(const GaugeFamily& family, std::span<const std::string_view> label_values);
  Histogram histogram(const HistogramFamily& family, std::span<const std::string_view> label_values);

  const std::string& name() const { return name_; }
  // How many series this shard holds. Owner thread, or tests.
  size_t seriesCount() const;

  // Scraper side (any thread): calls `visit` for every series, under the
  // shard's list mutex. Values are read with relaxed loads while the owner
  // keeps writing them.
  void forEachSeries(const std::function<void(const Series&)>& visit) const;

 private:
  // Index key. Lookups probe with a view (family, span of views) so that an
  // existing series is found without building strings.
  struct Key {
    const MetricFamily* family;
    std::vector<std::string> label_values;
  };
  struct KeyView {
    const MetricFamily* family;
    std::span<const std::string_view> label_values;
  };
  struct KeyHash {
    using is_transparent = void;
    size_t operator()(const Key& key) const noexcept;
    size_t operator()(const KeyView& key) const noexcept;
  };
  struct KeyEqual {
    using is_transparent = void;
    bool operator()(const Key& a, const Key& b) const noexcept;
    bool operator()(const Key& a, const KeyView& b) const noexcept;
    bool operator()(const KeyView& a, const Key& b) const noexcept { return (*this)(b, a); }
  };

  Series* findOrCreate(const MetricFamily* family, MetricType type, std::span<const std::string_view> label_values);

  const std::string name_;
  mutable std::mutex list_mutex_;  // guards series_ (the list), never the values
  std::deque<Series> series_;      // deque: element addresses stay put as it grows
  std::unordered_map<Key, Series*, KeyHash, KeyEqual> index_;  // owner thread only
};

}  // namespace remora::observability
