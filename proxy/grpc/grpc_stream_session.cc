#include "proxy/grpc/grpc_stream_session.h"

#include <algorithm>
#include <utility>

#include "proxy/http/http2/http2_codec.h"

#ifndef REMORA_VERSION
#define REMORA_VERSION "dev"
#endif

namespace remora::grpc {
namespace {

constexpr std::string_view kUserAgent = "remora-proxy/" REMORA_VERSION;
// How much of the queue goes to the codec per step while it is below its
// watermark: the codec's per-stream buffer may then overshoot its limit by
// at most this much.
constexpr size_t kPumpSliceBytes = 64 * 1024;

// A reset the peer or the connection caused is worth retrying (UNAVAILABLE);
// one that says the bytes were wrong is not (INTERNAL).
int resetStatus(http::StreamResetReason reason) {
  switch (reason) {
    case http::StreamResetReason::kProtocolError:
    case http::StreamResetReason::kOverflow:
      return kStatusInternal;
    default:
      return kStatusUnavailable;
  }
}

bool isGrpcContentType(std::string_view value) {
  // "application/grpc", "application/grpc+proto", "application/grpc;..."
  constexpr std::string_view kPrefix = "application/grpc";
  if (value.substr(0, kPrefix.size()) != kPrefix) return false;
  return value.size() == kPrefix.size() || value[kPrefix.size()] == '+' || value[kPrefix.size()] == ';';
}

}  // namespace

GrpcStreamSession::GrpcStreamSession(net::Dispatcher& dispatcher, GrpcStreamOptions options,
                                     GrpcStreamCallbacks& callbacks)
    : dispatcher_(dispatcher),
      options_(std::move(options)),
      callbacks_(&callbacks),
      message_decoder_(options_.max_message_bytes) {}

// Members go in reverse order: the codec (which may still hold a stream
// pointing at response_decoder_) before the connection, then the timers.
GrpcStreamSession::~GrpcStreamSession() { dispatcher_.cancelIterationEnd(*this); }

void GrpcStreamSession::start() {
  connection_ = options_.connect ? options_.connect(dispatcher_, options_.address)
                                 : net::connectTcp(dispatcher_, options_.address);
  connection_->setCallbacks(*this);
  connection_->setBufferLimits(options_.connection_buffer_limit);
  connect_timer_ = dispatcher_.createTimer([this] { onConnectTimeout(); });
  connect_timer_->enable(options_.connect_timeout);
}

void GrpcStreamSession::sendMessage(std::string_view serialized) {
  if (state_ == State::kClosed || finish_requested_) return;
  encodeMessage(serialized, pending_);
  pump();
}

void GrpcStreamSession::finish() {
  if (state_ == State::kClosed || finish_requested_) return;
  finish_requested_ = true;
  pump();
}

void GrpcStreamSession::abandon() {
  callbacks_ = nullptr;
  if (close_timer_) close_timer_->disable();
  if (state_ == State::kClosed) return;
  state_ = State::kClosed;
  teardown();
}

// ---- connection ----------------------------------------------------------------

void GrpcStreamSession::onConnectTimeout() {
  complete({kStatusUnavailable, "connect to " + options_.address.toString() + " timed out after " +
                                    std::to_string(options_.connect_timeout.count()) + " ms"});
}

void GrpcStreamSession::onEvent(net::ConnectionEvent event) {
  if (state_ == State::kClosed) return;  // our own close, or after the call ended
  if (event == net::ConnectionEvent::kConnected) {
    onConnected();
  } else {
    onConnectionClosed();
  }
}

void GrpcStreamSession::onConnected() {
  connect_timer_->disable();
  state_ = State::kOpen;
  codec_ = http::http2::makeHttp2ClientCodec(*this, *this, http::CodecLimits{});
  stream_ = &codec_->newStream(response_decoder_);
  stream_->encodeHeaders(requestHeaders(), /*end_stream=*/false);
  if (state_ != State::kOpen) return;  // the codec refused the stream (reported through onReset)
  keepalive_timer_ = dispatcher_.createTimer([this] { onKeepaliveTimer(); });
  ping_timeout_timer_ = dispatcher_.createTimer([this] {
    complete({kStatusUnavailable,
              "keepalive: PING not acknowledged within " + std::to_string(options_.keepalive_timeout.count()) + " ms"});
  });
  armKeepalive();
  pump();
  if (state_ == State::kOpen && callbacks_ != nullptr) callbacks_->onReady();
}

void GrpcStreamSession::onConnectionClosed() {
  const std::string reason(connection_->failureReason());
  if (state_ == State::kConnecting) {
    complete({kStatusUnavailable, "connect to " + options_.address.toString() +
                                      " failed: " + (reason.empty() ? std::string("connection closed") : reason)});
    return;
  }
  std::string message = goaway_received_ ? "connection closed after GOAWAY" : "connection closed by the server";
  if (!reason.empty()) message += ": " + reason;
  complete({kStatusUnavailable, std::move(message)});
}

void GrpcStreamSession::onData(net::Buffer& data, bool end_stream) {
  if (state_ != State::kOpen) {
    data.clear();
    return;
  }
  noteActivity();
  in_dispatch_ = true;
  const base::Status status = codec_->dispatch(data);
  in_dispatch_ = false;
  if (state_ != State::kOpen) return;  // ended (or abandoned) inside dispatch
  if (!status) {
    complete({kStatusInternal, "HTTP/2 error from the server: " + status.message()});
    return;
  }
  if (reset_in_dispatch_) {
    complete(std::move(*reset_in_dispatch_));
    return;
  }
  if (end_stream) {
    complete(
        {kStatusUnavailable, goaway_received_ ? "connection closed after GOAWAY" : "connection closed by the server"});
  }
}

void GrpcStreamSession::onAboveWriteBufferHighWatermark() {
  if (codec_) codec_->onTransportAboveHighWatermark();
}

void GrpcStreamSession::onBelowWriteBufferLowWatermark() {
  if (codec_) codec_->onTransportBelowLowWatermark();
}

void GrpcStreamSession::write(net::Buffer& data) {
  if (connection_ && connection_->state() != net::Connection::State::kClosed) {
    connection_->write(data, false);
  } else {
    data.clear();
  }
}

void GrpcStreamSession::readDisable(bool disable) {
  if (connection_ && connection_->state() != net::Connection::State::kClosed) connection_->readDisable(disable);
}

// ---- request -------------------------------------------------------------------

http::HeaderMap GrpcStreamSession::requestHeaders() const {
  http::HeaderMap headers;
  headers.add(":method", "POST");
  headers.add(":scheme", "http");
  headers.add(":path", options_.path);
  headers.add(":authority", options_.authority);
  headers.add("content-type", "application/grpc");
  // Required by gRPC servers: it tells them the client understands trailers.
  headers.add("te", "trailers");
  headers.add("user-agent", kUserAgent);
  for (const auto& [name, value] : options_.metadata) headers.add(name, value);
  return headers;
}

void GrpcStreamSession::pump() {
  // The codec takes whatever it is given, so it is fed in slices and only
  // while its stream is below its write watermark (its own buffer, the peer's
  // flow-control window and the socket all count): past that, messages wait
  // in pending_, and the codec holds at most about one buffer limit.
  while (state_ == State::kOpen && stream_ != nullptr && !stream_above_ && !end_sent_) {
    if (pending_.empty() && !finish_requested_) return;
    net::Buffer slice;
    slice.move(pending_, std::min(pending_.length(), kPumpSliceBytes));
    const bool end = finish_requested_ && pending_.empty();
    end_sent_ = end;
    stream_->encodeData(slice, end);
    if (end && remote_ended_) stream_ = nullptr;
  }
}

// ---- response ------------------------------------------------------------------

void GrpcStreamSession::ResponseDecoder::onHeaders(http::HeaderMapPtr headers, bool end_stream) {
  GrpcStreamSession& s = session_;
  if (s.state_ != State::kOpen) return;
  s.response_headers_seen_ = true;
  if (end_stream) s.onRemoteEnd();
  const uint32_t status = headers->status();
  if (status != 200) {
    s.complete({kStatusInternal, "HTTP status " + std::to_string(status)});
    return;
  }
  if (end_stream) {
    // Trailers-only: the status is in the headers.
    s.complete(statusFromTrailers(*headers));
    return;
  }
  const std::string_view content_type = headers->get("content-type").value_or("");
  if (!isGrpcContentType(content_type)) {
    s.complete({kStatusInternal, "response content-type '" + std::string(content_type) + "' is not application/grpc"});
  }
}

void GrpcStreamSession::ResponseDecoder::onData(net::Buffer& data, bool end_stream) {
  GrpcStreamSession& s = session_;
  if (s.state_ != State::kOpen) {
    data.clear();
    return;
  }
  std::optional<GrpcStatus> error =
      s.message_decoder_.decode(data, [&s](std::string message) { return s.deliverMessage(std::move(message)); });
  if (s.state_ != State::kOpen) return;
  if (error) {
    s.complete(std::move(*error));
    return;
  }
  if (end_stream) {
    s.onRemoteEnd();
    s.complete({kStatusInternal, "the stream ended without trailers"});
  }
}

void GrpcStreamSession::ResponseDecoder::onTrailers(http::HeaderMapPtr trailers) {
  GrpcStreamSession& s = session_;
  if (s.state_ != State::kOpen) return;
  s.onRemoteEnd();
  if (s.message_decoder_.hasPartialMessage()) {
    s.complete({kStatusInternal, "the stream ended inside a message (" +
                                     std::to_string(s.message_decoder_.bufferedBytes()) + " bytes of it received)"});
    return;
  }
  s.complete(statusFromTrailers(*trailers));
}

void GrpcStreamSession::ResponseDecoder::onReset(http::StreamResetReason reason, std::string_view detail) {
  GrpcStreamSession& s = session_;
  s.stream_ = nullptr;  // the codec forgets the stream after this event
  if (s.state_ != State::kOpen) return;
  GrpcStatus status{resetStatus(reason),
                    "stream reset (" + std::string(http::resetReasonName(reason)) + "): " + std::string(detail)};
  if (s.in_dispatch_) {
    if (!s.reset_in_dispatch_) s.reset_in_dispatch_ = std::move(status);
    return;
  }
  s.complete(std::move(status));
}

void GrpcStreamSession::ResponseDecoder::onAboveWriteBufferHighWatermark() { session_.stream_above_ = true; }

void GrpcStreamSession::ResponseDecoder::onBelowWriteBufferLowWatermark() {
  session_.stream_above_ = false;
  session_.pump();
}

bool GrpcStreamSession::deliverMessage(std::string message) {
  if (state_ != State::kOpen || callbacks_ == nullptr) return false;
  callbacks_->onMessage(std::move(message));
  // The owner may have destroyed the GrpcStream (abandon) or the call may
  // have ended meanwhile: then the rest of the input has nobody to go to.
  return state_ == State::kOpen && callbacks_ != nullptr;
}

void GrpcStreamSession::onRemoteEnd() {
  remote_ended_ = true;
  if (end_sent_) stream_ = nullptr;
}

// ---- keepalive -----------------------------------------------------------------

void GrpcStreamSession::noteActivity() {
  // Any byte from the server proves it is alive, the PING's ACK included.
  if (ping_outstanding_) {
    ping_outstanding_ = false;
    ping_timeout_timer_->disable();
  }
  armKeepalive();
}

void GrpcStreamSession::armKeepalive() {
  if (state_ != State::kOpen || !keepalive_timer_ || options_.keepalive_interval.count() <= 0) return;
  if (!ping_outstanding_) keepalive_timer_->enable(options_.keepalive_interval);
}

void GrpcStreamSession::onKeepaliveTimer() {
  if (state_ != State::kOpen) return;
  if (!codec_->sendPing()) {
    complete({kStatusUnavailable, "keepalive: the connection cannot send a PING"});
    return;
  }
  ping_outstanding_ = true;
  ping_timeout_timer_->enable(options_.keepalive_timeout);
}

void GrpcStreamSession::onPingAck() {
  // noteActivity() already ran for the bytes that carried it.
  if (ping_outstanding_) {
    ping_outstanding_ = false;
    ping_timeout_timer_->disable();
    armKeepalive();
  }
}

// ---- the end -------------------------------------------------------------------

void GrpcStreamSession::complete(GrpcStatus status) {
  if (state_ == State::kClosed) return;
  state_ = State::kClosed;
  close_status_ = std::move(status);
  teardown();
  if (callbacks_ == nullptr) return;
  close_timer_ = dispatcher_.createTimer([this] { deliverClose(); });
  close_timer_->enable(std::chrono::milliseconds(0));
}

void GrpcStreamSession::teardown() {
  if (connect_timer_) connect_timer_->disable();
  if (keepalive_timer_) keepalive_timer_->disable();
  if (ping_timeout_timer_) ping_timeout_timer_->disable();
  pending_.clear();
  if (stream_ != nullptr) {
    http::Stream* stream = stream_;
    stream_ = nullptr;
    // A local reset fires no callbacks: RST_STREAM CANCEL to the server.
    stream->resetStream(http::StreamResetReason::kLocalReset);
  }
  if (codec_) codec_->goAway();
  // Not closed here: inside dispatch() the codec writes the RST_STREAM and
  // GOAWAY only when its outermost operation ends, after this returns.
  if (connection_) dispatcher_.scheduleIterationEnd(*this);
}

void GrpcStreamSession::onIterationEnd() {
  // Flushing lets the RST_STREAM and GOAWAY out, bounded by the connection's
  // delayed-close timeout (or cut short when we are destroyed).
  if (connection_->state() != net::Connection::State::kClosed) connection_->close(net::CloseType::kFlushWrite);
}

void GrpcStreamSession::deliverClose() {
  GrpcStreamCallbacks* callbacks = callbacks_;
  callbacks_ = nullptr;
  if (callbacks == nullptr) return;
  // Last use of `this`: the owner may destroy the GrpcStream in onClose.
  callbacks->onClose(close_status_.code, std::move(close_status_.message));
}

}  // namespace remora::grpc
