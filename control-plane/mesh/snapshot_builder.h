// buildForProxy: the mesh (MeshState) -> the xDS resources one proxy gets,
// per type URL, as plain Envoy v3 resources packed in Any (never wrapped in
// envoy.service.discovery.v3.Resource). Everything it emits passes the
// proxy's own validation (xds::resources::decodeResource).
//
// What a proxy gets today: its inbound listener (when it has app ports),
// the outbound listener, routes and clusters for *every* service in the
// mesh, and API listeners for gRPC's proxyless clients. "Only what that
// proxy needs" is therefore "everything it could call"; narrowing it to a
// declared dependency list is a later step (TODO(mesh-scope)).
//
// Resource names (stable: remoractl proxy-status and dashboards show them):
//   Listener "outbound"  0.0.0.0:15001  HTTP: HCM with RDS "outbound" (default
//                        filter chain); TCP service ports: one TCP proxy filter
//                        chain per port, matched on the original destination port.
//   Listener "inbound"   0.0.0.0:15006  one filter chain per APP_PORTS entry,
//                        matched on destination port, to cluster "inbound|<port>";
//                        the first app port is also the default chain, so an
//                        explicit (non-intercepted) connection to :15006 reaches it.
//   RouteConfiguration "outbound": one virtual host "<name>.<ns>:<port>" per
//                        HTTP service port (see route_builder.h for domains).
//   Cluster "outbound|<port>||<name>.<ns>" (EDS) per service port, and
//           "outbound|<port>|<subset>|<name>.<ns>" per subset a RouteRule splits to;
//   Cluster "inbound|<app port>" (STATIC 127.0.0.1:<app port>).
//   ClusterLoadAssignment per EDS cluster, endpoints grouped by (region, zone),
//           priority 0 in the proxy's zone, 1 in its region, 2 elsewhere.
//   API listeners (no address) for gRPC xds:/// targets: see listener_builder.h.
//   Secret "ROOTCA" (security enabled only): the mesh's trust bundle.
//   Cluster "remora-tracing-collector" (tracing enabled only; STATIC): where
//           the sidecars' HTTP connection managers send spans (tracing_builder.h).
// A proxy with INTERCEPTION_MODE REDIRECT gets other listener and route
// shapes (listener_builder.h, route_builder.h) and two more clusters,
// "PassthroughCluster" and "BlackHoleCluster" (interception_builder.h).
//
// Pure function of its inputs; any thread. The result owns its Anys.
#pragma once

#include <google/protobuf/any.pb.h>

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "control-plane/mesh/interception_builder.h"
#include "control-plane/mesh/mesh_security.h"
#include "control-plane/mesh/mesh_state.h"
#include "control-plane/mesh/proxy_identity.h"
#include "control-plane/mesh/service_plan.h"
#include "control-plane/mesh/tracing_builder.h"

namespace remora::cp::mesh {

inline constexpr std::string_view kOutboundListenerName = "outbound";
inline constexpr std::string_view kInboundListenerName = "inbound";
inline constexpr std::string_view kOutboundRouteName = "outbound";
inline constexpr uint32_t kOutboundPort = 15001;
inline constexpr uint32_t kInboundPort = 15006;

struct ProxyResources {
  // Type URL -> resources of that type, in an order that depends only on
  // the inputs (a rebuild of the same mesh is byte-identical).
  std::map<std::string, std::vector<google::protobuf::Any>, std::less<>> resources;
  // What was left out and why ("TCP port 5432 of 'db/pg' is also used by ..."),
  // for proxy-status and logs; never fatal.
  std::vector<std::string> warnings;

  // The resources of one type (empty when none).
  const std::vector<google::protobuf::Any>& of(std::string_view type_url) const;
};

// With security enabled, also TLS, RBAC and Secret "ROOTCA" (see
// mesh_security.h and security_builder.h); disabled, none of them. With
// tracing enabled, the tracing blocks and the collector's cluster. `policy`
// (--outbound-traffic-policy) shapes what REDIRECT proxies do with traffic
// to anything outside the mesh.
ProxyResources buildForProxy(const MeshState& state, const ProxyIdentity& proxy, const MeshSecurity& security = {},
                             const MeshTracing& tracing = {},
                             OutboundTrafficPolicy policy = OutboundTrafficPolicy::kAllowAny);

// What is the proxy's own, shared by buildForProxy and MeshSnapshots: its
// inbound listener, its "inbound|<port>" clusters, and a warning when its
// REMORA_SERVICE does not exist.
struct InboundResources {
  std::vector<google::protobuf::Any> listeners;
  std::vector<google::protobuf::Any> clusters;
  std::vector<std::string> warnings;
};
InboundResources buildInbound(const std::vector<PortPlan>& plans, const ProxyIdentity& proxy,
                              const MeshSecurity& security = {}, const MeshTracing& tracing = {});

}  // namespace remora::cp::mesh
