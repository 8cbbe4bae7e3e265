#include "proxy/config/ads_address_rotation.h"

#include <catch2/catch.hpp>

using remora::config::AdsAddressRotation;
using remora::net::Address;
using namespace std::chrono_literals;

namespace {

Address at(uint16_t port) { return Address::fromIpPort("127.0.0.1", port).value(); }

// random() == 0 draws the lowest delay of each window: ceiling / 2.
AdsAddressRotation rotation(std::vector<Address> addresses) {
  return AdsAddressRotation(std::move(addresses), 500ms, 30000ms, [] { return uint64_t{0}; });
}

}  // namespace

TEST_CASE("a stream that worked fails over to the next address after one base delay", "[config][ads]") {
  auto r = rotation({at(1), at(2), at(3)});
  CHECK(r.current() == at(1));
  r.onConnected();
  r.onProven();
  auto retry = r.onFailure(true);
  CHECK(r.current() == at(2));
  CHECK(retry.delay == 250ms);
  CHECK_FALSE(retry.cycle_completed);
}

TEST_CASE("failed attempts try the next address at once until every address failed in a row", "[config][ads]") {
  auto r = rotation({at(1), at(2), at(3)});
  auto first = r.onFailure(false);
  CHECK(r.current() == at(2));
  CHECK(first.delay == 0ms);
  CHECK_FALSE(first.cycle_completed);
  CHECK(r.onFailure(false).delay == 0ms);
  CHECK(r.current() == at(3));
  auto third = r.onFailure(false);
  CHECK(r.current() == at(1));
  CHECK(third.cycle_completed);
  CHECK(third.delay == 250ms);
  // The next cycle backs off further: the ceiling doubled.
  r.onFailure(false);
  r.onFailure(false);
  auto sixth = r.onFailure(false);
  CHECK(sixth.cycle_completed);
  CHECK(sixth.delay == 500ms);
}

TEST_CASE("one address backs off exponentially on every failure, as a single endpoint always did", "[config][ads]") {
  auto r = rotation({at(1)});
  CHECK(r.onFailure(false).delay == 250ms);
  CHECK(r.onFailure(false).delay == 500ms);
  CHECK(r.onFailure(false).delay == 1000ms);
  CHECK(r.current() == at(1));
  // A response resets the backoff.
  r.onProven();
  CHECK(r.onFailure(false).delay == 250ms);
}

TEST_CASE("a stream that worked starts the backoff from its base again", "[config][ads]") {
  auto r = rotation({at(1), at(2)});
  for (int i = 0; i < 6; ++i) r.onFailure(false);  // three failed cycles
  r.onConnected();
  CHECK(r.onFailure(true).delay == 250ms);
}

TEST_CASE("a connection on another address than the last one is a failover", "[config][ads]") {
  auto r = rotation({at(1), at(2)});
  CHECK_FALSE(r.onConnected());  // the first connection
  r.onFailure(true);
  r.onFailure(false);  // at(2) refused: back to at(1)
  CHECK_FALSE(r.onConnected());  // the same replica again
  r.onFailure(true);
  CHECK(r.onConnected());  // at(2)
}

TEST_CASE("re-resolved addresses start a fresh cycle from their first", "[config][ads]") {
  auto r = rotation({at(1), at(2)});
  r.onFailure(false);
  r.replaceAddresses({at(7), at(8), at(9)});
  CHECK(r.current() == at(7));
  CHECK(r.addresses().size() == 3);
  CHECK(r.onFailure(false).delay == 0ms);
  CHECK(r.onFailure(false).delay == 0ms);
  CHECK(r.onFailure(false).cycle_completed);
  // An empty answer (the resolver failed) keeps what there was.
  r.replaceAddresses({});
  CHECK(r.addresses().size() == 3);
}
