#include "control-plane/mesh/interception_builder.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <set>
#include <string>
#include <vector>

#include "control-plane/mesh/snapshot_builder.h"
#include "control-plane/mesh/validation.h"
#include "envoy/config/cluster/v3/cluster.pb.h"
#include "envoy/config/listener/v3/listener.pb.h"
#include "envoy/config/route/v3/route.pb.h"
#include "envoy/extensions/filters/listener/original_dst/v3/original_dst.pb.h"
#include "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.pb.h"
#include "envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.pb.h"
#include "xds/resources/resource_decoder.h"
#include "xds/server/resource_snapshot.h"

namespace remora::cp::mesh {
namespace {

namespace res = xds::resources;
namespace listener = envoy::config::listener::v3;
namespace route = envoy::config::route::v3;
using Cluster = envoy::config::cluster::v3::Cluster;
using TcpProxy = envoy::extensions::filters::network::tcp_proxy::v3::TcpProxy;
using Hcm = envoy::extensions::filters::network::http_connection_manager::v3::HttpConnectionManager;

void applyObject(MeshState& state, const std::string& json) {
  auto parsed = parseObject(json, state);
  INFO(json);
  INFO((parsed ? std::string() : parsed.error().message));
  REQUIRE(parsed.has_value());
  state.put(std::move(*parsed));
}

std::string endpoint(const std::string& name, const std::string& service, const std::string& address, int port) {
  return R"({"kind":"Endpoint","metadata":{"name":")" + name + R"("},"spec":{"service":")" + service +
         R"(","address":")" + address + R"(","port":)" + std::to_string(port) + "}}";
}

// reviews (HTTP, a VIP, an IPv4 and an IPv6 endpoint); web (HTTP on 80 to
// target 8080, an IPv4 and an IPv6 VIP); db (TCP, a VIP and an endpoint).
MeshState interceptedMesh(bool with_addresses = true) {
  MeshState state;
  const std::string reviews_vip = with_addresses ? R"(,"addresses":["10.96.0.20"])" : "";
  const std::string web_vips = with_addresses ? R"(,"addresses":["10.96.0.30","fd00:96:0:0::30"])" : "";
  const std::string db_vip = with_addresses ? R"(,"addresses":["10.96.0.40"])" : "";
  applyObject(state, R"({"kind":"Service","metadata":{"name":"reviews"},"spec":{"ports":[{"port":9080}])" +
                         reviews_vip + "}}");
  applyObject(state, R"({"kind":"Service","metadata":{"name":"web"},"spec":{"ports":[{"port":80,"targetPort":8080}])" +
                         web_vips + "}}");
  applyObject(state, R"({"kind":"Service","metadata":{"name":"db"},"spec":{"ports":[{"port":5432,"protocol":"TCP"}])" +
                         db_vip + "}}");
  applyObject(state, endpoint("reviews-1", "reviews", "10.0.1.1", 9080));
  applyObject(state, endpoint("reviews-2", "reviews", "fd00::11", 9080));
  applyObject(state, endpoint("web-1", "web", "10.0.2.1", 8080));
  applyObject(state, endpoint("db-1", "db", "10.0.4.1", 5432));
  return state;
}

ProxyIdentity redirectSidecar(const std::string& service = "web", std::vector<uint32_t> ports = {8080}) {
  ProxyIdentity proxy;
  proxy.service = service;
  proxy.pod_ip = "10.0.2.1";
  proxy.app_ports = std::move(ports);
  proxy.api_listeners = false;
  proxy.interception = InterceptionMode::kRedirect;
  return proxy;
}

template <typename T>
T unpackAs(const google::protobuf::Any& any) {
  T message;
  REQUIRE(any.UnpackTo(&message));
  return message;
}

template <typename T>
T resourceNamed(const ProxyResources& out, std::string_view type_url, const std::string& name) {
  for (const google::protobuf::Any& any : out.of(type_url)) {
    if (xds::server::resourceName(any).value() == name) return unpackAs<T>(any);
  }
  FAIL("no resource named " << name);
  return T();
}

