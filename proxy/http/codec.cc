#include "proxy/http/codec.h"

namespace remora::http {

std::string_view protocolName(Protocol protocol) {
  switch (protocol) {
    case Protocol::kHttp10: return "HTTP/1.0";
    case Protocol::kHttp11: return "HTTP/1.1";
    case Protocol::kHttp2: return "HTTP/2";
  }
  return "unknown";
}

std::string_view resetReasonName(StreamResetReason reason) {
  switch (reason) {
    case StreamResetReason::kLocalReset: return "local_reset";
    case StreamResetReason::kRemoteReset: return "remote_reset";
    case StreamResetReason::kConnectionTermination: return "connection_termination";
    case StreamResetReason::kConnectionFailure: return "connection_failure";
    case StreamResetReason::kRefusedStream: return "refused_stream";
    case StreamResetReason::kProtocolError: return "protocol_error";
    case StreamResetReason::kOverflow: return "overflow";
  }
  return "unknown";
}

}  // namespace remora::http
