#include "xds/resources/cluster_converter.h"

#include <catch2/catch.hpp>

#include "tests/unit/xds/resources/proto_json.h"

using namespace remora::xds::resources;
using remora::base::Error;
using testing::protoFromJson;
using ClusterProto = envoy::config::cluster::v3::Cluster;

namespace {

std::string cluster(const std::string& extra) {
  return R"({"name": "c", "load_assignment": {"endpoints": [{"lb_endpoints": [
      {"endpoint": {"address": {"socket_address": {"address": "10.0.0.1", "port_value": 80}}}, "health_status": "DRAINING"}]}]})" +
         (extra.empty() ? "" : ", " + extra) + "}";
}

std::string convertError(const std::string& json) {
  auto c = toCluster(protoFromJson<ClusterProto>(json), "cs[0]");
  REQUIRE_FALSE(c);
  return c.error().message;
}

}  // namespace

TEST_CASE("a static cluster converts with the model's defaults", "[xds][resources][cluster]") {
  auto c = toCluster(protoFromJson<ClusterProto>(cluster("")));
  REQUIRE(c);
  const Cluster defaults;
  CHECK(c->type == Cluster::DiscoveryType::kStatic);
  CHECK(c->connect_timeout == defaults.connect_timeout);
  CHECK(c->protocol == Cluster::UpstreamProtocol::kHttp1);
  REQUIRE(c->endpoints.size() == 1);
  CHECK(c->endpoints[0].health == HealthStatus::kDraining);
  CHECK(c->circuit_breakers.max_retries == 3);
}

TEST_CASE("an EDS cluster over ADS takes its service name from the cluster", "[xds][resources][cluster]") {
  auto c = toCluster(protoFromJson<ClusterProto>(
      R"({"name": "svc", "type": "EDS", "eds_cluster_config": {"eds_config": {"ads": {}, "resource_api_version": "V3"}}})"));
  REQUIRE(c);
  CHECK(c->type == Cluster::DiscoveryType::kEds);
  CHECK(c->eds_service_name == "svc");
  CHECK(convertError(R"({"name": "svc", "type": "EDS"})") ==
        "cs[0].eds_cluster_config.eds_config: must be {ads: {}} (remora-proxy fetches endpoints over ADS only)");
}

TEST_CASE("HTTP/2 upstreams are set through typed_extension_protocol_options", "[xds][resources][cluster]") {
  auto c = toCluster(protoFromJson<ClusterProto>(cluster(R"("typed_extension_protocol_options": {
      "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
        "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
        "common_http_protocol_options": {"max_requests_per_connection": 1000},
        "explicit_http_config": {"http2_protocol_options": {"max_concurrent_streams": 10}}}})")));
  REQUIRE(c);
  CHECK(c->protocol == Cluster::UpstreamProtocol::kHttp2);
  CHECK(c->http2_max_concurrent_streams == 10);
  CHECK(c->max_requests_per_connection == 1000);
}

TEST_CASE("the deprecated cluster-level protocol fields are still accepted", "[xds][resources][cluster]") {
  auto h2 = toCluster(protoFromJson<ClusterProto>(cluster(R"("http2_protocol_options": {})")));
  REQUIRE(h2);
  CHECK(h2->protocol == Cluster::UpstreamProtocol::kHttp2);
  auto downstream =
      toCluster(protoFromJson<ClusterProto>(cluster(R"("protocol_selection": "USE_DOWNSTREAM_PROTOCOL")")));
  REQUIRE(downstream);
  CHECK(downstream->protocol == Cluster::UpstreamProtocol::kUseDownstream);
  CHECK_THAT(convertError(cluster(R"("http2_protocol_options": {}, "typed_extension_protocol_options": {
      "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
        "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
        "explicit_http_config": {"http_protocol_options": {}}}})")),
             Catch::StartsWith("cs[0].typed_extension_protocol_options[\"envoy.extensions.upstreams.http.v3."
                               "HttpProtocolOptions\"]: set either"));
}

