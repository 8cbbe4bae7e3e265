// libFuzzer target for the HTTP/2 codec: arbitrary bytes from a peer, server
// side (bytes from a client, after our preface) and client side (bytes from a
// server, with requests in flight). Stream callbacks answer, reset and pause
// streams so the encode paths run against whatever the peer does.
//
// Input: byte 0 picks side, chunking and behaviour; the rest is the peer's.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "proxy/http/http2/http2_codec.h"

namespace {

using namespace remora;

struct NullTransport : http::CodecTransport {
  void write(net::Buffer& data) override {
    written += data.length();
    data.clear();
  }
  void readDisable(bool) override {}
  size_t written = 0;
};

struct FuzzStream : http::StreamCallbacks {
  void onHeaders(http::HeaderMapPtr headers, bool end_stream) override {
    if (stream == nullptr) return;
    switch ((behaviour + headers->size()) % 5) {
      case 0:
        respond(false);
        break;
      case 1:
        stream->resetStream(http::StreamResetReason::kLocalReset);
        stream = nullptr;
        break;
      case 2:
        stream->readDisable(true);
        paused = true;
        break;
      default:
        if (end_stream) respond(true);
        break;
    }
  }
  void onData(net::Buffer& data, bool end_stream) override {
    data.clear();
    if (stream != nullptr && end_stream) respond(true);
  }
  void onTrailers(http::HeaderMapPtr) override {
    if (stream != nullptr) respond(true);
  }
  void onReset(http::StreamResetReason, std::string_view) override { stream = nullptr; }
  void respond(bool with_trailers) {
    if (responded || stream == nullptr) return;
    responded = true;
    if (server) {
      http::HeaderMap h;
      h.add(":status", "200");
      h.add("content-type", "application/grpc");
      stream->encodeHeaders(h, false);
      net::Buffer body(std::string(behaviour * 97 % 40000, 'b'));
      stream->encodeData(body, !with_trailers);
      if (with_trailers) {
        http::HeaderMap t;
        t.add("grpc-status", "0");
        stream->encodeTrailers(t);
      }
    }
    if (paused && stream != nullptr) {
      paused = false;
      stream->readDisable(false);
    }
  }

  http::Stream* stream = nullptr;
  uint8_t behaviour = 0;
  bool server = true;
  bool responded = false;
  bool paused = false;
};

struct FuzzServer : http::ServerCodecCallbacks {
  void onNewStream(http::Stream& s) override {
    streams.push_back(std::make_unique<FuzzStream>());
    streams.back()->stream = &s;
    streams.back()->behaviour = static_cast<uint8_t>(behaviour + streams.size());
    s.setCallbacks(*streams.back());
  }
  std::vector<std::unique_ptr<FuzzStream>> streams;
  uint8_t behaviour = 0;
};

struct FuzzClient : http::ClientCodecCallbacks {};

http::CodecLimits fuzzLimits() {
  http::CodecLimits limits;
  limits.max_concurrent_streams = 16;
  limits.initial_stream_window_size = 65535;
  limits.initial_connection_window_size = 256 * 1024;
  limits.stream_buffer_limit = 16 * 1024;
  limits.max_request_headers_kb = 8;
  limits.max_headers_count = 32;
  limits.max_outbound_control_frames = 64;
  limits.max_resets_per_second = 20;
  limits.max_continuation_frames = 8;
  return limits;
}

template <typename Codec>
void feed(Codec& codec, const uint8_t* data, size_t size, size_t chunk) {
  while (size > 0) {
    size_t n = size < chunk ? size : chunk;
    net::Buffer in(std::string_view(reinterpret_cast<const char*>(data), n));
    if (!codec.dispatch(in)) return;
    data += n;
    size -= n;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t control = data[0];
  ++data;
  --size;
  const size_t chunk = (control & 0x0e) == 0 ? size + 1 : static_cast<size_t>(1) << ((control >> 1) & 0x7);
  NullTransport transport;
  http::CodecLimits limits = fuzzLimits();
  std::chrono::steady_clock::time_point now{};
  http::http2::Http2Options options;
  options.clock = [&now] { return now += std::chrono::milliseconds(10); };
  if (control & 1) {
    FuzzServer callbacks;
    callbacks.behaviour = control >> 4;
    auto codec = http::http2::makeHttp2ServerCodec(transport, callbacks, limits, options);
    feed(*codec, data, size, chunk);
    codec->goAway();
    (void)codec->wantsClose();
    return 0;
  }
  FuzzClient callbacks;
  auto codec = http::http2::makeHttp2ClientCodec(transport, callbacks, limits, options);
  std::vector<std::unique_ptr<FuzzStream>> streams;
  for (int i = 0; i < 3; ++i) {
    streams.push_back(std::make_unique<FuzzStream>());
    FuzzStream& fs = *streams.back();
    fs.server = false;
    fs.behaviour = static_cast<uint8_t>((control >> 4) + i);
    http::Stream& s = codec->newStream(fs);
    fs.stream = &s;
    http::HeaderMap h;
    h.add(":method", i == 0 ? "GET" : "POST");
    h.add(":path", "/svc/Method");
    h.add("host", "upstream");
    s.encodeHeaders(h, i == 0);
    if (i > 0 && fs.stream != nullptr) {
      net::Buffer body(std::string(1000 * i, 'q'));
      fs.stream->encodeData(body, i == 1);
      if (i == 2 && fs.stream != nullptr) {
        http::HeaderMap t;
        t.add("x-sum", "1");
        fs.stream->encodeTrailers(t);
      }
    }
  }
  feed(*codec, data, size, chunk);
  codec->goAway();
  return 0;
}
