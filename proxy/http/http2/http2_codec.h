// Factories for the HTTP/2 codecs (nghttp2 underneath). This is the header
// the rest of the proxy includes: it names no nghttp2 type, so the library
// stays inside proxy/http/http2.
//
// A codec is worker-local: it lives on the thread of the connection that
// carries it and is driven only from there (dispatch, encode*, watermarks).
#pragma once

#include <chrono>
#include <functional>
#include <memory>

#include "proxy/http/codec.h"

namespace remora::http::http2 {

struct Http2Options {
  // The clock of the rapid-reset window; steady_clock::now() when empty.
  // Tests inject a fake one instead of sleeping.
  std::function<std::chrono::steady_clock::time_point()> clock;
};

// The codec sends its SETTINGS (and connection WINDOW_UPDATE) through
// `transport` from inside the factory, so the transport must accept writes.
std::unique_ptr<ServerCodec> makeHttp2ServerCodec(CodecTransport& transport, ServerCodecCallbacks& callbacks,
                                                  const CodecLimits& limits, const Http2Options& options = {});

// Writes the connection preface and SETTINGS from inside the factory.
std::unique_ptr<ClientCodec> makeHttp2ClientCodec(CodecTransport& transport, ClientCodecCallbacks& callbacks,
                                                  const CodecLimits& limits, const Http2Options& options = {});

}  // namespace remora::http::http2
