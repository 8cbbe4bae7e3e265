// A sidecar fails over between control-plane replicas (issue 9): two remora-cp
// processes (each its own SQLite, the same objects applied to both through
// their APIs) and one remora-proxy started with both xDS addresses through
// --control-plane. Killing the replica it is connected to fails no request
// (the proxy serves its last config meanwhile), the proxy connects to the
// other replica (which then lists it in proxy-status), and a change applied
// to the survivor reaches the proxy.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <regex>
#include <thread>

#include "tests/integration/harness/backend_process.h"
#include "tests/integration/harness/control_plane_process.h"
#include "tests/integration/harness/http_client.h"
#include "tests/integration/harness/paths.h"
#include "tests/integration/harness/process.h"
#include "tests/integration/harness/proxy_process.h"

using namespace std::chrono_literals;
namespace harness = remora::harness;
using harness::BackendProcess;
using harness::ControlPlaneProcess;
using harness::ProxyProcess;

namespace {

using Clock = std::chrono::steady_clock;

// Polls `done` every 20 ms for at most `within`.
bool eventually(const std::function<bool()>& done, std::chrono::milliseconds within) {
  const auto deadline = Clock::now() + within;
  while (Clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return done();
}

void applyTo(ControlPlaneProcess& cp, const std::string& yaml) {
  auto response = cp.api("POST", "/api/v1/apply", yaml);
  INFO((response ? response->body : response.error().message));
  REQUIRE(response);
  REQUIRE(response->status / 100 == 2);
}

std::string reviews(int port) {
  return R"({"items": [
    {"kind": "Service", "metadata": {"name": "reviews"}, "spec": {"ports": [{"port": 9080, "protocol": "HTTP"}]}},
    {"kind": "Endpoint", "metadata": {"name": "reviews-1"},
     "spec": {"service": "reviews", "address": "127.0.0.1", "port": )" +
         std::to_string(port) + "}}]}";
}

// The backend port that answered, 0 when none did.
int askVia(const std::string& outbound) {
  harness::HttpRequest request;
  request.path = "/echo";
  request.host = "reviews:9080";
  auto response = harness::httpRequest(outbound, request, 5s);
  if (!response || response->status != 200) return 0;
  std::smatch m;
  static const std::regex kPort(R"("server_port": (\d+))");
  if (!std::regex_search(response->body, m, kPort)) return 0;
  return std::stoi(m[1]);
}

bool listsNode(ControlPlaneProcess& cp, const std::string& node) {
  auto response = cp.api("GET", "/api/v1/proxies");
  return response && response->status == 200 && response->body.find("\"" + node + "\"") != std::string::npos;
}

std::string infoStat(const std::string& address) {
  return "remora_xds_control_plane_info{address=\"" + address + "\"}";
}

}  // namespace

TEST_CASE("a sidecar whose control plane dies fails over to another replica without failing a request",
          "[integration][cp][failover]") {
  std::unique_ptr<ControlPlaneProcess> cps[2];
  for (auto& cp : cps) {
    auto started = ControlPlaneProcess::start();
    INFO((started ? std::string() : started.error().message));
    REQUIRE(started);
    cp = std::move(*started);
  }
  auto v1 = BackendProcess::httpEcho();
  auto v2 = BackendProcess::httpEcho();
  REQUIRE(v1);
  REQUIRE(v2);
  for (auto& cp : cps) applyTo(*cp, reviews(v1->port()));

  // The bootstrap the flags build (what --print-bootstrap shows) lists both.
  const std::string list = cps[0]->xdsAddress() + "," + cps[1]->xdsAddress();
  auto printed = harness::run({harness::binaryPath("remora-proxy"), "--control-plane", list, "--node-id", "web-1",
                               "--service", "web", "--pod-ip", "127.0.0.1", "--insecure-xds", "--admin-address",
                               "127.0.0.1:0", "--outbound-address", "127.0.0.1:0", "--inbound-address",
                               "127.0.0.1:0", "--print-bootstrap"},
                              10s);
  INFO(printed.describe());
  REQUIRE(printed.exit_code == 0);
  for (auto& cp : cps) CHECK(printed.stdout_text.find(std::to_string(cp->xdsPort())) != std::string::npos);

  harness::ProxyOptions options;
  options.bootstrap_yaml = printed.stdout_text;
  auto proxy = ProxyProcess::start(options);
  INFO((proxy ? std::string() : proxy.error().message));
  REQUIRE(proxy);
  auto& web = **proxy;
  INFO(web.logs());
  REQUIRE(web.waitReady());
  auto outbound = web.listenerAddress("outbound");
  REQUIRE(outbound);
  REQUIRE(eventually([&] { return askVia(*outbound) == v1->port(); }, 5s));

  // Which replica it is on, from its own stats and the replicas' proxy-status.
  int on = -1;
  REQUIRE(eventually(
      [&] {
        for (int i = 0; i < 2; ++i) {
          auto s = web.stats(infoStat(cps[i]->xdsAddress()));
          if (s && *s == 1) on = i;
        }
        return on >= 0;
      },
      5s));
  const int other = 1 - on;
  CHECK(listsNode(*cps[on], "web-1"));
  CHECK_FALSE(listsNode(*cps[other], "web-1"));
  const uint64_t failovers_before = web.stats("remora_xds_control_plane_failovers_total").value_or(0);

  // Requests run while the replica goes away; every one must succeed.
  std::atomic<bool> stop{false};
  std::atomic<int> sent{0};
  std::atomic<int> failed{0};
  std::thread load([&] {
    const auto deadline = Clock::now() + 30s;  // bounded even if the test body fails
    while (!stop && Clock::now() < deadline) {
      ++sent;
      if (askVia(*outbound) == 0) ++failed;
      std::this_thread::sleep_for(5ms);
    }
  });
  std::this_thread::sleep_for(100ms);  // some requests before the kill (not an assertion)
  REQUIRE(cps[on]->kill());

  const std::string survivor = cps[other]->xdsAddress();
  const bool moved = eventually(
      [&] {
        auto s = web.stats(infoStat(survivor));
        return s && *s == 1 && listsNode(*cps[other], "web-1");
      },
      10s);
  auto failovers = web.stats("remora_xds_control_plane_failovers_total");
  auto connected = web.stats("remora_xds_connected");

  // A change applied to the survivor alone reaches the proxy.
  applyTo(*cps[other], reviews(v2->port()));
  const bool changed = eventually([&] { return askVia(*outbound) == v2->port(); }, 5s);
  stop = true;
  load.join();

  INFO(web.logs());
  INFO(cps[other]->logs());
  CHECK(moved);
  REQUIRE(failovers);
  CHECK(*failovers == failovers_before + 1);
  CHECK(connected.value_or(0) == 1);
  CHECK(changed);
  CHECK(sent > 20);
  CHECK(failed == 0);
  auto ready = web.admin("GET", "/ready");
  REQUIRE(ready);
  CHECK(ready->body.find("xds: connected to " + survivor) != std::string::npos);
}
