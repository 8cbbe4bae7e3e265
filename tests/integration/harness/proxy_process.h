// remora-proxy as a child process for integration tests: writes a bootstrap
// to a private temp dir, starts the binary, waits for its admin address file
// and talks to the admin endpoint. Test thread only.
//
// The proxy's contract used here: `remora-proxy --config FILE
// --admin-address-path FILE2 [--concurrency N]` writes "ip:port" of the admin
// endpoint into FILE2 once it serves; GET /listeners answers
// {"listeners":[{"name":"ingress","address":"127.0.0.1:45123"}]}; GET /stats
// answers "name: value" lines; SIGTERM shuts it down.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tests/integration/harness/http_client.h"
#include "tests/integration/harness/process.h"
#include "tests/integration/harness/temp_dir.h"
#include "xds/base/status.h"

namespace remora::harness {

struct ProxyOptions {
  std::string bootstrap_yaml;
  int concurrency = 1;
  // Appended after the standard flags (e.g. {"--log-level", "debug"}).
  std::vector<std::string> extra_args;
  std::vector<std::pair<std::string, std::string>> env;
  std::chrono::milliseconds start_timeout = std::chrono::seconds(15);
  // Empty: binaryPath("remora-proxy").
  std::string binary;
  // Put before the binary on the command line, e.g. {"taskset", "-c", "0"}
  // or {"valgrind", "--error-exitcode=1"}.
  std::vector<std::string> wrapper;
};

// A bootstrap for a proxy that takes its config over ADS from the xDS server
// on 127.0.0.1:`xds_port` (listeners and clusters, SotW or delta), with an
// admin endpoint on port 0. `node_yaml` is the node as a YAML flow mapping
// ("{id: a, cluster: b, metadata: {...}}"); `static_listeners_yaml`, if any,
// is a block of "  listeners:" lines placed under static_resources.
std::string adsBootstrap(uint16_t xds_port, std::string_view node_yaml, bool delta = false,
                         std::string_view static_listeners_yaml = "");

// The same against a secure remora-cp: the ADS cluster speaks mTLS with the
// workload certificate (secret "default", bought with --token-file) and
// verifies remora-cp against `root_file` (remora-cp's <data-dir>/ca/bundle.pem)
// plus the ROOTCA secret it sends.
std::string secureAdsBootstrap(uint16_t xds_port, std::string_view node_yaml, const std::string& root_file,
                               bool delta = false);

class ProxyProcess {
 public:
  static base::Result<std::unique_ptr<ProxyProcess>> start(ProxyOptions options);

  // Stops the proxy (SIGTERM, then SIGKILL after 2 s) if still running.
  ~ProxyProcess() = default;

  // "ip:port" read from the admin address file.
  const std::string& adminAddress() const { return admin_address_; }

  // A request to the admin endpoint.
  base::Result<HttpResponse> admin(std::string_view method, std::string_view path);

  // Polls GET /ready until it answers 200.
  base::Status waitReady(std::chrono::milliseconds timeout = std::chrono::seconds(10));

  // The bound "ip:port" of the named listener, from GET /listeners.
  base::Result<std::string> listenerAddress(std::string_view name);

  // One numeric stat from GET /stats (fails if absent or not a number).
  base::Result<uint64_t> stats(std::string_view name);
  // Every stat line from GET /stats, as text values.
  base::Result<std::map<std::string, std::string>> allStats();

  // SIGTERM and wait for the exit code.
  base::Result<int> stop(std::chrono::milliseconds timeout = std::chrono::seconds(10));

  Process& process() { return process_; }
  const TempDir& dir() const { return dir_; }
  // stderr then stdout so far: attach to failure messages with INFO().
  std::string logs() const;

 private:
  ProxyProcess(TempDir dir, Process process, std::string admin_address)
      : dir_(std::move(dir)), process_(std::move(process)), admin_address_(std::move(admin_address)) {}

  // Declared first so it outlives the process writing into it.
  TempDir dir_;
  Process process_;
  std::string admin_address_;
};

// Finds the object in `json` whose "name" is `name` and returns its
// "address" string. A scanner, not a JSON parser: it understands strings,
// objects and key order, which is all /listeners needs.
base::Result<std::string> parseListenerAddress(std::string_view json, std::string_view name);

// Parses "name: value" lines (Envoy's /stats text format).
std::map<std::string, std::string> parseStats(std::string_view text);

// The sum of every stat of `family` (the name alone, or with labels:
// `family{...}`) whose full name contains `needle`.
uint64_t sumFamily(const std::map<std::string, std::string>& stats, std::string_view family,
                   std::string_view needle = "");

// Replaces every "{{key}}" in `text` with its value.
std::string fillTemplate(std::string text, const std::vector<std::pair<std::string, std::string>>& values);

// The smallest useful bootstrap: admin on 127.0.0.1:0, one HTTP listener
// named "ingress" on 127.0.0.1:0 routing every request to a STATIC cluster
// named "backend" with one endpoint `backend_address` ("ip:port").
std::string simpleHttpBootstrap(std::string_view backend_address);

}  // namespace remora::harness
