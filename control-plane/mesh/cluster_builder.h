// Clusters and ClusterLoadAssignments for one proxy: an EDS cluster per
// service port and per RouteRule subset, with its assignment, and a STATIC
// "inbound|<port>" cluster per app port of the proxy itself.
//
// The service's TrafficPolicy (with the mesh's defaults) shapes every
// outbound cluster: see traffic_policy_builder.h. Retries and timeouts go on
// routes (route_builder.h). Assignments depend on the caller's locality:
// endpoints in its zone get priority 0, the rest of its region 1, other
// regions 2 (renumbered without gaps).
//
// Internal to control-plane/mesh; called by buildForProxy and MeshSnapshots.
// Pure; any thread.
#pragma once

#include <google/protobuf/any.pb.h>

#include <string>
#include <vector>

#include "control-plane/mesh/mesh_security.h"
#include "control-plane/mesh/proxy_identity.h"
#include "control-plane/mesh/service_plan.h"

namespace remora::cp::mesh {

// Outbound clusters for every planned port; with security enabled, each
// cluster of a STRICT or PERMISSIVE service originates mTLS (security_builder.h).
void buildOutboundClusters(const std::vector<PortPlan>& plans, std::vector<google::protobuf::Any>& clusters,
                           const MeshSecurity& security = {});

// Where the caller runs (its bootstrap's node.locality); empty: unknown, and
// every endpoint gets priority 0.
struct CallerLocality {
  std::string region;
  std::string zone;
  auto operator<=>(const CallerLocality&) const = default;
};

// One ClusterLoadAssignment per outbound cluster, in the same order, with
// priorities ranked for `caller`.
void buildOutboundAssignments(const std::vector<PortPlan>& plans, const CallerLocality& caller,
                              std::vector<google::protobuf::Any>& assignments);

// "inbound|<port>" for each of the proxy's app ports; `own_ports` are the
// plans of the proxy's own service (may be empty), used for the protocol.
void buildInboundClusters(const ProxyIdentity& proxy, const std::vector<const PortPlan*>& own_ports,
                          std::vector<google::protobuf::Any>& clusters);

// The plan of `own_ports` whose target port is `app_port`, or nullptr.
const PortPlan* planForAppPort(const std::vector<const PortPlan*>& own_ports, uint32_t app_port);

}  // namespace remora::cp::mesh
