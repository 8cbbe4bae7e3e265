#include "xds/resources/resource_decoder.h"

#include <catch2/catch.hpp>

#include "envoy/config/cluster/v3/cluster.pb.h"
#include "envoy/config/endpoint/v3/endpoint.pb.h"
#include "envoy/config/listener/v3/listener.pb.h"
#include "envoy/config/route/v3/route.pb.h"
#include "envoy/extensions/transport_sockets/tls/v3/secret.pb.h"
#include "tests/unit/xds/resources/proto_json.h"

using namespace remora::xds::resources;
using remora::base::Error;
using testing::protoFromJson;
using ListenerProto = envoy::config::listener::v3::Listener;
using RouteProto = envoy::config::route::v3::RouteConfiguration;
using ClusterProto = envoy::config::cluster::v3::Cluster;
using AssignmentProto = envoy::config::endpoint::v3::ClusterLoadAssignment;
using SecretProto = envoy::extensions::transport_sockets::tls::v3::Secret;

namespace {

template <typename Proto>
google::protobuf::Any pack(std::string_view json) {
  google::protobuf::Any any;
  any.PackFrom(protoFromJson<Proto>(json));
  return any;
}

template <typename Proto>
DecodedResource decodeOk(ResourceType type, std::string_view json) {
  auto decoded = decodeResource(type, pack<Proto>(json));
  INFO((decoded ? "" : decoded.error().message));
  REQUIRE(decoded);
  return std::move(*decoded);
}

template <typename Proto>
remora::base::Failure decodeError(ResourceType type, std::string_view json) {
  auto decoded = decodeResource(type, pack<Proto>(json));
  REQUIRE_FALSE(decoded);
  return decoded.error();
}

constexpr const char* kRouter =
    R"({"name": "envoy.filters.http.router", "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}})";

