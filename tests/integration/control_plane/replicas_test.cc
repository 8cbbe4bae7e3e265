// remora-cp replicas over etcd (issue 9): a three-member etcd cluster on
// loopback, two or three remora-cp replicas on it (--store etcd), sidecars
// with Python echo apps connected to different replicas, and remoractl.
// What one replica is told reaches the proxies of another; a replica or an
// etcd member can die under load without a failed request; an etcd without
// quorum refuses writes, saying why, while the proxies keep serving; and
// everything resumes when etcd does, with nothing restarted.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <csignal>
#include <map>
#include <optional>
#include <regex>
#include <thread>

#include "tests/integration/harness/backend_process.h"
#include "tests/integration/harness/control_plane_process.h"
#include "tests/integration/harness/etcd_process.h"
#include "tests/integration/harness/http_client.h"
#include "tests/integration/harness/mesh_probe.h"
#include "tests/integration/harness/paths.h"
#include "tests/integration/harness/proxy_process.h"
#include "tests/integration/harness/temp_dir.h"

using namespace std::chrono_literals;
namespace harness = remora::harness;
using harness::BackendProcess;
using harness::ControlPlaneProcess;
using harness::EtcdCluster;
using harness::ProxyProcess;

namespace {

using Clock = std::chrono::steady_clock;

std::unique_ptr<ControlPlaneProcess> startReplica(EtcdCluster& etcd, const std::string& name) {
  harness::ControlPlaneOptions options;
  options.extra_args = {"--store",        "etcd", "--etcd-endpoints", etcd.endpointsText(),
                        "--replica-name", name,   "--replica-lease-ttl", "3s"};
  auto cp = ControlPlaneProcess::start(options);
  INFO((cp ? std::string() : cp.error().message));
  REQUIRE(cp);
  return std::move(*cp);
}

// A sidecar whose ADS cluster lists every replica in `replicas`, the first
// one first: it streams to the first and moves on when that one goes.
std::unique_ptr<ProxyProcess> startSidecar(const std::vector<ControlPlaneProcess*>& replicas,
                                           const std::string& node_id, const std::string& service,
                                           const std::string& app_ports = "") {
  std::string metadata = "REMORA_SERVICE: " + service +
                         ", REMORA_NAMESPACE: default, OUTBOUND_ADDRESS: '127.0.0.1:0', INBOUND_ADDRESS: '127.0.0.1:0'";
  if (!app_ports.empty()) metadata += ", POD_IP: 127.0.0.1, APP_PORTS: '" + app_ports + "'";
  std::string yaml = harness::adsBootstrap(replicas.front()->xdsPort(),
                                           "{id: " + node_id + ", cluster: " + service + ", metadata: {" + metadata + "}}");
  const std::string one = "{endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: " +
                          std::to_string(replicas.front()->xdsPort()) + "}}}}";
  std::string all;
  for (ControlPlaneProcess* replica : replicas) {
    all += (all.empty() ? "" : ", ") + std::string("{endpoint: {address: {socket_address: {address: 127.0.0.1, "
                                                   "port_value: ") +
           std::to_string(replica->xdsPort()) + "}}}}";
  }
  const size_t at = yaml.find(one);
  REQUIRE(at != std::string::npos);
  yaml.replace(at, one.size(), all);
  harness::ProxyOptions options;
  options.bootstrap_yaml = yaml;
  auto proxy = ProxyProcess::start(options);
  INFO((proxy ? std::string() : proxy.error().message));
  REQUIRE(proxy);
  auto ready = (*proxy)->waitReady();
  INFO((*proxy)->logs());
  REQUIRE(ready);
  return std::move(*proxy);
}

using harness::remoractl;

harness::CommandResult apply(ControlPlaneProcess& cp, harness::TempDir& dir, const std::string& yaml) {
  const std::string file = dir.file("apply.yaml");
  REQUIRE(harness::writeFile(file, yaml));
  return remoractl(cp, {"apply", "-f", file});
}

// Which backend port answered a request for `host` through the sidecar's
// outbound listener; 0 when none did.
int askVia(const std::string& outbound, const std::string& host) { return harness::echoPortVia(outbound, host); }

std::optional<std::chrono::milliseconds> until(const std::function<bool()>& done, std::chrono::milliseconds within,
                                               int in_a_row = 3) {
  return harness::pollUntil(done, within, in_a_row);
}

// Requests through `outbound` on a thread of its own, bounded in count and
// time, counting what failed and why.
class Load {
 public:
  Load(std::string outbound, std::string host) : outbound_(std::move(outbound)), host_(std::move(host)) {
    thread_ = std::thread([this] {
      const auto deadline = Clock::now() + 60s;
      while (!stop_ && Clock::now() < deadline && sent_ < 20000) {
        ++sent_;
        if (askVia(outbound_, host_) == 0) ++failed_;
        std::this_thread::sleep_for(5ms);
      }
    });
  }
  ~Load() { stop(); }
  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  int sent() const { return sent_; }
  int failed() const { return failed_; }

