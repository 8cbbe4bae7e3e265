// remora-proxy's command line: `validate FILE` accepts the shipped examples
// and rejects bad bootstraps with one line naming the field (and the line),
// `--config` with a bad file stops before listening, `--help` and unknown
// flags behave as every Remora command must (docs/config/bootstrap.md,
// ARCHITECTURE.md "Command-line surface").
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <string>
#include <thread>

#include "tests/integration/harness/paths.h"
#include "tests/integration/harness/process.h"
#include "tests/integration/harness/proxy_process.h"
#include "tests/integration/harness/temp_dir.h"
#include "tests/integration/proxy/fixtures.h"

using namespace remora;
using namespace std::chrono_literals;
using harness::CommandResult;
using harness::run;

namespace {

std::string proxyBinary() { return harness::binaryPath("remora-proxy"); }

CommandResult validateFile(const std::string& path) { return run({proxyBinary(), "validate", path}, 30s); }

// Writes `yaml` as <dir>/<name> and validates it.
CommandResult validateYaml(const harness::TempDir& dir, const std::string& yaml, const std::string& name = "bad.yaml") {
  const std::string path = dir.file(name);
  std::ofstream(path) << yaml;
  return validateFile(path);
}

// The message is one line: text, then at most a trailing newline.
bool isOneLine(const std::string& text) {
  const size_t nl = text.find('\n');
  return !text.empty() && (nl == std::string::npos || nl == text.size() - 1);
}

const char* kRoute = "- match: { prefix: \"/\" }\n  route: { cluster: backend }\n";

std::string goodListener() { return itest::httpListenerYaml({.routes = kRoute}); }
std::string goodCluster() { return itest::clusterYaml({.endpoints = {"127.0.0.1:8080"}}); }

// A rejected bootstrap: non-zero exit, nothing on stdout, one line on stderr
// that contains every one of `needles`.
void checkRejected(const CommandResult& r, const std::vector<std::string>& needles) {
  INFO(r.describe());
  CHECK(r.exit_code != 0);
  CHECK_FALSE(r.timed_out);
  CHECK(r.stdout_text.find("OK") == std::string::npos);
  CHECK(isOneLine(r.stderr_text));
  for (const auto& n : needles) {
    INFO("expected in the message: " << n);
    CHECK(r.stderr_text.find(n) != std::string::npos);
  }
}

}  // namespace

TEST_CASE("validate accepts the basic example bootstrap", "[integration][proxy][validate]") {
  auto r = validateFile(harness::sourcePath("examples/bootstrap/basic.yaml"));
  INFO(r.describe());
  CHECK(r.exit_code == 0);
  CHECK(r.stdout_text.find("OK") != std::string::npos);
  CHECK(r.stdout_text.find("2 listener") != std::string::npos);
  CHECK(r.stdout_text.find("2 cluster") != std::string::npos);
}

TEST_CASE("validate names the path of an unknown field", "[integration][proxy][validate]") {
  harness::TempDir dir;
  auto r = validateYaml(dir, itest::bootstrapYaml({goodListener()},
                                                  {itest::clusterYaml({.endpoints = {"127.0.0.1:8080"},
                                                                       .extra = "conect_timeout_typo: 1s\n"})}));
  checkRejected(r, {"bad.yaml", "static_resources.clusters[0]", "conect_timeout_typo", "unknown field"});
}

TEST_CASE("validate names the path and line of an out-of-range port", "[integration][proxy][validate]") {
  harness::TempDir dir;
  const std::string yaml =
      itest::bootstrapYaml({goodListener()}, {itest::clusterYaml({.endpoints = {"127.0.0.1:70000"}})});
  // The line the bad port is on, counted from 1.
  const size_t at = yaml.find("70000");
  const int line = 1 + static_cast<int>(std::count(yaml.begin(), yaml.begin() + static_cast<long>(at), '\n'));
  auto r = validateYaml(dir, yaml);
  checkRejected(r, {"bad.yaml:" + std::to_string(line), "static_resources.clusters[0]", "port_value", "70000"});
}

TEST_CASE("validate names the route whose cluster does not exist", "[integration][proxy][validate]") {
  harness::TempDir dir;
  auto r = validateYaml(
      dir, itest::bootstrapYaml(
               {itest::httpListenerYaml({.routes = "- match: { prefix: \"/\" }\n  route: { cluster: missing_one }\n"})},
               {goodCluster()}));
  checkRejected(r, {"bad.yaml", "static_resources.listeners[0]", "routes[0]", "missing_one"});
}