// A listener whose one chain is an HTTP connection manager with `route_spec`
// ("route_config": ... or "rds": ...).
std::string httpListener(const std::string& name, const std::string& route_spec) {
  return R"({"name": ")" + name + R"(", "address": {"socket_address": {"address": "0.0.0.0", "port_value": 15001}},
      "filter_chains": [{"filters": [{"name": "hcm", "typed_config": {
        "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
        "stat_prefix": "outbound", )" +
         route_spec + R"(, "http_filters": [)" + kRouter + "]}}]}]}";
}

constexpr const char* kStaticCluster = R"({"name": "backend", "connect_timeout": "1s",
    "load_assignment": {"cluster_name": "backend", "endpoints": [{"lb_endpoints": [{"endpoint": {"address":
      {"socket_address": {"address": "10.0.0.7", "port_value": 8080}}}}]}]}})";

// Appends field 9999 (varint 1) to an encoded message: a field added to
// Envoy's protos after ours were written.
std::string withUnknownField(std::string bytes) {
  // tag = (9999 << 3) | 0 = 79992 -> varint 0xf8 0xf0 0x04
  bytes += std::string("\xf8\xf0\x04\x01", 4);
  return bytes;
}

}  // namespace

TEST_CASE("type URLs, types and short names map onto each other", "[xds][resources][decoder]") {
  for (ResourceType type : {ResourceType::kListener, ResourceType::kRouteConfiguration, ResourceType::kCluster,
                            ResourceType::kClusterLoadAssignment, ResourceType::kSecret}) {
    CHECK(resourceTypeOf(typeUrlOf(type)) == type);
  }
  CHECK(typeUrlOf(ResourceType::kListener) ==
        "type.googleapis.com/" + ListenerProto::descriptor()->full_name());
  CHECK(typeUrlOf(ResourceType::kRouteConfiguration) == "type.googleapis.com/" + RouteProto::descriptor()->full_name());
  CHECK(typeUrlOf(ResourceType::kCluster) == "type.googleapis.com/" + ClusterProto::descriptor()->full_name());
  CHECK(typeUrlOf(ResourceType::kClusterLoadAssignment) ==
        "type.googleapis.com/" + AssignmentProto::descriptor()->full_name());
  CHECK(typeUrlOf(ResourceType::kSecret) == "type.googleapis.com/" + SecretProto::descriptor()->full_name());
  CHECK(shortTypeName(ResourceType::kClusterLoadAssignment) == "ClusterLoadAssignment");
  CHECK(shortTypeName(ResourceType::kRouteConfiguration) == "RouteConfiguration");
  CHECK_FALSE(resourceTypeOf("type.googleapis.com/envoy.config.listener.v3.ApiListener"));
  CHECK_FALSE(resourceTypeOf("type.googleapis.com/envoy.api.v2.Listener"));
}

TEST_CASE("each resource type decodes into its model value", "[xds][resources][decoder]") {
  DecodedResource listener = decodeOk<ListenerProto>(
      ResourceType::kListener,
      httpListener("outbound_15001", R"("route_config": {"name": "inline", "virtual_hosts": [{"name": "v",
          "domains": ["*"], "routes": [{"match": {"prefix": "/"}, "route": {"cluster": "backend"}}]}]})"));
  CHECK(listener.name == "outbound_15001");
  REQUIRE(std::holds_alternative<Listener>(listener.value));
  CHECK(std::get<Listener>(listener.value).address.port == 15001);

  DecodedResource routes = decodeOk<RouteProto>(ResourceType::kRouteConfiguration, R"({"name": "r1", "virtual_hosts":
      [{"name": "v", "domains": ["b.svc"], "routes": [{"match": {"prefix": "/"}, "route": {"cluster": "backend"}}]}]})");
  CHECK(routes.name == "r1");
  REQUIRE(std::holds_alternative<RouteConfiguration>(routes.value));
  CHECK(std::get<RouteConfiguration>(routes.value).virtual_hosts.at(0).domains.at(0) == "b.svc");

  DecodedResource cluster = decodeOk<ClusterProto>(ResourceType::kCluster, kStaticCluster);
  CHECK(cluster.name == "backend");
  REQUIRE(std::holds_alternative<Cluster>(cluster.value));
  CHECK(std::get<Cluster>(cluster.value).connect_timeout == Millis(1000));

  DecodedResource assignment = decodeOk<AssignmentProto>(
      ResourceType::kClusterLoadAssignment, R"({"cluster_name": "backend", "policy": {"overprovisioning_factor": 150},
      "endpoints": [{"locality": {"zone": "a"}, "priority": 1,
      "lb_endpoints": [{"endpoint": {"address": {"socket_address": {"address": "10.0.0.8", "port_value": 80}}},
                        "health_status": "HEALTHY", "load_balancing_weight": 2},
                       {"endpoint": {"address": {"socket_address": {"address": "::1", "port_value": 81}}}}]}]})");
  CHECK(assignment.name == "backend");
  REQUIRE(std::holds_alternative<ClusterLoadAssignment>(assignment.value));
  const auto& cla = std::get<ClusterLoadAssignment>(assignment.value);
  CHECK(cla.cluster_name == "backend");
  REQUIRE(cla.endpoints.size() == 2);
  CHECK(cla.endpoints[0].weight == 2);
  CHECK(cla.endpoints[0].health == HealthStatus::kHealthy);
  CHECK(cla.endpoints[1].address == SocketAddress{"::1", 81});
  CHECK(cla.endpoints[1].locality.zone == "a");
  CHECK(cla.endpoints[1].priority == 1);
  CHECK(cla.overprovisioning_factor == 150);

  DecodedResource secret = decodeOk<SecretProto>(ResourceType::kSecret, R"({"name": "ROOTCA", "validation_context": {
      "trusted_ca": {"inline_string": "-----BEGIN CERTIFICATE-----\nMII...\n-----END CERTIFICATE-----\n"}}})");
  CHECK(secret.name == "ROOTCA");
  REQUIRE(std::holds_alternative<Secret>(secret.value));
  const Secret& bundle = std::get<Secret>(secret.value);
  CHECK(bundle.name == "ROOTCA");
  CHECK_FALSE(bundle.tls_certificate);
  REQUIRE(bundle.validation_context);
  CHECK(bundle.validation_context->trusted_ca == "-----BEGIN CERTIFICATE-----\nMII...\n-----END CERTIFICATE-----\n");

  auto bad = decodeResource(ResourceType::kSecret, pack<SecretProto>(
      R"({"name": "default", "tls_certificate": {"certificate_chain": {"inline_string": "x"}}})"));
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message == "Secret 'default': tls_certificate.private_key: is required");
}

