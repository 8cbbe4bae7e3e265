#include "proxy/upstream/original_dst_hosts.h"

#include <catch2/catch.hpp>

using remora::net::Address;
using remora::upstream::LocalListeners;
using remora::upstream::OriginalDstHosts;
using namespace std::chrono_literals;

namespace {

struct FakeClock {
  std::chrono::steady_clock::time_point now{};
  OriginalDstHosts::Clock fn() {
    return [this] { return now; };
  }
};

Address at(const char* text) { return *Address::parse(text); }

}  // namespace

TEST_CASE("a host is made on first use of an original destination and reused after", "[upstream][original_dst]") {
  FakeClock clock;
  OriginalDstHosts hosts(5s, std::nullopt, clock.fn());
  auto& a = hosts.get(at("10.0.0.1:80"));
  CHECK(a.address() == at("10.0.0.1:80"));
  CHECK(&hosts.get(at("10.0.0.1:80")) == &a);
  CHECK(&hosts.get(at("10.0.0.1:81")) != &a);
  CHECK(hosts.size() == 2);
}

TEST_CASE("upstream_port_override replaces the original port", "[upstream][original_dst]") {
  FakeClock clock;
  OriginalDstHosts hosts(5s, uint16_t{8080}, clock.fn());
  auto& a = hosts.get(at("10.0.0.1:80"));
  CHECK(a.address() == at("10.0.0.1:8080"));
  CHECK(&hosts.get(at("10.0.0.1:443")) == &a);
  CHECK(hosts.find(at("10.0.0.1:8080")) == &a);
}

TEST_CASE("a host unused for the cleanup interval expires while a used or busy one stays", "[upstream][original_dst]") {
  FakeClock clock;
  OriginalDstHosts hosts(5s, std::nullopt, clock.fn());
  hosts.get(at("10.0.0.1:80"));
  auto& busy = hosts.get(at("10.0.0.2:80"));
  busy.requestStarted();
  clock.now += 4s;
  hosts.get(at("10.0.0.3:80"));
  CHECK(hosts.expire().empty());
  clock.now += 1s;
  auto gone = hosts.expire();
  REQUIRE(gone.size() == 1);
  CHECK(gone[0]->address() == at("10.0.0.1:80"));
  CHECK(hosts.find(at("10.0.0.1:80")) == nullptr);
  CHECK(hosts.find(at("10.0.0.2:80")) == &busy);  // a session still uses it
  clock.now += 5s;
  busy.requestFinished();
  CHECK(hosts.expire().size() == 2);
  CHECK(hosts.size() == 0);
  // The address gets a fresh host when traffic returns.
  CHECK(hosts.get(at("10.0.0.1:80")).address() == at("10.0.0.1:80"));
}

TEST_CASE("a destination on one of our listeners is a loop", "[upstream][original_dst]") {
  LocalListeners listeners;
  listeners.add(at("10.250.0.1:15001"));
  listeners.add(at("0.0.0.0:15006"));
  CHECK(listeners.contains(at("10.250.0.1:15001")));
  CHECK_FALSE(listeners.contains(at("10.250.0.2:15001")));
  CHECK(listeners.contains(at("127.0.0.1:15006")));  // loopback is always local
  CHECK_FALSE(listeners.contains(at("192.0.2.1:15006")));  // TEST-NET: not on this host
  CHECK(listeners.contains(at("[::ffff:10.250.0.1]:15001")));
  listeners.remove(at("10.250.0.1:15001"));
  CHECK_FALSE(listeners.contains(at("10.250.0.1:15001")));
}
