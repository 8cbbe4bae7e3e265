#include "proxy/upstream/outlier_detector.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <vector>

using remora::net::Address;
using remora::upstream::EjectionKind;
using remora::upstream::HostOutcome;
using remora::upstream::OutlierDetector;
using remora::xds::resources::OutlierDetection;
using std::chrono::milliseconds;
using std::chrono::seconds;
using std::chrono::steady_clock;

namespace {

Address host(int i) {
  auto address = Address::fromIpPort("127.0.0.1", static_cast<uint16_t>(8000 + i));
  REQUIRE(address);
  return *address;
}

std::vector<Address> hosts(int count) {
  std::vector<Address> out;
  for (int i = 0; i < count; ++i) out.push_back(host(i));
  return out;
}

struct Change {
  std::string address;
  bool ejected;
  std::string reason;
};

// A detector on a fake clock that records every change it announces.
struct Fixture {
  explicit Fixture(OutlierDetection config, int host_count = 5, uint64_t seed = 42)
      : detector(
            config, [this] { return now; }, seed,
            [this](const Address& address, bool ejected, const std::string& reason) {
              changes.push_back({address.toString(), ejected, reason});
            }) {
    detector.setHosts(hosts(host_count));
  }
  void repeat(int i, HostOutcome outcome, int times) {
    for (int n = 0; n < times; ++n) detector.report(host(i), outcome);
  }
  // `successes` successes and `failures` upstream 5xx, alternating while
  // both last (the surplus comes in one run).
  void traffic(int i, int successes, int failures) {
    for (int n = 0; n < successes || n < failures; ++n) {
      if (n < failures) detector.report(host(i), HostOutcome::kUpstream5xx);
      if (n < successes) detector.report(host(i), HostOutcome::kSuccess);
    }
  }
  bool ejected(int i) const {
    const auto* state = detector.state(host(i));
    REQUIRE(state != nullptr);
    return state->ejected;
  }
  steady_clock::time_point start{seconds(1000)};
  steady_clock::time_point now{start};
  std::vector<Change> changes;
  OutlierDetector detector;
};

}  // namespace

TEST_CASE("five consecutive 5xx eject a host at once with a precise reason", "[upstream][outlier]") {
  Fixture f(OutlierDetection{});
  f.repeat(0, HostOutcome::kUpstream5xx, 4);
  CHECK_FALSE(f.ejected(0));
  f.detector.report(host(0), HostOutcome::kUpstream5xx);
  CHECK(f.ejected(0));
  REQUIRE(f.changes.size() == 1);
  CHECK(f.changes[0].address == "127.0.0.1:8000");
  CHECK(f.changes[0].ejected);
  CHECK(f.changes[0].reason == "5 consecutive 5xx responses");
  CHECK(f.detector.state(host(0))->reason == "5 consecutive 5xx responses");
  CHECK(f.detector.counters().ejectedOf(EjectionKind::kConsecutive5xx) == 1);
  CHECK(f.detector.counters().ejectedTotal() == 1);
}

TEST_CASE("a success resets the consecutive 5xx streak", "[upstream][outlier]") {
  Fixture f(OutlierDetection{});
  f.repeat(0, HostOutcome::kUpstream5xx, 4);
  f.detector.report(host(0), HostOutcome::kSuccess);
  f.repeat(0, HostOutcome::kUpstream5xx, 4);
  CHECK_FALSE(f.ejected(0));
  CHECK(f.changes.empty());
  f.detector.report(host(0), HostOutcome::kUpstream5xx);
  CHECK(f.ejected(0));
}

