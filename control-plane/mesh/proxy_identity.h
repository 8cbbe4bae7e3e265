// ProxyIdentity: who is asking for config, read from the xDS Node's metadata
// the sidecar's bootstrap sets (docs/config/bootstrap.md): REMORA_SERVICE,
// REMORA_NAMESPACE, POD_IP, APP_PORTS ("8080,9090"), INTERCEPTION_MODE
// (REDIRECT or NONE) and a few listener addresses. gRPC's proxyless
// clients usually send none of these; they get an identity with no service
// and no app ports (outbound config only) in namespace "default".
//
// Plain value; the xDS server builds one per stream. Pure functions; any thread.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "envoy/config/core/v3/base.pb.h"
#include "xds/base/status.h"

namespace remora::cp::mesh {

// How the app's traffic reaches the sidecar. kNone: the app (or the demo)
// dials the listeners explicitly. kRedirect: iptables REDIRECTs the pod's
// traffic to :15001 / :15006, so the listeners recover each connection's
// original destination and match on it (listener_builder.h).
enum class InterceptionMode { kNone, kRedirect };

struct ProxyIdentity {
  std::string service;                 // REMORA_SERVICE; empty for a client that serves nothing
  std::string namespace_ = "default";  // REMORA_NAMESPACE
  // REMORA_SERVICE_ACCOUNT, or the service's name: the workload identity
  // spiffe://<trust-domain>/ns/<namespace_>/sa/<service_account>.
  std::string service_account;
  std::string pod_ip;                  // POD_IP
  std::vector<uint32_t> app_ports;     // APP_PORTS, in the order given, no duplicates
  std::map<std::string, std::string> labels;  // LABELS
  std::string region;                         // node.locality
  std::string zone;
  std::string outbound_host = "0.0.0.0";      // OUTBOUND_ADDRESS
  uint32_t outbound_port = 15001;
  std::string inbound_host = "0.0.0.0";       // INBOUND_ADDRESS
  uint32_t inbound_port = 15006;
  // API listeners are for gRPC's proxyless clients; a Remora or Envoy sidecar
  // (node.user_agent_name "remora-proxy" or "envoy") does not get them.
  bool api_listeners = true;
  // APP_ADDRESS: where the local app listens, the inbound clusters' target.
  // 127.0.0.1 in a pod; another loopback address lets several instances of
  // one service share a host without interception (the demo does).
  std::string app_address = "127.0.0.1";
  InterceptionMode interception = InterceptionMode::kNone;  // INTERCEPTION_MODE
  bool operator==(const ProxyIdentity&) const = default;
};

// Reads the identity from node.metadata. Fails (kInvalidArgument, naming
// "node.metadata.APP_PORTS" etc.) on a malformed value; absent keys keep
// their defaults. APP_PORTS may also be a JSON list of numbers.
base::Result<ProxyIdentity> proxyIdentityFromNode(const envoy::config::core::v3::Node& node);

// "8080,9090" -> {8080, 9090}; each 1..65535, duplicates refused.
base::Result<std::vector<uint32_t>> parseAppPorts(std::string_view text);

}  // namespace remora::cp::mesh
