// The pieces of config a sidecar gets when iptables captures its pod's
// traffic (node metadata INTERCEPTION_MODE: REDIRECT, proxy_identity.h):
// connections then arrive at :15001 / :15006 with their original destination
// hidden, so both listeners carry the original_dst listener filter, the
// outbound listener matches on destination IPs (the services' virtual IPs
// and endpoint IPs) as well as ports, the route table answers to
// "<ip>:<port>" authorities, and whatever matches no service goes to
// "PassthroughCluster" (ORIGINAL_DST: on to where the app dialled) or, under
// --outbound-traffic-policy registry-only, to "BlackHoleCluster" / a 502.
// listener_builder.h, route_builder.h and cluster_builder.h assemble them;
// in NONE mode none of this is emitted.
//
// Internal to control-plane/mesh, except OutboundTrafficPolicy, which
// remora-cp's flags set. Pure; any thread.
#pragma once

#include <google/protobuf/any.pb.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "control-plane/mesh/service_plan.h"
#include "envoy/config/listener/v3/listener.pb.h"
#include "envoy/config/route/v3/route.pb.h"

namespace remora::cp::mesh {

// Where an intercepted connection or request that names no service of the
// mesh goes (Istio's outboundTrafficPolicy): on to its original destination
// (kAllowAny, the default), or nowhere (kRegistryOnly). Mesh-wide.
enum class OutboundTrafficPolicy { kAllowAny, kRegistryOnly };

inline constexpr std::string_view kPassthroughCluster = "PassthroughCluster";
inline constexpr std::string_view kBlackHoleCluster = "BlackHoleCluster";
inline constexpr std::string_view kOriginalDstFilterName = "envoy.filters.listener.original_dst";
inline constexpr std::string_view kHttpInspectorName = "envoy.filters.listener.http_inspector";
inline constexpr std::string_view kPassthroughVirtualHost = "passthrough";
// The body of registry-only's 502: the proxy sends it as is, so it cannot
// name the host; x-remora-error and the access log do.
inline constexpr std::string_view kRegistryOnlyBody =
    "remora: the requested host is not a service in the mesh registry; "
    "the mesh's outbound traffic policy is registry-only\n";

// Appends the original_dst listener filter (it must run before any filter
// that reads the destination, so callers add it first).
void addOriginalDstFilter(envoy::config::listener::v3::Listener& listener);
void addHttpInspectorFilter(envoy::config::listener::v3::Listener& listener);

// One outbound TCP filter chain: connections to `port` on one of `addresses`
// (canonical IP literals, each matched as a /32 or /128) go to `plan`'s cluster.
struct RedirectTcpChain {
  const PortPlan* plan = nullptr;
  std::string name;
  uint32_t port = 0;
  std::vector<std::string> addresses;
};

struct RedirectTcpPlan {
  std::vector<RedirectTcpChain> chains;
  // Ports some TCP chain matches on that HTTP services also use (as a
  // service port or an endpoint's port): each needs an HTTP chain of its
  // own, because once a port has chains, connections to it never fall back
  // to the port-less HTTP chain (Envoy's matching order).
  std::vector<uint32_t> shared_http_ports;
};

// The TCP chains of every TCP service port: its virtual IPs at the service
// port, its endpoints' IPs at their ports (a target port other than the
// service port makes a second chain, named "<cluster>|<port>"). An
// address:port an HTTP service already uses, or an earlier TCP service (by
// namespace/name), is left out with a warning; a TCP port with no address
// at all gets no chain, with a warning.
RedirectTcpPlan planRedirectTcpChains(const std::vector<PortPlan>& plans, std::vector<std::string>& warnings);

// Sets prefix_ranges to one host-length range per address.
void setPrefixRanges(const std::vector<std::string>& addresses,
                     envoy::config::listener::v3::FilterChainMatch& match);

// An IP as the host of an HTTP authority: IPv6 in brackets.
std::string authorityHost(const std::string& ip);

// The authorities an HTTP port plan answers to by address: "<vip>:<port>"
// for each virtual IP, "<endpoint ip>:<endpoint port>" for each endpoint,
// and the bare IP where that port is 80 (HTTP clients leave the default
// port out of Host). Canonical, without duplicates, in that order.
std::vector<std::string> addressDomains(const PortPlan& plan);

// The last virtual host, domains ["*"]: allow-any routes everything to
// PassthroughCluster with no timeout (the app's own peer sets the pace);
// registry-only answers with route "block_all", a direct 502.
envoy::config::route::v3::VirtualHost passthroughVirtualHost(OutboundTrafficPolicy policy);

// Appends PassthroughCluster (ORIGINAL_DST, CLUSTER_PROVIDED, 5 s connect
// timeout, plaintext: the destination is outside the mesh) and
// BlackHoleCluster (STATIC, no endpoints: every connection fails at once).
void addInterceptionClusters(std::vector<google::protobuf::Any>& clusters);

}  // namespace remora::cp::mesh
