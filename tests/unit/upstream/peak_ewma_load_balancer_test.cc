#include "proxy/upstream/peak_ewma_load_balancer.h"

#include <catch2/catch.hpp>

#include <chrono>
#include <cmath>
#include <queue>
#include <utility>
#include <vector>

#include "tests/unit/upstream/lb_test_hosts.h"

using remora::upstream::Host;
using remora::upstream::LoadBalancerContext;
using remora::upstream::PeakEwmaLoadBalancer;
using remora::upstream::testing::FakeClock;
using remora::upstream::testing::Shares;
using remora::upstream::testing::TestHosts;
using namespace std::chrono_literals;

namespace {

double ms(double nanos) { return nanos / 1e6; }

// Requests arrive every `gap`; each host answers after its own latency. The
// balancer sees active requests and latency samples as the router would feed
// them. Returns the share of requests each host got after `warmup`.
Shares simulate(PeakEwmaLoadBalancer& lb, FakeClock& clock, const TestHosts& hosts,
                const std::vector<std::chrono::nanoseconds>& latency, int requests, int warmup,
                std::chrono::nanoseconds gap = 1ms) {
  using Done = std::pair<std::chrono::steady_clock::time_point, size_t>;  // when, host index
  std::priority_queue<Done, std::vector<Done>, std::greater<>> in_flight;
  Shares shares;
  for (int i = 0; i < requests; ++i) {
    clock.advance(gap);
    while (!in_flight.empty() && in_flight.top().first <= clock.now) {
      const auto [when, index] = in_flight.top();
      in_flight.pop();
      hosts[index]->recordLatency(when, latency[index]);
      hosts[index]->requestFinished();
    }
    Host* h = lb.pick(LoadBalancerContext{});
    REQUIRE(h != nullptr);
    size_t index = 0;
    while (hosts[index] != h) ++index;
    h->requestStarted();
    in_flight.push({clock.now + latency[index], index});
    if (i >= warmup) shares.add(h);
  }
  return shares;
}

}  // namespace

TEST_CASE("a latency above the estimate replaces it at once and a lower one decays in", "[upstream][lb]") {
  TestHosts hosts({1});
  Host& h = *hosts[0];
  FakeClock clock;
  h.setLatencyDecay(10s);
  CHECK_FALSE(h.hasLatencySample());
  h.recordLatency(clock.now, 10ms);
  CHECK(ms(h.latencyEstimateNanos(clock.now)) == Approx(10));
  clock.advance(1s);
  h.recordLatency(clock.now, 100ms);  // peak: no averaging
  CHECK(ms(h.latencyEstimateNanos(clock.now)) == Approx(100));
  clock.advance(10s);
  h.recordLatency(clock.now, 10ms);  // one decay period later: 1/e of the old value is left
  const double expected = 100 * std::exp(-1.0) + 10 * (1 - std::exp(-1.0));
  CHECK(ms(h.latencyEstimateNanos(clock.now)) == Approx(expected).epsilon(1e-6));
  // Without samples the estimate fades (so a slow host is probed again).
  clock.advance(10s);
  CHECK(ms(h.latencyEstimateNanos(clock.now)) == Approx(expected * std::exp(-1.0)).epsilon(1e-6));
}

TEST_CASE("peak ewma costs latency times active requests plus one, with a default for new hosts",
          "[upstream][lb]") {
  TestHosts hosts({1, 2});
  FakeClock clock;
  PeakEwmaLoadBalancer lb(hosts.raw(), 1, clock.fn());
  CHECK(ms(lb.cost(*hosts[0], clock.now)) == Approx(30));  // Linkerd's 30 ms for a host never sampled
  hosts[0]->recordLatency(clock.now, 20ms);
  hosts[0]->requestStarted();
  hosts[0]->requestStarted();
  CHECK(ms(lb.cost(*hosts[0], clock.now)) == Approx(60));
  hosts[1]->recordLatency(clock.now, 20ms);
  hosts[1]->requestStarted();
  CHECK(ms(lb.cost(*hosts[1], clock.now)) == Approx(40));
}

TEST_CASE("peak ewma splits idle equally fast hosts by weight", "[upstream][lb]") {
  TestHosts hosts({1, 2, 3});
  FakeClock clock;
  PeakEwmaLoadBalancer lb(hosts.raw(), 11, clock.fn());
  Shares s;
  for (int i = 0; i < 100000; ++i) s.add(lb.pick(LoadBalancerContext{}));
  INFO(s.of(hosts[0]) << " " << s.of(hosts[1]) << " " << s.of(hosts[2]));
  CHECK(std::abs(s.of(hosts[0]) - 1.0 / 6) < 0.02);
  CHECK(std::abs(s.of(hosts[1]) - 2.0 / 6) < 0.02);
  CHECK(std::abs(s.of(hosts[2]) - 3.0 / 6) < 0.02);
}

TEST_CASE("peak ewma moves traffic away from a slow host", "[upstream][lb]") {
  TestHosts hosts({1, 1, 1});
  FakeClock clock;
  PeakEwmaLoadBalancer lb(hosts.raw(), 5, clock.fn());
  // Host a answers in 300 ms, b and c in 10 ms; one request per millisecond
  // for 60 s, measured after the first 5 s.
  const Shares s = simulate(lb, clock, hosts, {300ms, 10ms, 10ms}, 60000, 5000);
  const double slow = s.of(hosts[0]);
  WARN("peak-EWMA share of the slow host: " << slow * 100 << " % (b " << s.of(hosts[1]) * 100 << " %, c "
                                            << s.of(hosts[2]) * 100 << " %)");
  CHECK(slow < 0.05);
  CHECK(std::abs(s.of(hosts[1]) - s.of(hosts[2])) < 0.05);
}

TEST_CASE("peak ewma sends traffic back to a slow host once it recovers", "[upstream][lb]") {
  TestHosts hosts({1, 1, 1});
  FakeClock clock;
  PeakEwmaLoadBalancer lb(hosts.raw(), 5, clock.fn());
  simulate(lb, clock, hosts, {300ms, 10ms, 10ms}, 20000, 0);
  // The estimate of a fades while it gets no samples; once probed it answers
  // fast, and within a few decay periods it carries its share again.
  const Shares s = simulate(lb, clock, hosts, {10ms, 10ms, 10ms}, 100000, 60000);
  INFO("share of the recovered host " << s.of(hosts[0]));
  CHECK(s.of(hosts[0]) > 0.25);
}

TEST_CASE("peak ewma with one host or none", "[upstream][lb]") {
  FakeClock clock;
  PeakEwmaLoadBalancer none({}, 1, clock.fn());
  CHECK(none.pick(LoadBalancerContext{}) == nullptr);
  TestHosts hosts({1});
  PeakEwmaLoadBalancer one(hosts.raw(), 1, clock.fn());
  CHECK(one.pick(LoadBalancerContext{}) == hosts[0]);
}
