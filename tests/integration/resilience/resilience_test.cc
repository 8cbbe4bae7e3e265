// Issue 6's acceptance outcomes against the real remora-proxy: one HTTP
// listener in front of a STATIC cluster of three remora-echo fault-knob
// instances, driven by paced keep-alive clients. Each test prints its
// measured figures on lines starting with "RESULT:" (run with ctest -V) and
// asserts them against the acceptance bounds.
//
// Every loop is bounded by a count and a wall-time cap; every server binds
// port 0; only the PIDs started here are signalled.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <latch>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/harness/backend_process.h"
#include "tests/integration/harness/http_client.h"
#include "tests/integration/harness/paths.h"
#include "tests/integration/harness/proxy_process.h"
#include "tests/integration/harness/raw_connection.h"
#include "tests/integration/proxy/fixtures.h"
#include "tests/integration/resilience/load_client.h"

using namespace remora;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

// The keep-alive client (one connection, requests in series) is load_client.h's.
using itest::KeepAliveClient;
using itest::Reply;

// ---------------------------------------------------------------------------
// Paced load: `rate` requests per second spread over `connections` keep-alive
// clients, `rate * duration` requests in all, starting at `start`. A client
// that falls behind sends at once (no catch-up burst beyond that); the whole
// run stops at start + duration + 15 s whatever happens.

struct LoadPlan {
  std::string address;
  std::string path = "/";
  int rate = 200;
  std::chrono::milliseconds duration = 5s;
  int connections = 4;
  std::chrono::milliseconds request_timeout = 3s;
  Clock::time_point start = Clock::now() + 50ms;
};

