// GrpcStreamSession: the machinery behind one GrpcStream: the TCP
// connection, the HTTP/2 client codec and its one stream, message framing,
// flow control, keepalive and the end-of-call status.
//
// Internal to proxy/grpc; main thread (the dispatcher's). It is separate from
// GrpcStream so that the owner may destroy its GrpcStream from inside any
// callback (onMessage is called from deep inside the codec's dispatch): the
// GrpcStream then abandons the session, which stops calling back and is
// destroyed by deferred deletion once the loop iteration unwinds.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "proxy/grpc/grpc_status.h"
#include "proxy/grpc/grpc_stream.h"
#include "proxy/grpc/message_decoder.h"
#include "proxy/http/codec.h"
#include "proxy/net/connection.h"

namespace remora::grpc {

class GrpcStreamSession final : public net::ConnectionCallbacks,
                                public http::CodecTransport,
                                public http::ClientCodecCallbacks,
                                public net::DeferredDeletable,
                                private net::IterationEndTask {
 public:
  GrpcStreamSession(net::Dispatcher& dispatcher, GrpcStreamOptions options, GrpcStreamCallbacks& callbacks);
  ~GrpcStreamSession() override;

  void start();
  void sendMessage(std::string_view serialized);
  void finish();
  bool ready() const { return state_ == State::kOpen; }
  size_t queuedBytes() const { return pending_.length(); }
  // The owner let go: no more callbacks; the call is cancelled.
  void abandon();

  // net::ConnectionCallbacks
  void onData(net::Buffer& data, bool end_stream) override;
  void onEvent(net::ConnectionEvent event) override;
  void onAboveWriteBufferHighWatermark() override;
  void onBelowWriteBufferLowWatermark() override;
  // http::CodecTransport
  void write(net::Buffer& data) override;
  void readDisable(bool disable) override;
  // http::ClientCodecCallbacks
  void onGoAway() override { goaway_received_ = true; }
  void onPingAck() override;

 private:
  // The response half of the HTTP/2 stream. A separate object because
  // http::StreamCallbacks and net::ConnectionCallbacks share method names
  // (onData, the watermarks) with different meanings.
  class ResponseDecoder : public http::StreamCallbacks {
   public:
    explicit ResponseDecoder(GrpcStreamSession& session) : session_(session) {}
    void onHeaders(http::HeaderMapPtr headers, bool end_stream) override;
    void onData(net::Buffer& data, bool end_stream) override;
    void onTrailers(http::HeaderMapPtr trailers) override;
    void onReset(http::StreamResetReason reason, std::string_view detail) override;
    void onAboveWriteBufferHighWatermark() override;
    void onBelowWriteBufferLowWatermark() override;

   private:
    GrpcStreamSession& session_;
  };

  enum class State { kConnecting, kOpen, kClosed };

  void onConnected();
  void onConnectionClosed();
  void onConnectTimeout();
  http::HeaderMap requestHeaders() const;
  // Hands queued messages (and END_STREAM once finish() was called) to the
  // codec unless the stream is above its write watermark.
  void pump();
  bool deliverMessage(std::string message);
  // The peer's whole response is in: drop the stream pointer once both
  // directions are done (the codec forgets it then).
  void onRemoteEnd();

  // Keepalive: re-armed by every byte received.
  void noteActivity();
  void armKeepalive();
  void onKeepaliveTimer();

  // Ends the call with `status`: tears the connection down now, reports
  // onClose from a timer on the next loop iteration (never re-entrantly).
  void complete(GrpcStatus status);
  void teardown();
  // IterationEndTask: closes the connection once every codec operation of
  // this iteration has written its frames (teardown may run inside one).
  void onIterationEnd() override;
  void deliverClose();

  net::Dispatcher& dispatcher_;
  const GrpcStreamOptions options_;
  GrpcStreamCallbacks* callbacks_;  // null once abandoned or closed
  ResponseDecoder response_decoder_{*this};
  MessageDecoder message_decoder_;

  // Declared before codec_: the codec dies first and writes nothing then.
  net::ConnectionPtr connection_;
  std::unique_ptr<http::ClientCodec> codec_;
  http::Stream* stream_ = nullptr;  // null once reset or both directions ended

  net::TimerPtr connect_timer_;
  net::TimerPtr keepalive_timer_;
  net::TimerPtr ping_timeout_timer_;
  net::TimerPtr close_timer_;

  State state_ = State::kConnecting;
  net::Buffer pending_;  // framed messages not yet given to the codec
  bool finish_requested_ = false;
  bool end_sent_ = false;
  bool remote_ended_ = false;
  bool response_headers_seen_ = false;
  bool stream_above_ = false;
  bool ping_outstanding_ = false;
  bool goaway_received_ = false;
  bool in_dispatch_ = false;
  // A stream reset seen inside dispatch(): judged once dispatch returns,
  // because a connection-level protocol error resets every stream first.
  std::optional<GrpcStatus> reset_in_dispatch_;
  GrpcStatus close_status_;
};

}  // namespace remora::grpc
