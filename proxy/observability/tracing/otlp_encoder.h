// OTLP/HTTP protobuf encoding: a batch of spans as the body of a POST to
// /v1/traces (opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest),
// built with our wire-compatible subset of the OpenTelemetry protos
// (proto/README.md).
//
// Pure; called by the SpanExporter on the main thread.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "proxy/observability/tracing/span.h"

namespace remora::tracing {

// One ResourceSpans (resource attribute service.name = `service_name`) with
// one ScopeSpans (scope "remora-proxy") holding every span, serialized.
std::string encodeOtlpTraces(std::span<const SpanData> spans, std::string_view service_name);

}  // namespace remora::tracing