std::vector<Reply> runPacedLoad(const LoadPlan& plan) {
  const int total = static_cast<int>(plan.rate * plan.duration.count() / 1000);
  const int per_connection = total / plan.connections;
  const auto period = std::chrono::nanoseconds(1'000'000'000LL * plan.connections / plan.rate);
  const auto hard_stop = plan.start + plan.duration + 15s;
  std::vector<std::vector<Reply>> per_thread(static_cast<size_t>(plan.connections));
  std::vector<std::thread> threads;
  for (int t = 0; t < plan.connections; ++t) {
    threads.emplace_back([&, t] {
      KeepAliveClient client(plan.address);
      auto& out = per_thread[static_cast<size_t>(t)];
      const auto offset = period * t / plan.connections;
      for (int i = 0; i < per_connection && Clock::now() < hard_stop; ++i) {
        std::this_thread::sleep_until(plan.start + offset + period * i);
        out.push_back(client.send("GET", plan.path, "", plan.request_timeout));
      }
    });
  }
  for (auto& th : threads) th.join();
  std::vector<Reply> all;
  for (auto& v : per_thread) all.insert(all.end(), v.begin(), v.end());
  return all;
}

struct Summary {
  size_t total = 0;
  size_t ok = 0;
  std::map<int, size_t> by_status;  // 0: no response
  std::vector<std::string> failures;  // the first few, described
  double p50_ms = 0;
  double p99_ms = 0;
  double max_ms = 0;
  double successPercent() const { return total == 0 ? 0 : 100.0 * static_cast<double>(ok) / static_cast<double>(total); }
  std::string statuses() const {
    std::string out;
    for (const auto& [s, n] : by_status) out += (out.empty() ? "" : " ") + std::to_string(s) + "x" + std::to_string(n);
    return out;
  }
};

Summary summarize(const std::vector<Reply>& replies) {
  Summary s;
  std::vector<double> ms;
  for (const Reply& r : replies) {
    ++s.total;
    ++s.by_status[r.status];
    if (r.ok()) ++s.ok;
    else if (s.failures.size() < 5) s.failures.push_back(r.describe());
    ms.push_back(r.ms());
  }
  std::sort(ms.begin(), ms.end());
  if (!ms.empty()) {
    s.p50_ms = ms[ms.size() / 2];
    s.p99_ms = ms[std::min(ms.size() - 1, ms.size() * 99 / 100)];
    s.max_ms = ms.back();
  }
  return s;
}

std::string describe(const Summary& s) {
  std::string out = "requests=" + std::to_string(s.total) + " ok=" + std::to_string(s.ok) + " statuses=[" +
                    s.statuses() + "]";
  for (const auto& f : s.failures) out += "\n  failure: " + f;
  return out;
}

// ---------------------------------------------------------------------------
// remora-echo instances, the proxy and its admin output.

harness::BackendProcess startEcho(const std::string& name) {
  auto echo = harness::BackendProcess::remoraEcho(name);
  REQUIRE(echo);
  return std::move(*echo);
}

std::vector<harness::BackendProcess> startEchos() {
  std::vector<harness::BackendProcess> out;
  for (const char* name : {"r1", "r2", "r3"}) out.push_back(startEcho(name));
  return out;
}

void setFault(harness::BackendProcess& echo, const std::string& query) {
  auto r = harness::httpPost(echo.address(), "/fault?" + query);
  REQUIRE(r);
  INFO(r->body);
  REQUIRE(r->status == 200);
}

// "requests" from the instance's GET /stats: what really reached it.
long echoRequests(harness::BackendProcess& echo) {
  auto r = harness::httpGet(echo.address(), "/stats");
  REQUIRE(r);
  REQUIRE(r->status == 200);
  const long requests = harness::jsonNumber(r->body, "requests");
  REQUIRE(requests >= 0);
  return requests;
}

const char* kRetryRoute =
    "- match: { prefix: \"/\" }\n"
    "  route:\n"
    "    cluster: backend\n"
    "    retry_policy:\n"
    "      retry_on: \"5xx,reset,connect-failure\"\n"
    "      num_retries: 2\n";

const char* kPlainRoute = "- match: { prefix: \"/\" }\n  route: { cluster: backend }\n";

const char* kOutlierDetection =
    "outlier_detection:\n"
    "  consecutive_5xx: 5\n"
    "  consecutive_gateway_failure: 5\n"
    "  enforcing_consecutive_5xx: 100\n"
    "  enforcing_consecutive_gateway_failure: 100\n"
    "  interval: 1s\n"
    "  base_ejection_time: 30s\n"
    "  max_ejection_percent: 50\n";

std::unique_ptr<harness::ProxyProcess> startProxy(std::vector<harness::BackendProcess>& echos, const std::string& route,
                                                  const std::string& cluster_extra, int concurrency) {
  std::vector<std::string> endpoints;
  for (auto& e : echos) endpoints.push_back(e.address());
  harness::ProxyOptions o;
  o.bootstrap_yaml = itest::bootstrapYaml({itest::httpListenerYaml({.routes = route})},
                                          {itest::clusterYaml({.endpoints = endpoints, .extra = cluster_extra})});
  o.concurrency = concurrency;
  auto p = harness::ProxyProcess::start(o);
  INFO(o.bootstrap_yaml);
  REQUIRE(p);
  REQUIRE((*p)->waitReady(10s));
  return std::move(*p);
}

std::string listener(harness::ProxyProcess& proxy) {
  auto a = proxy.listenerAddress("ingress");
  REQUIRE(a);
  return *a;
}

uint64_t stat(harness::ProxyProcess& proxy, const std::string& family, const std::string& labels = "") {
  return proxy.stats(family + "_total{cluster=\"backend\"" + labels + "}").value_or(0);
}

// The /clusters entry of one host: from its "address" to the end of its object.
std::string hostEntry(const std::string& clusters_json, const std::string& address) {
  const size_t at = clusters_json.find("\"address\":\"" + address + "\"");
  if (at == std::string::npos) return "";
  return clusters_json.substr(at, clusters_json.find('}', at) - at);
}

std::string clustersJson(harness::ProxyProcess& proxy) {
  auto r = proxy.admin("GET", "/clusters");
  return r && r->status == 200 ? r->body : std::string();
}

bool ejected(const std::string& clusters_json, const std::string& address) {
  return hostEntry(clusters_json, address).find("\"outlier_ejected\"") != std::string::npos;
}

// Every /stats line whose name contains `part`, one per line, for RESULT output.
std::string statLines(harness::ProxyProcess& proxy, const std::string& part) {
  std::string out;
  auto all = proxy.allStats();
  if (!all) return "";
  for (const auto& [name, value] : *all) {
    if (name.find(part) != std::string::npos) out += " " + name + "=" + value;
  }
  return out;
}

}  // namespace

