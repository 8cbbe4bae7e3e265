#include "xds/resources/tracing_converter.h"

#include <string>

#include "envoy/config/trace/v3/opentelemetry.pb.h"
#include "envoy/config/trace/v3/zipkin.pb.h"
#include "xds/resources/common_converters.h"

namespace remora::xds::resources {

namespace hcm = envoy::extensions::filters::network::http_connection_manager::v3;
namespace trace = envoy::config::trace::v3;
namespace core = envoy::config::core::v3;
using base::Result;
using base::Status;

namespace {

constexpr std::string_view kOtlpDefaultPath = "/v1/traces";
constexpr std::string_view kZipkinDefaultPath = "/api/v2/spans";

// client_sampling and overall_sampling only narrow what random_sampling and
// the caller's decision allow; remora-proxy has one rate, so it accepts them
// at 100 % (Envoy's default, which many examples spell out) and refuses the rest.
Status acceptOnlyFullPercent(bool has, const envoy::type::v3::Percent& percent, std::string_view path) {
  if (!has) return Status::ok();
  Result<double> value = toPercent(percent.value(), fieldPath(path, "value"));
  if (!value) return value.status();
  if (*value != 100.0) return unsupportedField(path, "only 100; random_sampling sets the sampling rate");
  return Status::ok();
}

Status toOtlpProvider(const google::protobuf::Any& any, std::string_view path, TracingProvider& out) {
  trace::OpenTelemetryConfig config;
  if (!any.UnpackTo(&config)) {
    return invalidField(path, "cannot be decoded as " + trace::OpenTelemetryConfig::descriptor()->full_name());
  }
  if (config.has_grpc_service()) {
    return unsupportedField(fieldPath(path, "grpc_service"),
                            "remora-proxy exports OTLP over HTTP: use http_service with the collector's "
                            "cluster and uri (port 4318, /v1/traces)");
  }
  if (Status s = onlySupportedFields(config, path, {"http_service", "service_name"}); !s) return s;
  const std::string service_path = fieldPath(path, "http_service");
  if (!config.has_http_service()) return invalidField(service_path, "is required");
  if (Status s = onlySupportedFields(config.http_service(), service_path, {"http_uri"}); !s) return s;
  const std::string uri_path = fieldPath(service_path, "http_uri");
  const core::HttpUri& uri = config.http_service().http_uri();
  if (Status s = onlySupportedFields(uri, uri_path, {"uri", "cluster", "timeout"}); !s) return s;
  if (uri.cluster().empty()) return invalidField(fieldPath(uri_path, "cluster"), "is required");
  Result<UriParts> parts = splitHttpUri(uri.uri(), fieldPath(uri_path, "uri"));
  if (!parts) return parts.status();
  out.format = TracingProvider::Format::kOtlpHttp;
  out.cluster = uri.cluster();
  out.path = parts->path.empty() ? std::string(kOtlpDefaultPath) : std::move(parts->path);
  out.authority = std::move(parts->authority);
  out.service_name = config.service_name();
  if (uri.has_timeout()) {
    Result<Millis> timeout = toPositiveMillis(uri.timeout(), fieldPath(uri_path, "timeout"));
    if (!timeout) return timeout.status();
    out.timeout = *timeout;
  }
  return Status::ok();
}

Status toZipkinProvider(const google::protobuf::Any& any, std::string_view path, TracingProvider& out) {
  trace::ZipkinConfig config;
  if (!any.UnpackTo(&config)) {
    return invalidField(path, "cannot be decoded as " + trace::ZipkinConfig::descriptor()->full_name());
  }
  // trace_id_128bit is accepted because remora-proxy always makes 128-bit
  // trace ids (W3C's size), which is what `true` asks for.
  if (Status s = onlySupportedFields(config, path,
                                     {"collector_cluster", "collector_endpoint", "collector_endpoint_version",
                                      "collector_hostname", "trace_id_128bit", "shared_span_context"});
      !s) {
    return s;
  }
  // Each sidecar makes its own span (server span inbound, client span
  // outbound), so the two sides never share one span id.
  if (config.has_shared_span_context() && config.shared_span_context().value()) {
    return unsupportedField(fieldPath(path, "shared_span_context"),
                            "true; remora-proxy gives client and server spans their own ids (set false or omit)");
  }
  switch (config.collector_endpoint_version()) {
    // Envoy reads the unset value as HTTP_JSON too.
    case trace::ZipkinConfig::DEPRECATED_AND_UNAVAILABLE_DO_NOT_USE:
    case trace::ZipkinConfig::HTTP_JSON: break;
    default:
      return unsupportedField(
          fieldPath(path, "collector_endpoint_version"),
          trace::ZipkinConfig::CollectorEndpointVersion_Name(config.collector_endpoint_version()) +
              "; supported: HTTP_JSON");
  }
  if (config.collector_cluster().empty()) return invalidField(fieldPath(path, "collector_cluster"), "is required");
  const std::string& endpoint = config.collector_endpoint();
  if (!endpoint.empty() && endpoint.front() != '/') {
    return invalidField(fieldPath(path, "collector_endpoint"), quoted(endpoint) + " must start with '/'");
  }
  out.format = TracingProvider::Format::kZipkinJson;
  out.cluster = config.collector_cluster();
  out.path = endpoint.empty() ? std::string(kZipkinDefaultPath) : endpoint;
  out.authority = config.collector_hostname();
  return Status::ok();
}

Status toProvider(const hcm::HttpConnectionManager::Tracing& proto, std::string_view path, TracingProvider& out) {
  const std::string provider_path = fieldPath(path, "provider");
  if (!proto.has_provider()) {
    return invalidField(provider_path, "is required: remora-proxy exports spans itself");
  }
  const trace::Tracing::Http& provider = proto.provider();
  if (Status s = onlySupportedFields(provider, provider_path, {"name", "typed_config"}); !s) return s;
  const std::string config_path = fieldPath(provider_path, "typed_config");
  if (!provider.has_typed_config()) {
    return invalidField(config_path, "is required (an OpenTelemetryConfig or a ZipkinConfig)");
  }
  const std::string_view type = anyTypeName(provider.typed_config().type_url());
  const std::string otlp_type = trace::OpenTelemetryConfig::descriptor()->full_name();
  const std::string zipkin_type = trace::ZipkinConfig::descriptor()->full_name();
  if (type == otlp_type) return toOtlpProvider(provider.typed_config(), config_path, out);
  if (type == zipkin_type) return toZipkinProvider(provider.typed_config(), config_path, out);
  return unsupportedField(config_path, "tracer @type " + std::string(provider.typed_config().type_url()) +
                                           "; supported: " + otlp_type + ", " + zipkin_type);
}

}  // namespace

Result<UriParts> splitHttpUri(std::string_view uri, std::string_view path) {
  UriParts out;
  if (uri.empty()) return out;
  std::string_view rest = uri;
  if (rest.starts_with("http://")) {
    rest.remove_prefix(7);
  } else if (rest.starts_with("https://")) {
    rest.remove_prefix(8);
  } else {
    return invalidField(path, quoted(uri) + " must start with http:// or https://");
  }
  const size_t slash = rest.find('/');
  out.authority = std::string(rest.substr(0, slash));
  if (slash != std::string_view::npos) out.path = std::string(rest.substr(slash));
  for (char c : uri) {
    // The path and authority go into request headers as they are.
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) {
      return invalidField(path, quoted(uri) + " holds a space or control character");
    }
  }
  if (out.authority.find('@') != std::string::npos) {
    return invalidField(path, quoted(uri) + " must not carry user information");
  }
  return out;
}

