// HostHealth: the main thread's side of passive and active health checking.
// For each cluster of the running snapshot that asks for them it keeps an
// OutlierDetector (fed with the outcome batches the workers post) and a
// HealthChecker, and posts every decision — eject, return, unhealthy,
// healthy — to all workers, whose balancers then skip or use the host. The
// admin endpoint's /clusters reads the state kept here.
//
// Main thread only (ARCHITECTURE.md, Threading): workers only report and
// apply.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/config/snapshot.h"
#include "proxy/main/proxy_stats.h"
#include "proxy/net/dispatcher.h"
#include "proxy/observability/stats_registry.h"
#include "proxy/upstream/cluster_manager.h"
#include "proxy/upstream/health_checker.h"
#include "proxy/upstream/outlier_detector.h"

namespace remora::server {

// One try's outcome as a worker reports it.
struct OutcomeRecord {
  std::shared_ptr<const xds::resources::Cluster> cluster;
  net::Address host;
  upstream::HostOutcome outcome;
};

class HostHealth {
 public:
  // Posts a decision to every worker.
  using Publish = std::function<void(const std::string& cluster, const std::string& address,
                                     upstream::HostHealthFlag flag, bool set)>;
  HostHealth(net::Dispatcher& main, observability::WorkerStats& stats, const ProxyFamilies& families,
             Publish publish);
  ~HostHealth();

  // Follows the snapshot's clusters: new ones get detectors and checkers;
  // ones whose outlier or health-check config changed are rebuilt; for the
  // rest (endpoints, balancer, limits changed) only the host set is updated,
  // keeping what was decided; removed ones are dropped.
  void update(const config::Snapshot& snapshot);
  // A batch of outcomes from one worker.
  void record(std::vector<OutcomeRecord> batch);

  // Requests in flight per cluster and host ("ip:port"), summed over the
  // workers; gathered by the admin endpoint when it can ask them.
  using ActiveRequests = std::map<std::string, std::map<std::string, uint64_t>, std::less<>>;
  // The /clusters admin body: every cluster's hosts with their health, and
  // their active requests when `active` is given.
  std::string clustersJson(const config::Snapshot& snapshot, const ActiveRequests* active = nullptr) const;

  // Request outcomes the workers reported for one host: successes (any
  // response but a 5xx) and failures (5xx, connect failure, timeout, reset).
  // Connection-level successes are not requests and are not counted.
  struct Tally {
    uint64_t success = 0;
    uint64_t failure = 0;
    uint64_t total() const { return success + failure; }
  };
  // What the main thread knows of one host, for /clusters and /explain.
  struct HostReport {
    uint8_t flags = 0;  // HostHealthFlag bits decided here (ejection, active check)
    std::string reason;
    std::chrono::system_clock::time_point ejected_until{};  // while outlier-ejected
    // Outcomes of the last complete outlier-detection interval, and of the
    // current one so far. Workers report outcomes only for clusters with
    // outlier detection, so both stay empty for the others.
    Tally last_interval;
    Tally current_interval;
  };
  // nullptr when the cluster has neither outlier detection nor a health
  // check, or the host is not one of its members.
  const HostReport* host(std::string_view cluster, std::string_view address) const;
  // True when the cluster has outlier detection (so outcomes are tallied).
  bool tracksOutcomes(std::string_view cluster) const;

 private:
  using HostInfo = HostReport;
  struct ClusterHealth {
    std::shared_ptr<const xds::resources::Cluster> config;
    std::unique_ptr<upstream::OutlierDetector> outlier;
    std::unique_ptr<upstream::HealthChecker> checker;
    net::TimerPtr interval_timer;
    net::TimerPtr uneject_timer;
    std::map<std::string, HostInfo> hosts;  // by "ip:port"
    observability::Gauge ejected_gauge;
    observability::Gauge unhealthy_gauge;
    observability::Counter check_failures;
    observability::Counter overflow;
    uint64_t overflow_seen = 0;
    std::array<observability::Counter, upstream::kEjectionKindCount> ejections;
    std::array<uint64_t, upstream::kEjectionKindCount> ejections_seen{};
  };
  void build(ClusterHealth& c, upstream::TlsSettingsPtr tls);
  void setHosts(ClusterHealth& c);
  void onEjection(const std::string& cluster, const net::Address& host, bool ejected, const std::string& reason);
  void onHealthCheck(const std::string& cluster, const net::Address& host, bool healthy, const std::string& reason);
  void armUneject(ClusterHealth& c);
  void syncCounters(ClusterHealth& c);

  net::Dispatcher& main_;
  observability::WorkerStats& stats_;
  const ProxyFamilies& families_;
  Publish publish_;
  std::map<std::string, std::unique_ptr<ClusterHealth>, std::less<>> clusters_;
  uint64_t seed_;
};

// The key hosts go by on the main thread and the workers: net::Address's
// text ("127.0.0.1:9001", "[::1]:9001"); the configured text if it does not parse.
std::string hostKey(const xds::resources::Endpoint& endpoint);
// Why a host gets no new requests, as /clusters names it: eds_unhealthy,
// eds_draining, failed_active_health_check, outlier_ejected. Empty: healthy.
std::vector<std::string> hostFlagNames(const xds::resources::Endpoint& endpoint, const HostHealth::HostReport* report);
// Successes over requests in the last complete interval; negative when there
// were none.
double lastIntervalSuccessRate(const HostHealth::HostReport& report);

}  // namespace remora::server