TEST_CASE("a killed instance costs the client under 0.1 % of requests and is ejected within a second",
          "[integration][resilience]") {
  auto echos = startEchos();
  auto proxy = startProxy(echos, kRetryRoute, kOutlierDetection, /*concurrency=*/2);
  const std::string victim = echos[1].address();

  LoadPlan plan;
  plan.address = listener(*proxy);
  plan.rate = 200;
  plan.duration = 6s;
  plan.connections = 4;
  plan.start = Clock::now() + 100ms;
  std::vector<Reply> replies;
  std::thread load([&] { replies = runPacedLoad(plan); });

  // Kill r2 two seconds into the run, then poll /clusters until it is ejected.
  std::this_thread::sleep_until(plan.start + 2s);
  const std::string before_kill = clustersJson(*proxy);
  const auto killed_at = Clock::now();
  const auto kill_status = echos[1].process().signal(SIGKILL);
  std::optional<double> eject_ms;
  std::string after;
  for (int i = 0; i < 500 && Clock::now() < killed_at + 5s; ++i) {
    after = clustersJson(*proxy);
    if (ejected(after, victim)) {
      eject_ms = std::chrono::duration<double, std::milli>(Clock::now() - killed_at).count();
      break;
    }
    std::this_thread::sleep_for(10ms);
  }
  load.join();
  (void)echos[1].process().waitExit(2s);

  const Summary s = summarize(replies);
  const uint64_t retries = stat(*proxy, "remora_upstream_retries");
  std::cout << "RESULT: kill: " << describe(s) << "\nRESULT: kill: success " << s.successPercent()
            << " % (bound >= 99.9), latency p50 " << s.p50_ms << " ms p99 " << s.p99_ms << " ms max " << s.max_ms
            << " ms, proxy retries " << retries << "\nRESULT: kill: victim " << victim << " ejected "
            << (eject_ms ? std::to_string(*eject_ms) + " ms after SIGKILL" : std::string("NOT within 5 s"))
            << " (bound < 1000 ms); entry: " << hostEntry(after, victim)
            << "\nRESULT: kill: stats:" << statLines(*proxy, "outlier") << std::endl;

  INFO(describe(s) << "\n/clusters after: " << after << "\nlogs:\n" << proxy->logs());
  REQUIRE(kill_status);
  CHECK_FALSE(ejected(before_kill, victim));
  REQUIRE(s.total == 1200);
  CHECK(s.ok * 1000 >= s.total * 999);
  REQUIRE(eject_ms.has_value());
  CHECK(*eject_ms < 1000.0);
  // Only the dead host goes; the other two keep serving.
  CHECK_FALSE(ejected(after, echos[0].address()));
  CHECK_FALSE(ejected(after, echos[2].address()));
  CHECK(hostEntry(after, victim).find("\"ejected_until\"") != std::string::npos);
  CHECK(hostEntry(after, victim).find("\"reason\"") != std::string::npos);

  // What an operator sees: remoractl reads the same state from the admin.
  const harness::CommandResult table = harness::run(
      {harness::binaryPath("remoractl"), "proxy-config", "endpoints", "--admin", proxy->adminAddress()}, 20s);
  std::cout << "RESULT: kill: remoractl proxy-config endpoints:\n" << table.stdout_text << std::endl;
  CHECK(table.exit_code == 0);
  std::string victim_row;
  for (size_t at = 0; at < table.stdout_text.size();) {
    const size_t end = std::min(table.stdout_text.find('\n', at), table.stdout_text.size());
    if (table.stdout_text.compare(at, end - at, victim) == 0 ||
        table.stdout_text.substr(at, end - at).find(" " + victim + " ") != std::string::npos) {
      victim_row = table.stdout_text.substr(at, end - at);
    }
    at = end + 1;
  }
  CHECK_THAT(victim_row, Catch::Contains("ejected") && Catch::Contains("consecutive gateway failures"));
}

