// HostSelector: picks the host for one request attempt of one cluster, on top
// of the per-policy balancers: priority failover, the panic threshold, health
// flags and retry avoidance.
//
// Worker-local: the Cluster owns one and calls pick() from the router filter
// and the TCP proxy. When host health flags change (posted by the main
// thread's outlier detector and health checker) or membership changes, the
// owner calls refresh() (flags) or builds a new selector (membership).
// Hosts are borrowed: they must outlive the selector.
//
// Envoy's rules, in percent and host counts:
// - a priority's health = min(100, overprovisioning_factor * healthy / hosts);
//   priority 0 takes load up to its health, the rest spills to the next one.
//   When the healths add up to less than 100 the loads are scaled up to 100.
// - a priority whose healthy share is below healthy_panic_threshold balances
//   over all its hosts, healthy or not (better some errors than overloading
//   the few survivors). When no host is healthy anywhere, the whole cluster
//   panics and load follows host counts. A threshold of 0 disables panic:
//   then a cluster with no healthy host picks nothing.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <vector>

#include "proxy/upstream/host.h"
#include "proxy/upstream/load_balancer.h"
#include "xds/resources/model.h"

namespace remora::upstream {

class HostSelector {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;

  // `seed` seeds the priority choice and every balancer (tests fix it);
  // `now` dates peak-EWMA costs (tests pass a fake clock).
  HostSelector(const xds::resources::Cluster& config, std::vector<Host*> hosts, uint64_t seed, Clock now);

  // A host for this attempt; one in context.tried only when the chosen
  // priority has no other. nullptr only when the cluster has no host at all
  // (or none is healthy and panic is disabled). Never allocates.
  Host* pick(const LoadBalancerContext& context);
  // Host health flags changed: rebuilds the per-priority lists, loads and the
  // balancers whose host list changed (the others keep their state).
  void refresh();
  // The last pick balanced over every host of its priority because too few
  // were healthy.
  bool panic() const { return panic_; }

  // One line per priority, for tests and the admin page.
  struct PriorityState {
    uint32_t priority = 0;
    uint32_t load_percent = 0;  // share of new requests sent to this priority
    bool panic = false;
    size_t hosts = 0;
    size_t healthy = 0;
  };
  std::vector<PriorityState> priorities() const;

 private:
  struct Level {
    uint32_t priority = 0;
    std::vector<Host*> hosts;  // every host of this priority, in config order
    std::vector<Host*> used;   // what the balancer was built over
    LoadBalancerPtr lb;
    size_t healthy = 0;
    uint32_t load = 0;  // percent
    bool panic = false;
  };

  struct Settings {
    xds::resources::Cluster::LbPolicy policy;
    uint32_t choice_count;
    uint64_t ring_minimum;
    uint64_t ring_maximum;
    uint64_t maglev_size;
    double panic_threshold;
    uint32_t overprovisioning;
  };

  void computeLoads();
  LoadBalancerPtr buildBalancer(const std::vector<Host*>& hosts);
  size_t choosePriority(const LoadBalancerContext& context);
  bool hashing() const;

  Clock now_;
  Settings settings_;
  std::vector<Level> levels_;  // by ascending priority
  Random random_;              // priority choice, and seeds for rebuilt balancers
  bool any_load_ = false;      // false: nothing may be picked
  bool panic_ = false;
};

}  // namespace remora::upstream
