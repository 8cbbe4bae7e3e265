// Pins the wire facts of xds/proto that an Envoy-compatible control plane relies on:
// package and message names (they form the Any type URLs), field numbers, field types,
// repeated/map/oneof membership and enum numbers. Each fact was checked against
// Envoy's public v3 API; a failure here means an edit changed the wire, not a test to
// update casually. The checks go through the generated descriptors (which also keeps
// every referenced .pb.cc linked in) and through hand-encoded bytes.

#include <catch2/catch.hpp>

#include <google/protobuf/descriptor.h>

#include <string>
#include <string_view>

#include "envoy/config/bootstrap/v3/bootstrap.pb.h"
#include "envoy/config/cluster/v3/cluster.pb.h"
#include "envoy/config/core/v3/address.pb.h"
#include "envoy/config/core/v3/base.pb.h"
#include "envoy/config/core/v3/config_source.pb.h"
#include "envoy/config/core/v3/health_check.pb.h"
#include "envoy/config/endpoint/v3/endpoint.pb.h"
#include "envoy/config/endpoint/v3/endpoint_components.pb.h"
#include "envoy/config/listener/v3/listener.pb.h"
#include "envoy/config/listener/v3/listener_components.pb.h"
#include "envoy/config/route/v3/route.pb.h"
#include "envoy/config/route/v3/route_components.pb.h"
#include "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.pb.h"
#include "envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.pb.h"
#include "envoy/extensions/upstreams/http/v3/http_protocol_options.pb.h"

namespace {

namespace pb = google::protobuf;
namespace core = envoy::config::core::v3;
namespace listener = envoy::config::listener::v3;
namespace cluster = envoy::config::cluster::v3;
namespace endpoint = envoy::config::endpoint::v3;
namespace route = envoy::config::route::v3;
namespace bootstrap = envoy::config::bootstrap::v3;
namespace hcm = envoy::extensions::filters::network::http_connection_manager::v3;

enum class Kind { kSingular, kRepeated, kMap };

// One field as Envoy declares it. `oneof` is empty when the field is not in a oneof.
struct FieldFact {
  std::string_view name;
  int number;
  pb::FieldDescriptor::Type type;
  Kind kind = Kind::kSingular;
  std::string_view oneof = {};
  // For message and enum fields: the full name of the field's type.
  std::string_view type_name = {};
};

void requireField(const pb::Descriptor* message, const FieldFact& fact) {
  REQUIRE(message != nullptr);
  INFO(message->full_name() << "." << fact.name);
  const pb::FieldDescriptor* field = message->FindFieldByName(std::string(fact.name));
  REQUIRE(field != nullptr);
  CHECK(field->number() == fact.number);
  CHECK(field->type() == fact.type);
  CHECK(field->is_map() == (fact.kind == Kind::kMap));
  CHECK(field->is_repeated() == (fact.kind != Kind::kSingular));
  if (fact.oneof.empty()) {
    // real_containing_oneof() would also be null for proto3 `optional`; Envoy uses none.
    CHECK(field->containing_oneof() == nullptr);
  } else {
    REQUIRE(field->containing_oneof() != nullptr);
    CHECK(field->containing_oneof()->name() == fact.oneof);
  }
  if (!fact.type_name.empty()) {
    if (field->message_type() != nullptr) {
      CHECK(field->message_type()->full_name() == fact.type_name);
    }
    if (field->enum_type() != nullptr) {
      CHECK(field->enum_type()->full_name() == fact.type_name);
    }
  }
}

int enumNumber(const pb::EnumDescriptor* e, std::string_view value) {
  REQUIRE(e != nullptr);
  const pb::EnumValueDescriptor* v = e->FindValueByName(std::string(value));
  INFO(e->full_name() << "." << value);
  REQUIRE(v != nullptr);
  return v->number();
}

using T = pb::FieldDescriptor;

}  // namespace

TEST_CASE("message full names match Envoy's, so Any type URLs resolve", "[xds][wire]") {
  CHECK(listener::Listener::descriptor()->full_name() == "envoy.config.listener.v3.Listener");
  CHECK(cluster::Cluster::descriptor()->full_name() == "envoy.config.cluster.v3.Cluster");
  CHECK(route::RouteConfiguration::descriptor()->full_name() == "envoy.config.route.v3.RouteConfiguration");
  CHECK(endpoint::ClusterLoadAssignment::descriptor()->full_name() ==
        "envoy.config.endpoint.v3.ClusterLoadAssignment");
  CHECK(hcm::HttpConnectionManager::descriptor()->full_name() ==
        "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager");
  CHECK(envoy::extensions::filters::network::tcp_proxy::v3::TcpProxy::descriptor()->full_name() ==
        "envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy");
  CHECK(envoy::extensions::upstreams::http::v3::HttpProtocolOptions::descriptor()->full_name() ==
        "envoy.extensions.upstreams.http.v3.HttpProtocolOptions");
}

