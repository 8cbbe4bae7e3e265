// remoractl inject: golden files, idempotence, errors and output formats.
//
// Golden pairs live in testdata/inject/: NAME.yaml is the input and
// NAME.injected.yaml the expected output; examples/kubernetes/sample-app.yaml
// and its checked-in sample-app.injected.yaml are one more pair. After an
// intended change, regenerate them with
//   REMORA_UPDATE_GOLDEN=1 ./remoractl_inject_test "[golden]"
// and review the diff.
#include "control-plane/cli/inject.h"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace remora::cli {
namespace {

struct GoldenPair {
  std::string input;
  std::string expected;
};

std::string sourcePath(const std::string& relative) {
  const char* env = std::getenv("REMORA_SOURCE_DIR");
  return std::string(env != nullptr ? env : REMORA_SOURCE_DIR) + "/" + relative;
}

std::vector<GoldenPair> goldenPairs() {
  const std::string dir = "tests/unit/control_plane/cli/testdata/inject/";
  std::vector<GoldenPair> pairs;
  for (const char* name : {"deployment", "pod-annotations", "multi", "opted-out"}) {
    pairs.push_back({dir + name + ".yaml", dir + name + ".injected.yaml"});
  }
  pairs.push_back({"examples/kubernetes/sample-app.yaml", "examples/kubernetes/sample-app.injected.yaml"});
  return pairs;
}

std::string readFile(const std::string& relative) {
  std::ifstream in(sourcePath(relative), std::ios::binary);
  INFO("reading " << sourcePath(relative));
  REQUIRE(in.good());
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string injected(const std::string& text, const InjectOptions& options = {}) {
  auto result = injectManifest(text, options);
  INFO((result ? std::string() : result.error().message));
  REQUIRE(result.has_value());
  return result->text;
}

std::string errorOf(const std::string& text, const InjectOptions& options = {}) {
  auto result = injectManifest(text, options);
  REQUIRE_FALSE(result.has_value());
  CHECK(result.error().code == base::Error::kInvalidArgument);
  // One line: the command prints it as it is.
  CHECK(result.error().message.find('\n') == std::string::npos);
  return result.error().message;
}

constexpr const char* kPod = R"(apiVersion: v1
kind: Pod
metadata:
  name: p
spec:
  containers:
  - name: app
    image: example/app:1
    ports:
    - containerPort: 8080
)";

TEST_CASE("inject output matches every golden file", "[inject][golden]") {
  const bool update = std::getenv("REMORA_UPDATE_GOLDEN") != nullptr;
  for (const GoldenPair& pair : goldenPairs()) {
    INFO(pair.input);
    const std::string output = injected(readFile(pair.input));
    if (update) {
      std::ofstream(sourcePath(pair.expected), std::ios::binary) << output;
      WARN("updated " << pair.expected);
      continue;
    }
    CHECK(output == readFile(pair.expected));
  }
}

TEST_CASE("injecting an injected manifest changes nothing, byte for byte", "[inject][golden]") {
  for (const GoldenPair& pair : goldenPairs()) {
    INFO(pair.input);
    const std::string once = injected(readFile(pair.input));
    CHECK(injected(once) == once);
  }
}

TEST_CASE("an injected pod template is reported unchanged the second time", "[inject]") {
  auto first = injectManifest(kPod, {});
  REQUIRE(first.has_value());
  CHECK(first->report == std::vector<std::string>{"pod/p injected"});
  auto second = injectManifest(first->text, {});
  REQUIRE(second.has_value());
  CHECK(second->report == std::vector<std::string>{"pod/p unchanged (remora.io/injected is set)"});
}

TEST_CASE("a pod template with remora.io/inject false is printed without any sidecar", "[inject]") {
  const std::string out = injected(readFile("tests/unit/control_plane/cli/testdata/inject/opted-out.yaml"));
  CHECK(out.find("remora-proxy") == std::string::npos);
  CHECK(out.find("remora.io/injected") == std::string::npos);
}

TEST_CASE("a hostNetwork pod is skipped, since its capture rules would be the node's", "[inject]") {
  const std::string text = std::string(kPod) + "  hostNetwork: true\n";
  auto result = injectManifest(text, {});
  REQUIRE(result.has_value());
  CHECK(result->text.find("remora-init") == std::string::npos);
  REQUIRE(result->report.size() == 1);
  CHECK(result->report[0].find("skipped (hostNetwork: true") != std::string::npos);
}

TEST_CASE("documents that are not workloads pass through in their order", "[inject]") {
  const std::string out = injected(
      "kind: ConfigMap\napiVersion: v1\nmetadata: {name: a}\ndata: {k: \"1\"}\n---\n" + std::string(kPod) +
      "---\nkind: Service\napiVersion: v1\nmetadata: {name: z}\n");
  const size_t config_map = out.find("kind: ConfigMap");
  const size_t pod = out.find("kind: Pod");
  const size_t service = out.find("kind: Service");
  REQUIRE(config_map != std::string::npos);
  REQUIRE(pod != std::string::npos);
  REQUIRE(service != std::string::npos);
  CHECK(config_map < pod);
  CHECK(pod < service);
  CHECK(out.find("data:\n  k: \"1\"\n") != std::string::npos);  // the string stays a string
}

TEST_CASE("every workload kind gets the sidecar in its own pod template", "[inject]") {
  const std::string tmpl = "    metadata: {labels: {app: w}}\n    spec:\n      containers: [{name: a, image: b}]\n";
  for (const char* kind : {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job"}) {
    INFO(kind);
    const std::string out = injected(std::string("kind: ") + kind + "\nmetadata: {name: w}\nspec:\n  template:\n" + tmpl);
    CHECK(out.find("  template:\n    metadata:\n      annotations:\n        remora.io/injected: \"0.1.0\"") !=
          std::string::npos);
    CHECK(out.find("      - name: remora-proxy") == std::string::npos);  // sorted keys: args come first
    CHECK(out.find("name: remora-proxy") != std::string::npos);
  }
  const std::string cron = injected(
      "kind: CronJob\nmetadata: {name: c}\nspec:\n  schedule: \"@hourly\"\n  jobTemplate:\n    spec:\n      template:\n"
      "        spec:\n          containers: [{name: a, image: b}]\n");
  CHECK(cron.find("jobTemplate:\n    spec:\n      template:\n        metadata:\n          annotations:\n"
                  "            remora.io/injected: \"0.1.0\"") != std::string::npos);
}

TEST_CASE("the inject flags reach the containers", "[inject]") {
  InjectOptions options;
  options.control_plane = "cp.example:15010";
  options.image = "registry.example/remora:9";
  options.proxy_uid = 2000;
  const std::string out = injected(kPod, options);
  CHECK(out.find("- cp.example:15010\n") != std::string::npos);
  CHECK(out.find("image: registry.example/remora:9\n") != std::string::npos);
  CHECK(out.find("runAsUser: 2000\n") != std::string::npos);
  CHECK(out.find("- \"--proxy-uid\"\n    - \"2000\"\n") != std::string::npos);
}

TEST_CASE("json output is one object, or a List for several, and injects again to the same", "[inject]") {
  InjectOptions json;
  json.format = OutputFormat::kJson;
  const std::string one = injected(kPod, json);
  CHECK(one.rfind("{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"Pod\"", 0) == 0);
  const std::string several = injected(std::string(kPod) + "---\n" + kPod, json);
  CHECK(several.find("\"kind\": \"List\"") != std::string::npos);
  CHECK(injected(several, json) == several);
  CHECK(injected(one) == injected(kPod));
}

TEST_CASE("bad input fails with one line naming the document and the field", "[inject][errors]") {
  CHECK(errorOf("a: [b").find("malformed YAML") != std::string::npos);
  CHECK(errorOf("").find("no Kubernetes objects") != std::string::npos);
  CHECK(errorOf("apiVersion: v1\nmetadata: {name: x}\n") == "document 1 (line 1): kind: missing");
  CHECK(errorOf("kind: Service\nmetadata: {name: s}\n---\nkind: Deployment\nmetadata: {name: w}\nspec:\n  template:\n"
                "    spec:\n      containers: []\n") ==
        "document 2 (line 4, Deployment/w): spec.template.spec.containers: a pod template needs at least one container");
  CHECK(errorOf("kind: Deployment\nmetadata: {name: w}\nspec: {replicas: 1}\n") ==
        "document 1 (line 1, Deployment/w): spec.template: missing (a Deployment needs a pod template)");
  CHECK(errorOf("kind: Pod\nmetadata:\n  name: p\n  annotations: {remora.io/app-ports: \"80x\"}\nspec:\n"
                "  containers: [{name: a, image: b}]\n") ==
        "document 1 (line 1, Pod/p): metadata.annotations[remora.io/app-ports]: \"80x\" is not a comma-separated "
        "list of ports (1..65535)");
  CHECK(errorOf("kind: Pod\nmetadata: {name: p}\n").find("spec: missing") != std::string::npos);
}

TEST_CASE("bad flags are refused before any input is read", "[inject][errors]") {
  InjectOptions options;
  options.control_plane = "no-port";
  CHECK(errorOf(kPod, options).rfind("--control-plane:", 0) == 0);
  options = {};
  options.image = "";
  CHECK(errorOf(kPod, options).rfind("--image:", 0) == 0);
  options = {};
  options.proxy_uid = 0;
  CHECK(errorOf(kPod, options).rfind("--proxy-uid:", 0) == 0);
}

TEST_CASE("runInject prints the manifest on stdout and the report on stderr", "[inject]") {
  CommandOutput output;
  CHECK(runInject("/nonexistent/remora/manifest.yaml", {}, output) == kExitError);
  CHECK(output.err.rfind("error: cannot read /nonexistent/remora/manifest.yaml", 0) == 0);
  CommandOutput bad_flag;
  InjectOptions options;
  options.proxy_uid = 0;
  CHECK(runInject("-", options, bad_flag) == kExitUsage);
}

}  // namespace
}  // namespace remora::cli
