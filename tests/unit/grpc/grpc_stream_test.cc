// GrpcStream on a real loop against FakeGrpcServer (our own HTTP/2 server
// codec on loopback): the server behaviours the reference gRPC server never
// shows. tests/integration/grpc proves the same client against gRPC C++.
#include "proxy/grpc/grpc_stream.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "proxy/grpc/grpc_status.h"
#include "tests/unit/grpc/fake_grpc_server.h"
#include "tests/unit/upstream/strict_loop_fixture.h"

namespace remora::grpc {
namespace {

using namespace std::chrono_literals;
using testing::FakeGrpcServer;
using Fixture = remora::testing::StrictLoopFixture;

struct Recorder : GrpcStreamCallbacks {
  void onReady() override {
    ++ready;
    if (on_ready) on_ready();
  }
  void onMessage(std::string message) override {
    messages.push_back(message);
    if (on_message) on_message(message);
  }
  void onClose(int status, std::string message) override {
    ++closes;
    code = status;
    close_message = std::move(message);
    if (on_close) on_close();
  }
  int ready = 0;
  std::vector<std::string> messages;
  int closes = 0;
  std::optional<int> code;
  std::string close_message;
  std::function<void()> on_ready;
  std::function<void(const std::string&)> on_message;
  std::function<void()> on_close;
};

GrpcStreamOptions optionsFor(const net::Address& address) {
  GrpcStreamOptions o;
  o.address = address;
  o.authority = "xds_cluster";
  o.path = "/remora.test.Echo/BidiStream";
  o.connect_timeout = 2000ms;
  return o;
}

TEST_CASE_METHOD(Fixture, "a call sends gRPC request headers and exchanges messages until the server's OK",
                 "[grpc][stream]") {
  FakeGrpcServer server(dispatcher());
  server.on_headers = [](FakeGrpcServer::Call& call) { call.sendHeaders(); };
  server.on_message = [](FakeGrpcServer::Call& call, const std::string& m) { call.sendMessage("echo:" + m); };
  server.on_end = [](FakeGrpcServer::Call& call) { call.sendTrailers(0); };
  Recorder r;
  GrpcStreamOptions options = optionsFor(server.address());
  options.metadata = {{"x-remora-node", "sidecar-1"}};
  auto stream = GrpcStream::start(dispatcher(), options, r);
  CHECK_FALSE(stream->ready());
  REQUIRE(runUntil([&] { return r.ready == 1; }));
  CHECK(stream->ready());
  stream->sendMessage("one");
  stream->sendMessage(std::string(100000, 'b'));
  stream->sendMessage("");
  REQUIRE(runUntil([&] { return r.messages.size() == 3; }));
  CHECK(r.messages[0] == "echo:one");
  CHECK(r.messages[1] == "echo:" + std::string(100000, 'b'));
  CHECK(r.messages[2] == "echo:");
  CHECK(r.closes == 0);
  stream->finish();
  REQUIRE(runUntil([&] { return r.closes == 1; }));
  CHECK(r.code == kStatusOk);
  CHECK(r.close_message.empty());
  CHECK_FALSE(stream->ready());

  REQUIRE(server.calls.size() == 1);
  const http::HeaderMap& h = *server.calls[0]->headers;
  CHECK(h.method() == "POST");
  CHECK(h.scheme() == "http");
  CHECK(h.path() == "/remora.test.Echo/BidiStream");
  CHECK(h.authority() == "xds_cluster");
  CHECK(h.get("content-type") == "application/grpc");
  CHECK(h.get("te") == "trailers");
  CHECK(h.get("user-agent").value_or("").substr(0, 13) == "remora-proxy/");
  CHECK(h.get("x-remora-node") == "sidecar-1");
  CHECK_FALSE(h.has("grpc-accept-encoding"));
  CHECK(server.calls[0]->client_ended);
}

TEST_CASE_METHOD(Fixture, "messages sent before the connection is up go out after it, in order", "[grpc][stream]") {
  FakeGrpcServer server(dispatcher());
  server.on_headers = [](FakeGrpcServer::Call& call) { call.sendHeaders(); };
  server.on_end = [](FakeGrpcServer::Call& call) { call.sendTrailers(0); };
  Recorder r;
  auto stream = GrpcStream::start(dispatcher(), optionsFor(server.address()), r);
  stream->sendMessage("first");
  stream->sendMessage("second");
  stream->finish();
  stream->sendMessage("after finish: dropped");
  CHECK(stream->queuedBytes() == 2 * 5 + 11);
  REQUIRE(runUntil([&] { return r.closes == 1; }));
  CHECK(r.ready == 1);
  CHECK(r.code == kStatusOk);
  REQUIRE(server.calls.size() == 1);
  CHECK(server.calls[0]->messages == std::vector<std::string>{"first", "second"});
}

TEST_CASE_METHOD(Fixture, "a trailers-only response ends the call with its status and decoded message",
                 "[grpc][stream]") {
  FakeGrpcServer server(dispatcher());
  server.on_headers = [](FakeGrpcServer::Call& call) {
    call.sendTrailersOnly(kStatusUnimplemented, "unknown%20method%20%22Foo%22");
  };
  Recorder r;
  auto stream = GrpcStream::start(dispatcher(), optionsFor(server.address()), r);
  REQUIRE(runUntil([&] { return r.closes == 1; }));
  CHECK(r.code == kStatusUnimplemented);
  CHECK(r.close_message == "unknown method \"Foo\"");
}

TEST_CASE_METHOD(Fixture, "an error status in trailers after messages reaches the owner", "[grpc][stream]") {
  FakeGrpcServer server(dispatcher());
  server.on_headers = [](FakeGrpcServer::Call& call) {
    call.sendHeaders();
    call.sendMessage("partial result");
    call.sendTrailers(kStatusPermissionDenied, "node%20not%20allowed");
  };
  Recorder r;
  auto stream = GrpcStream::start(dispatcher(), optionsFor(server.address()), r);
  REQUIRE(runUntil([&] { return r.closes == 1; }));
  CHECK(r.messages == std::vector<std::string>{"partial result"});
  CHECK(r.code == kStatusPermissionDenied);
  CHECK(r.close_message == "node not allowed");
}

TEST_CASE_METHOD(Fixture, "a non-200 HTTP status ends the call with INTERNAL", "[grpc][stream]") {
  FakeGrpcServer server(dispatcher());
  server.on_headers = [](FakeGrpcServer::Call& call) { call.sendHeaders(404, "text/plain"); };
  Recorder r;
  auto stream = GrpcStream::start(dispatcher(), optionsFor(server.address()), r);
  REQUIRE(runUntil([&] { return r.closes == 1; }));
  CHECK(r.code == kStatusInternal);
  CHECK(r.close_message == "HTTP status 404");
}

TEST_CASE_METHOD(Fixture, "a 200 response that is not application/grpc ends the call with INTERNAL", "[grpc][stream]") {
  FakeGrpcServer server(dispatcher());
  server.on_headers = [](FakeGrpcServer::Call& call) { call.sendHeaders(200, "text/html"); };
  Recorder r;
  auto stream = GrpcStream::start(dispatcher(), optionsFor(server.address()), r);
  REQUIRE(runUntil([&] { return r.closes == 1; }));
  CHECK(r.code == kStatusInternal);
  CHECK(r.close_message == "response content-type 'text/html' is not application/grpc");
}

TEST_CASE_METHOD(Fixture, "an incoming message over the limit ends the call with RESOURCE_EXHAUSTED",
                 "[grpc][stream]") {
  FakeGrpcServer server(dispatcher());
  server.on_headers = [](FakeGrpcServer::Call& call) {
    call.sendHeaders();
    call.sendMessage("small");
    call.sendMessage(std::string(2000, 'x'));
  };
  Recorder r;
  GrpcStreamOptions options = optionsFor(server.address());
  options.max_message_bytes = 1000;
  auto stream = GrpcStream::start(dispatcher(), options, r);
  REQUIRE(runUntil([&] { return r.closes == 1; }));
  CHECK(r.messages == std::vector<std::string>{"small"});
  CHECK(r.code == kStatusResourceExhausted);
  CHECK(r.close_message == "received message of 2000 bytes exceeds the limit of 1000 bytes");
  // The server hears the cancel.
  REQUIRE(runUntil([&] { return server.calls.size() == 1 && server.calls[0]->reset.has_value(); }));
}

TEST_CASE_METHOD(Fixture, "a compressed message ends the call with INTERNAL", "[grpc][stream]") {
  FakeGrpcServer server(dispatcher());
  server.on_headers = [](FakeGrpcServer::Call& call) {
    call.sendHeaders();
    call.sendRaw(std::string("\x01\0\0\0\x03zip", 8));
  };
  Recorder r;
  auto stream = GrpcStream::start(dispatcher(), optionsFor(server.address()), r);
  REQUIRE(runUntil([&] { return r.closes == 1; }));
  CHECK(r.messages.empty());
  CHECK(r.code == kStatusInternal);
  CHECK(r.close_message.find("compressed") != std::string::npos);
}

TEST_CASE_METHOD(Fixture, "a response that ends without trailers, or inside a message, is INTERNAL", "[grpc][stream]") {
  FakeGrpcServer server(dispatcher());
  bool truncate = GENERATE(false, true);
  server.on_headers = [truncate](FakeGrpcServer::Call& call) {
    call.sendHeaders();
    if (truncate) {
      // Declares 10 bytes, sends 3.
      call.sendRaw(std::string("\0\0\0\0\x0a", 5) + "abc");
      call.sendTrailers(0);
    } else {
      call.endWithoutTrailers();
    }
  };
  Recorder r;
  auto stream = GrpcStream::start(dispatcher(), optionsFor(server.address()), r);
  REQUIRE(runUntil([&] { return r.closes == 1; }));
  CHECK(r.code == kStatusInternal);
  if (truncate) {
    CHECK(r.close_message == "the stream ended inside a message (3 bytes of it received)");
  } else {
    CHECK(r.close_message == "the stream ended without trailers");
  }
}

TEST_CASE_METHOD(Fixture, "trailers without grpc-status end the call with UNKNOWN", "[grpc][stream]") {
  FakeGrpcServer server(dispatcher());
  server.on_headers = [](FakeGrpcServer::Call& call) {
    call.sendHeaders();
    call.sendTrailers(-1);
  };
  Recorder r;
  auto stream = GrpcStream::start(dispatcher(), optionsFor(server.address()), r);
  REQUIRE(runUntil([&] { return r.closes == 1; }));
  CHECK(r.code == kStatusUnknown);
}

TEST_CASE_METHOD(Fixture, "connecting to a closed port ends the call with UNAVAILABLE naming the address",
                 "[grpc][stream]") {
  net::Address closed;
  {
    FakeGrpcServer server(dispatcher());
    closed = server.address();
  }
  Recorder r;
  auto stream = GrpcStream::start(dispatcher(), optionsFor(closed), r);
  REQUIRE(runUntil([&] { return r.closes == 1; }));
  CHECK(r.ready == 0);
  CHECK(r.code == kStatusUnavailable);
  CHECK(r.close_message == "connect to " + closed.toString() + " failed: connection refused");
}

TEST_CASE_METHOD(Fixture, "a connect slower than the connect timeout ends the call with UNAVAILABLE",
                 "[grpc][stream]") {
  FakeGrpcServer server(dispatcher());
  Recorder r;
  GrpcStreamOptions options = optionsFor(server.address());
  // libuv runs due timers before it polls for I/O, so a 0 ms timeout always
  // fires before the connect completes.
  options.connect_timeout = 0ms;
  auto stream = GrpcStream::start(dispatcher(), options, r);
  REQUIRE(runUntil([&] { return r.closes == 1; }));
  CHECK(r.ready == 0);
  CHECK(r.code == kStatusUnavailable);
  CHECK(r.close_message == "connect to " + server.address().toString() + " timed out after 0 ms");
}

TEST_CASE_METHOD(Fixture, "the server closing the connection mid-call ends it with UNAVAILABLE", "[grpc][stream]") {
  FakeGrpcServer server(dispatcher());
  server.on_headers = [](FakeGrpcServer::Call& call) { call.sendHeaders(); };
  server.on_message = [](FakeGrpcServer::Call& call, const std::string&) { call.session.close(); };
  Recorder r;
  auto stream = GrpcStream::start(dispatcher(), optionsFor(server.address()), r);
  stream->sendMessage("bye");
  REQUIRE(runUntil([&] { return r.closes == 1; }));
  CHECK(r.code == kStatusUnavailable);
  CHECK(r.close_message.substr(0, 31) == "connection closed by the server");
}

TEST_CASE_METHOD(Fixture, "bytes that are not HTTP/2 end the call with INTERNAL", "[grpc][stream]") {
  FakeGrpcServer server(dispatcher(), FakeGrpcServer::Mode::kGarbage);
  Recorder r;
  auto stream = GrpcStream::start(dispatcher(), optionsFor(server.address()), r);
  REQUIRE(runUntil([&] { return r.closes == 1; }));
  CHECK(r.code == kStatusInternal);
  CHECK(r.close_message.substr(0, 28) == "HTTP/2 error from the server");
}

TEST_CASE_METHOD(Fixture, "keepalive fails a call whose server stopped answering, within interval plus timeout",
                 "[grpc][stream][keepalive]") {
  FakeGrpcServer server(dispatcher(), FakeGrpcServer::Mode::kSilent);
  Recorder r;
  GrpcStreamOptions options = optionsFor(server.address());
  options.keepalive_interval = 50ms;
  options.keepalive_timeout = 100ms;
  auto stream = GrpcStream::start(dispatcher(), options, r);
  REQUIRE(runUntil([&] { return r.ready == 1; }));
  const auto start = std::chrono::steady_clock::now();
  REQUIRE(runUntil([&] { return r.closes == 1; }, 5s));
  const auto elapsed = std::chrono::steady_clock::now() - start;
  CHECK(r.code == kStatusUnavailable);
  CHECK(r.close_message == "keepalive: PING not acknowledged within 100 ms");
  CHECK(elapsed >= 140ms);
  CHECK(elapsed < 2s);
}

TEST_CASE_METHOD(Fixture, "keepalive PINGs answered by the server keep a quiet call open",
                 "[grpc][stream][keepalive]") {
  FakeGrpcServer server(dispatcher());
  server.on_headers = [](FakeGrpcServer::Call& call) { call.sendHeaders(); };
  Recorder r;
  GrpcStreamOptions options = optionsFor(server.address());
  options.keepalive_interval = 20ms;
  options.keepalive_timeout = 200ms;
  auto stream = GrpcStream::start(dispatcher(), options, r);
  REQUIRE(runUntil([&] { return r.ready == 1 && server.sessions.size() == 1; }));
  const size_t before = server.sessions[0]->bytesReceived();
  runFor(400ms);
  CHECK(r.closes == 0);
  CHECK(stream->ready());
  // At least several PINGs (17 bytes each) went out while nothing else did.
  CHECK(server.sessions[0]->bytesReceived() >= before + 5 * 17);
}

TEST_CASE_METHOD(Fixture, "a server that stops reading makes messages queue, and none is lost when it resumes",
                 "[grpc][stream][flow]") {
  FakeGrpcServer server(dispatcher());
  server.on_headers = [](FakeGrpcServer::Call& call) { call.sendHeaders(); };
  server.on_end = [](FakeGrpcServer::Call& call) { call.sendTrailers(0); };
  Recorder r;
  GrpcStreamOptions options = optionsFor(server.address());
  options.connection_buffer_limit = 64 * 1024;
  auto stream = GrpcStream::start(dispatcher(), options, r);
  REQUIRE(runUntil([&] { return r.ready == 1 && server.calls.size() == 1; }));
  server.sessions[0]->pauseReading(true);
  constexpr int kCount = 100;
  std::vector<std::string> sent;
  for (int i = 0; i < kCount; ++i) {
    std::string m = std::to_string(i) + ":" + std::string(64 * 1024, static_cast<char>('a' + i % 26));
    sent.push_back(m);
    stream->sendMessage(m);
  }
  stream->finish();
  runFor(200ms);
  // 6.4 MB cannot all leave: the peer's window and our socket are full.
  CHECK(stream->queuedBytes() > 0);
  CHECK(r.closes == 0);
  server.sessions[0]->pauseReading(false);
  REQUIRE(runUntil([&] { return r.closes == 1; }, 20s));
  CHECK(r.code == kStatusOk);
  CHECK(stream->queuedBytes() == 0);
  REQUIRE(server.calls[0]->messages.size() == sent.size());
  CHECK(server.calls[0]->messages == sent);
}

TEST_CASE_METHOD(Fixture, "destroying the stream inside onMessage stops callbacks and cancels the call",
                 "[grpc][stream]") {
  FakeGrpcServer server(dispatcher());
  server.on_headers = [](FakeGrpcServer::Call& call) {
    call.sendHeaders();
    call.sendMessage("1");
    call.sendMessage("2");
    call.sendMessage("3");
  };
  Recorder r;
  std::unique_ptr<GrpcStream> stream = GrpcStream::start(dispatcher(), optionsFor(server.address()), r);
  r.on_message = [&](const std::string&) { stream.reset(); };
  REQUIRE(runUntil([&] { return !server.calls.empty() && server.calls[0]->reset.has_value(); }));
  CHECK(r.messages == std::vector<std::string>{"1"});
  runFor(50ms);
  CHECK(r.closes == 0);
}

TEST_CASE_METHOD(Fixture, "the owner may destroy the stream inside onClose", "[grpc][stream]") {
  FakeGrpcServer server(dispatcher());
  server.on_headers = [](FakeGrpcServer::Call& call) { call.sendTrailersOnly(kStatusAborted); };
  Recorder r;
  std::unique_ptr<GrpcStream> stream = GrpcStream::start(dispatcher(), optionsFor(server.address()), r);
  r.on_close = [&] { stream.reset(); };
  REQUIRE(runUntil([&] { return r.closes == 1; }));
  CHECK(stream == nullptr);
  CHECK(r.code == kStatusAborted);
}

TEST_CASE_METHOD(Fixture, "destroying the stream before it connects fires no callbacks", "[grpc][stream]") {
  FakeGrpcServer server(dispatcher());
  Recorder r;
  auto stream = GrpcStream::start(dispatcher(), optionsFor(server.address()), r);
  stream->sendMessage("never");
  stream.reset();
  runFor(50ms);
  CHECK(r.ready == 0);
  CHECK(r.closes == 0);
}

TEST_CASE_METHOD(Fixture, "onClose is delivered on a later loop iteration, never inside the owner's call",
                 "[grpc][stream]") {
  FakeGrpcServer server(dispatcher());
  server.on_headers = [](FakeGrpcServer::Call& call) { call.sendHeaders(); };
  Recorder r;
  auto stream = GrpcStream::start(dispatcher(), optionsFor(server.address()), r);
  bool in_owner_call = false;
  r.on_close = [&] { CHECK_FALSE(in_owner_call); };
  // The close is triggered from inside onReady (an owner's sendMessage that
  // runs while the connection is being closed by the server is the same path).
  r.on_ready = [&] {
    in_owner_call = true;
    server.sessions.at(0)->close();
    stream->sendMessage("x");
    stream->finish();
    in_owner_call = false;
  };
  REQUIRE(runUntil([&] { return r.closes == 1; }));
  CHECK(r.code == kStatusUnavailable);
}

}  // namespace
}  // namespace remora::grpc
