// MeshSnapshots: the ResourceSnapshot of every proxy, from one MeshState,
// built for a thousand proxies without building a thousand meshes. What every
// proxy shares (the outbound listener, every outbound cluster) is built once;
// the endpoints once per caller locality (their priorities depend on it);
// (with OTLP tracing, once per service, which names the spans' service);
// what a namespace shares (the route table's short
// host names, the API listeners) once per namespace; what INTERCEPTION_MODE
// REDIRECT changes (the outbound listener, the route table) once per mode;
// only the inbound listener and clusters are a proxy's own. Each piece is a ResourcePart,
// interned by content: a proxy whose config did not change gets the very
// same parts as before, which the xDS sessions skip without hashing them.
//
// The same resources as buildForProxy (snapshot_builder.h), which stays the
// readable reference and what the builder's unit tests pin down.
//
// Thread-safe: the control plane's builder thread makes one per mesh change
// and gRPC threads ask it for a newly connected proxy's snapshot.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "control-plane/mesh/cluster_builder.h"
#include "control-plane/mesh/interception_builder.h"
#include "control-plane/mesh/mesh_security.h"
#include "control-plane/mesh/mesh_state.h"
#include "control-plane/mesh/proxy_identity.h"
#include "control-plane/mesh/service_plan.h"
#include "control-plane/mesh/tracing_builder.h"
#include "xds/server/resource_snapshot.h"

namespace remora::cp::mesh {

struct ProxySnapshot {
  std::shared_ptr<const xds::server::ResourceSnapshot> snapshot;
  // This proxy's own warnings (e.g. its REMORA_SERVICE does not exist).
  std::vector<std::string> warnings;
};

class MeshSnapshots {
 public:
  // Plans `state`. Parts equal to one of `previous`'s (may be null) are
  // taken from it. `security` (mTLS, trust domain, roots), `tracing` (the
  // span collector) and `policy` (--outbound-traffic-policy, for REDIRECT
  // proxies) apply to every proxy; a change means a new MeshSnapshots.
  MeshSnapshots(std::shared_ptr<const MeshState> state, const MeshSnapshots* previous,
                MeshSecurity security = {}, MeshTracing tracing = {},
                OutboundTrafficPolicy policy = OutboundTrafficPolicy::kAllowAny);
  MeshSnapshots(const MeshSnapshots&) = delete;
  MeshSnapshots& operator=(const MeshSnapshots&) = delete;

  // Fails only when two resources of one type share a name (a service named
  // like a listener, say); the caller keeps the proxy's last snapshot.
  base::Result<ProxySnapshot> forProxy(const ProxyIdentity& proxy);

  // Warnings about the mesh as a whole (a TCP port two services use, ...);
  // those only REDIRECT proxies' config shows are in their ProxySnapshot.
  const std::vector<std::string>& warnings() const { return warnings_; }
  const MeshState& state() const { return *state_; }
  const MeshSecurity& security() const { return security_; }
  const MeshTracing& tracing() const { return tracing_; }
  OutboundTrafficPolicy outboundTrafficPolicy() const { return policy_; }

 private:
  using Part = xds::server::ResourcePartPtr;

  // A part with this one's contents from this build or the previous one, or
  // this one. With mutex_ held.
  Part intern(Part part);
  base::Result<Part> makeInterned(std::string_view type_url, std::vector<google::protobuf::Any> bodies);

  std::shared_ptr<const MeshState> state_;
  MeshSecurity security_;
  MeshTracing tracing_;
  OutboundTrafficPolicy policy_;
  std::vector<PortPlan> plans_;
  std::vector<std::string> warnings_;

  mutable std::mutex mutex_;
  struct ListenerPart {
    Part part;
    std::vector<std::string> warnings;  // for the proxies that get it (REDIRECT only)
  };
  ListenerPart outbound_listener_;  // at the default address, NONE, no service named
  // At the default address, for a proxy of this interception mode and (when
  // the listener names it: OTLP tracing) service; built on first use. With
  // mutex_ held.
  base::Result<const ListenerPart*> outboundListenerFor(const ProxyIdentity& proxy);
  std::map<std::pair<InterceptionMode, std::string>, ListenerPart> outbound_by_kind_;
  Part clusters_;
  Part interception_clusters_;  // PassthroughCluster, BlackHoleCluster: REDIRECT proxies only
  // Endpoint priorities depend on the caller's locality: one part per
  // (region, zone) callers have, built on first use. With mutex_ held.
  base::Result<Part> assignmentsFor(const ProxyIdentity& proxy);
  std::map<CallerLocality, Part> assignments_;
  Part secrets_;  // ROOTCA; null when security is disabled
  struct NamespaceParts {
    Part routes;
    Part api_listeners;
    std::vector<std::string> warnings;
  };
  // The namespace's routes and API listeners. With mutex_ held.
  base::Result<const NamespaceParts*> namespaceParts(const ProxyIdentity& proxy);
  std::map<std::string, NamespaceParts> by_namespace_;  // by namespace (and whether with API listeners)
  std::map<std::string, Part> interned_;                       // by hash
  std::map<std::string, Part> previous_;                       // the last build's, by hash
};

}  // namespace remora::cp::mesh
