#include "proxy/http/http2/http2_server_codec.h"

#include <catch2/catch.hpp>

#include "tests/unit/http/http2/h2_test_util.h"

namespace remora::testing::h2 {
namespace {

using http::CodecLimits;
using http::http2::makeHttp2ServerCodec;

// A server codec fed raw frames by a test playing the client.
struct RawClientFixture {
  explicit RawClientFixture(CodecLimits l = {}, http::http2::Http2Options o = {})
      : limits(l), codec(makeHttp2ServerCodec(transport, callbacks, limits, o)) {}

  base::Status send(const std::string& bytes) {
    net::Buffer b(bytes);
    return codec->dispatch(b);
  }
  base::Status handshake() { return send(kPreface + settingsFrame() + settingsAck()); }
  std::vector<ParsedFrame> output() { return parseFrames(transport.take()); }

  CodecLimits limits;
  PipeTransport transport;
  RecordingServer callbacks;
  std::unique_ptr<http::ServerCodec> codec;
  Hpack hpack;
};

TEST_CASE("a new server sends SETTINGS and widens the connection window at once", "[http2][server]") {
  CodecLimits limits;
  limits.max_concurrent_streams = 7;
  limits.initial_connection_window_size = 1024 * 1024;
  RawClientFixture f(limits);
  auto frames = f.output();
  REQUIRE(f.transport.writes == 1);
  const ParsedFrame* settings = findFrame(frames, kSettings);
  REQUIRE(settings != nullptr);
  bool saw_max_streams = false;
  for (size_t i = 0; i + 6 <= settings->payload.size(); i += 6) {
    uint16_t id = static_cast<uint16_t>(static_cast<uint8_t>(settings->payload[i]) << 8 |
                                        static_cast<uint8_t>(settings->payload[i + 1]));
    if (id == NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS) saw_max_streams = settings->u32(i + 2) == 7;
  }
  CHECK(saw_max_streams);
  const ParsedFrame* wu = findFrame(frames, kWindowUpdate);
  REQUIRE(wu != nullptr);
  CHECK(wu->u32(0) == 1024 * 1024 - 65535);
}

TEST_CASE("a request is decoded with pseudo-headers as header map entries", "[http2][server]") {
  RawClientFixture f;
  REQUIRE(f.handshake());
  f.transport.take();
  auto block = f.hpack.requestBlock("/items?id=1", {{"cookie", "a=1"}, {"cookie", "b=2"}, {"x-trace", "t"}});
  REQUIRE(f.send(frame(kHeaders, kEndHeaders | kEndStream, 1, block)));
  REQUIRE(f.callbacks.streams.size() == 1);
  RecordingStream& s = *f.callbacks.streams[0];
  REQUIRE(s.headers);
  CHECK(s.headers_end_stream);
  CHECK(s.headers->method() == "GET");
  CHECK(s.headers->path() == "/items?id=1");
  CHECK(s.headers->authority() == "example.com");
  CHECK(s.headers->scheme() == "http");
  CHECK(s.headers->get("cookie") == "a=1; b=2");
  CHECK(s.headers->get("x-trace") == "t");
  CHECK(s.stream->streamId() == 1);
}

TEST_CASE("a response encoded inside onHeaders goes out in the same single write", "[http2][server]") {
  RawClientFixture f;
  REQUIRE(f.handshake());
  f.transport.take();
  f.callbacks.on_headers = [](RecordingStream& s) {
    HeaderMap h = responseHeaders("204");
    h.add("connection", "close");  // HTTP/1 leftovers must not reach an HTTP/2 peer
    h.add("transfer-encoding", "chunked");
    h.add("x-ok", "1");
    s.stream->encodeHeaders(h, true);
  };
  const int writes_before = f.transport.writes;
  REQUIRE(f.send(frame(kHeaders, kEndHeaders | kEndStream, 1, f.hpack.requestBlock())));
  CHECK(f.transport.writes == writes_before + 1);
  auto frames = f.output();
  const ParsedFrame* h = findFrame(frames, kHeaders, 1);
  REQUIRE(h != nullptr);
  CHECK((h->flags & kEndStream) != 0);
  auto fields = f.hpack.decode(h->payload);
  CHECK(valueOf(fields, ":status") == "204");
  CHECK(valueOf(fields, "x-ok") == "1");
  CHECK(valueOf(fields, "connection").empty());
  CHECK(valueOf(fields, "transfer-encoding").empty());
  CHECK(f.codec->activeStreams() == 0);
}

TEST_CASE("RST_STREAM from the client resets the stream as a remote reset", "[http2][server]") {
  RawClientFixture f;
  REQUIRE(f.handshake());
  REQUIRE(f.send(frame(kHeaders, kEndHeaders, 1, f.hpack.requestBlock())));
  REQUIRE(f.callbacks.streams.size() == 1);
  REQUIRE(f.send(rstFrame(1, NGHTTP2_CANCEL)));
  RecordingStream& s = *f.callbacks.streams[0];
  REQUIRE(s.reset.has_value());
  CHECK(*s.reset == StreamResetReason::kRemoteReset);
  CHECK(f.codec->activeStreams() == 0);
}

TEST_CASE("streams beyond max concurrent streams are refused with REFUSED_STREAM", "[http2][server]") {
  CodecLimits limits;
  limits.max_concurrent_streams = 2;
  RawClientFixture f(limits);
  f.transport.take();
  // The client opens three streams before it has seen our SETTINGS.
  std::string bytes = kPreface + settingsFrame();
  bytes += frame(kHeaders, kEndHeaders, 1, f.hpack.requestBlock("/1"));
  bytes += frame(kHeaders, kEndHeaders, 3, f.hpack.requestBlock("/3"));
  bytes += frame(kHeaders, kEndHeaders, 5, f.hpack.requestBlock("/5"));
  REQUIRE(f.send(bytes));
  CHECK(f.callbacks.streams.size() == 2);
  auto frames = f.output();
  const ParsedFrame* rst = findFrame(frames, kRstStream, 5);
  REQUIRE(rst != nullptr);
  CHECK(rst->u32(0) == NGHTTP2_REFUSED_STREAM);
  CHECK(findFrame(frames, kGoAway) == nullptr);
}

TEST_CASE("rapid reset beyond the per-second limit ends the connection with GOAWAY", "[http2][server][flood]") {
  CodecLimits limits;
  limits.max_resets_per_second = 10;
  FakeClock clock;
  RawClientFixture f(limits, clock.options());
  REQUIRE(f.handshake());
  uint32_t id = 1;
  auto open_and_cancel = [&](int n) {
    std::string bytes;
    for (int i = 0; i < n; ++i, id += 2) {
      bytes += frame(kHeaders, kEndHeaders, id, f.hpack.requestBlock());
      bytes += rstFrame(id, NGHTTP2_CANCEL);
    }
    return f.send(bytes);
  };
  // Ten a second, second after second, is within the limit.
  REQUIRE(open_and_cancel(10));
  clock.now += std::chrono::milliseconds(1000);
  REQUIRE(open_and_cancel(10));
  f.transport.take();
  // An eleventh within the same second is a flood; the rest of the attack
  // in the same read is not even parsed.
  auto status = open_and_cancel(100);
  REQUIRE_FALSE(status);
  CHECK(status.code() == base::Error::kFlood);
  auto frames = f.output();
  const ParsedFrame* goaway = findFrame(frames, kGoAway);
  REQUIRE(goaway != nullptr);
  CHECK(goaway->u32(4) == NGHTTP2_ENHANCE_YOUR_CALM);
  CHECK(f.codec->wantsClose());
  CHECK(f.codec->closeNow());
  // Streams opened after the flood was detected were never processed.
  CHECK(f.callbacks.streams.size() <= 22);
  CHECK_FALSE(f.send(frame(kHeaders, kEndHeaders, 999, f.hpack.requestBlock())));
}

TEST_CASE("too many CONTINUATION frames end the connection", "[http2][server][flood]") {
  CodecLimits limits;
  limits.max_continuation_frames = 4;
  RawClientFixture f(limits);
  REQUIRE(f.handshake());
  f.transport.take();
  std::string block = f.hpack.requestBlock("/", {{"x-a", "1"}, {"x-b", "2"}, {"x-c", "3"}, {"x-d", "4"}});
  // One byte per frame: many more CONTINUATIONs than allowed.
  std::string bytes = frame(kHeaders, 0, 1, block.substr(0, 1));
  for (size_t i = 1; i < block.size(); ++i) {
    bytes += frame(kContinuation, i + 1 == block.size() ? kEndHeaders : 0, 1, block.substr(i, 1));
  }
  REQUIRE(block.size() > 10);
  auto status = f.send(bytes);
  REQUIRE_FALSE(status);
  CHECK(status.code() == base::Error::kFlood);
  CHECK(f.callbacks.streams.empty());
  REQUIRE(findFrame(f.output(), kGoAway) != nullptr);
}

TEST_CASE("a CONTINUATION stream over the header size limit is cut off before it is buffered",
          "[http2][server][flood]") {
  CodecLimits limits;
  limits.max_request_headers_kb = 4;  // blocks over 20 KiB encoded are abuse
  limits.max_continuation_frames = 1000;
  RawClientFixture f(limits);
  REQUIRE(f.handshake());
  f.transport.take();
  // A header block that would decode to 256 KiB, sent 4 KiB per frame.
  std::vector<std::pair<std::string, std::string>> junk;
  for (int i = 0; i < 64; ++i) junk.emplace_back("x-junk-" + std::to_string(i), std::string(4000, 'j'));
  std::string block = f.hpack.requestBlock("/", junk);
  std::string bytes = frame(kHeaders, 0, 1, block.substr(0, 4096));
  for (size_t off = 4096; off < block.size(); off += 4096) {
    bytes += frame(kContinuation, off + 4096 >= block.size() ? kEndHeaders : 0, 1, block.substr(off, 4096));
  }
  const int writes_before = f.transport.writes;
  auto status = f.send(bytes);
  REQUIRE_FALSE(status);
  CHECK(status.code() == base::Error::kFlood);
  CHECK(f.transport.writes == writes_before + 1);
  auto out = f.output();
  const ParsedFrame* goaway = findFrame(out, kGoAway);
  REQUIRE(goaway != nullptr);
  CHECK(goaway->u32(4) == NGHTTP2_ENHANCE_YOUR_CALM);
}

TEST_CASE("a PING flood ends the connection with GOAWAY", "[http2][server][flood]") {
  CodecLimits limits;
  limits.max_outbound_control_frames = 100;
  RawClientFixture f(limits);
  REQUIRE(f.handshake());
  std::string pings;
  for (int i = 0; i < 1000; ++i) pings += pingFrame(static_cast<uint64_t>(i));
  auto status = f.send(pings);
  REQUIRE_FALSE(status);
  CHECK(status.code() == base::Error::kFlood);
  auto frames = f.output();
  REQUIRE(findFrame(frames, kGoAway) != nullptr);
  size_t acks = 0;
  for (const auto& fr : frames) acks += fr.type == kPing;
  CHECK(acks <= 101);  // the queue was bounded, not 1000 deep
}

TEST_CASE("PINGs queued while the transport is full count toward the flood limit", "[http2][server][flood]") {
  CodecLimits limits;
  limits.max_outbound_control_frames = 50;
  RawClientFixture f(limits);
  REQUIRE(f.handshake());
  f.codec->onTransportAboveHighWatermark();
  base::Status status;
  int rounds = 0;
  for (; rounds < 100 && status; ++rounds) status = f.send(pingFrame() + pingFrame());
  REQUIRE_FALSE(status);
  CHECK(status.code() == base::Error::kFlood);
  CHECK(rounds <= 26);
}

TEST_CASE("a request whose headers exceed the size limit gets 431 and never reaches the router", "[http2][server]") {
  CodecLimits limits;
  limits.max_request_headers_kb = 1;
  RawClientFixture f(limits);
  REQUIRE(f.handshake());
  f.transport.take();
  auto block = f.hpack.requestBlock("/", {{"x-big", std::string(2000, 'a')}});
  REQUIRE(f.send(frame(kHeaders, kEndHeaders | kEndStream, 1, block)));
  CHECK(f.callbacks.streams.empty());
  auto frames = f.output();
  const ParsedFrame* h = findFrame(frames, kHeaders, 1);
  REQUIRE(h != nullptr);
  auto fields = f.hpack.decode(h->payload);
  CHECK(valueOf(fields, ":status") == "431");
  CHECK(valueOf(fields, "x-remora-error") == "headers_too_large");
  CHECK(findFrame(frames, kGoAway) == nullptr);
  // The connection carries on.
  REQUIRE(f.send(frame(kHeaders, kEndHeaders | kEndStream, 3, f.hpack.requestBlock())));
  CHECK(f.callbacks.streams.size() == 1);
}

TEST_CASE("an HPACK bomb decodes to no more than the header limit and gets 431", "[http2][server][flood]") {
  CodecLimits limits;
  limits.max_request_headers_kb = 16;
  RawClientFixture f(limits);
  REQUIRE(f.handshake());
  f.transport.take();
  // One 2000-byte field enters the dynamic table, then each repeat costs the
  // client one byte: a ~2 KiB block that decodes to 160 KiB.
  std::vector<std::pair<std::string, std::string>> bomb(80, {"x-bomb", std::string(2000, 'b')});
  std::string block = f.hpack.requestBlock("/", bomb);
  REQUIRE(block.size() < 3000);
  REQUIRE(f.send(frame(kHeaders, kEndHeaders | kEndStream, 1, block)));
  CHECK(f.callbacks.streams.empty());
  auto frames = f.output();
  const ParsedFrame* h = findFrame(frames, kHeaders, 1);
  REQUIRE(h != nullptr);
  CHECK(valueOf(f.hpack.decode(h->payload), ":status") == "431");
  CHECK_FALSE(f.codec->wantsClose());
}

TEST_CASE("a SETTINGS flood ends the connection", "[http2][server][flood]") {
  CodecLimits limits;
  limits.max_outbound_control_frames = 20;
  RawClientFixture f(limits);
  REQUIRE(f.handshake());
  std::string flood;
  for (int i = 0; i < 200; ++i) flood += settingsFrame();
  auto status = f.send(flood);
  REQUIRE_FALSE(status);
  CHECK(status.code() == base::Error::kFlood);
  auto frames = f.output();
  REQUIRE(findFrame(frames, kGoAway) != nullptr);
}

TEST_CASE("a SETTINGS frame with too many entries ends the connection", "[http2][server][flood]") {
  RawClientFixture f;
  REQUIRE(f.handshake());
  std::string entries;
  for (int i = 0; i < 40; ++i) entries += std::string("\x00\x03", 2) + be32(100);  // MAX_CONCURRENT_STREAMS
  auto status = f.send(frame(kSettings, 0, 0, entries));
  REQUIRE_FALSE(status);
  CHECK(status.code() == base::Error::kFlood);
  auto frames = f.output();
  const ParsedFrame* goaway = findFrame(frames, kGoAway);
  REQUIRE(goaway != nullptr);
  CHECK(goaway->u32(4) == NGHTTP2_ENHANCE_YOUR_CALM);
}

TEST_CASE("a request with more header fields than allowed gets 431", "[http2][server]") {
  CodecLimits limits;
  limits.max_headers_count = 8;
  RawClientFixture f(limits);
  REQUIRE(f.handshake());
  f.transport.take();
  std::vector<std::pair<std::string, std::string>> extra;
  for (int i = 0; i < 20; ++i) extra.emplace_back("x-h" + std::to_string(i), "v");
  // With a body still to come: 431 then RST_STREAM(NO_ERROR), and the body is dropped.
  REQUIRE(f.send(frame(kHeaders, kEndHeaders, 1, f.hpack.requestBlock("/", extra))));
  REQUIRE(f.send(frame(kData, kEndStream, 1, "ignored")));
  CHECK(f.callbacks.streams.empty());
  auto frames = f.output();
  const ParsedFrame* h = findFrame(frames, kHeaders, 1);
  REQUIRE(h != nullptr);
  CHECK(valueOf(f.hpack.decode(h->payload), ":status") == "431");
  const ParsedFrame* rst = findFrame(frames, kRstStream, 1);
  REQUIRE(rst != nullptr);
  CHECK(rst->u32(0) == NGHTTP2_NO_ERROR);
}

TEST_CASE("a connection-level protocol error fails dispatch and terminates every stream", "[http2][server]") {
  RawClientFixture f;
  REQUIRE(f.handshake());
  REQUIRE(f.send(frame(kHeaders, kEndHeaders, 1, f.hpack.requestBlock())));
  REQUIRE(f.callbacks.streams.size() == 1);
  f.transport.take();
  // DATA on stream 0 is a connection error (RFC 9113 6.1).
  auto status = f.send(frame(kData, 0, 0, "x"));
  REQUIRE_FALSE(status);
  CHECK(status.code() == base::Error::kProtocol);
  RecordingStream& s = *f.callbacks.streams[0];
  REQUIRE(s.reset.has_value());
  CHECK(*s.reset == StreamResetReason::kConnectionTermination);
  auto out = f.output();
  const ParsedFrame* goaway = findFrame(out, kGoAway);
  REQUIRE(goaway != nullptr);
  CHECK(goaway->u32(4) == NGHTTP2_PROTOCOL_ERROR);
  CHECK(f.codec->wantsClose());
  CHECK(f.codec->activeStreams() == 0);
}

TEST_CASE("a bad preface fails dispatch", "[http2][server]") {
  RawClientFixture f;
  auto status = f.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  REQUIRE_FALSE(status);
  CHECK(status.code() == base::Error::kProtocol);
}

TEST_CASE("goAway lets the open stream finish and then wants to close", "[http2][server]") {
  RawClientFixture f;
  REQUIRE(f.handshake());
  REQUIRE(f.send(frame(kHeaders, kEndHeaders | kEndStream, 1, f.hpack.requestBlock())));
  f.transport.take();
  f.codec->goAway();
  auto out = f.output();
  const ParsedFrame* goaway = findFrame(out, kGoAway);
  REQUIRE(goaway != nullptr);
  CHECK(goaway->u32(0) == 1);  // last stream id
  CHECK(goaway->u32(4) == NGHTTP2_NO_ERROR);
  CHECK_FALSE(f.codec->wantsClose());
  // A stream opened after GOAWAY is ignored.
  REQUIRE(f.send(frame(kHeaders, kEndHeaders | kEndStream, 3, f.hpack.requestBlock())));
  CHECK(f.callbacks.streams.size() == 1);
  f.callbacks.streams[0]->stream->encodeHeaders(responseHeaders(), true);
  CHECK(f.codec->activeStreams() == 0);
  CHECK(f.codec->wantsClose());
}

TEST_CASE("a stream may reset itself from inside onHeaders", "[http2][server]") {
  RawClientFixture f;
  REQUIRE(f.handshake());
  f.callbacks.on_headers = [](RecordingStream& s) { s.stream->resetStream(StreamResetReason::kLocalReset); };
  f.transport.take();
  REQUIRE(f.send(frame(kHeaders, kEndHeaders, 1, f.hpack.requestBlock()) + frame(kData, 0, 1, "body")));
  RecordingStream& s = *f.callbacks.streams[0];
  CHECK_FALSE(s.reset.has_value());  // no callbacks for a local reset
  CHECK(s.body.empty());
  auto out = f.output();
  const ParsedFrame* rst = findFrame(out, kRstStream, 1);
  REQUIRE(rst != nullptr);
  CHECK(rst->u32(0) == NGHTTP2_CANCEL);
  CHECK(f.codec->activeStreams() == 0);
}

}  // namespace
}  // namespace remora::testing::h2
