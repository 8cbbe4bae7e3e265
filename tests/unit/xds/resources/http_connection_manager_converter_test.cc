#include "xds/resources/http_connection_manager_converter.h"

#include <catch2/catch.hpp>

#include "tests/unit/xds/resources/proto_json.h"

using namespace remora::xds::resources;
using remora::base::Error;
using testing::protoFromJson;
using HcmProto = envoy::extensions::filters::network::http_connection_manager::v3::HttpConnectionManager;

namespace {

constexpr const char* kRouter =
    R"({"name": "envoy.filters.http.router", "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}})";

std::string hcm(const std::string& extra, const std::string& filters = std::string("[") + kRouter + "]") {
  return R"({"stat_prefix": "s", "route_config": {"virtual_hosts": []}, "http_filters": )" + filters +
         (extra.empty() ? "" : ", " + extra) + "}";
}

}  // namespace

TEST_CASE("a minimal connection manager gets the model's safe defaults", "[xds][resources][hcm]") {
  auto manager = toHttpConnectionManager(protoFromJson<HcmProto>(hcm("")), "tc");
  REQUIRE(manager);
  const HttpConnectionManager defaults;
  CHECK(manager->stat_prefix == "s");
  CHECK(manager->request_headers_timeout == defaults.request_headers_timeout);
  CHECK(manager->stream_idle_timeout == defaults.stream_idle_timeout);
  CHECK(manager->idle_timeout == defaults.idle_timeout);
  CHECK(manager->max_request_headers_kb == 60);
  CHECK(manager->route_config);
}

TEST_CASE("connection manager limits and timeouts convert", "[xds][resources][hcm]") {
  auto manager = toHttpConnectionManager(
      protoFromJson<HcmProto>(hcm(R"("codec_type": "HTTP2", "max_request_headers_kb": 96, "request_timeout": "20s",
          "drain_timeout": "1s", "http2_protocol_options": {"initial_stream_window_size": 65535,
          "initial_connection_window_size": 1048576}, "upgrade_configs": [{"upgrade_type": "CONNECT"}])")),
      "tc");
  REQUIRE(manager);
  CHECK(manager->codec_type == HttpConnectionManager::CodecType::kHttp2);
  CHECK(manager->max_request_headers_kb == 96);
  CHECK(manager->request_timeout == Millis(20000));
  CHECK(manager->drain_timeout == Millis(1000));
  CHECK(manager->initial_stream_window_size == 65535);
  CHECK(manager->connect_upgrade);
  CHECK_FALSE(manager->websocket_upgrade);
}

TEST_CASE("HTTP/2 settings outside their RFC ranges are rejected", "[xds][resources][hcm]") {
  auto manager = toHttpConnectionManager(
      protoFromJson<HcmProto>(hcm(R"("http2_protocol_options": {"initial_stream_window_size": 100})")), "tc");
  REQUIRE_FALSE(manager);
  CHECK(manager.error().message ==
        "tc.http2_protocol_options.initial_stream_window_size: 100 is out of range 65535..2147483647");
}

TEST_CASE("the router must be the last HTTP filter", "[xds][resources][hcm]") {
  auto missing = toHttpConnectionManager(protoFromJson<HcmProto>(hcm("", "[]")), "tc");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().message == "tc.http_filters: must end with the envoy.filters.http.router filter");
  auto twice =
      toHttpConnectionManager(protoFromJson<HcmProto>(hcm("", std::string("[") + kRouter + "," + kRouter + "]")), "tc");
  REQUIRE_FALSE(twice);
  CHECK(twice.error().message == "tc.http_filters[0]: envoy.filters.http.router must be the last HTTP filter");
  auto by_name =
      toHttpConnectionManager(protoFromJson<HcmProto>(hcm("", R"([{"name": "envoy.filters.http.router"}])")), "tc");
  CHECK(by_name);
  auto other =
      toHttpConnectionManager(protoFromJson<HcmProto>(hcm("", R"([{"name": "envoy.filters.http.cors"}])")), "tc");
  REQUIRE_FALSE(other);
  CHECK(other.error().code == Error::kUnsupported);
  CHECK(other.error().message ==
        "tc.http_filters[0].name: not supported by remora-proxy (HTTP filter \"envoy.filters.http.cors\")");
}

