// RequestRecord: what is known about one HTTP request by the time it ends —
// filled by the connection manager (ActiveStream) and the router as the
// request goes, read once at stream end by the StreamObserver, which turns it
// into histograms, the request's spans and its access-log line.
//
// Worker-local: one per ActiveStream. string_views point into objects that
// live at least until StreamObserver::onStreamEnd returns (the listener's
// config, the route table the router holds, the connection).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/observability/trace_context.h"

namespace remora::observability {

enum class TrafficDirection : uint8_t { kUnspecified, kInbound, kOutbound };
inline std::string_view directionName(TrafficDirection direction) {
  switch (direction) {
    case TrafficDirection::kInbound: return "inbound";
    case TrafficDirection::kOutbound: return "outbound";
    case TrafficDirection::kUnspecified: break;
  }
  return "unspecified";
}

// One try of the request (retries and hedges make more than one).
struct AttemptRecord {
  uint32_t number = 0;       // 1 for the first try
  uint64_t span_id = 0;      // this try's span (0 when not traced)
  std::string upstream_host;  // "10.0.0.7:8080"
  int64_t start_unix_ns = 0;
  int64_t end_unix_ns = 0;
  uint32_t status = 0;         // the upstream's :status; 0 when none came
  std::string_view error;      // why the try failed (an errorName()), "" when it answered
};

struct RequestRecord {
  // --- The connection manager. ---
  std::string_view listener;
  TrafficDirection direction = TrafficDirection::kUnspecified;
  std::string_view protocol;       // "HTTP/1.1", "HTTP/2"
  std::string_view peer_identity;  // the caller's SPIFFE ID over mTLS, else ""
  std::string downstream_address;  // only when details are wanted
  int64_t start_unix_ns = 0;
  std::chrono::steady_clock::time_point start{};
  std::chrono::steady_clock::time_point end{};
  // Copied from the request headers only when the observer wants details
  // (access log or tracing on): the plain path allocates nothing here.
  std::string method;
  std::string authority;
  std::string path;
  std::string user_agent;
  std::string request_id;  // x-request-id
  uint32_t status = 0;     // the :status sent; 0 when the stream was reset first
  std::string_view local_reply;  // the x-remora-error reason of a local reply, ""
  bool downstream_reset = false;
  uint64_t request_bytes = 0;   // request body bytes received
  uint64_t response_bytes = 0;  // response body bytes sent
  bool grpc = false;
  std::string_view grpc_status;  // from the response (headers or trailers), ""

  // --- The router. ---
  std::string_view route_name;
  std::string_view cluster;
  std::string upstream_host;  // the host of the try that answered (or the last one)
  uint32_t attempt_count = 0;
  std::chrono::steady_clock::time_point upstream_first_byte{};  // response headers arrived

  // --- Tracing (the StreamObserver at request headers; the router per try). ---
  bool details = false;    // the observer wants method/path/... copied
  SpanContext trace;       // this request's span: trace id, its span id, sampled
  uint64_t parent_span_id = 0;  // the caller's span, 0 for a new trace
  uint8_t incoming_formats = kTraceFormatNone;  // trace headers the request came with
  bool malformed_trace = false;  // a trace header was present but unreadable (ignored)
  std::vector<AttemptRecord> attempts;  // filled only when the request is traced (sampled)
};

}  // namespace remora::observability
