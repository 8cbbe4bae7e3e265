// ServicePlan: the mesh, flattened per service port into what the xDS
// builders need — cluster names, resolved endpoint addresses, the subsets
// RouteRules ask for, the TrafficPolicy and RouteRules that apply. Computing
// it once keeps the listener, route and cluster builders consistent about
// names (a route naming a cluster the CDS response lacks is a NACK).
//
// Internal to control-plane/mesh. Plain values pointing into the MeshState
// they were planned from (which must outlive them); pure, any thread.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "control-plane/mesh/mesh_state.h"

namespace remora::cp::mesh {

// "outbound|<port>|<subset>|<name>.<namespace>", Istio's shape, so operators
// who know it can read /clusters; subset is empty for the whole service.
std::string outboundClusterName(uint32_t port, std::string_view subset, std::string_view name,
                                std::string_view namespace_);
// "inbound|<app port>".
std::string inboundClusterName(uint32_t app_port);

struct HostPlan {
  std::string address;
  uint32_t port = 0;
  uint32_t weight = 1;
  v1::Endpoint::Health health = v1::Endpoint::HEALTHY;
  v1::Locality locality;
  const google::protobuf::Map<std::string, std::string>* labels = nullptr;
};

// The endpoints whose labels include `labels`.
struct SubsetPlan {
  std::string name;  // "v2", or "k=v,k2=v2" (sorted) for a label set
  std::map<std::string, std::string> labels;
  std::string cluster;
};

// An AuthorizationPolicy naming the service, with its name (for RBAC policy
// names and metrics).
struct AuthorizationPlan {
  std::string name;
  const v1::AuthorizationPolicy* spec = nullptr;
};

struct PortPlan {
  std::string service;
  std::string namespace_;
  v1::ServicePort port;
  // The service's virtual IPs (Service.addresses), canonical (canonicalIp).
  std::vector<std::string> addresses;
  bool primary = false;  // the service's first HTTP port: owns the port-less host names
  std::string cluster;
  std::vector<HostPlan> hosts;
  std::vector<SubsetPlan> subsets;
  const v1::TrafficPolicy* policy = nullptr;  // the first by name when several name this service
  std::vector<const v1::RouteRule*> rules;    // in name order
  v1::Service::Mtls mtls = v1::Service::STRICT;  // resolved: UNSPECIFIED is STRICT
  std::vector<std::string> service_accounts;      // resolved: [service] when the spec lists none
  std::vector<AuthorizationPlan> authorization;   // in name order

  bool isHttp() const { return port.protocol() != v1::ServicePort::TCP; }
  bool isHttp2() const {
    return port.protocol() == v1::ServicePort::HTTP2 || port.protocol() == v1::ServicePort::GRPC;
  }
  // The subset a split selects, or nullptr for a split over the whole service.
  const SubsetPlan* subsetFor(const v1::Split& split) const;
};

// Every port of every service, ordered by namespace, name, then the order of
// the service's ports.
std::vector<PortPlan> planServices(const MeshState& state);

// Whether `host`'s labels include every label of `subset`.
bool hostInSubset(const HostPlan& host, const SubsetPlan& subset);

// A split's subset name and labels (empty for the whole service).
std::string subsetName(const v1::Split& split);
std::map<std::string, std::string> subsetLabels(const v1::Split& split);

}  // namespace remora::cp::mesh
