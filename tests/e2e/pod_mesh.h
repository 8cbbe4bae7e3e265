// A small mesh of "pods" for end-to-end tests: network namespaces joined by
// veth pairs to a bridge, remora-cp in the bridge's namespace, and per pod
// the apps, the capture rules (`remora-proxy init`) and a sidecar running as
// the proxy user, started from flags the way `remoractl inject` starts it.
// Everything is created by the test and removed when it ends. Test thread
// only; the tests run as root.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tests/integration/harness/netns.h"
#include "tests/integration/harness/control_plane_process.h"
#include "tests/integration/harness/process.h"
#include "tests/integration/harness/temp_dir.h"
#include "tests/integration/harness/trace_collector_process.h"

// REQUIRE for a Status or Result, failing with its message.
#define REQUIRE_OK(expr)                                            \
  do {                                                              \
    const auto& remora_ok_ = (expr);                                \
    if (!remora_ok_) FAIL(#expr << ": " << remora_ok_.error().message); \
  } while (false)

namespace remora::e2e {

using harness::Lan;
using harness::Netns;

inline constexpr unsigned kProxyUid = 1337;

struct Pod {
  std::string name;
  std::string ip;
  std::unique_ptr<Netns> ns;
  std::vector<harness::Process> apps;
  std::optional<harness::Process> sidecar;
};

class PodMesh {
 public:
  // The LAN, and remora-cp (secure: CA and mTLS) on the bridge address.
  // With `tracing`, a span collector runs beside it and remora-cp tells
  // every sidecar to export all spans there (OTLP).
  static base::Result<std::unique_ptr<PodMesh>> start(std::vector<std::string> cp_args = {}, bool tracing = false);

  // A new pod joined to the LAN at SUBNET.<host>.
  base::Result<Pod*> addPod(const std::string& name, int host);
  // Starts an app inside the pod; `port_file` (in dir()) is waited for when
  // not empty.
  base::Status startApp(Pod& pod, std::vector<std::string> args, const std::string& port_file = "");
  // Capture rules, then the sidecar for `service` (a join token is created
  // for it), then `remora-proxy wait-ready`. `extra` goes to the sidecar.
  base::Status startSidecar(Pod& pod, const std::string& service, const std::string& app_ports,
                            std::vector<std::string> extra = {});
  // Starts the sidecar only (no capture, no wait): lifecycle tests.
  base::Result<harness::Process> launchSidecar(Pod& pod, const std::string& service, const std::string& app_ports,
                                               std::vector<std::string> extra = {});
  // POST /api/v1/apply.
  base::Status apply(const std::string& json);
  // The pod sidecar's /stats (harness::parseStats; sum with harness::sumFamily).
  std::map<std::string, std::string> stats(const Pod& pod) const;
  // curl inside the pod (as root, so it is captured); returns status code
  // (0 when curl failed) and body.
  struct Reply {
    int status = 0;
    std::string body;
    std::string error;
  };
  Reply curl(const Pod& pod, const std::string& url, std::vector<std::string> extra = {}) const;
  // Same, as the proxy's user: not captured.
  Reply curlAsProxyUser(const Pod& pod, const std::string& url) const;

  harness::ControlPlaneProcess& cp() { return *cp_; }
  // Null unless started with tracing.
  harness::TraceCollectorProcess* collector() { return collector_ ? &*collector_ : nullptr; }
  Lan& lan() { return *lan_; }
  const harness::TempDir& dir() const { return dir_; }
  // remora-proxy copied where the proxy user can run it.
  const std::string& proxyBinary() const { return proxy_binary_; }
  std::string xdsAddress() const;
  // stderr of every sidecar, for INFO().
  std::string sidecarLogs() const;

 private:
  PodMesh() = default;

  harness::TempDir dir_{"remora-e2e"};
  std::unique_ptr<Lan> lan_;
  std::optional<harness::TraceCollectorProcess> collector_;
  std::unique_ptr<harness::ControlPlaneProcess> cp_;
  std::string proxy_binary_;
  std::string bundle_;
  std::vector<std::unique_ptr<Pod>> pods_;
};

}  // namespace remora::e2e