 private:
  std::string outbound_, host_;
  std::atomic<bool> stop_{false};
  std::atomic<int> sent_{0}, failed_{0};
  std::thread thread_;
};

std::string reviewsYaml(int port, const std::string& endpoint = "reviews-v1") {
  return R"(kind: Service
metadata: {name: reviews}
spec: {ports: [{port: 9080, protocol: HTTP}]}
---
kind: Endpoint
metadata: {name: )" + endpoint + R"(}
spec: {service: reviews, address: 127.0.0.1, port: )" + std::to_string(port) + "}\n";
}

// The replica each proxy streams to, from `remoractl proxy-status -o json`
// through `via`.
std::map<std::string, std::string> replicaOf(ControlPlaneProcess& via) {
  auto result = harness::httpRequest(via.apiAddress(), harness::HttpRequest{.path = "/api/v1/proxies"}, 5s);
  std::map<std::string, std::string> out;
  if (!result || result->status != 200) return out;
  static const std::regex kItem(R"re("replica":"([^"]+)","node_id":"([^"]+)")re");
  for (std::sregex_iterator it(result->body.begin(), result->body.end(), kItem), end; it != end; ++it) {
    out[(*it)[2]] = (*it)[1];
  }
  return out;
}

// Three etcd members on loopback and replicas r1 and r2 over them.
struct TwoReplicas {
  std::unique_ptr<EtcdCluster> etcd;
  std::unique_ptr<ControlPlaneProcess> r1;
  std::unique_ptr<ControlPlaneProcess> r2;

  TwoReplicas() {
    auto cluster = EtcdCluster::start(3);
    INFO((cluster ? std::string() : cluster.error().message));
    REQUIRE(cluster);
    etcd = std::move(*cluster);
    r1 = startReplica(*etcd, "r1");
    r2 = startReplica(*etcd, "r2");
  }
};

}  // namespace

TEST_CASE_METHOD(TwoReplicas, "a write through one replica changes traffic at a proxy connected to another",
                 "[integration][etcd]") {
  auto v1 = BackendProcess::httpEcho();
  auto v2 = BackendProcess::httpEcho();
  REQUIRE(v1);
  REQUIRE(v2);
  harness::TempDir dir("replicas");
  auto web = startSidecar({r2.get()}, "web-1", "web");
  auto outbound = web->listenerAddress("outbound");
  REQUIRE(outbound);

  auto applied = apply(*r1, dir, reviewsYaml(v1->port()));
  INFO(applied.describe());
  REQUIRE(applied.exit_code == 0);
  auto first = until([&] { return askVia(*outbound, "reviews:9080") == v1->port(); }, 10s);
  INFO(web->logs());
  REQUIRE(first);

  // Move reviews from v1 to v2 through r1; r2's proxy follows.
  const auto start = Clock::now();
  applied = apply(*r1, dir, reviewsYaml(v2->port()));
  REQUIRE(applied.exit_code == 0);
  auto moved = until([&] { return askVia(*outbound, "reviews:9080") == v2->port(); }, 10s, 1);
  REQUIRE(moved);
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
  WARN("a write through replica r1 reached a proxy on replica r2 in " << took.count() << " ms");
  // Both replicas answer reads with the same object and version.
  auto a = remoractl(*r1, {"get", "endpoint", "reviews-v1", "-o", "json"});
  auto b = remoractl(*r2, {"get", "endpoint", "reviews-v1", "-o", "json"});
  CHECK(a.exit_code == 0);
  CHECK(a.stdout_text == b.stdout_text);
}

