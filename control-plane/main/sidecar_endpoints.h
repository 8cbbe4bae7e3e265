// SidecarEndpoints: the endpoints sidecars register by connecting. A proxy
// whose node metadata names its service, pod IP and app ports
// (ProxyIdentity) is an endpoint of that service for as long as one of its
// ADS streams is open, and for a grace period after the last one closes, so
// a control-plane restart or a reconnect does not empty a service. The
// endpoints live in memory only: a restarted control plane learns them again
// as the sidecars reconnect. API-registered Endpoints coexist with them.
// With replicas over etcd, each replica keeps one of these for its own
// streams (the grace period) and one fed by etcd for every replica's
// registrations (ReplicaCoordinator), which is what snapshots are built from.
//
// A plain value, time passed in; the ControlPlane guards it with its lock.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "control-plane/mesh/mesh_state.h"
#include "control-plane/mesh/proxy_identity.h"

namespace remora::cp {

class SidecarEndpoints {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  explicit SidecarEndpoints(std::chrono::milliseconds grace) : grace_(grace) {}

  // `node_id` has a stream open (idempotent: the caller counts streams).
  // Returns whether the registered endpoints changed (a new sidecar, or a
  // known one with a new identity). A node that serves nothing (no service,
  // pod IP or app ports) registers nothing.
  bool connected(const std::string& node_id, const mesh::ProxyIdentity& identity);
  // The last stream of `node_id` closed: the grace period starts.
  void disconnected(const std::string& node_id, TimePoint now);
  // The sidecar said goodbye (it is shutting down): its endpoints go now,
  // with no grace period. Returns whether it was registered.
  bool left(const std::string& node_id);
  // Forgets sidecars gone for longer than the grace period; returns the node
  // ids forgotten.
  std::vector<std::string> expire(TimePoint now);
  // When expire() next has something to do.
  std::optional<TimePoint> nextExpiry() const;

  // Adds an Endpoint to `state` for each app port of each registered sidecar
  // that is the target port of a port of its Service (which must exist in
  // `state`). Their names ("sidecar:<node id>:<port>") cannot clash with an
  // API object's, which are DNS labels.
  void addTo(mesh::MeshState& state) const;

  size_t size() const { return sidecars_.size(); }
  bool has(const std::string& node_id) const { return sidecars_.count(node_id) > 0; }

 private:
  struct Sidecar {
    mesh::ProxyIdentity identity;
    std::optional<TimePoint> gone_since;  // set while in the grace period
  };

  std::chrono::milliseconds grace_;
  std::map<std::string, Sidecar> sidecars_;  // by node id
};

}  // namespace remora::cp
