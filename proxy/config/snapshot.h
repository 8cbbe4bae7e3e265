// Snapshot: everything a worker needs to serve traffic under one config,
// validated and compiled (route tables) on the main thread, then immutable.
// The main thread posts a std::shared_ptr<const Snapshot> to every worker; a
// worker switches to it between events and a request in flight keeps the one
// it started with. No lock is taken on the request path.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "proxy/router/route_table.h"
#include "proxy/security/authorizer.h"
#include "proxy/upstream/transport.h"
#include "xds/base/status.h"
#include "xds/resources/model.h"

namespace remora::config {

struct ListenerSnapshot {
  std::shared_ptr<const xds::resources::Listener> config;
  // Per filter chain (same index as config->filter_chains; the default chain
  // last): the compiled routes of an HTTP connection manager, or null.
  std::vector<std::shared_ptr<const router::RouteTable>> route_tables;
  // Per filter chain (same index): the TLS it terminates (null: plaintext),
  // its network RBAC filters and its HTTP RBAC filters, compiled (null: none).
  std::vector<upstream::TlsSettingsPtr> chain_tls;
  std::vector<std::shared_ptr<const security::Authorizer>> network_authz;
  std::vector<std::shared_ptr<const security::Authorizer>> http_authz;
};

struct Snapshot {
  uint64_t version = 0;
  std::shared_ptr<const xds::resources::Bootstrap> bootstrap;
  std::vector<ListenerSnapshot> listeners;
  std::vector<std::shared_ptr<const xds::resources::Cluster>> clusters;
  // The TLS the clusters that have a transport_socket originate, by name.
  std::map<std::string, upstream::TlsSettingsPtr, std::less<>> cluster_tls;
};

class TlsRegistry;

// Compiles a validated bootstrap into a snapshot (route tables built here).
// With a registry, TLS and RBAC are resolved too (attachSecurity); without
// one (`remora-proxy validate`), they are only checked to compile.
base::Result<std::shared_ptr<const Snapshot>> buildSnapshot(
    std::shared_ptr<const xds::resources::Bootstrap> bootstrap, uint64_t version, TlsRegistry* tls = nullptr);

// Fills the snapshot's per-chain TLS settings and compiled RBAC filters and
// its clusters' TLS settings. Fails on TLS material that cannot be read or
// parsed, or RBAC that does not compile, naming the listener or cluster.
base::Status attachSecurity(Snapshot& snapshot, TlsRegistry* tls);

}  // namespace remora::config