TEST_CASE("consecutive gateway failures eject when enforced", "[upstream][outlier]") {
  OutlierDetection config;
  config.consecutive_5xx = 100;
  config.enforcing_consecutive_gateway_failure = 100;
  Fixture f(config);
  f.repeat(0, HostOutcome::kGatewayFailure, 4);
  f.detector.report(host(0), HostOutcome::kUpstream5xx);  // a plain 5xx breaks the gateway streak
  f.repeat(0, HostOutcome::kGatewayFailure, 4);
  CHECK_FALSE(f.ejected(0));
  f.detector.report(host(0), HostOutcome::kGatewayFailure);
  CHECK(f.ejected(0));
  REQUIRE(f.changes.size() == 1);
  CHECK(f.changes[0].reason == "5 consecutive gateway failures (502/503/504)");
  CHECK(f.detector.counters().ejectedOf(EjectionKind::kConsecutiveGatewayFailure) == 1);
}

TEST_CASE("enforcing 0 detects gateway failures but does not eject for them", "[upstream][outlier]") {
  OutlierDetection config;  // enforcing_consecutive_gateway_failure defaults to 0
  config.consecutive_5xx = 100;
  Fixture f(config);
  f.repeat(0, HostOutcome::kGatewayFailure, 10);
  CHECK_FALSE(f.ejected(0));
  CHECK(f.changes.empty());
  CHECK(f.detector.counters().detectedOf(EjectionKind::kConsecutiveGatewayFailure) == 2);
  CHECK(f.detector.counters().ejectedTotal() == 0);
}

TEST_CASE("gateway failures also count as 5xx, which eject by default", "[upstream][outlier]") {
  Fixture f(OutlierDetection{});
  f.repeat(0, HostOutcome::kGatewayFailure, 5);
  CHECK(f.ejected(0));
  CHECK(f.detector.state(host(0))->reason == "5 consecutive 5xx responses");
  CHECK(f.detector.counters().detectedOf(EjectionKind::kConsecutiveGatewayFailure) == 1);
  CHECK(f.detector.counters().ejectedOf(EjectionKind::kConsecutiveGatewayFailure) == 0);
  CHECK(f.detector.counters().ejectedOf(EjectionKind::kConsecutive5xx) == 1);
}

TEST_CASE("without split, local-origin failures count as 5xx", "[upstream][outlier]") {
  Fixture f(OutlierDetection{});
  f.repeat(0, HostOutcome::kLocalOriginFailure, 2);
  f.detector.report(host(0), HostOutcome::kLocalOriginSuccess);  // ignored without split
  f.repeat(0, HostOutcome::kLocalOriginFailure, 3);
  CHECK(f.ejected(0));
  CHECK(f.detector.state(host(0))->reason == "5 consecutive 5xx responses");
}

TEST_CASE("with split, local-origin failures have their own streak", "[upstream][outlier]") {
  OutlierDetection config;
  config.split_external_local_origin_errors = true;
  config.max_ejection_percent = 100;
  Fixture f(config);

  // A connect success resets the local-origin streak.
  f.repeat(0, HostOutcome::kLocalOriginFailure, 4);
  f.detector.report(host(0), HostOutcome::kLocalOriginSuccess);
  f.repeat(0, HostOutcome::kLocalOriginFailure, 4);
  CHECK_FALSE(f.ejected(0));
  f.detector.report(host(0), HostOutcome::kLocalOriginFailure);
  CHECK(f.ejected(0));
  CHECK(f.detector.state(host(0))->reason == "5 consecutive local-origin failures (connect/timeout/reset)");
  CHECK(f.detector.counters().ejectedOf(EjectionKind::kConsecutiveLocalOriginFailure) == 1);

  // Local-origin failures neither count toward nor break the 5xx streak.
  f.repeat(1, HostOutcome::kUpstream5xx, 4);
  f.repeat(1, HostOutcome::kLocalOriginFailure, 2);
  CHECK_FALSE(f.ejected(1));
  f.detector.report(host(1), HostOutcome::kUpstream5xx);
  CHECK(f.ejected(1));
  CHECK(f.detector.state(host(1))->reason == "5 consecutive 5xx responses");
}

