// Http2ServerCodec: the downstream side of an HTTP/2 connection. Each request
// stream is announced through ServerCodecCallbacks::onNewStream once its
// header block is complete and within limits; a block over the header limits
// is answered with 431 here and never reaches the router.
//
// Worker-local; created by makeHttp2ServerCodec() for a connection whose
// first bytes are the HTTP/2 preface (or ALPN said h2).
#pragma once

#include "proxy/http/codec.h"
#include "proxy/http/http2/http2_connection.h"

namespace remora::http::http2 {

class Http2ServerCodec final : public ServerCodec, public Http2Connection {
 public:
  Http2ServerCodec(CodecTransport& transport, ServerCodecCallbacks& callbacks, const CodecLimits& limits,
                   const Http2Options& options);

  base::Status dispatch(net::Buffer& data) override { return dispatchBytes(data); }
  bool closeNow() const override { return failed(); }
  // Graceful: GOAWAY names the last stream we took, those run to completion.
  void goAway() override { submitGoAway(); }
  bool wantsClose() const override { return wantsCloseNow(); }
  size_t activeStreams() const override { return liveStreams(); }
  Protocol protocol() const override { return Protocol::kHttp2; }
  void onTransportAboveHighWatermark() override { relayTransportAbove(); }
  void onTransportBelowLowWatermark() override { relayTransportBelow(); }

 private:
  int onBeginHeaders(const nghttp2_frame& frame) override;
  void onHeadersComplete(Http2Stream& stream, const nghttp2_frame& frame) override;
  // 431 for a request whose headers broke a limit; RST_STREAM(NO_ERROR)
  // after it if the client is still sending (RFC 9113 8.1).
  void rejectRequest(Http2Stream& stream, bool end_stream);

  ServerCodecCallbacks& callbacks_;
};

}  // namespace remora::http::http2
