#include "control-plane/cli/proxy_config.h"

#include <catch2/catch.hpp>
#include <vector>

namespace remora::cli {

namespace {

// The admin's answer the lead's /clusters?format=json serves (docs/admin.md).
constexpr const char* kClusters = R"json({"clusters":[
  {"name":"outbound|80||web.default","hosts":[
    {"address":"10.0.0.1:8080","weight":1,"priority":0,"healthy":true,"flags":[],"active_requests":2},
    {"address":"10.0.0.2:8080","weight":1,"priority":0,"healthy":false,"flags":["outlier_ejected"],
     "ejected_until":"2026-11-23T10:00:00Z","reason":"5 consecutive 5xx responses","active_requests":0},
    {"address":"10.0.1.1:8080","weight":2,"priority":1,"healthy":false,"flags":["failed_active_check"],
     "reason":"HTTP 503 (expected 200-299)","active_requests":0}]},
  {"name":"inbound|8080","hosts":[
    {"address":"127.0.0.1:8080","weight":1,"priority":0,"healthy":false,"flags":["eds_unhealthy","outlier_ejected"],
     "active_requests":0}]}]})json";

class FakeAdmin : public ApiTransport {
 public:
  std::vector<std::string> paths;
  ApiReply answer{200, kClusters};
  base::Result<ApiReply> send(std::string_view, const std::string& path, const std::string&) override {
    paths.push_back(path);
    return answer;
  }
};

JsonValue json(const char* text) {
  auto value = parseJson(text);
  REQUIRE(value);
  return *value;
}

}  // namespace

TEST_CASE("the endpoints table shows priority, health, ejection and reason per host", "[cli][proxy-config]") {
  CHECK(endpointsTable(json(kClusters), "") ==
        "CLUSTER                    ENDPOINT         PRIORITY   HEALTH                    EJECTED UNTIL          "
        "REASON                        ACTIVE\n"
        "outbound|80||web.default   10.0.0.1:8080    0          healthy                   -                      "
        "-                             2\n"
        "outbound|80||web.default   10.0.0.2:8080    0          ejected                   2026-11-23T10:00:00Z   "
        "5 consecutive 5xx responses   0\n"
        "outbound|80||web.default   10.0.1.1:8080    1          unhealthy(active check)   -                      "
        "HTTP 503 (expected 200-299)   0\n"
        "inbound|8080               127.0.0.1:8080   0          unhealthy(eds),ejected    -                      "
        "-                             0\n");
}

TEST_CASE("host health reads the flags first, then the healthy bit", "[cli][proxy-config]") {
  CHECK(hostHealth(json(R"({"healthy":true})")) == "healthy");
  CHECK(hostHealth(json(R"({"healthy":false})")) == "unhealthy");
  CHECK(hostHealth(json(R"({"healthy":false,"flags":["outlier_ejected"]})")) == "ejected");
  CHECK(hostHealth(json(R"({"healthy":false,"flags":["something_new"]})")) == "unhealthy(something_new)");
}

TEST_CASE("proxy-config endpoints asks the admin for JSON and filters by cluster", "[cli][proxy-config]") {
  FakeAdmin admin;
  CommandOutput output;
  REQUIRE(runProxyConfigEndpoints(admin, "inbound|8080", OutputFormat::kTable, output) == kExitOk);
  CHECK(admin.paths == std::vector<std::string>{"/clusters?format=json"});
  CHECK(output.out.find("inbound|8080") != std::string::npos);
  CHECK(output.out.find("outbound|80") == std::string::npos);

  CommandOutput missing;
  CHECK(runProxyConfigEndpoints(admin, "nope", OutputFormat::kTable, missing) == kExitError);
  CHECK(missing.err == "error: the proxy has no cluster \"nope\"\n");

  CommandOutput as_json;
  REQUIRE(runProxyConfigEndpoints(admin, "", OutputFormat::kJson, as_json) == kExitOk);
  CHECK(as_json.out.find("\"outlier_ejected\"") != std::string::npos);

  admin.answer = ApiReply{404, "not found"};
  CommandOutput refused;
  CHECK(runProxyConfigEndpoints(admin, "", OutputFormat::kTable, refused) == kExitError);
}

}  // namespace remora::cli
