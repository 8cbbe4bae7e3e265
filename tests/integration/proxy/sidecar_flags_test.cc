// remora-proxy started the Kubernetes way: no bootstrap file, only flags
// (--control-plane ...), against a real secure remora-cp; and `remora-proxy
// wait-ready`, which a pod's postStart hook runs (docs/lifecycle.md).
#include <signal.h>

#include <catch2/catch.hpp>

#include <random>
#include <regex>
#include <thread>

#include "tests/integration/harness/control_plane_process.h"
#include "tests/integration/harness/http_client.h"
#include "tests/integration/harness/paths.h"
#include "tests/integration/harness/process.h"
#include "tests/integration/harness/proxy_process.h"
#include "tests/integration/harness/temp_dir.h"

using namespace std::chrono_literals;
namespace harness = remora::harness;

namespace {

std::unique_ptr<harness::ControlPlaneProcess> startSecureCp() {
  harness::ControlPlaneOptions options;
  options.insecure = false;
  auto cp = harness::ControlPlaneProcess::start(options);
  if (!cp) FAIL("remora-cp did not start: " << cp.error().message);
  return std::move(*cp);
}

std::string createToken(harness::ControlPlaneProcess& cp, const std::string& account) {
  auto token = cp.createToken(account);
  INFO((token ? std::string() : token.error().message));
  REQUIRE(token);
  return *token;
}

// A loopback address of our own for the pod: 127.<random>.<random>.7.
std::string podIp() {
  const uint32_t r = std::random_device{}();
  return "127." + std::to_string(1 + r % 250) + "." + std::to_string((r >> 8) % 250) + ".7";
}

harness::CommandResult proxyCommand(std::vector<std::string> args, std::chrono::milliseconds timeout = 10s) {
  args.insert(args.begin(), harness::binaryPath("remora-proxy"));
  return harness::run(args, timeout);
}

}  // namespace

TEST_CASE("a proxy waiting for its workload certificate is not ready, and wait-ready says why",
          "[integration][proxy][lifecycle]") {
  auto cp = startSecureCp();
  harness::TempDir dir("remora-sidecar");
  const std::string token_file = dir.file("token");
  REQUIRE(harness::writeFile(token_file, "not-a-join-token\n"));
  harness::ProxyOptions options;
  options.bootstrap_yaml = harness::secureAdsBootstrap(
      cp->xdsPort(), "{id: waiting, cluster: reviews, metadata: {REMORA_SERVICE: reviews, OUTBOUND_ADDRESS: '127.0.0.1:0', "
                     "INBOUND_ADDRESS: '127.0.0.1:0'}}",
      cp->trustBundlePath());
  options.extra_args = {"--token-file", token_file};
  auto proxy = harness::ProxyProcess::start(options);
  REQUIRE(proxy);

  // The proxy serves its admin endpoint and has a bootstrap, but no
  // certificate can come: it must never call itself ready.
  for (int i = 0; i < 10; ++i) {
    auto ready = (*proxy)->admin("GET", "/ready");
    REQUIRE(ready);
    CHECK(ready->status == 503);
    CHECK(ready->body.find("waiting for the workload certificate") != std::string::npos);
    std::this_thread::sleep_for(50ms);
  }
  auto waited = proxyCommand({"wait-ready", "--timeout", "1", "--admin-address", (*proxy)->adminAddress()});
  INFO(waited.describe());
  CHECK(waited.exit_code == 1);
  CHECK(waited.stderr_text.find("/ready answered 503: STARTING: waiting for the workload certificate") !=
        std::string::npos);
}

TEST_CASE("wait-ready with nothing listening exits 1 with the connect error", "[integration][proxy][lifecycle]") {
  auto waited = proxyCommand({"wait-ready", "--timeout", "0.3", "--admin-address", "127.0.0.1:1"});
  INFO(waited.describe());
  CHECK(waited.exit_code == 1);
  CHECK(waited.stderr_text.find("connect 127.0.0.1:1: Connection refused") != std::string::npos);
}

