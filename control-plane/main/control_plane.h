// ControlPlane: remora-cp put together. The store holds what operators
// applied; every committed change updates the mesh (MeshState) and wakes the
// builder thread, which turns the mesh plus the sidecars' own endpoints into
// one snapshot per connected proxy (MeshSnapshots) and hands them to the
// SnapshotCache, from which the ADS streams push (debounced) only what each
// proxy's config lost or gained. A proxy that connects gets its snapshot at
// once, built on the gRPC thread that saw its first request.
//
// Threads: the caller of start()/shutdown() (main), the API server's threads
// (writes, whose store watch callbacks update the mesh), gRPC's threads
// (proxies connecting and leaving) and the builder thread owned here. Locks:
// publish_mutex_ (building and setting snapshots) before mutex_ (the mesh,
// the proxies, the sidecars) before the cache's.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "control-plane/api/api_server.h"
#include "control-plane/ca/certificate_authority.h"
#include "control-plane/ca/issued_certificates.h"
#include "control-plane/ca/token_store.h"
#include "control-plane/main/replica_coordinator.h"
#include "control-plane/main/sidecar_endpoints.h"
#include "control-plane/mesh/mesh_snapshots.h"
#include "control-plane/store/store.h"
#include "control-plane/xds/certificate_service.h"
#include "control-plane/xds/xds_metrics.h"
#include "control-plane/xds/xds_server.h"
#include "xds/server/proxy_registry.h"
#include "xds/server/snapshot_cache.h"

namespace remora::cp {

// The mesh CA and TLS on the gRPC port (docs/control-plane.md, "CA").
struct SecurityConfig {
  // Plaintext xDS, no CA, no certificate service, no mTLS in the mesh.
  bool insecure = false;
  std::string trust_domain = "cluster.local";
  std::string ca_cert, ca_key, ca_bundle;  // operator-supplied CA (else generated in <data-dir>/ca)
  std::chrono::seconds cert_ttl = std::chrono::hours(24);
  std::chrono::seconds max_cert_ttl = std::chrono::hours(72);
  // The lowest TLS version between sidecars (1.3 unless 1.2 is allowed).
  bool mesh_allow_tls12 = false;
};

// Where the objects live (--store): SQLite in the data directory, or etcd,
// which several replicas share (docs/operations.md).
struct StoreConfig {
  enum class Backend { kSqlite, kEtcd };
  Backend backend = Backend::kSqlite;
  store::etcd::EtcdOptions etcd;
  std::string etcd_prefix = "/remora/";
  // This replica's name in proxy-status and etcd (--replica-name).
  std::string replica_name;
  // How long etcd keeps a dead replica's registrations (--replica-lease-ttl).
  std::chrono::seconds lease_ttl{10};
};

struct ControlPlaneConfig {
  std::string data_dir;                         // holds remora.db (SQLite) and ca/
  StoreConfig store;
  std::string xds_address = "127.0.0.1:15010";  // "host:port"; port 0 picks one
  api::ApiOptions api;
  std::chrono::milliseconds endpoint_grace{10000};
  std::chrono::milliseconds push_debounce{100};
  SecurityConfig security;
  // Where every sidecar sends spans (--tracing-collector); off by default.
  mesh::MeshTracing tracing;
  // Where intercepted (INTERCEPTION_MODE REDIRECT) sidecars send traffic for
  // hosts outside the mesh (--outbound-traffic-policy).
  mesh::OutboundTrafficPolicy outbound_traffic_policy = mesh::OutboundTrafficPolicy::kAllowAny;
};

class ControlPlane {
 public:
  // Opens the store (creating or migrating it), loads the mesh, and serves
  // xDS and the API. Errors name what failed ("open /data/remora.db: ...",
  // "xDS address 127.0.0.1:15010: ...").
  static base::Result<std::unique_ptr<ControlPlane>> start(ControlPlaneConfig config);
  ~ControlPlane();
  ControlPlane(const ControlPlane&) = delete;
  ControlPlane& operator=(const ControlPlane&) = delete;

  uint16_t xdsPort() const { return xds_port_; }
  uint16_t apiPort() const { return api_port_; }

