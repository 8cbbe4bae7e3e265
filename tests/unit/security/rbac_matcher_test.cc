#include "proxy/security/rbac_matcher.h"

#include <catch2/catch.hpp>

using namespace remora::security;
namespace res = remora::xds::resources;
using remora::http::HeaderMap;

namespace {

res::RbacMatch leaf(res::RbacMatch::Kind kind) {
  res::RbacMatch m;
  m.kind = kind;
  return m;
}

res::RbacMatch header(std::string name, res::HeaderMatcher::Kind kind, std::string value, bool invert = false,
                      bool present = true) {
  res::RbacMatch m = leaf(res::RbacMatch::Kind::kHeader);
  m.header.name = std::move(name);
  m.header.kind = kind;
  m.header.value = std::move(value);
  m.header.invert = invert;
  m.header.present = present;
  return m;
}

bool matches(const res::RbacMatch& match, const RequestFacts& facts) {
  auto compiled = RbacMatcher::compile(match);
  REQUIRE(compiled);
  return compiled->matches(facts);
}

bool stringMatches(res::StringMatch::Kind kind, std::string value, bool ignore_case, std::string_view input) {
  auto compiled = StringMatcher::compile(res::StringMatch{kind, std::move(value), ignore_case});
  REQUIRE(compiled);
  return compiled->matches(input);
}

}  // namespace

TEST_CASE("string matchers honour kind and case", "[security][rbac]") {
  using K = res::StringMatch::Kind;
  CHECK(stringMatches(K::kExact, "/a", false, "/a"));
  CHECK_FALSE(stringMatches(K::kExact, "/a", false, "/A"));
  CHECK(stringMatches(K::kExact, "/a", true, "/A"));
  CHECK(stringMatches(K::kPrefix, "/API/", true, "/api/v1"));
  CHECK_FALSE(stringMatches(K::kPrefix, "/api/", false, "/ap"));
  CHECK(stringMatches(K::kSuffix, ".json", false, "/x.json"));
  CHECK_FALSE(stringMatches(K::kSuffix, ".json", false, "json"));
  CHECK(stringMatches(K::kContains, "ADMIN", true, "/x/admin/y"));
  CHECK_FALSE(stringMatches(K::kContains, "admin", false, "/x/ADMIN"));
  // A regex must match the whole value.
  CHECK(stringMatches(K::kRegex, "/v[0-9]+/.*", false, "/v2/items"));
  CHECK_FALSE(stringMatches(K::kRegex, "/v[0-9]+", false, "/v2/items"));
  CHECK_FALSE(StringMatcher::compile(res::StringMatch{K::kRegex, "(", false}));
}

TEST_CASE("authenticated needs a peer identity, even for an empty prefix", "[security][rbac]") {
  res::RbacMatch any_peer = leaf(res::RbacMatch::Kind::kAuthenticated);
  any_peer.string_match = {res::StringMatch::Kind::kPrefix, "", false};
  CHECK(matches(any_peer, RequestFacts{"spiffe://td/ns/a/sa/b"}));
  CHECK_FALSE(matches(any_peer, RequestFacts{""}));
}

TEST_CASE("url_path and headers never match a TCP connection", "[security][rbac]") {
  res::RbacMatch path = leaf(res::RbacMatch::Kind::kUrlPath);
  path.string_match = {res::StringMatch::Kind::kPrefix, "/", false};
  RequestFacts tcp{"spiffe://td/ns/a/sa/b", 9000};
  CHECK_FALSE(matches(path, tcp));
  CHECK_FALSE(matches(header("x-a", res::HeaderMatcher::Kind::kExact, "1"), tcp));
  HeaderMap headers;
  RequestFacts http{"", 80, "/x", "GET", &headers};
  CHECK(matches(path, http));
}

TEST_CASE("header rules follow Envoy's missing-header and repeated-header rules", "[security][rbac]") {
  using K = res::HeaderMatcher::Kind;
  HeaderMap headers;
  headers.add(":method", "POST");
  headers.add("x-team", "a");
  headers.add("x-team", "b");
  RequestFacts facts{"", 80, "/", "POST", &headers};
  CHECK(matches(header(":method", K::kExact, "POST"), facts));
  CHECK(matches(header("x-team", K::kExact, "a,b"), facts));
  CHECK(matches(header("x-team", K::kPresent, ""), facts));
  CHECK_FALSE(matches(header("x-missing", K::kPresent, ""), facts));
  CHECK(matches(header("x-missing", K::kPresent, "", false, false), facts));
  CHECK(matches(header("x-missing", K::kPresent, "", true, true), facts));
  // An inverted value matcher still needs the header to be there.
  CHECK_FALSE(matches(header("x-missing", K::kExact, "v", true), facts));
  CHECK(matches(header(":method", K::kExact, "GET", true), facts));
}

TEST_CASE("and, or and not combine children", "[security][rbac]") {
  res::RbacMatch port80 = leaf(res::RbacMatch::Kind::kDestinationPort);
  port80.destination_port = 80;
  res::RbacMatch port81 = port80;
  port81.destination_port = 81;
  res::RbacMatch both = leaf(res::RbacMatch::Kind::kAnd);
  both.children = {port80, port81};
  res::RbacMatch either = leaf(res::RbacMatch::Kind::kOr);
  either.children = {port80, port81};
  res::RbacMatch not80 = leaf(res::RbacMatch::Kind::kNot);
  not80.children = {port80};
  const RequestFacts on81{"", 81};
  CHECK_FALSE(matches(both, on81));
  CHECK(matches(either, on81));
  CHECK(matches(not80, on81));
  CHECK_FALSE(matches(not80, RequestFacts{"", 80}));
  res::RbacMatch broken = leaf(res::RbacMatch::Kind::kNot);
  CHECK_FALSE(RbacMatcher::compile(broken));
}