TEST_CASE("an Any of another type than the subscription is an error", "[xds][resources][decoder]") {
  auto decoded = decodeResource(ResourceType::kListener, pack<ClusterProto>(kStaticCluster));
  REQUIRE_FALSE(decoded);
  CHECK(decoded.error().code == Error::kInvalidArgument);
  CHECK(decoded.error().message ==
        "Listener: resource type_url \"type.googleapis.com/envoy.config.cluster.v3.Cluster\" is not "
        "\"type.googleapis.com/envoy.config.listener.v3.Listener\"");
}

TEST_CASE("bytes that are not the named message are an error", "[xds][resources][decoder]") {
  google::protobuf::Any any;
  any.set_type_url(std::string(kClusterTypeUrl));
  any.set_value(std::string("\x0a\x05" "ab", 4));  // a string field claiming 5 bytes, holding 2
  auto decoded = decodeResource(ResourceType::kCluster, any);
  REQUIRE_FALSE(decoded);
  CHECK(decoded.error().code == Error::kInvalidArgument);
  CHECK(decoded.error().message == "Cluster: cannot be decoded as envoy.config.cluster.v3.Cluster");
}

TEST_CASE("a resource without a name is an error", "[xds][resources][decoder]") {
  CHECK(decodeError<ListenerProto>(ResourceType::kListener, R"({"address": {"socket_address":
      {"address": "127.0.0.1", "port_value": 1}}})").message == "Listener without a name: name: is required");
  CHECK(decodeError<RouteProto>(ResourceType::kRouteConfiguration, R"({"virtual_hosts": []})").message ==
        "RouteConfiguration without a name: name: is required");
  CHECK(decodeError<ClusterProto>(ResourceType::kCluster, R"({"connect_timeout": "1s"})").message ==
        "Cluster without a name: name: is required");
  auto cla = decodeError<AssignmentProto>(ResourceType::kClusterLoadAssignment, R"({"endpoints": []})");
  CHECK(cla.code == Error::kInvalidArgument);
  CHECK(cla.message == "ClusterLoadAssignment without a name: cluster_name: is required");
  CHECK(decodeError<SecretProto>(ResourceType::kSecret, R"({"generic_secret": {}})").message ==
        "Secret without a name: name: is required");
}

TEST_CASE("a malformed listener is refused naming the listener and the field", "[xds][resources][decoder]") {
  auto no_address = decodeError<ListenerProto>(ResourceType::kListener, R"({"name": "l1", "filter_chains": []})");
  CHECK(no_address.code == Error::kInvalidArgument);
  CHECK(no_address.message == "Listener 'l1': address: is required");

  auto bad_route = decodeError<ListenerProto>(
      ResourceType::kListener, httpListener("outbound_15001", R"("route_config": {"virtual_hosts": [{"name": "v",
          "domains": ["*"], "routes": [{"match": {"prefix": "/"}, "direct_response": {"status": 99}}]}]})"));
  CHECK(bad_route.message ==
        "Listener 'outbound_15001': filter_chains[0].filters[0].typed_config.route_config.virtual_hosts[0].routes[0]"
        ".direct_response.status: 99 is out of range 200..599");

  auto rds_rest = decodeError<ListenerProto>(
      ResourceType::kListener,
      httpListener("l2", R"("rds": {"route_config_name": "r", "config_source": {"api_config_source": {"api_type": "GRPC"}}})"));
  CHECK(rds_rest.code == Error::kUnsupported);
  CHECK(rds_rest.message ==
        "Listener 'l2': filter_chains[0].filters[0].typed_config.rds.config_source.api_config_source: not supported "
        "by remora-proxy");

  auto original_dst = decodeError<ListenerProto>(ResourceType::kListener, R"({"name": "l3", "use_original_dst": true,
      "address": {"socket_address": {"address": "0.0.0.0", "port_value": 15001}}})");
  CHECK(original_dst.code == Error::kUnsupported);
  CHECK(original_dst.message == "Listener 'l3': use_original_dst: not supported by remora-proxy");
}

