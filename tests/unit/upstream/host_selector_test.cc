#include "proxy/upstream/host_selector.h"

#include <catch2/catch.hpp>

#include "tests/unit/fakes/allocation_counter.h"

#include <atomic>
#include <cstdlib>
#include <new>
#include <vector>

#include "proxy/upstream/stable_hash.h"
#include "tests/unit/upstream/lb_test_hosts.h"

using remora::upstream::Host;
using remora::upstream::HostHealthFlag;
using remora::upstream::HostSelector;
using remora::upstream::LoadBalancerContext;
using remora::upstream::testing::FakeClock;
using remora::upstream::testing::hashed;
using remora::upstream::testing::Shares;
using remora::upstream::testing::TestHosts;
using ClusterConfig = remora::xds::resources::Cluster;
using LbPolicy = ClusterConfig::LbPolicy;

using remora::testing::g_allocations;
using remora::testing::kCountsAllocations;

namespace {

constexpr int kPicks = 100000;

const std::vector<LbPolicy> kAllPolicies = {LbPolicy::kRoundRobin, LbPolicy::kLeastRequest, LbPolicy::kRandom,
                                            LbPolicy::kRingHash,   LbPolicy::kMaglev,       LbPolicy::kPeakEwma};

const char* policyName(LbPolicy p) {
  switch (p) {
    case LbPolicy::kRoundRobin: return "round robin";
    case LbPolicy::kLeastRequest: return "least request";
    case LbPolicy::kRandom: return "random";
    case LbPolicy::kRingHash: return "ring hash";
    case LbPolicy::kMaglev: return "maglev";
    case LbPolicy::kPeakEwma: return "peak ewma";
  }
  return "?";
}

ClusterConfig config(LbPolicy policy = LbPolicy::kRoundRobin) {
  ClusterConfig c;
  c.name = "backend";
  c.lb_policy = policy;
  return c;
}

// Picks `n` times; hashing policies get a fresh hash per pick.
Shares run(HostSelector& selector, int n = kPicks) {
  Shares s;
  for (int i = 0; i < n; ++i) {
    s.add(selector.pick(hashed(remora::upstream::mixBits(static_cast<uint64_t>(i) + 1))));
  }
  return s;
}

double shareOfPriority(const Shares& s, const TestHosts& hosts, uint32_t priority) {
  double total = 0;
  for (const auto& h : hosts.hosts) {
    if (h->priority() == priority) total += s.of(h.get());
  }
  return total;
}

}  // namespace

TEST_CASE("every balancer spreads picks within two points of the weights", "[upstream][lb]") {
  FakeClock clock;
  for (LbPolicy policy : kAllPolicies) {
    TestHosts hosts({1, 2, 3});
    HostSelector selector(config(policy), hosts.raw(), 42, clock.fn());
    const Shares s = run(selector);
    INFO(policyName(policy) << ": " << s.of(hosts[0]) << " " << s.of(hosts[1]) << " " << s.of(hosts[2]));
    CHECK(std::abs(s.of(hosts[0]) - 1.0 / 6) < 0.02);
    CHECK(std::abs(s.of(hosts[1]) - 2.0 / 6) < 0.02);
    CHECK(std::abs(s.of(hosts[2]) - 3.0 / 6) < 0.02);
    CHECK_FALSE(selector.panic());
  }
}

TEST_CASE("the selector skips hosts with any health flag once refreshed", "[upstream][lb]") {
  FakeClock clock;
  for (LbPolicy policy : kAllPolicies) {
    for (HostHealthFlag flag :
         {HostHealthFlag::kEdsUnhealthy, HostHealthFlag::kFailedActiveCheck, HostHealthFlag::kOutlierEjected}) {
      TestHosts hosts({1, 1, 1, 1});
      HostSelector selector(config(policy), hosts.raw(), 3, clock.fn());
      hosts[1]->setHealthFlag(flag, true);
      selector.refresh();
      const Shares s = run(selector, 20000);
      INFO(policyName(policy) << " flag " << int(flag));
      CHECK(s.of(hosts[1]) == 0);
      CHECK(std::abs(s.of(hosts[0]) - 1.0 / 3) < 0.03);
      CHECK_FALSE(selector.panic());
      // Clearing the flag brings it back.
      hosts[1]->setHealthFlag(flag, false);
      selector.refresh();
      CHECK(run(selector, 20000).of(hosts[1]) > 0.2);
    }
  }
}

TEST_CASE("a host flagged before the refresh is still skipped", "[upstream][lb]") {
  FakeClock clock;
  TestHosts hosts({1, 1, 1, 1});
  HostSelector selector(config(LbPolicy::kRoundRobin), hosts.raw(), 3, clock.fn());
  hosts[2]->setHealthFlag(HostHealthFlag::kOutlierEjected, true);  // no refresh yet
  CHECK(run(selector, 1000).of(hosts[2]) == 0);
}

