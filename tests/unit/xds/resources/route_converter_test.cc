#include "xds/resources/route_converter.h"

#include <catch2/catch.hpp>

#include "tests/unit/xds/resources/proto_json.h"

using namespace remora::xds::resources;
using remora::base::Error;
using testing::protoFromJson;
using RouteConfigProto = envoy::config::route::v3::RouteConfiguration;

namespace {

// One virtual host with one route whose body is `route_json`.
std::string withRoute(const std::string& route_json) {
  return R"({"name": "rc", "virtual_hosts": [{"name": "vh", "domains": ["*"], "routes": [)" + route_json + "]}]}";
}

std::string convertError(const std::string& json) {
  auto routes = toRouteConfiguration(protoFromJson<RouteConfigProto>(json), "rc");
  REQUIRE_FALSE(routes);
  return routes.error().message;
}

}  // namespace

TEST_CASE("header matchers of every kind convert", "[xds][resources][route]") {
  auto routes = toRouteConfiguration(protoFromJson<RouteConfigProto>(withRoute(R"({
      "match": {"prefix": "/", "case_sensitive": false, "headers": [
        {"name": "X-Exact", "exact_match": "a"},
        {"name": "x-present", "present_match": false},
        {"name": "x-prefix", "string_match": {"prefix": "p"}, "invert_match": true},
        {"name": "x-regex", "safe_regex_match": {"google_re2": {}, "regex": "[0-9]+"}},
        {"name": "x-any"}]},
      "route": {"cluster": "c"}})")));
  REQUIRE(routes);
  const RouteMatch& match = routes->virtual_hosts[0].routes[0].match;
  CHECK_FALSE(match.case_sensitive);
  REQUIRE(match.headers.size() == 5);
  CHECK(match.headers[0].name == "x-exact");
  CHECK(match.headers[0].kind == HeaderMatcher::Kind::kExact);
  CHECK(match.headers[1].kind == HeaderMatcher::Kind::kPresent);
  CHECK_FALSE(match.headers[1].present);
  CHECK(match.headers[2].kind == HeaderMatcher::Kind::kPrefix);
  CHECK(match.headers[2].invert);
  CHECK(match.headers[3].kind == HeaderMatcher::Kind::kRegex);
  CHECK(match.headers[4].kind == HeaderMatcher::Kind::kPresent);
  CHECK(match.headers[4].present);
}

TEST_CASE("a route needs a path matcher and an action", "[xds][resources][route]") {
  CHECK(convertError(withRoute(R"({"match": {}, "route": {"cluster": "c"}})")) ==
        "rc.virtual_hosts[0].routes[0].match: one of prefix, path or safe_regex is required");
  CHECK(convertError(withRoute(R"({"match": {"prefix": "/"}})")) ==
        "rc.virtual_hosts[0].routes[0]: one of route or direct_response is required");
  CHECK(convertError(withRoute(R"({"match": {"prefix": "/"}, "route": {}})")) ==
        "rc.virtual_hosts[0].routes[0].route: one of cluster or weighted_clusters is required");
}

TEST_CASE("weighted clusters must carry weight", "[xds][resources][route]") {
  CHECK(convertError(withRoute(R"({"match": {"prefix": "/"}, "route": {"weighted_clusters": {"clusters": [
      {"name": "a", "weight": 0}, {"name": "b"}]}}})")) ==
        "rc.virtual_hosts[0].routes[0].route.weighted_clusters.clusters: the weights must add up to more than 0");
  CHECK(convertError(withRoute(R"({"match": {"prefix": "/"}, "route": {"weighted_clusters": {"total_weight": 100,
      "clusters": [{"name": "a", "weight": 30}, {"name": "b", "weight": 30}]}}})")) ==
        "rc.virtual_hosts[0].routes[0].route.weighted_clusters.total_weight: 100 differs from the sum of the "
        "weights, 60");
}

