#include "xds/server/resource_snapshot.h"

#include <catch2/catch.hpp>

#include "tests/unit/xds/server/session_fixtures.h"

using namespace remora::xds::server;
using namespace remora::xds::server::test;

TEST_CASE("a resource's version follows its bytes, not its snapshot", "[xds][server]") {
  auto a = snapshot("1", {cluster("c1"), cluster("c2")});
  auto b = snapshot("2", {cluster("c1"), cluster("c2", 5)});
  REQUIRE(a);
  REQUIRE(b);
  CHECK(a->resources(kClusterType).at("c1").version == b->resources(kClusterType).at("c1").version);
  CHECK(a->resources(kClusterType).at("c2").version != b->resources(kClusterType).at("c2").version);
  CHECK(a->resources(kListenerType).empty());
  CHECK(a->version() == "1");
}

TEST_CASE("a snapshot without a version gets one derived from its contents", "[xds][server]") {
  auto a = snapshot("", {cluster("c1")});
  auto same = snapshot("", {cluster("c1")});
  auto other = snapshot("", {cluster("c1", 3)});
  CHECK(!a->version().empty());
  CHECK(a->version() == same->version());
  CHECK(a->version() != other->version());
}

TEST_CASE("two resources of one type with one name are refused", "[xds][server]") {
  auto s = ResourceSnapshot::create("1", {cluster("c1"), cluster("c1", 2)});
  REQUIRE(!s);
  CHECK(s.error().code == remora::base::Error::kAlreadyExists);
}

TEST_CASE("resourceName reads the name from each known type's body", "[xds][server]") {
  CHECK(resourceName(cluster("c9").body).value() == "c9");
  CHECK(resourceName(listener("l1").body).value() == "l1");
  CHECK(resourceName(endpoints("e1", 80).body).value() == "e1");
  google::protobuf::Any unknown;
  unknown.set_type_url("type.googleapis.com/foo.Bar");
  CHECK(!resourceName(unknown));
}
