// Worker: the state one worker thread owns — its listeners (one SO_REUSEPORT
// socket per configured listener), every connection they accept, the
// upstream clusters with their pools, and its counters.
//
// Built on the main thread before the worker's loop runs, then used only on
// the worker's thread; the main thread reaches it only by posting to its
// dispatcher.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "proxy/config/snapshot.h"
#include "proxy/main/active_listener.h"
#include "proxy/main/host_health.h"
#include "proxy/net/dispatcher.h"
#include "proxy/upstream/cluster_manager.h"

namespace remora::server {

class Worker : private upstream::OutcomeSink {
 public:
  // `stats` is this worker's shard; `families` outlives the worker.
  // `telemetry` (exporters, access logs) outlives the worker; may be null.
  Worker(net::Dispatcher& dispatcher, uint32_t index, observability::WorkerStats& stats,
         const ProxyFamilies& families, Telemetry* telemetry = nullptr);
  ~Worker();

  // Bound address per listener name, chosen by the main thread (the kernel's
  // port for port 0, see net::PortReservation).
  using ListenerAddresses = std::map<std::string, net::Address, std::less<>>;

  // Switches to `snapshot`: clusters first (so routes never name a cluster
  // that is not there yet), then listeners — added ones bind, changed ones
  // update in place (see ActiveListener), removed ones stop accepting and
  // drain. Requests in flight finish on the config they started with.
  // Returns the first bind failure; the other listeners are still applied.
  base::Status apply(std::shared_ptr<const config::Snapshot> snapshot, const ListenerAddresses& addresses);

  // Stops accepting, drains HTTP connections; `on_drained` runs (on this
  // thread) once no session is left on the drained listeners. With
  // `keep_outbound`, listeners whose traffic_direction is OUTBOUND are left
  // alone (accepting and serving normally) and their sessions are not
  // waited for: an app shutting down can still call out until the process
  // exits at the end of the drain time (docs/lifecycle.md).
  void drain(std::function<void()> on_drained, bool keep_outbound = false);
  // Closes every listener, connection and pool; runs on the worker's thread
  // after its loop stopped, so their close callbacks still run there.
  void shutdown();
  net::Dispatcher& dispatcher() { return dispatcher_; }
  // This worker's requests in flight per cluster and host (its thread only).
  HostHealth::ActiveRequests activeRequests() const;

  // Where batches of try outcomes go (the main thread's HostHealth, by a
  // post); set before the worker's loop runs.
  using OutcomeReporter = std::function<void(std::vector<OutcomeRecord> batch)>;
  void setOutcomeReporter(OutcomeReporter reporter) { reporter_ = std::move(reporter); }
  // The main thread's health decision for a host (posted here).
  void setHostFlag(const std::string& cluster, const std::string& address, upstream::HostHealthFlag flag, bool set);

 private:
  // Sessions drain() waits for: every listener's, except the outbound
  // listeners it keeps serving.
  size_t drainingSessionCount() const;
  bool keptServing(const ActiveListener& listener) const;
  // upstream::OutcomeSink: batched, sent to the main thread every few ms.
  void record(const upstream::Cluster& cluster, const upstream::Host& host, upstream::HostOutcome outcome) override;
  void flushOutcomes();
  void retire(std::unique_ptr<ActiveListener> listener);
  void sweep();

  net::Dispatcher& dispatcher_;
  uint32_t index_;
  std::shared_ptr<const config::Snapshot> snapshot_;
  router::Random random_;
  observability::WorkerStats& stats_;
  const ProxyFamilies& families_;
  Telemetry* telemetry_;
  std::unique_ptr<upstream::ClusterManager> clusters_;
  std::vector<std::unique_ptr<ActiveListener>> listeners_;
  // Removed or moved listeners whose connections are still draining.
  std::vector<std::unique_ptr<ActiveListener>> retired_;
  // Frees retired listeners, clusters and hosts once their connections end.
  net::TimerPtr sweep_timer_;
  net::TimerPtr drain_poll_;
  bool keep_outbound_ = false;  // set by drain()
  OutcomeReporter reporter_;
  std::vector<OutcomeRecord> outcomes_;
  net::TimerPtr outcome_flush_;
};

}  // namespace remora::server
