// The sidecar's bootstrap built from command-line flags, for Kubernetes,
// where a pod's facts (POD_IP, the pod's name and namespace) arrive through
// the downward API as `$(VAR)` in args rather than in a file:
//
//   remora-proxy --control-plane remora-cp.remora-system.svc:15010 --node-id $(POD_NAME).$(POD_NAMESPACE)
//                --service reviews --pod-ip $(POD_IP) --app-ports 9080 --interception redirect
//                --ca-file /etc/remora/ca/root.pem --token-file /var/run/secrets/remora/token
//
// The result is a sidecar bootstrap (the node, an ADS xds_cluster over mTLS)
// as YAML text that then goes through the ordinary loader (bootstrap_loader.h), so a
// flag-built bootstrap is validated exactly like a file and
// `--print-bootstrap` shows what runs. --control-plane may list several
// replicas ("cp-0:15010,cp-1:15010") or name one that resolves to several
// addresses (a headless Service): every address becomes an endpoint of the
// ADS cluster, and the proxy fails over between them.
// Pure functions except resolveControlPlane(s) (blocking DNS lookups: made
// once before any loop runs, and again off the loop by the ADS client's
// resolver thread). Main thread at start-up, or any thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "xds/base/status.h"

namespace remora::server {

struct FlagBootstrapOptions {
  std::string control_plane;  // HOST:PORT[,HOST:PORT...]; HOST may be a DNS name
  std::string node_id;
  std::string service;
  std::string namespace_ = "default";
  std::string service_account;  // default: the service's name
  std::string pod_ip;
  std::string app_ports;             // "8080,9090"
  std::string interception = "none";  // "redirect" or "none"
  std::string ca_file;                // the mesh root remora-cp is verified against
  std::string trust_domain = "cluster.local";
  std::string control_plane_identity;  // default spiffe://<trust-domain>/ns/remora-system/sa/remora-cp
  std::string zone;
  std::string region;
  bool insecure_xds = false;  // plaintext ADS, for a remora-cp started with --insecure
  std::string admin_address = "127.0.0.1:15000";
  // Where the listeners bind and the app listens (node.metadata
  // OUTBOUND_ADDRESS, INBOUND_ADDRESS, APP_ADDRESS): empty keeps remora-cp's
  // defaults (0.0.0.0:15001, 0.0.0.0:15006, 127.0.0.1). Several sidecars on
  // one host without interception set them.
  std::string outbound_address;
  std::string inbound_address;
  std::string app_address;
  std::vector<std::string> labels;  // "key=value": the registered endpoint's labels
};

// The control plane's address once resolved: an IP literal and a port.
struct ResolvedAddress {
  std::string ip;
  uint16_t port = 0;
};

// Checks the flags alone (required ones, formats), naming the flag:
// "--pod-ip: 'abc' is not an IP address".
base::Status checkFlagBootstrap(const FlagBootstrapOptions& options);

// --control-plane's entries, split on commas and checked as HOST:PORT; a
// bad or empty entry fails naming it.
base::Result<std::vector<std::string>> splitControlPlanes(const std::string& list);

// True when some entry of the (checked) list is a DNS name, not an IP literal:
// then the ADS client resolves the list again after failed cycles.
bool controlPlanesHaveNames(const std::string& list);

// Resolves one entry's HOST (getaddrinfo, the first address; an IP literal is
// taken as is). Fails naming the host and the resolver's reason.
base::Result<ResolvedAddress> resolveControlPlane(const std::string& host_port);

// Every address of every entry of the list, in the list's order (a name's
// addresses as the resolver orders them), without repeats. Fails on the
// first entry that does not resolve, naming it.
base::Result<std::vector<ResolvedAddress>> resolveControlPlanes(const std::string& list);

// The bootstrap YAML for `options`, with one ADS cluster endpoint per address
// of `control_planes` (at least one). Call checkFlagBootstrap() first; this
// one does not repeat it.
std::string flagBootstrapYaml(const FlagBootstrapOptions& options, const std::vector<ResolvedAddress>& control_planes);
std::string flagBootstrapYaml(const FlagBootstrapOptions& options, const ResolvedAddress& control_plane);

// `text` as a YAML double-quoted scalar (JSON escapes are valid YAML ones),
// so any flag value stays one string.
std::string yamlQuote(const std::string& text);

}  // namespace remora::server
