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
  CHECK(convertError(cluster(R"("lb_policy": "CLUSTER_PROVIDED")")) ==
        "cs[0].lb_policy: not supported by remora-proxy (CLUSTER_PROVIDED; supported: ROUND_ROBIN, LEAST_REQUEST, "
        "RANDOM, RING_HASH, MAGLEV, LOAD_BALANCING_POLICY_CONFIG (peak EWMA))");
  CHECK(convertError(cluster(R"("health_checks": [{"timeout": "1s", "tcp_health_check": {}},
      {"timeout": "1s", "tcp_health_check": {}}])")) ==
        "cs[0].health_checks[1]: not supported by remora-proxy (one health check per cluster)");
  CHECK(convertError(R"({"name": "c", "type": "STRICT_DNS"})") ==
        "cs[0].type: not supported by remora-proxy (STRICT_DNS; supported: STATIC, EDS, ORIGINAL_DST)");
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

TEST_CASE("the cluster converter hands load balancing, outlier detection and health checks to their converters",
          "[xds][resources][cluster]") {
  auto c = toCluster(protoFromJson<ClusterProto>(cluster(R"("lb_policy": "MAGLEV",
      "maglev_lb_config": {"table_size": 65537}, "common_lb_config": {"healthy_panic_threshold": {"value": 30}},
      "outlier_detection": {"consecutive_5xx": 3}, "health_checks": [{"interval": "2s", "tcp_health_check": {}}])")));
  REQUIRE(c);
  CHECK(c->lb_policy == Cluster::LbPolicy::kMaglev);
  CHECK(c->healthy_panic_threshold == 30.0);
  REQUIRE(c->outlier_detection);
  CHECK(c->outlier_detection->consecutive_5xx == 3);
  REQUIRE(c->health_check);
  CHECK(c->health_check->kind == HealthCheck::Kind::kTcp);
  CHECK(c->health_check->interval == Millis(2000));
  const Cluster plain = *toCluster(protoFromJson<ClusterProto>(cluster("")));
  CHECK_FALSE(plain.outlier_detection);
  CHECK_FALSE(plain.health_check);
  CHECK(convertError(cluster(R"("round_robin_lb_config": {"slow_start_config": {"slow_start_window": "5s"}})")) ==
        "cs[0].round_robin_lb_config.slow_start_config: not supported by remora-proxy");
  CHECK(convertError(cluster(R"("outlier_detection": {"max_ejection_percent": 101})")) ==
        "cs[0].outlier_detection.max_ejection_percent: 101 is out of range 0..100");
  CHECK(convertError(cluster(R"("health_checks": [{"interval": "0s", "tcp_health_check": {}}])")) ==
        "cs[0].health_checks[0].interval: must be more than 0");
}

TEST_CASE("the retry budget is on by default, tunable, and off at 100 percent", "[xds][resources][cluster]") {
  const Cluster plain = *toCluster(protoFromJson<ClusterProto>(cluster("")));
  REQUIRE(plain.circuit_breakers.retry_budget);
  CHECK(plain.circuit_breakers.retry_budget->budget_percent == 20.0);
  CHECK(plain.circuit_breakers.retry_budget->min_retries_per_second == 3);

  auto tuned = toCluster(protoFromJson<ClusterProto>(cluster(R"("circuit_breakers": {"thresholds": [{
      "max_retries": 7, "retry_budget": {"budget_percent": {"value": 35.5}, "min_retry_concurrency": 9}}]})")));
  REQUIRE(tuned);
  CHECK(tuned->circuit_breakers.max_retries == 7);
  REQUIRE(tuned->circuit_breakers.retry_budget);
  CHECK(tuned->circuit_breakers.retry_budget->budget_percent == 35.5);
  CHECK(tuned->circuit_breakers.retry_budget->min_retries_per_second == 9);

  auto only_floor = toCluster(protoFromJson<ClusterProto>(
      cluster(R"("circuit_breakers": {"thresholds": [{"retry_budget": {"min_retry_concurrency": 1}}]})")));
  REQUIRE(only_floor);
  CHECK(only_floor->circuit_breakers.retry_budget->budget_percent == 20.0);
  CHECK(only_floor->circuit_breakers.retry_budget->min_retries_per_second == 1);

  auto off = toCluster(protoFromJson<ClusterProto>(
      cluster(R"("circuit_breakers": {"thresholds": [{"retry_budget": {"budget_percent": {"value": 100}}}]})")));
  REQUIRE(off);
  CHECK(off->circuit_breakers.retry_budget == std::nullopt);
  CHECK(convertError(cluster(R"("circuit_breakers": {"thresholds": [{"retry_budget": {"budget_percent": {"value": -1}}}]})")) ==
        "cs[0].circuit_breakers.thresholds[0].retry_budget.budget_percent.value: must not be negative");
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

TEST_CASE("endpoints keep their locality and priority, and the assignment its overprovisioning factor",
          "[xds][resources][cluster]") {
  auto c = toCluster(protoFromJson<ClusterProto>(R"({"name": "c", "metadata": {"filter_metadata": {"istio": {"k": "v"}}},
      "load_assignment": {"cluster_name": "c", "policy": {"overprovisioning_factor": 200}, "endpoints": [
      {"locality": {"region": "r1", "zone": "z1", "sub_zone": "s"}, "load_balancing_weight": 3,
      "metadata": {"filter_metadata": {"m": {}}}, "lb_endpoints": [{"metadata": {"filter_metadata": {"envoy.lb": {"canary": true}}},
      "endpoint": {"address": {"socket_address": {"address": "10.0.0.2", "port_value": 8080}}}, "load_balancing_weight": 7}]},
      {"locality": {"region": "r1", "zone": "z2"}, "priority": 1, "lb_endpoints": [
      {"endpoint": {"address": {"socket_address": {"address": "10.0.0.3", "port_value": 8080}}}}]}]}})"));
  REQUIRE(c);
  REQUIRE(c->endpoints.size() == 2);
  CHECK(c->endpoints[0].weight == 7);
  CHECK(c->endpoints[0].address == SocketAddress{"10.0.0.2", 8080});
  CHECK(c->endpoints[0].locality == Locality{"r1", "z1", "s"});
  CHECK(c->endpoints[0].priority == 0);
  CHECK(c->endpoints[1].locality == Locality{"r1", "z2", ""});
  CHECK(c->endpoints[1].priority == 1);
  CHECK(c->overprovisioning_factor == 200);
  CHECK(toCluster(protoFromJson<ClusterProto>(cluster("")))->overprovisioning_factor == 140);

  auto eds = toClusterLoadAssignment(protoFromJson<envoy::config::endpoint::v3::ClusterLoadAssignment>(
      R"({"cluster_name": "svc", "policy": {"overprovisioning_factor": 120}, "endpoints": [{"priority": 2,
      "lb_endpoints": [{"endpoint": {"address": {"socket_address": {"address": "10.0.0.9", "port_value": 1}}}}]}]})"));
  REQUIRE(eds);
  CHECK(eds->cluster_name == "svc");
  CHECK(eds->overprovisioning_factor == 120);
  REQUIRE(eds->endpoints.size() == 1);
  CHECK(eds->endpoints[0].priority == 2);

  CHECK(convertError(R"({"name": "c", "load_assignment": {"endpoints": [{"load_balancing_weight": 0, "lb_endpoints": []}]}})") ==
        "cs[0].load_assignment.endpoints[0].load_balancing_weight: must be at least 1");
  CHECK(convertError(R"({"name": "c", "load_assignment": {"policy": {"overprovisioning_factor": 0}}})") ==
        "cs[0].load_assignment.policy.overprovisioning_factor: must be more than 0");
  CHECK(convertError(R"({"name": "c", "load_assignment": {"policy": {"endpoint_stale_after": "5s"}}})") ==
        "cs[0].load_assignment.policy.endpoint_stale_after: not supported by remora-proxy");
}

