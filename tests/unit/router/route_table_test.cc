#include "proxy/router/route_table.h"

#include <catch2/catch.hpp>

#include "tests/unit/fakes/allocation_counter.h"

#include <atomic>
#include <cstdlib>
#include <map>
#include <new>
#include <string>
#include <utility>
#include <vector>

using remora::base::Error;
using remora::http::HeaderMap;
using remora::router::DomainMatch;
using remora::router::MatchResult;
using remora::router::RouteTable;
using remora::xds::resources::HeaderMatcher;
using remora::xds::resources::Route;
using remora::xds::resources::RouteAction;
using remora::xds::resources::RouteConfiguration;
using remora::xds::resources::RouteMatch;
using remora::xds::resources::VirtualHost;
using remora::xds::resources::WeightedCluster;

using remora::testing::g_allocations;
using remora::testing::kCountsAllocations;

namespace {

Route prefixRoute(std::string name, std::string prefix, std::string cluster = "backend") {
  Route route;
  route.name = std::move(name);
  route.match.path_kind = RouteMatch::PathKind::kPrefix;
  route.match.path = std::move(prefix);
  RouteAction action;
  action.cluster = std::move(cluster);
  route.action = action;
  return route;
}

Route pathRoute(std::string name, RouteMatch::PathKind kind, std::string path) {
  Route route = prefixRoute(std::move(name), std::move(path));
  route.match.path_kind = kind;
  return route;
}

VirtualHost vhost(std::string name, std::vector<std::string> domains, std::vector<Route> routes = {}) {
  if (routes.empty()) routes.push_back(prefixRoute(name + "-all", "/"));
  return VirtualHost{std::move(name), std::move(domains), std::move(routes)};
}

std::shared_ptr<const RouteTable> mustBuild(std::vector<VirtualHost> vhosts) {
  auto table = RouteTable::build(RouteConfiguration{"test", std::move(vhosts)});
  INFO((table ? std::string() : table.error().message));
  REQUIRE(table.has_value());
  return *table;
}

HeaderMap request(std::string_view authority, std::string_view path,
                  std::vector<std::pair<std::string, std::string>> extra = {}) {
  HeaderMap headers;
  headers.add(":method", "GET");
  headers.add(":authority", authority);
  headers.add(":path", path);
  for (auto& [name, value] : extra) headers.add(name, value);
  return headers;
}

std::string vhostFor(const RouteTable& table, std::string_view authority) {
  MatchResult result = table.match(request(authority, "/"));
  return result.virtual_host ? result.virtual_host->name : "<none>";
}

std::string routeFor(const RouteTable& table, const HeaderMap& headers) {
  MatchResult result = table.match(headers);
  return result.route ? result.route->name : "<none>";
}

HeaderMatcher headerMatcher(std::string name, HeaderMatcher::Kind kind, std::string value = "",
                            bool invert = false, bool present = true) {
  HeaderMatcher matcher;
  matcher.name = std::move(name);
  matcher.kind = kind;
  matcher.value = std::move(value);
  matcher.invert = invert;
  matcher.present = present;
  return matcher;
}

}  // namespace

TEST_CASE("virtual hosts are chosen exact first, then longest suffix, then longest prefix, then default",
          "[router]") {
  auto table = mustBuild({
      vhost("exact", {"api.foo.com"}),
      vhost("suffix-short", {"*.com"}),
      vhost("suffix-long", {"*.foo.com"}),
      vhost("suffix-dash", {"*-bar.foo.com"}),
      vhost("prefix-short", {"api.*"}),
      vhost("prefix-long", {"api.internal.*"}),
      vhost("default", {"*"}),
  });
  struct Case {
    const char* authority;
    const char* expected;
  };
  for (Case c : std::vector<Case>{
           {"api.foo.com", "exact"},
           {"www.foo.com", "suffix-long"},
           {"baz-bar.foo.com", "suffix-dash"},
           {"x.bar.com", "suffix-short"},
           {"api.example.org", "prefix-short"},
           {"api.internal.net", "prefix-long"},
           {"api.internal.com", "suffix-short"},  // any suffix wildcard beats any prefix wildcard
           {"other.org", "default"},
           {"", "default"},
       }) {
    INFO(c.authority);
    CHECK(vhostFor(*table, c.authority) == c.expected);
  }
}

