#include "proxy/http/http2/http2_codec.h"

#include "proxy/http/http2/http2_client_codec.h"
#include "proxy/http/http2/http2_server_codec.h"

namespace remora::http::http2 {

std::unique_ptr<ServerCodec> makeHttp2ServerCodec(CodecTransport& transport, ServerCodecCallbacks& callbacks,
                                                  const CodecLimits& limits, const Http2Options& options) {
  return std::make_unique<Http2ServerCodec>(transport, callbacks, limits, options);
}

std::unique_ptr<ClientCodec> makeHttp2ClientCodec(CodecTransport& transport, ClientCodecCallbacks& callbacks,
                                                  const CodecLimits& limits, const Http2Options& options) {
  return std::make_unique<Http2ClientCodec>(transport, callbacks, limits, options);
}

}  // namespace remora::http::http2
