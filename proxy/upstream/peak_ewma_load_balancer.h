// PeakEwmaLoadBalancer: Linkerd's latency-aware balancer. Power of two
// choices (two distinct hosts drawn by weight, as Linkerd's p2c), keeping the
// one with the lower cost = peak-EWMA round-trip time * (active requests + 1).
// Weights act through the draws only. Distinct draws matter: with repeats a slow host would
// keep 1/N^2 of the traffic whatever its latency.
//
// Worker-local, built by HostSelector over the hosts of one priority. The
// latency estimate lives on Host (Host::recordLatency, fed by the router
// when response headers arrive), so it survives balancer rebuilds. pick()
// never allocates.
//
// Why the cost multiplies: a host that answers in 10 ms with 3 requests open
// is still a better bet than an idle one that answers in 300 ms; least
// request alone would not see the difference, and latency alone would herd
// every request onto the fastest host.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

#include "proxy/upstream/load_balancer.h"

namespace remora::upstream {

class PeakEwmaLoadBalancer : public RandomLoadBalancer {
 public:
  // Linkerd's default for a host with no sample yet: high enough that a new
  // host is not flooded before it proved fast, low enough that it gets tried.
  static constexpr std::chrono::nanoseconds kDefaultRtt = std::chrono::milliseconds(30);

  using Clock = std::function<std::chrono::steady_clock::time_point()>;

  // `now` dates the cost: estimates fade while a host gets no samples.
  PeakEwmaLoadBalancer(std::vector<Host*> hosts, uint64_t seed, Clock now,
                       std::chrono::nanoseconds default_rtt = kDefaultRtt)
      : RandomLoadBalancer(std::move(hosts), seed),
        now_(std::move(now)),
        default_rtt_ns_(static_cast<double>(default_rtt.count())) {}
  Host* pick(const LoadBalancerContext& context) override;

  // The cost pick() compares at `now` (lower wins); public for tests and the
  // admin page.
  double cost(const Host& host, std::chrono::steady_clock::time_point now) const;

 private:
  // Draws for a second host distinct from the first before giving up (only
  // a very lopsided weighting needs more than one or two).
  static constexpr int kMaxRedraws = 8;

  Clock now_;
  double default_rtt_ns_;
};

}  // namespace remora::upstream
