#include "proxy/observability/access_log/access_log_formatter.h"

#include <charconv>
#include <chrono>
#include <ctime>

namespace remora::observability {

using xds::resources::AccessLog;

namespace {

constexpr char kHex[] = "0123456789abcdef";

template <typename Int>
void appendInt(std::string& out, Int value) {
  char buffer[24];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof(buffer), value);
  out.append(buffer, end);
}

// `value` zero-padded to `width` digits.
void appendPadded(std::string& out, int64_t value, int width) {
  char buffer[24];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof(buffer), value);
  for (auto digits = end - buffer; digits < width; ++digits) out += '0';
  out.append(buffer, end);
}

// Microseconds as "12.345" milliseconds.
void appendMillisFraction(std::string& out, int64_t micros) {
  appendInt(out, micros / 1000);
  out += '.';
  appendPadded(out, micros % 1000, 3);
}

int64_t micros(std::chrono::steady_clock::duration d) {
  return d.count() <= 0 ? 0 : std::chrono::duration_cast<std::chrono::microseconds>(d).count();
}

// Same spelling as traceIdHex() (lower-case, 32 digits), appended in place
// because traceIdHex() returns a new string per call.
void appendTraceId(std::string& out, const TraceId& id) {
  if (!id.valid()) return;
  for (uint64_t half : {id.high, id.low}) {
    for (int shift = 60; shift >= 0; shift -= 4) out += kHex[(half >> shift) & 0xf];
  }
}

// Same words as directionName() (request_record.h), which no library this one
// links defines yet. TODO(access-log): use directionName() once it has a home.
// The length of the valid UTF-8 sequence at the start of `s`, or 0 when it
// is not one (RFC 3629: no overlong forms, no surrogates, nothing past
// U+10FFFF).
size_t utf8SequenceLength(std::string_view s) {
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
  const unsigned char lead = byte(0);
  size_t length = 0;
  unsigned char low = 0x80;
  unsigned char high = 0xbf;
  if (lead >= 0xc2 && lead <= 0xdf) {
    length = 2;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    length = 3;
    if (lead == 0xe0) low = 0xa0;   // overlong
    if (lead == 0xed) high = 0x9f;  // surrogates
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    length = 4;
    if (lead == 0xf0) low = 0x90;   // overlong
    if (lead == 0xf4) high = 0x8f;  // above U+10FFFF
  } else {
    return 0;
  }
  if (s.size() < length) return 0;
  if (byte(1) < low || byte(1) > high) return 0;
  for (size_t i = 2; i < length; ++i) {
    if (byte(i) < 0x80 || byte(i) > 0xbf) return 0;
  }
  return length;
}

void appendJsonNumberOrNull(std::string& out, bool known, int64_t micros_value) {
  if (known) {
    appendMillisFraction(out, micros_value);
  } else {
    out += "null";
  }
}

// `"key":` — keys are ours and need no escaping.
void appendKey(std::string& out, std::string_view key, bool first = false) {
  if (!first) out += ',';
  out += '"';
  out += key;
  out += "\":";
}

void appendJsonField(std::string& out, std::string_view key, std::string_view value) {
  appendKey(out, key);
  appendJsonString(out, value);
}

template <typename Int>
void appendJsonNumber(std::string& out, std::string_view key, Int value) {
  appendKey(out, key);
  appendInt(out, value);
}

void appendJsonLine(std::string& out, const RequestRecord& r, bool upstream_known, int64_t upstream_micros) {
  out += '{';
  appendKey(out, "start_time", true);
  out += '"';
  appendRfc3339Millis(out, r.start_unix_ns);
  out += '"';
  appendJsonField(out, "method", r.method);
  appendJsonField(out, "authority", r.authority);
  appendJsonField(out, "path", r.path);
  appendJsonField(out, "protocol", r.protocol);
  appendJsonNumber(out, "status", r.status);
  appendJsonField(out, "local_reply", r.local_reply);
  appendJsonField(out, "upstream_host", r.upstream_host);
  appendJsonField(out, "cluster", r.cluster);
  appendJsonField(out, "route", r.route_name);
  appendJsonNumber(out, "attempts", r.attempt_count);
  appendKey(out, "duration_ms");
  appendMillisFraction(out, micros(r.end - r.start));
  appendKey(out, "upstream_service_time_ms");
  appendJsonNumberOrNull(out, upstream_known, upstream_micros);
  appendJsonNumber(out, "request_bytes", r.request_bytes);
  appendJsonNumber(out, "response_bytes", r.response_bytes);
  appendJsonField(out, "peer_identity", r.peer_identity);
  appendJsonField(out, "downstream_address", r.downstream_address);
  appendJsonField(out, "user_agent", r.user_agent);
  appendJsonField(out, "request_id", r.request_id);
  appendKey(out, "trace_id");
  out += '"';
  appendTraceId(out, r.trace.trace_id);
  out += '"';
  appendJsonField(out, "direction", directionName(r.direction));
  appendJsonField(out, "listener", r.listener);
  out += "}\n";
}

