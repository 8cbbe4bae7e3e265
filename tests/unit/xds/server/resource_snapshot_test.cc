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
  CHECK(a->find(kClusterType, "c1")->version == b->find(kClusterType, "c1")->version);
  CHECK(a->find(kClusterType, "c2")->version != b->find(kClusterType, "c2")->version);
  CHECK(a->count(kListenerType) == 0);
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

TEST_CASE("a snapshot composed of shared parts holds every part's resources", "[xds][server]") {
  auto shared = ResourceSnapshot::makePart(std::string(kClusterType), {cluster("c1"), cluster("c2")});
  auto own = ResourceSnapshot::makePart(std::string(kClusterType), {cluster("inbound")});
  auto listeners = ResourceSnapshot::makePart(std::string(kListenerType), {listener("l1")});
  REQUIRE(shared);
  REQUIRE(own);
  REQUIRE(listeners);
  auto snap = ResourceSnapshot::compose("", {*shared, *own, *listeners});
  REQUIRE(snap);
  CHECK((*snap)->count(kClusterType) == 3);
  CHECK((*snap)->find(kClusterType, "inbound") != nullptr);
  CHECK((*snap)->find(kClusterType, "c2") != nullptr);
  CHECK((*snap)->find(kListenerType, "c2") == nullptr);
  CHECK((*snap)->parts(kClusterType).size() == 2);
  // The same contents made as one part give the same derived version.
  auto flat = ResourceSnapshot::create("", {cluster("c1"), cluster("c2"), cluster("inbound"), listener("l1")});
  auto again = ResourceSnapshot::compose("", {*shared, *own, *listeners});
  CHECK(again.value()->version() == snap.value()->version());
  CHECK(flat.value()->count(kClusterType) == 3);
}

TEST_CASE("composing parts that share a name is refused", "[xds][server]") {
  auto a = ResourceSnapshot::makePart(std::string(kClusterType), {cluster("c1"), cluster("c2")});
  auto b = ResourceSnapshot::makePart(std::string(kClusterType), {cluster("c2", 9)});
  auto snap = ResourceSnapshot::compose("1", {*a, *b});
  REQUIRE(!snap);
  CHECK(snap.error().code == remora::base::Error::kAlreadyExists);
  CHECK_THAT(snap.error().message, Catch::Contains("'c2'"));
}

TEST_CASE("a part refuses a resource of another type", "[xds][server]") {
  auto part = ResourceSnapshot::makePart(std::string(kClusterType), {listener("l1")});
  REQUIRE(!part);
  CHECK(part.error().code == remora::base::Error::kInvalidArgument);
}