TEST_CASE("a wildcard stands for at least one character", "[router]") {
  auto table = mustBuild({vhost("suffix", {"*.foo.com"}), vhost("prefix", {"foo.*"})});
  CHECK(vhostFor(*table, ".foo.com") == "<none>");
  CHECK(vhostFor(*table, "foo.") == "<none>");
  CHECK(vhostFor(*table, "a.foo.com") == "suffix");
  CHECK(vhostFor(*table, "foo.x") == "prefix");
}

TEST_CASE("a domain without a port matches any port, and one with a port only that port", "[router]") {
  auto table = mustBuild({vhost("a", {"a.com"}), vhost("b", {"b.com:8080"}), vhost("w", {"*.w.com"})});
  CHECK(vhostFor(*table, "a.com:80") == "a");
  CHECK(vhostFor(*table, "a.com:15001") == "a");
  CHECK(vhostFor(*table, "b.com:8080") == "b");
  CHECK(vhostFor(*table, "B.com:8080") == "b");
  CHECK(vhostFor(*table, "b.com") == "<none>");
  CHECK(vhostFor(*table, "b.com:9090") == "<none>");
  CHECK(vhostFor(*table, "x.w.com:443") == "w");
  CHECK(vhostFor(*table, "a.com:http") == "<none>");  // not a port: matched as written
}

TEST_CASE("one host on two ports can be two virtual hosts", "[router]") {
  // A service with two HTTP ports, or a pod IP serving two services.
  auto table = mustBuild({vhost("http", {"b:8080", "10.0.0.2:8080"}), vhost("grpc", {"b:9000", "10.0.0.2:9000"}),
                          vhost("bare", {"b"})});
  CHECK(vhostFor(*table, "b:8080") == "http");
  CHECK(vhostFor(*table, "10.0.0.2:9000") == "grpc");
  CHECK(vhostFor(*table, "b:7000") == "bare");
  CHECK(vhostFor(*table, "10.0.0.2:7000") == "<none>");
}

TEST_CASE("IPv6 literal authorities are matched without their port", "[router]") {
  auto table = mustBuild({vhost("v6", {"[::1]"}), vhost("v4", {"127.0.0.1"})});
  CHECK(vhostFor(*table, "[::1]:80") == "v6");
  CHECK(vhostFor(*table, "[::1]") == "v6");
  CHECK(vhostFor(*table, "127.0.0.1:8080") == "v4");
  CHECK(remora::router::stripPort("[fe80::1]:443") == "[fe80::1]");
  CHECK(remora::router::stripPort("fe80::1") == "fe80::1");
}

TEST_CASE("domains match case-insensitively", "[router]") {
  auto table = mustBuild({vhost("exact", {"API.Foo.com"}), vhost("wild", {"*.Bar.COM"}), vhost("pre", {"Pre.*"})});
  CHECK(vhostFor(*table, "api.FOO.com") == "exact");
  CHECK(vhostFor(*table, "X.bar.com") == "wild");
  CHECK(vhostFor(*table, "PRE.anything") == "pre");
}

TEST_CASE("the host header is used when there is no authority", "[router]") {
  auto table = mustBuild({vhost("a", {"a.com"})});
  HeaderMap headers;
  headers.add(":path", "/");
  headers.add("host", "a.com:80");
  CHECK(table->match(headers).virtual_host != nullptr);
}

TEST_CASE("prefix, exact and regex paths ignore the query string and fragment", "[router]") {
  auto table = mustBuild({vhost("v", {"*"},
                                {pathRoute("exact", RouteMatch::PathKind::kExact, "/health"),
                                 pathRoute("regex", RouteMatch::PathKind::kRegex, "/users/[0-9]+"),
                                 pathRoute("prefix", RouteMatch::PathKind::kPrefix, "/api/")})});
  CHECK(routeFor(*table, request("h", "/health?verbose=1")) == "exact");
  CHECK(routeFor(*table, request("h", "/health#top")) == "exact");
  CHECK(routeFor(*table, request("h", "/healthz")) == "<none>");
  CHECK(routeFor(*table, request("h", "/users/42?x=/api/")) == "regex");
  CHECK(routeFor(*table, request("h", "/users/42/extra")) == "<none>");  // full match, not search
  CHECK(routeFor(*table, request("h", "/api/v1?q=1")) == "prefix");
  CHECK(routeFor(*table, request("h", "/x?/api/")) == "<none>");
}

