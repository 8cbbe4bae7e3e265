// Snapshot: everything a worker needs to serve traffic under one config,
// validated and compiled (route tables) on the main thread, then immutable.
// The main thread posts a std::shared_ptr<const Snapshot> to every worker; a
// worker switches to it between events and a request in flight keeps the one
// it started with. No lock is taken on the request path.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "proxy/router/route_table.h"
#include "xds/base/status.h"
#include "xds/resources/model.h"

namespace remora::config {

struct ListenerSnapshot {
  std::shared_ptr<const xds::resources::Listener> config;
  // Per filter chain (same index as config->filter_chains; the default chain
  // last): the compiled routes of an HTTP connection manager, or null.
  std::vector<std::shared_ptr<const router::RouteTable>> route_tables;
};

struct Snapshot {
  uint64_t version = 0;
  std::shared_ptr<const xds::resources::Bootstrap> bootstrap;
  std::vector<ListenerSnapshot> listeners;
  std::vector<std::shared_ptr<const xds::resources::Cluster>> clusters;
};

// Compiles a validated bootstrap into a snapshot (route tables built here).
base::Result<std::shared_ptr<const Snapshot>> buildSnapshot(
    std::shared_ptr<const xds::resources::Bootstrap> bootstrap, uint64_t version);

}  // namespace remora::config
