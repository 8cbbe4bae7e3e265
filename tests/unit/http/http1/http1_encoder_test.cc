#include "proxy/http/http1/http1_encoder.h"

#include <catch2/catch.hpp>

using remora::net::Buffer;
using namespace remora::http;
using namespace remora::http::http1;

TEST_CASE("a request head takes its line from pseudo-headers and drops codec-owned fields", "[http][http1]") {
  HeaderMap headers;
  headers.add(":method", "PUT");
  headers.add(":scheme", "http");
  headers.add(":authority", "svc:80");
  headers.add(":path", "/k");
  headers.add("transfer-encoding", "gzip");
  headers.add("connection", "keep-alive");
  headers.add("x-a", "1");
  HeadFraming framing;
  framing.content_length = 4;
  Buffer out;
  encodeRequestHead(headers, framing, out);
  CHECK(out.toString() == "PUT /k HTTP/1.1\r\nhost: svc:80\r\nx-a: 1\r\ncontent-length: 4\r\n\r\n");
}

TEST_CASE("CONNECT puts the authority on the request line", "[http][http1]") {
  HeaderMap headers;
  headers.add(":method", "CONNECT");
  headers.add(":authority", "db:5432");
  Buffer out;
  encodeRequestHead(headers, HeadFraming{}, out);
  CHECK(out.toString() == "CONNECT db:5432 HTTP/1.1\r\nhost: db:5432\r\n\r\n");
}

TEST_CASE("a method or path that would split the request line is not written", "[http][http1]") {
  HeaderMap headers;
  headers.add(":method", "GET / HTTP/1.1\r\nX:");
  headers.add(":authority", "a");
  headers.add(":path", "/a b");
  Buffer out;
  encodeRequestHead(headers, HeadFraming{}, out);
  CHECK(out.toString() == "GET / HTTP/1.1\r\nhost: a\r\n\r\n");
}

TEST_CASE("chunk framing writes hex sizes and trailers", "[http][http1]") {
  Buffer out;
  encodeChunkHeader(255, out);
  HeaderMap trailers;
  trailers.add("x-t", "v");
  encodeLastChunk(&trailers, out);
  CHECK(out.toString() == "ff\r\n0\r\nx-t: v\r\n\r\n");
}

TEST_CASE("a response head has a reason phrase even for unknown codes", "[http][http1]") {
  HeaderMap headers;
  Buffer out;
  encodeResponseHead(299, headers, HeadFraming{}, out);
  CHECK(out.toString() == "HTTP/1.1 299 Unknown\r\n\r\n");
}