  // Stops the API, then xDS (streams end), then the builder. Idempotent.
  void shutdown();

  // One CA rotation step ("prepare", "activate", "finish"): the CA's new
  // state, a serving certificate from the (new) signer, the bundle file, and
  // every proxy's snapshot rebuilt with the new ROOTCA. API threads.
  base::Status rotateCa(std::string_view phase);

 private:
  explicit ControlPlane(ControlPlaneConfig config);
  base::Status load();
  base::Status openStore();
  base::Status serve();

  // The store's writer thread, after each commit.
  void onStoreChange(const store::Change& change);
  // gRPC threads.
  base::Status onNodeConnected(const envoy::config::core::v3::Node& node);
  void onNodeDisconnected(const std::string& node_id, bool left);

  // The mesh as the store holds it (for the API's reference checks).
  std::shared_ptr<const mesh::MeshState> storeState();
  void runBuilder();
  // Plans a fresh MeshSnapshots (no lock held), then sets the snapshot of
  // every connected proxy from it (publish_mutex_ held).
  void rebuild();
  // One proxy's snapshot from current_. With publish_mutex_ held.
  void publishFor(const std::string& node_id, const mesh::ProxyIdentity& identity);
  void appendMetrics(std::string& out);

  // Secure mode (ca_security.cc).
  base::Status openCa();
  // Issues remora-cp's serving certificate and writes it for gRPC's watcher.
  base::Status renewServingCertificate();
  grpc::Status authorizeNode(const xds::PeerCertificate& peer, const envoy::config::core::v3::Node& node);
  std::string trustBundlePem() const;

  ControlPlaneConfig config_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<ca::CertificateAuthority> ca_;  // null with --insecure
  std::unique_ptr<ca::TokenStore> tokens_;
  std::unique_ptr<ca::IssuedCertificates> issued_;
  std::unique_ptr<xds::CertificateService> certificate_service_;
  std::atomic<int64_t> serving_renew_at_{0};  // Unix seconds; the builder thread renews then
  std::mutex rotate_mutex_;                   // one rotation step at a time
  remora::xds::server::SnapshotCache cache_;
  remora::xds::server::ProxyRegistry registry_;
  // Before xds_server_: its streams record here until they end.
  xds::XdsMetrics xds_metrics_;
  // Steady-clock nanoseconds (0: none): the first store change the builder
  // has not picked up yet, and the change the builder is publishing now
  // (read by the streams' snapshot watches to time pushes).
  std::atomic<int64_t> first_change_ns_{0};
  std::atomic<int64_t> publishing_origin_ns_{0};
  std::unique_ptr<xds::XdsServer> xds_server_;
  std::unique_ptr<api::ApiServer> api_server_;
  uint16_t xds_port_ = 0;
  uint16_t api_port_ = 0;

  std::mutex publish_mutex_;
  std::shared_ptr<mesh::MeshSnapshots> current_;  // the last build

  std::mutex mutex_;
  std::condition_variable wake_;
  mesh::MeshState store_state_;
  std::shared_ptr<const mesh::MeshState> store_state_copy_;  // reset by every change
  struct Node {
    mesh::ProxyIdentity identity;
    int streams = 0;
    // The proxy's own warnings as last logged (its REMORA_SERVICE is missing,
    // an address its REDIRECT config leaves out): logged again only on change.
    std::vector<std::string> warnings;
  };
  std::map<std::string, Node> nodes_;  // connected proxies by node id
  // This replica's own sidecars (and their grace periods); with etcd,
  // replicas_ shares them and holds every replica's.
  SidecarEndpoints sidecars_;
  std::unique_ptr<ReplicaCoordinator> replicas_;
  bool dirty_ = false;
  bool stopping_ = false;
  std::thread builder_;

  std::atomic<uint64_t> builds_{0};
  std::atomic<uint64_t> build_errors_{0};
  std::atomic<uint64_t> rejected_nodes_{0};
  std::atomic<uint64_t> load_errors_{0};
  std::atomic<uint64_t> store_changes_{0};
  std::atomic<int64_t> last_build_micros_{0};
};

}  // namespace remora::cp
