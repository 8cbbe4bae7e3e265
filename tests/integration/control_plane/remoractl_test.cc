// remoractl against a real remora-cp (SQLite in a temp dir): apply, get,
// delete and proxy-status end to end, with the exit codes and messages the
// command reference (docs/remoractl.md) promises.
#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>

#include "tests/integration/harness/control_plane_process.h"
#include "tests/integration/harness/paths.h"
#include "tests/integration/harness/process.h"
#include "tests/integration/harness/temp_dir.h"

using namespace std::chrono_literals;
namespace harness = remora::harness;

namespace {

constexpr const char* kMesh = R"(apiVersion: remora.dev/v1
kind: Service
metadata:
  name: reviews
spec:
  ports:
  - name: http
    port: 9080
---
kind: Endpoint
metadata:
  name: reviews-1
spec:
  service: reviews
  address: 127.0.0.1
  port: 9080
  locality: {zone: eu-1a}
---
kind: TrafficPolicy
metadata:
  name: reviews-policy
spec:
  service: reviews
  loadBalancer: LEAST_REQUEST
)";

std::string writeFile(const harness::TempDir& dir, const std::string& name, const std::string& text) {
  const std::string path = dir.file(name);
  std::ofstream(path) << text;
  return path;
}

harness::CommandResult remoractl(const std::string& server, std::vector<std::string> args) {
  args.insert(args.begin(), {harness::binaryPath("remoractl"), "--server", server});
  return harness::run(args, 20s);
}

std::unique_ptr<harness::ControlPlaneProcess> startControlPlane() {
  auto cp = harness::ControlPlaneProcess::start();
  REQUIRE(cp);
  return std::move(*cp);
}

}  // namespace

TEST_CASE("remoractl applies a multi-document file, then finds it unchanged", "[remoractl][integration]") {
  auto cp = startControlPlane();
  harness::TempDir dir("remoractl");
  const std::string file = writeFile(dir, "mesh.yaml", kMesh);

  const auto first = remoractl(cp->apiUrl(), {"apply", "-f", file});
  INFO(first.describe() << cp->logs());
  CHECK(first.exit_code == 0);
  CHECK(first.stdout_text ==
        "service/reviews created\nendpoint/reviews-1 created\ntrafficpolicy/reviews-policy created\n");

  const auto second = remoractl(cp->apiUrl(), {"apply", "-f", file});
  INFO(second.describe());
  CHECK(second.exit_code == 0);
  CHECK(second.stdout_text ==
        "service/reviews unchanged\nendpoint/reviews-1 unchanged\ntrafficpolicy/reviews-policy unchanged\n");
}

