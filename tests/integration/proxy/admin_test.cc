// remora-proxy's admin endpoint as operators and scrapers use it: readiness,
// stats in both formats (checked by Prometheus' own promtool), the JSON
// endpoints (checked by Python's json.tool), and /quitquitquit, which only
// POST may trigger.
#include <catch2/catch.hpp>

#include <fstream>
#include <string>
#include <thread>

#include "tests/integration/harness/backend_process.h"
#include "tests/integration/harness/http_client.h"
#include "tests/integration/harness/paths.h"
#include "tests/integration/harness/process.h"
#include "tests/integration/harness/proxy_process.h"
#include "tests/integration/harness/raw_connection.h"
#include "tests/integration/harness/temp_dir.h"
#include "tests/integration/proxy/fixtures.h"

using namespace remora;
using namespace std::chrono_literals;
using harness::run;

namespace {

// A listener name nothing else in the bootstrap contains, so finding it in
// /config_dump means the listener is there.
const std::string kListener = "edge_listener_7f3a";

struct AdminFixture {
  AdminFixture() {
    auto b = harness::BackendProcess::httpEcho();
    REQUIRE(b);
    backend = std::make_unique<harness::BackendProcess>(std::move(*b));
    harness::ProxyOptions o;
    o.bootstrap_yaml = itest::bootstrapYaml(
        {itest::httpListenerYaml(
            {.name = kListener, .routes = "- match: { prefix: \"/\" }\n  route: { cluster: backend }\n"})},
        {itest::clusterYaml({.endpoints = {backend->address()}})});
    auto p = harness::ProxyProcess::start(o);
    REQUIRE(p);
    proxy = std::move(*p);
    auto a = proxy->listenerAddress(kListener);
    REQUIRE(a);
    address = *a;
  }

  harness::HttpResponse get(const std::string& path, const std::string& method = "GET") {
    auto r = proxy->admin(method, path);
    INFO(method << " " << path << ": " << (r ? "" : r.error().message) << proxy->logs());
    REQUIRE(r);
    return *r;
  }

  // Sends `n` requests through the listener and checks they all succeed.
  void traffic(int n) {
    std::vector<std::string> args{"curl", "-sS", "--max-time", "20", "-w", "%{http_code}\\n"};
    std::string expected;
    for (int i = 0; i < n; ++i) {
      args.insert(args.end(), {"-o", "/dev/null", "http://" + address + "/echo"});
      expected += "200\n";
    }
    auto r = run(args, 30s);
    INFO(r.describe());
    REQUIRE(r.stdout_text == expected);
  }

  // Exits 0 (after SIGTERM unless it already exited) with no sanitizer report.
  void checkCleanExit() {
    auto code = proxy->stop();
    const std::string logs = proxy->logs();
    INFO(logs);
    REQUIRE(code);
    CHECK(*code == 0);
    CHECK(logs.find("ERROR: AddressSanitizer") == std::string::npos);
    CHECK(logs.find("ERROR: LeakSanitizer") == std::string::npos);
    CHECK(logs.find("runtime error:") == std::string::npos);
    CHECK(logs.find("WARNING: ThreadSanitizer") == std::string::npos);
  }

  std::unique_ptr<harness::BackendProcess> backend;
  std::unique_ptr<harness::ProxyProcess> proxy;
  std::string address;
  harness::TempDir dir;
};

harness::CommandResult checkJson(const harness::TempDir& dir, const std::string& body) {
  const std::string path = dir.file("body.json");
  std::ofstream(path) << body;
  return run({harness::python3Path(), "-m", "json.tool", path}, 20s);
}

}  // namespace

TEST_CASE("admin /ready answers 200 once the proxy serves", "[integration][proxy][admin]") {
  AdminFixture fx;
  REQUIRE(fx.proxy->waitReady());
  auto r = fx.get("/ready");
  CHECK(r.status == 200);
  CHECK(r.body == "LIVE\n");
  CHECK(fx.proxy->stats("remora_server_ready").value_or(0) == 1);
  fx.checkCleanExit();
}