TEST_CASE_METHOD(TwoReplicas, "sidecars registered through one replica are endpoints for the proxies of another",
                 "[integration][etcd]") {
  auto app = BackendProcess::httpEcho();
  REQUIRE(app);
  harness::TempDir dir("replicas");
  REQUIRE(apply(*r1, dir, "kind: Service\nmetadata: {name: ratings}\nspec: {ports: [{port: 9080, targetPort: " +
                               std::to_string(app->port()) + ", protocol: HTTP}]}\n")
              .exit_code == 0);
  auto ratings = startSidecar({r1.get()}, "ratings-1", "ratings", std::to_string(app->port()));
  auto web = startSidecar({r2.get()}, "web-1", "web");
  auto outbound = web->listenerAddress("outbound");
  REQUIRE(outbound);
  auto reached = until([&] { return askVia(*outbound, "ratings:9080") == app->port(); }, 10s);
  INFO(web->logs());
  REQUIRE(reached);
  // proxy-status through either replica shows both proxies and where each streams.
  for (ControlPlaneProcess* via : {r1.get(), r2.get()}) {
    auto seen = until(
        [&] {
          auto replicas = replicaOf(*via);
          return replicas["ratings-1"] == "r1" && replicas["web-1"] == "r2";
        },
        10s, 1);
    CHECK(seen);
  }
}

TEST_CASE_METHOD(TwoReplicas, "killing a replica under load fails no request and its proxies move to another",
                 "[integration][etcd]") {
  auto app = BackendProcess::httpEcho();
  REQUIRE(app);
  harness::TempDir dir("replicas");
  REQUIRE(apply(*r2, dir, "kind: Service\nmetadata: {name: ratings}\nspec: {ports: [{port: 9080, targetPort: " +
                               std::to_string(app->port()) + ", protocol: HTTP}]}\n")
              .exit_code == 0);
  // Both proxies stream to r1 first and know r2.
  auto ratings = startSidecar({r1.get(), r2.get()}, "ratings-1", "ratings", std::to_string(app->port()));
  auto web = startSidecar({r1.get(), r2.get()}, "web-1", "web");
  auto outbound = web->listenerAddress("outbound");
  REQUIRE(outbound);
  REQUIRE(until([&] { return askVia(*outbound, "ratings:9080") == app->port(); }, 10s));
  REQUIRE(until([&] { return replicaOf(*r2)["web-1"] == "r1" && replicaOf(*r2)["ratings-1"] == "r1"; }, 10s, 1));

  Load load(*outbound, "ratings:9080");
  std::this_thread::sleep_for(500ms);
  REQUIRE(r1->kill());
  // Both proxies move to r2...
  auto moved = until([&] { return replicaOf(*r2)["web-1"] == "r2" && replicaOf(*r2)["ratings-1"] == "r2"; }, 15s, 1);
  INFO(web->logs());
  CHECK(moved);
  // ...and r1's lease (3 s) runs out without taking their registrations along.
  std::this_thread::sleep_for(4500ms);
  load.stop();
  INFO("sent " << load.sent() << ", failed " << load.failed());
  CHECK(load.sent() > 100);
  CHECK(load.failed() == 0);
  // A change through r2 still reaches them.
  auto v2 = BackendProcess::httpEcho();
  REQUIRE(v2);
  REQUIRE(apply(*r2, dir, reviewsYaml(v2->port())).exit_code == 0);
  CHECK(until([&] { return askVia(*outbound, "reviews:9080") == v2->port(); }, 10s));
}

