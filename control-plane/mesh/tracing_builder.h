// MeshTracing: where every sidecar sends its spans, and the pieces of config
// that say so (issue 7: "endpoint and format set from the control plane").
// remora-cp sets it at start from --tracing-collector and --tracing-sampling
// (control-plane/main/cli_values.h parses them); MeshSnapshots takes it by
// value, so a change means a new build.
//
// Enabled, each sidecar HTTP connection manager (inbound and outbound) gets
// HttpConnectionManager.tracing with random_sampling and an
// OpenTelemetryConfig (OTLP/HTTP) or ZipkinConfig (v2 JSON) provider naming
// the cluster "remora-tracing-collector", and every proxy gets that cluster
// (STATIC, the collector's IP and port). Disabled (the default), nothing of
// it is emitted and the mesh's config is byte-identical to before.
//
// The API listeners are left alone: gRPC's proxyless clients do not export
// spans from xDS config.
//
// Internal to control-plane/mesh, except MeshTracing itself. Pure; any thread.
#pragma once

#include <google/protobuf/any.pb.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.pb.h"

namespace remora::cp::mesh {

inline constexpr std::string_view kTracingCollectorCluster = "remora-tracing-collector";
inline constexpr std::string_view kOtlpDefaultPath = "/v1/traces";
inline constexpr std::string_view kZipkinDefaultPath = "/api/v2/spans";

struct MeshTracing {
  enum class Format { kOtlp, kZipkin };
  bool enabled = false;
  Format format = Format::kOtlp;
  std::string host;  // the collector's IP literal (no brackets)
  uint32_t port = 0;
  std::string path;  // the request path, e.g. "/v1/traces"
  // The share of requests traced when the caller did not decide, 0..100
  // (Envoy's default for random_sampling is 100).
  double sampling_percent = 100.0;
  bool operator==(const MeshTracing&) const = default;
};

// "10.0.0.9:4318", "[fd00::9]:4318": the collector as an HTTP authority.
std::string tracingAuthority(const MeshTracing& tracing);

// Sets manager.tracing when `tracing` is enabled. `service` (the sidecar's
// REMORA_SERVICE) becomes the OTLP resource's service.name; empty (a
// client-only proxy) leaves it to the proxy, which uses its node's cluster.
// Zipkin has no such field: remora-proxy always names its spans' service
// after the node's cluster.
void addTracing(const MeshTracing& tracing, std::string_view service,
                envoy::extensions::filters::network::http_connection_manager::v3::HttpConnectionManager& manager);

// Appends the STATIC "remora-tracing-collector" cluster when enabled.
void addTracingCollectorCluster(const MeshTracing& tracing, std::vector<google::protobuf::Any>& clusters);

// Whether `service` shows in the sidecar's listeners (OTLP's service_name):
// listeners that are otherwise shared must then be built per service.
inline bool tracingNamesService(const MeshTracing& tracing) {
  return tracing.enabled && tracing.format == MeshTracing::Format::kOtlp;
}

}  // namespace remora::cp::mesh
