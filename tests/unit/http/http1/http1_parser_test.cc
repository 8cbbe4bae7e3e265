// The parser's strictness, seen from the outside: each smuggling or limit case
// is fed to a server codec, which must answer with the right status, an
// x-remora-error reason and Connection: close, and deliver nothing.
#include "proxy/http/http1/http1_parser.h"

#include <catch2/catch.hpp>

#include "tests/unit/http/http1/http1_test_util.h"

using remora::testing::ServerHarness;
namespace http = remora::http;

namespace {

bool contains(const std::string& haystack, std::string_view needle) {
  return haystack.find(needle) != std::string::npos;
}

// A request refused at its head: no stream may ever see it.
void expectRejected(std::string_view bytes, int status, std::string_view reason, http::CodecLimits limits = {}) {
  INFO("request: " << bytes);
  ServerHarness h(limits);
  auto st = h.feed(bytes);
  CHECK_FALSE(st);
  std::string out = h.transport.take();
  CHECK(out.rfind("HTTP/1.1 " + std::to_string(status) + " ", 0) == 0);
  CHECK(contains(out, "x-remora-error: " + std::string(reason) + "\r\n"));
  CHECK(contains(out, "connection: close\r\n"));
  CHECK(h.streams.empty());
  CHECK(h.codec->wantsClose());
}

// A request whose body framing breaks after its head was delivered: the
// stream is reset (never ended) and the client gets a 400.
void expectBodyRejected(std::string_view bytes, std::string_view reason) {
  INFO("request: " << bytes);
  ServerHarness h;
  auto st = h.feed(bytes);
  CHECK_FALSE(st);
  CHECK(st.message() == reason);
  std::string out = h.transport.take();
  CHECK(out.rfind("HTTP/1.1 400 ", 0) == 0);
  CHECK(contains(out, "x-remora-error: " + std::string(reason) + "\r\n"));
  REQUIRE(h.streams.size() == 1);
  CHECK(h.streams[0]->events.back() == "R protocol_error");
  CHECK_FALSE(h.streams[0]->ended);
  CHECK(h.codec->closeNow());
}

const std::string kChunkedHead = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";

}  // namespace

TEST_CASE("Content-Length together with Transfer-Encoding is refused", "[http][http1][smuggling]") {
  expectRejected("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 400,
                 "content_length_and_transfer_encoding");
  expectRejected("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", 400,
                 "content_length_and_transfer_encoding");
}

TEST_CASE("conflicting Content-Length fields are refused", "[http][http1][smuggling]") {
  expectRejected("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", 400,
                 "conflicting_content_length");
}

TEST_CASE("a Content-Length list of different values is refused", "[http][http1][smuggling]") {
  expectRejected("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 6\r\n\r\n", 400, "invalid_content_length");
}

TEST_CASE("identical duplicate Content-Length values are accepted once", "[http][http1][smuggling]") {
  ServerHarness h;
  REQUIRE(h.feed("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 3, 3\r\n\r\nabc"));
  REQUIRE(h.streams.size() == 1);
  CHECK(h.streams[0]->last_headers->getAll("content-length").size() == 1);
  CHECK(h.streams[0]->body == "abc");
}

TEST_CASE("a malformed Content-Length is refused", "[http][http1][smuggling]") {
  std::string value = GENERATE(std::string("+5"), std::string("-1"), std::string("5a"), std::string("0x5"),
                               std::string(""), std::string("5 5"), std::string("99999999999999999999"));
  expectRejected("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: " + value + "\r\n\r\n", 400,
                 "invalid_content_length");
}

TEST_CASE("a Transfer-Encoding other than exactly chunked is refused", "[http][http1][smuggling]") {
  std::string value = GENERATE(std::string("gzip, chunked"), std::string("chunked, gzip"), std::string("identity"),
                               std::string("xchunked"), std::string("chunked;q=1"), std::string("\"chunked\""));
  expectRejected("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: " + value + "\r\n\r\n", 400,
                 "unsupported_transfer_encoding");
}

TEST_CASE("two Transfer-Encoding fields are refused", "[http][http1][smuggling]") {
  expectRejected("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
                 400, "multiple_transfer_encoding");
}

