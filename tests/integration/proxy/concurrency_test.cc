// remora-proxy with two workers (--concurrency 2): connections spread over
// both SO_REUSEPORT listeners, every request succeeds, the per-worker
// counters merge into exact totals on /stats, and SIGTERM with requests in
// flight still exits 0. Labelled "tsan" too: built with -DREMORA_TSAN=ON the
// proxy runs under ThreadSanitizer, and any report in its output fails the
// test.
#include <signal.h>

#include <catch2/catch.hpp>
#include <string>
#include <thread>

#include "tests/integration/harness/backend_process.h"
#include "tests/integration/harness/process.h"
#include "tests/integration/harness/proxy_process.h"
#include "tests/integration/proxy/fixtures.h"

using namespace remora;
using namespace std::chrono_literals;
using harness::run;

namespace {

const std::string kRequests = "remora_downstream_requests_total{listener=\"ingress\"}";

struct TwoWorkers {
  TwoWorkers() {
    auto b = harness::BackendProcess::httpEcho();
    REQUIRE(b);
    backend = std::make_unique<harness::BackendProcess>(std::move(*b));
    harness::ProxyOptions o;
    o.concurrency = 2;
    o.bootstrap_yaml = itest::bootstrapYaml(
        {itest::httpListenerYaml({.routes = "- match: { prefix: \"/\" }\n  route: { cluster: backend }\n"})},
        {itest::clusterYaml({.endpoints = {backend->address()}})});
    o.extra_args = {"--drain-time-ms", "10000"};
    // Sanitizer runtimes make start-up slower.
    o.start_timeout = 60s;
    auto p = harness::ProxyProcess::start(o);
    REQUIRE(p);
    proxy = std::move(*p);
    auto a = proxy->listenerAddress("ingress");
    REQUIRE(a);
    address = *a;
    REQUIRE(proxy->stats("remora_server_workers").value_or(0) == 2);
  }

  uint64_t stat(const std::string& name) { return proxy->stats(name).value_or(~uint64_t{0}); }

  // Every gauge of work in flight settles at zero once clients are done.
  void checkSettled() {
    const std::string active = "remora_downstream_requests_active{listener=\"ingress\"}";
    for (int i = 0; i < 100 && stat(active) != 0; ++i) std::this_thread::sleep_for(50ms);
    CHECK(stat(active) == 0);
    CHECK(stat("remora_upstream_requests_active{cluster=\"backend\"}") == 0);
  }

  // Exits 0 with no sanitizer report; ThreadSanitizer prints its reports on
  // stderr ("WARNING: ThreadSanitizer: data race ...") and exits 66.
  void checkCleanExit() {
    auto code = proxy->stop(15s);
    const std::string logs = proxy->logs();
    INFO(logs);
    REQUIRE(code);
    CHECK(*code == 0);
    CHECK(logs.find("ThreadSanitizer") == std::string::npos);
    CHECK(logs.find("ERROR: AddressSanitizer") == std::string::npos);
    CHECK(logs.find("ERROR: LeakSanitizer") == std::string::npos);
    CHECK(logs.find("runtime error:") == std::string::npos);
  }

  std::unique_ptr<harness::BackendProcess> backend;
  std::unique_ptr<harness::ProxyProcess> proxy;
  std::string address;
};

// h2load's summary: "requests: 200 total, 200 started, 200 done, 200
// succeeded, 0 failed, ..." and "status codes: 200 2xx, 0 3xx, ...".
void checkH2loadAllSucceeded(const harness::CommandResult& r, int n) {
  INFO(r.describe());
  REQUIRE(r.exit_code == 0);
  const std::string done = std::to_string(n);
  CHECK(r.stdout_text.find("requests: " + done + " total, " + done + " started, " + done + " done, " + done +
                           " succeeded, 0 failed") != std::string::npos);
  CHECK(r.stdout_text.find("status codes: " + done + " 2xx, 0 3xx, 0 4xx, 0 5xx") != std::string::npos);
}

}  // namespace