TEST_CASE("case_sensitive false relaxes prefix and exact paths", "[router]") {
  Route prefix = pathRoute("prefix", RouteMatch::PathKind::kPrefix, "/API");
  prefix.match.case_sensitive = false;
  Route exact = pathRoute("exact", RouteMatch::PathKind::kExact, "/Login");
  exact.match.case_sensitive = false;
  Route strict = pathRoute("strict", RouteMatch::PathKind::kExact, "/Strict");
  auto table = mustBuild({vhost("v", {"*"}, {prefix, exact, strict})});
  CHECK(routeFor(*table, request("h", "/api/x")) == "prefix");
  CHECK(routeFor(*table, request("h", "/LOGIN")) == "exact");
  CHECK(routeFor(*table, request("h", "/strict")) == "<none>");
  CHECK(routeFor(*table, request("h", "/Strict")) == "strict");
}

TEST_CASE("routes are tried in order and the first match wins", "[router]") {
  auto table = mustBuild({vhost("v", {"*"},
                                {prefixRoute("first", "/api"), prefixRoute("second", "/api/v2"),
                                 prefixRoute("catch-all", "/")})});
  CHECK(routeFor(*table, request("h", "/api/v2/x")) == "first");
  CHECK(routeFor(*table, request("h", "/other")) == "catch-all");
}

TEST_CASE("header matchers: exact, prefix, suffix, contains, regex", "[router]") {
  using Kind = HeaderMatcher::Kind;
  struct Case {
    Kind kind;
    const char* pattern;
    const char* value;
    bool matches;
  };
  for (Case c : std::vector<Case>{
           {Kind::kExact, "blue", "blue", true},
           {Kind::kExact, "blue", "Blue", false},
           {Kind::kPrefix, "bl", "blue", true},
           {Kind::kPrefix, "lu", "blue", false},
           {Kind::kSuffix, "ue", "blue", true},
           {Kind::kSuffix, "bl", "blue", false},
           {Kind::kContains, "lu", "blue", true},
           {Kind::kContains, "xx", "blue", false},
           {Kind::kRegex, "b.*e", "blue", true},
           {Kind::kRegex, "lu", "blue", false},  // full match
       }) {
    Route route = prefixRoute("r", "/");
    route.match.headers.push_back(headerMatcher("X-Color", c.kind, c.pattern));
    auto table = mustBuild({vhost("v", {"*"}, {route})});
    INFO(c.pattern << " vs " << c.value);
    CHECK(table->match(request("h", "/", {{"x-color", c.value}})).operator bool() == c.matches);
    // An absent header fails every one of these.
    CHECK_FALSE(table->match(request("h", "/")));
  }
}

TEST_CASE("present matchers and invert treat absent headers as Envoy does", "[router]") {
  using Kind = HeaderMatcher::Kind;
  auto tableWith = [](HeaderMatcher matcher) {
    Route route = prefixRoute("r", "/");
    route.match.headers.push_back(std::move(matcher));
    return mustBuild({vhost("v", {"*"}, {route})});
  };
  auto with = request("h", "/", {{"x-debug", "1"}});
  auto without = request("h", "/");

  auto present = tableWith(headerMatcher("x-debug", Kind::kPresent));
  CHECK(present->match(with));
  CHECK_FALSE(present->match(without));

  auto absent = tableWith(headerMatcher("x-debug", Kind::kPresent, "", false, /*present=*/false));
  CHECK_FALSE(absent->match(with));
  CHECK(absent->match(without));

  auto inverted_present = tableWith(headerMatcher("x-debug", Kind::kPresent, "", /*invert=*/true));
  CHECK_FALSE(inverted_present->match(with));
  CHECK(inverted_present->match(without));

  auto inverted_exact = tableWith(headerMatcher("x-debug", Kind::kExact, "1", /*invert=*/true));
  CHECK_FALSE(inverted_exact->match(with));
  CHECK(inverted_exact->match(request("h", "/", {{"x-debug", "2"}})));
  CHECK(inverted_exact->match(without));  // absent fails exact, invert flips it
}

TEST_CASE("several values of one header are matched comma-joined", "[router]") {
  Route route = prefixRoute("r", "/");
  route.match.headers.push_back(headerMatcher("x-tag", HeaderMatcher::Kind::kExact, "a,b"));
  auto table = mustBuild({vhost("v", {"*"}, {route})});
  CHECK(table->match(request("h", "/", {{"x-tag", "a"}, {"x-tag", "b"}})));
  CHECK_FALSE(table->match(request("h", "/", {{"x-tag", "a"}})));
}