TEST_CASE("ejection lasts base time times the ejection count, capped at the maximum", "[upstream][outlier]") {
  OutlierDetection config;
  config.max_ejection_time = milliseconds(50000);
  Fixture f(config);

  f.repeat(0, HostOutcome::kUpstream5xx, 5);
  REQUIRE(f.ejected(0));
  CHECK(f.detector.state(host(0))->times_ejected == 1);
  CHECK(f.detector.state(host(0))->ejected_until == f.start + seconds(30));
  REQUIRE(f.detector.nextUnejection().has_value());
  CHECK(*f.detector.nextUnejection() == f.start + seconds(30));

  f.now = f.start + milliseconds(29999);
  f.detector.onInterval();
  CHECK(f.ejected(0));
  f.now = f.start + seconds(30);
  f.detector.onInterval();
  CHECK_FALSE(f.ejected(0));
  CHECK_FALSE(f.detector.nextUnejection().has_value());
  REQUIRE(f.changes.size() == 2);
  CHECK_FALSE(f.changes[1].ejected);
  CHECK(f.changes[1].reason == "ejection time of 30 s over");

  // Second ejection right away: 2 x 30 s = 60 s, capped at 50 s.
  f.now = f.start + seconds(31);
  f.repeat(0, HostOutcome::kUpstream5xx, 5);
  CHECK(f.detector.state(host(0))->times_ejected == 2);
  CHECK(f.detector.state(host(0))->ejected_until == f.start + seconds(81));
  f.now = f.start + seconds(81);
  f.detector.onInterval();
  CHECK_FALSE(f.ejected(0));
  CHECK(f.changes.back().reason == "ejection time of 50 s over");

  // The multiplier stops at the cap, the time stays at 50 s.
  f.repeat(0, HostOutcome::kUpstream5xx, 5);
  CHECK(f.detector.state(host(0))->times_ejected == 2);
  CHECK(f.detector.state(host(0))->ejected_until == f.start + seconds(131));
}

TEST_CASE("the second ejection lasts 60 s under the default maximum", "[upstream][outlier]") {
  Fixture f(OutlierDetection{});
  f.repeat(0, HostOutcome::kUpstream5xx, 5);
  f.now = f.start + seconds(30);
  f.detector.onInterval();
  REQUIRE_FALSE(f.ejected(0));
  f.repeat(0, HostOutcome::kUpstream5xx, 5);
  CHECK(f.detector.state(host(0))->ejected_until == f.start + seconds(90));
  f.now = f.start + seconds(90);
  f.detector.onInterval();
  CHECK(f.changes.back().reason == "ejection time of 60 s over");
}

TEST_CASE("the multiplier drops by one for every interval a host stays back", "[upstream][outlier]") {
  OutlierDetection config;
  config.base_ejection_time = milliseconds(1000);
  Fixture f(config);
  auto ejectAndReturn = [&f] {
    f.repeat(0, HostOutcome::kUpstream5xx, 5);
    REQUIRE(f.ejected(0));
    f.now = f.detector.state(host(0))->ejected_until;
    f.detector.onInterval();
    REQUIRE_FALSE(f.ejected(0));
  };
  ejectAndReturn();
  ejectAndReturn();
  ejectAndReturn();
  CHECK(f.detector.state(host(0))->times_ejected == 3);

  const auto back = f.now;
  f.now = back + milliseconds(9999);  // less than one interval (10 s) back: no decay
  f.detector.onInterval();
  CHECK(f.detector.state(host(0))->times_ejected == 3);
  f.now = back + seconds(10);
  f.detector.onInterval();
  CHECK(f.detector.state(host(0))->times_ejected == 2);
  f.now = back + seconds(20);
  f.detector.onInterval();
  CHECK(f.detector.state(host(0))->times_ejected == 1);

  // The next ejection is 2 x 1 s, not 4 x 1 s.
  f.repeat(0, HostOutcome::kUpstream5xx, 5);
  CHECK(f.detector.state(host(0))->times_ejected == 2);
  CHECK(f.detector.state(host(0))->ejected_until == f.now + seconds(2));

  // An ejected host does not decay.
  f.now += seconds(1);
  f.detector.onInterval();
  CHECK(f.detector.state(host(0))->times_ejected == 2);
}

