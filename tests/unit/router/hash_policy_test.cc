#include "proxy/router/hash_policy.h"

#include <catch2/catch.hpp>

#include "proxy/upstream/stable_hash.h"

using remora::http::HeaderMap;
using remora::net::Address;
using remora::router::computeHash;
using remora::router::findCookie;
using remora::upstream::stableHash;
using HashPolicy = remora::xds::resources::HashPolicy;
using Kind = HashPolicy::Kind;

namespace {

Address addr(const char* ip, uint16_t port) {
  auto a = Address::fromIpPort(ip, port);
  REQUIRE(a);
  return *a;
}

}  // namespace

TEST_CASE("a header policy hashes the first value of the header", "[router][hash]") {
  HeaderMap headers;
  headers.add("x-user", "alice");
  headers.add("x-user", "bob");
  const auto hash = computeHash({HashPolicy{Kind::kHeader, "x-user"}}, headers, addr("10.0.0.1", 1));
  REQUIRE(hash);
  CHECK(*hash == stableHash("alice"));
  CHECK_FALSE(computeHash({HashPolicy{Kind::kHeader, "x-other"}}, headers, addr("10.0.0.1", 1)));
}

TEST_CASE("a cookie policy finds the cookie in any cookie header", "[router][hash]") {
  HeaderMap headers;
  headers.add("cookie", "theme=dark; lang=en");
  headers.add("cookie", "session=\"abc123\";other=1");
  const auto hash = computeHash({HashPolicy{Kind::kCookie, "session"}}, headers, addr("10.0.0.1", 1));
  REQUIRE(hash);
  CHECK(*hash == stableHash("abc123"));
  CHECK(*computeHash({HashPolicy{Kind::kCookie, "lang"}}, headers, addr("10.0.0.1", 1)) == stableHash("en"));
  CHECK_FALSE(computeHash({HashPolicy{Kind::kCookie, "sess"}}, headers, addr("10.0.0.1", 1)));
}

TEST_CASE("cookie parsing matches whole names only and tolerates stray spaces", "[router][hash]") {
  CHECK(findCookie("a=1; ab=2", "ab") == "2");
  CHECK(findCookie("ab=2;a=1", "a") == "1");
  CHECK(findCookie("  a = 1 ;", "a") == "1");
  CHECK(findCookie("flag; a=", "a") == "");
  CHECK_FALSE(findCookie("flag; b=1", "a"));
  CHECK_FALSE(findCookie("", "a"));
}

TEST_CASE("a source ip policy hashes the address without its port", "[router][hash]") {
  HeaderMap headers;
  const std::vector<HashPolicy> policies = {HashPolicy{Kind::kSourceIp, ""}};
  const auto a = computeHash(policies, headers, addr("10.0.0.1", 1111));
  const auto b = computeHash(policies, headers, addr("10.0.0.1", 2222));
  const auto c = computeHash(policies, headers, addr("10.0.0.2", 1111));
  const auto v6 = computeHash(policies, headers, addr("::1", 1111));
  REQUIRE(a);
  REQUIRE(c);
  REQUIRE(v6);
  CHECK(a == b);
  CHECK(a != c);
  CHECK(*a == stableHash("10.0.0.1"));
  CHECK_FALSE(computeHash(policies, headers, Address()));  // no address known
}

TEST_CASE("the first policy that yields a value wins", "[router][hash]") {
  HeaderMap headers;
  headers.add("x-tenant", "t1");
  headers.add("cookie", "session=s1");
  const std::vector<HashPolicy> policies = {HashPolicy{Kind::kHeader, "x-missing"},
                                            HashPolicy{Kind::kCookie, "session"},
                                            HashPolicy{Kind::kHeader, "x-tenant"}};
  CHECK(*computeHash(policies, headers, addr("10.0.0.1", 1)) == stableHash("s1"));
  CHECK_FALSE(computeHash({}, headers, addr("10.0.0.1", 1)));
  CHECK_FALSE(computeHash({HashPolicy{Kind::kHeader, "x-missing"}}, headers, addr("10.0.0.1", 1)));
}