TEST_CASE("an ORIGINAL_DST cluster converts with its cleanup interval and port override", "[xds][resources][cluster]") {
  auto c = toCluster(protoFromJson<ClusterProto>(
      R"({"name": "PassthroughCluster", "type": "ORIGINAL_DST", "lb_policy": "CLUSTER_PROVIDED"})"));
  REQUIRE(c);
  CHECK(c->type == Cluster::DiscoveryType::kOriginalDst);
  CHECK(c->endpoints.empty());
  CHECK(c->cleanup_interval == Millis(5000));
  CHECK_FALSE(c->upstream_port_override);
  auto tuned = toCluster(protoFromJson<ClusterProto>(
      R"({"name": "p", "type": "ORIGINAL_DST", "lb_policy": "CLUSTER_PROVIDED", "cleanup_interval": "2s",
          "original_dst_lb_config": {"upstream_port_override": 8080}})"));
  REQUIRE(tuned);
  CHECK(tuned->cleanup_interval == Millis(2000));
  CHECK(tuned->upstream_port_override == 8080u);
}

TEST_CASE("a malformed ORIGINAL_DST cluster is refused naming the field", "[xds][resources][cluster]") {
  const std::string base = R"({"name": "p", "type": "ORIGINAL_DST", )";
  CHECK(convertError(base + R"("lb_policy": "ROUND_ROBIN"})") ==
        "cs[0].lb_policy: must be CLUSTER_PROVIDED for type ORIGINAL_DST, not ROUND_ROBIN");
  CHECK(convertError(base + R"("lb_policy": "CLUSTER_PROVIDED", "load_assignment": {"cluster_name": "p"}})") ==
        "cs[0].load_assignment: must not be set: an ORIGINAL_DST cluster's host is each connection's original "
        "destination");
  CHECK(convertError(base + R"("lb_policy": "CLUSTER_PROVIDED", "health_checks": [{"timeout": "1s",
      "tcp_health_check": {}}]})") == "cs[0].health_checks: must not be set for type ORIGINAL_DST (no host is balanced)");
  CHECK(convertError(base + R"("lb_policy": "CLUSTER_PROVIDED", "outlier_detection": {}})") ==
        "cs[0].outlier_detection: must not be set for type ORIGINAL_DST (no host is balanced)");
  CHECK(convertError(base + R"("lb_policy": "CLUSTER_PROVIDED", "cleanup_interval": "0s"})") ==
        "cs[0].cleanup_interval: must be more than 0");
  CHECK(convertError(base + R"("lb_policy": "CLUSTER_PROVIDED",
      "original_dst_lb_config": {"upstream_port_override": 70000}})") ==
        "cs[0].original_dst_lb_config.upstream_port_override: 70000 is out of range 1..65535");
  CHECK_THAT(convertError(base + R"("lb_policy": "CLUSTER_PROVIDED", "original_dst_lb_config": {"use_http_header": true}})"),
             Catch::StartsWith("cs[0].original_dst_lb_config.use_http_header: not supported by remora-proxy"));
}

TEST_CASE("ORIGINAL_DST options on other cluster types are refused", "[xds][resources][cluster]") {
  CHECK(convertError(cluster(R"("cleanup_interval": "5s")")) == "cs[0].cleanup_interval: is only for type ORIGINAL_DST");
  CHECK(convertError(cluster(R"("original_dst_lb_config": {})")) ==
        "cs[0].original_dst_lb_config: is only for type ORIGINAL_DST");
}