TEST_CASE("listener fields keep Envoy's numbers and types", "[xds][wire]") {
  const pb::Descriptor* d = listener::Listener::descriptor();
  requireField(d, {"name", 1, T::TYPE_STRING});
  requireField(d, {"address", 2, T::TYPE_MESSAGE, Kind::kSingular, {}, "envoy.config.core.v3.Address"});
  requireField(d, {"filter_chains", 3, T::TYPE_MESSAGE, Kind::kRepeated});
  requireField(d, {"use_original_dst", 4, T::TYPE_MESSAGE, Kind::kSingular, {}, "google.protobuf.BoolValue"});
  requireField(d, {"listener_filters", 9, T::TYPE_MESSAGE, Kind::kRepeated});
  requireField(d, {"default_filter_chain", 25, T::TYPE_MESSAGE});
  requireField(d, {"stat_prefix", 28, T::TYPE_STRING});
  requireField(d, {"traffic_direction", 16, T::TYPE_ENUM, Kind::kSingular, {}, "envoy.config.core.v3.TrafficDirection"});

  requireField(listener::Filter::descriptor(), {"typed_config", 4, T::TYPE_MESSAGE, Kind::kSingular, "config_type"});
  requireField(listener::ListenerFilter::descriptor(),
               {"typed_config", 3, T::TYPE_MESSAGE, Kind::kSingular, "config_type"});
  requireField(listener::FilterChain::descriptor(), {"filters", 3, T::TYPE_MESSAGE, Kind::kRepeated});
  requireField(listener::FilterChain::descriptor(), {"transport_socket", 6, T::TYPE_MESSAGE});
  requireField(listener::FilterChainMatch::descriptor(), {"destination_port", 8, T::TYPE_MESSAGE});
  requireField(listener::FilterChainMatch::descriptor(), {"server_names", 11, T::TYPE_STRING, Kind::kRepeated});
}

TEST_CASE("address and endpoint fields keep Envoy's numbers and oneofs", "[xds][wire]") {
  requireField(core::Address::descriptor(), {"socket_address", 1, T::TYPE_MESSAGE, Kind::kSingular, "address"});
  requireField(core::Address::descriptor(), {"pipe", 2, T::TYPE_MESSAGE, Kind::kSingular, "address"});
  requireField(core::SocketAddress::descriptor(), {"address", 2, T::TYPE_STRING});
  requireField(core::SocketAddress::descriptor(),
               {"port_value", 3, T::TYPE_UINT32, Kind::kSingular, "port_specifier"});

  requireField(endpoint::ClusterLoadAssignment::descriptor(), {"cluster_name", 1, T::TYPE_STRING});
  requireField(endpoint::ClusterLoadAssignment::descriptor(), {"endpoints", 2, T::TYPE_MESSAGE, Kind::kRepeated});
  requireField(endpoint::LocalityLbEndpoints::descriptor(), {"lb_endpoints", 2, T::TYPE_MESSAGE, Kind::kRepeated});
  requireField(endpoint::LocalityLbEndpoints::descriptor(), {"priority", 5, T::TYPE_UINT32});
  requireField(endpoint::LbEndpoint::descriptor(),
               {"endpoint", 1, T::TYPE_MESSAGE, Kind::kSingular, "host_identifier"});
  requireField(endpoint::LbEndpoint::descriptor(),
               {"health_status", 2, T::TYPE_ENUM, Kind::kSingular, {}, "envoy.config.core.v3.HealthStatus"});
  requireField(endpoint::LbEndpoint::descriptor(), {"load_balancing_weight", 4, T::TYPE_MESSAGE});
  requireField(endpoint::Endpoint::descriptor(), {"address", 1, T::TYPE_MESSAGE});
}

TEST_CASE("cluster fields keep Envoy's numbers and types", "[xds][wire]") {
  const pb::Descriptor* d = cluster::Cluster::descriptor();
  requireField(d, {"name", 1, T::TYPE_STRING});
  requireField(d, {"type", 2, T::TYPE_ENUM, Kind::kSingular, "cluster_discovery_type"});
  requireField(d, {"cluster_type", 38, T::TYPE_MESSAGE, Kind::kSingular, "cluster_discovery_type"});
  requireField(d, {"eds_cluster_config", 3, T::TYPE_MESSAGE});
  requireField(d, {"connect_timeout", 4, T::TYPE_MESSAGE, Kind::kSingular, {}, "google.protobuf.Duration"});
  requireField(d, {"lb_policy", 6, T::TYPE_ENUM});
  requireField(d, {"health_checks", 8, T::TYPE_MESSAGE, Kind::kRepeated});
  requireField(d, {"circuit_breakers", 10, T::TYPE_MESSAGE});
  requireField(d, {"outlier_detection", 19, T::TYPE_MESSAGE});
  requireField(d, {"transport_socket", 24, T::TYPE_MESSAGE});
  requireField(d, {"load_assignment", 33, T::TYPE_MESSAGE, Kind::kSingular, {},
                   "envoy.config.endpoint.v3.ClusterLoadAssignment"});
  requireField(d, {"typed_extension_protocol_options", 36, T::TYPE_MESSAGE, Kind::kMap});
}

