#include "xds/resources/bootstrap_converter.h"

#include <algorithm>
#include <map>
#include <string>

#include "xds/resources/cluster_converter.h"
#include "xds/resources/common_converters.h"
#include "xds/resources/listener_converter.h"

namespace remora::xds::resources {

namespace bootstrap = envoy::config::bootstrap::v3;
using base::Result;
using base::Status;

namespace {

constexpr std::string_view kNeedsAds = "needs dynamic_resources.ads_config, which remora-proxy does not support yet";

Status clusterExists(const std::string& name, const std::vector<Cluster>& clusters, std::string_view path) {
  const bool found =
      std::any_of(clusters.begin(), clusters.end(), [&](const Cluster& cluster) { return cluster.name == name; });
  if (found) return Status::ok();
  return base::fail(base::Error::kNotFound,
                    std::string(path) + ": cluster " + quoted(name) + " does not exist in static_resources.clusters");
}

Status checkRoutes(const RouteConfiguration& routes, const std::vector<Cluster>& clusters, std::string_view path) {
  for (size_t v = 0; v < routes.virtual_hosts.size(); ++v) {
    const std::string vhost_path = indexPath(fieldPath(path, "virtual_hosts"), v);
    const VirtualHost& vhost = routes.virtual_hosts[v];
    for (size_t r = 0; r < vhost.routes.size(); ++r) {
      const auto* action = std::get_if<RouteAction>(&vhost.routes[r].action);
      if (action == nullptr) continue;  // a direct response names no cluster
      const std::string action_path = fieldPath(indexPath(fieldPath(vhost_path, "routes"), r), "route");
      if (action->weighted_clusters.empty()) {
        if (Status s = clusterExists(action->cluster, clusters, fieldPath(action_path, "cluster")); !s) return s;
        continue;
      }
      for (size_t w = 0; w < action->weighted_clusters.size(); ++w) {
        const std::string weight_path = indexPath(fieldPath(action_path, "weighted_clusters.clusters"), w);
        if (Status s = clusterExists(action->weighted_clusters[w].name, clusters, fieldPath(weight_path, "name")); !s) {
          return s;
        }
      }
    }
  }
  return Status::ok();
}

// `path` names the filter chain; its one network filter is filters[0].
Status checkChain(const FilterChain& chain, const std::vector<Cluster>& clusters, std::string_view path) {
  const std::string config_path = fieldPath(path, "filters[0].typed_config");
  if (const auto* proxy = std::get_if<TcpProxy>(&chain.filter)) {
    return clusterExists(proxy->cluster, clusters, fieldPath(config_path, "cluster"));
  }
  const auto& manager = std::get<HttpConnectionManager>(chain.filter);
  if (!manager.route_config) return Status::ok();
  return checkRoutes(*manager.route_config, clusters, fieldPath(config_path, "route_config"));
}

// A bootstrap has no ADS stream yet, so routes must be inline.
Status rejectRds(const Listener& listener, std::string_view path) {
  auto check = [&](const FilterChain& chain, const std::string& chain_path) -> Status {
    const auto* manager = std::get_if<HttpConnectionManager>(&chain.filter);
    if (manager == nullptr || manager->route_config) return Status::ok();
    return unsupportedField(fieldPath(chain_path, "filters[0].typed_config.rds"), kNeedsAds);
  };
  for (size_t i = 0; i < listener.filter_chains.size(); ++i) {
    if (Status s = check(listener.filter_chains[i], indexPath(fieldPath(path, "filter_chains"), i)); !s) return s;
  }
  if (listener.default_filter_chain)
    return check(*listener.default_filter_chain, fieldPath(path, "default_filter_chain"));
  return Status::ok();
}

Result<Admin> toAdmin(const bootstrap::Admin& proto) {
  if (Status s = onlySupportedFields(proto, "admin", {"address", "access_log_path"}); !s) return s.error();
  // Envoy examples carry access_log_path: /dev/null, which asks for no log.
  if (!proto.access_log_path().empty() && proto.access_log_path() != "/dev/null") {
    return unsupportedField("admin.access_log_path", "only \"/dev/null\" (no admin access log)");
  }
  Admin out;
  if (proto.has_address()) {
    Result<SocketAddress> address = toSocketAddress(proto.address(), "admin.address", PortPolicy::kAllowZero);
    if (!address) return address.error();
    out.address = std::move(*address);
  }
  return out;
}

Status toStaticResources(const bootstrap::Bootstrap::StaticResources& proto, Bootstrap& out) {
  std::map<std::string, std::string> cluster_owner;
  for (int i = 0; i < proto.clusters_size(); ++i) {
    const std::string path = indexPath("static_resources.clusters", static_cast<size_t>(i));
    Result<Cluster> cluster = toCluster(proto.clusters(i), path);
    if (!cluster) return cluster.status();
    if (cluster->type == Cluster::DiscoveryType::kEds)
      return unsupportedField(fieldPath(path, "type"), "EDS " + std::string(kNeedsAds));
    auto [it, inserted] = cluster_owner.emplace(cluster->name, path);
    if (!inserted) {
      return base::fail(base::Error::kAlreadyExists,
                        fieldPath(path, "name") + ": " + quoted(cluster->name) + " is already used by " + it->second);
    }
    out.clusters.push_back(std::move(*cluster));
  }
  std::map<std::string, std::string> listener_owner;
  std::map<std::pair<std::string, uint32_t>, std::string> address_owner;
  for (int i = 0; i < proto.listeners_size(); ++i) {
    const std::string path = indexPath("static_resources.listeners", static_cast<size_t>(i));
    Result<Listener> listener = toListener(proto.listeners(i), path);
    if (!listener) return listener.status();
    auto [it, inserted] = listener_owner.emplace(listener->name, path);
    if (!inserted) {
      return base::fail(base::Error::kAlreadyExists,
                        fieldPath(path, "name") + ": " + quoted(listener->name) + " is already used by " + it->second);
    }
    if (listener->address.port != 0) {
      auto [owner, fresh] =
          address_owner.emplace(std::make_pair(listener->address.address, listener->address.port), path);
      if (!fresh) {
        return invalidField(fieldPath(path, "address"), "is the same as " + owner->second + "'s");
      }
    }
    if (Status s = rejectRds(*listener, path); !s) return s;
    if (Status s = checkClusterReferences(*listener, out.clusters, path); !s) return s;
    out.listeners.push_back(std::move(*listener));
  }
  return Status::ok();
}

}  // namespace

Status checkClusterReferences(const Listener& listener, const std::vector<Cluster>& clusters, std::string_view path) {
  for (size_t i = 0; i < listener.filter_chains.size(); ++i) {
    if (Status s = checkChain(listener.filter_chains[i], clusters, indexPath(fieldPath(path, "filter_chains"), i));
        !s) {
      return s;
    }
  }
  if (listener.default_filter_chain) {
    return checkChain(*listener.default_filter_chain, clusters, fieldPath(path, "default_filter_chain"));
  }
  return Status::ok();
}

Result<Bootstrap> toBootstrap(const bootstrap::Bootstrap& proto) {
  if (Status s = onlySupportedFields(proto, "", {"node", "static_resources", "dynamic_resources", "admin"}); !s) {
    return s.error();
  }
  // Defined so an Envoy bootstrap that uses ADS is told plainly it is not
  // supported yet. TODO(ads): accept ads_config once the xDS client lands.
  if (Status s = onlySupportedFields(proto.dynamic_resources(), "dynamic_resources", {}); !s) return s.error();

  Bootstrap out;
  // Locality and metadata are sent to a control plane as they are; the loader
  // keeps the proto for that.
  out.node.id = proto.node().id();
  out.node.cluster = proto.node().cluster();
  if (proto.has_admin()) {
    Result<Admin> admin = toAdmin(proto.admin());
    if (!admin) return admin.error();
    out.admin = std::move(*admin);
  }
  if (Status s = onlySupportedFields(proto.static_resources(), "static_resources", {"listeners", "clusters"}); !s) {
    return s.error();
  }
  if (Status s = toStaticResources(proto.static_resources(), out); !s) return s.error();
  return out;
}

}  // namespace remora::xds::resources
