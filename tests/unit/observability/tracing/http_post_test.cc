#include "proxy/observability/tracing/http_post.h"

#include <catch2/catch.hpp>

#include <optional>
#include <string>

#include "tests/unit/net/loop_fixture.h"
#include "tests/unit/observability/tracing/test_collector.h"

using remora::net::testing::LoopFixture;
using remora::tracing::HttpPost;
using remora::tracing::HttpPostRequest;
using remora::tracing::HttpPostResult;
using remora::tracing::testing::TestCollector;

namespace {

HttpPostRequest request(std::string body) {
  return HttpPostRequest{"collector.local", "/v1/traces", "application/x-protobuf", std::move(body)};
}

// A port nobody listens on: bind one, note it, close it.
remora::net::Address deadAddress(remora::net::Dispatcher& dispatcher) {
  TestCollector collector(dispatcher);
  return collector.address();
}

}  // namespace

TEST_CASE_METHOD(LoopFixture, "a POST carries its headers and body and reports a 2xx", "[tracing][http_post]") {
  TestCollector collector(dispatcher());
  std::optional<HttpPostResult> result;
  auto post = HttpPost::start(dispatcher(), collector.address(), request(std::string("a\0b", 3)),
                              std::chrono::seconds(5), [&](HttpPostResult r) { result = std::move(r); });
  REQUIRE(runUntil([&] { return result.has_value(); }));
  CHECK(result->ok);
  CHECK(result->status == 200);
  REQUIRE(collector.requests.size() == 1);
  const auto& received = collector.requests[0];
  CHECK(received.method == "POST");
  CHECK(received.path == "/v1/traces");
  CHECK(received.headers.at("host") == "collector.local");
  CHECK(received.headers.at("content-type") == "application/x-protobuf");
  CHECK(received.headers.at("content-length") == "3");
  CHECK(received.body == std::string("a\0b", 3));
}

TEST_CASE_METHOD(LoopFixture, "a non-2xx answer is a failure with its status", "[tracing][http_post]") {
  TestCollector collector(dispatcher());
  collector.statuses = {503};
  std::optional<HttpPostResult> result;
  auto post = HttpPost::start(dispatcher(), collector.address(), request("x"), std::chrono::seconds(5),
                              [&](HttpPostResult r) { result = std::move(r); });
  REQUIRE(runUntil([&] { return result.has_value(); }));
  CHECK_FALSE(result->ok);
  CHECK(result->status == 503);
  CHECK(result->error == "HTTP 503");
}

TEST_CASE_METHOD(LoopFixture, "a refused connect is reported later, never from start", "[tracing][http_post]") {
  const remora::net::Address dead = deadAddress(dispatcher());
  std::optional<HttpPostResult> result;
  auto post = HttpPost::start(dispatcher(), dead, request("x"), std::chrono::seconds(5),
                              [&](HttpPostResult r) { result = std::move(r); });
  CHECK_FALSE(result.has_value());
  REQUIRE(runUntil([&] { return result.has_value(); }));
  CHECK_FALSE(result->ok);
  CHECK(result->status == 0);
  CHECK(result->error.find("connect failed") == 0);
}

TEST_CASE_METHOD(LoopFixture, "a collector that never answers times out", "[tracing][http_post]") {
  TestCollector collector(dispatcher());
  collector.hang = true;
  std::optional<HttpPostResult> result;
  auto post = HttpPost::start(dispatcher(), collector.address(), request("x"), std::chrono::milliseconds(50),
                              [&](HttpPostResult r) { result = std::move(r); });
  REQUIRE(runUntil([&] { return result.has_value(); }));
  CHECK_FALSE(result->ok);
  CHECK(result->error == "timed out after 50 ms");
  CHECK(collector.requests.size() == 1);
}

TEST_CASE_METHOD(LoopFixture, "a cancelled POST never calls back", "[tracing][http_post]") {
  TestCollector collector(dispatcher());
  bool called = false;
  auto post = HttpPost::start(dispatcher(), collector.address(), request("x"), std::chrono::seconds(5),
                              [&](HttpPostResult) { called = true; });
  post->cancel();
  runFor(std::chrono::milliseconds(30));
  CHECK_FALSE(called);
}
