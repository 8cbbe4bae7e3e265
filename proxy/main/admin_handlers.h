// The admin endpoint's handlers (/ready, /live, /listeners, /clusters,
// /config_dump, /explain, /logging, /stats, /stats/prometheus,
// /quitquitquit), and the scrape-only endpoint's two (/stats/prometheus,
// /metrics). Server builds an AdminSources that reads its own state and calls
// registerAdminHandlers() once; keeping the handlers here keeps Server about
// composition.
//
// Main thread only: every handler runs on the main loop, where the snapshot,
// HostHealth and the xDS state live.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "proxy/admin/admin_server.h"
#include "proxy/config/snapshot.h"
#include "proxy/main/host_health.h"
#include "proxy/main/worker.h"
#include "proxy/observability/stats_registry.h"

namespace remora::server {

// What the handlers read and do, each a view of Server's main-thread state.
// Every function is called on the main thread, at request time.
struct AdminSources {
  std::function<std::shared_ptr<const config::Snapshot>()> snapshot;
  std::function<const Worker::ListenerAddresses&()> listener_addresses;
  std::function<const HostHealth*()> host_health;  // may return null
  std::function<bool()> ready;
  std::function<std::string()> readiness_text;
  std::function<std::string()> config_dump;
  // Refreshes the time- and xDS-derived gauges before a scrape.
  std::function<void()> refresh_gauges;
  // Starts the drain after /quitquitquit has answered.
  std::function<void()> quit;
  observability::StatsRegistry* stats = nullptr;
  // Asks every worker for its hosts' requests in flight and calls back (on
  // the main thread) with the sums; unset: /clusters has no per-host counts.
  std::function<void(std::function<void(HostHealth::ActiveRequests)>)> gather_active_requests;
};

void registerAdminHandlers(admin::AdminServer& admin, AdminSources sources);

// The scrape-only endpoint (--stats-address): /stats/prometheus and /metrics
// serve the same text; every other path is 404.
void registerScrapeHandlers(admin::AdminServer& scrape, AdminSources sources);

// /logging's parsing, shared with its tests: the spdlog level for a name
// (trace, debug, info, warn|warning, error|err, critical, off), or
// kInvalidArgument naming the accepted values.
base::Result<int> parseLogLevel(std::string_view name);

}  // namespace remora::server
