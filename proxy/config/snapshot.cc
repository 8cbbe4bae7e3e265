#include "proxy/config/snapshot.h"

#include <variant>

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

base::Result<std::shared_ptr<const Snapshot>> buildSnapshot(
    std::shared_ptr<const xds::resources::Bootstrap> bootstrap, uint64_t version) {
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
  return std::shared_ptr<const Snapshot>(std::move(snap));
}

}  // namespace remora::config