const listener::FilterChain* chainNamed(const listener::Listener& l, const std::string& name) {
  for (const listener::FilterChain& chain : l.filter_chains()) {
    if (chain.name() == name) return &chain;
  }
  return nullptr;
}

std::vector<std::string> rangesOf(const listener::FilterChain& chain) {
  std::vector<std::string> out;
  for (const auto& range : chain.filter_chain_match().prefix_ranges()) {
    out.push_back(range.address_prefix() + "/" + std::to_string(range.prefix_len().value()));
  }
  return out;
}

std::vector<std::string> listenerFilterNames(const listener::Listener& l) {
  std::vector<std::string> out;
  for (const auto& filter : l.listener_filters()) out.push_back(filter.name());
  return out;
}

const route::VirtualHost& vhostNamed(const route::RouteConfiguration& config, const std::string& name) {
  auto it = std::find_if(config.virtual_hosts().begin(), config.virtual_hosts().end(),
                         [&](const route::VirtualHost& v) { return v.name() == name; });
  REQUIRE(it != config.virtual_hosts().end());
  return *it;
}

bool contains(const google::protobuf::RepeatedPtrField<std::string>& list, const std::string& value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

bool anyWarning(const std::vector<std::string>& warnings, const std::string& part) {
  return std::any_of(warnings.begin(), warnings.end(),
                     [&](const std::string& w) { return w.find(part) != std::string::npos; });
}

TEST_CASE("a REDIRECT proxy's listeners both start with the original_dst listener filter", "[mesh][interception]") {
  const ProxyResources out = buildForProxy(interceptedMesh(), redirectSidecar());
  const auto outbound = resourceNamed<listener::Listener>(out, res::kListenerTypeUrl, "outbound");
  const auto inbound = resourceNamed<listener::Listener>(out, res::kListenerTypeUrl, "inbound");
  CHECK(listenerFilterNames(outbound) ==
        std::vector<std::string>{"envoy.filters.listener.original_dst", "envoy.filters.listener.http_inspector"});
  CHECK(listenerFilterNames(inbound) == std::vector<std::string>{"envoy.filters.listener.original_dst"});
  CHECK(outbound.listener_filters(0).typed_config().Is<envoy::extensions::filters::listener::original_dst::v3::OriginalDst>());
  CHECK(outbound.address().socket_address().port_value() == 15001);
  CHECK(inbound.address().socket_address().port_value() == 15006);
  // The inbound chains still match the app port the caller dialled.
  REQUIRE(inbound.filter_chains_size() == 1);
  CHECK(inbound.filter_chains(0).filter_chain_match().destination_port().value() == 8080);
}

TEST_CASE("a REDIRECT proxy's inbound listener has no fallback chain for undeclared ports", "[mesh][interception]") {
  // Each chain matches its own app port; a connection captured for any other
  // port of the pod must not reach the first app port.
  const ProxyResources out = buildForProxy(interceptedMesh(), redirectSidecar("web", {8080, 9090}));
  const auto inbound = resourceNamed<listener::Listener>(out, res::kListenerTypeUrl, "inbound");
  CHECK_FALSE(inbound.has_default_filter_chain());
  REQUIRE(inbound.filter_chains_size() == 2);
  for (const listener::FilterChain& chain : inbound.filter_chains()) {
    CHECK(chain.filter_chain_match().has_destination_port());
  }
  ProxyIdentity plain = redirectSidecar("web", {8080, 9090});
  plain.interception = InterceptionMode::kNone;
  const auto unchanged = resourceNamed<listener::Listener>(buildForProxy(interceptedMesh(), plain),
                                                           res::kListenerTypeUrl, "inbound");
  CHECK(unchanged.has_default_filter_chain());
}

TEST_CASE("REDIRECT TCP chains match the destination port and the service's VIPs and endpoint IPs",
          "[mesh][interception]") {
  const ProxyResources out = buildForProxy(interceptedMesh(), redirectSidecar());
  const auto outbound = resourceNamed<listener::Listener>(out, res::kListenerTypeUrl, "outbound");
  const listener::FilterChain* db = chainNamed(outbound, "outbound|5432||db.default");
  REQUIRE(db != nullptr);
  CHECK(db->filter_chain_match().destination_port().value() == 5432);
  CHECK(rangesOf(*db) == std::vector<std::string>{"10.96.0.40/32", "10.0.4.1/32"});
  REQUIRE(db->filters_size() == 1);
  CHECK(unpackAs<TcpProxy>(db->filters(0).typed_config()).cluster() == "outbound|5432||db.default");
}

TEST_CASE("a TCP endpoint on another port than the service's gets a chain of its own", "[mesh][interception]") {
  MeshState state = interceptedMesh();
  applyObject(state, R"({"kind":"Service","metadata":{"name":"redis"},"spec":{"ports":[{"port":6379,"targetPort":16379,
                   "protocol":"TCP"}],"addresses":["fd00:96::50"]}})");
  applyObject(state, endpoint("redis-1", "redis", "fd00::51", 16379));
  const ProxyResources out = buildForProxy(state, redirectSidecar());
  const auto outbound = resourceNamed<listener::Listener>(out, res::kListenerTypeUrl, "outbound");
  const listener::FilterChain* vip = chainNamed(outbound, "outbound|6379||redis.default");
  const listener::FilterChain* pods = chainNamed(outbound, "outbound|6379||redis.default|16379");
  REQUIRE(vip != nullptr);
  REQUIRE(pods != nullptr);
  CHECK(vip->filter_chain_match().destination_port().value() == 6379);
  CHECK(rangesOf(*vip) == std::vector<std::string>{"fd00:96::50/128"});
  CHECK(pods->filter_chain_match().destination_port().value() == 16379);
  CHECK(rangesOf(*pods) == std::vector<std::string>{"fd00::51/128"});
  CHECK(unpackAs<TcpProxy>(pods->filters(0).typed_config()).cluster() == "outbound|6379||redis.default");
}