TEST_CASE("malformed routes, clusters and endpoints are refused naming the resource and the field",
          "[xds][resources][decoder]") {
  auto routes = decodeError<RouteProto>(ResourceType::kRouteConfiguration, R"({"name": "r1", "virtual_hosts": [
      {"name": "a", "domains": ["x"]}, {"name": "a", "domains": ["y"]}]})");
  CHECK(routes.code == Error::kAlreadyExists);
  CHECK(routes.message == "RouteConfiguration 'r1': virtual_hosts[1].name: \"a\" is already used by virtual_hosts[0]");
  CHECK(decodeError<RouteProto>(ResourceType::kRouteConfiguration,
                                R"({"name": "r2", "virtual_hosts": [{"name": "a", "domains": ["x"], "require_tls": "ALL"}]})")
            .message == "RouteConfiguration 'r2': virtual_hosts[0].require_tls: not supported by remora-proxy");

  CHECK(decodeError<ClusterProto>(ResourceType::kCluster, R"({"name": "c1", "connect_timeout": "0s"})").message ==
        "Cluster 'c1': connect_timeout: must be more than 0");
  auto lb = decodeError<ClusterProto>(ResourceType::kCluster,
                                      R"({"name": "c2", "lb_policy": "MAGLEV", "maglev_lb_config": {"table_size": 100}})");
  CHECK(lb.code == Error::kInvalidArgument);
  CHECK(lb.message == "Cluster 'c2': maglev_lb_config.table_size: 100 is not a prime number");
  CHECK(decodeError<AssignmentProto>(ResourceType::kClusterLoadAssignment,
                                     R"({"cluster_name": "e0", "policy": {"overprovisioning_factor": 0}})")
            .message == "ClusterLoadAssignment 'e0': policy.overprovisioning_factor: must be more than 0");
  CHECK(decodeError<ClusterProto>(ResourceType::kCluster, R"({"name": "c3", "type": "EDS",
      "eds_cluster_config": {"eds_config": {"path": "/etc/eds.yaml"}}})").message ==
        "Cluster 'c3': eds_cluster_config.eds_config.path: not supported by remora-proxy");
  CHECK(decodeError<ClusterProto>(ResourceType::kCluster, R"({"name": "c4", "load_assignment": {"endpoints": [
      {"lb_endpoints": [{"endpoint": {"address": {"socket_address": {"address": "b.svc", "port_value": 80}}}}]}]}})")
            .message ==
        "Cluster 'c4': load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.address: "
        "\"b.svc\" is not a literal IPv4 or IPv6 address (remora-proxy does not resolve names)");

  CHECK(decodeError<AssignmentProto>(ResourceType::kClusterLoadAssignment, R"({"cluster_name": "e1", "endpoints": [
      {"lb_endpoints": [{"endpoint": {"address": {"socket_address": {"address": "10.0.0.1", "port_value": 0}}}}]}]})")
            .message ==
        "ClusterLoadAssignment 'e1': endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value: 0 is "
        "out of range 1..65535");
  CHECK(decodeError<AssignmentProto>(ResourceType::kClusterLoadAssignment, R"({"cluster_name": "e2", "endpoints": [
      {"lb_endpoints": [{}]}]})").message == "ClusterLoadAssignment 'e2': endpoints[0].lb_endpoints[0].endpoint: is required");
  CHECK(decodeError<AssignmentProto>(ResourceType::kClusterLoadAssignment,
                                     R"({"cluster_name": "e3", "endpoints": [{"proximity": 1}]})")
            .message == "ClusterLoadAssignment 'e3': endpoints[0].proximity: not supported by remora-proxy");
}

