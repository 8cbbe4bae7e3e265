// StatsRegistry: the proxy's one set of metrics. The composition root owns
// it on the main thread, declares every metric family at start-up, and hands
// each worker its own WorkerStats shard; the admin endpoint calls
// snapshot()/render*() on the main thread to merge the shards on scrape.
//
// Threads: declare*(), addShard() and snapshot() may be called from any
// thread (a mutex guards the family and shard lists; none of it is on the
// request path). Each shard is then written only by its owner.
//
// Gauges set from the main thread (config staleness, certificate expiry) go
// through mainStats(), the main thread's own shard.
#pragma once

#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/observability/metric_family.h"
#include "proxy/observability/stats_snapshot.h"
#include "proxy/observability/worker_stats.h"
#include "xds/base/status.h"

namespace remora::observability {

class StatsRegistry {
 public:
  StatsRegistry();
  StatsRegistry(const StatsRegistry&) = delete;
  StatsRegistry& operator=(const StatsRegistry&) = delete;

  // Declares a family. A counter's name gets "_total" appended unless it
  // already ends so. Fails with kInvalidArgument for a bad name, label or
  // bucket list, kAlreadyExists when any of its sample names is taken.
  base::Result<CounterFamily> declareCounter(std::string name, std::string help,
                                             std::vector<std::string> label_names = {});
  base::Result<GaugeFamily> declareGauge(std::string name, std::string help,
                                         std::vector<std::string> label_names = {});
  base::Result<HistogramFamily> declareHistogram(std::string name, std::string help,
                                                 std::vector<std::string> label_names = {},
                                                 std::vector<double> bucket_bounds = defaultLatencyBuckets());

  // A new shard for one worker thread. The registry keeps it for its whole
  // life; the reference stays valid.
  WorkerStats& addShard(std::string name);
  // The main thread's shard.
  WorkerStats& mainStats() { return *main_; }

  // Every family with its series summed over all shards, sorted. A family
  // without labels always has its one series (zero until written), so
  // Prometheus sees it from the first scrape; a labelled family with no
  // series yet is left out.
  StatsSnapshot snapshot() const;

  // Shorthands: renderPrometheusText(snapshot()), renderPlainStats(snapshot()).
  std::string renderPrometheus() const;
  std::string renderPlain() const;

 private:
  base::Result<const MetricFamily*> declare(MetricFamily family);

  mutable std::mutex mutex_;           // guards families_ and shards_ (the lists)
  std::deque<MetricFamily> families_;  // deque: handles keep pointing at their family
  std::deque<std::unique_ptr<WorkerStats>> shards_;
  WorkerStats* main_ = nullptr;
};

}  // namespace remora::observability
