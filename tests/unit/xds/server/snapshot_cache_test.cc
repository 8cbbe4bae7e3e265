#include "xds/server/snapshot_cache.h"

#include <catch2/catch.hpp>

#include "tests/unit/xds/server/session_fixtures.h"

using namespace remora::xds::server;
using namespace remora::xds::server::test;

TEST_CASE("setting a node's snapshot notifies that node's watches only", "[xds][server]") {
  SnapshotCache cache;
  std::vector<std::string> seen_a, seen_b;
  cache.watch("a", [&](const SnapshotCache::SnapshotPtr& s) { seen_a.push_back(s->version()); });
  cache.watch("b", [&](const SnapshotCache::SnapshotPtr& s) { seen_b.push_back(s->version()); });
  cache.setSnapshot("a", snapshot("1", {cluster("c")}));
  CHECK(seen_a == std::vector<std::string>{"1"});
  CHECK(seen_b.empty());
  CHECK(cache.snapshot("a")->version() == "1");
  CHECK(cache.snapshot("b") == nullptr);
}

TEST_CASE("the default snapshot serves and notifies nodes without their own", "[xds][server]") {
  SnapshotCache cache;
  std::vector<std::string> seen_a, seen_b;
  cache.setSnapshot("a", snapshot("own", {cluster("c")}));
  cache.watch("a", [&](const SnapshotCache::SnapshotPtr& s) { seen_a.push_back(s->version()); });
  cache.watch("b", [&](const SnapshotCache::SnapshotPtr& s) { seen_b.push_back(s->version()); });
  cache.setSnapshot("", snapshot("default", {cluster("c")}));
  CHECK(seen_a.empty());
  CHECK(seen_b == std::vector<std::string>{"default"});
  CHECK(cache.snapshot("b")->version() == "default");
  CHECK(cache.snapshot("a")->version() == "own");
}

TEST_CASE("a cancelled watch is not called again", "[xds][server]") {
  SnapshotCache cache;
  int calls = 0;
  auto id = cache.watch("a", [&](const SnapshotCache::SnapshotPtr&) { ++calls; });
  cache.setSnapshot("a", snapshot("1", {}));
  cache.cancel(id);
  cache.setSnapshot("a", snapshot("2", {}));
  CHECK(calls == 1);
  CHECK(cache.watchCount() == 0);
}
