#include "proxy/observability/trace_context.h"

#include <array>

namespace remora::observability {
namespace {

// Lower-case hex only: W3C requires vendors to ignore a traceparent with
// upper-case digits, and B3 defines its ids as lower-hex. Accepting both would
// let two spellings of one id reach the collector as two traces.
int hexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// `text` of 1..16 lower-hex digits -> its value.
std::optional<uint64_t> parseHex64(std::string_view text) {
  if (text.empty() || text.size() > 16) return std::nullopt;
  uint64_t value = 0;
  for (char c : text) {
    const int digit = hexDigit(c);
    if (digit < 0) return std::nullopt;
    value = (value << 4) | static_cast<uint64_t>(digit);
  }
  return value;
}

// 32 digits (128 bits) or, where `allow_64` (B3), 16 digits (high = 0).
std::optional<TraceId> parseTraceId(std::string_view text, bool allow_64) {
  TraceId id;
  if (text.size() == 32) {
    auto high = parseHex64(text.substr(0, 16));
    auto low = parseHex64(text.substr(16));
    if (!high || !low) return std::nullopt;
    id = {*high, *low};
  } else if (allow_64 && text.size() == 16) {
    auto low = parseHex64(text);
    if (!low) return std::nullopt;
    id = {0, *low};
  } else {
    return std::nullopt;
  }
  if (!id.valid()) return std::nullopt;  // all-zero ids are invalid in both formats
  return id;
}

std::optional<uint64_t> parseSpanId(std::string_view text) {
  if (text.size() != 16) return std::nullopt;
  auto id = parseHex64(text);
  if (!id || *id == 0) return std::nullopt;
  return id;
}

void appendHex(std::string& out, uint64_t value, int digits) {
  static constexpr char kDigits[] = "0123456789abcdef";
  for (int shift = (digits - 1) * 4; shift >= 0; shift -= 4) out.push_back(kDigits[(value >> shift) & 0xf]);
}

// B3 keeps a 64-bit trace id 64-bit on the way out, so a B3-only system
// downstream sees the id it would have made itself.
std::string b3TraceIdHex(TraceId id) {
  std::string out;
  if (id.high == 0) {
    appendHex(out, id.low, 16);
  } else {
    out = traceIdHex(id);
  }
  return out;
}

}  // namespace

std::optional<SpanContext> parseTraceparent(std::string_view value) {
  // version "-" trace-id "-" parent-id "-" trace-flags: 2 + 1 + 32 + 1 + 16 + 1 + 2.
  constexpr size_t kLength = 55;
  if (value.size() < kLength) return std::nullopt;
  const auto version = parseHex64(value.substr(0, 2));
  if (!version || *version == 0xff) return std::nullopt;
  // Version 00 is exactly 55 bytes. A later version may append fields after
  // a '-'; W3C asks us to read the four we know and ignore the rest.
  if (*version == 0 && value.size() != kLength) return std::nullopt;
  if (value.size() > kLength && value[kLength] != '-') return std::nullopt;
  if (value[2] != '-' || value[35] != '-' || value[52] != '-') return std::nullopt;

  const auto trace_id = parseTraceId(value.substr(3, 32), /*allow_64=*/false);
  const auto span_id = parseSpanId(value.substr(36, 16));
  const auto flags = parseHex64(value.substr(53, 2));
  if (!trace_id || !span_id || !flags) return std::nullopt;

  SpanContext context;
  context.trace_id = *trace_id;
  context.span_id = *span_id;
  context.sampled = (*flags & 0x01) != 0;
  // The flag is the caller's decision either way: W3C has no "undecided".
  context.sampling_decided = true;
  return context;
}

std::optional<SpanContext> parseB3Single(std::string_view value) {
  // {trace}-{span}[-{sampling}[-{parent}]]. A bare "0", "1" or "d" carries a
  // decision but no ids: not a context, so nullopt (propagation.cc honours
  // the decision on its own).
  std::array<std::string_view, 5> parts{};
  size_t count = 0;
  size_t start = 0;
  while (true) {
    const size_t dash = value.find('-', start);
    if (count == parts.size()) return std::nullopt;
    parts[count++] = value.substr(start, dash == std::string_view::npos ? std::string_view::npos : dash - start);
    if (dash == std::string_view::npos) break;
    start = dash + 1;
  }
  if (count < 2 || count > 4) return std::nullopt;

  const auto trace_id = parseTraceId(parts[0], /*allow_64=*/true);
  const auto span_id = parseSpanId(parts[1]);
  if (!trace_id || !span_id) return std::nullopt;

  SpanContext context;
  context.trace_id = *trace_id;
  context.span_id = *span_id;
  if (count >= 3) {
    const std::string_view sampling = parts[2];
    if (sampling == "1" || sampling == "d") {
      context.sampled = true;
    } else if (sampling != "0") {
      return std::nullopt;
    }
    context.sampling_decided = true;
  }
  // The caller's parent is not ours to keep, but a malformed one makes the
  // whole header suspect.
  if (count == 4 && !parseSpanId(parts[3])) return std::nullopt;
  return context;
}

std::optional<SpanContext> parseB3Multi(std::string_view trace_id, std::string_view span_id,
                                        std::optional<std::string_view> sampled,
                                        std::optional<std::string_view> flags) {
  const auto trace = parseTraceId(trace_id, /*allow_64=*/true);
  const auto span = parseSpanId(span_id);
  if (!trace || !span) return std::nullopt;

  SpanContext context;
  context.trace_id = *trace;
  context.span_id = *span;
  if (sampled) {
    // "true"/"false" are what early B3 clients sent; the spec still accepts them.
    if (*sampled == "1" || *sampled == "true") {
      context.sampled = true;
    } else if (*sampled != "0" && *sampled != "false") {
      return std::nullopt;
    }
    context.sampling_decided = true;
  }
  if (flags) {
    if (*flags == "1") {  // debug: always sampled, whatever X-B3-Sampled said
      context.sampled = true;
      context.sampling_decided = true;
    } else if (*flags != "0") {
      return std::nullopt;
    }
  }
  return context;
}

std::string formatTraceparent(const SpanContext& context) {
  std::string out;
  out.reserve(55);
  out += "00-";
  out += traceIdHex(context.trace_id);
  out += '-';
  appendHex(out, context.span_id, 16);
  out += context.sampled ? "-01" : "-00";
  return out;
}

std::string formatB3Single(const SpanContext& context) {
  std::string out = b3TraceIdHex(context.trace_id);
  out += '-';
  appendHex(out, context.span_id, 16);
  out += context.sampled ? "-1" : "-0";
  return out;
}

std::string traceIdHex(TraceId id) {
  std::string out;
  out.reserve(32);
  appendHex(out, id.high, 16);
  appendHex(out, id.low, 16);
  return out;
}

std::string spanIdHex(uint64_t id) {
  std::string out;
  out.reserve(16);
  appendHex(out, id, 16);
  return out;
}

}  // namespace remora::observability
