// Parsing and checking remora-cp's flag values: durations ("10s", "250ms"),
// "host:port" addresses, the API token file, the rule that an API
// reachable from other hosts must be secured, and the tracing collector.
// Pure; main thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "control-plane/mesh/tracing_builder.h"
#include "xds/base/status.h"

namespace remora::cp {

// "250ms", "10s", "2m", "1h"; a whole number and a unit. Negative or
// unit-less values fail with kInvalidArgument.
base::Result<std::chrono::milliseconds> parseDuration(std::string_view text);

// "127.0.0.1:15080" -> {"127.0.0.1", 15080}; "[::1]:15080" -> {"::1", 15080}.
// The host must be an IP literal, the port 0..65535.
base::Result<std::pair<std::string, uint16_t>> splitHostPort(std::string_view address);

// --etcd-endpoints: "host:port" entries separated by commas, each with an
// optional "http://" or "https://" (dropped: --etcd-ca-file decides TLS).
// Hosts may be names (etcd members usually are). Fails naming the entry.
base::Result<std::vector<std::string>> parseEtcdEndpoints(std::string_view text);

// The file's first line, trimmed; fails when unreadable or empty.
base::Result<std::string> readToken(const std::string& path);

// An API on a non-loopback address needs both a token and TLS: the API
// changes what every proxy in the mesh does.
base::Status checkApiExposure(std::string_view api_address, bool has_token, bool has_tls);

// --tracing-collector: "otlp://IP:PORT[/path]" (OTLP/HTTP protobuf, path
// /v1/traces by default) or "zipkin://IP:PORT[/path]" (Zipkin v2 JSON,
// /api/v2/spans). The host is an IP literal ("[::1]" for IPv6): sidecars
// reach it through a STATIC cluster, which resolves no names. Port 1..65535.
// The result is enabled, with the default sampling (100 %).
base::Result<mesh::MeshTracing> parseTracingCollector(std::string_view url);

// --tracing-sampling: a percentage 0..100, decimals allowed ("0.5").
base::Result<double> parseSamplingPercent(std::string_view text);

}  // namespace remora::cp
