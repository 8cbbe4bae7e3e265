#include <catch2/catch.hpp>
#include <string>

#include "control-plane/mesh/spec_checks.h"
#include "control-plane/mesh/validation.h"

namespace remora::cp::mesh {
namespace {

std::string policyError(const std::string& spec_fields) {
  MeshState state;
  auto service = parseObject(R"({"kind":"Service","metadata":{"name":"web"},"spec":{"ports":[{"port":80}]}})", state);
  REQUIRE(service.has_value());
  state.put(std::move(*service));
  auto parsed = parseObject(
      R"({"kind":"TrafficPolicy","metadata":{"name":"p"},"spec":{"service":"web",)" + spec_fields + "}}", state);
  if (parsed) return "";
  return parsed.error().message;
}

}  // namespace

TEST_CASE("a full TrafficPolicy is accepted", "[mesh][validation][policy]") {
  CHECK(policyError(R"("loadBalancer":"MAGLEV","hashOn":{"header":"x-user"},"idleTimeout":"30s","panicThreshold":0,
      "retries":{"attempts":3,"perTryTimeout":"1s","retryOn":["5xx","unavailable"],"retriableStatusCodes":[503],
        "backoff":{"baseInterval":"0.1s","maxInterval":"1s"},"budget":{"percent":10,"minRetriesPerSecond":1},
        "retryNonIdempotent":true,"hedge":true},
      "outlierDetection":{"consecutive5xx":2,"maxEjectionTime":"60s","baseEjectionTime":"30s",
        "successRate":{"stdevFactor":2},"failurePercentage":{"threshold":50}},
      "healthCheck":{"path":"/h","expectedStatuses":["200","300-399"],"jitter":"1s"})") == "");
}

TEST_CASE("TrafficPolicy values proxies would refuse are refused with their field", "[mesh][validation][policy]") {
  CHECK(policyError(R"("retries":{"attempts":11})") == "spec.retries.attempts: must be 0..10");
  CHECK(policyError(R"("retries":{"retryOn":["bogus"]})") ==
        "spec.retries.retry_on[0]: \"bogus\" is not one of 5xx, gateway-error, reset, connect-failure, retriable-4xx, "
        "refused-stream, retriable-status-codes, cancelled, deadline-exceeded, internal, resource-exhausted, "
        "unavailable");
  CHECK(policyError(R"("retries":{"retryOn":["non-idempotent"]})") ==
        "spec.retries.retry_on[0]: use retry_non_idempotent: true instead");
  CHECK(policyError(R"("retries":{"retriableStatusCodes":[600]})") ==
        "spec.retries.retriable_status_codes[0]: must be 100..599");
  CHECK(policyError(R"("retries":{"backoff":{"baseInterval":"1s","maxInterval":"0.5s"}})") ==
        "spec.retries.backoff.max_interval: must not be less than base_interval");
  CHECK(policyError(R"("retries":{"backoff":{"maxInterval":"1s"}})") ==
        "spec.retries.backoff.base_interval: is required with max_interval");
  CHECK(policyError(R"("retries":{"budget":{"percent":100}})") ==
        "spec.retries.budget.percent: must be 0..100 (0: the default, 20); use disabled: true to turn the budget off");
  CHECK(policyError(R"("retries":{"hedge":true})") == "spec.retries.hedge: needs per_try_timeout");
  CHECK(policyError(R"("outlierDetection":{"maxEjectionPercent":101})") ==
        "spec.outlier_detection.max_ejection_percent: must be 0..100");
  CHECK(policyError(R"("outlierDetection":{"baseEjectionTime":"60s","maxEjectionTime":"30s"})") ==
        "spec.outlier_detection.max_ejection_time: must not be less than base_ejection_time");
  CHECK(policyError(R"("outlierDetection":{"interval":"0s"})") == "spec.outlier_detection.interval: must be more than 0");
  CHECK(policyError(R"("outlierDetection":{"failurePercentage":{"threshold":101}})") ==
        "spec.outlier_detection.failure_percentage.threshold: must be 0..100");
  CHECK(policyError(R"("healthCheck":{"path":"h"})") == "spec.health_check.path: must start with '/'");
  CHECK(policyError(R"("healthCheck":{"path":"/h","grpc":{}})") == "spec.health_check.grpc: set either path or grpc, not both");
  CHECK(policyError(R"("healthCheck":{"path":"/h","expectedStatuses":["299-200"]})") ==
        "spec.health_check.expected_statuses[0]: \"299-200\" is not a status (\"200\") or range (\"200-299\") within "
        "100..599");
  CHECK(policyError(R"("healthCheck":{"expectedStatuses":["200"]})") ==
        "spec.health_check.expected_statuses: is for HTTP checks (set path)");
  CHECK(policyError(R"("healthCheck":{"timeout":"0s"})") == "spec.health_check.timeout: must be more than 0");
  CHECK(policyError(R"("hashOn":{"header":"x"})") == "spec.hash_on: is only for load_balancer RING_HASH or MAGLEV");
  CHECK(policyError(R"("loadBalancer":"RING_HASH","hashOn":{"header":"X-User"})") ==
        "spec.hash_on.header: must be a lower-case header name");
  CHECK(policyError(R"("loadBalancer":"RING_HASH","hashOn":{})") ==
        "spec.hash_on: one of header, cookie or source_ip is required");
  CHECK(policyError(R"("panicThreshold":101)") == "spec.panic_threshold: must be 0..100");
  CHECK(policyError(R"("idleTimeout":"0s")") == "spec.idle_timeout: must be more than 0");
}

}  // namespace remora::cp::mesh
