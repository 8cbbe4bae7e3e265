#include "control-plane/mesh/cluster_builder.h"

#include <iterator>
#include <map>
#include <set>
#include <tuple>

#include "envoy/config/cluster/v3/cluster.pb.h"
#include "envoy/config/endpoint/v3/endpoint.pb.h"
#include "envoy/extensions/upstreams/http/v3/http_protocol_options.pb.h"
#include "control-plane/mesh/security_builder.h"
#include "control-plane/mesh/traffic_policy_builder.h"
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

google::protobuf::Any edsCluster(const PortPlan& plan, const std::string& name, const MeshSecurity& security) {
  cluster::Cluster out;
  out.set_name(name);
  addUpstreamTls(plan, security, out);
  out.set_type(cluster::Cluster::EDS);
  cluster::Cluster::EdsClusterConfig* eds = out.mutable_eds_cluster_config();
  eds->mutable_eds_config()->mutable_ads();
  eds->mutable_eds_config()->set_resource_api_version(core::V3);
  if (plan.isHttp2()) setHttp2(out);
  applyClusterPolicy(plan.policy, plan.isHttp2(), out);
  google::protobuf::Any any;
  any.PackFrom(out);
  return any;
}

// Istio's failover rule: the caller's own zone first, then its region, then
// everything else. A caller without a locality ranks nothing.
uint32_t localityRank(const v1::Locality& host, const CallerLocality& caller) {
  if (caller.region.empty() && caller.zone.empty()) return 0;
  if (host.region() != caller.region) return 2;
  return host.zone() == caller.zone ? 0 : 1;
}

// Hosts grouped by locality. Every group carries a load_balancing_weight
// (gRPC's xDS client drops localities without one): the sum of its hosts'
// weights, so each zone receives traffic in proportion to its capacity.
// Priorities are the ranks in use, renumbered from 0 without gaps, so a
// caller whose zone has no host still starts at priority 0.
google::protobuf::Any assignment(const std::string& name, const std::vector<const HostPlan*>& hosts,
                                 const CallerLocality& caller) {
  endpoint::ClusterLoadAssignment out;
  out.set_cluster_name(name);
  std::map<std::tuple<std::string, std::string>, std::vector<const HostPlan*>> by_locality;
  for (const HostPlan* host : hosts) {
    by_locality[{host->locality.region(), host->locality.zone()}].push_back(host);
  }
  std::set<uint32_t> ranks;
  for (const auto& [locality, members] : by_locality) ranks.insert(localityRank(members.front()->locality, caller));
  for (const auto& [locality, members] : by_locality) {
    endpoint::LocalityLbEndpoints* group = out.add_endpoints();
    group->mutable_locality()->set_region(std::get<0>(locality));
    group->mutable_locality()->set_zone(std::get<1>(locality));
    const uint32_t rank = localityRank(members.front()->locality, caller);
    group->set_priority(static_cast<uint32_t>(std::distance(ranks.begin(), ranks.find(rank))));
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
                           const MeshSecurity& security) {
  for (const PortPlan& plan : plans) {
    clusters.push_back(edsCluster(plan, plan.cluster, security));
    for (const SubsetPlan& subset : plan.subsets) clusters.push_back(edsCluster(plan, subset.cluster, security));
  }
}

void buildOutboundAssignments(const std::vector<PortPlan>& plans, const CallerLocality& caller,
                              std::vector<google::protobuf::Any>& assignments) {
  for (const PortPlan& plan : plans) {
    std::vector<const HostPlan*> all;
    for (const HostPlan& host : plan.hosts) all.push_back(&host);
    assignments.push_back(assignment(plan.cluster, all, caller));
    for (const SubsetPlan& subset : plan.subsets) {
      std::vector<const HostPlan*> members;
      for (const HostPlan& host : plan.hosts) {
        if (hostInSubset(host, subset)) members.push_back(&host);
      }
      assignments.push_back(assignment(subset.cluster, members, caller));
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
