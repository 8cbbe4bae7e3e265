// HealthChecker on a real loop against loopback servers: HTTP status checks,
// thresholds in both directions, timeouts, refused connects, TCP send/receive,
// gRPC SERVING/NOT_SERVING, host removal. Intervals are tens of ms so each
// test takes well under a second; every test ends with every handle closed.
#include "proxy/upstream/health_checker.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "proxy/upstream/health_check_session.h"
#include "tests/unit/upstream/loopback_backend.h"
#include "tests/unit/upstream/strict_loop_fixture.h"

using namespace std::chrono_literals;
using remora::net::Address;
using remora::testing::LoopbackBackend;
using remora::testing::StrictLoopFixture;
using remora::upstream::HealthChecker;
using remora::xds::resources::HealthCheck;
namespace http = remora::http;
namespace net = remora::net;

namespace {

HealthCheck httpConfig() {
  HealthCheck c;
  c.kind = HealthCheck::Kind::kHttp;
  c.path = "/health";
  c.interval = 20ms;
  c.timeout = 500ms;
  c.unhealthy_threshold = 3;
  c.healthy_threshold = 2;
  return c;
}

struct Change {
  std::string address;
  bool healthy;
  std::string reason;
  uint64_t checks;    // the host's finished checks when the change came
  uint32_t streak;    // the passes (or failures) in a row that made it
};

// A checker whose on_change calls are recorded.
struct Recorder {
  std::vector<Change> changes;
  std::unique_ptr<HealthChecker> checker;

  Recorder(net::Dispatcher& d, const HealthCheck& config, uint64_t seed = 1) {
    checker = std::make_unique<HealthChecker>(
        d, config, "cluster-a", nullptr, seed, [this](const Address& a, bool healthy, const std::string& reason) {
          const auto* s = checker->state(a);
          CHECK(s != nullptr);
          if (s == nullptr) return;
          changes.push_back({a.toString(), healthy, reason, s->checks,
                             healthy ? s->consecutive_passes : s->consecutive_failures});
        });
  }
  const HealthChecker::HostState& state(const Address& a) const {
    const auto* s = checker->state(a);
    REQUIRE(s != nullptr);
    return *s;
  }
};

// Bound, not listening: the kernel refuses connects to it.
struct ClosedPort {
  ClosedPort() {
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&sin), sizeof(sin)) == 0);
    socklen_t len = sizeof(sin);
    REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&sin), &len) == 0);
    auto a = Address::fromIpPort("127.0.0.1", ntohs(sin.sin_port));
    REQUIRE(a);
    address = *a;
  }
  ~ClosedPort() { ::close(fd); }
  int fd = -1;
  Address address;
};

// A raw TCP server: records what arrives and answers each read with `reply`.
class TcpServer : public net::ListenerCallbacks {
 public:
  struct Session : net::ConnectionCallbacks {
    Session(TcpServer& server, net::ConnectionPtr c) : server(server), connection(std::move(c)) {
      connection->setCallbacks(*this);
    }
    void onData(net::Buffer& data, bool end_stream) override {
      server.received += data.toString();
      data.clear();
      if (connection->state() != net::Connection::State::kOpen) return;
      if (end_stream) {
        connection->close(net::CloseType::kNoFlush);
      } else if (!server.reply.empty()) {
        net::Buffer out(server.reply);
        connection->write(out, false);
      }
    }
    void onEvent(net::ConnectionEvent event) override {
      if (event != net::ConnectionEvent::kConnected) closed = true;
    }
    TcpServer& server;
    net::ConnectionPtr connection;
    bool closed = false;
  };

  explicit TcpServer(net::Dispatcher& d) {
    auto address = Address::fromIpPort("127.0.0.1", 0);
    REQUIRE(address);
    auto bound = net::Listener::bind(d, *address, *this, /*reuse_port=*/false);
    REQUIRE(bound);
    listener_ = std::move(*bound);
  }
  void onAccept(net::ConnectionPtr connection) override {
    sessions.push_back(std::make_unique<Session>(*this, std::move(connection)));
  }
  const Address& address() const { return listener_->localAddress(); }
  size_t openSessions() const {
    size_t n = 0;
    for (const auto& s : sessions) n += s->closed ? 0 : 1;
    return n;
  }

  std::string reply;
  std::string received;
  std::vector<std::unique_ptr<Session>> sessions;

 private:
  net::ListenerPtr listener_;
};