TEST_CASE("a TCP service port with no address at all gets no chain, with a warning", "[mesh][interception]") {
  MeshState state = interceptedMesh();
  applyObject(state, R"({"kind":"Service","metadata":{"name":"cache"},"spec":{"ports":[{"port":6379,"protocol":"TCP"}]}})");
  const ProxyResources out = buildForProxy(state, redirectSidecar());
  const auto outbound = resourceNamed<listener::Listener>(out, res::kListenerTypeUrl, "outbound");
  CHECK(chainNamed(outbound, "outbound|6379||cache.default") == nullptr);
  CHECK(anyWarning(out.warnings, "TCP port 6379 of service 'default/cache' gets no filter chain"));
  // Without interception the port alone picks the chain, as before.
  ProxyIdentity none = redirectSidecar();
  none.interception = InterceptionMode::kNone;
  const auto explicit_outbound =
      resourceNamed<listener::Listener>(buildForProxy(state, none), res::kListenerTypeUrl, "outbound");
  CHECK(chainNamed(explicit_outbound, "outbound|6379||cache.default") != nullptr);
}

TEST_CASE("two TCP services share a port by address and an address both claim stays with the first",
          "[mesh][interception]") {
  MeshState state = interceptedMesh();
  // pg: the same port as db, its own VIP, and a pod IP db already has.
  applyObject(state, R"({"kind":"Service","metadata":{"name":"pg"},"spec":{"ports":[{"port":5432,"protocol":"TCP"}],
                   "addresses":["10.96.0.41"]}})");
  applyObject(state, endpoint("pg-1", "pg", "10.0.4.1", 5432));
  const ProxyResources out = buildForProxy(state, redirectSidecar());
  const auto outbound = resourceNamed<listener::Listener>(out, res::kListenerTypeUrl, "outbound");
  const listener::FilterChain* db = chainNamed(outbound, "outbound|5432||db.default");
  const listener::FilterChain* pg = chainNamed(outbound, "outbound|5432||pg.default");
  REQUIRE(db != nullptr);
  REQUIRE(pg != nullptr);
  CHECK(rangesOf(*db) == std::vector<std::string>{"10.96.0.40/32", "10.0.4.1/32"});
  CHECK(rangesOf(*pg) == std::vector<std::string>{"10.96.0.41/32"});
  CHECK(anyWarning(out.warnings,
                   "TCP port 5432 of service 'default/pg': 10.0.4.1:5432 is left out: service 'default/db' already uses it"));
}

