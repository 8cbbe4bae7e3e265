// Request-smuggling defences and header limits, driven over raw sockets: each
// malformed request must get 400 (or 431 for size limits) with a reason and
// a closed connection, and nothing may reach the upstream.
#include <catch2/catch.hpp>

#include <string>

#include "tests/integration/harness/backend_process.h"
#include "tests/integration/harness/proxy_process.h"
#include "tests/integration/harness/raw_connection.h"
#include "tests/integration/proxy/fixtures.h"

using namespace remora;
using namespace std::chrono_literals;

namespace {

struct Rig {
  harness::BackendProcess backend;
  std::unique_ptr<harness::ProxyProcess> proxy;
  std::string address;
};

Rig startRig(const std::string& hcm_extra = "") {
  auto backend = harness::BackendProcess::httpEcho();
  REQUIRE(backend);
  harness::ProxyOptions o;
  o.bootstrap_yaml = itest::bootstrapYaml(
      {itest::httpListenerYaml({.routes = "- match: { prefix: \"/\" }\n  route: { cluster: backend }\n",
                                .hcm_extra = hcm_extra})},
      {itest::clusterYaml({.endpoints = {backend->address()}})});
  auto proxy = harness::ProxyProcess::start(o);
  REQUIRE(proxy);
  auto addr = (*proxy)->listenerAddress("ingress");
  REQUIRE(addr);
  return Rig{std::move(*backend), std::move(*proxy), *addr};
}

// Sends `bytes`, expects `status` and a closed connection, and checks that no
// request was sent upstream. A body-framing error (a bad chunk) is found
// after the headers went upstream: then the upstream sees a request cut
// short and reset, never a complete one, and the bytes after it (a smuggled
// request) never reach it as a request of their own.
void expectRejected(const std::string& bytes, int status, bool headers_reach_upstream = false) {
  Rig rig = startRig();
  auto conn = harness::RawConnection::connect(rig.address);
  REQUIRE(conn);
  REQUIRE(conn->send(bytes));
  const std::string reply = conn->readUntilClose(5s);
  INFO("reply: " << reply);
  CHECK(reply.rfind("HTTP/1.1 " + std::to_string(status), 0) == 0);
  CHECK(reply.find("x-remora-error:") != std::string::npos);
  CHECK(conn->peerClosed());
  CHECK(rig.proxy->stats("remora_upstream_requests_total{cluster=\"backend\"}").value_or(0) ==
        (headers_reach_upstream ? 1u : 0u));
  CHECK(rig.proxy->stats("remora_downstream_protocol_errors_total{listener=\"ingress\"}").value_or(0) == 1);
  // Whatever reached the upstream never produced a response to the client.
  CHECK(rig.proxy->stats("remora_downstream_responses_total{listener=\"ingress\",code_class=\"2xx\"}").value_or(0) == 0);
}

}  // namespace

TEST_CASE("smuggling: Content-Length together with Transfer-Encoding is refused", "[integration][smuggling]") {
  expectRejected("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"
                 "0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n", 400);
}

TEST_CASE("smuggling: conflicting Content-Lengths are refused", "[integration][smuggling]") {
  expectRejected("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", 400);
}

TEST_CASE("smuggling: a malformed Content-Length is refused", "[integration][smuggling]") {
  expectRejected("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5a\r\n\r\nhello", 400);
  expectRejected("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\nhello", 400);
}

TEST_CASE("smuggling: a Transfer-Encoding other than chunked is refused", "[integration][smuggling]") {
  expectRejected("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n", 400);
  expectRejected("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n", 400);
}

TEST_CASE("smuggling: malformed chunk sizes are refused", "[integration][smuggling]") {
  const std::string smuggled = "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n";
  expectRejected("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n" + smuggled, 400, true);
  expectRejected("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffffff\r\n" + smuggled,
                 400, true);
}

TEST_CASE("smuggling: chunk data without its CRLF is refused", "[integration][smuggling]") {
  expectRejected("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n"
                 "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n", 400, true);
}

TEST_CASE("smuggling: bare LF line endings are refused", "[integration][smuggling]") {
  expectRejected("GET / HTTP/1.1\nHost: x\n\n", 400);
}

TEST_CASE("smuggling: obs-fold continuation lines are refused", "[integration][smuggling]") {
  expectRejected("GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n", 400);
}

TEST_CASE("smuggling: whitespace between a field name and its colon is refused", "[integration][smuggling]") {
  expectRejected("GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400);
}

TEST_CASE("smuggling: control characters in a header value are refused", "[integration][smuggling]") {
  expectRejected(std::string("GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x01" "b\r\n\r\n"), 400);
}

TEST_CASE("smuggling: an unknown HTTP version is refused", "[integration][smuggling]") {
  Rig rig = startRig();
  auto conn = harness::RawConnection::connect(rig.address);
  REQUIRE(conn);
  REQUIRE(conn->send("GET / HTTP/1.2\r\nHost: x\r\n\r\n"));
  const std::string reply = conn->readUntilClose(5s);
  INFO(reply);
  CHECK((reply.rfind("HTTP/1.1 400", 0) == 0 || reply.rfind("HTTP/1.1 505", 0) == 0));
  CHECK(rig.proxy->stats("remora_upstream_requests_total{cluster=\"backend\"}").value_or(0) == 0);
}

TEST_CASE("limits: a header block over the size limit gets 431", "[integration][limits]") {
  expectRejected("GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(70 * 1024, 'a') + "\r\n\r\n", 431);
}

TEST_CASE("limits: more header fields than the count limit gets 431", "[integration][limits]") {
  std::string req = "GET / HTTP/1.1\r\nHost: x\r\n";
  for (int i = 0; i < 150; ++i) req += "X-H" + std::to_string(i) + ": v\r\n";
  expectRejected(req + "\r\n", 431);
}

TEST_CASE("limits: a client that sends headers too slowly is disconnected", "[integration][limits]") {
  Rig rig = startRig("request_headers_timeout: 0.3s\n");
  auto conn = harness::RawConnection::connect(rig.address);
  REQUIRE(conn);
  REQUIRE(conn->send("GET / HTTP/1.1\r\nHost: x\r\nX-Slow: "));
  conn->readUntilClose(3s);
  CHECK(conn->peerClosed());
  CHECK(rig.proxy->stats("remora_downstream_header_timeouts_total{listener=\"ingress\"}").value_or(0) == 1);
  CHECK(rig.proxy->stats("remora_upstream_requests_total{cluster=\"backend\"}").value_or(0) == 0);
}

TEST_CASE("pipelined requests are answered in order", "[integration][proxy][h1]") {
  Rig rig = startRig();
  auto conn = harness::RawConnection::connect(rig.address);
  REQUIRE(conn);
  REQUIRE(conn->send("GET /delay/200 HTTP/1.1\r\nHost: x\r\n\r\nGET /status/201 HTTP/1.1\r\nHost: x\r\n\r\n"
                     "GET /status/202 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  const std::string all = conn->readUntilClose(10s);
  INFO(all);
  const size_t a = all.find("HTTP/1.1 200");
  const size_t b = all.find("HTTP/1.1 201");
  const size_t c = all.find("HTTP/1.1 202");
  REQUIRE(a != std::string::npos);
  REQUIRE(b != std::string::npos);
  REQUIRE(c != std::string::npos);
  CHECK(a < b);
  CHECK(b < c);
}
