#include "proxy/http/http1/http1_codec.h"

#include "proxy/http/http1/http1_client_codec.h"
#include "proxy/http/http1/http1_server_codec.h"

namespace remora::http::http1 {

std::unique_ptr<ServerCodec> makeHttp1ServerCodec(CodecTransport& transport, ServerCodecCallbacks& callbacks,
                                                  const CodecLimits& limits) {
  return std::make_unique<Http1ServerCodec>(transport, callbacks, limits);
}

std::unique_ptr<ClientCodec> makeHttp1ClientCodec(CodecTransport& transport, ClientCodecCallbacks& callbacks,
                                                  const CodecLimits& limits) {
  return std::make_unique<Http1ClientCodec>(transport, callbacks, limits);
}

}  // namespace remora::http::http1