TEST_CASE("a port both a TCP and an HTTP service use gets an HTTP chain of its own", "[mesh][interception]") {
  MeshState state = interceptedMesh();
  applyObject(state, R"({"kind":"Service","metadata":{"name":"legacy"},"spec":{"ports":[{"port":9080,"protocol":"TCP"}],
                   "addresses":["10.96.0.60"]}})");
  const ProxyResources out = buildForProxy(state, redirectSidecar());
  const auto outbound = resourceNamed<listener::Listener>(out, res::kListenerTypeUrl, "outbound");
  const listener::FilterChain* legacy = chainNamed(outbound, "outbound|9080||legacy.default");
  REQUIRE(legacy != nullptr);
  CHECK(rangesOf(*legacy) == std::vector<std::string>{"10.96.0.60/32"});
  const listener::FilterChain* http = chainNamed(outbound, "http|9080");
  REQUIRE(http != nullptr);
  CHECK(http->filter_chain_match().destination_port().value() == 9080);
  CHECK(http->filter_chain_match().prefix_ranges_size() == 0);
  CHECK(http->filter_chain_match().application_protocols_size() == 2);
  CHECK(unpackAs<Hcm>(http->filters(0).typed_config()).rds().route_config_name() == "outbound");
  // The ports nobody shares have none.
  CHECK(chainNamed(outbound, "http|5432") == nullptr);
}

TEST_CASE("sniffed HTTP takes the http chain and everything else passes through or into the black hole",
          "[mesh][interception]") {
  for (auto policy : {OutboundTrafficPolicy::kAllowAny, OutboundTrafficPolicy::kRegistryOnly}) {
    const bool allow_any = policy == OutboundTrafficPolicy::kAllowAny;
    INFO((allow_any ? "allow-any" : "registry-only"));
    const ProxyResources out = buildForProxy(interceptedMesh(), redirectSidecar(), {}, {}, policy);
    const auto outbound = resourceNamed<listener::Listener>(out, res::kListenerTypeUrl, "outbound");
    const listener::FilterChain* http = chainNamed(outbound, "http");
    REQUIRE(http != nullptr);
    CHECK_FALSE(http->filter_chain_match().has_destination_port());
    CHECK(std::vector<std::string>(http->filter_chain_match().application_protocols().begin(),
                                   http->filter_chain_match().application_protocols().end()) ==
          std::vector<std::string>{"http/1.1", "h2c"});
    CHECK(unpackAs<Hcm>(http->filters(0).typed_config()).rds().route_config_name() == "outbound");
    REQUIRE(outbound.has_default_filter_chain());
    CHECK(outbound.default_filter_chain().name() == (allow_any ? "passthrough" : "blackhole"));
    CHECK(unpackAs<TcpProxy>(outbound.default_filter_chain().filters(0).typed_config()).cluster() ==
          (allow_any ? "PassthroughCluster" : "BlackHoleCluster"));
  }
}

TEST_CASE("REDIRECT virtual hosts also answer to VIP and endpoint authorities, IPv6 in brackets",
          "[mesh][interception]") {
  const ProxyResources out = buildForProxy(interceptedMesh(), redirectSidecar());
  const auto config = resourceNamed<route::RouteConfiguration>(out, res::kRouteConfigurationTypeUrl, "outbound");
  const auto& reviews = vhostNamed(config, "reviews.default:9080").domains();
  CHECK(contains(reviews, "reviews:9080"));  // the names stay
  CHECK(contains(reviews, "10.96.0.20:9080"));
  CHECK(contains(reviews, "10.0.1.1:9080"));
  CHECK(contains(reviews, "[fd00::11]:9080"));
  CHECK_FALSE(contains(reviews, "10.96.0.20"));  // not port 80
  const auto& web = vhostNamed(config, "web.default:80").domains();
  // Port 80: Host leaves the port out, so the bare VIP too; the IPv6 VIP canonical.
  for (const char* domain : {"10.96.0.30:80", "10.96.0.30", "[fd00:96::30]:80", "[fd00:96::30]", "10.0.2.1:8080"}) {
    INFO(domain);
    CHECK(contains(web, domain));
  }
  CHECK_FALSE(contains(web, "10.0.2.1"));
  // TCP services have no virtual host, so none of their addresses.
  for (const auto& vhost : config.virtual_hosts()) CHECK_FALSE(contains(vhost.domains(), "10.96.0.40:5432"));
}

