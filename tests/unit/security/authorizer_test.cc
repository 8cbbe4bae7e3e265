#include "proxy/security/authorizer.h"

#include <catch2/catch.hpp>

using namespace remora::security;
namespace res = remora::xds::resources;
using remora::http::HeaderMap;

namespace {

constexpr std::string_view kShopFrontend = "spiffe://cluster.local/ns/shop/sa/frontend";
constexpr std::string_view kShopBatch = "spiffe://cluster.local/ns/shop/sa/batch";
constexpr std::string_view kOpsAdmin = "spiffe://cluster.local/ns/ops/sa/admin";
constexpr std::string_view kOtherDomain = "spiffe://other.example/ns/shop/sa/frontend";

res::RbacMatch any() { return res::RbacMatch{}; }

res::RbacMatch principal(res::StringMatch::Kind kind, std::string value) {
  res::RbacMatch m;
  m.kind = res::RbacMatch::Kind::kAuthenticated;
  m.string_match = {kind, std::move(value), false};
  return m;
}

res::RbacMatch port(uint32_t value) {
  res::RbacMatch m;
  m.kind = res::RbacMatch::Kind::kDestinationPort;
  m.destination_port = value;
  return m;
}

res::RbacMatch path(res::StringMatch::Kind kind, std::string value) {
  res::RbacMatch m;
  m.kind = res::RbacMatch::Kind::kUrlPath;
  m.string_match = {kind, std::move(value), false};
  return m;
}

res::RbacMatch method(std::string value) {
  res::RbacMatch m;
  m.kind = res::RbacMatch::Kind::kHeader;
  m.header.name = ":method";
  m.header.kind = res::HeaderMatcher::Kind::kExact;
  m.header.value = std::move(value);
  return m;
}

res::RbacMatch allOf(std::vector<res::RbacMatch> children) {
  res::RbacMatch m;
  m.kind = res::RbacMatch::Kind::kAnd;
  m.children = std::move(children);
  return m;
}

res::RbacMatch negate(res::RbacMatch child) {
  res::RbacMatch m;
  m.kind = res::RbacMatch::Kind::kNot;
  m.children = {std::move(child)};
  return m;
}

res::Rbac filter(res::Rbac::Action action, std::vector<res::RbacPolicy> policies) {
  res::Rbac rbac;
  rbac.action = action;
  rbac.policies = std::move(policies);
  return rbac;
}

Authorizer compile(std::vector<res::Rbac> filters) {
  auto authorizer = Authorizer::compile(filters);
  REQUIRE(authorizer);
  return std::move(*authorizer);
}

struct Http {
  HeaderMap headers;
  RequestFacts facts(std::string_view peer, std::string_view p, std::string_view m, uint32_t dport = 8080) {
    headers = HeaderMap();
    headers.add(":method", m);
    headers.add(":path", p);
    return RequestFacts{peer, dport, p, m, &headers};
  }
};

}  // namespace

TEST_CASE("no filters: everyone is allowed", "[security][authorizer]") {
  Authorizer authorizer = compile({});
  CHECK(authorizer.empty());
  CHECK(authorizer.evaluate(RequestFacts{"", 80}).allowed);
}

TEST_CASE("an exact principal is allowed, others are not", "[security][authorizer]") {
  Authorizer authorizer =
      compile({filter(res::Rbac::Action::kAllow, {{"frontend", {any()}, {principal(res::StringMatch::Kind::kExact,
                                                                                   std::string(kShopFrontend))}}})});
  CHECK_FALSE(authorizer.empty());
  const Decision allowed = authorizer.evaluate(RequestFacts{kShopFrontend, 8080});
  CHECK(allowed.allowed);
  CHECK(allowed.policy == "frontend");
  const Decision denied = authorizer.evaluate(RequestFacts{kShopBatch, 8080});
  CHECK_FALSE(denied.allowed);
  CHECK(denied.policy.empty());
  CHECK(denied.reason == "no ALLOW policy matched");
}

TEST_CASE("a namespace or trust-domain prefix admits every identity under it", "[security][authorizer]") {
  Authorizer by_namespace = compile({filter(
      res::Rbac::Action::kAllow, {{"shop", {any()}, {principal(res::StringMatch::Kind::kPrefix,
                                                               "spiffe://cluster.local/ns/shop/")}}})});
  CHECK(by_namespace.evaluate(RequestFacts{kShopFrontend, 1}).allowed);
  CHECK(by_namespace.evaluate(RequestFacts{kShopBatch, 1}).allowed);
  CHECK_FALSE(by_namespace.evaluate(RequestFacts{kOpsAdmin, 1}).allowed);
  Authorizer by_domain = compile({filter(
      res::Rbac::Action::kAllow, {{"td", {any()}, {principal(res::StringMatch::Kind::kPrefix, "spiffe://cluster.local/")}}})});
  CHECK(by_domain.evaluate(RequestFacts{kOpsAdmin, 1}).allowed);
  CHECK_FALSE(by_domain.evaluate(RequestFacts{kOtherDomain, 1}).allowed);
}

