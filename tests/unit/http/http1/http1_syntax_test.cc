#include "proxy/http/http1/http1_syntax.h"

#include <catch2/catch.hpp>

using namespace remora::http::http1;

TEST_CASE("content-length accepts digits and lists of identical values only", "[http][http1]") {
  CHECK(parseContentLength("0") == 0u);
  CHECK(parseContentLength("12345") == 12345u);
  CHECK(parseContentLength(" 7 ") == 7u);
  CHECK(parseContentLength("7, 7,7") == 7u);
  CHECK_FALSE(parseContentLength("7, 8"));
  CHECK_FALSE(parseContentLength("7,"));
  CHECK_FALSE(parseContentLength("+7"));
  CHECK_FALSE(parseContentLength("7.0"));
  CHECK_FALSE(parseContentLength("4611686018427387905"));  // 2^62 + 1
  CHECK(parseContentLength("4611686018427387904") == (uint64_t{1} << 62));
}

TEST_CASE("connection-style lists are matched by whole token, ignoring case", "[http][http1]") {
  CHECK(listHasToken("keep-alive, Upgrade", "upgrade"));
  CHECK(listHasToken("close", "close"));
  CHECK_FALSE(listHasToken("closed", "close"));
  CHECK_FALSE(listHasToken("", "close"));
}

TEST_CASE("paths need valid percent escapes and no fragment", "[http][http1]") {
  CHECK(isValidPathAndQuery("/a/b%20c?x=1&y=%7E"));
  CHECK(isValidPathAndQuery("/{}|^"));
  CHECK_FALSE(isValidPathAndQuery("/a%2"));
  CHECK_FALSE(isValidPathAndQuery("/a%g0"));
  CHECK_FALSE(isValidPathAndQuery("/a#b"));
  CHECK_FALSE(isValidPathAndQuery("/a b"));
}

TEST_CASE("authorities refuse userinfo and whitespace", "[http][http1]") {
  CHECK(isValidAuthority("example.com:8080"));
  CHECK(isValidAuthority("[::1]:80"));
  CHECK(isValidAuthority(""));
  CHECK_FALSE(isValidAuthority("user@example.com"));
  CHECK_FALSE(isValidAuthority("a b"));
  CHECK_FALSE(isValidAuthority("a/b"));
}

TEST_CASE("tokens and field values follow the RFC 9110 character classes", "[http][http1]") {
  CHECK(isToken("X-Custom_Header.1~"));
  CHECK_FALSE(isToken(""));
  CHECK_FALSE(isToken("a b"));
  CHECK_FALSE(isToken("a:b"));
  CHECK(isFieldValue("text\twith tab and \xc3\xa9"));
  CHECK_FALSE(isFieldValue("a\nb"));
  CHECK_FALSE(isFieldValue(std::string("a\0b", 3)));
}
