// TrafficPolicy emission, checked end to end: mesh objects -> buildForProxy ->
// the proxy's own converters -> the model remora-proxy runs on.
#include "control-plane/mesh/traffic_policy_builder.h"

#include <catch2/catch.hpp>
#include <string>

#include "control-plane/mesh/snapshot_builder.h"
#include "control-plane/mesh/validation.h"
#include "envoy/config/cluster/v3/cluster.pb.h"
#include "xds/resources/resource_decoder.h"

namespace remora::cp::mesh {
namespace {

namespace res = xds::resources;

constexpr const char* kCluster = "outbound|9080||reviews.default";

MeshState meshWithPolicy(const std::string& policy_spec) {
  MeshState state;
  std::vector<std::string> objects = {
      R"({"kind":"Service","metadata":{"name":"reviews"},"spec":{"ports":[{"port":9080}]}})",
      R"({"kind":"Endpoint","metadata":{"name":"r1"},"spec":{"service":"reviews","address":"10.0.0.1","port":9080}})"};
  if (!policy_spec.empty()) {
    objects.push_back(R"({"kind":"TrafficPolicy","metadata":{"name":"p"},"spec":{"service":"reviews")" +
                      (policy_spec == "{}" ? std::string() : "," + policy_spec) + "}}");
  }
  for (const std::string& json : objects) {
    auto parsed = parseObject(json, state);
    INFO(json);
    INFO((parsed ? std::string() : parsed.error().message));
    REQUIRE(parsed.has_value());
    state.put(std::move(*parsed));
  }
  return state;
}

struct Built {
  res::Cluster cluster;
  res::RouteAction route;  // the default route of reviews' virtual host
  std::vector<std::string> warnings;
};

Built build(const std::string& policy_spec) {
  const ProxyResources out = buildForProxy(meshWithPolicy(policy_spec), ProxyIdentity{});
  Built built;
  built.warnings = out.warnings;
  bool found = false;
  for (const auto& any : out.of(res::kClusterTypeUrl)) {
    auto decoded = res::decodeResource(res::ResourceType::kCluster, any);
    INFO((decoded ? std::string() : decoded.error().message));
    REQUIRE(decoded.has_value());
    if (decoded->name == kCluster) {
      built.cluster = std::get<res::Cluster>(decoded->value);
      found = true;
    }
  }
  REQUIRE(found);
  auto routes = res::decodeResource(res::ResourceType::kRouteConfiguration, out.of(res::kRouteConfigurationTypeUrl)[0]);
  INFO((routes ? std::string() : routes.error().message));
  REQUIRE(routes.has_value());
  const auto& config = std::get<res::RouteConfiguration>(routes->value);
  REQUIRE(config.virtual_hosts.size() == 1);
  built.route = std::get<res::RouteAction>(config.virtual_hosts[0].routes.back().action);
  return built;
}

}  // namespace

TEST_CASE("without a TrafficPolicy a mesh cluster gets outlier detection, a retry budget and default retries",
          "[mesh][policy]") {
  const Built built = build("");
  const res::Cluster& c = built.cluster;
  CHECK(c.lb_policy == res::Cluster::LbPolicy::kRoundRobin);
  REQUIRE(c.outlier_detection);
  CHECK(c.outlier_detection->consecutive_5xx == 5);
  CHECK(c.outlier_detection->enforcing_consecutive_5xx == 100);
  CHECK(c.outlier_detection->consecutive_gateway_failure == 5);
  CHECK(c.outlier_detection->enforcing_consecutive_gateway_failure == 100);
  CHECK(c.outlier_detection->interval == res::Millis(1000));
  CHECK(c.outlier_detection->base_ejection_time == res::Millis(30000));
  CHECK(c.outlier_detection->max_ejection_time == res::Millis(300000));
  CHECK(c.outlier_detection->max_ejection_percent == 50);
  CHECK(c.outlier_detection->enforcing_success_rate == 100);
  CHECK(c.outlier_detection->success_rate_stdev_factor == 1900);
  CHECK(c.outlier_detection->enforcing_failure_percentage == 0);
  CHECK_FALSE(c.outlier_detection->split_external_local_origin_errors);
  CHECK_FALSE(c.health_check);
  REQUIRE(c.circuit_breakers.retry_budget);
  CHECK(c.circuit_breakers.retry_budget->budget_percent == 20.0);
  CHECK(c.circuit_breakers.retry_budget->min_retries_per_second == 3);
  CHECK(c.healthy_panic_threshold == 50.0);

  REQUIRE(built.route.retry_policy);
  const res::RetryPolicy& retry = *built.route.retry_policy;
  CHECK(retry.num_retries == 2);
  CHECK(retry.retry_on ==
        std::vector<std::string>{"connect-failure", "refused-stream", "unavailable", "cancelled", "retriable-status-codes"});
  CHECK(retry.retriable_status_codes == std::vector<uint32_t>{503});
  CHECK_FALSE(built.route.hedge_on_per_try_timeout);
  CHECK(built.route.hash_policy.empty());
}

TEST_CASE("every TrafficPolicy field reaches the cluster or the route", "[mesh][policy]") {
  const Built built = build(R"("loadBalancer":"RING_HASH","hashOn":{"header":"x-user"},"connectTimeout":"0.5s",
      "requestTimeout":"4s","idleTimeout":"20s","panicThreshold":30,
      "retries":{"attempts":3,"perTryTimeout":"0.2s","retryOn":["5xx","reset","retriable-status-codes"],
        "retriableStatusCodes":[502,503],"backoff":{"baseInterval":"0.01s","maxInterval":"0.5s"},
        "budget":{"percent":35,"minRetriesPerSecond":7},"retryNonIdempotent":true,"hedge":true},
      "outlierDetection":{"consecutive5xx":3,"consecutiveGatewayFailure":2,"consecutiveLocalOriginFailure":4,
        "interval":"2s","baseEjectionTime":"10s","maxEjectionTime":"60s","maxEjectionPercent":34,
        "successRate":{"minimumHosts":3,"requestVolume":20,"stdevFactor":1.5},
        "failurePercentage":{"threshold":60,"minimumHosts":2,"requestVolume":10}},
      "healthCheck":{"path":"/healthz","expectedStatuses":["200-204","404"],"interval":"2s","timeout":"0.5s",
        "jitter":"0.1s","healthyThreshold":1,"unhealthyThreshold":4},
      "circuitBreakers":{"maxConnections":10,"maxRetries":4})");
  const res::Cluster& c = built.cluster;
  CHECK(c.lb_policy == res::Cluster::LbPolicy::kRingHash);
  CHECK(c.connect_timeout == res::Millis(500));
  CHECK(c.healthy_panic_threshold == 30.0);
  CHECK(c.circuit_breakers.max_connections == 10);
  CHECK(c.circuit_breakers.max_retries == 4);
  REQUIRE(c.circuit_breakers.retry_budget);
  CHECK(c.circuit_breakers.retry_budget->budget_percent == 35.0);
  CHECK(c.circuit_breakers.retry_budget->min_retries_per_second == 7);
  REQUIRE(c.outlier_detection);
  const res::OutlierDetection& od = *c.outlier_detection;
  CHECK(od.consecutive_5xx == 3);
  CHECK(od.consecutive_gateway_failure == 2);
  CHECK(od.split_external_local_origin_errors);
  CHECK(od.consecutive_local_origin_failure == 4);
  CHECK(od.interval == res::Millis(2000));
  CHECK(od.base_ejection_time == res::Millis(10000));
  CHECK(od.max_ejection_time == res::Millis(60000));
  CHECK(od.max_ejection_percent == 34);
  CHECK(od.success_rate_minimum_hosts == 3);
  CHECK(od.success_rate_request_volume == 20);
  CHECK(od.success_rate_stdev_factor == 1500);
  CHECK(od.enforcing_failure_percentage == 100);
  CHECK(od.failure_percentage_threshold == 60);
  CHECK(od.failure_percentage_minimum_hosts == 2);
  CHECK(od.failure_percentage_request_volume == 10);
  REQUIRE(c.health_check);
  CHECK(c.health_check->kind == res::HealthCheck::Kind::kHttp);
  CHECK(c.health_check->path == "/healthz");
  CHECK(c.health_check->expected_statuses == std::vector<std::pair<uint32_t, uint32_t>>{{200, 205}, {404, 405}});
  CHECK(c.health_check->interval == res::Millis(2000));
  CHECK(c.health_check->timeout == res::Millis(500));
  CHECK(c.health_check->interval_jitter == res::Millis(100));
  CHECK(c.health_check->healthy_threshold == 1);
  CHECK(c.health_check->unhealthy_threshold == 4);

  const res::RouteAction& route = built.route;
  CHECK(route.timeout == res::Millis(4000));
  CHECK(route.idle_timeout == res::Millis(20000));
  REQUIRE(route.hash_policy.size() == 1);
  CHECK(route.hash_policy[0] == res::HashPolicy{res::HashPolicy::Kind::kHeader, "x-user"});
  CHECK(route.hedge_on_per_try_timeout);
  REQUIRE(route.retry_policy);
  CHECK(route.retry_policy->num_retries == 3);
  CHECK(route.retry_policy->per_try_timeout == res::Millis(200));
  CHECK(route.retry_policy->retry_on ==
        std::vector<std::string>{"5xx", "reset", "retriable-status-codes", "non-idempotent"});
  CHECK(route.retry_policy->retriable_status_codes == std::vector<uint32_t>{502, 503});
  CHECK(route.retry_policy->base_interval == res::Millis(10));
  CHECK(route.retry_policy->max_interval == res::Millis(500));
  // Nothing is "stored but not applied" any more.
  CHECK(built.warnings.empty());
}

TEST_CASE("retries, the budget and outlier detection can each be turned off", "[mesh][policy]") {
  const Built built = build(R"("retries":{"disabled":true,"budget":{"disabled":true}},"outlierDetection":{"disabled":true},
      "panicThreshold":0)");
  CHECK_FALSE(built.route.retry_policy);
  CHECK(built.cluster.circuit_breakers.retry_budget == std::nullopt);
  CHECK_FALSE(built.cluster.outlier_detection);
  CHECK(built.cluster.healthy_panic_threshold == 0.0);
  const Built no_rate = build(R"("outlierDetection":{"successRate":{"disabled":true}})");
  REQUIRE(no_rate.cluster.outlier_detection);
  CHECK(no_rate.cluster.outlier_detection->enforcing_success_rate == 0);
}

TEST_CASE("balancers map to the xDS the proxy reads, peak EWMA through load_balancing_policy", "[mesh][policy]") {
  CHECK(build(R"("loadBalancer":"PEAK_EWMA")").cluster.lb_policy == res::Cluster::LbPolicy::kPeakEwma);
  CHECK(build(R"("loadBalancer":"MAGLEV")").cluster.lb_policy == res::Cluster::LbPolicy::kMaglev);
  CHECK(build(R"("loadBalancer":"RANDOM")").cluster.lb_policy == res::Cluster::LbPolicy::kRandom);
  CHECK(build(R"("loadBalancer":"LEAST_REQUEST")").cluster.lb_policy == res::Cluster::LbPolicy::kLeastRequest);
  const Built cookie = build(R"("loadBalancer":"MAGLEV","hashOn":{"cookie":"sid"})");
  REQUIRE(cookie.route.hash_policy.size() == 1);
  CHECK(cookie.route.hash_policy[0] == res::HashPolicy{res::HashPolicy::Kind::kCookie, "sid"});
  const Built source = build(R"("loadBalancer":"RING_HASH","hashOn":{"sourceIp":true})");
  REQUIRE(source.route.hash_policy.size() == 1);
  CHECK(source.route.hash_policy[0].kind == res::HashPolicy::Kind::kSourceIp);
}

TEST_CASE("gRPC and TCP health checks are emitted as such", "[mesh][policy]") {
  const Built grpc = build(R"("healthCheck":{"grpc":{"serviceName":"reviews"}})");
  REQUIRE(grpc.cluster.health_check);
  CHECK(grpc.cluster.health_check->kind == res::HealthCheck::Kind::kGrpc);
  CHECK(grpc.cluster.health_check->service_name == "reviews");
  CHECK(grpc.cluster.health_check->interval == res::Millis(5000));
  CHECK(grpc.cluster.health_check->timeout == res::Millis(1000));
  CHECK(grpc.cluster.health_check->healthy_threshold == 2);
  CHECK(grpc.cluster.health_check->unhealthy_threshold == 3);
  const Built tcp = build(R"("healthCheck":{"interval":"1s"})");
  REQUIRE(tcp.cluster.health_check);
  CHECK(tcp.cluster.health_check->kind == res::HealthCheck::Kind::kTcp);
  const Built http = build(R"("healthCheck":{"path":"/ready"})");
  REQUIRE(http.cluster.health_check);
  CHECK(http.cluster.health_check->expected_statuses == std::vector<std::pair<uint32_t, uint32_t>>{{200, 300}});
}

}  // namespace remora::cp::mesh