TEST_CASE("unejectExpired brings a host back at nextUnejection without ending the interval",
          "[upstream][outlier]") {
  OutlierDetection config;
  config.max_ejection_percent = 100;
  Fixture f(config);
  f.repeat(4, HostOutcome::kUpstream5xx, 5);
  REQUIRE(f.ejected(4));
  f.now = f.start + seconds(9);
  // Success-rate traffic for the interval; host 3 is the outlier.
  for (int i = 0; i < 3; ++i) f.traffic(i, 100, 0);
  f.traffic(3, 50, 50);
  f.now = *f.detector.nextUnejection() - milliseconds(1);
  f.detector.unejectExpired();
  CHECK(f.ejected(4));
  f.now = *f.detector.nextUnejection();
  f.detector.unejectExpired();
  CHECK_FALSE(f.ejected(4));
  CHECK(f.changes.back().reason == "ejection time of 30 s over");
  f.traffic(4, 100, 0);

  // The interval's counts survived unejectExpired(): host 3 is now found.
  f.detector.onInterval();
  CHECK(f.ejected(3));
  CHECK(f.detector.counters().ejectedOf(EjectionKind::kSuccessRate) == 1);
}

TEST_CASE("success rate ejects a host below mean minus 1.9 standard deviations", "[upstream][outlier]") {
  Fixture f(OutlierDetection{});
  for (int i = 0; i < 4; ++i) f.traffic(i, 100, 0);
  f.traffic(4, 50, 50);
  f.detector.onInterval();
  CHECK(f.ejected(4));
  for (int i = 0; i < 4; ++i) CHECK_FALSE(f.ejected(i));
  REQUIRE(f.changes.size() == 1);
  // Rates 100, 100, 100, 100, 50: mean 90, stdev sqrt((4 * 100 + 1600) / 5) = 20,
  // threshold 90 - 1.9 * 20 = 52.
  CHECK(f.changes[0].reason == "success rate 50.0% below threshold 52.0% (mean 90.0%, stdev 20.0%)");
}

TEST_CASE("the stdev factor decides whether a low host is an outlier", "[upstream][outlier]") {
  // Rates 100, 90, 100, 90, 80: mean 92, stdev sqrt(280 / 5) = 7.483.
  auto run = [](uint32_t factor) {
    OutlierDetection config;
    config.success_rate_stdev_factor = factor;
    auto f = std::make_unique<Fixture>(config);
    f->traffic(0, 100, 0);
    f->traffic(1, 90, 10);
    f->traffic(2, 100, 0);
    f->traffic(3, 90, 10);
    f->traffic(4, 80, 20);
    f->detector.onInterval();
    return f;
  };
  auto strict = run(1900);  // threshold 77.8: 80 stays
  CHECK(strict->changes.empty());
  auto loose = run(1000);  // threshold 84.5: 80 goes
  REQUIRE(loose->changes.size() == 1);
  CHECK(loose->changes[0].address == "127.0.0.1:8004");
  CHECK(loose->changes[0].reason == "success rate 80.0% below threshold 84.5% (mean 92.0%, stdev 7.5%)");
}

TEST_CASE("success rate needs enough hosts with enough requests", "[upstream][outlier]") {
  Fixture f(OutlierDetection{});
  for (int i = 0; i < 3; ++i) f.traffic(i, 100, 0);
  f.traffic(3, 99, 0);  // under success_rate_request_volume: not a candidate
  f.traffic(4, 50, 50);
  f.detector.onInterval();
  CHECK(f.changes.empty());

  // Counts start over each interval: 99 more requests do not make 198.
  f.traffic(3, 99, 0);
  f.detector.onInterval();
  CHECK(f.changes.empty());
}