TEST_CASE("an address domain two services claim stays with the first, with a warning", "[mesh][interception]") {
  MeshState state = interceptedMesh();
  // ratings: a second service over the same pod as reviews.
  applyObject(state, R"({"kind":"Service","metadata":{"name":"ratings"},"spec":{"ports":[{"port":9080}]}})");
  applyObject(state, endpoint("ratings-1", "ratings", "10.0.1.1", 9080));
  const ProxyResources out = buildForProxy(state, redirectSidecar());
  const auto config = resourceNamed<route::RouteConfiguration>(out, res::kRouteConfigurationTypeUrl, "outbound");
  CHECK_FALSE(contains(vhostNamed(config, "reviews.default:9080").domains(), "10.0.1.1:9080"));
  CHECK(contains(vhostNamed(config, "ratings.default:9080").domains(), "10.0.1.1:9080"));  // "ratings" < "reviews"
  CHECK(anyWarning(out.warnings, "service 'default/reviews' port 9080: domain \"10.0.1.1:9080\" is left out: "
                                 "virtual host 'ratings.default:9080' already answers it"));
  // Every domain is in one virtual host only.
  std::set<std::string> seen;
  for (const auto& vhost : config.virtual_hosts()) {
    for (const std::string& domain : vhost.domains()) CHECK(seen.insert(domain).second);
  }
}

TEST_CASE("the last virtual host passes everything else through, or blocks it under registry-only",
          "[mesh][interception]") {
  const auto allow = resourceNamed<route::RouteConfiguration>(
      buildForProxy(interceptedMesh(), redirectSidecar()), res::kRouteConfigurationTypeUrl, "outbound");
  const route::VirtualHost& last = allow.virtual_hosts(allow.virtual_hosts_size() - 1);
  CHECK(last.name() == "passthrough");
  CHECK(std::vector<std::string>(last.domains().begin(), last.domains().end()) == std::vector<std::string>{"*"});
  REQUIRE(last.routes_size() == 1);
  CHECK(last.routes(0).match().prefix() == "/");
  CHECK(last.routes(0).route().cluster() == "PassthroughCluster");
  CHECK(last.routes(0).route().has_timeout());
  CHECK(last.routes(0).route().timeout().seconds() == 0);

  const auto blocked = resourceNamed<route::RouteConfiguration>(
      buildForProxy(interceptedMesh(), redirectSidecar(), {}, {}, OutboundTrafficPolicy::kRegistryOnly),
      res::kRouteConfigurationTypeUrl, "outbound");
  const route::VirtualHost& block = blocked.virtual_hosts(blocked.virtual_hosts_size() - 1);
  CHECK(block.name() == "passthrough");
  REQUIRE(block.routes_size() == 1);
  CHECK(block.routes(0).name() == "block_all");
  CHECK(block.routes(0).direct_response().status() == 502);
  CHECK_THAT(block.routes(0).direct_response().body().inline_string(),
             Catch::Contains("not a service in the mesh registry") && Catch::Contains("registry-only"));
  // The proxy's route converter accepts the direct response.
  CHECK(res::decodeResource(res::ResourceType::kRouteConfiguration, [&] {
          google::protobuf::Any any;
          route::RouteConfiguration only;
          only.set_name("outbound");
          *only.add_virtual_hosts() = block;
          any.PackFrom(only);
          return any;
        }()).has_value());
}

