// The plain /stats format for a StatsSnapshot: one "name{labels}: value"
// line per series, sorted, for people reading the admin endpoint with curl.
// Histograms show name_count and name_sum (the buckets are in the Prometheus
// output). Pure function; any thread.
#pragma once

#include <string>

#include "proxy/observability/stats_snapshot.h"

namespace remora::observability {

std::string renderPlainStats(const StatsSnapshot& snapshot);

}  // namespace remora::observability
