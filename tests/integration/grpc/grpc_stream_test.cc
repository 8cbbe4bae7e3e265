// remora::grpc::GrpcStream (the proxy's in-loop gRPC client) against the
// reference gRPC C++ server, grpc_echo_server's BidiStream: messages, the
// OK and error statuses from real trailers, a server that dies, a server that
// hangs (keepalive), and a port nobody listens on. The loop is the test's own
// Dispatcher; requests are EchoRequest bytes from the generated echo.pb.
#include "proxy/grpc/grpc_stream.h"

#include <signal.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "echo.pb.h"
#include "proxy/grpc/grpc_status.h"
#include "proxy/net/listener.h"
#include "tests/integration/harness/backend_process.h"
#include "tests/unit/upstream/strict_loop_fixture.h"

namespace remora::grpc {
namespace {

using namespace std::chrono_literals;
using Fixture = remora::testing::StrictLoopFixture;

constexpr char kBidiPath[] = "/remora.test.Echo/BidiStream";

struct Recorder : GrpcStreamCallbacks {
  void onReady() override { ++ready; }
  void onMessage(std::string message) override {
    test::EchoReply reply;
    parsed_ok = parsed_ok && reply.ParseFromString(message);
    replies.push_back(std::move(reply));
  }
  void onClose(int status, std::string message) override {
    ++closes;
    code = status;
    close_message = std::move(message);
  }
  int ready = 0;
  bool parsed_ok = true;
  std::vector<test::EchoReply> replies;
  int closes = 0;
  std::optional<int> code;
  std::string close_message;
};

std::string echoRequest(int index, std::string message, size_t payload_bytes = 0) {
  test::EchoRequest request;
  request.set_index(index);
  request.set_message(std::move(message));
  if (payload_bytes > 0) request.set_payload(std::string(payload_bytes, static_cast<char>('a' + index % 26)));
  return request.SerializeAsString();
}

GrpcStreamOptions optionsFor(const harness::BackendProcess& server, std::string path = kBidiPath) {
  GrpcStreamOptions o;
  auto address = net::Address::parse(server.address());
  REQUIRE(address);
  o.address = *address;
  o.authority = "grpc_echo";
  o.path = std::move(path);
  o.connect_timeout = 5000ms;
  return o;
}

TEST_CASE_METHOD(Fixture, "the reference server echoes every message in order and ends the call with OK",
                 "[grpc][integration]") {
  auto server = harness::BackendProcess::grpcEcho();
  REQUIRE(server);
  Recorder r;
  auto stream = GrpcStream::start(dispatcher(), optionsFor(*server), r);
  constexpr int kCount = 50;
  // Half before the connection is up, half after; a few large enough to span
  // several DATA frames and flow-control windows.
  for (int i = 0; i < kCount / 2; ++i) stream->sendMessage(echoRequest(i, "m" + std::to_string(i)));
  REQUIRE(runUntil([&] { return r.ready == 1; }));
  for (int i = kCount / 2; i < kCount; ++i) {
    stream->sendMessage(echoRequest(i, "m" + std::to_string(i), i % 10 == 0 ? 300 * 1024 : 0));
  }
  REQUIRE(runUntil([&] { return r.replies.size() == kCount || r.closes > 0; }, 20s));
  INFO(r.close_message);
  CHECK(r.closes == 0);
  CHECK(r.parsed_ok);
  for (int i = 0; i < kCount; ++i) {
    INFO("reply " << i);
    CHECK(r.replies[i].index() == i);
    CHECK(r.replies[i].message() == "m" + std::to_string(i));
    CHECK(r.replies[i].payload().size() == (i >= kCount / 2 && i % 10 == 0 ? 300 * 1024 : 0));
  }
  stream->finish();
  REQUIRE(runUntil([&] { return r.closes == 1; }));
  CHECK(r.code == kStatusOk);
  CHECK(r.close_message.empty());
}

TEST_CASE_METHOD(Fixture, "an error status and its message come from the reference server's trailers",
                 "[grpc][integration]") {
  auto server = harness::BackendProcess::grpcEcho();
  REQUIRE(server);
  Recorder r;
  auto stream = GrpcStream::start(dispatcher(), optionsFor(*server), r);
  stream->sendMessage(echoRequest(0, "fine"));
  test::EchoRequest failing;
  failing.set_fail_code(kStatusFailedPrecondition);
  failing.set_fail_message("version 7 rejected: 100% wrong\nsee logs");
  stream->sendMessage(failing.SerializeAsString());
  REQUIRE(runUntil([&] { return r.closes == 1; }));
  CHECK(r.replies.size() == 1);
  CHECK(r.code == kStatusFailedPrecondition);
  // gRPC C++ percent-encodes '%' and the newline; we decode them.
  CHECK(r.close_message == "version 7 rejected: 100% wrong\nsee logs");
}

TEST_CASE_METHOD(Fixture, "an unknown method gets UNIMPLEMENTED from the reference server", "[grpc][integration]") {
  auto server = harness::BackendProcess::grpcEcho();
  REQUIRE(server);
  Recorder r;
  auto stream = GrpcStream::start(dispatcher(), optionsFor(*server, "/remora.test.Echo/NoSuchMethod"), r);
  stream->sendMessage(echoRequest(0, "hello"));
  REQUIRE(runUntil([&] { return r.closes == 1; }));
  CHECK(r.replies.empty());
  CHECK(r.code == kStatusUnimplemented);
}

TEST_CASE_METHOD(Fixture, "the server killed mid-call ends it with UNAVAILABLE", "[grpc][integration]") {
  auto server = harness::BackendProcess::grpcEcho();
  REQUIRE(server);
  Recorder r;
  auto stream = GrpcStream::start(dispatcher(), optionsFor(*server), r);
  stream->sendMessage(echoRequest(0, "before"));
  REQUIRE(runUntil([&] { return r.replies.size() == 1; }));
  REQUIRE(server->process().signal(SIGKILL));
  REQUIRE(server->process().waitExit(5s));
  REQUIRE(runUntil([&] { return r.closes == 1; }));
  CHECK(r.code == kStatusUnavailable);
  CHECK(r.close_message.find("connection closed") != std::string::npos);
}

TEST_CASE_METHOD(Fixture, "connecting to a port nobody listens on ends with UNAVAILABLE naming the address",
                 "[grpc][integration]") {
  // A port the kernel just gave us and nobody listens on any more.
  net::Address closed;
  {
    struct Ignore : net::ListenerCallbacks {
      void onAccept(net::ConnectionPtr) override {}
    } ignore;
    auto any = net::Address::fromIpPort("127.0.0.1", 0);
    REQUIRE(any);
    auto listener = net::Listener::bind(dispatcher(), *any, ignore, /*reuse_port=*/false);
    REQUIRE(listener);
    closed = (*listener)->localAddress();
  }
  Recorder r;
  GrpcStreamOptions options;
  options.address = closed;
  options.authority = "nowhere";
  options.path = kBidiPath;
  auto stream = GrpcStream::start(dispatcher(), options, r);
  REQUIRE(runUntil([&] { return r.closes == 1; }));
  CHECK(r.ready == 0);
  CHECK(r.code == kStatusUnavailable);
  CHECK(r.close_message == "connect to " + closed.toString() + " failed: connection refused");
}

TEST_CASE_METHOD(Fixture, "keepalive fails the call when the server stops answering (SIGSTOP)",
                 "[grpc][integration][keepalive]") {
  auto server = harness::BackendProcess::grpcEcho();
  REQUIRE(server);
  Recorder r;
  GrpcStreamOptions options = optionsFor(*server);
  options.keepalive_interval = 200ms;
  options.keepalive_timeout = 300ms;
  auto stream = GrpcStream::start(dispatcher(), options, r);
  stream->sendMessage(echoRequest(0, "alive"));
  REQUIRE(runUntil([&] { return r.replies.size() == 1; }));
  REQUIRE(server->process().signal(SIGSTOP));
  const auto stopped_at = std::chrono::steady_clock::now();
  const bool closed = runUntil([&] { return r.closes == 1; }, 5s);
  const auto elapsed = std::chrono::steady_clock::now() - stopped_at;
  // Let it go before any REQUIRE can fail: the harness stops it with SIGTERM.
  server->process().signal(SIGCONT);
  REQUIRE(closed);
  CHECK(r.code == kStatusUnavailable);
  CHECK(r.close_message == "keepalive: PING not acknowledged within 300 ms");
  // Quiet for the interval, then the timeout: well under 2 s.
  CHECK(elapsed >= 300ms);
  CHECK(elapsed < 2s);
}

TEST_CASE_METHOD(Fixture, "keepalive PINGs are acknowledged by a healthy reference server",
                 "[grpc][integration][keepalive]") {
  auto server = harness::BackendProcess::grpcEcho();
  REQUIRE(server);
  Recorder r;
  GrpcStreamOptions options = optionsFor(*server);
  // Two PINGs while the call is quiet: the reference server's default
  // policy (max 2 ping strikes within 5 minutes without data) tolerates it.
  options.keepalive_interval = 300ms;
  options.keepalive_timeout = 1000ms;
  auto stream = GrpcStream::start(dispatcher(), options, r);
  stream->sendMessage(echoRequest(0, "one"));
  REQUIRE(runUntil([&] { return r.replies.size() == 1; }));
  runFor(700ms);
  INFO(r.close_message);
  CHECK(r.closes == 0);
  stream->sendMessage(echoRequest(1, "two"));
  REQUIRE(runUntil([&] { return r.replies.size() == 2 || r.closes > 0; }));
  stream->finish();
  REQUIRE(runUntil([&] { return r.closes == 1; }));
  CHECK(r.code == kStatusOk);
}

// A fact of the reference server the ADS client must live with: gRPC's
// default server policy counts a PING that arrives less than 5 minutes after
// the previous one, with no data sent in between, as a strike, and after 2
// strikes it sends GOAWAY ENHANCE_YOUR_CALM "too_many_pings" and fails the
// call. A quiet ADS stream with a 30 s keepalive therefore needs a control
// plane that permits it (GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS
// at or below the interval, or GRPC_ARG_HTTP2_MAX_PING_STRIKES 0).
TEST_CASE_METHOD(Fixture, "the reference server's default ping policy ends a quiet call that pings too often",
                 "[grpc][integration][keepalive]") {
  auto server = harness::BackendProcess::grpcEcho();
  REQUIRE(server);
  Recorder r;
  GrpcStreamOptions options = optionsFor(*server);
  options.keepalive_interval = 100ms;
  options.keepalive_timeout = 1000ms;
  auto stream = GrpcStream::start(dispatcher(), options, r);
  stream->sendMessage(echoRequest(0, "one"));
  REQUIRE(runUntil([&] { return r.replies.size() == 1; }));
  REQUIRE(runUntil([&] { return r.closes == 1; }, 5s));
  CHECK(r.code == kStatusUnavailable);
  CHECK(r.close_message == "Too many pings");
}

}  // namespace
}  // namespace remora::grpc
