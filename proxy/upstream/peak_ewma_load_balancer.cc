#include "proxy/upstream/peak_ewma_load_balancer.h"

namespace remora::upstream {

double PeakEwmaLoadBalancer::cost(const Host& host, std::chrono::steady_clock::time_point now) const {
  const double rtt = host.hasLatencySample() ? host.latencyEstimateNanos(now) : default_rtt_ns_;
  // Not divided by the weight: the draws already favour heavy hosts, and
  // dividing too would make the heaviest win every tie between idle hosts.
  return rtt * (static_cast<double>(host.activeRequests()) + 1.0);
}

Host* PeakEwmaLoadBalancer::pick(const LoadBalancerContext&) {
  if (hosts_.empty()) return nullptr;
  if (hosts_.size() == 1) return hosts_.front();
  Host* first = draw();
  Host* second = draw();
  for (int i = 0; second == first && i < kMaxRedraws; ++i) second = draw();
  if (second == first) return first;
  const auto now = now_();
  // Ties go to the first drawn, so equally costly hosts split by weight.
  return cost(*second, now) < cost(*first, now) ? second : first;
}

}  // namespace remora::upstream