TEST_CASE("a sidecar started from flags joins remora-cp, becomes ready and registers its endpoint",
          "[integration][proxy][lifecycle]") {
  auto cp = startSecureCp();
  auto applied = cp->api("POST", "/api/v1/apply",
                         R"([{"kind":"Service","metadata":{"name":"reviews"},"spec":{"ports":[{"name":"http","port":9080}]}}])");
  REQUIRE(applied);
  INFO(applied->body);
  REQUIRE(applied->status / 100 == 2);
  harness::TempDir dir("remora-sidecar");
  const std::string token_file = dir.file("token");
  REQUIRE(harness::writeFile(token_file, createToken(*cp, "reviews") + "\n"));
  const std::string admin_file = dir.file("admin-address");
  const std::string pod_ip = podIp();

  harness::ProcessOptions p;
  p.args = {harness::binaryPath("remora-proxy"), "--control-plane", cp->xdsAddress(), "--node-id", "reviews-1.default",
            "--service", "reviews", "--pod-ip", pod_ip, "--app-ports", "9080", "--ca-file", cp->trustBundlePath(),
            "--token-file", token_file, "--admin-address", "127.0.0.1:0", "--admin-address-path", admin_file,
            "--outbound-address", "127.0.0.1:0", "--inbound-address", pod_ip + ":9080", "--label", "version=v1"};
  p.output_dir = dir.path();
  auto proxy = harness::Process::start(p);
  REQUIRE(proxy);
  auto admin = harness::waitForFile(admin_file, 15s, [&] { return proxy->running(); });
  INFO(proxy->readStderr());
  REQUIRE(admin);
  const std::string admin_address = admin->substr(0, admin->find('\n'));

  auto waited = proxyCommand({"wait-ready", "--timeout", "20", "--admin-address", admin_address}, 30s);
  INFO(waited.describe());
  REQUIRE(waited.exit_code == 0);
  CHECK(waited.stdout_text.rfind("remora-proxy is ready (" + admin_address, 0) == 0);

  // remora-cp knows the node and has registered the pod as an endpoint of
  // reviews: the sidecar's own outbound cluster for reviews lists it.
  auto proxies = cp->api("GET", "/api/v1/proxies");
  REQUIRE(proxies);
  CHECK(proxies->body.find("reviews-1.default") != std::string::npos);
  bool registered = false;
  std::string clusters;
  for (int i = 0; i < 100 && !registered; ++i) {
    auto r = harness::httpGet(admin_address, "/clusters");
    REQUIRE(r);
    clusters = r->body;
    registered = clusters.find(pod_ip + ":9080") != std::string::npos;
    if (!registered) std::this_thread::sleep_for(50ms);
  }
  INFO(clusters);
  CHECK(registered);
  auto metrics = cp->api("GET", "/metrics");
  REQUIRE(metrics);
  CHECK(metrics->body.find("remora_cp_sidecar_registrations 1") != std::string::npos);

  REQUIRE(proxy->signal(SIGTERM));
  auto code = proxy->waitExit(15s);
  REQUIRE(code);
  CHECK(*code == 0);
}

TEST_CASE("the bootstrap from flags prints, validates, and refuses conflicting flags",
          "[integration][proxy][lifecycle]") {
  harness::TempDir dir("remora-flags");
  const std::vector<std::string> base = {"--control-plane", "127.0.0.1:15010", "--node-id", "a.default", "--service",
                                         "reviews", "--pod-ip", "10.1.2.3", "--insecure-xds"};
  auto args = base;
  args.push_back("--print-bootstrap");
  auto printed = proxyCommand(args);
  INFO(printed.describe());
  REQUIRE(printed.exit_code == 0);
  CHECK(printed.stdout_text.find("REMORA_SERVICE: \"reviews\"") != std::string::npos);
  CHECK(printed.stdout_text.find("INTERCEPTION_MODE: \"NONE\"") != std::string::npos);
  // What it prints is a bootstrap file that runs as it is.
  const std::string file = dir.file("printed.yaml");
  REQUIRE(harness::writeFile(file, printed.stdout_text));
  auto validated = proxyCommand({"validate", file});
  INFO(validated.describe());
  CHECK(validated.exit_code == 0);

  args = base;
  args.insert(args.end(), {"--config", file});
  auto both = proxyCommand(args);
  CHECK(both.exit_code == 2);
  CHECK(both.stderr_text.find("--config and --control-plane are mutually exclusive") != std::string::npos);

  auto orphan = proxyCommand({"--config", file, "--node-id", "x"});
  CHECK(orphan.exit_code == 2);
  CHECK(orphan.stderr_text.find("--node-id needs --control-plane") != std::string::npos);

  args = base;
  args[1] = "remora-cp.does-not-exist.invalid:15010";
  auto unresolved = proxyCommand(args);
  INFO(unresolved.describe());
  CHECK(unresolved.exit_code == 1);
  CHECK(unresolved.stderr_text.find("cannot resolve 'remora-cp.does-not-exist.invalid'") != std::string::npos);

  args = base;
  args.pop_back();  // no --insecure-xds and no --ca-file
  auto no_ca = proxyCommand(args);
  CHECK(no_ca.exit_code == 2);
  CHECK(no_ca.stderr_text.find("--ca-file: required") != std::string::npos);
}
