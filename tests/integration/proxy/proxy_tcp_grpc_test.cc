// Opaque TCP proxying and gRPC through remora-proxy, with real peers.
#include <catch2/catch.hpp>

#include <string>

#include "tests/integration/harness/backend_process.h"
#include "tests/integration/harness/paths.h"
#include "tests/integration/harness/process.h"
#include "tests/integration/harness/proxy_process.h"
#include "tests/integration/harness/raw_connection.h"
#include "tests/integration/proxy/fixtures.h"

using namespace remora;
using namespace std::chrono_literals;
using harness::BackendProcess;
using harness::ProxyOptions;
using harness::ProxyProcess;

namespace {
std::unique_ptr<ProxyProcess> startProxy(const std::string& yaml) {
  ProxyOptions o;
  o.bootstrap_yaml = yaml;
  auto p = ProxyProcess::start(o);
  REQUIRE(p.has_value());
  return std::move(*p);
}
}  // namespace

TEST_CASE("TCP bytes are relayed both ways and half-close reaches the upstream", "[integration][proxy][tcp]") {
  auto echo = BackendProcess::tcpEcho();
  REQUIRE(echo);
  auto proxy = startProxy(itest::bootstrapYaml({itest::tcpListenerYaml("tcp", "echo")},
                                               {itest::clusterYaml({.name = "echo", .endpoints = {echo->address()}})}));
  auto addr = proxy->listenerAddress("tcp");
  REQUIRE(addr);
  auto conn = harness::RawConnection::connect(*addr);
  REQUIRE(conn);
  REQUIRE(conn->send("ping 1\n"));
  CHECK(conn->readUntil("ping 1\n", 5s) == "ping 1\n");
  // After our EOF the echo server says goodbye and closes: the half-close
  // must cross the proxy and the reply must still come back.
  REQUIRE(conn->shutdownWrite());
  std::string rest = conn->readUntilClose(5s);
  CHECK(rest == "bye\n");
  CHECK(proxy->stats("remora_tcp_bytes_total{listener=\"tcp\",direction=\"upstream\"}").value_or(0) == 7);
}

TEST_CASE("a server-first protocol works through a sniffing listener after the timeout", "[integration][proxy][tcp]") {
  auto echo = BackendProcess::tcpEcho(/*server_first=*/true);
  REQUIRE(echo);
  // Two chains: HTTP for clients that speak HTTP, TCP for everything else.
  const std::string listener =
      "- name: mixed\n  address:\n    socket_address: { address: 127.0.0.1, port_value: 0 }\n"
      "  listener_filters_timeout: 0.2s\n"
      "  listener_filters:\n  - name: envoy.filters.listener.http_inspector\n    typed_config:\n"
      "      \"@type\": type.googleapis.com/envoy.extensions.filters.listener.http_inspector.v3.HttpInspector\n"
      "  filter_chains:\n"
      "  - filter_chain_match: { application_protocols: [\"http/1.1\", \"h2c\"] }\n"
      "    filters:\n    - name: envoy.filters.network.http_connection_manager\n      typed_config:\n"
      "        \"@type\": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3."
      "HttpConnectionManager\n        stat_prefix: mixed\n        route_config:\n          virtual_hosts:\n"
      "          - name: all\n            domains: [\"*\"]\n            routes:\n"
      "            - match: { prefix: \"/\" }\n              direct_response: { status: 200, body: { inline_string: "
      "\"http\" } }\n        http_filters:\n        - name: envoy.filters.http.router\n          typed_config:\n"
      "            \"@type\": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router\n"
      "  - filters:\n    - name: envoy.filters.network.tcp_proxy\n      typed_config:\n"
      "        \"@type\": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy\n"
      "        stat_prefix: mixed_tcp\n        cluster: echo\n";
  auto proxy = startProxy(itest::bootstrapYaml({listener},
                                               {itest::clusterYaml({.name = "echo", .endpoints = {echo->address()}})}));
  auto addr = proxy->listenerAddress("mixed");
  REQUIRE(addr);
  {
    // Silent client: after 200 ms it is treated as TCP and the banner arrives.
    auto conn = harness::RawConnection::connect(*addr);
    REQUIRE(conn);
    std::string banner = conn->readAvailable(3s);
    INFO(banner);
    CHECK(banner.find("220") == 0);
  }
  {
    auto r = harness::run({"curl", "-sS", "--max-time", "10", "http://" + *addr + "/"}, 20s);
    INFO(r.describe());
    CHECK(r.stdout_text == "http");
  }
}

TEST_CASE("gRPC unary and streaming calls pass through with trailers intact", "[integration][proxy][grpc]") {
  auto server = BackendProcess::grpcEcho();
  REQUIRE(server);
  auto proxy = startProxy(itest::bootstrapYaml(
      {itest::httpListenerYaml({.routes = "- match: { prefix: \"/\" }\n  route: { cluster: grpc, timeout: 0s }\n"})},
      {itest::clusterYaml({.name = "grpc", .endpoints = {server->address()}, .http2 = true})}));
  auto addr = proxy->listenerAddress("ingress");
  REQUIRE(addr);
  const std::string client = harness::binaryPath("grpc_echo_client");
  for (const char* mode : {"unary", "server", "bidi"}) {
    auto r = harness::run({client, "--target", *addr, "--mode", mode, "--count", "20"}, 30s);
    INFO(mode << ": " << r.describe());
    CHECK(r.exit_code == 0);
  }
}
