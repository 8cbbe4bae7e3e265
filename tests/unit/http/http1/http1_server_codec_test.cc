#include "proxy/http/http1/http1_server_codec.h"

#include <catch2/catch.hpp>

#include "proxy/http/http1/http1_codec.h"
#include "tests/unit/http/http1/http1_test_util.h"

using remora::net::Buffer;
using remora::testing::ServerHarness;
using remora::testing::StreamRecorder;
using remora::testing::respond;
namespace http = remora::http;

namespace {

bool contains(const std::string& haystack, std::string_view needle) {
  return haystack.find(needle) != std::string::npos;
}

}  // namespace

TEST_CASE("the factory makes an HTTP/1 server codec", "[http][http1]") {
  remora::testing::FakeTransport transport;
  struct : http::ServerCodecCallbacks {
    void onNewStream(http::Stream&) override {}
  } callbacks;
  auto codec = http::http1::makeHttp1ServerCodec(transport, callbacks, http::CodecLimits{});
  REQUIRE(codec != nullptr);
  CHECK(codec->protocol() == http::Protocol::kHttp11);
  CHECK(codec->activeStreams() == 0);
}

TEST_CASE("a GET maps the request line and Host to pseudo-headers", "[http][http1]") {
  ServerHarness h;
  REQUIRE(h.feed("GET /a?b=1 HTTP/1.1\r\nHost: example.com\r\nUser-Agent: t\r\n\r\n"));
  REQUIRE(h.streams.size() == 1);
  CHECK(h.streams[0]->events ==
        std::vector<std::string>{
            "H :method=GET :scheme=http :path=/a?b=1 :authority=example.com user-agent=t end=1"});
  CHECK_FALSE(h.streams[0]->last_headers->has("host"));
}

TEST_CASE("an absolute-form target gives the authority and path and overrides Host", "[http][http1]") {
  ServerHarness h;
  REQUIRE(h.feed("GET http://svc.local:8080/x?y HTTP/1.1\r\nHost: other\r\n\r\n"));
  REQUIRE(h.streams.size() == 1);
  const auto& headers = *h.streams[0]->last_headers;
  CHECK(headers.authority() == "svc.local:8080");
  CHECK(headers.path() == "/x?y");
  CHECK(headers.scheme() == "http");
}

TEST_CASE("a Content-Length body is delivered and ends the request", "[http][http1]") {
  ServerHarness h;
  REQUIRE(h.feed("POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhel"));
  REQUIRE(h.feed("lo"));
  REQUIRE(h.streams.size() == 1);
  CHECK(h.streams[0]->normalized() ==
        std::vector<std::string>{"H :method=POST :scheme=http :path=/p :authority=a content-length=5 end=0",
                                 "D hello end=1"});
}

TEST_CASE("a chunked body with trailers ends with onTrailers", "[http][http1]") {
  ServerHarness h;
  REQUIRE(h.feed("POST /p HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                 "5\r\nhello\r\n6;name=\"v\"\r\n world\r\n0\r\nX-Sum: 42\r\n\r\n"));
  REQUIRE(h.streams.size() == 1);
  CHECK(h.streams[0]->normalized() ==
        std::vector<std::string>{"H :method=POST :scheme=http :path=/p :authority=a end=0",
                                 "D hello world end=0", "T x-sum=42"});
}

TEST_CASE("a chunked body without trailers ends with an empty end_stream", "[http][http1]") {
  ServerHarness h;
  REQUIRE(h.feed("PUT /p HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"));
  REQUIRE(h.streams.size() == 1);
  CHECK(h.streams[0]->normalized().back() == "D abc end=1");
  CHECK(h.streams[0]->ended);
}

TEST_CASE("pipelined requests wait for the previous response and are answered in order", "[http][http1]") {
  ServerHarness h;
  REQUIRE(h.feed("GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\nGET /3 HTTP/1.1\r\nHost: a\r\n\r\n"));
  REQUIRE(h.streams.size() == 1);
  CHECK(h.transport.read_disabled == 1);
  respond(*h.streams[0]->stream, 200, "one");
  REQUIRE(h.streams.size() == 2);
  CHECK(h.streams[1]->last_headers->path() == "/2");
  respond(*h.streams[1]->stream, 200, "two");
  REQUIRE(h.streams.size() == 3);
  CHECK(h.transport.read_disabled == 0);
  respond(*h.streams[2]->stream, 200, "three");
  std::string out = h.transport.take();
  size_t one = out.find("one"), two = out.find("two"), three = out.find("three");
  CHECK(one < two);
  CHECK(two < three);
  CHECK(three != std::string::npos);
  CHECK(h.codec->activeStreams() == 0);
  CHECK_FALSE(h.codec->wantsClose());
}