TEST_CASE("routes come inline or by RDS over ADS", "[xds][resources][hcm]") {
  auto rds = toHttpConnectionManager(
      protoFromJson<HcmProto>(R"({"stat_prefix": "s", "rds": {"route_config_name": "r1", "config_source": {"ads": {}}},
          "http_filters": [{"name": "envoy.filters.http.router"}]})"),
      "tc");
  REQUIRE(rds);
  CHECK(rds->rds_route_config_name == "r1");
  CHECK_FALSE(rds->route_config);
  auto rest = toHttpConnectionManager(
      protoFromJson<HcmProto>(R"({"stat_prefix": "s", "rds": {"route_config_name": "r1", "config_source":
          {"api_config_source": {"api_type": "REST"}}}, "http_filters": [{"name": "envoy.filters.http.router"}]})"),
      "tc");
  REQUIRE_FALSE(rest);
  CHECK(rest.error().message == "tc.rds.config_source.api_config_source: not supported by remora-proxy");
  auto none = toHttpConnectionManager(
      protoFromJson<HcmProto>(R"({"stat_prefix": "s", "http_filters": [{"name": "envoy.filters.http.router"}]})"),
      "tc");
  REQUIRE_FALSE(none);
  CHECK(none.error().message == "tc: one of route_config or rds is required");
}

TEST_CASE("connection manager options Remora does not implement are refused", "[xds][resources][hcm]") {
  auto manager = toHttpConnectionManager(protoFromJson<HcmProto>(hcm(R"("use_remote_address": true)")), "tc");
  REQUIRE_FALSE(manager);
  CHECK(manager.error().code == Error::kUnsupported);
  CHECK(manager.error().message == "tc.use_remote_address: not supported by remora-proxy");
  auto h1 = toHttpConnectionManager(
      protoFromJson<HcmProto>(hcm(R"("http_protocol_options": {"accept_http_10": true})")), "tc");
  REQUIRE_FALSE(h1);
  CHECK(h1.error().message == "tc.http_protocol_options.accept_http_10: not supported by remora-proxy");
}

TEST_CASE("HTTP RBAC filters before the router become the manager's rbac chain", "[xds][resources][hcm]") {
  const std::string deny = R"({"name": "envoy.filters.http.rbac", "typed_config": {
      "@type": "type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC",
      "rules": {"action": "DENY", "policies": {"no-admin": {"permissions": [{"url_path": {"path": {"prefix": "/admin"}}}],
        "principals": [{"any": true}]}}}}})";
  const std::string allow = R"({"name": "envoy.filters.http.rbac", "typed_config": {
      "@type": "type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC", "rules_stat_prefix": "allow.",
      "rules": {"policies": {"callers": {"permissions": [{"any": true}],
        "principals": [{"authenticated": {"principal_name": {"prefix": "spiffe://cluster.local/ns/shop/"}}}]}}}}})";
  const std::string no_rules = R"({"name": "envoy.filters.http.rbac", "typed_config": {
      "@type": "type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC"}})";
  auto manager = toHttpConnectionManager(
      protoFromJson<HcmProto>(hcm("", "[" + deny + "," + allow + "," + no_rules + "," + kRouter + "]")), "tc");
  REQUIRE(manager);
  // A filter without rules enforces nothing (as in Envoy) and is left out.
  REQUIRE(manager->rbac.size() == 2);
  CHECK(manager->rbac[0].action == Rbac::Action::kDeny);
  CHECK(manager->rbac[0].policies[0].name == "no-admin");
  CHECK(manager->rbac[1].action == Rbac::Action::kAllow);
  CHECK(manager->rbac[1].stat_prefix == "allow.");

  auto after = toHttpConnectionManager(protoFromJson<HcmProto>(hcm("", std::string("[") + kRouter + "," + deny + "]")), "tc");
  REQUIRE_FALSE(after);
  CHECK(after.error().message == "tc.http_filters[0]: envoy.filters.http.router must be the last HTTP filter");

  auto shadow = toHttpConnectionManager(protoFromJson<HcmProto>(hcm("", R"([{"name": "envoy.filters.http.rbac",
      "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC",
      "shadow_rules": {}}},)" + std::string(kRouter) + "]")), "tc");
  REQUIRE_FALSE(shadow);
  CHECK(shadow.error().code == Error::kUnsupported);
  CHECK(shadow.error().message == "tc.http_filters[0].typed_config.shadow_rules: not supported by remora-proxy");
}

