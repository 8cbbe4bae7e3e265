#include "control-plane/mesh/snapshot_builder.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "control-plane/mesh/validation.h"
#include "envoy/config/endpoint/v3/endpoint.pb.h"
#include "envoy/config/listener/v3/listener.pb.h"
#include "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.pb.h"
#include "xds/resources/http_connection_manager_converter.h"
#include "xds/resources/resource_decoder.h"

namespace remora::cp::mesh {
namespace {

namespace res = xds::resources;

void applyObject(MeshState& state, const std::string& json) {
  auto parsed = parseObject(json, state);
  INFO(json);
  INFO((parsed ? std::string() : parsed.error().message));
  REQUIRE(parsed.has_value());
  state.put(std::move(*parsed));
}

std::string endpoint(const std::string& name, const std::string& service, const std::string& address, int port,
                     const std::string& zone, const std::string& version, int weight = 1,
                     const std::string& namespace_ = "default") {
  return R"({"kind":"Endpoint","metadata":{"name":")" + name + R"(","namespace":")" + namespace_ +
         R"("},"spec":{"service":")" + service + R"(","address":")" + address + R"(","port":)" +
         std::to_string(port) + R"(,"locality":{"region":"eu","zone":")" + zone + R"("},"weight":)" +
         std::to_string(weight) + R"(,"labels":{"version":")" + version + R"("}}})";
}

// productpage -> reviews (v1 in zone a, v2 in zone b, 90/10) ; ratings in
// namespace shop over gRPC; a TCP database.
MeshState realisticMesh() {
  MeshState state;
  applyObject(state, R"({"kind":"Service","metadata":{"name":"productpage"},"spec":{"ports":[{"port":9080}]}})");
  applyObject(state, R"({"kind":"Service","metadata":{"name":"reviews"},"spec":{"ports":[{"name":"http","port":9080,"protocol":"HTTP"}]}})");
  applyObject(state, R"({"kind":"Service","metadata":{"name":"ratings","namespace":"shop"},
                   "spec":{"ports":[{"name":"grpc","port":8080,"protocol":"GRPC","targetPort":50051}]}})");
  applyObject(state, R"({"kind":"Service","metadata":{"name":"db"},"spec":{"ports":[{"port":5432,"protocol":"TCP"}]}})");
  applyObject(state, endpoint("productpage-1", "productpage", "10.0.0.1", 9080, "eu-a", "v1"));
  applyObject(state, endpoint("reviews-1", "reviews", "10.0.1.1", 9080, "eu-a", "v1", 2));
  applyObject(state, endpoint("reviews-2", "reviews", "10.0.1.2", 9080, "eu-a", "v1"));
  applyObject(state, endpoint("reviews-3", "reviews", "10.0.2.1", 9080, "eu-b", "v2", 5));
  applyObject(state, endpoint("ratings-1", "ratings", "10.0.3.1", 50051, "eu-b", "v1", 1, "shop"));
  applyObject(state, endpoint("db-1", "db", "10.0.4.1", 5432, "eu-a", "v1"));
  applyObject(state, R"({"kind":"RouteRule","metadata":{"name":"reviews-canary"},"spec":{"service":"reviews","routes":[
                   {"match":{"pathPrefix":"/reviews","headers":[{"name":"x-canary","present":true}]},
                    "split":[{"version":"v1","weight":90},{"version":"v2","weight":10}],"timeout":"2s"}]}})");
  applyObject(state, R"({"kind":"TrafficPolicy","metadata":{"name":"reviews"},"spec":{"service":"reviews",
                   "loadBalancer":"LEAST_REQUEST","connectTimeout":"0.25s","requestTimeout":"3s",
                   "circuitBreakers":{"maxConnections":50,"maxRequests":200}}})");
  return state;
}

const ProxyIdentity kProductpage{"productpage", "default", "productpage", "10.0.0.1", {9080}};

template <typename T>
T unpackAs(const google::protobuf::Any& any) {
  T message;
  REQUIRE(any.UnpackTo(&message));
  return message;
}

// Every resource of one type through the proxy's own validation, by name.
std::map<std::string, res::DecodedResource> decodeAll(const ProxyResources& out, res::ResourceType type) {
  std::map<std::string, res::DecodedResource> decoded;
  for (const google::protobuf::Any& any : out.of(res::typeUrlOf(type))) {
    auto result = res::decodeResource(type, any);
    INFO(any.DebugString());
    INFO((result ? std::string() : result.error().message));
    REQUIRE(result.has_value());
    CHECK(decoded.emplace(result->name, std::move(*result)).second);
  }
  return decoded;
}

