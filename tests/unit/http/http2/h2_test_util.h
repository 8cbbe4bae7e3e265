// Test helpers for the HTTP/2 codec: a transport that counts writes, stream
// and codec callbacks that record events, a pump that wires a client codec to
// a server codec back to back, and raw frame building/parsing (with nghttp2's
// HPACK coder) to play a misbehaving peer. Test-only, single-threaded.
#pragma once

#include <nghttp2/nghttp2.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "proxy/http/codec.h"
#include "proxy/http/http2/http2_codec.h"

namespace remora::testing::h2 {

using http::HeaderMap;
using http::HeaderMapPtr;
using http::StreamResetReason;

class PipeTransport : public http::CodecTransport {
 public:
  void write(net::Buffer& data) override {
    ++writes;
    pending.move(data);
  }
  void readDisable(bool disable) override { read_disabled += disable ? 1 : -1; }
  std::string take() {
    std::string out = pending.toString();
    pending.clear();
    return out;
  }
  net::Buffer pending;
  int writes = 0;
  int read_disabled = 0;
};

struct RecordingStream : http::StreamCallbacks {
  void onHeaders(HeaderMapPtr h, bool end_stream) override {
    headers = std::move(h);
    headers_end_stream = end_stream;
    if (end_stream) ended = true;
    if (on_headers) on_headers(*this);
  }
  void onData(net::Buffer& data, bool end_stream) override {
    chunks.push_back(data.length());
    body += data.toString();
    data.clear();
    if (end_stream) ended = true;
    if (on_data) on_data(*this);
  }
  void onTrailers(HeaderMapPtr t) override {
    trailers = std::move(t);
    ended = true;
  }
  void onInformational(HeaderMapPtr h) override { informational.push_back(std::move(h)); }
  void onReset(StreamResetReason r, std::string_view d) override {
    reset = r;
    reset_detail = std::string(d);
  }
  void onAboveWriteBufferHighWatermark() override { ++above; }
  void onBelowWriteBufferLowWatermark() override { ++below; }

  HeaderMapPtr headers;
  bool headers_end_stream = false;
  std::string body;
  std::vector<size_t> chunks;
  HeaderMapPtr trailers;
  std::vector<HeaderMapPtr> informational;
  bool ended = false;
  std::optional<StreamResetReason> reset;
  std::string reset_detail;
  int above = 0;
  int below = 0;
  http::Stream* stream = nullptr;  // server side: the stream these events belong to
  std::function<void(RecordingStream&)> on_headers;
  std::function<void(RecordingStream&)> on_data;
};

struct RecordingServer : http::ServerCodecCallbacks {
  void onNewStream(http::Stream& stream) override {
    streams.push_back(std::make_unique<RecordingStream>());
    RecordingStream& rs = *streams.back();
    rs.stream = &stream;
    rs.on_headers = on_headers;
    rs.on_data = on_data;
    stream.setCallbacks(rs);
  }
  std::vector<std::unique_ptr<RecordingStream>> streams;
  std::function<void(RecordingStream&)> on_headers;  // copied into each new stream
  std::function<void(RecordingStream&)> on_data;
};

struct RecordingClient : http::ClientCodecCallbacks {
  void onGoAway() override { ++goaways; }
  void onMaxConcurrentStreams(uint32_t n) override { max_streams = n; }
  void onPingAck() override { ++ping_acks; }
  int goaways = 0;
  int ping_acks = 0;
  uint32_t max_streams = 0;
};

// A fake steady clock the tests move by hand.
struct FakeClock {
  std::chrono::steady_clock::time_point now{};
  http::http2::Http2Options options() {
    http::http2::Http2Options o;
    o.clock = [this] { return now; };
    return o;
  }
};

inline HeaderMap requestHeaders(std::string_view method = "GET", std::string_view path = "/") {
  HeaderMap h;
  h.add(":method", method);
  h.add(":scheme", "http");
  h.add(":authority", "example.com");
  h.add(":path", path);
  return h;
}

inline HeaderMap responseHeaders(std::string_view status = "200") {
  HeaderMap h;
  h.add(":status", status);
  return h;
}

// A client codec and a server codec joined by two pipes.
struct BackToBack {
  explicit BackToBack(http::CodecLimits client_limits = {}, http::CodecLimits server_limits = {})
      : server(http::http2::makeHttp2ServerCodec(server_transport, server_callbacks, server_limits)),
        client(http::http2::makeHttp2ClientCodec(client_transport, client_callbacks, client_limits)) {}