// Answers grpc.health.v1.Health/Check with HealthCheckResponse{status}.
void answerGrpcHealth(LoopbackBackend::Exchange& e, uint8_t status) {
  http::Stream* s = e.stream;
  e.stream = nullptr;
  http::HeaderMap h;
  h.add(":status", "200");
  h.add("content-type", "application/grpc");
  s->encodeHeaders(h, false);
  net::Buffer body(std::string("\x00\x00\x00\x00\x02\x08", 6) + static_cast<char>(status));
  s->encodeData(body, false);
  http::HeaderMap t;
  t.add("grpc-status", "0");
  s->encodeTrailers(t);
}

}  // namespace

TEST_CASE("status text names the expected ranges", "[upstream][health]") {
  using remora::upstream::describeExpected;
  using remora::upstream::statusExpected;
  CHECK(statusExpected({}, 200));
  CHECK_FALSE(statusExpected({}, 204));
  CHECK(describeExpected({}) == "200");
  CHECK(statusExpected({{200, 300}, {304, 305}}, 304));
  CHECK_FALSE(statusExpected({{200, 300}, {304, 305}}, 301));
  CHECK(describeExpected({{200, 300}, {304, 305}}) == "200-299, 304");
}

TEST_CASE_METHOD(StrictLoopFixture, "an HTTP check sends the configured GET and a 200 keeps the host healthy",
                 "[upstream][health]") {
  LoopbackBackend backend(dispatcher(), http::Protocol::kHttp11);
  std::vector<std::string> seen;
  backend.on_request = [&](LoopbackBackend::Exchange& e) {
    seen.push_back(std::string(e.headers->method()) + " " + std::string(e.headers->path()) + " " +
                   std::string(e.headers->get("host").value_or(e.headers->authority())) + " " +
                   std::string(e.headers->get("user-agent").value_or("")));
  };
  {
    Recorder r(dispatcher(), httpConfig());
    r.checker->setHosts({backend.address()});
    REQUIRE(runUntil([&] { return r.state(backend.address()).checks >= 3; }));
    CHECK(r.state(backend.address()).healthy);
    CHECK(r.state(backend.address()).last_result == "HTTP 200");
    CHECK(r.changes.empty());
    REQUIRE(!seen.empty());
    CHECK(seen[0] == "GET /health cluster-a remora-health-check");
    // One connection per check, each closed when its check ended.
    CHECK(backend.accepted() >= 3);
    REQUIRE(runUntil([&] { return backend.openSessions() <= 1; }, 1s));
  }
}

TEST_CASE_METHOD(StrictLoopFixture,
                 "a host turns unhealthy after the failure threshold and healthy after the pass threshold",
                 "[upstream][health]") {
  LoopbackBackend backend(dispatcher(), http::Protocol::kHttp11);
  uint32_t status = 503;
  backend.on_request = [&](LoopbackBackend::Exchange& e) { e.respond(status, "x"); };
  Recorder r(dispatcher(), httpConfig());
  r.checker->setHosts({backend.address()});
  REQUIRE(runUntil([&] { return r.changes.size() == 1; }));
  CHECK_FALSE(r.changes[0].healthy);
  CHECK(r.changes[0].reason == "HTTP 503 (expected 200)");
  CHECK(r.changes[0].checks == 3);  // unhealthy_threshold
  CHECK(r.changes[0].streak == 3);
  CHECK(r.changes[0].address == backend.address().toString());

  // Still failing: no second call for the same state.
  runFor(60ms);
  CHECK(r.changes.size() == 1);
  CHECK_FALSE(r.state(backend.address()).healthy);

  status = 200;
  REQUIRE(runUntil([&] { return r.changes.size() == 2; }));
  CHECK(r.changes[1].healthy);
  CHECK(r.changes[1].reason == "HTTP 200");
  CHECK(r.changes[1].streak == 2);  // healthy_threshold
}

TEST_CASE_METHOD(StrictLoopFixture, "a failure streak shorter than the threshold does not change the host",
                 "[upstream][health]") {
  LoopbackBackend backend(dispatcher(), http::Protocol::kHttp11);
  int n = 0;
  // fail, fail, pass, fail, fail, pass...: never three failures in a row.
  backend.on_request = [&](LoopbackBackend::Exchange& e) { e.respond(++n % 3 == 0 ? 200 : 500, "x"); };
  Recorder r(dispatcher(), httpConfig());
  r.checker->setHosts({backend.address()});
  REQUIRE(runUntil([&] { return r.state(backend.address()).checks >= 8; }));
  CHECK(r.changes.empty());
  CHECK(r.state(backend.address()).healthy);
}