TEST_CASE("header matchers can match the method pseudo-header", "[router]") {
  Route route = prefixRoute("post-only", "/");
  route.match.headers.push_back(headerMatcher(":method", HeaderMatcher::Kind::kExact, "POST"));
  auto table = mustBuild({vhost("v", {"*"}, {route})});
  CHECK_FALSE(table->match(request("h", "/")));  // GET
  HeaderMap post = request("h", "/");
  post.set(":method", "POST");
  CHECK(table->match(post));
}

TEST_CASE("weighted clusters split the random space by weight exactly", "[router]") {
  RouteAction action;
  action.weighted_clusters = {WeightedCluster{"a", 1}, WeightedCluster{"zero", 0}, WeightedCluster{"b", 3},
                              WeightedCluster{"c", 6}};
  std::map<std::string, int> counts;
  for (uint64_t random = 0; random < 1000; ++random) ++counts[remora::router::pickCluster(action, random)];
  CHECK(counts["a"] == 100);
  CHECK(counts["b"] == 300);
  CHECK(counts["c"] == 600);
  CHECK(counts.count("zero") == 0);
  // Deterministic for one random value, also far from zero.
  CHECK(remora::router::pickCluster(action, UINT64_MAX) == remora::router::pickCluster(action, UINT64_MAX));
  RouteAction single;
  single.cluster = "only";
  CHECK(remora::router::pickCluster(single, 12345) == "only");
}

TEST_CASE("a bad regex is rejected with its pattern and place named", "[router]") {
  Route bad_path = pathRoute("bad-path", RouteMatch::PathKind::kRegex, "/users/(");
  auto result = RouteTable::build(RouteConfiguration{"rc", {vhost("v", {"*"}, {bad_path})}});
  REQUIRE_FALSE(result.has_value());
  CHECK(result.error().code == Error::kInvalidArgument);
  CHECK_THAT(result.error().message, Catch::Contains("virtual_hosts[0] 'v' routes[0] 'bad-path'"));
  CHECK_THAT(result.error().message, Catch::Contains("/users/("));

  Route bad_header = prefixRoute("bad-header", "/");
  bad_header.match.headers.push_back(headerMatcher("x-a", HeaderMatcher::Kind::kRegex, "[a-"));
  auto header_result = RouteTable::build(RouteConfiguration{"rc", {vhost("v", {"*"}, {bad_header})}});
  REQUIRE_FALSE(header_result.has_value());
  CHECK_THAT(header_result.error().message, Catch::Contains("headers[0] 'x-a': bad regex '[a-'"));
}

TEST_CASE("invalid tables are rejected", "[router]") {
  auto fails = [](std::vector<VirtualHost> vhosts) {
    auto result = RouteTable::build(RouteConfiguration{"rc", std::move(vhosts)});
    return result.has_value() ? Error::kOk : result.error().code;
  };
  CHECK(fails({vhost("a", {"x.com:80"}), vhost("b", {"X.com:80"})}) == Error::kAlreadyExists);
  CHECK(fails({vhost("a", {"x.com"}), vhost("b", {"x.com:80"})}) == Error::kOk);  // the port one is more specific
  CHECK(fails({vhost("a", {"*"}), vhost("b", {"*"})}) == Error::kAlreadyExists);
  CHECK(fails({vhost("a", {"*.x.com"}), vhost("b", {"*.x.com"})}) == Error::kAlreadyExists);
  CHECK(fails({vhost("a", {"x.com"}), vhost("a", {"y.com"})}) == Error::kAlreadyExists);
  CHECK(fails({vhost("a", {"x.*.com"})}) == Error::kInvalidArgument);
  CHECK(fails({vhost("a", {""})}) == Error::kInvalidArgument);
  CHECK(fails({vhost("a", {})}) == Error::kInvalidArgument);
  CHECK(fails({vhost("a", {"x.com:80", "x.com:8080"})}) == Error::kOk);  // one host, two ports

  Route no_cluster = prefixRoute("r", "/", "");
  CHECK(fails({vhost("a", {"*"}, {no_cluster})}) == Error::kInvalidArgument);
  Route zero = prefixRoute("r", "/", "");
  std::get<RouteAction>(zero.action).weighted_clusters = {WeightedCluster{"a", 0}};
  CHECK(fails({vhost("a", {"*"}, {zero})}) == Error::kInvalidArgument);
}