TEST_CASE("failure percentage ejects at or above the threshold when enforced", "[upstream][outlier]") {
  OutlierDetection config;
  config.enforcing_failure_percentage = 100;
  config.max_ejection_percent = 100;
  config.consecutive_5xx = 0;  // off: the failures below come in long runs
  Fixture f(config);
  for (int i = 0; i < 3; ++i) f.traffic(i, 50, 0);
  f.traffic(3, 8, 42);  // 84 %: below
  f.traffic(4, 5, 45);  // 90 %
  f.detector.onInterval();
  CHECK_FALSE(f.ejected(3));
  CHECK(f.ejected(4));
  REQUIRE(f.changes.size() == 1);
  CHECK(f.changes[0].reason == "failure rate 90% at or above 85%");
  CHECK(f.detector.counters().ejectedOf(EjectionKind::kFailurePercentage) == 1);
}

TEST_CASE("failure percentage only detects under the default enforcement of 0", "[upstream][outlier]") {
  OutlierDetection config;
  config.consecutive_5xx = 0;
  Fixture f(config);
  for (int i = 0; i < 4; ++i) f.traffic(i, 50, 0);
  f.traffic(4, 5, 45);
  f.detector.onInterval();
  CHECK_FALSE(f.ejected(4));
  CHECK(f.changes.empty());
  CHECK(f.detector.counters().detectedOf(EjectionKind::kFailurePercentage) == 1);
  CHECK(f.detector.counters().ejectedTotal() == 0);
}

TEST_CASE("local-origin failure percentage counts connection outcomes when split", "[upstream][outlier]") {
  OutlierDetection config;
  config.split_external_local_origin_errors = true;
  config.consecutive_local_origin_failure = 0;  // off, so only the percentage can eject
  config.enforcing_failure_percentage_local_origin = 100;
  Fixture f(config);
  for (int i = 0; i < 4; ++i) f.repeat(i, HostOutcome::kLocalOriginSuccess, 50);
  for (int n = 0; n < 50; ++n) {
    f.detector.report(host(4), n % 10 == 0 ? HostOutcome::kLocalOriginSuccess : HostOutcome::kLocalOriginFailure);
  }
  f.detector.onInterval();
  CHECK(f.ejected(4));
  CHECK(f.detector.state(host(4))->reason == "local-origin failure rate 90% at or above 85%");
  CHECK(f.detector.counters().ejectedOf(EjectionKind::kFailurePercentageLocalOrigin) == 1);
}

TEST_CASE("max_ejection_percent caps ejections but always allows one", "[upstream][outlier]") {
  SECTION("3 hosts at 10 %: one host, the next is overflow") {
    Fixture f(OutlierDetection{}, 3);
    f.repeat(0, HostOutcome::kUpstream5xx, 5);
    f.repeat(1, HostOutcome::kUpstream5xx, 5);
    CHECK(f.ejected(0));
    CHECK_FALSE(f.ejected(1));
    CHECK(f.detector.ejectedCount() == 1);
    CHECK(f.detector.counters().overflow == 1);
    CHECK(f.detector.counters().detectedOf(EjectionKind::kConsecutive5xx) == 2);
  }
  SECTION("20 hosts at 10 %: two hosts") {
    Fixture f(OutlierDetection{}, 20);
    for (int i = 0; i < 3; ++i) f.repeat(i, HostOutcome::kUpstream5xx, 5);
    CHECK(f.detector.ejectedCount() == 2);
    CHECK_FALSE(f.ejected(2));
    CHECK(f.detector.counters().overflow == 1);
  }
  SECTION("0 % ejects nothing") {
    OutlierDetection config;
    config.max_ejection_percent = 0;
    Fixture f(config, 3);
    f.repeat(0, HostOutcome::kUpstream5xx, 5);
    CHECK_FALSE(f.ejected(0));
    CHECK(f.detector.counters().overflow == 1);
  }
  SECTION("100 % may eject every host") {
    OutlierDetection config;
    config.max_ejection_percent = 100;
    Fixture f(config, 3);
    for (int i = 0; i < 3; ++i) f.repeat(i, HostOutcome::kUpstream5xx, 5);
    CHECK(f.detector.ejectedCount() == 3);
    CHECK(f.detector.counters().overflow == 0);
  }
  SECTION("a host that comes back frees its slot") {
    Fixture f(OutlierDetection{}, 3);
    f.repeat(0, HostOutcome::kUpstream5xx, 5);
    f.now = f.start + seconds(30);
    f.detector.onInterval();
    f.repeat(1, HostOutcome::kUpstream5xx, 5);
    CHECK(f.ejected(1));
  }
}