// Text escaping: see the header. `bare` fields also escape spaces.
void appendTextEscaped(std::string& out, std::string_view value, bool bare) {
  for (char c : value) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte >= 0x7f || (bare && byte == ' ')) {
      out += "\\x";
      out += kHex[byte >> 4];
      out += kHex[byte & 0xf];
    } else if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else {
      out += c;
    }
  }
}

void appendBare(std::string& out, std::string_view value) {
  if (value.empty()) {
    out += '-';
  } else {
    appendTextEscaped(out, value, true);
  }
}

void appendQuoted(std::string& out, std::string_view value) {
  out += '"';
  if (value.empty()) {
    out += '-';
  } else {
    appendTextEscaped(out, value, false);
  }
  out += '"';
}

void appendTextLine(std::string& out, const RequestRecord& r, bool upstream_known, int64_t upstream_micros) {
  out += '[';
  appendRfc3339Millis(out, r.start_unix_ns);
  out += "] \"";
  appendBare(out, r.method);
  out += ' ';
  appendBare(out, r.path);
  out += ' ';
  appendBare(out, r.protocol);
  out += "\" ";
  appendInt(out, r.status);
  out += ' ';
  appendBare(out, r.local_reply);
  out += ' ';
  appendInt(out, r.request_bytes);
  out += ' ';
  appendInt(out, r.response_bytes);
  out += ' ';
  appendInt(out, micros(r.end - r.start) / 1000);
  out += ' ';
  if (upstream_known) {
    appendInt(out, upstream_micros / 1000);
  } else {
    out += '-';
  }
  out += ' ';
  appendQuoted(out, r.user_agent);
  out += ' ';
  appendQuoted(out, r.request_id);
  out += ' ';
  appendQuoted(out, r.authority);
  out += ' ';
  appendQuoted(out, r.upstream_host);
  out += ' ';
  appendBare(out, r.cluster);
  out += ' ';
  appendBare(out, r.route_name);
  out += ' ';
  appendInt(out, r.attempt_count);
  out += ' ';
  out += directionName(r.direction);
  out += ' ';
  appendBare(out, r.listener);
  out += ' ';
  appendBare(out, r.downstream_address);
  out += ' ';
  if (r.trace.trace_id.valid()) {
    appendTraceId(out, r.trace.trace_id);
  } else {
    out += '-';
  }
  out += ' ';
  appendQuoted(out, r.peer_identity);
  out += '\n';
}

}  // namespace

void appendJsonString(std::string& out, std::string_view value) {
  out += '"';
  size_t i = 0;
  while (i < value.size()) {
    const auto byte = static_cast<unsigned char>(value[i]);
    if (byte < 0x80) {
      switch (byte) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        default:
          if (byte < 0x20 || byte == 0x7f) {
            out += "\\u00";
            out += kHex[byte >> 4];
            out += kHex[byte & 0xf];
          } else {
            out += static_cast<char>(byte);
          }
      }
      ++i;
      continue;
    }
    const size_t length = utf8SequenceLength(value.substr(i));
    if (length == 0) {
      out += "\\ufffd";  // one replacement per byte that starts no valid sequence
      ++i;
    } else {
      out.append(value.substr(i, length));
      i += length;
    }
  }
  out += '"';
}

void appendRfc3339Millis(std::string& out, int64_t unix_ns) {
  // Floor division, so a (nonsensical) negative time still prints a valid date.
  int64_t seconds = unix_ns / 1'000'000'000;
  int64_t nanos = unix_ns % 1'000'000'000;
  if (nanos < 0) {
    nanos += 1'000'000'000;
    --seconds;
  }
  const std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  appendPadded(out, tm.tm_year + 1900, 4);
  out += '-';
  appendPadded(out, tm.tm_mon + 1, 2);
  out += '-';
  appendPadded(out, tm.tm_mday, 2);
  out += 'T';
  appendPadded(out, tm.tm_hour, 2);
  out += ':';
  appendPadded(out, tm.tm_min, 2);
  out += ':';
  appendPadded(out, tm.tm_sec, 2);
  out += '.';
  appendPadded(out, nanos / 1'000'000, 3);
  out += 'Z';
}

void appendAccessLogLine(std::string& out, const RequestRecord& record, AccessLog::Format format) {
  const bool upstream_known = record.upstream_first_byte != std::chrono::steady_clock::time_point{};
  const int64_t upstream_micros = upstream_known ? micros(record.upstream_first_byte - record.start) : 0;
  if (format == AccessLog::Format::kJson) {
    appendJsonLine(out, record, upstream_known, upstream_micros);
  } else {
    appendTextLine(out, record, upstream_known, upstream_micros);
  }
}

}  // namespace remora::observability
