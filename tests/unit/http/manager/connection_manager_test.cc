// ConnectionManager over a real loopback connection: serving, the request
// headers timeout, draining (HTTP/1 and HTTP/2) and downstream write
// watermarks. Every test ends with every handle closed.
#include "proxy/http/manager/connection_manager.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <string>

#include "tests/unit/http/http2/h2_test_util.h"
#include "tests/unit/http/manager/manager_test_rig.h"
#include "tests/unit/upstream/strict_loop_fixture.h"

using namespace std::chrono_literals;
using remora::testing::StrictLoopFixture;
using remora::testing::ManagerRig;
using remora::testing::TestHandler;
namespace http = remora::http;
namespace h2 = remora::testing::h2;
namespace net = remora::net;

namespace {

const std::string kGet = "GET /hello HTTP/1.1\r\nHost: example.com\r\n\r\n";

}  // namespace

TEST_CASE_METHOD(StrictLoopFixture, "a handler's response reaches the client over a loopback connection",
                 "[http][manager]") {
  ManagerRig rig(dispatcher());
  rig.on_headers = [](TestHandler& h, bool end_stream) { h.respond(200, "hello, client"); };
  rig.connect();
  rig.send(kGet);
  REQUIRE(runUntil([&] { return rig.client_events.received.find("hello, client") != std::string::npos; }));

  const std::string& got = rig.client_events.received;
  CHECK(got.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  CHECK_THAT(got, Catch::Contains("content-length: 13\r\n"));
  REQUIRE(rig.logs.size() == 1);
  CHECK(rig.log().headers->path() == "/hello");
  CHECK(rig.log().headers->authority() == "example.com");
  CHECK(rig.log().request_complete);
  CHECK(rig.counters.connections_total.value() == 1);
  CHECK(rig.counters.requests_total.value() == 1);
  CHECK(rig.counters.responses_by_class[2].value() == 1);
  // Keep-alive: the connection stays open for the next request.
  runFor(10ms);
  CHECK_FALSE(rig.clientSawClose());
  CHECK(rig.counters.requests_active.value() == 0);
}

TEST_CASE_METHOD(StrictLoopFixture, "a client that stops mid-headers is closed by the request headers timeout",
                 "[http][manager]") {
  http::manager::ManagerSettings settings;
  settings.request_headers_timeout = 50ms;
  ManagerRig rig(dispatcher(), settings);
  rig.connect();
  rig.send("GET / HTTP/1.1\r\nHost: exa");  // and then nothing
  const auto start = std::chrono::steady_clock::now();
  REQUIRE(runUntil([&] { return rig.clientSawClose(); }, 3s));
  CHECK(std::chrono::steady_clock::now() - start >= 40ms);
  CHECK(rig.counters.header_timeouts.value() == 1);
  CHECK(rig.logs.empty());  // no request ever reached a handler
  CHECK(rig.released == 1);
}

TEST_CASE_METHOD(StrictLoopFixture, "a client whose headers complete in time is not closed by the request headers timeout",
                 "[http][manager]") {
  http::manager::ManagerSettings settings;
  settings.request_headers_timeout = 50ms;
  ManagerRig rig(dispatcher(), settings);
  rig.on_headers = [](TestHandler& h, bool) { h.respond(200, "ok"); };
  rig.connect();
  rig.send("GET / HTTP/1.1\r\n");
  runFor(20ms);
  rig.send("Host: example.com\r\n\r\n");
  REQUIRE(runUntil([&] { return rig.client_events.received.find("\r\n\r\nok") != std::string::npos; }));
  runFor(100ms);
  CHECK_FALSE(rig.clientSawClose());
  CHECK(rig.counters.header_timeouts.value() == 0);
}

TEST_CASE_METHOD(StrictLoopFixture, "draining an HTTP/1 connection answers the in-flight request with Connection close, then closes",
                 "[http][manager][drain]") {
  ManagerRig rig(dispatcher());
  rig.connect();
  rig.send(kGet);
  REQUIRE(runUntil([&] { return rig.current != nullptr && rig.log().request_complete; }));

  rig.manager()->drain();
  runFor(10ms);
  CHECK_FALSE(rig.clientSawClose());  // the request in flight is still answered
  rig.current->respond(200, "last one");
  REQUIRE(runUntil([&] { return rig.clientSawClose(); }));
  const std::string& got = rig.client_events.received;
  CHECK(got.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  CHECK_THAT(got, Catch::Contains("connection: close\r\n"));
  CHECK_THAT(got, Catch::EndsWith("last one"));
}

TEST_CASE_METHOD(StrictLoopFixture,
                 "draining an idle HTTP/1 connection keeps it for the next request, answered with Connection close",
                 "[http][manager][drain]") {
  ManagerRig rig(dispatcher());
  rig.on_headers = [](TestHandler& h, bool) { h.respond(200, "ok"); };
  rig.connect();
  rig.send(kGet);
  REQUIRE(runUntil([&] { return rig.client_events.received.find("\r\n\r\nok") != std::string::npos; }));
  rig.manager()->drain();
  // A keep-alive client may be sending its next request right now: closing
  // under it would fail that request.
  runFor(20ms);
  CHECK_FALSE(rig.clientSawClose());
  rig.client_events.received.clear();
  rig.send(kGet);
  REQUIRE(runUntil([&] { return rig.clientSawClose(); }));
  CHECK_THAT(rig.client_events.received, Catch::Contains("connection: close\r\n"));
  CHECK_THAT(rig.client_events.received, Catch::EndsWith("ok"));
  CHECK(rig.released == 1);
}

TEST_CASE_METHOD(StrictLoopFixture, "a drained idle HTTP/1 connection that gets no request closes at the drain timeout",
                 "[http][manager][drain]") {
  http::manager::ManagerSettings settings;
  settings.drain_timeout = 30ms;
  ManagerRig rig(dispatcher(), settings);
  rig.on_headers = [](TestHandler& h, bool) { h.respond(200, "ok"); };
  rig.connect();
  rig.send(kGet);
  REQUIRE(runUntil([&] { return rig.client_events.received.find("\r\n\r\nok") != std::string::npos; }));
  rig.manager()->drain();
  CHECK_FALSE(rig.clientSawClose());
  REQUIRE(runUntil([&] { return rig.clientSawClose(); }));
  CHECK(rig.released == 1);
}

TEST_CASE_METHOD(StrictLoopFixture, "draining an HTTP/2 connection sends GOAWAY and still answers the open stream",
                 "[http][manager][drain]") {
  ManagerRig rig(dispatcher());
  rig.connect();
  h2::Hpack hpack;
  rig.send(h2::kPreface + h2::settingsFrame() +
           h2::frame(h2::kHeaders, h2::kEndStream | h2::kEndHeaders, 1, hpack.requestBlock("/h2")));
  REQUIRE(runUntil([&] { return rig.current != nullptr && rig.log().request_complete; }));
  CHECK(rig.manager()->protocol() == http::Protocol::kHttp2);

  rig.manager()->drain();
  REQUIRE(runUntil([&] {
    return h2::findFrame(h2::parseFrames(rig.client_events.received), h2::kGoAway) != nullptr;
  }));
  CHECK_FALSE(rig.clientSawClose());
  // GOAWAY names the last stream the server will process: ours.
  const auto frames = h2::parseFrames(rig.client_events.received);
  const h2::ParsedFrame* goaway = h2::findFrame(frames, h2::kGoAway);
  REQUIRE(goaway->payload.size() >= 8);
  CHECK((goaway->u32(0) & 0x7fffffff) == 1);

  rig.current->respond(200, "bye");
  REQUIRE(runUntil([&] { return rig.clientSawClose(); }));
  const auto after = h2::parseFrames(rig.client_events.received);
  CHECK(h2::findFrame(after, h2::kHeaders, 1) != nullptr);
  const h2::ParsedFrame* data = h2::findFrame(after, h2::kData, 1);
  REQUIRE(data != nullptr);
  CHECK(data->payload == "bye");
}

TEST_CASE_METHOD(StrictLoopFixture, "a client that does not read pushes the handler above the write high watermark and back below",
                 "[http][manager][watermark]") {
  ManagerRig rig(dispatcher());
  rig.server_buffer_limit = 16 * 1024;
  const size_t body_size = 8 * 1024 * 1024;
  rig.on_headers = [&](TestHandler& h, bool) {
    auto headers = std::make_unique<http::HeaderMap>();
    headers->add(":status", "200");
    headers->add("content-length", std::to_string(body_size));
    h.downstream.encodeHeaders(std::move(headers), false);
    net::Buffer body(std::string(body_size - 1, 'x'));
    h.downstream.encodeData(body, false);
  };
  rig.connect();
  rig.client->readDisable(true);  // the client does not read
  rig.send(kGet);
  REQUIRE(runUntil([&] { return rig.current != nullptr && rig.log().above >= 1; }));
  runFor(20ms);
  CHECK(rig.log().below == 0);  // nobody is reading: the output cannot drain

  rig.client->readDisable(false);
  REQUIRE(runUntil([&] { return rig.log().below >= 1; }));
  net::Buffer last("y");
  rig.current->downstream.encodeData(last, true);
  const std::string& got = rig.client_events.received;
  REQUIRE(runUntil([&] { return !got.empty() && got.back() == 'y'; }));
  const size_t head = got.find("\r\n\r\n");
  REQUIRE(head != std::string::npos);
  CHECK(got.size() - (head + 4) == body_size);
  CHECK(rig.log().above == 1);
  CHECK(rig.log().below == 1);
}

TEST_CASE_METHOD(StrictLoopFixture, "a client that resets its stream tells the handler", "[http][manager]") {
  ManagerRig rig(dispatcher());
  rig.connect();
  rig.send("POST /upload HTTP/1.1\r\nHost: example.com\r\nContent-Length: 100\r\n\r\npartial");
  REQUIRE(runUntil([&] { return rig.current != nullptr && rig.log().body == "partial"; }));
  rig.client->close(net::CloseType::kNoFlush);
  REQUIRE(runUntil([&] { return !rig.log().resets.empty(); }));
  CHECK(rig.released == 1);
}