TEST_CASE("admin /stats and /stats/prometheus count the requests that went through",
          "[integration][proxy][admin]") {
  AdminFixture fx;
  fx.traffic(3);
  const std::string requests = "remora_downstream_requests_total{listener=\"" + kListener + "\"}";
  const std::string responses_2xx =
      "remora_downstream_responses_total{listener=\"" + kListener + "\",code_class=\"2xx\"}";
  CHECK(fx.proxy->stats(requests).value_or(0) == 3);
  CHECK(fx.proxy->stats(responses_2xx).value_or(0) == 3);
  CHECK(fx.proxy->stats("remora_upstream_requests_total{cluster=\"backend\"}").value_or(0) == 3);

  auto prom = fx.get("/stats/prometheus");
  INFO(prom.body);
  CHECK(prom.status == 200);
  CHECK(prom.header("content-type").value_or("").rfind("text/plain; version=0.0.4", 0) == 0);
  CHECK(prom.body.find("\n" + requests + " 3\n") != std::string::npos);
  CHECK(prom.body.find("\n" + responses_2xx + " 3\n") != std::string::npos);
  CHECK(prom.body.find("# TYPE remora_downstream_requests_total counter") != std::string::npos);
  fx.checkCleanExit();
}

TEST_CASE("promtool accepts the /stats/prometheus output", "[integration][proxy][admin]") {
  AdminFixture fx;
  fx.traffic(2);
  auto prom = fx.get("/stats/prometheus");
  REQUIRE(prom.status == 200);
  const std::string path = fx.dir.file("metrics.txt");
  std::ofstream(path) << prom.body;
  // promtool reads the exposition from stdin; it exits 0 when the text parses
  // and prints nothing when no lint rule (naming, units, HELP) is broken.
  auto r = run({"sh", "-c", "promtool check metrics < \"$0\"", path}, 30s);
  INFO(r.describe() << "\n" << prom.body);
  CHECK(r.exit_code == 0);
  CHECK(r.stdout_text.empty());
  CHECK(r.stderr_text.empty());
  fx.checkCleanExit();
}

TEST_CASE("GET /quitquitquit is refused with 405 and the proxy keeps running", "[integration][proxy][admin]") {
  AdminFixture fx;
  auto r = fx.get("/quitquitquit");
  CHECK(r.status == 405);
  std::this_thread::sleep_for(300ms);
  CHECK(fx.proxy->process().running());
  CHECK(fx.get("/ready").status == 200);
  fx.traffic(1);
  fx.checkCleanExit();
}

TEST_CASE("POST /quitquitquit makes the proxy exit 0", "[integration][proxy][admin]") {
  AdminFixture fx;
  fx.traffic(1);
  auto r = fx.get("/quitquitquit", "POST");
  CHECK(r.status == 200);
  auto code = fx.proxy->process().waitExit(10s);
  INFO(fx.proxy->logs());
  REQUIRE(code);
  CHECK(*code == 0);
  fx.checkCleanExit();
}

TEST_CASE("admin /config_dump is valid JSON holding the running listener", "[integration][proxy][admin]") {
  AdminFixture fx;
  auto r = fx.get("/config_dump");
  INFO(r.body);
  CHECK(r.status == 200);
  CHECK(r.header("content-type").value_or("").rfind("application/json", 0) == 0);
  auto json = checkJson(fx.dir, r.body);
  INFO(json.describe());
  CHECK(json.exit_code == 0);
  CHECK(r.body.find("\"" + kListener + "\"") != std::string::npos);
  CHECK(r.body.find("\"backend\"") != std::string::npos);
  fx.checkCleanExit();
}

TEST_CASE("admin /listeners is JSON listing the bound address", "[integration][proxy][admin]") {
  AdminFixture fx;
  auto r = fx.get("/listeners");
  INFO(r.body);
  CHECK(r.status == 200);
  auto json = checkJson(fx.dir, r.body);
  INFO(json.describe());
  CHECK(json.exit_code == 0);
  auto address = harness::parseListenerAddress(r.body, kListener);
  REQUIRE(address);
  auto parts = harness::splitHostPort(*address);
  REQUIRE(parts);
  CHECK(parts->first == "127.0.0.1");
  // The kernel-chosen port, not the configured 0: something answers there.
  CHECK(parts->second != 0);
  CHECK(harness::RawConnection::connect(*address, 2s).has_value());
  fx.checkCleanExit();
}

TEST_CASE("an unknown admin path answers 404 and lists the endpoints", "[integration][proxy][admin]") {
  AdminFixture fx;
  auto r = fx.get("/no/such/endpoint");
  INFO(r.body);
  CHECK(r.status == 404);
  CHECK(r.body.find("/stats/prometheus") != std::string::npos);
  CHECK(fx.get("/ready").status == 200);
  fx.checkCleanExit();
}
