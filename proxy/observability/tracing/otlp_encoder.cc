#include "proxy/observability/tracing/otlp_encoder.h"

#include <type_traits>
#include <variant>

#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"

#ifndef REMORA_VERSION
#define REMORA_VERSION "dev"
#endif

namespace remora::tracing {
namespace {

namespace otlp_common = opentelemetry::proto::common::v1;
namespace otlp_trace = opentelemetry::proto::trace::v1;

constexpr std::string_view kScopeName = "remora-proxy";

// OTLP ids are raw bytes, big-endian (the same order as their hex form).
void appendBigEndian(std::string& out, uint64_t value) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>((value >> shift) & 0xff));
}

std::string spanIdBytes(uint64_t id) {
  std::string out;
  out.reserve(8);
  appendBigEndian(out, id);
  return out;
}

std::string traceIdBytes(observability::TraceId id) {
  std::string out;
  out.reserve(16);
  appendBigEndian(out, id.high);
  appendBigEndian(out, id.low);
  return out;
}

void setValue(otlp_common::AnyValue& out, const SpanAttribute& attribute) {
  std::visit(
      [&out](const auto& value) {
        using T = std::decay_t<decltype(value)>;
        if constexpr (std::is_same_v<T, std::string>) {
          out.set_string_value(value);
        } else if constexpr (std::is_same_v<T, int64_t>) {
          out.set_int_value(value);
        } else if constexpr (std::is_same_v<T, bool>) {
          out.set_bool_value(value);
        } else {
          out.set_double_value(value);
        }
      },
      attribute.value);
}

void encodeSpan(const SpanData& span, otlp_trace::Span& out) {
  out.set_trace_id(traceIdBytes(span.trace_id));
  out.set_span_id(spanIdBytes(span.span_id));
  // A root span has no parent: the field stays empty, as OTLP asks.
  if (span.parent_span_id != 0) out.set_parent_span_id(spanIdBytes(span.parent_span_id));
  out.set_name(span.name);
  out.set_kind(static_cast<otlp_trace::Span::SpanKind>(static_cast<int>(span.kind)));
  out.set_start_time_unix_nano(static_cast<uint64_t>(span.start_unix_ns));
  out.set_end_time_unix_nano(static_cast<uint64_t>(span.end_unix_ns));
  for (const SpanAttribute& attribute : span.attributes) {
    otlp_common::KeyValue* kv = out.add_attributes();
    kv->set_key(attribute.key);
    setValue(*kv->mutable_value(), attribute);
  }
  // Unset unless failed: OTel reserves OK for an explicit user decision.
  if (span.error) {
    otlp_trace::Status* status = out.mutable_status();
    status->set_code(otlp_trace::Status::STATUS_CODE_ERROR);
    status->set_message(span.status_message);
  }
}

}  // namespace

std::string encodeOtlpTraces(std::span<const SpanData> spans, std::string_view service_name) {
  opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest request;
  otlp_trace::ResourceSpans* resource_spans = request.add_resource_spans();
  otlp_common::KeyValue* service = resource_spans->mutable_resource()->add_attributes();
  service->set_key("service.name");
  service->mutable_value()->set_string_value(std::string(service_name));

  otlp_trace::ScopeSpans* scope_spans = resource_spans->add_scope_spans();
  scope_spans->mutable_scope()->set_name(std::string(kScopeName));
  scope_spans->mutable_scope()->set_version(REMORA_VERSION);
  scope_spans->mutable_spans()->Reserve(static_cast<int>(spans.size()));
  for (const SpanData& span : spans) encodeSpan(span, *scope_spans->add_spans());

  std::string body;
  request.SerializeToString(&body);
  return body;
}

}  // namespace remora::tracing