TEST_CASE("route fields keep Envoy's numbers, types and oneofs", "[xds][wire]") {
  requireField(route::RouteConfiguration::descriptor(), {"virtual_hosts", 2, T::TYPE_MESSAGE, Kind::kRepeated});
  requireField(route::VirtualHost::descriptor(), {"domains", 2, T::TYPE_STRING, Kind::kRepeated});
  requireField(route::VirtualHost::descriptor(), {"retry_policy", 16, T::TYPE_MESSAGE});
  requireField(route::Route::descriptor(), {"match", 1, T::TYPE_MESSAGE});
  requireField(route::Route::descriptor(), {"route", 2, T::TYPE_MESSAGE, Kind::kSingular, "action"});
  requireField(route::Route::descriptor(), {"direct_response", 7, T::TYPE_MESSAGE, Kind::kSingular, "action"});
  requireField(route::Route::descriptor(), {"name", 14, T::TYPE_STRING});
  requireField(route::RouteMatch::descriptor(), {"prefix", 1, T::TYPE_STRING, Kind::kSingular, "path_specifier"});
  requireField(route::RouteMatch::descriptor(),
               {"safe_regex", 10, T::TYPE_MESSAGE, Kind::kSingular, "path_specifier"});
  requireField(route::RouteMatch::descriptor(), {"headers", 6, T::TYPE_MESSAGE, Kind::kRepeated});

  const pb::Descriptor* action = route::RouteAction::descriptor();
  requireField(action, {"cluster", 1, T::TYPE_STRING, Kind::kSingular, "cluster_specifier"});
  requireField(action, {"weighted_clusters", 3, T::TYPE_MESSAGE, Kind::kSingular, "cluster_specifier"});
  requireField(action, {"prefix_rewrite", 5, T::TYPE_STRING});
  requireField(action, {"auto_host_rewrite", 7, T::TYPE_MESSAGE, Kind::kSingular, "host_rewrite_specifier"});
  requireField(action, {"timeout", 8, T::TYPE_MESSAGE});
  requireField(action, {"retry_policy", 9, T::TYPE_MESSAGE});
  requireField(action, {"idle_timeout", 24, T::TYPE_MESSAGE});
  requireField(action, {"upgrade_configs", 25, T::TYPE_MESSAGE, Kind::kRepeated});

  requireField(route::WeightedCluster::descriptor(), {"total_weight", 3, T::TYPE_MESSAGE});
  requireField(route::WeightedCluster::descriptor(),
               {"header_name", 4, T::TYPE_STRING, Kind::kSingular, "random_value_specifier"});
  requireField(route::RetryPolicy::descriptor(), {"retriable_status_codes", 7, T::TYPE_UINT32, Kind::kRepeated});
  requireField(route::HeaderMatcher::descriptor(),
               {"string_match", 13, T::TYPE_MESSAGE, Kind::kSingular, "header_match_specifier"});
  requireField(route::HeaderMatcher::descriptor(), {"invert_match", 8, T::TYPE_BOOL});
}

