#include "proxy/observability/tracing/propagation.h"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace remora::tracing {
namespace {

using observability::RequestRecord;
using observability::SpanContext;

constexpr std::string_view kTraceparent = "traceparent";
constexpr std::string_view kTracestate = "tracestate";
constexpr std::string_view kB3 = "b3";
constexpr std::string_view kB3TraceId = "x-b3-traceid";
constexpr std::string_view kB3SpanId = "x-b3-spanid";
constexpr std::string_view kB3ParentSpanId = "x-b3-parentspanid";
constexpr std::string_view kB3Sampled = "x-b3-sampled";
constexpr std::string_view kB3Flags = "x-b3-flags";

// A tracestate longer than this is dropped rather than forwarded: W3C lets
// a proxy discard it, and a caller must not make every hop carry (and every
// span export copy) an unbounded header. 512 is what W3C asks vendors to
// propagate at least.
constexpr size_t kMaxTracestateBytes = 512;

// W3C: several tracestate fields are one list joined by commas.
std::string joinedTracestate(const http::HeaderMap& headers) {
  std::string joined;
  for (std::string_view value : headers.getAll(kTracestate)) {
    if (value.empty()) continue;
    if (!joined.empty()) joined += ',';
    joined.append(value);
  }
  if (joined.size() > kMaxTracestateBytes) joined.clear();
  return joined;
}

// One field, or nullopt when absent; `duplicated` set when it came twice
// (two contexts for one request: neither can be trusted).
std::optional<std::string_view> single(const http::HeaderMap& headers, std::string_view name, bool& duplicated) {
  std::vector<std::string_view> values = headers.getAll(name);
  if (values.empty()) return std::nullopt;
  if (values.size() > 1) duplicated = true;
  return values.front();
}

// The sampling flag of a bare `b3: 0|1|d`; nullopt for anything else.
std::optional<bool> bareB3Decision(std::string_view value) {
  if (value == "0") return false;
  if (value == "1" || value == "d") return true;
  return std::nullopt;
}

void adopt(RequestRecord& record, const SpanContext& context) {
  record.trace.trace_id = context.trace_id;
  record.trace.sampled = context.sampled;
  record.trace.sampling_decided = context.sampling_decided;
  record.parent_span_id = context.span_id;
}

std::string b3TraceIdHex(observability::TraceId id) {
  return id.high == 0 ? observability::spanIdHex(id.low) : observability::traceIdHex(id);
}

}  // namespace

void extractTraceContext(const http::HeaderMap& headers, RequestRecord& record) {
  bool found = false;
  // A decision without ids (bare b3 flags): used only when no context is found.
  std::optional<bool> decision;

  bool duplicated = false;
  if (auto value = single(headers, kTraceparent, duplicated)) {
    std::optional<SpanContext> context = duplicated ? std::nullopt : observability::parseTraceparent(*value);
    if (context) {
      adopt(record, *context);
      record.trace.tracestate = joinedTracestate(headers);
      record.incoming_formats |= observability::kTraceFormatW3c;
      found = true;
    } else {
      // W3C: an unreadable traceparent takes its tracestate with it.
      record.malformed_trace = true;
    }
  }

  duplicated = false;
  if (auto value = single(headers, kB3, duplicated)) {
    std::optional<SpanContext> context = duplicated ? std::nullopt : observability::parseB3Single(*value);
    if (context) {
      if (!found) adopt(record, *context);
      record.incoming_formats |= observability::kTraceFormatB3Single;
      found = true;
    } else if (auto bare = duplicated ? std::nullopt : bareB3Decision(*value)) {
      decision = *bare;
      record.incoming_formats |= observability::kTraceFormatB3Single;
    } else {
      record.malformed_trace = true;
    }
  }

  duplicated = false;
  auto trace_id = single(headers, kB3TraceId, duplicated);
  auto span_id = single(headers, kB3SpanId, duplicated);
  auto sampled = single(headers, kB3Sampled, duplicated);
  auto flags = single(headers, kB3Flags, duplicated);
  if (trace_id || span_id) {
    std::optional<SpanContext> context;
    if (trace_id && span_id && !duplicated) context = observability::parseB3Multi(*trace_id, *span_id, sampled, flags);
    if (context) {
      if (!found) adopt(record, *context);
      record.incoming_formats |= observability::kTraceFormatB3Multi;
      found = true;
    } else {
      record.malformed_trace = true;
    }
  } else if (sampled || flags) {
    // Ids absent: the caller only says whether to sample ("1"/"true"/"0"/
    // "false", or the debug flag).
    if (!duplicated && flags && *flags == "1") {
      decision = true;
      record.incoming_formats |= observability::kTraceFormatB3Multi;
    } else if (!duplicated && sampled && (*sampled == "1" || *sampled == "true" || *sampled == "0" || *sampled == "false")) {
      if (!decision) decision = (*sampled == "1" || *sampled == "true");
      record.incoming_formats |= observability::kTraceFormatB3Multi;
    } else {
      record.malformed_trace = true;
    }
  }

  if (!found && decision) {
    record.trace.sampling_decided = true;
    record.trace.sampled = *decision;
  }
}

void injectTraceContext(http::HeaderMap& upstream_request, const RequestRecord& record, uint64_t span_id) {
  if (!record.trace.trace_id.valid()) return;
  for (std::string_view name :
       {kTraceparent, kTracestate, kB3, kB3TraceId, kB3SpanId, kB3ParentSpanId, kB3Sampled, kB3Flags}) {
    upstream_request.remove(name);
  }

  SpanContext context;
  context.trace_id = record.trace.trace_id;
  context.span_id = span_id;
  context.sampled = record.trace.sampled;

  const uint8_t formats = record.incoming_formats != observability::kTraceFormatNone
                              ? record.incoming_formats
                              : (observability::kTraceFormatW3c | observability::kTraceFormatB3Single);
  if (formats & observability::kTraceFormatW3c) {
    upstream_request.add(kTraceparent, observability::formatTraceparent(context));
    if (!record.trace.tracestate.empty()) upstream_request.add(kTracestate, record.trace.tracestate);
  }
  if (formats & observability::kTraceFormatB3Single) {
    upstream_request.add(kB3, observability::formatB3Single(context));
  }
  if (formats & observability::kTraceFormatB3Multi) {
    upstream_request.add(kB3TraceId, b3TraceIdHex(context.trace_id));
    upstream_request.add(kB3SpanId, observability::spanIdHex(span_id));
    // The try's span hangs under the request's span: that is its parent.
    if (record.trace.span_id != 0 && record.trace.span_id != span_id) {
      upstream_request.add(kB3ParentSpanId, observability::spanIdHex(record.trace.span_id));
    }
    upstream_request.add(kB3Sampled, context.sampled ? "1" : "0");
  }
}

}  // namespace remora::tracing