TEST_CASE("cluster features Remora does not implement are refused", "[xds][resources][cluster]") {
  CHECK(convertError(cluster(R"("lb_policy": "RING_HASH")")) ==
        "cs[0].lb_policy: not supported by remora-proxy (RING_HASH; supported: ROUND_ROBIN, LEAST_REQUEST, RANDOM)");
  CHECK(convertError(cluster(R"("health_checks": [{"timeout": "1s"}])")) ==
        "cs[0].health_checks: not supported by remora-proxy");
  CHECK(convertError(R"({"name": "c", "type": "STRICT_DNS"})") ==
        "cs[0].type: not supported by remora-proxy (STRICT_DNS; supported: STATIC, EDS)");
  CHECK(convertError(cluster(R"("circuit_breakers": {"thresholds": [{"priority": "HIGH"}]})")) ==
        "cs[0].circuit_breakers.thresholds[0].priority: not supported by remora-proxy (only DEFAULT priority traffic "
        "exists)");
}

TEST_CASE("endpoint values are validated with their full path", "[xds][resources][cluster]") {
  CHECK(convertError(R"({"name": "c", "load_assignment": {"endpoints": [{"lb_endpoints": [{"endpoint": {"address":
      {"socket_address": {"address": "10.0.0.1", "port_value": 70000}}}}]}]}})") ==
        "cs[0].load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value: 70000 is out "
        "of range 1..65535");
  CHECK(convertError(R"({"name": "c", "load_assignment": {"endpoints": [{"lb_endpoints": [{"load_balancing_weight": 0,
      "endpoint": {"address": {"socket_address": {"address": "10.0.0.1", "port_value": 7}}}}]}]}})") ==
        "cs[0].load_assignment.endpoints[0].lb_endpoints[0].load_balancing_weight: must be at least 1");
  CHECK(convertError(R"({"name": "c", "connect_timeout": "0s"})") == "cs[0].connect_timeout: must be more than 0");
}

TEST_CASE("load balancing options beyond plain round robin are refused with their field",
          "[xds][resources][cluster]") {
  // Empty option blocks, as some control planes always send, are accepted.
  auto empty = toCluster(protoFromJson<ClusterProto>(cluster(R"("round_robin_lb_config": {}, "common_lb_config": {})")));
  REQUIRE(empty);
  CHECK(empty->lb_policy == Cluster::LbPolicy::kRoundRobin);
  auto least = toCluster(protoFromJson<ClusterProto>(cluster(R"("lb_policy": "LEAST_REQUEST")")));
  REQUIRE(least);
  CHECK(least->lb_policy == Cluster::LbPolicy::kLeastRequest);
  auto random = toCluster(protoFromJson<ClusterProto>(cluster(R"("lb_policy": "RANDOM")")));
  REQUIRE(random);
  CHECK(random->lb_policy == Cluster::LbPolicy::kRandom);
  CHECK(convertError(cluster(R"("round_robin_lb_config": {"slow_start_config": {"slow_start_window": "5s"}})")) ==
        "cs[0].round_robin_lb_config.slow_start_config: not supported by remora-proxy");
  CHECK(convertError(cluster(R"("common_lb_config": {"healthy_panic_threshold": {"value": 10}})")) ==
        "cs[0].common_lb_config.healthy_panic_threshold: not supported by remora-proxy");
  CHECK(convertError(cluster(R"("common_lb_config": {"locality_weighted_lb_config": {}})")) ==
        "cs[0].common_lb_config.locality_weighted_lb_config: not supported by remora-proxy");
  CHECK(convertError(cluster(R"("lb_policy": "RING_HASH", "ring_hash_lb_config": {"minimum_ring_size": 64})")) ==
        "cs[0].ring_hash_lb_config: not supported by remora-proxy");
  CHECK(convertError(cluster(R"("lb_policy": "MAGLEV")")) ==
        "cs[0].lb_policy: not supported by remora-proxy (MAGLEV; supported: ROUND_ROBIN, LEAST_REQUEST, RANDOM)");
  CHECK(convertError(cluster(R"("least_request_lb_config": {"choice_count": 3})")) ==
        "cs[0].least_request_lb_config: not supported by remora-proxy");
}