TEST_CASE("a partial enforcement percentage ejects that share of detections, replayably",
          "[upstream][outlier]") {
  OutlierDetection config;
  config.enforcing_consecutive_5xx = 30;
  config.max_ejection_percent = 100;
  auto run = [&config](uint64_t seed) {
    Fixture f(config, 1000, seed);
    for (int i = 0; i < 1000; ++i) f.repeat(i, HostOutcome::kUpstream5xx, 5);
    std::vector<bool> ejected;
    for (int i = 0; i < 1000; ++i) ejected.push_back(f.ejected(i));
    CHECK(f.detector.counters().detectedOf(EjectionKind::kConsecutive5xx) == 1000);
    return ejected;
  };
  auto first = run(7);
  size_t count = 0;
  for (bool e : first) count += e ? 1 : 0;
  CHECK(count >= 250);
  CHECK(count <= 350);
  CHECK(run(7) == first);
  CHECK(run(8) != first);
}

TEST_CASE("removed hosts are forgotten and staying hosts keep their state", "[upstream][outlier]") {
  OutlierDetection config;
  config.max_ejection_percent = 100;
  Fixture f(config, 3);
  f.repeat(0, HostOutcome::kUpstream5xx, 5);
  f.repeat(1, HostOutcome::kUpstream5xx, 5);
  f.repeat(2, HostOutcome::kUpstream5xx, 4);
  REQUIRE(f.ejected(0));
  REQUIRE(f.ejected(1));
  const size_t changes = f.changes.size();

  f.detector.setHosts({host(1), host(2)});
  CHECK(f.detector.state(host(0)) == nullptr);
  CHECK(f.detector.hostCount() == 2);
  CHECK(f.changes.size() == changes);  // no callback for a removed host
  f.detector.report(host(0), HostOutcome::kUpstream5xx);  // ignored
  CHECK(f.ejected(1));  // kept
  CHECK(*f.detector.nextUnejection() == f.detector.state(host(1))->ejected_until);
  f.detector.report(host(2), HostOutcome::kUpstream5xx);  // the streak of 4 was kept
  CHECK(f.ejected(2));

  f.detector.setHosts({host(0), host(1), host(2)});
  REQUIRE(f.detector.state(host(0)) != nullptr);
  CHECK_FALSE(f.ejected(0));
  CHECK(f.detector.state(host(0))->times_ejected == 0);
  f.repeat(0, HostOutcome::kUpstream5xx, 4);
  CHECK_FALSE(f.ejected(0));
}

TEST_CASE("a change callback may change the membership", "[upstream][outlier]") {
  OutlierDetection config;
  std::vector<std::string> seen;
  steady_clock::time_point now{};
  OutlierDetector* self = nullptr;
  OutlierDetector detector(
      config, [&now] { return now; }, 1,
      [&](const Address& address, bool ejected, const std::string&) {
        seen.push_back(address.toString() + (ejected ? " out" : " in"));
        if (ejected) self->setHosts({host(1)});
      });
  self = &detector;
  detector.setHosts(hosts(2));
  for (int n = 0; n < 5; ++n) detector.report(host(0), HostOutcome::kUpstream5xx);
  CHECK(seen == std::vector<std::string>{"127.0.0.1:8000 out"});
  CHECK(detector.state(host(0)) == nullptr);
  CHECK(detector.hostCount() == 1);
}