TEST_CASE("the peer identity reaches the app only with SANITIZE_SET and uri", "[xds][resources][hcm]") {
  auto plain = toHttpConnectionManager(protoFromJson<HcmProto>(hcm("")), "tc");
  REQUIRE(plain);
  CHECK_FALSE(plain->forward_client_identity);
  auto set = toHttpConnectionManager(protoFromJson<HcmProto>(hcm(
      R"("forward_client_cert_details": "SANITIZE_SET", "set_current_client_cert_details": {"uri": true})")), "tc");
  REQUIRE(set);
  CHECK(set->forward_client_identity);

  auto forward = toHttpConnectionManager(protoFromJson<HcmProto>(hcm(R"("forward_client_cert_details": "APPEND_FORWARD")")), "tc");
  REQUIRE_FALSE(forward);
  CHECK(forward.error().message ==
        "tc.forward_client_cert_details: not supported by remora-proxy (APPEND_FORWARD; supported: SANITIZE, "
        "SANITIZE_SET)");
  auto subject = toHttpConnectionManager(protoFromJson<HcmProto>(hcm(
      R"("forward_client_cert_details": "SANITIZE_SET", "set_current_client_cert_details": {"uri": true, "cert": true})")), "tc");
  REQUIRE_FALSE(subject);
  CHECK(subject.error().message == "tc.set_current_client_cert_details.cert: not supported by remora-proxy");
  auto no_uri = toHttpConnectionManager(protoFromJson<HcmProto>(hcm(R"("forward_client_cert_details": "SANITIZE_SET")")), "tc");
  REQUIRE_FALSE(no_uri);
  CHECK(no_uri.error().message == "tc.set_current_client_cert_details.uri: must be true with SANITIZE_SET");
}

TEST_CASE("tracing and access logs convert into the connection manager", "[xds][resources][hcm]") {
  auto manager = toHttpConnectionManager(protoFromJson<HcmProto>(hcm(R"(
      "tracing": {"random_sampling": {"value": 50}, "provider": {"name": "envoy.tracers.zipkin", "typed_config": {
          "@type": "type.googleapis.com/envoy.config.trace.v3.ZipkinConfig", "collector_cluster": "zipkin"}}},
      "access_log": [
        {"name": "envoy.access_loggers.stdout", "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog"}},
        {"name": "envoy.access_loggers.file", "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog",
            "path": "/tmp/access.json", "log_format": {"json_format": {}}}}])")),
                                         "tc");
  REQUIRE(manager);
  REQUIRE(manager->tracing);
  CHECK(manager->tracing->sampling == Approx(0.5));
  CHECK(manager->tracing->provider.cluster == "zipkin");
  REQUIRE(manager->access_logs.size() == 2);
  CHECK(manager->access_logs[0] == AccessLog{AccessLog::Format::kText, "/dev/stdout"});
  CHECK(manager->access_logs[1] == AccessLog{AccessLog::Format::kJson, "/tmp/access.json"});
}

TEST_CASE("without tracing or access_log the connection manager neither traces nor logs", "[xds][resources][hcm]") {
  auto manager = toHttpConnectionManager(protoFromJson<HcmProto>(hcm("")), "tc");
  REQUIRE(manager);
  CHECK_FALSE(manager->tracing);
  CHECK(manager->access_logs.empty());
}

TEST_CASE("tracing and access log errors carry the connection manager's path", "[xds][resources][hcm]") {
  auto tracing = toHttpConnectionManager(protoFromJson<HcmProto>(hcm(R"("tracing": {})")), "tc");
  REQUIRE_FALSE(tracing);
  CHECK(tracing.error().message == "tc.tracing.provider: is required: remora-proxy exports spans itself");
  auto log = toHttpConnectionManager(
      protoFromJson<HcmProto>(hcm(R"("access_log": [{"name": "x", "typed_config": {
          "@type": "type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog"}},
          {"name": "y", "typed_config": {
          "@type": "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog"}}])")),
      "tc");
  REQUIRE_FALSE(log);
  CHECK(log.error().message == "tc.access_log[1].typed_config.path: is required");
}
