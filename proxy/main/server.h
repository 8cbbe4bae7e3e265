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
#include <random>
#include <string>
#include <vector>

#include "proxy/admin/admin_server.h"
#include "proxy/main/admin_handlers.h"
#include "proxy/config/ads_client.h"
#include "proxy/config/identity_client.h"
#include "proxy/config/tls_registry.h"
#include "proxy/config/xds_cache.h"
#include "proxy/config/snapshot.h"
#include "proxy/main/proxy_stats.h"
#include "proxy/main/host_health.h"
#include "proxy/main/worker.h"
#include "proxy/observability/stats_registry.h"
#include "proxy/net/dispatcher.h"
#include "proxy/net/worker_thread.h"

namespace remora::server {

struct Options {
  std::string config_path;
  // A bootstrap built in memory (--control-plane ..., flag_bootstrap.h),
  // loaded instead of config_path when set.
  std::string bootstrap_yaml;
  // --control-plane's list when it names DNS names: the ADS client resolves
  // it again after every cycle in which all its addresses failed.
  std::string control_planes;
  uint32_t concurrency = 1;
  std::string admin_address_path;  // where to write "ip:port" of the admin endpoint once ready
  // The scrape-only endpoint (/stats/prometheus and /metrics, nothing else):
  // "ip:port", empty for none; and where to write its bound "ip:port".
  std::string stats_address;
  std::string stats_address_path;
  std::chrono::milliseconds drain_time{5000};
  // A join token (a file holding it): needed when a TLS context names the
  // workload certificate (secret "default").
  std::string token_file;
};

class Server : private config::AdsClientObserver {
 public:
  explicit Server(Options options);
  ~Server();
  // Runs until shutdown; returns the process exit code.
  int run();

 private:
  base::Status start();
  // Makes `snapshot` the running config: reserves the ports of new listeners
  // (refusing the whole snapshot if one cannot be bound), then switches every
  // worker to it. Before the workers' threads start this is synchronous.
  base::Status publish(std::shared_ptr<const config::Snapshot> snapshot);
  // Registers the admin handlers (admin_handlers.h), and binds the
  // scrape-only endpoint when --stats-address asks for one.
  void registerAdminEndpoints();
  base::Status startScrapeEndpoint();
  AdminSources adminSources();
  // Writes "ip:port" to `path` (nothing when empty), for port-0 discovery.
  static base::Status writeAddressFile(const std::string& path, const net::Address& address, const char* flag);
  // Starts the ADS client when the bootstrap has dynamic_resources.
  base::Status startXds(const envoy::config::core::v3::Node& node);
  // Starts the identity client when a TLS context needs the workload
  // certificate; xDS then starts once the first certificate is installed.
  base::Status startIdentity(const envoy::config::core::v3::Node& node);
  // Serving, not draining, and (with xDS) the first config has arrived.
  bool isReady() const;
  // /ready's body: the state, and with xDS how fresh the config is.
  std::string readinessText() const;
  // Gauges that are a function of time or of the xDS state.
  void refreshGauges();
  // config::AdsClientObserver
  void onConnected(bool connected) override;
  void onStreamFailure(const std::string& why) override;
  void onResponse(std::string_view type_url, bool accepted) override;
  void onControlPlane(const net::Address& address, bool failover) override;
  // SIGTERM, SIGINT, /quitquitquit: /ready turns 503, then see
  // Worker::drain; the loop ends when the drained listeners are empty, or
  // at the drain time's end (always there when an outbound listener serves).
  void beginDrain(std::string why);
  // The running config has a listener with traffic_direction OUTBOUND.
  bool hasOutboundListener() const;
  void stopWorkers();

  Options options_;
  net::Dispatcher main_;
  // Declared before the workers: their shards must outlive them.
  observability::StatsRegistry stats_;
  // TLS material and contexts; snapshots hold its slots.
  config::TlsRegistry tls_;
  std::unique_ptr<config::IdentityClient> identity_;
  envoy::config::core::v3::Node node_;
  ProxyFamilies families_;
  // Outlier detection and active health checks (main thread).
  std::unique_ptr<HostHealth> host_health_;
  // Span exporters and access-log writers; outlives the workers.
  std::unique_ptr<Telemetry> telemetry_;
  // /clusters: the workers' requests in flight per host, summed.
  void gatherActiveRequests(std::function<void(HostHealth::ActiveRequests)> done);
  std::shared_ptr<const config::Snapshot> snapshot_;
  std::string config_json_;  // the bootstrap as loaded, for /config_dump
  std::vector<std::unique_ptr<net::WorkerThread>> threads_;
  std::vector<std::unique_ptr<Worker>> workers_;
  Worker::ListenerAddresses listener_addresses_;
  bool workers_running_ = false;
  // The newest snapshot version every worker has switched to, and the one that
  // first held a complete xDS config: ready needs the workers serving it, not
  // only the main thread having accepted it.
  uint64_t applied_version_ = 0;
  uint64_t first_complete_version_ = 0;
  std::unique_ptr<admin::AdminServer> admin_;
  std::unique_ptr<admin::AdminServer> scrape_;  // --stats-address
  std::unique_ptr<config::XdsCache> xds_cache_;
  std::unique_ptr<config::AdsClient> ads_;
  std::string control_plane_;  // the address remora_xds_control_plane_info says is current
  std::mt19937_64 random_{std::random_device{}()};
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
