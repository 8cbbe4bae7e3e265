#include "proxy/http/http2/http2_client_codec.h"

#include <catch2/catch.hpp>

#include "tests/unit/http/http2/h2_test_util.h"

namespace remora::testing::h2 {
namespace {

using http::CodecLimits;

std::string grpcFrame(std::string_view message) {
  std::string out(1, '\0');  // not compressed
  out += be32(static_cast<uint32_t>(message.size()));
  out.append(message);
  return out;
}

TEST_CASE("a request and response with bodies and trailers both ways round-trip intact", "[http2][client]") {
  BackToBack b;
  RecordingStream response;
  http::Stream& request = b.client->newStream(response);
  HeaderMap req = requestHeaders("POST", "/upload");
  req.add("x-req", "1");
  request.encodeHeaders(req, false);
  net::Buffer body("hello ");
  request.encodeData(body, false);
  CHECK(body.empty());
  net::Buffer more("world");
  request.encodeData(more, false);
  HeaderMap req_trailers;
  req_trailers.add("x-checksum", "abc");
  request.encodeTrailers(req_trailers);
  b.pump();

  REQUIRE(b.server_callbacks.streams.size() == 1);
  RecordingStream& server_side = *b.server_callbacks.streams[0];
  REQUIRE(server_side.headers);
  CHECK(server_side.headers->method() == "POST");
  CHECK(server_side.headers->get("x-req") == "1");
  CHECK(server_side.body == "hello world");
  REQUIRE(server_side.trailers);
  CHECK(server_side.trailers->get("x-checksum") == "abc");
  CHECK(request.streamId() == 1);

  HeaderMap resp = responseHeaders("200");
  resp.add("content-type", "text/plain");
  server_side.stream->encodeHeaders(resp, false);
  net::Buffer resp_body(std::string(100000, 'r'));
  server_side.stream->encodeData(resp_body, false);
  HeaderMap resp_trailers;
  resp_trailers.add("x-done", "yes");
  server_side.stream->encodeTrailers(resp_trailers);
  b.pump();

  REQUIRE(response.headers);
  CHECK(response.headers->status() == 200);
  CHECK(response.body == std::string(100000, 'r'));
  REQUIRE(response.trailers);
  CHECK(response.trailers->get("x-done") == "yes");
  CHECK_FALSE(response.reset.has_value());
  CHECK(b.client->activeStreams() == 0);
  CHECK(b.server->activeStreams() == 0);
  CHECK(b.server_status);
  CHECK(b.client_status);
}

TEST_CASE("end_stream is right for headers-only, data-then-end and empty-data-end", "[http2][client]") {
  BackToBack b;
  RecordingStream r1, r2, r3;
  b.client->newStream(r1).encodeHeaders(requestHeaders("GET", "/1"), true);
  http::Stream& s2 = b.client->newStream(r2);
  s2.encodeHeaders(requestHeaders("POST", "/2"), false);
  net::Buffer d("x");
  s2.encodeData(d, true);
  http::Stream& s3 = b.client->newStream(r3);
  s3.encodeHeaders(requestHeaders("POST", "/3"), false);
  net::Buffer empty;
  s3.encodeData(empty, true);
  b.pump();
  REQUIRE(b.server_callbacks.streams.size() == 3);
  auto& a = *b.server_callbacks.streams[0];
  auto& c = *b.server_callbacks.streams[1];
  auto& e = *b.server_callbacks.streams[2];
  CHECK(a.headers_end_stream);
  CHECK(a.ended);
  CHECK_FALSE(c.headers_end_stream);
  CHECK(c.body == "x");
  CHECK(c.ended);
  CHECK(e.body.empty());
  CHECK(e.ended);
  for (auto* s : {&a, &c, &e}) s->stream->encodeHeaders(responseHeaders("204"), true);
  b.pump();
  CHECK(r1.ended);
  CHECK(r2.ended);
  CHECK(r3.ended);
  CHECK(r1.headers_end_stream);
  CHECK(b.client->activeStreams() == 0);
}

TEST_CASE("a gRPC exchange keeps its content type, framed body and grpc-status trailers", "[http2][client][grpc]") {
  BackToBack b;
  b.server_callbacks.on_data = [](RecordingStream& s) {
    if (!s.ended) return;
    HeaderMap h = responseHeaders("200");
    h.add("content-type", "application/grpc");
    s.stream->encodeHeaders(h, false);
    net::Buffer reply(grpcFrame("pong"));
    s.stream->encodeData(reply, false);
    HeaderMap t;
    t.add("grpc-status", "0");
    t.add("grpc-message", "");
    s.stream->encodeTrailers(t);
  };
  RecordingStream response;
  http::Stream& call = b.client->newStream(response);
  HeaderMap h = requestHeaders("POST", "/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources");
  h.add("content-type", "application/grpc");
  h.add("te", "trailers");
  call.encodeHeaders(h, false);
  net::Buffer msg(grpcFrame("ping"));
  call.encodeData(msg, true);
  b.pump();

  REQUIRE(b.server_callbacks.streams.size() == 1);
  auto& server_side = *b.server_callbacks.streams[0];
  CHECK(server_side.headers->get("content-type") == "application/grpc");
  CHECK(server_side.headers->get("te") == "trailers");
  CHECK(server_side.body == grpcFrame("ping"));
  REQUIRE(response.headers);
  CHECK(response.headers->get("content-type") == "application/grpc");
  CHECK(response.body == grpcFrame("pong"));
  REQUIRE(response.trailers);
  CHECK(response.trailers->get("grpc-status") == "0");
  CHECK_FALSE(response.reset.has_value());
}

TEST_CASE("an HTTP/1-shaped request gets :scheme and :authority and loses connection headers", "[http2][client]") {
  BackToBack b;
  RecordingStream response;
  HeaderMap h;
  h.add(":method", "GET");
  h.add(":path", "/legacy");
  h.add("host", "backend.local:8080");
  h.add("connection", "keep-alive");
  h.add("keep-alive", "timeout=5");
  h.add("proxy-connection", "keep-alive");
  h.add("upgrade", "websocket");
  h.add("te", "gzip");
  h.add("x-kept", "yes");
  b.client->newStream(response).encodeHeaders(h, true);
  b.pump();
  REQUIRE(b.server_status);
  REQUIRE(b.server_callbacks.streams.size() == 1);
  const HeaderMap& got = *b.server_callbacks.streams[0]->headers;
  CHECK(got.scheme() == "http");
  CHECK(got.authority() == "backend.local:8080");
  CHECK_FALSE(got.has("host"));
  CHECK_FALSE(got.has("connection"));
  CHECK_FALSE(got.has("keep-alive"));
  CHECK_FALSE(got.has("proxy-connection"));
  CHECK_FALSE(got.has("upgrade"));
  CHECK_FALSE(got.has("te"));
  CHECK(got.get("x-kept") == "yes");
}

TEST_CASE("concurrent streams interleave and each gets its own response", "[http2][client]") {
  BackToBack b;
  b.server_callbacks.on_data = [](RecordingStream& s) {
    if (!s.ended) return;
    s.stream->encodeHeaders(responseHeaders(), false);
    net::Buffer echo(std::string(s.headers->path()) + ":" + s.body);
    s.stream->encodeData(echo, true);
  };
  constexpr int kStreams = 20;
  std::vector<RecordingStream> responses(kStreams);
  std::vector<http::Stream*> streams;
  for (int i = 0; i < kStreams; ++i) {
    streams.push_back(&b.client->newStream(responses[i]));
    streams.back()->encodeHeaders(requestHeaders("POST", "/" + std::to_string(i)), false);
  }
  CHECK(b.client->activeStreams() == kStreams);
  for (int i = kStreams - 1; i >= 0; --i) {
    net::Buffer d(std::string(1000 + i, 'a' + static_cast<char>(i % 26)));
    streams[i]->encodeData(d, true);
  }
  b.pump();
  for (int i = 0; i < kStreams; ++i) {
    INFO("stream " << i);
    CHECK(responses[i].body == "/" + std::to_string(i) + ":" + std::string(1000 + i, 'a' + static_cast<char>(i % 26)));
    CHECK(responses[i].ended);
  }
  CHECK(b.client->activeStreams() == 0);
}

TEST_CASE("GOAWAY from the server tells the client and refuses streams above the last id", "[http2][client]") {
  BackToBack b;
  RecordingStream first, second;
  b.client->newStream(first).encodeHeaders(requestHeaders("GET", "/first"), true);
  b.pump();
  REQUIRE(b.server_callbacks.streams.size() == 1);
  b.server->goAway();
  // Sent before the client heard of the GOAWAY: the server ignores it.
  b.client->newStream(second).encodeHeaders(requestHeaders("GET", "/second"), true);
  b.pump();
  CHECK(b.client_callbacks.goaways == 1);
  CHECK_FALSE(b.client->canCreateStream());
  REQUIRE(second.reset.has_value());
  CHECK(*second.reset == StreamResetReason::kRefusedStream);
  CHECK(b.server_callbacks.streams.size() == 1);
  CHECK_FALSE(first.reset.has_value());
  CHECK_FALSE(b.server->wantsClose());
  b.server_callbacks.streams[0]->stream->encodeHeaders(responseHeaders(), true);
  b.pump();
  CHECK(first.ended);
  CHECK(b.server->wantsClose());
}

TEST_CASE("REFUSED_STREAM from the server is reported as a refused stream", "[http2][client]") {
  PipeTransport transport;
  RecordingClient callbacks;
  auto client = http::http2::makeHttp2ClientCodec(transport, callbacks, CodecLimits{});
  RecordingStream response;
  http::Stream& s = client->newStream(response);
  s.encodeHeaders(requestHeaders(), true);
  REQUIRE(s.streamId() == 1);
  auto frames = parseFrames(transport.take());
  CHECK(findFrame(frames, kHeaders, 1) != nullptr);
  net::Buffer in(settingsFrame() + rstFrame(1, NGHTTP2_REFUSED_STREAM));
  REQUIRE(client->dispatch(in));
  REQUIRE(response.reset.has_value());
  CHECK(*response.reset == StreamResetReason::kRefusedStream);
  CHECK(client->activeStreams() == 0);
}

TEST_CASE("the client learns the server's concurrency limit from SETTINGS", "[http2][client]") {
  CodecLimits server_limits;
  server_limits.max_concurrent_streams = 2;
  BackToBack b(CodecLimits{}, server_limits);
  b.pump();
  CHECK(b.client_callbacks.max_streams == 2);
  RecordingStream r1, r2;
  b.client->newStream(r1).encodeHeaders(requestHeaders(), false);
  CHECK(b.client->canCreateStream());
  b.client->newStream(r2).encodeHeaders(requestHeaders(), false);
  CHECK_FALSE(b.client->canCreateStream());
}

TEST_CASE("a response over the header limits resets the client stream as overflow", "[http2][client]") {
  CodecLimits client_limits;
  client_limits.max_headers_count = 4;
  BackToBack b(client_limits, CodecLimits{});
  RecordingStream response;
  b.client->newStream(response).encodeHeaders(requestHeaders(), true);
  b.pump();
  HeaderMap big = responseHeaders();
  for (int i = 0; i < 10; ++i) big.add("x-" + std::to_string(i), "v");
  b.server_callbacks.streams[0]->stream->encodeHeaders(big, true);
  b.pump();
  CHECK_FALSE(response.headers);
  REQUIRE(response.reset.has_value());
  CHECK(*response.reset == StreamResetReason::kOverflow);
  CHECK(b.client_status);
}

TEST_CASE("a request over the server's header limit comes back as 431", "[http2][client]") {
  CodecLimits server_limits;
  server_limits.max_request_headers_kb = 1;
  BackToBack b(CodecLimits{}, server_limits);
  RecordingStream response;
  HeaderMap h = requestHeaders();
  h.add("authorization", std::string(3000, 'x'));
  b.client->newStream(response).encodeHeaders(h, true);
  b.pump();
  CHECK(b.server_callbacks.streams.empty());
  INFO("reset " << (response.reset ? int(*response.reset) : -1) << " " << response.reset_detail << " status "
                << b.server_status.message());
  REQUIRE(response.headers);
  CHECK(response.headers->status() == 431);
  CHECK(response.ended);
}

TEST_CASE("100-continue reaches the client as informational headers", "[http2][client]") {
  BackToBack b;
  RecordingStream response;
  http::Stream& s = b.client->newStream(response);
  HeaderMap h = requestHeaders("POST", "/");
  h.add("expect", "100-continue");
  s.encodeHeaders(h, false);
  b.pump();
  auto& server_side = *b.server_callbacks.streams[0];
  server_side.stream->encodeInformational(responseHeaders("100"));
  b.pump();
  REQUIRE(response.informational.size() == 1);
  CHECK(response.informational[0]->status() == 100);
  CHECK_FALSE(response.headers);
  net::Buffer d("body");
  s.encodeData(d, true);
  b.pump();
  CHECK(server_side.body == "body");
  server_side.stream->encodeHeaders(responseHeaders("201"), true);
  b.pump();
  REQUIRE(response.headers);
  CHECK(response.headers->status() == 201);
}

TEST_CASE("a local reset of a client stream sends RST_STREAM and fires no callbacks", "[http2][client]") {
  BackToBack b;
  RecordingStream response;
  http::Stream& s = b.client->newStream(response);
  s.encodeHeaders(requestHeaders("POST", "/"), false);
  b.pump();
  s.resetStream(StreamResetReason::kLocalReset);
  b.pump();
  CHECK_FALSE(response.reset.has_value());
  REQUIRE(b.server_callbacks.streams.size() == 1);
  auto& server_side = *b.server_callbacks.streams[0];
  REQUIRE(server_side.reset.has_value());
  CHECK(*server_side.reset == StreamResetReason::kRemoteReset);
  CHECK(b.client->activeStreams() == 0);
  CHECK(b.server->activeStreams() == 0);
}

TEST_CASE("a stream reset before its headers were sent just goes away", "[http2][client]") {
  BackToBack b;
  RecordingStream response;
  http::Stream& s = b.client->newStream(response);
  CHECK(b.client->activeStreams() == 1);
  s.resetStream(StreamResetReason::kLocalReset);
  CHECK(b.client->activeStreams() == 0);
}

TEST_CASE("a PING from sendPing is acknowledged by the server and reported once", "[http2][client][ping]") {
  BackToBack b;
  b.pump();
  REQUIRE(b.client->sendPing());
  auto frames = parseFrames(b.client_transport.pending.toString());
  const ParsedFrame* ping = findFrame(frames, kPing, 0);
  REQUIRE(ping != nullptr);
  CHECK((ping->flags & kAck) == 0);
  CHECK(b.client_callbacks.ping_acks == 0);
  b.pump();
  CHECK(b.client_callbacks.ping_acks == 1);
}

TEST_CASE("a PING from the server is answered but not reported as our ACK", "[http2][client][ping]") {
  PipeTransport transport;
  RecordingClient callbacks;
  auto client = http::http2::makeHttp2ClientCodec(transport, callbacks, CodecLimits{});
  transport.take();
  net::Buffer in(settingsFrame() + pingFrame(42));
  REQUIRE(client->dispatch(in));
  CHECK(callbacks.ping_acks == 0);
  auto frames = parseFrames(transport.take());
  const ParsedFrame* ack = findFrame(frames, kPing, 0);
  REQUIRE(ack != nullptr);
  CHECK((ack->flags & kAck) != 0);
}

TEST_CASE("sendPing fails once the connection has failed", "[http2][client][ping]") {
  PipeTransport transport;
  RecordingClient callbacks;
  auto client = http::http2::makeHttp2ClientCodec(transport, callbacks, CodecLimits{});
  net::Buffer garbage(std::string(64, 'x'));
  CHECK_FALSE(client->dispatch(garbage));
  CHECK_FALSE(client->sendPing());
}

}  // namespace
}  // namespace remora::testing::h2