TEST_CASE("an API listener without an address is skipped, not refused", "[xds][resources][decoder]") {
  DecodedResource api = decodeOk<ListenerProto>(ResourceType::kListener, R"({"name": "b.svc:8080", "api_listener": {
      "api_listener": {"@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
                       "stat_prefix": "grpc", "rds": {"route_config_name": "r", "config_source": {"ads": {}}}}}})");
  CHECK(api.name == "b.svc:8080");
  REQUIRE(std::holds_alternative<Skipped>(api.value));
  CHECK_THAT(std::get<Skipped>(api.value).reason, Catch::Contains("API listener"));

  // With an address it claims to be a socket listener too: refused.
  auto both = decodeError<ListenerProto>(ResourceType::kListener, R"({"name": "both", "api_listener": {},
      "address": {"socket_address": {"address": "127.0.0.1", "port_value": 1}}, "filter_chains": []})");
  CHECK(both.code == Error::kUnsupported);
  CHECK(both.message == "Listener 'both': api_listener: not supported by remora-proxy");
}

TEST_CASE("routes by RDS over ADS and EDS clusters are accepted from xDS", "[xds][resources][decoder]") {
  DecodedResource listener = decodeOk<ListenerProto>(
      ResourceType::kListener,
      httpListener("l", R"("rds": {"route_config_name": "outbound|80", "config_source": {"ads": {}, "resource_api_version": "V3"}})"));
  const auto& manager = std::get<HttpConnectionManager>(std::get<Listener>(listener.value).filter_chains.at(0).filter);
  CHECK(manager.rds_route_config_name == "outbound|80");
  CHECK_FALSE(manager.route_config);

  DecodedResource eds = decodeOk<ClusterProto>(ResourceType::kCluster, R"({"name": "outbound|80||b.svc", "type": "EDS",
      "eds_cluster_config": {"eds_config": {"ads": {}, "resource_api_version": "V3"}, "service_name": "b"}})");
  const auto& cluster = std::get<Cluster>(eds.value);
  CHECK(cluster.type == Cluster::DiscoveryType::kEds);
  CHECK(cluster.eds_service_name == "b");
  CHECK(cluster.endpoints.empty());
}

TEST_CASE("fields unknown to our protos are ignored", "[xds][resources][decoder]") {
  // Top level: a Cluster with field 9999 appended.
  google::protobuf::Any any = pack<ClusterProto>(kStaticCluster);
  any.set_value(withUnknownField(any.value()));
  DecodedResource cluster = [&] {
    auto decoded = decodeResource(ResourceType::kCluster, any);
    INFO((decoded ? "" : decoded.error().message));
    REQUIRE(decoded);
    return std::move(*decoded);
  }();
  CHECK(std::get<Cluster>(cluster.value).endpoints.size() == 1);

  // Nested: an LbEndpoint carrying an unknown field inside a ClusterLoadAssignment.
  envoy::config::endpoint::v3::LbEndpoint host = protoFromJson<envoy::config::endpoint::v3::LbEndpoint>(
      R"({"endpoint": {"address": {"socket_address": {"address": "10.0.0.9", "port_value": 9}}}})");
  AssignmentProto assignment;
  assignment.set_cluster_name("e");
  auto* locality = assignment.add_endpoints();
  REQUIRE(locality->add_lb_endpoints()->ParseFromString(withUnknownField(host.SerializeAsString())));
  google::protobuf::Any nested;
  nested.PackFrom(assignment);
  auto decoded = decodeResource(ResourceType::kClusterLoadAssignment, nested);
  INFO((decoded ? "" : decoded.error().message));
  REQUIRE(decoded);
  CHECK(std::get<ClusterLoadAssignment>(decoded->value).endpoints.at(0).address.port == 9);
}
