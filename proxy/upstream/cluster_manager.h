// ClusterManager and Cluster: a worker's runtime view of the upstream
// clusters in the current config: hosts, the load balancer, connection pools
// and circuit-breaker accounting.
//
// Worker-local: each worker builds its own from the shared, immutable config,
// so nothing here is locked. When a new config arrives, clusters whose config
// did not change are kept with their pools (no reconnects); changed or removed
// ones drain their connections.
#pragma once

#include <array>
#include <functional>
#include <algorithm>
#include <map>
#include <optional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/http/codec.h"
#include "proxy/net/dispatcher.h"
#include "proxy/upstream/connection_pool.h"
#include "proxy/upstream/host.h"
#include "proxy/upstream/host_selector.h"
#include "proxy/upstream/load_balancer.h"
#include "proxy/upstream/original_dst_hosts.h"
#include "proxy/upstream/outlier_detector.h"
#include "proxy/upstream/retry_budget.h"
#include "proxy/upstream/transport.h"
#include "xds/resources/model.h"

namespace remora::upstream {

using ClusterConfig = xds::resources::Cluster;
class Cluster;

// Where a worker's clusters send how each try went, for outlier detection
// on the main thread (the worker batches them).
class OutcomeSink {
 public:
  virtual ~OutcomeSink() = default;
  virtual void record(const Cluster& cluster, const Host& host, HostOutcome outcome) = 0;
};

// Health flags the main thread set per cluster and host address ("ip:port"):
// kept by the ClusterManager so rebuilt clusters and re-added hosts start
// with what the main thread decided.
using HostFlagTable = std::map<std::string, std::map<std::string, uint8_t>, std::less<>>;

// Why pickHost() found no host, as the local reply the router sends.
struct NoHostReply {
  base::Error reason = base::Error::kNoHealthyUpstream;
  uint32_t status = 0;  // 0: the reason's usual status
  std::string detail;
};

class Cluster {
 public:
  // `listeners`: this worker's listener addresses, which an ORIGINAL_DST
  // cluster refuses to dial (a redirect loop); null: no loop check.
  Cluster(net::Dispatcher& dispatcher, std::shared_ptr<const ClusterConfig> config, PoolCounters counters = {},
          const HostFlagTable* flag_table = nullptr, const LocalListeners* listeners = nullptr);
  // Sets the TLS the cluster originates (null: plain TCP), with the counters
  // its handshakes go to. New connections use it; open ones keep theirs.
  void setTls(TlsSettingsPtr tls, TlsCounters counters);
  const TlsSettingsPtr& tls() const { return tls_; }
  // Opens a connection to one of this cluster's hosts: TLS when the cluster
  // says so (see upstream::connectUpstream).
  net::ConnectionPtr connect(const net::Address& address);
  ~Cluster();

  const ClusterConfig& config() const { return *config_; }
  const std::shared_ptr<const ClusterConfig>& configPtr() const { return config_; }
  // Stable for the cluster's life: an endpoint update swaps config_, but
  // requests in flight keep views of the name (RequestRecord::cluster).
  const std::string& name() const { return name_; }
  const std::vector<std::unique_ptr<Host>>& hosts() const { return hosts_; }

  // ORIGINAL_DST: the host at context.original_destination, made on first
  // use; nullptr without one, or when it is one of our own listeners.
  Host* pickHost(const LoadBalancerContext& context) {
    return original_dst_ ? pickOriginalDst(context) : selector_->pick(context);
  }
  // Called after pickHost() returned nullptr for `context`: counts and logs
  // (debug) an ORIGINAL_DST refusal, and says what to answer.
  NoHostReply onNoHost(const LoadBalancerContext& context);
  // ORIGINAL_DST hosts made on demand (null for other clusters).
  const OriginalDstHosts* originalDstHosts() const { return original_dst_.get(); }
  // Sets or clears a health flag on the host at `address` (main thread's
  // decision, posted here); the balancers are rebuilt when it changed.
  void setHostFlag(const std::string& address, HostHealthFlag flag, bool set);
  // The pool for `host` speaking the cluster's upstream protocol (or the
  // downstream's, when the cluster says use_downstream_protocol).
  ConnectionPool& pool(Host& host, http::Protocol downstream_protocol);

  // Circuit breaker on concurrent requests: false means overflow (503).
  bool tryStartRequest();
  void finishRequest() {
    --active_requests_;
    counters_.requests_active.sub(1);
  }
  uint32_t activeRequests() const { return active_requests_; }

  // An original request started (the retry budget counts them).
  void onRequest();
  // A retry wants to start: within the retry budget (or, with the budget
  // off, under max_retries concurrent retries). False counts an overflow.
  bool tryStartRetry();
  // `n` retries of a finished request stop counting against max_retries.
  void finishRetries(uint32_t n) { active_retries_ -= std::min(n, active_retries_); }
  // How a try went, for outlier detection (a no-op without it).
  void reportOutcome(const Host& host, HostOutcome outcome) {
    if (outcome_sink_ == nullptr) return;
    // A made connection matters only when local-origin errors are split off.
    if (outcome == HostOutcome::kLocalOriginSuccess && !config_->outlier_detection->split_external_local_origin_errors) {
      return;
    }
    outcome_sink_->record(*this, host, outcome);
  }
  void setOutcomeSink(OutcomeSink* sink) { outcome_sink_ = config_->outlier_detection ? sink : nullptr; }

