#include "control-plane/mesh/listener_builder.h"

#include <set>

#include "control-plane/mesh/cluster_builder.h"
#include "control-plane/mesh/interception_builder.h"
#include "control-plane/mesh/security_builder.h"
#include "control-plane/mesh/snapshot_builder.h"
#include "envoy/config/listener/v3/listener.pb.h"
#include "envoy/config/route/v3/route.pb.h"
#include "envoy/extensions/filters/http/router/v3/router.pb.h"
#include "envoy/extensions/filters/listener/tls_inspector/v3/tls_inspector.pb.h"
#include "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.pb.h"
#include "envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.pb.h"

namespace remora::cp::mesh {

namespace core = envoy::config::core::v3;
namespace listener = envoy::config::listener::v3;
namespace hcm = envoy::extensions::filters::network::http_connection_manager::v3;
namespace route = envoy::config::route::v3;

namespace {

constexpr std::string_view kHcmFilterName = "envoy.filters.network.http_connection_manager";
constexpr std::string_view kTcpProxyFilterName = "envoy.filters.network.tcp_proxy";
constexpr std::string_view kRouterFilterName = "envoy.filters.http.router";
constexpr std::string_view kHttpRbacFilterName = "envoy.filters.http.rbac";
constexpr std::string_view kNetworkRbacFilterName = "envoy.filters.network.rbac";
constexpr std::string_view kTlsInspectorName = "envoy.filters.listener.tls_inspector";

// RBAC filters (inbound only), then the router, which is last; every filter
// carries a typed_config because gRPC's xDS client identifies filters by @type.
hcm::HttpConnectionManager connectionManager(std::string stat_prefix,
                                             const std::vector<google::protobuf::Any>& rbac = {}) {
  hcm::HttpConnectionManager manager;
  manager.set_stat_prefix(std::move(stat_prefix));
  manager.set_codec_type(hcm::HttpConnectionManager::AUTO);
  for (const google::protobuf::Any& config : rbac) {
    hcm::HttpFilter* filter = manager.add_http_filters();
    filter->set_name(std::string(kHttpRbacFilterName));
    *filter->mutable_typed_config() = config;
  }
  hcm::HttpFilter* router = manager.add_http_filters();
  router->set_name(std::string(kRouterFilterName));
  router->mutable_typed_config()->PackFrom(envoy::extensions::filters::http::router::v3::Router());
  return manager;
}

hcm::HttpConnectionManager rdsConnectionManager(std::string stat_prefix) {
  hcm::HttpConnectionManager manager = connectionManager(std::move(stat_prefix));
  hcm::Rds* rds = manager.mutable_rds();
  rds->mutable_config_source()->mutable_ads();
  rds->mutable_config_source()->set_resource_api_version(core::V3);
  rds->set_route_config_name(std::string(kOutboundRouteName));
  return manager;
}

void setHcm(listener::FilterChain& chain, const hcm::HttpConnectionManager& manager) {
  listener::Filter* filter = chain.add_filters();
  filter->set_name(std::string(kHcmFilterName));
  filter->mutable_typed_config()->PackFrom(manager);
}

void setTcpProxy(listener::FilterChain& chain, const std::string& cluster) {
  envoy::extensions::filters::network::tcp_proxy::v3::TcpProxy proxy;
  proxy.set_stat_prefix(cluster);
  proxy.set_cluster(cluster);
  listener::Filter* filter = chain.add_filters();
  filter->set_name(std::string(kTcpProxyFilterName));
  filter->mutable_typed_config()->PackFrom(proxy);
}

void setAddress(listener::Listener& out, const std::string& host, uint32_t port) {
  core::SocketAddress* address = out.mutable_address()->mutable_socket_address();
  address->set_address(host);
  address->set_port_value(port);
}

// The app's HTTP chain: every request to the local app port. Its timeout is
// off: the calling sidecar's route timeout governs the request.
listener::FilterChain inboundHttpChain(uint32_t app_port, const std::vector<google::protobuf::Any>& rbac,
                                       const ProxyIdentity& proxy, const MeshTracing& tracing) {
  const std::string cluster = inboundClusterName(app_port);
  hcm::HttpConnectionManager manager = connectionManager(cluster, rbac);
  addTracing(tracing, proxy.service, manager);
  route::RouteConfiguration* routes = manager.mutable_route_config();
  routes->set_name(cluster);
  route::VirtualHost* vhost = routes->add_virtual_hosts();
  vhost->set_name(cluster);
  vhost->add_domains("*");
  route::Route* all = vhost->add_routes();
  all->mutable_match()->set_prefix("/");
  all->mutable_route()->set_cluster(cluster);
  all->mutable_route()->mutable_timeout()->set_seconds(0);
  listener::FilterChain chain;
  setHcm(chain, manager);
  return chain;
}

google::protobuf::Any apiListener(const std::string& name) {
  listener::Listener out;
  out.set_name(name);
  out.mutable_api_listener()->mutable_api_listener()->PackFrom(rdsConnectionManager(name));
  google::protobuf::Any any;
  any.PackFrom(out);
  return any;
}

// The HCM on every outbound HTTP chain: RDS "outbound", traced when on.
void setOutboundHcm(listener::FilterChain& chain, const ProxyIdentity& proxy, const MeshTracing& tracing) {
  hcm::HttpConnectionManager manager = rdsConnectionManager(std::string(kOutboundListenerName));
  addTracing(tracing, proxy.service, manager);
  setHcm(chain, manager);
}

void setHttpProtocols(listener::FilterChainMatch& match) {
  match.add_application_protocols("http/1.1");
  match.add_application_protocols("h2c");
}

// REDIRECT mode (interception_builder.h): TCP chains by port and address,
// sniffed HTTP to the route table, everything else on to its original
// destination (or nowhere, registry-only).
google::protobuf::Any redirectOutboundListener(const std::vector<PortPlan>& plans, const ProxyIdentity& proxy,
                                               std::vector<std::string>& warnings, const MeshTracing& tracing,
                                               OutboundTrafficPolicy policy) {
  listener::Listener out;
  out.set_name(std::string(kOutboundListenerName));
  setAddress(out, proxy.outbound_host, proxy.outbound_port);
  out.set_traffic_direction(core::OUTBOUND);
  addOriginalDstFilter(out);
  addHttpInspectorFilter(out);
  const RedirectTcpPlan tcp = planRedirectTcpChains(plans, warnings);
  for (const RedirectTcpChain& planned : tcp.chains) {
    listener::FilterChain* chain = out.add_filter_chains();
    chain->set_name(planned.name);
    chain->mutable_filter_chain_match()->mutable_destination_port()->set_value(planned.port);
    setPrefixRanges(planned.addresses, *chain->mutable_filter_chain_match());
    setTcpProxy(*chain, planned.plan->cluster);
  }
  for (uint32_t port : tcp.shared_http_ports) {
    listener::FilterChain* chain = out.add_filter_chains();
    chain->set_name("http|" + std::to_string(port));
    chain->mutable_filter_chain_match()->mutable_destination_port()->set_value(port);
    setHttpProtocols(*chain->mutable_filter_chain_match());
    setOutboundHcm(*chain, proxy, tracing);
  }
  listener::FilterChain* http = out.add_filter_chains();
  http->set_name("http");
  setHttpProtocols(*http->mutable_filter_chain_match());
  setOutboundHcm(*http, proxy, tracing);
  listener::FilterChain* fallback = out.mutable_default_filter_chain();
  const bool allow_any = policy == OutboundTrafficPolicy::kAllowAny;
  fallback->set_name(allow_any ? "passthrough" : "blackhole");
  setTcpProxy(*fallback, std::string(allow_any ? kPassthroughCluster : kBlackHoleCluster));
  google::protobuf::Any any;
  any.PackFrom(out);
  return any;
}

}  // namespace

google::protobuf::Any buildOutboundListener(const std::vector<PortPlan>& plans, const ProxyIdentity& proxy,
                                            std::vector<std::string>& warnings, const MeshTracing& tracing,
                                            OutboundTrafficPolicy policy) {
  if (proxy.interception == InterceptionMode::kRedirect) {
    return redirectOutboundListener(plans, proxy, warnings, tracing, policy);
  }
  listener::Listener out;
  out.set_name(std::string(kOutboundListenerName));
  setAddress(out, proxy.outbound_host, proxy.outbound_port);
  out.set_traffic_direction(core::OUTBOUND);
  std::set<uint32_t> http_ports;
  for (const PortPlan& plan : plans) {
    if (plan.isHttp()) http_ports.insert(plan.port.port());
  }
  std::map<uint32_t, const PortPlan*> tcp_owner;
  for (const PortPlan& plan : plans) {
    if (plan.isHttp()) continue;
    const uint32_t port = plan.port.port();
    const std::string who = "TCP port " + std::to_string(port) + " of service '" + plan.namespace_ + "/" +
                            plan.service + "'";
    if (http_ports.contains(port)) {
      warnings.push_back(who + " is left out: an HTTP service uses the same port");
      continue;
    }
    auto [it, inserted] = tcp_owner.emplace(port, &plan);
    if (!inserted) {
      warnings.push_back(who + " is left out: service '" + it->second->namespace_ + "/" + it->second->service +
                         "' already uses it");
      continue;
    }
    listener::FilterChain* chain = out.add_filter_chains();
    chain->set_name(plan.cluster);
    chain->mutable_filter_chain_match()->mutable_destination_port()->set_value(port);
    setTcpProxy(*chain, plan.cluster);
  }
  listener::FilterChain* http = out.mutable_default_filter_chain();
  http->set_name("http");
  hcm::HttpConnectionManager manager = rdsConnectionManager(std::string(kOutboundListenerName));
  addTracing(tracing, proxy.service, manager);
  setHcm(*http, manager);
  google::protobuf::Any any;
  any.PackFrom(out);
  return any;
}

std::vector<google::protobuf::Any> buildInboundListener(const ProxyIdentity& proxy,
                                                        const std::vector<const PortPlan*>& own_ports,
                                                        const MeshSecurity& security,
                                                        std::vector<std::string>& warnings,
                                                        const MeshTracing& tracing) {
  if (proxy.app_ports.empty()) return {};
  listener::Listener out;
  out.set_name(std::string(kInboundListenerName));
  setAddress(out, proxy.inbound_host, proxy.inbound_port);
  out.set_traffic_direction(core::INBOUND);
  // A proxy whose service does not exist is served as STRICT: secure by default.
  v1::Service::Mtls mtls = own_ports.empty() ? v1::Service::STRICT : own_ports.front()->mtls;
  if (!security.enabled) mtls = v1::Service::DISABLE;
  for (uint32_t app_port : proxy.app_ports) {
    const PortPlan* plan = planForAppPort(own_ports, app_port);
    const bool http = plan == nullptr || plan->isHttp();
    const std::string name = inboundClusterName(app_port);
    std::vector<google::protobuf::Any> rbac = buildRbac(plan, http, security, name, warnings);
    listener::FilterChain chain;
    if (http) {
      chain = inboundHttpChain(app_port, rbac, proxy, tracing);
    } else {
      for (const google::protobuf::Any& config : rbac) {
        listener::Filter* filter = chain.add_filters();
        filter->set_name(std::string(kNetworkRbacFilterName));
        *filter->mutable_typed_config() = config;
      }
      setTcpProxy(chain, name);
    }
    chain.set_name(name);
    // Behind a capture a connection's original port is known, so only the
    // chain of that app port may take it: a fallback chain would hand a
    // connection for an undeclared port to the first app port. Without one
    // the proxy closes it and counts it (remora_listener_no_filter_chain).
    const bool first = app_port == proxy.app_ports.front() && proxy.interception != InterceptionMode::kRedirect;
    switch (mtls) {
      case v1::Service::PERMISSIVE: {
        listener::FilterChain secure = chain;
        setDownstreamTls(http, security, secure);
        secure.set_name(name + "|tls");
        chain.set_name(name + "|plaintext");
        if (first) {
          listener::FilterChain any_port = secure;
          any_port.mutable_filter_chain_match()->set_transport_protocol("tls");
          *out.add_filter_chains() = std::move(any_port);
          *out.mutable_default_filter_chain() = chain;
        }
        secure.mutable_filter_chain_match()->mutable_destination_port()->set_value(app_port);
        secure.mutable_filter_chain_match()->set_transport_protocol("tls");
        *out.add_filter_chains() = std::move(secure);
        chain.mutable_filter_chain_match()->set_transport_protocol("raw_buffer");
        break;
      }
      case v1::Service::DISABLE:
        if (first) *out.mutable_default_filter_chain() = chain;
        break;
      default:  // STRICT
        setDownstreamTls(http, security, chain);
        if (first) *out.mutable_default_filter_chain() = chain;
        break;
    }
    chain.mutable_filter_chain_match()->mutable_destination_port()->set_value(app_port);
    *out.add_filter_chains() = std::move(chain);
  }
  // First: the TLS inspector and the chains' destination_port read the
  // original destination.
  if (proxy.interception == InterceptionMode::kRedirect) addOriginalDstFilter(out);
  if (mtls == v1::Service::PERMISSIVE) {
    listener::ListenerFilter* inspector = out.add_listener_filters();
    inspector->set_name(std::string(kTlsInspectorName));
    inspector->mutable_typed_config()->PackFrom(
        envoy::extensions::filters::listener::tls_inspector::v3::TlsInspector());
  }
  google::protobuf::Any any;
  any.PackFrom(out);
  return {std::move(any)};
}

std::vector<google::protobuf::Any> buildApiListeners(const std::vector<PortPlan>& plans, const ProxyIdentity& proxy) {
  std::vector<google::protobuf::Any> out;
  for (const PortPlan& plan : plans) {
    if (!plan.isHttp()) continue;
    const std::string port = ":" + std::to_string(plan.port.port());
    const std::string fqdn = plan.service + "." + plan.namespace_ + ".svc.cluster.local";
    std::vector<std::string> names = {fqdn + port};
    if (plan.primary) names.push_back(fqdn);
    if (plan.namespace_ == proxy.namespace_) {
      names.push_back(plan.service + port);
      if (plan.primary) names.push_back(plan.service);
    }
    for (const std::string& name : names) out.push_back(apiListener(name));
  }
  return out;
}

}  // namespace remora::cp::mesh