TEST_CASE("route action timeouts, rewrites and upgrades convert", "[xds][resources][route]") {
  auto routes = toRouteConfiguration(protoFromJson<RouteConfigProto>(withRoute(R"({"match": {"prefix": "/"},
      "route": {"cluster": "c", "timeout": "0s", "prefix_rewrite": "/v2/",
                "upgrade_configs": [{"upgrade_type": "websocket", "enabled": false}, {"upgrade_type": "CONNECT"}]}})")));
  REQUIRE(routes);
  const auto& action = std::get<RouteAction>(routes->virtual_hosts[0].routes[0].action);
  CHECK(action.timeout == Millis(0));
  CHECK(action.prefix_rewrite == "/v2/");
  CHECK_FALSE(action.allow_upgrade_websocket);
  CHECK(action.allow_connect);
}

// Until the router applies it, auto_host_rewrite is refused rather than
// parsed and ignored: a config must never promise behaviour the proxy does not have.
TEST_CASE("route fields the router does not apply yet are refused by name", "[xds][resources][route]") {
  auto routes = toRouteConfiguration(protoFromJson<RouteConfigProto>(
      withRoute(R"({"match": {"prefix": "/"}, "route": {"cluster": "c", "auto_host_rewrite": true}})")), "rc");
  REQUIRE_FALSE(routes);
  CHECK(routes.error().code == Error::kUnsupported);
  CHECK(routes.error().message == "rc.virtual_hosts[0].routes[0].route.auto_host_rewrite: not supported by remora-proxy");
}

TEST_CASE("a route action carries retries, idle timeout, hashing, hedging and the gRPC timeout cap",
          "[xds][resources][route]") {
  auto routes = toRouteConfiguration(protoFromJson<RouteConfigProto>(withRoute(R"({"match": {"prefix": "/"},
      "route": {"cluster": "c", "idle_timeout": "30s",
        "retry_policy": {"retry_on": "5xx,unavailable", "num_retries": 2, "per_try_timeout": "0.25s"},
        "hash_policy": [{"header": {"header_name": "X-User"}}, {"connection_properties": {"source_ip": true}}],
        "hedge_policy": {"hedge_on_per_try_timeout": true},
        "max_stream_duration": {"grpc_timeout_header_max": "5s"}}})")));
  REQUIRE(routes);
  const auto& action = std::get<RouteAction>(routes->virtual_hosts[0].routes[0].action);
  CHECK(action.idle_timeout == Millis(30000));
  REQUIRE(action.retry_policy);
  CHECK(action.retry_policy->retry_on == std::vector<std::string>{"5xx", "unavailable"});
  CHECK(action.retry_policy->num_retries == 2);
  CHECK(action.retry_policy->per_try_timeout == Millis(250));
  REQUIRE(action.hash_policy.size() == 2);
  CHECK(action.hash_policy[0] == HashPolicy{HashPolicy::Kind::kHeader, "x-user"});
  CHECK(action.hash_policy[1].kind == HashPolicy::Kind::kSourceIp);
  CHECK(action.hedge_on_per_try_timeout);
  CHECK(action.grpc_timeout_header_max == Millis(5000));

  auto plain = toRouteConfiguration(protoFromJson<RouteConfigProto>(withRoute(R"({"match": {"prefix": "/"},
      "route": {"cluster": "c"}})")));
  REQUIRE(plain);
  const auto& bare = std::get<RouteAction>(plain->virtual_hosts[0].routes[0].action);
  CHECK_FALSE(bare.retry_policy);
  CHECK_FALSE(bare.idle_timeout);
  CHECK(bare.hash_policy.empty());
  CHECK_FALSE(bare.hedge_on_per_try_timeout);
  CHECK_FALSE(bare.grpc_timeout_header_max);

  CHECK(convertError(withRoute(R"({"match": {"prefix": "/"}, "route": {"cluster": "c",
      "retry_policy": {"retry_on": "bogus"}}})")) ==
        "rc.virtual_hosts[0].routes[0].route.retry_policy.retry_on: not supported by remora-proxy (retry condition "
        "\"bogus\"; supported: 5xx, gateway-error, reset, connect-failure, retriable-4xx, refused-stream, "
        "retriable-status-codes, cancelled, deadline-exceeded, internal, resource-exhausted, unavailable, "
        "non-idempotent)");
}

TEST_CASE("prefix_rewrite is refused on a regex path match", "[xds][resources][route]") {
  CHECK(convertError(withRoute(R"({"match": {"safe_regex": {"regex": "/a.*"}},
      "route": {"cluster": "c", "prefix_rewrite": "/b"}})")) ==
        "rc.virtual_hosts[0].routes[0].route.prefix_rewrite: cannot be used with a safe_regex path match");
}

TEST_CASE("direct responses are bounded in status and size", "[xds][resources][route]") {
  CHECK(convertError(withRoute(R"({"match": {"prefix": "/"}, "direct_response": {"status": 99}})")) ==
        "rc.virtual_hosts[0].routes[0].direct_response.status: 99 is out of range 200..599");
  const std::string big(5000, 'x');
  CHECK_THAT(convertError(withRoute(R"({"match": {"prefix": "/"}, "direct_response": {"status": 200, "body":
      {"inline_string": ")" + big + R"("}}})")),
             Catch::EndsWith("direct_response.body: 5000 bytes is over the limit of 4096"));
  CHECK(convertError(withRoute(R"({"match": {"prefix": "/"}, "direct_response": {"status": 200, "body":
      {"filename": "/etc/motd"}}})")) ==
        "rc.virtual_hosts[0].routes[0].direct_response.body.filename: not supported by remora-proxy");
}

TEST_CASE("virtual host names and domains must be unique", "[xds][resources][route]") {
  auto dup_domain = toRouteConfiguration(protoFromJson<RouteConfigProto>(R"({"virtual_hosts": [
      {"name": "a", "domains": ["Example.com"]}, {"name": "b", "domains": ["example.com"]}]})"));
  REQUIRE_FALSE(dup_domain);
  CHECK(dup_domain.error().code == Error::kAlreadyExists);
  CHECK(dup_domain.error().message ==
        "virtual_hosts[1].domains[0]: \"example.com\" is already used by virtual_hosts[0].domains[0]");
  auto dup_name = toRouteConfiguration(protoFromJson<RouteConfigProto>(R"({"virtual_hosts": [
      {"name": "a", "domains": ["a"]}, {"name": "a", "domains": ["b"]}]})"));
  REQUIRE_FALSE(dup_name);
  CHECK(dup_name.error().message == "virtual_hosts[1].name: \"a\" is already used by virtual_hosts[0]");
  auto bad_wildcard = toRouteConfiguration(
      protoFromJson<RouteConfigProto>(R"({"virtual_hosts": [{"name": "a", "domains": ["a.*.com"]}]})"));
  REQUIRE_FALSE(bad_wildcard);
  CHECK_THAT(bad_wildcard.error().message, Catch::Contains("may hold one \"*\", at its start or end"));
}

TEST_CASE("route-level options Remora does not implement are refused", "[xds][resources][route]") {
  auto routes = toRouteConfiguration(
      protoFromJson<RouteConfigProto>(R"({"virtual_hosts": [{"name": "a", "domains": ["*"], "require_tls": "ALL"}]})"));
  REQUIRE_FALSE(routes);
  CHECK(routes.error().message == "virtual_hosts[0].require_tls: not supported by remora-proxy");
}
