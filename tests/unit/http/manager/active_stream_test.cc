// ActiveStream over a real loopback connection: local replies (status,
// x-remora-error, body, counters), the reset that replaces a local reply once
// the response has started, and 100-continue. Every test ends with every
// handle closed.
#include "proxy/http/manager/active_stream.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <string>

#include "tests/unit/http/http2/h2_test_util.h"
#include "tests/unit/http/manager/manager_test_rig.h"
#include "tests/unit/upstream/strict_loop_fixture.h"

using namespace std::chrono_literals;
using remora::base::Error;
using remora::testing::StrictLoopFixture;
using remora::testing::ManagerRig;
using remora::testing::TestHandler;
namespace http = remora::http;
namespace h2 = remora::testing::h2;
namespace net = remora::net;

TEST_CASE_METHOD(StrictLoopFixture, "a local reply carries the status, an x-remora-error naming the reason and the detail",
                 "[http][manager][local-reply]") {
  ManagerRig rig(dispatcher());
  const std::string detail = "route 'r' names cluster 'c', which does not exist";
  rig.on_headers = [&](TestHandler& h, bool) { h.downstream.sendLocalReply(503, Error::kNoCluster, detail); };
  rig.connect();
  rig.send("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n");
  REQUIRE(runUntil([&] { return rig.client_events.received.find(detail + "\n") != std::string::npos; }));

  const std::string& got = rig.client_events.received;
  CHECK(got.rfind("HTTP/1.1 503 Service Unavailable\r\n", 0) == 0);
  CHECK_THAT(got, Catch::Contains("x-remora-error: no_cluster\r\n"));
  CHECK_THAT(got, Catch::Contains("content-length: " + std::to_string(detail.size() + 1) + "\r\n"));
  CHECK_THAT(got, Catch::EndsWith("\r\n\r\n" + detail + "\n"));
  CHECK(rig.localReplies("no_cluster") == 1);
  CHECK(rig.localReplies("no_route") == 0);
  CHECK(rig.counters.responses_by_class[5].value() == 1);
  // The request was complete: the connection is kept for the next one.
  runFor(10ms);
  CHECK_FALSE(rig.clientSawClose());
}

TEST_CASE_METHOD(StrictLoopFixture, "a local reply to HEAD has the headers and no body", "[http][manager][local-reply]") {
  ManagerRig rig(dispatcher());
  rig.on_headers = [&](TestHandler& h, bool) { h.downstream.sendLocalReply(404, Error::kNoRoute, "nothing here"); };
  rig.connect();
  rig.send("HEAD / HTTP/1.1\r\nHost: example.com\r\n\r\nGET / HTTP/1.1\r\nHost: example.com\r\n\r\n");
  // Both answers arrive; the first has no body, so the second follows its head directly.
  REQUIRE(runUntil([&] { return rig.client_events.received.find("nothing here\n") != std::string::npos; }));
  const std::string& got = rig.client_events.received;
  const size_t first_end = got.find("\r\n\r\n");
  REQUIRE(first_end != std::string::npos);
  CHECK(got.compare(first_end + 4, 9, "HTTP/1.1 ") == 0);
  CHECK(rig.localReplies("no_route") == 2);
}

