#include "control-plane/cli/commands.h"

#include <catch2/catch.hpp>

#include "tests/unit/control_plane/cli/fake_api.h"

namespace remora::cli {

namespace {

using testing::FakeApi;

constexpr const char* kManifest = R"(kind: Service
metadata: {name: reviews}
spec:
  ports:
  - port: 9080
---
kind: Endpoint
metadata: {name: r1}
spec:
  service: reviews
  address: 10.0.0.1
  port: 70000
)";

Manifest manifest() {
  auto parsed = parseManifest(kManifest, "app.yaml");
  REQUIRE(parsed);
  return *parsed;
}

const TimePoint kNow = *parseTimestamp("2024-05-01T12:00:00Z");

}  // namespace

TEST_CASE("apply posts every object in one batch and prints one line per result", "[cli][commands]") {
  FakeApi api;
  api.reply(200, R"({"results":[
      {"kind":"Service","namespace":"default","name":"reviews","action":"created","resourceVersion":"1"},
      {"kind":"Endpoint","namespace":"default","name":"r1","action":"unchanged","resourceVersion":"2"}]})");
  CommandOutput output;
  CHECK(runApply(api, manifest(), output) == kExitOk);
  REQUIRE(api.requests.size() == 1);
  CHECK(api.requests[0].method == "POST");
  CHECK(api.requests[0].path == "/api/v1/apply");
  CHECK(api.requests[0].body.front() == '[');
  CHECK(output.out == "service/reviews created\nendpoint/r1 unchanged\n");
  CHECK(output.err.empty());
}

TEST_CASE("a 400 naming an item's field points at the file's line", "[cli][commands]") {
  FakeApi api;
  api.reply(400, R"({"code":400,"reason":"BadRequest","message":"items[1].spec.port: must be 1..65535",
                     "field":"items[1].spec.port"})");
  CommandOutput output;
  CHECK(runApply(api, manifest(), output) == kExitError);
  CHECK(output.out.empty());
  CHECK(output.err ==
        "Error from server (BadRequest): items[1].spec.port: must be 1..65535\n"
        "  at app.yaml:12 (endpoint/r1)\n");
}

TEST_CASE("an unreachable server exits 3 with the transport's sentence", "[cli][commands]") {
  FakeApi api;
  api.unreachable();
  CommandOutput output;
  CHECK(runApply(api, manifest(), output) == kExitUnreachable);
  CHECK(output.err == "cannot reach the control plane at x: refused\n");
  CHECK(runProxyStatus(api, OutputFormat::kTable, kNow, output) == kExitUnreachable);
}

TEST_CASE("delete -f posts the objects to the delete batch", "[cli][commands]") {
  FakeApi api;
  api.reply(200, R"({"results":[{"kind":"Service","name":"reviews","action":"deleted"}]})");
  CommandOutput output;
  CHECK(runDeleteManifest(api, manifest(), output) == kExitOk);
  CHECK(api.requests[0].path == "/api/v1/delete");
  CHECK(output.out == "service/reviews deleted\n");
}

TEST_CASE("delete by kind alias and name calls the object's path", "[cli][commands]") {
  FakeApi api;
  api.reply(200, R"({"kind":"TrafficPolicy","metadata":{"name":"tp1"}})");
  CommandOutput output;
  CHECK(runDelete(api, "tp", "tp1", "shop", output) == kExitOk);
  CHECK(api.requests[0].method == "DELETE");
  CHECK(api.requests[0].path == "/api/v1/namespaces/shop/trafficpolicies/tp1");
  CHECK(output.out == "trafficpolicy/tp1 deleted\n");
}

TEST_CASE("a 404 prints the server's reason and message and exits 1", "[cli][commands]") {
  FakeApi api;
  api.reply(404, R"({"code":404,"reason":"NotFound","message":"service default/nope not found"})");
  CommandOutput output;
  CHECK(runDelete(api, "svc", "nope", "default", output) == kExitError);
  CHECK(output.err == "Error from server (NotFound): service default/nope not found\n");
}

TEST_CASE("an unknown kind is a usage error listing the kinds, with no request", "[cli][commands]") {
  FakeApi api;
  CommandOutput output;
  CHECK(runGet(api, {.kind_argument = "pods"}, kNow, output) == kExitUsage);
  CHECK(runDelete(api, "pods", "x", "default", output) == kExitUsage);
  CHECK(api.requests.empty());
  CHECK(output.err.find("unknown kind \"pods\"; one of: service (svc)") != std::string::npos);
}