  // Moves bytes both ways until neither side has anything to say.
  void pump(int max_rounds = 1000) {
    for (int i = 0; i < max_rounds; ++i) {
      bool moved = false;
      if (!client_transport.pending.empty()) {
        moved = true;
        server_status = server->dispatch(client_transport.pending);
      }
      if (!server_transport.pending.empty()) {
        moved = true;
        client_status = client->dispatch(server_transport.pending);
      }
      if (!moved) return;
    }
  }

  PipeTransport server_transport;
  PipeTransport client_transport;
  RecordingServer server_callbacks;
  RecordingClient client_callbacks;
  std::unique_ptr<http::ServerCodec> server;
  std::unique_ptr<http::ClientCodec> client;
  base::Status server_status;
  base::Status client_status;
};

// --- raw frames ---

constexpr uint8_t kData = 0x0, kHeaders = 0x1, kRstStream = 0x3, kSettings = 0x4, kPing = 0x6, kGoAway = 0x7,
                  kWindowUpdate = 0x8, kContinuation = 0x9;
constexpr uint8_t kEndStream = 0x1, kAck = 0x1, kEndHeaders = 0x4;

inline const std::string kPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

inline std::string be32(uint32_t v) {
  return std::string{static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
                     static_cast<char>(v)};
}

inline std::string frame(uint8_t type, uint8_t flags, uint32_t stream_id, std::string_view payload) {
  std::string out;
  const size_t n = payload.size();
  out += static_cast<char>(n >> 16);
  out += static_cast<char>(n >> 8);
  out += static_cast<char>(n);
  out += static_cast<char>(type);
  out += static_cast<char>(flags);
  out += be32(stream_id & 0x7fffffff);
  out.append(payload);
  return out;
}

inline std::string settingsFrame() { return frame(kSettings, 0, 0, ""); }
inline std::string settingsAck() { return frame(kSettings, kAck, 0, ""); }
inline std::string rstFrame(uint32_t id, uint32_t code) { return frame(kRstStream, 0, id, be32(code)); }
inline std::string pingFrame(uint64_t v = 0) {
  std::string p(8, '\0');
  for (int i = 0; i < 8; ++i) p[i] = static_cast<char>(v >> (56 - 8 * i));
  return frame(kPing, 0, 0, p);
}

struct ParsedFrame {
  uint8_t type;
  uint8_t flags;
  uint32_t stream_id;
  std::string payload;
  uint32_t u32(size_t offset) const {
    auto b = [&](size_t i) { return static_cast<uint32_t>(static_cast<uint8_t>(payload[offset + i])); };
    return b(0) << 24 | b(1) << 16 | b(2) << 8 | b(3);
  }
};

// Splits bytes written by a server codec (or, skipping the preface, a client) into frames.
inline std::vector<ParsedFrame> parseFrames(std::string_view bytes) {
  std::vector<ParsedFrame> out;
  if (bytes.substr(0, kPreface.size()) == kPreface) bytes.remove_prefix(kPreface.size());
  while (bytes.size() >= 9) {
    auto u = [&](size_t i) { return static_cast<uint32_t>(static_cast<uint8_t>(bytes[i])); };
    const size_t len = u(0) << 16 | u(1) << 8 | u(2);
    if (bytes.size() < 9 + len) break;
    out.push_back(ParsedFrame{static_cast<uint8_t>(u(3)), static_cast<uint8_t>(u(4)),
                              (u(5) << 24 | u(6) << 16 | u(7) << 8 | u(8)) & 0x7fffffff,
                              std::string(bytes.substr(9, len))});
    bytes.remove_prefix(9 + len);
  }
  return out;
}

inline const ParsedFrame* findFrame(const std::vector<ParsedFrame>& frames, uint8_t type, uint32_t stream_id = 0) {
  for (const auto& f : frames) {
    if (f.type == type && (stream_id == 0 || f.stream_id == stream_id)) return &f;
  }
  return nullptr;
}

// The HPACK side of a raw peer: encodes our header blocks, decodes the codec's.
class Hpack {
 public:
  Hpack() {
    nghttp2_hd_deflate_new(&deflater_, 4096);
    nghttp2_hd_inflate_new(&inflater_);
  }
  ~Hpack() {
    nghttp2_hd_deflate_del(deflater_);
    nghttp2_hd_inflate_del(inflater_);
  }
  Hpack(const Hpack&) = delete;
  Hpack& operator=(const Hpack&) = delete;

