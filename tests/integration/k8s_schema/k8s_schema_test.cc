// `remoractl inject` output against the Kubernetes object schemas
// (tests/integration/k8s_schema/validate.mjs, kubernetes-models + ajv): the
// golden inputs of tests/unit/control_plane/cli/testdata/inject and the
// manifests of examples/kubernetes, plus the checked-in injected sample.
#include <catch2/catch.hpp>
#include <filesystem>

#include "tests/integration/harness/paths.h"
#include "tests/integration/harness/process.h"
#include "tests/integration/harness/temp_dir.h"

namespace remora::harness {
namespace {

constexpr std::string_view kPackageDir = "tests/integration/k8s_schema";

std::vector<std::string> manifests() {
  return {"tests/unit/control_plane/cli/testdata/inject/deployment.yaml",
          "tests/unit/control_plane/cli/testdata/inject/pod-annotations.yaml",
          "tests/unit/control_plane/cli/testdata/inject/multi.yaml",
          "tests/unit/control_plane/cli/testdata/inject/opted-out.yaml",
          "examples/kubernetes/remora-cp.yaml",
          "examples/kubernetes/sample-app.yaml"};
}

// node and the package's modules, or a failure saying how to get them.
std::string validator() {
  const std::string node = findInPath("node");
  INFO("node is not installed: run scripts/deps.sh");
  REQUIRE_FALSE(node.empty());
  for (const char* module : {"kubernetes-models", "yaml"}) {
    const std::string file = sourcePath(std::string(kPackageDir) + "/node_modules/" + module + "/package.json");
    INFO(file << " is missing: run scripts/deps.sh (npm ci in " << kPackageDir << ")");
    REQUIRE(std::filesystem::exists(file));
  }
  return node;
}

CommandResult validate(const std::string& node, const std::string& file) {
  return run({node, sourcePath(std::string(kPackageDir) + "/validate.mjs"), file}, std::chrono::seconds(60));
}

TEST_CASE("inject output of every golden input and example validates against the Kubernetes schemas",
          "[inject][k8s]") {
  const std::string node = validator();
  TempDir dir("remora-k8s-schema");
  for (const std::string& manifest : manifests()) {
    INFO(manifest);
    for (const char* format : {"yaml", "json"}) {
      INFO("-o " << format);
      const CommandResult injected =
          run({binaryPath("remoractl"), "inject", "-f", sourcePath(manifest), "-o", format}, std::chrono::seconds(30));
      INFO(injected.describe());
      REQUIRE(injected.exit_code == 0);
      const std::string out = dir.file(std::filesystem::path(manifest).stem().string() + "." + format);
      REQUIRE(writeFile(out, injected.stdout_text).has_value());
      const CommandResult checked = validate(node, out);
      INFO(checked.describe());
      CHECK(checked.exit_code == 0);
    }
  }
  const CommandResult sample = validate(node, sourcePath("examples/kubernetes/sample-app.injected.yaml"));
  INFO(sample.describe());
  CHECK(sample.exit_code == 0);
}

TEST_CASE("the schema validator refuses an object Kubernetes would refuse", "[inject][k8s]") {
  const std::string node = validator();
  TempDir dir("remora-k8s-schema");
  const std::string bad = dir.file("bad.yaml");
  // A native sidecar whose port is a string: the schema says integer.
  REQUIRE(writeFile(bad, "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  initContainers:\n"
                         "  - {name: s, image: i, restartPolicy: Always, ports: [{containerPort: \"15001\"}]}\n"
                         "  containers: [{name: a, image: b}]\n")
              .has_value());
  const CommandResult checked = validate(node, bad);
  CHECK(checked.exit_code == 1);
  CHECK(checked.stderr_text.find("containerPort must be integer") != std::string::npos);
  const std::string unknown = dir.file("unknown.yaml");
  REQUIRE(writeFile(unknown, "apiVersion: apps/v1\nkind: Deploymnet\nmetadata: {name: d}\n").has_value());
  CHECK(validate(node, unknown).exit_code == 1);
}

}  // namespace
}  // namespace remora::harness