TEST_CASE("get picks the namespaced, all-namespaces or single-object path", "[cli][commands]") {
  FakeApi api;
  for (int i = 0; i < 3; ++i) api.reply(200, R"({"kind":"List","items":[]})");
  CommandOutput output;
  CHECK(runGet(api, {.kind_argument = "svc"}, kNow, output) == kExitOk);
  CHECK(runGet(api, {.kind_argument = "ep", .all_namespaces = true}, kNow, output) == kExitOk);
  CHECK(runGet(api, {.kind_argument = "rr", .name = "a b", .namespace_ = "shop", .format = OutputFormat::kJson}, kNow,
               output) == kExitOk);
  CHECK(api.requests[0].path == "/api/v1/namespaces/default/services");
  CHECK(api.requests[1].path == "/api/v1/endpoints");
  CHECK(api.requests[2].path == "/api/v1/namespaces/shop/routerules/a%20b");
  CHECK(output.err == "No resources found in default namespace.\nNo resources found.\n");
}

TEST_CASE("get prints a table, or the API's JSON or YAML", "[cli][commands]") {
  const char* list = R"({"kind":"List","revision":"3","items":[{"kind":"Service",
      "metadata":{"name":"reviews","namespace":"default","creationTimestamp":"2024-05-01T11:59:00Z"},
      "spec":{"ports":[{"port":9080}]}}]})";
  FakeApi api;
  for (int i = 0; i < 3; ++i) api.reply(200, list);
  CommandOutput table, json, yaml;
  CHECK(runGet(api, {.kind_argument = "services"}, kNow, table) == kExitOk);
  CHECK(table.out == "NAMESPACE   NAME      PORTS       AGE\ndefault     reviews   9080/http   60s\n");
  CHECK(runGet(api, {.kind_argument = "services", .format = OutputFormat::kJson}, kNow, json) == kExitOk);
  CHECK(json.out.find("\"revision\": \"3\"") != std::string::npos);
  CHECK(runGet(api, {.kind_argument = "services", .format = OutputFormat::kYaml}, kNow, yaml) == kExitOk);
  CHECK(yaml.out.find("items:\n- kind: Service\n") != std::string::npos);
}

TEST_CASE("get of one object prints a one-row table", "[cli][commands]") {
  FakeApi api;
  api.reply(200, R"({"kind":"Service","metadata":{"name":"reviews","namespace":"default"},"spec":{}})");
  CommandOutput output;
  CHECK(runGet(api, {.kind_argument = "svc", .name = "reviews"}, kNow, output) == kExitOk);
  CHECK(output.out == "NAMESPACE   NAME      PORTS    AGE\ndefault     reviews   <none>   <unknown>\n");
}

TEST_CASE("a non-JSON error body is shown as it is with the status's reason", "[cli][commands]") {
  CHECK(serverErrorMessage({502, "bad gateway\n"}) == "Error from server (HTTP 502): bad gateway");
  CHECK(serverErrorMessage({401, ""}) == "Error from server (Unauthorized): HTTP status 401");
  CHECK(serverErrorMessage({409, R"({"reason":"Conflict","message":"stale"})"}) ==
        "Error from server (Conflict): stale");
}

TEST_CASE("proxy-status prints the table from the proxies list", "[cli][commands]") {
  FakeApi api;
  api.reply(200, R"({"items":[]})");
  CommandOutput output;
  CHECK(runProxyStatus(api, OutputFormat::kTable, kNow, output) == kExitOk);
  CHECK(api.requests[0].path == "/api/v1/proxies");
  CHECK(output.out == "NODE   REPLICA   CLUSTER   LDS   RDS   CDS   EDS   LAST SEEN\n");
}

TEST_CASE("a manifest file that does not exist is an I/O error naming it", "[cli][commands]") {
  auto text = readManifestFile("/nonexistent/app.yaml");
  REQUIRE_FALSE(text);
  CHECK(text.error().code == base::Error::kIo);
  CHECK(text.error().message.find("/nonexistent/app.yaml") != std::string::npos);
}

}  // namespace remora::cli
