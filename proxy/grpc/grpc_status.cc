#include "proxy/grpc/grpc_status.h"

#include <array>
#include <charconv>

namespace remora::grpc {
namespace {

// Indexed by code.
constexpr std::array<std::string_view, 17> kNames = {
    "OK",
    "CANCELLED",
    "UNKNOWN",
    "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
    "ABORTED",
    "OUT_OF_RANGE",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
    "UNAUTHENTICATED",
};

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string statusName(int code) {
  if (code >= 0 && static_cast<size_t>(code) < kNames.size()) return std::string(kNames[static_cast<size_t>(code)]);
  return "CODE_" + std::to_string(code);
}

std::string percentDecode(std::string_view encoded) {
  std::string out;
  out.reserve(encoded.size());
  for (size_t i = 0; i < encoded.size(); ++i) {
    const char c = encoded[i];
    if (c == '%' && i + 2 < encoded.size()) {
      const int hi = hexValue(encoded[i + 1]);
      const int lo = hexValue(encoded[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(c);
  }
  return out;
}

GrpcStatus statusFromTrailers(const http::HeaderMap& trailers) {
  const std::string message = percentDecode(trailers.get("grpc-message").value_or(""));
  const std::optional<std::string_view> raw = trailers.get("grpc-status");
  if (!raw) {
    return {kStatusUnknown, message.empty() ? "the stream ended without grpc-status" : message};
  }
  int code = 0;
  const char* end = raw->data() + raw->size();
  auto [ptr, ec] = std::from_chars(raw->data(), end, code);
  if (ec != std::errc() || ptr != end || raw->empty() || code < 0) {
    return {kStatusUnknown, "malformed grpc-status '" + std::string(*raw) + "'"};
  }
  return {code, message};
}

}  // namespace remora::grpc