template <typename T>
const T& modelOf(const std::map<std::string, res::DecodedResource>& decoded, const std::string& name) {
  auto it = decoded.find(name);
  INFO(name);
  REQUIRE(it != decoded.end());
  REQUIRE(std::holds_alternative<T>(it->second.value));
  return std::get<T>(it->second.value);
}

TEST_CASE("every resource built for a realistic mesh passes the proxy's own validation", "[mesh][builder]") {
  const MeshState state = realisticMesh();
  const ProxyIdentity proxies[] = {kProductpage, {"ratings", "shop", "ratings", "10.0.3.1", {50051}}, {}};
  for (const ProxyIdentity& proxy : proxies) {
    const ProxyResources out = buildForProxy(state, proxy);
    for (auto type : {res::ResourceType::kListener, res::ResourceType::kRouteConfiguration,
                      res::ResourceType::kCluster, res::ResourceType::kClusterLoadAssignment}) {
      CHECK_FALSE(decodeAll(out, type).empty());
    }
  }
}

TEST_CASE("a proxy gets the outbound listener, its inbound listener and cluster", "[mesh][builder]") {
  const ProxyResources out = buildForProxy(realisticMesh(), kProductpage);
  auto listeners = decodeAll(out, res::ResourceType::kListener);
  const auto& outbound = modelOf<res::Listener>(listeners, "outbound");
  CHECK(outbound.address == res::SocketAddress{"0.0.0.0", 15001});
  REQUIRE(outbound.default_filter_chain.has_value());
  const auto& hcm = std::get<res::HttpConnectionManager>(outbound.default_filter_chain->filter);
  CHECK(hcm.rds_route_config_name == "outbound");
  // The TCP service gets its own chain, chosen by original destination port.
  REQUIRE(outbound.filter_chains.size() == 1);
  CHECK(outbound.filter_chains[0].match.destination_port == 5432u);
  CHECK(std::get<res::TcpProxy>(outbound.filter_chains[0].filter).cluster == "outbound|5432||db.default");

  const auto& inbound = modelOf<res::Listener>(listeners, "inbound");
  CHECK(inbound.address == res::SocketAddress{"0.0.0.0", 15006});
  REQUIRE(inbound.filter_chains.size() == 1);
  CHECK(inbound.filter_chains[0].match.destination_port == 9080u);
  const auto& inbound_hcm = std::get<res::HttpConnectionManager>(inbound.filter_chains[0].filter);
  REQUIRE(inbound_hcm.route_config.has_value());
  const auto& action = std::get<res::RouteAction>(inbound_hcm.route_config->virtual_hosts[0].routes[0].action);
  CHECK(action.cluster == "inbound|9080");
  CHECK(inbound.default_filter_chain.has_value());

  auto clusters = decodeAll(out, res::ResourceType::kCluster);
  const auto& local = modelOf<res::Cluster>(clusters, "inbound|9080");
  CHECK(local.type == res::Cluster::DiscoveryType::kStatic);
  CHECK(local.endpoints == std::vector<res::Endpoint>{res::Endpoint{{"127.0.0.1", 9080}, 1, res::HealthStatus::kUnknown}});
  // Not another proxy's inbound cluster.
  CHECK(clusters.count("inbound|50051") == 0);
}

TEST_CASE("a client-only proxy gets no inbound listener", "[mesh][builder]") {
  const ProxyResources out = buildForProxy(realisticMesh(), ProxyIdentity{});
  auto listeners = decodeAll(out, res::ResourceType::kListener);
  CHECK(listeners.count("outbound") == 1);
  CHECK(listeners.count("inbound") == 0);
}

