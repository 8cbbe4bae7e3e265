#include "proxy/http/sniffer.h"

#include <catch2/catch.hpp>

#include <string>

using remora::net::Buffer;
using remora::http::SniffResult;
using remora::http::sniff;

namespace {
SniffResult sniffString(const std::string& s) {
  Buffer b(s);
  return sniff(b);
}
}  // namespace

TEST_CASE("the HTTP/2 prior-knowledge preface sniffs as HTTP/2", "[http][sniffer]") {
  CHECK(sniffString(std::string("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 24) + "\x00\x00\x12\x04") == SniffResult::kHttp2);
}

TEST_CASE("a partial HTTP/2 preface needs more data", "[http][sniffer]") {
  CHECK(sniffString("PRI * HTTP/2.0\r\n") == SniffResult::kNeedMoreData);
  CHECK(sniffString("P") == SniffResult::kNeedMoreData);
}

TEST_CASE("a TLS ClientHello record sniffs as TLS", "[http][sniffer]") {
  CHECK(sniffString(std::string("\x16\x03\x01\x02\x00\x01", 6)) == SniffResult::kTls);
  CHECK(sniffString(std::string("\x16\x03\x04", 3)) == SniffResult::kTls);
  CHECK(sniffString(std::string("\x16\x03", 2)) == SniffResult::kNeedMoreData);
  CHECK(sniffString(std::string("\x16\x03\x05", 3)) == SniffResult::kOpaque);
  CHECK(sniffString(std::string("\x16\x02\x01", 3)) == SniffResult::kOpaque);
}

TEST_CASE("a known method followed by a space sniffs as HTTP/1", "[http][sniffer]") {
  CHECK(sniffString("GET / HTTP/1.1\r\n") == SniffResult::kHttp1);
  CHECK(sniffString("POST ") == SniffResult::kHttp1);
  CHECK(sniffString("CONNECT a:1 HTTP/1.1") == SniffResult::kHttp1);
  CHECK(sniffString("OPTIONS * HTTP/1.1") == SniffResult::kHttp1);
}

TEST_CASE("a prefix of a method needs more data", "[http][sniffer]") {
  CHECK(sniffString("GE") == SniffResult::kNeedMoreData);
  CHECK(sniffString("DELETE") == SniffResult::kNeedMoreData);
}

TEST_CASE("anything else is opaque", "[http][sniffer]") {
  CHECK(sniffString("SSH-2.0-OpenSSH_9.2\r\n") == SniffResult::kOpaque);
  CHECK(sniffString("get / HTTP/1.1") == SniffResult::kOpaque);
  CHECK(sniffString("GETX / HTTP/1.1") == SniffResult::kOpaque);
  CHECK(sniffString(std::string("\x00\x01\x02", 3)) == SniffResult::kOpaque);
}

TEST_CASE("an empty buffer needs more data", "[http][sniffer]") {
  Buffer empty;
  CHECK(sniff(empty) == SniffResult::kNeedMoreData);
}
