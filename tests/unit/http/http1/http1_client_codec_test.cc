#include "proxy/http/http1/http1_client_codec.h"

#include <catch2/catch.hpp>

#include "proxy/http/http1/http1_codec.h"
#include "tests/unit/http/http1/http1_test_util.h"

using remora::net::Buffer;
using remora::testing::ClientHarness;
namespace http = remora::http;

TEST_CASE("the factory makes an HTTP/1 client codec", "[http][http1]") {
  remora::testing::FakeTransport transport;
  http::ClientCodecCallbacks callbacks;
  auto codec = http::http1::makeHttp1ClientCodec(transport, callbacks, http::CodecLimits{});
  REQUIRE(codec != nullptr);
  CHECK(codec->canCreateStream());
  CHECK(codec->protocol() == http::Protocol::kHttp11);
}

TEST_CASE("a request is encoded with Host from :authority and one request is in flight at a time",
          "[http][http1]") {
  ClientHarness c;
  c.request("GET", "/x?y=1", true, {{"accept", "*/*"}});
  CHECK(c.transport.take() == "GET /x?y=1 HTTP/1.1\r\nhost: example.com\r\naccept: */*\r\n\r\n");
  CHECK_FALSE(c.codec->canCreateStream());
  CHECK(c.codec->activeStreams() == 1);
  REQUIRE(c.feed("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"));
  CHECK(c.recorder.normalized() == std::vector<std::string>{"H :status=200 content-length=5 end=0", "D hello end=1"});
  CHECK(c.codec->canCreateStream());
  CHECK(c.codec->activeStreams() == 0);
}

TEST_CASE("a request body without a length is sent chunked, with trailers", "[http][http1]") {
  ClientHarness c;
  http::Stream& s = c.request("POST", "/up", false);
  Buffer body("abc");
  s.encodeData(body, false);
  http::HeaderMap trailers;
  trailers.add("x-checksum", "1");
  s.encodeTrailers(trailers);
  CHECK(c.transport.take() ==
        "POST /up HTTP/1.1\r\nhost: example.com\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n"
        "x-checksum: 1\r\n\r\n");
}

TEST_CASE("a POST without a body says content-length 0", "[http][http1]") {
  ClientHarness c;
  c.request("POST", "/", true);
  CHECK(c.transport.take() == "POST / HTTP/1.1\r\nhost: example.com\r\ncontent-length: 0\r\n\r\n");
}

TEST_CASE("100 Continue is delivered as informational before the final response", "[http][http1]") {
  ClientHarness c;
  c.request("POST", "/", false, {{"expect", "100-continue"}, {"content-length", "2"}});
  REQUIRE(c.feed("HTTP/1.1 100 Continue\r\n\r\n"));
  CHECK(c.recorder.events == std::vector<std::string>{"I :status=100"});
  Buffer body("hi");
  c.recorder.stream->encodeData(body, true);
  REQUIRE(c.feed("HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"));
  CHECK(c.recorder.events.back() == "H :status=201 content-length=0 end=1");
  CHECK(c.codec->canCreateStream());
}

TEST_CASE("a 101 after a websocket upgrade switches both directions to raw bytes", "[http][http1]") {
  ClientHarness c;
  http::Stream& s = c.request("GET", "/ws", false, {{"upgrade", "websocket"}, {"connection", "upgrade"}});
  CHECK(c.transport.take() ==
        "GET /ws HTTP/1.1\r\nhost: example.com\r\nupgrade: websocket\r\nconnection: upgrade\r\n\r\n");
  REQUIRE(c.feed("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nframe1"));
  CHECK(c.recorder.events.size() == 2);
  CHECK(c.recorder.events[1] == "D frame1 end=0");
  Buffer up("HTTP/1.1 200 OK\r\n\r\n");
  s.encodeData(up, false);
  CHECK(c.transport.take() == "HTTP/1.1 200 OK\r\n\r\n");
  REQUIRE(c.codec->onTransportEof());
  CHECK(c.recorder.events.back() == "D  end=1");
  CHECK_FALSE(c.codec->canCreateStream());
}

TEST_CASE("a 101 to a request that asked for no upgrade is a protocol error", "[http][http1]") {
  ClientHarness c;
  c.request("GET", "/");
  auto st = c.feed("HTTP/1.1 101 Switching Protocols\r\n\r\n");
  CHECK_FALSE(st);
  CHECK(c.recorder.events.back() == "R protocol_error");
  CHECK(c.codec->closeNow());
}