TEST_CASE("PassthroughCluster and BlackHoleCluster go to REDIRECT proxies only", "[mesh][interception]") {
  const ProxyResources out = buildForProxy(interceptedMesh(), redirectSidecar());
  const auto passthrough = resourceNamed<Cluster>(out, res::kClusterTypeUrl, "PassthroughCluster");
  CHECK(passthrough.type() == Cluster::ORIGINAL_DST);
  CHECK(passthrough.lb_policy() == Cluster::CLUSTER_PROVIDED);
  CHECK(passthrough.connect_timeout().seconds() == 5);
  CHECK_FALSE(passthrough.has_transport_socket());
  CHECK_FALSE(passthrough.has_load_assignment());
  const auto black_hole = resourceNamed<Cluster>(out, res::kClusterTypeUrl, "BlackHoleCluster");
  CHECK(black_hole.type() == Cluster::STATIC);
  CHECK(black_hole.load_assignment().endpoints_size() == 0);

  ProxyIdentity none = redirectSidecar();
  none.interception = InterceptionMode::kNone;
  const ProxyResources explicit_out = buildForProxy(interceptedMesh(), none);
  CHECK_FALSE(explicit_out.of(res::kClusterTypeUrl).empty());
  for (const google::protobuf::Any& any : explicit_out.of(res::kClusterTypeUrl)) {
    const std::string name = xds::server::resourceName(any).value();
    CHECK(name != "PassthroughCluster");
    CHECK(name != "BlackHoleCluster");
  }
}

TEST_CASE("a NONE proxy's config ignores service addresses and the outbound traffic policy, byte for byte",
          "[mesh][interception]") {
  ProxyIdentity none = redirectSidecar();
  none.interception = InterceptionMode::kNone;
  const ProxyResources before = buildForProxy(interceptedMesh(false), none);
  const ProxyResources after =
      buildForProxy(interceptedMesh(true), none, {}, {}, OutboundTrafficPolicy::kRegistryOnly);
  REQUIRE(before.resources.size() == after.resources.size());
  for (const auto& [type, list] : before.resources) {
    INFO(type);
    const auto& other = after.of(type);
    REQUIRE(list.size() == other.size());
    for (size_t i = 0; i < list.size(); ++i) CHECK(list[i].SerializeAsString() == other[i].SerializeAsString());
  }
  CHECK(before.warnings == after.warnings);
  const auto outbound = resourceNamed<listener::Listener>(after, res::kListenerTypeUrl, "outbound");
  CHECK(outbound.listener_filters_size() == 0);
  CHECK(outbound.default_filter_chain().name() == "http");
}

TEST_CASE("everything a REDIRECT proxy gets passes the proxy's own validation", "[mesh][interception]") {
  MeshState state = interceptedMesh();
  applyObject(state, R"({"kind":"Service","metadata":{"name":"pg"},"spec":{"ports":[{"port":5432,"protocol":"TCP"}],
                   "addresses":["10.96.0.41"]}})");
  applyObject(state, R"({"kind":"Service","metadata":{"name":"legacy"},"spec":{"ports":[{"port":9080,"protocol":"TCP"}],
                   "addresses":["10.96.0.60"]}})");
  applyObject(state, R"({"kind":"Service","metadata":{"name":"redis"},"spec":{"ports":[{"port":6379,"targetPort":16379,
                   "protocol":"TCP"}],"addresses":["fd00:96::50"]}})");
  applyObject(state, endpoint("redis-1", "redis", "fd00::51", 16379));
  for (auto policy : {OutboundTrafficPolicy::kAllowAny, OutboundTrafficPolicy::kRegistryOnly}) {
    const ProxyResources out = buildForProxy(state, redirectSidecar(), {}, {}, policy);
    for (auto type : {res::ResourceType::kListener, res::ResourceType::kRouteConfiguration,
                      res::ResourceType::kCluster, res::ResourceType::kClusterLoadAssignment}) {
      for (const google::protobuf::Any& any : out.of(res::typeUrlOf(type))) {
        auto decoded = res::decodeResource(type, any);
        INFO(any.DebugString());
        INFO((decoded ? std::string() : decoded.error().message));
        CHECK(decoded.has_value());
      }
    }
  }
}

TEST_CASE("authority hosts put IPv6 in brackets", "[mesh][interception]") {
  CHECK(authorityHost("10.0.0.1") == "10.0.0.1");
  CHECK(authorityHost("fd00::1") == "[fd00::1]");
}

}  // namespace
}  // namespace remora::cp::mesh