TEST_CASE("Transfer-Encoding in an HTTP/1.0 request is refused", "[http][http1][smuggling]") {
  expectRejected("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400, "transfer_encoding_in_http10");
}

TEST_CASE("a chunk size that is not hex is refused", "[http][http1][smuggling]") {
  expectBodyRejected(kChunkedHead + "zz\r\nhello\r\n0\r\n\r\n", "invalid_chunk_size");
}

TEST_CASE("a chunk size longer than 16 hex digits is refused", "[http][http1][smuggling]") {
  expectBodyRejected(kChunkedHead + "00000000000000005\r\nhello\r\n", "chunk_size_too_long");
}

TEST_CASE("a chunk size that would overflow is refused", "[http][http1][smuggling]") {
  expectBodyRejected(kChunkedHead + "ffffffffffffffff\r\nhello\r\n", "chunk_size_overflow");
}

TEST_CASE("a chunk extension with bad characters is refused", "[http][http1][smuggling]") {
  std::string line = GENERATE(std::string("5;a\x01"), std::string("5;"), std::string("5 "),
                              std::string("5;a=\"open"), std::string("5 x"), std::string("5;a=b c"));
  expectBodyRejected(kChunkedHead + line + "\r\nhello\r\n0\r\n\r\n", "invalid_chunk_extension");
}

TEST_CASE("valid chunk extensions are accepted and ignored", "[http][http1]") {
  ServerHarness h;
  REQUIRE(h.feed(kChunkedHead + "5 ; a = b ;c;d=\"q\\\"t\"\r\nhello\r\n0\r\n\r\n"));
  REQUIRE(h.streams.size() == 1);
  CHECK(h.streams[0]->body == "hello");
  CHECK(h.streams[0]->ended);
}

TEST_CASE("chunk data not followed by CRLF is refused", "[http][http1][smuggling]") {
  expectBodyRejected(kChunkedHead + "5\r\nhelloXX0\r\n\r\n", "missing_crlf_after_chunk");
}

TEST_CASE("a bare LF ending the request line is refused", "[http][http1][smuggling]") {
  expectRejected("GET / HTTP/1.1\nHost: a\r\n\r\n", 400, "bare_lf");
}

TEST_CASE("a bare LF ending a header line is refused", "[http][http1][smuggling]") {
  expectRejected("GET / HTTP/1.1\r\nHost: a\nX: 1\r\n\r\n", 400, "bare_lf");
}

TEST_CASE("a bare LF in chunked framing is refused", "[http][http1][smuggling]") {
  expectBodyRejected(kChunkedHead + "5\nhello\r\n0\r\n\r\n", "bare_lf");
}

TEST_CASE("an obs-folded header line is refused", "[http][http1][smuggling]") {
  expectRejected("GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n  continued\r\n\r\n", 400, "obs_fold");
  expectRejected("GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n\tcontinued\r\n\r\n", 400, "obs_fold");
}

TEST_CASE("whitespace between a field name and the colon is refused", "[http][http1][smuggling]") {
  expectRejected("POST / HTTP/1.1\r\nHost: a\r\nContent-Length : 5\r\n\r\nhello", 400, "whitespace_before_colon");
  expectRejected("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding\t: chunked\r\n\r\n", 400,
                 "whitespace_before_colon");
}

TEST_CASE("a method with non-token characters is refused", "[http][http1][smuggling]") {
  expectRejected("G(ET / HTTP/1.1\r\nHost: a\r\n\r\n", 400, "invalid_method");
  expectRejected("GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n", 400, "invalid_request_line");
}

TEST_CASE("a field name with non-token characters is refused", "[http][http1][smuggling]") {
  expectRejected("GET / HTTP/1.1\r\nHost: a\r\nX\"y: 1\r\n\r\n", 400, "invalid_field_name");
  expectRejected("GET / HTTP/1.1\r\nHost: a\r\nX@y: 1\r\n\r\n", 400, "invalid_field_name");
  expectRejected("GET / HTTP/1.1\r\nHost: a\r\n: 1\r\n\r\n", 400, "empty_field_name");
  expectRejected("GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n", 400, "missing_colon");
}

TEST_CASE("control characters in a field value are refused", "[http][http1][smuggling]") {
  std::string value = GENERATE(std::string("a\x01" "b"), std::string("a\rb"), std::string("a\x7f"),
                               std::string("a\0b", 3));
  expectRejected("GET / HTTP/1.1\r\nHost: a\r\nX: " + value + "\r\n\r\n", 400, "invalid_field_value");
}

TEST_CASE("an invalid request-target is refused", "[http][http1][smuggling]") {
  std::string target = GENERATE(std::string("foo"), std::string("/a#frag"), std::string("/%zz"),
                                std::string("/%4"), std::string("*"), std::string("http://user@host/"),
                                std::string("ftp://host/"), std::string("http:///x"), std::string("/\x80"));
  expectRejected("GET " + target + " HTTP/1.1\r\nHost: a\r\n\r\n", 400, "invalid_request_target");
}

TEST_CASE("extra spaces in the request line are refused", "[http][http1][smuggling]") {
  expectRejected("GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400, "invalid_request_line");
  expectRejected("GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", 400, "invalid_request_line");
}

TEST_CASE("an HTTP version other than 1.0 and 1.1 is refused", "[http][http1][smuggling]") {
  expectRejected("GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505, "unsupported_http_version");
  expectRejected("GET / HTTP/1.2\r\nHost: a\r\n\r\n", 505, "unsupported_http_version");
  expectRejected("GET / http/1.1\r\nHost: a\r\n\r\n", 400, "invalid_http_version");
  expectRejected("GET / HTTP/1.10\r\nHost: a\r\n\r\n", 400, "invalid_http_version");
}

TEST_CASE("an HTTP/1.1 request without Host is refused", "[http][http1][smuggling]") {
  expectRejected("GET / HTTP/1.1\r\n\r\n", 400, "missing_host");
}

TEST_CASE("a request with two Host fields is refused", "[http][http1][smuggling]") {
  expectRejected("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, "multiple_host");
}

TEST_CASE("a Host with characters no authority has is refused", "[http][http1][smuggling]") {
  expectRejected("GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400, "invalid_host");
  expectRejected("GET / HTTP/1.1\r\nHost: user@a\r\n\r\n", 400, "invalid_host");
}

TEST_CASE("a header block over the size limit is refused with 431", "[http][http1][limits]") {
  http::CodecLimits limits;
  limits.max_request_headers_kb = 1;
  expectRejected("GET / HTTP/1.1\r\nHost: a\r\nX: " + std::string(1100, 'v') + "\r\n\r\n", 431,
                 "headers_too_large", limits);
}

TEST_CASE("an unterminated header block is refused once it passes the size limit", "[http][http1][limits]") {
  http::CodecLimits limits;
  limits.max_request_headers_kb = 1;
  // No CRLF ever comes: the codec must not buffer without bound.
  expectRejected("GET / HTTP/1.1\r\nHost: a\r\nX: " + std::string(1100, 'v'), 431, "headers_too_large", limits);
}

TEST_CASE("more header fields than the count limit are refused with 431", "[http][http1][limits]") {
  http::CodecLimits limits;
  limits.max_headers_count = 5;
  std::string request = "GET / HTTP/1.1\r\nHost: a\r\n";
  for (int i = 0; i < 5; ++i) request += "X-" + std::to_string(i) + ": v\r\n";
  expectRejected(request + "\r\n", 431, "too_many_headers", limits);
}

TEST_CASE("a request line longer than the limit is refused with 414", "[http][http1][limits]") {
  http::CodecLimits limits;
  limits.max_request_headers_kb = 1;
  expectRejected("GET /" + std::string(1100, 'p') + " HTTP/1.1\r\nHost: a\r\n\r\n", 414, "request_line_too_long",
                 limits);
}

TEST_CASE("a body on an upgrade request is refused", "[http][http1][smuggling]") {
  expectRejected(
      "GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: websocket\r\nContent-Length: 4\r\n\r\nabcd", 400,
      "body_on_upgrade_request");
  expectRejected("CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\nTransfer-Encoding: chunked\r\n\r\n", 400,
                 "body_on_upgrade_request");
}

TEST_CASE("framing fields in a trailer section are refused", "[http][http1][smuggling]") {
  expectBodyRejected(kChunkedHead + "0\r\nContent-Length: 5\r\n\r\n", "forbidden_trailer");
}

TEST_CASE("empty lines before a request line are ignored", "[http][http1]") {
  ServerHarness h;
  REQUIRE(h.feed("\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"));
  CHECK(h.streams.size() == 1);
}

TEST_CASE("the parser delivers one event per call and keeps partial lines between calls", "[http][http1]") {
  http::http1::Http1Parser parser(http::http1::Http1Parser::Mode::kRequest, http::CodecLimits{});
  remora::net::Buffer input("GET / HTTP/1.1\r\nHo");
  auto ev = parser.next(input);
  REQUIRE(ev);
  CHECK(*ev == http::http1::Http1Parser::Event::kNeedMoreData);
  CHECK(input.toString() == "Ho");  // the complete request line was consumed
  CHECK_FALSE(parser.betweenMessages());
  input.add("st: a\r\n\r\n");
  ev = parser.next(input);
  REQUIRE(ev);
  CHECK(*ev == http::http1::Http1Parser::Event::kHeaders);
  CHECK(parser.head().framing == http::http1::Http1Parser::Framing::kNone);
  CHECK(parser.betweenMessages());
  CHECK(parser.onEof() == http::http1::Http1Parser::EofOutcome::kIdle);
}
