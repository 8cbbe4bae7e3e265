// Zipkin v2 JSON encoding: a batch of spans as the body of a POST to
// /api/v2/spans (a JSON array of Zipkin v2 Span objects: lower-hex ids,
// timestamp and duration in integer microseconds, string tags).
//
// Pure; called by the SpanExporter on the main thread.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "proxy/observability/tracing/span.h"

namespace remora::tracing {

// localEndpoint.serviceName is `service_name`; remoteEndpoint comes from the
// span's server.address/port (CLIENT) or client.address/port (SERVER) when
// present; a failed span gets the "error" tag with its status message.
std::string encodeZipkinJson(std::span<const SpanData> spans, std::string_view service_name);

}  // namespace remora::tracing
