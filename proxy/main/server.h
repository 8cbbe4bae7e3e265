// Server: remora-proxy's composition root. It loads the bootstrap, builds the
// config snapshot, creates the workers and binds their listeners, serves the
// admin endpoint, and runs the main loop until SIGTERM/SIGINT or
// /quitquitquit, then drains and stops the workers in order.
//
// Main thread only; the one place where components are created and wired.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "proxy/admin/admin_server.h"
#include "proxy/config/snapshot.h"
#include "proxy/main/proxy_stats.h"
#include "proxy/main/worker.h"
#include "proxy/observability/stats_registry.h"
#include "proxy/net/dispatcher.h"
#include "proxy/net/worker_thread.h"

namespace remora::server {

struct Options {
  std::string config_path;
  uint32_t concurrency = 1;
  std::string admin_address_path;  // where to write "ip:port" of the admin endpoint once ready
  std::chrono::milliseconds drain_time{5000};
};

class Server {
 public:
  explicit Server(Options options);
  ~Server();
  // Runs until shutdown; returns the process exit code.
  int run();

 private:
  base::Status start();
  void registerAdminEndpoints();
  void beginDrain(std::string why);
  void stopWorkers();

  Options options_;
  net::Dispatcher main_;
  // Declared before the workers: their shards must outlive them.
  observability::StatsRegistry stats_;
  ProxyFamilies families_;
  std::shared_ptr<const config::Snapshot> snapshot_;
  std::string config_json_;  // the bootstrap as loaded, for /config_dump
  std::vector<std::unique_ptr<net::WorkerThread>> threads_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<net::Address> listener_addresses_;
  std::unique_ptr<admin::AdminServer> admin_;
  std::vector<net::SignalHandlerPtr> signals_;
  net::TimerPtr drain_deadline_;
  std::chrono::system_clock::time_point started_;
  observability::Gauge ready_gauge_;
  observability::Gauge draining_gauge_;
  bool ready_ = false;
  bool draining_ = false;
  size_t workers_drained_ = 0;
  int exit_code_ = 0;
};

}  // namespace remora::server
