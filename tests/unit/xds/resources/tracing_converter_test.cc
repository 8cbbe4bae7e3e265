#include "xds/resources/tracing_converter.h"

#include <catch2/catch.hpp>

#include "tests/unit/xds/resources/proto_json.h"

using namespace remora::xds::resources;
using remora::base::Error;
using testing::protoFromJson;
using TracingProto =
    envoy::extensions::filters::network::http_connection_manager::v3::HttpConnectionManager::Tracing;

namespace {

std::string otlp(const std::string& body) {
  return R"({"name": "envoy.tracers.opentelemetry", "typed_config": {
      "@type": "type.googleapis.com/envoy.config.trace.v3.OpenTelemetryConfig", )" +
         body + "}}";
}

std::string zipkin(const std::string& body) {
  return R"({"name": "envoy.tracers.zipkin", "typed_config": {
      "@type": "type.googleapis.com/envoy.config.trace.v3.ZipkinConfig", )" +
         body + "}}";
}

const std::string kOtlpCollector =
    otlp(R"("service_name": "shop", "http_service": {"http_uri": {"uri": "http://otel.local:4318/custom/traces",
        "cluster": "otel", "timeout": "2s"}})");

remora::base::Result<Tracing> convert(const std::string& json) {
  return toTracing(protoFromJson<TracingProto>(json), "t");
}

std::string errorOf(const std::string& json) {
  auto tracing = convert(json);
  REQUIRE_FALSE(tracing);
  return tracing.error().message;
}

}  // namespace

TEST_CASE("an OTLP/HTTP provider names its cluster, path, authority and service", "[xds][resources][tracing]") {
  auto tracing = convert(R"({"random_sampling": {"value": 25}, "max_path_tag_length": 64, "provider": )" +
                         kOtlpCollector + "}");
  REQUIRE(tracing);
  CHECK(tracing->sampling == Approx(0.25));
  CHECK(tracing->max_path_tag_length == 64);
  const TracingProvider& provider = tracing->provider;
  CHECK(provider.format == TracingProvider::Format::kOtlpHttp);
  CHECK(provider.cluster == "otel");
  CHECK(provider.path == "/custom/traces");
  CHECK(provider.authority == "otel.local:4318");
  CHECK(provider.service_name == "shop");
  CHECK(provider.timeout == Millis(2000));
}