  std::string encode(const std::vector<std::pair<std::string, std::string>>& fields) {
    std::vector<nghttp2_nv> nva;
    for (const auto& [n, v] : fields) {
      nva.push_back(nghttp2_nv{reinterpret_cast<uint8_t*>(const_cast<char*>(n.data())),
                               reinterpret_cast<uint8_t*>(const_cast<char*>(v.data())), n.size(), v.size(),
                               NGHTTP2_NV_FLAG_NONE});
    }
    std::string out(nghttp2_hd_deflate_bound(deflater_, nva.data(), nva.size()), '\0');
    ssize_t n = nghttp2_hd_deflate_hd(deflater_, reinterpret_cast<uint8_t*>(out.data()), out.size(), nva.data(),
                                      nva.size());
    out.resize(n < 0 ? 0 : static_cast<size_t>(n));
    return out;
  }

  std::string requestBlock(std::string_view path = "/", std::vector<std::pair<std::string, std::string>> extra = {}) {
    std::vector<std::pair<std::string, std::string>> f = {
        {":method", "GET"}, {":scheme", "http"}, {":authority", "example.com"}, {":path", std::string(path)}};
    f.insert(f.end(), extra.begin(), extra.end());
    return encode(f);
  }

  // Decodes a whole header block (HEADERS payload without padding/priority).
  std::vector<std::pair<std::string, std::string>> decode(std::string_view block) {
    std::vector<std::pair<std::string, std::string>> out;
    auto* in = reinterpret_cast<const uint8_t*>(block.data());
    size_t left = block.size();
    for (;;) {
      nghttp2_nv nv;
      int flags = 0;
      ssize_t n = nghttp2_hd_inflate_hd2(inflater_, &nv, &flags, in, left, 1);
      if (n < 0) break;
      in += n;
      left -= static_cast<size_t>(n);
      if (flags & NGHTTP2_HD_INFLATE_EMIT) {
        out.emplace_back(std::string(reinterpret_cast<char*>(nv.name), nv.namelen),
                         std::string(reinterpret_cast<char*>(nv.value), nv.valuelen));
      }
      if (flags & NGHTTP2_HD_INFLATE_FINAL) {
        nghttp2_hd_inflate_end_headers(inflater_);
        break;
      }
      if (n == 0 && left == 0) break;
    }
    return out;
  }

 private:
  nghttp2_hd_deflater* deflater_ = nullptr;
  nghttp2_hd_inflater* inflater_ = nullptr;
};

inline std::string valueOf(const std::vector<std::pair<std::string, std::string>>& fields, std::string_view name) {
  for (const auto& [n, v] : fields) {
    if (n == name) return v;
  }
  return "";
}

}  // namespace remora::testing::h2