TEST_CASE("an instance failing half its requests is retried away with at most 20 % more upstream requests",
          "[integration][resilience]") {
  // Three configurations of the same fault (r3 answers 503 to half its requests):
  // - RANDOM, retries only: r3 gets 1/3 of the first tries and half of those are
  //   retried elsewhere, so upstream = N (1 + 1/6) = 1.167 N expected; with
  //   N = 2500 the 1.2 bound is ~4.5 standard deviations away.
  // - ROUND_ROBIN, retries only: retries take rotation slots too, so r3 gets 1/3
  //   of ALL picks: T = N + T/6, i.e. T = 1.2 N exactly in expectation. The 20 %
  //   bound is then a coin toss, so this variant is held to 1.25 N and reported.
  // - ROUND_ROBIN with outlier detection (the mesh's usual setup): r3 is ejected
  //   after 5 gateway failures in a row and the bound holds with a wide margin.
  struct Variant {
    const char* mode;
    std::string cluster_extra;
    int rate;
    size_t requests;
    double bound;
  };
  const std::vector<Variant> variants = {
      {"half-503 (RANDOM, retries only)", "lb_policy: RANDOM\n", 500, 2500, 1.2},
      {"half-503 (ROUND_ROBIN, retries only)", "", 200, 1000, 1.25},
      {"half-503 (ROUND_ROBIN, outlier detection on)", kOutlierDetection, 200, 1000, 1.2},
  };
  for (const Variant& v : variants) {
    const bool outlier = !v.cluster_extra.empty() && v.cluster_extra.find("outlier") != std::string::npos;
    auto echos = startEchos();
    setFault(echos[2], "fail=0.5&status=503");
    auto proxy = startProxy(echos, kRetryRoute, v.cluster_extra, /*concurrency=*/2);

    LoadPlan plan;
    plan.address = listener(*proxy);
    plan.rate = v.rate;
    plan.duration = 5s;
    plan.connections = 4;
    const std::vector<Reply> replies = runPacedLoad(plan);
    const Summary s = summarize(replies);
    long upstream = 0;
    std::string per_instance;
    for (auto& e : echos) {
      const long n = echoRequests(e);
      upstream += n;
      per_instance += " " + std::to_string(n);
    }
    const double amplification = static_cast<double>(upstream) / static_cast<double>(s.total);
    const uint64_t retries = stat(*proxy, "remora_upstream_retries");
    const std::string clusters = clustersJson(*proxy);
    const bool was_ejected = ejected(clusters, echos[2].address());
    std::cout << "RESULT: " << v.mode << ": " << describe(s) << "\nRESULT: " << v.mode << ": success "
              << s.successPercent() << " % (bound >= 99.9); upstream requests " << upstream << " [" << per_instance
              << " ] for " << s.total << " client requests = x" << amplification << " (bound <= " << v.bound
              << "); proxy retries " << retries << "; failing instance ejected: " << (was_ejected ? "yes" : "no")
              << (was_ejected ? " (" + hostEntry(clusters, echos[2].address()) + ")" : std::string()) << std::endl;

    INFO(v.mode << ": " << describe(s) << "\n/clusters: " << clusters << "\nlogs:\n" << proxy->logs());
    REQUIRE(s.total == v.requests);
    CHECK(s.ok * 1000 >= s.total * 999);
    CHECK(amplification <= v.bound);
    // Every upstream request beyond the client's is a retry the proxy counted.
    CHECK(static_cast<uint64_t>(upstream) == s.total + retries);
    if (!outlier) CHECK_FALSE(was_ejected);
  }
}

TEST_CASE("when every instance fails the client gets fast 503s and retries stay inside the budget",
          "[integration][resilience]") {
  auto echos = startEchos();
  for (auto& e : echos) setFault(e, "fail=1&status=503");
  // One worker: the budget is per worker, so its arithmetic is exact here.
  auto proxy = startProxy(echos, kRetryRoute, "", /*concurrency=*/1);

  LoadPlan plan;
  plan.address = listener(*proxy);
  plan.rate = 100;
  plan.duration = 3s;
  plan.connections = 2;
  const auto began = Clock::now();
  const std::vector<Reply> replies = runPacedLoad(plan);
  const double elapsed_s = std::chrono::duration<double>(Clock::now() - began).count();
  const Summary s = summarize(replies);
  long upstream = 0;
  for (auto& e : echos) upstream += echoRequests(e);
  const uint64_t retries = stat(*proxy, "remora_upstream_retries");
  const uint64_t refused = stat(*proxy, "remora_upstream_retry_overflows");
  // retry_budget.cc admits a retry only while retries in the last 10 s window
  // stay <= 20 % of that window's requests + 3/s * 10 s. The whole run fits in
  // one window (checked below), so over the run: retries <= 0.2 N + 30.
  const double bound = 1.2 * static_cast<double>(s.total) + 30.0;
  size_t with_reason = 0;
  size_t budget_marked = 0;
  for (const Reply& r : replies) {
    if (r.retry_refused == "budget") ++budget_marked;
    if (r.status == 503 && (r.body.find("fault injected by") != std::string::npos || !r.remora_error.empty())) {
      ++with_reason;
    }
  }
  std::cout << "RESULT: all-failing: " << describe(s) << "\nRESULT: all-failing: latency p50 " << s.p50_ms
            << " ms p99 " << s.p99_ms << " ms max " << s.max_ms << " ms (bound < 1000 ms); upstream requests "
            << upstream << " for " << s.total << " client requests (budget bound 1.2*N+30 = " << bound
            << ", without a budget up to " << 3 * s.total << "); proxy retries " << retries
            << ", retries refused by the budget " << refused << "; run " << elapsed_s << " s; 503 body e.g. '"
            << (replies.empty() ? "" : replies.front().body.substr(0, 60)) << "'" << std::endl;

  INFO(describe(s) << "\nlogs:\n" << proxy->logs());
  REQUIRE(s.total == 300);
  REQUIRE(elapsed_s < 9.0);
  CHECK(s.by_status.count(503) == 1);
  CHECK(s.by_status.size() == 1);
  CHECK(with_reason == s.total);
  CHECK(s.max_ms < 1000.0);
  CHECK(static_cast<double>(upstream) <= bound);
  CHECK(static_cast<uint64_t>(upstream) == s.total + retries);
  CHECK(refused > 0);
  // Each answer whose retry the budget refused says so.
  CHECK(budget_marked == refused);
  // The budget is not trivially tight: the 3/s reserve alone buys 30 retries.
  CHECK(retries >= 30);
}

