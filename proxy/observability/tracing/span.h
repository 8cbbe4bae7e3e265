// SpanData: one finished span, in the shape every export format needs
// (OTLP protobuf, Zipkin JSON); SpanSink: where a Tracer hands a request's
// spans at stream end.
//
// SpanData is a plain value built on a worker and moved to the main thread.
// SpanSink implementations must be thread-safe: every worker's Tracer calls
// submit() on its own thread (the SpanExporter queues under a mutex).
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "proxy/observability/trace_context.h"

namespace remora::tracing {

// OTLP's numbering (opentelemetry.proto.trace.v1.Span.SpanKind), so the
// encoder casts instead of mapping.
enum class SpanKind : int { kInternal = 1, kServer = 2, kClient = 3 };

struct SpanAttribute {
  std::string key;
  std::variant<std::string, int64_t, bool, double> value;
};

struct SpanData {
  observability::TraceId trace_id;
  uint64_t span_id = 0;
  uint64_t parent_span_id = 0;  // 0 for a root span
  std::string name;
  SpanKind kind = SpanKind::kInternal;
  int64_t start_unix_ns = 0;
  int64_t end_unix_ns = 0;
  bool error = false;
  std::string status_message;  // why it failed, "" unless error
  std::vector<SpanAttribute> attributes;
};

class SpanSink {
 public:
  virtual ~SpanSink() = default;
  // Takes one request's spans. Any thread; must not block on I/O.
  virtual void submit(std::vector<SpanData> spans) = 0;
};

}  // namespace remora::tracing
