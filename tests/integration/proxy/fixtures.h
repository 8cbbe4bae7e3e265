// Bootstrap builders and helpers shared by the proxy integration tests.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "tests/integration/harness/process.h"
#include "xds/base/status.h"

namespace remora::itest {

struct ClusterSpec {
  std::string name = "backend";
  std::vector<std::string> endpoints;  // "127.0.0.1:port"
  bool http2 = false;
  std::string connect_timeout = "1s";
  std::string extra;  // more YAML fields, indented by 4
};

// A route line for the virtual host "all" (domains ["*"]), e.g.
//   "- match: { prefix: \"/\" }\n  route: { cluster: backend }".
struct HttpListenerSpec {
  std::string name = "ingress";
  std::string routes;          // YAML list under routes:, unindented
  std::string hcm_extra;       // more HttpConnectionManager fields, unindented
  std::string virtual_hosts;   // replaces the default virtual host when set
  std::string direction;       // traffic_direction (INBOUND, OUTBOUND) when set
};

std::string httpListenerYaml(const HttpListenerSpec& spec);
std::string tcpListenerYaml(const std::string& name, const std::string& cluster);
std::string clusterYaml(const ClusterSpec& spec);
// admin on 127.0.0.1:0 plus the given listeners and clusters.
std::string bootstrapYaml(const std::vector<std::string>& listeners, const std::vector<std::string>& clusters);
// Indents every line of `text` by `spaces`.
std::string indent(const std::string& text, int spaces);

// The TCP port a child process listens on, found through /proc (for peers
// such as nghttpd that cannot report a kernel-chosen port). 0 on timeout.
uint16_t waitForListeningPort(pid_t pid, std::chrono::milliseconds timeout);

// Starts nghttpd (HTTP/2 cleartext, prior knowledge) on 127.0.0.1:0 serving
// `docroot`.
base::Result<harness::Process> startNghttpd(const std::string& docroot, uint16_t& port);

// VmHWM (peak RSS) of a process in KiB, or 0.
uint64_t peakRssKb(pid_t pid);

}  // namespace remora::itest
