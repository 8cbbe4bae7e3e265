// The access log line of one finished request: a JSON object on one line, or
// a text line in the shape of Envoy's default format. Called by the
// StreamObserver (proxy/main/request_observer) at stream end on the worker
// that served the request; the line then goes to an AccessLogWriter. Pure,
// any thread, no allocation beyond growing `out`.
//
// JSON line (keys always present, in this order; docs/config/bootstrap.md):
//   start_time (RFC 3339 UTC, milliseconds), method, authority, path,
//   protocol, status (number, 0 when no response was sent), local_reply,
//   upstream_host, cluster, route, attempts (number), duration_ms (number,
//   microsecond precision), upstream_service_time_ms (number, or null when no
//   upstream answered), request_bytes, response_bytes (numbers),
//   peer_identity, downstream_address, user_agent, request_id, trace_id (32
//   hex digits, "" when the request is not traced), direction, listener.
//   Strings are JSON-escaped; bytes that are not UTF-8 become U+FFFD.
//
// Text line (fields separated by one space, '-' for an empty field):
//   [START_TIME] "METHOD PATH PROTOCOL" STATUS LOCAL_REPLY REQUEST_BYTES
//   RESPONSE_BYTES DURATION_MS UPSTREAM_SERVICE_TIME_MS "USER_AGENT"
//   "REQUEST_ID" "AUTHORITY" "UPSTREAM_HOST" CLUSTER ROUTE ATTEMPTS DIRECTION
//   LISTENER DOWNSTREAM_ADDRESS TRACE_ID "PEER_IDENTITY"
// Durations are whole milliseconds (as Envoy's %DURATION%). Inside quotes,
// '"' and '\' are backslash-escaped; bytes below 0x20, 0x7f and above are
// written as \xHH; unquoted fields (and METHOD, PATH, PROTOCOL) also escape
// spaces that way, so a field never splits and a line never breaks.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "proxy/observability/request_record.h"
#include "xds/resources/model.h"

namespace remora::observability {

// Appends one line, ending in '\n', to `out`.
void appendAccessLogLine(std::string& out, const RequestRecord& record, xds::resources::AccessLog::Format format);

// Building blocks, exposed for their tests.
// `value` as a quoted JSON string.
void appendJsonString(std::string& out, std::string_view value);
// "2026-11-23T12:00:00.123Z".
void appendRfc3339Millis(std::string& out, int64_t unix_ns);

}  // namespace remora::observability