TEST_CASE("remoractl get shows applied objects as tables and JSON, and delete removes them",
          "[remoractl][integration]") {
  auto cp = startControlPlane();
  harness::TempDir dir("remoractl");
  REQUIRE(remoractl(cp->apiUrl(), {"apply", "-f", writeFile(dir, "mesh.yaml", kMesh)}).exit_code == 0);

  const auto table = remoractl(cp->apiUrl(), {"get", "svc"});
  INFO(table.describe());
  CHECK(table.exit_code == 0);
  CHECK(table.stdout_text.rfind("NAMESPACE   NAME      PORTS       AGE\ndefault     reviews   9080/http   ", 0) == 0);

  const auto endpoints = remoractl(cp->apiUrl(), {"get", "endpoints", "-A"});
  INFO(endpoints.describe());
  CHECK(endpoints.stdout_text.find("reviews-1   reviews   127.0.0.1   9080   eu-1a") != std::string::npos);

  const auto json = remoractl(cp->apiUrl(), {"get", "tp", "-o", "json"});
  INFO(json.describe());
  CHECK(json.exit_code == 0);
  CHECK(json.stdout_text.find("\"name\": \"reviews-policy\"") != std::string::npos);
  CHECK(json.stdout_text.find("\"loadBalancer\": \"LEAST_REQUEST\"") != std::string::npos);

  const auto yaml = remoractl(cp->apiUrl(), {"get", "service", "reviews", "-o", "yaml"});
  INFO(yaml.describe());
  CHECK(yaml.stdout_text.find("kind: Service\n") != std::string::npos);

  const auto removed = remoractl(cp->apiUrl(), {"delete", "tp", "reviews-policy"});
  INFO(removed.describe());
  CHECK(removed.exit_code == 0);
  CHECK(removed.stdout_text == "trafficpolicy/reviews-policy deleted\n");

  const auto gone = remoractl(cp->apiUrl(), {"get", "tp", "reviews-policy"});
  INFO(gone.describe());
  CHECK(gone.exit_code == 1);
  CHECK(gone.stderr_text.rfind("Error from server (NotFound): ", 0) == 0);

  const std::string rest = writeFile(dir, "rest.yaml",
                                     "kind: Endpoint\nmetadata: {name: reviews-1}\n---\n"
                                     "kind: Service\nmetadata: {name: reviews}\n");
  const auto batch = remoractl(cp->apiUrl(), {"delete", "-f", rest});
  INFO(batch.describe());
  CHECK(batch.exit_code == 0);
  CHECK(batch.stdout_text == "endpoint/reviews-1 deleted\nservice/reviews deleted\n");
  const auto empty = remoractl(cp->apiUrl(), {"get", "svc"});
  INFO(empty.describe());
  CHECK(empty.exit_code == 0);
  CHECK(empty.stdout_text.empty());
  CHECK(empty.stderr_text == "No resources found in default namespace.\n");
}

TEST_CASE("remoractl reports a 400 with the field and the line it came from", "[remoractl][integration]") {
  auto cp = startControlPlane();
  harness::TempDir dir("remoractl");
  const std::string file = writeFile(dir, "bad.yaml",
                                     "kind: Service\nmetadata:\n  name: reviews\nspec:\n  ports:\n  - port: 70000\n");
  const auto result = remoractl(cp->apiUrl(), {"apply", "-f", file});
  INFO(result.describe());
  CHECK(result.exit_code == 1);
  CHECK(result.stderr_text.rfind("Error from server (BadRequest): ", 0) == 0);
  CHECK(result.stderr_text.find("spec.ports[0].port") != std::string::npos);
  CHECK(result.stderr_text.find("bad.yaml:6") != std::string::npos);
  // Nothing was stored.
  CHECK(remoractl(cp->apiUrl(), {"get", "svc"}).stdout_text.empty());
}

TEST_CASE("remoractl proxy-status with no proxies prints the header only", "[remoractl][integration]") {
  auto cp = startControlPlane();
  const auto result = remoractl(cp->apiUrl(), {"proxy-status"});
  INFO(result.describe());
  CHECK(result.exit_code == 0);
  CHECK(result.stdout_text == "NODE   REPLICA   CLUSTER   LDS   RDS   CDS   EDS   LAST SEEN\n");
}

TEST_CASE("remoractl exits 3 with advice when the control plane is unreachable", "[remoractl][integration]") {
  auto cp = startControlPlane();
  const std::string url = cp->apiUrl();
  REQUIRE(cp->stop());
  const auto result = remoractl(url, {"get", "svc"});
  INFO(result.describe());
  CHECK(result.exit_code == 3);
  CHECK(result.stderr_text == "cannot reach the control plane at " + url +
                                  ": connection refused; is remora-cp running? set --server or REMORA_SERVER\n");
}

TEST_CASE("remoractl exits 2 on usage errors without calling the server", "[remoractl][integration]") {
  const auto unknown = remoractl("http://127.0.0.1:1", {"get", "pods"});
  CHECK(unknown.exit_code == 2);
  CHECK(unknown.stderr_text.find("unknown kind \"pods\"") != std::string::npos);
  CHECK(remoractl("http://127.0.0.1:1", {"frobnicate"}).exit_code == 2);
  CHECK(remoractl("http://127.0.0.1:1", {"get", "svc", "-o", "wide"}).exit_code == 2);
}
