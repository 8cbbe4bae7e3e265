// LoadBalancer: picks a host of one cluster for one request.
//
// Worker-local: each worker owns one balancer per priority of each cluster
// (built by HostSelector over the hosts it may use), so balancing state
// (round-robin position, weights) needs no synchronisation. Ring hash and
// Maglev live in hash_load_balancer.h, peak-EWMA in peak_ewma_load_balancer.h.
// Balancers see only the hosts they were built with: health, priorities and
// retry avoidance are HostSelector's job. pick() never allocates.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <utility>
#include <span>
#include <vector>

#include "proxy/net/address.h"
#include "proxy/upstream/host.h"

namespace remora::upstream {

struct LoadBalancerContext {
  std::optional<uint64_t> hash;  // from the route's hash_policy (router::computeHash)
  uint32_t attempt = 0;          // 0 first try, 1.. retries
  // Hosts already tried by this request: HostSelector avoids them when
  // another exists. Owned by the caller, read during pick() only.
  std::span<const Host* const> tried{};
  // The downstream connection's original destination when it came through
  // a redirect (null otherwise): the host of an ORIGINAL_DST cluster.
  const net::Address* original_destination = nullptr;
};

class LoadBalancer {
 public:
  virtual ~LoadBalancer() = default;
  // A host to send to, or nullptr when the balancer has none.
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

// Least request, power of N choices (Envoy's default choice_count 2): draw
// N distinct hosts by weight, send to the one with the fewest active requests per unit
// of weight (ties: the first drawn). Cheap, and it steers load away from a
// slow host, whose requests pile up, without the herd effect of always taking
// the minimum.
class LeastRequestLoadBalancer : public RandomLoadBalancer {
 public:
  LeastRequestLoadBalancer(std::vector<Host*> hosts, uint64_t seed, uint32_t choice_count = 2)
      : RandomLoadBalancer(std::move(hosts), seed), choice_count_(choice_count < 2 ? 2 : choice_count) {}
  Host* pick(const LoadBalancerContext& context) override;

 private:
  uint32_t choice_count_;
};

}  // namespace remora::upstream
