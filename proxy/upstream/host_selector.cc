#include "proxy/upstream/host_selector.h"

#include <algorithm>
#include <map>
#include <utility>

#include "proxy/upstream/hash_load_balancer.h"
#include "proxy/upstream/peak_ewma_load_balancer.h"
#include "proxy/upstream/stable_hash.h"

namespace remora::upstream {

namespace {

using LbPolicy = xds::resources::Cluster::LbPolicy;

// How many draws pick() makes to get around tried or freshly flagged hosts
// before it scans. Round robin moves on by itself, random draws again, and
// hashing balancers step to the next distinct host.
constexpr uint32_t kMaxDraws = 4;

constexpr uint64_t kPrioritySalt = 0x5bd1e9955bd1e995ull;

bool wasTried(const Host* host, const LoadBalancerContext& context) {
  return std::find(context.tried.begin(), context.tried.end(), host) != context.tried.end();
}

}  // namespace

HostSelector::HostSelector(const xds::resources::Cluster& config, std::vector<Host*> hosts, uint64_t seed, Clock now)
    : now_(std::move(now)),
      settings_{config.lb_policy,
                config.least_request_choice_count,
                config.ring_hash_minimum_size,
                config.ring_hash_maximum_size,
                config.maglev_table_size,
                config.healthy_panic_threshold,
                config.overprovisioning_factor},
      random_(seed) {
  if (!now_) now_ = [] { return std::chrono::steady_clock::now(); };
  std::map<uint32_t, std::vector<Host*>> by_priority;
  for (Host* h : hosts) {
    h->setLatencyDecay(config.peak_ewma_decay);
    by_priority[h->priority()].push_back(h);
  }
  for (auto& [priority, members] : by_priority) {
    Level level;
    level.priority = priority;
    level.hosts = std::move(members);
    levels_.push_back(std::move(level));
  }
  refresh();
}

bool HostSelector::hashing() const {
  return settings_.policy == LbPolicy::kRingHash || settings_.policy == LbPolicy::kMaglev;
}

LoadBalancerPtr HostSelector::buildBalancer(const std::vector<Host*>& hosts) {
  const uint64_t seed = random_.next();
  switch (settings_.policy) {
    case LbPolicy::kRoundRobin: return std::make_unique<RoundRobinLoadBalancer>(hosts);
    case LbPolicy::kLeastRequest:
      return std::make_unique<LeastRequestLoadBalancer>(hosts, seed, settings_.choice_count);
    case LbPolicy::kRandom: return std::make_unique<RandomLoadBalancer>(hosts, seed);
    case LbPolicy::kRingHash:
      return std::make_unique<RingHashLoadBalancer>(hosts, seed, settings_.ring_minimum, settings_.ring_maximum);
    case LbPolicy::kMaglev: return std::make_unique<MaglevLoadBalancer>(hosts, seed, settings_.maglev_size);
    case LbPolicy::kPeakEwma: return std::make_unique<PeakEwmaLoadBalancer>(hosts, seed, now_);
  }
  return std::make_unique<RoundRobinLoadBalancer>(hosts);
}

void HostSelector::refresh() {
  for (Level& level : levels_) {
    level.healthy = static_cast<size_t>(
        std::count_if(level.hosts.begin(), level.hosts.end(), [](const Host* h) { return h->healthy(); }));
  }
  computeLoads();
  for (Level& level : levels_) {
    std::vector<Host*> used;
    if (level.panic) {
      used = level.hosts;
    } else {
      for (Host* h : level.hosts) {
        if (h->healthy()) used.push_back(h);
      }
    }
    // An unchanged list keeps its balancer, and with it the round-robin
    // position or the Maglev table (65537 slots are not free to rebuild).
    if (level.lb && used == level.used) continue;
    level.used = std::move(used);
    level.lb = level.used.empty() ? nullptr : buildBalancer(level.used);
  }
}

void HostSelector::computeLoads() {
  const double threshold = settings_.panic_threshold;
  uint32_t total_health = 0;
  std::vector<uint32_t> health(levels_.size(), 0);
  size_t all_hosts = 0;
  for (size_t i = 0; i < levels_.size(); ++i) {
    const Level& level = levels_[i];
    all_hosts += level.hosts.size();
    const uint64_t scaled = uint64_t{settings_.overprovisioning} * level.healthy / level.hosts.size();
    health[i] = static_cast<uint32_t>(std::min<uint64_t>(100, scaled));
    total_health += health[i];
  }
  total_health = std::min<uint32_t>(100, total_health);

  any_load_ = true;
  if (total_health == 0) {
    // Nothing healthy anywhere: with panic on, every priority panics and load
    // follows host counts (Envoy's "total panic"); with panic off, nothing.
    any_load_ = threshold > 0 && all_hosts > 0;
    uint32_t remaining = 100;
    for (Level& level : levels_) {
      level.panic = any_load_;
      level.load = any_load_ ? static_cast<uint32_t>(100 * level.hosts.size() / all_hosts) : 0;
      remaining -= level.load;
    }
    if (any_load_) levels_.front().load += remaining;
    return;
  }

  // Scaled so the loads add up to 100 even when every priority is degraded;
  // rounding leftovers go to the first priority with any health.
  uint32_t remaining = 100;
  size_t first_available = levels_.size();
  for (size_t i = 0; i < levels_.size(); ++i) {
    Level& level = levels_[i];
    if (first_available == levels_.size() && health[i] > 0) first_available = i;
    level.load = std::min(remaining, health[i] * 100 / total_health);
    remaining -= level.load;
    const double healthy_percent = 100.0 * static_cast<double>(level.healthy) / static_cast<double>(level.hosts.size());
    level.panic = threshold > 0 && healthy_percent < threshold;
  }
  levels_[first_available].load += remaining;
}

size_t HostSelector::choosePriority(const LoadBalancerContext& context) {
  if (levels_.size() == 1) return 0;
  // A hashed request picks its priority by its hash too, so one key stays on
  // one host while a priority spills (remixed: the ring uses the raw bits).
  const uint64_t draw = hashing() && context.hash ? mixBits(*context.hash ^ kPrioritySalt) : random_.next();
  uint32_t point = static_cast<uint32_t>(draw % 100);
  for (size_t i = 0; i < levels_.size(); ++i) {
    if (point < levels_[i].load) return i;
    point -= levels_[i].load;
  }
  return 0;  // unreachable: the loads add up to 100
}

Host* HostSelector::pick(const LoadBalancerContext& context) {
  panic_ = false;
  if (!any_load_) return nullptr;
  Level& level = levels_[choosePriority(context)];
  if (!level.lb) return nullptr;
  panic_ = level.panic;
  // Preference: untried and healthy, then healthy but tried, then anything
  // the balancer gave (its list may predate a flag change not yet refreshed).
  auto usable = [&](const Host* h) { return level.panic || h->healthy(); };
  Host* fallback = nullptr;
  LoadBalancerContext attempt_context = context;
  for (uint32_t draw = 0; draw < kMaxDraws; ++draw) {
    // Hashing balancers are deterministic: step to the next distinct host
    // instead of drawing the same one again.
    if (hashing()) attempt_context.attempt = context.attempt + draw;
    Host* host = level.lb->pick(attempt_context);
    if (host == nullptr) break;
    if (!usable(host)) continue;
    if (!wasTried(host, context)) return host;
    if (fallback == nullptr) fallback = host;
  }
  // The draws kept landing on tried or flagged hosts (likely when most were
  // tried): scan from a random start for one that is neither, ignoring
  // weights for this once rather than sending the retry back.
  const size_t count = level.used.size();
  const size_t start = static_cast<size_t>(random_.next() % count);
  for (size_t i = 0; i < count; ++i) {
    Host* host = level.used[(start + i) % count];
    if (!usable(host)) continue;
    if (!wasTried(host, context)) return host;
    if (fallback == nullptr) fallback = host;
  }
  // Every host was flagged since the last refresh(): still answer with one
  // (the owner refreshes, and panic would pick among all of them anyway).
  return fallback != nullptr ? fallback : level.used[start];
}

std::vector<HostSelector::PriorityState> HostSelector::priorities() const {
  std::vector<PriorityState> out;
  for (const Level& level : levels_) {
    out.push_back(PriorityState{level.priority, any_load_ ? level.load : 0, level.panic, level.hosts.size(),
                                level.healthy});
  }
  return out;
}

}  // namespace remora::upstream