TEST_CASE_METHOD(StrictLoopFixture, "a local reply after the response started resets the stream instead of a short body",
                 "[http][manager][local-reply]") {
  ManagerRig rig(dispatcher());
  rig.on_headers = [&](TestHandler& h, bool) {
    auto headers = std::make_unique<http::HeaderMap>();
    headers->add(":status", "200");
    headers->add("content-length", "1000");
    h.downstream.encodeHeaders(std::move(headers), false);
    net::Buffer part("partial");
    h.downstream.encodeData(part, false);
    h.downstream.sendLocalReply(502, Error::kUpstreamReset, "upstream reset mid-body");
  };
  rig.connect();
  rig.send("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n");
  // HTTP/1 cannot abort one message: the connection is closed after the
  // bytes already sent, so the client sees fewer than content-length bytes.
  REQUIRE(runUntil([&] { return rig.clientSawClose(); }));
  const std::string& got = rig.client_events.received;
  CHECK(got.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  CHECK_THAT(got, Catch::EndsWith("\r\n\r\npartial"));
  CHECK(got.find("x-remora-error") == std::string::npos);
  CHECK(got.find("upstream reset mid-body") == std::string::npos);
  CHECK(rig.localReplies("upstream_reset") == 1);
}

TEST_CASE_METHOD(StrictLoopFixture, "on HTTP/2 a local reply after the response started is a RST_STREAM",
                 "[http][manager][local-reply]") {
  ManagerRig rig(dispatcher());
  rig.on_headers = [&](TestHandler& h, bool) {
    auto headers = std::make_unique<http::HeaderMap>();
    headers->add(":status", "200");
    h.downstream.encodeHeaders(std::move(headers), false);
    net::Buffer part("partial");
    h.downstream.encodeData(part, false);
  };
  rig.connect();
  h2::Hpack hpack;
  rig.send(h2::kPreface + h2::settingsFrame() +
           h2::frame(h2::kHeaders, h2::kEndStream | h2::kEndHeaders, 1, hpack.requestBlock("/")));
  REQUIRE(runUntil([&] { return h2::findFrame(h2::parseFrames(rig.client_events.received), h2::kData, 1); }));
  REQUIRE(rig.current != nullptr);
  rig.current->downstream.sendLocalReply(502, Error::kUpstreamReset, "upstream reset mid-body");
  REQUIRE(runUntil([&] { return h2::findFrame(h2::parseFrames(rig.client_events.received), h2::kRstStream, 1); }));

  const auto frames = h2::parseFrames(rig.client_events.received);
  size_t header_blocks = 0;
  for (const auto& f : frames) {
    if (f.type == h2::kData) CHECK((f.flags & h2::kEndStream) == 0);  // never a clean end
    if (f.type == h2::kHeaders) {
      ++header_blocks;
      CHECK(h2::valueOf(hpack.decode(f.payload), "x-remora-error").empty());
    }
  }
  CHECK(header_blocks == 1);  // the 200 only: no second response
  CHECK(rig.localReplies("upstream_reset") == 1);
  // Only the stream is aborted; the connection stays up for other streams.
  runFor(10ms);
  CHECK_FALSE(rig.clientSawClose());
}

TEST_CASE_METHOD(StrictLoopFixture, "a request that expects 100-continue is answered with 100 Continue and stripped from the request",
                 "[http][manager]") {
  ManagerRig rig(dispatcher());
  rig.on_request_end = [](TestHandler& h) { h.respond(200, "got " + h.log.body); };
  rig.connect();
  rig.send("POST /upload HTTP/1.1\r\nHost: example.com\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
  REQUIRE(runUntil([&] { return !rig.client_events.received.empty(); }));
  CHECK(rig.client_events.received == "HTTP/1.1 100 Continue\r\n\r\n");
  REQUIRE(rig.logs.size() == 1);
  REQUIRE(rig.log().headers != nullptr);
  CHECK_FALSE(rig.log().headers->has("expect"));
  CHECK(rig.log().headers->method() == "POST");

  rig.send("hello");
  REQUIRE(runUntil([&] { return rig.client_events.received.find("got hello") != std::string::npos; }));
  const std::string& got = rig.client_events.received;
  CHECK(got.find("HTTP/1.1 200 OK\r\n") == std::string("HTTP/1.1 100 Continue\r\n\r\n").size());
  CHECK(rig.log().body == "hello");
}

// RFC 9110 10.1.1 makes the Expect value case-insensitive: "100-CONTINUE"
// is answered and stripped like "100-continue".
TEST_CASE_METHOD(StrictLoopFixture, "the 100-continue expectation is recognised in any letter case",
                 "[http][manager]") {
  ManagerRig rig(dispatcher());
  rig.connect();
  rig.send("POST /upload HTTP/1.1\r\nHost: example.com\r\nContent-Length: 5\r\nExpect: 100-CONTINUE\r\n\r\n");
  REQUIRE(runUntil([&] { return rig.current != nullptr; }));
  runFor(20ms);
  CHECK(rig.client_events.received == "HTTP/1.1 100 Continue\r\n\r\n");
  CHECK_FALSE(rig.log().headers->has("expect"));
}

TEST_CASE_METHOD(StrictLoopFixture, "a bodiless request that expects 100-continue gets no 100 Continue",
                 "[http][manager]") {
  ManagerRig rig(dispatcher());
  rig.on_headers = [](TestHandler& h, bool) { h.respond(200, "fine"); };
  rig.connect();
  rig.send("GET / HTTP/1.1\r\nHost: example.com\r\nExpect: 100-continue\r\n\r\n");
  REQUIRE(runUntil([&] { return rig.client_events.received.find("fine") != std::string::npos; }));
  CHECK(rig.client_events.received.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  CHECK_FALSE(rig.log().headers->has("expect"));
}

TEST_CASE_METHOD(StrictLoopFixture, "a stream idle past stream_idle_timeout gets 408 and the handler is told",
                 "[http][manager]") {
  http::manager::ManagerSettings settings;
  settings.stream_idle_timeout = 50ms;
  ManagerRig rig(dispatcher(), settings);
  rig.connect();
  rig.send("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n");  // the handler never answers
  REQUIRE(runUntil([&] { return rig.client_events.received.find("\r\n\r\n") != std::string::npos; }, 3s));
  CHECK(rig.client_events.received.rfind("HTTP/1.1 408 ", 0) == 0);
  CHECK_THAT(rig.client_events.received, Catch::Contains("x-remora-error: idle_timeout\r\n"));
  REQUIRE(rig.logs.size() == 1);
  CHECK(rig.log().resets.size() == 1);
}

TEST_CASE("every local reply reason maps to its documented status", "[http][manager][local-reply]") {
  using remora::http::manager::localReplyStatus;
  CHECK(localReplyStatus(Error::kNoRoute) == 404);
  CHECK(localReplyStatus(Error::kNoCluster) == 503);
  CHECK(localReplyStatus(Error::kNoHealthyUpstream) == 503);
  CHECK(localReplyStatus(Error::kConnectFailed) == 503);
  CHECK(localReplyStatus(Error::kConnectTimeout) == 503);
  CHECK(localReplyStatus(Error::kOverflow) == 503);
  CHECK(localReplyStatus(Error::kUpstreamReset) == 502);
  CHECK(localReplyStatus(Error::kUpstreamProtocol) == 502);
  CHECK(localReplyStatus(Error::kRouteTimeout) == 504);
  CHECK(localReplyStatus(Error::kRequestTimeout) == 408);
  CHECK(localReplyStatus(Error::kBodyTooLarge) == 413);
  CHECK(localReplyStatus(Error::kHeadersTooLarge) == 431);
}

TEST_CASE_METHOD(StrictLoopFixture, "a local reply to a gRPC request is trailers-only with grpc-status and grpc-message",
                 "[http][manager][local-reply][grpc]") {
  ManagerRig rig(dispatcher());
  rig.on_headers = [&](TestHandler& h, bool) {
    h.downstream.sendLocalReply(504, Error::kRouteTimeout, "the call's grpc-timeout expired: 100% gone");
  };
  rig.connect();
  rig.send("POST /pkg.Svc/Call HTTP/1.1\r\nHost: example.com\r\ncontent-type: application/grpc\r\n"
           "content-length: 0\r\n\r\n");
  REQUIRE(runUntil([&] { return rig.client_events.received.find("\r\n\r\n") != std::string::npos; }));
  const std::string& got = rig.client_events.received;
  CHECK(got.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  CHECK_THAT(got, Catch::Contains("content-type: application/grpc\r\n"));
  CHECK_THAT(got, Catch::Contains("grpc-status: 4\r\n"));
  CHECK_THAT(got, Catch::Contains("grpc-message: the call's grpc-timeout expired: 100%25 gone\r\n"));
  CHECK_THAT(got, Catch::Contains("x-remora-error: route_timeout\r\n"));
}

TEST_CASE("gRPC local replies map reasons and HTTP statuses to gRPC codes", "[http][manager][local-reply][grpc]") {
  using remora::http::manager::grpcStatusFor;
  CHECK(grpcStatusFor(Error::kPerTryTimeout, 504) == 4);
  CHECK(grpcStatusFor(Error::kNoHealthyUpstream, 503) == 14);
  CHECK(grpcStatusFor(Error::kOverflow, 503) == 14);
  CHECK(grpcStatusFor(Error::kRbacDenied, 403) == 7);
  CHECK(grpcStatusFor(Error::kNoRoute, 404) == 12);
  CHECK(grpcStatusFor(Error::kInternal, 500) == 2);
  CHECK(remora::http::manager::grpcMessageEncode("a\nb%") == "a%0Ab%25");
}
