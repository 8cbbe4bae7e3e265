// Consistent-hashing balancers: ring hash (ketama, as Envoy's RING_HASH) and
// Maglev (Google's NSDI 2016 paper, weighted as Envoy's MAGLEV).
//
// Worker-local, built by HostSelector over the hosts of one priority and
// rebuilt when membership or health changes (construction is O(table size);
// pick() is O(log n) for the ring, O(1) for Maglev, and never allocates).
//
// Both place hosts by the stableHash of Host::name() and are independent of
// the order hosts are given in, so every worker and every sidecar sends the
// same request hash to the same host, and removing one of N hosts moves only
// the keys that host held (about 1/N; Maglev moves slightly more).
//
// A request without a hash (no hash policy matched) lands on a random point,
// which still honours the weights. On a retry (attempt k > 0) the balancer
// walks forward from the hash's position to the k-th distinct host, so
// retries of one key are spread deterministically over other hosts.
#pragma once

#include <cstdint>
#include <vector>

#include "proxy/upstream/load_balancer.h"

namespace remora::upstream {

// The shared half: a table of host slots, the walk to the k-th distinct host
// for retries, and the random point for requests without a hash.
class HashLoadBalancer : public LoadBalancer {
 public:
  Host* pick(const LoadBalancerContext& context) final;
  // Number of ring entries or table slots (for tests and the admin page).
  size_t slotCount() const { return slots_.size(); }
  // How many slots `host` owns.
  size_t slotsOf(const Host* host) const;

 protected:
  explicit HashLoadBalancer(uint64_t seed) : random_(seed) {}
  // The slot a hash falls on (slots_ is not empty).
  virtual size_t slotFor(uint64_t hash) const = 0;
  // Derived constructors call this once slots_ is filled.
  void countDistinctHosts();

  std::vector<Host*> slots_;

 private:
  // Bounds the retry walk's memory of hosts seen (a fixed array: no allocation).
  static constexpr size_t kMaxWalk = 16;
  size_t distinct_hosts_ = 0;
  Random random_;
};

// Ketama ring: each host owns points hashed from "<name>_<i>", as many as
// its share of the weight times the ring size; a hash belongs to the first
// point at or after it, clockwise. Ring size: every unit of weight gets
// bit_ceil(ceil(minimum_size / total weight)) points (so the ring holds at
// least minimum_size, under twice that), at most maximum_size in all, shared
// by weight. Unlike Envoy's exact sizing this keeps the other hosts' points
// when one leaves (see the .cc).
class RingHashLoadBalancer : public HashLoadBalancer {
 public:
  RingHashLoadBalancer(const std::vector<Host*>& hosts, uint64_t seed, uint64_t minimum_size = 1024,
                       uint64_t maximum_size = 8 * 1024 * 1024);

 private:
  size_t slotFor(uint64_t hash) const override;
  std::vector<uint64_t> points_;  // sorted; slots_[i] owns points_[i]
};

// Maglev lookup table of a prime size M: each host walks its own permutation
// of the slots (offset and skip from two hashes of its name) and claims the
// next free slot on its turn; a host of weight w takes a turn in w of every
// max-weight rounds, so slot counts follow the weights almost exactly.
// A table size that is not prime is rounded up to the next prime (the
// permutations only cover every slot when the skip is coprime with M).
class MaglevLoadBalancer : public HashLoadBalancer {
 public:
  static constexpr uint64_t kDefaultTableSize = 65537;
  MaglevLoadBalancer(const std::vector<Host*>& hosts, uint64_t seed, uint64_t table_size = kDefaultTableSize);

 private:
  size_t slotFor(uint64_t hash) const override { return static_cast<size_t>(hash % slots_.size()); }
};

}  // namespace remora::upstream
