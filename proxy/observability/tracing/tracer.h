// Tracer: turns requests into spans. At request headers it reads (or starts)
// the trace context, decides sampling and gives the request its span id; at
// stream end it builds the request's span plus one CLIENT child per upstream
// try (so retries are visible) with OpenTelemetry HTTP attributes, and hands
// them to the SpanSink (the main thread's SpanExporter).
//
// Worker-local: one per worker per HTTP filter chain with tracing on, called
// by that worker's StreamObserver. The sink is shared and thread-safe.
#pragma once

#include <cstdint>
#include <vector>

#include "proxy/http/header_map.h"
#include "proxy/observability/request_record.h"
#include "proxy/observability/tracing/span.h"
#include "xds/resources/model.h"

namespace remora::tracing {

class Tracer {
 public:
  // `seed` seeds the id and sampling generator (0 is replaced by a fixed
  // value); workers pass different seeds so they never make the same ids.
  Tracer(const xds::resources::Tracing& config, observability::TrafficDirection direction, SpanSink& sink,
         uint64_t seed);

  // Extracts the caller's context (propagation.h); starts a new trace when
  // there is none; honours the caller's sampling decision, else samples at
  // config.sampling; sets record.trace.span_id, and record.details when
  // sampled (the span needs method, path, ...).
  void onRequestHeaders(const http::HeaderMap& headers, observability::RequestRecord& record);

  // A fresh non-zero span id (the router's per-try span ids).
  uint64_t newSpanId();

  // When the request was sampled: its span (SERVER inbound and unspecified,
  // CLIENT outbound) and one CLIENT span per record.attempts entry, submitted
  // to the sink together.
  void onStreamEnd(const observability::RequestRecord& record);

  // The spans onStreamEnd would submit (empty when not sampled).
  std::vector<SpanData> buildSpans(const observability::RequestRecord& record);

 private:
  uint64_t nextRandom();
  bool sampleNew();

  const double sampling_;
  const uint32_t max_path_tag_length_;
  const observability::TrafficDirection direction_;
  SpanSink& sink_;
  uint64_t state_;  // splitmix64
};

}  // namespace remora::tracing
