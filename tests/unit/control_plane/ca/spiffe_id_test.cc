#include "control-plane/ca/spiffe_id.h"

#include <catch2/catch.hpp>

namespace remora::cp::ca {
namespace {

TEST_CASE("a SPIFFE ID parses into trust domain, namespace and service account", "[ca]") {
  auto id = parseSpiffeId("spiffe://cluster.local/ns/shop/sa/checkout");
  REQUIRE(id);
  CHECK(id->trust_domain == "cluster.local");
  CHECK(id->namespace_ == "shop");
  CHECK(id->service_account == "checkout");
  CHECK(id->uri() == "spiffe://cluster.local/ns/shop/sa/checkout");
}

TEST_CASE("SPIFFE IDs of another shape are refused", "[ca]") {
  for (const char* bad : {"https://cluster.local/ns/a/sa/b", "spiffe://cluster.local/ns/a", "spiffe:///ns/a/sa/b",
                          "spiffe://cluster.local/ns/a/sa/b/c", "spiffe://cluster.local/ns//sa/b",
                          "spiffe://cluster.local/ns/a/sa/b?x=1", "spiffe://Cluster.local/ns/a/sa/b",
                          "spiffe://cluster.local/namespace/a/sa/b", "spiffe://cluster.local/ns/../sa/b"}) {
    INFO(bad);
    CHECK_FALSE(parseSpiffeId(bad));
  }
}

}  // namespace
}  // namespace remora::cp::ca
