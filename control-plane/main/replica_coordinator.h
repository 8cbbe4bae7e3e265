// ReplicaCoordinator: what remora-cp replicas over etcd share besides the
// Store's objects: the sidecars registered as endpoints and the status of
// every connected proxy. Each replica owns the registrations of the proxies
// streaming to it and writes them under a lease of its own:
//
//   <prefix>sidecars/<node-id>            the proxy's xDS Node (protobuf bytes)
//   <prefix>proxies/<replica>/<node-id>   its ProxyStatus as JSON (proxy-status)
//
// Every replica watches <prefix>sidecars/ and builds its snapshots from all
// of them, so a sidecar is an endpoint whichever replica it streams to.
// A registration is removed only by the replica that wrote it last (a
// compare on its mod_revision): when a proxy moves to another replica, the
// new owner's write wins and the old one's late withdrawal is a no-op. A
// replica that dies stops renewing its lease and etcd drops its keys after
// the lease TTL; its proxies re-register with another replica well before.
// A clean stop deletes the proxy-status keys but leaves the registrations to
// the lease, for the same reason.
//
// etcd I/O never happens on the caller's thread: connected()/withdraw() only
// record what is wanted and wake the coordinator's thread, which writes,
// renews the lease and retries after failures (an etcd without quorum delays
// registrations, it loses none). The watch runs on the EtcdClient's thread.
// Public methods are thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "control-plane/main/sidecar_endpoints.h"
#include "control-plane/store/etcd/etcd_client.h"
#include "envoy/config/core/v3/base.pb.h"
#include "xds/base/status.h"
#include "xds/server/proxy_registry.h"

namespace remora::cp {

// One proxy's status as JSON (proxyStatusJson's object) with the replica's
// name as its first field, "replica".
std::string statusWithReplica(const xds::server::ProxyStatus& status, const std::string& replica);
// A JSON array of those.
std::string proxiesJsonWithReplica(const std::vector<xds::server::ProxyStatus>& statuses, const std::string& replica);

struct ReplicaOptions {
  std::string name;                // --replica-name
  std::string prefix = "/remora/";  // the etcd key prefix shared with the Store
  std::chrono::seconds lease_ttl{10};
  // How often proxies that connected or left are published (and failed
  // writes retried), and how often changed versions and ACKs are.
  std::chrono::milliseconds sync_interval{1000};
  std::chrono::milliseconds status_interval{5000};
};

class ReplicaCoordinator {
 public:
  // `on_sidecars_changed` runs (on the watch thread) whenever the shared
  // registrations change, so the owner rebuilds; `local_proxies` lists this
  // replica's streams for proxy-status.
  ReplicaCoordinator(store::etcd::EtcdClient& etcd, ReplicaOptions options, std::function<void()> on_sidecars_changed,
                     std::function<std::vector<xds::server::ProxyStatus>()> local_proxies);
  ~ReplicaCoordinator();
  ReplicaCoordinator(const ReplicaCoordinator&) = delete;
  ReplicaCoordinator& operator=(const ReplicaCoordinator&) = delete;

  // Grants the lease, reads every registration, then starts the watch and
  // the thread. Fails (kUnavailable) when etcd cannot be reached.
  base::Status start();
  // Deletes this replica's proxy-status keys and stops. Idempotent.
  void stop();

  // This replica now streams to `node` (registers it, or takes it over).
  void connected(const envoy::config::core::v3::Node& node);
  // Withdraws the registration this replica wrote for `node_id` (a goodbye,
  // or the end of its grace period), unless another replica has taken the
  // proxy over since.
  void withdraw(const std::string& node_id);

  // Adds every replica's registered sidecars to `state` as Endpoints.
  void addSidecarsTo(mesh::MeshState& state) const;
  size_t sidecarCount() const;

  // Every replica's proxies: a JSON array of ProxyStatus objects, each with a
  // "replica" field. kUnavailable when etcd cannot be read.
  base::Result<std::string> proxiesJson();

  void appendMetrics(std::string& out) const;

  const std::string& name() const { return options_.name; }

 private:
  struct Owned {
    std::string node_bytes;   // the Node, serialized
    int64_t revision = 0;     // of our last write of it; 0: (re)write pending
  };

  void run();
  // One pass of the thread: lease, registrations, withdrawals. Returns
  // whether something is left to retry.
  bool syncOnce();
  // The thread's (and start()'s): renews or replaces lease_.
  base::Status ensureLease();
  void publishStatus();
  void loadSidecars();
  void applyEvents(const std::vector<store::etcd::WatchEvent>& events);
  std::string sidecarKey(const std::string& node_id) const;
  std::string statusPrefix() const;

  store::etcd::EtcdClient& etcd_;
  ReplicaOptions options_;
  std::function<void()> on_sidecars_changed_;
  std::function<std::vector<xds::server::ProxyStatus>()> local_proxies_;

  // Only the thread (and start() before it) touches the lease.
  int64_t lease_ = 0;
  std::chrono::steady_clock::time_point lease_renewed_;

  std::mutex mutex_;  // guards what follows up to the thread
  std::condition_variable wake_;
  bool stopping_ = false;
  bool started_ = false;
  bool woken_ = false;  // connected()/withdraw() left work
  std::map<std::string, Owned> owned_;             // node id -> our registration
  std::map<std::string, int64_t> withdrawals_;     // node id -> the revision we wrote
  std::map<std::string, std::string> published_;   // node id -> status JSON last written, last_seen left out
  std::chrono::steady_clock::time_point next_full_status_;  // the thread's
  std::thread thread_;

  mutable std::mutex shared_mutex_;
  SidecarEndpoints shared_{std::chrono::milliseconds(0)};  // every replica's registrations
  std::unique_ptr<store::etcd::EtcdWatch> watch_;

  std::atomic<uint64_t> etcd_errors_{0};
  std::atomic<bool> healthy_{false};
};

}  // namespace remora::cp
