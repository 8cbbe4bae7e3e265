// StatsSnapshot: every metric's value at one scrape, merged across shards,
// sorted, and detached from the live registry. StatsRegistry::snapshot()
// builds it on the main thread; the renderers (Prometheus text, plain
// /stats) are pure functions of it, so they are tested without threads.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "proxy/observability/metric_family.h"

namespace remora::observability {

struct SeriesSnapshot {
  std::vector<std::string> label_values;  // in the family's label_names order
  uint64_t counter = 0;                   // counters
  double gauge = 0;                       // gauges
  // Histograms: cumulative counts, one per bound then +Inf; the last equals
  // `count`, as Prometheus requires.
  std::vector<uint64_t> cumulative_buckets;
  double sum = 0;
  uint64_t count = 0;
};

struct FamilySnapshot {
  MetricFamily family;                 // a copy: the snapshot outlives nothing
  std::vector<SeriesSnapshot> series;  // sorted by label values
};

struct StatsSnapshot {
  std::vector<FamilySnapshot> families;  // sorted by name
};

}  // namespace remora::observability
