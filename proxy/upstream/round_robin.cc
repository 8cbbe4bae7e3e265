#include "proxy/upstream/load_balancer.h"

namespace remora::upstream {

RoundRobinLoadBalancer::RoundRobinLoadBalancer(std::vector<Host*> hosts)
    : hosts_(std::move(hosts)), current_(hosts_.size(), 0) {
  for (Host* h : hosts_) {
    total_weight_ += h->weight();
    if (h->weight() != hosts_.front()->weight()) equal_weights_ = false;
  }
}

Host* RoundRobinLoadBalancer::pick(const LoadBalancerContext&) {
  if (hosts_.empty()) return nullptr;
  if (equal_weights_) {
    Host* h = hosts_[next_];
    next_ = (next_ + 1) % hosts_.size();
    return h;
  }
  size_t best = 0;
  for (size_t i = 0; i < hosts_.size(); ++i) {
    current_[i] += hosts_[i]->weight();
    if (current_[i] > current_[best]) best = i;
  }
  current_[best] -= total_weight_;
  return hosts_[best];
}

}  // namespace remora::upstream