TEST_CASE("ports, paths and methods narrow what an identity may do", "[security][authorizer]") {
  Authorizer authorizer = compile({filter(
      res::Rbac::Action::kAllow,
      {{"read-api",
        {allOf({port(8080), path(res::StringMatch::Kind::kPrefix, "/api/"), method("GET")}),
         allOf({port(8080), path(res::StringMatch::Kind::kExact, "/healthz")})},
        {principal(res::StringMatch::Kind::kPrefix, "spiffe://cluster.local/ns/shop/")}}})});
  Http http;
  CHECK(authorizer.evaluate(http.facts(kShopFrontend, "/api/items", "GET")).allowed);
  CHECK(authorizer.evaluate(http.facts(kShopFrontend, "/healthz", "POST")).allowed);
  CHECK_FALSE(authorizer.evaluate(http.facts(kShopFrontend, "/api/items", "DELETE")).allowed);
  CHECK_FALSE(authorizer.evaluate(http.facts(kShopFrontend, "/healthz/deep", "GET")).allowed);
  CHECK_FALSE(authorizer.evaluate(http.facts(kShopFrontend, "/api/items", "GET", 9090)).allowed);
  CHECK_FALSE(authorizer.evaluate(http.facts(kOpsAdmin, "/api/items", "GET")).allowed);
  // A TCP connection has no path or method: only port rules can admit it.
  CHECK_FALSE(authorizer.evaluate(RequestFacts{kShopFrontend, 8080}).allowed);
}

TEST_CASE("not excludes identities from an otherwise matching rule", "[security][authorizer]") {
  Authorizer authorizer = compile({filter(
      res::Rbac::Action::kAllow,
      {{"shop-but-batch",
        {any()},
        {allOf({principal(res::StringMatch::Kind::kPrefix, "spiffe://cluster.local/ns/shop/"),
                negate(principal(res::StringMatch::Kind::kExact, std::string(kShopBatch)))})}}})});
  CHECK(authorizer.evaluate(RequestFacts{kShopFrontend, 1}).allowed);
  CHECK_FALSE(authorizer.evaluate(RequestFacts{kShopBatch, 1}).allowed);
}

TEST_CASE("a DENY filter before an ALLOW filter wins", "[security][authorizer]") {
  Authorizer authorizer = compile(
      {filter(res::Rbac::Action::kDeny, {{"no-admin-paths", {path(res::StringMatch::Kind::kPrefix, "/admin")}, {any()}}}),
       filter(res::Rbac::Action::kAllow,
              {{"shop", {any()}, {principal(res::StringMatch::Kind::kPrefix, "spiffe://cluster.local/ns/shop/")}}})});
  Http http;
  const Decision denied = authorizer.evaluate(http.facts(kShopFrontend, "/admin/users", "GET"));
  CHECK_FALSE(denied.allowed);
  CHECK(denied.policy == "no-admin-paths");
  CHECK(denied.reason == "DENY policy no-admin-paths matched");
  const Decision allowed = authorizer.evaluate(http.facts(kShopFrontend, "/orders", "GET"));
  CHECK(allowed.allowed);
  CHECK(allowed.policy == "shop");
  CHECK_FALSE(authorizer.evaluate(http.facts(kOpsAdmin, "/orders", "GET")).allowed);
}

TEST_CASE("a plaintext peer fails every rule that needs an identity", "[security][authorizer]") {
  Authorizer needs_identity = compile({filter(
      res::Rbac::Action::kAllow, {{"any-authenticated", {any()}, {principal(res::StringMatch::Kind::kPrefix, "")}}})});
  CHECK_FALSE(needs_identity.evaluate(RequestFacts{"", 8080}).allowed);
  CHECK(needs_identity.evaluate(RequestFacts{kOpsAdmin, 8080}).allowed);
  // A DENY on a specific identity does not catch an anonymous caller, but a
  // DENY on "not authenticated" does.
  Authorizer deny_anonymous = compile({filter(
      res::Rbac::Action::kDeny, {{"anonymous", {any()}, {negate(principal(res::StringMatch::Kind::kPrefix, ""))}}})});
  CHECK_FALSE(deny_anonymous.evaluate(RequestFacts{"", 8080}).allowed);
  CHECK(deny_anonymous.evaluate(RequestFacts{kShopBatch, 8080}).allowed);
}

TEST_CASE("an ALLOW filter without policies denies everything", "[security][authorizer]") {
  Authorizer authorizer = compile({filter(res::Rbac::Action::kAllow, {})});
  CHECK_FALSE(authorizer.evaluate(RequestFacts{kShopFrontend, 1}).allowed);
  Authorizer empty_deny = compile({filter(res::Rbac::Action::kDeny, {})});
  CHECK(empty_deny.evaluate(RequestFacts{kShopFrontend, 1}).allowed);
}

TEST_CASE("a regex that does not compile fails compilation, naming the policy", "[security][authorizer]") {
  auto authorizer = Authorizer::compile(
      {filter(res::Rbac::Action::kAllow, {{"bad", {path(res::StringMatch::Kind::kRegex, "(")}, {any()}}})});
  REQUIRE_FALSE(authorizer);
  CHECK_THAT(authorizer.error().message, Catch::StartsWith("RBAC policy \"bad\" permission: regex \"(\""));
}

TEST_CASE("decisions stay valid after the authorizer is moved into shared ownership", "[security][authorizer]") {
  auto compiled = Authorizer::compile(
      {filter(res::Rbac::Action::kDeny, {{"deny-everyone-with-a-long-policy-name", {any()}, {any()}}})});
  REQUIRE(compiled);
  auto shared = std::make_shared<const Authorizer>(std::move(*compiled));
  const Decision denied = shared->evaluate(RequestFacts{"", 1});
  CHECK(denied.policy == "deny-everyone-with-a-long-policy-name");
  CHECK(denied.reason == "DENY policy deny-everyone-with-a-long-policy-name matched");
}
