// Http2ClientCodec: the upstream side of an HTTP/2 connection, one request
// per stream, many streams at once. Used by the HTTP/2 connection pool and by
// the proxy's gRPC client (xDS over ADS).
//
// Worker-local; created by makeHttp2ClientCodec() once the transport is
// connected (and, over TLS, ALPN chose h2).
#pragma once

#include "proxy/http/codec.h"
#include "proxy/http/http2/http2_connection.h"

namespace remora::http::http2 {

class Http2ClientCodec final : public ClientCodec, public Http2Connection {
 public:
  Http2ClientCodec(CodecTransport& transport, ClientCodecCallbacks& callbacks, const CodecLimits& limits,
                   const Http2Options& options);

  // The stream has no id until encodeHeaders() submits the request.
  Stream& newStream(StreamCallbacks& response_callbacks) override;
  base::Status dispatch(net::Buffer& data) override { return dispatchBytes(data); }
  void goAway() override { submitGoAway(); }
  size_t activeStreams() const override { return liveStreams(); }
  bool canCreateStream() const override;
  Protocol protocol() const override { return Protocol::kHttp2; }
  void onTransportAboveHighWatermark() override { relayTransportAbove(); }
  void onTransportBelowLowWatermark() override { relayTransportBelow(); }
  bool sendPing() override { return submitPing(); }

 private:
  int onBeginHeaders(const nghttp2_frame& frame) override;
  void onHeadersComplete(Http2Stream& stream, const nghttp2_frame& frame) override;
  void onGoAwayFrame(const nghttp2_goaway& goaway) override;
  void onSettingsFrame() override;
  void onPingAckFrame() override { callbacks_.onPingAck(); }

  ClientCodecCallbacks& callbacks_;
  uint32_t peer_max_streams_ = 0;
};

}  // namespace remora::http::http2
