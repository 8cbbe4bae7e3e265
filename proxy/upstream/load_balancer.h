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

// A small fast PRNG (xorshift64*) for the randomised balancers and weighted
// cluster picks; seeded by its owner (cluster or worker), so tests pass a
// fixed seed.
class Random {
 public:
  explicit Random(uint64_t seed) : state_(seed == 0 ? 0x9E3779B97F4A7C15ull : seed) {}
  uint64_t next() {
    state_ ^= state_ >> 12;
    state_ ^= state_ << 25;
    state_ ^= state_ >> 27;
    return state_ * 0x2545F4914F6CDD1Dull;
  }

 private:
  uint64_t state_;
};

// Weighted random: each pick lands on a host with probability weight / total.
class RandomLoadBalancer : public LoadBalancer {
 public:
  RandomLoadBalancer(std::vector<Host*> hosts, uint64_t seed);
  Host* pick(const LoadBalancerContext& context) override;

 protected:
  // One host drawn by weight.
  Host* draw();
  std::vector<Host*> hosts_;
  std::vector<uint64_t> cumulative_;  // running sums of the weights
  Random random_;
};

// Least request, power of two choices (Envoy's default choice_count 2): draw
// two hosts by weight, send to the one with fewer active requests (ties: the
// first drawn). Cheap, and it steers load away from a slow host, whose
// requests pile up, without the herd effect of always taking the minimum.
class LeastRequestLoadBalancer : public RandomLoadBalancer {
 public:
  using RandomLoadBalancer::RandomLoadBalancer;
  Host* pick(const LoadBalancerContext& context) override;
};

}  // namespace remora::upstream
