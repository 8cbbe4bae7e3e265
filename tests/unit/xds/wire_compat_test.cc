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
#include "envoy/extensions/transport_sockets/tls/v3/common.pb.h"
#include "envoy/extensions/transport_sockets/tls/v3/secret.pb.h"
#include "envoy/extensions/transport_sockets/tls/v3/tls.pb.h"
#include "envoy/extensions/upstreams/http/v3/http_protocol_options.pb.h"
#include "envoy/service/discovery/v3/ads.pb.h"
#include "envoy/service/discovery/v3/discovery.pb.h"
#include "google/rpc/status.pb.h"

namespace {

namespace pb = google::protobuf;
namespace core = envoy::config::core::v3;
namespace listener = envoy::config::listener::v3;
namespace cluster = envoy::config::cluster::v3;
namespace endpoint = envoy::config::endpoint::v3;
namespace route = envoy::config::route::v3;
namespace bootstrap = envoy::config::bootstrap::v3;
namespace hcm = envoy::extensions::filters::network::http_connection_manager::v3;
namespace discovery = envoy::service::discovery::v3;
namespace tls = envoy::extensions::transport_sockets::tls::v3;

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

TEST_CASE("discovery, status and TLS message names match Envoy's and googleapis'", "[xds][wire]") {
  CHECK(discovery::DiscoveryRequest::descriptor()->full_name() == "envoy.service.discovery.v3.DiscoveryRequest");
  CHECK(discovery::DiscoveryResponse::descriptor()->full_name() == "envoy.service.discovery.v3.DiscoveryResponse");
  CHECK(discovery::DeltaDiscoveryRequest::descriptor()->full_name() ==
        "envoy.service.discovery.v3.DeltaDiscoveryRequest");
  CHECK(discovery::DeltaDiscoveryResponse::descriptor()->full_name() ==
        "envoy.service.discovery.v3.DeltaDiscoveryResponse");
  CHECK(discovery::Resource::descriptor()->full_name() == "envoy.service.discovery.v3.Resource");
  CHECK(google::rpc::Status::descriptor()->full_name() == "google.rpc.Status");
  CHECK(tls::Secret::descriptor()->full_name() == "envoy.extensions.transport_sockets.tls.v3.Secret");
  CHECK(tls::UpstreamTlsContext::descriptor()->full_name() ==
        "envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext");
  CHECK(tls::DownstreamTlsContext::descriptor()->full_name() ==
        "envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext");
  CHECK(listener::ApiListener::descriptor()->full_name() == "envoy.config.listener.v3.ApiListener");
}

TEST_CASE("the ADS service has Envoy's method names and stream shapes", "[xds][wire]") {
  // The gRPC path is /<service full name>/<method>; both sides must agree on it.
  // ads.proto holds only the service, which nothing in the proxy references;
  // naming its descriptor table keeps the generated file linked in this test.
  const void* ads_file = &descriptor_table_envoy_2fservice_2fdiscovery_2fv3_2fads_2eproto;
  REQUIRE(ads_file != nullptr);
  const pb::ServiceDescriptor* ads =
      pb::DescriptorPool::generated_pool()->FindServiceByName("envoy.service.discovery.v3.AggregatedDiscoveryService");
  REQUIRE(ads != nullptr);
  const pb::MethodDescriptor* sotw = ads->FindMethodByName("StreamAggregatedResources");
  REQUIRE(sotw != nullptr);
  CHECK(sotw->client_streaming());
  CHECK(sotw->server_streaming());
  CHECK(sotw->input_type() == discovery::DiscoveryRequest::descriptor());
  CHECK(sotw->output_type() == discovery::DiscoveryResponse::descriptor());
  const pb::MethodDescriptor* delta = ads->FindMethodByName("DeltaAggregatedResources");
  REQUIRE(delta != nullptr);
  CHECK(delta->client_streaming());
  CHECK(delta->server_streaming());
  CHECK(delta->input_type() == discovery::DeltaDiscoveryRequest::descriptor());
  CHECK(delta->output_type() == discovery::DeltaDiscoveryResponse::descriptor());
}

TEST_CASE("discovery message fields keep Envoy's numbers and types", "[xds][wire]") {
  const pb::Descriptor* req = discovery::DiscoveryRequest::descriptor();
  requireField(req, {"version_info", 1, T::TYPE_STRING});
  requireField(req, {"node", 2, T::TYPE_MESSAGE, Kind::kSingular, {}, "envoy.config.core.v3.Node"});
  requireField(req, {"resource_names", 3, T::TYPE_STRING, Kind::kRepeated});
  requireField(req, {"type_url", 4, T::TYPE_STRING});
  requireField(req, {"response_nonce", 5, T::TYPE_STRING});
  requireField(req, {"error_detail", 6, T::TYPE_MESSAGE, Kind::kSingular, {}, "google.rpc.Status"});

  const pb::Descriptor* resp = discovery::DiscoveryResponse::descriptor();
  requireField(resp, {"version_info", 1, T::TYPE_STRING});
  requireField(resp, {"resources", 2, T::TYPE_MESSAGE, Kind::kRepeated, {}, "google.protobuf.Any"});
  requireField(resp, {"canary", 3, T::TYPE_BOOL});
  requireField(resp, {"type_url", 4, T::TYPE_STRING});
  requireField(resp, {"nonce", 5, T::TYPE_STRING});
  requireField(resp, {"control_plane", 6, T::TYPE_MESSAGE, Kind::kSingular, {}, "envoy.config.core.v3.ControlPlane"});

  const pb::Descriptor* dreq = discovery::DeltaDiscoveryRequest::descriptor();
  requireField(dreq, {"node", 1, T::TYPE_MESSAGE});
  requireField(dreq, {"type_url", 2, T::TYPE_STRING});
  requireField(dreq, {"resource_names_subscribe", 3, T::TYPE_STRING, Kind::kRepeated});
  requireField(dreq, {"resource_names_unsubscribe", 4, T::TYPE_STRING, Kind::kRepeated});
  requireField(dreq, {"initial_resource_versions", 5, T::TYPE_MESSAGE, Kind::kMap});
  requireField(dreq, {"response_nonce", 6, T::TYPE_STRING});
  requireField(dreq, {"error_detail", 7, T::TYPE_MESSAGE, Kind::kSingular, {}, "google.rpc.Status"});

  const pb::Descriptor* dresp = discovery::DeltaDiscoveryResponse::descriptor();
  requireField(dresp, {"system_version_info", 1, T::TYPE_STRING});
  requireField(dresp, {"resources", 2, T::TYPE_MESSAGE, Kind::kRepeated, {}, "envoy.service.discovery.v3.Resource"});
  requireField(dresp, {"type_url", 4, T::TYPE_STRING});
  requireField(dresp, {"nonce", 5, T::TYPE_STRING});
  requireField(dresp, {"removed_resources", 6, T::TYPE_STRING, Kind::kRepeated});
  requireField(dresp, {"control_plane", 7, T::TYPE_MESSAGE});

  const pb::Descriptor* res = discovery::Resource::descriptor();
  requireField(res, {"version", 1, T::TYPE_STRING});
  requireField(res, {"resource", 2, T::TYPE_MESSAGE, Kind::kSingular, {}, "google.protobuf.Any"});
  requireField(res, {"name", 3, T::TYPE_STRING});
  requireField(res, {"aliases", 4, T::TYPE_STRING, Kind::kRepeated});
  requireField(res, {"ttl", 6, T::TYPE_MESSAGE, Kind::kSingular, {}, "google.protobuf.Duration"});

  const pb::Descriptor* status = google::rpc::Status::descriptor();
  requireField(status, {"code", 1, T::TYPE_INT32});
  requireField(status, {"message", 2, T::TYPE_STRING});
  requireField(status, {"details", 3, T::TYPE_MESSAGE, Kind::kRepeated, {}, "google.protobuf.Any"});
  requireField(core::ControlPlane::descriptor(), {"identifier", 1, T::TYPE_STRING});
}

TEST_CASE("TLS context and secret fields keep Envoy's numbers, types and oneofs", "[xds][wire]") {
  const pb::Descriptor* common = tls::CommonTlsContext::descriptor();
  requireField(common, {"tls_params", 1, T::TYPE_MESSAGE});
  requireField(common, {"tls_certificates", 2, T::TYPE_MESSAGE, Kind::kRepeated});
  requireField(common, {"validation_context", 3, T::TYPE_MESSAGE, Kind::kSingular, "validation_context_type"});
  requireField(common, {"alpn_protocols", 4, T::TYPE_STRING, Kind::kRepeated});
  requireField(common, {"tls_certificate_sds_secret_configs", 6, T::TYPE_MESSAGE, Kind::kRepeated});
  requireField(common, {"validation_context_sds_secret_config", 7, T::TYPE_MESSAGE, Kind::kSingular,
                        "validation_context_type"});
  requireField(common, {"combined_validation_context", 8, T::TYPE_MESSAGE, Kind::kSingular,
                        "validation_context_type"});
  requireField(tls::CommonTlsContext::CombinedCertificateValidationContext::descriptor(),
               {"validation_context_sds_secret_config", 2, T::TYPE_MESSAGE});

  requireField(tls::UpstreamTlsContext::descriptor(), {"common_tls_context", 1, T::TYPE_MESSAGE});
  requireField(tls::UpstreamTlsContext::descriptor(), {"sni", 2, T::TYPE_STRING});
  requireField(tls::DownstreamTlsContext::descriptor(),
               {"require_client_certificate", 2, T::TYPE_MESSAGE, Kind::kSingular, {}, "google.protobuf.BoolValue"});
  requireField(tls::DownstreamTlsContext::descriptor(),
               {"disable_stateless_session_resumption", 7, T::TYPE_BOOL, Kind::kSingular, "session_ticket_keys_type"});

  requireField(tls::TlsParameters::descriptor(), {"tls_minimum_protocol_version", 1, T::TYPE_ENUM});
  requireField(tls::TlsParameters::descriptor(), {"cipher_suites", 3, T::TYPE_STRING, Kind::kRepeated});
  requireField(tls::TlsCertificate::descriptor(), {"certificate_chain", 1, T::TYPE_MESSAGE});
  requireField(tls::TlsCertificate::descriptor(), {"private_key", 2, T::TYPE_MESSAGE});
  const pb::Descriptor* validation = tls::CertificateValidationContext::descriptor();
  requireField(validation, {"trusted_ca", 1, T::TYPE_MESSAGE, Kind::kSingular, {}, "envoy.config.core.v3.DataSource"});
  requireField(validation, {"match_typed_subject_alt_names", 15, T::TYPE_MESSAGE, Kind::kRepeated, {},
                            "envoy.extensions.transport_sockets.tls.v3.SubjectAltNameMatcher"});
  requireField(tls::SubjectAltNameMatcher::descriptor(), {"san_type", 1, T::TYPE_ENUM});
  requireField(tls::SubjectAltNameMatcher::descriptor(), {"matcher", 2, T::TYPE_MESSAGE});

  requireField(tls::SdsSecretConfig::descriptor(), {"name", 1, T::TYPE_STRING});
  requireField(tls::SdsSecretConfig::descriptor(), {"sds_config", 2, T::TYPE_MESSAGE});
  const pb::Descriptor* secret = tls::Secret::descriptor();
  requireField(secret, {"name", 1, T::TYPE_STRING});
  requireField(secret, {"tls_certificate", 2, T::TYPE_MESSAGE, Kind::kSingular, "type"});
  requireField(secret, {"validation_context", 4, T::TYPE_MESSAGE, Kind::kSingular, "type"});
  requireField(secret, {"generic_secret", 5, T::TYPE_MESSAGE, Kind::kSingular, "type"});

  CHECK(enumNumber(tls::TlsParameters::TlsProtocol_descriptor(), "TLSv1_3") == 4);
  CHECK(enumNumber(tls::SubjectAltNameMatcher::SanType_descriptor(), "URI") == 3);
  CHECK(enumNumber(tls::SubjectAltNameMatcher::SanType_descriptor(), "OTHER_NAME") == 5);
}

TEST_CASE("cluster load balancing, outlier and health check fields keep Envoy's numbers", "[xds][wire]") {
  const pb::Descriptor* d = cluster::Cluster::descriptor();
  requireField(d, {"ring_hash_lb_config", 23, T::TYPE_MESSAGE, Kind::kSingular, "lb_config"});
  requireField(d, {"least_request_lb_config", 37, T::TYPE_MESSAGE, Kind::kSingular, "lb_config"});
  requireField(d, {"maglev_lb_config", 52, T::TYPE_MESSAGE, Kind::kSingular, "lb_config"});
  requireField(d, {"round_robin_lb_config", 56, T::TYPE_MESSAGE, Kind::kSingular, "lb_config"});
  requireField(d, {"common_lb_config", 27, T::TYPE_MESSAGE});
  requireField(d, {"metadata", 25, T::TYPE_MESSAGE, Kind::kSingular, {}, "envoy.config.core.v3.Metadata"});
  requireField(cluster::Cluster::LeastRequestLbConfig::descriptor(), {"choice_count", 1, T::TYPE_MESSAGE});
  requireField(cluster::Cluster::RingHashLbConfig::descriptor(), {"hash_function", 3, T::TYPE_ENUM});
  requireField(cluster::Cluster::RingHashLbConfig::descriptor(), {"maximum_ring_size", 4, T::TYPE_MESSAGE});
  requireField(cluster::Cluster::MaglevLbConfig::descriptor(), {"table_size", 1, T::TYPE_MESSAGE});
  const pb::Descriptor* common = cluster::Cluster::CommonLbConfig::descriptor();
  requireField(common, {"healthy_panic_threshold", 1, T::TYPE_MESSAGE, Kind::kSingular, {}, "envoy.type.v3.Percent"});
  requireField(common, {"zone_aware_lb_config", 2, T::TYPE_MESSAGE, Kind::kSingular, "locality_config_specifier"});
  requireField(common,
               {"locality_weighted_lb_config", 3, T::TYPE_MESSAGE, Kind::kSingular, "locality_config_specifier"});

  const pb::Descriptor* od = cluster::OutlierDetection::descriptor();
  requireField(od, {"consecutive_5xx", 1, T::TYPE_MESSAGE});
  requireField(od, {"enforcing_success_rate", 6, T::TYPE_MESSAGE});
  requireField(od, {"split_external_local_origin_errors", 12, T::TYPE_BOOL});
  requireField(od, {"failure_percentage_threshold", 16, T::TYPE_MESSAGE});
  requireField(od, {"max_ejection_time", 21, T::TYPE_MESSAGE, Kind::kSingular, {}, "google.protobuf.Duration"});
  requireField(od, {"always_eject_one_host", 25, T::TYPE_MESSAGE});

  const pb::Descriptor* hc = core::HealthCheck::descriptor();
  requireField(hc, {"timeout", 1, T::TYPE_MESSAGE});
  requireField(hc, {"interval", 2, T::TYPE_MESSAGE});
  requireField(hc, {"unhealthy_threshold", 4, T::TYPE_MESSAGE});
  requireField(hc, {"healthy_threshold", 5, T::TYPE_MESSAGE});
  requireField(hc, {"http_health_check", 8, T::TYPE_MESSAGE, Kind::kSingular, "health_checker"});
  requireField(hc, {"tcp_health_check", 9, T::TYPE_MESSAGE, Kind::kSingular, "health_checker"});
  requireField(hc, {"grpc_health_check", 11, T::TYPE_MESSAGE, Kind::kSingular, "health_checker"});
  requireField(hc, {"no_traffic_interval", 12, T::TYPE_MESSAGE});
  requireField(hc, {"unhealthy_interval", 14, T::TYPE_MESSAGE});
  requireField(hc, {"interval_jitter_percent", 18, T::TYPE_UINT32});
  requireField(hc, {"initial_jitter", 20, T::TYPE_MESSAGE});
  requireField(core::HealthCheck::HttpHealthCheck::descriptor(),
               {"expected_statuses", 9, T::TYPE_MESSAGE, Kind::kRepeated, {}, "envoy.type.v3.Int64Range"});
  requireField(core::HealthCheck::HttpHealthCheck::descriptor(),
               {"codec_client_type", 10, T::TYPE_ENUM, Kind::kSingular, {}, "envoy.type.v3.CodecClientType"});
  requireField(core::HealthCheck::GrpcHealthCheck::descriptor(), {"authority", 2, T::TYPE_STRING});

  requireField(endpoint::LocalityLbEndpoints::descriptor(), {"locality", 1, T::TYPE_MESSAGE});
  requireField(endpoint::LocalityLbEndpoints::descriptor(), {"load_balancing_weight", 3, T::TYPE_MESSAGE});
  requireField(endpoint::LocalityLbEndpoints::descriptor(), {"metadata", 9, T::TYPE_MESSAGE});
  requireField(endpoint::LbEndpoint::descriptor(), {"metadata", 3, T::TYPE_MESSAGE});
  requireField(endpoint::ClusterLoadAssignment::descriptor(), {"policy", 4, T::TYPE_MESSAGE});
  requireField(listener::Listener::descriptor(),
               {"api_listener", 19, T::TYPE_MESSAGE, Kind::kSingular, {}, "envoy.config.listener.v3.ApiListener"});
  requireField(listener::ApiListener::descriptor(), {"api_listener", 1, T::TYPE_MESSAGE});

  CHECK(enumNumber(cluster::Cluster::LbPolicy_descriptor(), "ROUND_ROBIN") == 0);
  CHECK(enumNumber(cluster::Cluster::LbPolicy_descriptor(), "LEAST_REQUEST") == 1);
  CHECK(enumNumber(cluster::Cluster::LbPolicy_descriptor(), "RING_HASH") == 2);
  CHECK(enumNumber(cluster::Cluster::LbPolicy_descriptor(), "CLUSTER_PROVIDED") == 6);
  CHECK(enumNumber(cluster::Cluster::LbPolicy_descriptor(), "LOAD_BALANCING_POLICY_CONFIG") == 7);
  CHECK(enumNumber(cluster::Cluster::RingHashLbConfig::HashFunction_descriptor(), "MURMUR_HASH_2") == 1);
  CHECK(enumNumber(core::RequestMethod_descriptor(), "PATCH") == 9);
}

TEST_CASE("a NACK encodes with Envoy's field numbers", "[xds][wire]") {
  // DiscoveryRequest{version_info: "1", response_nonce: "n", error_detail{code: 3, message: "bad"}}:
  // field 1 (0x0a), field 5 (0x2a), field 6 (0x32) wrapping Status field 1 varint (0x08) and field 2 (0x12).
  discovery::DiscoveryRequest nack;
  nack.set_version_info("1");
  nack.set_response_nonce("n");
  nack.mutable_error_detail()->set_code(3);
  nack.mutable_error_detail()->set_message("bad");
  const std::string expected("\x0a\x01" "1" "\x2a\x01" "n" "\x32\x07\x08\x03\x12\x03" "bad", 15);
  CHECK(nack.SerializeAsString() == expected);

  // DeltaDiscoveryRequest{resource_names_subscribe: ["a"], initial_resource_versions{"a": "1"}, response_nonce: "n"}:
  // field 3 (0x1a), the map entry {key 1, value 2} as field 5 (0x2a), field 6 (0x32).
  discovery::DeltaDiscoveryRequest delta;
  delta.add_resource_names_subscribe("a");
  (*delta.mutable_initial_resource_versions())["a"] = "1";
  delta.set_response_nonce("n");
  const std::string delta_bytes("\x1a\x01" "a" "\x2a\x06\x0a\x01" "a" "\x12\x01" "1" "\x32\x01" "n", 14);
  CHECK(delta.SerializeAsString() == delta_bytes);
}

TEST_CASE("responses encoded by Envoy's field numbers decode, and unknown fields survive", "[xds][wire]") {
  // DiscoveryResponse{version_info: "v1", resources: [Any{type_url: "t/x", value: "\x0a\x01c"}], canary: true,
  // type_url: "t/x", nonce: "7", control_plane{identifier: "cp"}} then field 100 varint 7 (tag 0xa0 0x06),
  // a field this subset does not know.
  const std::string bytes(
      "\x0a\x02" "v1"
      "\x12\x0a" "\x0a\x03" "t/x" "\x12\x03\x0a\x01" "c"
      "\x18\x01"
      "\x22\x03" "t/x"
      "\x2a\x01" "7"
      "\x32\x04\x0a\x02" "cp"
      "\xa0\x06\x07",
      35);
  discovery::DiscoveryResponse response;
  REQUIRE(response.ParseFromString(bytes));
  CHECK(response.version_info() == "v1");
  REQUIRE(response.resources_size() == 1);
  CHECK(response.resources(0).type_url() == "t/x");
  CHECK(response.resources(0).value() == std::string("\x0a\x01" "c", 3));
  CHECK(response.canary());
  CHECK(response.type_url() == "t/x");
  CHECK(response.nonce() == "7");
  CHECK(response.control_plane().identifier() == "cp");
  CHECK(response.GetReflection()->GetUnknownFields(response).field_count() == 1);
  // Kept aside and written back unchanged, so a relaying component loses nothing.
  CHECK(response.SerializeAsString() == bytes);

  // DeltaDiscoveryResponse{system_version_info: "s", resources: [Resource{version: "1", name: "c",
  // ttl{seconds: 5}}], nonce: "n", removed_resources: ["x"]}.
  const std::string delta_bytes(
      "\x0a\x01" "s"
      "\x12\x0a" "\x0a\x01" "1" "\x1a\x01" "c" "\x32\x02\x08\x05"
      "\x2a\x01" "n"
      "\x32\x01" "x",
      21);
  discovery::DeltaDiscoveryResponse delta;
  REQUIRE(delta.ParseFromString(delta_bytes));
  CHECK(delta.system_version_info() == "s");
  REQUIRE(delta.resources_size() == 1);
  CHECK(delta.resources(0).version() == "1");
  CHECK(delta.resources(0).name() == "c");
  CHECK(delta.resources(0).ttl().seconds() == 5);
  CHECK(delta.nonce() == "n");
  REQUIRE(delta.removed_resources_size() == 1);
  CHECK(delta.removed_resources(0) == "x");
  CHECK(delta.SerializeAsString() == delta_bytes);
}

TEST_CASE("a listener's api_listener and a secret decode from Envoy's field numbers", "[xds][wire]") {
  // Listener{name: "a", api_listener (19, tag 0x9a 0x01){api_listener: Any{type_url: "t"}}}.
  const std::string bytes("\x0a\x01" "a" "\x9a\x01\x05\x0a\x03\x0a\x01" "t", 11);
  listener::Listener decoded;
  REQUIRE(decoded.ParseFromString(bytes));
  CHECK(decoded.name() == "a");
  REQUIRE(decoded.has_api_listener());
  CHECK(decoded.api_listener().api_listener().type_url() == "t");
  CHECK_FALSE(decoded.has_address());

  // Secret{name: "s", validation_context (4){trusted_ca (1){inline_string (3): "pem"}}}.
  const std::string secret_bytes("\x0a\x01" "s" "\x22\x07\x0a\x05\x1a\x03" "pem", 12);
  tls::Secret secret;
  REQUIRE(secret.ParseFromString(secret_bytes));
  CHECK(secret.name() == "s");
  REQUIRE(secret.has_validation_context());
  CHECK(secret.validation_context().trusted_ca().inline_string() == "pem");
}

TEST_CASE("resilience fields of routes and clusters keep Envoy's numbers", "[xds][wire]") {
  const pb::Descriptor* action = route::RouteAction::descriptor();
  requireField(action, {"hash_policy", 15, T::TYPE_MESSAGE, Kind::kRepeated, {},
                        "envoy.config.route.v3.RouteAction.HashPolicy"});
  requireField(action, {"hedge_policy", 27, T::TYPE_MESSAGE, Kind::kSingular, {}, "envoy.config.route.v3.HedgePolicy"});
  requireField(action, {"max_stream_duration", 36, T::TYPE_MESSAGE});
  const pb::Descriptor* hash = route::RouteAction::HashPolicy::descriptor();
  requireField(hash, {"header", 1, T::TYPE_MESSAGE, Kind::kSingular, "policy_specifier"});
  requireField(hash, {"cookie", 2, T::TYPE_MESSAGE, Kind::kSingular, "policy_specifier"});
  requireField(hash, {"connection_properties", 3, T::TYPE_MESSAGE, Kind::kSingular, "policy_specifier"});
  requireField(hash, {"terminal", 4, T::TYPE_BOOL});
  requireField(route::RouteAction::HashPolicy::ConnectionProperties::descriptor(), {"source_ip", 1, T::TYPE_BOOL});
  requireField(route::RouteAction::MaxStreamDuration::descriptor(), {"grpc_timeout_header_max", 2, T::TYPE_MESSAGE});
  requireField(route::HedgePolicy::descriptor(), {"hedge_on_per_try_timeout", 3, T::TYPE_BOOL});
  const pb::Descriptor* retry = route::RetryPolicy::descriptor();
  requireField(retry, {"retry_host_predicate", 5, T::TYPE_MESSAGE, Kind::kRepeated});
  requireField(retry, {"host_selection_retry_max_attempts", 6, T::TYPE_INT64});
  requireField(retry, {"retriable_status_codes", 7, T::TYPE_UINT32, Kind::kRepeated});
  requireField(retry, {"retry_back_off", 8, T::TYPE_MESSAGE});
  const pb::Descriptor* thresholds = cluster::CircuitBreakers::Thresholds::descriptor();
  requireField(thresholds, {"retry_budget", 8, T::TYPE_MESSAGE});
  requireField(cluster::CircuitBreakers::Thresholds::RetryBudget::descriptor(),
               {"budget_percent", 1, T::TYPE_MESSAGE, Kind::kSingular, {}, "envoy.type.v3.Percent"});
  requireField(cluster::CircuitBreakers::Thresholds::RetryBudget::descriptor(),
               {"min_retry_concurrency", 2, T::TYPE_MESSAGE});
  requireField(cluster::Cluster::descriptor(), {"load_balancing_policy", 41, T::TYPE_MESSAGE, Kind::kSingular, {},
                                                "envoy.config.cluster.v3.LoadBalancingPolicy"});
  requireField(cluster::LoadBalancingPolicy::descriptor(), {"policies", 1, T::TYPE_MESSAGE, Kind::kRepeated});
  requireField(cluster::LoadBalancingPolicy::Policy::descriptor(), {"typed_extension_config", 4, T::TYPE_MESSAGE});
  requireField(endpoint::ClusterLoadAssignment::Policy::descriptor(), {"overprovisioning_factor", 3, T::TYPE_MESSAGE});
  requireField(core::Node::descriptor(), {"locality", 4, T::TYPE_MESSAGE});
}