TEST_CASE_METHOD(StrictLoopFixture, "expected statuses accept a configured range over HTTP/2", "[upstream][health]") {
  LoopbackBackend backend(dispatcher(), http::Protocol::kHttp2);
  uint32_t status = 204;
  backend.on_request = [&](LoopbackBackend::Exchange& e) { e.respond(status, ""); };
  HealthCheck config = httpConfig();
  config.http2 = true;
  config.unhealthy_threshold = 1;
  config.expected_statuses = {{200, 300}};
  Recorder r(dispatcher(), config);
  r.checker->setHosts({backend.address()});
  REQUIRE(runUntil([&] { return r.state(backend.address()).checks >= 2; }));
  CHECK(r.state(backend.address()).last_result == "HTTP 204");
  CHECK(r.changes.empty());
  status = 302;
  REQUIRE(runUntil([&] { return r.changes.size() == 1; }));
  CHECK(r.changes[0].reason == "HTTP 302 (expected 200-299)");
}

TEST_CASE_METHOD(StrictLoopFixture, "a check the host never answers fails with a timeout and closes its connection",
                 "[upstream][health]") {
  LoopbackBackend backend(dispatcher(), http::Protocol::kHttp11);
  backend.mode = LoopbackBackend::Mode::kHold;
  HealthCheck config = httpConfig();
  config.timeout = 50ms;
  config.unhealthy_threshold = 1;
  Recorder r(dispatcher(), config);
  r.checker->setHosts({backend.address()});
  const auto start = std::chrono::steady_clock::now();
  REQUIRE(runUntil([&] { return r.changes.size() == 1; }));
  CHECK(std::chrono::steady_clock::now() - start >= 45ms);
  CHECK_FALSE(r.changes[0].healthy);
  CHECK(r.changes[0].reason == "timeout after 50 ms");
  // The timed-out connection was closed (only the next check's may be open).
  REQUIRE(runUntil([&] { return backend.openSessions() <= 1 && backend.accepted() >= 2; }, 2s));
}

TEST_CASE_METHOD(StrictLoopFixture, "a refused connect fails the check", "[upstream][health]") {
  ClosedPort port;
  HealthCheck config = httpConfig();
  config.unhealthy_threshold = 2;
  Recorder r(dispatcher(), config);
  r.checker->setHosts({port.address});
  REQUIRE(runUntil([&] { return r.changes.size() == 1; }));
  CHECK_FALSE(r.changes[0].healthy);
  CHECK(r.changes[0].reason == "connect refused");
  CHECK(r.changes[0].checks == 2);
}

TEST_CASE_METHOD(StrictLoopFixture, "a connection closed before the response fails the check", "[upstream][health]") {
  LoopbackBackend backend(dispatcher(), http::Protocol::kHttp11);
  backend.mode = LoopbackBackend::Mode::kCloseOnRequest;
  HealthCheck config = httpConfig();
  config.unhealthy_threshold = 1;
  Recorder r(dispatcher(), config);
  r.checker->setHosts({backend.address()});
  REQUIRE(runUntil([&] { return r.changes.size() == 1; }));
  CHECK(r.changes[0].reason == "connection reset");
}

TEST_CASE_METHOD(StrictLoopFixture, "a TCP check passes on connect and with its expected bytes in order",
                 "[upstream][health]") {
  TcpServer server(dispatcher());
  HealthCheck config = httpConfig();
  config.kind = HealthCheck::Kind::kTcp;
  config.unhealthy_threshold = 1;
  config.healthy_threshold = 1;
  SECTION("bare connect") {
    Recorder r(dispatcher(), config);
    r.checker->setHosts({server.address()});
    REQUIRE(runUntil([&] { return r.state(server.address()).checks >= 2; }));
    CHECK(r.state(server.address()).last_result == "connected");
    CHECK(r.changes.empty());
  }
  SECTION("send, then receive chunks in order") {
    config.send = "PING\r\n";
    config.receive = {"PO", "NG"};
    server.reply = "+PONG\r\n";
    Recorder r(dispatcher(), config);
    r.checker->setHosts({server.address()});
    REQUIRE(runUntil([&] { return r.state(server.address()).checks >= 2; }));
    CHECK(r.state(server.address()).last_result == "expected bytes received");
    CHECK(server.received.rfind("PING\r\n", 0) == 0);
    CHECK(r.changes.empty());
  }
  SECTION("chunks out of order never match: the check times out") {
    config.send = "PING\r\n";
    config.receive = {"NG", "PO"};
    config.timeout = 50ms;
    server.reply = "+PONG\r\n";
    Recorder r(dispatcher(), config);
    r.checker->setHosts({server.address()});
    REQUIRE(runUntil([&] { return r.changes.size() == 1; }));
    CHECK(r.changes[0].reason == "timeout after 50 ms");
  }
  REQUIRE(runUntil([&] { return server.openSessions() == 0; }, 1s));
}

