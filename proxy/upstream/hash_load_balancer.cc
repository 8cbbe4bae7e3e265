#include "proxy/upstream/hash_load_balancer.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <string>
#include <utility>

#include "proxy/upstream/stable_hash.h"

namespace remora::upstream {

namespace {

uint64_t weightOf(const Host* host) { return host->weight() == 0 ? 1 : host->weight(); }

// Hosts sorted by name, so a table does not depend on the order the config
// listed them in (workers and sidecars must agree).
std::vector<Host*> sortedByName(const std::vector<Host*>& hosts) {
  std::vector<Host*> sorted = hosts;
  std::sort(sorted.begin(), sorted.end(), [](const Host* a, const Host* b) { return a->name() < b->name(); });
  return sorted;
}

bool isPrime(uint64_t n) {
  if (n < 2) return false;
  for (uint64_t d = 2; d * d <= n; ++d) {
    if (n % d == 0) return false;
  }
  return true;
}

}  // namespace

void HashLoadBalancer::countDistinctHosts() {
  std::vector<Host*> distinct = slots_;
  std::sort(distinct.begin(), distinct.end());
  distinct_hosts_ = static_cast<size_t>(std::unique(distinct.begin(), distinct.end()) - distinct.begin());
}

size_t HashLoadBalancer::slotsOf(const Host* host) const {
  return static_cast<size_t>(std::count(slots_.begin(), slots_.end(), host));
}

Host* HashLoadBalancer::pick(const LoadBalancerContext& context) {
  if (slots_.empty()) return nullptr;
  const uint64_t hash = context.hash ? *context.hash : random_.next();
  size_t slot = slotFor(hash);
  // Retry k goes to the k-th distinct host after the hash's position; more
  // retries than hosts wrap around, and the walk's memory is bounded.
  const size_t k = std::min<size_t>(context.attempt % distinct_hosts_, kMaxWalk - 1);
  std::array<const Host*, kMaxWalk> seen{};
  seen[0] = slots_[slot];
  size_t found = 1;
  while (found <= k) {
    slot = slot + 1 == slots_.size() ? 0 : slot + 1;
    const Host* candidate = slots_[slot];
    if (std::find(seen.begin(), seen.begin() + static_cast<std::ptrdiff_t>(found), candidate) ==
        seen.begin() + static_cast<std::ptrdiff_t>(found)) {
      seen[found++] = candidate;
    }
  }
  return slots_[slot];
}

RingHashLoadBalancer::RingHashLoadBalancer(const std::vector<Host*>& hosts, uint64_t seed, uint64_t minimum_size,
                                           uint64_t maximum_size)
    : HashLoadBalancer(seed) {
  if (hosts.empty()) return;
  const std::vector<Host*> sorted = sortedByName(hosts);
  maximum_size = std::max<uint64_t>(maximum_size, 1);
  minimum_size = std::clamp<uint64_t>(minimum_size, 1, maximum_size);
  uint64_t total = 0;
  for (const Host* h : sorted) total += weightOf(h);
  // Each unit of weight gets the same number of points, enough for the ring
  // to reach minimum_size, rounded up to a power of two. Envoy sizes the ring
  // to exactly the minimum instead, so removing one of five hosts gives the
  // other four 256 points instead of 205 and the 51 new ones steal keys among
  // them too (32 % of keys moved where 20 % had to); with the rounding a
  // membership change rarely changes the per-weight count at all.
  const uint64_t per_weight = std::bit_ceil((minimum_size + total - 1) / total);
  const double scale = static_cast<double>(std::min(per_weight * total, maximum_size));

  std::vector<std::pair<uint64_t, Host*>> ring;
  ring.reserve(static_cast<size_t>(std::ceil(scale)) + sorted.size());
  double target = 0;
  uint64_t placed = 0;
  std::string key;
  for (Host* h : sorted) {
    target += scale * static_cast<double>(weightOf(h)) / static_cast<double>(total);
    for (uint64_t i = 0; static_cast<double>(placed) < target; ++i, ++placed) {
      key = h->name();
      key += '_';
      key += std::to_string(i);
      ring.emplace_back(stableHash(key), h);
    }
  }
  // Ties (two points with one hash) are ordered by name, again so every
  // worker builds the same ring.
  std::sort(ring.begin(), ring.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first < b.first : a.second->name() < b.second->name();
  });
  points_.reserve(ring.size());
  slots_.reserve(ring.size());
  for (const auto& [point, host] : ring) {
    points_.push_back(point);
    slots_.push_back(host);
  }
  countDistinctHosts();
}

size_t RingHashLoadBalancer::slotFor(uint64_t hash) const {
  const auto it = std::lower_bound(points_.begin(), points_.end(), hash);
  return it == points_.end() ? 0 : static_cast<size_t>(it - points_.begin());
}

MaglevLoadBalancer::MaglevLoadBalancer(const std::vector<Host*>& hosts, uint64_t seed, uint64_t table_size)
    : HashLoadBalancer(seed) {
  if (hosts.empty()) return;
  uint64_t size = std::max<uint64_t>(table_size, 2);
  while (!isPrime(size)) ++size;

  struct Entry {
    Host* host;
    uint64_t offset;  // the host's first preferred slot
    uint64_t skip;    // its stride through the table, in [1, size - 1]
    uint64_t weight;
    uint64_t next = 0;    // how far along its permutation it is
    uint64_t target = 0;  // when (in iterations * weight) it may claim again
  };
  std::vector<Entry> entries;
  uint64_t heaviest = 0;
  for (Host* h : sortedByName(hosts)) {
    entries.push_back(Entry{h, stableHash(h->name(), 1) % size, stableHash(h->name(), 2) % (size - 1) + 1,
                            weightOf(h)});
    heaviest = std::max(heaviest, weightOf(h));
  }

  slots_.assign(size, nullptr);
  uint64_t filled = 0;
  for (uint64_t iteration = 1; filled < size; ++iteration) {
    for (Entry& e : entries) {
      if (filled == size) break;
      // A heaviest host claims a slot every iteration, one of a third of the
      // weight every third iteration: slot counts follow the weights.
      if (iteration * e.weight < e.target) continue;
      e.target += heaviest;
      uint64_t slot = (e.offset + e.next * e.skip) % size;
      while (slots_[slot] != nullptr) {
        ++e.next;
        slot = (e.offset + e.next * e.skip) % size;
      }
      slots_[slot] = e.host;
      ++e.next;
      ++filled;
    }
  }
  countDistinctHosts();
}

}  // namespace remora::upstream