TEST_CASE("a host holds health flags independently", "[upstream][lb]") {
  TestHosts hosts({1});
  Host& h = *hosts[0];
  CHECK(h.healthy());
  h.setHealthFlag(HostHealthFlag::kOutlierEjected, true);
  h.setHealthFlag(HostHealthFlag::kFailedActiveCheck, true);
  CHECK(h.healthFlags() == 6);
  h.setHealthFlag(HostHealthFlag::kOutlierEjected, false);
  CHECK_FALSE(h.healthy());
  h.setHealthFlag(HostHealthFlag::kFailedActiveCheck, false);
  CHECK(h.healthy());
}

TEST_CASE("priority zero keeps all traffic while it is healthy enough, then spills by the overprovisioning factor",
          "[upstream][lb]") {
  FakeClock clock;
  // Ten hosts at priority 0, ten at priority 1.
  std::vector<uint32_t> priorities(20, 0);
  for (size_t i = 10; i < 20; ++i) priorities[i] = 1;
  for (LbPolicy policy : kAllPolicies) {
    TestHosts hosts(std::vector<uint32_t>(20, 1), priorities);
    HostSelector selector(config(policy), hosts.raw(), 9, clock.fn());
    CHECK(shareOfPriority(run(selector), hosts, 0) == Approx(1.0));

    // 8 of 10 healthy: 140 * 0.8 = 112 >= 100, still everything at P0.
    hosts[0]->setHealthFlag(HostHealthFlag::kOutlierEjected, true);
    hosts[1]->setHealthFlag(HostHealthFlag::kOutlierEjected, true);
    selector.refresh();
    CHECK(shareOfPriority(run(selector), hosts, 0) == Approx(1.0));

    // 5 of 10 healthy: P0's health is 70, so 70 % stays and 30 % spills.
    for (size_t i = 2; i < 5; ++i) hosts[i]->setHealthFlag(HostHealthFlag::kEdsUnhealthy, true);
    selector.refresh();
    const auto states = selector.priorities();
    REQUIRE(states.size() == 2);
    CHECK(states[0].load_percent == 70);
    CHECK(states[1].load_percent == 30);
    const Shares s = run(selector);
    INFO(policyName(policy) << " P0 share " << shareOfPriority(s, hosts, 0));
    CHECK(std::abs(shareOfPriority(s, hosts, 0) - 0.70) < 0.02);
    for (size_t i = 0; i < 5; ++i) CHECK(s.of(hosts[i]) == 0);  // not panicking: unhealthy hosts get nothing
    CHECK_FALSE(selector.panic());
  }
}

TEST_CASE("a priority below the panic threshold balances over all its hosts", "[upstream][lb]") {
  FakeClock clock;
  TestHosts hosts({1, 1, 1, 1, 1, 1, 1, 1, 1, 1});
  HostSelector selector(config(LbPolicy::kRoundRobin), hosts.raw(), 9, clock.fn());
  // 4 of 10 healthy: below the 50 % threshold, so every host gets traffic.
  for (size_t i = 0; i < 6; ++i) hosts[i]->setHealthFlag(HostHealthFlag::kOutlierEjected, true);
  selector.refresh();
  const Shares s = run(selector, 10000);
  CHECK(selector.panic());
  for (size_t i = 0; i < 10; ++i) CHECK(std::abs(s.of(hosts[i]) - 0.1) < 0.01);
  // 5 of 10 is at the threshold, not below: out of panic, the unhealthy are skipped.
  hosts[5]->setHealthFlag(HostHealthFlag::kOutlierEjected, false);
  selector.refresh();
  const Shares t = run(selector, 10000);
  CHECK_FALSE(selector.panic());
  for (size_t i = 0; i < 5; ++i) CHECK(t.of(hosts[i]) == 0);
}

TEST_CASE("with no healthy host anywhere the selector panics across all hosts", "[upstream][lb]") {
  FakeClock clock;
  TestHosts hosts({1, 1, 1, 1}, {0, 0, 1, 1});
  HostSelector selector(config(LbPolicy::kRandom), hosts.raw(), 9, clock.fn());
  for (size_t i = 0; i < 4; ++i) hosts[i]->setHealthFlag(HostHealthFlag::kFailedActiveCheck, true);
  selector.refresh();
  const Shares s = run(selector, 20000);
  CHECK(selector.panic());
  for (size_t i = 0; i < 4; ++i) CHECK(std::abs(s.of(hosts[i]) - 0.25) < 0.02);

  // Panic disabled (threshold 0): nothing is picked rather than a host known bad.
  ClusterConfig no_panic = config(LbPolicy::kRandom);
  no_panic.healthy_panic_threshold = 0;
  HostSelector strict(no_panic, hosts.raw(), 9, clock.fn());
  CHECK(strict.pick(LoadBalancerContext{}) == nullptr);
  CHECK_FALSE(strict.panic());
}

TEST_CASE("a cluster with no host picks nothing", "[upstream][lb]") {
  FakeClock clock;
  for (LbPolicy policy : kAllPolicies) {
    HostSelector selector(config(policy), {}, 1, clock.fn());
    CHECK(selector.pick(LoadBalancerContext{}) == nullptr);
    CHECK_FALSE(selector.panic());
    CHECK(selector.priorities().empty());
  }
}

