#include "control-plane/mesh/interception_builder.h"

#include <algorithm>
#include <map>
#include <set>
#include <utility>

#include "control-plane/mesh/spec_checks.h"
#include "envoy/config/cluster/v3/cluster.pb.h"
#include "envoy/extensions/filters/listener/http_inspector/v3/http_inspector.pb.h"
#include "envoy/extensions/filters/listener/original_dst/v3/original_dst.pb.h"

namespace remora::cp::mesh {

namespace cluster = envoy::config::cluster::v3;
namespace listener = envoy::config::listener::v3;
namespace route = envoy::config::route::v3;

namespace {

constexpr int64_t kPassthroughConnectTimeoutSeconds = 5;

using AddressPort = std::pair<std::string, uint32_t>;  // canonical IP, port

// What a plan is reached at: its virtual IPs at the service port, then its
// endpoints at theirs; no duplicates, in that order.
std::vector<AddressPort> addressesOf(const PortPlan& plan) {
  std::vector<AddressPort> out;
  auto add = [&](std::string ip, uint32_t port) {
    if (ip.empty()) return;
    AddressPort key{std::move(ip), port};
    if (std::find(out.begin(), out.end(), key) == out.end()) out.push_back(std::move(key));
  };
  for (const std::string& vip : plan.addresses) add(vip, plan.port.port());
  for (const HostPlan& host : plan.hosts) add(canonicalIp(host.address), host.port);
  return out;
}

std::string serviceName(const PortPlan& plan) { return "service '" + plan.namespace_ + "/" + plan.service + "'"; }

}  // namespace

void addOriginalDstFilter(listener::Listener& out) {
  listener::ListenerFilter* filter = out.add_listener_filters();
  filter->set_name(std::string(kOriginalDstFilterName));
  filter->mutable_typed_config()->PackFrom(envoy::extensions::filters::listener::original_dst::v3::OriginalDst());
}

void addHttpInspectorFilter(listener::Listener& out) {
  listener::ListenerFilter* filter = out.add_listener_filters();
  filter->set_name(std::string(kHttpInspectorName));
  filter->mutable_typed_config()->PackFrom(envoy::extensions::filters::listener::http_inspector::v3::HttpInspector());
}

RedirectTcpPlan planRedirectTcpChains(const std::vector<PortPlan>& plans, std::vector<std::string>& warnings) {
  RedirectTcpPlan out;
  // HTTP services claim their addresses first, as an HTTP port wins over a
  // TCP one without interception: a TCP chain matching an HTTP service's
  // address would swallow its requests before the HTTP chain could see them.
  std::map<AddressPort, const PortPlan*> owner;
  std::set<uint32_t> http_ports;
  for (const PortPlan& plan : plans) {
    if (!plan.isHttp()) continue;
    for (AddressPort& key : addressesOf(plan)) {
      http_ports.insert(key.second);
      owner.emplace(std::move(key), &plan);  // HTTP against HTTP: route_builder dedupes domains
    }
  }
  std::set<uint32_t> shared;
  for (const PortPlan& plan : plans) {
    if (plan.isHttp()) continue;
    const std::string who = "TCP port " + std::to_string(plan.port.port()) + " of " + serviceName(plan);
    const std::vector<AddressPort> addresses = addressesOf(plan);
    if (addresses.empty()) {
      warnings.push_back(who + " gets no filter chain for intercepted traffic: it has no addresses and no endpoints");
      continue;
    }
    std::vector<RedirectTcpChain> chains;
    for (const AddressPort& key : addresses) {
      auto [it, inserted] = owner.emplace(key, &plan);
      if (!inserted) {
        warnings.push_back(who + ": " + authorityHost(key.first) + ":" + std::to_string(key.second) +
                           " is left out: " + serviceName(*it->second) + " already uses it");
        continue;
      }
      auto chain = std::find_if(chains.begin(), chains.end(),
                                [&](const RedirectTcpChain& c) { return c.port == key.second; });
      if (chain == chains.end()) {
        RedirectTcpChain added;
        added.plan = &plan;
        added.port = key.second;
        added.name = key.second == plan.port.port() ? plan.cluster : plan.cluster + "|" + std::to_string(key.second);
        chain = chains.insert(chains.end(), std::move(added));
      }
      chain->addresses.push_back(key.first);
    }
    for (RedirectTcpChain& chain : chains) {
      if (http_ports.contains(chain.port)) shared.insert(chain.port);
      out.chains.push_back(std::move(chain));
    }
  }
  out.shared_http_ports.assign(shared.begin(), shared.end());
  return out;
}

void setPrefixRanges(const std::vector<std::string>& addresses, listener::FilterChainMatch& match) {
  for (const std::string& address : addresses) {
    envoy::config::core::v3::CidrRange* range = match.add_prefix_ranges();
    range->set_address_prefix(address);
    range->mutable_prefix_len()->set_value(address.find(':') == std::string::npos ? 32 : 128);
  }
}

std::string authorityHost(const std::string& ip) {
  return ip.find(':') == std::string::npos ? ip : "[" + ip + "]";
}

std::vector<std::string> addressDomains(const PortPlan& plan) {
  std::vector<std::string> out;
  auto add = [&](std::string domain) {
    if (std::find(out.begin(), out.end(), domain) == out.end()) out.push_back(std::move(domain));
  };
  for (const auto& [ip, port] : addressesOf(plan)) {
    const std::string host = authorityHost(ip);
    add(host + ":" + std::to_string(port));
    if (port == 80) add(host);
  }
  return out;
}

route::VirtualHost passthroughVirtualHost(OutboundTrafficPolicy policy) {
  route::VirtualHost vhost;
  vhost.set_name(std::string(kPassthroughVirtualHost));
  vhost.add_domains("*");
  route::Route* all = vhost.add_routes();
  all->mutable_match()->set_prefix("/");
  if (policy == OutboundTrafficPolicy::kRegistryOnly) {
    all->set_name("block_all");
    all->mutable_direct_response()->set_status(502);
    all->mutable_direct_response()->mutable_body()->set_inline_string(std::string(kRegistryOnlyBody));
  } else {
    all->set_name("allow_any");
    all->mutable_route()->set_cluster(std::string(kPassthroughCluster));
    all->mutable_route()->mutable_timeout()->set_seconds(0);
  }
  return vhost;
}

void addInterceptionClusters(std::vector<google::protobuf::Any>& clusters) {
  cluster::Cluster passthrough;
  passthrough.set_name(std::string(kPassthroughCluster));
  passthrough.set_type(cluster::Cluster::ORIGINAL_DST);
  passthrough.set_lb_policy(cluster::Cluster::CLUSTER_PROVIDED);
  passthrough.mutable_connect_timeout()->set_seconds(kPassthroughConnectTimeoutSeconds);
  clusters.emplace_back().PackFrom(passthrough);

  cluster::Cluster black_hole;
  black_hole.set_name(std::string(kBlackHoleCluster));
  black_hole.set_type(cluster::Cluster::STATIC);
  clusters.emplace_back().PackFrom(black_hole);
}

}  // namespace remora::cp::mesh