TEST_CASE("a circuit breaker of 5 requests holds under a burst of 40 and counts the overflow",
          "[integration][resilience]") {
  auto echos = startEchos();
  for (auto& e : echos) setFault(e, "latency=300");
  const std::string breaker = "circuit_breakers:\n  thresholds:\n  - max_requests: 5\n";
  // One worker: circuit-breaker limits apply per worker (docs/observability.md).
  auto proxy = startProxy(echos, kPlainRoute, breaker, /*concurrency=*/1);
  const std::string address = listener(*proxy);

  constexpr int kBurst = 40;
  std::vector<std::unique_ptr<KeepAliveClient>> clients;
  for (int i = 0; i < kBurst; ++i) {
    clients.push_back(std::make_unique<KeepAliveClient>(address));
    std::string error;
    const bool connected = clients.back()->connect(error);
    INFO(error);
    REQUIRE(connected);
  }
  // Samples the proxy's in-flight gauge while the burst runs.
  std::atomic<bool> sampling{true};
  uint64_t max_active = 0;
  std::thread sampler([&] {
    for (int i = 0; i < 300 && sampling; ++i) {
      auto v = proxy->stats("remora_upstream_requests_active{cluster=\"backend\"}");
      if (v) max_active = std::max(max_active, *v);
      std::this_thread::sleep_for(5ms);
    }
  });
  std::vector<Reply> replies(kBurst);
  std::latch go(kBurst + 1);
  std::vector<std::thread> threads;
  for (int i = 0; i < kBurst; ++i) {
    threads.emplace_back([&, i] {
      go.arrive_and_wait();
      replies[static_cast<size_t>(i)] = clients[static_cast<size_t>(i)]->send("GET", "/", "", 5s);
    });
  }
  go.arrive_and_wait();
  for (auto& t : threads) t.join();
  sampling = false;
  sampler.join();

  const Summary s = summarize(replies);
  size_t overflow = 0;
  auto last_sent = Clock::time_point::min();
  auto first_done = Clock::time_point::max();
  for (const Reply& r : replies) {
    if (r.status == 503 && r.remora_error == "overflow") ++overflow;
    last_sent = std::max(last_sent, r.sent);
    if (r.ok()) first_done = std::min(first_done, r.done);
  }
  const bool one_wave = last_sent < first_done;  // every request was in before the first answer
  long upstream = 0;
  for (auto& e : echos) upstream += echoRequests(e);
  const uint64_t overflows = stat(*proxy, "remora_upstream_overflows");
  std::cout << "RESULT: breaker: burst " << kBurst << ": " << describe(s) << "\nRESULT: breaker: " << s.ok
            << " reached the upstream (bound <= 5), " << overflow << " answered 503 x-remora-error: overflow, "
            << "remora_upstream_overflows " << overflows << ", upstream /stats total " << upstream
            << ", max sampled remora_upstream_requests_active " << max_active << ", one wave: "
            << (one_wave ? "yes" : "no") << ", ok latency p50 " << s.p50_ms << " ms max " << s.max_ms << " ms"
            << std::endl;

  INFO(describe(s) << "\nlogs:\n" << proxy->logs());
  REQUIRE(s.total == static_cast<size_t>(kBurst));
  CHECK(s.ok >= 1);
  if (one_wave) CHECK(s.ok <= 5);
  CHECK(s.ok + overflow == s.total);
  CHECK(static_cast<size_t>(upstream) == s.ok);
  CHECK(overflows == overflow);
  CHECK(max_active <= 5);
}
