#include "tests/integration/harness/http_client.h"

#include <catch2/catch.hpp>

using namespace remora::harness;

TEST_CASE("a content-length response is parsed into status, headers and body", "[harness][http_client]") {
  auto response = parseHttpResponse(
      "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Thing:  spaced value \r\n\r\nhello");
  REQUIRE(response);
  CHECK(response->status == 200);
  CHECK(response->reason == "OK");
  CHECK(response->body == "hello");
  CHECK(response->header("x-thing") == "spaced value");
  CHECK(response->header("X-THING") == "spaced value");
  CHECK_FALSE(response->header("absent"));
}

TEST_CASE("a chunked response is decoded and its extensions ignored", "[harness][http_client]") {
  auto response = parseHttpResponse(
      "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nx-trailer: t\r\n\r\n");
  REQUIRE(response);
  CHECK(response->status == 201);
  CHECK(response->body == "hello world");
}

TEST_CASE("a truncated body is an error, not a short success", "[harness][http_client]") {
  CHECK_FALSE(parseHttpResponse("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort"));
  CHECK_FALSE(parseHttpResponse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel"));
  CHECK_FALSE(parseHttpResponse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"));
}

TEST_CASE("a response without framing runs until the close", "[harness][http_client]") {
  auto response = parseHttpResponse("HTTP/1.0 200 OK\r\n\r\nuntil close");
  REQUIRE(response);
  CHECK(response->body == "until close");
}

TEST_CASE("responses to HEAD and 204 have no body", "[harness][http_client]") {
  auto head = parseHttpResponse("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", true);
  REQUIRE(head);
  CHECK(head->body.empty());
  auto no_content = parseHttpResponse("HTTP/1.1 204 No Content\r\n\r\n");
  REQUIRE(no_content);
  CHECK(no_content->status == 204);
}

TEST_CASE("garbage is rejected", "[harness][http_client]") {
  CHECK_FALSE(parseHttpResponse("hello"));
  CHECK_FALSE(parseHttpResponse("HTTP/1.1 2x0 OK\r\n\r\n"));
  CHECK_FALSE(parseHttpResponse("HTTP/1.1 200 OK\r\nno colon here\r\n\r\n"));
}