TEST_CASE("a miss says whether the virtual host or the route was missing", "[router]") {
  auto table = mustBuild({vhost("shop", {"shop.local"}, {prefixRoute("api", "/api")})});
  // MatchResult views the request's headers, so they outlive it here.
  HeaderMap other = request("other.local:80", "/api");
  MatchResult no_vhost = table->match(other);
  CHECK(no_vhost.virtual_host == nullptr);
  CHECK(remora::router::noRouteReason(no_vhost) == "no virtual host for authority 'other.local'");

  HeaderMap shop = request("shop.local", "/z?secret=1");
  MatchResult no_route = table->match(shop);
  REQUIRE(no_route.virtual_host != nullptr);
  CHECK(no_route.route == nullptr);
  CHECK(remora::router::noRouteReason(no_route) == "no route in virtual host 'shop' for path '/z'");

  HeaderMap hostile_headers = request("a'\x01" "b", "/");
  MatchResult hostile = table->match(hostile_headers);
  CHECK(remora::router::noRouteReason(hostile) == "no virtual host for authority 'a??b'");
}

TEST_CASE("explain reports the domain, each route tried and why it was skipped", "[router]") {
  Route needs_header = prefixRoute("canary", "/api");
  needs_header.match.headers.push_back(headerMatcher("x-canary", HeaderMatcher::Kind::kExact, "1"));
  auto table = mustBuild({vhost("shop", {"*.shop.local"},
                                {prefixRoute("static", "/static"), needs_header, prefixRoute("api", "/api")})});
  auto explanation = table->explain(request("www.shop.local:8080", "/api/cart?id=3"));
  CHECK(explanation.host == "www.shop.local");
  CHECK(explanation.path == "/api/cart");
  CHECK(explanation.domain_match == DomainMatch::kSuffixWildcard);
  CHECK(explanation.domain_pattern == "*.shop.local");
  REQUIRE(explanation.steps.size() == 3);
  CHECK(explanation.steps[0].reason == "path '/api/cart' does not start with '/static'");
  CHECK(explanation.steps[1].reason == "header 'x-canary' is absent");
  CHECK(explanation.steps[2].matched);
  REQUIRE(explanation.route != nullptr);
  CHECK(explanation.route->name == "api");
  CHECK_THAT(explanation.toString(), Catch::Contains("result: route 'api'"));

  auto miss = table->explain(request("nowhere", "/"));
  CHECK(miss.virtual_host == nullptr);
  CHECK_THAT(miss.toString(), Catch::Contains("no virtual host for authority 'nowhere'"));
}

TEST_CASE("the table owns its routes after the source config is gone", "[router]") {
  std::shared_ptr<const RouteTable> table;
  {
    RouteConfiguration config{"rc", {vhost("v", {"*"}, {prefixRoute("kept", "/")})}};
    auto built = RouteTable::build(config);
    REQUIRE(built.has_value());
    table = *built;
  }
  CHECK(routeFor(*table, request("h", "/x")) == "kept");
}

TEST_CASE("matching a request allocates nothing", "[router]") {
  if (!kCountsAllocations) {
    WARN("allocation counting is off under AddressSanitizer");
    return;
  }
  Route with_headers = prefixRoute("headers", "/API");
  with_headers.match.case_sensitive = false;
  with_headers.match.headers.push_back(headerMatcher("x-a", HeaderMatcher::Kind::kPrefix, "v"));
  with_headers.match.headers.push_back(headerMatcher("x-b", HeaderMatcher::Kind::kPresent, "", true));
  auto table = mustBuild({vhost("exact", {"a.com"}), vhost("wild", {"*.Shop.local"}, {
                              pathRoute("exact", RouteMatch::PathKind::kExact, "/health"), with_headers}),
                          vhost("prefix", {"api.*"}), vhost("default", {"*"})});
  HeaderMap hit = request("WWW.shop.local:8080", "/api/items?q=1", {{"x-a", "value"}});
  HeaderMap miss = request("www.shop.local", "/nothing");
  HeaderMap fallback = request("api.example:80", "/");
  long before = g_allocations.load();
  MatchResult a = table->match(hit);
  MatchResult b = table->match(miss);
  MatchResult c = table->match(fallback);
  long allocations = g_allocations.load() - before;
  CHECK(allocations == 0);
  REQUIRE(a.route != nullptr);
  CHECK(a.route->name == "headers");
  CHECK(b.virtual_host->name == "wild");
  CHECK(b.route == nullptr);
  CHECK(c.virtual_host->name == "prefix");
}
