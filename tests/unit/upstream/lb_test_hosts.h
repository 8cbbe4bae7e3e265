// Test helpers for the balancer and host-selector tests: hosts on 127.0.0.1
// ports 8001, 8002... with given weights and priorities, a share counter and
// a fake clock. Single-threaded, test-only.
#pragma once

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <vector>

#include "proxy/upstream/host.h"
#include "proxy/upstream/load_balancer.h"

namespace remora::upstream::testing {

struct TestHosts {
  explicit TestHosts(const std::vector<uint32_t>& weights, const std::vector<uint32_t>& priorities = {}) {
    for (size_t i = 0; i < weights.size(); ++i) add(weights[i], i < priorities.size() ? priorities[i] : 0);
  }
  Host* add(uint32_t weight, uint32_t priority = 0) {
    auto address = net::Address::fromIpPort("127.0.0.1", static_cast<uint16_t>(8001 + hosts.size()));
    REQUIRE(address);
    hosts.push_back(std::make_unique<Host>(*address, weight, priority));
    return hosts.back().get();
  }
  std::vector<Host*> raw() const {
    std::vector<Host*> out;
    for (const auto& h : hosts) out.push_back(h.get());
    return out;
  }
  Host* operator[](size_t i) const { return hosts[i].get(); }
  size_t size() const { return hosts.size(); }
  std::vector<std::unique_ptr<Host>> hosts;
};

// Fraction of picks per host.
struct Shares {
  void add(const Host* h) {
    ++counts[h];
    ++total;
  }
  double of(const Host* h) const {
    auto it = counts.find(h);
    return it == counts.end() || total == 0 ? 0.0 : static_cast<double>(it->second) / static_cast<double>(total);
  }
  std::map<const Host*, uint64_t> counts;
  uint64_t total = 0;
};

// Time moves only when the test says so.
struct FakeClock {
  std::chrono::steady_clock::time_point now{std::chrono::seconds(1000)};
  void advance(std::chrono::nanoseconds d) { now += d; }
  std::function<std::chrono::steady_clock::time_point()> fn() {
    return [this] { return now; };
  }
};

// A context carrying a hash.
inline LoadBalancerContext hashed(uint64_t hash, uint32_t attempt = 0) {
  LoadBalancerContext c;
  c.hash = hash;
  c.attempt = attempt;
  return c;
}

}  // namespace remora::upstream::testing
