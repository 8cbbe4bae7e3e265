#include "proxy/http/http2/http2_headers.h"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

namespace remora::http::http2 {
namespace {

std::vector<std::pair<std::string, std::string>> fieldsOf(const NvBuilder& nv) {
  std::vector<std::pair<std::string, std::string>> out;
  for (size_t i = 0; i < nv.size(); ++i) {
    const nghttp2_nv& f = nv.data()[i];
    out.emplace_back(std::string(reinterpret_cast<const char*>(f.name), f.namelen),
                     std::string(reinterpret_cast<const char*>(f.value), f.valuelen));
  }
  return out;
}

TEST_CASE("connection-specific headers are recognized, te only when not trailers", "[http2][headers]") {
  CHECK(isConnectionSpecificHeader("connection", "close"));
  CHECK(isConnectionSpecificHeader("keep-alive", "timeout=5"));
  CHECK(isConnectionSpecificHeader("proxy-connection", "x"));
  CHECK(isConnectionSpecificHeader("transfer-encoding", "chunked"));
  CHECK(isConnectionSpecificHeader("upgrade", "h2c"));
  CHECK(isConnectionSpecificHeader("te", "gzip"));
  CHECK_FALSE(isConnectionSpecificHeader("te", "trailers"));
  CHECK_FALSE(isConnectionSpecificHeader("content-type", "text/plain"));
}

TEST_CASE("a request without :scheme and :authority gets them, host moving to :authority", "[http2][headers]") {
  HeaderMap h;
  h.add(":method", "GET");
  h.add(":path", "/");
  h.add("host", "svc:80");
  h.add("accept", "*/*");
  NvBuilder nv;
  nv.build(h, NvBuilder::Kind::kRequest, false);
  auto f = fieldsOf(nv);
  REQUIRE(f.size() == 5);
  CHECK(f[0].first == ":method");
  CHECK(f[1].first == ":path");
  CHECK(f[2] == std::make_pair(std::string(":scheme"), std::string("http")));
  CHECK(f[3] == std::make_pair(std::string(":authority"), std::string("svc:80")));
  CHECK(f[4].first == "accept");
}

TEST_CASE("CONNECT requests get no :scheme and existing pseudo-headers are kept", "[http2][headers]") {
  HeaderMap h;
  h.add(":method", "CONNECT");
  h.add(":authority", "db:5432");
  NvBuilder nv;
  nv.build(h, NvBuilder::Kind::kRequest, false);
  auto f = fieldsOf(nv);
  REQUIRE(f.size() == 2);
  CHECK(f[1].second == "db:5432");
}

TEST_CASE("trailers carry no pseudo-headers and borrowed fields point into the map", "[http2][headers]") {
  HeaderMap h;
  h.add(":status", "200");
  h.add("grpc-status", "0");
  NvBuilder nv;
  nv.build(h, NvBuilder::Kind::kTrailers, true);
  REQUIRE(nv.size() == 1);
  CHECK(reinterpret_cast<const char*>(nv.data()[0].value) == h.get("grpc-status")->data());
  CHECK((nv.data()[0].flags & NGHTTP2_NV_FLAG_NO_COPY_VALUE) != 0);
}

TEST_CASE("decoded cookie crumbs are joined into one field", "[http2][headers]") {
  HeaderMap h;
  addDecodedHeader(h, "cookie", "a=1");
  addDecodedHeader(h, "x", "y");
  addDecodedHeader(h, "cookie", "b=2");
  CHECK(h.get("cookie") == "a=1; b=2");
  CHECK(h.size() == 2);
}

}  // namespace
}  // namespace remora::http::http2