TEST_CASE_METHOD(TwoReplicas, "etcd losing one member changes nothing, losing its majority refuses writes and recovery resumes",
                 "[integration][etcd]") {
  auto v1 = BackendProcess::httpEcho();
  auto v2 = BackendProcess::httpEcho();
  auto v3 = BackendProcess::httpEcho();
  REQUIRE(v1);
  REQUIRE(v2);
  REQUIRE(v3);
  harness::TempDir dir("replicas");
  auto web = startSidecar({r2.get()}, "web-1", "web");
  auto outbound = web->listenerAddress("outbound");
  REQUIRE(outbound);
  REQUIRE(apply(*r1, dir, reviewsYaml(v1->port())).exit_code == 0);
  REQUIRE(until([&] { return askVia(*outbound, "reviews:9080") == v1->port(); }, 10s));

  Load load(*outbound, "reviews:9080");
  // One member down: writes, reads and pushes go on.
  REQUIRE(etcd->kill(0));
  auto applied = apply(*r1, dir, reviewsYaml(v2->port()));
  INFO(applied.describe());
  CHECK(applied.exit_code == 0);
  CHECK(until([&] { return askVia(*outbound, "reviews:9080") == v2->port(); }, 10s));
  CHECK(remoractl(*r2, {"get", "services"}).exit_code == 0);

  // Two down: no quorum. Writes fail, saying so; traffic goes on.
  REQUIRE(etcd->kill(1));
  auto refused = apply(*r1, dir, reviewsYaml(v3->port()));
  INFO(refused.describe());
  CHECK(refused.exit_code != 0);
  CHECK(refused.stderr_text.find("etcd") != std::string::npos);
  auto raw = harness::httpRequest(
      r2->apiAddress(),
      harness::HttpRequest{.method = "PUT",
                           .path = "/api/v1/namespaces/default/endpoints/reviews-v1",
                           .host = "",
                           .headers = {},
                           .body = R"({"kind":"Endpoint","metadata":{"name":"reviews-v1"},"spec":{"service":"reviews",)"
                                   R"("address":"127.0.0.1","port":)" + std::to_string(v3->port()) + "}}"},
      20s);
  REQUIRE(raw);
  CHECK(raw->status == 503);
  CHECK(raw->body.find("StoreUnavailable") != std::string::npos);
  std::this_thread::sleep_for(1s);
  CHECK(askVia(*outbound, "reviews:9080") == v2->port());

  // Back: the same processes take writes again and push them.
  REQUIRE(etcd->restart(0));
  REQUIRE(etcd->restart(1));
  auto resumed = until([&] { return apply(*r1, dir, reviewsYaml(v3->port())).exit_code == 0; }, 30s, 1);
  CHECK(resumed);
  CHECK(until([&] { return askVia(*outbound, "reviews:9080") == v3->port(); }, 15s));
  load.stop();
  INFO("sent " << load.sent() << ", failed " << load.failed());
  CHECK(load.sent() > 100);
  CHECK(load.failed() == 0);
}

TEST_CASE_METHOD(TwoReplicas, "two writers through different replicas with the same resource version: exactly one wins",
                 "[integration][etcd]") {
  harness::TempDir dir("replicas");
  REQUIRE(apply(*r1, dir, reviewsYaml(8001)).exit_code == 0);
  static const std::regex kVersion(R"re("resourceVersion":\s*"?(\d+))re");
  for (int round = 0; round < 10; ++round) {
    auto current = harness::httpRequest(r2->apiAddress(),
                                        harness::HttpRequest{.path = "/api/v1/namespaces/default/endpoints/reviews-v1"}, 5s);
    REQUIRE(current);
    std::smatch m;
    REQUIRE(std::regex_search(current->body, m, kVersion));
    const std::string version = m[1];
    std::atomic<int> ok{0}, conflict{0}, other{0};
    auto write = [&](ControlPlaneProcess* via, int port) {
      auto r = harness::httpRequest(
          via->apiAddress(),
          harness::HttpRequest{.method = "PUT",
                               .path = "/api/v1/namespaces/default/endpoints/reviews-v1",
                               .host = "",
                               .headers = {},
                               .body = R"({"kind":"Endpoint","metadata":{"name":"reviews-v1","resourceVersion":")" +
                                       version + R"("},"spec":{"service":"reviews","address":"127.0.0.1","port":)" +
                                       std::to_string(port) + "}}"},
          10s);
      if (r && r->status == 200) {
        ++ok;
      } else if (r && r->status == 409) {
        ++conflict;
      } else {
        ++other;
      }
    };
    std::thread a(write, r1.get(), 9001 + round);
    std::thread b(write, r2.get(), 9101 + round);
    a.join();
    b.join();
    INFO("round " << round);
    CHECK(ok == 1);
    CHECK(conflict == 1);
    CHECK(other == 0);
  }
}
