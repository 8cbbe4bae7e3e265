// AdsService: the Aggregated Discovery Service on gRPC C++'s callback API.
// Each stream (StreamAggregatedResources, SotW; DeltaAggregatedResources,
// delta) gets a session from xds/server that decides what to send; this file
// only moves requests in, responses out, and snapshot changes across.
//
// Pushes are debounced: a snapshot change for a node marks its streams, and
// the pusher thread applies the newest snapshot once `debounce` has passed
// since the first unapplied change, so a burst of setSnapshot() calls becomes
// one response per type. Requests are answered at once.
//
// Threads: gRPC's callback threads (reads, write completions), the thread
// calling SnapshotCache::setSnapshot (marks only), and the pusher thread
// owned here. Each stream has its own mutex; the service has one for its set
// of streams. Owned by XdsServer; must outlive the grpc::Server's shutdown.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "control-plane/xds/peer_identity.h"
#include "control-plane/xds/xds_metrics.h"
#include "envoy/service/discovery/v3/ads.grpc.pb.h"
#include "xds/base/status.h"
#include "xds/server/proxy_registry.h"
#include "xds/server/snapshot_cache.h"

namespace remora::cp::xds {

struct AdsServiceOptions {
  // How long a snapshot change waits for more before it is pushed.
  std::chrono::milliseconds debounce{100};
  remora::xds::server::Clock clock = remora::xds::server::systemClock();
  // On a gRPC thread, when a stream's first request names its node, before
  // the stream reads the node's snapshot: the control plane builds it here
  // (and registers the sidecar's endpoints). Must not block for long. A
  // failure ends the stream with INVALID_ARGUMENT and its message.
  std::function<base::Status(const envoy::config::core::v3::Node&)> on_node_connected;
  // On a gRPC thread, when a stream whose node was named ends. `left`: the
  // client half-closed the stream and the call ended cleanly, which is how a
  // remora-proxy that is shutting down says goodbye; a broken connection or
  // a crash ends it cancelled instead.
  std::function<void(const std::string& node_id, bool left)> on_node_disconnected;
  // On a gRPC thread at a stream's first request, before on_node_connected,
  // with what the TLS handshake proved about the caller: a non-OK status
  // ends the stream with it (mTLS: the node must be who its certificate
  // says). Unset: every stream is accepted.
  std::function<grpc::Status(const PeerCertificate& peer, const envoy::config::core::v3::Node&)> authorize_node;
  // When a stream that authorize_node accepted ends.
  std::function<void(const PeerCertificate& peer, const std::string& node_id)> on_authorized_stream_done;
  // Where responses written and NACKs received are counted (not owned;
  // outlives the service). Null: nothing is counted.
  XdsMetrics* metrics = nullptr;
  // Called in a snapshot watch (the thread that set the snapshot, the cache's
  // lock held): when the change being published started (the store commit),
  // or nullopt when unknown. Responses that carry it time the push latency.
  std::function<std::optional<std::chrono::steady_clock::time_point>()> change_origin;
};

// What the pusher needs from a stream, whatever its flavour.
class PushTarget {
 public:
  virtual ~PushTarget() = default;
  // On the pusher thread, when the stream's debounce window has passed.
  virtual void applyPendingSnapshot() = 0;
};

class AdsService final : public envoy::service::discovery::v3::AggregatedDiscoveryService::CallbackService {
 public:
  AdsService(remora::xds::server::SnapshotCache& cache, remora::xds::server::ProxyRegistry& registry,
             AdsServiceOptions options);
  ~AdsService() override;
  AdsService(const AdsService&) = delete;
  AdsService& operator=(const AdsService&) = delete;

  grpc::ServerBidiReactor<envoy::service::discovery::v3::DiscoveryRequest,
                          envoy::service::discovery::v3::DiscoveryResponse>*
  StreamAggregatedResources(grpc::CallbackServerContext* context) override;
  grpc::ServerBidiReactor<envoy::service::discovery::v3::DeltaDiscoveryRequest,
                          envoy::service::discovery::v3::DeltaDiscoveryResponse>*
  DeltaAggregatedResources(grpc::CallbackServerContext* context) override;

  // Stops the pusher thread; streams still open get no more pushes.
  void stop();

  // Used by the streams (ads_service.cc).
  remora::xds::server::SnapshotCache& cache() { return cache_; }
  remora::xds::server::ProxyRegistry& registry() { return registry_; }
  const AdsServiceOptions& options() const { return options_; }
  // Any thread: the target's snapshot changed; push after the debounce window
  // unless a push is already scheduled.
  void schedulePush(PushTarget* target);
  // Called before a stream is deleted; no push reaches it afterwards.
  void forget(PushTarget* target);

 private:
  void runPusher();

  remora::xds::server::SnapshotCache& cache_;
  remora::xds::server::ProxyRegistry& registry_;
  AdsServiceOptions options_;

  std::mutex mutex_;
  std::condition_variable wake_;
  std::map<PushTarget*, std::chrono::steady_clock::time_point> due_;
  PushTarget* applying_ = nullptr;  // being pushed to outside the lock
  std::condition_variable applied_;
  bool stopping_ = false;
  std::thread pusher_;
};

}  // namespace remora::cp::xds
