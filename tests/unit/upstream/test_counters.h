// MetricSink: enabled Counter and Gauge handles for unit tests, backed by
// Series this object owns, so a test can read back what a component counted
// without a StatsRegistry. Test-only, single-threaded.
#pragma once

#include <deque>
#include <string>
#include <vector>

#include "proxy/observability/metric.h"
#include "proxy/observability/worker_stats.h"
#include "proxy/upstream/connection_pool.h"

namespace remora::testing {

class MetricSink {
 public:
  MetricSink() {
    counter_family_.name = "test_total";
    counter_family_.type = observability::MetricType::kCounter;
    gauge_family_.name = "test_gauge";
    gauge_family_.type = observability::MetricType::kGauge;
  }
  MetricSink(const MetricSink&) = delete;
  MetricSink& operator=(const MetricSink&) = delete;

  observability::Counter counter() {
    return observability::Counter(&series_.emplace_back(&counter_family_, std::vector<std::string>{}));
  }
  observability::Gauge gauge() {
    return observability::Gauge(&series_.emplace_back(&gauge_family_, std::vector<std::string>{}));
  }

  // Every handle of a cluster's PoolCounters enabled.
  upstream::PoolCounters poolCounters() {
    upstream::PoolCounters c;
    c.streams_total = counter();
    c.requests_active = gauge();
    c.connections_total = counter();
    c.connections_active = gauge();
    c.connect_failures = counter();
    c.connect_timeouts = counter();
    c.overflows = counter();
    c.resets_before_response = counter();
    c.resets_after_response = counter();
    c.route_timeouts = counter();
    return c;
  }

 private:
  observability::MetricFamily counter_family_;
  observability::MetricFamily gauge_family_;
  std::deque<observability::Series> series_;  // deque: handles keep pointing at their series
};

}  // namespace remora::testing
