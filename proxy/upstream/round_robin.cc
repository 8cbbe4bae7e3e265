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

RandomLoadBalancer::RandomLoadBalancer(std::vector<Host*> hosts, uint64_t seed)
    : hosts_(std::move(hosts)), random_(seed) {
  uint64_t total = 0;
  cumulative_.reserve(hosts_.size());
  for (Host* h : hosts_) {
    total += h->weight() == 0 ? 1 : h->weight();
    cumulative_.push_back(total);
  }
}

Host* RandomLoadBalancer::draw() {
  const uint64_t point = random_.next() % cumulative_.back();
  // First running sum above the point: a binary search over few hosts.
  size_t lo = 0;
  size_t hi = cumulative_.size() - 1;
  while (lo < hi) {
    const size_t mid = (lo + hi) / 2;
    if (cumulative_[mid] > point) {
      hi = mid;
    } else {
      lo = mid + 1;
    }
  }
  return hosts_[lo];
}

Host* RandomLoadBalancer::pick(const LoadBalancerContext&) { return hosts_.empty() ? nullptr : draw(); }

Host* LeastRequestLoadBalancer::pick(const LoadBalancerContext&) {
  if (hosts_.empty()) return nullptr;
  if (hosts_.size() == 1) return hosts_.front();
  Host* best = draw();
  for (uint32_t i = 1; i < choice_count_; ++i) {
    // Distinct candidates (as Linkerd draws them): with replacement a slow
    // host would still win whenever both draws land on it, a floor of
    // 1/n^2 of the traffic however slow it is. A few redraws suffice; a
    // host that heavy in weight may still be drawn twice.
    Host* other = draw();
    for (int redraw = 0; other == best && redraw < 4; ++redraw) other = draw();
    // Active requests per unit of weight, cross-multiplied to stay in
    // integers: a host twice as heavy may carry twice as many.
    const uint64_t a = static_cast<uint64_t>(best->activeRequests()) * other->weight();
    const uint64_t b = static_cast<uint64_t>(other->activeRequests()) * best->weight();
    if (b < a) best = other;
  }
  return best;
}

}  // namespace remora::upstream