Result<Tracing> toTracing(const hcm::HttpConnectionManager::Tracing& proto, std::string_view path) {
  if (Status s = onlySupportedFields(proto, path,
                                     {"client_sampling", "random_sampling", "overall_sampling",
                                      "max_path_tag_length", "provider", "spawn_upstream_span"});
      !s) {
    return s.error();
  }
  Tracing out;
  if (proto.has_random_sampling()) {
    Result<double> percent = toPercent(proto.random_sampling().value(), fieldPath(path, "random_sampling.value"));
    if (!percent) return percent.error();
    out.sampling = *percent / 100.0;
  }
  if (Status s = acceptOnlyFullPercent(proto.has_client_sampling(), proto.client_sampling(),
                                       fieldPath(path, "client_sampling"));
      !s) {
    return s.error();
  }
  if (Status s = acceptOnlyFullPercent(proto.has_overall_sampling(), proto.overall_sampling(),
                                       fieldPath(path, "overall_sampling"));
      !s) {
    return s.error();
  }
  // remora-proxy always makes a child span per upstream try (so retries
  // show), which is what spawn_upstream_span: true asks for.
  if (proto.has_spawn_upstream_span() && !proto.spawn_upstream_span().value()) {
    return unsupportedField(fieldPath(path, "spawn_upstream_span"),
                            "false; remora-proxy always makes a span per upstream try");
  }
  if (proto.has_max_path_tag_length()) {
    const uint32_t length = proto.max_path_tag_length().value();
    if (length == 0) return invalidField(fieldPath(path, "max_path_tag_length"), "must be more than 0");
    out.max_path_tag_length = length;
  }
  if (Status s = toProvider(proto, path, out.provider); !s) return s.error();
  return out;
}

}  // namespace remora::xds::resources
