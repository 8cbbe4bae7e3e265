#include "xds/resources/cluster_health_converter.h"

#include <catch2/catch.hpp>

#include "tests/unit/xds/resources/proto_json.h"

using namespace remora::xds::resources;
using remora::base::Error;
using testing::protoFromJson;
using OutlierProto = envoy::config::cluster::v3::OutlierDetection;
using HealthCheckProto = envoy::config::core::v3::HealthCheck;

namespace {

std::string outlierError(const std::string& json) {
  auto od = toOutlierDetection(protoFromJson<OutlierProto>(json), "c.outlier_detection");
  REQUIRE_FALSE(od);
  return od.error().message;
}

std::string checkError(const std::string& json) {
  auto hc = toHealthCheck(protoFromJson<HealthCheckProto>(json), "c.health_checks[0]");
  REQUIRE_FALSE(hc);
  return hc.error().message;
}

}  // namespace

TEST_CASE("an empty outlier detection block takes Envoy's defaults", "[xds][resources][outlier]") {
  auto od = toOutlierDetection(protoFromJson<OutlierProto>("{}"), "od");
  REQUIRE(od);
  CHECK(*od == OutlierDetection{});
  CHECK(od->consecutive_5xx == 5);
  CHECK(od->interval == Millis(10000));
  CHECK(od->max_ejection_percent == 10);
}

TEST_CASE("every outlier detection field is read", "[xds][resources][outlier]") {
  auto od = toOutlierDetection(protoFromJson<OutlierProto>(R"({"consecutive_5xx": 2, "interval": "1s",
      "base_ejection_time": "15s", "max_ejection_time": "60s", "max_ejection_percent": 50,
      "enforcing_consecutive_5xx": 90, "consecutive_gateway_failure": 4, "enforcing_consecutive_gateway_failure": 100,
      "split_external_local_origin_errors": true, "consecutive_local_origin_failure": 3,
      "enforcing_consecutive_local_origin_failure": 80, "enforcing_success_rate": 70, "success_rate_minimum_hosts": 3,
      "success_rate_request_volume": 20, "success_rate_stdev_factor": 1500, "failure_percentage_threshold": 60,
      "enforcing_failure_percentage": 100, "enforcing_failure_percentage_local_origin": 10,
      "failure_percentage_minimum_hosts": 2, "failure_percentage_request_volume": 10})"),
                               "od");
  REQUIRE(od);
  CHECK(od->consecutive_5xx == 2);
  CHECK(od->interval == Millis(1000));
  CHECK(od->base_ejection_time == Millis(15000));
  CHECK(od->max_ejection_time == Millis(60000));
  CHECK(od->max_ejection_percent == 50);
  CHECK(od->enforcing_consecutive_5xx == 90);
  CHECK(od->consecutive_gateway_failure == 4);
  CHECK(od->enforcing_consecutive_gateway_failure == 100);
  CHECK(od->split_external_local_origin_errors);
  CHECK(od->consecutive_local_origin_failure == 3);
  CHECK(od->enforcing_consecutive_local_origin_failure == 80);
  CHECK(od->enforcing_success_rate == 70);
  CHECK(od->success_rate_minimum_hosts == 3);
  CHECK(od->success_rate_request_volume == 20);
  CHECK(od->success_rate_stdev_factor == 1500);
  CHECK(od->failure_percentage_threshold == 60);
  CHECK(od->enforcing_failure_percentage == 100);
  CHECK(od->enforcing_failure_percentage_local_origin == 10);
  CHECK(od->failure_percentage_minimum_hosts == 2);
  CHECK(od->failure_percentage_request_volume == 10);
}

TEST_CASE("the maximum ejection time is at least the base one", "[xds][resources][outlier]") {
  auto od = toOutlierDetection(protoFromJson<OutlierProto>(R"({"base_ejection_time": "600s"})"), "od");
  REQUIRE(od);
  CHECK(od->max_ejection_time == Millis(600000));
  CHECK(outlierError(R"({"base_ejection_time": "60s", "max_ejection_time": "30s"})") ==
        "c.outlier_detection.max_ejection_time: must not be less than base_ejection_time");
}

TEST_CASE("outlier detection refuses out-of-range percentages, zero durations and unknown fields",
          "[xds][resources][outlier]") {
  CHECK(outlierError(R"({"enforcing_consecutive_5xx": 150})") ==
        "c.outlier_detection.enforcing_consecutive_5xx: 150 is out of range 0..100");
  CHECK(outlierError(R"({"failure_percentage_threshold": 101})") ==
        "c.outlier_detection.failure_percentage_threshold: 101 is out of range 0..100");
  CHECK(outlierError(R"({"interval": "0s"})") == "c.outlier_detection.interval: must be more than 0");
  CHECK(outlierError(R"({"base_ejection_time": "0s"})") == "c.outlier_detection.base_ejection_time: must be more than 0");
  CHECK(outlierError(R"({"always_eject_one_host": true})") ==
        "c.outlier_detection.always_eject_one_host: not supported by remora-proxy");
}

