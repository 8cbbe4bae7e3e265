// SIGTERM drains: readiness goes false, new connections are refused,
// requests in flight finish, and the process exits 0.
#include <signal.h>

#include <catch2/catch.hpp>
#include <thread>

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
