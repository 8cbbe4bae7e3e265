// SIGTERM drains: readiness goes false, new connections are refused,
// requests in flight finish, and the process exits 0. Listeners whose
// traffic_direction is OUTBOUND keep serving until the drain time ends
// (docs/lifecycle.md), so an app shutting down can still call out.
#include <signal.h>

#include <catch2/catch.hpp>
#include <thread>

#include "tests/integration/harness/http_client.h"

#include "tests/integration/harness/backend_process.h"
#include "tests/integration/harness/process.h"
#include "tests/integration/harness/proxy_process.h"
#include "tests/integration/harness/raw_connection.h"
#include "tests/integration/proxy/fixtures.h"

using namespace remora;
using namespace std::chrono_literals;

TEST_CASE("SIGTERM drains without failing requests in flight", "[integration][proxy][drain]") {
  auto backend = harness::BackendProcess::httpEcho();
  REQUIRE(backend);
  harness::ProxyOptions o;
  o.bootstrap_yaml = itest::bootstrapYaml(
      {itest::httpListenerYaml({.routes = "- match: { prefix: \"/\" }\n  route: { cluster: backend }\n"})},
      {itest::clusterYaml({.endpoints = {backend->address()}})});
  o.extra_args = {"--drain-time-ms", "5000"};
  auto proxy = harness::ProxyProcess::start(o);
  REQUIRE(proxy);
  auto addr = (*proxy)->listenerAddress("ingress");
  REQUIRE(addr);

  // Five slow requests in flight, over HTTP/1.1 and HTTP/2.
  std::vector<harness::Process> clients;
  for (int i = 0; i < 5; ++i) {
    harness::ProcessOptions c;
    c.args = {"curl", "-sS", "--max-time", "20", "-o", "/dev/null", "-w", "%{http_code}"};
    if (i % 2) c.args.push_back("--http2-prior-knowledge");
    c.args.push_back("http://" + *addr + "/delay/1500");
    auto p = harness::Process::start(c);
    REQUIRE(p);
    clients.push_back(std::move(*p));
  }
  // Let them reach the upstream.
  for (int i = 0; i < 100; ++i) {
    if ((*proxy)->stats("remora_upstream_requests_active{cluster=\"backend\"}").value_or(0) == 5) break;
    std::this_thread::sleep_for(20ms);
  }
  REQUIRE((*proxy)->stats("remora_upstream_requests_active{cluster=\"backend\"}").value_or(0) == 5);
  REQUIRE((*proxy)->process().signal(SIGTERM));

  // Readiness goes false while the requests finish.
  bool saw_not_ready = false;
  for (int i = 0; i < 50 && !saw_not_ready; ++i) {
    auto ready = (*proxy)->admin("GET", "/ready");
    saw_not_ready = ready && ready->status == 503;
    if (!saw_not_ready) std::this_thread::sleep_for(10ms);
  }
  CHECK(saw_not_ready);
  // New connections are refused once the workers have closed their
  // listeners (readiness flips first, on the main thread).
  bool refused = false;
  for (int i = 0; i < 100 && !refused; ++i) {
    refused = !harness::RawConnection::connect(*addr, 200ms).has_value();
    if (!refused) std::this_thread::sleep_for(10ms);
  }
  CHECK(refused);

  for (auto& c : clients) {
    auto code = c.waitExit(15s);
    REQUIRE(code);
    CHECK(*code == 0);
    CHECK(c.readStdout() == "200");
  }
  auto exit_code = (*proxy)->process().waitExit(10s);
  REQUIRE(exit_code);
  CHECK(*exit_code == 0);
}

TEST_CASE("during the drain time an outbound listener keeps serving while the inbound one refuses",
          "[integration][proxy][drain]") {
  auto backend = harness::BackendProcess::httpEcho();
  REQUIRE(backend);
  const std::string routes = "- match: { prefix: \"/\" }\n  route: { cluster: backend }\n";
  harness::ProxyOptions o;
  o.bootstrap_yaml = itest::bootstrapYaml(
      {itest::httpListenerYaml({.name = "inbound", .routes = routes, .direction = "INBOUND"}),
       itest::httpListenerYaml({.name = "outbound", .routes = routes, .direction = "OUTBOUND"})},
      {itest::clusterYaml({.endpoints = {backend->address()}})});
  const auto drain_time = 2500ms;
  o.extra_args = {"--drain-time-ms", std::to_string(drain_time.count())};
  auto proxy = harness::ProxyProcess::start(o);
  REQUIRE(proxy);
  REQUIRE((*proxy)->waitReady());
  auto inbound = (*proxy)->listenerAddress("inbound");
  auto outbound = (*proxy)->listenerAddress("outbound");
  REQUIRE(inbound);
  REQUIRE(outbound);
  REQUIRE(harness::httpGet(*inbound, "/echo")->status == 200);

  const auto sigterm = std::chrono::steady_clock::now();
  REQUIRE((*proxy)->process().signal(SIGTERM));
  // The signal is handled on the proxy's loop: /ready turns once it has run.
  int ready_status = 0;
  for (int i = 0; i < 100 && ready_status != 503; ++i) {
    auto ready = (*proxy)->admin("GET", "/ready");
    REQUIRE(ready);
    ready_status = ready->status;
    if (ready_status != 503) std::this_thread::sleep_for(10ms);
  }
  CHECK(ready_status == 503);
  bool refused = false;
  for (int i = 0; i < 100 && !refused; ++i) {
    refused = !harness::RawConnection::connect(*inbound, 200ms).has_value();
    if (!refused) std::this_thread::sleep_for(10ms);
  }
  CHECK(refused);

  // New connections to the outbound listener, spread over most of the
  // drain time, all served.
  int served = 0;
  for (int i = 0; i < 8; ++i) {
    auto response = harness::httpGet(*outbound, "/echo", 2s);
    INFO((response ? std::string() : response.error().message) << "\n" << (*proxy)->logs());
    REQUIRE(response);
    CHECK(response->status == 200);
    served += response->status == 200;
    CHECK((*proxy)->admin("GET", "/ready")->status == 503);
    std::this_thread::sleep_for(200ms);
  }
  CHECK(served == 8);
  CHECK(std::chrono::steady_clock::now() - sigterm < drain_time);
  CHECK((*proxy)->process().running());

  // No connection is left, yet the process stays until the drain time ends.
  auto exit_code = (*proxy)->process().waitExit(10s);
  const auto exited_after = std::chrono::steady_clock::now() - sigterm;
  REQUIRE(exit_code);
  CHECK(*exit_code == 0);
  CHECK(exited_after >= drain_time - 100ms);
  CHECK(exited_after < drain_time + 3s);
}
