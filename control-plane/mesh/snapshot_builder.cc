#include "control-plane/mesh/snapshot_builder.h"

#include "control-plane/mesh/cluster_builder.h"
#include "control-plane/mesh/interception_builder.h"
#include "control-plane/mesh/listener_builder.h"
#include "control-plane/mesh/route_builder.h"
#include "control-plane/mesh/security_builder.h"
#include "control-plane/mesh/service_plan.h"
#include "xds/resources/resource_decoder.h"

namespace remora::cp::mesh {

namespace resources = xds::resources;

const std::vector<google::protobuf::Any>& ProxyResources::of(std::string_view type_url) const {
  static const std::vector<google::protobuf::Any> kNone;
  auto it = resources.find(type_url);
  return it == resources.end() ? kNone : it->second;
}

InboundResources buildInbound(const std::vector<PortPlan>& plans, const ProxyIdentity& proxy,
                              const MeshSecurity& security, const MeshTracing& tracing) {
  InboundResources out;
  std::vector<const PortPlan*> own_ports;
  for (const PortPlan& plan : plans) {
    if (plan.service == proxy.service && plan.namespace_ == proxy.namespace_) own_ports.push_back(&plan);
  }
  out.listeners = buildInboundListener(proxy, own_ports, security, out.warnings, tracing);
  buildInboundClusters(proxy, own_ports, out.clusters);
  if (!proxy.service.empty() && own_ports.empty()) {
    out.warnings.push_back("service '" + proxy.namespace_ + "/" + proxy.service +
                           "' (REMORA_SERVICE) does not exist; its app ports are served as HTTP");
  }
  return out;
}

ProxyResources buildForProxy(const MeshState& state, const ProxyIdentity& proxy, const MeshSecurity& security,
                             const MeshTracing& tracing, OutboundTrafficPolicy policy) {
  ProxyResources out;
  const std::vector<PortPlan> plans = planServices(state);
  InboundResources inbound = buildInbound(plans, proxy, security, tracing);

  std::vector<google::protobuf::Any>& listeners = out.resources[std::string(resources::kListenerTypeUrl)];
  listeners.push_back(buildOutboundListener(plans, proxy, out.warnings, tracing, policy));
  for (google::protobuf::Any& any : inbound.listeners) listeners.push_back(std::move(any));
  if (proxy.api_listeners) {
    for (google::protobuf::Any& api : buildApiListeners(plans, proxy)) listeners.push_back(std::move(api));
  }

  out.resources[std::string(resources::kRouteConfigurationTypeUrl)].push_back(
      buildOutboundRoutes(plans, proxy, out.warnings, policy));

  std::vector<google::protobuf::Any>& clusters = out.resources[std::string(resources::kClusterTypeUrl)];
  std::vector<google::protobuf::Any>& assignments =
      out.resources[std::string(resources::kClusterLoadAssignmentTypeUrl)];
  buildOutboundClusters(plans, clusters, security);
  addTracingCollectorCluster(tracing, clusters);
  buildOutboundAssignments(plans, CallerLocality{proxy.region, proxy.zone}, assignments);
  if (proxy.interception == InterceptionMode::kRedirect) addInterceptionClusters(clusters);
  for (google::protobuf::Any& any : inbound.clusters) clusters.push_back(std::move(any));
  out.warnings.insert(out.warnings.end(), inbound.warnings.begin(), inbound.warnings.end());
  if (security.enabled) out.resources[std::string(resources::kSecretTypeUrl)].push_back(rootCaSecret(security));
  return out;
}

}  // namespace remora::cp::mesh
