#include "control-plane/mesh/cluster_builder.h"

#include <map>
#include <tuple>

#include "envoy/config/cluster/v3/cluster.pb.h"
#include "envoy/config/endpoint/v3/endpoint.pb.h"
#include "envoy/extensions/upstreams/http/v3/http_protocol_options.pb.h"
#include "control-plane/mesh/security_builder.h"
#include "xds/resources/cluster_converter.h"

namespace remora::cp::mesh {

namespace cluster = envoy::config::cluster::v3;
namespace core = envoy::config::core::v3;
namespace endpoint = envoy::config::endpoint::v3;

namespace {

core::HealthStatus toHealth(v1::Endpoint::Health health) {
  switch (health) {
    case v1::Endpoint::UNHEALTHY: return core::UNHEALTHY;
    case v1::Endpoint::DRAINING: return core::DRAINING;
    default: return core::HEALTHY;
  }
}

void setHttp2(cluster::Cluster& out) {
  envoy::extensions::upstreams::http::v3::HttpProtocolOptions options;
  options.mutable_explicit_http_config()->mutable_http2_protocol_options();
  (*out.mutable_typed_extension_protocol_options())[std::string(xds::resources::kHttpProtocolOptionsKey)].PackFrom(
      options);
}

void applyPolicy(const PortPlan& plan, cluster::Cluster& out) {
  if (plan.policy == nullptr) return;
  const v1::TrafficPolicy& policy = *plan.policy;
  if (policy.has_connect_timeout()) *out.mutable_connect_timeout() = policy.connect_timeout();
  if (policy.has_circuit_breakers()) {
    const v1::CircuitBreakers& limits = policy.circuit_breakers();
    cluster::CircuitBreakers::Thresholds* thresholds = out.mutable_circuit_breakers()->add_thresholds();
    // 0 means "not set" in the mesh API (proto3 has no presence for scalars).
    if (limits.max_connections() != 0) thresholds->mutable_max_connections()->set_value(limits.max_connections());
    if (limits.max_pending_requests() != 0) {
      thresholds->mutable_max_pending_requests()->set_value(limits.max_pending_requests());
    }
    if (limits.max_requests() != 0) thresholds->mutable_max_requests()->set_value(limits.max_requests());
    if (limits.max_retries() != 0) thresholds->mutable_max_retries()->set_value(limits.max_retries());
  }
}

void warnUnapplied(const PortPlan& plan, std::vector<std::string>& warnings) {
  if (plan.policy == nullptr) return;
  const v1::TrafficPolicy& policy = *plan.policy;
  const std::string who = "TrafficPolicy for service '" + plan.namespace_ + "/" + plan.service + "': ";
  const auto lb = policy.load_balancer();
  if (lb != v1::TrafficPolicy::LOAD_BALANCER_UNSPECIFIED && lb != v1::TrafficPolicy::ROUND_ROBIN &&
      lb != v1::TrafficPolicy::LEAST_REQUEST && lb != v1::TrafficPolicy::RANDOM) {
    warnings.push_back(who + "load_balancer " + v1::TrafficPolicy::LoadBalancer_Name(lb) +
                       " is not applied yet (remora-proxy balances ROUND_ROBIN, LEAST_REQUEST or RANDOM)");
  }
  if (policy.has_outlier_detection()) warnings.push_back(who + "outlier_detection is not applied yet");
  if (policy.has_health_check()) warnings.push_back(who + "health_check is not applied yet");
}

google::protobuf::Any edsCluster(const PortPlan& plan, const std::string& name, const MeshSecurity& security) {
  cluster::Cluster out;
  out.set_name(name);
  addUpstreamTls(plan, security, out);
  out.set_type(cluster::Cluster::EDS);
  cluster::Cluster::EdsClusterConfig* eds = out.mutable_eds_cluster_config();
  eds->mutable_eds_config()->mutable_ads();
  eds->mutable_eds_config()->set_resource_api_version(core::V3);
  out.set_lb_policy(cluster::Cluster::ROUND_ROBIN);
  if (plan.policy != nullptr) {
    switch (plan.policy->load_balancer()) {
      case v1::TrafficPolicy::LEAST_REQUEST: out.set_lb_policy(cluster::Cluster::LEAST_REQUEST); break;
      case v1::TrafficPolicy::RANDOM: out.set_lb_policy(cluster::Cluster::RANDOM); break;
      default: break;  // ROUND_ROBIN, or one not applied yet (warned about)
    }
  }
  if (plan.isHttp2()) setHttp2(out);
  applyPolicy(plan, out);
  google::protobuf::Any any;
  any.PackFrom(out);
  return any;
}

// Hosts grouped by locality. Every group carries a load_balancing_weight
// (gRPC's xDS client drops localities without one): the sum of its hosts'
// weights, so each zone receives traffic in proportion to its capacity.
google::protobuf::Any assignment(const std::string& name, const std::vector<const HostPlan*>& hosts) {
  endpoint::ClusterLoadAssignment out;
  out.set_cluster_name(name);
  std::map<std::tuple<std::string, std::string>, std::vector<const HostPlan*>> by_locality;
  for (const HostPlan* host : hosts) {
    by_locality[{host->locality.region(), host->locality.zone()}].push_back(host);
  }
  for (const auto& [locality, members] : by_locality) {
    endpoint::LocalityLbEndpoints* group = out.add_endpoints();
    group->mutable_locality()->set_region(std::get<0>(locality));
    group->mutable_locality()->set_zone(std::get<1>(locality));
    uint32_t weight = 0;
    for (const HostPlan* host : members) {
      endpoint::LbEndpoint* lb = group->add_lb_endpoints();
      core::SocketAddress* address = lb->mutable_endpoint()->mutable_address()->mutable_socket_address();
      address->set_address(host->address);
      address->set_port_value(host->port);
      lb->set_health_status(toHealth(host->health));
      lb->mutable_load_balancing_weight()->set_value(host->weight);
      weight += host->weight;
    }
    group->mutable_load_balancing_weight()->set_value(weight);
  }
  google::protobuf::Any any;
  any.PackFrom(out);
  return any;
}

}  // namespace

void buildOutboundClusters(const std::vector<PortPlan>& plans, std::vector<google::protobuf::Any>& clusters,
                           std::vector<google::protobuf::Any>& assignments, std::vector<std::string>& warnings,
                           const MeshSecurity& security) {
  for (const PortPlan& plan : plans) {
    std::vector<const HostPlan*> all;
    for (const HostPlan& host : plan.hosts) all.push_back(&host);
    clusters.push_back(edsCluster(plan, plan.cluster, security));
    assignments.push_back(assignment(plan.cluster, all));
    for (const SubsetPlan& subset : plan.subsets) {
      std::vector<const HostPlan*> members;
      for (const HostPlan& host : plan.hosts) {
        if (hostInSubset(host, subset)) members.push_back(&host);
      }
      clusters.push_back(edsCluster(plan, subset.cluster, security));
      assignments.push_back(assignment(subset.cluster, members));
    }
    // One warning per service, not one per port.
    if (&plan == &plans.front() || plan.service != (&plan - 1)->service ||
        plan.namespace_ != (&plan - 1)->namespace_) {
      warnUnapplied(plan, warnings);
    }
  }
}

const PortPlan* planForAppPort(const std::vector<const PortPlan*>& own_ports, uint32_t app_port) {
  for (const PortPlan* plan : own_ports) {
    const uint32_t target = plan->port.target_port() != 0 ? plan->port.target_port() : plan->port.port();
    if (target == app_port) return plan;
  }
  return nullptr;
}

void buildInboundClusters(const ProxyIdentity& proxy, const std::vector<const PortPlan*>& own_ports,
                          std::vector<google::protobuf::Any>& clusters) {
  for (uint32_t app_port : proxy.app_ports) {
    cluster::Cluster out;
    out.set_name(inboundClusterName(app_port));
    out.set_type(cluster::Cluster::STATIC);
    out.set_lb_policy(cluster::Cluster::ROUND_ROBIN);
    endpoint::ClusterLoadAssignment* load = out.mutable_load_assignment();
    load->set_cluster_name(out.name());
    core::SocketAddress* address = load->add_endpoints()
                                       ->add_lb_endpoints()
                                       ->mutable_endpoint()
                                       ->mutable_address()
                                       ->mutable_socket_address();
    address->set_address(proxy.app_address);
    address->set_port_value(app_port);
    const PortPlan* plan = planForAppPort(own_ports, app_port);
    if (plan != nullptr && plan->isHttp2()) setHttp2(out);
    google::protobuf::Any any;
    any.PackFrom(out);
    clusters.push_back(std::move(any));
  }
}

}  // namespace remora::cp::mesh
