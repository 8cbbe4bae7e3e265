#include "xds/server/proxy_registry.h"

#include <catch2/catch.hpp>

using namespace remora::xds::server;

TEST_CASE("the registry lists open streams and forgets closed ones", "[xds][server]") {
  ProxyRegistry registry;
  ProxyStatus a;
  a.node_id = "a";
  ProxyStatus b;
  b.node_id = "b";
  auto ida = registry.add(a);
  auto idb = registry.add(b);
  recordSent(a, "t", "v1", "1");
  recordAck(a, "t", "v1");
  registry.update(ida, a);
  auto list = registry.list();
  REQUIRE(list.size() == 2);
  CHECK(list[0].types["t"].version_acked == "v1");
  registry.remove(idb);
  CHECK(registry.list().size() == 1);
}

TEST_CASE("status JSON carries versions, the last NACK's error and escaped metadata", "[xds][server]") {
  ProxyStatus s;
  s.node_id = "sidecar-\"1\"";
  (*s.metadata.mutable_fields())["REMORA_SERVICE"].set_string_value("reviews");
  s.connected_since = TimePoint(std::chrono::seconds(0));
  recordSent(s, "t", "v2", "7");
  recordNack(s, "t", NackRecord{"v2", "7", "bad\ncluster", TimePoint(std::chrono::seconds(60))});
  const std::string json = proxyStatusJson({s});
  CHECK_THAT(json, Catch::Contains(R"("node_id":"sidecar-\"1\"")"));
  CHECK_THAT(json, Catch::Contains(R"("REMORA_SERVICE":"reviews")"));
  CHECK_THAT(json, Catch::Contains(R"("error":"bad\ncluster")"));
  CHECK_THAT(json, Catch::Contains(R"("time":"1970-01-01T00:01:00Z")"));
  CHECK_THAT(json, Catch::Contains(R"("connected_since":"1970-01-01T00:00:00Z")"));
  CHECK_THAT(json, Catch::Contains(R"("nacks":1)"));
}
