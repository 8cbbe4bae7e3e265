// Entry points of the HTTP/1.1 codec: the connection manager makes a server
// codec per downstream HTTP/1 connection, the connection pool a client codec
// per upstream HTTP/1 connection. Worker-local, like the codecs they return.
//
// The concrete classes (Http1ServerCodec, Http1ClientCodec) document the
// HTTP/1-specific closing rules: wantsClose(), closeNow(), onTransportEof().
#pragma once

#include <memory>

#include "proxy/http/codec.h"

namespace remora::http::http1 {

std::unique_ptr<ServerCodec> makeHttp1ServerCodec(CodecTransport& transport, ServerCodecCallbacks& callbacks,
                                                  const CodecLimits& limits);

std::unique_ptr<ClientCodec> makeHttp1ClientCodec(CodecTransport& transport, ClientCodecCallbacks& callbacks,
                                                  const CodecLimits& limits);

}  // namespace remora::http::http1
