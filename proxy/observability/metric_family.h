// MetricFamily: the declaration of one metric — name, help, type, label
// names and (for histograms) bucket bounds. StatsRegistry creates families on
// the main thread, usually at start-up; after that a family is immutable and
// read from any thread (workers read a histogram's bounds on every record).
//
// Names are API (CONVENTIONS.md): Prometheus conventions, base units
// (seconds, bytes), counters ending in _total. Label names are fixed per
// family; label values come from config (cluster, listener names), never
// from request data, so cardinality stays bounded.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "xds/base/status.h"

namespace remora::observability {

enum class MetricType : uint8_t { kCounter, kGauge, kHistogram };

// "counter", "gauge", "histogram": the Prometheus # TYPE word.
std::string_view metricTypeName(MetricType type);

struct MetricFamily {
  size_t id = 0;     // dense index in its registry
  std::string name;  // as exposed; a counter's ends in _total
  std::string help;
  MetricType type = MetricType::kCounter;
  std::vector<std::string> label_names;
  std::vector<double> bucket_bounds;  // histograms: increasing upper bounds; +Inf is implied
};

// A typed reference to a declared family, so that a gauge family cannot be
// asked for a counter. Handed out by StatsRegistry; valid while it lives.
template <MetricType kType>
class FamilyRef {
 public:
  FamilyRef() = default;
  explicit FamilyRef(const MetricFamily* family) : family_(family) {}
  const MetricFamily* family() const { return family_; }

 private:
  const MetricFamily* family_ = nullptr;
};
using CounterFamily = FamilyRef<MetricType::kCounter>;
using GaugeFamily = FamilyRef<MetricType::kGauge>;
using HistogramFamily = FamilyRef<MetricType::kHistogram>;

// Request latency buckets in seconds, 0.5 ms to 10 s: proxy overhead lives
// in the low buckets, upstream time in the high ones.
std::vector<double> defaultLatencyBuckets();

// [a-zA-Z_:][a-zA-Z0-9_:]*
bool isValidMetricName(std::string_view name);
// [a-zA-Z_][a-zA-Z0-9_]*, not starting with "__" (reserved by Prometheus).
bool isValidLabelName(std::string_view name);

// Checks a family's name, label names and bounds; the message names the bad
// part. Histograms may not use the label "le" (their bucket label).
base::Status validateFamily(const MetricFamily& family);

// The names a family's samples use: the name itself for counters and gauges,
// name_bucket, name_sum, name_count for histograms. Two families may not
// share one.
std::vector<std::string> sampleNames(const MetricFamily& family);

}  // namespace remora::observability
