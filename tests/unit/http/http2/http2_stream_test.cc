#include "proxy/http/http2/http2_stream.h"

#include <catch2/catch.hpp>

#include "tests/unit/http/http2/h2_test_util.h"

namespace remora::testing::h2 {
namespace {

using http::CodecLimits;

constexpr uint32_t kWindow = 65535;

TEST_CASE("readDisable stops window updates so the peer stops at the window, and re-enabling resumes",
          "[http2][stream][flow]") {
  CodecLimits server_limits;
  server_limits.initial_stream_window_size = kWindow;
  BackToBack b(CodecLimits{}, server_limits);
  b.server_callbacks.on_headers = [](RecordingStream& s) { s.stream->readDisable(true); };
  RecordingStream response;
  http::Stream& upload = b.client->newStream(response);
  upload.encodeHeaders(requestHeaders("POST", "/big"), false);
  constexpr size_t kBody = 300 * 1024;
  net::Buffer body(std::string(kBody, 'z'));
  upload.encodeData(body, true);
  b.pump();

  REQUIRE(b.server_callbacks.streams.size() == 1);
  RecordingStream& server_side = *b.server_callbacks.streams[0];
  CHECK(server_side.body.empty());  // nothing delivered while disabled
  CHECK_FALSE(server_side.ended);

  // Re-enabling hands over exactly what the window let through...
  server_side.stream->readDisable(false);
  CHECK(server_side.body.size() == kWindow);
  // ...and the WINDOW_UPDATE it sends lets the rest flow.
  b.pump();
  CHECK(server_side.body.size() == kBody);
  CHECK(server_side.ended);
}

TEST_CASE("readDisable calls nest", "[http2][stream][flow]") {
  CodecLimits server_limits;
  server_limits.initial_stream_window_size = kWindow;
  BackToBack b(CodecLimits{}, server_limits);
  b.server_callbacks.on_headers = [](RecordingStream& s) {
    s.stream->readDisable(true);
    s.stream->readDisable(true);
  };
  RecordingStream response;
  http::Stream& upload = b.client->newStream(response);
  upload.encodeHeaders(requestHeaders("POST", "/"), false);
  net::Buffer body(std::string(1000, 'a'));
  upload.encodeData(body, true);
  b.pump();
  RecordingStream& server_side = *b.server_callbacks.streams[0];
  server_side.stream->readDisable(false);
  CHECK(server_side.body.empty());
  server_side.stream->readDisable(false);
  CHECK(server_side.body.size() == 1000);
  CHECK(server_side.ended);
}

TEST_CASE("disabling reading inside onData withholds that data's credit until re-enabled", "[http2][stream][flow]") {
  CodecLimits server_limits;
  server_limits.initial_stream_window_size = kWindow;
  BackToBack b(CodecLimits{}, server_limits);
  b.server_callbacks.on_data = [](RecordingStream& s) {
    if (s.body.size() >= 40000) s.stream->readDisable(true);
  };
  RecordingStream response;
  http::Stream& upload = b.client->newStream(response);
  upload.encodeHeaders(requestHeaders("POST", "/"), false);
  constexpr size_t kBody = 200 * 1024;
  net::Buffer body(std::string(kBody, 'q'));
  upload.encodeData(body, true);
  b.pump();
  RecordingStream& server_side = *b.server_callbacks.streams[0];
  // Delivery stopped at the first frame past 40000 and the peer stays within
  // one window of what was taken.
  CHECK(server_side.body.size() >= 40000);
  CHECK(server_side.body.size() < kBody);
  b.server_callbacks.on_data = nullptr;
  server_side.on_data = nullptr;
  server_side.stream->readDisable(false);
  b.pump();
  CHECK(server_side.body.size() == kBody);
  CHECK(server_side.ended);
}

TEST_CASE("a stream over its buffer limit signals above, and below once drained under half",
          "[http2][stream][watermark]") {
  CodecLimits client_limits;
  client_limits.stream_buffer_limit = 64 * 1024;
  CodecLimits server_limits;
  server_limits.initial_stream_window_size = kWindow;
  BackToBack b(client_limits, server_limits);
  RecordingStream response;
  http::Stream& upload = b.client->newStream(response);
  upload.encodeHeaders(requestHeaders("POST", "/"), false);
  net::Buffer small(std::string(32 * 1024, 's'));
  upload.encodeData(small, false);
  CHECK(response.above == 0);
  net::Buffer big(std::string(200 * 1024, 'b'));
  upload.encodeData(big, false);
  CHECK(response.above == 1);
  CHECK(response.below == 0);
  b.pump();
  CHECK(response.below == 1);
  net::Buffer end;
  upload.encodeData(end, true);
  b.pump();
  REQUIRE(b.server_callbacks.streams.size() == 1);
  CHECK(b.server_callbacks.streams[0]->body.size() == 232 * 1024);
  CHECK(b.server_callbacks.streams[0]->ended);
}

TEST_CASE("transport watermarks are relayed to every stream", "[http2][stream][watermark]") {
  BackToBack b;
  RecordingStream r1, r2;
  b.client->newStream(r1).encodeHeaders(requestHeaders(), false);
  b.client->newStream(r2).encodeHeaders(requestHeaders(), false);
  b.client->onTransportAboveHighWatermark();
  CHECK(r1.above == 1);
  CHECK(r2.above == 1);
  b.client->onTransportBelowLowWatermark();
  CHECK(r1.below == 1);
  CHECK(r2.below == 1);
}

TEST_CASE("nothing is written while the transport is above its watermark", "[http2][stream][watermark]") {
  BackToBack b;
  b.pump();
  RecordingStream r;
  b.client->onTransportAboveHighWatermark();
  const int writes = b.client_transport.writes;
  b.client->newStream(r).encodeHeaders(requestHeaders(), true);
  CHECK(b.client_transport.writes == writes);
  b.client->onTransportBelowLowWatermark();
  CHECK(b.client_transport.writes == writes + 1);
  b.pump();
  CHECK(b.server_callbacks.streams.size() == 1);
}

TEST_CASE("a response encoded from inside onHeaders, body and all, reaches the client", "[http2][stream]") {
  BackToBack b;
  b.server_callbacks.on_headers = [](RecordingStream& s) {
    s.stream->encodeHeaders(responseHeaders(), false);
    net::Buffer d("inline");
    s.stream->encodeData(d, true);
  };
  RecordingStream response;
  b.client->newStream(response).encodeHeaders(requestHeaders(), true);
  b.pump();
  CHECK(response.body == "inline");
  CHECK(response.ended);
  CHECK(b.server->activeStreams() == 0);
}

TEST_CASE("the server may reset a stream from inside onData", "[http2][stream]") {
  BackToBack b;
  b.server_callbacks.on_data = [](RecordingStream& s) { s.stream->resetStream(StreamResetReason::kLocalReset); };
  RecordingStream response;
  http::Stream& s = b.client->newStream(response);
  s.encodeHeaders(requestHeaders("POST", "/"), false);
  net::Buffer d("first");
  s.encodeData(d, false);
  b.pump();
  REQUIRE(response.reset.has_value());
  CHECK(*response.reset == StreamResetReason::kRemoteReset);
  CHECK(b.server_callbacks.streams[0]->body == "first");
  CHECK_FALSE(b.server_callbacks.streams[0]->reset.has_value());
  CHECK(b.server->activeStreams() == 0);
  CHECK(b.client->activeStreams() == 0);
  CHECK(b.server_status);
}

TEST_CASE("data for a reset stream still returns connection window credit", "[http2][stream][flow]") {
  CodecLimits limits;
  limits.initial_stream_window_size = kWindow;
  limits.initial_connection_window_size = kWindow;
  BackToBack b(limits, limits);
  // Each request is reset by the server after its first chunk; the bytes the
  // client had in flight must not eat the connection window for good.
  b.server_callbacks.on_data = [](RecordingStream& s) { s.stream->resetStream(StreamResetReason::kLocalReset); };
  for (int i = 0; i < 8; ++i) {
    RecordingStream r;
    http::Stream& s = b.client->newStream(r);
    s.encodeHeaders(requestHeaders("POST", "/"), false);
    net::Buffer d(std::string(30000, 'x'));
    s.encodeData(d, false);
    b.pump();
  }
  // A final upload of more than one connection window still completes.
  b.server_callbacks.on_data = nullptr;
  RecordingStream last;
  http::Stream& s = b.client->newStream(last);
  s.encodeHeaders(requestHeaders("POST", "/last"), false);
  net::Buffer d(std::string(100000, 'y'));
  s.encodeData(d, true);
  b.pump();
  REQUIRE(b.server_callbacks.streams.size() == 9);
  b.server_callbacks.streams.back()->on_data = nullptr;
  CHECK(b.server_callbacks.streams.back()->body.size() == 100000);
}

}  // namespace
}  // namespace remora::testing::h2
