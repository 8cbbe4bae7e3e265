// Issue 7 acceptance for access logs: a listener with a JSON access log and
// one with the text format, each line checked against what the client saw.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/harness/backend_process.h"
#include "tests/integration/harness/http_client.h"
#include "tests/integration/harness/proxy_process.h"
#include "tests/integration/harness/temp_dir.h"
#include "tests/integration/proxy/fixtures.h"

namespace remora {
namespace {

using harness::BackendProcess;
using harness::ProxyProcess;
using nlohmann::json;

std::string accessLogYaml(const std::string& path, bool json_lines) {
  std::string out = "access_log:\n- name: envoy.access_loggers.file\n  typed_config:\n"
                    "    \"@type\": type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog\n"
                    "    path: " + path + "\n";
  if (json_lines) out += "    log_format:\n      json_format: { start_time: \"%START_TIME%\" }\n";
  return out;
}

std::vector<std::string> readLines(const std::string& path, size_t want) {
  std::vector<std::string> lines;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    lines.clear();
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) lines.push_back(line);
    if (lines.size() >= want) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return lines;
}

struct LoggedProxy {
  harness::TempDir dir{"access-log"};
  std::optional<BackendProcess> app;
  std::unique_ptr<ProxyProcess> proxy;
  std::string address;
  std::string log_path;
};

void start(LoggedProxy& p, bool json_lines) {
  auto app = BackendProcess::remoraEcho("app-1");
  REQUIRE(app);
  p.app.emplace(std::move(*app));
  p.log_path = p.dir.path() + "/access.log";
  harness::ProxyOptions o;
  const std::string routes =
      "- name: api\n  match: { prefix: \"/\" }\n  route: { cluster: app, retry_policy: { retry_on: 5xx, num_retries: 1 } }\n";
  o.bootstrap_yaml = itest::bootstrapYaml(
      {itest::httpListenerYaml({.name = "ingress",
                                .hcm_extra = accessLogYaml(p.log_path, json_lines),
                                .virtual_hosts = "- name: shop\n  domains: [\"shop.local\"]\n  routes:\n" +
                                                 itest::indent(routes, 2),
                                .direction = "INBOUND"})},
      {itest::clusterYaml({.name = "app", .endpoints = {p.app->address()}})});
  INFO(o.bootstrap_yaml);
  auto proxy = ProxyProcess::start(std::move(o));
  REQUIRE(proxy);
  p.proxy = std::move(*proxy);
  auto address = p.proxy->listenerAddress("ingress");
  REQUIRE(address);
  p.address = *address;
}

harness::HttpResponse get(const LoggedProxy& p, const std::string& host, const std::string& path,
                          std::vector<std::pair<std::string, std::string>> headers = {}) {
  harness::HttpRequest request;
  request.host = host;
  request.path = path;
  request.headers = std::move(headers);
  auto r = harness::httpRequest(p.address, request);
  REQUIRE(r);
  return *r;
}

TEST_CASE("the JSON access log has one line per request with its outcome", "[access_log][integration]") {
  LoggedProxy p;
  start(p, true);
  CHECK(get(p, "shop.local", "/hello?q=1", {{"user-agent", "itest/1"}, {"x-request-id", "req-1"}}).status == 200);
  CHECK(get(p, "nowhere.local", "/x").status == 404);
  CHECK(get(p, "shop.local", "/status/503").status == 503);  // retried once, still 503
  const auto lines = readLines(p.log_path, 3);
  REQUIRE(lines.size() == 3);
  std::vector<json> entries;
  for (const auto& line : lines) {
    INFO(line);
    json e = json::parse(line, nullptr, false);
    REQUIRE(!e.is_discarded());
    entries.push_back(std::move(e));
  }
  const json& ok = entries[0];
  CHECK(ok["method"] == "GET");
  CHECK(ok["authority"] == "shop.local");
  CHECK(ok["path"] == "/hello?q=1");
  CHECK(ok["status"] == 200);
  CHECK(ok["route"] == "api");
  CHECK(ok["cluster"] == "app");
  CHECK(ok["upstream_host"] == p.app->address());
  CHECK(ok["attempts"] == 1);
  CHECK(ok["user_agent"] == "itest/1");
  CHECK(ok["request_id"] == "req-1");
  CHECK(ok["direction"] == "inbound");
  CHECK(ok["response_bytes"].get<int>() > 0);
  CHECK(ok["local_reply"] == "");
  const json& no_route = entries[1];
  CHECK(no_route["status"] == 404);
  CHECK(no_route["local_reply"] == "no_route");
  CHECK(no_route["upstream_host"] == "");
  const json& retried = entries[2];
  CHECK(retried["status"] == 503);
  CHECK(retried["attempts"] == 2);
  auto written = p.proxy->stats("remora_access_log_lines_total{result=\"written\"}");
  REQUIRE(written);
  CHECK(*written == 3);
}

TEST_CASE("the text access log keeps a hostile header inside its field", "[access_log][integration]") {
  LoggedProxy p;
  start(p, false);
  // A user agent that tries to forge the fields after it.
  CHECK(get(p, "shop.local", "/first?x=%22y%22", {{"user-agent", "evil\" 500 \"forged"}}).status == 200);
  CHECK(get(p, "shop.local", "/second").status == 200);
  const auto lines = readLines(p.log_path, 2);
  REQUIRE(lines.size() == 2);
  INFO(lines[0]);
  CHECK(lines[0].find("\"GET /first?x=%22y%22 HTTP/1.1\" 200 ") != std::string::npos);
  CHECK(lines[0].find("\"evil\" 500") == std::string::npos);  // the quote is escaped
  CHECK(lines[1].find("/second") != std::string::npos);
}

}  // namespace
}  // namespace remora