TEST_CASE("virtual hosts answer to every name of the service, with and without the port", "[mesh][builder]") {
  const ProxyResources out = buildForProxy(realisticMesh(), kProductpage);
  auto routes = decodeAll(out, res::ResourceType::kRouteConfiguration);
  const auto& config = modelOf<res::RouteConfiguration>(routes, "outbound");
  auto vhost = [&](const std::string& name) -> const res::VirtualHost& {
    auto it = std::find_if(config.virtual_hosts.begin(), config.virtual_hosts.end(),
                           [&](const res::VirtualHost& v) { return v.name == name; });
    REQUIRE(it != config.virtual_hosts.end());
    return *it;
  };
  CHECK(vhost("reviews.default:9080").domains ==
        std::vector<std::string>{"reviews", "reviews.default", "reviews.default.svc",
                                 "reviews.default.svc.cluster.local", "reviews:9080", "reviews.default:9080",
                                 "reviews.default.svc:9080", "reviews.default.svc.cluster.local:9080"});
  // Another namespace's service has no short name: it would collide across namespaces.
  const auto& ratings = vhost("ratings.shop:8080").domains;
  CHECK(std::find(ratings.begin(), ratings.end(), "ratings") == ratings.end());
  CHECK(std::find(ratings.begin(), ratings.end(), "ratings.shop.svc.cluster.local:8080") != ratings.end());
  // TCP services have no virtual host.
  CHECK(config.virtual_hosts.size() == 3);
}

TEST_CASE("a 90/10 RouteRule becomes weighted subset clusters, then a default route", "[mesh][builder]") {
  const ProxyResources out = buildForProxy(realisticMesh(), kProductpage);
  auto routes = decodeAll(out, res::ResourceType::kRouteConfiguration);
  const auto& config = modelOf<res::RouteConfiguration>(routes, "outbound");
  const auto& reviews = *std::find_if(config.virtual_hosts.begin(), config.virtual_hosts.end(),
                                      [](const res::VirtualHost& v) { return v.name == "reviews.default:9080"; });
  REQUIRE(reviews.routes.size() == 2);
  const auto& canary = reviews.routes[0];
  CHECK(canary.match.path == "/reviews");
  REQUIRE(canary.match.headers.size() == 1);
  CHECK(canary.match.headers[0].name == "x-canary");
  const auto& split = std::get<res::RouteAction>(canary.action);
  CHECK(split.weighted_clusters == std::vector<res::WeightedCluster>{{"outbound|9080|v1|reviews.default", 90},
                                                                     {"outbound|9080|v2|reviews.default", 10}});
  CHECK(split.timeout == res::Millis(2000));
  const auto& fallback = std::get<res::RouteAction>(reviews.routes[1].action);
  CHECK(fallback.cluster == "outbound|9080||reviews.default");
  CHECK(fallback.timeout == res::Millis(3000));  // the TrafficPolicy's request_timeout

  auto assignments = decodeAll(out, res::ResourceType::kClusterLoadAssignment);
  CHECK(modelOf<res::ClusterLoadAssignment>(assignments, "outbound|9080||reviews.default").endpoints.size() == 3);
  const auto& v2 = modelOf<res::ClusterLoadAssignment>(assignments, "outbound|9080|v2|reviews.default");
  REQUIRE(v2.endpoints.size() == 1);
  CHECK(v2.endpoints[0].address == res::SocketAddress{"10.0.2.1", 9080});
  CHECK(v2.endpoints[0].weight == 5);
  CHECK(modelOf<res::ClusterLoadAssignment>(assignments, "outbound|9080|v1|reviews.default").endpoints.size() == 2);
}

TEST_CASE("clusters carry the service protocol and the TrafficPolicy fields the proxy accepts", "[mesh][builder]") {
  const ProxyResources out = buildForProxy(realisticMesh(), kProductpage);
  auto clusters = decodeAll(out, res::ResourceType::kCluster);
  const auto& reviews = modelOf<res::Cluster>(clusters, "outbound|9080||reviews.default");
  CHECK(reviews.type == res::Cluster::DiscoveryType::kEds);
  CHECK(reviews.connect_timeout == res::Millis(250));
  CHECK(reviews.circuit_breakers.max_connections == 50);
  CHECK(reviews.circuit_breakers.max_requests == 200);
  CHECK(reviews.circuit_breakers.max_pending_requests == res::CircuitBreakers{}.max_pending_requests);
  CHECK(modelOf<res::Cluster>(clusters, "outbound|9080|v2|reviews.default").connect_timeout == res::Millis(250));
  CHECK(modelOf<res::Cluster>(clusters, "outbound|8080||ratings.shop").protocol ==
        res::Cluster::UpstreamProtocol::kHttp2);
  CHECK(reviews.protocol == res::Cluster::UpstreamProtocol::kHttp1);
  // The TrafficPolicy's balancer reaches the cluster, and is not warned about.
  CHECK(reviews.lb_policy == res::Cluster::LbPolicy::kLeastRequest);
  CHECK(std::none_of(out.warnings.begin(), out.warnings.end(),
                     [](const std::string& w) { return w.find("LEAST_REQUEST") != std::string::npos; }));
}

