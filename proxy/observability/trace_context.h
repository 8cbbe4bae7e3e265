// Trace context: the ids that tie one request's spans together across
// sidecars, and their wire forms in W3C Trace Context (traceparent,
// tracestate) and B3 (one `b3` header, or X-B3-TraceId / X-B3-SpanId /
// X-B3-Sampled / X-B3-Flags). Pure functions over strings: the HTTP glue that
// reads and writes headers is proxy/observability/tracing/propagation.h.
//
// Any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace remora::observability {

// 128 bits, as W3C has them; a 64-bit B3 id has high == 0.
struct TraceId {
  uint64_t high = 0;
  uint64_t low = 0;
  bool valid() const { return high != 0 || low != 0; }
  bool operator==(const TraceId&) const = default;
};

// Which header families a context was read from (or is written in).
enum TraceFormat : uint8_t {
  kTraceFormatNone = 0,
  kTraceFormatW3c = 1,       // traceparent (+ tracestate)
  kTraceFormatB3Single = 2,  // b3: {trace}-{span}-{sampled}-{parent}
  kTraceFormatB3Multi = 4,   // x-b3-traceid, x-b3-spanid, x-b3-sampled, x-b3-flags
};

struct SpanContext {
  TraceId trace_id;
  uint64_t span_id = 0;
  bool sampled = false;
  // The caller said whether to sample (W3C flags, B3 sampled/debug); when
  // false the local sampler decides.
  bool sampling_decided = false;
  std::string tracestate;  // W3C tracestate, passed on unchanged
  bool valid() const { return trace_id.valid() && span_id != 0; }
};

// Parses one header value; nullopt when it is malformed (wrong length,
// non-hex, all-zero ids, unknown version 00 layout, bad flags).
std::optional<SpanContext> parseTraceparent(std::string_view value);
std::optional<SpanContext> parseB3Single(std::string_view value);
// X-B3-* headers: trace and span id are required; sampled ("0"/"1"/
// "true"/"false") and flags ("1" = debug, implies sampled) are optional.
std::optional<SpanContext> parseB3Multi(std::string_view trace_id, std::string_view span_id,
                                        std::optional<std::string_view> sampled,
                                        std::optional<std::string_view> flags);

std::string formatTraceparent(const SpanContext& context);  // version 00
std::string formatB3Single(const SpanContext& context);     // {trace}-{span}-{1|0}
// Lower-case hex, 32 digits for a trace id, 16 for a span id.
std::string traceIdHex(TraceId id);
std::string spanIdHex(uint64_t id);

}  // namespace remora::observability