TEST_CASE("connection manager and bootstrap fields keep Envoy's numbers", "[xds][wire]") {
  const pb::Descriptor* d = hcm::HttpConnectionManager::descriptor();
  requireField(d, {"codec_type", 1, T::TYPE_ENUM});
  requireField(d, {"stat_prefix", 2, T::TYPE_STRING});
  requireField(d, {"rds", 3, T::TYPE_MESSAGE, Kind::kSingular, "route_specifier"});
  requireField(d, {"route_config", 4, T::TYPE_MESSAGE, Kind::kSingular, "route_specifier"});
  requireField(d, {"http_filters", 5, T::TYPE_MESSAGE, Kind::kRepeated});
  requireField(d, {"common_http_protocol_options", 35, T::TYPE_MESSAGE});
  requireField(hcm::Rds::descriptor(), {"route_config_name", 2, T::TYPE_STRING});
  requireField(hcm::HttpFilter::descriptor(), {"typed_config", 4, T::TYPE_MESSAGE, Kind::kSingular, "config_type"});

  requireField(bootstrap::Bootstrap::descriptor(), {"node", 1, T::TYPE_MESSAGE});
  requireField(bootstrap::Bootstrap::descriptor(), {"static_resources", 2, T::TYPE_MESSAGE});
  requireField(bootstrap::Bootstrap::descriptor(), {"dynamic_resources", 3, T::TYPE_MESSAGE});
  requireField(bootstrap::Bootstrap::descriptor(), {"admin", 12, T::TYPE_MESSAGE});
  requireField(bootstrap::Bootstrap::DynamicResources::descriptor(), {"ads_config", 3, T::TYPE_MESSAGE});
  requireField(core::ConfigSource::descriptor(), {"ads", 3, T::TYPE_MESSAGE, Kind::kSingular, "config_source_specifier"});
  requireField(core::ConfigSource::descriptor(), {"resource_api_version", 6, T::TYPE_ENUM});
  requireField(core::ApiConfigSource::descriptor(), {"transport_api_version", 8, T::TYPE_ENUM});
  requireField(core::Node::descriptor(), {"user_agent_version", 7, T::TYPE_STRING, Kind::kSingular,
                                          "user_agent_version_type"});
  requireField(core::HeaderValue::descriptor(), {"raw_value", 3, T::TYPE_BYTES});
}

TEST_CASE("enum values keep Envoy's numbers", "[xds][wire]") {
  CHECK(enumNumber(cluster::Cluster::DiscoveryType_descriptor(), "EDS") == 3);
  CHECK(enumNumber(cluster::Cluster::DiscoveryType_descriptor(), "ORIGINAL_DST") == 4);
  CHECK(enumNumber(cluster::Cluster::LbPolicy_descriptor(), "RANDOM") == 3);
  CHECK(enumNumber(cluster::Cluster::LbPolicy_descriptor(), "MAGLEV") == 5);
  // 4 was ORIGINAL_DST_LB and is reserved in Envoy: nothing may reuse it.
  CHECK(cluster::Cluster::LbPolicy_descriptor()->FindValueByNumber(4) == nullptr);
  CHECK(enumNumber(core::ApiConfigSource::ApiType_descriptor(), "AGGREGATED_GRPC") == 5);
  CHECK(enumNumber(core::ApiConfigSource::ApiType_descriptor(), "AGGREGATED_DELTA_GRPC") == 6);
  CHECK(enumNumber(core::ApiVersion_descriptor(), "V3") == 2);
  CHECK(enumNumber(core::HealthStatus_descriptor(), "DEGRADED") == 5);
  CHECK(enumNumber(core::HeaderValueOption::HeaderAppendAction_descriptor(), "OVERWRITE_IF_EXISTS") == 3);
  CHECK(enumNumber(hcm::HttpConnectionManager::CodecType_descriptor(), "HTTP2") == 2);
  CHECK(enumNumber(route::VirtualHost::TlsRequirementType_descriptor(), "ALL") == 2);
}

TEST_CASE("bytes encoded by Envoy's field numbers decode into our messages", "[xds][wire]") {
  // Cluster{name: "c", load_assignment{cluster_name: "c"}}, encoded by hand:
  // field 1 (tag 0x0a) "c"; field 33 length-delimited has tag (33 << 3) | 2 = 266,
  // the varint 0x8a 0x02, wrapping ClusterLoadAssignment field 1 "c".
  const std::string bytes("\x0a\x01" "c" "\x8a\x02\x03" "\x0a\x01" "c", 9);
  cluster::Cluster decoded;
  REQUIRE(decoded.ParseFromString(bytes));
  CHECK(decoded.name() == "c");
  REQUIRE(decoded.has_load_assignment());
  CHECK(decoded.load_assignment().cluster_name() == "c");
  CHECK(decoded.SerializeAsString() == bytes);

  // RouteAction{cluster: "b"} is field 1 inside Route.route (field 2, tag 0x12).
  route::Route r;
  r.mutable_route()->set_cluster("b");
  CHECK(r.SerializeAsString() == std::string("\x12\x03\x0a\x01" "b", 5));
}

TEST_CASE("an explicitly empty weighted-cluster header_name survives the wire", "[xds][wire]") {
  // Envoy keeps header_name in a oneof, so "" has presence and is serialized (tag 0x22).
  route::WeightedCluster sent;
  sent.set_header_name("");
  const std::string bytes = sent.SerializeAsString();
  CHECK(bytes == std::string("\x22\x00", 2));
  route::WeightedCluster received;
  REQUIRE(received.ParseFromString(bytes));
  CHECK(received.random_value_specifier_case() == route::WeightedCluster::kHeaderName);
}