TEST_CASE("a retry avoids the hosts already tried when another exists", "[upstream][lb]") {
  FakeClock clock;
  for (LbPolicy policy : kAllPolicies) {
    TestHosts hosts({1, 1, 1});
    HostSelector selector(config(policy), hosts.raw(), 17, clock.fn());
    int repeats = 0;
    for (int i = 0; i < 2000; ++i) {
      LoadBalancerContext context = hashed(remora::upstream::mixBits(static_cast<uint64_t>(i) + 1));
      std::vector<const Host*> tried;
      context.tried = tried;
      const Host* first = selector.pick(context);
      tried.push_back(first);
      context.tried = tried;  // a span: re-taken after the vector grew
      context.attempt = 1;
      const Host* second = selector.pick(context);
      tried.push_back(second);
      context.tried = tried;
      context.attempt = 2;
      const Host* third = selector.pick(context);
      if (second == first || third == first || third == second) ++repeats;
    }
    INFO(policyName(policy) << ": " << repeats << " of 2000 retries went back to a tried host");
    CHECK(repeats == 0);
  }
  // Only one host: the retry goes back to it rather than nowhere.
  TestHosts one({1});
  HostSelector selector(config(), one.raw(), 1, clock.fn());
  std::vector<const Host*> tried = {one[0]};
  LoadBalancerContext context;
  context.tried = tried;
  context.attempt = 1;
  CHECK(selector.pick(context) == one[0]);
}

TEST_CASE("a hashed request keeps its host across picks and refreshes that do not touch it", "[upstream][lb]") {
  FakeClock clock;
  for (LbPolicy policy : {LbPolicy::kRingHash, LbPolicy::kMaglev}) {
    TestHosts hosts({1, 1, 1, 1});
    HostSelector selector(config(policy), hosts.raw(), 5, clock.fn());
    const Host* h = selector.pick(hashed(12345));
    CHECK(selector.pick(hashed(12345)) == h);
    Host* other = hosts[0] == h ? hosts[1] : hosts[0];
    other->setHealthFlag(HostHealthFlag::kOutlierEjected, true);
    selector.refresh();
    CHECK(selector.pick(hashed(12345)) == h);
  }
}

TEST_CASE("a hashed request stays on one priority while priority zero spills", "[upstream][lb]") {
  FakeClock clock;
  for (LbPolicy policy : {LbPolicy::kRingHash, LbPolicy::kMaglev}) {
    TestHosts hosts({1, 1, 1, 1}, {0, 0, 1, 1});
    HostSelector selector(config(policy), hosts.raw(), 5, clock.fn());
    hosts[0]->setHealthFlag(HostHealthFlag::kOutlierEjected, true);  // P0 health 70: 30 % spills
    selector.refresh();
    int changed = 0;
    for (uint64_t key = 1; key <= 1000; ++key) {
      const Host* first = selector.pick(hashed(key));
      for (int i = 0; i < 5; ++i) changed += selector.pick(hashed(key)) != first;
    }
    CHECK(changed == 0);
  }
}

TEST_CASE("peak ewma through the selector moves traffic off a host that turned slow", "[upstream][lb]") {
  FakeClock clock;
  TestHosts hosts({1, 1, 1});
  HostSelector selector(config(LbPolicy::kPeakEwma), hosts.raw(), 5, clock.fn());
  hosts[0]->recordLatency(clock.now, std::chrono::milliseconds(300));
  hosts[1]->recordLatency(clock.now, std::chrono::milliseconds(10));
  hosts[2]->recordLatency(clock.now, std::chrono::milliseconds(10));
  const Shares s = run(selector, 10000);
  // Two distinct draws: the slow host never wins one (it is picked only when
  // nine draws in a row fail to find a second host).
  CHECK(s.of(hosts[0]) < 0.001);
}

TEST_CASE("pick allocates nothing in steady state", "[upstream][lb]") {
  if (!kCountsAllocations) return;
  FakeClock clock;
  for (LbPolicy policy : kAllPolicies) {
    TestHosts hosts({1, 2, 3, 1, 1}, {0, 0, 0, 1, 1});
    HostSelector selector(config(policy), hosts.raw(), 5, clock.fn());
    hosts[0]->setHealthFlag(HostHealthFlag::kOutlierEjected, true);
    hosts[1]->setHealthFlag(HostHealthFlag::kOutlierEjected, true);
    selector.refresh();
    std::vector<const Host*> tried = {hosts[2]};
    LoadBalancerContext context = hashed(99, 1);
    context.tried = tried;
    const long before = g_allocations.load();
    for (int i = 0; i < 1000; ++i) {
      context.hash = remora::upstream::mixBits(static_cast<uint64_t>(i));
      selector.pick(context);
    }
    const long allocations = g_allocations.load() - before;
    INFO(policyName(policy));
    CHECK(allocations == 0);
  }
}
