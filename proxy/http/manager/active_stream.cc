#include "proxy/http/manager/active_stream.h"

#include <cctype>
#include <string>

#include "proxy/http/manager/connection_manager.h"

namespace remora::http::manager {
namespace {
bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  }
  return true;
}
// grpc-status values are 0..16; the record keeps a static string so it
// needs no copy of the header.
std::string_view noteGrpcStatus(std::string_view value) {
  static constexpr std::string_view kCodes[] = {"0", "1", "2", "3", "4", "5", "6", "7", "8",
                                                "9", "10", "11", "12", "13", "14", "15", "16"};
  for (std::string_view code : kCodes) {
    if (code == value) return code;
  }
  return "invalid";
}
}  // namespace

uint32_t grpcStatusFor(base::Error reason, uint32_t http_status) {
  using base::Error;
  switch (reason) {
    case Error::kRouteTimeout:
    case Error::kPerTryTimeout:
    case Error::kStreamIdleTimeout:
    case Error::kRequestTimeout: return 4;  // DEADLINE_EXCEEDED
    case Error::kRbacDenied: return 7;      // PERMISSION_DENIED
    default: break;
  }
  // The gRPC spec's mapping of HTTP statuses.
  switch (http_status) {
    case 400: return 13;  // INTERNAL
    case 401: return 16;  // UNAUTHENTICATED
    case 403: return 7;   // PERMISSION_DENIED
    case 404: return 12;  // UNIMPLEMENTED
    case 429:
    case 502:
    case 503:
    case 504: return 14;  // UNAVAILABLE
    default: return 2;    // UNKNOWN
  }
}