TEST_CASE("an HTTP health check reads path, host, statuses and codec", "[xds][resources][healthcheck]") {
  auto hc = toHealthCheck(protoFromJson<HealthCheckProto>(R"({"timeout": "0.5s", "interval": "3s",
      "interval_jitter": "0.2s", "interval_jitter_percent": 10, "unhealthy_threshold": 2, "healthy_threshold": 1,
      "http_health_check": {"path": "/healthz", "host": "svc", "codec_client_type": "HTTP2",
        "expected_statuses": [{"start": 200, "end": 300}, {"start": 404, "end": 405}]}})"),
                          "hc");
  REQUIRE(hc);
  CHECK(hc->kind == HealthCheck::Kind::kHttp);
  CHECK(hc->timeout == Millis(500));
  CHECK(hc->interval == Millis(3000));
  CHECK(hc->interval_jitter == Millis(200));
  CHECK(hc->interval_jitter_percent == 10);
  CHECK(hc->unhealthy_threshold == 2);
  CHECK(hc->healthy_threshold == 1);
  CHECK(hc->path == "/healthz");
  CHECK(hc->host == "svc");
  CHECK(hc->http2);
  CHECK(hc->expected_statuses == std::vector<std::pair<uint32_t, uint32_t>>{{200, 300}, {404, 405}});
}

TEST_CASE("TCP and gRPC health checks convert, with hex payloads", "[xds][resources][healthcheck]") {
  auto tcp = toHealthCheck(
      protoFromJson<HealthCheckProto>(R"({"tcp_health_check": {"send": {"text": "50494e47"}, "receive": [{"text": "504f4e47"}]}})"),
      "hc");
  REQUIRE(tcp);
  CHECK(tcp->kind == HealthCheck::Kind::kTcp);
  CHECK(tcp->send == "PING");
  CHECK(tcp->receive == std::vector<std::string>{"PONG"});
  CHECK(tcp->timeout == HealthCheck{}.timeout);
  auto bare = toHealthCheck(protoFromJson<HealthCheckProto>(R"({"tcp_health_check": {}})"), "hc");
  REQUIRE(bare);
  CHECK(bare->send.empty());
  auto grpc = toHealthCheck(
      protoFromJson<HealthCheckProto>(R"({"grpc_health_check": {"service_name": "echo", "authority": "a"}})"), "hc");
  REQUIRE(grpc);
  CHECK(grpc->kind == HealthCheck::Kind::kGrpc);
  CHECK(grpc->service_name == "echo");
  CHECK(grpc->authority == "a");
}

TEST_CASE("health checks refuse zero durations and thresholds, bad paths and statuses", "[xds][resources][healthcheck]") {
  CHECK(checkError(R"({"timeout": "0s", "tcp_health_check": {}})") == "c.health_checks[0].timeout: must be more than 0");
  CHECK(checkError(R"({"interval": "0s", "tcp_health_check": {}})") ==
        "c.health_checks[0].interval: must be more than 0");
  CHECK(checkError(R"({"unhealthy_threshold": 0, "tcp_health_check": {}})") ==
        "c.health_checks[0].unhealthy_threshold: must be at least 1");
  CHECK(checkError(R"({"healthy_threshold": 0, "tcp_health_check": {}})") ==
        "c.health_checks[0].healthy_threshold: must be at least 1");
  CHECK(checkError(R"({"timeout": "1s"})") ==
        "c.health_checks[0]: one of http_health_check, tcp_health_check or grpc_health_check is required");
  CHECK(checkError(R"({"http_health_check": {"path": "healthz"}})") ==
        "c.health_checks[0].http_health_check.path: \"healthz\" must start with \"/\"");
  CHECK(checkError(R"({"http_health_check": {"path": "/", "expected_statuses": [{"start": 300, "end": 200}]}})") ==
        "c.health_checks[0].http_health_check.expected_statuses[0]: [300, 200) is not a status range within [100, 600)");
  CHECK(checkError(R"({"http_health_check": {"path": "/", "codec_client_type": "HTTP3"}})") ==
        "c.health_checks[0].http_health_check.codec_client_type: not supported by remora-proxy (HTTP3; supported: "
        "HTTP1, HTTP2)");
  CHECK(checkError(R"({"tcp_health_check": {"send": {"text": "zz"}}})") ==
        "c.health_checks[0].tcp_health_check.send.text: \"zz\" is not hex");
  auto custom = toHealthCheck(protoFromJson<HealthCheckProto>(R"({"custom_health_check": {"name": "x"}})"), "hc");
  REQUIRE_FALSE(custom);
  CHECK(custom.error().code == Error::kUnsupported);
  CHECK(checkError(R"({"no_traffic_interval": "60s", "tcp_health_check": {}})") ==
        "c.health_checks[0].no_traffic_interval: not supported by remora-proxy");
}
