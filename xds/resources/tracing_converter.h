// HttpConnectionManager.tracing -> the model's Tracing: the sampling rate and
// the collector (OTLP/HTTP through OpenTelemetryConfig.http_service, or Zipkin
// v2 JSON through ZipkinConfig). Called by the connection manager converter;
// pure, any thread.
#pragma once

#include <string_view>

#include "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.pb.h"
#include "xds/base/status.h"
#include "xds/resources/model.h"

namespace remora::xds::resources {

// `path` names the tracing block. A provider is required (remora-proxy
// exports spans itself, so there is no tracer to fall back on); the
// collector's cluster is required too, but whether it exists is checked with
// the other cluster references (bootstrap_converter's checkClusterReferences).
base::Result<Tracing> toTracing(
    const envoy::extensions::filters::network::http_connection_manager::v3::HttpConnectionManager::Tracing& proto,
    std::string_view path);

// The path and authority of an http_uri's `uri` ("http://otel:4318/v1/traces"
// -> "/v1/traces", "otel:4318"). An empty uri gives {"", ""}; a uri without a
// path gives an empty path (the caller's default applies).
struct UriParts {
  std::string authority;
  std::string path;
};
base::Result<UriParts> splitHttpUri(std::string_view uri, std::string_view path);

}  // namespace remora::xds::resources