std::string grpcMessageEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    if (c < 0x20 || c > 0x7e || c == '%') {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

uint32_t localReplyStatus(base::Error reason) {
  using base::Error;
  switch (reason) {
    case Error::kNoRoute: return 404;
    case Error::kRequestTimeout: return 408;
    case Error::kRbacDenied: return 403;
    case Error::kBodyTooLarge: return 413;
    case Error::kHeadersTooLarge: return 431;
    case Error::kProtocol:
    case Error::kInvalidArgument: return 400;
    case Error::kUpstreamReset:
    case Error::kUpstreamProtocol: return 502;
    case Error::kRouteTimeout:
    case Error::kPerTryTimeout:
    case Error::kStreamIdleTimeout: return 504;
    case Error::kUnsupported: return 501;
    case Error::kNoCluster:
    case Error::kNoHealthyUpstream:
    case Error::kConnectFailed:
    case Error::kConnectTimeout:
    case Error::kOverflow:
    case Error::kDraining: return 503;
    default: return 500;
  }
}

ActiveStream::ActiveStream(ConnectionManager& manager, Stream& stream) : manager_(manager), stream_(&stream) {
  const ManagerSettings& settings = manager_.settings();
  record_.listener = settings.listener;
  record_.direction = settings.direction;
  record_.protocol = protocolName(manager_.protocol());
  record_.start = std::chrono::steady_clock::now();
  record_.start_unix_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  handler_ = manager_.factory().createHandler(*this);
  net::Dispatcher& d = manager_.connection().dispatcher();
  if (manager_.settings().stream_idle_timeout.count() > 0) {
    last_activity_ = d.now();
    idle_timer_ = d.createTimer([this] {
      const auto timeout = manager_.settings().stream_idle_timeout;
      const auto idle = std::chrono::duration_cast<std::chrono::milliseconds>(
          manager_.connection().dispatcher().now() - last_activity_);
      if (idle < timeout) {
        idle_timer_->enable(timeout - idle);
        return;
      }
      onIdleTimeout();
    });
    idle_timer_->enable(manager_.settings().stream_idle_timeout);
  }
  if (manager_.settings().request_timeout.count() > 0) {
    request_timer_ = d.createTimer([this] {
      if (!request_done_) sendLocalReply(408, base::Error::kRequestTimeout, "the request was not received in time");
    });
    request_timer_->enable(manager_.settings().request_timeout);
  }
}

ActiveStream::~ActiveStream() = default;

void ActiveStream::touch() {
  // Only the time is noted here; the armed timer checks it when it fires and
  // re-arms for the rest. Re-arming on every event would reorder the loop's
  // timer heap several times per request.
  last_activity_ = manager_.connection().dispatcher().now();
}

void ActiveStream::onHeaders(HeaderMapPtr headers, bool end_stream) {
  touch();
  is_head_ = headers->method() == "HEAD";
  if (auto type = headers->get("content-type")) is_grpc_ = type->starts_with("application/grpc");
  // We answer 100-continue ourselves and strip the expectation, so the client
  // sends its body right away while we pick and connect to an upstream.
  if (auto expect = headers->get("expect"); expect && equalsIgnoreCase(*expect, "100-continue")) {
    headers->remove("expect");
    if (!end_stream) {
      HeaderMap cont;
      cont.add(":status", "100");
      stream_->encodeInformational(cont);
    }
  }
  if (end_stream) request_done_ = true;
  if (StreamObserver* observer = manager_.settings().observer) {
    record_.peer_identity = peerIdentity();
    record_.grpc = is_grpc_;
    observer->onRequestHeaders(*headers, record_);
    if (record_.details) {
      // Copies only for the access log and traced requests.
      record_.method.assign(headers->method());
      record_.path.assign(headers->path());
      if (auto authority = headers->get(":authority")) record_.authority.assign(*authority);
      else if (auto host = headers->get("host")) record_.authority.assign(*host);
      if (auto ua = headers->get("user-agent")) record_.user_agent.assign(*ua);
      if (auto id = headers->get("x-request-id")) record_.request_id.assign(*id);
      record_.downstream_address = remoteAddress().toString();
    }
  }
  handler_->onRequestHeaders(std::move(headers), end_stream);
  if (end_stream) requestEnded();
}

uint64_t ActiveStream::prepareUpstreamAttempt(HeaderMap& upstream_headers) {
  StreamObserver* observer = manager_.settings().observer;
  return observer != nullptr ? observer->onUpstreamAttempt(upstream_headers, record_) : 0;
}

void ActiveStream::onData(net::Buffer& data, bool end_stream) {
  touch();
  record_.request_bytes += data.length();
  if (end_stream) request_done_ = true;
  if (finished_ || response_done_) {
    data.clear();
  } else {
    handler_->onRequestData(data, end_stream);
  }
  if (end_stream) requestEnded();
}

void ActiveStream::onTrailers(HeaderMapPtr trailers) {
  touch();
  request_done_ = true;
  if (!finished_ && !response_done_) handler_->onRequestTrailers(std::move(trailers));
  requestEnded();
}

void ActiveStream::onReset(StreamResetReason reason, std::string_view detail) {
  stream_ = nullptr;
  if (finished_) return;
  manager_.counters().downstream_resets.inc();
  record_.downstream_reset = true;
  std::string why = "downstream reset (" + std::string(resetReasonName(reason)) + ")";
  if (!detail.empty()) why += ": " + std::string(detail);
  handler_->onDownstreamReset(why);
  finish();
}

void ActiveStream::onAboveWriteBufferHighWatermark() {
  if (!finished_) handler_->onDownstreamAboveWriteBufferHighWatermark();
}

void ActiveStream::onBelowWriteBufferLowWatermark() {
  if (!finished_) handler_->onDownstreamBelowWriteBufferLowWatermark();
}

void ActiveStream::encodeHeaders(HeaderMapPtr headers, bool end_stream) {
  if (finished_ || stream_ == nullptr) return;
  touch();
  response_started_ = true;
  response_status_ = headers->status();
  record_.status = response_status_;
  if (is_grpc_) {
    if (auto grpc_status = headers->get("grpc-status")) record_.grpc_status = noteGrpcStatus(*grpc_status);
  }
  const uint32_t cls = response_status_ / 100;
  if (cls >= 1 && cls <= 5) manager_.counters().responses_by_class[cls].inc();
  stream_->encodeHeaders(*headers, end_stream);
  if (end_stream) responseEnded();
}

void ActiveStream::encodeData(net::Buffer& data, bool end_stream) {
  if (finished_ || stream_ == nullptr) {
    data.clear();
    return;
  }
  touch();
  record_.response_bytes += data.length();
  stream_->encodeData(data, end_stream);
  if (end_stream) responseEnded();
}

void ActiveStream::encodeTrailers(HeaderMapPtr trailers) {
  if (finished_ || stream_ == nullptr) return;
  if (is_grpc_) {
    if (auto grpc_status = trailers->get("grpc-status")) record_.grpc_status = noteGrpcStatus(*grpc_status);
  }
  stream_->encodeTrailers(*trailers);
  responseEnded();
}

void ActiveStream::encodeInformational(const HeaderMap& headers) {
  if (finished_ || stream_ == nullptr) return;
  stream_->encodeInformational(headers);
}

void ActiveStream::sendLocalReply(uint32_t status, base::Error reason, std::string_view detail) {
  if (finished_ || stream_ == nullptr) return;
  manager_.counters().local_replies.inc(reason);
  record_.local_reply = base::errorName(reason);
  if (response_started_) {
    // Part of the real response already went out: a reset is the only honest
    // ending (a short body must never look complete).
    resetDownstream(reason, detail);
    return;
  }
  auto headers = std::make_unique<HeaderMap>();
  if (is_grpc_) {
    // A gRPC client reads the outcome from grpc-status, not :status: the
    // reply is trailers-only (HTTP 200) with the reason in grpc-message.
    headers->add(":status", "200");
    headers->add("content-type", "application/grpc");
    headers->add("grpc-status", std::to_string(grpcStatusFor(reason, status)));
    headers->add("grpc-message", grpcMessageEncode(detail));
    headers->add("x-remora-error", base::errorName(reason));
    encodeHeaders(std::move(headers), true);
    return;
  }
  headers->add(":status", std::to_string(status));
  headers->add("content-type", "text/plain");
  headers->add("x-remora-error", base::errorName(reason));
  std::string body = std::string(detail) + "\n";
  headers->add("content-length", std::to_string(body.size()));
  // A local reply ends the exchange; an HTTP/1 client still sending its body
  // gets Connection: close so the rest of it is never read as a new request.
  if (!request_done_ && manager_.protocol() != Protocol::kHttp2) headers->add("connection", "close");
  const bool head = is_head_;
  encodeHeaders(std::move(headers), head);
  if (!head && !finished_) {
    net::Buffer b(body);
    encodeData(b, true);
  }
}

void ActiveStream::resetDownstream(base::Error reason, std::string_view detail) {
  if (finished_) return;
  if (record_.local_reply.empty()) record_.local_reply = base::errorName(reason);
  Stream* s = stream_;
  stream_ = nullptr;
  if (s != nullptr) s->resetStream(StreamResetReason::kLocalReset);
  finish();
}

void ActiveStream::readDisableDownstream(bool disable) {
  if (stream_ != nullptr && !request_done_) stream_->readDisable(disable);
}

Protocol ActiveStream::protocol() const { return manager_.protocol(); }
const net::Address& ActiveStream::remoteAddress() const { return manager_.connection().remoteAddress(); }
const net::Address& ActiveStream::localAddress() const { return manager_.connection().localAddress(); }
const net::Address* ActiveStream::originalDestination() const {
  const net::Connection& c = manager_.connection();
  return c.localAddressRestored() ? &c.localAddress() : nullptr;
}
std::string_view ActiveStream::peerIdentity() const { return manager_.connection().peerIdentity(); }
net::Dispatcher& ActiveStream::dispatcher() { return manager_.connection().dispatcher(); }

void ActiveStream::abort(std::string_view reason) {
  if (finished_) return;
  Stream* s = stream_;
  stream_ = nullptr;
  if (s != nullptr) s->resetStream(StreamResetReason::kConnectionTermination);
  handler_->onDownstreamReset(reason);
  finish();
}

void ActiveStream::onIdleTimeout() {
  if (finished_) return;
  // Stop upstream work first; then answer if we still can, else reset.
  handler_->onDownstreamReset("stream idle timeout");
  if (!response_started_) {
    sendLocalReply(408, base::Error::kIdleTimeout, "the stream was idle for too long");
  } else {
    resetDownstream(base::Error::kIdleTimeout, "stream idle timeout");
  }
}

void ActiveStream::requestEnded() {
  if (request_timer_) request_timer_->disable();
  if (response_done_ && !finished_) finish();
}

void ActiveStream::responseEnded() {
  response_done_ = true;
  if (request_done_) {
    finish();
    return;
  }
  // The response finished first (an early error reply, say). The request
  // half is reset so the codec delivers nothing more to this stream: HTTP/2
  // sends RST_STREAM, HTTP/1 closes the connection once the response is out.
  if (stream_ != nullptr) {
    Stream* s = stream_;
    stream_ = nullptr;
    s->resetStream(StreamResetReason::kLocalReset);
  }
  finish();
}

void ActiveStream::finish() {
  if (finished_) return;
  finished_ = true;
  if (idle_timer_) idle_timer_->disable();
  if (request_timer_) request_timer_->disable();
  if (StreamObserver* observer = manager_.settings().observer) {
    record_.end = std::chrono::steady_clock::now();
    observer->onStreamEnd(record_);
  }
  manager_.onStreamDone(*this);
}

}  // namespace remora::http::manager