TEST_CASE("validate names the line of malformed YAML", "[integration][proxy][validate]") {
  harness::TempDir dir;
  // Line 4 opens a flow mapping that never closes.
  auto r = validateYaml(dir,
                        "admin:\n  address:\n    socket_address: { address: 127.0.0.1, port_value: 0 }\n"
                        "static_resources: { listeners: [\n  clusters: []\n");
  INFO(r.describe());
  checkRejected(r, {"bad.yaml:"});
  // The position named is inside the broken part (lines 4 to 6), not line 1.
  bool names_line = false;
  for (int line = 4; line <= 6; ++line) {
    names_line = names_line || r.stderr_text.find("bad.yaml:" + std::to_string(line)) != std::string::npos;
  }
  CHECK(names_line);
}

TEST_CASE("validate refuses a supported-in-Envoy but unsupported field by name", "[integration][proxy][validate]") {
  harness::TempDir dir;
  // freebind on a listener: in Envoy's protos, refused by Remora.
  std::string listener = goodListener();
  const std::string marker = "  filter_chains:\n";
  const size_t at = listener.find(marker);
  REQUIRE(at != std::string::npos);
  listener.replace(at, marker.size(), "  freebind: true\n  filter_chains:\n");
  auto r = validateYaml(dir, itest::bootstrapYaml({listener}, {goodCluster()}));
  checkRejected(r, {"bad.yaml", "static_resources.listeners[0].freebind", "not supported by remora-proxy"});
}

TEST_CASE("remora-proxy --config with a bad file exits non-zero at once without listening",
          "[integration][proxy][validate]") {
  harness::TempDir dir;
  const std::string config = dir.file("bad.yaml");
  std::ofstream(config) << itest::bootstrapYaml(
      {itest::httpListenerYaml({.routes = "- match: { prefix: \"/\" }\n  route: { cluster: missing_one }\n"})},
      {goodCluster()});
  const std::string admin_file = dir.file("admin-address");
  harness::ProcessOptions o;
  o.args = {proxyBinary(), "--config", config, "--admin-address-path", admin_file};
  o.output_dir = dir.path();
  const auto started = std::chrono::steady_clock::now();
  auto p = harness::Process::start(o);
  REQUIRE(p);
  auto code = p->waitExit(10s);
  const auto took = std::chrono::steady_clock::now() - started;
  INFO(p->readStderr());
  REQUIRE(code);
  CHECK(*code != 0);
  CHECK(took < 5s);
  // It never announced an admin endpoint, so it never served.
  CHECK_FALSE(std::ifstream(admin_file).good());
  CHECK(p->readStderr().find("missing_one") != std::string::npos);
}

TEST_CASE("remora-proxy --config with a file that does not exist exits non-zero naming it",
          "[integration][proxy][validate]") {
  auto r = run({proxyBinary(), "--config", "/nonexistent/remora.yaml"}, 10s);
  INFO(r.describe());
  CHECK(r.exit_code != 0);
  CHECK_FALSE(r.timed_out);
  CHECK(r.stderr_text.find("/nonexistent/remora.yaml") != std::string::npos);
}

TEST_CASE("remora-proxy --help exits 0 and describes the flags and subcommands", "[integration][proxy][validate]") {
  auto r = run({proxyBinary(), "--help"}, 10s);
  INFO(r.describe());
  CHECK(r.exit_code == 0);
  CHECK(r.stdout_text.find("--config") != std::string::npos);
  CHECK(r.stdout_text.find("--concurrency") != std::string::npos);
  CHECK(r.stdout_text.find("validate") != std::string::npos);
}

TEST_CASE("remora-proxy with an unknown flag exits non-zero naming it", "[integration][proxy][validate]") {
  auto r = run({proxyBinary(), "--no-such-flag"}, 10s);
  INFO(r.describe());
  CHECK(r.exit_code != 0);
  CHECK_FALSE(r.timed_out);
  CHECK(r.stderr_text.find("--no-such-flag") != std::string::npos);
}

TEST_CASE("validate without a file exits non-zero", "[integration][proxy][validate]") {
  auto r = run({proxyBinary(), "validate"}, 10s);
  INFO(r.describe());
  CHECK(r.exit_code != 0);
  CHECK_FALSE(r.timed_out);
}