TEST_CASE("tracing defaults: every request sampled, OTLP path /v1/traces", "[xds][resources][tracing]") {
  auto tracing = convert(R"({"provider": )" + otlp(R"("http_service": {"http_uri": {"cluster": "otel"}})") + "}");
  REQUIRE(tracing);
  CHECK(tracing->sampling == 1.0);
  CHECK(tracing->max_path_tag_length == 256);
  CHECK(tracing->provider.path == "/v1/traces");
  CHECK(tracing->provider.authority.empty());
  CHECK(tracing->provider.timeout == TracingProvider{}.timeout);
  auto no_path = convert(R"({"provider": )" +
                         otlp(R"("http_service": {"http_uri": {"cluster": "otel", "uri": "https://otel"}})") + "}");
  REQUIRE(no_path);
  CHECK(no_path->provider.path == "/v1/traces");
  CHECK(no_path->provider.authority == "otel");
}

TEST_CASE("a Zipkin provider needs a cluster and speaks HTTP JSON only", "[xds][resources][tracing]") {
  auto tracing = convert(R"({"random_sampling": {"value": 0}, "provider": )" +
                         zipkin(R"("collector_cluster": "zipkin", "collector_endpoint_version": "HTTP_JSON",
                             "collector_hostname": "zipkin.local", "trace_id_128bit": true,
                             "shared_span_context": false)") +
                         "}");
  REQUIRE(tracing);
  CHECK(tracing->sampling == 0.0);
  CHECK(tracing->provider.format == TracingProvider::Format::kZipkinJson);
  CHECK(tracing->provider.cluster == "zipkin");
  CHECK(tracing->provider.path == "/api/v2/spans");
  CHECK(tracing->provider.authority == "zipkin.local");

  CHECK(errorOf(R"({"provider": )" + zipkin(R"("collector_endpoint": "/api/v2/spans")") + "}") ==
        "t.provider.typed_config.collector_cluster: is required");
  auto proto = convert(R"({"provider": )" +
                       zipkin(R"("collector_cluster": "z", "collector_endpoint_version": "HTTP_PROTO")") + "}");
  REQUIRE_FALSE(proto);
  CHECK(proto.error().code == Error::kUnsupported);
  CHECK(proto.error().message ==
        "t.provider.typed_config.collector_endpoint_version: not supported by remora-proxy (HTTP_PROTO; "
        "supported: HTTP_JSON)");
  CHECK(errorOf(R"({"provider": )" + zipkin(R"("collector_cluster": "z", "collector_endpoint": "spans")") + "}") ==
        "t.provider.typed_config.collector_endpoint: \"spans\" must start with '/'");
  CHECK(errorOf(R"({"provider": )" + zipkin(R"("collector_cluster": "z", "shared_span_context": true)") + "}")
            .starts_with("t.provider.typed_config.shared_span_context: not supported by remora-proxy"));
}

TEST_CASE("tracing without a provider is refused", "[xds][resources][tracing]") {
  auto tracing = convert(R"({"random_sampling": {"value": 10}})");
  REQUIRE_FALSE(tracing);
  CHECK(tracing.error().code == Error::kInvalidArgument);
  CHECK(tracing.error().message == "t.provider: is required: remora-proxy exports spans itself");
  CHECK(errorOf(R"({"provider": {"name": "envoy.tracers.zipkin"}})") ==
        "t.provider.typed_config: is required (an OpenTelemetryConfig or a ZipkinConfig)");
}

TEST_CASE("sampling percentages outside 0..100 are rejected", "[xds][resources][tracing]") {
  CHECK(errorOf(R"({"random_sampling": {"value": 100.5}, "provider": )" + kOtlpCollector + "}") ==
        "t.random_sampling.value: 100.500000 is out of range 0..100");
  CHECK(errorOf(R"({"random_sampling": {"value": -1}, "provider": )" + kOtlpCollector + "}") ==
        "t.random_sampling.value: -1.000000 is out of range 0..100");
}

TEST_CASE("client and overall sampling are accepted only at 100 percent", "[xds][resources][tracing]") {
  CHECK(convert(R"({"client_sampling": {"value": 100}, "overall_sampling": {"value": 100}, "provider": )" +
                kOtlpCollector + "}"));
  auto overall = convert(R"({"overall_sampling": {"value": 1}, "provider": )" + kOtlpCollector + "}");
  REQUIRE_FALSE(overall);
  CHECK(overall.error().code == Error::kUnsupported);
  CHECK(overall.error().message ==
        "t.overall_sampling: not supported by remora-proxy (only 100; random_sampling sets the sampling rate)");
  CHECK(errorOf(R"({"client_sampling": {"value": 50}, "provider": )" + kOtlpCollector + "}")
            .starts_with("t.client_sampling: not supported"));
}

TEST_CASE("OTLP over gRPC is refused with a pointer to http_service", "[xds][resources][tracing]") {
  auto grpc =
      convert(R"({"provider": )" + otlp(R"("grpc_service": {"envoy_grpc": {"cluster_name": "otel"}})") + "}");
  REQUIRE_FALSE(grpc);
  CHECK(grpc.error().code == Error::kUnsupported);
  CHECK(grpc.error().message.starts_with(
      "t.provider.typed_config.grpc_service: not supported by remora-proxy (remora-proxy exports OTLP over HTTP: "
      "use http_service"));
}

TEST_CASE("malformed OTLP collector settings name their field", "[xds][resources][tracing]") {
  CHECK(errorOf(R"({"provider": )" + otlp(R"("service_name": "s")") + "}") ==
        "t.provider.typed_config.http_service: is required");
  CHECK(errorOf(R"({"provider": )" + otlp(R"("http_service": {"http_uri": {"uri": "http://otel/v1/traces"}})") +
                "}") == "t.provider.typed_config.http_service.http_uri.cluster: is required");
  CHECK(errorOf(R"({"provider": )" +
                otlp(R"("http_service": {"http_uri": {"cluster": "otel", "uri": "ftp://otel/x"}})") + "}") ==
        "t.provider.typed_config.http_service.http_uri.uri: \"ftp://otel/x\" must start with http:// or https://");
  CHECK(errorOf(R"({"provider": )" +
                otlp(R"("http_service": {"http_uri": {"cluster": "otel", "uri": "http://otel/a b"}})") + "}") ==
        "t.provider.typed_config.http_service.http_uri.uri: \"http://otel/a b\" holds a space or control character");
  CHECK(errorOf(R"({"provider": )" +
                otlp(R"("http_service": {"http_uri": {"cluster": "otel", "timeout": "0s"}})") + "}")
            .starts_with("t.provider.typed_config.http_service.http_uri.timeout: "));
  auto headers = convert(R"({"provider": )" + otlp(R"("http_service": {"http_uri": {"cluster": "otel"},
      "request_headers_to_add": [{"header": {"key": "x-api-key", "value": "k"}}]})") + "}");
  REQUIRE_FALSE(headers);
  CHECK(headers.error().code == Error::kUnsupported);
  CHECK(headers.error().message.starts_with("t.provider.typed_config.http_service.request_headers_to_add"));
}

TEST_CASE("tracing fields remora-proxy does not implement are refused", "[xds][resources][tracing]") {
  auto verbose = convert(R"({"verbose": true, "provider": )" + kOtlpCollector + "}");
  REQUIRE_FALSE(verbose);
  CHECK(verbose.error().code == Error::kUnsupported);
  CHECK(verbose.error().message == "t.verbose: not supported by remora-proxy");
  CHECK(convert(R"({"spawn_upstream_span": true, "provider": )" + kOtlpCollector + "}"));
  CHECK(errorOf(R"({"spawn_upstream_span": false, "provider": )" + kOtlpCollector + "}")
            .starts_with("t.spawn_upstream_span: not supported"));
  CHECK(errorOf(R"({"max_path_tag_length": 0, "provider": )" + kOtlpCollector + "}") ==
        "t.max_path_tag_length: must be more than 0");
  auto other = convert(R"({"provider": {"name": "x", "typed_config": {
      "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}}})");
  REQUIRE_FALSE(other);
  CHECK(other.error().code == Error::kUnsupported);
  CHECK(other.error().message.starts_with(
      "t.provider.typed_config: not supported by remora-proxy (tracer @type "
      "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router; supported: "
      "envoy.config.trace.v3.OpenTelemetryConfig, envoy.config.trace.v3.ZipkinConfig)"));
}

TEST_CASE("an http_uri splits into authority and path", "[xds][resources][tracing]") {
  auto parts = splitHttpUri("http://collector:4318/v1/traces?x=1", "u");
  REQUIRE(parts);
  CHECK(parts->authority == "collector:4318");
  CHECK(parts->path == "/v1/traces?x=1");
  auto bare = splitHttpUri("http://[::1]:4318", "u");
  REQUIRE(bare);
  CHECK(bare->authority == "[::1]:4318");
  CHECK(bare->path.empty());
  CHECK_FALSE(splitHttpUri("http://user@collector/", "u"));
  CHECK_FALSE(splitHttpUri("collector:4318/v1/traces", "u"));
}