  PoolCounters& counters() { return counters_; }
  // Takes a config that differs from the current one in its endpoints only
  // (EDS): hosts that stay keep their pools and connections, new ones join
  // the load balancer, and removed ones leave it at once while their pools
  // drain (in-flight requests finish; idle connections close).
  void updateEndpoints(std::shared_ptr<const ClusterConfig> config);
  // Frees removed hosts whose pools have no connection left.
  void sweep();
  // Drains every pool: used when the cluster is removed or replaced.
  void drain();
  bool idle() const;

 private:
  net::Dispatcher& dispatcher_;
  std::shared_ptr<const ClusterConfig> config_;
  const std::string name_;  // config_->name; updateEndpoints never changes it
  void buildHosts(std::vector<std::unique_ptr<Host>> reusable);
  Host* pickOriginalDst(const LoadBalancerContext& context);
  // ORIGINAL_DST hosts unused for cleanup_interval leave: their pools drain
  // and sweep() frees them once idle, like hosts an EDS update removed.
  void expireOriginalDstHosts();
  void drainPools(const Host& host);

  std::vector<std::unique_ptr<Host>> hosts_;
  // Hosts removed by an endpoint update whose pools still drain.
  std::vector<std::unique_ptr<Host>> removed_hosts_;
  std::unique_ptr<HostSelector> selector_;
  std::unique_ptr<OriginalDstHosts> original_dst_;  // ORIGINAL_DST clusters only
  const LocalListeners* listeners_ = nullptr;
  // Seeds the randomised balancers: distinct per cluster and per worker, so
  // sidecars and workers do not pick in lock-step.
  uint64_t lb_seed_;
  // Per host: [0] HTTP/1.1 pool, [1] HTTP/2 pool, made on first use.
  std::map<const Host*, std::array<std::unique_ptr<ConnectionPool>, 2>> pools_;
  PoolCounters counters_;
  uint32_t active_requests_ = 0;
  uint32_t active_retries_ = 0;
  std::optional<RetryBudget> retry_budget_;
  OutcomeSink* outcome_sink_ = nullptr;
  const HostFlagTable* flag_table_ = nullptr;
  TlsSettingsPtr tls_;
  std::unique_ptr<TlsObserver> tls_observer_;
  std::unique_ptr<tls::ClientSessionCache> tls_sessions_;
};

class ClusterManager {
 public:
  // `counters_for` makes a cluster's metric handles (labelled by its name).
  using CountersFactory = std::function<PoolCounters(const std::string& cluster)>;
  using TlsCountersFactory = std::function<TlsCounters(const std::string& cluster)>;
  explicit ClusterManager(net::Dispatcher& dispatcher, CountersFactory counters_for = nullptr,
                          TlsCountersFactory tls_counters_for = nullptr)
      : dispatcher_(dispatcher), counters_for_(std::move(counters_for)), tls_counters_for_(std::move(tls_counters_for)) {}
  ~ClusterManager();

  // Replaces the cluster set. Unchanged clusters (same config object or equal
  // config) keep their pools; others are rebuilt and the old ones drain.
  // `tls`: the TLS settings of the clusters that originate TLS, by name.
  void update(const std::vector<std::shared_ptr<const ClusterConfig>>& clusters,
              const std::map<std::string, TlsSettingsPtr, std::less<>>& tls = {});
  Cluster* get(std::string_view name);
  // Outcomes of every cluster's tries go here (null: nowhere).
  void setOutcomeSink(OutcomeSink* sink);
  // The main thread's health decision for one host of one cluster; kept for
  // clusters and hosts made later.
  void setHostFlag(const std::string& cluster, const std::string& address, HostHealthFlag flag, bool set);
  // Frees replaced clusters and removed hosts once their connections are gone.
  void sweep();
  size_t drainingClusters() const { return draining_.size(); }
  const std::map<std::string, std::unique_ptr<Cluster>, std::less<>>& clusters() const { return clusters_; }
  // This worker's bound listener addresses (ActiveListener adds and removes
  // its own), for ORIGINAL_DST loop detection.
  LocalListeners& localListeners() { return local_listeners_; }

 private:
  net::Dispatcher& dispatcher_;
  CountersFactory counters_for_;
  TlsCountersFactory tls_counters_for_;
  std::map<std::string, std::unique_ptr<Cluster>, std::less<>> clusters_;
  OutcomeSink* outcome_sink_ = nullptr;
  HostFlagTable host_flags_;
  LocalListeners local_listeners_;
  // Replaced clusters whose connections still carry requests.
  std::vector<std::unique_ptr<Cluster>> draining_;
};

// Equal in everything but the endpoints: an EDS update, which keeps the
// cluster's runtime state (pools, health).
bool sameExceptEndpoints(const ClusterConfig& a, const ClusterConfig& b);

// Codec limits and pool settings for a cluster's upstream connections.
ConnectionPool::Settings poolSettingsFor(const ClusterConfig& config, http::Protocol protocol);

}  // namespace remora::upstream
