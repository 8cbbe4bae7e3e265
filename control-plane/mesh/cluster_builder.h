// Clusters and ClusterLoadAssignments for one proxy: an EDS cluster per
// service port and per RouteRule subset, with its assignment, and a STATIC
// "inbound|<port>" cluster per app port of the proxy itself.
//
// TrafficPolicy fields emitted today: connect_timeout, circuit_breakers.
// Not yet (remora-proxy's converters refuse them until issue 6 implements
// them; each unapplied field becomes a warning): load_balancer other than
// ROUND_ROBIN, outlier_detection, health_check. Retries go on routes.
//
// Internal to control-plane/mesh; called by buildForProxy. Pure; any thread.
#pragma once

#include <google/protobuf/any.pb.h>

#include <string>
#include <vector>

#include "control-plane/mesh/mesh_security.h"
#include "control-plane/mesh/proxy_identity.h"
#include "control-plane/mesh/service_plan.h"

namespace remora::cp::mesh {

// Outbound clusters (and their assignments) for every planned port; with
// security enabled, each cluster of a STRICT or PERMISSIVE service
// originates mTLS (security_builder.h).
void buildOutboundClusters(const std::vector<PortPlan>& plans, std::vector<google::protobuf::Any>& clusters,
                           std::vector<google::protobuf::Any>& assignments, std::vector<std::string>& warnings,
                           const MeshSecurity& security = {});

// "inbound|<port>" for each of the proxy's app ports; `own_ports` are the
// plans of the proxy's own service (may be empty), used for the protocol.
void buildInboundClusters(const ProxyIdentity& proxy, const std::vector<const PortPlan*>& own_ports,
                          std::vector<google::protobuf::Any>& clusters);

// The plan of `own_ports` whose target port is `app_port`, or nullptr.
const PortPlan* planForAppPort(const std::vector<const PortPlan*>& own_ports, uint32_t app_port);

}  // namespace remora::cp::mesh
