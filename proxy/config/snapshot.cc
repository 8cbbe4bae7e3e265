#include "proxy/config/snapshot.h"

#include <variant>

#include "proxy/config/tls_registry.h"

namespace remora::config {

namespace {
base::Result<std::shared_ptr<const router::RouteTable>> routesFor(const xds::resources::FilterChain& chain,
                                                                  const std::string& where) {
  const auto* hcm = std::get_if<xds::resources::HttpConnectionManager>(&chain.filter);
  if (hcm == nullptr) return std::shared_ptr<const router::RouteTable>();
  if (!hcm->route_config) {
    return base::fail(base::Error::kUnsupported, where + ".rds: routes by RDS need the xDS client");
  }
  auto table = router::RouteTable::build(*hcm->route_config);
  if (!table) return base::fail(table.error().code, where + ".route_config: " + table.error().message);
  return *table;
}
}  // namespace

base::Status attachSecurity(Snapshot& snap, TlsRegistry* tls) {
  using Compiled = std::shared_ptr<const security::Authorizer>;
  auto compile = [](const std::vector<xds::resources::Rbac>& rbac, const std::string& where) -> base::Result<Compiled> {
    if (rbac.empty()) return Compiled();
    auto a = security::Authorizer::compile(rbac);
    if (!a) return base::fail(a.error().code, where + ": " + a.error().message);
    return Compiled(std::make_shared<const security::Authorizer>(std::move(*a)));
  };
  for (auto& ls : snap.listeners) {
    const auto& l = *ls.config;
    ls.chain_tls.clear();
    ls.network_authz.clear();
    ls.http_authz.clear();
    const size_t count = l.filter_chains.size() + (l.default_filter_chain ? 1 : 0);
    for (size_t i = 0; i < count; ++i) {
      const auto& chain = i < l.filter_chains.size() ? l.filter_chains[i] : *l.default_filter_chain;
      const std::string where = "listener '" + l.name + "' chain " + std::to_string(i);
      upstream::TlsSettingsPtr settings;
      if (chain.tls && tls != nullptr) {
        auto s = tls->forDownstream(*chain.tls);
        if (!s) return base::fail(s.error().code, where + " transport_socket: " + s.error().message);
        settings = *s;
      }
      ls.chain_tls.push_back(std::move(settings));
      auto network = compile(chain.network_rbac, where + " network RBAC");
      if (!network) return network.error();
      ls.network_authz.push_back(*network);
      const auto* hcm = std::get_if<xds::resources::HttpConnectionManager>(&chain.filter);
      auto http = compile(hcm != nullptr ? hcm->rbac : std::vector<xds::resources::Rbac>{}, where + " HTTP RBAC");
      if (!http) return http.error();
      ls.http_authz.push_back(*http);
    }
  }
  snap.cluster_tls.clear();
  for (const auto& c : snap.clusters) {
    if (!c->tls || tls == nullptr) continue;
    // ALPN offers only what the cluster's codec speaks: a server that picked
    // h2 for a cluster that speaks HTTP/1.1 would get bytes it cannot read.
    xds::resources::UpstreamTls upstream = *c->tls;
    using Protocol = xds::resources::Cluster::UpstreamProtocol;
    if (!upstream.alpn.empty() && c->protocol != Protocol::kUseDownstream) {
      const std::string_view speaks = c->protocol == Protocol::kHttp2 ? "h2" : "http/1.1";
      std::erase_if(upstream.alpn, [&](const std::string& p) { return p != speaks; });
      if (upstream.alpn.empty()) {
        return base::fail(base::Error::kInvalidArgument,
                          "cluster '" + c->name + "' transport_socket: alpn_protocols does not offer \"" +
                              std::string(speaks) + "\", the protocol the cluster speaks");
      }
    }
    auto s = tls->forUpstream(upstream);
    if (!s) return base::fail(s.error().code, "cluster '" + c->name + "' transport_socket: " + s.error().message);
    snap.cluster_tls.emplace(c->name, *s);
  }
  return {};
}

base::Result<std::shared_ptr<const Snapshot>> buildSnapshot(
    std::shared_ptr<const xds::resources::Bootstrap> bootstrap, uint64_t version, TlsRegistry* tls) {
  auto snap = std::make_shared<Snapshot>();
  snap->version = version;
  snap->bootstrap = bootstrap;
  for (size_t i = 0; i < bootstrap->listeners.size(); ++i) {
    const auto& l = bootstrap->listeners[i];
    ListenerSnapshot ls;
    // Aliasing pointers: they keep the whole bootstrap alive.
    ls.config = std::shared_ptr<const xds::resources::Listener>(bootstrap, &l);
    const std::string where = "listener '" + l.name + "'";
    for (size_t c = 0; c < l.filter_chains.size(); ++c) {
      auto r = routesFor(l.filter_chains[c], where + ".filter_chains[" + std::to_string(c) + "]");
      if (!r) return r.error();
      ls.route_tables.push_back(*r);
    }
    if (l.default_filter_chain) {
      auto r = routesFor(*l.default_filter_chain, where + ".default_filter_chain");
      if (!r) return r.error();
      ls.route_tables.push_back(*r);
    }
    snap->listeners.push_back(std::move(ls));
  }
  for (const auto& c : bootstrap->clusters) {
    snap->clusters.push_back(std::shared_ptr<const xds::resources::Cluster>(bootstrap, &c));
  }
  if (base::Status s = attachSecurity(*snap, tls); !s) return s.error();
  return std::shared_ptr<const Snapshot>(std::move(snap));
}

}  // namespace remora::config
