#include "proxy/observability/tracing/zipkin_encoder.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <optional>
#include <type_traits>
#include <variant>

#include "xds/base/json_string.h"

namespace remora::tracing {
namespace {

using base::appendJsonString;

// Zipkin keeps 64-bit trace ids as 16 digits; 128-bit ones as 32.
std::string zipkinTraceId(observability::TraceId id) {
  return id.high == 0 ? observability::spanIdHex(id.low) : observability::traceIdHex(id);
}

std::string lowerCase(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

std::string tagValue(const SpanAttribute& attribute) {
  return std::visit(
      [](const auto& value) -> std::string {
        using T = std::decay_t<decltype(value)>;
        if constexpr (std::is_same_v<T, std::string>) {
          return value;
        } else if constexpr (std::is_same_v<T, bool>) {
          return value ? "true" : "false";
        } else {
          char text[32];
          const auto result = std::to_chars(text, text + sizeof(text), value);
          return std::string(text, result.ptr);
        }
      },
      attribute.value);
}

const SpanAttribute* findAttribute(const SpanData& span, std::string_view key) {
  for (const SpanAttribute& attribute : span.attributes) {
    if (attribute.key == key) return &attribute;
  }
  return nullptr;
}

// {"ipv4":...,"port":...} or {"serviceName":...}: Zipkin's Endpoint has
// separate fields for an IP literal and a name.
std::optional<std::string> remoteEndpoint(const SpanData& span) {
  const bool client = span.kind == SpanKind::kClient;
  const SpanAttribute* address = findAttribute(span, client ? "server.address" : "client.address");
  const SpanAttribute* port = findAttribute(span, client ? "server.port" : "client.port");
  const std::string* host = address ? std::get_if<std::string>(&address->value) : nullptr;
  if (host == nullptr || host->empty()) return std::nullopt;

  std::string out = "{";
  unsigned char scratch[sizeof(struct in6_addr)];
  if (inet_pton(AF_INET, host->c_str(), scratch) == 1) {
    out += "\"ipv4\":";
    appendJsonString(out, *host);
  } else if (inet_pton(AF_INET6, host->c_str(), scratch) == 1) {
    out += "\"ipv6\":";
    appendJsonString(out, *host);
  } else {
    out += "\"serviceName\":";
    appendJsonString(out, lowerCase(*host));
  }
  if (port != nullptr) {
    if (const int64_t* number = std::get_if<int64_t>(&port->value)) {
      out += ",\"port\":";
      out += std::to_string(*number);
    }
  }
  out += '}';
  return out;
}

void encodeSpan(const SpanData& span, std::string_view service_name, std::string& out) {
  out += "{\"traceId\":\"";
  out += zipkinTraceId(span.trace_id);
  out += "\",\"id\":\"";
  out += observability::spanIdHex(span.span_id);
  out += '"';
  if (span.parent_span_id != 0) {
    out += ",\"parentId\":\"";
    out += observability::spanIdHex(span.parent_span_id);
    out += '"';
  }
  out += ",\"name\":";
  appendJsonString(out, lowerCase(span.name));
  if (span.kind == SpanKind::kServer) out += ",\"kind\":\"SERVER\"";
  if (span.kind == SpanKind::kClient) out += ",\"kind\":\"CLIENT\"";
  // Microseconds; the schema wants a duration of at least 1 (a span faster
  // than that is rounded up, never reported as "unknown").
  const int64_t start_us = span.start_unix_ns / 1000;
  const int64_t duration_us = std::max<int64_t>(1, (span.end_unix_ns - span.start_unix_ns) / 1000);
  out += ",\"timestamp\":";
  out += std::to_string(start_us);
  out += ",\"duration\":";
  out += std::to_string(duration_us);
  out += ",\"localEndpoint\":{\"serviceName\":";
  appendJsonString(out, lowerCase(service_name));
  out += '}';
  if (auto remote = remoteEndpoint(span)) {
    out += ",\"remoteEndpoint\":";
    out += *remote;
  }
  out += ",\"tags\":{";
  bool first = true;
  for (const SpanAttribute& attribute : span.attributes) {
    if (!first) out += ',';
    first = false;
    appendJsonString(out, attribute.key);
    out += ':';
    appendJsonString(out, tagValue(attribute));
  }
  if (span.error) {
    // Zipkin marks a failed span by the "error" tag; its value is the reason.
    if (!first) out += ',';
    out += "\"error\":";
    appendJsonString(out, span.status_message.empty() ? std::string_view("true") : span.status_message);
  }
  out += "}}";
}

}  // namespace

std::string encodeZipkinJson(std::span<const SpanData> spans, std::string_view service_name) {
  std::string out = "[";
  out.reserve(spans.size() * 512);
  bool first = true;
  for (const SpanData& span : spans) {
    if (!first) out += ',';
    first = false;
    encodeSpan(span, service_name, out);
  }
  out += ']';
  return out;
}

}  // namespace remora::tracing
