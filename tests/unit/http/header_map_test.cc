#include "proxy/http/header_map.h"

#include <catch2/catch.hpp>

using remora::http::HeaderMap;

TEST_CASE("header names are lower-cased and pseudo-headers sort first", "[http]") {
  HeaderMap h;
  h.add("Content-Type", "text/plain");
  h.add(":method", "GET");
  h.add("X-Multi", "a");
  h.add("x-multi", "b");
  h.add(":path", "/");
  REQUIRE(h.size() == 5);
  CHECK(h.fields()[0].name == ":method");
  CHECK(h.fields()[1].name == ":path");
  CHECK(h.get("content-type") == "text/plain");
  CHECK(h.getAll("x-multi").size() == 2);
  h.set("x-multi", "c");
  CHECK(h.getAll("x-multi").size() == 1);
  CHECK(h.get("x-multi") == "c");
  CHECK(h.remove("content-type") == 1);
  CHECK_FALSE(h.has("content-type"));
  CHECK(h.method() == "GET");
}

TEST_CASE("status parses only three digits", "[http]") {
  HeaderMap h;
  h.add(":status", "503");
  CHECK(h.status() == 503);
  HeaderMap bad;
  bad.add(":status", "5x3");
  CHECK(bad.status() == 0);
}
