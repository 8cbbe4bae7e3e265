// LoadBalancer: picks a host of one cluster for one request.
//
// Worker-local: each worker owns one balancer per cluster, so balancing state
// (round-robin position, weights) needs no synchronisation. The resilience
// work adds least-request, ring hash, Maglev and peak-EWMA behind this seam.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "proxy/upstream/host.h"

namespace remora::upstream {

struct LoadBalancerContext {
  uint64_t hash = 0;  // for hashing balancers; 0 when none was computed
};

class LoadBalancer {
 public:
  virtual ~LoadBalancer() = default;
  // A host to send to, or nullptr when the cluster has none.
  virtual Host* pick(const LoadBalancerContext& context) = 0;
};
using LoadBalancerPtr = std::unique_ptr<LoadBalancer>;

// Smooth weighted round robin (the nginx algorithm): each pick adds every
// host's weight to its running score and takes the highest, then subtracts
// the total. Unlike plain weighted round robin it interleaves hosts instead of
// sending bursts of `weight` requests to one host in a row.
class RoundRobinLoadBalancer : public LoadBalancer {
 public:
  explicit RoundRobinLoadBalancer(std::vector<Host*> hosts);
  Host* pick(const LoadBalancerContext& context) override;

 private:
  std::vector<Host*> hosts_;
  std::vector<int64_t> current_;
  int64_t total_weight_ = 0;
  bool equal_weights_ = true;
  size_t next_ = 0;  // plain rotation when every weight is equal (the common case)
};

}  // namespace remora::upstream