TEST_CASE_METHOD(StrictLoopFixture, "a gRPC check passes on SERVING and fails on NOT_SERVING", "[upstream][health]") {
  LoopbackBackend backend(dispatcher(), http::Protocol::kHttp2);
  uint8_t serving = 1;
  std::string path, body, authority;
  backend.on_request = [&](LoopbackBackend::Exchange& e) {
    path = std::string(e.headers->path());
    authority = std::string(e.headers->authority());
    body = e.body;
    answerGrpcHealth(e, serving);
  };
  HealthCheck config = httpConfig();
  config.kind = HealthCheck::Kind::kGrpc;
  config.service_name = "catalog";
  config.unhealthy_threshold = 2;
  config.healthy_threshold = 1;
  Recorder r(dispatcher(), config);
  r.checker->setHosts({backend.address()});
  REQUIRE(runUntil([&] { return r.state(backend.address()).checks >= 2; }));
  CHECK(r.state(backend.address()).last_result == "SERVING");
  CHECK(path == "/grpc.health.v1.Health/Check");
  CHECK(authority == "cluster-a");
  // HealthCheckRequest{service: "catalog"} in one uncompressed gRPC frame.
  CHECK(body == std::string("\x00\x00\x00\x00\x09\x0a\x07" "catalog", 14));
  serving = 2;
  REQUIRE(runUntil([&] { return r.changes.size() == 1; }));
  CHECK_FALSE(r.changes[0].healthy);
  CHECK(r.changes[0].reason == "gRPC NOT_SERVING");
  serving = 1;
  REQUIRE(runUntil([&] { return r.changes.size() == 2; }));
  CHECK(r.changes[1].healthy);
}

TEST_CASE_METHOD(StrictLoopFixture, "a gRPC check against a refused port fails", "[upstream][health]") {
  ClosedPort port;
  HealthCheck config = httpConfig();
  config.kind = HealthCheck::Kind::kGrpc;
  config.unhealthy_threshold = 1;
  Recorder r(dispatcher(), config);
  r.checker->setHosts({port.address});
  REQUIRE(runUntil([&] { return r.changes.size() == 1; }));
  CHECK(r.changes[0].reason == "connect refused");
}

TEST_CASE_METHOD(StrictLoopFixture, "removing a host stops its checks and keeps the others", "[upstream][health]") {
  LoopbackBackend a(dispatcher(), http::Protocol::kHttp11);
  LoopbackBackend b(dispatcher(), http::Protocol::kHttp11);
  Recorder r(dispatcher(), httpConfig());
  r.checker->setHosts({a.address(), b.address()});
  REQUIRE(runUntil([&] { return a.requests() >= 2 && b.requests() >= 2; }));
  const uint64_t a_checks = r.state(a.address()).checks;
  r.checker->setHosts({a.address()});
  CHECK(r.checker->hostCount() == 1);
  CHECK(r.checker->state(b.address()) == nullptr);
  // The staying host keeps its state.
  CHECK(r.state(a.address()).checks == a_checks);
  const size_t b_requests = b.requests();
  const size_t a_requests = a.requests();
  // Several intervals later the staying host was checked again; the removed one was not.
  REQUIRE(runUntil([&] { return a.requests() >= a_requests + 4; }));
  CHECK(b.requests() <= b_requests + 1);  // at most the check already on the wire
}

TEST_CASE_METHOD(StrictLoopFixture, "the change callback may destroy the checker", "[upstream][health]") {
  ClosedPort port;
  HealthCheck config = httpConfig();
  config.unhealthy_threshold = 1;
  bool changed = false;
  std::unique_ptr<HealthChecker> checker;
  checker = std::make_unique<HealthChecker>(dispatcher(), config, "cluster-a", nullptr, 7,
                                            [&](const Address&, bool, const std::string&) {
                                              changed = true;
                                              checker.reset();
                                            });
  checker->setHosts({port.address});
  REQUIRE(runUntil([&] { return changed; }));
  CHECK(checker == nullptr);
  runFor(30ms);
}