TEST_CASE("many pipelined requests answered from inside the callbacks are served without recursion",
          "[http][http1]") {
  ServerHarness h;
  h.configure = [](StreamRecorder& r) { r.on_end = [](StreamRecorder& s) { respond(*s.stream, 204); }; };
  std::string batch;
  for (int i = 0; i < 2000; ++i) batch += "GET /" + std::to_string(i) + " HTTP/1.1\r\nHost: a\r\n\r\n";
  REQUIRE(h.feed(batch));
  CHECK(h.streams.size() == 2000);
  std::string out = h.transport.take();
  size_t count = 0;
  for (size_t pos = out.find("HTTP/1.1 204"); pos != std::string::npos; pos = out.find("HTTP/1.1 204", pos + 1)) {
    ++count;
  }
  CHECK(count == 2000);
  CHECK(h.codec->activeStreams() == 0);
}

TEST_CASE("HTTP/1.1 keeps the connection alive by default", "[http][http1]") {
  ServerHarness h;
  REQUIRE(h.feed("GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
  respond(*h.streams[0]->stream, 200, "ok");
  std::string out = h.transport.take();
  CHECK(out == "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
  CHECK_FALSE(h.codec->wantsClose());
}

TEST_CASE("Connection: close from the client closes after the response", "[http][http1]") {
  ServerHarness h;
  REQUIRE(h.feed("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"));
  CHECK_FALSE(h.codec->wantsClose());
  respond(*h.streams[0]->stream, 200, "ok");
  CHECK(contains(h.transport.take(), "connection: close\r\n"));
  CHECK(h.codec->wantsClose());
}

TEST_CASE("HTTP/1.0 closes unless the client asks for keep-alive", "[http][http1]") {
  SECTION("without keep-alive") {
    ServerHarness h;
    REQUIRE(h.feed("GET / HTTP/1.0\r\n\r\n"));
    CHECK(h.codec->protocol() == http::Protocol::kHttp10);
    respond(*h.streams[0]->stream, 200, "ok");
    CHECK(contains(h.transport.take(), "connection: close\r\n"));
    CHECK(h.codec->wantsClose());
  }
  SECTION("with keep-alive") {
    ServerHarness h;
    REQUIRE(h.feed("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
    respond(*h.streams[0]->stream, 200, "ok");
    CHECK(contains(h.transport.take(), "connection: keep-alive\r\n"));
    CHECK_FALSE(h.codec->wantsClose());
  }
}

TEST_CASE("a streamed response without length is chunked for HTTP/1.1", "[http][http1]") {
  ServerHarness h;
  REQUIRE(h.feed("GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
  http::Stream& s = *h.streams[0]->stream;
  http::HeaderMap headers;
  headers.add(":status", "200");
  s.encodeHeaders(headers, false);
  Buffer part("hello");
  s.encodeData(part, false);
  http::HeaderMap trailers;
  trailers.add("grpc-status", "0");
  s.encodeTrailers(trailers);
  CHECK(h.transport.take() ==
        "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\ngrpc-status: 0\r\n\r\n");
  CHECK(h.codec->activeStreams() == 0);
}

TEST_CASE("a streamed response to HTTP/1.0 is delimited by the close", "[http][http1]") {
  ServerHarness h;
  REQUIRE(h.feed("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
  http::Stream& s = *h.streams[0]->stream;
  http::HeaderMap headers;
  headers.add(":status", "200");
  s.encodeHeaders(headers, false);
  Buffer part("abc");
  s.encodeData(part, true);
  CHECK(h.transport.take() == "HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nabc");
  CHECK(h.codec->wantsClose());
}

TEST_CASE("a response ending on its headers gets content-length 0 except where it has no body",
          "[http][http1]") {
  ServerHarness h;
  REQUIRE(h.feed("GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
  respond(*h.streams[0]->stream, 200);
  CHECK(h.transport.take() == "HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n");
  REQUIRE(h.feed("DELETE / HTTP/1.1\r\nHost: a\r\n\r\n"));
  respond(*h.streams[1]->stream, 204);
  CHECK(h.transport.take() == "HTTP/1.1 204 No Content\r\n\r\n");
  REQUIRE(h.feed("GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
  respond(*h.streams[2]->stream, 304);
  CHECK(h.transport.take() == "HTTP/1.1 304 Not Modified\r\n\r\n");
}

TEST_CASE("a HEAD response keeps its content-length and carries no body", "[http][http1]") {
  ServerHarness h;
  REQUIRE(h.feed("HEAD / HTTP/1.1\r\nHost: a\r\n\r\n"));
  respond(*h.streams[0]->stream, 200, "hello");
  CHECK(h.transport.take() == "HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n");
  CHECK_FALSE(h.codec->wantsClose());
}

TEST_CASE("Expect: 100-continue is delivered and 100 Continue is written on request", "[http][http1]") {
  ServerHarness h;
  REQUIRE(h.feed("POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n"));
  REQUIRE(h.streams.size() == 1);
  CHECK(h.streams[0]->last_headers->get("expect") == "100-continue");
  http::HeaderMap info;
  info.add(":status", "100");
  h.streams[0]->stream->encodeInformational(info);
  CHECK(h.transport.take() == "HTTP/1.1 100 Continue\r\n\r\n");
  REQUIRE(h.feed("hi"));
  CHECK(h.streams[0]->body == "hi");
  CHECK(h.streams[0]->ended);
}

TEST_CASE("a websocket upgrade tunnels raw bytes both ways after 101", "[http][http1]") {
  ServerHarness h;
  REQUIRE(h.feed("GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\nraw1"));
  REQUIRE(h.streams.size() == 1);
  StreamRecorder& r = *h.streams[0];
  CHECK(r.events.size() == 2);
  CHECK(r.events[1] == "D raw1 end=0");
  http::HeaderMap headers;
  headers.add(":status", "101");
  headers.add("upgrade", "websocket");
  r.stream->encodeHeaders(headers, false);
  CHECK(h.transport.take() == "HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: upgrade\r\n\r\n");
  Buffer down("GET / HTTP/1.1\r\n\r\n");  // looks like HTTP, must pass untouched
  r.stream->encodeData(down, false);
  CHECK(h.transport.take() == "GET / HTTP/1.1\r\n\r\n");
  REQUIRE(h.feed("HTTP/1.1 200 OK\r\n"));
  CHECK(r.events.back() == "D HTTP/1.1 200 OK\r\n end=0");
  REQUIRE(h.codec->onTransportEof());
  CHECK(r.events.back() == "D  end=1");
  Buffer empty;
  r.stream->encodeData(empty, true);
  CHECK(h.codec->activeStreams() == 0);
  CHECK(h.codec->wantsClose());
}

TEST_CASE("CONNECT is tunnelled after a 2xx", "[http][http1]") {
  ServerHarness h;
  REQUIRE(h.feed("CONNECT db.local:5432 HTTP/1.1\r\nHost: db.local:5432\r\n\r\n"));
  REQUIRE(h.streams.size() == 1);
  StreamRecorder& r = *h.streams[0];
  CHECK(r.last_headers->method() == "CONNECT");
  CHECK(r.last_headers->authority() == "db.local:5432");
  CHECK_FALSE(r.last_headers->has(":path"));
  respond(*r.stream, 200);  // end_stream false would keep it open; here the tunnel closes at once
  CHECK(h.transport.take() == "HTTP/1.1 200 OK\r\n\r\n");
}

TEST_CASE("a refused upgrade closes the connection after the response", "[http][http1]") {
  ServerHarness h;
  REQUIRE(h.feed("GET /ws HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n"));
  respond(*h.streams[0]->stream, 403, "no");
  CHECK(contains(h.transport.take(), "connection: close\r\n"));
  CHECK(h.codec->wantsClose());
}

TEST_CASE("resetting a server stream asks for the connection to close now", "[http][http1]") {
  ServerHarness h;
  REQUIRE(h.feed("GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /next HTTP/1.1\r\nHost: a\r\n\r\n"));
  h.streams[0]->stream->resetStream(http::StreamResetReason::kLocalReset);
  CHECK(h.codec->closeNow());
  CHECK(h.codec->wantsClose());
  CHECK(h.streams.size() == 1);
  CHECK_FALSE(h.streams[0]->reset);  // no callbacks for a local reset
}

TEST_CASE("goAway adds Connection: close to the next response", "[http][http1]") {
  ServerHarness h;
  REQUIRE(h.feed("GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
  h.codec->goAway();
  CHECK_FALSE(h.codec->wantsClose());
  respond(*h.streams[0]->stream, 200, "x");
  CHECK(contains(h.transport.take(), "connection: close\r\n"));
  CHECK(h.codec->wantsClose());
}

TEST_CASE("an early response closes the connection and drops the rest of the request", "[http][http1]") {
  ServerHarness h;
  REQUIRE(h.feed("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc"));
  respond(*h.streams[0]->stream, 413, "too big");
  CHECK(contains(h.transport.take(), "connection: close\r\n"));
  CHECK(h.codec->wantsClose());
  REQUIRE(h.feed("defghijGET / HTTP/1.1\r\nHost: a\r\n\r\n"));
  CHECK(h.streams.size() == 1);
  CHECK(h.streams[0]->body == "abc");
}

TEST_CASE("the client closing mid-body resets the stream", "[http][http1]") {
  ServerHarness h;
  REQUIRE(h.feed("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc"));
  REQUIRE(h.codec->onTransportEof());
  CHECK(h.streams[0]->events.back() == "R remote_reset");
  CHECK_FALSE(h.streams[0]->ended);
  CHECK(h.codec->closeNow());
}

TEST_CASE("the client closing after a complete request still gets the response", "[http][http1]") {
  ServerHarness h;
  REQUIRE(h.feed("GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
  REQUIRE(h.codec->onTransportEof());
  CHECK_FALSE(h.streams[0]->reset);
  respond(*h.streams[0]->stream, 200, "ok");
  CHECK(contains(h.transport.take(), "connection: close\r\n"));
  CHECK(h.codec->wantsClose());
}

TEST_CASE("readDisable on a stream holds its body until re-enabled", "[http][http1]") {
  ServerHarness h;
  h.configure = [](StreamRecorder& r) { r.on_headers = [](StreamRecorder& s) { s.stream->readDisable(true); }; };
  REQUIRE(h.feed("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc"));
  CHECK(h.streams[0]->body.empty());
  CHECK(h.transport.read_disabled == 1);
  h.streams[0]->stream->readDisable(false);
  CHECK(h.streams[0]->body == "abc");
  CHECK(h.transport.read_disabled == 0);
}

TEST_CASE("a response shorter than its content-length forces the connection closed", "[http][http1]") {
  ServerHarness h;
  REQUIRE(h.feed("GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
  http::HeaderMap headers;
  headers.add(":status", "200");
  headers.add("content-length", "10");
  h.streams[0]->stream->encodeHeaders(headers, false);
  Buffer part("abc");
  h.streams[0]->stream->encodeData(part, true);
  CHECK(h.codec->closeNow());
}

TEST_CASE("header values that would split the response are not written", "[http][http1]") {
  ServerHarness h;
  REQUIRE(h.feed("GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
  respond(*h.streams[0]->stream, 200, "", {{"x-evil", "a\r\nset-cookie: b"}, {"x-ok", "1"}});
  std::string out = h.transport.take();
  CHECK_FALSE(contains(out, "x-evil"));
  CHECK(contains(out, "x-ok: 1\r\n"));
}

TEST_CASE("feeding requests one byte at a time gives the same events as one write", "[http][http1]") {
  const std::string input =
      "POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello"
      "POST /b HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n10\r\n0123456789abcdef\r\n"
      "0\r\nT: 1\r\n\r\n"
      "GET /c HTTP/1.1\r\nHost: a\r\nX-Long: " + std::string(300, 'v') + "\r\n\r\n";
  auto run = [&](bool bytewise) {
    ServerHarness h;
    h.configure = [](StreamRecorder& r) { r.on_end = [](StreamRecorder& s) { respond(*s.stream, 200, "r"); }; };
    REQUIRE((bytewise ? h.feedBytewise(input) : h.feed(input)));
    return std::make_pair(h.allEvents(), h.transport.take());
  };
  auto whole = run(false);
  auto bytes = run(true);
  CHECK(whole.first.size() == 6);
  CHECK(whole.first == bytes.first);
  CHECK(whole.second == bytes.second);
}