TEST_CASE("two workers serve 200 HTTP/1.1 requests over 20 connections and count each once",
          "[integration][proxy][concurrency][tsan]") {
  TwoWorkers fx;
  auto r = run({"h2load", "--h1", "-n", "200", "-c", "20", "-T", "20", "http://" + fx.address + "/echo"}, 120s);
  checkH2loadAllSucceeded(r, 200);
  CHECK(fx.stat(kRequests) == 200);
  CHECK(fx.stat("remora_downstream_responses_total{listener=\"ingress\",code_class=\"2xx\"}") == 200);
  CHECK(fx.stat("remora_downstream_connections_total{listener=\"ingress\"}") == 20);
  CHECK(fx.stat("remora_upstream_requests_total{cluster=\"backend\"}") == 200);
  fx.checkSettled();
  fx.checkCleanExit();
}

TEST_CASE("two workers serve 200 multiplexed HTTP/2 requests and count each once",
          "[integration][proxy][concurrency][tsan]") {
  TwoWorkers fx;
  auto r = run({"h2load", "-n", "200", "-c", "10", "-m", "10", "-T", "20", "http://" + fx.address + "/echo"}, 120s);
  checkH2loadAllSucceeded(r, 200);
  CHECK(fx.stat(kRequests) == 200);
  CHECK(fx.stat("remora_downstream_connections_total{listener=\"ingress\"}") == 10);
  CHECK(fx.stat("remora_upstream_requests_total{cluster=\"backend\"}") == 200);
  fx.checkSettled();
  fx.checkCleanExit();
}

TEST_CASE("two workers keep exact totals across repeated scrapes under load",
          "[integration][proxy][concurrency][tsan]") {
  TwoWorkers fx;
  // Scrapes race with the workers' increments: totals must only grow, and
  // end exact.
  harness::ProcessOptions o;
  o.args = {"h2load", "--h1", "-n", "400", "-c", "8", "-T", "20", "http://" + fx.address + "/echo"};
  auto load = harness::Process::start(o);
  REQUIRE(load);
  uint64_t last = 0;
  while (load->running()) {
    const uint64_t now = fx.stat(kRequests);
    REQUIRE(now != ~uint64_t{0});
    CHECK(now >= last);
    CHECK(now <= 400);
    last = now;
    std::this_thread::sleep_for(10ms);
  }
  auto code = load->waitExit(120s);
  INFO(load->readStdout() << load->readStderr());
  REQUIRE(code);
  CHECK(*code == 0);
  CHECK(load->readStdout().find("400 succeeded, 0 failed") != std::string::npos);
  CHECK(fx.stat(kRequests) == 400);
  fx.checkSettled();
  fx.checkCleanExit();
}

TEST_CASE("SIGTERM with requests in flight on two workers lets them finish and exits 0",
          "[integration][proxy][concurrency][tsan]") {
  TwoWorkers fx;
  std::vector<harness::Process> clients;
  for (int i = 0; i < 10; ++i) {
    harness::ProcessOptions c;
    c.args = {"curl", "-sS", "--max-time", "30", "-o", "/dev/null", "-w", "%{http_code}"};
    if (i % 2) c.args.push_back("--http2-prior-knowledge");
    c.args.push_back("http://" + fx.address + "/delay/1500");
    auto p = harness::Process::start(c);
    REQUIRE(p);
    clients.push_back(std::move(*p));
  }
  const std::string active = "remora_upstream_requests_active{cluster=\"backend\"}";
  for (int i = 0; i < 200 && fx.stat(active) != 10; ++i) std::this_thread::sleep_for(20ms);
  REQUIRE(fx.stat(active) == 10);
  REQUIRE(fx.proxy->process().signal(SIGTERM));
  for (auto& c : clients) {
    auto code = c.waitExit(30s);
    INFO(c.readStderr());
    REQUIRE(code);
    CHECK(*code == 0);
    CHECK(c.readStdout() == "200");
  }
  auto exit_code = fx.proxy->process().waitExit(20s);
  const std::string logs = fx.proxy->logs();
  INFO(logs);
  REQUIRE(exit_code);
  CHECK(*exit_code == 0);
  CHECK(logs.find("ThreadSanitizer") == std::string::npos);
  CHECK(logs.find("ERROR: AddressSanitizer") == std::string::npos);
  CHECK(logs.find("ERROR: LeakSanitizer") == std::string::npos);
  CHECK(logs.find("runtime error:") == std::string::npos);
}
