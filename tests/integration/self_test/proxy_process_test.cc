// ProxyProcess against a fake remora-proxy (fake_remora_proxy.py) that
// speaks only the admin contract, plus the parsers it relies on.
#include "tests/integration/harness/proxy_process.h"

#include <catch2/catch.hpp>

#include "tests/integration/harness/paths.h"

using namespace remora::harness;
using namespace std::chrono_literals;

namespace {

ProxyOptions fakeProxy() {
  ProxyOptions options;
  options.bootstrap_yaml = simpleHttpBootstrap("127.0.0.1:9");
  options.concurrency = 3;
  options.wrapper = {python3Path()};
  options.binary = sourcePath("tests/integration/self_test/fake_remora_proxy.py");
  return options;
}

}  // namespace

TEST_CASE("a listener address is found by name in any key order", "[harness][proxy_process]") {
  const std::string json =
      R"({"listeners":[{"name":"egress","address":"127.0.0.1:1"},)"
      R"( { "address" : "127.0.0.1:45123", "name" : "ingress", "extra": {"name": "nested"} }]})";
  auto ingress = parseListenerAddress(json, "ingress");
  REQUIRE(ingress);
  CHECK(*ingress == "127.0.0.1:45123");
  auto egress = parseListenerAddress(json, "egress");
  REQUIRE(egress);
  CHECK(*egress == "127.0.0.1:1");
  CHECK_FALSE(parseListenerAddress(json, "nested"));
  CHECK_FALSE(parseListenerAddress(json, "missing"));
}

TEST_CASE("stats lines are parsed into names and values", "[harness][proxy_process]") {
  const auto stats = parseStats("a.b: 1\ncluster.x.upstream_rq_total: 17\r\nnot a stat line\nh: P0(nan,1) P50(2,3)\n");
  CHECK(stats.at("a.b") == "1");
  CHECK(stats.at("cluster.x.upstream_rq_total") == "17");
  CHECK(stats.at("h") == "P0(nan,1) P50(2,3)");
  CHECK(stats.size() == 3);
}

TEST_CASE("templates are filled at every marker", "[harness][proxy_process]") {
  CHECK(fillTemplate("{{a}}-{{b}}-{{a}}", {{"a", "1"}, {"b", "{{a}}"}}) == "1-{{a}}-1");
  const std::string bootstrap = simpleHttpBootstrap("127.0.0.1:8080");
  CHECK(bootstrap.find("address: \"127.0.0.1\", port_value: 8080") != std::string::npos);
  CHECK(bootstrap.find("{{") == std::string::npos);
}

TEST_CASE("a proxy process is started, queried through admin and stopped", "[harness][proxy_process]") {
  auto proxy = ProxyProcess::start(fakeProxy());
  REQUIRE(proxy);
  auto& p = **proxy;
  INFO(p.logs());
  CHECK(p.adminAddress().rfind("127.0.0.1:", 0) == 0);
  REQUIRE(p.waitReady());
  auto ingress = p.listenerAddress("ingress");
  REQUIRE(ingress);
  CHECK(*ingress == p.adminAddress());
  auto concurrency = p.stats("server.concurrency");
  REQUIRE(concurrency);
  CHECK(*concurrency == 3);
  CHECK(*p.stats("http.ingress.downstream_rq_total") == 42);
  CHECK_FALSE(p.stats("cluster.backend.upstream_rq_time"));  // a histogram, not a number
  CHECK_FALSE(p.stats("no.such.stat"));
  auto code = p.stop();
  REQUIRE(code);
  CHECK(*code == 0);
}

TEST_CASE("a proxy that quits through the admin endpoint exits cleanly", "[harness][proxy_process]") {
  auto proxy = ProxyProcess::start(fakeProxy());
  REQUIRE(proxy);
  auto response = (*proxy)->admin("POST", "/quitquitquit");
  REQUIRE(response);
  CHECK(response->status == 200);
  auto code = (*proxy)->process().waitExit(10s);
  REQUIRE(code);
  CHECK(*code == 0);
}

TEST_CASE("a proxy that dies at start-up is reported with its stderr", "[harness][proxy_process]") {
  ProxyOptions options = fakeProxy();
  options.env = {{"FAKE_PROXY_FAIL", "1"}};
  const auto started = std::chrono::steady_clock::now();
  auto proxy = ProxyProcess::start(options);
  REQUIRE_FALSE(proxy);
  CHECK(proxy.error().message.find("refusing to start") != std::string::npos);
  CHECK(std::chrono::steady_clock::now() - started < 10s);
}

TEST_CASE("a missing proxy binary is reported, not waited for", "[harness][proxy_process]") {
  ProxyOptions options;
  options.bootstrap_yaml = simpleHttpBootstrap("127.0.0.1:9");
  options.binary = "/nonexistent/remora-proxy";
  options.start_timeout = 30s;
  const auto started = std::chrono::steady_clock::now();
  CHECK_FALSE(ProxyProcess::start(options));
  CHECK(std::chrono::steady_clock::now() - started < 10s);
}