TEST_CASE("the response to HEAD has no body whatever its content-length", "[http][http1]") {
  ClientHarness c;
  c.request("HEAD", "/");
  REQUIRE(c.feed("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"));
  CHECK(c.recorder.events == std::vector<std::string>{"H :status=200 content-length=100 end=1"});
  CHECK(c.codec->canCreateStream());
}

TEST_CASE("204 and 304 responses end on their headers", "[http][http1]") {
  ClientHarness c;
  c.request("GET", "/");
  REQUIRE(c.feed("HTTP/1.1 204 No Content\r\n\r\n"));
  CHECK(c.recorder.ended);
  c.recorder.events.clear();
  c.request("GET", "/");
  REQUIRE(c.feed("HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n"));
  CHECK(c.recorder.events == std::vector<std::string>{"H :status=304 content-length=10 end=1"});
}

TEST_CASE("a chunked response with trailers ends with onTrailers", "[http][http1]") {
  ClientHarness c;
  c.request("GET", "/");
  REQUIRE(c.feed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nwiki\r\n0\r\ngrpc-status: 0\r\n\r\n"));
  CHECK(c.recorder.normalized() ==
        std::vector<std::string>{"H :status=200 end=0", "D wiki end=0", "T grpc-status=0"});
  CHECK(c.codec->canCreateStream());
}

TEST_CASE("a close-delimited body ends when the connection closes", "[http][http1]") {
  ClientHarness c;
  c.request("GET", "/");
  REQUIRE(c.feed("HTTP/1.1 200 OK\r\n\r\npart one "));
  REQUIRE(c.feed("part two"));
  CHECK_FALSE(c.recorder.ended);
  CHECK(c.goaways == 1);  // a close-delimited body means no reuse
  REQUIRE(c.codec->onTransportEof());
  CHECK(c.recorder.normalized().back() == "D part one part two end=1");
  CHECK_FALSE(c.recorder.reset);
}

TEST_CASE("a body truncated by the connection closing is a reset, not an end", "[http][http1]") {
  SECTION("content-length") {
    ClientHarness c;
    c.request("GET", "/");
    REQUIRE(c.feed("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"));
    REQUIRE(c.codec->onTransportEof());
    CHECK(c.recorder.events.back() == "R connection_termination");
    CHECK_FALSE(c.recorder.ended);
  }
  SECTION("chunked") {
    ClientHarness c;
    c.request("GET", "/");
    REQUIRE(c.feed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n"));
    REQUIRE(c.codec->onTransportEof());
    CHECK(c.recorder.events.back() == "R connection_termination");
    CHECK_FALSE(c.recorder.ended);
  }
  SECTION("mid-head") {
    ClientHarness c;
    c.request("GET", "/");
    REQUIRE(c.feed("HTTP/1.1 200 OK\r\nContent-Le"));
    REQUIRE(c.codec->onTransportEof());
    CHECK(c.recorder.events == std::vector<std::string>{"R connection_termination"});
  }
  SECTION("before any response") {
    ClientHarness c;
    c.request("GET", "/");
    REQUIRE(c.codec->onTransportEof());
    CHECK(c.recorder.events == std::vector<std::string>{"R connection_termination"});
    CHECK(c.recorder.reset_detail == "upstream closed before responding");
  }
}

TEST_CASE("Connection: close from the server stops reuse", "[http][http1]") {
  ClientHarness c;
  c.request("GET", "/");
  REQUIRE(c.feed("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"));
  CHECK(c.recorder.ended);
  CHECK(c.goaways == 1);
  CHECK_FALSE(c.codec->canCreateStream());
}

TEST_CASE("an HTTP/1.0 response without keep-alive stops reuse", "[http][http1]") {
  ClientHarness c;
  c.request("GET", "/");
  REQUIRE(c.feed("HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx"));
  CHECK(c.recorder.ended);
  CHECK_FALSE(c.codec->canCreateStream());
}

TEST_CASE("an early response to a request still being sent is delivered", "[http][http1]") {
  ClientHarness c;
  http::Stream& s = c.request("POST", "/", false, {{"content-length", "100"}});
  Buffer part("partial");
  s.encodeData(part, false);
  REQUIRE(c.feed("HTTP/1.1 413 Content Too Large\r\nContent-Length: 3\r\n\r\nbig"));
  CHECK(c.recorder.normalized() ==
        std::vector<std::string>{"H :status=413 content-length=3 end=0", "D big end=1"});
  CHECK(c.codec->activeStreams() == 0);
  CHECK_FALSE(c.codec->canCreateStream());  // the request was cut short mid-message
}

TEST_CASE("a response with both Content-Length and Transfer-Encoding is a protocol error", "[http][http1]") {
  ClientHarness c;
  c.request("GET", "/");
  auto st = c.feed("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n");
  CHECK_FALSE(st);
  CHECK(st.message() == "content_length_and_transfer_encoding");
  CHECK(c.recorder.events == std::vector<std::string>{"R protocol_error"});
}

TEST_CASE("a malformed status line is a protocol error", "[http][http1]") {
  std::string line = GENERATE(std::string("HTTP/1.1 2000 OK"), std::string("HTTP/1.1 20 OK"),
                              std::string("HTTP/2 200 OK"), std::string("ICY 200 OK"),
                              std::string("HTTP/1.1  200 OK"), std::string("HTTP/1.1 200 O\x01K"));
  ClientHarness c;
  c.request("GET", "/");
  CHECK_FALSE(c.feed(line + "\r\n\r\n"));
  CHECK(c.recorder.events == std::vector<std::string>{"R protocol_error"});
}

TEST_CASE("a status line without a reason phrase is accepted", "[http][http1]") {
  ClientHarness c;
  c.request("GET", "/");
  REQUIRE(c.feed("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n"));
  CHECK(c.recorder.events == std::vector<std::string>{"H :status=200 content-length=0 end=1"});
}

TEST_CASE("bytes from the server with no request in flight are a protocol error", "[http][http1]") {
  ClientHarness c;
  auto st = c.feed("HTTP/1.1 200 OK\r\n\r\n");
  CHECK_FALSE(st);
  CHECK(st.message() == "unsolicited_response");
  CHECK_FALSE(c.codec->canCreateStream());
}

TEST_CASE("resetting a client stream closes the connection without callbacks", "[http][http1]") {
  ClientHarness c;
  http::Stream& s = c.request("GET", "/");
  s.resetStream(http::StreamResetReason::kLocalReset);
  CHECK(c.codec->closeNow());
  CHECK(c.codec->activeStreams() == 0);
  CHECK(c.recorder.events.empty());
  CHECK_FALSE(c.codec->canCreateStream());
}

TEST_CASE("a stream can start the next request from inside the final response event", "[http][http1]") {
  ClientHarness c;
  c.request("GET", "/1");
  bool started = false;
  c.recorder.on_end = [&](remora::testing::StreamRecorder&) {
    if (started) return;
    started = true;
    CHECK(c.codec->canCreateStream());
  };
  REQUIRE(c.feed("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx"));
  CHECK(started);
  c.transport.take();
  c.request("GET", "/2");
  CHECK(c.transport.take().rfind("GET /2 HTTP/1.1\r\n", 0) == 0);
}

TEST_CASE("feeding a response one byte at a time gives the same events as one write", "[http][http1]") {
  const std::string response =
      "HTTP/1.1 100 Continue\r\n\r\n"
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: b\r\n\r\n5;e=1\r\nhello\r\n1a\r\n"
      "abcdefghijklmnopqrstuvwxyz\r\n0\r\nT: v\r\n\r\n";
  auto run = [&](bool bytewise) {
    ClientHarness c;
    c.request("POST", "/", true);
    for (size_t i = 0; bytewise && i < response.size(); ++i) REQUIRE(c.feed(response.substr(i, 1)));
    if (!bytewise) REQUIRE(c.feed(response));
    return c.recorder.normalized();
  };
  auto whole = run(false);
  CHECK(whole.size() == 4);
  CHECK(whole == run(true));
}

TEST_CASE("readDisable on a client stream holds the response until re-enabled", "[http][http1]") {
  ClientHarness c;
  http::Stream& s = c.request("GET", "/");
  s.readDisable(true);
  CHECK(c.transport.read_disabled == 1);
  REQUIRE(c.feed("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"));
  REQUIRE(c.codec->onTransportEof());
  CHECK(c.recorder.events.empty());
  s.readDisable(false);
  CHECK(c.recorder.normalized() == std::vector<std::string>{"H :status=200 content-length=2 end=0", "D ok end=1"});
  CHECK_FALSE(c.recorder.reset);
}