TEST_CASE("outlier detection, health checks and TLS are refused until implemented", "[xds][resources][cluster]") {
  CHECK(convertError(cluster(R"("outlier_detection": {"consecutive_5xx": 5, "failure_percentage_threshold": 80})")) ==
        "cs[0].outlier_detection: not supported by remora-proxy");
  CHECK(convertError(cluster(R"("health_checks": [{"timeout": "1s", "interval": "5s", "unhealthy_threshold": 3,
      "healthy_threshold": 2, "grpc_health_check": {"service_name": "s"}}])")) ==
        "cs[0].health_checks: not supported by remora-proxy");
  auto tls = toCluster(protoFromJson<ClusterProto>(cluster(R"("transport_socket": {"name": "envoy.transport_sockets.tls",
      "typed_config": {"@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext",
      "sni": "b.svc", "common_tls_context": {"alpn_protocols": ["h2"], "tls_params": {"cipher_suites": ["x"]}}}})")),
                       "cs[0]");
  REQUIRE_FALSE(tls);
  CHECK(tls.error().code == Error::kUnsupported);
  CHECK(tls.error().message ==
        "cs[0].transport_socket.typed_config.common_tls_context.tls_params.cipher_suites: not supported by "
        "remora-proxy");
}

TEST_CASE("a cluster's TLS transport socket becomes the model's UpstreamTls", "[xds][resources][cluster]") {
  auto c = toCluster(protoFromJson<ClusterProto>(cluster(R"("transport_socket": {"name": "envoy.transport_sockets.tls",
      "typed_config": {"@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext",
      "sni": "outbound|80||b.svc", "common_tls_context": {"alpn_protocols": ["h2"],
        "tls_certificate_sds_secret_configs": [{"name": "default"}],
        "combined_validation_context": {
          "default_validation_context": {"match_typed_subject_alt_names": [
            {"san_type": "URI", "matcher": {"exact": "spiffe://cluster.local/ns/shop/sa/b"}}]},
          "validation_context_sds_secret_config": {"name": "ROOTCA", "sds_config": {"ads": {}}}}}}})")));
  REQUIRE(c);
  REQUIRE(c->tls);
  CHECK(c->tls->sni == "outbound|80||b.svc");
  CHECK(c->tls->alpn == std::vector<std::string>{"h2"});
  CHECK(c->tls->certificate.sds_name == "default");
  REQUIRE(c->tls->validation);
  CHECK(c->tls->validation->sds_name == "ROOTCA");
  CHECK(c->tls->validation->uri_san_exact == std::vector<std::string>{"spiffe://cluster.local/ns/shop/sa/b"});
  CHECK(c->tls->min_version == TlsVersion::kTls12);
  CHECK(toCluster(protoFromJson<ClusterProto>(cluster("")))->tls == std::nullopt);
}

TEST_CASE("endpoint metadata and locality weights are accepted, priorities are refused",
          "[xds][resources][cluster]") {
  auto c = toCluster(protoFromJson<ClusterProto>(R"({"name": "c", "metadata": {"filter_metadata": {"istio": {"k": "v"}}},
      "load_assignment": {"cluster_name": "c", "endpoints": [{"locality": {"zone": "z1"}, "load_balancing_weight": 3,
      "metadata": {"filter_metadata": {"m": {}}}, "lb_endpoints": [{"metadata": {"filter_metadata": {"envoy.lb": {"canary": true}}},
      "endpoint": {"address": {"socket_address": {"address": "10.0.0.2", "port_value": 8080}}}, "load_balancing_weight": 7}]}]}})"));
  REQUIRE(c);
  REQUIRE(c->endpoints.size() == 1);
  CHECK(c->endpoints[0].weight == 7);
  CHECK(c->endpoints[0].address == SocketAddress{"10.0.0.2", 8080});
  CHECK(convertError(R"({"name": "c", "load_assignment": {"endpoints": [{"load_balancing_weight": 0, "lb_endpoints": []}]}})") ==
        "cs[0].load_assignment.endpoints[0].load_balancing_weight: must be at least 1");
  CHECK(convertError(R"({"name": "c", "load_assignment": {"endpoints": [{"priority": 1, "lb_endpoints": []}]}})") ==
        "cs[0].load_assignment.endpoints[0].priority: not supported by remora-proxy");
  CHECK(convertError(R"({"name": "c", "load_assignment": {"policy": {"overprovisioning_factor": 140}}})") ==
        "cs[0].load_assignment.policy: not supported by remora-proxy");
}
