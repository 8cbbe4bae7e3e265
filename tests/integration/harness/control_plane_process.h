// remora-cp as a child process for integration tests: a private data
// directory (SQLite lives there), API and xDS on 127.0.0.1 port 0, and
// helpers to call the JSON API. Test thread only.
//
// The control plane's contract used here: `remora-cp --data-dir DIR
// --api-address 127.0.0.1:0 --xds-address 127.0.0.1:0 --api-address-path F1
// --xds-address-path F2` writes "ip:port" into F1 and F2 once it serves them;
// SIGTERM shuts it down. The data directory outlives a restart(): a test can
// SIGKILL the control plane and start it again on the same data.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tests/integration/harness/http_client.h"
#include "tests/integration/harness/process.h"
#include "tests/integration/harness/temp_dir.h"
#include "xds/base/status.h"

namespace remora::harness {

struct ControlPlaneOptions {
  // Appended after the standard flags (e.g. {"--endpoint-grace-period", "1s"}).
  std::vector<std::string> extra_args;
  // Adds --insecure (plaintext xDS, no CA): what the tests written before
  // the mesh CA expect. Tests of the CA and mTLS set it false.
  bool insecure = true;
  std::chrono::milliseconds start_timeout = std::chrono::seconds(15);
  // Runs remora-cp under this prefix (e.g. {"ip", "netns", "exec", NS}) and
  // binds xDS on `xds_host` (the API stays on loopback); api() then goes
  // through curl under the same prefix, since the test's own namespace
  // cannot reach that namespace's loopback.
  std::vector<std::string> command_prefix;
  std::string xds_host = "127.0.0.1";
};

class ControlPlaneProcess {
 public:
  static base::Result<std::unique_ptr<ControlPlaneProcess>> start(ControlPlaneOptions options = {});

  // Stops the control plane (SIGTERM, then SIGKILL after 2 s) if still running.
  ~ControlPlaneProcess() = default;

  // "127.0.0.1:port" of the JSON API and of the xDS (ADS) server.
  const std::string& apiAddress() const { return api_address_; }
  const std::string& xdsAddress() const { return xds_address_; }
  uint16_t xdsPort() const;
  // "http://127.0.0.1:port": what remoractl's --server takes.
  std::string apiUrl() const { return "http://" + api_address_; }
  const std::string& dataDir() const { return data_dir_; }
  // <data-dir>/ca/bundle.pem: the mesh's trust bundle (secure mode only).
  std::string trustBundlePath() const { return data_dir_ + "/ca/bundle.pem"; }

  // A request to the JSON API (body sent as application/json when not empty).
  base::Result<HttpResponse> api(std::string_view method, std::string_view path, std::string body = "");

  // A join token for `account` in namespace default (POST /api/v1/tokens).
  base::Result<std::string> createToken(const std::string& account, const std::string& ttl = "1h");

  // SIGKILL and reap: no shutdown code runs (durability tests).
  base::Status kill();
  // SIGTERM and wait for the exit code.
  base::Result<int> stop(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Starts the binary again on the same data directory (after kill() or
  // stop()); the addresses change.
  base::Status restart();

  Process& process() { return *process_; }
  // stderr then stdout so far (of the current run): attach with INFO().
  std::string logs() const;

 private:
  ControlPlaneProcess(TempDir dir, ControlPlaneOptions options);
  base::Status launch();

  // Declared first so it outlives the process writing into it.
  TempDir dir_;
  ControlPlaneOptions options_;
  std::string data_dir_;
  std::optional<Process> process_;  // set by launch()
  std::string api_address_;
  std::string xds_address_;
  int runs_ = 0;
};

}  // namespace remora::harness