TEST_CASE("every locality of an assignment has a zone and a load balancing weight", "[mesh][builder]") {
  const ProxyResources out = buildForProxy(realisticMesh(), kProductpage);
  bool saw_reviews = false;
  for (const google::protobuf::Any& any : out.of(res::kClusterLoadAssignmentTypeUrl)) {
    const auto cla = unpackAs<envoy::config::endpoint::v3::ClusterLoadAssignment>(any);
    for (const auto& locality : cla.endpoints()) {
      CHECK_FALSE(locality.locality().zone().empty());
      REQUIRE(locality.has_load_balancing_weight());
      CHECK(locality.load_balancing_weight().value() >= 1);
    }
    if (cla.cluster_name() == "outbound|9080||reviews.default") {
      saw_reviews = true;
      REQUIRE(cla.endpoints_size() == 2);
      CHECK(cla.endpoints(0).locality().zone() == "eu-a");
      CHECK(cla.endpoints(0).load_balancing_weight().value() == 3);  // weights 2 + 1
      CHECK(cla.endpoints(1).locality().zone() == "eu-b");
      CHECK(cla.endpoints(1).load_balancing_weight().value() == 5);
    }
  }
  CHECK(saw_reviews);
}

TEST_CASE("gRPC clients get an API listener per service name, with RDS and the router last", "[mesh][builder]") {
  const ProxyResources out = buildForProxy(realisticMesh(), ProxyIdentity{});
  std::vector<std::string> names;
  for (const google::protobuf::Any& any : out.of(res::kListenerTypeUrl)) {
    const auto listener = unpackAs<envoy::config::listener::v3::Listener>(any);
    if (!listener.has_api_listener()) continue;
    names.push_back(listener.name());
    CHECK_FALSE(listener.has_address());
    const auto hcm = unpackAs<envoy::extensions::filters::network::http_connection_manager::v3::HttpConnectionManager>(
        listener.api_listener().api_listener());
    CHECK(hcm.rds().route_config_name() == "outbound");
    REQUIRE(hcm.http_filters_size() >= 1);
    CHECK(hcm.http_filters(hcm.http_filters_size() - 1).name() == "envoy.filters.http.router");
    CHECK(hcm.http_filters(hcm.http_filters_size() - 1).has_typed_config());
    // The same connection manager the proxy would accept.
    CHECK(res::toHttpConnectionManager(hcm, "api_listener").has_value());
  }
  for (const char* expected : {"reviews.default.svc.cluster.local:9080", "reviews.default.svc.cluster.local",
                               "reviews:9080", "reviews", "ratings.shop.svc.cluster.local:8080"}) {
    INFO(expected);
    CHECK(std::find(names.begin(), names.end(), expected) != names.end());
  }
  // Short names only for the client's own namespace; TCP services have none.
  CHECK(std::find(names.begin(), names.end(), "ratings") == names.end());
  CHECK(std::find(names.begin(), names.end(), "db") == names.end());
}

TEST_CASE("building the same mesh twice gives identical bytes", "[mesh][builder]") {
  const ProxyResources a = buildForProxy(realisticMesh(), kProductpage);
  const ProxyResources b = buildForProxy(realisticMesh(), kProductpage);
  REQUIRE(a.resources.size() == b.resources.size());
  for (const auto& [type, list] : a.resources) {
    const auto& other = b.of(type);
    REQUIRE(list.size() == other.size());
    for (size_t i = 0; i < list.size(); ++i) CHECK(list[i].SerializeAsString() == other[i].SerializeAsString());
  }
}

TEST_CASE("a TCP port shared with an HTTP service is left out with a warning", "[mesh][builder]") {
  MeshState state = realisticMesh();
  applyObject(state, R"({"kind":"Service","metadata":{"name":"cache"},"spec":{"ports":[{"port":9080,"protocol":"TCP"}]}})");
  const ProxyResources out = buildForProxy(state, kProductpage);
  auto listeners = decodeAll(out, res::ResourceType::kListener);
  CHECK(modelOf<res::Listener>(listeners, "outbound").filter_chains.size() == 1);  // db only
  CHECK(std::any_of(out.warnings.begin(), out.warnings.end(), [](const std::string& w) {
    return w.find("TCP port 9080 of service 'default/cache'") != std::string::npos;
  }));
}

}  // namespace
}  // namespace remora::cp::mesh
